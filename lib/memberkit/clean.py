"""The cleaning rules of the domain, as Ibis expressions run in the engine.

Every row of every table either is kept or lands in that table's rejected rows with the
first rule it breaks, so ``rows in = rows kept + rows rejected`` holds and is checked.
Rules are data (``ORDER_RULES`` ...), in the order they are applied; the report's
waterfall follows that order. Text is read by the one parser in ``memberkit.engine``.

Orders are order lines: an order (one ``order_id``) may have many lines, and an order is the
sum of its lines. Exact copies are judged on the whole source row (or a declared key).
A cancelled order (its status) is excluded with all its lines; a separate cancellation or
return line (status returned, an order id prefix such as "C", optionally a negative quantity)
is kept with a negative amount, netted in its own month. A paid order of zero is a purchase.
Money is stored as DECIMAL at the currency's minor unit, so every sum in the engine is exact.

Example
-------
>>> # result = clean_all(con, raw_tables, as_of=..., date_formats=[...], rules=CleaningRules(), out_dir=...)
>>> # result.tables["orders"].rows_in == result.tables["orders"].kept + result.tables["orders"].rejected
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as _dt
import functools
import json
import shutil
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import ibis
import pandas as pd
import yaml

from . import engine
from .engine import (DEFAULT_TIME_ZONE, DecimalMarkError, blank_to_null, decimal_mark, float_like_ids, id_text,
                     is_finite, parse_money, parse_number, parse_timestamp, to_money)
from .errors import InputError, MemberkitError, listed
from .identity import mask_e164
from .schema import CANONICAL

ORDER_RULES = [
    ("duplicate", "exact copy of an earlier row (whole source row, or the declared key)"),
    ("unparseable_date", "order time cannot be read"),
    ("future_date", "order time after the extraction date"),
    ("unparseable_amount", "no amount: not a number (or written with the other decimal mark than the column's), "
                           "and no quantity x unit price or payment"),
    ("non_finite_amount", "amount is not a finite number (NaN or infinite)"),
    ("implausible_amount", "order or line above the plausibility bound (max_order_amount)"),
    ("unknown_status", "unknown status (not mapped onto paid, cancelled or returned)"),
    ("cancelled", "cancelled order: none of its lines count"),
    ("non_product", "not a product line (postage, fee, adjustment)"),
    ("negative_quantity", "negative quantity outside a return"),
    ("negative_amount", "negative amount outside a return"),
    ("unknown_member", "member id not in the member table"),
    ("outlier", "order far above the usual basket (outlier policy: exclude)"),
]
MEMBER_RULES = [
    ("duplicate", "exact copy of an earlier row"),
    ("missing_member_id", "no member id"),
    ("duplicate_member_id", "member id repeated with different details (first kept)"),
    ("merged_identity", "same person as another member (person id, mapping or phone): merged into it"),
]
# campaign_members and experiments. The population of an experiment is its assignment table:
# an assigned member counts whether or not the member table knows it or it ever ordered.
LINK_RULES = [
    ("duplicate", "exact copy of an earlier row"),
    ("missing_id", "a required id is empty"),
    ("unparseable_date", "a date cannot be read"),
    ("future_date", "assigned, sent or redeemed after the extraction date"),
    ("unparseable_outcome", "an outcome value is empty or cannot be read"),
    ("several_variants", "member found in more than one variant (or group): cannot be attributed"),
    ("repeat_assignment", "the same member again in the same variant (or group): first kept"),
]
LINK_KEYS = {"experiments": ("experiment_id", "variant", "assigned_ts"),
             "campaign_members": ("campaign_id", "group", "sent_ts")}
ACCOUNT_RULES = [
    ("duplicate", "exact copy of an earlier row"),
    ("missing_id", "account id or person id is empty"),
    ("duplicate_member_id", "account mapped again to another person (first kept)"),
]
BINARY_TRUE = ["1", "1.0", "true", "t", "yes", "y"]
BINARY_FALSE = ["0", "0.0", "false", "f", "no", "n"]
CAMPAIGN_RULES = [
    ("duplicate", "exact copy of an earlier row"),
    ("missing_id", "no campaign id"),
    ("unparseable_date", "start or end cannot be read"),
]
PAYMENT_RULES = [
    ("duplicate", "exact copy of an earlier row"),
    ("missing_id", "no order id"),
    ("unparseable_amount", "amount is not a number (or written with the other decimal mark than the column's)"),
    ("non_finite_amount", "amount is not a finite number (NaN or infinite)"),
    ("implausible_amount", "payment above the plausibility bound (max_order_amount)"),
    ("unknown_order", "order id not in the orders table"),
]
RULES = {"orders": ORDER_RULES, "members": MEMBER_RULES, "campaign_members": LINK_RULES,
         "experiments": LINK_RULES, "campaigns": CAMPAIGN_RULES, "accounts": ACCOUNT_RULES,
         "payments": PAYMENT_RULES}
TEXT_COLUMNS = {"members": ["region", "channel"], "orders": ["channel", "status"],
                "campaign_members": ["group"]}
STATUSES = ("paid", "cancelled", "returned")


@dataclass(frozen=True)
class CleaningRules:
    """The shop-specific settings of the rules (``CleaningParams`` in the config).

    scale : digits of the currency's minor unit; money is DECIMAL(18, scale)
    time_zone : business time zone; zoned timestamps are converted to it
    max_order_amount : plausibility bound in the shop's currency (order total and any one line)
    statuses : the shop's status words -> paid / cancelled / returned (over the built-in words)
    return_prefixes : order id prefixes that mark a cancellation or return line
    negative_quantity_is_return : a negative quantity marks a return line (else it is refused)
    non_product_ids, non_product_categories, non_product_pattern : lines that are not products
    decimal : per table, the decimal mark setting ("auto", "." or ",")
    regions : the shop's regions (any case), or None when it gave no list
    """

    scale: int = 2
    time_zone: str = DEFAULT_TIME_ZONE
    max_order_amount: float = 10_000_000
    statuses: tuple[tuple[str, str], ...] = ()
    return_prefixes: tuple[str, ...] = ()
    negative_quantity_is_return: bool = False
    non_product_ids: tuple[str, ...] = ()
    non_product_categories: tuple[str, ...] = ()
    non_product_pattern: str | None = None
    decimal: tuple[tuple[str, str], ...] = ()
    regions: tuple[str, ...] | None = None

    @classmethod
    def from_params(cls, params) -> "CleaningRules":
        from .engine import currency_scale
        return cls(scale=currency_scale(params.currency), time_zone=params.time_zone,
                   max_order_amount=params.max_order_amount, statuses=tuple(sorted(params.statuses.items())),
                   return_prefixes=tuple(params.return_prefixes),
                   negative_quantity_is_return=params.negative_quantity_is_return,
                   non_product_ids=tuple(params.non_product_ids),
                   non_product_categories=tuple(params.non_product_categories),
                   non_product_pattern=params.non_product_pattern,
                   decimal=tuple((n, t.decimal) for n, t in params.source.tables.items()),
                   regions=tuple(params.regions) if params.regions is not None else None)

    def status_map(self) -> dict[str, str]:
        """Lower-case shop word -> paid / cancelled / returned."""
        out = dict(text_vocabulary()["status"])
        out.update({str(k).strip().lower(): v for k, v in self.statuses})
        return out


@dataclass
class TableReport:
    table: str
    rows_in: int
    kept: int
    rejected: int
    steps: list[dict] = field(default_factory=list)   # [{"rule", "description", "rows"}] in rule order
    derived: bool = False                              # built from another table, not read from a file


@dataclass
class CleaningResult:
    tables: dict[str, TableReport]
    merged_members: int
    linked_people: int
    guest_orders: int
    return_rows: int
    outlier_orders: int
    outlier_threshold: float
    join_dates_repaired: int
    text_unified: dict[str, int]
    quality: pd.DataFrame
    paths: dict[str, str]
    identity: dict = field(default_factory=dict)   # IdentityReport.to_dict(): ids merged into people, by rule
    orders_kept: int = 0                 # distinct orders with a kept sale line
    lines_kept: int = 0                  # kept order lines (sale and return lines)
    cancelled_orders: int = 0            # distinct orders excluded because their status says cancelled
    revenue: dict[str, float] = field(default_factory=dict)   # gross (sale lines), returns, net (gross + returns)
    unknown_statuses: dict[str, int] = field(default_factory=dict)   # shop word -> order lines (status_words)
    decimal_marks: dict[str, str] = field(default_factory=dict)      # "orders.amount" -> "," when a decimal comma
    float_ids: list[str] = field(default_factory=list)               # "orders.member_id": ".0" removed
    zero_amount_orders: int = 0          # kept paid orders of zero: purchases, left out of spend models
    # order lines delivered without a member id, by what became of them: {"kept": lines, "<reason>": lines}
    # (guest_orders counts distinct kept sale orders; the quality table counts these lines as delivered)
    guest_lines: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["quality"] = self.quality.to_dict(orient="records")
        return out

    @property
    def rows_in(self) -> int:
        """Rows read from the sources (tables derived from another one are not read)."""
        return sum(t.rows_in for t in self.tables.values() if not t.derived)

    @property
    def kept(self) -> int:
        return sum(t.kept for t in self.tables.values() if not t.derived)

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values() if not t.derived)


class AccountingError(MemberkitError):
    """rows in != rows kept + rows rejected: a rule lost or invented rows."""


# ------------------------------------------------------------------ text values
@lru_cache(maxsize=1)
def text_vocabulary() -> dict[str, dict[str, str]]:
    """{"region": {"beijing": "北京", "北京": "北京", ...}, ...}: spelling (lower-case) -> canonical."""
    raw = yaml.safe_load(files("memberkit").joinpath("reference/text_values.yaml").read_text(encoding="utf-8"))
    vocab = {}
    for kind, canon_map in raw.items():
        vocab[kind] = {}
        for canon, aliases in canon_map.items():
            for spelling in [canon, *aliases]:
                vocab[kind][str(spelling).strip().lower()] = str(canon)
    return vocab


def unify_text(col: ibis.Value, kind: str) -> ibis.Value:
    """Trim, ignore case, and map known spellings onto one value; unknown text is kept trimmed."""
    trimmed = blank_to_null(col)
    return ibis.coalesce(_lookup(text_vocabulary()[kind], trimmed.lower()), trimmed)


def _lookup(mapping: dict[str, str], key: ibis.Value) -> ibis.Value:
    """``mapping[key]``, NULL for a key it lacks. A map, not a CASE: a CASE with one branch per
    spelling compares every row with the spellings in turn (the costliest step of the cleaning at scale)."""
    return engine.lookup(mapping, key)


def is_known_text(col: ibis.Value, kind: str) -> ibis.Value:
    return blank_to_null(col).lower().isin(list(text_vocabulary()[kind]))


_JUNK_REGION = r"^[^\pL]*$|^(#n/a|#value!|#ref!|#name\?|null|none|nan|undefined|n/a)$"


def is_known_region(col: ibis.Value, regions: tuple[str, ...] | None) -> ibis.Value:
    """True for a region in the shop's list ``regions`` (trimmed, any case); without a list, for any
    text but junk: no letter at all (``???``, ``0``, ``-``) or a spreadsheet placeholder (``#N/A``,
    ``null``). NULL for a blank."""
    text = blank_to_null(col).lower()
    if regions is not None:
        return text.isin(sorted({str(r).strip().lower() for r in regions}))
    return ~text.re_search(_JUNK_REGION)


def map_status(col: ibis.Value, rules: CleaningRules) -> ibis.Value:
    """The shop's status -> paid / cancelled / returned; empty is paid; an unknown word is NULL."""
    text = blank_to_null(col).lower()
    return ibis.ifelse(text.isnull(), "paid", _lookup(rules.status_map(), text))


