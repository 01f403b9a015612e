"""The cleaning report's words and pictures: KPI cards, headline, rule waterfall, tables."""

from __future__ import annotations

import pandas as pd

from .. import clean
from .context import Presentation
from .page import KPI
from .theme import PALETTE


def rule_steps_frame(p: Presentation, result: clean.CleaningResult) -> pd.DataFrame:
    """One row per (table, rule) with the rows it set aside, rules in the order applied, then 'kept'."""
    rows = []
    for name, rep in result.tables.items():
        for step in rep.steps:
            if step["rows"]:
                rows.append({"table": p.text(f"tables.{name}"), "rule": p.text(f"reasons.{step['rule']}"),
                             "rows": step["rows"], "share": step["rows"] / rep.rows_in})
    frame = pd.DataFrame(rows, columns=["table", "rule", "rows", "share"])
    return frame.rename(columns={"table": p.text("common.table"), "rule": p.text("common.rule"),
                                 "rows": p.text("common.rows"), "share": p.text("common.share")})


def accounting_frame(p: Presentation, result: clean.CleaningResult) -> pd.DataFrame:
    return pd.DataFrame([{p.text("common.table"): p.text(f"tables.{n}"),
                          p.text("data_cleaning.rows_in"): r.rows_in,
                          p.text("data_cleaning.kept"): r.kept,
                          p.text("data_cleaning.rejected"): r.rejected} for n, r in result.tables.items()])


def plot_rule_waterfall(p: Presentation, result: clean.CleaningResult):
    """Per table, a horizontal bar: kept rows, then one segment per rule that set rows aside."""
    import matplotlib.pyplot as plt
    names = list(result.tables)
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(names) + 1.4))
    rules = [r for r, _ in clean.ORDER_RULES + clean.MEMBER_RULES + clean.LINK_RULES]
    rules = list(dict.fromkeys(rules))
    cmap = plt.get_cmap("tab20")
    colours = {r: cmap(i % 20) for i, r in enumerate(rules)}
    for y, name in enumerate(names):
        rep = result.tables[name]
        left = rep.kept / rep.rows_in if rep.rows_in else 0
        ax.barh(y, left, color=PALETTE[0], label=p.text("data_cleaning.kept") if y == 0 else None)
        for step in rep.steps:
            if step["rows"]:
                w = step["rows"] / rep.rows_in
                ax.barh(y, w, left=left, color=colours[step["rule"]], label=p.text(f"reasons.{step['rule']}"))
                left += w
        ax.text(1.005, y, f"{fmt_rows(rep.rejected)} / {fmt_rows(rep.rows_in)}", va="center", fontsize=9)
    ax.set_yticks(range(len(names)), [p.text(f"tables.{n}") for n in names])
    ax.set_xlim(min(0.9, min((r.kept / r.rows_in for r in result.tables.values() if r.rows_in), default=0.9) - 0.01), 1.0)
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, fontsize=8, frameon=False)
    ax.set_title(p.text("data_cleaning.waterfall_title"), loc="left")
    ax.invert_yaxis()
    return fig


def fmt_rows(n: int) -> str:
    return f"{n:,}"


def headline(p: Presentation, result: clean.CleaningResult) -> str:
    """One sentence from the numbers: how much is clean, the main reason for rejection, the merge."""
    by_reason: dict[str, int] = {}
    for rep in result.tables.values():
        for step in rep.steps:
            if step["rule"] != "merged_identity":
                by_reason[step["rule"]] = by_reason.get(step["rule"], 0) + step["rows"]
    top = max(by_reason, key=by_reason.get) if by_reason and max(by_reason.values()) > 0 else None
    if top is None:
        return p.text("data_cleaning.headline_clean", rows_in=p.count(result.rows_in),
                    merged=p.count(result.merged_members))
    return p.text("data_cleaning.headline", kept_share=p.pct(result.kept / result.rows_in),
                rows_in=p.count(result.rows_in), rejected=p.count(result.rejected),
                top_reason=p.text(f"reasons.{top}"), top_count=p.count(by_reason[top]),
                merged=p.count(result.merged_members))


