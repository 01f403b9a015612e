"""What the first cells of every notebook call: resolve and validate parameters, set up the page.

The runner calls :func:`resolve` with the same arguments before any kernel starts, so a
parameter is validated by one model in both places.

Example
-------
>>> # params, ctx = resolve("data_cleaning", period=None, config_files=[], overrides=[])
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .config import ReportSettings, load_settings, notebook_params, project_root


@dataclass
class Context:
    name: str
    root: Path
    period: str
    output_dir: Path
    as_of: _dt.date
    settings: dict = field(default_factory=dict, repr=False)   # every merged setting, for reports that need another's
    history_dir: Path | None = None   # the folder holding published periods (for the change against last period)
    period_reason: str = ""

    @property
    def data_dir(self) -> Path:
        return self.output_dir / "data"


def resolve(name: str, config_files=(), overrides=(), output_dir: str | None = None, **explicit):
    """Settings from params/*.yaml, then ``config_files``, then ``overrides``, then ``explicit`` values.

    ``explicit`` holds the notebook's own parameter variables; None means "use the config".
    The period is the one asked for, else the last calendar month that ended by ``as_of``.
    Without ``output_dir`` a notebook writes to ``outputs/scratch/<period>/``: a notebook run by
    hand (JupyterLab's Run All) never touches a published month; the runner passes its own
    folder, and an analyst who wants to publish names ``outputs/<period>`` explicitly.
    Returns the validated parameters and the run context (period resolved, output folder).
    """
    from .periods import default_period
    root = project_root()
    settings = load_settings(root, [Path(f) if Path(f).is_absolute() else root / f for f in config_files],
                             list(overrides))
    for key, value in explicit.items():
        if value is not None:
            target = settings if key in ReportSettings.model_fields else settings.setdefault("notebooks", {}).setdefault(name, {})
            target[key] = value
    params = notebook_params(settings, name)
    as_of, how = extraction_date(params, root)
    if params.period:
        period, reason = params.period, f"{params.period} was asked for (period)"
    else:
        period, reason = default_period(as_of, how)
    out = Path(output_dir) if output_dir else root / "outputs" / "scratch" / period
    return params, Context(name=name, root=root, period=period, output_dir=out, as_of=as_of, settings=settings,
                           history_dir=root / "outputs", period_reason=reason)


def extraction_date(params: ReportSettings, root: Path) -> tuple[_dt.date, str]:
    """The extraction date and where it comes from: ``as_of``; else, for the bundled sample retailer,
    the date its ground truth records; else today on the shop's clock (``time_zone``), so a run
    just after midnight in Shanghai from a server in UTC already reports the month just closed."""
    import json
    if params.as_of:
        return _dt.date.fromisoformat(params.as_of), "as_of"
    if params.source.sample is not None:
        from .sources import ensure_sample
        truth = ensure_sample(params.source, root) / "ground_truth.json"
        if truth.is_file():
            extracted = json.loads(truth.read_text(encoding="utf-8"))["extracted_at"]
            return _dt.date.fromisoformat(extracted), "as_of not set: the sample retailer's extraction date"
    from zoneinfo import ZoneInfo
    today = _dt.datetime.now(ZoneInfo(params.time_zone)).date()
    return today, f"as_of not set: today in {params.time_zone}"


def previous_results(ctx: Context, name: str) -> dict | None:
    """The results this report recorded for the previous period: published beside this run's folder,
    else in the project's outputs/ (a scratch run compares with the published month)."""
    from .periods import previous_period
    from .report import load_results
    for folder in (ctx.output_dir.parent, ctx.history_dir):
        found = folder is not None and load_results(folder / previous_period(ctx.period), name)
        if found:
            return found
    return None


def code_version() -> str:
    """The package version plus the git commit when the code is a checkout."""
    import subprocess
    try:
        here = Path(__file__).resolve().parent
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, timeout=5).stdout.strip()
        return f"{__version__}+{sha}{'.dirty' if dirty else ''}" if sha else __version__
    except (OSError, subprocess.SubprocessError):
        return __version__
