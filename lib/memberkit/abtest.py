"""A/B test evaluation: sample ratio check, each variant against control on every metric, Holm's
correction, Bayesian chance to beat control, CUPED, power, breakdowns and a one-line verdict.

The engine computes what each assigned member bought after (and before) assignment
(:func:`memberkit.summary.window_outcomes`); everything here works on that member-scale frame
with the tested primitives of :mod:`memberkit.stats`.

Metrics per member, over ``window_days`` after the member's assignment:

- conversion: bought at least once (two-proportion z-test);
- orders: distinct paid orders; revenue: net spend (Welch's t-test);
- aov: revenue / orders as a ratio of member means (delta method).

Example
-------
>>> m = pd.DataFrame({"variant": ["control"] * 4 + ["b"] * 4, "orders": [0, 1, 0, 2, 1, 1, 0, 2],
...                   "revenue": [0, 50.0, 0, 120, 60, 40, 0, 90]})
>>> m["converted"] = (m.orders > 0).astype(float)
>>> round(compare_metric(m, "control", "b", "conversion")["abs_diff"], 3)
0.25
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import stats
from .config import AB_METRICS
from .errors import MemberkitError
from .report import plain

# The member column each mean metric is computed from, and its pre-assignment covariate.
MEAN_COLUMNS = {"conversion": "converted", "orders": "orders", "revenue": "revenue"}
PRE_COLUMNS = {"conversion": "converted_pre", "orders": "orders_pre", "revenue": "revenue_pre"}
RESULT_FIELDS = ("control_mean", "variant_mean", "abs_diff", "abs_ci_low", "abs_ci_high", "rel_lift", "ci_low",
                 "ci_high", "p_value", "p_value_adjusted", "chance_to_win")


class ExperimentError(MemberkitError):
    """An experiment cannot be evaluated as asked (unknown id, missing control, one variant)."""


# ----------------------------------------------------------------- data
def select_experiments(experiments, period_end: _dt.date, window_days: int, lookback_months: int) -> list[str]:
    """Experiments whose observation window closed by ``period_end`` and that were assigned in the
    ``lookback_months`` before it, oldest first."""
    e = experiments.group_by("experiment_id").agg(first=experiments.assigned_ts.min(),
                                                  last=experiments.assigned_ts.max()).to_pandas()
    end = pd.Timestamp(period_end) + pd.Timedelta(days=1)
    start = end - pd.DateOffset(months=lookback_months)
    closed = (e["last"] + pd.Timedelta(days=window_days) <= end) & (e["first"] >= start)
    return e[closed].sort_values("first").experiment_id.tolist()


def experiment_members(tables: dict, experiment_ids: list[str], window_days: int, pre_days: int,
                       exclude_outliers: bool = True) -> pd.DataFrame:
    """One row per member and experiment: variant, outcomes after assignment and before it.

    Columns: experiment_id, member_id, variant, variants (distinct variants the member was found
    in), assigned_ts, orders, revenue, converted, hours_to_first_order, orders_pre, revenue_pre,
    converted_pre.
    """
    from .summary import experiment_units, window_outcomes, without_outliers
    units = experiment_units(tables["experiments"], experiment_ids, window_days, pre_days)
    out = window_outcomes(without_outliers(tables["orders"], exclude_outliers), units,
                          ["experiment_id", "member_id", "variant", "variants", "assigned_ts"],
                          ["pre", "post"]).to_pandas()
    out = out.rename(columns={"orders_post": "orders", "revenue_post": "revenue"})
    out["converted"] = (out.orders > 0).astype(float)
    out["converted_pre"] = (out.orders_pre > 0).astype(float)
    out["hours_to_first_order"] = (out.first_post - out.assigned_ts) / pd.Timedelta(hours=1)
    for c in ("orders", "orders_pre"):
        out[c] = out[c].astype(float)
    keep = ["experiment_id", "member_id", "variant", "variants", "assigned_ts", "orders", "revenue", "converted",
            "hours_to_first_order", "orders_pre", "revenue_pre", "converted_pre"]
    return out[keep].sort_values(["experiment_id", "member_id"]).reset_index(drop=True)


def winsorize_members(members: pd.DataFrame, percentile: float | None) -> tuple[pd.DataFrame, dict]:
    """Cap revenue and orders (and their pre-period values) at ``percentile`` over all variants."""
    if percentile is None:
        return members, {}
    out, caps = members.copy(), {}
    for col in ("revenue", "orders", "revenue_pre", "orders_pre"):
        out[col], caps[col] = stats.winsorize(out[col].to_numpy(), percentile)
    return out, caps


# ----------------------------------------------------------------- comparisons
def compare_metric(members: pd.DataFrame, control: str, variant: str, metric: str, alpha: float = 0.05,
                   value_column: str | None = None) -> dict:
    """One metric, one variant against control: means, difference, relative lift, test, chance to win.

    ``value_column`` replaces the metric's own column (CUPED passes the adjusted values); the
    test is then Welch's on those values.
    """
    a = members[members.variant == control]
    b = members[members.variant == variant]
    if metric == "aov":
        ra, va = stats.ratio_mean(a.revenue, a.orders)
        rb, vb = stats.ratio_mean(b.revenue, b.orders)
        c = stats.normal_comparison(ra, va, rb, vb, alpha)
        var_a, var_b = va, vb
        chance = stats.chance_normal(c.diff, c.se)
    elif metric == "conversion" and value_column is None:
        xa, xb = int(a.converted.sum()), int(b.converted.sum())
        c = stats.two_proportions(xa, len(a), xb, len(b), alpha)
        var_a, var_b = c.mean_a * (1 - c.mean_a) / len(a), c.mean_b * (1 - c.mean_b) / len(b)
        chance = stats.chance_beta(xa, len(a), xb, len(b))
    else:
        col = value_column or MEAN_COLUMNS[metric]
        c = stats.welch_arrays(a[col], b[col], alpha)
        var_a, var_b = a[col].var(ddof=1) / len(a), b[col].var(ddof=1) / len(b)
        chance = stats.chance_normal(c.diff, c.se)
    lift, lo, hi = stats.relative_lift(c.mean_a, var_a, c.mean_b, var_b, alpha)
    return {"metric": metric, "variant": variant, "n_control": len(a), "n_variant": len(b),
            "control_mean": float(c.mean_a), "variant_mean": float(c.mean_b), "abs_diff": float(c.diff),
            "abs_ci_low": float(c.ci_low), "abs_ci_high": float(c.ci_high), "se": float(c.se),
            "rel_lift": lift, "ci_low": lo, "ci_high": hi, "p_value": float(c.p_value), "chance_to_win": chance}


def compare_all(members: pd.DataFrame, control: str, variants: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Every metric for every variant, with Holm-adjusted p-values across all of them."""
    rows = [compare_metric(members, control, v, m, alpha) for m in AB_METRICS for v in variants]
    out = pd.DataFrame(rows)
    out["p_value_adjusted"] = stats.holm(out.p_value)
    return out


