"""The engine setting (``engine:`` in params/base.yaml): validated once with the other settings, one
function makes every connection from it, and it reaches the reports' kernels through the run file."""
from __future__ import annotations

import gc
import json
import os
import stat
from pathlib import Path

import nbformat
import pytest

from memberkit import engine
from memberkit.config import EngineSettings, load_settings, notebook_params, setting_problem
from memberkit.errors import Problems

from .conftest import ROOT


def settings_of(con) -> dict:
    names = ("memory_limit", "threads", "temp_directory", "enable_progress_bar")
    row = con.raw_sql("SELECT " + ", ".join(f"current_setting('{n}')" for n in names)).fetchone()
    return dict(zip(names, row))


def test_base_yaml_holds_the_models_defaults():
    params = notebook_params(load_settings(ROOT), "data_cleaning")
    assert params.engine == EngineSettings()
    assert params.engine.backend == "duckdb" and params.engine.memory_limit == "1GB"
    assert params.engine.threads is None and params.engine.temp_directory is None


def test_command_line_overrides_reach_the_setting():
    params = notebook_params(load_settings(ROOT, [], ["engine.memory_limit=2GB", "engine.threads=2"]), "clv_forecast")
    assert (params.engine.memory_limit, params.engine.threads) == ("2GB", 2)
    assert EngineSettings(memory_limit="1.5 gb").memory_limit == "1.5GB"
    assert EngineSettings(memory_limit="512MiB").memory_limit == "512MiB"


@pytest.mark.parametrize("values, words", [
    ({"backend": "polars"}, "backend 'polars' is not supported yet; supported: duckdb, spark"),
    ({"spark_master": "spark://h:7077"}, "spark_master and spark_remote need backend: spark"),
    ({"backend": "spark", "spark_remote": "h:15002"}, "spark_remote must be a Spark Connect URL"),
    ({"backend": "spark", "spark_master": "yarn", "spark_remote": "sc://h"}, "not both"),
    ({"memory_limit": "lots"}, "memory_limit must be an amount such as 1GB"),
    ({"memory_limit": "0GB"}, "memory_limit must be an amount"),
    ({"memory_limit": "150%"}, "memory_limit must be an amount"),
    ({"temp_directory": "spill"}, "temp_directory must be an absolute folder"),
    ({"threads": 0}, "greater than or equal to 1"),
    ({"thread": 2}, "Extra inputs are not permitted"),
])
def test_bad_values_are_refused(values, words):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match=words):
        EngineSettings.model_validate(values)


def test_spark_is_a_backend_of_the_setting():
    params = notebook_params(load_settings(ROOT, [], ["engine.backend=spark", "engine.spark_master=local[2]"]),
                             "rfm_segmentation")
    assert (params.engine.backend, params.engine.spark_master) == ("spark", "local[2]")
    assert EngineSettings(backend="spark", spark_remote="sc://localhost:15002").spark_remote.startswith("sc://")
    assert engine._jvm_amount("1GB") == "953m" and engine._jvm_amount("2GiB") == "2048m"


def test_only_the_engine_module_makes_a_connection():
    """Every connection comes from engine.connect: no other module calls a backend's connect itself."""
    import re
    lib = ROOT / "lib" / "memberkit"
    raw = re.compile(r"ibis\.(duckdb|pyspark|connect)\b|duckdb\.connect|SparkSession\.builder|pyspark\.sql")
    offenders = [f"{p.relative_to(lib)}:{i}" for p in lib.rglob("*.py") if p.name != "engine.py"
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if raw.search(line)]
    assert offenders == []


def test_a_typo_or_a_per_report_engine_is_named():
    assert "did you mean 'memory_limit'" in setting_problem(["engine", "memry_limit"])
    assert setting_problem(["engine", "threads"]) is None
    assert "shared by every report" in setting_problem(["notebooks", "clv_forecast", "engine", "threads"])


def test_the_up_front_checks_refuse_another_backend_and_a_bad_amount(small_config):
    from memberkit import runner
    with pytest.raises(Problems) as e:
        runner.check_run(None, [small_config], ["data_cleaning"], None,
                         ["engine.backend=polars", "engine.memory_limit=much", "engine.treads=2"])
    text = str(e.value)
    assert "backend 'polars' is not supported yet; supported: duckdb, spark" in text
    assert "memory_limit must be an amount" in text and "did you mean 'threads'" in text


