"""Run every report for a period: validate, execute with papermill, render HTML, index, manifest.

The run is resolved once (:mod:`memberkit.runfile`: period, every report's parameters, inputs'
fingerprint, code version) and written to ``run.json`` in the staging folder, which every
notebook reads. Reports (:data:`memberkit.reports.REPORTS`) run in dependency order, two at a
time, each as soon as what it reads from the period store is there: the cleaning first, then the
month figures (the runner's own step), then the others. A failed
notebook leaves no HTML that looks complete: its executed copy is kept as
``<name>.failed.ipynb``, the index shows the failing cell and error, reports that depend on
it are skipped, the others still run, and the exit code is non-zero.

Example
-------
    python run_reports.py --period 2026-10 -p as_of=2026-11-01
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path


from .config import load_settings, project_root, redact
from .errors import ConfigError, InputError, MemberkitError, Problems, listed
from .reports import REPORTS, Report, depends_on, missing_tables, parameter_names


PACKAGES = ("memberkit", "pandas", "numpy", "duckdb", "ibis-framework", "pydantic", "papermill",
            "nbconvert", "lifetimes", "scipy", "seaborn", "matplotlib")


@dataclass
class Outcome:
    name: str
    status: str = "pending"      # ok | failed | skipped
    seconds: float = 0.0
    cell: int | None = None
    error: str = ""
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # shown in the run's output, the manifest and the index
    applicable: bool = True      # False: skipped because the source lacks a table it needs (not a failure)
    reason: dict = field(default_factory=dict)   # why it was skipped, as a code and values (views.skips words it)
    queries: dict = field(default_factory=dict)  # the engine queries its kernel sent (engine.queries), when known


# ------------------------------------------------------------------ the run's own lines
def said(key: str, language: str = "en", **values) -> str:
    """One progress or summary line of the run in its language (``runner.<key>`` of ``locale/<language>.yaml``);
    a number of seconds is given with one decimal. English lines keep their form: bench/run.py reads them back."""
    from .views.context import text
    values = {k: (f"{v:.1f}" if k == "seconds" else v) for k, v in values.items()}
    return text(f"runner.{key}", language, **values)


def period_line(prepared, language: str = "en") -> str:
    """'Period 2026-10: <why>': in English the run's recorded reason (``period_reason``, kept in run.json and
    the manifest as it is); in another language the same facts from the run (the month asked for or the last
    one ended by the extraction date, and the days an open month covers), so no English reaches its terminal."""
    from .runfile import open_period_days
    if language == "en":
        return said("period", language, period=prepared.period, reason=prepared.period_reason)
    asked = bool(prepared.settings.get("period"))
    days = open_period_days(prepared.period, prepared.as_of) if asked else None
    key = "period_open" if days else "period_asked" if asked else "period_default"
    return said(key, language, period=prepared.period, as_of=prepared.as_of.isoformat(),
                first=days[0].isoformat() if days else "")


def language_asked(config_files=(), overrides=()) -> str:
    """The run's language as the settings give it, before any check: the first lines of a run are said in it.
    English when the settings cannot be read or name no language the kit has (the checks then say why)."""
    from .languages import LANGUAGES
    try:
        language = load_settings(project_root(), [Path(f).resolve() for f in config_files], overrides).get("language")
    except (MemberkitError, OSError, ValueError):
        return "en"
    return language if language in LANGUAGES else "en"


# ------------------------------------------------------------------ HTML
def render_html(executed: Path, target: Path, language: str = "en", title: str | None = None) -> None:
    """Executed notebook -> HTML with no code, no prompts, no parameters cell, nothing fetched online.

    The page starts with a link back to the month's summary (``index.html`` beside it) and the switch
    to the other edition's page (:func:`memberkit.languages.switch_link`, hidden until that page is
    published), declares its language (``zh-CN`` for Chinese), carries ``title`` in the browser tab,
    gives every heading an anchor and opens with a table of contents (``views.page.link_headings``),
    and embeds the kit's fonts subset to the characters it shows.
    """
    from .languages import switch_link
    from .views.context import text
    from .views.page import embed_fonts, html_lang, link_headings
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config
    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = {"injected-parameters", "parameters", "analyst-only"}
    c.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=c, template_name="memberkit",
                            extra_template_basedirs=[str(Path(__file__).parent / "templates")])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    exporter.language_code = html_lang(language)
    nb = nbformat.read(executed, as_version=4)
    if title:
        nb.metadata["title"] = title
    # Errors and warnings written to stderr are for the analyst, not the reader.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    body, _ = exporter.from_notebook_node(nb, resources={"memberkit": {"back": text("month.back", language),
                                                                        "switch": switch_link(language, target.name)}})
    target.write_text(embed_fonts(link_headings(body, text("common.contents", language))), encoding="utf-8")


def glyph_warnings(executed: Path) -> list[str]:
    """Characters a chart could not draw, from the "Glyph ... missing from font(s)" warnings of a run notebook."""
    import re
    import nbformat
    nb = nbformat.read(executed, as_version=4)
    missing: dict[str, str] = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                for m in re.finditer(r"Glyph \d+ \((.*?)\) missing from font\(s\) ([^\n.]+)", o.get("text", "")):
                    missing.setdefault(m.group(1), m.group(2))
    if not missing:
        return []
    shown = listed(sorted(missing))
    return [f"{len(missing)} character(s) missing from the chart fonts ({', '.join(sorted(set(missing.values())))}): "
            f"{shown}; those charts show boxes"]


# ------------------------------------------------------------------ one notebook
def run_notebook(report: Report, root: Path, staging: Path, run_path: Path, log=print) -> Outcome:
    """Execute one report's notebook into the run's staging folder and render its page there.

    The results (``<name>.json``) and data files go to the staging folder itself, the page to its
    ``<lang>/`` folder (the run's language, :mod:`memberkit.languages`).

    The notebook gets the run file (``run_path``: the run resolved once, secrets only as
    ``${VAR}``) and its own parameters' values, named as in its ``parameters`` cell. The executed
    notebook itself is not kept (its cells may show member-level rows); a failed one is kept as
    ``<lang>/<name>.failed.ipynb`` with its code and only the error of the failing cell.
    """
    import papermill as pm
    from . import runfile
    from .languages import pages_dir
    from .views.context import text
    outcome = Outcome(report.name)
    partial = staging / f".{report.name}.running.ipynb"
    run = runfile.read(run_path)
    params = run.params(report.name)
    values = {"run_file": str(run_path), "output_dir": str(staging)}
    values.update({k: getattr(params, k) for k in parameter_names(report, root) if k in type(params).model_fields})
    start = time.time()
    lang = params.language
    log(said("started", lang, name=report.name))
    try:
        pm.execute_notebook(str(root / "notebooks" / report.notebook), str(partial), parameters=values,
                            cwd=str(root / "notebooks"), progress_bar=False, log_output=False,
                            kernel_name=kernel_name(),
                            # the kernel talks to the runner on 127.0.0.1 only: its "TCP without
                            # encryption" warning would be noise in every scheduled run's log
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            kernel_manager_class=finished_kernel_manager())
        outcome.warnings = glyph_warnings(partial)
        if not (staging / f"{report.name}.json").is_file():
            raise MemberkitError(f"{report.notebook} ran but recorded no results ({report.name}.json)")
        outcome.queries = _queries_of(staging / f"{report.name}.json")
        pages = pages_dir(staging, params.language)
        pages.mkdir(exist_ok=True)
        render_html(partial, pages / f"{report.name}.html", params.language,
                    f"{text(report.title_key, params.language)} · {run.period}")
        partial.unlink()
        outcome.status = "ok"
        outcome.files = [f"{params.language}/{report.name}.html", f"{report.name}.json"]
    except Exception as e:  # a notebook may raise anything; the run goes on with the others
        outcome.status = "failed"
        outcome.cell, outcome.error = _failure(e, partial)
        (staging / f"{report.name}.json").unlink(missing_ok=True)
        if partial.exists():
            pages_dir(staging, params.language).mkdir(exist_ok=True)
            _strip_outputs(partial, pages_dir(staging, params.language) / f"{report.name}.failed.ipynb")
            partial.unlink()
            outcome.files = [f"{params.language}/{report.name}.failed.ipynb"]
    outcome.seconds = round(time.time() - start, 1)
    if outcome.status == "ok":
        log(said("done", lang, name=report.name, seconds=outcome.seconds, queries=queries_note(outcome.queries, lang)))
        for warning in outcome.warnings:
            log(said("warning_of", lang, name=report.name, warning=warning))
    else:
        log(said("failed", lang, name=report.name, cell=outcome.cell, error=outcome.error))
    return outcome


def _queries_of(results: Path) -> dict:
    """The engine queries a report's kernel counted (its results' ``stamp.engine_queries``), or {}."""
    try:
        return dict(json.loads(results.read_text(encoding="utf-8")).get("stamp", {}).get("engine_queries") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def queries_note(queries: dict, language: str = "en") -> str:
    """', 85 engine queries' for a step's log line (nothing when not counted): read back by bench/run.py."""
    return said("queries", language, n=queries["queries"]) if queries.get("queries") is not None else ""


