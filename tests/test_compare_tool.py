"""tools/compare_results.py: the comparison of results files and pages, on hand-made documents
(no report run)."""
import importlib.util
import json
import math
import sys

import pytest

from .conftest import ROOT

_spec = importlib.util.spec_from_file_location("compare_results", ROOT / "tools" / "compare_results.py")
compare = sys.modules.setdefault("compare_results", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(compare)

RESULTS = {
    "name": "rfm_segmentation", "title": "Who our members are", "period": "2026-10", "language": "en",
    "headline": "Important value members are 19.1% of the buyers.",
    "kpis": {"churn_rate": {"value": 0.2196, "label": "Churn rate", "display": "22.0%",
                            "delta": "+1.5 pp vs previous month"}},
    "results": {"segments": [{"members": 245, "revenue": 456377.66}, {"members": 51, "revenue": 85929.98}],
                "verdict": {"decision": "ship", "variant": None},
                "tables": {"orders": {"steps": [{"rule": "duplicate", "description": "exact copy", "rows": 3}]}}},
}

PAGE = """<html><head><title>Who our members are · 2026-10</title><style>.a{width:12px}</style>
<script>var n = 99;</script></head><body><h1>Who our members are</h1>
<p>Members <b>1,281</b> churn 22.0% (+1.5 pp); campaign C2610 margin -CN¥334.</p>
<img src="data:image/png;base64,iVBORw0KGgo123">
<div class="mk-footer"><b>Generated</b>: 2026-12-05 07:52<br><b>Data fingerprint</b>: 04c62d060248a268<br>
<b>Code version</b>: 0.1.0+cbda75e</div></body></html>"""


def changed(document, path, value):
    """A deep copy of ``document`` with the leaf at ``path`` (a list of keys) set to ``value``, or removed."""
    copy = json.loads(json.dumps(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if value is KeyError:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


@pytest.mark.parametrize("a, b, differ", [
    (1.0, 1.0, False), (1.0, 1.0 + 5e-10, False), (1.0, 1.0 + 2e-9, True),
    (0.0, 5e-10, False), (0.0, 2e-9, True),                       # near zero the tolerance is absolute
    (1e6, 1e6 * (1 + 5e-10), False), (1e6, 1e6 * (1 + 2e-9), True),   # and relative for large values
    (3, 3.0, False), (float("nan"), float("nan"), False), (float("nan"), 1.0, True),
    (math.inf, math.inf, False), (math.inf, -math.inf, True),
])
def test_tolerance(a, b, differ):
    assert compare.numbers_differ(a, b) is differ


def test_flatten_names_every_leaf_by_key_path():
    leaves = compare.flatten(RESULTS)
    assert leaves["kpis.churn_rate.value"] == 0.2196
    assert leaves["results.segments[1].revenue"] == 85929.98
    assert leaves["results.tables.orders.steps[0].description"] == "exact copy"
    assert compare.flatten({"a": [], "b": {}}) == {"a": []}


def test_identical_documents_have_no_difference():
    result = compare.compare_documents(RESULTS, json.loads(json.dumps(RESULTS)))
    assert result.count == 0
    assert result.numbers == 6 and result.excepted == 7


def test_one_changed_number_is_found_by_its_path():
    result = compare.compare_documents(RESULTS, changed(RESULTS, ["results", "segments", 1, "revenue"], 85929.99))
    assert result.differences == [("results.segments[1].revenue", 85929.98, 85929.99)]
    assert result.count == 1


def test_removed_display_fields_are_not_differences():
    head = json.loads(json.dumps(RESULTS))
    for key in ("title", "headline", "language"):
        del head[key]
    head["kpis"]["churn_rate"] = {"value": 0.2196}
    del head["results"]["tables"]["orders"]["steps"][0]["description"]
    assert compare.compare_documents(RESULTS, head).count == 0


def test_a_removed_or_added_result_is_listed():
    gone = compare.compare_documents(RESULTS, changed(RESULTS, ["kpis", "churn_rate", "value"], KeyError))
    assert gone.only_base == ["kpis.churn_rate"] and gone.count == 1
    extra = changed(RESULTS, ["results", "segments", 0, "share"], 0.19)
    assert compare.compare_documents(RESULTS, extra).only_head == ["results.segments[0].share"]


@pytest.mark.parametrize("path, value", [
    (["results", "segments", 0, "members"], None),          # a number that became null
    (["results", "segments", 0, "members"], "245"),         # or a string
    (["results", "verdict", "decision"], "stop"),           # a changed decision
    (["results", "verdict", "variant"], "push"),
    (["period"], "2026-09"),
])
def test_other_leaves_must_be_equal(path, value):
    assert compare.compare_documents(RESULTS, changed(RESULTS, path, value)).count == 1


def test_visible_text_leaves_out_scripts_styles_images_and_the_run_stamp():
    text = compare.visible_text(PAGE)
    assert "var n" not in text and "width" not in text and "iVBOR" not in text
    assert "2026-12-05" not in text and "04c62d06" not in text and "cbda75e" not in text
    assert "1,281" in text and "2026-10" in text


def test_number_tokens_read_signs_and_skip_identifiers():
    tokens = compare.number_tokens("2026-10: -CN¥334, +1.5 pp, 22.0%, C2610, −4 and 1,281.")
    assert [m["sign"] + m["digits"] for m in tokens] == ["2026", "10", "-334", "+1.5", "22.0%", "−4", "1,281"]
    # a sign held to its currency sign by a word joiner (the pages' money format) is still the sign
    assert [m["sign"] + m["digits"] for m in compare.number_tokens("-\u2060CN¥334 and +\u2060CN¥5")] == ["-334", "+5"]


def test_pages_with_the_same_numbers_agree_whatever_the_wording_and_stamp():
    head = (PAGE.replace("Members", "People").replace("07:52", "08:15").replace("cbda75e", "1234567")
            .replace("04c62d060248a268", "ffffffffffffffff"))
    result = compare.compare_pages(PAGE, head)
    assert result.agree and result.base_numbers == result.head_numbers == 6


@pytest.mark.parametrize("old, new, shown, nearby", [
    ("<b>1,281</b>", "<b>1,282</b>", "['1,281'] -> ['1,282']", "Members 1,281 churn"),
    ("-CN¥334", "CN¥334", "['-334'] -> ['334']", "margin -CN¥334"),
    ("(+1.5 pp)", "", "delete ['+1.5'] -> []", "churn 22.0%"),
])
def test_a_changed_number_on_a_page_is_shown_in_context(old, new, shown, nearby):
    result = compare.compare_pages(PAGE, PAGE.replace(old, new))
    assert not result.agree and result.blocks == 1
    assert shown in result.differences[0] and nearby in result.differences[0]


def test_compare_two_output_folders(tmp_path, capsys):
    base, head = tmp_path / "base", tmp_path / "head"
    for folder in (base, head):
        folder.mkdir()
        (folder / "rfm_segmentation.json").write_text(json.dumps(RESULTS), encoding="utf-8")
        (folder / "en").mkdir()
        (folder / "en" / "rfm_segmentation.html").write_text(PAGE, encoding="utf-8")
        (folder / "manifest.json").write_text(json.dumps({"started": str(folder)}), encoding="utf-8")
    assert compare.main(["--outputs", str(base), str(head)]) == 0
    assert "No differences" in capsys.readouterr().out

    (head / "rfm_segmentation.json").write_text(
        json.dumps(changed(RESULTS, ["kpis", "churn_rate", "value"], 0.2197)), encoding="utf-8")
    (head / "month.json").write_text("{}", encoding="utf-8")
    report_file = tmp_path / "report.md"
    assert compare.main(["--outputs", str(base), str(head), "--report", str(report_file)]) == 1
    report = report_file.read_text(encoding="utf-8")
    assert "2 difference(s)" in report
    assert "`kpis.churn_rate`: base 0.2196, head 0.2197" in report
    assert "month.json: head only" in report


def test_a_folder_without_results_cannot_pass(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert compare.main(["--outputs", str(tmp_path / "empty"), str(tmp_path / "missing")]) == 2
    assert "holds no results file" in capsys.readouterr().err


def test_a_kpi_written_as_its_value_lines_up_with_the_old_kpi_record():
    old = {"kpis": {"churn_rate": {"value": 0.2196, "label": "Churn", "display": "22.0%", "delta": ""}}}
    assert compare.compare_documents(old, {"kpis": {"churn_rate": 0.2196}}).count == 0
    assert compare.compare_documents(old, {"kpis": {"churn_rate": 0.2197}}).differences == [("kpis.churn_rate", 0.2196, 0.2197)]
