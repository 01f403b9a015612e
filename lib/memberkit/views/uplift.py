"""The next campaign's targets in words and pictures: the campaign report's section (the list, its
expected net gain measured on the past campaigns with its range, its holdout, the forecast per member
beside the best past campaign's actual, the check per decile, the Qini curves against RFM targeting)
and the month summary's lines.

Everything is worded from :class:`memberkit.uplift.Plan` on the page and from the ``uplift`` block
of ``campaign_review.json`` on the summary (catalogue section ``uplift``)."""

from __future__ import annotations

import pandas as pd

from .. import campaign, uplift
from ..report import anchor, missing
from . import page
from .context import DASH, Presentation, own_names
from .page import KPI, Figure

ANCHOR = anchor("next-campaign")
RULES = ("model", "rfm")


def _t(p: Presentation, key: str, **values) -> str:
    return p.text(f"uplift.{key}", **values)


def _interval(p: Presentation, triple, digits: int = 2) -> str:
    value, lo, hi = triple
    return _t(p, "interval", value=p.money(value, digits), lo=p.money(lo, digits), hi=p.money(hi, digits))


def record(plan: uplift.Plan, results) -> None:
    """Adds the plan (:func:`memberkit.uplift.key_results`) to ``campaign_review.json`` as ``uplift``."""
    results.key_results["uplift"] = uplift.key_results(plan)


def title(p: Presentation, plan: uplift.Plan) -> str:
    return _title(p, plan.campaign_type)


def _title(p: Presentation, kind: str | None) -> str:
    return _t(p, "title", type=p.code("campaign_types", kind)) if kind else _t(p, "title_any")


def state_note(p: Presentation, plan: uplift.Plan) -> str:
    """Why there is no list ('' when there is one)."""
    if plan.state == "ready":
        return ""
    return _t(p, f"state_{plan.state}", holdout=p.count(plan.holdout_rows), needed=p.count(plan.min_holdout))


def _best_past(past) -> dict | None:
    """The past campaign that gained most per targeted member ({campaign_id, type, net_per_member}), or None."""
    if past is None:
        return None
    rows = past.to_dict(orient="records") if isinstance(past, pd.DataFrame) else list(past)
    return rows[0] if rows else None


def _versus_past(p: Presentation, per_member: float, past, window: str = "during", league: dict | None = None) -> str:
    """The forecast per contacted member beside the best past campaign's actual over the forecast's own
    ``window`` (:func:`memberkit.uplift.past_net_per_member`), and a warning when the forecast is above every
    past campaign's actual ('' without a forecast or a past campaign). The window is named in the sentence:
    over the campaign's own days the figure is not the campaign league's (the campaign and the days after
    it), so it is worded as the gain in the campaign's days, never as the campaign's result. With ``league``
    (:func:`memberkit.campaign.league_net_per_member` of the same results file) the campaign table's figure, the
    one its verdict rests on, comes first and the figure of its own days follows as the secondary one: the two
    side by side read as two results of one campaign (issue 23)."""
    best = _best_past(past)
    if best is None or missing(per_member):
        return ""
    key = "versus_past_above" if _above_past(per_member, past) else "versus_past"
    made = (league or {}).get(best["campaign_id"])
    if window == "during" and not missing(made):
        return _t(p, f"{key}_league", per=p.money(per_member, 2), campaign=best["campaign_id"],
                  league=p.money(made, 2), best=p.money(best["net_per_member"], 2))
    return _t(p, f"{key}_{window}", per=p.money(per_member, 2), campaign=best["campaign_id"],
              best=p.money(best["net_per_member"], 2))


def _above_past(per_member: float, past) -> bool:
    """Whether the forecast per contacted member is above every past campaign's actual (then the warning
    leads the points under the headline)."""
    best = _best_past(past)
    return best is not None and not missing(per_member) and per_member > best["net_per_member"]


