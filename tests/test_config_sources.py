"""Parameters are validated up front; a file that does not fit stops with file, column, rule and rows."""
import sqlite3

import pandas as pd
import pytest
import yaml

from memberkit import config, engine, sources, warehouse
from memberkit.config import SourceConfig
from memberkit.errors import ConfigError, InputError

from .conftest import ROOT


def _source(tmp_path, **orders):
    return SourceConfig.model_validate({"base_dir": str(tmp_path), "tables": {"orders": orders}})


def _write_orders(tmp_path, name="o.csv", encoding="utf-8", amount="PaidAmount"):
    df = pd.DataFrame({"Member": ["U1", "U2", ""], "When": ["2025-01-01 10:00:00", "2025-02-01 10:00:00", "N/A"],
                       amount: ["10.5", "20", "7"], "Name": ["张三", "李四", "王五"]})
    df.to_csv(tmp_path / name, index=False, encoding=encoding)
    return {"member_id": "Member", "order_ts": "When", "amount": amount}


@pytest.mark.parametrize("bad,where", [
    ({"period": "2026-13"}, "period"), ({"language": "fr"}, "language"),
    ({"notebooks": {"data_cleaning": {"outlier_policy": "drop"}}}, "outlier_policy"),
    ({"source": {"tables": {"order": {"path": "x.csv"}}}}, "tables"),
])
def test_bad_parameters_are_named(bad, where):
    settings = config.deep_merge(config.load_settings(ROOT), bad)
    with pytest.raises(ConfigError, match=where):
        config.notebook_params(settings, "data_cleaning")


def test_overrides_keep_types_and_nest():
    s = config.apply_overrides({}, ["notebooks.data_cleaning.outlier_multiple=12.5", "period=2026-09"])
    assert s["notebooks"]["data_cleaning"]["outlier_multiple"] == 12.5 and s["period"] == "2026-09"
    with pytest.raises(ConfigError):
        config.parse_override("nonsense")


def test_secrets_come_from_the_environment_and_never_reach_the_manifest(monkeypatch):
    monkeypatch.setenv("MK_TEST_PW", "s3cret")
    assert config.expand_env("postgresql://u:${MK_TEST_PW}@h/db") == "postgresql://u:s3cret@h/db"
    monkeypatch.delenv("MK_TEST_PW")
    with pytest.raises(ConfigError, match="MK_TEST_PW"):
        config.expand_env("postgresql://u:${MK_TEST_PW}@h/db")
    red = config.redact({"source": {"database_url": "postgresql://u:pw@h/db"}, "api_token": "x"})
    assert red == {"source": {"database_url": "postgresql://u:***@h/db"}, "api_token": "***"}


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_csv_with_column_map_and_encoding(tmp_path, encoding):
    cols = _write_orders(tmp_path, encoding=encoding)
    src = _source(tmp_path, path="o.csv", encoding=encoding, columns=cols)
    t = sources.load_sources(engine.connect(), src, ROOT, tmp_path / "st")["orders"]
    rows = t.select("member_id", "order_ts", "amount", "_row").to_pyarrow().to_pylist()
    assert [r["member_id"] for r in rows] == ["U1", "U2", None]  # an empty cell is a guest, not ""
    assert rows[1] == {"member_id": "U2", "order_ts": "2025-02-01 10:00:00", "amount": "20", "_row": 2}
    assert "Name" not in t.columns


def test_staged_rows_keep_their_number_in_the_file_when_the_engine_reads_and_writes_in_parallel(tmp_path):
    # a source of many row groups, read and written by four threads: a row's number is its place in the file
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = 200_000
    position = [f"{i:06d}" for i in range(1, n + 1)]
    pq.write_table(pa.table({"Member": [f"U{i % 977}" for i in range(n)], "When": ["2025-01-01 10:00:00"] * n,
                             "PaidAmount": position}), tmp_path / "o.parquet", row_group_size=2_000)
    src = _source(tmp_path, path="o.parquet", columns={"member_id": "Member", "order_ts": "When", "amount": "PaidAmount"})
    con = engine.connect(config.EngineSettings(threads=4))
    t = sources.load_sources(con, src, ROOT, tmp_path / "st")["orders"]
    assert t.columns[-3:] == ("_dupkey", "_source", "_row")
    rows = t.order_by("_row").select("amount", "_row").to_pyarrow()
    assert rows.column("_row").to_pylist() == list(range(1, n + 1))
    assert rows.column("amount").to_pylist() == position


