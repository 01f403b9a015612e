"""Transaction-scale aggregation: the clean order log -> one row per member (or per member x month).

Every function here takes and returns Ibis expressions, so the work runs in the engine
(embedded DuckDB by default) and only member-scale results reach pandas via ``.to_pandas()``.

Definitions used by every report (DOMAIN.md):

- an *order* is a distinct ``order_id`` of a paid purchase (amount > 0); returns are not orders;
- *revenue* is net: paid amounts plus returns (negative); cancelled orders were rejected by cleaning;
- guest orders (no member id) are outside member analytics;
- a date window ``(end - days, end]`` holds ``days`` calendar days ending on ``end``.

Example
-------
>>> import datetime as dt, ibis
>>> orders = ibis.memtable({"member_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
...     "order_date": [dt.date(2026, 1, 5), dt.date(2026, 1, 20), dt.date(2025, 6, 1)],
...     "amount": [100.0, 50.0, 80.0]})
>>> s = member_summary(orders, dt.date(2026, 1, 31), window_days=365).order_by("member_id").to_pandas()
>>> s[["member_id", "recency_days", "frequency", "monetary"]].values.tolist()
[['a', 11, 2, 150.0], ['b', 244, 1, 80.0]]
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

import ibis

CLEAN_TABLES = ("orders", "members", "identity_map", "campaigns", "campaign_members", "experiments")


# ------------------------------------------------------------------ the clean tables
def open_clean(ctx, con=None) -> tuple[object, dict[str, ibis.Table]]:
    """The clean tables of this run as engine tables, cleaning first when they are missing or stale.

    The cleaning report writes ``<output>/data/clean/*.parquet`` and a stamp of what they came
    from. Another report reuses them when the stamp matches its own inputs and settings, and
    otherwise runs the cleaning itself (so a notebook opened on its own still works). A file
    lock keeps two reports started together from cleaning into the same folder at once.
    """
    import fcntl
    from . import engine
    from .clean import cleaning_stamp, run_cleaning
    from .config import notebook_params
    con = con or engine.connect()
    params = notebook_params(ctx.settings, "data_cleaning")
    folder = ctx.data_dir / "clean"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp_file = folder / "_stamp.json"
        current = json.loads(stamp_file.read_text()) if stamp_file.is_file() else None
        if current != cleaning_stamp(params, ctx) or not (folder / "orders.parquet").is_file():
            # stderr: the analyst sees it in the notebook, the rendered report leaves it out
            print("Cleaning the sources first (no up-to-date clean files for these inputs) ...", file=sys.stderr, flush=True)
            run_cleaning(params, ctx)
    tables = {name: con.read_parquet(folder / f"{name}.parquet", table_name=f"clean_{name}")
              for name in CLEAN_TABLES if (folder / f"{name}.parquet").is_file()}
    return con, tables


# ------------------------------------------------------------------ per member
def member_orders(orders: ibis.Table) -> ibis.Table:
    """Order lines of members only (guests are outside member analytics)."""
    return orders.filter(orders.member_id.notnull())


def _day(d: _dt.date) -> ibis.Value:
    return ibis.literal(d, type="date")


def in_window(orders: ibis.Table, end: _dt.date, days: int) -> ibis.Value:
    """True for orders dated in the ``days`` calendar days ending on ``end``."""
    return (orders.order_date > _day(end - _dt.timedelta(days=days))) & (orders.order_date <= _day(end))


def member_summary(orders: ibis.Table, end: _dt.date, window_days: int = 365) -> ibis.Table:
    """Per member with any order up to ``end``: recency, frequency and spend in the window, first/last order.

    Columns: member_id, first_order_date, last_order_date (purchases, over all history up to
    ``end``), recency_days (``end`` minus the last purchase), frequency (orders in the window),
    monetary (net revenue in the window), orders_total, revenue_total (all history up to ``end``).
    """
    o = member_orders(orders)
    o = o.filter(o.order_date <= _day(end))
    purchase = o.amount > 0
    window = in_window(o, end, window_days)
    agg = o.group_by("member_id").agg(
        first_order_date=o.order_date.min(where=purchase),
        last_order_date=o.order_date.max(where=purchase),
        frequency=o.order_id.nunique(where=purchase & window),
        monetary=o.amount.sum(where=window),
        orders_total=o.order_id.nunique(where=purchase),
        revenue_total=o.amount.sum(),
    )
    agg = agg.filter(agg.last_order_date.notnull())
    return agg.mutate(recency_days=_day(end).delta(agg.last_order_date, unit="day"),
                      monetary=agg.monetary.fill_null(0.0))


def active_members(orders: ibis.Table, at: _dt.date, window_days: int) -> ibis.Table:
    """Members with a purchase in the ``window_days`` up to ``at`` (DOMAIN.md: active at a date)."""
    o = member_orders(orders)
    o = o.filter((o.amount > 0) & in_window(o, at, window_days))
    return o.select("member_id").distinct()


def member_months(orders: ibis.Table) -> ibis.Table:
    """Distinct (member_id, month) pairs with a purchase; month as the first day of the month."""
    o = member_orders(orders)
    o = o.filter(o.amount > 0)
    return o.select(member_id=o.member_id, month=o.order_date.truncate("M")).distinct()
