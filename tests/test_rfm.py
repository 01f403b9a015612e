"""RFM: the per-member summary, scoring, both rule tables, tiers, lifecycle and migration,
each checked on small hand-computed cases."""
import re
import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from memberkit import rfm, summary
from memberkit.config import load_settings, notebook_params
from memberkit.rfm import OUTSIDE, RFMSegmenter, Scheme, Segment, quantile_scores, schemes

from .conftest import DOMAIN_HIGH_LOW, ROOT, count_summary_queries

END = dt.date(2026, 10, 31)


def orders_table(rows):
    frame = pd.DataFrame(rows, columns=["order_id", "member_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame.order_date).dt.date
    return ibis.memtable(frame)


# ------------------------------------------------------------------ the summary (engine side)
def test_member_summary_by_hand():
    t = orders_table([
        ("1", "a", "2026-10-30", 100.0),
        ("1", "a", "2026-10-30", 20.0),      # second line of the same order: one order, 120 spent
        ("2", "a", "2026-06-01", 50.0),
        ("3", "a", "2026-10-31", -30.0),     # a return: nets against spend, is not an order
        ("4", "a", "2025-10-31", 999.0),     # 365 days before the end: outside the window (window is (end-365, end])
        ("5", "b", "2025-11-01", 10.0),      # 364 days before the end: inside
        ("6", None, "2026-10-30", 500.0),    # a guest: outside member analytics
        ("7", "c", "2026-11-01", 80.0),      # after the end: not seen yet
        ("8", "d", "2024-01-01", 40.0),      # bought, but not in the window
    ])
    s = summary.member_summary(t, END, window_days=365).to_pandas().set_index("member_id").sort_index()
    assert list(s.index) == ["a", "b", "d"]
    assert s.loc["a", "frequency"] == 2 and s.loc["a", "monetary"] == pytest.approx(140.0)
    assert s.loc["a", "recency_days"] == 1          # last purchase 10-30; the return on 10-31 is not a purchase
    assert s.loc["a", "orders_total"] == 3 and s.loc["a", "revenue_total"] == pytest.approx(1139.0)
    assert s.loc["b", "frequency"] == 1 and s.loc["b", "recency_days"] == 364
    assert s.loc["d", "frequency"] == 0 and s.loc["d", "monetary"] == 0.0 and s.loc["d", "recency_days"] == 1034


def test_member_summaries_by_hand():
    t = orders_table([("1", "a", "2026-06-01", 50.0), ("2", "a", "2026-10-30", 120.0), ("3", "a", "2026-10-31", -30.0),
                      ("4", "b", "2025-11-01", 10.0), ("5", "c", "2026-11-01", 80.0)])
    ends = [END, dt.date(2026, 6, 1), dt.date(2025, 10, 31), END]        # END twice: one set of rows
    s = summary.member_summaries(t, ends, window_days=365).to_pandas()
    s = s.assign(end=s.end.dt.date).set_index(["end", "member_id"]).sort_index()
    assert s.index.tolist() == [(dt.date(2026, 6, 1), "a"), (dt.date(2026, 6, 1), "b"), (END, "a"), (END, "b")]
    assert s.loc[(dt.date(2026, 6, 1), "a"), ["recency_days", "frequency", "monetary"]].tolist() == [0, 1, 50.0]
    assert s.loc[(END, "a"), ["recency_days", "frequency", "monetary", "orders_total"]].tolist() == [1, 2, 140.0, 2]
    assert s.loc[(dt.date(2026, 6, 1), "b"), "recency_days"] == 212
    with pytest.raises(ValueError, match="at least one end date"):
        summary.member_summaries(t, [])


def test_member_summaries_count_an_order_once_when_its_lines_fall_on_different_days():
    # order 9: a purchase line outside the window, one inside and a return booked later; order 10: two
    # purchase lines on different days, both inside. Each is one order at every date that sees a purchase line.
    t = orders_table([("9", "e", "2025-10-01", 70.0), ("9", "e", "2026-10-05", 30.0), ("9", "e", "2026-10-20", -30.0),
                      ("10", "e", "2026-09-01", 10.0), ("10", "e", "2026-09-02", 15.0), ("11", "f", "2026-01-10", 5.0)])
    ends = [END, dt.date(2026, 6, 1), dt.date(2026, 9, 1)]
    s = summary.member_summaries(t, ends, window_days=365).to_pandas()
    s = s.assign(end=s.end.dt.date).set_index(["end", "member_id"]).sort_index()
    cols = ["frequency", "orders_total", "monetary", "revenue_total", "recency_days"]
    assert s.loc[(END, "e"), cols].tolist() == [2, 2, 25.0, 95.0, 26]     # order 9 in the window by its 10-05 line
    assert s.loc[(dt.date(2026, 6, 1), "e"), cols].tolist() == [1, 1, 70.0, 70.0, 243]
    assert s.loc[(dt.date(2026, 9, 1), "e"), cols].tolist() == [2, 2, 80.0, 80.0, 0]   # order 10's first line only
    for end in ends:
        one = summary.member_frame(summary.member_summary(t, end, 365))
        at = s.xs(end, level="end").reset_index()
        pd.testing.assert_frame_equal(at[one.columns], one, check_exact=True)


# A date before any order, two month ends, the period end (ties: many members bought on the same
# days, some on the end date itself) and the day before an experiment's assignment.
SUMMARY_DATES = [dt.date(2023, 12, 31), dt.date(2025, 10, 31), dt.date(2026, 5, 31), dt.date(2026, 9, 30), END]


def test_member_summaries_equal_member_summary_at_each_date(small_tables):
    tables, _ = small_tables
    orders = tables["orders"]
    many = summary.member_summaries(orders, SUMMARY_DATES[::-1], window_days=365).to_pandas()
    assert set(many.end.dt.date) == set(SUMMARY_DATES[1:])        # no rows before the first order
    for end in SUMMARY_DATES:
        one = summary.member_frame(summary.member_summary(orders, end, 365))
        at = many[many.end == pd.Timestamp(end)].drop(columns="end")
        at = at.sort_values("member_id", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(at, one, check_exact=True)
        if end == SUMMARY_DATES[0]:
            assert one.empty
        else:
            assert len(one) > 500
    last = many[many.end == pd.Timestamp(END)]
    assert (last.recency_days == 0).sum() > 1 and last.recency_days.duplicated().sum() > 100   # tied members


def rfm_params(*overrides):
    return notebook_params(load_settings(ROOT, [], [f"notebooks.rfm_segmentation.{o}" for o in overrides]),
                           "rfm_segmentation")


@pytest.mark.parametrize("split", ["mean", "median"])
def test_member_tables_at_equal_member_table_at_each_date(small_tables, split):
    tables, _ = small_tables
    params = rfm_params(f"split={split}")
    members = rfm.member_profile(tables["members"])
    many = rfm.member_tables_at(tables["orders"], members, [*SUMMARY_DATES[::-1], END], params)
    assert list(many) == SUMMARY_DATES
    for end in SUMMARY_DATES:
        table, segmenter = many[end]
        one, one_segmenter = rfm.member_table_at(tables["orders"], members, end, params)
        pd.testing.assert_frame_equal(table, one, check_exact=True)
        np.testing.assert_equal(segmenter.splits_, one_segmenter.splits_)
        np.testing.assert_equal(segmenter.thresholds_, one_segmenter.thresholds_)
    assert many[SUMMARY_DATES[0]][0].segment.isna().all()              # nobody has bought yet
    assert many[END][0].segment.notna().sum() > 500 and many[END][0].segment.nunique() == 8


def _wanted_mix(table: pd.DataFrame, seed: int) -> list:
    """Member ids of every kind the whole table holds, with some it does not: segmented buyers, members
    who bought before the window only, members without a purchase, members bought but not in the profile."""
    rng = np.random.default_rng(seed)
    kinds = [table[table.segment.notna()], table[table.segment.isna() & (table.frequency == 0) & table.recency_days.notna()],
             table[table.recency_days.isna()], table[table.region.isna()]]
    ids = [x for k in kinds for x in rng.permutation(k.member_id.to_numpy())[:40]]
    return [*ids, "NO-SUCH-MEMBER", *ids[:3]]


@pytest.mark.parametrize("split", ["mean", "median"])
def test_member_rows_at_equal_the_whole_member_tables_rows(small_tables, split):
    """For the members asked for, the lean rows equal the whole member table's, value and dtype; the
    segmenter is the one fitted on every buyer; an unknown id (and a member who had not joined nor bought
    by then) has no row, as in the whole table; the profile lacks some buyers (right-only rows)."""
    tables, _ = small_tables
    params = rfm_params(f"split={split}")
    dropped = tables["members"].member_id.to_pandas().sort_values().iloc[::97].tolist()   # buyers not in the profile
    members = tables["members"].filter(~tables["members"].member_id.isin(dropped))
    ends = SUMMARY_DATES[1:]
    whole = rfm.member_tables_at(tables["orders"], rfm.member_profile(members), ends, params)
    wanted = {end: _wanted_mix(whole[end][0], i) for i, end in enumerate(ends)}
    wanted[SUMMARY_DATES[2]] = []                                       # nobody at one date
    lean = rfm.member_rows_at(tables["orders"], members, wanted, params)
    assert list(lean) == ends
    for end in ends:
        table, segmenter = whole[end]
        expected = table[table.member_id.isin(wanted[end])].reset_index(drop=True)
        got = lean[end]
        pd.testing.assert_frame_equal(got.table, expected, check_exact=True)
        np.testing.assert_equal(got.segmenter.splits_, segmenter.splits_)
        np.testing.assert_equal(got.segmenter.thresholds_, segmenter.thresholds_)
        assert got.rows == len(table)
        bought = table[table.recency_days.notna()]
        pd.testing.assert_frame_equal(got.totals, bought[["orders_total", "revenue_total"]].reset_index(drop=True),
                                      check_exact=True)
        if wanted[end]:
            assert "NO-SUCH-MEMBER" not in set(got.table.member_id)
            assert got.table.segment.notna().sum() >= 40 and got.table.recency_days.isna().sum() >= 20
            assert got.table.region.isna().sum() >= 1 and got.table.recency_days.dtype == "float64"
    assert len(lean[ends[-1]].table) > 100 and lean[SUMMARY_DATES[2]].table.empty


def test_member_rows_at_keeps_the_whole_tables_dtypes_when_everyone_who_joined_bought(small_tables):
    """Recency and orders to date are int64 in a whole table without a member who never bought, float64 with
    one: the lean rows follow the whole table, not the rows asked for. Only the columns asked for come back."""
    tables, _ = small_tables
    params = rfm_params()
    bought = summary.member_summary(tables["orders"], END, params.window_days).select("member_id")
    for members in (tables["members"].filter(tables["members"].member_id.isin(bought.member_id)), tables["members"]):
        table, _ = rfm.member_table_at(tables["orders"], rfm.member_profile(members), END, params)
        ids = table[table.recency_days.notna()].member_id.iloc[::50].tolist()
        columns = ["member_id", "segment", "tier", "recency_days", "orders_total", "stage", "region"]
        got = rfm.member_rows_at(tables["orders"], members, {END: ids}, params, columns)[END].table
        expected = table[table.member_id.isin(ids)].reset_index(drop=True)[columns]
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert table.recency_days.dtype == "float64"
    with pytest.raises(KeyError):
        rfm.member_rows_at(tables["orders"], members, {END: ids}, params, ["member_id", "no_such_column"])
    with pytest.raises(ValueError):
        rfm.member_rows_at(tables["orders"], members, {}, params)


def test_the_rfm_report_reads_its_three_month_ends_from_one_query(small_tables, monkeypatch):
    """The period's end, the previous month's (migration) and a year earlier's (the split of member
    revenue's change by tier and segment): one summary query."""
    tables, _ = small_tables
    params = rfm_params()
    members = rfm.member_profile(tables["members"])
    from memberkit import month
    figures = month.compute_figures(tables, "2026-10", params.active_window_days)
    calls = count_summary_queries(monkeypatch)
    a = rfm.analyse(tables, "2026-10", params, figures)
    assert calls == [[dt.date(2025, 10, 31), dt.date(2026, 9, 30), END]]
    monkeypatch.undo()
    pd.testing.assert_frame_equal(a.table, rfm.member_table_at(tables["orders"], members, END, params)[0])
    pd.testing.assert_frame_equal(a.previous_table,
                                  rfm.member_table_at(tables["orders"], members, dt.date(2026, 9, 30), params)[0])


def test_active_members_window_edges():
    t = orders_table([("1", "a", "2026-08-03", 10.0), ("2", "b", "2026-08-02", 10.0), ("3", "c", "2026-10-31", -5.0)])
    active = summary.active_members(t, END, 90).to_pandas().member_id.tolist()
    assert active == ["a"]   # 08-03 is 89 days before 10-31 (in), 08-02 is 90 (out); a return is not activity


# ------------------------------------------------------------------ scoring
def test_quantile_scores_are_tie_safe_and_by_hand():
    f = pd.Series([1, 1, 1, 1, 1, 1, 2, 2, 3, 7])
    scores = quantile_scores(f, 5)
    # cut points at 20/40/60/80%: 1, 1, 1.4, 2.2 -> F=1 exceeds none, 2 exceeds three, 3 and 7 exceed all four
    assert scores.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    r = pd.Series([10, 10, 50, 200, 400])
    # lower is better: -R cut points -240, -110, -34, -10; the two most recent tie on the top cut point
    assert quantile_scores(r, 5, higher_is_better=False).tolist() == [4, 4, 3, 2, 1]
    assert quantile_scores(pd.Series([], dtype=float)).tolist() == []
    assert quantile_scores(pd.Series([3.0])).tolist() == [1]


def test_naive_qcut_fails_where_the_kit_does_not():
    f = pd.Series([1] * 70 + [2] * 20 + [3] * 10)
    with pytest.raises(ValueError):
        pd.qcut(f, 5, labels=False)   # the trap DOMAIN.md names: repeated cut points
    s = quantile_scores(f)
    assert s.groupby(f).nunique().max() == 1  # equal values, equal scores


def random_rfm(n=500, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"member_id": [f"m{i:04d}" for i in range(n)],
                         "recency_days": rng.integers(0, 365, n),
                         "frequency": rng.geometric(0.5, n),
                         "monetary": np.round(rng.lognormal(5, 1, n), 0)})


@pytest.mark.parametrize("split", ["mean", "median"])
def test_shuffling_the_rows_changes_nothing(split):
    rfm_ = random_rfm()
    a = RFMSegmenter(split).fit_transform(rfm_).set_index("member_id").sort_index()
    b = RFMSegmenter(split).fit_transform(rfm_.sample(frac=1, random_state=3)).set_index("member_id").sort_index()
    pd.testing.assert_frame_equal(a, b)
    for col, d in [("recency_days", "r"), ("frequency", "f"), ("monetary", "m")]:
        assert a.groupby(col)[f"{d}_score"].nunique().max() == 1   # equal values, equal scores
        assert a.groupby(col)[f"{d}_high"].nunique().max() == 1    # and the same side of the split


def test_high_low_segments_by_hand():
    rfm_ = pd.DataFrame({"member_id": list("abcde"), "recency_days": [10, 10, 300, 300, 100],
                         "frequency": [5, 1, 5, 1, 2], "monetary": [1000.0, 900.0, 50.0, 40.0, 10.0]})
    # means: R 144, F 2.8, M 400. Median: R 100, F 2, M 50.
    out = RFMSegmenter("mean").fit_transform(rfm_)
    assert out.segment.tolist() == ["important_value", "important_develop", "general_lapsing", "general_at_risk",
                                    "general_develop"]
    med = RFMSegmenter("median").fit_transform(rfm_)
    # median split: R<100 high (a,b), F>2 high (a,c), M>50 high (a,b); e sits on every split -> low, low, low
    assert med.segment.tolist() == ["important_value", "important_develop", "general_lapsing", "general_at_risk",
                                    "general_at_risk"]
    with pytest.raises(ValueError):
        RFMSegmenter("mode").fit(rfm_)


# ------------------------------------------------------------------ the rule tables
@pytest.mark.parametrize("name", ["high_low", "score_grid"])
def test_each_rule_table_is_a_total_partition(name):
    scheme = schemes()[name]
    dom = scheme.domain()
    cells = list(pd.MultiIndex.from_product([dom[d] for d in scheme.dimensions]))
    hits = {cell: scheme.matching(dict(zip(scheme.dimensions, cell))) for cell in cells}
    assert all(len(h) == 1 for h in hits.values()), {c: h for c, h in hits.items() if len(h) != 1}
    assert {h[0] for h in hits.values()} == set(scheme.keys), "a segment can never be reached"
    assert len(cells) == (8 if name == "high_low" else 25)
    for seg in scheme.segments:
        assert seg.label["en"] and seg.label["zh"] and seg.action["en"] and seg.action["zh"]


def test_the_partition_check_catches_overlaps_gaps_and_unreachable_segments():
    grid = schemes()["score_grid"]
    overlap = Scheme("score_grid", ("r", "f"), grid.segments + (Segment("extra", {"r": [5, 5], "f": [5, 5]}, {}, {}, {}),))
    with pytest.raises(ValueError, match="matches"):
        overlap.lookup()
    gap = Scheme("score_grid", ("r", "f"), tuple(s for s in grid.segments if s.key != "need_attention"))
    with pytest.raises(ValueError, match="no segment"):
        gap.lookup()
    hidden = Scheme("score_grid", ("r", "f"), grid.segments + (Segment("ghost", {"r": [6, 6], "f": [1, 1]}, {}, {}, {}),))
    with pytest.raises(ValueError, match="never be reached"):
        hidden.lookup()


def test_score_grid_map_by_hand():
    lookup = schemes()["score_grid"].lookup()
    assert lookup[(5, 5)] == "champions" and lookup[(5, 1)] == "new_customers" and lookup[(1, 1)] == "hibernating"
    assert lookup[(1, 5)] == "cant_lose" and lookup[(3, 3)] == "need_attention" and lookup[(4, 1)] == "promising"


# ------------------------------------------------------------------ tiers, lifecycle, migration
def test_tiers_at_the_thresholds():
    spend = pd.Series([0, 1999.99, 2000, 7999, 8000, 20000, np.nan])
    tiers = rfm.assign_tiers(spend, {"银卡": 2000, "金卡": 8000, "钻石": 20000})
    assert tiers.astype(str).tolist() == ["普通", "普通", "银卡", "银卡", "金卡", "钻石", "普通"]


def test_lifecycle_stages_at_the_boundaries():
    first = pd.to_datetime(["2026-08-03", "2026-08-02", "2025-01-01", "2025-01-01", "2025-01-01", "2025-01-01", None])
    m = pd.DataFrame({"first_order_date": first, "recency_days": [0, 0, 89, 90, 180, 181, np.nan]})
    stages = rfm.lifecycle_stages(m, END, new_days=90, silent_days=90, churned_days=180)
    assert stages.astype(str).tolist() == ["new", "active", "active", "silent", "silent", "lapsed", "no_purchase"]
    with pytest.raises(ValueError):
        rfm.lifecycle_stages(m, END, silent_days=200, churned_days=180)


def test_migration_matrix_accounts_for_everyone():
    prev = pd.Series({"a": "important_value", "b": "general_develop", "c": "general_develop"})
    cur = pd.Series({"a": "important_lapsing", "b": "general_develop", "d": "general_develop"})
    m = rfm.migration_matrix(prev, cur, schemes()["high_low"].keys)
    assert m.to_numpy().sum() == 4  # a, b, c, d
    assert rfm.members_in_both(m) == 2  # a and b are segmented in both periods; c only before, d only now
    assert m.loc["important_value", "important_lapsing"] == 1 and m.loc["general_develop", "general_develop"] == 1
    assert m.loc["general_develop", OUTSIDE] == 1 and m.loc[OUTSIDE, "general_develop"] == 1
    flows = rfm.main_flows(m)
    assert sorted(zip(flows["from"], flows["to"])) == sorted([("important_value", "important_lapsing"),
                                                              ("general_develop", OUTSIDE), (OUTSIDE, "general_develop")])


def test_segment_profile_by_hand():
    table = pd.DataFrame({"member_id": list("abc"), "recency_days": [10, 20, 300], "frequency": [4, 2, 1],
                          "monetary": [400.0, 100.0, 50.0], "segment": ["important_value", "important_value", "general_at_risk"],
                          "grid_segment": ["champions", "loyal", "hibernating"]})
    p = rfm.segment_profile(table, "high_low")
    assert p.loc["important_value", "members"] == 2 and p.loc["important_value", "share"] == pytest.approx(2 / 3)
    assert p.loc["important_value", "revenue_share"] == pytest.approx(500 / 550)
    assert p.loc["important_value", "aov"] == pytest.approx(500 / 6)      # revenue / orders, not a mean of means
    assert p.loc["important_lapsing", "members"] == 0 and np.isnan(p.loc["important_lapsing", "aov"])
    assert len(p) == 8


def export_table(n=200):
    """A member table of ``n`` random members, as the CRM lists are exported from."""
    rfm_ = random_rfm(n)
    members = pd.DataFrame({"member_id": rfm_.member_id, "join_date": pd.Timestamp("2024-01-01"),
                            "region": "北京", "channel": "online"})
    s = rfm_.assign(first_order_date=pd.Timestamp("2024-02-01"), last_order_date=pd.Timestamp("2026-10-01"),
                    orders_total=rfm_.frequency, revenue_total=rfm_.monetary)
    return rfm.member_table(s, members, END, segmenter=RFMSegmenter(), tier_thresholds={"银卡": 500})


def test_export_has_one_list_per_segment_and_no_personal_data(tmp_path):
    table = export_table()
    paths = rfm.export_segment_lists(table, tmp_path, window_days=365, currency="CNY")
    assert set(paths) == set(schemes()["high_low"].keys)
    total = 0
    for key, path in paths.items():
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"member_id": str})
        assert list(frame.columns) == [rfm.list_column_names(365, "CNY").get(c, c) for c in rfm.EXPORT_COLUMNS]
        assert (frame.segment == key).all()
        total += len(frame)
    assert total == 200


