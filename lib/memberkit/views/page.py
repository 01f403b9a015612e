"""The blocks of a report page: KPI cards, headline, notes, banner, tables, charts, footer.

Every block is HTML made here, and every string in it passes :func:`escape` once, here.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from .context import DASH


def escape(value) -> str:
    """Text made safe for HTML: ``<``, ``>``, ``&`` and both quotes as entities."""
    return html.escape(str(value))


@dataclass(frozen=True)
class Figure:
    """What a shown figure is: its ``code`` (a key figure such as ``churn_rate``, or ``<report>.<kpi>``),
    its ``period`` ('YYYY-MM') and its unrounded ``value`` (a number, or None when it does not exist)."""
    code: str
    period: str
    value: object = None


def figure_value(value) -> str:
    """A figure's unrounded value as the ``data-value`` attribute writes it: a whole number as an integer,
    any other as the shortest text that reads back as the same float (``repr``); '' when it is missing.

    >>> figure_value(3), figure_value(0.18547865459249677), figure_value(float("nan")), figure_value(None)
    ('3', '0.18547865459249677', '', '')
    """
    from ..report import missing
    import decimal
    import numbers
    if value is None or isinstance(value, bool) or missing(value):
        return ""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, decimal.Decimal):
        return str(value)
    return repr(float(value))


def mark(shown: str, figure: Figure | None, tag: str = "span", cls: str = "") -> str:
    """The one way a figure reaches a page: ``shown`` (the formatted text) in an element that says which
    figure it is, ``data-figure="<code>" data-period="YYYY-MM" data-value="<unrounded number>"``, so a
    check can collect every figure of a period from every page and find one shown with two values
    (see :func:`figures_on_page`). Without a ``figure`` only the text is escaped. Every string is
    escaped here; ``cls`` is the element's class."""
    attrs = f' class="{escape(cls)}"' if cls else ""
    if figure is not None:
        attrs += (f' data-figure="{escape(figure.code)}" data-period="{escape(figure.period)}"'
                  f' data-value="{escape(figure_value(figure.value))}"')
    return f"<{tag}{attrs}>{escape(shown)}</{tag}>"


def marked_sentence(template: str, figures: dict[str, tuple[str, Figure]], **values) -> str:
    """A catalogue sentence as HTML: ``template`` (the entry unformatted, with ``{name}`` places) escaped,
    each place named in ``figures`` (name -> (shown text, :class:`Figure`)) filled by :func:`mark`,
    every other from ``values`` escaped."""
    filled = {name: escape(v) for name, v in values.items()}
    filled.update({name: mark(shown, fig) for name, (shown, fig) in figures.items()})
    return escape(template).format(**filled)


@dataclass
class KPI:
    label: str
    value: str
    delta: str = ""
    good: bool | None = None   # colours the delta: True green, False red, None grey
    figure: Figure | None = None   # what the value is, marked on the page (see :func:`mark`)


CARD_KPIS = 4   # a report's card on the month summary shows its first four KPI cards


def card(headline_text: str, kpis: list[KPI]) -> dict:
    """A report's card on the month summary: ``{"headline", "kpis": [{"label", "value", "delta", "figure"}]}``
    from the report's headline and its page's KPI cards (the first :data:`CARD_KPIS`)."""
    return {"headline": headline_text,
            "kpis": [{"label": k.label, "value": k.value, "delta": k.delta, "figure": k.figure} for k in kpis[:CARD_KPIS]]}


CSS = """
<style>
.mk-cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px}
.mk-card{flex:1 1 135px;border:1px solid #d9dee5;border-radius:8px;padding:10px 14px;background:#fbfcfd}
.mk-card .mk-label{font-size:12px;color:#5a6572;text-transform:uppercase;letter-spacing:.02em}
.mk-card .mk-value{font-size:26px;font-weight:600;color:#1f2d3d;margin-top:2px}
.mk-card .mk-delta{font-size:12px;color:#6b7785}
.mk-card .mk-good{color:#2e7d32}.mk-card .mk-bad{color:#c62828}
.mk-headline{font-size:17px;line-height:1.5;border-left:4px solid #1f4e79;padding:6px 12px;margin:8px 0 14px;background:#f4f7fb}
.mk-banner{font-size:16px;font-weight:600;color:#fff;background:#c62828;padding:10px 14px;border-radius:6px;margin:8px 0}
.mk-note{font-size:13px;color:#4a5560;margin:4px 0 12px}
.mk-footer{font-size:12px;color:#5a6572;border-top:1px solid #d9dee5;margin-top:24px;padding-top:8px;line-height:1.6}
.mk-table{max-width:100%;overflow-x:auto;-webkit-overflow-scrolling:touch;margin:4px 0 12px; /* edge shadows say it scrolls */
background:linear-gradient(to right,#fff 30%,rgba(255,255,255,0)) left center/40px 100% no-repeat local,
linear-gradient(to left,#fff 30%,rgba(255,255,255,0)) right center/40px 100% no-repeat local,
radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.25),rgba(0,0,0,0)) left center/14px 100% no-repeat scroll,
radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.25),rgba(0,0,0,0)) right center/14px 100% no-repeat scroll}
.mk-table table{border-collapse:collapse}.mk-table td,.mk-table th{padding:4px 10px;white-space:nowrap}
.mk-table th{white-space:normal;min-width:4em;vertical-align:bottom}
.mk-table td:last-child{white-space:normal;min-width:6em;max-width:32em}
</style>
"""


