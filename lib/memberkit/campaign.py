"""Campaign review (活动复盘): did each campaign pay, for whom, and compared with the others.

The engine measures what every campaign member bought in windows around the campaign
(:func:`memberkit.summary.campaign_units` and :func:`~memberkit.summary.window_outcomes`);
everything here works on that member-scale frame.

Evidence, strongest first:

- a randomised **holdout**: incremental = target mean - holdout mean (Welch), per target member,
  over the campaign *and* the ``post_days`` after it, so orders only moved forward cancel out;
  a difference in differences with the pre-campaign window is shown beside it;
- no holdout: **before/after against a matched baseline**: members who were not targeted, joined
  before the start, reweighted to the target's mix of recent spend and recency (exact strata),
  compared on (after - before). Labelled weaker: the target was chosen, not drawn.

Money: incremental margin = incremental revenue x margin (paid amounts are after discount, so a
coupon's value is already out of revenue); ROI = (incremental margin - cost) / cost.

Example
-------
>>> roi_of(incremental_revenue=100_000, margin=0.3, cost=20_000)
0.5
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import stats
from .errors import ReasonedError
from .report import anchor, plain

WINDOWS = ["before", "history", "silent", "pre", "during", "post"]
RECENCY_EDGES = [30, 90, 180, 365]          # days since the last purchase before the start
FREQUENCY_EDGES = [1, 2, 3, 5]              # purchases in the history window


class CampaignError(ReasonedError):
    """A campaign cannot be reviewed as asked (unknown id, no members)."""


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return {"value": plain(self.value), "ci_low": plain(self.ci_low), "ci_high": plain(self.ci_high)}

    def scaled(self, k: float, shift: float = 0.0) -> "Estimate":
        lo, hi = sorted((self.ci_low * k + shift, self.ci_high * k + shift))
        return Estimate(self.value * k + shift, lo, hi)


def roi_of(incremental_revenue: float, margin: float, cost: float) -> float:
    return (incremental_revenue * margin - cost) / cost if cost else math.nan


# ----------------------------------------------------------------- which campaigns
def campaigns_frame(tables: dict) -> pd.DataFrame:
    if "campaigns" not in tables or "campaign_members" not in tables:
        return pd.DataFrame(columns=["campaign_id", "name", "type", "start", "end", "cost", "target_segment"])
    c = tables["campaigns"].to_pandas()
    c["start"], c["end"] = pd.to_datetime(c.start).dt.date, pd.to_datetime(c.end).dt.date
    return c


def select_campaigns(campaigns: pd.DataFrame, period_start: _dt.date, period_end: _dt.date, league_months: int,
                     named: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(reviewed, league): the period's campaigns (or the named ones), and every campaign that ended
    in the ``league_months`` before the period's end, reviewed ones included."""
    known = set(campaigns.campaign_id)
    if named:
        unknown = [x for x in named if x not in known]
        if unknown:
            raise CampaignError(f"unknown campaign id(s): {', '.join(unknown)}; the data has: {', '.join(sorted(known))}")
        reviewed = list(named)
    else:
        reviewed = campaigns[(campaigns.end >= period_start) & (campaigns.end <= period_end)].sort_values(
            ["end", "campaign_id"], kind="stable").campaign_id.tolist()
    since = (pd.Timestamp(period_end) - pd.DateOffset(months=league_months)).date()
    league = campaigns[(campaigns.end > since) & (campaigns.end <= period_end)].campaign_id.tolist()
    order = campaigns.set_index("campaign_id").end
    return reviewed, sorted(set(league) | set(reviewed), key=lambda x: (order[x], x))


# ----------------------------------------------------------------- member outcomes
def campaign_members(tables: dict, campaign_ids: list[str], params, data_end: _dt.date) -> pd.DataFrame:
    """Target and holdout members of the campaigns with their outcomes in every window."""
    from .summary import campaign_units, window_outcomes, without_outliers
    units = campaign_units(tables["campaign_members"], tables["campaigns"], campaign_ids, pre_days=params.pre_days,
                           post_days=params.post_days, history_days=params.history_days,
                           silent_days=params.silent_days, data_end=data_end)
    keys = ["campaign_id", "member_id", "group", "sent_ts", "redeemed_ts", "start", "end", "post_end"]
    out = window_outcomes(without_outliers(tables["orders"], params.exclude_outliers), units, keys, WINDOWS).to_pandas()
    return _derived(out)


