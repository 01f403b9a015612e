"""Why the month changed: the splits against hand-worked values, their sums, and a sample whose
one city's order value was cut by a known share in a known month."""
import datetime as dt
import math
import random

import pandas as pd
import pytest
import yaml

from memberkit import attribution as A

from .conftest import ROOT


# ------------------------------------------------------------------ the arithmetic, by hand
def test_the_logarithmic_mean():
    assert A.log_mean(math.e, 1.0) == pytest.approx(math.e - 1, rel=1e-15)      # (e - 1) / (1 - 0)
    assert A.log_mean(4.0, 1.0) == pytest.approx(2.1640425613334453, rel=1e-15)  # 3 / ln 4
    assert A.log_mean(7.0, 7.0) == 7.0
    with pytest.raises(ValueError):
        A.log_mean(0.0, 1.0)


def test_lmdi_on_two_factors_worked_by_hand():
    # V = x y, x: 1 -> 2, y: 1 -> 3, V: 1 -> 6. L(6, 1) = 5 / ln 6; x gets L ln 2, y gets L ln 3.
    parts = A.lmdi_contributions([1, 1], [2, 3], [1, 1])
    assert parts == pytest.approx([1.9342640361727082, 3.0657359638272918], rel=1e-12)


def test_shapley_on_two_factors_is_the_midpoint_rule():
    # x gets (x1 - x0)(y0 + y1)/2 = 1 * 4 / 2, y gets (y1 - y0)(x0 + x1)/2 = 2 * 3 / 2
    assert A.shapley_contributions([1, 1], [2, 3], [1, 1]) == pytest.approx([2.0, 3.0], rel=1e-15)


def test_shapley_on_three_factors_worked_by_hand():
    # V = x y z from (1, 2, 3) to (2, 3, 5): 6 -> 30. Over the 6 orders of switching, x's marginal
    # effects are 6, 9, 10, 15 (weights 2, 1, 1, 2)/6 -> (12 + 9 + 10 + 30)/6 = 61/6; y: 3, 6, 5, 10 -> 37/6;
    # z: 4, 8, 6, 12 -> 46/6.
    parts = A.shapley_contributions([1, 2, 3], [2, 3, 5], [1, 1, 1])
    assert parts == pytest.approx([61 / 6, 37 / 6, 46 / 6], rel=1e-12)
    assert sum(parts) == pytest.approx(24.0, rel=1e-15)


def test_a_negative_revenue_uses_shapley_and_gives_everything_to_the_one_factor_that_moved():
    split = A.driver_split({"members": 10, "aov": -5}, {"members": 10, "aov": 5})
    assert split["method"] == "shapley"
    assert [d["contribution"] for d in split["drivers"]] == [0.0, 100.0]


def test_only_the_factor_that_moved_gets_the_change_in_both_methods():
    for before, after in (([2, 3, 4], [2, 6, 4]), ([2, 3, -4], [2, 6, -4])):
        split = A.driver_split(dict(zip("abc", before)), dict(zip("abc", after)))
        assert [round(d["contribution"], 12) for d in split["drivers"]] == [0.0, 24.0 if before[2] > 0 else -24.0, 0.0]


def test_a_ratio_divides_and_lmdi_reverses_with_time():
    # AOV = revenue / orders: 1000/10 -> 1500/12; LMDI-I is time-reversal invariant (Ang 2004)
    before, after, e = {"revenue": 1000, "orders": 10}, {"revenue": 1500, "orders": 12}, {"orders": -1}
    forward, back = A.driver_split(before, after, e), A.driver_split(after, before, e)
    assert forward["total_change"] == pytest.approx(25.0)
    assert [d["contribution"] for d in forward["drivers"]] == pytest.approx(
        [-d["contribution"] for d in back["drivers"]], rel=1e-12)
    assert forward["drivers"][1]["contribution"] < 0 < forward["drivers"][0]["contribution"]


