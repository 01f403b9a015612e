import nbformat as nbf
nb = nbf.v4.new_notebook()
cells = []
md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell
cells.append(md("""# Data cleaning

*For analysts:* this notebook answers **how much of the delivered data can be trusted, what was set aside and why, and whether every row is accounted for**.
Press *Run All*; change a parameter in the next cell and run again. All computation is in `memberkit.clean`; the cells only call it and show the result."""))
cells[-1].metadata["tags"] = ["analyst-only"]
p = code("""# Parameters: run_reports.py passes these; change them here to explore.
period = None            # month to report as YYYY-MM; None means the last complete month in the data
outlier_policy = None    # flag, cap or exclude; None means the value in params/01_data_cleaning.yaml
outlier_multiple = None  # an order above this multiple of the median paid order is an outlier; None means config
language = None          # en or zh; None means the value in params/base.yaml
config_files = []        # YAML files layered over params/*.yaml, for example params/cdnow.yaml
overrides = []           # extra settings as key-value strings, as with run_reports.py -p
output_dir = None        # None means outputs/<period> in the project folder""")
p.metadata["tags"] = ["parameters"]
cells.append(p)
cells.append(code("""# Validate the parameters with the same models run_reports.py uses, then clean every table.
from memberkit import clean, periods, report, sources
from memberkit.config import redact
from memberkit.notebook import code_version, resolve

params, ctx = resolve("data_cleaning", config_files, overrides, output_dir, period=period,
                      outlier_policy=outlier_policy, outlier_multiple=outlier_multiple, language=language)
lang = params.language
report.apply_theme(lang)
result = clean.run_cleaning(params, ctx)
previous = report.load_results(ctx.output_dir.parent / periods.previous_period(ctx.period), "data_cleaning")
results = report.Results("data_cleaning", ctx.period, lang)
clean.record(result, results, lang, previous)"""))
cells.append(code("""# The answer first: what was read, kept and set aside, and the change against the previous run.
report.heading(f"{report.text('data_cleaning.title', lang)} · {ctx.period}", 1)
report.kpi_cards(clean.kpis(result, previous, lang))
report.headline(results.headline_text)"""))
cells.append(code("""# Where the rejected rows went: each table through each rule, in the order the rules apply.
fig = clean.plot_rule_waterfall(result, lang)
report.note(report.text("data_cleaning.waterfall_caption", lang))"""))
cells.append(code("""report.heading(report.text("data_cleaning.reasons_title", lang))
report.table(clean.rule_steps_frame(result, lang), formats={"rows": "{:,}", "share": "{:.2%}"})
report.note(report.text("data_cleaning.reasons_caption", lang))"""))
cells.append(code("""report.heading(report.text("data_cleaning.accounting_title", lang))
report.table(clean.accounting_frame(result, lang), formats="{:,}")
report.note(report.text("data_cleaning.accounting_caption", lang))"""))
cells.append(code("""# Identity merge, outliers, spellings and repaired dates, each in one sentence.
report.heading(report.text("data_cleaning.identity_title", lang))
report.note(report.text("data_cleaning.identity_text", lang, merged=f"{result.merged_members:,}",
                        people=f"{result.linked_people:,}"))
report.note(report.text("data_cleaning.outlier_text", lang, threshold=report.fmt_money(result.outlier_threshold, params.currency),
                        multiple=f"{params.outlier_multiple:g}", n=f"{result.outlier_orders:,}", policy=params.outlier_policy))
report.note(report.text("data_cleaning.text_text", lang, n=f"{sum(result.text_unified.values()):,}"))
report.note(report.text("data_cleaning.repaired_text", lang, n=f"{result.join_dates_repaired:,}"))"""))
cells.append(code("""report.heading(report.text("data_cleaning.quality_title", lang))
q = clean.quality_frame(result, lang)
report.table(q, formats={q.columns[2]: "{:,}", q.columns[3]: "{:.1%}", q.columns[4]: "{:,}", q.columns[5]: "{:,}"})
report.note(report.text("data_cleaning.quality_caption", lang))"""))
cells.append(code("""report.heading(report.text("data_cleaning.change_title", lang))
change = clean.change_frame(results.to_dict(), previous, lang)
if change is None:
    report.note(report.text("common.no_previous", lang))
else:
    report.table(change)"""))
cells.append(code("""# Record the results for the index page and other reports, then sign the page.
results.save(ctx.output_dir)
fingerprint = sources.combined_fingerprint(sources.input_fingerprints(params.source, ctx.root))
report.footer(lang, ctx.period, redact(params.model_dump(exclude={"source"})), fingerprint, code_version())"""))
nb.cells = cells
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (memberkit)", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
nbf.write(nb, "notebooks/01_data_cleaning.ipynb")
