"""The presentation context: the language, the currency and the number formats of one report.

A notebook builds one :class:`Presentation` from its resolved parameters and hands it to every
view, so words come from ``locale/<language>.yaml`` and numbers from one format per kind of
figure, without threading language and currency through every call.

Example
-------
>>> p = Presentation("en", "CNY")
>>> p.text("data_cleaning.title")
'Data cleaning'
>>> p.pct(0.1234), p.money(-25466.4), p.count(1234567.4)
('12.3%', '-¥25,466', '1,234,567')
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml

from ..report import missing


# ----------------------------------------------------------------- words
@lru_cache(maxsize=4)
def _catalogue(language: str) -> dict:
    return yaml.safe_load(files("memberkit").joinpath(f"locale/{language}.yaml").read_text(encoding="utf-8"))


def text(key: str, language: str = "en", **values) -> str:
    """The sentence or label ``key`` ("section.name") in ``language``, with ``values`` filled in.

    A key missing in a language falls back to English; a key missing in English raises ``KeyError``.
    """
    node: Any = _catalogue(language)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            if language != "en":
                return text(key, "en", **values)
            raise KeyError(f"no text for {key!r}")
        node = node[part]
    return str(node).format(**values) if values else str(node)


# ----------------------------------------------------------------- numbers
def fmt_int(x) -> str:
    return "–" if missing(x) else f"{int(round(x)):,}"


def fmt_pct(x, digits: int = 1) -> str:
    return "–" if missing(x) else f"{x * 100:.{digits}f}%"


def fmt_signed_pct(x, digits: int = 1) -> str:
    """A change in percent with its sign: +16.9%, -63%.

    >>> fmt_signed_pct(0.1687), fmt_signed_pct(-0.634, 0), fmt_signed_pct(float("inf"))
    ('+16.9%', '-63%', '–')
    """
    return "–" if missing(x) else f"{x:+.{digits}%}"


def fmt_money(x, currency: str = "CNY", digits: int = 0) -> str:
    """Money with its symbol; a loss reads -¥25,466.

    >>> fmt_money(-25466.4), fmt_money(1234.5, "USD", 1)
    ('-¥25,466', '$1,234.5')
    """
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€"}.get(currency, currency + " ")
    if missing(x):
        return "–"
    return f"{'-' if x < 0 else ''}{symbol}{abs(x):,.{digits}f}"


def fmt_delta(current, previous, kind: str = "int") -> str:
    """'+12 (+3.4%)' style change against an earlier value; '' when there is none."""
    if previous is None or current is None:
        return ""
    diff = current - previous
    if kind == "pct":
        return f"{diff * 100:+.1f} pp"
    rel = f" ({diff / previous:+.1%})" if previous else ""
    return f"{diff:+,.0f}{rel}"


# ----------------------------------------------------------------- the context
@dataclass(frozen=True)
class Presentation:
    """How one report speaks: ``language`` ("en" or "zh") and ``currency`` (ISO 4217 code).

    Built once per notebook (:meth:`from_params`); every view takes it as its first argument.
    """

    language: str = "en"
    currency: str = "CNY"

    @classmethod
    def from_params(cls, params) -> "Presentation":
        """The context of a notebook's resolved parameters (any model with ``language`` and ``currency``)."""
        return cls(language=params.language, currency=getattr(params, "currency", "CNY"))

    # words
    def text(self, key: str, **values) -> str:
        """The catalogue entry ``key`` in this report's language, ``values`` filled in."""
        return text(key, self.language, **values)

    @property
    def list_sep(self) -> str:
        """Between the items of a short list: '、' in Chinese, ', ' in English."""
        return "、" if self.language == "zh" else ", "

    @property
    def sentence_sep(self) -> str:
        """Between two sentences: nothing in Chinese, a space in English."""
        return "" if self.language == "zh" else " "

    # numbers: one format per kind of figure
    def count(self, x) -> str:
        """A count of members, orders or rows: 1,234."""
        return fmt_int(x)

    def money(self, x, digits: int = 0) -> str:
        """An amount in this report's currency: ¥1,234."""
        return fmt_money(x, self.currency, digits)

    def pct(self, x, digits: int = 1) -> str:
        """A share or rate given as a fraction: 0.1234 -> 12.3%."""
        return fmt_pct(x, digits)

    def signed_pct(self, x, digits: int = 1) -> str:
        """A relative change with its sign: +16.9%."""
        return fmt_signed_pct(x, digits)

    def delta(self, current, previous, kind: str = "int") -> str:
        """The change against an earlier value: '+12 (+3.4%)', or '+5.0 pp' for rates."""
        return fmt_delta(current, previous, kind)
