"""Notebooks run as analysts and the scheduler run them; the rendered pages are safe to send."""
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from memberkit import runner

from .conftest import ROOT, read_json

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


@pytest.mark.slow
def test_cleaning_notebook_runs_with_its_default_parameters(small_config, tmp_path):
    import papermill as pm
    out = tmp_path / "nb.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "01_data_cleaning.ipynb"), str(out), cwd=str(ROOT / "notebooks"),
                        parameters={"config_files": [str(small_config)], "output_dir": str(tmp_path / "o")},
                        progress_bar=False, kernel_name=runner.kernel_name())
    res = read_json(tmp_path / "o" / "data_cleaning.json")
    assert res["kpis"]["rows_read"] > 0 and "headline" not in res


@pytest.mark.slow
def test_rfm_notebook_runs_on_its_own_and_prepares_what_it_reads(small_config, tmp_path):
    """An analyst opening the RFM notebook without running the cleaning one still gets a report: its first
    cells produce the clean tables and the month figures and say so; the CLV notebook opened next in the same
    folder reads the member table the RFM notebook wrote and produces nothing."""
    import papermill as pm

    def run(notebook, **parameters):
        out = tmp_path / f"{notebook}.ipynb"
        pm.execute_notebook(str(ROOT / "notebooks" / notebook), str(out), cwd=str(ROOT / "notebooks"),
                            parameters={"config_files": [str(small_config)], "output_dir": str(tmp_path / "o"),
                                        "period": "2026-09", **parameters},
                            progress_bar=False, kernel_name=runner.kernel_name())
        nb = nbformat.read(out, as_version=4)
        return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                       if o.get("name") == "stderr")

    said = run("02_rfm_segmentation.ipynb", split="median")
    assert "the cleaned tables for 2026-09 were not there yet, so this notebook prepared them itself (" in said, said
    assert "the month figures for 2026-09 were not there yet, so this notebook prepared them itself (" in said, said
    res = read_json(tmp_path / "o" / "rfm_segmentation.json")
    assert res["period"] == "2026-09" and (tmp_path / "o" / "data" / "clean" / "_stamp.json").is_file()
    counts = {k: v["members"] for k, v in res["results"]["segments"]["high_low"].items()}
    assert sum(counts.values()) == res["kpis"]["members_segmented"] > 0
    assert sum(v["members"] for v in res["results"]["segments"]["score_grid"].values()) == sum(counts.values())
    members = pd.read_parquet(tmp_path / "o" / "data" / "members.parquet")
    assert members.segment.notna().sum() == sum(counts.values())
    said = run("03_clv_forecast.ipynb", overrides=["notebooks.rfm_segmentation.split=median"])
    # what the RFM notebook wrote is read, not made again; only the ledger, which no notebook before wrote, is prepared
    assert [line for line in said.splitlines() if "so this notebook prepared" in line and not line.startswith("the ledger")] == [], said
    assert read_json(tmp_path / "o" / "clv_forecast.json")["results"]["totals"]["members"] > 0


