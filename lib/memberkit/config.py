"""Parameters: pydantic models, YAML loading, overrides and path resolution.

The runner validates every parameter with these models before any kernel starts, and
each notebook validates its own parameters again with the same models, so a bad value
fails in one place with one message.

Example
-------
>>> cfg = SourceConfig.model_validate({"tables": {"orders": {"path": "orders.csv",
...                                    "columns": {"amount": "PaidAmount"}}}})
>>> cfg.tables["orders"].format
'csv'
"""

from __future__ import annotations

import copy
import math
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import reports as _reports
from .errors import ConfigError

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# Tried in turn after the normalisation of memberkit.engine (ISO 'T', fractional seconds, zones,
# Chinese dates and Excel serial days are handled there for every list).
DEFAULT_DATE_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M",
                        "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d",
                        "%Y-%m-%d %I:%M:%S %p", "%Y/%m/%d %I:%M:%S %p", "%Y/%m/%d %I:%M %p",
                        "%d-%b-%Y %H:%M:%S", "%d-%b-%Y %H:%M", "%d-%b-%Y", "%d %b %Y %H:%M", "%d %b %Y",
                        "%b %d, %Y", "%Y%m%d%H%M%S"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TableSource(_Strict):
    """Where one canonical table comes from and how its columns map."""

    path: str | None = Field(None, description="file path, relative to the source's base_dir; "
                                               "'pkg://package/inner/path' reads a file shipped in a package")
    format: Literal["csv", "excel", "parquet", "sql"] | None = None
    encoding: str = "utf-8"
    delimiter: str = Field(",", description="one character, or 'whitespace' for runs of blanks")
    header: bool = True
    names: list[str] | None = Field(None, description="column names when the file has no header")
    sheet: str | int | None = None
    query: str | None = Field(None, description="for sql: a table name or a SELECT statement")
    columns: dict[str, str] = Field(default_factory=dict, description="canonical name -> column in the source")
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    decimal: Literal["auto", ".", ","] = Field("auto", description="decimal mark of number columns; auto "
                                                                   "recognises a decimal comma per column")
    key: list[str] | None = Field(None, description="source columns that identify a row; two rows with the same "
                                                    "key are copies. None: the whole source row (every column)")
    outcomes: dict[str, Literal["binary", "numeric"]] = Field(
        default_factory=dict, description="experiments only: per-member outcome columns of the export, column name -> "
                                          "binary (converted, retained: 1/0, true/false, yes/no) or numeric")

    @model_validator(mode="after")
    def _infer_format(self):
        if self.format is None:
            if self.query:
                self.format = "sql"
            elif self.path:
                suffix = Path(self.path.split("?")[0]).suffix.lower()
                self.format = {".xlsx": "excel", ".xls": "excel", ".parquet": "parquet",
                               ".pq": "parquet"}.get(suffix, "csv")
            else:
                raise ValueError("a table needs a path (a file) or a query (a database)")
        if self.format == "sql" and not self.query:
            raise ValueError("format 'sql' needs a query (a table name or a SELECT)")
        return self


def _one_of(value, allowed, message: str):
    """``value`` when it is in ``allowed``; else ``ValueError(message)`` (a validator's refusal)."""
    if value not in allowed:
        raise ValueError(message)
    return value


class ShockSettings(_Strict):
    """A designed change in the sample retailer: one city's order value moves by a share in one month."""
    city: str = Field(description="one of the sample's cities (北京, 上海, 广州, 深圳, 成都, 杭州)")
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    aov_change: float = Field(gt=-1, description="a share: -0.4 makes every order of the city 40% smaller")

    @field_validator("city")
    @classmethod
    def _city(cls, v):
        from .sample import CITIES
        return _one_of(v, CITIES, f"the sample's cities are {', '.join(CITIES)}")


class SampleSettings(_Strict):
    generate_if_missing: bool = True
    seed: int = 20241
    members: int = Field(20_000, ge=200, le=5_000_000)
    shock: ShockSettings | None = Field(None, description="off by default; its truth is in ground_truth.json")
    follow_ups: bool = Field(False, description="off by default: one more month (November 2026) in which what "
                             "followed October's decisions is planted (memberkit.sample.FollowUps); its truth is "
                             "in ground_truth.json")
    response_by_channel: bool = Field(False, description="off by default: campaigns' effect differs by member "
                                      "channel (memberkit.sample.RESPONSE_BY_CHANNEL), a feature RFM does not see; "
                                      "its truth is in ground_truth.json and uplift_truth.csv")


