"""Customer lifetime value: purchase models (BG/NBD, modified BG/NBD, Pareto/NBD) and Gamma-Gamma.

Only the fitters of ``lifetimes`` are used (its summary, holdout split and plots break on the
pinned pandas / numpy / matplotlib); the per-member summary comes from
:func:`memberkit.summary.clv_summary` (in the engine), and the holdout check, tracking curve
and CLV are computed here.

Every fit runs on the unique (frequency, recency, T) rows with their counts as ``weights``:
the likelihood is the same sum, with far fewer rows when many members share a history.

Example
-------
>>> s = pd.DataFrame({"frequency": [0, 0, 2, 5], "recency": [0.0, 0.0, 10.0, 30.0], "T": [40.0, 40.0, 38.0, 39.0]})
>>> unique_histories(s).weight.tolist()
[2, 1, 1]
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import MemberkitError

UNIT_DAYS = {"day": 1.0, "week": 7.0}
DAYS_PER_MONTH = 365.25 / 12
PURCHASE_MODELS = ("bgnbd", "modified_bgnbd", "pareto_nbd")


class ModelFitError(MemberkitError):
    """A model did not converge; the message names the model and the remedy."""


def _fitter(name: str, penalizer: float):
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    cls = {"bgnbd": BetaGeoFitter, "modified_bgnbd": ModifiedBetaGeoFitter, "pareto_nbd": ParetoNBDFitter}[name]
    return cls(penalizer_coef=penalizer)


def in_units(summary: pd.DataFrame, unit: str = "week") -> pd.DataFrame:
    """The engine's day counts as model inputs: recency, T (and duration_holdout) in ``unit``."""
    if unit not in UNIT_DAYS:
        raise ValueError(f"time unit must be one of {sorted(UNIT_DAYS)}, not {unit!r}")
    k = UNIT_DAYS[unit]
    out = summary.copy()
    out["recency"] = out.recency_days / k
    out["T"] = out.T_days / k
    if "duration_holdout_days" in out:
        out["duration_holdout"] = out.duration_holdout_days / k
    return out


def unique_histories(summary: pd.DataFrame) -> pd.DataFrame:
    """Distinct (frequency, recency, T) with the number of members sharing each, as ``weight``."""
    return summary.groupby(["frequency", "recency", "T"], sort=True).size().rename("weight").reset_index()


def fit_purchase_model(name: str, summary: pd.DataFrame, penalizer: float = 0.0):
    """Fit one purchase model on the unique histories; a failed fit raises :class:`ModelFitError`."""
    from lifetimes.utils import ConvergenceError
    rows = unique_histories(summary)
    model = _fitter(name, penalizer)
    try:
        model.fit(rows.frequency, rows.recency, rows["T"], weights=rows.weight)
    except (ConvergenceError, np.linalg.LinAlgError, FloatingPointError) as e:
        raise ModelFitError(f"{name} did not converge on {len(summary):,} members ({type(e).__name__}). "
                            f"Remedy: set a penalizer, e.g. -p notebooks.clv_forecast.penalizer=0.001, "
                            f"or use a longer calibration period.") from None
    params = pd.Series(model.params_, dtype=float)
    if not np.isfinite(params).all() or (params <= 0).any():
        raise ModelFitError(f"{name} gave parameters outside the model's range {params.round(4).to_dict()}. "
                            f"Remedy: set a penalizer (e.g. 0.001).")
    return model


