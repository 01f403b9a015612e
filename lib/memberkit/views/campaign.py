"""The campaign report's words and pictures: verdicts, league table and chart, figures, daily curves."""

from __future__ import annotations

import math

import pandas as pd

from .. import campaign
from ..report import missing
from .context import DASH, Presentation, joined_sign, reason_text
from . import page
from .page import KPI, Figure, card
from .rfm import group_label
from .theme import CATEGORIES, PALETTE, percent_axis


def _roi(p: Presentation, x) -> str:
    """A return on cost: a signed whole percent."""
    return p.signed_pct(x, 0)


def _ci(e: campaign.Estimate, fmt) -> str:
    """An interval, '+61% … +375%', never broken across lines (no-break spaces)."""
    return f"{fmt(e.ci_low)}\u00a0…\u00a0{fmt(e.ci_high)}"


def orders_clear(f: dict) -> bool:
    """Whether a campaign's extra orders are clear: their 95% interval does not include 0."""
    e = f["incremental_orders"]
    return not (missing(e.ci_low) or missing(e.ci_high) or e.ci_low <= 0 <= e.ci_high)


def cost_per_order(p: Presentation, f: dict, fmt=None) -> str:
    """The cost per extra order, or 'not meaningful' when the extra orders are not clear (their interval
    includes 0: 23 extra orders, -176 … 222, made CN¥1,318 an order, a figure that means nothing)."""
    if not orders_clear(f):
        return p.text("cr.not_meaningful")
    return (fmt or p.money)(f["cost_per_incremental_order"].value)


def title(p: Presentation, r: campaign.CampaignReview, quoted: bool = True) -> str:
    """How the page names a reviewed campaign: its id and name, in the English edition a Chinese name told
    by the campaign's type (:meth:`memberkit.views.context.Presentation.campaign`; ``quoted=False`` leaves
    that name out, for the league chart's labels)."""
    return p.campaign(r.campaign_id, r.name, r.type, quoted)


def verdict_sentence(p: Presentation, r: campaign.CampaignReview, params) -> str:
    """The campaign's verdict in one sentence with its figures; weaker evidence says so first."""
    f, v = r.figures, r.verdict
    values = dict(name=title(p, r), orders=p.count(f["incremental_orders"].value), olo=p.count(f["incremental_orders"].ci_low),
                  ohi=p.count(f["incremental_orders"].ci_high), margin=p.money(f["incremental_margin"].value),
                  cost=p.money(r.cost), roi=_roi(p, f["roi"].value), lo=_roi(p, f["roi"].ci_low),
                  hi=_roi(p, f["roi"].ci_high), post=r.post_days_observed,
                  share=p.pct(r.pull_forward["share_given_back"] or math.nan, 0))
    sentence = p.text(f"cr.verdict_{v['decision']}_{v['reason']}", **values)
    if r.evidence == "matched_baseline":
        sentence = p.text("cr.weaker_prefix") + sentence
    return sentence


def kpis(p: Presentation, res: dict):
    """The cards, from the report's results: none when the sources have no campaign tables (the
    report is skipped, not zero). A count of this period's campaigns says so, with the league's beside it
    (:func:`memberkit.campaign.verdict_counts`): the league table below lists them all."""
    r, t = res.get("results", {}), res.get("kpis", {})
    if not r.get("has_table", True):
        return []
    league = r.get("campaigns", {})
    net = t.get("net_gain")
    fig = lambda key: Figure(f"campaign_review.{key}", res.get("period") or "", t.get(key))  # noqa: E731
    of_league = lambda n: p.text("cr.kpi_of_period_sub", n=p.count(n), total=p.count(len(league)))  # noqa: E731
    return [KPI(p.text("cr.kpi_reviewed"), p.count_of(t.get("reviewed"), "campaigns"), p.text("cr.kpi_league_sub", n=p.count(len(league))),
                figure=fig("reviewed")),
            KPI(p.text("cr.kpi_incremental_revenue"), p.money(t.get("incremental_revenue")), figure=fig("incremental_revenue")),
            KPI(p.text("cr.kpi_net"), p.money(net), good=(net > 0) if t.get("reviewed") and not missing(net) else None,
                figure=fig("net_gain")),
            KPI(p.text("cr.kpi_repeat"), p.count_of(t.get("repeat"), "campaigns"), of_league(campaign.verdict_counts(r, False)["repeat"]),
                figure=fig("repeat")),
            # the same population as the league table's pull-forward column, said on the card
            KPI(p.text("cr.kpi_pull_forward"), p.count_of(t.get("pull_forward"), "campaigns"),
                of_league(sum(bool((c.get("pull_forward") or {}).get("flagged")) for c in league.values())),
                good=False if t.get("pull_forward") else None, figure=fig("pull_forward"))]


