import hashlib

import numpy as np
import pandas as pd
import pytest

from memberkit.sample import generate_sample


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.suffix != ".xlsx"}


def test_same_seed_same_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_sample(a, n_members=400, seed=3)
    generate_sample(b, n_members=400, seed=3)
    assert _digest(a) == _digest(b)
    generate_sample(tmp_path / "c", n_members=400, seed=4)
    assert _digest(a)["orders.csv"] != _digest(tmp_path / "c")["orders.csv"]


def test_orders_written_in_chunks_are_the_same_bytes_as_in_one(tmp_path, monkeypatch):
    # orders.csv is formatted and written a chunk of rows at a time to bound the generator's memory;
    # with the follow-ups on, their rows (appended after the shuffled ones) are chunked too
    import memberkit.sample as sample
    spec = lambda: sample.SampleSpec(follow_ups=True)   # noqa: E731
    monkeypatch.setattr(sample, "ORDER_CHUNK_ROWS", 10**9)
    whole = generate_sample(tmp_path / "whole", n_members=300, seed=2, spec=spec())
    monkeypatch.setattr(sample, "ORDER_CHUNK_ROWS", 7)
    chunked = generate_sample(tmp_path / "chunked", n_members=300, seed=2, spec=spec())
    assert whole == chunked and _digest(tmp_path / "whole") == _digest(tmp_path / "chunked")
    text = (tmp_path / "chunked" / "orders.csv").read_text(encoding="utf-8")
    assert text.count("\n") == whole["rows"]["orders"] + 1 > 7 * 20 and text.count("OrderID") == 1
    assert whole["follow_ups"]["organic_orders"] > 7


