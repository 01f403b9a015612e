"""Every check on the inputs and parameters of a run, done before any kernel starts.

A check is a function that takes the :class:`Run` being prepared and returns the problems it
found (``ConfigError`` / ``InputError``, each naming file, table, column and rule). The runner
calls every function of :data:`CHECKS` in order and reports all problems at once (exit 2). Adding
a check is one line: write the function and append it to ``CHECKS``. Later checks see what
earlier ones resolved (the validated parameters, the period, the tables read into the engine) and
skip what an earlier problem made unknowable.

Example
-------
>>> # run = Run(root, settings, reports=["data_cleaning"]); run_checks(run)   # raises Problems
"""

from __future__ import annotations

import datetime as _dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import NOTEBOOK_PARAMS, ReportSettings, parse_override, setting_problem, validation_message
from .errors import ConfigError, InputError, MemberkitError, Problems, listed


@dataclass
class Run:
    """What the checks know about the run being prepared; filled in as they go."""

    root: Path
    settings: dict                                 # every merged setting (params/*.yaml, --config, -p)
    reports: list[str]                             # the reports to run, dependencies included
    overrides: list[str] = field(default_factory=list)
    out_dir: Path | None = None                    # --out, when given
    params: dict[str, ReportSettings] = field(default_factory=dict)   # validated, per report
    period: str | None = None
    period_reason: str = ""
    as_of: _dt.date | None = None
    con: object | None = None
    tables: dict = field(default_factory=dict)     # table name -> engine table (read and mapped)
    secrets: set = field(default_factory=set)      # secret strings of the settings, scrubbed from every output
    unknown_keys: set = field(default_factory=set)  # (report or "", dotted key) already named as unknown
    warnings: list[str] = field(default_factory=list)   # said by the run, not problems
    staged: dict = field(default_factory=dict)      # table name -> sources.StagedTable (Parquet in the staging folder)
    _staging: tempfile.TemporaryDirectory | None = None

    @property
    def staging_dir(self) -> Path | None:
        """The private folder holding the staged tables while the run lasts (they hold personal data)."""
        return Path(self._staging.name) if self._staging is not None else None

    @property
    def base(self) -> ReportSettings | None:
        """The shared settings (source, as_of, period) when at least one report's parameters are valid."""
        return next(iter(self.params.values()), None)

    def release_engine(self) -> None:
        """Drop the checks' engine connection and tables (the staged files stay): the reports read the files.
        The connection's spill folder goes now, not when the collector finds the connection: a problem's
        traceback may keep it referenced past the run."""
        con, self.tables, self.con = self.con, {}, None
        spill = getattr(con, "_memberkit_spill", None)
        if spill is not None:
            spill.cleanup()

    def close(self) -> None:
        self.release_engine()
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None


Check = Callable[[Run], list[MemberkitError]]


# ------------------------------------------------------------------ parameters
def check_override_keys(run: Run) -> list[MemberkitError]:
    """Every ``-p key=value`` names a known setting (typos in a report name or a key included)."""
    problems = []
    for text in run.overrides:
        try:
            keys, value = parse_override(text)
        except ConfigError as e:
            problems.append(e)
            continue
        why = setting_problem(keys, value)
        if why:
            problems.append(ConfigError(f"-p {text.split('=', 1)[0]}: {why}"))
            report, key = (keys[1], keys[2:]) if keys[0] == "notebooks" else ("", keys)
            run.unknown_keys.add((report, ".".join(key)))
    return problems


def check_report_sections(run: Run) -> list[MemberkitError]:
    """Every section under ``notebooks:`` (in params files and --config files) is a known report."""
    sections = run.settings.get("notebooks") or {}
    if not isinstance(sections, dict):
        return [ConfigError("notebooks: must be a mapping of report name -> its settings")]
    problems = []
    for name in sections:
        if name not in NOTEBOOK_PARAMS:
            # -p keys are named by check_override_keys; this names the config files' own sections
            if not any(o.startswith(f"notebooks.{name}.") for o in run.overrides):
                problems.append(ConfigError(f"notebooks.{name}: {setting_problem(['notebooks', str(name)])}"))
    return problems


def check_parameters(run: Run) -> list[MemberkitError]:
    """Every report's parameters validate: a shared setting's problem is named once, and every
    report's own problems are named (not only the first report's)."""
    from pydantic import ValidationError
    from .config import deep_merge
    shared = {k: v for k, v in run.settings.items() if k != "notebooks"}
    problems, shared_bad = [], False
    try:
        ReportSettings.model_validate(shared)
    except ValidationError as e:
        problems += _named(e, "shared settings", "", run)
        shared_bad = True
    for name in run.reports:
        model = NOTEBOOK_PARAMS[name]
        own = (run.settings.get("notebooks") or {}).get(name) or {}
        try:
            run.params[name] = model.model_validate(deep_merge(shared, own))
        except ValidationError as e:
            problems += _named(e, f"parameters of {name}", name, run,
                               skip=lambda loc: shared_bad and loc and loc[0] in shared and loc[0] not in own)
    return problems


