"""A PostgreSQL source (issue 24): the small sample retailer (2,000 people) loaded into PostgreSQL and read from
there, through Ibis as Arrow batches on DuckDB and through JDBC on Spark.

The server and the password come from the environment, as .ci/run exports them: ``MEMBERKIT_PG_HOST``
(localhost), ``MEMBERKIT_PG_PORT`` (5432), ``MEMBERKIT_PG_USER``, ``MEMBERKIT_PG_DATABASE`` and
``MEMBERKIT_PG_PASSWORD``; the config holds ``${MEMBERKIT_PG_PASSWORD}``, never the password. Each test module
run loads the sample into a schema of its own and drops it after. Skipped without the settings, psycopg or a
server (and the Spark test without Java or the JDBC driver); under ``CI=1`` that fails instead."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from memberkit import engine, sources, warehouse
from memberkit.config import SourceConfig, expand_env

from .conftest import ROOT

PG_SETTINGS = ("MEMBERKIT_PG_USER", "MEMBERKIT_PG_DATABASE", "MEMBERKIT_PG_PASSWORD")


def _missing(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tests: {why}")
    pytest.skip(why)


def pg_url(password: str = "${MEMBERKIT_PG_PASSWORD}") -> str:
    """The database URL as a config writes it: the password from the environment."""
    env = os.environ
    return (f"postgresql://{env['MEMBERKIT_PG_USER']}:{password}@{env.get('MEMBERKIT_PG_HOST', 'localhost')}:"
            f"{env.get('MEMBERKIT_PG_PORT', '5432')}/{env['MEMBERKIT_PG_DATABASE']}")


@pytest.fixture(scope="module")
def pg():
    """A psycopg connection (autocommit) to the test database, with a schema of this process's own."""
    unset = [v for v in PG_SETTINGS if not os.environ.get(v)]
    if unset:
        _missing(f"{', '.join(unset)} not set (.ci/run starts PostgreSQL and sets them)")
    try:
        import psycopg
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[postgres]'; make installs it)")
    try:
        con = psycopg.connect(expand_env(pg_url()), autocommit=True)
    except psycopg.OperationalError as e:
        _missing(f"no PostgreSQL server: {str(e).splitlines()[0]}")
    schema = f"mk_test_{os.getpid()}"
    con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    con.execute(f"CREATE SCHEMA {schema}")
    con.schema = schema
    yield con
    con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    con.close()


def _load_csv(pg, table: str, path: Path, encoding: str) -> list[str]:
    """A CSV export as a table of text columns plus ``_line`` (its data row number), copied in file order."""
    with open(path, encoding=encoding, newline="") as f:
        header = next(csv.reader(f))
    cols = ", ".join(f'"{c}" text' for c in header)
    pg.execute(f'CREATE TABLE {pg.schema}.{table} ({cols}, _line bigserial)')
    names = ", ".join(f'"{c}"' for c in header)
    with pg.cursor() as cur, cur.copy(f"COPY {pg.schema}.{table} ({names}) FROM STDIN (FORMAT csv, HEADER true)") as cp, \
            open(path, encoding=encoding, newline="") as f:
        while chunk := f.read(1 << 20):
            cp.write(chunk)
    return header


def _load_frame(pg, table: str, frame) -> list[str]:
    header = [str(c) for c in frame.columns]
    cols = ", ".join(f'"{c}" text' for c in header)
    pg.execute(f'CREATE TABLE {pg.schema}.{table} ({cols}, _line bigserial)')
    rows = [tuple(None if v is None or v != v else str(v) for v in row) for row in frame.itertuples(index=False)]
    with pg.cursor() as cur:
        cur.executemany(f"INSERT INTO {pg.schema}.{table} ({', '.join(chr(34) + c + chr(34) for c in header)}) "
                        f"VALUES ({', '.join(['%s'] * len(header))})", rows)
    return header


