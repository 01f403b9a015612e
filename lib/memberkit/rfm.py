"""RFM segmentation, member tiers, lifecycle stages and segment migration (member-scale, pandas;
the same member tables as engine expressions, :func:`scored_members`).

The input is :func:`memberkit.summary.member_summary` (one row per member, computed in the
engine; :func:`member_tables_at` reads several dates from one query). Two schemes, both rule
tables in ``reference/rfm_segments.yaml``:

- ``high_low``: R, F and M each high or low against a split (mean by default, or median);
  high R means recent. Eight segments (重要价值客户 ...).
- ``score_grid``: R, F and M scored 1-5 from quantiles; the R x F cell picks one of ten segments.

Scoring is tie-safe: a score is ``1 + the number of quantile cut points the value exceeds``,
so equal values always get equal scores, whatever the row order. (``pd.qcut`` fails on the
repeated cut points that a heavily tied F produces, and ranking "first" splits equal members
arbitrarily.) With heavy ties some scores stay empty, which is the honest result.

Example
-------
>>> import pandas as pd
>>> quantile_scores(pd.Series([1, 1, 1, 1, 2, 3, 5, 8]), 5).tolist()
[1, 1, 1, 1, 3, 4, 5, 5]
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib.resources import files
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import yaml

from . import engine
from .languages import LANGUAGES
from .report import plain

DIMENSIONS = {"r": "recency_days", "f": "frequency", "m": "monetary"}
TIER_ORDER = ("普通", "银卡", "金卡", "钻石")
STAGES = ("new", "active", "silent", "lapsed", "no_purchase")
#: Lifecycle stage codes of months published before a rename -> the code now ('churned' read as the month's
#: churn rate, a key figure; the stage is lapsed, DOMAIN.md).
STAGES_FORMERLY = {"churned": "lapsed"}


def current_stage(code):
    """A lifecycle stage ``code`` as it is named now (:data:`STAGES_FORMERLY`); any other value as is.

    >>> current_stage("churned"), current_stage("silent")
    ('lapsed', 'silent')
    """
    return STAGES_FORMERLY.get(code, code)
OUTSIDE = "(none)"   # migration: not in the segmented population in that period


# ------------------------------------------------------------------ the rule tables
@dataclass(frozen=True)
class Segment:
    key: str
    when: dict
    label: dict
    action: dict
    short: dict   # the action as a table cell shows it, in a few words; ``action`` says it in full
    formerly: str | None = None   # the code the segment had in months published before its rename


@dataclass(frozen=True)
class Scheme:
    """One rule table: conditions on scores (or high/low flags) -> segment, with labels and actions."""

    name: str
    dimensions: tuple[str, ...]
    segments: tuple[Segment, ...]

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.segments]

    def segment(self, key: str) -> Segment:
        return next(s for s in self.segments if s.key == key)

    def label(self, key: str, language: str = "en") -> str:
        return OUTSIDE if key == OUTSIDE else self.segment(key).label[language]

    def action(self, key: str, language: str = "en") -> str:
        return self.segment(key).action[language]

    def short_action(self, key: str, language: str = "en") -> str:
        """The action in a few words, for a table cell (two lines at most at 1280 px); :meth:`action` in full."""
        return self.segment(key).short[language]

    def current(self, code):
        """``code`` as this scheme names it now: a segment's former code (``formerly`` in the rule table,
        as months published before a rename carry it) becomes its key; any other value is returned as is.

        >>> schemes()["high_low"].current("important_lapsing")
        'important_lapsing'
        """
        return next((s.key for s in self.segments if s.formerly is not None and s.formerly == code), code)

    def domain(self) -> dict[str, list]:
        """Every value each dimension can take."""
        first = self.segments[0].when
        return {d: list(range(1, 6)) if isinstance(first[d], list) else ["high", "low"] for d in self.dimensions}

    @staticmethod
    def _matches(cond, value) -> bool:
        if isinstance(cond, list):
            return cond[0] <= value <= cond[1]
        return cond == value

    def matching(self, cell: dict) -> list[str]:
        """The segments whose rule covers one combination of values (a partition gives exactly one)."""
        return [s.key for s in self.segments if all(self._matches(s.when[d], cell[d]) for d in self.dimensions)]

    def lookup(self) -> dict[tuple, str]:
        """Every combination of values -> its segment; fails if the table is not a total partition."""
        dom = self.domain()
        out = {}
        for combo in itertools.product(*(dom[d] for d in self.dimensions)):
            hits = self.matching(dict(zip(self.dimensions, combo)))
            if len(hits) != 1:
                raise ValueError(f"scheme {self.name}: {dict(zip(self.dimensions, combo))} matches {hits or 'no segment'}")
            out[combo] = hits[0]
        unreachable = set(self.keys) - set(out.values())
        if unreachable:
            raise ValueError(f"scheme {self.name}: segments {sorted(unreachable)} can never be reached")
        return out


@lru_cache(maxsize=1)
def outside_window() -> Segment:
    """How a list names a member with no order in the analysis window, outside both schemes
    (``high_low.outside`` of ``reference/rfm_segments.yaml``): its code, labels and action."""
    raw = yaml.safe_load(files("memberkit").joinpath("reference/rfm_segments.yaml").read_text(encoding="utf-8"))
    return Segment(when={}, **raw["high_low"]["outside"])


@lru_cache(maxsize=1)
def schemes() -> dict[str, Scheme]:
    raw = yaml.safe_load(files("memberkit").joinpath("reference/rfm_segments.yaml").read_text(encoding="utf-8"))
    return {name: Scheme(name, tuple(s["dimensions"]), tuple(Segment(**seg) for seg in s["segments"]))
            for name, s in raw.items()}


# ------------------------------------------------------------------ scoring
def quantile_scores(values: pd.Series, n: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..n: one plus the number of quantile cut points (k/n, k = 1..n-1) the value exceeds.

    For a dimension where lower is better (recency) the value is negated first, so the most
    recent members score highest. Equal values always get equal scores.
    """
    x = values.astype(float) if higher_is_better else -values.astype(float)
    return pd.Series(scores_from_cuts(x, score_cut_points(x, n)), index=values.index, dtype="int64")


def scores_from_cuts(x: pd.Series, cuts: list[float]) -> np.ndarray:
    """1 + the number of cut points each value exceeds."""
    return 1 + (x.to_numpy(dtype=float)[:, None] > np.asarray(cuts)[None, :]).sum(axis=1)


def score_cut_points(x: pd.Series, n: int = 5) -> list[float]:
    if len(x) == 0:
        return [np.inf] * (n - 1)
    return [float(np.quantile(x.to_numpy(dtype=float), k / n)) for k in range(1, n)]


def split_value(values: pd.Series, how: str = "mean") -> float:
    if how not in ("mean", "median"):
        raise ValueError(f"split must be 'mean' or 'median', not {how!r}")
    return float(values.mean() if how == "mean" else values.median())


