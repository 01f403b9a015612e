"""The shared statistics against published reference values (each source named in its test) and,
where no published number exists, against a known ground truth (exact integration, simulation)."""
import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as st

from memberkit import stats

# R's `sleep` data (stats package), extra hours of sleep by drug group.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def sig3(x: float) -> float:
    return float(f"{x:.3g}")


def test_welch_matches_r_t_test_on_sleep():
    """R documentation ?t.test, example `t.test(extra ~ group, data = sleep)` (Welch Two Sample t-test):
    t = -1.8608, df = 17.776, p-value = 0.07939, 95% CI -3.3654832 0.2054832 (group 1 minus group 2)."""
    r = stats.welch_arrays(SLEEP_2, SLEEP_1)     # b - a = group 1 - group 2, as R reports it
    assert sig3(r.statistic) == -1.86
    assert sig3(r.df) == 17.8
    assert sig3(r.p_value) == 0.0794
    assert sig3(r.ci_low) == -3.37 and sig3(r.ci_high) == 0.205


def test_two_proportions_matches_statsmodels_proportions_ztest():
    """statsmodels documentation, proportions_ztest example: count = [5, 12], nobs = [83, 99]
    gives a two-sided p-value of 0.159 (pooled standard error)."""
    r = stats.two_proportions(5, 83, 12, 99)
    assert sig3(r.p_value) == 0.159
    # The interval uses the unpooled standard error: check it by hand.
    p1, p2 = 5 / 83, 12 / 99
    se = math.sqrt(p1 * (1 - p1) / 83 + p2 * (1 - p2) / 99)
    assert r.ci_high - r.ci_low == pytest.approx(2 * 1.959964 * se, rel=1e-6)


def test_srm_matches_r_chisq_test():
    """R documentation ?chisq.test examples: x = c(A = 20, B = 15, C = 25) against equal shares gives
    p-value = 0.2865; x = c(89, 37, 30, 28, 2) with p = c(40, 20, 20, 15, 5), rescale.p = TRUE
    gives X-squared = 9.9901, p-value = 0.04059."""
    assert sig3(stats.srm_test([20, 15, 25], [1, 1, 1])) == 0.287
    assert sig3(stats.srm_test([89, 37, 30, 28, 2], [40, 20, 20, 15, 5])) == 0.0406


def test_power_proportions_matches_r_power_prop_test():
    """R documentation ?power.prop.test examples: power.prop.test(n = 50, p1 = .50, p2 = .75) => power = 0.740;
    power.prop.test(p1 = .50, p2 = .75, power = .90) => n = 76.7;
    power.prop.test(n = 50, p1 = .5, power = .90) => p2 = 0.8026."""
    assert sig3(stats.power_proportions(50, 0.5, 0.75)) == 0.740
    assert sig3(stats.n_proportions(0.5, 0.75, power=0.9)) == 76.7
    assert sig3(stats.mde_proportions(50, 0.5, power=0.9)) == 0.803


def test_power_means_matches_r_power_t_test():
    """R documentation ?power.t.test examples: power.t.test(n = 20, delta = 1) gives power = 0.8689528;
    power.t.test(power = .90, delta = 1) gives n = 22.02110."""
    assert sig3(stats.power_means(20, 1.0)) == 0.869
    assert sig3(stats.n_means(1.0, power=0.9)) == 22.0
    # The detectable difference is the inverse of the power function.
    d = stats.mde_means(20, power=0.9)
    assert stats.power_means(20, d) == pytest.approx(0.9, abs=1e-9)


def test_holm_matches_the_worked_example():
    """Wikipedia, Holm-Bonferroni method, example: four p-values 0.01, 0.04, 0.03, 0.005 at alpha 0.05
    reject the hypotheses with 0.01 and 0.005 only. Adjusted by hand: sorted 0.005 x 4 = 0.02,
    0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> 0.06 (monotone)."""
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert (adjusted < 0.05).tolist() == [True, False, False, True]
    assert np.isnan(stats.holm([0.01, math.nan])[1]) and stats.holm([0.01, math.nan])[0] == 0.01


@pytest.mark.parametrize("xa,na,xb,nb", [(100, 1000, 120, 1000), (3, 40, 9, 45), (700, 3025, 777, 2975)])
def test_chance_beta_equals_numerical_integration(xa, na, xb, nb):
    """Ground truth: P(p_b > p_a) = integral of f_a(x) P(p_b > x) dx for the Beta(1 + x, 1 + n - x) posteriors."""
    a, b = st.beta(1 + xa, 1 + na - xa), st.beta(1 + xb, 1 + nb - xb)
    exact, _ = integrate.quad(lambda x: a.pdf(x) * b.sf(x), 0, 1, limit=200, points=[xa / na, xb / nb])
    assert stats.chance_beta(xa, na, xb, nb) == pytest.approx(exact, abs=1e-7)
    assert stats.chance_beta(50, 500, 50, 500) == pytest.approx(0.5, abs=1e-9)


