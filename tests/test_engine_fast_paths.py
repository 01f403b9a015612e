"""The engine's fast readings of plain text give exactly what the full reading gives.

``parse_timestamp`` and the number readers cast plain text (``2026-08-27 20:04:18``, ``495.92``)
directly and send only the other rows through the regular expressions; these tests hold the
two paths equal on every form the kit reads, so the shortcut can never change a value.
"""
import ibis
import pandas as pd
import pytest

from memberkit import engine
from memberkit.config import DEFAULT_DATE_FORMATS

TIMES = ["2026-08-27 20:04:18", "2024/01/01 02:11", "2024/1/1 2:11", "2024-1-1", "2024-01-01", " 2024-01-01 ",
         "2026-08-27T20:04:18Z", "2026-08-27 20:04:18+08:00", "2026年8月27日 20:04", "2017-01-21 22:11:48.556",
         "46261.5", "10/2/2017 10:56", "2024-13-01", "2024-02-30 10:00", "2024-01-01 25:00", "2024-01-01 10:61",
         "2024-01-01 9:05:07", "2024-03-31 02:30:00", "昨天", "#VALUE!", "", None, "2024-01-01 10:00:00.5",
         # China's summer time, 1986-1991: an hour skipped on 1991-04-14 (and 1988-04-10) at 2:00
         "1991-04-14 02:30:00", "1991/4/14 2:30", "1988-04-10 02:30:00", "1991-04-16 00:00:00", "1991-04-15 23:59:59"]
NUMBERS = ["495.92", "-10.44", "+3", "0.00", "12", "007", "1,234.50", "1.234,50", "135,17", "1,234", "¥1,234.50",
           "1234.50元", "RMB 99", "(12.50)", "nan", "inf", "-inf", "1e5", "12.", ".5", " 42 ", "", None, "abc",
           "99999999999999999999.99", "1 234,5", "1'234.50"]


@pytest.mark.parametrize("formats", [[], DEFAULT_DATE_FORMATS, ["%Y-%d-%m %H:%M:%S", "%Y年%m月%d日 %H:%M"]])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/London", "America/New_York"])
def test_plain_times_read_as_the_full_reading_reads_them(zone, formats):
    con = engine.connect()
    t = ibis.memtable({"ts": TIMES}, schema={"ts": "string"})
    fast = con.execute(engine.parse_timestamp(t.ts, formats, zone).name("x")).tolist()
    full = con.execute(engine._parse_timestamp_normalised(t.ts, formats, zone).name("x")).tolist()
    assert [str(v) for v in fast] == [str(v) for v in full]
    custom = bool(formats) and formats[0].startswith("%Y-%d")
    assert str(fast[0]) == ("NaT" if custom else "2026-08-27 20:04:18")   # (no day 27 of a month 27)
    assert str(fast[1]) == ("NaT" if custom else "2024-01-01 02:11:00")


def test_the_times_after_a_zones_last_skipped_hour_are_taken_as_they_are():
    """IANA's database: China last set its clocks forward on 1991-04-14 (02:00 -> 03:00); London still does each
    March (2024-03-31, 01:00 -> 02:00); UTC never did. A time in a skipped hour is moved on by the engine's
    conversion."""
    import datetime as dt
    assert engine.clocks_unskipped_since("Asia/Shanghai") == dt.datetime(1991, 4, 16)
    assert engine.clocks_unskipped_since("Europe/London") is None
    assert engine.clocks_unskipped_since("UTC") == dt.datetime.min
    con = engine.connect()
    t = ibis.memtable({"ts": ["1991-04-14 02:30:00", "2024-03-31 01:30:00"]}, schema={"ts": "string"})
    shanghai = con.execute(engine.parse_timestamp(t.ts, [], "Asia/Shanghai").name("x")).astype(str).tolist()
    london = con.execute(engine.parse_timestamp(t.ts, [], "Europe/London").name("x")).astype(str).tolist()
    assert shanghai == ["1991-04-14 03:30:00", "2024-03-31 01:30:00"]
    assert london == ["1991-04-14 02:30:00", "2024-03-31 02:30:00"]


