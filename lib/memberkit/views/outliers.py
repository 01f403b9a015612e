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
from .attribution import _signed_money
from .context import Presentation
from .kpi import format_change, format_figure

# the month figures a flagged order is part of
AFFECTED = ("member_revenue", "average_order_value")
# bulk orders carry a large part of a change when their part is at least this share of it: the change
# is then not shown as good or bad, and its card says how much of it they are
LARGE_PART = 0.5


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


def bulk_part(figures: dict, key: str, period: str, earlier: str) -> dict | None:
    """The part of ``key``'s change from ``earlier`` to ``period`` (months 'YYYY-MM') that the flagged bulk
    orders make: ``{"part", "change", "before", "without", "without_before", "large"}``, ``part`` the change with
    them less the change without them (in the figure's unit: money for both member revenue and the
    average order value), ``large`` when the part is at least :data:`LARGE_PART` of the change (or the
    change is none and the part is not). None for a figure outside :data:`AFFECTED`, when neither month
    holds a flagged order, or when a month's figure is unknown.

    >>> f = {"months": ["2026-09", "2026-10"], "figures": {"member_revenue": [700.0, 900.0],
    ...      "average_order_value": [70.0, 90.0]}, "bulk_orders": {"orders": [0, 1], "revenue": [0.0, 150.0]}}
    >>> r = bulk_part(f, "member_revenue", "2026-10", "2026-09")
    >>> r["part"], r["change"], r["without"], r["large"]
    (150.0, 200.0, 750.0, True)
    """
    if key not in AFFECTED or not figures:
        return None
    months = figures.get("months") or []
    bulk = figures.get("bulk_orders") or {}
    if period not in months or earlier not in months or not bulk:
        return None
    counts = bulk.get("orders") or [0] * len(months)
    if not counts[months.index(period)] and not counts[months.index(earlier)]:
        return None
    values = (figures.get("figures") or {}).get(key) or [None] * len(months)
    now, before = values[months.index(period)], values[months.index(earlier)]
    without, without_before = without_bulk(figures, key, period), without_bulk(figures, key, earlier)
    if any(missing(v) for v in (now, before, without, without_before)):
        return None
    change = now - before
    part = change - (without - without_before)
    large = abs(part) >= LARGE_PART * abs(change) and part != 0
    return {"part": part, "change": change, "before": before, "without": without, "without_before": without_before,
            "large": large}


def bulk_change(p: Presentation, figures: dict, key: str, period: str, earlier: str) -> dict | None:
    """A card's change against ``earlier`` as far as flagged bulk orders go: None when they carry less than
    :data:`LARGE_PART` of it (see :func:`bulk_part`); otherwise ``{"text", "part", "share"}``, the text
    'of which bulk orders +CN¥97,993; without them +9.0%' that the card shows under the change, whose colour
    then says neither good nor bad. The part is money: as a percent of the earlier month's figure it read as a
    second, larger change ('-8.2%, of which bulk orders -20.5%', or +1250.0% on a small month)."""
    found = bulk_part(figures, key, period, earlier)
    if not found or not found["large"]:
        return None
    without = format_change(p, key, found["without"], found["without_before"])
    return {"text": p.text("month.bulk_of_change" if without else "month.bulk_of_change_no_change",
                           part=_signed_money(p, found["part"]), change=without),
            "part": found["part"],
            "share": found["part"] / found["change"] if found["change"] else None}


def bulk_note(p: Presentation, figures: dict, key: str, period: str, month_name: str, with_change: bool = True,
              said: bool = False) -> str:
    """'Includes 2 orders flagged as bulk purchases (CN¥67,802); without them CN¥831,578, +14.0% vs
    September 2026.' for a figure of :data:`AFFECTED` whose month holds flagged orders; '' otherwise.
    ``month_name``: the previous month as the page names it. Without ``with_change`` the note stops at the
    figure without them (a key-figure card, whose change lines name the comparison already). With ``said``
    (a card after the one that gave the orders and their total) only the figure without them: the summary's
    revenue and average order value cards both told of the same orders."""
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
    if said:
        return p.counted("month.bulk_note_said", n, value=format_figure(p, key, now))
    change = format_change(p, key, now, before) if not missing(before) and with_change else ""
    return p.counted("month.bulk_note" if change else "month.bulk_note_no_change", n, orders=p.count(n),
                     revenue=p.money(bulk["revenue"][i]), value=format_figure(p, key, now), change=change,
                     month=month_name)


def aov_sentence(p: Presentation, figures: dict, period: str) -> str:
    """The RFM page's line under its cards: how many flagged bulk orders its average order value holds,
    and the figure and its change without them; '' when the month has none."""
    from .month import month_label
    note = bulk_note(p, figures, "average_order_value", period, month_label(previous_period(period), p.language))
    return p.text("rfm.bulk_aov", note=note) if note else ""
