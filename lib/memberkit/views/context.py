"""The presentation context: the language, the currency and the number formats of one report.

A notebook builds one :class:`Presentation` from its resolved parameters and hands it to every
view, so words come from ``locale/<language>.yaml`` and numbers from one format per kind of
figure, without threading language and currency through every call.

Example
-------
>>> p = Presentation("en", "CNY")
>>> p.text("data_cleaning.title")
'Data cleaning'
>>> p.pct(0.1234), p.money(-25466.4).replace(WORD_JOINER, ""), p.count(1234567.4), p.pp(0.0123)
('12.3%', '-CN¥25,466', '1,234,567', '+1.2 pp')
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


def has_text(key: str, language: str) -> bool:
    """Whether ``language``'s own catalogue has ``key`` (no fallback to English)."""
    node: Any = _catalogue(language)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# ----------------------------------------------------------------- numbers
LOCALES = {"en": "en", "zh": "zh_Hans_CN"}   # the Babel (CLDR) locale of each report language
DASH = "–"                                   # a figure that does not exist (None, NaN, infinite)


def _locale(language: str) -> str:
    return LOCALES.get(language, "en")


def fmt_int(x, language: str = "en") -> str:
    """A count: ``1,234,567``."""
    from babel.numbers import format_decimal
    return DASH if missing(x) else format_decimal(int(round(x)), format="#,##0", locale=_locale(language))


def fmt_number(x, digits: int = 1, language: str = "en") -> str:
    """A plain number with ``digits`` decimals and grouping: ``1,234.5``."""
    from babel.numbers import format_decimal
    if missing(x):
        return DASH
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(round(x, digits), format=pattern, locale=_locale(language))


def fmt_pct(x, digits: int = 1) -> str:
    """A share or rate given as a fraction: ``0.1234`` -> ``12.3%``."""
    return DASH if missing(x) else f"{x * 100:.{digits}f}%"


def fmt_share(x) -> str:
    """A part of a whole in whole percent, one decimal under 1% and "<0.1%" under that, so that a small part
    is never written as none: ``0.266`` -> ``27%``, ``0.004`` -> ``0.4%``, ``0.00004`` -> ``<0.1%``,
    ``0`` -> ``0%``; a missing one is the dash.

    >>> fmt_share(0.266), fmt_share(0.004), fmt_share(0.00004), fmt_share(0.0)
    ('27%', '0.4%', '<0.1%', '0%')
    """
    if missing(x):
        return DASH
    if 0 < x < 0.0005:
        return "<0.1%"
    return fmt_pct(x, 1 if 0 < x < 0.0095 else 0)


def shown_points(x, digits: int = 1) -> float:
    """A rate as :func:`fmt_pct` shows it, back as a fraction: 0.2016 -> 0.202 (20.2%). Read from the
    very text shown, so a difference of two of them is the difference a reader works out."""
    return round(float(fmt_pct(x, digits).rstrip("%")) / 100, digits + 2)


def fmt_signed_pct(x, digits: int = 1) -> str:
    """A change in percent with its sign: +16.9%, -63%.

    >>> fmt_signed_pct(0.1687), fmt_signed_pct(-0.634, 0), fmt_signed_pct(float("inf"))
    ('+16.9%', '-63%', '–')
    """
    return DASH if missing(x) else f"{x:+.{digits}%}"


WORD_JOINER = "\u2060"   # invisible; no line may break at it (Unicode line breaking, class WJ)


def joined_sign(sign: str, shown: str) -> str:
    """``sign`` ('-' or '+') put before ``shown`` so that no line breaks between them: a browser may break after
    a hyphen-minus before a letter or a currency sign ('changes by -' at a line's end, 'CN¥4.51' on the next),
    so a word joiner holds them together there; before a digit nothing can break and nothing is added.

    >>> joined_sign("-", "CN¥4.51") == "-\u2060CN¥4.51", joined_sign("-", "4.5%")
    (True, '-4.5%')
    """
    if not sign or not shown or shown[0].isdigit():
        return sign + shown
    return sign + WORD_JOINER + shown