#: What a matched baseline's members are compared on (:func:`review`, :func:`daily_curves`): the window
#: outcomes :func:`_derived` and the review read; the rest of :func:`window_outcomes`' columns are not fetched.
BASELINE_OUTCOMES = [*(f"orders_{w}" for w in WINDOWS), "revenue_history", "revenue_pre", "revenue_during",
                     "revenue_post", "discount_during", "last_before"]


def baseline_members(tables: dict, campaign_id: str, start: _dt.date, end: _dt.date, params,
                     data_end: _dt.date) -> pd.DataFrame:
    """Members not in the campaign who joined before its start and bought before it, with the window
    outcomes a matched baseline is compared on (:data:`BASELINE_OUTCOMES`, :func:`_derived`'s columns),
    one row per member in member id order; ``group`` is ``baseline``. One engine query."""
    import ibis
    from .summary import window_outcomes, with_campaign_windows, without_outliers
    m = tables["members"]
    cm = tables["campaign_members"]
    listed = cm.filter(cm.campaign_id == campaign_id).select("member_id")
    pool = m.filter(m.join_date < ibis.literal(start)).select("member_id").anti_join(listed, "member_id")
    u = pool.mutate(start=ibis.literal(start), end=ibis.literal(end))
    u = with_campaign_windows(u, pre_days=params.pre_days, post_days=params.post_days,
                              history_days=params.history_days, silent_days=params.silent_days, data_end=data_end)
    # Grouped by member alone (every other key is the same for the whole pool) and only the columns the
    # review reads, the never-buyers dropped in the engine: at a million members most of the pool's rows
    # and columns never reach pandas.
    out = window_outcomes(without_outliers(tables["orders"], params.exclude_outliers), u, ["member_id"], WINDOWS)
    out = out.select("member_id", *BASELINE_OUTCOMES)
    out = out.filter(out.orders_before > 0)   # campaigns reach people who have bought: so must the baseline
    out = out.order_by("member_id").to_pandas()
    out.insert(0, "campaign_id", campaign_id)
    out.insert(2, "group", "baseline")
    out["start"] = pd.Timestamp(start)
    return _derived(out)


def _derived(out: pd.DataFrame) -> pd.DataFrame:
    for w in WINDOWS:
        out[f"orders_{w}"] = out[f"orders_{w}"].astype(float)
    out["orders_net"] = out.orders_during + out.orders_post
    out["revenue_net"] = out.revenue_during + out.revenue_post
    start = pd.to_datetime(out.start)
    days_since = (start - out.last_before).dt.days
    out["recency_bucket"] = np.where(out.last_before.isna(), "never",
                                     _bin_text(pd.cut(days_since, [-1, *RECENCY_EDGES, np.inf])))
    out["frequency_bucket"] = _bin_text(pd.cut(out.orders_history, [-1, 0, *FREQUENCY_EDGES[1:], np.inf]))
    out["stratum"] = out.recency_bucket + "|" + out.frequency_bucket
    return out


def _bin_text(binned: pd.Series) -> pd.Series:
    """``binned.astype(str)`` for a column ``pd.cut`` made: each bin's text is made once and shared
    (pandas writes an interval's text for every row: about a second per 300,000 baseline members)."""
    text = pd.Categorical.from_codes(binned.cat.codes, categories=binned.cat.categories.astype(str))
    return pd.Series(text, index=binned.index).astype(str)


# ----------------------------------------------------------------- comparisons
@dataclass
class Design:
    """How a campaign's target is compared: with its holdout, or with a matched baseline."""

    evidence: str                   # holdout | matched_baseline
    during_days: int
    post_days: int
    pre_days: int
    alpha: float = 0.05

    def compare(self, target: pd.DataFrame, comparison: pd.DataFrame, column: str) -> stats.Comparison:
        """Target minus comparison per target member for ``column`` (e.g. orders_net)."""
        if self.evidence == "holdout":
            return stats.welch_arrays(comparison[column], target[column], self.alpha)
        y_t, y_c = self.change(target, column), self.change(comparison, column)
        return stats.stratified_difference(y_t, target.stratum, y_c, comparison.stratum, self.alpha)[0]

    def did(self, target: pd.DataFrame, comparison: pd.DataFrame, column: str) -> stats.Comparison:
        """Difference in differences: (after - before) of the target minus that of the comparison."""
        if self.evidence == "holdout":
            return stats.welch_arrays(self.change(comparison, column), self.change(target, column), self.alpha)
        return self.compare(target, comparison, column)

    def change(self, frame: pd.DataFrame, column: str) -> pd.Series:
        """A window's value minus the pre-window's, scaled to the same number of days."""
        kind, window = column.split("_", 1)
        days = {"during": self.during_days, "post": self.post_days, "net": self.during_days + self.post_days}[window]
        return frame[column] - frame[f"{kind}_pre"] * days / self.pre_days


