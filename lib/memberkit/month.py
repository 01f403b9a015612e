"""The month on one page: the key figures over 13 months, and what every report concluded.

Two kinds of input, both read from the period's output folder:

- the figures: member revenue, active members and the five key figures for the 13 months
  ending with the period (:func:`memberkit.kpi.month_figures`, engine queries over the clean
  orders), computed once and written to ``month.json`` with a stamp (the cleaning stamp,
  the active window and the code version); a later build with the same stamp reads the file;
- the reports: each report's ``<name>.json`` (KPI values and key results: numbers and codes) and its status.

From these, :func:`collect` builds a :class:`MonthSummary`: plain data that the summary page
(:mod:`memberkit.views.month`) and the index across months show. Nothing here makes HTML or
words; a page built after ``run_reports.py --only X`` shows X's new results and every other
report's results as they are on disk.

Example
-------
>>> months = ["2025-10", "2025-11", "2025-12"] + [f"2026-{m:02d}" for m in range(1, 11)]
>>> f = {"months": months, "figures": {"repurchase_rate": [0.2] + [0.25] * 10 + [0.3, 0.33]}}
>>> compare(f, "repurchase_rate")
{'current': 0.33, 'previous': 0.3, 'year_ago': 0.2}
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .periods import previous_period, same_period_last_year
from .store import FIGURES_FILE, MONTHS  # noqa: F401 - the names the summary's readers know


# ------------------------------------------------------------------ the figures (computed once, by the runner)
def compute_figures(tables: dict, period: str, active_window_days: int = 90, months: int = MONTHS) -> dict:
    """The figures of the summary page as plain JSON data.

    Parameters
    ----------
    tables : the clean engine tables (``orders`` and ``members`` are used)
    period : ``YYYY-MM``, the last month of the trend

    Returns
    -------
    ``{"period", "months": [13 x "YYYY-MM", oldest first], "figures": {name: [13 values]},
    "active_window_days", "attribution", "bulk_orders"}``; rates are fractions, ``member_revenue`` is in the data's
    currency, ``active_members`` a count; a month without data has ``null`` rates.
    ``attribution``: each figure's change against the previous month and the same month a year
    earlier split into drivers, groups and (member revenue) member flows
    (:func:`memberkit.attribution.month_attribution`; null where a figure is unknown).
    ``bulk_orders``: the members' orders flagged as bulk purchases per month, which member revenue
    and the average order value include (:func:`memberkit.summary.flagged_by_month`).
    """
    from . import attribution, kpi
    from .summary import flagged_by_month
    frame = kpi.month_figures(tables["orders"], tables["members"], period, months, active_window_days)
    figures = {k: [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                   for v in frame[k].tolist()] for k in frame.columns}
    why = attribution.month_attribution(tables["orders"], tables["members"], period, figures, list(frame.index),
                                        active_window_days)
    return {"period": period, "months": list(frame.index), "figures": figures,
            "active_window_days": active_window_days, "attribution": why,
            "bulk_orders": flagged_by_month(tables["orders"], list(frame.index))}


def produce_figures(store, con=None) -> dict:
    """Compute the month figures of ``store``'s period from its clean tables and write ``month.json``.

    The runner's step right after the cleaning (and :func:`memberkit.store.prepare`'s for an
    analyst); the RFM report's cards and trend and the summary page read the file through the
    store. The active window and the number of months come from the run (the RFM report's
    ``active_window_days``; 13 months, or its ``trend_months`` when more). The file holds the
    figures and their stamp, no time of day, so a rerun on the same data writes the same bytes.
    Returns what was written.
    """
    from .store import figures_months, figures_window, write_month_figures
    con, tables = store.clean_tables(con)
    figures = compute_figures(tables, store.run.period, figures_window(store.run), figures_months(store.run))
    write_month_figures(store.folder, store.run, figures)
    return store.month_figures()


def compare(figures: dict, name: str) -> dict:
    """This month, the previous month and the same month a year earlier of one figure (None when absent)."""
    months, values = figures["months"], figures["figures"][name]
    at = dict(zip(months, values))
    period = months[-1]
    return {"current": at.get(period), "previous": at.get(previous_period(period)),
            "year_ago": at.get(same_period_last_year(period))}


# ------------------------------------------------------------------ what the reports concluded
@dataclass
class ReportState:
    """One report of the period as it is on disk: ``ok``, ``failed``, ``skipped`` or ``not_run``."""
    name: str
    status: str
    results: dict | None = None
    error: str = ""
    cell: int | None = None
    reason: dict = field(default_factory=dict)   # a skipped report's reason as a code and values (views.skips)


@dataclass
class Decision:
    """Something that needs someone: ``kind`` (campaign, experiment, at_risk), the action and its figures."""
    kind: str
    action: str
    subject: str
    values: dict = field(default_factory=dict)
    link: str = ""


@dataclass
class MonthSummary:
    period: str
    language: str
    currency: str
    reports: list[ReportState]
    figures: dict | None             # compute_figures' dict, None when it could not be computed
    figures_error: str = ""
    decisions: list[Decision] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    as_of: _dt.date | None = None    # the extraction date, to say when the month was still open then
    campaign_types: list = field(default_factory=list)   # campaign_types(): which kinds of campaign paid
    ledger: dict | None = None       # ledger.json: what became of the previous month's decisions (memberkit.ledger)
    display_names: dict = field(default_factory=dict)   # the setting display_names: the shop's own names of its values

    def report(self, name: str) -> ReportState | None:
        return next((r for r in self.reports if r.name == name), None)

    def results(self, name: str) -> dict | None:
        r = self.report(name)
        return r.results if r and r.status == "ok" else None


def report_states(out: Path, names, outcomes: dict | None = None, language: str = "en") -> list[ReportState]:
    """The status of every report of the period: this run's outcome, else what is on disk.

    On disk a report is ``ok`` when both its page in ``language`` (``<out>/<language>/<name>.html``)
    and its results JSON (``<out>/<name>.json``) are there, ``failed`` when its executed copy was
    kept as ``<out>/<language>/<name>.failed.ipynb`` (the error from the manifest), else ``not_run``.
    ``outcomes`` maps a name to an object with ``status``, ``error``, ``cell``.
    """
    from .report import load_results
    manifest = _read_json(out / "manifest.json") or {}
    recorded = manifest.get("reports", {})
    states = []
    for name in names:
        o = (outcomes or {}).get(name)
        reason = {}
        if o is not None:
            status, error, cell, reason = o.status, o.error, o.cell, getattr(o, "reason", None) or {}
        elif (out / language / f"{name}.html").is_file() and (out / f"{name}.json").is_file():
            status, error, cell = "ok", "", None
        elif (out / language / f"{name}.failed.ipynb").is_file():
            status = "failed"
            error, cell = recorded.get(name, {}).get("error", ""), recorded.get(name, {}).get("cell")
        else:
            status, error, cell = "not_run", "", None
        results = load_results(out, name) if status == "ok" else None
        if status == "ok" and results is None:
            status = "not_run"
        states.append(ReportState(name, status, results, error or "", cell, reason))
    return states


def decisions(reports: list[ReportState], out_dir: Path | None = None) -> list[Decision]:
    """The decisions waiting for someone, from the reports' results, in :data:`memberkit.reports.DECISIONS_ORDER`: each report
    that proposes decisions has a ``decisions`` function next to its analysis
    (:data:`memberkit.reports.REPORTS`), given its results and the period's folder."""
    from .reports import DECISIONS_ORDER, REPORTS, resolve
    by = {r.name: r.results for r in reports if r.status == "ok" and r.results}
    out = []
    for entry in sorted(REPORTS, key=lambda r: DECISIONS_ORDER.index(r.name) if r.name in DECISIONS_ORDER else len(REPORTS)):
        if entry.decisions and by.get(entry.name):
            out += [Decision(**d) for d in resolve(entry.decisions)(by[entry.name], out_dir)]
    return out


