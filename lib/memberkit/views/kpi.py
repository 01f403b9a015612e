"""The five key figures as the reports show them: values, changes, the table, trend and cohort charts."""

from __future__ import annotations

import re

import pandas as pd

from .. import kpi
from ..periods import previous_period, same_period_last_year
from .context import Presentation
from .page import Figure
from .theme import PALETTE, describe


AMOUNTS = ("average_order_value", "member_revenue", "active_members")   # compared in percent, not points


def format_figure(p: Presentation, key: str, value) -> str:
    """A key figure as the report shows it: AOV and revenue as money, active members as a count, rates in
    percent; a figure that could not be computed (its window reaches before the data begins, or nobody
    to count) says so."""
    if value is None or pd.isna(value):
        return p.text("kpi.no_history")
    if key in ("average_order_value", "member_revenue"):
        return p.money(value)
    return p.count(value) if key == "active_members" else p.pct(value)


def card_figure(p: Presentation, key: str, value) -> str:
    """A key figure on its card: as :func:`format_figure` shows it, a count with its noun ('6,571 members'),
    since a card's number stands alone under its label; tables and trend labels keep the bare number."""
    if key == "active_members" and not (value is None or pd.isna(value)):
        return p.count_of(value, "members")
    return format_figure(p, key, value)


def format_change(p: Presentation, key: str, current, previous) -> str:
    """'+1.2 pp' for rates, '+3.4%' for AOV, revenue and active members; '' when either value is missing
    or the earlier amount is zero. A rate's change is the difference of the two rates as shown
    (:meth:`~memberkit.views.context.Presentation.pp_change`), so it adds up beside them."""
    if current is None or previous is None or pd.isna(current) or pd.isna(previous):
        return ""
    if key in AMOUNTS:
        return p.signed_pct((current - previous) / previous) if previous else ""
    return p.pp_change(previous, current)


def change_label(p: Presentation, key: str, current, previous) -> str:
    """The change with what it is against: '+1.2 pp vs previous month'."""
    change = format_change(p, key, current, previous)
    return p.text("kpi.vs_previous", change=change) if change else ""


def is_good(key: str, current, previous, p: Presentation | None = None) -> bool | None:
    """Whether the move from ``previous`` to ``current`` is good news for figure ``key`` (its colour), None
    when there is no move; with ``p``, also None when the change as shown is nought ('+0.0 pp', '+0.0%'),
    so that a card never reads green or red beside a change it shows as none."""
    if current is None or previous is None or pd.isna(current) or pd.isna(previous) or current == previous:
        return None
    if p is not None and not re.search(r"[1-9]", format_change(p, key, current, previous)):
        return None
    return (current > previous) == kpi.HIGHER_IS_BETTER[key]


def figure_label(p: Presentation, key: str, active_window_days: int | None = None) -> str:
    """A key figure's name; the churn rate with its window when it is known ('Churn rate (no order in 90
    days)'), so that beside the lifecycle's 'lapsed (180+ days)' the two read as different measures
    (DOMAIN.md: the stage is not the monthly churn rate)."""
    if key == "churn_rate" and active_window_days:
        return p.text("kpi.churn_rate_window", window=active_window_days)
    return p.text(f"kpi.{key}")


def figures_frame(p: Presentation, figures: pd.DataFrame,
                  active_window_days: int = 90, period: str | None = None) -> pd.DataFrame:
    """The compared key figures as display text: figure, this period, previous, year ago, changes.

    With ``period`` ('YYYY-MM') the frame's ``attrs["figures"]`` says which figure each value cell is
    (:class:`memberkit.views.page.Figure`: the key, the month it is of, the unrounded value), so
    :func:`memberkit.views.page.table` marks them."""
    rows, marks = [], {}
    months = {} if period is None else {1: period, 2: previous_period(period), 3: same_period_last_year(period)}
    for i, (key, r) in enumerate(figures.iterrows()):
        for j, value in ((1, r.current), (2, r.previous), (3, r.year_ago)):
            if j in months:
                marks[(i, j)] = Figure(key, months[j], value)
        rows.append({p.text("kpi.figure"): figure_label(p, key, active_window_days),
                     p.text("kpi.current"): format_figure(p, key, r.current),
                     p.text("kpi.previous"): format_figure(p, key, r.previous),
                     p.text("kpi.year_ago"): format_figure(p, key, r.year_ago),
                     p.text("kpi.change_previous"): format_change(p, key, r.current, r.previous),
                     p.text("kpi.change_year"): format_change(p, key, r.current, r.year_ago),
                     p.text("kpi.definition"): p.text(f"kpi.{key}_def", window=active_window_days)})
    frame = pd.DataFrame(rows)
    if marks:
        frame.attrs["figures"] = marks
    return frame


def trend_rows() -> list[tuple[str, ...]]:
    """The key figures two by two, in :data:`memberkit.kpi.KEY_FIGURES`' order: one chart of
    :func:`plot_trend` each on the page."""
    keys = tuple(kpi.KEY_FIGURES)
    return [keys[i:i + 2] for i in range(0, len(keys), 2)]


