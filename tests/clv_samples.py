"""Order logs built to stress the CLV fits: no drop-out at all (the BG/NBD optimum at its a -> 0
boundary) and heavy buyers (over 100 repeat purchase days)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

END = dt.date(2026, 10, 31)


def orders_frame(n_members: int, seed: int, heavy: int = 0, dropout: bool = False, weeks: int = 104) -> pd.DataFrame:
    """Members whose first purchase falls in the first half of ``weeks`` before END; each buys on
    Poisson days at a gamma-distributed rate (shape 0.8, mean 0.12 a week) and, unless ``dropout``,
    never leaves. ``heavy`` extra members buy 2.5 times a week (about 130 repeat days a year).
    Spend per order: gamma (shape 4, mean 60). Columns: member_id, order_id, order_date, amount."""
    rng = np.random.default_rng(seed)
    start = END - dt.timedelta(weeks=weeks)
    rows = []
    rates = np.concatenate([rng.gamma(0.8, 0.15, n_members), np.full(heavy, 2.5)])
    for i, rate in enumerate(rates):
        first = rng.integers(0, weeks * 7 // 2)
        life = rng.exponential(30) * 7 if dropout else np.inf
        days = [first]
        t = float(first)
        while True:
            t += rng.exponential(7 / rate)
            if t > weeks * 7 - 1 or t - first > life:
                break
            days.append(int(t))
        for k, d in enumerate(days):
            rows.append((f"m{i:06d}", f"o{i:06d}_{k:04d}", start + dt.timedelta(days=int(d)), float(rng.gamma(4, 15))))
    return pd.DataFrame(rows, columns=["member_id", "order_id", "order_date", "amount"])