def _strip_outputs(executed: Path, target: Path) -> None:
    """A failed notebook without its outputs (they may show members) and without the injected
    parameters; only the error output of the failing cell stays."""
    import nbformat
    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict({**o, "traceback": []}) for o in cell.outputs
                            if o.get("output_type") == "error"]
    nbformat.write(nb, target)


@functools.lru_cache(maxsize=None)
def finished_kernel_manager():
    """The kernel manager class of a report's kernel (:class:`FinishedKernelManager`), built on first use so that
    importing the runner does not import jupyter_client."""
    from jupyter_client.manager import AsyncKernelManager

    class FinishedKernelManager(AsyncKernelManager):
        """The kernel manager of a report's kernel: it shuts a kernel down without first interrupting it.

        jupyter_client sends SIGINT before every shutdown request, to stop a busy kernel; papermill shuts a
        kernel down only once its cells have run (or one failed), often while the kernel is still finishing its
        last reply, and ipykernel then logs '[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.' into a
        successful run's log. The shutdown request is handled on the kernel's control thread even while it is
        busy, and a kernel that does not exit is still terminated and then killed (``shutdown_wait_time``); an
        interrupt at any other time (a cell's timeout) is sent as before."""

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return FinishedKernelManager


def kernel_name() -> str:
    """The project's kernel (registered by make) when present, else this interpreter's default one."""
    from jupyter_client.kernelspec import KernelSpecManager
    return "memberkit" if "memberkit" in KernelSpecManager().find_kernel_specs() else "python3"


