"""The cleaning report's words and pictures: KPI cards, headline, rule waterfall, tables."""

from __future__ import annotations

import pandas as pd

from .. import clean
from .context import Presentation
from .page import KPI, Figure, card
from .rfm import _width
from .theme import CATEGORIES, HATCHES, REST, describe


def rule_steps_frame(p: Presentation, result: clean.CleaningResult) -> pd.DataFrame:
    """One row per (table, rule) with the rows it set aside, rules in the order applied, then 'kept'."""
    rows = []
    for name, rep in result.tables.items():
        for step in rep.steps:
            if step["rows"]:
                rows.append({"table": p.text(f"tables.{name}"), "rule": p.text(f"reasons.{step['rule']}"),
                             "rows": p.count(step["rows"]), "share": p.pct(step["rows"] / rep.rows_in, 2)})
    frame = pd.DataFrame(rows, columns=["table", "rule", "rows", "share"])
    return frame.rename(columns={"table": p.text("common.table"), "rule": p.text("common.rule"),
                                 "rows": p.text("data_cleaning.rows_set_aside"),
                                 "share": p.text("data_cleaning.share_of_table")})


def table_label(p: Presentation, result: clean.CleaningResult, name: str) -> str:
    """A table's name; a table built from another one (members from the orders) says it was not read."""
    label = p.text(f"tables.{name}")
    return f"{label} ({p.text('data_cleaning.derived')})" if result.tables[name].derived else label


def merged_rows(rep: clean.TableReport) -> int:
    """A table's rows merged into another account of the same person (``merged_identity``: member
    accounts only), which :attr:`~memberkit.clean.TableReport.rejected` holds beside the rows a rule rejected."""
    return sum(s["rows"] for s in rep.steps if s["rule"] == "merged_identity")


def accounting_frame(p: Presentation, result: clean.CleaningResult) -> pd.DataFrame:
    """Per table: rows in, kept, rejected by a rule and merged into another account, the four summing
    to the rows in; the columns' sums are the cards' values (:func:`memberkit.clean.kpi_values`), so a
    rejected count reads the same in the cards, here and in the text."""
    return pd.DataFrame([{p.text("common.table"): table_label(p, result, n),
                          p.text("data_cleaning.rows_in"): p.count(r.rows_in),
                          p.text("data_cleaning.kept"): p.count(r.kept),
                          p.text("data_cleaning.rejected"): p.count(r.rejected - merged_rows(r)),
                          p.text("data_cleaning.merged"): p.count(merged_rows(r))} for n, r in result.tables.items()])


def cards_sum_sentence(p: Presentation, res: dict) -> str:
    """The cards' sum on their face: 'Rows read 139,472 = kept 136,342 + rejected by a rule 2,442 + merged
    into another account 688.' from the results' KPI values; '' when one of the four is missing."""
    k = res.get("kpis", {})
    keys = ("rows_read", "rows_kept", "rows_rejected", "members_merged")
    if any(k.get(x) is None for x in keys):
        return ""
    return p.text("data_cleaning.cards_sum", **{x: p.count(k[x]) for x in keys})


def guest_sentence(p: Presentation, result: clean.CleaningResult) -> str:
    """Why the guest-orders card and the quality table's missing member ids differ: the card counts kept orders
    without a member id, each once; the table counts the order lines delivered without one, which include a
    guest order's further lines and the lines a rule rejected (by reason, from ``result.guest_lines``). ''
    when the two counts agree or the lines were not counted.

    >>> r = clean.CleaningResult({}, 0, 0, 3000, 0, 0, 0.0, 0, {}, pd.DataFrame(), {},
    ...                          guest_lines={"kept": 3000, "duplicate": 18})
    >>> guest_sentence(Presentation("en"), r)[:60]
    'The 3,000 guest orders on the card are the kept orders witho'
    """
    lines = result.guest_lines or {}
    delivered = sum(lines.values())
    if not lines or delivered == result.guest_orders:
        return ""
    rejected = {k: n for k, n in lines.items() if k != "kept"}
    values = {"orders": p.count(result.guest_orders), "lines": p.count(delivered), "kept": p.count(lines.get("kept", 0))}
    if not rejected:
        return p.text("data_cleaning.guest_lines_kept", **values)
    reasons = p.list_sep.join(f"{p.text(f'reasons.{k}')} {p.count(n)}"
                              for k, n in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])))
    return p.text("data_cleaning.guest_lines", **values, rejected=p.count(sum(rejected.values())), reasons=reasons)