def test_the_crm_lists_give_each_code_its_label_and_the_page_names_each_file_by_its_segment(tmp_path):
    """The page listed 'rfm_important_lapsing.csv, ...' and the files' stage column said 'churned' only."""
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    table = export_table()
    en = Presentation("en")
    paths = rfm.export_segment_lists(table, tmp_path, rfm_view.list_stage_labels(), window_days=365, currency="CNY")
    frame = pd.concat(pd.read_csv(p, encoding="utf-8-sig", dtype={"member_id": str}) for p in paths.values())
    for p in (en, Presentation("zh")):
        labels = dict(zip(frame.stage, frame[f"stage_label_{p.language}"]))
        assert labels and all(labels[k] == rfm_view.stage_label(p, k) for k in labels)
        assert "churned" not in set(frame[f"stage_label_{p.language}"])
    listed = rfm_view.exports_list(en, paths)
    assert "Important, lapsing: rfm_important_lapsing.csv; " in listed
    assert "重要保持客户：rfm_important_lapsing.csv；" in rfm_view.exports_list(Presentation("zh"), paths)
    # every file is named after its segment's code (the lists' segment column), and the page says so
    assert {k: p.name for k, p in paths.items()} == {k: f"rfm_{k}.csv" for k in rfm.schemes()["high_low"].keys}
    # the note for analysts: the executive's sentence names the lists in words, not by file
    assert "named after its segment's code, not its label" in en.text("rfm.exports_hint", files=listed)
    assert "文件以分群代码命名" in Presentation("zh").text("rfm.exports_hint", files="")
    assert ".csv" not in en.text("rfm.exports_text") and "../data/" in en.text("rfm.exports_hint", files=listed)


