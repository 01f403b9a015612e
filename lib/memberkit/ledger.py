"""The ledger: what became of last month's decisions and how good last month's forecast was.

Month M+1 reads month M's *published* results (``outputs/<M>/``: ``campaign_review.json``,
``ab_test.json``, ``clv_forecast.json``, ``data/clv_members.csv``; numbers and codes only) and the
clean data of M+1, and writes its findings into its own folder only (``ledger.json``, a store
entry produced by the runner's step right after the cleaning; :func:`produce_ledger`). Month M's
folder is never written here. When month M was never run, the ledger says so
(``state: previous_not_run``). The file holds no time of day and is stamped with the digest of
what it read from M's folder, so a rerun is byte-identical while M's folder is unchanged.

Two parts:

- **decisions** (:func:`decision_entries`, :func:`follow_ups`): each decision the summary of M
  proposed gets a stable id ``<M>:<kind>:<subject>`` (``2026-10:campaign:C2610``,
  ``2026-10:experiment:EXP-PUSH``, ``2026-10:at_risk:high_value``), its evidence and the figure it
  expects; then what followed in M+1's data: a campaign of the same type run again (the summary
  takes its verdict from M+1's own campaign review), the experiment's assignments (ended before M+1,
  ended within it, still going), and the win-back list's members who bought again against comparable
  members not on the list (:func:`winback_response`).
- **forecast** (:func:`score_forecast`): M's per-member forecast scored over the weeks elapsed
  since its end, with the model's conditional expectation for that time (the lifetimes quantity
  ``conditional_expected_number_of_purchases_up_to_time(t, ...)`` with ``t`` = elapsed units, not the
  12-month CLV; :func:`memberkit.clv.expected_purchases_of`) and the chance of at least one purchase
  (:func:`probability_any_purchase`): aggregate error, error by segment and tier, reliability bins,
  and a drift alarm per segment (:func:`drift`). The scored months are carried forward month to
  month in ``forecast.history`` (each ledger copies M's history and adds its own scoring), which is
  the CLV page's track record.

Example
-------
>>> decision_id("2026-10", "campaign", "C2610")
'2026-10:campaign:C2610'
>>> round(float(probability_any_purchase("bgnbd", {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}, 1.0, 0, 0, 0)[0]), 4)
0.5
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .clv import probability_any_purchase  # noqa: F401  (the forecast's chance of a purchase, scored here)

LEDGER_FILE = "ledger.json"
STATES = ("ok", "previous_not_run", "failed")   # ledger.json's state; each has words in runner.ledger_state_*
#: What month M+1 reads from month M's folder (relative paths); their digest is the ledger's stamp.
PUBLISHED_FILES = ("campaign_review.json", "ab_test.json", "clv_forecast.json", "ledger.json",
                   "data/clv_members.csv")
#: Months of scored history a segment needs before its band comes from its own record.
HISTORY_MONTHS = 6
#: A follow-up experiment still counts as assigning when its last assignment is this close to the data's end.
ENDED_DAYS = 7
RELIABILITY_BINS = 10
OUTSIDE_SEGMENT = "no_recent_purchase"


class LedgerError(Exception):
    """Month M's published results cannot be read as the ledger needs them (``why``: a code)."""

    def __init__(self, why: str, detail: str = ""):
        self.why, self.detail = why, detail
        super().__init__(f"{why}: {detail}" if detail else why)


# ------------------------------------------------------------------ month M's published results
def decision_id(period: str, kind: str, subject: str) -> str:
    """The stable id of a decision: ``<month>:<kind>:<subject>`` (subject: a campaign or experiment id,
    ``high_value`` for the win-back list)."""
    return f"{period}:{kind}:{subject}"


def previous_folder(out: Path, period: str) -> Path:
    """Month M's folder beside ``out`` (``outputs/<M+1>`` -> ``outputs/<M>``; a run staged in
    ``.<M+1>.partial-*`` looks beside it too)."""
    from .periods import previous_period
    return Path(out).parent / previous_period(period)