def test_exports_look_like_a_retailers(small_sample):
    folder, truth = small_sample
    members = pd.read_csv(folder / "members.csv", encoding="gb18030", dtype=str)
    assert "会员编号" in members.columns and "手机号" in members.columns
    try:
        pd.read_csv(folder / "members.csv", encoding="utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    assert not utf8, "the member export is GB18030, as Chinese ERPs write it"
    campaigns = pd.read_excel(folder / "campaigns.xlsx", sheet_name="campaigns")
    assert len(campaigns) == truth["rows"]["campaigns"]
    orders = pd.read_csv(folder / "orders.csv", dtype=str)
    assert len(orders) == truth["rows"]["orders"]
    assert orders.Channel.nunique() > 3  # spellings vary before cleaning


def test_cities_differ_by_design(small_sample):
    _, truth = small_sample
    cities = pd.DataFrame(truth["cities"]).set_index("city")
    assert len(cities) == 6
    assert truth["highest_churn_city"] == "上海"
    assert cities.mean_spend.idxmin() == "成都" and cities.mean_rate_per_day.idxmax() == "成都"


def test_population_follows_the_global_bgnbd_parameters(small_sample):
    # The city assignment only labels draws; the mean dropout probability stays a / (a + b).
    _, truth = small_sample
    cities = pd.DataFrame(truth["cities"])
    p_mean = np.average(cities.mean_dropout_p, weights=cities.members)
    g = truth["bgnbd"]
    assert abs(p_mean - g["a"] / (g["a"] + g["b"])) < 0.015


def test_truth_lists_effects_and_links(small_sample):
    _, truth = small_sample
    assert truth["linked_identities"]["count"] == len(truth["linked_identities"]["pairs"]) > 0
    assert any(c["pull_forward"] for c in truth["campaigns"])
    assert any(not c["has_holdout"] for c in truth["campaigns"])
    variants = {e["experiment_id"]: len(e["variants"]) for e in truth["experiments"]}
    assert sorted(variants.values()) == [2, 2, 3]
    assert any(e["broken_split"] for e in truth["experiments"])


def test_line_level_export_figures_equal_the_truth_to_the_cent(tmp_path):
    """A shop's invoice lines (several lines per order, own status words, 'C' cancellation lines,
    postage and fee lines, zero prices, guests, float ids, fractional and zoned timestamps), read
    with nothing but a config: buyers, orders, gross and net revenue, AOV and repeat rate per month."""
    import datetime as dt
    from decimal import Decimal
    from memberkit import clean, engine, kpi, sources
    from memberkit.config import load_settings, notebook_params
    from memberkit.periods import period_bounds
    from memberkit.sample import generate_line_sample
    from .conftest import ROOT
    truth = generate_line_sample(tmp_path / "shop", n_customers=300, seed=3)
    params = notebook_params(load_settings(ROOT, [tmp_path / "shop" / "lines.yaml"]), "data_cleaning")
    con = engine.connect()
    raw = sources.load_sources(con, params.source, ROOT, tmp_path / "staging")
    r = clean.clean_all(con, raw, as_of=dt.date.fromisoformat(params.as_of), out_dir=tmp_path / "out",
                        date_formats=params.source.tables["orders"].date_formats,
                        rules=clean.CleaningRules.from_params(params))
    steps = {s["rule"]: s["rows"] for s in r.tables["orders"].steps if s["rows"]}
    assert steps["duplicate"] == truth["whole_row_copies"] and "unknown_status" not in steps
    assert {"cancelled", "non_product"} <= set(steps) and r.return_rows > 0 and r.guest_orders > 0
    assert r.float_ids == ["orders.member_id"]
    o = con.read_parquet(tmp_path / "out" / "clean" / "orders.parquet")
    assert o.filter(o.member_id.endswith(".0")).count().execute() == 0     # "17850.0" is "17850" again
    for month, t in truth["months"].items():
        start, end = period_bounds(month)
        m = o.filter(o.member_id.notnull() & (o.order_date >= start) & (o.order_date <= end))
        paid = m.status == "paid"
        got = m.aggregate(gross=m.amount.sum(where=paid), net=m.amount.sum(), orders=m.order_id.nunique(where=paid),
                          buyers=m.member_id.nunique(where=paid)).to_pyarrow().to_pylist()[0]
        assert (got["buyers"], got["orders"]) == (t["buyers"], t["orders"]), month
        assert got["gross"] == Decimal(f"{t['gross_revenue']:.2f}") and got["net"] == Decimal(f"{t['net_revenue']:.2f}")
        assert kpi.average_order_value(o, month) == pytest.approx(t["average_order_value"], abs=1e-9)
        assert kpi.repurchase_rate(o, month) == pytest.approx(t["repeat_rate"], abs=1e-12)
    assert any(t["zero_amount_orders"] for t in truth["months"].values())


#: sha256 over the name and bytes of every export but the Excel file (its metadata holds a time) of the
#: default sample at 300 people, seed 1, as generated before the follow-ups setting existed.
DEFAULT_300_SEED_1 = "a300bc39ce3f6ce1af4d022dfa1d61269d1af23ed7e976b51ca443869c6ea68a"


def _folder_digest(folder) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.iterdir()):
        if f.suffix != ".xlsx":
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_the_default_sample_is_unchanged_by_the_follow_ups_setting(tmp_path):
    from memberkit.sample import SampleSpec
    truth = generate_sample(tmp_path / "off", n_members=300, seed=1)
    assert _folder_digest(tmp_path / "off") == DEFAULT_300_SEED_1 and "follow_ups" not in truth
    on = generate_sample(tmp_path / "on", n_members=300, seed=1, spec=SampleSpec(follow_ups=True))
    # with the setting on, every row of the default sample is there, in its place: the follow-ups are appended
    for name in ("orders.csv", "campaign_members.csv", "experiments.csv"):
        before = (tmp_path / "off" / name).read_bytes()
        after = (tmp_path / "on" / name).read_bytes()
        assert after.startswith(before) and len(after) > len(before), name
    assert (tmp_path / "on" / "members.csv").read_bytes() == (tmp_path / "off" / "members.csv").read_bytes()
    off_campaigns = pd.read_excel(tmp_path / "off" / "campaigns.xlsx")
    on_campaigns = pd.read_excel(tmp_path / "on" / "campaigns.xlsx")
    pd.testing.assert_frame_equal(on_campaigns.iloc[:len(off_campaigns)], off_campaigns)
    assert on_campaigns.campaign_id.iloc[-1] == on["follow_ups"]["campaign"]["campaign_id"]
    moved = ("follow_ups", "end", "extracted_at", "rows")     # the rows of the files: the default's and the appended
    assert {k: v for k, v in on.items() if k not in moved} == {k: v for k, v in truth.items() if k not in moved}
    assert on["rows"]["members"] == truth["rows"]["members"] and on["rows"]["orders"] > truth["rows"]["orders"]
    assert (on["end"], on["extracted_at"]) == ("2026-11-30", "2026-12-01")


