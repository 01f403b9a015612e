"""The cluster form (``engine.spark_master``) against a standalone master and one worker started on localhost from
pyspark's own scripts (``bin/spark-class ...deploy.master.Master`` / ``...deploy.worker.Worker``).

Opt-in, outside ``make test`` and CI (about four minutes on a 2-core machine, over the suite's budget): run it with
``MEMBERKIT_TEST_SPARK_CLUSTER=1 .venv/bin/python -m pytest tests/test_spark_cluster.py``. The kit runs in a process
of its own (one Spark setting per process): the small sample retailer's cleaning, month figures and RFM analysis
on the cluster against DuckDB's (``RUN``, its engine setting as JSON; tests/test_spark_connect.py runs it through a
Spark Connect server)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.skipif(os.environ.get("MEMBERKIT_TEST_SPARK_CLUSTER") != "1",
                                reason="opt-in: MEMBERKIT_TEST_SPARK_CLUSTER=1 (starts a standalone Spark master)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """spark://127.0.0.1:<port>: a master and a worker (2 cores, 2 GB) from pyspark's scripts, stopped after."""
    from .test_spark import spark_missing
    why = spark_missing()
    if why:
        pytest.skip(why)
    import pyspark
    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    folder = tmp_path_factory.mktemp("cluster")
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    env = {**os.environ, "SPARK_HOME": str(spark_class.parent.parent), "SPARK_WORKER_DIR": str(folder / "work")}
    logs = {name: open(folder / f"{name}.log", "w") for name in ("master", "worker")}
    started = [subprocess.Popen([str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                 "--port", str(port), "--webui-port", str(_free_port())],
                                stdout=logs["master"], stderr=subprocess.STDOUT, env=env)]
    try:
        deadline = time.monotonic() + 120
        while "Starting Spark master" not in (folder / "master.log").read_text() and time.monotonic() < deadline:
            time.sleep(1)
        started.append(subprocess.Popen([str(spark_class), "org.apache.spark.deploy.worker.Worker", url, "--cores", "2",
                                         "--memory", "2g", "--webui-port", str(_free_port()),
                                         "--work-dir", str(folder / "work")],
                                        stdout=logs["worker"], stderr=subprocess.STDOUT, env=env))
        while "Successfully registered" not in (folder / "worker.log").read_text() and time.monotonic() < deadline:
            time.sleep(1)
        assert "Successfully registered" in (folder / "worker.log").read_text(), "the worker did not register"
        yield url, folder
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


RUN = r'''
import datetime as dt, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from memberkit import clean, engine, month, rfm, sources
from memberkit.config import EngineSettings, load_settings, notebook_params
from memberkit.periods import default_period
from memberkit.sample import generate_sample
from tests.test_spark import _close, clean_key
root, work, setting = Path(sys.argv[1]), Path(sys.argv[2]), EngineSettings(**json.loads(sys.argv[3]))
truth = generate_sample(work / "sample", n_members=2000, seed=7)
as_of = dt.date.fromisoformat(truth["extracted_at"])
period = default_period(as_of)[0]
settings = load_settings(root, [], [f"source.base_dir={work / 'sample'}", "source.sample=null", f"as_of={as_of}"])
params, rfm_params = notebook_params(settings, "data_cleaning"), notebook_params(settings, "rfm_segmentation")
out, seconds = {}, {}
for name, setting in (("duckdb", EngineSettings()), ("cluster", setting)):
    started = time.perf_counter()
    con = engine.connect(setting)
    raw = sources.load_sources(con, params.source, root, work / f"staging_{name}")
    data = work / f"clean_{name}"
    cleaned = clean.clean_all(con, raw, as_of=as_of, date_formats=params.source.tables["orders"].date_formats,
                              out_dir=data)
    tables = {n: engine.read_table(con, data / "clean" / f"{n}.parquet", f"clean_{n}")
              for n in ("orders", "members", "experiments", "campaigns", "campaign_members")}
    figures = month.compute_figures(tables, period, rfm_params.active_window_days)
    out[name] = (cleaned, figures, rfm.key_results(rfm.analyse(tables, period, rfm_params, figures)))
    seconds[name] = round(time.perf_counter() - started, 1)
d, c = out["duckdb"], out["cluster"]
print(json.dumps({"seconds": seconds, "clean_tables_are_folders": (work / "clean_cluster" / "clean" / "orders.parquet").is_dir(),
                  "differences": (["tables"] if c[0].to_dict()["tables"] != d[0].to_dict()["tables"] else [])
                  + _close(clean_key(c[0]), clean_key(d[0])) + _close(c[1], d[1]) + _close(c[2], d[2])}))
'''


def run_beside_duckdb(setting: dict, tmp_path: Path) -> dict:
    """``RUN`` in a process of its own with the engine ``setting`` (EngineSettings' fields): its seconds, whether
    the clean tables are folders of parts, and every difference from DuckDB's results."""
    script = tmp_path / "run.py"
    script.write_text(RUN, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(ROOT), str(tmp_path), json.dumps(setting)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(result["seconds"])
    return result


def test_the_cleaning_month_figures_and_rfm_on_a_standalone_master_are_duckdbs(master, tmp_path):
    url, _ = master
    result = run_beside_duckdb({"backend": "spark", "spark_master": url}, tmp_path)
    assert result["differences"] == []
    assert result["clean_tables_are_folders"]          # on a cluster a clean table is Spark's folder of parts
