"""The CLV fits of the kit against the naive lifetimes path, on one run's clean orders.

Both fit the same models (the CLV report's purchase models and Gamma-Gamma) on the same input:
the per-member (frequency, recency, T, mean spend) of :func:`memberkit.summary.clv_summary` at the
period's end, in the report's unit, outliers left out as the report leaves them out.

* the kit: :func:`memberkit.clv.fit_purchase_model` / :func:`memberkit.clv.fit_spend_model`, each a
  weighted fit on the unique histories (scaled, log-parameters, L-BFGS-B from fixed starts);
* naive: lifetimes' own fitters (``BetaGeoFitter``, ``ModifiedBetaGeoFitter``, ``ParetoNBDFitter``,
  ``GammaGammaFitter``) fitted unweighted on every member's row, as a notebook would, but with the
  kit's tolerance (:data:`NAIVE_TOL`) instead of lifetimes' defaults, which stop short of the optimum
  (the BG/NBD fitters' BFGS at tol 1e-7, Pareto/NBD's Nelder-Mead at tol 1e-4 from a random start:
  up to 1e-6 and 3.5e-4 from it on CDNOW), and Pareto/NBD's random start drawn from a fixed seed.

Prints one JSON object: per model the seconds of each path, the parameters of each and their
agreement (the largest relative difference over the model's parameters), and the totals.

    PYTHONPATH=lib python bench/naive_clv.py OUTPUT_FOLDER CONFIG [KEY=VALUE ...]
"""
from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path


# The tolerance both paths stop at. The kit's L-BFGS-B stops when the projected gradient of -log L per
# member is below 1e-8 (clv.LBFGSB_OPTIONS); lifetimes' ``tol`` is BFGS's gtol on the same objective for the
# BG/NBD fitters and Gamma-Gamma. Pareto/NBD: lifetimes' Nelder-Mead stops when its simplex is within
# ``tol`` in every (scaled) parameter and its -log L, a sum over members, within NAIVE_FATOL_PER_MEMBER x
# members (``tol`` itself would ask a sum of a million terms for 1e-8, under its rounding: the fit then runs
# to its last iteration).
NAIVE_TOL = 1e-8
NAIVE_FATOL_PER_MEMBER = 1e-12
NAIVE_SEED = 0            # Pareto/NBD: lifetimes draws its start from numpy's global generator
NAIVE_MAXITER = 20000     # Pareto/NBD: Nelder-Mead iterations (lifetimes' default 2,000 can stop it first)


def naive_fit(name: str, full, spend, penalizer: float, tol: float = NAIVE_TOL) -> dict[str, float]:
    """lifetimes' fitter for ``name`` on every member's row, unweighted, stopped at ``tol``; its parameters by name.

    ``full``: the members' frame with frequency, recency, T (the model's unit); ``spend``: the repeat
    buyers with positive spend (frequency, monetary_value) for ``gamma_gamma``. Raises what lifetimes
    raises (``ConvergenceError`` when its optimiser does not converge)."""
    import numpy as np
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    cls = {"bgnbd": BetaGeoFitter, "modified_bgnbd": ModifiedBetaGeoFitter, "pareto_nbd": ParetoNBDFitter,
           "gamma_gamma": GammaGammaFitter}[name]
    model = cls(penalizer_coef=penalizer)
    if name == "gamma_gamma":
        model.fit(spend.frequency, spend.monetary_value, tol=tol)
    elif name == "pareto_nbd":
        np.random.seed(NAIVE_SEED)
        model.fit(full.frequency, full.recency, full["T"], tol=tol, maxiter=NAIVE_MAXITER,
                  fatol=NAIVE_FATOL_PER_MEMBER * len(full))
    else:
        model.fit(full.frequency, full.recency, full["T"], tol=tol)
    return {k: float(v) for k, v in model.params_.items()}


def max_relative_difference(a: dict[str, float], b: dict[str, float]) -> float:
    """max over the parameters of |a - b| / |b| (b the naive value); inf when a parameter is missing."""
    return max((abs(a[k] - b[k]) / abs(b[k]) if b[k] else abs(a[k])) if k in b else float("inf") for k in a)


def compare(folder: Path, config: Path, overrides: list[str] = ()) -> dict:
    """Fit every model both ways on the clean orders in ``folder`` (a run's output folder, its period
    from its manifest.json) with the CLV report's parameters of ``config`` and ``overrides`` (as the run
    had them: params/*.yaml, the config file, -p values); returns {"members", "summary_seconds", "models": {name:
    {"kit_seconds", "naive_seconds", "kit", "naive", "max_rel_diff", "problem"}}, "kit_seconds",
    "naive_seconds", "speedup", "max_rel_diff", "naive_tol"} (seconds of wall time, excluding imports)."""
    from memberkit import clv, engine, summary
    from memberkit.clv import penalizer_for
    from memberkit.config import load_settings, notebook_params, project_root
    from memberkit.periods import period_bounds
    params = notebook_params(load_settings(project_root(), [config], list(overrides)), "clv_forecast")
    clv._lifetimes_class("bgnbd")       # lifetimes (and autograd) imported before any clock starts
    _, end = period_bounds(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["period"])
    t0 = time.perf_counter()
    con = engine.connect(params.engine)
    orders = summary.without_outliers(con.read_parquet(folder / "data" / "clean" / "orders.parquet"),
                                      params.exclude_outliers)
    full = clv.in_units(summary.member_frame(summary.clv_summary(orders, end)), params.unit)
    spend, _ = clv.spend_inputs(full)
    out = {"members": int(len(full)), "summary_seconds": time.perf_counter() - t0, "models": {}, "naive_tol": NAIVE_TOL}
    for name in [*params.models, "gamma_gamma"]:
        pen = penalizer_for(params.penalizers, name)
        row = {"problem": ""}
        t = time.perf_counter()
        try:
            fitted = clv.fit_spend_model(full, pen) if name == "gamma_gamma" else clv.fit_purchase_model(name, full, pen)
            row["kit"] = clv.model_parameters(fitted)
        except clv.ModelFitError as e:
            row["problem"] += f"kit: {e} "
        row["kit_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row["naive"] = naive_fit(name, full, spend, pen)
        except Exception as e:  # noqa: BLE001 - lifetimes failing is a finding, not a crash
            row["problem"] += f"naive: {type(e).__name__}: {str(e).strip()[:120]}"
        row["naive_seconds"] = time.perf_counter() - t
        if "kit" in row and "naive" in row:
            row["max_rel_diff"] = max_relative_difference(row["kit"], row["naive"])
        out["models"][name] = row
    models = out["models"].values()
    out["kit_seconds"] = sum(m["kit_seconds"] for m in models)
    out["naive_seconds"] = sum(m["naive_seconds"] for m in models)
    out["speedup"] = out["naive_seconds"] / out["kit_seconds"] if out["kit_seconds"] else float("nan")
    diffs = [m.get("max_rel_diff", float("inf")) for m in models]
    out["max_rel_diff"] = max(diffs) if diffs else float("nan")
    return out


if __name__ == "__main__":
    print(json.dumps(compare(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])))
