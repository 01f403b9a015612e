"""Reporting periods: months as 'YYYY-MM', and the default one (the last calendar month that
ended by the extraction date).

Example
-------
>>> default_period(_dt.date(2026, 11, 1))[0]
'2026-10'
>>> default_period(_dt.date(2026, 10, 31))[0]
'2026-09'
>>> previous_period("2026-01")
'2025-12'
"""

from __future__ import annotations

import datetime as _dt

import pandas as pd


def default_period(as_of: _dt.date, source: str = "as_of") -> tuple[str, str]:
    """The last calendar month that ended on or before ``as_of``, and a sentence saying why.

    A month ends at midnight after its last day, so data extracted on 1 November reports
    October, and data extracted on 31 October (the day not over) reports September. The data's
    last order plays no part: a scheduler run on the 2nd reports the month just closed.

    ``source`` says where ``as_of`` came from, for the reason. Returns (period 'YYYY-MM', reason).
    """
    month = pd.Period(as_of, "M") - 1
    reason = (f"{month} is the last calendar month that ended on or before the extraction date "
              f"{as_of.isoformat()} ({source}); set --period to report another month")
    return str(month), reason


def previous_period(period: str) -> str:
    return str(pd.Period(period, "M") - 1)


def same_period_last_year(period: str) -> str:
    return str(pd.Period(period, "M") - 12)


def period_bounds(period: str) -> tuple[_dt.date, _dt.date]:
    """First and last day of the month."""
    p = pd.Period(period, "M")
    return p.start_time.date(), p.end_time.date()
