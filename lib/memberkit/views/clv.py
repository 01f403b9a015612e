"""The CLV report's words and pictures: cards, headline, accuracy, tracking, value charts, alive matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import clv
from .context import Presentation, reason_text
from .page import KPI, Figure, card, decision_first, printed_without, scrolled
from .rfm import group_label
from .theme import PALETTE, labels_inside, legend_below


def model_words(p: Presentation, name: str) -> str:
    """A purchase model as an executive reads it: what it assumes, in plain words ('members may leave at any
    time'); its name (Pareto/NBD) is for analysts (:func:`model_name`)."""
    return p.text(f"clv.plain.{name}")


def model_name(p: Presentation, name: str) -> str:
    """A model's published name (BG/NBD, Pareto/NBD, Gamma-Gamma), for the notes for analysts only."""
    return p.text(f"clv.analysts.model_{name}")


def errors_frame(p: Presentation, a: clv.CLVAnalysis) -> pd.DataFrame:
    """Each purchase model on the holdout, named by what it assumes (:func:`model_words`; the one the forecast uses
    says so): its average miss per member, aggregate error and the held-out spend of the top 10% it ranked. A model
    that could not be fitted says so. Names, fitted parameters and why a model failed are for analysts
    (:func:`errors_hint`)."""
    rows = []
    cell = lambda words: words[:1].upper() + words[1:]   # noqa: E731 - a cell starts as a sentence does
    for name, e in a.holdout.errors.items():
        words = model_words(p, name)
        rows.append({p.text("clv.model"): cell(p.text("clv.model_used", model=words) if name == a.chosen else words),
                     p.text("clv.mae"): p.ratio(e["mae"], 3), p.text("clv.aggregate_error"): p.signed_pct(e["aggregate_error"]),
                     p.text("clv.top_decile"): p.pct(e["top_decile_spend_share"])})
    for name in a.holdout.failures:
        rows.append({p.text("clv.model"): cell(model_words(p, name)), p.text("clv.mae"): p.text("clv.not_fitted")})
    return pd.DataFrame(rows)


def errors_hint(p: Presentation, a: clv.CLVAnalysis) -> str:
    """For analysts, under :func:`errors_frame`: each model by name with its fitted parameters (BG/NBD's r, alpha,
    a, b; Pareto/NBD's r, alpha, s, beta), or why it could not be fitted; '' without a model."""
    items = [p.text("clv.errors_item", name=model_name(p, name), words=model_words(p, name),
                    parameters=p.list_sep.join(f"{k} {p.significant(v)}" for k, v in
                                               clv.model_parameters(a.holdout.models[name]).items()))
             for name in a.holdout.errors]
    items += [p.text("clv.errors_item", name=model_name(p, name), words=model_words(p, name),
                     parameters=reason_text(p, "clv", getattr(msg, "reason", None), str(msg)))
              for name, msg in a.holdout.failures.items()]
    return p.text("clv.errors_hint", models=p.clause_sep.join(items)) if items else ""


def kpis(p: Presentation, res: dict):
    """Cards from the report's results (:meth:`memberkit.report.Results.to_dict`)."""
    r, k = res.get("results", {}), res.get("kpis", {})
    totals, chosen = r.get("totals", {}), r.get("chosen_model")
    fig = lambda key: Figure(f"clv_forecast.{key}", res.get("period") or "", k.get(key))  # noqa: E731
    return [KPI(p.text("clv.total_clv"), p.money(k.get("total_clv")),
                p.text("clv.horizon_sub", members=p.count(totals.get("members"))), figure=fig("total_clv")),
            KPI(p.text("clv.top10_share"), p.pct(k.get("top10_share")), figure=fig("top10_share")),
            KPI(p.text("clv.at_risk"), p.count_of(k.get("high_value_at_risk"), "members"),
                p.text("clv.at_risk_sub", revenue=p.money(totals.get("high_value_at_risk_past_revenue"))),
                figure=fig("high_value_at_risk")),
            KPI(p.text("clv.expected_purchases"), p.count_of(k.get("expected_purchases"), "purchases"), figure=fig("expected_purchases")),
            # said in words, the held-out weeks counted from the results; the model's name is in the analysts' note
            KPI(p.text("clv.holdout_error"), p.signed_pct(k.get("holdout_aggregate_error")),
                p.text("clv.holdout_error_sub", weeks=p.ratio(holdout_weeks(r), 0)) if holdout_weeks(r) else "",
                figure=fig("holdout_aggregate_error"))]


def compared(p: Presentation, res: dict):
    """What a scratch run sets beside the published run (:func:`memberkit.views.page.vs_published`): the cards,
    then the purchase model chosen, the members valued and the value of the high-value members at risk."""
    r = res.get("results", {})
    totals, chosen = r.get("totals", {}), r.get("chosen_model")
    return [*kpis(p, res),
            *([KPI(p.text("clv.compared_model"), model_name(p, chosen))] if chosen else []),
            KPI(p.text("clv.compared_members"), p.count(totals.get("members"))),
            KPI(p.text("clv.compared_at_risk_clv"), p.money(totals.get("high_value_at_risk_clv")))]


def holdout_weeks(results: dict) -> float | None:
    """How many weeks the purchase model was checked on (held out of its fit), from the report's results."""
    h = results.get("holdout") or {}
    if not (h.get("calibration_end") and h.get("observation_end")):
        return None
    return (pd.Timestamp(h["observation_end"]) - pd.Timestamp(h["calibration_end"])).days / 7


def headline(p: Presentation, res: dict) -> str:
    """The page's first sentence from its results; when the chosen model's optimum has no drop-out
    (``results.no_dropout.final``) it says so instead of counting members at risk (none can be)."""
    r, k = res.get("results", {}), res.get("kpis", {})
    key = "clv.headline_no_dropout" if (r.get("no_dropout") or {}).get("final") else "clv.headline"
    return p.counted(key, k.get("high_value_at_risk"), months=r.get("horizon_months"), total=p.money(k.get("total_clv")),
                  top=p.pct(k.get("top10_share")), at_risk=p.count(k.get("high_value_at_risk")),
                  threshold=p.pct(threshold(r), 0))


def threshold(results: dict) -> float:
    """The chance of a purchase below which a high-value member is at risk, from the report's results (a month
    published before that rule carried its P(alive) threshold, ``alive_threshold``, instead)."""
    return results.get("any_purchase_threshold", results.get("alive_threshold", 0.5))


def summary_card(p: Presentation, res: dict) -> dict:
    """The month summary's card of this report: headline and first cards, from its results."""
    return card(headline(p, res), kpis(p, res))


def accuracy_sentence(p: Presentation, a: clv.CLVAnalysis, params) -> str:
    """How well the chosen purchase model predicted the held-out weeks, in plain words ('the purchase
    model'); its name is for analysts (:func:`accuracy_hint`)."""
    e = a.holdout.errors[a.chosen]
    weeks = (a.holdout.observation_end - a.holdout.calibration_end).days / 7
    return p.text("clv.accuracy", weeks=p.ratio(weeks, 0),
                predicted=p.count(e["predicted_total"]), actual=p.count(e["actual_total"]), error=p.signed_pct(e["aggregate_error"]),
                top=p.pct(e["top_decile_spend_share"]),
                how=p.text("clv.chosen_by_" + a.chosen_by))


def accuracy_hint(p: Presentation, a: clv.CLVAnalysis) -> str:
    """For analysts, under :func:`accuracy_sentence`: the chosen purchase model by name (BG/NBD, ...)."""
    return p.text("clv.accuracy_hint", model=model_name(p, a.chosen))


def checks_sentences(p: Presentation, a: clv.CLVAnalysis) -> list[str]:
    """The spend model's checks, then what failed and what was used instead (:func:`notes_sentences`), in plain
    words ('the spend model'); its name and what it assumes are for analysts (``clv.checks_hint``)."""
    c = a.spend_checks
    out = [p.text("clv.check_corr_ok" if c["correlation_ok"] else "clv.check_corr_warn",
                corr=p.ratio(c["frequency_spend_correlation"], 2))]
    if c["model_used"] == "gamma_gamma":
        out.append(p.text("clv.check_q_ok" if c["q_ok"] else "clv.check_q_warn", q=p.ratio(c["q"], 2)))
    out.append(p.counted("clv.check_excluded", c["excluded_non_positive_spend"], n=p.count(c["excluded_non_positive_spend"]),
                         used=p.count(c["repeat_buyers_used"])))
    return out + notes_sentences(p, a)


def notes_sentences(p: Presentation, a: clv.CLVAnalysis) -> list[str]:
    """One sentence per model that failed (and what was used instead) or sits at the no-drop-out boundary, each
    model named by what it assumes (:func:`model_words`)."""
    out = []
    for n in a.notes:
        model = model_words(p, n["model"]) if n["model"] != "gamma_gamma" else ""
        if n["problem"] == "no_dropout":
            out.append(p.text("clv.note_no_dropout", model=model))
        elif n["model"] == "gamma_gamma":
            out.append(p.text("clv.note_spend_refused", reason=reason_text(p, "clv", n.get("reason"), n["problem"]),
                              mean=p.money(n["mean_spend"])))
        else:
            out.append(p.text("clv.note_failed", model=model, reason=reason_text(p, "clv", n.get("reason"), n["problem"]),
                              used=model_words(p, n["used"])))
    return out


def plot_tracking(p: Presentation, a: clv.CLVAnalysis):
    """Actual against predicted repeat purchases, cumulative and per week, with the holdout marked."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    t = a.tracking
    cal = pd.Timestamp(a.holdout.calibration_end)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6.4, 7.6))
    for ax, (act, exp_, title) in zip((ax1, ax2), [("actual_cumulative", "expected_cumulative", "clv.tracking_cumulative"),
                                                   ("actual", "expected", "clv.tracking_weekly")]):
        ax.plot(t.index, t[act], color=PALETTE[0], label=p.text("clv.actual"))
        ax.plot(t.index, t[exp_], color=PALETTE[1], ls="--", label=p.text("clv.predicted"))
        ax.axvline(cal, color="#888", ls=":")
        ax.text(cal, ax.get_ylim()[1] * 0.95, " " + p.text("clv.holdout_starts"), fontsize=11, color="#555", va="top")
        ax.set_title(p.text(title), loc="left")
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        span = (t.index[-1] - t.index[0]).days / 30.4 if len(t) else 1
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, int(np.ceil(span / 5)))))
        ax.xaxis.set_major_formatter(lambda v, _: p.month(mdates.num2date(v)))   # the pages' one month format
        ax.set_ylim(bottom=0)
        legend_below(ax, ncol=2)
    fig.tight_layout()
    return fig


def plot_by_frequency(p: Presentation, a: clv.CLVAnalysis):
    import matplotlib.pyplot as plt
    b = a.by_frequency
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    x = np.arange(len(b))
    ax.bar(x - 0.2, b.actual, 0.4, color=PALETTE[0], label=p.text("clv.actual"))
    ax.bar(x + 0.2, b.predicted, 0.4, color=PALETTE[1], label=p.text("clv.predicted"))
    ax.set_xticks(x, b.index)
    ax.set_xlabel(p.text("clv.calibration_frequency"))
    ax.set_ylabel(p.text("clv.holdout_purchases"))
    ax.legend(frameon=False)
    ax.set_title(p.text("clv.by_frequency_chart"), loc="left")
    return fig


def plot_distributions(p: Presentation, a: clv.CLVAnalysis, months: int):
    """CLV per member, then each member's chance of buying again over the horizon (P(X(t) > 0), not P(alive),
    which the BG/NBD holds at 1 for every member without a repeat purchase: :func:`alive_hint`)."""
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6.4, 7.6))
    clv_values = a.members.clv.clip(lower=0)
    upper = float(clv_values.quantile(0.99)) or 1.0
    ax1.hist(clv_values.clip(upper=upper), bins=50, color=PALETTE[0])
    ax1.set_title(p.text("clv.clv_distribution", currency=p.symbol), loc="left")
    ax1.set_xlabel(p.text("clv.clv_axis", currency=p.symbol))
    ax2.hist(a.members.probability_any_purchase, bins=40, range=(0, 1), color=PALETTE[2])
    ax2.set_title(p.text("clv.any_purchase_distribution", months=months), loc="left")
    ax2.set_xlabel(p.text("clv.any_purchase_axis", months=months))
    ax2.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    for ax in (ax1, ax2):   # bar heights are counts of members, which the axis says
        ax.set_ylabel(p.text("clv.members_axis"))
    fig.tight_layout()
    return fig


def value_columns(a: clv.CLVAnalysis) -> list[str]:
    """The member columns the value is broken down by, in the page's order: :data:`VALUE_GROUPS`, then the rest."""
    return [c for c in VALUE_GROUPS if c in a.by_group] + [c for c in a.by_group if c not in VALUE_GROUPS]