def test_each_crm_file_is_named_by_a_code_that_says_what_its_english_label_says(tmp_path):
    """rfm_important_retain.csv held "Important, lapsing" (win back) and rfm_important_win_back.csv "Important,
    at risk" (a retention offer): the codes were literal readings of 重要保持 / 重要挽留 and read crossed."""
    hl = schemes()["high_low"]
    for key in hl.keys:
        words = hl.label(key, "en").lower().replace(",", " ").split()
        assert all(w in words for w in key.split("_")), (key, hl.label(key, "en"))
    # the lapsing segments are held on to (their zh names say 保持); the at-risk ones get a retention offer
    assert hl.action("important_lapsing", "en").startswith("Hold on to them")
    assert "retention" in hl.action("important_at_risk", "en")
    paths = rfm.export_segment_lists(export_table(), tmp_path, window_days=365, currency="CNY")
    for key, path in paths.items():
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"member_id": str})
        assert path.name == f"rfm_{key}.csv" and set(frame.segment) <= {key}
        assert set(frame.segment_label_en) <= {hl.label(key, "en")} and set(frame.action_en) <= {hl.action(key, "en")}
    # a month published under the former codes still reads
    assert [hl.current(k) for k in ("important_retain", "important_win_back", "general_retain", "general_win_back",
                                    "important_value", "no_recent_purchase")] == [
        "important_lapsing", "important_at_risk", "general_lapsing", "general_at_risk", "important_value",
        "no_recent_purchase"]


