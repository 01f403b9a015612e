"""The member profile (会员画像) against hand counts on a small hand-made clean table, a shop export
without gender, birth date, store or category, the region table beside the bubbles, and the summary's
member-profile card and campaign types."""
import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from memberkit import month, profile
from memberkit.month import MonthSummary, ReportState
from memberkit.views import Presentation
from memberkit.views import month as month_views
from memberkit.views import profile as view
from memberkit.views import rfm as rfm_view

from .conftest import ROOT

END = dt.date(2026, 10, 31)


def hand_tables(gender=True, birth=True, store=True, category=True, bulk=False):
    """Members a (F, born 1990, joined 2025), b (M, 2003, 2025), c (F, 1960, joined 3 Oct 2026, app),
    d (nothing given, joined 15 Oct, app, never buys), f (gender 'X', 1980, joined 20 Oct, online),
    e (joins 2 Nov: after the period). October 2026: a's order 1 has two lines in store S1 (60 food,
    40 clothes), a buys 50 clothes online and returns 20 in S1; b 30 food in S2; c 40 home in S2; f 25 then
    70 food in S1; two guest orders (999 and 1) in S1. September: a 80 food in S1, b 10 digital in S3.
    June 2025: a 20 online. With ``bulk``, b's order B1 of 5,000 in S2 on 12 October, flagged as an outlier."""
    members = {"member_id": list("abcdfe"),
               "join_date": [dt.date(2025, 1, 5), dt.date(2025, 6, 10), dt.date(2026, 10, 3), dt.date(2026, 10, 15),
                             dt.date(2026, 10, 20), dt.date(2026, 11, 2)],
               "region": ["北京"] * 6, "channel": ["online", "offline", "app", "app", "online", "app"]}
    if gender:
        members["gender"] = ["F", "M", "F", None, "X", "F"]
    if birth:
        members["birth_year"] = [1990, 2003, 1960, None, 1980, 1990]
    rows = [  # member, order, date, amount, status, store, category
        ("a", "1", dt.date(2026, 10, 2), 60.0, "paid", "S1", "食品"),
        ("a", "1", dt.date(2026, 10, 2), 40.0, "paid", "S1", "服饰"),
        ("a", "2", dt.date(2026, 10, 20), 50.0, "paid", None, "服饰"),
        ("a", "R1", dt.date(2026, 10, 25), -20.0, "returned", "S1", "服饰"),
        ("b", "3", dt.date(2026, 10, 9), 30.0, "paid", "S2", "食品"),
        ("c", "4", dt.date(2026, 10, 30), 40.0, "paid", "S2", "家居"),
        ("f", "9", dt.date(2026, 10, 21), 25.0, "paid", "S1", "食品"),
        ("f", "10", dt.date(2026, 10, 22), 70.0, "paid", "S1", "食品"),
        (None, "7", dt.date(2026, 10, 5), 999.0, "paid", "S1", "食品"),
        (None, "11", dt.date(2026, 10, 6), 1.0, "paid", "S1", "食品"),
        ("a", "5", dt.date(2026, 9, 14), 80.0, "paid", "S1", "食品"),
        ("b", "12", dt.date(2026, 9, 20), 10.0, "paid", "S3", "数码"),
        ("a", "8", dt.date(2025, 6, 1), 20.0, "paid", None, "服饰"),
    ] + ([("b", "B1", dt.date(2026, 10, 12), 5000.0, "paid", "S2", "食品")] if bulk else [])
    orders = {"member_id": [r[0] for r in rows], "order_id": [r[1] for r in rows],
              "order_ts": [pd.Timestamp(r[2]) + pd.Timedelta(hours=10) for r in rows],
              "order_date": [r[2] for r in rows], "amount": [r[3] for r in rows], "status": [r[4] for r in rows]}
    if store:
        orders["store_id"] = [r[5] for r in rows]
    else:   # mapped to nothing: the column is there and empty, as the cleaning writes it
        orders["store_id"] = pd.Series([None] * len(rows), dtype="string")
    if category:
        orders["category"] = [r[6] for r in rows]
    if bulk:
        orders["is_outlier"] = [r[1] == "B1" for r in rows]
    return {"orders": ibis.memtable(pd.DataFrame(orders)), "members": ibis.memtable(pd.DataFrame(members))}


