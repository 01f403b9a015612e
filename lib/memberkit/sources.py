"""Read a retailer's exports into the canonical tables, in the engine.

Every source lands as an engine table of text columns with canonical names plus
``_source`` (the file), ``_row`` (the data row number in that file), so a rejected row
can always be traced back, and ``_dupkey``, a hash of the whole source row (every column of
the file, mapped or not) or of the table's declared ``key``: the cleaning judges exact copies
on it, so two products on one invoice with the same quantity and price stay two lines. Formats the engine reads natively (UTF-8 CSV, Parquet) are read
by it directly; the rest (other encodings, Excel, runs of blanks, a SQL database) are
streamed in chunks into a Parquet staging file first, so memory stays flat.

Example
-------
>>> from memberkit import engine
>>> con = engine.connect()
>>> # tables = load_sources(con, source_config, root)   # -> {"orders": ibis.Table, ...}
"""

from __future__ import annotations

import codecs
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from . import engine
from .config import SourceConfig, TableSource
from .errors import InputError, Problems
from .schema import AMOUNT_SOURCES, CANONICAL, MIN_PARSEABLE_SHARE

CHUNK_ROWS = 200_000
# How the staged copies are encoded (DuckDB's Parquet writer): a column is written without a dictionary in a
# row group where it has more than 10,000 distinct values. DuckDB's default lets the dictionary of a nearly
# unique column (order id, order time, member id, phone) grow much further before giving it up, and that
# work is thrown away: at 1,000,000 members, on one thread, the orders' encoding 3.2-3.4 -> 2.8-3.0 CPU s and
# the members' 0.8-1.0 -> 0.7. The columns that repeat (channel, status, quantity, discount, store, join date)
# keep their dictionaries, which the profile by value and the cleaning read; the members' birth dates (about
# 15,000 distinct in a row group) are written plain. The staged tables are the same.
STAGING_PARQUET = {"dictionary_size_limit": 10_000}


def resolve_path(path: str, base_dir: Path) -> Path:
    """A source path: ``pkg://package/inner/path`` for package data, else relative to ``base_dir``."""
    if path.startswith("pkg://"):
        package, _, inner = path[len("pkg://"):].partition("/")
        return Path(str(importlib.resources.files(package).joinpath(inner)))
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def base_folder(source: SourceConfig, root: Path) -> Path:
    """The folder the source's relative paths start from (``base_dir``, relative to the project).

    For the bundled sample retailer, ``InputError`` when it has not been generated yet: generating
    it is the runner's and :func:`memberkit.notebook.resolve`'s step
    (:func:`memberkit.sample.ensure_sample`), never a reader's.

    ``InputError`` (one, naming the folder) when a table's file is to be read from the folder and it does
    not exist or is not a folder, rather than one "file not found" per table.
    """
    base = Path(source.base_dir)
    base = base if base.is_absolute() else root / base
    if source.sample and source.sample.generate_if_missing and not (base / "ground_truth.json").exists():
        raise InputError(str(base), "", "", "the sample retailer has not been generated there",
                         "run make reports (or run_reports.py), or call memberkit.sample.ensure_sample first")
    in_folder = [name for name, t in source.tables.items()
                 if t.format != "sql" and t.path and resolve_path(t.path, base).is_relative_to(base)]
    if in_folder and not base.is_dir():
        raise InputError(str(base), "", None, "folder not found" if not base.exists() else "not a folder",
                         f"check source.base_dir: the files of {', '.join(in_folder)} are read from it")
    return base


def load_sources(con, source: SourceConfig, root: Path, staging_dir: Path) -> dict[str, ibis.Table]:
    """Every table of ``source``, validated and column-mapped, staged as Parquet in ``staging_dir``
    (which must outlive the returned tables); raises the first problem, or all of them (Problems)."""
    return stage_sources(con, source, root, staging_dir)[0]


def stage_sources(con, source: SourceConfig, root: Path,
                  staging_dir: Path) -> tuple[dict[str, ibis.Table], dict[str, "StagedTable"]]:
    """Every table of ``source`` staged (:func:`stage_table`): (name -> engine table, name -> what its
    profile decided). Raises the first problem, or all of them (Problems)."""
    base = base_folder(source, root)
    staging_dir.mkdir(parents=True, exist_ok=True)
    tables, decided = {}, {}
    for name, tsrc in source.tables.items():
        tables[name], decided[name], problems = stage_table(con, name, tsrc, source, base, staging_dir)
        if problems:
            raise problems[0] if len(problems) == 1 else Problems(problems)
    return tables, decided


