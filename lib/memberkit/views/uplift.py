"""The next campaign's targets in words and pictures: the campaign report's section (the list, its
expected return, its holdout, the Qini curves against RFM targeting) and the month summary's lines.

Everything is worded from :class:`memberkit.uplift.Plan` on the page and from the ``uplift`` block
of ``campaign_review.json`` on the summary (catalogue section ``uplift``)."""

from __future__ import annotations

import pandas as pd

from .. import uplift
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


def kpis(p: Presentation, plan: uplift.Plan, period: str = "") -> list[KPI]:
    """The recommended list's cards: members to contact, held out, expected incremental margin and net."""
    r = plan.returns.get(plan.recommended or "", {})
    if not r:
        return []
    fig = lambda key, v: Figure(f"campaign_review.uplift_{key}", period, v)  # noqa: E731
    net = r["net"]
    return [KPI(_t(p, "kpi_contacted"), p.count(r["contacted"]), _t(p, f"kpi_rule_{plan.recommended}"),
                figure=fig("contacted", r["contacted"])),
            KPI(_t(p, "kpi_holdout"), p.count(r["holdout"]), _t(p, "kpi_holdout_sub", share=p.pct(plan.holdout_share, 0)),
                figure=fig("holdout", r["holdout"])),
            KPI(_t(p, "kpi_margin"), p.money(r["incremental_margin"]), figure=fig("incremental_margin", r["incremental_margin"])),
            KPI(_t(p, "kpi_net"), p.money(net), _t(p, "kpi_net_sub", cost=p.money(r["contact_cost"])),
                good=None if missing(net) else net > 0, figure=fig("net", net))]


def headline(p: Presentation, plan: uplift.Plan) -> str:
    """The recommendation in one sentence: which list, how many members, what it should bring."""
    if plan.state != "ready":
        return state_note(p, plan)
    r = plan.returns[plan.recommended]
    return _t(p, f"headline_{plan.recommended}", type=p.code("campaign_types", plan.campaign_type),
              contacted=p.count(r["contacted"]), holdout=p.count(r["holdout"]), net=p.money(r["net"]),
              margin=p.money(r["incremental_margin"]), cost=p.money(r["contact_cost"]))


def validation_sentence(p: Presentation, plan: uplift.Plan) -> str:
    """How the model's ranking did against RFM targeting on the past campaigns, and what follows."""
    v = plan.validation
    if v is None:
        return ""
    verdict = "better" if v.model_is_better else "not_better"
    return _t(p, f"validation_{verdict}", campaigns=p.list_sep.join(v.campaigns), rows=p.count(v.rows),
              holdout=p.count(v.holdout_rows), model=_interval(p, v.model_qini), rfm=_interval(p, v.rfm_qini),
              diff=_interval(p, v.difference), auuc_model=p.money(v.model_auuc[0], 2),
              auuc_rfm=p.money(v.rfm_auuc[0], 2), auuc_diff=_interval(p, v.auuc_difference))


def method_note(p: Presentation, plan: uplift.Plan, params) -> str:
    """What the expected margin is, the cost used and the window learnt, in one note."""
    cost_from = (_t(p, "cost_setting") if params.target_contact_cost is not None
                 else _t(p, "cost_from", campaign=plan.cost_campaign or "–"))
    return _t(p, f"method_{plan.window}", margin=p.pct(params.margin, 0), cost=p.money(plan.contact_cost, 2),
              cost_from=cost_from, post=params.post_days, share=p.pct(plan.holdout_share, 0))


def seed_hint(p: Presentation, plan: uplift.Plan) -> str:
    """For analysts, under the method note: the seed of the holdout draw and the validation (a setting)."""
    return _t(p, "seed_hint", seed=plan.seed)


def returns_frame(p: Presentation, plan: uplift.Plan) -> pd.DataFrame:
    """Both lists side by side, decision first: the list and whether it is the recommended one, then
    members listed, contacted and held out, expected incremental margin, contact cost and net."""
    rows = []
    for rule in RULES:
        r = plan.returns.get(rule)
        if not r:
            continue
        rows.append({_t(p, "col_list"): _t(p, f"list_{rule}"),
                     _t(p, "col_recommended"): _t(p, "yes" if rule == plan.recommended else "no"),
                     _t(p, "col_listed"): p.count(r["listed"]), _t(p, "col_contacted"): p.count(r["contacted"]),
                     _t(p, "col_holdout"): p.count(r["holdout"]), _t(p, "col_margin"): p.money(r["incremental_margin"]),
                     _t(p, "col_cost"): p.money(r["contact_cost"]), _t(p, "col_net"): p.money(r["net"])})
    return page.decision_first(pd.DataFrame(rows))