def _with_past(reasons: list[str], versus_past: str, per_member: float, past) -> list[str]:
    """The points under a headline: ``reasons`` and the comparison with the past campaigns, first when it
    warns that the forecast is above every past actual, last otherwise; empty ones left out."""
    ordered = [versus_past, *reasons] if _above_past(per_member, past) else [*reasons, versus_past]
    return [w for w in ordered if w]


def _cost_range(p: Presentation, costs, past, cost: float, per_member: float | None, kind: str,
                window: str = "during") -> str:
    """When the type's past campaigns cost more than :data:`memberkit.uplift.COST_SPREAD` times as much per
    targeted member as one another: the range, what the cheapest and the dearest brought in incremental
    margin per targeted member over the forecast's window (``past``: :func:`memberkit.uplift.past_net_per_member`,
    its net gain plus its cost), and, given the forecast ``per_member`` at ``cost``, the same list's gain per
    contacted member at the dearest cost (the same measured uplift less that cost), so that the cost assumed
    is never a silent choice; one sentence, a point under the headline ('' otherwise). ``costs``: the plan's
    :func:`memberkit.uplift.type_costs`; ``costs`` and ``past`` as frames or as their records in
    ``campaign_review.json``. Currency per member."""
    if costs is None or missing(cost):
        return ""
    frame = costs if isinstance(costs, pd.DataFrame) else pd.DataFrame(list(costs))
    if frame.empty:
        return ""
    frame = frame.assign(per_member=pd.to_numeric(frame.per_member, errors="coerce"))
    spread = uplift.cost_spread(frame)
    if spread is None:
        return ""
    known = frame[frame.per_member.notna()]
    cheap, dear = known.loc[known.per_member.idxmin()], known.loc[known.per_member.idxmax()]
    gained = {}
    if past is not None:
        rows = past.to_dict(orient="records") if isinstance(past, pd.DataFrame) else list(past)
        # the margin from the two figures as pages show them (to cents), so shown margin - shown cost = shown net
        gained = {r["campaign_id"]: round(r["net_per_member"], 2) + round(r["cost_per_member"], 2)
                  for r in rows if "cost_per_member" in r}
    values = dict(type=kind, lo=p.money(spread[0], 2), hi=p.money(spread[1], 2), lo_campaign=cheap.campaign_id,
                  hi_campaign=dear.campaign_id)
    dearest = None if per_member is None else uplift.at_dearest_cost(frame, cost, per_member, 0)
    if dearest is None:
        values["then"] = _t(p, "cost_set")
    else:
        values["then"] = _t(p, "cost_at_dearest", hi=p.money(dearest["cost"], 2),
                            at_hi=p.money(dearest["per_member"], 2), per=p.money(per_member, 2))
    if cheap.campaign_id in gained and dear.campaign_id in gained:
        return _t(p, f"cost_range_{window}", lo_margin=p.money(gained[cheap.campaign_id], 2),
                  hi_margin=p.money(gained[dear.campaign_id], 2), **values)
    return _t(p, "cost_range_plain", **values)


def _caveat(p: Presentation, r: dict, cost: float, costs, past, league: dict | None = None) -> str:
    """The sentence that follows the forecast in the headline when the forecast is not yet borne out: when at
    the dearest cost of the type's past campaigns the same list would lose money (:func:`memberkit.uplift.at_dearest_cost`),
    the loss in all and that cost; else, when the forecast per contacted member is above every past campaign's
    actual, that no past campaign gained as much, with the best; '' otherwise. ``r``: one of the plan's
    ``returns``; ``costs`` and ``past`` as frames or as their records in ``campaign_review.json``."""
    if not r["contacted"]:
        return ""
    per = _per_member(r)
    dearest = uplift.at_dearest_cost(costs, cost, per, r["contacted"])
    if dearest is not None and dearest["net"] < 0:
        return _t(p, "caveat_cost", hi=p.money(dearest["cost"], 2), campaign=dearest["campaign_id"],
                  loss=p.money(-dearest["net"]))
    if _above_past(per, past):
        best = _best_past(past)
        made = (league or {}).get(best["campaign_id"])
        if not missing(made):        # the campaign table's figure first, as :func:`_versus_past` gives it
            return _t(p, "caveat_above_league", campaign=best["campaign_id"], league=p.money(made, 2),
                      best=p.money(best["net_per_member"], 2))
        return _t(p, "caveat_above", campaign=best["campaign_id"], best=p.money(best["net_per_member"], 2))
    return ""