def plot_clv_by(p: Presentation, a: clv.CLVAnalysis, months: int, columns: list[str] | None = None):
    """Expected value over the horizon (money) per value of each of ``columns`` (default
    :func:`value_columns`: RFM segment, tier, region and channel), one panel each, each bar labelled with its
    amount and share (the same figures as :func:`value_frame`). The page draws one column a chart, beside its
    table, so that on paper each fits what is left of a page."""
    import matplotlib.pyplot as plt
    cols = value_columns(a) if columns is None else [c for c in columns if c in a.by_group]
    rows = max(1, len(cols))
    fig, axes = plt.subplots(rows, 1, figsize=(6.4, 2.9 * rows), squeeze=False)
    for ax in axes.flat[len(cols):]:
        ax.set_axis_off()
    for ax, col in zip(axes.flat, cols):
        g = a.by_group[col].iloc[::-1]
        g.index = [group_label(p, col, k) for k in g.index]
        ax.barh([str(i) for i in g.index], g.clv, color=PALETTE[0])
        for i, (v, share) in enumerate(zip(g.clv, g.clv_share)):
            # left out of the layout: labels_inside then makes room for it inside the frame
            ax.text(v, i, f" {p.money(v)} ({p.share(share)})", va="center", fontsize=11).set_in_layout(False)
        ax.set_xlim(0, max(1.0, float(g.clv.max())))
        ax.set_xticks([])                  # every bar carries its amount; an axis of long amounts only crowds
        ax.set_title(p.text(f"clv.by_{col}", months=months), loc="left")
        ax.tick_params(axis="both", labelsize=11)
    fig.tight_layout()
    labels_inside(fig)                     # each amount ends inside the frame, at this width (no phone narrowing needed)
    return fig


