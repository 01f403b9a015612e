"""Parameters are validated up front; a file that does not fit stops with file, column, rule and rows."""
import sqlite3

import pandas as pd
import pytest
import yaml

from memberkit import config, engine, sources
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
