"""The member profile's words and pictures (the RFM report's 会员画像 section and the summary's card).

Everything is worded from :class:`memberkit.profile.MemberProfile` or from the ``profile`` block of
``rfm_segmentation.json`` (numbers and codes) through the catalogue (section ``profile``); shop data
(store ids) is shown as given, categories and regions by their display names (``p.shop``), and escaped where the HTML is made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import profile as prof_mod
from ..report import missing
from .context import DASH, Presentation
from .page import KPI
from .rfm import group_label, segment_name
from .theme import CATEGORIES, REST, describe

# the gender bars side by side: colour-blind safe, the unknown grey (theme.CATEGORIES, theme.REST)
GENDER_COLOURS = {"F": CATEGORIES[3], "M": CATEGORIES[0], "other": CATEGORIES[2], "unknown": REST}


def band_label(p: Presentation, code: str) -> str:
    """An age band or the unknown age as the reader sees it."""
    return p.text(f"profile.age_{code}")


def gender_label(p: Presentation, code: str) -> str:
    return p.text(f"profile.gender_{code}")


def channel_label(p: Presentation, code: str) -> str:
    """A sign-up channel code (``total`` and the empty code included) in this language, as a table's row
    ('In store', '门店'): the words of :func:`memberkit.views.rfm.group_label`, as the CLV page's channel rows."""
    if code == "total":
        return p.text("profile.total")
    return p.text("profile.not_given") if code == prof_mod.NOT_GIVEN else group_label(p, "channel", code)


def category_label(p: Presentation, category: str) -> str:
    return p.text("profile.not_given") if category == prof_mod.NOT_GIVEN else p.shop("category", category)


def missing_note(p: Presentation, missing_parts: list[str]) -> str:
    """Which parts of the profile the shop's data cannot give (its column is absent or empty); '' when none."""
    if not missing_parts:
        return ""
    return p.text("profile.missing", parts=p.list_sep.join(p.text(f"profile.part_{m}") for m in missing_parts))


def record(results, prof: prof_mod.MemberProfile, regions: pd.DataFrame) -> None:
    """Add the profile (numbers and codes) to the RFM report's results as ``profile``."""
    results.key_results["profile"] = prof_mod.key_results(prof, regions)


