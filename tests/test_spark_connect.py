"""The Spark Connect form (``engine.spark_remote: sc://host:port``) against a Spark Connect server started on
localhost from pyspark's own distribution: its ``jars/`` ship the server (``spark-connect_2.13-*.jar``), started with
``bin/spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer spark-internal`` (pyspark's
wheel has no ``sbin/start-connect-server.sh``); no network beyond 127.0.0.1.

Opt-in, outside ``make test`` and CI: the client needs pyspark's ``connect`` extra (grpcio, grpcio-status,
googleapis-common-protos, zstandard), which the kit does not install. Run it with
``pip install 'pyspark[connect]>=4.0,<4.1'`` and
``MEMBERKIT_TEST_SPARK_CONNECT=1 .venv/bin/python -m pytest tests/test_spark_connect.py``. The kit runs in a
process of its own: the small sample retailer's cleaning, month figures and RFM analysis through the server against
DuckDB's (the script of tests/test_spark_cluster.py).

It fails today (marked xfail): the cleaning's identity merge sends its table of linked accounts, a pandas frame, to
the server, and pyspark's Arrow serializer raises ``TypeError: Cannot convert pyarrow.lib.ChunkedArray to
pyarrow.lib.Array``."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_spark_cluster import _free_port, run_beside_duckdb

pytestmark = pytest.mark.skipif(os.environ.get("MEMBERKIT_TEST_SPARK_CONNECT") != "1",
                                reason="opt-in: MEMBERKIT_TEST_SPARK_CONNECT=1 (starts a Spark Connect server)")

SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """sc://127.0.0.1:<port>: a Spark Connect server (local[2]) from pyspark's jars, stopped after."""
    from .test_spark import spark_missing
    why = spark_missing() or next((f"the Spark Connect client needs {m}: pip install 'pyspark[connect]>=4.0,<4.1'"
                                   for m in ("grpc", "grpc_status", "zstandard")
                                   if importlib.util.find_spec(m) is None), None)
    if why:
        pytest.skip(why)
    import pyspark
    home = Path(pyspark.__file__).parent
    if not list((home / "jars").glob("spark-connect_*.jar")):
        pytest.skip(f"this pyspark ships no Spark Connect server jar in {home / 'jars'}")
    folder = tmp_path_factory.mktemp("connect")
    port = _free_port()
    log = open(folder / "server.log", "w")
    process = subprocess.Popen(
        [str(home / "bin" / "spark-submit"), "--class", SERVER, "--master", "local[2]",
         "--conf", "spark.connect.grpc.binding.address=127.0.0.1", "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.ui.enabled=false", "--conf", f"spark.sql.warehouse.dir={folder / 'warehouse'}",
         "--driver-java-options", f"-Djava.io.tmpdir={folder}", "spark-internal"],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder, env={**os.environ, "SPARK_HOME": str(home)})
    try:
        deadline = time.monotonic() + 180
        while "Spark Connect server started" not in (folder / "server.log").read_text() and time.monotonic() < deadline:
            assert process.poll() is None, (folder / "server.log").read_text()[-3000:]
            time.sleep(1)
        assert "Spark Connect server started" in (folder / "server.log").read_text(), "the server did not start"
        yield f"sc://127.0.0.1:{port}", folder
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.xfail(reason="the identity merge's pandas frame does not reach a Spark Connect server (ChunkedArray)",
                   strict=False)
def test_the_cleaning_month_figures_and_rfm_through_spark_connect_are_duckdbs(server, tmp_path):
    url, _ = server
    result = run_beside_duckdb({"backend": "spark", "spark_remote": url}, tmp_path)
    assert result["differences"] == []
    assert result["clean_tables_are_folders"]        # the server writes a clean table as Spark's folder of parts
