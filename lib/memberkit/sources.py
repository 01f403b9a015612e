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
import sys
from pathlib import Path

import ibis
import pandas as pd
import pandera.ibis as pa
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from . import engine
from .config import SourceConfig, TableSource, expand_env
from .errors import InputError
from .schema import AMOUNT_SOURCES, CANONICAL, MIN_PARSEABLE_SHARE

CHUNK_ROWS = 200_000


def resolve_path(path: str, base_dir: Path) -> Path:
    """A source path: ``pkg://package/inner/path`` for package data, else relative to ``base_dir``."""
    if path.startswith("pkg://"):
        package, _, inner = path[len("pkg://"):].partition("/")
        return Path(str(importlib.resources.files(package).joinpath(inner)))
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def ensure_sample(source: SourceConfig, root: Path) -> Path:
    """Generate the bundled sample retailer on first use; return the source's base folder."""
    base = Path(source.base_dir)
    base = base if base.is_absolute() else root / base
    if source.sample and source.sample.generate_if_missing and not (base / "ground_truth.json").exists():
        from .sample import generate_sample
        print(f"Generating the sample retailer ({source.sample.members:,} members) in {base} ...", file=sys.stderr, flush=True)
        generate_sample(base, n_members=source.sample.members, seed=source.sample.seed)
    return base


def load_sources(con, source: SourceConfig, root: Path, staging_dir: Path) -> dict[str, ibis.Table]:
    """Read every table of ``source`` into ``con`` as ``raw_<table>``, validated and column-mapped."""
    base = ensure_sample(source, root)
    staging_dir.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name, tsrc in source.tables.items():
        tables[name] = read_table(con, name, tsrc, source, base, staging_dir)
    return tables


def read_table(con, name: str, tsrc: TableSource, source: SourceConfig, base: Path,
               staging_dir: Path) -> ibis.Table:
    label = tsrc.path or tsrc.query
    raw = _read_native(con, name, tsrc, source, base, staging_dir)
    key = "_key" if tsrc.key else "_dupkey"
    raw = raw.mutate(**{key: row_key(raw, tsrc.key, label, name)})
    mapped = _map_columns(raw, name, tsrc, label, has_payments="payments" in source.tables, keep=[key])
    mapped = mapped.mutate(_source=ibis.literal(Path(label).name if tsrc.path else label),
                           _row=ibis.row_number() + 1)
    table = con.create_table(f"raw_{name}", mapped, overwrite=True)
    validate_table(table, name, label, tsrc.date_formats, tsrc.decimal)
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
    parts = [raw[c].cast("string").fill_null("\u2400") for c in columns]
    return ibis.literal("\u241f").join(parts).hash()


def _read_native(con, name, tsrc, source, base, staging_dir) -> ibis.Table:
    if tsrc.format == "sql":
        return _stage_sql(con, name, tsrc, source, staging_dir)
    path = resolve_path(tsrc.path, base)
    if not path.is_file():
        raise InputError(str(path), name, None, "file not found",
                         "check source.base_dir and the table's path in the config")
    if tsrc.format == "parquet":
        return con.read_parquet(str(path), table_name=f"src_{name}")
    if tsrc.format == "excel":
        try:
            frames = pd.read_excel(path, sheet_name=tsrc.sheet or 0, dtype=str, header=0 if tsrc.header else None,
                                   names=tsrc.names)
        except ValueError as e:
            raise InputError(str(path), name, None, "cannot read the sheet", str(e)) from None
        return _stage_frames(con, name, [frames], staging_dir)
    # CSV
    if tsrc.delimiter == "whitespace":
        chunks = pd.read_csv(path, sep=r"\s+", dtype=str, header=0 if tsrc.header else None, names=tsrc.names,
                             encoding=tsrc.encoding, chunksize=CHUNK_ROWS, keep_default_na=False)
        return _stage_frames(con, name, chunks, staging_dir)
    if codecs.lookup(tsrc.encoding).name not in ("utf-8", "utf-8-sig"):
        path = _transcode(path, tsrc.encoding, staging_dir / f"{name}.utf8.csv")
    kwargs = dict(all_varchar=True, header=tsrc.header, delim=tsrc.delimiter, quote='"')
    if tsrc.names:
        kwargs["names"] = tsrc.names
    try:
        return con.read_csv(str(path), table_name=f"src_{name}", **kwargs)
    except Exception as e:  # the engine's own message says which line
        detail = str(e).splitlines()[0]
        if "unicode" in str(e).lower() or "utf-8" in str(e).lower():
            detail += "; is the file in another encoding (e.g. gb18030)? set the table's 'encoding' in the config"
        raise InputError(str(path), name, None, "not a readable CSV file", detail) from None


