"""Orders the cleaning flagged as bulk purchases (outlier policy 'flag'): they stay in member revenue and
the average order value, and the summary page says how much of the month's figures and their change
they are, so one bulk order never reads as growth without a word."""
import datetime as dt

import ibis
import pandas as pd
import pytest

from memberkit import month, summary
from memberkit.views import Presentation
from memberkit.views import month as month_views
from memberkit.views import outliers


def hand_tables(flag=True):
    """1 August 2026: a 50 (the data's first day, so September is whole). September 2026: a 80. October 2026: a 100 and 60, b 40, and b's bulk order B of 1,000 (flagged);
    one guest order of 999, flagged too (guests are not member revenue)."""
    rows = [("a", "0", dt.date(2026, 8, 1), 50.0, False), ("a", "1", dt.date(2026, 9, 14), 80.0, False), ("a", "2", dt.date(2026, 10, 2), 100.0, False),
            ("a", "3", dt.date(2026, 10, 20), 60.0, False), ("b", "4", dt.date(2026, 10, 9), 40.0, False),
            ("b", "B", dt.date(2026, 10, 12), 1000.0, True), (None, "G", dt.date(2026, 10, 5), 999.0, True)]
    orders = {"member_id": [r[0] for r in rows], "order_id": [r[1] for r in rows],
              "order_date": [r[2] for r in rows], "amount": [r[3] for r in rows]}
    if flag:
        orders["is_outlier"] = [r[4] for r in rows]
    members = ibis.memtable({"member_id": ["a", "b"], "join_date": [dt.date(2025, 1, 5), dt.date(2025, 6, 10)]})
    return {"orders": ibis.memtable(orders), "members": members}


def test_flagged_member_orders_per_month():
    got = summary.flagged_by_month(hand_tables()["orders"], ["2026-09", "2026-10", "2026-11"])
    assert got == {"orders": [0, 1, 0], "revenue": [0.0, 1000.0, 0.0]}      # the guest's order is not a member's
    assert summary.flagged_by_month(hand_tables(flag=False)["orders"], ["2026-10"]) == {"orders": [0], "revenue": [0.0]}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_says_how_much_of_member_revenue_and_aov_is_bulk(language):
    figures = month.compute_figures(hand_tables(), "2026-10")
    assert figures["bulk_orders"]["orders"][-1] == 1 and figures["bulk_orders"]["revenue"][-1] == 1000.0
    assert month.compare(figures, "member_revenue")["current"] == pytest.approx(1200.0)   # kept in the total
    p = Presentation(language)
    # without B: revenue 200 (+150% on 80) and AOV 200 / 3 orders
    assert outliers.without_bulk(figures, "member_revenue", "2026-10") == pytest.approx(200.0)
    assert outliers.without_bulk(figures, "average_order_value", "2026-10") == pytest.approx(200.0 / 3)
    s = month.MonthSummary("2026-10", language, "CNY", [], figures)
    cards = {c["key"]: c for c in month_views.figure_cards(s)}
    revenue_note = cards["member_revenue"]["bulk"]
    # on the card the note stops at the figure without them: the change lines above name the comparison once
    assert "1,000" in revenue_note and p.money(200.0) in revenue_note and "+150.0%" not in revenue_note
    assert revenue_note.endswith(p.money(200.0)) and "2026" not in revenue_note
    assert p.money(200.0 / 3) in cards["average_order_value"]["bulk"]
    assert cards["churn_rate"]["bulk"] == ""
    # issue 23: the orders and their total are told once, on the revenue card; the AOV card gives its figure
    # without them and points there, so the page does not say the same note twice
    aov_note = cards["average_order_value"]["bulk"]
    assert p.money(1000.0) not in aov_note and aov_note == p.counted("month.bulk_note_said", 1, value=p.money(200.0 / 3))
    assert sum(p.money(1000.0) in c["bulk"] for c in cards.values()) == 1
    # what happened, a sentence on its own, still says the change without them and against which month
    said = " ".join(str(x) for x in month_views.happened(s))
    assert revenue_note in said and "+150.0%" in said
    page = month_views.render_summary(s)
    assert revenue_note in page
    if language == "en":
        assert revenue_note.startswith("includes 1 order the cleaning flagged as a bulk purchase in the month")
    # a month without flagged orders carries no note
    plain = month.MonthSummary("2026-10", language, "CNY", [], month.compute_figures(hand_tables(flag=False), "2026-10"))
    assert all(c["bulk"] == "" for c in month_views.figure_cards(plain))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_rfm_page_says_how_much_of_its_aov_card_is_bulk(language):
    p = Presentation(language)
    figures = month.compute_figures(hand_tables(), "2026-10")
    sentence = outliers.aov_sentence(p, figures, "2026-10")
    assert p.money(200.0 / 3) in sentence and "1,000" in sentence
    assert outliers.aov_sentence(p, month.compute_figures(hand_tables(flag=False), "2026-10"), "2026-10") == ""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_change_mostly_made_of_bulk_orders_is_neither_good_nor_bad_and_its_card_says_how_much(language):
    """September 80, October 1,200 of which B's bulk order is 1,000: of the +1,120 change, 1,000 is B, and
    without it revenue rose from 80 to 200 (+150%). The card shows the change in no colour, with the bulk
    part and the change without it under it, in the card's own words; the same month without the flag
    keeps its green."""
    p = Presentation(language)
    s = month.MonthSummary("2026-10", language, "CNY", [], month.compute_figures(hand_tables(), "2026-10"))
    revenue = {c["key"]: c for c in month_views.figure_cards(s)}["member_revenue"]
    against_september = revenue["changes"][0]
    assert against_september["good"] is None
    # the bulk orders' part in money: as a percent of September's 80 it read "+1250.0%", a second, larger change
    assert p.money(1000.0) in against_september["bulk"] and "+150.0%" in against_september["bulk"]
    assert "1250" not in against_september["bulk"]
    if language == "en":
        assert against_september["bulk"] == "of which bulk orders +CN¥1,000; without them +150.0%"
    page = month_views.render_summary(s)
    assert f'<div class="mk-change mk-bulk-part">{against_september["bulk"]}</div>' in page
    plain = month.MonthSummary("2026-10", language, "CNY", [], month.compute_figures(hand_tables(flag=False), "2026-10"))
    unflagged = {c["key"]: c for c in month_views.figure_cards(plain)}["member_revenue"]["changes"][0]
    assert unflagged["good"] is True and unflagged["bulk"] == ""


