"""The ledger's words and pictures: "what became of last month's decisions" on the summary page, and
the forecast's track record on the CLV page.

Everything here reads ``ledger.json`` (:mod:`memberkit.ledger`: numbers, dates and codes) and words
it from the catalogue (``locale/<language>.yaml``, section ``ledger``). Sentences are plain text:
the summary's template escapes them where the HTML is made, the CLV page's tables go through
:func:`memberkit.views.page.table`. Whether a repeated campaign paid is its verdict in this month's
campaign review (``campaign_review.json``), read here beside the ledger.

Example
-------
>>> from memberkit.views.context import Presentation
>>> section_note(Presentation("en"), {"state": "previous_not_run", "previous": "2026-09", "period": "2026-10"})[:20]
'September 2026 was n'
"""

from __future__ import annotations

import pandas as pd

from ..report import anchor, missing
from .context import DASH, Presentation, own_names
from .rfm import tier_label

TRACK_ANCHOR = "track-record"


def _t(p: Presentation, key: str, **values) -> str:
    return p.text(f"ledger.{key}", **values)


def _month(p: Presentation, period: str) -> str:
    from .month import month_label
    return month_label(period, p.language)


def segment_label(p: Presentation, code: str) -> str:
    """The 8-segment high/low scheme's label of ``code`` in this language (the code itself when unknown)."""
    from ..rfm import outside_window, schemes
    hl, outside = schemes()["high_low"], outside_window()
    if code == outside.key:
        return outside.label[p.language]
    return hl.segment(code).label[p.language] if code in hl.keys else code


# ------------------------------------------------------------------ the summary page
def section_note(p: Presentation, ledger: dict | None) -> str:
    """Why the section has nothing to follow up ('' when it has): no ledger, month M never run, or the
    ledger could not be built."""
    if not ledger:
        return _t(p, "missing")
    state = ledger.get("state")
    if state == "previous_not_run":
        return _t(p, "previous_not_run", previous=_month(p, ledger["previous"]), period=ledger["previous"])
    if state == "failed":
        return _t(p, "failed", error=ledger.get("error") or DASH)
    if not ledger.get("decisions"):
        return _t(p, "no_decisions", previous=_month(p, ledger["previous"]))
    return ""


def decision_sentence(p: Presentation, d: dict, month: str, reviews: dict) -> tuple[str, str]:
    """One decision of last month and what followed: (sentence, tone ``good`` / ``warn`` / ``bad`` / '').

    ``month``: this month's label; ``reviews``: this month's campaign review's campaigns by id (for
    whether a repeated campaign paid)."""
    f = d.get("follow_up") or {}
    status = f.get("status")
    if d["kind"] == "campaign":
        kind = p.code("campaign_types", d.get("type") or "")
        subject = p.campaign(d["subject"], d.get("name"), d.get("type"))
        if status != "run_again":
            return _t(p, "campaign_not_again", subject=subject, type=kind), ("warn" if d["action"] == "repeat" else "good")
        c = f["campaigns"][0]
        ran = _t(p, "campaign_again", subject=subject, type=kind, new=c["campaign_id"], start=c["start"], end=c["end"])
        review = reviews.get(c["campaign_id"])
        if not review:
            return ran + p.sentence_sep + _t(p, "campaign_not_reviewed"), ""
        roi = (review.get("figures") or {}).get("roi") or {}
        verdict = review.get("verdict") or {}
        paid = verdict.get("reason") == "pays"
        said = _t(p, "campaign_paid" if paid else "campaign_verdict", roi=p.signed_pct(roi.get("value"), 0),
                  low=p.signed_pct(roi.get("ci_low"), 0), high=p.signed_pct(roi.get("ci_high"), 0),
                  reason=p.text(f"month.reason_{verdict.get('reason')}"),
                  decision=p.text(f"month.action_{verdict.get('decision')}"))
        return ran + p.sentence_sep + said, "good" if paid else ("bad" if verdict.get("decision") == "stop" else "warn")
    if d["kind"] == "experiment":
        if status == "not_found":
            return _t(p, "experiment_not_found", subject=d["subject"]), ""
        sentence = _t(p, f"experiment_{status}", subject=d["subject"], n=p.count(f.get("assigned")), last=f.get("last"),
                      month=month)
        # an experiment decided (ship or not) is done when its assignments end; one without a verdict
        # (a broken split) still needs a new run
        ended = status in ("ended", "ended_before") and d["action"] != "no_verdict"
        return sentence, ("good" if ended else ("" if status == "undated" else "warn"))
    if status == "no_list":
        return _t(p, "winback_no_list"), ""
    share = _t(p, "winback", members=p.count(f["list_members"]), buyers=p.count(f["list_buyers"]),
               share=p.pct(f["list_share"]), expected=p.pct(f.get("list_expected")))
    if status == "no_comparable":
        return share + p.sentence_sep + _t(p, "winback_no_comparable"), ""
    compared = _t(p, "winback_compared", share=p.pct(f.get("comparable_share")),
                  expected=p.pct(f.get("comparable_expected")), diff=p.pp(f.get("difference")),
                  low=p.pp(f.get("ci_low")), high=p.pp(f.get("ci_high")), n=p.count(f.get("comparable_members")))
    low = f.get("ci_low")
    return share + p.sentence_sep + compared, ("good" if not missing(low) and low > 0 else "warn")