def fmt_money(x, currency: str = "CNY", digits: int = 0, language: str = "en") -> str:
    """Money with the currency's symbol in the report's language (CLDR, through Babel); a loss reads -£25,466,
    never broken after its sign (:func:`joined_sign`).

    >>> fmt_money(-25466.4, "GBP").replace(WORD_JOINER, ""), fmt_money(1234.5, "USD", 1), fmt_money(1234.5, "CNY", 0, "zh")
    ('-£25,466', '$1,234.5', '¥1,234')
    >>> fmt_money(1234.5, "CNY")        # in English the yuan is told from the yen
    'CN¥1,234'
    """
    from babel.numbers import format_currency
    if missing(x):
        return DASH
    pattern = "¤#,##0" + ("." + "0" * digits if digits > 0 else "")
    shown = format_currency(round(x, digits), currency, format=pattern, currency_digits=False, locale=_locale(language))
    return joined_sign("-", shown[1:]) if shown.startswith("-") else shown


def fmt_month(month, language: str = "en", full: bool = False) -> str:
    """A month as every page writes it, the one format per language: ``full`` for titles and sentences,
    'October 2026' / '2026年10月' (CLDR's ``yMMMM`` skeleton), else for chart axes and labels 'Oct 2026' /
    '2026年10月' (``yMMM``), through Babel. ``month``: 'YYYY-MM' (or 'YYYY-MM-DD'), a date, datetime or
    pandas Timestamp; only its year and month count. Raises ``ValueError`` for text of another form.

    >>> fmt_month("2025-10"), fmt_month("2025-10", "zh"), fmt_month("2026-10", "en", full=True)
    ('Oct 2025', '2025年10月', 'October 2026')
    """
    import datetime as _dt
    from babel.dates import format_skeleton
    if isinstance(month, str):
        parts = month.split("-")
        if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
            raise ValueError(f"a month is YYYY-MM, not {month!r}")
        day = _dt.date(int(parts[0]), int(parts[1]), 1)
    else:
        day = _dt.date(month.year, month.month, 1)
    return format_skeleton("yMMMM" if full else "yMMM", day, locale=_locale(language))


def currency_symbol(currency: str, language: str = "en") -> str:
    """The symbol of an ISO 4217 code in the report's language: GBP -> £, CNY -> CN¥ (en) or ¥ (zh)."""
    from babel.numbers import get_currency_symbol
    return get_currency_symbol(currency, locale=_locale(language))


# ----------------------------------------------------------------- the shop's data values
NAME_KINDS = ("region", "category", "campaign")   # the kinds of shop values the pages name (setting display_names)


@lru_cache(maxsize=1)
def _reference_names() -> dict:
    """reference/display_names.yaml: per edition and kind, a shop value -> the name shown."""
    return yaml.safe_load(files("memberkit").joinpath("reference/display_names.yaml").read_text(encoding="utf-8")) or {}


def own_names(display_names: dict | None, language: str) -> tuple:
    """The shop's own names for ``language``'s edition (the setting ``display_names``: edition -> kind ->
    value -> name) as the frozen pairs a :class:`Presentation` holds: ``(((kind, value), name), ...)``."""
    mine = (display_names or {}).get(language) or {}
    return tuple(((kind, str(value)), str(name)) for kind, names in mine.items() for value, name in (names or {}).items())


def _has_han(value: str) -> bool:
    """Whether ``value`` holds a Chinese character (a name an English reader cannot read)."""
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in value)


