"""An aggregation too large for the engine's memory limit, split by member into parts run one after
the other: the parts' rows equal one query's, and the split is taken only when the rows need it."""
import datetime as dt

import ibis
import pandas as pd
import pytest

from memberkit import engine, rfm, summary
from memberkit.config import EngineSettings


@pytest.mark.parametrize("text, amount", [("953.6 MiB", int(953.6 * 1024**2)), ("1.0 GiB", 1024**3),
                                          ("500 bytes", 500), ("2GB", 2 * 1000**3), (" 12 KiB ", 12 * 1024)])
def test_duckdb_amounts_read_as_bytes(text, amount):
    assert engine.duckdb_amount(text) == amount


@pytest.mark.parametrize("text", ["", "lots", "12 parsecs", "-1 GB", "1,5 GB"])
def test_other_text_is_not_an_amount(text):
    with pytest.raises(ValueError, match="not an amount of memory"):
        engine.duckdb_amount(text)


def test_a_connection_knows_the_memory_limit_and_threads_duckdb_took():
    con = engine.connect(EngineSettings(memory_limit="1GB", threads=2))
    limit, threads = con._memberkit_memory
    assert threads == 2
    assert 0.99e9 <= limit <= 1.0e9          # DuckDB shows 1GB as 953.6 MiB


def lines(con, n: int, name: str) -> ibis.Table:
    """``n`` order lines of 997 members, kept in ``con`` as ``name``."""
    con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT (range % 997)::BIGINT AS member_id, "
                f"CAST(range AS DECIMAL(18, 2)) / 100 AS amount FROM range({n})")
    return con.table(name)


def test_buckets_follow_the_rows_against_the_memory_limit():
    roomy = engine.connect(EngineSettings(memory_limit="1GB", threads=2))
    tight = engine.connect(EngineSettings(memory_limit="64MB", threads=2))
    for con, expect_one in ((roomy, True), (tight, False)):
        small, large = lines(con, 10_000, "small"), lines(con, 2_000_000, "large")
        assert engine.aggregation_buckets(small, 24) == 1
        many = engine.aggregation_buckets(large, 24)
        assert (many == 1) == expect_one
        # twice the aggregates, about twice the parts; one aggregate, fewer
        assert engine.aggregation_buckets(large, 48) >= many and engine.aggregation_buckets(large, 1) <= many
    with pytest.raises(ValueError, match="at least one aggregate"):
        engine.aggregation_buckets(small, 0)


def test_a_table_without_the_kits_connection_is_never_split():
    t = ibis.memtable({"member_id": list(range(1000))})
    assert engine.aggregation_buckets(t, 10_000) == 1


def test_parts_by_member_equal_one_query():
    con = engine.connect()
    t = lines(con, 50_000, "parts")

    def per_member(x: ibis.Table) -> ibis.Table:
        return x.group_by("member_id").agg(n=x.count(), spend=x.amount.sum(), top=x.amount.max())
    one = engine.by_buckets(t, "member_id", 1, per_member).to_pandas()
    for buckets in (2, 7):
        parts = engine.by_buckets(t, "member_id", buckets, per_member).to_pandas()
        assert len(parts) == 997
        pd.testing.assert_frame_equal(parts.sort_values("member_id").reset_index(drop=True),
                                      one.sort_values("member_id").reset_index(drop=True), check_exact=True)
    with pytest.raises(ValueError, match="at least 1"):
        engine.by_buckets(t, "member_id", 0, per_member)


def test_member_summaries_in_parts_equal_one_query(small_cleaned, monkeypatch):
    """The sample's clean order log (order lines, returns, bulk orders): every member's summary at three
    dates the same to the last bit whether the engine aggregates it at once or in parts."""
    _, _, out = small_cleaned
    con = engine.connect()
    orders = con.read_parquet(out / "clean" / "orders.parquet", table_name="bucket_orders")
    ends = [dt.date(2026, 10, 31), dt.date(2026, 9, 30), dt.date(2025, 10, 31)]

    def frame():
        s = summary.member_summaries(orders, ends, 365).to_pandas()
        return s.sort_values(["end", "member_id"], kind="stable").reset_index(drop=True)
    from memberkit.config import load_settings, notebook_params
    from .conftest import ROOT
    params = notebook_params(load_settings(ROOT, [], []), "rfm_segmentation")
    members = rfm.member_profile(con.read_parquet(out / "clean" / "members.parquet", table_name="bucket_members"))
    whole, at_once = frame(), rfm.member_tables_at(orders, members, ends, params)
    assert engine.aggregation_buckets(orders, 24) == 1
    monkeypatch.setattr(engine, "AGGREGATE_BYTES_PER_ROW", 1e6)   # as if the memory limit were tiny
    assert engine.aggregation_buckets(orders, 24) > 1
    pd.testing.assert_frame_equal(frame(), whole, check_exact=True)
    # and the member tables the RFM report builds from it
    parts = rfm.member_tables_at(orders, members, ends, params)
    for end in ends:
        pd.testing.assert_frame_equal(parts[end][0], at_once[end][0], check_exact=True)