def forecast_sentences(p: Presentation, forecast: dict | None, previous: str) -> list[str]:
    """How good last month's forecast was: the aggregate sentence, then one per segment whose error left
    its band, or why there is no band yet; [] with a reason when nothing was scored."""
    if not forecast or forecast.get("state") != "ok":
        state = (forecast or {}).get("state") or "missing"
        return [] if state in ("previous_not_run", "failed") else [_t(p, f"forecast_{state}", previous=_month(p, previous))]
    pu, sp, b = forecast["purchases"], forecast["spend"], forecast["buyers"]
    out = [_t(p, "forecast", previous=_month(p, forecast["forecast_period"]), weeks=p.ratio(_weeks(forecast), 1),
              predicted=p.count(pu["predicted"]), actual=p.count(pu["actual"]), error=p.signed_pct(pu["error"]),
              spend_predicted=p.money(sp["predicted"]), spend_actual=p.money(sp["actual"]),
              spend_error=p.signed_pct(sp["error"]), buyers_predicted=p.count(b["predicted"]),
              buyers=p.count(b["actual"]))]
    drift = forecast.get("drift") or {}
    alarms = [(k, v) for k, v in drift.items() if v.get("alarm")]
    for code, v in alarms:
        out.append(_t(p, "drift_alarm", segment=segment_label(p, code), error=p.signed_pct(v["error"]),
                      low=p.signed_pct(v["low"]), high=p.signed_pct(v["high"]), basis=_t(p, f"basis_{v['basis']}")))
    if drift and all(v["basis"] == "none" for v in drift.values()):
        out.append(_t(p, "drift_no_history", months=len(forecast.get("history") or []), needed=6))
    elif drift and not alarms:
        out.append(_t(p, "drift_none", basis=_t(p, f"basis_{_main_basis(drift)}")))
    return out


def _main_basis(drift: dict) -> str:
    bases = [v["basis"] for v in drift.values() if v["basis"] != "none"]
    return max(set(bases), key=bases.count) if bases else "none"


def _weeks(forecast: dict) -> float:
    return forecast["elapsed"] * (1.0 if forecast.get("unit") == "week" else 1 / 7)


def section(s) -> dict:
    """The summary page's section "what became of last month's decisions" (``s``: the
    :class:`memberkit.month.MonthSummary`, its ``ledger``): ``title``, ``note`` (why there is nothing,
    or ''), ``items`` (each {id, action, tone, sentence, link}), ``forecast`` (sentences) and ``link``
    to the track record on the CLV page."""
    p = Presentation(s.language, s.currency, own_names(s.display_names, s.language))
    ledger = getattr(s, "ledger", None)
    previous = (ledger or {}).get("previous") or _previous(s.period)
    out = {"title": _t(p, "title", previous=_month(p, previous)), "note": section_note(p, ledger), "items": [],
           "forecast": [], "link": f"clv_forecast.html#{anchor(TRACK_ANCHOR)}",
           "id_label": _t(p, "id_label"), "track": _t(p, "track_link")}
    if not ledger or ledger.get("state") != "ok":
        return out
    reviews = ((s.results("campaign_review") or {}).get("results") or {}).get("campaigns") or {}
    month = _month(p, s.period)
    for d in ledger.get("decisions") or []:
        sentence, tone = decision_sentence(p, d, month, reviews)
        out["items"].append({"id": d["id"], "action": p.text(f"month.action_{d['action']}"), "tone": tone,
                             "sentence": sentence})
    out["forecast"] = forecast_sentences(p, ledger.get("forecast"), previous)
    return out


def _previous(period: str) -> str:
    from ..periods import previous_period
    return previous_period(period)


# ------------------------------------------------------------------ the CLV page: the track record
def track_sentences(p: Presentation, ledger: dict | None) -> list[str]:
    """The track record's sentences: this month's scoring of last month's forecast and its drift, or
    why there is none."""
    note = section_note(p, ledger)
    if note and not (ledger and ledger.get("state") == "ok"):
        return [note]
    return forecast_sentences(p, ledger.get("forecast"), ledger.get("previous"))


def track_hint(p: Presentation, ledger: dict | None) -> str:
    """For analysts, under the track record when last month was never reported: the command that reports
    it; '' otherwise."""
    if not ledger or ledger.get("state") != "previous_not_run":
        return ""
    return _t(p, "previous_not_run_hint", period=ledger["previous"])


