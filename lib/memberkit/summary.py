"""Transaction-scale aggregation: the clean order log -> one row per member (or per member x month).

Every function here takes and returns Ibis expressions, so the work runs in the engine
(embedded DuckDB by default) and only member-scale results reach pandas via ``.to_pandas()``.

Definitions used by every report (DOMAIN.md):

- an *order* is a distinct ``order_id`` with a paid line (an order of zero is a purchase too);
  return and cancellation lines are not orders (:func:`purchase_line`);
- *revenue* is net: paid amounts plus returns (negative); cancelled orders were rejected by cleaning;
- money in the clean tables is DECIMAL (exact sums in the engine); what reaches pandas is float64;
- guest orders (no member id) are outside member analytics;
- a date window ``(end - days, end]`` holds ``days`` calendar days ending on ``end``.

Example
-------
>>> import datetime as dt, ibis
>>> orders = ibis.memtable({"member_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
...     "order_date": [dt.date(2026, 1, 5), dt.date(2026, 1, 20), dt.date(2025, 6, 1)],
...     "amount": [100.0, 50.0, 80.0]})
>>> s = member_summary(orders, dt.date(2026, 1, 31), window_days=365).order_by("member_id").to_pandas()
>>> s[["member_id", "recency_days", "frequency", "monetary"]].values.tolist()
[['a', 11, 2, 150.0], ['b', 244, 1, 80.0]]

At several end dates in one query (none before the first order):

>>> ends = [dt.date(2025, 5, 31), dt.date(2026, 1, 10), dt.date(2026, 1, 31)]
>>> m = member_summaries(orders, ends, window_days=365).order_by(["end", "member_id"]).to_pandas()
>>> [(str(e)[:10], i, r, f) for e, i, r, f in m[["end", "member_id", "recency_days", "frequency"]].values]
[('2026-01-10', 'a', 5, 1), ('2026-01-10', 'b', 223, 1), ('2026-01-31', 'a', 11, 2), ('2026-01-31', 'b', 244, 1)]
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import ibis
import pandas as pd

from . import engine


# ------------------------------------------------------------------ the clean tables
def without_outliers(orders: ibis.Table, exclude: bool = True) -> ibis.Table:
    """The order log without the bulk purchases the cleaning flagged, when ``exclude``.

    The models (CLV) and the experiment and campaign comparisons leave them out: a bulk order
    is not a member's own buying, and one of them outweighs a whole variant's response.
    """
    if exclude and "is_outlier" in orders.columns:
        return orders.filter(~flagged(orders))
    return orders


def flagged(orders: ibis.Table) -> ibis.Value:
    """True on the lines of an order the cleaning flagged as an outlier (a bulk purchase far above the
    usual basket, kept under the outlier policy ``flag``); False everywhere when the table has no flag."""
    if "is_outlier" not in orders.columns:
        return ibis.literal(False)
    return orders.is_outlier.fill_null(False)


def flagged_by_month(orders: ibis.Table, months: list[str]) -> dict:
    """The members' orders the cleaning flagged as bulk purchases, per month of ``months`` (``YYYY-MM``).

    They stay in member revenue and the average order value (the policy ``flag`` keeps them), so a
    page that shows those figures can say how much of them is bulk. Returns ``{"orders": [...],
    "revenue": [...]}``, one value per month in the order given (0 where there is none): distinct
    flagged orders with a purchase line and their net revenue (float, summed exactly in the engine).
    One engine query.
    """
    from .periods import period_bounds
    zero = {"orders": [0] * len(months), "revenue": [0.0] * len(months)}
    if not months or "is_outlier" not in orders.columns:
        return zero
    first, _ = period_bounds(min(months))
    _, last = period_bounds(max(months))
    o = member_orders(orders)
    o = o.filter(flagged(o) & (o.order_date >= ibis.literal(first, type="date"))
                 & (o.order_date <= ibis.literal(last, type="date")))
    g = o.group_by(o.order_date.strftime("%Y-%m").name("month")).agg(
        orders=o.order_id.nunique(where=purchase_line(o)), revenue=as_float(o.amount.sum())).to_pandas()
    g = g.set_index("month").reindex(months)
    return {"orders": [int(x) if pd.notna(x) else 0 for x in g.orders],
            "revenue": [float(x) if pd.notna(x) else 0.0 for x in g.revenue]}


# ------------------------------------------------------------------ per member
def purchase_line(orders: ibis.Table) -> ibis.Value:
    """True for a line of a purchase: status paid in the clean tables (an order of zero included);
    in a table without a status, a line that is not negative."""
    if "status" in orders.columns:
        return orders.status != "returned"
    return orders.amount >= 0


def as_float(x: ibis.Value) -> ibis.Value:
    """A money aggregate as float64, for member-scale frames in pandas (sums stay exact in the engine)."""
    return x.cast("float64")


def member_orders(orders: ibis.Table) -> ibis.Table:
    """Order lines of members only (guests are outside member analytics)."""
    return orders.filter(orders.member_id.notnull())


def member_frame(t: ibis.Table, key: str = "member_id"):
    """A member-scale engine table as a pandas frame in ``key`` order (stable sort, index 0..n-1).

    The engine returns rows in no fixed order; float sums and tie-breaks over the frame follow
    its row order, so every member frame is put in one order before any of them.
    """
    return t.to_pandas().sort_values(key, kind="stable").reset_index(drop=True)


def _day(d: _dt.date) -> ibis.Value:
    return ibis.literal(d, type="date")


def in_window(orders: ibis.Table, end: _dt.date, days: int) -> ibis.Value:
    """True for orders dated in the ``days`` calendar days ending on ``end``."""
    return (orders.order_date > _day(end - _dt.timedelta(days=days))) & (orders.order_date <= _day(end))


def member_summary(orders: ibis.Table, end: _dt.date, window_days: int = 365) -> ibis.Table:
    """Per member with any order up to ``end``: recency, frequency and spend in the window, first/last order.

    Columns: member_id, first_order_date, last_order_date (purchases, over all history up to
    ``end``), recency_days (``end`` minus the last purchase), frequency (orders in the window),
    monetary (net revenue in the window), orders_total, revenue_total (all history up to ``end``),
    and monetary_bulk / revenue_total_bulk: the part of monetary / revenue_total in orders the
    cleaning flagged as bulk purchases (:func:`flagged`; 0 without the flag), so a report that leaves
    them out, as the models do, can say how much it left out. Money in the shop's currency, float64.
    """
    return _with_recency(_summaries_at(orders, [end], window_days)[0], _day(end))


def member_summaries(orders: ibis.Table, ends: Iterable[_dt.date], window_days: int = 365) -> ibis.Table:
    """:func:`member_summary` at each of several end dates, in one engine query.

    ``ends`` is a sequence of dates (repeats count once). The result has one row per end date and
    member with any order up to that date: ``end`` (date) followed by the columns of
    :func:`member_summary` with the same values, recency_days counted from that row's ``end`` and
    frequency and monetary value (net revenue, the shop's currency, summed exactly and given as
    float64) over the ``window_days`` calendar days ending on it. An end date before every order
    has no rows. Rows come in no fixed order (use :func:`member_frame` per date).

    Raises ``ValueError`` when ``ends`` is empty. Example: the module's.
    """
    days = sorted({pd.Timestamp(d).date() for d in ends})
    if not days:
        raise ValueError("member_summaries needs at least one end date")
    wide, columns = _summaries_at(orders, days, window_days)
    if len(days) == 1:
        agg = wide.mutate(end=_day(days[0]))
    else:
        # one row per member and end date: each column taken from its date's block of the wide row
        dates = ibis.memtable({"end": days, "_at": list(range(len(days)))}, schema={"end": "date", "_at": "int64"})
        j = wide.cross_join(dates)
        agg = j.select("end", "member_id", **{c: ibis.cases(*((j._at == i, j[f"{c}_{i}"]) for i in range(len(days))))
                                               for c in columns})
    return _with_recency(agg.select("end", "member_id", *columns), agg.end)


def _summaries_at(orders: ibis.Table, days: list[_dt.date], window_days: int) -> tuple[ibis.Table, list[str]]:
    """The aggregates of :func:`member_summary` at each of ``days``, one row per member: column
    ``<name>_<i>`` is ``<name>`` at ``days[i]`` (a single date's columns carry no suffix). Returns the
    table (members with any line up to the last date) and the names.

    Two groupings instead of a join of the order lines to the dates and a distinct count per date:
    the lines are first grouped per order (whether it holds a purchase line up to each date and in
    its window, its money and dates), so counting a member's orders is counting rows. An order's
    lines may carry different dates (a return booked later), so each date's test is taken per line
    before the lines are grouped; the counts equal the distinct counts of order ids.
    """
    o = member_orders(orders)
    o = o.filter(o.order_date <= _day(days[-1]))
    # a line without an order id is in the money and the dates but, as in a distinct count, in no order
    o = o.mutate(_buy=purchase_line(o), _bulk=flagged(o), _counted=purchase_line(o) & o.order_id.notnull())
    suffix = (lambda i: "") if len(days) == 1 else (lambda i: f"_{i}")
    columns = ["first_order_date", "last_order_date", "frequency", "monetary", "orders_total", "revenue_total",
               "monetary_bulk", "revenue_total_bulk"]

    def per_order(o: ibis.Table) -> dict:
        out = {}
        for i, d in enumerate(days):
            k = suffix(i)
            upto = o.order_date <= _day(d)
            window = upto & (o.order_date > _day(d - _dt.timedelta(days=window_days)))
            out |= {f"_in_window{k}": (o._counted & window).any(), f"_bought{k}": (o._counted & upto).any(),
                    f"first_order_date{k}": o.order_date.min(where=o._buy & upto),
                    f"last_order_date{k}": o.order_date.max(where=o._buy & upto),
                    f"monetary{k}": o.amount.sum(where=window), f"revenue_total{k}": o.amount.sum(where=upto),
                    f"monetary_bulk{k}": o.amount.sum(where=window & o._bulk),
                    f"revenue_total_bulk{k}": o.amount.sum(where=upto & o._bulk)}
        return out

    def per_member(s: ibis.Table) -> dict:
        out = {}
        for i in range(len(days)):
            k = suffix(i)
            out |= {f"first_order_date{k}": s[f"first_order_date{k}"].min(),
                    f"last_order_date{k}": s[f"last_order_date{k}"].max(),
                    f"frequency{k}": s.member_id.count(where=s[f"_in_window{k}"]),
                    f"monetary{k}": as_float(s[f"monetary{k}"].sum()),
                    f"orders_total{k}": s.member_id.count(where=s[f"_bought{k}"]),
                    f"revenue_total{k}": as_float(s[f"revenue_total{k}"].sum()),
                    f"monetary_bulk{k}": as_float(s[f"monetary_bulk{k}"].sum()),
                    f"revenue_total_bulk{k}": as_float(s[f"revenue_total_bulk{k}"].sum())}
        return out

    def summarised(lines: ibis.Table) -> ibis.Table:
        s = lines.group_by(["member_id", "order_id"]).agg(**per_order(lines))
        return s.group_by("member_id").agg(**per_member(s))
    # at tens of millions of lines one aggregation's states outgrow the engine's memory: by parts of the members
    buckets = engine.aggregation_buckets(o, len(columns) * len(days))
    return engine.by_buckets(o, "member_id", buckets, summarised), columns


def _with_recency(agg: ibis.Table, end: ibis.Value) -> ibis.Table:
    """Members with a purchase only, with recency_days (days from the last purchase to ``end``) and no NULL monetary value."""
    agg = agg.filter(agg.last_order_date.notnull())
    return agg.mutate(recency_days=end.delta(agg.last_order_date, unit="day"), monetary=agg.monetary.fill_null(0.0),
                      monetary_bulk=agg.monetary_bulk.fill_null(0.0), revenue_total_bulk=agg.revenue_total_bulk.fill_null(0.0))


def member_totals(orders: ibis.Table) -> ibis.Table:
    """Per member (guests left out) over every line of ``orders`` (the clean order log or any part of it):
    ``orders``, distinct orders with a purchase line (int64), and ``revenue``, net spend (float64,
    returns subtracted). An engine expression; one row per member with an order line."""
    o = member_orders(orders)
    # per order first, so the orders are counted as rows (see _summaries_at)
    s = o.group_by(["member_id", "order_id"]).agg(_bought=(purchase_line(o) & o.order_id.notnull()).any(),
                                                   revenue=o.amount.sum())
    agg = s.group_by("member_id").agg(orders=s.member_id.count(where=s._bought), revenue=s.revenue.sum())
    return agg.mutate(revenue=as_float(agg.revenue).fill_null(0.0))


def member_concentration(per_member: ibis.Table, share: float) -> dict:
    """Whether single members hold more than ``share`` of all orders or of all revenue.

    ``per_member`` is a member-scale engine table with ``member_id``, ``orders`` and ``revenue``
    (:func:`member_totals`, or an RFM member table's frequency and monetary value as ``ibis.memtable``);
    ``share`` a fraction, 0 < share <= 1 (the settings' ``dominant_member_share``, default 0.05).
    The totals and the filter run in the engine; only the members above the share reach pandas.

    Returns plain data: ``threshold`` (``share``); ``with``, the totals of every member (``members``,
    ``orders``, ``revenue``, ``aov`` = revenue / orders or None); ``dominant``, each member above the
    share, largest revenue first (``member``: the id masked by :func:`memberkit.identity.mask_member_id`,
    never the id itself; ``orders``, ``revenue``, ``orders_share``, ``revenue_share``); ``without``,
    the same totals with those members left out. A share of a total of zero or less is None and
    flags nobody. Raises ``ValueError`` for a share outside (0, 1].

    A concentration check of the kind auditors run on customer ledgers (the largest customer's share
    of sales); here one account of a million orders must not pass for a segment's behaviour.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], got {share!r}")
    # the per-member table is read twice (totals, then the members above the share): built once
    with per_member.cache() as t:
        return _concentration(t, share)


def _concentration(t: ibis.Table, share: float) -> dict:
    from .identity import mask_member_id
    # each member's revenue is whole cents: summed as cents, the total does not depend on the order of the rows
    totals = t.aggregate(members=t.count(), orders=t.orders.sum(),
                         revenue=t.revenue.cast("decimal(38, 2)").sum()).to_pyarrow().to_pylist()[0]
    members, orders, revenue = int(totals["members"] or 0), float(totals["orders"] or 0), float(totals["revenue"] or 0)
    tests = ([t.orders > share * orders] if orders > 0 else []) + ([t.revenue > share * revenue] if revenue > 0 else [])
    top = (t.filter(ibis.or_(*tests)).select("member_id", "orders", "revenue")
           .order_by([ibis.desc("revenue"), ibis.desc("orders"), "member_id"]).to_pandas()) if tests else pd.DataFrame(
        columns=["member_id", "orders", "revenue"])

    def figures(n, o, r):
        return {"members": int(n), "orders": int(round(o)), "revenue": round(float(r), 2),
                "aov": round(r / o, 2) if o > 0 else None}
    return {"threshold": share, "with": figures(members, orders, revenue),
            "dominant": [{"member": mask_member_id(x.member_id), "orders": int(x.orders), "revenue": round(float(x.revenue), 2),
                          "orders_share": float(x.orders) / orders if orders > 0 else None,
                          "revenue_share": float(x.revenue) / revenue if revenue > 0 else None}
                         for x in top.itertuples()],
            "without": figures(members - len(top), orders - float(top.orders.sum()), revenue - float(top.revenue.sum()))}


def active_members(orders: ibis.Table, at: _dt.date, window_days: int) -> ibis.Table:
    """Members with a purchase in the ``window_days`` up to ``at`` (DOMAIN.md: active at a date)."""
    o = member_orders(orders)
    o = o.filter(purchase_line(o) & in_window(o, at, window_days))
    return o.select("member_id").distinct()


def member_months(orders: ibis.Table) -> ibis.Table:
    """Distinct (member_id, month) pairs with a purchase; month as the first day of the month."""
    o = member_orders(orders)
    o = o.filter(purchase_line(o))
    return o.select(member_id=o.member_id, month=o.order_date.truncate("M")).distinct()


# ------------------------------------------------------------------ for the purchase models (CLV)
def purchase_days(orders: ibis.Table, end: _dt.date) -> ibis.Table:
    """One row per member and day with a purchase up to ``end``: the day's net value (exact decimal).

    The purchase models count days, not order lines: several orders on one day are one
    transaction (the convention of Fader, Hardie and Lee). A purchase is any line that is not a
    return (:func:`purchase_line`; an order of zero is a purchase, e.g. CDNOW's free items). Returns
    on a day without a purchase are not a transaction and do not enter spend here.
    """
    o = member_orders(orders)
    o = o.filter(o.order_date <= _day(end))
    days = o.group_by(["member_id", "order_date"]).agg(value=o.amount.sum(), purchases=purchase_line(o).sum())
    return days.filter(days.purchases > 0).drop("purchases")


def clv_summary(orders: ibis.Table, calibration_end: _dt.date, observation_end: _dt.date | None = None,
                days: ibis.Table | None = None) -> ibis.Table:
    """Per member with a purchase by ``calibration_end``: the inputs of BG/NBD and Gamma-Gamma, in days.

    frequency (repeat purchase days), recency_days (first to last purchase day), T_days (first
    purchase to ``calibration_end``), monetary_value (mean value of the repeat days with a positive
    value; 0 without one), spend_days (those days: the spend model's frequency, so an order of zero
    counts as a purchase but stays out of the spend model), first_purchase; and when ``observation_end`` is later: frequency_holdout,
    monetary_holdout (total value of the holdout days) and duration_holdout_days.

    ``days``: ``purchase_days(orders, observation_end or calibration_end)`` when the caller already
    has it (e.g. cached once for several summaries); computed from ``orders`` when not given.
    """
    end = observation_end or calibration_end
    days = purchase_days(orders, end) if days is None else days
    cal = days.filter(days.order_date <= _day(calibration_end))
    cal = cal.mutate(first=cal.order_date.min().over(group_by="member_id"))
    per = cal.group_by("member_id").agg(
        first_purchase=cal.first.min(), last_purchase=cal.order_date.max(), n=cal.count(),
        repeat_value=cal.value.sum(where=(cal.order_date > cal.first) & (cal.value > 0)),
        spend_days=((cal.order_date > cal.first) & (cal.value > 0)).sum())
    per = per.mutate(frequency=per.n - 1,
                     recency_days=per.last_purchase.delta(per.first_purchase, unit="day"),
                     T_days=_day(calibration_end).delta(per.first_purchase, unit="day"))
    per = per.mutate(monetary_value=ibis.ifelse(per.spend_days > 0, as_float(per.repeat_value) / per.spend_days, 0.0))
    per = per.select("member_id", "first_purchase", "frequency", "recency_days", "T_days", "monetary_value",
                     "spend_days")
    if observation_end is None or observation_end <= calibration_end:
        return per
    hold = days.filter(days.order_date > _day(calibration_end))
    hold = hold.group_by("member_id").agg(frequency_holdout=hold.count(), monetary_holdout=as_float(hold.value.sum()))
    j = per.left_join(hold, "member_id").drop("member_id_right")
    return j.mutate(frequency_holdout=j.frequency_holdout.fill_null(0), monetary_holdout=j.monetary_holdout.fill_null(0.0),
                    duration_holdout_days=ibis.literal((observation_end - calibration_end).days))


def repeat_purchases_by_day(orders: ibis.Table, first_by: _dt.date, end: _dt.date,
                            days: ibis.Table | None = None) -> ibis.Table:
    """Repeat purchase days per calendar day, for members whose first purchase is on or before
    ``first_by`` (the calibration cohort of the tracking plot). ``days``: ``purchase_days(orders,
    end)`` when the caller already has it, as for :func:`clv_summary`."""
    days = purchase_days(orders, end) if days is None else days
    days = days.mutate(first=days.order_date.min().over(group_by="member_id"))
    rep = days.filter((days.first <= _day(first_by)) & (days.order_date > days.first))
    return rep.group_by("order_date").agg(repeat_purchases=rep.count()).order_by("order_date")


# ------------------------------------------------------------------ for experiments and campaigns
def window_outcomes(orders: ibis.Table, units: ibis.Table, keys: list[str], windows: list[str]) -> ibis.Table:
    """What each unit (a member in an experiment or campaign) bought in named time windows.

    ``units`` has one row per ``keys`` with ``member_id`` and, for every window ``w``, the
    timestamps ``w_start`` (included) and ``w_end`` (excluded). Per unit and window the result
    has ``orders_w`` (distinct paid orders), ``revenue_w`` (net, returns included),
    ``discount_w`` (on paid orders), ``first_w`` and ``last_w`` (times of the first and last paid
    order, or NULL). Money is summed exactly in the orders' DECIMAL and the sum given as float64.
    Units without any order keep their row, with zeros. Rows are in ``keys`` order.
    """
    o = member_orders(orders)
    lo = units[f"{windows[0]}_start"].min()
    hi = units[f"{windows[0]}_end"].max()
    for w in windows[1:]:
        lo, hi = ibis.least(lo, units[f"{w}_start"].min()), ibis.greatest(hi, units[f"{w}_end"].max())
    o = o.filter((o.order_ts >= lo.as_scalar()) & (o.order_ts < hi.as_scalar()))
    o = o.select(_member=o.member_id, _order=o.order_id, _ts=o.order_ts, _amount=o.amount,
                 _discount=o.discount, _paid=purchase_line(o))
    j = units.left_join(o, units.member_id == o._member)
    paid = j._paid
    aggs = {}
    for w in windows:
        inside = (j._ts >= j[f"{w}_start"]) & (j._ts < j[f"{w}_end"])
        aggs[f"orders_{w}"] = j._order.nunique(where=inside & paid)
        aggs[f"revenue_{w}"] = as_float(j._amount.sum(where=inside))
        aggs[f"discount_{w}"] = as_float(j._discount.sum(where=inside & paid))
        aggs[f"first_{w}"] = j._ts.min(where=inside & paid)
        aggs[f"last_{w}"] = j._ts.max(where=inside & paid)
    out = j.group_by(keys).agg(**aggs)
    out = out.mutate(**{c: out[c].fill_null(0.0) for c in aggs if c.startswith(("revenue_", "discount_"))},
                     **{c: out[c].fill_null(0) for c in aggs if c.startswith("orders_")})
    return out.order_by(keys)


def experiment_units(experiments: ibis.Table, experiment_ids: list[str], window_days: int, pre_days: int) -> ibis.Table:
    """One row per member and experiment with its variant, the assignment time, and the windows
    ``pre`` (the ``pre_days`` before assignment) and ``post`` (the ``window_days`` after).

    A member found in more than one variant of an experiment (two accounts of one person merged
    by the cleaning, or a logging fault) cannot be attributed; the cleaning sets such rows aside
    (and collapses repeated rows of one member in one variant), and ``variants`` still counts
    them so a caller given uncleaned rows can leave them out. Outcome columns the experiments
    table carries (``outcome__<name>``) come along, one value per member.
    """
    e = experiments.filter(experiments.experiment_id.isin(experiment_ids) & experiments.member_id.notnull())
    outcomes = {c: e[c].max() for c in e.columns if c.startswith("outcome__")}
    u = e.group_by(["experiment_id", "member_id"]).agg(variant=e.variant.min(), variants=e.variant.nunique(),
                                                       assigned_ts=e.assigned_ts.min(), **outcomes)
    return u.mutate(pre_start=u.assigned_ts - ibis.interval(days=pre_days), pre_end=u.assigned_ts,
                    post_start=u.assigned_ts, post_end=u.assigned_ts + ibis.interval(days=window_days))


def campaign_units(campaign_members: ibis.Table, campaigns: ibis.Table, campaign_ids: list[str], *, pre_days: int,
                   post_days: int, history_days: int, silent_days: int, data_end: _dt.date) -> ibis.Table:
    """One row per member and campaign (target and holdout) with the windows the review measures.

    Windows (start included, end excluded; days are calendar days of the campaign's dates):
    ``before`` all history before the start; ``history`` the ``history_days`` before it (value);
    ``silent`` the ``silent_days`` before it (reactivation); ``pre`` the ``pre_days`` before it
    (difference in differences); ``during`` the campaign's own days; ``post`` the ``post_days``
    after its end, cut at ``data_end``.
    """
    cm = campaign_members.filter(campaign_members.campaign_id.isin(campaign_ids) & campaign_members.member_id.notnull())
    c = campaigns.filter(campaigns.campaign_id.isin(campaign_ids)).select("campaign_id", "start", "end")
    u = cm.join(c, "campaign_id")
    return with_campaign_windows(u, pre_days=pre_days, post_days=post_days, history_days=history_days,
                                 silent_days=silent_days, data_end=data_end)


def with_campaign_windows(u: ibis.Table, *, pre_days: int, post_days: int, history_days: int, silent_days: int,
                          data_end: _dt.date) -> ibis.Table:
    """Add the review windows of :func:`campaign_units` to rows holding ``start`` and ``end`` dates."""
    start = u.start.cast("timestamp")
    stop = (u.end + ibis.interval(days=1)).cast("timestamp")
    last = ibis.literal(data_end + _dt.timedelta(days=1)).cast("timestamp")
    post_end = ibis.least(stop + ibis.interval(days=post_days), last)
    return u.mutate(before_start=ibis.literal(_dt.datetime(1900, 1, 1)), before_end=start,
                    history_start=start - ibis.interval(days=history_days), history_end=start,
                    silent_start=start - ibis.interval(days=silent_days), silent_end=start,
                    pre_start=start - ibis.interval(days=pre_days), pre_end=start,
                    during_start=start, during_end=stop, post_start=stop, post_end=post_end)


def daily_orders(orders: ibis.Table, units: ibis.Table, first_day: _dt.date, last_day: _dt.date) -> ibis.Table:
    """Paid orders and net revenue per unit group and day, weighted by each member's ``weight``.

    ``units`` holds member_id, group and weight (1 for randomised groups; a matched baseline
    carries its matching weights). Days without orders are absent; the caller divides by the
    group's total weight.
    """
    o = member_orders(orders)
    o = o.filter((o.order_date >= _day(first_day)) & (o.order_date <= _day(last_day)))
    per = o.group_by(["member_id", "order_date"]).agg(orders=o.order_id.nunique(where=purchase_line(o)),
                                                      revenue=as_float(o.amount.sum()))
    j = units.join(per, "member_id")
    return j.group_by(["group", "order_date"]).agg(orders=(j.orders * j.weight).sum(),
                                                    revenue=(j.revenue * j.weight).sum()).order_by(["group", "order_date"])
