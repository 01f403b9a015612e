"""The kit's own CJK font, Noto Sans SC Regular (SIL Open Font License 1.1), for charts and pages.

Charts: :func:`register` adds the font file to matplotlib's font list (``font_manager.addfont``),
so Chinese labels, city, tier and campaign names render on a machine with no CJK font installed
and whatever matplotlib's font cache holds. Pages: :func:`font_face_css` embeds the font, subset
with fontTools to the characters the page uses, as a base64 ``@font-face`` rule, so the HTML
and its printed PDF show Chinese without a system font and without fetching anything.

The file is built from the OFL release by ``tools/make_font.py`` (see there for the source);
``fonts/OFL.txt`` is its licence.

Example
-------
>>> font_path().name, FAMILY
('NotoSansSC-Regular.ttf', 'Noto Sans SC')
>>> covered("会员 · AOV，") == set("会员，")
True
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

FAMILY = "Noto Sans SC"


def font_path() -> Path:
    """The bundled font file (TrueType, every glyph of Noto Sans SC at weight 400)."""
    return Path(str(files("memberkit").joinpath("fonts/NotoSansSC-Regular.ttf")))


def register() -> str:
    """Make the bundled font known to matplotlib (once per process); returns its family name."""
    from matplotlib import font_manager
    path = font_path()
    if not any(Path(f.fname) == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    return FAMILY


@lru_cache(maxsize=1)
def _codepoints() -> frozenset[int]:
    from fontTools.ttLib import TTFont
    return frozenset(TTFont(str(font_path()), lazy=True).getBestCmap())


CJK_START = 0x2E80   # CJK radicals onwards: punctuation, kana, ideographs, full-width forms


def covered(text: str) -> set[str]:
    """The CJK characters of ``text`` that the bundled font draws.

    Latin letters, digits and Western punctuation (·, –, …, →) are left to the page's Latin font,
    so the embedded font stands first in the pages' font list without changing how they look.
    """
    points = _codepoints()
    return {c for c in set(text) if ord(c) >= CJK_START and ord(c) in points}


def subset_woff(characters: set[str], path: Path | None = None) -> bytes:
    """The bundled font (or the font file ``path``) cut down to ``characters``, as WOFF (zlib; no
    extra compressor needed)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    font = TTFont(str(path or font_path()), recalcTimestamp=False)   # the same page bytes on every run
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = []
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]   # keep the copyright and licence entries
    options.notdef_outline = True
    options.drop_tables = options.drop_tables + ["FFTM"]   # a FontForge timestamp: nothing a page needs
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(characters)))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def font_face_css(text: str) -> str:
    """A ``<style>`` with an ``@font-face`` rule for the characters of ``text`` the page's Latin font lacks.

    Empty when ``text`` needs none (an English page with only ASCII, or nothing the font covers).
    """
    characters = covered(text)
    if not characters:
        return ""
    data = base64.b64encode(subset_woff(characters)).decode("ascii")
    return (f'<style>@font-face{{font-family:"{FAMILY}";font-style:normal;font-weight:400;'
            f'src:url(data:font/woff;base64,{data}) format("woff");}}</style>')


CHART_FAMILY = "DejaVu Sans"


def chart_font_path() -> Path:
    """DejaVu Sans, the Latin font of the charts (matplotlib's own copy; Bitstream Vera licence,
    free to embed and redistribute)."""
    import matplotlib
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def chart_font_css(text: str) -> str:
    """A ``<style>`` embedding DejaVu Sans subset to the non-CJK characters of ``text`` (the charts'
    words), so a chart drawn as SVG with its text as text reads as matplotlib laid it out on a
    machine without that font. Empty when ``text`` has none."""
    characters = {c for c in set(text) if ord(c) < CJK_START and not c.isspace()}
    if not characters:
        return ""
    data = base64.b64encode(subset_woff(characters, chart_font_path())).decode("ascii")
    return (f'<style>@font-face{{font-family:"{CHART_FAMILY}";font-style:normal;font-weight:400;'
            f'src:url(data:font/woff;base64,{data}) format("woff");}}</style>')