def compared(p: Presentation, res: dict):
    """What a scratch run sets beside the published run (:func:`memberkit.views.page.vs_published`): the cards,
    then each league campaign's return on cost, in league order."""
    league = sorted((res.get("results", {}).get("campaigns") or {}).items(), key=lambda x: x[1]["rank"])
    return [*kpis(p, res), *(KPI(p.text("cr.compared_roi", campaign=p.campaign(cid, c.get("name"), c.get("type"))),
                                 _roi(p, c["figures"]["roi"]["value"])) for cid, c in league)]


def league_counts(p: Presentation, res: dict) -> str:
    """Under the league's heading: its verdicts counted over every campaign in it, and how many of them ended in
    this period, the set the cards and the month's summary count (:func:`memberkit.campaign.verdict_counts`);
    '' without a campaign."""
    r = res.get("results", {})
    league, ended = campaign.verdict_counts(r, False), campaign.verdict_counts(r, True)
    if not league["campaigns"]:
        return ""
    return p.text("cr.league_counts", n=p.count(league["campaigns"]), repeat=p.count(league["repeat"]),
                  change=p.count(league["change"]), stop=p.count(league["stop"]), period=p.count(ended["campaigns"]))


def headline(p: Presentation, res: dict) -> str:
    """How many campaigns of the league paid back their cost, and the best of those (never one that
    did not), from the report's results; a single one is named as the one that paid ('1 of the 7 campaigns
    ... paid back its cost'), not as the best."""
    r = res.get("results", {})
    if not r.get("has_table", True):
        return p.text("cr.no_table")
    league = sorted(r.get("campaigns", {}).items(), key=lambda x: x[1]["rank"])
    if not league:
        return p.text("cr.none", period=res.get("period"))
    # "best" only among the campaigns that paid back their cost with confidence
    paying = [(cid, c) for cid, c in league if not missing(c["figures"]["roi"]["ci_low"]) and c["figures"]["roi"]["ci_low"] > 0]
    if not paying:
        return p.text("cr.headline_none_paid", n=p.count(len(league)))
    cid, best = paying[0]
    return p.text("cr.headline_one_paid" if len(paying) == 1 else "cr.headline", n=p.count(len(league)), paying=p.count(len(paying)),
                  best=p.campaign(cid, best.get("name"), best.get("type")), roi=_roi(p, best["figures"]["roi"]["value"]))


def analyst_hint(p: Presentation, res: dict) -> str:
    """For analysts, under the headline when there is nothing to review: how to map the campaign tables or
    name a campaign (the setting and the command line); '' otherwise."""
    r = res.get("results", {})
    if not r.get("has_table", True):
        return p.text("cr.no_table_hint")
    if r.get("campaigns"):
        return ""
    available = r.get("available") or []
    return p.text("cr.none_hint", period=res.get("period"), example=available[-1] if available else "CAMPAIGN-ID")


def summary_card(p: Presentation, res: dict) -> dict:
    """The month summary's card of this report: headline and first cards, from its results."""
    return card(headline(p, res), kpis(p, res))


# where a league cell breaks, on screen and on paper (A4, every column printed): a figure over its interval,
# a start over its end, two lines at most and never inside a date or a figure (page.LINE_CELLS)
PRINT_BREAK = "\n"