def rfm_table():
    """The RFM member table's columns the profile reads: a important value, b general win-back,
    c and f general develop, d not segmented."""
    return pd.DataFrame({"member_id": list("abcdf"),
                         "segment": ["important_value", "general_at_risk", "general_develop", None, "general_develop"]})


def test_gender_and_age_band_at_the_period_end():
    ga = profile.gender_age(hand_tables()["members"], END)
    assert list(ga.index) == ["F", "M", "other", "unknown"]
    assert list(ga.columns) == ["under_25", "25_34", "35_44", "45_54", "55_plus", "unknown"]
    expected = {("F", "35_44"): 1, ("F", "55_plus"): 1, ("M", "under_25"): 1, ("other", "45_54"): 1,
                ("unknown", "unknown"): 1}   # e joined after the period: not counted
    assert {(g, b): int(ga.loc[g, b]) for g in ga.index for b in ga.columns if ga.loc[g, b]} == expected


def test_stores_ranked_by_member_revenue_with_the_change():
    s = profile.store_ranking(hand_tables()["orders"], "2026-10").set_index("store_id")
    assert list(s.index) == ["S1", "S2", "S3"] and list(s["rank"]) == [1, 2, 3]
    # S1: a's order 1 (100) less the return (20), f's 25 and 70; the guests' 1,000 are not member revenue
    assert s.loc["S1", "revenue"] == pytest.approx(175.0) and s.loc["S1", "previous_revenue"] == pytest.approx(80.0)
    assert s.loc["S1", "change"] == pytest.approx(175 / 80 - 1)
    assert (s.loc["S1", "orders"], s.loc["S1", "members"]) == (3, 2)   # the return is not an order
    assert s.loc["S2", "revenue"] == pytest.approx(70.0) and math.isnan(s.loc["S2", "change"])
    assert s.loc["S3", "revenue"] == 0 and s.loc["S3", "change"] == pytest.approx(-1.0)


def test_a_flagged_bulk_order_is_left_out_of_the_store_ranking_and_shown_beside_it():
    """The cleaning's outlier policy 'flag' keeps a bulk purchase with is_outlier set: it must not make
    its store lead nor read as the store's growth; the page names it in its own column and a sentence."""
    t = hand_tables(bulk=True)
    s = profile.store_ranking(t["orders"], "2026-10").set_index("store_id")
    assert list(s.index) == ["S1", "S2", "S3"]            # S2 would lead with 5,070 if the bulk order counted
    assert s.loc["S2", "revenue"] == pytest.approx(70.0) and (s.loc["S2", "orders"], s.loc["S2", "members"]) == (2, 2)
    assert (s.loc["S2", "bulk_revenue"], s.loc["S2", "bulk_orders"]) == (5000.0, 1)
    assert (s.loc["S1", "bulk_revenue"], s.loc["S1", "bulk_orders"]) == (0.0, 0)
    prof = profile.analyse(t, "2026-10", rfm_table(), 365)
    assert profile.key_results(prof)["stores"][1]["bulk_orders"] == 1
    for language, cell in (("en", "CN¥5,000 (1 order)"), ("zh", "¥5,000（1笔）")):
        p = Presentation(language)
        frame = view.store_frame(p, prof)
        assert frame.iloc[:, -1].tolist() == [view.DASH, cell, view.DASH]
        assert p.text("profile.bulk_column") in frame.columns[-1]
        assert view.bulk_sentence(p, prof) in view.store_sentence(p, prof) and "5,000" in view.bulk_sentence(p, prof)
    # without a flagged order, neither the column nor the sentence
    plain = profile.analyse(hand_tables(), "2026-10", rfm_table(), 365)
    assert view.bulk_sentence(Presentation("en"), plain) == ""
    assert Presentation("en").text("profile.bulk_column") not in " ".join(view.store_frame(Presentation("en"), plain).columns)


