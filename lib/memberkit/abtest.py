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
from .errors import ReasonedError
from .report import anchor, plain

# The member column each mean metric is computed from, and its pre-assignment covariate.
MEAN_COLUMNS = {"conversion": "converted", "orders": "orders", "revenue": "revenue"}
# How each purchase metric is tested: proportion (z-test), mean (Welch), ratio (delta method).
PURCHASE_KINDS = {"conversion": "proportion", "orders": "mean", "revenue": "mean", "aov": "ratio"}
PRE_COLUMNS = {"conversion": "converted_pre", "orders": "orders_pre", "revenue": "revenue_pre"}
RESULT_FIELDS = ("control_mean", "variant_mean", "abs_diff", "abs_ci_low", "abs_ci_high", "rel_lift", "ci_low",
                 "ci_high", "p_value", "p_value_adjusted", "chance_to_win")


class ExperimentError(ReasonedError):
    """An experiment cannot be evaluated as asked (unknown id, missing control, one variant)."""


# ----------------------------------------------------------------- data
def select_experiments(experiments, period_end: _dt.date, window_days: int, lookback_months: int) -> list[str]:
    """Experiments whose observation window closed by ``period_end`` and that were assigned in the
    ``lookback_months`` before it, oldest first (equal first assignment times by id); then those
    without assignment times (an export that carries its own outcomes), by id."""
    e = experiments.group_by("experiment_id").agg(first=experiments.assigned_ts.min(),
                                                  last=experiments.assigned_ts.max()).to_pandas()
    end = pd.Timestamp(period_end) + pd.Timedelta(days=1)
    start = end - pd.DateOffset(months=lookback_months)
    closed = (e["last"] + pd.Timedelta(days=window_days) <= end) & (e["first"] >= start)
    undated = e["first"].isna()
    return (e[closed].sort_values(["first", "experiment_id"], kind="stable").experiment_id.tolist()
            + sorted(e[undated].experiment_id))


def experiment_members(tables: dict, experiment_ids: list[str], window_days: int, pre_days: int,
                       exclude_outliers: bool = True) -> pd.DataFrame:
    """One row per member and experiment: variant, outcomes after assignment and before it.

    Columns: experiment_id, member_id, variant, variants (distinct variants the member was found
    in), assigned_ts, orders, revenue, converted, hours_to_first_order, orders_pre, revenue_pre,
    converted_pre, and ``outcome__<name>`` for each outcome column of the experiments table.
    Every assigned member has a row, with zeros when it never ordered.
    """
    from .summary import experiment_units, window_outcomes, without_outliers
    units = experiment_units(tables["experiments"], experiment_ids, window_days, pre_days)
    outcome_cols = [c for c in units.columns if c.startswith("outcome__")]
    out = window_outcomes(without_outliers(tables["orders"], exclude_outliers), units,
                          ["experiment_id", "member_id", "variant", "variants", "assigned_ts", *outcome_cols],
                          ["pre", "post"]).to_pandas()
    out = out.rename(columns={"orders_post": "orders", "revenue_post": "revenue"})
    out["converted"] = (out.orders > 0).astype(float)
    out["converted_pre"] = (out.orders_pre > 0).astype(float)
    out["hours_to_first_order"] = (out.first_post - out.assigned_ts) / pd.Timedelta(hours=1)
    for c in ("orders", "orders_pre"):
        out[c] = out[c].astype(float)
    keep = ["experiment_id", "member_id", "variant", "variants", "assigned_ts", "orders", "revenue", "converted",
            "hours_to_first_order", "orders_pre", "revenue_pre", "converted_pre", *outcome_cols]
    return out[keep].sort_values(["experiment_id", "member_id"], kind="stable").reset_index(drop=True)


def winsorize_members(members: pd.DataFrame, percentile: float | None) -> tuple[pd.DataFrame, dict]:
    """Cap revenue and orders (and their pre-period values) at ``percentile`` over all variants."""
    if percentile is None:
        return members, {}
    out, caps = members.copy(), {}
    for col in ("revenue", "orders", "revenue_pre", "orders_pre"):
        out[col], caps[col] = stats.winsorize(out[col].to_numpy(), percentile)
    return out, caps


# ----------------------------------------------------------------- comparisons
def metric_spec(metric: str, outcomes: dict[str, str] | None = None) -> tuple[str, str | None]:
    """(kind, member column) of a metric: a purchase metric, or an outcome column named in the config.

    kind is ``proportion`` (two-proportion z-test), ``mean`` (Welch) or ``ratio`` (delta method).
    An outcome is binary (a proportion) or numeric (a mean); its column is ``outcome__<name>``.
    """
    from .clean import outcome_column
    if metric in PURCHASE_KINDS:
        return PURCHASE_KINDS[metric], MEAN_COLUMNS.get(metric)
    if outcomes and metric in outcomes:
        return ("proportion" if outcomes[metric] == "binary" else "mean"), outcome_column(metric)
    raise ExperimentError(f"unknown metric {metric!r}: the purchase metrics are {', '.join(PURCHASE_KINDS)}"
                          + (f"; the outcomes are {', '.join(outcomes)}" if outcomes else
                             "; outcome columns are named under source.tables.experiments.outcomes"))


