"""Whom the next campaign should reach: each member's incremental margin, learnt from past campaigns.

From the past campaigns of one type that kept a randomised holdout, a **T-learner** (Künzel,
Sekhon, Bickel and Yu 2019, "Metalearners for estimating heterogeneous treatment effects using
machine learning", PNAS 116, 4156-4165) fits one scikit-learn regressor on the targeted members
and one on the holdout, each predicting the orders a member places during the campaign and the
``post_days`` after it (so orders only pulled forward cancel out) from what was known the day
before it started: recency, frequency and monetary value, tier, RFM segment, region, channel and
how often the member answered earlier campaigns. The difference of the two predictions is the
member's expected incremental orders; times the member's own average order value and the margin
it is the expected incremental margin (currency).

The target list ranks members by expected incremental margin minus the cost of one contact,
stops where that turns negative, and draws a seeded random holdout from the listed members.

Validation (:func:`validate`) scores each past (campaign, member) row out of fold (members are
split into folds, so no member is scored by a model that saw it) and compares two rankings on the
randomised data by the **Qini curve** (Radcliffe 2007, "Using control groups to target on
predicted lift", Direct Marketing Analytics Journal 1, 14-21): at each share φ of the rows taken
from the top, ``Q(φ) = Y_t(φ) - Y_c(φ) N_t(φ) / N_c(φ)``, the incremental outcome of targeting
that share. The **Qini coefficient** is the area between that curve and the straight line of
random targeting, divided by the number of rows (so it reads as incremental margin per member of
the data, currency, and does not grow with the data's size). Tied scores are taken as a block
(the curve is drawn between tie groups), so a rule with few distinct scores, such as a segment's
mean, is not flattered by the order of rows within a segment. Intervals are percentile bootstraps
over the rows, targeted and holdout resampled separately. The ranking it is compared with is
targeting by RFM segment: each segment's incremental margin per member (targeted mean minus
holdout mean) learnt on the other folds.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NUMERIC_FEATURES = ("recency_days", "frequency", "monetary", "order_value", "past_responses", "days_as_member")
CATEGORICAL_FEATURES = ("segment", "tier", "region", "channel")


# ------------------------------------------------------------------ the rows to learn from
def member_features(table: pd.DataFrame, at: _dt.date, past_responses: pd.Series | None = None) -> pd.DataFrame:
    """The model's features of each member from an RFM member table at ``at``
    (:func:`memberkit.rfm.member_tables_at`): one row per member, in member id order.

    ``order_value`` is the member's average order value over all history (currency; the table's
    median for members without an order), ``past_responses`` the number of earlier campaigns the
    member redeemed (``past_responses``: member id -> count; 0 where absent), ``days_as_member``
    from the first order (or the end, without one) to ``at``; a missing category is ``"none"``.
    """
    out = table[["member_id"]].copy()
    out["recency_days"] = table.recency_days.astype("float64").fillna(9999.0)
    out["frequency"] = table.frequency.astype("float64").fillna(0.0)
    out["monetary"] = table.monetary.astype("float64").fillna(0.0)
    orders = table.orders_total.astype("float64") if "orders_total" in table else out.frequency
    value = table.revenue_total.astype("float64") / orders.where(orders > 0)
    out["order_value"] = value.fillna(value.median() if value.notna().any() else 0.0)
    first = pd.to_datetime(table.first_order_date) if "first_order_date" in table else pd.Series(pd.NaT, index=table.index)
    out["days_as_member"] = (pd.Timestamp(at) - first).dt.days.astype("float64").fillna(0.0)
    past = past_responses if past_responses is not None else pd.Series(dtype="float64")
    out["past_responses"] = out.member_id.map(past).astype("float64").fillna(0.0)
    for col in CATEGORICAL_FEATURES:
        out[col] = table[col].astype("object").where(table[col].notna(), "none").astype(str) if col in table else "none"
    return out.sort_values("member_id", kind="stable").reset_index(drop=True)


def past_responses(campaign_members: pd.DataFrame, before: _dt.date) -> pd.Series:
    """member id -> how many campaigns that started before ``before`` the member was targeted by and
    redeemed (``campaign_members``: campaign_id, member_id, group, redeemed_ts, start)."""
    cm = campaign_members
    done = cm[(pd.to_datetime(cm.start) < pd.Timestamp(before)) & (cm.group == "target") & cm.redeemed_ts.notna()]
    return done.groupby("member_id").campaign_id.nunique().astype("float64")


def training_rows(members: pd.DataFrame, tables_at: dict, margin: float) -> pd.DataFrame:
    """The rows a model learns from: each (campaign, member) of campaigns with a holdout.

    ``members``: :func:`memberkit.campaign.campaign_members` (target and holdout members with
    ``orders_net``, ``revenue_net``, ``start``, ``redeemed_ts``); ``tables_at``: campaign id -> the
    RFM member table the day before it started. Returns the features (:func:`member_features`)
    with ``campaign_id``, ``treated`` (1 targeted, 0 holdout), ``orders`` (orders during the
    campaign and after it) and ``value`` (``orders`` x the member's order value x ``margin``:
    the margin the orders bring, currency).
    """
    rows = []
    for cid, table in tables_at.items():
        m = members[(members.campaign_id == cid) & members.group.isin(["target", "holdout"])]
        if (m.group == "holdout").sum() < 2 or (m.group == "target").sum() < 2:
            continue
        start = pd.to_datetime(m.start).min().date()
        feats = member_features(table, start - _dt.timedelta(days=1), past_responses(members, start))
        r = m[["member_id", "group", "orders_net"]].merge(feats, on="member_id", how="inner", validate="one_to_one")
        r.insert(0, "campaign_id", cid)
        r["treated"] = (r.group == "target").astype(int)
        r["orders"] = r.orders_net.astype("float64")
        r["value"] = r.orders * r.order_value * margin
        rows.append(r.drop(columns=["group", "orders_net"]))
    if not rows:
        return pd.DataFrame(columns=["campaign_id", "member_id", "treated", "orders", "value",
                                     *NUMERIC_FEATURES, *CATEGORICAL_FEATURES])
    return pd.concat(rows, ignore_index=True).sort_values(["campaign_id", "member_id"], kind="stable",
                                                          ignore_index=True)


# ------------------------------------------------------------------ the model
def design_matrix(frame: pd.DataFrame, categories: dict[str, list[str]]) -> np.ndarray:
    """Numeric features as they are and each category one-hot over ``categories`` (fixed, so that
    the columns are the same in training and scoring); shape (rows, features)."""
    parts = [frame[list(NUMERIC_FEATURES)].to_numpy(dtype="float64")]
    for col in CATEGORICAL_FEATURES:
        values = frame[col].astype(str).to_numpy()
        parts.append(np.column_stack([values == c for c in categories[col]]).astype("float64")
                     if categories[col] else np.zeros((len(frame), 0)))
    return np.hstack(parts)


def _regressor(seed: int, kind: str = "ridge"):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if kind == "ridge":
        return make_pipeline(StandardScaler(), Ridge(alpha=10.0))
    # small, slow-learning trees with large leaves: the outcome is mostly noise around a small effect
    return HistGradientBoostingRegressor(max_depth=3, max_iter=150, learning_rate=0.05, min_samples_leaf=80,
                                         l2_regularization=1.0, early_stopping=False, random_state=seed)


@dataclass
class TLearner:
    """Two regressors of ``orders`` on the features: one fitted on the targeted rows, one on the holdout.

    ``uplift(frame)`` is their difference: the expected incremental orders per member (orders, not
    currency). Raises ``ValueError`` when either group has fewer than ``min_rows`` rows.
    """
    seed: int = 0
    min_rows: int = 20
    categories: dict[str, list[str]] = field(default_factory=dict)
    models: tuple = ()

    def fit(self, rows: pd.DataFrame) -> "TLearner":
        t, c = rows[rows.treated == 1], rows[rows.treated == 0]
        if len(t) < self.min_rows or len(c) < self.min_rows:
            raise ValueError(f"a T-learner needs at least {self.min_rows} targeted and holdout rows; "
                             f"got {len(t)} and {len(c)}")
        self.categories = {col: sorted(rows[col].astype(str).unique()) for col in CATEGORICAL_FEATURES}
        self.models = tuple(_regressor(self.seed).fit(design_matrix(g, self.categories), g.orders.to_numpy())
                            for g in (t, c))
        return self

    def uplift(self, frame: pd.DataFrame) -> np.ndarray:
        x = design_matrix(frame, self.categories)
        return self.models[0].predict(x) - self.models[1].predict(x)


def expected_incremental_margin(model: TLearner, frame: pd.DataFrame, margin: float) -> np.ndarray:
    """Expected incremental orders x the member's order value x ``margin`` (currency per member)."""
    return model.uplift(frame) * frame.order_value.to_numpy() * margin