def _named(error, where: str, report: str, run: Run, skip=lambda loc: False) -> list[MemberkitError]:
    """A pydantic error as one ConfigError naming each setting, without the keys already named as unknown
    (a ``-p`` key refused by :func:`check_override_keys` is not named again by the part of it pydantic
    refuses, e.g. ``data_cleaning`` of ``-p data_cleaning.outlier_policy=...``)."""
    def named_already(loc) -> bool:
        dotted = ".".join(map(str, loc))
        return any(r in (report, "") and (key == dotted or key.startswith(dotted + "."))
                   for r, key in run.unknown_keys)
    errors = [err for err in error.errors() if not skip(err["loc"]) and not (
        err["type"] == "extra_forbidden" and named_already(err["loc"]))]
    if not errors:
        return []
    return [ConfigError(validation_message(where, errors, ["notebooks", report] if report else []))]


def check_period(run: Run) -> list[MemberkitError]:
    """The period: given (it may still have been open at as_of, not start after it), or the last
    calendar month that ended by as_of (:func:`memberkit.runfile.work_out_period`)."""
    from .runfile import extraction_date, work_out_period
    from .sample import ensure_sample
    if run.base is None:
        return []
    try:
        ensure_sample(run.base.source, run.root)   # preparing the bundled sample is the runner's step
        run.as_of, how = extraction_date(run.base, run.root)
    except OSError as e:
        run.params.clear()   # the data checks cannot run without the data
        return [ConfigError(f"source.base_dir: cannot generate the sample there ({e.strerror or e})")]
    try:
        run.period, run.period_reason = work_out_period(run.base.period, run.as_of, how)
    except ConfigError as e:
        run.period = None   # later checks cannot judge a period that is not possible
        return [e]
    return []


def check_output_folder(run: Run) -> list[MemberkitError]:
    """The output folder (``--out`` or outputs/<period>) is a folder the run can write to."""
    if run.period is None and run.out_dir is None:
        return []
    out = run.out_dir or run.root / "outputs" / run.period
    if out.exists() and not out.is_dir():
        return [ConfigError(f"output folder {out}: it is a file, not a folder (--out)")]
    # the staging folder goes beside the output folder, and the reports are moved into it
    existing = next(p for p in [out.parent, *out.parents] if p.exists())
    for folder in ([out] if out.exists() else []) + [existing]:
        if not folder.is_dir():
            return [ConfigError(f"output folder {out}: {folder} is a file, not a folder (--out)")]
        try:   # try it: permissions, a read-only mount or a system folder all show here, for root too
            tempfile.TemporaryDirectory(prefix=".memberkit-probe-", dir=folder).cleanup()
        except OSError as e:
            return [ConfigError(f"output folder {out}: cannot write in {folder} ({e.strerror or e}) (--out)")]
    return []


# ------------------------------------------------------------------ the data
def check_tables(run: Run) -> list[MemberkitError]:
    """Every table of the source reads, maps and validates (encoding, columns, parse rates, empties).

    Each table is staged once as Parquet in the run's private staging folder and profiled in one
    query (:func:`memberkit.sources.stage_table`); the later checks and the cleaning read the
    staged files, not the exports. On DuckDB the orders are staged in this thread while the other
    tables are staged one after another in a second thread, on a second connection to the same
    database (:func:`memberkit.engine.second_connection`): the orders' profile and the Python around
    each step (the member file's transcoding, the compilation of each profile query) leave a core idle
    that the other tables then use. Each table's staging is the same whichever thread does it; the
    problems are listed in the source's order of tables."""
    from . import engine, sources
    if run.base is None:
        return []
    source = run.base.source
    try:
        base = sources.base_folder(source, run.root)
    except InputError as e:
        return [e]
    run.con = run.con or engine.connect(run.base.engine)
    from .scratch import private_temp_dir
    run._staging = run._staging or private_temp_dir("staging")
    problems = []
    period = None
    if run.period is not None and run.as_of is not None:
        from .periods import period_bounds
        period = (*period_bounds(run.period), _dt.datetime.combine(run.as_of, _dt.time(23, 59, 59)))
    def stage(con, names):
        return {n: sources.stage_table(con, n, source.tables[n], source, base, run.staging_dir, period) for n in names}

    others = [n for n in source.tables if n != "orders"]
    second = engine.second_connection(run.con) if "orders" in source.tables and others else None
    if second is None:
        done = stage(run.con, list(source.tables))
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(1, thread_name_prefix="memberkit-staging") as pool:
            beside = pool.submit(stage, second, others)
            done = stage(run.con, ["orders"])
            done.update(beside.result())
        for n in others:     # (read again through the run's connection: the later checks join them to the orders)
            table, staged, found = done[n]
            if table is not None:
                done[n] = sources.open_staged_table(run.con, staged, run.staging_dir), staged, found
        del second
    for name in source.tables:
        table, staged, found = done[name]
        problems += found
        if table is not None and not found:
            run.tables[name] = table
            run.staged[name] = staged
    return problems