@pytest.mark.slow
def test_run_reports_end_to_end(e2e):
    proc, out, (_, truth) = e2e
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"):
        assert f"done     {name}" in proc.stdout, proc.stdout
    assert "  WARNING  " not in proc.stdout, proc.stdout      # e.g. characters the chart fonts lack
    cleaning_page = (out / "en" / "data_cleaning.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in cleaning_page and "<title>Data cleaning · 2026-10</title>" in cleaning_page
    assert "Period 2026-10: 2026-10 is the last calendar month that ended on or before" in proc.stdout
    assert not list(out.rglob("*.ipynb")), "executed notebooks (member-level rows) are not kept"
    assert not list(out.parent.glob(f".{out.name}.partial-*")), "the staging folder is removed"
    for name in ["en/index.html", "manifest.json", "en/data_cleaning.html", "data_cleaning.json",
                 "data/clean/orders.parquet", "data/rejected/orders.parquet", "en/rfm_segmentation.html",
                 "rfm_segmentation.json", "data/rfm_important_value.csv", "en/clv_forecast.html", "clv_forecast.json",
                 "data/clv_members.csv", "en/ab_test.html", "ab_test.json", "en/campaign_review.html",
                 "campaign_review.json", "en/index.pdf", "en/campaign_review.pdf"]:
        assert (out / name).is_file(), name
    # The only CSVs are the CRM lists (member id, scores, forecasts); staged raw exports with phones must not stay.
    from memberkit import clv, rfm, uplift
    for path in out.rglob("*.csv"):
        assert path.parent == out / "data" and (path.name.startswith("rfm_") or path.name in (
            "clv_members.csv", clv.AT_RISK_FILE, uplift.TARGET_FILE, uplift.HOLDOUT_FILE)), path
        values = clv.value_column_names(12, "CNY")
        expected = ([rfm.list_column_names(365, "CNY").get(c, c) for c in rfm.EXPORT_COLUMNS] if path.name.startswith("rfm_") else
                    [values.get(c, c) for c in clv.WINBACK_COLUMNS] if path.name == clv.AT_RISK_FILE else
                    uplift.target_file_columns("CNY") if path.name in (uplift.TARGET_FILE, uplift.HOLDOUT_FILE) else clv.member_file_columns("week", 12, "CNY"))
        assert list(pd.read_csv(path, encoding="utf-8-sig", nrows=1).columns) == expected
    ab = read_json(out / "ab_test.json")["results"]["experiments"]
    assert set(ab) == {"EXP-PUSH", "EXP-COUPON", "EXP-BANNER"} and ab["EXP-BANNER"]["srm_p_value"] > 0
    assert set(ab["EXP-COUPON"]["metrics"]["conversion"]) == {"coupon_10", "coupon_20"}
    cr = read_json(out / "campaign_review.json")["results"]
    assert cr["reviewed"] == ["C2610"] and "C2511" in cr["campaigns"]     # the period's campaign, ranked with earlier ones
    res = read_json(out / "clv_forecast.json")["results"]
    assert res["chosen_model"] in res["holdout"]["errors"] and "gamma_gamma" in res["final_parameters"]
    assert set(res["holdout"]["errors"]) == {"bgnbd", "modified_bgnbd", "pareto_nbd"}
    manifest = read_json(out / "manifest.json")
    assert manifest["period"] == "2026-10"  # the sample ends 2026-10-31: the last complete month
    assert manifest["reports"]["data_cleaning"]["status"] == "ok"
    assert set(manifest["inputs"]) == {"members", "orders", "campaigns", "campaign_members", "experiments"}
    assert manifest["packages"]["pandas"] and manifest["code_version"]
    assert manifest["parameters"]["notebooks"]["data_cleaning"]["outlier_policy"] == "cap"
    at_risk = pd.read_csv(out / "data" / clv.AT_RISK_FILE, encoding="utf-8-sig")
    value = at_risk[clv.value_column_names(12, "CNY")["clv"]]       # ranked by expected value: worth contacting first
    spend = at_risk[clv.value_column_names(12, "CNY")["spend_to_date"]]
    assert len(at_risk) == res["totals"]["high_value_at_risk"] and value.is_monotonic_decreasing
    assert spend.sum() == pytest.approx(res["totals"]["high_value_at_risk_past_revenue"], abs=0.01 * len(at_risk))
    # the month on one page: key figures computed once with their stamp, a card and a link per report
    figures = read_json(out / "month.json")
    assert figures["period"] == "2026-10" and len(figures["months"]) == 13 and figures["stamp"]["clean"]
    rfm_figures = read_json(out / "rfm_segmentation.json")["results"]["key_figures"]
    for key, values in rfm_figures.items():   # the same numbers as the RFM report's
        assert figures["figures"][key][-1] == pytest.approx(values["current"], nan_ok=True)
        assert figures["figures"][key][0] == pytest.approx(values["year_ago"], nan_ok=True)
    assert not list(out.glob("*.html")) and not list(out.glob("*.pdf")) and not (out / "zh").exists()
    index = (out / "en" / "index.html").read_text(encoding="utf-8")
    assert index.count('class="mk-figure" data-card=') == 7 and 'id="mk-warning"' not in index
    for name in ("data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"):
        assert f'href="{name}.html"' in index
        assert 'href="index.html"' in (out / "en" / f"{name}.html").read_text(encoding="utf-8")   # back to the summary
    assert "Who is counted where" in index and "Member counts cannot be reconciled" not in index
    assert f'href="../{out.name}/en/index.html"' in (out.parent / "en" / "index.html").read_text(encoding="utf-8")
    assert f'href="../data/{clv.AT_RISK_FILE}"' in index          # the list is the period's, beside en/
    kept = pd.read_parquet(out / "data" / "clean" / "orders.parquet")
    assert kept.amount.max() <= read_json(out / "data_cleaning.json")["results"]["outlier_threshold"] + 1e-6
    # each result built once: the month figures once, the member table at the period's end once (by the RFM
    # report; CLV read it), no report building a table at one date twice
    built = [json.loads(line) for line in (out.parent / "calls.jsonl").read_text().splitlines()]
    assert [b["months"] for b in built if b["what"] == "month_figures"] == [13]
    assert len([b for b in built if b["what"] == "input_fingerprints"]) == 1       # the exports hashed once
    tables = [b for b in built if b["what"] == "member_table"]
    assert [b["end"] for b in tables].count("2026-10-31") == 1
    per_report = [(b["pid"], b["end"], json.dumps(b["tier_thresholds"], sort_keys=True)) for b in tables]
    assert len(per_report) == len(set(per_report))
    assert (out / "data" / "members.parquet").is_file() and not list(out.rglob("run.json"))


@pytest.mark.slow
def test_two_runs_on_one_thread_and_on_many_give_byte_identical_results_and_exports(e2e, small_config, tmp_path):
    """The scheduler's run again, its engine on one thread: every results JSON, CRM list and clean or
    rejected table is the same to the byte (money summed exactly, sorts with a tie-breaker, draws seeded).
    The manifest (durations) and the pages (rendered text and pictures) are not results."""
    import os
    first_proc, first, _ = e2e
    assert first_proc.returncode == 0, first_proc.stderr[-2000:]
    again = tmp_path / "2026-10"
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(small_config),
                           "--out", str(again), "-p", "notebooks.data_cleaning.outlier_policy=cap", "-p", "language=en"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "MEMBERKIT_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    def results(folder):
        return sorted(p.relative_to(folder) for p in folder.rglob("*")
                      if p.is_file() and p.suffix in (".json", ".csv", ".parquet") and p.name != "manifest.json")
    assert results(first) == results(again) and len(results(first)) > 20
    differ = [str(p) for p in results(first) if (first / p).read_bytes() != (again / p).read_bytes()]
    assert not differ, differ


@pytest.mark.slow
def test_rendered_pages_show_no_code_no_personal_data_and_fetch_nothing(e2e):
    proc, out, (folder, _) = e2e
    members = pd.read_csv(folder / "members.csv", encoding="gb18030", dtype=str)
    member_ids = pd.read_parquet(out / "data" / "clean" / "members.parquet").member_id.head(500)
    for page in ["index.html", "data_cleaning.html", "rfm_segmentation.html", "clv_forecast.html", "ab_test.html",
                 "campaign_review.html"]:
        text = (out / "en" / page).read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), f"{page} fetches from the network"
        assert not re.search(r"""url\(\s*["']?(https?:)?//|@import""", text), f"{page} loads remote styles"
        assert "<script src" not in text
        assert "from memberkit" not in text and 'class="jp-InputArea' not in text, f"{page} shows code"
        assert "outlier_policy = " not in text, "the parameters cell is not shown"
        digits = re.sub(r"\D", "", text)
        for phone in members["手机号"].dropna().head(300):
            assert re.sub(r"\D", "", phone)[-11:] not in digits or len(re.sub(r"\D", "", phone)) < 11
        for name in members["姓名"].dropna().head(300):
            assert name not in text, f"{page} shows a member's name"
        for mail in members["邮箱"].dropna().head(300):
            assert mail not in text
        for member_id in member_ids:
            assert not re.search(rf"\b{re.escape(member_id)}\b", text), f"{page} shows a member id"


