"""Print the period's pages to PDF with headless Chromium: ``<name>.pdf`` beside each ``<name>.html``.

The pages carry their own print rules (A4, headings kept with what follows, tables within the
page width) and their own fonts, so the PDF looks like the page and needs nothing from the
network: Chromium runs with every host name unresolvable. Where Chromium is not installed,
:func:`find_chromium` returns None and the runner says so and keeps the HTML. A later run without
``--pdf`` keeps the PDFs printed before; :func:`printed_state` tells the runner whether one still shows
what its replaced page shows.

Example
-------
>>> chromium_arguments("/usr/bin/chromium", "/tmp/a.pdf", "file:///tmp/a.html", as_root=False)[:2]
['/usr/bin/chromium', '--headless']
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import MemberkitError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class PrintError(MemberkitError):
    """Chromium could not print a page (the message holds its last output)."""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable: ``$MEMBERKIT_CHROMIUM`` if set, else the first on PATH."""
    named = os.environ.get("MEMBERKIT_CHROMIUM")
    if named:
        return named if Path(named).is_file() else shutil.which(named)
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def chromium_arguments(chromium: str, pdf: str, url: str, as_root: bool | None = None) -> list[str]:
    """The command line that prints ``url`` to ``pdf``: headless, offline, no header or footer lines, with the
    PDF's bookmarks (its outline) made from the page's headings."""
    as_root = os.geteuid() == 0 if as_root is None else as_root
    return [chromium, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer",
            "--virtual-time-budget=3000", "--generate-pdf-document-outline", f"--print-to-pdf={pdf}"] + (["--no-sandbox"] if as_root else []) + [url]


def print_pdf(html: Path, pdf: Path | None = None, chromium: str | None = None, timeout: int = 180) -> Path:
    """Print one page to PDF; returns the PDF's path (``html`` with ``.pdf`` by default).

    Raises :class:`PrintError` when Chromium is missing, fails, or writes no file.
    """
    chromium = chromium or find_chromium()
    if not chromium:
        raise PrintError("Chromium is not installed: no PDF (install the 'chromium' package)")
    html = Path(html).resolve()
    pdf = Path(pdf or html.with_suffix(".pdf")).resolve()
    partial = pdf.with_name(f".{pdf.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        proc = subprocess.run(chromium_arguments(chromium, str(partial), html.as_uri()), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise PrintError(f"Chromium did not finish printing {html.name} in {timeout}s") from e
    if proc.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise PrintError(f"Chromium could not print {html.name} (exit {proc.returncode}): {' | '.join(tail)}")
    relative_links(partial, html.parent)
    outline_titles(partial, html.read_text(encoding="utf-8"))
    partial.replace(pdf)
    return pdf


def relative_links(pdf: Path, folder: Path) -> int:
    """Make the links of ``pdf`` that Chromium wrote as ``file://`` URLs of this machine relative to ``folder``
    (where the printed page lies): 'the evidence →' on a forwarded PDF then names the report beside it
    ('campaign_review.html#campaign-C2610', '../data/clv_at_risk.csv'), never a folder of the machine that
    printed it. Other links (web addresses, links inside the PDF) are kept. Rewrites ``pdf`` in place when a
    link changed; returns how many did."""
    from urllib.parse import unquote, urlsplit

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject
    writer = PdfWriter(clone_from=PdfReader(str(pdf)))
    changed = 0
    for page in writer.pages:
        for ref in page.get("/Annots") or []:
            action = ref.get_object().get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if uri is None or not str(uri).startswith("file://"):
                continue
            parts = urlsplit(str(uri))
            target = os.path.relpath(unquote(parts.path), folder).replace(os.sep, "/")
            action.get_object()[NameObject("/URI")] = TextStringObject(target + (f"#{parts.fragment}" if parts.fragment else ""))
            changed += 1
    if changed:
        with open(pdf, "wb") as out:
            writer.write(out)
    return changed


_HEADING = re.compile(r"<h([1-4])\b[^>]*>(.*?)</h\1>", re.S | re.I)


def outline_titles(pdf: Path, page_html: str) -> int:
    """Give the bookmarks of ``pdf`` (Chromium's outline, one per heading of the printed page) their headings'
    words as the page has them: Chromium joins the lines of a heading that wraps on paper without the space
    between them ('where their moneygoes'). A bookmark is matched to the heading whose text is the same but for
    its white space; any other is kept. Rewrites ``pdf`` in place when a title changed; returns how many did."""
    import html as html_module

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject
    headings = {}
    for _, inner in _HEADING.findall(page_html):
        text = " ".join(html_module.unescape(re.sub(r"<[^>]+>", "", inner)).split())
        headings.setdefault(re.sub(r"\s+", "", text), text)
    writer = PdfWriter(clone_from=PdfReader(str(pdf)))
    outlines = writer.root_object.get("/Outlines")
    changed, todo = 0, [outlines.get_object().get("/First")] if outlines is not None else []
    while todo:   # every bookmark: its first child and its next sibling
        ref = todo.pop()
        if ref is None:
            continue
        item = ref.get_object()
        title = str(item.get("/Title", ""))
        text = headings.get(re.sub(r"\s+", "", title))
        if text is not None and text != title:
            item[NameObject("/Title")] = TextStringObject(text)
            changed += 1
        todo += [item.get("/Next"), item.get("/First")]
    if changed:
        with open(pdf, "wb") as out:
            writer.write(out)
    return changed


def print_pages(pages, chromium: str | None = None, log=print) -> list[Path]:
    """Print every page of ``pages``; a page that fails is logged and the others still print."""
    written = []
    for page in pages:
        try:
            written.append(print_pdf(page, chromium=chromium))
        except PrintError as e:
            log(f"  PDF not written: {e}")
    return written


# ------------------------------------------------------------------ a PDF beside a page printed again
KEPT, OLDER, WRONG = "kept", "older", "wrong"
_FOOTER = re.compile(r'<div class="mk-footer">.*?</div>', re.S)   # the run's stamp: time, code, data fingerprint
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _read(page: str) -> tuple[str, list[str]]:
    from .views.page import visible_text
    text = " ".join(visible_text(_FOOTER.sub(" ", page)).split())
    return text, _NUMBER.findall(text)


def printed_state(printed_page: str, new_page: str) -> str:
    """What a PDF printed from ``printed_page`` (the HTML of an earlier run) is worth beside ``new_page``,
    the HTML this run put in its place: :data:`KEPT` when a reader sees the same text (the footer's run
    stamp aside: the time, the code version, the data fingerprint), :data:`OLDER` when the words differ but
    every number is the same and in the same order (the PDF is older than its page, not wrong),
    :data:`WRONG` when a number differs (the PDF would show figures the page no longer holds).

    >>> printed_state("<p>Revenue 1,200</p>", "<p>Member revenue 1,200</p>"), printed_state("<p>1,200</p>", "<p>1,300</p>")
    ('older', 'wrong')
    """
    (before, numbers_before), (after, numbers_after) = _read(printed_page), _read(new_page)
    if before == after:
        return KEPT
    return OLDER if numbers_before == numbers_after else WRONG
