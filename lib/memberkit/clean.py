"""The cleaning rules of the domain, as Ibis expressions run in the engine.

Every row of every table either is kept or lands in that table's rejected rows with the
first rule it breaks, so ``rows in = rows kept + rows rejected`` holds and is checked.
Rules are data (``ORDER_RULES`` ...), in the order they are applied; the report's
waterfall follows that order.

Example
-------
>>> # result = clean_all(con, raw_tables, params, out_dir)
>>> # result.tables["orders"].rows_in == result.tables["orders"].kept + result.tables["orders"].rejected
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import yaml

from .engine import blank_to_null, parse_number, parse_timestamp
from .errors import MemberkitError
from .identity import mask_e164
from .schema import CANONICAL

ORDER_RULES = [
    ("duplicate", "exact copy of an earlier row"),
    ("unparseable_date", "order time cannot be read"),
    ("future_date", "order time after the extraction date"),
    ("unparseable_amount", "amount is not a number"),
    ("unknown_status", "status is not paid, cancelled or returned"),
    ("cancelled", "cancelled order: no revenue"),
    ("negative_quantity", "negative quantity without a return status"),
    ("non_positive_amount", "paid order with zero or negative amount"),
    ("unknown_member", "member id not in the member table"),
    ("outlier", "far above the usual basket (outlier policy: exclude)"),
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
RULES = {"orders": ORDER_RULES, "members": MEMBER_RULES, "campaign_members": LINK_RULES,
         "experiments": LINK_RULES, "campaigns": CAMPAIGN_RULES, "accounts": ACCOUNT_RULES}
TEXT_COLUMNS = {"members": ["region", "channel"], "orders": ["channel", "status"],
                "campaign_members": ["group"]}


@dataclass
class TableReport:
    table: str
    rows_in: int
    kept: int
    rejected: int
    steps: list[dict] = field(default_factory=list)   # [{"rule", "description", "rows"}] in rule order


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

    def to_dict(self) -> dict:
        out = asdict(self)
        out["quality"] = self.quality.to_dict(orient="records")
        return out

    @property
    def rows_in(self) -> int:
        return sum(t.rows_in for t in self.tables.values())

    @property
    def kept(self) -> int:
        return sum(t.kept for t in self.tables.values())

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values())


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
    return trimmed.lower().substitute(text_vocabulary()[kind], else_=trimmed)


def is_known_text(col: ibis.Value, kind: str) -> ibis.Value:
    return blank_to_null(col).lower().isin(list(text_vocabulary()[kind]))


# ------------------------------------------------------------------ rules
def _reason(*cases) -> ibis.Value:
    return ibis.cases(*cases, else_=ibis.null("string"))


def _duplicate(t: ibis.Table, table: str) -> ibis.Value:
    cols = list(CANONICAL[table])
    return ibis.row_number().over(group_by=[t[c] for c in cols], order_by=t._row) > 0


def stage_members(con, raw: ibis.Table, formats: list[str], *, phone_region: str = "CN",
                  max_accounts_per_phone: int = 5, accounts: ibis.Table | None = None) -> tuple[ibis.Table, dict]:
    """Member rules, then the identity merge (:mod:`memberkit.identity`, member-scale pandas).

    Accounts are linked by a person id (the members' ``person_id`` column, or the ``accounts``
    mapping table, which wins), or by a phone number normalised to E.164 in ``phone_region``
    unless more than ``max_accounts_per_phone`` accounts share it. Returns the staged table
    (``canonical``: the id each account is merged into, ``phone_e164``) and the identity report.
    """
    from .identity import normalise_phones, resolve_identities
    t = raw.mutate(
        _dup=_duplicate(raw, "members"),
        member=blank_to_null(raw.member_id),
        jd=parse_timestamp(raw.join_date, formats).date(),
        person=blank_to_null(raw.person_id),
    )
    first_of_id = ibis.row_number().over(group_by=t.member, order_by=[t._dup, t._row]) > 0
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (t.member.isnull(), "missing_member_id"),
                                (first_of_id, "duplicate_member_id")))
    t = con.create_table("stage_members_pre", t, overwrite=True)
    # Member scale: one row per distinct phone text, then one per valid account.
    phones = t.filter(blank_to_null(t.phone).notnull()).select("phone").distinct().to_pandas()
    phones["phone_e164"] = normalise_phones(phones.phone, phone_region)
    phone_map = con.create_table("phone_map", ibis.memtable(phones.astype("string"), columns=["phone_text", "phone_e164"]),
                                 overwrite=True)
    t = t.left_join(phone_map, t.phone == phone_map.phone_text).drop("phone_text")
    acc = t.filter(t.reason.isnull()).select("member", "jd", "phone_e164", person_id=t.person).to_pandas()
    acc["jd"] = pd.to_datetime(acc.jd)
    acc["person_source"] = np.where(acc.person_id.notna(), "person_id", None)
    if accounts is not None:
        mapped = accounts.filter(accounts.reason.isnull()).select("member", "person").to_pandas()
        mapping = dict(zip(mapped.member, mapped.person))
        from_map = acc.member.map(mapping)
        acc["person_source"] = np.where(from_map.notna(), "mapping", acc.person_source)
        acc["person_id"] = from_map.where(from_map.notna(), acc.person_id)
    links, report = resolve_identities(acc, max_accounts_per_phone)
    report.phone_region = phone_region
    invalid = phones.loc[phones.phone_e164.isna(), "phone"]
    report.invalid_phones = int(t.filter(t.phone.isin(invalid.tolist())).count().execute()) if len(invalid) else 0
    links = links.rename(columns={"member": "link_member"}).astype("string")
    link_t = con.create_table("identity_links", ibis.memtable(links), overwrite=True)
    t = t.left_join(link_t, t.member == link_t.link_member).drop("link_member")
    t = t.mutate(canonical=ibis.coalesce(t.canonical, t.member), identity_rule=t.rule).drop("rule")
    t = t.mutate(reason=ibis.ifelse(t.reason.isnull() & (t.canonical != t.member), "merged_identity", t.reason))
    return con.create_table("stage_members", t, overwrite=True), report.to_dict()


def stage_accounts(con, raw: ibis.Table) -> ibis.Table:
    """The mapping table account id -> person id: copies, empty ids and re-mapped accounts set aside."""
    t = raw.mutate(_dup=_duplicate(raw, "accounts"), member=blank_to_null(raw.member_id),
                   person=blank_to_null(raw.person_id))
    first_of_id = ibis.row_number().over(group_by=t.member, order_by=[t._dup, t._row]) > 0
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (t.member.isnull() | t.person.isnull(), "missing_id"),
                                (first_of_id, "duplicate_member_id")))
    return con.create_table("stage_accounts", t, overwrite=True)


def stage_orders(con, raw: ibis.Table, identity: ibis.Table, formats: list[str], as_of: _dt.datetime,
                 policy: str, multiple: float) -> tuple[ibis.Table, float]:
    t = raw.mutate(
        _dup=_duplicate(raw, "orders"),
        ts=parse_timestamp(raw.order_ts, formats),
        amount_num=parse_number(raw.amount),
        qty=parse_number(raw.quantity).fill_null(1.0),
        status_c=unify_text(raw.status, "status").fill_null("paid"),
        source_member=blank_to_null(raw.member_id),
    )
    t = t.left_join(identity, t.source_member == identity.source_member_id).drop("source_member_id")
    base_reason = _reason(
        (t._dup, "duplicate"),
        (t.ts.isnull(), "unparseable_date"),
        (t.ts > ibis.literal(as_of), "future_date"),
        (t.amount_num.isnull(), "unparseable_amount"),
        (~t.status_c.isin(["paid", "cancelled", "returned"]), "unknown_status"),
        (t.status_c == "cancelled", "cancelled"),
        ((t.qty < 0) & (t.status_c != "returned"), "negative_quantity"),
        ((t.status_c == "paid") & (t.amount_num <= 0), "non_positive_amount"),
        (t.source_member.notnull() & t.member_id_canon.isnull(), "unknown_member"),
    )
    t = con.create_table("stage_orders_pre", t.mutate(reason=base_reason), overwrite=True)
    paid = t.filter(t.reason.isnull() & (t.status_c == "paid"))
    median = paid.amount_num.median().execute()
    threshold = float(multiple * median) if median is not None and pd.notna(median) else float("inf")
    is_outlier = t.reason.isnull() & (t.status_c == "paid") & (t.amount_num > threshold)
    t = t.mutate(is_outlier=is_outlier)
    if policy == "exclude":
        t = t.mutate(reason=ibis.ifelse(t.is_outlier, "outlier", t.reason))
    amount = ibis.ifelse(t.status_c == "returned", -t.amount_num.abs(), t.amount_num)
    if policy == "cap":
        amount = ibis.ifelse(t.is_outlier, threshold, amount)
    qty = ibis.ifelse(t.status_c == "returned", -t.qty.abs(), t.qty)
    t = t.mutate(amount_clean=amount, qty_clean=qty)
    return con.create_table("stage_orders", t, overwrite=True), threshold


def parse_outcome(col: ibis.Value, kind: str) -> ibis.Value:
    """An outcome value as a float: binary ``1/0, true/false, yes/no`` -> 1.0 / 0.0; numeric parsed; else NULL."""
    if kind == "binary":
        v = blank_to_null(col).lower()
        return ibis.cases((v.isin(BINARY_TRUE), 1.0), (v.isin(BINARY_FALSE), 0.0), else_=ibis.null("float64"))
    return parse_number(col)


def outcome_column(name: str) -> str:
    """The column of the clean experiments table holding the outcome ``name``."""
    return f"outcome__{name}"


def stage_links(con, raw: ibis.Table, table: str, identity: ibis.Table, formats: list[str],
                outcomes: dict[str, str] | None = None) -> ibis.Table:
    """Assignment rows (experiments, campaign_members): every assigned member counts.

    A member id unknown to the member table is kept as it is (the population of an experiment
    or a campaign is its assignment table); a merged account takes its person's id. Rows of one
    member in several variants (or groups) of one experiment (or campaign) are all set aside;
    repeated rows of one member in one variant are collapsed to the first (earliest assigned).
    ``outcomes`` (experiments only): outcome name -> ``binary`` | ``numeric``; the raw column
    ``outcome__<name>`` is parsed, and a row whose value cannot be read is set aside.
    """
    spec = CANONICAL[table]
    outcomes = outcomes or {}
    ids = [c for c, col in spec.items() if col.kind == "id" and col.required]
    stamps = [c for c, col in spec.items() if col.kind == "timestamp"]
    # An experiment export that carries its outcomes may come without assignment times.
    required_stamps = [c for c in stamps if spec[c].required and not outcomes]
    t = raw.mutate(_dup=_duplicate(raw, table), source_member=blank_to_null(raw.member_id),
                   **{f"{c}_ts": parse_timestamp(raw[c], formats) for c in stamps},
                   **{f"{outcome_column(n)}_v": parse_outcome(raw[outcome_column(n)], k) for n, k in outcomes.items()})
    t = t.left_join(identity, t.source_member == identity.source_member_id).drop("source_member_id")
    t = t.mutate(member_id_canon=ibis.coalesce(t.member_id_canon, t.source_member))
    missing = ibis.or_(*[blank_to_null(t[c]).isnull() for c in ids])
    bad_date = ibis.or_(*[(blank_to_null(t[c]).notnull() & t[f"{c}_ts"].isnull()) for c in stamps],
                        *[t[f"{c}_ts"].isnull() for c in required_stamps])
    bad_outcome = ibis.or_(*[t[f"{outcome_column(n)}_v"].isnull() for n in outcomes]) if outcomes else ibis.literal(False)
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (missing, "missing_id"), (bad_date, "unparseable_date"),
                                (bad_outcome, "unparseable_outcome")))
    key, group, stamp = LINK_KEYS[table]
    t = t.mutate(_key=t[key].strip(), _group=unify_text(t[group], group) if group == "group" else t[group].strip())
    ok = t.reason.isnull()
    per_member = ibis.window(group_by=[t._key, t.member_id_canon, ok])
    several = ok & (t._group.min().over(per_member) != t._group.max().over(per_member))
    first = ibis.row_number().over(group_by=[t._key, t.member_id_canon, t._group, ok],
                                   order_by=[t[f"{stamp}_ts"].isnull(), t[f"{stamp}_ts"], t._row])
    t = t.mutate(reason=ibis.cases((~ok, t.reason), (several, "several_variants"), (first > 0, "repeat_assignment"),
                                   else_=ibis.null("string")))
    return con.create_table(f"stage_{table}", t.drop("_key", "_group"), overwrite=True)


def stage_campaigns(con, raw: ibis.Table, formats: list[str]) -> ibis.Table:
    t = raw.mutate(_dup=_duplicate(raw, "campaigns"), start_d=parse_timestamp(raw.start, formats).date(),
                   end_d=parse_timestamp(raw.end, formats).date())
    t = t.mutate(reason=_reason((t._dup, "duplicate"), (blank_to_null(t.campaign_id).isnull(), "missing_id"),
                                (t.start_d.isnull() | t.end_d.isnull(), "unparseable_date")))
    return con.create_table("stage_campaigns", t, overwrite=True)


# ------------------------------------------------------------------ the whole step
def clean_all(con, raw: dict[str, ibis.Table], *, as_of: _dt.date | None = None, date_formats: list[str],
              outlier_policy: str = "flag", outlier_multiple: float = 30.0,
              out_dir: str | Path | None = None, phone_region: str = "CN", max_accounts_per_phone: int = 5,
              outcomes: dict[str, str] | None = None) -> CleaningResult:
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

    Returns
    -------
    CleaningResult
    """
    as_of = as_of or _dt.date.today()
    as_of_end = _dt.datetime.combine(as_of, _dt.time(23, 59, 59))
    if "members" not in raw:
        raw = dict(raw, members=_members_from_orders(con, raw["orders"]))
    stages = {}
    if "accounts" in raw:
        stages["accounts"] = stage_accounts(con, raw["accounts"])
    members, identity_report = stage_members(con, raw["members"], date_formats, phone_region=phone_region,
                                             max_accounts_per_phone=max_accounts_per_phone,
                                             accounts=stages.get("accounts"))
    identity = members.filter(members.reason.isnull() | (members.reason == "merged_identity")).select(
        source_member_id=members.member, member_id_canon=members.canonical)
    identity = con.create_table("identity_map", identity, overwrite=True)
    orders, threshold = stage_orders(con, raw["orders"], identity, date_formats, as_of_end,
                                     outlier_policy, outlier_multiple)
    stages = {"members": members, "orders": orders, **stages}
    for name in ("campaign_members", "experiments"):
        if name in raw:
            stages[name] = stage_links(con, raw[name], name, identity, date_formats,
                                       outcomes if name == "experiments" else None)
    if "campaigns" in raw:
        stages["campaigns"] = stage_campaigns(con, raw["campaigns"], date_formats)

    clean = _clean_tables(con, stages, as_of)
    reports = {name: _table_report(name, stage) for name, stage in stages.items()}
    for rep in reports.values():
        if rep.rows_in != rep.kept + rep.rejected:
            raise AccountingError(f"{rep.table}: {rep.rows_in} rows in, {rep.kept} kept + {rep.rejected} rejected")

    kept_members = clean["members"]
    paths = {}
    if out_dir is not None:
        paths = _write(con, clean, stages, Path(out_dir))
    ok_orders = orders.filter(orders.reason.isnull())
    merged = int(members.filter(members.reason == "merged_identity").count().execute())
    return CleaningResult(
        tables=reports,
        merged_members=merged,
        linked_people=int(kept_members.filter(kept_members.linked_accounts > 1).count().execute()),
        guest_orders=int(ok_orders.filter(ok_orders.source_member.isnull()).count().execute()),
        return_rows=int(ok_orders.filter(ok_orders.status_c == "returned").count().execute()),
        outlier_orders=int(orders.filter(orders.is_outlier).count().execute()),
        outlier_threshold=threshold,
        join_dates_repaired=int(kept_members.filter(kept_members.join_date_repaired).count().execute()),
        text_unified=_text_unified(stages),
        quality=quality_scorecard(raw, date_formats, identity_report["invalid_phones"]),
        paths=paths,
        identity=identity_report,
    )


