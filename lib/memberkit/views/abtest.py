"""The A/B report's words and pictures: verdicts, split check, detail tables, forest and curves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import abtest
from ..report import missing
from .context import Presentation, joined_sign
from . import page
from .page import KPI, Figure, FigureMarks, card
from .rfm import group_label
from .attribution import largest_remainder
from .context import DASH, reason_text
from .theme import CATEGORIES, legend_below, percent_axis


def metric_label(p: Presentation, metric: str) -> str:
    """A purchase metric in the report's words; an outcome column of the export by its own name."""
    return p.text(f"ab.metric_{metric}") if metric in abtest.PURCHASE_KINDS else metric


def fmt_metric(p: Presentation, metric: str, value: float, kind: str | None = None) -> str:
    """A metric's value: a rate (conversion, a binary outcome) in percent, money in the shop's currency."""
    if metric == "conversion" or kind == "proportion":
        return p.pct(value)
    if metric in ("revenue", "aov"):    # to cents: per member, tenths hid a cent the tables disagreed on
        return p.money(value, 2)
    return p.ratio(value, 3)


def fmt_difference(p: Presentation, metric: str, value: float, kind: str | None = None) -> str:
    """A difference between two groups' values of a metric, with its sign: of two rates (conversion, a
    binary outcome) in percentage points ('+3.8 pp'), never in percent, which is kept for relative
    lifts; of money in the shop's currency ('+CN¥1.25'); of anything else as a signed number.

    >>> p = Presentation("en", "CNY")
    >>> fmt_difference(p, "conversion", 0.0377), fmt_difference(p, "revenue", -1.25), fmt_difference(p, "orders", 0.0123)
    ('+3.8 pp', '-\\u2060CN¥1.25', '+0.012')
    """
    if missing(value):
        return DASH
    if metric == "conversion" or kind == "proportion":
        return p.pp(value)
    return joined_sign("+" if value >= 0 else "-", fmt_metric(p, metric, abs(value), kind))


def shown_difference(p: Presentation, metric: str, control: float, variant: float, kind: str | None = None) -> str:
    """The difference between the control's and the variant's value as :func:`fmt_metric` shows them,
    with its sign: beside '20.2%' and '18.5%' it reads '-1.7 pp', not the unrounded '-1.6 pp'; money
    and plain numbers likewise from their rounded values ('CN¥57.33' and 'CN¥70.68': '+CN¥13.35').

    >>> p = Presentation("en", "CNY")
    >>> shown_difference(p, "conversion", 0.2016, 0.1854), fmt_difference(p, "conversion", 0.1854 - 0.2016)
    ('-1.7 pp', '-1.6 pp')
    """
    if missing(control) or missing(variant):
        return DASH
    if metric == "conversion" or kind == "proportion":
        return p.pp_change(control, variant)
    digits = 2 if metric in ("revenue", "aov") else 3   # as fmt_metric rounds them
    return fmt_difference(p, metric, round(variant, digits) - round(control, digits), kind)


def group_figure(experiment: str, metric: str, group: str) -> str:
    """The figure code of one group's value of a metric in an experiment: ``ab_test.<experiment>.<metric>.<group>``,
    ``group`` a variant's name or ``control`` (every variant's comparison shares its experiment's control)."""
    return f"ab_test.{experiment}.{metric}.{group}"


def group_value(p: Presentation, metric: str, value: float, kind: str | None = None, marks: FigureMarks | None = None,
                experiment: str = "", group: str = "") -> str:
    """A group's value of ``metric`` as shown (:func:`fmt_metric`); with ``marks``, its token there, so that the
    page marks it as the figure :func:`group_figure` (a missing value is shown, not marked)."""
    shown = fmt_metric(p, metric, value, kind)
    if marks is None or missing(value):
        return shown
    return marks.value(shown, group_figure(experiment, metric, group), value)


def lift_moved(p: Presentation, metric: str, control: float, variant: float, lift: float, kind: str | None = None,
               marks: FigureMarks | None = None, experiment: str = "", variant_name: str = "") -> str:
    """A lift as the summary says it: the two groups' values, their difference as the A/B page shows it
    (:func:`shown_difference`: of rates in percentage points) and then the relative lift ('22.3% → 26.1%
    (+3.8 pp), a relative lift of +16.9%'); the relative lift alone when the results carry no means (a month
    published before the decisions held them). A rate's relative lift alone ('conversion +16.9%') read as
    percentage points beside the A/B page's '+3.8 pp'."""
    if missing(control) or missing(variant):
        return p.signed_pct(lift)
    return p.text("ab.lift_moved", control=group_value(p, metric, control, kind, marks, experiment, "control"),
                  value=group_value(p, metric, variant, kind, marks, experiment, variant_name),
                  change=shown_difference(p, metric, control, variant, kind), lift=p.signed_pct(lift))


def change_and_lift(p: Presentation, metric: str, control: float, variant: float, lift: float,
                    kind: str | None = None) -> str:
    """A verdict's change: the difference the A/B page's tables show (:func:`shown_difference`; of rates
    in percentage points) and then the relative lift its interval belongs to ('+3.8 pp; relative lift
    +16.9%'); the relative lift alone when the results carry no means."""
    if missing(control) or missing(variant):
        return p.signed_pct(lift)
    return p.text("ab.change_and_lift", change=shown_difference(p, metric, control, variant, kind),
                  lift=p.signed_pct(lift))


def _fm(p: Presentation, r: abtest.ExperimentResult, metric: str, value: float) -> str:
    return fmt_metric(p, metric, value, r.kinds.get(metric))