def test_every_split_sums_to_the_change_within_1e9():
    rng = random.Random(11)
    for _ in range(300):
        n = rng.choice([2, 3, 4])
        e = [rng.choice([1, -1]) for _ in range(n)]
        x0 = [rng.uniform(-50, 200) if ei == 1 else rng.uniform(1, 200) for ei in e]
        x1 = [rng.uniform(-50, 200) if ei == 1 else rng.uniform(1, 200) for ei in e]
        split = A.driver_split(dict(zip("abcd", x0)), dict(zip("abcd", x1)), dict(zip("abcd", e)))
        total = sum(d["contribution"] for d in split["drivers"])
        assert abs(total - split["total_change"]) <= 1e-9 * max(1.0, abs(split["total_change"]))


def test_groups_split_into_mix_and_rate_by_hand():
    before = pd.DataFrame({"num": [100.0, 50.0], "den": [10.0, 10.0]}, index=["A", "B"])
    after = pd.DataFrame({"num": [100.0, 90.0, 30.0], "den": [10.0, 10.0, 5.0]}, index=["A", "B", "C"])
    # a sum: B's rate went 5 -> 9 on a volume of 10 -> +40, all rate; C is new: +30, all mix
    rows = {r["group"]: r for r in A.group_split(before, after, "sum")}
    assert rows["B"] == {"group": "B", "contribution": 40.0, "mix": 0.0, "rate": 40.0}
    assert rows["C"] == {"group": "C", "contribution": 30.0, "mix": 30.0, "rate": 0.0}
    assert rows["A"]["contribution"] == 0.0
    assert [r["group"] for r in A.group_split(before, after, "sum")] == ["B", "C", "A"]
    # a ratio (AOV): 150/20 = 7.5 -> 220/25 = 8.8. A: share 1/2 -> 2/5 at rate 10: mix -1, rate 0;
    # B: share 1/2 -> 2/5, rate 5 -> 9: mix (-0.1)(14)/2 = -0.7, rate 4 (0.9)/2 = 1.8; C: +1.2 mix
    ratio = {r["group"]: r for r in A.group_split(before, after, "ratio")}
    assert ratio["A"]["mix"] == pytest.approx(-1.0) and ratio["A"]["rate"] == 0.0
    assert (ratio["B"]["mix"], ratio["B"]["rate"]) == pytest.approx((-0.7, 1.8))
    assert ratio["C"]["mix"] == pytest.approx(1.2)
    assert sum(r["contribution"] for r in ratio.values()) == pytest.approx(8.8 - 7.5, rel=1e-12)


# ------------------------------------------------------------------ on the engine, against the month figures
def test_the_facts_give_the_month_figures_and_every_split_sums(small_tables):
    from memberkit import kpi
    tables, _ = small_tables
    orders, members = tables["orders"], tables["members"]
    figures = kpi.month_figures(orders, members, "2026-10", 13, 90)
    facts = A.month_facts(orders, members, ["2026-10", "2026-09"], 90)
    for period in ("2026-10", "2026-09"):
        f = facts[facts.period == period]
        for figure in A.GROUP_FORM:
            assert A._figure(f, figure) == pytest.approx(figures.loc[period, figure], rel=1e-12), (period, figure)
    month = {"months": list(figures.index), "figures": {k: [None if math.isnan(v) else v for v in figures[k]]
                                                        for k in figures.columns}}
    attribution = A.month_attribution(orders, members, "2026-10", month["figures"], month["months"], 90)
    for figure, comparisons in attribution.items():
        for key, c in comparisons.items():
            assert c is not None, (figure, key)
            scale = 1e-9 * max(1.0, abs(c["total_change"]))
            assert abs(sum(d["contribution"] for d in c["drivers"]) - c["total_change"]) <= scale
            # member revenue's groups leave the flagged bulk orders out: they sum to the change without them
            bulk = sum(d["contribution"] for d in c["drivers"] if d["name"] == A.BULK)
            for dim in A.DIMENSIONS:
                rows = [g for g in c["groups"] if g["dimension"] == dim]
                assert abs(sum(g["contribution"] for g in rows) - (c["total_change"] - bulk)) <= scale, (figure, key, dim)
                assert all(abs(g["mix"] + g["rate"] - g["contribution"]) <= scale for g in rows)
            if figure == "member_revenue":
                has_bulk = [d["name"] for d in c["drivers"]][-1] == A.BULK
                assert [f["flow"] for f in c["flows"]] == [*A.FLOWS, *([A.BULK] if has_bulk else [])]
                assert abs(sum(f["contribution"] for f in c["flows"]) - c["total_change"]) <= scale
                # the small sample has bulk orders in September or October
                assert has_bulk and bulk != 0 if key == "vs_previous" else True
            else:
                assert bulk == 0


