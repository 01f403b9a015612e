"""The blocks of a report page: KPI cards, headline, notes, banner, tables, charts, footer.

Every block is HTML made here, and every string in it passes :func:`escape` once, here.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from markupsafe import Markup

from .context import DASH


def escape(value) -> str:
    """Text made safe for HTML: ``<``, ``>``, ``&`` and both quotes as entities. HTML already made here
    (a ``markupsafe.Markup``, e.g. :meth:`FigureMarks.html`'s sentence with its marked figures) passes as it is."""
    if isinstance(value, Markup):
        return str(value)
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


_COUNTED = re.compile(r"^([-+\u2212]?\d[\d,.]*) (\D+)$")   # '6,571 members', '1 experiment', '139,472 行'


def value_and_noun(shown: str):
    """A count and its noun as :meth:`~memberkit.views.context.Presentation.count_of` words it ('6,571 members'):
    the match (group 1 the number, 2 the noun), or None for any other text."""
    return _COUNTED.match(shown)


def value_width(shown: str) -> float:
    """How wide a card's value is, in characters: a count and its noun ('6,571 members') is read as one and kept
    on one line, all of it; other text wraps at its spaces, so its longest word."""
    if value_and_noun(shown):
        return len(shown)
    return max(map(len, shown.split()), default=1)


def marked_sentence(template: str, figures: dict[str, tuple[str, Figure]], **values) -> str:
    """A catalogue sentence as HTML: ``template`` (the entry unformatted, with ``{name}`` places) escaped,
    each place named in ``figures`` (name -> (shown text, :class:`Figure`)) filled by :func:`mark`,
    every other from ``values`` escaped."""
    filled = {name: escape(v) for name, v in values.items()}
    filled.update({name: mark(shown, fig) for name, (shown, fig) in figures.items()})
    return escape(template).format(**filled)


class FigureMarks:
    """The figures of a sentence put together from several catalogue entries, each to be marked by :func:`mark`
    (``data-figure``, ``data-period``, ``data-value``) once the sentence is whole: :meth:`value` stands in for a
    figure's shown text with a private-use token, :meth:`html` escapes the whole sentence and puts each marked
    figure in its token's place. ``period``: the figures' period ('YYYY-MM')."""

    def __init__(self, period: str):
        self.period = period
        self._figures: list[tuple[str, Figure]] = []

    def value(self, shown: str, code: str, value) -> str:
        """A token for ``shown``, the figure ``code`` of this period with its unrounded ``value``."""
        self._figures.append((shown, Figure(code, self.period, value)))
        return f"\ue000{len(self._figures) - 1}\ue001"

    def html(self, sentence: str) -> Markup:
        """``sentence`` as HTML: escaped, each token replaced by its figure (:func:`mark`)."""
        return Markup(re.sub("\ue000(\\d+)\ue001", lambda m: mark(*self._figures[int(m.group(1))]), escape(sentence)))

    def text(self, sentence: str) -> str:
        """``sentence`` as plain text: each token replaced by its figure's shown text."""
        return re.sub("\ue000(\\d+)\ue001", lambda m: self._figures[int(m.group(1))][0], sentence)


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
.mk-card{flex:1 1 135px;border:1px solid #d9dee5;border-radius:8px;padding:10px 14px;background:#fbfcfd;
container-type:inline-size;min-width:0}
/* from a tablet's width (and on A4) the cards fill rows of equal count (card_columns: six are 3 + 3, not 5 + 1) */
@media (min-width:601px){.mk-cards{display:grid;grid-template-columns:repeat(var(--mk-per-row,4),minmax(0,1fr))}}
.mk-card .mk-label{font-size:12px;color:#5a6572;text-transform:uppercase;letter-spacing:.02em}
/* a value stays on one line inside its card ('12,923 members', 'CN¥1,708,240' on A4): set smaller when its
   characters (--mk-chars, a wide one counted twice: card_value_width) would not fit the card at 26 px */
.mk-card .mk-value{font-size:clamp(13px,calc(100cqi / (var(--mk-chars,8) * 0.62)),26px);font-weight:600;
color:#1f2d3d;margin-top:2px;white-space:nowrap}
.mk-card .mk-delta{font-size:12px;color:#6b7785}
.mk-card .mk-good{color:#2e7d32}.mk-card .mk-bad{color:#c62828}
.mk-headline{font-size:17px;line-height:1.5;border-left:4px solid #1f4e79;padding:6px 12px;margin:8px 0 14px;background:#f4f7fb}
.mk-points{font-size:14px;line-height:1.45;color:#2f3b48;margin:-8px 0 14px;padding-left:22px}.mk-points li{margin:3px 0}
.mk-banner{font-size:16px;font-weight:600;color:#fff;background:#c62828;padding:10px 14px;border-radius:6px;margin:8px 0}
.mk-note{font-size:13px;color:#4a5560;margin:4px 0 12px}
.mk-analysts{font-size:12px;color:#6b7785;border-left:2px solid #d9dee5;padding-left:8px;margin:-6px 0 12px}
.mk-footer{font-size:12px;color:#5a6572;border-top:1px solid #d9dee5;margin-top:24px;padding-top:8px;line-height:1.6}
details.mk-analysts{margin:4px 0 12px}details.mk-analysts summary{cursor:pointer}.mk-footer details.mk-settings{overflow-wrap:anywhere}
.mk-table{max-width:100%;overflow-x:auto;-webkit-overflow-scrolling:touch;margin:4px 0 12px; /* edge shadows say it scrolls */
background:linear-gradient(to right,#fff 30%,rgba(255,255,255,0)) left center/40px 100% no-repeat local,
linear-gradient(to left,#fff 30%,rgba(255,255,255,0)) right center/40px 100% no-repeat local,
radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.25),rgba(0,0,0,0)) left center/14px 100% no-repeat scroll,
radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.25),rgba(0,0,0,0)) right center/14px 100% no-repeat scroll}
.mk-table table{border-collapse:collapse}.mk-table td,.mk-table th{padding:4px 10px;white-space:nowrap}
.mk-table th{white-space:normal;min-width:4em;vertical-align:bottom}
/* a Chinese heading breaks between words, never inside one ('销售额占 / 比' at 1280 px); a word wider than its
   column still breaks (break-word), and a phone's stacked tables hide their headings */
@media screen and (min-width:601px){.mk-table th:lang(zh){word-break:keep-all;overflow-wrap:break-word}}
.mk-table td:last-child{white-space:normal;min-width:6em;max-width:32em}
/* decision first: the row's name and its decision stay in view while the other columns scroll */
.mk-table table.mk-key td:first-child,.mk-table table.mk-key th:first-child{position:sticky;left:0;z-index:1;background:#fff;
box-sizing:border-box;width:10em;min-width:10em;max-width:10em;white-space:normal}
.mk-table table.mk-key2 td:nth-child(2),.mk-table table.mk-key2 th:nth-child(2){position:sticky;left:10em;z-index:1;
background:#fff;white-space:normal;min-width:6em;max-width:10em;box-shadow:inset -1px 0 0 #d9dee5}
/* a table whose cells hold their own line breaks (a figure over its interval) breaks there, and only there */
.mk-table table.mk-lines td:not(:first-child){white-space:pre}.mk-table table.mk-lines td,.mk-table table.mk-lines th{padding:4px 7px}
/* its last column, words, wraps too (as in every table): kept on one line it pushed the table past its box */
.mk-table table.mk-lines td:last-child{white-space:pre-line}
.mk-chart{overflow-x:auto;margin:4px 0 8px}.mk-chart svg{display:block;height:auto}
/* what paper shows instead of a table's columns it leaves out (printed_without) */
.mk-print-only{display:none}@media print{.mk-print-only{display:block}.mk-screen-only{display:none!important}}
/* on a phone a table of four or more columns becomes a list: one block per row, the row's name first,
   then each cell under its heading; the headings stay in the page for screen readers */
@media (max-width:600px){
.mk-table:has(table.mk-stack){position:relative;background:none;overflow-x:visible}
.mk-table table.mk-stack,.mk-table table.mk-stack tbody,.mk-table table.mk-stack tr,.mk-table table.mk-stack td{display:block;width:auto}
.mk-table table.mk-stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.mk-table table.mk-stack tr{border-top:1px solid #d9dee5;padding:6px 0}
.mk-table table.mk-stack caption{display:block;text-align:left}
.mk-table table.mk-stack td{white-space:normal!important;text-align:left!important;padding:1px 4px;position:static!important;
width:auto!important;min-width:0!important;max-width:none!important;box-shadow:none!important;background:none}
.mk-table table.mk-stack td::before{content:attr(data-label) ": ";color:#5a6572}
.mk-table table.mk-stack td:not([data-label]):not(:first-child){display:none}
.mk-table table.mk-stack td:lang(zh)::before{content:attr(data-label) "："}
.mk-table table.mk-stack td:first-child{font-weight:600}.mk-table table.mk-stack td:first-child::before{content:none}
}
</style>
"""


CARDS_PER_ROW = 5   # the most key-figure cards a row holds from 601 px up (at 1280 px: about 200 px each)


def card_columns(n: int, most: int = CARDS_PER_ROW) -> int:
    """How many of ``n`` key-figure cards go to a row so that the rows hold as many as they can and differ by one
    at most: the fewest rows of ``most`` cards or fewer, the cards shared out over them (6 -> 3 + 3, 7 -> 4 + 3,
    9 -> 5 + 4; one row up to ``most``). Raises ValueError when ``most`` is under 1."""
    if most < 1:
        raise ValueError(f"at least one card to a row, not {most}")
    if n <= most:
        return max(n, 1)
    rows = -(-n // most)
    return -(-n // rows)


def card_value_width(text: str) -> int:
    """How many narrow characters a card's value takes: a wide (CJK) character counts as two, so the card's
    type size (CSS ``--mk-chars``) keeps '¥1,708,240' or '6,571 名会员' on one line inside its card."""
    import unicodedata
    return max(1, sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text))


def kpi_cards_html(kpis: list[KPI]) -> str:
    """The key-figure cards: label, value (marked, :func:`mark`) and its change, coloured good or bad; the
    cards shared over rows of equal count (:func:`card_columns`) from 601 px up, two or more a row on a phone."""
    cards = []
    for k in kpis:
        cls = "" if k.good is None else (" mk-good" if k.good else " mk-bad")
        delta = f'<div class="mk-delta{cls}">{escape(k.delta)}</div>' if k.delta else ""
        cards.append(f'<div class="mk-card" style="--mk-chars:{card_value_width(k.value)}">'
                     f'<div class="mk-label">{escape(k.label)}</div>'
                     f'{mark(k.value, k.figure, "div", "mk-value")}{delta}</div>')
    return CSS + f'<div class="mk-cards" style="--mk-per-row:{card_columns(len(kpis))}">' + "".join(cards) + "</div>"


def show(html_text: str):
    from IPython.display import HTML, display
    display(HTML(html_text))


def kpi_cards(kpis: list[KPI]):
    show(kpi_cards_html(kpis))


def figure(fig, alt: str | None = None):
    """Show a chart here (not at the end of the cell), so the sentence after it reads as its caption.

    The chart is drawn as SVG sized to the screen with its description (see :func:`chart_html`).
    """
    import matplotlib.pyplot as plt
    try:
        show(CSS + chart_html(fig, alt))
    finally:
        plt.close(fig)


# ----------------------------------------------------------------- charts
MIN_CHART_TEXT_PX = 10   # the smallest chart text on any screen, in CSS px (at 9 a digit is under 7 px tall)
PHONE_CHART_PX = 380     # the width a 420 px screen leaves a chart beside the page's margins (and a scroll bar), in CSS px
NARROWEST_FIGURE_IN = 3.5   # a chart is not narrowed below this to fit a phone
ALT = "memberkit_alt"    # the attribute a view sets on a figure to describe it (theme.describe)
# On A4 paper (269 mm of page height inside the margins) a chart is never cut across two pages: a chart
# wider than tall is at most PRINT_WIDE_MM high, so it fits beside the cards or a table on a page;
# a taller one (stacked panels, the migration map) at most PRINT_TALL_MM, a page less room for its heading
PRINT_WIDE_MM = 115
PRINT_TALL_MM = 235


def chart_words(fig) -> str:
    """What a chart says in its own words: titles, axis labels and legend entries, once each, in
    order (the description of a chart whose view gave none)."""
    words = [fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""]
    for ax in fig.axes:
        words += [ax.get_title(loc) for loc in ("left", "center", "right")] + [ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        words += [t.get_text() for t in legend.get_texts()] if legend else []
    for legend in fig.legends:
        words += [t.get_text() for t in legend.get_texts()]
    seen = []
    for w in (w.strip() for w in words):
        if w and w not in seen:
            seen.append(w)
    return " · ".join(seen)


def chart_description(fig, language: str | None = None) -> str:
    """What a chart shows, in words and its own numbers (its description when its view gave none): per
    panel its title, then for bars each category with its value (the label drawn on the bar when there is
    one, else the value as its axis writes it; one list per series), for a histogram how many it counts
    and where most of them are, for a line its first and last value and its lowest and highest, for a
    heat map its lowest and highest cell, for labelled points their labels. Joined by " · "; falls back to
    :func:`chart_words` when the chart holds none of these. ``language``: the page's (default: the one
    :func:`memberkit.views.theme.apply_theme` set), for the few connecting words (catalogue ``chart``)."""
    from .theme import chart_language
    language = language or chart_language()
    parts = [fig._suptitle.get_text().strip()] if getattr(fig, "_suptitle", None) and fig._suptitle.get_text().strip() else []
    said = False
    for ax in fig.axes:
        if not ax.get_visible() or (not ax.axison and not ax.has_data() and not ax.texts):
            continue
        said = said or bool(_axes_facts(ax, language))
        part = panel_description(ax, language)
        if part:
            parts.append(part)
    return " · ".join(parts) if said else chart_words(fig)


def panel_description(ax, language: str) -> str:
    """One panel of a chart in words, as :func:`chart_description` says each: its title, then what it shows
    with its numbers; for a view that describes its chart itself and keeps one panel's generic words."""
    title = next((t for t in (ax.get_title(loc).strip() for loc in ("left", "center", "right")) if t), "")
    facts = _axes_facts(ax, language)
    return f"{title}{'：' if language == 'zh' else ': '}{facts}" if title and facts else title or facts


def _axis_text(axis, v) -> str:
    """``v`` as ``axis`` writes its ticks when it has a formatter of its own (percent, money, months),
    else as a plain number (thousands separated, two decimals at most)."""
    from matplotlib.dates import AutoDateFormatter, ConciseDateFormatter, DateFormatter
    from matplotlib.ticker import FixedFormatter, FuncFormatter, PercentFormatter, StrMethodFormatter
    v = 0.0 if abs(float(v)) < 1e-12 else float(v)     # no '-0%'
    f = axis.get_major_formatter()
    if isinstance(f, (FuncFormatter, PercentFormatter, StrMethodFormatter, DateFormatter, AutoDateFormatter,
                      ConciseDateFormatter)):
        try:
            return str(f(v, 0)).strip()
        except (ValueError, TypeError, OverflowError):
            pass
    if isinstance(f, FixedFormatter):
        ticks = list(axis.get_majorticklocs())
        labels = [t.get_text() for t in axis.get_ticklabels()]
        for at, label in zip(ticks, labels):
            if abs(at - v) < 1e-9 and label:
                return label
        return ""
    return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")


def _category(axis, at: float) -> str:
    """The tick label nearest ``at`` on a categorical axis (within half a step), else ''."""
    ticks = list(axis.get_majorticklocs())
    labels = [t.get_text().replace("\n", " ").strip() for t in axis.get_ticklabels()]
    if not ticks or not any(labels):
        return ""
    i = min(range(len(ticks)), key=lambda k: abs(ticks[k] - at))
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:]) if b != a), default=1.0)
    return labels[i] if i < len(labels) and abs(ticks[i] - at) <= step / 2 + 1e-9 else ""


def _axis_name(axis) -> str:
    """An axis's label without its parenthesis ('R score (5 = most recent)' -> 'R score'), to name a heat map's
    cell by its row and column ('R score 4, F score 1', not '(4, 1)'); '' without a label."""
    return re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", " ".join(axis.get_label_text().split()))


def _listed(items: list[str], language: str, most: int = 12) -> str:
    from .context import text
    shown = items[:most]
    sep = "，" if language == "zh" else ", "
    more = [text("chart.more", language, n=len(items) - most)] if len(items) > most else []
    return sep.join(shown + more)


def _intervals(ax, language: str) -> list[str]:
    """Estimates with their intervals (a point and a horizontal segment at the same height: the forest
    plots): each category with its value and interval, top first."""
    import numpy as np
    from .context import text
    points, segments = {}, {}
    for line in ax.get_lines():
        x, y = np.asarray(line.get_xydata(), dtype=float).T
        if len(x) == 1 and np.isfinite(x[0]):
            points[round(float(y[0]), 9)] = float(x[0])
        elif len(x) == 2 and y[0] == y[1] and x[0] != x[1] and np.isfinite(x).all():
            segments[round(float(y[0]), 9)] = sorted(map(float, x))
    items = [text("chart.interval", language, name=_category(ax.yaxis, at), value=_axis_text(ax.xaxis, v),
                  low=_axis_text(ax.xaxis, segments[at][0]), high=_axis_text(ax.xaxis, segments[at][1])).strip()
             for at, v in sorted(points.items(), key=lambda kv: -kv[0]) if at in segments]
    return [_listed(items, language)] if items else []


def _axes_facts(ax, language: str) -> str:
    """The numbers one panel shows, in words (see :func:`chart_description`); '' when it shows none."""
    import numpy as np
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.container import BarContainer
    from matplotlib.patches import Polygon
    from .context import text
    facts = []
    bars = [c for c in ax.containers if isinstance(c, BarContainer) and len(c.patches)]
    for c in bars:
        horizontal = getattr(c, "orientation", "vertical") == "horizontal"
        value_axis, category_axis = (ax.xaxis, ax.yaxis) if horizontal else (ax.yaxis, ax.xaxis)
        widths = {round(r.get_width(), 9) for r in c.patches}
        if len(c.patches) >= 15 and len(widths) == 1 and not horizontal:
            patches = list(c.patches)
            heights = np.array([r.get_height() for r in patches])   # a histogram: how many, and where most are
            top = int(np.argmax(heights))
            low, high = patches[top].get_x(), patches[top].get_x() + patches[top].get_width()
            facts.append(text("chart.histogram", language, count=_axis_text(ax.yaxis, float(heights.sum())),
                              top=_axis_text(ax.yaxis, float(heights[top])), low=_axis_text(ax.xaxis, low),
                              high=_axis_text(ax.xaxis, high), min=_axis_text(ax.xaxis, patches[0].get_x()),
                              max=_axis_text(ax.xaxis, patches[-1].get_x() + patches[-1].get_width())))
            continue
        items = []
        drawn_bars = [r for r in c.patches if r.get_width() and r.get_height()]
        # top to bottom as the reader sees them (horizontal bars), left to right otherwise
        drawn_bars.sort(key=lambda r: -(r.get_y() + r.get_height() / 2) if horizontal else r.get_x())
        for r in drawn_bars:
            at = r.get_y() + r.get_height() / 2 if horizontal else r.get_x() + r.get_width() / 2
            value = r.get_width() if horizontal else r.get_height()
            start = r.get_x() if horizontal else r.get_y()
            end = start + value
            half = (r.get_height() if horizontal else r.get_width()) / 2
            span = abs(value) * 0.5 + 1e-9
            # the label drawn at this bar's end (or in it), not one that belongs to a bar stacked on it
            drawn = [t for t in ax.texts if t.get_text().strip()
                     and abs((t.get_position()[1] if horizontal else t.get_position()[0]) - at) <= half + 1e-9
                     and min(start, end) - span <= (t.get_position()[0] if horizontal else t.get_position()[1])
                     <= max(start, end) + span]
            drawn.sort(key=lambda t: abs((t.get_position()[0] if horizontal else t.get_position()[1]) - end))
            shown = " ".join(drawn[0].get_text().split()) if drawn else _axis_text(value_axis, value)
            name = _category(category_axis, at)
            if not name and horizontal:   # a name drawn just above its bar, at its start (the migration's flows)
                above = [t for t in ax.texts if t.get_text().strip() and t not in drawn
                         and abs(t.get_position()[0] - start) < 1e-9 and 0 < t.get_position()[1] - at <= 0.5]
                name = " ".join(above[0].get_text().split()) if above else ""
            items.append(f"{name} {shown}".strip())
        if items:
            label = c.get_label()
            series = "" if not label or label.startswith("_") else label
            listed = _listed(items, language)
            facts.append(text("chart.series", language, name=series, items=listed) if series else listed)
    facts += _intervals(ax, language)
    for line in ax.get_lines():
        x, y = np.asarray(line.get_xydata(), dtype=float).T     # dates as matplotlib's day numbers
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(y) < 3 or np.ptp(x) == 0:     # reference lines (a marker of the holdout's start, a diagonal) say nothing
            continue
        label = line.get_label()
        name = "" if not label or label.startswith("_") else label
        lo, hi = int(np.argmin(y)), int(np.argmax(y))
        at = lambda i: _axis_text(ax.xaxis, x[i])   # noqa: E731
        facts.append(text("chart.line", language, name=name, first=_axis_text(ax.yaxis, y[0]), first_at=at(0),
                          last=_axis_text(ax.yaxis, y[-1]), last_at=at(-1), low=_axis_text(ax.yaxis, y[lo]), low_at=at(lo),
                          high=_axis_text(ax.yaxis, y[hi]), high_at=at(hi)).replace(" ()", "").replace("（）", "").strip())
    for mesh in (c for c in ax.collections if isinstance(c, QuadMesh)):
        values = np.ma.masked_invalid(np.asarray(mesh.get_array(), dtype=float))
        rows, cols = len(ax.get_yticks()), len(ax.get_xticks())
        if values.count() == 0 or not rows or not cols or values.size % cols:
            continue
        grid = values.reshape(values.size // cols, cols) if values.ndim == 1 else values
        def cell(i):
            r, k = divmod(int(i), grid.shape[1])
            drawn = [t.get_text() for t in ax.texts if abs(t.get_position()[0] - (k + 0.5)) < 0.5
                     and abs(t.get_position()[1] - (r + 0.5)) < 0.5 and t.get_text().strip()]
            v = float(grid.flat[int(i)])
            shown = " ".join(drawn[0].split()) if drawn else (f"{v:.0%}" if 0 <= float(grid.min()) and float(grid.max()) <= 1 else f"{v:,.0f}")
            # each coordinate with its axis's name: 'R score 4, F score 1', not '(4, 1)'
            where = ", ".join(f"{_axis_name(a)} {w}".strip() for a, w in ((ax.yaxis, _category(ax.yaxis, r + 0.5)),
                                                                         (ax.xaxis, _category(ax.xaxis, k + 0.5))) if w)
            return shown, where
        (low, low_at), (high, high_at) = cell(np.ma.argmin(grid)), cell(np.ma.argmax(grid))
        facts.append(text("chart.grid", language, rows=grid.shape[0], columns=grid.shape[1], low=low, low_at=low_at,
                          high=high, high_at=high_at))
    for shape in ax.patches:     # a step histogram per series: where most of it is
        label = shape.get_label()
        if isinstance(shape, Polygon) and label and not label.startswith("_") and len(shape.get_xy()) > 3:
            xy = np.asarray(shape.get_xy(), dtype=float)
            top = int(np.argmax(xy[:-1, 1]))
            ends = sorted((xy[top, 0], xy[top + 1, 0]))
            facts.append(text("chart.series", language, name=" ".join(label.split()),
                              items=text("chart.peak", language, low=_axis_text(ax.xaxis, ends[0]),
                                         high=_axis_text(ax.xaxis, ends[1]))))
    if not bars and any(isinstance(c, PathCollection) for c in ax.collections):
        labels = [" ".join(t.get_text().split()) for t in ax.texts if t.get_text().strip()]
        if labels:
            facts.append(_listed(labels, language))
    return ("；" if language == "zh" else "; ").join(f for f in facts if f)


_SVG_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt" viewBox="0 0 ([\d.]+) ([\d.]+)"')
_FONT_SIZE = re.compile(r"font-size: ([\d.]+)px")


def _svg_of(fig):
    """The figure drawn as SVG text (no metadata, only the ids it refers to), its size match and its
    text sizes (in the view box's units)."""
    import io
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    used = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', svg))
    svg = re.sub(r' id="([^"]+)"', lambda m: m.group(0) if m.group(1) in used else "", svg)
    size = _SVG_SIZE.search(svg)
    if size is None:
        raise ValueError("not a matplotlib SVG: no size in points and view box")
    return svg, size, [float(x) for x in _FONT_SIZE.findall(svg)]


def _fit_phone(fig):
    """:func:`_svg_of`, with a chart too wide for a phone narrowed first: when its smallest text would fall
    under :data:`MIN_CHART_TEXT_PX` at :data:`PHONE_CHART_PX`, the figure is made narrower (its plot
    area gives way, its text keeps its size; not below :data:`NARROWEST_FIGURE_IN`) and drawn again,
    so that it fits a 420 px screen instead of being cut at its right edge."""
    svg, size, sizes = _svg_of(fig)
    for _ in range(3):
        box_width = float(size.group(4))
        if not sizes or box_width * MIN_CHART_TEXT_PX / min(sizes) <= PHONE_CHART_PX:
            break
        fits = PHONE_CHART_PX * min(sizes) / MIN_CHART_TEXT_PX          # the box width that fits, in pt
        width, height = fig.get_size_inches()
        narrower = width - (box_width - fits) / 72 - 0.05
        if narrower < NARROWEST_FIGURE_IN:
            break
        fig.set_size_inches(narrower, height)
        from . import theme
        if hasattr(fig, theme.LABELS_INSIDE):   # its bars' labels ended inside the frame at the old width: again
            fig.tight_layout()
            theme.labels_inside(fig, getattr(fig, theme.LABELS_INSIDE))
        svg, size, sizes = _svg_of(fig)
    return svg, size, sizes


def chart_html(fig, alt: str | None = None) -> str:
    """A matplotlib figure as an inline SVG for a page: ``<div class="mk-chart"><svg role="img" ...>``.

    Text stays text (``svg.fonttype`` none, set by :func:`memberkit.views.theme.apply_theme`) in the
    kit's fonts, which :func:`embed_fonts` embeds, so it is laid out as matplotlib drew it and can be
    read, searched and printed. The chart is as wide as the screen up to its own size (1 pt = 4/3 CSS
    px) and never narrower than the width at which its smallest text is :data:`MIN_CHART_TEXT_PX`
    px (on a narrower screen the chart scrolls sideways in its box). Its description (``alt``, else
    the one its view set with ``theme.describe``, else :func:`chart_description`: what it shows with its
    numbers) is the SVG's
    ``aria-label`` and ``<title>``, escaped. Only ids the drawing refers to are kept (no duplicates
    across the charts of a page). Same figure, same bytes (``svg.hashsalt``, no date).

    A chart whose text would fall under that size on a 420 px screen is first made narrower
    (:func:`_fit_phone`), so it fits the screen instead of scrolling.

    On paper the chart keeps its proportions at most :data:`PRINT_WIDE_MM` high (:data:`PRINT_TALL_MM`
    when it is taller than wide), in the custom property ``--mk-print-height`` that the page's print
    style reads, so no chart is cut across two pages.

    Raises ValueError when the description is empty.
    """
    for ax in fig.axes:   # a long title wraps inside the figure instead of widening it
        for title in (ax._left_title, ax.title, ax._right_title):
            title.set_wrap(True)
    svg, size, sizes = _fit_phone(fig)
    # described once drawn, as drawn: the tick labels the description names are there only then
    description = (alt or getattr(fig, ALT, None) or chart_description(fig)).strip()
    if not description:
        raise ValueError("a chart needs a description: pass alt or give the chart a title or axis labels")
    box_width = float(size.group(4))
    native = box_width * 4 / 3
    narrowest = math.ceil(min(native, box_width * MIN_CHART_TEXT_PX / min(sizes)) if sizes else native)
    label = escape(description)
    on_paper = PRINT_TALL_MM if float(size.group(5)) > box_width else PRINT_WIDE_MM
    svg = _SVG_SIZE.sub(lambda m: (f'<svg{m.group(1)} width="100%" viewBox="0 0 {m.group(4)} {m.group(5)}" '
                                   f'style="max-width:{native:.0f}px;min-width:{narrowest}px;--mk-print-height:{on_paper}mm" '
                                   f'role="img" aria-label="{label}"'), svg, count=1)
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + f"<title>{label}</title>", svg, count=1)
    return f'<div class="mk-chart">{svg.strip()}</div>'


def headline_html(sentence: str, points=()) -> str:
    """The answer in the headline's box and, right under it, its reasons as a short list, one sentence a
    point, so that the answer reads at a glance and the reasons beneath; escaped here; '' without a sentence."""
    if not sentence:
        return ""
    kept = [x for x in points if x]
    listed = ('<ul class="mk-points">' + "".join(f"<li>{escape(x)}</li>" for x in kept) + "</ul>") if kept else ""
    return f'<div class="mk-headline">{escape(sentence)}</div>{listed}'


def headline(sentence: str, points=()):
    """Show :func:`headline_html` (nothing without a sentence)."""
    if sentence:
        show(CSS + headline_html(sentence, points))


def note(sentence: str):
    if not sentence:
        return
    show(f'<div class="mk-note">{escape(sentence)}</div>')


def for_analysts_html(p, hint: str) -> str:
    """A note for analysts under the plain sentence an executive reads: a setting's name, a file or a command
    ('the cost per converted member of push is the setting notebooks.ab_test...'), collapsed under
    'For analysts' so an executive's page shows no machine text; escaped here; '' without a hint.
    Executive sentences never carry a raw setting key, a file path or a command line."""
    if not hint:
        return ""
    return (f'<details class="mk-note mk-analysts"><summary>{escape(p.text("common.for_analysts"))}</summary>'
            f'{escape(hint[:1].upper() + hint[1:] if p.language == "en" else hint)}</details>')   # a sentence of its own


def for_analysts(p, hint: str):
    """Show :func:`for_analysts_html` (nothing without a hint)."""
    if hint:
        show(CSS + for_analysts_html(p, hint))


def analysts_note(p, hints: list[str]) -> str:
    """Several notes for analysts as one (each a sentence of its own), so that one place on a page has one
    'For analysts' fold, not a stack of them; '' when every hint is empty."""
    kept = [h for h in hints if h]
    return p.sentence_sep.join(h[:1].upper() + h[1:] if p.language == "en" else h for h in kept)


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


def vs_published_frame(p, compared, results: dict, published: dict):
    """This run's results beside the published run's of the same month: a frame of figure, this run,
    published (display text from the report's own ``compared(p, results)``: its cards and its headline
    results, matched by label), and how many differ. A result only one of the two runs has (a campaign the
    other did not review) is shown with ``common.col_absent`` on the other side and counts as a difference."""
    import pandas as pd
    now = {k.label: k.value for k in compared(p, results)}
    before = {k.label: k.value for k in compared(p, published)}
    absent = p.text("common.col_absent")
    labels = [*now, *(label for label in before if label not in now)]
    rows = [(label, now.get(label, absent), before.get(label, absent)) for label in labels]
    frame = pd.DataFrame(rows, columns=[p.text("common.col_figure"), p.text("common.col_this_run"),
                                        p.text("common.col_published")])
    return frame, sum(label not in now or label not in before or now[label] != before[label] for label in labels)


def vs_published(p, ctx, compared, results: dict):
    """In a scratch run (:attr:`memberkit.notebook.Context.scratch`), the change against the published run of
    the same month (``<ctx.published_dir>/<name>.json``): a table of this report's results in both, or a
    note that the month is not published.
    ``compared`` is the report view's ``compared(p, results)`` (its cards, then its headline results, e.g. the
    RFM report's members of every segment); nothing is shown in any other run."""
    from ..report import load_results
    if not getattr(ctx, "scratch", False):
        return
    published = load_results(ctx.published_dir, results["name"])
    folder = _folder(ctx, ctx.published_dir)
    if not published:
        note(p.text("common.no_published", period=ctx.period, published=folder))
        return
    frame, changed = vs_published_frame(p, compared, results, published)
    heading(p.text("common.vs_published_title", period=ctx.period), 3)
    table(frame)
    note(p.text("common.vs_published_note", changed=p.count(changed), total=p.count(len(frame)), published=folder))


def anchor_of(title: str) -> str:
    """A heading's anchor made from its words: lower case, runs of anything but letters and digits as
    one ``-`` ('Campaign review · 2026-10' -> 'campaign-review-2026-10'; Chinese words stay)."""
    return re.sub(r"[\W_]+", "-", str(title).lower()).strip("-") or "section"


FULL_WIDTH_END = "？！。：；）」』】"   # Chinese marks that end a phrase and carry their own space


def title_period(p, title: str, period: str) -> str:
    """A report's title with its month written out as the summary writes it: 'Did the campaigns pay? ·
    October 2026'. In Chinese a full-width mark ending the title already holds the space the separator
    would add ('活动有没有回本？ · 2026年10月' read with a gap): '活动有没有回本？· 2026年10月'.

    >>> from memberkit.views import Presentation
    >>> title_period(Presentation("zh"), "活动有没有回本？", "2026-10"), title_period(Presentation("zh"), "数据清洗", "2026-10")
    ('活动有没有回本？· 2026年10月', '数据清洗 · 2026年10月')
    """
    sep = "· " if p.language == "zh" and title[-1:] in FULL_WIDTH_END else " · "
    return f"{title}{sep}{p.month(period, full=True)}"


def heading(title: str, level: int = 2, anchor: str | None = None):
    """A heading with an anchor: ``anchor`` (a code such as :func:`memberkit.report.anchor`'s, the
    same in every language, for links from other pages), else one made from its words."""
    show(heading_html(title, level, anchor))


_UNBROKEN = re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{4}-\d{2}(?:-\d{2})?")   # 2026年10月, 2026-06-01, 2026-10


def heading_html(title: str, level: int = 2, anchor: str | None = None) -> str:
    """A heading's HTML: a month or a date in it is kept on one line (``<span class="mk-nobr">``), so a narrow
    screen does not break '2026年10月' after '10' or '2026-06-01' at its hyphen.

    >>> heading_html("分组时间 2026-06-01", anchor="x")
    '<h2 id="x">分组时间 <span class="mk-nobr">2026-06-01</span></h2>'
    """
    shown = _UNBROKEN.sub(lambda m: f'<span class="mk-nobr">{m.group(0)}</span>', escape(title))
    return f'<h{level} id="{escape(anchor or anchor_of(title))}">{shown}</h{level}>'


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


# ------------------------------------------------------------------ the footer's settings
#: Per report, the settings that shape its figures, in the order the footer names them, each with the kind
#: of value it holds (how :func:`_setting_value` shows it). Every other setting (language, engine, source,
#: the shop's status words ...) is in the footer's collapsed block for analysts only.
KEY_SETTINGS = {
    "data_cleaning": {"outlier_policy": "policy", "outlier_multiple": "multiple", "max_accounts_per_phone": "count"},
    "rfm_segmentation": {"window_days": "count", "split": "word", "tier_thresholds": "tiers",
                         "new_days": "count", "silent_days": "count", "churned_days": "count",
                         "active_window_days": "count"},
    "clv_forecast": {"horizon_months": "count", "monthly_discount": "pct", "margin": "pct0",
                     "any_purchase_threshold": "pct0", "high_value_share": "pct0"},
    "ab_test": {"window_days": "count", "primary_metric": "metric", "alpha": "confidence", "margin": "pct0",
                "winsorize_percentile": "percentile"},
    "campaign_review": {"post_days": "count", "margin": "pct0", "alpha": "confidence", "league_months": "count",
                        "target_holdout_share": "pct0"},
}


def report_of_settings(params: dict) -> str | None:
    """The report whose parameter model has exactly the settings ``params`` holds (a model's dump, with or
    without ``source``, as the notebooks pass it), else None."""
    from .. import config
    from ..reports import REPORTS
    for report in REPORTS:
        if set(getattr(config, report.params_model).model_fields) - {"source"} == set(params) - {"source"}:
            return report.name
    return None


def _setting_value(p, kind: str, value, params: dict) -> str | None:
    """A setting's value in words for the footer's readable line; None when it has none (not set)."""
    from .context import fmt_money
    if value is None or value == {} or value == []:
        return None
    if kind == "count":
        return p.count(value)
    if kind == "multiple":
        return f"{value:g}"
    if kind == "pct":
        return p.pct(value)
    if kind == "pct0":
        return p.pct(value, 0)
    if kind == "confidence":
        return p.pct(1 - value, 0)
    if kind == "percentile":
        return f"{value:g}"
    if kind == "policy":
        return p.code("policies", value)
    if kind == "metric":
        from .context import has_text
        return p.text(f"ab.metric_{value}") if has_text(f"ab.metric_{value}", "en") else str(value)
    if kind == "word":
        return p.text(f"settings.words.{value}")
    if kind == "tiers":
        currency = params.get("tier_currency") or p.currency
        tiers = [p.text("settings.tier_from", tier=p.code("tiers", name),
                        amount=fmt_money(amount, currency, 0, p.language)) for name, amount in value.items()]
        base = params.get("base_tier")
        if base and value:
            tiers.insert(0, p.text("settings.tier_base", tier=p.code("tiers", base),
                                   amount=fmt_money(min(value.values()), currency, 0, p.language)))
        return p.list_sep.join(tiers)
    return str(value)


def settings_line(p, params: dict) -> str:
    """The settings that shape this report's figures, in words ('R, F and M over the last 365 days · high and
    low split at the mean · ...'); '' for settings of no known report."""
    report = report_of_settings(params)
    if report is None:
        return ""
    parts = []
    for key, kind in KEY_SETTINGS[report].items():
        shown = _setting_value(p, kind, params.get(key), params)
        if shown is not None:
            parts.append(p.text(f"settings.{report}.{key}", value=shown))
    return " · ".join(parts)


def footer_html(p, period: str, params: dict, fingerprint: str, version: str, now: str | None = None,
                as_of: _dt.date | None = None) -> str:
    """The page's signature: period, time of the run, data fingerprint, code version; the settings that shape
    the figures in words (:func:`settings_line`); and every setting as given, for analysts, in a collapsed
    block (the executed notebook is not kept and the run file is never published: the page is where an
    analyst finds what produced its figures). ``as_of``: the extraction date the run used (``ctx.as_of``);
    an ``as_of`` setting left unset shows it, saying it was not set, rather than a dash."""
    try:      # the month as the title and every sentence write it ('October 2026'), not '2026-10'
        shown = p.month(period, full=True)
    except (ValueError, TypeError):
        shown = str(period)
    rows = [
        (p.text("common.period"), shown),
        (p.text("common.generated"), now or _dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        (p.text("common.data_fingerprint"), fingerprint[:16]),
        (p.text("common.code_version"), version),
    ]
    colon = p.text("common.colon")
    body = "<br>".join(f"<b>{escape(k)}</b>{colon}{escape(v)}" for k, v in rows)
    line = settings_line(p, params)
    if line:
        body += f'<br><b>{escape(p.text("settings.title"))}</b>{colon}{escape(line)}'
    given = dict(params)
    if as_of is not None and given.get("as_of") is None and "as_of" in given:
        given["as_of"] = p.text("settings.as_of_unset", date=as_of.isoformat())
    raw = "<br>".join(escape(s) for s in _settings_lines(given))   # the settings keep their YAML "key: value"
    body += (f'<details class="mk-analysts mk-settings"><summary>{escape(p.text("settings.raw_title"))}</summary>'
             f'{raw}</details>')
    return f'<div class="mk-footer">{body}</div>'


def footer(p, period: str, params: dict, fingerprint: str, version: str, as_of: _dt.date | None = None):
    """Show :func:`footer_html`."""
    show(CSS + footer_html(p, period, params, fingerprint, version, as_of=as_of))


KEY_COLUMNS = "key_columns"   # df.attrs[KEY_COLUMNS]: how many first columns name the row and its decision
LINE_CELLS = "line_cells"      # df.attrs[LINE_CELLS]: its cells hold their own line breaks and break only there (on paper: its figures; its words wrap too)
STACK_COLUMNS = 4             # a table with this many columns or more is stacked, row by row, on a phone
STACKED = "stacked"           # df.attrs[STACKED]: stacked on a phone whatever its columns (long row names)
SCROLLED = "scrolled"         # df.attrs[SCROLLED]: never stacked; on a phone its key columns stay in view, the rest scrolls
# df.attrs[PRINTED_WITHOUT]: (column positions, the line saying so): columns left out on paper, where the table's type
# (about 9 pt) leaves no room for them; the line is printed under the table, the screen keeps every column
PRINTED_WITHOUT = "printed_without"


def stacked(df):
    """``df`` marked to be stacked on a phone like a wide table (:func:`table_html`), though it has fewer
    than :data:`STACK_COLUMNS` columns: for rows named by a sentence, which leave no room beside them at
    420 px for the figures. Returns ``df``."""
    df.attrs[STACKED] = True
    return df


def scrolled(df):
    """``df`` marked to stay a table on a phone, however many columns it has: its first columns (marked by
    :func:`decision_first`) stay in view and the others scroll sideways, with the edge shadows saying so, where
    a stacked table would be a block of every figure per row (the CLV page's value tables: nine rows of six
    lines each at 420 px). Returns ``df``."""
    df.attrs[SCROLLED] = True
    return df


def decision_first(df, columns: int = 2):
    """``df`` marked so that its first ``columns`` (1 or 2: the row's name, then its decision) stay in
    view while the rest of the table scrolls sideways (:func:`table_html`); returns ``df``."""
    df.attrs[KEY_COLUMNS] = columns
    return df


def printed_without(df, columns: list[int], line: str):
    """``df`` marked so that on paper (the print stylesheet) its ``columns`` (positions) are left out and ``line``
    is printed under it instead, saying which and where to read them; returns ``df``."""
    df.attrs[PRINTED_WITHOUT] = (list(columns), line)
    return df


def table(df, caption: str | None = None, formats: dict | None = None):
    """Show a frame as a table (see :func:`table_html`)."""
    show(CSS + table_html(df, caption, formats))


# 12.3%, -CN¥1,234 (a word joiner after its sign), +1.2 pp, < 0.001 and > 99.9% (a space or a no-break space), £80
_FIGURE = re.compile(r"^[+\-<>≥≤ \u00a0\u2060]*[^\d\s]{0,3}\d")


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
    in every run. A frame marked by :func:`decision_first` keeps its first one or two columns in view
    while the others scroll (CSS ``position: sticky``; the first column 10em wide). On a phone (600 px
    or less) a table of :data:`STACK_COLUMNS` columns or more, or one marked by :func:`stacked`, is stacked:
    a block per row, each cell under its heading (``data-label``, escaped like the heading), so no column is
    out of view; one marked by :func:`scrolled` is not, and scrolls sideways instead.
    """
    styler = df.style.set_uuid(_table_id(df, caption)).hide(axis="index").format(escape="html", na_rep=DASH).format_index(escape="html", axis=1)
    key = df.attrs.get(KEY_COLUMNS, 0)   # the row's name and its decision: words, on the left
    right = [j for j, c in enumerate(df.columns) if j >= key and (
             str(df.dtypes.iloc[j]).startswith(("int", "float", "Int", "Float", "uint")) or _is_figure_column(df.iloc[:, j]))]
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
    stack = (df.shape[1] >= STACK_COLUMNS or bool(df.attrs.get(STACKED))) and not df.attrs.get(SCROLLED)
    classes = (["mk-key"] if key else []) + (["mk-key2"] if key >= 2 else []) + (["mk-stack"] if stack else []) \
        + (["mk-lines"] if df.attrs.get(LINE_CELLS) else [])
    if classes:
        styler = styler.set_table_attributes(f'class="{" ".join(classes)}"')
    out = styler.to_html()
    if stack:   # each cell carries its heading, shown beside it when the row is stacked on a phone
        heads = [escape(c) for c in df.columns]
        # an empty cell (the total row's action) gets no heading and is not shown: "Recommended action:" with nothing after it
        out = re.sub(r'class="data row\d+ col(\d+)"(?=[^>]*>(?!\s*</td>))',
                     lambda m: f'{m.group(0)} data-label="{heads[int(m.group(1))]}"', out)
    # a figure's cell is marked, so that on paper it keeps its lines while the words around it wrap
    out = re.sub(r'class="data row\d+ col(\d+)"',
                 lambda m: m.group(0)[:-1] + ' mk-num"' if int(m.group(1)) in right else m.group(0), out)
    left_out, printed_line = df.attrs.get(PRINTED_WITHOUT) or ([], "")
    if left_out:   # cells and headings of the columns paper leaves out
        out = re.sub(r'class="((?:data row\d+|col_heading level0) col(\d+)[^"]*)"',
                     lambda m: f'class="{m.group(1)} mk-screen-only"' if int(m.group(2)) in left_out else m.group(0), out)
    for (i, j), fig in sorted((df.attrs.get("figures") or {}).items()):
        cell = re.compile(rf'(<td id="T_{_table_id(df, caption)}_row{i}_col{j}"[^>]*>)(.*?)(</td>)', re.S)
        out = cell.sub(lambda m: m.group(1) + mark(str(df.iat[i, j]), fig) + m.group(3), out, count=1)
    printed = f'<p class="mk-note mk-print-only">{escape(printed_line)}</p>' if left_out else ""
    return f'<div class="mk-table">{out}</div>{printed}'


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
    """``page`` with the kit's CJK font embedded (subset to its characters) just before ``</head>``;
    with charts (:func:`chart_html`), also the charts' Latin font, subset to the characters they show."""
    from .fonts import chart_font_css, font_face_css
    css = font_face_css(visible_text(page))
    charts = re.findall(r'<div class="mk-chart">(.*?)</svg>', page, flags=re.S)
    if charts:
        css += chart_font_css(visible_text("".join(charts)))
    return page.replace("</head>", css + "</head>", 1) if css else page


_HEADING = re.compile(r"<h([1-4])((?:\s[^>]*)?)>(.*?)</h\1>", re.S)


def link_headings(page: str, contents_title: str, title: str = "") -> str:
    """``page`` with an anchor on every heading and a table of contents under its first ``<h1>``.

    A heading keeps its id when it is the first with it; a repeated one (the same sub-heading in
    every campaign's section) is prefixed with the id of the level-2 heading it sits under, then
    numbered. The contents (``<nav class="mk-toc">``, headed ``contents_title``) list every level-2
    heading in page order, each a link to its anchor: made from the headings themselves, they cannot
    leave a section out (the summary's once listed 6 of its 10). A page without headings is returned as it is.
    """
    seen: set[str] = set()
    sections: list[tuple[str, str]] = []
    parent = ""

    def unique(wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in seen:
            n += 1
            candidate = f"{wanted}-{n}"
        seen.add(candidate)
        return candidate

    def name(m):
        nonlocal parent
        level, attrs, inner = int(m.group(1)), m.group(2), m.group(3)
        found = re.search(r'\sid="([^"]*)"', attrs)
        wanted = html.unescape(found.group(1)) if found else anchor_of(visible_text(inner))
        if wanted in seen and level > 2 and parent:
            wanted = f"{parent}-{wanted}"
        anchor = unique(wanted)
        if level <= 2:
            parent = anchor
        if level == 2:
            sections.append((anchor, visible_text(inner).strip()))
        attrs = re.sub(r'\sid="[^"]*"', "", attrs)
        return f'<h{level} id="{escape(anchor)}"{attrs}>{inner}</h{level}>'

    page = _HEADING.sub(name, page)
    if not sections:
        return page
    links = " ".join(f'<li><a href="#{escape(a)}">{escape(t)}</a></li>' for a, t in sections)
    nav = (f'<nav class="mk-toc" aria-label="{escape(contents_title)}"><strong>{escape(contents_title)}</strong>'
           f'<ol>{links}</ol></nav>')
    first = re.search(r"</h1>", page)
    return page[:first.end()] + nav + page[first.end():] if first else page


def html_lang(language: str) -> str:
    """The ``lang`` attribute of a page: ``zh-CN`` (Simplified Chinese glyph forms) or ``en``."""
    return "zh-CN" if language == "zh" else "en"