def kpi_cards_html(kpis: list[KPI]) -> str:
    cards = []
    for k in kpis:
        cls = "" if k.good is None else (" mk-good" if k.good else " mk-bad")
        delta = f'<div class="mk-delta{cls}">{escape(k.delta)}</div>' if k.delta else ""
        cards.append(f'<div class="mk-card"><div class="mk-label">{escape(k.label)}</div>'
                     f'{mark(k.value, k.figure, "div", "mk-value")}{delta}</div>')
    return CSS + '<div class="mk-cards">' + "".join(cards) + "</div>"


def show(html_text: str):
    from IPython.display import HTML, display
    display(HTML(html_text))


def kpi_cards(kpis: list[KPI]):
    show(kpi_cards_html(kpis))


def figure(fig):
    """Show a chart here (not at the end of the cell), so the sentence after it reads as its caption."""
    import matplotlib.pyplot as plt
    from IPython.display import display
    display(fig)
    plt.close(fig)


def headline(sentence: str):
    if not sentence:
        return
    show(CSS + f'<div class="mk-headline">{escape(sentence)}</div>')


def note(sentence: str):
    if not sentence:
        return
    show(f'<div class="mk-note">{escape(sentence)}</div>')


def banner(sentence: str):
    show(CSS + f'<div class="mk-banner">{escape(sentence)}</div>')


def open_period_sentence(p, period: str, as_of) -> str:
    """The sentence saying ``period`` ('YYYY-MM') was still open when the data were extracted on
    ``as_of`` (a date) and which days it covers; '' for a month that had ended."""
    from ..runfile import open_period_days
    days = open_period_days(period, as_of)
    if not days:
        return ""
    return p.text("common.open_period", period=period, first=days[0].isoformat(), last=days[1].isoformat(),
                  as_of=as_of.isoformat())


def open_period(p, ctx):
    """Show, under a report's title, that its month was still open at extraction (see :func:`open_period_sentence`)."""
    banner_text = open_period_sentence(p, ctx.period, ctx.as_of)
    if banner_text:
        banner(banner_text)


def heading(title: str, level: int = 2):
    show(f"<h{level}>{escape(title)}</h{level}>")


def _settings_lines(params: dict, prefix: str = "") -> list[str]:
    """Settings as readable lines, nested keys joined with dots: 'split: mean', 'tier_thresholds.金卡: 2000'."""
    lines = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            lines += _settings_lines(value, name + ".")
        elif isinstance(value, (list, tuple)):
            lines.append(f"{name}: {', '.join(map(str, value)) or DASH}")
        else:
            lines.append(f"{name}: {DASH if value is None or value == {} else value}")
    return lines