def _members_from_orders(con, orders: ibis.Table) -> ibis.Table:
    """When a source has no member table, every member id seen in the orders is a member.

    Its person id is the orders' ``person_id`` (when mapped) and its region the region most of
    its orders name (the orders' ``region`` column, e.g. a country or state).
    """
    o = orders.filter(blank_to_null(orders.member_id).notnull())
    o = o.mutate(_member=o.member_id.strip())
    ids = o.group_by("_member").agg(person_id=blank_to_null(o.person_id).min(), region=blank_to_null(o.region).mode())
    ids = ids.rename(member_id="_member")
    cols = {c: ibis.null("string") for c in CANONICAL["members"] if c not in ("member_id", "person_id", "region")}
    t = ids.mutate(**cols, _source=ibis.literal("(derived from orders)"), _row=ibis.row_number() + 1)
    return con.create_table("raw_members", t.select(*CANONICAL["members"], "_source", "_row"), overwrite=True)


def _clean_tables(con, stages: dict[str, ibis.Table], as_of: _dt.date) -> dict[str, ibis.Table]:
    o = stages["orders"].filter(stages["orders"].reason.isnull())
    orders = o.select(
        order_id=ibis.coalesce(blank_to_null(o.order_id), "ROW" + o._row.cast("string")),
        member_id=o.member_id_canon, source_member_id=o.source_member, order_ts=o.ts, order_date=o.ts.date(),
        channel=unify_text(o.channel, "channel"), store_id=blank_to_null(o.store_id), amount=o.amount_clean,
        quantity=o.qty_clean, category=blank_to_null(o.category), discount=parse_number(o.discount).fill_null(0.0),
        coupon_id=blank_to_null(o.coupon_id), status=o.status_c, is_guest=o.source_member.isnull(),
        is_outlier=o.is_outlier, _source=o._source, _row=o._row)
    orders = con.create_table("clean_orders", orders, overwrite=True)

    m = stages["members"]
    accounts = m.filter(m.reason.isnull() | (m.reason == "merged_identity")).group_by(member_id=m.canonical).agg(
        linked_accounts=m.member.count(), first_join=m.jd.min())
    first_order = orders.filter(orders.member_id.notnull()).group_by("member_id").agg(
        first_order_date=orders.order_date.min())
    k = m.filter(m.reason.isnull())
    k = k.left_join(accounts, k.member == accounts.member_id).drop("member_id")
    k = k.left_join(first_order, k.member == first_order.member_id).drop("member_id")
    valid_join = k.first_join.notnull() & (k.first_join <= ibis.literal(as_of))
    members = k.select(
        member_id=k.member,
        join_date=ibis.ifelse(valid_join, k.first_join, k.first_order_date),
        join_date_repaired=~valid_join,
        region=unify_text(k.region, "region"), channel=unify_text(k.channel, "channel"),
        tier=blank_to_null(k.tier), gender=unify_text(k.gender, "gender"),
        birth_year=parse_timestamp(k.birth_date, ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]).year(),
        linked_accounts=k.linked_accounts)
    clean = {"orders": orders, "members": con.create_table("clean_members", members, overwrite=True),
             "identity_map": stages["members"].filter(lambda s: s.reason.isnull() | (s.reason == "merged_identity"))
             .select(source_member_id="member", member_id="canonical", rule="identity_rule")}
    for name in ("campaign_members", "experiments"):
        if name in stages:
            s = stages[name].filter(stages[name].reason.isnull())
            stamps = {c: s[f"{c}_ts"] for c, col in CANONICAL[name].items() if col.kind == "timestamp"}
            other = {c: unify_text(s[c], c) if c == "group" else blank_to_null(s[c])
                     for c in CANONICAL[name] if c not in stamps and c != "member_id"}
            outcome_values = {c[:-2]: s[c] for c in s.columns if c.startswith("outcome__") and c.endswith("_v")}
            clean[name] = s.select(**other, member_id=s.member_id_canon, source_member_id=s.source_member, **stamps,
                                   **outcome_values)
    if "campaigns" in stages:
        s = stages["campaigns"].filter(stages["campaigns"].reason.isnull())
        clean["campaigns"] = s.select(campaign_id=s.campaign_id.strip(), name=blank_to_null(s.name),
                                      type=blank_to_null(s.type), start=s.start_d, end=s.end_d,
                                      cost=parse_number(s.cost), target_segment=blank_to_null(s.target_segment))
    return clean