def segment_uplift(rows: pd.DataFrame) -> pd.Series:
    """The RFM rule: each segment's incremental margin per member, targeted mean minus holdout mean of
    ``value`` (currency); a segment missing one of the groups gets 0."""
    means = rows.groupby(["segment", "treated"]).value.mean().unstack()
    for col in (0, 1):
        if col not in means:
            means[col] = np.nan
    return (means[1] - means[0]).fillna(0.0)


# ------------------------------------------------------------------ Qini
def qini_curve(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve of a ranking: (share of rows taken, incremental outcome), from (0, 0), one
    point per group of tied scores (highest first). ``Q = Y_t - Y_c N_t / N_c`` over the rows
    taken (Radcliffe 2007); where no holdout row is taken yet, the holdout part is 0."""
    order = np.argsort(-np.asarray(score, dtype="float64"), kind="stable")
    s, t, y = np.asarray(score)[order], np.asarray(treated)[order], np.asarray(outcome, dtype="float64")[order]
    n_t, n_c = np.cumsum(t), np.cumsum(1 - t)
    y_t, y_c = np.cumsum(y * t), np.cumsum(y * (1 - t))
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])      # the last row of each tie group
    with np.errstate(invalid="ignore", divide="ignore"):
        q = y_t[ends] - np.where(n_c[ends] > 0, y_c[ends] * n_t[ends] / n_c[ends], 0.0)
    return np.r_[0.0, (ends + 1) / len(s)], np.r_[0.0, q]


def qini_coefficient(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> float:
    """Area between the Qini curve and random targeting's straight line, per row of the data
    (currency per member when ``outcome`` is in currency). 0 for a ranking no better than chance."""
    x, q = qini_curve(score, treated, outcome)
    area = float(np.sum((x[1:] - x[:-1]) * (q[1:] + q[:-1]) / 2))
    return (area - q[-1] / 2) / len(score) if len(score) else float("nan")


@dataclass(frozen=True)
class Validation:
    """How a model's ranking did against the RFM rule's on past randomised data (currency per member)."""
    rows: int
    campaigns: tuple[str, ...]
    model_qini: tuple[float, float, float]      # value, 95% low, high
    rfm_qini: tuple[float, float, float]
    difference: tuple[float, float, float]      # model minus RFM
    curves: dict = field(default_factory=dict)  # "model" / "rfm" / "random": (share, incremental margin)

    @property
    def model_is_better(self) -> bool:
        """True when the model's Qini beats the RFM rule's at the low end of the difference's interval."""
        return self.difference[1] > 0


def out_of_fold_scores(rows: pd.DataFrame, margin: float, folds: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each row's expected incremental margin by the model and by the RFM rule, each learnt on the
    other folds (members are assigned to folds by a seeded draw over their ids, so every row of a
    member is scored by models that never saw that member). Returns (model, rfm), currency."""
    ids = np.array(sorted(rows.member_id.astype(str).unique()))
    fold_of = dict(zip(ids, np.random.default_rng(seed).integers(0, folds, len(ids))))
    fold = rows.member_id.astype(str).map(fold_of).to_numpy()
    model, rule = np.zeros(len(rows)), np.zeros(len(rows))
    for k in range(folds):
        test, train = fold == k, fold != k
        if not test.any():
            continue
        learner = TLearner(seed=seed).fit(rows[train])
        model[test] = expected_incremental_margin(learner, rows[test], margin)
        rule[test] = rows.segment[test].map(segment_uplift(rows[train])).fillna(0.0).to_numpy()
    return model, rule


def validate(rows: pd.DataFrame, margin: float, folds: int = 5, bootstraps: int = 200, seed: int = 0) -> Validation:
    """The model against the RFM rule on past campaigns with a holdout (:func:`training_rows`):
    Qini coefficients of both out-of-fold rankings on ``value`` with percentile bootstrap intervals
    (targeted and holdout rows resampled separately, ``bootstraps`` times, seeded). Raises
    ``ValueError`` when a fold's model cannot be fitted (too few rows)."""
    model, rule = out_of_fold_scores(rows, margin, folds, seed)
    t, y = rows.treated.to_numpy(), rows.value.to_numpy(dtype="float64")
    rng = np.random.default_rng([seed, 1])
    idx_t, idx_c = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    draws = []
    for _ in range(bootstraps):
        i = np.r_[rng.choice(idx_t, len(idx_t)), rng.choice(idx_c, len(idx_c))]
        a, b = qini_coefficient(model[i], t[i], y[i]), qini_coefficient(rule[i], t[i], y[i])
        draws.append((a, b, a - b))
    d = np.array(draws)

    def summary(col: int, value: float) -> tuple[float, float, float]:
        lo, hi = np.percentile(d[:, col], [2.5, 97.5])
        return float(value), float(lo), float(hi)
    qm, qr = qini_coefficient(model, t, y), qini_coefficient(rule, t, y)
    curves = {name: tuple(a.tolist() for a in qini_curve(s, t, y)) for name, s in (("model", model), ("rfm", rule))}
    curves["random"] = ([0.0, 1.0], [0.0, curves["model"][1][-1]])
    return Validation(len(rows), tuple(sorted(rows.campaign_id.unique())), summary(0, qm), summary(1, qr),
                      summary(2, qm - qr), curves)


# ------------------------------------------------------------------ the list
def target_list(candidates: pd.DataFrame, expected_margin: np.ndarray, contact_cost: float,
                holdout_share: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """The next campaign's list: members whose expected incremental margin exceeds the cost of
    contacting them, best first, with a seeded random holdout.

    ``candidates``: member features (:func:`member_features`, with ``segment``);
    ``expected_margin``: per candidate, currency. Returns ``member_id``, ``segment``,
    ``expected_incremental_margin``, ``expected_net`` (minus ``contact_cost``), ``holdout`` (True
    for members kept out to measure the campaign), ranked by expected net (ties by member id).
    The holdout is drawn over the listed members in member id order, so the same list and seed
    give the same holdout. Raises ``ValueError`` for a holdout share outside [0, 1).
    """
    if not 0 <= holdout_share < 1:
        raise ValueError(f"holdout_share must be in [0, 1), got {holdout_share}")
    out = pd.DataFrame({"member_id": candidates.member_id.astype(str).to_numpy(),
                        "segment": candidates.segment.to_numpy(),
                        "expected_incremental_margin": np.asarray(expected_margin, dtype="float64")})
    out["expected_net"] = out.expected_incremental_margin - contact_cost
    out = out[out.expected_net > 0].sort_values("member_id", kind="stable")
    out["holdout"] = np.random.default_rng([seed, 2]).random(len(out)) < holdout_share
    return out.sort_values(["expected_net", "member_id"], ascending=[False, True], kind="stable", ignore_index=True)


def rfm_target_list(candidates: pd.DataFrame, by_segment: pd.Series, contact_cost: float) -> pd.DataFrame:
    """The RFM rule's list: every member of a segment whose incremental margin per member
    (:func:`segment_uplift`) exceeds ``contact_cost``; ``member_id``, ``segment``, ``expected_net``."""
    gain = candidates.segment.map(by_segment).fillna(0.0).to_numpy() - contact_cost
    out = pd.DataFrame({"member_id": candidates.member_id.astype(str).to_numpy(),
                        "segment": candidates.segment.to_numpy(), "expected_net": gain})
    return out[out.expected_net > 0].sort_values(["expected_net", "member_id"], ascending=[False, True],
                                                 kind="stable", ignore_index=True)