def test_equal_flows_keep_the_matrix_order_and_equal_regions_go_by_name():
    keys = schemes()["high_low"].keys
    prev = pd.Series({"a": keys[0], "b": keys[1], "c": keys[2], "d": keys[3]})
    cur = pd.Series({"a": keys[1], "b": keys[0], "c": keys[3], "d": keys[2]})
    m = rfm.migration_matrix(prev, cur, keys)
    flows = rfm.main_flows(m, top=3)
    # four moves of one member each: the first three in the matrix's row order
    assert list(zip(flows["from"], flows["to"])) == [(keys[0], keys[1]), (keys[1], keys[0]), (keys[2], keys[3])]
    table = pd.DataFrame({"member_id": list("abcd"), "region": ["Xi'an", "Beijing", "Chengdu", "Beijing"],
                          "recency_days": [10, 20, 30, 40], "frequency": [1, 1, 1, 1],
                          "monetary": [100.0, 60.0, 100.0, 40.0], "orders_total": [1, 1, 1, 1],
                          "stage": ["active"] * 4, "segment": [keys[0]] * 4})
    for order in ([0, 1, 2, 3], [2, 3, 0, 1], [3, 2, 1, 0]):
        regions = rfm.region_profile(table.iloc[order], 1, "lapsed")
        assert list(regions.index) == ["Beijing", "Chengdu", "Xi'an"]     # 100, 100, 100: by name