def published_digest(folder: Path) -> str | None:
    """sha256 (hex, 16 characters) over the names and bytes of :data:`PUBLISHED_FILES` present in
    ``folder``; None when none of the results files is there (the month was never run)."""
    folder = Path(folder)
    present = [f for f in PUBLISHED_FILES if (folder / f).is_file()]
    if not any(f.endswith(".json") and f != LEDGER_FILE for f in present):
        return None
    h = hashlib.sha256()
    for f in present:
        h.update(f.encode() + b"\0" + (folder / f).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def read_published(folder: Path) -> dict:
    """Month M's results as published: ``{name: results dict or None}`` for the three reports that
    propose decisions, and ``ledger`` (M's own ledger, for the forecast history) or None."""
    from .report import load_results
    folder = Path(folder)
    out = {name: load_results(folder, name) for name in ("campaign_review", "ab_test", "clv_forecast")}
    path = folder / LEDGER_FILE
    try:
        out["ledger"] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError:
        out["ledger"] = None
    return out


def decision_entries(period: str, published: dict, folder: Path | None = None) -> list[dict]:
    """Each decision month ``period``'s summary proposed, from its published results, in the summary's
    order (:data:`memberkit.reports.DECISIONS_ORDER`, each report's own ``decisions`` function).

    Returns dicts with ``id`` (:func:`decision_id`), ``kind`` (campaign, experiment, at_risk),
    ``action`` (repeat / change / stop, ship / do_not_ship / ..., win_back), ``subject`` (the id),
    ``evidence`` (the figures the decision rested on: return on cost and its interval, lift and its
    interval, members on the list) and ``expected`` (the figure it expects: a campaign's return on
    cost, an experiment's lift of its metric, the list's expected value over the horizon), plus the
    campaign's ``type``. Money in the shop's currency, shares as fractions.
    """
    from .reports import DECISIONS_ORDER, report, resolve
    out = []
    for name in DECISIONS_ORDER:
        results = published.get(name)
        entry = report(name)
        if not results or not entry.decisions:
            continue
        for d in resolve(entry.decisions)(results, folder):
            v = d["values"]
            if d["kind"] == "campaign":
                cid = v.get("campaign_id") or d["subject"].split(" ")[0]
                camp = (results.get("results", {}).get("campaigns") or {}).get(cid, {})
                out.append({"id": decision_id(period, "campaign", cid), "kind": "campaign", "action": d["action"],
                            "subject": cid, "type": camp.get("type"), "name": camp.get("name"),
                            "evidence": {"reason": v.get("reason"), "roi": v.get("roi"), "roi_low": v.get("roi_low"),
                                         "roi_high": v.get("roi_high"), "cost": v.get("cost"),
                                         "comparison": v.get("evidence")},
                            "expected": {"roi": v.get("roi")}})
            elif d["kind"] == "experiment":
                out.append({"id": decision_id(period, "experiment", d["subject"]), "kind": "experiment",
                            "action": d["action"], "subject": d["subject"], "variant": v.get("variant"),
                            "evidence": {"reason": v.get("reason"), "metric": v.get("metric"), "lift": v.get("lift"),
                                         "lift_low": v.get("lift_low"), "lift_high": v.get("lift_high")},
                            "expected": {"metric": v.get("metric"), "lift": v.get("lift")}})
            else:
                out.append({"id": decision_id(period, "at_risk", "high_value"), "kind": "at_risk",
                            "action": d["action"], "subject": "high_value",
                            "evidence": {"members": v.get("members"), "past_revenue": v.get("past_revenue"),
                                         "list": v.get("list")},
                            "expected": {"clv": v.get("clv")}})
    return out


# ------------------------------------------------------------------ what followed in M+1's data
def campaign_follow_up(entry: dict, campaigns: pd.DataFrame, after: _dt.date, end: _dt.date) -> dict:
    """Campaigns of the decision's type that started after month M (``after``, its last day) and by
    ``end`` (M+1's last day with data).

    ``campaigns``: the clean campaigns table (campaign_id, name, type, start, end, cost). Returns
    ``{"status": "run_again" | "not_run_again", "campaigns": [{campaign_id, name, start, end, cost}]}``
    (dates ISO, cost in the shop's currency), earliest first. Whether it paid is the M+1 campaign
    review's verdict on that campaign, read where the ledger is shown.
    """
    if campaigns is None or campaigns.empty or not entry.get("type"):
        return {"status": "not_run_again", "campaigns": []}
    c = campaigns[(campaigns["type"] == entry["type"]) & (campaigns["campaign_id"] != entry["subject"])].copy()
    start = pd.to_datetime(c["start"]).dt.date
    c = c[(start > after) & (start <= end)].assign(start_day=start).sort_values(["start_day", "campaign_id"],
                                                                                 kind="stable")
    found = [{"campaign_id": str(r["campaign_id"]), "name": None if pd.isna(r["name"]) else str(r["name"]),
              "start": r["start_day"].isoformat(), "end": pd.Timestamp(r["end"]).date().isoformat(),
              "cost": None if pd.isna(r["cost"]) else float(r["cost"])} for _, r in c.iterrows()]
    return {"status": "run_again" if found else "not_run_again", "campaigns": found}


def experiment_follow_up(entry: dict, assignments: pd.DataFrame, after: _dt.date, end: _dt.date) -> dict:
    """The experiment's assignments after month M: per variant how many members were assigned in
    (``after``, ``end``] and when the last assignment was.

    ``assignments``: the clean experiments table of M+1 (experiment_id, member_id, variant,
    assigned_ts) as pandas. Status: ``not_found`` (no row of the experiment), ``ended_before``
    (nobody assigned after M: the assignments had ended by ``last``), ``ended`` (members assigned
    in M+1, the last at least :data:`ENDED_DAYS` days before ``end``), ``continuing`` (still assigning
    near the data's end), ``undated`` (an export with its own outcomes and no assignment times).
    ``variants``: {variant: {"assigned": n in M+1, "last": ISO date}}.
    """
    a = assignments[assignments["experiment_id"] == entry["subject"]] if assignments is not None else None
    if a is None or a.empty:
        return {"status": "not_found", "assigned": 0, "last": None, "variants": {}}
    a = a[pd.to_datetime(a["assigned_ts"]).notna()] if "assigned_ts" in a else a.iloc[0:0]
    if a.empty:
        return {"status": "undated", "assigned": 0, "last": None, "variants": {}}
    day = pd.to_datetime(a["assigned_ts"]).dt.date
    new = day > after
    variants = {}
    for v, part in a.assign(_day=day, _new=new).groupby("variant", sort=True):
        variants[str(v)] = {"assigned": int(part._new.sum()), "last": max(part._day).isoformat()}
    last = max(day)
    n = int(new.sum())
    status = "ended_before" if n == 0 else ("ended" if (end - last).days >= ENDED_DAYS else "continuing")
    return {"status": status, "assigned": n, "last": last.isoformat(), "variants": variants}


def winback_response(members: pd.DataFrame, bought: pd.Series, threshold: float = 0.5,
                     expected_any: pd.Series | None = None) -> dict:
    """Did the win-back list respond? Its members who bought again after month M against comparable
    members not on the list.

    ``members``: month M's ``clv_members.csv`` (member_id, at_risk, probability_any_purchase or, in a month
    published before it, probability_alive, segment, ...); ``bought``: member_id -> purchases after M
    (missing: none); ``expected_any``: member_id -> the model's chance of at least one purchase in that time
    (:func:`probability_any_purchase`).

    Comparable members are those not on the list whom the same model and rule also put at risk (the score
    the list was chosen by, the chance of a purchase over the horizon, or P(alive) for an older month, below
    ``threshold``), matched exactly on segment and score band (fifths of 0 to the threshold) and reweighted
    to the list's mix (:func:`memberkit.stats.stratified_difference`;
    list members in a stratum without comparables are left out and counted as ``unmatched``).
    Returns shares as fractions: ``list_members``, ``list_buyers``, ``list_share``,
    ``list_expected`` (mean model chance), ``comparable_members``, ``comparable_share`` (reweighted),
    ``comparable_expected``, ``difference`` (list minus comparable, in share points as a fraction) with
    ``ci_low`` / ``ci_high`` (95%, normal), ``unmatched``; ``status`` ``no_list`` when nobody was on it.
    """
    from .stats import stratified_difference
    on = members["at_risk"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    if not on.any():
        return {"status": "no_list", "list_members": 0}
    score = "probability_any_purchase" if "probability_any_purchase" in members else "probability_alive"
    alive = pd.to_numeric(members[score], errors="coerce").to_numpy(float)
    y = (members["member_id"].map(bought).fillna(0).to_numpy(float) > 0).astype(float)
    segment = members["segment"].fillna(OUTSIDE_SEGMENT).astype(str).to_numpy() if "segment" in members else \
        np.full(len(members), OUTSIDE_SEGMENT)
    band = np.minimum((alive / threshold * 5).astype(int), 4) if threshold > 0 else np.zeros(len(alive), int)
    strata = np.char.add(np.char.add(segment.astype(str), "|"), band.astype(str))
    comparable = ~on & (alive < threshold)
    exp = members["member_id"].map(expected_any).to_numpy(float) if expected_any is not None else np.full(len(members), np.nan)
    out = {"status": "compared", "list_members": int(on.sum()), "list_buyers": int(y[on].sum()),
           "list_share": float(y[on].mean()), "list_expected": _mean(exp[on]),
           "comparable_members": int(comparable.sum())}
    if not comparable.any():
        return {**out, "status": "no_comparable"}
    diff, unmatched = stratified_difference(y[on], strata[on], y[comparable], strata[comparable])
    w = pd.Series(strata[on]).value_counts(normalize=True)
    cexp = pd.DataFrame({"s": strata[comparable], "e": exp[comparable]}).groupby("s").e.mean()
    both = w.index.intersection(cexp.index)
    return {**out, "comparable_share": _num(diff.mean_a), "matched_list_share": _num(diff.mean_b),
            "comparable_expected": _num((w[both] * cexp[both]).sum() / w[both].sum()) if len(both) else None,
            "difference": _num(diff.diff), "ci_low": _num(diff.ci_low), "ci_high": _num(diff.ci_high),
            "unmatched": int(unmatched)}


# ------------------------------------------------------------------ the forecast scored
def actual_after(orders, start: _dt.date, end: _dt.date) -> pd.DataFrame:
    """Per member: purchase days and their value in (``start``, ``end``] from the clean orders (an
    engine table; bulk outliers left out as the CLV report does). Columns member_id, purchases
    (int), spend (float, the shop's currency)."""
    from . import summary
    orders = summary.without_outliers(orders, True)
    days = summary.purchase_days(orders, end)
    days = days.filter(days.order_date > _date(start))
    agg = days.group_by("member_id").agg(purchases=days.count(), spend=summary.as_float(days.value.sum()))
    return summary.member_frame(agg)


def _date(d: _dt.date):
    import ibis
    return ibis.literal(d, type="date")


def score_forecast(members: pd.DataFrame, model: str, params: dict, t: float, actual: pd.DataFrame) -> dict:
    """Month M's per-member forecast scored against what its members did in the ``t`` units after it.

    ``members``: M's ``clv_members.csv`` (member_id, frequency, recency, T in the model's unit,
    expected_spend per purchase, segment, tier); ``model`` / ``params``: the chosen purchase model
    and its fitted parameters from M's ``clv_forecast.json``; ``actual``: :func:`actual_after`.
    Predicted purchases are the model's conditional expectation over ``t``
    (:func:`memberkit.clv.expected_purchases_of`, equal to lifetimes'
    ``conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)``), predicted spend that times
    the Gamma-Gamma expected value per purchase.

    Returns plain data: ``members``, ``elapsed`` (t); ``purchases`` and ``spend``, each with
    ``predicted``, ``actual``, ``error`` (predicted / actual - 1, the holdout check's aggregate error)
    and ``mae`` per member; ``by_segment`` and ``by_tier``: {code: {members, predicted, actual, error,
    se}} where ``se`` = 1 / sqrt(predicted) is the Poisson standard error of the relative error
    (a lower bound: NBD counts vary more); ``calibration``: :data:`RELIABILITY_BINS` equal-width bins of
    the predicted chance of at least one purchase, each {low, high, members, predicted (mean),
    observed (share who bought)}, and ``brier`` (mean squared error of that chance).
    """
    x, tx, T = (pd.to_numeric(members[c], errors="coerce").to_numpy(float) for c in ("frequency", "recency", "T"))
    from .clv import expected_purchases_of
    pred = np.nan_to_num(expected_purchases_of(model, params, t, x, tx, T), nan=0.0)
    p_any = probability_any_purchase(model, params, t, x, tx, T)
    got = actual.set_index("member_id").reindex(members["member_id"])
    bought = got["purchases"].fillna(0).to_numpy(float)
    spent = got["spend"].fillna(0).to_numpy(float)
    value = pd.to_numeric(members.get("expected_spend"), errors="coerce").fillna(0).to_numpy(float)
    frame = pd.DataFrame({"pred": pred, "actual": bought, "pred_spend": pred * value, "spend": spent,
                          "p_any": p_any, "any": (bought > 0).astype(float),
                          "segment": members["segment"].fillna(OUTSIDE_SEGMENT).astype(str) if "segment" in members
                          else OUTSIDE_SEGMENT,
                          "tier": members["tier"].fillna("").astype(str) if "tier" in members else ""})

    def groups(col):
        out = {}
        for key, g in frame.groupby(col, sort=True):
            out[str(key)] = {"members": len(g), "predicted": float(g.pred.sum()), "actual": float(g.actual.sum()),
                             "error": _ratio_error(g.pred.sum(), g.actual.sum()),
                             "se": float(1 / math.sqrt(g.pred.sum())) if g.pred.sum() > 0 else None}
        return out
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    which = np.minimum((frame.p_any.to_numpy() * RELIABILITY_BINS).astype(int), RELIABILITY_BINS - 1)
    bins = []
    for i in range(RELIABILITY_BINS):
        g = frame[which == i]
        bins.append({"low": float(edges[i]), "high": float(edges[i + 1]), "members": len(g),
                     "predicted": _mean(g.p_any.to_numpy()), "observed": _mean(g["any"].to_numpy())})
    return {"members": len(frame), "elapsed": float(t),
            "purchases": {"predicted": float(frame.pred.sum()), "actual": float(frame.actual.sum()),
                          "error": _ratio_error(frame.pred.sum(), frame.actual.sum()),
                          "mae": float(np.mean(np.abs(frame.pred - frame.actual))) if len(frame) else None},
            "spend": {"predicted": float(frame.pred_spend.sum()), "actual": float(frame.spend.sum()),
                      "error": _ratio_error(frame.pred_spend.sum(), frame.spend.sum()),
                      "mae": float(np.mean(np.abs(frame.pred_spend - frame.spend))) if len(frame) else None},
            "buyers": {"predicted": float(frame.p_any.sum()), "actual": int(frame["any"].sum())},
            "by_segment": groups("segment"), "by_tier": groups("tier"),
            "calibration": bins,
            "brier": float(np.mean((frame.p_any - frame["any"]) ** 2)) if len(frame) else None}


def drift(by_segment: dict, history: list[dict], holdout_by_segment: dict | None) -> dict:
    """The drift alarm of each segment: does this month's error leave the segment's band?

    The band of a segment with at least :data:`HISTORY_MONTHS` scored months in ``history`` (each
    a scored month's ``{"by_segment": {code: {"error": ...}}}``) is the mean of those errors plus or
    minus three standard deviations (a Shewhart control chart's limits; ``basis: history``), never below
    -100%. Before
    that, the holdout check's error of the segment (M's ``clv_forecast.json``, ``holdout.by_segment``)
    plus or minus three Poisson standard errors of this month's count (``se`` of :func:`score_forecast`;
    ``basis: holdout``). Without either, ``basis: none`` and no alarm (the page says there is not
    enough history). Returns {code: {error, low, high, basis, months, alarm}}.
    """
    out = {}
    for code, now in sorted(by_segment.items()):
        past = [h["by_segment"][code]["error"] for h in history
                if code in (h.get("by_segment") or {}) and h["by_segment"][code].get("error") is not None]
        err = now.get("error")
        if len(past) >= HISTORY_MONTHS:
            mean, sd = float(np.mean(past)), float(np.std(past, ddof=1))
            low, high, basis = mean - 3 * sd, mean + 3 * sd, "history"
        elif holdout_by_segment and (holdout_by_segment.get(code) or {}).get("error") is not None and now.get("se"):
            centre = holdout_by_segment[code]["error"]
            low, high, basis = centre - 3 * now["se"], centre + 3 * now["se"], "holdout"
        else:
            out[code] = {"error": err, "low": None, "high": None, "basis": "none", "months": len(past), "alarm": None}
            continue
        low = max(low, -1.0)        # predicted / actual - 1 is never below -100%
        alarm = None if err is None else bool(err < low or err > high)
        out[code] = {"error": err, "low": low, "high": high, "basis": basis, "months": len(past), "alarm": alarm}
    return out


# ------------------------------------------------------------------ the whole ledger of one month
def data_end(run) -> _dt.date:
    """The last day with data of ``run``'s period: its last day, or the day before the extraction date
    when the month was still open."""
    from .periods import period_bounds
    return min(period_bounds(run.period)[1], run.as_of - _dt.timedelta(days=1))


def build_ledger(period: str, end: _dt.date, tables: dict, previous: Path) -> dict:
    """The ledger of month ``period`` (M+1) as plain JSON data, from its clean ``tables`` (engine
    tables: orders, campaigns, experiments) and month M's folder ``previous``.

    ``state``: ``ok``, or ``previous_not_run`` (M's folder holds none of the results: nothing else
    is filled). ``window``: M's last day (``after``), ``end`` and ``days``. ``decisions``: the entries
    of :func:`decision_entries`, each with its ``follow_up``. ``forecast``: :func:`score_forecast`'s
    dict with ``model``, ``unit``, ``forecast_period`` (M), ``drift`` and ``history`` (the scored months
    so far, oldest first, each {period, forecast_period, elapsed, unit, purchases_error, spend_error,
    mae, brier, by_segment errors}); or {"state": why} when M has no forecast to score.
    """
    from .clv import UNIT_DAYS
    from .periods import period_bounds, previous_period
    m = previous_period(period)
    after = period_bounds(m)[1]
    digest = published_digest(previous)
    base = {"period": period, "previous": m, "window": {"after": after.isoformat(), "end": end.isoformat(),
                                                        "days": (end - after).days}}
    if digest is None:
        return {**base, "state": "previous_not_run", "decisions": [], "forecast": {"state": "previous_not_run"}}
    published = read_published(previous)
    entries = decision_entries(m, published, previous)
    campaigns = tables["campaigns"].to_pandas() if "campaigns" in tables else None
    assignments = tables["experiments"].to_pandas() if "experiments" in tables else None
    clv_res = (published.get("clv_forecast") or {}).get("results") or {}
    origin = (clv_res.get("totals") or {}).get("observation_end")
    # the forecast's origin is M's last day with data (earlier than ``after`` when M was still open)
    origin = min(_dt.date.fromisoformat(origin), after) if origin else after
    actual = actual_after(tables["orders"], origin, end)
    members = _read_members(previous)
    scoring = _forecast(period, m, clv_res, members, actual, origin, end, published.get("ledger"), UNIT_DAYS)
    expected_any = scoring.pop("_p_any", None)
    bought = actual.set_index("member_id").purchases
    for e in entries:
        if e["kind"] == "campaign":
            e["follow_up"] = campaign_follow_up(e, campaigns, after, end)
        elif e["kind"] == "experiment":
            e["follow_up"] = experiment_follow_up(e, assignments, after, end)
        elif members is not None:
            # the list's rule as month M published it (P(alive) below alive_threshold before the chance of a purchase)
            threshold = clv_res.get("any_purchase_threshold") or clv_res.get("alive_threshold") or 0.5
            e["follow_up"] = winback_response(members, bought, float(threshold), expected_any)
        else:
            e["follow_up"] = {"status": "no_list", "list_members": 0}
    return {**base, "state": "ok", "decisions": entries, "forecast": scoring}


def _forecast(period, m, clv_res, members, actual, after, end, previous_ledger, unit_days) -> dict:
    model = clv_res.get("chosen_model")
    params = (clv_res.get("final_parameters") or {}).get(model)
    unit = clv_res.get("unit")
    if members is None or not params or unit not in unit_days:
        return {"state": "no_forecast"}
    t = (end - after).days / unit_days[unit]
    if t <= 0:
        return {"state": "no_time_elapsed"}
    scored = score_forecast(members, model, params, t, actual)
    x, tx, T = (pd.to_numeric(members[c], errors="coerce").to_numpy(float) for c in ("frequency", "recency", "T"))
    p_any = pd.Series(probability_any_purchase(model, params, t, x, tx, T), index=members["member_id"].to_numpy())
    history = [{**h, "by_segment": _current_codes(h.get("by_segment"))}
               for h in ((previous_ledger or {}).get("forecast") or {}).get("history") or []]
    holdout = _current_codes((clv_res.get("holdout") or {}).get("by_segment"))
    scored.update({"state": "ok", "model": model, "unit": unit, "forecast_period": m, "origin": after.isoformat(),
                   "drift": drift(scored["by_segment"], history, holdout)})
    history.append({"period": period, "forecast_period": m, "elapsed": t, "unit": unit, "members": scored["members"],
                    "purchases_error": scored["purchases"]["error"], "spend_error": scored["spend"]["error"],
                    "mae": scored["purchases"]["mae"], "brier": scored["brier"],
                    "by_segment": {k: {"error": v["error"]} for k, v in scored["by_segment"].items()}})
    scored["history"] = history
    scored["_p_any"] = p_any
    return scored


def _current_codes(by_segment: dict | None) -> dict | None:
    """A published month's {segment code: ...} with each code as the rule table names it now (a month
    published before a segment's rename carries its former code, ``formerly`` in rfm_segments.yaml)."""
    if not by_segment:
        return by_segment
    from .rfm import schemes
    hl = schemes()["high_low"]
    return {hl.current(code): v for code, v in by_segment.items()}


def _read_members(folder: Path) -> pd.DataFrame | None:
    """Month M's ``data/clv_members.csv`` with the model's history under the names the scoring uses
    (frequency, recency, T: :func:`memberkit.clv.model_columns`, whichever unit the file names) and
    segment codes as the rule table names them now; None without the file."""
    path = Path(folder) / "data" / "clv_members.csv"
    if not path.is_file():
        return None
    from .clv import model_columns
    from .rfm import schemes
    members = model_columns(pd.read_csv(path, encoding="utf-8-sig", dtype={"member_id": str, "segment": str, "tier": str}))
    if "segment" in members:
        members["segment"] = members["segment"].map(schemes()["high_low"].current, na_action="ignore")
    return members


def ledger_stamp(run, previous: Path) -> dict:
    """The stamp ``ledger.json`` must carry for ``run``: the clean tables' stamp (digest), the digest of
    month M's published files (:func:`published_digest`; None when M never ran) and the code version."""
    from .store import clean_stamp, digest
    return {"clean": digest(clean_stamp(run)), "previous": published_digest(previous),
            "end": data_end(run).isoformat(), "code": run.code_version.split("+")[0]}


def produce_ledger(store, previous: Path | None = None, con=None) -> dict:
    """Build the ledger of ``store``'s period from its clean tables and month M's published folder
    (default :func:`previous_folder` of the published period folder) and write ``ledger.json``.

    The runner's step after the cleaning (and :func:`memberkit.store.prepare`'s for an analyst). A
    problem in M's files or in scoring does not stop the run: the ledger is written with ``state:
    failed`` and the error, and the pages say so. Returns what was written.
    """
    from .report import dumps
    from .store import _write_atomic
    run = store.run
    previous = Path(previous) if previous is not None else previous_folder(store.history_dir / run.period, run.period)
    try:
        con, tables = store.clean_tables(con)
        data = build_ledger(run.period, data_end(run), tables, previous)
    except Exception as e:  # noqa: BLE001 - a report never fails because the ledger did
        from .periods import previous_period
        data = {"period": run.period, "previous": previous_period(run.period), "state": "failed",
                "error": f"{type(e).__name__}: {e}", "decisions": [], "forecast": {"state": "failed"}}
    data["stamp"] = ledger_stamp(run, previous)
    _write_atomic(Path(store.folder) / LEDGER_FILE, dumps(data))
    return data


def _ratio_error(predicted: float, actual: float) -> float | None:
    return float(predicted / actual - 1) if actual else None


def _mean(a) -> float | None:
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else None


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)
