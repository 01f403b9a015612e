"""The next campaign's targets (memberkit.uplift): Qini and AUUC against values worked out by hand,
the learners against a planted effect, the list and its holdout, and on the sample retailer with
``response_by_channel`` on, the list's true incremental margin against the RFM list's."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from memberkit import uplift

from .conftest import ROOT, cleaned

# four rows, best score first: targeted 10, holdout 2, targeted 6, holdout 4
SCORE, TREATED, OUTCOME = np.array([4.0, 3, 2, 1]), np.array([1, 0, 1, 0]), np.array([10.0, 2, 6, 4])


def test_qini_curve_and_coefficient_by_hand():
    # Q(k) = Y_t - Y_c N_t / N_c: 10 (no holdout yet), 10 - 2, 16 - 2 * 2, 16 - 6 * 2 / 2
    x, q = uplift.qini_curve(SCORE, TREATED, OUTCOME)
    assert x.tolist() == [0, 0.25, 0.5, 0.75, 1] and q.tolist() == [0, 10, 8, 12, 10]
    # area 0.25 * (5 + 9 + 10 + 11) = 8.75; random targeting's line 10 / 2 = 5; per row: 3.75 / 4
    assert uplift.qini_coefficient(SCORE, TREATED, OUTCOME) == pytest.approx(0.9375, abs=1e-12)
    # the reversed ranking: 0 - 4 * 0 / 1, 6 - 4, 6 - 6 * 1 / 2, 16 - 6; area 0.25 * (0 + 1 + 2.5 + 6.5) = 2.5
    x, q = uplift.qini_curve(-SCORE, TREATED, OUTCOME)
    assert q.tolist() == [0, 0, 2, 3, 10]
    assert uplift.qini_coefficient(-SCORE, TREATED, OUTCOME) == pytest.approx((2.5 - 5) / 4, abs=1e-12)


def test_auuc_by_hand():
    # U(k) = (Y_t/N_t - Y_c/N_c)(N_t + N_c): (10 - 0) 1, (10 - 2) 2, (8 - 2) 3, (8 - 3) 4
    x, u = uplift.uplift_curve(SCORE, TREATED, OUTCOME)
    assert u.tolist() == [0, 10, 16, 18, 20]
    # area 0.25 * (5 + 13 + 17 + 19) = 13.5, per row 3.375
    assert uplift.auuc(SCORE, TREATED, OUTCOME) == pytest.approx(3.375, abs=1e-12)
    assert np.isnan(uplift.auuc(np.array([]), np.array([]), np.array([])))


def test_tied_scores_are_one_block_whatever_their_order():
    tied = np.array([2.0, 2, 1, 1])
    x, q = uplift.qini_curve(tied, TREATED, OUTCOME)
    assert x.tolist() == [0, 0.5, 1] and q.tolist() == [0, 8, 10]
    assert uplift.qini_coefficient(tied, TREATED, OUTCOME) == pytest.approx((0.5 * (4 + 9) - 5) / 4)
    swap = [1, 0, 3, 2]        # rows in another order within each tie group
    assert uplift.qini_coefficient(tied[swap], TREATED[swap], OUTCOME[swap]) == uplift.qini_coefficient(tied, TREATED, OUTCOME)
    assert uplift.auuc(tied[swap], TREATED[swap], OUTCOME[swap]) == uplift.auuc(tied, TREATED, OUTCOME)


def test_uplift_at_k_by_hand():
    # the top k rows: targeted mean minus holdout mean; k = 1 has no holdout row
    assert np.isnan(uplift.uplift_at_k(SCORE, TREATED, OUTCOME, 1))
    assert uplift.uplift_at_k(SCORE, TREATED, OUTCOME, 2) == pytest.approx(10 - 2)
    assert uplift.uplift_at_k(SCORE, TREATED, OUTCOME, 3) == pytest.approx((10 + 6) / 2 - 2)
    assert uplift.uplift_at_k(SCORE, TREATED, OUTCOME, 4) == pytest.approx(8 - 3)
    # the reversed ranking: holdout 4, targeted 6, holdout 2: 6 - 3
    assert uplift.uplift_at_k(-SCORE, TREATED, OUTCOME, 3) == pytest.approx(6 - 3)
    with pytest.raises(ValueError, match="k must be in 1..4"):
        uplift.uplift_at_k(SCORE, TREATED, OUTCOME, 0)
    # the curve over shares: the same figures, net of a cost of 1 per row and times the share taken
    g = uplift.measured_gain(SCORE, TREATED, OUTCOME, 1.0, shares=(0.5, 0.75, 1.0), bootstraps=50, min_rows=1)
    assert g.uplift[:, 0].tolist() == pytest.approx([8, 6, 5])
    assert g.net[:, 0].tolist() == pytest.approx([0.5 * 7, 0.75 * 5, 1.0 * 4])
    assert g.rows.tolist() == [[1, 1], [2, 1], [2, 2]]
    # deciles of 4 rows: the first two deciles hold no row, so nothing is measured there
    assert g.calibration.rows.sum() == 4 and len(g.calibration) == 10


def test_uplift_at_k_takes_tied_scores_in_a_seeded_random_order_not_the_rows_order():
    n = 4000
    rng = np.random.default_rng(0)
    treated = (rng.random(n) < 0.5).astype(int)
    outcome = np.where(np.arange(n) < n // 2, 10.0, 0.0) * treated     # the first half of the rows respond
    tied = np.zeros(n)
    # a tie block cut in half: in the rows' order the first half would show an uplift of 10, at random about 5
    assert uplift.uplift_at_k(tied, treated, outcome, n // 2) == pytest.approx(5, abs=0.6)
    assert uplift.uplift_at_k(tied, treated, outcome, n // 2, seed=1) != uplift.uplift_at_k(tied, treated, outcome, n // 2)


def _planted(n: int, seed: int) -> pd.DataFrame:
    """Rows whose true effect is 0.3 orders for app members and none for the others, on an outcome
    driven mostly by frequency (what RFM sees)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"campaign_id": "C1", "member_id": [f"M{i:05d}" for i in range(n)],
                          "treated": (rng.random(n) < 0.8).astype(int),
                          "recency_days": rng.integers(1, 400, n).astype(float),
                          "frequency": rng.poisson(2, n).astype(float), "monetary": rng.gamma(2, 100, n),
                          "order_value": rng.gamma(5, 40, n), "past_responses": 0.0, "days_as_member": 300.0,
                          "segment": rng.choice(["a", "b"], n), "tier": "t", "region": "r",
                          "channel": rng.choice(["app", "online", "offline"], n)})
    effect = np.where(frame.channel == "app", 0.3, 0.0)
    frame["orders"] = rng.poisson(0.1 * frame.frequency + effect * frame.treated).astype(float)
    frame["value"] = frame.orders * frame.order_value * 0.3
    return frame


@pytest.mark.parametrize("learner", [uplift.XLearner, uplift.TLearner])
def test_learners_recover_a_planted_effect_by_channel(learner):
    rows = _planted(6000, 3)
    fitted = learner(seed=0).fit(rows)
    test = _planted(3000, 4)
    by_channel = pd.Series(fitted.uplift(test)).groupby(test.channel.to_numpy()).mean()
    assert by_channel["app"] == pytest.approx(0.3, abs=0.08)
    assert abs(by_channel["offline"]) < 0.08 and abs(by_channel["online"]) < 0.08
    assert fitted.uplift(test).shape == (3000,)
    with pytest.raises(ValueError, match="at least 20 targeted and holdout rows"):
        learner().fit(rows.head(30))


