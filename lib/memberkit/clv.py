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

import contextlib
import datetime as _dt
import io
import math
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from .errors import MemberkitError, ReasonedError
from .report import anchor

UNIT_DAYS = {"day": 1.0, "week": 7.0}
DAYS_PER_MONTH = 365.25 / 12
PURCHASE_MODELS = ("bgnbd", "modified_bgnbd", "pareto_nbd")


class ModelFitError(ReasonedError):
    """A model did not converge or its fit is unusable; the message names the model and why (in English,
    for logs), ``reason`` and ``values`` the same for a page in any language (catalogue ``clv.why.<reason>``)."""


class Why(str):
    """Why a model failed: the English message, carrying its code and values (``reason``: ``{"reason":
    code, **values}`` or None) so that a page words it in its own language (:func:`why`)."""

    reason: dict | None = None


def why(e: ModelFitError) -> Why:
    """The failure's English message with its reason code attached."""
    out = Why(str(e))
    out.reason = {"reason": e.reason, **e.values} if getattr(e, "reason", None) else None
    return out


@contextlib.contextmanager
def quiet():
    """Swallow what libraries print or warn while fitting or predicting (lifetimes prints the
    optimiser's output on failure; numpy and autograd warn), so nothing of it reaches a page."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


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
    return collapse(summary).rows


@dataclass(frozen=True)
class Histories:
    """A member summary collapsed once into its distinct (frequency, recency, T) histories.

    ``rows``: one row per distinct history, sorted by (frequency, recency, T), columns frequency,
    recency, T (the summary's units) and weight (members sharing it; the weights sum to the
    number of members). ``member_row``: for each row of the summary, in its order, the position
    of its history in ``rows`` (int64, length = members). Built by :func:`collapse`; every fit
    and prediction of one summary (each candidate model, the holdout check, the CLV) reuses it.
    """

    rows: pd.DataFrame
    member_row: np.ndarray

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frequency, recency, T) of the distinct histories, as float arrays (model inputs)."""
        return (self.rows.frequency.to_numpy(float), self.rows.recency.to_numpy(float),
                self.rows["T"].to_numpy(float))

    def per_member(self, values) -> np.ndarray:
        """Values computed once per distinct history (length ``len(rows)``) for every member, in
        the summary's row order (length ``len(member_row)``)."""
        return np.asarray(values, dtype=float)[self.member_row]


def collapse(summary: pd.DataFrame) -> Histories:
    """Collapse a member summary (columns frequency, recency, T; one row per member) into its
    distinct histories with their weights and each member's history (:class:`Histories`).

    The rows and their order are those of a ``groupby`` on (frequency, recency, T) with
    ``sort=True``, so weighted sums over them are the same to the last bit whichever caller
    collapses (the weighted rows are lifetimes' ``weights`` device: the likelihood is the same sum).
    Raises ``KeyError`` without one of those columns and ``ValueError`` when frequency, recency or T
    is missing for a member."""
    keys = summary[["frequency", "recency", "T"]]
    if keys.isna().any().any():
        raise ValueError("frequency, recency and T must be known for every member to collapse the histories")
    groups = keys.groupby(["frequency", "recency", "T"], sort=True)
    return Histories(groups.size().rename("weight").reset_index(), groups.ngroup().to_numpy(np.int64))


# ------------------------------------------------------------------ fitting
# lifetimes supplies the likelihoods; the optimisation is done here, because its fitters start
# Pareto/NBD from random values and stop Nelder-Mead at a loose tolerance (two fits of the same
# data differ in the third digit) and give no handle on bounds or on an optimum at a boundary.
LOG_BOUNDS = (math.log(1e-6), math.log(1e6))   # every parameter, on the problem scaled as below
_AT_BOUND = 1e-6                                # |log parameter - bound| below this: at the bound
# L-BFGS-B's stopping rule: the BG/NBD models and Gamma-Gamma have autograd's exact gradient, and stop within
# 1e-7 of the optimum here (bench/naive_clv.py: 1.5e-8 to 5e-7 from lifetimes' fitters at tol 1e-8, 1M members).
LBFGSB_OPTIONS = {"ftol": 1e-13, "gtol": 1e-8, "maxiter": 5000}
# Pareto/NBD's gradient is a finite difference. One-sided (scipy's default), its error stopped the fit up to
# 1.9e-5 short of the optimum on the 1M retailer's flat s-beta ridge (smallest Hessian eigenvalue 0.0027);
# central differences and a tighter stop reach it within 5e-8 (a Newton polish from there moves it less) for
# about half again as many likelihood evaluations.
PNBD_GRADIENT = "3-point"
PNBD_LBFGSB_OPTIONS = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000}
MODEL_PARAMS = {"bgnbd": ("r", "alpha", "a", "b"), "modified_bgnbd": ("r", "alpha", "a", "b"),
                "pareto_nbd": ("r", "alpha", "s", "beta"), "gamma_gamma": ("p", "q", "v")}
# the parameters that are rates per unit of time (purchase models) or money (Gamma-Gamma's scale v)
_SCALED = {"bgnbd": ("alpha",), "modified_bgnbd": ("alpha",), "pareto_nbd": ("alpha", "beta"), "gamma_gamma": ("v",)}
# the boundary that means "no drop-out": the model's death process vanishes, which is an answer, not a failure
NO_DROPOUT = {"bgnbd": {("a", "lower"), ("b", "upper")}, "modified_bgnbd": {("a", "lower"), ("b", "upper")},
              "pareto_nbd": {("s", "lower"), ("beta", "upper")}}


def _lifetimes_class(name: str):
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    return {"bgnbd": BetaGeoFitter, "modified_bgnbd": ModifiedBetaGeoFitter, "pareto_nbd": ParetoNBDFitter,
            "gamma_gamma": GammaGammaFitter}[name]


def log_likelihood(name: str, params, data: tuple, weights) -> float:
    """Total log-likelihood of ``params`` (natural scale, the data's units) on weighted rows.

    ``data`` is (frequency, recency, T) for the purchase models, (frequency, mean spend) for
    Gamma-Gamma; the per-row likelihoods are lifetimes' (Fader, Hardie and Lee 2005 for BG/NBD;
    Batislam et al. 2007 for the modified BG/NBD; Fader and Hardie 2005, note 009, eq. 18 for
    Pareto/NBD; Fader, Hardie and Lee 2005, note 025, for Gamma-Gamma)."""
    w = np.asarray(weights, dtype=float)
    p = np.asarray(params, dtype=float)
    cls = _lifetimes_class(name)
    if name == "pareto_nbd":
        per_row = cls._conditional_log_likelihood(list(p), *data)
        return float(np.sum(w * per_row))
    return float(-cls._negative_log_likelihood(np.log(p), *data, w, 0.0) * w.sum())


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse): one position holding each distinct value of ``values`` and, for each value, the
    position of its distinct value among them (``values[first][inverse]`` is ``values``)."""
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


@lru_cache(maxsize=None)
def _gammaln_by_group():
    """An autograd primitive ``f(x, first, inverse)``: ``gammaln(x)`` and, backwards, ``g * digamma(x)`` (the
    vjp autograd gives ``gammaln``), each evaluated once per group of equal values of ``x`` (``first``,
    ``inverse`` as :func:`_distinct` gives them, for an ``x`` whose equal entries are those groups):
    elementwise functions, so the same numbers as on the whole array, to the last bit."""
    from autograd.extend import defvjp, primitive
    from scipy.special import digamma, gammaln

    @primitive
    def gammaln_by_group(x, first, inverse):
        return gammaln(x[first])[inverse]
    defvjp(gammaln_by_group, lambda ans, x, first, inverse: lambda g: g * digamma(x[first])[inverse])
    return gammaln_by_group


def negative_log_likelihood(name: str, log_params, data: tuple, weights: np.ndarray, groups: tuple):
    """lifetimes' ``_negative_log_likelihood`` of BG/NBD, modified BG/NBD or Gamma-Gamma (penalizer 0),
    operation for operation (autograd traces the same graph: the value and gradient are lifetimes' to the
    last bit, tests/test_clv.py), except that every log-gamma of an array, all functions of the frequency
    alone, is evaluated once per distinct frequency (``groups``: :func:`_distinct` of ``data[0]``). Those
    were about half of each evaluation's time on the 1M retailer's 335,418 histories (about 130 distinct
    frequencies).

    ``name``: ``bgnbd``, ``modified_bgnbd`` or ``gamma_gamma``; ``log_params``: the parameters' logarithms
    (an array or autograd box of 4, or 3 for Gamma-Gamma); ``data``: (frequency as int, recency, T) or
    (frequency as int, mean spend), arrays of one length n; ``weights``: float array of length n.
    Returns -log L per unit of weight (a scalar, or a box while autograd traces). Raises ``KeyError``
    for another model."""
    import autograd.numpy as anp
    from autograd.scipy.special import gammaln
    by_group = _gammaln_by_group()
    params = anp.exp(log_params)
    if name == "gamma_gamma":           # lifetimes' GammaGammaFitter._negative_log_likelihood
        p, q, v = params
        x, m = data
        values = (by_group(p * x + q, *groups) - by_group(p * x, *groups) - gammaln(q) + q * anp.log(v)
                  + (p * x - 1) * anp.log(m) + (p * x) * anp.log(x) - (p * x + q) * anp.log(x * m + v)) * weights
        return -values.sum() / weights.sum() + 0.0 * sum(params ** 2)
    freq, rec, T = data
    r, alpha, a, b = params
    if name == "bgnbd":                 # lifetimes' BetaGeoFitter._negative_log_likelihood
        A_1 = by_group(r + freq, *groups) - gammaln(r) + r * anp.log(alpha)
        A_2 = gammaln(a + b) + by_group(b + freq, *groups) - gammaln(b) - by_group(a + b + freq, *groups)
        A_3 = -(r + freq) * anp.log(alpha + T)
        A_4 = anp.log(a) - anp.log(b + anp.maximum(freq, 1) - 1) - (r + freq) * anp.log(rec + alpha)
        max_A_3_A_4 = anp.maximum(A_3, A_4)
        penalizer_term = 0.0 * sum(params ** 2)
        ll = weights * (A_1 + A_2 + anp.log(anp.exp(A_3 - max_A_3_A_4) + anp.exp(A_4 - max_A_3_A_4) * (freq > 0))
                        + max_A_3_A_4)
        return -ll.sum() / weights.sum() + penalizer_term
    if name != "modified_bgnbd":
        raise KeyError(name)
    # lifetimes' ModifiedBetaGeoFitter._negative_log_likelihood
    A_1 = by_group(r + freq, *groups) - gammaln(r) + r * anp.log(alpha)
    A_2 = gammaln(a + b) + by_group(b + freq + 1, *groups) - gammaln(b) - by_group(a + b + freq + 1, *groups)
    A_3 = -(r + freq) * anp.log(alpha + T)
    A_4 = anp.log(a) - anp.log(b + freq) + (r + freq) * (anp.log(alpha + T) - anp.log(alpha + rec))
    penalizer_term = 0.0 * sum(params ** 2)
    return -(weights * (A_1 + A_2 + A_3 + anp.logaddexp(A_4, 0))).sum() / weights.sum() + penalizer_term


@dataclass
class FitResult:
    """One model fitted by :func:`fit_model`: parameters in the data's units and how the optimum was found."""

    name: str
    params: dict
    log_likelihood: float            # at ``params``, penalty not included
    penalizer: float
    boundary: dict                   # parameter -> "lower" / "upper" for parameters at a bound
    no_dropout: bool                 # the optimum is the model's no-drop-out boundary
    attempts: list                   # one line per start tried: start, optimiser, outcome
    members: int