def estimate(c: stats.Comparison) -> Estimate:
    return Estimate(float(c.diff), float(c.ci_low), float(c.ci_high))


def rate_difference(design: Design, target: pd.DataFrame, comparison: pd.DataFrame, flag: pd.Series,
                    flag_c: pd.Series) -> Estimate:
    """Difference of two shares (target - comparison) with its interval, matched when needed."""
    t = target.assign(_flag=flag.astype(float))
    c = comparison.assign(_flag=flag_c.astype(float))
    if design.evidence == "holdout":
        r = stats.two_proportions(int(c._flag.sum()), len(c), int(t._flag.sum()), len(t), design.alpha)
    else:
        r, _ = stats.stratified_difference(t._flag, t.stratum, c._flag, c.stratum, design.alpha)
    return estimate(r)


# ----------------------------------------------------------------- one campaign
@dataclass
class CampaignReview:
    """One campaign's review: its figures, verdict and breakdowns (:func:`review`)."""

    campaign_id: str
    name: str
    type: str
    start: _dt.date
    end: _dt.date
    cost: float
    evidence: str
    n_target: int
    n_comparison: int
    unmatched: int
    post_days_observed: int
    figures: dict                       # name -> value or Estimate
    pull_forward: dict
    verdict: dict = field(default_factory=dict)
    daily: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    gap: pd.Series = field(default_factory=pd.Series, repr=False)     # cumulative incremental orders per target
    segments: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def title(self) -> str:
        """How pages name the campaign (:func:`campaign_title`)."""
        return campaign_title(self.campaign_id, self.name)


def campaign_title(campaign_id: str, name: str | None) -> str:
    """'C2610 Double 11' -- the id, then the name when there is one that differs from it; else the id alone."""
    return f"{campaign_id} {name}" if name and name != campaign_id else campaign_id


