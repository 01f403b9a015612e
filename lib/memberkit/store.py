"""The period store: every result of a period read by name, each written once by its owner with a stamp.

Entries (``PRODUCERS`` in :mod:`memberkit.reports` names who writes each):

===============  ==========================================  ==================================
entry            files under the period's output folder       producer
===============  ==========================================  ==================================
clean            ``data/clean/*.parquet``, ``_stamp.json``     the cleaning report
month_figures    ``month.json``                               the runner's step after cleaning
members          ``data/members.parquet``, ``.stamp.json``     the RFM report
ledger           ``ledger.json``                              the runner's step after cleaning
results(name)    ``<name>.json``                              report ``name``
===============  ==========================================  ==================================

A stamp records what the entry was made from (the inputs' fingerprint, the extraction date,
the settings that matter, the code version); the store knows the stamp each entry must have
from the run (:class:`memberkit.runfile.RunFile`). The read functions never compute: a missing
entry raises :class:`StoreMissing` and a stale one :class:`StoreStale`, both naming what
produces it. :func:`prepare` is the one visible call that runs what is missing (for an
analyst's notebook; the runner produces everything in order itself).

Example
-------
>>> # store = PeriodStore(ctx.output_dir, ctx.run); con, tables = store.clean_tables()
>>> # members = store.member_table(); figures = store.month_figures()
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from .errors import MemberkitError
from .reports import PRODUCERS

CLEAN_TABLES = ("orders", "members", "identity_map", "campaigns", "campaign_members", "experiments")
FIGURES_FILE = "month.json"
LEDGER_FILE = "ledger.json"
MEMBERS_FILE = "data/members.parquet"
MEMBERS_STAMP = "data/members.stamp.json"
MONTHS = 13   # the period, the 11 months before it and the same month a year earlier
#: The RFM parameters the member table depends on (``rfm.member_table_at``).
MEMBER_TABLE_PARAMS = ("window_days", "split", "tier_thresholds", "base_tier", "new_days", "silent_days",
                       "churned_days")
ENTRIES = ("clean", "month_figures", "members", "ledger")


class StoreError(MemberkitError):
    """An entry of the period store cannot be read; ``entry`` and ``producer`` say what and who makes it."""

    def __init__(self, entry: str, path: Path, why: str):
        self.entry, self.path, self.producer, self.why = entry, Path(path), PRODUCERS.get(entry, entry), why
        if entry in PRODUCERS:
            how = ("run the reports for the period (run_reports.py), or in a notebook "
                   f"store.prepare(ctx, needs=[{entry!r}])")
        else:   # a report's results: only that report makes them
            how = f"run that report (its notebook, or run_reports.py --only {entry})"
        what = _WHAT.get(entry, f"The results of {entry}")
        verb = "are" if entry in ("clean", "month_figures") else "is"
        it = "it is" if verb == "is" else "they are"
        super().__init__(f"{what} of this period {verb} {why} ({path}); {it} written by "
                         f"{_BY.get(self.producer, 'the ' + self.producer + ' report')}: {how}")


class StoreMissing(StoreError):
    """The entry has not been produced for this period."""


class StoreStale(StoreError):
    """The entry was produced from other inputs, settings or code than this run's."""


_WHAT = {"clean": "The clean tables", "month_figures": "The month figures", "members": "The member table",
         "ledger": "The ledger"}
_BY = {"data_cleaning": "the cleaning report", "month_figures": "the runner's month-figures step (after the cleaning)",
       "rfm_segmentation": "the RFM report", "ledger": "the runner's ledger step (after the cleaning)"}