def test_planted_follow_ups_are_in_the_exports_as_the_truth_says(tmp_path):
    from memberkit.sample import SampleSpec
    truth = generate_sample(tmp_path, n_members=2000, seed=7, spec=SampleSpec(follow_ups=True))
    fu = truth["follow_ups"]
    orders = pd.read_csv(tmp_path / "orders.csv", dtype=str)
    november = orders[orders.OrderTime.str.startswith("2026-11")]
    assert len(november) == fu["organic_orders"] + fu["campaign"]["realized_incremental_orders"] + fu["winback"]["planted_purchases"]
    assert (november.CouponID == fu["campaign"]["campaign_id"]).sum() == fu["campaign"]["realized_incremental_orders"]
    assert set(fu["winback"]["members"]) <= set(november.MemberID)
    exp = pd.read_csv(tmp_path / "experiments.csv", dtype=str)
    push = exp[(exp.experiment_id == fu["experiment"]["experiment_id"]) & exp.assigned_ts.str.startswith("2026-11")]
    assert len(push) == fu["experiment"]["assigned"] and push.assigned_ts.max()[:10] == fu["experiment"]["last"]
    assert push.assigned_ts.min()[:10] >= fu["experiment"]["first"]
    cm = pd.read_csv(tmp_path / "campaign_members.csv", dtype=str)
    groups = cm[cm.campaign_id == fu["campaign"]["campaign_id"]].group.value_counts()
    assert (groups["target"], groups["holdout"]) == (fu["campaign"]["n_target"], fu["campaign"]["n_holdout"])


def test_response_by_channel_is_off_by_default_and_its_truth_names_every_member(tmp_path):
    from memberkit.sample import RESPONSE_BY_CHANNEL, SampleSpec
    off = generate_sample(tmp_path / "off", n_members=300, seed=1, spec=SampleSpec())
    assert _folder_digest(tmp_path / "off") == DEFAULT_300_SEED_1
    assert "response_by_channel" not in off and not (tmp_path / "off" / "uplift_truth.csv").exists()
    on = generate_sample(tmp_path / "on", n_members=2000, seed=1,
                         spec=SampleSpec(response_by_channel=dict(RESPONSE_BY_CHANNEL)))
    assert on["response_by_channel"]["multipliers"] == RESPONSE_BY_CHANNEL
    assert on["response_by_channel"]["campaigns"]["C2610"] == {"app": pytest.approx(0.175), "offline": pytest.approx(0.007),
                                                               "online": pytest.approx(0.07)}
    t = pd.read_csv(tmp_path / "on" / "uplift_truth.csv", dtype={"member_id": str})
    members = pd.read_csv(tmp_path / "on" / "members.csv", encoding="gb18030", dtype=str)
    assert set(members["会员编号"].str.strip()) <= set(t.member_id)      # linked second accounts too
    by_channel = t.groupby("channel").uplift_member_day.first()
    assert by_channel.to_dict() == pytest.approx({"app": 0.1875, "offline": 0.0075, "online": 0.075})


def test_no_second_account_id_is_another_persons_primary_id_at_any_size():
    """Beyond 4,000,000 people, person + 5,000,001 (a second account) met person + 4,000,000's primary id."""
    import numpy as np
    from memberkit.sample import _ids, _second_ids
    for n in (2_000, 4_000_000, 4_500_000, 10_000_000):
        person = np.arange(n, dtype=np.int64)[:: max(1, n // 200_000)]
        person = np.union1d(person, [0, 1, n - 4_000_001, n - 1][: 4 if n > 4_000_001 else 2])
        for channel in ("offline", "online"):
            ch = np.full(len(person), channel)
            other = np.full(len(person), "online" if channel == "offline" else "offline")
            primary = set(_ids(ch, person)) | set(_ids(other, person))
            assert not primary & set(_second_ids(ch, person, n)), n
    # unchanged below: what the bundled sample and the 1,000,000-member bench have always had
    assert list(_second_ids(np.array(["offline", "app"]), np.array([0, 7]), 1_000_000)) == ["U5000001", "C5000008"]