def _fd(p: Presentation, r: abtest.ExperimentResult, metric: str, value: float) -> str:
    return fmt_difference(p, metric, value, r.kinds.get(metric))


# a no-break space: a narrow table cell (A4, a phone) wraps '< 0.001' between its sign and its number otherwise
_NBSP = "\u00a0"


def fmt_p(value: float) -> str:
    """A p-value: three decimals, or '< 0.001' (kept on one line)."""
    if missing(value):
        return "–"
    return f"<{_NBSP}0.001" if value < 0.001 else f"{value:.3f}"


def fmt_chance(x: float) -> str:
    """A chance (0 to 1) as a percentage with one decimal, or '> 99.9%' / '< 0.1%' (kept on one line)."""
    if missing(x):
        return "–"
    return f">{_NBSP}99.9%" if x > 0.999 else (f"<{_NBSP}0.1%" if x < 0.001 else f"{x:.1%}")


def verdict_sentence(p: Presentation, r: abtest.ExperimentResult, params, brief_overstated: bool = False,
                     marks: FigureMarks | None = None) -> str:
    """The experiment's verdict in one sentence with its figures (:func:`experiment_sentence` of its results),
    then the reading of each variant the verdict does not name (:func:`other_variants_sentence`).
    ``brief_overstated``: a likely overstated lift in one clause (the page's opening verdicts), so that the
    sentence on why it is likely overstated stands once on the page, in the experiment's own section.
    ``marks``: the groups' values as figures to mark (:func:`verdict_html`)."""
    e = abtest.experiment_record(r)
    out = experiment_sentence(p, r.experiment_id, e, params.guardrail_metrics if params else [],
                              alpha=params.alpha if params else 0.05, brief_overstated=brief_overstated, marks=marks)
    others = other_variants_sentence(p, e, params.alpha if params else 0.05, marks=marks, experiment=r.experiment_id)
    return out + (p.sentence_sep + others if others else "")


def verdict_html(p: Presentation, r: abtest.ExperimentResult, params, period: str, brief_overstated: bool = False):
    """The page's opening verdict of one experiment (:func:`labelled` :func:`verdict_sentence`) as HTML, each
    group's value marked as its figure (:func:`group_figure`, of ``period``, 'YYYY-MM') by :func:`memberkit.views.page.mark`."""
    marks = FigureMarks(period)
    return marks.html(labelled(p, r.experiment_id, verdict_sentence(p, r, params, brief_overstated, marks=marks)))


def experiment_sentence(p: Presentation, experiment_id: str, e: dict, guardrail_metrics, short: bool = False,
                        alpha: float = 0.05, brief_overstated: bool = False, marks: FigureMarks | None = None) -> str:
    """The verdict sentence of one experiment's results (:func:`memberkit.abtest.experiment_record`);
    ``short`` (the month summary's card) words a likely overstated lift in one clause, without its figures,
    as ``brief_overstated`` does alone. ``alpha``: the significance level of the Holm-adjusted p-values
    (:func:`no_cost_sentence`). The p-values themselves are for analysts (:func:`analyst_notes`)."""
    v, metric = e["verdict"], e["primary_metric"]
    res = e.get("metrics", {}).get(metric, {})          # variant -> figures
    kind = (e.get("kinds") or {}).get(metric)
    fm = lambda x: fmt_metric(p, metric, x, kind)         # noqa: E731
    if v["decision"] == "no_verdict" and v.get("reason") == "primary_undefined":
        why = (e.get("metrics_undefined") or {}).get(metric, {}).get("reason", "not_computable")
        return p.text("ab.verdict_primary_undefined", metric=metric_label(p, metric),
                      reason=p.text(f"ab.untestable_{why}"))
    if v["decision"] == "no_verdict":
        return p.text("ab.verdict_srm", experiment=experiment_id)
    if v["decision"] in ("ship", "ships_conversion_not_margin"):
        row, net = res[v["variant"]], (e.get("net_margin") or {}).get(v["variant"])
        figures = dict(variant=v["variant"], metric=metric_label(p, metric),
                       control=group_value(p, metric, row["control_mean"], kind, marks, experiment_id, "control"),
                       value=group_value(p, metric, row["variant_mean"], kind, marks, experiment_id, v["variant"]),
                       lift=change_and_lift(p, metric, row["control_mean"], row["variant_mean"], row["rel_lift"], kind),
                       lo=p.signed_pct(row["ci_low"]),
                       hi=p.signed_pct(row["ci_high"]), p=fmt_p(row["p_value_adjusted"]))
        if v["decision"] == "ship":
            out = p.text("ab.verdict_ship", guardrails=p.list_sep.join(metric_label(p, g) for g in guardrail_metrics) or "–",
                         **figures)
            if net:
                out += p.sentence_sep + p.text("ab.margin_pays", cost=p.money(net["cost_per_conversion"], 2),
                                    net=p.money(net["net"], 2), lo=p.money(net["net_ci_low"], 2),
                                    hi=p.money(net["net_ci_high"], 2))
            elif not short:   # say that nothing was set against the lift (where to set it: cost_hint)
                out += p.sentence_sep + no_cost_sentence(p, e, v["variant"], alpha, marks, experiment_id)
        else:
            out = p.text("ab.verdict_not_margin", cost=p.money(net["cost_per_conversion"], 2), net=p.money(net["net"], 2),
                         net_lo=p.money(net["net_ci_low"], 2), net_hi=p.money(net["net_ci_high"], 2), **figures)
        over = (e.get("overstated") or {}).get(v["variant"])
        if not over:
            return out
        return out + p.sentence_sep + (p.text("ab.overstated_short", mde=p.pct(over["mde_now"]))
                                       if short or brief_overstated else overstated_sentence(p, over))
    if v["decision"] == "do_not_ship" and v.get("reason") == "guardrail":
        return p.text("ab.verdict_guardrail", variant=v["variant"], metric=metric_label(p, metric),
                      lift=p.signed_pct(res[v["variant"]]["rel_lift"]),
                      guardrails=p.list_sep.join(metric_label(p, g) for g in v["guardrails"]))
    if v["decision"] == "do_not_ship":
        return p.text("ab.verdict_down", metric=metric_label(p, metric))
    # the largest lift first (a missing one last), as the results table lists them
    name = sorted(res, key=lambda k: (missing(res[k]["rel_lift"]), -(res[k]["rel_lift"] or 0)))[0]
    best, plan = res[name], e.get("power", {})
    extra = plan.get("extra_per_variant_needed")
    if plan.get("undefined"):
        more = undefined_sentence(p, plan)
    else:
        more = (p.text("ab.more_members", mde=p.pct(plan["minimum_effect"], 0), extra=p.count(extra))
                if extra else p.text("ab.enough_members", mde=p.pct(plan["minimum_effect"], 0)))
    return p.text("ab.verdict_inconclusive", metric=metric_label(p, metric), variant=name,
                  lift=p.signed_pct(best["rel_lift"]), lo=p.signed_pct(best["ci_low"]), hi=p.signed_pct(best["ci_high"]),
                  more=more)