def member_counts(reports: list[ReportState]) -> dict:
    """The member counts each report works with (None where the report is not there).

    ``members_kept`` (cleaning: members after the identity merge), ``members_joined`` (RFM: joined
    or bought by the end of the period, each with a tier), ``buyers_in_window`` (RFM: a purchase
    in its window, segmented), ``migration_members`` (segmented at the end of this and of the
    previous period), ``valued`` (CLV: at least one purchase by the end of its data).
    """
    by = {r.name: r.results for r in reports if r.status == "ok" and r.results}
    cleaning = (by.get("data_cleaning") or {}).get("results", {})
    rfm = (by.get("rfm_segmentation") or {})
    clv = (by.get("clv_forecast") or {}).get("results", {})
    members_table = (cleaning.get("tables") or {}).get("members") or {}
    return {"members_kept": members_table.get("kept"),
            "members_joined": rfm.get("results", {}).get("members_with_tier"),
            "buyers_in_window": rfm.get("kpis", {}).get("members_segmented"),
            "window_days": rfm.get("results", {}).get("window_days"),
            "migration_members": rfm.get("results", {}).get("migration_members"),
            "valued": (clv.get("totals") or {}).get("members"),
            "valued_until": (clv.get("totals") or {}).get("observation_end")}


def campaign_types(reports: list[ReportState]) -> list[dict]:
    """Which campaign types paid, from the campaign league in ``campaign_review.json`` (every campaign
    of the league: the period's and the recent ones), one dict per type code: ``type``, ``campaigns``
    (count), ``paid`` (campaigns whose verdict reason is ``pays``: a return on cost above zero at the low
    end of its interval), ``cost``, ``incremental_margin`` and ``net_gain`` (sums of the campaigns' point
    estimates in the shop's currency; None when a campaign of the type has no cost or margin), ``roi``
    (net_gain / cost). Sorted by net gain, best first (None last; type code breaks ties); [] without the
    report's results."""
    by = {r.name: r.results for r in reports if r.status == "ok" and r.results}
    campaigns = ((by.get("campaign_review") or {}).get("results") or {}).get("campaigns") or {}
    types: dict[str, dict] = {}
    for c in campaigns.values():
        t = types.setdefault(c.get("type") or "", {"type": c.get("type") or "", "campaigns": 0, "paid": 0,
                                                   "cost": 0.0, "incremental_margin": 0.0})
        t["campaigns"] += 1
        t["paid"] += int((c.get("verdict") or {}).get("reason") == "pays")
        margin = ((c.get("figures") or {}).get("incremental_margin") or {})
        margin = margin.get("value") if isinstance(margin, dict) else margin
        for key, value in (("cost", c.get("cost")), ("incremental_margin", margin)):
            ok = t[key] is not None and value is not None and math.isfinite(value)
            t[key] = t[key] + value if ok else None
    out = []
    for t in types.values():
        known = t["cost"] is not None and t["incremental_margin"] is not None
        t["net_gain"] = t["incremental_margin"] - t["cost"] if known else None
        t["roi"] = t["net_gain"] / t["cost"] if known and t["cost"] > 0 else None
        out.append(t)
    return sorted(out, key=lambda t: (t["net_gain"] is None, -(t["net_gain"] or 0), t["type"]))


