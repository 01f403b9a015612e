"""The member profile (会员画像): who the members are and where their money goes, for one month.

The part of the RFM report that the source articles build first: members by gender and age band,
category preference by RFM segment, stores ranked by member revenue against the previous month,
the month's new members with their sign-up channel and first-order value, and the members' share of
all sales against guests. Transaction-scale work runs in the engine (Ibis over the clean tables, as
:mod:`memberkit.summary` does); only group-scale frames (a few rows per gender, band, store, channel)
reach pandas. Results are numbers and codes; :mod:`memberkit.views.profile` words them.

Optional columns: a shop export without ``gender``, ``birth_date`` (the clean members keep only
``birth_year``), ``store_id`` or ``category`` does not fail the report. A column that is absent or
empty in every row makes its part *missing* (:data:`PARTS`): the part is left out and
:attr:`MemberProfile.missing` names it, so the page can say so.

Definitions:

- members: everyone in the clean members table who had joined by the period's end;
- age: the period end's year minus the birth year (the clean table keeps the year only, not the
  date, so a member whose birthday falls after the period end is counted one year older); an age
  outside 0-120 is unknown; bands :data:`AGE_BANDS`;
- gender: the cleaning's codes ``F`` and ``M``; any other text ``other``; empty ``unknown``;
- revenue is net (returns netted, as everywhere in the kit) and summed exactly in the engine;
- an order is a distinct ``order_id`` with a purchase line (:func:`memberkit.summary.purchase_line`);
  a guest order has no member id.

Example
-------
>>> import datetime as dt, ibis
>>> members = ibis.memtable({"member_id": ["a", "b", "c"], "join_date": [dt.date(2026, 1, 3)] * 3,
...     "gender": ["F", "M", None], "birth_year": [2000, 1980, None]})
>>> int(gender_age(members, dt.date(2026, 10, 31)).loc["F", "25_34"])
1
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from .report import plain
from .summary import as_float, flagged, member_orders, purchase_line

# (code, lowest age, highest age) of each band, youngest first; an unknown age is UNKNOWN
AGE_BANDS = (("under_25", 0, 24), ("25_34", 25, 34), ("35_44", 35, 44), ("45_54", 45, 54), ("55_plus", 55, 120))
GENDERS = ("F", "M", "other")
UNKNOWN = "unknown"
NOT_GIVEN = ""          # a line without category, a new member without sign-up channel
# each part of the profile that needs an optional column: (table, column)
PARTS = {"gender": ("members", "gender"), "age": ("members", "birth_year"),
         "category": ("orders", "category"), "store": ("orders", "store_id")}
STORES_SHOWN = 20       # the stores a page lists (the best first); the results keep them all


def _day(d: _dt.date) -> ibis.Value:
    return ibis.literal(d, type="date")


def missing_parts(tables: dict) -> list[str]:
    """The parts of :data:`PARTS` whose column is absent from its clean table or empty in every row.

    ``tables``: the clean engine tables (``orders`` and ``members``; a table that is not there makes
    its parts missing). Returns the part codes in :data:`PARTS`' order. One engine query per table.
    """
    out = []
    for table_name in ("members", "orders"):
        t = tables.get(table_name)
        cols = [(part, col) for part, (tn, col) in PARTS.items() if tn == table_name]
        present = [(part, col) for part, col in cols if t is not None and col in t.columns]
        counts = (t.aggregate(**{part: t[col].count() for part, col in present}).to_pandas().iloc[0].to_dict()
                  if present else {})
        out += [part for part, _ in cols if not counts.get(part)]
    return [part for part in PARTS if part in out]


def _gender(members: ibis.Table) -> ibis.Value:
    if "gender" not in members.columns:
        return ibis.literal(UNKNOWN)
    g = members.gender.cast("string").strip()
    return ibis.cases((g.isnull() | (g == ""), UNKNOWN), (g.isin(["F", "M"]), g), else_="other")


def _age_band(members: ibis.Table, end: _dt.date) -> ibis.Value:
    if "birth_year" not in members.columns:
        return ibis.literal(UNKNOWN)
    age = ibis.literal(end.year) - members.birth_year.cast("int64")
    return ibis.cases(*(((age >= lo) & (age <= hi), code) for code, lo, hi in AGE_BANDS), else_=UNKNOWN)


def gender_age(members: ibis.Table, end: _dt.date) -> pd.DataFrame:
    """Members who had joined by ``end`` counted by gender (rows: ``F``, ``M``, ``other``, ``unknown``)
    and age band at ``end`` (columns: :data:`AGE_BANDS`' codes, then ``unknown``).

    ``members``: the clean members table (member_id, join_date; gender and birth_year when the shop
    has them: without one, every member is ``unknown`` on it). Returns int64 counts, zero-filled.
    """
    m = members.filter(members.join_date.cast("date") <= _day(end))
    g = m.mutate(gender=_gender(m), age_band=_age_band(m, end)).group_by(["gender", "age_band"]).agg(
        members=m.member_id.count())
    counts = g.to_pandas()
    rows, cols = [*GENDERS, UNKNOWN], [code for code, _, _ in AGE_BANDS] + [UNKNOWN]
    out = counts.pivot_table(index="gender", columns="age_band", values="members", aggfunc="sum") \
        .reindex(index=rows, columns=cols).fillna(0).astype("int64")
    out.index.name, out.columns.name = "gender", "age_band"
    return out


def category_by_segment(orders: ibis.Table, table: pd.DataFrame, end: _dt.date, window_days: int) -> pd.DataFrame:
    """Net revenue per high/low segment and category over the RFM window, with each category's share
    of its segment's revenue (the segment's category preference).

    ``orders``: the clean order log (engine); ``table``: the RFM member table
    (:func:`memberkit.rfm.member_table`: member_id, segment); ``end`` and ``window_days`` the RFM window
    (``window_days`` calendar days ending on ``end``). Returns one row per segment and category:
    segment (key), category (the shop's text, :data:`NOT_GIVEN` for a line without one), revenue
    (float, summed exactly in the engine), orders, share (of the segment's revenue; NaN when that is
    not positive), in segment then revenue-descending order (category text breaks ties).
    """
    from .rfm import schemes, segmented
    from .summary import in_window
    seg = segmented(table)[["member_id", "segment"]].astype({"member_id": "string", "segment": "string"})
    columns = ["segment", "category", "revenue", "orders", "share"]
    if seg.empty:
        return pd.DataFrame(columns=columns)
    o = member_orders(orders)
    o = o.filter(in_window(o, end, window_days))
    o = o.mutate(_cat=o.category.cast("string").fill_null(NOT_GIVEN) if "category" in o.columns
                 else ibis.literal(NOT_GIVEN), _buy=purchase_line(o))
    j = o.inner_join(ibis.memtable(seg, schema={"member_id": "string", "segment": "string"}), "member_id")
    g = j.group_by(["segment", j._cat.name("category")]).agg(
        revenue=as_float(j.amount.sum()), orders=j.order_id.nunique(where=j._buy)).to_pandas()
    total = g.groupby("segment").revenue.transform("sum")
    g["share"] = (g.revenue / total.where(total > 0)).astype(float)
    order = {k: i for i, k in enumerate(schemes()["high_low"].keys)}
    g["_o"] = g.segment.map(order)
    g = g.sort_values(["_o", "revenue", "category"], ascending=[True, False, True], kind="stable")
    return g[columns].astype({"orders": "int64"}).reset_index(drop=True)


def _month_lines(orders: ibis.Table, start: _dt.date, end: _dt.date) -> ibis.Table:
    return orders.filter((orders.order_date >= _day(start)) & (orders.order_date <= _day(end)))


def store_ranking(orders: ibis.Table, period: str) -> pd.DataFrame:
    """Stores ranked by member revenue in ``period`` (``YYYY-MM``), with the previous month's and the change.

    Member lines with a store id only (guests and online orders without a store are not a store's
    member revenue). Orders the cleaning flagged as outliers (bulk purchases: :func:`flagged`) are
    left out of the ranking in both months, as the models leave them out
    (:func:`memberkit.summary.without_outliers`): one bulk order is not a store's growth. What they
    brought this month is kept beside the ranking (bulk_revenue, bulk_orders), so nothing is hidden.
    Returns one row per store with member revenue in either month: store_id, rank (1 = most revenue
    this month), revenue, orders and members (distinct buyers) this month, previous_revenue, change
    (revenue / previous_revenue - 1; NaN when the previous month had no positive revenue),
    bulk_revenue and bulk_orders (the flagged orders this month, left out of the others), sorted by
    rank (store id breaks ties). Money is summed exactly in the engine.
    """
    from .periods import period_bounds, previous_period
    start, end = period_bounds(period)
    prev_start, _ = period_bounds(previous_period(period))
    columns = ["store_id", "rank", "revenue", "orders", "members", "previous_revenue", "change",
               "bulk_revenue", "bulk_orders"]
    if "store_id" not in orders.columns:
        return pd.DataFrame(columns=columns)
    o = member_orders(orders)
    o = _month_lines(o.filter(o.store_id.notnull()), prev_start, end)
    now, bulk = o.order_date >= _day(start), flagged(o)
    buy = purchase_line(o)
    g = o.group_by(o.store_id.cast("string").name("store_id")).agg(
        revenue=as_float(o.amount.sum(where=now & ~bulk).fill_null(0)),
        orders=o.order_id.nunique(where=now & buy & ~bulk), members=o.member_id.nunique(where=now & buy & ~bulk),
        previous_revenue=as_float(o.amount.sum(where=~now & ~bulk).fill_null(0)),
        bulk_revenue=as_float(o.amount.sum(where=now & bulk).fill_null(0)),
        bulk_orders=o.order_id.nunique(where=now & buy & bulk)).to_pandas()
    g = g.sort_values(["revenue", "store_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    g["rank"] = np.arange(1, len(g) + 1)
    g["change"] = g.revenue / g.previous_revenue.where(g.previous_revenue > 0) - 1
    return g[columns].astype({"orders": "int64", "members": "int64", "rank": "int64", "bulk_orders": "int64"})


def new_members(members: ibis.Table, orders: ibis.Table, period: str) -> pd.DataFrame:
    """The members who joined in ``period`` by sign-up channel, with their first order's value.

    A new member's first order is its earliest purchase (order time, then order id) up to the
    period's end, whenever it was; its value is the sum of that order's purchase lines. Returns one
    row per channel code (:data:`NOT_GIVEN` for none; sorted by new members, most first, then code)
    and a last row ``total`` (all new members; every sum taken in the engine, not added up here):
    new_members, buyers (with a first order), first_order_value (sum, float), mean_first_order
    (first_order_value / buyers; NaN without buyers), buyer_share (buyers / new_members).
    """
    from .periods import period_bounds
    start, end = period_bounds(period)
    jd = members.join_date.cast("date")
    m = members.filter((jd >= _day(start)) & (jd <= _day(end)))
    m = m.select("member_id", channel=(m.channel.cast("string").fill_null(NOT_GIVEN) if "channel" in m.columns
                                       else ibis.literal(NOT_GIVEN)))
    o = member_orders(orders)
    o = o.filter((o.order_date <= _day(end)) & purchase_line(o) & o.member_id.isin(m.member_id))   # new members only
    per_order = o.group_by(["member_id", "order_id"]).agg(ts=o.order_ts.min(), value=o.amount.sum())
    w = ibis.window(group_by="member_id", order_by=[per_order.ts, per_order.order_id])
    first = per_order.mutate(_n=ibis.row_number().over(w)).filter(lambda t: t._n == 0) \
        .select("member_id", first_value="value")
    j = m.left_join(first, "member_id").drop("member_id_right")
    aggs = dict(new_members=j.member_id.count(), buyers=j.first_value.count(),
                first_order_value=as_float(j.first_value.sum().fill_null(0)))
    by = j.group_by("channel").agg(**aggs).to_pandas()
    by = by.sort_values(["new_members", "channel"], ascending=[False, True], kind="stable")
    total = j.aggregate(**aggs).to_pandas().assign(channel="total")
    out = pd.concat([by, total], ignore_index=True).set_index("channel")
    out = out.astype({"new_members": "int64", "buyers": "int64", "first_order_value": "float64"})
    out["mean_first_order"] = out.first_order_value / out.buyers.where(out.buyers > 0)
    out["buyer_share"] = out.buyers / out.new_members.where(out.new_members > 0)
    return out


def member_share(orders: ibis.Table, period: str) -> dict:
    """Members' share of the month's sales against guests (orders without a member id).

    Returns plain numbers: ``revenue`` {members, guests, all} (net, summed exactly in the engine),
    ``orders`` {members, guests, all} (distinct order ids with a purchase line), and the members'
    shares ``revenue_share`` and ``orders_share`` (None when the month has no positive revenue / no order).
    """
    from .periods import period_bounds
    start, end = period_bounds(period)
    o = _month_lines(orders, start, end)
    member, buy = o.member_id.notnull(), purchase_line(o)
    r = o.aggregate(rev_members=as_float(o.amount.sum(where=member)), rev_guests=as_float(o.amount.sum(where=~member)),
                    rev_all=as_float(o.amount.sum()), n_members=o.order_id.nunique(where=member & buy),
                    n_guests=o.order_id.nunique(where=~member & buy),
                    n_all=o.order_id.nunique(where=buy)).to_pandas().iloc[0]
    rev = {k: float(0 if pd.isna(r[f"rev_{k}"]) else r[f"rev_{k}"]) for k in ("members", "guests", "all")}
    n = {k: int(r[f"n_{k}"]) for k in ("members", "guests", "all")}
    return {"revenue": rev, "orders": n,
            "revenue_share": rev["members"] / rev["all"] if rev["all"] > 0 else None,
            "orders_share": n["members"] / n["all"] if n["all"] else None}


@dataclass
class MemberProfile:
    """The member profile of one period (group-scale frames and plain numbers; see the module)."""

    period: str
    end: _dt.date
    window_days: int
    missing: list[str]                       # parts of PARTS without their column
    gender_age: pd.DataFrame                 # gender x age band: members
    categories: pd.DataFrame                 # category_by_segment; empty when category is missing
    stores: pd.DataFrame                     # store_ranking; empty when store is missing
    new_members: pd.DataFrame                # new_members, by channel and total
    sales: dict = field(default_factory=dict)   # member_share


def analyse(tables: dict, period: str, table: pd.DataFrame, window_days: int) -> MemberProfile:
    """The member profile of ``period`` from the clean engine tables and the RFM member table ``table``
    (its segments give the category preference; ``window_days`` its window). A part whose column is
    missing (:func:`missing_parts`) is left empty and named in ``missing``; nothing here raises for one."""
    from .periods import period_bounds
    _, end = period_bounds(period)
    orders, members = tables["orders"], tables["members"]
    missing = missing_parts(tables)
    empty = pd.DataFrame()
    return MemberProfile(
        period=period, end=end, window_days=window_days, missing=missing,
        gender_age=gender_age(members, end),
        categories=empty if "category" in missing else category_by_segment(orders, table, end, window_days),
        stores=empty if "store" in missing else store_ranking(orders, period),
        new_members=new_members(members, orders, period), sales=member_share(orders, period))


def region_table(regions: pd.DataFrame) -> pd.DataFrame:
    """Members (buyers in the RFM window), their revenue in the window and its share, and the mean days
    since the last order (the bubble's size) per region, from :func:`memberkit.rfm.region_profile`;
    the most revenue first (region name breaks ties)."""
    r = regions[["members", "revenue", "mean_r"]].copy()
    total = r.revenue.sum()
    r["revenue_share"] = r.revenue / total if total > 0 else np.nan
    r = r.rename_axis("region").reset_index()
    r = r.sort_values(["revenue", "region"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return r[["region", "members", "revenue", "revenue_share", "mean_r"]]


def key_results(prof: MemberProfile, regions: pd.DataFrame | None = None) -> dict:
    """The profile as plain data (numbers and codes) for ``rfm_segmentation.json``'s ``profile``."""
    ga = prof.gender_age
    new = prof.new_members
    out = {
        "missing": list(prof.missing), "age_basis": "birth_year_at_period_end",
        "gender_age": {g: {b: int(n) for b, n in row.items()} for g, row in ga.iterrows()},
        "categories": {seg: {r.category: {"revenue": round(float(r.revenue), 2), "orders": int(r.orders),
                                          "share": plain(r.share)} for r in grp.itertuples()}
                       for seg, grp in prof.categories.groupby("segment", sort=False)} if len(prof.categories) else {},
        "stores": [{"store_id": r.store_id, "rank": int(r.rank), "revenue": round(float(r.revenue), 2),
                    "previous_revenue": round(float(r.previous_revenue), 2), "change": plain(r.change),
                    "orders": int(r.orders), "members": int(r.members),
                    "bulk_revenue": round(float(r.bulk_revenue), 2), "bulk_orders": int(r.bulk_orders)}
                   for r in prof.stores.itertuples()],
        "new_members": {ch: {"new_members": int(r.new_members), "buyers": int(r.buyers),
                             "first_order_value": round(float(r.first_order_value), 2),
                             "mean_first_order": plain(r.mean_first_order), "buyer_share": plain(r.buyer_share)}
                        for ch, r in new.iterrows()},
        "sales": prof.sales,
    }
    if regions is not None:
        out["regions"] = {r.region: {"members": int(r.members), "revenue": round(float(r.revenue), 2),
                                     "revenue_share": plain(r.revenue_share), "mean_r": plain(r.mean_r)}
                          for r in region_table(regions).itertuples()}
    return out
