"""The bad-input corpus: each case is a small variation of the shared generated sample (or a
hand-made file) and its expected outcome. Either the checks before any kernel stop the run with
problems naming file, table, column and rule (exit 2), or the input passes and the cleaning
accounts for what it handled. The checks run directly here (no kernel); a few cases go through
the command line to show the exit code and that no traceback reaches the user.

Pending on the money/time parser (issue 12 with 17 item 1): non-finite and implausible amounts,
decimal commas, ISO 8601 timestamps with a zone, unknown order statuses.
"""
from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
import yaml

from memberkit import runner
from memberkit.errors import ConfigError, InputError, Problems

from .conftest import ROOT

BASE_TABLES = yaml.safe_load((ROOT / "params" / "base.yaml").read_text(encoding="utf-8"))["source"]["tables"]
FILES = {"members": "members.csv", "orders": "orders.csv", "campaigns": "campaigns.xlsx",
         "campaign_members": "campaign_members.csv", "experiments": "experiments.csv"}


# ------------------------------------------------------------------ building inputs
def read(folder: Path, table: str) -> pd.DataFrame:
    path = folder / FILES[table]
    if table == "campaigns":
        return pd.read_excel(path, dtype=str)
    return pd.read_csv(path, dtype=str, keep_default_na=False,
                       encoding="gb18030" if table == "members" else "utf-8")


def write(folder: Path, table: str, frame: pd.DataFrame, **kwargs) -> None:
    path = folder / FILES[table]
    if table == "campaigns":
        frame.to_excel(path, sheet_name="campaigns", index=False)
        return
    kwargs.setdefault("encoding", "gb18030" if table == "members" else "utf-8")
    frame.to_csv(path, index=False, **kwargs)


def edit(table: str, change: Callable[[pd.DataFrame], pd.DataFrame], **kwargs):
    """A case step: rewrite one table's file with ``change`` applied."""
    def step(folder: Path):
        write(folder, table, change(read(folder, table)), **kwargs)
    return step


def raw(name: str, content: bytes):
    def step(folder: Path):
        (folder / name).write_bytes(content)
    return step


def with_rows(change: Callable[[pd.DataFrame], None], n: int = 5):
    """Change the first ``n`` rows in place (via ``change(frame, index)``)."""
    def apply(df):
        df = df.copy()
        change(df, df.index[:n])
        return df
    return apply


@dataclass
class Case:
    id: str
    steps: list = field(default_factory=list)          # functions(folder) that change the copied files
    tables: tuple[str, ...] = ("orders",)
    config: dict = field(default_factory=dict)         # merged into the case's config file
    table_config: dict = field(default_factory=dict)   # table -> settings merged into its source entry
    overrides: list[str] = field(default_factory=list)
    expect: list = field(default_factory=list)         # Err / Cfg; empty means the input passes
    cleaned: Callable | None = None                    # for passing inputs: check the cleaning's accounting
    reported: Callable | None = None                   # for passing inputs: check what the report says
    folder_name: str = "in"
    config_text: str | None = None                     # a hand-written config file instead
    out: str | None = None                             # "file": --out is an existing file


@dataclass
class Err:
    """An InputError: file (name), table, column, and words of the rule."""
    file: str | None
    table: str
    column: str | None
    rule: str
    mentions: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()


@dataclass
class Cfg:
    """A ConfigError whose message names all of ``mentions``."""
    mentions: tuple[str, ...]