def kpis(p: Presentation, plan: uplift.Plan, period: str = "", league: dict | None = None) -> list[KPI]:
    """The recommended list's cards: members to contact, held out, the expected net gain per contacted
    member (beside the best past campaign's actual) and in all, with its range."""
    r = plan.returns.get(plan.recommended or "", {})
    if not r:
        return []
    fig = lambda key, v: Figure(f"campaign_review.uplift_{key}", period, v)  # noqa: E731
    net, (per, lo, hi) = r["net"], r["per_member"]
    best = _best_past(plan.past)
    made = (league or {}).get(best["campaign_id"]) if best is not None else None
    per_sub = ("" if best is None else
               _t(p, "kpi_per_member_sub_league", campaign=best["campaign_id"], league=p.money(made, 2))
               if not missing(made) else
               _t(p, f"kpi_per_member_sub_{plan.window}", campaign=best["campaign_id"],
                  best=p.money(best["net_per_member"], 2)))
    return [KPI(_t(p, "kpi_contacted"), p.count_of(r["contacted"], "members"), _t(p, f"kpi_rule_{plan.recommended}"),
                figure=fig("contacted", r["contacted"])),
            KPI(_t(p, "kpi_holdout"), p.count_of(r["holdout"], "members"), _t(p, "kpi_holdout_sub", share=p.pct(plan.holdout_share, 0)),
                figure=fig("holdout", r["holdout"])),
            KPI(_t(p, "kpi_per_member"), p.money(per, 2) if r["contacted"] else DASH, per_sub,
                figure=fig("net_per_member", per)),
            KPI(_t(p, "kpi_net"), p.money(net),
                _t(p, "kpi_net_sub", lo=p.money(r["net_low"]), hi=p.money(r["net_high"]), cost=p.money(r["contact_cost"]))
                if r["contacted"] else _t(p, "kpi_net_none"),
                good=_net_good(r, _caveat(p, r, plan.contact_cost, plan.type_costs, plan.past, league)),
                figure=fig("net", net))]


def _net_good(r: dict, caveat: str) -> bool | None:
    """The expected net gain card's colour: green when the range's lower end is above nought, red when it is
    below; none without contacts, and none while the forecast is not borne out (``caveat``: :func:`_caveat`),
    since a green card would read as a sure gain."""
    if missing(r["net_low"]) or not r["contacted"] or caveat:
        return None
    return r["net_low"] > 0


def headline(p: Presentation, plan: uplift.Plan, league: dict | None = None) -> str:
    """The answer alone, in one or two sentences: which list, how many members to contact and keep out, its
    expected net gain with its range, per contacted member; or why nobody is to be contacted. The reasons
    beneath it: :func:`points`."""
    if plan.state != "ready":
        return state_note(p, plan)
    r = plan.returns[plan.recommended]
    kind = p.code("campaign_types", plan.campaign_type)
    if not r["contacted"]:
        return _t(p, f"headline_none_{plan.recommended}", type=kind, cost=p.money(plan.contact_cost, 2))
    answer = _t(p, f"headline_{plan.recommended}", type=kind, contacted=p.count(r["contacted"]),
                holdout=p.count(r["holdout"]), share=p.pct(plan.gains[plan.recommended].share, 0),
                net=p.money(r["net"]), lo=p.money(r["net_low"]), hi=p.money(r["net_high"]),
                unit=p.money(plan.contact_cost, 2), basis=_cost_basis(p, plan.cost_basis, plan.cost_campaign),
                per=p.money(_per_member(r), 2))
    return _joined(p, answer, _caveat(p, r, plan.contact_cost, plan.type_costs, plan.past, league))


