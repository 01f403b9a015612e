"""Time the CLV report as the runner runs it: ``runner.run_notebook`` (papermill with the run file and the
report's parameters, then the page rendered) on a fresh copy of a period store an earlier run left, so
that the month's earlier results are there and nothing of RFM's analysis is recomputed.

    PYTHONPATH=lib .venv/bin/python bench/clv_report.py STORE --out DIR [--repeat N]

``STORE``: a folder holding ``run.json`` (the runner's run file) and the period store beside it
(``data/clean``, ``data/rejected``, ``data/members.parquet`` with its stamp, ``ledger.json``,
``month.json``), e.g. a runner's staging folder copied while it ran with the published folder's data.
The stamps are checked against the run file's code version, so a later version of the code reads the
same store. Each repetition runs in ``DIR/run-<i>`` (a copy of STORE) and keeps the report's files
there. Prints, per repetition, wall seconds and CPU seconds (user + system) of the kernel (papermill's
child process) and of this process (papermill's client and the page), with the load average before
and after; writes them to ``DIR/times.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path


def cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="folder with run.json and the period store")
    parser.add_argument("--out", type=Path, required=True, help="folder for each run's copy and times.json")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    from memberkit.reports import report
    from memberkit.config import project_root
    from memberkit.runner import run_notebook
    root = project_root()
    rows = []
    for i in range(args.repeat):
        staging = args.out / f"run-{i}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(args.store, staging)
        load = os.getloadavg()
        wall, me, kids = time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
        outcome = run_notebook(report("clv_forecast"), root, staging, staging / "run.json", log=lambda m: None)
        row = {"status": outcome.status, "error": outcome.error, "wall": time.perf_counter() - wall,
               "kernel_cpu": cpu(resource.RUSAGE_CHILDREN) - kids, "runner_cpu": cpu(resource.RUSAGE_SELF) - me,
               "load_before": load, "load_after": os.getloadavg(), "root": str(root)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    (args.out / "times.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
