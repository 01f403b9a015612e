"""The population of an experiment is its assignment table: a public-style landing-page test
(user_id, timestamp, group, landing_page, converted) with only orders beside it, checked against a
hand computation; repeated and cross-variant assignments; an outcome column evaluated by name."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from memberkit import abtest, clean, engine, sources
from memberkit.config import load_settings, notebook_params

from .conftest import ROOT

START = pd.Timestamp("2026-01-02")


def landing_page_export(folder, n=4000, seed=11):
    """Rows shaped like the public landing-page test, with its faults: repeated rows of a user in one
    group, users in both groups, exact copies; orders only for the users who converted."""
    rng = np.random.default_rng(seed)
    users = np.arange(100000, 100000 + n)
    group = np.where(rng.random(n) < 0.5, "control", "treatment")
    ts = START + pd.to_timedelta(rng.random(n) * 20 * 86400, unit="s")
    converted = (rng.random(n) < np.where(group == "control", 0.12, 0.14)).astype(int)
    first = pd.DataFrame({"user_id": users, "timestamp": ts, "group": group, "converted": converted})
    repeat = first.sample(100, random_state=1).copy()            # same user, same group, later, other outcome
    repeat["timestamp"] += pd.Timedelta(hours=5)
    repeat["converted"] = 1 - repeat.converted
    both = first.drop(repeat.index).sample(80, random_state=2).copy()   # same user in the other group
    both["group"] = np.where(both.group == "control", "treatment", "control")
    both["timestamp"] += pd.Timedelta(hours=3)
    copies = first.drop(repeat.index).drop(both.index).sample(10, random_state=3)   # exact copies
    rows = pd.concat([first, repeat, both, copies]).sample(frac=1, random_state=4)
    rows["landing_page"] = np.where(rows.group == "control", "old_page", "new_page")
    rows["timestamp"] = rows.timestamp.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    rows[["user_id", "timestamp", "group", "landing_page", "converted"]].to_csv(folder / "ab_data.csv", index=False)
    # Orders: every converted user (by its first row) orders once, a day after assignment; nobody else.
    buyers = first[first.converted == 1]
    orders = pd.DataFrame({"order_id": [f"O{i}" for i in range(len(buyers))], "customer": buyers.user_id.to_numpy(),
                           "paid_at": (buyers.timestamp + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d %H:%M:%S"),
                           "total": rng.integers(20, 80, len(buyers))})
    orders.to_csv(folder / "orders.csv", index=False)
    return first, repeat, both, copies


@pytest.fixture(scope="module")
def landing_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("landing")
    truth = landing_page_export(folder)
    config = {"as_of": "2026-03-01", "source": {"base_dir": str(folder), "sample": None, "tables": {
        "orders": {"path": "orders.csv", "columns": {"order_id": "order_id", "member_id": "customer",
                                                     "order_ts": "paid_at", "amount": "total"}},
        "experiments": {"path": "ab_data.csv", "outcomes": {"converted": "binary"},
                        "columns": {"member_id": "user_id", "variant": "group", "assigned_ts": "timestamp"},
                        "date_formats": ["%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"]}}},
        "notebooks": {"ab_test": {"experiments": ["ab_data"], "breakdowns": [],
                                  # the purchase metrics beside the export's own outcome, named (else the outcome alone)
                                  "designs": {"ab_data": {"metrics": ["converted", "conversion", "orders"]}}}}}
    import yaml
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = load_settings(ROOT, [path])
    params = notebook_params(settings, "ab_test")
    con = engine.connect()
    raw = sources.load_sources(con, params.source, ROOT, folder / "staging")
    out = folder / "out"
    result = clean.clean_all(con, raw, as_of=dt.date(2026, 3, 1), date_formats=params.source.tables["orders"].date_formats,
                             out_dir=out, outcomes={"converted": "binary"},
                             table_date_formats={n: t.date_formats for n, t in params.source.tables.items()})
    tables = {n: con.read_parquet(out / "clean" / f"{n}.parquet") for n in ("orders", "members", "experiments")}
    tables["rejected_experiments"] = con.read_parquet(out / "rejected" / "experiments.parquet")
    analysis = abtest.analyse(tables, "2026-02", params)
    return truth, result, analysis


def test_every_assigned_member_counts_against_a_hand_computation(landing_page):
    (first, repeat, both, copies), result, analysis = landing_page
    assert not analysis.skipped, analysis.skipped
    r = analysis.experiments[0]
    # Hand computation: users in one group only (first rows), each counted once; converted by the first row.
    kept = first[~first.user_id.isin(both.user_id)]
    expected = kept.groupby("group").converted.agg(["mean", "size"])
    assert r.counts == {"control": expected.loc["control", "size"], "treatment": expected.loc["treatment", "size"]}
    res = r.results.set_index(["metric", "variant"])
    for metric in ("conversion", "converted"):
        assert res.loc[(metric, "treatment"), "control_mean"] == pytest.approx(expected.loc["control", "mean"])
        assert res.loc[(metric, "treatment"), "variant_mean"] == pytest.approx(expected.loc["treatment", "mean"])
    # Orders per member agrees with conversion: a repeated row is not a second member.
    assert res.loc[("orders", "treatment"), "control_mean"] == pytest.approx(expected.loc["control", "mean"])
    assert 0.09 < expected.loc["control", "mean"] < 0.15 and r.counts["control"] > 1800
    assert result.tables["experiments"].steps[-1]["rule"] == "repeat_assignment"


def test_assignments_read_kept_and_set_aside_are_accounted(landing_page):
    (first, repeat, both, copies), result, analysis = landing_page
    r = analysis.experiments[0]
    a = r.assignments
    n_rows = len(first) + len(repeat) + len(both) + len(copies)
    assert a["read"] == n_rows and a["kept"] == len(first) - len(both)
    assert a["set_aside"]["duplicate"] == {"rows": 10, "members": 10}
    assert a["set_aside"]["repeat_assignment"] == {"rows": 100, "members": 100}
    assert a["set_aside"]["several_variants"] == {"rows": 160, "members": 80}
    assert r.excluded_multi_variant == 80
    reasons = {s["rule"]: s["rows"] for s in result.tables["experiments"].steps}
    assert reasons.get("unknown_member") is None, "a member table derived from orders rejects no assignment"
    assert result.tables["experiments"].rows_in == n_rows


def test_a_retention_flag_is_evaluated_by_its_own_name(tmp_path):
    """A mobile game's retention test: players never order; the export carries the outcomes."""
    rng = np.random.default_rng(5)
    n = 3000
    version = np.where(rng.random(n) < 0.5, "gate_30", "gate_40")
    ret7 = rng.random(n) < np.where(version == "gate_30", 0.19, 0.18)
    rounds = rng.poisson(50, n)
    pd.DataFrame({"userid": np.arange(n), "version": version, "sum_gamerounds": rounds,
                  "retention_1": rng.random(n) < 0.45, "retention_7": ret7}).to_csv(tmp_path / "cookie_cats.csv", index=False)
    pd.DataFrame({"OrderID": ["X1"], "MemberID": ["shop-1"], "OrderTime": ["2026-01-05 10:00:00"],
                  "PaidAmount": ["10"]}).to_csv(tmp_path / "orders.csv", index=False)
    import yaml
    config = {"as_of": "2026-03-01", "source": {"base_dir": str(tmp_path), "sample": None, "tables": {
        "orders": {"path": "orders.csv", "columns": {"order_id": "OrderID", "member_id": "MemberID",
                                                     "order_ts": "OrderTime", "amount": "PaidAmount"}},
        "experiments": {"path": "cookie_cats.csv", "columns": {"member_id": "userid", "variant": "version"},
                        "outcomes": {"retention_1": "binary", "retention_7": "binary", "sum_gamerounds": "numeric"}}}},
        "notebooks": {"ab_test": {"primary_metric": "retention_7", "guardrail_metrics": ["retention_1"],
                                  "designs": {"cookie_cats": {"control": "gate_30"}}, "breakdowns": []}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    params = notebook_params(load_settings(ROOT, [tmp_path / "config.yaml"]), "ab_test")
    con = engine.connect()
    raw = sources.load_sources(con, params.source, ROOT, tmp_path / "staging")
    clean.clean_all(con, raw, as_of=dt.date(2026, 3, 1), date_formats=params.source.tables["orders"].date_formats,
                    out_dir=tmp_path / "out", outcomes=params.source.tables["experiments"].outcomes)
    tables = {n: con.read_parquet(tmp_path / "out" / "clean" / f"{n}.parquet") for n in ("orders", "members", "experiments")}
    analysis = abtest.analyse(tables, "2026-02", params)
    assert not analysis.skipped, analysis.skipped
    r = analysis.experiments[0]
    assert r.experiment_id == "cookie_cats" and r.primary_metric == "retention_7"
    assert r.metrics == ["retention_1", "retention_7", "sum_gamerounds"]
    assert r.left_out == [], "with outcome columns only they are tested unless the experiment names others"
    row = r.results.set_index("metric").loc["retention_7"]
    a, b = ret7[version == "gate_30"], ret7[version == "gate_40"]
    assert row.control_mean == pytest.approx(a.mean()) and row.variant_mean == pytest.approx(b.mean())
    # Two-proportion z-test by hand, pooled standard error.
    from scipy.stats import norm
    p = (a.sum() + b.sum()) / n
    z = (b.mean() - a.mean()) / np.sqrt(p * (1 - p) * (1 / len(a) + 1 / len(b)))
    assert row.p_value == pytest.approx(2 * norm.sf(abs(z)))
    g = r.results.set_index("metric").loc["sum_gamerounds"]
    assert g.variant_mean == pytest.approx(rounds[version == "gate_40"].mean())
    assert r.power["metric"] == "retention_7" and r.assigned_when == "–"
    # The page names the outcome by its own name, as a rate, and shows no purchase metric.
    from memberkit.views import Presentation
    from memberkit.views import abtest as view
    pres = Presentation("en", "CNY")
    frame = view.results_frame(pres, r).set_index("Variant · metric")
    assert list(frame.index) == [f"gate_40 · {m}" for m in ("retention_1", "retention_7", "sum_gamerounds")]
    assert frame.loc["gate_40 · retention_7", "Control"] == f"{a.mean():.1%}"
    assert "retention_7" in view.verdict_sentence(pres, r, params)
    # Purchase metrics asked for by name but without orders are left out, and the page names them.
    named = notebook_params(load_settings(ROOT, [tmp_path / "config.yaml"], [
        "notebooks.ab_test.designs.cookie_cats.metrics=[retention_7, conversion, orders]"]), "ab_test")
    r2 = abtest.analyse(tables, "2026-02", named).experiments[0]
    assert r2.metrics == ["retention_7"] and r2.left_out == ["conversion", "orders"]
    assert "conversion, orders per member" in view.data_notes(pres, r2, named)[-1], "left-out metrics are named"


def test_the_page_states_assignments_read_kept_and_set_aside(landing_page):
    from memberkit.views import Presentation
    from memberkit.views import abtest as view
    (first, repeat, both, copies), _, analysis = landing_page
    sentence = view.assignment_sentence(Presentation("en", "CNY"), analysis.experiments[0])
    n_rows = len(first) + len(repeat) + len(both) + len(copies)
    assert f"{n_rows:,} rows read, {len(first) - len(both):,} kept" in sentence
    assert "member in several variants 160 rows (80 members)" in sentence
    assert "repeated assignment (first kept) 100 rows (100 members)" in sentence