# ------------------------------------------------------------------ rules
def _reason(*cases) -> ibis.Value:
    return ibis.cases(*cases, else_=ibis.null("string"))


def _duplicate(t: ibis.Table, table: str) -> ibis.Value:
    """Exact copy of an earlier row: same canonical values and, when the source gave one, the same
    hash of the whole source row; or, when the shop declared a key, the same key (``_key``)."""
    if "_key" in t.columns:
        keys = [t._key]
    else:
        keys = [t[c] for c in CANONICAL[table]] + ([t._dupkey] if "_dupkey" in t.columns else [])
    hashed = "_key" if "_key" in t.columns else "_dupkey" if "_dupkey" in t.columns else None
    if hashed is None:
        return ibis.row_number().over(group_by=keys, order_by=t._row) > 0
    # Copies share their hash: only rows whose hash repeats are ranked among their equals (a window
    # over every column of every row cost seconds at a million rows); rows are named by ``_row``.
    counts = t.group_by(hashed).agg(_copies=t.count())
    repeated = counts.filter(counts._copies > 1).select(hashed)
    candidates = t.filter(t[hashed].isin(repeated[hashed]))
    ranks = candidates.mutate(_rank=ibis.row_number().over(
        group_by=[candidates[k.get_name()] for k in keys], order_by=candidates._row))
    copies = ranks.filter(ranks._rank > 0).select("_row")
    return t._row.isin(copies._row)


_SCANS: dict = {}   # per clean_all run: (table, what) -> result of the column scans below


def _ids(raw: ibis.Table, table: str) -> set[str]:
    """The id columns of ``raw`` that a spreadsheet turned into floats (``14646.0``)."""
    key = (table, "ids")
    if key not in _SCANS:
        _SCANS[key] = float_like_ids(raw, [c for c, col in CANONICAL[table].items() if col.kind == "id"])
    return _SCANS[key]


def _marks(raw: ibis.Table, table: str, rules: CleaningRules, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Decimal mark per number column: the table's setting, or recognised per column when auto.

    ``extra`` names number columns beyond the canonical ones (an experiment's numeric outcomes).
    """
    key = (table, "marks", extra)
    if key not in _SCANS:
        _SCANS[key] = _scan_marks(raw, table, rules, extra)
    return _SCANS[key]


def _scan_marks(raw: ibis.Table, table: str, rules: CleaningRules, extra: tuple[str, ...] = ()) -> dict[str, str]:
    setting = dict(rules.decimal).get(table, "auto")
    out = {}
    numbers = [c for c, col in CANONICAL[table].items() if col.kind == "number"]
    for c in numbers + [c for c in extra if c not in numbers]:
        if setting != "auto":
            out[c] = setting
            continue
        try:
            out[c] = decimal_mark(raw, c)
        except DecimalMarkError as e:
            source = raw.select("_source").limit(1).to_pyarrow().to_pylist()
            raise InputError(source[0]["_source"] if source else table, table, c,
                             "decimal comma and decimal point mixed in one column", str(e)) from None
    return out


def stage_members(con, raw: ibis.Table, formats: list[str], *, time_zone: str | None = None, phone_region: str = "CN",
                  max_accounts_per_phone: int = 5, accounts: ibis.Table | None = None) -> tuple[ibis.Table, dict]:
    """Member rules, then the identity merge (:mod:`memberkit.identity`, member-scale pandas).

    Accounts are linked by a person id (the members' ``person_id`` column, or the ``accounts``
    mapping table, which wins), or by a phone number normalised to E.164 in ``phone_region``
    unless more than ``max_accounts_per_phone`` accounts share it. Returns the staged table
    (``canonical``: the id each account is merged into, ``phone_e164``; without the raw phone and person id)
    and the identity report.
    """
    from .identity import mobile_e164_in_engine, normalise_phones, resolve_identities
    floaty = _ids(raw, "members")
    t = raw.mutate(
        _dup=_duplicate(raw, "members"),
        member=id_text(raw.member_id, "member_id" in floaty),
        person=id_text(raw.person_id, "person_id" in floaty),
    )
    # a member file repeats its join dates (a thousand days in a million rows): each is read once
    t = engine.by_value(t, "join_date", "jd", lambda v: parse_timestamp(v, formats, time_zone).date())
    first_of_id = ibis.row_number().over(group_by=t.member, order_by=[t._dup, t._row]) > 0
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (t.member.isnull(), "missing_member_id"),
                                (first_of_id, "duplicate_member_id")))
    # phone numbers in the region's plain mobile shapes settled in the engine (nearly all of a member file)
    t = mobile_e164_in_engine(t, "phone", phone_region, "_shaped")
    t = engine.keep(con, "stage_members_pre", t)
    # Member scale: one row per distinct phone text of another shape, read by libphonenumber.
    phones = t.filter(blank_to_null(t.phone).notnull() & t._shaped.isnull()).select("phone").distinct().to_pandas()
    phones["phone_e164"] = normalise_phones(phones.phone, phone_region)
    phone_map = engine.keep(con, "phone_map", ibis.memtable(phones.astype("string"), columns=["phone_text", "phone_e164"]))
    t = t.left_join(phone_map, t.phone == phone_map.phone_text).drop("phone_text")
    t = t.mutate(phone_e164=ibis.coalesce(t._shaped, t.phone_e164)).drop("_shaped")
    links, report = resolve_identities(_linkable_accounts(t, accounts, max_accounts_per_phone).to_pandas()
                                       .assign(jd=lambda a: pd.to_datetime(a.jd)), max_accounts_per_phone)
    report.phone_region = phone_region
    invalid = phones.loc[phones.phone_e164.isna(), "phone"]
    report.invalid_phones = int(t.filter(t.phone.isin(invalid.tolist())).count().execute()) if len(invalid) else 0
    links = links.rename(columns={"member": "link_member"}).astype("string")
    link_t = engine.keep(con, "identity_links", ibis.memtable(links))
    t = t.left_join(link_t, t.member == link_t.link_member).drop("link_member")
    t = t.mutate(canonical=ibis.coalesce(t.canonical, t.member), identity_rule=t.rule).drop("rule")
    t = t.mutate(reason=ibis.ifelse(t.reason.isnull() & (t.canonical != t.member), "merged_identity", t.reason))
    # the raw phone and person id, the row hash and the copy flag are read no more (the rejected rows show
    # the phone masked): left out, the kept table takes less of the engine's memory
    staged = engine.keep(con, "stage_members", t.drop(*[c for c in ("phone", "person_id", "person", "_dupkey", "_dup")
                                                          if c in t.columns]))
    _release(con, "stage_members_pre")
    return staged, report.to_dict()


def _release(con, *names: str) -> None:
    """Drop kept tables nothing reads again. DuckDB holds a kept table in its memory budget (``memory_limit``,
    1 GB by default): at a million members the order lines' kept tables did not fit beside the next ones and
    were written to the spill folder and read back (about 2 GB of disk writes in one cleaning)."""
    for name in names:
        engine.release(con, name)


def _linkable_accounts(t: ibis.Table, accounts: ibis.Table | None, max_accounts_per_phone: int) -> ibis.Table:
    """The valid accounts of the staged members ``t`` that :func:`memberkit.identity.resolve_identities`
    can link or must count: those sharing a person id or a phone number with another account, or holding
    a phone held by more than ``max_accounts_per_phone`` accounts. Columns ``member``, ``jd``,
    ``phone_e164``, ``person_id`` and ``person_source`` (``mapping`` when the ``accounts`` table names the
    person, which wins, ``person_id`` for the export's column, else NULL).

    Every account of a linked group shares a key with another one, and every holder of a key held
    twice is here, so the groups, the phones' holder counts and the report are those of all accounts;
    an account left out is its own person (the caller's coalesce), and only these reach pandas."""
    valid = t.filter(t.reason.isnull())
    acc = valid.select("member", "jd", "phone_e164", _person=valid.person, _mapped=ibis.null("string"))
    if accounts is not None:
        mapped = accounts.filter(accounts.reason.isnull()).select(_mapped_member="member", _mapped_person="person")
        acc = acc.left_join(mapped, acc.member == mapped._mapped_member)
        acc = acc.mutate(_mapped=acc._mapped_person).drop("_mapped_member", "_mapped_person")
    acc = acc.mutate(person_id=ibis.coalesce(acc._mapped, acc._person),
                     person_source=ibis.cases((acc._mapped.notnull(), "mapping"), (acc._person.notnull(), "person_id"),
                                              else_=ibis.null("string")))
    acc = acc.mutate(_person_n=acc.person_id.count().over(group_by=acc.person_id),
                     _phone_n=acc.phone_e164.count().over(group_by=acc.phone_e164))
    linkable = (acc._person_n > 1) | (acc._phone_n > 1) | (acc._phone_n > max_accounts_per_phone)
    return acc.filter(linkable).select("member", "jd", "phone_e164", "person_id", "person_source")


def stage_accounts(con, raw: ibis.Table) -> ibis.Table:
    """The mapping table account id -> person id: copies, empty ids and re-mapped accounts set aside."""
    t = raw.mutate(_dup=_duplicate(raw, "accounts"), member=blank_to_null(raw.member_id),
                   person=blank_to_null(raw.person_id))
    first_of_id = ibis.row_number().over(group_by=t.member, order_by=[t._dup, t._row]) > 0
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (t.member.isnull() | t.person.isnull(), "missing_id"),
                                (first_of_id, "duplicate_member_id")))
    return engine.keep(con, "stage_accounts", t)


def stage_payments(con, raw: ibis.Table, orders_raw: ibis.Table, rules: CleaningRules) -> ibis.Table:
    """Payments per order: kept rows are summed into the order's amount (where its lines give none)."""
    marks = _marks(raw, "payments", rules)
    order_ids = float_like_ids(orders_raw, ["order_id"])
    known = orders_raw.select(order_key=id_text(orders_raw.order_id, bool(order_ids))).distinct()
    t = raw.mutate(_dup=_duplicate(raw, "payments"), order_key=id_text(raw.order_id, "order_id" in _ids(raw, "payments")),
                   amount_f=parse_number(raw.amount, marks["amount"]),
                   amount_m=parse_money(raw.amount, rules.scale, marks["amount"]))
    t = t.left_join(known.mutate(_known=True), t.order_key == known.order_key).drop("order_key_right")
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (t.order_key.isnull(), "missing_id"),
                                (t.amount_f.isnull(), "unparseable_amount"), (~is_finite(t.amount_f), "non_finite_amount"),
                                (t.amount_f.abs() > rules.max_order_amount, "implausible_amount"),
                                (t._known.isnull(), "unknown_order")))
    return engine.keep(con, "stage_payments", t)