def test_new_members_by_channel_with_their_first_order():
    n = profile.new_members(hand_tables()["members"], hand_tables()["orders"], "2026-10")
    assert list(n.index) == ["app", "online", "total"]
    assert n.loc["app"].tolist()[:3] == [2, 1, 40.0]        # c (first order 40) and d (none)
    assert n.loc["online"].tolist()[:3] == [1, 1, 25.0]     # f: the first of 25 and 70
    assert n.loc["total"].tolist() == [3, 2, 65.0, 32.5, pytest.approx(2 / 3)]


def test_members_share_of_sales_against_guests():
    s = profile.member_share(hand_tables()["orders"], "2026-10")
    assert s["revenue"] == {"members": 295.0, "guests": 1000.0, "all": 1295.0}
    assert s["orders"] == {"members": 6, "guests": 2, "all": 8}
    assert s["revenue_share"] == pytest.approx(295 / 1295) and s["orders_share"] == pytest.approx(6 / 8)


def test_category_preference_by_segment_over_the_window():
    c = profile.category_by_segment(hand_tables()["orders"], rfm_table(), END, 365)
    got = {(r.segment, r.category): (r.revenue, r.orders, r.share) for r in c.itertuples()}
    assert got == {  # a: food 60 + 80, clothes 40 + 50 - 20 (June 2025 is outside the window)
        ("important_value", "食品"): (140.0, 2, pytest.approx(2 / 3)),
        ("important_value", "服饰"): (70.0, 2, pytest.approx(1 / 3)),
        ("general_develop", "食品"): (95.0, 2, pytest.approx(95 / 135)),
        ("general_develop", "家居"): (40.0, 1, pytest.approx(40 / 135)),
        ("general_at_risk", "食品"): (30.0, 1, pytest.approx(0.75)),
        ("general_at_risk", "数码"): (10.0, 1, pytest.approx(0.25))}
    # the scheme's order of segments (important value first), the most revenue first within one
    assert list(c.segment) == ["important_value"] * 2 + ["general_develop"] * 2 + ["general_at_risk"] * 2


def test_a_shop_export_without_gender_birth_date_store_or_category_does_not_fail():
    tables = hand_tables(gender=False, birth=False, store=False, category=False)
    assert profile.missing_parts(tables) == ["gender", "age", "category", "store"]
    assert profile.missing_parts(hand_tables()) == []
    prof = profile.analyse(tables, "2026-10", rfm_table(), 365)
    assert prof.missing == ["gender", "age", "category", "store"]
    assert prof.categories.empty and prof.stores.empty
    assert int(prof.gender_age.loc["unknown", "unknown"]) == 5 and int(prof.gender_age.to_numpy().sum()) == 5
    assert prof.new_members.loc["total", "new_members"] == 3   # the parts that need no optional column stay
    res = {"results": {"profile": profile.key_results(prof)}}
    for language, word in (("en", "gender (members)"), ("zh", "性别（会员表）")):
        p = Presentation(language)
        note = view.missing_note(p, prof.missing)
        assert word in note and p.text("profile.part_store") in note
        for plot in (view.plot_gender_age, view.plot_categories):
            plot(p, prof)
        assert view.store_sentence(p, prof) == "" and view.category_sentence(p, prof) == ""
        assert view.gender_age_sentence(p, prof) == ""
        card = view.summary_figures(p, res)
        assert card[-1].label == p.text("profile.card_missing") and word in card[-1].delta
        assert p.text("profile.card_women") not in [k.label for k in card]


