"""A real browser opens every page of a published month, in both languages, with the network blocked.

Chromium is Debian's (``.ci/run`` installs it); Playwright drives it through ``executable_path``
and never downloads a browser of its own. Each page fails the test on a console error, an
uncaught script error, a request that would leave the machine, a missing headline or
key-figure card, or content wider than the page at 420 px. Screenshots (desktop and 420 px) are
kept in ``outputs/test-artifacts/<language>/`` for a person to look at.
"""
import os
import unicodedata

import pytest

from memberkit.pdf import find_chromium

from .conftest import ROOT

REPORTS = ["data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"]
ARTIFACTS = ROOT / "outputs" / "test-artifacts"


def chromium_or_skip() -> str:
    chromium = find_chromium()
    if not chromium:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium for the browser test (.ci/run installs it)")
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    return chromium


@pytest.fixture(scope="module", params=["en", "zh"])
def published(request):
    return request.param, request.getfixturevalue("e2e" if request.param == "en" else "e2e_zh")


@pytest.mark.slow
def test_every_page_opens_offline_reads_right_and_fits_a_phone(published):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = chromium_or_skip()
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    shots = ARTIFACTS / language
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium,
                                     args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            for width, height in ((1280, 900), (420, 860)):
                context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
                leaving = []

                def block(route, leaving=leaving):
                    url = route.request.url
                    if url.startswith(("file:", "data:", "about:")):
                        route.continue_()
                    else:   # anything else would leave the machine
                        leaving.append(url)
                        route.abort()
                context.route("**/*", block)
                for name in ["index"] + REPORTS:
                    page = context.new_page()
                    errors = []
                    page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                    page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                    page.goto((out / language / f"{name}.html").as_uri(), wait_until="load")
                    where = f"{language} {name} at {width}px"
                    if errors:
                        problems.append(f"{where}: console errors {errors[:3]}")
                    headline = page.locator(".mk-headline").first
                    if not headline.count() or not headline.inner_text().strip():
                        problems.append(f"{where}: no headline")
                    if name == "index":
                        if page.locator(".mk-figure").count() != 7:
                            problems.append(f"{where}: {page.locator('.mk-figure').count()} key-figure cards, not 7")
                        if page.locator("section.mk-report").count() != len(REPORTS):
                            problems.append(f"{where}: not one card per report")
                        if page.locator("#mk-warning").count():
                            problems.append(f"{where}: warns of a missing report: {page.locator('#mk-warning').inner_text()}")
                    elif not page.locator(".mk-card").count():
                        problems.append(f"{where}: no key-figure card")
                    elif not page.locator("a[href='index.html']").count():
                        problems.append(f"{where}: no link back to the summary")
                    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                    if scroll > inner + 1:
                        problems.append(f"{where}: content {scroll}px wide in a {inner}px page")
                    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                    page.close()
                if leaving:
                    problems.append(f"{language} at {width}px: requests leaving the machine: {leaving[:5]}")
                context.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
    assert (shots / "index-420.png").stat().st_size > 10_000


@pytest.mark.slow
def test_pdf_of_every_page_on_a4_in_both_languages(published):
    pypdf = pytest.importorskip("pypdf")
    chromium_or_skip()
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "PDFs written" in proc.stdout
    for name in ["index"] + REPORTS:
        reader = pypdf.PdfReader(out / language / f"{name}.pdf")
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842), name   # A4 in points
        # NFKC: a CJK font may map a glyph such as 月 to its Kangxi radical twin (U+2F49) for extraction
        words = unicodedata.normalize("NFKC", "".join(p.extract_text() for p in reader.pages))
        if language == "zh":   # Chinese text is text in the PDF, not boxes or pictures
            assert sum("\u4e00" <= ch <= "\u9fff" for ch in words) > 20, name
    first = unicodedata.normalize("NFKC", pypdf.PdfReader(out / language / "index.pdf").pages[0].extract_text())
    assert ("本月概览" if language == "zh" else "the month on one page") in first
