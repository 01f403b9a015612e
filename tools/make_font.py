"""Build lib/memberkit/fonts/NotoSansSC-Regular.ttf, the kit's CJK font, from the OFL release.

The source is Google Fonts' Noto Sans SC variable font (SIL Open Font License 1.1), as shipped in
the PyPI wheel ``justmytype-intl-cjk`` 0.1.0 (``fonts/ofl/notosanssc/NotoSansSC[wght].ttf``).
matplotlib draws a variable font at its default instance, which for this font is Thin (100),
so the kit ships the Regular (400) instance: every glyph, without the layout tables (GSUB,
GPOS, vertical metrics), which neither the charts nor the pages' CJK text need.

    pip download --no-deps justmytype-intl-cjk==0.1.0 -d /tmp/font && unzip /tmp/font/*.whl -d /tmp/font
    python tools/make_font.py "/tmp/font/justmytype_intl_cjk/fonts/ofl/notosanssc/NotoSansSC[wght].ttf"

The OFL permits modified versions under another name than the reserved one ("Source").
"""

import sys
from pathlib import Path

from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

TARGET = Path(__file__).resolve().parents[1] / "lib" / "memberkit" / "fonts" / "NotoSansSC-Regular.ttf"


def main(source: str) -> None:
    font = instancer.instantiateVariableFont(TTFont(source), {"wght": 400}, updateFontNames=False)
    for tag in ("GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG", "STAT"):
        if tag in font:
            del font[tag]
    names = font["name"]
    version = names.getDebugName(5) or ""
    names.names = [n for n in names.names if n.nameID not in (1, 2, 3, 4, 6, 16, 17)]
    for name_id, value in ((1, "Noto Sans SC"), (2, "Regular"), (3, f"{version};NotoSansSC-Regular"),
                           (4, "Noto Sans SC Regular"), (6, "NotoSansSC-Regular")):
        names.setName(value, name_id, 3, 1, 0x409)
    font["OS/2"].usWeightClass = 400
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    font.save(TARGET)
    print(f"{TARGET} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