def review(members: pd.DataFrame, info: pd.Series, params, baseline: pd.DataFrame | None = None,
           segments: pd.DataFrame | None = None) -> CampaignReview:
    """Every figure of one campaign from its members' window outcomes."""
    target = members[members.group == "target"]
    holdout = members[members.group == "holdout"]
    if target.empty:
        raise CampaignError(f"campaign {info.campaign_id} has no target members", "no_target")
    comparison, evidence = (holdout, "holdout") if len(holdout) >= 2 else (baseline, "matched_baseline")
    if comparison is None or len(comparison) < 2:
        raise CampaignError(f"campaign {info.campaign_id} has no holdout and no baseline members to compare with",
                            "no_comparison")
    during_days = (info.end - info.start).days + 1
    post_observed = int((pd.Timestamp(members.post_end.iloc[0]) - pd.Timestamp(info.end + _dt.timedelta(days=1))).days)
    design = Design(evidence, during_days, max(post_observed, 1), params.pre_days, params.alpha)
    unmatched = int((~target.stratum.isin(comparison.stratum)).sum()) if evidence == "matched_baseline" else 0
    n = len(target)
    cost = float(info.cost) if pd.notna(info.cost) and info.cost > 0 else math.nan

    orders = estimate(design.compare(target, comparison, "orders_net"))
    revenue = estimate(design.compare(target, comparison, "revenue_net"))
    orders_during = estimate(design.compare(target, comparison, "orders_during"))
    revenue_during = estimate(design.compare(target, comparison, "revenue_during"))
    revenue_total = revenue.scaled(n)
    margin_total = revenue_total.scaled(params.margin)
    orders_total = orders.scaled(n)
    f = {
        "reach": int(target.sent_ts.notna().sum()) if target.sent_ts.notna().any() else n,
        "response_rate_target": float((target.orders_during > 0).mean()),
        "response_rate_comparison": _weighted_rate(design, target, comparison, comparison.orders_during > 0),
        "redemption_rate": float(target.redeemed_ts.notna().mean()),
        "incremental_orders_per_target": orders, "incremental_revenue_per_target": revenue,
        "incremental_orders": orders_total, "incremental_revenue": revenue_total, "incremental_margin": margin_total,
        "incremental_orders_during": orders_during.scaled(n), "incremental_revenue_during": revenue_during.scaled(n),
        "did_orders_per_target": estimate(design.did(target, comparison, "orders_net")),
        "did_revenue_per_target": estimate(design.did(target, comparison, "revenue_net")),
        "roi": margin_total.scaled(1 / cost, -1.0) if np.isfinite(cost) else Estimate(math.nan, math.nan, math.nan),
        "cost_per_incremental_order": _cost_per(cost, orders_total),
        "aov_target": _ratio(target.revenue_during.sum(), target.orders_during.sum()),
        "aov_comparison": _ratio(comparison.revenue_during.sum(), comparison.orders_during.sum()),
        "discount_rate_target": _ratio(target.discount_during.sum(),
                                       target.revenue_during.sum() + target.discount_during.sum()),
        "discount_rate_comparison": _ratio(comparison.discount_during.sum(),
                                           comparison.revenue_during.sum() + comparison.discount_during.sum()),
        "discount_given": float(target.discount_during.sum()),
    }
    new_t = (target.orders_before == 0) & (target.orders_during > 0)
    new_c = (comparison.orders_before == 0) & (comparison.orders_during > 0)
    f["new_buyers"] = int(new_t.sum())
    f["incremental_new_buyers"] = rate_difference(design, target, comparison, new_t, new_c).scaled(n)
    lapsed_t = (target.orders_before > 0) & (target.orders_silent == 0)
    lapsed_c = (comparison.orders_before > 0) & (comparison.orders_silent == 0)
    back_t, back_c = lapsed_t & (target.orders_net > 0), lapsed_c & (comparison.orders_net > 0)
    f["lapsed_targeted"] = int(lapsed_t.sum())
    f["reactivated"] = int(back_t.sum())
    f["incremental_reactivated"] = (rate_difference(design, target[lapsed_t], comparison[lapsed_c], back_t[lapsed_t],
                                                    back_c[lapsed_c]).scaled(int(lapsed_t.sum()))
                                    if lapsed_t.sum() > 1 and lapsed_c.sum() > 1 else Estimate(math.nan, math.nan, math.nan))
    cutoff = members.revenue_history.quantile(1 - params.high_value_share)
    hv_t, hv_c = target.revenue_history >= cutoff, comparison.revenue_history >= cutoff
    lost_t, lost_c = hv_t & (target.orders_net == 0), hv_c & (comparison.orders_net == 0)
    f["high_value_targeted"] = int(hv_t.sum())
    f["high_value_lost"] = int(lost_t.sum())
    f["high_value_lost_rate_target"] = float(lost_t.sum() / hv_t.sum()) if hv_t.sum() else math.nan
    f["high_value_lost_rate_comparison"] = float(lost_c.sum() / hv_c.sum()) if hv_c.sum() else math.nan
    pull = pull_forward_check(design, target, comparison, params.pull_forward_share, params.post_days, post_observed)
    r = CampaignReview(info.campaign_id, str(info.get("name") or info.campaign_id), str(info.get("type") or ""),
                       info.start, info.end, cost, evidence, n, len(comparison), unmatched, post_observed, f, pull)
    if segments is not None:
        r.segments = by_segment(design, target.merge(segments, on="member_id", how="left"),
                                comparison.merge(segments, on="member_id", how="left"), params)
    r.verdict = decide(r)
    return r


def _weighted_rate(design: Design, target, comparison, flag) -> float:
    """The comparison group's rate, reweighted to the target's strata for a matched baseline."""
    if design.evidence == "holdout":
        return float(flag.mean())
    c = comparison.assign(_f=flag.astype(float))
    means = c.groupby("stratum")._f.mean()
    w = target.stratum.map(means).dropna()
    return float(w.mean()) if len(w) else math.nan


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else math.nan


