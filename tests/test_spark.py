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


@pytest.fixture(scope="module")
def duck():
    return engine.connect()


TIMES = ["2026-08-27T20:04:18Z", "2026年8月27日 20:04", "2017-01-21 22:11:48.556", "2024/1/5 10:56", "20240105",
         "2024-01-05 10:56:00+0100", "46261.5", "5-Jan-2024 10:56", "not a date", "2024-02-30", None, " "]


@pytest.mark.parametrize("formats", [[], ["%Y/%m/%d %H:%M", "%Y%m%d", "%d-%b-%Y %H:%M"]])
def test_times_parse_alike_on_both_backends(spark, duck, formats):
    t = ibis.memtable({"i": list(range(len(TIMES))), "x": TIMES})
    expr = t.select("i", ts=engine.parse_timestamp(t.x, formats, "Asia/Shanghai")).order_by("i")
    assert spark.to_pyarrow(expr).to_pylist() == duck.to_pyarrow(expr).to_pylist()


def test_strptime_formats_become_spark_patterns():
    assert engine.spark_pattern("%Y/%m/%d %H:%M") == "yyyy'/'M'/'d' 'H':'m"
    assert engine.spark_pattern("%Y%m%d%H%M%S") == "yyyyMMddHHmmss"          # adjacent numbers keep their width
    assert engine.spark_pattern("%d %b %Y") == "d' 'MMM' 'yyyy"
    assert engine.spark_pattern("%Y年%m月%d日") == "yyyy'年'M'月'd'日'"
    assert engine.java_replacement(r"\3/\2/\1\4 $") == r"$3/$2/$1$4 \$"
    with pytest.raises(ValueError, match="%U"):
        engine.spark_pattern("%Y-%U")


def test_rows_are_numbered_in_file_order_across_partitions(spark, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = 50_000
    pq.write_table(pa.table({"v": [f"r{i}" for i in range(n)]}), tmp_path / "f.parquet", row_group_size=5_000)
    spark._session.conf.set("spark.sql.files.maxPartitionBytes", "20000")   # several partitions for one file
    try:
        t = engine.numbered(spark, spark.read_parquet(str(tmp_path / "f.parquet"), table_name="numbered_f"))
        rows = spark.to_pyarrow(t.order_by("_row")).to_pylist()
    finally:
        spark._session.conf.unset("spark.sql.files.maxPartitionBytes")
    assert [r["_row"] for r in rows] == list(range(1, n + 1))
    assert all(r["v"] == f"r{r['_row'] - 1}" for r in rows)


def test_csv_reads_as_text_and_tables_are_kept_and_written_in_temporary_places(spark, duck, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o.csv").write_text('id,amount,note\n007,1.50,"two\nlines"\n8,,x\n', encoding="utf-8")
    for con in (spark, duck):
        t = engine.read_csv(con, tmp_path / "o.csv", f"csv_{engine.backend(con)}", header=True, delimiter=",")
        assert all(str(dtype) == "string" for dtype in t.schema().types)
        t = engine.numbered(con, t)
        kept = engine.keep(con, "kept_rows", t)
        path = engine.write_table(con, kept.order_by("_row"), tmp_path / f"w_{engine.backend(con)}.parquet")
        assert path.is_file()
        back = engine.read_table(con, path, f"back_{engine.backend(con)}").to_pyarrow().to_pylist()
        assert back == [{"id": "007", "amount": "1.50", "note": "two\nlines", "_row": 1},
                        {"id": "8", "amount": None, "note": "x", "_row": 2}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "w_duckdb.parquet", "w_spark.parquet"]
    empty = engine.empty_table(spark, "nothing", ibis.schema({"a": "string", "n": "int64"}))
    assert spark.to_pyarrow(empty).num_rows == 0 and empty.schema() == ibis.schema({"a": "string", "n": "int64"})


def test_a_folder_of_parts_reads_as_one_table(spark, duck, tmp_path):
    spark.to_parquet(ibis.memtable({"x": [1, 2, 3]}), tmp_path / "parts.parquet")   # Spark's own folder
    assert (tmp_path / "parts.parquet").is_dir()
    for con in (spark, duck):
        assert sorted(engine.read_table(con, tmp_path / "parts.parquet", f"parts_{engine.backend(con)}")
                      .to_pyarrow().column("x").to_pylist()) == [1, 2, 3]


def test_row_keys_are_64_bit_on_spark(spark):
    t = ibis.memtable({"x": ["a", "b"]})
    values = spark.to_pyarrow(t.select(h=engine.row_hash(t.x))).column("h").to_pylist()
    assert any(abs(v) > 2**31 for v in values)
