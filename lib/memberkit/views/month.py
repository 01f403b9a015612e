"""The month's summary page and the index across months: words, number formats, trend lines, HTML.

Pages are made from Jinja templates (``templates/month/``) with autoescaping on, so every
string that comes from data (a campaign's name, an error message, a headline) is escaped by
MarkupSafe where the HTML is made; only the trend lines built here are marked safe, and they
contain nothing but numbers. Words come from ``locale/<language>.yaml`` (section ``month``).
The pages open offline: no script, style, font or picture is fetched.

Example
-------
>>> month_label("2026-10", "en"), month_label("2026-10", "zh")
('October 2026', '2026年10月')
>>> str(sparkline([1.0, 2.0, None, 3.0], width=60, height=20)).count("<polyline")
2
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from markupsafe import Markup, escape

from ..campaign import verdict_counts
from ..kpi import HIGHER_IS_BETTER, MONTH_FIGURES
from ..languages import switch_link
from ..month import MonthSummary, compare
from ..periods import previous_period, same_period_last_year
from ..report import missing
from .abtest import lift_moved, metric_label
from .context import DASH, Presentation, fmt_month, text
from .kpi import card_figure, format_change, format_figure, is_good
from .ledger import section as ledger_section
from .uplift import summary_section as uplift_section
from .outliers import bulk_change, bulk_note
from .skips import skip_reason
from . import profile as profile_view
from .page import Figure, FigureMarks, mark, marked_sentence, value_width


# ------------------------------------------------------------------ the reports' words
def title_of(name: str, language: str) -> str:
    """A report's title in ``language`` (its registry entry's catalogue key); a report the kit does not know
    by its name."""
    from ..reports import report
    try:
        return text(report(name).title_key, language)
    except KeyError:
        return name.replace("_", " ").capitalize()


def summary_card(name: str, results: dict, p: Presentation) -> dict:
    """The report's card (headline and first KPI cards) worded from its results by its own view
    (the registry's ``summary_card``); a report the kit does not know gets an empty card."""
    from ..reports import report, resolve
    try:
        entry = report(name)
    except KeyError:
        return {"headline": "", "kpis": []}
    return resolve(entry.summary_card)(p, results)


# ------------------------------------------------------------------ words and numbers
def month_label(period: str, language: str = "en") -> str:
    """'October 2026' / '2026年10月' for ``YYYY-MM`` (:func:`memberkit.views.context.fmt_month`, in full)."""
    return fmt_month(period, language, full=True)


def figure_label(key: str, language: str) -> str:
    return text(f"month.{key}" if key in ("member_revenue", "active_members") else f"kpi.{key}", language)


def _p(s: MonthSummary) -> Presentation:
    from .context import own_names
    return Presentation(s.language, s.currency, own_names(s.display_names, s.language))


# ------------------------------------------------------------------ the trend line
def short_month(period: str, language: str = "en") -> str:
    """'Oct 2025' / '2025年10月' for ``YYYY-MM`` (:func:`memberkit.views.context.fmt_month`)."""
    return fmt_month(period, language)


def scale_floor(values) -> float:
    """Where a trend's scale starts: 0, or the lowest value when one is below 0 (a month of net returns)."""
    present = [v for v in values if not missing(v)]
    return min([0.0] + present)


def trend_marks(values, months) -> list[dict]:
    """The labelled points of a trend: ``first``, ``last``, ``min`` and ``max`` (the earliest month on a tie),
    each ``{"point", "month", "value"}``; [] when no value is there. ``values`` and ``months`` align (None or
    NaN: no value that month)."""
    points = [(m, v) for m, v in zip(months, values) if not missing(v)]
    if not points:
        return []
    low = min(points, key=lambda mv: mv[1])     # min/max keep the first of equal values: the earliest month
    high = max(points, key=lambda mv: mv[1])
    return [{"point": name, "month": m, "value": v}
            for name, (m, v) in (("first", points[0]), ("last", points[-1]), ("min", low), ("max", high))]


def sparkline(values, width: int = 240, height: int = 40, good_up: bool = True, label: str = "",
              floor: float | None = None) -> Markup:
    """A small inline SVG line over ``values`` (None or NaN breaks the line) on a stated scale.

    The vertical scale runs from ``floor`` (default :func:`scale_floor`: 0, or the lowest value when
    one is below 0) at the bottom, drawn as a grey base line, to the highest value at the top, so a
    rate moving from 19% to 23% stays near the top instead of filling the card; the first, last,
    lowest and highest points are dotted (the last one larger), their values are written under the
    line by the page (:func:`trend_marks`). Only numbers go into the SVG; ``label`` (the accessible
    title) is escaped. The line is green when the last value is better than the first (``good_up``
    says which way is better).
    """
    pad = 4
    points = [(i, v) for i, v in enumerate(values) if not missing(v)]
    n = max(len(values) - 1, 1)
    if not points:
        return Markup(f'<svg class="mk-spark" viewBox="0 0 {width} {height}" role="img"><title>{escape(label)}</title></svg>')
    lo = scale_floor(values) if floor is None else min(floor, min(v for _, v in points))
    hi = max(v for _, v in points)
    span = (hi - lo) or 1.0

    def xy(i, v):
        return round(pad + i * (width - 2 * pad) / n, 1), round(height - pad - (v - lo) * (height - 2 * pad) / span, 1)

    runs, run = [], []
    for i, v in enumerate(values):
        if missing(v):
            if run:
                runs.append(run)
            run = []
        else:
            run.append(xy(i, v))
    if run:
        runs.append(run)
    first, last = points[0][1], points[-1][1]
    better = None if first == last else ((last > first) == good_up)
    colour = {True: "#2e7d32", False: "#c62828", None: "#1f4e79"}[better]
    base = round(height - pad, 1)
    # the SVG stretches to its card: strokes and dots keep their size (non-scaling stroke, round caps)
    keep = 'vector-effect="non-scaling-stroke"'
    lines = "".join(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" stroke-linejoin="round" {keep} '
                    f'points="{" ".join(f"{x},{y}" for x, y in r)}"/>' for r in runs)
    marked = sorted({points[0][0], points[-1][0], min(points, key=lambda p: p[1])[0], max(points, key=lambda p: p[1])[0]})
    dots = "".join(f'<path d="M{x} {y}h0" stroke="{colour if i == points[-1][0] else "#5a6572"}" '
                   f'stroke-width="{6 if i == points[-1][0] else 4}" stroke-linecap="round" {keep}/>'
                   for i in marked for x, y in [xy(i, values[i])])
    return Markup(f'<svg class="mk-spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img">'
                  f'<title>{escape(label)}</title><line x1="{pad}" y1="{base}" x2="{width - pad}" y2="{base}" '
                  f'stroke="#c4cbd3" stroke-width="1" {keep}/>{lines}{dots}</svg>')


def _nice_step(top: float, ticks: int = 4) -> float:
    """A step of 1, 2 or 5 times a power of ten that covers ``top`` in at most ``ticks`` steps."""
    import math
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def trend_chart_label(p: Presentation, key: str, months, values) -> str:
    """What a figure's month-by-month chart shows, for its description: its months, its first and last
    values and its lowest and highest (:func:`trend_marks`), written as the figure is shown."""
    words = text("month.trend_chart", p.language, name=figure_label(key, p.language),
                 first=month_label(months[0], p.language), last=month_label(months[-1], p.language))
    marks = {m["point"]: m for m in trend_marks(values, months)}
    if not marks:
        return words
    shown = {k: (format_figure(p, key, m["value"]), short_month(m["month"], p.language)) for k, m in marks.items()}
    return words + p.clause_sep + text(
        "month.spark_first_last", p.language, first=shown["first"][0], first_month=shown["first"][1],
        last=shown["last"][0], last_month=shown["last"][1]) + p.clause_sep + text(
        "month.spark_low_high", p.language, low=shown["min"][0], low_month=shown["min"][1], high=shown["max"][0],
        high_month=shown["max"][1])


def trend_chart(months, values, key: str, p: Presentation, label: str = "", width: int = 330,
                height: int = 170) -> Markup:
    """A month-by-month chart of one figure on labelled axes, as an inline SVG that keeps its proportions.

    ``months`` (``YYYY-MM``, oldest first) and ``values`` align; None or NaN breaks the line. The
    vertical axis starts at :func:`scale_floor` (0 unless a value is below it) and is ticked in steps of
    1, 2 or 5 times a power of ten, each tick labelled as the figure is shown (``format_figure``); the
    horizontal axis names the first, middle and last month. Every month with a value gets a dot, so
    one month is one dot on a labelled axis and two months are two dots joined on that axis. Text
    is escaped; the rest is numbers.
    """
    present = [v for v in values if not missing(v)]
    lo = scale_floor(values)
    hi = max(present) if present else 1.0
    if lo < 0:
        step = _nice_step(hi - lo)
        lo = step * (lo // step)
    else:
        step = _nice_step(hi - lo)
    top = lo + step * max(1, -(-(hi - lo) // step))
    ticks = [lo + i * step for i in range(int(round((top - lo) / step)) + 1)]
    tick_text = [format_figure(p, key, t) for t in ticks]
    left = 8 + 6.2 * max(len(t) for t in tick_text)
    right, up, down = 10, 10, 24
    n = max(len(months) - 1, 1)

    def x(i):
        return round(left + i * (width - left - right) / n, 1)

    def y(v):
        return round(height - down - (v - lo) * (height - up - down) / ((top - lo) or 1.0), 1)

    parts = [f'<svg class="mk-trend" viewBox="0 0 {width} {height}" role="img" data-figure-trend="{escape(key)}">'
             f'<title>{escape(label)}</title>']
    for t, words in zip(ticks, tick_text):
        parts.append(f'<line x1="{left}" y1="{y(t)}" x2="{width - right}" y2="{y(t)}" stroke="#e3e7ec"/>'
                     f'<text x="{left - 4}" y="{y(t) + 4}" text-anchor="end" font-size="11" fill="#5a6572">{escape(words)}</text>')
    parts.append(f'<line x1="{left}" y1="{y(lo)}" x2="{width - right}" y2="{y(lo)}" stroke="#8a949e"/>')
    shown = sorted({0, len(months) // 2, len(months) - 1}) if months else []
    for i in shown:
        anchor = "start" if i == 0 and len(months) > 1 else ("end" if i == len(months) - 1 and len(months) > 1 else "middle")
        parts.append(f'<line x1="{x(i)}" y1="{y(lo)}" x2="{x(i)}" y2="{y(lo) + 4}" stroke="#8a949e"/>'
                     f'<text x="{x(i)}" y="{height - 6}" text-anchor="{anchor}" font-size="11" fill="#5a6572">'
                     f'{escape(short_month(months[i], p.language))}</text>')
    run: list[str] = []
    dots = []
    for i, v in enumerate(list(values) + [None]):
        if missing(v):
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="#1f4e79" stroke-width="1.8" points="{" ".join(run)}"/>')
            run = []
        else:
            run.append(f"{x(i)},{y(v)}")
            dots.append(f'<circle cx="{x(i)}" cy="{y(v)}" r="2.6" fill="#1f4e79" data-month="{escape(months[i])}" '
                        f'data-value="{v!r}"/>')
    parts += dots + ["</svg>"]
    return Markup("".join(parts))


# ------------------------------------------------------------------ the summary page's blocks
def figure_cards(s: MonthSummary) -> list[dict]:
    """One card per figure: label, value, the change against the previous month and a year earlier, trend."""
    if not s.figures:
        return []
    period, lang, p = s.period, s.language, _p(s)
    cards, said = [], False
    for key in MONTH_FIGURES:
        c = compare(s.figures, key)
        label = figure_label(key, lang)
        values = s.figures["figures"][key]
        shown = [format_figure(p, key, v) for v in values if not missing(v)]
        changes = []
        for earlier, month in (("previous", previous_period(period)), ("year_ago", same_period_last_year(period))):
            change = format_change(p, key, c["current"], c[earlier])
            bulk = bulk_change(p, s.figures, key, period, month)   # bulk orders carry much of it: neither good nor bad
            changes.append({"text": text("month.vs" if change else "month.no_change", lang, change=change,
                                         month=month_label(month, lang)),
                            "good": None if bulk else is_good(key, c["current"], c[earlier], p),
                            "bulk": bulk["text"] if bulk else ""})
        definition = (text(f"month.{key}_def", lang, window=s.figures.get("active_window_days", 90))
                      if key in ("member_revenue", "active_members")
                      else text(f"kpi.{key}_def", lang, window=s.figures.get("active_window_days", 90)))
        months = s.figures["months"]
        marks = {m["point"]: {**m, "text": format_figure(p, key, m["value"]), "label": short_month(m["month"], lang)}
                 for m in trend_marks(values, months)}
        trend = ({"first_last": text("month.spark_first_last", lang, first=marks["first"]["text"],
                                     first_month=marks["first"]["label"], last=marks["last"]["text"],
                                     last_month=marks["last"]["label"]),
                  "low_high": text("month.spark_low_high", lang, low=marks["min"]["text"], low_month=marks["min"]["label"],
                                   high=marks["max"]["text"], high_month=marks["max"]["label"]),
                  "scale": text("month.spark_scale", lang, floor=format_figure(p, key, scale_floor(values))),
                  "marks": list(marks.values())} if marks else None)
        value = card_figure(p, key, c["current"])
        # the flagged orders and their total once, on the first card they touch; later cards give their figure
        # without them only
        bulk = bulk_note(p, s.figures, key, period, month_label(previous_period(period), lang), with_change=False,
                         said=said)
        said = said or bool(bulk)
        cards.append({"key": key, "label": label, "value": Markup(mark(value, Figure(key, period, c["current"]), "div", "mk-value")),
                      # on A4 a long figure is set smaller to stay on one line; words wrap at their spaces
                      "value_chars": round(value_width(value), 1),
                      "changes": changes, "definition": definition, "trend": trend,
                      # the change lines above name the comparison; the note does not repeat it
                      "bulk": bulk,
                      "spark": sparkline(values, good_up=HIGHER_IS_BETTER[key],
                                         label=text("month.trend", lang, name=label, month=month_label(period, lang),
                                                    first=shown[0] if shown else "–",
                                                    last=shown[-1] if shown else "–"))})
    return cards


def happened(s: MonthSummary) -> list[str]:
    """The 'what happened this month' sentences: whether the month was still open at extraction, the
    figures, then one per report from its results."""
    from .page import open_period_sentence
    lang, p = s.language, _p(s)
    out = [open_period_sentence(p, s.period, s.as_of)] if s.as_of else []
    out = [sentence for sentence in out if sentence]
    if s.figures:
        rev, churn = compare(s.figures, "member_revenue"), compare(s.figures, "churn_rate")
        active = compare(s.figures, "active_members")
        out.append(Markup(marked_sentence(
            text("month.happened_figures", lang),
            {"revenue": (p.money(rev["current"]), Figure("member_revenue", s.period, rev["current"])),
             "active": (p.count(active["current"]), Figure("active_members", s.period, active["current"])),
             "churn": (p.pct(churn["current"]), Figure("churn_rate", s.period, churn["current"]))},
            month=month_label(s.period, lang), window=p.count(s.figures.get("active_window_days", 90)),
            vs_previous=format_change(p, "member_revenue", rev["current"], rev["previous"]) or "–",
            previous=month_label(previous_period(s.period), lang),
            vs_year=format_change(p, "member_revenue", rev["current"], rev["year_ago"]) or "–",
            year_ago=month_label(same_period_last_year(s.period), lang))))
        bulk = bulk_note(p, s.figures, "member_revenue", s.period, month_label(previous_period(s.period), lang))
        if bulk:
            out.append(text("month.bulk_sentence", lang, note=bulk))
        out.extend((why_of(s) or {}).get("sentences", []))
    for r in s.reports:
        if r.status != "ok" or not r.results:
            out.append(text("month.happened_missing", lang, title=report_title(r, lang)))
            continue
        sentence = _report_sentence(r.name, r.results, s)
        if sentence:
            out.append(sentence)
    return out


def why_of(s: MonthSummary) -> dict | None:
    """Why member revenue changed (:func:`memberkit.views.attribution.why_block`) for the summary page."""
    from .attribution import why_block
    lang = s.language
    labels = {"vs_previous": month_label(previous_period(s.period), lang),
              "vs_year_ago": month_label(same_period_last_year(s.period), lang)}
    rfm = next((r.results for r in s.reports if r.name == "rfm_segmentation" and r.status == "ok" and r.results), None)
    groups = ((rfm or {}).get("results") or {}).get("revenue_change_groups")
    return why_block(_p(s), s.figures, labels, month_label(s.period, lang), groups)


# the experiments' verdicts in the order the month's sentence counts them: (catalogue key, verdict code)
AB_VERDICT_COUNTS = (("ship", "ship"), ("not_worth", "ships_conversion_not_margin"), ("do_not_ship", "do_not_ship"),
                     ("wait", "not_enough_evidence"), ("srm", "no_verdict"))


def _report_sentence(name: str, res: dict, s: MonthSummary) -> str:
    lang, p = s.language, _p(s)
    k = res.get("kpis", {})
    if name == "data_cleaning":
        orders = res.get("results", {}).get("tables", {}).get("orders", {})
        if orders:
            return text("month.happened_cleaning", lang, kept=p.count(orders.get("kept")), read=p.count(orders.get("rows_in")),
                        rejected=p.count(orders.get("rejected")))
    elif name == "ab_test":
        exps = res.get("results", {}).get("experiments", {})
        count = lambda d: sum(1 for e in exps.values() if e["verdict"]["decision"] == d)
        if exps:
            # one count per verdict that occurred, named as its card and decision name it, so the counts add up
            # to n; a verdict no experiment got is left out ('0 not to ship' said nothing), a count of 1 singular
            counts = [p.counted(f"month.happened_ab_{key}", count(decision), n=p.count(count(decision)))
                      for key, decision in AB_VERDICT_COUNTS if count(decision)]
            return text("month.happened_ab", lang, n=len(exps), counts=("，" if lang == "zh" else ", ").join(counts)) + (
                p.sentence_sep + p.counted("month.happened_ab_not_margin", count("ships_conversion_not_margin"),
                                           n=p.count(count("ships_conversion_not_margin")))
                if count("ships_conversion_not_margin") else "")
    elif name == "campaign_review":
        if res.get("results", {}).get("has_table") is False:
            return text("month.happened_campaigns_no_table", lang)
        # two sets, each with its scope: the month's campaigns (the decisions below) and the whole league (the
        # campaign page's table), so '0 to change' here never meets 'change' three times there unexplained
        ended, league = (verdict_counts(res.get("results", {}), in_period) for in_period in (True, False))
        if not ended["campaigns"]:
            return text("month.happened_campaigns_none", lang)
        sentence = p.counted("month.happened_campaigns", ended["campaigns"], n=ended["campaigns"],
                             repeat=ended["repeat"], change=ended["change"], stop=ended["stop"],
                             net=p.money(k.get("net_gain")))
        if league["campaigns"] <= ended["campaigns"]:
            return sentence
        return sentence + p.sentence_sep + text("month.happened_campaigns_league", lang, n=league["campaigns"],
                                                repeat=league["repeat"], change=league["change"], stop=league["stop"])
    return summary_card(name, res, p)["headline"]


def decision_items(s: MonthSummary) -> list[dict]:
    """Each decision as an action word, a sentence and the page that holds its evidence."""
    lang, p, items = s.language, _p(s), []
    for d in s.decisions:
        v = d.values
        if d.kind == "campaign":
            reason = text(f"month.reason_{v['reason']}", lang)
            key = "month.decision_campaign_cost" if not missing(v.get("cost")) else "month.decision_campaign"
            subject = campaign_subject(s, v.get("campaign_id"), d.subject)
            sentence = (text(key, lang, subject=subject, roi=p.signed_pct(v["roi"], 0), cost=p.money(v.get("cost")),
                             low=p.signed_pct(v["roi_low"], 0), high=p.signed_pct(v["roi_high"], 0), reason=reason)
                        if not missing(v.get("roi")) else text("month.decision_campaign_no_roi", lang, subject=subject,
                                                                reason=reason)) + campaign_type_clause(s, v.get("campaign_id"))
        elif d.kind == "experiment":
            metric = metric_label(p, v["metric"]) if v.get("metric") else ""
            marks = FigureMarks(s.period)   # the groups' values marked as on the A/B page and its card
            if d.action == "ship":   # without an incentive cost nothing was set against the lift: the sentence says so
                sentence = text("month.decision_ship" if not missing(v.get("cost")) else "month.decision_ship_no_cost",
                                lang, subject=d.subject, variant=v["variant"], metric=metric,
                                lift=lift_moved(p, v["metric"], v.get("control"), v.get("value"), v["lift"], v.get("kind"),
                                                marks, d.subject, v["variant"]),
                                low=p.signed_pct(v["lift_low"]), high=p.signed_pct(v["lift_high"]))
                if not missing(v.get("revenue_lift")):
                    sentence += p.sentence_sep + text(
                        "month.decision_ship_revenue", lang, metric=metric_label(p, "revenue"),
                        lift=p.signed_pct(v["revenue_lift"]), low=p.signed_pct(v.get("revenue_low")),
                        high=p.signed_pct(v.get("revenue_high")))
            elif d.action == "ships_conversion_not_margin":
                sentence = text("month.decision_ships_conversion_not_margin", lang, subject=d.subject,
                                variant=v["variant"], metric=metric,
                                lift=lift_moved(p, v["metric"], v.get("control"), v.get("value"), v["lift"], v.get("kind"),
                                                marks, d.subject, v["variant"]),
                                low=p.signed_pct(v["lift_low"]), high=p.signed_pct(v["lift_high"]),
                                cost=p.money(v["cost"], 2), net=p.money(v["net"], 2), net_low=p.money(v["net_low"], 2),
                                net_high=p.money(v["net_high"], 2))
            elif d.action == "do_not_ship" and v.get("variant"):
                sentence = text("month.decision_do_not_ship_guardrail", lang, subject=d.subject, variant=v["variant"])
            elif d.action == "do_not_ship":
                sentence = text("month.decision_do_not_ship", lang, subject=d.subject, metric=metric)
            else:
                sentence = text("month.decision_no_verdict", lang, subject=d.subject)
            if v.get("overstated"):
                sentence += p.sentence_sep + text("month.decision_overstated", lang)
            sentence = marks.html(sentence)
        else:
            sentence = p.counted("month.decision_at_risk", v["members"], members=p.count(v["members"]),
                                 revenue=p.money(v["past_revenue"]), clv=p.money(v["clv"]), bulk=at_risk_bulk(p, v))
            sentence += at_risk_actions(p, v.get("by_action"))
        listed = v.get("list") if d.kind == "at_risk" else None
        items.append({"kind": d.kind, "action": text(f"month.action_{d.action}", lang), "tone": _tone(d.action),
                      "sentence": sentence, "link": d.link, "list": listed,
                      "list_href": f"../{listed}" if listed else None,   # data/ is the period's, beside <lang>/
                      # the file's name on a small line of its own after the evidence: the sentence names the list in
                      # words, since a link does nothing on a forwarded or printed page
                      "list_name": listed.rsplit("/", 1)[-1] if listed else None})
    return items


def at_risk_actions(p: Presentation, by_action: list | None) -> str:
    """For the at-risk decision: each action the list gives, with its segment and how many members take it
    (``by_action``, :func:`memberkit.clv.list_by_action`), in the words of the RFM page's action column
    (``short`` of ``reference/rfm_segments.yaml``), with the sentence separator in front; '' when the month's
    results name no list. One word for one decision: the label above the sentence said 'win back' while the
    list and the RFM page told Important, lapsing members to be held on to."""
    if not by_action:
        return ""
    from ..rfm import outside_window, schemes
    hl, outside = schemes()["high_low"], outside_window()
    parts = [p.text("month.decision_at_risk_part", members=p.count(n),
                    segment=outside.label[p.language] if code == outside.key else hl.label(code, p.language),
                    action=outside.short[p.language] if code == outside.key else hl.short_action(code, p.language))
             for code, n in by_action]
    return p.sentence_sep + p.text("month.decision_at_risk_actions", parts=p.text("month.decision_at_risk_join").join(parts))


def at_risk_bulk(p: Presentation, values: dict) -> str:
    """For the win-back decision: that its spend to date leaves out the orders the cleaning flagged as bulk
    purchases (``bulk_members_left_out`` of the CLV results says whether any was), with the sentence separator
    in front; '' when none was left out or the results do not say. The amount stays on the CLV page
    (:func:`memberkit.views.clv.at_risk_bulk_sentence`): an all-time total beside the month's figures read as
    a large unexplained number."""
    n = values.get("bulk_members_left_out")
    if missing(n) or not n:
        return ""
    return p.sentence_sep + p.text("month.decision_at_risk_bulk")


def _tone(action: str) -> str:
    return {"stop": "bad", "do_not_ship": "bad", "no_verdict": "bad", "win_back": "warn", "change": "warn",
            "ships_conversion_not_margin": "warn",
            "repeat": "good", "ship": "good"}.get(action, "")


def profile_card(s: MonthSummary) -> list[dict]:
    """The member-profile card: label, value and note of each figure, from the RFM report's ``profile``."""
    from .profile import summary_figures
    return [{"label": k.label, "value": k.value, "delta": k.delta}
            for k in summary_figures(_p(s), s.results("rfm_segmentation"))]


def campaign_subject(s: MonthSummary, campaign_id: str | None, subject: str) -> str:
    """A campaign decision's subject as the pages name the campaign (``Presentation.campaign``: in the English
    edition a Chinese name told by its type), from the campaign review's league; ``subject`` as given when
    the campaign is not in it."""
    camps = (((s.results("campaign_review") or {}).get("results") or {}).get("campaigns") or {})
    c = camps.get(campaign_id) if campaign_id else None
    return _p(s).campaign(campaign_id, c.get("name"), c.get("type")) if c else subject


def campaign_type_clause(s: MonthSummary, campaign_id: str | None) -> str:
    """For a campaign decision: how the other campaigns of its type did, so that a campaign to repeat
    beside its type's 'lost money' (the sample's member day C2610: +218% on its own, the two member days
    together -CN¥12,504) reads as one campaign of several, not as a contradiction. With the page's
    sentence separator in front; '' when the campaign is the only one of its type, or its type is unknown."""
    camps = (((s.results("campaign_review") or {}).get("results") or {}).get("campaigns") or {})
    kind = (camps.get(campaign_id) or {}).get("type")
    t = next((t for t in s.campaign_types if t["type"] == kind), None) if kind else None
    if t is None or t["campaigns"] < 2:
        return ""
    p = _p(s)
    outcome = "unknown" if t["net_gain"] is None else ("gained" if t["net_gain"] > 0 else "lost")
    return p.sentence_sep + text(f"month.decision_campaign_type_{outcome}", s.language, type=p.code("campaign_types", kind),
                                 n=p.count(t["campaigns"]), paid=p.count(t["paid"]), net=p.money(
                                     abs(t["net_gain"]) if t["net_gain"] is not None else None))


def campaign_type_rows(s: MonthSummary) -> list[dict]:
    """One row per campaign type of :attr:`MonthSummary.campaign_types`, worded for a table that fits a
    phone: ``type``, ``verdict`` (two words: made money or lost money over its campaigns, net of cost; not known
    when a cost is missing; what the words stand for is under the table, :func:`campaign_types_caption`) with
    ``tone`` (good, bad or ''), ``paid`` (how many of its campaigns paid on their own, '1 of 2 paid', in small
    print under the verdict, so that it never reads as the type's verdict), ``net`` (margin minus cost) with
    ``parts`` (the margin and the cost it is made of) and ``roi``."""
    p = _p(s)
    rows = []
    for t in s.campaign_types:
        net = t["net_gain"]
        outcome = "unknown" if net is None else ("gained" if net > 0 else "lost")
        parts = ("" if t["cost"] is None or t["incremental_margin"] is None else
                 text("profile.types_parts", s.language, margin=p.money(t["incremental_margin"]), cost=p.money(t["cost"])))
        rows.append({"type": p.code("campaign_types", t["type"]),
                     "verdict": text(f"profile.types_{outcome}", s.language),
                     "tone": {"gained": "good", "lost": "bad"}.get(outcome, ""),
                     "paid": text("profile.types_paid", s.language, paid=p.count(t["paid"]), n=p.count(t["campaigns"])),
                     "net": p.money(net), "parts": parts, "roi": p.signed_pct(t["roi"], 0)})
    return rows


def campaign_types_caption(s: MonthSummary) -> str:
    """The words under the campaign types' table: what it covers (:func:`memberkit.views.profile.types_caption`),
    what its verdict and the count under it mean, and why a type's verdict is not known when one is; the table's
    cells keep two short lines (issue 23: four at 420 px)."""
    p = _p(s)
    parts = [profile_view.types_caption(p, s.results("campaign_review")), text("profile.types_verdict_note", s.language)]
    if any(t["net_gain"] is None for t in s.campaign_types):
        parts.append(text("profile.types_unknown_note", s.language))
    return p.sentence_sep.join(parts)


def report_title(r, language: str) -> str:
    return title_of(r.name, language)


def report_cards(s: MonthSummary) -> list[dict]:
    """One card per report: title, status, headline, its first KPIs and the link; or why it is missing."""
    lang, p, cards = s.language, _p(s), []
    for r in s.reports:
        title = report_title(r, lang)
        card = {"name": r.name, "title": title, "status": r.status, "headline": "", "points": [], "kpis": [], "message": ""}
        if r.status == "ok":
            card.update(summary_card(r.name, r.results, p))
            card["kpis"] = [{**k, "marked": Markup(mark(k["value"], k.get("figure")))} for k in card["kpis"]]
        else:
            card["message"] = status_message(r, title, s)
        cards.append(card)
    return cards


def status_message(r, title: str, s: MonthSummary) -> str:
    if r.status == "failed":
        return (text("month.status_failed", s.language, title=title, cell=r.cell, error=r.error) if r.cell is not None
                else text("month.status_failed_nocell", s.language, title=title, error=r.error))
    if r.status == "skipped":
        return text("month.status_skipped", s.language, title=title,
                    error=skip_reason(r.reason, s.language) if r.reason else r.error)
    return text("month.status_not_run", s.language, title=title, month=month_label(s.period, s.language))


def counts_sentence(s: MonthSummary) -> str:
    """One sentence saying which members each report counts, and why the numbers differ."""
    c, p = s.counts, _p(s)
    needed = ("members_kept", "members_joined", "buyers_in_window", "migration_members", "valued")
    if any(c.get(k) is None for k in needed):
        return text("month.counts_missing", s.language)
    return text("month.counts", s.language, kept=p.count(c["members_kept"]), joined=p.count(c["members_joined"]),
                buyers=p.count(c["buyers_in_window"]), window=c.get("window_days") or 365,
                migration=p.count(c["migration_members"]), valued=p.count(c["valued"]), until=c.get("valued_until") or "–")


# ------------------------------------------------------------------ pages
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from .page import heading_html
    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent.parent / "templates" / "month")),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # the templates' headings are made as the report pages' are, so their months and dates do not break either;
    # heading_html escapes the title itself
    env.globals["heading"] = lambda title, level=2, anchor=None: Markup(heading_html(title, level, anchor))
    return env


def page_fonts() -> Markup:
    """No font rules in the template: :func:`memberkit.views.page.embed_fonts` adds the kit's CJK
    font, subset to the characters of the finished page."""
    return Markup("")


def render_summary(s: MonthSummary, footer: dict | None = None) -> str:
    """The summary page ``outputs/<period>/index.html`` as one self-contained HTML string."""
    lang = s.language
    t = lambda key, **v: text(f"month.{key}", lang, **v)
    tp = lambda key, **v: text(f"profile.{key}", lang, **v)   # noqa: E731 - the profile's and campaign types' words
    problems = [status_message(r, report_title(r, lang), s) for r in s.reports if r.status != "ok"]
    figures_note = ""
    if not s.figures:
        figures_note = t("figures_missing", error=s.figures_error) if s.figures_error else t("figures_not_cleaned")
    footer = footer or {}
    from .page import embed_fonts, link_headings
    # an anchor on every heading and the short table of contents under the title, as the report pages have
    return embed_fonts(link_headings(_environment().get_template("summary.html.j2").render(
        lang="zh-CN" if lang == "zh" else "en", t=t, tp=tp, fonts=page_fonts(),
        types_caption=campaign_types_caption(s),
        months_link=f"../../{lang}/index.html", switch=switch_link(lang, "index.html"),
        title=t("page_title", month=month_label(s.period, lang)),
        subtitle=t("subtitle", month=month_label(s.period, lang),
                   previous=month_label(previous_period(s.period), lang),
                   year_ago=month_label(same_period_last_year(s.period), lang)),
        problems=problems, figures=figure_cards(s), figures_note=figures_note, happened=happened(s), why=why_of(s),
        tw=lambda key, **v: text(f"why.{key}", lang, **v),
        decisions=decision_items(s), ledger=ledger_section(s), profile=profile_card(s), types=campaign_type_rows(s),
        next_campaign=uplift_section(s),
        reports=report_cards(s), counts=counts_sentence(s),
        footer=t("footer", generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"), code=footer.get("code", "–"),
                 fingerprint=footer.get("fingerprint", "–"))), text("common.contents", lang)))


def render_months(root: Path, language: str = "en", currency: str = "CNY") -> str:
    """``outputs/<language>/index.html``: every period with a summary in ``language`` on disk, newest first,
    with its key figures and their trend across months.

    A period whose ``month.json`` is missing or unreadable shows "–" in every column and says its
    figures are missing (a figure that is null in a readable file still reads "not enough history").
    """
    import json
    from ..month import FIGURES_FILE, periods_on_disk
    periods = periods_on_disk(root, language)
    data: dict[str, dict | None] = {}
    latest = None          # the newest period's month.json: its months are the charts' months
    for p in periods:
        try:
            f = json.loads((root / p / FIGURES_FILE).read_text(encoding="utf-8"))
            data[p] = {k: compare(f, k)["current"] for k in MONTH_FIGURES}
            latest = f
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            data[p] = None
    t = lambda key, **v: text(f"month.{key}", language, **v)
    pres = Presentation(language, currency)
    columns = [{"key": k, "label": figure_label(k, language)} for k in MONTH_FIGURES]
    trends = [{"label": figure_label(k, language),
               "chart": trend_chart(latest["months"], latest["figures"][k], k, pres,
                                    label=trend_chart_label(pres, k, latest["months"], latest["figures"][k]))}
              for k in MONTH_FIGURES] if latest else []
    rows = [{"period": p, "label": month_label(p, language), "link": f"../{p}/{language}/index.html",
             "note": "" if data[p] is not None else t("months_figures_missing", file=FIGURES_FILE),
             "cells": ([format_figure(pres, k, data[p].get(k)) for k in MONTH_FIGURES] if data[p] is not None
                       else [DASH] * len(MONTH_FIGURES))}
            for p in reversed(periods)]
    from .page import embed_fonts
    return embed_fonts(_environment().get_template("months.html.j2").render(
        lang="zh-CN" if language == "zh" else "en", t=t, fonts=page_fonts(), title=t("months_title"),
        switch=switch_link(language, "index.html"),
        subtitle=t("months_subtitle"), columns=columns, rows=rows, trends=trends,
        trends_title=t("months_trends_title", months=len(latest["months"]),
                       month=month_label(latest["months"][-1], language)) if latest else ""))


def write_pages(s: MonthSummary, out: Path, footer: dict | None = None) -> list[Path]:
    """Write the summary page into ``out/<language>/index.html``; when ``out`` is a period folder
    (``.../<period>``), also the index across months into ``../<language>/index.html`` (a folder
    named otherwise gets no neighbour files)."""
    page = out / s.language / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render_summary(s, footer), encoding="utf-8")
    if out.name != s.period:
        return [page]
    months = out.parent / s.language / "index.html"
    months.parent.mkdir(parents=True, exist_ok=True)
    months.write_text(render_months(out.parent, s.language, s.currency), encoding="utf-8")
    return [page, months]
