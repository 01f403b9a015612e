"""Campaign review: every figure on a hand-computed campaign, the engine windows on hand-made orders,
the verdict rules, and on the sample retailer the generator's true effects inside the intervals and
the pull-forward campaign flagged (and only it)."""
import datetime as dt
import itertools
import math

import ibis
import numpy as np
import pandas as pd
import pytest

from memberkit import campaign, summary
from memberkit.config import load_settings, notebook_params
from memberkit.views import Presentation
from memberkit.views import campaign as view
from memberkit.views import page

from .conftest import ROOT, count_summary_queries, member_table_one_query, record_calls

EN = Presentation("en", "CNY")
ZH = Presentation("zh", "CNY")

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 7)      # 7 campaign days
MEMBER_NUMBERS = itertools.count()


def cr_params(*overrides):
    return notebook_params(load_settings(ROOT, [], [f"notebooks.campaign_review.{o}" for o in overrides]),
                           "campaign_review")


def member(group, *, during=0, post=0, pre=0, before=1, silent=1, history_revenue=100.0, revenue_during=0.0,
           revenue_post=0.0, discount_during=0.0, redeemed=False, sent=True, last_days_before=10):
    return {"campaign_id": "C1", "member_id": f"{group}{next(MEMBER_NUMBERS)}", "group": group,
            "sent_ts": pd.Timestamp("2026-03-01 08:00") if sent else pd.NaT,
            "redeemed_ts": pd.Timestamp("2026-03-02") if redeemed else pd.NaT,
            "start": START, "end": END, "post_end": pd.Timestamp("2026-04-07"),
            "orders_before": before, "orders_history": before, "orders_silent": silent, "orders_pre": pre,
            "orders_during": during, "orders_post": post,
            "revenue_before": history_revenue, "revenue_history": history_revenue, "revenue_silent": 0.0,
            "revenue_pre": 0.0, "revenue_during": revenue_during, "revenue_post": revenue_post,
            "discount_before": 0.0, "discount_history": 0.0, "discount_silent": 0.0, "discount_pre": 0.0,
            "discount_during": discount_during, "discount_post": 0.0,
            "last_before": pd.Timestamp(START) - pd.Timedelta(days=last_days_before) if before else pd.NaT,
            **{f"first_{w}": pd.NaT for w in campaign.WINDOWS}, **{f"last_{w}": pd.NaT for w in campaign.WINDOWS
                                                                   if w != "before"}}


def hand_campaign():
    """Target: 4 members, holdout: 4 members (30 post days observed).

    target  during/post orders: (2,0) (1,1) (0,0) (1,0)  revenue during 300, 100, 0, 100; post 0, 50, 0, 0
    holdout during/post orders: (1,0) (0,1) (0,0) (0,0)  revenue during 80; post 100
    """
    rows = [member("target", during=2, revenue_during=300, discount_during=30, redeemed=True, history_revenue=900),
            member("target", during=1, post=1, revenue_during=100, revenue_post=50, discount_during=10, redeemed=True,
                   before=0, silent=0, history_revenue=0),
            member("target", silent=0, history_revenue=500),                  # lapsed, stays away; high value, lost
            member("target", during=1, revenue_during=100, silent=0, history_revenue=50),   # lapsed, won back
            member("holdout", during=1, revenue_during=80, history_revenue=800),
            member("holdout", post=1, revenue_post=100, silent=0, history_revenue=20),        # lapsed, won back
            member("holdout", silent=0, history_revenue=30),
            member("holdout", history_revenue=10)]
    return campaign._derived(pd.DataFrame(rows))


def test_every_figure_on_a_hand_computed_campaign():
    members = hand_campaign()
    info = pd.Series({"campaign_id": "C1", "name": "Test", "type": "coupon", "start": START, "end": END, "cost": 100.0})
    p = cr_params("margin=0.5", "high_value_share=0.25")
    r = campaign.review(members, info, p)
    f = r.figures
    assert r.evidence == "holdout" and (r.n_target, r.n_comparison) == (4, 4)
    # net orders: target (2 + 2 + 0 + 1) / 4 = 1.25, holdout (1 + 1 + 0 + 0) / 4 = 0.5
    assert f["incremental_orders_per_target"].value == pytest.approx(0.75)
    assert f["incremental_orders"].value == pytest.approx(3.0)
    # net revenue: target 550 / 4 = 137.5, holdout 180 / 4 = 45 -> 92.5 per target, 370 in total
    assert f["incremental_revenue"].value == pytest.approx(370.0)
    assert f["incremental_margin"].value == pytest.approx(185.0)
    assert f["roi"].value == pytest.approx((185.0 - 100.0) / 100.0)
    assert f["cost_per_incremental_order"].value == pytest.approx(100.0 / 3.0)
    # during only: 4/4 - 1/4 = 0.75 per target
    assert f["incremental_orders_during"].value == pytest.approx(3.0)
    assert f["response_rate_target"] == 0.75 and f["response_rate_comparison"] == 0.25
    assert f["redemption_rate"] == 0.5 and f["reach"] == 4
    assert f["aov_target"] == pytest.approx(500 / 4) and f["aov_comparison"] == pytest.approx(80.0)
    assert f["discount_rate_target"] == pytest.approx(40 / 540)
    assert f["new_buyers"] == 1                                     # the member with no order before
    assert (f["lapsed_targeted"], f["reactivated"]) == (2, 1)       # target: lapsed 2, back 1; holdout: 2, 1
    assert f["incremental_reactivated"].value == pytest.approx(0.0)
    # high value: the top 25% of all 8 by history revenue, cut at the 75th percentile of
    # 0, 10, 20, 30, 50, 500, 800, 900 = 575: the target's 900 (who bought) and the holdout's 800
    assert f["high_value_targeted"] == 1 and f["high_value_lost"] == 0
    assert f["high_value_lost_rate_comparison"] == 0.0              # the holdout's 800 bought during
    # pull-forward: after-campaign difference 1/4 - 1/4 = 0, not flagged
    assert r.pull_forward["after_per_target"]["value"] == pytest.approx(0.0) and not r.pull_forward["flagged"]
    # difference in differences: pre orders are 0 for all, so it equals the net difference
    assert f["did_orders_per_target"].value == pytest.approx(0.75)