def spend_inputs(summary: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Repeat buyers with positive mean spend (Gamma-Gamma's inputs), and how many were left out
    for non-positive spend (net returns can push a mean to zero or below)."""
    repeat = summary[summary.frequency > 0]
    ok = repeat[repeat.monetary_value > 0]
    return ok, int(len(repeat) - len(ok))


def fit_spend_model(summary: pd.DataFrame, penalizer: float = 0.0):
    """Gamma-Gamma on the unique (frequency, mean spend) pairs of repeat buyers, weighted."""
    from lifetimes import GammaGammaFitter
    from lifetimes.utils import ConvergenceError
    ok, _ = spend_inputs(summary)
    if len(ok) < 10:
        raise ModelFitError(f"Gamma-Gamma needs repeat buyers with positive spend; found {len(ok)}.")
    rows = ok.groupby(["frequency", "monetary_value"]).size().rename("weight").reset_index()
    model = GammaGammaFitter(penalizer_coef=penalizer)
    try:
        model.fit(rows.frequency, rows.monetary_value, weights=rows.weight)
    except (ConvergenceError, np.linalg.LinAlgError, FloatingPointError) as e:
        raise ModelFitError(f"Gamma-Gamma did not converge ({type(e).__name__}). "
                            f"Remedy: set a penalizer, e.g. -p notebooks.clv_forecast.penalizer=0.001.") from None
    return model


def spend_checks(summary: pd.DataFrame, spend_model) -> dict:
    """The Gamma-Gamma assumptions the report shows: frequency and spend independent, q > 1."""
    ok, excluded = spend_inputs(summary)
    corr = float(ok[["frequency", "monetary_value"]].corr().iloc[0, 1]) if len(ok) > 2 else math.nan
    q = float(spend_model.params_["q"])
    return {"frequency_spend_correlation": corr, "correlation_ok": bool(abs(corr) <= 0.3) if not math.isnan(corr) else None,
            "q": q, "q_ok": q > 1, "excluded_non_positive_spend": excluded, "repeat_buyers_used": int(len(ok))}


# ------------------------------------------------------------------ per-member predictions
def _per_history(model, summary: pd.DataFrame, fn) -> np.ndarray:
    """Evaluate ``fn(model, f, r, T)`` once per unique history and map back to members."""
    rows = unique_histories(summary)
    values = np.asarray(fn(model, rows.frequency.to_numpy(float), rows.recency.to_numpy(float), rows["T"].to_numpy(float)),
                        dtype=float)
    lookup = pd.Series(values, index=pd.MultiIndex.from_frame(rows[["frequency", "recency", "T"]]))
    return lookup.reindex(pd.MultiIndex.from_frame(summary[["frequency", "recency", "T"]])).to_numpy()


def expected_purchases(model, summary: pd.DataFrame, t) -> np.ndarray:
    """Expected purchases of each member in the next ``t`` time units, given their history."""
    return _per_history(model, summary, lambda m, f, r, T: m.conditional_expected_number_of_purchases_up_to_time(t, f, r, T))


def probability_alive(model, summary: pd.DataFrame) -> np.ndarray:
    return _per_history(model, summary, lambda m, f, r, T: m.conditional_probability_alive(f, r, T))


def expected_spend(spend_model, summary: pd.DataFrame) -> np.ndarray:
    """Expected value per purchase (Gamma-Gamma; members without a repeat get the population mean)."""
    f = summary.frequency.to_numpy(float)
    m = summary.monetary_value.to_numpy(float).clip(min=0)
    return np.asarray(spend_model.conditional_expected_average_profit(pd.Series(f), pd.Series(m)), dtype=float)


def lifetime_value(model, spend_model, summary: pd.DataFrame, unit: str, horizon_months: int = 12,
                   monthly_discount: float = 0.01, margin: float = 0.3) -> pd.DataFrame:
    """Per member: expected purchases over the horizon, P(alive), expected spend, and discounted CLV.

    CLV = sum over months i of (E[purchases by month i] - E[by month i-1]) x spend x margin / (1 + d)^i.
    """
    month = DAYS_PER_MONTH / UNIT_DAYS[unit]
    spend = expected_spend(spend_model, summary)
    previous = np.zeros(len(summary))
    value = np.zeros(len(summary))
    for i in range(1, horizon_months + 1):
        cumulative = expected_purchases(model, summary, i * month)
        value += (cumulative - previous) * spend * margin / (1 + monthly_discount) ** i
        previous = cumulative
    return pd.DataFrame({"member_id": summary.member_id.to_numpy(), "expected_purchases": previous,
                         "probability_alive": probability_alive(model, summary), "expected_spend": spend,
                         "clv": value})


# ------------------------------------------------------------------ holdout
def holdout_errors(summary: pd.DataFrame, predicted: np.ndarray, predicted_value: np.ndarray | None = None) -> dict:
    """MAE per member, aggregate error (predicted total / actual total - 1), and the share of actual
    holdout spend held by the top 10% of members by predicted value (or purchases)."""
    actual = summary.frequency_holdout.to_numpy(float)
    rank_by = predicted if predicted_value is None else predicted_value
    n_top = max(1, int(round(len(summary) * 0.1)))
    top = np.argsort(-rank_by, kind="stable")[:n_top]
    spend = summary.monetary_holdout.to_numpy(float)
    return {"mae": float(np.mean(np.abs(predicted - actual))),
            "aggregate_error": float(predicted.sum() / actual.sum() - 1) if actual.sum() else math.nan,
            "predicted_total": float(predicted.sum()), "actual_total": float(actual.sum()),
            "top_decile_spend_share": float(spend[top].sum() / spend.sum()) if spend.sum() else math.nan}


def tracking_curve(model, first_purchase: pd.Series, start: _dt.date, end: _dt.date, unit: str) -> pd.Series:
    """Expected repeat purchases per day of the calibration cohort: sum over members of the
    unconditional E[X(t)] since each member's first purchase, differenced by day."""
    k = UNIT_DAYS[unit]
    days = pd.date_range(start, end, freq="D")
    counts = pd.to_datetime(first_purchase).value_counts()
    cumulative = np.zeros(len(days))
    for first, n in counts.items():
        age = (days - first).days.to_numpy(float)
        alive = age > 0
        if alive.any():
            cumulative[alive] += n * np.asarray(model.expected_number_of_purchases_up_to_time(age[alive] / k), dtype=float)
    return pd.Series(np.diff(np.concatenate([[0.0], cumulative])), index=days, name="expected")


def holdout_by_frequency(summary: pd.DataFrame, predicted: np.ndarray, cap: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency (cap+ pooled)."""
    f = summary.frequency.clip(upper=cap)
    frame = pd.DataFrame({"frequency": f, "actual": summary.frequency_holdout, "predicted": predicted})
    out = frame.groupby("frequency").agg(members=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean"))
    out.index = [f"{i}+" if i == cap else str(i) for i in out.index]
    return out


@dataclass
class HoldoutCheck:
    """Fit on the calibration period, predict the holdout: per model, its parameters and errors."""

    calibration_end: _dt.date
    observation_end: _dt.date
    unit: str
    summary: pd.DataFrame
    models: dict = field(default_factory=dict)
    predictions: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)

    @property
    def best(self) -> str:
        ok = {k: v["mae"] for k, v in self.errors.items()}
        return min(ok, key=ok.get)


def holdout_check(summary: pd.DataFrame, calibration_end: _dt.date, observation_end: _dt.date, unit: str,
                  models=PURCHASE_MODELS, penalizer: float = 0.0, spend_model=None) -> HoldoutCheck:
    """Fit each purchase model on the calibration summary and score its holdout predictions.

    A model that fails to converge is recorded in ``failures`` with its message; if none fit,
    :class:`ModelFitError` is raised.
    """
    s = in_units(summary, unit)
    check = HoldoutCheck(calibration_end, observation_end, unit, s)
    spend = expected_spend(spend_model, s) if spend_model is not None else None
    for name in models:
        try:
            model = fit_purchase_model(name, s, penalizer)
        except ModelFitError as e:
            check.failures[name] = str(e)
            continue
        pred = expected_purchases(model, s, s.duration_holdout.iloc[0] if len(s) else 0.0)
        check.models[name], check.predictions[name] = model, pred
        check.errors[name] = holdout_errors(s, pred, pred * spend if spend is not None else None)
    if not check.models:
        raise ModelFitError("no purchase model converged on the calibration data:\n" + "\n".join(check.failures.values()))
    return check


def model_parameters(model) -> dict[str, float]:
    return {k: float(v) for k, v in model.params_.items()}


# ------------------------------------------------------------------ the whole analysis of one period
@dataclass
class CLVAnalysis:
    period: str
    end: _dt.date
    unit: str
    holdout: HoldoutCheck
    chosen: str
    chosen_by: str                   # "holdout" or "parameter"
    model: object                    # the chosen purchase model, refitted on all history
    final_params: dict
    spend_model: object
    spend_checks: dict
    members: pd.DataFrame            # per member: history, predictions, CLV, segment, tier, region, channel
    tracking: pd.DataFrame           # per week: actual and expected repeat purchases (calibration cohort)
    by_frequency: pd.DataFrame
    totals: dict


def analyse(tables: dict, period: str, params, rfm_params=None) -> CLVAnalysis:
    """The CLV report's computations: holdout check of each model, final fit, per-member CLV."""
    from . import rfm, summary
    from .periods import period_bounds
    _, end = period_bounds(period)
    orders = summary.without_outliers(tables["orders"], params.exclude_outliers)
    cal_end = (_dt.date.fromisoformat(params.calibration_end) if params.calibration_end
               else end - _dt.timedelta(weeks=params.holdout_weeks))
    if cal_end >= end:
        raise ModelFitError(f"calibration_end {cal_end} must be before the end of the period ({end})")
    cal = summary.clv_summary(orders, cal_end, end).to_pandas()
    if len(cal) < 50:
        raise ModelFitError(f"only {len(cal)} members bought before the calibration end {cal_end}; "
                            f"shorten holdout_weeks or choose a later period")
    full = in_units(summary.clv_summary(orders, end).to_pandas(), params.unit)
    spend_model = fit_spend_model(full, params.penalizer)
    check = holdout_check(cal, cal_end, end, params.unit, params.models, params.penalizer,
                          spend_model=fit_spend_model(in_units(cal, params.unit), params.penalizer))
    chosen, chosen_by = (params.model, "parameter") if params.model else (check.best, "holdout")
    if chosen not in check.models:
        raise ModelFitError(check.failures.get(chosen, f"{chosen} was not fitted"))
    model = fit_purchase_model(chosen, full, params.penalizer)
    values = lifetime_value(model, spend_model, full, params.unit, params.horizon_months, params.monthly_discount,
                            params.margin)
    members = full.merge(values, on="member_id")
    if rfm_params is not None:   # the RFM member table already holds each member's past revenue
        table, _ = rfm.member_table_at(tables["orders"], tables["members"].select(
            "member_id", "join_date", "region", "channel").to_pandas(), end, rfm_params)
        cols = ["member_id", "revenue_total", "segment", "tier", "stage", "region", "channel"]
    else:
        table = summary.member_summary(tables["orders"], end).to_pandas()
        cols = ["member_id", "revenue_total"]
    members = members.merge(table[cols], on="member_id", how="left")
    cutoff = members.revenue_total.quantile(1 - params.high_value_share)
    members["high_value"] = members.revenue_total >= cutoff
    members["at_risk"] = members.high_value & (members.probability_alive < params.alive_threshold)
    tracking = _tracking(check.models[chosen], orders, check.summary, cal_end, end, params.unit)
    clv_sorted = np.sort(members.clv.to_numpy())[::-1]
    top = max(1, int(round(len(members) * 0.1)))
    totals = {"members": int(len(members)), "total_clv": float(members.clv.sum()),
              "top10_share": float(clv_sorted[:top].sum() / clv_sorted.sum()) if clv_sorted.sum() else math.nan,
              "expected_purchases": float(members.expected_purchases.sum()),
              "high_value_at_risk": int(members.at_risk.sum()),
              "high_value_at_risk_past_revenue": float(members.loc[members.at_risk, "revenue_total"].sum()),
              "calibration_end": cal_end.isoformat(), "observation_end": end.isoformat()}
    return CLVAnalysis(period, end, params.unit, check, chosen, chosen_by, model, model_parameters(model), spend_model,
                       spend_checks(full, spend_model), members, tracking,
                       holdout_by_frequency(check.summary, check.predictions[chosen]), totals)


def _tracking(model, orders, cal_summary: pd.DataFrame, cal_end: _dt.date, end: _dt.date, unit: str) -> pd.DataFrame:
    from . import summary
    start = pd.Timestamp(cal_summary.first_purchase.min()).date()
    actual = summary.repeat_purchases_by_day(orders, cal_end, end).to_pandas()
    actual = actual.set_index(pd.to_datetime(actual.order_date)).repeat_purchases.reindex(
        pd.date_range(start, end, freq="D"), fill_value=0)
    expected = tracking_curve(model, cal_summary.first_purchase, start, end, unit)
    weekly = pd.DataFrame({"actual": actual, "expected": expected}).resample("W-SUN").sum()
    weekly["actual_cumulative"] = weekly.actual.cumsum()
    weekly["expected_cumulative"] = weekly.expected.cumsum()
    return weekly


def clv_by(a: CLVAnalysis, column: str) -> pd.DataFrame:
    """Members, total and mean CLV, share of CLV and mean P(alive) per value of a member column."""
    m = a.members.dropna(subset=[column]) if column in a.members else a.members.iloc[0:0]
    g = m.groupby(column, observed=True).agg(members=("member_id", "size"), clv=("clv", "sum"), mean_clv=("clv", "mean"),
                                              alive=("probability_alive", "mean"))
    g["clv_share"] = g.clv / a.members.clv.sum() if a.members.clv.sum() else math.nan
    return g.sort_values("clv", ascending=False)


def alive_matrix(model, summary: pd.DataFrame, max_frequency: int | None = None, bins: int = 20) -> pd.DataFrame:
    """P(alive) for a member observed for the longest T, by frequency (rows) and recency (columns)."""
    T = float(summary["T"].max())
    fmax = int(max_frequency or max(1, summary.frequency.quantile(0.98)))
    freqs = np.arange(0, fmax + 1)
    recs = np.linspace(0, T, bins)
    grid = np.vstack([np.asarray(model.conditional_probability_alive(np.full_like(recs, f), recs, np.full_like(recs, T)),
                                 dtype=float).reshape(-1) for f in freqs])
    grid[0, 1:] = np.nan   # without a repeat purchase the last purchase is the first: recency is 0
    return pd.DataFrame(grid, index=freqs, columns=np.round(recs, 0).astype(int))


EXPORT_COLUMNS = ["member_id", "frequency", "recency", "T", "monetary_value", "expected_purchases", "probability_alive",
                  "expected_spend", "clv", "high_value", "at_risk", "segment", "tier", "stage"]


def export_members(a: CLVAnalysis, folder) -> "Path":
    from pathlib import Path
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clv_members.csv"
    cols = [c for c in EXPORT_COLUMNS if c in a.members]
    a.members[cols].sort_values("clv", ascending=False).to_csv(path, index=False, encoding="utf-8-sig", float_format="%.4f")
    return path


def key_results(a: CLVAnalysis, params) -> dict:
    """The holdout check, the chosen model, parameters, spend checks and totals (plain data for clv_forecast.json)."""
    return {
        "unit": a.unit, "chosen_model": a.chosen, "chosen_by": a.chosen_by,
        "holdout": {"calibration_end": a.totals["calibration_end"], "observation_end": a.totals["observation_end"],
                    "errors": a.holdout.errors, "failures": a.holdout.failures,
                    "parameters": {k: model_parameters(m) for k, m in a.holdout.models.items()}},
        "final_parameters": {a.chosen: a.final_params, "gamma_gamma": model_parameters(a.spend_model)},
        "spend_checks": a.spend_checks, "totals": a.totals,
        "horizon_months": params.horizon_months, "monthly_discount": params.monthly_discount, "margin": params.margin,
    }
