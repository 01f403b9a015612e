"""bench/run.py's own pieces (the bench itself is run by hand: make bench): its flags, the runner's
log lines it reads, and peak memory over a whole process tree."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flags_in_one_place(bench, capsys):
    args = bench.parse_args([])
    assert args.sizes == [20_000, 1_000_000] and args.engines == ["duckdb"]
    assert bench.parse_args(["--members", "2000", "--huge"]).sizes == [2000, 10_000_000]
    assert bench.parse_args(["--members", "20000,2000", "-p", "engine.threads=1"]).overrides == ["engine.threads=1"]
    assert bench.parse_args(["--engine", "spark"]).engines == ["spark"]
    assert bench.parse_args(["--engine", "duckdb,spark"]).engines == ["duckdb", "spark"]
    for bad in (["--engine", "polars"], ["--engine", "spark,spark"], ["--members", "many"], ["--members", "100"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)
    assert "--engine takes duckdb, spark" in capsys.readouterr().err
    # the floor, the CLV comparison and the attribution run on DuckDB whatever the run's engine
    assert bench._extras_overrides(["engine.backend=spark", "engine.spark_master=local[2]", "engine.threads=2"]) \
        == ["engine.backend=duckdb", "engine.threads=2"]


def test_steps_and_their_engine_queries_are_read_from_the_runners_log(bench):
    log = ("Checking parameters and data ...\n  done     checks in 4.2s, 23 engine queries\n  started  data_cleaning\n"
           "  done     data_cleaning in 12.0s, 67 engine queries\n  done     month figures in 1.5s\n"
           "  FAILED   ab_test in cell 3: ValueError: x\n5 of 5 reports ok; open index.html\n")
    assert bench.steps_of(log) == {"checks": 4.2, "data_cleaning": 12.0, "month figures": 1.5}
    assert bench.queries_of(log) == {"checks": 23, "data_cleaning": 67}


def test_each_engine_has_its_columns_and_the_extras_are_duckdbs(bench):
    def run(engine, seconds):
        log = f"  done     checks in {seconds}s, 23 engine queries\n  done     rfm_segmentation in 9.5s, 21 engine queries\n"
        return {"engine": engine, "run": {"code": 0, "seconds": seconds, "peak_bytes": 2**30, "peak_process_bytes": 2**29},
                "steps": bench.steps_of(log), "queries": bench.queries_of(log), "reports_ok": 5, "summary_page": True,
                "log_tail": []}
    size = {"members": 20_000, "generation": {"seconds": 1.0, "peak_bytes": 2**28},
            "runs": {"duckdb": run("duckdb", 4.0), "spark": run("spark", 40.0)},
            "floor": {"rows": 10, "scan_seconds": 0.01, "members": 5, "rfm_seconds": 0.02}}
    text = bench.size_section(size)
    assert "| step | duckdb s | duckdb peak GB | duckdb queries | spark s | spark peak GB | spark queries |" in text
    assert "| checks | 4.0 | | 23 | 40.0 | | 23 |" in text and "| rfm_segmentation | 9.5 | | 21 | 9.5 | | 21 |" in text
    assert "| 4.0 | 1.00 | 44 | 40.0 | 1.00 | 44 |" in text            # the whole run: every step's queries
    assert "Measured on DuckDB alongside (whatever the engine of the run)" in text


def test_peak_memory_counts_the_whole_process_tree(bench):
    # a child that starts a grandchild holding 300 MB: the tree's peak holds both
    grandchild = "import time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.5)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    m = bench.measure([sys.executable, "-c", child])
    assert m["code"] == 0 and m["seconds"] >= 1.5
    assert m["peak_bytes"] >= 300 * 2**20 and m["peak_process_bytes"] >= 300 * 2**20
    assert m["peak_bytes"] > m["peak_process_bytes"]          # the child's own memory counted too


def test_the_largest_process_is_named_by_the_reports_running_then(bench, tmp_path):
    # the log says a report started, the process grows to 300 MB, the report ends, the process shrinks
    script = ("import time; print('  started  ab_test', flush=True); b = bytearray(300 * 2**20); "
              "b[::4096] = b'x' * len(b[::4096]); time.sleep(1); print('  done     ab_test in 1.0s', flush=True); "
              "del b; print('  started  campaign_review', flush=True); time.sleep(1)")
    m = bench.measure([sys.executable, "-c", script], tmp_path / "run.log")
    assert m["peak_process_bytes"] >= 300 * 2**20 and m["peak_process_during"] == ["ab_test"]


def test_the_attribution_cost_is_measured_on_a_finished_runs_clean_tables(small_cleaned, small_config, tmp_path):
    """bench/attribution.py on a run folder (clean tables and month.json): both costs, and the members
    the tier and segment split read."""
    import json
    import shutil
    from memberkit import engine, month
    _, truth, clean_out = small_cleaned
    out = tmp_path / "2026-10"
    shutil.copytree(clean_out / "clean", out / "data" / "clean")
    con = engine.connect()
    tables = {n: con.read_parquet(out / "data" / "clean" / f"{n}.parquet") for n in ("orders", "members")}
    (out / "month.json").write_text(json.dumps(month.compute_figures(tables, "2026-10")), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("bench_attribution", ROOT / "bench" / "attribution.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cost = module.attribution_cost(out, small_config)
    assert cost["figures_seconds"] > 0 and cost["member_groups_seconds"] > 0
    # members who bought in one of the three months: some hundreds of the 2,000 people
    assert 100 < cost["members"] < 2000


def test_a_bench_keeps_what_the_results_file_held_before_it(bench):
    first = bench.with_earlier("# Benchmark\n\n## 20,000 members\nnew\n", "")
    assert first == "# Benchmark\n\n## 20,000 members\nnew\n"
    kept = bench.with_earlier("# Benchmark\n\n## 1,000,000 members\nnewer\n", first)
    assert kept.startswith("# Benchmark\n\n## 1,000,000 members\nnewer\n\n# Earlier results\n")
    assert kept.rstrip().endswith("## 20,000 members\nnew")
    third = bench.with_earlier("# Benchmark\n\n## 2,000 members\nnewest\n", kept)
    assert third.count("# Earlier results") == 1 and third.count(bench.EARLIER_LINE) == 1
    assert third.index("newest") < third.index("newer") < third.index("\nnew\n")