# ------------------------------------------------------------------ gender and age
def plot_gender_age(p: Presentation, prof: prof_mod.MemberProfile):
    """Members per age band (bars side by side per gender), each bar labelled with its count."""
    import matplotlib.pyplot as plt
    ga = prof.gender_age
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if {"gender", "age"} <= set(prof.missing):
        ax.text(0.5, 0.5, p.text("profile.no_gender_age"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return describe(fig, p.text("profile.no_gender_age"))   # an empty chart says why, also to a screen reader
    rows = [g for g in ga.index if ga.loc[g].sum() > 0]
    cols = [b for b in ga.columns if ga[b].sum() > 0]
    x = np.arange(len(cols))
    width = 0.8 / max(len(rows), 1)
    colours = GENDER_COLOURS
    for i, g in enumerate(rows):
        values = ga.loc[g, cols].to_numpy()
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, values, width, color=colours[g], label=gender_label(p, g))
        for xi, v in zip(pos, values):
            ax.text(xi, v, p.count(v), ha="center", va="bottom", fontsize=10)   # 10 pt: narrowed no further for a phone
    ax.set_xticks(x, [band_label(p, b) for b in cols])
    ax.set_ylim(0, max(1, ga.to_numpy().max()) * 1.15)   # from zero: bar heights compare as counts
    ax.set_ylabel(p.text("profile.members"))
    ax.legend(frameon=False, ncol=len(rows), loc="upper left")
    ax.set_title(p.text("profile.gender_age_chart", date=prof.end.isoformat()), loc="left")
    return fig


def gender_age_sentence(p: Presentation, prof: prof_mod.MemberProfile) -> str:
    """The women's and men's shares of the members with a known gender, and the largest known age band."""
    ga = prof.gender_age
    total = int(ga.to_numpy().sum())
    parts = []
    known_g = ga.loc[["F", "M", "other"]].to_numpy().sum()
    if "gender" not in prof.missing and known_g:
        key = "profile.gender_text" if known_g < total else "profile.gender_text_all"
        parts.append(p.text(key, women=p.pct(ga.loc["F"].sum() / known_g),
                            men=p.pct(ga.loc["M"].sum() / known_g), known=p.count(known_g), total=p.count(total)))
    bands = ga.drop(columns=prof_mod.UNKNOWN).sum(axis=0)
    if "age" not in prof.missing and bands.sum():
        top = bands.idxmax()
        parts.append(p.text("profile.age_text", band=band_label(p, top), share=p.pct(bands[top] / bands.sum()),
                            year=prof.end.year))
    return p.sentence_sep.join(parts)


# ------------------------------------------------------------------ category preference
def category_matrix(prof: prof_mod.MemberProfile) -> pd.DataFrame:
    """Segments (rows, the scheme's order) x categories (columns, most revenue overall first): share of the
    segment's revenue."""
    c = prof.categories
    if c.empty:
        return pd.DataFrame()
    order = c.groupby("category").revenue.sum().reset_index() \
        .sort_values(["revenue", "category"], ascending=[False, True], kind="stable").category.tolist()
    segments = list(dict.fromkeys(c.segment))
    return c.pivot_table(index="segment", columns="category", values="share", aggfunc="sum") \
        .reindex(index=segments, columns=order)


def plot_categories(p: Presentation, prof: prof_mod.MemberProfile):
    """Heat map: each segment's revenue split over the categories (rows add up to 100%)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    m = category_matrix(prof)
    # wider than tall with its names under it, so that on A4 it is printed at most 115 mm high
    fig, ax = plt.subplots(figsize=(6.4, 0.36 * max(len(m), 1) + 1.4))
    if m.empty:
        ax.text(0.5, 0.5, p.text("profile.no_categories"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return describe(fig, p.text("profile.no_categories"))   # an empty chart says why, also to a screen reader
    labels = m.apply(lambda col: col.map(lambda v: DASH if missing(v) else p.pct(v, 0)))
    sns.heatmap(m.astype(float), annot=labels.to_numpy(), fmt="", cmap="Blues", ax=ax, cbar=False,
                annot_kws={"fontsize": 10}, linewidths=0.5, linecolor="white",   # 10 pt: 10 px at 420 px, no smaller
                xticklabels=[category_label(p, c) for c in m.columns], yticklabels=[segment_name(p, k) for k in m.index])
    ax.grid(False)
    ax.set_xlabel(p.text("profile.category"))
    ax.set_ylabel("")
    ax.set_title(p.text("profile.categories_chart", days=prof.window_days), loc="left")
    return fig


def category_sentence(p: Presentation, prof: prof_mod.MemberProfile) -> str:
    """Each segment's favourite category is named for the segment with the most revenue and for the one
    whose favourite differs most from the members' overall split."""
    c = prof.categories
    if c.empty:
        return ""
    overall = c.groupby("category").revenue.sum()
    overall = overall / overall.sum() if overall.sum() > 0 else overall * np.nan
    m = category_matrix(prof)
    seg_revenue = c.groupby("segment", sort=False).revenue.sum()
    top_seg = seg_revenue.idxmax()
    fav = m.loc[top_seg].idxmax()
    lift = (m.sub(overall.reindex(m.columns), axis=1)).stack()
    seg2, cat2 = lift.idxmax() if len(lift.dropna()) else (top_seg, fav)
    return p.text("profile.category_text", segment=segment_name(p, top_seg), category=category_label(p, fav),
                  share=p.pct(m.loc[top_seg, fav]), segment2=segment_name(p, seg2), category2=category_label(p, cat2),
                  share2=p.pct(m.loc[seg2, cat2]), overall=p.pct(overall.get(cat2)))


# ------------------------------------------------------------------ stores
def store_frame(p: Presentation, prof: prof_mod.MemberProfile, top: int = prof_mod.STORES_SHOWN) -> pd.DataFrame:
    """The stores ranked by member revenue this month (the first ``top``), formatted for display."""
    s = prof.stores.head(top)
    unit = f" ({p.symbol})"
    return pd.DataFrame({
        p.text("profile.rank"): [p.count(x) for x in s["rank"]],
        p.text("profile.store"): s.store_id.astype(str).tolist(),
        p.text("profile.member_revenue") + unit: [p.money(x) for x in s.revenue],
        p.text("profile.previous_revenue") + unit: [p.money(x) for x in s.previous_revenue],
        p.text("profile.change"): [p.signed_pct(x) for x in s.change],
        p.text("profile.orders"): [p.count(x) for x in s.orders],
        p.text("profile.buyers"): [p.count(x) for x in s.members],
        **({p.text("profile.bulk_column") + unit: [bulk_cell(p, r, n) for r, n in zip(s.bulk_revenue, s.bulk_orders)]}
           if "bulk_orders" in s and s.bulk_orders.sum() else {})})


def bulk_cell(p: Presentation, revenue: float, orders: int) -> str:
    """A store's flagged bulk orders this month, left out of its ranking: '¥39,012 (1 order)', or a dash."""
    return p.counted("profile.bulk_cell", int(orders), revenue=p.money(revenue), orders=p.count(orders)) \
        if orders else DASH


def bulk_sentence(p: Presentation, prof: prof_mod.MemberProfile) -> str:
    """How many flagged bulk orders this month were left out of the store ranking, and what they brought;
    '' when there were none."""
    s = prof.stores
    if s.empty or "bulk_orders" not in s or not s.bulk_orders.sum():
        return ""
    n = int(s.bulk_orders.sum())
    return p.counted("profile.bulk_text", n, orders=p.count(n), revenue=p.money(s.bulk_revenue.sum()))


def store_sentence(p: Presentation, prof: prof_mod.MemberProfile) -> str:
    """The leading store, how many stores grew against the previous month, and how many are listed."""
    s = prof.stores
    if s.empty:
        return ""
    first = s.iloc[0]
    out = p.text("profile.store_text", store=first.store_id, revenue=p.money(first.revenue),
                 change=p.signed_pct(first.change), grew=p.count(int((s.change > 0).sum())), stores=p.count(len(s)))
    if len(s) > prof_mod.STORES_SHOWN:
        out += p.sentence_sep + p.text("profile.stores_more", shown=p.count(prof_mod.STORES_SHOWN))
    bulk = bulk_sentence(p, prof)
    return out + (p.sentence_sep + bulk if bulk else "")


# ------------------------------------------------------------------ new members and the members' share
def new_members_frame(p: Presentation, prof: prof_mod.MemberProfile) -> pd.DataFrame:
    """New members of the month per sign-up channel and in total, with their first order's value.

    The counts add up as they are; the channels' first-order amounts are rounded to whole units so that
    they add up to the total shown (:func:`memberkit.views.attribution.round_parts`: each rounded, the
    remainder on the largest), where rounding each on its own could miss it by one."""
    from .attribution import round_parts
    n = prof.new_members
    unit = f" ({p.symbol})"
    values = list(n.first_order_value)
    shown = round_parts(values[:-1], values[-1]) + round_parts(values[-1:], values[-1]) if len(values) > 1 else values
    return pd.DataFrame({
        p.text("profile.channel"): [channel_label(p, c) for c in n.index],
        p.text("profile.new_members"): [p.count(x) for x in n.new_members],
        p.text("profile.with_first_order"): [p.count(x) for x in n.buyers],
        p.text("profile.buyer_share"): [p.pct(x) for x in n.buyer_share],
        p.text("profile.mean_first_order") + unit: [p.money(x) for x in n.mean_first_order],
        p.text("profile.first_order_value") + unit: [p.money(x) for x in shown]})


def new_members_sentence(p: Presentation, prof: prof_mod.MemberProfile) -> str:
    t = prof.new_members.loc["total"]
    if not t.new_members:
        return p.text("profile.new_none", period=p.month(prof.period, full=True))
    return p.text("profile.new_text", n=p.count(t.new_members), period=p.month(prof.period, full=True), buyers=p.count(t.buyers),
                  share=p.pct(t.buyer_share), mean=p.money(t.mean_first_order))


def sales_sentence(p: Presentation, sales: dict, period: str) -> str:
    """Members' share of the month's revenue and orders against guests (from the profile's ``sales``)."""
    rev, orders = sales.get("revenue", {}), sales.get("orders", {})
    if not orders.get("all"):
        return p.text("profile.sales_none", period=p.month(period, full=True))
    return p.text("profile.sales_text", share=p.pct(sales.get("revenue_share")), period=p.month(period, full=True),
                  members=p.money(rev.get("members")), total=p.money(rev.get("all")),
                  orders_share=p.pct(sales.get("orders_share")), guest_orders=p.count(orders.get("guests")),
                  guest_revenue=p.money(rev.get("guests")))


# ------------------------------------------------------------------ regions
def region_frame(p: Presentation, regions: pd.DataFrame) -> pd.DataFrame:
    """Members and revenue per region (the bubbles' weight, which their size is not) and the size itself."""
    r = prof_mod.region_table(regions)
    unit = f" ({p.symbol})"
    return pd.DataFrame({
        p.text("profile.region"): [p.shop("region", x) for x in r.region],
        p.text("profile.region_members"): [p.count(x) for x in r.members],
        p.text("profile.region_revenue") + unit: [p.money(x) for x in r.revenue],
        p.text("profile.revenue_share"): [p.pct(x) for x in r.revenue_share],
        p.text("profile.bubble_size"): [p.ratio(x, 0) for x in r.mean_r]})


# ------------------------------------------------------------------ the summary page's card
def summary_figures(p: Presentation, res: dict) -> list[KPI]:
    """The summary page's member-profile card from ``rfm_segmentation.json`` (its ``profile``): members'
    share of sales, new members and their first order, the leading store, women's share and the largest
    age band. Empty when the results hold no profile."""
    pr = (res or {}).get("results", {}).get("profile")
    if not pr:
        return []
    out = []
    sales = pr.get("sales") or {}
    if sales.get("revenue_share") is not None:
        out.append(KPI(p.text("profile.card_share"), p.pct(sales["revenue_share"]),
                       p.text("profile.card_share_sub", guests=p.count((sales.get("orders") or {}).get("guests")))))
    total = (pr.get("new_members") or {}).get("total") or {}
    if total.get("new_members") is not None:
        out.append(KPI(p.text("profile.card_new"), p.count_of(total["new_members"], "members"),
                       p.text("profile.card_new_sub", mean=p.money(total.get("mean_first_order")))))
    stores = pr.get("stores") or []
    if stores:
        out.append(KPI(p.text("profile.card_store"), str(stores[0]["store_id"]),
                       p.text("profile.card_store_sub", revenue=p.money(stores[0]["revenue"]),
                              change=p.signed_pct(stores[0].get("change")))))
    ga = pr.get("gender_age") or {}
    missing_parts = pr.get("missing") or []
    if ga and "gender" not in missing_parts:
        known = sum(sum((ga.get(g) or {}).values()) for g in ("F", "M", "other"))
        women = sum((ga.get("F") or {}).values())
        if known:
            bands = {b: sum((ga.get(g) or {}).get(b, 0) for g in ga) for b, _, _ in prof_mod.AGE_BANDS}
            top = max(bands, key=bands.get) if "age" not in missing_parts and sum(bands.values()) else None
            out.append(KPI(p.text("profile.card_women"), p.pct(women / known),
                           p.text("profile.card_women_sub", band=band_label(p, top)) if top else ""))
    if missing_parts:
        out.append(KPI(p.text("profile.card_missing"), DASH, missing_note(p, missing_parts)))
    return out


def types_caption(p: Presentation, campaign_results: dict | None) -> str:
    """What the 'which campaign types paid' table covers: the campaign league's window in months (from
    ``campaign_review.json``: every campaign that ended in the months before the period's end), and
    when a type pays."""
    months = ((campaign_results or {}).get("results") or {}).get("league_months")
    if months is None:
        return p.text("profile.types_caption")
    return p.text("profile.types_caption_months", months=p.count(months))