class RFMSegmenter:
    """Scores and segments members by both schemes.

    ``fit`` learns the split values (``splits_``) and score cut points (``thresholds_``) of one
    period's members; ``transform`` adds, per member: ``r_high``/``f_high``/``m_high``,
    ``r_score``/``f_score``/``m_score``, ``segment`` (high_low key) and ``grid_segment`` (score_grid key).

    Example
    -------
    >>> rfm = pd.DataFrame({"member_id": list("abcd"), "recency_days": [5, 200, 30, 300],
    ...                     "frequency": [6, 1, 2, 1], "monetary": [900.0, 50.0, 400.0, 80.0]})
    >>> RFMSegmenter().fit_transform(rfm).segment.tolist()
    ['important_value', 'general_at_risk', 'important_develop', 'general_at_risk']
    """

    def __init__(self, split: str = "mean", n_scores: int = 5):
        self.split = split
        self.n_scores = n_scores

    def fit(self, rfm: pd.DataFrame) -> "RFMSegmenter":
        split_value(pd.Series([0.0]), self.split)   # reject a bad setting before any work
        self.splits_ = {d: split_value(rfm[col], self.split) for d, col in DIMENSIONS.items()}
        self.thresholds_ = {d: score_cut_points(rfm[col].astype(float) if d != "r" else -rfm[col].astype(float),
                                                self.n_scores) for d, col in DIMENSIONS.items()}
        return self

    def transform(self, rfm: pd.DataFrame) -> pd.DataFrame:
        out = rfm.copy()
        # R is "high" (good) when recent: below the split. F and M are high above it.
        out["r_high"] = out.recency_days < self.splits_["r"]
        out["f_high"] = out.frequency > self.splits_["f"]
        out["m_high"] = out.monetary > self.splits_["m"]
        for d, col in DIMENSIONS.items():
            x = out[col].astype(float) if d != "r" else -out[col].astype(float)
            out[f"{d}_score"] = scores_from_cuts(x, self.thresholds_[d])
        # each member's combination as a position in a table of every combination's segment
        hl, grid = schemes()["high_low"].lookup(), schemes()["score_grid"].lookup()
        flags = ("low", "high")
        by_flags = np.array([hl[(flags[r], flags[f], flags[m])] for r in (0, 1) for f in (0, 1) for m in (0, 1)],
                            dtype=object)
        n = self.n_scores
        by_scores = np.array([grid[(r, f)] for r in range(1, n + 1) for f in range(1, n + 1)], dtype=object)
        high = [out[f"{d}_high"].to_numpy(dtype=bool).astype(np.int64) for d in ("r", "f", "m")]
        out["segment"] = list(by_flags[high[0] * 4 + high[1] * 2 + high[2]])
        out["grid_segment"] = list(by_scores[(out.r_score.to_numpy(dtype=np.int64) - 1) * n
                                             + out.f_score.to_numpy(dtype=np.int64) - 1])
        return out

    def fit_transform(self, rfm: pd.DataFrame) -> pd.DataFrame:
        return self.fit(rfm).transform(rfm)


# ------------------------------------------------------------------ tiers and lifecycle
def assign_tiers(spend: pd.Series, thresholds: dict[str, float], base: str = "普通") -> pd.Series:
    """Tier by spend: the highest tier whose threshold the spend reaches (``base`` below every threshold).

    Tier names are the shop's own (any text); thresholds are amounts in the shop's currency.

    Example
    -------
    >>> assign_tiers(pd.Series([0, 1999.99, 2000, 25000]), {"银卡": 2000, "金卡": 8000, "钻石": 20000}).tolist()
    ['普通', '普通', '银卡', '钻石']
    >>> assign_tiers(pd.Series([10, 250]), {"Silver": 100, "Gold": 500}, base="Member").tolist()
    ['Member', 'Silver']
    """
    order = sorted(thresholds.items(), key=lambda kv: kv[1])
    names = [base] + [k for k, _ in order]
    cuts = np.array([v for _, v in order], dtype=float)
    idx = np.searchsorted(cuts, spend.fillna(0).to_numpy(dtype=float), side="right")
    return pd.Series(pd.Categorical(np.array(names)[idx], categories=names, ordered=True), index=spend.index)


def lifecycle_stages(members: pd.DataFrame, end: _dt.date, new_days: int = 90, silent_days: int = 90,
                     churned_days: int = 180) -> pd.Series:
    """new (first purchase fewer than ``new_days`` ago), active (last purchase fewer than
    ``silent_days`` ago), silent (``silent_days`` to ``churned_days``), lapsed (more; DOMAIN.md's stage,
    not the month's churn rate), and no_purchase for members who have never bought.

    ``members`` needs first_order_date and recency_days (NaN for members without a purchase).

    Example
    -------
    >>> m = pd.DataFrame({"first_order_date": pd.to_datetime(["2026-10-01", "2025-01-01", "2025-01-01", "2025-01-01", None]),
    ...                   "recency_days": [5, 30, 120, 400, None]})
    >>> lifecycle_stages(m, _dt.date(2026, 10, 31)).tolist()
    ['new', 'active', 'silent', 'lapsed', 'no_purchase']
    """
    if not 0 < silent_days <= churned_days:
        raise ValueError("lifecycle days must satisfy 0 < silent_days <= churned_days")
    since_first = (pd.Timestamp(end) - pd.to_datetime(members.first_order_date)).dt.days
    r = members.recency_days
    stage = np.select([r.isna(), since_first < new_days, r < silent_days, r <= churned_days],
                      ["no_purchase", "new", "active", "silent"], default="lapsed")
    return pd.Series(pd.Categorical(stage, categories=STAGES, ordered=True), index=members.index)


# ------------------------------------------------------------------ the member table
def member_table(summary: pd.DataFrame, members: pd.DataFrame, end: _dt.date, *, segmenter: RFMSegmenter,
                 tier_thresholds: dict[str, float], new_days: int = 90, silent_days: int = 90,
                 churned_days: int = 180, base_tier: str = "普通") -> pd.DataFrame:
    """Every member who had joined (or bought) by ``end``, with tier and stage; buyers in the window
    (frequency >= 1) are also scored and segmented, the others have an empty segment.

    ``segmenter`` is fitted here on this period's buyers.
    """
    from .calls import record_call
    record_call("member_table", end=end, split=segmenter.split,
                tier_thresholds=tier_thresholds, new_days=new_days, silent_days=silent_days, churned_days=churned_days)
    base = _joined(summary, members, end)
    buyers = _buyers(base[list(_FIT_COLUMNS)])   # the columns the fit and the scores read: no copy of the others
    segmenter.fit(buyers)
    return _scored_base(base, buyers, end, segmenter=segmenter, tier_thresholds=tier_thresholds, new_days=new_days,
                        silent_days=silent_days, churned_days=churned_days, base_tier=base_tier)


def _joined(summary: pd.DataFrame, members: pd.DataFrame, end: _dt.date) -> pd.DataFrame:
    """The members who had joined by ``end`` (their region and channel) with the summary's buyers, by member id."""
    joined = members[pd.to_datetime(members.join_date) <= pd.Timestamp(end)]
    return joined[[c for c in ("member_id", "region", "channel") if c in joined]].merge(summary, on="member_id",
                                                                                       how="outer")


def _buyers(base: pd.DataFrame) -> pd.DataFrame:
    return base[base.frequency.fillna(0) >= 1]