def test_flows_by_hand():
    import ibis
    orders = ibis.memtable({
        "member_id": ["kept", "kept", "gone", "back", "back", "fresh", None],
        "order_id": ["1", "2", "3", "4", "5", "6", "7"],
        "order_date": [dt.date(2026, 9, 3), dt.date(2026, 10, 3), dt.date(2026, 9, 9), dt.date(2026, 1, 2),
                       dt.date(2026, 10, 20), dt.date(2026, 10, 21), dt.date(2026, 10, 22)],
        "amount": [100.0, 130.0, 80.0, 40.0, 60.0, 25.0, 999.0],       # the last is a guest's
        "status": ["paid"] * 7})
    flows = {f["flow"]: f["contribution"] for f in A.revenue_flows(orders, "2026-09", "2026-10")}
    assert flows == {"new": 25.0, "reactivated": 60.0, "retained": 30.0, "lost": -80.0}
    assert sum(flows.values()) == (130 + 60 + 25) - (100 + 80)


# ------------------------------------------------------------------ the known shock
@pytest.mark.slow
def test_a_city_whose_order_value_was_cut_is_ranked_first_with_order_value_its_largest_driver(tmp_path):
    """2,000 members; one city (at least 15% of member revenue) loses 40% of its order value in
    October 2026. The generator's bulk purchases (an injected problem) are left out by the cleaning,
    so the shock is the one designed change."""
    from memberkit import clean, engine, month, sources
    from memberkit.config import load_settings, notebook_params
    from memberkit.sample import SampleSpec, Shock, generate_sample
    city = "成都"
    truth = generate_sample(tmp_path / "s", 2000, 7, spec=SampleSpec(shock=Shock(city, "2026-10", -0.4)))
    assert truth["shock"]["city"] == city and truth["shock"]["rows"] > 0
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"as_of": truth["extracted_at"],
                                      "source": {"base_dir": str(tmp_path / "s"), "sample": None}}), encoding="utf-8")
    params = notebook_params(load_settings(ROOT, [config]), "data_cleaning")
    con = engine.connect()
    raw = sources.load_sources(con, params.source, ROOT, tmp_path / "staging")
    clean.clean_all(con, raw, as_of=dt.date.fromisoformat(truth["extracted_at"]),
                    date_formats=params.source.tables["orders"].date_formats, out_dir=tmp_path / "out",
                    outlier_policy="exclude")
    orders = con.read_parquet(tmp_path / "out" / "clean" / "orders.parquet")
    members = con.read_parquet(tmp_path / "out" / "clean" / "members.parquet")
    september = A.month_facts(orders, members, ["2026-09"]).groupby("region").revenue.sum()
    assert september[city] / september.sum() >= 0.15
    figures = month.compute_figures({"orders": orders, "members": members}, "2026-10")
    change = A.month_attribution(orders, members, "2026-10", figures["figures"], figures["months"])
    revenue = change["member_revenue"]["vs_previous"]
    regions = [g for g in revenue["groups"] if g["dimension"] == "region"]
    assert regions[0]["group"] == city and regions[0]["contribution"] < 0
    drivers = sorted(regions[0]["drivers"], key=lambda d: -abs(d["contribution"]))
    assert drivers[0]["name"] == "average_order_value" and drivers[0]["contribution"] < 0
    # the summary page's first sentence names that city and its order value, in both languages
    from memberkit.views import Presentation
    from memberkit.views.attribution import sentences
    lead = sentences(Presentation("en", "CNY"), revenue, "September 2026")[0]
    assert lead.startswith(f"{Presentation('en').shop('region', city)} brought -\u2060CN¥") and "there average order value fell" in lead
    lead = sentences(Presentation("zh", "CNY"), revenue, "2026年9月")[0]
    assert lead.startswith("较 2026年9月的") and f"{city}贡献 " in lead and "当地客单价下降" in lead


