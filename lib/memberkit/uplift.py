"""Whom the next campaign should reach: each member's incremental margin, learnt from past campaigns.

From the past campaigns of one type that kept a randomised holdout, an **X-learner** (Künzel,
Sekhon, Bickel and Yu 2019, "Metalearners for estimating heterogeneous treatment effects using
machine learning", PNAS 116, 4156-4165) estimates each member's incremental orders from what was
known the day before a campaign started: recency, frequency and monetary value, tier, RFM
segment, region, channel, how long the member has bought and how often the member answered
earlier campaigns. Times the member's own average order value and the margin it is the member's
expected incremental margin (currency). A **T-learner** (the same paper's baseline: one regressor
on the targeted, one on the holdout, their difference) is kept for comparison.

Why the X-learner and a short outcome window (measured on the sample retailer with
``response_by_channel`` on, ``bench/uplift.py``): the holdouts are a fifth of each campaign, so a
T-learner's holdout model is fitted on few rows and its errors go straight into the difference; the
X-learner lets the large targeted group impute the holdout's counterfactuals and weights the two
estimates by the treated share, as the paper recommends for unbalanced groups. The outcome is the
orders of the campaign's own days (``window="during"``, the default): the 30 days after a campaign
add a month of organic orders whose noise hides a one-week response, while a campaign's pull-forward
(orders only moved into the campaign) is the campaign review's own check per campaign
(:func:`memberkit.campaign.pull_forward_check`). ``window="net"`` counts the days after as well.

The target list ranks members by expected incremental margin minus the cost of one contact and keeps
a seeded random holdout of the listed members. How far down the ranking it goes, and what it is
expected to gain, are not the model's own predictions (fitted on all the rows, they overstate what the
model finds): both are measured on the past campaigns out of fold (:func:`measured_gain`). For each
share φ of 5%, 10%, ... 100% of the rows, best out-of-fold score first, the **uplift at k** (targeted
mean minus holdout mean of the incremental margin among the top k = φ rows; scikit-uplift's
``uplift_at_k``) less the contact cost is what contacting such members gained per member; the list
takes the share whose net gain has the highest lower end of a 95% simultaneous bootstrap band, and
nobody when that lower end is not above zero anywhere. Its expected net gain is that figure times the
members it contacts, with a percentile bootstrap interval; a table per decile of the out-of-fold score
sets the predicted incremental margin beside the measured one, and the forecast per member is set
beside the best past campaign's actual net gain per targeted member over the same window
(:func:`past_net_per_member`: with ``window="during"`` the campaign's own days, so orders only pulled
forward are netted in neither figure, and the figure is not the campaign league's, which counts the days
after too). Without a contact cost set, the forecast assumes the latest campaign's of the type
(:func:`contact_cost` gives the evidence for that choice) and the page names the type's range of past
costs when they differ more than twice (:func:`cost_spread`).

Validation (:func:`validate`) scores each past (campaign, member) row out of fold (members are
split into folds, so no member is scored by a model that saw it) and compares two rankings on the
randomised data by the **Qini curve** (Radcliffe 2007, "Using control groups to target on
predicted lift", Direct Marketing Analytics Journal 1, 14-21): at each share φ of the rows taken
from the top, ``Q(φ) = Y_t(φ) - Y_c(φ) N_t(φ) / N_c(φ)``, the incremental outcome of targeting
that share. The **Qini coefficient** is the area between that curve and the straight line of
random targeting, divided by the number of rows (so it reads as incremental margin per member of
the data, currency, and does not grow with the data's size). **AUUC** is the area under the uplift
curve ``U(φ) = (Y_t(φ)/N_t(φ) - Y_c(φ)/N_c(φ)) (N_t(φ) + N_c(φ))`` (Rzepakowski and Jaroszewicz
2012; Gutierrez and Gérardy 2017), per row in the same way. Tied scores are taken as a block (the
curves are drawn between tie groups), so a rule with few distinct scores, such as a segment's mean,
is not flattered by the order of rows within a segment. Intervals are percentile bootstraps over
the rows, targeted and holdout resampled separately. The ranking it is compared with is targeting
by RFM segment: each segment's incremental margin per member (targeted mean minus holdout mean)
learnt on the other folds. The report recommends the model's list only when its Qini beats the RFM
rule's with the difference's interval above zero; otherwise the simpler RFM rule.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NUMERIC_FEATURES = ("recency_days", "frequency", "monetary", "order_value", "past_responses", "days_as_member")
CATEGORICAL_FEATURES = ("segment", "tier", "region", "channel")
WINDOWS = ("during", "net")
#: The target list's CSV (``data/uplift_targets.csv``): no personal data, member ids only.
TARGET_COLUMNS = ["member_id", "segment", "segment_label_en", "segment_label_zh", "expected_incremental_margin",
                  "expected_net"]


def target_file_columns(currency: str) -> list[str]:
    """:data:`TARGET_COLUMNS` as the target and holdout files name them: each amount with the shop's ISO 4217
    ``currency``, lower case, as the CLV and RFM files name theirs: ``expected_incremental_margin_<currency>``
    and ``expected_net`` -> ``expected_margin_after_contact_cost_<currency>`` (the margin less the cost of one
    contact)."""
    cur = str(currency).lower()
    names = {"expected_incremental_margin": f"expected_incremental_margin_{cur}",
             "expected_net": f"expected_margin_after_contact_cost_{cur}"}
    return [names.get(c, c) for c in TARGET_COLUMNS]
TARGET_FILE = "uplift_targets.csv"     # the members to contact
#: The members of the list kept out at random to measure the campaign: never to be contacted, so a file of their own.
HOLDOUT_FILE = "uplift_holdout.csv"


# ------------------------------------------------------------------ the rows to learn from
def member_features(table, at: _dt.date, past_responses: pd.Series | None = None, members=None) -> pd.DataFrame:
    """The model's features of each member from an RFM member table at ``at``
    (:func:`memberkit.rfm.member_tables_at`), or from some members' rows of it
    (:class:`memberkit.rfm.MemberRows`, :func:`memberkit.rfm.member_rows_at`): one row per member, in
    member id order.

    ``order_value`` is the member's average order value over all history (currency; the whole table's
    median for members without an order; capped at the whole table's 99th percentile), ``past_responses`` the number of earlier campaigns the
    member redeemed (``past_responses``: member id -> count; 0 where absent), ``days_as_member``
    from the first order to ``at`` (0 without one); a missing category is ``"none"``. ``members``:
    member ids to keep (None: all); the median and the cap are still the whole table's.
    """
    from .rfm import MemberRows
    # the median and the cap over the whole table: from its rows, or from its totals when given some rows
    whole = _order_values(table.totals) if isinstance(table, MemberRows) else None
    table = table.table if isinstance(table, MemberRows) else table
    value = _order_values(table)
    whole = value if whole is None else whole
    if whole.notna().any():          # one bulk order must not make a member the best target
        value = value.fillna(whole.median()).clip(upper=whole.quantile(0.99))
    if members is not None:
        # a campaign's few thousand members, not the whole member table, past this point
        keep = table.member_id.isin(members).to_numpy()
        table, value = table[keep], value[keep]
    out = table[["member_id"]].copy()
    out["recency_days"] = table.recency_days.astype("float64").fillna(9999.0)
    out["frequency"] = table.frequency.astype("float64").fillna(0.0)
    out["monetary"] = table.monetary.astype("float64").fillna(0.0)
    out["order_value"] = value.fillna(0.0)
    first = pd.to_datetime(table.first_order_date) if "first_order_date" in table else pd.Series(pd.NaT, index=table.index)
    out["days_as_member"] = (pd.Timestamp(at) - first).dt.days.astype("float64").fillna(0.0)
    past = past_responses if past_responses is not None else pd.Series(dtype="float64")
    out["past_responses"] = out.member_id.map(past).astype("float64").fillna(0.0)
    for col in CATEGORICAL_FEATURES:
        out[col] = table[col].astype("object").where(table[col].notna(), "none").astype(str) if col in table else "none"
    return out.sort_values("member_id", kind="stable").reset_index(drop=True)


def _order_values(table: pd.DataFrame) -> pd.Series:
    """Each row's revenue per order to date (NaN without an order)."""
    orders = table.orders_total.astype("float64") if "orders_total" in table \
        else table.frequency.astype("float64").fillna(0.0)
    return table.revenue_total.astype("float64") / orders.where(orders > 0)