@pytest.mark.parametrize("decimal", [".", ","])
def test_plain_numbers_read_as_the_full_reading_reads_them(decimal):
    con = engine.connect()
    t = ibis.memtable({"a": NUMBERS}, schema={"a": "string"})
    fast = [None if pd.isna(v) else v for v in con.execute(engine._number_text(t.a, decimal).name("x"))]
    full = [None if pd.isna(v) else v for v in con.execute(engine._number_text_normalised(t.a, decimal).name("x"))]
    assert fast == full
    assert fast[0] == ("495.92" if decimal == "." else None)


def test_either_mark_reads_what_one_of_the_marks_reads():
    con = engine.connect()
    t = ibis.memtable({"a": NUMBERS}, schema={"a": "string"})
    either = con.execute(engine.parses(t.a, "number", [], "auto").name("x")).tolist()
    point = con.execute(engine.parses(t.a, "number", [], ".").name("x")).tolist()
    comma = con.execute(engine.parses(t.a, "number", [], ",").name("x")).tolist()
    assert either == [p or c for p, c in zip(point, comma)]
    assert not either[NUMBERS.index("abc")]


@pytest.mark.parametrize("formats", [[], DEFAULT_DATE_FORMATS, ["%Y-%d-%m %H:%M:%S", "%Y年%m月%d日 %H:%M"]])
def test_a_time_parses_exactly_where_the_reading_gives_a_time(formats):
    """``parses`` (the checks' and the quality table's test) skips the zone conversion; it is true
    exactly for the empty texts and those ``parse_timestamp`` reads."""
    con = engine.connect()
    t = ibis.memtable({"ts": TIMES}, schema={"ts": "string"})
    ok = con.execute(engine.parses(t.ts, "timestamp", formats).name("x")).tolist()
    read = con.execute(engine.parse_timestamp(t.ts, formats).name("x")).tolist()
    empty = [v is None or not v.strip() for v in TIMES]
    assert ok == [e or not pd.isna(r) for e, r in zip(empty, read)]
    assert ok.count(False) >= 5


BLANKS = [None, "", " ", "\t\n", " a", "a ", "a b", "\u3000a\u3000", "\x01a\x01", "\fx\v", "  \r", "abc", " \t a b \n"]


def test_strip_trims_exactly_what_the_full_trim_trims():
    """``engine.strip`` trims only values with a blank at an edge; the result is ``strip()``'s on every value."""
    con = engine.connect()
    t = ibis.memtable({"v": BLANKS}, schema={"v": "string"})
    fast = con.execute(engine.strip(t.v).name("x")).tolist()
    full = con.execute(t.v.strip().name("x")).tolist()
    assert [None if pd.isna(v) else v for v in fast] == [None if pd.isna(v) else v for v in full]
    assert fast[BLANKS.index(" \t a b \n")] == "a b"


def test_blank_to_null_is_the_stripped_text_or_null_and_writes_it_once():
    """NULLIF(stripped, '') gives what CASE WHEN stripped = '' THEN NULL ELSE stripped END gave, value for
    value, with the stripped text once in the SQL (the staging profile's query was 216,000 characters)."""
    con = engine.connect()
    t = ibis.memtable({"v": BLANKS}, schema={"v": "string"})
    text = engine.strip(t.v)
    case = con.execute(ibis.ifelse(text == "", ibis.null("string"), text).name("x")).tolist()
    got = con.execute(engine.blank_to_null(t.v).name("x")).tolist()
    assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in case]
    assert [pd.isna(v) for v in got] == [v is None or not v.strip(" \t\n\r\v\f") for v in BLANKS]
    assert ibis.to_sql(engine.blank_to_null(t.v), dialect="duckdb").count("TRIM(") == 1