def test_the_shock_is_a_sample_setting_off_by_default_and_moves_nothing_else(tmp_path):
    from memberkit.config import SourceConfig
    from memberkit.sample import ensure_sample, generate_sample
    settings = {"base_dir": str(tmp_path / "shocked"), "tables": {"orders": {"path": "orders.csv"}},
                "sample": {"members": 300, "seed": 3, "shock": {"city": "上海", "month": "2026-09", "aov_change": -0.5}}}
    ensure_sample(SourceConfig.model_validate(settings), ROOT)
    plain = generate_sample(tmp_path / "plain", 300, 3)
    shocked = yaml.safe_load((tmp_path / "shocked" / "ground_truth.json").read_text(encoding="utf-8"))
    assert plain["shock"] is None and shocked["shock"]["city"] == "上海" and shocked["shock"]["rows"] > 0
    a = pd.read_csv(tmp_path / "plain" / "orders.csv", dtype=str).fillna("")
    b = pd.read_csv(tmp_path / "shocked" / "orders.csv", dtype=str).fillna("")
    moved = (a != b).any(axis=1)
    assert moved.sum() == shocked["shock"]["rows"]                          # only the shocked rows
    assert set((a != b).columns[(a != b).any()]) <= {"PaidAmount", "DiscountAmount"}
    assert (pd.to_numeric(b.PaidAmount[moved]) == (pd.to_numeric(a.PaidAmount[moved]) * 0.5).round(2)).all()
    for f in ("members.csv", "experiments.csv", "campaign_members.csv"):
        assert (tmp_path / "plain" / f).read_bytes() == (tmp_path / "shocked" / f).read_bytes()
    bad = {**settings, "sample": {"shock": {"city": "Paris", "month": "2026-9", "aov_change": -1}}}
    with pytest.raises(Exception, match="city|month|aov_change"):
        SourceConfig.model_validate(bad)


def test_tier_split_by_hand_a_member_who_moved_counts_in_each_months_own_tier():
    import pandas as pd
    per_member = pd.DataFrame({"member_id": ["a", "b"], "revenue_0": [100.0, 50.0], "orders_0": [1, 1],
                               "revenue_1": [150.0, 60.0], "orders_1": [1, 1]})
    before = pd.DataFrame({"member_id": ["a", "b"], "tier": ["gold", "silver"]})
    after = pd.DataFrame({"member_id": ["a", "b"], "tier": ["silver", "silver"]})
    rows = {r["group"]: r for r in A.member_group_split(per_member, before, after, 0, 1, ["tier"])}
    # gold: a's 100 leaves with a, no buyer left: all mix; silver: 50 from one buyer -> 210 from two
    assert rows["gold"] == {"dimension": "tier", "group": "gold", "contribution": -100.0, "mix": -100.0, "rate": 0.0}
    assert rows["silver"]["contribution"] == 160.0
    assert rows["silver"]["mix"] == pytest.approx((2 - 1) * (50 + 105) / 2)
    assert rows["silver"]["rate"] == pytest.approx((105 - 50) * (1 + 2) / 2)
    # a member in no table of a month (not joined yet) is group None
    after = pd.DataFrame({"member_id": ["b"], "tier": ["silver"]})
    rows = {r["group"]: r for r in A.member_group_split(per_member, before, after, 0, 1, ["tier"])}
    assert rows[None]["contribution"] == 150.0 and rows[None]["mix"] == 150.0
    # a member twice in a month's table has no one group: refused, not counted twice
    twice = pd.DataFrame({"member_id": ["a", "a", "b"], "tier": ["gold", "silver", "silver"]})
    with pytest.raises(ValueError, match="duplicate"):
        A.member_group_split(per_member, twice, after, 0, 1, ["tier"])