@pytest.mark.slow
@pytest.mark.parametrize("edition", ["e2e", "e2e_zh"])
def test_no_page_shows_a_missing_number_as_code(edition, request):
    """A figure that cannot be computed reads "–" or says why; never nan, inf, None or null."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):      # each text node on its own ("None" in "None of the campaigns" is a word)
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.nodes, self._skip = [], 0

        def handle_starttag(self, tag, attrs):
            self._skip += tag in ("style", "script")

        def handle_endtag(self, tag):
            self._skip -= tag in ("style", "script") and self._skip > 0

        def handle_data(self, data):
            if not self._skip and data.strip():
                self.nodes.append(data.strip())

    proc, out, _ = request.getfixturevalue(edition)
    assert proc.returncode == 0, proc.stderr[-2000:]
    language = "zh" if edition == "e2e_zh" else "en"
    for page in sorted((out / language).glob("*.html")) + [out.parent / language / "index.html"]:
        cells = Cells()
        cells.feed(page.read_text(encoding="utf-8"))
        found = [n for n in cells.nodes if n in ("None", "null") or
                 re.search(r"(?<![A-Za-z])(nan|NaN|-?inf|Infinity|NaT)(?![A-Za-z])", n)]
        assert not found, f"{page.name}: {found}"


@pytest.mark.slow
def test_a_run_in_english_and_one_in_chinese_write_the_same_crm_lists(e2e, e2e_zh):
    """data/ is language-free: the CRM lists (the RFM segment lists and the CLV lists) of the English and the
    Chinese run are the same files, byte for byte, each label and action in both languages."""
    from memberkit import rfm
    lists = {}
    for proc, out, _ in (e2e, e2e_zh):
        assert proc.returncode == 0, proc.stderr[-2000:]
        lists[out] = {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.csv"))}
    en, zh = lists.values()
    assert set(en) == set(zh) and {f"rfm_{k}.csv" for k in rfm.schemes()["high_low"].keys} < set(en)
    assert [name for name in en if en[name] != zh[name]] == []
    header = en["rfm_important_value.csv"].decode("utf-8-sig").splitlines()[0].split(",")
    assert {"segment_label_en", "segment_label_zh", "action_en", "action_zh"} <= set(header)


@pytest.mark.slow
def test_the_chinese_edition_says_in_chinese_why_a_campaign_was_not_reviewed(e2e_zh):
    from memberkit.views.page import visible_text
    proc, out, _ = e2e_zh
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = visible_text((out / "zh" / "campaign_review.html").read_text(encoding="utf-8"))
    assert "C2506 未复盘：没有对照组" in text and "has no holdout" not in text


@pytest.mark.slow
def test_a_failing_notebook_is_reported_and_leaves_no_complete_looking_report(small_config, tmp_path, monkeypatch):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "params", project / "params")
    (project / "notebooks").mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "01_data_cleaning.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise ValueError('the sky fell')"))
    nbformat.write(nb, project / "notebooks" / "01_data_cleaning.ipynb")
    monkeypatch.setenv("MEMBERKIT_HOME", str(project))
    out = tmp_path / "out"
    (out).mkdir()
    (out / "data_cleaning.html").write_text("stale report from an earlier run, before one folder per language")
    (out / "en").mkdir()
    (out / "en" / "data_cleaning.html").write_text("stale report from an earlier run")
    code, _ = runner.run(config_files=[small_config], out_dir=str(out), log=lambda *a: None)
    assert code == 1
    assert not (out / "en" / "data_cleaning.html").exists() and not (out / "data_cleaning.json").exists()
    assert not (out / "data_cleaning.html").exists()
    failed = nbformat.read(out / "en" / "data_cleaning.failed.ipynb", as_version=4)
    outputs = [o for c in failed.cells if c.cell_type == "code" for o in c.outputs]
    assert [o["ename"] for o in outputs] == ["ValueError"], "only the error is kept, no rows of the cells before"
    index = (out / "en" / "index.html").read_text(encoding="utf-8")
    assert 'id="mk-warning"' in index and "the sky fell" in index and "failed in cell" in index
    assert "The key figures need the data cleaning report" in index   # no figures from stale files
    assert read_json(out / "manifest.json")["reports"]["data_cleaning"]["status"] == "failed"


def test_bad_parameter_stops_before_any_kernel(small_config, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(small_config),
                           "--out", str(tmp_path), "-p", "notebooks.data_cleaning.outlier_policy=drop"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "outlier_policy" in proc.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def _cdnow_sample() -> pd.DataFrame:
    from importlib.resources import files
    return pd.read_csv(files("lifetimes") / "datasets" / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype=str,
                       names=["master_id", "customer_id", "date", "number_of_cds", "dollar_value"])


@pytest.mark.slow
def test_reports_run_on_cdnow_through_a_config_file_only(tmp_path):
    """The command line on the CDNOW sample with params/cdnow.yaml: every customer counts (orders of
    $0 are purchases) and the CLV report's calibration fit is the published BG/NBD fit."""
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(ROOT / "params" / "cdnow.yaml"),
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = read_json(tmp_path / "data_cleaning.json")["results"]["tables"]
    assert res["members"]["kept"] == 2357  # the published count of customers in the CDNOW sample
    assert res["orders"]["rows_in"] == 6919  # lines of CDNOW_sample.txt
    assert res["orders"]["rows_in"] == res["orders"]["kept"] + res["orders"]["rejected"]
    rfm = read_json(tmp_path / "rfm_segmentation.json")["results"]["segments"]["high_low"]
    assert {k: v["members"] for k, v in rfm.items()} == cdnow_high_low_counts("1998-06-30", 365)
    # no member table, store or category: the member profile names the parts it cannot give and runs
    profile = read_json(tmp_path / "rfm_segmentation.json")["results"]["profile"]
    assert profile["missing"] == ["gender", "age", "category", "store"] and profile["stores"] == []
    assert profile["sales"]["orders"]["guests"] == 0 and profile["sales"]["revenue_share"] == 1.0
    assert "no gender (members), birth date (members), product category (orders), store (orders)" in \
        (tmp_path / "en" / "rfm_segmentation.html").read_text(encoding="utf-8")
    clv = read_json(tmp_path / "clv_forecast.json")["results"]
    assert clv["unit"] == "week" and clv["holdout"]["calibration_end"] == "1997-09-30"
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}   # Fader, Hardie and Lee (2005)
    assert {k: round(v, 3) for k, v in clv["holdout"]["parameters"]["bgnbd"].items()} == published
    assert clv["totals"]["members"] == 2357
    assert read_json(tmp_path / "ab_test.json")["results"]["experiments"] == {}   # CDNOW has no experiments
    assert read_json(tmp_path / "campaign_review.json")["results"]["campaigns"] == {}   # ... and no campaigns