def open_staged(con, staged: dict, source: SourceConfig) -> tuple[dict[str, ibis.Table], dict[str, "StagedTable"]] | None:
    """The tables a run's up-front checks staged (the run file's ``staged``: ``{"folder", "tables"}``),
    as :func:`stage_sources` returns them; None when they are not there for every table of ``source``
    (a notebook then stages for itself)."""
    folder, entries = Path(staged.get("folder") or "."), staged.get("tables") or {}
    if set(entries) != set(source.tables) or not all((folder / e["file"]).is_file() for e in entries.values()):
        return None
    decided = {name: StagedTable(**e) for name, e in entries.items()}
    return {name: open_staged_table(con, st, folder) for name, st in decided.items()}, decided


@dataclass
class StagedTable:
    """One input table staged as Parquet, with what its one profile query decided.

    ``file``: the Parquet file (text columns with canonical names, ``_source``, ``_row`` and the
    row key; ``_row`` is the row's position in the file on DuckDB, so read it with
    :func:`open_staged_table`) in the run's private staging folder; ``day_month``: column -> ``day first`` |
    ``month first`` for spreadsheet dates (rewritten year first on reading); ``marks``: number
    column -> decimal mark; ``float_ids``: id columns a spreadsheet wrote as floats; ``rows``: the
    table's rows; ``readable``: number and date column -> rows that are empty or parse (numbers with
    either decimal mark; only when the table's decimal setting is auto), what the data-quality table
    counts as valid (:func:`memberkit.clean.quality_scorecard`), so the cleaning does not parse again;
    ``period_orders``: for orders staged with a period, ``{"first", "last"}`` (ISO times of the readable
    orders up to the period's latest time, None without any) and ``"in_period"`` (how many fall in it);
    ``value_counts``: column -> ``{"missing", "distinct"}`` (rows empty or blank; distinct values, NULL not
    counted) for the columns the profile reads by value and the reading leaves as staged (number columns,
    times other than the period's, none rewritten from spreadsheet dates), what the data-quality table counts
    (:func:`memberkit.clean.quality_scorecard`), so the cleaning does not count them again.
    """

    name: str
    file: str
    day_month: dict = field(default_factory=dict)
    marks: dict = field(default_factory=dict)
    float_ids: list = field(default_factory=list)
    rows: int | None = None
    readable: dict = field(default_factory=dict)
    period_orders: dict = field(default_factory=dict)
    value_counts: dict = field(default_factory=dict)


def check_table(con, name: str, tsrc: TableSource, source: SourceConfig, base: Path,
                staging_dir: Path) -> tuple[ibis.Table | None, list[InputError]]:
    """Read one table into ``con`` and list every way it does not fit (see :func:`stage_table`)."""
    table, _, problems = stage_table(con, name, tsrc, source, base, staging_dir)
    return table, problems


def stage_table(con, name: str, tsrc: TableSource, source: SourceConfig, base: Path,
                staging_dir: Path, period: tuple | None = None
                ) -> tuple[ibis.Table | None, StagedTable | None, list[InputError]]:
    """Stage one table as Parquet in ``staging_dir`` (one read of the export) and profile it in one query.

    Returns (the staged table as an engine table, or None when it could not be read; what its
    profile decided; the problems: missing columns, columns that mostly do not parse, required
    columns empty in every row, an orders file without data rows, decimal marks mixed in a
    column, spreadsheet dates whose order of day and month the values do not decide). Reader
    failures are explained by their cause: the file checked for its encoding and for rows whose
    field count differs from the header. Example rows are looked up only for a problem found.
    ``period`` (first day, last day, latest readable time): for the orders, the same query counts the
    order times up to the latest that fall in the period (``StagedTable.period_orders``).
    """
    label = tsrc.path or tsrc.query
    try:
        raw = _read_native(con, name, tsrc, source, base, staging_dir)
        key = "_key" if tsrc.key else "_dupkey"
        raw = raw.mutate(**{key: row_key(raw, tsrc.key, label, name)})
    except InputError as e:
        return None, None, [e]
    mapped, problems = _map_columns(raw, name, tsrc, label, has_payments="payments" in source.tables, keep=[key])
    if problems:
        if tsrc.format == "csv" and tsrc.header:
            hint = _header_hint(resolve_path(tsrc.path, base), tsrc, [p.column for p in problems])
            if hint:
                problems = [InputError(p.file, p.table, p.column, p.rule, f"{p.detail}; {hint}", p.examples)
                            for p in problems]
        return None, None, problems
    mapped = mapped.mutate(_source=ibis.literal(Path(label).name if tsrc.path else label))
    path = engine.write_numbered(con, mapped, Path(staging_dir) / f"staged_{name}.parquet",
                                 duckdb_options=STAGING_PARQUET)
    staged = StagedTable(name, path.name)
    table = engine.read_numbered(con, path, f"staged_{name}")
    optional = ("assigned_ts",) if name == "experiments" and tsrc.outcomes else ()
    problems = _profile_problems(table, staged, name, label, tsrc, optional,
                                 amount_needed=name == "orders" and "payments" not in source.tables,
                                 period=period if name == "orders" else None)
    return open_staged_table(con, staged, staging_dir, table), staged, problems


