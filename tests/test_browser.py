"""A real browser opens every page of a published month, in both languages, with the network blocked.

Chromium is Debian's (``.ci/run`` installs it); Playwright drives it through ``executable_path``
and never downloads a browser of its own. Each page fails the test on a console error, an
uncaught script error, a request that would leave the machine, a missing headline or
key-figure card, or content wider than the page at 420 px; a report page also on a heading without
an anchor, no table of contents or a contents link to nowhere, a table whose decision column
(verdict, reading against control, recommended action: the catalogue's words) is not among its
first two or scrolls out of view, or a chart without a description (nbconvert's default alt text
included). On every page, the summary and the page of all months included, no text of any SVG is
under 10 CSS px at 420 px, a chart in a closed <details> included: each text element's font size times
the scale the browser draws it at (its screen transformation matrix, so a view box narrowed by the
screen, letterboxed or scaled inside the drawing all count); no chart is wider than its box there (it
would scroll sideways), and nbconvert's default alt text appears nowhere. At 420 px the summary's
decisions start within the first 700 px. The summary's
"why member revenue changed" tables fit their boxes at 1280 px. Every figure marked on a page
(``data-figure``, ``data-period``, ``data-value``) has one value across every page of both editions.
Every decision link of the summary must land on an anchor of its report page. Screenshots (desktop
and 420 px) of every page are kept in ``outputs/test-artifacts/<language>/`` for a person to look at.
"""
import os
import re
import unicodedata

import pytest

from memberkit.pdf import find_chromium
from memberkit.views.page import figure_contradictions

from .conftest import ROOT

REPORTS = ["data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"]
ARTIFACTS = ROOT / "outputs" / "test-artifacts"
DECISION_COLUMNS = ("cr.col_verdict", "ab.col_reading", "rfm.action")   # catalogue keys of the decision headings
DEFAULT_ALT = "No description has been provided for this image"   # nbconvert's alt text for a picture
MIN_CHART_TEXT_PX = 10   # issue 23 asks for 9; at 9.5 px a digit is 7 px tall, read as "7-8 px" and zoomed into
DECISIONS_WITHIN_PX = 700   # at 420 px the summary's decisions start this far down at most (a phone's first screen)

# What a report page shows of its anchors, contents, decision tables and charts, measured in the browser.
LAYOUT = """(decisionWords) => {
  const headings = [...document.querySelectorAll('h1, h2, h3, h4')].map(h => h.id);
  const toc = [...document.querySelectorAll('nav.mk-toc a')].map(a => a.getAttribute('href'));
  const tables = [...document.querySelectorAll('table')].map(table => {
    const heads = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
    const at = heads.findIndex(h => decisionWords.includes(h));
    let inView = null;
    if (at >= 0) {   // scroll the table's box to its far right: the decision must still be in it
      const box = table.closest('.mk-table') || table.parentElement;
      box.scrollLeft = box.scrollWidth;
      const cell = table.querySelectorAll('thead th')[at].getBoundingClientRect(), frame = box.getBoundingClientRect();
      inView = cell.left >= frame.left - 1 && cell.right <= frame.right + 1;
      box.scrollLeft = 0;
    }
    return {heads: heads.slice(0, 3), at, inView};
  });
  const charts = [...document.querySelectorAll('.mk-chart svg')].map(svg => {
    const sizes = textSizes(svg).map(t => t.px);
    return {label: svg.getAttribute('aria-label') || '', smallest: sizes.length ? Math.min(...sizes) : null,
            texts: sizes.length, words: [...svg.querySelectorAll('text')].map(t => t.textContent.trim())};
  });
  const images = [...document.querySelectorAll('img')].map(img => img.getAttribute('alt') || '');
  return {headings, toc, tables, charts, images};
}"""

# The size in CSS px at which the browser draws each text of an SVG: the computed font size (in the
# drawing's units) times the scale of the element's screen transformation matrix, which takes in the
# view box fitted to the screen (letterboxed or not), every transform of the groups around it and its
# own (a rotated tick label included). Text that is not drawn (display: none) is left out.
TEXT_SIZES = """function textSizes(root) {
  return [...root.querySelectorAll('svg text, svg tspan')]
    .filter(t => t.textContent.trim() && t.getClientRects().length && (t.tagName === 'text' || t.hasAttribute('style')))
    .map(t => {
      const m = t.getScreenCTM();
      const svg = t.ownerSVGElement;
      return {px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b), text: t.textContent.trim().slice(0, 30),
              chart: ((svg && svg.getAttribute('aria-label')) || '').slice(0, 60)};
    });
}"""
LAYOUT = LAYOUT.replace("(decisionWords) => {", "(decisionWords) => {\n" + TEXT_SIZES, 1)
# Every SVG text of a page under the smallest size, and how many texts were measured
# (Chromium gives the text of a chart folded in a closed <details> its client rects and screen matrix, so it is
# measured too), and every chart wider than its box (it scrolls sideways), by how many CSS px
SMALL_TEXT = "(least) => {\n" + TEXT_SIZES + """
  const sizes = textSizes(document);
  const wide = [...document.querySelectorAll('.mk-chart')].filter(box => box.scrollWidth > box.clientWidth + 1)
    .map(box => ({over: box.scrollWidth - box.clientWidth, chart: ((box.querySelector('svg') || box).getAttribute('aria-label') || '').slice(0, 60)}));
  return {measured: sizes.length, small: sizes.filter(t => t.px < least).slice(0, 5), wide};
}"""
# How far down the summary its decisions start, in CSS px from the top of the page
DECISIONS_TOP = """() => { const h = document.getElementById('decisions');
  return h ? h.getBoundingClientRect().top + window.scrollY : null; }"""
# The tables shown that are wider than their box (they scroll), with their first heading: at 1280 px the campaign
# league's last column was cut at the box's edge ('matched baseline (weake') with nothing saying it scrolls
TABLES_WIDER = """() => [...document.querySelectorAll('.mk-table')]
  .filter(t => t.offsetParent !== null && t.scrollWidth - t.clientWidth > 1)
  .map(t => ({over: t.scrollWidth - t.clientWidth, head: ((t.querySelector('th') || {}).innerText || '').trim()}))"""

# How many key-figure cards each row of each block of cards holds, top to bottom (a row: the cards of one top)
CARD_ROWS = """() => [...document.querySelectorAll('.mk-cards')].filter(b => b.getClientRects().length).map(block => {
  const tops = [...block.querySelectorAll(':scope > .mk-card')].map(c => Math.round(c.getBoundingClientRect().top));
  return [...new Set(tops)].sort((a, b) => a - b).map(top => tops.filter(t => t === top).length); })"""


def card_row_problems(where: str, rows: list[list[int]]) -> list[str]:
    """A block of more than three cards with a card alone on a row, or rows that differ by more than one card
    (issue 23: the A/B page's six cards were 5 + 1 at 1280 px)."""
    return [f"{where}: key-figure cards in rows of {r}" for r in rows
            if sum(r) > 3 and (min(r) == 1 or max(r) - min(r) > 1)]


# How much wider than its box each table of the summary's "why member revenue changed" is, in CSS px
WHY_TABLES = """() => [...document.querySelectorAll('.mk-why .mk-table-wrap')].map(box => box.scrollWidth - box.clientWidth)"""


def only_words(label: str, words: list[str]) -> bool:
    """A chart's description that says nothing its titles, axis names and legend do not: every part of it
    (between " · " and after a title's colon) is a text the chart draws, or it holds no number at all."""
    import re
    drawn = {" ".join(w.split()) for w in words if w.strip()}

    def said(part):     # a part is a drawn text, or a title and a drawn text after its colon
        part = " ".join(part.split())
        return part in drawn or all(x in drawn for x in re.split(r": |：", part, maxsplit=1) if x)
    return not re.search(r"\d", label) or all(said(part) for part in label.split(" · ") if part.strip())


def layout_problems(where: str, name: str, width: int, found: dict, decision_words: list[str]) -> list[str]:
    """What a report page's layout (:data:`LAYOUT`) gets wrong at ``width`` px."""
    problems = []
    ids = found["headings"]
    if not ids or not all(ids) or len(set(ids)) != len(ids):
        problems.append(f"{where}: headings without a unique anchor: {ids}")
    if not found["toc"] or any(not h.startswith("#") or h[1:] not in ids for h in found["toc"]):
        problems.append(f"{where}: no table of contents, or a contents link to nowhere: {found['toc']}")
    for t in found["tables"]:
        if t["at"] >= 2 or t["inView"] is False:
            problems.append(f"{where}: decision column {t['at'] + 1} of a table starting {t['heads']}"
                            f"{'' if t['inView'] is not False else ', scrolled out of view'}")
    if name in ("rfm_segmentation", "campaign_review", "ab_test") and not any(t["at"] >= 0 for t in found["tables"]):
        problems.append(f"{where}: no table with a decision column ({decision_words})")
    if name != "data_cleaning" and not found["charts"]:
        problems.append(f"{where}: no chart drawn as SVG")
    for c in found["charts"]:
        if not c["label"].strip() or c["label"] == DEFAULT_ALT or not c["texts"]:
            problems.append(f"{where}: a chart without a description or text: {c}")
        elif width <= 420 and c["smallest"] < MIN_CHART_TEXT_PX:
            problems.append(f"{where}: chart text {c['smallest']:.1f} px (< {MIN_CHART_TEXT_PX}) in '{c['label'][:60]}'")
        if c["label"].strip() and only_words(c["label"], c.get("words", [])):
            problems.append(f"{where}: a chart described by its titles and axis names only: '{c['label'][:100]}'")
        if BARE_CELL.search(c["label"]):
            problems.append(f"{where}: a heat map's cell named by bare coordinates: '{c['label'][:160]}'")
    if any(not alt.strip() or alt == DEFAULT_ALT for alt in found["images"]):
        problems.append(f"{where}: a picture without a description: {found['images'][:3]}")
    return problems


# Every table's headings, as the reader sees them.
TABLE_HEADS = """() => [...document.querySelectorAll('table')].map(
  t => [...t.querySelectorAll('thead th')].map(th => th.innerText.trim()))"""