def test_the_connection_carries_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("MEMBERKIT_THREADS", raising=False)
    con = engine.connect(EngineSettings(memory_limit="2GiB", threads=1, temp_directory=str(tmp_path / "spill")))
    got = settings_of(con)
    assert got["memory_limit"] == "2.0 GiB" and got["threads"] == 1
    assert got["enable_progress_bar"] is False     # no bars drawn into executed notebooks or the log
    spill = Path(got["temp_directory"])
    assert spill.parent == tmp_path / "spill" and spill.name.startswith(f"memberkit-engine-{os.getpid()}-")


def test_a_second_connection_shares_the_database_its_setting_and_the_count(tmp_path, monkeypatch):
    import threading
    import pandas as pd
    monkeypatch.delenv("MEMBERKIT_THREADS", raising=False)
    con = engine.connect(EngineSettings(memory_limit="2GiB", threads=1, temp_directory=str(tmp_path / "spill")))
    other = engine.second_connection(con)
    assert settings_of(other) == settings_of(con)
    zone = "SELECT current_setting('TimeZone')"
    assert other.raw_sql(zone).fetchone() == con.raw_sql(zone).fetchone() == ("UTC",)
    pd.DataFrame({"x": list(range(1, 1001))}).to_parquet(tmp_path / "x.parquet")
    before, found = engine.queries(), []
    worker = threading.Thread(target=lambda: found.append(
        engine.read_table(other, tmp_path / "x.parquet", "x_beside").x.sum().to_pyarrow().as_py()))
    worker.start()
    here = engine.read_table(con, tmp_path / "x.parquet", "x_here").x.sum().to_pyarrow().as_py()
    worker.join()
    assert found == [here] == [500500]
    assert engine.queries_since(before)["queries"] == 4    # each connection's read and fetch counted once
    del other
    assert Path(settings_of(con)["temp_directory"]).is_dir()   # the spill folder outlives the second connection


def test_memberkit_threads_is_honoured_when_the_setting_leaves_threads_open(monkeypatch):
    monkeypatch.setenv("MEMBERKIT_THREADS", "1")
    assert settings_of(engine.connect())["threads"] == 1
    assert settings_of(engine.connect(EngineSettings(threads=2)))["threads"] == 2   # the setting, when given
    monkeypatch.delenv("MEMBERKIT_THREADS")
    assert settings_of(engine.connect())["threads"] == os.cpu_count()


def test_the_spill_folder_is_private_outside_outputs_and_removed_after():
    con = engine.connect()
    spill = Path(settings_of(con)["temp_directory"])
    assert spill.is_dir() and stat.S_IMODE(spill.stat().st_mode) == 0o700
    assert ROOT not in spill.parents          # neither outputs/ nor notebooks/ (DuckDB's own default is ./.tmp)
    con.raw_sql("SET memory_limit = '100MB'; SET preserve_insertion_order = false")
    con.raw_sql("CREATE TABLE big AS SELECT range AS i, md5(range::VARCHAR) AS h FROM range(3000000) ORDER BY h")
    spilled = [Path(f) for f, _ in con.raw_sql("SELECT * FROM duckdb_temporary_files()").fetchall()]
    assert spilled and all(f.parent == spill for f in spilled)
    del con
    gc.collect()
    assert not spill.exists()


def test_the_cleaning_stamp_does_not_depend_on_the_engine(small_params):
    import datetime as dt
    from memberkit.clean import cleaning_stamp
    other = small_params.model_copy(update={"engine": EngineSettings(memory_limit="3GB", threads=1)})
    args = (dt.date(2026, 11, 1), "fingerprint", "code")
    assert cleaning_stamp(small_params, *args) == cleaning_stamp(other, *args)


PROBE = """\
import json
from pathlib import Path
from memberkit import engine, store
from memberkit.notebook import resolve
params, ctx = resolve("data_cleaning", run_file=run_file, output_dir=output_dir)
found = {}
for how, con in (("params", engine.connect(params.engine)), ("run", engine.connect(ctx.run.engine))):
    found[how] = [str(v) for v in con.raw_sql(
        "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')").fetchone()]
Path(output_dir, "data_cleaning.json").write_text(json.dumps(found))
"""


