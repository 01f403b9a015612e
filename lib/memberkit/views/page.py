"""The blocks of a report page: KPI cards, headline, notes, banner, tables, charts, footer.

Every block is HTML made here, and every string in it passes :func:`escape` once, here.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from dataclasses import dataclass


def escape(value) -> str:
    """Text made safe for HTML: ``<``, ``>``, ``&`` and both quotes as entities."""
    return html.escape(str(value))


@dataclass
class KPI:
    label: str
    value: str
    delta: str = ""
    good: bool | None = None   # colours the delta: True green, False red, None grey


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
.mk-footer{font-size:11px;color:#7a8591;border-top:1px solid #d9dee5;margin-top:24px;padding-top:8px}
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


def heading(title: str, level: int = 2):
    show(f"<h{level}>{escape(title)}</h{level}>")


def footer(p, period: str, params: dict, fingerprint: str, version: str):
    """The page's signature: period, time of the run, data fingerprint, code version, parameters."""
    rows = [
        (p.text("common.period"), period),
        (p.text("common.generated"), _dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        (p.text("common.data_fingerprint"), fingerprint[:16]),
        (p.text("common.code_version"), version),
        (p.text("common.parameters"), json.dumps(params, ensure_ascii=False, default=str)),
    ]
    body = "<br>".join(f"<b>{escape(k)}</b>: {escape(v)}" for k, v in rows)
    show(CSS + f'<div class="mk-footer">{body}</div>')


def table(df, caption: str | None = None, formats: dict | None = None):
    """A frame as a plain HTML table without the index."""
    styler = df.style.hide(axis="index")
    numeric = [str(dt).startswith(("int", "float", "Int", "Float", "uint")) for dt in df.dtypes]
    # Words read from the left, numbers line up on the right (by position: headings may repeat).
    styler = styler.set_table_styles([{"selector": f"td.col{j}, th.col_heading.col{j}", "props": "text-align: left"}
                                      for j, is_number in enumerate(numeric) if not is_number], overwrite=False)
    if isinstance(formats, str):  # one format for every numeric column
        formats = {c: formats for c in df.select_dtypes("number").columns}
    if formats:
        styler = styler.format(formats)
    if caption:
        styler = styler.set_caption(caption)
    show(styler.to_html())
