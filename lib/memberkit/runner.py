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
import html
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


# ------------------------------------------------------------------ HTML
def render_html(executed: Path, target: Path) -> None:
    """Executed notebook -> HTML with no code, no prompts, no parameters cell, nothing fetched online."""
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
    nb = nbformat.read(executed, as_version=4)
    # Errors and warnings written to stderr are for the analyst, not the reader.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    body, _ = exporter.from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


# ------------------------------------------------------------------ one notebook
def run_notebook(spec: NotebookSpec, root: Path, out: Path, period: str, params, config_files, overrides,
                 log=print) -> Outcome:
    import papermill as pm
    outcome = Outcome(spec.name)
    executed = out / f"{spec.name}.ipynb"
    failed_copy = out / f"{spec.name}.failed.ipynb"
    for stale in (executed, failed_copy, out / f"{spec.name}.html", out / f"{spec.name}.json"):
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
        render_html(partial, out / f"{spec.name}.html")
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
    else:
        log(f"  FAILED   {spec.name} in cell {outcome.cell}: {outcome.error}")
    return outcome


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
        log=print) -> tuple[int, Path]:
    """Run the reports; returns (exit code, output folder)."""
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
    params0, ctx = resolve(first, config_files, overrides, out_dir)
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
    write_index(out, ctx.period, params0.language, [outcomes[s.name] for s in specs])
    failed = [o for o in outcomes.values() if o.status != "ok"]
    log(f"{len(outcomes) - len(failed)} of {len(outcomes)} reports ok; open {out / 'index.html'}")
    return (1 if failed else 0), out


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
                             "files": o.files} for o in outcomes.values()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def write_index(out: Path, period: str, language: str, outcomes: list[Outcome]) -> None:
    """One card per report: headline, KPIs and a link, or the failure."""
    from .report import load_results
    from .views.context import text
    from .views.page import CSS as _CSS, KPI, kpi_cards_html
    cards = []
    for o in outcomes:
        res = load_results(out, o.name) if o.status == "ok" else None
        title = html.escape(res["title"] if res else o.name.replace("_", " ").capitalize())
        if o.status == "ok" and res:
            kpis = [KPI(k["label"], k["display"], k.get("delta", "")) for k in list(res["kpis"].values())[:4]]
            body = (f'<div class="mk-headline">{html.escape(res["headline"])}</div>{kpi_cards_html(kpis)}'
                    f'<a href="{o.name}.html">{html.escape(text("report_index.open", language))} →</a>')
        elif o.status == "failed":
            body = (f'<div class="mk-banner">{html.escape(text("report_index.failed", language))}: '
                    f'{html.escape(text("report_index.failed_at", language, cell=o.cell, error=o.error))}</div>')
        else:
            body = (f'<div class="mk-banner" style="background:#8c8c8c">{html.escape(text("report_index.skipped", language))}: '
                    f'{html.escape(o.error)}</div>')
        cards.append(f'<section class="mk-report"><h2>{title}</h2>{body}</section>')
    page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if language == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{html.escape(text("report_index.title", language))} · {period}</title>
<style>body{{font-family:"Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",Arial,sans-serif;max-width:1000px;margin:24px auto;color:#1f2d3d;padding:0 16px}}
.mk-report{{border:1px solid #d9dee5;border-radius:10px;padding:4px 18px 14px;margin:16px 0}} a{{color:#1f4e79}}</style>
{_CSS}</head><body>
<h1>{html.escape(text("report_index.title", language))}</h1>
<p>{html.escape(text("report_index.subtitle", language, period=period))}</p>
{''.join(cards)}
</body></html>"""
    (out / "index.html").write_text(page, encoding="utf-8")


# ------------------------------------------------------------------ command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_reports.py", description="Run the member analytics reports for a month.")
    p.add_argument("--period", help="month to report, YYYY-MM (default: the last complete month in the data)")
    p.add_argument("--config", nargs="+", default=[], metavar="FILE",
                   help="YAML files layered over params/*.yaml (e.g. your column map)")
    p.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run only these reports")
    p.add_argument("--out", help="output folder (default: outputs/<period>)")
    p.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. -p as_of=2026-11-01 -p notebooks.data_cleaning.outlier_policy=cap")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code, _ = run(args.period, args.config, args.only, args.out, args.overrides)
        return code
    except (ConfigError, InputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MemberkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