VALUE_GROUPS = ("segment", "tier", "region", "channel")   # the value charts and their tables, in this order


def value_frame(p: Presentation, a: clv.CLVAnalysis, column: str, months: int) -> pd.DataFrame:
    """Expected value over the horizon per value of a member column (highest first): the group and its value
    (money), then its share, members, value per member and the mean chance of buying again over the horizon,
    P(X(t) > 0) (:func:`memberkit.clv.clv_by`, :func:`memberkit.clv.any_purchase`). On a phone the group and
    its value stay in view and the rest scrolls (:func:`~memberkit.views.page.scrolled`): stacked, each group
    was a block of six lines."""
    g = a.by_group.get(column)
    if g is None or g.empty:
        return pd.DataFrame()
    return scrolled(decision_first(pd.DataFrame({
        p.text(f"clv.col_{column}"): [group_label(p, column, k) for k in g.index],
        p.text("clv.col_expected_value", months=months): [p.money(x) for x in g.clv],
        p.text("clv.col_share"): [p.pct(x) for x in g.clv_share],
        p.text("clv.members_col"): [p.count(x) for x in g.members],
        p.text("clv.col_per_member"): [p.money(x, 2) for x in g.mean_clv],
        p.text("clv.col_chance", months=months): [p.pct(x) for x in g.any_purchase]})))


