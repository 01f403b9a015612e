"""The period store, the run file and the month figures: each result written once by its owner, read by name."""
import datetime as dt
import json
import re

import pandas as pd
import pytest

from memberkit import kpi, month, store
from memberkit.config import load_settings, notebook_params
from memberkit.runfile import RunFile, build, read, secrets_as_variables

from .conftest import ROOT
from .test_month import hand_orders


def hand_run(overrides=(), fingerprint="abc", code="0.1.0+abc1234") -> RunFile:
    """A run of October 2026 over the project's parameters (no file is hashed)."""
    settings = load_settings(ROOT, [], list(overrides))
    params = {n: notebook_params(settings, n) for n in ("data_cleaning", "rfm_segmentation", "clv_forecast")}
    return RunFile("2026-10", "asked", dt.date(2026, 11, 1), code, {"orders": fingerprint}, fingerprint,
                   {n: {**p.model_dump(mode="json"), "period": "2026-10"} for n, p in params.items()}, settings)


def hand_folder(tmp_path, run: RunFile):
    """A period folder whose clean tables are the hand-computed orders of test_month, stamped for ``run``."""
    from memberkit.clean import cleaning_stamp
    orders, members = hand_orders()
    clean = tmp_path / "data" / "clean"
    clean.mkdir(parents=True)
    orders.to_parquet(clean / "orders.parquet")
    members.mutate(region=ibis_null(), channel=ibis_null()).to_parquet(clean / "members.parquet")
    stamp = cleaning_stamp(run.params("data_cleaning"), run.as_of, run.fingerprint, run.code_version)
    (clean / "_stamp.json").write_text(json.dumps({**stamp, "files": ["clean/members.parquet", "clean/orders.parquet"]}))
    return tmp_path


def ibis_null():
    import ibis
    return ibis.null().cast("string")


@pytest.fixture
def no_producer(monkeypatch):
    """Every producer raises: a read that computes fails the test."""
    def forbidden(*a, **k):
        raise AssertionError("a read computed something")
    for target in ("memberkit.clean.run_cleaning", "memberkit.clean.clean_all", "memberkit.month.produce_figures",
                   "memberkit.month.compute_figures", "memberkit.kpi.month_figures", "memberkit.rfm.member_table_at",
                   "memberkit.rfm.produce_member_table", "memberkit.rfm.member_table", "memberkit.sources.load_sources",
                   "memberkit.sample.generate_sample"):
        monkeypatch.setattr(target, forbidden)


def test_reading_a_store_entry_never_computes(tmp_path, no_producer):
    run = hand_run()
    s = store.PeriodStore(tmp_path, run)
    for read_entry, entry in ((s.clean_tables, "clean"), (s.month_figures, "month_figures"),
                              (s.member_table, "members")):
        with pytest.raises(store.StoreMissing) as e:
            read_entry()
        assert e.value.entry == entry and "store.prepare(ctx" in str(e.value)
    assert "the cleaning report" in str(pytest.raises(store.StoreMissing, s.clean_tables).value)
    assert "the RFM report" in str(pytest.raises(store.StoreMissing, s.member_table).value)
    with pytest.raises(store.StoreMissing, match="ab_test.json"):
        s.results("ab_test")
    hand_folder(tmp_path, run)
    con, tables = s.clean_tables()                           # there and current: read, not cleaned again
    assert tables["orders"].count().to_pyarrow().as_py() == 9
    assert s.status("month_figures") == "missing"


def test_a_stale_entry_is_an_error_naming_its_producer(tmp_path, no_producer):
    hand_folder(tmp_path, hand_run())
    for changed in (hand_run(fingerprint="other inputs"), hand_run(code="0.1.0+fff0000"),
                    hand_run(["notebooks.data_cleaning.outlier_multiple=5"])):
        with pytest.raises(store.StoreStale, match="are written for other inputs, settings or code.*the cleaning report"):
            store.PeriodStore(tmp_path, changed).clean_tables()
    # settings the cleaning does not depend on leave its files current
    assert store.PeriodStore(tmp_path, hand_run(["notebooks.rfm_segmentation.split=median"])).status("clean") == "current"