def test_pull_forward_is_flagged_when_the_dip_gives_back_the_lift():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(400):
        rows.append(member("target", during=int(rng.random() < 0.4), post=int(rng.random() < 0.1)))
        rows.append(member("holdout", during=int(rng.random() < 0.1), post=int(rng.random() < 0.35)))
    m = campaign._derived(pd.DataFrame(rows))
    info = pd.Series({"campaign_id": "C1", "name": "", "type": "", "start": START, "end": END, "cost": 1000.0})
    r = campaign.review(m, info, cr_params())
    assert r.pull_forward["flagged"] and r.verdict == {"decision": "change", "reason": "pull_forward"}
    assert r.pull_forward["share_given_back"] > 0.5


def review_with(roi, orders, pull=False):
    r = campaign.CampaignReview("C", "C", "", START, END, 1.0, "holdout", 10, 10, 0, 30,
                                {"roi": campaign.Estimate(*roi), "incremental_orders": campaign.Estimate(*orders)},
                                {"flagged": pull})
    return campaign.decide(r)


def test_verdict_rules():
    assert review_with((0.5, 0.1, 0.9), (50, 20, 80)) == {"decision": "repeat", "reason": "pays"}
    assert review_with((0.5, 0.1, 0.9), (50, 20, 80), pull=True)["reason"] == "pull_forward"
    assert review_with((-0.6, -1.0, -0.2), (5, -20, 30)) == {"decision": "stop", "reason": "no_effect"}
    assert review_with((-0.6, -0.8, -0.4), (50, 20, 80)) == {"decision": "change", "reason": "does_not_pay"}
    assert review_with((0.2, -0.3, 0.7), (50, 20, 80)) == {"decision": "change", "reason": "uncertain_return"}


def test_engine_windows_on_hand_made_orders():
    """Start included, end excluded, the post window cut at the end of the data, returns net in revenue."""
    cm = ibis.memtable({"campaign_id": ["C1", "C1"], "member_id": ["a", "b"], "group": ["target", "holdout"],
                        "sent_ts": [None, None], "redeemed_ts": [None, None]},
                       schema={"campaign_id": "string", "member_id": "string", "group": "string",
                               "sent_ts": "timestamp", "redeemed_ts": "timestamp"})
    camps = ibis.memtable({"campaign_id": ["C1"], "start": [START], "end": [END]})
    ts = pd.to_datetime(["2026-02-28 23:59:59", "2026-03-01 00:00:00", "2026-03-07 23:59:59", "2026-03-08 00:00:00",
                         "2026-03-08 10:00:00", "2026-03-20 00:00:00", "2025-12-01 00:00:00"])
    orders = ibis.memtable(pd.DataFrame({
        "member_id": ["a", "a", "a", "a", "a", "a", "b"], "order_id": ["1", "2", "3", "4", "4r", "5", "6"],
        "order_ts": ts, "order_date": ts.normalize(), "amount": [10.0, 20.0, 30.0, 40.0, -15.0, 50.0, 60.0],
        "discount": [0.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0]}))
    units = summary.campaign_units(cm, camps, ["C1"], pre_days=28, post_days=30, history_days=365, silent_days=90,
                                   data_end=dt.date(2026, 3, 15))
    out = summary.window_outcomes(orders, units, ["member_id", "post_end"], campaign.WINDOWS).to_pandas()
    a = out.set_index("member_id").loc["a"]
    assert (a.orders_pre, a.orders_during, a.orders_post) == (1, 2, 1)       # 03-20 is after the data's end
    assert a.revenue_during == 50.0 and a.discount_during == 5.0
    assert a.revenue_post == 25.0                                           # 40 paid, 15 returned
    assert a.post_end == pd.Timestamp("2026-03-16")
    b = out.set_index("member_id").loc["b"]
    assert (b.orders_before, b.orders_silent, b.orders_during) == (1, 1, 0)


def test_window_money_is_summed_exactly_and_rows_come_in_key_order():
    """Ten lines of 0.10 and one of 0.20 during the campaign: 1.20 exactly (a float sum gives 1.2000000000000002)."""
    from decimal import Decimal
    members = ["z", "a", "m"]
    cm = ibis.memtable({"campaign_id": ["C1"] * 3, "member_id": members, "group": ["target", "holdout", "target"],
                        "sent_ts": [None] * 3, "redeemed_ts": [None] * 3},
                       schema={"campaign_id": "string", "member_id": "string", "group": "string",
                               "sent_ts": "timestamp", "redeemed_ts": "timestamp"})
    camps = ibis.memtable({"campaign_id": ["C1"], "start": [START], "end": [END]})
    ts = pd.Timestamp("2026-03-02 10:00")
    rows = [("a", f"o{i}", "0.10", "0.01") for i in range(10)] + [("a", "o10", "0.20", "0.02"), ("m", "o11", "0.30", "0")]
    orders = ibis.memtable(pd.DataFrame({"member_id": [r[0] for r in rows], "order_id": [r[1] for r in rows],
                                         "order_ts": ts, "order_date": ts.normalize(),
                                         "amount": [Decimal(r[2]) for r in rows],
                                         "discount": [Decimal(r[3]) for r in rows]}),
                           schema={"member_id": "string", "order_id": "string", "order_ts": "timestamp",
                                   "order_date": "date", "amount": "decimal(18, 2)", "discount": "decimal(18, 2)"})
    units = summary.campaign_units(cm, camps, ["C1"], pre_days=28, post_days=30, history_days=365, silent_days=90,
                                   data_end=dt.date(2026, 3, 31))
    out = summary.window_outcomes(orders, units, ["campaign_id", "member_id"], campaign.WINDOWS).to_pandas()
    assert list(out.member_id) == ["a", "m", "z"]
    assert out.revenue_during.tolist() == [1.2, 0.3, 0.0]
    assert out.discount_during.tolist() == [0.12, 0.0, 0.0]
    assert out.orders_during.tolist() == [11, 1, 0]


def test_campaign_selection():
    c = pd.DataFrame({"campaign_id": ["A", "B", "C"], "end": [dt.date(2024, 5, 1), dt.date(2026, 3, 3), dt.date(2026, 10, 7)]})
    assert campaign.select_campaigns(c, dt.date(2026, 10, 1), dt.date(2026, 10, 31), 12) == (["C"], ["B", "C"])
    assert campaign.select_campaigns(c, dt.date(2026, 10, 1), dt.date(2026, 10, 31), 0, ["A"]) == (["A"], ["A"])
    with pytest.raises(campaign.CampaignError, match="unknown campaign id.*Z"):
        campaign.select_campaigns(c, dt.date(2026, 10, 1), dt.date(2026, 10, 31), 12, ["Z"])