def _failure(e: Exception, partial: Path) -> tuple[int | None, str]:
    from papermill.exceptions import PapermillExecutionError
    if isinstance(e, PapermillExecutionError):
        return e.exec_count, f"{e.ename}: {e.evalue}".strip()
    return None, f"{type(e).__name__}: {e}"


# ------------------------------------------------------------------ the whole run
def run(period: str | None = None, config_files=(), only=(), out_dir: str | None = None, overrides=(),
        log=print, pdf: bool = False) -> tuple[int, Path]:
    """Check everything, resolve the run once, run the reports in a staging folder, publish each complete report.

    Every check of :mod:`memberkit.checks` runs first; any problem stops the run before a kernel
    starts (:class:`Problems`, exit 2). The run file (``run.json``) then goes into
    ``.<period>.partial-*`` beside the output folder (same file system), where the reports run;
    each successful report's files are moved in with ``os.replace`` at the end, so a run killed at
    any point leaves the published pages and JSON of the period as they were. The run renders one
    language (the ``language`` setting): its pages go to ``<out>/<lang>/``, the language-free files
    (``<name>.json``, ``data/``, ``month.json``, ``manifest.json``) to ``<out>/``, and the other
    language's pages stay as they are (:mod:`memberkit.languages`). The summary page and
    manifest are written from what is on disk, so ``--only`` keeps the other reports' cards. With
    ``pdf``, every report page and the summary page are also printed to ``<name>.pdf`` by headless
    Chromium; without Chromium the run says so and keeps the HTML. Returns (exit code, output folder).
    """
    reports = [r for r in REPORTS if not only or r.name in only]
    from .engine import queries, queries_since
    lang = language_asked(config_files, list(overrides))
    log(said("checking", lang))
    start, before = time.time(), queries()
    prepared = check_run(period, config_files, only, out_dir, overrides, keep_staging=True)
    log(said("checks_done", lang, seconds=time.time() - start, queries=queries_note(queries_since(before), lang)))
    try:
        return _run_checked(prepared, reports, out_dir, log, pdf)
    finally:
        prepared.close()   # the staged copies of the exports hold personal data


def run_language(run_) -> str:
    """The language a run renders (the ``language`` setting, the same for every report of the run)."""
    return (run_.params("data_cleaning") if "data_cleaning" in run_.reports
            else run_.params(next(iter(run_.reports)))).language