#: The order lines' raw text columns the clean order log shows (cleaned), read from the staged source by
#: ``(_source, _row)`` as it is written: the kept tables of lines do not carry them (at a million members six text
#: columns were a third of each table, and the tables then did not fit the engine's memory budget).
ORDER_SOURCE_TEXT = ("channel", "store_id", "category", "discount", "coupon_id")


def stage_orders(con, raw: ibis.Table, identity: ibis.Table, formats: list[str], as_of: _dt.date,
                 policy: str, multiple: float, rules: CleaningRules | None = None,
                 payments: ibis.Table | None = None) -> tuple[ibis.Table, float]:
    """Every order line with its reason (NULL when kept), its clean amount and quantity and its outlier flag.

    Money: the amount column, else quantity x unit price, else (on an order's first line) the
    sum of the order's kept payments. Returns the staged table and the outlier threshold (an
    order total above ``multiple`` x the median total of paid orders with a positive total).

    The staged table is narrow: ``_source``, ``_row``, ``ts``, ``order_key``, ``source_member``, ``product``,
    ``member_id_canon``, ``is_return``, ``reason``, ``is_outlier``, ``amount_clean`` and ``qty_clean``, no raw
    text: the clean order log (:data:`ORDER_SOURCE_TEXT`), :func:`rejected_rows` and the spelling counts read a
    line's source columns from ``raw`` by ``(_source, _row)``. Two kept tables of lines: every line rule in one
    projection (:func:`order_line_reasons`), then the reasons joined to the orders' totals
    (:func:`order_totals`, one narrow kept row per order, from which the outlier threshold is read too):
    a line's reason is the first rule that fires, in the order of :data:`ORDER_RULES` (:func:`order_reason`).
    """
    rules = rules or CleaningRules()
    s, bound = rules.scale, rules.max_order_amount
    marks, floaty = _marks(raw, "orders", rules), _ids(raw, "orders")
    qty_f = parse_number(raw.quantity, marks["quantity"])
    price_f = parse_number(raw.unit_price, marks["unit_price"])
    qty_d = parse_money(raw.quantity, 4, marks["quantity"]).fill_null(1)
    price_d = parse_money(raw.unit_price, 6, marks["unit_price"])
    given = blank_to_null(raw.amount).notnull()
    category_np = blank_to_null(raw.category).lower().isin([x.strip().lower() for x in rules.non_product_categories]) \
        if rules.non_product_categories else ibis.literal(False)
    t = raw.select(
        "_source", "_row",
        _dup=_duplicate(raw, "orders"),
        ts=parse_timestamp(raw.order_ts, formats, rules.time_zone),
        order_key=ibis.coalesce(id_text(raw.order_id, "order_id" in floaty), "ROW" + raw._row.cast("string")),
        qty=qty_f.fill_null(1.0),
        amount_f=ibis.ifelse(given, parse_number(raw.amount, marks["amount"]), qty_f.fill_null(1.0) * price_f),
        amount_m=ibis.ifelse(given, parse_money(raw.amount, s, marks["amount"]), to_money(qty_d * price_d, s)),
        status_c=map_status(raw.status, rules),
        source_member=id_text(raw.member_id, "member_id" in floaty),
        product=blank_to_null(raw.product_id),
        _given=given, _price_f=price_f, _category_np=category_np,
    )
    if payments is not None:
        t = engine.keep(con, "stage_orders_parsed", t)
        p = payments.filter(payments.reason.isnull())
        totals = p.group_by(_pay_key=p.order_key).agg(_paid=p.amount_m.sum())
        t = t.left_join(totals, t.order_key == totals._pay_key).drop("_pay_key")
        first_line = ibis.row_number().over(group_by=t.order_key, order_by=t._row) == 0
        from_payments = t.amount_f.isnull() & ~t._given & t._price_f.isnull() & t._paid.notnull()
        share = ibis.ifelse(first_line, t._paid, ibis.literal(0).cast(t._paid.type()))
        t = t.mutate(amount_f=ibis.ifelse(from_payments, share.cast("float64"), t.amount_f),
                     amount_m=ibis.ifelse(from_payments, to_money(share, s), t.amount_m)).drop("_paid")
    prefix = ibis.or_(*[t.order_key.startswith(p) for p in rules.return_prefixes]) if rules.return_prefixes \
        else ibis.literal(False)
    neg_qty_return = (t.qty < 0) if rules.negative_quantity_is_return else ibis.literal(False)
    tests = [ibis.literal(False)]
    if rules.non_product_ids:
        tests.append(t.product.upper().isin([x.strip().upper() for x in rules.non_product_ids]))
    if rules.non_product_categories:
        tests.append(t._category_np)
    if rules.non_product_pattern:
        tests.append(t.product.re_search(rules.non_product_pattern))
    non_product = ibis.or_(*[x.fill_null(False) for x in tests])
    t = t.mutate(is_return=((t.status_c == "returned") | prefix | neg_qty_return).fill_null(False),
                 non_product=non_product).drop("_given", "_price_f", "_category_np")
    t = t.left_join(identity, t.source_member == identity.source_member_id).drop("source_member_id")
    # Every rule on the line itself in one projection of one kept table: the per-order rules group it,
    # and the final reasons join the groups back to it (a kept table is read by name, not computed again).
    t = engine.keep(con, "stage_orders_lines", t.mutate(**order_line_reasons(t, as_of, bound)))
    # Rules on the order: a cancelled status excludes all its lines; its total must be plausible. Per
    # order by a grouping joined back, not a window: a window partitioned by ~2 million order ids sorted
    # every line and was the costliest step of the cleaning at a million members. The order's paid total
    # (what the outliers are judged on) comes from the same grouping, from the lines' flags.
    per_order = engine.keep(con, "stage_orders_per_order", order_totals(t, bound))
    # Outliers are orders (the sum of their paid lines), against the median order with a positive total.
    paid = per_order.filter(per_order._sale_total.notnull() & ~per_order._excluded & (per_order._sale_total > 0))
    median = paid._sale_total.cast("float64").median().execute()
    threshold = round(float(multiple * median), s) if median is not None and pd.notna(median) else float("inf")
    t = t.left_join(per_order, t.order_key == per_order._order).drop("_order")
    t = t.mutate(reason=order_reason(t, bound),
                 _total=ibis.ifelse(~t._excluded & (t._sale_total > threshold), t._sale_total, ibis.null(t._sale_total.type())))
    t = t.mutate(is_outlier=t.reason.isnull() & ~t.is_return & t._total.notnull())
    if policy == "exclude":
        t = t.mutate(reason=ibis.ifelse(t.is_outlier, "outlier", t.reason))
    amount = ibis.ifelse(t.is_return, -t.amount_m.abs(), t.amount_m)
    if policy == "cap" and threshold != float("inf"):
        # Scale the order's lines down to the threshold; the last line takes the rounding rest.
        cap = ibis.literal(threshold).cast(t.amount_m.type())
        scaled = to_money(t.amount_m.cast("float64") * (threshold / t._total.cast("float64")), s)
        others = scaled.sum(where=t.is_outlier).over(group_by=t.order_key) - scaled
        last = ibis.row_number().over(ibis.window(group_by=[t.order_key, t.is_outlier], order_by=ibis.desc(t._row))) == 0
        capped = ibis.ifelse(last, to_money(cap - others, s), scaled)
        amount = ibis.ifelse(t.is_outlier, capped, amount)
    qty = ibis.ifelse(t.is_return, -t.qty.abs(), t.qty)
    t = t.mutate(amount_clean=amount.cast(rules_type(s)), qty_clean=qty)
    # only what the clean table, the rejected rows, the counts and the page read: a narrower kept table fits
    # DuckDB's memory budget beside the lines it is made from
    t = t.select("_source", "_row", "ts", "order_key", "source_member", "product",
                 "member_id_canon", "is_return", "reason", "is_outlier", "amount_clean", "qty_clean")
    if engine.backend(con) != "spark":
        # in the source's order, as the staged source is read: the clean log then takes the source's text by
        # position (engine.beside), and a sort of these narrow rows replaces one of the clean log's wide rows
        # (DuckDB does not keep the lines' order through the join to their orders: measured, 2026-12-08)
        t = t.order_by(["_source", "_row"])
    staged = engine.keep(con, "stage_orders", t)
    _release(con, "stage_orders_lines", "stage_orders_per_order", *(["stage_orders_parsed"] if payments is not None else []))
    return staged, threshold


