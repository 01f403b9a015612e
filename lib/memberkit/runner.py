"""Run every report for a period: validate, execute with papermill, render HTML, index, manifest.

Notebooks run in dependency order (cleaning first, then the others two at a time). A failed
notebook leaves no HTML that looks complete: its executed copy is kept as
``<name>.failed.ipynb``, the index shows the failing cell and error, reports that depend on
it are skipped, the others still run, and the exit code is non-zero.

Example
-------
    python run_reports.py --period 2026-10 -p as_of=2026-11-01
"""

from __future__ import annotations

import argparse
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

import yaml

from .config import load_settings, notebook_params, project_root, redact
from .errors import ConfigError, InputError, MemberkitError, Problems


@dataclass(frozen=True)
class NotebookSpec:
    name: str
    file: str
    depends_on: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()   # names of notebook parameters filled from the validated model
    outputs: tuple[str, ...] = ()      # its files besides <name>.html / .json, as globs under the output folder


NOTEBOOKS = (
    NotebookSpec("data_cleaning", "01_data_cleaning.ipynb", (), ("outlier_policy", "outlier_multiple", "language"),
                 ("data/clean/*.parquet", "data/clean/_stamp.json", "data/rejected/*.parquet")),
    NotebookSpec("rfm_segmentation", "02_rfm_segmentation.ipynb", ("data_cleaning",),
                 ("window_days", "split", "tier_thresholds", "language"), ("data/rfm_*.csv",)),
    NotebookSpec("clv_forecast", "03_clv_forecast.ipynb", ("data_cleaning",),
                 ("unit", "holdout_weeks", "model", "horizon_months", "language"), ("data/clv_members.csv", "data/clv_at_risk.csv")),
    NotebookSpec("ab_test", "04_ab_test.ipynb", ("data_cleaning",),
                 ("experiments", "window_days", "primary_metric", "winsorize_percentile", "language")),
    NotebookSpec("campaign_review", "05_campaign_review.ipynb", ("data_cleaning",),
                 ("campaigns", "post_days", "margin", "language")),
)
PACKAGES = ("memberkit", "pandas", "numpy", "duckdb", "ibis-framework", "pandera", "pydantic", "papermill",
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


# ------------------------------------------------------------------ HTML
def render_html(executed: Path, target: Path, language: str = "en", title: str | None = None) -> None:
    """Executed notebook -> HTML with no code, no prompts, no parameters cell, nothing fetched online.

    The page starts with a link back to the month's summary (``index.html`` beside it), declares its
    language (``zh-CN`` for Chinese), carries ``title`` in the browser tab and embeds the kit's CJK
    font subset to the characters it shows.
    """
    from .views.context import text
    from .views.page import embed_fonts, html_lang
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
    body, _ = exporter.from_notebook_node(nb, resources={"memberkit": {"back": text("month.back", language)}})
    target.write_text(embed_fonts(body), encoding="utf-8")


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
    shown = ", ".join(sorted(missing)[:20]) + (" ..." if len(missing) > 20 else "")
    return [f"{len(missing)} character(s) missing from the chart fonts ({', '.join(sorted(set(missing.values())))}): "
            f"{shown}; those charts show boxes"]


# ------------------------------------------------------------------ one notebook
def run_notebook(spec: NotebookSpec, root: Path, staging: Path, period: str, params, settings_file: Path,
                 log=print) -> Outcome:
    """Execute one notebook into the run's staging folder and render its page there.

    The notebook gets the run's settings through ``settings_file`` (a private temporary file), so
    no setting given on the command line, a password included, is written into the executed
    notebook. The executed notebook itself is not kept (its cells may show member-level rows); a
    failed one is kept as ``<name>.failed.ipynb`` with its code and only the error of the failing cell.
    """
    import papermill as pm
    from .views.month import title_of
    outcome = Outcome(spec.name)
    partial = staging / f".{spec.name}.running.ipynb"
    values = {"period": period, "config_files": [str(settings_file)], "overrides": [],
              "output_dir": str(staging)}
    values.update({k: getattr(params, k) for k in spec.parameters})
    start = time.time()
    log(f"  started  {spec.name}")
    try:
        pm.execute_notebook(str(root / "notebooks" / spec.file), str(partial), parameters=values,
                            cwd=str(root / "notebooks"), progress_bar=False, log_output=False,
                            kernel_name=kernel_name(),
                            # the kernel talks to the runner on 127.0.0.1 only: its "TCP without
                            # encryption" warning would be noise in every scheduled run's log
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
        outcome.warnings = glyph_warnings(partial)
        render_html(partial, staging / f"{spec.name}.html", params.language,
                    f"{title_of(spec.name, params.language)} · {period}")
        partial.unlink()
        outcome.status = "ok"
        outcome.files = [f"{spec.name}.html", f"{spec.name}.json"]
    except Exception as e:  # a notebook may raise anything; the run goes on with the others
        outcome.status = "failed"
        outcome.cell, outcome.error = _failure(e, partial)
        (staging / f"{spec.name}.json").unlink(missing_ok=True)
        if partial.exists():
            _strip_outputs(partial, staging / f"{spec.name}.failed.ipynb")
            partial.unlink()
            outcome.files = [f"{spec.name}.failed.ipynb"]
    outcome.seconds = round(time.time() - start, 1)
    if outcome.status == "ok":
        log(f"  done     {spec.name} in {outcome.seconds:.0f}s")
        for warning in outcome.warnings:
            log(f"  WARNING  {spec.name}: {warning}")
    else:
        log(f"  FAILED   {spec.name} in cell {outcome.cell}: {outcome.error}")
    return outcome


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
    """Check everything, run the reports in a staging folder, publish each complete report.

    Every check of :mod:`memberkit.checks` runs first; any problem stops the run before a kernel
    starts (:class:`Problems`, exit 2). Reports then run in ``.<period>.partial-*`` beside the
    output folder (same file system) and each successful report's files are moved in with
    ``os.replace`` at the end, so a run killed at any point leaves the published pages and JSON of
    the period as they were. The summary page and manifest are written from what is on disk, so
    ``--only`` keeps the other reports' cards. With ``pdf``, every report page and the summary page
    are also printed to ``<name>.pdf`` by headless Chromium; without Chromium the run says so and
    keeps the HTML. Returns (exit code, output folder).
    """
    import shutil
    from .config import scrub_secrets
    specs = [s for s in NOTEBOOKS if not only or s.name in only]
    log("Checking parameters and data ...")
    prepared = check_run(period, config_files, only, out_dir, overrides)
    root, settings, secrets = prepared.root, prepared.settings, prepared.secrets

    def say(message: str) -> None:
        log(scrub_secrets(message, secrets))

    params0 = prepared.params["data_cleaning"]
    # absolute: papermill changes the working directory while a notebook runs, two run at a time
    out = Path(out_dir).resolve() if out_dir else root / "outputs" / prepared.period
    say(f"Period {prepared.period}: {prepared.period_reason}")
    for warning in prepared.warnings:
        say(f"warning: {warning}")
    out.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_staging(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
    fd, settings_name = tempfile.mkstemp(prefix="memberkit-settings-", suffix=".yaml")
    settings_file = Path(settings_name)
    say(f"Reports for {prepared.period} -> {out}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.safe_dump(settings, f, allow_unicode=True, sort_keys=False)   # order matters (tiers)
        if "data_cleaning" not in {s.name for s in specs} and (out / "data" / "clean").is_dir():
            shutil.copytree(out / "data" / "clean", staging / "data" / "clean",
                            ignore=shutil.ignore_patterns(".lock"))   # reuse the published clean files
        outcomes = _execute(specs, root, staging, prepared.period, prepared.params, settings_file, say)
        for spec in specs:
            _publish(spec, outcomes[spec.name], staging, out)
        write_manifest(out, root, prepared.period, settings, params0, outcomes, secrets, prepared.period_reason)
        from .notebook import resolve
        _, ctx = resolve("data_cleaning", [str(settings_file)], [], str(out))
        pages = write_summary(out, ctx, params0, outcomes, say, secrets,
                              figures_window(settings, prepared.params))
    finally:
        settings_file.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    failed = [o for o in outcomes.values() if o.status != "ok"]
    printed_ok = write_pdfs(out, pages, say) if pdf else True
    say(f"{len(outcomes) - len(failed)} of {len(outcomes)} reports ok; open {out / 'index.html'}")
    return (1 if failed or not printed_ok else 0), out


def check_run(period: str | None = None, config_files=(), only=(), out_dir: str | None = None, overrides=()):
    """Load every setting and run every check of :mod:`memberkit.checks`; nothing is written.

    Returns the prepared :class:`memberkit.checks.Run` (parameters validated, period resolved with
    its reason, ``secrets`` found in the settings). Raises ``ConfigError`` (a config file that is
    not valid YAML, an unknown ``--only`` name) or ``Problems`` (everything the checks found).
    """
    from . import checks
    from .config import secret_values
    root = project_root()
    config_files = [Path(f).resolve() for f in config_files]
    overrides = list(overrides) + ([f"period={period}"] if period else [])
    unknown = set(only) - {s.name for s in NOTEBOOKS}
    if unknown:
        raise ConfigError(f"--only: unknown report(s) {sorted(unknown)}; reports are {[s.name for s in NOTEBOOKS]}")
    settings = load_settings(root, config_files, overrides)
    specs = [s for s in NOTEBOOKS if not only or s.name in only]
    needed = {s.name for s in specs} | {d for s in specs for d in s.depends_on}
    prepared = checks.run_checks(checks.Run(root, settings, [s.name for s in NOTEBOOKS if s.name in needed],
                                            overrides=overrides, out_dir=Path(out_dir) if out_dir else None))
    prepared.close()
    prepared.secrets = secret_values(settings)
    return prepared


def _execute(specs, root, staging, period, params, settings_file, log) -> dict[str, Outcome]:
    """Run the notebooks in dependency order, two at a time; a report whose dependency failed is skipped."""
    outcomes: dict[str, Outcome] = {}
    names = {x.name for x in specs}
    pending = list(specs)
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        while pending:
            ready = [s for s in pending if all(d in outcomes for d in s.depends_on if d in names)]
            pending = [s for s in pending if s not in ready]
            runnable = []
            for s in ready:
                bad = [d for d in s.depends_on if d in outcomes and outcomes[d].status != "ok"]
                if bad:
                    outcomes[s.name] = Outcome(s.name, "skipped", error=f"{bad[0]} failed")
                    log(f"  skipped  {s.name}: {bad[0]} failed")
                else:
                    runnable.append(s)
            futures = {s.name: pool.submit(run_notebook, s, root, staging, period, params[s.name],
                                           settings_file, log) for s in runnable}
            for name, fut in futures.items():
                outcomes[name] = fut.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)   # Ctrl-C: do not wait for the running notebooks
        raise
    pool.shutdown()
    return outcomes


def write_pdfs(out: Path, pages: list[Path], log=print) -> bool:
    """``<name>.pdf`` beside the summary page and every report page of the period that is there.

    Returns False when Chromium failed on a page; a missing Chromium is said clearly and is not
    a failure (the HTML pages are complete).
    """
    from .pdf import find_chromium, print_pages
    chromium = find_chromium()
    targets = [p for p in pages if p.parent == out] + [out / f"{s.name}.html" for s in NOTEBOOKS
                                                       if (out / f"{s.name}.html").is_file()]
    if not chromium:
        log("PDF: Chromium is not installed, so no PDF was written (the HTML pages are complete). "
            "Install it (Debian/Ubuntu: apt-get install chromium) or set MEMBERKIT_CHROMIUM.")
        return True
    log(f"Printing {len(targets)} pages to PDF with {chromium} ...")
    written = print_pages(targets, chromium, log)
    log(f"  {len(written)} of {len(targets)} PDFs written")
    return len(written) == len(targets)


def _publish(spec: NotebookSpec, outcome: Outcome, staging: Path, out: Path) -> None:
    """Move one report's files from the staging folder into the output folder, each with os.replace.

    A successful report replaces its page, JSON and data files (files of an earlier run that this
    run did not write, such as a segment list now empty, are removed). A failed or skipped report
    leaves no page that looks complete: its page and JSON are removed and the failed notebook put
    in their place.
    """
    mine = [f"{spec.name}.html", f"{spec.name}.json", f"{spec.name}.failed.ipynb", f"{spec.name}.ipynb",
            f"{spec.name}.pdf", *spec.outputs]
    if outcome.status != "ok":
        for name in mine[:5]:
            (out / name).unlink(missing_ok=True)
        if (staging / f"{spec.name}.failed.ipynb").exists():
            os.replace(staging / f"{spec.name}.failed.ipynb", out / f"{spec.name}.failed.ipynb")
        return
    new = {p.relative_to(staging) for pattern in mine for p in staging.glob(pattern) if p.is_file()}
    old = {p.relative_to(out) for pattern in mine for p in out.glob(pattern) if p.is_file()}
    for rel in sorted(new, key=lambda r: r.suffix == ".html"):    # the page last: it links to the rest
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, out / rel)
    for rel in old - new:
        (out / rel).unlink(missing_ok=True)


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


def write_manifest(out: Path, root: Path, period: str, settings: dict, params, outcomes, secrets=frozenset(),
                   period_reason: str = "", seconds: float | None = None) -> None:
    """manifest.json: parameters (no secret, however given), inputs' fingerprints, versions, and the
    status of every report of the period: this run's, and those an earlier run (``--only``) left."""
    from .config import scrub_secrets
    from .notebook import code_version
    from .sources import input_fingerprints
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    previous = _read_manifest(out).get("reports", {})
    reports = {**previous, **{o.name: {"status": o.status, "seconds": o.seconds, "cell": o.cell, "error": o.error,
                                       "files": o.files, "warnings": o.warnings} for o in outcomes.values()}}
    manifest = {
        "period": period, "period_reason": period_reason, "code_version": code_version(),
        "python": platform.python_version(), "packages": versions, "parameters": redact(settings),
        "inputs": input_fingerprints(params.source, root),
        "duration_seconds": round(seconds if seconds is not None else sum(o.seconds for o in outcomes.values()), 1),
        "reports": {s.name: reports[s.name] for s in NOTEBOOKS if s.name in reports},
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1, default=str)
    _write_atomic(out / "manifest.json", scrub_secrets(text, set(secrets)))


def _read_manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def figures_window(settings: dict, params: dict) -> int:
    """The active window (days) of the summary page's key figures: the RFM report's, so that both pages
    show the same activity and churn rates.

    ``params`` maps a report's name to its validated parameters (the reports being run); when the RFM
    report is not among them its parameters are read from ``settings``, and when they are not valid
    the cleaning's window is used.
    """
    rfm = params.get("rfm_segmentation")
    if rfm is None:
        try:
            rfm = notebook_params(settings, "rfm_segmentation")
        except ConfigError:
            rfm = params["data_cleaning"]
    return rfm.active_window_days


def write_summary(out: Path, ctx, params, outcomes: dict[str, Outcome], log=print, secrets=frozenset(),
                  active_window_days: int | None = None) -> list[Path]:
    """The month's summary page (``index.html``) and the index across months (``../index.html``).

    The key figures come from :func:`memberkit.month.month_figures` (computed once per clean
    data, kept in ``month.json``) over ``active_window_days`` (:func:`figures_window`; default the
    window of ``params``); the reports' cards from this run's outcomes and, for reports not run
    this time (``--only``), from what the period's folder holds. Error messages shown on the page
    have every one of ``secrets`` replaced by ``***``, as in the log and the manifest.
    """
    from . import month
    from .config import scrub_secrets
    from .views import month as month_views
    from .notebook import code_version
    window = params.active_window_days if active_window_days is None else active_window_days
    figures, error = None, ""
    cleaning = outcomes.get("data_cleaning")
    if cleaning is not None and cleaning.status != "ok":
        error = month_views.text("month.figures_not_cleaned", params.language)
    else:
        try:
            figures = month.month_figures(ctx, window)
        except Exception as e:  # the page says why; the reports themselves are already written
            error = scrub_secrets(f"{type(e).__name__}: {e}", set(secrets))
            log(f"  key figures not computed: {error}")
    summary = month.collect(out, ctx.period, params.language, params.currency, [s.name for s in NOTEBOOKS],
                            outcomes, figures, error)
    for report in summary.reports:
        report.error = scrub_secrets(report.error, set(secrets))
    (out / "index.pdf").unlink(missing_ok=True)   # printed again by --pdf, else it would show an older page
    footer = {"code": code_version(), "fingerprint": ((figures or {}).get("stamp", {}).get("clean", {}).get("inputs") or "–")[:16]}
    return month_views.write_pages(summary, out, footer)


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
    args = build_parser().parse_args(argv)
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
