"""The run resolved once: period, extraction date, every report's validated parameters, code and inputs.

The runner works the run out once (after :mod:`memberkit.checks`) and writes it as ``run.json``
into the run's staging folder; every notebook it starts reads that file instead of loading and
validating the settings again, and the period store (:mod:`memberkit.store`) compares stamps
against it instead of hashing the exports again. An analyst's notebook builds the same object
in memory (:func:`build`, called by :func:`memberkit.notebook.resolve`).

The file holds secrets only in their ``${VAR}`` form (:func:`secrets_as_variables` moves a
password written into a setting to an environment variable of the run) and is never published
into ``outputs/<period>/``.

Example
-------
>>> import datetime as dt
>>> work_out_period(None, dt.date(2026, 11, 1), "as_of")[0]
'2026-10'
>>> work_out_period("2026-07", dt.date(2026, 11, 1), "as_of")
('2026-07', '2026-07 was asked for (period)')
>>> work_out_period("2017-01", dt.date(2017, 1, 25), "as_of")[1]
'2017-01 was asked for (period); it was still open at extraction (as_of 2017-01-25), so it covers 2017-01-01 to 2017-01-25 only'
"""

from __future__ import annotations

import datetime as _dt
import json
import os

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

RUN_FILE = "run.json"
SECRET_VARIABLE = "MEMBERKIT_SECRET_{}"


# ------------------------------------------------------------------ the period (one function for checks and notebooks)
def extraction_date(params, root: Path) -> tuple[_dt.date, str]:
    """The extraction date and where it comes from: ``as_of``; else, for the bundled sample retailer,
    the date its ground truth records (the sample must have been prepared: :func:`memberkit.sample.ensure_sample`);
    else today on the shop's clock (``time_zone``), so a run just after midnight in Shanghai from a
    server in UTC already reports the month just closed."""
    if params.as_of:
        return _dt.date.fromisoformat(params.as_of), "as_of"
    if params.source.sample is not None:
        base = Path(params.source.base_dir)
        truth = (base if base.is_absolute() else Path(root) / base) / "ground_truth.json"
        if truth.is_file():
            extracted = json.loads(truth.read_text(encoding="utf-8"))["extracted_at"]
            return _dt.date.fromisoformat(extracted), "as_of not set: the sample retailer's extraction date"
    from zoneinfo import ZoneInfo
    today = _dt.datetime.now(ZoneInfo(params.time_zone)).date()
    return today, f"as_of not set: today in {params.time_zone}"


def work_out_period(asked: str | None, as_of: _dt.date, how: str = "as_of") -> tuple[str, str]:
    """The period to report ('YYYY-MM') and why: ``asked`` when given, else the last calendar month
    that ended by ``as_of`` (:func:`memberkit.periods.default_period`). Used by the checks and by notebooks.

    A month asked for may still have been open at extraction (it ends on or after ``as_of``): the
    reason then says so and which days it covers (:func:`open_period_days`).

    Raises
    ------
    ConfigError
        when the month asked for starts after ``as_of`` (none of it is in the data).
    """
    from .periods import default_period, period_bounds
    if not asked:
        return default_period(as_of, how)
    start, _ = period_bounds(asked)
    if start > as_of:
        raise ConfigError(f"period {asked} starts after the extraction date as_of {as_of.isoformat()}: "
                          "none of it is in the data; choose an earlier period or check as_of")
    days = open_period_days(asked, as_of)
    if days:
        return asked, (f"{asked} was asked for (period); it was still open at extraction ({how} "
                       f"{as_of.isoformat()}), so it covers {days[0].isoformat()} to {days[1].isoformat()} only")
    return asked, f"{asked} was asked for (period)"


def open_period_days(period: str, as_of: _dt.date) -> tuple[_dt.date, _dt.date] | None:
    """(first day, ``as_of``) of ``period`` when it had not ended by the extraction date ``as_of``
    (a month ends at midnight after its last day), else None."""
    from .periods import period_bounds
    start, end = period_bounds(period)
    return (start, as_of) if start <= as_of <= end else None


