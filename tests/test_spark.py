"""The Spark backend (``engine: {backend: spark}``): one local session (``local[2]``) for this module.

Skipped when Java or pyspark is missing; under ``CI=1`` that fails instead (.ci/run installs both)."""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import ibis
import pytest

from memberkit import engine
from memberkit.config import EngineSettings

SPARK = EngineSettings(backend="spark", threads=2)


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]'; .ci/run installs it)"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Java is not installed (apt-get install openjdk-17-jre-headless; .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def spark():
    why = spark_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {why}")
        pytest.skip(why)
    return engine.connect(SPARK)


def test_a_local_session_keeps_its_files_in_a_private_temporary_folder(spark, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert engine.backend(spark) == "spark"
    conf = spark._session.conf
    folder = Path(engine._SPARK["folder"].name)
    assert folder.name.startswith(f"memberkit-engine-{os.getpid()}-") and (folder.stat().st_mode & 0o777) == 0o700
    assert Path(conf.get("spark.sql.warehouse.dir").removeprefix("file:")).is_relative_to(folder)
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark._session.sparkContext.master == "local[2]"
    t = ibis.memtable({"x": [3, 1, 2]})
    assert spark.execute(t.x.sum()) == 6
    other = engine.connect(SPARK)            # its own session: temporary views are not shared
    assert other._session is not spark._session
    assert not (tmp_path / "spark-warehouse").exists() and not (tmp_path / "metastore_db").exists()
