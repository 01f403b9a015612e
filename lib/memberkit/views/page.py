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


@dataclass
class KPI:
    label: str
    value: str
    delta: str = ""
    good: bool | None = None   # colours the delta: True green, False red, None grey


CARD_KPIS = 4   # a report's card on the month summary shows its first four KPI cards


def card(headline_text: str, kpis: list[KPI]) -> dict:
    """A report's card on the month summary: ``{"headline", "kpis": [{"label", "value", "delta"}]}``
    from the report's headline and its page's KPI cards (the first :data:`CARD_KPIS`)."""
    return {"headline": headline_text,
            "kpis": [{"label": k.label, "value": k.value, "delta": k.delta} for k in kpis[:CARD_KPIS]]}


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
                     f'<div class="mk-value">{escape(k.value)}</div>{delta}</div>')
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


def where_results_sentence(p, ctx) -> str:
    """For a notebook run by hand, where its results go and that the published month is unchanged
    (``outputs/scratch/<period>/``), or the folder named in ``output_dir``; '' for the runner's run."""
    if not getattr(ctx, "by_hand", False):
        return ""
    if ctx.scratch:
        return p.text("common.where_scratch", folder=_folder(ctx, ctx.output_dir),
                      published=_folder(ctx, ctx.published_dir))
    return p.text("common.where_named", folder=_folder(ctx, ctx.output_dir))


def _folder(ctx, folder) -> str:
    """A folder as an analyst finds it: relative to the project (``outputs/scratch/2026-10/``) when inside it."""
    return f"{folder.relative_to(ctx.root)}/" if folder.is_relative_to(ctx.root) else f"{folder}/"


def where_results(p, ctx):
    """Show, at the top of a notebook run by hand, where its results go (:func:`where_results_sentence`)."""
    note(where_results_sentence(p, ctx))


def vs_published_frame(p, kpis, results: dict, published: dict):
    """This run's key figures beside the published run's of the same month: a frame of figure, this run,
    published (display text from the report's own ``kpis(p, results)``, matched by label), and how many differ."""
    import pandas as pd
    before = {k.label: k.value for k in kpis(p, published)}
    rows = [(k.label, k.value, before[k.label]) for k in kpis(p, results) if k.label in before]
    frame = pd.DataFrame(rows, columns=[p.text("common.col_figure"), p.text("common.col_this_run"),
                                        p.text("common.col_published")])
    return frame, sum(a != b for _, a, b in rows)


def vs_published(p, ctx, kpis, results: dict):
    """In a scratch run (:attr:`memberkit.notebook.Context.scratch`), the change against the published run of
    the same month (``<ctx.published_dir>/<name>.json``): a table of this report's key figures in both, or a
    note that the month is not published.
    ``kpis`` is the report view's ``kpis(p, results)``; nothing is shown in any other run."""
    from ..report import load_results
    if not getattr(ctx, "scratch", False):
        return
    published = load_results(ctx.published_dir, results["name"])
    folder = _folder(ctx, ctx.published_dir)
    if not published:
        note(p.text("common.no_published", period=ctx.period, published=folder))
        return
    frame, changed = vs_published_frame(p, kpis, results, published)
    heading(p.text("common.vs_published_title", period=ctx.period), 3)
    table(frame)
    note(p.text("common.vs_published_note", changed=p.count(changed), total=p.count(len(frame)), published=folder))


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
    return f'<div class="mk-table">{styler.to_html()}</div>'


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


def embed_fonts(page: str) -> str:
    """``page`` with the kit's CJK font embedded (subset to its characters) just before ``</head>``."""
    from .fonts import font_face_css
    css = font_face_css(visible_text(page))
    return page.replace("</head>", css + "</head>", 1) if css else page


def html_lang(language: str) -> str:
    """The ``lang`` attribute of a page: ``zh-CN`` (Simplified Chinese glyph forms) or ``en``."""
    return "zh-CN" if language == "zh" else "en"