def no_cost_sentence(p: Presentation, e: dict, variant: str, alpha: float = 0.05, marks: FigureMarks | None = None,
                     experiment: str = "") -> str:
    """What a ship verdict without an incentive cost rests on, following the evidence of ``e`` (an
    experiment record): when revenue per member of ``variant`` moved significantly (Holm-adjusted p below
    ``alpha``) that is said with its figures, up or down; only when it did not (or was not tested, or is
    the primary metric itself) does the verdict 'rest on <primary metric> alone'."""
    metric = e["primary_metric"]
    rev = ((e.get("metrics") or {}).get("revenue") or {}).get(variant) if metric != "revenue" else None
    p_adj, diff = (rev or {}).get("p_value_adjusted"), (rev or {}).get("abs_diff")
    if missing(p_adj) or missing(diff) or p_adj >= alpha or diff == 0:
        return p.text("ab.no_cost", variant=variant, metric=metric_label(p, metric))
    kind = (e.get("kinds") or {}).get("revenue")
    return p.text("ab.no_cost_revenue_up" if diff > 0 else "ab.no_cost_revenue_down", variant=variant,
                  metric=metric_label(p, metric), revenue=metric_label(p, "revenue"),
                  control=group_value(p, "revenue", rev["control_mean"], kind, marks, experiment, "control"),
                  value=group_value(p, "revenue", rev["variant_mean"], kind, marks, experiment, variant),
                  lift=change_and_lift(p, "revenue", rev["control_mean"], rev["variant_mean"], rev["rel_lift"], kind),
                  lo=p.signed_pct(rev["ci_low"]), hi=p.signed_pct(rev["ci_high"]), p=fmt_p(p_adj))


def other_variants_sentence(p: Presentation, e: dict, alpha: float = 0.05, marks: FigureMarks | None = None,
                            experiment: str = "") -> str:
    """One clause per variant of an experiment that its verdict does not name (in an experiment of several
    variants the verdict names one, or none): its primary metric against control and what that means
    for it, so that every variant has its own reading. '' when every variant is named."""
    v, metric = e["verdict"], e["primary_metric"]
    res = e.get("metrics", {}).get(metric, {})
    kind = (e.get("kinds") or {}).get(metric)
    if v["decision"] in ("no_verdict", "not_enough_evidence") or not v.get("variant") or len(res) < 2:
        return ""
    out = []
    for name, row in res.items():
        if name == v["variant"]:
            continue
        p_adj = row.get("p_value_adjusted")
        up = not missing(p_adj) and p_adj < alpha and (row.get("abs_diff") or 0) > 0
        down = not missing(p_adj) and p_adj < alpha and (row.get("abs_diff") or 0) < 0
        key = "ab.other_up" if up else ("ab.other_down" if down else "ab.other_flat")
        out.append(p.text(key, variant=name, chosen=v["variant"], metric=metric_label(p, metric),
                          control=group_value(p, metric, row["control_mean"], kind, marks, experiment, "control"),
                          value=group_value(p, metric, row["variant_mean"], kind, marks, experiment, name),
                          lift=change_and_lift(p, metric, row["control_mean"], row["variant_mean"], row["rel_lift"], kind),
                          lo=p.signed_pct(row["ci_low"]), hi=p.signed_pct(row["ci_high"]), p=fmt_p(p_adj)))
    return p.sentence_sep.join(out)


def section_verdict(p: Presentation, r: abtest.ExperimentResult) -> str:
    """An experiment's section under its heading: its verdict is given once, at the top of the page
    (:func:`verdict_sentence`), so the section refers to it; a likely overstated lift, which the top says in one
    clause, is explained here (:func:`overstated_sentence`). Issue 23: the page gave each verdict twice."""
    e = abtest.experiment_record(r)
    variant = e["verdict"].get("variant")
    over = (e.get("overstated") or {}).get(variant) if variant and e["verdict"]["decision"] in (
        "ship", "ships_conversion_not_margin") else None
    return p.text("ab.verdict_above") + (p.sentence_sep + overstated_sentence(p, over) if over else "")