def league_frame(p: Presentation, a: campaign.CampaignAnalysis) -> pd.DataFrame:
    """Every campaign of the league, ranked by incremental return on cost; decision first: the campaign
    and its verdict (one word) are the first two columns and stay in view (the rank before the campaign's
    name, the number of its verdict sentence), then why it got that verdict, in words that may wrap, then
    what the verdict rests on: its type, return on cost, the incremental margin and the cost it is made of
    (so the summary's sums per type can be checked here; the margin with its interval), the pull-forward
    check and the evidence. The details (dates, reach, extra orders and revenue, each with its interval)
    are a table of their own (:func:`league_details_frame`):
    in one table of 14 columns the verdict and its reason wrapped to five lines on A4 and the last columns
    were cut mid-word at 1280 px. A figure's interval is on a line of its own (:data:`PRINT_BREAK`)."""
    rows = []
    for rank, r in enumerate(a.league(), 1):
        f = r.figures
        rows.append({p.text("cr.col_campaign"): _league_name(p, a, rank, r),
                     p.text("cr.col_verdict"): p.text(f"cr.decision_{r.verdict['decision']}"),
                     p.text("cr.col_why"): verdict_why(p, r.verdict),
                     p.text("cr.col_type"): p.code("campaign_types", r.type) if r.type else DASH,
                     p.text("cr.col_roi"): f"{_roi(p, f['roi'].value)}{PRINT_BREAK}({_ci(f['roi'], lambda x: _roi(p, x))})",
                     p.text("cr.col_margin"): _with_ci(p.money, f["incremental_margin"]),
                     p.text("cr.col_cost"): p.money(r.cost),
                     p.text("cr.col_pull_forward"): pull_forward_word(p, r.pull_forward),
                     p.text("cr.col_evidence"): p.text(f"cr.evidence_{r.evidence}")})
    frame = pd.DataFrame(rows)
    frame.attrs[page.LINE_CELLS] = True
    frame = page.decision_first(frame)
    # on paper, in type that can be read (9.5 pt), the type column squeezed the cells beside it (the names to four
    # lines, 'C2511 / spend-and- / save "双11 满 / 减"'; the Chinese pull-forward cell to '尚未完 / 成 / （24 / 天）' in
    # 60 px): both editions leave it off, the printed line naming the types the names do not give (the Chinese
    # names 满300减50 or 618 大促 do not say theirs)
    if rows:
        return page.printed_without(frame, [list(frame.columns).index(p.text("cr.col_type"))],
                                    league_printed_line(p, a.league()))
    return frame


def league_printed_line(p: Presentation, reviews) -> str:
    """The line printed under the league in place of its type column, a sentence of the catalogue: that the names
    give their type, or else which type each campaign whose name does not give it is ('C2503 spend-and-save').
    ``reviews``: the league's campaigns (:meth:`memberkit.campaign.CampaignAnalysis.league`, or anything with
    ``campaign_id``, ``name`` and ``type``, as the sample's ``CAMPAIGNS``), in the order they are named."""
    untold = [f"{r.campaign_id} {p.code('campaign_types', r.type)}" for r in reviews
              if r.type and p.code("campaign_types", r.type) not in title(p, r)]
    if not untold:
        return p.text("cr.league_printed_without")
    return p.text("cr.league_printed_without_types", types=p.list_sep.join(untold))


def league_details_frame(p: Presentation, a: campaign.CampaignAnalysis) -> pd.DataFrame:
    """The league's details, one row per campaign in the league's order: dates, reach, extra orders and
    extra revenue with their 95% intervals, and cost per extra order (not meaningful when the extra orders are not
    clear). A campaign's end and a figure's interval are on a line of their own (:data:`PRINT_BREAK`)."""
    rows = []
    for rank, r in enumerate(a.league(), 1):
        f = r.figures
        rows.append({p.text("cr.col_campaign"): _league_name(p, a, rank, r),
                     p.text("cr.col_dates"): f"{r.start} –{PRINT_BREAK}{r.end}",
                     p.text("cr.col_targeted"): p.count(r.n_target),
                     p.text("cr.col_orders"): f"{p.count(f['incremental_orders'].value)}{PRINT_BREAK}({_ci(f['incremental_orders'], p.count)})",
                     p.text("cr.col_revenue"): _with_ci(p.money, f["incremental_revenue"]),
                     p.text("cr.col_cost_per_order"): cost_per_order(p, f)})
    frame = pd.DataFrame(rows)
    frame.attrs[page.LINE_CELLS] = True
    return page.decision_first(frame, 1)