def test_campaigns_ending_the_same_day_are_ordered_by_id_in_any_row_order():
    end = dt.date(2026, 10, 7)
    c = pd.DataFrame({"campaign_id": ["Q", "B", "K", "A"], "end": [end, end, end, dt.date(2026, 10, 2)]})
    for order in itertools.permutations(range(4)):
        shuffled = c.iloc[list(order)].reset_index(drop=True)
        assert campaign.select_campaigns(shuffled, dt.date(2026, 10, 1), dt.date(2026, 10, 31), 1) == (
            ["A", "B", "K", "Q"], ["A", "B", "K", "Q"])


# ------------------------------------------------------------------ the sample retailer
@pytest.fixture(scope="module")
def sample_review(retailer):
    tables, truth = retailer
    rfm_params = notebook_params(load_settings(ROOT, []), "rfm_segmentation")
    a = campaign.analyse(tables, "2026-10", cr_params("league_months=36"), rfm_params, dt.date(2026, 10, 31))
    return a, {c["campaign_id"]: c for c in truth["campaigns"]}


@pytest.mark.slow
def test_sample_true_effects_inside_the_intervals(sample_review):
    a, truth = sample_review
    assert set(a.reviews) == set(truth) and a.reviewed == ["C2610"]
    for cid, t in truth.items():
        r = a.reviews[cid]
        assert r.evidence == ("holdout" if t["has_holdout"] else "matched_baseline"), cid
        est = r.figures["incremental_orders_per_target"]
        if t["has_holdout"]:
            assert est.ci_low <= t["true_incremental_orders_per_target"] <= est.ci_high, (cid, est)
    assert a.reviews["C2506"].n_comparison > 1000


@pytest.mark.slow
def test_sample_pull_forward_flags_only_the_campaign_that_has_it(sample_review):
    a, truth = sample_review
    flagged = {cid for cid, r in a.reviews.items() if r.pull_forward["flagged"]}
    assert flagged == {cid for cid, t in truth.items() if t["pull_forward"]} == {"C2511"}
    assert a.reviews["C2511"].verdict["reason"] == "pull_forward"
    # the campaign at the end of the data has only part of its after-window
    assert not a.reviews["C2610"].pull_forward["complete"] and a.reviews["C2610"].post_days_observed == 24


@pytest.mark.slow
def test_sample_report_pieces(sample_review):
    from memberkit.report import Results
    a, _ = sample_review
    r = a.reviews["C2610"]
    assert {"segment", "tier"} <= set(r.segments.dimension)
    assert set(r.daily.group) == {"target", "comparison"} and len(r.gap) == 31
    roi = [x.figures["roi"].value for x in a.league()]
    assert roi == sorted(roi, reverse=True)
    res = Results("campaign_review", "2026-10")
    view.record(EN, a, res, cr_params())
    d = res.to_dict()["results"]["campaigns"]
    assert d["C2511"]["pull_forward"]["flagged"] and d["C2506"]["evidence"] == "matched_baseline"
    for cid, x in d.items():
        e = x["figures"]["incremental_orders"]
        assert e["ci_low"] <= e["value"] <= e["ci_high"], cid
        assert x["figures"]["roi"]["value"] == pytest.approx(
            (x["figures"]["incremental_revenue"]["value"] * 0.3 - x["cost"]) / x["cost"])


def test_segments_before_each_start_come_from_one_query_and_are_unchanged(small_tables, monkeypatch):
    """The member table's rows the day before each reviewed campaign, and before each campaign the target list
    learns from (member_day: C2501 and C2610), in one query; for the campaigns' members and matched members
    only, equal to the whole table's rows; every review's figures as with the whole table."""
    tables, truth = small_tables
    rfm_params = notebook_params(load_settings(ROOT, []), "rfm_segmentation")
    named = ["C2603", "C2606", "C2610"]
    with monkeypatch.context() as m:
        queries = count_summary_queries(m)
        reviewed = record_calls(m, campaign, "review")
        a = campaign.analyse(tables, "2026-10", cr_params(f"campaigns=[{','.join(named)}]"), rfm_params,
                             dt.date(2026, 10, 31))
    day_before = {c["campaign_id"]: dt.date.fromisoformat(c["start"]) - dt.timedelta(days=1) for c in truth["campaigns"]}
    assert queries == [sorted(day_before[c] for c in [*named, "C2501"])]   # one query for the four
    assert set(a.member_tables) == set(queries[0])
    assert a.reviewed == named and len(a.reviews) > len(named)          # and the league's other campaigns
    for (members, info, params, baseline, segments), _ in reviewed:
        cid = info.campaign_id
        if cid not in named:
            assert segments is None, cid
            continue
        # what the report did before: the member table of the day before, one query per campaign
        before = member_table_one_query(tables, day_before[cid], rfm_params)[["member_id", "segment", "tier"]]
        pd.testing.assert_frame_equal(segments, before[before.member_id.isin(segments.member_id)].reset_index(drop=True))
        read = set(members.member_id) | (set(baseline.member_id) if baseline is not None else set())
        assert read & set(before.member_id) <= set(segments.member_id) and len(segments) < len(before) / 2
        new, old = a.reviews[cid], campaign.review(members, info, params, baseline, before)
        pd.testing.assert_frame_equal(new.segments, old.segments)
        assert new.figures == old.figures and new.verdict == old.verdict
    assert [c for c, r in a.reviews.items() if not r.segments.empty] == ["C2606", "C2610"]   # C2603: few members
    assert {"segment", "tier"} <= set(a.reviews["C2610"].segments.dimension)