def cuped_all(members: pd.DataFrame, control: str, variants: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """CUPED for each mean metric: theta over all the experiment's members, then Welch on adjusted values."""
    rows = []
    for metric, col in MEAN_COLUMNS.items():
        adj = stats.cuped(members[col], members[PRE_COLUMNS[metric]])
        m = members.assign(_adjusted=adj.adjusted)
        for v in variants:
            raw = compare_metric(m, control, v, metric, alpha)
            r = compare_metric(m, control, v, metric, alpha, value_column="_adjusted")
            width_raw, width = raw["abs_ci_high"] - raw["abs_ci_low"], r["abs_ci_high"] - r["abs_ci_low"]
            rows.append({"metric": metric, "variant": v, "theta": adj.theta, "variance_reduction": adj.variance_reduction,
                         "abs_diff": r["abs_diff"], "abs_ci_low": r["abs_ci_low"], "abs_ci_high": r["abs_ci_high"],
                         "rel_lift": r["abs_diff"] / raw["control_mean"] if raw["control_mean"] else math.nan,
                         "p_value": r["p_value"], "interval_narrower_by": 1 - width / width_raw if width_raw else math.nan})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------- power
def power_plan(members: pd.DataFrame, control: str, metric: str, minimum_effect: float, alpha: float = 0.05,
               power: float = 0.8) -> dict:
    """Sample size per variant to detect a ``minimum_effect`` relative lift on ``metric`` from the
    control's baseline, the effect detectable with the members the experiment has, and how many
    more per variant it would need."""
    a = members[members.variant == control]
    n_now = int(members.groupby("variant").size().min())
    if metric == "conversion":
        p = float(a.converted.mean())
        target = min(p * (1 + minimum_effect), 1 - 1e-9)
        needed = stats.n_proportions(p, target, alpha, power)
        p2 = stats.mde_proportions(n_now, p, alpha, power)
        mde, baseline = (p2 / p - 1) if p else math.nan, p
    else:
        if metric == "aov":
            baseline, var = stats.ratio_mean(a.revenue, a.orders)
            sd = math.sqrt(var * len(a))      # per-member standard deviation implied by the delta method
        else:
            col = MEAN_COLUMNS[metric]
            baseline, sd = float(a[col].mean()), float(a[col].std(ddof=1))
        needed = stats.n_means(baseline * minimum_effect, sd, alpha, power) if baseline else math.inf
        mde = stats.mde_means(n_now, sd, alpha, power) / baseline if baseline else math.nan
    needed_int = math.ceil(needed) if math.isfinite(needed) else None
    return {"metric": metric, "baseline": baseline, "minimum_effect": minimum_effect, "alpha": alpha, "power": power,
            "n_per_variant_needed": needed_int, "n_per_variant_now": n_now, "mde_now": mde,
            "extra_per_variant_needed": max(0, needed_int - n_now) if needed_int is not None else None}


# ----------------------------------------------------------------- breakdowns
def breakdown(members: pd.DataFrame, control: str, variants: list[str], metric: str, column: str,
              min_members: int = 100, alpha: float = 0.05) -> pd.DataFrame:
    """The primary metric within each value of ``column`` (exploratory: no correction, small groups dropped)."""
    rows = []
    for value, g in members.dropna(subset=[column]).groupby(column, observed=True):
        sizes = g.groupby("variant").size()
        for v in variants:
            if min(sizes.get(control, 0), sizes.get(v, 0)) < min_members:
                continue
            r = compare_metric(g, control, v, metric, alpha)
            rows.append({"dimension": column, "group": value, **{k: r[k] for k in
                         ("variant", "n_control", "n_variant", "control_mean", "variant_mean", "abs_diff",
                          "abs_ci_low", "abs_ci_high", "rel_lift", "p_value")}})
    return pd.DataFrame(rows)


def cumulative_conversion(members: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """Share of each variant's members who have bought, by day since assignment (0..window_days)."""
    days = np.arange(0, window_days + 1)
    out = {}
    for v, g in members.groupby("variant"):
        h = g.hours_to_first_order.dropna().to_numpy() / 24
        out[v] = [(h <= d).sum() / len(g) for d in days]
    return pd.DataFrame(out, index=pd.Index(days, name="day"))


# ----------------------------------------------------------------- one experiment
@dataclass
class ExperimentResult:
    experiment_id: str
    control: str
    variants: list[str]                  # the treatment variants, without control
    planned_split: dict[str, float]
    counts: dict[str, int]
    srm_p_value: float
    srm_failed: bool
    assigned_from: _dt.date
    assigned_to: _dt.date
    excluded_multi_variant: int
    members: pd.DataFrame = field(repr=False)
    results: pd.DataFrame = field(repr=False)
    cuped: pd.DataFrame = field(repr=False)
    power: dict = field(default_factory=dict)
    verdict: dict = field(default_factory=dict)
    breakdowns: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    cumulative: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    winsor_caps: dict = field(default_factory=dict)

    @property
    def assigned_when(self) -> str:
        a, b = self.assigned_from, self.assigned_to
        return str(a) if a == b else f"{a} – {b}"


def design_for(experiment_id: str, found: list[str], params) -> tuple[str, dict[str, float]]:
    """Control variant and planned split for an experiment, checked against the variants in the data."""
    d = params.designs.get(experiment_id)
    control = d.control if d else params.default_control
    if control not in found:
        raise ExperimentError(f"experiment {experiment_id}: control variant {control!r} is not in the data "
                              f"(variants: {', '.join(found)}); set designs.{experiment_id}.control")
    if len(found) < 2:
        raise ExperimentError(f"experiment {experiment_id} has only the variant {found[0]!r}; nothing to compare")
    split = dict(d.planned_split) if d and d.planned_split else {v: 1 / len(found) for v in found}
    missing = set(split) - set(found)
    extra = set(found) - set(split)
    if missing or extra:
        raise ExperimentError(f"experiment {experiment_id}: planned variants {sorted(split)} differ from those "
                              f"in the data {sorted(found)}")
    return control, split


def evaluate(members: pd.DataFrame, experiment_id: str, params, segments: pd.DataFrame | None = None) -> ExperimentResult:
    """Everything the report says about one experiment, from its member rows."""
    m = members[members.experiment_id == experiment_id]
    if m.empty:
        raise ExperimentError(f"experiment {experiment_id} has no assigned members")
    multi = m[m.variants > 1]
    m = m[m.variants == 1].copy()
    found = sorted(m.variant.unique())
    control, split = design_for(experiment_id, found, params)
    variants = [v for v in found if v != control]
    counts = m.groupby("variant").size().reindex(list(split)).fillna(0).astype(int)
    srm_p = stats.srm_test(counts.to_numpy(), [split[v] for v in counts.index])
    m, caps = winsorize_members(m, params.winsorize_percentile)
    if segments is not None:
        m = m.merge(segments, on="member_id", how="left")
    results = compare_all(m, control, variants, params.alpha)
    power = power_plan(m, control, params.primary_metric, params.minimum_effect, params.alpha, params.power)
    r = ExperimentResult(
        experiment_id, control, variants, split, {k: int(v) for k, v in counts.items()}, srm_p,
        bool(srm_p < params.srm_threshold), m.assigned_ts.min().date(), m.assigned_ts.max().date(), len(multi), m,
        results, cuped_all(m, control, variants, params.alpha), power, winsor_caps=caps,
        cumulative=cumulative_conversion(m, params.window_days))
    frames = [breakdown(m, control, variants, params.primary_metric, c, params.breakdown_min_members, params.alpha)
              for c in params.breakdowns if c in m]
    r.breakdowns = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else pd.DataFrame()
    r.verdict = decide(r, params)
    return r


def decide(r: ExperimentResult, params) -> dict:
    """ship / do_not_ship / not_enough_evidence / no_verdict, the variant it concerns, and why.

    - a sample ratio mismatch stops the verdict: the assignment is broken, no comparison holds;
    - ship the variant with the largest significant gain on the primary metric (Holm-adjusted),
      unless a guardrail metric is significantly worse for it;
    - do not ship when every variant is significantly worse on the primary metric, or the only
      significant winners break a guardrail;
    - otherwise there is not enough evidence yet (with the members still needed).
    """
    if r.srm_failed:
        return {"decision": "no_verdict", "variant": None, "reason": "srm"}
    res = r.results
    primary = res[res.metric == params.primary_metric].set_index("variant")
    significant = primary.p_value_adjusted < params.alpha
    winners = primary[significant & (primary.abs_diff > 0)].sort_values("rel_lift", ascending=False)
    harmed = {}
    for v in winners.index:
        g = res[(res.variant == v) & res.metric.isin(params.guardrail_metrics)]
        bad = g[(g.p_value_adjusted < params.alpha) & (g.abs_diff < 0)].metric.tolist()
        if bad:
            harmed[v] = bad
    clean = [v for v in winners.index if v not in harmed]
    if clean:
        return {"decision": "ship", "variant": clean[0], "reason": "primary_up"}
    if harmed:
        v = next(iter(harmed))
        return {"decision": "do_not_ship", "variant": v, "reason": "guardrail", "guardrails": harmed[v]}
    if significant.all() and (primary.abs_diff < 0).all():
        return {"decision": "do_not_ship", "variant": None, "reason": "primary_down"}
    return {"decision": "not_enough_evidence", "variant": None, "reason": "inconclusive",
            "extra_per_variant_needed": r.power.get("extra_per_variant_needed")}


# ----------------------------------------------------------------- the whole report
@dataclass
class ABAnalysis:
    period: str
    end: _dt.date
    experiments: list[ExperimentResult]
    skipped: dict[str, str]               # experiment id -> why it could not be evaluated
    has_table: bool = True


def analyse(tables: dict, period: str, params, rfm_params=None) -> ABAnalysis:
    """Evaluate the period's experiments (or those named in ``params.experiments``)."""
    from .periods import period_bounds
    _, end = period_bounds(period)
    if "experiments" not in tables:
        if params.experiments:
            raise ExperimentError("the sources have no experiments table; add one under source.tables.experiments")
        return ABAnalysis(period, end, [], {}, has_table=False)
    known = set(tables["experiments"].select("experiment_id").distinct().to_pandas().experiment_id)
    if params.experiments:
        unknown = [x for x in params.experiments if x not in known]
        if unknown:
            raise ExperimentError(f"unknown experiment id(s): {', '.join(unknown)}; the data has: "
                                  f"{', '.join(sorted(known))}")
        ids = list(params.experiments)
    else:
        ids = select_experiments(tables["experiments"], end, params.window_days, params.lookback_months)
    members = experiment_members(tables, ids, params.window_days, params.pre_days,
                                 params.exclude_outliers) if ids else pd.DataFrame()
    results, skipped = [], {}
    for x in ids:
        assigned = members[members.experiment_id == x] if len(members) else members
        seg = _segments_at(tables, assigned, rfm_params) if (rfm_params and len(assigned)) else None
        try:
            results.append(evaluate(members, x, params, seg))
        except ExperimentError as e:
            skipped[x] = str(e)
    return ABAnalysis(period, end, results, skipped)


def _segments_at(tables: dict, members: pd.DataFrame, rfm_params) -> pd.DataFrame:
    """RFM segment and tier the day before assignment, with channel and region, per member."""
    from . import rfm
    day_before = members.assigned_ts.min().date() - _dt.timedelta(days=1)
    profile = tables["members"].select("member_id", "join_date", "region", "channel").to_pandas()
    table, _ = rfm.member_table_at(tables["orders"], profile, day_before, rfm_params)
    return table[["member_id", "segment", "tier", "region", "channel"]]


def key_results(a: ABAnalysis, params) -> dict:
    """``ab_test.json``'s results: per experiment the SRM check, the verdict and every metric x variant figure."""
    out = {}
    for r in a.experiments:
        metrics = {}
        for _, x in r.results.iterrows():
            metrics.setdefault(x.metric, {})[x.variant] = {k: plain(x[k]) for k in RESULT_FIELDS}
        cuped = {}
        for _, x in r.cuped.iterrows():
            cuped.setdefault(x.metric, {})[x.variant] = {k: plain(x[k]) for k in (
                "theta", "variance_reduction", "abs_diff", "abs_ci_low", "abs_ci_high", "p_value")}
        out[r.experiment_id] = {
            "control": r.control, "variants": r.variants, "planned_split": r.planned_split, "counts": r.counts,
            "srm_p_value": r.srm_p_value, "srm_failed": r.srm_failed, "verdict": r.verdict,
            "assigned_from": r.assigned_from, "assigned_to": r.assigned_to,
            "excluded_multi_variant": r.excluded_multi_variant, "metrics": metrics, "cuped": cuped,
            "power": r.power, "winsorize_caps": r.winsor_caps}
    return {"experiments": out, "skipped": a.skipped, "primary_metric": params.primary_metric,
                           "guardrail_metrics": params.guardrail_metrics, "alpha": params.alpha,
                           "window_days": params.window_days, "correction": "holm"}