def open_staged_table(con, staged: StagedTable, staging_dir: Path, table: ibis.Table | None = None) -> ibis.Table:
    """A staged table as the cleaning reads it: spreadsheet dates rewritten year first in their decided order."""
    table = table if table is not None else engine.read_numbered(con, Path(staging_dir) / staged.file,
                                                                 f"staged_{staged.name}")
    if staged.day_month:
        table = table.mutate(**{c: engine.day_month_as_iso(table[c], order) for c, order in staged.day_month.items()})
    return table


def row_key(raw: ibis.Table, key: list[str] | None, label: str = "", name: str = "") -> ibis.Value:
    """A 64-bit hash of the whole source row (every column), or of the declared ``key`` columns."""
    columns = list(raw.columns)
    if key:
        present = {c.strip(): c for c in columns}
        missing = [k for k in key if k not in present]
        if missing:
            raise InputError(label, name, missing[0], "a column of the table's key is missing",
                             f"the file has columns: {', '.join(columns)}")
        columns = [present[k] for k in key]
    return engine.row_hash(*[raw[c].cast("string").fill_null("\u2400") for c in columns])


def _read_native(con, name, tsrc, source, base, staging_dir) -> ibis.Table:
    if tsrc.format == "sql":
        return _stage_sql(con, name, tsrc, source, staging_dir)
    path = resolve_path(tsrc.path, base)
    if not path.is_file():
        raise InputError(str(path), name, None, "file not found",
                         "check source.base_dir and the table's path in the config")
    if path.stat().st_size == 0:
        raise InputError(str(path), name, None, "the file is empty", "not even a header row; is the export complete?")
    if tsrc.format == "parquet":
        try:
            return engine.read_table(con, path, f"src_{name}")
        except Exception as e:  # noqa: BLE001 - any engine failure on this file means it is not Parquet
            raise InputError(str(path), name, None, "not a readable Parquet file",
                             _first_line(e) + "; is 'format' right for this file?") from None
    if tsrc.format == "excel":
        return _stage_frames(con, name, [_read_excel(path, name, tsrc)], staging_dir, label=str(path))
    # CSV
    if tsrc.delimiter == "whitespace":
        try:
            chunks = pd.read_csv(path, sep=r"\s+", dtype=str, header=0 if tsrc.header else None, names=tsrc.names,
                                 encoding=tsrc.encoding, chunksize=CHUNK_ROWS, keep_default_na=False)
            return _stage_frames(con, name, chunks, staging_dir, label=str(path))
        except (UnicodeError, pd.errors.ParserError) as e:
            raise _csv_problem(path, name, tsrc, e) from None
    if codecs.lookup(tsrc.encoding).name not in ("utf-8", "utf-8-sig"):
        path = _transcode(path, name, tsrc, staging_dir / f"{name}.utf8.csv")
    kwargs = dict(header=tsrc.header, delimiter=tsrc.delimiter, names=tsrc.names)
    try:
        try:
            return engine.read_csv(con, path, f"src_{name}", **kwargs)
        except Exception as e:  # noqa: BLE001 - a line longer than DuckDB's default (2 MB): read it whole
            if "maximum line size" not in str(e).lower() or path.stat().st_size + 2 > MAX_LINE_BYTES:
                raise
            return engine.read_csv(con, path, f"src_{name}", max_line_size=path.stat().st_size + 2, **kwargs)
    except Exception as e:  # noqa: BLE001 - the cause is found by looking at the file, not at the message
        raise _csv_problem(path, name, tsrc, e) from None


