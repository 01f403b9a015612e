"""Why a report did not run, in the reader's language.

The runner records a skipped report's reason as a code and values (``Outcome.reason``:
``missing_tables``, ``dependency_failed``, ``month_figures``, ``dependencies_not_run``); the summary
page words it here through the catalogue (``month.skip_<code>``), so the Chinese edition does not
show the run log's English. The English line stays in the log and the manifest.
"""

from __future__ import annotations

from .context import Presentation, text


def skip_reason(reason: dict, language: str = "en") -> str:
    """A skipped report's reason (``{"code": ..., **values}``) as a clause in ``language``."""
    from .month import title_of
    p = Presentation(language)
    code = reason.get("code", "")
    values = {}
    if code == "missing_tables":
        values["tables"] = p.list_sep.join(p.code("tables", t) for t in reason.get("tables", []))
    elif code == "dependency_failed":
        values["report"] = title_of(reason.get("report", ""), language)
    elif code == "month_figures":
        values["error"] = reason.get("error", "")
    try:
        return text(f"month.skip_{code}", language, **values)
    except KeyError:
        return text("month.skip_unknown", language)