def compare_metric(members: pd.DataFrame, control: str, variant: str, metric: str, alpha: float = 0.05,
                   value_column: str | None = None, outcomes: dict[str, str] | None = None) -> dict:
    """One metric, one variant against control: means, difference, relative lift, test, chance to win.

    ``value_column`` replaces the metric's own column (CUPED passes the adjusted values); the
    test is then Welch's on those values. ``outcomes`` (name -> binary | numeric) declares the
    outcome columns a metric may name besides the purchase metrics (:func:`metric_spec`).
    """
    a = members[members.variant == control]
    b = members[members.variant == variant]
    kind, column = metric_spec(metric, outcomes)
    if kind == "ratio":
        ra, va = stats.ratio_mean(a.revenue, a.orders)
        rb, vb = stats.ratio_mean(b.revenue, b.orders)
        c = stats.normal_comparison(ra, va, rb, vb, alpha)
        var_a, var_b = va, vb
        chance = stats.chance_normal(c.diff, c.se)
    elif kind == "proportion" and value_column is None:
        xa, xb = int(a[column].sum()), int(b[column].sum())
        c = stats.two_proportions(xa, len(a), xb, len(b), alpha)
        var_a, var_b = c.mean_a * (1 - c.mean_a) / len(a), c.mean_b * (1 - c.mean_b) / len(b)
        chance = stats.chance_beta(xa, len(a), xb, len(b))
    else:
        col = value_column or column
        c = stats.welch_arrays(a[col], b[col], alpha)
        var_a, var_b = a[col].var(ddof=1) / len(a), b[col].var(ddof=1) / len(b)
        chance = stats.chance_normal(c.diff, c.se)
    lift, lo, hi = stats.relative_lift(c.mean_a, var_a, c.mean_b, var_b, alpha)
    if (metric in PURCHASE_KINDS or kind == "proportion") and math.isfinite(lo):
        lo = max(lo, -1.0)                                 # a non-negative metric cannot fall by more than 100%
    abs_lo, abs_hi = float(c.ci_low), float(c.ci_high)
    if kind == "proportion" and value_column is None:     # a difference of two rates lies in [-1, 1]
        abs_lo, abs_hi = max(abs_lo, -1.0), min(abs_hi, 1.0)
    c = stats.Comparison(c.mean_a, c.mean_b, c.diff, c.se, abs_lo, abs_hi, c.statistic, c.p_value, c.df)
    return {"metric": metric, "variant": variant, "n_control": len(a), "n_variant": len(b),
            "control_mean": float(c.mean_a), "variant_mean": float(c.mean_b), "abs_diff": float(c.diff),
            "abs_ci_low": float(c.ci_low), "abs_ci_high": float(c.ci_high), "se": float(c.se),
            "rel_lift": lift, "ci_low": lo, "ci_high": hi, "p_value": float(c.p_value), "chance_to_win": chance}


def compare_all(members: pd.DataFrame, control: str, variants: list[str], alpha: float = 0.05,
                metrics: list[str] | None = None, outcomes: dict[str, str] | None = None) -> pd.DataFrame:
    """Every metric (default: the purchase metrics) for every variant, with Holm-adjusted p-values
    across all of them."""
    rows = [compare_metric(members, control, v, m, alpha, outcomes=outcomes) for m in (metrics or AB_METRICS)
            for v in variants]
    out = pd.DataFrame(rows)
    out["p_value_adjusted"] = stats.holm(out.p_value)
    return out