def _cost_basis(p: Presentation, basis: str | None, campaign: str | None) -> str:
    """Where the contact cost per member comes from, in words: the report's setting, or the latest past
    campaign of the type (``basis``: the plan's ``cost_basis``, "setting" or "latest")."""
    return _t(p, "cost_setting") if basis == "setting" else _t(p, "cost_from", campaign=campaign or "–")


def _joined(p: Presentation, *sentences: str) -> str:
    """Sentences one after the other; empty ones left out."""
    return p.sentence_sep.join(s for s in sentences if s)


def _per_member(r: dict) -> float:
    """A list's expected net gain per contacted member (``r``: one of the plan's ``returns``)."""
    return r["per_member"][0]


def points(p: Presentation, plan: uplift.Plan, league: dict | None = None) -> list[str]:
    """The reasons under the headline, one sentence each: the past campaigns' cost range and what the list
    would bring at the dearest cost, the other list's forecast and why the recommended one stands (or why
    the simpler rule is used), and the best past campaign's actual beside the forecast, or first, the warning
    when the forecast is above every past actual; [] without a list."""
    if plan.state != "ready":
        return []
    r = plan.returns[plan.recommended]
    kind = p.code("campaign_types", plan.campaign_type)
    per = _per_member(r) if r["contacted"] else None
    cost_range = _cost_range(p, plan.type_costs, plan.past, plan.contact_cost, per, kind, plan.window)
    if per is None:
        return [w for w in (cost_range,) if w]
    other = _versus_other(p, plan.recommended, plan.returns)
    why = _t(p, "why_rfm") if plan.recommended == "rfm" and not other else ""
    return _with_past([why, other, cost_range], _versus_past(p, per, plan.past, plan.window, league), per, plan.past)


def _versus_other(p: Presentation, recommended: str, returns: dict) -> str:
    """When the other list's expected net gain is higher than the recommended one's, its forecast and why the
    recommended list stands anyway: its ranking did better (or the model's did not do clearly better) on the
    past campaigns, and the two forecasts' ranges overlap; '' when the recommended list is also forecast to
    gain the most (``recommended``: "model" or "rfm"; ``returns``: the plan's ``returns``, by list)."""
    other = "rfm" if recommended == "model" else "model"
    mine, theirs = returns[recommended], returns.get(other)
    if not theirs or not theirs["contacted"] or not theirs["net"] > mine["net"]:
        return ""
    overlap = theirs["net_low"] <= mine["net_high"]
    return _t(p, f"versus_{other}_{'overlap' if overlap else 'apart'}", net=p.money(theirs["net"]),
              lo=p.money(theirs["net_low"]), hi=p.money(theirs["net_high"]), contacted=p.count(theirs["contacted"]))


def validation_sentence(p: Presentation, plan: uplift.Plan) -> str:
    """How the model's ranking did against RFM targeting on the past campaigns, and which is preferred, in
    plain words (the measures' names and the area under the uplift curve: :func:`validation_hint`)."""
    v = plan.validation
    if v is None:
        return ""
    verdict = "better" if v.model_is_better else "not_better"
    return _t(p, f"validation_{verdict}", campaigns=p.list_sep.join(v.campaigns), rows=p.count(v.rows),
              holdout=p.count(v.holdout_rows), model=_interval(p, v.model_qini), rfm=_interval(p, v.rfm_qini),
              diff=_interval(p, v.difference))