def _cost_per(cost: float, orders: Estimate) -> Estimate:
    """Cost per incremental order; unbounded above when the orders' interval reaches zero."""
    if not np.isfinite(cost) or not orders.value > 0:
        return Estimate(math.nan, math.nan, math.nan)
    hi = cost / orders.ci_low if orders.ci_low > 0 else math.inf
    return Estimate(cost / orders.value, cost / orders.ci_high if orders.ci_high > 0 else math.nan, hi)


def pull_forward_check(design: Design, target, comparison, share: float, post_days: int,
                       days_observed: int | None = None) -> dict:
    """Did the target buy less than the comparison after the campaign, giving back the lift?

    Flagged when the after-campaign difference is significantly below zero and gives back at
    least ``share`` of the during-campaign lift.
    """
    during = design.compare(target, comparison, "orders_during")
    post = design.compare(target, comparison, "orders_post")
    given_back = -post.diff / during.diff if during.diff > 0 else math.nan
    flagged = bool(post.ci_high < 0 and (not np.isfinite(given_back) or given_back >= share))
    return {"during_per_target": estimate(during).to_dict(), "after_per_target": estimate(post).to_dict(),
            "share_given_back": plain(given_back), "flagged": flagged,
            "complete": design.post_days >= post_days,
            "days_after_observed": design.post_days if days_observed is None else days_observed}


def by_segment(design: Design, target: pd.DataFrame, comparison: pd.DataFrame, params) -> pd.DataFrame:
    """Where it worked and where it only gave margin away: the net effect per RFM segment and per tier."""
    rows = []
    for column in ("segment", "tier"):
        for value, t in target.dropna(subset=[column]).groupby(column, observed=True):
            c = comparison[comparison[column] == value]
            if min(len(t), len(c)) < params.min_segment_members:
                continue
            o = design.compare(t, c, "orders_net")
            rv = design.compare(t, c, "revenue_net")
            margin = rv.diff * params.margin
            discount = float(t.discount_during.mean())
            if o.ci_low > 0:
                result = "worked"
            elif discount > 0 and margin < discount:
                result = "gave_margin_away"
            else:
                result = "no_clear_effect"
            rows.append({"dimension": column, "group": value, "n_target": len(t), "n_comparison": len(c),
                         "incremental_orders_per_target": o.diff, "ci_low": o.ci_low, "ci_high": o.ci_high,
                         "incremental_margin_per_target": margin, "discount_per_target": discount, "result": result})
    return pd.DataFrame(rows)


def decide(r: CampaignReview) -> dict:
    """repeat / change / stop, and why.

    - repeat: the return is positive even at the low end of its interval, with no pull-forward;
    - stop: no clear incremental orders (the interval reaches zero) and a negative return;
    - change: the rest: it moves orders but does not pay, pays only on the point estimate, or
      mostly moved orders forward;
    - without a cost the return is unknown: stop when there is no clear effect, else change
      (the reason says to record the cost).
    """
    roi, orders = r.figures["roi"], r.figures["incremental_orders"]
    if r.pull_forward["flagged"]:
        return {"decision": "change", "reason": "pull_forward"}
    if not np.isfinite(roi.value):
        return {"decision": "stop" if orders.ci_low <= 0 else "change", "reason": "no_cost"}
    if np.isfinite(roi.ci_low) and roi.ci_low > 0:
        return {"decision": "repeat", "reason": "pays"}
    if orders.ci_low <= 0 and roi.value < 0:
        return {"decision": "stop", "reason": "no_effect"}
    if roi.value < 0:
        return {"decision": "change", "reason": "does_not_pay"}
    return {"decision": "change", "reason": "uncertain_return"}