class SourceConfig(_Strict):
    """The retailer's data: where each table is, and how it maps onto the canonical tables."""

    base_dir: str = "data/sample"
    sample: SampleSettings | None = None
    database_url: str | None = Field(None, description="SQLAlchemy URL; write the password as ${ENV_VAR}")
    tables: dict[str, TableSource]

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, tables):
        from .schema import CANONICAL
        unknown = sorted(set(tables) - set(CANONICAL))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; known tables are {sorted(CANONICAL)}")
        if "orders" not in tables and not (tables.get("experiments") and tables["experiments"].outcomes):
            raise ValueError("the source must name an 'orders' table (only an experiments export with its own "
                             "outcome columns runs without one)")
        with_outcomes = sorted(n for n, t in tables.items() if t.outcomes and n != "experiments")
        if with_outcomes:
            raise ValueError(f"outcome columns belong to the experiments table, not {with_outcomes}")
        for n, t in tables.items():
            clash = sorted(set(t.outcomes) & set(CANONICAL[n]) | set(t.outcomes) & set(t.columns.values()))
            if clash:
                raise ValueError(f"{n}: outcome column(s) {clash} are also mapped as canonical columns")
        return tables

    @model_validator(mode="after")
    def _sql_needs_url(self):
        if any(t.format == "sql" for t in self.tables.values()) and not self.database_url:
            raise ValueError("a table with format 'sql' needs source.database_url")
        return self


ENGINE_BACKENDS = ("duckdb", "spark")
_MEMORY_RE = re.compile(r"^\s*(\d+(\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB|%)\s*$", re.IGNORECASE)


class EngineSettings(_Strict):
    """The transaction-scale engine, one setting for the whole run (:func:`memberkit.engine.connect`).

    Results never depend on it (the cleaning's stamp leaves it out); it decides how much memory,
    disk and how many cores each connection (the checks', the runner's, each report's kernel) may use.
    """

    backend: str = Field("duckdb", description="the Ibis backend: duckdb (embedded, the default) or spark "
                                               "(a local session, or a cluster through spark_master / spark_remote)")
    memory_limit: str | None = Field("1GB", description="DuckDB's memory_limit per connection (per process), "
                                                        "e.g. 1GB, 1500MB, 2GiB or 50%; beyond it DuckDB spills to "
                                                        "temp_directory. None: DuckDB's own (80% of RAM)")
    temp_directory: str | None = Field(None, description="folder in which each connection makes its own private "
                                                         "spill folder (mode 0700, removed after; spilled rows hold "
                                                         "personal data). None: the system temp folder")
    threads: int | None = Field(None, ge=1, le=1024, description="threads per connection; None: the environment's "
                                                                 "MEMBERKIT_THREADS when set, else DuckDB's own "
                                                                 "(one per core). On a local Spark session: local[threads]")
    spark_master: str | None = Field(None, description="backend spark: the master URL of a cluster "
                                                       "(spark://host:7077, yarn, local[4]); None: a local session")
    spark_remote: str | None = Field(None, description="backend spark: a Spark Connect URL (sc://host:15002) "
                                                       "instead of a session in this process")

    @field_validator("backend")
    @classmethod
    def _supported(cls, v):
        return _one_of(v, ENGINE_BACKENDS, f"backend {v!r} is not supported yet; supported: {', '.join(ENGINE_BACKENDS)}")

    @model_validator(mode="after")
    def _spark_settings(self):
        if self.backend != "spark" and (self.spark_master or self.spark_remote):
            raise ValueError("spark_master and spark_remote need backend: spark")
        if self.spark_master and self.spark_remote:
            raise ValueError("give spark_master (a cluster) or spark_remote (Spark Connect), not both")
        if self.spark_remote and not self.spark_remote.startswith("sc://"):
            raise ValueError(f"spark_remote must be a Spark Connect URL such as sc://host:15002, got {self.spark_remote!r}")
        return self

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _memory(cls, v):
        if v is None:
            return v
        m = _MEMORY_RE.match(str(v))
        if not m or float(m.group(1)) <= 0 or (m.group(3) == "%" and float(m.group(1)) > 100):
            raise ValueError(f"memory_limit must be an amount such as 1GB, 1500MB, 2GiB or 50%, got {v!r}")
        unit = m.group(3).upper().replace("IB", "iB")
        return f"{m.group(1)}{unit}"

    @field_validator("temp_directory")
    @classmethod
    def _absolute(cls, v):
        if v is None:
            return v
        path = Path(v).expanduser()
        if not path.is_absolute():
            raise ValueError(f"temp_directory must be an absolute folder (the runner and each report's kernel "
                             f"work in different folders), got {v!r}")
        return str(path)