@pytest.fixture(scope="module")
def pg_source(pg, request, tmp_path_factory) -> tuple[Path, SourceConfig]:
    """The small sample's five exports loaded into PostgreSQL as text, and a config reading them from there:
    each table a query ordered by ``_line`` (so row numbers are the file's), except ``campaigns``, named bare
    without a key (ordered by every column: its row numbers do not trace back)."""
    import pandas as pd
    folder, truth = request.getfixturevalue("small_sample")     # (after `pg`: without a server, skip at once)
    base = yaml.safe_load((ROOT / "params" / "base.yaml").read_text(encoding="utf-8"))["source"]["tables"]
    tables = {}
    for name, spec in base.items():
        if spec["path"].endswith(".xlsx"):
            header = _load_frame(pg, name, pd.read_excel(folder / spec["path"], sheet_name=spec.get("sheet") or 0,
                                                          dtype=str))
        else:
            header = _load_csv(pg, name, folder / spec["path"], spec.get("encoding", "utf-8"))
        entry = {k: v for k, v in spec.items() if k not in ("path", "encoding", "sheet")}
        if name == "campaigns":
            pg.execute(f"CREATE VIEW {pg.schema}.campaigns_export AS SELECT "
                       f"{', '.join(chr(34) + c + chr(34) for c in header)} FROM {pg.schema}.campaigns")
            entry["query"] = f"{pg.schema}.campaigns_export"
        else:
            entry["query"] = (f"SELECT {', '.join(chr(34) + c + chr(34) for c in header)} "
                              f"FROM {pg.schema}.{name} ORDER BY _line")
        tables[name] = entry
    config = {"as_of": truth["extracted_at"], "source": {"base_dir": str(folder), "sample": None,
                                                          "database_url": pg_url(), "tables": tables}}
    path = tmp_path_factory.mktemp("pg_config") / "pg.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path, SourceConfig.model_validate(config["source"])