def _with_ci(fmt, e: campaign.Estimate) -> str:
    """A league figure over its 95% interval on a line of its own: extra revenue and margin are a difference
    of each member's spend times the members targeted, and spend varies far more than orders (C2501 read
    CN¥36,540 of revenue on 23 extra orders; its interval runs from below zero), so the interval is shown
    beside each, as beside the orders and the return."""
    return f"{fmt(e.value)}{PRINT_BREAK}({_ci(e, fmt)})"


def league_sentences(p: Presentation, a: campaign.CampaignAnalysis, params) -> list[str]:
    """One numbered sentence per campaign of the league, in its order: the verdict with its figures
    (:func:`verdict_sentence`), except for a campaign of the period, whose verdict the top of the page gives:
    its line refers to it. Issue 23: the latest campaign's verdict stood three times on the page."""
    return [p.text("cr.league_verdict_above", rank=rank, campaign=title(p, r),
                   verdict=p.text(f"cr.decision_{r.verdict['decision']}"))
            if r.campaign_id in a.reviewed else f"{rank}. {verdict_sentence(p, r, params)}"
            for rank, r in enumerate(a.league(), 1)]


def section_verdict(p: Presentation, r: campaign.CampaignReview) -> str:
    """A campaign's section under its heading: the verdict in a word, and where its sentence stands (the top of
    the page, :func:`verdict_sentence`); the section's figures are what it rests on."""
    return p.text("cr.verdict_above", verdict=p.text(f"cr.decision_{r.verdict['decision']}"))


def _league_name(p: Presentation, a: campaign.CampaignAnalysis, rank: int, r: campaign.CampaignReview) -> str:
    return f"{rank}. {title(p, r)}" + (" ★" if r.campaign_id in a.reviewed else "")


def verdict_why(p: Presentation, verdict: dict) -> str:
    """Why a league row got its verdict, in a few words ('moved orders forward', 'no clear response'), so a
    verdict that seems out of step with the ranking (change at -96%, stop at -63%) says why on its own row;
    '' when the verdict has no reason code."""
    reason = verdict.get("reason")
    return p.text(f"cr.why_short.{reason}") if reason else ""


def verdict_rules(p: Presentation, params) -> str:
    """How repeat / change / stop are reached (:func:`memberkit.campaign.decide`), in one plain sentence beside
    the league: repeat when it pays at the low end of its interval, stop when members showed no clear response
    and it lost money, change when they responded but it did not pay (pull-forward among those), which is why
    a campaign can read change with a lower return than one that reads stop."""
    return p.text("cr.verdict_rules", post=params.post_days, share=p.pct(params.pull_forward_share, 0))


# colour-blind safe (theme.CATEGORIES): the red and green before were 6.6 apart (CIEDE2000) for a deuteranope, these 9.0
VERDICT_COLOURS = {"repeat": CATEGORIES[2], "change": CATEGORIES[1], "stop": CATEGORIES[3]}


def plot_league(p: Presentation, a: campaign.CampaignAnalysis):
    """Return on cost with its interval per campaign, coloured by verdict; the period's campaigns starred."""
    import matplotlib.pyplot as plt
    league = a.league()[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.55 * len(league) + 1.5))
    for i, r in enumerate(league):
        roi, colour = r.figures["roi"], VERDICT_COLOURS[r.verdict["decision"]]
        ax.plot([roi.ci_low, roi.ci_high], [i, i], color=colour, lw=2)
        ax.plot(roi.value, i, "o", color=colour, ms=8, mfc=colour if r.evidence == "holdout" else "white")
    ax.axvline(0, color="#555", lw=1)
    ax.set_yticks(range(len(league)), [title(p, r, quoted=False) + (" ★" if r.campaign_id in a.reviewed else "") for r in league])
    percent_axis(ax.xaxis, signed=True)
    ax.set_xlabel(p.text("cr.roi_axis"))
    ax.set_title(p.text("cr.league_chart"), loc="left")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2, label=p.text(f"cr.decision_{k}"))
               for k, c in VERDICT_COLOURS.items()]
    ax.legend(handles=handles, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=11)
    fig.tight_layout()
    return fig