def order_line_reasons(t: ibis.Table, as_of: _dt.date, bound: float) -> dict[str, ibis.Value]:
    """Each order line's rules, as two reasons: ``line_reason``, the first of the rules on the line read
    before the order's (duplicate to unknown status, :data:`ORDER_RULES`), and ``late_reason``, the first of
    those after the order's (non-product line to unknown member); NULL when none fires.

    ``t``: parsed order lines (``_dup``, ``ts``, ``amount_f``, ``status_c``, ``qty``, ``is_return``,
    ``non_product``, ``source_member``, ``member_id_canon``); ``as_of``: the extraction date (a time on a
    later day is future); ``bound``: the plausibility bound of an amount (``max_order_amount``, currency
    units). A CASE per reason, not a COALESCE of flags: the engine evaluates every argument of a COALESCE.
    """
    after = ibis.literal(_dt.datetime.combine(as_of + _dt.timedelta(days=1), _dt.time()))
    return {"line_reason": _reason((t._dup, "duplicate"),
                                   (t.ts.isnull(), "unparseable_date"),
                                   (t.ts >= after, "future_date"),
                                   (t.amount_f.isnull(), "unparseable_amount"),
                                   (~is_finite(t.amount_f), "non_finite_amount"),
                                   (t.amount_f.abs() > bound, "implausible_amount"),
                                   (t.status_c.isnull(), "unknown_status")),
            "late_reason": _reason((t.non_product, "non_product"),
                                   ((t.qty < 0) & ~t.is_return, "negative_quantity"),
                                   ((t.amount_f < 0) & ~t.is_return, "negative_amount"),
                                   (t.source_member.notnull() & t.member_id_canon.isnull(), "unknown_member"))}


def order_totals(lines: ibis.Table, bound: float) -> ibis.Table:
    """One row per order (``_order``) of the flagged lines of :func:`order_line_reasons`.

    Columns: ``_cancelled`` (a line that is not a copy has the cancelled status), ``_order_total`` (float sum
    of the amounts of the lines no line rule rejects, returns left out: the total the plausibility bound
    ``bound`` is judged on), ``_excluded`` (cancelled, or that total above ``bound``: every line of the order
    is rejected) and ``_sale_total`` (exact money sum of the lines kept by every rule, returns left out;
    NULL when there is none: the order's paid total, what the outliers are judged on).
    """
    t = lines
    ok = t.line_reason.isnull() & ~t.is_return
    g = t.group_by(_order=t.order_key).agg(
        _cancelled=ibis.ifelse(~t._dup & (t.status_c == "cancelled"), 1, 0).max() == 1,
        _order_total=t.amount_f.sum(where=ok),
        _sale_total=t.amount_m.sum(where=ok & t.late_reason.isnull()))
    return g.mutate(_excluded=g._cancelled | (g._order_total.fill_null(0) > bound))


def order_reason(t: ibis.Table, bound: float) -> ibis.Value:
    """A line's reason (NULL when kept): its line rules first, then its order's (cancelled, an implausible
    total: ``t`` joined to :func:`order_totals`), then the line rules read after the order's."""
    return ibis.cases((t.line_reason.notnull(), t.line_reason),
                      (t._cancelled, "cancelled"),
                      (t._order_total.fill_null(0) > bound, "implausible_amount"),
                      else_=t.late_reason)


def rejected_rows(stage: ibis.Table, raw: ibis.Table, carried: tuple[str, ...] = ()) -> ibis.Table:
    """The rejected rows of a narrow ``stage`` (reason not NULL) with their source columns from ``raw``.

    ``stage`` carries ``_source``, ``_row``, ``reason`` and the raw columns named in ``carried``;
    every other canonical column comes from ``raw`` (the staged source table), matched on
    ``(_source, _row)``, which name one source row. Rejected rows are few, so the join is cheap.
    """
    rej = stage.filter(stage.reason.notnull()).select("_source", "_row", "reason", *carried)
    others = [c for c in raw.columns if c not in rej.columns]
    src = raw.select("_source", "_row", *others)
    return rej.join(src, [rej._source == src._source, rej._row == src._row]).select(
        *rej.columns, *others)


def rules_type(scale: int):
    from .engine import money_type
    return money_type(scale)


def parse_outcome(col: ibis.Value, kind: str, decimal: str = ".") -> ibis.Value:
    """An outcome value as a float: binary ``1/0, true/false, yes/no`` -> 1.0 / 0.0; numeric parsed
    with the column's decimal mark ``decimal`` ('.' or ','; ``0,75`` is 0.75 under ','); else NULL."""
    if kind == "binary":
        v = blank_to_null(col).lower()
        return ibis.cases((v.isin(BINARY_TRUE), 1.0), (v.isin(BINARY_FALSE), 0.0), else_=ibis.null("float64"))
    return parse_number(col, decimal)


def numeric_outcome_columns(outcomes: dict[str, str] | None) -> tuple[str, ...]:
    """The raw experiments columns of the numeric outcomes, in name order."""
    return tuple(outcome_column(n) for n, k in sorted((outcomes or {}).items()) if k == "numeric")


def outcome_column(name: str) -> str:
    """The column of the clean experiments table holding the outcome ``name``."""
    return f"outcome__{name}"


def stage_links(con, raw: ibis.Table, table: str, identity: ibis.Table, formats: list[str],
                outcomes: dict[str, str] | None = None, time_zone: str | None = None,
                marks: dict[str, str] | None = None, as_of: _dt.date | None = None) -> ibis.Table:
    """Assignment rows (experiments, campaign_members): every assigned member counts.

    A member id unknown to the member table is kept as it is (the population of an experiment
    or a campaign is its assignment table); a merged account takes its person's id. Rows of one
    member in several variants (or groups) of one experiment (or campaign) are all set aside;
    repeated rows of one member in one variant are collapsed to the first (earliest assigned).
    ``outcomes`` (experiments only): outcome name -> ``binary`` | ``numeric``; the raw column
    ``outcome__<name>`` is parsed, and a row whose value cannot be read is set aside. ``marks``:
    raw column -> decimal mark ('.' or ',') of a numeric outcome (default '.'). ``as_of``: a row
    with a time after the extraction date is set aside (``future_date``), as an order is: an
    assignment made after the data was extracted cannot be part of it.
    """
    spec = CANONICAL[table]
    outcomes, marks = outcomes or {}, marks or {}
    ids = [c for c, col in spec.items() if col.kind == "id" and col.required]
    stamps = [c for c, col in spec.items() if col.kind == "timestamp"]
    # An experiment export that carries its outcomes may come without assignment times.
    required_stamps = [c for c in stamps if spec[c].required and not outcomes]
    floaty = _ids(raw, table)
    t = raw.mutate(_dup=_duplicate(raw, table), source_member=id_text(raw.member_id, "member_id" in floaty),
                   **{f"{c}_id": id_text(raw[c], c in floaty) for c in ids if c != "member_id"},
                   **{f"{c}_ts": parse_timestamp(raw[c], formats, time_zone) for c in stamps},
                   **{f"{outcome_column(n)}_v": parse_outcome(raw[outcome_column(n)], k, marks.get(outcome_column(n), "."))
                      for n, k in outcomes.items()})
    t = t.left_join(identity, t.source_member == identity.source_member_id).drop("source_member_id")
    t = t.mutate(member_id_canon=ibis.coalesce(t.member_id_canon, t.source_member))
    missing = ibis.or_(*[blank_to_null(t[c]).isnull() for c in ids])
    bad_date = ibis.or_(*[(blank_to_null(t[c]).notnull() & t[f"{c}_ts"].isnull()) for c in stamps],
                        *[t[f"{c}_ts"].isnull() for c in required_stamps])
    bad_outcome = ibis.or_(*[t[f"{outcome_column(n)}_v"].isnull() for n in outcomes]) if outcomes else ibis.literal(False)
    after = ibis.literal(_dt.datetime.combine(as_of + _dt.timedelta(days=1), _dt.time())) if as_of else None
    future = ibis.or_(*[(t[f"{c}_ts"] >= after).fill_null(False) for c in stamps]) if after is not None and stamps \
        else ibis.literal(False)
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (missing, "missing_id"), (bad_date, "unparseable_date"),
                                (future, "future_date"), (bad_outcome, "unparseable_outcome")))
    key, group, stamp = LINK_KEYS[table]
    t = t.mutate(_lkey=t[key].strip(), _group=unify_text(t[group], group) if group == "group" else t[group].strip())
    ok = t.reason.isnull()
    per_member = ibis.window(group_by=[t._lkey, t.member_id_canon, ok])
    several = ok & (t._group.min().over(per_member) != t._group.max().over(per_member))
    first = ibis.row_number().over(group_by=[t._lkey, t.member_id_canon, t._group, ok],
                                   order_by=[t[f"{stamp}_ts"].isnull(), t[f"{stamp}_ts"], t._row])
    t = t.mutate(reason=ibis.cases((~ok, t.reason), (several, "several_variants"), (first > 0, "repeat_assignment"),
                                   else_=ibis.null("string")))
    return engine.keep(con, f"stage_{table}", t.drop("_lkey", "_group"))