def track_frame(p: Presentation, ledger: dict | None) -> pd.DataFrame:
    """Every scored month so far, newest first: month scored, forecast of, weeks elapsed, purchases and
    spend error (predicted / actual - 1), mean absolute error per member and Brier score of the chance
    of buying, headed in words (an executive reads this table)."""
    history = (((ledger or {}).get("forecast") or {}).get("history")) or []
    rows = [{_t(p, "col_scored"): _month(p, h["period"]), _t(p, "col_forecast"): _month(p, h["forecast_period"]),
             _t(p, "col_weeks"): p.ratio(h["elapsed"] * (1.0 if h.get("unit") == "week" else 1 / 7), 1),
             _t(p, "col_members"): p.count(h.get("members")),
             _t(p, "col_purchases_error"): p.signed_pct(h.get("purchases_error")),
             _t(p, "col_spend_error"): p.signed_pct(h.get("spend_error")),
             _t(p, "col_mae"): p.ratio(h.get("mae"), 3), _t(p, "col_brier"): p.ratio(h.get("brier"), 3)}
            for h in reversed(history)]
    return pd.DataFrame(rows)


def group_frame(p: Presentation, ledger: dict | None, by: str = "segment") -> pd.DataFrame:
    """This month's scoring by ``by`` (``segment``: in code order, or ``tier``: most members first): members,
    predicted and actual purchases, the error, and for segments the drift band, what it comes from and
    whether the error left it."""
    f = ((ledger or {}).get("forecast") or {})
    groups = f.get(f"by_{by}") or {}
    drift = f.get("drift") or {}
    rows = []
    order = sorted(groups, key=lambda k: -groups[k]["members"]) if by == "tier" else list(groups)   # tiers: largest first
    for code in order:
        g = groups[code]
        row = {_t(p, f"col_{by}"): segment_label(p, code) if by == "segment" else (tier_label(p, code) if code else DASH),
               _t(p, "col_members"): p.count(g["members"]), _t(p, "col_predicted"): p.ratio(g["predicted"], 1),
               _t(p, "col_actual"): p.count(g["actual"]), _t(p, "col_error"): p.signed_pct(g["error"])}
        if by == "segment":
            d = drift.get(code) or {}
            banded = d.get("basis") not in (None, "none")
            row[_t(p, "col_band")] = (_t(p, "band", low=p.signed_pct(d["low"]), high=p.signed_pct(d["high"]))
                                      if banded else _t(p, "band_none"))
            row[_t(p, "col_basis")] = _t(p, f"basis_short_{d.get('basis') or 'none'}")
            row[_t(p, "col_alarm")] = {True: _t(p, "alarm_yes"), False: _t(p, "alarm_no")}.get(d.get("alarm"), DASH)
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_frame(p: Presentation, ledger: dict | None) -> pd.DataFrame:
    """The reliability bins: predicted chance of at least one purchase (bin and mean) against the share
    who bought, with the members in each bin (empty bins left out)."""
    bins = (((ledger or {}).get("forecast") or {}).get("calibration")) or []
    return pd.DataFrame([{_t(p, "col_bin"): f"{p.pct(b['low'], 0)}–{p.pct(b['high'], 0)}",
                          _t(p, "col_members"): p.count(b["members"]), _t(p, "col_chance"): p.pct(b["predicted"]),
                          _t(p, "col_bought"): p.pct(b["observed"])} for b in bins if b["members"]])


def plot_calibration(p: Presentation, ledger: dict | None):
    """Reliability diagram: mean predicted chance of buying per bin (x) against the share who bought (y),
    dots sized by members, on the diagonal when the forecast is calibrated. None without a scoring."""
    bins = [b for b in (((ledger or {}).get("forecast") or {}).get("calibration") or []) if b["members"]]
    if not bins:
        return None
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from .theme import PALETTE
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot([0, 1], [0, 1], color="#8a949e", linewidth=1, linestyle="--", label=_t(p, "chart_diagonal"))
    n = max(b["members"] for b in bins)
    ax.scatter([b["predicted"] for b in bins], [b["observed"] for b in bins],
               s=[30 + 270 * b["members"] / n for b in bins], color=PALETTE[0], alpha=0.8, label=_t(p, "chart_bins"))
    ax.set_xlim(-0.02, 1.02), ax.set_ylim(-0.02, 1.02)     # a dot at 0% or 100% is drawn whole
    ax.xaxis.set_major_formatter(PercentFormatter(1.0)), ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(_t(p, "chart_x")), ax.set_ylabel(_t(p, "chart_y"))
    ax.set_title(_t(p, "chart_title"), loc="left")
    ax.legend(loc="upper left", frameon=False)
    return fig
