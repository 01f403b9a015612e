"""What a report concluded, as plain data: :class:`Results` (the ``<name>.json`` contract).

The index page, the runner and later reports read these files; every value in them is a number
or a code (a segment, verdict, reason or metric key; dates, ids and the shop's names as data): no
label, headline or formatted figure, in no language. Words and pictures live in
:mod:`memberkit.views`, which words each report from these numbers.

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
def anchor(kind: str, code: str = "") -> str:
    """The anchor of a report page's section that the month summary's decisions link to, the same in
    every language: ``anchor("campaign", "C2610")`` -> ``'campaign-C2610'``, ``anchor("at-risk")`` ->
    ``'at-risk'``. Anything in ``code`` but letters, digits, ``_`` and ``-`` becomes ``-``."""
    import re
    code = re.sub(r"[^A-Za-z0-9_-]+", "-", str(code)).strip("-")
    return f"{kind}-{code}" if code else kind


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
RETIRED_FIELDS = ("title", "headline", "language")   # words an older <name>.json may still carry; read past them


class Results:
    """What a report concluded, machine-readable: the contract the index and other reports read.

    Only numbers and codes: each KPI is its value (a number, or None when there is none); words,
    titles and headlines are made from these by the report's view (``views.<report>.summary_card``)
    in the reader's language.

    Example
    -------
    >>> r = Results("data_cleaning", period="2026-10")
    >>> r.kpi("rows_read", 100)
    >>> r.to_dict()["kpis"]
    {'rows_read': 100}
    """

    def __init__(self, name: str, period: str):
        self.name, self.period = name, period
        self.kpis: dict[str, Any] = {}
        self.key_results: dict[str, Any] = {}

    def kpi(self, key: str, value) -> None:
        self.kpis[key] = plain(value)

    def to_dict(self) -> dict:
        return {"name": self.name, "period": self.period, "kpis": self.kpis, "results": self.key_results}

    def save(self, out_dir: str | Path) -> Path:
        """Write ``<out_dir>/<name>.json``: :meth:`to_dict` and the run's ``stamp``: ``engine_queries``, the
        queries this process has sent to the engine so far (:func:`memberkit.engine.queries`; a report's
        kernel is its own process, so in a run it is the report's count, which the runner puts in its log
        line and the manifest). The stamp describes the run, not the results: nothing reads it as a result."""
        from .engine import queries
        path = Path(out_dir) / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps({**self.to_dict(), "stamp": {"engine_queries": queries()}}), encoding="utf-8")
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
    when there is no such file. A missing number reads as None (formatted as a dash). A file of an
    older run reads the same way (:func:`current_form`)."""
    path = Path(out_dir) / f"{name}.json"
    return current_form(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None


def current_form(data):
    """``data`` (a results dict) as :meth:`Results.to_dict` makes it now: the words an older run
    wrote (:data:`RETIRED_FIELDS`, a KPI's label, display text and change) are left out, each KPI
    is its value.

    >>> current_form({"title": "T", "headline": "h", "kpis": {"n": {"value": 3, "label": "N", "display": "3"}}})
    {'kpis': {'n': 3}}
    """
    if not isinstance(data, dict):
        return data
    out = {k: v for k, v in data.items() if k not in RETIRED_FIELDS}
    kpis = out.get("kpis")
    if isinstance(kpis, dict):
        out["kpis"] = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in kpis.items()}
    return out