class ReportSettings(_Strict):
    """What every report shares."""

    period: str | None = Field(None, description="YYYY-MM; None means the last calendar month that ended by as_of")
    as_of: str | None = Field(None, description="YYYY-MM-DD: dates after it are 'future'; None means today")
    language: Literal["en", "zh"] = "en"
    currency: str = Field("CNY", description="ISO 4217 code; money is stored at its minor unit (JPY 0 digits, "
                                             "CNY 2, BHD 3)")
    time_zone: str = Field("Asia/Shanghai", description="the shop's business time zone: zoned timestamps are "
                                                        "converted to it, naive ones are taken as local")
    active_window_days: int = Field(90, ge=1, le=3650)
    display_names: dict[Literal["en", "zh"], dict[Literal["region", "category", "campaign"], dict[str, str]]] = Field(
        default_factory=dict, description="the shop's own names of its data values per edition: en -> region, "
        "category or campaign (by id) -> value as the data write it -> name shown (over the kit's "
        "reference/display_names.yaml; a value named nowhere is shown as written)")
    source: SourceConfig
    engine: EngineSettings = Field(default_factory=EngineSettings, description="the engine: backend, memory, "
                                   "spill folder, threads (shared by every report; results do not depend on it)")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v):
        import zoneinfo
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai or Europe/London") from None
        return v

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, v):
        from babel.numbers import get_currency_name
        v = v.upper()
        if not re.match(r"^[A-Z]{3}$", v) or get_currency_name(v, locale="en") == v:
            raise ValueError(f"unknown currency {v!r}; use an ISO 4217 code such as CNY, GBP or JPY")
        return v

    @field_validator("period")
    @classmethod
    def _period_format(cls, v):
        if v is not None and not PERIOD_RE.match(v):
            raise ValueError(f"period must look like 2026-10, got {v!r}")
        return v

    @field_validator("as_of", "period", mode="before")
    @classmethod
    def _dates_as_text(cls, v):
        import datetime as _dt
        return v.isoformat() if isinstance(v, _dt.date) else v

    @field_validator("as_of")
    @classmethod
    def _as_of_format(cls, v):
        if v is not None and not re.match(r"^\d{4}-\d{2}-\d{2}$", v):
            raise ValueError(f"as_of must look like 2026-11-01, got {v!r}")
        if v is not None:
            import datetime as _dt
            try:
                _dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"{v!r} is not a calendar date") from None
        return v


class DominantMemberSetting(_Strict):
    """The share above which one member is named on the cleaning and RFM pages (both read it)."""

    dominant_member_share: float = Field(0.05, gt=0, le=1, description="a member holding more than this share of "
                                         "the orders or of the revenue is named (masked) on the cleaning and RFM pages, "
                                         "with the figures with and without it")


class CleaningParams(ReportSettings, DominantMemberSetting):
    """Parameters of the data-cleaning report."""

    outlier_policy: Literal["flag", "cap", "exclude"] = "flag"
    outlier_multiple: float = Field(30.0, gt=1, description="an order above this multiple of the median "
                                                            "paid order is an outlier")
    max_order_amount: float = Field(10_000_000.0, gt=0, le=1e12, description="plausibility bound in the shop's "
                                    "currency: an order (or line) above it is refused; below it the outlier policy applies")
    statuses: dict[str, Literal["paid", "cancelled", "returned"]] = Field(
        default_factory=dict, description="the shop's status words -> paid, cancelled or returned (added to the "
                                          "built-in English, Portuguese and Chinese words; case is ignored)")
    regions: list[str] | None = Field(None, description="the shop's regions (cities, states or countries, as its "
                                      "exports write them; case is ignored): the data-quality table counts a region "
                                      "outside the list as invalid; without a list only junk (no letter) is")
    unknown_status_share: float = Field(0.01, ge=0, le=1, description="the run stops before any report when more "
                                        "than this share of order lines has a status the kit does not know")
    return_prefixes: list[str] = Field(default_factory=list, description="an order id starting with one of these "
                                       "marks a cancellation or return line (e.g. C): netted in its month")
    negative_quantity_is_return: bool = Field(False, description="a line with a negative quantity is a return "
                                              "line (netted); when false it is refused")
    non_product_ids: list[str] = Field(default_factory=list, description="product ids of lines that are not "
                                       "products (postage, fees, adjustments): set aside")
    non_product_categories: list[str] = Field(default_factory=list, description="categories of such lines")
    non_product_pattern: str | None = Field(None, description="regular expression on the product id of such lines")

    @field_validator("non_product_pattern")
    @classmethod
    def _regex(cls, v):
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"non_product_pattern is not a regular expression: {e}") from None
        return v
    phone_region: str = Field("CN", description="ISO 3166 region (CN, GB, US, ...) of phone numbers written "
                                                "without a country code; numbers are normalised to E.164")
    max_accounts_per_phone: int = Field(5, ge=2, description="a phone number shared by more accounts than this is "
                                                             "not an identity (a placeholder typed for walk-in "
                                                             "customers): it links nobody")

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v):
        import phonenumbers
        v = v.upper()
        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"phone_region must be an ISO 3166 region code such as CN, GB or US, got {v!r}")
        return v