def overstated_sentence(p: Presentation, o: dict) -> str:
    """Why a significant lift is likely overstated (:func:`memberkit.abtest.overstatement`), in plain words:
    it is close to the smallest lift the test could detect; the exaggeration ratio is for analysts
    (:func:`overstated_hint`)."""
    return p.text("ab.overstated", mde=p.pct(o["mde_now"]))


def overstated_hint(p: Presentation, o: dict) -> str:
    """For analysts, under a likely overstated lift: the power at the assumed true lift and the expected
    exaggeration ratio of a significant estimate (type M error, Gelman and Carlin 2014)."""
    return p.text("ab.overstated_hint", assumed=p.pct(o["assumed_lift"]), power=p.pct(o["power_at_assumed"], 0),
                  ratio=p.ratio(o["exaggeration"], 1))


def analyst_notes(p: Presentation, r: abtest.ExperimentResult) -> list[str]:
    """For analysts, under an experiment's verdict (the verdict itself says 'clear' or 'no clear
    difference' in plain words): the Holm-adjusted p-values of the primary metric per variant, the sample
    ratio check's chi-square p (alone for a broken split, which has no verdict) and, for a likely
    overstated lift, :func:`overstated_hint`."""
    srm = p.text("ab.srm_hint", p=fmt_p(r.srm_p_value))
    if r.srm_failed:
        return [srm]
    e = abtest.experiment_record(r)
    metric = e["primary_metric"]
    rows = (e.get("metrics") or {}).get(metric) or {}
    items = [p.text("ab.p_value_item", variant=v, metric=metric_label(p, metric), p=fmt_p(row.get("p_value_adjusted")))
             for v, row in rows.items()]
    out = [p.text("ab.p_values_hint", experiment=r.experiment_id, items=p.list_sep.join(items))] if items else []
    out.append(srm)
    v = (e.get("verdict") or {}).get("variant")
    over = (e.get("overstated") or {}).get(v) if v else None
    return out + ([overstated_hint(p, over)] if over else [])


def _signed_money(p: Presentation, x: float) -> str:
    """A difference of money with its sign: +CN¥2.05, -CN¥1.52."""
    return ("+" if x >= 0 else "") + p.money(x, 2)


def margin_notes(p: Presentation, r: abtest.ExperimentResult) -> list[str]:
    """One sentence per variant with an incentive cost: margin on the extra revenue, the incentive, the net
    (:func:`memberkit.abtest.net_margin`)."""
    out = []
    for v, m in r.net_margin.items():
        out.append(p.text("ab.margin_note", variant=v, margin=p.pct(m["margin"], 0),
                          revenue=_signed_money(p, m["revenue_difference"]),
                          incremental=_signed_money(p, m["incremental_margin"]),
                          cost=p.money(m["cost_per_conversion"], 2), conversion=p.pct(m["conversion"]),
                          incentive=p.money(m["incentive_cost"], 2), net=p.money(m["net"], 2),
                          lo=p.money(m["net_ci_low"], 2), hi=p.money(m["net_ci_high"], 2)))
    return out + [p.text("ab.margin_method")] if out else out


def margin_hint(p: Presentation, r: abtest.ExperimentResult) -> str:
    """For analysts, under the margin notes: how the net's interval is computed; '' without an incentive cost."""
    return p.text("ab.margin_method_hint") if r.net_margin else ""


def variant_name(p: Presentation, name, control) -> str:
    """A variant as a page shows it. Variant names are ids from the shop's experiments export, shown as
    written so they can be found there; the one role the kit knows, the control, also gets the page's word
    for it: where the id is the role's English word already, that word in the page's language alone ('control',
    '对照组': '对照组（control）' read as two languages side by side), else both ('control (A)', '对照组（A）').
    A treatment (push, coupon_20) keeps its id: what it is, the kit does not know.

    >>> variant_name(Presentation("zh"), "control", "control"), variant_name(Presentation("en"), "push", "control")
    ('对照组', 'push')
    """
    if name != control:
        return str(name)
    role = p.code("roles", "control")
    plain = str(name).strip().lower() in (role.lower(), Presentation("en").code("roles", "control").lower())
    return role if plain else p.text("ab.control_name", role=role, name=name)


def experiment_heading(p: Presentation, r: abtest.ExperimentResult, days: int) -> str:
    """An experiment's section heading: its id, its variants against its control (:func:`variant_name`),
    when members were assigned and the days of outcomes after."""
    return p.text("ab.experiment_heading", experiment=r.experiment_id, variants=p.list_sep.join(r.variants),
                  control=variant_name(p, r.control, r.control), when=r.assigned_when, days=days)


def srm_sentence(p: Presentation, r: abtest.ExperimentResult) -> str:
    """The split check in words. A split as planned: the groups' members and shares against the planned shares.
    A broken one (the red banner, all its section shows): the members assigned to each group against those the
    planned split expects (:func:`memberkit.abtest.expected_counts`), why there is no verdict, and what to do."""
    total = sum(r.counts.values())
    name = lambda k: variant_name(p, k, r.control)   # noqa: E731
    counted = lambda counts: p.list_sep.join(   # noqa: E731
        p.text("ab.count_item", variant=name(k), n=p.count(n), share=p.pct(n / total)) for k, n in counts.items())
    planned = p.list_sep.join(f"{name(k)} {p.pct(s / sum(r.planned_split.values()))}" for k, s in r.planned_split.items())
    if r.srm_failed:
        # whole members that add up to the members assigned, as the observed counts beside them do
        expected = abtest.expected_counts(r.counts, r.planned_split)
        return p.text("ab.srm_banner", observed=counted(r.counts), planned=planned,
                      expected=counted(dict(zip(expected, largest_remainder(list(expected.values()))))))
    return p.text("ab.srm_ok", observed=counted(r.counts), planned=planned, p=fmt_p(r.srm_p_value))


