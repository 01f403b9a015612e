import json

import pytest

from memberkit import periods
from memberkit.views import Presentation, context
from memberkit.views import clean as clean_view


def _keys(node, prefix=""):
    out = set()
    for k, v in node.items():
        out |= _keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
    return out


def test_every_english_text_has_a_chinese_edition():
    assert _keys(context._catalogue("en")) == _keys(context._catalogue("zh"))


def test_text_fills_values_and_falls_back_to_english():
    assert context.text("report_index.subtitle", "en", period="2026-10") == "Reports for 2026-10"
    assert context.text("report_index.subtitle", "zh", period="2026-10") == "2026-10 报告"
    with pytest.raises(KeyError):
        context.text("no.such.key")


def test_number_formats():
    p = Presentation("en", "CNY")
    assert p.count(1234567.4) == "1,234,567"
    assert p.pct(0.1234) == "12.3%"
    assert p.money(1234.5) == "CN¥1,234" and Presentation("zh", "CNY").money(1234.5) == "¥1,234"
    assert Presentation("en", "GBP").money(-330) == "-\u2060£330" and Presentation("zh", "GBP").money(330.25, 2) == "£330.25"
    assert p.delta(110, 100) == "+10 (+10.0%)" and p.delta(90, 100) == "-10 (-10.0%)"
    assert p.pp(0.25 - 0.2) == "+5.0 pp" and Presentation("zh").pp(-0.012) == "-1.2 个百分点"
    assert p.delta(5, None) == "" and p.count(float("nan")) == "–" and p.ratio(0.12119, 3) == "0.121"
    assert [p.significant(x) for x in (0.24259, 4.4136, 10.5776, 113.4, 12345.6, float("nan"))] == [
        "0.243", "4.41", "10.6", "113", "12,346", "–"]


@pytest.mark.parametrize("as_of,expected", [("2026-11-01", "2026-10"), ("2026-10-31", "2026-09"),
                                            ("2026-01-15", "2025-12"), ("1998-07-01", "1998-06"),
                                            ("2024-03-01", "2024-02")])
def test_default_period_is_the_last_calendar_month_ended_by_as_of(as_of, expected):
    """Extracted on 1 November with the last order on 30 October 23:00: October, not September."""
    import datetime as dt
    period, reason = periods.default_period(dt.date.fromisoformat(as_of))
    assert period == expected and expected in reason and as_of in reason


def test_without_as_of_today_is_read_on_the_shops_clock():
    """UTC+14 and UTC-12 are 26 hours apart: their calendar days always differ."""
    from pathlib import Path

    from memberkit.config import ReportSettings
    from memberkit.runfile import extraction_date
    def today(zone):
        settings = ReportSettings(time_zone=zone, source={"tables": {"orders": {"path": "orders.csv"}}})
        day, why = extraction_date(settings, Path("."))
        assert zone in why
        return day
    assert 1 <= (today("Pacific/Kiritimati") - today("Etc/GMT+12")).days <= 2


def test_period_arithmetic():
    assert periods.previous_period("2026-01") == "2025-12"
    assert periods.same_period_last_year("2026-03") == "2025-03"
    s, e = periods.period_bounds("2024-02")
    assert (str(s), str(e)) == ("2024-02-01", "2024-02-29")


def test_change_against_the_previous_run_is_hand_computable(tmp_path):
    from memberkit.notebook import Context, previous_results
    import datetime as dt
    import json
    # last month's file was written before results held numbers only: its words are read past
    published = {"period": "2026-09", "title": "Data cleaning", "language": "en", "headline": "h",
                 "kpis": {"rows_read": {"value": 90, "label": "Rows read", "display": "90", "delta": ""}}}
    (tmp_path / "2026-09").mkdir()
    (tmp_path / "2026-09" / "data_cleaning.json").write_text(json.dumps(published))
    ctx = Context("data_cleaning", tmp_path, "2026-10", tmp_path / "2026-10", dt.date(2026, 11, 1))
    prev = previous_results(ctx, "data_cleaning")
    assert prev == {"period": "2026-09", "kpis": {"rows_read": 90}}
    current = {"period": "2026-10", "kpis": {"rows_read": 100}}
    for language, expected in (("en", {"Figure": "Rows read (all tables)", "2026-09": "90", "2026-10": "100", "Change": "+10 (+11.1%)"}),
                               ("zh", {"指标": "读入行数（全部表）", "2026-09": "90", "2026-10": "100", "变化": "+10 (+11.1%)"})):
        frame = clean_view.change_frame(Presentation(language), current, prev)
        assert frame.to_dict(orient="records") == [expected]
    ctx_first = Context("data_cleaning", tmp_path, "2026-09", tmp_path / "2026-09", dt.date(2026, 11, 1))
    assert previous_results(ctx_first, "data_cleaning") is None
    assert clean_view.change_frame(Presentation(), current, None) is None