def campaign_kpis(p: Presentation, r: campaign.CampaignReview):
    f = r.figures
    return [KPI(p.text("cr.kpi_reach"), p.count_of(f["reach"], "members"),
                p.text("cr.kpi_reach_sub", response=p.pct(f["response_rate_target"]),
                     redeemed=p.pct(f["redemption_rate"]))),
            KPI(p.text("cr.kpi_orders"), p.count_of(f["incremental_orders"].value, "orders"), _ci(f["incremental_orders"], p.count)),
            KPI(p.text("cr.kpi_revenue"), p.money(f["incremental_revenue"].value),
                _ci(f["incremental_revenue"], lambda x: p.money(x))),
            KPI(p.text("cr.kpi_roi"), _roi(p, f["roi"].value), _ci(f["roi"], lambda x: _roi(p, x)), good=f["roi"].value > 0),
            KPI(p.text("cr.kpi_cost_per_order"), p.money(f["cost_per_incremental_order"].value)) if orders_clear(f) else
            KPI(p.text("cr.kpi_cost_per_order"), DASH, p.text("cr.cost_per_order_unclear"))]


def figures_frame(p: Presentation, r: campaign.CampaignReview, params) -> pd.DataFrame:
    """The campaign's figures with their 95% intervals, target beside comparison where both exist."""
    f = r.figures
    money = lambda x: p.money(x)
    rows = [
        ("cr.f_response", p.pct(f["response_rate_target"]), p.pct(f["response_rate_comparison"]), ""),
        ("cr.f_redemption", p.pct(f["redemption_rate"]), "", ""),
        ("cr.f_orders_net", p.count(f["incremental_orders"].value), "", _ci(f["incremental_orders"], p.count)),
        ("cr.f_orders_during", p.count(f["incremental_orders_during"].value), "", _ci(f["incremental_orders_during"], p.count)),
        ("cr.f_revenue_net", money(f["incremental_revenue"].value), "", _ci(f["incremental_revenue"], money)),
        ("cr.f_margin", money(f["incremental_margin"].value), "", _ci(f["incremental_margin"], money)),
        ("cr.f_did", p.count(f["did_orders_per_target"].value * r.n_target), "",
         _ci(f["did_orders_per_target"].scaled(r.n_target), p.count)),
        ("cr.f_cost", money(r.cost), "", ""),
        ("cr.f_roi", _roi(p, f["roi"].value), "", _ci(f["roi"], lambda x: _roi(p, x))),
        ("cr.f_cost_per_order", cost_per_order(p, f), "",
         _ci(f["cost_per_incremental_order"], money) if orders_clear(f) else ""),
        ("cr.f_aov", money(f["aov_target"]), money(f["aov_comparison"]), ""),
        ("cr.f_discount_rate", p.pct(f["discount_rate_target"]), p.pct(f["discount_rate_comparison"]), ""),
    ]
    return pd.DataFrame([{p.text("cr.col_figure"): p.text(k, post=r.post_days_observed,
                                                                     margin=p.pct(params.margin, 0)),
                          p.text("cr.col_target"): t,
                          p.text(f"cr.col_comparison_{r.evidence}"): c,
                          p.text("cr.col_ci"): ci} for k, t, c, ci in rows])


def members_beyond(p: Presentation, value, low, high) -> str:
    """Extra members beyond the comparison with their 95% interval, signed ('+12 (95% interval +3 to +21)');
    a difference and interval that are all zero as shown (no such member in either group) read 'none', not
    '+0 (95% interval +0 to +0)'. A missing figure is a dash."""
    signed = lambda x: DASH if missing(x) else joined_sign("+" if x >= 0 else "-", p.count(abs(x)))   # noqa: E731
    if not any(missing(x) for x in (value, low, high)) and all(p.count(abs(x)) == p.count(0) for x in (value, low, high)):
        return p.text("cr.m_beyond_none")
    return p.text("cr.m_beyond", value=signed(value), lo=signed(low), hi=signed(high))


