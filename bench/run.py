"""Benchmarks: transaction-scale work in the engine against the naive pandas path.

1. the per-member R/F/M summary (`memberkit.summary.member_summary`);
2. experiment outcomes: what each assigned member bought in the 30 days after assignment and
   the 90 before (`summary.experiment_units` + `summary.window_outcomes`, as the A/B report and,
   with other windows, the campaign review use them).

For each size, a synthetic order log is written to Parquet; then, each in a fresh process (so
peak memory is its own), the kit's path (on DuckDB, only the member-scale result reaches pandas)
and the naive path (read the whole log into pandas, then merge / groupby) compute the same table. The results are checked to agree, and the times and peak
memory are written to bench/results.md. Ratios compare two runs on the same machine in one go.

    make bench                          # sizes 1M and 5M order lines
    .venv/bin/python bench/run.py 200000 # other sizes
"""
from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

END = dt.date(2026, 10, 31)
WINDOW = 365

# Peak resident memory of this process (VmHWM starts afresh at exec, unlike ru_maxrss).
PEAK = """
def PEAK():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

ENGINE = PEAK + """
import json, sys, time, datetime as dt
from memberkit import engine, summary
t = time.perf_counter()
con = engine.connect()
orders = con.read_parquet(sys.argv[1])
out = summary.member_summary(orders, dt.date(2026, 10, 31), 365).to_pandas()
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mb": PEAK(),
                  "members": len(out), "frequency": int(out.frequency.sum()), "monetary": float(out.monetary.sum())}))
"""

NAIVE = PEAK + """
import json, sys, time
import pandas as pd
t = time.perf_counter()
o = pd.read_parquet(sys.argv[1])
o["order_date"] = pd.to_datetime(o.order_date)
o = o[o.member_id.notna() & (o.order_date <= pd.Timestamp("2026-10-31"))]
win = (o.order_date > pd.Timestamp("2026-10-31") - pd.Timedelta(days=365))
buy = o.amount > 0
last = o[buy].groupby("member_id").order_date.max()
freq = o[buy & win].groupby("member_id").order_id.nunique()
money = o[win].groupby("member_id").amount.sum()
out = pd.DataFrame({"last": last}).join(freq.rename("frequency")).join(money.rename("monetary")).fillna(0)
out["recency_days"] = (pd.Timestamp("2026-10-31") - out["last"]).dt.days
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mb": PEAK(),
                  "members": len(out), "frequency": int(out.frequency.sum()), "monetary": float(out.monetary.sum())}))
"""


EXPERIMENT_ENGINE = PEAK + """
import json, sys, time
from memberkit import engine, summary
t = time.perf_counter()
con = engine.connect()
orders = con.read_parquet(sys.argv[1])
assigned = con.read_parquet(sys.argv[1].replace("orders_", "assigned_"))
units = summary.experiment_units(assigned, ["X"], 30, 90)
out = summary.window_outcomes(orders, units, ["member_id", "variant"], ["pre", "post"]).to_pandas()
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mb": PEAK(), "members": len(out),
                  "frequency": int(out.orders_post.sum() + out.orders_pre.sum()),
                  "monetary": float(out.revenue_post.sum() + out.revenue_pre.sum())}))
"""

EXPERIMENT_NAIVE = PEAK + """
import json, sys, time
import pandas as pd
t = time.perf_counter()
o = pd.read_parquet(sys.argv[1])
a = pd.read_parquet(sys.argv[1].replace("orders_", "assigned_"))
j = a.merge(o[o.member_id.notna()], on="member_id", how="left")
post = (j.order_ts >= j.assigned_ts) & (j.order_ts < j.assigned_ts + pd.Timedelta(days=30))
pre = (j.order_ts >= j.assigned_ts - pd.Timedelta(days=90)) & (j.order_ts < j.assigned_ts)
paid = j.amount > 0
g = j.assign(op=j.order_id.where(post & paid), oq=j.order_id.where(pre & paid),
             rp=j.amount.where(post, 0.0), rq=j.amount.where(pre, 0.0)).groupby(["member_id", "variant"])