def cdnow_high_low_counts(end: str, window_days: int) -> dict[str, int]:
    """The 8-segment counts on the CDNOW sample computed here from the raw file, independently of
    memberkit: DOMAIN.md's rules (exact duplicate lines dropped; an order of $0 is a purchase; each
    line is an order), R/F/M over the window, each split at its mean."""
    raw = _cdnow_sample().drop_duplicates()
    raw["day"] = pd.to_datetime(raw.date, format="%Y%m%d")
    end_day = pd.Timestamp(end)
    win = raw[(raw.day > end_day - pd.Timedelta(days=window_days)) & (raw.day <= end_day)]
    per = win.groupby("customer_id").agg(last=("day", "max"), f=("day", "size"), m=("dollar_value", lambda v: v.astype(float).sum()))
    r = (end_day - per["last"]).dt.days
    names = {(True, True, True): "important_value", (False, True, True): "important_lapsing",
             (True, False, True): "important_develop", (False, False, True): "important_at_risk",
             (True, True, False): "general_value", (False, True, False): "general_lapsing",
             (True, False, False): "general_develop", (False, False, False): "general_at_risk"}
    keys = [names[(bool(a), bool(b), bool(c))] for a, b, c in zip(r < r.mean(), per.f > per.f.mean(), per.m > per.m.mean())]
    counts = pd.Series(keys).value_counts()
    return {k: int(counts.get(k, 0)) for k in names.values()}


