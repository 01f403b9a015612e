"""What the first cells of every notebook call: resolve and validate parameters, set up the page.

The runner resolves the run once and writes it to a run file (:mod:`memberkit.runfile`) that a
notebook it starts reads; an analyst's notebook resolves the same run here, with the same models.

Example
-------
>>> # params, ctx = resolve("data_cleaning", period=None, config_files=[], overrides=[])
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from .config import ReportSettings, load_settings, notebook_params, parse_override, project_root, setting_problem
from .errors import ConfigError, InputError, Problems
from .runfile import RunFile


@dataclass
class Context:
    name: str
    root: Path
    period: str
    output_dir: Path
    as_of: _dt.date
    run: RunFile | None = field(default=None, repr=False)   # the run resolved once: every report's parameters, inputs, code
    history_dir: Path | None = None   # the folder holding published periods (for the change against last period)
    period_reason: str = ""
    scratch: bool = False             # run by hand into outputs/scratch/<period>/ (no output_dir, no run file)
    by_hand: bool = False             # resolved in the notebook (no run file): an analyst's run

    @property
    def data_dir(self) -> Path:
        return self.output_dir / "data"

    @property
    def published_dir(self) -> Path | None:
        """The published month this run leaves alone (``outputs/<period>``), for a scratch run; else None."""
        return self.history_dir / self.period if self.scratch and self.history_dir is not None else None

    @property
    def settings(self) -> dict:
        """Every merged setting of the run (secrets as ``${VAR}``)."""
        return self.run.settings if self.run is not None else {}


def resolve(name: str, config_files=(), overrides=(), output_dir: str | None = None, run_file: str | None = None,
            **explicit):
    """The validated parameters and the run context of report ``name``: what a notebook's first cell calls.

    Started by the runner, a notebook gets ``run_file`` (the run resolved once, :mod:`memberkit.runfile`)
    and reads everything from it. Opened by an analyst, it resolves the run here: settings from
    params/*.yaml, then ``config_files``, then ``overrides``, then ``explicit`` values (the
    notebook's own parameter variables; None means "use the config"), the bundled sample prepared
    when it is the source, the period the one asked for or else the last calendar month that
    ended by ``as_of``. Without ``output_dir`` a notebook writes to ``outputs/scratch/<period>/``:
    a notebook run by hand (JupyterLab's Run All) never touches a published month; the runner
    passes its own folder, and an analyst who wants to publish names ``outputs/<period>`` explicitly
    (a relative ``output_dir`` is relative to the project folder, not to notebooks/).
    Raises ``ConfigError`` for settings that do not validate or an override naming no setting (with the
    nearest one, :func:`memberkit.config.setting_problem`); in a notebook it shows as one line
    (:func:`show_errors_in_one_line`).
    """
    from . import runfile
    show_errors_in_one_line()
    check_injected_parameters(name, {"config_files", "overrides", "output_dir", "run_file", *explicit})
    root = project_root()
    if run_file:
        run = runfile.read(run_file)
        params = run.params(name)
        ignored = {k: v for k, v in explicit.items() if v is not None and getattr(params, k, v) != v}
        if ignored:   # the run file is the run: a value set in the notebook as well does not count
            import sys
            print(f"run_file given: the run's parameters are used, not {ignored}", file=sys.stderr, flush=True)
    else:
        from .sample import ensure_sample
        for text in overrides:   # a misspelt key is named with the nearest setting, as on the command line
            keys, value = parse_override(text)
            why = setting_problem(keys, value)
            if why:
                raise ConfigError(f"overrides: {text.split('=', 1)[0]}: {why}")
        settings = load_settings(root, [Path(f) if Path(f).is_absolute() else root / f for f in config_files],
                                 list(overrides))
        for key, value in explicit.items():
            if value is not None:
                target = settings if key in ReportSettings.model_fields else settings.setdefault("notebooks", {}).setdefault(name, {})
                target[key] = value
        params = notebook_params(settings, name)
        ensure_sample(params.source, root)
        run = runfile.build(root, settings, params={name: params})
    out = Path(output_dir) if output_dir else root / "outputs" / "scratch" / run.period
    out = out if out.is_absolute() else root / out        # as the README writes it: outputs/<period>
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output_dir {out}: it is a file, not a folder")
    return params, Context(name=name, root=root, period=run.period, output_dir=out, as_of=run.as_of, run=run,
                           history_dir=root / "outputs", period_reason=run.period_reason,
                           scratch=not output_dir and not run_file, by_hand=not run_file)


PAPERMILL_PARAMETERS_COMMENT = "# Parameters\n"   # the first line of the cell papermill injects (its translators' codify)


def injected_parameter_names(cell_sources=None) -> list[str]:
    """The names papermill's ``-p`` set in this kernel, in the order given; ``[]`` when none were injected.

    Papermill warns of a name the parameters cell does not define and runs on: a misspelt ``-p splitt median``
    would leave ``split`` at its default and the page would not say so. Its injected cell starts with the line
    ``# Parameters`` (papermill's ``Translator.codify``); the notebooks' own parameters cell starts otherwise.
    ``cell_sources`` are the executed cells' sources, oldest first (IPython's ``In``); None reads them from the
    running kernel (``[]`` outside IPython).
    """
    import ast
    if cell_sources is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return []
        shell = get_ipython()
        cell_sources = shell.user_ns.get("In", []) if shell is not None else []
    for source in reversed(list(cell_sources)):
        if isinstance(source, str) and source.startswith(PAPERMILL_PARAMETERS_COMMENT):
            return [target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Name)]
    return []


def check_injected_parameters(name: str, known: set[str], cell_sources=None) -> None:
    """Raise ``ConfigError`` naming a parameter papermill injected that report ``name``'s notebook does not take,
    with the nearest one it does (:func:`difflib.get_close_matches`), as the command line names a misspelt key."""
    import difflib
    unknown = [n for n in injected_parameter_names(cell_sources) if n not in known]
    if unknown:
        near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"; did you mean {near[0]}?" if near else f"; it takes {', '.join(sorted(known))}"
        raise ConfigError(f"parameters of {name}: {unknown[0]}: no such parameter{hint}")


ONE_LINE_ERRORS = (ConfigError, InputError, Problems)   # what the command line shows as "error: ..." (exit 2)


def one_line(error: BaseException) -> str:
    """``error`` as the command line shows it: ``error: <message>`` (no traceback)."""
    return f"error: {error}"


def show_errors_in_one_line() -> bool:
    """In IPython or Jupyter, show a bad parameter or input (:data:`ONE_LINE_ERRORS`) as the command line
    does, ``error: <message>``, instead of a traceback through the kit; other errors keep their traceback.

    IPython's custom exception handler (``InteractiveShell.set_custom_exc``): the cell still fails (the
    kernel replies with an error, so papermill and the runner see the failure with its name and message).
    Returns False outside IPython, where nothing is changed.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def handler(shell, etype, value, tb, tb_offset=None):
        shell._showtraceback(etype, value, [one_line(value)])
        return [one_line(value)]
    shell.set_custom_exc(ONE_LINE_ERRORS, handler)
    return True



def previous_results(ctx: Context, name: str) -> dict | None:
    """The results this report recorded for the previous period: published beside this run's folder, else,
    for an analyst's run in the notebook, in the project's outputs/ (a scratch run compares with the published
    month). A run of the runner reads only beside its own folder, as the period store does for the ledger: with
    ``--out`` elsewhere (another shop's data, a test) the project's outputs/ hold another run's months."""
    from .periods import previous_period
    from .report import load_results
    for folder in (ctx.output_dir.parent, ctx.history_dir if ctx.by_hand else None):
        found = folder is not None and load_results(folder / previous_period(ctx.period), name)
        if found:
            return found
    return None
