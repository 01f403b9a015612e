"""Where the up-front checks and the cleaning spend their time, in one process (issue 22). Never in CI.

Runs the runner's checks (:func:`memberkit.runner.check_run`, staging kept) and then the cleaning
(:func:`memberkit.clean.run_cleaning` on the staged tables, as the cleaning notebook does), with a
wall-clock timer around each named function. Times are inclusive (a function's time contains the
functions it calls) and summed over calls; cProfile is not used because it inflates call-heavy
code (phone parsing) about threefold.

    .venv/bin/python bench/profile_cleaning.py /tmp/memberkit-bench/retailer-1000000-seed7 [-p KEY=VALUE ...]

``--checks-only`` stops after the checks; ``--lib DIR`` times another version's library (e.g. the main
checkout's ``lib``) with this script, so two versions are measured by the same instrumentation.
``--reuse-staged DIR`` keeps the checks' staging in DIR on the first run and, on later runs, cleans those
staged tables without running the checks again (to time one change of the cleaning after another; the
staged copies hold the exports' personal data: DIR belongs in a private temporary folder).
``--notebook`` runs the cleaning as the runner runs it instead: the notebook executed by papermill in a
kernel (:func:`memberkit.runner.run_notebook`'s call), then its page rendered (``runner.render_html``); it
prints each cell's seconds (papermill's own timing), the kernel's CPU seconds and the page's, and the
function timers are not installed (the cleaning runs in the kernel, not in this process). ``--one-thread``
runs the engine on one thread and stages the tables one after another (no second connection): each step's
CPU seconds are then its own, where with two threads at once a step's seconds include the other thread's.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMED = {
    "memberkit.checks": ["check_parameters", "check_period", "check_tables", "check_period_has_orders",
                         "check_order_statuses", "check_campaign_dates"],
    "memberkit.sources": ["stage_table", "_read_native", "_map_columns", "_profile_problems", "_transcode",
                          "input_fingerprints", "open_staged", "profile_row", "_read_excel"],
    "memberkit.engine": ["write_table", "numbered", "keep", "read_csv"],
    "memberkit.clean": ["clean_all", "stage_members", "stage_accounts", "stage_payments", "stage_orders",
                        "stage_links", "stage_campaigns", "_clean_tables", "_table_report", "status_words",
                        "_text_unified", "quality_scorecard", "_write"],
    "memberkit.identity": ["normalise_phones", "resolve_identities"],
}


def _cpu() -> float:
    """CPU seconds of this process (every engine thread) and of its finished children (phone workers)."""
    import resource
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(totals, counts, label, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start, cpu = time.perf_counter(), _cpu()
        try:
            return fn(*args, **kwargs)
        finally:
            if fn.__name__ in ("keep", "write_table"):      # one line per kept table / written file
                label_ = f"{label} {Path(str(args[1] if fn.__name__ == 'keep' else args[2])).stem}"
                totals[label_] += time.perf_counter() - start
                totals[label_ + " (cpu)"] += _cpu() - cpu
                counts[label_] += 1
            totals[label] += time.perf_counter() - start
            totals[label + " (cpu)"] += _cpu() - cpu
            counts[label] += 1
    return wrapper


def instrument(totals, counts) -> None:
    """Wrap every function of :data:`TIMED`, in its module and wherever another module imported it by name."""
    import memberkit
    modules = [importlib.import_module(f"memberkit.{m}") for m in
               ("checks", "sources", "engine", "clean", "identity", "runner", "notebook")]
    for module_name, names in TIMED.items():
        module = importlib.import_module(module_name)
        for name in names:
            original = getattr(module, name)
            wrapped = _timed(totals, counts, f"{module_name.split('.')[-1]}.{name}", original)
            setattr(module, name, wrapped)
            for other in modules:
                if getattr(other, name, None) is original:
                    setattr(other, name, wrapped)
    return memberkit


class _Reused:
    """A staging kept by ``--reuse-staged``, standing in for the checks' prepared run (nothing to close)."""

    def __init__(self, saved: dict, folder: Path):
        import datetime
        self.period, self.period_reason = saved["period"], saved["period_reason"]
        self.as_of = datetime.date.fromisoformat(saved["as_of"])
        self.staged, self.staging_dir, self.params, self.warnings = saved["tables"], folder, {}, []

    def close(self) -> None:
        pass