def digest(stamp: dict) -> str:
    """A short, stable hash of a stamp (its JSON with sorted keys)."""
    return hashlib.sha256(json.dumps(stamp, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ------------------------------------------------------------------ the stamps each entry must have
def clean_stamp(run) -> dict:
    """The stamp the clean files of ``run`` must carry (:func:`memberkit.clean.cleaning_stamp`)."""
    from .clean import cleaning_stamp
    return cleaning_stamp(run.params("data_cleaning"), run.as_of, run.fingerprint, run.code_version)


def figures_months(run) -> int:
    """Months in ``month.json``: 13, or the RFM report's ``trend_months`` when it asks for more."""
    try:
        return max(MONTHS, run.params("rfm_segmentation").trend_months)
    except MemberkitError:
        return MONTHS


def figures_window(run) -> int:
    """The active window (days) of the month figures: the RFM report's, so both pages show the same rates
    (the cleaning's when the run has no valid RFM parameters)."""
    try:
        return run.params("rfm_segmentation").active_window_days
    except MemberkitError:
        return run.params("data_cleaning").active_window_days


def figures_stamp(run) -> dict:
    from .attribution import attribution_settings
    return {"clean": clean_stamp(run), "active_window_days": figures_window(run), "months": figures_months(run),
            "attribution": attribution_settings(), "code": run.code_version.split("+")[0]}


def members_stamp(run) -> dict:
    from .periods import period_bounds
    rfm = run.params("rfm_segmentation").model_dump(mode="json", include=set(MEMBER_TABLE_PARAMS))
    return {"clean": digest(clean_stamp(run)), "end": period_bounds(run.period)[1].isoformat(), "params": rfm,
            "code": run.code_version}


# ------------------------------------------------------------------ reading (never computes)
class PeriodStore:
    """The results of one period in ``folder`` (a run's staging folder or ``outputs/<period>``), read by name.

    ``run`` is the run they must belong to (:class:`memberkit.runfile.RunFile`): its period,
    parameters, inputs' fingerprint and code version give the stamp every entry must carry.
    """

    def __init__(self, folder: str | Path, run, history_dir: str | Path | None = None):
        self.folder, self.run = Path(folder), run
        #: where the published periods are (``outputs/``): the ledger reads the previous month there
        self.history_dir = Path(history_dir) if history_dir is not None else self.folder.parent

    @property
    def fingerprint(self) -> str:
        """sha256 of the run's inputs (hex)."""
        return self.run.fingerprint

    def status(self, entry: str) -> str:
        """``current``, ``missing`` or ``stale`` for one of :data:`ENTRIES`."""
        try:
            self._check(entry)
            return "current"
        except StoreMissing as e:
            return "missing" if e.why == "missing" else e.why
        except StoreStale as e:
            return "unreadable" if e.why == "unreadable" else "stale"

    def _check(self, entry: str):
        files = {"clean": ("data/clean/_stamp.json",), "month_figures": (FIGURES_FILE,),
                 "members": (MEMBERS_STAMP, MEMBERS_FILE), "ledger": (LEDGER_FILE,)}[entry]
        stamp_path = self.folder / files[0]
        for f in reversed(files):      # the data file first: it is what a reader misses
            if not (self.folder / f).is_file():
                raise StoreMissing(entry, self.folder / f, "missing")
        saved = _read_json(stamp_path)
        if entry in ("month_figures", "ledger"):
            saved = saved.get("stamp") if isinstance(saved, dict) and saved.get("period") == self.run.period else None
        listed = saved.pop("files", None) if entry == "clean" and isinstance(saved, dict) else None
        expected = (self._ledger_stamp() if entry == "ledger" else
                    {"clean": clean_stamp, "month_figures": figures_stamp, "members": members_stamp}[entry](self.run))
        if saved is None or (entry == "clean" and not isinstance(listed, list)):
            raise StoreStale(entry, stamp_path, "unreadable")
        if saved != json.loads(json.dumps(expected, default=str)):
            raise StoreStale(entry, stamp_path, "written for other inputs, settings or code")
        for name in listed or ():
            if not (self.folder / "data" / name).exists():     # a file, or a folder of parts (Spark on a cluster)
                raise StoreMissing(entry, self.folder / "data" / name, "incomplete")
        return listed

    def clean_tables(self, con=None) -> tuple[object, dict]:
        """The clean tables as engine tables (``orders``, ``members``, ... as the cleaning wrote them,
        and ``rejected_experiments`` / ``rejected_campaign_members`` for the pages that account for them).

        Returns (connection, {name: ibis table}). Raises :class:`StoreMissing` / :class:`StoreStale`.
        """
        from . import engine
        listed = set(self._check("clean"))        # the files the cleaning wrote, each there
        con = con or engine.connect(self.run.engine)
        data = self.folder / "data"
        tables = {name: engine.read_table(con, data / f"clean/{name}.parquet", f"clean_{name}")
                  for name in CLEAN_TABLES if f"clean/{name}.parquet" in listed}
        for name in ("experiments", "campaign_members"):
            if name in tables and f"rejected/{name}.parquet" in listed:
                tables[f"rejected_{name}"] = engine.read_table(con, data / f"rejected/{name}.parquet",
                                                               f"rejected_{name}")
        return con, tables

    def _ledger_stamp(self) -> dict:
        from .ledger import ledger_stamp, previous_folder
        return ledger_stamp(self.run, previous_folder(self.history_dir / self.run.period, self.run.period))

    def ledger(self) -> dict:
        """``ledger.json``: what became of the previous month's decisions and how good its forecast was
        (:func:`memberkit.ledger.build_ledger`'s dict with its ``stamp``); :class:`StoreStale` when the
        previous month's published files changed since it was written."""
        self._check("ledger")
        return _read_json(self.folder / LEDGER_FILE)

    def month_figures(self) -> dict:
        """``month.json``: ``{"period", "months": [YYYY-MM, oldest first], "figures": {name: [values]},
        "active_window_days", "stamp"}`` (rates as fractions, money in the data's currency, null unknown)."""
        self._check("month_figures")
        return _read_json(self.folder / FIGURES_FILE)

    def member_table(self, columns: list[str] | None = None):
        """The RFM member table at the period's end: one row per member who had joined or bought by then
        (member_id, recency_days, frequency, monetary, revenue_total, scores, segment, grid_segment, tier,
        stage, region, channel), in member id order. ``columns``: read only those of these names that the
        table holds, in the table's order (a report that reads a few of its 22 columns skips decoding the
        rest: at 1,000,000 members about half the read's time); None reads every column."""
        import pandas as pd
        import pyarrow.parquet as pq
        self._check("members")
        path = self.folder / MEMBERS_FILE
        if columns is not None:
            wanted = set(columns)
            columns = [c for c in pq.read_schema(path).names if c in wanted]
        return pd.read_parquet(path, columns=columns)

    def results(self, name: str) -> dict:
        """Report ``name``'s ``<name>.json`` (numbers and codes, :func:`memberkit.report.load_results`);
        :class:`StoreMissing` when the report has not run here."""
        from .report import load_results
        data = load_results(self.folder, name)
        if data is None:
            raise StoreMissing(name, self.folder / f"{name}.json", "missing")
        return data


# ------------------------------------------------------------------ writing (each by its owner)
def write_month_figures(folder: Path, run, figures: dict) -> Path:
    """``month.json`` from :func:`memberkit.month.compute_figures`' dict, stamped for ``run``."""
    from .report import dumps
    return _write_atomic(Path(folder) / FIGURES_FILE, dumps({**figures, "stamp": figures_stamp(run)}))


def write_member_table(folder: Path, run, table) -> Path:
    """``data/members.parquet`` and its stamp: the RFM member table at the period's end for ``run``."""
    path = Path(folder) / MEMBERS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    _write_atomic(Path(folder) / MEMBERS_STAMP, json.dumps(members_stamp(run), sort_keys=True))
    return path


# ------------------------------------------------------------------ producing what is missing (visible)
def prepare(ctx, needs=("clean",), log=None, who: str = "notebook", where=None) -> PeriodStore:
    """Produce every entry of ``needs`` (and what it needs) that is missing or stale, saying what ran in a
    sentence of :func:`prepared_sentence` ('the cleaned tables for 2026-10 were not there yet, so this
    notebook prepared them itself (11 s)'), in the run's language (the setting ``language``).

    For an analyst's notebook: ``store = prepare(ctx, needs=["clean", "members"])`` in its first
    cells, so *Run All* works on the bundled sample without the runner. The runner itself
    produces the entries in order and needs no call. Returns the :class:`PeriodStore` of
    ``ctx.output_dir``. ``who`` is who prepared it (``notebook`` or ``run``), ``where`` the folder looked in
    (default: the period is named). Raises what the producers raise (``InputError``, ``Problems``).
    """
    from .errors import ConfigError
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    unknown = [n for n in needs if n not in ENTRIES]
    if unknown:
        raise ConfigError(f"store.prepare: no entry {', '.join(map(repr, unknown))}; the entries it produces are "
                          f"{', '.join(ENTRIES)} (a report's results come from running that report)")
    language = (getattr(ctx.run, "settings", None) or {}).get("language") or "en"
    # an analyst's run reads the previous month where the published months are; a run of the runner
    # (its staging folder beside them) beside its own folder
    store = PeriodStore(ctx.output_dir, ctx.run, ctx.history_dir if getattr(ctx, "by_hand", False) else None)
    order = [e for e in ENTRIES if e in needs or (e == "clean" and needs)]
    for entry in order:
        state = store.status(entry)
        if state == "current":
            continue
        start = time.time()
        if _PRODUCE[entry](ctx, store) is False:
            log(prepared_sentence(entry, "meanwhile", 0, who, where, ctx.run.period, language))
            continue
        log(prepared_sentence(entry, state, time.time() - start, who, where, ctx.run.period, language))
    return store


#: The entries a sentence names in the singular ('the RFM member table was'; the others are plural).
_SINGULAR = {"members", "ledger"}


def prepared_sentence(entry: str, state: str, seconds: float, who: str = "notebook", where=None, period: str = "",
                      language: str = "en") -> str:
    """What :func:`prepare` says it did for ``entry`` (one of :data:`ENTRIES`) found in ``state`` (``missing``,
    ``stale`` or ``unreadable``; ``meanwhile`` when another process made it first): 'the cleaned tables for 2026-10
    were not there yet, so this notebook prepared them itself (11 s)', in ``language`` (catalogue ``store``).
    ``seconds``: the wall time it took, shown whole; ``who``: ``notebook`` or ``run``; ``where``: the folder
    looked in, else ``period`` ('YYYY-MM') is named. Raises KeyError for another entry, state or ``who``."""
    from .views.context import has_text, text
    key = f"store.{state}"
    if entry in _SINGULAR and has_text(f"{key}_one", language):
        key += "_one"
    place = (text("store.where_folder", language, folder=where) if where
             else text("store.where_period", language, period=period) if period else "")
    return text(key, language, what=text(f"store.entry.{entry}", language), where=place,
                who=text(f"store.who.{who}", language), seconds=f"{seconds:.0f}")


def _produce_clean(ctx, store: PeriodStore) -> bool:
    """Clean into the store's folder under a file lock; False when another process cleaned it meanwhile."""
    import fcntl
    from .clean import run_cleaning
    folder = store.folder / "data" / "clean"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:   # two notebooks opened together do not clean at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if store.status("clean") == "current":
            return False
        run_cleaning(ctx.run.params("data_cleaning"), ctx, store.folder / "data")
        return True


def _produce_month_figures(ctx, store: PeriodStore) -> None:
    from .month import produce_figures
    produce_figures(store)


def _produce_members(ctx, store: PeriodStore) -> None:
    from .rfm import produce_member_table
    produce_member_table(store)


def _produce_ledger(ctx, store: PeriodStore) -> None:
    from .ledger import previous_folder, produce_ledger
    produce_ledger(store, previous_folder(store.history_dir / store.run.period, store.run.period))


_PRODUCE = {"clean": _produce_clean, "month_figures": _produce_month_figures, "members": _produce_members,
            "ledger": _produce_ledger}


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