def cuped_all(members: pd.DataFrame, control: str, variants: list[str], alpha: float = 0.05,
              metrics: list[str] | None = None) -> pd.DataFrame:
    """CUPED for each purchase metric with a pre-assignment value (of ``metrics`` when given): theta over
    all the experiment's members, then Welch on adjusted values."""
    rows = []
    for metric, col in MEAN_COLUMNS.items():
        if metrics is not None and metric not in metrics:
            continue
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
               power: float = 0.8, outcomes: dict[str, str] | None = None, tests: int = 1) -> dict:
    """Sample size per variant to detect a ``minimum_effect`` relative lift on ``metric`` from the
    control's baseline, the effect detectable with the members the experiment has, and how many
    more per variant it would need.

    ``tests``: the size of the family the verdict corrects (metrics x variants, Holm); planning
    uses Bonferroni's alpha / tests, since Holm's threshold for the primary test is not known in
    advance. When the relative lift cannot be planned for, ``undefined`` names why (a code:
    ``no_control`` no members in control, ``baseline_zero`` a 0% or zero baseline, which no relative
    lift moves, ``baseline_one`` a 100% baseline, ``target_above_one`` the lifted rate would pass
    100%, ``no_orders`` control placed no orders so its order value does not exist,
    ``zero_variance`` the metric does not vary in control) and the sizes are None / NaN.
    """
    a = members[members.variant == control]
    n_now = int(members.groupby("variant").size().min()) if len(members) else 0
    kind, column = metric_spec(metric, outcomes)
    family_alpha = alpha / max(1, int(tests))
    out = {"metric": metric, "baseline": math.nan, "minimum_effect": minimum_effect, "alpha": alpha, "tests": int(tests),
           "alpha_per_test": family_alpha, "power": power, "n_per_variant_needed": None, "n_per_variant_now": n_now,
           "mde_now": math.nan, "extra_per_variant_needed": None, "undefined": None}
    if a.empty:
        return {**out, "undefined": "no_control"}
    if kind == "proportion":
        p = float(a[column].mean())
        out["baseline"] = p
        undefined = ("baseline_zero" if p == 0 else "baseline_one" if p == 1 else
                     "target_above_one" if p * (1 + minimum_effect) >= 1 else None)
        if undefined:
            return {**out, "undefined": undefined}
        needed = stats.n_proportions(p, p * (1 + minimum_effect), family_alpha, power)
        p2 = stats.mde_proportions(n_now, p, family_alpha, power)
        mde = p2 / p - 1
    else:
        if kind == "ratio":
            if float(a.orders.sum()) == 0:
                return {**out, "undefined": "no_orders"}
            baseline, var = stats.ratio_mean(a.revenue, a.orders)
            sd = math.sqrt(var * len(a)) if math.isfinite(var) and var > 0 else 0.0
        else:
            baseline, sd = float(a[column].mean()), float(a[column].std(ddof=1)) if len(a) > 1 else 0.0
        out["baseline"] = baseline
        if not baseline:
            return {**out, "undefined": "baseline_zero"}
        if not (math.isfinite(sd) and sd > 0):
            return {**out, "undefined": "zero_variance"}
        needed = stats.n_means(baseline * minimum_effect, sd, family_alpha, power)
        mde = stats.mde_means(n_now, sd, family_alpha, power) / baseline if n_now >= 2 else math.nan
    needed_int = math.ceil(needed) if math.isfinite(needed) else None
    return {**out, "n_per_variant_needed": needed_int, "mde_now": mde,
            "extra_per_variant_needed": max(0, needed_int - n_now) if needed_int is not None else None}


# ----------------------------------------------------------------- breakdowns
def breakdown(members: pd.DataFrame, control: str, variants: list[str], metric: str, column: str,
              min_members: int = 100, alpha: float = 0.05, outcomes: dict[str, str] | None = None) -> pd.DataFrame:
    """The primary metric within each value of ``column`` (exploratory: no correction, small groups dropped)."""
    rows = []
    for value, g in members.dropna(subset=[column]).groupby(column, observed=True):
        sizes = g.groupby("variant").size()
        for v in variants:
            if min(sizes.get(control, 0), sizes.get(v, 0)) < min_members:
                continue
            r = compare_metric(g, control, v, metric, alpha, outcomes=outcomes)
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


# ----------------------------------------------------------------- does it pay? is it overstated?
def net_margin(members: pd.DataFrame, control: str, variant: str, cost: float, margin: float,
               alpha: float = 0.05) -> dict:
    """The margin a variant adds per assigned member after its incentive's cost, with its interval.

    Each member's net value is ``margin * revenue`` in control and ``margin * revenue - cost * converted``
    in the variant: every member of the variant who converts takes the incentive (the coupon is
    redeemed by those who would have bought anyway too), control gets none. The difference of the
    two groups' means is then ``margin * (revenue per member b - a) - cost * conversion b``, in the
    shop's currency per assigned member. As the net value is a linear combination of each
    member's revenue and conversion, its sample variance carries their covariance exactly (what the
    delta method gives for a linear function), and the interval is Welch's t interval
    (:func:`memberkit.stats.welch`; Welch, Biometrika 34, 1947) at ``1 - alpha``.

    ``members``: one row per member with ``variant``, ``revenue`` and ``converted`` (0/1);
    ``cost`` >= 0 in the shop's currency per converted member; ``margin`` in (0, 1]. Returns
    {variant, cost_per_conversion, margin, revenue_difference (b - a), conversion (the variant's),
    incremental_margin (margin x revenue difference), incentive_cost (cost x the variant's conversion),
    net, net_ci_low, net_ci_high, net_p_value},
    all per assigned member; the interval and p-value are NaN with fewer than two members in a group.
    """
    a = members[members.variant == control]
    b = members[members.variant == variant]
    net_a = margin * a.revenue.to_numpy(float)
    net_b = margin * b.revenue.to_numpy(float) - cost * b.converted.to_numpy(float)
    c = stats.welch_arrays(net_a, net_b, alpha)
    revenue_difference, conversion = float(b.revenue.mean() - a.revenue.mean()), float(b.converted.mean())
    return {"variant": variant, "cost_per_conversion": float(cost), "margin": float(margin),
            "revenue_difference": revenue_difference, "conversion": conversion,
            "incremental_margin": margin * revenue_difference, "incentive_cost": float(cost * conversion), "net": float(c.diff),
            "net_ci_low": float(c.ci_low), "net_ci_high": float(c.ci_high), "net_p_value": float(c.p_value)}


def pays(m: dict | None) -> bool:
    """Whether a :func:`net_margin` result says the variant pays: net margin positive, interval not below zero.
    No result (no cost named) pays by definition: the verdict then rests on the primary metric."""
    return m is None or (m["net"] > 0 and m["net_ci_low"] >= 0)


#: A significant lift at most this many times the smallest lift the test could detect (80% power)
#: is "near" it: the zone where significant estimates are mostly inflated ones.
NEAR_MDE = 1.3