def validation_hint(p: Presentation, plan: uplift.Plan) -> str:
    """For analysts: the validation's measures by name (Qini coefficient, AUUC) and the AUUC figures."""
    v = plan.validation
    if v is None:
        return ""
    return _t(p, "validation_hint", auuc_model=p.money(v.model_auuc[0], 2), auuc_rfm=p.money(v.rfm_auuc[0], 2),
              auuc_diff=_interval(p, v.auuc_difference))


def method_note(p: Presentation, plan: uplift.Plan, params) -> str:
    """How members are ranked, how the list's length and its expected net gain are measured, the cost used
    and the window learnt, in one note."""
    cost_from = _cost_basis(p, plan.cost_basis, plan.cost_campaign)
    return _t(p, f"method_{plan.window}", margin=p.pct(params.margin, 0), cost=p.money(plan.contact_cost, 2),
              cost_from=cost_from, post=params.post_days, share=p.pct(plan.holdout_share, 0))


def in_sample_hint(p: Presentation, plan: uplift.Plan) -> str:
    """For analysts: the model's own sum of its predictions for the recommended list, fitted on all the data."""
    r = plan.returns.get(plan.recommended or "", {})
    if not r or not r["contacted"]:
        return ""
    return _t(p, "in_sample_hint", in_sample=p.money(r["in_sample_net"]), net=p.money(r["net"]))


def calibration_frame(p: Presentation, plan: uplift.Plan) -> pd.DataFrame:
    """Per decile of the recommended ranking's out-of-fold score on the past campaigns, best first: the
    rows, the predicted incremental margin per member and the measured one (targeted mean minus held-out
    mean) with its 95% interval (:func:`memberkit.uplift.measured_gain`)."""
    g = plan.gains.get(plan.recommended or "")
    if g is None:
        return pd.DataFrame()
    return pd.DataFrame([{_t(p, "col_decile"): p.count(int(r.decile)), _t(p, "col_rows"): p.count(r.rows),
                          _t(p, "col_predicted"): p.money(r.predicted, 2),
                          _t(p, "col_measured"): _interval(p, (r.measured, r.low, r.high))}
                         for r in g.calibration.itertuples()])


def seed_hint(p: Presentation, plan: uplift.Plan) -> str:
    """For analysts, under the method note: the seed of the holdout draw and the validation (a setting)."""
    return _t(p, "seed_hint", seed=plan.seed)


def returns_frame(p: Presentation, plan: uplift.Plan) -> pd.DataFrame:
    """Both lists side by side, decision first: the list and whether it is the recommended one, then
    members listed, contacted and held out, the share of members contacted, the expected net gain per
    contacted member and in all with its range, measured on the past campaigns, and the contact cost."""
    rows = []
    for rule in RULES:
        r = plan.returns.get(rule)
        if not r:
            continue
        n = r["contacted"]
        rows.append({_t(p, "col_list"): _t(p, f"list_{rule}"),
                     _t(p, "col_recommended"): _t(p, "yes" if rule == plan.recommended else "no"),
                     _t(p, "col_listed"): p.count(r["listed"]), _t(p, "col_contacted"): p.count(n),
                     _t(p, "col_holdout"): p.count(r["holdout"]),
                     _t(p, "col_net_member"): p.money(r["per_member"][0], 2) if n else DASH,
                     _t(p, "col_cost"): p.money(r["contact_cost"]),
                     _t(p, "col_net"): _t(p, "range", value=p.money(r["net"]), lo=p.money(r["net_low"]),
                                          hi=p.money(r["net_high"])) if n else p.money(0)})
    return page.decision_first(pd.DataFrame(rows))