def collect(out: Path, period: str, language: str, currency: str, names, outcomes: dict | None = None,
            figures: dict | None = None, figures_error: str = "", as_of: _dt.date | None = None,
            display_names: dict | None = None) -> MonthSummary:
    """Everything the summary page shows: the reports as on the period's folder (and this run's outcomes).

    ``figures`` is :func:`month_figures`' result, or None with ``figures_error`` saying why; ``as_of``
    the run's extraction date; ``display_names`` the setting of that name (the shop's own names of its values).
    """
    from .store import LEDGER_FILE
    reports = report_states(out, names, outcomes, language)
    return MonthSummary(period, language, currency, reports, figures, figures_error,
                        decisions(reports, out), member_counts(reports), as_of, campaign_types(reports),
                        _read_json(out / LEDGER_FILE), display_names or {})


def periods_on_disk(root: Path, language: str = "en") -> list[str]:
    """The periods with a summary in ``language`` in ``root`` (``YYYY-MM`` folders holding
    ``<language>/index.html``), oldest first."""
    found = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if d.is_dir() and _is_period(d.name) and (d / language / "index.html").is_file():
            found.append(d.name)
    return found


def _is_period(name: str) -> bool:
    try:
        return len(name) == 7 and _dt.datetime.strptime(name, "%Y-%m") is not None
    except ValueError:
        return False


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