@pytest.mark.slow
def test_ab_report_on_the_bundled_sample_shows_the_srm_banner_and_no_verdict(retailer_files, tmp_path):
    """EXP-BANNER lost 8% of one variant's assignments: the page says so in red and gives no verdict for it."""
    folder, _ = retailer_files
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--only", "ab_test", "--out", str(tmp_path),
                           "-p", f"source.base_dir={folder}", "-p", "source.sample=null", "-p", "as_of=2026-11-01"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = (tmp_path / "en" / "ab_test.html").read_text(encoding="utf-8")
    banners = re.findall(r'<div class="mk-banner">(.*?)</div>', page, flags=re.S)
    assert banners and all("EXP-BANNER" in b or "Broken split" in b for b in banners)
    # the answer at the top in a few words; its section gives the counts and says there is no verdict
    assert any(b.startswith("EXP-BANNER: No verdict") and "fix it" in b for b in banners)
    assert any("this experiment has no verdict and no result is shown" in b for b in banners)
    verdicts = re.findall(r'<div class="mk-headline">(.*?)</div>', page, flags=re.S)
    assert any(v.startswith("EXP-PUSH: Ship push") for v in verdicts)
    assert any(v.startswith("EXP-COUPON: Not worth its cost: coupon_20 lifts conversion") for v in verdicts)
    assert any(v.startswith("EXP-PUSH: Ship push") and "likely overstated" in v for v in verdicts)
    assert not any("EXP-BANNER" in v for v in verdicts)