def plot_trend(p: Presentation, trend: pd.DataFrame, keys=None):
    """Small multiples: each key figure of ``keys`` (default every one of :data:`memberkit.kpi.KEY_FIGURES`)
    over the trend months (``trend``: one row per month, one column per key figure; rates as fractions,
    the average order value in money), two a row, each on a scale from zero. The page draws one row a
    chart (:func:`trend_rows`): the five in one drawing, about 20 cm on A4, could only start on a new page
    and left the one before it half white."""
    import matplotlib.pyplot as plt
    keys = list(kpi.KEY_FIGURES if keys is None else keys)
    rows = (len(keys) + 1) // 2   # two a row: readable on a phone
    fig, axes = plt.subplots(rows, 2, figsize=(6.4, 2.5 * rows), sharex=True, squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.set_axis_off()
    x = range(len(trend))
    for ax, key in zip(axes.flat, keys):
        ax.plot(x, trend[key], marker="o", ms=3, color=PALETTE[1] if key == "churn_rate" else PALETTE[0])
        ax.set_title(p.text(f"kpi.{key}"), loc="left", fontsize=11)
        if key == "average_order_value":
            ax.yaxis.set_major_formatter(lambda v, _: p.money(v))
        else:
            ax.yaxis.set_major_formatter(lambda v, _, k=key: p.pct(v, 0 if trend[k].max() > 0.1 else 1))
        top = trend[key].max()
        ax.set_ylim(0, (top if top == top and top > 0 else 1) * 1.15)   # rates and money start at zero
        ends = sorted({0, (len(trend) - 1) // 2, len(trend) - 1})   # first, middle, last: room for '2025年10月'
        ax.set_xticks(ends, [p.month(trend.index[i]) for i in ends], fontsize=11)
        ax.tick_params(axis="x", labelbottom=True)
    fig.tight_layout()
    return describe(fig, trend_description(p, trend, keys))


def trend_description(p: Presentation, trend: pd.DataFrame, keys) -> str:
    """:func:`plot_trend`'s chart in words for a screen reader: per key figure its first and last month's value
    and its lowest and highest, each formatted as its card shows it (:func:`format_figure`: '22.3%'); the
    axis's whole-percent ticks had read 'from 22% to 22%' beside a card's 22.3% and 21.8%."""
    parts = []
    for key in keys:
        title = p.text(f"kpi.{key}")
        shown = trend[key].dropna()
        if shown.empty:
            parts.append(f"{title}{p.text('common.colon')}{format_figure(p, key, None)}")
            continue
        f = lambda month: format_figure(p, key, shown[month])   # noqa: E731
        first, last, low, high = shown.index[0], shown.index[-1], shown.idxmin(), shown.idxmax()
        said = p.text("chart.line", name="", first=f(first), first_at=p.month(first), last=f(last),
                      last_at=p.month(last), low=f(low), low_at=p.month(low), high=f(high), high_at=p.month(high))
        parts.append(f"{title}{p.text('common.colon')}{said.strip()}")
    return " · ".join(parts)


def plot_cohorts(p: Presentation, cohorts: pd.DataFrame):
    """Cohort retention heatmap: join month (rows) x months since joining (columns)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    grid = cohorts.drop(columns="members")
    # wider than tall, so that on A4 it is printed at most 115 mm high and follows what is on the page
    fig, ax = plt.subplots(figsize=(6.4, 0.32 * len(grid) + 1.2))
    # percent without its sign, the sign in the title: "81%" in each of 13 narrow cells ran into its neighbours
    # ("81%27%19%") at 1280 px and was cut at a cell's edge on a phone
    sns.heatmap(grid * 100, annot=True, fmt=".0f", cmap="Greens", ax=ax, cbar=False, annot_kws={"fontsize": 11},
                yticklabels=[f"{p.month(c)} ({p.count(n)})" for c, n in zip(grid.index, cohorts.members)], linewidths=0.5,
                linecolor="white")
    ax.grid(False)          # the theme's grid showed through the months a cohort has not reached yet
    ax.set_xlabel(p.text("kpi.months_since"))
    ax.set_ylabel(p.text("kpi.cohort"))
    ax.set_title(p.text("kpi.cohort_chart"), loc="left")
    fig.tight_layout()      # the join months' label inside the drawing, not cut at its left edge in print
    return fig


def dominant_sentence(p: Presentation, dominant: dict | None, scope: str) -> str:
    """The sentence naming the members who hold more than the set share of the orders or revenue
    (``dominant``: :func:`memberkit.summary.member_concentration`'s plain data, ids already masked, as the
    results JSON holds it; with :func:`memberkit.rfm.dominant_members`' ``segments`` when there) and the
    figures with and without them; ``scope`` is the catalogue's words for where they were counted.
    '' when nobody is above the share (or there are no such results)."""
    if not dominant or not dominant.get("dominant"):
        return ""
    items = p.list_sep.join(p.text("kpi.dominant_item", member=x["member"], orders_share=p.pct(x["orders_share"]),
                                   revenue_share=p.pct(x["revenue_share"])) for x in dominant["dominant"])

    def figures(f):
        return p.text("kpi.dominant_figures", members=p.count(f["members"]), orders=p.count(f["orders"]),
                      revenue=p.money(f["revenue"]), aov=p.money(f["aov"]))
    n = len(dominant["dominant"])
    out = p.text("kpi.dominant_one" if n == 1 else "kpi.dominant_many", n=p.count(n), threshold=p.pct(dominant["threshold"]),
                 scope=scope, members=items, with_=figures(dominant["with"]), without=figures(dominant["without"]))
    seg = dominant.get("segments") or {}
    if seg.get("with") and seg.get("without"):
        from .rfm import segment_name
        a, b = seg["with"], seg["without"]
        out += p.sentence_sep + p.text("kpi.dominant_segment", segment=segment_name(p, a["segment"]), share=p.pct(a["share"]),
                                       revenue_share=p.pct(a["revenue_share"]), segment_without=segment_name(p, b["segment"]),
                                       share_without=p.pct(b["share"]), revenue_share_without=p.pct(b["revenue_share"]))
    return out
