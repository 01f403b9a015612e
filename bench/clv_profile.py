"""Time (and optionally profile) the CLV report's steps in one process, as notebooks/03_clv_forecast.ipynb
runs them on clean tables an earlier run wrote: the imports, resolve, reading the period store (clean
tables, the RFM member table), ``clv.analyse`` (with the RFM report's settings, as the notebook passes
them: the holdout error per segment), recording the results, the page's figures and tables, and the
CSV export. Prints wall and CPU seconds per step; writes the key results as JSON (for a before/after
comparison of every number), ``steps.json`` and, with --profile, the cProfile statistics of ``analyse``.

    PYTHONPATH=lib .venv/bin/python bench/clv_profile.py --run-file STAGING/run.json --out /tmp/clv_after --profile

``--run-file``: a run file whose folder holds the period store (``data/clean``, ``data/members.parquet``,
``ledger.json``), e.g. a runner's staging folder kept for the purpose. Without it, ``--config`` files
are resolved as a notebook run by hand would (inputs hashed, a scratch folder).
What a kernel start and the HTML conversion add is measured from outside (papermill and
``runner.render_html``): see bench/clv_profile.md.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import time
from pathlib import Path


class Steps:
    """Wall (perf_counter) and CPU (this process, user + system) seconds of named steps, in order."""

    def __init__(self):
        self.rows = []
        self._wall, self._cpu = time.perf_counter(), self.cpu()

    @staticmethod
    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def done(self, name: str) -> None:
        wall, cpu = time.perf_counter(), self.cpu()
        self.rows.append({"step": name, "wall": wall - self._wall, "cpu": cpu - self._cpu})
        print(f"{name:<40} {wall - self._wall:6.2f} s wall {cpu - self._cpu:6.2f} s CPU", flush=True)
        self._wall, self._cpu = wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-file", help="a run file beside the period store (a runner's staging folder)")
    parser.add_argument("--config", action="append", default=[], help="config file(s) of that data (without --run-file)")
    parser.add_argument("--out", required=True, help="folder for key_results.json, steps.json, profile.txt")
    parser.add_argument("--profile", action="store_true", help="run clv.analyse under cProfile")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = Steps()
    from memberkit import clv
    from memberkit.notebook import resolve
    from memberkit.report import Results
    from memberkit.store import prepare
    from memberkit.views import Presentation, page, theme
    from memberkit.views import clv as view
    from memberkit.views.rfm import list_stage_labels, list_tier_labels
    steps.done("imports")
    if args.run_file:
        params, ctx = resolve("clv_forecast", run_file=args.run_file, output_dir=str(Path(args.run_file).parent))
    else:
        params, ctx = resolve("clv_forecast", config_files=args.config, output_dir=str(out / "scratch"))
    p = Presentation.from_params(params)
    theme.apply_theme(p)
    steps.done("resolve")
    store = prepare(ctx, needs=["clean", "members", "ledger"])
    con, tables = store.clean_tables()
    member_table = store.member_table(clv.MEMBER_TABLE_COLUMNS)
    rfm_params = ctx.run.params("rfm_segmentation")
    steps.done("period store: clean tables, member table")
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    analysis = clv.analyse(tables, ctx.period, params, member_table, rfm_params)
    if profiler:
        profiler.disable()
    steps.done("clv.analyse")
    results = Results("clv_forecast", ctx.period)
    view.record(p, analysis, results, params)
    steps.done("record")
    import matplotlib.pyplot as plt
    figures = {"plot_clv_by": lambda: view.plot_clv_by(p, analysis, params.horizon_months),
               "plot_tracking": lambda: view.plot_tracking(p, analysis),
               "plot_by_frequency": lambda: view.plot_by_frequency(p, analysis),
               "plot_distributions": lambda: view.plot_distributions(p, analysis, params.horizon_months),
               "plot_alive_matrix": lambda: view.plot_alive_matrix(p, analysis)}
    for name, draw in figures.items():
        fig = draw()
        page.chart_html(fig)          # what page.figure shows: the SVG, text as text
        plt.close(fig)
        steps.done(f"figure {name} (drawn, SVG)")
    for column in view.VALUE_GROUPS:
        view.value_frame(p, analysis, column, params.horizon_months)
    view.at_risk_sentence(p, analysis, params)
    view.at_risk_frame(p, analysis, params.horizon_months)
    view.errors_frame(p, analysis)
    view.checks_sentences(p, analysis)
    steps.done("tables and sentences")
    clv.export_members(analysis, out / "data", params.currency, list_tier_labels(rfm_params),
                       list_stage_labels(rfm_params), horizon_months=params.horizon_months)
    steps.done("export (clv_members.csv, clv_at_risk.csv)")
    print(f"{len(analysis.members):,} members, period {ctx.period}; total {sum(r['wall'] for r in steps.rows):.1f} s wall, "
          f"{sum(r['cpu'] for r in steps.rows):.1f} s CPU")
    (out / "key_results.json").write_text(json.dumps(clv.key_results(analysis, params), indent=1, default=str))
    (out / "steps.json").write_text(json.dumps(steps.rows, indent=1))
    if profiler:
        with open(out / "profile.txt", "w") as f:
            pstats.Stats(profiler, stream=f).sort_stats("cumulative").print_stats(80)
            pstats.Stats(profiler, stream=f).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