def test_excel_parquet_and_sql_sources(tmp_path):
    cols = _write_orders(tmp_path)
    df = pd.read_csv(tmp_path / "o.csv", dtype=str)
    df.to_excel(tmp_path / "o.xlsx", sheet_name="orders", index=False)
    df.to_parquet(tmp_path / "o.parquet")
    with sqlite3.connect(tmp_path / "shop.db") as db:
        df.to_sql("orders_export", db, index=False)
    for spec in ({"path": "o.xlsx", "sheet": "orders"}, {"path": "o.parquet"}):
        t = sources.load_sources(engine.connect(), _source(tmp_path, columns=cols, **spec), ROOT, tmp_path / "st")
        assert t["orders"].count().execute() == 3
    src = SourceConfig.model_validate({"base_dir": str(tmp_path), "database_url": f"sqlite:///{tmp_path}/shop.db",
                                       "tables": {"orders": {"query": "orders_export", "columns": cols}}})
    t = sources.load_sources(engine.connect(), src, ROOT, tmp_path / "st")
    assert sorted(t["orders"].amount.to_pyarrow().to_pylist()) == ["10.5", "20", "7"]


def _load_with_amount_mapped_to(tmp_path, column):
    cols = _write_orders(tmp_path)
    cols["amount"] = column
    with pytest.raises(InputError) as e:
        sources.load_sources(engine.connect(), _source(tmp_path, path="o.csv", columns=cols), ROOT, tmp_path / "s")
    return e.value


def test_missing_column_names_file_column_and_rule(tmp_path):
    err = _load_with_amount_mapped_to(tmp_path, "Amount")  # a name the file does not have
    assert (err.file, err.table, err.column, err.rule) == ("o.csv", "orders", "Amount", "required column is missing")
    assert "PaidAmount" in str(err)


def test_column_mapped_to_the_wrong_field_shows_first_offending_rows(tmp_path):
    err = _load_with_amount_mapped_to(tmp_path, "Name")  # text where a number belongs
    assert err.column == "amount" and "parse as number" in err.rule
    assert err.examples[0] == {"_row": 1, "amount": "张三"}


def test_wrong_encoding_is_explained(tmp_path):
    cols = _write_orders(tmp_path, encoding="gb18030")
    with pytest.raises(InputError, match="encoding"):
        sources.load_sources(engine.connect(), _source(tmp_path, path="o.csv", encoding="utf-16", columns=cols),
                             ROOT, tmp_path / "s")


def test_gb18030_file_read_as_utf8_points_at_the_encoding(tmp_path):
    cols = _write_orders(tmp_path, encoding="gb18030")
    with pytest.raises(InputError, match="encoding"):
        sources.load_sources(engine.connect(), _source(tmp_path, path="o.csv", columns=cols), ROOT, tmp_path / "s")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        sources.load_sources(engine.connect(), _source(tmp_path, path="nope.csv"), ROOT, tmp_path / "s")


def test_environment_yml_agrees_with_pyproject():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip) - {"-e ."} == wanted