def _run_checked(prepared, reports, out_dir, log, pdf) -> tuple[int, Path]:
    import shutil
    from dataclasses import asdict
    from . import runfile
    from .config import scrub_secrets
    from .languages import link_languages, pages_dir
    root, settings, secrets = prepared.root, prepared.settings, prepared.secrets

    def say(message: str) -> None:
        log(scrub_secrets(message, secrets))

    # absolute: papermill changes the working directory while a notebook runs, two run at a time
    out = Path(out_dir).resolve() if out_dir else root / "outputs" / prepared.period
    lang = next(iter(prepared.params.values())).language if prepared.params else "en"
    say(period_line(prepared, lang))
    for warning in prepared.warnings:
        say(said("warning", lang, warning=warning))
    staged = {"folder": str(prepared.staging_dir), "tables": {n: asdict(t) for n, t in prepared.staged.items()}} \
        if prepared.staged else {}
    run_ = runfile.build(root, settings, period=prepared.period, period_reason=prepared.period_reason,
                         as_of=prepared.as_of, params=prepared.params, staged=staged)
    run_, variables = runfile.secrets_as_variables(run_, secrets)
    out.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_staging(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
    say(said("reports_for", lang, period=prepared.period, out=out))
    saved_env = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)   # the kernels inherit them; the run file names them as ${VAR}
    try:
        run_path = run_.write(staging)
        tables = list(settings["source"]["tables"])
        figures_error = _prepare_store([r for r in reports if not missing_tables(r, tables)], out, staging, root,
                                       run_, say)
        outcomes = _execute(reports, root, staging, run_path, run_, say, figures_error, tables)
        language = run_language(run_)
        for r in reports:
            _publish(r, outcomes[r.name], staging, out, language, pdf, say)
        _publish_month_figures(staging, out, run_)
        write_manifest(out, root, run_, settings, outcomes, secrets)
        pages = write_summary(out, run_, outcomes, say, secrets, pdf)
        link_languages(out)
        if out.name == run_.period:
            link_languages(out.parent)
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(staging, ignore_errors=True)
    failed = [o for o in outcomes.values() if o.status != "ok" and o.applicable]
    printed_ok = write_pdfs(pages_dir(out, language), pages, say, language) if pdf else True
    ok = sum(o.status == "ok" for o in outcomes.values())
    not_applicable = sum(not o.applicable for o in outcomes.values())
    say(said("all_done", language, ok=ok, total=len(outcomes),
             not_applicable=said("not_applicable", language, n=not_applicable) if not_applicable else "",
             index=pages_dir(out, language) / "index.html"))
    return (1 if failed or not printed_ok else 0), out


def check_run(period: str | None = None, config_files=(), only=(), out_dir: str | None = None, overrides=(),
              keep_staging: bool = False):
    """Load every setting and run every check of :mod:`memberkit.checks`; nothing is written to the outputs.

    With ``keep_staging`` the tables staged by the checks stay in their private folder for the run
    (the caller closes the returned run to remove them); otherwise they are removed here.

    Returns the prepared :class:`memberkit.checks.Run` (parameters validated, period resolved with
    its reason, ``secrets`` found in the settings). Raises ``ConfigError`` (a config file that is
    not valid YAML, an unknown ``--only`` name) or ``Problems`` (everything the checks found).
    """
    from . import checks
    from .config import secret_values
    root = project_root()
    config_files = [Path(f).resolve() for f in config_files]
    overrides = list(overrides) + ([f"period={period}"] if period else [])
    names = [r.name for r in REPORTS]
    unknown = set(only) - set(names)
    if unknown:
        raise ConfigError(f"--only: unknown report(s) {sorted(unknown)}; reports are {names}")
    settings = load_settings(root, config_files, overrides)
    chosen = [r for r in REPORTS if not only or r.name in only]
    needed = {r.name for r in chosen} | {d for r in chosen for d in depends_on(r)}
    prepared = checks.run_checks(checks.Run(root, settings, [n for n in names if n in needed],
                                            overrides=overrides, out_dir=Path(out_dir) if out_dir else None))
    prepared.release_engine()
    if not keep_staging:
        prepared.close()
    prepared.secrets = secret_values(settings)
    return prepared


def _context(root: Path, folder: Path, run_):
    from .notebook import Context
    return Context(name="runner", root=root, period=run_.period, output_dir=folder, as_of=run_.as_of, run=run_,
                   history_dir=root / "outputs", period_reason=run_.period_reason)