# ----------------------------------------------------------------- daily curves
def daily_curves(tables: dict, r: CampaignReview, members: pd.DataFrame, baseline: pd.DataFrame | None,
                 params, lead_days: int = 14) -> tuple[pd.DataFrame, pd.Series]:
    """Orders per 1,000 members, AOV and sales per member per day (7-day rolling) for target and
    comparison; and the cumulative gap in orders per member (target - comparison) from the start."""
    import ibis
    from .summary import daily_orders, without_outliers
    target = members[members.group == "target"][["member_id"]].assign(group="target", weight=1.0)
    if r.evidence == "holdout":
        comp = members[members.group == "holdout"][["member_id"]].assign(group="comparison", weight=1.0)
    else:
        share = members[members.group == "target"].stratum.value_counts(normalize=True)
        size = baseline.stratum.value_counts()
        comp = baseline[["member_id", "stratum"]].assign(group="comparison")
        comp["weight"] = (comp.stratum.map(share) / comp.stratum.map(size) * len(target)).fillna(0.0)
        comp = comp[["member_id", "group", "weight"]]
    units = pd.concat([target, comp], ignore_index=True)
    first = r.start - _dt.timedelta(days=lead_days + 6)
    last = r.end + _dt.timedelta(days=r.post_days_observed)
    d = daily_orders(without_outliers(tables["orders"], params.exclude_outliers), ibis.memtable(units), first, last)
    d = d.to_pandas()
    days = pd.date_range(first, last, freq="D")
    out, per_member = [], {}
    for g, size in units.groupby("group").weight.sum().items():
        x = d[d.group == g].set_index(pd.to_datetime(d[d.group == g].order_date))[["orders", "revenue"]]
        x = x.reindex(days, fill_value=0.0)
        per_member[g] = x.orders / size
        x = x.rolling(7, min_periods=7).sum()
        out.append(pd.DataFrame({"group": g, "day": days, "orders_per_1000": x.orders / 7 / size * 1000,
                                 "sales_per_member": x.revenue / 7 / size,
                                 "aov": (x.revenue / x.orders).where(x.orders > 0)}))
    full = pd.concat(out, ignore_index=True)
    since = days >= pd.Timestamp(r.start)
    gap = (per_member["target"] - per_member["comparison"])[since].cumsum()
    return full[full.day >= pd.Timestamp(r.start - _dt.timedelta(days=lead_days))].reset_index(drop=True), gap


# ----------------------------------------------------------------- the whole report
@dataclass
class CampaignAnalysis:
    period: str
    reviewed: list[str]
    reviews: dict[str, CampaignReview]            # every campaign of the league table
    skipped: dict[str, str]                       # campaign id -> why it was not reviewed (English, for logs)
    has_table: bool = True                        # False: the sources have no campaign tables (report skipped)
    available: list[str] = field(default_factory=list)   # campaign ids in the data, for the hint
    skip_reasons: dict[str, dict] = field(default_factory=dict)   # id -> {"reason": code, **values} for the page
    totals: dict = field(default_factory=dict)    # period_totals(), computed once by analyse()
    # the RFM member table's rows the review built, date -> rfm.MemberRows: the members (and matched
    # members) of each reviewed campaign and the members of each campaign the target list learns from, at
    # the day before it started; for the target list to read rather than build again (memberkit.uplift.plan)
    member_tables: dict = field(default_factory=dict, repr=False)
    # campaign_members() of the league's campaigns and of every campaign that ended by the data's end:
    # read by the target list too (memberkit.uplift.plan), not measured again
    campaign_members: pd.DataFrame | None = field(default=None, repr=False)

    def league(self) -> list[CampaignReview]:
        """The campaigns by return on cost, best first; no return last; equal returns by campaign id."""
        return sorted(self.reviews.values(), key=lambda r: (-r.figures["roi"].value
                      if np.isfinite(r.figures["roi"].value) else math.inf, r.campaign_id))