def _table_report(name: str, stage: ibis.Table) -> TableReport:
    counts = stage.group_by("reason").agg(n=stage.count()).to_pyarrow().to_pylist()
    by_reason = {row["reason"]: int(row["n"]) for row in counts}
    kept = by_reason.pop(None, 0)
    steps = [{"rule": r, "description": d, "rows": by_reason.get(r, 0)} for r, d in RULES[name]]
    unexpected = set(by_reason) - {r for r, _ in RULES[name]}
    if unexpected:
        raise AccountingError(f"{name}: rows rejected by undeclared rules {sorted(unexpected)}")
    rejected = sum(by_reason.values())
    return TableReport(name, kept + rejected, kept, rejected, steps)


def _text_unified(stages) -> dict[str, int]:
    """How many values were rewritten to their canonical spelling (duplicates not counted twice)."""
    out = {}
    for table, cols in TEXT_COLUMNS.items():
        if table not in stages:
            continue
        s = stages[table]
        s = s.filter(s.reason.isnull() | (s.reason != "duplicate"))
        for c in cols:
            changed = s[c].notnull() & (s[c] != unify_text(s[c], c))
            out[f"{table}.{c}"] = int(s.filter(changed).count().execute())
    return out


def quality_scorecard(raw: dict[str, ibis.Table], date_formats: list[str], invalid_phones: int = 0) -> pd.DataFrame:
    """Per raw column: rows, missing, invalid (cannot be parsed or not a known value) and distinct values.

    Phone numbers are checked by the identity step (libphonenumber); ``invalid_phones`` is its count.
    """
    from .engine import parses
    rows = []
    for table, t in raw.items():
        metrics = {"__rows": t.count()}
        for c, col in CANONICAL[table].items():
            empty = t[c].isnull() | (t[c].strip() == "")
            if col.kind in ("number", "timestamp", "date"):
                invalid = ~parses(t[c], col.kind, date_formats)
            elif c in ("region", "channel", "status", "gender", "group"):
                invalid = ~empty & ~is_known_text(t[c], c)
            else:
                invalid = None  # ids and free text have no validity rule
            metrics[f"{c}__missing"] = empty.cast("int64").sum()
            if invalid is not None:
                metrics[f"{c}__invalid"] = invalid.cast("int64").sum()
            metrics[f"{c}__distinct"] = t[c].nunique()
        values = t.aggregate(**metrics).to_pyarrow().to_pylist()[0]
        n = values["__rows"]
        for c in CANONICAL[table]:
            rows.append({"table": table, "column": c, "rows": n, "missing": int(values[f"{c}__missing"] or 0),
                         "invalid": int(invalid_phones if (table, c) == ("members", "phone") else
                                        values.get(f"{c}__invalid") or 0),
                         "distinct": int(values[f"{c}__distinct"] or 0)})
    q = pd.DataFrame(rows)
    q["missing_share"] = q.missing / q.rows.where(q.rows > 0)
    q["invalid_share"] = q.invalid / q.rows.where(q.rows > 0)
    return q


