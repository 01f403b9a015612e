"""One person behind several member ids: phone numbers, person ids and mapping tables.

Member-scale work in pandas (one row per account), called by :mod:`memberkit.clean`:

- phone numbers are normalised to E.164 with Google's libphonenumber (the ``phonenumbers``
  package), numbers written without a country code read in a default region; those written in the
  region's plain mobile shapes are settled by the same rule in the engine first
  (:func:`mobile_e164_in_engine`), so only the other texts reach pandas;
- accounts are linked when they share a person id (a column of the member or order export,
  or a mapping table ``accounts``: account id -> person id) or a normalised phone number;
- a phone number shared by more than ``max_accounts_per_phone`` accounts (a placeholder such
  as 13800000000 typed for walk-in customers) is not an identity: it links nobody, and is counted;
- linked accounts form connected components (scipy's ``connected_components``); the
  earliest-joined account of a component keeps its id, the others are merged into it.

Example
-------
>>> acc = pd.DataFrame({"member": ["U1", "C1", "U2"], "jd": pd.to_datetime(["2025-01-01", "2025-03-01", None]),
...                     "phone_e164": ["+8613812345678", "+8613812345678", None],
...                     "person_id": [None, None, None], "person_source": [None, None, None]})
>>> links, rep = resolve_identities(acc, max_accounts_per_phone=5)
>>> links.set_index("member").canonical.to_dict()
{'U1': 'U1', 'C1': 'U1', 'U2': 'U2'}
>>> rep.by_rule
{'phone': 1}
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import ibis
import numpy as np
import pandas as pd

# The rules, in the order they are tried when an account is linked by more than one.
IDENTITY_RULES = ("person_id", "mapping", "phone")


@dataclass
class IdentityReport:
    """How many account ids were merged into how many people, and by which rule."""

    merged_ids: int = 0                # accounts merged into another account's id
    people: int = 0                    # people (ids kept) that received at least one merged account
    by_rule: dict[str, int] = field(default_factory=dict)   # rule -> accounts merged by it
    shared_phones: int = 0             # phone numbers held by too many accounts to be an identity
    shared_phone_accounts: int = 0     # accounts holding one of them
    invalid_phones: int = 0            # non-empty phone values that are not a valid number
    max_accounts_per_phone: int = 0
    phone_region: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def normalise_phones(values: pd.Series, region: str) -> pd.Series:
    """Each phone text as E.164 (``+8613812345678``), or None when empty or not a valid number.

    ``region`` (ISO 3166 alpha-2, e.g. ``CN``, ``GB``) reads numbers written without a country
    code. Each distinct text is read once. Texts of the region's plain mobile shapes are settled
    by :func:`mobile_e164` with libphonenumber's own patterns, vectorised; every other text is
    parsed by libphonenumber itself, from ``PARALLEL_PHONES`` distinct texts on in one worker
    process per core (libphonenumber is pure Python: about 20 microseconds a number).
    """
    distinct = pd.Series(pd.unique(values.dropna()), dtype=object)
    distinct = distinct[[not (isinstance(v, float) and np.isnan(v)) for v in distinct]]
    settled = mobile_e164(distinct, region)
    rest = distinct[settled.isna()].tolist()
    workers = min(os.cpu_count() or 1, max(1, len(rest) // (PARALLEL_PHONES // 2)))
    import multiprocessing
    if len(rest) < PARALLEL_PHONES or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        parsed = _e164_all(rest, region)
    else:
        from concurrent.futures import ProcessPoolExecutor
        size = -(-len(rest) // workers)
        chunks = [rest[i:i + size] for i in range(0, len(rest), size)]
        # fork: spawn would import the caller's main script again (an analyst's script without a
        # __main__ guard would run twice); the workers run only libphonenumber, never the engine
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            parsed = [e for part in pool.map(_e164_all, chunks, [region] * len(chunks)) for e in part]
    mapping = dict(zip(distinct[settled.notna()].tolist(), settled[settled.notna()].tolist()))
    mapping.update(zip(rest, parsed))
    out = values.map(mapping).astype(object)
    return out.where(out.notna(), None)


@dataclass(frozen=True)
class MobileShape:
    """A region's plain mobile shapes, from libphonenumber's metadata (see :func:`mobile_e164`): ``code``, the
    country calling code; ``heads``, the texts that may come before the national digits (``+86``, ``0086``); ``general``,
    ``mobile`` and ``trunk`` (None when the region has none), the region's general, mobile and national-prefix-for-
    parsing patterns."""

    code: int
    heads: tuple[str, ...]
    general: str
    mobile: str
    trunk: str | None


def mobile_shape(region: str) -> MobileShape | None:
    """The region's :class:`MobileShape`, or None when its numbers cannot be settled by shape (no mobile pattern,
    or a calling code shared with other regions, as +1 and +44 are: libphonenumber then decides the region by
    the number)."""
    import re

    import phonenumbers
    code = phonenumbers.country_code_for_region(region)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    mobile = getattr(getattr(meta, "mobile", None), "national_number_pattern", None) if meta else None
    if not code or not mobile or len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())) != 1:
        return None
    heads = [f"+{code}"]
    idd = meta.international_prefix
    if idd and (idd.isdigit() or re.fullmatch(f"(?:{idd})", "00")):   # the common "00" when the region dials it
        heads.append(f"{idd if idd.isdigit() else '00'}{code}")
    return MobileShape(code, tuple(heads), meta.general_desc.national_number_pattern, mobile,
                       meta.national_prefix_for_parsing or None)


def mobile_e164(texts: pd.Series, region: str) -> pd.Series:
    """E.164 for the texts written in the region's plain mobile shapes; None for every other text.

    A text is settled here when, after removing spaces, dashes, dots and brackets, it is
    ``+<code><N>``, ``<international prefix><code><N>``, ``<N>``, or ``<code><N>`` when those digits as a
    whole are no number of the region (libphonenumber then reads the code off), where ``<code>`` is the region's
    country calling code (held by this region alone), ``<N>`` is all ASCII digits, fully matches
    libphonenumber's mobile pattern for the region and does not start with the region's national
    prefix for parsing (a trunk or carrier prefix libphonenumber would strip). For those texts
    libphonenumber's parse, validity test and E.164 format give ``+<code><N>``; the test suite
    checks the equality on every shape the sample writes and on random digit strings. Any other
    text (None here) is left to libphonenumber. Vectorised (pandas string methods), so a million
    numbers take about a second instead of 20 seconds; :func:`mobile_e164_in_engine` is the same rule
    as an engine expression.

    ``texts``: any strings (index kept). Returns an object Series of E.164 strings or None.
    Source of the patterns: the ``phonenumbers`` package's region metadata (Google's libphonenumber).
    """
    import re
    out = pd.Series(None, index=texts.index, dtype=object)
    shape = mobile_shape(region)
    if shape is None or texts.empty:
        return out
    code = shape.code
    compact = texts.astype("string").str.strip().str.replace(r"[\s\-.()]", "", regex=True)
    national = compact.str.extract(rf"^(?:{'|'.join(map(re.escape, shape.heads))})?([0-9]+)$", expand=False)
    code_read_off = compact.str.startswith(str(code)).fillna(False) & ~compact.str.fullmatch(f"(?:{shape.general})").fillna(True)
    national = national.where(~code_read_off, compact.str.slice(len(str(code))))
    ok = national.str.fullmatch(f"(?:{shape.mobile})").fillna(False)
    if shape.trunk:
        ok &= ~national.str.match(f"(?:{shape.trunk})").fillna(False)
    ok = ok.astype(bool)
    out[ok] = ("+" + str(code) + national[ok]).astype(object)
    return out.where(out.notna(), None)


# What the three regular-expression dialects (Python's, RE2 in DuckDB, Java's in Spark) read alike: literals,
# classes, groups (?:...), alternation, counted repeats, \d; a metadata pattern with anything else (a
# look-around, a back reference, a named group) is not sent to the engine.
_PORTABLE_PATTERN = r"^(?:[0-9A-Za-z|()\[\]{},?*+^$-]|\\d|\(\?:)*$"


def mobile_e164_in_engine(t: ibis.Table, column: str, region: str, name: str) -> ibis.Table:
    """``t`` with ``name``: :func:`mobile_e164` in the engine (DuckDB, Spark), the E.164 text of a value of
    ``column`` written in the region's plain mobile shapes, NULL for any other value (which
    :func:`normalise_phones` then reads).

    Only values made of ASCII digits, ``+``, spaces, dashes, dots and brackets are settled, so the three
    dialects of regular expression and Python's Unicode-aware ``strip`` and ``\\s`` cannot read a value
    differently; the rule is :func:`mobile_e164`'s, and the test suite checks the two give the same on
    random digit strings and every shape the sample writes, in seven regions. ``name`` is NULL everywhere
    when :func:`mobile_shape` is None or a pattern is not portable.
    """
    import re
    shape = mobile_shape(region)
    patterns = [] if shape is None else [shape.general, shape.mobile, *([shape.trunk] if shape.trunk else [])]
    if shape is None or not all(re.fullmatch(_PORTABLE_PATTERN, p) for p in patterns):
        return t.mutate(**{name: ibis.null("string")})
    code, col = str(shape.code), t[column]
    # Plain string functions where they say what the rule's expressions say (a regular expression costs the
    # engine far more a value): the value's characters, the separators removed, a head taken off. Each step
    # a column of its own, so the next reads it instead of computing it again.
    written = (col.translate("0123456789+ ().-", "") == "") & (col.length() > 0)
    t = t.mutate(_compact=ibis.cases((written, col.translate(" ().-", "")), else_=ibis.null("string")))
    compact = t._compact
    # ^(?:<heads>)?([0-9]+)$: a head is taken when digits follow it, else the whole text must be digits
    national = ibis.cases(*[(compact.startswith(h) & (compact.length() > len(h))
                             & (compact.substr(len(h)).translate("0123456789", "") == ""), compact.substr(len(h)))
                            for h in shape.heads],
                          ((compact.translate("0123456789", "") == "") & (compact.length() > 0), compact),
                          else_=ibis.null("string"))
    code_read_off = compact.startswith(code) & ~compact.re_search(f"^(?:{shape.general})$")
    t = t.mutate(_national=ibis.cases((code_read_off, compact.substr(len(code))), else_=national))
    national = t._national
    e164 = ibis.cases((national.re_search(f"^(?:{shape.mobile})$"), "+" + code + national), else_=ibis.null("string"))
    if shape.trunk:
        e164 = ibis.cases((national.re_search(f"^(?:{shape.trunk})"), ibis.null("string")), else_=e164)
    return t.mutate(**{name: e164}).drop("_compact", "_national")


PARALLEL_PHONES = 100_000   # distinct phone texts from which the parsing is spread over the cores


def _e164_all(texts: list, region: str) -> list[str | None]:
    """Each text as E.164, or None when empty or not a valid number (libphonenumber)."""
    import phonenumbers
    out = []
    for text in texts:
        if text is None or not str(text).strip():
            out.append(None)
            continue
        try:
            n = phonenumbers.parse(str(text), region)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        out.append(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
                   if phonenumbers.is_valid_number(n) else None)
    return out


def mask_e164(col: ibis.Value) -> ibis.Value:
    """``+8613812345678`` -> ``+86138****5678``: the country code and the first digits stay, four are hidden."""
    n = col.length()
    return ibis.ifelse(col.isnull() | (n < 9), ibis.null("string"), col.substr(0, n - 8) + "****" + col.substr(n - 4))


def mask_member_id(member_id) -> str:
    """A member id as a page may show it, masked by the rule of :func:`mask_e164`: the characters
    before the last eight stay, the next four are hidden, the last four stay. An id of eight
    characters or fewer keeps at most half of itself, at the end (``U1000001`` -> ``****0001``,
    ``14646`` -> ``****46``); an E.164 phone reads as :func:`mask_e164` writes it
    (``+8613812345678`` -> ``+86138****5678``).

    ``member_id``: any value; it is read as text. Returns text; never raises.
    """
    text = str(member_id)
    n = len(text)
    tail = min(4, n // 2)
    return text[:max(0, n - 8)] + "****" + (text[n - tail:] if tail else "")


def resolve_identities(accounts: pd.DataFrame, max_accounts_per_phone: int) -> tuple[pd.DataFrame, IdentityReport]:
    """Link accounts into people.

    Parameters
    ----------
    accounts : one row per valid account: ``member`` (id), ``jd`` (join date or NaT),
        ``phone_e164`` (or None), ``person_id`` (or None) and ``person_source``
        (``"person_id"`` for a column of the export, ``"mapping"`` for the accounts table)
    max_accounts_per_phone : a phone held by more accounts than this links nobody

    Returns
    -------
    (frame with ``member``, ``canonical`` (the id the account is merged into; itself when not
    merged) and ``rule`` (how it was linked, None when not merged), :class:`IdentityReport`)
    """
    acc = accounts.reset_index(drop=True)
    n = len(acc)
    rep = IdentityReport(max_accounts_per_phone=max_accounts_per_phone)
    if n == 0:
        return pd.DataFrame({"member": [], "canonical": [], "rule": []}), rep
    phone_sizes = acc.groupby("phone_e164").member.nunique()
    shared = phone_sizes[phone_sizes > max_accounts_per_phone]
    rep.shared_phones = int(len(shared))
    rep.shared_phone_accounts = int(acc.phone_e164.isin(shared.index).sum())
    phone = acc.phone_e164.where(~acc.phone_e164.isin(shared.index))
    keys = pd.concat([("p:" + acc.person_id.dropna().astype(str)), ("t:" + phone.dropna().astype(str))])
    if keys.empty:
        return pd.DataFrame({"member": acc.member, "canonical": acc.member, "rule": None}), rep
    codes, uniques = pd.factorize(keys)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    size = n + len(uniques)
    rows, cols = keys.index.to_numpy(), n + codes
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    acc = acc.assign(_component=component[:n], _missing_jd=acc.jd.isna())
    first = acc.sort_values(["_missing_jd", "jd", "member"], kind="stable").groupby("_component").member.first()
    acc["canonical"] = acc._component.map(first)
    merged = acc.canonical != acc.member
    # The rule that links an account: its person id shared within the component, else its phone.
    person_shared = acc.person_id.notna() & (acc.groupby(["_component", "person_id"]).member.transform("size") > 1)
    source = acc.person_source.fillna("person_id")
    acc["rule"] = np.where(~merged, None, np.where(person_shared, source, "phone"))
    rep.merged_ids = int(merged.sum())
    rep.people = int(acc.loc[merged, "canonical"].nunique())
    rep.by_rule = {r: int((acc.rule == r).sum()) for r in IDENTITY_RULES if (acc.rule == r).any()}
    return acc[["member", "canonical", "rule"]], rep