def analyse(tables: dict, period: str, params, rfm_params=None, data_end: _dt.date | None = None) -> CampaignAnalysis:
    """Review the period's campaigns (sections) and rank them with the recent ones (league table)."""
    from . import rfm
    from .periods import period_bounds
    start, end = period_bounds(period)
    data_end = min(data_end or end, end)
    campaigns = campaigns_frame(tables)
    if campaigns.empty:
        has_table = "campaigns" in tables and "campaign_members" in tables
        if params.campaigns and not has_table:
            raise CampaignError("the sources have no campaigns and campaign_members tables; map them under "
                                "source.tables.campaigns and source.tables.campaign_members")
        return with_totals(CampaignAnalysis(period, [], {}, {}, has_table=has_table))
    reviewed, league = select_campaigns(campaigns, start, end, params.league_months, params.campaigns)
    # the campaigns the next campaign's target list learns from are measured in the same query
    ended = campaigns[campaigns.end <= data_end].campaign_id.tolist()
    measured = sorted(set(league) | set(ended))
    members = campaign_members(tables, measured, params, data_end) if measured else pd.DataFrame()
    info = campaigns.set_index("campaign_id")
    # the matched members of each reviewed campaign without a holdout first: their segments are read with the
    # targets' (the league's other campaigns' are measured one at a time below)
    baselines, failed = {}, {}
    for cid in [c for c in league if c in reviewed]:
        m = members[members.campaign_id == cid]
        if (m.group == "holdout").sum() < 2:
            try:
                baselines[cid] = baseline_members(tables, cid, info.loc[cid, "start"], info.loc[cid, "end"], params,
                                                  data_end)
            except CampaignError as e:
                failed[cid] = e
    at, eve = {}, {}
    if rfm_params is not None:
        from .uplift import learning_campaigns
        # the day before each reviewed campaign started (its members' segments then) and before each campaign
        # the next campaign's target list learns from: only those campaigns' members' rows, in one query
        learnt = learning_campaigns(campaigns[campaigns.campaign_id.isin(ended)], members, params).campaign_id
        eve = {cid: info.loc[cid, "start"] - _dt.timedelta(days=1) for cid in [*reviewed, *learnt]}
        wanted = {}
        for cid, day in eve.items():
            ids = [members.member_id[members.campaign_id == cid]]
            if cid in reviewed and cid in baselines:
                ids.append(baselines[cid].member_id)
            wanted[day] = pd.concat([*([wanted[day]] if day in wanted else []), *ids], ignore_index=True)
        at = rfm.member_rows_at(tables["orders"], tables["members"], wanted, rfm_params) if wanted else {}
    segments = {cid: at[eve[cid]].table[["member_id", "segment", "tier"]] for cid in reviewed if cid in eve}
    reviews, skipped, skip_reasons = {}, {}, {}
    for cid in league:
        row = info.loc[cid].copy()
        row["campaign_id"] = cid
        m = members[members.campaign_id == cid]
        try:
            if cid in failed:
                raise failed[cid]
            baseline = baselines.pop(cid, None)
            if cid not in reviewed and (m.group == "holdout").sum() < 2:
                baseline = baseline_members(tables, cid, row.start, row.end, params, data_end)
            r = review(m, row, params, baseline, segments.get(cid))
            if cid in reviewed:
                r.daily, r.gap = daily_curves(tables, r, m, baseline, params)
            reviews[cid] = r
        except CampaignError as e:
            skipped[cid] = str(e)
            if e.reason:
                skip_reasons[cid] = {"reason": e.reason, **e.values}
    return with_totals(CampaignAnalysis(period, [c for c in reviewed if c in reviews], reviews, skipped,
                                        available=sorted(campaigns.campaign_id.astype(str)), skip_reasons=skip_reasons,
                                        member_tables=at, campaign_members=members))


def with_totals(a: CampaignAnalysis) -> CampaignAnalysis:
    """``a`` with its :func:`period_totals` filled in."""
    a.totals = period_totals(a)
    return a


def period_totals(a: CampaignAnalysis) -> dict:
    """The period's campaigns together: how many, extra revenue, margin minus cost, verdicts.

    Returns ``reviewed`` (count), ``incremental_revenue`` and ``net_gain`` (the shop's currency),
    ``repeat`` and ``pull_forward`` (counts). ``net_gain`` is NaN (shown as a dash) when a
    reviewed campaign has no recorded cost: its margin is not a gain until its cost is known.
    """
    period = [a.reviews[c] for c in a.reviewed]
    costed = all(r.cost is not None and np.isfinite(r.cost) for r in period)
    return {"reviewed": len(period),
            "incremental_revenue": sum(r.figures["incremental_revenue"].value for r in period),
            "net_gain": sum(r.figures["incremental_margin"].value - r.cost for r in period) if costed else math.nan,
            "repeat": sum(r.verdict["decision"] == "repeat" for r in period),
            "pull_forward": sum(r.pull_forward["flagged"] for r in period)}