def _write(con, clean: dict[str, ibis.Table], stages: dict[str, ibis.Table], out: Path) -> dict[str, str]:
    (out / "clean").mkdir(parents=True, exist_ok=True)
    (out / "rejected").mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, t in clean.items():
        path = out / "clean" / f"{name}.parquet"
        con.to_parquet(t, path)
        paths[f"clean/{name}"] = str(path)
    for name, s in stages.items():
        cols = [c for c in CANONICAL[name] if c not in ("phone", "person_id")]
        rej = s.filter(s.reason.notnull())
        extra = {"phone_masked": mask_e164(rej.phone_e164)} if name == "members" else {}
        rej = rej.select(*cols, **extra, reason=rej.reason, source_file=rej._source, source_row=rej._row)
        path = out / "rejected" / f"{name}.parquet"
        con.to_parquet(rej, path)
        paths[f"rejected/{name}"] = str(path)
    return paths


def cleaning_stamp(params, ctx) -> dict:
    """What the clean files depend on: the input files, the extraction date and the cleaning settings."""
    from .notebook import code_version
    from .sources import combined_fingerprint, ensure_sample, input_fingerprints
    ensure_sample(params.source, ctx.root)
    return {"inputs": combined_fingerprint(input_fingerprints(params.source, ctx.root)),
            "as_of": ctx.as_of.isoformat(), "outlier_policy": params.outlier_policy,
            "outlier_multiple": params.outlier_multiple, "phone_region": params.phone_region,
            "max_accounts_per_phone": params.max_accounts_per_phone,
            "outcomes": {n: t.outcomes for n, t in params.source.tables.items() if t.outcomes}, "code": code_version().split("+")[0]}