def _strict_loads(text):
    def refuse(word):
        raise ValueError(f"not JSON: {word}")
    return json.loads(text, parse_constant=refuse)


def test_results_with_missing_numbers_are_strict_json_with_nulls(tmp_path):
    import datetime as dt
    import numpy as np
    import pandas as pd
    from memberkit.report import Results, load_results
    nan, inf = float("nan"), float("inf")
    r = Results("campaign_review", "2026-10")
    r.kpi("net_gain", nan)
    r.key_results = {"roi": {"value": inf, "ci_low": -inf, "ci_high": np.float64("nan")},
                     "list": [1.5, nan, [inf, {"x": -inf}], (np.int64(3), np.nan)],
                     "when": dt.date(2026, 10, 31), "never": pd.NaT, "na": pd.NA, "ok": np.bool_(True),
                     "array": np.array([0.25, np.inf]), 7: "int key"}
    path = r.save(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    back = _strict_loads(text)
    assert back["kpis"] == {"net_gain": None}
    assert back["results"] == {"roi": {"value": None, "ci_low": None, "ci_high": None},
                               "list": [1.5, None, [None, {"x": None}], [3, None]],
                               "when": "2026-10-31", "never": None, "na": None, "ok": True,
                               "array": [0.25, None], "7": "int key"}
    assert load_results(tmp_path, "campaign_review") == back
    # a reader shows a null as a dash, not as a crash or the word None
    p = Presentation("en", "CNY")
    assert p.money(back["kpis"]["net_gain"]) == "–"
    assert p.signed_pct(back["results"]["roi"]["value"], 0) == "–"
    assert p.count(back["results"]["list"][1]) == "–"


def test_the_month_page_reads_nulls_in_results_as_dashes(tmp_path):
    from memberkit import month
    from memberkit.report import Results
    from memberkit.views import month as month_view
    r = Results("campaign_review", "2026-10")
    r.kpi("net_gain", float("nan"))
    r.key_results = {"campaigns": {"C1": {"rank": 1, "reviewed_in_period": True, "name": "Spring", "cost": float("nan"),
                                          "evidence": "holdout", "verdict": {"decision": "change", "reason": "no_cost"},
                                          "figures": {"roi": {"value": float("nan"), "ci_low": float("-inf"),
                                                              "ci_high": float("inf")}}}}}
    r.save(tmp_path)
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "campaign_review.html").write_text("<html></html>")
    s = month.collect(tmp_path, "2026-10", "en", "CNY", ["campaign_review"])
    happened = " ".join(month_view.happened(s))
    items = month_view.decision_items(s)
    assert len(items) == 1 and "None" not in items[0]["sentence"] and "nan" not in items[0]["sentence"]
    assert "None" not in happened and "nan" not in happened and "–" in happened, happened


ANALYSES = ["clean", "rfm", "clv", "abtest", "campaign", "kpi", "summary", "stats"]


@pytest.mark.parametrize("module", ANALYSES)
def test_an_analysis_imports_no_charting_library(module):
    """Analyses compute; words and pictures live in memberkit.views. A fresh interpreter proves it."""
    import subprocess
    import sys
    code = (f"import sys, memberkit.{module}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'seaborn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"memberkit.{module} imports {out.strip()}"


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("key,values", [
    ("ab.none", {"period": "2026-10", "example": "EXP-PUSH"}),
    ("cr.none", {"period": "2026-10", "example": "C2610"}),
    ("rfm.tier_currency_warning", {"tier_currency": "CNY", "currency": "GBP"}),
])
def test_every_hint_on_a_page_is_a_command_that_works_when_pasted(key, values, language, small_config, tmp_path):
    """The command a page suggests, pasted into a shell in the project folder, passes every check of
    the run (here with the sample's config added, as a shop would add its own)."""
    import re
    import shlex

    from memberkit import runner
    # the page's sentence speaks plain words; the command stands in the note for analysts under it
    hint_key = {"ab.none": "ab.none_hint", "cr.none": "cr.none_hint",
                "rfm.tier_currency_warning": "rfm.tier_currency_hint"}[key]
    hint = context.text(hint_key, language, **values)
    found = re.search(r"python run_reports\.py((?: (?:--period \S+|-p '[^']*'|-p [^\s'，。）]+))+)", hint)
    assert found, hint
    args = runner.build_parser().parse_args(shlex.split(found.group(1)) + ["--config", str(small_config)])
    run = runner.check_run(args.period, args.config, args.only, str(tmp_path / "out"), args.overrides)
    if "period" in values:
        assert run.period == values["period"]
    chosen = {"ab.none": ("ab_test", "experiments", [values.get("example")]),
              "cr.none": ("campaign_review", "campaigns", [values.get("example")]),
              "rfm.tier_currency_warning": ("rfm_segmentation", "tier_currency", values.get("currency"))}[key]
    assert getattr(run.params[chosen[0]], chosen[1]) == chosen[2]     # the pasted setting took effect
