"""A SQL database as a source: a table or a query read into the engine without pandas.

The engine stays DuckDB or Spark; the database is only read, once per table, every column as text
(the cleaning parses it as it parses a file's):

- **DuckDB** (and any database on Spark other than PostgreSQL): through Ibis' backend for the URL
  (:func:`memberkit.engine.source_database`; PostgreSQL through ``psycopg``, ``pip install
  'memberkit[postgres]'``) as Arrow batches, written to a Parquet file in the run's private staging
  folder that the engine reads.
- **Spark and PostgreSQL**: through Spark's JDBC reader with the PostgreSQL JDBC driver of the
  distribution (Debian's ``libpostgresql-jdbc-java``: ``/usr/share/java/postgresql.jar``;
  ``MEMBERKIT_JDBC_JAR`` names another jar), in one partition, kept once in the session's private
  folder (:func:`memberkit.engine.read_jdbc`). Nothing passes through the notebook's Python.

Row order (``_row``, the row numbers of rejected rows and of the checks' examples):

- a query that ends in ``ORDER BY`` is read in its own order: with a key that orders the rows as the
  export file does, the row numbers are the file's;
- else a declared ``key`` orders the rows;
- else the rows are ordered by every column: the same numbers on every read, but they do not trace back
  to the database (:func:`traces_back` is False; the cleaning report says source row numbers are not
  available).

Times: a ``timestamptz`` column is read as text in UTC ending in ``Z``, and the cleaning converts it,
like text carrying its own zone (``2026-10-01T08:00:00+08:00``), to the shop's time zone
(``time_zone``); a ``timestamp`` without a zone is the shop's wall clock as written.

Errors name their cause (a missing driver, a refused connection, a missing table, a failing query)
and never show the password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from . import engine
from .config import SourceConfig, TableSource, expand_env, scrub_secrets
from .errors import InputError

CHUNK_ROWS = 200_000
JDBC_JAR = "/usr/share/java/postgresql.jar"       # Debian's libpostgresql-jdbc-java
_NO_DRIVER = "the database driver is not installed"


# ------------------------------------------------------------------ row order
def is_bare_table(query: str) -> bool:
    """True when ``query`` names a table (``order_lines``, ``shop.order_lines``) rather than a SELECT."""
    return not query.lstrip().lower().startswith(("select", "with", "("))


def orders_itself(query: str) -> bool:
    """True for a query whose result is ordered by the query itself (a top-level ``ORDER BY``).

    >>> orders_itself("SELECT * FROM lines ORDER BY line_no")
    True
    >>> orders_itself("SELECT * FROM (SELECT * FROM lines ORDER BY line_no) s")
    False
    """
    import sqlglot
    if is_bare_table(query):
        return False
    try:
        parsed = sqlglot.parse_one(query.strip().rstrip(";"), read="postgres")
    except sqlglot.errors.ParseError:
        return bool(re.search(r"\border\s+by\b[^)]*$", query, re.IGNORECASE | re.DOTALL))
    return bool(parsed.args.get("order"))


def row_order(tsrc: TableSource) -> str:
    """How a database table's rows are numbered: ``query`` (its own ORDER BY), ``key`` (the declared
    key) or ``every column`` (a stable order of the kit's, which does not trace back)."""
    if orders_itself(tsrc.query or ""):
        return "query"
    return "key" if tsrc.key else "every column"


def traces_back(tsrc: TableSource) -> bool:
    """True when a table's row numbers (``_row``) find the row in its source: every file, and a database
    table read in an order the database defines (a query ending in ORDER BY, or a declared key)."""
    return tsrc.format != "sql" or row_order(tsrc) != "every column"


def untraced_tables(source: SourceConfig) -> list[str]:
    """The tables of ``source`` whose source row numbers are not available (see :func:`traces_back`)."""
    return [name for name, tsrc in source.tables.items() if not traces_back(tsrc)]


# ------------------------------------------------------------------ reading
def read_database(con, name: str, tsrc: TableSource, source: SourceConfig, staging_dir: Path) -> ibis.Table:
    """One table or query of ``source.database_url`` as an engine table of text columns, in the order
    :func:`row_order` gives (see the module's docstring for the route on each engine).

    Raises ``InputError``: the driver is not installed, the database refuses the connection, it has
    no such table, or the query fails; the message never holds the password.
    """
    url = expand_env(source.database_url)
    if engine.backend(con) == "spark" and _scheme(url) == "postgres":
        return _via_jdbc(con, name, tsrc, url)
    return _via_ibis(con, name, tsrc, url, staging_dir)


def _scheme(url: str) -> str:
    kind = url.partition("://")[0].split("+")[0].lower()
    return {"postgresql": "postgres", "sqlite3": "sqlite"}.get(kind, kind)


def _via_ibis(con, name: str, tsrc: TableSource, url: str, staging_dir: Path) -> ibis.Table:
    hint = "pip install 'memberkit[postgres]'" if _scheme(url) == "postgres" else ""
    try:
        db = engine.source_database(url)
    except (ImportError, ValueError) as e:
        raise InputError("database_url", name, None, _NO_DRIVER,
                         scrub_secrets(_first_line(e), url) + (f"; {hint}" if hint else "")) from None
    except Exception as e:  # noqa: BLE001 - a refused connection, a wrong password, an unknown host
        raise InputError("database_url", name, None, "cannot connect to the database",
                         scrub_secrets(_first_line(e), url)) from None
    query = tsrc.query.strip()
    try:
        if is_bare_table(query):
            schema, _, bare = query.rpartition(".")
            tables = db.list_tables(database=schema) if schema else db.list_tables()
            if bare not in tables:
                raise InputError(query, name, None, "the database has no such table",
                                 f"tables{' in ' + schema if schema else ''}: {', '.join(tables) or 'none'}")
            table = db.table(bare, database=schema) if schema else db.table(bare)
        else:
            table = db.sql(query.rstrip(";"))
        if _scheme(url) == "postgres":     # (as Spark's JDBC route reads it: the same text on both engines)
            table = table.mutate(**{c: table[c].cast("string") for c, kind in table.schema().items()
                                    if not _plain(kind)})
        order = row_order(tsrc)
        if order != "query":
            table = table.order_by([c for c in (tsrc.key or []) if c in table.columns] or list(table.columns))
        batches = db.to_pyarrow_batches(table, chunk_size=CHUNK_ROWS)
        return stage_batches(con, name, batches, staging_dir, label=query)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - the database's own error, scrubbed
        raise InputError(query, name, None, "the database query failed", scrub_secrets(_first_line(e), url)) from None
    finally:
        db.disconnect()


def _plain(kind) -> bool:
    """True for an Ibis type whose values Arrow writes as text as a file has them (text, integers, booleans,
    dates, times); the database writes the others (numbers with decimals, uuid, json, arrays, binary ...) as
    its own text, on either engine (PostgreSQL's ``CAST(... AS VARCHAR)``, binary ``ENCODE(..., 'escape')``)."""
    return kind.is_string() or kind.is_integer() or kind.is_boolean() or kind.is_date() or kind.is_timestamp()


_SPARK_PLAIN = {"string", "tinyint", "smallint", "int", "bigint", "boolean", "date", "timestamp", "timestamp_ntz"}


def _jdbc_text(name: str, kind: str) -> str:
    """A column of a JDBC query as :func:`_plain` reads it through Ibis: plain types as they are, the others as
    the database's text."""
    column = _quoted(name)
    if kind in _SPARK_PLAIN:
        return column
    if kind == "binary":
        return f"ENCODE({column}, 'escape') AS {column}"
    return f"CAST({column} AS VARCHAR) AS {column}"


def as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A database column as text: times with a zone in UTC ending in Z, other values as Arrow writes them."""
    import pyarrow.compute as pc
    kind = column.type
    if pa.types.is_timestamp(kind):
        text = pc.replace_substring_regex(pc.strftime(pc.cast(column, pa.timestamp(kind.unit, "UTC"))
                                                      if kind.tz else column, "%Y-%m-%d %H:%M:%S"), r"\.0+$", "")
        return pc.binary_join_element_wise(text, "Z", "") if kind.tz else text
    return pc.cast(column, pa.string())


def stage_batches(con, name: str, batches: pa.RecordBatchReader, staging_dir: Path, label: str) -> ibis.Table:
    """Arrow batches written as text columns to ``<staging_dir>/<name>.parquet``, read by the engine."""
    target = Path(staging_dir) / f"{name}.parquet"
    schema = pa.schema([(f.name, pa.string()) for f in batches.schema])
    with pq.ParquetWriter(target, schema) as writer:
        for batch in batches:
            writer.write_batch(pa.record_batch([as_text(c) for c in batch.columns], schema=schema))
    return engine.read_table(con, target, f"src_{name}")


# ------------------------------------------------------------------ Spark: JDBC
def jdbc_jar() -> str:
    """The PostgreSQL JDBC driver's jar: ``MEMBERKIT_JDBC_JAR``, else Debian's (:data:`JDBC_JAR`)."""
    return os.environ.get("MEMBERKIT_JDBC_JAR") or JDBC_JAR


def jdbc_settings(url: str) -> tuple[str, dict[str, str]]:
    """A ``postgresql://user:password@host:port/db?sslmode=require`` URL as JDBC's URL (without the user
    and password) and the connection's properties (``user``, ``password``).

    >>> jdbc_settings("postgresql+psycopg://shop:p%40ss@db.internal/shop?sslmode=require")
    ('jdbc:postgresql://db.internal:5432/shop?sslmode=require', {'user': 'shop', 'password': 'p@ss'})
    """
    parts = urlsplit(url)
    database = parts.path.lstrip("/").split("/")[0]
    host = parts.hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
    props = {}
    if parts.username:
        props["user"] = unquote(parts.username)
    if parts.password is not None:
        props["password"] = unquote(parts.password)
    return f"jdbc:postgresql://{host}:{parts.port or 5432}/{database}" + (f"?{query}" if query else ""), props


def _quoted(name: str) -> str:
    import sqlglot.expressions as sge
    parts = [sge.to_identifier(p.strip('"'), quoted=True).sql("postgres") for p in name.split(".")]
    return ".".join(parts)


def _via_jdbc(con, name: str, tsrc: TableSource, url: str) -> ibis.Table:
    jar = jdbc_jar()
    if not Path(jar).is_file():
        raise InputError("database_url", name, None, _NO_DRIVER,
                         f"Spark reads PostgreSQL through its JDBC driver, {jar} is missing: "
                         "apt-get install libpostgresql-jdbc-java (or set MEMBERKIT_JDBC_JAR to the driver's jar)")
    jdbc_url, props = jdbc_settings(url)
    query = tsrc.query.strip().rstrip(";")
    inner = f"SELECT * FROM {_quoted(query)}" if is_bare_table(query) else query
    order = row_order(tsrc)
    try:
        fields = engine.jdbc_schema(con, jdbc_url, inner, props, jar)
        if order != "query" or any(kind not in _SPARK_PLAIN for _, kind in fields):
            # (the same columns and order as through Ibis: other types as the database's text, then ordered)
            inner = f"SELECT {', '.join(_jdbc_text(c, kind) for c, kind in fields)} FROM ({inner}) AS memberkit_q"
            if order == "key":
                inner += f" ORDER BY {', '.join(_quoted(k) for k in tsrc.key)}"
            elif order == "every column":
                inner += f" ORDER BY {', '.join(map(str, range(1, len(fields) + 1)))}"
        return engine.read_jdbc(con, jdbc_url, inner, props, jar, f"src_{name}")
    except Exception as e:  # noqa: BLE001 - the driver's own error, found in Spark's and scrubbed
        raise _jdbc_problem(con, e, name, query, url, jdbc_url, props, jar) from None


def _jdbc_problem(con, e: BaseException, name, query, url, jdbc_url, props, jar) -> InputError:
    text = str(e)
    found = re.search(r"(?:PSQLException|SQLException|ConnectException|UnknownHostException):\s*([^\n]+)", text)
    detail = scrub_secrets((found.group(1) if found else _first_line(e)).strip(), url)
    if re.search(r"Connection to .* refused|password authentication|FATAL|UnknownHost|connection attempt failed",
                 text, re.IGNORECASE):
        return InputError("database_url", name, None, "cannot connect to the database", detail)
    if is_bare_table(query) and re.search(r'relation ".*" does not exist', text):
        try:
            tables = engine.jdbc_rows(con, jdbc_url, "SELECT table_name FROM information_schema.tables WHERE "
                                      "table_schema = ANY (current_schemas(false)) ORDER BY 1", props, jar)
        except Exception:  # noqa: BLE001 - the list is a courtesy
            tables = []
        return InputError(query, name, None, "the database has no such table",
                          f"tables: {', '.join(r['table_name'] for r in tables) or 'none'}")
    return InputError(query, name, None, "the database query failed", detail)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