def run_cleaning(params, ctx) -> CleaningResult:
    """Read the sources of ``params`` and clean them into ``ctx.data_dir``; the whole step in one call."""
    import tempfile
    from . import engine, sources
    con = engine.connect()
    # Staged copies hold the raw exports, personal data included: they must not stay in outputs/.
    with tempfile.TemporaryDirectory(prefix="memberkit-staging-") as staging:
        raw = sources.load_sources(con, params.source, ctx.root, Path(staging))
    formats = params.source.tables["orders"].date_formats
    result = clean_all(con, raw, as_of=ctx.as_of, date_formats=formats, outlier_policy=params.outlier_policy,
                       outlier_multiple=params.outlier_multiple, out_dir=ctx.data_dir,
                       phone_region=params.phone_region, max_accounts_per_phone=params.max_accounts_per_phone,
                       outcomes=params.source.tables["experiments"].outcomes if "experiments" in params.source.tables
                       else None)
    # Other reports reuse these files only while the stamp matches their own inputs and settings.
    (ctx.data_dir / "clean" / "_stamp.json").write_text(json.dumps(cleaning_stamp(params, ctx)))
    return result


KPI_KEYS = ["rows_read", "rows_kept", "rows_rejected", "members_merged", "guest_orders", "outliers"]


def kpi_values(result: CleaningResult) -> dict[str, int]:
    return {"rows_read": result.rows_in, "rows_kept": result.kept, "rows_rejected": result.rejected,
            "members_merged": result.merged_members, "guest_orders": result.guest_orders,
            "outliers": result.outlier_orders}


def key_results(result: CleaningResult) -> dict:
    """What the cleaning concluded, as plain data for ``data_cleaning.json``."""
    d = result.to_dict()
    return {
        "tables": d["tables"], "outlier_threshold": result.outlier_threshold, "return_rows": result.return_rows,
        "linked_people": result.linked_people, "join_dates_repaired": result.join_dates_repaired,
        "text_unified": result.text_unified,
        "invalid_values": {f"{r['table']}.{r['column']}": r["invalid"] for r in d["quality"] if r["invalid"]},
        "clean_files": {k: Path(v).name for k, v in result.paths.items()},
    }