def kpis(p: Presentation, result: clean.CleaningResult, previous: dict | None):
    """KPI cards with the change against the previous period's run when there is one."""
    values = clean.kpi_values(result)
    before = {k: v["value"] for k, v in (previous or {}).get("kpis", {}).items()}
    return [KPI(p.text(f"data_cleaning.{k}"), p.count(values[k]), p.delta(values[k], before.get(k)))
            for k in clean.KPI_KEYS]


def record(p: Presentation, result: clean.CleaningResult, results, previous: dict | None = None) -> None:
    """Fill a :class:`memberkit.report.Results` with this step's headline, KPIs and key results."""
    values = clean.kpi_values(result)
    before = {k: v["value"] for k, v in (previous or {}).get("kpis", {}).items()}
    results.title = p.text("data_cleaning.title")
    results.headline_text = headline(p, result)
    for k in clean.KPI_KEYS:
        results.kpi(k, values[k], p.text(f"data_cleaning.{k}"), p.count(values[k]),
                    p.delta(values[k], before.get(k)))
    results.key_results = clean.key_results(result)


def change_frame(p: Presentation, current: dict, previous: dict | None) -> pd.DataFrame | None:
    """KPIs of this run beside the previous period's run; None when there is no earlier run."""
    if not previous:
        return None
    rows = []
    for key, k in current["kpis"].items():
        before = previous.get("kpis", {}).get(key, {}).get("value")
        rows.append({"": k["label"], previous["period"]: before, current["period"]: k["value"],
                     "Δ": None if before is None else k["value"] - before})
    return pd.DataFrame(rows)


def quality_frame(p: Presentation, result: clean.CleaningResult) -> pd.DataFrame:
    q = result.quality.copy()
    q["table"] = q.table.map(lambda n: p.text(f"tables.{n}"))
    return q.rename(columns={"table": p.text("common.table"), "column": p.text("common.column"),
                             "rows": p.text("common.rows"),
                             "missing_share": p.text("data_cleaning.missing"),
                             "invalid": p.text("data_cleaning.invalid"),
                             "distinct": p.text("data_cleaning.distinct")})[
        [p.text("common.table"), p.text("common.column"), p.text("common.rows"),
         p.text("data_cleaning.missing"), p.text("data_cleaning.invalid"),
         p.text("data_cleaning.distinct")]]


def identity_sentence(p: Presentation, result: clean.CleaningResult) -> str:
    """How many account ids were merged into how many people, by which rule, and the shared phones left alone."""
    ident = result.identity or {}
    rules = p.list_sep.join(p.text("data_cleaning.identity_rule", rule=p.text(f"data_cleaning.rule_{r}"), n=p.count(n))
                            for r, n in ident.get("by_rule", {}).items())
    out = p.text("data_cleaning.identity_text", merged=p.count(ident.get("merged_ids", result.merged_members)),
                 people=p.count(ident.get("people", result.linked_people)), rules=rules or "–")
    if ident.get("shared_phones"):
        out += p.sentence_sep + p.text("data_cleaning.shared_phones_text", phones=p.count(ident["shared_phones"]),
                                       accounts=p.count(ident["shared_phone_accounts"]),
                                       max=p.count(ident["max_accounts_per_phone"]))
    return out


def treatment_notes(p: Presentation, result: clean.CleaningResult, params) -> list[str]:
    """One sentence each: the identity merge, the outliers and their policy, unified spellings, repaired dates."""
    return [identity_sentence(p, result),
            p.text("data_cleaning.outlier_text", threshold=p.money(result.outlier_threshold),
                   multiple=f"{params.outlier_multiple:g}", n=p.count(result.outlier_orders), policy=params.outlier_policy),
            p.text("data_cleaning.text_text", n=p.count(sum(result.text_unified.values()))),
            p.text("data_cleaning.repaired_text", n=p.count(result.join_dates_repaired))]