# ------------------------------------------------------------------ results: numbers and codes, no words
WORD_FIELDS = {"title", "headline", "language", "label", "display", "description"}


def words_in(data) -> list[str]:
    """Where ``data`` (a results dict) holds words: a field that carries display text, a KPI that is
    not a number, or a key or value that is one of the catalogue's entries (en or zh) or a sentence
    made from one (its text around the placeholders). Names (of campaigns) are data and are not read."""
    from memberkit.views.context import _catalogue
    entries, patterns = set(), []

    def leaves(node):
        if isinstance(node, dict):
            for v in node.values():
                leaves(v)
        elif isinstance(node, list):
            for v in node:
                leaves(v)
        elif isinstance(node, str):
            entries.add(node)
            literal = re.sub(r"\{[^}]*\}", "", node)
            if "{" in node and len(literal.strip()) >= 6:
                parts = re.split(r"\{[^}]*\}", node)
                patterns.append(re.compile(".*".join(re.escape(x) for x in parts), re.S))
    for language in ("en", "zh"):
        leaves(_catalogue(language))
    entries = {e for e in entries if not re.fullmatch(r"[a-z0-9_]+", e)}   # a code, the same in every language
    # a tier's code is its name in the settings (the defaults 普通/银卡/...), which the Chinese labels repeat
    entries -= set(_catalogue("en")["tiers"])
    found = [f"kpis.{k}" for k, v in (data.get("kpis") or {}).items()
             if not (v is None or isinstance(v, (int, float)) and not isinstance(v, bool))]

    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                found.extend(f"{where}{k} (field)" for _ in [0] if k in WORD_FIELDS)
                found.extend(f"{where}{k} (key)" for _ in [0] if isinstance(k, str) and k in entries)
                if k != "name":        # a campaign's name is the shop's data, whatever it says
                    walk(v, f"{where}{k}.")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}{i}.")
        elif isinstance(node, str) and (node in entries or any(p.fullmatch(node) for p in patterns)):
            found.append(f"{where[:-1]} = {node[:60]!r}")
    walk(data, "")
    return found


