"""What every report looks like: words, number formats, theme, KPI cards, footer, results.

All text a report shows comes from ``locale/<language>.yaml`` through :func:`text`, and all
numbers through the formatters here, so a Chinese edition is a change of one parameter.
A notebook records its headline, KPIs and key results with :class:`Results`; the runner
and the index page read the JSON it writes.

Example
-------
>>> text("data_cleaning.title", "en")
'Data cleaning'
>>> fmt_pct(0.1234)
'12.3%'
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

PALETTE = ["#1f4e79", "#c0504d", "#4f9a94", "#e8a33d", "#7f6aa3", "#8c8c8c", "#5b9bd5", "#a5a5a5"]


# ----------------------------------------------------------------- words
@lru_cache(maxsize=4)
def _catalogue(language: str) -> dict:
    return yaml.safe_load(files("memberkit").joinpath(f"locale/{language}.yaml").read_text(encoding="utf-8"))


def text(key: str, language: str = "en", **values) -> str:
    """The sentence or label ``key`` ("section.name") in ``language``, with ``values`` filled in."""
    node: Any = _catalogue(language)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            if language != "en":
                return text(key, "en", **values)
            raise KeyError(f"no text for {key!r}")
        node = node[part]
    return str(node).format(**values) if values else str(node)


# ----------------------------------------------------------------- numbers
def missing(x) -> bool:
    """No number to show: None, NaN or infinite (an interval without an upper end)."""
    try:
        return x is None or not math.isfinite(x)
    except TypeError:
        return False


def plain(x):
    """A scalar ready for JSON: numpy scalars as Python numbers, missing numbers as null."""
    x = x.item() if hasattr(x, "item") else x
    return None if isinstance(x, float) and missing(x) else x


def fmt_int(x) -> str:
    return "–" if missing(x) else f"{int(round(x)):,}"


def fmt_pct(x, digits: int = 1) -> str:
    return "–" if missing(x) else f"{x * 100:.{digits}f}%"


def fmt_signed_pct(x, digits: int = 1) -> str:
    """A change in percent with its sign: +16.9%, -63%.

    >>> fmt_signed_pct(0.1687), fmt_signed_pct(-0.634, 0), fmt_signed_pct(float("inf"))
    ('+16.9%', '-63%', '–')
    """
    return "–" if missing(x) else f"{x:+.{digits}%}"


def fmt_money(x, currency: str = "CNY", digits: int = 0) -> str:
    """Money with its symbol; a loss reads -¥25,466.

    >>> fmt_money(-25466.4), fmt_money(1234.5, "USD", 1)
    ('-¥25,466', '$1,234.5')
    """
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€"}.get(currency, currency + " ")
    if missing(x):
        return "–"
    return f"{'-' if x < 0 else ''}{symbol}{abs(x):,.{digits}f}"


def fmt_delta(current, previous, kind: str = "int") -> str:
    """'+12 (+3.4%)' style change against an earlier value; '' when there is none."""
    if previous is None or current is None:
        return ""
    diff = current - previous
    if kind == "pct":
        return f"{diff * 100:+.1f} pp"
    rel = f" ({diff / previous:+.1%})" if previous else ""
    return f"{diff:+,.0f}{rel}"


# ----------------------------------------------------------------- theme
def apply_theme(language: str = "en") -> None:
    """One chart style for every report; CJK-capable fonts first so Chinese labels render."""
    import matplotlib
    import seaborn as sns
    from matplotlib import font_manager
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    available = {f.name for f in font_manager.fontManager.ttflist}
    preferred = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "SimHei", "PingFang SC"]
    cjk = [f for f in preferred if f in available] + sorted(f for f in available if "CJK" in f)
    matplotlib.rcParams["font.sans-serif"] = cjk + ["DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["figure.dpi"] = 100
    matplotlib.rcParams["savefig.bbox"] = "tight"


def has_cjk_font() -> bool:
    from matplotlib import font_manager
    return any("CJK" in f.name or f.name in ("WenQuanYi Zen Hei", "SimHei") for f in font_manager.fontManager.ttflist)


# ----------------------------------------------------------------- blocks
@dataclass
class KPI:
    label: str
    value: str
    delta: str = ""
    good: bool | None = None   # colours the delta: True green, False red, None grey


_CSS = """
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
        delta = f'<div class="mk-delta{cls}">{html.escape(k.delta)}</div>' if k.delta else ""
        cards.append(f'<div class="mk-card"><div class="mk-label">{html.escape(k.label)}</div>'
                     f'<div class="mk-value">{html.escape(k.value)}</div>{delta}</div>')
    return _CSS + '<div class="mk-cards">' + "".join(cards) + "</div>"


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
    show(_CSS + f'<div class="mk-headline">{html.escape(sentence)}</div>')


def note(sentence: str):
    if not sentence:
        return
    show(f'<div class="mk-note">{html.escape(sentence)}</div>')


def banner(sentence: str):
    show(_CSS + f'<div class="mk-banner">{html.escape(sentence)}</div>')


def footer(language: str, period: str, params: dict, fingerprint: str, version: str):
    rows = [
        (text("common.period", language), period),
        (text("common.generated", language), _dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        (text("common.data_fingerprint", language), fingerprint[:16]),
        (text("common.code_version", language), version),
        (text("common.parameters", language), json.dumps(params, ensure_ascii=False, default=str)),
    ]
    body = "<br>".join(f"<b>{html.escape(k)}</b>: {html.escape(str(v))}" for k, v in rows)
    show(_CSS + f'<div class="mk-footer">{body}</div>')


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


# ----------------------------------------------------------------- results
class Results:
    """What a report concluded, machine-readable: the contract the index and other reports read.

    Example
    -------
    >>> r = Results("data_cleaning", period="2026-10", language="en")
    >>> r.kpi("rows_read", 100, "Rows read", "100")
    >>> r.to_dict()["kpis"]["rows_read"]["value"]
    100
    """

    def __init__(self, name: str, period: str, language: str):
        self.name, self.period, self.language = name, period, language
        self.title = ""
        self.headline_text = ""
        self.kpis: dict[str, dict] = {}
        self.key_results: dict[str, Any] = {}

    def kpi(self, key: str, value, label: str, display: str, delta: str = ""):
        self.kpis[key] = {"value": value, "label": label, "display": display, "delta": delta}

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "period": self.period, "language": self.language,
                "headline": self.headline_text, "kpis": self.kpis, "results": self.key_results}

    def save(self, out_dir: str | Path) -> Path:
        path = Path(out_dir) / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1, default=_jsonable),
                        encoding="utf-8")
        return path


def _jsonable(x):
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, (_dt.date, _dt.datetime)):
        return x.isoformat()
    return str(x)


def load_results(out_dir: str | Path, name: str) -> dict | None:
    path = Path(out_dir) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def heading(title: str, level: int = 2):
    show(f"<h{level}>{html.escape(title)}</h{level}>")