def segments_frame(p: Presentation, plan: uplift.Plan) -> pd.DataFrame:
    """The recommended list by RFM segment: members ranked (the RFM page's count of the segment, when the plan
    has :attr:`~memberkit.uplift.Plan.ranked_by_segment`), listed, held out and to contact, most listed first
    (counts only: the list's gain is measured for the list as a whole, not per segment)."""
    from .. import rfm
    from .rfm import group_label
    t = plan.targets
    if t is None or t.empty:
        return pd.DataFrame()
    g = t.groupby("segment").agg(n=("member_id", "size"), held=("holdout", "sum"))
    ranked = plan.ranked_by_segment
    if ranked is not None:      # a segment the list left out whole still shows its members ranked
        every = g.index.union(ranked.index)
        g = g.reindex(every, fill_value=0).assign(ranked=ranked.reindex(every, fill_value=0))
    g = g.sort_values(["n"], ascending=False, kind="stable")
    outside = rfm.outside_window().key
    return pd.DataFrame([{_t(p, "col_segment"): group_label(p, "segment", outside if seg == "none" else seg),
                          **({_t(p, "col_ranked"): p.count(r.ranked)} if ranked is not None else {}),
                          _t(p, "col_listed"): p.count(r.n), _t(p, "col_holdout"): p.count(r.held),
                          _t(p, "col_contacted"): p.count(r.n - r.held)} for seg, r in g.iterrows()])


def segments_note(p: Presentation, plan: uplift.Plan) -> str:
    """Which members the list's segment counts leave out and why: the ranking scores every member of the
    period's member table, and the list holds the top share of them, so its segments are smaller than the
    RFM page's; '' without a list or without the ranked counts."""
    t = plan.targets
    if t is None or t.empty or plan.ranked_by_segment is None:
        return ""
    ranked, listed = int(plan.ranked_by_segment.sum()), len(t)
    return _t(p, f"segments_note_{plan.recommended}", ranked=p.count(ranked), listed=p.count(listed),
              share=p.pct(listed / ranked if ranked else None, 0), left=p.count(ranked - listed))


def plot_qini(p: Presentation, plan: uplift.Plan):
    """The Qini curves of the model's ranking and of RFM targeting on the past campaigns (out of fold),
    with random targeting's straight line: incremental margin against the share of members taken."""
    import matplotlib.pyplot as plt
    from .theme import PALETTE, percent_axis
    c = plan.validation.curves
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(*c["model"], color=PALETTE[0], lw=2, label=_t(p, "list_model"))
    ax.plot(*c["rfm"], color=PALETTE[1], lw=2, label=_t(p, "list_rfm"))
    ax.plot(*c["random"], color="#777", lw=1, ls="--", label=_t(p, "random"))
    ax.axhline(0, color="#555", lw=0.8)
    percent_axis(ax.xaxis)
    ax.set_xlabel(_t(p, "qini_x"))
    ax.set_ylabel(_t(p, "qini_y", symbol=p.symbol))
    ax.set_title(_t(p, "qini_title"), loc="left")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=11)
    fig.tight_layout()
    return fig


def export_note(p: Presentation, path) -> str:
    """The list named in words, for a page that may be forwarded or printed (its files: :func:`export_hint`)."""
    return _t(p, "export") if path is not None else ""


def export_hint(p: Presentation, path) -> str:
    """For analysts: the list's and the holdout's file names and folder."""
    return _t(p, "export_hint", file=path.name, holdout=uplift.HOLDOUT_FILE) if path is not None else ""