def _prepare_store(reports, out: Path, staging: Path, root: Path, run_, log) -> str:
    """Put into the staging folder what this run's reports read but no report of this run produces
    (``--only``): the published entry when it is current for this run, else produced here, said in
    the log. Returns why the month figures could not be had ('' when they are there or come later)."""
    import shutil
    from . import store
    from .reports import PRODUCERS
    produced = {e for r in reports for e in r.produces}
    if "clean" in produced:
        produced |= {"month_figures", "ledger"}      # the runner's steps after the cleaning
    wanted = [e for e in store.ENTRIES if e not in produced and (any(e in r.reads for r in reports)
                                                                 or e in ("month_figures", "ledger"))]
    published = store.PeriodStore(out, run_, out.parent)
    ctx = _context(root, staging, run_)
    for entry in wanted:
        state = published.status(entry)
        if state == "current":
            for rel in {"clean": ["data/clean", "data/rejected"], "month_figures": [store.FIGURES_FILE],
                        "members": [store.MEMBERS_FILE, store.MEMBERS_STAMP], "ledger": [store.LEDGER_FILE]}[entry]:
                src, dst = out / rel, staging / rel
                if src.is_dir():
                    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".lock"))
                elif src.is_file():
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)
            continue
        try:
            store.prepare(ctx, needs=[entry], log=lambda m: log(f"  {m}"), who="run", where=out)
        except Exception as e:  # the reports that read it fail with the store's message; the summary says why
            log(f"  {entry} not prepared ({PRODUCERS[entry]}): {type(e).__name__}: {e}")
            if entry == "month_figures":
                return f"{type(e).__name__}: {e}"
    return ""


def _month_figures_step(staging: Path, root: Path, run_, log) -> str:
    """The runner's step after the cleaning: ``month.json`` in the staging folder. Returns '' or why it failed."""
    from . import store
    from .engine import queries, queries_since
    from .month import produce_figures
    start, before = time.time(), queries()
    try:
        produce_figures(store.PeriodStore(staging, run_))
    except Exception as e:  # the RFM report and the summary page say why
        log(said("figures_failed", run_language(run_), error=f"{type(e).__name__}: {e}"))
        return f"{type(e).__name__}: {e}"
    lang = run_language(run_)
    log(said("figures_done", lang, seconds=time.time() - start, queries=queries_note(queries_since(before), lang)))
    return ""


def _ledger_step(staging: Path, run_, log, history: Path | None = None) -> None:
    """The runner's step after the cleaning: ``ledger.json`` in the staging folder, from the previous
    month's published folder beside it (:func:`memberkit.ledger.produce_ledger`; it never raises for
    data: a ledger that could not be built says why)."""
    from . import store
    from .ledger import produce_ledger
    start = time.time()
    data = produce_ledger(store.PeriodStore(staging, run_, history))
    state, language = data.get("state"), run_language(run_)
    # the state in the run's words ('上月未出报告'), never its code ('previous_not_run') in a Chinese line
    log(said("ledger_done" if state != "failed" else "ledger_failed", language,
             state=said(f"ledger_state_{state}", language), seconds=time.time() - start, error=data.get("error")))