def _scored_base(base: pd.DataFrame, buyers: pd.DataFrame, end: _dt.date, *, segmenter: RFMSegmenter, tier_thresholds: dict[str, float],
                 new_days: int, silent_days: int, churned_days: int, base_tier: str) -> pd.DataFrame:
    """:func:`member_table` of the rows of :func:`_joined` (``buyers``: its rows with a purchase in the window)
    with ``segmenter`` already fitted."""
    scored = segmenter.transform(buyers[list(_FIT_COLUMNS)])   # the columns it reads: no copy of the others
    keep = ["member_id", "r_high", "f_high", "m_high", "r_score", "f_score", "m_score", "segment", "grid_segment"]
    # the buyers are rows of ``base`` (same index): their scores join by index, not by a second key merge
    out = base.join(scored[[c for c in keep[1:] if c in scored]], how="left")
    out = out.astype({"r_high": "boolean", "f_high": "boolean", "m_high": "boolean",
                      "r_score": "Int64", "f_score": "Int64", "m_score": "Int64"})
    out["monetary"] = out.monetary.fillna(0.0)
    out["frequency"] = out.frequency.fillna(0).astype("int64")
    out["tier"] = assign_tiers(out.monetary, tier_thresholds, base_tier)
    out["stage"] = lifecycle_stages(out, end, new_days, silent_days, churned_days)
    if not out.member_id.is_monotonic_increasing:   # the outer merge of _joined orders them already
        out = out.sort_values("member_id", kind="stable")
    return out.reset_index(drop=True)


def segmented(table: pd.DataFrame) -> pd.DataFrame:
    """The members in the RFM population (a purchase in the analysis window)."""
    return table[table.segment.notna()]


# ------------------------------------------------------------------ profiles
def segment_profile(table: pd.DataFrame, scheme: str = "high_low") -> pd.DataFrame:
    """Per segment key (the scheme's order): members, share, revenue, revenue share, mean R/F/M and AOV.

    AOV is the segment's revenue / its orders (not the mean of members' AOVs).
    """
    col = "segment" if scheme == "high_low" else "grid_segment"
    s = segmented(table)
    sch = schemes()[scheme]
    g = s.groupby(col).agg(members=("member_id", "size"), revenue=("monetary", "sum"), orders=("frequency", "sum"),
                           mean_r=("recency_days", "mean"), mean_f=("frequency", "mean"), mean_m=("monetary", "mean"))
    g = g.reindex(sch.keys).fillna({"members": 0, "revenue": 0.0, "orders": 0})
    g["share"] = g.members / g.members.sum() if g.members.sum() else np.nan
    total = g.revenue.sum()
    g["revenue_share"] = g.revenue / total if total else np.nan
    g["aov"] = g.revenue / g.orders.where(g.orders > 0)
    g.index.name = "segment"
    g["members"] = g.members.astype("int64")
    return g[["members", "share", "revenue", "revenue_share", "mean_r", "mean_f", "mean_m", "aov"]]


def rf_grid(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean M and member count for each R score (rows, 5 = most recent) x F score (columns)."""
    s = segmented(table)
    mean_m = s.pivot_table(index="r_score", columns="f_score", values="monetary", aggfunc="mean")
    count = s.pivot_table(index="r_score", columns="f_score", values="member_id", aggfunc="size")
    scores = range(5, 0, -1)
    return mean_m.reindex(index=scores, columns=range(1, 6)), count.reindex(index=scores, columns=range(1, 6)).fillna(0)


def region_profile(table: pd.DataFrame, established_orders: int = 3, lapsed_stage: str = "lapsed") -> pd.DataFrame:
    """Per region: the bubble chart's means of R, F, M over the RFM population, and the risk figures.

    ``established_lost_rate`` is the share of the region's established members (``established_orders``
    or more purchases ever) who have lapsed (stage ``lapsed_stage``: no purchase for more than ``churned_days``). Restricting
    to members with a purchase habit keeps slow but loyal buyers from looking lost: a plain
    inactivity rate ranks a region of infrequent buyers as "churning" even when few have left.
    """
    s = segmented(table)
    g = s.groupby("region").agg(members=("member_id", "size"), mean_r=("recency_days", "mean"),
                                mean_f=("frequency", "mean"), mean_m=("monetary", "mean"),
                                revenue=("monetary", "sum"))
    est = table[table.orders_total.fillna(0) >= established_orders]
    est = est.assign(lost=(est.stage.astype(str) == lapsed_stage).astype("int64"))
    risk = est.groupby("region").agg(established=("member_id", "size"), established_lost=("lost", "sum"))
    g = g.join(risk, how="outer").fillna({"established": 0, "established_lost": 0})
    g["established_lost_rate"] = g.established_lost / g.established.where(g.established > 0)
    return g.sort_values(["revenue", "region"], ascending=[False, True], kind="stable")


REGION_MIN_MEMBERS = 30   # a region's loss rate is compared only with at least this many established members


def _comparable_regions(regions: pd.DataFrame, min_members: int) -> pd.DataFrame:
    r = regions.dropna(subset=["established_lost_rate"])
    return r[r.established >= min_members]


def most_at_risk_region(regions: pd.DataFrame, min_members: int = REGION_MIN_MEMBERS) -> str | None:
    """The region losing the largest share of its established members (at least ``min_members`` of them).

    ``regions`` is :func:`region_profile`'s frame (index: region; columns ``established`` and
    ``established_lost_rate``, a fraction). None when no region has ``min_members`` established members.
    """
    r = _comparable_regions(regions, min_members)
    return None if r.empty else str(r.established_lost_rate.idxmax())


def safest_region(regions: pd.DataFrame, min_members: int = REGION_MIN_MEMBERS) -> str | None:
    """The region losing the smallest share of its established members, other than :func:`most_at_risk_region`.

    Same frame and threshold as :func:`most_at_risk_region`; None when fewer than two regions have
    ``min_members`` established members (there is nothing to compare the riskiest one with).
    """
    worst = most_at_risk_region(regions, min_members)
    r = _comparable_regions(regions, min_members).drop(index=worst, errors="ignore") if worst else None
    return None if r is None or r.empty else str(r.established_lost_rate.idxmin())


def migration_matrix(previous: pd.Series, current: pd.Series, keys: list[str]) -> pd.DataFrame:
    """Members by segment in the previous period (rows) and this period (columns).

    ``previous`` and ``current`` map member_id -> segment for each period's segmented members;
    a member in only one of them is counted under "(none)" in the other, so the matrix adds up
    to every member of both periods.
    """
    both = pd.concat([previous.rename("previous"), current.rename("current")], axis=1)
    both = both.fillna(OUTSIDE)
    order = [*keys, OUTSIDE]
    m = pd.crosstab(both.previous, both.current).reindex(index=order, columns=order, fill_value=0)
    m.loc[OUTSIDE, OUTSIDE] = 0
    return m


def members_in_both(matrix: pd.DataFrame) -> int:
    """Members segmented in both periods of a :func:`migration_matrix`: its total without the "(none)" row and column."""
    keys = [k for k in matrix.index if k != OUTSIDE]
    return int(matrix.loc[keys, [k for k in matrix.columns if k != OUTSIDE]].to_numpy().sum())


def main_flows(matrix: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """The ``top`` largest moves between different segments (staying put is not a flow): columns
    from, to, members (count). Equal moves keep the matrix's order (rows, then columns)."""
    flows = matrix.stack().rename("members").reset_index()
    flows.columns = ["from", "to", "members"]
    flows["_cell"] = np.arange(len(flows))
    flows = flows[(flows["from"] != flows["to"]) & (flows.members > 0)]
    flows = flows.sort_values(["members", "_cell"], ascending=[False, True], kind="stable")
    return flows.drop(columns="_cell").head(top).reset_index(drop=True)