def overstatement(row, plan: dict, minimum_effect: float) -> dict | None:
    """Whether a significant lift is likely overstated because the test was underpowered (type M error).

    ``row``: one :func:`compare_metric` result (``rel_lift``, ``abs_diff``, ``se``, ``control_mean``);
    ``plan``: :func:`power_plan` of the same metric (``mde_now``, a relative lift, and
    ``alpha_per_test``, the level the plan used). The lift counts as likely overstated when it is at
    most :data:`NEAR_MDE` times the smallest lift the test could detect, or when the test had less
    than 50% power for the observed effect itself (:func:`memberkit.stats.retrodesign`). Significant
    estimates from such a test are the lucky draws, so they exaggerate the true effect (Gelman and
    Carlin, "Beyond power calculations", 2014). The figure given is the exaggeration ratio and power
    for an assumed true lift of ``minimum_effect`` (the smallest lift worth detecting), or the observed
    lift when that is smaller.

    Returns None when the lift is not positive, the baseline is zero or the standard error is not
    positive; else {flagged (bool), rel_lift, mde_now, power_at_observed, assumed_lift, power_at_assumed,
    exaggeration, type_s} (lifts relative to control, powers and type S as fractions).
    """
    lift, diff, se, base = row["rel_lift"], row["abs_diff"], row["se"], row["control_mean"]
    alpha = plan.get("alpha_per_test") or plan.get("alpha") or 0.05
    if not (diff > 0 and lift > 0 and base and math.isfinite(se) and se > 0):
        return None
    mde = plan.get("mde_now", math.nan)
    at_observed = stats.retrodesign(diff, se, alpha)
    assumed = min(minimum_effect, lift)
    at_assumed = stats.retrodesign(assumed * base, se, alpha)
    near = math.isfinite(mde) and lift <= NEAR_MDE * mde
    return {"flagged": bool(near or at_observed.power < 0.5), "rel_lift": float(lift), "mde_now": float(mde),
            "power_at_observed": at_observed.power, "assumed_lift": float(assumed),
            "power_at_assumed": at_assumed.power, "exaggeration": at_assumed.exaggeration, "type_s": at_assumed.type_s}


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
    assigned_from: _dt.date | None         # None: the export has no assignment times
    assigned_to: _dt.date | None
    excluded_multi_variant: int
    members: pd.DataFrame = field(repr=False)
    results: pd.DataFrame = field(repr=False)
    cuped: pd.DataFrame = field(repr=False)
    power: dict = field(default_factory=dict)
    verdict: dict = field(default_factory=dict)
    breakdowns: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    cumulative: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    winsor_caps: dict = field(default_factory=dict)
    metrics: list[str] = field(default_factory=lambda: list(AB_METRICS))   # evaluated, outcomes first
    primary_metric: str = "conversion"   # the metric the verdict rests on (params', or the first outcome)
    left_out: list[str] = field(default_factory=list)     # purchase metrics without data for these members
    undefined: dict = field(default_factory=dict)         # metric -> {"reason": code, "variants": [...]}: not testable
    renamed: dict = field(default_factory=dict)           # variant name in the settings -> as the data writes it
    assignments: dict = field(default_factory=dict)       # rows read, kept, set aside by reason (the cleaning's)
    kinds: dict = field(default_factory=dict)             # metric -> proportion | mean | ratio
    net_margin: dict = field(default_factory=dict)        # variant -> net_margin(): margin after the incentive's cost
    overstated: dict = field(default_factory=dict)        # variant -> overstatement(): a significant lift likely too big

    @property
    def assigned_when(self) -> str:
        a, b = self.assigned_from, self.assigned_to
        if a is None:
            return "–"
        return str(a) if a == b else f"{a} – {b}"


def _name_key(name) -> str:
    return str(name).strip().casefold()


def match_variant(name: str, found: list[str]) -> str | None:
    """The variant of ``found`` (names in the data) that the setting ``name`` means: the same text, else
    the one name equal to it ignoring case and surrounding blanks ('control' is ' Control'); None
    when there is none or several."""
    if name in found:
        return name
    same = [f for f in found if _name_key(f) == _name_key(name)]
    return same[0] if len(same) == 1 else None


def design_for(experiment_id: str, found: list[str], params) -> tuple[str, dict[str, float], dict[str, str]]:
    """Control variant and planned split for an experiment, checked against the variants in the data,
    and the setting names written differently in the data ({setting: data name}). Names match
    ignoring case and surrounding blanks (:func:`match_variant`); the control and split use the
    data's names. Raises :class:`ExperimentError` (``control_missing``, ``one_variant``,
    ``split_differs``)."""
    d = params.designs.get(experiment_id)
    asked = d.control if d else params.default_control
    control = match_variant(asked, found)
    if control is None:
        raise ExperimentError(f"experiment {experiment_id}: control variant {asked!r} is not in the data "
                              f"(variants: {', '.join(found)}); name it with -p notebooks.ab_test.designs.{experiment_id}.control={found[0]}",
                              "control_missing", control=asked, variants=", ".join(found),
                              setting=f"notebooks.ab_test.designs.{experiment_id}.control={found[0]}")
    if len(found) < 2:
        raise ExperimentError(f"experiment {experiment_id} has only the variant {found[0]!r}; nothing to compare",
                              "one_variant", variant=found[0])
    renamed = {asked: control} if asked != control else {}
    if d and d.planned_split:
        split = {}
        for name, share in d.planned_split.items():
            in_data = match_variant(name, found) or name
            split[in_data] = share
            if in_data != name:
                renamed[name] = in_data
    else:
        split = {v: 1 / len(found) for v in found}
    missing = set(split) - set(found)
    extra = set(found) - set(split)
    if missing or extra:
        raise ExperimentError(f"experiment {experiment_id}: planned variants {sorted(split)} differ from those "
                              f"in the data {sorted(found)}", "split_differs",
                              planned=", ".join(sorted(split)), variants=", ".join(sorted(found)))
    return control, split, renamed


