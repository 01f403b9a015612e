"""The statistics the A/B test and campaign reports share, each written once and tested against
published reference values (see tests/test_stats.py for the sources).

Everything here works on summary statistics or member-scale arrays; nothing reads the order log.

- two groups of means: Welch's t-test (``welch``), difference and relative lift;
- two proportions: z-test with the pooled standard error for the p-value, the unpooled one
  for the interval (``two_proportions``);
- ratio metrics (AOV = revenue / orders per member): the delta method (``ratio_mean``);
- relative lift with a delta-method interval (``relative_lift``);
- Holm's step-down correction (``holm``);
- Bayesian chance to beat control: exact for Beta posteriors, normal for means;
- CUPED variance reduction with a pre-period covariate (``cuped``);
- sample ratio mismatch (``srm_test``) and power / sample size / minimum detectable effect in the
  form of R's ``power.prop.test`` and ``power.t.test``.

Example
-------
>>> r = welch(mean_a=0.75, var_a=3.2006, n_a=10, mean_b=2.33, var_b=4.009, n_b=10)
>>> round(r.statistic, 3), round(r.df, 2)
(1.861, 17.78)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy import stats as st


@dataclass(frozen=True)
class Comparison:
    """Variant (b) against control (a): difference b - a with its interval and test."""

    mean_a: float
    mean_b: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    df: float = math.inf

    def to_dict(self) -> dict:
        return asdict(self)


def _two_sided_p(stat: float, df: float = math.inf) -> float:
    if not np.isfinite(stat):
        return math.nan
    return float(2 * (st.norm.sf(abs(stat)) if not np.isfinite(df) else st.t.sf(abs(stat), df)))


def welch(mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int,
          alpha: float = 0.05) -> Comparison:
    """Welch's two-sample t-test of mean_b - mean_a from means, sample variances (ddof 1) and sizes."""
    va, vb = var_a / n_a, var_b / n_b
    se = math.sqrt(va + vb)
    diff = mean_b - mean_a
    if se == 0 or n_a < 2 or n_b < 2:
        return Comparison(mean_a, mean_b, diff, se, math.nan, math.nan, math.nan, math.nan, math.nan)
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    t = diff / se
    q = st.t.ppf(1 - alpha / 2, df)
    return Comparison(mean_a, mean_b, diff, se, diff - q * se, diff + q * se, t, _two_sided_p(t, df), df)


def welch_arrays(a, b, alpha: float = 0.05) -> Comparison:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return welch(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b), alpha)


def two_proportions(x_a: int, n_a: int, x_b: int, n_b: int, alpha: float = 0.05) -> Comparison:
    """z-test of p_b - p_a: pooled standard error for the test, unpooled (Wald) for the interval."""
    pa, pb = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    se = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    z = (pb - pa) / se0 if se0 > 0 else math.nan
    q = st.norm.ppf(1 - alpha / 2)
    return Comparison(pa, pb, pb - pa, se, pb - pa - q * se, pb - pa + q * se, z, _two_sided_p(z))


ROUNDING = 1e-9   # relative size below which a variance is taken as rounding of an exact zero


def rounding_zero(variance: float, scale: float) -> float:
    """``variance`` as 0.0 when it is within rounding of zero, relative to ``scale`` (the size of the
    terms it was computed from, in the same units); otherwise unchanged. NaN stays NaN.

    Raises ``ValueError`` for a negative variance beyond rounding (a computation error, not data).
    """
    if not math.isfinite(variance) or variance > ROUNDING * abs(scale):
        return variance
    if variance < -ROUNDING * abs(scale):
        raise ValueError(f"negative variance {variance!r} (terms of size {scale!r})")
    return 0.0