def footer(p, period: str, params: dict, fingerprint: str, version: str):
    """The page's signature: period, time of the run, data fingerprint, code version, and the settings."""
    rows = [
        (p.text("common.period"), period),
        (p.text("common.generated"), _dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        (p.text("common.data_fingerprint"), fingerprint[:16]),
        (p.text("common.code_version"), version),
    ]
    body = "<br>".join(f"<b>{escape(k)}</b>: {escape(v)}" for k, v in rows)
    settings = " · ".join(escape(line) for line in _settings_lines(params))
    show(CSS + f'<div class="mk-footer">{body}<br><b>{escape(p.text("common.parameters"))}</b>: {settings}</div>')


def table(df, caption: str | None = None, formats: dict | None = None):
    """Show a frame as a table (see :func:`table_html`)."""
    show(CSS + table_html(df, caption, formats))


_FIGURE = re.compile(r"^[+\-<>≥≤ ]*[^\d\s]{0,3}\d")   # 12.3%, -CN¥1,234, +1.2 pp, < 0.001, £80


def _is_figure_column(values) -> bool:
    shown = [str(v) for v in values if str(v) not in ("", DASH, "nan", "None")]
    return bool(shown) and all(_FIGURE.match(v) for v in shown)


def _table_id(df, caption: str | None) -> str:
    """A short id fixed by the table's caption, headings and cells (pandas would draw a random one)."""
    import hashlib
    content = json.dumps([caption, [str(c) for c in df.columns], df.astype(str).to_numpy().tolist()],
                         ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]


def table_html(df, caption: str | None = None, formats: dict | None = None) -> str:
    """A frame as a plain HTML table without the index; every cell, heading and the caption escaped.

    A frame whose ``attrs["figures"]`` maps (row, column) positions to :class:`Figure` s has those
    cells' text marked by :func:`mark`, like the cards.

    Views hand over frames whose figures are already formatted by the Presentation (one format per
    kind of figure), so a figure reads the same in a table as in a card or a sentence. Columns of
    figures line up on the right, words on the left; a wide table scrolls sideways on a narrow screen.
    The table's HTML ids come from its caption, headings and cells, so the same table is the same HTML
    in every run.
    """
    styler = df.style.set_uuid(_table_id(df, caption)).hide(axis="index").format(escape="html", na_rep=DASH).format_index(escape="html", axis=1)
    right = [j for j, c in enumerate(df.columns)
             if str(df.dtypes.iloc[j]).startswith(("int", "float", "Int", "Float", "uint")) or _is_figure_column(df.iloc[:, j])]
    # By position: headings may repeat across tables, positions do not.
    styler = styler.set_table_styles(
        [{"selector": f"td.col{j}, th.col_heading.col{j}", "props": "text-align: " + ("right" if j in right else "left")}
         for j in range(df.shape[1])], overwrite=False)
    if isinstance(formats, str):  # one format for every numeric column
        formats = {c: formats for c in df.select_dtypes("number").columns}
    if formats:
        styler = styler.format(formats, escape="html", na_rep=DASH)
    if caption:
        styler = styler.set_caption(escape(caption))
    out = styler.to_html()
    for (i, j), fig in sorted((df.attrs.get("figures") or {}).items()):
        cell = re.compile(rf'(<td id="T_{_table_id(df, caption)}_row{i}_col{j}"[^>]*>)(.*?)(</td>)', re.S)
        out = cell.sub(lambda m: m.group(1) + mark(str(df.iat[i, j]), fig) + m.group(3), out, count=1)
    return f'<div class="mk-table">{out}</div>'


# ----------------------------------------------------------------- the whole page
class _Text(HTMLParser):
    """Collects the text a reader sees (not styles, scripts or attribute values such as images)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The text of an HTML page as a reader sees it, entities decoded."""
    parser = _Text()
    parser.feed(page)
    parser.close()
    return "".join(parser.parts)


class _Figures(HTMLParser):
    """Collects every element marked by :func:`mark` with the text shown inside it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[dict] = []
        self._open: list[tuple[str, dict | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        item = None
        if "data-figure" in a:
            item = {"code": a["data-figure"], "period": a.get("data-period") or "",
                    "value": a.get("data-value") or "", "shown": ""}
            self.found.append(item)
        self._open.append((tag, item))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for _, item in self._open:
            if item is not None:
                item["shown"] += data


def figures_on_page(page: str) -> list[dict]:
    """Every figure an HTML page marks (:func:`mark`), in page order: ``[{"code", "period", "value",
    "shown"}]``, all text (``value`` as written in ``data-value``, '' for a missing figure; ``shown``
    the text a reader sees in the element, entities decoded)."""
    parser = _Figures()
    parser.feed(page)
    parser.close()
    return parser.found


def _same_value(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y))   # one computation's float and another's, to 9 digits


def figure_contradictions(pages: dict[str, str]) -> list[str]:
    """Every (figure code, period) that the HTML ``pages`` (name -> HTML) show with two different values,
    one line each naming the values and the pages that show them; [] when every figure has one value.

    Values are compared as numbers to nine significant digits (the same figure computed by two
    summations may differ in the last bit of a float), a missing value ('') against a number is a
    contradiction. Raises nothing; a page without marked figures adds nothing."""
    seen: dict[tuple[str, str], dict[str, list[str]]] = {}
    for name, page in pages.items():
        for f in figures_on_page(page):
            values = seen.setdefault((f["code"], f["period"]), {})
            match = next((v for v in values if _same_value(v, f["value"])), f["value"])
            values.setdefault(match, [])
            if name not in values[match]:
                values[match].append(name)
    return [f"{code} {period}: " + "; ".join(f"{v or 'missing'} on {', '.join(names)}" for v, names in values.items())
            for (code, period), values in sorted(seen.items()) if len(values) > 1]


def embed_fonts(page: str) -> str:
    """``page`` with the kit's CJK font embedded (subset to its characters) just before ``</head>``."""
    from .fonts import font_face_css
    css = font_face_css(visible_text(page))
    return page.replace("</head>", css + "</head>", 1) if css else page


def html_lang(language: str) -> str:
    """The ``lang`` attribute of a page: ``zh-CN`` (Simplified Chinese glyph forms) or ``en``."""
    return "zh-CN" if language == "zh" else "en"