@pytest.mark.slow
def test_a_reports_kernel_connects_with_the_runs_engine_setting(small_config, tmp_path, monkeypatch):
    """A notebook run by the runner (its run file, its kernel) connects with -p engine.* of the run, both
    from its parameters (the cleaning's connection) and from the run (the store's)."""
    from memberkit import runfile, runner
    from memberkit.reports import Report
    monkeypatch.setenv("MEMBERKIT_HOME", str(ROOT))
    monkeypatch.setenv("MEMBERKIT_THREADS", "2")          # the setting, given, wins over the environment
    prepared = runner.check_run(None, [small_config], ["data_cleaning"], None,
                                ["engine.memory_limit=2GiB", "engine.threads=1"])
    run = runfile.build(ROOT, prepared.settings, period=prepared.period, period_reason=prepared.period_reason,
                        as_of=prepared.as_of, params=prepared.params)
    staging = tmp_path / "staging"
    staging.mkdir()
    run_path = run.write(staging)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("run_file = None\noutput_dir = None"),
                                         nbformat.v4.new_code_cell(PROBE)])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "probe.ipynb")
    # the cleaning's parameters and results file, this notebook
    report = Report("data_cleaning", "probe.ipynb", "CleaningParams", "data_cleaning.title", "", "")
    outcome = runner.run_notebook(report, tmp_path, staging, run_path, log=lambda m: None)
    assert outcome.status == "ok", outcome.error
    found = json.loads((staging / "data_cleaning.json").read_text())
    for how in ("params", "run"):
        memory, threads, spill = found[how]
        assert (memory, threads) == ("2.0 GiB", "1"), how
        assert Path(spill).name.startswith("memberkit-engine-") and ROOT not in Path(spill).parents


# ------------------------------------------------------------------ the engine queries each report sends
def test_every_query_through_a_connection_is_counted_once_by_kind():
    import ibis
    con = engine.connect()
    before = engine.queries()
    t = con.create_table("counted", ibis.memtable({"x": [1, 2, 3]}))          # a write
    assert con.execute(t.x.sum()) == 6 and t.x.max().to_pyarrow().as_py() == 3   # two fetches, one on the expression
    t.to_pandas()                                    # to_pandas runs execute inside: counted once
    con.raw_sql("SELECT 1")
    assert engine.queries_since(before) == {"queries": 5, "fetches": 3, "writes": 1, "other": 1}
    with t.filter(t.x > 1).cache() as kept:         # a cached table: made (a write) and dropped (other)
        assert kept.count().to_pyarrow().as_py() == 2
    assert engine.queries_since(before) == {"queries": 8, "fetches": 4, "writes": 2, "other": 2}
    ibis.duckdb.connect().execute(ibis.memtable({"x": [1]}).x.sum())    # a connection not made by connect()
    assert engine.queries_since(before)["queries"] == 8


def test_an_analysis_sends_the_same_number_of_queries_every_time(small_tables):
    """The count depends on the code path and the data only: the month figures and the RFM analysis of the
    small sample, twice, send the same queries (more than a handful)."""
    from memberkit import month, rfm
    from memberkit.periods import default_period
    import datetime as dt
    tables, truth = small_tables
    period = default_period(dt.date.fromisoformat(truth["extracted_at"]))[0]
    params = notebook_params(load_settings(ROOT), "rfm_segmentation")
    counts = []
    for _ in range(2):
        before = engine.queries()
        rfm.analyse(tables, period, params, month.compute_figures(tables, period, params.active_window_days))
        counts.append(engine.queries_since(before))
    assert counts[0] == counts[1] and counts[0]["queries"] > 10 and counts[0]["fetches"] > 0


@pytest.mark.slow
def test_each_reports_engine_queries_are_in_its_log_line_and_the_manifest(e2e, e2e_zh):
    """Two runs of the small sample (English and Chinese: the words differ, the queries do not): every report
    and the checks say how many queries they sent, more than none, the same in both runs."""
    import re
    counts = []
    # a Chinese run says its lines in Chinese (runner.* in zh.yaml): the checks and the month figures by name
    done = {"en": r"^\s+done\s+(.+?) in [\d.]+s, (\d+) engine queries$",
            "zh": r"^\s+完成\s+(.+?)，用时 [\d.]+ 秒，(\d+) 次引擎查询$"}
    steps = {"检查": "checks", "月度指标": "month figures"}
    for (proc, out, _), language in zip((e2e, e2e_zh), ("en", "zh")):
        assert proc.returncode == 0, proc.stderr[-2000:]
        logged = {steps.get(m.group(1), m.group(1)): int(m.group(2))
                  for m in re.finditer(done[language], proc.stdout, re.M)}
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["reports"]
        reports = {name: r["engine_queries"]["queries"] for name, r in manifest.items()}
        assert set(reports) == {"data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"}
        assert all(n > 0 for n in reports.values()), reports
        assert {k: logged[k] for k in reports} == reports and logged["checks"] > 0 and "month figures" in logged
        stamp = json.loads((out / "rfm_segmentation.json").read_text(encoding="utf-8"))["stamp"]
        assert stamp["engine_queries"]["queries"] == reports["rfm_segmentation"]
        counts.append(logged)
    assert counts[0] == counts[1]