def at_risk_sentence(p: Presentation, a: clv.CLVAnalysis, params) -> str:
    """How many high-value members are at risk, what they spent and are still worth, and that their list is a
    file beside the report (named in words: a forwarded or printed page has no working link; the file's name
    is for analysts, :func:`files_hint`)."""
    from .attribution import round_parts
    t = a.totals
    whole = lambda x: p.money(round_parts([x], x)[0])   # noqa: E731  rounded as the table's last row is
    return p.text("clv.at_risk_text", n=p.count(t["high_value_at_risk"]), share=p.pct(params.high_value_share, 0),
                  threshold=p.pct(a.any_purchase_threshold, 0), revenue=whole(t["high_value_at_risk_past_revenue"]),
                  clv=whole(t["high_value_at_risk_clv"]), months=params.horizon_months) + at_risk_bulk_sentence(p, a)


def files_hint(p: Presentation, members_file: str = "clv_members.csv") -> str:
    """For analysts, under a sentence that names the report's files in words: where they are and their names
    (the win-back list and every member's forecast, ``members_file``)."""
    return p.text("clv.files_hint", at_risk=clv.AT_RISK_FILE, members=members_file)


def at_risk_bulk_sentence(p: Presentation, a: clv.CLVAnalysis) -> str:
    """Where the orders the cleaning flagged as bulk purchases were left out of spend to date (the
    high-value ranking and the at-risk list, as the models leave them out:
    :func:`memberkit.clv.without_bulk_spend`) and how much, with the page's sentence separator in front;
    '' when none was. Read from the totals (:func:`memberkit.clv.bulk_left_out`), as the summary page reads them."""
    left = a.totals if "bulk_members_left_out" in a.totals else clv.bulk_left_out(a.members)
    n = left["bulk_members_left_out"]
    if not n:
        return ""
    # the amount only: its member count ('from 60 members') read as the cleaning page's count of the same
    # orders ('60 orders found'), one count under two nouns
    return p.sentence_sep + p.text("clv.at_risk_bulk", revenue=p.money(left["bulk_spend_left_out"]))