def _execute(reports, root, staging, run_path, run_, log, figures_error: str = "",
             tables=("orders",)) -> dict[str, Outcome]:
    """Run the reports two at a time, each as soon as the reports it depends on are done (registry order
    among those ready); a report whose dependency failed is skipped, and so is one reading the month
    figures when they could not be computed. A report needing a table that the source (``tables``: its
    table names) lacks is skipped first, as not applicable (:func:`memberkit.reports.missing_tables`);
    without orders there are no month figures."""
    from concurrent.futures import FIRST_COMPLETED, wait
    outcomes: dict[str, Outcome] = {}
    names = {r.name for r in reports}
    pending, running = list(reports), {}
    for r in reports:
        lacking = missing_tables(r, tables)
        if lacking:
            why = f"needs an {' and '.join(lacking)} table; the source has none"
            pending.remove(r)
            outcomes[r.name] = Outcome(r.name, "skipped", error=why, applicable=False,
                                       reason={"code": "missing_tables", "tables": list(lacking)})
            log(skipped_line(outcomes[r.name], run_language(run_)))
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        while pending or running:
            for r in list(pending):
                deps = [d for d in depends_on(r) if d in names]
                if any(d not in outcomes for d in deps):
                    continue
                bad = [d for d in deps if outcomes[d].status != "ok"]
                why = f"{bad[0]} failed" if bad else (
                    f"month figures: {figures_error}" if figures_error and "month_figures" in r.reads else "")
                if why:
                    pending.remove(r)
                    outcomes[r.name] = Outcome(r.name, "skipped", error=why, reason=(
                        {"code": "dependency_failed", "report": bad[0]} if bad
                        else {"code": "month_figures", "error": str(figures_error)}))
                    log(skipped_line(outcomes[r.name], run_language(run_)))
                elif len(running) < 2:
                    pending.remove(r)
                    running[pool.submit(run_notebook, r, root, staging, run_path, log)] = r
            if not running:
                if pending:   # nothing can start: a dependency outside the registry order
                    for r in pending:
                        outcomes[r.name] = Outcome(r.name, "skipped", error="its dependencies did not run",
                                                   reason={"code": "dependencies_not_run"})
                    pending = []
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                r = running.pop(future)
                outcomes[r.name] = future.result()
                if r.name == "data_cleaning" and outcomes[r.name].status == "ok" and "orders" in tables:
                    figures_error = _month_figures_step(staging, root, run_, log)
                    _ledger_step(staging, run_, log)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)   # Ctrl-C: do not wait for the running notebooks
        raise
    pool.shutdown()
    return {r.name: outcomes[r.name] for r in reports}


def skipped_line(outcome: Outcome, language: str = "en") -> str:
    """The log line of a skipped report: the manifest's English reason in English, else its reason code worded
    in ``language`` (:func:`memberkit.views.skips.skip_reason`, as the summary page words it)."""
    from .views.skips import skip_reason
    why = outcome.error if language == "en" else skip_reason(outcome.reason, language)
    return said("skipped", language, name=outcome.name, why=why)


def _publish_month_figures(staging: Path, out: Path, run_) -> None:
    """``month.json`` and ``ledger.json`` move in with the reports when this run made or checked them."""
    from .store import FIGURES_FILE, LEDGER_FILE, PeriodStore
    for entry, name in (("month_figures", FIGURES_FILE), ("ledger", LEDGER_FILE)):
        if (staging / name).is_file() and PeriodStore(staging, run_, out.parent).status(entry) == "current":
            os.replace(staging / name, out / name)


def write_pdfs(out: Path, pages: list[Path], log=print, language: str = "en") -> bool:
    """``<name>.pdf`` beside the summary page and every report page of the period that is there
    (``out``: the folder of the run's language, ``outputs/<period>/<lang>``).

    Returns False when Chromium failed on a page; a missing Chromium is said clearly and is not
    a failure (the HTML pages are complete).
    """
    from .pdf import find_chromium, print_pages
    chromium = find_chromium()
    targets = [p for p in pages if p.parent == out] + [out / f"{r.name}.html" for r in REPORTS
                                                       if (out / f"{r.name}.html").is_file()]
    if not chromium:
        log(said("no_chromium", language))
        return True
    log(said("printing", language, n=len(targets), chromium=chromium))
    written = print_pages(targets, chromium, log)
    log(said("printed", language, written=len(written), total=len(targets)))
    return len(written) == len(targets)