def stage_campaigns(con, raw: ibis.Table, formats: list[str], rules: CleaningRules | None = None) -> ibis.Table:
    rules = rules or CleaningRules()
    floaty = _ids(raw, "campaigns")
    marks = _marks(raw, "campaigns", rules)
    t = raw.mutate(_dup=_duplicate(raw, "campaigns"), campaign=id_text(raw.campaign_id, "campaign_id" in floaty),
                   start_d=parse_timestamp(raw.start, formats, rules.time_zone).date(),
                   end_d=parse_timestamp(raw.end, formats, rules.time_zone).date(),
                   cost_m=parse_money(raw.cost, rules.scale, marks["cost"]))
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (t.campaign.isnull(), "missing_id"),
                                (t.start_d.isnull() | t.end_d.isnull(), "unparseable_date")))
    return engine.keep(con, "stage_campaigns", t)


# ------------------------------------------------------------------ the whole step
def clean_all(con, raw: dict[str, ibis.Table], *, as_of: _dt.date | None = None, date_formats: list[str],
              outlier_policy: str = "flag", outlier_multiple: float = 30.0,
              out_dir: str | Path | None = None, phone_region: str = "CN", max_accounts_per_phone: int = 5,
              outcomes: dict[str, str] | None = None, rules: CleaningRules | None = None,
              table_date_formats: dict[str, list[str]] | None = None, staged: dict | None = None) -> CleaningResult:
    """Apply every rule to every table; write clean and rejected Parquet when ``out_dir`` is given.

    Parameters
    ----------
    con : the engine connection holding ``raw``
    raw : canonical raw tables from :func:`memberkit.sources.load_sources`
    as_of : the extraction date; later dates are future (default today)
    date_formats : formats tried in turn when parsing dates
    outlier_policy : flag | cap | exclude
    outlier_multiple : an order above this multiple of the median paid order is an outlier
    out_dir : folder for ``clean/<table>.parquet`` and ``rejected/<table>.parquet``
    phone_region : ISO 3166 region of phone numbers written without a country code (e.g. CN, GB)
    max_accounts_per_phone : a phone number shared by more accounts is not an identity
    outcomes : outcome columns of the experiments table, name -> ``binary`` | ``numeric``
    rules : the shop's settings (currency scale, time zone, statuses, returns, non-product lines);
        the defaults of :class:`CleaningRules` when None
    table_date_formats : per table, the formats its own config names (default ``date_formats``)
    staged : per table, what the staging's profile decided (:class:`memberkit.sources.StagedTable`:
        decimal marks, float-like ids), so the cleaning does not scan for them again

    Returns
    -------
    CleaningResult

    Raises
    ------
    InputError
        when no order line is left after cleaning (the message says which rules removed them).
    AccountingError
        when a table's rows in != kept + rejected.
    """
    rules = rules or CleaningRules()
    _SCANS.clear()
    readable = {name: dict(st.readable) for name, st in (staged or {}).items() if st.readable}
    counted = {name: dict(st.value_counts) for name, st in (staged or {}).items() if st.value_counts}
    for name, st in (staged or {}).items():
        _SCANS[(name, "ids")] = set(st.float_ids)
        _SCANS[(name, "marks", ())] = dict(st.marks)
    try:
        formats = {name: (table_date_formats or {}).get(name) or date_formats for name in raw}
        return _clean_all(con, raw, as_of, formats, outlier_policy, outlier_multiple, out_dir, rules,
                          phone_region, max_accounts_per_phone, outcomes, readable, counted)
    finally:
        _SCANS.clear()


def _clean_all(con, raw, as_of, formats, outlier_policy, outlier_multiple, out_dir, rules,
               phone_region, max_accounts_per_phone, outcomes, readable=None, counted=None) -> CleaningResult:
    as_of = as_of or _dt.date.today()
    derived = "members" not in raw
    if derived:
        raw = dict(raw, members=_members_from_orders(con, raw["orders"]))
    stages = {}
    if "accounts" in raw:
        stages["accounts"] = stage_accounts(con, raw["accounts"])
    members, identity_report = stage_members(con, raw["members"], formats.get("members", formats["orders"]),
                                             time_zone=rules.time_zone,
                                             phone_region=phone_region, max_accounts_per_phone=max_accounts_per_phone,
                                             accounts=stages.get("accounts"))
    identity = members.filter(members.reason.isnull() | (members.reason == "merged_identity")).select(
        source_member_id=members.member, member_id_canon=members.canonical)
    # not kept: three joins read it, each a filter of the kept members, and a million kept rows would take
    # the engine memory the order lines need
    stages = {"members": members, **stages}
    if "payments" in raw:
        stages["payments"] = stage_payments(con, raw["payments"], raw["orders"], rules)
    extra = {"experiments": numeric_outcome_columns(outcomes)}
    links = {name: stage_links(con, raw[name], name, identity, formats[name],
                               outcomes if name == "experiments" else None, rules.time_zone,
                               _marks(raw[name], name, rules, extra.get(name, ())), as_of)
             for name in ("campaign_members", "experiments") if name in raw}
    orders, threshold = stage_orders(con, raw["orders"], identity, formats["orders"], as_of,
                                     outlier_policy, outlier_multiple, rules, stages.get("payments"))
    _release(con, "phone_map", "identity_links")
    stages["orders"] = orders
    stages.update(links)
    if "campaigns" in raw:
        stages["campaigns"] = stage_campaigns(con, raw["campaigns"], formats["campaigns"], rules)

    clean = _clean_tables(con, stages, as_of, rules, derived, raw["orders"])
    reports = {name: _table_report(name, stage, derived=(name == "members" and derived))
               for name, stage in stages.items()}
    for rep in reports.values():
        if rep.rows_in != rep.kept + rep.rejected:
            raise AccountingError(f"{rep.table}: {rep.rows_in} rows in, {rep.kept} kept + {rep.rejected} rejected")
    unknown, _ = status_words(raw["orders"], rules, count_lines=False)
    if reports["orders"].kept == 0 and not (outcomes and reports["orders"].rows_in == 0):   # see no_orders_table
        raise nothing_left_error(reports["orders"], unknown, _first_source(raw["orders"]))

    with contextlib.ExitStack() as stack:
        # The clean order log is written first; on DuckDB by a second connection in a thread of its own, while this
        # one keeps and writes the other tables and counts the data-quality table: the log's write runs on one
        # engine thread (engine.beside), so the other core is free for that work.
        orders_written = None
        if out_dir is not None:
            write_orders = functools.partial(_write, clean={"orders": clean["orders"]}, stages={}, out=Path(out_dir),
                                             raw=raw)
            other = engine.second_connection(con) if engine.shared(con, clean["orders"]) else None
            if other is None:
                orders_written = concurrent.futures.Future()
                orders_written.set_result(write_orders(con))
            else:
                pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="clean-orders"))
                orders_written = pool.submit(write_orders, other)
        clean["members"] = kept_members = engine.keep(con, "clean_members", clean["members"])
        paths = {}
        if out_dir is not None:
            paths.update(_write(con, {k: t for k, t in clean.items() if k != "orders"}, stages, Path(out_dir), raw))
        text_unified = _text_unified(stages, raw["orders"])
        quality = quality_scorecard({k: v for k, v in raw.items() if not (k == "members" and derived)}, formats,
                                    identity_report["invalid_phones"], rules, readable, counted)
        if orders_written is not None:
            paths = {**orders_written.result(), **paths}
    # The figures below in four queries: the kept lines, the kept orders, the staged lines, the members.
    ok = engine.read_table(con, paths["clean/orders"], "clean_orders_written") if paths else clean["orders"]
    paid = ok.status == "paid"
    lines = ok.aggregate(gross=ok.amount.sum(where=paid), returns=ok.amount.sum(where=ok.status == "returned"),
                         return_rows=ok.count(where=ok.status == "returned"),
                         guest_orders=ok.order_id.nunique(where=paid & ok.member_id.isnull())
                         ).to_pyarrow().to_pylist()[0]
    sale = ok.filter(paid)
    per_order = sale.group_by("order_id").agg(total=sale.amount.sum())
    kept_orders = per_order.aggregate(n=per_order.count(), zero=per_order.count(where=per_order.total == 0)
                                      ).to_pyarrow().to_pylist()[0]
    # the lines without a member id, by what became of them, in the same query (one count per order rule).
    # Only the lines some figure counts are aggregated: a distinct count under a filter otherwise groups every
    # line by (order, filter) first (two hash tables of 3.35 million keys at a million members).
    scope = orders.filter(orders.is_outlier | (orders.reason == "cancelled") | orders.source_member.isnull())
    guest = scope.source_member.isnull()
    staged = scope.aggregate(outliers=scope.order_key.nunique(where=scope.is_outlier),
                             cancelled=scope.order_key.nunique(where=scope.reason == "cancelled"),
                             guest_kept=scope.count(where=guest & scope.reason.isnull()),
                             **{f"guest_{rule}": scope.count(where=guest & (scope.reason == rule))
                                for rule, _ in ORDER_RULES}
                             ).to_pyarrow().to_pylist()[0]
    guest_lines = {k[len("guest_"):]: int(n) for k, n in staged.items() if k.startswith("guest_") and n}
    gross, returns = float(lines["gross"] or 0), float(lines["returns"] or 0)
    merged = members.aggregate(merged=members.count(where=members.reason == "merged_identity")).to_pyarrow().to_pylist()[0]
    kept = kept_members.aggregate(linked=kept_members.count(where=kept_members.linked_accounts > 1),
                               repaired=kept_members.count(where=kept_members.join_date_repaired)
                               ).to_pyarrow().to_pylist()[0]
    marks = {f"{name}.{c}": m for name, t in raw.items() if not (name == "members" and derived)
             for c, m in _marks(t, name, rules, extra.get(name, ())).items() if m == ","}
    floats = sorted(f"{name}.{c}" for name, t in raw.items() if not (name == "members" and derived)
                    for c in _ids(t, name))
    return CleaningResult(
        tables=reports,
        merged_members=int(merged["merged"] or 0),
        linked_people=int(kept["linked"] or 0),
        guest_orders=int(lines["guest_orders"] or 0),
        guest_lines=guest_lines,
        return_rows=int(lines["return_rows"] or 0),
        outlier_orders=int(staged["outliers"] or 0),
        outlier_threshold=threshold,
        join_dates_repaired=0 if derived else int(kept["repaired"] or 0),
        text_unified=text_unified,
        quality=quality,
        paths=paths,
        identity=identity_report,
        orders_kept=int(kept_orders["n"] or 0),
        lines_kept=reports["orders"].kept,
        cancelled_orders=int(staged["cancelled"] or 0),
        revenue={"gross": round(gross, rules.scale), "returns": round(returns, rules.scale),
                 "net": round(gross + returns, rules.scale)},
        unknown_statuses=unknown,
        decimal_marks=marks,
        float_ids=floats,
        zero_amount_orders=int(kept_orders["zero"] or 0),
    )