def at_risk_frame(p: Presentation, a: clv.CLVAnalysis, months: int) -> pd.DataFrame:
    """The high-value members at risk by RFM segment (most spend to date first): members, spend to date,
    expected value, mean chance of buying again and the action for members likely lost of that segment, in a
    few words second (:func:`at_risk_short_action`) and in full last (:func:`memberkit.clv.at_risk_action`, as
    the win-back list gives it; left off paper, a printed line saying so; the list of
    :func:`memberkit.clv.winback_list`, summed), and a last row
    with all of them: the count, spend and expected value that :func:`at_risk_sentence` gives. Amounts are
    rounded to whole units so that the segments add up to that row
    (:func:`memberkit.views.attribution.round_parts`), as the sentence's totals are."""
    from .attribution import round_parts
    w = clv.winback_list(a)
    if w.empty:
        return pd.DataFrame()
    g = w.groupby("segment", sort=False).agg(members=("member_id", "size"), spend=("spend_to_date", "sum"),
                                              value=("clv", "sum"), chance=("probability_any_purchase", "mean"))
    g = g.reset_index().sort_values(["spend", "segment"], ascending=[False, True], kind="stable")
    from ..rfm import outside_window, schemes
    hl, outside = schemes()["high_low"], outside_window()
    word = lambda k, part: (getattr(outside, part) if k == outside.key else getattr(hl.segment(k), part))[p.language]  # noqa: E731
    total = {"members": len(w), "spend": float(w.spend_to_date.sum()), "value": float(w.clv.sum()),
             "chance": float(w.probability_any_purchase.mean())}
    # the total rounded as its parts are (half away from zero), so the row and the parts above it agree
    spend, value = (round_parts(list(g[c]), total[c]) + round_parts([total[c]], total[c]) for c in ("spend", "value"))
    frame = decision_first(pd.DataFrame({     # the segment and what to do with it stay in view
        p.text("clv.col_segment"): [word(k, "label") for k in g.segment] + [p.text("clv.at_risk_total")],
        p.text("clv.col_action"): [at_risk_short_action(p, k) for k in g.segment] + [""],
        p.text("clv.members_col"): [p.count(x) for x in list(g.members) + [total["members"]]],
        p.text("clv.col_spend"): [p.money(x) for x in spend],
        p.text("clv.col_expected_value", months=months): [p.money(x) for x in value],
        p.text("clv.col_chance", months=months): [p.pct(x) for x in list(g.chance) + [total["chance"]]],
        p.text("clv.col_action_detail"): [at_risk_action_words(p, k) for k in g.segment] + [""]}))
    # on A4 the action in full ('Hold on to them: personal contact before they lapse, as for Important, lapsing
    # (likely lost)') took four lines and more beside seven columns of figures (issue 23): paper has the short
    # action, which carries the decision, and a line saying where the rest is
    return printed_without(frame, [len(frame.columns) - 1], p.text("clv.printed_without_detail"))