# ------------------------------------------------------------------ exports
def _per_language(*names: str) -> list[str]:
    return [f"{name}_{language}" for name in names for language in LANGUAGES]


EXPORT_COLUMNS = ["member_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
                  "segment", *_per_language("segment_label"), "grid_segment", *_per_language("grid_segment_label"),
                  "tier", *_per_language("tier_label"), "stage", *_per_language("stage_label"), *_per_language("action")]


def label_codes(codes: pd.Series, words: dict[str, str]) -> pd.Series:
    """Each code's label from ``words`` (code -> label), the code itself where ``words`` has none; empty stays
    empty. The one rule of the CRM files' ``*_label_<language>`` columns for codes the shop may name."""
    return codes.astype("object").map(lambda k: words.get(k, k), na_action="ignore")


def list_column_names(window_days: int, currency: str) -> dict[str, str]:
    """The member table's windowed columns as the CRM lists name them, each with its window:
    ``frequency`` -> ``frequency_last_<window_days>_days`` (orders in the RFM window) and ``monetary`` ->
    ``monetary_last_<window_days>_days_<currency>`` (net spend in it, in the shop's ISO 4217 ``currency``, lower
    case, as the CLV files name their amounts), beside ``recency_days``.
    Raises ``ValueError`` for a window below one day."""
    if int(window_days) < 1:
        raise ValueError(f"window_days must be at least 1, not {window_days!r}")
    return {"frequency": f"frequency_last_{int(window_days)}_days",
            "monetary": f"monetary_last_{int(window_days)}_days_{str(currency).lower()}"}


def export_segment_lists(table: pd.DataFrame, folder: str | Path,
                         stage_labels: dict[str, dict[str, str]] | None = None,
                         tier_labels: dict[str, dict[str, str]] | None = None, *, window_days: int,
                         currency: str) -> dict[str, Path]:
    """One CSV per high/low segment for the CRM team (member id, scores, segment, tier, stage, action);
    frequency and monetary value carry the RFM window (``window_days``, the report's setting) in their
    names, and monetary value the shop's ``currency`` (:func:`list_column_names`), so a list is not read as
    all-time spend nor its amounts as of another currency.

    The files are the same whichever language the report runs in: each code (segment, score-grid
    segment, stage) is followed by its label in every language (``segment_label_en``,
    ``segment_label_zh``, ...), and the segment's action in every language (``action_en``,
    ``action_zh``), from the rule table the pages use (``reference/rfm_segments.yaml``).
    ``stage_labels`` maps a language to its stage code -> label (the view's catalogue:
    'lapsed (180+ days)'; :func:`memberkit.views.rfm.list_stage_labels`); without a
    language's entry the label is the code. ``tier_labels`` likewise maps a language to its tier -> label
    (:func:`memberkit.views.rfm.list_tier_labels`: 银卡 -> Silver); a tier without one is labelled with its
    name, the shop's own word, which is also the ``tier`` column (the tier's id).

    Files are UTF-8 with a byte-order mark so that spreadsheet programs show Chinese labels. Only
    the member id identifies a member: no names, phones or other personal data.
    """
    from .clv import _write_csv      # to_csv's bytes, written faster
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hl, grid = schemes()["high_low"], schemes()["score_grid"]
    s = segmented(table).copy()
    stage = s.stage.astype("string")
    for language in LANGUAGES:
        words = (stage_labels or {}).get(language, {})
        s[f"segment_label_{language}"] = s.segment.map({k: hl.label(k, language) for k in hl.keys})
        s[f"grid_segment_label_{language}"] = s.grid_segment.map({k: grid.label(k, language) for k in grid.keys})
        s[f"stage_label_{language}"] = stage.map(lambda k, w=words: w.get(k, k), na_action="ignore")
        s[f"tier_label_{language}"] = label_codes(s.tier, (tier_labels or {}).get(language, {}))
        s[f"action_{language}"] = s.segment.map({k: hl.action(k, language) for k in hl.keys})
    paths = {}
    for key in hl.keys:
        path = folder / f"rfm_{key}.csv"
        _write_csv(s.loc[s.segment == key, EXPORT_COLUMNS]
                   .sort_values(["monetary", "member_id"], ascending=[False, True], kind="stable")
                   .rename(columns=list_column_names(window_days, currency)), path)
        paths[key] = path
    return paths


# ------------------------------------------------------------------ the whole analysis of one period
@dataclass
class RFMAnalysis:
    """Everything the RFM report shows for one period (member-scale frames only)."""

    period: str
    end: _dt.date
    window_days: int
    table: pd.DataFrame            # every member: R, F, M, scores, segments, tier, stage
    segmenter: RFMSegmenter
    profile: pd.DataFrame          # high/low scheme
    grid_profile: pd.DataFrame     # score grid scheme
    regions: pd.DataFrame
    migration: pd.DataFrame
    figures: pd.DataFrame          # key figures: current, previous, year ago
    trend: pd.DataFrame
    cohorts: pd.DataFrame
    # derived tables the page shows, computed once by analyse()
    grid_mean_m: pd.DataFrame = field(default_factory=pd.DataFrame)   # R score (rows, 5 first) x F score: mean M
    grid_count: pd.DataFrame = field(default_factory=pd.DataFrame)    # the same grid: members
    tiers: pd.DataFrame = field(default_factory=pd.DataFrame)         # per tier: members, revenue, revenue share
    stages: pd.DataFrame = field(default_factory=pd.DataFrame)        # per lifecycle stage: members, share
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)         # the largest moves between segments
    stayed_share: float = np.nan        # of the members segmented last period, the share in the same segment now
    region_at_risk: str | None = None   # most_at_risk_region(regions)
    dominant: dict = field(default_factory=dict)   # dominant_members(table, share): members above the share
    region_safest: str | None = None    # safest_region(regions)
    #: member revenue's change against the previous month and a year earlier by tier and segment, each
    #: taken at its month's own end (:func:`memberkit.attribution.member_group_split`); None where the
    #: earlier month is before the orders begin
    revenue_change_groups: dict = field(default_factory=dict)
    lapsed_days: int = 180   # the lifecycle's day count past which a member has lapsed (churned_days)
    #: computes the previous month's member table; the report reads only the migration, counted in the engine
    previous_at: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)

    @cached_property
    def previous_table(self) -> pd.DataFrame:
        """The same table for the previous month's end (:func:`member_table_at`), computed when first read."""
        return self.previous_at()

    @property
    def buyers(self) -> int:
        return int(self.table.segment.notna().sum())


def member_profile(members: ibis.Table) -> pd.DataFrame:
    """Each member's join date, region and channel from the clean members table, in member_id order.

    The ``members`` argument of :func:`member_table_at` and :func:`member_tables_at`: one row per
    member (member_id, join_date, region, channel).
    """
    from .summary import member_frame
    return member_frame(members.select("member_id", "join_date", "region", "channel"))


def member_table_at(orders, members: pd.DataFrame, end: _dt.date, params) -> tuple[pd.DataFrame, RFMSegmenter]:
    """:func:`member_table` for the period ending ``end``: the per-member summary runs in the engine."""
    from .summary import member_frame, member_summary
    return _scored(member_frame(member_summary(orders, end, params.window_days)), members, end, params)