def _publish(spec: Report, outcome: Outcome, staging: Path, out: Path, language: str = "en", pdf: bool = False,
             log=print) -> None:
    """Move one report's files from the staging folder into the output folder, each with os.replace.

    A successful report replaces its JSON and data files in ``out`` and its page in ``out/<language>``
    (files of an earlier run that this run did not write, such as a segment list now empty, are
    removed); the other language's page is left as it is. A failed or skipped report leaves no page
    that looks complete: its JSON and this language's page are removed (its PDF too, said in the log)
    and the failed notebook put in their place. A page of the layout before one folder per language
    (``out/<name>.html``) goes. The page's PDF of an earlier run: with ``pdf`` it goes (it is printed
    again), without it is settled by :func:`settle_pdf` against the new page.
    """
    pages = f"{language}/{spec.name}"
    mine = [f"{pages}.html", f"{spec.name}.json", f"{pages}.failed.ipynb", f"{pages}.ipynb",
            f"{pages}.pdf", *spec.outputs]
    for legacy in (f"{spec.name}.html", f"{spec.name}.pdf", f"{spec.name}.failed.ipynb", f"{spec.name}.ipynb"):
        (out / legacy).unlink(missing_ok=True)
    printed_pdf, page = out / f"{pages}.pdf", out / f"{pages}.html"
    if outcome.status != "ok":
        if printed_pdf.is_file() and not pdf:
            log(f"  PDF removed: {printed_pdf} (its report did not complete in this run, so its page is gone too)")
        for name in mine[:5]:
            (out / name).unlink(missing_ok=True)
        if (staging / f"{pages}.failed.ipynb").exists():
            (out / language).mkdir(parents=True, exist_ok=True)
            os.replace(staging / f"{pages}.failed.ipynb", out / f"{pages}.failed.ipynb")
        return
    # the page the PDF was printed from, read before this run replaces it
    printed = page.read_text(encoding="utf-8") if not pdf and printed_pdf.is_file() and page.is_file() else None
    new = {p.relative_to(staging) for pattern in mine for p in staging.glob(pattern) if p.is_file()}
    old = {p.relative_to(out) for pattern in mine for p in out.glob(pattern) if p.is_file()}
    for rel in sorted(new, key=lambda r: r.suffix == ".html"):    # the page last: it links to the rest
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, out / rel)
    for rel in old - new:
        if printed is None or out / rel != printed_pdf:
            (out / rel).unlink(missing_ok=True)
    if printed is not None:
        settle_pdf(printed_pdf, printed, log)


def settle_pdf(pdf: Path, printed: str, log=print) -> None:
    """A run without ``--pdf`` has replaced the page that ``pdf`` was printed from (``printed``: that page's
    HTML, read before). The PDF stays when it still shows what the page shows (the run's stamp aside); when
    only words changed it stays too, and the log says that it is older than its page; when a figure changed
    it is removed, and the log says so: a PDF is read away from the log, so one beside a page with other
    figures would be believed, and the page it printed is replaced already. Each case said once, with the
    way to print again (``--pdf``). See :func:`memberkit.pdf.printed_state`."""
    from .pdf import OLDER, WRONG, printed_state
    state = printed_state(printed, pdf.with_suffix(".html").read_text(encoding="utf-8"))
    if state == OLDER:
        log(f"  PDF older than its page: {pdf} was printed from the page this run replaced (the same figures, "
            "other words); run with --pdf to print it again")
    elif state == WRONG:
        pdf.unlink(missing_ok=True)
        log(f"  PDF removed: {pdf} showed figures its page no longer holds (this run replaced the page); "
            "run with --pdf to print it again")