def rule_colours(rules: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """Rule (reason code) -> ``(colour, hatch)`` for the rules one chart shows (default: every rule of every
    table's family, ``clean.RULES``), in their order: the same rule the same look in every table of the chart.
    Colours from :data:`memberkit.views.theme.CATEGORIES` (colour-blind safe, none near the kept rows'
    :data:`~memberkit.views.theme.REST`); past nine rules the colours come round again with a hatch
    (:data:`~memberkit.views.theme.HATCHES`), so that no two rules of a chart look alike. Raises ValueError
    for more rules than colours times hatches."""
    if rules is None:
        rules = [r for family in clean.RULES.values() for r, _ in family]
    rules = list(dict.fromkeys(rules))
    n = len(CATEGORIES)
    if len(rules) > n * len(HATCHES):
        raise ValueError(f"{len(rules)} rules in one chart: at most {n * len(HATCHES)} can be told apart")
    return {r: (CATEGORIES[i % n], HATCHES[i // n]) for i, r in enumerate(rules)}


BAR_HEIGHT = 0.5          # of a table's row (1): the rest holds the table's counts over its bar
LEGEND_TWO_COLUMNS = 28   # the widest rule name (Latin characters; a Chinese one counts two) that two legend columns hold


def plot_rule_waterfall(p: Presentation, result: clean.CleaningResult):
    """Per table, a horizontal bar: kept rows, then one segment per rule that set rows aside."""
    import matplotlib.pyplot as plt
    names = list(result.tables)
    fig, ax = plt.subplots(figsize=(6.4, 0.6 * len(names) + 1.6))
    # only the rules that set rows aside here get a colour: the fewer, the further apart they are
    looks = rule_colours([s["rule"] for n in names for s in result.tables[n].steps if s["rows"]])
    for y, name in enumerate(names):
        rep = result.tables[name]
        left = rep.kept / rep.rows_in if rep.rows_in else 0
        ax.barh(y, left, height=BAR_HEIGHT, color=REST, label=p.text("data_cleaning.kept") if y == 0 else None)
        for step in rep.steps:
            if step["rows"]:
                w = step["rows"] / rep.rows_in
                colour, hatch = looks[step["rule"]]
                # the edge colour is the hatch's; no edge line, which would hide a segment under a pixel wide
                ax.barh(y, w, left=left, height=BAR_HEIGHT, color=colour, hatch=hatch or None, edgecolor="white",
                        linewidth=0, label=p.text(f"reasons.{step['rule']}"))
                left += w
        # over its bar, inside the frame: beside the bar's end it made the drawing 9 px wider than a 420 px screen
        # leaves and ran to its right edge ('2,292 of 75,263 set aside')
        # merged accounts apart from the rows a rule rejected, as the cards and the accounting table count them
        merged = merged_rows(rep)
        label = (p.text("data_cleaning.waterfall_label_merged", rejected=p.count(rep.rejected - merged),
                        merged=p.count(merged), rows_in=p.count(rep.rows_in)) if merged else
                 p.text("data_cleaning.waterfall_label", rejected=p.count(rep.rejected), rows_in=p.count(rep.rows_in)))
        # on white, so the grid lines do not run through the words
        ax.text(0, y - BAR_HEIGHT / 2 - 0.04, label, va="bottom", ha="left", fontsize=11,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_yticks(range(len(names)), [table_label(p, result, n) for n in names])
    ax.set_ylim(len(names) - 1 + BAR_HEIGHT / 2 + 0.1, -0.75)   # room over the first bar for its counts; top down
    ax.set_xlim(0, 1.0)     # from zero: a table that keeps 54% shows as 54% of its bar
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    # short names (the Chinese ones) in two columns: nine rules one under the other made the chart taller than
    # wide, which on A4 is printed up to a page high and went to the next page, leaving the first half white
    ncol = 2 if uniq and max(map(_width, uniq)) <= LEGEND_TWO_COLUMNS else 1
    ax.legend(uniq.values(), uniq.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=ncol, fontsize=11, frameon=False)
    ax.set_title(p.text("data_cleaning.waterfall_title"), loc="left")
    # the bars are shares and their labels two counts: read from the drawing, a label passed for a segment's
    # value ("merged: members 838 / 20,838"); the description says each table's counts from the data
    return describe(fig, waterfall_description(p, result))


def waterfall_description(p: Presentation, result: clean.CleaningResult) -> str:
    """The rule chart in words, from the counts: per table the rows read and kept, then each rule's rows
    set aside, in the order the rules apply."""
    tables = []
    for name, rep in result.tables.items():
        rules = p.list_sep.join(p.text("data_cleaning.waterfall_rule", rule=p.text(f"reasons.{s['rule']}"),
                                       rows=p.count(s["rows"])) for s in rep.steps if s["rows"])
        tables.append(p.text("data_cleaning.waterfall_table" if rules else "data_cleaning.waterfall_table_clean",
                             table=table_label(p, result, name), rows_in=p.count(rep.rows_in),
                             kept=p.count(rep.kept), rules=rules))
    return p.text("data_cleaning.waterfall_description", tables=" · ".join(tables))


def headline(p: Presentation, res: dict) -> str:
    """One sentence from the results (:meth:`memberkit.report.Results.to_dict`): how many order lines
    are clean, the main reason they were set aside, the merge; a warning first when statuses were
    unknown. Without an orders table, the rows of every table read."""
    by_reason: dict[str, int] = {}
    tables = res.get("results", {}).get("tables", {})
    orders = tables.get("orders")
    for table in ([orders] if orders and orders.get("rows_in") is not None else tables.values()):
        for step in table.get("steps", []):
            if step["rule"] != "merged_identity":
                by_reason[step["rule"]] = by_reason.get(step["rule"], 0) + step["rows"]
    top = max(by_reason, key=by_reason.get) if by_reason and max(by_reason.values()) > 0 else None
    warning = _unknown_warning(p, res.get("results", {}).get("unknown_statuses") or {})
    return p.sentence_sep.join(x for x in (warning, _plain_headline(p, res.get("kpis", {}), top, by_reason, orders)) if x)


def analyst_hint(p: Presentation, res: dict) -> str:
    """For analysts, under the headline: where to map the statuses the kit did not know ('' when none)."""
    return p.text("data_cleaning.statuses_hint") if res.get("results", {}).get("unknown_statuses") else ""


def unknown_status_warning(p: Presentation, result: clean.CleaningResult) -> str:
    """A warning sentence when order lines were set aside for a status the kit does not know, else ''."""
    return _unknown_warning(p, result.unknown_statuses)


def _unknown_warning(p: Presentation, unknown: dict) -> str:
    if not unknown:
        return ""
    values = ", ".join(f"{k} {p.count(v)}" for k, v in list(unknown.items())[:8])
    return p.text("data_cleaning.unknown_status_warning", n=p.count(sum(unknown.values())), values=values)


def _plain_headline(p: Presentation, k: dict, top, by_reason, orders: dict | None = None) -> str:
    """The order lines read, kept and set aside (``orders``: the orders table's accounting, the same
    count the month summary states), else every table's rows when there is no orders table."""
    merged = p.count(k.get("members_merged"))
    if orders and orders.get("rows_in") is not None:
        read, kept = orders["rows_in"], orders.get("kept")
        if top is None:
            return p.text("data_cleaning.headline_clean", read=p.count(read), merged=merged)
        return p.text("data_cleaning.headline", kept=p.count(kept), read=p.count(read),
                      kept_share=p.pct(kept / read if read else None), rejected=p.count(orders.get("rejected")),
                      top_reason=p.text(f"reasons.{top}"), top_count=p.count(by_reason[top]), merged=merged)
    rows_in, kept = k.get("rows_read"), k.get("rows_kept")
    if top is None:
        return p.text("data_cleaning.headline_rows_clean", rows_in=p.count(rows_in), merged=merged)
    return p.text("data_cleaning.headline_rows", kept_share=p.pct(kept / rows_in if rows_in else None),
                  rows_in=p.count(rows_in), rejected=p.count(k.get("rows_rejected")),
                  top_reason=p.text(f"reasons.{top}"), top_count=p.count(by_reason[top]), merged=merged)


# what each cleaning card counts, said beside its number
KPI_NOUNS = {"rows_read": "rows", "rows_kept": "rows", "rows_rejected": "rows", "members_merged": "rows",
             "guest_orders": "orders", "outliers": "orders"}


def kpis(p: Presentation, res: dict):
    """KPI cards from the results, with the change against the previous period's run when there is one."""
    before = (res.get("results", {}).get("previous") or {}).get("kpis", {})
    values = res.get("kpis", {})
    return [KPI(p.text(f"data_cleaning.{k}"), p.count_of(values.get(k), KPI_NOUNS[k]), p.delta(values.get(k), before.get(k)),
                figure=Figure(f"data_cleaning.{k}", res.get("period") or "", values.get(k)))
            for k in clean.KPI_KEYS if k in values]


def compared(p: Presentation, res: dict):
    """What a scratch run sets beside the published run (:func:`memberkit.views.page.vs_published`): the cards,
    then the rows kept in each table and the net revenue kept, from the results."""
    r = res.get("results", {})
    rows = [KPI(p.text("data_cleaning.compared_kept", table=p.text(f"tables.{name}")), p.count(t.get("kept")))
            for name, t in (r.get("tables") or {}).items()]
    net = (r.get("revenue") or {}).get("net")
    return [*kpis(p, res), *rows, *([KPI(p.text("data_cleaning.compared_net_revenue"), p.money(net))] if net is not None else [])]


def summary_card(p: Presentation, res: dict) -> dict:
    """The month summary's card of this report: headline and first cards, from its results."""
    return card(headline(p, res), kpis(p, res))


def record(p: Presentation, result: clean.CleaningResult, results, previous: dict | None = None,
           dominant: dict | None = None) -> None:
    """Fill a :class:`memberkit.report.Results` with this step's KPI values and key results; the
    previous period's KPI values (``previous``, its results) are kept beside them for the change, and
    the members above the set share of orders or revenue (``dominant``: :func:`memberkit.clean.dominant_members`)."""
    values = clean.kpi_values(result)
    for k in clean.KPI_KEYS:
        results.kpi(k, values[k])
    results.key_results = clean.key_results(result)
    results.key_results["dominant_members"] = dominant
    results.key_results["previous"] = ({"period": previous.get("period"), "kpis": previous.get("kpis", {})}
                                       if previous else None)


def change_title(p: Presentation, period: str) -> str:
    """The heading over the change table: the month it compares with, named (it is the previous month's
    run, not an earlier run of this month: a reader took "the previous run" for a rerun)."""
    from ..periods import previous_period
    from .month import month_label
    return p.text("data_cleaning.change_title", month=month_label(previous_period(period), p.language))


def no_previous_note(p: Presentation, period: str) -> tuple[str, str]:
    """Why there is no change table: the previous month ('YYYY-MM' before ``period``) has no cleaning results
    beside this month's; and, for analysts, how to have them (the command)."""
    from ..periods import previous_period
    from .month import month_label
    before = previous_period(period)
    values = {"month": month_label(before, p.language), "this_month": month_label(period, p.language), "previous": before}
    return p.text("data_cleaning.no_previous", **values), p.text("data_cleaning.no_previous_hint", **values)


def change_frame(p: Presentation, current: dict, previous: dict | None) -> pd.DataFrame | None:
    """KPIs of this run beside the previous period's run, formatted; None when there is no earlier run."""
    if not previous:
        return None
    rows = []
    for key, value in current["kpis"].items():
        before = previous.get("kpis", {}).get(key)
        rows.append({p.text("data_cleaning.figure"): p.text(f"data_cleaning.{key}"), previous["period"]: p.count(before),
                     current["period"]: p.count(value), p.text("data_cleaning.change"): p.delta(value, before)})
    return pd.DataFrame(rows)


def source_rows_note(p: Presentation, source) -> str | None:
    """The sentence naming the tables whose source row numbers are not available (a database table read
    without an order of its own: :func:`memberkit.warehouse.untraced_tables` of ``source``, the run's
    ``SourceConfig``), or None when every table's row numbers find its rows (every file, and a query ending
    in ORDER BY or a table with a declared key)."""
    from ..warehouse import untraced_tables
    untraced = untraced_tables(source)
    if not untraced:
        return None
    return p.text("data_cleaning.source_rows_unavailable", tables=p.list_sep.join(p.text(f"tables.{t}") for t in untraced))


def quality_frame(p: Presentation, result: clean.CleaningResult) -> pd.DataFrame:
    """Per table and column as delivered: rows, missing (count and share), invalid and distinct values.
    Columns empty in every row (not in the export) are left out and named by :func:`absent_columns_note`."""
    q = result.quality
    q = q[~_absent(q)]
    return pd.DataFrame({
        p.text("common.table"): [p.text(f"tables.{n}") for n in q.table],
        p.text("common.column"): [p.code("fields", c) for c in q.column],
        p.text("data_cleaning.rows_col"): [p.count(x) for x in q.rows],
        p.text("data_cleaning.missing_rows"): [p.count(x) for x in q.missing],
        p.text("data_cleaning.missing_share"): [p.pct(x) for x in q.missing_share],
        p.text("data_cleaning.invalid_rows"): [p.count(x) for x in q.invalid],
        p.text("data_cleaning.distinct_values"): [p.count(x) for x in q.distinct]})


def _absent(q: pd.DataFrame) -> pd.Series:
    return (q.rows > 0) & (q.missing == q.rows)


def absent_columns_note(p: Presentation, result: clean.CleaningResult) -> str:
    """The columns empty in every row, per table (usually optional columns the export does not
    carry), in one sentence; "" when there are none."""
    q = result.quality[_absent(result.quality)]
    if q.empty:
        return ""
    per_table = [f"{p.text(f'tables.{t}')}: {p.list_sep.join(p.code('fields', c) for c in g.column)}"
                 for t, g in q.groupby("table", sort=False)]
    return p.text("data_cleaning.absent_columns", columns=p.clause_sep.join(per_table))


def identity_sentence(p: Presentation, result: clean.CleaningResult) -> str:
    """How many account ids belonged to how many people and how many of them were merged, by which rule, and
    the shared phones left alone."""
    ident = result.identity or {}
    rules = p.list_sep.join(p.text("data_cleaning.identity_rule", rule=p.text(f"data_cleaning.rule_{r}"), n=p.count(n))
                            for r, n in ident.get("by_rule", {}).items())
    merged, people = ident.get("merged_ids", result.merged_members), ident.get("people", result.linked_people)
    # two counts in one sentence: each one's words take its own singular or plural ('1 person', '2 ids were')
    # each person keeps one of their ids: the merged ids and the kept ones are the accounts these people had
    accounts = merged + people
    out = p.text("data_cleaning.identity_text", accounts=p.count(accounts), merged=p.count(merged), people=p.count(people),
                 rules=rules or "–", account_ids=p.counted("data_cleaning.account_ids", merged),
                 persons=p.counted("data_cleaning.persons", people))
    if ident.get("shared_phones"):
        out += p.sentence_sep + p.counted("data_cleaning.shared_phones_text", ident["shared_phones"],
                                          phones=p.count(ident["shared_phones"]),
                                          accounts=p.count(ident["shared_phone_accounts"]),
                                          max=p.count(ident["max_accounts_per_phone"]))
    return out


def treatment_notes(p: Presentation, result: clean.CleaningResult, params) -> list[str]:
    """One sentence each: orders and revenue kept (gross and net), the identity merge, the outliers and
    their policy, unified spellings, repaired join dates (only when a member table was read), and
    the forms recognised (decimal commas, float-like ids)."""
    rev = result.revenue or {}
    notes = [p.text("data_cleaning.orders_text", orders=p.count(result.orders_kept), lines=p.count(result.lines_kept),
                    gross=p.money(rev.get("gross", 0.0)), returns=p.money(rev.get("returns", 0.0)),
                    net=p.money(rev.get("net", 0.0)), cancelled=p.count(result.cancelled_orders),
                    zero=p.count(result.zero_amount_orders)),
             identity_sentence(p, result),
             p.text("data_cleaning.outlier_text", threshold=p.money(result.outlier_threshold),
                    multiple=f"{params.outlier_multiple:g}", n=p.count(result.outlier_orders), policy=p.code("policies", params.outlier_policy)),
             p.text("data_cleaning.text_text", n=p.count(sum(result.text_unified.values())))]
    if "members" in result.tables and not result.tables["members"].derived:
        notes.append(repaired_sentence(p, result))
    if result.decimal_marks or result.float_ids:
        notes.append(p.text("data_cleaning.forms_text", commas=", ".join(result.decimal_marks) or "-",
                            ids=", ".join(result.float_ids) or "-"))
    return notes


def repaired_sentence(p: Presentation, result: clean.CleaningResult) -> str:
    """The members whose join date was repaired, and how that count relates to the column table's unreadable
    join dates: the table counts rows as delivered, before the merge, and a future date reads; the repair counts
    members after the merge whose accounts hold no readable date up to the extraction date (40 unreadable rows,
    3 of them duplicate accounts of a person with a readable date on another account: 37 members repaired)."""
    q = result.quality
    row = q[(q.table == "members") & (q.column == "join_date")] if {"table", "column"} <= set(q.columns) else q.iloc[:0]
    n = p.count(result.join_dates_repaired)
    if row.empty:
        return p.text("data_cleaning.repaired_text", n=n)
    return p.text("data_cleaning.repaired_scopes_text", n=n, invalid=p.count(int(row.invalid.iloc[0])))


def dominant_sentence(p: Presentation, res: dict) -> str:
    """The members holding more than the set share of the clean orders or revenue, named (masked) with the
    figures with and without them, from the results (``dominant_members``); '' when there are none."""
    from .kpi import dominant_sentence as sentence
    return sentence(p, res.get("results", {}).get("dominant_members"), p.text("kpi.dominant_scope_clean"))