def test_words_in_results_are_found():
    """The check below can fail: results as they were written before hold words it names."""
    old = {"name": "rfm_segmentation", "title": "Who our members are", "language": "en", "headline": "h",
           "kpis": {"members_segmented": {"value": 3, "label": "Members segmented", "display": "3"}},
           "results": {"segment": "Important value", "skipped": {"E1": "it has no targeted members"}, "ok": "important_value"}}
    found = words_in(old)
    assert {"title (field)", "language (field)", "headline (field)", "kpis.members_segmented",
            "kpis.members_segmented.label (field)", "kpis.members_segmented.display (field)",
            "results.skipped.E1 = 'it has no targeted members'"} <= set(found), found
    assert not [f for f in found if "results.ok" in f]
    assert words_in({"name": "x", "period": "2026-10", "kpis": {"n": 3, "m": None}, "results": {"reason": "no_target"}}) == []


@pytest.mark.slow
def test_results_hold_numbers_and_codes_not_words(e2e):
    """Every <name>.json the reports write: KPIs are numbers, and no key or value is display text."""
    proc, out, _ = e2e
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review"):
        data = read_json(out / f"{name}.json")
        assert set(data) == {"name", "period", "kpis", "results", "stamp"} and data["kpis"], name
        assert set(data["stamp"]) == {"engine_queries"}, name      # the run's stamp: the queries it sent
        assert words_in(data) == [], name


def _make_reports_command(*args, env=None) -> str:
    """The run_reports.py line that ``make reports`` would run (``make -n``: nothing is run)."""
    import os
    if not shutil.which("make"):
        pytest.skip("make not installed")
    environment = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "ARGS")} | (env or {})
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "reports", *args], capture_output=True, text=True,
                         env=environment, check=True).stdout
    return next(line for line in out.splitlines() if "run_reports.py" in line)


def test_make_reports_takes_the_language_as_a_variable_make_does_not_swallow():
    """Issue 23: `make reports -p language=zh` ran make's own -p (print the database); the language is
    now a make variable given on make's command line, passed on to run_reports.py."""
    assert re.search(r"run_reports\.py\s+-p language=zh(\s|$)", _make_reports_command("LANGUAGE=zh"))
    assert "-p language=zh --period 2026-09" in _make_reports_command("LANGUAGE=zh", "ARGS=--period 2026-09")
    assert "language" not in _make_reports_command()
    # gettext's LANGUAGE in the environment is a list of locales, not a report language: not passed on
    assert "language" not in _make_reports_command(env={"LANGUAGE": "en_US:en"})


