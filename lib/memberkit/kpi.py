"""The five key figures of member analytics, one function each, computed in the engine.

Definitions (DOMAIN.md), for a period P (a month, ``YYYY-MM``):

- ``member_growth_rate``: members who joined in P / members who joined before P;
- ``repurchase_rate``: members with 2+ orders in P / members with 1+ orders in P;
- ``average_order_value``: net member revenue in P / member orders in P;
- ``churn_rate``: members active at the start of P (a purchase in the ``W`` days up to the day
  before P) and not active at its end / members active at the start;
- ``activity_rate``: members active at the end of P / members who had joined by the end of P.

An empty denominator gives NaN, never an error: a month without data has no rate.
Orders and revenue follow :mod:`memberkit.summary` (purchases are orders; returns net against revenue).

Example
-------
>>> import datetime as dt, ibis
>>> orders = ibis.memtable({"member_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
...     "order_date": [dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 3, 5)],
...     "amount": [100.0, 50.0, 30.0]})
>>> repurchase_rate(orders, "2026-03")
0.5
>>> average_order_value(orders, "2026-03")
60.0
"""

from __future__ import annotations

import datetime as _dt
import math

import ibis
import pandas as pd

from .periods import period_bounds, previous_period, same_period_last_year
from .summary import _day, active_members, member_months, member_orders

KEY_FIGURES = ("member_growth_rate", "repurchase_rate", "average_order_value", "churn_rate", "activity_rate")
HIGHER_IS_BETTER = {"member_growth_rate": True, "repurchase_rate": True, "average_order_value": True,
                    "churn_rate": False, "activity_rate": True}


def _ratio(numerator, denominator) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


def _scalar(expr) -> float:
    value = expr.execute()
    return 0 if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _orders_in(orders: ibis.Table, period: str) -> ibis.Table:
    start, end = period_bounds(period)
    o = member_orders(orders)
    return o.filter((o.order_date >= _day(start)) & (o.order_date <= _day(end)))


def member_growth_rate(members: ibis.Table, period: str) -> float:
    """Members who joined in ``period`` / members who had joined before it."""
    start, end = period_bounds(period)
    counts = members.aggregate(new=((members.join_date >= _day(start)) & (members.join_date <= _day(end))).sum(),
                               base=(members.join_date < _day(start)).sum()).to_pyarrow().to_pylist()[0]
    return _ratio(counts["new"] or 0, counts["base"] or 0)


def repurchase_rate(orders: ibis.Table, period: str) -> float:
    """Members with two or more orders in ``period`` / members with at least one."""
    o = _orders_in(orders, period)
    per_member = o.filter(o.amount > 0).group_by("member_id").agg(n=lambda t: t.order_id.nunique())
    counts = per_member.aggregate(buyers=per_member.count(), repeat=(per_member.n >= 2).sum())
    row = counts.to_pyarrow().to_pylist()[0]
    return _ratio(row["repeat"] or 0, row["buyers"] or 0)


def average_order_value(orders: ibis.Table, period: str) -> float:
    """Net member revenue in ``period`` / member orders in it (returns net against revenue)."""
    o = _orders_in(orders, period)
    row = o.aggregate(revenue=o.amount.sum(), orders=o.order_id.nunique(where=o.amount > 0)).to_pyarrow().to_pylist()[0]
    return _ratio(row["revenue"] or 0.0, row["orders"] or 0)


def churn_rate(orders: ibis.Table, period: str, active_window_days: int = 90) -> float:
    """Share of the members active at the start of ``period`` who are no longer active at its end."""
    start, end = period_bounds(period)
    before = active_members(orders, start - _dt.timedelta(days=1), active_window_days)
    after = active_members(orders, end, active_window_days)
    n_before = _scalar(before.count())
    lost = _scalar(before.anti_join(after, "member_id").count())
    return _ratio(lost, n_before)


def activity_rate(orders: ibis.Table, members: ibis.Table, period: str, active_window_days: int = 90) -> float:
    """Members active at the end of ``period`` / members who had joined by then."""
    _, end = period_bounds(period)
    joined = members.filter(members.join_date <= _day(end)).select("member_id")
    active = active_members(orders, end, active_window_days).semi_join(joined, "member_id")
    return _ratio(_scalar(active.count()), _scalar(joined.count()))