def _header_hint(path: Path, tsrc: TableSource, missing: list[str]) -> str:
    """Why the mapped columns are not in the header, found by reading the header another way: in
    another encoding, or split at another delimiter. '' when neither explains it."""
    def columns(text: str, delimiter: str) -> list[str]:
        return [c.strip().strip('"').lstrip("\ufeff") for c in text.rstrip("\r\n").split(delimiter)]
    with open(path, "rb") as f:
        head = f.readline(1 << 16)
    for encoding in ("utf-8", "gb18030", "utf-16"):
        if codecs.lookup(encoding).name == codecs.lookup(tsrc.encoding).name:
            continue
        try:
            if all(m in columns(head.decode(encoding), tsrc.delimiter) for m in missing):
                return f"the header has these columns when read as {encoding}: set the table's 'encoding'"
        except UnicodeError:
            continue
    configured = head.decode(tsrc.encoding, errors="replace")
    for delimiter in (";", "\t", "|", ","):
        if delimiter != tsrc.delimiter and all(m in columns(configured, delimiter) for m in missing):
            shown = "\\t" if delimiter == "\t" else delimiter
            return f"the header splits into these columns at '{shown}': set the table's 'delimiter'"
    return ""


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _read_excel(path: Path, name: str, tsrc: TableSource) -> pd.DataFrame:
    """One sheet as text; a legacy .xls, a file that is not a workbook or a missing sheet named as such."""
    import zipfile
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):   # the OLE2 container of Excel 97-2003 (.xls)
        raise InputError(str(path), name, None, "a legacy Excel 97-2003 workbook (.xls) is not read",
                         "open it in Excel or LibreOffice and save it as .xlsx or CSV")
    if not magic.startswith(b"PK"):                # an .xlsx workbook is a zip archive
        raise InputError(str(path), name, None, "not an Excel workbook (.xlsx)",
                         "is 'format' or the file's suffix right? a CSV file needs format: csv")
    try:
        return pd.read_excel(path, sheet_name=tsrc.sheet or 0, dtype=str, header=0 if tsrc.header else None,
                             names=tsrc.names)
    except zipfile.BadZipFile:
        raise InputError(str(path), name, None, "not an Excel workbook (.xlsx)",
                         "is 'format' or the file's suffix right?") from None
    except (ValueError, KeyError) as e:
        raise InputError(str(path), name, None, "cannot read the sheet", _first_line(e)) from None


def _csv_problem(path: Path, name: str, tsrc: TableSource, error: BaseException) -> InputError:
    """Why a CSV file could not be read, found by looking at the file: its encoding, then rows whose
    number of fields differs from the header; else the engine's own first line."""
    try:
        _decodes(path, tsrc.encoding)
    except UnicodeDecodeError as e:
        return _encoding_problem(path, name, tsrc.encoding, e)
    long_line = _long_line(path, MAX_LINE_BYTES)
    if long_line:
        line, size = long_line
        return InputError(str(path), name, None, "a line is too long to read",
                          f"line {line} is {size / 2**20:,.0f} MB long; the reader takes lines up to "
                          f"{MAX_LINE_BYTES / 2**20:,.0f} MB: is a quote left open, or a field the export should leave out?")
    ragged = _ragged_row(path, tsrc)
    if ragged:
        return InputError(str(path), name, None, "a row has a different number of fields than the header", ragged)
    return InputError(str(path), name, None, "not a readable CSV file", _first_line(error))


MAX_LINE_BYTES = 256 << 20   # the longest line (bytes) a CSV file may have


def _long_line(path: Path, limit: int) -> tuple[int, int] | None:
    """(line number from 1, length in bytes) of the first line of ``path`` longer than ``limit``; None when none is."""
    line, size = 1, 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            parts = chunk.split(b"\n")
            for i, part in enumerate(parts):
                size += len(part)
                if size > limit:
                    while (more := f.read(1 << 20)) and b"\n" not in more:   # the whole line's length
                        size += len(more)
                    if more:
                        size += more.index(b"\n")
                    return line, size
                if i < len(parts) - 1:
                    line, size = line + 1, 0
    return None