def _remove_abandoned_staging(out: Path) -> None:
    """Staging folders of runs that were killed (their process is gone) are removed."""
    import shutil
    for folder in out.parent.glob(f".{out.name}.partial-*"):
        try:
            pid = int(folder.name.rsplit(".partial-", 1)[1].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(out: Path, root: Path, run_, settings: dict, outcomes, secrets=frozenset(),
                   seconds: float | None = None) -> None:
    """manifest.json: parameters (no secret, however given), inputs' fingerprints (from the run, not hashed
    again), versions, and the status of every report of the period: this run's, and those an earlier
    run (``--only``) left."""
    from .config import scrub_secrets
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    previous = _read_manifest(out).get("reports", {})
    reports = {**previous, **{o.name: {"status": o.status, "seconds": o.seconds, "cell": o.cell, "error": o.error,
                                       "files": o.files, "warnings": o.warnings, "engine_queries": o.queries or None}
                              for o in outcomes.values()}}
    manifest = {
        "period": run_.period, "period_reason": run_.period_reason, "code_version": run_.code_version,
        "python": platform.python_version(), "packages": versions, "parameters": redact(settings),
        "inputs": run_.inputs,
        "duration_seconds": round(seconds if seconds is not None else sum(o.seconds for o in outcomes.values()), 1),
        "reports": {r.name: reports[r.name] for r in REPORTS if r.name in reports},
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1, default=str)
    _write_atomic(out / "manifest.json", scrub_secrets(text, set(secrets)))


def _read_manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_summary(out: Path, run_, outcomes: dict[str, Outcome], log=print, secrets=frozenset(),
                  pdf: bool = False) -> list[Path]:
    """The month's summary page (``<lang>/index.html``) and the index across months (``../<lang>/index.html``),
    in the run's language.

    The key figures are read from the period store (``month.json``, written by the runner's step
    after the cleaning); the reports' cards from this run's outcomes and, for reports not run this
    time (``--only``), from what the period's folder holds. Error messages shown on the page have
    every one of ``secrets`` replaced by ``***``, as in the log and the manifest. The summary's PDF of an
    earlier run goes with ``pdf`` (it is printed again), else :func:`settle_pdf` settles it.
    """
    from . import month
    from .config import scrub_secrets
    from .store import PeriodStore
    from .views import month as month_views
    params = run_.params("data_cleaning") if "data_cleaning" in run_.reports else run_.params(next(iter(run_.reports)))
    figures, error = None, ""
    cleaning = outcomes.get("data_cleaning")
    if cleaning is not None and cleaning.status != "ok":
        error = month_views.text("month.figures_not_cleaned", params.language)
    elif "orders" not in params.source.tables:
        error = month_views.text("month.figures_no_orders", params.language)
    else:
        try:
            figures = PeriodStore(out, run_).month_figures()
        except MemberkitError as e:  # the page says why; the reports themselves are already written
            error = scrub_secrets(str(e), set(secrets))
            log(f"  key figures not shown: {error}")
    summary = month.collect(out, run_.period, params.language, params.currency, [r.name for r in REPORTS],
                            outcomes, figures, error, as_of=run_.as_of, display_names=params.display_names)
    for report in summary.reports:
        report.error = scrub_secrets(report.error, set(secrets))
    for legacy in ("index.html", "index.pdf"):     # the layout before one folder per language
        (out / legacy).unlink(missing_ok=True)
    if out.name == run_.period:                    # ... and its index across months, in one language
        (out.parent / "index.html").unlink(missing_ok=True)
    printed_pdf, page = out / params.language / "index.pdf", out / params.language / "index.html"
    printed = page.read_text(encoding="utf-8") if not pdf and printed_pdf.is_file() and page.is_file() else None
    if pdf:
        printed_pdf.unlink(missing_ok=True)     # printed again
    footer = {"code": run_.code_version, "fingerprint": run_.fingerprint[:16]}
    written = month_views.write_pages(summary, out, footer)
    if printed is not None:
        settle_pdf(printed_pdf, printed, log)
    return written


# ------------------------------------------------------------------ command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_reports.py", description="Run the member analytics reports for a month.")
    p.add_argument("--period", help="month to report, YYYY-MM (default: the last calendar month that ended by as_of, the extraction date)")
    p.add_argument("--config", nargs="+", default=[], metavar="FILE",
                   help="YAML files layered over params/*.yaml (e.g. your column map)")
    p.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run only these reports")
    p.add_argument("--out", help="output folder (default: outputs/<period>)")
    p.add_argument("--pdf", action="store_true",
                   help="also print every page to <name>.pdf with headless Chromium (A4)")
    p.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. -p as_of=2026-11-01 -p notebooks.data_cleaning.outlier_policy=cap")
    return p


def main(argv: list[str] | None = None) -> int:
    """The command line: exit 0 when every report succeeded, 1 when one failed, 2 for a bad parameter or
    input (nothing ran), 130 when interrupted (Ctrl-C). Errors are one message, never a traceback."""
    import signal
    args = build_parser().parse_args(argv)
    # A parent that ignores SIGINT (a test runner, some schedulers) passes that on to its children;
    # Ctrl-C must still stop the run.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code, _ = run(args.period, args.config, args.only, args.out, args.overrides, pdf=args.pdf)
        return code
    except (ConfigError, InputError, Problems) as e:
        print(f"error: {_scrubbed(e, args)}", file=sys.stderr)
        return 2
    except MemberkitError as e:
        print(f"error: {_scrubbed(e, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the published reports are unchanged", file=sys.stderr, flush=True)
        if threading.active_count() > 1:      # notebooks still running in worker threads: do not wait for them
            sys.stdout.flush()
            os._exit(130)
        return 130
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {_scrubbed(f'{e.strerror or e}{where}', args)}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - a bug in the kit still ends in one line, not a traceback
        print(f"error: unexpected {type(e).__name__}: {_scrubbed(e, args)} (please report this)", file=sys.stderr)
        return 1


def _scrubbed(error, args) -> str:
    """The message without any secret the run's settings hold."""
    from .config import scrub_secrets, secret_values
    secrets = secret_values(args.overrides)
    try:
        secrets |= secret_values(load_settings(project_root(), [Path(f).resolve() for f in args.config], args.overrides))
    except MemberkitError:
        pass
    return scrub_secrets(str(error), secrets)