def test_the_safest_region_is_another_region_with_enough_members():
    from types import SimpleNamespace
    from memberkit.views import Presentation
    from memberkit.views import rfm as view
    regions = pd.DataFrame({"established": [100, 50, 10, 40], "established_lost_rate": [0.3, 0.1, 0.0, np.nan]},
                           index=["Ashby", "Bury", "Cork", "Derby"])
    assert rfm.most_at_risk_region(regions) == "Ashby" and rfm.safest_region(regions) == "Bury"   # Cork: 10 < 30
    assert rfm.safest_region(regions, min_members=5) == "Cork"
    params = SimpleNamespace(established_orders=2, churned_days=180)
    en = Presentation("en", "CNY")

    def analysis(r):      # the fields analyse() fills from the region profile
        return SimpleNamespace(regions=r, region_at_risk=rfm.most_at_risk_region(r), region_safest=rfm.safest_region(r))
    assert view.region_sentence(en, analysis(regions), params).endswith(
        "; Bury loses the least (10.0%).")
    alone = regions.loc[["Ashby", "Cork"]]                        # one region to compare: no 'safest' at all
    assert rfm.most_at_risk_region(alone) == "Ashby" and rfm.safest_region(alone) is None
    sentence = view.region_sentence(en, analysis(alone), params)
    assert sentence.startswith("Ashby loses 30.0% of its established members") and "no other region has 30" in sentence
    assert "Ashby" in view.region_sentence(Presentation("zh", "CNY"), analysis(alone), params)
    assert view.region_sentence(en, analysis(regions.loc[["Cork"]]), params) == ""


# ------------------------------------------------------------------ one member holding the base (issue 27, item 6)
def test_member_concentration_by_hand_and_ids_masked():
    from memberkit.identity import mask_member_id
    t = orders_table([("1", "big", "2026-10-01", 600.0), ("2", "big", "2026-10-02", 300.0),
                      ("3", "a", "2026-10-03", 50.0), ("4", "b", "2026-10-04", 30.0), ("4", "b", "2026-10-04", 20.0),
                      ("5", None, "2026-10-05", 999.0)])                      # a guest: outside member analytics
    t = t.mutate(status=ibis.literal("paid"))
    out = summary.member_concentration(summary.member_totals(t), 0.5)
    assert out["with"] == {"members": 3, "orders": 4, "revenue": 1000.0, "aov": 250.0}
    assert out["dominant"] == [{"member": "****g", "orders": 2, "revenue": 900.0, "orders_share": 0.5,
                                "revenue_share": 0.9}], "above half the revenue (not above half the orders)"
    assert out["without"] == {"members": 2, "orders": 2, "revenue": 100.0, "aov": 50.0}
    below = summary.member_concentration(summary.member_totals(t), 0.95)
    assert below["dominant"] == [] and below["without"] == below["with"]
    from memberkit.views import Presentation
    from memberkit.views.kpi import dominant_sentence
    assert dominant_sentence(Presentation("en", "CNY"), out, "in the window") == (
        "One member holds more than 50.0% of the orders or of the revenue in the window: ****g (50.0% of the orders, "
        "90.0% of the revenue). With it: 3 members, 4 orders, revenue CN¥1,000, order value CN¥250; without it: "
        "2 members, 2 orders, revenue CN¥100, order value CN¥50.")
    assert "****g（订单的 50.0%，销售额的 90.0%）" in dominant_sentence(Presentation("zh", "CNY"), out, "")
    assert dominant_sentence(Presentation("en", "CNY"), below, "") == "", "below the share nothing is said"
    with pytest.raises(ValueError, match="share"):
        summary.member_concentration(summary.member_totals(t), 0)
    # The mask is the phones' mask (identity.mask_e164) applied to any id.
    from memberkit import engine
    from memberkit.identity import mask_e164
    phone = "+8613812345678"
    e164 = engine.connect().to_pyarrow(mask_e164(ibis.literal(phone)).name("m")).as_py()
    assert mask_member_id(phone) == e164 == "+86138****5678"
    assert mask_member_id("U1000001") == "****0001" and mask_member_id("14646") == "****46"


def concentrated_shop(folder, seed=6):
    """200 members buying now and then for about 100 each, and one account, W7000123, with 180 orders of 1,000:
    about 60% of the revenue. Orders only (the members come from them), April 2025 to February 2026."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2025-04-01")
    for i in range(200):
        for k in range(int(rng.integers(2, 11))):
            rows.append((f"M{100000 + i}", start + pd.Timedelta(days=float(rng.random() * 330)), round(float(rng.gamma(4, 25)), 2)))
    for k in range(180):
        rows.append(("W7000123", start + pd.Timedelta(days=150 + k), 1000.0))
    frame = pd.DataFrame(rows, columns=["customer", "paid_at", "total"]).sort_values("paid_at", kind="stable")
    frame.insert(0, "order_no", [f"O{i:06d}" for i in range(len(frame))])
    frame["paid_at"] = frame.paid_at.dt.strftime("%Y-%m-%d %H:%M:%S")
    frame.to_csv(folder / "orders.csv", index=False)
    return frame


@pytest.mark.slow
@pytest.mark.parametrize("share,named", [(None, True), (0.7, False)])
def test_the_cleaning_and_rfm_pages_name_one_member_who_holds_the_base(tmp_path, share, named):
    import json
    import subprocess
    import sys
    import yaml
    frame = concentrated_shop(tmp_path)
    config = {"as_of": "2026-03-01", "source": {"base_dir": str(tmp_path), "sample": None, "tables": {
        "orders": {"path": "orders.csv", "columns": {"order_id": "order_no", "member_id": "customer",
                                                     "order_ts": "paid_at", "amount": "total"}}}}}
    if share is not None:
        config["notebooks"] = {n: {"dominant_member_share": share} for n in ("data_cleaning", "rfm_segmentation")}
    (tmp_path / "shop.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(tmp_path / "shop.yaml"),
                           "--only", "data_cleaning", "rfm_segmentation", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cleaning = json.loads((out / "data_cleaning.json").read_text(encoding="utf-8"))["results"]["dominant_members"]
    segments = json.loads((out / "rfm_segmentation.json").read_text(encoding="utf-8"))["results"]["dominant_members"]
    pages = {n: (out / "en" / f"{n}.html").read_text(encoding="utf-8") for n in ("data_cleaning", "rfm_segmentation")}
    for page in pages.values():
        assert "W7000123" not in page, "the id itself is never shown"
    if not named:
        assert cleaning["dominant"] == [] and segments["dominant"] == []
        for page in pages.values():
            assert "****0123" not in page and "holds more than" not in page and "hold more than" not in page
        return
    total, big = frame.total.sum(), 180 * 1000.0
    d = cleaning["dominant"]
    assert [x["member"] for x in d] == ["****0123"] and d[0]["revenue_share"] == pytest.approx(big / total)
    assert 0.55 < big / total < 0.65 and cleaning["threshold"] == 0.05
    assert cleaning["with"]["orders"] == len(frame) and cleaning["without"]["orders"] == len(frame) - 180
    assert cleaning["without"]["revenue"] == pytest.approx(total - big, abs=0.01)
    assert segments["dominant"][0]["member"] == "****0123" and segments["segments"]["without"]["segment"]
    from memberkit.views import Presentation
    en = Presentation("en", "CNY")
    for name, res in (("data_cleaning", cleaning), ("rfm_segmentation", segments)):
        page = pages[name]
        assert "****0123 (" in page and "One member holds more than 5.0% of the orders or of the revenue" in page
        assert f"{d[0]['revenue_share']:.1%}" in page if name == "data_cleaning" else True
        assert en.money(res["with"]["revenue"]) in page and en.money(res["without"]["revenue"]) in page
        assert en.count(res["with"]["orders"]) in page and en.count(res["without"]["orders"]) in page
    assert "The segment with the most revenue, with:" in pages["rfm_segmentation"]


@pytest.mark.parametrize("value", [0, -0.1, 1.5])
def test_the_dominant_member_share_lies_in_zero_to_one(value):
    from memberkit.errors import ConfigError
    for report in ("data_cleaning", "rfm_segmentation"):
        with pytest.raises(ConfigError, match="dominant_member_share"):
            notebook_params(load_settings(ROOT, [], [f"notebooks.{report}.dominant_member_share={value}"]), report)
    assert notebook_params(load_settings(ROOT), "rfm_segmentation").dominant_member_share == 0.05


def run_export_cell(language: str, table: pd.DataFrame, folder, params) -> dict:
    """The RFM notebook's CRM-list cell as a run in ``language`` executes it; returns its ``exported``."""
    import json
    from types import SimpleNamespace
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    cells = json.loads((ROOT / "notebooks" / "02_rfm_segmentation.ipynb").read_text(encoding="utf-8"))["cells"]
    [source] = ["".join(c["source"]) for c in cells if "export_segment_lists" in "".join(c["source"])]
    shown = []
    page = SimpleNamespace(heading=lambda *a, **k: shown.append(a), note=lambda *a, **k: shown.append(a),
                           for_analysts=lambda *a, **k: shown.append(a))
    scope = {"rfm": rfm, "view": rfm_view, "page": page, "p": Presentation(language), "params": params,
             "analysis": SimpleNamespace(table=table), "ctx": SimpleNamespace(data_dir=folder)}
    exec(compile(source, "02_rfm_segmentation.ipynb", "exec"), scope)
    assert shown, "the cell says on the page where the lists are"
    return scope["exported"]


