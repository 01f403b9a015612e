"""The month on one page: figures over 13 months, what the reports concluded, the pages and the PDF."""
import datetime as dt
import json
import re

import ibis
import pandas as pd
import pytest

from memberkit import kpi, month
from memberkit.views import month as month_views
from memberkit.month import ReportState

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
    return {"title": "Did the campaigns pay?", "headline": "h", "kpis": {"net_gain": {"value": -5.0, "label": "Margin minus cost", "display": "-¥5"}},
            "results": {"campaigns": campaigns}}


def ab_results():
    def exp(decision, variant=None):
        return {"verdict": {"decision": decision, "variant": variant},
                "metrics": {"conversion": {"B": {"rel_lift": 0.12, "ci_low": 0.02, "ci_high": 0.22}}}}
    return {"title": "Did the experiments work?", "headline": "h", "kpis": {},
            "results": {"primary_metric": "conversion", "experiments": {
                "E1": exp("ship", "B"), "E2": exp("not_enough_evidence"), "E3": exp("no_verdict")}}}


def clv_results():
    return {"title": "CLV", "headline": "h", "kpis": {}, "results": {"totals": {
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
    # a failed report contributes nothing
    assert month.decisions([ReportState("campaign_review", "failed", None, "boom")]) == []


def test_an_experiment_on_an_outcome_is_summarised_by_its_own_metric(figures):
    """The run-wide primary metric is conversion; E9 was judged on the export's outcome column 'retained'."""
    ab = {"title": "A/B", "headline": "h", "kpis": {}, "results": {"primary_metric": "conversion", "experiments": {
        "E9": {"primary_metric": "retained", "verdict": {"decision": "ship", "variant": "B"},
               "metrics": {"retained": {"B": {"rel_lift": 0.1, "ci_low": 0.02, "ci_high": 0.18}}}},
        "E8": {"primary_metric": "<kept>", "verdict": {"decision": "do_not_ship", "variant": None},
               "metrics": {"<kept>": {"B": {"rel_lift": -0.2, "ci_low": -0.3, "ci_high": -0.1}}}}}}}
    s = summary(figures)
    s.reports = [r for r in s.reports if r.name != "ab_test"] + [ReportState("ab_test", "ok", ab)]
    s.decisions = month.decisions(s.reports)
    e9 = next(d for d in s.decisions if d.subject == "E9")
    assert (e9.values["metric"], e9.values["lift"], e9.values["lift_low"]) == ("retained", 0.1, 0.02)
    sentences = [d["sentence"] for d in month_views.decision_items(s) if d["kind"] == "experiment"]
    assert sentences == ["variant B of E9: retained +10.0% (95% interval +2.0% to +18.0%).",
                         "E8: the variants do worse than control on <kept>."]
    page = month_views.render_summary(s)                         # no KeyError; the name escaped on the page
    assert "retained +10.0%" in page and "on &lt;kept&gt;." in page and "<kept>" not in page


def test_report_states_read_the_folder_and_this_run(tmp_path):
    (tmp_path / "data_cleaning.html").write_text("x")
    (tmp_path / "data_cleaning.json").write_text(json.dumps({"title": "Data cleaning", "headline": "h", "kpis": {}}))
    (tmp_path / "rfm_segmentation.html").write_text("x")             # a page without results: not trusted
    (tmp_path / "clv_forecast.failed.ipynb").write_text("{}")
    (tmp_path / "manifest.json").write_text(json.dumps({"reports": {"clv_forecast": {
        "status": "failed", "cell": 7, "error": "ValueError: no"}}}))

    class Outcome:
        status, error, cell = "skipped", "data_cleaning failed", None
    states = {s.name: s for s in month.report_states(tmp_path, NAMES, {"campaign_review": Outcome()})}
    assert states["data_cleaning"].status == "ok" and states["data_cleaning"].results["headline"] == "h"
    assert states["rfm_segmentation"].status == "not_run" and states["ab_test"].status == "not_run"
    assert (states["clv_forecast"].status, states["clv_forecast"].cell) == ("failed", 7)
    assert states["campaign_review"].status == "skipped"


def _in_both() -> int:
    """a and b were segmented last month; a, b and c now: two members are in both months."""
    from memberkit import rfm
    keys = ["important_value", "general_develop"]
    return rfm.members_in_both(rfm.migration_matrix(pd.Series({"a": keys[0], "b": keys[1]}),
                                                    pd.Series({"a": keys[1], "b": keys[1], "c": keys[0]}), keys))


def summary(figures, language="en", **overrides):
    reports = [ReportState("data_cleaning", "ok", {"title": "Data cleaning", "headline": "clean <i>enough</i>",
                                                   "kpis": {}, "results": {"tables": {
                                                       "orders": {"rows_in": 100, "kept": 90, "rejected": 10},
                                                       "members": {"rows_in": 5, "kept": 3, "rejected": 2}}}}),
               ReportState("rfm_segmentation", "ok", {"title": "RFM", "headline": "segments", "kpis": {
                   "members_segmented": {"value": 3, "label": "Members segmented", "display": "3"}},
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
    assert len(re.findall(r'class="mk-figure" data-figure=', page)) == 7
    assert "¥200" in page and "+150.0% vs September 2026" in page and "+233.3% vs October 2025" in page
    assert "Ab_test" not in page and "failed in cell 4" in page                  # the failure is named
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>C2610</b>" not in page and "&lt;b&gt;C2610&lt;/b&gt;" in page
    assert "clean &lt;i&gt;enough&lt;/i&gt;" in page
    assert 'href="campaign_review.html"' in page and 'href="ab_test.html"' not in page   # no link to a failed page
    assert "3 members remain after cleaning" in page and "2 were segmented at the end of both" in page
    assert "Members spent CN¥200 in October 2026 (+150.0% on September 2026" in page   # CLDR: CN¥ in English
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
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 1
    assert "&lt;x&gt; &amp; &#34;y&#34;" in svg
    assert 'stroke="#2e7d32"' in svg                                  # up is good for this figure
    assert 'stroke="#c62828"' in str(month_views.sparkline([0.1, 0.3], good_up=False))
    assert "<polyline" not in str(month_views.sparkline([None, None]))


def test_index_across_months_lists_every_period(tmp_path, figures):
    september = dict(figures, months=figures["months"][:-1], figures={k: v[:-1] for k, v in figures["figures"].items()})
    for p, f in (("2026-09", september), ("2026-10", figures)):
        (tmp_path / p).mkdir()
        (tmp_path / p / "index.html").write_text("x")
        (tmp_path / p / month.FIGURES_FILE).write_text(json.dumps(f))
    (tmp_path / "not-a-month").mkdir()
    page = month_views.render_months(tmp_path, "en")
    assert page.index('href="2026-10/index.html"') < page.index('href="2026-09/index.html"')
    assert "¥80" in page and "¥200" in page and page.count("<svg") == 7
    assert "not-a-month" not in page


def test_index_across_months_says_when_a_months_figures_cannot_be_read(tmp_path, figures):
    for p in ("2026-09", "2026-10"):
        (tmp_path / p).mkdir()
        (tmp_path / p / "index.html").write_text("x")
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