def section(p: Presentation, plan: uplift.Plan, params, period: str, data_dir, results: dict | None = None) -> None:
    """The campaign report's section, shown on the page: heading, cards, recommendation, validation,
    both lists' expected return, the Qini curves, the list by segment and its CSV (written to
    ``data_dir`` as ``uplift_targets.csv``). ``results``: the report's results (``campaign_review.json``'s
    content), whose campaign table gives the best past campaign's figure first
    (:func:`memberkit.campaign.league_net_per_member`)."""
    league = campaign.league_net_per_member(results) if results else None
    if plan.state == "no_table":
        return
    page.heading(title(p, plan), anchor=ANCHOR)
    if plan.state != "ready":
        page.note(state_note(p, plan))
        return
    page.kpi_cards(kpis(p, plan, period, league))
    page.headline(headline(p, plan, league), points(p, plan, league))
    page.note(validation_sentence(p, plan))
    page.for_analysts(p, validation_hint(p, plan))
    page.table(returns_frame(p, plan))
    page.note(_t(p, "returns_note"))
    page.note(method_note(p, plan, params))
    page.for_analysts(p, _t(p, "method_hint"))
    page.for_analysts(p, in_sample_hint(p, plan))
    page.for_analysts(p, seed_hint(p, plan))
    page.table(calibration_frame(p, plan))
    page.note(_t(p, f"calibration_note_{plan.recommended}"))
    page.figure(plot_qini(p, plan))
    page.note(_t(p, "qini_caption"))
    segments = segments_frame(p, plan)
    if not segments.empty:
        page.table(segments)
        page.note(segments_note(p, plan))
    exported = uplift.export_targets(plan, data_dir, p.currency)
    page.note(export_note(p, exported))
    page.for_analysts(p, export_hint(p, exported))


# ------------------------------------------------------------------ the month summary
def summary_section(s) -> dict | None:
    """The summary page's lines on the next campaign (``s``: :class:`memberkit.month.MonthSummary`),
    from ``campaign_review.json``'s ``uplift`` block: ``title``, ``sentence`` (the answer), ``points`` (the reasons
    beneath it, one sentence each, with the other list's forecast when it is higher, as the campaign page
    gives it), ``link``; None when the campaign review has no plan."""
    res = s.results("campaign_review") if hasattr(s, "results") else None
    u = ((res or {}).get("results") or {}).get("uplift")
    if not u or u.get("state") == "no_table":
        return None
    p = Presentation(s.language, s.currency, own_names(s.display_names, s.language))
    out = {"title": _title(p, u.get("campaign_type")), "link": f"campaign_review.html#{ANCHOR}", "sentence": "",
           "points": []}
    if u.get("state") != "ready":
        out["sentence"] = _t(p, f"state_{u.get('state')}", holdout=p.count(u.get("holdout_rows") or 0),
                             needed=p.count(u.get("min_holdout")))
        return out
    r = u["returns"][u["recommended"]]
    v = u.get("validation") or {}
    league = campaign.league_net_per_member(res)      # the same file's campaign table
    diff, lo, hi = v.get("qini_difference") or [None, None, None]
    kind = p.code("campaign_types", u.get("campaign_type")) if u.get("campaign_type") else ""
    window = u.get("window", "during")
    if not r["contacted"]:
        out["sentence"] = _t(p, f"headline_none_{u['recommended']}", type=kind, cost=p.money(u.get("contact_cost"), 2))
        out["points"] = [w for w in (_cost_range(p, u.get("type_costs"), u.get("past"), u.get("contact_cost"), None,
                                                 kind, window),) if w]
        return out
    per = _per_member(r)
    out["sentence"] = _joined(p, _t(p, f"summary_{u['recommended']}", contacted=p.count(r["contacted"]),
                                    holdout=p.count(r["holdout"]), net=p.money(r["net"]), net_lo=p.money(r["net_low"]),
                                    net_hi=p.money(r["net_high"]), unit=p.money(u.get("contact_cost"), 2),
                                    basis=_cost_basis(p, u.get("cost_basis"), u.get("cost_campaign")),
                                    per=p.money(per, 2)),
                              _caveat(p, r, u.get("contact_cost"), u.get("type_costs"), u.get("past"), league))
    why = ("" if missing(diff) else
           _t(p, f"summary_why_{u['recommended']}", diff=p.money(diff, 2), lo=p.money(lo, 2), hi=p.money(hi, 2)))
    cost_range = _cost_range(p, u.get("type_costs"), u.get("past"), u.get("contact_cost"), per, kind, window)
    other = _versus_other(p, u["recommended"], u["returns"])
    out["points"] = _with_past([why, other, cost_range], _versus_past(p, per, u.get("past"), window, league), per,
                               u.get("past"))
    return out