def member_tables_at(orders: ibis.Table, members: pd.DataFrame, ends: Iterable[_dt.date],
                     params) -> dict[_dt.date, tuple[pd.DataFrame, RFMSegmenter]]:
    """:func:`member_table_at` at each of several end dates, with one engine query for all of them.

    ``orders`` is the clean order log (engine table), ``members`` :func:`member_profile`'s frame,
    ``ends`` dates (repeats count once) and ``params`` the RFM report's settings (``window_days``,
    ``split``, tier thresholds in the shop's currency, lifecycle days). Returns, per end date (the
    keys are the dates as given), the member table of that date (one row per member who had
    joined or bought by then, in member_id order: recency in days, frequency, monetary value,
    scores, segment, tier, stage, region, channel, ...) and the :class:`RFMSegmenter` fitted on
    that date's buyers. Each date's table equals :func:`member_table_at`'s for that date.

    Raises ``ValueError`` when ``ends`` is empty, or when ``params`` hold an unknown split or
    lifecycle days out of order.
    """
    from .summary import member_summaries
    days = sorted(set(ends))
    summaries = member_summaries(orders, days, params.window_days).to_pandas()
    out = {}
    for end in days:
        summary = summaries[summaries.end == pd.Timestamp(end)].drop(columns="end")
        summary = summary.sort_values("member_id", kind="stable").reset_index(drop=True)
        out[end] = _scored(summary, members, end, params)
    return out


def _scored(summary: pd.DataFrame, members: pd.DataFrame, end: _dt.date, params) -> tuple[pd.DataFrame, RFMSegmenter]:
    """:func:`member_table` of one date's summary with the RFM settings ``params``, and its fitted segmenter."""
    segmenter = RFMSegmenter(params.split)
    table = member_table(summary, members, end, segmenter=segmenter, tier_thresholds=params.tier_thresholds,
                         new_days=params.new_days, silent_days=params.silent_days, churned_days=params.churned_days,
                         base_tier=params.base_tier)
    return table, segmenter


@dataclass
class MemberRows:
    """Some members' rows of the member table at one date (:func:`member_rows_at`).

    ``table``: those rows, equal to the whole table's; ``segmenter``: fitted on every buyer at that date,
    as for the whole table; ``rows``: how many rows the whole table has (every member who had joined or
    bought by then); ``totals``: ``orders_total`` and ``revenue_total`` of each of its members with a
    purchase by then (the others have none), in member id order, without ids: what a statistic over the
    whole table of those two columns needs (:func:`memberkit.uplift.member_features`' order value).
    """

    table: pd.DataFrame
    segmenter: RFMSegmenter
    rows: int
    totals: pd.DataFrame


#: the member summary's columns the segmenter's fit and the lifecycle stage read, and the two in ``totals``
_FIT_COLUMNS = ("recency_days", "frequency", "monetary")
_ALWAYS = ("first_order_date", *_FIT_COLUMNS, "orders_total", "revenue_total")