def test_bulk_orders_that_carry_a_small_part_of_the_change_leave_its_colour():
    """1,000 to 2,000 with 100 of bulk orders in October: their part of the +1,000 is 100 (10%), small."""
    figures = {"months": ["2026-09", "2026-10"], "figures": {"member_revenue": [1000.0, 2000.0],
               "average_order_value": [100.0, 2000.0 / 19]}, "bulk_orders": {"orders": [0, 1], "revenue": [0.0, 100.0]}}
    part = outliers.bulk_part(figures, "member_revenue", "2026-10", "2026-09")
    assert part["part"] == pytest.approx(100.0) and part["change"] == pytest.approx(1000.0) and not part["large"]
    assert outliers.bulk_change(Presentation("en"), figures, "member_revenue", "2026-10", "2026-09") is None
    # half of the change is large: 1,000 to 1,200 with the same 100
    figures["figures"]["member_revenue"] = [1000.0, 1200.0]
    assert outliers.bulk_part(figures, "member_revenue", "2026-10", "2026-09")["large"]
    # a month the figures do not hold, or a figure bulk orders are no part of: nothing to say
    assert outliers.bulk_part(figures, "member_revenue", "2026-10", "2025-10") is None
    assert outliers.bulk_part(figures, "churn_rate", "2026-10", "2026-09") is None


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_rfm_pages_aov_card_is_not_green_when_bulk_orders_make_its_rise(language):
    """September's AOV 80, October's 300 with B (1,200 / 4 orders) and 66.67 without it (200 / 3): the whole
    rise is B's. With the month figures the RFM page's card shows the change uncoloured and says so; without
    them (the summary's report card) it reads as before."""
    from memberkit.views import rfm as rfm_view
    p = Presentation(language)
    figures = month.compute_figures(hand_tables(), "2026-10")
    aov = month.compare(figures, "average_order_value")
    assert (aov["current"], aov["previous"]) == (pytest.approx(300.0), pytest.approx(80.0))
    res = {"period": "2026-10", "kpis": {"members_segmented": 2},
           "results": {"key_figures": {"average_order_value": {"current": aov["current"], "previous": aov["previous"]}}}}
    card = rfm_view.kpis(p, res, figures)[1]
    # B's part: the change with it (+220) less the change without it (66.67 - 80 = -13.33), +233; without it -16.7%
    assert card.good is None and f"+{p.money(220.0 + 40.0 / 3)}" in card.delta and "-16.7%" in card.delta
    assert outliers.bulk_change(p, figures, "average_order_value", "2026-10", "2026-09")["text"] in card.delta
    plain = rfm_view.kpis(p, res)[1]
    assert plain.good is True and plain.delta == card.delta.split(p.clause_sep)[0]