def data_start(orders: ibis.Table) -> _dt.date | None:
    """The day of the first member order in the data (None when there is none)."""
    o = member_orders(orders)
    value = o.order_date.min().execute()
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def short_history(period: str, first_day: _dt.date | None, active_window_days: int = 90) -> set[str]:
    """The figures whose window reaches before the data begins in ``period``: they are not known.

    Churn needs the activity window before the period's start, activity the one before its end,
    growth a base of members that the data could have seen (the same window before the start);
    repurchase and AOV need the whole period inside the data. A figure computed anyway would
    read 0% churn, 100% activity or a growth of every buyer being new.
    """
    if first_day is None:
        return set(KEY_FIGURES)
    start, end = period_bounds(period)
    window = _dt.timedelta(days=active_window_days)
    out = set()
    if first_day > start - window:
        out |= {"member_growth_rate", "churn_rate"}
    if first_day > end - window + _dt.timedelta(days=1):
        out.add("activity_rate")
    if first_day > start:
        out |= {"repurchase_rate", "average_order_value"}
    return out


def key_figures(orders: ibis.Table, members: ibis.Table, period: str, active_window_days: int = 90,
                first_day: _dt.date | None = None) -> dict[str, float]:
    """The five figures for one period, keyed by the function that computes each.

    A figure whose window reaches before the data begins (:func:`short_history`; ``first_day``
    defaults to the first member order) is NaN: not enough history, never a 100% or a 0%.
    """
    first_day = first_day or data_start(orders)
    unknown = short_history(period, first_day, active_window_days)
    figures = {
        "member_growth_rate": lambda: member_growth_rate(members, period),
        "repurchase_rate": lambda: repurchase_rate(orders, period),
        "average_order_value": lambda: average_order_value(orders, period),
        "churn_rate": lambda: churn_rate(orders, period, active_window_days),
        "activity_rate": lambda: activity_rate(orders, members, period, active_window_days),
    }
    return {k: math.nan if k in unknown else f() for k, f in figures.items()}


def key_figures_compared(orders, members, period: str, active_window_days: int = 90) -> pd.DataFrame:
    """The five figures for ``period``, the previous period and the same period a year earlier."""
    periods = {"current": period, "previous": previous_period(period), "year_ago": same_period_last_year(period)}
    first_day = data_start(orders)
    frame = pd.DataFrame({k: key_figures(orders, members, p, active_window_days, first_day) for k, p in periods.items()})
    frame["vs_previous"] = frame.current - frame.previous
    frame["vs_year_ago"] = frame.current - frame.year_ago
    frame.index.name = "figure"
    return frame


def key_figures_trend(orders, members, period: str, months: int = 12, active_window_days: int = 90) -> pd.DataFrame:
    """The five figures for each of the ``months`` periods ending with ``period`` (one row per month)."""
    last = pd.Period(period, "M")
    first_day = data_start(orders)
    rows = {str(p): key_figures(orders, members, str(p), active_window_days, first_day)
            for p in pd.period_range(last - (months - 1), last, freq="M")}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "period"
    return frame


def cohort_retention(orders: ibis.Table, members: ibis.Table, period: str, cohorts: int = 12) -> pd.DataFrame:
    """Share of each join-month cohort with a purchase k months after joining (k = 0, 1, ...).

    Rows are the ``cohorts`` join months ending with ``period``; columns are months since
    joining; cells after ``period`` are empty (not yet observed).
    """
    last = pd.Period(period, "M")
    first = last - (cohorts - 1)
    start, _ = period_bounds(str(first))
    _, end = period_bounds(period)
    m = members.filter((members.join_date >= _day(start)) & (members.join_date <= _day(end)))
    m = m.select("member_id", cohort=m.join_date.truncate("M"))
    mm = member_months(orders)
    mm = mm.filter(mm.month <= _day(end))
    j = m.inner_join(mm, "member_id")
    j = j.mutate(months_since=j.month.delta(j.cohort, unit="month"))
    j = j.filter(j.months_since >= 0)
    active = j.group_by(["cohort", "months_since"]).agg(buyers=j.member_id.nunique()).to_pandas()
    active["cohort"] = pd.to_datetime(active.cohort)
    sizes = m.group_by("cohort").agg(members=m.count()).to_pandas()
    sizes = sizes.set_index(pd.to_datetime(sizes.cohort)).members
    index = pd.DatetimeIndex([p.start_time for p in pd.period_range(first, last, freq="M")])
    grid = active.pivot(index="cohort", columns="months_since", values="buyers").reindex(index)
    grid = grid.reindex(columns=range(cohorts)).fillna(0)
    sizes = sizes.reindex(index).fillna(0)
    share = grid.div(sizes.where(sizes > 0), axis=0)
    for i, cohort in enumerate(index):   # months after the period are not yet observed
        share.iloc[i, cohorts - i:] = float("nan")
    share.index = index.strftime("%Y-%m")
    share.index.name = "cohort"
    share.insert(0, "members", sizes.to_numpy().astype(int))
    return share