def status_words(orders: ibis.Table, rules: CleaningRules, count_lines: bool = True) -> tuple[dict[str, int], int | None]:
    """(unknown status word -> order lines, all order lines) of a raw orders table.

    ``orders`` is the mapped source table (:func:`memberkit.sources.stage_table`). A status is
    unknown when neither the built-in words nor ``rules.statuses`` map it (:func:`map_status`);
    an empty status is paid. An exact copy of an earlier line (what the cleaning sets aside as a
    duplicate) is not counted again. Words are trimmed, most frequent first, then by word. The
    up-front check and the cleaning page both count with this function, so they agree.
    ``count_lines=False`` leaves the count of all lines out (None): one pass over every line less.
    """
    if "_key" in orders.columns or "_dupkey" not in orders.columns:
        # copies by a declared key may differ in status, and without a row hash there is nothing to count
        # lines by: rank every line
        t = orders.mutate(_known=map_status(orders.status, rules).notnull(), _copy=_duplicate(orders, "orders"))
        t = t.filter(~t._copy)
        counts = t.group_by(value=t.status.strip(), known=t._known).agg(n=t.count()).to_pyarrow().to_pylist()
        unknown = {r["value"]: int(r["n"]) for r in sorted(counts, key=lambda r: (-r["n"], str(r["value"])))
                   if not r["known"]}
        return unknown, sum(int(r["n"]) for r in counts)
    # A copy of the whole row has its original's status and row hash: the copies are ranked among the
    # lines of unknown status only, and all lines are counted by their row hash, so no pass ranks every line.
    # The words are looked up on the column's value counts first (a handful of words; a staged column is
    # dictionary-encoded, so counting them costs a hundredth of mapping every line): when every word is
    # known, no line has an unknown status.
    words = orders.group_by(value=orders.status).agg(n=orders.count())
    unknown_words = words.filter(map_status(words.value, rules).isnull()).value.to_pyarrow().to_pylist()
    unknown = {}
    if unknown_words:
        t = orders.filter(orders.status.isin(unknown_words))
        t = t.filter(~_duplicate(t, "orders"))
        counts = t.group_by(value=t.status.strip()).agg(n=t.count()).to_pyarrow().to_pylist()
        unknown = {r["value"]: int(r["n"]) for r in sorted(counts, key=lambda r: (-r["n"], str(r["value"])))}
    if not count_lines:
        return unknown, None
    total = orders._dupkey.nunique().to_pyarrow().as_py()
    return unknown, int(total)


def _first_source(t: ibis.Table) -> str:
    rows = t.select("_source").limit(1).to_pyarrow().to_pylist()
    return rows[0]["_source"] if rows else "orders"


def nothing_left_error(rep: TableReport, unknown: dict[str, int], source: str) -> InputError:
    """The message when cleaning keeps no order line: which rules removed the rows, with counts."""
    parts = []
    for step in sorted(rep.steps, key=lambda x: -x["rows"]):
        if not step["rows"]:
            continue
        text = f"{step['rows']:,} {step['description']}"
        if step["rule"] == "unknown_status" and unknown:
            text = (f"{step['rows']:,} have a status the kit does not know: "
                    + ", ".join(f"{k} {v:,}" for k, v in list(unknown.items())[:10])
                    + "; map them with the setting 'statuses' (value: paid, cancelled or returned)")
        parts.append(text)
    return InputError(source, "orders", None, f"no order line is left after cleaning (all {rep.rows_in:,} set aside)",
                      "; ".join(parts) or "the file has no data rows")


def _members_from_orders(con, orders: ibis.Table) -> ibis.Table:
    """When a source has no member table, every member id seen in the orders is a member.

    Its person id is the orders' ``person_id`` (when mapped) and its region the region most of
    its orders name (the orders' ``region`` column, e.g. a country or state).
    """
    floaty = "member_id" in float_like_ids(orders, ["member_id"])
    o = orders.mutate(_member=id_text(orders.member_id, floaty))
    o = o.filter(o._member.notnull())
    ids = o.group_by("_member").agg(person_id=blank_to_null(o.person_id).min(), region=blank_to_null(o.region).mode())
    ids = ids.rename(member_id="_member")
    cols = {c: ibis.null("string") for c in CANONICAL["members"] if c not in ("member_id", "person_id", "region")}
    t = ids.mutate(**cols, _source=ibis.literal("(derived from orders)"),
                   _row=ibis.row_number().over(order_by="member_id") + 1)
    return engine.keep(con, "raw_members", t.select(*CANONICAL["members"], "_source", "_row"))


def _clean_tables(con, stages: dict[str, ibis.Table], as_of: _dt.date, rules: CleaningRules | None = None,
                  derived: bool = False, raw_orders: ibis.Table | None = None) -> dict[str, ibis.Table]:
    rules = rules or CleaningRules()
    kept = stages["orders"].filter(stages["orders"].reason.isnull())
    # Every member's first order, from the kept lines alone (the source text below is not needed for it).
    first_order = kept.filter(kept.member_id_canon.notnull()).group_by(member_id=kept.member_id_canon).agg(
        first_order_date=kept.ts.date().min())
    # the raw text the clean log shows, from the staged source: one line is one (_source, _row); beside the
    # stage by position when both are in that order (on DuckDB: stage_orders keeps it sorted), so the clean log
    # needs no sort of its wide rows
    o, in_order = engine.beside(con, stages["orders"], raw_orders.select("_source", "_row", *ORDER_SOURCE_TEXT))
    o = o.filter(o.reason.isnull())
    marks = {"discount": "."}
    orders = o.select(
        order_id=o.order_key,
        member_id=o.member_id_canon, source_member_id=o.source_member, order_ts=o.ts, order_date=o.ts.date(),
        channel=unify_text(o.channel, "channel"), store_id=blank_to_null(o.store_id), product_id=o.product,
        amount=o.amount_clean, quantity=o.qty_clean, category=blank_to_null(o.category),
        discount=parse_money(o.discount, rules.scale, marks["discount"]).fill_null(0).cast(rules_type(rules.scale)),
        coupon_id=blank_to_null(o.coupon_id), status=ibis.ifelse(o.is_return, "returned", "paid"),
        is_guest=o.source_member.isnull(), is_outlier=o.is_outlier, _source=o._source, _row=o._row)
    # Not kept: the clean order log is written in its order (sorted, as it is written, unless the lines came
    # in order); the page's figures read the written file.
    if not in_order:
        orders = orders.order_by(["_source", "_row"])

    m = stages["members"]
    accounts = m.filter(m.reason.isnull() | (m.reason == "merged_identity")).group_by(member_id=m.canonical).agg(
        linked_accounts=m.member.count(), first_join=m.jd.min())
    k = m.filter(m.reason.isnull())
    k = k.left_join(accounts, k.member == accounts.member_id).drop("member_id")
    k = k.left_join(first_order, k.member == first_order.member_id).drop("member_id")
    valid_join = k.first_join.notnull() & (k.first_join <= ibis.literal(as_of))
    members = k.select(
        member_id=k.member,
        join_date=ibis.ifelse(valid_join, k.first_join, k.first_order_date),
        # Without a member table the join date is the first order by definition, not a repair.
        join_date_repaired=ibis.literal(False) if derived else ~valid_join,
        region=unify_text(k.region, "region"), channel=unify_text(k.channel, "channel"),
        tier=blank_to_null(k.tier), gender=unify_text(k.gender, "gender"),
        birth_year=parse_timestamp(k.birth_date, ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]).year(),
        linked_accounts=k.linked_accounts)
    clean = {"orders": orders,
             "members": members.order_by("member_id"),     # kept by the caller (_clean_all), when the orders are written
             "identity_map": stages["members"].filter(lambda s: s.reason.isnull() | (s.reason == "merged_identity"))
             .select(source_member_id="member", member_id="canonical", rule="identity_rule").order_by("source_member_id")}
    for name in ("campaign_members", "experiments"):
        if name in stages:
            s = stages[name].filter(stages[name].reason.isnull())
            stamps = {c: s[f"{c}_ts"] for c, col in CANONICAL[name].items() if col.kind == "timestamp"}
            other = {c: unify_text(s[c], c) if c == "group" else
                     (s[f"{c}_id"] if f"{c}_id" in s.columns else blank_to_null(s[c]))
                     for c in CANONICAL[name] if c not in stamps and c != "member_id"}
            outcome_values = {c[:-2]: s[c] for c in s.columns if c.startswith("outcome__") and c.endswith("_v")}
            clean[name] = s.order_by(["_source", "_row"]).select(**other, member_id=s.member_id_canon,
                                                                  source_member_id=s.source_member, **stamps,
                                                                  **outcome_values)
    if "campaigns" in stages:
        s = stages["campaigns"].filter(stages["campaigns"].reason.isnull())
        clean["campaigns"] = s.order_by("_row").select(
            campaign_id=s.campaign, name=blank_to_null(s.name), type=blank_to_null(s.type), start=s.start_d,
            end=s.end_d, cost=s.cost_m.cast("float64"), target_segment=blank_to_null(s.target_segment))
    if "payments" in stages:
        s = stages["payments"].filter(stages["payments"].reason.isnull())
        clean["payments"] = s.order_by(["_source", "_row"]).select(
            order_id=s.order_key, amount=s.amount_m, method=blank_to_null(s.method), _source=s._source, _row=s._row)
    return clean


