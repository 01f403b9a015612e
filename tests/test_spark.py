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


@pytest.mark.parametrize("row", ['2,U2,2025-02-01 10:00,20,paid,EXTRA', '2,"U2,2025-02-01 10:00,20,paid'])
def test_a_malformed_csv_is_named_by_file_and_line_as_on_duckdb(spark, duck, row, tmp_path, capfd):
    """A row wider than the header or a quote left open: the kit's own error (file, line), not Spark's stack trace."""
    from memberkit import sources
    from memberkit.config import SourceConfig
    from memberkit.errors import InputError
    from .conftest import ROOT
    (tmp_path / "orders.csv").write_text("OrderID,MemberID,OrderTime,PaidAmount,Status\n1,U1,2025-01-01 10:00,10.5,paid\n"
                                         f"{row}\n3,U3,2025-03-01 10:00,7,paid\n", encoding="utf-8")
    src = SourceConfig.model_validate({"base_dir": str(tmp_path), "tables": {"orders": {"path": "orders.csv", "columns": {
        "order_id": "OrderID", "member_id": "MemberID", "order_ts": "OrderTime", "amount": "PaidAmount",
        "status": "Status"}}}})
    said = {}
    for con in (spark, duck):
        with pytest.raises(InputError) as e:
            sources.load_sources(con, src, ROOT, tmp_path / f"st_{engine.backend(con)}")
        said[engine.backend(con)] = str(e.value)
    assert said["spark"] == said["duckdb"] and "line 3 has" in said["spark"] and "orders.csv" in said["spark"]
    err = capfd.readouterr().err
    assert "Exception" not in err and "at org.apache" not in err


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


# ------------------------------------------------------------------ the same results on both backends
def _close(a, b, path="") -> list[str]:
    """Where two results differ: floats beyond 1e-9 (relative), anything else unequal."""
    import math
    import numpy as np
    import pandas as pd
    if isinstance(a, pd.DataFrame):
        a, b = a.reset_index(drop=True).to_dict("list"), b.reset_index(drop=True).to_dict("list")
    if isinstance(a, pd.Series):
        a, b = a.to_dict(), b.to_dict()
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b), key=str)}"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _close(x, y, f"{path}[{i}]")]
    if isinstance(a, (float, np.floating)) or isinstance(b, (float, np.floating)):
        if a is None or b is None or pd.isna(a) or pd.isna(b):
            return [] if (a is None or pd.isna(a)) and (b is None or pd.isna(b)) else [f"{path}: {a!r} != {b!r}"]
        return [] if math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9) else [f"{path}: {a!r} != {b!r}"]
    if a is pd.NaT and b is pd.NaT:
        return []
    try:
        same = bool(a == b)
    except (TypeError, ValueError):
        same = str(a) == str(b)
    return [] if same else [f"{path}: {a!r} != {b!r}"]