def test_month_figures_are_written_once_with_the_rfm_window_and_read_back(tmp_path, monkeypatch):
    """Only the RFM report's active window is set to 5 days. In the 5 days to 31 October 2026 only c bought
    (30 Oct; a last bought on the 20th, b on the 9th): 1 of the 3 members who had joined is active."""
    run = hand_run(["notebooks.rfm_segmentation.active_window_days=5"])
    assert run.params("data_cleaning").active_window_days == 90
    s = store.PeriodStore(hand_folder(tmp_path, run), run)
    figures = month.produce_figures(s)
    assert figures["active_window_days"] == 5 and figures["figures"]["activity_rate"][-1] == pytest.approx(1 / 3)
    assert set(figures) == {"period", "months", "figures", "active_window_days", "attribution", "bulk_orders",
                            "stamp"}   # no time of day
    why = figures["attribution"]["average_order_value"]                                     # 80 -> 50, 60 -> 50
    assert (why["vs_previous"]["total_change"], why["vs_year_ago"]["total_change"]) == pytest.approx((-30.0, -10.0))
    written = (tmp_path / store.FIGURES_FILE).read_bytes()
    month.produce_figures(s)
    assert (tmp_path / store.FIGURES_FILE).read_bytes() == written                           # a rerun: same bytes
    calls = []
    monkeypatch.setattr("memberkit.kpi.month_figures", lambda *a, **k: calls.append(1))
    assert s.month_figures() == figures and calls == []                                     # read, not computed
    # the RFM page's cards and trend are the same numbers, read from the file
    compared = kpi.figures_compared(s.month_figures())
    assert compared.loc["activity_rate", "current"] == pytest.approx(1 / 3)
    assert compared.loc["average_order_value", ["current", "previous", "year_ago"]].tolist() == [50.0, 80.0, 60.0]
    trend = kpi.figures_trend(s.month_figures(), 12)
    assert list(trend.index) == [f"2025-{m}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    assert pd.isna(trend.loc["2026-01", "repurchase_rate"])                                  # nobody bought
    # another window or cut short: stale, and the error says who writes it
    (tmp_path / store.FIGURES_FILE).write_text('{"period": "2026-1')
    with pytest.raises(store.StoreStale, match="month-figures step"):
        s.month_figures()
    with pytest.raises(ValueError, match="13 months"):
        kpi.figures_trend(figures, 24)


def test_month_figures_hold_the_months_the_rfm_trend_asks_for(tmp_path):
    run = hand_run(["notebooks.rfm_segmentation.trend_months=24"])
    figures = month.produce_figures(store.PeriodStore(hand_folder(tmp_path, run), run))
    assert len(figures["months"]) == 24 and figures["months"][-1] == "2026-10"


def test_prepare_produces_what_is_missing_once_and_says_so(tmp_path):
    from types import SimpleNamespace
    run = hand_run()
    hand_folder(tmp_path, run)
    ctx = SimpleNamespace(output_dir=tmp_path, run=run, root=ROOT, as_of=run.as_of, data_dir=tmp_path / "data")
    said = []
    s = store.prepare(ctx, needs=["month_figures", "members"], log=said.append)
    # in plain words: what was not there, for which month, and that the notebook made it
    assert [m.split(" (")[0] for m in said] == [
        "the month figures for 2026-10 were not there yet, so this notebook prepared them itself",
        "the RFM member table for 2026-10 was not there yet, so this notebook prepared it itself"]
    table = s.member_table()
    assert list(table.member_id) == ["a", "b", "c"] and table.frequency.tolist() == [3, 1, 1]   # the year to 31 Oct
    assert table.revenue_total.tolist() == pytest.approx([230.0, 90.0, 40.0])   # a: 100+50-20+80+20
    some = s.member_table(["revenue_total", "member_id", "no_such_column"])   # the table's order, names it holds
    assert list(some.columns) == ["member_id", "revenue_total"] and some.equals(table[["member_id", "revenue_total"]])
    said.clear()
    store.prepare(ctx, needs=["month_figures", "members"], log=said.append)
    assert said == []                                                      # current: nothing ran
    other = hand_run(["notebooks.rfm_segmentation.window_days=30"])
    assert store.PeriodStore(tmp_path, other).status("members") == "stale"  # another window: another table
    store.prepare(SimpleNamespace(**{**vars(ctx), "run": other}), needs=["members"], log=said.append)
    assert said[0].startswith("the RFM member table for 2026-10 was made from other data, settings or code than "
                              "this run's, so this notebook prepared it again ("), said


def test_the_run_file_holds_secrets_only_as_variables(tmp_path, monkeypatch):
    url = "postgresql://shop:hunter22@db.internal/shop"
    run = hand_run([f"source.database_url={url}", "as_of=2026-11-01"])     # -p as_of reads as a date
    assert isinstance(run.settings["as_of"], dt.date)
    assert "hunter22" in json.dumps(run.to_dict(), default=str)
    safe, variables = secrets_as_variables(run, {"hunter22"})
    path = safe.write(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "hunter22" not in text and "${MEMBERKIT_SECRET_1}" in text and variables == {"MEMBERKIT_SECRET_1": "hunter22"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    back = read(tmp_path)
    assert back.params("data_cleaning").source.database_url == "postgresql://shop:${MEMBERKIT_SECRET_1}@db.internal/shop"
    monkeypatch.setenv("MEMBERKIT_SECRET_1", "hunter22")
    from memberkit.config import expand_env
    assert expand_env(back.params("data_cleaning").source.database_url) == url   # what the reader connects with


def test_the_run_is_worked_out_once_with_the_period_in_every_report(small_config):
    settings = load_settings(ROOT, [small_config])
    run = build(ROOT, settings)
    assert run.period == "2026-10" and "last calendar month" in run.period_reason
    assert {run.params(n).period for n in run.reports} == {"2026-10"}
    assert set(run.inputs) == {"members", "orders", "campaigns", "campaign_members", "experiments"}
    assert build(ROOT, settings, period="2026-07", period_reason="asked", inputs=run.inputs).fingerprint == run.fingerprint


def test_summary_page_reads_the_figures_and_shows_no_secret(tmp_path):
    from memberkit import runner
    from memberkit.runner import Outcome
    run = hand_run(["notebooks.rfm_segmentation.active_window_days=5"])
    out = tmp_path / "2026-10"
    hand_folder(out, run)
    month.produce_figures(store.PeriodStore(out, run))
    failed = {"clv_forecast": Outcome("clv_forecast", "failed", cell=3, error="OperationalError: password hunter22 refused")}
    runner.write_summary(out, run, failed, lambda *a: None, {"hunter22"})
    page = (out / "en" / "index.html").read_text(encoding="utf-8")
    assert "hunter22" not in page and "password *** refused" in page
    (out / store.FIGURES_FILE).unlink()
    said = []
    runner.write_summary(out, run, {}, said.append, {"hunter22"})
    page = (out / "en" / "index.html").read_text(encoding="utf-8")
    assert "month-figures step" in said[0] and "The month figures of this period are missing" in page


def test_only_the_files_the_cleaning_listed_are_read_and_each_must_be_there(tmp_path, no_producer):
    """A table an earlier cleaning wrote (experiments, since unmapped) is not read as current; a listed
    table that went missing makes the clean tables incomplete, not a KeyError later."""
    import ibis
    run = hand_run()
    hand_folder(tmp_path, run)
    ibis.memtable({"member_id": ["a"], "experiment_id": ["X"]}).to_parquet(tmp_path / "data" / "clean" / "experiments.parquet")
    s = store.PeriodStore(tmp_path, run)
    assert set(s.clean_tables()[1]) == {"orders", "members"}
    (tmp_path / "data" / "clean" / "members.parquet").unlink()
    assert s.status("clean") == "incomplete"
    with pytest.raises(store.StoreMissing, match="are incomplete .*members.parquet"):
        s.clean_tables()


def test_prepare_refuses_an_entry_it_cannot_produce(tmp_path):
    from types import SimpleNamespace
    from memberkit.errors import ConfigError
    ctx = SimpleNamespace(output_dir=tmp_path, run=hand_run())
    with pytest.raises(ConfigError, match="no entry 'ab_test'.*clean, month_figures, members"):
        store.prepare(ctx, needs=["ab_test"])
    with pytest.raises(store.StoreMissing, match=r"run_reports.py --only ab_test"):
        store.PeriodStore(tmp_path, hand_run()).results("ab_test")


def test_a_run_file_of_the_wrong_shape_is_a_clear_error(tmp_path):
    from memberkit.errors import ConfigError
    for text in ("[1, 2]", '{"period": "2026-10", "period_reason": "", "as_of": 20261101}', "not json"):
        (tmp_path / "run.json").write_text(text)
        with pytest.raises(ConfigError, match="run file .*cannot be read"):
            read(tmp_path / "run.json")


def test_temp_folders_of_killed_processes_are_removed_by_the_next(tmp_path):
    import subprocess
    import sys
    from memberkit import scratch
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"memberkit-staging-{gone.stdout.strip()}-abc"
    alive = tmp_path / f"memberkit-staging-{__import__('os').getpid()}-abc"
    other = tmp_path / "memberkit-checks-1-abc"
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "members.csv").write_text("phone\n13800000000\n")
    assert scratch.remove_abandoned("staging", tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and other.exists()


def test_a_notebooks_output_folder_is_relative_to_the_project_and_not_a_file(small_config, tmp_path):
    from memberkit.errors import ConfigError
    from memberkit.notebook import resolve
    _, ctx = resolve("ab_test", [str(small_config)], [], "outputs/2026-10")
    assert ctx.output_dir == ROOT / "outputs" / "2026-10"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        resolve("ab_test", [str(small_config)], [], str(tmp_path / "a-file"))


def test_prepare_speaks_the_runs_language(tmp_path):
    """Issue 23: a Chinese run's log said 'the month figures for 2026-10 were not there yet, so this run prepared
    them itself': store.prepare's lines are said in the run's language, as the runner's own lines are."""
    from types import SimpleNamespace
    run = hand_run(["language=zh"])
    hand_folder(tmp_path, run)
    ctx = SimpleNamespace(output_dir=tmp_path, run=run, root=ROOT, as_of=run.as_of, data_dir=tmp_path / "data")
    said = []
    store.prepare(ctx, needs=["month_figures", "members"], log=said.append, who="run", where=tmp_path)
    assert [re.sub(r"（\d+ 秒）$", "", m) for m in said] == [
        f"{tmp_path} 中的月度指标尚不存在，本次运行已自行生成", f"{tmp_path} 中的RFM 会员表尚不存在，本次运行已自行生成"], said
    assert not [m for m in said if re.search(r"[A-Za-z]{3,}", m.replace(str(tmp_path), "").replace("RFM", ""))], said
    # English as before, the entry's number said right; every state and entry has its words in both languages
    assert store.prepared_sentence("members", "stale", 3.2, "notebook", None, "2026-10") == (
        "the RFM member table for 2026-10 was made from other data, settings or code than this run's, so this notebook "
        "prepared it again (3 s)")
    for language in ("en", "zh"):
        for entry in store.ENTRIES:
            for state in ("missing", "stale", "unreadable", "meanwhile"):
                assert "{" not in store.prepared_sentence(entry, state, 1, "run", "/x", "", language)
