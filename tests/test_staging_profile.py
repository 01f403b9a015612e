"""The staging's one profile query per table gives the numbers of one query per rule.

:func:`memberkit.sources.profile_row` computes what each rule needs of a row once, in a
projection under the aggregate, settles plain values by their shape without the full reading, and
profiles the number and date columns over their distinct values, each weighted by its rows.
These tests hold it equal, aggregate by aggregate, to the rules' own aggregates run one query each
(:func:`memberkit.engine.decimal_evidence`, :func:`~memberkit.engine.parses`,
:func:`~memberkit.engine.day_month_evidence`, :func:`~memberkit.engine.float_id_evidence`, the
filled counts and the period's orders), on columns crafted with decimal commas, float ids,
spreadsheet dates, blanks and values only the full reading settles.
"""
import datetime as dt

import ibis
import pandas as pd
import pytest

from memberkit import engine, sources
from memberkit.config import DEFAULT_DATE_FORMATS

AMOUNTS = ["495.92", "-10.44", "+3", "0.00", "12", "007", "1,234.50", "1.234,50", "135,17", "1,234", "¥1,234.50",
           "1234.50元", "RMB 99", "(12.50)", "nan", "inf", "1e5", "12.", ".5", " 42 ", " 4.20", "", "   ", None, "abc",
           "99999999999999999999.99", "1234567890123456.50", "123456789012345.50", "1 234,5", "1'234.50", "+", "-"]
COMMAS = ["135,17", "1.234,50", "12", "", None, "7,5", " 3,25 ", "0,00", "1.234.567", "abc"]
TIMES = ["2026-08-27 20:04:18", "2024/01/01 02:11", "2024-1-1", " 2024-01-01 ", "2026-08-27T20:04:18Z",
         "2026-08-27 20:04:18+08:00", "2026年8月27日 20:04", "2017-01-21 22:11:48.556", "46261.5", "2024-13-01",
         "2024-02-30 10:00", "2026-10-31 23:59:59", "2026-11-02 00:00:00", "2026-10-01", "#VALUE!", "", None,
         "2026-10-15 10:00:00\n"]
DAY_FIRST = ["13/2/2017 10:56", "10/2/2017", " 1/12/2017 ", "2026-10-03 10:00:00", "", None]
UNDECIDED = ["10/2/2017 10:56", "3/4/2017", "2026-10-03 10:00:00"]
FLOAT_IDS = ["14646.0", "14647", " 14648.00 ", "", None]


def _column(values, n):
    return [values[i % len(values)] for i in range(n)]


def _table(columns: dict[str, list]) -> ibis.Table:
    n = max(len(v) for v in columns.values())
    return ibis.memtable({c: _column(v, n) for c, v in columns.items()}, schema={c: "string" for c in columns})


def _one_query_per_rule(table, counted, numbers, times, ids, kinds, formats, decimal, period):
    """The profile's aggregates, each rule's own aggregate run as a query of its own."""
    def run(aggs):
        return table.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    row = run({"rows": table.count()})
    for c in counted:
        row.update(run({f"filled__{c}": engine.blank_to_null(table[c]).notnull().sum()}))
    for c in dict.fromkeys([*numbers, *(c for c in times if period is None or c != "order_ts")]):   # by value
        row.update(run({f"filled__{c}": engine.blank_to_null(table[c]).notnull().sum(),
                        f"values__{c}": table[c].nunique()}))
    for c in numbers:
        if decimal == "auto":
            row.update(run(engine.decimal_evidence(table, c, prefix=f"mark__{c}__")))
        row.update(run({f"parses__{c}": engine.parses(table[c], "number", formats, decimal).cast("int64").sum()}))
    for c in times:
        row.update(run(engine.day_month_evidence(table, c, formats, prefix=f"order__{c}__")))
        row.update(run({f"parses__{c}": engine.parses(table[c], kinds[c], formats).cast("int64").sum()}))
    if period is not None:
        ts = engine.parse_timestamp(table.order_ts, formats)
        start, end, latest = period
        known = ts.notnull() & (ts <= ibis.literal(latest))
        row.update(run(dict(period__first=ts.min(where=known), period__last=ts.max(where=known),
                            period__in=(known & ts.date().between(start, end)).cast("int64").sum())))
    if ids:
        row.update(run(engine.float_id_evidence(table, ids)))
    return row


PERIOD = (dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.datetime(2026, 11, 1, 23, 59, 59))


@pytest.mark.parametrize("decimal", ["auto", ".", ","])
@pytest.mark.parametrize("formats", [[], DEFAULT_DATE_FORMATS, ["%Y-%d-%m %H:%M:%S"]])
def test_the_profile_gives_the_numbers_of_one_query_per_rule(decimal, formats):
    rows = 97   # (every list repeated out of step with the others)
    con = engine.connect()
    table = _table({"order_id": _column(FLOAT_IDS, rows), "member_id": ["M1", "", " M2 ", None],
                    "order_ts": _column(TIMES, rows), "amount": AMOUNTS, "quantity": ["1", "2", "", "3.0", " 4"],
                    "discount": COMMAS, "unit_price": [None], "store_id": ["S1", "S1.5", ""], "coupon_id": ["", " "]})
    con.create_table("profiled", table, overwrite=True)
    table = con.table("profiled")
    args = (["member_id", "order_ts", "amount"], ["amount", "quantity", "discount", "unit_price"], ["order_ts"],
            ["order_id", "member_id", "store_id", "coupon_id"], {"order_ts": "timestamp"}, formats, decimal, PERIOD)
    fused = sources.profile_row(table, *args)
    separate = _one_query_per_rule(table, *args)
    assert fused == separate
    if decimal == "auto":
        assert fused["mark__amount__comma"] is not None and fused["mark__amount__point"] is not None   # mixed
        assert fused["mark__discount__comma"] is not None and fused["mark__discount__point"] is None
    assert engine.decide_float_ids(table, ["order_id", "member_id", "store_id", "coupon_id"], fused) == {"order_id"}