def league_problems(where: str, language: str, tables: list[list[str]]) -> list[str]:
    """The campaign league on its page: the campaign and its verdict first, then the campaign's type, its
    incremental margin and its cost, the figures the summary's "which campaign types paid" sums (issue 23)."""
    from memberkit.views.context import text as words
    name, verdict = words("cr.col_campaign", language), words("cr.col_verdict", language)
    league = [heads for heads in tables if verdict in heads and name in heads]
    if not league:
        return [f"{where}: no campaign league table"]
    wanted = [words(k, language) for k in ("cr.col_why", "cr.col_type", "cr.col_margin", "cr.col_cost")]
    problems = []
    if league[0][:2] != [name, verdict]:
        problems.append(f"{where}: the league starts {league[0][:2]}, not campaign and verdict")
    missing = [w for w in wanted if w not in league[0]]
    if missing:
        problems.append(f"{where}: the league has no column {missing}")
    return problems


def chromium_or_skip() -> str:
    chromium = find_chromium()
    if not chromium:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium for the browser test (.ci/run installs it)")
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    return chromium


# the pages each edition's test has opened, as the browser shows them ("<language>/<page>" -> HTML): the
# second edition's test checks every figure against the first's as well
SHOWN: dict[str, str] = {}


@pytest.fixture(scope="module", params=["en", "zh"])
def published(request):
    return request.param, request.getfixturevalue("e2e" if request.param == "en" else "e2e_zh")


@pytest.mark.slow
def test_every_page_opens_offline_reads_right_and_fits_a_phone(published):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = chromium_or_skip()
    from memberkit.views.context import text
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    decision_words = [text(key, language) for key in DECISION_COLUMNS]
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
                anchors, decision_links = {}, []
                for name in ["index"] + REPORTS + ["months"]:
                    page = context.new_page()
                    errors = []
                    page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                    page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                    # the page of all months sits beside the period's folder: outputs/<language>/index.html
                    path = out.parent / language / "index.html" if name == "months" else out / language / f"{name}.html"
                    page.goto(path.as_uri(), wait_until="load")
                    where = f"{language} {name} at {width}px"
                    if errors:
                        problems.append(f"{where}: console errors {errors[:3]}")
                    if DEFAULT_ALT in page.content():
                        problems.append(f"{where}: nbconvert's default alt text '{DEFAULT_ALT}'")
                    if width <= 420:
                        text = page.evaluate(SMALL_TEXT, MIN_CHART_TEXT_PX)
                        for t in text["small"]:
                            problems.append(f"{where}: chart text {t['px']:.1f} px (< {MIN_CHART_TEXT_PX}) "
                                            f"'{t['text']}' in '{t['chart']}'")
                        if name not in ("index", "data_cleaning") and not text["measured"]:
                            problems.append(f"{where}: no chart text measured")
                        for w in text["wide"]:
                            problems.append(f"{where}: a chart {w['over']} px wider than its box (it scrolls): '{w['chart']}'")
                        if name == "index":
                            top = page.evaluate(DECISIONS_TOP)
                            if top is None or top > DECISIONS_WITHIN_PX:
                                problems.append(f"{where}: the decisions start {top} px down (> {DECISIONS_WITHIN_PX})")
                    else:
                        SHOWN[f"{language}/{name}"] = page.content()
                        # on a desktop no column of a table is hidden behind a scroll
                        for t in page.evaluate(TABLES_WIDER):
                            problems.append(f"{where}: a table {t['over']} px wider than its box (it scrolls), "
                                            f"headed '{t['head']}'")
                    if name == "months":   # a page of its own: a table of months and their trend charts
                        if not page.locator("svg text").count():
                            problems.append(f"{where}: no trend chart with labelled axes")
                        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                        page.close()
                        continue
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
                        decision_links = page.eval_on_selector_all(
                            ".mk-decisions a.mk-more, #mk-profile + .mk-profile + p a.mk-more",   # the profile card's too
                            "links => links.map(a => a.getAttribute('href'))")
                        if not decision_links:
                            problems.append(f"{where}: no decision with a link to its evidence")
                        wider = page.evaluate(WHY_TABLES)
                        if not wider:
                            problems.append(f"{where}: no table of why member revenue changed")
                        if width >= 1280 and any(w > 1 for w in wider):
                            problems.append(f"{where}: why member revenue changed: tables wider than their box "
                                            f"by {wider} px (they scroll)")
                    elif not page.locator(".mk-card").count():
                        problems.append(f"{where}: no key-figure card")
                    elif not page.locator("a[href='index.html']").count():
                        problems.append(f"{where}: no link back to the summary")
                    if width >= 1280:
                        problems += card_row_problems(where, page.evaluate(CARD_ROWS))
                    if name != "index":
                        found = page.evaluate(LAYOUT, decision_words)
                        anchors[name] = set(found["headings"])
                        problems += layout_problems(where, name, width, found, decision_words)
                    if name == "campaign_review":
                        problems += league_problems(where, language, page.evaluate(TABLE_HEADS))
                    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                    if scroll > inner + 1:
                        problems.append(f"{where}: content {scroll}px wide in a {inner}px page")
                    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                    page.close()
                for link in decision_links:   # each lands on its own section, not the top of a page
                    target, _, anchor = link.partition("#")
                    if not anchor or anchor not in anchors.get(target.removesuffix(".html"), set()):
                        problems.append(f"{language} index at {width}px: decision link {link} goes to no anchor")
                if leaving:
                    problems.append(f"{language} at {width}px: requests leaving the machine: {leaving[:5]}")
                context.close()
        finally:
            browser.close()
    # one value per figure: every page of this edition, and of the other one when its test has run
    problems += [f"a figure with two values: {line}" for line in figure_contradictions(SHOWN)]
    assert not problems, "\n".join(problems)
    for name in ["index"] + REPORTS + ["months"]:
        for width in (1280, 420):
            assert (shots / f"{name}-{width}.png").stat().st_size > 10_000, (name, width)


# Each report card's value: its lines, and how far it reaches past its card (px)
REPORT_CARD_VALUES = """() => [...document.querySelectorAll('.mk-card .mk-value')].map(v => {
  const range = document.createRange();
  range.selectNodeContents(v);
  const card = v.closest('.mk-card').getBoundingClientRect();
  return {text: v.innerText, lines: new Set([...range.getClientRects()].map(r => Math.round(r.top))).size,
          over: Math.round(range.getBoundingClientRect().right - card.right)};
})"""


@pytest.mark.slow
def test_a_report_cards_count_keeps_its_noun_on_its_line_at_1280_and_420_px(published, tmp_path):
    """Issue 23: at 1280 px the RFM page's first card read '12,923' and 'members' on two lines of 26 px, and on A4 the
    CLV page's value printed as 'CN¥1,708,2', cut by its card's edge. On every report page, at 1280 and at 420 px
    and printed (A4's 703 px), each card's value is one line inside its card."""
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    counted = []
    for name in REPORTS:
        html = (out / language / f"{name}.html").read_text(encoding="utf-8")
        for width, media in ((1280, "screen"), (420, "screen"), (703, "print")):
            with _open(html, width, tmp_path) as page:
                page.emulate_media(media=media)
                values = page.evaluate(REPORT_CARD_VALUES)
            assert all(v["lines"] == 1 and v["over"] <= 0 for v in values), (name, width, media, values)
            counted += [v["text"] for v in values if " " in v["text"] and v["text"][:1].isdigit()]
    assert counted, "no card shows a count with its noun"


@pytest.mark.slow
def test_the_clv_pages_value_by_channel_has_its_table_and_names_the_channels_in_words(published):
    """Issue 23: the CLV page's chart of value by channel stood alone, its bars labelled 'in store', 'online', 'app'
    (the codes' catalogue words, lower case, as inside a sentence). Now, as every other chart of the page, it has
    the table of its figures under it, and its bars and rows read as labels of their own in the page's language."""
    from memberkit.views.context import text
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (out / language / "clv_forecast.html").read_text(encoding="utf-8")
    words = {code: text(f"channel_labels.{code}", language) for code in ("online", "offline", "app")}
    assert words == ({"online": "Online", "offline": "In store", "app": "App"} if language == "en"
                     else {"online": "线上", "offline": "门店", "app": "App"})
    chart = re.search(r'aria-label="%s[^"]*"' % re.escape(text("clv.by_channel", language)), html)
    assert chart and all(w in chart.group(0) for w in words.values()), chart
    after = html[chart.end():]
    table = after[after.index("<table"):after.index("</table>")]
    assert after.index("<table") < after.find("<svg") or after.find("<svg") < 0   # its table before the next chart
    assert text("clv.col_channel", language) in table and all(f">{w}<" in table for w in words.values()), table[:2000]


@pytest.mark.slow
def test_pdf_of_every_page_on_a4_in_both_languages(published):
    pypdf = pytest.importorskip("pypdf")
    chromium_or_skip()
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    from memberkit.views.context import text
    pages = len(REPORTS) + 1
    assert text("runner.printed", language, written=pages, total=pages).strip() in proc.stdout   # in the run's language
    for name in ["index"] + REPORTS:
        reader = pypdf.PdfReader(out / language / f"{name}.pdf")
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842), name   # A4 in points
        # NFKC: a CJK font may map a glyph such as 月 to its Kangxi radical twin (U+2F49) for extraction
        words = unicodedata.normalize("NFKC", "".join(p.extract_text() for p in reader.pages))
        if language == "zh":   # Chinese text is text in the PDF, not boxes or pictures
            assert sum("\u4e00" <= ch <= "\u9fff" for ch in words) > 20, name
        # the contents the page opens with, on its first printed page, each entry a link inside the PDF (issue 23)
        assert unicodedata.normalize("NFKC", text("common.contents", language)) in \
            unicodedata.normalize("NFKC", reader.pages[0].extract_text()), name
        links, destinations = _pdf_links(out / language / f"{name}.pdf")
        assert links and set(links) <= destinations, (name, links, destinations)
    first = unicodedata.normalize("NFKC", pypdf.PdfReader(out / language / "index.pdf").pages[0].extract_text())
    assert ("本月概览" if language == "zh" else "the month on one page") in first


