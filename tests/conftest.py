"""Shared fixtures: a small sample retailer (2,000 people) and a config file pointing at it; the
bundled sample retailer at full size, cleaned; the small retailer's month published once per language.

Under pytest-xdist (``-n 2``, README's ``make test``) the costly session fixtures are still built once per
run, not once per worker: see ``once``."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: DOMAIN.md's table of the 8-segment high/low scheme, as the tests check against it:
#: code -> (R, F, M, Chinese label, English label, what to do), English words in lower case.
DOMAIN_HIGH_LOW = {
    "important_value": ("high", "high", "high", "重要价值客户", "important value",
                        "keep them: premium service, early access"),
    "important_lapsing": ("low", "high", "high", "重要保持客户", "important, lapsing", "hold on to them: personal contact before they lapse"),
    "important_develop": ("high", "low", "high", "重要发展客户", "important to develop",
                          "raise frequency: offers that bring them back"),
    "important_at_risk": ("low", "low", "high", "重要挽留客户", "important, at risk",
                           "about to be lost: targeted retention offer"),
    "general_value": ("high", "high", "low", "一般价值客户", "general value", "raise basket size: bundles, cross-sell"),
    "general_lapsing": ("low", "high", "low", "一般保持客户", "general, lapsing", "keep in touch at low cost: reminders"),
    "general_develop": ("high", "low", "low", "一般发展客户", "general develop", "product promotion, brand messages"),
    "general_at_risk": ("low", "low", "low", "一般挽留客户", "general, at risk", "promotions to reactivate, or let go"),
}


def once(tmp_path_factory, name: str, build):
    """``build()``'s value, built once per test run even when pytest-xdist's workers each ask for it.

    The first worker to ask builds it under a lock in the folder all workers of the run share (pytest's
    ``pytest-<n>``, the parent of each worker's base temporary folder) and leaves it there pickled; the others
    wait for the lock and load it. What ``build`` returns must pickle, and the folders it names are only read
    by the tests (a test that changes a month copies it first). Without xdist: ``build()``.
    Raises whatever ``build`` raises (nothing is kept then, so the next worker tries again)."""
    import fcntl
    import os
    import pickle
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build()
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # released when the file closes, also if build() fails
        kept = shared / f"{name}.pickle"
        if kept.is_file():
            return pickle.loads(kept.read_bytes())
        value = build()
        kept.with_suffix(".part").write_bytes(pickle.dumps(value))
        kept.with_suffix(".part").rename(kept)
        return value


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> tuple[Path, dict]:
    from memberkit.sample import generate_sample

    def build():
        folder = tmp_path_factory.mktemp("sample")
        return folder, generate_sample(folder, n_members=2000, seed=7)
    return once(tmp_path_factory, "small_sample", build)


@pytest.fixture(scope="session")
def small_config(small_sample, tmp_path_factory) -> Path:
    """A config layered over params/base.yaml: same layout as the bundled sample, smaller, fixed as_of."""
    folder, truth = small_sample
    path = tmp_path_factory.mktemp("config") / "small.yaml"
    path.write_text(yaml.safe_dump({"as_of": truth["extracted_at"],
                                    "source": {"base_dir": str(folder), "sample": None}}), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_params(small_config):
    from memberkit.config import load_settings, notebook_params
    return notebook_params(load_settings(ROOT, [small_config]), "data_cleaning")


@pytest.fixture(scope="session")
def small_cleaned(small_params, small_sample, tmp_path_factory):
    import datetime as dt
    from memberkit import clean, engine, sources
    folder, truth = small_sample
    con = engine.connect()
    raw = sources.load_sources(con, small_params.source, ROOT, tmp_path_factory.mktemp("staging"))
    out = tmp_path_factory.mktemp("clean")
    result = clean.clean_all(con, raw, as_of=dt.date.fromisoformat(truth["extracted_at"]),
                             date_formats=small_params.source.tables["orders"].date_formats, out_dir=out)
    return result, truth, out


@pytest.fixture(scope="session")
def small_tables(small_cleaned) -> tuple[dict, dict]:
    """The small sample retailer's clean tables as engine tables, and its truth."""
    from memberkit import engine
    _, truth, out = small_cleaned
    con = engine.connect()
    names = ("orders", "members", "experiments", "campaigns", "campaign_members")
    return {n: con.read_parquet(out / "clean" / f"{n}.parquet", table_name=f"small_{n}") for n in names}, truth


def count_summary_queries(monkeypatch) -> list[list]:
    """Record the end dates (sorted, once each) of every many-dates summary query the code under test
    sends (``summary.member_summaries``); the one-date query ``summary.member_summary`` is taken away."""
    from memberkit import summary
    calls, query = [], summary.member_summaries

    def counted(orders, ends, *args, **kwargs):
        calls.append(sorted(set(ends)))
        return query(orders, ends, *args, **kwargs)
    monkeypatch.setattr(summary, "member_summaries", counted)
    monkeypatch.setattr(summary, "member_summary", None)
    return calls


def record_calls(monkeypatch, owner, name: str) -> list[tuple[tuple, dict]]:
    """Let ``owner.<name>`` work as before while recording each call's (positional, keyword) arguments."""
    calls, real = [], getattr(owner, name)

    def recorded(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)
    monkeypatch.setattr(owner, name, recorded)
    return calls


def member_table_one_query(tables: dict, end, rfm_params):
    """The RFM member table at ``end`` as the A/B and campaign reports computed it before
    ``rfm.member_tables_at``: its own engine query, the members table read as it comes."""
    from memberkit import rfm
    profile = tables["members"].select("member_id", "join_date", "region", "channel").to_pandas()
    return rfm.member_table_at(tables["orders"], profile, end, rfm_params)[0]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def retailer_files(tmp_path_factory) -> tuple[Path, dict]:
    """The bundled sample retailer at its full size (20,000 people, seed 20241): export files and truth."""
    from memberkit.sample import generate_sample

    def build():
        folder = tmp_path_factory.mktemp("retailer")
        return folder, generate_sample(folder, n_members=20000, seed=20241)
    return once(tmp_path_factory, "retailer_files", build)


def cleaned(folder: Path, extracted_at: str, tmp_path_factory, prefix: str,
            names=("orders", "members", "experiments", "campaigns", "campaign_members")) -> dict:
    """A generated retailer's files through sources and cleaning: its clean tables as engine tables
    named ``<prefix>_<table>``."""
    import datetime as dt
    from memberkit import clean, engine, sources
    from memberkit.config import load_settings, notebook_params
    cfg = notebook_params(load_settings(ROOT, [], [f"source.base_dir={folder}", "source.sample=null"]), "data_cleaning")
    con = engine.connect()
    raw = sources.load_sources(con, cfg.source, ROOT, tmp_path_factory.mktemp(f"{prefix}_staging"))
    out = tmp_path_factory.mktemp(f"{prefix}_clean")
    clean.clean_all(con, raw, as_of=dt.date.fromisoformat(extracted_at),
                    date_formats=cfg.source.tables["orders"].date_formats, out_dir=out)
    return {n: con.read_parquet(out / "clean" / f"{n}.parquet", table_name=f"{prefix}_{n}") for n in names}


@pytest.fixture(scope="session")
def retailer(retailer_files, tmp_path_factory):
    """The bundled sample retailer, cleaned: engine tables and truth."""
    folder, truth = retailer_files
    return cleaned(folder, truth["extracted_at"], tmp_path_factory, "retailer"), truth


def publish(config: Path, out: Path, language: str) -> subprocess.CompletedProcess:
    """``run_reports.py --pdf`` on a config into ``out`` (an outputs/<period> folder), in ``language``; what the
    producers built is counted in ``<out>/../calls.jsonl`` (``MEMBERKIT_COUNT_CALLS``)."""
    import os
    env = {**os.environ, "MEMBERKIT_COUNT_CALLS": str(out.parent / "calls.jsonl")}
    return subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(config), "--out", str(out),
                           "--pdf", "-p", "notebooks.data_cleaning.outlier_policy=cap", "-p", f"language={language}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="session")
def e2e(small_config, small_sample, tmp_path_factory):
    """The small sample retailer run end to end as the scheduler does, with PDFs (English): the run, its
    outputs/<period> folder (read only: copy it to change it) and ``small_sample``."""
    def build():
        out = tmp_path_factory.mktemp("reports") / "2026-10"
        return publish(small_config, out, "en"), out
    return *once(tmp_path_factory, "e2e", build), small_sample


@pytest.fixture(scope="session")
def e2e_zh(small_config, small_sample, tmp_path_factory):
    """The same run in Chinese."""
    def build():
        out = tmp_path_factory.mktemp("reports_zh") / "2026-10"
        return publish(small_config, out, "zh"), out
    return *once(tmp_path_factory, "e2e_zh", build), small_sample