def _table_report(name: str, stage: ibis.Table, derived: bool = False) -> TableReport:
    counts = stage.group_by("reason").agg(n=stage.count()).to_pyarrow().to_pylist()
    by_reason = {row["reason"]: int(row["n"]) for row in counts}
    kept = by_reason.pop(None, 0)
    steps = [{"rule": r, "description": d, "rows": by_reason.get(r, 0)} for r, d in RULES[name]]
    unexpected = set(by_reason) - {r for r, _ in RULES[name]}
    if unexpected:
        raise AccountingError(f"{name}: rows rejected by undeclared rules {sorted(unexpected)}")
    rejected = sum(by_reason.values())
    return TableReport(name, kept + rejected, kept, rejected, steps, derived)


def _text_unified(stages, raw_orders: ibis.Table | None = None) -> dict[str, int]:
    """How many values were rewritten to their canonical spelling (duplicates not counted twice).

    The order lines' stage carries no raw text (:func:`stage_orders`): their spellings are read from
    ``raw_orders``, the staged source, without the lines the stage rejects as copies."""
    out = {}
    for table, cols in TEXT_COLUMNS.items():
        if table not in stages:
            continue
        s = stages[table]
        if table == "orders":
            copies = s.filter(s.reason == "duplicate").select("_source", "_row")
            s = raw_orders.anti_join(copies, ["_source", "_row"])
        else:
            s = s.filter(s.reason.isnull() | (s.reason != "duplicate"))
        # the spellings are read on the few distinct combinations of values, not on every row
        g = s.group_by(cols).agg(_n=s.count())
        row = g.aggregate(**{c: g._n.sum(where=g[c].notnull() & (g[c] != unify_text(g[c], c)))
                             for c in cols}).to_pyarrow().to_pylist()[0]   # one query per table
        out.update({f"{table}.{c}": int(row[c] or 0) for c in cols})
    return out


def quality_scorecard(raw: dict[str, ibis.Table], date_formats: dict[str, list[str]] | list[str],
                      invalid_phones: int = 0, rules: CleaningRules | None = None,
                      readable: dict[str, dict[str, int]] | None = None,
                      counted: dict[str, dict[str, dict[str, int]]] | None = None) -> pd.DataFrame:
    """Per raw column: rows, missing, invalid (cannot be parsed or not a known value) and distinct values.

    Dates are read with each table's own formats (a dict by table, or one list for all). A number
    is valid with either decimal mark (the cleaning decides the column's mark); an order status is
    valid when ``rules`` (the shop's status words and the defaults) map it; a region when it is in
    the shop's ``regions`` list, or without one when it is not junk (:func:`is_known_region`). Phone numbers are
    checked by the identity step (libphonenumber); ``invalid_phones`` is its count. ``readable``: per
    table, number and date column -> rows that are empty or parse, as the staging's profile counted
    them (:class:`memberkit.sources.StagedTable`); those columns are then not parsed again here. ``counted``:
    per table, column -> ``{"missing", "distinct"}`` as the staging's profile counted them on the column's
    distinct values (``StagedTable.value_counts``); those columns are then not counted again here.
    """
    from .engine import parses
    rules = rules or CleaningRules()
    rows = []
    for table, t in raw.items():
        formats = date_formats.get(table, []) if isinstance(date_formats, dict) else date_formats
        metrics = {"__rows": t.count()}
        known = {}     # column -> its counts, already counted
        for c, col in CANONICAL[table].items():
            if c in CATEGORY_COLUMNS:
                # few distinct values: read on the value counts, not on every row
                known[c] = _category_quality(t, table, c, rules)
                continue
            if c in (counted or {}).get(table, {}):
                known[c] = {k: counted[table][c][k] for k in ("missing", "distinct")}
            else:
                # engine.strip trims only values with a blank at an edge: TRIM on every value of a 3.35-million-row
                # column costs about a CPU second, and this runs on every column of every table
                empty = t[c].isnull() | (engine.strip(t[c]) == "")
                metrics[f"{c}__missing"] = empty.cast("int64").sum()
                metrics[f"{c}__distinct"] = t[c].nunique()
            if c in (readable or {}).get(table, {}):
                invalid = None     # counted by the staging's profile
            elif col.kind == "number":
                invalid = ~parses(t[c], "number", formats, decimal="auto")
            elif col.kind in ("timestamp", "date"):
                invalid = ~parses(t[c], col.kind, formats)
            else:
                invalid = None  # ids and free text have no validity rule
            if invalid is not None:
                metrics[f"{c}__invalid"] = invalid.cast("int64").sum()
        values = t.aggregate(**metrics).to_pyarrow().to_pylist()[0]
        for c, row in known.items():
            values.update({f"{c}__{k}": v for k, v in row.items()})
        n = values["__rows"]
        for c in CANONICAL[table]:
            rows.append({"table": table, "column": c, "rows": n, "missing": int(values[f"{c}__missing"] or 0),
                         "invalid": int(invalid_phones if (table, c) == ("members", "phone") else
                                        n - readable[table][c] if c in (readable or {}).get(table, {}) else
                                        values.get(f"{c}__invalid") or 0),
                         "distinct": int(values[f"{c}__distinct"] or 0)})
    q = pd.DataFrame(rows)
    q["missing_share"] = q.missing / q.rows.where(q.rows > 0)
    q["invalid_share"] = q.invalid / q.rows.where(q.rows > 0)
    return q


CATEGORY_COLUMNS = ("status", "region", "channel", "gender", "group")   # few values, each with a validity rule


def _category_quality(t: ibis.Table, table: str, c: str, rules: CleaningRules) -> dict[str, int]:
    """Missing, invalid and distinct values of a column of few values, from its value counts."""
    counts = t.group_by(_v=t[c]).agg(_n=t.count())
    v = counts._v
    empty = v.isnull() | (v.strip() == "")
    if (table, c) == ("orders", "status"):
        invalid = ~empty & map_status(v, rules).isnull()
    elif c == "region":
        invalid = ~empty & ~is_known_region(v, rules.regions)
    else:
        invalid = ~empty & ~is_known_text(v, c)
    row = counts.aggregate(missing=counts._n.sum(where=empty), invalid=counts._n.sum(where=invalid),
                           distinct=v.count()).to_pyarrow().to_pylist()[0]
    return {k: int(row[k] or 0) for k in ("missing", "invalid", "distinct")}


# DuckDB gives up a column's dictionary sooner (its default builds one of tens of thousands of values in every
# row group of a nearly unique column: order ids, times, member ids) before writing it plain, as the staged
# copies do (sources.STAGING_PARQUET). How the file is encoded, never what it holds.
CLEAN_PARQUET = {"dictionary_size_limit": 10_000}


def _write(con, clean: dict[str, ibis.Table], stages: dict[str, ibis.Table], out: Path,
           raw: dict[str, ibis.Table]) -> dict[str, str]:
    (out / "clean").mkdir(parents=True, exist_ok=True)
    (out / "rejected").mkdir(parents=True, exist_ok=True)
    paths = {}
    # A kept table is in the order it was made in on DuckDB (insertion order is kept); one read back on Spark is
    # not. The clean orders are not kept: their expression is in order (_clean_tables) on either backend.
    order = {"members": ["member_id"]} if engine.backend(con) == "spark" else {}
    for name, t in clean.items():
        path = out / "clean" / f"{name}.parquet"
        engine.write_table(con, t.order_by(order[name]) if name in order else t, path, CLEAN_PARQUET)
        paths[f"clean/{name}"] = str(path)
    for name, s in stages.items():
        cols = [c for c in CANONICAL[name] if c not in ("phone", "person_id")]
        # the order lines' stage is narrow (stage_orders): their source columns are read back from the source
        rej = rejected_rows(s, raw[name]) if name == "orders" else s.filter(s.reason.notnull())
        extra = {"phone_masked": mask_e164(rej.phone_e164)} if name == "members" else {}
        detail = ibis.ifelse(rej.reason == "unknown_status", "unknown status " + rej.status.strip(),
                             rej.reason) if name == "orders" else rej.reason
        rej = rej.order_by(["_source", "_row"]).select(*cols, **extra, reason=rej.reason, reason_detail=detail,
                                                       source_file=rej._source, source_row=rej._row)
        path = out / "rejected" / f"{name}.parquet"
        engine.write_table(con, rej, path)
        paths[f"rejected/{name}"] = str(path)
    return paths


