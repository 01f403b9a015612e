"""Why a figure changed between two months: exact splits into drivers, member flows and groups.

Three splits of one change ``V1 - V0`` (this month against the previous month, or against the
same month a year earlier), each summing to the change:

- **drivers**: a figure written as a product of factors, ``V = x1^e1 * x2^e2 * ...`` with
  ``e = +1`` or ``-1`` (member revenue = members x activity rate x orders per active member x
  average order value; a rate = numerator / denominator). Where every factor is positive in both
  months the split is the additive LMDI-I (Ang 2005, "The LMDI approach to decomposition
  analysis: a practical guide", Energy Policy 33, 867-871): ``dV_k = L(V1, V0) e_k ln(x1k / x0k)``
  with the logarithmic mean ``L(a, b) = (a - b) / (ln a - ln b)``. Where a value is zero or
  negative (net revenue can be, once returns are netted) the logarithm is undefined and the split
  is the Shapley value of the factors (Shorrocks 2013, "Decomposition procedures for
  distributional analysis: a unified framework based on the Shapley value", J. Econ. Inequality
  11, 99-126): each factor's change averaged over every order of switching the factors from
  their old to their new value. Both are exact: the parts sum to the change.
- **flows** (member revenue): the members who bought in only one of the two months or in both:
  new (first order after the earlier month), reactivated (ordered before the earlier month, not in
  it), retained (both months: the difference of their revenue) and lost (the earlier month only:
  minus its revenue). Zero residual by construction.
- **bulk orders**: orders the cleaning flagged as bulk purchases (outlier policy ``flag``) stay in
  member revenue, but one of them can outweigh a city's month. Member revenue's drivers, flows and
  groups are therefore taken without them, and their change is one more driver and flow
  (``bulk_orders``); drivers and flows still sum to the whole change, groups (and the tier and
  segment split) to the change without the bulk orders.
- **groups**: the figure as a sum over groups (region, channel, new vs returning members) of a
  weight times a rate: for a sum (member revenue, active members) the group's volume times its
  rate, for a ratio the group's share of the denominator times its rate. Each group's
  contribution ``w1 r1 - w0 r0`` is split two ways by the midpoint (two-factor Shapley) rule:
  mix ``(w1 - w0)(r0 + r1)/2`` and rate ``(r1 - r0)(w0 + w1)/2``; a group present in one month
  only is all mix. Contributions sum to the change (Kitagawa 1955, "Components of a difference
  between two rates", JASA 50, 1168-1194, in its symmetric form).

Transaction-scale work is one engine aggregation per comparison (:func:`month_facts`); the splits
are small pandas/float arithmetic. Results are numbers and codes; the summary page words them.

Example
-------
>>> split = driver_split({"members": 100, "activity_rate": 0.2}, {"members": 120, "activity_rate": 0.25})
>>> split["method"], round(split["total_change"], 6), [d["name"] for d in split["drivers"]]
('lmdi_i', 10.0, ['members', 'activity_rate'])
>>> round(sum(d["contribution"] for d in split["drivers"]), 9)
10.0
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

import ibis
import pandas as pd

#: Each figure as a product of drivers: (driver code, exponent). Member revenue and active members
#: are sizes; the rates are numerator / denominator.
DRIVERS: dict[str, tuple[tuple[str, int], ...]] = {
    "member_revenue": (("members", 1), ("activity_rate", 1), ("orders_per_active_member", 1),
                       ("average_order_value", 1)),
    "active_members": (("members", 1), ("activity_rate", 1)),
    "average_order_value": (("revenue", 1), ("orders", -1)),
    "repurchase_rate": (("repeat_buyers", 1), ("buyers", -1)),
    "activity_rate": (("active_members", 1), ("members", -1)),
    "churn_rate": (("lapsed_in_month", 1), ("active_at_start", -1)),
    "member_growth_rate": (("joined_in_month", 1), ("joined_before", -1)),
}
#: Each figure over groups: (numerator column, denominator column, "sum" or "ratio") of :func:`month_facts`.
GROUP_FORM: dict[str, tuple[str, str, str]] = {
    # member revenue over groups without the orders the cleaning flagged as bulk purchases: one bulk
    # order would otherwise be read as a city's or a channel's growth; their change is a line of its own
    "member_revenue": ("own_revenue", "buyers", "sum"),
    "active_members": ("active_members", "members", "sum"),
    "average_order_value": ("revenue", "orders", "ratio"),
    "repurchase_rate": ("repeat_buyers", "buyers", "ratio"),
    "activity_rate": ("active_members", "members", "ratio"),
    "churn_rate": ("lapsed_in_month", "active_at_start", "ratio"),
    "member_growth_rate": ("joined_in_month", "joined_before", "ratio"),
}
#: Figures that are sizes (a sum over members), whose groups also get a driver split of their own.
SIZE_FIGURES = ("member_revenue", "active_members")
#: Group dimensions: member attributes (region, channel from the member table) and whether the
#: member joined in that month.
DIMENSIONS = ("region", "channel", "new_vs_returning")
#: Dimensions taken from the RFM member tables at each month's own end (a member who changes tier or
#: segment between the months counts as mix); computed by the RFM report, which owns those tables.
MEMBER_DIMENSIONS = ("tier", "segment")
FLOWS = ("new", "reactivated", "retained", "lost")
METHODS = {"drivers": "lmdi_i where all positive, else shapley", "groups": "midpoint mix/rate",
           "flows": "new/reactivated/retained/lost"}
FACT_COLUMNS = ("revenue", "orders", "buyers", "repeat_buyers", "members", "active_members",
                "active_at_start", "lapsed_in_month", "joined_in_month", "joined_before", "bulk_revenue", "bulk_orders")
#: The driver, flow and group row of the orders the cleaning flagged as bulk purchases (outlier policy
#: ``flag``): member revenue keeps them, its split shows their change on its own.
BULK = "bulk_orders"


def attribution_settings() -> dict:
    """What the splits are made of (month.json's stamp): the dimensions, the drivers and the methods."""
    return {"dimensions": list(DIMENSIONS), "flows": list(FLOWS), "methods": dict(METHODS),
            "drivers": {k: [list(d) for d in v] for k, v in DRIVERS.items()}}


# ------------------------------------------------------------------ the arithmetic
def log_mean(a: float, b: float) -> float:
    """The logarithmic mean ``(a - b) / (ln a - ln b)`` of two positive numbers (``a`` when equal).

    Raises ``ValueError`` for a value that is not positive.
    """
    if a <= 0 or b <= 0:
        raise ValueError(f"the logarithmic mean needs positive values, got {a} and {b}")
    if a == b:
        return a
    return (a - b) / (math.log(a) - math.log(b))


def _product(values: Sequence[float], exponents: Sequence[int]) -> float:
    out = 1.0
    for v, e in zip(values, exponents):
        out *= v if e == 1 else 1.0 / v
    return out


def lmdi_contributions(before: Sequence[float], after: Sequence[float], exponents: Sequence[int]) -> list[float]:
    """LMDI-I additive contributions of each factor of ``V = prod x_k^e_k`` (Ang 2005, eq. 5 for one sector).

    ``before``/``after``: the factors in the two months, all positive (``ValueError`` otherwise).
    The contributions sum to ``V1 - V0`` exactly (up to float rounding).
    """
    if any(v <= 0 for v in [*before, *after]):
        raise ValueError("LMDI needs every factor positive in both months")
    v0, v1 = _product(before, exponents), _product(after, exponents)
    weight = log_mean(v1, v0)
    return [weight * e * math.log(x1 / x0) for x0, x1, e in zip(before, after, exponents)]


def shapley_contributions(before: Sequence[float], after: Sequence[float], exponents: Sequence[int]) -> list[float]:
    """Shapley contributions of each factor of ``V = prod x_k^e_k`` (Shorrocks 2013).

    Each factor's marginal effect of switching from ``before`` to ``after``, averaged over all
    ``n!`` orders (computed over the ``2^(n-1)`` subsets with their weights). Defined for zero and
    negative factors; a factor with exponent -1 must not be zero in either month (``ValueError``).
    """
    n = len(before)
    if any(e == -1 and (x0 == 0 or x1 == 0) for x0, x1, e in zip(before, after, exponents)):
        raise ValueError("a divisor is zero: the figure is not defined")
    out = []
    for k in range(n):
        others = [i for i in range(n) if i != k]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for switched in itertools.combinations(others, size):
                state = [after[i] if i in switched else before[i] for i in range(n)]
                lo = _product(state, exponents)
                state[k] = after[k]
                total += weight * (_product(state, exponents) - lo)
        out.append(total)
    return out


def driver_split(before: Mapping[str, float], after: Mapping[str, float],
                 exponents: Mapping[str, int] | None = None) -> dict:
    """The change of ``V = prod x_k^e_k`` split among its factors.

    Parameters
    ----------
    before, after : factor code -> value in the earlier and the later month (same keys, same order)
    exponents : factor code -> +1 or -1 (default +1 each)

    Returns ``{"method": "lmdi_i" | "shapley", "before", "after", "total_change",
    "drivers": [{"name", "before", "after", "contribution"}]}`` in the factors' order; LMDI-I when every factor is
    positive in both months, else Shapley. Raises ``ValueError`` when a divisor is zero.
    """
    names = list(before)
    e = [int((exponents or {}).get(n, 1)) for n in names]
    x0, x1 = [float(before[n]) for n in names], [float(after[n]) for n in names]
    if all(v > 0 for v in [*x0, *x1]):
        method, parts = "lmdi_i", lmdi_contributions(x0, x1, e)
    else:
        method, parts = "shapley", shapley_contributions(x0, x1, e)
    v0, v1 = _product(x0, e), _product(x1, e)
    return {"method": method, "before": v0, "after": v1, "total_change": v1 - v0,
            "drivers": [{"name": n, "before": a, "after": b, "contribution": c}
                        for n, a, b, c in zip(names, x0, x1, parts)]}


def group_split(before: pd.DataFrame, after: pd.DataFrame, form: str) -> list[dict]:
    """The change of a figure over groups, each group's contribution split into mix and rate.

    ``before``/``after``: one row per group (index: the group's value), columns ``num`` and
    ``den``. ``form`` ``"sum"``: the figure is ``sum(num)``, a group's weight its ``den`` (volume)
    and its rate ``num / den``; ``"ratio"``: the figure is ``sum(num) / sum(den)``, a group's
    weight its share of ``sum(den)``. Returns ``[{"group", "contribution", "mix", "rate"}]``
    ranked by absolute contribution (ties by group), summing to the figure's change; a group with
    no denominator in one of the months is all mix. ``ValueError`` for another form or a ratio
    whose denominator is zero in a month.
    """
    if form not in ("sum", "ratio"):
        raise ValueError(f"form must be 'sum' or 'ratio', not {form!r}")
    # by plain dicts: a missing group (None, or NaN in a string index) does not survive reindexing
    b, a = _by_group(before), _by_group(after)
    groups = sorted(set(b) | set(a), key=lambda g: (g is None, str(g)))
    if form == "ratio":
        d0, d1 = sum(w for _, w in b.values()), sum(w for _, w in a.values())
        if d0 == 0 or d1 == 0:
            raise ValueError("the figure's denominator is zero in a month")
    else:
        d0 = d1 = 1.0
    rows = []
    for g in groups:
        (n0, w0), (n1, w1) = b.get(g, (0.0, 0.0)), a.get(g, (0.0, 0.0))
        contribution = n1 / d1 - n0 / d0
        if w0 > 0 and w1 > 0:
            r0, r1 = n0 / w0, n1 / w1
            s0, s1 = w0 / d0, w1 / d1
            mix, rate = (s1 - s0) * (r0 + r1) / 2, (r1 - r0) * (s0 + s1) / 2
        else:
            mix, rate = contribution, 0.0
        rows.append({"group": g, "contribution": contribution, "mix": mix, "rate": rate})
    rows.sort(key=lambda r: -abs(r["contribution"]))   # stable: ties keep the groups' order
    return rows


def _by_group(frame: pd.DataFrame) -> dict:
    """group -> (num, den), a missing group (None or NaN) as None; groups appearing twice are added."""
    out: dict = {}
    for g, n, d in zip(frame.index, frame["num"], frame["den"]):
        key = None if g is None or (isinstance(g, float) and math.isnan(g)) else g
        n0, d0 = out.get(key, (0.0, 0.0))
        out[key] = (n0 + (0.0 if pd.isna(n) else float(n)), d0 + (0.0 if pd.isna(d) else float(d)))
    return out


# ------------------------------------------------------------------ the engine aggregation
def _bounds(period: str) -> tuple[_dt.date, _dt.date]:
    from .periods import period_bounds
    return period_bounds(period)


def month_facts(orders: ibis.Table, members: ibis.Table, periods: Sequence[str],
                active_window_days: int = 90) -> pd.DataFrame:
    """The counts behind every figure, per month and group, from one engine aggregation.

    One row per (period, region, channel, new_vs_returning) with :data:`FACT_COLUMNS`: net member
    revenue (currency), orders, buyers, repeat buyers (2+ orders), members joined by the month's
    end, those of them active at its end (a purchase in the ``active_window_days`` up to it),
    members active at the month's start (the day before), those of them not active at its end,
    members who joined in the month and before it; and per (period) the flows of member revenue
    are in :func:`revenue_flows`. Definitions as :mod:`memberkit.kpi` (guests left out; members of
    the orders missing from the member table count for revenue, orders, buyers and churn, with
    region and channel unknown). ``new_vs_returning`` is ``new`` for a member who joined in that
    month. Summed over groups the columns give the month figures of :func:`memberkit.kpi.month_figures`.
    """
    from .summary import _day, flagged, member_orders, purchase_line
    o = member_orders(orders)
    o = o.mutate(_buy=purchase_line(o), _bulk=flagged(o))
    w = _dt.timedelta(days=active_window_days)
    aggs = {}
    for i, p in enumerate(periods):
        start, end = _bounds(p)
        in_p = (o.order_date >= _day(start)) & (o.order_date <= _day(end))
        aggs[f"orders_{i}"] = o.order_id.nunique(where=in_p & o._buy)
        aggs[f"revenue_{i}"] = o.amount.sum(where=in_p)
        aggs[f"bulkorders_{i}"] = o.order_id.nunique(where=in_p & o._buy & o._bulk)
        aggs[f"bulkrevenue_{i}"] = o.amount.sum(where=in_p & o._bulk)
        before = start - _dt.timedelta(days=1)
        aggs[f"start_{i}"] = (o._buy & (o.order_date > _day(before - w)) & (o.order_date <= _day(before))).any()
        aggs[f"end_{i}"] = (o._buy & (o.order_date > _day(end - w)) & (o.order_date <= _day(end))).any()
    per = o.group_by("member_id").agg(**aggs)
    m = members.select("member_id", "join_date",   # a member table without a column: that dimension is all unknown
                       **{c: members[c] if c in members.columns else ibis.null("string") for c in ("region", "channel")})
    j = per.outer_join(m, per.member_id == m.member_id)
    j = j.select(member_id=ibis.coalesce(j.member_id, j.member_id_right), join_date=j.join_date,
                 region=j.region, channel=j.channel,
                 **{k: j[k] for k in aggs})
    parts = []
    for i, p in enumerate(periods):
        start, end = _bounds(p)
        orders_i = j[f"orders_{i}"].fill_null(0)
        joined_by_end = (j.join_date <= _day(end)).fill_null(False)
        active_end = j[f"end_{i}"].fill_null(False)
        active_start = j[f"start_{i}"].fill_null(False)
        joined_in = ((j.join_date >= _day(start)) & (j.join_date <= _day(end))).fill_null(False)
        t = j.mutate(period=ibis.literal(p), new_vs_returning=ibis.ifelse(joined_in, "new", "returning"))
        parts.append(t.group_by(["period", "region", "channel", "new_vs_returning"]).agg(
            revenue=j[f"revenue_{i}"].sum().cast("float64"),
            bulk_revenue=j[f"bulkrevenue_{i}"].sum().cast("float64"),
            bulk_orders=j[f"bulkorders_{i}"].fill_null(0).sum(),
            orders=orders_i.sum(),
            buyers=(orders_i > 0).sum(),
            repeat_buyers=(orders_i >= 2).sum(),
            members=joined_by_end.sum(),
            active_members=(joined_by_end & active_end).sum(),
            active_at_start=active_start.sum(),
            lapsed_in_month=(active_start & ~active_end).sum(),
            joined_in_month=joined_in.sum(),
            joined_before=(j.join_date < _day(start)).fill_null(False).sum(),
        ))
    facts = ibis.union(*parts).to_pandas()
    facts[list(FACT_COLUMNS)] = facts[list(FACT_COLUMNS)].fillna(0).astype("float64")
    facts["own_revenue"] = facts.revenue - facts.bulk_revenue
    facts = facts.astype({"region": "object", "channel": "object"})
    facts[["region", "channel"]] = facts[["region", "channel"]].where(facts[["region", "channel"]].notna(), None)
    keys = ["period", "region", "channel", "new_vs_returning"]
    return facts.sort_values(keys, key=lambda s: s.fillna("\uffff"), kind="stable").reset_index(drop=True)


def revenue_flows(orders: ibis.Table, base: str, period: str) -> list[dict]:
    """Member revenue of ``period`` against ``base`` (an earlier month) split by member flow.

    ``[{"flow", "contribution"}]`` in :data:`FLOWS` order, in the data's currency: ``new`` (revenue
    in ``period`` of members whose first order line is after ``base``), ``reactivated`` (lines
    before ``base``, none in it), ``retained`` (lines in both: revenue in ``period`` minus in
    ``base``), ``lost`` (lines in ``base`` only: minus that revenue). They sum to the change of
    member revenue exactly (money summed as DECIMAL in the engine).
    """
    from .summary import _day, member_orders
    o = member_orders(orders)
    b0, b1 = _bounds(base)
    p0, p1 = _bounds(period)
    in_b = (o.order_date >= _day(b0)) & (o.order_date <= _day(b1))
    in_p = (o.order_date >= _day(p0)) & (o.order_date <= _day(p1))
    per = o.group_by("member_id").agg(first=o.order_date.min(), rev_b=o.amount.sum(where=in_b),
                                      rev_p=o.amount.sum(where=in_p), in_b=in_b.any(), in_p=in_p.any())
    flow = ibis.cases((per.in_b & per.in_p, "retained"), (per.in_b, "lost"),
                      (per.in_p & (per["first"] > _day(b1)), "new"), (per.in_p, "reactivated"),
                      else_=ibis.null("string"))
    per = per.mutate(flow=flow)
    per = per.filter(per.flow.notnull())
    zero = ibis.literal(0).cast(per.rev_p.type())
    change = per.rev_p.fill_null(zero) - per.rev_b.fill_null(zero)
    got = per.group_by("flow").agg(contribution=change.sum().cast("float64")).to_pandas()
    by = dict(zip(got["flow"], got["contribution"]))
    return [{"flow": f, "contribution": float(by.get(f, 0.0))} for f in FLOWS]


# ------------------------------------------------------------------ one month against another
def _total(values: pd.Series) -> float:
    """The sum of ``values`` (money in minor units, counts) as decimals, rounded to a float once; missing
    values skipped as pandas' sum does. Each float is read as its shortest decimal (0.1 as 0.1), so
    the groups' money adds up to the month's exact figure."""
    return float(sum((Decimal(repr(float(v))) for v in values.dropna()), Decimal(0)))


def _figure(facts: pd.DataFrame, figure: str) -> float:
    num, den, form = GROUP_FORM[figure]
    num = "revenue" if figure == "member_revenue" else num     # the figure itself keeps the bulk orders
    # as decimals: the groups' money adds up to the month's figure as the cards give it (899380.23, not
    # 899380.2299999999 from adding the groups' floats in turn)
    n, d = _total(facts[num]), _total(facts[den])
    if form == "sum":
        return n
    return n / d if d else math.nan


def _driver_values(facts: pd.DataFrame, figure: str) -> dict[str, float]:
    s = {c: _total(facts[c]) for c in FACT_COLUMNS}
    if figure in ("member_revenue", "active_members"):
        values = {"members": s["members"],
                  "activity_rate": s["active_members"] / s["members"] if s["members"] else math.nan}
        if figure == "member_revenue":     # without the bulk orders, whose change is a driver of its own
            own_orders, own_revenue = s["orders"] - s["bulk_orders"], s["revenue"] - s["bulk_revenue"]
            values["orders_per_active_member"] = own_orders / s["active_members"] if s["active_members"] else math.nan
            values["average_order_value"] = own_revenue / own_orders if own_orders else math.nan
        return values
    return {name: s[name] for name, _ in DRIVERS[figure]}


def compare_months(facts: pd.DataFrame, figure: str, base: str, period: str, flows: list[dict] | None = None) -> dict | None:
    """One figure's change from ``base`` to ``period``: total, drivers, groups (and flows when given).

    ``facts``: :func:`month_facts` holding both months. Returns None when the figure is not
    defined in one of them (a zero denominator); otherwise ``{"total_change", "method",
    "drivers", "groups", "flows"}`` as in month.json's ``attribution`` (see the module docstring).
    """
    f0, f1 = facts[facts.period == base], facts[facts.period == period]
    if f0.empty or f1.empty:
        return None
    v0, v1 = _figure(f0, figure), _figure(f1, figure)
    if not (math.isfinite(v0) and math.isfinite(v1)):
        return None
    x0, x1 = _driver_values(f0, figure), _driver_values(f1, figure)
    exponents = dict(DRIVERS[figure])
    try:
        if not all(math.isfinite(v) for v in [*x0.values(), *x1.values()]):
            raise ValueError("a driver is not defined")
        split = driver_split(x0, x1, exponents)
    except ValueError:
        split = {"method": None, "drivers": []}
    bulk = _bulk_change(f0, f1) if figure == "member_revenue" else None
    if bulk and split["drivers"]:
        split["drivers"].append(bulk)
    num, den, form = GROUP_FORM[figure]
    groups = []
    for dim in DIMENSIONS:
        g0 = f0.groupby(dim, dropna=False)[[num, den]].sum().set_axis(["num", "den"], axis=1)
        g1 = f1.groupby(dim, dropna=False)[[num, den]].sum().set_axis(["num", "den"], axis=1)
        for row in group_split(_none_index(g0), _none_index(g1), form):
            if figure in SIZE_FIGURES:    # a size splits into drivers within its group too
                row["drivers"] = _group_drivers(f0, f1, figure, dim, row["group"])
            groups.append({"dimension": dim, **row})
    out = {"total_change": v1 - v0, "before": v0, "after": v1, "method": split["method"],
           "drivers": split["drivers"], "groups": groups}
    if flows is not None:
        out["flows"] = flows + ([{"flow": BULK, "contribution": bulk["contribution"]}] if bulk else [])
    return out


def _bulk_change(f0: pd.DataFrame, f1: pd.DataFrame) -> dict | None:
    """The change of the flagged bulk orders' revenue as a driver (None when neither month has one)."""
    b0, b1 = float(f0.bulk_revenue.sum()), float(f1.bulk_revenue.sum())
    if not (f0.bulk_orders.sum() or f1.bulk_orders.sum() or b0 or b1):
        return None
    return {"name": BULK, "before": b0, "after": b1, "contribution": b1 - b0}


def _group_drivers(f0: pd.DataFrame, f1: pd.DataFrame, figure: str, dim: str, group) -> list[dict]:
    """The driver split of a size figure within one group ([] where a driver is not defined in a month)."""
    pick = (lambda f: f[f[dim].isna()]) if group is None else (lambda f: f[f[dim] == group])
    x0, x1 = _driver_values(pick(f0), figure), _driver_values(pick(f1), figure)
    if not all(math.isfinite(v) for v in [*x0.values(), *x1.values()]):
        return []
    try:
        return driver_split(x0, x1, dict(DRIVERS[figure]))["drivers"]
    except ValueError:
        return []


def _none_index(frame: pd.DataFrame) -> pd.DataFrame:
    frame.index = [None if (isinstance(g, float) and math.isnan(g)) else g for g in frame.index]
    return frame


def member_month_revenue(orders: ibis.Table, periods: Sequence[str]) -> pd.DataFrame:
    """Each member's net revenue (currency) and orders in each of ``periods``, from one engine aggregation.

    Member-scale: one row per member with an order line in one of the months, columns
    ``member_id``, ``revenue_<i>``, ``orders_<i>`` for the i-th period (0 where none), in member id
    order. Definitions as :func:`month_facts` (guests left out, returns netted, orders counted from
    purchase lines) without the orders the cleaning flagged as bulk purchases, so the revenue summed
    over members is that month's member revenue less its bulk orders (as the groups of
    :func:`compare_months`).
    """
    t = member_month_amounts(orders, periods)
    revenue = [c for c in t.columns if c.startswith("revenue_")]
    frame = t.mutate(**{c: t[c].cast("float64") for c in revenue}).to_pandas()
    frame = frame.fillna({k: 0 for k in t.columns if k != "member_id"})
    return frame.sort_values("member_id", kind="stable").reset_index(drop=True)


def member_month_amounts(orders: ibis.Table, periods: Sequence[str]) -> ibis.Table:
    """:func:`member_month_revenue` as an engine expression, rows in no order: ``revenue_<i>`` the exact
    sum of the i-th month's amounts (the order log's decimal type; NULL where the member has no line
    that month), ``orders_<i>`` its orders (0 where none)."""
    from .summary import _day, member_orders, purchase_line, without_outliers
    o = member_orders(without_outliers(orders))
    o = o.mutate(_buy=purchase_line(o))
    aggs, any_line = {}, None
    for i, p in enumerate(periods):
        start, end = _bounds(p)
        in_p = (o.order_date >= _day(start)) & (o.order_date <= _day(end))
        aggs[f"revenue_{i}"] = o.amount.sum(where=in_p)
        aggs[f"orders_{i}"] = o.order_id.nunique(where=in_p & o._buy)
        any_line = in_p if any_line is None else any_line | in_p
    return o.filter(any_line).group_by("member_id").agg(**aggs)


def member_group_splits(orders: ibis.Table, periods: Sequence[str], groups: ibis.Table,
                        comparisons: Mapping[str, tuple[int, int]],
                        dimensions: Sequence[str] = MEMBER_DIMENSIONS) -> dict[str, list[dict]]:
    """:func:`member_group_split` of several comparisons, with the member tables kept in the engine.

    ``orders``: the clean order log (engine table); ``periods``: months ``YYYY-MM``; ``groups``: an engine
    table, one row per member (``member_id``) with ``<dimension>_<i>``: the member's group in the member
    table at the end of ``periods[i]`` (NULL where the member is not in it or has no value there;
    :func:`memberkit.rfm.member_groups`); ``comparisons``: name -> (column number before, column number
    after). Returns name -> the rows :func:`member_group_split` returns for those two months, with the same
    groups and revenue per group summed exactly (decimal) before it becomes float64, so it equals
    :func:`member_group_split` of :func:`member_month_revenue` to the float sums' rounding. One engine
    aggregation: the month amounts and the groups brought together by grouping both by member id (no
    join of member tables), then every member with an order line in one of the months grouped by their
    groups at every month's end (a few thousand rows at most), each dimension's groups added up in Python.
    """
    amounts = member_month_amounts(orders, periods)
    cols = range(len(periods))
    money = [f"revenue_{i}" for i in cols] + [f"orders_{i}" for i in cols]
    keys = [f"{d}_{i}" for i in cols for d in dimensions]
    left = amounts.select("member_id", *money, **{k: ibis.null().cast(groups[k].type()) for k in keys},
                          _amounts=ibis.literal(1))
    right = groups.select("member_id", **{c: ibis.null().cast(amounts[c].type()) for c in money}, **{k: groups[k] for k in keys},
                          _amounts=ibis.literal(0))
    u = ibis.union(left, right, distinct=False)
    j = u.group_by("member_id").agg(**{c: u[c].max() for c in money}, **{k: u[k].max() for k in keys},
                                    _amounts=u._amounts.max())
    j = j.filter(j._amounts == 1)
    cube = j.group_by(keys).agg(
        **{f"num_{i}": j[f"revenue_{i}"].sum() for i in cols},
        **{f"den_{i}": j[f"orders_{i}"].count(where=j[f"orders_{i}"] > 0) for i in cols}).to_pandas()

    def by_group(dim: str, col: int) -> pd.DataFrame:
        totals: dict = {}
        for key, num, den in zip(cube[f"{dim}_{col}"], cube[f"num_{col}"], cube[f"den_{col}"]):
            key = None if key is None or (isinstance(key, float) and math.isnan(key)) else key
            n0, d0 = totals.get(key, (Decimal(0), 0))
            totals[key] = (n0 + (Decimal(0) if num is None or pd.isna(num) else Decimal(num)),
                           d0 + int(den))
        return pd.DataFrame({"num": [float(n) for n, _ in totals.values()],
                             "den": [float(d) for _, d in totals.values()]},
                            index=pd.Index(list(totals), dtype=object))
    return {name: [{"dimension": dim, **row} for dim in dimensions
                   for row in group_split(by_group(dim, before), by_group(dim, after), "sum")]
            for name, (before, after) in comparisons.items()}


def member_group_split(per_member: pd.DataFrame, groups_before: pd.DataFrame, groups_after: pd.DataFrame,
                       before: int, after: int, dimensions: Sequence[str] = MEMBER_DIMENSIONS) -> list[dict]:
    """Member revenue's change split by member groups that are taken at each month's own end.

    ``per_member``: :func:`member_month_revenue` (``before``/``after``: the column numbers of the two
    months); ``groups_before``/``groups_after``: one row per member with ``member_id`` and a column per
    dimension (the RFM member tables at each month's end, :func:`memberkit.rfm.member_tables_at`).
    A member missing from a month's table, or without a value there, is in group None. Each group's
    part is split into mix (its buyers) and rate (revenue per buyer) by :func:`group_split`; a
    member who moved between groups counts in each month's own group, so the move changes the
    groups' buyers (mix) rather than their revenue per buyer.
    Returns ``[{"dimension", "group", "contribution", "mix", "rate"}]`` per dimension ranked by
    absolute contribution; each dimension's contributions sum to the change of member revenue.
    """
    # each month's groups looked up once for every dimension (by member id; a repeated id is refused)
    groups = {col: table.set_index("member_id")[list(dimensions)].reindex(per_member.member_id.to_numpy())
              for col, table in ((before, groups_before), (after, groups_after))}
    out = []
    for dim in dimensions:
        frames = []
        for col in (before, after):
            f = per_member[["member_id", f"revenue_{col}", f"orders_{col}"]].assign(
                **{dim: groups[col][dim].to_numpy()})
            f["buyer"] = (f[f"orders_{col}"] > 0).astype("float64")
            g = f.groupby(f[dim].astype("object").where(f[dim].notna(), "\uffff"), sort=True)[[f"revenue_{col}", "buyer"]].sum()
            g.index = pd.Index([None if k == "\uffff" else k for k in g.index], dtype=object)
            frames.append(g.set_axis(["num", "den"], axis=1))
        out.extend({"dimension": dim, **row} for row in group_split(frames[0], frames[1], "sum"))
    return out


def month_attribution(orders: ibis.Table, members: ibis.Table, period: str, figures: Mapping[str, Sequence],
                      months: Sequence[str], active_window_days: int = 90) -> dict:
    """Every month figure's change against the previous month and the same month a year earlier.

    ``figures``/``months``: :func:`memberkit.month.compute_figures`' figures (a figure unknown in a
    month, for too little history, is None there, and its comparisons are None too).
    Returns ``{figure: {"vs_previous": ..., "vs_year_ago": ...}}`` (:func:`compare_months`).
    """
    from .periods import previous_period, same_period_last_year
    from .summary import without_outliers
    bases = {"vs_previous": previous_period(period), "vs_year_ago": same_period_last_year(period)}
    facts = month_facts(orders, members, [period, *bases.values()], active_window_days)
    at = {name: dict(zip(months, values)) for name, values in figures.items()}
    out = {}
    for figure in GROUP_FORM:
        out[figure] = {}
        for key, base in bases.items():
            known = at.get(figure, {}).get(base) is not None and at.get(figure, {}).get(period) is not None
            flows = (revenue_flows(without_outliers(orders), base, period)
                     if known and figure == "member_revenue" else None)
            out[figure][key] = compare_months(facts, figure, base, period, flows) if known else None
    return out