class RFMParams(ReportSettings, DominantMemberSetting):
    """Parameters of the RFM segmentation report."""

    window_days: int = Field(365, ge=28, le=3650, description="analysis window for R, F and M, in days "
                                                               "ending on the last day of the period")
    split: Literal["mean", "median"] = Field("mean", description="high/low split of R, F and M")
    tier_thresholds: dict[str, float] = Field(
        default_factory=lambda: {"银卡": 2000.0, "金卡": 8000.0, "钻石": 20000.0},
        description="tier name -> spend in the analysis window needed for it, rising, in tier_currency; "
                    "below every threshold is base_tier")
    base_tier: str = Field("普通", min_length=1, description="the tier of members below every threshold")
    tier_currency: str = Field("CNY", description="ISO 4217 code of the thresholds' amounts; the report warns "
                                                  "when it differs from the shop's currency")
    new_days: int = Field(90, ge=1, description="'new': first purchase fewer than this many days ago")
    silent_days: int = Field(90, ge=1, description="'silent': no purchase for at least this many days")
    # the key keeps its old name so that existing parameter files still work; the stage is "lapsed" (DOMAIN.md)
    churned_days: int = Field(180, ge=1, description="'lapsed': no purchase for more than this many days "
                                                     "(the lifecycle stage, not the churn rate)")
    established_orders: int = Field(3, ge=1, description="region risk: share of members with at least this many "
                                                         "purchases ever who are now lapsed")
    trend_months: int = Field(13, ge=2, le=60, description="months in the key-figure trend (13: the same months "
                                                          "as the summary page)")
    cohorts: int = Field(12, ge=2, le=36, description="join-month cohorts in the retention heatmap")

    @field_validator("tier_thresholds")
    @classmethod
    def _tiers(cls, v):
        values = list(v.values())
        if any(not str(k).strip() for k in v):
            raise ValueError("tier names must not be empty")
        if any(x < 0 for x in values) or values != sorted(values) or len(set(values)) != len(values):
            raise ValueError("tier thresholds must be non-negative and rise strictly in the order given "
                             f"(lowest tier first); got {dict(v)}")
        return v

    @model_validator(mode="after")
    def _base_tier_distinct(self):
        if self.base_tier in self.tier_thresholds:
            raise ValueError(f"base_tier {self.base_tier!r} is also named in tier_thresholds; it is the tier below "
                             "every threshold")
        return self

    @model_validator(mode="after")
    def _stages(self):
        if self.silent_days > self.churned_days:
            raise ValueError("silent_days must not exceed churned_days")
        return self


class CLVPenalizers(_Strict):
    """L2 regularisation per model (lifetimes' penalty on the scaled parameters). Each model has its
    own: a penalty that helps one purchase model can push Gamma-Gamma's q towards 1."""

    bgnbd: float = Field(0.0, ge=0)
    modified_bgnbd: float = Field(0.0, ge=0)
    pareto_nbd: float = Field(0.0, ge=0)
    gamma_gamma: float = Field(0.0, ge=0)


class CLVParams(ReportSettings):
    """Parameters of the CLV forecast report."""

    unit: Literal["day", "week"] = Field("week", description="time unit of the models (week = days / 7)")
    holdout_weeks: int = Field(26, ge=4, le=156, description="holdout: the last weeks before the period's end")
    calibration_end: str | None = Field(None, description="YYYY-MM-DD: split here instead (overrides holdout_weeks)")
    models: list[Literal["bgnbd", "modified_bgnbd", "pareto_nbd"]] = Field(
        default_factory=lambda: ["bgnbd", "modified_bgnbd", "pareto_nbd"], min_length=1)
    model: Literal["bgnbd", "modified_bgnbd", "pareto_nbd"] | None = Field(
        None, description="the purchase model to use; None = the lowest holdout error per member")
    penalizers: CLVPenalizers = Field(default_factory=CLVPenalizers,
                                      description="L2 penalty per model; 0 = plain maximum likelihood")
    horizon_months: int = Field(12, ge=1, le=120)
    monthly_discount: float = Field(0.01, ge=0, lt=1, description="discount rate per month")
    margin: float = Field(0.3, gt=0, le=1, description="profit margin on revenue")
    any_purchase_threshold: float = Field(0.5, gt=0, lt=1, description=(
        "'at risk': the chance of at least one purchase over the horizon, P(X(t) > 0 | history), below this"))
    high_value_share: float = Field(0.2, gt=0, le=1, description="'high value': this top share by past spend")
    exclude_outliers: bool = Field(True, description="leave flagged outlier orders (bulk purchases) out of the models")

    @field_validator("calibration_end", mode="before")
    @classmethod
    def _split_date(cls, v):
        import datetime as _dt
        v = v.isoformat() if isinstance(v, _dt.date) else v
        if v is not None and not re.match(r"^\d{4}-\d{2}-\d{2}$", str(v)):
            raise ValueError(f"calibration_end must look like 2026-04-30, got {v!r}")
        return v

    @model_validator(mode="after")
    def _model_listed(self):
        if self.model and self.model not in self.models:
            self.models = [*self.models, self.model]
        return self


AB_METRICS = ("conversion", "orders", "revenue", "aov")