def test_validation_prefers_the_model_only_when_it_finds_what_rfm_cannot():
    rows = _planted(6000, 5)
    v = uplift.validate(rows, 0.3, bootstraps=100)
    assert v.model_is_better and v.difference[1] > 0 and v.auuc_difference[0] > 0
    assert v.rows == 6000 and v.holdout_rows == int((rows.treated == 0).sum())
    # the effect by segment instead (what RFM sees), every order worth the same: nothing is left for
    # the model to find, and it is not recommended over the segment rule
    flat = rows.assign(order_value=100.0, orders=np.random.default_rng(6).poisson(
        0.1 * rows.frequency + 0.3 * rows.treated * (rows.segment == "a")).astype(float))
    flat["value"] = flat.orders * flat.order_value * 0.3
    assert not uplift.validate(flat, 0.3, bootstraps=100).model_is_better


def _known_truth(n: int, seed: int, effect) -> pd.DataFrame:
    """:func:`_planted`'s rows with ``effect(rows)`` extra orders for the targeted and each row's true
    incremental margin (``truth``: effect x order value x margin 0.3, currency)."""
    rows = _planted(n, seed)
    e = np.asarray(effect(rows), dtype="float64")
    rows["orders"] = np.random.default_rng([seed, 9]).poisson(0.1 * rows.frequency + e * rows.treated).astype(float)
    rows["value"] = rows.orders * rows.order_value * 0.3
    rows["truth"] = e * rows.order_value * 0.3
    return rows


@pytest.mark.parametrize("case", ["by_channel", "everyone"])
@pytest.mark.parametrize("seed", [11, 12])
def test_the_measured_gain_covers_the_true_incremental_margin_of_the_members_it_takes(case, seed):
    """Out of fold, the top share's incremental margin per member less the cost: its interval covers the
    rows' true incremental margin less the cost, for the model's ranking and the RFM rule's."""
    effect = {"by_channel": lambda r: np.where(r.channel == "app", 0.3, 0.0),
              "everyone": lambda r: np.full(len(r), 0.2)}[case]
    rows = _known_truth(6000, seed, effect)
    model, rule = uplift.out_of_fold_scores(rows, 0.3)
    cost = 2.0
    for score in (model, rule):
        g = uplift.measured_gain(score, rows.treated, rows.value, cost)
        assert g.share > 0, "a campaign that truly pays gets a list"
        top = uplift.ranked(score)[:int(round(g.share * len(rows)))]
        truth = rows.truth.to_numpy()[top].mean() - cost
        value, lo, hi = g.per_member
        assert lo <= truth <= hi, (case, seed, g.share, g.per_member, truth)
        assert g.net[g.index(), 1] <= g.share * truth <= g.net[g.index(), 2]
    # where only app members answer, the model's list is the shorter and gains more per member than everyone
    if case == "by_channel":
        gm, gr = (uplift.measured_gain(s, rows.treated, rows.value, cost) for s in (model, rule))
        assert gm.share < 0.6 and gm.per_member[0] > gr.per_member[0]
        # calibration: the top decile of the model's scores measured far above the bottom one
        c = gm.calibration
        assert c.measured.iloc[0] > c.measured.iloc[-1] + 5 and c.rows.sum() == len(rows)


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_with_no_true_uplift_the_measured_gain_promises_nothing(seed):
    """Nobody answers the campaign: even at no contact cost, no share's gain is sure enough to list anyone
    (the choice among 20 shares is made on a simultaneous band, not on each share's own interval)."""
    rows = _known_truth(6000, seed, lambda r: np.zeros(len(r)))
    model, rule = uplift.out_of_fold_scores(rows, 0.3)
    for score in (model, rule):
        g = uplift.measured_gain(score, rows.treated, rows.value, 0.0)
        assert g.share == 0, (seed, g.share, g.per_member)
        assert all(np.isnan(g.per_member))
    cand = pd.DataFrame({"member_id": ["a", "b"], "segment": "x"})
    empty = uplift.target_list(cand, np.array([5.0, 3.0]), 1.0, share=0.0)
    r = uplift.expected_return(empty, 1.0, g)
    assert empty.empty and all(np.isnan(r.pop("per_member")))
    assert r == {"listed": 0, "contacted": 0, "holdout": 0, "contact_cost": 0.0, "incremental_margin": 0.0,
                 "net": 0.0, "net_low": 0.0, "net_high": 0.0, "in_sample_net": 0.0}


def test_the_list_takes_the_share_it_is_given_best_first():
    cand = pd.DataFrame({"member_id": [f"M{i:03d}" for i in range(200)], "segment": "a"})
    margin = np.linspace(-2, 8, 200)
    t = uplift.target_list(cand, margin, 1.0, holdout_share=0.1, seed=3, share=0.25)
    assert len(t) == 50 and set(t.member_id) == set(cand.member_id[150:])
    assert t.expected_net.is_monotonic_decreasing
    # a share reaches members the in-sample prediction puts below the cost: the length is the measured curve's
    assert len(uplift.target_list(cand, margin, 1.0, share=0.9)) == 180 > int((margin > 1).sum())
    with pytest.raises(ValueError, match="share must be in"):
        uplift.target_list(cand, margin, 1.0, share=1.5)
    # tied margins (the RFM rule's: one per segment) cut inside the tie by member id
    tied = np.repeat([3.0, 2.0, 1.0, 0.0], 50)[np.random.default_rng(1).permutation(200)]
    t = uplift.target_list(cand, tied, 1.0, share=0.6)
    by_sort = cand.assign(m=tied).sort_values(["m", "member_id"], ascending=[False, True]).head(120)
    assert sorted(t.member_id) == sorted(by_sort.member_id)


def test_past_campaigns_net_gain_per_member_is_the_reviews_figure_over_the_forecasts_window():
    members = pd.DataFrame({"campaign_id": ["A"] * 5 + ["B"] * 4 + ["C"] * 3,
                            "group": ["target"] * 3 + ["holdout"] * 2 + ["target", "target", "holdout", "holdout"]
                            + ["target", "target", "holdout"],
                            "revenue_net": [30.0, 20, 10, 5, 15, 100, 0, 10, 10, 1, 1, 1],
                            "revenue_during": [20.0, 20, 20, 5, 5, 60, 20, 10, 10, 1, 1, 1]})
    camps = pd.DataFrame({"campaign_id": ["A", "B", "C"], "type": ["x", "y", "z"], "cost": [3.0, 40.0, 5.0]})
    net = uplift.past_net_per_member(members, camps, 0.5, "net")
    # A: 0.5 (20 - 10) - 3 / 3 = 4; B: 0.5 (50 - 10) - 40 / 2 = 0; C has one holdout member: left out
    assert net.campaign_id.tolist() == ["A", "B"]
    assert net.net_per_member.tolist() == pytest.approx([4.0, 0.0])
    assert net.targeted.tolist() == [3, 2] and net.cost_per_member.tolist() == pytest.approx([1.0, 20.0])
    # the default is the forecast's own window, the campaign's days (revenue_during), as training_rows learns:
    # A: 0.5 (20 - 5) - 1 = 6.5; B: 0.5 (40 - 10) - 20 = -5
    during = uplift.past_net_per_member(members, camps, 0.5)
    assert during.campaign_id.tolist() == ["A", "B"]
    assert during.net_per_member.tolist() == pytest.approx([6.5, -5.0])
    with pytest.raises(ValueError, match="window"):
        uplift.past_net_per_member(members, camps, 0.5, "after")


