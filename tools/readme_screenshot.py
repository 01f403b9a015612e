"""The README's picture of the summary page: ``docs/summary.png``.

Opens a published summary page (default: the newest ``outputs/<period>/en/index.html``) in headless
Chromium (Debian's, as for ``--pdf``: ``memberkit.pdf.find_chromium``; Playwright drives it and never
downloads a browser), offline, 1280 CSS px wide, takes the top ``--height`` px of the page, and writes
it as a PNG of at most 256 colours (Pillow's median-cut palette, ``optimize``), so the picture stays
small in the repository (about 200 KB instead of 1 MB).

    python tools/readme_screenshot.py [--page outputs/2026-10/en/index.html] [--height 2000] [--out docs/summary.png]

Needs the test extra (Playwright) and Chromium; exits 1 with one line when either is missing.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1280   # CSS px, the desktop width the browser test uses


def newest_summary(root: Path, language: str = "en") -> Path | None:
    """The summary page of the newest period published under ``root/outputs``, or None."""
    pages = sorted(root.glob(f"outputs/20[0-9][0-9]-[0-1][0-9]/{language}/index.html"))
    return pages[-1] if pages else None


def screenshot(page: Path, height: int, chromium: str) -> bytes:
    """The top ``height`` CSS px of ``page`` at :data:`WIDTH` px, as PNG bytes (full colour)."""
    import os
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            view = browser.new_context(viewport={"width": WIDTH, "height": height}, offline=True).new_page()
            view.goto(page.resolve().as_uri(), wait_until="load")
            return view.screenshot(full_page=False)
        finally:
            browser.close()


def small_png(png: bytes, colours: int = 256) -> bytes:
    """``png`` with a palette of at most ``colours`` colours (median cut, no dithering, so text stays
    crisp) and Pillow's ``optimize``."""
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, default=None, help="the summary page (default: the newest English one)")
    parser.add_argument("--height", type=int, default=2000, help="CSS px of the page's top to show")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "summary.png")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "lib"))
    from memberkit.pdf import find_chromium
    page = args.page or newest_summary(ROOT)
    if page is None or not page.is_file():
        print("error: no summary page: run make reports first, or name one with --page", file=sys.stderr)
        return 1
    chromium = find_chromium()
    if not chromium:
        print("error: Chromium is not installed (apt-get install chromium, or set MEMBERKIT_CHROMIUM)", file=sys.stderr)
        return 1
    try:
        png = screenshot(page, args.height, chromium)
    except ImportError:
        print("error: Playwright is not installed (pip install -e '.[test]')", file=sys.stderr)
        return 1
    data = small_png(png)
    args.out.write_bytes(data)
    print(f"{args.out}: {WIDTH} x {args.height} px of {page}, {len(data) / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
