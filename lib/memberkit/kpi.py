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
from .summary import _day, active_members, as_float, member_months, member_orders, purchase_line

KEY_FIGURES = ("member_growth_rate", "repurchase_rate", "average_order_value", "churn_rate", "activity_rate")
# The month's summary page adds the two sizes an executive asks for first.
MONTH_FIGURES = ("member_revenue", "active_members") + KEY_FIGURES
HIGHER_IS_BETTER = {"member_growth_rate": True, "repurchase_rate": True, "average_order_value": True,
                    "churn_rate": False, "activity_rate": True, "member_revenue": True, "active_members": True}


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
    per_member = o.filter(purchase_line(o)).group_by("member_id").agg(n=lambda t: t.order_id.nunique())
    counts = per_member.aggregate(buyers=per_member.count(), repeat=(per_member.n >= 2).sum())
    row = counts.to_pyarrow().to_pylist()[0]
    return _ratio(row["repeat"] or 0, row["buyers"] or 0)


def average_order_value(orders: ibis.Table, period: str) -> float:
    """Net member revenue in ``period`` / member orders in it (returns net against revenue)."""
    o = _orders_in(orders, period)
    row = o.aggregate(revenue=as_float(o.amount.sum()),
                      orders=o.order_id.nunique(where=purchase_line(o))).to_pyarrow().to_pylist()[0]
    return _ratio(row["revenue"] or 0.0, row["orders"] or 0)


def churn_rate(orders: ibis.Table, period: str, active_window_days: int = 90) -> float:
    """Share of the members active at the start of ``period`` who are no longer active at its end."""
    start, end = period_bounds(period)
    before = active_members(orders, start - _dt.timedelta(days=1), active_window_days)
    after = active_members(orders, end, active_window_days)
    n_before = _scalar(before.count())
    lost = _scalar(before.anti_join(after, "member_id").count())
    return _ratio(lost, n_before)


def _joined_by_end(members: ibis.Table, period: str) -> ibis.Table:
    _, end = period_bounds(period)
    return members.filter(members.join_date <= _day(end)).select("member_id")


def active_members_at_end(orders: ibis.Table, members: ibis.Table, period: str, active_window_days: int = 90) -> int:
    """Members who had joined by the last day of ``period`` and bought in the ``active_window_days`` up to it."""
    _, end = period_bounds(period)
    active = active_members(orders, end, active_window_days).semi_join(_joined_by_end(members, period), "member_id")
    return int(_scalar(active.count()))


def activity_rate(orders: ibis.Table, members: ibis.Table, period: str, active_window_days: int = 90) -> float:
    """Members active at the end of ``period`` / members who had joined by then."""
    return _ratio(active_members_at_end(orders, members, period, active_window_days),
                  _scalar(_joined_by_end(members, period).count()))


def member_revenue(orders: ibis.Table, period: str) -> float:
    """Net member revenue in ``period`` (returns netted, guest orders left out), in the data's currency."""
    o = _orders_in(orders, period)
    return float(_scalar(o.amount.sum()))


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


def figures_compared(month: dict, period: str | None = None) -> pd.DataFrame:
    """The five figures for ``period`` (default the last month of ``month``), the previous period and
    the same period a year earlier, read from the month figures (``month.json``, :func:`month_figures`).

    Returns one row per figure of :data:`KEY_FIGURES` with columns ``current``, ``previous``,
    ``year_ago`` (rates as fractions, AOV in the data's currency; NaN unknown) and the differences
    ``vs_previous``, ``vs_year_ago``. A month outside the file is NaN.
    """
    period = period or month["months"][-1]
    at = month_frame(month)
    periods = {"current": period, "previous": previous_period(period), "year_ago": same_period_last_year(period)}
    frame = pd.DataFrame({k: at.loc[p, list(KEY_FIGURES)] if p in at.index else pd.Series(math.nan, index=KEY_FIGURES)
                          for k, p in periods.items()}).astype("float64")
    frame["vs_previous"] = frame.current - frame.previous
    frame["vs_year_ago"] = frame.current - frame.year_ago
    frame.index.name = "figure"
    return frame


def figures_trend(month: dict, months: int = 12) -> pd.DataFrame:
    """The five figures for each of the last ``months`` months of the month figures (one row per month,
    index ``period`` oldest first); ``ValueError`` when the file holds fewer months."""
    at = month_frame(month)
    if months > len(at):
        raise ValueError(f"the month figures hold {len(at)} months; {months} were asked for")
    return at.iloc[-months:][list(KEY_FIGURES)]


def month_frame(month: dict) -> pd.DataFrame:
    """The month figures (``month.json``'s dict) as a frame: one row per month, one column per figure, NaN unknown."""
    frame = pd.DataFrame({k: pd.Series(v, dtype="float64") for k, v in month["figures"].items()})
    frame.index = pd.Index(month["months"], name="period")
    return frame