def test_the_results_hold_numbers_and_codes_and_the_views_word_them_in_both_languages():
    prof = profile.analyse(hand_tables(), "2026-10", rfm_table(), 365)
    r = profile.key_results(prof)
    assert r["missing"] == [] and r["gender_age"]["M"]["under_25"] == 1
    assert r["stores"][0] == {"store_id": "S1", "rank": 1, "revenue": 175.0, "previous_revenue": 80.0,
                              "change": pytest.approx(1.1875), "orders": 3, "members": 2,
                              "bulk_revenue": 0.0, "bulk_orders": 0}
    assert r["new_members"]["total"]["first_order_value"] == 65.0
    en, zh = Presentation("en"), Presentation("zh")
    assert view.sales_sentence(en, r["sales"], "2026-10").startswith("Members brought 22.8% of the sales")
    assert "22.8%" in view.sales_sentence(zh, r["sales"], "2026-10")
    assert view.new_members_sentence(en, prof) == (   # 32.5 to whole units, half to even as CLDR does
        "3 members joined in October 2026; 2 of them (66.7%) have placed a first order, worth CN¥32 on average.")
    frame = view.new_members_frame(zh, prof)
    assert frame.iloc[:, 0].tolist() == ["App", "线上", "全部渠道"]
    assert view.store_frame(en, prof).iloc[0].tolist()[:5] == ["1", "S1", "CN¥175", "CN¥80", "+118.8%"]
    card = {k.label: k.value for k in view.summary_figures(en, {"results": {"profile": r}})}
    assert card == {"Members' share of sales": "22.8%", "New members": "3 members", "Leading store": "S1", "Women": "50.0%"}


def test_region_table_gives_members_and_revenue_beside_the_bubbles_and_the_size_has_a_legend():
    regions = pd.DataFrame({"members": [10, 30], "mean_r": [40.0, 160.0], "mean_f": [2.0, 1.5], "mean_m": [300.0, 200.0],
                            "revenue": [3000.0, 6000.0], "established_lost_rate": [0.1, 0.3]},
                           index=pd.Index(["杭州", "上海"], name="region"))
    t = profile.region_table(regions)
    assert t.region.tolist() == ["上海", "杭州"] and t.members.tolist() == [30, 10]
    assert t.revenue_share.tolist() == pytest.approx([2 / 3, 1 / 3])
    for language in ("en", "zh"):
        p = Presentation(language)
        frame = view.region_frame(p, regions)
        assert frame.iloc[0].tolist() == ["Shanghai" if language == "en" else "上海", "30", "CN¥6,000" if language == "en" else "¥6,000", "66.7%", "160"]
        legend = rfm_view.plot_bubble_sizes(p, regions).axes[0].get_legend()   # its own chart under the bubbles
        # on lines of the chart's width
        assert "".join(legend.get_title().get_text().split()) == "".join(p.text("profile.size_legend").split())
        assert [x.get_text() for x in legend.get_texts()] == [p.text("profile.size_days", days=d) for d in ("40", "100", "160")]


def league():
    """Three campaign types: two member days (one pays), one spend-and-save, one coupon without a cost."""
    def camp(kind, cost, margin, reason):
        return {"type": kind, "cost": cost, "figures": {"incremental_margin": {"value": margin}},
                "verdict": {"decision": "repeat" if reason == "pays" else "stop", "reason": reason}}
    return {"results": {"campaigns": {"C1": camp("member_day", 3000.0, 9000.0, "pays"),
                                      "C2": camp("member_day", 30000.0, 11000.0, "no_effect"),
                                      "C3": camp("spend_save", 45000.0, 15000.0, "does_not_pay"),
                                      "C4": camp("coupon", None, 500.0, "no_cost")}}}


def test_which_campaign_types_paid_from_the_league():
    reports = [ReportState("campaign_review", "ok", league())]
    types = month.campaign_types(reports)
    assert [t["type"] for t in types] == ["member_day", "spend_save", "coupon"]
    md = types[0]
    assert (md["campaigns"], md["paid"], md["cost"], md["incremental_margin"], md["net_gain"]) == (2, 1, 33000.0, 20000.0, -13000.0)
    assert md["roi"] == pytest.approx(-13000 / 33000)
    assert types[1]["net_gain"] == -30000.0 and types[2]["net_gain"] is None and types[2]["roi"] is None
    assert month.campaign_types([ReportState("campaign_review", "failed")]) == []


