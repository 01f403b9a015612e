"""The floor: the least a run must spend on the order log, measured on the file the run reads.

1. one DuckDB scan of the orders export as the kit reads it (``read_csv``, every column as text):
   count its rows;
2. one per-member R/F/M aggregate in DuckDB SQL on that file: last order time, distinct orders and
   the summed amount per member id, materialised.

Both on a connection made from the run's engine setting (:func:`memberkit.engine.connect`), so the
floor has the run's memory limit and threads. Prints one JSON object (seconds of wall time).

    PYTHONPATH=lib python bench/floor.py CONFIG [KEY=VALUE ...]
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def floor(config: Path, overrides: list[str] = ()) -> dict:
    """{"rows", "scan_seconds", "members", "rfm_seconds"} for the orders table of ``config`` (a
    CSV export, mapped by its ``columns``). Raises ``ValueError`` for an orders table that is not a CSV."""
    from memberkit import engine, sources
    from memberkit.config import load_settings, notebook_params, project_root
    root = project_root()
    params = notebook_params(load_settings(root, [config], list(overrides)), "data_cleaning")
    tsrc = params.source.tables["orders"]
    if tsrc.format != "csv":
        raise ValueError(f"the floor reads a CSV orders export, not {tsrc.format}")
    path = sources.base_folder(params.source, root) / tsrc.path
    col = {k: '"' + tsrc.columns.get(k, k).replace('"', '""') + '"' for k in ("member_id", "order_id", "order_ts", "amount")}
    read = "read_csv('{}', all_varchar=true, header={}, delim='{}', quote='\"')".format(
        str(path).replace("'", "''"), str(tsrc.header).lower(), tsrc.delimiter)
    con = engine.connect(params.engine)
    t = time.perf_counter()
    rows = con.raw_sql(f"SELECT count(*) FROM {read}").fetchone()[0]
    scan = time.perf_counter() - t
    t = time.perf_counter()
    con.raw_sql(f"""CREATE TEMP TABLE floor_rfm AS
        SELECT {col['member_id']} AS member_id, max(try_cast({col['order_ts']} AS TIMESTAMP)) AS last_order,
               count(DISTINCT {col['order_id']}) AS frequency, sum(try_cast({col['amount']} AS DOUBLE)) AS monetary
        FROM {read} GROUP BY 1""")
    rfm = time.perf_counter() - t
    members = con.raw_sql("SELECT count(*) FROM floor_rfm").fetchone()[0]
    return {"rows": int(rows), "scan_seconds": scan, "members": int(members), "rfm_seconds": rfm}


if __name__ == "__main__":
    print(json.dumps(floor(Path(sys.argv[1]), sys.argv[2:])))