def month_figures(orders: ibis.Table, members: ibis.Table, period: str, months: int = 13,
                  active_window_days: int = 90) -> pd.DataFrame:
    """Member revenue, active members and the five key figures for the ``months`` months ending with ``period``.

    One row per month (index ``period``, oldest first), one column per name in
    :data:`MONTH_FIGURES`. With the default 13 months the last row is ``period``, the one
    before it the previous month and the first the same month a year earlier, so the summary
    page needs no earlier published run. Each figure is the one its function above gives for that
    month (rates are fractions, revenue is in the data's currency), from the same counts and sums,
    but gathered for every month at once in four engine queries (:func:`_month_counts`) instead of
    nine per month: on Spark each query costs a fraction of a second whatever its size. A figure of
    a month the data does not fully cover (:func:`short_history`) is NaN.
    """
    from .calls import record_call
    record_call("month_figures", period=period, months=months, active_window_days=active_window_days)
    last = pd.Period(period, "M")
    periods = [str(p) for p in pd.period_range(last - (months - 1), last, freq="M")]
    first_day = data_start(orders)
    counts = _month_counts(orders, members, periods, active_window_days)
    rows = {}
    for p in periods:
        c, unknown = counts[p], short_history(p, first_day, active_window_days)
        figures = {"member_revenue": float(c["revenue"] or 0), "active_members": int(c["active_end"]),
                   "member_growth_rate": _ratio(c["new"], c["base"]),
                   "repurchase_rate": _ratio(c["repeat"], c["buyers"]),
                   "average_order_value": _ratio(c["revenue_float"] or 0.0, c["orders"]),
                   "churn_rate": _ratio(c["lost"], c["active_before"]),
                   "activity_rate": _ratio(c["active_end"], c["joined"])}
        unknown |= {"member_revenue"} if "average_order_value" in unknown else set()
        unknown |= {"active_members"} if "activity_rate" in unknown else set()
        rows[p] = {k: math.nan if k in unknown else v for k, v in figures.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index")[list(MONTH_FIGURES)]
    frame.index.name = "period"
    return frame


def _month_counts(orders: ibis.Table, members: ibis.Table, periods: list[str], active_window_days: int) -> dict:
    """Per period: the counts and sums behind the month figures, as the one-month functions take them
    (:func:`member_revenue`, :func:`average_order_value`, :func:`repurchase_rate`,
    :func:`member_growth_rate`, :func:`churn_rate`, :func:`activity_rate`), in four queries for all periods."""
    bounds = {p: period_bounds(p) for p in periods}
    o = member_orders(orders)
    o = o.filter((o.order_date >= _day(bounds[periods[0]][0])) & (o.order_date <= _day(bounds[periods[-1]][1])))
    o = o.mutate(_month=o.order_date.year() * 100 + o.order_date.month())
    key = {p: int(p[:4]) * 100 + int(p[5:]) for p in periods}
    sums = {r["_month"]: r for r in o.group_by("_month").agg(
        revenue=o.amount.sum(), revenue_float=as_float(o.amount.sum()),
        orders=o.order_id.nunique(where=purchase_line(o))).to_pyarrow().to_pylist()}
    buys = o.filter(purchase_line(o)).group_by(["_month", "member_id"]).agg(n=lambda t: t.order_id.nunique())
    repeats = {r["_month"]: r for r in buys.group_by("_month").agg(buyers=buys.count(), repeat=(buys.n >= 2).sum())
               .to_pyarrow().to_pylist()}
    jd = members.join_date
    joined = members.aggregate(**{f"{k}_{i}": v for i, p in enumerate(periods) for k, v in (
        ("new", ((jd >= _day(bounds[p][0])) & (jd <= _day(bounds[p][1]))).sum()),
        ("base", (jd < _day(bounds[p][0])).sum()),
        ("joined", (jd <= _day(bounds[p][1])).cast("int64").sum()))}).to_pyarrow().to_pylist()[0]
    # active at a date: a purchase in the window up to it (summary.active_members), for every month's
    # day before its start and its last day; joined by the end as in _joined_by_end
    ends = {p: bounds[p][1] for p in periods}
    befores = {p: bounds[p][0] - _dt.timedelta(days=1) for p in periods}
    days = sorted(set(ends.values()) | set(befores.values()))
    window = _dt.timedelta(days=active_window_days)
    b = member_orders(orders)
    b = b.filter(purchase_line(b) & (b.order_date > _day(days[0] - window)) & (b.order_date <= _day(days[-1])))
    active = b.group_by("member_id").agg(**{f"a_{d:%Y%m%d}": ((b.order_date > _day(d - window)) & (b.order_date <= _day(d)))
                                             .any() for d in days})
    first_join = members.filter(members.join_date.notnull()).group_by("member_id").agg(_jd=members.join_date.min())
    active = active.left_join(first_join, "member_id")

    def on(d):
        return active[f"a_{d:%Y%m%d}"]
    flows = active.aggregate(**{f"{k}_{i}": v.cast("int64").sum() for i, p in enumerate(periods) for k, v in (
        ("active_before", on(befores[p])), ("lost", on(befores[p]) & ~on(ends[p])),
        ("active_end", on(ends[p]) & (active._jd <= _day(ends[p])).fill_null(False)))}).to_pyarrow().to_pylist()[0]
    out = {}
    for i, p in enumerate(periods):
        s, r = sums.get(key[p], {}), repeats.get(key[p], {})
        out[p] = {"revenue": s.get("revenue"), "revenue_float": s.get("revenue_float"), "orders": s.get("orders") or 0,
                  "buyers": r.get("buyers") or 0, "repeat": r.get("repeat") or 0,
                  **{k: (joined[f"{k}_{i}"] or 0) for k in ("new", "base", "joined")},
                  **{k: (flows[f"{k}_{i}"] or 0) for k in ("active_before", "lost", "active_end")}}
    return out


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