# ------------------------------------------------------------------ the measures themselves, on pages made here
def _open(html: str, width: int, tmp_path):
    """A browser page of ``width`` px showing ``html`` (a context manager yielding the Playwright page)."""
    import contextlib
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = chromium_or_skip()
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")

    @contextlib.contextmanager
    def opened():
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"] if os.geteuid() == 0 else [])
            try:
                page = browser.new_context(viewport={"width": width, "height": 860}, offline=True).new_page()
                page.goto(path.as_uri(), wait_until="load")
                yield page
            finally:
                browser.close()
    return opened()


def _chart(label: str, inside: str, svg_attrs: str = 'width="100%"') -> str:
    return (f'<div class="mk-chart"><svg {svg_attrs} viewBox="0 0 400 200" role="img" aria-label="{label}">'
            f'{inside}</svg></div>')


def test_chart_text_is_measured_as_drawn_however_the_drawing_is_scaled(tmp_path):
    """Text of 11 units in a 400-unit view box drawn 380 px wide is 10.4 px: fine. The same text inside a group
    scaled by 0.6, or in a view box letterboxed into a box 60 px high, is drawn at 6.3 and 3.6 px: the
    measure must see both, as a reader does (the width of the picture over its view box sees neither)."""
    text = '<text x="10" y="50" style="font-size: 11px">{}</text>'
    html = ("<!DOCTYPE html><html><head><meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<style>body{margin:0;padding:20px}</style></head><body><h1 id='t'>t</h1>"
            "<nav class='mk-toc'><a href='#t'>t</a></nav>"
            + _chart("plain", text.format("readable"))
            + _chart("scaled group", f'<g transform="scale(0.6)">{text.format("shrunk")}</g>')
            + _chart("letterboxed", text.format("squeezed"), 'width="100%" height="60"')
            + "</body></html>")
    with _open(html, 420, tmp_path) as page:
        found = page.evaluate(LAYOUT, [])
        small = page.evaluate(SMALL_TEXT, MIN_CHART_TEXT_PX)
    sizes = {c["label"]: round(c["smallest"], 1) for c in found["charts"]}
    assert sizes == {"plain": 10.4, "scaled group": 6.3, "letterboxed": 3.3}, sizes
    problems = layout_problems("page", "ab_test", 420, found, [])
    assert [p for p in problems if "chart text" in p] == [
        "page: chart text 6.3 px (< 10) in 'scaled group'", "page: chart text 3.3 px (< 10) in 'letterboxed'"]
    assert [t["text"] for t in small["small"]] == ["shrunk", "squeezed"] and small["measured"] == 3
    assert small["wide"] == []


def test_chart_text_in_a_closed_details_and_a_chart_wider_than_its_box_are_found(tmp_path):
    """A chart folded away in a closed <details> is not drawn until a reader opens it; its text is measured all
    the same ('folded' at 6.3 px is found). A chart held at 480 px in a 400 px box scrolls sideways (the
    cleaning chart was 409 in 400): found, by how much."""
    text = '<text x="10" y="50" style="font-size: 11px">{}</text>'
    html = ("<!DOCTYPE html><html><head><meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<style>body{margin:0;padding:20px}.mk-chart{overflow-x:auto}</style></head><body>"
            "<details><summary>more</summary>"
            + _chart("folded", f'<g transform="scale(0.6)">{text.format("folded")}</g>') + "</details>"
            + _chart("held wide", text.format("wide"), 'width="100%" style="min-width:480px"')
            + "</body></html>")
    with _open(html, 420, tmp_path) as page:
        small = page.evaluate(SMALL_TEXT, MIN_CHART_TEXT_PX)
        still_closed = page.evaluate("() => !document.querySelector('details').open")
    assert [t["text"] for t in small["small"]] == ["folded"], small
    assert [(w["chart"], w["over"]) for w in small["wide"]] == [("held wide", 100)], small
    assert still_closed


def test_the_tables_of_why_member_revenue_changed_fit_their_box_at_1280_px(tmp_path):
    """The summary's two comparisons sit side by side at 1280 px; their tables (factor, part, change, then,
    now) fit each half without scrolling, with the amounts of a large shop and the bulk-order row."""
    import ibis
    from memberkit import month
    from memberkit.views import month as month_views
    from .test_bulk_orders import hand_tables
    tables = hand_tables()
    orders = tables["orders"].execute()
    orders["amount"] = orders["amount"] * 10_000          # millions a month: the widest figures a card shows
    tables["orders"] = ibis.memtable(orders)
    html = month_views.render_summary(month.MonthSummary("2026-10", "en", "CNY", [], month.compute_figures(tables, "2026-10")))
    with _open(html, 1280, tmp_path) as page:
        wider = page.evaluate(WHY_TABLES)
    assert len(wider) >= 3 and all(w <= 1 for w in wider), wider