def _start_values(name: str, data: tuple, w: np.ndarray) -> list[np.ndarray]:
    """Fixed starting points on the scaled problem (longest T = 1, mean spend = 1), first the
    method-of-moments one, then the documented alternatives tried when it fails."""
    if name == "gamma_gamma":
        return [np.array([1.0, 3.0, 2.0]), np.array([5.0, 5.0, 4.0]), np.array([0.5, 1.5, 0.5])]
    f, _, T = data
    rate = float(np.sum(w * f) / np.sum(w * T))           # repeat purchases per scaled time unit
    r = 1.0
    alpha = r / max(rate, 1e-3)
    second = (1.0, 3.0) if name != "pareto_nbd" else (1.0, 1.0)
    starts = [np.array([r, alpha, *second])]
    for k, other in ((0.3, (0.5, 5.0)), (3.0, (2.0, 2.0))):
        starts.append(np.array([r * k, alpha * k, *other]))
    return starts


def _scaled(name: str, data: tuple) -> tuple[tuple, float]:
    if name == "gamma_gamma":
        f, m = data
        scale = 1.0 / float(np.mean(m))
        return (f, m * scale), scale
    f, r, T = data
    scale = 1.0 / float(np.max(T))
    return (f, r * scale, T * scale), scale


def fit_model(name: str, data: tuple, weights, penalizer: float = 0.0) -> FitResult:
    """Maximum likelihood fit of one model on weighted rows, deterministic and bounded.

    The problem is scaled (time so that the longest T is 1; Gamma-Gamma's spend so that its mean
    is 1), every parameter is optimised as its logarithm inside ``LOG_BOUNDS`` (1e-6 to 1e6) by
    L-BFGS-B from fixed starting values (:func:`_start_values`), minimising
    ``-log L / members + penalizer x sum(scaled parameters ** 2)`` (lifetimes' penalty), with autograd's
    gradient for the BG/NBD models and Gamma-Gamma (:data:`LBFGSB_OPTIONS`) and central differences for
    Pareto/NBD, stopped tighter (:data:`PNBD_GRADIENT`, :data:`PNBD_LBFGSB_OPTIONS`).
    Retry, in this order, until one succeeds: the other fixed starts, then Nelder-Mead from the
    first start; the best converged optimum is kept. No start converging raises
    :class:`ModelFitError`. Parameters that end at a bound are reported in ``boundary``; the
    no-drop-out boundary (BG/NBD a -> 0 or b -> inf; Pareto/NBD s -> 0 or beta -> inf) sets
    ``no_dropout`` and is a valid answer.

    ``data``: (frequency, recency, T) arrays, or (frequency, mean spend) for ``gamma_gamma``;
    ``weights``: members per row. Same inputs, same result, to the last bit.
    """
    from scipy.optimize import minimize
    names = MODEL_PARAMS[name]
    w = np.asarray(weights, dtype=float)
    data = tuple(np.asarray(d, dtype=float) for d in data)
    data = (data[0].astype(int), *data[1:])
    scaled, scale = _scaled(name, data)
    n = float(w.sum())

    if name == "pareto_nbd":
        shared = pnbd_shared_terms(*scaled)

        def objective(x):
            p = np.exp(x)
            ll = np.sum(w * pnbd_conditional_log_likelihood(list(p), *scaled, shared))
            return float(-ll / n + penalizer * np.sum(p ** 2)) if np.isfinite(ll) else 1e300
        jac = PNBD_GRADIENT
    else:
        from autograd import value_and_grad
        import autograd.numpy as anp

        groups = _distinct(scaled[0])

        def _obj(x):
            return negative_log_likelihood(name, x, scaled, w, groups) + penalizer * anp.sum(anp.exp(x) ** 2)
        vg = value_and_grad(_obj)

        def objective(x):
            v, g = vg(x)
            return (float(v), np.asarray(g, dtype=float)) if np.isfinite(v) else (1e300, np.zeros_like(x))
        jac = True
    bounds = [LOG_BOUNDS] * len(names)
    attempts, best = [], None
    starts = _start_values(name, scaled, w)
    plans = [(s, "L-BFGS-B") for s in starts] + [(starts[0], "Nelder-Mead")]
    with quiet():
        for start, method in plans:
            x0 = np.clip(np.log(start), *LOG_BOUNDS)
            if method == "L-BFGS-B":
                out = minimize(objective, x0, jac=jac, method=method, bounds=bounds,
                               options=PNBD_LBFGSB_OPTIONS if name == "pareto_nbd" else LBFGSB_OPTIONS)
            else:
                f_only = (lambda x: objective(x)[0]) if jac else objective
                out = minimize(f_only, x0, method=method, bounds=bounds,
                               options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000, "maxfev": 20000})
            value = float(out.fun)
            ok = bool(np.isfinite(value) and value < 1e299 and np.isfinite(out.x).all()
                      and (out.success or method == "L-BFGS-B" and _stalled_at_optimum(out)))
            attempts.append(f"{method} from {np.round(start, 4).tolist()}: "
                            + (f"converged, -log L / member {value:.8f}" if ok else f"failed ({out.message})"))
            if ok and (best is None or value < best[0] - 1e-12):
                best = (value, np.asarray(out.x, dtype=float))
            if best is not None:
                break
    if best is None:
        raise ModelFitError(f"{name} did not converge on {int(n):,} members from any of its starting values "
                            f"({'; '.join(attempts)}).", "not_converged", n=f"{int(n):,}")
    x = best[1]
    params = np.exp(x)
    boundary = {k: ("lower" if v <= LOG_BOUNDS[0] + _AT_BOUND else "upper")
                for k, v in zip(names, x) if v <= LOG_BOUNDS[0] + _AT_BOUND or v >= LOG_BOUNDS[1] - _AT_BOUND}
    natural = {k: float(v / scale if k in _SCALED[name] else v) for k, v in zip(names, params)}
    with quiet():
        ll = log_likelihood(name, [natural[k] for k in names], data, w)
    no_dropout = (bool(boundary) and set(boundary.items()) <= NO_DROPOUT.get(name, set())) or (
        name in NO_DROPOUT and not boundary and dropout_share(name, natural, float(np.max(data[2]))) < 1e-3)
    return FitResult(name, natural, ll, penalizer, boundary, no_dropout, attempts, int(n))


@dataclass(frozen=True)
class PNBDShared:
    """Where the Pareto/NBD likelihood repeats itself across histories (:func:`pnbd_shared_terms`).

    Its two Gauss hypergeometric terms depend on (frequency, recency) and on (frequency, T)
    only, and far fewer pairs than histories are distinct (the 1,000,000-member retailer: 335,418
    calibration histories, 19,760 (frequency, recency) and 20,419 (frequency, T) pairs).
    ``recency_first`` / ``T_first``: one history holding each distinct pair (indices into the
    history arrays); ``recency_of`` / ``T_of``: each history's pair (indices into the former).
    ``frequency_first`` / ``frequency_of``: the same for the distinct frequencies (about 130 at 1M), on
    which the log-gamma term of eq. 18 depends alone."""

    recency_first: np.ndarray
    recency_of: np.ndarray
    T_first: np.ndarray
    T_of: np.ndarray
    frequency_first: np.ndarray
    frequency_of: np.ndarray


