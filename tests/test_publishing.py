"""Published months are safe: a notebook run by hand writes to a scratch folder, a killed run leaves
the published reports as they were, ``--only`` keeps the other reports, Ctrl-C ends in one line, and
no password, however it is given, is written anywhere."""
from __future__ import annotations

import gc
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import ROOT, read_json

RUN = [sys.executable, str(ROOT / "run_reports.py")]


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _start(args, **kwargs) -> subprocess.Popen:
    """A run in its own process group, so the test can kill it with its kernels."""
    return subprocess.Popen([*RUN, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 300) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before the moment to stop it: {proc.communicate()}")
        time.sleep(0.1)
    raise AssertionError("timed out")


def _staged(out: Path, pattern: str) -> bool:
    return any(p for folder in out.parent.glob(f".{out.name}.partial-*") for p in folder.glob(pattern))


@pytest.fixture(scope="module")
def cleaning_month(small_config, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """The small sample's month published with its data cleaning report only, in English (``--only
    data_cleaning``): the run, and the folder holding its ``2026-10/`` and the all-months page ``en/index.html``.
    Read only: a test copies the folder (``_copy_of``) before it runs anything there."""
    home = tmp_path_factory.mktemp("cleaning_month")
    proc = subprocess.run([*RUN, "--config", str(small_config), "--out", str(home / "2026-10"), "--only", "data_cleaning"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    return proc, home


def _copy_of(cleaning_month, into: Path) -> subprocess.CompletedProcess:
    """``cleaning_month``'s folder copied into ``into`` (so ``into / "2026-10"`` is the month); its run."""
    proc, home = cleaning_month
    shutil.copytree(home, into, dirs_exist_ok=True)
    return proc


@pytest.mark.slow
def test_a_killed_run_leaves_the_published_month_intact_and_a_rerun_completes(small_config, cleaning_month, tmp_path):
    out = tmp_path / "2026-10"
    first = _copy_of(cleaning_month, tmp_path)
    assert first.returncode == 0, first.stderr
    published = _snapshot(out)
    assert {"en/index.html", "manifest.json", "en/data_cleaning.html", "data_cleaning.json"} <= set(published)

    # The RFM report is killed (SIGKILL, kernel included) once it has written its lists in the staging folder.
    args = ["--config", str(small_config), "--out", str(out), "--only", "rfm_segmentation"]
    proc = _start(args)
    try:
        _wait_for(lambda: _staged(out, "data/rfm_*.csv"), proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert _snapshot(out) == published, "a killed run changed the published month"
    assert list(out.parent.glob(f".{out.name}.partial-*")), "the killed run's staging folder is left"

    rerun = subprocess.run([*RUN, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert not list(out.parent.glob(f".{out.name}.partial-*")), "the rerun removes the abandoned staging folder"
    index = (out / "en" / "index.html").read_text(encoding="utf-8")
    # --only keeps the other reports' cards: the index is built from what is on disk
    assert 'href="data_cleaning.html"' in index and 'href="rfm_segmentation.html"' in index
    after = _snapshot(out)
    for name in ("en/data_cleaning.html", "data_cleaning.json", "data/clean/orders.parquet"):
        assert after[name] == published[name], f"{name} belongs to a report that did not run"
    assert any(n.startswith("data/rfm_") for n in after) and "rfm_segmentation.json" in after
    assert set(read_json(out / "manifest.json")["reports"]) == {"data_cleaning", "rfm_segmentation"}


@pytest.mark.slow
def test_ctrl_c_ends_the_run_with_exit_130_and_one_line(small_config, tmp_path):
    out = tmp_path / "2026-10"
    proc = _start(["--config", str(small_config), "--out", str(out), "--only", "data_cleaning"])
    try:
        # the notebook's kernel is running (its partial notebook is written as it starts)
        _wait_for(lambda: list(out.parent.glob(f".{out.name}.partial-*/.data_cleaning.running.ipynb")), proc)
        os.kill(proc.pid, signal.SIGINT)    # what Ctrl-C sends to the runner
        _, err = proc.communicate(timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # the kernel, should it outlive the runner
        except ProcessLookupError:
            pass
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines() == ["interrupted: the published reports are unchanged"]
    assert not (out / "en" / "data_cleaning.html").exists()


# ------------------------------------------------------------------ notebooks run by hand
@pytest.fixture
def project(small_sample, tmp_path, monkeypatch) -> Path:
    """A project folder whose params point at the small sample, with a published month beside it."""
    folder, truth = small_sample
    home = tmp_path / "project"
    shutil.copytree(ROOT / "params", home / "params")
    base = yaml.safe_load((home / "params" / "base.yaml").read_text(encoding="utf-8"))
    base["as_of"] = truth["extracted_at"]
    base["source"]["base_dir"] = str(folder)
    base["source"]["sample"] = None
    (home / "params" / "base.yaml").write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    published = home / "outputs" / "2026-10"
    (published / "data").mkdir(parents=True)
    (published / "en").mkdir()
    (published / "en" / "index.html").write_text("<p>the published month</p>")
    (published / "rfm_segmentation.json").write_text('{"headline": "published"}')
    (published / "data" / "rfm_important_value.csv").write_text("member_id\nU1\n")
    monkeypatch.setenv("MEMBERKIT_HOME", str(home))
    return home


@pytest.mark.slow
def test_every_notebook_runs_top_to_bottom_by_hand_and_leaves_the_published_month_alone(project):
    """What an analyst's Run All in JupyterLab does, with nbval; then the RFM notebook again with
    another split. Both write to outputs/scratch/<period>/ only."""
    before = _snapshot(project / "outputs" / "2026-10")
    notebooks = sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
                           "-p", "no:cacheprovider", "-o", "addopts=", *notebooks],
                          cwd=project, capture_output=True, text=True, timeout=900, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout   # nbval: one test per cell
    import papermill as pm
    from memberkit import runner
    pm.execute_notebook(str(ROOT / "notebooks" / "02_rfm_segmentation.ipynb"), str(project / "rerun.ipynb"),
                        parameters={"split": "median"}, cwd=str(ROOT / "notebooks"), progress_bar=False,
                        kernel_name=runner.kernel_name())
    assert _snapshot(project / "outputs" / "2026-10") == before
    scratch = project / "outputs" / "scratch" / "2026-10"
    for name in ("data_cleaning.json", "rfm_segmentation.json", "clv_forecast.json", "ab_test.json",
                 "campaign_review.json"):
        assert (scratch / name).is_file(), name
    assert read_json(scratch / "rfm_segmentation.json")["period"] == "2026-10"


@pytest.mark.slow
def test_a_scratch_run_with_another_split_shows_the_segments_it_moved_against_the_published_run(project):
    """The RFM notebook run by hand twice in the scratch folder of a month whose published run is the first:
    the same settings again differ in nothing; ``split=median`` leaves the six cards alone but moves members
    between segments, and the comparison shows those counts, both runs' numbers from their results files."""
    import nbformat
    import papermill as pm
    from memberkit import runner
    published, scratch = project / "outputs" / "2026-10", project / "outputs" / "scratch" / "2026-10"

    def run(**parameters) -> str:
        out = project / "run.ipynb"
        pm.execute_notebook(str(ROOT / "notebooks" / "02_rfm_segmentation.ipynb"), str(out), parameters=parameters,
                            cwd=str(ROOT / "notebooks"), progress_bar=False, kernel_name=runner.kernel_name())
        nb = nbformat.read(out, as_version=4)
        return "".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)

    run()
    shutil.copy(scratch / "rfm_segmentation.json", published / "rfm_segmentation.json")   # that run, published
    before = read_json(published / "rfm_segmentation.json")
    assert "0 of 24 figures differ from the published run in outputs/2026-10/" in run()
    shown = run(split="median")
    after = read_json(scratch / "rfm_segmentation.json")
    assert after["kpis"] == before["kpis"]                    # the cards alone would say nothing changed
    moved = {(scheme, key): (s["members"], before["results"]["segments"][scheme][key]["members"])
             for scheme in ("high_low", "score_grid") for key, s in after["results"]["segments"][scheme].items()
             if s["members"] != before["results"]["segments"][scheme][key]["members"]}
    assert moved and all(scheme == "high_low" for scheme, _ in moved), moved   # the grid scores by quintile
    assert f"{len(moved)} of 24 figures differ from the published run" in shown
    important = moved[("high_low", "important_value")]
    row = re.search(r"<td[^>]*>Members in Important value \(eight segments\)</td>(.*?)</tr>", shown, re.S)
    assert row and re.findall(r">([\d,]+)</td>", row.group(1)) == [f"{n:,}" for n in important], important
    assert after["results"]["splits"] != before["results"]["splits"]


def test_a_hand_run_says_where_its_results_go_and_compares_with_the_published_month(project):
    """A notebook resolved by hand writes to outputs/scratch/<period>/, says so, and sets its key figures
    beside the published run's of the same month (one of two differs here)."""
    import json
    from memberkit.notebook import Context, resolve
    from memberkit.report import load_results
    from memberkit.views import Presentation
    from memberkit.views.page import KPI, vs_published_frame, where_results_sentence
    _, ctx = resolve("rfm_segmentation")
    assert ctx.scratch and ctx.output_dir == project / "outputs" / "scratch" / "2026-10"
    assert ctx.published_dir == project / "outputs" / "2026-10"
    p = Presentation("en", "CNY")
    assert where_results_sentence(p, ctx) == ("Run by hand: this notebook's results go to outputs/scratch/2026-10/; "
                                              "the published month outputs/2026-10/ is unchanged.")
    assert "已发布的月份 outputs/2026-10/ 保持不变" in where_results_sentence(Presentation("zh", "CNY"), ctx)
    published = {"name": "rfm_segmentation", "period": "2026-10", "kpis": {"members_segmented": 1200, "churn_rate": 0.2},
                 "results": {}}
    (project / "outputs" / "2026-10" / "rfm_segmentation.json").write_text(json.dumps(published))
    assert load_results(ctx.published_dir, "rfm_segmentation")["kpis"] == published["kpis"]
    this = {**published, "kpis": {"members_segmented": 1200, "churn_rate": 0.25}}

    def kpis(p, results):
        return [KPI("Members", p.count(results["kpis"]["members_segmented"])), KPI("Churn", p.pct(results["kpis"]["churn_rate"]))]
    frame, changed = vs_published_frame(p, kpis, this, load_results(ctx.published_dir, "rfm_segmentation"))
    assert frame.values.tolist() == [["Members", "1,200", "1,200"], ["Churn", "25.0%", "20.0%"]] and changed == 1
    named = Context("rfm_segmentation", project, "2026-10", project / "outputs" / "2026-10", ctx.as_of,
                    history_dir=project / "outputs", by_hand=True)
    assert not named.scratch and named.published_dir is None          # not a scratch run: nothing to compare
    assert where_results_sentence(p, named) == ("Run by hand: this notebook's results go to outputs/2026-10/, "
                                                "the folder named in output_dir.")
    runner_run = Context("rfm_segmentation", project, "2026-10", project / "staging", ctx.as_of)
    assert where_results_sentence(p, runner_run) == ""


def test_a_bad_parameter_in_a_notebook_shows_its_message_as_on_the_command_line():
    """The kernel shows ``error: <message>`` and no traceback through the kit; the cell still fails (papermill
    and the runner see ConfigError), and an error of another kind keeps its traceback."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from memberkit import runner
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from memberkit.notebook import resolve\nresolve('rfm_segmentation', split='middle')"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("resolve('data_cleaning', overrides=['data_cleaning.outlier_policy=bogus'])")])
    client = NotebookClient(nb, kernel_name=runner.kernel_name(), timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    bad, other, misspelt = (c.outputs for c in nb.cells)
    assert [o["output_type"] for o in bad] == ["error"] and bad[0]["ename"] == "ConfigError"
    # the command line's message (the problem listed under its heading), and no frame of any traceback
    assert bad[0]["traceback"] == ["error: parameters of rfm_segmentation: split: Input should be 'mean' or 'median'; got 'middle'"]
    assert other[0]["ename"] == "ZeroDivisionError" and len(other[0]["traceback"]) > 1
    # an override naming no setting: the nearest one and its values, one line as on the command line
    assert misspelt[0]["ename"] == "ConfigError" and misspelt[0]["traceback"] == [
        "error: overrides: data_cleaning.outlier_policy: no setting 'data_cleaning' in the top level; "
        "did you mean 'notebooks.data_cleaning.outlier_policy'? (its values are 'flag', 'cap' or 'exclude'; got 'bogus')"]
    assert CellExecutionError   # papermill fails the run on the first error output, as before


def test_a_misspelt_papermill_parameter_stops_the_notebook_in_one_line(tmp_path):
    """``papermill -p splitt median`` only warns and runs on with ``split`` at its default, so the page would not
    show what was asked. The notebook's first computing cell names the unknown parameter and the nearest one."""
    import papermill as pm
    from memberkit import runner
    out = tmp_path / "run.ipynb"
    with pytest.raises(pm.PapermillExecutionError) as failed:
        pm.execute_notebook(str(ROOT / "notebooks" / "02_rfm_segmentation.ipynb"), str(out),
                            parameters={"splitt": "median", "output_dir": str(tmp_path / "out")},
                            cwd=str(ROOT / "notebooks"), progress_bar=False, kernel_name=runner.kernel_name())
    assert failed.value.ename == "ConfigError"
    assert failed.value.evalue == "parameters of rfm_segmentation: splitt: no such parameter; did you mean split?"
    assert not (tmp_path / "out").exists()   # stopped before anything was computed or written


def test_injected_parameters_are_read_from_papermills_cell_only():
    """The notebooks' own parameters cell ('# Parameters: ...') is not papermill's ('# Parameters' alone)."""
    from memberkit.errors import ConfigError
    from memberkit.notebook import check_injected_parameters, injected_parameter_names
    own = "# Parameters: run_reports.py passes these\nperiod = None\nsplit = None\n"
    injected = "# Parameters\nsplit = \"median\"\nlanguage = \"zh\"\n"
    assert injected_parameter_names([own]) == []
    assert injected_parameter_names([own, injected, "x = 1"]) == ["split", "language"]
    check_injected_parameters("rfm_segmentation", {"split", "language"}, [own, injected])   # nothing unknown
    with pytest.raises(ConfigError, match="lang: no such parameter; did you mean language"):
        check_injected_parameters("rfm_segmentation", {"split", "language"}, [own, "# Parameters\nlang = 'zh'\n"])


def test_a_config_error_is_one_line_on_the_command_line_without_pydantics_prefix(small_config, tmp_path, capsys):
    """One bad setting: one line on stderr naming the report, the setting and the validator's own words,
    never pydantic's "Value error," nor a "1 problem(s)" heading over a list of one; two stay a list."""
    from memberkit import runner
    bad = '{"Silver": 500, "Gold": 100}'
    code = runner.main(["--config", str(small_config), "--out", str(tmp_path / "out"),
                        "-p", f"notebooks.rfm_segmentation.tier_thresholds={bad}"])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "out").exists()
    assert err.splitlines() == ["error: parameters of rfm_segmentation: tier_thresholds: tier thresholds must be "
                                "non-negative and rise strictly in the order given (lowest tier first); "
                                "got {'Silver': 500.0, 'Gold': 100.0}"]
    code = runner.main(["--config", str(small_config), "--out", str(tmp_path / "out"),
                        "-p", "engine.spark_master=spark://x:7077", "-p", "notebooks.rfm_segmentation.split=middle"])
    assert code == 2 and capsys.readouterr().err.splitlines() == [
        "error: 2 problem(s) found before any report ran:",
        "  1. shared settings: engine: spark_master and spark_remote need backend: spark",
        "  2. parameters of rfm_segmentation: split: Input should be 'mean' or 'median'; got 'middle'"]


@pytest.mark.parametrize("override, line", [
    ("language=ZH", "error: shared settings: language: Input should be 'en' or 'zh'; got 'ZH'"),
    ("currency=XX", "error: shared settings: currency: unknown currency 'XX'; use an ISO 4217 code such as CNY, "
     "GBP or JPY"),
    ("period=2026-13", "error: shared settings: period: period must look like 2026-10, got '2026-13'"),
    ("engine.memory_limit=lots", "error: shared settings: engine.memory_limit: memory_limit must be an amount such "
     "as 1GB, 1500MB, 2GiB or 50%, got 'lots'"),
    ("notebooks.data_cleaning.outlier_policy=foo", "error: parameters of data_cleaning: outlier_policy: Input should "
     "be 'flag', 'cap' or 'exclude'; got 'foo'"),
    ("notebooks.rfm_segmentation.dominant_member_share=2", "error: parameters of rfm_segmentation: "
     "dominant_member_share: Input should be less than or equal to 1; got 2")])
def test_a_refused_value_is_echoed_in_the_one_line_error(small_config, tmp_path, capsys, override, line):
    """Whatever setting refuses it, the value given is in the line ('ZH' for language once read as refused
    without it), quoted once: a message that quotes it already is not given it twice."""
    from memberkit import runner
    code = runner.main(["--config", str(small_config), "--out", str(tmp_path / "out"), "-p", override])
    assert code == 2 and capsys.readouterr().err.splitlines() == [line]


@pytest.mark.parametrize("given", ["-p as_of=2026-02-30", "-p as_of=2026-13-01", "config as_of: 2026-02-30"])
def test_a_date_that_is_no_calendar_date_is_one_line(small_config, tmp_path, capsys, given):
    """YAML reads 2026-02-30 as a date and failed on it in a traceback, from -p and from a config file alike."""
    from memberkit import runner
    value = given.split("as_of", 1)[1].lstrip("=: ")
    if given.startswith("config"):
        extra = tmp_path / "extra.yaml"
        extra.write_text(f"as_of: {value}\n", encoding="utf-8")
        args = ["--config", str(small_config), str(extra)]
    else:
        args = ["--config", str(small_config), "-p", f"as_of={value}"]
    code = runner.main([*args, "--out", str(tmp_path / "out")])
    assert code == 2 and not (tmp_path / "out").exists()
    assert capsys.readouterr().err.splitlines() == [f"error: shared settings: as_of: '{value}' is not a calendar date"]


@pytest.mark.parametrize("override, line", [
    ("outlier_policy=bogus", "error: -p outlier_policy: no setting 'outlier_policy' in the top level; did you mean "
     "'notebooks.data_cleaning.outlier_policy'? (its values are 'flag', 'cap' or 'exclude'; got 'bogus')"),
    ("data_cleaning.outlier_policy=bogus", "error: -p data_cleaning.outlier_policy: no setting 'data_cleaning' in "
     "the top level; did you mean 'notebooks.data_cleaning.outlier_policy'? (its values are 'flag', 'cap' or 'exclude'; "
     "got 'bogus')"),
    ("data_cleaning.outlier_policy=cap", "error: -p data_cleaning.outlier_policy: no setting 'data_cleaning' in "
     "the top level; did you mean 'notebooks.data_cleaning.outlier_policy'?"),
    ("dominant_member_share=2", "error: -p dominant_member_share: no setting 'dominant_member_share' in the top "
     "level; did you mean 'notebooks.data_cleaning.dominant_member_share' or "
     "'notebooks.rfm_segmentation.dominant_member_share'? (Input should be less than or equal to 1; got 2)")])
def test_a_setting_in_the_wrong_place_is_one_line_with_the_nearest_setting_and_its_values(small_config, tmp_path,
                                                                                          capsys, override, line):
    """A report's setting given at the top level, or under its report's name without ``notebooks.``: one line
    naming the setting meant (difflib over every setting's dotted name) and, when the value would not fit it
    either, what it takes (pydantic's words); never pydantic's "Extra inputs are not permitted"."""
    from memberkit import runner
    code = runner.main(["--config", str(small_config), "--out", str(tmp_path / "out"), "-p", override])
    assert code == 2 and capsys.readouterr().err.splitlines() == [line]


def test_a_misspelt_key_in_a_config_file_is_named_with_the_nearest_setting(small_config, tmp_path, capsys):
    from memberkit import runner
    config = tmp_path / "bad.yaml"
    config.write_text("data_cleaning: {outlier_policy: cap}\nnotebooks: {rfm_segmentation: {windw_days: 180}}\n",
                      encoding="utf-8")
    code = runner.main(["--config", str(small_config), "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Extra inputs are not permitted" not in err
    assert "data_cleaning: no setting 'data_cleaning' in the top level; did you mean 'notebooks.data_cleaning'?" in err
    assert "windw_days: no setting 'windw_days' in notebooks.rfm_segmentation; did you mean 'window_days'?" in err


# ------------------------------------------------------------------ secrets
# Five ways to give a database password, each with its own password, in two runs: one config file
# holds a literal password, one in the URL's query string and one from ${VAR}; the other run gets
# the URL as a -p override whose password has an '@' inside.
SECRETS = {"literal-in-config": "L1t-pass-w0rd", "url-query-string": "Qu3ry-pass-w0rd",
           "environment-variable": "Env-pass-w0rd", "p-override": "0ver@r1de-w0rd",
           "at-sign-inside": "r1de-w0rd"}   # what a redaction that stops at the first '@' would leave
RUNS = {
    "config": ({"database_url": f"postgresql://analyst:{SECRETS['literal-in-config']}@db.internal/shop"
                                f"?password={SECRETS['url-query-string']}&token=${{MK_SHOP_TOKEN}}"}, []),
    "override": ({}, [f"source.database_url=postgresql://analyst:{SECRETS['p-override']}@db.internal/shop"]),
}
WAY_RUN = {"literal-in-config": "config", "url-query-string": "config", "environment-variable": "config",
           "p-override": "override", "at-sign-inside": "override"}


@pytest.fixture(scope="module")
def secret_runs(small_config, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Each run's output folder and log (stdout and stderr)."""
    done = {}
    for name, (source, overrides) in RUNS.items():
        folder = tmp_path_factory.mktemp(f"secret-{name}")
        cfg = yaml.safe_load(small_config.read_text(encoding="utf-8"))
        cfg["source"].update(source)
        config = folder / "with_secret.yaml"
        config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        out = folder / "out"
        args = ["--config", str(config), "--out", str(out), "--only", "data_cleaning"]
        for o in overrides:
            args += ["-p", o]
        proc = subprocess.run([*RUN, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "MK_SHOP_TOKEN": SECRETS["environment-variable"]})
        assert proc.returncode == 0, proc.stderr[-2000:]
        done[name] = (out, proc.stdout + proc.stderr)
    return done


@pytest.mark.slow
@pytest.mark.parametrize("way", SECRETS)
def test_no_password_is_written_anywhere(way, secret_runs):
    out, log = secret_runs[WAY_RUN[way]]
    secret = SECRETS[way]
    assert (out / "en" / "data_cleaning.html").is_file() and (out / "manifest.json").is_file()
    assert secret not in log
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 5
    for path in files:
        assert secret.encode() not in path.read_bytes(), f"{path.name} holds the password given as {way}"
    assert "***" in read_json(out / "manifest.json")["parameters"]["source"]["database_url"]


def test_a_failing_database_connection_does_not_show_the_password(small_config, tmp_path):
    """The driver for the URL is missing: exit 2 naming the cause, the password nowhere in the message."""
    cfg = yaml.safe_load(small_config.read_text(encoding="utf-8"))
    password = SECRETS["p-override"]
    cfg["source"]["database_url"] = f"nosuchdb://analyst:{password}@db.internal/shop?token={password}"
    base = yaml.safe_load((ROOT / "params" / "base.yaml").read_text(encoding="utf-8"))["source"]["tables"]
    cfg["source"]["tables"] = {"orders": {"query": "order_lines", "columns": base["orders"]["columns"]}}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    proc = subprocess.run([*RUN, "--config", str(config), "--out", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "database driver is not installed" in proc.stderr and password not in proc.stderr


def test_secrets_are_found_however_they_are_written(monkeypatch):
    from memberkit.config import redact, secret_values
    monkeypatch.setenv("MK_PW", "env-pw")
    urls = {"postgresql://u:plain@h/db": "plain", "postgresql://u:p@ss@h/db": "p@ss",
            "postgresql://u:p%40ss@h/db": "p@ss", "mssql://h/db?user=u&password=qs-pw": "qs-pw",
            "postgresql://u:${MK_PW}@h/db": "env-pw", "snowflake://h/db?token=tok-1": "tok-1"}
    for url, secret in urls.items():
        assert secret in secret_values(url), url
        assert secret not in str(redact({"source": {"database_url": url}})), url
    assert redact({"api_token": "x", "n": 1}) == {"api_token": "***", "n": 1}
    # a short password is redacted by the URL's structure, without garbling other text
    assert redact({"url": "postgresql://u:ab@h/db", "note": "about"}) == {"url": "postgresql://u:***@h/db", "note": "about"}


def test_the_same_inputs_give_the_same_clean_tables(small_cleaned, small_params, small_sample, tmp_path):
    """Cleaning the same exports again with the same settings writes the same rows, row for row."""
    import datetime as dt
    from memberkit import clean, engine, sources
    _, truth, first = small_cleaned
    con = engine.connect()
    raw = sources.load_sources(con, small_params.source, ROOT, tmp_path / "staging")
    clean.clean_all(con, raw, as_of=dt.date.fromisoformat(truth["extracted_at"]),
                    date_formats=small_params.source.tables["orders"].date_formats, out_dir=tmp_path)
    for kind in ("clean", "rejected"):
        for path in sorted((first / kind).glob("*.parquet")):
            a, b = pd.read_parquet(path), pd.read_parquet(tmp_path / kind / path.name)
            key = [c for c in a.columns if c in ("_source", "_row", "source_file", "source_row")] or list(a.columns)
            pd.testing.assert_frame_equal(a.sort_values(key, ignore_index=True), b.sort_values(key, ignore_index=True))


def test_every_file_a_report_writes_is_published(tmp_path):
    """The CLV report writes two lists; both leave the staging folder (the summary links the win-back list)."""
    from memberkit import clv, runner
    from memberkit.reports import report
    spec = report("clv_forecast")
    staging, out = tmp_path / "staging", tmp_path / "2026-10"
    (staging / "data").mkdir(parents=True)
    out.mkdir()
    (staging / "en").mkdir()
    for name in ("en/clv_forecast.html", "clv_forecast.json", "data/clv_members.csv", f"data/{clv.AT_RISK_FILE}"):
        (staging / name).write_text("x")
    runner._publish(spec, runner.Outcome("clv_forecast", "ok"), staging, out, "en")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "clv_forecast.json", "data/clv_at_risk.csv", "data/clv_members.csv", "en/clv_forecast.html"]


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_bytes().decode("utf-8", "surrogateescape")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_run_publishes_its_pages_in_its_language_folder_and_leaves_the_other_editions(tmp_path):
    """A Chinese run beside an English one: the results and data are replaced, the Chinese page goes to zh/, the
    English page stays; a page of the layout before one folder per language goes. When the Chinese run
    then fails, its page and the results go and the English page still stays."""
    from memberkit import runner
    from memberkit.reports import report
    spec = report("data_cleaning")
    out, staging = tmp_path / "2026-10", tmp_path / "staging"
    for folder in (out / "en", out / "data" / "clean", staging / "zh", staging / "data" / "clean"):
        folder.mkdir(parents=True)
    (out / "en" / "data_cleaning.html").write_text("English page")
    (out / "en" / "data_cleaning.pdf").write_text("English PDF")
    (out / "data_cleaning.html").write_text("a page of the old layout")
    (out / "data_cleaning.json").write_text("results of the English run")
    (staging / "zh" / "data_cleaning.html").write_text("Chinese page")
    (staging / "data_cleaning.json").write_text("results of the Chinese run")
    runner._publish(spec, runner.Outcome("data_cleaning", "ok"), staging, out, "zh")
    assert _files(out) == {"data_cleaning.json": "results of the Chinese run", "en/data_cleaning.html": "English page",
                           "en/data_cleaning.pdf": "English PDF", "zh/data_cleaning.html": "Chinese page"}
    (staging / "zh" / "data_cleaning.failed.ipynb").write_text("the failed notebook")
    runner._publish(spec, runner.Outcome("data_cleaning", "failed"), staging, out, "zh")
    assert _files(out) == {"en/data_cleaning.html": "English page", "en/data_cleaning.pdf": "English PDF",
                           "zh/data_cleaning.failed.ipynb": "the failed notebook"}


def test_the_language_switch_shows_where_the_other_edition_exists(tmp_path):
    """Pages are written with the switch hidden; once published, a page whose other edition exists shows it,
    one whose other edition does not keeps it hidden, and a second pass rewrites nothing."""
    from memberkit.languages import link_languages, switch_link
    for language in ("en", "zh"):
        (tmp_path / language).mkdir()
    for language, name in (("en", "index.html"), ("zh", "index.html"), ("en", "ab_test.html")):
        (tmp_path / language / name).write_text(f"<nav>{switch_link(language, name)}</nav>", encoding="utf-8")
    assert len(link_languages(tmp_path)) == 2
    assert (tmp_path / "en" / "index.html").read_text(encoding="utf-8") == \
        '<nav><a class="mk-lang" href="../zh/index.html" hreflang="zh-CN" lang="zh-CN">中文</a></nav>'
    assert (tmp_path / "zh" / "index.html").read_text(encoding="utf-8") == \
        '<nav><a class="mk-lang" href="../en/index.html" hreflang="en" lang="en">English</a></nav>'
    assert '<a class="mk-lang" hidden="" href="../zh/ab_test.html"' in (tmp_path / "en" / "ab_test.html").read_text(encoding="utf-8")
    assert link_languages(tmp_path) == []
    (tmp_path / "zh" / "index.html").unlink()               # the other edition removed: the switch hides again
    assert link_languages(tmp_path) == [tmp_path / "en" / "index.html"]
    assert "hidden" in (tmp_path / "en" / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_chinese_run_after_an_english_one_keeps_the_english_pages_and_links_the_two(small_config, cleaning_month,
                                                                                     tmp_path):
    """One run renders one language: the Chinese run of the month adds zh/ and its all-months page, leaves
    every English page as it was (its switch now shown) and writes the same results and month figures."""
    out = tmp_path / "2026-10"
    args = ["--config", str(small_config), "--out", str(out), "--only", "data_cleaning"]
    english = _copy_of(cleaning_month, tmp_path)       # the English run of these args, made once for the module
    assert english.returncode == 0, english.stderr
    first = _files(out)
    assert {"en/index.html", "en/data_cleaning.html", "data_cleaning.json", "month.json", "manifest.json"} <= set(first)
    assert not [n for n in first if n.endswith(".html") and not n.startswith("en/")] and not (out / "zh").exists()
    assert (tmp_path / "en" / "index.html").is_file() and not (tmp_path / "index.html").exists()
    chinese = subprocess.run([*RUN, *args, "-p", "language=zh"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert chinese.returncode == 0, chinese.stderr
    after = _files(out)
    for name, text in first.items():
        if name.endswith(".html"):      # the same page, its switch to the Chinese page now shown
            assert f'<a class="mk-lang" hidden="" href="../zh/{Path(name).name}"' in text, name
            assert after[name].replace('<a class="mk-lang" href=', '<a class="mk-lang" hidden="" href=') == text, name
            assert f'<a class="mk-lang" href="../zh/{Path(name).name}"' in after[name], name
        elif name.endswith(".json") and name != "manifest.json":
            assert after[name] == text, f"{name}: the language-free results changed with the language"
    for name in ("index.html", "data_cleaning.html"):
        page = after[f"zh/{name}"]
        assert '<html lang="zh-CN">' in page and f'<a class="mk-lang" href="../en/{name}"' in page
    months = {language: (tmp_path / language / "index.html").read_text(encoding="utf-8") for language in ("en", "zh")}
    assert 'href="../2026-10/en/index.html"' in months["en"] and 'href="../2026-10/zh/index.html"' in months["zh"]
    assert '<a class="mk-lang" href="../zh/index.html"' in months["en"] and "所有月份" not in months["en"]
    assert '<a class="mk-lang" href="../en/index.html"' in months["zh"]


def test_the_run_file_names_a_password_only_as_a_variable_and_is_never_published(small_config, tmp_path, monkeypatch):
    """A password given literally (-p) reaches the kernels through the environment: the run file in the
    staging folder holds ``${MEMBERKIT_SECRET_1}``, is readable by its owner only, and leaves with the staging
    folder; nothing is written to the system temp folder."""
    import tempfile
    from memberkit import runner
    password = SECRETS["p-override"]
    seen = {}

    def fake_notebook(report, root, staging, run_path, log=print):
        seen["text"] = run_path.read_text(encoding="utf-8")
        seen["mode"] = run_path.stat().st_mode & 0o777
        seen["env"] = os.environ.get("MEMBERKIT_SECRET_1")
        seen["folder"] = run_path.parent
        return runner.Outcome(report.name, "failed", error="not run in this test")
    monkeypatch.setattr(runner, "run_notebook", fake_notebook)
    before = set(Path(tempfile.gettempdir()).iterdir())
    out = tmp_path / "2026-10"
    code, _ = runner.run(config_files=[small_config], only=["data_cleaning"], out_dir=str(out), log=lambda m: None,
                         overrides=[f"source.database_url=postgresql://analyst:{password}@db.internal/shop"])
    assert code == 1 and seen["env"] == password and "MEMBERKIT_SECRET_1" not in os.environ
    assert password not in seen["text"] and "analyst:${MEMBERKIT_SECRET_1}@db.internal" in seen["text"]
    assert seen["mode"] == 0o600 and not seen["folder"].exists() and seen["folder"].parent == out.parent
    assert not list(out.rglob("run.json"))
    gc.collect()   # an engine connection's spill folder goes with the connection
    # (another process's folder, memberkit-<kind>-<its pid>-*, may come and go meanwhile: not this run's, which
    # runs in this process; under pytest-xdist the other worker's cleanings stage such folders too)
    others = re.compile(rf"memberkit-[a-z]+-(?!{os.getpid()}-)\d+-")
    assert not {p for p in set(Path(tempfile.gettempdir()).iterdir()) - before
                if "memberkit" in p.name and not others.match(p.name)}


def _report_page(figure: str, words: str = "Member revenue", generated: str = "2026-11-02 06:00") -> str:
    return (f"<html><body><h1>Data cleaning · October 2026</h1><p>{words} {figure}</p>"
            f'<div class="mk-footer"><b>Generated</b>: {generated}<br><b>Code version</b>: 0.{generated[-1]}</div>'
            "</body></html>")


@pytest.mark.parametrize("case, new_page, kept, said", [
    ("the same page, printed at another time", _report_page("CN¥1,200", generated="2026-11-03 07:31"), True, ""),
    ("other words, the same figures", _report_page("CN¥1,200", words="Members spent"), True, "PDF older than its page"),
    ("another figure", _report_page("CN¥1,300"), False, "PDF removed"),
])
def test_a_run_without_pdf_keeps_the_pdfs_published_before_unless_their_figures_changed(tmp_path, case, new_page,
                                                                                         kept, said):
    """Issue 23: a run without --pdf deleted the month's PDFs printed by an earlier run, silently. It now keeps
    a PDF whose page shows the same thing again (the run's stamp aside); keeps one whose page changed its
    words but not its figures and says in the log that it is older than its page; removes one whose page
    now holds other figures, and says so: such a PDF would be believed away from the log."""
    from memberkit import runner
    from memberkit.reports import report
    spec = report("data_cleaning")
    out, staging = tmp_path / "2026-10", tmp_path / "staging"
    for folder in (out / "en", staging / "en"):
        folder.mkdir(parents=True)
    (out / "en" / "data_cleaning.html").write_text(_report_page("CN¥1,200"))
    (out / "en" / "data_cleaning.pdf").write_text("the PDF printed from it")
    (staging / "en" / "data_cleaning.html").write_text(new_page)
    (staging / "data_cleaning.json").write_text("{}")
    log = []
    runner._publish(spec, runner.Outcome("data_cleaning", "ok"), staging, out, "en", pdf=False, log=log.append)
    assert (out / "en" / "data_cleaning.pdf").is_file() == kept, case
    assert (out / "en" / "data_cleaning.html").read_text() == new_page
    assert (said in " ".join(log) and "--pdf" in " ".join(log)) if said else not log, (case, log)
    assert all("data_cleaning.pdf" in line for line in log)


def test_a_run_with_pdf_or_a_failed_report_does_not_keep_the_earlier_pdf(tmp_path):
    """With --pdf the page is printed again, so the earlier PDF goes; a report that failed leaves no page,
    and its PDF goes with it, said in the log."""
    from memberkit import runner
    from memberkit.reports import report
    spec = report("data_cleaning")
    out, staging = tmp_path / "2026-10", tmp_path / "staging"
    for folder in (out / "en", staging / "en"):
        folder.mkdir(parents=True)
    for outcome, pdf in (("ok", True), ("failed", False)):
        (out / "en" / "data_cleaning.html").write_text(_report_page("CN¥1,200"))
        (out / "en" / "data_cleaning.pdf").write_text("the PDF printed from it")
        (staging / "en" / "data_cleaning.html").write_text(_report_page("CN¥1,200"))
        log = []
        runner._publish(spec, runner.Outcome("data_cleaning", outcome), staging, out, "en", pdf=pdf, log=log.append)
        assert not (out / "en" / "data_cleaning.pdf").exists(), outcome
        assert (not log) if pdf else "PDF removed" in log[0], log


def test_the_summarys_pdf_is_kept_by_a_run_without_pdf_while_its_figures_hold(tmp_path):
    """The summary's index.pdf was removed by every run; without --pdf it now follows the report pages' rule."""
    from memberkit import month, runner, store
    from .test_store import hand_folder, hand_run
    run = hand_run()
    out = tmp_path / "2026-10"
    hand_folder(out, run)
    month.produce_figures(store.PeriodStore(out, run))
    runner.write_summary(out, run, {}, lambda *a: None)
    (out / "en" / "index.pdf").write_text("the summary printed")
    log = []
    runner.write_summary(out, run, {}, log.append)             # the same month again, at another time
    assert (out / "en" / "index.pdf").is_file() and not log, log
    page = out / "en" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</h1>", " 1</h1>", 1), encoding="utf-8")
    runner.write_summary(out, run, {}, log.append)             # the page it printed held another number
    assert not (out / "en" / "index.pdf").exists() and "PDF removed" in log[0], log
    (out / "en" / "index.pdf").write_text("the summary printed")
    runner.write_summary(out, run, {}, log.append, pdf=True)   # printed again after the run
    assert not (out / "en" / "index.pdf").exists()


def test_the_quick_start_says_how_to_get_the_pdfs():
    """A reader looking for the PDFs found the instruction near line 450: the first commands say it, in one line."""
    quick = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ", 3)[:3]
    assert any("--pdf" in part and "make reports" in part for part in quick[1:3])