def experiment_metrics(m: pd.DataFrame, params) -> tuple[list[str], list[str]]:
    """The metrics to test for one experiment's members (rows of one ``experiment_id``), and the asked-for
    purchase metrics left out because these members have no data for them.

    The metrics asked for are the experiment's own (``params.designs[<id>].metrics``); without that
    setting, the outcome columns of the experiments table (by their own names) when it has some, else
    the purchase metrics (conversion, orders, revenue, aov). Holm's correction later runs over exactly
    these. Purchase metrics need orders: they are left out when no member ordered within the window (an
    experiment on a game's retention, say); AOV also when a variant has no order at all.

    Raises :class:`ExperimentError` (``nothing_to_compare``) when none of the metrics asked for can be tested.
    """
    outcomes = experiment_outcomes(params)
    design = params.designs.get(str(m.experiment_id.iloc[0])) if len(m) else None
    asked = list(design.metrics) if design is not None and design.metrics else (
        [o for o in outcomes if f"outcome__{o}" in m] or list(AB_METRICS))
    named = [o for o in asked if o in outcomes and f"outcome__{o}" in m]
    ordered = m.orders.sum() > 0
    purchase = [x for x in asked if x in AB_METRICS and ordered
                and (x != "aov" or m.groupby("variant").orders.sum().min() > 0)]
    left_out = [x for x in asked if x in AB_METRICS and x not in purchase]
    if not named and not purchase:
        raise ExperimentError(f"experiment {m.experiment_id.iloc[0]}: nothing to compare: no member ordered within "
                              f"{params.window_days} days of assignment and the experiments table has no outcome "
                              "columns (name them under source.tables.experiments.outcomes)",
                              "nothing_to_compare", days=params.window_days)
    return [x for x in asked if x in named or x in purchase], left_out