def test_difference_in_differences_on_a_hand_computed_case():
    """pre_days 37 = 7 campaign days + 30 after, so the pre-window needs no scaling.
    target net (pre): 2 (1), 1 (1) -> change 1, 0; holdout net (pre): 1 (0), 0 (1) -> change 1, -1.
    Difference in means of net orders: 1.5 - 0.5 = 1.0; difference in differences: 0.5 - 0 = 0.5."""
    rows = [member("target", during=2, pre=1), member("target", during=1, pre=1),
            member("holdout", during=1, pre=0), member("holdout", pre=1)]
    info = pd.Series({"campaign_id": "C1", "name": "", "type": "", "start": START, "end": END, "cost": 10.0})
    r = campaign.review(campaign._derived(pd.DataFrame(rows)), info, cr_params("pre_days=37"))
    assert r.figures["incremental_orders_per_target"].value == pytest.approx(1.0)
    assert r.figures["did_orders_per_target"].value == pytest.approx(0.5)


def test_matched_baseline_reweights_to_the_target_strata():
    """No holdout: target members are compared with non-targeted members of the same stratum.
    Stratum 'recent' (last purchase 10 days before): target changes 2, 2; baseline 1, 0 (mean 0.5).
    Stratum 'old' (400 days): target change 1; baseline 0, 0, 0, 0. Weights 2/3 and 1/3:
    2/3 * 1.5 + 1/3 * 1 = 1.333."""
    target = [member("target", during=2), member("target", during=2), member("target", during=1, last_days_before=400)]
    baseline = [member("baseline", during=1), member("baseline")] + [
        member("baseline", last_days_before=400) for _ in range(4)]
    info = pd.Series({"campaign_id": "C1", "name": "", "type": "", "start": START, "end": END, "cost": 10.0})
    r = campaign.review(campaign._derived(pd.DataFrame(target)), info, cr_params(),
                        baseline=campaign._derived(pd.DataFrame(baseline)))
    assert r.evidence == "matched_baseline" and r.n_comparison == 6 and r.unmatched == 0
    assert r.figures["incremental_orders_per_target"].value == pytest.approx(2 / 3 * 1.5 + 1 / 3 * 1)
    assert r.figures["response_rate_comparison"] == pytest.approx(2 / 3 * 0.5 + 1 / 3 * 0)


def test_a_campaign_left_out_is_explained_in_the_pages_language():
    from types import SimpleNamespace
    a = SimpleNamespace(skipped={"C2506": "campaign C2506 has no holdout and no baseline members to compare with"},
                        skip_reasons={"C2506": {"reason": "no_comparison"}})
    assert view.skipped_notes(Presentation("zh", "CNY"), a) == ["C2506 未复盘：没有对照组，也没有可比较的未触达会员"]
    assert view.skipped_notes(Presentation("en", "CNY"), a) == [
        "C2506 was not reviewed: it has no holdout group and no comparable members who were not targeted"]


def test_a_campaign_without_cost_gets_no_return_and_says_why():
    members = hand_campaign()
    info = pd.Series({"campaign_id": "C1", "name": "", "type": "", "start": START, "end": END, "cost": float("nan")})
    r = campaign.review(members, info, cr_params())
    assert math.isnan(r.figures["roi"].value) and math.isnan(r.figures["cost_per_incremental_order"].value)
    assert r.verdict["reason"] == "no_cost"
    assert "cost" in view.verdict_sentence(EN, r, cr_params())


def test_period_totals_add_up_the_period_campaigns():
    members = hand_campaign()
    info = pd.Series({"campaign_id": "C1", "name": "", "type": "", "start": START, "end": END, "cost": 100.0})
    r = campaign.review(members, info, cr_params("margin=0.5"))
    a = campaign.CampaignAnalysis("2026-03", ["C1"], {"C1": r, "C0": r}, {})
    t = campaign.period_totals(a)
    assert t == {"reviewed": 1, "incremental_revenue": pytest.approx(370.0), "net_gain": pytest.approx(85.0),
                 "repeat": 0, "pull_forward": 0}


def test_net_gain_is_unknown_when_a_reviewed_campaign_has_no_cost():
    members = hand_campaign()
    p = cr_params("margin=0.5")
    costed = campaign.review(members, pd.Series({"campaign_id": "C1", "name": "", "type": "", "start": START,
                                                 "end": END, "cost": 100.0}), p)
    free = campaign.review(members, pd.Series({"campaign_id": "C2", "name": "", "type": "", "start": START,
                                               "end": END, "cost": float("nan")}), p)
    t = campaign.period_totals(campaign.CampaignAnalysis("2026-03", ["C1", "C2"], {"C1": costed, "C2": free}, {}))
    # extra revenue 370 each (the hand campaign); the margin of C2 is no gain while its cost is unknown
    assert t["reviewed"] == 2 and t["incremental_revenue"] == pytest.approx(740.0)
    assert math.isnan(t["net_gain"])
    assert EN.money(t["net_gain"]) == "–"
    # a campaign without cost outside the period (league only) leaves the period's net gain alone: 185 - 100
    t = campaign.period_totals(campaign.CampaignAnalysis("2026-03", ["C1"], {"C1": costed, "C2": free}, {}))
    assert t["net_gain"] == pytest.approx(85.0)


def test_equal_returns_rank_by_campaign_id_whatever_the_insertion_order():
    members = hand_campaign()
    p = cr_params("margin=0.5")
    reviews = {cid: campaign.review(members, pd.Series({"campaign_id": cid, "name": "", "type": "", "start": START,
                                                        "end": END, "cost": cost}), p)
               for cid, cost in [("Z", 100.0), ("M", 100.0), ("A", float("nan")), ("B", 100.0), ("C", 50.0)]}
    # ROI by hand: margin 185; cost 50 -> +270%; cost 100 -> +85% (B, M, Z tie); no cost last
    for order in itertools.permutations(reviews):
        a = campaign.CampaignAnalysis("2026-03", [], {c: reviews[c] for c in order}, {})
        assert [r.campaign_id for r in a.league()] == ["C", "B", "M", "Z", "A"]