class ExperimentDesign(_Strict):
    """What the experiment's owner planned: which variant is control and the intended split."""

    control: str = "control"
    planned_split: dict[str, float] | None = Field(
        None, description="variant -> planned share; None means an equal split over the variants found")
    metrics: list[str] | None = Field(
        None, min_length=1, description="the metrics to test (purchase metrics conversion, orders, revenue, aov, or "
                                        "outcome columns of the experiments table); Holm's correction runs over these. "
                                        "None: the outcome columns when the export has some, else the purchase metrics")
    cost_per_conversion: float | dict[str, float] | None = Field(
        None, description="the incentive's cost per member who converts in a variant (a coupon's value, a gift), in "
                          "the shop's currency and not already in the paid amounts: one number for every variant, or "
                          "variant -> cost. With a cost, ship needs the margin net of it to rise (its 95% interval "
                          "not below zero); None: the verdict rests on the primary metric alone")

    @field_validator("planned_split")
    @classmethod
    def _shares(cls, v):
        if v is not None and (len(v) < 2 or any(x <= 0 for x in v.values())):
            raise ValueError("planned_split needs at least two variants, each with a positive share")
        return v

    @field_validator("cost_per_conversion")
    @classmethod
    def _costs(cls, v):
        costs = v.values() if isinstance(v, dict) else [] if v is None else [v]
        if any(not math.isfinite(x) or x < 0 for x in costs):
            raise ValueError("cost_per_conversion must be a finite amount of at least 0 (one number, or variant -> amount)")
        return v

    def cost_of(self, variant: str) -> float | None:
        """The incentive's cost per converted member of ``variant`` (None: no cost named for it)."""
        c = self.cost_per_conversion
        return c.get(variant) if isinstance(c, dict) else c


class ABTestParams(ReportSettings):
    """Parameters of the A/B test report."""

    experiments: list[str] | None = Field(
        None, description="experiment ids to evaluate; None = every experiment whose observation window closed by "
                          "the end of the period and that was assigned in the last lookback_months")
    lookback_months: int = Field(6, ge=1, le=60)
    window_days: int = Field(30, ge=1, le=365, description="outcomes count in this many days after assignment")
    pre_days: int = Field(90, ge=7, le=730, description="pre-assignment window for the CUPED covariate")
    designs: dict[str, ExperimentDesign] = Field(default_factory=dict,
                                                 description="per experiment id: control and planned split")
    default_control: str = Field("control", description="control variant of experiments not listed in designs")
    primary_metric: str = Field("conversion", description="conversion | orders | revenue | aov, or an outcome "
                                                           "column of the experiments table; when it has no data, "
                                                           "the first outcome column")
    guardrail_metrics: list[str] = Field(
        default_factory=lambda: ["aov", "revenue"],
        description="a variant that makes one of these significantly worse is not shipped")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="significance level (two-sided), after Holm")
    power: float = Field(0.8, gt=0.5, lt=1)
    minimum_effect: float = Field(0.05, gt=0, lt=10, description="smallest relative lift worth detecting")
    srm_threshold: float = Field(0.001, gt=0, lt=0.1, description="sample ratio mismatch below this p-value")
    winsorize_percentile: float | None = Field(
        None, gt=50, lt=100, description="cap revenue and orders per member at this percentile; None = no capping")
    exclude_outliers: bool = Field(True, description="leave the cleaning's flagged bulk orders out of the outcomes")
    breakdowns: list[Literal["segment", "channel", "region", "tier"]] = Field(
        default_factory=lambda: ["segment", "channel", "region"])
    breakdown_min_members: int = Field(100, ge=10, description="smallest group per variant shown in a breakdown")
    margin: float = Field(0.3, gt=0, le=1, description="profit margin on (paid, after-discount) revenue: an "
                                                       "experiment with an incentive cost ships only when it pays")

    @model_validator(mode="after")
    def _known_metrics(self):
        t = self.source.tables.get("experiments")
        known = [*AB_METRICS, *(t.outcomes if t is not None else {})]
        unknown = [m for m in [self.primary_metric, *self.guardrail_metrics] if m not in known]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}: use {', '.join(known)} (outcome columns are named under "
                             "source.tables.experiments.outcomes)")
        for experiment, design in self.designs.items():
            unknown = [m for m in design.metrics or [] if m not in known]
            if unknown:
                raise ValueError(f"designs.{experiment}.metrics: unknown metric(s) {unknown}; the valid ones are "
                                 f"{', '.join(known)} (outcome columns are named under source.tables.experiments.outcomes)")
        return self