# Each key-figure card's value on the summary as printed: its text's width against its card's, and its lines
CARD_VALUES = """() => [...document.querySelectorAll('.mk-figure .mk-value')].map(v => {
  const range = document.createRange();
  range.selectNodeContents(v);
  const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
  return {text: v.innerText, lines, over: v.scrollWidth - v.clientWidth, px: parseFloat(getComputedStyle(v).fontSize)};
})"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_on_a4_every_card_value_of_the_summary_stays_on_one_line_inside_its_card(tmp_path, language):
    """Four cards to a row on A4 left about 140 px for a value of 27 px, and the page lets a word break
    anywhere: CN¥899,380 printed as 'CN¥899,38' and '0' on the next line. Printed (print media, the A4 page's width less its margins: 186 mm, 703 px), every
    value keeps one line inside its card, with the amounts of a shop ten thousand times the sample's."""
    import ibis
    from memberkit import month
    from memberkit.views import month as month_views
    from .test_bulk_orders import hand_tables
    tables = hand_tables()
    orders = tables["orders"].execute()
    orders["amount"] = orders["amount"] * 10_000
    tables["orders"] = ibis.memtable(orders)
    html = month_views.render_summary(month.MonthSummary("2026-10", language, "CNY", [],
                                                         month.compute_figures(tables, "2026-10")))
    with _open(html, 703, tmp_path) as page:
        page.emulate_media(media="print")
        values = page.evaluate(CARD_VALUES)
    assert len(values) >= 7 and any(len(v["text"]) >= 11 for v in values), values   # ¥12,000,000 and the like
    assert all(v["over"] <= 1 for v in values), values
    # a figure on one line; words (no figure yet: 'not enough history') may wrap at their spaces
    assert all(v["lines"] == 1 for v in values if any(ch.isdigit() for ch in v["text"])), values
    # only a long value is set smaller: a short one keeps the card's 17 pt, none falls under 12 pt
    assert all(v["px"] >= 16 for v in values) and all(v["px"] > 22.6 for v in values if len(v["text"]) <= 6), values


# The summary's experiments card: its text's height in lines of its own line height, and whether it has points
EXPERIMENTS_CARD = """() => { const card = document.querySelector('section.mk-report[data-report="ab_test"]');
  const h = card.querySelector('.mk-headline');
  return {width: card.getBoundingClientRect().width, points: card.querySelectorAll('.mk-points li').length,
          lines: h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).lineHeight)}; }"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_1280_px_the_summarys_experiments_card_answers_in_ten_lines_at_most(tmp_path, language):
    """Issue 23: in its column of about 340 px at 1280 px, the summary's 'Did the experiments work?' card was some
    19 lines of text (the sample's three experiments: full verdicts and points beneath them). One short sentence
    per experiment now, the rest on the A/B page: 10 lines at most."""
    from memberkit import month
    from memberkit.views import month as month_views
    from .test_abtest import summary_experiments
    experiments = summary_experiments()
    results = {"results": {"experiments": experiments, "guardrail_metrics": ["aov", "revenue"], "has_table": True},
               "kpis": {"experiments": 3, "ship": 1, "ships_conversion_not_margin": 1, "no_verdict": 1,
                        "not_enough_evidence": 0, "do_not_ship": 0}, "period": "2026-10"}
    html = month_views.render_summary(month.MonthSummary(
        "2026-10", language, "CNY", [month.ReportState("ab_test", "ok", results)], None))
    with _open(html, 1280, tmp_path) as page:
        card = page.evaluate(EXPERIMENTS_CARD)
    assert 300 <= card["width"] <= 380 and card["points"] == 0, card
    assert card["lines"] <= 10.5, card


def _print_css() -> str:
    """The reports' own style (the nbconvert template's <style>), as every report page carries it."""
    template = (ROOT / "lib/memberkit/templates/memberkit/index.html.j2").read_text(encoding="utf-8")
    return template[template.index("<style>"):template.index("</style>") + len("</style>")]


def _page_fill(pdf, tmp_path) -> list[float]:
    """How far down each printed page its content reaches (0 to 1), read from pdftoppm's picture of it."""
    import shutil
    import subprocess
    import numpy as np
    from PIL import Image
    if not shutil.which("pdftoppm"):
        if os.environ.get("CI"):
            pytest.fail("CI must have pdftoppm for the printed pages' fill (.ci/run installs poppler-utils)")
        pytest.skip("pdftoppm not installed (poppler-utils)")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    out = []
    for png in sorted(tmp_path.glob("page-*.png")):
        a = np.asarray(Image.open(png).convert("L"))
        rows = np.flatnonzero((a < 245).any(axis=1))
        out.append(float(rows.max() / a.shape[0]) if len(rows) else 0.0)
    return out


def test_on_a4_a_long_table_after_half_a_page_starts_on_that_page(tmp_path):
    """Issue 23, item 5: a table was kept whole on paper, so one longer than what was left of a page (the
    cleaning report's field quality table, the CLV value tables) went to the next page and left the first
    half white. It now breaks between rows, its header repeated; a heading stays with what follows it."""
    from memberkit.pdf import print_pdf
    chromium_or_skip()
    rows = "".join(f"<tr><td>member {i}</td><td>{i * 37 % 1000:,}</td><td>{i % 7}%</td></tr>" for i in range(70))
    html = (f"<!doctype html><html><head><meta charset='utf-8'>{_print_css()}</head><body>"
            "<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-OutputArea-output'>"
            "<div style='height:140mm;background:#1f4e79'></div></div></div>"
            "<div class='jp-OutputArea-child'><div class='jp-OutputArea-output'><h2>Field quality</h2></div></div>"
            "<div class='jp-OutputArea-child'><div class='jp-OutputArea-output'><div class='mk-table'><table>"
            f"<thead><tr><th>Field</th><th>Values</th><th>Empty</th></tr></thead><tbody>{rows}</tbody>"
            "</table></div></div></div></div></body></html>")
    page = tmp_path / "long_table.html"
    page.write_text(html, encoding="utf-8")
    fill = _page_fill(print_pdf(page), tmp_path)
    assert len(fill) >= 2
    assert fill[0] > 0.8, f"the first page is filled to {fill[0]:.0%} only: the table went to the next page"


#: A heat map's cell named by its coordinates alone ('lowest Promising 830 (4, 1)'): which axis is which is lost.
BARE_CELL = re.compile(r"[(（]\d+(?:\.\d+)?[,，] ?\d+(?:\.\d+)?[)）]")


def test_a_heat_map_cell_named_by_bare_coordinates_is_found():
    assert BARE_CELL.search("R score x F score: lowest Promising 830 (4, 1), highest Champions 911 (5, 5)")
    assert BARE_CELL.search("Probability of being alive: lowest 0%（18，0）")
    assert not BARE_CELL.search("lowest CN¥200 at R score 1, F score 1 (Hibernating, 911 members)")
    assert not BARE_CELL.search("Regions: Chengdu 103 days (27%), Shenzhen 109 days")


def test_a_chart_described_by_its_titles_only_is_found():
    """The check of every page's charts (:func:`only_words`): titles and axis names are not a description."""
    words = ["Members per tier (spend in the window)", "Members per lifecycle stage", "Standard", "12,345 (70%)"]
    assert only_words("Members per tier (spend in the window) · Members per lifecycle stage", words)
    assert only_words("Expected value over the next 12 months", ["Expected value over the next 12 months"])
    assert not only_words("Members per tier (spend in the window): Standard 12,345 (70%), Silver 3,210 (18%)", words)
    assert not only_words("会员增长率: 从 10%（2025年10月）到 30%（2026年10月）", ["会员增长率"])
    # a title that holds a number is still only a title
    assert only_words("EXP-PUSH: lift over control with 95% intervals · Relative lift",
                      ["EXP-PUSH: lift over control with 95% intervals", "Relative lift"])


# Every table's right edge against its box, printed (print media, A4 less its margins: 703 px)
# (the content box of its output, else of the page's body: past it, the PDF cuts the table off)
TABLES_OVER = """() => [...document.querySelectorAll('table')].filter(t => t.getClientRects().length).map(t => {
    const box = t.closest('.jp-OutputArea-output') || document.body, style = getComputedStyle(box);
    const right = box.getBoundingClientRect().right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
    return Math.round(t.getBoundingClientRect().right - right); }).filter(over => over > 1)"""


def _league_like_page(language: str) -> str:
    """A page holding tables like the campaign review's league: 9 columns, the first two (the campaign, its
    verdict) kept in view on screen, then why, in words that wrap; figures over their interval on a line of
    their own; and its details (dates, reach, extra orders) in a table of their own, the campaign kept in view.
    The names (the sample's campaigns) and reasons are the longest the sample's league prints."""
    import pandas as pd
    from memberkit.views import Presentation, page
    from memberkit.sample import CAMPAIGNS
    from memberkit.views import campaign as view
    p = Presentation(language)
    reasons = ["pays", "no_effect", "does_not_pay", "uncertain_return", "pull_forward", "no_cost"]
    rows, details = [], []
    for i, c in enumerate(CAMPAIGNS[1:]):   # the sample's campaigns, named as the page names them
        why = view.verdict_why(p, {"reason": reasons[i % len(reasons)]})   # each reason the catalogue has
        name = f"{i + 1}. {view.title(p, c)}" + " ★" * (c.campaign_id == "C2610")
        # margin over its interval and the evidence's longest words, as the sample's league prints them: they made
        # the league 18 px wider than its box at 1280 px ('matched baseline (weake' cut at the edge)
        rows.append([name, "change", why, p.code("campaign_types", c.type), f"-10{i}%\n(-117%\u00a0…\u00a0-23%)",
                     "CN¥10,962\n(-\u2060CN¥6,220\u00a0…\u00a0CN¥37,546)", "CN¥30,000",
                     view.pull_forward_word(p, {"flagged": False, "complete": False, "days_after_observed": 24}),
                     p.text("cr.evidence_matched_baseline")])   # the catalogue's words, as the page prints them
        details.append([name, "2026-10-01 –\n2026-10-07", "12,412", f"-16{i}\n(-176\u00a0…\u00a0222)", "CN¥31,779",
                        "not meaningful" if i % 2 else "CN¥18"])
    heads = ["Campaign", "Verdict", "Why", "Type", "Return on cost (95% interval)", "Extra margin", "Cost", "Pull-forward",
             "Evidence"]
    detail_heads = ["Campaign", "Dates", "Targeted", "Extra orders (95% interval)", "Extra revenue", "Cost per extra order"]
    if language == "zh":
        heads = ["活动", "结论", "原因", "类型", "投入产出比（95% 区间）", "额外毛利", "成本", "提前消费", "证据"]
        detail_heads = ["活动", "日期", "触达人数", "额外订单（95% 区间）", "额外收入", "每笔额外订单成本"]
    df = page.decision_first(pd.DataFrame(rows, columns=heads))
    # as views.campaign.league_frame, in both editions: the type column left off paper, the line naming what it keeps
    page.printed_without(df, [heads.index(heads[3])], view.league_printed_line(p, CAMPAIGNS[1:]))
    more = page.decision_first(pd.DataFrame(details, columns=detail_heads), 1)
    df.attrs[page.LINE_CELLS] = more.attrs[page.LINE_CELLS] = True
    return (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>{_print_css()}</head><body>"
            "<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-OutputArea-output'>"
            f"{page.CSS}{page.table_html(df, 'League')}{page.table_html(more, 'Details')}</div></div></div></body></html>")


# The most lines any cell of each table takes (its distinct line tops) and that cell's text, and how far each
# table's box scrolls
CELL_LINES = """() => [...document.querySelectorAll('table')].map(table => {
  const cells = [...table.querySelectorAll('td, th')];
  const lines = cells.map(cell => { const r = document.createRange(); r.selectNodeContents(cell);
    return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size; });
  const box = table.closest('.mk-table'), first = table.querySelector('thead th'), most = Math.max(...lines);
  return {most, cell: cells[lines.indexOf(most)].innerText.replace(/\\s+/g, ' ').slice(0, 60),
          scrolls: box ? box.scrollWidth - box.clientWidth : 0,
          league: !!first && ['Campaign', '活动'].includes(first.innerText.trim())}; })"""


# Each word of a table's cell set across two lines, as [the cell's text, the word]: a Chinese word (a word of two
# characters or more as Intl.Segmenter, Chromium's ICU dictionary, finds it: 尚未完/成, 会员/日, 重要价值/客户)
# or a number and its unit ('24 / days', '（24 / 天）', '12 / months')
WORDS_BROKEN = r"""() => { const words = new Intl.Segmenter('zh', {granularity: 'word'});
  const lines = r => new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size;
  const found = [];
  for (const cell of document.querySelectorAll('td, th')) {
    if (!cell.getClientRects().length) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const spans = [...words.segment(t.data)].filter(w => /^[\u4e00-\u9fff]{2,}$/.test(w.segment))
        .map(w => [w.index, w.segment.length]);
      for (const m of t.data.matchAll(/\d[\d,.]*[ \u00a0]?(?:days?|天|months?|个月)/g)) spans.push([m.index, m[0].length]);
      for (const [at, n] of spans) {
        const r = document.createRange(); r.setStart(t, at); r.setEnd(t, at + n);
        if (lines(r) > 1) found.push([cell.innerText.replace(/\s+/g, ' ').slice(0, 60), t.data.substr(at, n)]); } } }
  return found; }"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_leagues_cells_take_three_lines_at_most_on_a4_and_nothing_is_cut_at_1280_px(tmp_path, language):
    """Issue 23: with each row's reason in its verdict cell the league's verdicts wrapped to five or six lines on A4
    ('repeat: / pays / even at / the low / end'; '调整：有响应，但成本吃掉了收益' on six), and at 1280 px its 13
    columns scrolled with the last one cut mid-word ('Extra o…'). The verdict is one word, its reason a column
    of its own, the details a table of their own: printed, no cell of either table takes more than three lines
    and no word is set across two (a Chinese word, in either edition's names: 国庆/会员日 in the English details
    table; the days and their unit); at 1280 px neither table needs to scroll, so no heading or figure is cut at
    the box's edge."""
    from memberkit.views import page
    html = page.embed_fonts(_league_like_page(language).replace("<body>", "<body class='jp-Notebook'>").replace(
        "class='jp-OutputArea-output'", "class='jp-RenderedHTMLCommon jp-OutputArea-output'"))   # the pages' CJK font
    with _open(html, 703, tmp_path) as shown:
        shown.emulate_media(media="print")
        printed = shown.evaluate(CELL_LINES)
        broken = shown.evaluate(WORDS_BROKEN)   # issue 23 printed '会员 / 日', '新会 / 员礼', '尚未完 / 成', '（24 / 天）'
        shown.screenshot(path=str(tmp_path / "league-a4.png"), full_page=True)
    with _open(html, 1280, tmp_path) as shown:
        screen = shown.evaluate(CELL_LINES)
        shown.screenshot(path=str(tmp_path / "league-1280.png"), full_page=True)
    assert all(t["most"] <= 3 for t in printed), f"printed, a league cell takes more lines than three: {printed}"
    assert not broken, f"printed, a word of the league broken across lines: {broken}"
    assert all(t["scrolls"] <= 1 for t in screen), f"at 1280 px a league table is cut at its box's edge: {screen}"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_printed_a_wide_table_fits_the_page_width(tmp_path, language):
    """The campaign review's league printed 827 px wide on a page of 703 px, its overflow hidden: the last
    columns (extra orders, extra revenue, cost per extra order) were cut off the PDF. On paper a wide
    table is set small, its words wrap, nothing sticks, and it fits the page's width."""
    # a report's output box on A4: 703 px less the notebook's own padding, 663 px (680 less this page's margins)
    with _open(_league_like_page(language), 680, tmp_path) as page:
        page.emulate_media(media="print")
        over = page.evaluate(TABLES_OVER)
    assert not over, f"printed tables wider than the page by {over} px"


@pytest.mark.slow
def test_printed_no_table_of_any_report_page_is_wider_than_the_page(published):
    """Every report page as printed (print media, A4 less its margins: 703 px): no table past the page's
    content box, where the PDF would cut it off; on the RFM, CLV, A/B and campaign pages no cell of a table takes
    more than three lines (issue 23: the league's verdicts took five, its names and the RFM page's actions in full
    four, '尚未完 / 成 / （24 / 天）' four) and no word is set across two lines (a Chinese word, a number and its
    unit: :data:`WORDS_BROKEN`)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = chromium_or_skip()
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    problems = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            page = browser.new_context(viewport={"width": 703, "height": 1000}, offline=True).new_page()
            page.emulate_media(media="print")
            for name in ["index"] + REPORTS:
                page.goto((out / language / f"{name}.html").as_uri(), wait_until="load")
                over = page.evaluate(TABLES_OVER)
                if over:
                    problems.append(f"{language} {name} printed: tables wider than the page by {over} px")
                if name in ("rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"):
                    tall = [t for t in page.evaluate(CELL_LINES) if t["most"] > 3]
                    if tall:
                        problems.append(f"{language} {name} printed: a table's cell takes more than three lines: {tall}")
                    broken = page.evaluate(WORDS_BROKEN)
                    if broken:
                        problems.append(f"{language} {name} printed: words set across two lines: {broken}")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_printed_the_blocks_for_analysts_are_left_out(tmp_path, language):
    """The '▸ For analysts' blocks (a setting's name, a file, a command) were printed in the executives'
    PDF; on paper they are left out, on screen they stay, collapsed."""
    from memberkit.views import Presentation, page
    block = page.for_analysts_html(Presentation(language), "the setting notebooks.ab_test.cost_per_member")
    html = (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>{_print_css()}</head><body>"
            "<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-OutputArea-output'>"
            f"{page.CSS}<p>Push paid.</p>{block}</div></div></div></body></html>")
    shown = "() => [...document.querySelectorAll('details')].filter(d => d.getClientRects().length).length"
    with _open(html, 703, tmp_path) as page_:
        assert page_.evaluate(shown) == 1
        page_.emulate_media(media="print")
        assert page_.evaluate(shown) == 0


def test_at_420_px_a_chinese_heading_keeps_its_month_and_dates_on_one_line(tmp_path):
    """At 420 px Chinese headings broke inside the month ('2026年10' / '月') and dates at their hyphen
    ('2026-' / '06-01'). A month or a date in a heading is now kept on one line."""
    from memberkit.views import Presentation, page
    zh = Presentation("zh")
    heads = (page.heading_html(page.title_period(zh, "实验有没有效果？实验有没有效果", "2026-10"), 1)
             + page.heading_html("EXP-PUSH：实验组 push 与对照组相比，分组时间 2026-06-01，观察分组后 30 天")
             + page.heading_html("EXP-COUPON：实验组 coupon_10、coupon_20 与对照组相比，分组时间 2026-08-01，观察分组后 30 天")
             + page.heading_html("C2610 国庆会员日：会员日，2026-10-01 至 2026-10-07"))
    html = (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>{_print_css()}</head><body>"
            f"<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-OutputArea-output'>{heads}"
            "</div></div></div></body></html>")
    lines = """() => [...document.querySelectorAll('h1, h2')].flatMap(h => [...h.textContent.matchAll(/\\d{4}年\\d{1,2}月|\\d{4}-\\d{2}-\\d{2}/g)]
      .map(m => { const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT); let node, at = 0;
        while ((node = walker.nextNode())) { if (at + node.length > m.index) break; at += node.length; }
        const range = document.createRange(); let start = m.index - at, n = node, left = m[0].length, tops = new Set();
        while (n && left > 0) { const end = Math.min(n.length, start + left);
          range.setStart(n, start); range.setEnd(n, end);
          [...range.getClientRects()].forEach(r => r.width && tops.add(Math.round(r.top)));
          left -= end - start; start = 0; n = walker.nextNode(); }
        return [m[0], tops.size]; }))"""
    with _open(html, 420, tmp_path) as shown:
        found = shown.evaluate(lines)
        shown.screenshot(path=str(tmp_path / "headings-420.png"), full_page=True)
    assert len(found) >= 5, found
    assert all(n == 1 for _, n in found), [f for f in found if f[1] != 1]


def test_on_a4_the_seven_key_figure_cards_of_the_summary_print_on_its_first_page(tmp_path):
    """The English summary printed four of its seven key-figure cards on page 1 and left 40% of it white:
    the second row of cards was taller than what was left of the page. Printed, all seven are on page 1."""
    pypdf = pytest.importorskip("pypdf")
    import ibis
    from memberkit import month
    from memberkit.pdf import print_pdf
    from memberkit.views import month as month_views
    from .test_bulk_orders import hand_tables
    chromium_or_skip()
    tables = hand_tables()
    orders = tables["orders"].execute()
    orders["amount"] = orders["amount"] * 10_000
    tables["orders"] = ibis.memtable(orders)
    html = month_views.render_summary(month.MonthSummary("2026-10", "en", "CNY", [],
                                                         month.compute_figures(tables, "2026-10")))
    page = tmp_path / "index.html"
    page.write_text(html, encoding="utf-8")
    first = " ".join(pypdf.PdfReader(print_pdf(page)).pages[0].extract_text().split())
    cards = html.count('class="mk-figure"')
    assert cards == 7
    labels = re.findall(r'class="mk-figure"[^>]*>\s*<div class="mk-label">([^<]*)<', html)
    assert len(labels) == 7 and not [label for label in labels if label not in first], ([label for label in labels if label not in first], first[:300])


# The smallest horizontal distance between the texts of two figure cells side by side, in any table row
FIGURE_GAP = """() => Math.min(...[...document.querySelectorAll('table tbody tr')].flatMap(tr => [...tr.children].slice(1)
  .filter((cell, i) => cell.classList.contains('mk-num') && tr.children[i].classList.contains('mk-num')).map(cell => {
    const r = document.createRange(), left = cell.previousElementSibling;
    r.selectNodeContents(left); const a = Math.max(...[...r.getClientRects()].map(x => x.right));
    r.selectNodeContents(cell); const b = Math.min(...[...r.getClientRects()].map(x => x.left));
    return b - a; })))"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_printed_the_leagues_figures_stand_apart_and_the_table_still_fits_a4(tmp_path, language):
    """Issue 23: on paper the campaign league's figure columns were 2 px a side, 4 px apart ('CN¥9,534CN¥3,000'
    read as one). A figure cell now keeps 8 px to its left, and the league still fits the A4 page (703 px),
    the room taken from the screen's side paddings of nbconvert's page (10 px body, 20 px output), shown here."""
    page = _league_like_page(language).replace("<body>", "<body class='jp-Notebook'>").replace(
        "class='jp-OutputArea-output'", "class='jp-RenderedHTMLCommon jp-OutputArea-output'").replace(
        "<style>", "<style>body.jp-Notebook { margin: 0; padding: 10px; } .jp-RenderedHTMLCommon { padding-right: 20px; }", 1)
    with _open(page, 703, tmp_path) as shown:
        shown.emulate_media(media="print")
        over, gap = shown.evaluate(TABLES_OVER), shown.evaluate(FIGURE_GAP)
    assert not over, f"printed, the league is wider than the page by {over} px"
    assert gap >= 8, f"printed, two figures of the league are {gap:.1f} px apart"


# The smallest horizontal distance between a figure cell's text and the text of a cell of words after it
WORDS_GAP = FIGURE_GAP.replace("cell.classList.contains('mk-num') && tr.children[i]", "!cell.classList.contains('mk-num') && tr.children[i]")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_printed_a_figure_and_the_words_or_figure_after_it_stand_apart(tmp_path, language):
    """Printed, the A/B results ran a right-aligned figure into the left-aligned column after it, 4 px apart:
    '0.003 > 99.9%' ('> 99.9%' has a no-break space and was not taken for a figure) and '2.2% < 0.001'. A figure
    beside a figure, or beside words after it, keeps 8 px; '> 99.9%' and '< 0.001' are figures, right-aligned."""
    import pandas as pd
    from memberkit.views import page
    assert page._is_figure_column(["> 99.9%", "97.1%"]) and page._is_figure_column(["<\u00a00.001", "0.21"])
    df = pd.DataFrame({"Variant · metric": ["coupon_10 · repurchase", "push · revenue"], "Lift": ["2.2%", "+16.9%"],
                       "p": ["<\u00a00.001", "0.003"], "Chance to beat control": [">\u00a099.9%", "99.1%"],
                       "Reading": ["clear, act on it", "clear"]})
    right = [i for i, c in enumerate(df.columns) if page._is_figure_column(df[c])]
    assert right == [1, 2, 3]
    cells = page.table_html(df, "Results") + page.table_html(df.iloc[:, [0, 2, 4]], "Words after a figure")
    html = (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>{_print_css()}</head><body>"
            f"<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-OutputArea-output'>{page.CSS}{cells}"
            "</div></div></div></body></html>")
    with _open(html, 703, tmp_path) as shown:
        shown.emulate_media(media="print")
        figures, words = shown.evaluate(FIGURE_GAP), shown.evaluate(WORDS_GAP)
    assert figures >= 8, f"printed, two figures are {figures:.1f} px apart"
    assert words >= 8, f"printed, a figure and the words after it are {words:.1f} px apart"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_420_px_the_every_month_table_keeps_the_month_and_member_revenue_in_view(tmp_path, language):
    """Issue 23: at 420 px the page of all months cut its table at the fourth column, and a swipe to see the rest
    took the month with it. As on the report pages' wide tables, the first columns (the month, member revenue)
    now stay in view while the other figures scroll."""
    import json
    from memberkit import month
    from memberkit.views import month as month_views
    from .test_month import hand_orders
    orders, members = hand_orders()
    figures = month.compute_figures({"orders": orders, "members": members}, "2026-10")
    for period in ("2026-09", "2026-10"):
        (tmp_path / period / language).mkdir(parents=True)
        (tmp_path / period / language / "index.html").write_text("x")
        (tmp_path / period / month.FIGURES_FILE).write_text(json.dumps(figures))
    html = month_views.render_months(tmp_path, language)
    seen = """() => { const table = document.querySelector('table.mk-months'), box = table.parentElement;
      const inside = (cell, frame) => cell.left >= frame.left - 1 && cell.right <= frame.right + 1;
      const cells = () => [...table.querySelectorAll('tbody tr:first-child td')];
      const before = cells().map(c => inside(c.getBoundingClientRect(), box.getBoundingClientRect()));
      box.scrollLeft = box.scrollWidth;
      const after = cells().map(c => inside(c.getBoundingClientRect(), box.getBoundingClientRect()));
      return {before, after, scrolls: box.scrollWidth > box.clientWidth + 1,
              page: document.documentElement.scrollWidth - window.innerWidth}; }"""
    with _open(html, 420, tmp_path) as shown:
        found = shown.evaluate(seen)
        shown.screenshot(path=str(tmp_path / "months-420.png"), full_page=True)
    assert found["scrolls"] and found["page"] <= 1, found        # the table scrolls in its box, not the page
    assert found["after"][:2] == [True, True], found              # month and member revenue still in view
    assert found["after"][-1] and not found["before"][-1], found  # and the last figure is reached by scrolling


# ------------------------------------------------------------------ issue 23: the summary on paper and on the first screen
def _pdf_pages_text(pdf) -> list[str]:
    """Each printed page's text as pdftotext reads it (poppler), lines kept, NFKC-normalised."""
    import shutil
    import subprocess
    if not shutil.which("pdftotext"):
        if os.environ.get("CI"):
            pytest.fail("CI must have pdftotext for the printed pages' text (.ci/run installs poppler-utils)")
        pytest.skip("pdftotext not installed (poppler-utils)")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [unicodedata.normalize("NFKC", page) for page in text.split("\f")[:-1]]


def _first_line(page: str) -> str:
    return next((line.strip() for line in page.splitlines() if line.strip()), "")


@pytest.mark.slow
def test_the_summary_prints_on_five_a4_pages_at_most_and_no_page_starts_with_a_total(published):
    """Issue 23: the English summary printed on nine A4 pages, and page 4 began with the total row of a table
    split from its rows. On paper the split by group, the reports' cards and the notes for analysts are left
    out (they stay on screen), and a table's last rows stay with the rows before them."""
    from memberkit.views.context import text
    chromium_or_skip()
    language, (proc, out, _) = published
    assert proc.returncode == 0, proc.stderr[-2000:]
    pages = _pdf_pages_text(out / language / "index.pdf")
    assert 1 <= len(pages) <= 5, len(pages)
    total = unicodedata.normalize("NFKC", text("why.total", language))
    starts = [_first_line(page) for page in pages]
    assert not [s for s in starts if s.startswith(total)], starts
    html = (out / language / "index.html").read_text(encoding="utf-8")
    assert text("why.groups_title", language) in html            # on screen the split by group is still there


@pytest.mark.parametrize("language", ["en", "zh"])
def test_printed_a_summary_tables_total_row_never_starts_a_page(tmp_path, language):
    """Issue 23: a table split so that its total row stood alone at the top of a page. The summary's own why
    table, printed after blocks of every height from 180 mm to 262 mm (each section on a page of its own, so the
    page break falls before every one of its rows in turn): no page starts with the total, and the table of
    seven rows is never split at all."""
    from memberkit import month
    from memberkit.pdf import print_pdf
    from memberkit.views import month as month_views
    from memberkit.views.context import text
    from .test_bulk_orders import hand_tables
    chromium_or_skip()
    html = month_views.render_summary(month.MonthSummary("2026-10", language, "CNY", [],
                                                         month.compute_figures(hand_tables(), "2026-10")))
    table = re.search(r'<div class="mk-table-wrap"><table class="mk-months mk-why-table">.*?</table></div>', html, re.S)
    assert table and table.group(0).count("<tr") >= 6
    head, body = html.split("<body>", 1)
    sections = "".join(f'<section style="break-before: page"><div style="height: {mm}mm; background: #1f4e79"></div>'
                       f'<h3>{mm}</h3>{table.group(0)}</section>' for mm in range(180, 264, 3))
    page = tmp_path / "totals.html"
    page.write_text(f"{head}<body>{sections}</body></html>", encoding="utf-8")
    pages = _pdf_pages_text(print_pdf(page))
    total = unicodedata.normalize("NFKC", text("why.total", language))
    driver = unicodedata.normalize("NFKC", text("why.col_driver", language))
    starts = [_first_line(p) for p in pages if _first_line(p)]    # a page of the block alone has no text
    assert len(pages) > len(range(180, 264, 3)), "no table went over a page: the test measures nothing"
    assert not [s for s in starts if s.startswith(total)], starts
    # not split at all: a page that starts with the table starts with its header row
    assert not [s for s in starts if not s[:3].isdigit() and not s.startswith(driver)], starts


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_1280_by_900_the_summarys_decisions_start_on_the_first_screen(tmp_path, language):
    """Issue 23: at 1280 px the decisions began 977 px down, under a first screen of 900 px. With the tallest
    cards (bulk orders in the month: their part and the figure without them), the decisions' heading and the
    first line under it are inside 1280 x 900, and the seven key figures stay shown above them."""
    from memberkit import month
    from memberkit.views import month as month_views
    from .test_bulk_orders import hand_tables
    html = month_views.render_summary(month.MonthSummary("2026-10", language, "CNY", [],
                                                         month.compute_figures(hand_tables(), "2026-10")))
    seen = """() => { const h = document.getElementById('decisions'), next = h.nextElementSibling;
      const r = document.createRange(); r.selectNodeContents(next.querySelector('li') || next);
      const first = [...r.getClientRects()].filter(x => x.width)[0];
      const values = [...document.querySelectorAll('.mk-figure .mk-value')].map(v => v.getBoundingClientRect());
      return {heading: h.getBoundingClientRect().bottom, line: first.bottom, values: values.length,
              shown: values.every(v => v.height > 10 && v.bottom < h.getBoundingClientRect().top)}; }"""
    with _open(html, 1280, tmp_path) as shown:
        shown.set_viewport_size({"width": 1280, "height": 900})
        found = shown.evaluate(seen)
        shown.screenshot(path=str(tmp_path / "summary-1280.png"))
    assert found["values"] == 7 and found["shown"], found
    assert found["heading"] <= 900 and found["line"] <= 900, found


def test_at_420_px_the_campaign_types_headings_break_between_chinese_words_not_inside_one(tmp_path):
    """Issue 23: the Chinese summary's campaign types table read '投入回' / '报率' at 420 px. Its headings
    now break only where a word ends: each heading of one word is on one line."""
    from memberkit import month
    from memberkit.views import month as month_views
    from memberkit.views.context import text
    from .test_bulk_orders import hand_tables
    s = month.MonthSummary("2026-10", "zh", "CNY", [], month.compute_figures(hand_tables(), "2026-10"))
    s.campaign_types = [{"type": kind, "campaigns": 2, "paid": 1, "net_gain": -12504.0, "incremental_margin": 20496.0,
                         "cost": 33000.0, "roi": -0.38} for kind in ("member_day", "new_member_gift", "coupon")]
    html = month_views.render_summary(s)
    assert 'class="mk-months mk-types"' in html
    lines = """() => [...document.querySelectorAll('table.mk-types th')].map(th => { const r = document.createRange();
      r.selectNodeContents(th); return [th.innerText, new Set([...r.getClientRects()].filter(x => x.width)
      .map(x => Math.round(x.top))).size]; })"""
    with _open(html, 420, tmp_path) as shown:
        found = shown.evaluate(lines)
    roi = text("profile.roi", "zh")
    assert [n for t, n in found if t == roi] == [1], found


# Each table's most lines in one cell of its second column (the decision), as shown
DECISION_LINES = """() => [...document.querySelectorAll('table')].map(table => Math.max(...[...table.querySelectorAll('tbody tr')]
  .map(row => { const cell = row.children[1], r = document.createRange(); r.selectNodeContents(cell);
    return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size; })))"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_1280_px_every_segment_action_in_a_decision_column_takes_two_lines_at_most(tmp_path, language):
    """Issue 23: at 1280 px the RFM and CLV pages' action cells wrapped to four lines ('Win back actively: personal
    contact, as for Important, lapsing (likely lost)'), the Chinese ones longer still. The decision column holds the
    action in a few words, two lines at most, for every segment of both schemes and every segment of the CLV page's
    at-risk table; the action in full is the table's last column."""
    import pandas as pd
    from memberkit import rfm
    from memberkit.views import Presentation, page
    from memberkit.views import clv as clv_view
    from memberkit.views import rfm as rfm_view
    p = Presentation(language)
    tables = []
    for scheme in ("high_low", "score_grid"):
        keys = rfm.schemes()[scheme].keys
        profile = pd.DataFrame({"members": 12345, "share": 0.123, "revenue_share": 0.456, "mean_r": 123.0, "mean_f": 12.3,
                                "mean_m": 12345.0, "aov": 1234.0}, index=pd.Index(keys, name="segment"))
        frame = rfm_view.profile_frame(p, profile, scheme)
        assert list(frame.iloc[:, -1]) == [rfm.schemes()[scheme].action(k, language) for k in keys]
        tables.append(frame)
    at_risk = [*rfm.schemes()["high_low"].keys, rfm.outside_window().key]
    tables.append(page.decision_first(pd.DataFrame({
        p.text("clv.col_segment"): [(rfm.outside_window() if k == rfm.outside_window().key else rfm.schemes()["high_low"].segment(k))
                                    .label[language] for k in at_risk],
        p.text("clv.col_action"): [clv_view.at_risk_short_action(p, k) for k in at_risk],
        p.text("clv.members_col"): "1,234", p.text("clv.col_spend"): "CN¥1,234,567",
        p.text("clv.col_action_detail"): [clv_view.at_risk_action_words(p, k) for k in at_risk]})))
    html = (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>{_print_css()}</head><body class='jp-Notebook'>"
            "<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-RenderedHTMLCommon jp-OutputArea-output'>"
            f"{page.CSS}{''.join(page.table_html(t) for t in tables)}</div></div></div></body></html>")
    with _open(page.embed_fonts(html), 1280, tmp_path) as shown:   # the CJK font the pages carry
        lines = shown.evaluate(DECISION_LINES)
    assert len(lines) == 3 and all(n <= 2 for n in lines), f"most lines of an action cell per table: {lines}"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_on_a4_no_cell_of_the_segment_tables_takes_more_than_three_lines_nor_breaks_a_word(tmp_path, language):
    """Issue 23: the RFM page's PDF wrapped the action in full to four and five lines ('Raise / frequency: / offers
    that / bring them / back'), the heading 'Average days since last order' too, and the CLV page's at-risk table
    its own ('Hold on to them: … as for Important, lapsing (likely lost)'); the Chinese edition broke its segments
    inside a word ('重要价值 / 客户'). On paper the short action beside the segment carries the decision and the
    action in full is left off, a printed line saying so: no cell of either scheme's table nor of the at-risk
    table takes more than three lines on A4, no word is set across two, no table is wider than the page (kept
    whole, the Chinese actions in full widened them by 58 to 94 px), and each line is there."""
    import pandas as pd
    from memberkit import rfm
    from memberkit.views import Presentation, page
    from memberkit.views import clv as clv_view
    from memberkit.views import rfm as rfm_view

    from .test_clv import _winback_analysis
    p = Presentation(language)
    tables = []
    for scheme in ("high_low", "score_grid"):
        keys = rfm.schemes()[scheme].keys   # figures as wide as the sample's: 12,923 members, CN¥12,345
        profile = pd.DataFrame({"members": 12345, "share": 0.123, "revenue_share": 0.456, "mean_r": 123.0, "mean_f": 12.3,
                                "mean_m": 12345.0, "aov": 1234.0}, index=pd.Index(keys, name="segment"))
        tables.append(rfm_view.profile_frame(p, profile, scheme))
    tables.append(clv_view.at_risk_frame(p, _winback_analysis(), 12))   # the segments whose actions are longest
    html = (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>{_print_css()}</head><body class='jp-Notebook'>"
            "<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-RenderedHTMLCommon jp-OutputArea-output'>"
            f"{page.CSS}{''.join(page.table_html(t) for t in tables)}</div></div></div></body></html>")
    notes = "() => [...document.querySelectorAll('.mk-print-only')].filter(n => n.getClientRects().length).map(n => n.innerText)"
    with _open(page.embed_fonts(html), 703, tmp_path) as shown:
        shown.emulate_media(media="print")
        printed, over, said = shown.evaluate(CELL_LINES), shown.evaluate(TABLES_OVER), shown.evaluate(notes)
        broken = shown.evaluate(WORDS_BROKEN)
    assert len(printed) == 3 and all(t["most"] <= 3 for t in printed), f"printed, a segment cell takes more than three lines: {printed}"
    assert not over, f"printed segment tables wider than the page by {over} px"
    assert not broken, f"printed, a word of a segment table set across two lines: {broken}"
    assert said == [p.text("rfm.printed_without_detail")] * 2 + [p.text("clv.printed_without_detail")], said


@pytest.mark.parametrize("language", ["en", "zh"])
def test_printed_tables_are_set_in_nine_points_or_more(tmp_path, language):
    """Issue 23: on A4 the tables were set in 7 pt (about 6.5 pt as printed) beside body text of 14 pt. Printed, every
    cell of a report's table is 9 pt (12 CSS px) or more, and the league still fits the page (the tests above)."""
    sizes = """() => [...document.querySelectorAll('td, th')].filter(c => c.getClientRects().length)
      .map(c => parseFloat(getComputedStyle(c).fontSize))"""
    with _open(_league_like_page(language), 703, tmp_path) as shown:
        shown.emulate_media(media="print")
        px = shown.evaluate(sizes)
    assert px and min(px) >= 12, f"printed table type of {min(px) * 0.75:.1f} pt"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_1280_px_no_row_of_key_figure_cards_holds_a_card_alone(tmp_path, language):
    """Issue 23: the A/B page's six cards stood 5 + 1 at 1280 px, the sixth alone on a row as wide as the page.
    From four to ten cards, with the A/B page's longest labels, the rows now hold as many cards as each other
    (to one): six are 3 + 3, seven 4 + 3; none is alone. On a phone (420 px) each row keeps two cards at least."""
    from memberkit.views import Presentation, page
    p = Presentation(language)
    labels = [p.text(k) for k in ("ab.kpi_evaluated", "ab.kpi_ship", "ab.kpi_not_margin", "ab.kpi_srm",
                                  "ab.kpi_inconclusive", "ab.kpi_do_not_ship")]
    blocks = "".join(page.kpi_cards_html([page.KPI(labels[i % len(labels)], p.count_of(i, "experiments"), "+1")
                                          for i in range(n)]) for n in range(4, 11))
    html = (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>{_print_css()}</head><body class='jp-Notebook'>"
            f"<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-RenderedHTMLCommon jp-OutputArea-output'>"
            f"{blocks}</div></div></div></body></html>")
    with _open(page.embed_fonts(html), 1280, tmp_path) as shown:
        wide = shown.evaluate(CARD_ROWS)
        shown.set_viewport_size({"width": 420, "height": 860})
        phone = shown.evaluate(CARD_ROWS)
        over = shown.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert [sum(r) for r in wide] == list(range(4, 11)), wide
    assert card_row_problems("1280 px", wide) == [], wide
    assert wide[2] == [3, 3] and wide[3] == [4, 3], wide
    assert all(min(r[:-1] or r) >= 2 for r in phone) and over <= 1, (phone, over)
    assert card_row_problems("old", [[5, 1]]) and card_row_problems("old", [[4, 2]]) and not card_row_problems("", [[1, 1]])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_420_px_each_campaign_types_verdict_takes_two_lines_at_most(tmp_path, language):
    """Issue 23: at 420 px the summary's campaign types table wrapped each verdict cell to four lines ('Lost money' over
    'all its campaigns together; 1 of 2 paid on its own'). The decision at a glance: the verdict in two words and its
    count under it, two lines at most for every type the catalogue names and a verdict not known; what they stand for
    is said under the table. Neither the page nor the table scrolls sideways."""
    from memberkit import month
    from memberkit.views import month as month_views
    from memberkit.views.context import _catalogue, text
    from .test_bulk_orders import hand_tables
    s = month.MonthSummary("2026-10", language, "CNY", [], month.compute_figures(hand_tables(), "2026-10"))
    kinds = sorted(_catalogue(language)["campaign_types"])
    s.campaign_types = [{"type": kind, "campaigns": 12, "paid": 10 if i % 3 else 0, "net_gain": None if i == 1 else
                         (-115846.0 if i % 2 else 1234567.0), "incremental_margin": 21883.0, "cost": None if i == 1 else 80000.0,
                         "roi": None if i == 1 else -0.86} for i, kind in enumerate(kinds)]
    html = month_views.render_summary(s)
    from markupsafe import escape
    assert escape(text("profile.types_verdict_note", language)) in html and escape(text("profile.types_unknown_note", language)) in html
    # lines: the rectangles' centres more than half a line apart (a Chinese run and the digits after it, set in two
    # fonts, sit on one line with tops a few px apart)
    lines = """() => [...document.querySelectorAll('table.mk-types tr')].slice(1).map(tr => { const r = document.createRange();
      const cell = tr.children[1]; r.selectNodeContents(cell); const half = parseFloat(getComputedStyle(cell).fontSize) / 2;
      const mids = [...r.getClientRects()].filter(x => x.width).map(x => (x.top + x.bottom) / 2).sort((a, b) => a - b);
      return [cell.innerText, mids.filter((m, i) => i === 0 || m - mids[i - 1] > half).length]; })"""
    with _open(html, 420, tmp_path) as shown:
        found = shown.evaluate(lines)
        over = shown.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        wrap = shown.evaluate("() => { const w = document.querySelector('table.mk-types').parentElement; return w.scrollWidth - w.clientWidth; }")
    assert len(found) == len(kinds) >= 5, found
    assert all(n <= 2 for _, n in found), f"verdict cells of more than two lines: {found}"
    assert over <= 1 and wrap <= 1, (over, wrap)


def _pdf_links(pdf) -> tuple[list[str], set[str]]:
    """The links inside a PDF (every page's link annotations that go to a named destination) and the named
    destinations it holds."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(pdf)
    links = []
    for sheet in reader.pages:
        for note in sheet.get("/Annots") or []:
            note = note.get_object()
            target = note.get("/Dest") or ((note.get("/A") or {}).get("/D") if (note.get("/A") or {}).get("/S") == "/GoTo" else None)
            if note.get("/Subtype") == "/Link" and target is not None:
                links.append(str(target))
    return links, {str(name) for name in reader.named_destinations}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_printed_the_summary_keeps_its_contents_with_links_to_its_sections(tmp_path, language):
    """Issue 23: the PDFs dropped the contents the pages open with. Printed, the summary's first page holds them, and
    each entry is a link inside the PDF to its section; the reports' cards, which paper leaves out, are not listed."""
    from memberkit import month
    from memberkit.pdf import print_pdf
    from memberkit.views import month as month_views
    from memberkit.views.context import text
    from .test_bulk_orders import hand_tables
    chromium_or_skip()
    html = month_views.render_summary(month.MonthSummary("2026-10", language, "CNY", [],
                                                         month.compute_figures(hand_tables(), "2026-10")))
    source = tmp_path / "index.html"
    source.write_text(html, encoding="utf-8")
    pdf = print_pdf(source)
    first = _pdf_pages_text(pdf)[0]
    contents = unicodedata.normalize("NFKC", text("common.contents", language))
    assert contents in first, first[:500]
    links, destinations = _pdf_links(pdf)
    listed = set(re.findall(r'<nav class="mk-toc".*?</nav>', html, re.S)[0].split('href="#')[1:])
    assert len(links) >= 5 and all(link.lstrip("/") in {d.lstrip("/") for d in destinations} for link in links), \
        (links, destinations)
    assert "/mk-reports" not in links and len(listed) > len(set(links)) - 1
    assert text("month.reports_title", language) not in " ".join(_pdf_pages_text(pdf))


def test_printed_a_report_page_keeps_its_contents_with_links_to_its_sections(tmp_path):
    """Issue 23: the report pages' print style left their contents out. Printed (the reports' own style), the contents
    under the title are there, in small type, and each entry is a link inside the PDF to its section."""
    from memberkit.pdf import print_pdf
    from memberkit.views import page
    chromium_or_skip()
    sections = "".join(page.heading_html(f"Section {i}") + f"<div style='height:120mm'>{i}</div>" for i in range(4))
    body = page.link_headings("<h1>A report</h1>" + sections, "On this page")
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{_print_css()}</head><body>"
            f"<div class='jp-Cell'><div class='jp-OutputArea-child'><div class='jp-OutputArea-output'>{body}"
            "</div></div></div></body></html>")
    source = tmp_path / "report.html"
    source.write_text(html, encoding="utf-8")
    pdf = print_pdf(source)
    pages = _pdf_pages_text(pdf)
    assert "On this page" in pages[0] and "Section 3" in pages[0] and len(pages) >= 3, pages[0][:300]
    links, destinations = _pdf_links(pdf)
    assert sorted(links) == sorted(f"/section-{i}" for i in range(4)), links
    assert {link for link in links} <= destinations, destinations


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_420_px_the_clv_value_tables_keep_the_group_and_its_value_in_view(tmp_path, language):
    """Issue 23: at 420 px the CLV page's value tables were stacked, each group a block of six lines (nine segments:
    54 lines for one table). On a phone a value table stays a table, a line a group: the group and its expected
    value first and in view, the share, members, value per member and chance scrolling beside them."""
    import types
    import pandas as pd
    from memberkit.views import Presentation, page
    from memberkit.views import clv as view
    cities = ["上海", "北京", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京"]
    g = pd.DataFrame({"members": [4658, 4604, 4426, 2132, 477, 475, 424, 257, 128],
                      "clv": [764365.0, 466306.0, 190413.0, 92191.0, 67476.0, 65865.0, 33913.0, 21428.0, 6282.0],
                      "mean_clv": [358.52, 101.28, 43.02, 194.09, 141.46, 14.14, 79.98, 83.38, 49.08],
                      "any_purchase": [0.827, 0.628, 0.385, 0.694, 0.779, 0.166, 0.288, 0.393, 0.339]}, index=cities)
    g["clv_share"] = g.clv / g.clv.sum()
    frame = view.value_frame(Presentation(language, "CNY"), types.SimpleNamespace(by_group={"region": g}), "region", 12)
    html = (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"{_print_css()}</head><body class='jp-Notebook'><div class='jp-Cell'><div class='jp-OutputArea-child'>"
            f"<div class='jp-RenderedHTMLCommon jp-OutputArea-output'>{page.CSS}{page.table_html(frame)}</div></div></div></body></html>")
    seen = """() => { const table = document.querySelector('.mk-table table'), box = table.closest('.mk-table');
      const frame = box.getBoundingClientRect(), inside = c => { const r = c.getBoundingClientRect();
        return r.width > 0 && r.left >= frame.left - 1 && r.right <= frame.right + 1; };
      const rows = [...table.querySelectorAll('tbody tr')];
      const first = rows.map(tr => [...tr.children].slice(0, 2).every(inside));
      box.scrollLeft = box.scrollWidth;
      const after = rows.map(tr => [...tr.children].slice(0, 2).every(inside));
      const last = rows.map(tr => inside(tr.lastElementChild));
      return {first, after, last, heads: [...table.querySelectorAll('thead th')].map(th => th.getBoundingClientRect().height > 0),
              rowHeight: Math.max(...rows.map(tr => tr.getBoundingClientRect().height)),
              page: document.documentElement.scrollWidth - window.innerWidth}; }"""
    with _open(page.embed_fonts(html), 420, tmp_path) as shown:
        found = shown.evaluate(seen)
        shown.screenshot(path=str(tmp_path / "clv-values-420.png"), full_page=True)
    assert len(found["first"]) == 9 and all(found["first"]) and all(found["after"]), found   # group and value in view
    assert all(found["last"]), found                                 # and the last column reached by scrolling
    assert all(found["heads"]) and found["rowHeight"] < 60, found    # headings shown, a row a line or two, not a block
    assert found["page"] <= 1, found


def test_a_printed_pages_links_name_the_files_beside_it_not_this_machines_folders(tmp_path):
    """Issue 23: the summary's PDF linked its evidence as file:///tmp/<someone's clone>/outputs/2026-10/en/
    campaign_review.html#campaign-C2610, a folder of the machine that printed it. Printed, a link to a file beside
    the page stays relative to it; a web address and a link inside the page stay as they are."""
    pypdf = pytest.importorskip("pypdf")
    from memberkit import pdf
    chromium = chromium_or_skip()
    page = tmp_path / "2026-10" / "en" / "summary.html"
    page.parent.mkdir(parents=True)
    page.write_text("<!doctype html><html><body><h2 id='top'>Top</h2><p><a href='campaign_review.html#campaign-C2610'>"
                    "the evidence</a> <a href='../data/clv_at_risk.csv'>list</a> <a href='https://example.org/x'>web</a>"
                    " <a href='#top'>up</a></p></body></html>", encoding="utf-8")
    printed = pdf.print_pdf(page, chromium=chromium)
    uris = [str(a.get_object()["/A"].get("/URI")) for p in pypdf.PdfReader(str(printed)).pages
            for a in p.get("/Annots") or [] if "/A" in a.get_object() and "/URI" in a.get_object()["/A"]]
    assert "campaign_review.html#campaign-C2610" in uris and "../data/clv_at_risk.csv" in uris, uris
    assert "https://example.org/x" in uris and not any(u.startswith("file:") or str(tmp_path) in u for u in uris), uris


# Each table heading's text and the lines it takes, as shown
HEADING_LINES = """() => [...document.querySelectorAll('thead th')].map(th => { const r = document.createRange();
  r.selectNodeContents(th); return [th.innerText.trim(), new Set([...r.getClientRects()].filter(x => x.width)
  .map(x => Math.round(x.top))).size]; })"""
#: A heading of one word: no space and no punctuation (ASCII or full-width) where a line may break
ONE_WORD = re.compile(r"^[^\s\u3000-\u303f\uff00-\uffef()（）·,.:;/-]+$")


def test_at_1280_px_a_chinese_table_heading_breaks_between_words_never_inside_one(tmp_path):
    """Issue 23: at 1280 px the Chinese RFM page's segment tables read '销售额占' / '比' in a heading. A heading
    breaks only where a word ends (a space, a bracket, a mark), so each heading of one word is on one line, in the
    RFM page's segment tables of both schemes."""
    import pandas as pd
    from memberkit import rfm
    from memberkit.views import Presentation, page
    from memberkit.views import rfm as rfm_view
    p = Presentation("zh")
    tables = []
    for scheme in ("high_low", "score_grid"):
        keys = rfm.schemes()[scheme].keys
        profile = pd.DataFrame({"members": 1234, "share": 0.123, "revenue_share": 0.456, "mean_r": 123.0, "mean_f": 2.3,
                                "mean_m": 1234.0, "aov": 123.0}, index=pd.Index(keys, name="segment"))
        tables.append(rfm_view.profile_frame(p, profile, scheme))
    # the report pages' column at 1280 px: 1080 px (the notebook's 1100 less its padding)
    html = (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>{_print_css()}</head><body class='jp-Notebook'>"
            "<div class='jp-Cell' style='max-width:1080px'><div class='jp-OutputArea-child'>"
            "<div class='jp-RenderedHTMLCommon jp-OutputArea-output'>"
            f"{page.CSS}{''.join(page.table_html(t) for t in tables)}</div></div></div></body></html>")
    with _open(page.embed_fonts(html), 1280, tmp_path) as shown:   # the CJK font the pages carry
        found = shown.evaluate(HEADING_LINES)
    words = [(t, n) for t, n in found if ONE_WORD.match(t)]
    assert p.text("rfm.revenue_share") in [t for t, _ in words], found
    assert all(n == 1 for _, n in words), f"one-word headings on more than one line: {[w for w in words if w[1] > 1]}"
    assert ONE_WORD.match("销售额占比") and not ONE_WORD.match("平均 R（天）") and not ONE_WORD.match("客单价（¥）")


def test_a_printed_page_has_bookmarks_from_its_headings_with_their_words_whole(tmp_path):
    """Secondary to issue 23: the PDFs had no bookmarks, so a reader of a 13-page PDF paged through it to find a
    section. Each printed page's outline holds its headings, nested by level, titled as the page words them: a
    heading that wraps on paper keeps the space between its lines (Chromium's own outline read 'where their
    moneygoes')."""
    pypdf = pytest.importorskip("pypdf")
    from memberkit import pdf
    chromium = chromium_or_skip()
    page = tmp_path / "rfm_segmentation.html"
    long = "Member profile: who our members are and where their money goes"
    page.write_text("<!doctype html><html><body><h1>Who our members are · October 2026</h1><p>Text.</p>"
                    f"<h2 style='width:14em'>{long}</h2><p>Text.</p><h3>Gender &amp; age</h3><p>Text.</p>"
                    "<h2>Regions</h2><p>Text.</p></body></html>", encoding="utf-8")
    printed = pdf.print_pdf(page, chromium=chromium)

    def titles(items):
        return [titles(x) if isinstance(x, list) else x.title for x in items]
    assert titles(pypdf.PdfReader(str(printed)).outline) == [
        "Who our members are · October 2026", [long, ["Gender & age"], "Regions"]]