def test_report_tables_read_the_hand_computed_figures():
    members = hand_campaign()
    info = pd.Series({"campaign_id": "C1", "name": "Test", "type": "coupon", "start": START, "end": END, "cost": 100.0})
    p = cr_params("margin=0.5")
    r = campaign.review(members, info, p)
    a = campaign.CampaignAnalysis("2026-03", ["C1"], {"C1": r}, {})
    figures = view.figures_frame(EN, r, p).set_index("Figure")
    assert figures.loc["Extra orders (campaign + 30 days after)", "Target"] == "3"
    assert figures.loc["Extra margin (50% of revenue)", "Target"] == "CN¥185"
    assert figures.loc["Return on cost", "Target"] == "+85%"
    assert figures.loc["Average order value during the campaign", "Holdout"] == "CN¥80"
    league, details = view.league_frame(EN, a), view.league_details_frame(EN, a)
    assert league.iloc[0]["Campaign"] == "1. C1 Test ★"
    # revenue and margin over their 95% intervals, as the orders and the return are (issue 23: C2501 read
    # CN¥36,540 of revenue beside 23 extra orders, -176 … 222, with no interval to say it is noise)
    revenue, margin = r.figures["incremental_revenue"], r.figures["incremental_margin"]
    assert details.iloc[0]["Extra revenue (95% interval)"] == (f"CN¥370\n({EN.money(revenue.ci_low)}\u00a0…\u00a0"
                                                        f"{EN.money(revenue.ci_high)})")
    assert revenue.ci_low < 370 < revenue.ci_high and margin.value == pytest.approx(revenue.value * 0.5)
    # decision first: the campaign and its verdict (a return of +85% with one campaign: repeat or change, by hand
    # the verdict the review reached) lead the table and stay in view
    assert list(league.columns[:2]) == ["Campaign", "Verdict"] and league.attrs["key_columns"] == 2
    # then its type and what the verdict rests on, before the details: the return on cost beside the margin and
    # the cost it is made of, so the summary's "which campaign types paid" (margin − cost per type) can be
    # checked on this page (issue 23)
    # (after why the row got its verdict, a column of words of its own that may wrap)
    assert list(league.columns[2:9]) == ["Why", "Type", "Return on cost (95% interval)", "Extra margin (95% interval)", "Cost",
                                         "Pull-forward", "Evidence"]
    assert (league.iloc[0]["Type"], league.iloc[0]["Cost"]) == ("coupon", "CN¥100")
    assert league.iloc[0]["Extra margin (95% interval)"] == (f"CN¥185\n({EN.money(margin.ci_low)}\u00a0…\u00a0"
                                                      f"{EN.money(margin.ci_high)})")
    # the rank leads the campaign's name (the number of its verdict sentence), not a column of its own; each
    # cell breaks at its own line breaks on screen too
    assert "#" not in league.columns and len(league.columns) == 9
    # the details in a table of their own, the campaign named first and kept in view: in one table of 14 columns
    # the verdict's reason wrapped to five lines on A4 and the last columns were cut mid-word at 1280 px
    assert list(details.columns) == ["Campaign", "Dates", "Targeted", "Extra orders (95% interval)", "Extra revenue (95% interval)",
                                     "Cost per extra order"] and details.attrs["key_columns"] == 1
    assert list(details["Campaign"]) == list(league["Campaign"])
    assert ".mk-table table.mk-lines td:not(:first-child){white-space:pre}" in page.CSS
    # on paper (A4, every column): a figure over its interval and a start over its end, broken there only
    assert league.iloc[0]["Return on cost (95% interval)"].count("\n") == 1 and details.iloc[0]["Dates"].count("\n") == 1
    assert 'class="mk-key mk-key2 mk-stack mk-lines"' in page.table_html(league)
    template = (ROOT / "lib/memberkit/templates/memberkit/index.html.j2").read_text()
    # figures keep their lines; words (verdict, type, pull-forward) may also wrap to fit the page's width
    assert "table-layout: auto !important" in template
    assert "table.mk-lines td:not(:first-child).mk-num { white-space: pre !important" in template
    assert "table.mk-lines td:not(:first-child):not(.mk-num) { white-space: pre-line !important" in template
    # the verdict with its reason on its own row, in the words of the summary's decisions
    assert league.iloc[0]["Verdict"] == r.verdict["decision"]
    assert league.iloc[0]["Why"] == EN.text(f"cr.why_short.{r.verdict['reason']}") and "\n" not in league.iloc[0]["Why"]
    assert view.members_frame(EN, r).iloc[0]["Targeted members"] == "1"
    assert "C1 Test" in view.verdict_sentence(EN, r, p) and view.pull_forward_sentence(EN, r)


@pytest.mark.slow
def test_sample_campaign_that_truly_pays_is_the_one_to_repeat(sample_review):
    """The generator records each campaign's realized incremental revenue; at the report's margin only
    C2610 (cheap, clear response) pays for itself, by a wide margin, and the review says repeat."""
    a, truth = sample_review
    margin = cr_params().margin
    assert {cid for cid, t in truth.items() if t["break_even_margin"] < margin / 2} == {"C2610"}
    assert a.reviews["C2610"].verdict == {"decision": "repeat", "reason": "pays"}
    assert a.reviews["C2610"].figures["roi"].ci_low > 0
    for cid, t in truth.items():
        if t["break_even_margin"] > margin:   # truly loses money: never to be repeated
            assert a.reviews[cid].verdict["decision"] != "repeat", cid


def test_segment_rows_count_members_like_every_other_page():
    from types import SimpleNamespace
    x = SimpleNamespace(dimension="tier", group="金卡", n_target=12345, n_comparison=678, incremental_orders_per_target=0.0123,
                        ci_low=-0.002, ci_high=0.0266, incremental_margin_per_target=1.5, discount_per_target=2.25,
                        result="worked")
    row = view._segment_row(EN, x)
    assert row[EN.text("cr.col_n")] == "12,345 / 678"
    assert row[EN.text("cr.col_orders_per_1000")] == "12 (-2 … 27)"
    zh = view._segment_row(Presentation("zh", "CNY"), x)
    assert zh[Presentation("zh", "CNY").text("cr.col_n")] == "12,345 / 678"


def test_a_campaign_is_named_alike_on_its_page_and_on_the_summary():
    from memberkit import month
    assert campaign.campaign_title("C2610", "Double 11") == "C2610 Double 11"
    assert campaign.campaign_title("C2610", "C2610") == "C2610" and campaign.campaign_title("C2610", None) == "C2610"
    results = {"results": {"campaigns": {"C2610": {"rank": 1, "reviewed_in_period": True, "name": "Double 11",
                                                   "verdict": {"decision": "stop"}, "figures": {}}}}}
    decision, = month.decisions([month.ReportState("campaign_review", "ok", results)])
    assert decision.subject == "C2610 Double 11"