def test_the_crm_lists_are_the_same_files_in_english_and_in_chinese(tmp_path):
    """The lists said segment_label / action / stage_label in whichever language ran last, so data/ changed
    with the language. Each code now carries both languages' labels and actions, from the one rule table
    (DOMAIN.md's), and the stage's words from the pages' catalogue."""
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    table = export_table(400)
    params = rfm_params("churned_days=200")
    en = run_export_cell("en", table, tmp_path / "en" / "data", params)
    zh = run_export_cell("zh", table, tmp_path / "zh" / "data", params)
    assert [p.name for p in en.values()] == [p.name for p in zh.values()]
    written = sorted(p.name for p in (tmp_path / "en" / "data").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "zh" / "data").iterdir()) and len(written) == 8
    for name in written:
        assert (tmp_path / "en" / "data" / name).read_bytes() == (tmp_path / "zh" / "data" / name).read_bytes(), name
    frame = pd.concat(pd.read_csv(p, encoding="utf-8-sig", dtype={"member_id": str}) for p in en.values())
    assert len(frame) == len(rfm.segmented(table))
    for col in ("segment_label_en", "segment_label_zh", "action_en", "action_zh", "grid_segment_label_en",
                "grid_segment_label_zh", "stage_label_en", "stage_label_zh"):
        assert col in frame.columns
    assert not {"segment_label", "action", "stage_label", "grid_segment_label"} & set(frame.columns)
    assert set(frame.segment) == set(DOMAIN_HIGH_LOW)
    for code, rows in frame.groupby("segment"):
        *_, zh_label, en_label, action = DOMAIN_HIGH_LOW[code]
        assert set(rows.segment_label_zh) == {zh_label} and {x.lower() for x in rows.segment_label_en} == {en_label}
        assert {x.lower() for x in rows.action_en} == {action}
        assert rows.action_zh.nunique() == 1 and rows.action_zh.iloc[0] != rows.action_en.iloc[0]
    # the stage's words are the pages' (with this run's day counts), in each language
    for language in ("en", "zh"):
        p = Presentation(language)
        for stage, label in zip(frame.stage, frame[f"stage_label_{language}"]):
            assert label == rfm_view.stage_label(p, stage, params)
    assert "200" in frame.loc[frame.stage == "lapsed", "stage_label_en"].iloc[0]


def test_tiers_read_in_the_pages_language_and_the_lists_carry_each_tiers_labels(tmp_path):
    """'普通 / 银卡 / 金卡 / 钻石' stood untranslated on the English pages and in data/*.csv. A tier's name is its
    id (the shop's own word, from the settings); the kit's default tiers have words in each language, a shop's
    own tier name is shown as given."""
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    en, zh = Presentation("en"), Presentation("zh")
    assert [rfm_view.tier_label(en, t) for t in rfm.TIER_ORDER] == ["Standard", "Silver", "Gold", "Diamond"]
    assert [rfm_view.tier_label(zh, t) for t in rfm.TIER_ORDER] == list(rfm.TIER_ORDER)
    assert rfm_view.tier_label(en, "Platinum") == "Platinum" and rfm_view.group_label(en, "tier", "金卡") == "Gold"
    from memberkit.views.attribution import _group_label
    assert _group_label(en, "tier", "钻石") == "Diamond"
    table = export_table(400)
    params = rfm_params()
    run_export_cell("en", table, tmp_path, params)
    frame = pd.concat(pd.read_csv(p, encoding="utf-8-sig", dtype={"member_id": str}) for p in tmp_path.glob("rfm_*.csv"))
    cols = list(frame.columns)
    assert cols[cols.index("tier"):cols.index("tier") + 3] == ["tier", "tier_label_en", "tier_label_zh"]
    assert dict(zip(frame.tier, frame.tier_label_en)) == {"普通": "Standard", "银卡": "Silver"}
    assert (frame.tier == frame.tier_label_zh).all()
    shop = table.assign(tier=table.tier.map({"普通": "Member", "银卡": "Platinum"}))
    paths = rfm.export_segment_lists(shop, tmp_path / "shop", rfm_view.list_stage_labels(),
                                     rfm_view.list_tier_labels(params.model_copy(update={
                                         "tier_thresholds": {"Platinum": 500.0}, "base_tier": "Member"})), window_days=365, currency="CNY")
    own = pd.concat(pd.read_csv(p, encoding="utf-8-sig") for p in paths.values())
    assert set(own.tier) == {"Member", "Platinum"}     # a shop's own names are their own labels
    assert (own.tier == own.tier_label_en).all() and (own.tier == own.tier_label_zh).all()