def testable(results: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The rows of ``results`` (:func:`compare_all`) whose test could be computed, Holm re-run over
    them, and the metrics left out: {metric: {"reason": code, "variants": [variant, ...]}}.

    Codes: ``no_variance`` (no variation within either group, so nothing to test against: every
    price equal, every member converted) and ``not_computable`` (too few members, say).
    """
    ok = results.p_value.map(lambda x: x is not None and math.isfinite(x))
    undefined = {}
    for _, x in results[~ok].iterrows():
        entry = undefined.setdefault(x.metric, {"reason": "no_variance" if x.se == 0 else "not_computable",
                                                "variants": []})
        entry["variants"].append(x.variant)
    kept = results[ok].reset_index(drop=True)
    if len(kept) < len(results):
        kept["p_value_adjusted"] = stats.holm(kept.p_value)
    return kept, undefined


def _tested(cuped: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """The CUPED rows of the metric x variant pairs that ``results`` kept."""
    if cuped.empty:
        return cuped
    pairs = set(zip(results.metric, results.variant))
    return cuped[[(m, v) in pairs for m, v in zip(cuped.metric, cuped.variant)]].reset_index(drop=True)


def _date(ts) -> _dt.date | None:
    return None if pd.isna(ts) else ts.date()


def experiment_outcomes(params) -> dict[str, str]:
    """Outcome name -> binary | numeric, as the experiments table's source config names them."""
    t = params.source.tables.get("experiments")
    return dict(t.outcomes) if t is not None else {}


def evaluate(members: pd.DataFrame, experiment_id: str, params, segments: pd.DataFrame | None = None) -> ExperimentResult:
    """Everything the report says about one experiment, from its member rows.

    Every assigned member counts (zeros when it never ordered). Members found in several
    variants are left out and counted. The primary metric is ``params.primary_metric`` when it
    was evaluated, else the first outcome column.
    """
    m = members[members.experiment_id == experiment_id]
    if m.empty:
        raise ExperimentError(f"experiment {experiment_id} has no assigned members", "no_members")
    multi = m[m.variants > 1]
    m = m[m.variants == 1].copy()
    found = sorted(m.variant.unique())
    control, split, renamed = design_for(experiment_id, found, params)
    variants = [v for v in found if v != control]
    counts = m.groupby("variant").size().reindex(list(split)).fillna(0).astype(int)
    srm_p = stats.srm_test(counts.to_numpy(), [split[v] for v in counts.index])
    metrics, left_out = experiment_metrics(m, params)
    primary = params.primary_metric if params.primary_metric in metrics else metrics[0]
    outcomes = experiment_outcomes(params)
    m, caps = winsorize_members(m, params.winsorize_percentile)
    if segments is not None:
        m = m.merge(segments, on="member_id", how="left")
    results, undefined = testable(compare_all(m, control, variants, params.alpha, metrics, outcomes))
    power = power_plan(m, control, primary, params.minimum_effect, params.alpha, params.power, outcomes,
                       tests=len(results))
    r = ExperimentResult(
        experiment_id, control, variants, split, {k: int(v) for k, v in counts.items()}, srm_p,
        bool(srm_p < params.srm_threshold), _date(m.assigned_ts.min()), _date(m.assigned_ts.max()), len(multi), m,
        results, _tested(cuped_all(m, control, variants, params.alpha, metrics), results), power, winsor_caps=caps,
        cumulative=cumulative_conversion(m, params.window_days), metrics=metrics, primary_metric=primary,
        left_out=left_out, kinds={x: metric_spec(x, outcomes)[0] for x in metrics}, undefined=undefined,
        renamed=renamed)
    frames = [breakdown(m, control, variants, primary, c, params.breakdown_min_members, params.alpha, outcomes)
              for c in params.breakdowns if c in m]
    r.breakdowns = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else pd.DataFrame()
    design = params.designs.get(experiment_id)
    _check_costs(experiment_id, design, variants)
    for v in variants:
        cost = design.cost_of(_setting_name(v, design)) if design is not None else None
        if cost is not None:
            r.net_margin[v] = net_margin(m, control, v, cost, params.margin, params.alpha)
    significant = results[(results.metric == primary) & (results.p_value_adjusted < params.alpha)]
    for _, x in significant.iterrows():
        o = overstatement(x, power, params.minimum_effect)
        if o is not None and o["flagged"]:
            r.overstated[x.variant] = o
    r.verdict = decide(r, params)
    return r


def _setting_name(variant: str, design) -> str:
    """The name ``design.cost_per_conversion`` gives ``variant`` (the data's name), matched as variant
    names are (:func:`match_variant`)."""
    c = design.cost_per_conversion
    if not isinstance(c, dict):
        return variant
    return next((k for k in c if match_variant(k, [variant]) == variant), variant)


def _check_costs(experiment_id: str, design, variants: list[str]) -> None:
    """Raises :class:`ExperimentError` (``cost_variant_unknown``) when ``cost_per_conversion`` names a
    variant that is not one of the treatment ``variants`` (control takes no incentive)."""
    c = design.cost_per_conversion if design is not None else None
    if not isinstance(c, dict):
        return
    unknown = [k for k in c if match_variant(k, variants) is None]
    if unknown:
        raise ExperimentError(f"experiment {experiment_id}: cost_per_conversion names {', '.join(unknown)}, which "
                              f"is not a treatment variant ({', '.join(variants)})", "cost_variant_unknown",
                              names=", ".join(unknown), variants=", ".join(variants))


def expected_counts(counts: dict[str, int], planned_split: dict[str, float]) -> dict[str, float]:
    """The members each group would hold under the planned split: all assigned members (the sum of
    ``counts``, variant -> members) times the group's planned share (``planned_split``, variant -> weight,
    any positive scale). Keys and order of ``planned_split``; the expected counts of the sample ratio check
    (:func:`memberkit.stats.srm_test`). Raises ValueError when the planned weights do not sum above zero.

    >>> expected_counts({"control": 2020, "banner": 1803}, {"control": 1, "banner": 1})
    {'control': 1911.5, 'banner': 1911.5}
    """
    total, weights = sum(counts.values()), sum(planned_split.values())
    if not weights > 0:
        raise ValueError(f"the planned split {planned_split} has no positive weight")
    return {k: total * w / weights for k, w in planned_split.items()}


def reading(p_value_adjusted: float, abs_diff: float, alpha: float, srm_failed: bool = False,
            decision: str | None = None) -> str:
    """How one metric of one variant reads against control, as a code: ``better`` or ``worse`` when its
    Holm-adjusted p-value is below ``alpha`` (higher is better for every metric, as in :func:`decide`),
    ``no_verdict`` when the split is broken. Otherwise (a missing p-value included) the words follow the
    experiment's verdict (``decision``, :func:`decide`), so that no row contradicts it: ``unclear`` (not
    clear yet) only while the verdict is that there is not enough evidence yet (or none is given);
    ``no_difference`` once the verdict is taken (ship, do not ship), since more members would not change it."""
    if srm_failed:
        return "no_verdict"
    if p_value_adjusted is None or not p_value_adjusted < alpha or not abs_diff or abs_diff != abs_diff:
        return "unclear" if decision in (None, "not_enough_evidence", "no_verdict") else "no_difference"
    return "better" if abs_diff > 0 else "worse"


def decide(r: ExperimentResult, params) -> dict:
    """ship / ships_conversion_not_margin / do_not_ship / not_enough_evidence / no_verdict, the variant
    it concerns, and why.

    - a sample ratio mismatch stops the verdict: the assignment is broken, no comparison holds;
    - ship the variant with the largest significant gain on the primary metric (Holm-adjusted),
      unless a guardrail metric is significantly worse for it, and, when the experiment names its
      incentive's cost (``designs.<id>.cost_per_conversion``), only if the margin net of that cost
      rises with its 95% interval not below zero (:func:`net_margin`, :func:`pays`);
    - ships_conversion_not_margin: a variant wins on the primary metric without harming a guardrail,
      but none of those winners pays its incentive's cost;
    - do not ship when every variant is significantly worse on the primary metric, or the only
      significant winners break a guardrail;
    - otherwise there is not enough evidence yet (with the members still needed).
    """
    if r.srm_failed:
        return {"decision": "no_verdict", "variant": None, "reason": "srm"}
    res = r.results
    primary = res[res.metric == r.primary_metric].set_index("variant")
    if primary.empty:                                   # the primary metric could not be tested
        return {"decision": "no_verdict", "variant": None, "reason": "primary_undefined"}
    significant = primary.p_value_adjusted < params.alpha
    winners = primary[significant & (primary.abs_diff > 0)].sort_values(
        ["rel_lift", "variant"], ascending=[False, True], kind="stable")     # equal gains: by variant name
    harmed = {}
    for v in winners.index:
        g = res[(res.variant == v) & res.metric.isin(params.guardrail_metrics)]
        bad = g[(g.p_value_adjusted < params.alpha) & (g.abs_diff < 0)].metric.tolist()
        if bad:
            harmed[v] = bad
    clean = [v for v in winners.index if v not in harmed]
    paying = [v for v in clean if pays(r.net_margin.get(v))]
    if paying:
        return {"decision": "ship", "variant": paying[0], "reason": "primary_up"}
    if clean:                                           # it moves the metric, but its incentive costs more than it earns
        return {"decision": "ships_conversion_not_margin", "variant": clean[0], "reason": "margin"}
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
    skipped: dict[str, str]               # experiment id -> why it could not be evaluated (English, for logs)
    skip_reasons: dict[str, dict] = field(default_factory=dict)   # id -> {"reason": code, **values} for the page
    has_table: bool = True                # False: the sources have no experiments table (report skipped)
    available: list[str] = field(default_factory=list)   # experiment ids in the data, for the hint


def analyse(tables: dict, period: str, params, rfm_params=None, data_end: _dt.date | None = None) -> ABAnalysis:
    """Evaluate the period's experiments (or those named in ``params.experiments``).

    ``data_end`` (the extraction date ``as_of``) is the last day with data: in a month still open
    at extraction only experiments whose observation window closed by then are chosen."""
    from . import rfm
    from .periods import period_bounds
    _, end = period_bounds(period)
    closed_by = min(data_end or end, end)
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
        ids = select_experiments(tables["experiments"], closed_by, params.window_days, params.lookback_months)
    members = experiment_members(tables, ids, params.window_days, params.pre_days,
                                 params.exclude_outliers) if ids else pd.DataFrame()
    accounting = assignment_accounting(tables, ids) if ids else {}
    # the day before each experiment's first assignment: its members' segments then
    first = members.groupby("experiment_id").assigned_ts.min() if rfm_params and len(members) else pd.Series()
    day_before = {x: first[x].date() - _dt.timedelta(days=1) for x in ids if pd.notna(first.get(x))}
    # only the experiments' members' rows, and only the columns the breakdowns read
    wanted = {day: members.member_id[members.experiment_id.isin([x for x, d in day_before.items() if d == day])]
              for day in day_before.values()}
    at = rfm.member_rows_at(tables["orders"], tables["members"], wanted, rfm_params,
                            ["member_id", "segment", "tier", "region", "channel"]) if day_before else {}
    segments = {x: at[day].table for x, day in day_before.items()}
    results, skipped, skip_reasons = [], {}, {}
    for x in ids:
        seg = segments.get(x)
        try:
            r = evaluate(members, x, params, seg)
        except ExperimentError as e:
            skipped[x] = str(e)
            if e.reason:
                skip_reasons[x] = {"reason": e.reason, **e.values}
            continue
        r.assignments = accounting.get(x, {})
        if r.assignments:
            r.excluded_multi_variant += r.assignments["set_aside"].get("several_variants", {}).get("members", 0)
        results.append(r)
    return ABAnalysis(period, end, results, skipped, available=sorted(known), skip_reasons=skip_reasons)


def assignment_accounting(tables: dict, experiment_ids: list[str]) -> dict[str, dict]:
    """Per experiment: assignment rows read, kept, and set aside by the cleaning, by reason.

    ``{id: {"read": rows, "kept": rows, "members": distinct members kept,
    "set_aside": {reason: {"rows": n, "members": distinct member ids}}}}``. The set-aside rows
    come from the cleaning's ``rejected/experiments.parquet`` (``tables["rejected_experiments"]``);
    rows without an experiment id cannot be attributed to one and are left out here.
    """
    e = tables["experiments"]
    e = e.filter(e.experiment_id.isin(experiment_ids))
    kept = e.group_by("experiment_id").agg(rows=e.count(), members=e.member_id.nunique()).to_pandas()
    out = {x.experiment_id: {"read": int(x.rows), "kept": int(x.rows), "members": int(x.members), "set_aside": {}}
           for x in kept.itertuples()}
    rej = tables.get("rejected_experiments")
    if rej is None:
        return out
    rej = rej.mutate(experiment=rej.experiment_id.strip())
    rej = rej.filter(rej.experiment.isin(experiment_ids))
    by = rej.group_by(["experiment", "reason"]).agg(rows=rej.count(), members=rej.member_id.strip().nunique()).to_pandas()
    for x in by.itertuples():
        acc = out.setdefault(x.experiment, {"read": 0, "kept": 0, "members": 0, "set_aside": {}})
        acc["read"] += int(x.rows)
        acc["set_aside"][x.reason] = {"rows": int(x.rows), "members": int(x.members)}
    return out


def experiment_record(r: ExperimentResult) -> dict:
    """One experiment as plain data (its entry in ``ab_test.json``): the SRM check, the verdict,
    every metric x variant figure, CUPED, power, and each metric's kind."""
    metrics = {}
    for _, x in r.results.iterrows():
        metrics.setdefault(x.metric, {})[x.variant] = {k: plain(x[k]) for k in RESULT_FIELDS}
    cuped = {}
    for _, x in r.cuped.iterrows():
        cuped.setdefault(x.metric, {})[x.variant] = {k: plain(x[k]) for k in (
            "theta", "variance_reduction", "abs_diff", "abs_ci_low", "abs_ci_high", "p_value")}
    return {
        "control": r.control, "variants": r.variants, "planned_split": r.planned_split, "counts": r.counts,
        "srm_p_value": r.srm_p_value, "srm_failed": r.srm_failed, "verdict": r.verdict,
        "assigned_from": r.assigned_from, "assigned_to": r.assigned_to,
        "excluded_multi_variant": r.excluded_multi_variant, "metrics": metrics, "cuped": cuped,
        "power": r.power, "winsorize_caps": r.winsor_caps, "primary_metric": r.primary_metric,
        "metrics_evaluated": r.metrics, "metrics_left_out": r.left_out, "metrics_undefined": r.undefined, "assignments": r.assignments,
        "kinds": r.kinds, "net_margin": {v: {k: plain(x) for k, x in m.items()} for v, m in r.net_margin.items()},
        "overstated": {v: {k: plain(x) for k, x in o.items()} for v, o in r.overstated.items()}}


def key_results(a: ABAnalysis, params) -> dict:
    """``ab_test.json``'s results: per experiment :func:`experiment_record`; the experiments that could
    not be evaluated, each with its reason code and values (``reason`` None when it has no code)."""
    return {"experiments": {r.experiment_id: experiment_record(r) for r in a.experiments},
            "skipped": {x: a.skip_reasons.get(x, {"reason": None}) for x in a.skipped},
            "has_table": a.has_table, "available": a.available,
            "primary_metric": params.primary_metric, "guardrail_metrics": params.guardrail_metrics,
            "alpha": params.alpha, "window_days": params.window_days, "correction": "holm"}


# ------------------------------------------------------------------ decisions for the summary page
DECISIONS = ("ship", "ships_conversion_not_margin", "do_not_ship", "no_verdict")


def decisions(results: dict, out_dir=None) -> list[dict]:
    """Experiments to ship, that lift the primary metric but not the margin after their incentive's cost,
    not to ship, or without a verdict because the split is broken, from
    ``ab_test.json`` (``results``); each a dict of :class:`memberkit.month.Decision`'s fields, with the
    experiment's own primary metric's lift and interval, and revenue per member's (``revenue_lift``,
    ``revenue_low``, ``revenue_high``; None when the primary metric is revenue or the results lack it)."""
    ab = results.get("results", {})
    out = []
    for eid, e in ab.get("experiments", {}).items():
        v = e["verdict"]
        if v["decision"] not in DECISIONS:
            continue
        variant = v.get("variant")
        primary = e.get("primary_metric") or ab.get("primary_metric")   # each experiment's own metric
        m = (e.get("metrics", {}).get(primary, {}) or {}).get(variant) if variant else None
        net = (e.get("net_margin") or {}).get(variant) or {}
        # revenue per member beside a verdict on another metric: a lift in conversion alone is not the money
        revenue = ((e.get("metrics", {}).get("revenue", {}) or {}).get(variant) or {}) if variant and primary != "revenue" else {}
        out.append({"kind": "experiment", "action": v["decision"], "subject": eid,
                    "values": {"variant": variant, "reason": v.get("reason", ""), "metric": primary,
                               "lift": (m or {}).get("rel_lift"), "lift_low": (m or {}).get("ci_low"),
                               # the groups' values, so the summary gives a rate's change in percentage points
                               "control": (m or {}).get("control_mean"), "value": (m or {}).get("variant_mean"),
                               "kind": (e.get("kinds") or {}).get(primary),
                               "lift_high": (m or {}).get("ci_high"), "cost": net.get("cost_per_conversion"),
                               "net": net.get("net"), "net_low": net.get("net_ci_low"),
                               "net_high": net.get("net_ci_high"),
                               "overstated": bool((e.get("overstated") or {}).get(variant)),
                               "revenue_lift": revenue.get("rel_lift"), "revenue_low": revenue.get("ci_low"),
                               "revenue_high": revenue.get("ci_high")},
                    "link": f"ab_test.html#{anchor('experiment', eid)}"})
    return out