def test_the_runners_lines_follow_the_runs_language_and_the_cleaning_names_the_month_it_compares_with(
        small_config, tmp_path):
    """Issue 23, with three runs of the cleaning. A Chinese run said its progress in English: every line of it is
    now in Chinese. Its cleaning page said "no earlier run to compare with" after reruns of the same month: the
    section compares with the previous month's run, and now says so and which month; once September is run
    beside it, October's page shows the change against September under a heading naming it."""
    import html as html_lib
    import re
    from memberkit import runner

    def page_text(path):
        body = re.sub(r"<style.*?</style>|<script.*?</script>", "", path.read_text(encoding="utf-8"), flags=re.S)
        return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))

    lines = []
    code, out = runner.run(period="2026-10", config_files=[small_config], only=["data_cleaning"],
                           out_dir=str(tmp_path / "2026-10"), overrides=["language=zh"], log=lines.append)
    assert code == 0
    for english in ("Checking", "started", "done ", "Reports for", "reports ok", "Period"):
        assert not any(english in line for line in lines), (english, lines)
    assert lines[0] == "正在检查参数和数据……" and any(line.startswith("  开始     data_cleaning") for line in lines)
    assert lines[-1].startswith("1 份报告中 1 份完成；打开 ")
    zh = page_text(out / "zh" / "data_cleaning.html")
    assert "与2026年9月的清洗结果相比" in zh and "没有2026年9月的清洗结果可比" in zh

    said = []
    assert runner.run(period="2026-09", config_files=[small_config], only=["data_cleaning"],
                      out_dir=str(tmp_path / "2026-09"), log=said.append)[0] == 0
    assert said[0] == "Checking parameters and data ..." and any(s.startswith("  done     data_cleaning in ") for s in said)
    assert runner.run(period="2026-10", config_files=[small_config], only=["data_cleaning"],
                      out_dir=str(tmp_path / "2026-10"), log=lambda *a: None)[0] == 0
    en = page_text(out / "en" / "data_cleaning.html")
    assert "Change against the cleaning of September 2026" in en and "No cleaning of" not in en
    assert re.search(r"Rows read \(all tables\) [\d,]+ [\d,]+ [+-]", en), "the change table against September"


def test_the_period_line_of_a_chinese_run_says_its_reason_in_chinese():
    """The reason recorded in run.json stays English (the manifest keeps it); the terminal of a Chinese run
    says the same facts in Chinese: the month asked for, the last month ended by the extraction date, an open month."""
    import datetime as dt
    from types import SimpleNamespace
    from memberkit import runner
    as_of = dt.date(2026, 11, 20)
    run = SimpleNamespace(period="2026-10", settings={}, as_of=as_of, period_reason="2026-10 is the last ...")
    assert runner.period_line(run, "en") == "Period 2026-10: 2026-10 is the last ..."
    assert runner.period_line(run, "zh").startswith("报告月份 2026-10：数据提取日期 2026-11-20 前最后一个已结束的自然月")
    run.settings = {"period": "2026-11"}
    run.period = "2026-11"
    assert runner.period_line(run, "zh") == ("报告月份 2026-11：按 --period 指定；数据提取于 2026-11-20，该月尚未结束，"
                                             "只含 2026-11-01 至 2026-11-20")


def _executed(tmp_path, sources: list[str], manager):
    """A notebook of ``sources`` run by papermill as the runner runs a report, with kernel manager ``manager``
    recording each signal it sends; returns (the signals sent, the error papermill raised or None)."""
    import papermill as pm
    signals = []

    class Recording(manager):
        async def _async_signal_kernel(self, signum):
            signals.append(signum)
            await super()._async_signal_kernel(signum)

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, tmp_path / "in.ipynb")
    try:
        pm.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), progress_bar=False,
                            log_output=False, kernel_name=runner.kernel_name(), kernel_manager_class=Recording)
    except Exception as e:  # papermill's error for a failing cell
        return signals, e
    return signals, None


def test_a_reports_kernel_is_shut_down_without_an_interrupt_and_a_real_error_still_shows(tmp_path):
    """Issue 23: a successful run's log held '[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.':
    jupyter_client interrupts (SIGINT) every kernel before asking it to shut down, and a kernel still finishing
    its last reply logs the interrupt as an error. The runner's kernels are shut down without it; a cell's own
    error is still raised and reported."""
    import signal
    from jupyter_client.manager import AsyncKernelManager
    sent, error = _executed(tmp_path, ["x = 1"], AsyncKernelManager)
    assert error is None and signal.SIGINT in sent        # the cause: the interrupt at every shutdown
    sent, error = _executed(tmp_path, ["x = 1"], runner.finished_kernel_manager())
    assert error is None and signal.SIGINT not in sent
    sent, error = _executed(tmp_path, ["x = 1", "raise ValueError('a real error')"], runner.finished_kernel_manager())
    assert error is not None and "a real error" in str(error) and signal.SIGINT not in sent
    assert "kernel_manager_class=finished_kernel_manager()" in (ROOT / "lib/memberkit/runner.py").read_text()