def at_risk_short_action(p: Presentation, key: str) -> str:
    """The action for likely-lost members of segment ``key`` in a few words, for the at-risk table's cell (two
    lines at most at 1280 px): the short action of the segment whose action they take
    (:func:`memberkit.clv.lapsing_counterpart`); :func:`at_risk_action_words` says it in full, and whose it is."""
    from ..rfm import outside_window, schemes
    if key == outside_window().key:
        return outside_window().short[p.language]
    return schemes()["high_low"].short_action(clv.lapsing_counterpart(key), p.language)


def at_risk_action_words(p: Presentation, key: str) -> str:
    """The action for likely-lost members of segment ``key`` (:func:`memberkit.clv.at_risk_action`), naming the
    segment it is borrowed from when that is another ('Hold on to them: personal contact before they lapse, as for
    Important, lapsing'), so that 'Important value' beside 'Hold on to them' reads as one idea: members of a keep-them
    segment now likely lost are treated as lapsing."""
    from ..rfm import schemes
    action, counterpart = clv.at_risk_action(key, p.language), clv.lapsing_counterpart(key)
    if counterpart == key:
        return action
    return p.text("clv.action_as", action=action, segment=schemes()["high_low"].segment(counterpart).label[p.language])


def alive_hint(p: Presentation, a: clv.CLVAnalysis, months: int) -> str:
    """For analysts: why P(alive) is kept as a check of the purchase model and is not the chance of buying
    again, with the members it holds at 1 for want of a repeat purchase (under the BG/NBD)."""
    m = a.members
    return p.text("clv.alive_hint", one_time=p.count(int((m.frequency == 0).sum())), members=p.count(len(m)),
                  months=months)


def alive_note(p: Presentation, a: clv.CLVAnalysis) -> str:
    """Under the P(alive) chart, in plain words, when the chosen model is the BG/NBD: its members without a repeat
    purchase show 1.0 because the model cannot see them leave, so the chart is not the chance of buying again
    (a reader took the dark cells for members sure to stay); '' for the other models, whose P(alive) falls
    with time for them too (Fader, Hardie and Lee 2005, "Counting Your Customers the Easy Way", eq. 3)."""
    if a.chosen != "bgnbd":
        return ""
    m = a.members
    return p.text("clv.alive_note", one_time=p.count(int((m.frequency == 0).sum())), members=p.count(len(m)))


def plot_alive_matrix(p: Presentation, a: clv.CLVAnalysis):
    import matplotlib.pyplot as plt
    import seaborn as sns
    m = a.alive
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    shown = m.iloc[::-1]
    # every label readable: about ten per axis, never overlapping
    sns.heatmap(shown, cmap="RdYlGn", vmin=0, vmax=1, ax=ax, cbar_kws={"label": p.text("clv.p_alive")},
                xticklabels=max(1, len(shown.columns) // 10), yticklabels=max(1, len(shown.index) // 10))
    ax.tick_params(axis="x", labelrotation=0)
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_xlabel(p.text("clv.recency_axis", unit=p.text(f"clv.unit_{a.unit}")))
    ax.set_ylabel(p.text("clv.frequency_axis"))
    ax.set_title(p.text("clv.alive_matrix"), loc="left")
    return fig


def record(p: Presentation, a: clv.CLVAnalysis, results, params) -> None:
    """Fill :class:`memberkit.report.Results`: the KPI values and :func:`memberkit.clv.key_results`."""
    for key in ("total_clv", "top10_share", "high_value_at_risk", "expected_purchases"):
        results.kpi(key, a.totals[key])
    results.kpi("holdout_aggregate_error", a.holdout.errors[a.chosen]["aggregate_error"])
    results.key_results = clv.key_results(a, params)