def _distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, first, inverse = np.unique(np.stack([np.asarray(a, float), np.asarray(b, float)]), axis=1,
                                  return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def pnbd_shared_terms(frequency, recency, T) -> PNBDShared:
    """The distinct (frequency, recency) and (frequency, T) pairs of the histories, computed once per
    fit for :func:`pnbd_conditional_log_likelihood` (the terms of Fader and Hardie 2005, note 009,
    eq. 19-20, that depend on them).

    ``frequency``, ``recency``, ``T``: 1-D arrays of one length n (the histories; time in the
    model's unit). Returns :class:`PNBDShared` (six int arrays: one of each distinct pair's or
    frequency's length, one of length n for each). Arrays of different lengths raise ``ValueError`` (numpy)."""
    return PNBDShared(*_distinct_pairs(frequency, recency), *_distinct_pairs(frequency, T),
                      *_distinct(np.asarray(frequency, float)))


def pnbd_conditional_log_likelihood(params, freq, rec, T, shared: PNBDShared) -> np.ndarray:
    """Per-history Pareto/NBD log-likelihood, the same numbers to the last bit as lifetimes'
    ``ParetoNBDFitter._conditional_log_likelihood`` (Fader and Hardie 2005, note 009, eq. 18-20),
    with each hypergeometric term 2F1(r+s+x, t; r+s+x+1; z) evaluated once per distinct
    (frequency, recency) or (frequency, T) pair and the log-gamma of r + x once per distinct frequency
    (``shared``, :func:`pnbd_shared_terms`).

    ``params``: (r, alpha, s, beta), positive; ``freq``, ``rec``, ``T``: arrays of one length (the
    histories, ``freq`` integer, time in one unit) with ``shared`` built from the same arrays.
    Returns an array of that length (log-likelihood per history, NaN where lifetimes gives NaN);
    raises nothing of its own. Every operation is lifetimes', in its order; those whose operands depend
    on a frequency or a pair alone (the log-gamma term, the logarithms of r + s + x, of max(alpha, beta)
    plus recency or T, of alpha + T and beta + T) run on the distinct values and are gathered to the
    histories (elementwise, the same numbers), so the optimiser sees the same values; tests/test_clv.py
    checks equality with lifetimes bit for bit."""
    from scipy.special import gammaln, hyp2f1
    r, alpha, s, beta = params
    x = freq
    # Each term is computed on the fewest values it depends on (a frequency, a (frequency, recency) or
    # (frequency, T) pair) and gathered to the histories: the same operations on the same operands as
    # lifetimes' whole-array formula, so the same bits, with five logarithms of every history spared.
    f_first, f_of = shared.frequency_first, shared.frequency_of
    x_f = x[f_first]
    A_1 = (gammaln(r + x_f) - gammaln(r) + r * np.log(alpha) + s * np.log(beta))[f_of]   # eq. 18, per frequency
    # lifetimes' _log_A_0 (eq. 19 and 20)
    if alpha < beta:
        min_of_alpha_beta, max_of_alpha_beta, t = (alpha, beta, r + freq)
    else:
        min_of_alpha_beta, max_of_alpha_beta, t = (beta, alpha, s + 1)
    abs_alpha_beta = max_of_alpha_beta - min_of_alpha_beta
    rsf = r + s + freq

    def at_pairs(first, age):          # per distinct pair: log 2F1 and rsf x log(max(alpha, beta) + age)
        rsf_at, t_at = rsf[first], (t[first] if np.ndim(t) else t)
        q = max_of_alpha_beta + age[first]
        return np.log(hyp2f1(rsf_at, t_at, rsf_at + 1.0, abs_alpha_beta / q)), rsf_at * np.log(q)
    log_p_1, log_q_1 = at_pairs(shared.recency_first, rec)
    log_p_2, log_q_2 = at_pairs(shared.T_first, T)
    r_of, T_of = shared.recency_of, shared.T_of
    q_1 = max_of_alpha_beta + rec
    q_2 = max_of_alpha_beta + T
    log_A_0 = (_log_difference(log_p_1[r_of] + log_q_2[T_of], log_p_2[T_of] + log_q_1[r_of])
               - rsf * np.log(q_1 * q_2))
    T_p, x_p = T[shared.T_first], x[shared.T_first]
    no_dropout_yet = (-(r + x_p) * np.log(alpha + T_p) - s * np.log(beta + T_p))[T_of]   # per (frequency, T)
    A_2 = np.logaddexp(no_dropout_yet, np.log(s) + log_A_0 - np.log(r + s + x_f)[f_of])
    return A_1 + A_2


def _log_difference(a0: np.ndarray, a1: np.ndarray) -> np.ndarray:
    """log(exp(a0) - exp(a1)) elementwise, NaN where negative: scipy's ``logsumexp([a0, a1], axis=0,
    b=[1, -1])`` (lifetimes' call) step by step as scipy 1.15 and later compute it for two rows, the
    same numbers to the last bit (tests/test_clv.py) in half its time, which was half of a Pareto/NBD
    likelihood evaluation: its generic path builds index masks and sums over an axis of two.

    ``a0``, ``a1``: float arrays of one shape; returns an array of that shape."""
    with np.errstate(all="ignore"):
        a_max = np.maximum(a0, a1)
        at0, at1 = a0 == a_max, a1 == a_max
        m = at0.astype(float) - at1.astype(float)     # the maximum's weight, kept out of the sum as scipy does
        s = np.exp(np.where(at0, -np.inf, a0) - a_max) - np.exp(np.where(at1, -np.inf, a1) - a_max)
        s = np.where(s == 0, s, s / m)
        negative = np.sign(s + 1) * np.sign(m) < 0
        s = np.where(s < -1, -s - 2, s)
        out = np.log1p(s) + np.log(np.abs(m)) + a_max
    out[negative] = np.nan
    return out


def dropout_share(name: str, params: dict, T: float) -> float:
    """How much drop-out the fitted model implies: BG/NBD and modified BG/NBD, the mean chance to
    leave after a purchase a / (a + b); Pareto/NBD, the share of members gone within ``T`` (the
    longest history), 1 - (beta / (beta + T))^s. Below 1e-3 the fit is read as "no drop-out"."""
    if name == "pareto_nbd":
        return float(-np.expm1(params["s"] * (np.log(params["beta"]) - np.log(params["beta"] + T))))
    return float(params["a"] / (params["a"] + params["b"]))


def _stalled_at_optimum(out) -> bool:
    """L-BFGS-B stops with ABNORMAL_TERMINATION_IN_LNSRCH when a finite-difference gradient is
    noise at the optimum; accept that only when the projected gradient is already tiny."""
    g = getattr(out, "jac", None)
    return g is not None and np.all(np.abs(np.asarray(g)) < 1e-4)


def as_lifetimes(fit: FitResult):
    """A lifetimes fitter object carrying ``fit``'s parameters (for its prediction formulas)."""
    model = _lifetimes_class(fit.name)(penalizer_coef=fit.penalizer)
    model.params_ = pd.Series([fit.params[k] for k in MODEL_PARAMS[fit.name]], index=list(MODEL_PARAMS[fit.name]),
                              dtype=float)
    model.fit_ = fit
    return model


def fit_purchase_model(name: str, summary: pd.DataFrame, penalizer: float = 0.0, histories: Histories | None = None):
    """Fit one purchase model on the unique histories (:func:`fit_model`); a lifetimes object with
    ``params_`` and ``fit_`` (the :class:`FitResult`). A failed fit raises :class:`ModelFitError`.

    ``histories``: ``summary`` already collapsed (:func:`collapse`), shared by the callers that fit
    several models on one summary; collapsed here when not given."""
    rows = (histories or collapse(summary)).rows
    if not (rows.frequency > 0).any():
        raise ModelFitError(f"{name} cannot be fitted: none of the {len(summary):,} members bought again.",
                            "no_repeat", n=f"{len(summary):,}")
    fit = fit_model(name, (rows.frequency.to_numpy(), rows.recency.to_numpy(), rows["T"].to_numpy()),
                    rows.weight.to_numpy(), penalizer)
    _refuse_degenerate(fit)
    return as_lifetimes(fit)


def _refuse_degenerate(fit: FitResult) -> None:
    """A parameter at a bound other than the no-drop-out boundary is a degenerate fit: failed."""
    if fit.boundary and not fit.no_dropout:
        at = ", ".join(f"{k} at its {side} bound ({fit.params[k]:.3g})" for k, side in fit.boundary.items())
        raise ModelFitError(f"{fit.name} gave a degenerate fit: {at}.", "degenerate",
                            parameters=", ".join(fit.boundary))


def spend_inputs(summary: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Repeat buyers with positive mean spend (Gamma-Gamma's inputs), and how many were left out
    for non-positive spend (net returns can push a mean to zero or below)."""
    repeat = summary[summary.frequency > 0]
    ok = repeat[repeat.monetary_value > 0]
    if "spend_days" in ok.columns:   # orders of zero are purchases but not spend: count the days with spend
        ok = ok.assign(frequency=ok.spend_days.astype(repeat.frequency.dtype))
    return ok, int(len(repeat) - len(ok))


def fit_spend_model(summary: pd.DataFrame, penalizer: float = 0.0):
    """Gamma-Gamma on the unique (frequency, mean spend) pairs of repeat buyers, weighted (:func:`fit_model`).

    Refused (:class:`ModelFitError`) when its assumptions break: q <= 1 (the population mean spend
    p v / (q - 1) does not exist), a parameter at a bound, or an implied population mean spend
    outside a tenth to ten times the observed mean spend per purchase (q pushed towards 1, e.g.
    by a penalizer: the issue's 10,285 against 277)."""
    ok, _ = spend_inputs(summary)
    if len(ok) < 10:
        raise ModelFitError(f"Gamma-Gamma needs at least 10 repeat buyers with positive spend; found {len(ok)}.",
                            "spend_few", found=f"{len(ok):,}")
    rows = ok.groupby(["frequency", "monetary_value"], sort=True).size().rename("weight").reset_index()
    fit = fit_model("gamma_gamma", (rows.frequency.to_numpy(), rows.monetary_value.to_numpy()), rows.weight.to_numpy(),
                    penalizer)
    p, q, v = fit.params["p"], fit.params["q"], fit.params["v"]
    if q <= 1:
        raise ModelFitError(f"Gamma-Gamma gave q = {q:.2f} <= 1: its mean spend does not exist (heavy-tailed spend).",
                            "spend_q", q=f"{q:.2f}")
    _refuse_degenerate(fit)
    observed = observed_mean_spend(summary)
    implied = p * v / (q - 1)
    if not 0.1 <= implied / observed <= 10:
        raise ModelFitError(f"Gamma-Gamma implies a mean spend of {implied:,.2f} per purchase against "
                            f"{observed:,.2f} observed (q = {q:.3f}): refused.", "spend_implausible",
                            implied=f"{implied:,.2f}", observed=f"{observed:,.2f}", q=f"{q:.3f}")
    return as_lifetimes(fit)


def observed_mean_spend(summary: pd.DataFrame) -> float:
    """Mean spend per repeat purchase over the repeat buyers used by Gamma-Gamma (weighted by purchases)."""
    ok, _ = spend_inputs(summary)
    return float((ok.frequency * ok.monetary_value).sum() / ok.frequency.sum()) if len(ok) else 0.0


class ObservedSpend:
    """The spend model used when Gamma-Gamma is refused: each repeat buyer's own mean spend
    (non-positive means count as the population's), and the purchase-weighted mean spend of all
    repeat buyers for everyone else. Never negative."""

    name = "observed_mean"

    def __init__(self, summary: pd.DataFrame):
        self.population_mean = max(0.0, observed_mean_spend(summary))
        self.params_ = pd.Series({"mean_spend": self.population_mean})

    def conditional_expected_average_profit(self, frequency, monetary_value):
        f, m = np.asarray(frequency, float), np.asarray(monetary_value, float)
        return np.where((f > 0) & (m > 0), m, self.population_mean)


def choose_spend_model(summary: pd.DataFrame, penalizer: float = 0.0):
    """Gamma-Gamma when it fits and its assumptions hold, else :class:`ObservedSpend`; and why
    (``None`` when Gamma-Gamma is used)."""
    try:
        return fit_spend_model(summary, penalizer), None
    except ModelFitError as e:
        return ObservedSpend(summary), why(e)


def spend_checks(summary: pd.DataFrame, spend_model) -> dict:
    """The Gamma-Gamma assumptions the report shows: frequency and spend independent, q > 1."""
    ok, excluded = spend_inputs(summary)
    corr = float(ok[["frequency", "monetary_value"]].corr().iloc[0, 1]) if len(ok) > 2 else math.nan
    q = float(spend_model.params_["q"]) if "q" in spend_model.params_ else math.nan
    return {"frequency_spend_correlation": corr, "correlation_ok": bool(abs(corr) <= 0.3) if not math.isnan(corr) else None,
            "q": q, "q_ok": bool(q > 1) if not math.isnan(q) else None, "excluded_non_positive_spend": excluded,
            "repeat_buyers_used": int(len(ok)), "model_used": getattr(spend_model, "name", "gamma_gamma")}


# ------------------------------------------------------------------ per-member predictions
def _per_history(model, summary: pd.DataFrame, fn, histories: Histories | None = None) -> np.ndarray:
    """Evaluate ``fn(model, f, r, T)`` once per unique history and map back to members
    (``histories``: ``summary`` collapsed by the caller, else collapsed here)."""
    h = histories or collapse(summary)
    return h.per_member(fn(model, *h.data))


# ------------------------------------------------------------------ predictions in log space
def _bg_parts(name: str, p: dict, x, tx, T):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    shift = 0.0 if name == "bgnbd" else 1.0
    # log of the drop-out odds: log(a / (b + x - 1 + shift)) + (r + x) log((alpha + T) / (alpha + tx))
    odds = np.log(a) - np.log(b + np.maximum(x, 1 - shift) - 1 + shift) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    if name == "bgnbd":
        odds = np.where(x > 0, odds, -np.inf)
    return odds


def probability_alive_of(name: str, params: dict, x, tx, T) -> np.ndarray:
    """P(alive | x, t_x, T) in log space, finite for any history.

    BG/NBD: Fader, Hardie and Lee (2008), note 021; modified BG/NBD: Batislam et al. (2007);
    Pareto/NBD: Fader and Hardie (2005), note 009, eq. 18 and 36."""
    from scipy.special import expit
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    with np.errstate(all="ignore"):
        if name == "pareto_nbd":
            return np.exp(_pnbd_log_alive(params, x, tx, T))
        return expit(-_bg_parts(name, params, x, tx, T))


def probability_any_purchase(name: str, params: dict, t, x, tx, T, nodes: int = 32) -> np.ndarray:
    """P(at least one purchase in (T, T + t] | x, t_x, T) under purchase model ``name``.

    BG/NBD and modified BG/NBD (a member can drop out only right after a purchase, so a member who
    is alive at T and buys nothing stays alive): P(none) = 1 - P(alive) + P(alive) ((alpha + T) /
    (alpha + T + t))^(r + x), the NBD's zero term under the posterior Gamma(r + x, alpha + T) of the
    rate (Fader, Hardie and Lee 2005, section 3; P(alive) from :func:`probability_alive_of`).
    Pareto/NBD (Schmittlein, Morrison and Colombo 1987): alive at T, the rate lambda ~ Gamma(r + x,
    A = alpha + T) and the drop-out rate mu ~ Gamma(s, B = beta + T) are independent a posteriori
    (Fader and Hardie 2005, note 009), and no purchase in t means the first purchase comes after
    min(lifetime, t): P(none | alive) = E[exp(-lambda min(tau, t))] = (B / (B + t))^s (A / (A + t))^(r+x)
    + integral_0^t s B^s / (B + u)^(s + 1) (A / (A + u))^(r + x) du, by Gauss-Legendre with ``nodes`` points.
    ``t`` (a number), ``x``, ``tx``, ``T`` (numbers or arrays, broadcast together) in the model's time
    unit. Returns an array of the broadcast shape (at least one dimension), values in [0, 1]. Raises
    ``KeyError`` for a parameter the model lacks.

    This is what a page calls the chance of buying again: unlike P(alive), which the BG/NBD sets to 1
    for every member without a repeat purchase (a member can only drop out right after a purchase),
    it falls as a member stays quiet. lifetimes has it for the Pareto/NBD only
    (``ParetoNBDFitter.conditional_probability_of_n_purchases_up_to_time(0, ...)``, 1 minus; the tests
    compare), not for its BG/NBD fitters; those are tested against purchases simulated from known
    parameters.
    """
    x, tx, T = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, tx, T))
    x, tx, T = np.broadcast_arrays(x, tx, T)
    t = float(t)
    alive = probability_alive_of(name, params, x, tx, T)
    r, alpha = params["r"], params["alpha"]
    A = alpha + T
    with np.errstate(all="ignore"):
        stay = np.exp((r + x) * (np.log(A) - np.log(A + t)))     # E[exp(-lambda t)] under the posterior
        if name != "pareto_nbd":
            return np.clip(alive * (1 - stay), 0.0, 1.0)
        s, B = params["s"], params["beta"] + T
        z, w = np.polynomial.legendre.leggauss(nodes)
        u = (z + 1) * t / 2                                       # nodes on [0, t]
        shape = (1,) * x.ndim + (nodes,)
        u, w = u.reshape(shape), w.reshape(shape) * t / 2
        log_f = (np.log(s) + s * np.log(B)[..., None] - (s + 1) * np.log(B[..., None] + u)
                 + (r + x)[..., None] * (np.log(A)[..., None] - np.log(A[..., None] + u)))
        none = np.exp(s * (np.log(B) - np.log(B + t))) * stay + (w * np.exp(log_f)).sum(axis=-1)
        return np.clip(alive * (1 - none), 0.0, 1.0)


def expected_purchases_of(name: str, params: dict, t, x, tx, T, *, alive: np.ndarray | None = None,
                          pairs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] in log space (finite for every history).

    BG/NBD: Fader, Hardie and Lee (2005) eq. 10; modified BG/NBD: Batislam et al. (2007);
    with Euler's transformation the (1 - z)^(r + x) 2F1(...) term becomes (1 - z)^(a - 1)
    2F1(a + b - 1 - r, a - 1; a + b + x - 1; z), bounded as x grows. Pareto/NBD: Fader and
    Hardie (2005), note 009, eq. 41, as P(alive) x (r + x)(beta + T) / ((alpha + T)(s - 1)) x
    [1 - ((beta + T) / (beta + T + t))^(s - 1)].

    ``x``, ``tx``, ``T``: numbers or arrays of one shape in the model's time unit; ``t`` a number.
    Returns an array of that shape. For a caller that evaluates several ``t`` on the same histories
    (:func:`lifetime_value`): ``alive``, :func:`probability_alive_of` of them, computed once; ``pairs``
    (BG types), the distinct (x, T) pairs of 1-D arrays as :func:`_distinct_pairs` gives them, on which
    alone the 2F1 term depends, so that it is evaluated once per pair (about 20,000 against 400,000
    histories at 1M). Both give the same numbers to the last bit as without them (elementwise functions
    of the same inputs)."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    t = float(t)
    alive = probability_alive_of(name, params, x, tx, T) if alive is None else alive
    with np.errstate(all="ignore"):
        if name == "pareto_nbd":
            r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
            log_ratio = np.log(beta + T) - np.log(beta + T + t)
            growth = (-np.expm1((s - 1) * log_ratio) / (s - 1)) if abs(s - 1) > 1e-12 else -log_ratio
            return alive * (r + x) * (beta + T) / (alpha + T) * growth
        r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
        c = a + b + x - (1.0 if name == "bgnbd" else 0.0)
        z = t / (alpha + T + t)
        # (1 - z)^(r + x) 2F1(r + x, b + x [+1]; c; z) = (1 - z)^(a - 1) 2F1(c - r - x, c - b - x [-1]; c; z)
        second = c - b - x - (0.0 if name == "bgnbd" else 1.0)
        if pairs is None:
            log_hyp = np.log(_hyp2f1(c - r - x, second, c, z))
        else:
            first, of = pairs
            log_hyp = np.log(_hyp2f1((c - r - x)[first], second[first], c[first], z[first]))[of]
        log_term = (a - 1) * np.log1p(-z) + log_hyp
        return c / (a - 1) * (-np.expm1(log_term)) * alive


def _hyp2f1(a, b, c, z):
    from scipy.special import hyp2f1
    return hyp2f1(a, b, c, z)


def _pnbd_log_alive(p: dict, x, tx, T) -> np.ndarray:
    """log P(alive) of the Pareto/NBD: A1 - (r+x) log(alpha+T) - s log(beta+T) - log L, with log A0
    from the Euler-transformed 2F1 (note 009 eq. 19-20), so heavy buyers do not overflow."""
    from scipy.special import gammaln
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    rsx = r + s + x
    if alpha >= beta:   # 2F1(r+s+x, s+1; r+s+x+1; z) = (1-z)^(-s) 2F1(1, r+x; r+s+x+1; z)
        big, small, b2 = alpha, beta, s + 1
    else:               # 2F1(r+s+x, r+x; r+s+x+1; z) = (1-z)^(1-r-x) 2F1(1, s+1; r+s+x+1; z)
        big, small, b2 = beta, alpha, r + x
    def log_f(age):
        z = (big - small) / (big + age)
        return (1 - b2) * np.log1p(-z) + np.log(_hyp2f1(1.0, rsx + 1 - b2, rsx + 1, z)) - rsx * np.log(big + age)
    first, second = log_f(tx), log_f(T)
    diff = second - first                      # <= 0 because t_x <= T
    log_a0 = first + np.log(-np.expm1(np.minimum(diff, -1e-300)))
    log_a0 = np.where(diff >= 0, -np.inf, log_a0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    stay = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_l = a1 + np.logaddexp(stay, np.log(s) + log_a0 - np.log(rsx))
    return a1 + stay - log_l


def expected_purchases(model, summary: pd.DataFrame, t, histories: Histories | None = None) -> np.ndarray:
    """Expected purchases of each member in the next ``t`` time units, given their history
    (log-space closed forms for the kit's fits; a stand-in model's own method otherwise).
    ``histories``: ``summary`` collapsed once by the caller (:func:`collapse`)."""
    fit = getattr(model, "fit_", None)
    if fit is not None:
        return _per_history(model, summary, lambda m, f, r, T: expected_purchases_of(fit.name, fit.params, t, f, r, T),
                            histories)
    return _per_history(model, summary, lambda m, f, r, T: m.conditional_expected_number_of_purchases_up_to_time(t, f, r, T),
                        histories)


def probability_alive(model, summary: pd.DataFrame, histories: Histories | None = None) -> np.ndarray:
    """P(alive) of each member, given their history (``histories`` as for :func:`expected_purchases`)."""
    fit = getattr(model, "fit_", None)
    if fit is not None:
        return _per_history(model, summary, lambda m, f, r, T: probability_alive_of(fit.name, fit.params, f, r, T),
                            histories)
    return _per_history(model, summary, lambda m, f, r, T: m.conditional_probability_alive(f, r, T), histories)


def expected_spend(spend_model, summary: pd.DataFrame) -> np.ndarray:
    """Expected value per purchase (Gamma-Gamma; members without a repeat get the population mean)."""
    f = summary.frequency.to_numpy(float)
    m = summary.monetary_value.to_numpy(float).clip(min=0)
    return np.asarray(spend_model.conditional_expected_average_profit(pd.Series(f), pd.Series(m)), dtype=float)


def any_purchase(model, summary: pd.DataFrame, t, histories: Histories | None = None) -> np.ndarray:
    """P(X(t) > 0 | x, t_x, T) of each member: the chance of at least one purchase in the next ``t`` time
    units given their history (:func:`probability_any_purchase` for the kit's fits; a stand-in model's
    ``conditional_probability_of_n_purchases_up_to_time(0, ...)``, 1 minus; a stand-in without it: a Poisson
    count among the members alive, P(alive) (1 - exp(-E[X(t)] / P(alive)))). Values 0 to 1, one per row."""
    fit = getattr(model, "fit_", None)
    if fit is not None:
        return _per_history(model, summary, lambda m, f, r, T: probability_any_purchase(fit.name, fit.params, t, f, r, T),
                            histories)
    if hasattr(model, "conditional_probability_of_n_purchases_up_to_time"):
        return _per_history(model, summary, lambda m, f, r, T: 1 - np.asarray(
            m.conditional_probability_of_n_purchases_up_to_time(0, t, f, r, T), float), histories)
    expected = expected_purchases(model, summary, t, histories)
    alive = probability_alive(model, summary, histories)
    return alive * -np.expm1(-np.divide(expected, alive, out=np.zeros_like(expected), where=alive > 0))


def lifetime_value(model, spend_model, summary: pd.DataFrame, unit: str, horizon_months: int = 12,
                   monthly_discount: float = 0.01, margin: float = 0.3, histories: Histories | None = None) -> pd.DataFrame:
    """Per member: expected purchases over the horizon, P(alive), the chance of at least one purchase over
    the horizon (``probability_any_purchase``, :func:`any_purchase`), expected spend, and discounted CLV.

    CLV = sum over months i of (E[purchases by month i] - E[by month i-1]) x spend x margin / (1 + d)^i.
    ``histories``: ``summary`` collapsed once by the caller (:func:`collapse`), else collapsed here once.
    """
    histories = histories or collapse(summary)
    month = DAYS_PER_MONTH / UNIT_DAYS[unit]
    spend = expected_spend(spend_model, summary)
    previous = np.zeros(len(summary))
    value = np.zeros(len(summary))
    fit = getattr(model, "fit_", None)
    if fit is not None:   # the horizon's months share P(alive) and the 2F1 term's (x, T) pairs: computed once
        x, tx, T = histories.data
        alive = probability_alive_of(fit.name, fit.params, x, tx, T)
        pairs = _distinct_pairs(x, T) if fit.name != "pareto_nbd" else None

        def expected(t):
            return histories.per_member(expected_purchases_of(fit.name, fit.params, t, x, tx, T, alive=alive,
                                                              pairs=pairs))
        alive_per_member = histories.per_member(alive)
    else:
        def expected(t):
            return expected_purchases(model, summary, t, histories)
        alive_per_member = probability_alive(model, summary, histories)
    for i in range(1, horizon_months + 1):
        cumulative = expected(i * month)
        value += np.maximum(cumulative - previous, 0.0) * spend * margin / (1 + monthly_discount) ** i
        previous = cumulative
    return pd.DataFrame({"member_id": summary.member_id.to_numpy(), "expected_purchases": previous,
                         "probability_alive": alive_per_member,
                         "probability_any_purchase": any_purchase(model, summary, horizon_months * month, histories),
                         "expected_spend": spend, "clv": value})


# ------------------------------------------------------------------ holdout
def holdout_errors(summary: pd.DataFrame, predicted: np.ndarray, predicted_value: np.ndarray | None = None,
                   id_order: np.ndarray | None = None) -> dict:
    """MAE per member, aggregate error (predicted total / actual total - 1), and the share of actual
    holdout spend held by the top 10% of members by predicted value (or purchases).

    ``summary`` holds ``member_id``, ``frequency_holdout`` and ``monetary_holdout``, one row per
    member; ``predicted`` (purchases) and ``predicted_value`` (money) are aligned with its rows.
    The top 10% is round(n / 10) members (at least one); members with an equal prediction are
    taken in ``member_id`` order, so the share does not depend on the row order. ``id_order``: each row's
    place in ``member_id`` order (:func:`member_id_order`), computed once by a caller scoring several models.
    """
    actual = summary.frequency_holdout.to_numpy(float)
    rank_by = predicted if predicted_value is None else predicted_value
    n_top = max(1, int(round(len(summary) * 0.1)))
    if id_order is None:
        id_order = member_id_order(summary)
    top = np.lexsort((id_order, -np.asarray(rank_by, dtype=float)))[:n_top]
    spend = summary.monetary_holdout.to_numpy(float)
    return {"mae": float(np.mean(np.abs(predicted - actual))),
            "aggregate_error": float(predicted.sum() / actual.sum() - 1) if actual.sum() else math.nan,
            "predicted_total": float(predicted.sum()), "actual_total": float(actual.sum()),
            "top_decile_spend_share": float(spend[top].sum() / spend.sum()) if spend.sum() else math.nan}


def member_id_order(summary: pd.DataFrame) -> np.ndarray:
    """Each row's place among the sorted distinct ``member_id`` values of ``summary`` (int64, one per row;
    equal ids share one; text in code point order, as pandas sorts it): the tie-break of :func:`holdout_errors`,
    sorted once (in Arrow: a tenth of pandas' time at 660,000 ids) rather than once per model."""
    import pyarrow as pa
    import pyarrow.compute as pc
    ids = pa.Array.from_pandas(summary.member_id)
    return pc.rank(ids, sort_keys="ascending", tiebreaker="dense").to_numpy().astype(np.int64)


def tracking_curve(model, first_purchase: pd.Series, start: _dt.date, end: _dt.date, unit: str) -> pd.Series:
    """Expected repeat purchases per day of the calibration cohort: sum over members of the
    unconditional E[X(t)] since each member's first purchase, differenced by day.

    ``first_purchase``: dates; returns a Series of one value per day from ``start`` to ``end`` (expected
    purchases that day). E[X(t)] is evaluated once per age in days (the model's formula is elementwise),
    not once per first date and day, and added per first date in the order it always was: the same sums
    to the last bit."""
    k = UNIT_DAYS[unit]
    days = pd.date_range(start, end, freq="D")
    counts = pd.to_datetime(first_purchase).value_counts()
    cumulative = np.zeros(len(days))
    # each first date's offset from the first day: on day j its members are j - offset days old
    offsets = (counts.index - days[0]).days.to_numpy() if len(days) else np.zeros(0, dtype=np.int64)
    oldest = len(days) - 1 - min(0, int(offsets.min())) if len(offsets) else 0
    ages = np.arange(1, oldest + 1, dtype=float)
    expected = (np.asarray(model.expected_number_of_purchases_up_to_time(ages / k), dtype=float).reshape(-1)
                if len(ages) else ages)
    for offset, n in zip(offsets.tolist(), counts.to_numpy().tolist()):
        first_day = max(offset + 1, 0)          # alive from the day after the first purchase
        if first_day < len(days):
            cumulative[first_day:] += n * expected[first_day - offset - 1:len(days) - offset - 1]
    return pd.Series(np.diff(np.concatenate([[0.0], cumulative])), index=days, name="expected")


def holdout_by_frequency(summary: pd.DataFrame, predicted: np.ndarray, cap: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency (cap+ pooled)."""
    f = summary.frequency.clip(upper=cap)
    frame = pd.DataFrame({"frequency": f, "actual": summary.frequency_holdout, "predicted": predicted})
    out = frame.groupby("frequency").agg(members=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean"))
    out.index = [f"{i}+" if i == cap else str(i) for i in out.index]
    return out


def holdout_by_segment(summary: pd.DataFrame, predicted: np.ndarray, members: pd.DataFrame) -> dict:
    """The holdout check's aggregate error per RFM segment (the segment at the calibration end, from
    ``members``; a member in none counts as ``no_recent_purchase``): {code: {members, predicted,
    actual (holdout purchases), error (predicted / actual - 1, None when nobody bought)}}, codes in
    order. The band the forecast ledger's drift alarm starts from (:func:`memberkit.ledger.drift`);
    {} when ``members`` has no segment. Raises ``ValueError`` when a member is in ``members`` twice."""
    if "segment" not in members:
        return {}
    # a left join, not Series.map: the same segments in the summary's order in half the time at 1M (0.2 against
    # 0.5 s CPU); a member twice in ``members`` gives a longer frame, refused below as map refused it
    seg = summary[["member_id"]].merge(members[["member_id", "segment"]], how="left", on="member_id")
    seg = seg.segment.fillna("no_recent_purchase")
    frame = pd.DataFrame({"segment": seg.astype(str).to_numpy(), "predicted": np.asarray(predicted, float),
                          "actual": summary.frequency_holdout.to_numpy(float)})
    out = {}
    for code, g in frame.groupby("segment", sort=True):
        p, a = float(g.predicted.sum()), float(g.actual.sum())
        out[str(code)] = {"members": int(len(g)), "predicted": p, "actual": a, "error": p / a - 1 if a else None}
    return out


@dataclass
class HoldoutCheck:
    """Fit on the calibration period, predict the holdout: per model, its parameters and errors.

    ``failures``: model -> why it failed (did not converge, degenerate parameters, predictions or
    holdout error not finite); ``no_dropout``: the models whose optimum is the no-drop-out boundary."""

    calibration_end: _dt.date
    observation_end: _dt.date
    unit: str
    summary: pd.DataFrame
    models: dict = field(default_factory=dict)
    predictions: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)
    no_dropout: list = field(default_factory=list)

    @property
    def best(self) -> str:
        return self.ranking[0]

    @property
    def ranking(self) -> list[str]:
        """Fitted models by holdout MAE per member, then name (a stable order for ties)."""
        return sorted(self.errors, key=lambda k: (self.errors[k]["mae"], k))


def penalizer_for(penalizers, name: str) -> float:
    """The regularisation of one model: ``penalizers`` is a number (every purchase model; never
    Gamma-Gamma), a mapping or an object with one attribute per model."""
    if penalizers is None:
        return 0.0
    if isinstance(penalizers, (int, float)):
        return 0.0 if name == "gamma_gamma" else float(penalizers)
    if isinstance(penalizers, dict):
        return float(penalizers.get(name, 0.0))
    return float(getattr(penalizers, name, 0.0))


def holdout_check(summary: pd.DataFrame, calibration_end: _dt.date, observation_end: _dt.date, unit: str,
                  models=PURCHASE_MODELS, penalizer=0.0, spend_model=None) -> HoldoutCheck:
    """Fit each purchase model on the calibration summary and score its holdout predictions.

    ``penalizer``: one number for every purchase model, or one per model (:func:`penalizer_for`).
    A model that fails (no convergence, degenerate parameters, a prediction or a holdout error
    that is not finite) is recorded in ``failures`` with the reason and left out; if none is left,
    :class:`ModelFitError` is raised.
    """
    s = in_units(summary, unit)
    check = HoldoutCheck(calibration_end, observation_end, unit, s)
    spend = expected_spend(spend_model, s) if spend_model is not None else None
    histories = collapse(s)     # once, for every model's fit and prediction
    id_order = member_id_order(s)
    for name in models:
        try:
            model = fit_purchase_model(name, s, penalizer_for(penalizer, name), histories)
            pred = expected_purchases(model, s, s.duration_holdout.iloc[0] if len(s) else 0.0, histories)
            if not (np.isfinite(pred).all() and (pred >= 0).all()):
                bad = int((~np.isfinite(pred) | (pred < 0)).sum())
                raise ModelFitError(f"{name} predicted {bad:,} members' holdout purchases as not finite or negative.",
                                    "prediction_not_finite", n=f"{bad:,}")
            errors = holdout_errors(s, pred, pred * spend if spend is not None else None, id_order)
            if not math.isfinite(errors["mae"]):
                raise ModelFitError(f"{name}'s holdout error is not finite.", "holdout_not_finite")
        except ModelFitError as e:
            check.failures[name] = why(e)
            continue
        check.models[name], check.predictions[name], check.errors[name] = model, pred, errors
        if model.fit_.no_dropout:
            check.no_dropout.append(name)
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
    notes: list = field(default_factory=list)   # what failed and what was used instead, for the page
    # derived tables the page shows, computed once by analyse()
    by_group: dict = field(default_factory=dict)   # member column (segment, tier, channel, region) -> clv_by's frame
    alive: pd.DataFrame = field(default_factory=pd.DataFrame)   # alive_matrix of the chosen model
    any_purchase_threshold: float = 0.5            # the chance of a purchase over the horizon below which a
                                                   # high-value member is at risk
    holdout_by_segment: dict = field(default_factory=dict)   # holdout_by_segment() of the chosen model


def analyse(tables: dict, period: str, params, member_table: pd.DataFrame | None = None,
            rfm_params=None) -> CLVAnalysis:
    """The CLV report's computations: holdout check of each model, final fit, per-member CLV.

    ``member_table`` is the RFM member table at the period's end
    (:meth:`memberkit.store.PeriodStore.member_table`): each member's past revenue, segment, tier,
    stage, region and channel are read from it. Without it, only the past revenue is computed
    here (``segment`` and the others are absent). ``rfm_params`` (the RFM report's settings): the
    members' segments at the calibration end are computed with them, for the holdout check's error
    per segment (:func:`holdout_by_segment`; segments at the period's end would be chosen by the
    holdout's own purchases); without them that error is not given. Raises ``ModelFitError`` when
    no purchase model can be fitted.
    """
    from . import summary
    from .periods import period_bounds
    _, end = period_bounds(period)
    orders = summary.without_outliers(tables["orders"], params.exclude_outliers)
    cal_end = (_dt.date.fromisoformat(params.calibration_end) if params.calibration_end
               else end - _dt.timedelta(weeks=params.holdout_weeks))
    if cal_end >= end:
        raise ModelFitError(f"calibration_end {cal_end} must be before the end of the period ({end})")
    # the order log is read once: its purchase days, cached in the engine, feed both summaries and the tracking curve
    with summary.purchase_days(orders, end).cache() as days:
        cal = summary.member_frame(summary.clv_summary(orders, cal_end, end, days=days))
        if len(cal) < 50:
            raise ModelFitError(f"only {len(cal)} members bought before the calibration end {cal_end}; "
                                f"shorten holdout_weeks or choose a later period")
        full = in_units(summary.member_frame(summary.clv_summary(orders, end, days=days)), params.unit)
        repeat_days = summary.repeat_purchases_by_day(orders, cal_end, end, days=days).to_pandas()
    pen = params.penalizers
    notes = []
    spend_model, refused = choose_spend_model(full, penalizer_for(pen, "gamma_gamma"))
    if refused:
        notes.append({"model": "gamma_gamma", "stage": "final", "problem": str(refused), "used": ObservedSpend.name,
                      "mean_spend": spend_model.population_mean, "reason": getattr(refused, "reason", None)})
    cal_spend, _ = choose_spend_model(in_units(cal, params.unit), penalizer_for(pen, "gamma_gamma"))
    check = holdout_check(cal, cal_end, end, params.unit, params.models, pen, spend_model=cal_spend)
    candidates = [params.model] if params.model in check.models else []
    candidates += [k for k in check.ranking if k not in candidates]
    if params.model and params.model not in check.models:
        failure = check.failures.get(params.model, "not fitted")
        notes.append({"model": params.model, "stage": "holdout", "problem": str(failure), "used": candidates[0],
                      "reason": getattr(failure, "reason", None) or {"reason": "not_fitted"}})
    for name in check.no_dropout:
        notes.append({"model": name, "stage": "holdout", "problem": "no_dropout", "used": name})
    chosen = model = values = None
    histories = collapse(full)   # once, for every candidate's final fit and forecast
    for name in candidates:
        try:
            model = fit_purchase_model(name, full, penalizer_for(pen, name), histories)
            values = lifetime_value(model, spend_model, full, params.unit, params.horizon_months,
                                    params.monthly_discount, params.margin, histories)
            bad = ~np.isfinite(values[["expected_purchases", "probability_alive", "probability_any_purchase",
                                       "expected_spend", "clv"]]).all(axis=1)
            if bad.any():
                raise ModelFitError(f"{name} gave {int(bad.sum()):,} members a forecast that is not finite.",
                                    "forecast_not_finite", n=f"{int(bad.sum()):,}")
        except ModelFitError as e:
            notes.append({"model": name, "stage": "final", "problem": str(e), "used": None, "reason": why(e).reason})
            continue
        chosen = name
        break
    if chosen is None:
        raise ModelFitError("no purchase model could be fitted on the whole history:\n"
                            + "\n".join(n["problem"] for n in notes if n["stage"] == "final"))
    for n in notes:
        if n["used"] is None:
            n["used"] = chosen
    chosen_by = ("parameter" if chosen == params.model else "fallback") if params.model else (
        "holdout" if chosen == check.best else "fallback")
    if model.fit_.no_dropout and chosen not in check.no_dropout:
        notes.append({"model": chosen, "stage": "final", "problem": "no_dropout", "used": chosen})
    members = full.merge(values, on="member_id")
    if member_table is not None:   # the RFM member table already holds each member's past revenue
        table = member_table
        cols = [c for c in MEMBER_TABLE_COLUMNS if c != "revenue_total_bulk"]
    else:
        table = summary.member_frame(summary.member_summary(tables["orders"], end))
        cols = ["member_id", "revenue_total"]
    members = members.merge(table[cols + [c for c in ("revenue_total_bulk",) if c in table]], on="member_id", how="left")
    members = without_bulk_spend(members, params.exclude_outliers)
    cutoff = members.revenue_total.quantile(1 - params.high_value_share)
    members["high_value"] = members.revenue_total >= cutoff
    # at risk: unlikely to buy at all over the horizon. Not P(alive), which the BG/NBD holds at 1 for every
    # member without a repeat purchase however long ago they bought, so it never listed a lapsed one-time buyer
    members["at_risk"] = members.high_value & (members.probability_any_purchase < params.any_purchase_threshold)
    tracking = _tracking(check.models[chosen], repeat_days, check.summary, end, params.unit)
    clv_sorted = np.sort(members.clv.to_numpy())[::-1]
    top = max(1, int(round(len(members) * 0.1)))
    totals = {"members": int(len(members)), "total_clv": float(members.clv.sum()),
              "top10_share": float(clv_sorted[:top].sum() / clv_sorted.sum()) if clv_sorted.sum() else math.nan,
              "expected_purchases": float(members.expected_purchases.sum()),
              "high_value_at_risk": int(members.at_risk.sum()),
              "high_value_at_risk_past_revenue": float(members.loc[members.at_risk, "revenue_total"].sum()),
              "high_value_at_risk_clv": float(members.loc[members.at_risk, "clv"].sum()),
              **bulk_left_out(members),
              "calibration_end": cal_end.isoformat(), "observation_end": end.isoformat()}
    return CLVAnalysis(period, end, params.unit, check, chosen, chosen_by, model, model_parameters(model), spend_model,
                       spend_checks(full, spend_model), members, tracking,
                       holdout_by_frequency(check.summary, check.predictions[chosen]), totals, notes,
                       by_group={c: clv_by(members, c, _outside_key() if c == "segment" else None)
                                 for c in GROUPS if c in members and members[c].notna().any()},
                       alive=alive_matrix(model, members), any_purchase_threshold=params.any_purchase_threshold,
                       holdout_by_segment=_holdout_segments(tables, cal_end, rfm_params, check, chosen))


MEMBER_TABLE_COLUMNS = ("member_id", "revenue_total", "segment", "tier", "stage", "region", "channel",
                        "revenue_total_bulk")   # what :func:`analyse` reads of the RFM member table


def without_bulk_spend(members: pd.DataFrame, exclude: bool) -> pd.DataFrame:
    """``members`` with ``revenue_total`` (spend to date, the shop's currency) less ``revenue_total_bulk``
    (its part in orders the cleaning flagged as bulk purchases) when ``exclude`` (the ``exclude_outliers``
    setting), as the models' order log leaves them out: the high-value ranking and the at-risk list's spend
    then rest on the members' own buying, not on one bulk order. ``revenue_total_bulk`` is kept (0 where
    unknown) for the page to say how much was left out; unchanged without that column or ``exclude``."""
    if "revenue_total_bulk" not in members:
        return members
    bulk = members.revenue_total_bulk.fillna(0.0)
    if not exclude:
        return members.assign(revenue_total_bulk=0.0)
    return members.assign(revenue_total=members.revenue_total - bulk, revenue_total_bulk=bulk)


def bulk_left_out(members: pd.DataFrame) -> dict:
    """What :func:`without_bulk_spend` took out of spend to date: ``bulk_spend_left_out`` (the shop's
    currency, all members) and ``bulk_members_left_out`` (members with any), both 0 when nothing was (no
    ``revenue_total_bulk`` column, or ``exclude_outliers`` off). Kept in the totals so that the summary page
    can say it beside the win-back decision without recomputing anything."""
    bulk = members.revenue_total_bulk.fillna(0.0) if "revenue_total_bulk" in members else pd.Series(dtype=float)
    held = bulk[bulk != 0]
    return {"bulk_spend_left_out": float(held.sum()), "bulk_members_left_out": int(len(held))}


def _holdout_segments(tables: dict, cal_end: _dt.date, rfm_params, check: HoldoutCheck, chosen: str) -> dict:
    """:func:`holdout_by_segment` with the RFM segments at the calibration end ({} without ``rfm_params``).

    Each buyer's high/low segment is the one :func:`memberkit.rfm.member_table_at` gives at that date
    (tests/test_clv.py checks), learnt from the engine's member summary alone: the segment needs neither
    the member profile nor the tiers and stages that the whole member table adds (a third of the 1M
    report's time went there)."""
    if rfm_params is None:
        return {}
    from .rfm import DIMENSIONS, RFMSegmenter
    from .summary import member_frame, member_summary
    at_cal = member_summary(tables["orders"], cal_end, rfm_params.window_days)
    # only what the segmenter reads: the engine leaves the other sums out, and pandas gets 4 of 12 columns
    at_cal = member_frame(at_cal.select("member_id", *DIMENSIONS.values()))
    # the buyers in the member table's order (its outer merge sorts by member id): the mean split sums alike
    buyers = at_cal[at_cal.frequency.fillna(0) >= 1].sort_values("member_id", kind="stable")
    segments = RFMSegmenter(rfm_params.split).fit_transform(buyers)[["member_id", "segment"]]
    return holdout_by_segment(check.summary, check.predictions[chosen], segments)


def _tracking(model, actual: pd.DataFrame, cal_summary: pd.DataFrame, end: _dt.date, unit: str) -> pd.DataFrame:
    """Weekly actual and expected repeat purchases of the calibration cohort (``actual``: the frame
    of :func:`memberkit.summary.repeat_purchases_by_day`) and their running totals."""
    start = pd.Timestamp(cal_summary.first_purchase.min()).date()
    actual = actual.set_index(pd.to_datetime(actual.order_date)).repeat_purchases.reindex(
        pd.date_range(start, end, freq="D"), fill_value=0)
    expected = tracking_curve(model, cal_summary.first_purchase, start, end, unit)
    weekly = pd.DataFrame({"actual": actual, "expected": expected}).resample("W-SUN").sum()
    weekly["actual_cumulative"] = weekly.actual.cumsum()
    weekly["expected_cumulative"] = weekly.expected.cumsum()
    return weekly


GROUPS = ("segment", "tier", "channel", "region")   # the member columns CLV is broken down by


def _outside_key() -> str:
    from .rfm import outside_window
    return outside_window().key


def clv_by(members: pd.DataFrame, column: str, missing: str | None = None) -> pd.DataFrame:
    """Members, total and mean CLV, share of CLV, mean P(alive) (``alive``) and mean chance of at least one
    purchase over the horizon (``any_purchase``) per value of a member column.

    Members without a value are left out, or with ``missing`` counted as that group (the RFM segment's
    ``no_recent_purchase``: valued members who bought before the RFM window), so the groups add up
    to the whole value."""
    if missing is not None and column in members:
        members = members.assign(**{column: members[column].astype("object").where(members[column].notna(), missing)})
    m = members.dropna(subset=[column]) if column in members else members.iloc[0:0]
    g = m.groupby(column, observed=True).agg(members=("member_id", "size"), clv=("clv", "sum"), mean_clv=("clv", "mean"),
                                              alive=("probability_alive", "mean"),
                                              any_purchase=("probability_any_purchase", "mean"))
    g["clv_share"] = g.clv / members.clv.sum() if members.clv.sum() else math.nan
    return g.sort_values(["clv", column], ascending=[False, True], kind="stable")


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
                  "probability_any_purchase", "expected_spend", "clv", "high_value", "at_risk", "segment", "tier", "stage"]


def file_column_names(unit: str) -> dict[str, str]:
    """The model's history columns as ``clv_members.csv`` names them, each with its unit (``unit``: day or
    week, the model's): ``frequency`` -> ``repeat_purchases`` (purchase days after the first, a count),
    ``recency`` -> ``first_to_last_purchase_weeks`` (from the first purchase to the last; not the RFM
    lists' ``recency_days``, the days since the last), ``T`` -> ``since_first_purchase_weeks`` (from the
    first purchase to the period's end). Raises ``ValueError`` for another unit."""
    if unit not in UNIT_DAYS:
        raise ValueError(f"time unit must be one of {sorted(UNIT_DAYS)}, not {unit!r}")
    return {"frequency": "repeat_purchases", "recency": f"first_to_last_purchase_{unit}s",
            "T": f"since_first_purchase_{unit}s"}


def value_column_names(horizon_months: int, currency: str) -> dict[str, str]:
    """The forecast's and the win-back list's value columns as the CSV files name them, one name each across
    ``clv_members.csv`` and ``clv_at_risk.csv``: ``clv`` -> ``clv_<horizon_months>_months_discounted_<currency>``
    (the expected margin over the horizon, discounted monthly, in the shop's ISO currency, lower case),
    ``expected_spend`` -> ``expected_order_value_<currency>`` (the spend model's expected value of one order, not
    spend over the horizon), ``monetary_value`` -> ``mean_repeat_order_value_<currency>`` (the mean value of a
    member's repeat purchase days, what the spend model is fitted on; 0 without a repeat), ``spend_to_date`` -> ``spend_all_time_<currency>`` (net spend over all history to the
    period's end, without the orders the cleaning flagged as bulk purchases when the models leave them out),
    ``probability_any_purchase`` -> ``probability_any_purchase_<horizon_months>_months`` (the chance of at least
    one purchase over the horizon, 0 to 1). ``probability_alive`` keeps its name in both files. Raises
    ``ValueError`` for a horizon below 1 month."""
    if int(horizon_months) < 1:
        raise ValueError(f"horizon_months must be at least 1, not {horizon_months!r}")
    cur = str(currency).lower()
    return {"clv": f"clv_{int(horizon_months)}_months_discounted_{cur}", "expected_spend": f"expected_order_value_{cur}",
            "monetary_value": f"mean_repeat_order_value_{cur}", "spend_to_date": f"spend_all_time_{cur}",
            "probability_any_purchase": f"probability_any_purchase_{int(horizon_months)}_months"}


def member_file_columns(unit: str, horizon_months: int = 12, currency: str = "CNY") -> list[str]:
    """The columns of ``clv_members.csv`` (:func:`member_file`) for a model in ``unit`` (day or week), a forecast
    over ``horizon_months`` and the shop's ``currency`` (ISO 4217), in order: the model's columns under their
    file names (:func:`file_column_names`, :func:`value_column_names`), then each code (segment, tier, stage)
    followed by its label in every language. Raises ``ValueError`` for another unit."""
    from .languages import LANGUAGES
    codes = ("segment", "tier", "stage")
    names = {**file_column_names(unit), **value_column_names(horizon_months, currency)}
    return ([names.get(c, c) for c in EXPORT_COLUMNS if c not in codes]
            + [c for code in codes for c in (code, *(f"{code}_label_{lang}" for lang in LANGUAGES))])


def model_columns(members: pd.DataFrame) -> pd.DataFrame:
    """A published ``clv_members.csv`` with its columns under the model's names again (frequency, recency, T,
    monetary_value, expected_spend, clv), whichever unit, horizon and currency it was written in; a file written
    before the columns carried their units (``monetary_value``, ``expected_order_value``) is read as well. Lifecycle stage codes are
    read as they are named now (:func:`memberkit.rfm.current_stage`: ``churned`` -> ``lapsed``)."""
    import re
    from .rfm import current_stage
    back = {v: k for unit in UNIT_DAYS for k, v in file_column_names(unit).items()}
    back["expected_order_value"] = "expected_spend"   # the name before it carried the currency
    back.update({c: "expected_spend" for c in members.columns if re.fullmatch(r"expected_order_value_[a-z]{3}", c)})
    back.update({c: "monetary_value" for c in members.columns if re.fullmatch(r"mean_repeat_order_value_[a-z]{3}", c)})
    back.update({c: "clv" for c in members.columns if re.fullmatch(r"clv_\d+_months_discounted_[a-z]{3}", c)})
    back.update({c: "probability_any_purchase" for c in members.columns
                 if re.fullmatch(r"probability_any_purchase_\d+_months", c)})
    out = members.rename(columns={c: back[c] for c in members.columns if c in back})
    if "stage" in out:
        out["stage"] = out["stage"].map(current_stage, na_action="ignore")
    return out


def member_file(a: "CLVAnalysis", tier_labels: dict[str, dict[str, str]] | None = None,
                stage_labels: dict[str, dict[str, str]] | None = None, *, horizon_months: int = 12,
                currency: str = "CNY") -> pd.DataFrame:
    """``clv_members.csv`` as a frame, highest CLV first (ties by member id): member id; the model's history
    with units in the names (:func:`file_column_names`, ``a.unit``); mean repeat order value, expected
    purchases over the horizon, probability alive and the chance of at least one purchase over the horizon
    (0 to 1), the expected value of one order and CLV over ``horizon_months``, discounted, the amounts in
    ``currency`` and named with it
    (:func:`value_column_names`); the high-value and at-risk flags; then each code followed by its English and Chinese labels,
    as the CRM lists give them: the RFM segment (a member with no order in the RFM window gets the rule
    file's ``outside`` code, as in the win-back list), the tier (``tier_labels``: {language: {tier: label}})
    and the lifecycle stage (``stage_labels``: {language: {stage: label}}); a code without a label in
    ``tier_labels`` / ``stage_labels`` is its own label."""
    from .languages import LANGUAGES
    from .rfm import label_codes, outside_window, schemes
    hl, outside = schemes()["high_low"], outside_window()
    # highest CLV first, ties by member id: one total order, so lexsort gives pandas' rows without its string sort
    m = a.members.iloc[np.lexsort((member_id_order(a.members), -a.members.clv.to_numpy(float)))]
    out = m[[c for c in EXPORT_COLUMNS if c in m and c not in ("segment", "tier", "stage")]].rename(
        columns={**file_column_names(a.unit), **value_column_names(horizon_months, currency)})
    if "segment" in m:
        segment = m["segment"].astype("object").where(m["segment"].isin(hl.keys), outside.key)
        out["segment"] = segment
        at, distinct = pd.factorize(segment)
        for language in LANGUAGES:
            labels = [outside.label[language] if k == outside.key else hl.label(k, language) for k in distinct]
            out[f"segment_label_{language}"] = _looked_up(at, labels, out.index)
    for code, words in (("tier", tier_labels), ("stage", stage_labels)):
        if code in m:
            out[code] = m[code].astype("object")
            at, distinct = pd.factorize(m[code])         # missing: -1, left missing
            distinct = pd.Series(np.asarray(distinct, dtype=object), dtype=object)
            for language in LANGUAGES:    # label_codes' labels, found once per code rather than once per member
                labels = label_codes(distinct, (words or {}).get(language, {})).tolist()
                out[f"{code}_label_{language}"] = _looked_up(at, labels, out.index)
    return out


def _looked_up(at: np.ndarray, labels: list, index: pd.Index) -> pd.Series:
    """``labels[at[i]]`` for each row (``at``: int positions, -1 for a missing value, which stays missing as
    NaN), an object Series on ``index``: what ``Series.map`` of a code to its label gives, without hashing
    every member's text again for each language."""
    table = np.array([*labels, np.nan], dtype=object)
    return pd.Series(table[at], index=index, dtype=object)


AT_RISK_FILE = "clv_at_risk.csv"
#: The win-back list's columns: who, which segment (code and both languages' labels), what they are worth, what to
#: do; ``spend_to_date`` and ``clv`` carry their window, horizon and currency in the file (:func:`value_column_names`).
WINBACK_COLUMNS = ["member_id", "segment", "segment_label_en", "segment_label_zh", "tier", "tier_label_en",
                   "tier_label_zh", "spend_to_date", "clv", "probability_any_purchase", "probability_alive", "action_en",
                   "action_zh"]


def at_risk_action(key: str, language: str) -> str:
    """What to do with a high-value member the model says is likely lost, by its RFM segment ``key``: a
    member likely lost is treated as not having bought lately, so a segment of recent buyers takes the
    action of its lapsing counterpart (the same F and M, low R: Important value -> Important, lapsing's
    hold-on-to-them), never "keep them"; a segment of members gone quiet, and a member with no purchase in the
    window, keep their own. The one rule for the win-back list (:func:`winback_list`) and the CLV page's
    at-risk table (:func:`memberkit.views.clv.at_risk_frame`), from ``reference/rfm_segments.yaml``.

    >>> at_risk_action("important_value", "en")
    'Hold on to them: personal contact before they lapse'
    >>> at_risk_action("important_at_risk", "en") == at_risk_action("important_develop", "en")
    True
    """
    from .rfm import outside_window, schemes
    if key == outside_window().key:
        return outside_window().action[language]
    return schemes()["high_low"].action(lapsing_counterpart(key), language)


def lapsing_counterpart(key: str) -> str:
    """The 8-segment code whose action a likely-lost member of segment ``key`` takes (:func:`at_risk_action`):
    for a segment of recent buyers (high R) the one with the same F and M and low R, else ``key`` itself.

    >>> lapsing_counterpart("important_value"), lapsing_counterpart("important_lapsing")
    ('important_lapsing', 'important_lapsing')
    """
    from .rfm import outside_window, schemes
    if key == outside_window().key:
        return key
    hl = schemes()["high_low"]
    when = hl.segment(key).when
    return hl.matching({**when, "r": "low"})[0] if when.get("r") == "high" else key


def winback_list(a: CLVAnalysis, tier_labels: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """The high-value members at risk as the CRM team acts on them, the highest expected value over the horizon
    (``clv``) first, then the highest spend to date, then by id.

    Columns (:data:`WINBACK_COLUMNS`): member id; the 8-segment high/low RFM segment's code and its
    English and Chinese labels; tier (its id, the shop's name) and its labels (``tier_labels``: {language:
    {tier: label}}, :func:`memberkit.views.rfm.list_tier_labels`; a tier without one keeps its name);
    ``spend_to_date`` (net revenue over all history to the period's end, the shop's currency, without the
    orders the cleaning flagged as bulk purchases when the models leave them out: :func:`without_bulk_spend`);
    ``clv`` (the member's CLV over the horizon: discounted margin, the shop's currency);
    ``probability_any_purchase`` (the chosen model's chance of at least one purchase over the horizon given the
    member's history, 0 to 1: what the list is chosen by) and ``probability_alive`` (its probability that the
    member has not dropped out, a model check: 1 under the BG/NBD for a member without a repeat purchase), as
    ``clv_members.csv`` names them; and the action for a likely-lost member of the segment in both languages
    (:func:`at_risk_action`, as the CLV page's at-risk table gives it: Important value's is Important,
    lapsing's hold-on-to-them, not "keep them"). A member with no order in the RFM window is in no segment: it
    gets the file's ``high_low.outside`` code (``no_recent_purchase``), labels and action
    (:func:`memberkit.rfm.outside_window`). No model inputs (repeat purchases, the weeks from the first to the
    last purchase and since the first): those are in ``clv_members.csv`` (:func:`member_file`).
    """
    from .rfm import label_codes, outside_window, schemes
    hl, outside = schemes()["high_low"], outside_window()
    m = a.members[a.members.at_risk.fillna(False).astype(bool)]
    # worth most first: a CRM team working down the list reaches the members still worth contacting before
    # the big spenders the model considers gone (spend to date then breaks ties, then the id)
    m = m.sort_values(["clv", "revenue_total", "member_id"], ascending=[False, False, True], kind="mergesort")
    raw = m["segment"] if "segment" in m else pd.Series(None, index=m.index, dtype=object)
    segment = [k if isinstance(k, str) and k in hl.keys else outside.key for k in raw]

    def label(language: str):      # looked up once per segment, not once per member
        words = {k: hl.label(k, language) if k != outside.key else outside.label[language] for k in set(segment)}
        return [words[k] for k in segment]

    def action(language: str):
        words = {k: at_risk_action(k, language) for k in set(segment)}
        return [words[k] for k in segment]
    tier = m["tier"] if "tier" in m else pd.Series(None, index=m.index, dtype=object)
    words = (tier_labels or {}).get
    return pd.DataFrame({
        "member_id": m.member_id.to_numpy(), "segment": segment,
        "segment_label_en": label("en"), "segment_label_zh": label("zh"),
        "tier": tier.to_numpy(), "tier_label_en": label_codes(tier, words("en", {})).to_numpy(),
        "tier_label_zh": label_codes(tier, words("zh", {})).to_numpy(),
        "spend_to_date": m.revenue_total.to_numpy(float), "clv": m.clv.to_numpy(float),
        "probability_any_purchase": m.probability_any_purchase.to_numpy(float),
        "probability_alive": m.probability_alive.to_numpy(float),
        "action_en": action("en"), "action_zh": action("zh")},
        columns=WINBACK_COLUMNS)


def export_members(a: CLVAnalysis, folder, currency: str = "CNY",
                   tier_labels: dict[str, dict[str, str]] | None = None,
                   stage_labels: dict[str, dict[str, str]] | None = None, *, horizon_months: int) -> "Path":
    """``clv_members.csv`` (every member's forecast: :func:`member_file`, floats to four decimals) and
    ``clv_at_risk.csv`` (the win-back list, :func:`winback_list`, with money at the ``currency``'s minor
    unit and the probabilities to four decimals); the value columns are named with ``horizon_months``
    (the forecast's, the report's setting) and ``currency`` (:func:`value_column_names`), one name each in
    both files. Returns the first path. Both UTF-8 with a byte-order mark, member ids only; the same files
    whatever the report's language."""
    from pathlib import Path
    from .engine import currency_scale
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clv_members.csv"
    _write_csv(member_file(a, tier_labels, stage_labels, horizon_months=horizon_months, currency=currency), path,
               float_format="%.4f")
    w = winback_list(a, tier_labels)
    money = f"%.{currency_scale(currency)}f"
    for c in ("spend_to_date", "clv"):
        w[c] = _csv_text(w[[c]], money)[c]
    _write_csv(w.rename(columns=value_column_names(horizon_months, currency)), folder / AT_RISK_FILE, float_format="%.4f")
    return path


def _write_csv(frame: pd.DataFrame, path, float_format: str | None = None, rows: int = 100_000) -> None:
    """``frame.to_csv(path, index=False, encoding="utf-8-sig", float_format=float_format)``, the same bytes,
    joined in Arrow (4 of the 1M-member export's 10 CPU seconds went to pandas' row-by-row writer) when every
    column is text (strings, empty where missing), int64, bool or (with ``float_format``) float64 and no field
    or column name holds a line break; otherwise written by pandas itself. A field with a comma or a quote
    is quoted as Python's csv writer quotes it (QUOTE_MINIMAL, quotes doubled). Floats are formatted
    (``'%.Nf'``: :func:`_fixed_text`, in Arrow; another format: :func:`_csv_text`) and the file written
    ``rows`` rows at a time, so memory holds one slice's text, not the whole file's (the 1M-member
    report's process went from 1.5 to 3.1 GB writing it whole).
    ``path``: the file, written whole. Raises what writing a file raises."""
    import pyarrow as pa
    import pyarrow.compute as pc
    as_text = (lambda f: _csv_text(f, float_format)) if float_format else _pandas_text
    fixed = re.fullmatch(r"%\.(\d)f", float_format or "")
    decimals = int(fixed.group(1)) if fixed else None      # '%.Nf': the floats go to Arrow text without Python strings

    def arrow_fields(part: pd.DataFrame):
        fields = []      # (the column as Arrow text, whether it is text: numbers hold no comma, quote or line break)
        for c in part.columns:
            col = part[c]
            try:
                if col.dtype == np.float64 and decimals is not None:
                    fields.append((_fixed_text(col.to_numpy(), decimals), False))
                elif col.dtype == np.bool_:
                    fields.append((pc.if_else(pa.array(col.to_numpy()), "True", "False"), False))
                elif col.dtype == np.int64:
                    fields.append((pc.cast(pa.array(col.to_numpy()), pa.string()), False))
                elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
                    fields.append((pa.array(col, type=pa.string(), from_pandas=True), True))
                else:
                    return None
            except (pa.ArrowInvalid, pa.ArrowTypeError):     # an object that is not text: pandas writes its str()
                return None
        # One array each: Arrow gives a ChunkedArray for text held in several record batches (a member table of
        # ten million rows read from Parquet; numpy's "True"/"False" text, as this read the flags before, from
        # five million rows on), and the line join below takes arrays (at 10M the CLV export failed: "Cannot
        # convert ChunkedArray to Array").
        return [(a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a, text) for a, text in fields]

    def breaks(a) -> bool:
        return pc.any(pc.match_substring_regex(a, "[\r\n]")).as_py() or False

    names = pa.array([str(c) for c in frame.columns], type=pa.string())
    # the fast path is decided on the whole frame, a column at a time (floats, once text, hold no line break)
    plain = frame[[c for c in frame.columns if frame[c].dtype != np.float64]]
    fast = len(frame.columns) >= 2 and not breaks(names)    # a row of one empty field is quoted by csv: not here
    converted = {}   # each column other than floats as Arrow text, whole: the check's, sliced for the writing
    for c in plain.columns if fast else ():
        field = arrow_fields(as_text(plain[[c]]))
        if field is None or field[0][1] and breaks(field[0][0]):
            fast = False
            break
        converted[c] = field[0]
    if not fast:
        as_text(frame).to_csv(path, index=False, encoding="utf-8-sig")
        return

    def quoted(a):
        special = pc.match_substring_regex(a, '[,"]')
        if not pc.any(special).as_py():
            return a
        return pc.if_else(special, pc.binary_join_element_wise('"', pc.replace_substring(a, '"', '""'), '"', ""), a)
    with open(path, "wb") as f:
        f.write(("\ufeff" + pc.binary_join(pa.ListArray.from_arrays([0, len(names)], quoted(names)), ",")[0].as_py()
                 + "\n").encode("utf-8"))
        floats = [c for c in frame.columns if c not in converted]
        for start in range(0, len(frame), rows):
            part = frame.iloc[start:start + rows][floats]
            formatted = dict(zip(floats, arrow_fields(part if decimals is not None else as_text(part))))
            fields = [(converted[c][0].slice(start, len(part)), converted[c][1]) if c in converted else formatted[c]
                      for c in frame.columns]
            lines = pc.binary_join_element_wise(*(quoted(a) if text else a for a, text in fields), ",",
                                                null_handling="replace", null_replacement="")
            # as UTF-8 bytes: one Python string holds four bytes a character once a Chinese label is in it
            f.write(pc.binary_join(pa.ListArray.from_arrays([0, len(lines)], lines), "\n")[0].as_buffer())
            f.write(b"\n")


def _pandas_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float64, nullable integer and text-category columns replaced by the text
    ``to_csv`` (no ``float_format``) writes for them: a float as numpy's shortest repr (``astype(str)``,
    pandas' own path for a float column), an integer as its digits, a category as its value; missing
    values as empty fields. Other columns are left as they are."""
    out = frame.copy(deep=False)
    for c in frame.columns:
        col = frame[c]
        if col.dtype == np.float64:
            values = col.to_numpy()
            text = values.astype(str).astype(object)
            text[np.isnan(values)] = ""
        elif isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and col.dtype.kind in "iu":
            missing = col.isna().to_numpy()
            text = col.fillna(0).to_numpy(dtype=np.int64).astype(str).astype(object)
            text[missing] = ""
        elif isinstance(col.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(col.dtype.categories.dtype):
            text = np.array(col.astype(object), dtype=object)
            text[col.isna().to_numpy()] = ""
        else:
            continue
        out[c] = pd.Series(text, index=frame.index, dtype=object)
    return out


def _fixed_text(values: np.ndarray, decimals: int):
    """``'%.<decimals>f' % v`` for every float of ``values`` (1-D float64, any length), as an Arrow string
    array of that length, null where a value is NaN (an empty CSV field): the same text, character for
    character, computed on the whole array (Python's formatting took a third of a second per million
    values, and as many again to bring its strings into Arrow).

    ``decimals``: 0 to 9. Python rounds the exact binary value half to even; ``rint`` of
    ``|v| x 10^decimals`` agrees wherever the product's own rounding (at most one part in 2^53) cannot
    have carried it across a half. Values that close to a half, infinities and values of 2^52 or more
    once scaled are formatted by Python itself; the sign is the value's sign bit (-0.0 and -0.00001 give
    "-0.0000" as Python does). Raises ``ValueError`` for ``decimals`` outside 0 to 9."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not 0 <= decimals <= 9:
        raise ValueError(f"decimals must be 0 to 9, not {decimals!r}")
    v = np.asarray(values, dtype=np.float64)
    k = 10 ** decimals
    with np.errstate(all="ignore"):
        y = np.abs(v) * k
        near_half = np.abs(y - np.floor(y) - 0.5) <= y * 2.0 ** -50 + 2.0 ** -60
        vector = np.isfinite(y) & (y < 2.0 ** 52) & ~near_half
    n = np.where(vector, np.rint(y), 0).astype(np.int64)
    whole = pc.cast(pa.array(n // k), pa.string())
    if decimals:
        digits = pa.array([f"{i:0{decimals}d}" for i in range(k)], pa.string()) if decimals <= 4 else None
        part = (digits.take(pa.array(n % k)) if digits is not None
                else pc.utf8_lpad(pc.cast(pa.array(n % k), pa.string()), decimals, "0"))
        text = pc.binary_join_element_wise(whole, part, ".")
    else:
        text = whole
    negative = np.signbit(v)
    if negative.any():
        text = pc.binary_join_element_wise(pa.array(np.where(negative, "-", ""), pa.string()), text, "")
    if not vector.all():
        python = ~vector
        fmt = f"%.{decimals}f"
        text = pc.replace_with_mask(text, pa.array(python),
                                    pa.array([None if x != x else fmt % x for x in v[python].tolist()], pa.string()))
    return text


def _csv_text(frame: pd.DataFrame, float_format: str = "%.4f") -> pd.DataFrame:
    """``frame`` with each float64 column replaced by the text ``to_csv(float_format=float_format)``
    writes for it (``float_format % value``; NaN as an empty field), formatted in one pass per
    column: the same file, byte for byte, without pandas' per-value formatting path (7 of the
    1M-member report's seconds). Each distinct value is formatted once (members sharing a history share
    its forecast); values are told apart by their bits, so -0.0 stays "-0.0000"."""
    out = frame.copy(deep=False)
    for c in frame.columns:
        if frame[c].dtype == np.float64:
            codes, distinct = pd.factorize(frame[c].to_numpy().view(np.int64))
            text = np.array(["" if v != v else float_format % v for v in distinct.view(np.float64).tolist()],
                            dtype=object)
            out[c] = pd.Series(text[codes], index=frame.index, dtype=object)
    return out


def key_results(a: CLVAnalysis, params) -> dict:
    """The holdout check, the chosen model, parameters, spend checks and totals (plain data for clv_forecast.json)."""
    return {
        "unit": a.unit, "chosen_model": a.chosen, "chosen_by": a.chosen_by,
        "holdout": {"calibration_end": a.totals["calibration_end"], "observation_end": a.totals["observation_end"],
                    "errors": a.holdout.errors, "failures": a.holdout.failures, "by_segment": a.holdout_by_segment,
                    "parameters": {k: model_parameters(m) for k, m in a.holdout.models.items()}},
        "final_parameters": {a.chosen: a.final_params,
                             a.spend_checks["model_used"]: model_parameters(a.spend_model)},
        "no_dropout": {"holdout": a.holdout.no_dropout, "final": bool(a.model.fit_.no_dropout)},
        "spend_checks": a.spend_checks, "totals": a.totals, "notes": a.notes,
        "horizon_months": params.horizon_months, "monthly_discount": params.monthly_discount, "margin": params.margin,
        "any_purchase_threshold": a.any_purchase_threshold,
    }


# ------------------------------------------------------------------ decisions for the summary page
def list_by_action(path) -> list[list]:
    """How many members of the at-risk list (``clv_at_risk.csv`` at ``path``, :func:`export_members`) take each
    segment's action: ``[[code, members], ...]``, ``code`` the 8-segment code whose action they take
    (:func:`lapsing_counterpart`: a likely-lost Important value member is counted with Important, lapsing) or
    the file's ``outside`` code; the most members first, ties in the order of ``reference/rfm_segments.yaml``.
    The summary's decision names each action beside its segment, so it says what the list and the RFM page say.
    Raises ``FileNotFoundError`` when the file is missing."""
    from .rfm import outside_window, schemes
    codes = pd.read_csv(path, usecols=["segment"], dtype=str, encoding="utf-8-sig")["segment"]
    order = [*schemes()["high_low"].keys, outside_window().key]
    counts = codes.map(lapsing_counterpart).value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
    return [[code, int(n)] for code, n in ranked]


def decisions(results: dict, out_dir=None) -> list[dict]:
    """High-value members at risk, from ``clv_forecast.json`` (``results``): how many, their past revenue
    (the shop's currency), their expected value, the flagged bulk orders left out of spend to date
    (:func:`bulk_left_out`; None when the results predate them), and where the list is
    (``data/clv_at_risk.csv`` when it is in ``out_dir``, else the full member file); none when no member
    is at risk."""
    from pathlib import Path
    totals = results.get("results", {}).get("totals", {})
    n = totals.get("high_value_at_risk") or 0
    if not n:
        return []
    listed = out_dir is not None and (Path(out_dir) / "data" / AT_RISK_FILE).is_file()
    by_action = list_by_action(Path(out_dir) / "data" / AT_RISK_FILE) if listed else None
    return [{"kind": "at_risk", "action": "win_back", "subject": "",
             "values": {"members": n, "past_revenue": totals.get("high_value_at_risk_past_revenue"),
                        "clv": totals.get("high_value_at_risk_clv"),
                        # None in a month published before the totals carried them: nothing is said then
                        "bulk_spend_left_out": totals.get("bulk_spend_left_out"),
                        "bulk_members_left_out": totals.get("bulk_members_left_out"),
                        "list": f"data/{AT_RISK_FILE}" if listed else "data/clv_members.csv",
                        "by_action": by_action},
             "link": f"clv_forecast.html#{anchor('at-risk')}"}]