def test_member_summaries_carry_the_bulk_part_of_their_spend():
    """b's October: 40 of its own and the flagged 1,000; a has none flagged; the guest's flagged order is no member's."""
    for flag, b_bulk in ((True, 1000.0), (False, 0.0)):
        s = summary.member_summary(hand_tables(flag)["orders"], dt.date(2026, 10, 31)).order_by("member_id").to_pandas()
        assert s[["member_id", "monetary", "monetary_bulk", "revenue_total", "revenue_total_bulk"]].values.tolist() == [
            ["a", 290.0, 0.0, 290.0, 0.0], ["b", 1040.0, b_bulk, 1040.0, b_bulk]]
        many = summary.member_summaries(hand_tables(flag)["orders"], [dt.date(2026, 9, 30), dt.date(2026, 10, 31)]) \
            .order_by(["end", "member_id"]).to_pandas()
        assert many.revenue_total_bulk.tolist() == [0.0, 0.0, b_bulk]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_tiers_say_how_much_of_their_revenue_is_bulk(language):
    """All 33 Diamond members of the bundled sample have a bulk order and 90% of Diamond spend is bulk, yet the
    page said only that the top tiers hold 33.2% of revenue. Here b is Silver on its 1,000 bulk order alone."""
    from types import SimpleNamespace
    from memberkit import rfm
    from memberkit.views import rfm as rfm_view
    p = Presentation(language, "CNY")
    params = SimpleNamespace(window_days=365, split="mean", tier_thresholds={"银卡": 500}, new_days=90, silent_days=90,
                             churned_days=180, base_tier="普通")
    members = pd.DataFrame({"member_id": ["a", "b"], "join_date": [dt.date(2025, 1, 5), dt.date(2025, 6, 10)],
                            "region": ["北京", "上海"], "channel": ["app", "app"]})
    table, _ = rfm.member_table_at(hand_tables()["orders"], members, dt.date(2026, 10, 31), params)
    tiers, stages = rfm.tier_stage_frame(table)
    assert tiers.loc["银卡", "bulk_revenue"] == 1000.0 and tiers.loc["普通", "bulk_revenue"] == 0.0
    assert tiers.loc["银卡", "bulk_share"] == pytest.approx(1000 / 1040)
    a = SimpleNamespace(tiers=tiers, stages=stages)
    text = rfm_view.tiers_sentence(p, a)
    silver = "Silver" if language == "en" else "银卡"
    # 96.2% of Silver's 1,040 is bulk; without it Silver holds 40 of 330 (12.1%) instead of 78.2%
    assert p.pct(1000 / 1040) in text and f"{silver} {p.pct(1000 / 1040)}" in text and p.pct(40 / 330) in text
    assert p.pct(1040 / 1330) in text
    plain, _ = rfm.member_table_at(hand_tables(flag=False)["orders"], members, dt.date(2026, 10, 31), params)
    assert rfm_view.tiers_bulk_sentence(p, SimpleNamespace(tiers=rfm.tier_stage_frame(plain)[0])) == ""


def clv_results(**bulk):
    """The CLV results as clv_forecast.json holds them, ``bulk`` the totals of :func:`memberkit.clv.bulk_left_out`."""
    return {"period": "2026-10", "kpis": {"high_value_at_risk": 12}, "results": {"horizon_months": 12, "totals": {
        "members": 17581, "high_value_at_risk": 12, "high_value_at_risk_past_revenue": 34567.0,
        "high_value_at_risk_clv": 890.0, "observation_end": "2026-10-31", **bulk}}}