# ----------------------------------------------------------------- the context
@dataclass(frozen=True)
class Presentation:
    """How one report speaks: ``language`` ("en" or "zh") and ``currency`` (ISO 4217 code).

    Built once per notebook (:meth:`from_params`); every view takes it as its first argument.
    """

    language: str = "en"
    currency: str = "CNY"
    names: tuple = ()   # the shop's own names of its data values in this edition (:func:`own_names`)

    @classmethod
    def from_params(cls, params) -> "Presentation":
        """The context of a notebook's resolved parameters (any model with ``language`` and ``currency``,
        and ``display_names`` when it has them)."""
        return cls(language=params.language, currency=getattr(params, "currency", "CNY"),
                   names=own_names(getattr(params, "display_names", None), params.language))

    # the shop's data values
    def shop(self, kind: str, value) -> str:
        """A shop's data value of ``kind`` (``region``: a city or region; ``category``: a product category) as
        this edition names it: the shop's own name (setting ``display_names``), else the kit's reference name
        (``reference/display_names.yaml``: English names of Chinese cities, regions and categories), else the
        value as the data write it. The one place shop values get their display names.

        >>> Presentation("en").shop("region", "上海"), Presentation("zh").shop("region", "上海")
        ('Shanghai', '上海')
        >>> Presentation("en").shop("category", "母婴"), Presentation("en").shop("region", "Springfield")
        ('Mother and baby', 'Springfield')
        """
        if value is None or (isinstance(value, float) and value != value):
            return str(value)
        shown = str(value)
        for (k, v), name in self.names:
            if k == kind and v == shown:
                return name
        return (_reference_names().get(self.language) or {}).get(kind, {}).get(shown.strip(), shown)

    def campaign(self, campaign_id, name: str | None = None, kind: str | None = None, quoted: bool = True) -> str:
        """How the pages name a campaign: its id, then its name. The shop's own name for it (setting
        ``display_names``, by id) comes first; in the English edition a name an English reader cannot read
        is told by the campaign's type, its own name quoted for the shop's staff (``quoted=False``, for a
        chart's narrow labels: the id and type alone).

        >>> Presentation("en").campaign("C2610", "国庆会员日", "member_day")
        'C2610 member day “国庆会员日”'
        >>> Presentation("zh").campaign("C2610", "国庆会员日", "member_day"), Presentation("en").campaign("C1", "Spring sale")
        ('C2610 国庆会员日', 'C1 Spring sale')
        """
        cid = str(campaign_id)
        for (k, v), own in self.names:
            if k == "campaign" and v == cid:
                return f"{cid} {own}"
        if not name or name == cid:
            return cid
        if self.language == "en" and _has_han(str(name)) and kind:
            if not quoted:
                return f"{cid} {self.code('campaign_types', kind)}"
            return self.text("common.campaign_typed", id=cid, type=self.code("campaign_types", kind), name=name)
        return f"{cid} {name}"

    # words
    def text(self, key: str, **values) -> str:
        """The catalogue entry ``key`` in this report's language, ``values`` filled in."""
        return text(key, self.language, **values)

    def counted(self, key: str, count, /, **values) -> str:
        """The catalogue entry ``key`` for ``count`` things: ``<key>_one`` when ``count`` is 1 and this language
        has that entry (English: '1 repeat buyer was'), else ``key`` (Chinese needs no second form).

        >>> Presentation("en").counted("clv.check_excluded", 1, n="1", used="5")
        '1 repeat buyer with zero or negative net spend was left out of the spend model (5 used).'
        """
        if count == 1 and has_text(f"{key}_one", self.language):
            key = f"{key}_one"
        return self.text(key, **values)

    def count_of(self, x, noun: str) -> str:
        """A count with its noun, as a card shows it: '6,571 members', '1 member', '6,571 人'. ``noun`` names an
        entry of the catalogue's ``units`` (members, orders, purchases, experiments, campaigns, rows); the singular
        when the count shows as 1. A missing count is the dash alone."""
        shown = self.count(x)
        if missing(x):
            return shown
        return self.counted(f"units.{noun}", 1 if shown == "1" else 0, n=shown)

    def code(self, section: str, value) -> str:
        """A code the kit defines (a channel, status, campaign type, policy, field name) in this language.

        A value without a catalogue entry is shop data (a campaign type of the shop's own, a new
        column) and is shown as given; tests check that every code the kit itself defines has one.
        """
        try:
            return self.text(f"{section}.{value}")
        except KeyError:
            return str(value)

    @property
    def list_sep(self) -> str:
        """Between the items of a short list: '、' in Chinese, ', ' in English."""
        return "、" if self.language == "zh" else ", "

    @property
    def clause_sep(self) -> str:
        """Between two clauses of one sentence: '；' in Chinese, '; ' in English."""
        return "；" if self.language == "zh" else "; "

    @property
    def sentence_sep(self) -> str:
        """Between two sentences: nothing in Chinese, a space in English."""
        return "" if self.language == "zh" else " "

    # numbers: one format per kind of figure, used by cards, tables, chart labels and sentences alike
    def count(self, x) -> str:
        """A count of members, orders or rows: 1,234."""
        return fmt_int(x, self.language)

    def money(self, x, digits: int = 0) -> str:
        """An amount in this report's currency: £1,234 (the symbol from the ISO code, per language)."""
        return fmt_money(x, self.currency, digits, self.language)

    @property
    def symbol(self) -> str:
        """This report's currency symbol, for units in headings and axes: (£)."""
        return currency_symbol(self.currency, self.language)

    def pct(self, x, digits: int = 1) -> str:
        """A share or rate given as a fraction: 0.1234 -> 12.3%."""
        return fmt_pct(x, digits)

    def share(self, x) -> str:
        """A part of a whole: whole percent, one decimal under 1% (:func:`fmt_share`)."""
        return fmt_share(x)

    def signed_pct(self, x, digits: int = 1) -> str:
        """A relative change with its sign: +16.9%."""
        return fmt_signed_pct(x, digits)

    def pp(self, x, digits: int = 1) -> str:
        """A difference of two rates, in percentage points: 0.012 -> '+1.2 pp' ('+1.2 个百分点')."""
        return DASH if missing(x) else f"{x * 100:+.{digits}f} {self.text('units.pp')}"

    def pp_change(self, before, after, digits: int = 1) -> str:
        """The change from the rate ``before`` to ``after`` as a reader checks it beside the two: the
        difference of the two percentages as :meth:`pct` shows them, so 20.2% then 18.5% reads
        '-1.7 pp' even when the unrounded rates are 1.6 points apart (the exact change stays in the
        results and in ``data-value``).

        >>> Presentation("en", "CNY").pp_change(0.2016, 0.1854), Presentation("en", "CNY").pp(0.1854 - 0.2016)
        ('-1.7 pp', '-1.6 pp')
        """
        if missing(before) or missing(after):
            return DASH
        # rounded again (and -0.0 made 0.0): 0.185 - 0.202 leaves float noise that could show '-0.0 pp'
        return self.pp(round(shown_points(after, digits) - shown_points(before, digits), digits + 2) + 0.0, digits)

    def month(self, month, full: bool = False) -> str:
        """A month: 'Oct 2025' on charts, 'October 2025' with ``full`` in titles and sentences (:func:`fmt_month`)."""
        return fmt_month(month, self.language, full)

    def ratio(self, x, digits: int = 2) -> str:
        """A plain number that is neither a count nor money nor a share: 0.121 orders per member, 7.5 days."""
        return fmt_number(x, digits, self.language)

    def significant(self, x, digits: int = 3) -> str:
        """A model parameter to ``digits`` significant digits (0.243, 4.41, 10.6); whole numbers from
        1,000 up, never an exponent; "–" when missing."""
        if missing(x):
            return DASH
        return fmt_int(x, self.language) if abs(x) >= 10 ** digits else f"{float(f'{x:.{digits}g}'):g}"

    def delta(self, current, previous) -> str:
        """A count's change against an earlier value: '+12 (+3.4%)'; '' when there is none."""
        if missing(current) or missing(previous):
            return ""
        diff = current - previous
        rel = f" ({fmt_signed_pct(diff / previous)})" if previous else ""
        return f"{'+' if diff >= 0 else '-'}{fmt_int(abs(diff), self.language)}{rel}"


def reason_text(p: "Presentation", section: str, reason: dict | None, message: str) -> str:
    """Why something was left out, in ``p``'s language: ``reason`` is ``{"reason": code, **values}``
    from a :class:`memberkit.errors.ReasonedError` (catalogue ``<section>.why.<code>``); without
    one, the error's English ``message``."""
    if not reason:
        return message
    values = {k: v for k, v in reason.items() if k != "reason"}
    return p.text(f"{section}.why.{reason['reason']}", **values)