def _decodes(path: Path, encoding: str, limit: int | None = None) -> None:
    """Raise UnicodeDecodeError (with the byte offset in the file) when ``path`` is not valid ``encoding``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                raise UnicodeDecodeError(e.encoding, e.object, e.start + offset, e.end + offset, e.reason) from None
            except UnicodeError as e:   # e.g. a UTF-16 stream without its byte order mark
                raise UnicodeDecodeError(encoding, chunk, offset, offset + 1, str(e)) from None
            offset += len(chunk)
            if limit and offset >= limit:
                return
        decoder.decode(b"", final=True)


def _encoding_problem(path: Path, name: str, encoding: str, e: UnicodeDecodeError) -> InputError:
    fits = []
    for other in ("utf-8", "gb18030", "utf-16"):
        if codecs.lookup(other).name == codecs.lookup(encoding).name:
            continue
        try:
            _decodes(path, other, limit=1 << 20)
            fits.append(other)
        except UnicodeDecodeError:
            pass
    hint = f"; it reads as {fits[0]}" if fits else ""
    return InputError(str(path), name, None, f"not valid {encoding}",
                      f"byte {e.start}: {e.reason}{hint}; set the table's 'encoding' in the config")


def _ragged_row(path: Path, tsrc: TableSource, max_rows: int = 100_000) -> str:
    """The first row whose field count differs from the header's, described; '' when none."""
    import csv
    import itertools
    delimiter = tsrc.delimiter if len(tsrc.delimiter) == 1 else ","
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_LINE_BYTES)    # Python's default (128 KB) is far below the engine's
    try:
        with open(path, encoding=tsrc.encoding, newline="") as f:
            rows = csv.reader(f, delimiter=delimiter, quotechar='"')
            try:
                header = next(rows, None)
                if header is None:
                    return ""
                width = len(tsrc.names) if tsrc.names and not tsrc.header else len(header)
                for line, row in enumerate(itertools.islice(rows, max_rows), start=2):
                    if row and len(row) != width:
                        trailing = " (the line ends with a delimiter the header lacks)" if (
                            len(row) == width + 1 and row[-1] == "") else ""
                        return f"line {line} has {len(row)} fields, the header has {width}{trailing}"
            except csv.Error as e:
                return f"line {rows.line_num}: {e}"
    finally:
        csv.field_size_limit(limit)
    return ""


