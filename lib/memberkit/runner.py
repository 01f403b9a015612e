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
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from . import __version__
from .clean import check_statuses
from .config import load_settings, notebook_params, project_root, redact
from .errors import ConfigError, InputError, MemberkitError


@dataclass(frozen=True)
class NotebookSpec:
    name: str
    file: str
    depends_on: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()   # names of notebook parameters filled from the validated model


NOTEBOOKS = (
    NotebookSpec("data_cleaning", "01_data_cleaning.ipynb", (), ("outlier_policy", "outlier_multiple", "language")),
    NotebookSpec("rfm_segmentation", "02_rfm_segmentation.ipynb", ("data_cleaning",),
                 ("window_days", "split", "tier_thresholds", "language")),
    NotebookSpec("clv_forecast", "03_clv_forecast.ipynb", ("data_cleaning",),
                 ("unit", "holdout_weeks", "model", "horizon_months", "language")),
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
def run_notebook(spec: NotebookSpec, root: Path, out: Path, period: str, params, config_files, overrides,
                 log=print) -> Outcome:
    import papermill as pm
    outcome = Outcome(spec.name)
    executed = out / f"{spec.name}.ipynb"
    failed_copy = out / f"{spec.name}.failed.ipynb"
    for stale in (executed, failed_copy, out / f"{spec.name}.html", out / f"{spec.name}.json", out / f"{spec.name}.pdf"):
        stale.unlink(missing_ok=True)
    partial = out / f".{spec.name}.running.ipynb"
    values = {"period": period, "config_files": [str(f) for f in config_files], "overrides": list(overrides),
              "output_dir": str(out)}
    values.update({k: getattr(params, k) for k in spec.parameters})
    start = time.time()
    log(f"  started  {spec.name}")
    try:
        pm.execute_notebook(str(root / "notebooks" / spec.file), str(partial), parameters=values,
                            cwd=str(root / "notebooks"), progress_bar=False, log_output=False,
                            kernel_name=kernel_name())
        outcome.warnings = glyph_warnings(partial)
        res = _results(out, spec.name)
        render_html(partial, out / f"{spec.name}.html", params.language,
                    f"{res['title']} · {period}" if res and res.get("title") else None)
        partial.replace(executed)
        outcome.status = "ok"
        outcome.files = [f"{spec.name}.html", f"{spec.name}.ipynb", f"{spec.name}.json"]
    except Exception as e:  # a notebook may raise anything; the run goes on with the others
        outcome.status = "failed"
        outcome.cell, outcome.error = _failure(e, partial)
        (out / f"{spec.name}.json").unlink(missing_ok=True)
        if partial.exists():
            partial.replace(failed_copy)
            outcome.files = [failed_copy.name]
    outcome.seconds = round(time.time() - start, 1)
    if outcome.status == "ok":
        log(f"  done     {spec.name} in {outcome.seconds:.0f}s")
        for warning in outcome.warnings:
            log(f"  WARNING  {spec.name}: {warning}")
    else:
        log(f"  FAILED   {spec.name} in cell {outcome.cell}: {outcome.error}")
    return outcome


def _results(out: Path, name: str) -> dict | None:
    from .report import load_results
    return load_results(out, name)


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
    """Run the reports; returns (exit code, output folder).

    With ``pdf``, every report page of the period and its summary page are also printed to
    ``<name>.pdf`` by headless Chromium; without Chromium the run says so and keeps the HTML.
    """
    from .notebook import resolve
    root = project_root()
    config_files = [Path(f).resolve() for f in config_files]
    overrides = list(overrides) + ([f"period={period}"] if period else [])
    specs = [s for s in NOTEBOOKS if not only or s.name in only]
    unknown = set(only) - {s.name for s in NOTEBOOKS}
    if unknown:
        raise ConfigError(f"unknown report(s) {sorted(unknown)}; reports are {[s.name for s in NOTEBOOKS]}")
    settings = load_settings(root, config_files, overrides)
    all_params = {s.name: notebook_params(settings, s.name) for s in specs}   # every parameter, before any kernel
    first = specs[0].name
    log("Checking parameters and data ...")
    # absolute: papermill changes the working directory while a notebook runs, two run at a time
    params0, ctx = resolve(first, config_files, overrides, str(Path(out_dir).resolve()) if out_dir else None)
    unknown = check_statuses(settings, root)   # too many unknown order statuses stop the run here
    if unknown:
        log("warning: order lines with a status the kit does not know are set aside: "
            + ", ".join(f"{k} {v:,}" for k, v in unknown.items()))
    out = ctx.output_dir
    out.mkdir(parents=True, exist_ok=True)
    log(f"Reports for {ctx.period} -> {out}")

    outcomes: dict[str, Outcome] = {}
    started = time.time()
    pending = list(specs)
    with ThreadPoolExecutor(max_workers=2) as pool:
        while pending:
            ready = [s for s in pending if all(d in outcomes for d in s.depends_on if d in {x.name for x in specs})]
            pending = [s for s in pending if s not in ready]
            runnable = []
            for s in ready:
                bad = [d for d in s.depends_on if d in outcomes and outcomes[d].status != "ok"]
                if bad:
                    outcomes[s.name] = Outcome(s.name, "skipped", error=f"{bad[0]} failed")
                    log(f"  skipped  {s.name}: {bad[0]} failed")
                else:
                    runnable.append(s)
            futures = {s.name: pool.submit(run_notebook, s, root, out, ctx.period, all_params[s.name],
                                           config_files, overrides, log) for s in runnable}
            for name, fut in futures.items():
                outcomes[name] = fut.result()
    write_manifest(out, root, ctx.period, settings, params0, outcomes, time.time() - started)
    pages = write_summary(out, ctx, params0, outcomes, log)
    failed = [o for o in outcomes.values() if o.status != "ok"]
    printed_ok = write_pdfs(out, pages, log) if pdf else True
    log(f"{len(outcomes) - len(failed)} of {len(outcomes)} reports ok; open {out / 'index.html'}")
    return (1 if failed or not printed_ok else 0), out


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


def write_manifest(out: Path, root: Path, period: str, settings: dict, params, outcomes, seconds: float) -> None:
    from .notebook import code_version
    from .sources import input_fingerprints
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    manifest = {
        "period": period, "code_version": code_version(), "python": platform.python_version(),
        "packages": versions, "parameters": redact(settings),
        "inputs": input_fingerprints(params.source, root), "duration_seconds": round(seconds, 1),
        "reports": {o.name: {"status": o.status, "seconds": o.seconds, "cell": o.cell, "error": o.error,
                             "files": o.files, "warnings": o.warnings} for o in outcomes.values()},
    }
    # A run with --only keeps what the manifest says about the reports it did not run.
    earlier = out / "manifest.json"
    if earlier.is_file():
        kept = json.loads(earlier.read_text(encoding="utf-8")).get("reports", {})
        manifest["reports"] = {**{k: v for k, v in kept.items() if k not in outcomes}, **manifest["reports"]}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def write_summary(out: Path, ctx, params, outcomes: dict[str, Outcome], log=print) -> list[Path]:
    """The month's summary page (``index.html``) and the index across months (``../index.html``).

    The key figures come from :func:`memberkit.month.month_figures` (computed once per clean
    data, kept in ``month.json``); the reports' cards from this run's outcomes and, for reports
    not run this time (``--only``), from what the period's folder holds.
    """
    from . import month
    from .views import month as month_views
    from .notebook import code_version
    figures, error = None, ""
    cleaning = outcomes.get("data_cleaning")
    if cleaning is not None and cleaning.status != "ok":
        error = month_views.text("month.figures_not_cleaned", params.language)
    else:
        try:
            figures = month.month_figures(ctx, params.active_window_days)
        except Exception as e:  # the page says why; the reports themselves are already written
            error = f"{type(e).__name__}: {e}"
            log(f"  key figures not computed: {error}")
    summary = month.collect(out, ctx.period, params.language, params.currency, [s.name for s in NOTEBOOKS],
                            outcomes, figures, error)
    (out / "index.pdf").unlink(missing_ok=True)   # printed again by --pdf, else it would show an older page
    footer = {"code": code_version(), "fingerprint": ((figures or {}).get("stamp", {}).get("clean", {}).get("inputs") or "–")[:16]}
    return month_views.write_pages(summary, out, footer)


# ------------------------------------------------------------------ command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_reports.py", description="Run the member analytics reports for a month.")
    p.add_argument("--period", help="month to report, YYYY-MM (default: the last complete month in the data)")
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
    args = build_parser().parse_args(argv)
    try:
        code, _ = run(args.period, args.config, args.only, args.out, args.overrides, pdf=args.pdf)
        return code
    except (ConfigError, InputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MemberkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