out = g.agg(op=("op", "nunique"), oq=("oq", "nunique"), rp=("rp", "sum"), rq=("rq", "sum"))
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mb": PEAK(), "members": len(out),
                  "frequency": int(out.op.sum() + out.oq.sum()), "monetary": float(out.rp.sum() + out.rq.sum())}))
"""

BENCHMARKS = {"per-member R/F/M summary": (ENGINE, NAIVE),
              "experiment outcomes (30 days after, 90 before assignment)": (EXPERIMENT_ENGINE, EXPERIMENT_NAIVE)}


def synthetic_orders(n: int, path: Path, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    members = max(n // 15, 1)
    days = rng.integers(0, 730, n)
    frame = pd.DataFrame({
        "order_id": np.char.add("O", np.arange(n).astype(str)),
        "member_id": np.char.add("M", rng.integers(0, members, n).astype(str)),
        "order_date": pd.Timestamp(END) - pd.to_timedelta(days, unit="D"),
        "amount": np.round(rng.lognormal(5, 1, n) * np.where(rng.random(n) < 0.03, -0.5, 1), 2),
        "channel": rng.choice(["online", "offline", "app"], n),
        "category": rng.choice(["服饰", "美妆", "食品", "家居"], n),
    })
    frame["order_ts"] = frame.order_date + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    frame["discount"] = np.round(np.where(rng.random(n) < 0.2, frame.amount.abs() * 0.1, 0.0), 2)
    frame["order_date"] = frame.order_date.dt.date
    frame.to_parquet(path, index=False)
    # one experiment: a tenth of the members, three variants, assigned on one day
    chosen = rng.choice(members, max(members // 10, 3), replace=False)
    pd.DataFrame({"experiment_id": "X", "member_id": np.char.add("M", chosen.astype(str)),
                  "variant": rng.choice(["control", "a", "b"], len(chosen)),
                  "assigned_ts": pd.Timestamp("2026-06-01") + pd.to_timedelta(rng.integers(0, 86_400, len(chosen)), unit="s"),
                  }).to_parquet(path.with_name(path.name.replace("orders_", "assigned_")), index=False)


def measure(script: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(sizes: list[int]) -> None:
    tables = {name: [] for name in BENCHMARKS}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"orders_{n}.parquet"
            synthetic_orders(n, path)
            for name, (engine_script, naive_script) in BENCHMARKS.items():
                eng, naive = measure(engine_script, path), measure(naive_script, path)
                same = eng["members"] == naive["members"] and eng["frequency"] == naive["frequency"] \
                    and abs(eng["monetary"] - naive["monetary"]) < 1e-6 * max(1.0, abs(naive["monetary"]))
                if not same:
                    raise SystemExit(f"{name}: results differ at {n:,} rows: engine {eng} naive {naive}")
                tables[name].append({
                    "order lines": f"{n:,}", "members": f"{eng['members']:,}",
                    "engine s": f"{eng['seconds']:.2f}", "pandas s": f"{naive['seconds']:.2f}",
                    "speed-up": f"{naive['seconds'] / eng['seconds']:.1f}x",
                    "engine peak MB": f"{eng['rss_mb']:.0f}", "pandas peak MB": f"{naive['rss_mb']:.0f}",
                    "memory ratio": f"{naive['rss_mb'] / eng['rss_mb']:.1f}x"})
                print(name, tables[name][-1], flush=True)
    text = (f"# Benchmarks\n\nMachine: {platform.machine()}, Python {platform.python_version()}, run "
            f"{dt.datetime.now():%Y-%m-%d %H:%M}. Each path in a fresh process; times exclude imports and include "
            f"reading the Parquet files. Results agree on every size.\n")
    for name, rows in tables.items():
        table = pd.DataFrame(rows)
        lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(map(str, r)) + " |" for r in table.itertuples(index=False)]
        text += f"\n## {name}\n\n" + "\n".join(lines) + "\n"
    out = Path(__file__).with_name("results.md")
    out.write_text(text, encoding="utf-8")
    print(f"written {out}")

if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [1_000_000, 5_000_000])