def _notebook(run, out: Path, lib: Path, checks_s: float, checks_cpu: float) -> int:
    """The cleaning notebook executed and rendered as :func:`memberkit.runner.run_notebook` does; prints the
    step's wall seconds, the kernel's CPU seconds (this process's finished children), each cell's seconds and
    the page's rendering."""
    import os
    import nbformat
    import papermill as pm
    from memberkit import runner
    out.mkdir(parents=True, exist_ok=True)
    run_path = run.write(out)
    params = run.params("data_cleaning")
    values = {"run_file": str(run_path), "output_dir": str(out)}
    values.update({k: getattr(params, k) for k in ("period", "outlier_policy", "outlier_multiple", "language")})
    partial = out / ".data_cleaning.running.ipynb"
    os.environ["PYTHONPATH"] = str(lib)      # the kernel imports the library timed
    t0, c0 = time.perf_counter(), _cpu()
    pm.execute_notebook(str(ROOT / "notebooks" / "01_data_cleaning.ipynb"), str(partial), parameters=values,
                        cwd=str(ROOT / "notebooks"), progress_bar=False, log_output=False,
                        kernel_name=runner.kernel_name(), extra_arguments=["--IPKernelApp.log_level=ERROR"])
    kernel_s, kernel_cpu = time.perf_counter() - t0, _cpu() - c0
    t1, c1 = time.perf_counter(), _cpu()
    runner.render_html(partial, out / "data_cleaning.html", params.language, "data_cleaning")
    page_s, page_cpu = time.perf_counter() - t1, _cpu() - c1
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    print(f"checks {checks_s:.1f} s (cpu {checks_cpu:.1f} s)")
    print(f"step {kernel_s + page_s:.1f} s (cpu {kernel_cpu + page_cpu:.1f} s): notebook {kernel_s:.1f} s "
          f"(cpu {kernel_cpu:.1f} s, kernel and this process), page {page_s:.1f} s (cpu {page_cpu:.1f} s)")
    print("| cell | seconds | first line |\n|---|---|---|")
    for i, cell in enumerate(nbformat.read(partial, as_version=4).cells):
        if cell.cell_type == "code":
            first = cell.source.splitlines()[0] if cell.source else ""
            print(f"| {i} | {cell.metadata.get('papermill', {}).get('duration') or 0:.2f} | {first[:70]} |")
    partial.unlink()
    return 0