def kpis(p: Presentation, res: dict):
    """The cards, from the report's results: none when the sources have no experiments table (the
    report is skipped, not zero)."""
    r, k = res.get("results", {}), res.get("kpis", {})
    if not r.get("has_table", True):
        return []
    fig = lambda key: Figure(f"ab_test.{key}", res.get("period") or "", k.get(key))  # noqa: E731
    return [KPI(p.text("ab.kpi_evaluated"), p.count_of(k.get("experiments"), "experiments"), figure=fig("experiments")),
            KPI(p.text("ab.kpi_ship"), p.count_of(k.get("ship"), "experiments"), good=True if k.get("ship") else None, figure=fig("ship")),
            *([KPI(p.text("ab.kpi_not_margin"), p.count_of(k.get("ships_conversion_not_margin"), "experiments"), good=False,
                   figure=fig("ships_conversion_not_margin"))]
              if k.get("ships_conversion_not_margin") else []),
            KPI(p.text("ab.kpi_srm"), p.count_of(k.get("no_verdict"), "experiments"), good=False if k.get("no_verdict") else None,
                figure=fig("no_verdict")),
            KPI(p.text("ab.kpi_inconclusive"), p.count_of(k.get("not_enough_evidence"), "experiments"), figure=fig("not_enough_evidence")),
            KPI(p.text("ab.kpi_do_not_ship"), p.count_of(k.get("do_not_ship"), "experiments"), figure=fig("do_not_ship"))]


def headline(p: Presentation, res: dict, marks: FigureMarks | None = None) -> str:
    """Each experiment's verdict sentence; without experiments, why there are none and how to name one."""
    r = res.get("results", {})
    experiments = r.get("experiments", {})
    if not experiments and r.get("skipped"):
        return p.text("ab.none_evaluated", period=res.get("period"), why=" ".join(
            p.text("ab.skipped", experiment=x, why=reason_text(p, "ab", why if why.get("reason") else None,
                                                                  p.text("ab.why_unknown")))
            for x, why in r["skipped"].items()))
    if not experiments:
        return p.text("ab.none" if r.get("has_table", True) else "ab.no_table", period=res.get("period"))
    return p.sentence_sep.join(labelled(p, x, experiment_answer(p, x, e, r.get("guardrail_metrics", []), marks))
                               for x, e in experiments.items())


def compared(p: Presentation, res: dict):
    """What a scratch run sets beside the published run (:func:`memberkit.views.page.vs_published`): the cards,
    then each experiment's answer (:func:`experiment_answer`: its verdict and the figure deciding it)."""
    r = res.get("results", {})
    return [*kpis(p, res), *(KPI(x, experiment_answer(p, x, e, r.get("guardrail_metrics", [])))
                             for x, e in (r.get("experiments") or {}).items())]


def experiment_answer(p: Presentation, experiment_id: str, e: dict, guardrail_metrics=(),
                      marks: FigureMarks | None = None) -> str:
    """An experiment's answer in one short sentence (the month summary's card, a column about 340 px wide): the
    verdict and the one figure that decides it: a shipped variant's lift on the primary metric with its 95%
    interval; when the lift does not pay for its incentive, the margin per assigned member after it; without
    enough evidence, the best variant's lift and interval; a variant that harms a metric it must not, that metric;
    a broken split, what to do. What qualifies the verdict (the other metrics, a likely overstated lift, the
    members still needed) is on the A/B page behind the card's link. ``e``:
    :func:`memberkit.abtest.experiment_record`; ``marks``: the groups' values as figures to mark
    (:func:`group_figure`), as :func:`summary_card` does."""
    v, metric = e["verdict"], e["primary_metric"]
    res = (e.get("metrics") or {}).get(metric) or {}
    fm = lambda x: fmt_metric(p, metric, x, (e.get("kinds") or {}).get(metric))   # noqa: E731
    kind = (e.get("kinds") or {}).get(metric)
    lifted = lambda name: dict(variant=name, metric=metric_label(p, metric),   # noqa: E731
                               lift=lift_moved(p, metric, res[name].get("control_mean"), res[name].get("variant_mean"),
                                               res[name]["rel_lift"], kind, marks, experiment_id, name),
                               lo=p.signed_pct(res[name]["ci_low"]), hi=p.signed_pct(res[name]["ci_high"]),
                               control=fm(res[name]["control_mean"]), value=fm(res[name]["variant_mean"]))
    if v["decision"] == "no_verdict" and v.get("reason") == "srm":
        return p.text("ab.answer_srm")
    if v["decision"] == "ship":
        return p.text("ab.answer_ship", **lifted(v["variant"]))
    if v["decision"] == "ships_conversion_not_margin":
        net = e["net_margin"][v["variant"]]
        return p.text("ab.answer_not_margin", cost=p.money(net["cost_per_conversion"], 2), net=p.money(net["net"], 2),
                      net_lo=p.money(net["net_ci_low"], 2), net_hi=p.money(net["net_ci_high"], 2), **lifted(v["variant"]))
    if v["decision"] == "not_enough_evidence" and res:
        # the largest lift first (a missing one last), as the page's verdict names it
        best = sorted(res, key=lambda k: (missing(res[k]["rel_lift"]), -(res[k]["rel_lift"] or 0)))[0]
        return p.text("ab.answer_inconclusive", **lifted(best))
    return experiment_sentence(p, experiment_id, e, guardrail_metrics, short=True, marks=marks)