def test_in_chinese_the_lapsed_stage_is_not_called_churn_and_a_lapsing_segments_action_says_why_it_is_won_back():
    """A fresh reader of the zh edition read 流失 (churn) on the lifecycle stage (40% of members) beside the monthly
    churn rate card (18.5%), and 重要保持客户 ("important, keep") with an action that did not say why. DOMAIN.md:
    the stage is never called churn; the zh segment names are the trade's own, so their actions say why."""
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    zh = Presentation("zh")
    assert "流失" not in rfm_view.stage_label(zh, "lapsed")
    for key in ("headline_region", "headline_region_no_days", "region_text", "region_text_alone", "region_caption",
                "tiers_text", "stage_lapsed", "established_lost_rate"):
        text = zh.text(f"rfm.{key}")
        assert "流失阶段" not in text and "已流失" not in text and "老客流失" not in text, (key, text)
    hl = rfm.schemes()["high_low"]
    for key in ("important_lapsing", "general_lapsing"):
        assert "保持" in hl.label(key, "zh") and "近期未购" in hl.action(key, "zh")


def test_in_chinese_a_segment_named_to_be_kept_is_not_told_to_be_won_back():
    """重要保持客户 ("important, keep") carried the action 主动召回 ("win back"), and the CLV page said its members
    were 主动召回，而不是保持现状: the source article says to keep their trust (需要重点保持这类客户的信任感和满意度).
    A segment whose zh label says 保持 is told to keep hold of them, one whose label says 挽留 to retain them."""
    from memberkit.views import Presentation
    won_back = ("召回", "挽回", "赢回")
    for scheme in rfm.schemes().values():
        for s in scheme.segments:
            words = (s.action["zh"], s.short["zh"])
            if "保持" in s.label["zh"]:
                assert not any(w in text for w in won_back for text in words), (s.key, words)
                assert all("保持" in text for text in words), (s.key, words)
            if "挽留" in s.label["zh"]:
                assert not any(w in text for w in won_back for text in words), (s.key, words)
    note = Presentation("zh").text("clv.at_risk_action_note")
    assert "重要保持客户" in note and not any(w in note for w in won_back), note


def test_the_crm_lists_say_their_window_and_the_lapsed_stage_has_its_own_code(tmp_path):
    """The lists' monetary was the RFM window's spend (365 days) beside an all-time spend elsewhere, unnamed; the
    stage code 'churned' sat under the label 'lapsed (180+ days)'. Months published with 'churned' still read."""
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    paths = rfm.export_segment_lists(export_table(), tmp_path, rfm_view.list_stage_labels(), window_days=180, currency="CNY")
    frame = pd.concat(pd.read_csv(p, encoding="utf-8-sig", dtype={"member_id": str}) for p in paths.values())
    # the window in both names, the amount's currency too
    assert {"recency_days", "frequency_last_180_days", "monetary_last_180_days_cny"} <= set(frame.columns)
    assert not {"frequency", "monetary", "monetary_last_180_days"} & set(frame.columns)
    assert rfm.list_column_names(180, "JPY")["monetary"] == "monetary_last_180_days_jpy"
    assert "lapsed" in rfm.STAGES and "churned" not in rfm.STAGES
    assert rfm_view.stage_label(Presentation("en"), "lapsed") == "lapsed (180+ days)"
    assert rfm_view.stage_label(Presentation("zh"), "lapsed") == "长期未购（180 天以上）"
    assert [rfm.current_stage(c) for c in ("churned", "lapsed", "silent", None)] == ["lapsed", "lapsed", "silent", None]
    with pytest.raises(ValueError):
        rfm.list_column_names(0, "CNY")


def test_the_lifecycle_settings_name_the_stage_lapsed_not_churned():
    """``churned_days`` keeps its key for the parameter files already written, but the stage it sets is
    "lapsed" (DOMAIN.md: "churn" is the month's rate, never the stage); its description said 'churned'."""
    from memberkit.config import RFMParams
    for key in ("churned_days", "established_orders"):
        words = RFMParams.model_fields[key].description
        assert "lapsed" in words, key
        assert "churned" not in words, key
    assert "rate" in RFMParams.model_fields["churned_days"].description   # says which of the two it is not


@pytest.mark.parametrize("language, said", [("en", "Of the members who joined in September 2026, 26.3% bought again"),
                                            ("zh", "2026年9月 注册的会员中，26.3% 在注册后第二个月再次购买")])
def test_the_cohort_sentence_writes_its_month_as_the_title_does(language, said):
    """'Of the members who joined 2026-09' stood under a page titled 'October 2026': months are written one way."""
    from types import SimpleNamespace
    from memberkit.views import Presentation
    from memberkit.views import rfm as rfm_view
    cohorts = pd.DataFrame({"members": [500, 400], 0: [0.8, 0.84], 1: [0.263, float("nan")]}, index=["2026-09", "2026-10"])
    assert said in rfm_view.cohort_sentence(Presentation(language), SimpleNamespace(cohorts=cohorts))


def test_no_action_asks_members_to_join_or_renew():
    """Issue 23: "Potential loyalists: Invite to membership" was addressed to people already members (the data
    is the loyalty programme's), and At risk got "renewals", which members of a retail programme rarely do.
    Every segment's action, in full and short, in both languages, speaks to members: tier-up perks, points."""
    joining = {"en": re.compile(r"membership|join|sign[- ]?up|renew", re.I), "zh": re.compile("会员计划邀请|加入|入会|续费|注册")}
    for scheme in rfm.schemes().values():
        for s in scheme.segments:
            for language in ("en", "zh"):
                for words in (s.action[language], s.short[language]):
                    assert not joining[language].search(words), (s.key, words)
    grid = rfm.schemes()["score_grid"]
    assert grid.short_action("potential_loyalists", "en") == "Tier-up perks; picks for them"
    assert grid.action("potential_loyalists", "zh") == "升级权益，个性化推荐"


# ------------------------------------------------------------------ the member tables scored in the engine
ENGINE_COLUMNS = ["member_id", "recency_days", "frequency", "monetary", "r_high", "f_high", "m_high",
                  "r_score", "f_score", "m_score", "segment", "grid_segment", "tier", "stage"]


def _as_values(frame: pd.DataFrame) -> list[list]:
    """Rows of the columns compared, each value a plain Python value (None for a missing one), so that an
    engine frame and a pandas member table (nullable and categorical dtypes) compare value for value."""
    out = frame[ENGINE_COLUMNS].sort_values("member_id", kind="stable").astype(object)
    return [[None if pd.isna(v) else (float(v) if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                                      else (bool(v) if isinstance(v, (bool, np.bool_)) else v))
             for v in row] for row in out.itertuples(index=False)]