def members_frame(p: Presentation, r: campaign.CampaignReview, silent_days: int = 90) -> pd.DataFrame:
    """New buyers, members won back (no order in the ``silent_days`` before the campaign, the campaign
    settings' ``silent_days``; silent or lapsed in DOMAIN.md's stages, so the row names the days, not a
    stage) and high-value members lost, with the comparison's rate. Stacked on a phone
    (:func:`memberkit.views.page.stacked`): its rows are named by sentences.

    The last column holds each row against the comparison, and its heading says no more than that: the extra
    members beyond the comparison with their 95% interval for the first two rows, the two groups' rates for the
    high-value members lost (a column headed 'Beyond the comparison (95% CI)' held those rates too)."""
    f = r.figures
    inc = lambda e: members_beyond(p, e.value, e.ci_low, e.ci_high)   # noqa: E731
    rows = [(p.text("cr.m_new"), p.count(f["new_buyers"]), inc(f["incremental_new_buyers"])),
            (p.text("cr.m_reactivated", n=p.count(f["lapsed_targeted"]), days=p.count(silent_days)), p.count(f["reactivated"]),
             inc(f["incremental_reactivated"])),
            (p.text("cr.m_hv_lost", hv=p.count(f["high_value_targeted"])), p.count(f["high_value_lost"]),
             p.text("cr.m_hv_rates", target=p.pct(f["high_value_lost_rate_target"]),
                  comparison=p.pct(f["high_value_lost_rate_comparison"])))]
    return page.stacked(pd.DataFrame(rows, columns=[p.text("cr.col_members_what"), p.text("cr.col_members_count"),
                                                    p.text("cr.col_members_incremental")]))


def pull_forward_word(p: Presentation, pf: dict) -> str:
    """The league's pull-forward cell for a campaign's check (:func:`memberkit.campaign.pull_forward_check`):
    'yes' when flagged; 'not yet (N days)' while fewer than the check's days after the end are in the data;
    'not clear' when the target bought fewer orders than the comparison after the campaign but not clearly
    fewer; 'no' only when it bought as many or more. 'No' said of an unfinished check, or of a lift mostly
    given back with an interval just crossing zero, read as a clean bill."""
    if pf["flagged"]:
        return p.text("cr.flag_yes")
    if not pf["complete"]:
        # the days on a line of their own, as a figure's interval is: the league's columns stay narrow
        return p.text("cr.flag_not_yet", days=p.count(pf["days_after_observed"]), sep=PRINT_BREAK)
    after = (pf.get("after_per_target") or {}).get("value")
    if not missing(after) and round(after * 1000) < 0:
        return p.text("cr.flag_not_clear")
    return p.text("cr.flag_no")


def pull_forward_sentence(p: Presentation, r: campaign.CampaignReview) -> str:
    """Whether the target bought fewer orders than the comparison in the days after the campaign: the
    difference per 1,000 targeted worded as fewer or more (never a negative number of orders bought),
    its interval signed."""
    pf = r.pull_forward
    after = pf["after_per_target"]
    per_k = lambda x: "–" if missing(x) else ("+" if round(x * 1000) > 0 else "") + p.count(x * 1000)  # noqa: E731
    n = 0 if missing(after["value"]) else round(after["value"] * 1000)
    key = ("cr.pull_flagged" if pf["flagged"] else
           "cr.pull_none_fewer" if n < 0 else "cr.pull_none_more" if n > 0 else "cr.pull_none_same")
    sentence = p.text(key, days=pf["days_after_observed"], after=p.count(abs(n)),
                    lo=per_k(after["ci_low"]), hi=per_k(after["ci_high"]),
                    share=p.pct(pf["share_given_back"], 0) if pf["share_given_back"] is not None else "–")
    if not pf["complete"]:
        sentence += p.sentence_sep + p.text("cr.pull_incomplete", days=pf["days_after_observed"])
    return sentence


def evidence_note(p: Presentation, r: campaign.CampaignReview) -> str:
    if r.evidence == "holdout":
        return p.text("cr.evidence_holdout_note", target=p.count(r.n_target), holdout=p.count(r.n_comparison))
    return p.text("cr.evidence_matched_note", target=p.count(r.n_target), baseline=p.count(r.n_comparison),
                unmatched=p.count(r.unmatched))