def past_responses(campaign_members: pd.DataFrame, before: _dt.date) -> pd.Series:
    """member id -> how many campaigns that started before ``before`` the member was targeted by and
    redeemed (``campaign_members``: campaign_id, member_id, group, redeemed_ts, start)."""
    cm = campaign_members
    done = cm[(pd.to_datetime(cm.start) < pd.Timestamp(before)) & (cm.group == "target") & cm.redeemed_ts.notna()]
    return done.groupby("member_id").campaign_id.nunique().astype("float64")


def training_rows(members: pd.DataFrame, tables_at: dict, margin: float, window: str = "during") -> pd.DataFrame:
    """The rows a model learns from: each (campaign, member) of campaigns with a holdout.

    ``members``: :func:`memberkit.campaign.campaign_members` (target and holdout members with
    ``orders_during``, ``orders_net``, ``start``, ``redeemed_ts``); ``tables_at``: campaign id -> the
    RFM member table the day before it started, or its members' rows of it (:class:`memberkit.rfm.MemberRows`); ``window``: ``"during"`` (the campaign's days) or
    ``"net"`` (and the ``post_days`` after it). Returns the features (:func:`member_features`)
    with ``campaign_id``, ``treated`` (1 targeted, 0 holdout), ``orders`` (in the window) and
    ``value`` (``orders`` x the member's order value x ``margin``: currency), ordered by campaign and
    member. A campaign with fewer than two members in either group is left out. Raises
    ``ValueError`` for an unknown window.
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    rows = []
    for cid, table in tables_at.items():
        m = members[(members.campaign_id == cid) & members.group.isin(["target", "holdout"])]
        if (m.group == "holdout").sum() < 2 or (m.group == "target").sum() < 2:
            continue
        start = pd.to_datetime(m.start).min().date()
        feats = member_features(table, start - _dt.timedelta(days=1), past_responses(members, start), m.member_id)
        r = m[["member_id", "group", f"orders_{window}"]].merge(feats, on="member_id", how="inner", validate="one_to_one")
        r.insert(0, "campaign_id", cid)
        r["treated"] = (r.group == "target").astype(int)
        r["orders"] = r[f"orders_{window}"].astype("float64")
        r["value"] = r.orders * r.order_value * margin
        rows.append(r.drop(columns=["group", f"orders_{window}"]))
    if not rows:
        return pd.DataFrame(columns=["campaign_id", "member_id", "treated", "orders", "value",
                                     *NUMERIC_FEATURES, *CATEGORICAL_FEATURES])
    return pd.concat(rows, ignore_index=True).sort_values(["campaign_id", "member_id"], kind="stable",
                                                          ignore_index=True)


# ------------------------------------------------------------------ the models
def design_matrix(frame: pd.DataFrame, categories: dict[str, list[str]]) -> np.ndarray:
    """Numeric features as they are and each category one-hot over ``categories`` (fixed, so that
    the columns are the same in training and scoring); float64, shape (rows, features), stored
    column by column (Fortran order)."""
    width = len(NUMERIC_FEATURES) + sum(len(categories[col]) for col in CATEGORICAL_FEATURES)
    # Column order: a tree reads two or three features of every row, and scikit-learn's trees predict
    # one tree at a time over all rows; row order drags each row's whole line through the cache once
    # per tree (at a million members 3 times the CPU). The values, and so the trees, are the same.
    out = np.empty((len(frame), width), dtype="float64", order="F")
    out[:, :len(NUMERIC_FEATURES)] = frame[list(NUMERIC_FEATURES)].to_numpy(dtype="float64")
    at = len(NUMERIC_FEATURES)
    for col in CATEGORICAL_FEATURES:
        # codes against the fixed categories (-1 for a value not among them: all zeros), not one
        # comparison of every text per category (seconds at a million members)
        codes = pd.Categorical(frame[col].astype(str), categories=categories[col]).codes
        for k in range(len(categories[col])):
            out[:, at + k] = codes == k
        at += len(categories[col])
    return out


def _trees(seed: int, depth: int, leaf: int, rounds: int):
    """Small, slow-learning gradient-boosted trees with large leaves (the outcome is mostly noise
    around a small effect); deterministic: no early stopping, no subsampling."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    return HistGradientBoostingRegressor(max_depth=depth, max_iter=rounds, learning_rate=0.05, min_samples_leaf=leaf,
                                         l2_regularization=1.0, early_stopping=False, random_state=seed)


def _one_thread(rows: int = 0):
    """Fit and predict on one thread: at a campaign's size OpenMP's threads cost more than they save
    (25 times slower on a busy two-core machine) and the trees are the same. Predictions for more than
    ``PARALLEL_ROWS`` rows (every member, at scale) use every core: each row's prediction is its own,
    so the numbers are the same either way."""
    import contextlib
    from threadpoolctl import threadpool_limits
    return contextlib.nullcontext() if rows > PARALLEL_ROWS else threadpool_limits(limits=1)


PARALLEL_ROWS = 100_000


class _Learner:
    min_rows: int

    def _split(self, rows: pd.DataFrame):
        t, c = rows[rows.treated == 1], rows[rows.treated == 0]
        if len(t) < self.min_rows or len(c) < self.min_rows:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_rows} targeted and holdout rows; "
                             f"got {len(t)} and {len(c)}")
        self.categories_ = {col: sorted(rows[col].astype(str).unique()) for col in CATEGORICAL_FEATURES}
        return t, c


class TLearner(_Learner):
    """Two regressors of ``orders`` on the features, one fitted on the targeted rows, one on the
    holdout (Künzel et al. 2019, the T-learner); ``uplift(frame)`` is their difference: expected
    incremental orders per member (orders, not currency), shape (rows,).

    ``fit`` raises ``ValueError`` when either group has fewer than ``min_rows`` rows.
    """

    def __init__(self, seed: int = 0, min_rows: int = 20):
        self.seed, self.min_rows = seed, min_rows

    def fit(self, rows: pd.DataFrame) -> "TLearner":
        t, c = self._split(rows)
        with _one_thread():
            self.models_ = tuple(_trees(self.seed, 3, 80, 150).fit(design_matrix(g, self.categories_), g.orders.to_numpy())
                                 for g in (t, c))
        return self

    def uplift(self, frame: pd.DataFrame) -> np.ndarray:
        x = design_matrix(frame, self.categories_)
        with _one_thread(len(x)):
            return self.models_[0].predict(x) - self.models_[1].predict(x)


