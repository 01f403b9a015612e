"""The ledger: last month's decisions followed up and its forecast scored (memberkit.ledger).

The forecast scoring is checked against a known truth: purchases simulated from BG/NBD and
Pareto/NBD parameters, scored with those parameters, must agree with what the simulation did within
sampling error (and a wrong parameter must not). The follow-ups are checked on the sample retailer
with its planted follow-ups (slow: two monthly runs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from memberkit import ledger

ROOT = Path(__file__).resolve().parents[1]
CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}      # Fader, Hardie and Lee (2005), weeks
PNBD = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}        # Pareto/NBD on CDNOW (note 009), weeks


def simulate(model: str, params: dict, n: int, horizon: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members whose first purchase is at 0, observed for T weeks (20 to 78, each its own), then ``horizon``
    more weeks: their (x, t_x, T) and the purchases they made after T."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    T = rng.uniform(20, 78, n)
    if model == "bgnbd":
        p = rng.beta(params["a"], params["b"], n)
        death = np.full(n, np.inf)
    else:
        death = rng.exponential(1 / rng.gamma(params["s"], 1 / params["beta"], n))
    t, x, tx, after = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        a = np.flatnonzero(alive)
        t[a] += rng.exponential(1 / lam[a])
        gone = (t[a] > T[a] + horizon) | (t[a] > death[a])
        alive[a[gone]] = False
        a = a[~gone]
        cal = t[a] <= T[a]
        x[a[cal]] += 1
        tx[a[cal]] = t[a[cal]]
        after[a[~cal]] += 1
        if model == "bgnbd":
            alive[a[rng.random(len(a)) < p[a]]] = False
    ids = [f"m{i:06d}" for i in range(n)]
    members = pd.DataFrame({"member_id": ids, "frequency": x, "recency": tx, "T": T, "expected_spend": 1.0,
                            "segment": np.where(x > 0, "repeat", "one_off"), "tier": "all"})
    actual = pd.DataFrame({"member_id": ids, "purchases": after, "spend": after})
    return members, actual[actual.purchases > 0].reset_index(drop=True)


@pytest.mark.parametrize("model, params", [("bgnbd", CDNOW), ("pareto_nbd", PNBD)])
def test_scored_forecast_agrees_with_purchases_simulated_from_known_parameters(model, params):
    horizon = 8.0
    members, actual = simulate(model, params, 20_000, horizon, seed=26)
    s = ledger.score_forecast(members, model, params, horizon, actual)
    got = actual.set_index("member_id").purchases.reindex(members.member_id).fillna(0).to_numpy()
    # expected purchases: the sum of the per-member conditional expectations, within sampling error
    from memberkit.clv import expected_purchases_of
    pred = expected_purchases_of(model, params, horizon, members.frequency, members.recency, members["T"])
    z = (got.sum() - pred.sum()) / np.sqrt(((got - pred) ** 2).sum())
    assert abs(z) < 4, (z, s["purchases"])
    assert s["purchases"]["predicted"] == pytest.approx(pred.sum()) and s["purchases"]["actual"] == got.sum()
    # the chance of at least one purchase: who bought agrees with it in total and in every well-filled bin
    p_any = ledger.probability_any_purchase(model, params, horizon, members.frequency, members.recency, members["T"])
    assert abs(s["buyers"]["actual"] - p_any.sum()) < 4 * np.sqrt((p_any * (1 - p_any)).sum())
    filled = [b for b in s["calibration"] if b["members"] >= 300]
    assert len(filled) >= 3
    for b in filled:
        se = np.sqrt(b["predicted"] * (1 - b["predicted"]) / b["members"])
        assert abs(b["observed"] - b["predicted"]) < 4 * se + 1e-9, b
    assert set(s["by_segment"]) == {"one_off", "repeat"} and s["by_tier"]["all"]["members"] == 20_000
    # a forecast with the wrong purchase rate (r doubled: 10 to 20% more purchases) fails the same check
    wrong = {**params, "r": params["r"] * 2}
    pred_wrong = expected_purchases_of(model, wrong, horizon, members.frequency, members.recency, members["T"])
    assert abs((got.sum() - pred_wrong.sum()) / np.sqrt(((got - pred_wrong) ** 2).sum())) > 4


def test_chance_of_a_purchase_follows_the_closed_forms():
    # a member who never repeated is alive under BG/NBD: P(none in t) = (alpha / (alpha + t))^r
    p = ledger.probability_any_purchase("bgnbd", CDNOW, 10.0, 0, 0, 30)
    assert p[0] == pytest.approx(1 - ((CDNOW["alpha"] + 30) / (CDNOW["alpha"] + 40)) ** CDNOW["r"])
    # Pareto/NBD: lifetimes' own P(no purchase in t), for several histories
    import lifetimes
    fitter = lifetimes.ParetoNBDFitter()
    fitter.params_ = pd.Series(PNBD)
    for x, tx, T in ((0, 0, 30), (2, 10, 40), (5, 35, 39), (1, 3, 50)):
        theirs = 1 - fitter.conditional_probability_of_n_purchases_up_to_time(0, 8.0, x, tx, T)
        assert ledger.probability_any_purchase("pareto_nbd", PNBD, 8.0, x, tx, T)[0] == pytest.approx(theirs, rel=1e-9)
    # no time, no purchase; a long time: the chance tends to P(alive)
    from memberkit.clv import probability_alive_of
    assert ledger.probability_any_purchase("pareto_nbd", PNBD, 0.0, 3, 20, 40)[0] == pytest.approx(0, abs=1e-9)
    alive = probability_alive_of("bgnbd", CDNOW, np.array([3.0]), np.array([20.0]), np.array([40.0]))[0]
    assert ledger.probability_any_purchase("bgnbd", CDNOW, 1e6, 3, 20, 40)[0] == pytest.approx(alive, rel=1e-3)


def test_drift_band_comes_from_six_scored_months_else_the_holdout_else_none():
    now = {"a": {"error": 0.30, "se": 0.05}, "b": {"error": 0.02, "se": 0.05}, "c": {"error": 0.1, "se": 0.1}}
    history = [{"by_segment": {"a": {"error": e}}} for e in (0.0, 0.02, -0.02, 0.01, -0.01, 0.0)]
    d = ledger.drift(now, history, {"b": {"error": 0.0}})
    assert d["a"]["basis"] == "history" and d["a"]["months"] == 6 and d["a"]["alarm"] is True
    assert d["b"]["basis"] == "holdout" and d["b"]["low"] == pytest.approx(-0.15) and d["b"]["alarm"] is False
    assert d["c"]["basis"] == "none" and d["c"]["alarm"] is None
    five = ledger.drift(now, history[:5], None)
    assert five["a"]["basis"] == "none"


def test_follow_ups_of_campaigns_and_experiments():
    import datetime as dt
    after, end = dt.date(2026, 10, 31), dt.date(2026, 11, 30)
    campaigns = pd.DataFrame({"campaign_id": ["C1", "C2", "C3"], "name": ["a", "b", "c"],
                              "type": ["member_day", "member_day", "coupon"],
                              "start": pd.to_datetime(["2026-10-01", "2026-11-05", "2026-11-02"]),
                              "end": pd.to_datetime(["2026-10-07", "2026-11-11", "2026-11-09"]), "cost": [1.0, 2.0, 3.0]})
    entry = {"subject": "C1", "type": "member_day"}
    f = ledger.campaign_follow_up(entry, campaigns, after, end)
    assert f["status"] == "run_again" and [c["campaign_id"] for c in f["campaigns"]] == ["C2"]
    assert ledger.campaign_follow_up({"subject": "C3", "type": "markdown"}, campaigns, after, end)["status"] == "not_run_again"
    a = pd.DataFrame({"experiment_id": ["E"] * 4 + ["F"], "member_id": list("abcde"),
                      "variant": ["control", "push", "push", "control", "x"],
                      "assigned_ts": pd.to_datetime(["2026-06-01", "2026-06-01", "2026-11-03", "2026-11-12", "2026-11-28"])})
    e = ledger.experiment_follow_up({"subject": "E"}, a, after, end)
    assert e["status"] == "ended" and e["assigned"] == 2 and e["last"] == "2026-11-12"
    assert e["variants"]["push"] == {"assigned": 1, "last": "2026-11-03"}
    assert ledger.experiment_follow_up({"subject": "F"}, a, after, end)["status"] == "continuing"
    assert ledger.experiment_follow_up({"subject": "G"}, a, after, end)["status"] == "not_found"
    assert ledger.experiment_follow_up({"subject": "E"}, a[a.assigned_ts.dt.month == 6], after, end)["status"] == "ended_before"


# ------------------------------------------------------------------ the sample retailer, two months
def _run(config: Path, out: Path, period: str, as_of: str, *extra) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    return subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(config), "--out",
                           str(out / period), "--period", period, "-p", f"as_of={as_of}", *extra],
                          capture_output=True, text=True, env=env, timeout=1200, check=False)


@pytest.fixture(scope="module")
def two_months(tmp_path_factory):
    """The sample retailer (5,000 people) with its planted follow-ups, October then November run."""
    import yaml
    from memberkit.sample import SampleSpec, generate_sample
    folder = tmp_path_factory.mktemp("followups")
    truth = generate_sample(folder / "data", n_members=5000, seed=20241, spec=SampleSpec(follow_ups=True))
    config = folder / "fu.yaml"
    config.write_text(yaml.safe_dump({"source": {"base_dir": str(folder / "data"), "sample": None}}), encoding="utf-8")
    out = folder / "outputs"
    for period, as_of in (("2026-10", "2026-11-01"), ("2026-11", "2026-12-01")):
        proc = _run(config, out, period, as_of)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, truth, config


@pytest.mark.slow
def test_the_ledger_finds_each_planted_follow_up(two_months):
    out, truth, _ = two_months
    fu = truth["follow_ups"]
    october = json.loads((out / "2026-10" / "ledger.json").read_text(encoding="utf-8"))
    assert october["state"] == "previous_not_run"           # September was never run, and the page says so
    assert "September 2026 was never reported" in (out / "2026-10" / "en" / "index.html").read_text(encoding="utf-8")
    d = json.loads((out / "2026-11" / "ledger.json").read_text(encoding="utf-8"))
    assert d["state"] == "ok" and d["previous"] == "2026-10"
    by_id = {e["id"]: e for e in d["decisions"]}
    # the repeated campaign: one of the same type after C2610
    c = by_id["2026-10:campaign:C2610"]
    assert c["type"] == fu["campaign"]["type"] and c["follow_up"]["status"] == "run_again"
    assert [x["campaign_id"] for x in c["follow_up"]["campaigns"]] == [fu["campaign"]["campaign_id"]]
    # the experiment whose assignments end
    x = by_id[f"2026-10:experiment:{fu['experiment']['experiment_id']}"]
    assert x["follow_up"]["status"] == "ended" and x["follow_up"]["last"] == fu["experiment"]["last"]
    assert x["follow_up"]["assigned"] == fu["experiment"]["assigned"]
    # the win-back list bought again more than comparable members off the list
    w = by_id["2026-10:at_risk:high_value"]["follow_up"]
    assert w["status"] == "compared" and w["ci_low"] > 0 and w["list_share"] > w["list_expected"]
    # the forecast was scored over the weeks since October's end, and the CLV page shows it
    f = d["forecast"]
    assert f["state"] == "ok" and f["forecast_period"] == "2026-10" and f["elapsed"] == pytest.approx(30 / 7)
    assert len(f["history"]) == 1 and f["drift"]
    clv_page = (out / "2026-11" / "en" / "clv_forecast.html").read_text(encoding="utf-8")
    assert 'id="track-record"' in clv_page and "October 2026's forecast over the 4.3 weeks since" in clv_page
    page = (out / "2026-11" / "en" / "index.html").read_text(encoding="utf-8")
    assert 'data-decision="2026-10:campaign:C2610"' in page and "What became of last month" in page


@pytest.mark.slow
def test_the_ledger_is_rebuilt_byte_identical_and_in_chinese(two_months):
    out, _, config = two_months
    before = (out / "2026-11" / "ledger.json").read_bytes()
    (out / "2026-11" / "ledger.json").unlink()
    proc = _run(config, out, "2026-11", "2026-12-01", "--only", "ab_test", "-p", "language=zh")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # a Chinese run says what it prepared in Chinese (it said "the ledger in ... prepared it itself" in English)
    assert "中的决定跟踪记录尚不存在，本次运行已自行生成（" in proc.stdout and "prepared" not in proc.stdout
    assert (out / "2026-11" / "ledger.json").read_bytes() == before
    page = (out / "2026-11" / "zh" / "index.html").read_text(encoding="utf-8")
    assert "上月决定的后续" in page and 'data-decision="2026-10:at_risk:high_value"' in page


def test_an_experiment_without_assignment_times_is_undated():
    import datetime as dt
    a = pd.DataFrame({"experiment_id": ["E", "E"], "member_id": ["a", "b"], "variant": ["x", "y"],
                      "assigned_ts": pd.to_datetime([None, None])})
    assert ledger.experiment_follow_up({"subject": "E"}, a, dt.date(2026, 10, 31), dt.date(2026, 11, 30))["status"] == "undated"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_section_words_the_ledger_and_escapes_its_data(language):
    """The section on the summary page, from a ledger as month M+1 writes it: an experiment id from the
    shop's data is escaped where the page is made; month M never run is said in both languages."""
    from memberkit.month import MonthSummary
    from memberkit.views.month import render_summary
    decisions = [{"id": "2026-10:experiment:<img src=x>", "kind": "experiment", "action": "ship",
                  "subject": "<img src=x>", "follow_up": {"status": "ended", "assigned": 12, "last": "2026-11-12"}}]
    data = {"period": "2026-11", "previous": "2026-10", "state": "ok", "decisions": decisions,
            "forecast": {"state": "no_forecast"}}
    page = render_summary(MonthSummary("2026-11", language, "CNY", [], None, ledger=data))
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page and 'id="mk-ledger"' in page
    never = render_summary(MonthSummary("2026-11", language, "CNY", [], None,
                                        ledger={"period": "2026-11", "previous": "2026-10", "state": "previous_not_run"}))
    assert ("October 2026 was never reported" if language == "en" else "2026年10月尚未出报告") in never


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_ledger_state_reaches_a_page_or_the_runs_lines_as_its_code(language):
    """Issue 23: a Chinese run's line read '决策跟进（previous_not_run）'. Every state of ledger.json has words in
    both catalogues; neither the run's line nor the summary page shows a state's code."""
    import re
    from memberkit.month import MonthSummary
    from memberkit.runner import said
    from memberkit.views.month import render_summary
    for state in ledger.STATES:
        data = {"period": "2026-11", "previous": "2026-10", "state": state, "decisions": [],
                "forecast": {"state": state if state != "ok" else "no_forecast"}, "error": "OSError: disk"}
        line = said("ledger_failed" if state == "failed" else "ledger_done", language,
                    state=said(f"ledger_state_{state}", language), seconds=0.1, error=data["error"])
        page = re.sub(r"<style.*?</style>|<[^>]+>", " ", render_summary(MonthSummary("2026-11", language, "CNY", [], None,
                                                                                      ledger=data)), flags=re.S)
        for shown in (line, page):
            codes = [c for c in ledger.STATES if "_" in c or language == "zh"]
            assert not any(re.search(rf"(?<![\w-]){c}(?![\w-])", shown) for c in codes), (state, shown[:300])


def test_a_month_published_under_the_former_segment_codes_is_read_under_the_new_ones(tmp_path):
    """Segments renamed so that each code says what its label says (important_retain -> important_lapsing):
    the previous month's member file and its by-segment errors still meet this month's codes."""
    from memberkit import ledger as L
    (tmp_path / "data").mkdir()
    pd.DataFrame({"member_id": ["1", "2", "3"], "segment": ["important_retain", "general_win_back", None]}).to_csv(
        tmp_path / "data" / "clv_members.csv", index=False, encoding="utf-8-sig")
    members = L._read_members(tmp_path)
    assert members.segment.tolist()[:2] == ["important_lapsing", "general_at_risk"] and pd.isna(members.segment[2])
    assert L._current_codes({"important_win_back": {"error": 0.1}}) == {"important_at_risk": {"error": 0.1}}
