import hashlib

import numpy as np
import pandas as pd

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