class XLearner(_Learner):
    """The X-learner of Künzel et al. 2019 on ``orders``: (1) outcome models ``mu1`` on the targeted
    and ``mu0`` on the holdout rows; (2) imputed effects ``D1 = Y - mu0(x)`` of the targeted and
    ``D0 = mu1(x) - Y`` of the holdout, each regressed on the features (``tau1``, ``tau0``, trees
    shallower and with larger leaves than the outcome models); (3) ``tau(x) = g tau0(x) + (1 - g)
    tau1(x)`` with ``g`` the share of targeted rows (the propensity, constant by design in a
    randomised campaign). ``uplift(frame)``: expected incremental orders per member, shape (rows,).

    ``fit`` raises ``ValueError`` when either group has fewer than ``min_rows`` rows.
    """

    def __init__(self, seed: int = 0, min_rows: int = 20, effect_leaf: int = 200):
        self.seed, self.min_rows, self.effect_leaf = seed, min_rows, effect_leaf

    def fit(self, rows: pd.DataFrame) -> "XLearner":
        t, c = self._split(rows)
        xt, xc = design_matrix(t, self.categories_), design_matrix(c, self.categories_)
        yt, yc = t.orders.to_numpy(dtype="float64"), c.orders.to_numpy(dtype="float64")
        with _one_thread():
            mu1 = _trees(self.seed, 3, 80, 150).fit(xt, yt)
            mu0 = _trees(self.seed, 3, 80, 150).fit(xc, yc)
            self.tau1_ = _trees(self.seed, 2, self.effect_leaf, 100).fit(xt, yt - mu0.predict(xt))
            self.tau0_ = _trees(self.seed, 2, self.effect_leaf, 100).fit(xc, mu1.predict(xc) - yc)
        self.propensity_ = len(t) / (len(t) + len(c))
        return self

    def uplift(self, frame: pd.DataFrame) -> np.ndarray:
        x = design_matrix(frame, self.categories_)
        g = self.propensity_
        with _one_thread(len(x)):
            return g * self.tau0_.predict(x) + (1 - g) * self.tau1_.predict(x)


LEARNERS = {"x": XLearner, "t": TLearner}


def expected_incremental_margin(model, frame: pd.DataFrame, margin: float) -> np.ndarray:
    """Expected incremental orders (``model.uplift``) x the member's order value x ``margin``:
    currency per member, shape (rows,)."""
    return model.uplift(frame) * frame.order_value.to_numpy(dtype="float64") * margin


def segment_uplift(rows: pd.DataFrame) -> pd.Series:
    """The RFM rule: segment -> incremental margin per member, targeted mean minus holdout mean of
    ``value`` (currency); a segment missing one of the groups gets 0."""
    means = rows.groupby(["segment", "treated"]).value.mean().unstack()
    for col in (0, 1):
        if col not in means:
            means[col] = np.nan
    return (means[1] - means[0]).fillna(0.0)


# ------------------------------------------------------------------ Qini and AUUC
def _cumulative(score, treated, outcome):
    order = np.argsort(-np.asarray(score, dtype="float64"), kind="stable")
    s = np.asarray(score, dtype="float64")[order]
    t = np.asarray(treated, dtype="float64")[order]
    y = np.asarray(outcome, dtype="float64")[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])      # the last row of each tie group
    n_t, n_c = np.cumsum(t)[ends], np.cumsum(1 - t)[ends]
    y_t, y_c = np.cumsum(y * t)[ends], np.cumsum(y * (1 - t))[ends]
    return np.r_[0.0, (ends + 1) / len(s)], n_t, n_c, y_t, y_c


def qini_curve(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve of a ranking (Radcliffe 2007): (share of rows taken, incremental outcome), from
    (0, 0), one point per group of tied scores, highest first. ``Q = Y_t - Y_c N_t / N_c`` over the
    rows taken; where no holdout row is taken yet, the holdout part is 0. Arrays of equal length
    (rows,): ``treated`` 1/0, ``outcome`` in any unit (the curve is in that unit)."""
    x, n_t, n_c, y_t, y_c = _cumulative(score, treated, outcome)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = y_t - np.where(n_c > 0, y_c * n_t / np.where(n_c > 0, n_c, 1), 0.0)
    return x, np.r_[0.0, q]


def uplift_curve(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The uplift curve (Rzepakowski and Jaroszewicz 2012; Gutierrez and Gérardy 2017): (share of
    rows taken, ``(Y_t/N_t - Y_c/N_c) (N_t + N_c)``), from (0, 0), one point per tie group; a group
    mean with no row yet is 0. Same arguments as :func:`qini_curve`."""
    x, n_t, n_c, y_t, y_c = _cumulative(score, treated, outcome)
    mean_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t > 0)
    mean_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c > 0)
    return x, np.r_[0.0, (mean_t - mean_c) * (n_t + n_c)]


