"""One value per figure name: every figure a page shows is marked with its code, month and unrounded
value, and no (code, month) shows two values across the pages of a period; the names a reader could
take for one another (churn rate / lapsed stage, activity rate / returning stage) read differently."""
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from memberkit.views import Presentation
from memberkit.views.page import (KPI, Figure, figure_contradictions, figures_on_page, kpi_cards_html, mark,
                                  table_html)

EN, ZH = Presentation("en", "CNY"), Presentation("zh", "CNY")


# ------------------------------------------------------------------ the marking and the check
def test_a_marked_figure_carries_its_code_month_and_unrounded_value_and_is_read_back():
    html = mark("18.5%", Figure("churn_rate", "2026-10", 0.18547865459249677), "div", "mk-value")
    assert html == ('<div class="mk-value" data-figure="churn_rate" data-period="2026-10" '
                    'data-value="0.18547865459249677">18.5%</div>')
    assert mark("<b>x</b>", None) == "<span>&lt;b&gt;x&lt;/b&gt;</span>"      # unmarked text is still escaped
    cards = kpi_cards_html([KPI("Active", "6,571", figure=Figure("active_members", "2026-10", 6571)),
                            KPI("Unmarked", "3")])
    assert figures_on_page(cards) == [{"code": "active_members", "period": "2026-10", "value": "6571", "shown": "6,571"}]


def test_the_check_finds_a_code_shown_with_two_values_and_nothing_else():
    def page(*figs):
        return "<html><body>" + "".join(mark(shown, Figure(c, per, v)) for c, per, v, shown in figs) + "</body></html>"
    pages = {"index.html": page(("churn_rate", "2026-10", 0.185, "18.5%"), ("churn_rate", "2026-09", 0.2, "20.0%")),
             "rfm.html": page(("churn_rate", "2026-10", 0.185, "18.5%"), ("churn_rate", "2026-09", 0.2, "20.0%")),
             "other.html": page(("data_cleaning.rows_read", "2026-10", 139472, "139,472"))}
    assert figure_contradictions(pages) == []
    # the same month's figure in another month is not a contradiction; the same month with another value is
    pages["clv.html"] = page(("churn_rate", "2026-10", 0.19, "19.0%"))
    assert figure_contradictions(pages) == ["churn_rate 2026-10: 0.185 on index.html, rfm.html; 0.19 on clv.html"]
    # one figure summed two ways differs in the last bit of a float: still one value
    assert figure_contradictions({"a": page(("x", "2026-10", 0.1 + 0.2, "")), "b": page(("x", "2026-10", 0.3, ""))}) == []
    # a figure missing on one page and a number on another is two values
    assert figure_contradictions({"a": page(("x", "2026-10", None, "–")), "b": page(("x", "2026-10", 1, "1"))}) != []


def test_the_key_figures_table_marks_each_value_with_the_month_it_is_of():
    from memberkit.views import kpi as view
    figures = pd.DataFrame({"current": [0.185, 223.5], "previous": [0.2, 202.1], "year_ago": [None, 190.0]},
                           index=["churn_rate", "average_order_value"])
    found = figures_on_page(table_html(view.figures_frame(EN, figures, 90, "2026-10")))
    assert [(f["code"], f["period"], f["value"], f["shown"]) for f in found] == [
        ("churn_rate", "2026-10", "0.185", "18.5%"), ("churn_rate", "2026-09", "0.2", "20.0%"),
        ("churn_rate", "2025-10", "", "not enough history"),
        ("average_order_value", "2026-10", "223.5", "CN¥224"), ("average_order_value", "2026-09", "202.1", "CN¥202"),
        ("average_order_value", "2025-10", "190.0", "CN¥190")]