def _case_input(case: Case, sample: Path, tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / case.folder_name
    folder.mkdir(parents=True)
    for table in case.tables:
        shutil.copy(sample / FILES[table], folder / FILES[table])
    for step in case.steps:
        step(folder)
    tables = {t: {**BASE_TABLES[t], **case.table_config.get(t, {})} for t in case.tables}
    cfg = {"as_of": "2026-11-01", "source": {"base_dir": str(folder), "sample": None, "tables": tables}}
    for key, value in case.config.items():
        cfg[key] = value
    path = tmp_path / "case.yaml"
    path.write_text(case.config_text.replace("{base_dir}", str(folder)) if case.config_text
                    else yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return folder, path


def _problems(case: Case, config: Path, tmp_path: Path) -> list:
    out = Path(case.out) if case.out and case.out != "file" else tmp_path / "out"
    if case.out == "file":
        out.write_text("not a folder")
    try:
        runner.check_run(config_files=[config], out_dir=str(out), overrides=case.overrides)
    except Problems as e:
        return e.problems
    except ConfigError as e:
        return [e]
    return []


def _matches(problem, want) -> bool:
    if isinstance(want, Cfg):
        return isinstance(problem, ConfigError) and all(m in str(problem) for m in want.mentions)
    return (isinstance(problem, InputError) and problem.table == want.table and problem.column == want.column
            and want.rule in problem.rule and (want.file is None or Path(problem.file).name == want.file)
            and all(m in str(problem) for m in want.mentions) and not any(m in str(problem) for m in want.lacks))


# ------------------------------------------------------------------ what the cleaning handled
def _cleaned(config: Path):
    from memberkit import clean, engine, sources
    from memberkit.config import load_settings, notebook_params
    params = notebook_params(load_settings(ROOT, [config]), "data_cleaning")
    con = engine.connect()
    staging = config.parent / "staging"
    raw_tables = sources.load_sources(con, params.source, ROOT, staging)
    return clean.clean_all(con, raw_tables, as_of=dt.date(2026, 11, 1),
                           date_formats=params.source.tables["orders"].date_formats,
                           rules=clean.CleaningRules.from_params(params))


def rejected(table: str, reason: str, n: int):
    """The cleaning set aside exactly ``n`` more rows of ``table`` for ``reason`` than on the unchanged
    sample (which has dirt of its own), and accounts for every row."""
    def check(result, baseline):
        steps = {s["rule"]: s["rows"] for s in result.tables[table].steps}
        before = {s["rule"]: s["rows"] for s in baseline.tables[table].steps}
        assert steps[reason] - before[reason] == n, (steps, before)
        rep = result.tables[table]
        assert rep.rows_in == rep.kept + rep.rejected
    return check


def every_date_read(result, baseline):
    """No order of the file is set aside for its date."""
    assert {s["rule"]: s["rows"] for s in result.tables["orders"].steps}["unparseable_date"] == 0


def kept_as_zero_amount_orders(n: int):
    """``n`` more paid orders of zero than on the unchanged sample are kept as purchases, none rejected."""
    def check(result, baseline):
        assert result.zero_amount_orders - baseline.zero_amount_orders == n
        assert result.tables["orders"].rejected == baseline.tables["orders"].rejected
    return check


def same_orders_and_revenue_as_the_sample(decimal_mark: str | None = None):
    """The same orders kept and the same gross and net revenue, to the cent, as on the unchanged sample."""
    def check(result, baseline):
        assert result.tables["orders"].kept == baseline.tables["orders"].kept
        assert result.orders_kept == baseline.orders_kept
        assert result.revenue == baseline.revenue
        if decimal_mark:
            assert result.decimal_marks.get("orders.amount") == decimal_mark
    return check


def _as_utc_iso(orders: pd.DataFrame) -> pd.DataFrame:
    """The same instants as ISO 8601 in UTC with a ``Z`` (the shop's clock is Asia/Shanghai)."""
    local = pd.to_datetime(orders.OrderTime, errors="coerce").dt.tz_localize("Asia/Shanghai")
    iso = local.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return orders.assign(OrderTime=iso.where(local.notna(), orders.OrderTime))


_BASELINES: dict = {}


def _baseline(tables: tuple[str, ...], sample: Path, tmp_path_factory):
    if tables not in _BASELINES:
        _, config = _case_input(Case("baseline", tables=tables), sample, tmp_path_factory.mktemp("baseline"))
        _BASELINES[tables] = _cleaned(config)
    return _BASELINES[tables]


def _mixed_formats(orders: pd.DataFrame) -> pd.DataFrame:
    """The same instants written in three formats the config lists, row by row."""
    when = pd.to_datetime(orders.OrderTime, format="mixed", errors="coerce")
    formats = ["%Y%m%d", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S"]
    text = [original if pd.isna(t) else t.strftime(formats[i % 3])
            for i, (t, original) in enumerate(zip(when, orders.OrderTime))]
    return orders.assign(OrderTime=text)


def _rewritten_times(form: Callable[[pd.Timestamp], str]):
    """Every order time that reads as a time rewritten by ``form``; the sample's unreadable ones kept."""
    def change(orders: pd.DataFrame) -> pd.DataFrame:
        when = pd.to_datetime(orders.OrderTime, format="mixed", errors="coerce")
        return orders.assign(OrderTime=[original if pd.isna(t) else form(t)
                                        for t, original in zip(when, orders.OrderTime)])
    return change


def _chinese_time(t: pd.Timestamp) -> str:
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M:%S}"


def _time_with_micros(t: pd.Timestamp) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}.210827"


def _day_first(t: pd.Timestamp) -> str:
    return f"{t.day}/{t.month}/{t.year} {t:%H:%M}"


def _month_first(t: pd.Timestamp) -> str:
    return f"{t.month}/{t.day}/{t.year} {t:%H:%M}"


def _undecided(orders: pd.DataFrame) -> pd.DataFrame:
    """Every order on the 10th of February or October 2026, written day/month/year: no value decides."""
    return orders.assign(OrderTime=[f"10/{2 if i % 2 else 10}/2026 10:56" for i in range(len(orders))])


def read_as(form: str):
    """The cleaned orders' times are the file's text read with ``form`` (a strptime format)."""
    def check(config: Path):
        text = pd.read_csv(config.parent / "in" / "orders.csv", dtype=str, keep_default_na=False).OrderTime
        want = pd.to_datetime(text, format=form, errors="coerce").dropna()
        got = _analysed(config)["orders"].order_ts.execute()
        assert len(got) > 0.9 * len(want)
        assert set(got) <= set(want), sorted(set(got) - set(want))[:5]
    return check


def _analysed(config: Path):
    """The cleaning with its clean tables, as the reports open them."""
    from memberkit import clean, engine, sources
    from memberkit.config import load_settings, notebook_params
    params = notebook_params(load_settings(ROOT, [config]), "data_cleaning")
    con = engine.connect()
    raw_tables = sources.load_sources(con, params.source, ROOT, config.parent / "staging")
    out = config.parent / "cleaned"
    clean.clean_all(con, raw_tables, as_of=dt.date(2026, 11, 1),
                    date_formats=params.source.tables["orders"].date_formats, out_dir=out)
    return {p.stem: con.read_parquet(p, table_name=f"clean_{p.stem}") for p in (out / "clean").glob("*.parquet")}


def one_variant_is_skipped_with_its_reason(config: Path):
    from memberkit import abtest
    from memberkit.config import load_settings, notebook_params
    params = notebook_params(load_settings(ROOT, [config]), "ab_test")
    analysis = abtest.analyse(_analysed(config), "2026-10", params)
    assert not analysis.experiments and analysis.skipped
    assert all("has only the variant 'control'; nothing to compare" in why for why in analysis.skipped.values())


def no_holdout_is_compared_with_a_matched_baseline(config: Path):
    from memberkit import campaign
    from memberkit.config import load_settings, notebook_params
    params = notebook_params(load_settings(ROOT, [config]), "campaign_review")
    analysis = campaign.analyse(_analysed(config), "2026-10", params, data_end=dt.date(2026, 10, 31))
    assert analysis.reviewed and not analysis.skipped
    assert {analysis.reviews[c].evidence for c in analysis.reviewed} == {"matched_baseline"}


def excel_serial_starts_read_as_their_dates(config: Path):
    """Excel's day numbers count from 1899-12-30 (its 1900 leap-year bug included)."""
    serials = pd.read_excel(config.parent / "in" / "campaigns.xlsx", dtype=str).start.astype(int)
    want = sorted((pd.Timestamp("1899-12-30") + pd.to_timedelta(serials, unit="D")).dt.date)
    starts = _analysed(config)["campaigns"].start.to_pyarrow().to_pylist()
    assert sorted(s if isinstance(s, dt.date) else s.date() for s in starts) == want


def _ole2(folder: Path):
    (folder / "campaigns.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)


def _sqlite(table_name: str):
    def step(folder: Path):
        orders = read(folder, "orders")
        with sqlite3.connect(folder / "shop.db") as db:
            orders.to_sql(table_name, db, index=False)
    return step


def _amount(value):
    return with_rows(lambda df, idx: df.__setitem__("PaidAmount", value), n=10**9)


def _paid(column, value, n=5):
    """Set ``column`` on the first ``n`` rows, which become paid orders."""
    def change(df, idx):
        df.loc[idx, column] = value
        df.loc[idx, "Status"] = "paid"
    return with_rows(change, n)


def _set(column, value, n=5):
    def change(df, idx):
        df.loc[idx, column] = value
    return with_rows(change, n)


SQL = {"orders": {"path": None, "query": "order_lines", "format": "sql"}}
ALL = ("members", "orders", "campaigns", "campaign_members", "experiments")

CASES = [
    # ---- encodings, byte order marks, delimiters, empty files
    Case("orders-in-gb18030-declared-utf8", [edit("orders", lambda d: d, encoding="gb18030")],
         expect=[Err("orders.csv", "orders", None, "not valid utf-8", ("gb18030", "encoding"))]),
    Case("orders-in-utf16-declared-utf8", [edit("orders", lambda d: d, encoding="utf-16")],
         expect=[Err("orders.csv", "orders", None, "not valid utf-8", ("utf-16",))]),
    Case("members-in-utf8-declared-gb18030", [edit("members", lambda d: d, encoding="utf-8")],
         tables=("members", "orders"), expect=[Err("members.csv", "members", None, "not valid gb18030",
                                                    ("reads as utf-8",))]),
    Case("members-in-gb18030-declared-utf8", tables=("members", "orders"),
         table_config={"members": {"encoding": "utf-8"}},
         expect=[Err("members.csv", "members", None, "not valid utf-8", ("gb18030",))]),
    Case("orders-with-byte-order-mark", [edit("orders", lambda d: d, encoding="utf-8-sig")]),
    Case("members-with-byte-order-mark", [edit("members", lambda d: d, encoding="utf-8-sig")],
         tables=("members", "orders"), table_config={"members": {"encoding": "utf-8-sig"}}),
    Case("orders-rows-end-with-an-extra-delimiter",
         [lambda f: (f / "orders.csv").write_text("\n".join(
             [l if i == 0 else l + "," for i, l in enumerate((f / "orders.csv").read_text().splitlines())]) + "\n")],
         expect=[Err("orders.csv", "orders", None, "different number of fields than the header",
                     ("line 2", "ends with a delimiter"), lacks=("encoding",))]),
    Case("orders-empty-file", [raw("orders.csv", b"")], expect=[Err("orders.csv", "orders", None, "the file is empty")]),
    Case("orders-header-only", [edit("orders", lambda d: d.head(0))],
         expect=[Err("orders.csv", "orders", None, "header but no data rows")]),
    Case("experiments-header-only-is-fine", [edit("experiments", lambda d: d.head(0))],
         tables=("orders", "experiments")),
    Case("orders-semicolon-delimited-declared-comma", [edit("orders", lambda d: d, sep=";")],
         expect=[Err("orders.csv", "orders", c, "required column is missing", ("'delimiter'", "';'"), lacks=("encoding",))
                 for c in ("MemberID", "OrderTime", "PaidAmount")]),
    Case("orders-tab-delimited-declared-tab", [edit("orders", lambda d: d, sep="\t")],
         table_config={"orders": {"delimiter": "\t"}}),
    # ---- columns
    Case("orders-missing-required-column", [edit("orders", lambda d: d.drop(columns=["PaidAmount"]))],
         expect=[Err("orders.csv", "orders", "PaidAmount", "required column is missing", ("amount",))]),
    Case("orders-missing-two-required-columns", [edit("orders", lambda d: d.drop(columns=["PaidAmount", "MemberID"]))],
         expect=[Err("orders.csv", "orders", "PaidAmount", "required column is missing"),
                 Err("orders.csv", "orders", "MemberID", "required column is missing")]),
    Case("orders-extra-columns-are-ignored", [edit("orders", lambda d: d.assign(Email="x@example.com", Note="备注"))]),
    Case("orders-missing-optional-columns", [edit("orders", lambda d: d.drop(columns=["Category", "Channel"]))]),
    Case("column-map-names-an-unknown-canonical-column", table_config={"orders": {"columns": {
        **BASE_TABLES["orders"]["columns"], "amont": "PaidAmount"}}},
        expect=[Err("orders.csv", "orders", "amont", "unknown canonical column")]),
    Case("orders-file-not-found", table_config={"orders": {"path": "nope.csv"}},
         expect=[Err("nope.csv", "orders", None, "file not found")]),
    Case("base-folder-missing", [lambda folder: shutil.rmtree(folder)], tables=("members", "orders"),
         expect=[Err("in", "", None, "folder not found", ("source.base_dir", "members, orders"),
                     lacks=("file not found",))]),
    # ---- wrong types, all-empty columns
    Case("orders-amount-is-text", [edit("orders", _amount("about ten"))],
         expect=[Err("orders.csv", "orders", "amount", "parse as number", ("'_row': 1", "about ten"))]),
    Case("orders-amount-empty-in-every-row", [edit("orders", _amount(""))],
         expect=[Err("orders.csv", "orders", "amount", "empty in every row")]),
    Case("orders-member-id-empty-in-every-row", [edit("orders", lambda d: d.assign(MemberID=""))],
         expect=[Err("orders.csv", "orders", "member_id", "empty in every row", ("guest",))]),
    Case("orders-dates-are-text", [edit("orders", lambda d: d.assign(OrderTime="yesterday"))],
         expect=[Err("orders.csv", "orders", "order_ts", "parse as timestamp", ("yesterday",))]),
    Case("orders-chinese-dates-in-a-declared-format", [edit("orders", _rewritten_times(_chinese_time))],
         table_config={"orders": {"date_formats": ["%Y年%m月%d日 %H:%M:%S"]}},
         cleaned=same_orders_and_revenue_as_the_sample()),
    Case("orders-fractional-seconds-in-a-declared-format", [edit("orders", _rewritten_times(_time_with_micros))],
         table_config={"orders": {"date_formats": ["%Y-%m-%d %H:%M:%S.%f"]}},
         cleaned=same_orders_and_revenue_as_the_sample()),
    Case("orders-day-first-spreadsheet-dates", [edit("orders", _rewritten_times(_day_first))],
         cleaned=rejected("orders", "unparseable_date", 0), reported=read_as("%d/%m/%Y %H:%M")),
    Case("orders-month-first-spreadsheet-dates", [edit("orders", _rewritten_times(_month_first))],
         cleaned=rejected("orders", "unparseable_date", 0), reported=read_as("%m/%d/%Y %H:%M")),
    Case("orders-spreadsheet-dates-nothing-decides", [edit("orders", _undecided)],
         expect=[Err("orders.csv", "orders", "order_ts", "day first or month first",
                     ("date_formats", "10/2/2026 10:56", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
                      "10 February 2026", "2 October 2026"))]),
    Case("orders-spreadsheet-dates-in-a-declared-format", [edit("orders", _undecided)],
         table_config={"orders": {"date_formats": ["%d/%m/%Y %H:%M"]}}, cleaned=every_date_read),
    Case("orders-mixed-date-formats", [edit("orders", _mixed_formats)], cleaned=rejected("orders", "unparseable_date", 0)),
    # ---- Excel
    Case("campaigns-with-excel-serial-dates", [edit("campaigns", lambda d: d.assign(
        start=[str((pd.Timestamp(x) - pd.Timestamp("1899-12-30")).days) for x in d.start]))],
        tables=("orders", "campaigns"), reported=excel_serial_starts_read_as_their_dates),
    Case("campaigns-in-a-legacy-xls-workbook", [_ole2], tables=("orders", "campaigns"),
         table_config={"campaigns": {"path": "campaigns.xls"}},
         expect=[Err("campaigns.xls", "campaigns", None, "legacy Excel 97-2003", (".xlsx",))]),
    Case("campaigns-csv-saved-as-xlsx", [raw("campaigns.xlsx", b"campaign_id,start,end\nC1,2026-01-01,2026-01-05\n")],
         tables=("orders", "campaigns"), expect=[Err("campaigns.xlsx", "campaigns", None, "not an Excel workbook")]),
    Case("campaigns-sheet-missing", tables=("orders", "campaigns"), table_config={"campaigns": {"sheet": "活动"}},
         expect=[Err("campaigns.xlsx", "campaigns", None, "cannot read the sheet", ("活动",))]),
    Case("campaign-ends-before-it-starts", [edit("campaigns", lambda d: d.assign(
        end=[e if i else "2020-01-01" for i, e in enumerate(d.end)]))], tables=("orders", "campaigns"),
        expect=[Err("campaigns.xlsx", "campaigns", "end", "ends before it starts", ("C2501",))]),
    Case("campaign-without-holdout", [edit("campaign_members", lambda d: d[d.group != "holdout"])],
         tables=("orders", "campaigns", "campaign_members"), reported=no_holdout_is_compared_with_a_matched_baseline),
    Case("experiment-with-one-variant", [edit("experiments", lambda d: d.assign(variant="control"))],
         tables=("orders", "experiments"), reported=one_variant_is_skipped_with_its_reason),
    # ---- rows the cleaning handles and accounts for
    Case("members-duplicated-rows", [edit("members", lambda d: pd.concat([d, d.head(7)]))], tables=("members", "orders"),
         cleaned=rejected("members", "duplicate", 7)),
    Case("members-duplicated-ids-with-different-details", [edit("members", lambda d: pd.concat(
        [d, d.head(5).assign(城市="Shanghai", 注册日期="2026-01-01")]))], tables=("members", "orders"),
        cleaned=rejected("members", "duplicate_member_id", 5)),
    Case("orders-for-unknown-members", [edit("orders", _set("MemberID", "U9999999", 6))], tables=("members", "orders"),
         cleaned=rejected("orders", "unknown_member", 6)),
    Case("orders-negative-amounts-outside-a-return", [edit("orders", _paid("PaidAmount", "-12.5", 4))],
         cleaned=rejected("orders", "negative_amount", 4)),
    Case("orders-zero-amounts-are-purchases", [edit("orders", _paid("PaidAmount", "0", 3))],
         cleaned=kept_as_zero_amount_orders(3)),
    Case("orders-amounts-nan", [edit("orders", _paid("PaidAmount", "NaN", 3))],
         cleaned=rejected("orders", "non_finite_amount", 3)),
    Case("orders-amounts-infinite", [edit("orders", _paid("PaidAmount", "inf", 2))],
         cleaned=rejected("orders", "non_finite_amount", 2)),
    Case("orders-amounts-of-1e15", [edit("orders", _paid("PaidAmount", "1e15", 3))],
         cleaned=rejected("orders", "implausible_amount", 3)),
    Case("orders-amounts-with-a-decimal-comma", [edit("orders", lambda d: d.assign(
        PaidAmount=d.PaidAmount.str.replace(".", ",", regex=False)))],
        cleaned=same_orders_and_revenue_as_the_sample(decimal_mark=",")),
    Case("orders-few-decimal-points-under-a-declared-comma", [edit("orders", lambda d: d.assign(
        PaidAmount=d.PaidAmount.where(d.index < 3, d.PaidAmount.str.replace(".", ",", regex=False)),
        DiscountAmount=d.DiscountAmount.str.replace(".", ",", regex=False),
        Status=d.Status.where(d.index >= 3, "paid")))], table_config={"orders": {"decimal": ","}},
        cleaned=rejected("orders", "unparseable_amount", 3)),
    Case("orders-iso-timestamps-with-a-zone", [edit("orders", _as_utc_iso)],
         cleaned=same_orders_and_revenue_as_the_sample()),
    Case("orders-few-unknown-statuses-are-set-aside", [edit("orders", _set("Status", "在途", 4))],
         cleaned=rejected("orders", "unknown_status", 4)),
    Case("orders-every-status-unknown", [edit("orders", lambda d: d.assign(Status="zugestellt"))],
         expect=[Err("orders.csv", "orders", "Status", "have a status the kit does not know",
                     ("zugestellt", "statuses"))]),
    Case("orders-with-future-dates", [edit("orders", _set("OrderTime", "2027-03-01 10:00:00", 3))],
         cleaned=rejected("orders", "future_date", 3)),
    Case("orders-of-one-member-only", [edit("orders", lambda d: d.assign(MemberID="U1000001"))]),
    # ---- the period against the data and as_of
    Case("period-with-no-orders", overrides=["period=2019-01"],
         expect=[Err("orders.csv", "orders", "order_ts", "no orders in the period 2019-01", ("run from",))]),
    Case("period-after-the-extraction-date", config={"period": "2027-02", "as_of": "2027-01-25"},
         expect=[Cfg(("2027-02", "starts after the extraction date", "2027-01-25"))]),
    Case("period-still-open-at-extraction-named-explicitly", config={"period": "2026-10", "as_of": "2026-10-25"}),
    Case("default-period-falls-after-the-data", config={"as_of": "2027-06-03"},
         expect=[Err("orders.csv", "orders", "order_ts", "no orders in the period 2027-05", ("2026-10-31",))]),
    # ---- parameters
    Case("parameter-of-the-wrong-type", config={"notebooks": {"rfm_segmentation": {"window_days": "a year"}}},
         expect=[Cfg(("rfm_segmentation", "window_days"))]),
    Case("parameter-out-of-range", config={"notebooks": {"clv_forecast": {"margin": 1.5}}},
         expect=[Cfg(("clv_forecast", "margin", "less than or equal to 1"))]),
    Case("parameter-list-given-as-text", config={"notebooks": {"ab_test": {"guardrail_metrics": "aov"}}},
         expect=[Cfg(("ab_test", "guardrail_metrics"))]),
    Case("unknown-key-in-a-report-section", config={"notebooks": {"rfm_segmentation": {"windw_days": 180}}},
         expect=[Cfg(("rfm_segmentation", "windw_days"))]),
    Case("section-for-an-unknown-report", config={"notebooks": {"churn_report": {"window_days": 180}}},
         expect=[Cfg(("notebooks.churn_report", "unknown report"))]),
    Case("every-report-with-bad-parameters-is-named", config={"notebooks": {
        "rfm_segmentation": {"window_days": 5}, "campaign_review": {"post_days": 1000}}},
        expect=[Cfg(("rfm_segmentation", "window_days")), Cfg(("campaign_review", "post_days"))]),
    Case("as-of-in-another-format", config={"as_of": "1 Nov 2026"}, expect=[Cfg(("as_of", "2026-11-01"))]),
    Case("yaml-tag-that-would-construct-an-object",
         config_text="as_of: !!python/object/apply:os.system ['touch {base_dir}/pwned']\n",
         expect=[Cfg(("not valid YAML",))]),
    Case("override-for-a-misspelt-report", overrides=["notebooks.rfm_segmentaton.window_days=180"],
         expect=[Cfg(("rfm_segmentaton", "unknown report", "did you mean 'rfm_segmentation'"))]),
    Case("override-of-a-misspelt-key", overrides=["notebooks.rfm_segmentation.windw_days=180"],
         expect=[Cfg(("windw_days", "did you mean 'window_days'"))]),
    Case("override-of-a-misspelt-shared-setting", overrides=["langauge=zh"],
         expect=[Cfg(("langauge", "did you mean 'language'"))]),
    Case("override-without-a-value", overrides=["split"], expect=[Cfg(("key=value",))]),
    Case("override-maps-an-unknown-canonical-column", overrides=["source.tables.orders.columns.amont=PaidAmount"],
         expect=[Err("orders.csv", "orders", "amont", "unknown canonical column")]),
    # ---- every problem at once
    Case("problems-in-several-tables-and-parameters-reported-together",
         [edit("orders", lambda d: d.drop(columns=["PaidAmount"])), edit("members", lambda d: d, encoding="utf-8")],
         tables=("members", "orders"), table_config={"members": {"encoding": "utf-16"}},
         overrides=["notebooks.clv_forecast.horizon_months=0"],
         expect=[Err("orders.csv", "orders", "PaidAmount", "required column is missing"),
                 Err("members.csv", "members", None, "not valid utf-16"), Cfg(("horizon_months",))]),
    # ---- where the files are
    Case("paths-with-spaces-and-chinese-characters", folder_name="my exports/会员 数据 2026"),
    Case("output-folder-is-a-file", out="file", expect=[Cfg(("is a file",))]),
    Case("output-folder-not-writable", out="/proc/memberkit-reports/2026-10", expect=[Cfg(("cannot write in /proc",))]),
    Case("sql-source", [_sqlite("order_lines")], table_config=SQL),
    Case("sql-source-missing-table", [_sqlite("orders_2026")], table_config=SQL,
         expect=[Err("order_lines", "orders", None, "the database has no such table", ("orders_2026",))]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_corpus(case, small_sample, tmp_path, tmp_path_factory):
    sample, _ = small_sample
    folder, config = _case_input(case, sample, tmp_path)
    if case.table_config is SQL:   # the database sits in the case's folder
        cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
        cfg["source"]["database_url"] = f"sqlite:///{folder / 'shop.db'}"
        config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    problems = _problems(case, config, tmp_path)
    for want in case.expect:
        assert any(_matches(p, want) for p in problems), f"expected {want}, found:\n" + "\n".join(map(str, problems))
    assert len(problems) == len(case.expect), "\n".join(map(str, problems))
    for p in problems:
        assert "Traceback" not in str(p)
    assert not (folder / "pwned").exists()
    if case.cleaned:
        case.cleaned(_cleaned(config), _baseline(case.tables, sample, tmp_path_factory))
    if case.reported:
        case.reported(config)


def test_the_corpus_is_at_least_forty_cases():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


# ------------------------------------------------------------------ through the command line
def _cli(args, cwd=ROOT, timeout=300, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "run_reports.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


@pytest.mark.parametrize("case_id", ["orders-rows-end-with-an-extra-delimiter", "sql-source-missing-table",
                                     "output-folder-not-writable", "base-folder-missing"])
def test_command_line_exits_2_with_one_message_and_no_traceback(case_id, small_sample, tmp_path):
    case = next(c for c in CASES if c.id == case_id)
    sample, _ = small_sample
    folder, config = _case_input(case, sample, tmp_path)
    if case.table_config is SQL:
        cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
        cfg["source"]["database_url"] = f"sqlite:///{folder / 'shop.db'}"
        config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    out = Path(case.out) if case.out and case.out != "file" else tmp_path / "out"
    proc = _cli(["--config", str(config), "--out", str(out)])
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
    want = case.expect[0]
    assert all(m in proc.stderr for m in ((want.rule,) if isinstance(want, Err) else want.mentions)), proc.stderr
    assert len(case.expect) > 1 or len(proc.stderr.splitlines()) == 1, proc.stderr   # one problem, one line
    assert not out.exists(), "nothing is written when a check fails"


# ------------------------------------------------------------------ a period still open at extraction
def test_a_period_named_explicitly_may_end_after_as_of_and_says_which_days_it_covers(small_sample, tmp_path):
    case = Case("open", config={"period": "2026-10", "as_of": "2026-10-25"})
    _, config = _case_input(case, small_sample[0], tmp_path)
    prepared = runner.check_run(config_files=[config], out_dir=str(tmp_path / "out"))
    assert prepared.period == "2026-10"
    assert "still open" in prepared.period_reason and "2026-10-01 to 2026-10-25" in prepared.period_reason


def test_the_default_period_stays_the_last_complete_month(small_sample, tmp_path):
    case = Case("default", config={"as_of": "2026-10-25"})
    _, config = _case_input(case, small_sample[0], tmp_path)
    prepared = runner.check_run(config_files=[config], out_dir=str(tmp_path / "out"))
    assert prepared.period == "2026-09" and "still open" not in prepared.period_reason


@pytest.mark.parametrize("language, words", [("en", ("still open", "2026-10-01", "2026-10-25")),
                                             ("zh", ("尚未结束", "2026-10-01", "2026-10-25"))])
def test_every_report_says_when_its_month_was_still_open(language, words):
    from memberkit.views import Presentation, page
    p = Presentation(language=language)
    assert all(w in page.open_period_sentence(p, "2026-10", dt.date(2026, 10, 25)) for w in words)
    assert page.open_period_sentence(p, "2026-09", dt.date(2026, 10, 25)) == ""
    for notebook in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        assert "page.open_period(p, ctx)" in notebook.read_text(encoding="utf-8"), notebook.name


# ------------------------------------------------------------------ the shop's regions
COUNTRIES = ["United Kingdom", "France", "EIRE", "Germany", "???", "United Kingdom", "Channel Islands", "0"]


def _region_quality(sample: Path, tmp_path: Path, regions: list[str] | None) -> int:
    """The data-quality table's invalid count for the members' region when the region column holds
    country names (two of them junk: '???' and '0'), with the shop's ``regions`` list or without one."""
    from memberkit import clean, engine, sources
    from memberkit.config import load_settings, notebook_params
    case = Case("regions", [edit("members", lambda d: d.assign(城市=[COUNTRIES[i % len(COUNTRIES)] for i in range(len(d))]))],
                tables=("members", "orders"),
                config={"notebooks": {"data_cleaning": {"regions": regions}}} if regions else {})
    _, config = _case_input(case, sample, tmp_path)
    params = notebook_params(load_settings(ROOT, [config]), "data_cleaning")
    con = engine.connect()
    raw_tables = sources.load_sources(con, params.source, ROOT, tmp_path / "staging")
    result = clean.clean_all(con, raw_tables, as_of=dt.date(2026, 11, 1), date_formats=params.source.tables["orders"].date_formats,
                             rules=clean.CleaningRules.from_params(params))
    q = result.quality.set_index(["table", "column"])
    return int(q.loc[("members", "region"), "invalid"]), int(q.loc[("members", "region"), "rows"])


def test_country_names_are_not_invalid_regions_without_a_list_only_junk_is(small_sample, tmp_path):
    invalid, rows = _region_quality(small_sample[0], tmp_path, None)
    junk = sum(1 for i in range(rows) if COUNTRIES[i % len(COUNTRIES)] in ("???", "0"))
    assert invalid == junk


def test_regions_are_checked_against_the_shops_list_when_one_is_given(small_sample, tmp_path):
    invalid, rows = _region_quality(small_sample[0], tmp_path, ["united kingdom", "France", "EIRE", "Germany"])
    outside = sum(1 for i in range(rows) if COUNTRIES[i % len(COUNTRIES)] in ("???", "0", "Channel Islands"))
    assert invalid == outside


# ------------------------------------------------------------------ headlines that agree with their page
def _clv_results(no_dropout: bool) -> dict:
    return {"kpis": {"total_clv": 120_000.0, "top10_share": 0.41, "high_value_at_risk": 0},
            "results": {"horizon_months": 12, "alive_threshold": 0.5,
                        "no_dropout": {"holdout": ["bg_nbd"] if no_dropout else [], "final": no_dropout}}}


@pytest.mark.parametrize("language, says, lacks", [
    ("en", "no member is seen to leave", "0 high-value members are less than"),
    ("zh", "看不到会员离开", "0 名高价值会员")])
def test_clv_headline_states_the_no_drop_out_finding_instead_of_zero_at_risk(language, says, lacks):
    from memberkit.views import Presentation
    from memberkit.views import clv as clv_view
    p = Presentation(language=language)
    sentence = clv_view.headline(p, _clv_results(no_dropout=True))
    assert says in sentence and lacks not in sentence
    assert says not in clv_view.headline(p, _clv_results(no_dropout=False))


@pytest.mark.parametrize("language, says", [("en", "Campaigns: no campaigns table"), ("zh", "活动：没有活动表")])
def test_summary_says_there_is_no_campaigns_table_rather_than_none_ended(language, says):
    from memberkit import month
    from memberkit.month import ReportState
    from memberkit.views import month as month_views
    no_table = {"period": "2026-10", "kpis": {}, "results": {"has_table": False, "campaigns": {}}}
    none_ended = {"period": "2026-10", "kpis": {}, "results": {"has_table": True, "campaigns": {}}}
    for results, want in ((no_table, says), (none_ended, month_views.text("month.happened_campaigns_none", language))):
        s = month.MonthSummary("2026-10", language, "CNY", [ReportState("campaign_review", "ok", results)], None)
        assert any(want in sentence for sentence in month_views.happened(s))
        assert not any("none ended" in sentence or "没有结束" in sentence
                       for sentence in month_views.happened(s)) or results is none_ended


def test_the_summary_page_says_its_month_was_still_open(tmp_path):
    from memberkit import month
    from memberkit.views import month as month_views
    s = month.collect(tmp_path, "2026-10", "en", "CNY", ["campaign_review"], as_of=dt.date(2026, 10, 25))
    assert any("covers 2026-10-01 to 2026-10-25 only" in sentence for sentence in month_views.happened(s))
    s = month.collect(tmp_path, "2026-09", "en", "CNY", ["campaign_review"], as_of=dt.date(2026, 10, 25))
    assert not any("still open" in sentence for sentence in month_views.happened(s))


def test_in_an_open_month_only_experiments_whose_window_closed_by_as_of_are_evaluated(small_sample, tmp_path):
    """EXP-BANNER is assigned on 2026-09-01; with a 50-day window its outcomes are complete on 2026-10-21."""
    from memberkit import abtest
    from memberkit.config import load_settings, notebook_params
    case = Case("open-ab", tables=("orders", "experiments"), config={"notebooks": {"ab_test": {"window_days": 50}}})
    _, config = _case_input(case, small_sample[0], tmp_path)
    params = notebook_params(load_settings(ROOT, [config]), "ab_test")
    tables = _analysed(config)

    def evaluated(as_of):
        a = abtest.analyse(tables, "2026-10", params, data_end=as_of)
        return {r.experiment_id for r in a.experiments} | set(a.skipped)
    assert "EXP-BANNER" in evaluated(dt.date(2026, 10, 25))
    assert "EXP-BANNER" not in evaluated(dt.date(2026, 10, 15))
    for notebook in ("04_ab_test.ipynb", "05_campaign_review.ipynb"):
        assert "data_end=ctx.as_of" in (ROOT / "notebooks" / notebook).read_text(encoding="utf-8")


# ------------------------------------------------------------------ issue 27: the decimal mark, decided with evidence
def _comma_written(x: str) -> str:
    """'1234.5' -> '1.234,50': the same amount as a decimal-comma export writes it."""
    return f"{float(x):,.2f}".translate(str.maketrans(",.", ".,"))


def _few_comma_amounts(n: int, text: Callable[[str], str]):
    """The first ``n`` rows become paid orders whose amount is ``text(amount)``."""
    def change(df, idx):
        df.loc[idx, "PaidAmount"] = [text(v) for v in df.loc[idx, "PaidAmount"]]
        df.loc[idx, "Status"] = "paid"
    return edit("orders", with_rows(change, n))


def test_a_number_in_the_other_decimal_mark_is_unreadable_not_rescaled():
    import ibis
    from memberkit import engine
    con = engine.connect()
    t = ibis.memtable({"a": ["495.92", "1.234,50", "12,5", "1.234", "(7,25)"]})
    assert [None if v is None else str(v) for v in con.execute(engine.parse_money(t.a, 2, ",").name("m"))] == \
        [None, "1234.50", "12.50", "1234.00", "-7.25"]
    t = ibis.memtable({"a": ["495.92", "1.234,50", "12,5", "1,234"]})
    assert [None if v is None else str(v) for v in con.execute(engine.parse_money(t.a, 2, ".").name("m"))] == \
        ["495.92", None, None, "1234.00"]


def test_the_decimal_mark_advice_keeps_revenue_to_the_cent(small_sample, tmp_path):
    """A few '1.234,50' amounts among ordinary '495.92' ones: the stop message counts both forms and
    says what each setting does; following its advice sets the few aside as unparseable amounts
    (the same revenue, to the cent, as when those amounts are unreadable), and the other setting
    sets the many aside instead of multiplying them by 100."""
    import re
    sample, _ = small_sample
    n = 9
    _, config = _case_input(Case("mixed", [_few_comma_amounts(n, _comma_written)]), sample, tmp_path / "mixed")
    problems = _problems(Case("mixed"), config, tmp_path / "mixed")
    assert len(problems) == 1 and problems[0].column == "amount", problems
    message = str(problems[0])
    points = int(read(config.parent / "in", "orders").PaidAmount.str.fullmatch(r"-?\d+\.\d{1,2}").sum())
    assert f"{points:,} values with a decimal point" in message and f"{n} with a decimal comma" in message, message
    advised = re.search(r"set the table's 'decimal' to '(.)'", message).group(1)
    assert advised == "."
    assert f"With '.': the {n} decimal-comma values are set aside as unparseable amounts" in message, message
    assert f"with ',': the {points:,} decimal-point values are set aside" in message, message

    def cleaned_with(decimal, steps, name):
        case = Case(name, steps, table_config={"orders": {"decimal": decimal}} if decimal else {})
        _, cfg = _case_input(case, sample, tmp_path / name)
        assert _problems(case, cfg, tmp_path / name) == []
        return _cleaned(cfg)

    followed = cleaned_with(advised, [_few_comma_amounts(n, _comma_written)], "followed")
    unreadable = cleaned_with(None, [_few_comma_amounts(n, lambda v: "unreadable")], "unreadable")
    assert followed.revenue == unreadable.revenue
    assert followed.orders_kept == unreadable.orders_kept
    rejected("orders", "unparseable_amount", 0)(followed, unreadable)

    assert f"with ',': the {points:,} decimal-point values are set aside as unparseable amounts; more than 50% " \
           "of the column unreadable stops the run" in message, message
    other = Case("other", [_few_comma_amounts(n, _comma_written)], table_config={"orders": {"decimal": ","}},
                 expect=[Err("orders.csv", "orders", c, "parse as number", ("decimal mark ','",))
                         for c in ("amount", "discount")])
    _, cfg = _case_input(other, sample, tmp_path / "other")
    found = _problems(other, cfg, tmp_path / "other")
    assert len(found) == 2 and all(any(_matches(p, want) for p in found) for want in other.expect), found


# ------------------------------------------------------------------ issue 27: a killed run leaves no password behind
@pytest.mark.slow
def test_a_run_killed_while_a_report_runs_leaves_no_password_on_disk(small_config, tmp_path):
    """SIGKILL (the OOM killer, a CI timeout) while a notebook runs: the literal password of a
    ``-p source.database_url=...`` is in no file of the system temp folder or beside the output
    folder, the abandoned staging folder included. The tables still come from files."""
    import os
    import signal
    import time
    password = "K1lled-run-pa55word"
    temp = tmp_path / "system-temp"        # the run's system temp folder (TMPDIR)
    temp.mkdir()
    parent = tmp_path / "reports"
    out = parent / "2026-10"
    log = tmp_path / "stdout.txt"
    args = [sys.executable, str(ROOT / "run_reports.py"), "--config", str(small_config), "--out", str(out),
            "--only", "data_cleaning", "-p", f"source.database_url=postgresql://analyst:{password}@db.internal/shop"]
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as stdout:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=stdout, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if list(parent.glob(".2026-10.partial-*")) and "started  data_cleaning" in log.read_text():
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before a report started:\n" + log.read_text()[-2000:]
        time.sleep(2)                       # the kernel is up and running the notebook
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert list(parent.glob(".2026-10.partial-*")), "the killed run left its staging folder"
        holding = [str(p) for folder in (temp, parent, Path(tempfile.gettempdir()))
                   for p in (folder.rglob("*") if folder != Path(tempfile.gettempdir()) else folder.glob("*"))
                   if p.is_file() and _holds(p, password)]
        assert not holding, f"the password is on disk in {holding}"
        assert password not in log.read_text()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # the kernels the killed runner left running
        except ProcessLookupError:
            pass


def _holds(path: Path, text: str) -> bool:
    try:
        return text.encode() in path.read_bytes()
    except OSError:
        return False


# ------------------------------------------------------------------ issue 27: statistics on degenerate data
def test_every_price_equal_leaves_out_aov_with_its_reason_and_the_report_stands(small_tables):
    """Every order of the same price: the delta-method variance of AOV is zero up to rounding (it came
    out as -7e-13 and math.sqrt raised). The report evaluates the experiments, AOV is left out of
    each with its reason, and the other metrics keep their results."""
    import ibis
    from memberkit import abtest, stats
    from memberkit.config import load_settings, notebook_params
    from memberkit.views import Presentation
    from memberkit.views import abtest as view
    tables, _ = small_tables
    o = tables["orders"]
    first_line = ibis.row_number().over(group_by=o.order_id, order_by=o.order_ts) == 0
    o = o.filter((o.amount > 0) & first_line).mutate(amount=ibis.literal(19.9).cast(o.amount.type()))
    settings = load_settings(ROOT, [])
    ab = notebook_params(settings, "ab_test")
    a = abtest.analyse({**tables, "orders": o}, "2026-10", ab, notebook_params(settings, "rfm_segmentation"))
    assert a.experiments and not a.skipped, a.skipped
    for r in a.experiments:
        assert "aov" not in set(r.results.metric), r.results
        assert r.undefined["aov"]["reason"] == "no_variance", r.undefined
        assert {"conversion", "orders", "revenue"} <= set(r.results.metric)
        assert r.results.p_value.notna().all() and r.results.p_value_adjusted.notna().all()
        for lang, words in (("en", "cannot be tested"), ("zh", "无法检验")):
            notes = " ".join(view.data_notes(Presentation(lang, "CNY"), r, ab))
            assert words in notes and ("one price" if lang == "en" else "价格一样") in notes, notes
    assert stats.ratio_mean([19.9 * k for k in (1, 2, 3, 7)], [1, 2, 3, 7])[1] == 0.0
    assert stats.normal_comparison(19.9, -7.3e-13, 19.9, 0.0).se == 0.0


# ------------------------------------------------------------------ issue 27: variant names, and why nothing was evaluated
def _ab_params(*overrides):
    from memberkit.config import load_settings, notebook_params
    return notebook_params(load_settings(ROOT, [], [f"notebooks.ab_test.{o}" for o in overrides]), "ab_test")


def test_variant_names_match_ignoring_case_and_blanks_and_the_page_says_so():
    from memberkit import abtest
    from memberkit.views import Presentation
    from memberkit.views import abtest as view
    from .test_abtest import synthetic
    m = synthetic(n=2000)
    m["variant"] = m.variant.map({"control": "Control", "b": " B "})
    r = abtest.evaluate(m, "X", _ab_params())                        # default_control 'control'
    assert r.control == "Control" and r.variants == [" B "]
    r = abtest.evaluate(m, "X", _ab_params("designs.X.control=CONTROL ", "designs.X.planned_split.control=0.5",
                                           "designs.X.planned_split.b=0.5"))
    assert r.control == "Control" and set(r.planned_split) == {"Control", " B "} and not r.srm_failed
    en = " ".join(view.data_notes(Presentation("en", "CNY"), r, _ab_params()))
    zh = " ".join(view.data_notes(Presentation("zh", "CNY"), r, _ab_params()))
    assert "ignoring case and surrounding blanks" in en and "'CONTROL' is 'Control' in the data" in en, en
    assert "不区分大小写" in zh and "“CONTROL”即“Control”" in zh, zh


def test_the_headline_says_why_each_experiment_was_skipped():
    from memberkit.views import Presentation
    from memberkit.views import abtest as view
    res = {"period": "2026-10", "results": {
        "experiments": {}, "has_table": True, "available": ["EXP-1", "EXP-2"],
        "skipped": {"EXP-1": {"reason": "control_missing", "control": "ctrl", "variants": "A, B",
                              "setting": "notebooks.ab_test.designs.EXP-1.control=A"},
                    "EXP-2": {"reason": "one_variant", "variant": "A"}}}}
    en = view.headline(Presentation("en", "CNY"), res)
    assert "closed its observation window" not in en, en
    assert "EXP-1" in en and "control variant ctrl is not in the data" in en and "EXP-2" in en \
        and "only the variant A" in en, en
    zh = view.headline(Presentation("zh", "CNY"), res)
    assert "EXP-1" in zh and "EXP-2" in zh and "designs.EXP-1" not in zh and "designs.EXP-1" not in en, zh
    # the setting that names the control is in the note for analysts, in both languages
    for language in ("en", "zh"):
        hints = view.analyst_hints(Presentation(language, "CNY"), res)
        assert len(hints) == 1 and "EXP-1" in hints[0] and "-p notebooks.ab_test.designs.EXP-1.control=A" in hints[0]


# ------------------------------------------------------------------ issue 27: a 20 MB field
def _huge_field(orders: pd.DataFrame) -> pd.DataFrame:
    orders = orders.copy()
    orders.loc[orders.index[4], "Category"] = "x" * (20 << 20)
    return orders


def test_a_line_beyond_the_readers_limit_is_named_with_file_table_and_line(small_sample, tmp_path, monkeypatch):
    from memberkit import sources
    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 10 << 20)
    sample, _ = small_sample
    case = Case("orders-with-a-20-mb-field", [edit("orders", _huge_field)])
    _, config = _case_input(case, sample, tmp_path)
    problems = _problems(case, config, tmp_path)
    assert len(problems) == 1 and _matches(problems[0], Err("orders.csv", "orders", None, "a line is too long",
                                                             ("line 6 is 20 MB long",))), problems


def test_a_csv_with_a_20_mb_field_reads_or_names_file_table_and_line(small_sample, tmp_path):
    """The reader's diagnosis re-read the file with Python's csv module at its default field size
    limit (128 KB) and ended in "unexpected Error ... please report this", naming no file."""
    sample, _ = small_sample
    case = Case("orders-with-a-20-mb-field", [edit("orders", _huge_field)])
    folder, config = _case_input(case, sample, tmp_path)
    problems = _problems(case, config, tmp_path)
    for p in problems:
        assert isinstance(p, InputError) and Path(p.file).name == "orders.csv" and p.table == "orders", p
        assert "line 6" in str(p), p
    proc = _cli(["--config", str(config), "--out", str(tmp_path / "out"), "--only", "data_cleaning"], timeout=600)
    assert "please report this" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0 or ("orders.csv" in proc.stderr and "line 6" in proc.stderr), proc.stderr[-2000:]


# ------------------------------------------------------------------ issue 27: long lists in messages
def test_the_unknown_status_warning_lists_twenty_words_and_counts_the_rest(small_sample, tmp_path):
    """With ``unknown_status_share=1`` every line's status may be unknown: the warning listed all
    of them (10,857 words on one 206 KB line); it lists 20 and says how many more there are."""
    sample, _ = small_sample
    case = Case("orders-with-many-unknown-statuses",
                [edit("orders", lambda d: d.assign(Status=[f"status-{i}" for i in range(len(d))]))],
                overrides=["notebooks.data_cleaning.unknown_status_share=1"])
    _, config = _case_input(case, sample, tmp_path)
    prepared = runner.check_run(config_files=[config], out_dir=str(tmp_path / "out"), overrides=case.overrides)
    warning = next(w for w in prepared.warnings if "status the kit does not know" in w)
    n = len(read(config.parent / "in", "orders"))
    assert warning.count("status-") == 20 and f"and {n - 20:,} more" in warning, warning[:3000]
    assert len(warning) < 1000


# ------------------------------------------------------------------ issue 27: every rule on the cleaning page
def test_every_rule_of_every_table_has_its_colour_and_label_on_the_cleaning_page():
    """A payments file naming orders that are not in the orders file stopped the cleaning page with
    KeyError 'unknown_order': the waterfall's colours covered the order, member and link rules only.
    Every rule of every table (clean.RULES) goes through the page in both languages."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from memberkit import clean
    from memberkit.views import Presentation
    from memberkit.views import clean as view
    from memberkit.views.context import _catalogue
    tables = {name: clean.TableReport(name, 10 * len(rules) + 5, 5, 10 * len(rules),
                                      [{"rule": r, "description": d, "rows": 10} for r, d in rules])
              for name, rules in clean.RULES.items()}
    result = clean.CleaningResult(tables, 0, 0, 0, 0, 0, 0.0, 0, {}, pd.DataFrame(), {})
    for lang in ("en", "zh"):
        p = Presentation(lang, "CNY")
        fig = view.plot_rule_waterfall(p, result)
        labels = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
        plt.close(fig)
        catalogue = _catalogue(lang)
        for name, rules in clean.RULES.items():
            assert name in catalogue["tables"], (lang, name)
            for rule, _ in rules:
                assert rule in catalogue["reasons"], (lang, rule)
                assert catalogue["reasons"][rule] in labels, (lang, rule)
        view.accounting_frame(p, result)
    looks = view.rule_colours()
    assert set(looks) == {r for rules in clean.RULES.values() for r, _ in rules}
    assert len(set(looks.values())) == len(looks), "each rule its own colour and hatch"


# ------------------------------------------------------------------ an experiments export alone (issue 27, item 12)
def readme_outcomes_example() -> tuple[str, dict]:
    """The README's example of an experiments export with its own outcome columns: the command it gives
    and the YAML block after it, read out of README.md so that the two cannot drift apart."""
    import re
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`(run_reports\.py --config cookie_cats\.yaml)`:\s*```yaml\n(.*?)```", text, re.S)
    assert found, "README.md no longer holds the cookie_cats example"
    return found.group(1), yaml.safe_load(found.group(2))


def test_the_readmes_experiments_export_with_outcomes_runs_without_an_orders_table(tmp_path):
    import json
    import numpy as np
    command, config = readme_outcomes_example()
    assert "orders" not in config["source"]["tables"] and config["source"]["base_dir"] == "/data/exports"
    rng = np.random.default_rng(27)
    n = 2000
    version = np.where(rng.random(n) < 0.5, "gate_30", "gate_40")
    retention_7 = rng.random(n) < np.where(version == "gate_30", 0.20, 0.16)
    pd.DataFrame({"userid": np.arange(116, 116 + n), "version": version, "sum_gamerounds": rng.poisson(50, n),
                  "retention_1": rng.random(n) < 0.45, "retention_7": retention_7}).to_csv(
        tmp_path / "cookie_cats.csv", index=False)
    config["source"]["base_dir"] = str(tmp_path)          # the one change: where the export is on this machine
    (tmp_path / "cookie_cats.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / "out"
    args = [str(tmp_path / a) if a == "cookie_cats.yaml" else a for a in command.split()[1:]]
    proc = _cli([*args, "--out", str(out)], timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for name in ("rfm_segmentation", "clv_forecast", "campaign_review"):
        assert f"skipped  {name}: needs an orders table" in proc.stdout, proc.stdout
    ab = json.loads((out / "ab_test.json").read_text(encoding="utf-8"))["results"]
    e = ab["experiments"]["cookie_cats"]
    assert e["primary_metric"] == "retention_7" and e["metrics_evaluated"] == ["retention_1", "retention_7", "sum_gamerounds"]
    control, variant = retention_7[version == "gate_30"], retention_7[version == "gate_40"]
    row = e["metrics"]["retention_7"]["gate_40"]
    assert row["control_mean"] == pytest.approx(control.mean()) and row["variant_mean"] == pytest.approx(variant.mean())
    assert e["counts"] == {"gate_30": int((version == "gate_30").sum()), "gate_40": int((version == "gate_40").sum())}
    page = (out / "en" / "ab_test.html").read_text(encoding="utf-8")
    assert "retention_7" in page and "cookie_cats" in page
    cleaning = json.loads((out / "data_cleaning.json").read_text(encoding="utf-8"))["results"]
    assert cleaning["tables"]["experiments"]["rows_in"] == n
    summary = (out / "en" / "index.html").read_text(encoding="utf-8")
    assert "it needs a table of orders and the source has none" in summary   # the reason, in the catalogue's words


# ------------------------------------------------------------------ the tables staged beside the orders
def _staged_one_after_another(monkeypatch, config: Path, tmp_path: Path):
    """What the checks give when every table is staged in one thread on one connection."""
    from memberkit import engine
    with monkeypatch.context() as m:
        m.setattr(engine, "second_connection", lambda con: None)
        return _checked(config, tmp_path / "one")


def _checked(config: Path, out: Path):
    from dataclasses import asdict
    try:
        prepared = runner.check_run(config_files=[config], out_dir=str(out), keep_staging=True)
    except Problems as e:
        return [(getattr(p, "table", None), str(p)) for p in e.problems], None
    try:
        staged = {n: asdict(t) for n, t in prepared.staged.items()}
        files = {n: pd.read_parquet(prepared.staging_dir / t["file"]) for n, t in staged.items()}
        return staged, files
    finally:
        prepared.close()


def test_the_tables_staged_beside_the_orders_are_decided_as_one_after_another(small_sample, tmp_path, monkeypatch):
    # members' join dates written day first as a spreadsheet does: a decision made in the second thread
    def day_first(df):
        df = df.copy()
        when = pd.to_datetime(df["注册日期"], errors="coerce")
        df["注册日期"] = [f"{t.day}/{t.month}/{t.year}" if pd.notna(t) else "" for t in when]
        return df
    case = Case("beside", steps=[edit("members", day_first)], tables=tuple(FILES))
    _, config = _case_input(case, small_sample[0], tmp_path)
    from memberkit import engine
    made = []
    second = engine.second_connection
    monkeypatch.setattr(engine, "second_connection", lambda con: made.append(1) or second(con))
    staged, files = _checked(config, tmp_path / "beside")
    assert made, "the other tables were staged beside the orders"
    assert staged["members"]["day_month"] == {"join_date": "day first"}
    one_staged, one_files = _staged_one_after_another(monkeypatch, config, tmp_path)
    assert staged == one_staged and set(staged) == set(FILES)
    for name, frame in files.items():
        pd.testing.assert_frame_equal(frame, one_files[name])


def test_problems_of_tables_staged_beside_the_orders_are_those_of_one_after_another_in_the_same_order(small_sample, tmp_path, monkeypatch):
    case = Case("beside-problems", tables=tuple(FILES),
                steps=[edit("members", lambda df: df.drop(columns=["会员编号"])),
                       edit("orders", lambda df: df.drop(columns=["OrderTime"])),
                       edit("experiments", lambda df: df.assign(member_id=""))])
    _, config = _case_input(case, small_sample[0], tmp_path)
    problems, _ = _checked(config, tmp_path / "beside")
    assert problems == _staged_one_after_another(monkeypatch, config, tmp_path)[0]
    assert {"members", "orders", "experiments"} <= {table for table, _ in problems}, problems