def test_the_page_explains_why_a_pull_forward_campaign_reads_change_with_a_lower_return_than_a_stop():
    """C2511 (pull-forward, -96%) reads change while C2501 (-63%) reads stop: the page says the pull-forward
    rule comes first and why, with the run's own post-campaign days and share."""
    p = cr_params("post_days=30", "pull_forward_share=0.5")
    for language in ("en", "zh"):
        rules = view.verdict_rules(Presentation(language, "CNY"), p)
        assert "30" in rules and "50%" in rules
    rules = view.verdict_rules(EN, p)
    assert rules.startswith("One rule gives the verdicts:") and rules.count(". ") == 0   # one plain sentence
    assert "only brought orders forward" in rules and "no clear response" in rules and "reads stop" in rules
    # each row says why: the pull-forward campaign (change at -96%) beside one with no clear response (stop at -63%)
    assert view.verdict_why(EN, {"decision": "change", "reason": "pull_forward"}) == "moved orders forward"
    assert view.verdict_why(EN, {"decision": "stop", "reason": "no_effect"}) == "no clear response"
    assert view.verdict_why(Presentation("zh", "CNY"), {"decision": "change", "reason": "does_not_pay"}) == "有响应，但成本吃掉了收益"
    # a reason is a few words of its own column, which wraps them (no line breaks of its own), and short:
    # about three lines of the printed column at most
    for language, most in (("en", 27), ("zh", 12)):
        for reason in ("pays", "no_effect", "does_not_pay", "uncertain_return", "pull_forward", "no_cost"):
            cell = view.verdict_why(Presentation(language, "CNY"), {"decision": "change", "reason": reason})
            assert "\n" not in cell and len(cell) <= most, cell
    # the summary says what the month's campaigns made as a net gain after cost, not "it returned CN¥6,534"
    happened = EN.text("month.happened_campaigns_one", n=1, repeat=1, change=0, stop=0, net="CN¥6,534")
    assert happened.endswith("its net gain after cost: CN¥6,534.") and "returned" not in happened
    nb = (ROOT / "notebooks/05_campaign_review.ipynb").read_text()
    assert "view.verdict_rules(p, params)" in nb


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_new_won_back_and_lost_table_reads_on_a_phone_and_names_its_days(language):
    """At 420 px the table showed its row names only (three columns, so it was not stacked like the wide
    tables, and its names are sentences); its won-back row said 'silent before' and '(of 2,374 lapsed)', two of
    DOMAIN.md's stages for one group: members with no order in the silent_days before the campaign."""
    from memberkit.views import Presentation
    members = hand_campaign()
    info = pd.Series({"campaign_id": "C1", "name": "Test", "type": "coupon", "start": START, "end": END, "cost": 100.0})
    p = cr_params("margin=0.5", "silent_days=60")
    r = campaign.review(members, info, p)
    frame = view.members_frame(Presentation(language), r, p.silent_days)
    html = page.table_html(frame)
    assert "mk-stack" in html and html.count("data-label=") == frame.size
    won_back = frame.iloc[1, 0]
    assert ("no order in the 60 days before" if language == "en" else "活动前 60 天无订单") in won_back
    for word in ("silent", "lapsed", "沉默", "流失"):
        assert word not in won_back


def league_results(*campaigns) -> dict:
    """campaign_review.json's results with campaigns of (id, verdict, ended in the period)."""
    return {"has_table": True, "campaigns": {
        cid: {"rank": i, "reviewed_in_period": ended, "name": cid, "type": "coupon", "verdict": {"decision": d},
              "pull_forward": {"flagged": False}} for i, (cid, d, ended) in enumerate(campaigns, 1)}}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_and_the_campaign_page_count_verdicts_with_their_scope(language):
    """Issue 23: the summary said '0 to change, 0 to stop' (this month's campaigns) while the campaign page's league
    listed three of each (every campaign reviewed). The counts are of two sets, and each says which: the summary
    counts the month's campaigns 'of those' that ended in it, then the league's; the campaign page's cards say 'of this
    period's campaigns' with the league's number, and the league's own counts stand under its heading."""
    from memberkit.month import MonthSummary, ReportState
    from memberkit.views import Presentation
    from memberkit.views import month as month_views
    r = league_results(("A", "repeat", True), ("B", "stop", False), ("C", "change", False), ("D", "stop", False),
                       ("E", "change", False), ("F", "stop", False), ("G", "change", False))
    assert campaign.verdict_counts(r, True) == {"campaigns": 1, "repeat": 1, "change": 0, "stop": 0}
    assert campaign.verdict_counts(r, False) == {"campaigns": 7, "repeat": 1, "change": 3, "stop": 3}
    assert campaign.verdict_counts({}, False) == {"campaigns": 0, "repeat": 0, "change": 0, "stop": 0}
    p = Presentation(language, "CNY")
    res = {"results": r, "kpis": {"reviewed": 1, "repeat": 1, "pull_forward": 0, "net_gain": 6534.0,
                                  "incremental_revenue": 31779.0}, "period": "2026-10"}
    s = MonthSummary("2026-10", language, "CNY", [ReportState("campaign_review", "ok", res)], None)
    said = next(x for x in month_views.happened(s) if x.startswith(("Campaigns", "活动")))
    league = p.text("month.happened_campaigns_league", n=7, repeat=1, change=3, stop=3)
    assert said == p.counted("month.happened_campaigns", 1, n=1, repeat=1, change=0, stop=0, net=p.money(6534.0)) + \
        p.sentence_sep + league, said
    assert ("of those" in said and "those of the months before" in said) if language == "en" else \
        ("其中" in said and "含此前几个月" in said)
    # the campaign page: the cards' counts are the period's, each with the league's beside it
    cards = {k.label: k for k in view.kpis(p, res)}
    assert cards[p.text("cr.kpi_repeat")].delta == p.text("cr.kpi_of_period_sub", n="1", total="7")
    counts = view.league_counts(p, res)
    assert counts == p.text("cr.league_counts", n="7", repeat="1", change="3", stop="3", period="1")
    assert view.league_counts(p, {"results": {"campaigns": {}}}) == ""
    # a month whose campaigns are the whole league says its counts once
    alone = {**res, "results": league_results(("A", "repeat", True))}
    s = MonthSummary("2026-10", language, "CNY", [ReportState("campaign_review", "ok", alone)], None)
    said = next(x for x in month_views.happened(s) if x.startswith(("Campaigns", "活动")))
    assert p.text("month.happened_campaigns_league", n=1, repeat=1, change=0, stop=0) not in said
    nb = (ROOT / "notebooks/05_campaign_review.ipynb").read_text()
    assert "view.league_counts(p, results.to_dict())" in nb