def _transcode(path: Path, name: str, tsrc: TableSource, target: Path) -> Path:
    """Stream a file in another encoding (GB18030 from Chinese ERPs) into UTF-8."""
    try:
        with open(path, encoding=tsrc.encoding, newline="") as src, open(target, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    except UnicodeError:
        try:
            _decodes(path, tsrc.encoding)
        except UnicodeDecodeError as e:   # the same failure, now with its byte offset in the file
            raise _encoding_problem(path, name, tsrc.encoding, e) from None
        raise
    return target


def _stage_frames(con, name, frames, staging_dir: Path, label: str | None = None) -> ibis.Table:
    target = staging_dir / f"{name}.parquet"
    writer = None
    try:
        for frame in frames:
            frame = frame.astype(object).where(frame.notna(), None)
            frame.columns = [str(c) for c in frame.columns]
            batch = pa_arrow.Table.from_pandas(frame, schema=pa_arrow.schema(
                [(c, pa_arrow.string()) for c in frame.columns]), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(target, batch.schema)
            writer.write_table(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise InputError(label or name, name, None, "the source is empty", "no header and no rows")
    return engine.read_table(con, target, f"src_{name}")


def _stage_sql(con, name, tsrc, source, staging_dir) -> ibis.Table:
    """A database table or query read into the engine, every column as text, never row by row through pandas
    (:func:`memberkit.warehouse.read_database`: through Ibis as Arrow batches, or Spark's JDBC reader on
    PostgreSQL). Rows come in the query's own order (ORDER BY), else by the table's ``key``, else by every
    column, so their numbers (``_row``) are the same on every read. Times with a zone (``timestamptz``)
    arrive in UTC with a ``Z`` (the cleaning converts them to the shop's time zone). A missing table, a missing
    driver or a refused connection is named as such; the password never appears in the message."""
    from . import warehouse
    return warehouse.read_database(con, name, tsrc, source, staging_dir)


def _map_columns(raw: ibis.Table, name: str, tsrc: TableSource, label: str, has_payments: bool = False,
                 keep: list[str] = ()) -> tuple[ibis.Table, list[InputError]]:
    """Rename source columns to canonical names; add missing optional columns as empty text.

    An orders table needs an amount, a unit price (amount = quantity x unit price) or a
    payments table beside it. Returns the mapped table and one problem per unknown canonical
    name or missing required column.
    """
    spec = CANONICAL[name]
    problems = [InputError(label, name, c, "the column map names an unknown canonical column",
                           f"canonical columns of {name}: {', '.join(spec)}") for c in sorted(set(tsrc.columns) - set(spec))]
    present = {c.strip().lstrip("\ufeff"): c for c in raw.columns if c not in keep}
    selected = {}
    for canon, col in spec.items():
        source_name = tsrc.columns.get(canon, canon)
        if source_name in present:
            selected[canon] = raw[present[source_name]].cast("string")
        elif name == "experiments" and canon == "experiment_id" and canon not in tsrc.columns:
            # An export of one test often has no experiment id: the experiment is named after the file.
            selected[canon] = ibis.literal(Path(label).stem)
        elif (col.required and not (name == "experiments" and canon == "assigned_ts" and tsrc.outcomes)) \
                or (name == "orders" and canon in AMOUNT_SOURCES and canon in tsrc.columns):
            # (an export that carries its outcomes needs no assignment time: no window is measured;
            # an amount or unit price named in the column map must be there)
            problems.append(InputError(label, name, source_name, "required column is missing",
                                       f"it is mapped to '{canon}'; the file has columns: {', '.join(present)}"))
        else:
            selected[canon] = ibis.null("string")
    for outcome in tsrc.outcomes:   # experiments: per-member outcome columns, named in the config
        if outcome not in present:
            problems.append(InputError(label, name, outcome, "outcome column is missing",
                                       f"it is listed under outcomes; the file has columns: {', '.join(present)}"))
        else:
            selected[f"outcome__{outcome}"] = raw[present[outcome]].cast("string")
    if name == "orders" and not has_payments and not any(
            tsrc.columns.get(c, c) in present or c in tsrc.columns for c in AMOUNT_SOURCES):
        # (a mapped amount or unit price that is absent is already named above, once)
        problems.append(InputError(label, name, tsrc.columns.get("amount", "amount"), "no amount for the orders",
                                   "map 'amount', or 'unit_price' (amount = quantity x unit price), or give a payments "
                                   f"table; the file has columns: {', '.join(present)}"))
    return (raw.select(**selected, **{k: raw[k] for k in keep}) if not problems else raw), problems


def _profile_problems(table: ibis.Table, staged: StagedTable, name: str, label: str, tsrc: TableSource,
                      not_required: tuple[str, ...] = (), amount_needed: bool = False,
                      period: tuple | None = None) -> list[InputError]:
    """Profile a staged table in one query, fill in ``staged``'s decisions, and return every way the
    table does not fit its canonical schema, one problem per column and rule: typed columns that
    mostly do not parse (with the first offending rows), a number column that mixes decimal commas
    and points (with ``decimal`` auto), spreadsheet dates of undecided order, required columns that
    are empty in every row, an orders file with a header but no rows, and (``amount_needed``: orders
    without a payments table) orders whose amount and unit price are both empty in every row."""
    spec, formats, decimal = CANONICAL[name], tsrc.date_formats, tsrc.decimal
    numbers = [c for c, col in spec.items() if col.kind == "number"]
    times = [c for c, col in spec.items() if col.kind in ("timestamp", "date")]
    ids = [c for c, col in spec.items() if col.kind == "id"]
    required = [c for c, col in spec.items() if col.required and c not in not_required]
    counted = required + ([c for c in AMOUNT_SOURCES if c not in required] if amount_needed else [])
    row = profile_row(table, counted, numbers, times, ids, {c: spec[c].kind for c in times}, formats, decimal,
                      period)
    if period is not None:
        staged.period_orders = {"first": row["period__first"] and row["period__first"].isoformat(),
                                "last": row["period__last"] and row["period__last"].isoformat(),
                                "in_period": int(row["period__in"] or 0)}

    problems = []
    staged.float_ids = sorted(engine.decide_float_ids(table, ids, row))
    for c in numbers:
        staged.marks[c] = decimal
        if decimal == "auto":
            try:
                staged.marks[c] = engine.decide_decimal_mark(c, row, prefix=f"mark__{c}__")
            except engine.DecimalMarkError as e:
                problems.append(InputError(label, name, c, "decimal comma and decimal point mixed in one column", str(e)))
    parsed = {c: row[f"parses__{c}"] for c in numbers + times}
    for c in times:
        try:
            order = engine.decide_day_month(c, row, prefix=f"order__{c}__")
        except engine.DateOrderError as e:
            problems.append(InputError(label, name, c, "dates written day first or month first cannot be told apart"
                                       if len(e.examples) == 3 else "dates written both day first and month first",
                                       str(e)))
            parsed.pop(c)   # (its parse rate says nothing until the order is named)
            continue
        if order:
            staged.day_month[c] = order
            rewritten = engine.day_month_as_iso(table[c], order)
            parsed[c] = table.aggregate(n=engine.parses(rewritten, spec[c].kind, formats).cast("int64").sum()) \
                .to_pyarrow().to_pylist()[0]["n"]
    rows = row["rows"]
    staged.rows = int(rows)
    staged.value_counts = {c: {"missing": int(rows) - int(row[f"filled__{c}"] or 0), "distinct": int(row[f"values__{c}"] or 0)}
                           for c in numbers + times if f"values__{c}" in row and c not in staged.day_month}
    staged.readable = {c: int(n or 0) for c, n in parsed.items() if c in times or decimal == "auto"}
    for c, n in parsed.items():
        if rows and (n or 0) / rows < MIN_PARSEABLE_SHARE:
            kind = spec[c].kind
            column = engine.day_month_as_iso(table[c], staged.day_month[c]) if c in staged.day_month else table[c]
            bad = table.filter(~engine.parses(column, kind, formats, decimal))
            examples = example_rows(bad, [c], tsrc)
            hint = ("is the column map right, and is the table's decimal mark "
                    f"'{decimal}'?" if kind == "number" and decimal != "auto" else "is the column map right?")
            problems.append(InputError(label, name, c, f"at least {MIN_PARSEABLE_SHARE:.0%} of values parse as {kind}",
                                       hint, examples))
    if amount_needed and rows and not any(row[f"filled__{c}"] for c in AMOUNT_SOURCES):
        problems.append(InputError(label, name, "amount", "required column is empty in every row",
                                   f"{rows:,} rows, none with an amount or a unit price; "
                                   "is the column map right?"))
    if rows == 0 and name == "orders":
        problems.append(InputError(label, name, None, "the file has a header but no data rows",
                                   "is the export complete?"))
    for c in required:
        if rows and not row[f"filled__{c}"]:
            why = ("every order would be a guest order" if (name, c) == ("orders", "member_id")
                   else f"{rows:,} rows, none with a value")
            problems.append(InputError(label, name, c, "required column is empty in every row",
                                       f"{why}; is the column map right?"))
    return problems


def profile_row(table: ibis.Table, counted: list[str], numbers: list[str], times: list[str], ids: list[str],
                kinds: dict[str, str], formats: list[str], decimal: str, period: tuple | None = None) -> dict:
    """A staged table's profile in one query: a dict of ``rows``; ``filled__<c>`` (values not blank) for
    the ``counted`` columns and for every column profiled by value (below), with ``values__<c>`` (its distinct
    values, NULL not counted) for the latter; for the ``numbers``, ``parses__<c>`` (:func:`memberkit.engine.parses` under
    ``decimal``) and with ``decimal`` auto the decimal-mark evidence ``mark__<c>__*``
    (:func:`memberkit.engine.decimal_evidence`); for the ``times`` (``kinds``: timestamp or date),
    ``parses__<c>`` and the spreadsheet-date evidence ``order__<c>__*``
    (:func:`memberkit.engine.day_month_evidence`); ``<id>__dots`` (:func:`memberkit.engine.float_id_evidence`);
    with ``period`` (first day, last day, latest time: the orders), ``period__first``, ``period__last``
    (datetimes or None) and ``period__in`` (the readable order times up to the latest that fall in the period).

    Every aggregate but the row count and the period's is a sum, a minimum or an "any" of what one
    column's value says, so over the column's distinct values, each sum weighted by the value's rows,
    it is the same number. The number columns and the times other than the order time are profiled
    that way (an export repeats its amounts, quantities and dates: 81,557 distinct amounts in 3.35
    million order lines, and counting a staged column's values is cheap, its Parquet pages being
    dictionaries); the order time (nearly one value per order), the ids and the other filled counts
    are profiled row by row. Each value's shape (:func:`memberkit.engine.number_shape`: plain digits
    settle readability and evidence without the full reading), spreadsheet-date text and the order
    time parsed once (its readability is that it parsed: :func:`memberkit.engine.parse_timestamp`
    reads exactly what :func:`memberkit.engine.parses` accepts) are computed once, in a projection
    under the aggregate. The same numbers as one aggregate per rule over the table
    (tests/test_staging_profile.py).
    """
    period_column = "order_ts" if period is not None else None
    by_value = list(dict.fromkeys([*numbers, *(c for c in times if c != period_column)]))
    one_by_one = [c for c in times if c == period_column]
    parts = [_profile_rows(table, [c for c in counted if c not in by_value], one_by_one, ids, formats, period)]
    for c in by_value:
        values = table.group_by(c).aggregate(_rows=table.count())
        parts.append(_profile_values(values, c, values._rows, kinds.get(c) if c in times else None,
                                     formats, decimal))
    row = parts[0]
    for part in parts[1:]:
        row = row.cross_join(part)
    return row.to_pyarrow().to_pylist()[0]


def _profile_rows(table: ibis.Table, counted: list[str], times: list[str], ids: list[str], formats: list[str],
                  period: tuple | None) -> ibis.Table:
    """The aggregates of :func:`profile_row` taken row by row: the row count, the ``counted`` columns'
    filled counts, the order time's (``times``: the period's column or nothing) and the ids'."""
    projected = {c: table[c] for c in dict.fromkeys([*counted, *times, *ids])}
    for c in times:
        projected[f"daymonth__{c}"] = engine.day_month_text(table[c])
        # (the period's orders, read as the check reads them: the shop's formats, the default zone)
        projected[f"time__{c}"] = engine.parse_timestamp(table[c], formats)
    rows = table.select(**projected) if projected else table
    aggs = {"rows": rows.count(), **{f"filled__{c}": engine.blank_to_null(rows[c]).notnull().sum() for c in counted}}
    for c in times:
        aggs.update(engine.day_month_evidence_of(rows[f"daymonth__{c}"], formats, prefix=f"order__{c}__"))
        ts = rows[f"time__{c}"]
        empty = rows[c].isnull() | (engine.strip(rows[c]) == "")
        aggs[f"parses__{c}"] = (empty | ts.notnull()).cast("int64").sum()
        start, end, latest = period
        known = ts.notnull() & (ts <= ibis.literal(latest))
        aggs.update(period__first=ts.min(where=known), period__last=ts.max(where=known),
                    period__in=(known & ts.date().between(start, end)).cast("int64").sum())
    aggs.update(engine.float_id_evidence(rows, ids))
    return rows.aggregate(**aggs)


def _profile_values(values: ibis.Table, c: str, weight: ibis.Value, time_kind: str | None,
                    formats: list[str], decimal: str) -> ibis.Table:
    """The aggregates of :func:`profile_row` for one number column, or one time column (``time_kind``:
    timestamp or date), over ``values``: the column's distinct values, ``weight`` the rows of each. A
    sum is weighted; a minimum or an "any" needs no weight."""
    def total(flag):
        return engine.weighted_count(flag, weight)
    col = values[c]
    if time_kind is None:
        values = values.mutate(**{f"shape__{c}": engine.number_shape(col)})
    else:
        values = values.mutate(**{f"daymonth__{c}": engine.day_month_text(col),
                                  f"parses__{c}": engine.parses(col, time_kind, formats)})
    col, weight = values[c], values[weight.get_name()]
    # (every column's filled values and distinct values, required or not: the data-quality table reads them,
    # and on the distinct values they cost nothing)
    aggs = {f"filled__{c}": total(engine.blank_to_null(col).notnull()), f"values__{c}": col.count()}
    if time_kind is None:
        shape = values[f"shape__{c}"]
        if decimal == "auto":
            aggs.update(engine.decimal_evidence(values, c, prefix=f"mark__{c}__", shape=shape, weight=weight))
        aggs[f"parses__{c}"] = total(engine.parses(col, "number", formats, decimal, shape=shape))
    else:
        aggs.update(engine.day_month_evidence_of(values[f"daymonth__{c}"], formats, prefix=f"order__{c}__"))
        aggs[f"parses__{c}"] = total(values[f"parses__{c}"])
    return values.aggregate(**aggs)


def example_rows(table: ibis.Table, columns: list[str], tsrc: TableSource, limit: int = 5) -> list[dict]:
    """The first ``limit`` rows of ``table`` (offending rows of a staged table) as dicts of ``_row`` and
    ``columns``, in source order. ``_row`` is the row's number in its source, or None for a table whose
    numbers do not find its rows (a database table read without an order, :func:`memberkit.warehouse.traces_back`):
    :class:`memberkit.errors.InputError` then says that row numbers are not available."""
    from .warehouse import traces_back
    rows = table.order_by("_row").select("_row", *columns).limit(limit).to_pyarrow().to_pylist()
    return rows if traces_back(tsrc) else [{**r, "_row": None} for r in rows]


def input_fingerprints(source: SourceConfig, root: Path) -> dict[str, str]:
    """sha256 of every input file (or of the query text for a database table)."""
    import hashlib
    from .calls import record_call
    record_call("input_fingerprints", tables=sorted(source.tables))
    base = Path(source.base_dir)
    base = base if base.is_absolute() else root / base
    out = {}
    for name, tsrc in source.tables.items():
        h = hashlib.sha256()
        if tsrc.format == "sql":
            h.update((tsrc.query or "").encode())
        else:
            with open(resolve_path(tsrc.path, base), "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        out[name] = h.hexdigest()
    return out


def combined_fingerprint(fingerprints: dict[str, str]) -> str:
    import hashlib
    return hashlib.sha256("".join(f"{k}={v};" for k, v in sorted(fingerprints.items())).encode()).hexdigest()