def _area(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def qini_coefficient(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> float:
    """The Qini coefficient (Radcliffe 2007): area between the Qini curve and random targeting's
    straight line (from (0, 0) to the curve's end), divided by the number of rows: currency per member when ``outcome`` is currency; 0 for a
    ranking no better than chance, NaN for no rows."""
    if not len(score):
        return float("nan")
    x, q = qini_curve(score, treated, outcome)
    return (_area(x, q) - q[-1] / 2) / len(score)


def auuc(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> float:
    """AUUC (Gutierrez and Gérardy 2017): area under the uplift curve (:func:`uplift_curve`,
    trapezoids over the share of rows), divided by the number of rows: currency per member when ``outcome`` is currency; NaN for no rows."""
    if not len(score):
        return float("nan")
    x, u = uplift_curve(score, treated, outcome)
    return _area(x, u) / len(score)


@dataclass(frozen=True)
class Validation:
    """How the model's ranking did against the RFM rule's on past randomised data. Each figure is
    (value, 95% low, high), currency per row of the data."""
    rows: int
    holdout_rows: int
    campaigns: tuple[str, ...]
    model_qini: tuple[float, float, float]
    rfm_qini: tuple[float, float, float]
    difference: tuple[float, float, float]      # Qini, model minus RFM
    model_auuc: tuple[float, float, float]
    rfm_auuc: tuple[float, float, float]
    auuc_difference: tuple[float, float, float]
    curves: dict = field(default_factory=dict)  # "model" / "rfm" / "random": (share, incremental margin)
    #: the out-of-fold scores ("model", "rfm": currency per row) with "treated" (1/0) and "value" (currency)
    #: of each row, for :func:`measured_gain`
    scores: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def model_is_better(self) -> bool:
        """True when the model's Qini beats the RFM rule's with the difference's interval above zero."""
        return self.difference[1] > 0


def out_of_fold_scores(rows: pd.DataFrame, margin: float, folds: int = 5, seed: int = 0,
                       learner: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """Each row's expected incremental margin by the model (``learner``: ``"x"`` or ``"t"``) and by
    the RFM rule, each learnt on the other folds (members are assigned to folds by a seeded draw over
    their ids, so every row of a member is scored by models that never saw that member). Returns
    (model, rfm), currency, shape (rows,) each. Raises ``ValueError`` when a fold's model cannot be
    fitted (too few rows)."""
    ids = np.array(sorted(rows.member_id.astype(str).unique()))
    fold_of = dict(zip(ids, np.random.default_rng(seed).integers(0, folds, len(ids))))
    fold = rows.member_id.astype(str).map(fold_of).to_numpy()
    model, rule = np.zeros(len(rows)), np.zeros(len(rows))
    for k in range(folds):
        test, train = fold == k, fold != k
        if not test.any():
            continue
        fitted = LEARNERS[learner](seed=seed).fit(rows[train])
        model[test] = expected_incremental_margin(fitted, rows[test], margin)
        rule[test] = rows.segment[test].map(segment_uplift(rows[train])).fillna(0.0).to_numpy()
    return model, rule


def validate(rows: pd.DataFrame, margin: float, folds: int = 5, bootstraps: int = 200, seed: int = 0,
             learner: str = "x") -> Validation:
    """The model against the RFM rule on past campaigns with a holdout (:func:`training_rows`): Qini
    coefficients and AUUC of both out-of-fold rankings (:func:`out_of_fold_scores`) on ``value``,
    with percentile bootstrap intervals (targeted and holdout rows resampled separately,
    ``bootstraps`` times, seeded). Raises ``ValueError`` when a fold's model cannot be fitted."""
    model, rule = out_of_fold_scores(rows, margin, folds, seed, learner)
    t, y = rows.treated.to_numpy(), rows.value.to_numpy(dtype="float64")
    rng = np.random.default_rng([seed, 1])
    idx_t, idx_c = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    draws = []
    for _ in range(bootstraps):
        i = np.r_[rng.choice(idx_t, len(idx_t)), rng.choice(idx_c, len(idx_c))]
        a, b = qini_coefficient(model[i], t[i], y[i]), qini_coefficient(rule[i], t[i], y[i])
        c, d = auuc(model[i], t[i], y[i]), auuc(rule[i], t[i], y[i])
        draws.append((a, b, a - b, c, d, c - d))
    d = np.array(draws)

    def summary(col: int, value: float) -> tuple[float, float, float]:
        lo, hi = np.percentile(d[:, col], [2.5, 97.5])
        return float(value), float(lo), float(hi)
    qm, qr = qini_coefficient(model, t, y), qini_coefficient(rule, t, y)
    am, ar = auuc(model, t, y), auuc(rule, t, y)
    curves = {name: tuple(a.tolist() for a in qini_curve(s, t, y)) for name, s in (("model", model), ("rfm", rule))}
    curves["random"] = ([0.0, 1.0], [0.0, curves["model"][1][-1]])
    return Validation(len(rows), int((t == 0).sum()), tuple(sorted(rows.campaign_id.unique())),
                      summary(0, qm), summary(1, qr), summary(2, qm - qr), summary(3, am), summary(4, ar),
                      summary(5, am - ar), curves, {"model": model, "rfm": rule, "treated": t, "value": y})


# ------------------------------------------------------------------ what a list will gain, measured out of sample
#: The shares of the rows, best first, at which the out-of-fold gain is measured and a list may be cut.
SHARES = tuple(round(0.05 * k, 2) for k in range(1, 21))
#: Fewest targeted and fewest held-out rows in a top share for its gain to be measured (else it is not a candidate).
MIN_GROUP_ROWS = 10
DECILES = 10


def _simultaneous_low(value: np.ndarray, draws: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Lower ends of a bootstrap sup-t band (Montiel Olea and Plagborg-Møller 2019): ``value`` (shape (k,))
    minus the ``level`` quantile, over the draws (shape (draws, k)), of the largest standardised distance of
    a draw from ``value`` over the k points, times each point's bootstrap standard deviation. NaN where a
    point has no spread or no draws."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # a share without a group in some draws: NaN
        sd = np.nanstd(draws, axis=0)
        ok = np.isfinite(sd) & (sd > 0) & np.isfinite(value)
        if not ok.any() or not len(draws):
            return np.full(len(value), np.nan)
        dist = np.nanmax(np.abs(draws[:, ok] - value[ok]) / sd[ok], axis=1)
        q = np.nanquantile(dist, level)
    return np.where(ok, value - q * np.where(ok, sd, 0.0), np.nan)


def ranked(score: np.ndarray, seed: int = 0) -> np.ndarray:
    """Row positions best score first; tied scores in a seeded random order, so that a rule with few distinct
    scores (a segment's mean) is cut inside a tie group as a list cut by member id would be, not in the rows'
    order (campaign by campaign). Shape (rows,)."""
    score = np.asarray(score, dtype="float64")
    return np.lexsort((np.random.default_rng([seed, 3]).random(len(score)), -score))


def uplift_at_k(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray, k: int, seed: int = 0) -> float:
    """Uplift at k: among the ``k`` rows of highest score, the targeted rows' mean ``outcome`` minus the held-out
    rows' (scikit-uplift's ``uplift_at_k(strategy="overall")``; Radcliffe 2007's incremental response of the top
    of a ranking per row): the incremental outcome per row of contacting those rows, in ``outcome``'s unit.
    Ties: :func:`ranked`. NaN when the top ``k`` rows lack either group. Raises ``ValueError`` for ``k`` outside
    1..rows."""
    n = len(score)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    top = ranked(score, seed)[:k]
    t = np.asarray(treated)[top] == 1
    y = np.asarray(outcome, dtype="float64")[top]
    if not t.any() or t.all():
        return float("nan")
    return float(y[t].mean() - y[~t].mean())


@dataclass(frozen=True)
class MeasuredGain:
    """What contacting the top share of a ranking gained on the past randomised campaigns, out of fold
    (:func:`measured_gain`). Money in the outcome's currency; triples are (value, 95% low, high)."""
    shares: tuple[float, ...]                  # the grid, :data:`SHARES`
    uplift: np.ndarray                         # (shares, 3): incremental margin per row in the top share
    net: np.ndarray                            # (shares, 3): share x (uplift - cost), per row of the data
    rows: np.ndarray                           # (shares, 2): targeted and held-out rows in the top share
    share: float                               # the share chosen; 0: contact nobody
    per_member: tuple[float, float, float]     # uplift - cost at the chosen share, per contacted member
    calibration: pd.DataFrame                  # per decile of the score: predicted and measured, see measured_gain
    contact_cost: float = 0.0
    surest: np.ndarray | None = None           # (shares,): net's lower end in the 95% simultaneous band (the choice)

    def index(self) -> int | None:
        """The chosen share's position in :attr:`shares` (None: nobody contacted)."""
        return self.shares.index(self.share) if self.share in self.shares else None


def measured_gain(score: np.ndarray, treated: np.ndarray, value: np.ndarray, contact_cost: float,
                  shares=SHARES, bootstraps: int = 200, seed: int = 0, min_rows: int = MIN_GROUP_ROWS) -> MeasuredGain:
    """The incremental margin that contacting the top share φ of the rows achieved on randomised past
    campaigns, ranked by out-of-fold scores (:attr:`Validation.scores`), and the share to contact.

    At each φ of ``shares``: the uplift at k = round(φ rows) (:func:`uplift_at_k`, currency per row; Radcliffe
    2007; scikit-uplift's ``uplift_at_k`` and causalml's ``get_cumgain`` divided by the rows taken) and the net
    gain per row of the data, φ (uplift - ``contact_cost``). Intervals: percentile bootstrap (``bootstraps``
    draws, seeded), targeted and holdout rows resampled separately as :func:`validate` does, the scores fixed.

    The share chosen is the one whose net gain's lower end is highest, provided that lower end is above
    zero; otherwise 0 (contact nobody). Taking the highest point of the curve would pick the luckiest share
    of a noisy curve and, for a model that overestimates uplift, a long list; the lower confidence bound is
    the criterion of high-confidence policy improvement (Thomas, Theocharous and Ghavamzadeh 2015, "High
    confidence policy improvement", ICML): a policy is deployed only where its gain's lower bound beats doing
    nothing. The lower ends are those of a 95% simultaneous band over all the shares (the bootstrap sup-t
    band, Montiel Olea and Plagborg-Møller 2019, "Simultaneous confidence bands", Journal of Applied
    Econometrics 34, 1-17), not of each share's own interval: with 20 shares to choose from, one share's
    pointwise lower end clears zero by chance far more often than 2.5% of the time when nothing works. The
    cut-off is read from the gains curve as Radcliffe (2007) recommends, measured on data the scores never
    saw. A share with fewer than ``min_rows`` targeted or held-out rows is never chosen. The estimate at the
    chosen share is still read from the curve that chose it, so it can be slightly optimistic; its
    (pointwise, percentile) interval is reported with it. The rows of each top share are those of the
    scores' order; a draw reweights them.

    ``calibration``: per decile of the score (best first): ``decile`` (1 = highest), ``rows``, ``predicted``
    (mean score), ``measured`` (targeted mean minus holdout mean of ``value``), ``low``, ``high`` (its 95%
    bootstrap interval), currency per row. Arrays of shape (rows,). Raises ``ValueError`` for no rows.
    """
    score = np.asarray(score, dtype="float64")
    t = np.asarray(treated).astype(bool)
    y = np.asarray(value, dtype="float64")
    n = len(score)
    if n == 0:
        raise ValueError("measured_gain needs rows")
    order = ranked(score, seed)
    t, y, s = t[order], y[order], score[order]
    shares = tuple(shares)
    cut = np.clip(np.round(np.asarray(shares) * n).astype(int), 1, n)
    edges = np.round(np.linspace(0, n, DECILES + 1)).astype(int)
    rng = np.random.default_rng([seed, 4])
    pos_t, pos_c = np.flatnonzero(t), np.flatnonzero(~t)
    # Every figure is a sum over the rows before a cut or between two decile edges: sums per block between
    # consecutive boundaries are all a draw needs (one bincount per group, not cumulative sums over every row;
    # seconds at a million members).
    bounds = np.unique(np.r_[cut, edges[1:]])
    block = np.searchsorted(bounds, np.arange(n), side="right")
    at_cut = np.searchsorted(bounds, cut) + 1               # blocks summed for each cut
    at_edge = np.searchsorted(bounds, edges) + 1
    at_edge[0] = 0
    blocks_t, blocks_c, y_t, y_c = block[pos_t], block[pos_c], y[pos_t], y[pos_c]

    def curves(i_t: np.ndarray, i_c: np.ndarray):
        """(uplift at each cut, measured per decile) for the rows drawn (positions among the targeted, the held out)."""
        k = len(bounds)
        sums = [np.r_[0.0, np.cumsum(np.bincount(b, weights=w, minlength=k))]
                for b, w in ((blocks_t[i_t], None), (blocks_c[i_c], None), (blocks_t[i_t], y_t[i_t]),
                             (blocks_c[i_c], y_c[i_c]))]
        ct, cc, yt, yc = sums
        with np.errstate(invalid="ignore", divide="ignore"):
            at = yt[at_cut] / ct[at_cut] - yc[at_cut] / cc[at_cut]
            d = lambda a: np.diff(a[at_edge])  # noqa: E731
            dec = d(yt) / d(ct) - d(yc) / d(cc)
        return at, dec

    at, dec = curves(np.arange(len(pos_t)), np.arange(len(pos_c)))
    draws_at, draws_dec = np.empty((bootstraps, len(cut))), np.empty((bootstraps, DECILES))
    for b in range(bootstraps):
        draws_at[b], draws_dec[b] = curves(rng.integers(0, len(pos_t), len(pos_t)), rng.integers(0, len(pos_c), len(pos_c)))
    share_arr = np.asarray(shares)
    import warnings
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # a share without a group in some draws: NaN
        lo_at, hi_at = np.nanpercentile(draws_at, [2.5, 97.5], axis=0) if bootstraps else (at * np.nan, at * np.nan)
        net_draws = share_arr * (draws_at - contact_cost)
        lo_net, hi_net = np.nanpercentile(net_draws, [2.5, 97.5], axis=0) if bootstraps else (at * np.nan, at * np.nan)
        lo_dec, hi_dec = np.nanpercentile(draws_dec, [2.5, 97.5], axis=0) if bootstraps else (dec * np.nan, dec * np.nan)
    rows = np.column_stack([np.cumsum(t)[cut - 1], np.cumsum(~t)[cut - 1]])
    net = share_arr * (at - contact_cost)
    surest = _simultaneous_low(net, net_draws)
    eligible = (rows.min(axis=1) >= min_rows) & np.isfinite(surest) & (surest > 0)
    chosen = int(np.argmax(np.where(eligible, surest, -np.inf))) if eligible.any() else None
    if chosen is None:
        share, per_member = 0.0, (float("nan"),) * 3
    else:
        share = shares[chosen]
        per_member = (float(at[chosen] - contact_cost), float(lo_at[chosen] - contact_cost),
                      float(hi_at[chosen] - contact_cost))
    calibration = pd.DataFrame({"decile": np.arange(1, DECILES + 1), "rows": np.diff(edges),
                                "predicted": [float(s[a:b].mean()) if b > a else np.nan for a, b in zip(edges[:-1], edges[1:])],
                                "measured": dec, "low": lo_dec, "high": hi_dec})
    return MeasuredGain(shares, np.column_stack([at, lo_at, hi_at]), np.column_stack([net, lo_net, hi_net]),
                        rows.astype(int), share, per_member, calibration, float(contact_cost), surest)


# ------------------------------------------------------------------ the list
def target_list(candidates: pd.DataFrame, expected_margin: np.ndarray, contact_cost: float,
                holdout_share: float = 0.1, seed: int = 0, share: float | None = None) -> pd.DataFrame:
    """The next campaign's list: the top ``share`` of the candidates by expected incremental margin (the
    share :func:`measured_gain` chose on past campaigns; 0: nobody), or, with ``share`` None, the members
    whose expected incremental margin exceeds the cost of contacting them; best first, with a seeded random
    holdout.

    ``candidates``: member features (:func:`member_features`, with ``segment``);
    ``expected_margin``: per candidate, currency, shape (candidates,); ``contact_cost``: currency per
    contacted member. Returns ``member_id``, ``segment``, ``expected_incremental_margin``,
    ``expected_net`` (minus ``contact_cost``), ``holdout`` (True for members kept out to measure the
    campaign), ranked by expected net (ties by member id). The holdout is drawn over the listed
    members in member id order, so the same list and seed give the same holdout. Raises
    ``ValueError`` for a holdout share outside [0, 1) or a share outside [0, 1].

    Example
    -------
    >>> c = pd.DataFrame({"member_id": ["a", "b", "c"], "segment": ["x", "x", "y"]})
    >>> target_list(c, np.array([3.0, 0.5, 2.0]), 1.0, holdout_share=0).member_id.tolist()
    ['a', 'c']
    """
    if not 0 <= holdout_share < 1:
        raise ValueError(f"holdout_share must be in [0, 1), got {holdout_share}")
    if share is not None and not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share}")
    out = pd.DataFrame({"member_id": candidates.member_id.astype(str).to_numpy(),
                        "segment": candidates.segment.to_numpy(),
                        "expected_incremental_margin": np.asarray(expected_margin, dtype="float64")})
    out["expected_net"] = out.expected_incremental_margin - contact_cost
    if share is None:
        out = out[out.expected_net > 0]
    else:
        out = out[_top(out.expected_net.to_numpy(), out.member_id, int(round(share * len(out))))]
    out = out.sort_values("member_id", kind="stable")
    out["holdout"] = np.random.default_rng([seed, 2]).random(len(out)) < holdout_share
    return out.sort_values(["expected_net", "member_id"], ascending=[False, True], kind="stable", ignore_index=True)


def _top(value: np.ndarray, member_id: pd.Series, k: int) -> np.ndarray:
    """Mask of the ``k`` highest values, ties at the cut taken by member id: what sorting every row by
    (value descending, member id) and keeping ``k`` gives, without sorting a million member ids."""
    n = len(value)
    if k >= n:
        return np.ones(n, dtype=bool)
    if k <= 0:
        return np.zeros(n, dtype=bool)
    cut = np.partition(value, n - k)[n - k]
    keep = value > cut
    tied = np.flatnonzero(value == cut)
    room = k - int(keep.sum())
    keep[tied[np.argsort(member_id.to_numpy()[tied], kind="stable")[:room]]] = True
    return keep


def rfm_target_list(candidates: pd.DataFrame, by_segment: pd.Series, contact_cost: float,
                    holdout_share: float = 0.1, seed: int = 0, share: float | None = None) -> pd.DataFrame:
    """The RFM rule's list: members ranked by their segment's incremental margin per member
    (:func:`segment_uplift`, currency), cut as :func:`target_list` cuts (the top ``share``, or with None
    every member of a segment whose figure exceeds ``contact_cost``); the columns of :func:`target_list`."""
    gain = candidates.segment.map(by_segment).fillna(0.0).to_numpy(dtype="float64")
    return target_list(candidates, gain, contact_cost, holdout_share, seed, share)


def expected_return(targets: pd.DataFrame, contact_cost: float, gain: MeasuredGain | None = None) -> dict:
    """What a list is expected to bring: ``listed``, ``contacted`` (not in the holdout), ``holdout``
    (counts), ``contact_cost`` (currency, the contacted members'), and, from ``gain`` (the list's share
    measured out of fold on past campaigns, :func:`measured_gain`): ``per_member`` (net gain per contacted
    member, [value, 95% low, high]), ``net``, ``net_low``, ``net_high`` (that times the contacted members)
    and ``incremental_margin`` (the measured uplift times the contacted members). The holdout is not
    contacted and brings nothing. ``in_sample_net``: the sum of the model's own predictions for the
    contacted members less their cost (fitted on all the data: optimistic, for analysts only). Without
    ``gain`` the measured figures are NaN. Currency."""
    sent = targets[~targets.holdout]
    n = len(sent)
    cost = float(contact_cost * n)
    k = gain.index() if gain is not None else None
    per = list(gain.per_member) if k is not None else [float("nan")] * 3
    uplift_at = float(gain.uplift[k, 0]) if k is not None else float("nan")
    return {"listed": int(len(targets)), "contacted": int(n), "holdout": int(targets.holdout.sum()),
            "contact_cost": cost, "per_member": per,
            "incremental_margin": uplift_at * n if n else 0.0,
            "net": per[0] * n if n else 0.0, "net_low": per[1] * n if n else 0.0, "net_high": per[2] * n if n else 0.0,
            "in_sample_net": float(sent.expected_incremental_margin.sum()) - cost}


def past_net_per_member(members: pd.DataFrame, campaigns: pd.DataFrame, margin: float,
                        window: str = "during") -> pd.DataFrame:
    """What each past campaign with a holdout actually gained per targeted member over ``window``, the
    forecast's own window, so that the two compare like with like: ``margin`` x the targeted members' mean
    revenue minus the holdout's, less the campaign's cost over its targeted members (the campaign review's
    difference of means, :func:`memberkit.campaign.review`). ``window``: ``"during"`` (the default, as
    :func:`training_rows`: ``revenue_during``, the campaign's own days; orders only pulled forward into them
    are not netted, as they are not in the forecast) or ``"net"`` (``revenue_net``: also the ``post_days``
    after it, pull-forward netted: the campaign league's figure). ``members``:
    :func:`memberkit.campaign.campaign_members`; ``campaigns``: :func:`memberkit.campaign.campaigns_frame`.
    Returns ``campaign_id``, ``type``, ``targeted``, ``cost_per_member`` and ``net_per_member`` (currency per
    targeted member), best first; campaigns without a cost or with fewer than two members in a group are
    left out. Raises ``ValueError`` for an unknown window."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    columns = ["campaign_id", "type", "targeted", "cost_per_member", "net_per_member"]
    groups = members[members.group.isin(["target", "holdout"])].groupby(["campaign_id", "group"])[f"revenue_{window}"]
    stats = groups.agg(["mean", "size"]).unstack("group")
    if stats.empty or "holdout" not in stats["size"] or "target" not in stats["size"]:
        return pd.DataFrame(columns=columns)
    stats = stats[(stats["size"]["holdout"] >= 2) & (stats["size"]["target"] >= 2)]
    info = campaigns.set_index("campaign_id")
    cost = pd.to_numeric(info.cost.reindex(stats.index), errors="coerce")
    per_member = (cost / stats["size"]["target"]).to_numpy()
    out = pd.DataFrame({"campaign_id": stats.index.astype(str), "type": info.type.reindex(stats.index).astype(str).to_numpy(),
                        "targeted": stats["size"]["target"].astype(int).to_numpy(), "cost_per_member": per_member,
                        "net_per_member": (margin * (stats["mean"]["target"] - stats["mean"]["holdout"])).to_numpy()
                        - per_member})
    out = out[np.isfinite(out.net_per_member) & (cost > 0).to_numpy()]
    return out.sort_values(["net_per_member", "campaign_id"], ascending=[False, True], kind="stable", ignore_index=True)


# ------------------------------------------------------------------ one report's plan
@dataclass
class Plan:
    """The next campaign's targets for one campaign type (:func:`plan`).

    ``state``: ``ready``, or why there is no list: ``no_campaigns`` (no campaign of a type with a
    holdout), ``too_few_holdout`` (fewer than ``min_holdout`` holdout members in the type's
    campaigns), ``not_learnt`` (a model could not be fitted: ``error`` says why), ``no_table`` (the
    sources have no campaign tables: the report says so already, the section is left out). ``recommended``: ``model`` or ``rfm``. Money in the shop's currency.
    """
    state: str
    campaign_type: str | None = None
    campaigns: tuple[str, ...] = ()
    holdout_rows: int = 0
    min_holdout: int = 100
    contact_cost: float = float("nan")
    #: where ``contact_cost`` comes from: ``setting`` (``target_contact_cost``) or ``latest`` (``cost_campaign``'s)
    cost_basis: str = "latest"
    cost_campaign: str | None = None
    #: :func:`type_costs` of the campaigns learnt from: each one's cost per targeted member
    type_costs: pd.DataFrame | None = None
    window: str = "during"
    holdout_share: float = 0.1
    seed: int = 0
    validation: Validation | None = None
    recommended: str | None = None
    error: str = ""
    model_list: pd.DataFrame | None = None
    rfm_list: pd.DataFrame | None = None
    by_segment: pd.Series | None = None
    #: members each list ranks (every member of the period's member table), per RFM segment ("none": no
    #: purchase in the window): a list holds the top share of them, so its segments are smaller than these
    ranked_by_segment: pd.Series | None = None
    #: "model" / "rfm": :func:`expected_return` of each list, from its own ranking's out-of-fold gain
    returns: dict = field(default_factory=dict)
    #: "model" / "rfm": :func:`measured_gain` of each ranking on the past campaigns (chooses each list's length)
    gains: dict = field(default_factory=dict)
    #: :func:`past_net_per_member` of every ended campaign with a holdout and a cost, best first
    past: pd.DataFrame | None = None

    @property
    def targets(self) -> pd.DataFrame | None:
        """The recommended list."""
        return {"model": self.model_list, "rfm": self.rfm_list}.get(self.recommended)


def contact_cost(campaigns: pd.DataFrame, members: pd.DataFrame, campaign_id: str) -> float:
    """A campaign's cost per contacted member: its cost over its targeted (not held-out) members
    (currency per member; NaN when the cost is missing or nobody was targeted).

    :func:`plan` assumes the latest campaign's of the type when ``target_contact_cost`` is not set, rather
    than the type's campaigns' cost pooled (total cost over total targeted) or the highest, because of what
    the past campaigns show: the incremental margin per targeted member did not follow the cost. On the
    20,000-member sample retailer (seed 7, window ``during``) the member days C2501 (CN¥12.52 per targeted
    member) and C2610 (CN¥1.24) each brought about CN¥4.4 of incremental margin per targeted member in their
    own days (CN¥4.48 and CN¥4.41). The response learnt from both campaigns is then that of either, and what
    the next one costs is a fact of its plan, not something learnt: the latest campaign's cost is the shop's
    current practice, a pooled cost (CN¥6.84 there) is the cost of no campaign anyone ran, and the highest
    that of an earlier campaign which bought no more response. Because that choice can turn a forecast round (at CN¥6.84 or
    CN¥12.52 no share of members pays for its contacts there), the page names the type's range of past costs
    with what each end brought and the forecast at the dearest, whenever they differ more than
    :data:`COST_SPREAD` times (:func:`cost_spread`), and a campaign planned at a known cost should set it."""
    cost = campaigns.set_index("campaign_id").cost.get(campaign_id)
    n = int(((members.campaign_id == campaign_id) & (members.group == "target")).sum())
    return float(cost) / n if n and cost is not None and np.isfinite(float(cost)) else float("nan")


def type_costs(campaigns: pd.DataFrame, members: pd.DataFrame, campaign_ids) -> pd.DataFrame:
    """Each of ``campaign_ids``' cost and targeted (not held-out) members: ``campaign_id``, ``cost``
    (currency, NaN when missing), ``targeted`` (count) and ``per_member`` (currency per targeted member,
    NaN without a cost or without targeted members), in the order given. ``campaigns``:
    :func:`memberkit.campaign.campaigns_frame`; ``members``: :func:`memberkit.campaign.campaign_members`."""
    ids = [str(c) for c in campaign_ids]
    cost = pd.to_numeric(campaigns.set_index(campaigns.campaign_id.astype(str)).cost.reindex(ids), errors="coerce")
    targeted = members[members.group == "target"].campaign_id.astype(str).value_counts().reindex(ids, fill_value=0)
    per = cost.to_numpy(dtype="float64") / np.where(targeted.to_numpy() > 0, targeted.to_numpy(), np.nan)
    return pd.DataFrame({"campaign_id": ids, "cost": cost.to_numpy(dtype="float64"),
                         "targeted": targeted.to_numpy().astype(int), "per_member": per})


#: the page names the range of the type's past costs per targeted member when the highest is more than
#: this many times the lowest (the cost assumed then hides a choice a reader should see)
COST_SPREAD = 2.0


def cost_spread(costs: pd.DataFrame | None) -> tuple[float, float] | None:
    """(lowest, highest) cost per targeted member of :func:`type_costs` when the highest is more than
    :data:`COST_SPREAD` times the lowest (currency per member), else None."""
    if costs is None:
        return None
    per = costs.per_member[np.isfinite(costs.per_member) & (costs.per_member > 0)]
    if len(per) < 2 or per.max() <= COST_SPREAD * per.min():
        return None
    return float(per.min()), float(per.max())


def at_dearest_cost(costs, cost: float, per_member: float, contacted: int) -> dict | None:
    """What a list forecast to bring ``per_member`` (net gain per contacted member at ``cost`` per contact,
    currency) would bring at the dearest cost per targeted member among its type's past campaigns, when
    those costs differ more than :data:`COST_SPREAD` times (:func:`cost_spread`) and the dearest is above
    ``cost``: ``{"campaign_id", "cost", "per_member", "net"}`` (the campaign that cost most per targeted
    member, that cost, the list's net gain per contacted member at it, and for the ``contacted`` members in
    all), else None. The measured uplift does not depend on the cost, so the gain at another cost is the
    same incremental margin less that cost: ``per_member + cost - dearest``. ``costs``: :func:`type_costs`
    as a frame or as its records (``campaign_review.json``). Raises nothing; None also without a forecast."""
    if costs is None or cost is None or per_member is None or not np.isfinite(cost) or not np.isfinite(per_member):
        return None
    frame = costs if isinstance(costs, pd.DataFrame) else pd.DataFrame(list(costs))
    if frame.empty:
        return None
    frame = frame.assign(per_member=pd.to_numeric(frame.per_member, errors="coerce"))
    spread = cost_spread(frame)
    if spread is None or spread[1] <= cost:
        return None
    # the first campaign at the dearest cost, in the order given (stable on ties)
    dear = frame.loc[frame.per_member.idxmax()]
    at = per_member + cost - spread[1]
    return {"campaign_id": str(dear.campaign_id), "cost": spread[1], "per_member": at, "net": at * int(contacted)}


def plan(tables: dict, period_end: _dt.date, params, rfm_params, data_end: _dt.date | None = None,
         period_table: pd.DataFrame | None = None, member_tables: dict | None = None,
         campaign_members: pd.DataFrame | None = None, profile: pd.DataFrame | None = None) -> Plan:
    """The next campaign's target list from the clean tables (engine tables by name).

    ``params``: the campaign review's settings (``margin``, ``post_days`` and the ``target_*``
    settings: campaign type, holdout share, seed, contact cost, outcome window, minimum holdout);
    ``rfm_params``: the RFM report's (segments at each campaign's eve and at the period's end).
    The type is ``target_campaign_type``, else that of the latest campaign with a holdout that ended
    by ``data_end``. Learns on every campaign of the type with a holdout that ended by then,
    validates (:func:`validate`), and builds both lists for every member of the period-end member
    table; ``recommended`` is the model's list when :attr:`Validation.model_is_better`, else the RFM
    rule's. ``period_table``: the RFM report's member table at ``period_end`` (the period store's
    ``members``), read rather than built again; None builds it here (an analyst's call on its own).
    ``member_tables``: date -> the RFM member table, or its rows of the campaigns' members
    (:class:`memberkit.rfm.MemberRows`), already built with ``rfm_params`` for every eve of a campaign it
    learns from that falls on that date (the campaign review's,
    :attr:`memberkit.campaign.CampaignAnalysis.member_tables`); at the other eves only the campaigns'
    members' rows are built (:func:`memberkit.rfm.member_rows_at`), in one engine query.
    ``campaign_members``: :func:`memberkit.campaign.campaign_members` already measured with ``params`` up to
    ``data_end`` (:attr:`~memberkit.campaign.CampaignAnalysis.campaign_members`), read when it holds every
    campaign that ended by then, else measured here; ``profile``: :func:`memberkit.rfm.member_profile` of
    ``tables["members"]`` already made, else made here when the period-end table is built here.
    The contact cost is ``target_contact_cost``, else the latest learnt campaign's cost per targeted member
    (:func:`contact_cost`), with every learnt campaign's in :attr:`Plan.type_costs`; :attr:`Plan.past` is
    measured over ``target_window``, the forecast's own window.
    """
    from . import campaign, rfm
    data_end = min(data_end or period_end, period_end)
    out = Plan("no_campaigns", window=params.target_window, holdout_share=params.target_holdout_share,
               seed=params.target_seed, min_holdout=params.target_min_holdout)
    camps = campaign.campaigns_frame(tables)
    if camps.empty:
        out.state = "no_campaigns" if "campaigns" in tables and "campaign_members" in tables else "no_table"
        return out
    ended = camps[camps.end <= data_end]
    if campaign_members is not None and set(ended.campaign_id) <= set(campaign_members.campaign_id):
        # the same rows in the same order as measuring the ended campaigns alone (rows come in campaign order)
        members = campaign_members[campaign_members.campaign_id.isin(ended.campaign_id)].reset_index(drop=True)
    else:
        members = campaign.campaign_members(tables, ended.campaign_id.tolist(), params, data_end) if len(ended) \
            else pd.DataFrame()
    if members.empty:
        return out
    of_type = learning_campaigns(ended, members, params)
    if of_type.empty:
        out.campaign_type = params.target_campaign_type
        return out
    out.campaign_type, out.campaigns = str(of_type.type.iloc[0]), tuple(of_type.campaign_id.astype(str))
    out.holdout_rows = int((members.campaign_id.isin(of_type.campaign_id) & (members.group == "holdout")).sum())
    if out.holdout_rows < params.target_min_holdout:
        out.state = "too_few_holdout"
        return out
    last = str(of_type.campaign_id.iloc[-1])
    out.cost_campaign = last
    out.type_costs = type_costs(camps, members, of_type.campaign_id)
    out.cost_basis = "setting" if params.target_contact_cost is not None else "latest"
    # the latest campaign's cost, not the type's pooled or highest: see contact_cost's docstring for the evidence
    out.contact_cost = (float(params.target_contact_cost) if params.target_contact_cost is not None
                        else contact_cost(camps, members, last))
    eve = {str(c): s - _dt.timedelta(days=1) for c, s in zip(of_type.campaign_id, of_type.start)}
    at = dict(member_tables or {})
    # at each eve only the rows of the campaigns' own members (the order value's median and cap: the whole table's)
    wanted = {d: members.member_id[members.campaign_id.isin([c for c, e in eve.items() if e == d])]
              for d in dict.fromkeys(eve.values()) if d not in at}
    if wanted:
        at.update(rfm.member_rows_at(tables["orders"], tables["members"], wanted, rfm_params))
    if period_table is None:
        profile = rfm.member_profile(tables["members"]) if profile is None else profile
        period_table = rfm.member_table_at(tables["orders"], profile, period_end, rfm_params)[0]
    rows = training_rows(members, {c: at[d] for c, d in eve.items()}, params.margin, params.target_window)
    try:
        out.validation = validate(rows, params.margin, seed=params.target_seed)
        learner = XLearner(seed=params.target_seed).fit(rows)
    except ValueError as e:           # a fold with too few targeted or held-out members
        out.state, out.error = "not_learnt", str(e)
        return out
    candidates = member_features(period_table, period_end, past_responses(members, period_end + _dt.timedelta(days=1)))
    out.by_segment = segment_uplift(rows)
    out.ranked_by_segment = candidates.segment.value_counts()
    cost = out.contact_cost if np.isfinite(out.contact_cost) else 0.0
    # each list's length and gain from its own ranking measured on the past campaigns, out of fold: the
    # model's in-sample predictions overstate what it finds (fitted on the same rows)
    v = out.validation.scores
    out.gains = {rule: measured_gain(v[rule], v["treated"], v["value"], cost, seed=params.target_seed)
                 for rule in ("model", "rfm")}
    model_margin = expected_incremental_margin(learner, candidates, params.margin)   # (seconds at a million members)
    out.model_list = target_list(candidates, model_margin, cost, params.target_holdout_share, params.target_seed,
                                 share=out.gains["model"].share)
    out.rfm_list = rfm_target_list(candidates, out.by_segment, cost, params.target_holdout_share, params.target_seed,
                                   share=out.gains["rfm"].share)
    out.recommended = "model" if out.validation.model_is_better else "rfm"
    out.returns = {rule: expected_return(t, cost, out.gains[rule]) for rule, t in (("model", out.model_list),
                                                                                  ("rfm", out.rfm_list))}
    # over the forecast's own window, so that the forecast and the past campaigns' actuals compare like with like
    out.past = past_net_per_member(members, camps, params.margin, params.target_window)
    out.state = "ready"
    return out


def learning_campaigns(ended: pd.DataFrame, members: pd.DataFrame, params) -> pd.DataFrame:
    """The campaigns the next campaign's target list learns from, by start and id: of ``ended`` (campaigns
    that ended by the data's end, :func:`memberkit.campaign.campaigns_frame`'s rows), those with at least
    two held-out members in ``members`` (:func:`memberkit.campaign.campaign_members`) of the type
    ``params.target_campaign_type``, else of the type of the latest of them. Empty when there is none."""
    held = members[members.group == "holdout"].groupby("campaign_id").size()
    with_holdout = ended[ended.campaign_id.isin(held[held >= 2].index)]
    if params.target_campaign_type:
        with_holdout = with_holdout[with_holdout.type == params.target_campaign_type]
    if with_holdout.empty:
        return with_holdout
    latest = with_holdout.sort_values(["start", "campaign_id"], kind="stable").iloc[-1]
    kind = params.target_campaign_type or latest.type
    return with_holdout[with_holdout.type == kind].sort_values(["start", "campaign_id"], kind="stable")


def export_targets(p: Plan, folder, currency: str = "CNY"):
    """The recommended list in ``folder``, in two files of the same columns (:func:`target_file_columns`: member
    id, segment code with its English and Chinese labels, expected incremental margin and net at the
    currency's minor unit, named with ``currency``), best first: :data:`TARGET_FILE` holds the members to contact, :data:`HOLDOUT_FILE`
    the members kept out at random, not to be contacted (one file mixing both, with a flag, invites a CRM
    team to send to everyone). UTF-8 with a byte-order mark, member ids only. Returns the targets' path, or
    None when the plan has no list."""
    from pathlib import Path
    from .clv import _write_csv
    from .engine import currency_scale
    from .rfm import outside_window, schemes
    if p.targets is None:
        return None
    hl, outside = schemes()["high_low"], outside_window()
    t = p.targets
    # each distinct segment looked up once, not once per member (a million members)
    codes, distinct = pd.factorize(t.segment.astype(str))
    keys = [k if k in hl.keys else outside.key for k in distinct]

    def per_member(values: list[str]) -> np.ndarray:
        return np.array(values, dtype=object)[codes]

    def label(language: str) -> np.ndarray:
        return per_member([hl.segment(k).label[language] if k != outside.key else outside.label[language] for k in keys])
    digits = currency_scale(currency)
    frame = pd.DataFrame({"member_id": t.member_id, "segment": per_member(keys), "segment_label_en": label("en"),
                          "segment_label_zh": label("zh"),
                          "expected_incremental_margin": t.expected_incremental_margin.round(digits),
                          "expected_net": t.expected_net.round(digits)}, columns=TARGET_COLUMNS)
    frame.columns = target_file_columns(currency)
    held = t.holdout.astype(bool).to_numpy()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in ((HOLDOUT_FILE, frame[held]), (TARGET_FILE, frame[~held])):
        # the bytes of to_csv(index=False, encoding="utf-8-sig", float_format=...) with "\n" line ends,
        # joined in Arrow (pandas' row-by-row writer took most of the export's seconds at a million members)
        _write_csv(rows, folder / name, float_format=f"%.{digits}f")
    return folder / TARGET_FILE


def key_results(p: Plan) -> dict:
    """The ``uplift`` block of ``campaign_review.json``: plain numbers and codes (no words, no member ids)."""
    def triple(x):
        return [float(v) for v in x] if x is not None else None
    v = p.validation
    return {
        "state": p.state, "campaign_type": p.campaign_type, "campaigns": list(p.campaigns),
        "holdout_rows": p.holdout_rows, "min_holdout": p.min_holdout, "window": p.window, "holdout_share": p.holdout_share, "seed": p.seed,
        "contact_cost": float(p.contact_cost) if np.isfinite(p.contact_cost) else None,
        "cost_campaign": p.cost_campaign, "cost_basis": p.cost_basis,
        "type_costs": None if p.type_costs is None else [
            {"campaign_id": r.campaign_id, "cost": float(r.cost) if np.isfinite(r.cost) else None,
             "targeted": int(r.targeted), "per_member": float(r.per_member) if np.isfinite(r.per_member) else None}
            for r in p.type_costs.itertuples()],
        "recommended": p.recommended,
        "validation": None if v is None else {
            "rows": v.rows, "holdout_rows": v.holdout_rows, "model_qini": triple(v.model_qini),
            "rfm_qini": triple(v.rfm_qini), "qini_difference": triple(v.difference),
            "model_auuc": triple(v.model_auuc), "rfm_auuc": triple(v.rfm_auuc),
            "auuc_difference": triple(v.auuc_difference), "model_is_better": v.model_is_better},
        "returns": {k: {kk: (float(vv) if isinstance(vv, float) else vv) for kk, vv in r.items()}
                    for k, r in p.returns.items()},
        "measured": {k: _gain_results(g) for k, g in p.gains.items()},
        "past": None if p.past is None else [{"campaign_id": r.campaign_id, "type": r.type, "targeted": int(r.targeted),
                                               "cost_per_member": float(r.cost_per_member),
                                               "net_per_member": float(r.net_per_member)} for r in p.past.itertuples()],
        "file": f"data/{TARGET_FILE}" if p.targets is not None else None,
        "holdout_file": f"data/{HOLDOUT_FILE}" if p.targets is not None else None,
    }


def _gain_results(g: MeasuredGain) -> dict:
    """A :class:`MeasuredGain` as plain numbers: the chosen share, the curve per share, the calibration."""
    return {"share": g.share, "per_member": [float(x) for x in g.per_member], "shares": list(g.shares),
            "uplift": g.uplift.tolist(), "net_per_row": g.net.tolist(), "rows": g.rows.tolist(),
            "net_per_row_band_low": g.surest.tolist() if g.surest is not None else None,
            "calibration": g.calibration.to_dict(orient="list")}