def test_tier_and_segment_splits_sum_to_the_change_of_member_revenue_on_the_sample(small_tables, small_config):
    from memberkit import rfm
    from memberkit.config import load_settings, notebook_params
    from memberkit.periods import period_bounds
    tables, _ = small_tables
    params = notebook_params(load_settings(ROOT, [small_config]), "rfm_segmentation")
    ends = {p: period_bounds(p)[1] for p in ("2026-09", "2026-10")}
    at = rfm.member_tables_at(tables["orders"], rfm.member_profile(tables["members"]), ends.values(), params)
    per_member = A.member_month_revenue(tables["orders"], ["2026-09", "2026-10"])
    all_facts = A.month_facts(tables["orders"], tables["members"], ["2026-09", "2026-10"])
    facts = (all_facts.revenue - all_facts.bulk_revenue).groupby(all_facts.period).sum()   # without bulk orders
    assert per_member.revenue_0.sum() == pytest.approx(facts["2026-09"], rel=1e-12)
    assert per_member.revenue_1.sum() == pytest.approx(facts["2026-10"], rel=1e-12)
    rows = A.member_group_split(per_member, at[ends["2026-09"]][0], at[ends["2026-10"]][0], 0, 1)
    change = facts["2026-10"] - facts["2026-09"]
    for dim in ("tier", "segment"):
        mine = [r for r in rows if r["dimension"] == dim]
        assert len(mine) >= 3
        assert sum(r["contribution"] for r in mine) == pytest.approx(change, rel=1e-9)
        assert all(r["mix"] + r["rate"] == pytest.approx(r["contribution"], abs=1e-6) for r in mine)
        assert [abs(r["contribution"]) for r in mine] == sorted((abs(r["contribution"]) for r in mine), reverse=True)


def test_a_group_without_a_value_is_kept_as_none_whatever_the_index_holds():
    """Members without a region: pandas may hold the missing group as NaN in a string index or as None
    in an object index; both are the one group None, with its numbers."""
    before = pd.DataFrame({"num": [10.0, 20.0], "den": [1.0, 2.0]}, index=pd.Index([math.nan, "b"], dtype="str"))
    after = pd.DataFrame({"num": [30.0, 20.0], "den": [2.0, 2.0]}, index=pd.Index([None, "b"], dtype=object))
    rows = {r["group"]: r for r in A.group_split(before, after, "sum")}
    assert set(rows) == {None, "b"}
    assert rows[None]["contribution"] == 20.0 and rows["b"]["contribution"] == 0.0


def test_a_figure_summed_over_groups_is_rounded_once():
    # adding the groups' floats in turn gives 0.30000000000000004 for 0.1 + 0.2; the month's card says 0.3
    facts = pd.DataFrame({"revenue": [0.1, 0.2, None], "members": [1, 1, 1]})
    assert A._total(facts.revenue) == 0.3
    assert A._figure(facts.assign(**{c: 0.0 for c in A.FACT_COLUMNS if c not in facts}),
                               "member_revenue") == 0.3


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_channel_sentence_says_what_the_channel_is_and_how_much_of_the_change_it_is(language):
    """Issue 23: 'Channel online: its members brought +CN¥23,153 of the +CN¥162,041 change since September 2026;
    among them the number of members rose 4.2%' said neither why online was named nor what 'its members' are.
    It now says that it is the city or sign-up channel that moved member revenue most, its share of the change,
    and that the channel is where the member joined (the member table), not where they ordered."""
    from memberkit.views import Presentation
    from memberkit.views.attribution import sentences
    change = {"before": 737_339.0, "after": 899_380.0, "flows": [], "drivers": [],
              "groups": [{"dimension": "channel", "group": "online", "contribution": 23_153.0,
                          "drivers": [{"name": "members", "before": 6525.0, "after": 6797.0, "contribution": 20_000.0}]},
                         {"dimension": "region", "group": "成都", "contribution": 16_410.0, "drivers": [
                             {"name": "members", "before": 100.0, "after": 120.0, "contribution": 10_000.0}]}]}
    p = Presentation(language, "CNY")
    lead = sentences(p, change, "September 2026" if language == "en" else "2026年9月")[0]
    share = p.pct(23_153 / 162_041)
    assert share == "14.3%" and share in lead
    # a part against the change is said so, not as a negative share of it (+CN¥5,355 of a -CN¥6,956 change)
    against = {**change, "after": change["before"] - 6_956.0}
    other = sentences(p, against, "September 2026")[0]
    import re
    assert p.text("why.share_against") in other and not re.search(r"-\u2060?[\d.]+%", other), other
    if language == "en":
        assert lead.startswith("Of the cities and sign-up channels, members whose sign-up channel is online moved "
                               "member revenue most: +CN¥23,153 of the +CN¥162,041 change")
        assert "where a member joined (the member table), not where they ordered" in lead
    else:
        assert lead.startswith("在各城市和各注册渠道中，注册渠道为线上的会员对会员销售额变化的影响最大")
        assert "会员注册时的渠道（来自会员表），不是下单渠道" in lead
