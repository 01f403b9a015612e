"""The run's front page: one card per report with its headline, first KPI cards and a link, or why it failed."""

from __future__ import annotations

from .context import Presentation
from .page import CSS, KPI, embed_fonts, escape, html_lang, kpi_cards_html


def _card(p: Presentation, outcome, res: dict | None) -> str:
    title = escape(res["title"] if res else outcome.name.replace("_", " ").capitalize())
    if outcome.status == "ok" and res:
        kpis = [KPI(k["label"], k["display"], k.get("delta", "")) for k in list(res["kpis"].values())[:4]]
        body = (f'<div class="mk-headline">{escape(res["headline"])}</div>{kpi_cards_html(kpis)}'
                f'<a href="{escape(outcome.name)}.html">{escape(p.text("report_index.open"))} →</a>')
        body += "".join(f'<div class="mk-note mk-warning">{escape(w)}</div>' for w in outcome.warnings)
    elif outcome.status == "failed":
        body = (f'<div class="mk-banner">{escape(p.text("report_index.failed"))}: '
                f'{escape(p.text("report_index.failed_at", cell=outcome.cell, error=outcome.error))}</div>')
    else:
        body = (f'<div class="mk-banner" style="background:#8c8c8c">{escape(p.text("report_index.skipped"))}: '
                f'{escape(outcome.error)}</div>')
    return f'<section class="mk-report"><h2>{title}</h2>{body}</section>'


def index_page(language: str, period: str, outcomes: list, results: dict[str, dict | None]) -> str:
    """The whole ``index.html``: ``outcomes`` are the runner's (name, status, cell, error, warnings),
    ``results`` each report's ``<name>.json`` (None when it did not run). Every text is escaped here."""
    p = Presentation(language)
    cards = "".join(_card(p, o, results.get(o.name)) for o in outcomes)
    title = escape(p.text("report_index.title"))
    page = f"""<!DOCTYPE html>
<html lang="{html_lang(language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} · {escape(period)}</title>
<style>body{{font-family:"Noto Sans SC","Segoe UI","Helvetica Neue",Arial,sans-serif;max-width:1000px;margin:24px auto;color:#1f2d3d;padding:0 16px}}
.mk-report{{border:1px solid #d9dee5;border-radius:10px;padding:4px 18px 14px;margin:16px 0}} a{{color:#1f4e79}}
.mk-warning{{color:#8a5300}}</style>
{CSS}</head><body>
<h1>{title}</h1>
<p>{escape(p.text("report_index.subtitle", period=period))}</p>
{cards}
</body></html>"""
    return embed_fonts(page)
