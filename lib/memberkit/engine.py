"""The transaction-scale engine: an Ibis connection (embedded DuckDB by default).

Everything that touches the order log is an Ibis expression built on a connection from
here, so the same code can run on another Ibis backend. The few things Ibis does not
express portably (parsing text with a list of date formats) are defined once here.

Example
-------
>>> con = connect()
>>> t = ibis.memtable({"x": ["1.5", "abc", None]})
>>> con.execute(parses(t.x, "number", []).name("ok")).tolist()
[True, False, True]
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.datatypes as dt


def connect(database: str | Path | None = None, threads: int | None = None):
    """An embedded DuckDB connection; ``database`` is a file path or None for in-memory."""
    con = ibis.duckdb.connect(str(database) if database else ":memory:")
    if threads:
        con.raw_sql(f"SET threads = {int(threads)}")
    return con


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime(value: str, fmt: str) -> dt.timestamp:
    """DuckDB's strptime that gives NULL instead of raising on text it cannot parse."""


def parse_timestamp(col: ibis.Value, formats: list[str]) -> ibis.Value:
    """Text -> timestamp, trying each format in turn; NULL when none fits."""
    text = col.strip()
    text = ibis.ifelse(text == "", ibis.null("string"), text)
    return ibis.coalesce(*[_try_strptime(text, f) for f in formats]) if formats else text.try_cast("timestamp")


def parse_number(col: ibis.Value) -> ibis.Value:
    """Text -> float64, accepting thousands separators; NULL when it is not a number."""
    text = col.strip().replace(",", "")
    return ibis.ifelse(text == "", ibis.null("float64"), text.try_cast("float64"))


def blank_to_null(col: ibis.Value) -> ibis.Value:
    text = col.strip()
    return ibis.ifelse(text == "", ibis.null("string"), text)


def parses(col: ibis.Value, kind: str, date_formats: list[str]) -> ibis.Value:
    """True where the text is empty or parses as ``kind`` (number, timestamp or date)."""
    empty = col.isnull() | (col.strip() == "")
    if kind == "number":
        return empty | parse_number(col).notnull()
    return empty | parse_timestamp(col, date_formats).notnull()