def test_the_quality_table_counts_as_missing_the_empty_and_blank_values():
    from memberkit import clean
    from memberkit.schema import CANONICAL
    columns = {c: BLANKS if c == "store_id" else ["x"] * len(BLANKS) for c in CANONICAL["orders"]}
    t = ibis.memtable(pd.DataFrame(columns), schema={c: "string" for c in columns})
    q = clean.quality_scorecard({"orders": t}, [], 0).set_index("column")
    blank = [v is None or not v.strip(" \t\n\r\v\f") for v in BLANKS]
    assert q.loc["store_id", "missing"] == sum(blank) == 5 and q.loc["order_id", "missing"] == 0


def test_a_reading_by_value_gives_every_row_what_the_row_by_row_reading_gives():
    """engine.by_value: each row, repeated values and NULL included, gets fn of its value, joined back."""
    con = engine.connect()
    values = TIMES * 3 + [None, "2024-01-01", " 2024-01-01 "]
    t = ibis.memtable({"ts": values, "i": list(range(len(values)))}, schema={"ts": "string", "i": "int64"})
    read = lambda v: engine.parse_timestamp(v, DEFAULT_DATE_FORMATS, "Europe/London").date()   # noqa: E731
    by_row = con.execute(t.mutate(d=read(t.ts)).order_by("i"))
    by_value = con.execute(engine.by_value(t, "ts", "d", read).order_by("i"))
    assert list(by_value.columns) == ["ts", "i", "d"]
    assert len(by_value) == len(values)
    assert by_value.i.tolist() == by_row.i.tolist()
    assert [str(v) for v in by_value.d] == [str(v) for v in by_row.d]
    # fn of NULL is kept for NULL rows (a NULL-safe join), not dropped to NULL by the join
    flagged = con.execute(engine.by_value(t, "ts", "n", lambda v: v.isnull()).order_by("i"))
    assert flagged.n.tolist() == [v is None for v in values]


def _lines(con, rows, name):
    """A kept table of ``(_source, _row, value)`` rows in the given order (a kept table keeps its order)."""
    t = ibis.memtable(pd.DataFrame(rows, columns=["_source", "_row", name]))
    return engine.keep(con, f"beside_{name}", t)


def test_beside_sets_rows_in_the_same_order_side_by_side_and_a_filter_keeps_that_order():
    con = engine.connect()
    n = 5000      # several of the engine's vectors, so the threads each take a part
    keys = [("a.csv", i) for i in range(1, n + 1)] + [("b.csv", i) for i in range(1, 3)]
    left = _lines(con, [(s, r, f"L{s}{r}") for s, r in keys], "lv")
    right = _lines(con, [(s, r, f"R{s}{r}") for s, r in keys], "rv")
    both, in_order = engine.beside(con, left, right)
    assert in_order and both.columns == ("_source", "_row", "lv", "rv")
    got = con.to_pyarrow(both.filter(both._row % 7 != 3)).to_pylist()
    assert [(g["_source"], g["_row"]) for g in got] == [k for k in keys if k[1] % 7 != 3]
    assert all(g["lv"] == "L" + g["_source"] + str(g["_row"]) and g["rv"] == "R" + g["_source"] + str(g["_row"])
               for g in got)


@pytest.mark.parametrize("change", ["shuffled", "one row less", "other source"])
def test_beside_joins_by_the_keys_when_the_rows_are_not_in_the_same_order(change):
    con = engine.connect()
    keys = [("a.csv", i) for i in range(1, 2001)]
    other = list(reversed(keys)) if change == "shuffled" else keys[:-1] if change == "one row less" else \
        [("b.csv", r) for _, r in keys]
    left = _lines(con, [(s, r, f"L{s}{r}") for s, r in keys], "lv")
    right = _lines(con, [(s, r, f"R{s}{r}") for s, r in other], "rv")
    both, in_order = engine.beside(con, left, right)
    assert not in_order and both.columns == ("_source", "_row", "lv", "rv")
    got = sorted(((g["_source"], g["_row"], g["lv"], g["rv"]) for g in con.to_pyarrow(both).to_pylist()))
    assert got == sorted((s, r, f"L{s}{r}", f"R{s}{r}") for s, r in set(keys) & set(other))