@pytest.mark.slow
def test_on_the_sample_the_league_counts_are_the_league_tables_verdicts(sample_review):
    """The counts under the league's heading are the verdicts its table lists, row by row."""
    a, _ = sample_review
    from memberkit.report import Results
    results = Results("campaign_review", "2026-10")
    view.record(EN, a, results, cr_params("league_months=36"))
    res = results.to_dict()
    table = view.league_frame(EN, a)
    listed = table["Verdict"].value_counts()
    league = campaign.verdict_counts(res["results"], False)
    assert league["campaigns"] == len(table) and all(league[d] == listed.get(d, 0) for d in ("repeat", "change", "stop"))
    ended = campaign.verdict_counts(res["results"], True)
    assert ended["campaigns"] == res["kpis"]["reviewed"] and ended["repeat"] == res["kpis"]["repeat"]
    assert EN.count(league["change"]) in view.league_counts(EN, res)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_won_back_tables_last_column_holds_what_its_heading_says(language):
    """Issue 23: the column 'Beyond the comparison (95% CI)' held two counts with their intervals and, for the
    high-value members lost, the two groups' rates, which are no interval. The heading says what every cell holds
    (each row against the comparison); a cell with an interval names it, with its level, and the rates row names
    both groups' rates."""
    from memberkit.views import Presentation
    members = hand_campaign()
    info = pd.Series({"campaign_id": "C1", "name": "Test", "type": "coupon", "start": START, "end": END, "cost": 100.0})
    p = cr_params("margin=0.5")
    r = campaign.review(members, info, p)
    pres = Presentation(language)
    frame = view.members_frame(pres, r, p.silent_days)
    heading = frame.columns[2]
    level = "95% interval" if language == "en" else "95% 置信区间"
    assert heading == pres.text("cr.col_members_incremental") and "95%" not in heading and "CI" not in heading
    f = r.figures
    for i, key in enumerate(("incremental_new_buyers", "incremental_reactivated")):
        e, cell = f[key], frame.iloc[i, 2]
        assert level in cell and pres.count(abs(e.ci_low)) in cell and pres.count(abs(e.ci_high)) in cell, cell
        assert cell.startswith(("+", "-")), cell    # a difference from the comparison, with its sign
    rates = frame.iloc[2, 2]
    assert "95%" not in rates and pres.pct(f["high_value_lost_rate_target"]) in rates
    assert pres.pct(f["high_value_lost_rate_comparison"]) in rates


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_league_says_no_pull_forward_only_where_the_check_shows_none(language):
    """The league's pull-forward column said 'no' for C2610, whose check had 24 of its 30 days, and for C2501,
    which gave back 87% of its lift with an interval just crossing zero: 'no' read as a clean bill. Now 'no' is
    only a finished check where the target bought as many orders as the comparison or more after it."""
    from memberkit.views import Presentation
    p = Presentation(language)

    def check(after, flagged=False, complete=True, days=30):
        return {"flagged": flagged, "complete": complete, "days_after_observed": days, "share_given_back": 0.87,
                "after_per_target": {"value": after, "ci_low": after - 0.07, "ci_high": after + 0.07}}
    assert view.pull_forward_word(p, check(-0.12, flagged=True)) == p.text("cr.flag_yes")
    not_yet = view.pull_forward_word(p, check(-0.016, complete=False, days=24))
    assert view.pull_forward_word(p, check(-0.062)) == p.text("cr.flag_not_clear")
    assert view.pull_forward_word(p, check(0.004)) == view.pull_forward_word(p, check(0.0)) == p.text("cr.flag_no")
    # two lines, as intervals; the days kept with their unit (a no-break space)
    assert not_yet == ("not yet\n(24\u00a0days)" if language == "en" else "尚未完成\n（24\u00a0天）")


def test_cost_per_extra_order_is_not_meaningful_when_the_extra_orders_are_not_clear():
    """Issue 23: 'Cost per extra order CN¥1,318' stood beside 23 extra orders with an interval of -176 to 222.
    When the extra orders' interval includes 0 the cost per order means nothing: the league, the card and the
    figures table say so instead of a number."""
    members = hand_campaign()
    info = pd.Series({"campaign_id": "C1", "name": "Test", "type": "coupon", "start": START, "end": END, "cost": 100.0})
    p = cr_params("margin=0.5")
    r = campaign.review(members, info, p)
    f = r.figures
    clear = view.orders_clear(f)
    assert clear == (f["incremental_orders"].ci_low > 0 or f["incremental_orders"].ci_high < 0)
    unclear = campaign.Estimate(23.0, -176.0, 222.0)
    vague = {**f, "incremental_orders": unclear, "cost_per_incremental_order": campaign.Estimate(1318.0, -5.0, 9.0)}
    assert not view.orders_clear(vague)
    assert view.cost_per_order(EN, vague) == "not meaningful" and view.cost_per_order(ZH, vague) == "无意义"
    sure = {**f, "incremental_orders": campaign.Estimate(167.0, 93.0, 240.0), "cost_per_incremental_order": campaign.Estimate(18.0, 12.0, 32.0)}
    assert view.orders_clear(sure) and view.cost_per_order(EN, sure) == "CN¥18"
    r.figures = vague
    card = view.campaign_kpis(EN, r)[-1]
    assert (card.label, card.value, card.delta) == ("Cost per extra order", "–", "not meaningful: the extra orders are not clear")
    row = view.figures_frame(EN, r, p).set_index("Figure").loc["Cost per extra order"]
    assert row["Target"] == "not meaningful" and row["95% interval"] == ""
    a = campaign.CampaignAnalysis("2026-03", ["C1"], {"C1": r}, {})
    assert view.league_details_frame(EN, a).iloc[0]["Cost per extra order"] == "not meaningful"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_pull_forward_card_says_which_campaigns_it_counts(language):
    """'Pull-forward flagged 0 — 1 in the league table' was unclear: the card counts this period's campaigns
    and says how many of the whole league were flagged."""
    from memberkit.views import Presentation
    p = Presentation(language)
    league = {"A": {"pull_forward": {"flagged": True}}, "B": {"pull_forward": {"flagged": False}}, "C": {}}
    res = {"period": "2026-10", "kpis": {"reviewed": 1, "pull_forward": 0}, "results": {"campaigns": league}}
    card = view.kpis(p, res)[-1]
    if language == "en":
        assert (card.label, card.value) == ("Only moved orders forward", "0 campaigns")
        assert card.delta == "of this period's campaigns; 1 of the 3 in the league table"
    else:
        assert card.delta == "本期活动中；排行榜 3 个活动中有 1 个"