def member_rows_at(orders: ibis.Table, members: ibis.Table, wanted: Mapping[_dt.date, Iterable],
                   params, columns: Sequence[str] | None = None) -> dict[_dt.date, MemberRows]:
    """The rows of :func:`member_tables_at`'s member tables for the members a report reads, at each date.

    ``orders`` and ``members`` are the clean engine tables; ``wanted`` maps each end date to the member
    ids (the tables' member id type; repeats count once) whose rows are wanted at that date; ``params``
    are the RFM report's settings; ``columns``: the member table's columns to return, in that order
    (None: all of them, in the table's order). Returns, per end date (keys as given), a
    :class:`MemberRows` whose ``table`` equals the whole member table of that date restricted to the
    wanted members (in member id order, index 0..k-1, the same dtypes) and whose ``segmenter`` equals
    the one fitted there.

    The segmenter is still fitted on every buyer at that date (the split's mean sums the buyers in member
    id order, as the whole table's outer merge does), from the engine's per-member recency, frequency
    and monetary value alone, fetched without member ids. Only the wanted members' rows of the summary
    and of the profile (region, channel, join date) are fetched, by a semi-join in the engine, and only
    they are scored, tiered and staged: pandas never holds the whole table's wide rows. The whole table's
    row count per date (one small query on ``members``) decides the columns' dtypes as in the whole table
    (recency in days and orders to date are float64 there when some member who had joined has no purchase).

    A wanted member with no row in the whole table (an unknown id, or a member who had neither joined nor
    bought by that date) has no row here either. Member ids are taken as unique in ``members`` (the clean
    table's). Five engine queries for all dates: the order log is aggregated once (the per-member summary
    of :func:`memberkit.summary.member_summaries`), cached in the engine for its two reads. The method
    (scores, rule tables, tiers, stages) is :func:`member_table`'s.

    Raises ``ValueError`` when ``wanted`` is empty, for an unknown split or lifecycle days out of
    order, and ``KeyError`` for a column the member table does not have.
    """
    from .summary import member_frame, member_summaries
    days = sorted(set(wanted))
    if not days:
        raise ValueError("member_rows_at needs at least one end date")
    split_value(pd.Series([0.0]), params.split)
    lifecycle_stages(pd.DataFrame({"first_order_date": pd.Series([], dtype="datetime64[ns]"), "recency_days": []}),
                     days[0], params.new_days, params.silent_days, params.churned_days)
    # each date's wanted members as (date, member) pairs: joined in the engine, never looked up in pandas
    pairs = pd.concat([pd.DataFrame({"_end": pd.Series([d] * len(ids), dtype=object), "member_id": ids})
                       for d in days for ids in [pd.Series(wanted[d]).reset_index(drop=True)]], ignore_index=True)
    pairs = ibis.memtable(pairs.drop_duplicates(ignore_index=True),
                          schema={"_end": "date", "member_id": members.member_id.type()})
    summaries = member_summaries(orders, days, params.window_days)
    summary_columns = [c for c in summaries.columns if c not in ("end", "member_id")]
    kept = summary_columns if columns is None else [c for c in summary_columns if c in {*_ALWAYS, *columns}]
    dates = ibis.memtable({"end": days}, schema={"end": "date"})
    joined_by = members.cross_join(dates)
    joined_by = joined_by.filter(joined_by.join_date <= joined_by.end)
    joined_counts = joined_by.group_by("end").agg(n=joined_by.count()).to_pandas()
    n_joined = {pd.Timestamp(e).date(): int(n) for e, n in zip(joined_counts.end, joined_counts.n)}
    profile = pairs.inner_join(members.select("member_id", "join_date", *[c for c in ("region", "channel")
                                                                           if columns is None or c in columns]),
                               "member_id")
    profile = member_frame(profile.filter(profile.join_date <= profile._end))
    with engine.cached(summaries.select("end", "member_id", *kept)) as s:
        m = members.select(_member=members.member_id, _join_date=members.join_date)
        j = s.left_join(m, s.member_id == m._member)
        # ordered by member id in the engine (byte order of UTF-8, which is Python's order of str)
        whole = j.order_by([j.end, j.member_id]).select(
            "end", *_FIT_COLUMNS, "orders_total", "revenue_total",
            joined=(j._join_date <= j.end).fill_null(False)).to_pandas()
        mine = s.semi_join(pairs, [s.end == pairs._end, s.member_id == pairs.member_id]).to_pandas()
    out = {}
    for end in days:
        at = pd.Timestamp(end)
        w = whole[whole.end == at]
        # members who had joined without a purchase: rows of the whole table with NaN in the summary's columns
        joined, joined_buyers = n_joined.get(at.date(), 0), int(w.joined.sum())
        floats = joined > joined_buyers

        def as_whole(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.astype({c: "float64" for c in frame.columns if floats and frame[c].dtype == "int64"})
        buyers = w[w.frequency >= 1]
        segmenter = RFMSegmenter(params.split).fit(as_whole(buyers[list(_FIT_COLUMNS)]))
        summary = mine[mine.end == at].drop(columns="end")
        summary = summary.sort_values("member_id", kind="stable").reset_index(drop=True)
        base = _joined(summary, profile[profile._end == at].drop(columns="_end"), end)
        base = base.drop(columns=kept).join(as_whole(base[kept]))
        table = _scored_base(base, _buyers(base), end, segmenter=segmenter, tier_thresholds=params.tier_thresholds,
                             new_days=params.new_days, silent_days=params.silent_days,
                             churned_days=params.churned_days, base_tier=params.base_tier)
        if len(buyers) and not len(_buyers(base)):
            # no buyer among these rows: the segment columns take the type the whole table's buyers give them
            text = pd.Series(["segment"]).dtype
            table = table.astype({"segment": text, "grid_segment": text})
        out[end] = MemberRows(table if columns is None else table[list(columns)], segmenter,
                              joined + len(w) - joined_buyers,
                              as_whole(w[["orders_total", "revenue_total"]]).reset_index(drop=True))
    return out


# ------------------------------------------------------------------ the member tables in the engine
def fitted_segmenters(summaries: ibis.Table, ends: Iterable[_dt.date], split: str = "mean") -> dict[_dt.date, RFMSegmenter]:
    """The :class:`RFMSegmenter` of each date's buyers, fitted as :func:`member_table` fits it.

    ``summaries``: :func:`memberkit.summary.member_summaries` (an engine table with ``end``) holding
    every date of ``ends``. The buyers' recency, frequency and monetary value (frequency >= 1) are fetched
    without member ids, three float64 columns a date in member id order (the order the whole table's
    outer merge gives them, so the split's mean sums them as it does), and fitted in pandas: the mean's
    float sum and numpy's interpolated quantiles (the cut points) are kept exactly as they are. Raises
    ``ValueError`` for an unknown split.
    """
    split_value(pd.Series([0.0]), split)
    days = sorted({pd.Timestamp(d).date() for d in ends})
    b = summaries.filter(summaries.frequency >= 1)
    whole = b.order_by([b.end, b.member_id]).select("end", *_FIT_COLUMNS).to_pandas()
    return {end: RFMSegmenter(split).fit(whole.loc[whole.end == pd.Timestamp(end), list(_FIT_COLUMNS)]
                                         .astype("float64").reset_index(drop=True))
            for end in days}


def scored_members(summaries: ibis.Table, members: ibis.Table, end: _dt.date, segmenter: RFMSegmenter,
                   params) -> ibis.Table:
    """:func:`member_table` at ``end`` as an engine expression: one row per member who had joined
    (``members``: the clean members table, ``join_date`` <= ``end``) or bought by then (``summaries``:
    :func:`memberkit.summary.member_summaries` holding ``end``), rows in no order.

    Columns: ``member_id``, ``recency_days`` (NULL without a purchase), ``frequency`` (0 without),
    ``monetary`` (0.0 without), ``first_order_date``, ``orders_total``, ``revenue_total``,
    ``r_high``/``f_high``/``m_high``, ``r_score``/``f_score``/``m_score``, ``segment`` and
    ``grid_segment`` (NULL for members without a purchase in the window), ``tier`` (the tier names of
    ``params``) and ``stage`` (:data:`STAGES`). ``segmenter`` is fitted on that date's buyers
    (:func:`fitted_segmenters`); its splits and cut points enter the query as float64 literals, and the
    flags, scores (1 + the cut points a value exceeds), rule tables, tiers (the highest threshold the
    window's spend reaches) and stages are :func:`member_table`'s, value for value. Backend-neutral Ibis.
    """
    from .summary import _day
    s = summaries.filter(summaries.end == _day(end)).drop("end")
    m = members.filter(members.join_date <= _day(end))
    m = m.select(_member=m.member_id)
    j = m.outer_join(s, m._member == s.member_id)
    t = j.select(member_id=ibis.coalesce(j.member_id, j._member), recency_days=j.recency_days,
                 frequency=j.frequency.fill_null(0), monetary=j.monetary.fill_null(0.0),
                 first_order_date=j.first_order_date, orders_total=j.orders_total, revenue_total=j.revenue_total)
    return _scoring(t, end, segmenter, params)


def _scoring(t: ibis.Table, end: _dt.date, segmenter: RFMSegmenter, params) -> ibis.Table:
    """``t`` (recency_days, frequency, monetary, first_order_date at ``end``; frequency and monetary not NULL)
    with :func:`scored_members`' flags, scores, segments, tier and stage."""
    from .summary import _day
    buyer = t.frequency >= 1
    x = {"r": -t.recency_days.cast("float64"), "f": t.frequency.cast("float64"), "m": t.monetary.cast("float64")}
    splits, cuts = segmenter.splits_, segmenter.thresholds_

    def when_buyer(value):
        return ibis.ifelse(buyer, value, ibis.null(value.type()))
    high = {"r": t.recency_days.cast("float64") < ibis.literal(float(splits["r"]), "float64"),
            "f": x["f"] > ibis.literal(float(splits["f"]), "float64"),
            "m": x["m"] > ibis.literal(float(splits["m"]), "float64")}
    score = {d: 1 + sum((x[d] > ibis.literal(float(c), "float64")).cast("int64") for c in cuts[d]) for d in "rfm"}
    hl, grid = schemes()["high_low"].lookup(), schemes()["score_grid"].lookup()
    flags = {"high": True, "low": False}
    segment = ibis.cases(*(((high["r"] == flags[r]) & (high["f"] == flags[f]) & (high["m"] == flags[mm]), key)
                           for (r, f, mm), key in hl.items()))
    grid_segment = ibis.cases(*(((score["r"] == r) & (score["f"] == f), key) for (r, f), key in grid.items()))
    order = sorted(params.tier_thresholds.items(), key=lambda kv: kv[1])
    names = [params.base_tier] + [k for k, _ in order]
    reached = sum((t.monetary >= ibis.literal(float(v), "float64")).cast("int64") for _, v in order)
    tier = ibis.cases(*((reached == i, name) for i, name in enumerate(names))) if order else ibis.literal(params.base_tier)
    since_first = _day(end).delta(t.first_order_date, unit="day")
    r = t.recency_days
    stage = ibis.cases((r.isnull(), "no_purchase"), (since_first < params.new_days, "new"),
                       (r < params.silent_days, "active"), (r <= params.churned_days, "silent"), else_="lapsed")
    return t.mutate(**{f"{d}_high": when_buyer(high[d]) for d in "rfm"},
                    **{f"{d}_score": when_buyer(score[d]) for d in "rfm"},
                    segment=when_buyer(segment), grid_segment=when_buyer(grid_segment), tier=tier, stage=stage)


def member_groups(summaries: ibis.Table, members: ibis.Table, ends: Sequence[_dt.date],
                  segmenters: Mapping[_dt.date, RFMSegmenter], params) -> ibis.Table:
    """Each member's ``tier_<i>`` and ``segment_<i>`` in the member table at ``ends[i]``, for every date at
    once: an engine expression, one row per member of ``members`` or ``summaries``, rows in no order.

    The values are :func:`scored_members`' (NULL where the member is not in that date's table, and the
    segment NULL where it has no purchase in the window); ``segmenters``: each date's
    (:func:`fitted_segmenters`). Built as a grouping of the summaries' and the members' rows by member id
    rather than as joins of whole member tables: the engine's aggregation spills to disk within its
    memory limit, where an outer join of 10,000,000-member tables did not (DuckDB, 1 GB).
    """
    from .summary import _day
    n = len(ends)
    zero_tier = str(assign_tiers(pd.Series([0.0]), params.tier_thresholds, params.base_tier).iloc[0])
    text, no_date = ibis.null().cast("string"), ibis.null().cast("date")
    parts = []
    for i, d in enumerate(ends):
        t = _scoring(summaries.filter(summaries.end == _day(d)), d, segmenters[d], params)
        parts.append(t.select("member_id", **{f"{c}_{k}": (t[c] if k == i else text)
                                              for k in range(n) for c in ("tier", "segment")}, join_date=no_date))
    parts.append(members.select("member_id", **{f"{c}_{k}": text for k in range(n) for c in ("tier", "segment")},
                                join_date=members.join_date))
    u = ibis.union(*parts, distinct=False)
    g = u.group_by("member_id").agg(**{f"{c}_{k}": u[f"{c}_{k}"].max() for k in range(n) for c in ("tier", "segment")},
                                    join_date=u.join_date.max())
    # a member who had joined by then without a purchase is in that table with no spend
    return g.select("member_id", **{c: col for k, d in enumerate(ends) for c, col in (
        (f"tier_{k}", ibis.coalesce(g[f"tier_{k}"], ibis.ifelse(g.join_date <= _day(d), zero_tier, text))),
        (f"segment_{k}", g[f"segment_{k}"]))})


def migration_between(groups: ibis.Table, before: int, after: int, keys: list[str]) -> pd.DataFrame:
    """:func:`migration_matrix` counted in the engine from :func:`member_groups` (``before``/``after``: the
    column numbers of the two dates' ``segment_<i>``).

    Returns the same frame as :func:`migration_matrix` of the two dates' segmented members (rows: previous
    segment, columns: current, "(none)" last; int64): one aggregation of at most (len(keys) + 1)^2 rows
    reaches pandas.
    """
    b, a = groups[f"segment_{before}"], groups[f"segment_{after}"]
    g = groups.filter(b.notnull() | a.notnull())
    counts = g.group_by(previous=g[f"segment_{before}"].fill_null(OUTSIDE),
                        current=g[f"segment_{after}"].fill_null(OUTSIDE)).agg(members=g.count()).to_pandas()
    order = [*keys, OUTSIDE]
    m = pd.DataFrame(0, index=pd.Index(order, name="previous"), columns=pd.Index(order, name="current"), dtype="int64")
    for p, c, k in zip(counts.previous, counts.current, counts.members):
        if p in m.index and c in m.columns:
            m.loc[p, c] = int(k)
    m.loc[OUTSIDE, OUTSIDE] = 0
    return m


def produce_member_table(store, con=None):
    """The member table at the end of ``store``'s period, computed from its clean tables and written to
    the store (``data/members.parquet`` with its stamp): what the RFM report writes, for a report
    (CLV) opened before the RFM report ran. Returns the table."""
    from .periods import period_bounds
    from .store import write_member_table
    con, tables = store.clean_tables(con)
    table, _ = member_table_at(tables["orders"], member_profile(tables["members"]), period_bounds(store.run.period)[1],
                               store.run.params("rfm_segmentation"))
    write_member_table(store.folder, store.run, table)
    return table


def tier_currency_mismatch(params) -> tuple[str, str] | None:
    """(thresholds' currency, shop's currency) when they differ: the tiers then compare spend in one
    currency with amounts meant in another, and the report says so. None when they agree."""
    if params.tier_currency.upper() != params.currency.upper():
        return params.tier_currency.upper(), params.currency.upper()
    return None


def analyse(tables: dict, period: str, params, month_figures: dict) -> RFMAnalysis:
    """The RFM report's computations for ``period`` from the clean engine tables.

    ``month_figures`` is the period's ``month.json`` (:meth:`memberkit.store.PeriodStore.month_figures`):
    the key figures and their trend are read from it, not computed again. Raises ``ValueError``
    when it holds fewer months than ``params.trend_months``.
    """
    from . import kpi
    from .periods import period_bounds, previous_period
    orders, members_t = tables["orders"], tables["members"]
    _, end = period_bounds(period)
    _, prev_end = period_bounds(previous_period(period))
    table, segmenter, migration, change_groups = _the_three_month_ends(orders, members_t, period, params,
                                                                        month_figures)
    regions = region_profile(table, params.established_orders, "lapsed")
    grid_mean_m, grid_count = rf_grid(table)
    tiers, stages = tier_stage_frame(table)
    return RFMAnalysis(
        period=period, end=end, window_days=params.window_days, table=table, segmenter=segmenter,
        profile=segment_profile(table, "high_low"), grid_profile=segment_profile(table, "score_grid"),
        regions=regions, migration=migration,
        figures=kpi.figures_compared(month_figures, period),
        trend=kpi.figures_trend(month_figures, params.trend_months),
        cohorts=kpi.cohort_retention(orders, members_t, period, params.cohorts),
        grid_mean_m=grid_mean_m, grid_count=grid_count, tiers=tiers, stages=stages, flows=main_flows(migration, FLOWS),
        stayed_share=stayed_share(migration), region_at_risk=most_at_risk_region(regions),
        region_safest=safest_region(regions), dominant=dominant_members(table, params.dominant_member_share, params.split),
        revenue_change_groups=change_groups, lapsed_days=params.churned_days,
        previous_at=lambda: member_tables_at(orders, member_profile(members_t), [prev_end], params)[prev_end][0])


def _the_three_month_ends(orders: ibis.Table, members_t: ibis.Table, period: str, params, month_figures: dict):
    """The member table at ``period``'s end (pandas: the report writes it and draws from it), its fitted
    segmenter, the migration from the previous month's end and the split of member revenue's change by
    tier and segment at the three month ends: the per-member summary at the three dates is aggregated
    once and cached in the engine; the previous month's and the year-earlier month's member tables stay
    there (:func:`member_groups`: each member's tier and segment at each date), only their buyers' R, F
    and M reach pandas, without ids, to fit their segmenters."""
    from .periods import period_bounds, previous_period, same_period_last_year
    from .summary import _day, member_frame, member_summaries
    months = {m: period_bounds(m)[1] for m in (period, previous_period(period), same_period_last_year(period))}
    end = months[period]
    with engine.cached(member_summaries(orders, list(months.values()), params.window_days)) as summaries:
        summary = member_frame(summaries.filter(summaries.end == _day(end)).drop("end"))
        table, segmenter = _scored(summary, member_profile(members_t), end, params)
        del summary
        fitted = fitted_segmenters(summaries, [d for d in months.values() if d != end], params.split)
        fitted[end] = segmenter
        groups = member_groups(summaries, members_t, list(months.values()), fitted, params)
        migration = migration_between(groups, 1, 0, schemes()["high_low"].keys)
        change_groups = revenue_change_groups(orders, period, groups, month_figures)
    return table, segmenter, migration, change_groups


def revenue_change_groups(orders, period: str, groups: ibis.Table, month_figures: dict) -> dict:
    """Member revenue's change from the previous month and from the same month a year earlier, split by
    tier and RFM segment as each member was at each month's end (``groups``: :func:`member_groups` at the
    ends of ``period``, the previous month and the same month a year earlier, in that order).
    ``{"vs_previous": [...], "vs_year_ago": [...]}`` as :func:`memberkit.attribution.member_group_split`
    returns them; a comparison whose member revenue is unknown in month.json (the orders do not reach
    back) is None. One engine aggregation (:func:`memberkit.attribution.member_group_splits`)."""
    from .attribution import member_group_splits
    from .periods import previous_period, same_period_last_year
    revenue = dict(zip(month_figures.get("months", []), month_figures.get("figures", {}).get("member_revenue", [])))
    bases = {"vs_previous": previous_period(period), "vs_year_ago": same_period_last_year(period)}
    known = {k: b for k, b in bases.items() if revenue.get(b) is not None and revenue.get(period) is not None}
    if not known:
        return {k: None for k in bases}
    ends = [period, *bases.values()]          # the order of the columns of ``groups``
    months = [period, *known.values()]
    groups = groups.select("member_id", **{f"{d}_{i}": groups[f"{d}_{ends.index(m)}"]
                                           for i, m in enumerate(months) for d in ("tier", "segment")})
    split = member_group_splits(orders, months, groups, {k: (months.index(b), 0) for k, b in known.items()})
    return {k: split.get(k) for k in bases}


def dominant_members(table: pd.DataFrame, share: float, split: str = "mean") -> dict:
    """Members holding more than ``share`` of the window's orders (frequency) or revenue (monetary value)
    in the member table ``table`` (:func:`member_table`, one row per member), with the figures with and
    without them (:func:`memberkit.summary.member_concentration`: ``threshold``, ``with``, ``dominant``
    with masked ids, ``without``). When there are some, ``segments`` adds the high/low segment holding
    the largest share of revenue, with its share of the buyers and of the revenue (``with``), and the same
    after the scheme's splits are learnt again without those members (``without``, ``split`` mean or
    median): the headline's figures both ways. Member-scale: ``table`` is already a pandas frame.
    Raises ``ValueError`` for a share outside (0, 1]."""
    import ibis
    from .summary import member_concentration
    buyers = segmented(table)
    frame = buyers[["member_id", "frequency", "monetary"]].rename(columns={"frequency": "orders", "monetary": "revenue"})
    out = member_concentration(ibis.memtable(frame.astype({"member_id": "string", "orders": "int64",
                                                          "revenue": "float64"})), share)
    if out["dominant"]:
        total = out["with"]
        above = ((frame.orders > share * total["orders"]) if total["orders"] > 0 else False) | (
            (frame.revenue > share * total["revenue"]) if total["revenue"] > 0 else False)
        rest = buyers[~above]
        out["segments"] = {"with": _top_segment(buyers)}
        if len(rest):
            again = RFMSegmenter(split).fit_transform(rest[["member_id", "recency_days", "frequency", "monetary"]])
            out["segments"]["without"] = _top_segment(again)
    return out


def _top_segment(scored: pd.DataFrame) -> dict:
    """The high/low segment with the largest revenue share: its key, share of members and of revenue."""
    prof = segment_profile(scored, "high_low")
    key = prof.revenue_share.fillna(-1).idxmax()
    return {"segment": key, "share": plain(prof.loc[key, "share"]), "revenue_share": plain(prof.loc[key, "revenue_share"])}


FLOWS = 8   # moves between segments the migration chart shows


def stayed_share(matrix: pd.DataFrame) -> float:
    """Of the members segmented in the previous period (the rows of a :func:`migration_matrix`
    without "(none)"), the share in the same segment now; NaN when there were none."""
    keys = [k for k in matrix.index if k != OUTSIDE]
    before = matrix.loc[keys].to_numpy().sum()
    return float(sum(matrix.loc[k, k] for k in keys) / before) if before else np.nan


def largest_stay(matrix: pd.DataFrame) -> tuple[str, int] | None:
    """The segment on the diagonal of a :func:`migration_matrix` (members in the same segment in both periods,
    "(none)" aside) that kept the most members, and how many; the first in the matrix's order on a tie; None
    when nobody stayed.

    >>> m = migration_matrix(pd.Series(["a", "a", "b", "b", "b"]), pd.Series(["a", "b", "b", "b", "a"]), ["a", "b"])
    >>> largest_stay(m)
    ('b', 2)
    """
    stays = [(k, int(matrix.loc[k, k])) for k in matrix.index if k != OUTSIDE and k in matrix.columns]
    best = max(stays, key=lambda kv: kv[1], default=None)
    return best if best and best[1] > 0 else None


def tier_stage_frame(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members and revenue per tier, and members per lifecycle stage.

    The tiers' frame: ``members``, ``revenue`` (the window's net revenue, ``monetary`` summed, the
    shop's currency), ``revenue_share`` (of all members' revenue), ``bulk_revenue`` (the part of
    ``revenue`` in orders the cleaning flagged as bulk purchases, ``monetary_bulk``; 0 when the table
    has no such column) and ``bulk_share`` (``bulk_revenue`` / ``revenue``, NaN for a tier without
    revenue). The stages' frame: ``members`` and ``share`` of all members."""
    t = table if "monetary_bulk" in table else table.assign(monetary_bulk=0.0)
    tiers = t.groupby("tier", observed=False).agg(members=("member_id", "size"), revenue=("monetary", "sum"),
                                                  bulk_revenue=("monetary_bulk", "sum"))
    tiers["revenue_share"] = tiers.revenue / tiers.revenue.sum() if tiers.revenue.sum() else np.nan
    tiers["bulk_share"] = tiers.bulk_revenue / tiers.revenue.where(tiers.revenue != 0)
    stages = table.groupby("stage", observed=False).agg(members=("member_id", "size"))
    stages["share"] = stages.members / stages.members.sum() if len(table) else np.nan
    return tiers, stages


def key_results(a: RFMAnalysis) -> dict:
    """Members, revenue and their shares per segment of both schemes (segment codes), the splits, key
    figures, the region at risk and its loss rate (plain data)."""
    return {
        "segments": {scheme: {k: {"members": int(r.members), "revenue": round(float(r.revenue), 2),
                                  "share": plain(r.share), "revenue_share": plain(r.revenue_share)}
                              for k, r in prof.iterrows()}
                     for scheme, prof in (("high_low", a.profile), ("score_grid", a.grid_profile))},
        "splits": {d: round(v, 4) for d, v in a.segmenter.splits_.items()} if hasattr(a.segmenter, "splits_") else {},
        "key_figures": {k: {c: (None if pd.isna(v) else float(v)) for c, v in a.figures.loc[k, ["current", "previous", "year_ago"]].items()}
                        for k in a.figures.index},
        "most_at_risk_region": a.region_at_risk,
        "most_at_risk_lost_rate": (plain(a.regions.loc[a.region_at_risk, "established_lost_rate"])
                                   if a.region_at_risk else None),
        "lapsed_days": a.lapsed_days,
        "migration_members": members_in_both(a.migration),
        "members_with_tier": int(len(a.table)), "window_days": a.window_days,
        "dominant_members": a.dominant,
        "revenue_change_groups": a.revenue_change_groups,
    }