def win_back_sentence(language: str, results: dict) -> str:
    from memberkit.month import ReportState
    figures = month.compute_figures(hand_tables(), "2026-10")
    reports = [ReportState("clv_forecast", "ok", results)]
    s = month.MonthSummary("2026-10", language, "CNY", reports, figures, "", month.decisions(reports),
                           month.member_counts(reports))
    [item] = [d for d in month_views.decision_items(s) if d["kind"] == "at_risk"]
    assert item["sentence"] in month_views.render_summary(s)
    return item["sentence"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_win_back_line_says_bulk_orders_were_left_out_of_spend(language):
    """Only the CLV page said that spend to date leaves out the flagged bulk orders (as the models do); the
    summary's win-back decision gave the same spend without a word. It now says so in both editions; not with
    the members it came from, which read as the cleaning page's count of the same orders (issue 23: '60 orders',
    '60 members'), nor with the amount: an all-time total beside the month's revenue read as a large unexplained
    figure to a fresh reader; the CLV page gives it."""
    p = Presentation(language, "CNY")
    many = win_back_sentence(language, clv_results(bulk_spend_left_out=250000.0, bulk_members_left_out=5))
    one = win_back_sentence(language, clv_results(bulk_spend_left_out=50000.0, bulk_members_left_out=1))
    assert p.money(250000.0) not in many and p.money(50000.0) not in one
    if language == "en":
        assert "leave out the orders the cleaning flagged as bulk purchases" in many and "bulk purchases" in one
        assert "5 members" not in many and "1 member)" not in one
        assert many.index("bulk purchases") < many.index("The contact list of these")     # before the list
    else:
        assert "都不计清洗标记为大宗采购的订单" in many and "5 名会员" not in many
        assert many.index("大宗采购") < many.index("联系名单作为文件")
    assert p.money(34567.0) in many                 # the spend itself is read as stored, unchanged
    # none left out (exclude_outliers off, or no bulk orders), or a month published before the totals: no word
    for results in (clv_results(bulk_spend_left_out=0.0, bulk_members_left_out=0), clv_results()):
        sentence = win_back_sentence(language, results)
        assert "bulk" not in sentence and "大宗" not in sentence
        assert "  " not in sentence and "None" not in sentence


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_tier_chart_gives_the_revenue_shares_the_sentence_under_it_gives(language):
    """The tier chart labelled each tier's revenue share with the bulk orders in it (the bundled sample's
    Diamond 'revenue 12%', 93.7% of it one kind of bulk order) while the sentence under it gave the top tiers'
    share without them (24.1%). The chart now shows the shares without them and says so; the sentence's
    share is theirs summed. Here b is Silver on its 1,000 bulk order: without it Silver holds 40 of 330."""
    from types import SimpleNamespace
    import matplotlib.pyplot as plt
    from memberkit import rfm
    from memberkit.views import rfm as rfm_view
    from memberkit.views import page
    from memberkit.views.theme import apply_theme
    p = Presentation(language, "CNY")
    apply_theme(p)
    params = SimpleNamespace(window_days=365, split="mean", tier_thresholds={"银卡": 500}, new_days=90, silent_days=90,
                             churned_days=180, base_tier="普通")
    members = pd.DataFrame({"member_id": ["a", "b"], "join_date": [dt.date(2025, 1, 5), dt.date(2025, 6, 10)],
                            "region": ["北京", "上海"], "channel": ["app", "app"]})

    def tier_labels(flag):
        table, _ = rfm.member_table_at(hand_tables(flag=flag)["orders"], members, dt.date(2026, 10, 31), params)
        tiers, stages = rfm.tier_stage_frame(table)
        a = SimpleNamespace(tiers=tiers, stages=stages)
        fig = rfm_view.plot_tiers_stages(p, a, params)
        labels = [t.get_text() for t in fig.axes[0].texts]
        page._fit_phone(fig)    # as a page draws it for a 420 px screen: the labels keep apart
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
        assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:])), labels
        title = fig.axes[0].get_title(loc="left")
        plt.close(fig)
        return labels, title, rfm_view.tiers_sentence(p, a, params)

    labels, title, sentence = tier_labels(True)
    assert labels == [p.counted("rfm.tier_bar", 1, members="1", share=p.pct(290 / 330, 0)),
                      p.counted("rfm.tier_bar", 1, members="1", share=p.pct(40 / 330, 0))]
    assert title == p.text("rfm.tiers_chart_without_bulk")   # the chart says which share it gives
    assert p.pct(40 / 330) in sentence                        # the top tier's share without bulk: the same 12%
    assert p.pct(1040 / 1330, 0) not in " ".join(labels)      # not Silver's 78% with its bulk order
    # no bulk orders: one share, called revenue, as before
    labels, title, _ = tier_labels(False)
    assert title == p.text("rfm.tiers_chart")
    assert labels == [p.counted("rfm.tier_bar", 1, members="1", share=p.pct(290 / 1330, 0)),
                      p.counted("rfm.tier_bar", 1, members="1", share=p.pct(1040 / 1330, 0))]
    # said in words (issue 23: '19,412 excl. bulk 76%' read as one unreadable figure): what each number counts
    if language == "en":
        assert labels[0] == f"1 member\n{p.pct(290 / 1330, 0)} of revenue", labels
    else:
        assert labels[0] == f"1 名会员\n占销售额 {p.pct(290 / 1330, 0)}", labels