class CampaignParams(ReportSettings):
    """Parameters of the campaign review."""

    campaigns: list[str] | None = Field(None, description="campaign ids to review; None = those that ended in the period")
    league_months: int = Field(24, ge=0, le=120, description="the league table also ranks campaigns that ended in "
                                                              "this many months before the period's end")
    post_days: int = Field(30, ge=7, le=180, description="days after the end that count towards the net effect "
                                                         "and show a pull-forward dip")
    pre_days: int = Field(56, ge=7, le=365, description="pre-campaign window of the difference in differences")
    history_days: int = Field(365, ge=30, le=1095, description="spend in these days before the start ranks high-value members")
    silent_days: int = Field(90, ge=7, le=730, description="reactivated: no purchase in these days before the start, "
                                                           "a purchase during or after")
    margin: float = Field(0.3, gt=0, le=1, description="profit margin on (paid, after-discount) revenue")
    high_value_share: float = Field(0.2, gt=0, le=1, description="high value: this top share of the campaign's "
                                                                  "members by spend in history_days")
    pull_forward_share: float = Field(0.25, gt=0, le=1, description="flag pull-forward when a significant dip after the "
                                                                     "end gives back at least this share of the lift")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    min_segment_members: int = Field(50, ge=5, description="smallest target (and comparison) group shown per segment")
    exclude_outliers: bool = Field(True, description="leave the cleaning's flagged bulk orders out")
    # the next campaign's target list (memberkit.uplift)
    target_campaign_type: str | None = Field(None, description="campaign type the next list is for; None = the type "
                                                               "of the latest campaign with a holdout")
    target_holdout_share: float = Field(0.1, ge=0, lt=1, description="share of the listed members kept out at random "
                                                                     "to measure the next campaign")
    target_seed: int = Field(0, ge=0, description="seed of the list's holdout draw, the validation's folds and bootstrap")
    target_contact_cost: float | None = Field(None, ge=0, description="cost of contacting one member (currency); None = "
                                                                      "the type's latest campaign's cost per targeted member")
    target_window: Literal["during", "net"] = Field("during", description="the response learnt: orders in the "
                                                    "campaign's days (during) or also in the post_days after it (net)")
    target_min_holdout: int = Field(100, ge=10, description="fewest holdout members over the type's campaigns to learn from")


#: Each report's parameter model, by the name the registry of reports (:mod:`memberkit.reports`) gives it.
NOTEBOOK_PARAMS: dict[str, type[ReportSettings]] = {r.name: globals()[r.params_model] for r in _reports.REPORTS}


# ------------------------------------------------------------------ loading
def project_root(start: str | Path | None = None) -> Path:
    """The folder holding ``params/base.yaml``: from $MEMBERKIT_HOME, else searched upward from ``start``."""
    env = os.environ.get("MEMBERKIT_HOME")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "params" / "base.yaml").is_file():
            return folder
    raise ConfigError("cannot find the project folder (one with params/base.yaml); "
                      "run from inside the project or set MEMBERKIT_HOME")


class _SettingsLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a date-like value that is no calendar date (2026-02-30, 2026-13-01)
    stays text, so the settings' validation names the setting, instead of the reader failing in a traceback."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_SettingsLoader.add_constructor("tag:yaml.org,2002:timestamp", _SettingsLoader.construct_yaml_timestamp)


