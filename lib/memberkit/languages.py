"""One folder per language: where a run's pages go, and the link between a page's two editions.

A period's language-free files (``data/``, ``<name>.json``, ``month.json``, ``manifest.json``,
the store's files) sit in ``outputs/<period>/``; its pages, PDFs and kept notebooks in
``outputs/<period>/<lang>/``; the index across months in ``outputs/<lang>/index.html``. One run
renders one language, so the other edition's pages stay as they are.

Every page carries a switch to the same page of the other edition, rendered hidden
(:func:`switch_link`: the text is on the page when its font subset is made); once the pages are
published, :func:`link_languages` shows the switch on each page whose other edition exists and
hides it where it does not, in both languages' folders.

Example
-------
>>> other("en"), other("zh")
('zh', 'en')
>>> str(switch_link("en", "index.html"))
'<a class="mk-lang" hidden="" href="../zh/index.html" hreflang="zh-CN" lang="zh-CN">中文</a>'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from markupsafe import Markup, escape

LANGUAGES = ("en", "zh")

_SWITCH = re.compile(r'<a class="mk-lang"( hidden(?:="")?)? href="([^"]+)"')   # as written, or as nbconvert writes it


def other(language: str) -> str:
    """The other edition's language code: ``zh`` for ``en`` and ``en`` for ``zh``."""
    return LANGUAGES[1] if language == LANGUAGES[0] else LANGUAGES[0]


def pages_dir(out: Path, language: str) -> Path:
    """Where the pages, PDFs and kept notebooks of ``language`` go: ``<out>/<language>``."""
    return Path(out) / language


def switch_link(language: str, page: str) -> Markup:
    """The link on a page of ``language`` to ``page`` (a file name) in the other edition's folder,
    named in that edition's own language (English, 中文), hidden until :func:`link_languages` finds
    the other page."""
    from .views.context import text
    from .views.page import html_lang
    target = other(language)
    return Markup(f'<a class="mk-lang" hidden="" href="../{escape(target)}/{escape(page)}" '
                  f'hreflang="{html_lang(target)}" lang="{html_lang(target)}">'
                  f'{escape(text("common.language_name", target))}</a>')


def link_languages(folder: Path) -> list[Path]:
    """Show each page's language switch in ``folder/<lang>/`` when the page it points to exists, hide it otherwise.

    ``folder`` is a period's folder (its reports and summary) or the outputs folder (the index across
    months). A page is rewritten (a temporary file, then ``os.replace``) only when its switch changes,
    so a rerun leaves the bytes as they were. Returns the pages rewritten.
    """
    changed = []
    for language in LANGUAGES:
        for page in sorted(pages_dir(folder, language).glob("*.html")):
            text = page.read_text(encoding="utf-8")

            def fix(m, page=page):
                hidden = "" if (page.parent / m.group(2)).is_file() else ' hidden=""'
                return f'<a class="mk-lang"{hidden} href="{m.group(2)}"'
            new = _SWITCH.sub(fix, text)
            if new != text:
                tmp = page.with_name(f".{page.name}.tmp-{os.getpid()}")
                tmp.write_text(new, encoding="utf-8")
                os.replace(tmp, page)
                changed.append(page)
    return changed
