"""The month on one page: figures over 13 months, what the reports concluded, the pages and the PDF."""
import datetime as dt
import json
import re

import ibis
import pandas as pd
import pytest

from memberkit import kpi, month
from memberkit.views import month as month_views
from memberkit.views.page import visible_text
from memberkit.month import ReportState

from .conftest import ROOT

NAMES = ["data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"]


# ------------------------------------------------------------------ the figures
def hand_orders():
    """Members a, b, c joined 2025-01-05 / 2025-06-10 / 2026-10-03. October 2026: a buys twice (100, 50) and
    returns 20; b buys once (30); c once (40). September 2026: a buys once (80). October 2025: b buys (60).
    The data begin with a's order of 2025-06-01 (20)."""
    rows = [("a", "1", dt.date(2026, 10, 2), 100.0), ("a", "2", dt.date(2026, 10, 20), 50.0),
            ("a", "R1", dt.date(2026, 10, 25), -20.0), ("b", "3", dt.date(2026, 10, 9), 30.0),
            ("c", "4", dt.date(2026, 10, 30), 40.0), ("a", "5", dt.date(2026, 9, 14), 80.0),
            ("b", "6", dt.date(2025, 10, 11), 60.0), (None, "7", dt.date(2026, 10, 5), 999.0),
            ("a", "8", dt.date(2025, 6, 1), 20.0)]
    orders = ibis.memtable({"member_id": [r[0] for r in rows], "order_id": [r[1] for r in rows],
                            "order_date": [r[2] for r in rows], "amount": [r[3] for r in rows]})
    members = ibis.memtable({"member_id": ["a", "b", "c"],
                             "join_date": [dt.date(2025, 1, 5), dt.date(2025, 6, 10), dt.date(2026, 10, 3)]})
    return orders, members


