"""The next campaign's target list against targeting by RFM segment, on the generator's true effects.

For each size and seed: the sample retailer generated with ``response_by_channel`` (members' true
response to a campaign varies with their channel, which RFM does not see; truth in
``uplift_truth.csv``), cleaned, and the campaign review's plan for the next campaign
(:func:`memberkit.uplift.plan`, October 2026, the default settings). Each list's true net
incremental margin (every listed member as if contacted: true chance of an incremental order x the
expected order value x margin, less the contact cost; :func:`memberkit.sample.true_list_margin`)
is compared with the RFM rule's and with the best list the truth allows (every member whose true
margin exceeds the cost). Also recorded: the validation's Qini difference with its interval, what
the report recommends, and the recommended list's forecast (its net gain per contacted member measured
out of fold on the past campaigns, with its range; :func:`memberkit.uplift.measured_gain`) against the
truth per contacted member, and the plan's CPU and wall seconds. Results go to bench/uplift_results.md.
Never run in CI (minutes per run).

    .venv/bin/python bench/uplift.py                              # 5,000 and 20,000 members, seeds 1-5
    .venv/bin/python bench/uplift.py --members 5000 --seeds 1,2 --window net
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
PERIOD_END = dt.date(2026, 10, 31)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="5000,20000", help="sizes, comma separated")
    ap.add_argument("--seeds", default="1,2,3,4,5", help="seeds, comma separated")
    ap.add_argument("--window", choices=["during", "net"], default="during", help="the response learnt")
    ap.add_argument("--cache", type=Path, default=None, help="keep the generated retailers here")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "uplift_results.md")
    args = ap.parse_args(argv)
    args.sizes = [int(x) for x in args.members.split(",")]
    args.seed_list = [int(x) for x in args.seeds.split(",")]
    return args


def cleaned(n_members: int, seed: int, folder: Path):
    """The retailer with ``response_by_channel`` on, through sources and cleaning: engine tables."""
    from memberkit import clean, engine, sources
    from memberkit.config import load_settings, notebook_params
    from memberkit.sample import RESPONSE_BY_CHANNEL, SampleSpec, generate_sample
    data = folder / f"retailer_{n_members}_{seed}"
    if not (data / "uplift_truth.csv").exists():
        generate_sample(data, n_members=n_members, seed=seed,
                        spec=SampleSpec(response_by_channel=dict(RESPONSE_BY_CHANNEL)))
    settings = load_settings(ROOT, [], [f"source.base_dir={data}", "source.sample=null", "as_of=2026-11-01"])
    out = folder / f"clean_{n_members}_{seed}"
    con = engine.connect()
    if not (out / "clean" / "orders.parquet").exists():
        p = notebook_params(settings, "data_cleaning")
        raw = sources.load_sources(con, p.source, ROOT, folder / f"staging_{n_members}_{seed}")
        clean.clean_all(con, raw, as_of=dt.date(2026, 11, 1), date_formats=p.source.tables["orders"].date_formats,
                        out_dir=out)
    names = ("orders", "members", "campaigns", "campaign_members")
    return data, settings, {n: con.read_parquet(out / "clean" / f"{n}.parquet", table_name=f"u{seed}_{n_members}_{n}")
                            for n in names}


def run_one(n_members: int, seed: int, window: str, folder: Path) -> dict:
    from memberkit import uplift
    from memberkit.config import notebook_params
    from memberkit.sample import true_list_margin
    data, settings, tables = cleaned(n_members, seed, folder)
    cp = notebook_params(settings, "campaign_review").model_copy(update={"target_window": window})
    rp = notebook_params(settings, "rfm_segmentation")
    t0, c0 = time.perf_counter(), time.process_time()
    plan = uplift.plan(tables, PERIOD_END, cp, rp, PERIOD_END)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if plan.state != "ready":
        return {"size": n_members, "seed": seed, "state": plan.state}
    kind, cost = plan.campaign_type, plan.contact_cost

    def truth(ids):
        return true_list_margin(data, ids, kind, cp.margin, cost)
    import pandas as pd
    everyone = pd.read_parquet(folder / f"clean_{n_members}_{seed}" / "clean" / "members.parquet").member_id
    t = pd.read_csv(data / "uplift_truth.csv", dtype={"member_id": str}).set_index("member_id")
    gain = t[f"uplift_{kind}"] * t.expected_order_value * cp.margin
    best = gain.reindex(everyone.astype(str)).dropna()
    v = plan.validation
    chosen = plan.targets
    sent = chosen.member_id[~chosen.holdout]
    return {"size": n_members, "seed": seed, "state": "ready", "type": kind, "cost": cost, "cpu": cpu,
            "forecast": plan.returns[plan.recommended]["per_member"], "contacted": len(sent),
            "truth_per_member": truth(sent) / len(sent) if len(sent) else float("nan"),
            "rows": v.rows, "holdout_rows": v.holdout_rows,
            "model": truth(plan.model_list.member_id), "model_n": len(plan.model_list),
            "rfm": truth(plan.rfm_list.member_id), "rfm_n": len(plan.rfm_list),
            "best": truth(best.index[best > cost]), "everyone": truth(everyone),
            "qini_diff": v.difference, "recommended": plan.recommended, "seconds": seconds}


def covered(r: dict) -> bool:
    """The recommended list's forecast range per contacted member holds the truth per contacted member."""
    f = r["forecast"]
    return bool(r["contacted"]) and f[1] <= r["truth_per_member"] <= f[2]