def test_the_profile_of_an_empty_table_is_the_rules():
    # (over no rows a count is 0 but a sum is NULL; over no distinct values too)
    con = engine.connect()
    con.create_table("empty", _table({"order_ts": ["x"], "amount": ["1"], "member_id": ["M1"]}).limit(0),
                     overwrite=True)
    table = con.table("empty")
    args = (["member_id", "amount"], ["amount"], ["order_ts"], ["member_id"], {"order_ts": "timestamp"}, [], "auto",
            PERIOD)
    fused = sources.profile_row(table, *args)
    assert fused == _one_query_per_rule(table, *args)
    assert fused["rows"] == 0 and fused["parses__amount"] is None


@pytest.mark.parametrize("dates", [DAY_FIRST, UNDECIDED, ["2026-10-03", "", None]])
def test_the_spreadsheet_date_evidence_of_the_profile_is_the_rules(dates):
    con = engine.connect()
    table = _table({"join_date": dates, "birth_date": ["1/2/1990", "1990-02-01"], "member_id": ["M1", "M2"]})
    args = (["member_id"], [], ["join_date", "birth_date"], ["member_id"], {"join_date": "date", "birth_date": "date"},
            [], "auto", None)
    fused = sources.profile_row(table, *args)
    assert fused == _one_query_per_rule(table, *args)
    if dates is DAY_FIRST:
        assert engine.decide_day_month("join_date", fused, prefix="order__join_date__") == engine.DAY_FIRST
    if dates is UNDECIDED:
        with pytest.raises(engine.DateOrderError):
            engine.decide_day_month("join_date", fused, prefix="order__join_date__")
    del con


def test_a_number_shape_settles_only_what_the_full_reading_would_settle():
    """Empty and plain digits read under any mark; digits with one or two decimals after a point read
    under '.' and either mark and are a point's evidence; everything else is left to the full reading."""
    con = engine.connect()
    t = ibis.memtable({"a": AMOUNTS}, schema={"a": "string"})
    shape = con.execute(engine.number_shape(t.a).name("s")).tolist()
    for decimal in (".", ",", "auto"):
        full = con.execute(engine.parses(t.a, "number", [], decimal).name("x")).tolist()
        settled = con.execute(engine.parses(t.a, "number", [], decimal, shape=engine.number_shape(t.a)).name("x")).tolist()
        assert settled == full, decimal
    by_value = dict(zip(AMOUNTS, shape))
    assert by_value["495.92"] == engine.NUMBER_POINT and by_value["007"] == engine.NUMBER_DIGITS
    assert by_value["   "] == by_value[""] == by_value[None] == engine.NUMBER_EMPTY
    assert by_value["1234567890123456.50"] == by_value["135,17"] == by_value[" 4.20"] == engine.NUMBER_OTHER \
        or by_value[" 4.20"] == engine.NUMBER_POINT


def test_strip_is_ibis_strip():
    values = [None, "", " ", "a", " a", "a ", "\ta\n", "\r\n", "é ", "\x0bx", "x\x0c", "\u00a0x", "ab", "\x01a",
              "a\x1f", "  中文  ", "!"]
    con = engine.connect()
    t = ibis.memtable({"x": values}, schema={"x": "string"})
    got = con.execute(t.select(a=engine.strip(t.x), b=t.x.strip()))
    assert [None if pd.isna(v) else v for v in got.a] == [None if pd.isna(v) else v for v in got.b]


def test_the_staged_copies_drop_a_dictionary_past_the_limit_and_hold_the_same_table(tmp_path):
    """The staging's Parquet settings (``sources.STAGING_PARQUET``) decide how a column is encoded, never what
    the file holds: a column with 15,000 distinct values in its one row group, which DuckDB's defaults write as a
    dictionary, is written plain; a column of three words keeps its dictionary; the rows read back, numbered,
    are those of the file written with the defaults."""
    import pyarrow.parquet as pq
    con = engine.connect()
    n = 100_000
    t = ibis.memtable({"birth_date": [f"19{(i * 7919) % 15000:05d}" for i in range(n)],
                       "status": [("paid", "refunded", "cancelled")[i % 3] for i in range(n)]})
    default = engine.write_numbered(con, t, tmp_path / "default.parquet")
    staged = engine.write_numbered(con, t, tmp_path / "staged.parquet", duckdb_options=sources.STAGING_PARQUET)

    def encodings(path):
        meta = pq.ParquetFile(path).metadata
        assert meta.num_row_groups == 1
        return {meta.row_group(0).column(i).path_in_schema: set(meta.row_group(0).column(i).encodings)
                for i in range(meta.num_columns)}
    dictionary = {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}
    assert encodings(default)["birth_date"] & dictionary
    assert not encodings(staged)["birth_date"] & dictionary
    assert encodings(staged)["status"] & dictionary
    assert pq.read_table(staged).equals(pq.read_table(default))
    read = [engine.read_numbered(con, p, f"t_{p.stem}").order_by("_row").to_pyarrow() for p in (default, staged)]
    assert read[0].equals(read[1]) and read[1].column("_row").to_pylist() == list(range(1, n + 1))