# ------------------------------------------------------------------ every page of a published period
def _pages(out) -> dict[str, str]:
    """The pages of one edition: ``out`` is a language folder (outputs/<period>/<lang>/)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.html"))}


@pytest.mark.slow
@pytest.mark.parametrize("edition", ["e2e", "e2e_zh"])
def test_every_figure_of_a_period_has_one_value_on_every_page(edition, request):
    proc, out, _ = request.getfixturevalue(edition)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pages = _pages(out / ("en" if edition == "e2e" else "zh"))
    assert set(pages) >= {"index.html", "rfm_segmentation.html", "data_cleaning.html", "clv_forecast.html"}
    found = {name: figures_on_page(html) for name, html in pages.items()}
    # the key figures are marked on the summary and on the RFM page, the report cards on both sides
    on = lambda name: {(f["code"], f["period"]) for f in found[name]}   # noqa: E731
    for code in ("churn_rate", "activity_rate", "repurchase_rate", "average_order_value", "member_growth_rate"):
        assert (code, "2026-10") in on("index.html") & on("rfm_segmentation.html"), code
    assert ("churn_rate", "2026-09") in on("rfm_segmentation.html")          # the previous month, in the table
    for code in ("data_cleaning.rows_read", "clv_forecast.total_clv", "rfm_segmentation.members_segmented"):
        assert (code, "2026-10") in on("index.html") & on(code.split(".")[0] + ".html"), code
    assert figure_contradictions(pages) == []

    # a page given another value for one figure is caught, and named
    page = pages["rfm_segmentation.html"]
    marked = re.search(r'data-figure="churn_rate" data-period="2026-10" data-value="([^"]*)"', page)
    seeded = {**pages, "rfm_segmentation.html": page.replace(marked.group(0), marked.group(0).replace(
        f'data-value="{marked.group(1)}"', 'data-value="0.5"'), 1)}
    problems = figure_contradictions(seeded)
    assert len(problems) == 1 and problems[0].startswith("churn_rate 2026-10:") and "0.5 on rfm_segmentation.html" in problems[0]


# ------------------------------------------------------------------ names that read as contradictions
@pytest.mark.parametrize("p", [EN, ZH], ids=["en", "zh"])
def test_the_lapsed_stage_is_never_called_churn_and_the_returning_stage_is_not_the_activity_rate(p):
    from memberkit.views.rfm import stage_label
    params = SimpleNamespace(new_days=90, silent_days=90, churned_days=180)
    labels = {s: stage_label(p, s, params) for s in ("new", "active", "silent", "lapsed", "no_purchase")}
    if p.language == "en":
        assert labels["lapsed"] == "lapsed (180+ days)"
        assert not any("churn" in v.lower() for v in labels.values())
        assert "activ" not in labels["active"].lower()
    else:
        assert labels["lapsed"] == "长期未购（180 天以上）" and p.text("kpi.churn_rate") == "月流失率"
        assert labels["active"] != p.text("kpi.activity_rate") and "率" not in labels["active"]


def test_segment_labels_are_the_domain_tables_english():
    from memberkit import rfm
    scheme = rfm.schemes()["high_low"]
    assert {k: scheme.label(k, "en") for k in ("important_lapsing", "important_at_risk", "general_lapsing",
                                                "general_at_risk")} == {
        "important_lapsing": "Important, lapsing", "important_at_risk": "Important, at risk",
        "general_lapsing": "General, lapsing", "general_at_risk": "General, at risk"}
    assert scheme.action("important_lapsing", "en").startswith("Hold on to them")


def test_the_cleaning_headline_and_the_summary_count_the_same_order_lines():
    from memberkit.views import clean as view
    res = {"period": "2026-10", "kpis": {"rows_read": 139472, "rows_kept": 136342, "rows_rejected": 3130,
                                         "members_merged": 688},
           "results": {"tables": {
               "members": {"rows_in": 20000, "kept": 19000, "rejected": 1000, "steps": [{"rule": "duplicate", "rows": 1000}]},
               "orders": {"rows_in": 75263, "kept": 72971, "rejected": 2292,
                          "steps": [{"rule": "duplicate", "rows": 792}, {"rule": "cancelled", "rows": 1500}]}}}}
    head = view.headline(EN, res)
    assert head.startswith("72,971 of 75,263 order lines are clean (97.0%); 2,292 were set aside")
    assert "(commonest reason: cancelled order, 1,500)" in head and "139,472" not in head   # members' duplicates are not order lines
    assert view.headline(ZH, res).startswith("75,263 行订单明细中，72,971 行数据干净（97.0%）")
    assert EN.text("month.happened_cleaning", kept="72,971", read="75,263", rejected="2,292").startswith(
        "The data: 72,971 of 75,263 order lines are clean")


# ------------------------------------------------------------------ percentage points, plurals, fewer
def test_a_difference_of_two_rates_is_in_points_and_a_lift_stays_in_percent():
    from memberkit.views.abtest import fmt_difference
    assert fmt_difference(EN, "conversion", 0.0377) == "+3.8 pp"
    assert fmt_difference(ZH, "conversion", -0.0377) == "-3.8 个百分点"
    assert fmt_difference(EN, "x", 0.02, "proportion") == "+2.0 pp"
    assert fmt_difference(EN, "revenue", -1.25) == "-\u2060CN¥1.25" and fmt_difference(EN, "orders", 0.5) == "+0.500"
    assert EN.signed_pct(0.169) == "+16.9%"


def test_one_thing_is_singular_in_english_and_chinese_has_one_form():
    assert EN.counted("clv.check_excluded", 1, n="1", used="11,853") == \
        "1 repeat buyer with zero or negative net spend was left out of the spend model (11,853 used)."
    assert EN.counted("clv.check_excluded", 2, n="2", used="9").startswith("2 repeat buyers with")
    assert ZH.counted("clv.check_excluded", 1, n="1", used="9") == "1 名净消费为零或负的复购会员未纳入消费模型（使用 9 名）。"
    assert "1 high-value member is unlikely to buy again" in EN.counted("month.decision_at_risk", 1, members="1", revenue="x", clv="y", bulk="")


@pytest.mark.parametrize("value, words", [(-0.016, "bought 16 fewer orders per 1,000 than the comparison"),
                                          (0.004, "bought 4 more orders per 1,000 than the comparison"),
                                          (0.0001, "bought as many orders per 1,000 as the comparison")])
def test_a_negative_difference_after_a_campaign_reads_as_fewer_orders(value, words):
    from memberkit.views.campaign import pull_forward_sentence
    r = SimpleNamespace(pull_forward={"after_per_target": {"value": value, "ci_low": -0.041, "ci_high": 0.010},
                                      "flagged": False, "days_after_observed": 24, "complete": True,
                                      "share_given_back": None})
    sentence = pull_forward_sentence(EN, r)
    assert words in sentence and "-16 orders" not in sentence and "(95% interval of the difference -41 to +10)" in sentence


@pytest.mark.parametrize("p", [EN, ZH], ids=["en", "zh"])
def test_the_churn_card_names_its_window_beside_the_lapsed_stage(p):
    """The RFM page's churn card (18.5%) stood beside the lifecycle chart's lapsed share (40.3%) with nothing to
    tell the two measures apart. The card and the key-figures table name the churn rate with its window; the
    stage keeps its own days (DOMAIN.md: the stage is not the monthly churn rate)."""
    from memberkit.views import kpi as kpi_view
    from memberkit.views import rfm as rfm_view
    res = {"period": "2026-10", "results": {"key_figures": {"churn_rate": {"current": 0.185, "previous": 0.201}}},
           "kpis": {"members_segmented": 12923}}
    card = rfm_view.kpis(p, res, {"active_window_days": 90, "months": [], "figures": {}})[1]
    # the days kept with their unit (a no-break space: the key-figures table printed '（90 / 天无订单）')
    assert card.label == {"en": "Churn rate (no order in 90\u00a0days)", "zh": "月流失率（90\u00a0天无订单）"}[p.language]
    assert card.value == "18.5%"
    assert kpi_view.figure_label(p, "churn_rate") == p.text("kpi.churn_rate")   # the window unknown: the name alone
    frame = kpi_view.figures_frame(p, pd.DataFrame({"current": [0.185], "previous": [0.2], "year_ago": [0.2]},
                                                   index=["churn_rate"]), 120)
    assert frame.iloc[0, 0] == p.text("kpi.churn_rate_window", window=120)