def test_two_campaigns_of_a_type_ten_times_apart_in_cost_are_named_beside_the_forecast():
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    # two member days of 100 targeted and 25 held out each: A cost 3,000 (30 per targeted member), B, the
    # latest, 300 (3); in their days each brought 0.5 x (20 - 10) = 5 of margin per targeted member
    ids = [f"M{i:03d}" for i in range(125)]
    members = pd.DataFrame({"campaign_id": ["A"] * 125 + ["B"] * 125, "member_id": ids * 2,
                            "group": (["target"] * 100 + ["holdout"] * 25) * 2,
                            "revenue_during": ([20.0] * 100 + [10.0] * 25) * 2})
    members["revenue_net"] = members.revenue_during
    camps = pd.DataFrame({"campaign_id": ["A", "B"], "type": ["member_day"] * 2, "cost": [3000.0, 300.0]})
    costs = uplift.type_costs(camps, members, ["A", "B"])
    assert costs.per_member.tolist() == pytest.approx([30.0, 3.0]) and costs.targeted.tolist() == [100, 100]
    assert uplift.contact_cost(camps, members, "B") == pytest.approx(3.0)
    assert uplift.cost_spread(costs) == pytest.approx((3.0, 30.0))
    past = uplift.past_net_per_member(members, camps, 0.5)
    assert past.net_per_member.tolist() == pytest.approx([2.0, -25.0])     # 5 - 3, 5 - 30
    # a forecast of 2.5 per contacted member at B's cost of 3: at A's 30 the same list brings 2.5 + 3 - 30
    for language, words in (("en", "in its own days"), ("zh", "活动期间")):
        p = Presentation(language, "CNY")
        line = view._cost_range(p, costs, past, 3.0, 2.5, "member_day")
        for figure in (3.0, 30.0, 5.0, -24.5, 2.5):
            assert p.money(figure, 2) in line, (figure, line)
        assert "A" in line and "B" in line and words in line and "{" not in line
        # from campaign_review.json's records (the summary's path) the same sentence
        records = [{k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                   for r in past.to_dict(orient="records")]
        assert view._cost_range(p, costs.to_dict(orient="records"), records, 3.0, 2.5, "member_day") == line
        # nobody contacted: the range and what each end brought, no forecast at the dearest cost
        none = view._cost_range(p, costs, past, 3.0, None, "member_day")
        assert p.money(30.0, 2) in none and p.money(-24.5, 2) not in none
    # costs within twice each other: nothing to name
    near = costs.assign(per_member=[4.0, 3.0])
    assert uplift.cost_spread(near) is None and view._cost_range(Presentation("en", "CNY"), near, past, 3.0, 2.5, "x") == ""


def test_the_list_stops_where_the_return_turns_negative_and_keeps_a_seeded_holdout():
    n = 2000
    cand = pd.DataFrame({"member_id": [f"M{i:05d}" for i in range(n)], "segment": "a"})
    margin = np.linspace(-2, 8, n)
    a = uplift.target_list(cand, margin, 1.0, holdout_share=0.1, seed=3)
    assert (a.expected_net > 0).all() and len(a) == int((margin > 1.0).sum())
    assert a.expected_net.is_monotonic_decreasing
    assert a.holdout.mean() == pytest.approx(0.1, abs=0.025)
    b = uplift.target_list(cand, margin, 1.0, holdout_share=0.1, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not uplift.target_list(cand, margin, 1.0, holdout_share=0.1, seed=4).holdout.equals(a.holdout)
    r = uplift.expected_return(a, 1.0)
    sent = a[~a.holdout]
    assert r["contacted"] + r["holdout"] == r["listed"] == len(a)
    assert r["in_sample_net"] == pytest.approx(float(sent.expected_incremental_margin.sum()) - len(sent))
    assert np.isnan(r["net"])          # nothing measured: no forecast
    with pytest.raises(ValueError, match="holdout_share"):
        uplift.target_list(cand, margin, 1.0, holdout_share=1.0)


def test_the_campaign_settings_take_the_target_list_settings():
    from memberkit.config import load_settings, notebook_params
    from memberkit.errors import ConfigError
    params = notebook_params(load_settings(ROOT, [], ["notebooks.campaign_review.target_holdout_share=0.2"]),
                             "campaign_review")
    assert (params.target_holdout_share, params.target_window, params.target_seed) == (0.2, "during", 0)
    for bad in ("target_holdout_share=1", "target_window=week"):
        with pytest.raises((ConfigError, ValueError)):
            notebook_params(load_settings(ROOT, [], [f"notebooks.campaign_review.{bad}"]), "campaign_review")


# ------------------------------------------------------------------ on the sample retailer
@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The sample retailer at 5,000 people, seed 1, with response_by_channel: cleaned and planned."""
    from memberkit.config import load_settings, notebook_params
    from memberkit.sample import RESPONSE_BY_CHANNEL, SampleSpec, generate_sample
    folder = tmp_path_factory.mktemp("uplift_sample")
    truth = generate_sample(folder, n_members=5000, seed=1, spec=SampleSpec(response_by_channel=dict(RESPONSE_BY_CHANNEL)))
    tables = cleaned(folder, truth["extracted_at"], tmp_path_factory, "uplift",
                     ("orders", "members", "campaigns", "campaign_members"))
    settings = load_settings(ROOT, [], [f"source.base_dir={folder}", "source.sample=null", f"as_of={truth['extracted_at']}"])
    cp, rp = notebook_params(settings, "campaign_review"), notebook_params(settings, "rfm_segmentation")
    end = dt.date(2026, 10, 31)
    plan = uplift.plan(tables, end, cp, rp, end)
    plan.inputs = (tables, rp)           # for tests that plan again with other settings
    return folder, truth, cp, plan


def test_the_target_list_beats_the_rfm_list_on_the_generators_true_effects(planted):
    from memberkit.sample import true_list_margin
    folder, truth, cp, plan = planted
    assert plan.state == "ready" and plan.campaign_type == "member_day" and plan.campaigns == ("C2501", "C2610")
    # the contact cost: C2610's cost over its targeted members, not its holdout
    c2610 = next(c for c in truth["campaigns"] if c["campaign_id"] == "C2610")
    assert plan.contact_cost == pytest.approx(c2610["cost"] / c2610["n_target"])
    assert plan.cost_basis == "latest" and plan.cost_campaign == "C2610"
    c2501 = next(c for c in truth["campaigns"] if c["campaign_id"] == "C2501")
    assert plan.type_costs.campaign_id.tolist() == ["C2501", "C2610"]
    assert plan.type_costs.per_member.tolist() == pytest.approx([c2501["cost"] / c2501["n_target"],
                                                                  c2610["cost"] / c2610["n_target"]])
    model = true_list_margin(folder, plan.model_list.member_id, "member_day", cp.margin, plan.contact_cost)
    rfm = true_list_margin(folder, plan.rfm_list.member_id, "member_day", cp.margin, plan.contact_cost)
    # the model's list is cut where its measured gain is surest, so it is shorter than every member the
    # model predicts above the cost: it gains more than the RFM list in all, and far more per member listed
    assert model > rfm, (model, rfm)
    assert model / len(plan.model_list) > 2 * rfm / len(plan.rfm_list), (model, len(plan.model_list), rfm, len(plan.rfm_list))
    # the model stays away from the members the truth says hardly answer (in-store), the RFM rule cannot
    t = pd.read_csv(folder / "uplift_truth.csv", dtype={"member_id": str}).set_index("member_id").channel
    assert t.reindex(plan.model_list.member_id).eq("offline").mean() < 0.1
    assert t.reindex(plan.rfm_list.member_id).eq("offline").mean() > 0.3
    # the validation on the past campaigns sees it too, and the model's list is the one recommended
    assert plan.validation.model_is_better and plan.recommended == "model"
    assert plan.model_list.holdout.mean() == pytest.approx(cp.target_holdout_share, abs=0.02)
    # the list's length and its forecast come from the past campaigns, out of fold: the forecast per
    # contacted member has a range, and the net gain is that times the members contacted
    r, g = plan.returns["model"], plan.gains["model"]
    assert 0 < g.share < 1 and len(plan.model_list) == round(g.share * len(plan.model_list) / g.share)
    lo, hi = r["per_member"][1], r["per_member"][2]
    assert lo < r["per_member"][0] < hi and r["net"] == pytest.approx(r["per_member"][0] * r["contacted"])
    assert r["net_low"] == pytest.approx(lo * r["contacted"]) and r["net_high"] == pytest.approx(hi * r["contacted"])
    # the generator's truth for the members contacted, per member, within the forecast's range
    sent = plan.model_list.member_id[~plan.model_list.holdout]
    truth = true_list_margin(folder, sent, "member_day", cp.margin, plan.contact_cost) / len(sent)
    assert lo <= truth <= hi, (lo, truth, hi)


def test_the_list_file_and_its_results_hold_no_personal_data(planted, tmp_path):
    folder, truth, cp, plan = planted
    path = uplift.export_targets(plan, tmp_path, "CNY")
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"member_id": str})
    held = pd.read_csv(tmp_path / uplift.HOLDOUT_FILE, encoding="utf-8-sig", dtype={"member_id": str})
    # each amount named with its currency
    named = ["member_id", "segment", "segment_label_en", "segment_label_zh", "expected_incremental_margin_cny",
             "expected_margin_after_contact_cost_cny"]
    assert frame.columns.tolist() == named == uplift.target_file_columns("CNY") and held.columns.tolist() == named
    # the members to contact in one file, the random holdout (not to be contacted) in its own, best first in each
    t = plan.targets
    assert frame.member_id.tolist() == t.member_id[~t.holdout.astype(bool)].tolist()
    assert held.member_id.tolist() == t.member_id[t.holdout.astype(bool)].tolist() and len(held) > 0
    assert "holdout" not in frame.columns
    # a rerun gives the same file, byte for byte (seeded folds, bootstrap and holdout; trees on one thread)
    tables, rp = plan.inputs
    again = uplift.plan(tables, dt.date(2026, 10, 31), cp, rp, dt.date(2026, 10, 31))
    assert uplift.export_targets(again, tmp_path / "again", "CNY").read_bytes() == path.read_bytes()
    assert uplift.key_results(again) == uplift.key_results(plan)
    members = pd.read_csv(folder / "members.csv", encoding="gb18030", dtype=str)
    text = path.read_text(encoding="utf-8-sig")
    assert not any(phone in text for phone in members["手机号"].dropna().head(500))
    results = uplift.key_results(plan)
    import json
    dumped = json.dumps(results)
    assert results["recommended"] == "model" and results["returns"]["model"]["listed"] == len(plan.model_list)
    assert not any(m in dumped for m in plan.model_list.member_id.head(50))


def one_sentence(words: str, language: str) -> bool:
    """Whether ``words`` is one sentence: it ends a sentence once, at its end."""
    stops = ("。", "！") if language == "zh" else (". ", "! ")
    return not any(x in words[:-1] for x in stops) and words.endswith("。" if language == "zh" else ".")


def test_the_section_reads_in_both_languages(planted):
    from memberkit.views import Presentation, page
    from memberkit.views import uplift as view
    folder, truth, cp, plan = planted
    for language in ("en", "zh"):
        p = Presentation(language, "CNY")
        words = [view.title(p, plan), view.headline(p, plan), view.validation_sentence(p, plan),
                 view.method_note(p, plan, cp)]
        assert all(words) and not any("{" in w for w in words)
        frame = view.returns_frame(p, plan)
        assert len(frame) == 2 and len(view.kpis(p, plan, "2026-10")) == 4
        assert not view.segments_frame(p, plan).empty
        # per decile, predicted against measured, best first; the forecast beside the best past campaign
        calibration = view.calibration_frame(p, plan)
        assert len(calibration) == 10 and calibration.iloc[0, 0] == "1"
        # the answer first, alone: whom, how many, the expected net gain with its range; the reasons beneath
        answer, reasons = view.headline(p, plan), view.points(p, plan)
        r = plan.returns[plan.recommended]
        for figure in (p.count(r["contacted"]), p.count(r["holdout"]), p.money(r["net"]), p.money(r["net_low"]),
                       p.money(r["net_high"]), p.money(r["per_member"][0], 2)):
            assert figure in answer, (figure, answer)
        # the answer, then (the forecast not being borne out here) what it rests on, one sentence each
        caveat = view._caveat(p, r, plan.contact_cost, plan.type_costs, plan.past)
        assert caveat and answer.endswith(p.sentence_sep + caveat) and one_sentence(caveat, language)
        assert one_sentence(answer[:-len(p.sentence_sep + caveat)], language)
        assert len(reasons) >= 2 and all(one_sentence(x, language) for x in reasons), reasons
        best = plan.past.iloc[0]
        # the best past campaign's actual is a point of its own (its id may name the cost assumed in the answer)
        assert p.money(best.net_per_member, 2) not in answer
        assert any(best.campaign_id in x and p.money(best.net_per_member, 2) in x for x in reasons)
        # the forecast is above every past actual here: the warning leads the points, in view
        assert r["per_member"][0] > best.net_per_member
        assert reasons[0] == view._versus_past(p, r["per_member"][0], plan.past, plan.window)
        assert {"en": "plan on the lower end", "zh": "请按区间下限做计划"}[language] in reasons[0]
        # C2501 cost about ten times C2610's per targeted member: a point names both costs
        spread = uplift.cost_spread(plan.type_costs)
        # the answer names the cost it assumes (the latest campaign's), the caveat the dearest
        assert spread is not None and p.money(plan.contact_cost, 2) in answer and p.money(spread[1], 2) in caveat
        assert any(all(p.money(x, 2) in point for x in spread) for point in reasons)
        # on the page: the answer in the headline's box, the points in a list right under it
        shown = page.headline_html(answer, reasons)
        assert shown.startswith('<div class="mk-headline">') and shown.count("<li>") == len(reasons)
        assert shown.index("</div>") < shown.index('<ul class="mk-points">')
        assert view.in_sample_hint(p, plan) and "{" not in view.in_sample_hint(p, plan)
    assert "会员日" in view.title(Presentation("zh", "CNY"), plan)
    # the page says the holdout has a file of its own and not to contact its members, in words a forwarded or
    # printed page keeps; the files' names and folder are in the note for analysts
    from pathlib import Path
    listed = Path("data") / uplift.TARGET_FILE
    for language, words in (("en", "are in a file of their own: do not contact them"),
                            ("zh", "单独放在另一个文件中：请勿触达")):
        p = Presentation(language, "CNY")
        assert words in view.export_note(p, listed) and ".csv" not in view.export_note(p, listed)
        hint = view.export_hint(p, listed)
        assert "uplift_targets.csv" in hint and "uplift_holdout.csv" in hint and "../data/" in hint
        sentence, hint = view.validation_sentence(p, plan), view.validation_hint(p, plan)
        assert "Qini" not in sentence and "Qini" in hint and "AUUC" in hint and "{" not in hint
        # a reader set the check's per-member figure beside the list's per contacted member and could not square
        # them: the sentence says what the figure is measured over, and that it is not the list's gain
        assert {"en": "not of this list's gain", "zh": "而非本名单的收益"}[language] in sentence
        assert {"en": "than picking them at random", "zh": "比随机挑选"}[language] in sentence
    # the month summary's lines, from campaign_review.json's uplift block as written
    import json
    from types import SimpleNamespace
    block = json.loads(json.dumps(uplift.key_results(plan)))
    for language in ("en", "zh"):
        net = Presentation(language, "CNY").money(plan.returns["model"]["net"])
        s = SimpleNamespace(language=language, currency="CNY", display_names={},
                            results=lambda name: {"results": {"uplift": block}} if name == "campaign_review" else None)
        line = view.summary_section(s)
        assert net in line["sentence"] and line["link"] == "campaign_review.html#next-campaign"
        hi = Presentation(language, "CNY").money(uplift.cost_spread(plan.type_costs)[1], 2)
        # the answer names the dearest past cost at which the same list loses money; the points, the range
        assert hi in line["sentence"] and any(hi in x for x in line["points"])
        assert len(line["points"]) >= 3 and all(one_sentence(x, language) for x in line["points"])
        diff = Presentation(language, "CNY").money(plan.validation.difference[0], 2)
        assert diff not in line["sentence"] and diff in line["points"][1]
        assert line["points"][0] == view.points(Presentation(language, "CNY"), plan)[0]     # the warning first
    assert view.summary_section(SimpleNamespace(language="en", currency="CNY", display_names={},
                                                results=lambda name: None)) is None
    import matplotlib.pyplot as plt
    plt.close(view.plot_qini(Presentation("en", "CNY"), plan))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_gives_the_other_lists_higher_forecast_and_why_the_recommended_one_stands(planted, language):
    """The campaign page said the RFM list would gain slightly more (CN¥69,020 against the model list's
    CN¥68,601) and why the model's list is kept; the summary said neither, though it gives the other list's
    forecast: it now says it in the campaign page's words, with the same figures from the results."""
    import dataclasses
    import json
    from types import SimpleNamespace
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    folder, truth, cp, plan = planted
    mine = plan.recommended
    other = "rfm" if mine == "model" else "model"
    returns = {k: dict(r) for k, r in plan.returns.items()}
    returns[other].update(contacted=18_008, net=returns[mine]["net"] + 419.0, net_low=returns[mine]["net_low"] + 1.0,
                          net_high=returns[mine]["net_high"] + 419.0)
    higher = dataclasses.replace(plan, returns=returns)
    block = json.loads(json.dumps(uplift.key_results(higher)))
    p = Presentation(language, "CNY")
    s = SimpleNamespace(language=language, currency="CNY", display_names={},
                        results=lambda name: {"results": {"uplift": block}} if name == "campaign_review" else None)
    points = view.summary_section(s)["points"]
    said = [x for x in points if p.money(returns[other]["net"]) in x]
    assert len(said) == 1 and said[0] in view.points(p, higher)     # the campaign page's sentence, word for word
    assert p.count(18_008) in said[0] and p.money(returns[other]["net_high"]) in said[0]
    kept = {"en": "kept", "zh": "保留"}[language]
    assert kept in said[0] and one_sentence(said[0], language)
    # not said when the recommended list is also forecast to gain the most
    lower = {k: dict(r) for k, r in plan.returns.items()}
    lower[other].update(net=lower[mine]["net"] - 419.0)
    block = json.loads(json.dumps(uplift.key_results(dataclasses.replace(plan, returns=lower))))
    assert not any(p.money(lower[other]["net"]) in x for x in view.summary_section(s)["points"])


def test_without_enough_holdout_there_is_no_list_and_the_page_says_why(planted):
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    folder, truth, cp, plan = planted
    tables, rp = plan.inputs
    end = dt.date(2026, 10, 31)
    few = uplift.plan(tables, end, cp.model_copy(update={"target_min_holdout": 100_000}), rp, end)
    assert few.state == "too_few_holdout" and few.targets is None and few.holdout_rows == plan.holdout_rows
    assert uplift.export_targets(few, folder / "none") is None
    none = uplift.plan(tables, end, cp.model_copy(update={"target_campaign_type": "flash_sale"}), rp, end)
    assert none.state == "no_campaigns"
    bare = uplift.plan({"orders": tables["orders"], "members": tables["members"]}, end, cp, rp, end)
    assert bare.state == "no_table" and uplift.key_results(bare)["state"] == "no_table"
    from types import SimpleNamespace
    block = {"results": {"uplift": uplift.key_results(bare)}}
    assert view.summary_section(SimpleNamespace(language="en", currency="CNY", results=lambda name: block)) is None
    assert view.title(Presentation("en", "CNY"), bare) == "The next campaign: whom to reach"
    for language in ("en", "zh"):
        p = Presentation(language, "CNY")
        assert p.count(few.holdout_rows) in view.headline(p, few) and view.kpis(p, few) == []
        assert view.state_note(p, none)


def test_design_matrix_one_hot_columns_follow_the_fixed_categories():
    """Numbers as they are, then per category one column per fixed value; a value outside them is all zeros."""
    frame = pd.DataFrame({c: [1.0, 2.0, 3.0] for c in uplift.NUMERIC_FEATURES}
                         | {"segment": ["a", "b", "zz"], "tier": ["gold", "gold", "none"],
                            "region": ["x", "y", "x"], "channel": ["app", "online", "app"]})
    cats = {"segment": ["a", "b"], "tier": ["gold", "none"], "region": ["x"], "channel": []}
    m = uplift.design_matrix(frame, cats)
    n = len(uplift.NUMERIC_FEATURES)
    assert m.shape == (3, n + 5)
    assert m[:, n:].tolist() == [[1, 0, 1, 0, 1], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]]


def test_the_plan_reads_the_rfm_reports_member_table_and_lists_the_same(planted, tmp_path):
    """The campaign report passes the period store's member table (the RFM report's, Parquet round
    trip included) instead of building it again: the same lists, byte for byte."""
    from memberkit import rfm
    folder, truth, cp, plan = planted
    tables, rp = plan.inputs
    end = dt.date(2026, 10, 31)
    table, _ = rfm.member_table_at(tables["orders"], rfm.member_profile(tables["members"]), end, rp)
    table.to_parquet(tmp_path / "members.parquet", index=False)       # as store.write_member_table keeps it
    stored = pd.read_parquet(tmp_path / "members.parquet")
    again = uplift.plan(tables, end, cp, rp, end, period_table=stored)
    assert uplift.export_targets(again, tmp_path / "again", "CNY").read_bytes() == \
        uplift.export_targets(plan, tmp_path / "first", "CNY").read_bytes()
    assert uplift.key_results(again) == uplift.key_results(plan)


def test_the_plan_reads_the_reviews_campaign_members_and_member_rows_and_lists_the_same(planted, tmp_path,
                                                                                       monkeypatch):
    """The campaign report measures every campaign's members and their member table rows at every eve the
    plan learns from once (campaign.analyse, one query for the eves) and the plan reads them with the
    period store's member table: nothing measured or built again, the same lists and results, byte for byte."""
    from memberkit import campaign, rfm
    folder, truth, cp, plan = planted
    tables, rp = plan.inputs
    end = dt.date(2026, 10, 31)
    a = campaign.analyse(tables, "2026-10", cp, rp, data_end=end)
    assert set(plan.campaigns) <= set(a.campaign_members.campaign_id)
    period_table, _ = rfm.member_table_at(tables["orders"], rfm.member_profile(tables["members"]), end, rp)

    def again(*args, **kwargs):
        raise AssertionError("measured again")
    for owner, name in ((campaign, "campaign_members"), (rfm, "member_profile"), (rfm, "member_rows_at"),
                        (rfm, "member_tables_at"), (rfm, "member_table_at")):
        monkeypatch.setattr(owner, name, again)
    shared = uplift.plan(tables, end, cp, rp, end, period_table=period_table, member_tables=a.member_tables,
                         campaign_members=a.campaign_members)
    assert uplift.export_targets(shared, tmp_path / "shared", "CNY").read_bytes() == \
        uplift.export_targets(plan, tmp_path / "first", "CNY").read_bytes()
    assert (tmp_path / "shared" / uplift.HOLDOUT_FILE).read_bytes() == (tmp_path / "first" / uplift.HOLDOUT_FILE).read_bytes()
    assert uplift.key_results(shared) == uplift.key_results(plan)


def test_the_plan_on_the_campaigns_members_rows_lists_the_same_as_on_whole_member_tables(planted, tmp_path):
    """At each eve the plan reads only the campaigns' members' rows (rfm.member_rows_at), with the whole
    table's median and cap of the order value: the same features as from the whole member table, and the
    same lists and results, byte for byte."""
    from memberkit import campaign, rfm
    folder, truth, cp, plan = planted
    tables, rp = plan.inputs
    end = dt.date(2026, 10, 31)
    camps = campaign.campaigns_frame(tables).set_index("campaign_id")
    eves = {c: camps.start[c] - dt.timedelta(days=1) for c in plan.campaigns}
    whole = rfm.member_tables_at(tables["orders"], rfm.member_profile(tables["members"]), eves.values(), rp)
    members = campaign.campaign_members(tables, list(plan.campaigns), cp, end)
    for c, day in eves.items():
        ids = members.member_id[members.campaign_id == c]
        lean = rfm.member_rows_at(tables["orders"], tables["members"], {day: ids}, rp)[day]
        past = uplift.past_responses(members, camps.start[c])
        pd.testing.assert_frame_equal(uplift.member_features(lean, day, past, ids),
                                      uplift.member_features(whole[day][0], day, past, ids), check_exact=True)
    again = uplift.plan(tables, end, cp, rp, end, member_tables={d: t for d, (t, _) in whole.items()})
    assert uplift.export_targets(again, tmp_path / "whole", "CNY").read_bytes() == \
        uplift.export_targets(plan, tmp_path / "lean", "CNY").read_bytes()
    assert (tmp_path / "whole" / uplift.HOLDOUT_FILE).read_bytes() == (tmp_path / "lean" / uplift.HOLDOUT_FILE).read_bytes()
    assert uplift.key_results(again) == uplift.key_results(plan)


def test_the_list_files_are_the_bytes_pandas_writes(planted, tmp_path):
    """The export's own CSV writer against pandas' to_csv of the same columns (UTF-8 with a byte-order mark,
    money at the currency's minor unit, "\\n" line ends)."""
    from memberkit.rfm import outside_window, schemes
    folder, truth, cp, plan = planted
    uplift.export_targets(plan, tmp_path / "kit", "CNY")
    hl, outside = schemes()["high_low"], outside_window()
    t = plan.targets
    segment = [k if k in hl.keys else outside.key for k in t.segment.astype(str)]

    def label(language):
        return [hl.segment(k).label[language] if k != outside.key else outside.label[language] for k in segment]
    frame = pd.DataFrame({"member_id": t.member_id, "segment": segment, "segment_label_en": label("en"),
                          "segment_label_zh": label("zh"),
                          "expected_incremental_margin": t.expected_incremental_margin.round(2),
                          "expected_net": t.expected_net.round(2)}, columns=uplift.TARGET_COLUMNS)
    frame.columns = uplift.target_file_columns("CNY")
    held = t.holdout.astype(bool).to_numpy()
    for name, rows in ((uplift.HOLDOUT_FILE, frame[held]), (uplift.TARGET_FILE, frame[~held])):
        rows.to_csv(tmp_path / name, index=False, encoding="utf-8-sig", float_format="%.2f", lineterminator="\n")
        assert (tmp_path / "kit" / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_the_list_by_segment_adds_up_to_the_lists_counts(planted):
    """Held-out members are not contacted: the segment table's members to contact add up to the headline's."""
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    folder, truth, cp, plan = planted
    t = plan.targets
    assert t.holdout.any()
    frame = view.segments_frame(Presentation("en", "CNY"), plan)
    assert len(frame) == t.segment.nunique()
    to_contact = frame["To contact"].str.replace(",", "").astype(int).sum()
    assert to_contact == plan.returns[plan.recommended]["contacted"] == int((~t.holdout).sum())


def test_when_no_share_pays_for_its_contacts_nobody_is_listed_and_the_pages_say_so(planted, tmp_path):
    """A contact cost above what any share of members gained on the past campaigns: an empty list, no
    forecast, and the page, its cards and the summary say to contact nobody."""
    import json
    from types import SimpleNamespace
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    folder, truth, cp, plan = planted
    tables, rp = plan.inputs
    end = dt.date(2026, 10, 31)
    dear = uplift.plan(tables, end, cp.model_copy(update={"target_contact_cost": 500.0}), rp, end)
    assert dear.state == "ready" and dear.targets.empty
    assert all(g.share == 0 for g in dear.gains.values())
    r = dear.returns[dear.recommended]
    assert r["contacted"] == 0 and r["net"] == 0 and all(np.isnan(r["per_member"]))
    block = json.loads(json.dumps(uplift.key_results(dear), default=str).replace("NaN", "null"))
    for language, words in (("en", "contact nobody on this evidence"), ("zh", "不触达任何人")):
        p = Presentation(language, "CNY")
        assert words in view.headline(p, dear)
        # the answer alone; the past campaigns' cost range beneath it, with no forecast at the dearest cost
        spread = [p.money(x, 2) for x in uplift.cost_spread(dear.type_costs)]
        assert not any(x in view.headline(p, dear) for x in spread)
        assert len(view.points(p, dear)) == 1 and all(x in view.points(p, dear)[0] for x in spread)
        cards = view.kpis(p, dear, "2026-10")
        assert cards[0].value == p.count_of(0, "members") and cards[-1].delta == p.text("uplift.kpi_net_none")
        s = SimpleNamespace(language=language, currency="CNY", display_names={},
                            results=lambda name: {"results": {"uplift": block}} if name == "campaign_review" else None)
        assert words in view.summary_section(s)["sentence"]
        assert view.summary_section(s)["points"] == view.points(p, dear)
    path = uplift.export_targets(dear, tmp_path, "CNY")
    assert pd.read_csv(path, encoding="utf-8-sig").empty


def test_a_forecast_above_every_past_campaigns_actual_says_so():
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    past = [{"campaign_id": "C2610", "type": "member_day", "targeted": 2400, "net_per_member": 3.95},
            {"campaign_id": "C2501", "type": "member_day", "targeted": 2400, "net_per_member": -8.2}]
    for language, above, beside, during, net in (
            ("en", "above what any past campaign", "For comparison", "in its own days",
             "over the campaign and the days after it"),
            ("zh", "高于过去任何一次活动", "作为对照", "与本预测相同的时段", "及其后的日子")):
        p = Presentation(language, "CNY")
        high, low = view._versus_past(p, 5.18, past), view._versus_past(p, 2.0, past)
        assert above in high and p.money(5.18, 2) in high and "C2610" in high and p.money(3.95, 2) in high
        assert beside in low and above not in low and p.money(3.95, 2) in low
        # the window both figures use is named: the campaign's days by default, and then that orders only
        # pulled forward are netted in neither; the days after too with the net window
        assert during in high and during in low and net not in low
        assert net in view._versus_past(p, 2.0, past, "net") and during not in view._versus_past(p, 2.0, past, "net")
        assert view._versus_past(p, 5.18, []) == "" and view._versus_past(p, float("nan"), past) == ""
    assert "pulled forward" in view._versus_past(Presentation("en", "CNY"), 2.0, past)


def test_the_next_campaign_quotes_the_campaign_tables_figure_first():
    """Issue 23: the next-campaign lines gave C2610 about CN¥3.75 net per member 'in its own days' while the
    campaign table gave it about CN¥2.71 (with the days after): both labelled, they read as two results. The
    table's figure, the one its verdict uses, now comes first, from the same results file
    (:func:`memberkit.campaign.league_net_per_member`), and the figure of its own days follows, labelled, in the
    sentence under the summary's answer, its caveat and the page's card, in both languages."""
    from types import SimpleNamespace
    from memberkit import campaign
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    results = {"results": {"campaigns": {
        "C2610": {"cost": 3000.0, "n_target": 2412, "figures": {"incremental_margin": {"value": 9533.79}}},
        "C2501": {"cost": 30000.0, "n_target": 2417, "figures": {"incremental_margin": {"value": 13020.0}}}}}}
    league = campaign.league_net_per_member(results)
    assert league["C2610"] == pytest.approx((9533.79 - 3000.0) / 2412)
    past = [{"campaign_id": "C2610", "type": "member_day", "targeted": 2412, "net_per_member": 3.7539},
            {"campaign_id": "C2501", "type": "member_day", "targeted": 2417, "net_per_member": -7.03}]
    for language in ("en", "zh"):
        p = Presentation(language, "CNY")
        made, own = p.money(league["C2610"], 2), p.money(3.7539, 2)
        assert (made, own) == ({"en": "CN¥2.71", "zh": "¥2.71"}[language], {"en": "CN¥3.75", "zh": "¥3.75"}[language])
        for sentence in (view._versus_past(p, 4.24, past, "during", league), view._versus_past(p, 3.0, past, "during", league)):
            assert made in sentence and own in sentence and sentence.index(made) < sentence.index(own), sentence
            assert p.text("uplift.col_list") not in sentence
        caveat = view._caveat(p, {"contacted": 100, "per_member": [4.24, 1.0, 6.0]}, 1.24, None, past, league)
        assert caveat.index(made) < caveat.index(own), caveat
        # the summary's lines read the same file's campaign table
        block = {"state": "ready", "recommended": "model", "window": "during", "contact_cost": 1.24,
                 "cost_basis": "latest", "cost_campaign": "C2610", "type_costs": None, "past": past,
                 "campaign_type": "member_day", "validation": {},
                 "returns": {"model": {"contacted": 100, "holdout": 10, "net": 424.0, "net_low": 100.0,
                                       "net_high": 700.0, "per_member": [4.24, 1.0, 7.0], "contact_cost": 1.24}}}
        s = SimpleNamespace(language=language, currency="CNY", display_names={},
                            results=lambda name: {"results": {**results["results"], "uplift": block}})
        line = view.summary_section(s)
        said = " ".join([line["sentence"], *line["points"]])
        assert made in said and said.index(made) < said.index(own), said
        # without the campaign table (a results file written before it), the figure of its own days alone
        assert made not in view._versus_past(p, 4.24, past, "during") and own in view._versus_past(p, 4.24, past, "during")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_recommended_list_forecast_to_gain_less_than_the_other_says_so_and_why(language):
    """A fresh reader found the model's list 'Recommended: yes' at CN¥68,601 beside the RFM list's CN¥69,020:
    the recommendation follows the rankings' comparison on the past campaigns, not the larger forecast. The
    headline then gives the other list's forecast and why the recommended list stands; nothing is added when
    the recommended list is also forecast to gain the most."""
    from types import SimpleNamespace
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    p = Presentation(language, "CNY")

    def returns(net, lo, hi, contacted):
        return {"contacted": contacted, "holdout": contacted // 9, "net": net, "net_low": lo, "net_high": hi,
                "contact_cost": 1.24 * contacted, "per_member": [net / contacted, lo / contacted, hi / contacted]}
    plan = SimpleNamespace(state="ready", recommended="model", campaign_type="member_day", past=None,
                           type_costs=None, contact_cost=1.24, cost_basis="setting", cost_campaign=None,
                           window="during",
                           gains={"model": SimpleNamespace(share=0.9), "rfm": SimpleNamespace(share=1.0)},
                           returns={"model": returns(68601, 50518, 85638, 16175),
                                    "rfm": returns(69020, 49314, 84526, 17993)})
    answer, (words,) = view.headline(p, plan), view.points(p, plan)
    assert p.money(68601) in answer and p.money(69020) not in answer
    assert p.money(69020) in words and p.money(49314) in words and p.count(17993) in words
    assert {"en": "the two ranges overlap", "zh": "两个区间重叠"}[language] in words
    plan.returns["rfm"] = returns(99020, 90000, 110000, 17993)        # apart: the reader is told to weigh it
    assert {"en": "weigh that", "zh": "请权衡"}[language] in view.points(p, plan)[0]
    plan.returns["rfm"] = returns(60000, 40000, 80000, 17993)         # the recommended list gains the most
    assert view.points(p, plan) == [] and p.money(60000) not in view.headline(p, plan)
    plan.recommended, plan.returns["model"] = "rfm", returns(75000, 52000, 90000, 9000)
    answer, reasons = view.headline(p, plan), view.points(p, plan)
    assert p.money(60000) in answer and p.money(75000) not in answer
    # the simpler rule: why it is used is said once, in the other list's point when there is one
    assert len(reasons) == 1 and p.money(75000) in reasons[0] and p.count(9000) in reasons[0]
    plan.returns["model"] = returns(50000, 30000, 70000, 17993)
    assert view.points(p, plan) == [p.text("uplift.why_rfm")]


def test_at_the_dearest_past_cost_the_same_uplift_less_that_cost():
    """The measured uplift does not depend on the contact cost: at another cost the list brings the same
    incremental margin less that cost (the sample's case: 4.24 per contacted member at C2610's 1.24; at C2501's
    12.41 the list brings 4.24 + 1.24 - 12.41 = -6.93 per member, -6.93 x 16,188 in all)."""
    costs = pd.DataFrame({"campaign_id": ["C2501", "C2610"], "cost": [29784.0, 2976.0], "targeted": [2400, 2400],
                          "per_member": [12.41, 1.24]})
    at = uplift.at_dearest_cost(costs, 1.24, 4.24, 16188)
    assert at["campaign_id"] == "C2501" and at["cost"] == pytest.approx(12.41)
    assert at["per_member"] == pytest.approx(-6.93) and at["net"] == pytest.approx(-6.93 * 16188)
    # from campaign_review.json's records, the same
    assert uplift.at_dearest_cost(costs.to_dict(orient="records"), 1.24, 4.24, 16188) == at
    # the dearest is the cost assumed, costs within twice each other, no forecast: nothing to say
    assert uplift.at_dearest_cost(costs, 12.41, 4.24, 16188) is None
    assert uplift.at_dearest_cost(costs.assign(per_member=[2.0, 1.24]), 1.24, 4.24, 16188) is None
    assert uplift.at_dearest_cost(costs, 1.24, float("nan"), 16188) is None
    assert uplift.at_dearest_cost(None, 1.24, 4.24, 16188) is None


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_forecast_not_borne_out_says_so_in_the_answer_and_its_card_is_not_green(language):
    """A fresh reader saw CN¥68,601 of expected net gain in a green card, about ten times the best campaign ever
    measured, resting on the cheapest past contact cost (at the dearest the list loses money); the caveat sat in
    small points beneath. The answer itself now says what the gain rests on, on the page and on the summary,
    and the card is not coloured as a sure gain; a forecast within what past campaigns did keeps its colour."""
    import json
    from types import SimpleNamespace
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    p = Presentation(language, "CNY")
    contacted = 16188

    def returns(per):
        net = per * contacted
        return {"contacted": contacted, "holdout": 1804, "net": net, "net_low": 0.7 * net, "net_high": 1.3 * net,
                "contact_cost": 1.24 * contacted, "per_member": [per, 0.7 * per, 1.3 * per]}
    costs = pd.DataFrame({"campaign_id": ["C2501", "C2610"], "cost": [29784.0, 2976.0], "targeted": [2400, 2400],
                          "per_member": [12.41, 1.24]})
    past = pd.DataFrame({"campaign_id": ["C2610", "C2501"], "type": ["member_day"] * 2, "targeted": [2400] * 2,
                         "net_per_member": [2.72, -8.0], "cost_per_member": [1.24, 12.41]})
    plan = SimpleNamespace(state="ready", recommended="model", campaign_type="member_day", past=past,
                           type_costs=costs, contact_cost=1.24, cost_basis="latest", cost_campaign="C2610",
                           window="during", holdout_share=0.1,
                           gains={"model": SimpleNamespace(share=0.9), "rfm": SimpleNamespace(share=1.0)},
                           returns={"model": returns(4.24), "rfm": returns(1.0)})
    loss = p.money(-(4.24 + 1.24 - 12.41) * contacted)
    words = {"en": ("rests on the contact cost", "No past campaign gained this much"),
             "zh": ("取决于触达成本", "过去没有任何活动")}[language]
    answer = view.headline(p, plan)
    assert words[0] in answer and loss in answer and "C2501" in answer and p.money(12.41, 2) in answer
    assert answer.startswith(view._t(p, "headline_model", type=p.code("campaign_types", "member_day"),
                                     contacted=p.count(contacted), holdout=p.count(1804), share=p.pct(0.9, 0),
                                     net=p.money(4.24 * contacted), lo=p.money(0.7 * 4.24 * contacted),
                                     hi=p.money(1.3 * 4.24 * contacted), unit=p.money(1.24, 2),
                                     basis=view._t(p, "cost_from", campaign="C2610"), per=p.money(4.24, 2)))
    # the answer names the cost per contact it assumes and where that cost comes from, before the caveat
    assert answer.index(p.money(1.24, 2)) < answer.index(p.money(12.41, 2))
    assert {"en": "as measured", "zh": "实测"}[language] not in answer
    assert view.kpis(p, plan, "2026-10")[-1].good is None
    # the summary says the same, from campaign_review.json's block
    block = {"state": "ready", "recommended": "model", "campaign_type": "member_day", "contact_cost": 1.24,
             "cost_basis": "latest", "cost_campaign": "C2610",
             "returns": plan.returns, "type_costs": costs.to_dict(orient="records"),
             "past": past.to_dict(orient="records"), "validation": {}}
    block = json.loads(json.dumps(block))
    s = SimpleNamespace(language=language, currency="CNY", display_names={},
                        results=lambda name: {"results": {"uplift": block}} if name == "campaign_review" else None)
    summary = view.summary_section(s)["sentence"]
    assert words[0] in summary and loss in summary and p.money(1.24, 2) in summary and "C2610" in summary
    assert {"en": "uplift model's list", "zh": "增量模型名单"}[language] not in summary
    # one cost only: the forecast above every past actual is said in the answer instead
    plan.type_costs = costs.iloc[1:]
    answer = view.headline(p, plan)
    assert words[1] in answer and words[0] not in answer and p.money(2.72, 2) in answer
    assert view.kpis(p, plan, "2026-10")[-1].good is None
    # within what the past campaigns did: no caveat, and the card is green as its range is above nought
    plan.returns["model"] = returns(2.0)
    answer = view.headline(p, plan)
    assert words[0] not in answer and words[1] not in answer
    assert view.kpis(p, plan, "2026-10")[-1].good is True


def test_the_list_by_segment_says_which_members_it_leaves_out_and_how_many(planted):
    """Issue 23: the list's per-segment table gave different sizes for the same segments than the RFM page
    (Important value 1,703 against 2,132): the ranking scores every member of the month's member table and the
    list holds its top share. The table now gives each segment's members ranked (the RFM page's count) beside
    those listed, and a sentence names the members left off the list and why, in both languages."""
    from memberkit import rfm
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    folder, truth, cp, plan = planted
    tables, rp = plan.inputs
    end = dt.date(2026, 10, 31)
    table = rfm.member_table_at(tables["orders"], rfm.member_profile(tables["members"]), end, rp)[0]
    # the members ranked per segment are the RFM member table's of the month's end
    assert plan.ranked_by_segment.sort_index().to_dict() == table.segment.astype(object).where(table.segment.notna(), "none").value_counts().sort_index().to_dict()
    ranked, listed = int(plan.ranked_by_segment.sum()), len(plan.targets)
    assert ranked == len(table) and listed < ranked
    for language in ("en", "zh"):
        p = Presentation(language, "CNY")
        frame = view.segments_frame(p, plan)
        count = lambda key: frame[p.text(f"uplift.{key}")].str.replace(",", "").astype(int)   # noqa: E731
        assert count("col_ranked").sum() == ranked and count("col_listed").sum() == listed
        assert (count("col_ranked") >= count("col_listed")).all()
        note = view.segments_note(p, plan)
        assert all(p.count(x) in note for x in (ranked, listed, ranked - listed)), note


def test_a_past_campaigns_margin_is_its_shown_net_plus_its_shown_cost():
    """Issue 23: 'CN¥5.00 of extra margin per targeted member' beside a cost of CN¥1.24 and a net of CN¥3.75: the
    margin was the unrounded 3.7549 + 1.2449. Now the shown margin is the shown net plus the shown cost."""
    from memberkit.views import Presentation
    from memberkit.views import uplift as view
    costs = [{"campaign_id": "A", "per_member": 1.2449, "targeted": 100}, {"campaign_id": "B", "per_member": 9.0, "targeted": 100}]
    past = [{"campaign_id": "A", "net_per_member": 3.7549, "cost_per_member": 1.2449},
            {"campaign_id": "B", "net_per_member": -2.0, "cost_per_member": 9.0}]
    for language in ("en", "zh"):
        p = Presentation(language, "CNY")
        line = view._cost_range(p, costs, past, 1.2449, None, "member_day")
        assert p.money(4.99, 2) in line and p.money(5.0, 2) not in line, line