def _label(run: Run, name: str) -> str:
    tsrc = run.base.source.tables[name]
    return Path(tsrc.path).name if tsrc.path else tsrc.query


def check_period_has_orders(run: Run) -> list[MemberkitError]:
    """The period lies inside the data: some orders fall in it (else name the data's range)."""
    import ibis
    from .engine import parse_timestamp
    from .periods import period_bounds
    orders = run.tables.get("orders")
    if orders is None or run.period is None:
        return []
    start, end = period_bounds(run.period)
    cutoff = _dt.datetime.combine(run.as_of, _dt.time(23, 59, 59))
    staged = run.staged.get("orders")
    if staged is not None and staged.period_orders and "order_ts" not in staged.day_month:
        # counted by the staging's profile query
        row = {k: _dt.datetime.fromisoformat(v) if k != "in_period" and v else v for k, v in staged.period_orders.items()}
    else:
        # each order's time parsed once (an expression used four times would be parsed four times)
        from .engine import keep, release
        parsed = keep(run.con, "check_order_times", orders.select(
            ts=parse_timestamp(orders.order_ts, run.base.source.tables["orders"].date_formats)))
        known = parsed.filter(parsed.ts.notnull() & (parsed.ts <= ibis.literal(cutoff)))
        row = known.aggregate(first=known.ts.min(), last=known.ts.max(),
                              in_period=(known.ts.date().between(start, end)).sum()).to_pyarrow().to_pylist()[0]
        release(run.con, "check_order_times")
    if row["in_period"]:
        return []
    if row["first"] is None:
        span = f"no order has a readable date up to as_of {run.as_of.isoformat()}"
    else:
        span = f"the orders run from {row['first']:%Y-%m-%d} to {row['last']:%Y-%m-%d}"
    return [InputError(_label(run, "orders"), "orders", "order_ts", f"no orders in the period {run.period}",
                       f"{span}; choose a period inside the data (--period) or check as_of")]


def check_order_statuses(run: Run) -> list[MemberkitError]:
    """Order statuses the kit does not know: above ``unknown_status_share`` of the lines the run
    stops (:func:`memberkit.clean.status_scan`); below it they become a run warning."""
    from .clean import status_scan
    orders, params = run.tables.get("orders"), run.params.get("data_cleaning")
    if orders is None or params is None:
        return []
    try:
        unknown = status_scan(orders, params)
    except InputError as e:
        return [e]
    if unknown:
        run.warnings.append("order lines with a status the kit does not know are set aside: "
                            + listed(f"{k} {v:,}" for k, v in unknown.items()))
    return []


def check_campaign_dates(run: Run) -> list[MemberkitError]:
    """Every campaign ends on or after its start."""
    from .engine import parse_timestamp
    from .sources import example_rows
    campaigns = run.tables.get("campaigns")
    if campaigns is None:
        return []
    formats = run.base.source.tables["campaigns"].date_formats
    start, end = parse_timestamp(campaigns.start, formats), parse_timestamp(campaigns.end, formats)
    bad = campaigns.filter(end < start)
    n = bad.count().to_pyarrow().as_py()
    if not n:
        return []
    examples = example_rows(bad, ["campaign_id", "start", "end"], run.base.source.tables["campaigns"])
    return [InputError(_label(run, "campaigns"), "campaigns", "end", "a campaign ends before it starts",
                       f"{n} campaign(s)", examples)]


CHECKS: list[Check] = [
    check_override_keys,
    check_report_sections,
    check_parameters,
    check_period,
    check_output_folder,
    check_tables,
    check_period_has_orders,
    check_order_statuses,
    check_campaign_dates,
]


def run_checks(run: Run, checks: list[Check] | None = None) -> Run:
    """Call every check; raise :class:`Problems` with all they found, else return the resolved run."""
    problems: list[MemberkitError] = []
    for check in checks or CHECKS:
        problems += check(run)
    if problems:
        run.close()
        raise Problems(problems)
    return run
