"""What the "why did the month change" attribution costs, on a finished run's clean tables.

1. ``month_attribution``: every month figure's change against the previous month and a year
   earlier, split into drivers, groups (region, channel, new vs returning) and member flows: the
   part of the month-figures step that writes month.json's ``attribution``;
2. the split by tier and RFM segment the RFM report adds: its one per-member revenue aggregation
   (``member_month_revenue``) and the split itself (``member_group_split``), given the member tables
   at the three month ends (their query is the RFM report's own and is not counted here).

Both on a connection made from the run's engine setting. Prints one JSON object (seconds of wall time).

    PYTHONPATH=lib python bench/attribution.py OUT CONFIG [KEY=VALUE ...]
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def attribution_cost(out: Path, config: Path, overrides: list[str] = ()) -> dict:
    """{"figures_seconds", "member_groups_seconds", "members"} for the run in ``out`` (its
    ``data/clean`` and ``month.json``). Raises ``FileNotFoundError`` when the run left no month.json."""
    from memberkit import attribution, engine, rfm
    from memberkit.config import load_settings, notebook_params, project_root
    from memberkit.periods import period_bounds, previous_period, same_period_last_year
    root = project_root()
    params = notebook_params(load_settings(root, [config], list(overrides)), "rfm_segmentation")
    figures = json.loads((out / "month.json").read_text(encoding="utf-8"))
    period = figures["period"]
    con = engine.connect(params.engine)
    orders = con.read_parquet(out / "data" / "clean" / "orders.parquet")
    members = con.read_parquet(out / "data" / "clean" / "members.parquet")
    t = time.perf_counter()
    attribution.month_attribution(orders, members, period, figures["figures"], figures["months"],
                                  figures["active_window_days"])
    figures_seconds = time.perf_counter() - t
    months = [period, previous_period(period), same_period_last_year(period)]
    ends = [period_bounds(m)[1] for m in months]
    tables = rfm.member_tables_at(orders, rfm.member_profile(members), ends, params)
    t = time.perf_counter()
    per_member = attribution.member_month_revenue(orders, months)
    for i in (1, 2):
        attribution.member_group_split(per_member, tables[ends[i]][0], tables[ends[0]][0], i, 0)
    return {"figures_seconds": figures_seconds, "member_groups_seconds": time.perf_counter() - t,
            "members": int(len(per_member))}


if __name__ == "__main__":
    print(json.dumps(attribution_cost(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])))