def normal_comparison(mean_a: float, var_mean_a: float, mean_b: float, var_mean_b: float,
                      alpha: float = 0.05) -> Comparison:
    """z-test of mean_b - mean_a from the variances of the two estimates (delta method, CUPED).

    A total variance within rounding of zero (relative to the squared means) is zero: the standard
    error is then 0 and the statistic and p-value NaN (nothing to test against).
    """
    total = rounding_zero(var_mean_a + var_mean_b,
                          max(mean_a * mean_a, mean_b * mean_b, abs(var_mean_a), abs(var_mean_b)))
    se = math.sqrt(total) if math.isfinite(total) else math.nan
    diff = mean_b - mean_a
    z = diff / se if se > 0 else math.nan
    q = st.norm.ppf(1 - alpha / 2)
    return Comparison(mean_a, mean_b, diff, se, diff - q * se, diff + q * se, z, _two_sided_p(z))


def ratio_mean(numerator, denominator) -> tuple[float, float]:
    """sum(numerator) / sum(denominator) over members and the delta-method variance of that ratio.

    Members are the randomisation unit, so the ratio of two member-level means is what is
    estimated (Deng, Knoblich and Lu, KDD 2018): Var(X/Y) ~ (s_x^2 - 2 R s_xy + R^2 s_y^2) / (n mu_y^2).
    The numerator is the variance of X - R Y, never negative: within rounding of zero (every member's
    ratio the same, e.g. every order at one price) it is 0.0. Returns (NaN, NaN) for fewer than two
    members or no denominator.
    """
    x, y = np.asarray(numerator, float), np.asarray(denominator, float)
    n = len(x)
    if n < 2 or y.sum() == 0:
        return math.nan, math.nan
    mx, my = x.mean(), y.mean()
    r = mx / my
    c = np.cov(x, y, ddof=1)
    var = (c[0, 0] - 2 * r * c[0, 1] + r * r * c[1, 1]) / (n * my * my)
    scale = (c[0, 0] + 2 * abs(r * c[0, 1]) + r * r * c[1, 1]) / (n * my * my)
    return float(r), float(rounding_zero(float(var), float(scale)))


