"""Time (and optionally profile) ``clv.analyse`` on clean tables an earlier run wrote, as the
clv_forecast notebook calls it: the clean orders and members, the RFM member table, the report's
parameters resolved for that data. Prints the seconds; writes the key results as JSON (for a
before/after comparison of every number) and, with --profile, the cProfile statistics.

    PYTHONPATH=lib .venv/bin/python bench/clv_profile.py --clean /tmp/m1/out/data/clean \\
        --members /tmp/m1/out/data/members.parquet --config /tmp/m1/cfg.yaml --out /tmp/clv_after --profile

Results: bench/clv_profile.md.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", required=True, help="folder of the clean tables (orders.parquet, members.parquet)")
    parser.add_argument("--members", required=True, help="the RFM member table (data/members.parquet of the run)")
    parser.add_argument("--config", action="append", default=[], help="config file(s) of that data")
    parser.add_argument("--out", required=True, help="folder for key_results.json and profile.txt")
    parser.add_argument("--profile", action="store_true", help="run under cProfile")
    args = parser.parse_args()

    import pandas as pd
    from memberkit import clv, engine
    from memberkit.notebook import resolve
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params, ctx = resolve("clv_forecast", config_files=args.config, output_dir=str(out / "scratch"))
    con = engine.connect()
    tables = {n: con.read_parquet(Path(args.clean) / f"{n}.parquet", table_name=f"clean_{n}") for n in ("orders", "members")}
    member_table = pd.read_parquet(args.members)
    profiler = cProfile.Profile() if args.profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    analysis = clv.analyse(tables, ctx.period, params, member_table)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - start
    print(f"clv.analyse: {seconds:.1f} s ({len(analysis.members):,} members, period {ctx.period})")
    (out / "key_results.json").write_text(json.dumps(clv.key_results(analysis, params), indent=1, default=str))
    if profiler:
        with open(out / "profile.txt", "w") as f:
            pstats.Stats(profiler, stream=f).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