def table(results: list[dict]) -> str:
    lines = ["| members | seed | rows (holdout) | cost | model list | RFM list | everyone | best possible | "
             "model - RFM | Qini diff [95%] | recommends | contacted | forecast per member [95%] | truth per member | "
             "CPU s | s |", "|" + "---|" * 16]
    for r in results:
        if r["state"] != "ready":
            lines.append(f"| {r['size']:,} | {r['seed']} | {r['state']} |" + " |" * 13)
            continue
        q, f = r["qini_diff"], r["forecast"]
        lines.append(f"| {r['size']:,} | {r['seed']} | {r['rows']:,} ({r['holdout_rows']:,}) | {r['cost']:.2f} | "
                     f"{r['model']:,.0f} ({r['model_n']:,}) | {r['rfm']:,.0f} ({r['rfm_n']:,}) | {r['everyone']:,.0f} | "
                     f"{r['best']:,.0f} | {r['model'] - r['rfm']:+,.0f} | {q[0]:+.2f} [{q[1]:+.2f}, {q[2]:+.2f}] | "
                     f"{r['recommended']} | {r['contacted']:,} | {f[0]:.2f} [{f[1]:.2f}, {f[2]:.2f}] | "
                     f"{r['truth_per_member']:.2f}{'' if covered(r) else ' (outside)'} | {r['cpu']:.1f} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="memberkit-uplift-") as tmp:
        folder = args.cache or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            for seed in args.seed_list:
                r = run_one(size, seed, args.window, folder)
                results.append(r)
                print(table([r]).splitlines()[-1], flush=True)
    ready = [r for r in results if r["state"] == "ready"]
    wins = sum(r["model"] > r["rfm"] for r in ready)
    inside = sum(covered(r) for r in ready)
    text = (f"# The next campaign's target list against RFM targeting (bench/uplift.py)\n\n"
            f"{dt.date.today()}, {platform.node()}, Python {platform.python_version()}; sample retailer with "
            f"`response_by_channel`, period 2026-10, window `{args.window}`. True net incremental margin of each "
            f"list (currency; members listed in brackets), every listed member as if contacted.\n\n"
            f"{table(results)}\n\nThe model's list beats the RFM list on the true effects in {wins} of {len(ready)} runs. "
            f"The recommended list's forecast range per contacted member holds the truth in {inside} of {len(ready)}.\n")
    args.out.write_text(text, encoding="utf-8")
    print(f"model list better in {wins} of {len(ready)}; written {args.out}")
    return 0 if wins == len(ready) else 1


if __name__ == "__main__":
    sys.exit(main())