def relative_lift(mean_a: float, var_mean_a: float, mean_b: float, var_mean_b: float,
                  alpha: float = 0.05) -> tuple[float, float, float]:
    """mean_b / mean_a - 1 with a delta-method interval (independent groups).

    Var(b/a) ~ Var(b)/a^2 + b^2 Var(a)/a^4.
    """
    if not mean_a:
        return math.nan, math.nan, math.nan
    lift = mean_b / mean_a - 1
    se = math.sqrt(var_mean_b / mean_a ** 2 + mean_b ** 2 * var_mean_a / mean_a ** 4)
    q = st.norm.ppf(1 - alpha / 2)
    return lift, lift - q * se, lift + q * se


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p_values, float)
    out = np.full(p.shape, math.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out[order] = adjusted
    return out


def chance_beta(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> float:
    """P(p_b > p_a) with uniform Beta(1, 1) priors, exactly (Evan Miller's closed form).

    P = sum_{i=0}^{alpha_b-1} B(alpha_a+i, beta_a+beta_b) / ((beta_b+i) B(1+i, beta_b) B(alpha_a, beta_a)).
    The sum runs over the variant's successes, in logs for large counts.
    """
    aa, ba = successes_a + 1, trials_a - successes_a + 1
    ab, bb = successes_b + 1, trials_b - successes_b + 1
    i = np.arange(ab)
    terms = (special.betaln(aa + i, ba + bb) - np.log(bb + i) - special.betaln(1 + i, bb)
             - special.betaln(aa, ba))
    return float(np.clip(np.exp(special.logsumexp(terms)), 0.0, 1.0))


def chance_normal(diff: float, se: float) -> float:
    """P(true difference > 0) under a flat prior and a normal likelihood."""
    if not np.isfinite(se) or se <= 0:
        return math.nan
    return float(st.norm.cdf(diff / se))


@dataclass(frozen=True)
class Cuped:
    theta: float
    variance_reduction: float     # 1 - Var(adjusted) / Var(raw), pooled over groups
    adjusted: np.ndarray


def cuped(y, x) -> Cuped:
    """CUPED (Deng, Xu, Kohavi and Walker, WSDM 2013): y - theta (x - mean x), theta = cov(y, x) / var(x).

    ``x`` is each member's value of the metric before assignment; theta is estimated on all
    groups together, so the adjustment is the same for every variant and the difference of
    adjusted means stays unbiased.
    """
    y, x = np.asarray(y, float), np.asarray(x, float)
    vx = x.var(ddof=1)
    if len(y) < 3 or not vx > 0:
        return Cuped(0.0, 0.0, y.copy())
    theta = float(np.cov(y, x, ddof=1)[0, 1] / vx)
    adjusted = y - theta * (x - x.mean())
    vy = y.var(ddof=1)
    return Cuped(theta, float(1 - adjusted.var(ddof=1) / vy) if vy > 0 else 0.0, adjusted)


def winsorize(values, upper_percentile: float) -> tuple[np.ndarray, float]:
    """Cap values above the given percentile (0-100) of themselves; returns the capped values and the cap."""
    v = np.asarray(values, float)
    cap = float(np.percentile(v, upper_percentile)) if len(v) else math.nan
    return np.minimum(v, cap), cap


def srm_test(observed, planned_shares) -> float:
    """Chi-square goodness-of-fit p-value of the observed group sizes against the planned shares."""
    obs = np.asarray(observed, float)
    shares = np.asarray(planned_shares, float)
    if len(obs) < 2 or obs.sum() == 0:
        return math.nan
    expected = obs.sum() * shares / shares.sum()
    return float(st.chisquare(obs, expected).pvalue)


# ---------------------------------------------------------------------- power
def power_proportions(n: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-proportion test with n per group (R ``power.prop.test``, strict = FALSE)."""
    q = st.norm.isf(alpha / 2)
    pbar = (p1 + p2) / 2
    return float(st.norm.cdf((math.sqrt(n) * abs(p1 - p2) - q * math.sqrt(2 * pbar * (1 - pbar)))
                             / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))))


def n_proportions(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Members per group for the two-proportion test to reach ``power`` (R ``power.prop.test``)."""
    if p1 == p2:
        return math.inf
    return float(optimize.brentq(lambda n: power_proportions(n, p1, p2, alpha) - power, 2, 1e12, xtol=1e-9))


def mde_proportions(n: float, p1: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The p2 above p1 that n per group detects with ``power`` (R ``power.prop.test`` solving for p2)."""
    f = lambda p2: power_proportions(n, p1, p2, alpha) - power
    if f(1 - 1e-12) < 0:
        return math.nan
    return float(optimize.brentq(f, p1 + 1e-12, 1 - 1e-12, xtol=1e-12))


def power_means(n: float, delta: float, sd: float = 1.0, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t-test with n per group (R ``power.t.test``, strict = FALSE)."""
    df = 2 * (n - 1)
    ncp = math.sqrt(n / 2) * abs(delta) / sd
    return float(st.nct.sf(st.t.isf(alpha / 2, df), df, ncp))


def n_means(delta: float, sd: float = 1.0, alpha: float = 0.05, power: float = 0.8) -> float:
    """Members per group for the t-test to detect ``delta`` with ``power`` (R ``power.t.test``)."""
    if delta == 0 or sd <= 0:
        return math.inf
    return float(optimize.brentq(lambda n: power_means(n, delta, sd, alpha) - power, 2, 1e12, xtol=1e-9))


def mde_means(n: float, sd: float = 1.0, alpha: float = 0.05, power: float = 0.8) -> float:
    """The difference in means that n per group detects with ``power``."""
    if n < 2 or sd <= 0:
        return math.nan
    return float(optimize.brentq(lambda d: power_means(n, d, sd, alpha) - power, 1e-12 * sd, 100 * sd, xtol=1e-12))


def stratified_difference(y_target, strata_target, y_comparison, strata_comparison,
                          alpha: float = 0.05) -> tuple[Comparison, int]:
    """Target minus a comparison group reweighted to the target's strata (exact matching).

    Within each stratum the difference of means; overall their average weighted by the target's
    share in each stratum, with variance sum w^2 (s_t^2 / n_t + s_c^2 / n_c). Target members in a
    stratum without comparison members cannot be matched: they are left out and counted.
    Returns the comparison (mean_a = reweighted comparison mean, mean_b = matched target mean)
    and the number of unmatched target members.
    """
    t = pd.DataFrame({"y": np.asarray(y_target, float), "s": np.asarray(strata_target)})
    c = pd.DataFrame({"y": np.asarray(y_comparison, float), "s": np.asarray(strata_comparison)})
    gt = t.groupby("s").y.agg(["mean", "var", "size"])
    gc = c.groupby("s").y.agg(["mean", "var", "size"])
    both = gt.add_suffix("_t").join(gc.add_suffix("_c"), how="inner")
    unmatched = int(len(t) - both.size_t.sum())
    if both.empty:
        return Comparison(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan), unmatched
    w = both.size_t / both.size_t.sum()
    # A stratum of one member has no sample variance; count it as the pooled variance of its group.
    vt = both.var_t.fillna(t.y.var(ddof=1)) / both.size_t
    vc = both.var_c.fillna(c.y.var(ddof=1)) / both.size_c
    mean_t, mean_c = float((w * both.mean_t).sum()), float((w * both.mean_c).sum())
    return normal_comparison(mean_c, float((w * w * vc).sum()), mean_t, float((w * w * vt).sum()), alpha), unmatched


# ---------------------------------------------------------------------- type S / type M errors
@dataclass(frozen=True)
class Retrodesign:
    """What a test of given precision does to an effect of a given size (Gelman and Carlin 2014)."""

    power: float          # chance the two-sided test is significant
    type_s: float         # chance a significant estimate has the wrong sign
    exaggeration: float   # expected |estimate| / |true effect| among significant estimates (type M)


def retrodesign(true_effect: float, se: float, alpha: float = 0.05) -> Retrodesign:
    """Power, type S error and exaggeration ratio of a two-sided z-test for a hypothesised true effect.

    The estimate is taken as normal around ``true_effect`` with standard error ``se`` (both in the
    units of the difference, e.g. percentage points of conversion), and significant when
    ``|estimate| > z * se`` with ``z`` the normal quantile at ``1 - alpha / 2``. With
    ``lam = |true_effect| / se``, ``power = Phi(-z - lam) + 1 - Phi(z - lam)``,
    ``type_s = Phi(-z - lam) / power``, and the exaggeration ratio is
    ``E[|estimate| | significant] / |true_effect|``, in closed form from the truncated normal's mean:
    ``(lam (Phi(z + lam) - Phi(z - lam)) + phi(z - lam) + phi(z + lam)) / (lam * power)``.

    This is Gelman and Carlin's ``retrodesign`` ("Beyond power calculations: assessing type S (sign)
    and type M (magnitude) errors", Perspectives on Psychological Science 9(6), 2014), which
    simulates the expectation; the closed form is Lu, Qiu and Deng ("A note on type S/M errors in
    hypothesis testing", BJMSP 72(1), 2019). Raises ``ValueError`` for a true effect of zero (no
    ratio exists), a standard error that is not positive and finite, or ``alpha`` outside (0, 1).
    """
    if not (math.isfinite(se) and se > 0):
        raise ValueError(f"retrodesign needs a positive, finite standard error, got {se!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if not true_effect or not math.isfinite(true_effect):
        raise ValueError(f"retrodesign needs a non-zero, finite true effect, got {true_effect!r}")
    lam, z = abs(true_effect) / se, float(st.norm.isf(alpha / 2))
    low, high = float(st.norm.cdf(-z - lam)), float(st.norm.sf(z - lam))
    power = low + high
    mean_abs = lam * (high - low) + float(st.norm.pdf(z - lam)) + float(st.norm.pdf(z + lam))
    return Retrodesign(power, low / power, mean_abs / (lam * power))