def _engine_tables(orders, members, ends, params):
    sums = summary.member_summaries(orders, ends, params.window_days)
    fitted = rfm.fitted_segmenters(sums, ends, params.split)
    return sums, fitted, {end: rfm.scored_members(sums, members, end, fitted[end], params) for end in ends}


def test_engine_scores_equal_pandas_and_the_hand_computed_ties_at_quantile_edges():
    """Ten buyers whose F, M and R put values exactly on the quantile cut points (numpy's interpolation):
    F 1,1,1,1,1,1,2,2,3,7 -> cuts 1, 1, 1.4, 2.2 (1.3999999999999995 as numpy interpolates, a float the engine compares with as is); M 50,50,50,50,80,80,80,120,120,500 -> cuts 50, 68, 80, 120;
    R 5,5,5,30,30,60,60,60,200,300 days (negated: recent is high) -> cuts -88, -60, -30, -5. A value on a
    cut point does not exceed it. Beside them: a member who bought before the window only, one who joined
    without buying and one who joined after the end; the buyer m9 is missing from the members table."""
    f = [1, 1, 1, 1, 1, 1, 2, 2, 3, 7]
    m = [50, 50, 50, 50, 80, 80, 80, 120, 120, 500]
    r = [5, 5, 5, 30, 30, 60, 60, 60, 200, 300]
    rows, n = [], 0
    for i, (fi, mi, ri) in enumerate(zip(f, m, r)):
        for k in range(fi):   # the last order R days before the end, the others a day apart before it
            n += 1
            rows.append((str(n), f"m{i}", str(END - dt.timedelta(days=ri + k)), float(mi - (fi - 1)) if k == 0 else 1.0))
    rows += [("90", "old", "2024-05-01", 700.0)]
    orders = orders_table(rows)
    members = ibis.memtable(pd.DataFrame({
        "member_id": [f"m{i}" for i in range(9)] + ["old", "quiet", "late"],     # m9 is not in the members table
        "join_date": [dt.date(2024, 1, 1)] * 11 + [dt.date(2026, 11, 5)],
        "region": ["A"] * 12, "channel": ["app"] * 12}))
    params = rfm_params()
    sums, fitted, scored = _engine_tables(orders, members, [END], params)
    got = scored[END].to_pandas().set_index("member_id").sort_index()
    buyers = got.loc[[f"m{i}" for i in range(10)]]
    assert buyers.f_score.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert buyers.m_score.tolist() == [1, 1, 1, 1, 3, 3, 3, 4, 4, 5]
    assert buyers.r_score.tolist() == [4, 4, 4, 3, 3, 2, 2, 2, 1, 1]   # the most recent sit on the top cut
    assert fitted[END].thresholds_["r"] == pytest.approx([-88.0, -60.0, -30.0, -5.0], rel=1e-12)
    assert fitted[END].thresholds_["f"] == pytest.approx([1.0, 1.0, 1.4, 2.2], rel=1e-12)
    assert fitted[END].thresholds_["m"] == pytest.approx([50.0, 68.0, 80.0, 120.0], rel=1e-12)
    assert set(got.index) == {*buyers.index, "old", "quiet"}          # 'late' joined after the end
    assert got.loc["old", "stage"] == "lapsed" and pd.isna(got.loc["old", "segment"]) and got.loc["old", "frequency"] == 0
    assert got.loc["quiet", "stage"] == "no_purchase" and got.loc["quiet", "tier"] == params.base_tier
    # the pandas member table of the same summary, value for value, and the same fitted segmenter
    table, segmenter = rfm.member_table_at(orders, rfm.member_profile(members), END, params)
    assert _as_values(got.reset_index()) == _as_values(table)
    np.testing.assert_equal(fitted[END].splits_, segmenter.splits_)
    np.testing.assert_equal(fitted[END].thresholds_, segmenter.thresholds_)


@pytest.mark.parametrize("split", ["mean", "median"])
def test_engine_member_tables_migration_and_revenue_groups_equal_pandas_on_the_sample(small_tables, split):
    """On the small sample retailer at the report's three month ends: the engine's member tables equal the
    pandas ones row for row, so do each member's tier and segment at every date (:func:`member_groups`),
    the migration counted in the engine equals :func:`migration_matrix` and the
    split of member revenue's change by tier and segment equals :func:`member_group_split`'s."""
    from memberkit import attribution
    tables, _ = small_tables
    params = rfm_params(f"split={split}")
    ends = {"2025-10": dt.date(2025, 10, 31), "2026-09": dt.date(2026, 9, 30), "2026-10": END}
    whole = rfm.member_tables_at(tables["orders"], rfm.member_profile(tables["members"]), ends.values(), params)
    sums, fitted, scored = _engine_tables(tables["orders"], tables["members"], list(ends.values()), params)
    for end in ends.values():
        table, segmenter = whole[end]
        assert _as_values(scored[end].to_pandas()) == _as_values(table)
        np.testing.assert_equal(fitted[end].splits_, segmenter.splits_)
        np.testing.assert_equal(fitted[end].thresholds_, segmenter.thresholds_)
    months = ["2026-10", "2026-09", "2025-10"]
    groups = rfm.member_groups(sums, tables["members"], [ends[p] for p in months], fitted, params).to_pandas()
    groups = groups.set_index("member_id")
    for i, p in enumerate(months):   # every member's tier and segment at each date, None outside its table
        table = whole[ends[p]][0].set_index("member_id")
        for c in ("tier", "segment"):
            expected = table[c].astype(object).reindex(groups.index)
            assert [None if pd.isna(v) else v for v in groups[f"{c}_{i}"]] == \
                [None if pd.isna(v) else v for v in expected]
    assert set(groups.index) >= set(whole[END][0].member_id)
    keys = schemes()["high_low"].keys
    groups = rfm.member_groups(sums, tables["members"], [ends[p] for p in months], fitted, params)
    pd.testing.assert_frame_equal(
        rfm.migration_between(groups, 1, 0, keys),
        rfm.migration_matrix(rfm.segmented(whole[ends["2026-09"]][0]).set_index("member_id").segment,
                             rfm.segmented(whole[END][0]).set_index("member_id").segment, keys))
    per_member = attribution.member_month_revenue(tables["orders"], months)
    got = attribution.member_group_splits(tables["orders"], months, groups,
                                          {"vs_previous": (1, 0), "vs_year_ago": (2, 0)})
    for name, before in (("vs_previous", 1), ("vs_year_ago", 2)):
        expected = attribution.member_group_split(per_member, whole[ends[months[before]]][0], whole[END][0], before, 0)
        assert [(x["dimension"], x["group"]) for x in got[name]] == [(x["dimension"], x["group"]) for x in expected]
        for g, e in zip(got[name], expected):
            for k in ("contribution", "mix", "rate"):
                assert g[k] == pytest.approx(e[k], rel=1e-9, abs=1e-6)