def key_results(a: CampaignAnalysis, params) -> dict:
    """``campaign_review.json``'s results: every campaign's figures with intervals, verdict and rank (plain data)."""
    out = {}
    for rank, r in enumerate(a.league(), 1):
        out[r.campaign_id] = {
            "rank": rank, "reviewed_in_period": r.campaign_id in a.reviewed, "name": r.name, "type": r.type,
            "start": r.start, "end": r.end, "cost": plain(r.cost), "evidence": r.evidence,
            "n_target": r.n_target, "n_comparison": r.n_comparison, "unmatched_target": r.unmatched,
            "days_after_observed": r.post_days_observed,
            "figures": {k: (v.to_dict() if isinstance(v, Estimate) else plain(v)) for k, v in r.figures.items()},
            "pull_forward": r.pull_forward, "verdict": r.verdict,
            "segments": r.segments.to_dict(orient="records") if not r.segments.empty else []}
    return {"campaigns": out, "reviewed": a.reviewed,
            "skipped": {c: a.skip_reasons.get(c, {"reason": None}) for c in a.skipped},
            "has_table": a.has_table, "available": a.available, "margin": params.margin,
            "post_days": params.post_days, "pre_days": params.pre_days, "ranked_by": "roi", "interval": 1 - params.alpha,
            "league_months": params.league_months}


def verdict_counts(results: dict, in_period: bool) -> dict[str, int]:
    """How many campaigns of ``campaign_review.json``'s results (``results``: its ``results`` dict, campaign id
    -> campaign under ``campaigns``) got each verdict: ``campaigns`` (count), ``repeat``, ``change`` and ``stop``.
    ``in_period``: only the campaigns that ended in the report's period (``reviewed_in_period``); otherwise every
    campaign of the league (the period's and those of the months before it). The two are different sets, and
    whoever shows a count says which one it is."""
    league = (results.get("campaigns") or {}).values()
    chosen = [c for c in league if c.get("reviewed_in_period") or not in_period]
    return {"campaigns": len(chosen),
            **{d: sum((c.get("verdict") or {}).get("decision") == d for c in chosen) for d in ("repeat", "change", "stop")}}


def league_net_per_member(results: dict) -> dict[str, float]:
    """Each campaign's net gain per targeted member as the campaign league counts it, from
    ``campaign_review.json``'s results (``results``: its ``results`` dict, or the whole file): incremental margin
    over the campaign and the days after it less the cost, divided by the targeted members (the shop's
    currency per member); a campaign without a cost, a margin or targets is left out. The figure the verdict
    rests on, for a page that sets another window's figure beside it (the next campaign's plan, whose window
    is the campaign's own days), so both read from one results file.

    >>> net = league_net_per_member({"campaigns": {"C1": {"cost": 3000.0, "n_target": 2412,
    ...     "figures": {"incremental_margin": {"value": 9533.79}}}}})
    >>> round(net["C1"], 4)
    2.7089
    """
    league = (results.get("results", results) or {}).get("campaigns") or {}
    out = {}
    for cid, c in league.items():
        margin = ((c.get("figures") or {}).get("incremental_margin") or {}).get("value")
        cost, targeted = c.get("cost"), c.get("n_target")
        if all(isinstance(x, (int, float)) and math.isfinite(x) for x in (margin, cost, targeted)) and targeted > 0:
            out[cid] = (margin - cost) / targeted
    return out


# ------------------------------------------------------------------ decisions for the summary page
DECISIONS = ("stop", "change", "repeat")


def decisions(results: dict, out_dir=None) -> list[dict]:
    """The period's reviewed campaigns whose verdict asks for someone (stop, change, repeat), the worst
    first, from ``campaign_review.json`` (``results``); each a dict of :class:`memberkit.month.Decision`'s fields."""
    cr = results.get("results", {})
    campaigns = [(cid, c) for cid, c in cr.get("campaigns", {}).items()
                 if c.get("reviewed_in_period") and c["verdict"]["decision"] in DECISIONS]
    order = {"stop": 0, "change": 1, "repeat": 2}
    out = []
    for cid, c in sorted(campaigns, key=lambda x: (order[x[1]["verdict"]["decision"]], x[1]["rank"])):
        roi = c["figures"].get("roi") or {}
        out.append({"kind": "campaign", "action": c["verdict"]["decision"], "subject": campaign_title(cid, c.get("name")),
                    "values": {"campaign_id": cid, "reason": c["verdict"].get("reason", ""), "roi": roi.get("value"),
                               "roi_low": roi.get("ci_low"), "roi_high": roi.get("ci_high"), "cost": c.get("cost"),
                               "evidence": c.get("evidence")},
                    "link": f"campaign_review.html#{anchor('campaign', cid)}"})
    return out