# ------------------------------------------------------------------ all five reports and the summary
def _differences(a, b, path="") -> list[str]:
    """Where two results differ: numbers beyond 1e-6 (relative; money to the cent and model parameters to
    1e-6 follow), anything else unequal."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b), key=str)}"]
        return [d for k in a if k not in NOT_RESULTS for d in _differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, (int, float)) or isinstance(b, float) and isinstance(a, int):
        return [] if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


# what may differ: the run's manifest (durations), and the stamps (what the tables were read from: a file and
# its digest, or a query)
NOT_RESULTS = {"manifest.json", "stamp"}


@pytest.fixture(scope="module")
def pg_run(pg_source, tmp_path_factory):
    """run_reports.py on the sample read from PostgreSQL, as the scheduler's file run (tests/conftest.py `e2e`)
    runs it, without the PDFs."""
    import time
    config, _ = pg_source
    out = tmp_path_factory.mktemp("pg_reports") / "2026-10"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(config), "--out", str(out),
                           "-p", "notebooks.data_cleaning.outlier_policy=cap", "-p", "language=en"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    print(f"the run from PostgreSQL: {time.perf_counter() - started:.0f} s")
    return proc, out


@pytest.mark.slow
def test_five_reports_and_the_summary_from_postgresql_match_the_file_run(pg_run, request):
    proc, out = pg_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    file_proc, file_out, _ = request.getfixturevalue("e2e")      # the file run, shared with the suite
    assert file_proc.returncode == 0, file_proc.stderr[-2000:]
    names = sorted(p.name for p in file_out.glob("*.json") if p.name not in NOT_RESULTS)
    assert {"data_cleaning.json", "rfm_segmentation.json", "clv_forecast.json", "ab_test.json",
            "campaign_review.json", "month.json"} <= set(names)
    assert names == sorted(p.name for p in out.glob("*.json") if p.name not in NOT_RESULTS)
    found, results = {}, {}
    for name in names:
        want, got = (json.loads((folder / name).read_text(encoding="utf-8")) for folder in (file_out, out))
        found[name], results[name] = _differences(got, want), got
    assert found == {name: [] for name in names}
    # (what they hold: the cleaning's counts per table and rule, the segments' members and money, the models)
    cleaning = results["data_cleaning.json"]["results"]["tables"]
    assert cleaning["orders"]["rows_in"] > 5_000 and cleaning["members"]["kept"] == 2000
    assert results["rfm_segmentation.json"]["results"]["segments"]["high_low"]["important_value"]["members"] > 0
    assert set(results["clv_forecast.json"]["results"]["final_parameters"]) >= {"gamma_gamma"}
    # the cleaning's counts and the segment counts are among them; the clean tables too, row for row
    import pandas as pd
    for table in ("orders", "members", "experiments", "campaign_members"):
        got, want = (pd.read_parquet(folder / "data" / "clean" / f"{table}.parquet") for folder in (out, file_out))
        assert list(got.columns) == list(want.columns) and len(got) == len(want), table
        shown = [c for c in got.columns if c != "_source"]
        pd.testing.assert_frame_equal(got[shown], want[shown], check_dtype=True, obj=table)
    assert (out / "en" / "index.html").is_file()


@pytest.mark.slow
def test_the_password_comes_from_the_environment_and_lands_nowhere(pg_run):
    proc, out = pg_run
    password = os.environ["MEMBERKIT_PG_PASSWORD"]
    assert password not in proc.stdout + proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_the_cleaning_report_says_which_tables_have_no_source_row_numbers(pg_run, pg_source):
    _, source = pg_source
    assert warehouse.untraced_tables(source) == ["campaigns"]       # a bare table without a key
    page = (pg_run[1] / "en" / "data_cleaning.html").read_text(encoding="utf-8")
    assert "source row numbers are not available" in page.lower()


# ------------------------------------------------------------------ Spark reads it through JDBC
@pytest.fixture(scope="module")
def spark():
    from .test_spark import SPARK, spark_missing
    why = spark_missing() or (None if Path(warehouse.jdbc_jar()).is_file() else
                              f"{warehouse.jdbc_jar()} is missing (apt-get install libpostgresql-jdbc-java)")
    if why:
        _missing(why)
    return engine.connect(SPARK)


def _raw(con, source: SourceConfig, folder: Path) -> dict[str, list[dict]]:
    """Each table of ``source`` as read from the database (text, every column), numbered in the order read."""
    out = {}
    for name, tsrc in source.tables.items():
        (folder / name).mkdir(parents=True)
        t = engine.numbered(con, warehouse.read_database(con, name, tsrc, source, folder / name))
        out[name] = con.to_pyarrow(t.order_by("_row")).to_pylist()
    return out


@pytest.mark.slow
def test_spark_reads_the_same_rows_through_jdbc_as_duckdb_through_ibis(spark, pg_source, tmp_path):
    """Every row (the text as read, its number) of the five tables read on Spark through JDBC equals the one read
    on DuckDB through Ibis, whose reports are the file run's (above): the staging and cleaning that follow are the
    same code on both engines (tests/test_spark.py)."""
    import time
    _, source = pg_source
    started = time.perf_counter()
    from_jdbc = _raw(spark, source, tmp_path / "spark")
    seconds = time.perf_counter() - started
    from_ibis = _raw(engine.connect(), source, tmp_path / "duck")
    print(f"read from PostgreSQL through JDBC on Spark in {seconds:.1f} s")
    assert {n: len(rows) for n, rows in from_jdbc.items()} == {n: len(rows) for n, rows in from_ibis.items()}
    for name in from_ibis:
        assert from_jdbc[name] == from_ibis[name], name


# ------------------------------------------------------------------ times, order, errors
@pytest.fixture(scope="module")
def zoned(pg):
    """A table with a timestamptz, a timestamp, text carrying its zone and a number, inserted out of order."""
    pg.execute(f"CREATE TABLE {pg.schema}.zoned (line int, paid_at timestamptz, local_at timestamp, "
               "written text, amount numeric(10, 2))")
    pg.execute(f"INSERT INTO {pg.schema}.zoned VALUES "
               "(3, '2025-03-01 01:30:00.25+00', '2025-03-01 09:30:00', '2025-03-01T09:30:00+08:00', 7.25), "
               "(1, '2025-01-31 20:00:00+00', '2025-02-01 04:00:00', '2025-02-01 04:00', 10.50), "
               "(2, '2025-06-30 23:59:59-05:00', '2025-07-01 12:59:59', '2025-07-01T04:59:59Z', NULL)")
    return f"{pg.schema}.zoned"


def _read(con, tsrc: dict, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    source = SourceConfig.model_validate({"base_dir": str(folder), "database_url": pg_url(),
                                          "tables": {"orders": tsrc}})
    return warehouse.read_database(con, "orders", source.tables["orders"], source, folder)


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_zoned_times_reach_the_shops_time_zone_and_a_key_orders_the_rows(backend, zoned, request, tmp_path):
    con = request.getfixturevalue("spark") if backend == "spark" else engine.connect()
    t = _read(con, {"query": zoned, "key": ["line"], "columns": {}}, tmp_path)
    assert all(str(v) == "string" for v in t.schema().types)
    t = engine.numbered(con, t)
    rows = con.to_pyarrow(t.order_by("_row")).to_pylist()
    assert [(r["_row"], r["line"]) for r in rows] == [(1, "1"), (2, "2"), (3, "3")]   # by the key
    assert [r["paid_at"] for r in rows] == ["2025-01-31 20:00:00Z", "2025-07-01 04:59:59Z", "2025-03-01 01:30:00.250000Z"]
    for zone, want in (("Asia/Shanghai", [dt.datetime(2025, 2, 1, 4), dt.datetime(2025, 7, 1, 12, 59, 59),
                                          dt.datetime(2025, 3, 1, 9, 30, 0, 250000)]),
                       ("Europe/Berlin", [dt.datetime(2025, 1, 31, 21), dt.datetime(2025, 7, 1, 6, 59, 59),
                                          dt.datetime(2025, 3, 1, 2, 30, 0, 250000)])):
        parsed = t.select("_row", **{c: engine.parse_timestamp(t[c], [], zone) for c in ("paid_at", "written")})
        got = con.to_pyarrow(parsed.order_by("_row")).to_pylist()
        assert [r["paid_at"] for r in got] == want, zone
        # text with its own zone is converted; text without one is the shop's wall clock as written
        assert got[1]["written"] == want[1] and got[2]["written"] == want[2].replace(microsecond=0), zone
    naive = con.to_pyarrow(t.order_by("_row")).column("local_at").to_pylist()
    assert naive == ["2025-02-01 04:00:00", "2025-07-01 12:59:59", "2025-03-01 09:30:00"]   # as written
    assert [r["amount"] for r in rows] == ["10.50", None, "7.25"]


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_other_types_arrive_as_the_databases_text_alike_on_both_engines(backend, pg, request, tmp_path):
    """uuid (a common member id), json, binary, numeric, real and arrays: PostgreSQL's own text, on either route."""
    pg.execute(f"CREATE TABLE IF NOT EXISTS {pg.schema}.typed (id int, u uuid, j jsonb, b bytea, d date, f boolean, "
               "n numeric, r real, a text[])")
    pg.execute(f"TRUNCATE {pg.schema}.typed")
    pg.execute(f"INSERT INTO {pg.schema}.typed VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{\"x\": 1}}', "
               "'\\xdead', '2025-01-02', true, 12.345, 1.5, ARRAY['p', 'q'])")
    con = request.getfixturevalue("spark") if backend == "spark" else engine.connect()
    rows = con.to_pyarrow(_read(con, {"query": f"{pg.schema}.typed", "columns": {}}, tmp_path)).to_pylist()
    assert rows == [{"id": "1", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": '{"x": 1}', "b": "\\336\\255",
                     "d": "2025-01-02", "f": "true", "n": "12.345", "r": "1.5", "a": "{p,q}"}]


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_row_order_is_the_querys_own_else_every_columns(backend, zoned, request, tmp_path):
    con = request.getfixturevalue("spark") if backend == "spark" else engine.connect()
    own = {"query": f"SELECT line, written FROM {zoned} ORDER BY line DESC", "columns": {}}
    lines = con.to_pyarrow(engine.numbered(con, _read(con, own, tmp_path)).order_by("_row")).column("line")
    assert lines.to_pylist() == ["3", "2", "1"]
    assert warehouse.traces_back(SourceConfig.model_validate(
        {"database_url": "x://", "tables": {"orders": own}}).tables["orders"])
    bare = {"query": f"SELECT written, line FROM {zoned}", "columns": {}}
    t = con.to_pyarrow(engine.numbered(con, _read(con, bare, tmp_path / "b")).order_by("_row")).to_pylist()
    assert [r["written"] for r in t] == sorted(r["written"] for r in t)              # every column, in order
    assert not warehouse.traces_back(SourceConfig.model_validate(
        {"database_url": "x://", "tables": {"orders": bare}}).tables["orders"])


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_database_errors_name_their_cause_without_the_password(backend, zoned, request, tmp_path, monkeypatch):
    from memberkit.errors import InputError
    con = request.getfixturevalue("spark") if backend == "spark" else engine.connect()
    with pytest.raises(InputError) as e:
        _read(con, {"query": "no_such_table", "columns": {}}, tmp_path)
    assert e.value.rule == "the database has no such table"
    with pytest.raises(InputError) as e:
        _read(con, {"query": "SELECT nothing FROM no_such_table", "columns": {}}, tmp_path)
    assert e.value.rule == "the database query failed" and "no_such_table" in str(e.value)
    wrong = "Wr0ng-pa55word"
    monkeypatch.setenv("MEMBERKIT_PG_PASSWORD", wrong)
    with pytest.raises(InputError) as e:
        _read(con, {"query": zoned, "columns": {}}, tmp_path)
    assert e.value.rule == "cannot connect to the database" and "password" in str(e.value)
    assert wrong not in str(e.value) and "Traceback" not in str(e.value)