def analyst_hints(p: Presentation, res: dict) -> list[str]:
    """For analysts, under the page's verdicts: how to map an experiments table or name an experiment when
    there is none, and the setting that names the control of each experiment skipped for a missing one
    (settings and command lines stay out of the sentences an executive reads)."""
    r = res.get("results", {})
    if not r.get("has_table", True):
        return [p.text("ab.no_table_hint")]
    out = [p.text("ab.control_hint", experiment=x, setting=why["setting"])
           for x, why in (r.get("skipped") or {}).items() if (why or {}).get("reason") == "control_missing"]
    if not r.get("experiments") and not r.get("skipped"):
        available = r.get("available") or []
        out.append(p.text("ab.none_hint", period=res.get("period"),
                          example=available[-1] if available else "EXPERIMENT-ID"))
    return out


def cost_hint(p: Presentation, r: abtest.ExperimentResult) -> str:
    """For analysts, under an experiment's ship verdict without an incentive cost: the setting that gives
    the cost per converted member of the shipped variant; '' otherwise."""
    v = r.verdict
    if v.get("decision") != "ship" or r.net_margin:
        return ""
    return p.text("ab.no_cost_hint", variant=v["variant"],
                  setting=f"notebooks.ab_test.designs.{r.experiment_id}.cost_per_conversion.{v['variant']}")


def labelled(p: Presentation, experiment: str, sentence: str) -> str:
    """A sentence about one experiment led by its id: 'EXP-PUSH: Ship push ...', 'EXP-PUSH：上线 push……'."""
    return p.text("ab.labelled", experiment=experiment, sentence=sentence)


def summary_card(p: Presentation, res: dict) -> dict:
    """The month summary's card of this report: the answer per experiment in one short sentence each
    (:func:`headline`, :func:`experiment_answer`) and the first cards; the rest is on the A/B page."""
    marks = FigureMarks(res.get("period") or "")   # the groups' values marked as on the A/B page
    return card(marks.html(headline(p, res, marks)), kpis(p, res))


def results_frame(p: Presentation, r: abtest.ExperimentResult, alpha: float = 0.05) -> pd.DataFrame:
    """The detail table: one row per variant and metric, with the chance of its difference by luck alone
    (the Holm-adjusted p-value, in words: an executive reads this table).

    Decision first: the row's name (variant · metric) and how it reads against control
    (:func:`memberkit.abtest.reading` at ``alpha``, in words that follow the experiment's verdict: 'no clear
    difference' once it is taken, 'not clear yet' only while there is not enough evidence) are its first two
    columns and stay in view.
    Under a broken split the comparison is not evidence and its page shows no table (only the banner,
    :func:`srm_sentence`); given one, the table keeps the means and shows no interval, p-value or chance.
    """
    rows = []
    evidence = not r.srm_failed
    decision = (getattr(r, "verdict", None) or {}).get("decision")
    for _, x in r.results.iterrows():
        code = abtest.reading(x.p_value_adjusted, x.abs_diff, alpha, r.srm_failed, decision)
        rows.append({p.text("ab.col_variant_metric"): f"{x.variant} · {metric_label(p, x.metric)}",
                     p.text("ab.col_reading"): p.text(f"ab.reading_{code}"),
                     p.text("ab.col_control"): _fm(p, r, x.metric, x.control_mean),
                     p.text("ab.col_value"): _fm(p, r, x.metric, x.variant_mean),
                     # from the two values as shown beside it, so the three add up (the exact one: the JSON)
                     p.text("ab.col_diff"): shown_difference(p, x.metric, x.control_mean, x.variant_mean,
                                                             r.kinds.get(x.metric)),
                     p.text("ab.col_lift"): p.signed_pct(x.rel_lift),
                     p.text("ab.col_ci"): f"{p.signed_pct(x.ci_low)} … {p.signed_pct(x.ci_high)}" if evidence else DASH,
                     # the adjusted p-value only, said in words (the reading rests on it); raw and adjusted
                     # p by name are for analysts (ab.results_hint, the JSON)
                     p.text("ab.col_p_adjusted"): fmt_p(x.p_value_adjusted) if evidence else DASH,
                     p.text("ab.col_chance"): fmt_chance(x.chance_to_win) if evidence else DASH})
    return page.decision_first(pd.DataFrame(rows))


def cuped_frame(p: Presentation, r: abtest.ExperimentResult) -> pd.DataFrame:
    rows = []
    for _, x in r.cuped.iterrows():
        raw = r.results[(r.results.metric == x.metric) & (r.results.variant == x.variant)].iloc[0]
        rows.append({p.text("ab.col_metric"): metric_label(p, x.metric),
                     p.text("ab.col_variant"): x.variant,
                     # the point as the detail table shows it (from the shown pair), so one change reads one way
                     p.text("ab.col_diff_raw"): f"{shown_difference(p, x.metric, raw.control_mean, raw.variant_mean, r.kinds.get(x.metric))} "
                     f"({_fd(p, r, x.metric, raw.abs_ci_low)} … {_fd(p, r, x.metric, raw.abs_ci_high)})",
                     p.text("ab.col_diff_cuped"): f"{_fd(p, r, x.metric, x.abs_diff)} "
                     f"({_fd(p, r, x.metric, x.abs_ci_low)} … {_fd(p, r, x.metric, x.abs_ci_high)})",
                     p.text("ab.col_variance_reduction"): p.pct(x.variance_reduction),
                     p.text("ab.col_p_cuped"): fmt_p(x.p_value)})
    return pd.DataFrame(rows)