def segments_frame(p: Presentation, plan: uplift.Plan) -> pd.DataFrame:
    """The recommended list by RFM segment: members listed, held out, and the expected net return of the
    members contacted (the holdout is not contacted and brings nothing), per contacted member and in all,
    so the column adds up to the list's expected return (:func:`memberkit.uplift.expected_return`)."""
    from .. import rfm
    from .rfm import group_label
    t = plan.targets
    if t is None or t.empty:
        return pd.DataFrame()
    t = t.assign(contacted_net=t.expected_net.where(~t.holdout, 0.0))
    g = t.groupby("segment").agg(n=("member_id", "size"), held=("holdout", "sum"), net=("contacted_net", "sum"))
    g = g.sort_values(["net"], ascending=False, kind="stable")
    outside = rfm.outside_window().key
    return pd.DataFrame([{_t(p, "col_segment"): group_label(p, "segment", outside if seg == "none" else seg), _t(p, "col_listed"): p.count(r.n),
                          _t(p, "col_holdout"): p.count(r.held), _t(p, "col_net_member"): p.money(r.net / (r.n - r.held), 2) if r.n > r.held else DASH,
                          _t(p, "col_net"): p.money(r.net)} for seg, r in g.iterrows()])


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
    return _t(p, "export", file=path.name, holdout=uplift.HOLDOUT_FILE) if path is not None else ""


def section(p: Presentation, plan: uplift.Plan, params, period: str, data_dir) -> None:
    """The campaign report's section, shown on the page: heading, cards, recommendation, validation,
    both lists' expected return, the Qini curves, the list by segment and its CSV (written to
    ``data_dir`` as ``uplift_targets.csv``)."""
    if plan.state == "no_table":
        return
    page.heading(title(p, plan), anchor=ANCHOR)
    if plan.state != "ready":
        page.note(state_note(p, plan))
        return
    page.kpi_cards(kpis(p, plan, period))
    page.headline(headline(p, plan))
    page.note(validation_sentence(p, plan))
    page.table(returns_frame(p, plan))
    page.note(_t(p, f"returns_note_{plan.recommended}"))
    page.note(method_note(p, plan, params))
    page.for_analysts(p, seed_hint(p, plan))
    page.figure(plot_qini(p, plan))
    page.note(_t(p, "qini_caption"))
    segments = segments_frame(p, plan)
    if not segments.empty:
        page.table(segments)
    page.note(export_note(p, uplift.export_targets(plan, data_dir, p.currency)))


# ------------------------------------------------------------------ the month summary
def summary_section(s) -> dict | None:
    """The summary page's lines on the next campaign (``s``: :class:`memberkit.month.MonthSummary`),
    from ``campaign_review.json``'s ``uplift`` block: ``title``, ``sentence``, ``link``; None when the
    campaign review has no plan."""
    res = s.results("campaign_review") if hasattr(s, "results") else None
    u = ((res or {}).get("results") or {}).get("uplift")
    if not u or u.get("state") == "no_table":
        return None
    p = Presentation(s.language, s.currency, own_names(s.display_names, s.language))
    out = {"title": _title(p, u.get("campaign_type")), "link": f"campaign_review.html#{ANCHOR}", "sentence": ""}
    if u.get("state") != "ready":
        out["sentence"] = _t(p, f"state_{u.get('state')}", holdout=p.count(u.get("holdout_rows") or 0),
                             needed=p.count(u.get("min_holdout")))
        return out
    r = u["returns"][u["recommended"]]
    v = u.get("validation") or {}
    diff, lo, hi = v.get("qini_difference") or [None, None, None]
    out["sentence"] = _t(p, f"summary_{u['recommended']}", contacted=p.count(r["contacted"]),
                         holdout=p.count(r["holdout"]), net=p.money(r["net"]), cost=p.money(r["contact_cost"]),
                         diff=p.money(diff, 2), lo=p.money(lo, 2), hi=p.money(hi, 2))
    return out