# ------------------------------------------------------------------ the run
@dataclass(frozen=True)
class RunFile:
    """One run, resolved: what every report of it shares.

    ``reports`` maps a report's name to its validated parameters as JSON data (``model_dump``);
    :meth:`params` validates them back into the report's model. ``inputs`` is the sha256 of
    every input table (:func:`memberkit.sources.input_fingerprints`), ``fingerprint`` their
    combination; ``settings`` every merged setting (secrets as ``${VAR}``).
    """

    period: str
    period_reason: str
    as_of: _dt.date
    code_version: str
    inputs: dict
    fingerprint: str
    reports: dict = field(default_factory=dict, repr=False)
    settings: dict = field(default_factory=dict, repr=False)
    # the input tables the up-front checks staged as Parquet: {"folder": path, "tables": {name: StagedTable fields}};
    # empty when nothing was staged (an analyst's notebook stages for itself)
    staged: dict = field(default_factory=dict, repr=False)

    def params(self, name: str):
        """Report ``name``'s parameters as its validated model; ``ConfigError`` when the run has none for it."""
        from .config import NOTEBOOK_PARAMS
        if name not in self.reports:
            raise ConfigError(f"the run has no valid parameters for report {name!r} "
                              f"(it has: {', '.join(self.reports) or 'none'})")
        return NOTEBOOK_PARAMS[name].model_validate(self.reports[name])

    @property
    def engine(self):
        """The run's engine setting (:class:`memberkit.config.EngineSettings`), shared by every report."""
        from .config import EngineSettings
        first = next(iter(self.reports.values()), {})
        return EngineSettings.model_validate(first.get("engine") or {})

    def to_dict(self) -> dict:
        return {"period": self.period, "period_reason": self.period_reason, "as_of": self.as_of.isoformat(),
                "code_version": self.code_version, "inputs": self.inputs, "fingerprint": self.fingerprint,
                "reports": self.reports, "settings": self.settings, "staged": self.staged}

    def write(self, folder: Path) -> Path:
        """``<folder>/run.json``, readable by its owner only, written whole or not at all."""
        path = Path(folder) / RUN_FILE
        tmp = path.with_name(f".{RUN_FILE}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False, indent=1, sort_keys=False, default=str)
        os.replace(tmp, path)
        return path


def read(path: str | Path) -> RunFile:
    """The run file at ``path`` (a folder means its ``run.json``); ``ConfigError`` when absent or unreadable."""
    path = Path(path)
    if path.is_dir():
        path = path / RUN_FILE
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return RunFile(d["period"], d["period_reason"], _dt.date.fromisoformat(d["as_of"]), d["code_version"],
                       d["inputs"], d["fingerprint"], d.get("reports", {}), d.get("settings", {}), d.get("staged", {}))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"run file {path}: cannot be read ({type(e).__name__}: {e}); it is written by "
                          f"run_reports.py for its notebooks, or leave run_file at None") from e


def build(root: Path, settings: dict, *, period: str | None = None, period_reason: str = "",
          as_of: _dt.date | None = None, params: dict | None = None, inputs: dict | None = None,
          staged: dict | None = None) -> RunFile:
    """The run for ``settings``: each report's parameters validated (those given in ``params`` as they
    are; a report whose parameters do not validate is left out), the period worked out (unless given),
    and the inputs hashed once (unless ``inputs`` is given).

    Raises ``ConfigError`` when no report's parameters validate.
    """
    from .config import NOTEBOOK_PARAMS, notebook_params
    from .sources import combined_fingerprint, input_fingerprints
    from .version import code_version
    validated = dict(params or {})
    for name in NOTEBOOK_PARAMS:
        if name not in validated:
            try:
                validated[name] = notebook_params(settings, name)
            except ConfigError:
                continue
    if not validated:
        raise ConfigError("no report's parameters are valid")
    base = next(iter(validated.values()))
    if as_of is None:
        as_of, how = extraction_date(base, root)
    else:
        how = "as_of"
    if period is None:
        period, period_reason = work_out_period(base.period, as_of, how)
    inputs = inputs if inputs is not None else input_fingerprints(base.source, root)
    # every report's parameters name the period worked out, as the runner's notebooks and footers show it
    return RunFile(period, period_reason, as_of, code_version(), inputs, combined_fingerprint(inputs),
                   {n: {**p.model_dump(mode="json"), "period": period} for n, p in validated.items()}, settings,
                   staged or {})


# ------------------------------------------------------------------ secrets
def secrets_as_variables(run: RunFile, secrets) -> tuple[RunFile, dict[str, str]]:
    """``run`` with every literal secret replaced by ``${MEMBERKIT_SECRET_<n>}``, and those variables.

    A password given on the command line or in a config file (instead of as ``${VAR}``) would
    otherwise be written to disk with the run file; the runner puts the returned variables into the
    environment its kernels inherit, where the database URL's ``${VAR}`` expansion finds them.
    """
    variables = {SECRET_VARIABLE.format(i): s for i, s in enumerate(sorted(secrets, key=lambda s: (-len(s), s)), 1)}
    if not variables:
        return run, {}
    text = json.dumps(run.to_dict(), ensure_ascii=False, default=str)
    for var, secret in variables.items():
        # inside JSON text: the secret as json.dumps writes it, without its quotes
        text = text.replace(json.dumps(secret, ensure_ascii=False)[1:-1], "${" + var + "}")
    d = json.loads(text)
    return RunFile(d["period"], d["period_reason"], run.as_of, d["code_version"], d["inputs"], d["fingerprint"],
                   d["reports"], d["settings"], d.get("staged", {})), variables