def test_summary_page_shows_the_profile_card_and_the_campaign_types():
    prof = profile.analyse(hand_tables(), "2026-10", rfm_table(), 365)
    rfm_res = {"results": {"profile": profile.key_results(prof)}, "kpis": {}}
    reports = [ReportState("rfm_segmentation", "ok", rfm_res)]
    types = month.campaign_types([ReportState("campaign_review", "ok", league())])
    for language, words in (("en", ["Member profile", "Which campaign types paid", "member day", "1 of 2 paid", "net of their cost",
                                     "-\u2060CN¥13,000", "margin CN¥20,000 − cost CN¥33,000"]),
                            ("zh", ["会员画像速览", "哪类活动赚了钱", "会员日", "单独赚钱 1/2", "扣除成本", "-\u2060¥13,000",
                                    "毛利 ¥20,000 − 成本 ¥33,000"])):
        s = MonthSummary("2026-10", language, "CNY", reports, None, campaign_types=types)
        html = month_views.render_summary(s)
        for w in words:
            assert w in html, (language, w)
        # member day: one of its two campaigns paid, but the type lost 13,000: its verdict says so, not "paid"
        rows = month_views.campaign_type_rows(s)
        p = Presentation(language)
        assert [(r["verdict"], r["tone"]) for r in rows] == [(p.text("profile.types_lost"), "bad")] * 2 + [
            (p.text("profile.types_unknown"), "")]
        table = html[html.index('<table class="mk-months mk-types">'):]
        assert table[:table.index("</tr>")].count("<th>") == 4     # four columns: fits a 420 px screen
        # its evidence link opens the league on the campaign page (the heading's anchor, the same in zh), not its top
        assert '<a href="campaign_review.html#campaign-league" class="mk-more">' in html
        assert 'href="campaign_review.html"' not in html
    league_heading = 'page.heading(p.text(\\"cr.league_title\\"), anchor=\\"campaign-league\\")'
    assert league_heading in (ROOT / "notebooks" / "05_campaign_review.ipynb").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_campaign_to_repeat_says_what_its_return_is_of_and_how_its_type_did(language):
    """On the summary, 'Repeat campaign C2610 (a member day) +218%' sat just above the campaign types'
    'member day: Lost money -CN¥12,504' with '1 of 2 paid' in small print. The decision's own line now says
    what the return is of (margin less cost, over the cost) and that the type's campaigns together lost money."""
    res = league()
    for cid, c in res["results"]["campaigns"].items():
        c.update(rank=int(cid[1]), reviewed_in_period=cid in ("C1", "C3"), name=None, evidence="holdout",
                 figures={**c["figures"], "roi": {"value": 2.0 if cid == "C1" else -0.67, "ci_low": 1.0, "ci_high": 3.0}})
    reports = [ReportState("campaign_review", "ok", res)]
    s = MonthSummary("2026-10", language, "CNY", reports, None, decisions=month.decisions(reports),
                     campaign_types=month.campaign_types(reports))
    sentences = [i["sentence"] for i in month_views.decision_items(s)]
    repeat = next(x for x in sentences if "C1" in x)
    words = {"en": ["+200%", "over its cost of CN¥3,000", "one of 2 member day campaigns reviewed", "1 of them paid on its own",
                    "together they lost CN¥13,000 after their cost"],
             "zh": ["+200%", "除以成本 ¥3,000", "本次复盘的会员日活动共 2 个", "其中 1 个单独赚钱", "合计扣除成本后亏损 ¥13,000"]}[language]
    for w in words:
        assert w in repeat, (w, repeat)
    # the only spend-and-save campaign: no word about its type
    stop = next(x for x in sentences if "C3" in x)
    assert "reviewed" not in stop and "复盘的" not in stop