def data_notes(p: Presentation, r: abtest.ExperimentResult, params) -> list[str]:
    """What was done to the data before comparing: capping, members left out."""
    notes = []
    if r.winsor_caps:
        notes.append(p.text("ab.winsor_note", pct=params.winsorize_percentile,
                          caps=p.list_sep.join(f"{k} {p.money(v, 2) if k.startswith('revenue') else p.ratio(v, 2)}"
                                         for k, v in r.winsor_caps.items())))
    if r.excluded_multi_variant and not r.assignments:
        notes.append(p.text("ab.multi_variant_note", n=p.count(r.excluded_multi_variant)))
    if r.left_out:
        notes.append(p.text("ab.left_out_note", metrics=p.list_sep.join(metric_label(p, m) for m in r.left_out),
                            days=params.window_days))
    if r.renamed:
        notes.append(p.text("ab.renamed_note", names=p.list_sep.join(
            p.text("ab.renamed_item", setting=k, data=v) for k, v in r.renamed.items())))
    if r.undefined:
        notes.append(p.text("ab.untestable_note", metrics=p.list_sep.join(
            p.text("ab.untestable_item", metric=metric_label(p, m), variants=p.list_sep.join(x["variants"]),
                   reason=p.text(f"ab.untestable_{x['reason']}")) for m, x in r.undefined.items())))
    return notes


def undefined_sentence(p: Presentation, plan: dict) -> str:
    """ "The members needed cannot be computed because ..." for a plan whose relative lift is undefined."""
    return p.text("ab.power_undefined", metric=metric_label(p, plan["metric"]),
                  reason=p.text(f"ab.undefined_{plan['undefined']}", mde=p.pct(plan["minimum_effect"], 0)))


def assignment_sentence(p: Presentation, r: abtest.ExperimentResult) -> str | None:
    """How many assignment rows were read, kept and set aside, and why (the cleaning's rules)."""
    a = r.assignments
    if not a:
        return None
    aside = [p.text("ab.aside_item", reason=p.text(f"reasons.{reason}"), rows=p.count(x["rows"]),
                    members=p.count(x["members"])) for reason, x in a["set_aside"].items()]
    return p.text("ab.assignments", read=p.count(a["read"]), kept=p.count(a["kept"]), members=p.count(a["members"]),
                  aside=p.list_sep.join(aside) if aside else p.text("ab.aside_none"))


def power_sentence(p: Presentation, r: abtest.ExperimentResult, params) -> str:
    w = r.power
    if w.get("undefined"):
        return undefined_sentence(p, w)
    return p.text("ab.power", metric=metric_label(p, w["metric"]), mde=p.pct(w["minimum_effect"], 0),
                  power=p.pct(w["power"], 0), needed=p.count(w["n_per_variant_needed"]) if w["n_per_variant_needed"] else "–",
                  now=p.count(w["n_per_variant_now"]), mde_now=p.pct(w["mde_now"]))


def breakdown_frame(p: Presentation, r: abtest.ExperimentResult) -> pd.DataFrame:
    if r.breakdowns.empty:
        return pd.DataFrame()
    rows = []
    for _, x in r.breakdowns.iterrows():
        group = group_label(p, x.dimension, x.group)
        rows.append({p.text("ab.col_dimension"): p.text(f"ab.dim_{x.dimension}"),
                     p.text("ab.col_group"): group, p.text("ab.col_variant"): x.variant,
                     p.text("ab.col_members"): f"{p.count(x.n_control)} / {p.count(x.n_variant)}",
                     p.text("ab.col_control"): _fm(p, r, r.power["metric"], x.control_mean),
                     p.text("ab.col_value"): _fm(p, r, r.power["metric"], x.variant_mean),
                     p.text("ab.col_lift"): p.signed_pct(x.rel_lift),
                     p.text("ab.col_diff_ci"): f"{_fd(p, r, r.power['metric'], x.abs_ci_low)} … "
                                                       f"{_fd(p, r, r.power['metric'], x.abs_ci_high)}"})
    return pd.DataFrame(rows)


CONTROL_COLOUR = "#777777"   # the control group, dashed where it is a line


def variant_colour(r: abtest.ExperimentResult, variant: str) -> str:
    """A group's colour in every chart of its experiment: the control grey (:data:`CONTROL_COLOUR`), each other
    variant the next of :data:`memberkit.views.theme.CATEGORIES` (colour-blind safe) in ``r.variants``' order."""
    if variant == r.control:
        return CONTROL_COLOUR
    return CATEGORIES[r.variants.index(variant) % len(CATEGORIES)]


