"""What the orders the cleaning flagged as bulk purchases do to the month's figures, in words.

Under the outlier policy ``flag`` a bulk purchase (an order far above the usual basket) stays in the
clean orders: member revenue and the average order value count it, as totals should. One such order
can still read as growth, so wherever those figures are shown with their change, the page says how
many flagged orders they hold and what the figure and its change are without them. The numbers come
from ``month.json``'s ``bulk_orders`` (:func:`memberkit.summary.flagged_by_month`).
"""

from __future__ import annotations

from ..periods import previous_period
from ..report import missing
from .context import Presentation
from .kpi import format_change, format_figure

# the month figures a flagged order is part of
AFFECTED = ("member_revenue", "average_order_value")


def without_bulk(figures: dict, key: str, month: str) -> float | None:
    """``key`` (member revenue or the average order value) in ``month`` without its flagged bulk orders;
    None when the month is not in the figures or the figure is unknown there."""
    months = figures.get("months") or []
    if month not in months:
        return None
    i = months.index(month)
    values = figures.get("figures") or {}
    revenue = (values.get("member_revenue") or [None] * len(months))[i]
    bulk = figures.get("bulk_orders") or {}
    n = (bulk.get("orders") or [0] * len(months))[i]
    bulk_revenue = (bulk.get("revenue") or [0.0] * len(months))[i]
    if missing(revenue):
        return None
    if key == "member_revenue":
        return revenue - bulk_revenue
    aov = (values.get("average_order_value") or [None] * len(months))[i]
    if missing(aov) or not aov:
        return None
    orders = round(revenue / aov) - n            # AOV = revenue / orders: the month's orders, less the bulk ones
    return (revenue - bulk_revenue) / orders if orders > 0 else None


def bulk_note(p: Presentation, figures: dict, key: str, period: str, month_name: str) -> str:
    """'Includes 2 orders flagged as bulk purchases (CN¥67,802); without them CN¥831,578, +14.0% vs
    September 2026.' for a figure of :data:`AFFECTED` whose month holds flagged orders; '' otherwise.
    ``month_name``: the previous month as the page names it."""
    if key not in AFFECTED or not figures:
        return ""
    months = figures.get("months") or []
    bulk = figures.get("bulk_orders") or {}
    if period not in months or not bulk:
        return ""
    i = months.index(period)
    n = int((bulk.get("orders") or [0] * len(months))[i])
    if not n:
        return ""
    now, before = without_bulk(figures, key, period), without_bulk(figures, key, previous_period(period))
    change = format_change(p, key, now, before) if not missing(before) else ""
    return p.counted("month.bulk_note" if change else "month.bulk_note_no_change", n, orders=p.count(n),
                     revenue=p.money(bulk["revenue"][i]), value=format_figure(p, key, now), change=change,
                     month=month_name)


def aov_sentence(p: Presentation, figures: dict, period: str) -> str:
    """The RFM page's line under its cards: how many flagged bulk orders its average order value holds,
    and the figure and its change without them; '' when the month has none."""
    from .month import month_label
    note = bulk_note(p, figures, "average_order_value", period, month_label(previous_period(period), p.language))
    return p.text("rfm.bulk_aov", note=note) if note else ""