@pytest.fixture(scope="module")
def on_both(spark, small_sample, small_params, tmp_path_factory):
    """The small sample retailer (2,000 people) cleaned, its month figures (the summary page's figures and why
    member revenue changed), the RFM, CLV, A/B and campaign analyses on each backend, with the seconds each
    took and the engine queries the RFM analysis sent on Spark."""
    import datetime as dt
    import time
    import pandas as pd
    from memberkit import abtest, campaign, clean, clv, month, rfm, sources
    from memberkit.config import load_settings, notebook_params
    from memberkit.periods import default_period
    from .conftest import ROOT
    folder, truth = small_sample
    as_of = dt.date.fromisoformat(truth["extracted_at"])
    period = default_period(as_of)[0]
    rfm_params = notebook_params(load_settings(ROOT, []), "rfm_segmentation")
    ab_params = notebook_params(load_settings(ROOT, []), "ab_test")
    clv_params = notebook_params(load_settings(ROOT, []), "clv_forecast")
    cr_params = notebook_params(load_settings(ROOT, []), "campaign_review")
    out = {}
    for name, con in (("duckdb", engine.connect()), ("spark", engine.connect(SPARK))):
        started = time.perf_counter()
        raw = sources.load_sources(con, small_params.source, ROOT, tmp_path_factory.mktemp(f"staging_{name}"))
        data = tmp_path_factory.mktemp(f"clean_{name}")
        cleaned = clean.clean_all(con, raw, as_of=as_of, date_formats=small_params.source.tables["orders"].date_formats,
                                  out_dir=data)
        cleaning = time.perf_counter() - started
        tables = {n: engine.read_table(con, data / "clean" / f"{n}.parquet", f"clean_{n}")
                  for n in ("orders", "members", "experiments", "campaigns", "campaign_members")}
        queries, sql = [], con.raw_sql
        con.raw_sql = lambda q, **kw: (queries.append(q), sql(q, **kw))[1]
        started = time.perf_counter()
        figures = month.compute_figures(tables, period, rfm_params.active_window_days)
        analysis = rfm.analyse(tables, period, rfm_params, figures)
        rfm_seconds, rfm_queries = time.perf_counter() - started, len(queries)
        ab = abtest.analyse(tables, period, ab_params, rfm_params, data_end=as_of)
        ab_seconds = time.perf_counter() - started
        value = clv.analyse(tables, period, clv_params, analysis.table, rfm_params)
        review = campaign.analyse(tables, period, cr_params, rfm_params, data_end=as_of)
        out[name] = {"cleaning": cleaned, "clean_orders": pd.read_parquet(data / "clean" / "orders.parquet"),
                     "figures": figures,
                     "rfm": analysis, "ab": abtest.key_results(ab, ab_params),
                     "clv": clv.key_results(value, clv_params), "clv_members": value.members,
                     "campaign": campaign.key_results(review, cr_params),
                     "seconds": (cleaning, rfm_seconds, ab_seconds, time.perf_counter() - started),
                     "rfm_queries": rfm_queries}
    print({name: {"cleaning s": round(r["seconds"][0], 1), "month figures + RFM s": round(r["seconds"][1], 1),
                  "+ A/B s": round(r["seconds"][2], 1), "+ CLV and campaigns s": round(r["seconds"][3], 1),
                  "RFM queries": r["rfm_queries"]} for name, r in out.items()})
    return out


def test_the_cleaning_counts_and_clean_orders_are_the_same(on_both):
    duck, spark = on_both["duckdb"], on_both["spark"]
    assert spark["cleaning"].to_dict()["tables"] == duck["cleaning"].to_dict()["tables"]
    assert _close(clean_key(spark["cleaning"]), clean_key(duck["cleaning"])) == []
    d, s = duck["clean_orders"], spark["clean_orders"]
    assert dict(s.dtypes.astype(str)) == dict(d.dtypes.astype(str))        # times without a zone in both files
    assert list(s.columns) == list(d.columns) and len(s) == len(d)
    assert _close(s.astype(str), d.astype(str)) == []          # row for row, in (_source, _row) order: rows trace back


def clean_key(result):
    from memberkit import clean
    return {k: v for k, v in clean.key_results(result).items() if k != "clean_files"}


def test_month_figures_rfm_and_ab_are_the_same(on_both):
    duck, spark = on_both["duckdb"], on_both["spark"]
    assert _close(spark["figures"], duck["figures"]) == []
    from memberkit import rfm
    assert _close(rfm.key_results(spark["rfm"]), rfm.key_results(duck["rfm"])) == []
    key = ["member_id"]
    assert _close(spark["rfm"].table.sort_values(key), duck["rfm"].table.sort_values(key)) == []
    assert _close(spark["ab"], duck["ab"]) == []


def test_clv_and_the_campaign_review_are_the_same(on_both):
    """With the two tests above, every report's results and the summary page's figures: model parameters,
    per-member forecasts, campaign verdicts and money equal to 1e-9."""
    duck, spark = on_both["duckdb"], on_both["spark"]
    assert _close(spark["clv"], duck["clv"]) == []
    assert spark["clv"]["final_parameters"] and duck["clv"]["chosen_model"] == spark["clv"]["chosen_model"]
    key = ["member_id"]
    assert _close(spark["clv_members"].sort_values(key), duck["clv_members"].sort_values(key)) == []
    assert _close(spark["campaign"], duck["campaign"]) == []