def plot_forest(p: Presentation, r: abtest.ExperimentResult, params):
    """Relative lift with its interval, per metric and variant; filled where Holm-significant."""
    import matplotlib.pyplot as plt
    res = r.results.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(res) + 1.4))
    for i, x in res.iterrows():
        colour = variant_colour(r, x.variant)
        sig = x.p_value_adjusted < params.alpha
        ax.plot([x.ci_low, x.ci_high], [i, i], color=colour, lw=2)
        ax.plot(x.rel_lift, i, "o", color=colour, mfc=colour if sig else "white", ms=8)
    ax.axvline(0, color="#555", lw=1)
    ax.set_yticks(range(len(res)), [f"{metric_label(p, m)} · {v}" for m, v in zip(res.metric, res.variant)])
    percent_axis(ax.xaxis, signed=True)
    ax.set_xlabel(p.text("ab.forest_axis"))
    ax.set_title(p.text("ab.forest_title", experiment=r.experiment_id), loc="left")
    fig.tight_layout()
    return fig


def plot_cumulative(p: Presentation, r: abtest.ExperimentResult):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    order = [r.control, *r.variants]
    for i, v in enumerate(order):
        ax.plot(r.cumulative.index, r.cumulative[v], color=variant_colour(r, v),
                lw=2, ls="--" if v == r.control else "-", label=variant_name(p, v, r.control))
    top = float(np.nanmax(r.cumulative[order].to_numpy())) if len(r.cumulative) else 0.0
    ax.set_ylim(0, max(top, 0.01) * 1.15)          # a share: the axis starts at zero
    percent_axis(ax.yaxis)
    ax.set_xlabel(p.text("ab.days_since"))
    ax.set_title(p.text("ab.cumulative_title"), loc="left")
    legend_below(ax, ncol=len(order))
    fig.tight_layout()
    return fig


def buyers_frame(r: abtest.ExperimentResult) -> pd.DataFrame:
    """Per group (control first, then the variants): ``members`` assigned, ``buyers`` (members who bought in
    the window: ``converted``, the conversion metric's own definition, so the share is the results table's
    conversion; revenue above zero where the frame has no ``converted``), ``share`` (buyers / members, 0 to 1;
    NaN for an empty group) and ``mean_per_buyer`` (the buyers' revenue / buyers, in the report's currency; NaN
    without a buyer): the one basis of the revenue distribution chart. Reads ``r.members`` (member, variant,
    revenue, and ``converted`` when present)."""
    rows = []
    m = r.members
    bought_all = m.converted > 0 if "converted" in m.columns else m.revenue > 0
    for v in [r.control, *r.variants]:
        mine = m.variant == v
        bought = m.revenue[mine & bought_all]
        rows.append({"variant": v, "members": int(mine.sum()), "buyers": int(len(bought)),
                     "share": len(bought) / int(mine.sum()) if mine.any() else float("nan"),
                     "mean_per_buyer": float(bought.mean()) if len(bought) else float("nan")})
    return pd.DataFrame(rows, columns=["variant", "members", "buyers", "share", "mean_per_buyer"])


def plot_revenue_distribution(p: Presentation, r: abtest.ExperimentResult):
    """How the revenue of the members who bought is spread, per group, on a log scale: each bin's share of the
    group's buyers (the y axis, in percent), and in the legend how many of the group bought and their mean
    revenue (:func:`buyers_frame`): title, axis, bars and legend all per buying member. (Revenue per assigned
    member, buyers and non-buyers alike, is the comparison's metric, in the results table.)"""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    m = r.members
    buyers = m[m.revenue > 0]
    per_group = buyers_frame(r).set_index("variant")
    # a legend of two lines a group under the plot: 4.6 in high leaves the bins half the drawing
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    if len(buyers):
        bins = np.logspace(np.log10(max(buyers.revenue.min(), 1.0)), np.log10(buyers.revenue.max() * 1.01), 30)
        for i, v in enumerate([r.control, *r.variants]):
            vals = buyers.revenue[buyers.variant == v]
            x = per_group.loc[v]
            # a share of the group's buyers; a buyer whose orders came to nothing has no place on a log axis
            ax.hist(vals, bins=bins, weights=np.full(len(vals), 1 / max(int(x.buyers), 1)), histtype="step", lw=2,
                    color=variant_colour(r, v),
                    label=p.text("ab.dist_legend", variant=variant_name(p, v, r.control), buyers=p.count(x.buyers),
                                 members=p.count(x.members), share=p.pct(x.share),
                                 mean=p.money(x.mean_per_buyer) if x.buyers else "–"))
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(lambda v, _: p.money(v))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylabel(p.text("ab.dist_share_axis"))
    ax.set_xlabel(p.text("ab.revenue_axis", currency=p.symbol))
    ax.set_title(p.text("ab.distribution_title"), loc="left")
    legend_below(ax, ncol=1, fontsize=11)
    fig.tight_layout()
    return fig


def record(p: Presentation, a: abtest.ABAnalysis, results, params) -> None:
    """``ab_test.json``: how many experiments got which verdict; per experiment the SRM p-value, the
    verdict, and every metric x variant figure."""
    if a.has_table:
        results.kpi("experiments", len(a.experiments))
        for decision in ("ship", "ships_conversion_not_margin", "no_verdict", "not_enough_evidence", "do_not_ship"):
            results.kpi(decision, sum(r.verdict["decision"] == decision for r in a.experiments))
    results.key_results = abtest.key_results(a, params)


def skipped_notes(p: Presentation, a) -> list[str]:
    """One sentence per experiment that could not be evaluated, in the page's language (the
    analysis' reason code through the catalogue ``ab.why.*``; its English message otherwise)."""
    return [p.text("ab.skipped", experiment=x, why=reason_text(p, "ab", a.skip_reasons.get(x), why))
            for x, why in a.skipped.items()]