def test_return_means_the_ratio_and_the_money_has_its_own_words():
    """Issue 23: 'return' meant money on the campaign page ('a return of CN¥64,149') and a ratio in the league
    ('return on cost +218%'). In the English catalogue 'return' now only ever reads 'return on cost'; money
    after costs is a 'net gain'."""
    import re
    import yaml
    catalogue = yaml.safe_load((ROOT / "lib/memberkit/locale/en.yaml").read_text(encoding="utf-8"))
    found = []

    def walk(node, path):
        for k, v in node.items():
            key = f"{path}.{k}" if path else str(k)
            if isinstance(v, dict):
                walk(v, key)
            elif isinstance(v, str):
                # 'returns' of goods, 'return lines' and 'not a return' are the goods coming back, not a figure
                for m in re.finditer(r"\breturn\b(?! on cost)(?! line)", v):
                    if not re.search(r"not a return\Z", v[:m.end()]):
                        found.append((key, v[max(0, m.start() - 30):m.end() + 20]))
    for section in ("cr", "uplift", "month", "ledger", "profile"):
        walk(catalogue[section], section)
    assert not found, found
    assert "net gain" in catalogue["uplift"]["headline_model"] and "net gain" in catalogue["uplift"]["summary_model"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_extra_members_in_either_group_read_none_not_plus_zero_to_plus_zero(language):
    """Issue 23: a campaign with no first-time buyers in either group read '+0 (95% interval +0 to +0)'. A zero with
    an interval of zero width, as shown, reads plainly; any other difference keeps its sign and its interval."""
    from memberkit.views import campaign as view
    p = Presentation(language)
    none = view.members_beyond(p, 0.0, 0.0, 0.0)
    assert none == ("none" if language == "en" else "无") and "+0" not in none
    assert view.members_beyond(p, 0.2, -0.3, 0.4) == view.members_beyond(p, 0.0, 0.0, 0.0)   # all shown as 0
    some = view.members_beyond(p, 12.0, -3.0, 27.0)
    assert "+12" in some and "+27" in some and "3" in some and "95%" in some
    assert "+0" in view.members_beyond(p, 0.0, -4.0, 4.0)   # a zero whose interval has width keeps it
    assert view.members_beyond(p, float("nan"), 0.0, 0.0).startswith("–")


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_each_verdict_is_said_once_on_the_page_and_paper_drops_the_type_naming_those_the_names_do_not_give(sample_review, language):
    """Issue 23: the campaign page gave C2610's verdict sentence three times (the top, the league's numbered lines, the
    campaign's section), the A/B page each verdict twice. The sentence stands at the top; the league's line and the
    section refer to it. On paper the league (in 9.5 pt type) leaves out its type column in both editions (kept in
    Chinese, it squeezed the names to four lines), its printed line naming the type of each name that does not say it."""
    import json
    from memberkit.views import campaign as view
    from memberkit.views import page
    a, _ = sample_review
    p, params = Presentation(language), cr_params("league_months=36")
    said = view.verdict_sentence(p, a.reviews["C2610"], params)
    lines = view.league_sentences(p, a, params)
    assert len(lines) == len(a.league()) and not any(said in line for line in lines), lines
    for rank, r in enumerate(a.league(), 1):
        if r.campaign_id not in a.reviewed:
            assert lines[rank - 1] == f"{rank}. {view.verdict_sentence(p, r, params)}"
    section = view.section_verdict(p, a.reviews["C2610"])
    assert said not in section and p.text("cr.decision_repeat") in section and "%" not in section
    for name, calls in (("05_campaign_review", "view.verdict_sentence("), ("04_ab_test", "view.verdict_html(")):
        source = "".join("".join(c["source"]) for c in json.loads(
            (ROOT / f"notebooks/{name}.ipynb").read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code")
        assert source.count(calls) == 1 and "view.section_verdict(p, r)" in source, name
    league = view.league_frame(p, a)
    dropped = league.attrs.get(page.PRINTED_WITHOUT)
    # both editions leave the type column off paper (issue 23: in Chinese it squeezed the names to four lines),
    # the printed line naming the type of each campaign whose name does not say it
    assert dropped and list(league.columns)[dropped[0][0]] == p.text("cr.col_type")
    html = page.table_html(league)
    assert html.count("mk-screen-only") == len(league) + 1 and page.escape(dropped[1]) in html
    for r in (r for r in a.league() if r.type):
        told = p.code("campaign_types", r.type) in view.title(p, r)
        assert told == (f"{r.campaign_id} {p.code('campaign_types', r.type)}" not in dropped[1]), (r.campaign_id, dropped[1])


@pytest.mark.parametrize("language, one, two", [
    ("en", "1 of the 3 campaigns in the league paid back its cost with confidence: ",
     "2 of the 3 campaigns in the league paid back their cost with confidence; the best return on cost was "),
    ("zh", "排行榜中 3 个活动里，有 1 个确定收回了成本：", "排行榜中 3 个活动里，有 2 个确定收回了成本；投入回报率最高的是 ")])
def test_the_headline_agrees_with_how_many_campaigns_paid(language, one, two):
    """'1 of the 7 campaigns in the league paid back their cost; the best return on cost was ...': one campaign
    that paid is named as the one, with its own cost; two or more keep 'their' and name the best."""
    def league(lows):
        return {"results": {"campaigns": {f"C{i}": {"rank": i, "name": f"campaign {i}", "type": "member_day",
                                                    "figures": {"roi": {"value": 0.5 - 0.1 * i, "ci_low": low}}}
                                          for i, low in enumerate(lows, 1)}}}
    p = Presentation(language, "CNY")
    said = view.headline(p, league([0.1, -0.2, float("nan")]))
    assert said.startswith(one) and "campaign 1" in said and "their" not in said and "最高" not in said, said
    assert view.headline(p, league([0.2, 0.1, -0.3])).startswith(two)
