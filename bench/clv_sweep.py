"""CLV robustness sweep: the whole CLV analysis must complete, every member with a finite,
non-negative forecast, on

1. the sample retailer at 20 seeds and several sizes (default 2,000 and 5,000 members),
2. order logs built so that nobody drops out (the BG/NBD optimum at its a -> 0 boundary),
   with and without 20 heavy buyers (about 130 repeat purchase days each),
3. optionally the generator's 1,000,000-member retailer, seed 7 (``--million``; long).

For each run it records the time, the chosen model, how it was chosen, the spend model used and
the notes (failed models, no drop-out); results go to bench/clv_results.md. A run that fails or
leaves a member without a finite, non-negative value is reported and makes the script exit 1.

    make bench                                   # includes this sweep at its defaults
    .venv/bin/python bench/clv_sweep.py --seeds 3 --sizes 2000
    .venv/bin/python bench/clv_sweep.py --million
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sample_tables(n_members: int, seed: int, tmp: Path):
    """The generator's retailer, through sources and cleaning: engine tables and its period."""
    from memberkit import clean, engine, sources
    from memberkit.config import load_settings, notebook_params
    from memberkit.sample import generate_sample
    folder = tmp / f"retailer_{n_members}_{seed}"
    truth = generate_sample(folder, n_members=n_members, seed=seed)
    cfg = notebook_params(load_settings(ROOT, [], [f"source.base_dir={folder}", "source.sample=null"]), "data_cleaning")
    con = engine.connect()
    raw = sources.load_sources(con, cfg.source, ROOT, tmp / f"staging_{n_members}_{seed}")
    out = tmp / f"clean_{n_members}_{seed}"
    clean.clean_all(con, raw, as_of=dt.date.fromisoformat(truth["extracted_at"]),
                    date_formats=cfg.source.tables["orders"].date_formats, out_dir=out)
    return {n: con.read_parquet(out / "clean" / f"{n}.parquet", table_name=f"t{seed}_{n_members}_{n}")
            for n in ("orders", "members")}, truth


def run(label: str, tables: dict, period: str) -> dict:
    from memberkit import clv
    from memberkit.config import load_settings, notebook_params
    params = notebook_params(load_settings(ROOT, [], ["source.sample=null"]), "clv_forecast")
    t0 = time.perf_counter()
    try:
        a = clv.analyse(tables, period, params)
    except Exception as e:  # noqa: BLE001 - a failed run is the finding
        return {"run": label, "ok": False, "seconds": time.perf_counter() - t0, "problem": f"{type(e).__name__}: {e}"}
    values = a.members[["expected_purchases", "probability_alive", "expected_spend", "clv"]].to_numpy(float)
    bad = int((~np.isfinite(values) | (values < 0)).any(axis=1).sum())
    return {"run": label, "ok": bad == 0, "seconds": time.perf_counter() - t0, "members": len(a.members),
            "max_frequency": int(a.members.frequency.max()), "model": a.chosen, "chosen_by": a.chosen_by,
            "spend_model": a.spend_checks["model_used"], "bad_members": bad,
            "notes": "; ".join(f"{n['model']}: {n['problem'][:60]}" for n in a.notes) or "-"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    ap.add_argument("--million", action="store_true", help="also the 1,000,000-member retailer, seed 7")
    args = ap.parse_args()
    import ibis
    sys.path.insert(0, str(ROOT / "tests"))
    from clv_samples import orders_frame
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            for seed in range(1, args.seeds + 1):
                tables, truth = sample_tables(n, seed, Path(tmp))
                period = dt.date.fromisoformat(truth["extracted_at"]).replace(day=1) - dt.timedelta(days=1)
                rows.append(run(f"sample {n:,} seed {seed}", tables, period.strftime("%Y-%m")))
                print(rows[-1], flush=True)
        for heavy in (0, 20):
            for seed in (1, 2, 3):
                orders = orders_frame(3000, seed, heavy=heavy)
                rows.append(run(f"no drop-out 3,000 + {heavy} heavy, seed {seed}", {"orders": ibis.memtable(orders)},
                                "2026-10"))
                print(rows[-1], flush=True)
        if args.million:
            tables, truth = sample_tables(1_000_000, 7, Path(tmp))
            period = dt.date.fromisoformat(truth["extracted_at"]).replace(day=1) - dt.timedelta(days=1)
            rows.append(run("sample 1,000,000 seed 7", tables, period.strftime("%Y-%m")))
            print(rows[-1], flush=True)
    cols = ["run", "ok", "seconds", "members", "max_frequency", "model", "chosen_by", "spend_model", "bad_members",
            "notes", "problem"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:.1f}" if c == "seconds" else str(r.get(c, "")) for c in cols) + " |")
    out = Path(__file__).with_name("clv_results.md")
    out.write_text(f"# CLV robustness sweep\n\nRun {dt.datetime.now():%Y-%m-%d %H:%M}; "
                   f"{sum(r['ok'] for r in rows)} of {len(rows)} complete with every member finite and non-negative.\n\n"
                   + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"written {out}")
    if not all(r["ok"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
