"""What a report concluded, as plain data: :class:`Results` (the ``<name>.json`` contract).

The index page, the runner and later reports read these files; every value in them is a plain
number or text (no HTML, no formatting). Words and pictures live in :mod:`memberkit.views`.

Example
-------
>>> plain(float("nan")) is None, missing(float("inf")), missing(3)
(True, True, False)
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any


# ----------------------------------------------------------------- numbers
def missing(x) -> bool:
    """No number to show: None, NaN or infinite (an interval without an upper end)."""
    try:
        return x is None or not math.isfinite(x)
    except TypeError:
        return False


def plain(x):
    """A scalar ready for JSON: numpy scalars as Python numbers, missing numbers as null."""
    x = x.item() if hasattr(x, "item") else x
    return None if isinstance(x, float) and missing(x) else x


# ----------------------------------------------------------------- results
class Results:
    """What a report concluded, machine-readable: the contract the index and other reports read.

    Example
    -------
    >>> r = Results("data_cleaning", period="2026-10", language="en")
    >>> r.kpi("rows_read", 100, "Rows read", "100")
    >>> r.to_dict()["kpis"]["rows_read"]["value"]
    100
    """

    def __init__(self, name: str, period: str, language: str):
        self.name, self.period, self.language = name, period, language
        self.title = ""
        self.headline_text = ""
        self.kpis: dict[str, dict] = {}
        self.key_results: dict[str, Any] = {}

    def kpi(self, key: str, value, label: str, display: str, delta: str = ""):
        self.kpis[key] = {"value": value, "label": label, "display": display, "delta": delta}

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "period": self.period, "language": self.language,
                "headline": self.headline_text, "kpis": self.kpis, "results": self.key_results}

    def save(self, out_dir: str | Path) -> Path:
        path = Path(out_dir) / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(self.to_dict()), encoding="utf-8")
        return path


def dumps(data) -> str:
    """``data`` as strict JSON text (RFC 8259): a missing number (NaN, inf, -inf) is ``null``.

    Dicts, lists and tuples are converted all the way down (:func:`strict`); the text is UTF-8
    ready (``ensure_ascii=False``), indented by one space.

    >>> dumps({"a": [1.5, float("nan")], "b": {"c": float("-inf")}}).split()
    ['{', '"a":', '[', '1.5,', 'null', '],', '"b":', '{', '"c":', 'null', '}', '}']
    """
    return json.dumps(strict(data), ensure_ascii=False, indent=1, allow_nan=False)


def strict(x):
    """``x`` with every value JSON can hold: numpy scalars as Python numbers, arrays as lists,
    NaN / inf / NaT / NA as None, dates as ISO text, tuples as lists, any other object as its text; dict keys as text
    when they are not already str, int, float, bool or None."""
    if isinstance(x, dict):
        return {(k if isinstance(k, (str, int, float, bool)) or k is None else str(_scalar(k))): strict(v)
                for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [strict(v) for v in x]
    if getattr(x, "ndim", 0) and hasattr(x, "tolist"):          # an array or a series
        return strict(x.tolist())
    x = _scalar(x)
    if x is None or isinstance(x, (str, bool, int)):
        return x
    if isinstance(x, float):
        return None if missing(x) else x
    if isinstance(x, (_dt.date, _dt.datetime)):
        return x.isoformat()
    return str(x)


def _scalar(x):
    """numpy and pandas scalars as Python values; NaT and NA as None."""
    if type(x).__name__ in ("NaTType", "NAType"):
        return None
    return x.item() if hasattr(x, "item") and not isinstance(x, (list, tuple, dict, str)) else x


def load_results(out_dir: str | Path, name: str) -> dict | None:
    """A report's results (``<out_dir>/<name>.json``) as saved by :meth:`Results.save`, or None
    when there is no such file. A missing number reads as None (formatted as a dash)."""
    path = Path(out_dir) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