def test_the_campaign_types_table_says_it_covers_the_league_window_not_the_month():
    res = {"results": {"league_months": 24, "campaigns": {}}}
    assert "the last 24 months" in view.types_caption(Presentation("en"), res)
    assert "最近 24 个月" in view.types_caption(Presentation("zh"), res)
    assert view.types_caption(Presentation("en"), None) == Presentation("en").text("profile.types_caption")


def test_the_channels_first_orders_add_up_to_the_total_shown():
    """54,822.6 + 45,539.6 + 25,912.6 = 126,274.8: each rounded alone, 54,823 + 45,540 + 25,913 is 126,276, one
    more than the total's 126,275. The counts add up as they are; the amounts are rounded so that they do too
    (the remainder on the largest), and the sentence under the table says the same total."""
    from types import SimpleNamespace
    n = pd.DataFrame({"new_members": [334, 272, 168, 774], "buyers": [276, 232, 140, 648],
                      "first_order_value": [54822.6, 45539.6, 25912.6, 126274.8]},
                     index=["offline", "online", "app", "total"])
    n["mean_first_order"] = n.first_order_value / n.buyers
    n["buyer_share"] = n.buyers / n.new_members
    frame = view.new_members_frame(Presentation("en", "CNY"), SimpleNamespace(new_members=n, period="2026-10"))
    amounts = [int(x.replace("CN¥", "").replace(",", "")) for x in frame.iloc[:, -1]]
    assert amounts == [54822, 45540, 25913, 126275] and sum(amounts[:-1]) == amounts[-1]
    counts = [int(x.replace(",", "")) for x in frame.iloc[:, 1]]
    assert sum(counts[:-1]) == counts[-1]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_region_bubble_labels_are_dark_below_their_bubble_and_say_the_days_in_words(language):
    """White names drawn inside the bubbles ran past a small bubble's edge onto the white page ('hengdu',
    'uangzho'), and 'R=103' was explained nowhere. Each label is now dark text under its bubble, whatever
    the bubble's size, outside it and clear of the other names, and says the days since the last order."""
    import matplotlib
    matplotlib.use("Agg")
    regions = pd.DataFrame({"members": [10, 30, 20], "mean_r": [40.0, 160.0, 103.0], "mean_f": [2.0, 1.5, 1.8],
                            "mean_m": [300.0, 200.0, 250.0], "revenue": [3000.0, 6000.0, 5000.0],
                            "established_lost_rate": [0.1, 0.9, 0.5]},
                           index=pd.Index(["成都", "上海", "广州"], name="region"))
    p = Presentation(language)
    fig = rfm_view.plot_region_bubbles(p, regions)
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text().strip()]
    assert len(labels) == 3
    renderer = fig.canvas.get_renderer()
    for t, (_, row) in zip(labels, regions.iterrows()):
        assert "R=" not in t.get_text() and t.get_text().startswith(p.shop("region", row.name))
        assert t.get_text().endswith(p.text("profile.size_days", days=p.count(round(row.mean_r))))
        assert matplotlib.colors.to_hex(t.get_color()) == "#1a1a1a"
        # the label lies outside its bubble (radius = sqrt(area) / 2 points): below it when that is free, else
        # wherever it covers no bubble and no other name (rfm_view places it as the chart is drawn)
        cx, cy = ax.transData.transform((row.mean_m, row.mean_f))
        radius_px = float(rfm_view._bubble_areas([row.mean_r], regions.mean_r.max())[0]) ** 0.5 / 2 * fig.dpi / 72
        box = t.get_window_extent(renderer)
        nearest = math.hypot(min(max(cx, box.x0), box.x1) - cx, min(max(cy, box.y0), box.y1) - cy)
        assert nearest >= radius_px - 0.5, (t.get_text(), nearest, radius_px)
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # the days under each name are explained where the sizes are: in the size legend's title, drawn under the chart
    sizes = rfm_view.plot_bubble_sizes(p, regions).axes[0].get_legend().get_title().get_text()
    assert ("days under each name" if language == "en" else "地名下的天数") in " ".join(sizes.split())
    import matplotlib.pyplot as plt
    plt.close(fig)