class _Done(Exception):
    """Raised to stop after the checks (``--checks-only``)."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="a folder holding the sample retailer's exports")
    ap.add_argument("--out", type=Path, help="keep the clean and rejected Parquet files in this folder")
    ap.add_argument("-p", dest="overrides", action="append", default=[], help="KEY=VALUE setting")
    ap.add_argument("--checks-only", action="store_true", help="time the up-front checks alone")
    ap.add_argument("--staged-json", type=Path, help="write what the checks decided of every staged table here "
                    "(to compare two versions' decisions)")
    ap.add_argument("--keep-staged", type=Path, help="copy the staging folder (the staged Parquet tables) here")
    ap.add_argument("--results", type=Path, help="write the cleaning's key results (what data_cleaning.json holds "
                    "of it, clean.key_results) and the engine queries counted during the cleaning here, as JSON")
    ap.add_argument("--reuse-staged", type=Path, help="stage into this folder once, then clean its staged tables "
                    "without the checks")
    ap.add_argument("--lib", type=Path, default=ROOT / "lib", help="the library to time (default: this checkout's)")
    ap.add_argument("--notebook", action="store_true", help="run the cleaning notebook in a kernel, as the runner "
                    "does, and time its cells, its kernel and its page")
    ap.add_argument("--one-thread", action="store_true", help="one engine thread, the tables staged one after "
                    "another (each step's CPU seconds its own)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.lib.resolve()))
    if args.one_thread:
        import os
        os.environ["MEMBERKIT_THREADS"] = "1"
    totals, counts = defaultdict(float), defaultdict(int)
    if not args.notebook:
        instrument(totals, counts)
    if args.one_thread:
        from memberkit import engine as _engine
        _engine.second_connection = lambda con: None
    from memberkit import clean, engine, runfile, runner
    from memberkit.notebook import Context
    truth = json.loads((args.data / "ground_truth.json").read_text())
    as_of = truth["extracted_at"][:10]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.yaml"
        cfg.write_text(json.dumps({"as_of": as_of, "source": {"base_dir": str(args.data.resolve()), "sample": None}}))
        reused = args.reuse_staged / "staged-run.json" if args.reuse_staged else None
        t0, c0 = time.perf_counter(), _cpu()
        if reused is not None and reused.exists():
            prepared = _Reused(json.loads(reused.read_text()), args.reuse_staged)
        else:
            prepared = runner.check_run(config_files=[cfg], overrides=args.overrides, keep_staging=True)
        checks_s, checks_cpu = time.perf_counter() - t0, _cpu() - c0
        if reused is not None and not reused.exists():
            import shutil
            from dataclasses import asdict
            shutil.copytree(prepared.staging_dir, args.reuse_staged, dirs_exist_ok=True)
            reused.write_text(json.dumps({"period": prepared.period, "period_reason": prepared.period_reason,
                                          "as_of": prepared.as_of.isoformat(),
                                          "tables": {n: asdict(t) for n, t in prepared.staged.items()}}))
        result = None
        if args.keep_staged:
            import shutil
            shutil.copytree(prepared.staging_dir, args.keep_staged, dirs_exist_ok=True)
        if args.staged_json:
            from dataclasses import asdict
            args.staged_json.write_text(json.dumps(
                {"period": prepared.period, "warnings": prepared.warnings,
                 "tables": {n: asdict(t) for n, t in sorted(prepared.staged.items())}}, indent=1, sort_keys=True))
        try:
            if args.checks_only:
                raise _Done
            from dataclasses import asdict
            staged = {"folder": str(prepared.staging_dir),
                      "tables": {n: t if isinstance(t, dict) else asdict(t) for n, t in prepared.staged.items()}}
            settings = runner.load_settings(runner.project_root(), [cfg], args.overrides)
            run = runfile.build(ROOT, settings, period=prepared.period, period_reason=prepared.period_reason,
                                as_of=prepared.as_of, params=prepared.params or None, staged=staged)
            out = args.out.resolve() if args.out else Path(tmp) / "out"
            ctx = Context(name="data_cleaning", root=ROOT, period=run.period, output_dir=out, as_of=run.as_of,
                          run=run, history_dir=out.parent, period_reason=run.period_reason)
            t0, c0, q0 = time.perf_counter(), _cpu(), engine.queries()
            if args.notebook:
                return _notebook(run, out, args.lib.resolve(), checks_s, checks_cpu)
            result = clean.run_cleaning(run.params("data_cleaning"), ctx)
            cleaning_s, cleaning_cpu = time.perf_counter() - t0, _cpu() - c0
            if args.results:
                args.results.write_text(json.dumps({"key_results": clean.key_results(result),
                                                    "engine_queries": engine.queries_since(q0)},
                                                   indent=1, sort_keys=True, default=str))
        except _Done:
            pass
        finally:
            prepared.close()
    import os
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    print(f"checks {checks_s:.1f} s (cpu {checks_cpu:.1f} s)" + ("" if result is None else
          f"; cleaning {cleaning_s:.1f} s (cpu {cleaning_cpu:.1f} s); order lines kept {result.lines_kept:,}"))
    print("| function | calls | wall s | cpu s |\n|---|---|---|---|")
    for label, seconds in sorted(((k, v) for k, v in totals.items() if not k.endswith(" (cpu)")), key=lambda kv: -kv[1]):
        print(f"| {label} | {counts[label]} | {seconds:.2f} | {totals[label + ' (cpu)']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