def test_ratio_delta_method_reduces_to_the_mean_and_covers_the_true_ratio():
    rng = np.random.default_rng(1)
    x = rng.gamma(2, 50, 500)
    _, var = stats.ratio_mean(x, np.ones_like(x))
    assert var == pytest.approx(x.var(ddof=1) / len(x), rel=1e-12)
    # Ground truth: orders ~ 1 + Poisson(0.5), revenue = sum of orders of mean 100 each -> true AOV 100.
    covered = 0
    for _ in range(1000):
        orders = 1 + rng.poisson(0.5, 400)
        revenue = rng.gamma(4 * orders, 25)
        r, v = stats.ratio_mean(revenue, orders)
        covered += abs(r - 100) <= 1.959964 * math.sqrt(v)
    assert 0.93 <= covered / 1000 <= 0.97


def test_relative_lift_interval_covers_the_true_lift():
    """Ground truth by simulation: means 10 and 11 (true lift +10%), 95% intervals cover about 95%."""
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(1000):
        a, b = rng.exponential(10, 2000), rng.exponential(11, 2000)
        lift, lo, hi = stats.relative_lift(a.mean(), a.var(ddof=1) / 2000, b.mean(), b.var(ddof=1) / 2000)
        covered += lo <= 0.1 <= hi
    assert 0.93 <= covered / 1000 <= 0.97


def test_cuped_removes_the_squared_correlation_and_stays_unbiased():
    """Deng et al. (2013): with covariate correlation rho the variance falls by rho^2; ground truth rho = 0.6."""
    rng = np.random.default_rng(3)
    n = 40_000
    x = rng.normal(0, 1, n)
    y = 0.6 * x + 0.8 * rng.normal(0, 1, n)          # corr(x, y) = 0.6
    treated = rng.random(n) < 0.5
    y = y + 0.05 * treated
    c = stats.cuped(y, x)
    assert c.theta == pytest.approx(0.6, abs=0.02)
    assert c.variance_reduction == pytest.approx(0.36, abs=0.02)
    diff = c.adjusted[treated].mean() - c.adjusted[~treated].mean()
    se = math.sqrt(c.adjusted[treated].var() / treated.sum() + c.adjusted[~treated].var() / (~treated).sum())
    assert abs(diff - 0.05) < 3 * se


def test_winsorize_caps_at_the_percentile():
    capped, cap = stats.winsorize(np.arange(1, 101, dtype=float), 95)
    assert cap == pytest.approx(95.05)
    assert capped.max() == cap and capped[:94].tolist() == list(np.arange(1, 95, dtype=float))


def test_stratified_difference_on_a_hand_computed_case():
    """Stratum a: target 2, 4 (mean 3) vs comparison 1, 1, 1, 3 (mean 1.5); stratum b: target 10 vs
    comparison 6, 8 (mean 7); stratum c has only comparison members. Weights 2/3 and 1/3 from the target:
    difference 2/3 * 1.5 + 1/3 * 3 = 2. A target member in stratum d has no match and is counted."""
    r, unmatched = stats.stratified_difference([2, 4, 10, 99], ["a", "a", "b", "d"],
                                               [1, 1, 1, 3, 6, 8, 50], ["a", "a", "a", "a", "b", "b", "c"])
    assert r.diff == pytest.approx(2.0) and unmatched == 1
    assert r.mean_b == pytest.approx(2 / 3 * 3 + 1 / 3 * 10) and r.mean_a == pytest.approx(2 / 3 * 1.5 + 1 / 3 * 7)
    # variance: (2/3)^2 (2/2 + 1/4) + (1/3)^2 (s^2_target(one member -> pooled over targets)/1 + 2/2)
    pooled_target = np.var([2, 4, 10, 99], ddof=1)
    var = (2 / 3) ** 2 * (2 / 2 + 1 / 4) + (1 / 3) ** 2 * (pooled_target / 1 + 2 / 2)
    assert r.se == pytest.approx(math.sqrt(var))


def test_retrodesign_matches_gelman_and_carlin_and_a_simulation():
    # Gelman and Carlin (2014), the beauty and sex ratio example: true effect 0.1, standard error 3.3 ->
    # power 0.05 and a 46% chance that a significant estimate has the wrong sign.
    r = stats.retrodesign(0.1, 3.28)
    assert round(r.power, 2) == 0.05 and round(r.type_s, 2) == 0.46
    # the exaggeration ratio against their retrodesign's own recipe: simulate estimates, keep the significant ones
    rng = np.random.default_rng(7)
    for effect, se in ((0.1, 3.28), (2.0, 8.1), (1.0, 1.0), (2.8, 1.0)):
        est = rng.normal(effect, se, 2_000_000)
        significant = np.abs(est) > 1.959964 * se
        assert stats.retrodesign(effect, se).power == pytest.approx(significant.mean(), rel=0.02)
        assert stats.retrodesign(effect, se).exaggeration == pytest.approx(
            np.abs(est[significant]).mean() / effect, rel=0.02)
    assert stats.retrodesign(40.0, 1.0).exaggeration == pytest.approx(1.0)     # a huge test does not exaggerate
    with pytest.raises(ValueError):
        stats.retrodesign(0.0, 1.0)