def cleaning_stamp(params, as_of, fingerprint: str, code: str) -> dict:
    """What the clean files depend on: the inputs' combined fingerprint
    (:func:`memberkit.sources.combined_fingerprint`), the extraction date ``as_of``, the cleaning
    settings of ``params`` and the code version ``code`` (:func:`memberkit.version.code_version`),
    so clean files written from other inputs, settings or code are not taken for current ones.
    A pure function: nothing is read or hashed here."""
    from .config import CleaningParams, ReportSettings
    own = set(CleaningParams.model_fields) - set(ReportSettings.model_fields) - {"dominant_member_share"}   # page only
    settings = params.model_dump(include=own | {"currency", "time_zone"}, mode="json")
    return {"inputs": fingerprint, "as_of": as_of.isoformat(), "settings": settings,
            "outcomes": {n: t.outcomes for n, t in params.source.tables.items() if t.outcomes},
            "source": params.source.model_dump(mode="json", exclude={"sample", "database_url"}),
            "code": code}


def run_cleaning(params, ctx, data_dir: Path | None = None) -> CleaningResult:
    """Read the sources of ``params`` and clean them into ``data_dir`` (default ``ctx.data_dir``), stamped
    for ``ctx.run`` (:class:`memberkit.runfile.RunFile`): the whole step in one call.

    Raises ``InputError`` / ``Problems`` for a source that does not read, and what :func:`clean_all` raises.
    """
    from . import engine, sources
    from .config import DEFAULT_DATE_FORMATS
    from .scratch import private_temp_dir
    data_dir = Path(data_dir) if data_dir is not None else ctx.data_dir
    # The stamp goes first and comes back last: a reader meanwhile finds no clean tables, never a mix;
    # files of an earlier cleaning (a table no longer configured) do not stay behind.
    (data_dir / "clean" / "_stamp.json").unlink(missing_ok=True)
    for old in [*(data_dir / "clean").glob("*.parquet"), *(data_dir / "rejected").glob("*.parquet")]:
        shutil.rmtree(old) if old.is_dir() else old.unlink()     # (a folder: Spark's on a cluster)
    con = engine.connect(params.engine)
    # The tables the run's checks staged, else staged here; the staged copies hold the raw exports,
    # personal data included: they live in a private temporary folder, never in outputs/.
    opened = sources.open_staged(con, ctx.run.staged, params.source) if ctx.run is not None and ctx.run.staged else None
    with contextlib.ExitStack() as stack:
        if opened is None:
            folder = Path(stack.enter_context(private_temp_dir("staging")))
            opened = sources.stage_sources(con, params.source, ctx.root, folder)
        raw, decided = opened
        without_orders = "orders" not in raw
        if without_orders:
            raw["orders"] = no_orders_table(con)
        formats = params.source.tables["orders"].date_formats if not without_orders else DEFAULT_DATE_FORMATS
        result = clean_all(con, raw, as_of=ctx.as_of, date_formats=formats, outlier_policy=params.outlier_policy,
                           outlier_multiple=params.outlier_multiple, out_dir=data_dir,
                           phone_region=params.phone_region, max_accounts_per_phone=params.max_accounts_per_phone,
                           outcomes=params.source.tables["experiments"].outcomes if "experiments" in params.source.tables
                           else None, rules=CleaningRules.from_params(params),
                           table_date_formats={n: t.date_formats for n, t in params.source.tables.items()},
                           staged=decided)
    if without_orders:
        result = as_read_without_orders(result)
    # Other reports read these files only while the stamp matches their run (memberkit.store).
    stamp = cleaning_stamp(params, ctx.as_of, ctx.run.fingerprint, ctx.run.code_version)
    stamp["files"] = sorted(f"{k}.parquet" for k in result.paths)   # what a reader may read: these and no others
    (data_dir / "clean" / "_stamp.json").write_text(json.dumps(stamp))
    return result


def no_orders_table(con) -> ibis.Table:
    """An orders table with the canonical columns and no row, for a source without one.

    Only an experiments export that carries its own outcome columns runs without orders
    (:class:`memberkit.config.SourceConfig`): the cleaning then stages this empty table in its place,
    so the clean tables keep their shape (an empty ``orders``, members from the assignments alone)
    and :func:`clean_all` accepts an empty order log when ``outcomes`` are given. Returns the engine
    table ``raw_orders`` (0 rows; every canonical column as text, ``_source``, ``_row``, ``_dupkey``).
    """
    columns = {**{c: "string" for c in CANONICAL["orders"]}, "_source": "string", "_row": "int64", "_dupkey": "string"}
    return engine.empty_table(con, "raw_orders", ibis.schema(columns))


def as_read_without_orders(result: CleaningResult) -> CleaningResult:
    """``result`` of a cleaning whose orders table was :func:`no_orders_table`: that empty table and the
    (empty) member table derived from it are left out of the tables' accounting and the quality table,
    which then speak of the tables read only. Their clean files stay (empty), so readers find every table."""
    result.tables = {k: t for k, t in result.tables.items() if k != "orders" and not t.derived}
    result.quality = result.quality[result.quality.table != "orders"].reset_index(drop=True)
    return result


def dominant_members(result: CleaningResult, share: float) -> dict:
    """Members holding more than ``share`` (0 < share <= 1) of the kept orders or of the members' net
    revenue in the clean order log of ``result`` (its ``clean/orders`` file), and the figures with and
    without them: :func:`memberkit.summary.member_concentration` over
    :func:`memberkit.summary.member_totals` (engine queries; only the members above the share reach
    pandas, their ids masked). Raises ``KeyError`` when ``result`` wrote no files (``out_dir`` None),
    ``ValueError`` for a share outside (0, 1]."""
    from . import engine
    from .summary import member_concentration, member_totals
    orders = engine.read_table(engine.connect(), result.paths["clean/orders"], "clean_orders")
    return member_concentration(member_totals(orders), share)


def status_scan(orders: ibis.Table, params) -> dict[str, int]:
    """Unknown status word -> order lines, for the raw (mapped) orders table ``orders``, counted
    as the cleaning page counts them (:func:`status_words`: an exact copy of a line not again).

    Raises ``InputError`` when the unknown lines exceed ``params.unknown_status_share`` of all
    lines, listing each unknown word with its count.
    """
    tsrc = params.source.tables["orders"]
    rules = CleaningRules.from_params(params)
    unknown, _ = status_words(orders, rules, count_lines=False)
    if not unknown:   # (no share to judge: counting every line would be a pass over the table for nothing)
        return unknown
    unknown, total = status_words(orders, rules)
    lines = sum(unknown.values())
    if total and lines / total > params.unknown_status_share:
        words = listed(f"{k} {v:,}" for k, v in unknown.items())
        raise InputError(tsrc.path or tsrc.query, "orders", tsrc.columns.get("status", "status"),
                         f"{lines:,} of {total:,} order lines ({lines / total:.1%}) have a status the kit does not know "
                         f"(more than unknown_status_share {params.unknown_status_share:.1%})",
                         f"{words}; map them with notebooks.data_cleaning.statuses "
                         "(e.g. statuses: {delivered: paid, canceled: cancelled, refunded: returned})")
    return unknown


KPI_KEYS = ["rows_read", "rows_kept", "rows_rejected", "members_merged", "guest_orders", "outliers"]


def kpi_values(result: CleaningResult) -> dict[str, int]:
    """The cleaning's cards: ``rows_rejected`` counts the rows a rule rejected, not the duplicate member accounts
    merged into their person (also set aside from the member table, but counted in ``members_merged``)."""
    return {"rows_read": result.rows_in, "rows_kept": result.kept, "rows_rejected": result.rejected - result.merged_members,
            "members_merged": result.merged_members, "guest_orders": result.guest_orders,
            "outliers": result.outlier_orders}


def key_results(result: CleaningResult) -> dict:
    """What the cleaning concluded, as plain data for ``data_cleaning.json``."""
    d = result.to_dict()
    # each rule by its code: its English description is for the log, the page words the code
    tables = {name: {**t, "steps": [{"rule": st["rule"], "rows": st["rows"]} for st in t["steps"]]}
              for name, t in d["tables"].items()}
    return {
        "tables": tables, "outlier_threshold": result.outlier_threshold, "return_rows": result.return_rows,
        "linked_people": result.linked_people, "join_dates_repaired": result.join_dates_repaired,
        "text_unified": result.text_unified,
        "invalid_values": {f"{r['table']}.{r['column']}": r["invalid"] for r in d["quality"] if r["invalid"]},
        "clean_files": {k: Path(v).name for k, v in result.paths.items()},
        "orders_kept": result.orders_kept, "lines_kept": result.lines_kept,
        "cancelled_orders": result.cancelled_orders, "zero_amount_orders": result.zero_amount_orders,
        "revenue": result.revenue, "unknown_statuses": result.unknown_statuses,
        "decimal_marks": result.decimal_marks, "float_ids": result.float_ids,
    }
