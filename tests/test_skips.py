"""A report the run skipped says why in the page's language: the runner keeps the reason as a code and
values, the summary words it from the catalogue (the Chinese edition showed the run log's English)."""
import types

import pytest

from memberkit import month
from memberkit.month import ReportState
from memberkit.views import month as month_views
from memberkit.views.skips import skip_reason


@pytest.mark.parametrize("language,words,english", [
    ("zh", ["需要实验表", "数据清洗运行失败", "无法计算月度指标（InputError: x）", "所依赖的报告未运行"], "needs an"),
    ("en", ["needs a table of experiments", "failed, and this report reads its results",
            "month figures could not be computed (InputError: x)", "reports it reads from did not run"], "需要")])
def test_a_skipped_report_says_why_in_the_page_language(language, words, english):
    reasons = [{"code": "missing_tables", "tables": ["experiments"]},
               {"code": "dependency_failed", "report": "data_cleaning"},
               {"code": "month_figures", "error": "InputError: x"}, {"code": "dependencies_not_run"}]
    for reason, word in zip(reasons, words):
        assert word in skip_reason(reason, language)
    reports = [ReportState("ab_test", "skipped", None, "needs an experiments table; the source has none", None,
                           reasons[0])]
    s = month.MonthSummary("2026-10", language, "CNY", reports, None)
    message = month_views.report_cards(s)[0]["message"]
    assert words[0] in message and english not in message
    assert skip_reason({"code": "something new"}, language)


def test_the_runner_outcome_reaches_the_report_state_with_its_reason(tmp_path):
    outcome = types.SimpleNamespace(status="skipped", error="needs an experiments table; the source has none",
                                    cell=None, reason={"code": "missing_tables", "tables": ["experiments"]})
    state = month.report_states(tmp_path, ["ab_test"], {"ab_test": outcome}, "zh")[0]
    assert state.reason == {"code": "missing_tables", "tables": ["experiments"]}
    from memberkit.runner import Outcome
    assert Outcome("ab_test").reason == {}