def _load_yaml(text: str):
    return yaml.load(text, Loader=_SettingsLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = _load_yaml(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, not {type(data).__name__}")
    return data


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base``; mappings merge, except a column map, a table
    list or the tier thresholds, which a config file replaces whole (a retailer's tables are not the
    sample's plus some, and its tiers are not the default tiers plus its own).
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("columns", "tables", "tier_thresholds"):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=value`` -> (["a", "b"], value parsed as YAML, so numbers and lists keep their type)."""
    if "=" not in text:
        raise ConfigError(f"-p expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    if not key.strip():
        raise ConfigError(f"-p expects key=value, got {text!r}")
    try:
        value = _load_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(settings: dict, overrides: list[str]) -> dict:
    out = copy.deepcopy(settings)
    for text in overrides:
        keys, value = parse_override(text)
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


def load_settings(root: Path, config_files: list[str | Path] = (), overrides: list[str] = ()) -> dict:
    """base.yaml, then one YAML per notebook under ``notebooks:``, then each --config file, then -p."""
    settings = read_yaml(root / "params" / "base.yaml")
    per_notebook = {}
    for path in sorted((root / "params").glob("[0-9][0-9]_*.yaml")):
        name = path.stem.split("_", 1)[1]
        per_notebook[name] = read_yaml(path)
    settings = deep_merge({"notebooks": per_notebook}, settings)
    for path in config_files:
        settings = deep_merge(settings, read_yaml(path))
    return apply_overrides(settings, list(overrides))


def notebook_params(settings: dict, name: str) -> ReportSettings:
    """The validated parameters of notebook ``name``: shared settings plus its own section."""
    model = NOTEBOOK_PARAMS[name]
    shared = {k: v for k, v in settings.items() if k != "notebooks"}
    merged = deep_merge(shared, settings.get("notebooks", {}).get(name, {}) or {})
    return validate_params(model, merged, where=f"parameters of {name}", report=name)


def validate_params(model: type[BaseModel], values: dict, where: str = "parameters", report: str = ""):
    """``values`` validated by ``model``; raises ConfigError naming every problem (:func:`validation_message`)."""
    from pydantic import ValidationError
    try:
        return model.model_validate(values)
    except ValidationError as e:
        raise ConfigError(validation_message(where, e.errors(), ["notebooks", report] if report else [])) from None


def validation_message(where: str, errors: list[dict], prefix: list[str] = ()) -> str:
    """pydantic's ``errors`` as ``<where>: N problem(s)`` and one line per setting; a key that is no
    setting is named with the nearest known one (:func:`setting_problem`, the dotted name under ``prefix``:
    ``["notebooks", "<report>"]`` for a report's own section) instead of pydantic's "Extra inputs are not
    permitted". :class:`ConfigError` puts a single problem on one line."""
    lines = [f"{where}: {len(errors)} problem(s)"]
    for err in errors:
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        why = setting_problem([*prefix, *map(str, err["loc"])]) if err["type"] == "extra_forbidden" else None
        lines.append(f"  - {loc}: {why or with_given(err['msg'], err.get('input'))}")
    return "\n".join(lines)


def with_given(message: str, value) -> str:
    """``message`` ending with the value refused (``; got 'ZH'``), so a mistyped value is seen at once; a value
    that is no single setting (a section's mapping) or that the message already quotes is not repeated.
    Secrets are scrubbed later, where the message is shown (:func:`scrub_secrets`)."""
    if isinstance(value, (dict, list, tuple, set)) or value is None:
        return message
    shown = repr(value)
    return message if shown in message or "got " in message else f"{message}; got {shown}"


def expand_env(text: str) -> str:
    """Replace ``${VAR}`` with the environment variable, so secrets never sit in a committed file."""
    def sub(m):
        var = m.group(1)
        if var not in os.environ:
            raise ConfigError(f"environment variable {var} is not set (referenced in the database URL)")
        return os.environ[var]
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, text)


SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "api_key", "apikey")


def _url_secrets(url: str) -> set[str]:
    """The password of a URL (everything between the user's ':' and the last '@' of the authority, so
    an '@' inside the password is covered) and the values of secret-looking query parameters."""
    from urllib.parse import parse_qsl, unquote
    found = set()
    if "://" not in url:
        return found
    rest = url.split("://", 1)[1]
    query = rest.split("?", 1)[1] if "?" in rest else ""
    head = rest.split("?", 1)[0]
    if "@" in head:
        userinfo = head[:head.rindex("@")]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    for key, value in parse_qsl(query, keep_blank_values=False):
        if any(w in key.lower() for w in SECRET_WORDS):
            found.add(value)
    return found | {unquote(v) for v in found}


def secret_values(settings: Any) -> set[str]:
    """Every secret string in ``settings`` (a settings mapping or a database URL): passwords and
    secret query parameters of database URLs, as written and with ``${VAR}`` expanded, and the values
    of keys named like password, secret or token. Used to scrub every text the kit writes."""
    found: set[str] = set()
    if isinstance(settings, str):
        try:
            expanded = expand_env(settings)
        except ConfigError:
            expanded = settings
        for url in {settings, expanded}:
            found |= _url_secrets(url)
    elif isinstance(settings, dict):
        for k, v in settings.items():
            if isinstance(v, str) and any(w in str(k).lower() for w in SECRET_WORDS):
                found.add(v)
            elif isinstance(v, str) and ("url" in str(k).lower() or "://" in v):
                found |= secret_values(v)
            elif isinstance(v, (dict, list)):
                found |= secret_values(v)
    elif isinstance(settings, list):
        for v in settings:
            found |= secret_values(v)
    return {s for s in found if s and not re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", s)}


def scrub_secrets(text: str, source: Any) -> str:
    """``text`` with every secret of ``source`` (settings, a URL, or a set of secrets) replaced by ***.

    Secrets shorter than 4 characters are not replaced in free text (that would garble it); URLs in
    settings are redacted by their structure instead (:func:`redact`)."""
    secrets = source if isinstance(source, (set, frozenset)) else secret_values(source)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _redact_url(url: str) -> str:
    """The URL with its password (up to the last '@' of the authority) and secret query values as ***."""
    from urllib.parse import parse_qsl, urlencode
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    head, sep, query = rest.partition("?")
    if "@" in head:
        userinfo, host = head[:head.rindex("@")], head[head.rindex("@") + 1:]
        if ":" in userinfo:
            head = f"{userinfo.split(':', 1)[0]}:***@{host}"
    if query:
        pairs = [(k, "***" if any(w in k.lower() for w in SECRET_WORDS) else v)
                 for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*${}/:")
    return f"{scheme}://{head}{sep}{query}"


def redact(settings: Any) -> Any:
    """A copy of the settings safe to write into a manifest: passwords and tokens removed, however
    they were given (in the URL's user part, with an '@' inside, in its query string, via ${VAR})."""
    secrets = secret_values(settings)

    def walk(node):
        if isinstance(node, dict):
            return {k: "***" if any(w in str(k).lower() for w in SECRET_WORDS) and isinstance(v, str) else walk(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return scrub_secrets(_redact_url(node) if "://" in node else node, secrets)
        return node
    return walk(settings)


def _unwrap(tp):
    """X from Optional[X] / X | None."""
    import typing
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType")) and len(args) == 1:
        return args[0]
    return tp


_NO_VALUE = object()


def setting_names() -> dict[str, Any]:
    """Every setting a dotted name can set, ``{"engine.threads": FieldInfo, "notebooks.data_cleaning.outlier_policy":
    FieldInfo, ...}`` (pydantic's field: its type and constraints): the shared settings and the fields of their nested models, then each report's own settings
    under ``notebooks.<report>`` (a mapping, such as ``source.tables``, is one name: its keys are the shop's)."""
    names: dict[str, Any] = {}

    def walk(model, prefix: str, skip=()):
        for key, field in model.model_fields.items():
            if key in skip:
                continue
            tp = _unwrap(field.annotation)
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                walk(tp, f"{prefix}{key}.")
            else:
                names[f"{prefix}{key}"] = field
    walk(ReportSettings, "")
    for report, model in NOTEBOOK_PARAMS.items():
        walk(model, f"notebooks.{report}.", skip=ReportSettings.model_fields)
    return names


def _values_refused(field, value) -> str:
    """Why ``value`` does not fit ``field`` (a pydantic FieldInfo: type and constraints, not the model's own
    validators) in pydantic's words (a choice lists its values), '' when it does."""
    from typing import Annotated
    from pydantic import TypeAdapter, ValidationError
    try:
        TypeAdapter(Annotated[field.annotation, field]).validate_python(value)
    except ValidationError as e:
        err = e.errors()[0]
        expected = (err.get("ctx") or {}).get("expected")
        return f"its values are {expected}" if expected and err["type"] in ("literal_error", "enum") else err["msg"]
    except Exception:   # an annotation pydantic cannot check alone: say nothing about the value
        return ""
    return ""


def _elsewhere(keys: list[str], value=_NO_VALUE) -> str:
    """The suggestion for a dotted name that is not a setting where it was written: the known setting it
    most likely means (a report's setting written without ``notebooks.``, or a setting of that name, or
    the nearest name, found elsewhere, by :func:`difflib.get_close_matches`), with what its value must be
    when ``value`` does not fit; '' when nothing is near."""
    import difflib
    names = setting_names()
    section = "notebooks." + ".".join(keys)
    if keys[0] in NOTEBOOK_PARAMS and (len(keys) == 1 or section in names):   # a report's, without notebooks.
        near = [section]
    else:
        last = {}
        for name in names:
            last.setdefault(name.rsplit(".", 1)[-1], []).append(name)
        close = difflib.get_close_matches(keys[-1], last, n=1)
        near = last[close[0]] if close else difflib.get_close_matches(".".join(keys), names, n=1)
        near = [n for n in near if n != ".".join(keys)]
    if not near:
        return ""
    shown = [f"'{n}'" for n in near[:3]]
    said = f"did you mean {' or '.join(shown)}?"
    refused = _values_refused(names[near[0]], value) if value is not _NO_VALUE and near[0] in names else ""
    return said + (f" ({with_given(refused, value)})" if refused else "")


def setting_problem(keys: list[str], value=_NO_VALUE) -> str | None:
    """Why a dotted setting name (``notebooks.rfm_segmentation.window_days``) names no known setting,
    with the nearest known name, as one line; None when it resolves. Mappings (tables, column maps, tiers)
    accept any key: their own validation names a wrong one.

    The nearest name is looked for beside the wrong one first (``windw_days`` -> ``'window_days'``), then
    anywhere (``outlier_policy`` or ``data_cleaning.outlier_policy`` -> ``'notebooks.data_cleaning.outlier_policy'``);
    given the ``value`` it was to get, the line also says what that setting takes when the value would not
    fit it (``its values are 'flag', 'cap' or 'exclude'``), in pydantic's words."""
    import difflib
    import typing
    if keys[0] == "notebooks":
        if len(keys) == 1:
            return None
        if keys[1] not in NOTEBOOK_PARAMS:
            near = difflib.get_close_matches(keys[1], NOTEBOOK_PARAMS, n=1)
            return (f"unknown report '{keys[1]}'" + (f"; did you mean '{near[0]}'?" if near else "") +
                    f" reports are {', '.join(NOTEBOOK_PARAMS)}")
        tp, path, rest = NOTEBOOK_PARAMS[keys[1]], keys[:2], keys[2:]
        if rest[:1] == ["engine"]:
            return f"the engine setting is shared by every report: set {'.'.join(['engine', *rest[1:]])}, not per report"
    else:
        tp, path, rest = ReportSettings, [], keys
    for key in rest:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if key not in tp.model_fields:
                where = ".".join(path) or "the top level"
                near = difflib.get_close_matches(key, tp.model_fields, n=1)
                if near:
                    return f"no setting '{key}' in {where}; did you mean '{near[0]}'?"
                other = _elsewhere(keys, value)
                return (f"no setting '{key}' in {where}; " +
                        (other or f"settings there: {', '.join(tp.model_fields)}"))
            tp = tp.model_fields[key].annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return f"'{'.'.join(path)}' is a single value; it has no setting '{key}'"
        path.append(key)
    return None
