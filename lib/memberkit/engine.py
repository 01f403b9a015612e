"""The transaction-scale engine: an Ibis connection (embedded DuckDB by default), and the one parser.

Everything that touches the order log is an Ibis expression built on a connection from
here, so the same code can run on another Ibis backend. The few things Ibis does not
express portably (parsing text with a list of date formats, time zones) are defined once
here, and so is every rule for reading text as a time, a number, money or an id. The
cleaning (``memberkit.clean``) and the input checks (``memberkit.sources``) use only these.

Forms read by default
---------------------
- times: ISO 8601 with ``T`` or a space, with or without fractional seconds, with a zone
  (``Z``, ``+08:00``, ``+0800``, ``UTC``) or without; Chinese dates (``2026年8月27日 20:04``);
  Excel serial day numbers (``46261.5``); plus every format of the table's ``date_formats``.
  Spreadsheet dates (``10/2/2017 10:56``) are read day first or month first as the column's
  values decide (:func:`day_month_order`; the sources rewrite them year first on reading).
  A zoned time is converted to the business time zone; a naive one is taken as local.
- numbers and money: a currency sign or word (``¥ ￥ $ € £ 元 RMB CNY USD ...``), thousands
  separators, accounting parentheses for a negative; a decimal comma when the column uses
  one (:func:`decimal_mark` decides per column). ``nan`` and ``inf`` parse, so the cleaning can
  reject them by name (:func:`is_finite`).
- ids: text, with a spreadsheet's ``.0`` removed from a column of float-like ids.

Example
-------
>>> con = connect()
>>> t = ibis.memtable({"x": ["1.5", "abc", None]})
>>> con.execute(parses(t.x, "number", []).name("ok")).tolist()
[True, False, True]
>>> t = ibis.memtable({"ts": ["2026-08-27T20:04:18Z", "2026年8月27日 20:04", "2017-01-21 22:11:48.556"]})
>>> [str(v) for v in con.execute(parse_timestamp(t.ts, [], "Asia/Shanghai").name("t"))]
['2026-08-28 04:04:18', '2026-08-27 20:04:00', '2017-01-21 22:11:48.556000']
>>> t = ibis.memtable({"a": ["¥1,234.50", "1234.50元", "RMB 99"]})
>>> [str(v) for v in con.execute(parse_money(t.a, 2).name("m"))]
['1234.50', '1234.50', '99.00']
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import os
import sys
import threading
from pathlib import Path

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.datashape as ds
import ibis.expr.operations as ops
import ibis.expr.rules as rlz
import sqlglot.expressions as sge
from ibis.common.typing import VarTuple

from .schema import MIN_PARSEABLE_SHARE

DEFAULT_TIME_ZONE = "Asia/Shanghai"
_CURRENCY = r"(?i)(US\$|HK\$|R\$|RMB|CNY|USD|GBP|EUR|JPY|HKD|BRL|[¥￥$€£元円])"
_BLANKS = r"[\s\x{00A0}\x{202F}']"


def connect(setting=None, database: str | Path | None = None):
    """The one place a connection is made: an Ibis connection built from the engine setting.

    ``setting`` is the validated :class:`memberkit.config.EngineSettings` (a report's
    ``params.engine``, or :attr:`memberkit.runfile.RunFile.engine` for the run's); None means its
    defaults. ``database`` is a DuckDB file path, or None for in-memory (the kit's use).

    DuckDB (the default): the connection gets the setting's ``memory_limit`` (per process),
    ``threads`` (when None: the environment's ``MEMBERKIT_THREADS`` when set, else DuckDB's own, one
    per core) and a private spill folder ``memberkit-engine-<pid>-*`` (mode 0700) made inside
    ``temp_directory`` (None: the system temp folder), never in outputs/ or the working folder:
    spilled rows hold personal data. The folder is removed when the connection is garbage-collected
    or the process ends; one left by a killed process is removed by the next connection made there.

    Spark (:func:`connect_spark`): a session of its own per call (temporary views are not shared),
    on one Spark context per process. Results do not depend on any of it.

    Raises ``ValueError`` for another backend (the setting's validation refuses it first), or for
    spark without pyspark installed, and ``OSError`` when ``temp_directory`` cannot hold a folder.
    """
    from .config import EngineSettings
    from .scratch import private_temp_dir
    setting = setting if setting is not None else EngineSettings()
    if setting.backend == "spark":
        return count_queries(connect_spark(setting))
    if setting.backend != "duckdb":
        raise ValueError(f"backend {setting.backend!r} is not supported yet; supported: duckdb, spark")
    con = ibis.duckdb.connect(str(database) if database else ":memory:")
    spill = private_temp_dir("engine", setting.temp_directory)
    con._memberkit_spill = spill          # lives as long as the connection (and its tables)
    con.raw_sql("SET temp_directory = '{}'".format(spill.name.replace("'", "''")))
    # a query longer than two seconds would draw a bar into the executed notebook and the run's log
    try:
        con.raw_sql("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass   # inside a Jupyter kernel without ipywidgets DuckDB refuses any progress setting (and draws no widget)
    if setting.memory_limit:
        con.raw_sql(f"SET memory_limit = '{setting.memory_limit}'")   # validated: an amount or a share
    threads = setting.threads or os.environ.get("MEMBERKIT_THREADS")
    if threads:
        con.raw_sql(f"SET threads = {int(threads)}")
    [(limit, threads)] = con.raw_sql("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()
    con._memberkit_memory = (duckdb_amount(limit), int(threads))   # what DuckDB made of the setting
    return count_queries(con)       # (the settings above are not counted: every connection sends them)


_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def duckdb_amount(text: str) -> int:
    """Bytes in an amount as DuckDB shows its settings ("953.6 MiB", "1.0 GiB", "500 bytes").

    Raises ``ValueError`` for text of another form."""
    import re
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not an amount of memory: {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


_BUCKETED = itertools.count(1)   # names of the tables by_buckets keeps

#: Bytes of engine memory a hash aggregation needs per input row and aggregate, per thread, beyond
#: which DuckDB (2.0) fails with "Out of Memory" instead of spilling: each thread's hash table keeps
#: its rows' aggregate states until the end of its input. Measured on the per-member summary at three
#: dates (24 aggregates, 2 threads) with a 1 GB limit: over 33.5 million order lines (10 million
#: members) it failed, about 0.62 bytes; over half of them it completed, 1.24 bytes. Twice the failing
#: figure, against three quarters of the limit (the rest is for what else the connection holds).
AGGREGATE_BYTES_PER_ROW = 1.25


def aggregation_buckets(table: ibis.Table, aggregates: int) -> int:
    """How many parts a hash aggregation of ``table``'s rows with ``aggregates`` aggregate columns is split
    into (by a hash of its group key, :func:`by_buckets`) so each part fits the engine's memory limit.

    1 on Spark, whose shuffles spill, and on DuckDB while the rows' states fit in three quarters of the
    memory limit (:data:`AGGREGATE_BYTES_PER_ROW` per row, aggregate and thread); otherwise enough parts
    for each to fit (at 10 million members and a 1 GB limit, 3 for the member summary at three dates). Counting the rows costs one engine query.
    Raises ``ValueError`` when ``aggregates`` is below 1.
    """
    if aggregates < 1:
        raise ValueError(f"an aggregation has at least one aggregate, got {aggregates}")
    con = table._find_backend(use_default=True)
    memory = getattr(con, "_memberkit_memory", None)
    if backend(con) == "spark" or memory is None:
        return 1
    limit, threads = memory
    rows = int(table.count().to_pyarrow().as_py())
    need = rows * aggregates * AGGREGATE_BYTES_PER_ROW * threads
    return max(1, -(-int(need) // max(1, limit * 3 // 4)))


def by_buckets(table: ibis.Table, key: str, buckets: int, build) -> ibis.Table:
    """``build(table)`` computed on each of ``buckets`` parts of ``table`` (rows split by a hash of ``key``,
    so a key's rows are all in one part), one query per part, and the parts' rows kept together in a
    table of this connection: equal to ``build(table)`` when ``build`` groups by ``key`` (or a finer key)
    and keeps one row per group. ``buckets`` 1 is ``build(table)`` itself, a query not yet sent.

    For a hash aggregation that would need more engine memory than the limit in one query
    (:func:`aggregation_buckets`); the parts run one after the other (as branches of one ``UNION ALL``
    DuckDB runs them at once, and the memory is the same). The kept table lives as long as the
    connection (DuckDB writes it to the spill folder when memory runs short). Raises ``ValueError``
    for ``buckets`` below 1.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    if buckets == 1:
        return build(table)
    con = table._find_backend()
    part = (table[key].hash() % buckets).abs()
    name = f"_memberkit_buckets_{next(_BUCKETED)}"
    kept = con.create_table(name, build(table.filter(part == 0)), temp=True)
    for i in range(1, buckets):
        con.insert(name, build(table.filter(part == i)))
    return kept


def second_connection(con):
    """Another connection to ``con``'s DuckDB database, for work in a second thread at the same time as
    ``con``'s (DuckDB's ``cursor``: the same database, memory limit, threads and spill folder; queries
    counted as ``con``'s are). None on Spark, whose session is not shared between threads here.

    A connection serves one thread at a time. Tables kept by :func:`keep` and staged files read by
    :func:`read_numbered` belong to the database, so either connection runs an expression over them
    (:func:`shared`); a table another reader read (a temporary view, an in-memory table) belongs to its
    connection alone (read it again through the other to use it there). DuckDB runs the two connections' queries at
    once on its one pool of threads, so a query that leaves a core idle (a single-threaded step, the
    Python around it) lends it to the other's.
    """
    if backend(con) == "spark":
        return None
    other = ibis.duckdb.from_connection(con.con.cursor())   # (Ibis sets the session's zone to UTC, as connect does)
    other._memberkit_spill = getattr(con, "_memberkit_spill", None)   # kept alive while either is used
    return count_queries(other)


def shared(con, expr: ibis.Expr) -> bool:
    """True when a :func:`second_connection` of ``con`` can run ``expr``: DuckDB, and every table ``expr`` reads
    is one of the database every connection sees (a table kept by :func:`keep`, a staged file read by
    :func:`read_numbered`), none of ``con``'s own (a temporary view, an in-memory table)."""
    if backend(con) == "spark":
        return False
    op = expr.op()
    if op.find(ops.InMemoryTable) or op.find(ops.SQLQueryResult):
        return False
    names = {t.name for t in op.find(ops.DatabaseTable)}
    seen = {r[0] for r in con.con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main'").fetchall()}
    return names <= seen


# ------------------------------------------------------------------ counting the engine's queries
# What each report costs the engine in round trips: on DuckDB a query is cheap, on Spark each is a job
# with its own planning and scheduling, so the count explains much of a report's time there.
_FETCH = ("execute", "to_pyarrow", "to_pyarrow_batches", "to_pandas", "to_pandas_batches", "to_polars")
# (Table.cache() reaches the backend's _create_cached_table: create_table on DuckDB, a cached Spark view on Spark)
_WRITE = ("to_parquet", "to_parquet_dir", "to_csv", "create_table", "create_view", "insert", "_create_cached_table")
_OTHER = ("raw_sql", "read_parquet", "read_csv", "drop_table", "drop_view", "_drop_cached_table")
_QUERIES = {"fetches": 0, "writes": 0, "other": 0}
_COUNTING = threading.local()           # depth of counted calls in this thread: an inner call is not counted again
_COUNT_LOCK = threading.Lock()


def count_queries(con):
    """``con`` with every query sent through it counted in this process's tally (:func:`queries`); returns ``con``.

    Counted: each call of the connection's methods that sends work to the engine, once however many of
    its own methods Ibis calls inside it (``to_pyarrow`` on Spark runs ``execute``, which runs ``raw_sql``):
    results brought back (``execute``, ``to_pyarrow``, ``to_pyarrow_batches``, ``to_pandas`` ...: *fetches*),
    tables and files made (``create_table``, ``create_view``, ``to_parquet``, ``Table.cache()`` ...: *writes*), and the rest
    (``raw_sql``, ``read_parquet``, ``read_csv``, ``drop_table``: *other*), whether called on the connection
    or on an expression of its tables (``t.to_pyarrow()`` finds this connection). Spark work the kit sends
    through the session itself is counted where it is sent (:func:`count_query`). The count depends only on
    the code path and the data, never on timing: the same run counts the same. About a microsecond per call.
    """
    for kind, names in (("fetches", _FETCH), ("writes", _WRITE), ("other", _OTHER)):
        for name in names:
            method = getattr(con, name, None)
            if method is not None and not getattr(method, "_memberkit_counted", False):
                setattr(con, name, _counted(method, kind))
    return con


def _counted(method, kind: str):
    import functools

    @functools.wraps(method)
    def call(*args, **kwargs):
        depth = getattr(_COUNTING, "depth", 0)
        if depth == 0:
            count_query(kind)
        _COUNTING.depth = depth + 1
        try:
            return method(*args, **kwargs)
        finally:
            _COUNTING.depth = depth
    call._memberkit_counted = True
    return call


def count_query(kind: str = "fetches") -> None:
    """Count one query of ``kind`` (``fetches``, ``writes`` or ``other``) sent outside a counted method."""
    if getattr(_COUNTING, "depth", 0) == 0:
        with _COUNT_LOCK:
            _QUERIES[kind] += 1


def queries() -> dict[str, int]:
    """This process's engine queries so far: ``{"queries": total, "fetches": n, "writes": n, "other": n}``
    (every connection made by :func:`connect`; a report's kernel is a process of its own, so in a report
    this is the report's count). Subtract two readings for a step's count."""
    with _COUNT_LOCK:
        return {"queries": sum(_QUERIES.values()), **_QUERIES}


def queries_since(before: dict[str, int]) -> dict[str, int]:
    """The queries counted since ``before`` (a reading of :func:`queries`)."""
    return {k: v - before.get(k, 0) for k, v in queries().items()}


_SPARK: dict = {}     # this process's Spark context: {"session", "folder", "key"}
# The SQL settings the kit's expressions rely on, set on a local session and on a Spark Connect session alike
_SESSION_SQL = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false",
                # a text no pattern reads is NULL, never Spark 2's reading of it or an upgrade error
                "spark.sql.legacy.timeParserPolicy": "CORRECTED",
                "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}


def connect_spark(setting):
    """An Ibis pyspark connection on a new session of this process's Spark context (made on first use).

    Local by default: ``local[threads]`` (``threads`` None: ``MEMBERKIT_THREADS``, else every core),
    the driver's heap from ``memory_limit`` when it is an amount. ``spark_master`` runs the same on a
    cluster; ``spark_remote`` (``sc://host:15002``) talks to a Spark Connect server instead of starting
    a context here. Everything Spark writes on this machine (the SQL warehouse, shuffle and spill
    files, the JVM's temp files) goes into one private folder ``memberkit-engine-<pid>-*`` (mode 0700)
    inside ``temp_directory``, removed when the process ends; the kit itself creates only temporary
    views, so nothing lands in ``./spark-warehouse``. The session's time zone is UTC: the kit's
    timestamps are wall-clock times in the shop's zone, and UTC leaves them unshifted.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ValueError("backend 'spark' needs pyspark: pip install 'memberkit[spark]'") from None
    import atexit
    from .scratch import private_temp_dir
    key = (setting.spark_master, setting.spark_remote, setting.threads, setting.memory_limit, setting.temp_directory)
    if _SPARK and _SPARK["key"] != key:
        raise ValueError("one Spark setting per process: this process already runs Spark with other settings")
    if not _SPARK:
        if setting.spark_remote:
            root = SparkSession.builder.remote(setting.spark_remote).getOrCreate()
            for name, value in _SESSION_SQL.items():    # the server's defaults may differ: the kit's own, per session
                root.conf.set(name, value)
            folder = None
        else:
            folder = private_temp_dir("engine", setting.temp_directory)
            where = Path(folder.name)
            threads = setting.threads or os.environ.get("MEMBERKIT_THREADS") or "*"
            builder = (SparkSession.builder.master(setting.spark_master or f"local[{threads}]").appName("memberkit")
                       .config("spark.sql.warehouse.dir", str(where / "warehouse"))
                       .config("spark.local.dir", str(where / "local"))
                       .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={where}")
                       # Python workers run this interpreter; small frames go in and out through Arrow
                       .config("spark.pyspark.python", sys.executable)
                       .config("spark.pyspark.driver.python", sys.executable)
                       .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.codegen.wholeStage", "false"))
            for name, value in _SESSION_SQL.items():
                builder = builder.config(name, value)
            if not setting.spark_master:
                builder = builder.config("spark.sql.shuffle.partitions", str(_shuffle_partitions(threads)))
                if setting.memory_limit and not setting.memory_limit.endswith("%"):
                    builder = builder.config("spark.driver.memory", _jvm_amount(setting.memory_limit))
            # Python RDD workers (pyspark's createDataFrame without Arrow, for one) run PYSPARK_PYTHON, else
            # "python3" from PATH, whatever spark.pyspark.python says: this interpreter, with its packages
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            root = builder.getOrCreate()
            root.sparkContext.setLogLevel("ERROR")
        _SPARK.update(session=root, folder=folder, key=key)
        atexit.register(_stop_spark)
    session = _SPARK["session"]
    con = ibis.pyspark.connect(session if setting.spark_remote else session.newSession())
    con._memberkit_spill = _SPARK["folder"]
    return con


def _stop_spark():
    if _SPARK:
        try:
            _SPARK["session"].stop()
        finally:
            if _SPARK.get("folder") is not None:
                _SPARK["folder"].cleanup()
            _SPARK.clear()


def _shuffle_partitions(threads) -> int:
    """Partitions after a shuffle on a local session: a few per core, not Spark's 200 (each a task)."""
    cores = (os.cpu_count() or 1) if threads == "*" else int(threads)
    return max(2, 2 * cores)


def _jvm_amount(amount: str) -> str:
    """``1GB`` / ``1500MB`` / ``2GiB`` -> a JVM heap size (``1024m``)."""
    import re
    number, unit = re.match(r"^([\d.]+)([A-Za-z]+)$", amount).groups()
    factor = {"B": 1 / 2**20, "KB": 1e3 / 2**20, "MB": 1e6 / 2**20, "GB": 1e9 / 2**20, "TB": 1e12 / 2**20,
              "KIB": 1 / 1024, "MIB": 1, "GIB": 1024, "TIB": 1024 ** 2}[unit.upper()]
    return f"{max(64, int(float(number) * factor))}m"


def source_database(url: str):
    """An Ibis connection to a source database (never the engine), from a SQLAlchemy-style URL.

    ``sqlite:///file.db`` (relative) and ``sqlite:////abs/file.db``; ``postgresql://user:pw@host:5432/db``
    (``postgresql+driver://`` too) through Ibis' postgres backend (``pip install 'ibis-framework[postgres]'``);
    other schemes as :func:`ibis.connect` knows them. Raises ``ImportError`` when the backend's driver is
    missing and ``ValueError`` for a scheme Ibis has no backend for.
    """
    scheme, sep, rest = url.partition("://")
    kind = scheme.split("+")[0].lower()
    kind = {"postgresql": "postgres", "sqlite3": "sqlite"}.get(kind, kind)
    if not sep:
        raise ValueError(f"not a database URL (scheme://...): {scheme[:20]!r}")
    if kind == "sqlite":
        return ibis.sqlite.connect(rest[1:] if rest.startswith("/") else (rest or ":memory:"))
    if kind not in {e.name for e in ibis.util.backend_entry_points()}:
        raise ValueError(f"no Ibis backend for {kind!r}")
    return ibis.connect(f"{kind}://{rest}")


def _jdbc_reader(con, jdbc_url: str, query: str, props: dict, jar: str):
    """Spark's JDBC reader for ``query`` on a PostgreSQL database, the driver's ``jar`` added to the session."""
    session = con._session
    added = _SPARK.setdefault("jars", set())
    if (jar, id(session)) not in added:
        session.sql(f"ADD JAR '{jar}'")          # (the session was started without it)
        added.add((jar, id(session)))
    reader = (session.read.format("jdbc").option("url", jdbc_url).option("driver", "org.postgresql.Driver")
              .option("query", query).option("fetchsize", "10000").option("preferTimestampNTZ", "true"))
    for key, value in props.items():
        reader = reader.option(key, value)
    return reader.load()


def jdbc_schema(con, jdbc_url: str, query: str, props: dict, jar: str) -> list[tuple[str, str]]:
    """``query``'s columns on the database and their Spark types (``int``, ``decimal(38,18)``, ``binary`` ...);
    Spark asks the database for the result's schema only."""
    count_query("other")
    return [(f.name, f.dataType.simpleString()) for f in _jdbc_reader(con, jdbc_url, query, props, jar).schema.fields]


def jdbc_rows(con, jdbc_url: str, query: str, props: dict, jar: str) -> list[dict]:
    """A small query's rows, through the session's JDBC reader."""
    count_query("fetches")
    return [row.asDict() for row in _jdbc_reader(con, jdbc_url, query, props, jar).collect()]


def read_jdbc(con, jdbc_url: str, query: str, props: dict, jar: str, table_name: str) -> ibis.Table:
    """A PostgreSQL query read by Spark through JDBC into a kept table (:func:`keep`) of text columns, in
    the query's order (one partition: the rows as the database sends them).

    ``timestamptz`` (Spark's timestamp) becomes its UTC time ending in ``Z``, ``timestamp`` (read as
    timestamp_ntz) its wall clock, both without zeros after the seconds; other types their Spark text.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
    df = _jdbc_reader(con, jdbc_url, query, props, jar)
    columns = []
    for field in df.schema.fields:
        col = F.col(f"`{field.name.replace('`', '``')}`")
        if isinstance(field.dataType, T.TimestampType):
            # the offset of the session's zone (Z under the kit's UTC): the instant whatever the session's zone
            text = F.regexp_replace(F.date_format(col, "yyyy-MM-dd HH:mm:ss.SSSSSSXXX"), r"\.0+(?=Z|[+-]\d)", "")
        elif isinstance(field.dataType, T.TimestampNTZType):
            text = F.regexp_replace(F.date_format(col, "yyyy-MM-dd HH:mm:ss.SSSSSS"), r"\.0+$", "")
        else:
            text = col.cast("string")
        columns.append(text.alias(field.name))
    df.select(*columns).createOrReplaceTempView(f"{table_name}_jdbc")
    return keep(con, table_name, con.table(f"{table_name}_jdbc"))


def backend(con) -> str:
    """``duckdb`` or ``spark``: the backend of a connection made by :func:`connect`."""
    return "spark" if con.name == "pyspark" else con.name


# ------------------------------------------------------------------ the backend-specific pieces
# Each is an Ibis operation of the kit's own, compiled by each backend's compiler to its own function:
# the expressions stay backend-neutral and are written once.
class _StrptimeAny(ops.Value):
    """Text -> timestamp with the first of ``formats`` (strptime codes) that reads it; NULL when none does."""
    arg: ops.Value[dt.String]
    formats: VarTuple[str]
    dtype = dt.timestamp
    shape = rlz.shape_like("arg")


class _AsUTC(ops.Value):
    """A wall-clock time in ``zone`` -> the instant (UTC)."""
    zone: ops.Value[dt.String]
    arg: ops.Value[dt.Timestamp]
    dtype = dt.Timestamp(timezone="UTC")
    shape = rlz.shape_like("args")


class _WallClock(ops.Value):
    """An instant (UTC) -> the wall-clock time in ``zone``."""
    zone: ops.Value[dt.String]
    arg: ops.Value[dt.Timestamp]
    dtype = dt.timestamp
    shape = rlz.shape_like("args")


class _RowHash(ops.Value):
    """A 64-bit hash of texts (DuckDB's hash, Spark's xxhash64: Spark's own hash() has 32 bits)."""
    args: VarTuple[ops.Value[dt.String]]
    dtype = dt.int64
    shape = rlz.shape_like("args")


class _Lookup(ops.Value):
    """``dict(zip(keys, values))[arg]``: NULL for a key not among ``keys`` (or NULL)."""
    arg: ops.Value[dt.String]
    keys: VarTuple[str]
    values: VarTuple[str]
    dtype = dt.string
    shape = rlz.shape_like("arg")


class _FileOrder(ops.Value):
    """Spark's monotonically_increasing_id(): partition index << 33 | row within the partition."""
    dtype = dt.int64
    shape = ds.columnar


def _compile_duckdb():
    from ibis.backends.sql.compilers.duckdb import DuckDBCompiler as C
    C.visit__StrptimeAny = lambda self, op, *, arg, formats: self.f.try_strptime(
        arg, sge.Array(expressions=[sge.convert(f) for f in formats]))
    C.visit__AsUTC = lambda self, op, *, zone, arg: self.f.timezone(zone, arg)
    C.visit__WallClock = lambda self, op, *, zone, arg: self.f.timezone(zone, arg)
    C.visit__RowHash = lambda self, op, *, args: self.f.hash(*args)
    C.visit__FileOrder = lambda self, op: self.f.row_number()   # (unused: DuckDB numbers rows in the read)
    # a map's [] is NULL for a missing key; Ibis' own map lookup wraps it in NULL tests that cost
    # twice the lookup's time on every row
    C.visit__Lookup = lambda self, op, *, arg, keys, values: sge.Bracket(
        this=self.f.map(sge.Array(expressions=[sge.convert(k) for k in keys]),
                        sge.Array(expressions=[sge.convert(v) for v in values])), expressions=[arg])


def _compile_spark():
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler as C

    def strptime(self, op, *, arg, formats):
        tried = [self.f.try_to_timestamp(arg, sge.convert(spark_pattern(f))) for f in formats]
        return tried[0] if len(tried) == 1 else self.f.coalesce(*tried)
    C.visit__StrptimeAny = strptime
    C.visit__AsUTC = lambda self, op, *, zone, arg: self.f.to_utc_timestamp(arg, zone)
    C.visit__WallClock = lambda self, op, *, zone, arg: self.f.from_utc_timestamp(arg, zone)
    C.visit__RowHash = lambda self, op, *, args: self.f.xxhash64(*args)
    C.visit__FileOrder = lambda self, op: self.f.monotonically_increasing_id()

    def lookup(self, op, *, arg, keys, values):
        m = self.f.map_from_arrays(self.f.array(*map(sge.convert, keys)), self.f.array(*map(sge.convert, values)))
        return self.if_(self.f.map_contains_key(m, arg), sge.Bracket(this=m, expressions=[arg]), sge.Null())
    C.visit__Lookup = lookup

    def regex_replace(self, op, *, arg, pattern, replacement):
        # the kit writes group references as \1 (DuckDB's and Python's form); Java's regexp_replace reads $1
        if isinstance(op.replacement, ops.Literal):
            replacement = sge.convert(java_replacement(op.replacement.value))
        return self.f.regexp_replace(arg, pattern, replacement)
    C.visit_RegexReplace = regex_replace


def java_replacement(text: str) -> str:
    """A replacement with ``\1`` group references (DuckDB, Python) in Java's form (``$1``; ``$`` escaped)."""
    import re
    return re.sub(r"\\(\d)|\$", lambda m: "$" + m.group(1) if m.group(1) else "\\$", text)


_compile_duckdb()
_compile_spark()


def _try_strptime(value: ibis.Value, formats) -> ibis.Value:
    """strptime with a list of formats (the first that fits), NULL instead of raising."""
    return _StrptimeAny(value, tuple(formats)).to_expr()


def lookup(mapping: dict[str, str], key: ibis.Value) -> ibis.Value:
    """``mapping[key]`` for text ``key``; NULL for a key the mapping lacks (the cleaning's spellings)."""
    keys = sorted(mapping)
    return _Lookup(key, tuple(keys), tuple(mapping[k] for k in keys)).to_expr()


def by_value(table: ibis.Table, column: str, name: str, fn) -> ibis.Table:
    """``table`` with one more column, ``name``: ``fn(table[column])``, computed once per distinct value of the
    column and joined back (NULL-safe equality, so a NULL value gets ``fn`` of NULL too).

    ``fn`` maps an Ibis value to an Ibis value and depends on nothing but it (a parse). Rows come back in
    no particular order; sort where order matters. Worth it where a column repeats few values and ``fn``
    is dear: the members' join dates, 1,039 distinct values in 1,032,844 rows, read by
    :func:`parse_timestamp` through twenty formats cost 2.4 CPU s row by row and 0.3 s this way.
    """
    key = f"_{name}_key"
    values = table.select(**{key: table[column]}).distinct()
    values = values.mutate(**{name: fn(values[key])})
    joined = table.left_join(values, table[column].identical_to(values[key]))
    return joined.drop(key)


def _as_utc(zone, ts: ibis.Value) -> ibis.Value:
    return _AsUTC(zone, ts).to_expr()


def _wall_clock(zone, ts: ibis.Value) -> ibis.Value:
    return _WallClock(zone, ts).to_expr()


def _local_time(zone: str, ts: ibis.Value) -> ibis.Value:
    """A wall-clock time ``ts`` in ``zone`` as the zone's clocks show it (the time converted to the instant and
    back): the same time, except one in an hour the clocks skipped (a change to summer time), which the
    conversion moves on. After the zone's last such change (:func:`clocks_unskipped_since`) the time is taken as
    it is, without the two conversions (3.35 million order times: about 0.45 CPU seconds of DuckDB's)."""
    since = clocks_unskipped_since(zone)
    converted = _wall_clock(zone, _as_utc(zone, ts))
    return converted if since is None else ibis.cases((ts >= ibis.literal(since), ts), else_=converted)


@functools.lru_cache(maxsize=None)
def clocks_unskipped_since(zone: str) -> _dt.datetime | None:
    """The wall-clock time from which ``zone``'s clocks have skipped no hour (Python's zone database, read day
    by day from 1900 to 2100): two days after the last change that set the clocks forward. None when the
    zone sets its clocks forward after ``today's year - 10`` (summer time still kept, or given up so recently
    that the engine's own zone database may not know it yet): every time is then converted.
    ``datetime.min`` for a zone that never set its clocks forward (UTC, a fixed offset). Source: IANA's time
    zone database through :mod:`zoneinfo`."""
    import zoneinfo
    tz = zoneinfo.ZoneInfo(zone)
    day, end = _dt.datetime(1900, 1, 1, tzinfo=_dt.timezone.utc), _dt.datetime(2100, 1, 1, tzinfo=_dt.timezone.utc)
    last, before = None, day.astimezone(tz).utcoffset()
    while day < end:
        day += _dt.timedelta(days=1)
        offset = day.astimezone(tz).utcoffset()
        if offset > before:
            last = day
        before = offset
    if last is None:
        return _dt.datetime.min
    if last.year > _dt.date.today().year - 10:
        return None
    return (last + _dt.timedelta(days=2)).astimezone(tz).replace(tzinfo=None, hour=0, minute=0, second=0,
                                                                  microsecond=0)


def row_hash(*texts: ibis.Value) -> ibis.Value:
    """A 64-bit hash of one or more texts, in their order, the same function on every row of one backend (the
    cleaning's exact-copy key). NULL texts: give them a stand-in first (Spark's hash passes over a NULL, so
    ``(NULL, 'a')`` and ``('a', NULL)`` would hash alike). Several texts are hashed as they are, not joined into
    one text first: joining a row's dozen columns cost more than hashing them (3.35 million order lines: 1.3
    CPU seconds of the staging's 5)."""
    return _RowHash(texts).to_expr()


_SPARK_CODES = {"Y": "yyyy", "y": "yy", "m": "M", "d": "d", "H": "H", "I": "h", "M": "m", "S": "s", "f": "SSSSSS",
                "p": "a", "b": "MMM", "B": "MMMM", "a": "E", "A": "EEEE", "j": "D", "z": "Z", "Z": "z"}
_PADDED = {"M": "MM", "d": "dd", "H": "HH", "h": "hh", "m": "mm", "s": "ss", "D": "DDD"}


def spark_pattern(fmt: str) -> str:
    """A strptime format (``%Y/%m/%d %H:%M``) as Spark's datetime pattern (``yyyy/M/d H:m``).

    A number followed by a separator reads one or two digits, as strptime does; one followed directly
    by another number (``%Y%m%d``) has its fixed width. Literal text is quoted. Raises ``ValueError``
    for a code without a Spark counterpart.
    """
    import re
    parts = re.findall(r"%.|[^%]+", fmt)
    out = []
    for i, part in enumerate(parts):
        if part == "%%":
            out.append("'%'")
        elif part.startswith("%"):
            code = _SPARK_CODES.get(part[1])
            if code is None:
                raise ValueError(f"the date format {fmt!r} uses {part}, which the spark backend does not read")
            around = [parts[j] for j in (i - 1, i + 1) if 0 <= j < len(parts)]
            adjacent = any(p.startswith("%") and p[1:2] in "YymdHIMSfj" for p in around)
            out.append(_PADDED.get(code, code) if adjacent else code)
        else:
            out.append("'" + part.replace("'", "''") + "'")
    return "".join(out)


def numbered(con, table: ibis.Table, column: str = "_row") -> ibis.Table:
    """``table`` (a file just read, nothing filtered) with ``column``: each row's number in the file, from 1.

    DuckDB reads a file in order (``preserve_insertion_order``), so ``row_number()`` numbers the rows as
    the file has them. Spark numbers each partition of the read on its own
    (``monotonically_increasing_id``: the partition's index above bit 33, the row within it below): one
    small query counts the rows per partition, and each row's number is the rows of the partitions
    before it plus its own place, the file's row number again.
    """
    if backend(con) != "spark":
        return table.mutate(**{column: ibis.row_number() + 1})
    t = table.mutate(_file_order=_FileOrder().to_expr())
    part, place = t._file_order // 2**33, t._file_order % 2**33
    counts = t.group_by(_part=part).agg(n=t.count()).order_by("_part").to_pyarrow().to_pylist()
    offsets, before = {}, 0
    for row in counts:
        offsets[row["_part"]] = before
        before += row["n"]
    offset = ibis.cases(*((part == p, o) for p, o in offsets.items()), else_=0) if len(offsets) > 1 else 0
    return t.mutate(**{column: offset + place + 1}).drop("_file_order")


def read_csv(con, path: Path, table_name: str, *, header: bool, delimiter: str, names: list[str] | None = None,
             max_line_size: int | None = None) -> ibis.Table:
    """A UTF-8 CSV file as a table of text columns, nothing inferred (DuckDB ``all_varchar``; Spark strings,
    quoted fields across lines read whole)."""
    if backend(con) != "spark":
        kwargs = dict(all_varchar=True, header=header, delim=delimiter, quote='"')
        if names:
            kwargs["names"] = names
        if max_line_size:
            kwargs["max_line_size"] = max_line_size
        return con.read_csv(str(path), table_name=table_name, **kwargs)
    reader = con._session.read.options(header=header, sep=delimiter, quote='"', escape='"', multiLine=True,
                                       inferSchema=False, mode="FAILFAST", encoding="UTF-8")
    if names:
        from pyspark.sql.types import StringType, StructField, StructType
        reader = reader.schema(StructType([StructField(n, StringType()) for n in names]))
    count_query("other")
    df = reader.csv(str(path))
    _spark_csv_parses(con, df)
    df.createOrReplaceTempView(table_name)
    return con.table(table_name)


def _spark_csv_parses(con, df) -> None:
    """Parse every row of a CSV file Spark reads (FAILFAST) once, here: a malformed file (a row wider than the
    header, a quote left open) fails at the read, where the reader's caller explains it by the file and line
    (``sources``), not in a later query with Spark's stack trace. Spark's log of the failed task is silenced
    for this pass. One more pass over the file (Spark reads lazily)."""
    from pyspark.sql import functions as F
    try:
        context = con._session.sparkContext
    except Exception:  # noqa: BLE001 - Spark Connect has no context here: its server logs the task
        context = None
    if context is not None:
        context.setLogLevel("OFF")
    count_query("fetches")
    try:
        df.select(F.xxhash64(*[F.col(f"`{c.replace('`', '``')}`") for c in df.columns]).alias("h")) \
            .agg(F.count("h")).collect()
    finally:
        if context is not None:
            context.setLogLevel("ERROR")


def cached(expr: ibis.Table) -> ibis.Table:
    """``expr.cache()`` (a context manager that drops the cached table on exit), with the in-memory tables
    (``ibis.memtable``) it reads registered first: ibis' PySpark backend caches the compiled SQL without
    registering them, so Spark could not find them (TABLE_OR_VIEW_NOT_FOUND)."""
    con = expr._find_backend()
    if backend(con) == "spark":
        con._run_pre_execute_hooks(expr)
    return expr.cache()


def keep(con, name: str, expr: ibis.Table) -> ibis.Table:
    """Compute ``expr`` once and keep it for this session as ``name`` (the cleaning's staging tables).

    DuckDB: a table of the in-memory database (gone with the connection). Spark: Parquet in the
    process's private temporary folder read back as a temporary view on a local session; on a cluster a
    checkpointed temporary view (its blocks in the executors' local folders), on Spark Connect a cached
    one; never a table of the SQL warehouse: staged rows hold personal data.
    """
    if backend(con) != "spark":
        return con.create_table(name, expr, overwrite=True)
    folder = _SPARK.get("folder")
    if folder is None or not _local(con):
        # Spark Connect or a cluster: the executors cannot reach this machine's folder (on a local
        # session a checkpoint was twice as slow as the Parquet round trip: 104 s against 50 s to clean)
        con._run_pre_execute_hooks(expr)
        count_query("writes")
        df = con._session.sql(con.compile(expr))
        df = df.cache() if folder is None else df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        return con.table(name)
    _SPARK["kept"] = _SPARK.get("kept", 0) + 1
    path = Path(folder.name) / "kept" / f"{name}-{_SPARK['kept']}"
    con.to_parquet(expr, path)
    return con.read_parquet(str(path), table_name=name)


def _local(con) -> bool:
    """True for a Spark session whose executors run in this process (a local master)."""
    return str(con._session.sparkContext.master).startswith("local")


def release(con, name: str) -> None:
    """Drop a table :func:`keep` kept (its memory; Spark's files go with the process's temporary folder)."""
    if backend(con) != "spark":
        con.drop_table(name, force=True)
    else:
        count_query("other")
        con._session.catalog.dropTempView(name)


def empty_table(con, name: str, schema: ibis.Schema) -> ibis.Table:
    """A table with ``schema`` and no row, kept as ``name`` for this session."""
    if backend(con) != "spark":
        return con.create_table(name, schema=schema, overwrite=True)
    return keep(con, name, ibis.memtable(schema.to_pyarrow().empty_table()))


def write_table(con, expr: ibis.Table, path: str | Path, duckdb_options: dict | None = None) -> Path:
    """Write a table to ``path`` as one Parquet file (a clean or rejected table), in the table's order.

    ``duckdb_options``: DuckDB Parquet writer options (``{"dictionary_size_limit": 10_000}``), how the
    file is encoded, never what it holds; Spark writes with its own settings and ignores them.

    Spark writes a folder of parts; on a local session the parts are written in the private temporary
    folder and gathered into the one file here, so every reader (and the publishing) sees the same
    file from either backend. On a cluster the folder is written at ``path`` itself (the outputs
    folder must then be on storage every node reaches); :func:`read_table` reads either.
    """
    path = Path(path)
    if backend(con) != "spark":
        con.to_parquet(expr, path, **(duckdb_options or {}))
        return path
    import shutil
    import pyarrow as pa
    import pyarrow.parquet as pq
    folder = _SPARK.get("folder")
    if folder is None or not _local(con):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        con.to_parquet(expr, path)
        return path
    _SPARK["kept"] = _SPARK.get("kept", 0) + 1
    parts_dir = Path(folder.name) / "written" / f"{path.stem}-{_SPARK['kept']}"
    con.to_parquet(expr, parts_dir)
    parts = sorted(parts_dir.glob("part-*.parquet"))
    written = pq.read_schema(parts[0]) if parts else con.to_pyarrow(expr.limit(0)).schema
    # Spark's timestamps are instants in the session's zone, UTC: their UTC wall clock is the kit's
    # wall-clock time in the shop's zone, written without a zone as DuckDB writes it
    schema = pa.schema([pa.field(f.name, pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type) and f.type.tz
                        else f for f in written])
    with pq.ParquetWriter(path, schema) as writer:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches():
                writer.write_table(pa.Table.from_batches([batch]).cast(schema))
    shutil.rmtree(parts_dir, ignore_errors=True)
    return path


def read_table(con, path: str | Path, table_name: str) -> ibis.Table:
    """A Parquet table written by :func:`write_table`: one file, or a folder of parts (Spark's)."""
    path = Path(path)
    if path.is_dir() and backend(con) != "spark":
        return con.read_parquet(str(path / "*.parquet"), table_name=table_name)
    return con.read_parquet(str(path), table_name=table_name)


def write_numbered(con, expr: ibis.Table, path: str | Path, column: str = "_row",
                   duckdb_options: dict | None = None) -> Path:
    """Write ``expr`` (a file just read, nothing filtered) as one Parquet file (:func:`write_table`) whose
    rows, read back by :func:`read_numbered`, carry ``column``: each row's number in the file read, from 1.

    On DuckDB the number is not written: DuckDB writes the rows in the order it read them
    (``preserve_insertion_order``), so a row's place in the written file is its place in the file read,
    and :func:`read_numbered` takes it from the Parquet file's own row positions. A ``row_number()``
    over the whole file in the write would make DuckDB write on one thread (3.35 million order lines:
    5.1 s against 3.0 s of wall time). On Spark :func:`numbered` numbers the rows and the column is written.
    ``duckdb_options``: as :func:`write_table`'s. Returns ``path``.
    """
    if backend(con) == "spark":
        return write_table(con, numbered(con, expr, column), path)
    return write_table(con, expr, path, duckdb_options)


def read_numbered(con, path: str | Path, table_name: str, column: str = "_row") -> ibis.Table:
    """A table written by :func:`write_numbered`, with ``column`` (int64, from 1) last, as :func:`numbered`
    gives it. On DuckDB the number is the row's position in the one Parquet file (``file_row_number``),
    unless the file holds the column itself."""
    if backend(con) == "spark":
        return read_table(con, path, table_name)
    # a view of the database, not of this connection (Ibis' read_parquet makes a temporary one): a second
    # connection's query can read it too (shared)
    quoted_path = str(path).replace("'", "''")
    con.raw_sql(f'CREATE OR REPLACE VIEW "{table_name}" AS '
                f"SELECT * FROM read_parquet('{quoted_path}', file_row_number = true)")
    table = con.table(table_name)
    if column in table.columns:
        return table.drop("file_row_number")
    return table.mutate(**{column: table.file_row_number + 1}).drop("file_row_number")


def beside(con, left: ibis.Table, right: ibis.Table, keys: tuple[str, ...] = ("_source", "_row")
           ) -> tuple[ibis.Table, bool]:
    """``left`` with ``right``'s other columns, matched on ``keys`` (which name one row of each), and whether the
    result is in ``keys`` order.

    ``left`` and ``right`` hold one row per key each (e.g. a kept table of order lines and the staged source it
    was made from); the result has ``left``'s columns, then ``right``'s columns other than ``keys``. On DuckDB,
    when both hold the same keys in the same order (checked by one query on the key columns alone, the two
    tables set side by side), the rows are joined by position (``POSITIONAL JOIN``) and the result is in that
    order: ``(True)``; a filter on it keeps the order. Otherwise, and on Spark, a hash join on ``keys``, in no
    order: ``(False)``. At 3.35 million order lines the positional join and the check take about a third of
    the CPU seconds of a hash join and a sort of the wide rows it gives (measured in bench/cleaning_profile.md).
    """
    others = [c for c in right.columns if c not in keys]
    if backend(con) != "spark":
        a = left.select(*keys)
        b = right.select(**{f"_beside_{k}": k for k in keys})
        j = a.join(b, how="positional")
        same = ibis.and_(*[j[k].identical_to(j[f"_beside_{k}"]) for k in keys])
        if j.aggregate(differ=j.count(where=~same)).to_pyarrow().to_pylist()[0]["differ"] == 0:
            return left.join(right.select(*others), how="positional"), True
    return left.join(right.select(*keys, *others), list(keys)).select(*left.columns, *others), False


def blank_to_null(col: ibis.Value) -> ibis.Value:
    """Trimmed text (:func:`strip`), NULL when nothing is left."""
    # NULLIF, not a CASE: the stripped text is written once in the SQL (an expression used twice is copied)
    return strip(col).nullif("")


def strip(col: ibis.Value) -> ibis.Value:
    """``col.strip()``, trimming only the values that begin or end with a character up to the space: DuckDB's
    TRIM with a set of characters costs about 0.3 microseconds a value (1 s of CPU for a column of 3.35
    million), comparing the first and last character a tenth of that, and most values of an export have
    nothing to trim. (The characters strip() removes, space, tab, line feed, carriage return, vertical
    tab and form feed, all sort at or below the space.)"""
    edge = (col.left(1) <= " ") | (col.right(1) <= " ")
    return ibis.cases((edge, col.strip()), else_=col)


# ------------------------------------------------------------------ time
_ZONE = r"(Z|z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2})"
_TIME_ZONE_END = r"(\d:\d{2}(:\d{2}([.,]\d+)?)?)\s*" + _ZONE + "$"
_FRACTION_END = r"(\d:\d{2}:\d{2})[.,](\d+)$"


def _time_parts(col: ibis.Value, time_zone: str):
    """Text -> (text for the formats, fraction of a second in microseconds, the text's time zone).

    The zone is the business ``time_zone`` when the text has none. Written as one chain with
    few re-uses: an Ibis expression is a tree, so every re-use of a step copies it into the SQL.
    """
    text = (col.strip()
            # Chinese dates and times: 2026年8月27日 20时04分 -> 2026-8-27 20:04
            .re_replace(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?", r"\1-\2-\3")
            .re_replace(r"(\d{1,2})\s*[时時点點]\s*(\d{1,2})\s*分(\s*(\d{1,2})\s*秒)?", r"\1:\2:\4")
            .re_replace(r":$", "")
            # ISO 8601 'T' between date and time
            .re_replace(r"^(\d{4}-\d{1,2}-\d{1,2})[Tt](\d)", r"\1 \2"))
    zone = text.re_extract(_TIME_ZONE_END, 4)            # '' without a zone
    zone = ibis.cases((zone == "", time_zone), (zone.upper().isin(["Z", "UTC", "GMT"]), "UTC"), else_="GMT" + zone)
    text = text.re_replace(_TIME_ZONE_END, r"\1")
    micros = text.re_extract(_FRACTION_END, 2).substr(0, 6).rpad(6, "0").try_cast("int64").fill_null(0)
    text = text.re_replace(_FRACTION_END, r"\1")
    return text, micros, zone


def parse_timestamp(col: ibis.Value, formats: list[str], time_zone: str | None = None) -> ibis.Value:
    """Text -> timestamp in the business time zone (wall clock); NULL when no form fits.

    Tries ``formats`` (strptime codes, the first that fits) on the text as written (trimmed),
    so a format with ``%f`` or Chinese date words reads its own text; then the same formats after
    the normalisation described in the module docstring; then an Excel serial day number. A time
    with a zone is converted to ``time_zone`` (default Asia/Shanghai); a time without one is
    taken as already local.
    """
    time_zone = time_zone or DEFAULT_TIME_ZONE
    slow = _parse_timestamp_normalised(col, formats, time_zone)
    # Most rows are read by the first step alone (a declared format on the text as written, or a
    # plain year-first time, on which the normalisation is the identity): the regular expressions
    # of the normalisation run only on the other rows (a CASE branch is evaluated only for the rows
    # that reach it), and every row gets what the full reading gives.
    plain = strip(col)
    if formats:
        # (a CASE, not COALESCE: DuckDB evaluates every argument of a COALESCE on every row)
        written = _try_strptime(plain, formats)
        return ibis.cases((written.notnull(), _local_time(time_zone, written)), else_=slow)
    return ibis.cases((col.re_search(_DASH_TIME), _local_time(time_zone, col.try_cast("timestamp"))),
                      (plain.re_search(_PLAIN_TIME), _local_time(time_zone, _cast_time(plain))),
                      else_=slow)


def _timestamp_parses(col: ibis.Value, formats: list[str]) -> ibis.Value:
    """True where :func:`parse_timestamp` gives a time, without converting zones (a parsed local time
    always converts): most rows are settled by the formats on the text as written."""
    plain = strip(col)
    slow = _parse_timestamp_normalised(col, formats, DEFAULT_TIME_ZONE).notnull()
    if formats:
        return ibis.cases((_try_strptime(plain, formats).notnull(), True), else_=slow)
    return ibis.cases((col.re_search(_DASH_TIME), col.try_cast("timestamp").notnull()),
                      (plain.re_search(_PLAIN_TIME), _cast_time(plain).notnull()), else_=slow)


def _cast_time(text: ibis.Value) -> ibis.Value:
    """A year-first time cast as the backends' casts read it (Spark's only with '-' between year, month, day)."""
    return text.re_replace(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"\1-\2-\3").try_cast("timestamp")


_PLAIN_TIME = r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?$"
# The commonest form, year first with dashes and nothing around it: the text as written is what
# _PLAIN_TIME and _cast_time would cast (no blanks to trim, no slash to rewrite), so neither runs.
_DASH_TIME = r"^\d{4}-\d{1,2}-\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?$"


def _parse_timestamp_normalised(col: ibis.Value, formats: list[str], time_zone: str) -> ibis.Value:
    text, micros, zone = _time_parts(col, time_zone)
    if formats:
        as_written = _as_utc(time_zone, _try_strptime(col.strip(), formats))
        parsed = _try_strptime(text, formats)
    else:
        as_written, parsed = ibis.null("timestamp('UTC')"), _cast_time(text)
    days = text.re_extract(r"^([2-7]\d{4}(\.\d+)?)$", 1).try_cast("float64")   # Excel serials 20000-79999
    excel = ibis.timestamp("1899-12-30 00:00:00") + (days * 86_400_000_000).round().cast("int64").as_interval("us")
    ts = ibis.coalesce(parsed + micros.as_interval("us"), excel)
    return _wall_clock(time_zone, ibis.coalesce(as_written, _as_utc(zone, ts)))


_DAY_MONTH = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(\s|$)"
DAY_FIRST, MONTH_FIRST = "day first", "month first"


class DateOrderError(ValueError):
    """A column of spreadsheet dates (``10/2/2017 10:56``) whose order of day and month the values do not
    decide (``examples`` holds the value and both readings), or that has values of both orders."""

    def __init__(self, column: str, example: str, other: str | None = None):
        self.column = column
        if other is None:
            day, month = (_reading(example, DAY_FIRST), _reading(example, MONTH_FIRST))
            self.examples = {"value": example, DAY_FIRST: day, MONTH_FIRST: month}
            message = (f"no value has a day above 12, so {example!r} reads as {day[0]} day first "
                       f"(date_formats: ['{day[1]}']) or as {month[0]} month first (date_formats: ['{month[1]}']); "
                       "name the form in the table's date_formats")
        else:
            self.examples = {DAY_FIRST: example, MONTH_FIRST: other}
            message = (f"{example!r} can only be day first and {other!r} only month first; "
                       "name the form in the table's date_formats")
        super().__init__(message)


def _reading(value: str, order: str) -> tuple[str, str]:
    """('10 February 2017', '%d/%m/%Y %H:%M'): a spreadsheet date read in ``order``, and the format for it."""
    import re
    first, sep, second, year, rest = re.match(r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4})(.*)$", value.strip()).groups()
    day, month = (first, second) if order == DAY_FIRST else (second, first)
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]
    when = f"{int(day)} {months[int(month) - 1]} {year}" if 1 <= int(month) <= 12 else f"day {day}, month {month}"
    fmt = sep.join(["%d", "%m"] if order == DAY_FIRST else ["%m", "%d"]) + f"{sep}%Y"
    rest = rest.strip()
    if rest:
        clock = "%I:%M" if rest.lower().endswith(("am", "pm")) else "%H:%M"
        fmt += " " + clock + (":%S" if rest.count(":") >= 2 else "") + (" %p" if clock == "%I:%M" else "")
    return when, fmt


def day_month_order(table: ibis.Table, column: str, formats: list[str]) -> str | None:
    """``DAY_FIRST`` or ``MONTH_FIRST`` for a column of spreadsheet dates (``d/m/yyyy`` or ``m/d/yyyy``,
    separated by ``/``, ``.`` or ``-``, with or without a time); None when it has none, or when
    ``formats`` already read them as written, or none is a valid date either way.

    A value that is a valid date in one reading only decides (``13/2/2017`` day first, ``2/13/2017``
    month first); a value valid in neither (``31/02/2025``) decides nothing. One query; the
    up-front checks gather the same evidence (:func:`day_month_evidence`) in their one query per table.

    Raises
    ------
    DateOrderError
        when such dates are present and no value decides, or values decide both ways.
    """
    row = table.aggregate(**day_month_evidence(table, column, formats, prefix="")).to_pyarrow().to_pylist()[0]
    return decide_day_month(column, row)


def day_month_evidence(table: ibis.Table, column: str, formats: list[str], prefix: str) -> dict[str, ibis.Value]:
    """The aggregates :func:`decide_day_month` needs, named ``<prefix>any``, ``<prefix>day`` ..."""
    return day_month_evidence_of(day_month_text(table[column]), formats, prefix)


def day_month_text(col: ibis.Value) -> ibis.Value:
    """The trimmed value where it has the spreadsheet form (``10/2/2017 10:56``), else NULL: what
    :func:`day_month_evidence_of` examines (a column of its own in the profile's projection)."""
    stripped = strip(col)
    return ibis.cases((stripped.re_search(_DAY_MONTH), stripped), else_=ibis.null("string"))


def day_month_evidence_of(text: ibis.Value, formats: list[str], prefix: str) -> dict[str, ibis.Value]:
    """:func:`day_month_evidence` on :func:`day_month_text` computed already."""
    # Only the values of the spreadsheet form are not NULL, and every step below passes over NULL
    # without work (most columns have no such value at all).
    form = text.notnull()
    first, second, year = (text.re_extract(_DAY_MONTH, i) for i in (1, 2, 3))
    as_day_first = (year + "-" + second + "-" + first).try_cast("date").notnull()
    as_month_first = (year + "-" + first + "-" + second).try_cast("date").notnull()
    declared = parse_timestamp(text, formats).notnull() if formats else ibis.literal(False)
    return {f"{prefix}any": text.min(where=form & as_day_first & as_month_first),
            f"{prefix}declared": (form & declared).any(),
            f"{prefix}two_readings": text.min(where=form & as_day_first & as_month_first & (first != second)),
            f"{prefix}day": text.min(where=form & as_day_first & ~as_month_first),
            f"{prefix}month": text.min(where=form & as_month_first & ~as_day_first)}


def decide_day_month(column: str, row: dict, prefix: str = "") -> str | None:
    """The order the evidence of :func:`day_month_evidence` decides (see :func:`day_month_order`)."""
    row = {k: row.get(prefix + k) for k in ("any", "declared", "two_readings", "day", "month")}
    if row["declared"] or (row["any"], row["day"], row["month"]) == (None, None, None):
        return None
    if row["day"] is not None and row["month"] is not None:
        raise DateOrderError(column, row["day"], row["month"])
    if row["day"] is None and row["month"] is None:
        raise DateOrderError(column, row["two_readings"] or row["any"])
    return DAY_FIRST if row["day"] is not None else MONTH_FIRST


def day_month_as_iso(col: ibis.Value, order: str) -> ibis.Value:
    """Spreadsheet dates written in ``order`` rewritten year first (``10/2/2017 10:56`` -> ``2017/2/10 10:56``
    day first), a form of the default ``date_formats``; other text unchanged."""
    target = r"\3/\2/\1\4" if order == DAY_FIRST else r"\3/\1/\2\4"
    return col.strip().re_replace(_DAY_MONTH, target)


# ------------------------------------------------------------------ numbers and money
def _number_text(col: ibis.Value, decimal: str = ".") -> ibis.Value:
    """Text of a number without currency, blanks and thousands separators; '.' as the decimal mark.

    ``decimal`` is the column's mark. A value that can only be read with the other mark
    (``495.92`` under ',', ``1.234,50`` under '.') becomes NULL rather than a number 100 or
    1000 times off, so the cleaning sets it aside as unreadable.
    """
    plain = strip(col)
    guard = r"^[+-]?\d+$" if decimal == "," else r"^[+-]?\d+(\.\d+)?$"
    # Plain digits (with a point under '.') are their own number text: the regular expressions of
    # the full reading run only on the other rows (a CASE branch is evaluated only for the rows that reach it).
    return ibis.cases((plain.re_search(guard), plain), else_=_number_text_normalised(col, decimal))


def _number_text_normalised(col: ibis.Value, decimal: str = ".") -> ibis.Value:
    text = blank_to_null(col).re_replace(_CURRENCY, "").re_replace(_BLANKS, "")
    text = text.re_replace(r"^\((.*)\)$", r"-\1")       # accounting negative: (12.50)
    if decimal == ",":
        return ibis.ifelse(text.re_search(_POINT_ONLY), ibis.null("string"), text.replace(".", "").replace(",", "."))
    return ibis.ifelse(text.re_search(_COMMA_ONLY), ibis.null("string"), text.replace(",", ""))


_COMMA_ONLY = r"^[+-]?(\d+,(\d{1,2}|\d{4,})|\d{1,3}(\.\d{3})+,\d*|\d{1,3}(\.\d{3}){2,})$"
_POINT_ONLY = r"^[+-]?(\d+\.(\d{1,2}|\d{4,})|\d{1,3}(,\d{3})+\.\d*|\d{1,3}(,\d{3}){2,})$"


class DecimalMarkError(ValueError):
    """A column mixes decimal commas and decimal points.

    Attributes
    ----------
    column : the canonical column
    counts : {"comma": n, "point": n, "either": n, "values": n}, values that read only with a decimal
        comma, only with a decimal point, either way (``1,234``), and all non-empty values
    examples : {"decimal comma": text, "decimal point": text}, one value of each form
    advice : the mark of the larger form ('.' on a tie), which sets aside the fewer values
    """

    def __init__(self, column: str, comma: str, point: str, counts: dict[str, int] | None = None):
        counts = {"comma": 1, "point": 1, "either": 0, "values": 0, **(counts or {})}
        self.column, self.counts = column, counts
        self.examples = {"decimal comma": comma, "decimal point": point}
        self.advice = "," if counts["comma"] > counts["point"] else "."
        total = counts["comma"] + counts["point"]
        major, minor = ("comma", "point") if self.advice == "," else ("point", "comma")
        aside = "set aside as unparseable amounts" if column == "amount" else "set aside as unreadable"
        values = counts.get("values") or counts["comma"] + counts["point"] + counts["either"]

        def outcome(n):   # what a setting does to the n values it cannot read
            return (f"{aside}; more than {1 - MIN_PARSEABLE_SHARE:.0%} of the column unreadable stops the run"
                    if n > values * (1 - MIN_PARSEABLE_SHARE) else aside)
        either = (f"; {counts['either']:,} more read either way (e.g. '1,234' is 1234 with '.' and 1.234 with ',')"
                  if counts["either"] else "")
        super().__init__(
            f"{counts['point']:,} values with a decimal point (e.g. {point!r}) and {counts['comma']:,} with a decimal "
            f"comma (e.g. {comma!r}) in one column{either}. "
            f"With '.': the {counts['comma']:,} decimal-comma values are {outcome(counts['comma'])}; "
            f"with ',': the {counts['point']:,} decimal-point values are {outcome(counts['point'])}; "
            "neither setting rescales a value. "
            f"{counts[major] / total:.1%} of them use a decimal {major}: set the table's 'decimal' to "
            f"'{self.advice}' in the config, and correct the {counts[minor]:,} decimal-{minor} values at the source "
            "to keep them")


def decimal_mark(table: ibis.Table, column: str) -> str:
    """',' when the column writes numbers with a decimal comma (``135,17``, ``1.234,50``), else '.'.

    A value is evidence for a comma when it can only be read that way (two decimals after a
    comma, or dots grouping thousands before one), and likewise for a point. Values that read
    either way (``1,234``) follow the evidence; without any, the mark is '.'.

    Raises
    ------
    DecimalMarkError
        when the column has evidence for both (with the count of each form).
    """
    row = table.aggregate(**decimal_evidence(table, column, prefix="")).to_pyarrow().to_pylist()[0]
    return decide_decimal_mark(column, row)


def decimal_evidence(table: ibis.Table, column: str, prefix: str,
                     shape: ibis.Value | None = None, weight: ibis.Value | None = None) -> dict[str, ibis.Value]:
    """The aggregates :func:`decide_decimal_mark` needs, named ``<prefix>comma``, ``<prefix>n_point`` ...

    ``shape``: the column's :func:`number_shape`, computed once per row already (the profile's
    projection); the full examination then runs only on the values of the ``OTHER`` shape, with the
    same aggregates. ``weight`` (with ``shape``): ``table`` holds the column's distinct values and
    ``weight`` the rows of each, by which the counts are weighted (the examples need no weight)."""
    col = table[column]
    if shape is None:
        return _decimal_evidence(col, prefix)

    def total(flag):
        return weighted_count(flag, weight)
    other = _decimal_evidence(col, prefix, parts=True)
    is_other, plain_point = shape == NUMBER_OTHER, shape == NUMBER_POINT

    def only_other(value, otherwise=False):   # (a CASE: the regular expressions run only on the other shape's rows)
        return ibis.cases((is_other, value), else_=otherwise)
    comma, either = only_other(other["comma"]), only_other(other["either"])
    # (NULL for a NULL value, as in the full examination: a column of NULLs counts NULL points, not 0)
    point = ibis.ifelse(col.isnull(), ibis.null("boolean"), plain_point | only_other(other["point"]))
    return {f"{prefix}comma": only_other(other["text"], ibis.null("string")).min(where=comma),
            f"{prefix}point": ibis.cases((plain_point, strip(col)), (is_other, other["example"]),
                                         else_=ibis.null("string")).min(where=point),
            f"{prefix}n_comma": total(comma), f"{prefix}n_point": total(point), f"{prefix}n_either": total(either),
            f"{prefix}n_values": total(shape != NUMBER_EMPTY)}


def weighted_count(flag: ibis.Value, weight: ibis.Value | None = None) -> ibis.Value:
    """An aggregate: the rows where the boolean ``flag`` is true, or with ``weight`` (a table of distinct
    values, ``weight`` the rows of each) the sum of the weights where it is. NULL over no rows, or when
    every flag is NULL, as the sum over the rows leaves it."""
    return flag.cast("int64").sum() if weight is None else (flag.cast("int64") * weight).sum()


def _decimal_evidence(col: ibis.Value, prefix: str, parts: bool = False) -> dict[str, ibis.Value]:
    stripped = strip(col)
    # Digits alone are evidence of nothing, and digits with one or two decimals after a point (most
    # values) are evidence of a point as they are: only the other values are normalised and searched.
    plain_point = stripped.re_search(r"^[+-]?\d+\.\d{1,2}$")
    text = ibis.cases((stripped.re_search(r"^[+-]?\d*$") | plain_point, ibis.null("string")),
                      else_=blank_to_null(col).re_replace(_CURRENCY, "").re_replace(_BLANKS, ""))
    comma = text.re_search(_COMMA_ONLY).fill_null(False)
    point = plain_point | text.re_search(_POINT_ONLY).fill_null(False)
    either = text.re_search(r"^[+-]?\d{1,3}([.,]\d{3})$").fill_null(False)
    if parts:
        return {"text": text, "comma": comma, "point": point, "either": either,
                "example": ibis.ifelse(plain_point, stripped, text)}
    values = blank_to_null(col).notnull()
    return {f"{prefix}comma": text.min(where=comma),
            f"{prefix}point": ibis.ifelse(plain_point, stripped, text).min(where=point),
            f"{prefix}n_comma": comma.cast("int64").sum(), f"{prefix}n_point": point.cast("int64").sum(),
            f"{prefix}n_either": either.cast("int64").sum(), f"{prefix}n_values": values.cast("int64").sum()}


# The shapes of a number's text that settle its decimal-mark evidence and its readability without
# the full reading (:func:`number_shape`): most values of an export are plain digits.
NUMBER_EMPTY, NUMBER_DIGITS, NUMBER_POINT, NUMBER_OTHER = 0, 1, 2, 3
# (at most 15 digits: every such value is a double, as the full reading would find)
_PLAIN_NUMBER = r"^[+-]?\d{1,15}(\.\d{1,2})?$"


def number_shape(col: ibis.Value) -> ibis.Value:
    """The shape of a number's text (int8), one regular expression per value: ``NUMBER_EMPTY`` (NULL or
    blank), ``NUMBER_DIGITS`` (``-12``), ``NUMBER_POINT`` (digits with one or two decimals after a
    point: ``135.17``), ``NUMBER_OTHER`` (everything else: ``1,234.50``, ``¥99``, ``135,17``, ``nan``).

    An empty value or plain digits read under either decimal mark and are evidence of no mark; a
    ``NUMBER_POINT`` value reads with a point and is evidence of one (:func:`decimal_evidence`,
    :func:`parses`). Only ``NUMBER_OTHER`` values need the full reading."""
    stripped = strip(col)
    return ibis.cases((stripped.isnull() | (stripped == ""), NUMBER_EMPTY),
                      (stripped.re_search(_PLAIN_NUMBER), ibis.ifelse(stripped.contains("."), NUMBER_POINT,
                                                                       NUMBER_DIGITS)),
                      else_=NUMBER_OTHER).cast("int8")


def decide_decimal_mark(column: str, row: dict, prefix: str = "") -> str:
    """The mark the evidence of :func:`decimal_evidence` decides (see :func:`decimal_mark`)."""
    if row[f"{prefix}comma"] is not None and row[f"{prefix}point"] is not None:
        raise DecimalMarkError(column, row[f"{prefix}comma"], row[f"{prefix}point"],
                               {k: int(row[f"{prefix}n_{k}"] or 0) for k in ("comma", "point", "either", "values")})
    return "," if row[f"{prefix}comma"] is not None else "."


def parse_number(col: ibis.Value, decimal: str = ".") -> ibis.Value:
    """Text -> float64 (``nan`` and ``inf`` included); NULL when it is not a number."""
    return _number_text(col, decimal).try_cast("float64")


def is_finite(x: ibis.Value) -> ibis.Value:
    """True for a parsed number that is neither NaN nor infinite (NULL stays NULL)."""
    return ~(x.isnan() | x.isinf())


def money_type(scale: int) -> dt.Decimal:
    """The type money is stored in: exact decimal at the currency's minor unit."""
    return dt.Decimal(18, scale)


def parse_money(col: ibis.Value, scale: int, decimal: str = ".") -> ibis.Value:
    """Text -> DECIMAL(18, ``scale``), rounded half away from zero; NULL when not a finite number
    or beyond 10^(18 - scale). Float noise (``193009.60999999984``) becomes ``193009.61``."""
    return _number_text(col, decimal).try_cast(money_type(scale))


def to_money(x: ibis.Value, scale: int) -> ibis.Value:
    """A number (decimal product or float) rounded to the minor unit, as money."""
    return x.round(scale).cast(money_type(scale))


def currency_scale(currency: str) -> int:
    """Digits of the currency's minor unit (JPY 0, CNY 2, BHD 3), from the CLDR data in babel."""
    from babel.numbers import get_currency_precision
    return int(get_currency_precision(currency.upper()))


# ------------------------------------------------------------------ ids
_FLOAT_ID = r"^[+-]?\d+(\.0*)?$"


def float_like_ids(table: ibis.Table, columns: list[str]) -> set[str]:
    """Id columns a spreadsheet turned into floats: every value an integer, some written ``14646.0``."""
    if not columns:
        return set()
    row = table.aggregate(**float_id_evidence(table, columns)).to_pyarrow().to_pylist()[0]
    return decide_float_ids(table, columns, row)


def float_id_evidence(table: ibis.Table, columns: list[str]) -> dict[str, ibis.Value]:
    """The aggregates :func:`decide_float_ids` needs, named ``<column>__dots``: values with a point.
    (A substring test on the text as written, not a regular expression and not trimmed first: blanks
    around a value do not make or hide a point, and most id columns have no point at all.)"""
    return {f"{c}__dots": table[c].contains(".").cast("int64").sum() for c in columns}


def decide_float_ids(table: ibis.Table, columns: list[str], row: dict) -> set[str]:
    """The columns of :func:`float_id_evidence` whose values are all integers, some written as floats.

    Only a column with points is examined further (one more query, for those columns alone)."""
    dotted = [c for c in columns if row.get(f"{c}__dots")]
    if not dotted:
        return set()
    aggs = {}
    for c in dotted:
        v = blank_to_null(table[c])
        aggs[f"{c}__bad"] = (v.notnull() & ~v.re_search(_FLOAT_ID)).cast("int64").sum()
        aggs[f"{c}__float"] = v.re_search(r"\.0*$").cast("int64").sum()
    found = table.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    return {c for c in dotted if not (found[f"{c}__bad"] or 0) and (found[f"{c}__float"] or 0)}


def id_text(col: ibis.Value, float_like: bool = False) -> ibis.Value:
    """An id as trimmed text (NULL when empty); ``14646.0`` -> ``14646`` in a float-like column."""
    text = blank_to_null(col)
    return text.re_replace(r"\.0*$", "") if float_like else text


def parses(col: ibis.Value, kind: str, date_formats: list[str], decimal: str = ".",
           shape: ibis.Value | None = None) -> ibis.Value:
    """True where the text is empty or parses as ``kind`` (number, timestamp or date).

    ``decimal`` is the number's mark: '.', ',' or "auto" (either mark, as the cleaning decides per column).
    ``shape``: for a number, its :func:`number_shape` computed already; the shapes that settle the answer
    (empty and plain digits always read; digits after a point read unless the mark is ',') skip the reading.
    """
    if kind == "number" and shape is not None:
        settled = shape.isin([NUMBER_EMPTY, NUMBER_DIGITS] + ([NUMBER_POINT] if decimal != "," else []))
        return ibis.cases((settled, True), else_=parses(col, kind, date_formats, decimal))
    empty = col.isnull() | (strip(col) == "")
    if kind == "number" and decimal == "auto":
        # (a CASE, so the second reading runs only on the values the first cannot read)
        return empty | ibis.cases((parse_number(col, ".").notnull(), True), else_=parse_number(col, ",").notnull())
    if kind == "number":
        return empty | parse_number(col, decimal).notnull()
    return empty | _timestamp_parses(col, date_formats)