def plot_daily(p: Presentation, r: campaign.CampaignReview):
    """Orders, AOV and sales per member by day (7-day rolling), target against comparison, campaign shaded."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(3, 1, figsize=(6.4, 8.4), sharex=True)   # one time axis: panels line up, one above the other
    panels = [("orders_per_1000", "cr.daily_orders", lambda v, _: f"{v:.1f}"),
              ("aov", "cr.daily_aov", lambda v, _: f"{v:,.0f}"),
              ("sales_per_member", "cr.daily_sales", lambda v, _: f"{v:.2f}")]
    comparison_label = p.text(f"cr.group_{r.evidence}")
    for ax, (col, title, fmt) in zip(axes, panels):
        for g, colour, ls, label in (("target", PALETTE[0], "-", p.text("cr.group_target")),
                                     ("comparison", "#777", "--", comparison_label)):
            d = r.daily[r.daily.group == g]
            ax.plot(d.day, d[col], color=colour, ls=ls, lw=2, label=label)
        ax.axvspan(pd.Timestamp(r.start), pd.Timestamp(r.end) + pd.Timedelta(days=1), color=PALETTE[3], alpha=0.15)
        ax.set_title(p.text(title, currency=p.symbol), loc="left")
        ax.yaxis.set_major_formatter(fmt)
        _day_axis(ax)
    axes[0].legend(frameon=False, loc="upper left", fontsize=11)
    fig.tight_layout()
    return fig


def _day_axis(ax) -> None:
    """Four or five day ticks as month-day (the year is in the heading), never crowded."""
    import matplotlib.dates as mdates
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=5))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))


def plot_gap(p: Presentation, r: campaign.CampaignReview):
    """Cumulative extra orders per 1,000 targeted since the start: a fall after the end is pull-forward."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    g = r.gap * 1000
    ax.plot(g.index, g.values, color=PALETTE[0], lw=2)
    ax.axvspan(pd.Timestamp(r.start), pd.Timestamp(r.end) + pd.Timedelta(days=1), color=PALETTE[3], alpha=0.15)
    ax.axhline(0, color="#555", lw=1)
    ax.set_title(p.text("cr.gap_title"), loc="left")
    _day_axis(ax)
    fig.tight_layout()
    return fig


def segments_frame(p: Presentation, r: campaign.CampaignReview) -> pd.DataFrame:
    """The per-segment and per-tier results as the report shows them (empty when none qualified)."""
    return pd.DataFrame([_segment_row(p, x) for x in r.segments.itertuples()])


def _segment_row(p: Presentation, x) -> dict:
    return {p.text("cr.col_dimension"): p.text(f"cr.dim_{x.dimension}"),
            p.text("cr.col_group"): group_label(p, x.dimension, x.group),
            p.text("cr.col_n"): f"{p.count(x.n_target)} / {p.count(x.n_comparison)}",
            p.text("cr.col_orders_per_1000"): f"{p.count(x.incremental_orders_per_target * 1000)} "
                                                      f"({p.count(x.ci_low * 1000)} … {p.count(x.ci_high * 1000)})",
            p.text("cr.col_margin_per_member"): p.money(x.incremental_margin_per_target, 2),
            p.text("cr.col_discount_per_member"): p.money(x.discount_per_target, 2),
            p.text("cr.col_result"): p.text(f"cr.result_{x.result}")}


def record(p: Presentation, a: campaign.CampaignAnalysis, results, params) -> None:
    """``campaign_review.json``: the period's totals; every campaign's figures with their intervals, verdict and rank."""
    if a.has_table:
        for key, value in a.totals.items():
            results.kpi(key, value)
    results.key_results = campaign.key_results(a, params)


def section_heading(p: Presentation, r: campaign.CampaignReview) -> str:
    """A campaign's section title: its id and name, its type in the report's language, its dates (the type
    once: a name told by its type already has it)."""
    name = title(p, r)
    if name != campaign.campaign_title(r.campaign_id, r.name):
        return p.text("cr.section_heading_typed", name=name, start=r.start, end=r.end)
    return p.text("cr.section_heading", name=name, type=p.code("campaign_types", r.type), start=r.start, end=r.end)


def skipped_notes(p: Presentation, a) -> list[str]:
    """One sentence per campaign that could not be reviewed, in the page's language (the analysis'
    reason code through the catalogue ``cr.why.*``; its English message otherwise)."""
    return [p.text("cr.skipped", campaign=c, why=reason_text(p, "cr", a.skip_reasons.get(c), why))
            for c, why in a.skipped.items()]