def _transcode(path: Path, encoding: str, target: Path) -> Path:
    """Stream a file in another encoding (GB18030 from Chinese ERPs) into UTF-8."""
    try:
        with open(path, encoding=encoding, newline="") as src, open(target, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    except UnicodeError as e:
        where = f"byte {e.start}: {e.reason}" if isinstance(e, UnicodeDecodeError) else str(e)
        raise InputError(str(path), "-", None, f"not valid {encoding}",
                         f"{where}; set the table's 'encoding' in the config") from None
    return target


def _stage_frames(con, name, frames, staging_dir: Path) -> ibis.Table:
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
        raise InputError(name, name, None, "the source is empty")
    return con.read_parquet(str(target), table_name=f"src_{name}")


def _stage_sql(con, name, tsrc, source, staging_dir) -> ibis.Table:
    import sqlalchemy as sa
    url = expand_env(source.database_url)
    query = tsrc.query if tsrc.query.lstrip().lower().startswith("select") else f"SELECT * FROM {tsrc.query}"
    try:
        eng = sa.create_engine(url)
        with eng.connect() as conn:
            chunks = pd.read_sql(sa.text(query), conn, chunksize=CHUNK_ROWS)
            table = _stage_frames(con, name, (c.astype(str).where(c.notna(), None) for c in chunks), staging_dir)
        eng.dispose()
    except sa.exc.SQLAlchemyError as e:
        raise InputError(tsrc.query, name, None, "the database query failed", str(e).splitlines()[0]) from None
    return table


def _map_columns(raw: ibis.Table, name: str, tsrc: TableSource, label: str, has_payments: bool = False,
                 keep: list[str] = ()) -> ibis.Table:
    """Rename source columns to canonical names; add missing optional columns as empty text.

    An orders table needs an amount, a unit price (amount = quantity x unit price) or a
    payments table beside it.
    """
    spec = CANONICAL[name]
    unknown = sorted(set(tsrc.columns) - set(spec))
    if unknown:
        raise InputError(label, name, unknown[0], "the column map names an unknown canonical column",
                         f"canonical columns of {name}: {', '.join(spec)}")
    present = {c.strip(): c for c in raw.columns if c not in keep}
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
            raise InputError(label, name, source_name, "required column is missing",
                             f"it is mapped to '{canon}'; the file has columns: {', '.join(present)}")
        else:
            selected[canon] = ibis.null("string")
    for outcome in tsrc.outcomes:   # experiments: per-member outcome columns, named in the config
        if outcome not in present:
            raise InputError(label, name, outcome, "outcome column is missing",
                             f"it is listed under outcomes; the file has columns: {', '.join(present)}")
        selected[f"outcome__{outcome}"] = raw[present[outcome]].cast("string")
    if name == "orders" and not has_payments and not any(
            tsrc.columns.get(c, c) in present for c in AMOUNT_SOURCES):
        raise InputError(label, name, tsrc.columns.get("amount", "amount"), "no amount for the orders",
                         "map 'amount', or 'unit_price' (amount = quantity x unit price), or give a payments table; "
                         f"the file has columns: {', '.join(present)}")
    return raw.select(**selected, **{k: raw[k] for k in keep})


def _schema_for(name: str, date_formats: list[str]) -> pa.DataFrameSchema:
    """The pandera schema a mapped table must fit: columns present, typed columns mostly parseable."""
    columns = {}
    for canon, col in CANONICAL[name].items():
        checks = []
        if col.kind in ("number", "timestamp", "date"):
            def mostly_parseable(data, kind=col.kind):
                ok = engine.parses(data.table[data.key], kind, date_formats)
                return ok.cast("float64").mean().fill_null(1.0) >= MIN_PARSEABLE_SHARE
            checks.append(pa.Check(mostly_parseable, name=f"at least {MIN_PARSEABLE_SHARE:.0%} of values "
                                                          f"parse as {col.kind}"))
        columns[canon] = pa.Column(str, checks=checks, nullable=True, required=True)
    return pa.DataFrameSchema(columns)


def validate_table(table: ibis.Table, name: str, label: str, date_formats: list[str], decimal: str = "auto") -> None:
    """Stop with a readable message when a mapped table does not fit its canonical schema, or
    when a number column mixes decimal commas and points (with ``decimal`` auto)."""
    if decimal == "auto":
        for canon, col in CANONICAL[name].items():
            if col.kind == "number":
                try:
                    engine.decimal_mark(table, canon)
                except engine.DecimalMarkError as e:
                    raise InputError(label, name, canon, "decimal comma and decimal point mixed in one column",
                                     str(e)) from None
    try:
        _schema_for(name, date_formats).validate(table, lazy=True)
    except pa.errors.SchemaErrors as e:
        first = e.failure_cases.iloc[0]
        column, rule = first["column"], first["check"]
        examples = []
        if column in table.columns:
            kind = CANONICAL[name][column].kind
            bad = table.filter(~engine.parses(table[column], kind, date_formats))
            examples = bad.select("_row", column).limit(5).to_pyarrow().to_pylist()
        raise InputError(label, name, column, str(rule),
                         f"{len(e.failure_cases)} check(s) failed; is the column map right?", examples) from None


def input_fingerprints(source: SourceConfig, root: Path) -> dict[str, str]:
    """sha256 of every input file (or of the query text for a database table)."""
    import hashlib
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