def test_month_figures_on_a_hand_computed_case():
    orders, members = hand_orders()
    f = kpi.month_figures(orders, members, "2026-10")
    assert list(f.index) == [f"2025-{m}" for m in (10, 11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    assert list(f.columns) == list(kpi.MONTH_FIGURES)
    oct26, sep26, oct25 = f.loc["2026-10"], f.loc["2026-09"], f.loc["2025-10"]
    # revenue nets the return and leaves the guest order out: 100 + 50 - 20 + 30 + 40
    assert oct26.member_revenue == pytest.approx(200.0) and sep26.member_revenue == 80.0
    assert oct25.member_revenue == 60.0 and f.loc["2026-01"].member_revenue == 0.0
    # active at 31 Oct (a purchase in the 90 days to it, joined by then): a, b, c; at 30 Sep: a only
    assert oct26.active_members == 3 and sep26.active_members == 1 and oct25.active_members == 1
    assert oct26.activity_rate == pytest.approx(3 / 3) and sep26.activity_rate == pytest.approx(1 / 2)
    assert oct26.repurchase_rate == pytest.approx(1 / 3)            # a has two orders of three buyers
    assert oct26.average_order_value == pytest.approx(200.0 / 4)    # net revenue over four orders
    assert oct26.member_growth_rate == pytest.approx(1 / 2)         # c joined; a and b before
    early = kpi.month_figures(orders, members, "2026-03").loc["2025-03"]   # before the data begin: not known
    assert early.isna().all()
    for p in ("2026-10", "2026-09", "2025-10"):                      # the same functions as the RFM report
        for key, value in kpi.key_figures(orders, members, p).items():
            assert f.loc[p, key] == pytest.approx(value, nan_ok=True), (p, key)


@pytest.fixture(scope="module")
def figures():
    orders, members = hand_orders()
    return month.compute_figures({"orders": orders, "members": members}, "2026-10")


def test_compare_reads_the_previous_month_and_a_year_earlier(figures):
    assert month.compare(figures, "member_revenue") == {"current": 200.0, "previous": 80.0, "year_ago": 60.0}
    assert month.compare(figures, "average_order_value")["current"] == pytest.approx(50.0)
    assert json.loads(json.dumps(figures)) == figures          # plain JSON, missing rates as null
    assert figures["figures"]["repurchase_rate"][3] is None    # 2026-01: nobody bought


# ------------------------------------------------------------------ what the reports concluded
def campaign_results(**verdicts):
    campaigns = {}
    for rank, (cid, (decision, in_period, roi)) in enumerate(verdicts.items(), 1):
        campaigns[cid] = {"rank": rank, "reviewed_in_period": in_period, "name": f"<b>{cid}</b>", "cost": 1000.0,
                          "evidence": "holdout", "verdict": {"decision": decision, "reason": {
                              "repeat": "pays", "stop": "no_effect", "change": "does_not_pay"}[decision]},
                          "figures": {"roi": {"value": roi, "ci_low": roi - 0.2, "ci_high": roi + 0.2}}}
    return {"period": "2026-10", "kpis": {"reviewed": 1, "net_gain": -5.0}, "results": {"campaigns": campaigns}}


def ab_results():
    def exp(decision, variant=None):
        return {"verdict": {"decision": decision, "variant": variant},
                "metrics": {"conversion": {"B": {"rel_lift": 0.12, "ci_low": 0.02, "ci_high": 0.22}}}}
    return {"period": "2026-10", "kpis": {},
            "results": {"primary_metric": "conversion", "experiments": {
                "E1": exp("ship", "B"), "E2": exp("not_enough_evidence"), "E3": exp("no_verdict")}}}


def clv_results():
    return {"period": "2026-10", "kpis": {"high_value_at_risk": 12}, "results": {"horizon_months": 12, "totals": {
        "members": 17581, "high_value_at_risk": 12, "high_value_at_risk_past_revenue": 34567.0,
        "high_value_at_risk_clv": 890.0, "observation_end": "2026-10-31"}}}


def test_decisions_list_what_needs_someone():
    reports = [ReportState("campaign_review", "ok", campaign_results(
                   C1=("repeat", True, 0.6), C2=("stop", True, -0.7), C3=("change", False, -0.2))),
               ReportState("ab_test", "ok", ab_results()), ReportState("clv_forecast", "ok", clv_results())]
    d = month.decisions(reports)
    # the period's campaigns only, stop first; ship and the broken split, not the ones still waiting
    assert [(x.kind, x.action, x.subject) for x in d] == [
        ("campaign", "stop", "C2 <b>C2</b>"), ("campaign", "repeat", "C1 <b>C1</b>"),
        ("experiment", "ship", "E1"), ("experiment", "no_verdict", "E3"), ("at_risk", "win_back", "")]
    assert d[2].values["lift"] == 0.12 and d[-1].values["members"] == 12
    assert d[-1].values["list"] == "data/clv_members.csv"
    # each decision links to its own section of the report page, not to the top of it
    assert [x.link for x in d] == ["campaign_review.html#campaign-C2", "campaign_review.html#campaign-C1",
                                   "ab_test.html#experiment-E1", "ab_test.html#experiment-E3",
                                   "clv_forecast.html#at-risk"]
    # a failed report contributes nothing
    assert month.decisions([ReportState("campaign_review", "failed", None, "boom")]) == []


def test_an_experiment_on_an_outcome_is_summarised_by_its_own_metric(figures):
    """The run-wide primary metric is conversion; E9 was judged on the export's outcome column 'retained'."""
    ab = {"period": "2026-10", "kpis": {}, "results": {"primary_metric": "conversion", "experiments": {
        "E9": {"primary_metric": "retained", "verdict": {"decision": "ship", "variant": "B"},
               "metrics": {"retained": {"B": {"rel_lift": 0.1, "ci_low": 0.02, "ci_high": 0.18, "control_mean": 0.5,
                                              "variant_mean": 0.55, "p_value_adjusted": 0.01}}}},
        "E8": {"primary_metric": "<kept>", "verdict": {"decision": "do_not_ship", "variant": None},
               "metrics": {"<kept>": {"B": {"rel_lift": -0.2, "ci_low": -0.3, "ci_high": -0.1}}}}}}}
    s = summary(figures)
    s.reports = [r for r in s.reports if r.name != "ab_test"] + [ReportState("ab_test", "ok", ab)]
    s.decisions = month.decisions(s.reports)
    e9 = next(d for d in s.decisions if d.subject == "E9")
    assert (e9.values["metric"], e9.values["lift"], e9.values["lift_low"]) == ("retained", 0.1, 0.02)
    sentences = [visible_text(d["sentence"]) for d in month_views.decision_items(s) if d["kind"] == "experiment"]
    # the groups' values beside the relative lift (issue 23); a number, as the results give no kind for it here
    assert sentences == ["variant B of E9: retained 0.500 → 0.550 (+0.050), a relative lift of +10.0% (95% interval +2.0% to +18.0%). No incentive cost is set "
                         "for it, so its margin was not weighed.",
                         "E8: the variants do worse than control on <kept>."]
    page = month_views.render_summary(s)                         # no KeyError; the name escaped on the page
    assert "retained 0.500 → 0.550 (+0.050), a relative lift of +10.0%" in visible_text(page)
    assert "on &lt;kept&gt;." in page and "<kept>" not in page
    # each group's value is marked as its figure (issue 23)
    assert '<span data-figure="ab_test.E9.retained.B" data-period="2026-10" data-value="0.55">0.550</span>' in page


def test_report_states_read_the_folder_and_this_run(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "zh").mkdir()
    (tmp_path / "en" / "data_cleaning.html").write_text("x")
    # written before results held numbers only: the words are read past
    (tmp_path / "data_cleaning.json").write_text(json.dumps({"title": "Data cleaning", "headline": "h", "language": "en",
                                                             "kpis": {"rows_read": {"value": 9, "label": "Rows read"}}}))
    (tmp_path / "en" / "rfm_segmentation.html").write_text("x")      # a page without results: not trusted
    (tmp_path / "en" / "clv_forecast.failed.ipynb").write_text("{}")
    (tmp_path / "zh" / "ab_test.html").write_text("x")               # the other edition's page: not this one's
    (tmp_path / "ab_test.json").write_text('{"kpis": {}}')
    (tmp_path / "manifest.json").write_text(json.dumps({"reports": {"clv_forecast": {
        "status": "failed", "cell": 7, "error": "ValueError: no"}}}))

    class Outcome:
        status, error, cell = "skipped", "data_cleaning failed", None
    states = {s.name: s for s in month.report_states(tmp_path, NAMES, {"campaign_review": Outcome()})}
    assert states["data_cleaning"].status == "ok" and states["data_cleaning"].results == {"kpis": {"rows_read": 9}}
    assert states["rfm_segmentation"].status == "not_run" and states["ab_test"].status == "not_run"
    assert (states["clv_forecast"].status, states["clv_forecast"].cell) == ("failed", 7)
    assert states["campaign_review"].status == "skipped"
    chinese = {s.name: s.status for s in month.report_states(tmp_path, NAMES, language="zh")}
    assert chinese == {"data_cleaning": "not_run", "rfm_segmentation": "not_run", "clv_forecast": "not_run",
                       "ab_test": "ok", "campaign_review": "not_run"}


def _in_both() -> int:
    """a and b were segmented last month; a, b and c now: two members are in both months."""
    from memberkit import rfm
    keys = ["important_value", "general_develop"]
    return rfm.members_in_both(rfm.migration_matrix(pd.Series({"a": keys[0], "b": keys[1]}),
                                                    pd.Series({"a": keys[1], "b": keys[1], "c": keys[0]}), keys))


def summary(figures, language="en", **overrides):
    reports = [ReportState("data_cleaning", "ok", {"period": "2026-10", "kpis": {"rows_read": 105, "rows_kept": 93},
                                                   "results": {"unknown_statuses": {"<i>enough</i>": 3}, "tables": {
                                                       "orders": {"rows_in": 100, "kept": 90, "rejected": 10},
                                                       "members": {"rows_in": 5, "kept": 3, "rejected": 2}}}}),
               ReportState("rfm_segmentation", "ok", {"period": "2026-10", "kpis": {"members_segmented": 3},
                   "results": {"members_with_tier": 3, "migration_members": _in_both(), "window_days": 365}}),
               ReportState("clv_forecast", "ok", clv_results()),
               ReportState("ab_test", "failed", None, "ValueError: <script>alert(1)</script>", 4),
               ReportState("campaign_review", "ok", campaign_results(C2610=("repeat", True, 1.5)))]
    s = month.MonthSummary("2026-10", language, "CNY", reports, figures, "", month.decisions(reports),
                           month.member_counts(reports))
    for k, v in overrides.items():
        setattr(s, k, v)
    return s


def test_summary_page_answers_first_and_escapes_what_comes_from_data(figures):
    page = month_views.render_summary(summary(figures))
    assert page.index('id="mk-warning"') < page.index('id="mk-figures"') < page.index('id="mk-decisions"')
    assert len(re.findall(r'class="mk-figure" data-card=', page)) == 7
    assert "¥200" in page and "+150.0% vs September 2026" in page and "+233.3% vs October 2025" in page
    assert "Ab_test" not in page and "failed in cell 4" in page                  # the failure is named
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>C2610</b>" not in page and "&lt;b&gt;C2610&lt;/b&gt;" in page
    assert "were set aside (&lt;i&gt;enough&lt;/i&gt; 3)" in page and "<i>enough" not in page
    assert 'href="campaign_review.html"' in page and 'href="ab_test.html"' not in page   # no link to a failed page
    assert "3 members remain after cleaning" in page and "2 were segmented at the end of both" in page
    from memberkit.views.page import visible_text
    assert "Members spent CN¥200 in October 2026 (+150.0% on September 2026" in visible_text(page)   # CLDR: CN¥ in English
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) and "<script" not in page


def test_summary_page_in_chinese_and_without_figures(figures):
    page = month_views.render_summary(summary(figures, "zh"))
    assert '<html lang="zh-CN">' in page and "本月概览" in page and "关键指标" in page and "较 2026年9月" in page
    missing = month_views.render_summary(summary(None, figures_error="InputError: orders.csv unreadable"))
    assert 'id="mk-figures"' not in missing and "The key figures could not be computed: InputError" in missing


def test_counts_sentence_waits_for_the_reports_it_needs(figures):
    s = summary(figures)
    s.counts = month.member_counts([r for r in s.reports if r.name != "clv_forecast"])
    assert month_views.counts_sentence(s).startswith("Member counts cannot be reconciled")


def test_sparkline_holds_only_numbers_and_breaks_at_gaps():
    svg = str(month_views.sparkline([0.1, 0.2, None, 0.15, 0.3], label='<x> & "y"'))
    assert svg.count("<polyline") == 2
    assert svg.count('stroke-linecap="round"') == 2      # dots: first (also the lowest) and last (also the highest)
    assert "&lt;x&gt; &amp; &#34;y&#34;" in svg
    assert 'stroke="#2e7d32"' in svg                                  # up is good for this figure
    assert 'stroke="#c62828"' in str(month_views.sparkline([0.1, 0.3], good_up=False))
    assert "<polyline" not in str(month_views.sparkline([None, None]))


def test_index_across_months_lists_every_period(tmp_path, figures):
    september = dict(figures, months=figures["months"][:-1], figures={k: v[:-1] for k, v in figures["figures"].items()})
    for p, f in (("2026-09", september), ("2026-10", figures)):
        (tmp_path / p / "en").mkdir(parents=True)
        (tmp_path / p / "en" / "index.html").write_text("x")
        (tmp_path / p / month.FIGURES_FILE).write_text(json.dumps(f))
    (tmp_path / "not-a-month").mkdir()
    page = month_views.render_months(tmp_path, "en")
    assert page.index('href="../2026-10/en/index.html"') < page.index('href="../2026-09/en/index.html"')
    assert "¥80" in page and "¥200" in page and page.count("<svg") == 7
    assert "not-a-month" not in page
    assert "还没有运行过任何月份" in month_views.render_months(tmp_path, "zh")   # no Chinese summary on disk


def test_each_sparkline_labels_its_first_last_lowest_and_highest_month_from_month_json(figures):
    """Member revenue by hand (hand_orders): October 2025 60, November 2025 nothing (0, the first lowest),
    October 2026 200 (the last and the highest); every card's labels are month.json's values."""
    page = month_views.render_summary(summary(figures))
    cards = dict(re.findall(r'<div class="mk-figure" data-card="(\w+)">(.*?)</div>\n</div>', page, re.S))
    assert len(cards) == 7
    revenue = cards["member_revenue"]
    assert "Oct 2025: CN¥60 → Oct 2026: CN¥200" in revenue
    assert "low CN¥0 (Nov 2025), high CN¥200 (Oct 2026)" in revenue and "line drawn from CN¥0" in revenue
    for key, card in cards.items():
        months, values = figures["months"], figures["figures"][key]
        known = [(m, v) for m, v in zip(months, values) if v is not None]
        want = {"first": known[0], "last": known[-1], "min": min(known, key=lambda mv: mv[1]),
                "max": max(known, key=lambda mv: mv[1])}
        marks = {point: (m, float(v)) for point, m, v in
                 re.findall(r'<data data-point="(\w+)" data-month="([\d-]+)" value="([^"]+)">', card)}
        assert marks == want, key
    zh = month_views.render_summary(summary(figures, "zh"))
    assert "最低 ¥0（2025年11月），最高 ¥200（2026年10月）" in zh and "折线纵轴从 ¥0 起" in zh


def test_a_sparkline_starts_its_scale_at_zero_so_a_small_move_stays_small():
    """19% -> 23% on a 240 x 40 line with 4 of padding: the scale runs from 0 (y 36) to 23% (y 4), so 19%
    sits at 36 - 32 x 19/23 = 9.6, not at the bottom as a line stretched between its own ends would."""
    svg = str(month_views.sparkline([0.19, 0.21, 0.23]))
    assert 'points="4.0,9.6 120.0,6.8 236.0,4.0"' in svg
    assert '<line x1="4" y1="36" x2="236" y2="36"' in svg          # the base line: where the scale starts
    below = str(month_views.sparkline([-10.0, 30.0]))             # a month of net returns: the scale starts there
    assert 'points="4.0,36.0 236.0,4.0"' in below


def test_index_across_months_draws_the_newest_months_figures_on_labelled_axes(tmp_path, figures):
    """One month on disk still gives thirteen months per chart (month.json holds them), on axes that
    name their months and start at 0."""
    (tmp_path / "2026-10" / "en").mkdir(parents=True)
    (tmp_path / "2026-10" / "en" / "index.html").write_text("x")
    (tmp_path / "2026-10" / month.FIGURES_FILE).write_text(json.dumps(figures))
    page = month_views.render_months(tmp_path, "en")
    charts = dict(re.findall(r'<svg class="mk-trend"[^>]*data-figure-trend="(\w+)">(.*?)</svg>', page, re.S))
    assert set(charts) == set(kpi.MONTH_FIGURES)
    assert "The 13 months to October 2026" in page
    for key, chart in charts.items():
        dots = [(m, float(v)) for m, v in re.findall(r'data-month="([\d-]+)" data-value="([^"]+)"', chart)]
        assert dots == [(m, v) for m, v in zip(figures["months"], figures["figures"][key]) if v is not None], key
        assert ">Oct 2025</text>" in chart and ">Oct 2026</text>" in chart and ">Apr 2026</text>" in chart
    assert ">CN¥0</text>" in charts["member_revenue"] and ">CN¥200</text>" in charts["member_revenue"]
    assert ">0.0%</text>" in charts["repurchase_rate"]


def test_index_across_months_says_when_a_months_figures_cannot_be_read(tmp_path, figures):
    for p in ("2026-09", "2026-10"):
        for language in ("en", "zh"):
            (tmp_path / p / language).mkdir(parents=True)
            (tmp_path / p / language / "index.html").write_text("x")
    (tmp_path / "2026-10" / month.FIGURES_FILE).write_text(json.dumps(figures))
    (tmp_path / "2026-09" / month.FIGURES_FILE).write_text('{"months": ["2026-0')      # cut short
    page = month_views.render_months(tmp_path, "en")
    september = re.search(r'<tr data-period="2026-09">(.*?)</tr>', page, re.S).group(1)
    assert "key figures missing: month.json could not be read" in september
    assert re.findall(r"<td>([^<]*)</td>", september) == ["–"] * 7 and "not enough history" not in september
    october = re.search(r'<tr data-period="2026-10">(.*?)</tr>', page, re.S).group(1)
    assert "¥200" in october and "missing" not in october
    zh = month_views.render_months(tmp_path, "zh")
    assert "无法读取 month.json" in zh


# ------------------------------------------------------------------ the report cards, worded from numbers
def sample_results() -> dict:
    """Each report's results as the 20,000-member sample's October 2026 run writes them (trimmed to
    what the cards read): numbers and codes only."""
    league = {f"C{i}": {"rank": i + 1, "reviewed_in_period": False, "name": f"old {i}",
                        "figures": {"roi": {"value": -0.1 * i, "ci_low": -0.5 - i, "ci_high": 0.2}},
                        "pull_forward": {"flagged": i == 3}, "verdict": {"decision": "stop", "reason": "no_effect"}}
              for i in range(1, 7)}
    league["C2610"] = {"rank": 1, "reviewed_in_period": True, "name": "国庆会员日",
                       "figures": {"roi": {"value": 2.1779314693877554, "ci_low": 0.6099706232182891, "ci_high": 3.75}},
                       "pull_forward": {"flagged": False}, "verdict": {"decision": "repeat", "reason": "pays"}}
    push = {"control_mean": 0.22347107438016528, "variant_mean": 0.2611764705882353, "rel_lift": 0.16872607030978082,
            "ci_low": 0.06376533691685166, "ci_high": 0.27368680370271, "p_value_adjusted": 0.002610835333954718}
    return {
        "data_cleaning": {"period": "2026-10", "kpis": {
            "rows_read": 139472, "rows_kept": 136342, "rows_rejected": 3130, "members_merged": 688, "guest_orders": 3000,
            "outliers": 60}, "results": {"unknown_statuses": {}, "previous": None, "tables": {
                "members": {"steps": [{"rule": "duplicate", "rows": 150}, {"rule": "merged_identity", "rows": 688}]},
                "orders": {"rows_in": 75263, "kept": 72971, "rejected": 2292,
                           "steps": [{"rule": "duplicate", "rows": 400}, {"rule": "cancelled", "rows": 1500},
                                     {"rule": "unparseable_date", "rows": 150}]}}}},
        "rfm_segmentation": {"period": "2026-10", "kpis": {"members_segmented": 12923}, "results": {
            "window_days": 365, "most_at_risk_region": "上海", "most_at_risk_lost_rate": 0.4667154352596928, "lapsed_days": 180,
            "segments": {"high_low": {
                "important_value": {"members": 2132, "revenue": 4177516.24, "share": 0.16497717248316954,
                                    "revenue_share": 0.48832355358024004},
                "general_develop": {"members": 4604, "revenue": 1299968.96, "share": 0.3562640253810261,
                                    "revenue_share": 0.15196}}},
            "key_figures": {"member_growth_rate": {"current": 0.04027683821616277, "previous": 0.04639259460931119},
                            "repurchase_rate": {"current": 0.21762820512820513, "previous": 0.20867113147691224},
                            "average_order_value": {"current": 223.5040333001988, "previous": 202.12148848684208},
                            "churn_rate": {"current": 0.18547865459249677, "previous": 0.2016366612111293}}}},
        "clv_forecast": {"period": "2026-10", "kpis": {
            "total_clv": 1708240.027233047, "top10_share": 0.43355762294294314, "high_value_at_risk": 1046,
            "expected_purchases": 30296.230073820414, "holdout_aggregate_error": -0.014827192524536126},
            "results": {"chosen_model": "bgnbd", "horizon_months": 12, "alive_threshold": 0.5,
                        "totals": {"members": 17581, "high_value_at_risk_past_revenue": 2571214.05}}},
        "ab_test": {"period": "2026-10", "kpis": {"experiments": 2, "ship": 1, "no_verdict": 1, "not_enough_evidence": 0,
                                                  "do_not_ship": 0},
                    "results": {"has_table": True, "guardrail_metrics": ["aov", "revenue"], "experiments": {
                        "EXP-PUSH": {"primary_metric": "conversion", "kinds": {"conversion": "proportion"},
                                     "verdict": {"decision": "ship", "variant": "push", "reason": "primary_up"},
                                     "metrics": {"conversion": {"push": push}}},
                        "EXP-BANNER": {"primary_metric": "conversion", "metrics": {},
                                       "verdict": {"decision": "no_verdict", "variant": None, "reason": "srm"}}}}},
        "campaign_review": {"period": "2026-10", "kpis": {
            "reviewed": 1, "incremental_revenue": 31779.314693877557, "net_gain": 6533.794408163267, "repeat": 1,
            "pull_forward": 0}, "results": {"has_table": True, "campaigns": league}},
    }


# What the cards showed when each report wrote its own words into its JSON (the sample's run, en and zh);
# RFM's first card now carries the sub-line its page shows.
CARDS = {
    "en": {
        "data_cleaning": ("72,971 of 75,263 order lines are clean (97.0%); 2,292 were set aside with a reason "
                          "(commonest reason: cancelled order, 1,500), and 688 duplicate member accounts were merged into the person they "
                          "belong to.",
                          [("Rows read (all tables)", "139,472 rows", ""), ("Rows kept (all tables)", "136,342 rows", ""),
                           ("Rows rejected by a rule (all tables)", "3,130 rows", ""),
                           ("Rows merged into another account of the same person", "688 rows", "")]),
        "rfm_segmentation": ("Important value members are 16.5% of the buyers and bring 48.8% of the revenue. Shanghai has "
                             "lost the most of its established members: 46.7% of them have lapsed (no purchase for over 180 days).",
                             [("Members segmented", "12,923 members", "a purchase in the last 365 days"),
                              ("Member growth", "4.0%", "-0.6 pp vs previous month"),
                              ("Repurchase rate", "21.8%", "+0.9 pp vs previous month"),
                              ("Average order value (net)", "CN¥224", "+10.6% vs previous month")]),
        "clv_forecast": ("Over the next 12 months the members are worth CN¥1,708,240 in discounted margin; the top 10% "
                         "hold 43.4% of it, and 1,046 high-value members have less than a 50% chance of buying again in that time.",
                         [("Predicted value", "CN¥1,708,240", "margin, discounted; 17,581 members"),
                          ("Held by the top 10%", "43.4%", ""),
                          ("High-value members unlikely to buy again", "1,046 members", "spent CN¥2,571,214 with us so far"),
                          ("Expected purchases", "30,296 purchases", "")]),
        # the answer per experiment in one short sentence: its verdict and the figure that decides it (issue 23)
        "ab_test": ("EXP-PUSH: Ship push: conversion 22.3% → 26.1% (+3.8 pp), a relative lift of +16.9% (95% interval +6.4% to +27.4%). "
                    "EXP-BANNER: No verdict: the split is broken; fix it and rerun the experiment.",
                    [("Experiments evaluated", "2 experiments", ""), ("Ship", "1 experiment", ""),
                     ("No verdict: broken split", "1 experiment", ""), ("Not enough evidence yet", "0 experiments", "")]),
        "campaign_review": ("1 of the 7 campaigns in the league paid back its cost with confidence: C2610 国庆会员日, "
                            "with a return on cost of +218%.",
                            [("Campaigns this period", "1 campaign", "7 in the league table"),
                             ("Incremental revenue", "CN¥31,779", ""), ("Margin minus cost", "CN¥6,534", ""),
                             ("Worth repeating", "1 campaign", "of this period's campaigns; 1 of the 7 in the league table")]),
    },
    "zh": {
        "data_cleaning": ("75,263 行订单明细中，72,971 行数据干净（97.0%）；2,292 行已按原因剔除，最多的是已取消订单（1,500 行）；"
                          "688 个重复会员账号已合并到本人。",
                          [("读入行数（全部表）", "139,472 行", ""), ("保留行数（全部表）", "136,342 行", ""),
                           ("按规则剔除行数（全部表）", "3,130 行", ""),
                           ("并入同一人其他账号的行数", "688 行", "")]),
        "rfm_segmentation": ("重要价值客户占购买会员的 16.5%，贡献了 48.8% 的销售额。上海老客长期未购的比例最高：46.7% 的老客已超过 180 天未购买。",
                             [("参与分群会员", "12,923 人", None), ("会员增长率", "4.0%", "较上月 -0.6 个百分点"),
                              ("复购率", "21.8%", "较上月 +0.9 个百分点"), ("客单价（净额）", "¥224", "较上月 +10.6%")]),
        "clv_forecast": ("未来 12 个月会员的折现毛利价值为 ¥1,708,240；前 10% 的会员占 43.4%，另有 1,046 名高价值会员在此期间再次购买的"
                         "概率低于 50%。",
                         [("预测价值", "¥1,708,240", "折现毛利；17,581 名会员"), ("前 10% 会员占比", "43.4%", ""),
                          ("可能不再回购的高价值会员", "1,046 人", "至今累计消费 ¥2,571,214"), ("预计购买次数", "30,296 次", "")]),
        "ab_test": ("EXP-PUSH：上线 push：转化率 22.3% → 26.1%（+3.8 个百分点），相对提升 +16.9%（95% 置信区间 +6.4% 至 +27.4%）。"
                    "EXP-BANNER：不下结论：分组失衡；请修正分组后重新运行实验。",
                    [("评估的实验", "2 个", ""), ("上线", "1 个", ""), ("不下结论：分组失衡", "1 个", ""), ("证据尚不足", "0 个", "")]),
        "campaign_review": ("排行榜中 7 个活动里，有 1 个确定收回了成本：C2610 国庆会员日，投入回报率 +218%。",
                            [("本期活动", "1 个", "排行榜共 7 个"), ("增量销售额", "¥31,779", ""), ("毛利减成本", "¥6,534", ""),
                             ("值得继续", "1 个", "本期活动中；排行榜 7 个活动中有 1 个")]),
    },
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_report_cards_are_worded_from_the_numbers_as_before(figures, language):
    """Each report's card on the summary page: its headline and first four cards, worded by the report's
    own view from the numbers of its results, in the page's language."""
    s = summary(figures, language)
    s.reports = [ReportState(name, "ok", res) for name, res in sample_results().items()]
    cards = {c["name"]: c for c in month_views.report_cards(s)}
    assert list(cards) == NAMES
    for name, (headline, kpis) in CARDS[language].items():
        assert visible_text(cards[name]["headline"]) == headline, name
        shown = [(k["label"], k["value"], k["delta"]) for k in cards[name]["kpis"]]
        assert [(lbl, v) for lbl, v, _ in shown] == [(lbl, v) for lbl, v, _ in kpis], name
        assert [d for (_, _, d), (_, _, want) in zip(shown, kpis) if want is not None] == \
            [want for _, _, want in kpis if want is not None], name
    # the experiments card holds its short sentences only; what qualifies them is on the A/B page (issue 23)
    assert cards["ab_test"]["points"] == [] and cards["clv_forecast"]["points"] == []
    page = month_views.render_summary(s)
    assert '<ul class="mk-points">' not in page.split('data-report="ab_test"', 1)[1].split("</section>", 1)[0]
    titles = {"en": "What the member base is worth", "zh": "会员价值预测"}[language]
    assert f'<a href="clv_forecast.html">{titles}</a>' in page and "国庆会员日" in page


def test_report_cards_read_results_written_before_they_held_numbers_only(figures, tmp_path):
    """A published month's file still carries the words (title, headline, language, each KPI's label and
    display text): the summary reads past them and words the card from the numbers."""
    old = sample_results()["clv_forecast"]
    old.update(title="CLV (old)", headline="old words", language="zh",
               kpis={k: {"value": v, "label": "old label", "display": "old", "delta": ""} for k, v in old["kpis"].items()})
    (tmp_path / "clv_forecast.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "clv_forecast.html").write_text("x")
    s = month.collect(tmp_path, "2026-10", "en", "CNY", ["clv_forecast"], figures=figures)
    card = month_views.report_cards(s)[0]
    assert card["headline"] == CARDS["en"]["clv_forecast"][0] and card["title"] == "What the member base is worth"
    assert [k["value"] for k in card["kpis"]] == ["CN¥1,708,240", "43.4%", "1,046 members", "30,296 purchases"]
    page = month_views.render_summary(s)
    assert "old words" not in page and "old label" not in page and "CLV (old)" not in page


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_month_churn_and_the_lapsed_stage_are_two_words_on_the_summary(figures, language):
    """'Stopped buying' meant both the 90-day churn rate ('18.5% of those active at its start stopped buying')
    and a region's share in the lapsed stage ('46.7% of its established members have stopped buying'). DOMAIN.md
    names them apart: churn (active at the month's start, not at its end) and lapsed (no purchase for 180+ days)."""
    s = summary(figures, language)
    s.reports = [ReportState(name, "ok", res) for name, res in sample_results().items()]
    page = month_views.render_summary(s)
    churn, lapsed = {"en": ("had churned by its end (no order in the last 90 days)", "have lapsed (no purchase for over 180 days)"),
                     "zh": ("到月末已不再活跃（近 90 天内无订单）", "已超过 180 天未购买")}[language]
    assert churn in page and lapsed in page
    assert "stopped buying" not in page and "停止购买" not in page and "停止了购买" not in page


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_ship_decision_on_conversion_gives_revenue_per_member_beside_it(language):
    """'Ship push: conversion +16.9%' was all the summary said, although the results held revenue per member
    +23.3% (+8.1% to +38.4%), which only the A/B page gave: a lift in conversion alone is not the money.
    The line now gives it; an experiment judged on revenue per member, or results without it, add nothing."""
    def ab(primary, with_revenue=True):
        metrics = {"conversion": {"B": {"rel_lift": 0.169, "ci_low": 0.064, "ci_high": 0.274}}}
        if with_revenue:
            metrics["revenue"] = {"B": {"rel_lift": 0.233, "ci_low": 0.081, "ci_high": 0.384}}
        return {"period": "2026-10", "kpis": {}, "results": {"primary_metric": primary, "experiments": {
            "E1": {"verdict": {"decision": "ship", "variant": "B"}, "metrics": metrics}}}}

    def sentence(results):
        reports = [ReportState("ab_test", "ok", results)]
        s = month.MonthSummary("2026-10", language, "CNY", reports, None, "", month.decisions(reports))
        [item] = month_views.decision_items(s)
        return item["sentence"]
    said = sentence(ab("conversion"))
    if language == "en":
        assert said.startswith("variant B of E1: conversion +16.9% (95% interval +6.4% to +27.4%).")
        assert "Beside it, revenue per member +23.3% (95% interval +8.1% to +38.4%)." in said
    else:
        assert "同时，人均销售额 +23.3%（95% 置信区间 +8.1% 至 +38.4%）。" in said
    assert "23.3%" not in sentence(ab("conversion", with_revenue=False))
    assert sentence(ab("revenue")).count("23.3%") == 1       # the verdict's own metric, not said twice


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_experiments_count_agrees_with_the_decisions_below_it(figures, language):
    """The sample's October: EXP-PUSH ships, EXP-COUPON's coupon_20 lifts conversion but does not pay its
    incentive (its card and its decision: "Not worth its cost"), EXP-BANNER's split is broken. The summary said
    "1 to ship, 0 not to ship", then counted coupon_20 as "not to ship" (issue 23: one wording per verdict): each
    verdict is counted under its own words, and the counts add up to the experiments read out."""
    def exp(decision, variant=None, reason=""):
        return {"verdict": {"decision": decision, "variant": variant, "reason": reason},
                "metrics": {"conversion": {variant or "B": {"rel_lift": 0.15, "ci_low": 0.05, "ci_high": 0.26}}}}
    ab = {"period": "2026-10", "kpis": {}, "results": {"primary_metric": "conversion", "experiments": {
        "EXP-PUSH": exp("ship", "push", "primary_up"),
        "EXP-COUPON": exp("ships_conversion_not_margin", "coupon_20", "margin"),
        "EXP-BANNER": exp("no_verdict", None, "srm")}}}
    s = summary(figures, language)
    s.reports = [r for r in s.reports if r.name != "ab_test"] + [ReportState("ab_test", "ok", ab)]
    sentence = next(x for x in month_views.happened(s) if x.startswith({"en": "Experiments", "zh": "实验"}[language]))
    want = {"en": ("3 read out; 1 to ship, 1 not worth its cost, 1 without a verdict because the split is broken.",
                   "The one not worth its cost lifts its main metric"),
            "zh": ("评估 3 个；1 个上线，1 个得不偿失，1 个因分组失衡不下结论。", "得不偿失的实验提升了指标")}[language]
    assert all(w in sentence for w in want), sentence
    # a verdict no experiment got is not counted ('0 not to ship'); two of one verdict are plural
    ab["results"]["experiments"]["EXP-BANNER"] = exp("not_enough_evidence")
    ab["results"]["experiments"]["EXP-MAIL"] = exp("not_enough_evidence")
    sentence = next(x for x in month_views.happened(s) if x.startswith({"en": "Experiments", "zh": "实验"}[language]))
    want = {"en": "4 read out; 1 to ship, 1 not worth its cost, 2 still need members.",
            "zh": "评估 4 个；1 个上线，1 个得不偿失，2 个证据尚不足。"}[language]
    assert want in sentence and " 0 " not in sentence, sentence
    not_to_ship = [d for d in month.decisions(s.reports) if d.action in ("do_not_ship", "ships_conversion_not_margin")]
    assert len(not_to_ship) == 1


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_has_a_table_of_contents_that_reaches_the_decisions(figures, language):
    """The report pages open with a short table of contents and an anchor on each heading; the summary had
    neither, so its 'Decisions that need someone' could not be linked to or jumped to."""
    page = month_views.render_summary(summary(figures, language))
    toc = re.search(r'<nav class="mk-toc"[^>]*>.*?</nav>', page, re.S)
    assert toc and page.index("</h1>") < toc.start() < page.index("<h2")
    assert re.search(r'<h2 id="decisions"[ >]', page) and 'href="#decisions"' in toc.group(0)
    title = {"en": "Decisions that need someone", "zh": month_views.text("month.decisions_title", "zh")}[language]
    assert f'<a href="#decisions">{title}</a>' in toc.group(0)
    heads = re.findall(r"<h2 ([^>]*)>", page)
    assert heads and all(h.startswith('id="') for h in heads)          # every section can be linked to


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summarys_contents_list_every_one_of_its_sections(figures, language):
    """Issue 23: the summary's contents listed 6 of its 10 sections (a section had to be marked to be listed, and
    what happened, last month's decisions, the campaign types and who is counted were not). They list every section,
    in page order: made from the headings, they cannot drift from them."""
    s = summary(figures, language)
    s.ledger = {"period": "2026-10", "previous": "2026-09", "state": "previous_not_run"}
    page = month_views.render_summary(s)
    toc = re.search(r'<nav class="mk-toc"[^>]*>(.*?)</nav>', page, re.S).group(1)
    listed = re.findall(r'href="#([^"]*)"', toc)
    sections = re.findall(r'<h2 id="([^"]*)"', page)
    # this summary has no profile and no next campaign: seven sections, every one listed
    assert len(sections) == 7 and listed == sections, (listed, sections)
    # the decisions right under the key figures (below the waterfalls they began 5,960 px down at 420 px)
    assert sections[:3] == [sections[0], "decisions", "mk-ledger"], sections


def test_the_summary_and_all_months_headings_keep_their_months_whole(tmp_path, figures):
    """Issue 23: the report pages' headings kept '2026年10月' on one line (page.heading_html); the summary's
    and the all-months page's, written in their templates, did not, so a phone broke the month after '10'."""
    from memberkit.views.page import heading_html
    zh = month_views.render_summary(summary(figures, "zh"))
    assert re.search(r'<h1 id="[^"]+"><span class="mk-nobr">2026年10月</span>', zh)
    assert ".mk-nobr { white-space: nowrap; }" in zh
    ledger = {"period": "2026-11", "previous": "2026-10", "state": "previous_not_run"}
    ledger_page = month_views.render_summary(month.MonthSummary("2026-11", "zh", "CNY", [], None, ledger=ledger))
    title = re.search(r'<h2 id="mk-ledger">(.*?)</h2>', ledger_page).group(1)
    assert '<span class="mk-nobr">2026年10月</span>' in title, title
    (tmp_path / "2026-10" / "zh").mkdir(parents=True)
    (tmp_path / "2026-10" / "zh" / "index.html").write_text("x")
    (tmp_path / "2026-10" / month.FIGURES_FILE).write_text(json.dumps(figures))
    months = month_views.render_months(tmp_path, "zh")
    trends = re.search(r"<h2 [^>]*>(.*?)</h2>", months).group(1)
    assert '<span class="mk-nobr">2026年10月</span>' in trends, trends
    # the same function as the report pages: the same heading, whatever page it is on
    title = month_views.text("month.page_title", "zh", month=month_views.month_label("2026-10", "zh"))
    assert heading_html(title, 1) in zh


def test_the_at_risk_decision_gives_each_segment_the_action_the_rfm_table_gives(tmp_path):
    """Issue 23: the summary's decision said 'Win back' / 挽回 while the at-risk list and the RFM table told
    Important, lapsing (重要保持客户) members to be held on to. One listed member per code of
    ``reference/rfm_segments.yaml`` (and one with no order in the RFM window): the decision names each action
    beside its segment, in both languages, in the words of the RFM page's action column; no lapsing (保持)
    segment is told to be won back, and the decision's own label says none of it either."""
    import yaml
    from memberkit import clv, rfm
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    rules = yaml.safe_load((ROOT / "lib/memberkit/reference/rfm_segments.yaml").read_text(encoding="utf-8"))["high_low"]
    codes = [s["key"] for s in rules["segments"]] + [rules["outside"]["key"]]
    (tmp_path / "data").mkdir()
    pd.DataFrame({"member_id": [f"m{i}" for i in range(len(codes))], "segment": codes}).to_csv(
        tmp_path / "data" / clv.AT_RISK_FILE, index=False, encoding="utf-8-sig")
    reports = [ReportState("clv_forecast", "ok", clv_results())]
    lapsing = [s for s in rules["segments"] if s["when"]["r"] == "low"]
    profile = pd.DataFrame({"members": 1, "share": 0.1, "revenue_share": 0.1, "mean_r": 1.0, "mean_f": 1.0,
                            "mean_m": 1.0, "aov": 1.0}, index=pd.Index([s["key"] for s in lapsing]))
    won_back = {"en": re.compile(r"win (them )?back|won back|win-back", re.I), "zh": re.compile("挽回|召回|赢回")}
    for language in ("en", "zh"):
        p = Presentation(language, "CNY")
        s = month.MonthSummary("2026-10", language, "CNY", reports, None, "", month.decisions(reports, tmp_path))
        [item] = month_views.decision_items(s)
        table = rfm_view.profile_frame(p, profile)
        table_action = dict(zip(table[p.text("rfm.segment")], table[p.text("rfm.action")]))
        for seg in lapsing:
            # every action the list gives is a segment's not bought from lately; the member of its counterpart
            # among recent buyers (same F and M), now likely lost, is counted with it: 2 take each
            part = p.text("month.decision_at_risk_part", segment=seg["label"][language], members="2",
                          action=table_action[seg["label"][language]])
            assert part in item["sentence"], (seg["key"], language, item["sentence"])
        outside = rules["outside"]
        assert p.text("month.decision_at_risk_part", segment=outside["label"][language], members="1",
                      action=outside["short"][language]) in item["sentence"]
        assert not won_back[language].search(item["action"]), item["action"]
        for seg in rules["segments"]:
            if "保持" in seg["label"]["zh"]:     # the trade name says keep hold: both languages say so
                for words in (seg["action"][language], seg["short"][language], table_action[seg["label"][language]]):
                    assert not won_back[language].search(words), (seg["key"], words)
                assert ("保持" in seg["short"]["zh"]) and re.search(r"\b(hold on|keep)\b", seg["short"]["en"], re.I)
    assert rfm.schemes()["high_low"].short_action("important_lapsing", "en") == "Hold on: personal contact"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_gives_a_rate_lift_in_percentage_points_as_the_ab_page_does(language):
    """Issue 23: the summary's A/B card and decision said 'conversion +16.9%', a relative lift with no
    percentage points, while the A/B page gives '22.3% → 26.1%' and '+3.8 pp'. Both now give the groups'
    rates and the change in points as the page shows them (one function), then the relative lift."""
    from memberkit.views import Presentation
    from memberkit.views import abtest as ab_view
    p = Presentation(language, "CNY")
    row = {"rel_lift": 0.169, "ci_low": 0.064, "ci_high": 0.274, "control_mean": 0.223, "variant_mean": 0.261,
           "p_value_adjusted": 0.001}
    e = {"primary_metric": "conversion", "verdict": {"decision": "ship", "variant": "push"},
         "metrics": {"conversion": {"push": row}}}
    res = {"period": "2026-10", "kpis": {}, "results": {"primary_metric": "conversion", "experiments": {"EXP-PUSH": e}}}
    points = ab_view.shown_difference(p, "conversion", row["control_mean"], row["variant_mean"])
    assert points == p.pp(0.038) and points != p.signed_pct(0.169)        # +3.8 pp, from the shown 22.3% and 26.1%
    page = ab_view.experiment_sentence(p, "EXP-PUSH", e, [])                 # the A/B page's verdict
    assert p.pct(0.223) in page and p.pct(0.261) in page
    reports = [ReportState("ab_test", "ok", res)]
    s = month.MonthSummary("2026-10", language, "CNY", reports, None, "", month.decisions(reports))
    [item] = month_views.decision_items(s)
    card = ab_view.headline(p, res)
    for said in (visible_text(item["sentence"]), card):
        assert f"{p.pct(0.223)} → {p.pct(0.261)}" in said and points in said, said
        assert p.signed_pct(0.169) in said       # the relative lift follows, with its interval
        assert said.index(points) < said.index(p.signed_pct(0.169))
