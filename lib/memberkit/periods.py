"""Reporting periods: months as 'YYYY-MM', and the default one (the last complete month).

Example
-------
>>> last_complete_month(pd.Timestamp("2026-10-31 18:00"))
'2026-10'
>>> last_complete_month(pd.Timestamp("2026-11-15"))
'2026-10'
>>> previous_period("2026-01")
'2025-12'
"""

from __future__ import annotations

import datetime as _dt

import pandas as pd


def last_complete_month(latest: pd.Timestamp | _dt.datetime) -> str:
    """The month of ``latest`` if the data reaches its last day, else the month before."""
    latest = pd.Timestamp(latest)
    month = latest.to_period("M")
    if latest.normalize() < month.end_time.normalize():
        month -= 1
    return str(month)


def previous_period(period: str) -> str:
    return str(pd.Period(period, "M") - 1)


def same_period_last_year(period: str) -> str:
    return str(pd.Period(period, "M") - 12)


def period_bounds(period: str) -> tuple[_dt.date, _dt.date]:
    """First and last day of the month."""
    p = pd.Period(period, "M")
    return p.start_time.date(), p.end_time.date()


def detect_period(con, orders, date_formats: list[str], as_of: _dt.date | None = None) -> str:
    """Default period from the raw orders: the last complete month up to ``as_of``."""
    from .engine import parse_timestamp
    import ibis
    as_of = as_of or _dt.date.today()
    ts = parse_timestamp(orders.order_ts, date_formats)
    latest = orders.filter(ts <= ibis.literal(_dt.datetime.combine(as_of, _dt.time(23, 59, 59)))) \
        .aggregate(latest=ts.max()).to_pyarrow().to_pylist()[0]["latest"]
    if latest is None:
        from .errors import InputError
        raise InputError("orders", "orders", "order_ts", "no readable order date up to the extraction date")
    return last_complete_month(latest)