def test_a_database_is_read_through_ibis_in_a_stable_order_with_zoned_times(tmp_path, monkeypatch):
    """Rows come ordered by the declared key (inserted shuffled), every column as text; a timestamptz column
    reaches the cleaning as UTC with a Z and is read in the shop's time zone; pandas' read_sql is not used."""
    import datetime as dt
    monkeypatch.setattr(pd, "read_sql", None)
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE lines (line INTEGER, member TEXT, amount REAL, at TIMESTAMP)")
        db.executemany("INSERT INTO lines VALUES (?, ?, ?, ?)",
                       [(3, "U3", 7.25, "2025-03-01 09:00:00"), (1, "U1", 10.5, "2025-01-01 10:00:00"),
                        (2, None, 20.0, "2025-02-01 10:00:00")])
    cols = {"member_id": "member", "order_ts": "at", "amount": "amount"}
    src = SourceConfig.model_validate({"base_dir": str(tmp_path), "database_url": f"sqlite:///{tmp_path}/shop.db",
                                       "tables": {"orders": {"query": "lines", "columns": cols, "key": ["line"]}}})
    con = engine.connect()
    rows = sources.load_sources(con, src, ROOT, tmp_path / "st")["orders"].order_by("_row").to_pyarrow().to_pylist()
    assert [(r["_row"], r["member_id"], r["amount"]) for r in rows] == [(1, "U1", "10.5"), (2, None, "20"),
                                                                       (3, "U3", "7.25")]
    src = SourceConfig.model_validate({"base_dir": str(tmp_path), "database_url": f"sqlite:///{tmp_path}/shop.db",
                                       "tables": {"orders": {"query": "SELECT * FROM lines WHERE line > 1",
                                                             "columns": cols}}})
    rows = sources.load_sources(con, src, ROOT, tmp_path / "st1")["orders"].order_by("_row").to_pyarrow().to_pylist()
    assert [r["member_id"] for r in rows] == [None, "U3"]      # a query without a key: ordered by every column
    # a timestamptz column arrives from Ibis as a timestamp with a zone (PostgreSQL's, here made in Arrow)
    import pyarrow as pa
    zoned = pa.array([dt.datetime(2025, 1, 1, 2), dt.datetime(2025, 1, 31, 20)], pa.timestamp("us", "UTC"))
    batches = pa.RecordBatchReader.from_batches(pa.schema([("ts", zoned.type)]), [pa.record_batch([zoned], ["ts"])])
    t = warehouse.stage_batches(con, "orders", batches, tmp_path, label="lines")
    assert t.ts.to_pyarrow().to_pylist() == ["2025-01-01 02:00:00Z", "2025-01-31 20:00:00Z"]
    t = t.rename(order_ts="ts")
    local = con.execute(engine.parse_timestamp(t.order_ts, src.tables["orders"].date_formats, "Asia/Shanghai"))
    assert [v.to_pydatetime() for v in local] == [dt.datetime(2025, 1, 1, 10), dt.datetime(2025, 2, 1, 4)]


def test_offending_rows_of_a_database_table_without_an_order_show_no_row_numbers(tmp_path):
    """A bare database table without a key is numbered in an order of the kit's: its offending rows are shown
    without numbers, and the message says row numbers are not available; with a key they are the key's order."""
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE lines (line INTEGER, member TEXT, amount TEXT, at TEXT)")
        db.executemany("INSERT INTO lines VALUES (?, ?, ?, ?)",
                       [(2, "U2", "lots", "2025-02-01 10:00:00"), (1, "U1", "many", "2025-01-01 10:00:00")])
    cols = {"member_id": "member", "order_ts": "at", "amount": "amount"}

    def problem(**table):
        src = SourceConfig.model_validate({"base_dir": str(tmp_path), "database_url": f"sqlite:///{tmp_path}/shop.db",
                                           "tables": {"orders": {"query": "lines", "columns": cols, **table}}})
        with pytest.raises(InputError) as e:
            sources.load_sources(engine.connect(), src, ROOT, tmp_path / f"st{len(table)}")
        return e.value
    untraced = problem()
    assert untraced.column == "amount" and [e["_row"] for e in untraced.examples] == [None, None]
    assert "row numbers not available" in str(untraced) and "_row" not in str(untraced)
    keyed = problem(key=["line"])
    assert keyed.examples == [{"_row": 1, "amount": "many"}, {"_row": 2, "amount": "lots"}]
    assert "not available" not in str(keyed)


def test_the_cleaning_reports_sentence_on_source_row_numbers_names_the_untraced_tables(tmp_path):
    from memberkit.views import Presentation
    from memberkit.views import clean as view
    p = Presentation(language="en")
    url = f"sqlite:///{tmp_path}/shop.db"
    files = SourceConfig.model_validate({"base_dir": str(tmp_path), "tables": {"orders": {"path": "o.csv"}}})
    assert view.source_rows_note(p, files) is None
    bare = SourceConfig.model_validate({"base_dir": str(tmp_path), "database_url": url, "tables": {
        "orders": {"query": "SELECT * FROM lines ORDER BY line"}, "campaigns": {"query": "campaigns"}}})
    note = view.source_rows_note(p, bare)
    assert note.startswith("Source row numbers are not available for campaigns")
    assert "orders" not in note.lower().split(":")[0]
