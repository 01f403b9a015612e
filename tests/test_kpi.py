"""The five key figures and the cohort table on a hand-computed case, empty periods, and the
RFM report's promises on the sample retailer (migration accounts for everyone, riskiest region)."""
import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from memberkit import kpi, month
from memberkit.views import Presentation
from memberkit.views import rfm as rfm_view

from .conftest import ROOT

# Period 2026-03. Active window 90 days: "active at the start" looks at (2025-11-30, 2026-02-28],
# "active at the end" at (2025-12-31, 2026-03-31].
MEMBERS = [("a", "2025-12-01"), ("b", "2026-01-15"), ("c", "2026-03-05"), ("d", "2026-03-20"),
           ("e", "2026-04-01"), ("f", "2025-06-01"), ("g", "2026-01-20")]
ORDERS = [
    ("1", "a", "2026-01-10", 100.0),
    ("2", "a", "2026-03-02", 50.0),
    ("3", "a", "2026-03-09", 30.0),
    ("3r", "a", "2026-03-10", -10.0),   # return: nets against March revenue, is not an order
    ("4", "b", "2025-12-15", 200.0),    # active at the start of March, not at its end: churned
    ("5", "c", "2026-03-06", 80.0),
    ("6", None, "2026-03-03", 1000.0),  # a guest order: outside member figures
    ("7", "g", "2026-02-05", 100.0),
    ("0", "h", "2025-06-10", 40.0),     # the data begins here: h, not in the member table, bought once
]


@pytest.fixture(scope="module")
def tables():
    m = pd.DataFrame(MEMBERS, columns=["member_id", "join_date"])
    m["join_date"] = pd.to_datetime(m.join_date).dt.date
    o = pd.DataFrame(ORDERS, columns=["order_id", "member_id", "order_date", "amount"])
    o["order_date"] = pd.to_datetime(o.order_date).dt.date
    return ibis.memtable(o), ibis.memtable(m)


def test_member_growth_rate(tables):
    _, members = tables
    assert kpi.member_growth_rate(members, "2026-03") == pytest.approx(2 / 4)   # c, d joined; a, b, f, g before


def test_repurchase_rate(tables):
    orders, _ = tables
    assert kpi.repurchase_rate(orders, "2026-03") == pytest.approx(1 / 2)       # a twice, c once


def test_average_order_value(tables):
    orders, _ = tables
    assert kpi.average_order_value(orders, "2026-03") == pytest.approx((50 + 30 - 10 + 80) / 3)


def test_churn_rate(tables):
    orders, _ = tables
    assert kpi.churn_rate(orders, "2026-03", 90) == pytest.approx(1 / 3)        # a, b, g active at start; b lost


def test_activity_rate(tables):
    orders, members = tables
    assert kpi.activity_rate(orders, members, "2026-03", 90) == pytest.approx(3 / 6)  # a, c, g of a, b, c, d, f, g


def test_empty_periods_give_no_rate_rather_than_an_error(tables):
    orders, members = tables
    later = kpi.key_figures(orders, members, "2030-01", 90)
    assert later["member_growth_rate"] == 0.0 and later["activity_rate"] == 0.0   # members exist, none new or active
    assert all(math.isnan(later[k]) for k in ("repurchase_rate", "average_order_value", "churn_rate"))
    assert math.isnan(kpi.member_growth_rate(members, "2020-01"))                 # nobody had joined yet


def test_a_window_reaching_before_the_data_begins_is_not_enough_history(tables):
    orders, members = tables
    assert kpi.data_start(orders) == dt.date(2025, 6, 10)
    # July 2025: the 90 days before its start and before its end reach before 2025-06-10
    july = kpi.key_figures(orders, members, "2025-07", 90)
    assert {k for k, v in july.items() if math.isnan(v)} >= {"member_growth_rate", "churn_rate", "activity_rate"}
    assert kpi.short_history("2025-07", dt.date(2025, 6, 10), 90) == {"member_growth_rate", "churn_rate",
                                                                       "activity_rate"}
    # June 2025 is not a whole month of data: no repurchase rate or AOV either
    assert kpi.short_history("2025-06", dt.date(2025, 6, 10), 90) == set(kpi.KEY_FIGURES)
    # Activity at the end of September looks back to 2025-07-03: known; churn still needs (2025-06-02, ...]
    assert kpi.short_history("2025-09", dt.date(2025, 6, 10), 90) == {"member_growth_rate", "churn_rate"}
    assert kpi.short_history("2025-10", dt.date(2025, 6, 10), 90) == set()
    t = kpi.figures_trend(month.compute_figures({"orders": orders, "members": members}, "2025-09", 90, months=3), 3)
    assert math.isnan(t.loc["2025-07", "activity_rate"]) and t.loc["2025-09", "activity_rate"] == 0.0


def test_compared_and_trend(tables):
    orders, members = tables
    figures = month.compute_figures({"orders": orders, "members": members}, "2026-03", 90)
    c = kpi.figures_compared(figures)
    assert list(c.columns[:3]) == ["current", "previous", "year_ago"]
    assert c.loc["churn_rate", "current"] == pytest.approx(1 / 3)
    # February: active at its start a, b (g first bought 02-05); at its end a, b, g: nobody lost
    assert c.loc["churn_rate", "previous"] == 0.0
    t = kpi.figures_trend(figures, 3)
    assert list(t.index) == ["2026-01", "2026-02", "2026-03"]
    assert t.loc["2026-03", "average_order_value"] == pytest.approx(50.0)


def test_cohort_retention_by_hand(tables):
    orders, members = tables
    c = kpi.cohort_retention(orders, members, "2026-03", cohorts=3)
    assert list(c.index) == ["2026-01", "2026-02", "2026-03"]
    assert c.loc["2026-01", "members"] == 2 and c.loc["2026-03", "members"] == 2 and c.loc["2026-02", "members"] == 0
    assert c.loc["2026-01", [0, 1, 2]].tolist() == [0.0, 0.5, 0.0]   # g bought in February, b only before joining
    assert c.loc["2026-03", 0] == 0.5 and math.isnan(c.loc["2026-03", 1])   # c bought; April not observed yet
    assert c.loc["2026-02"].drop("members").isna().all()                     # an empty cohort has no rate


def test_each_trend_panel_formats_its_own_rate():
    """Repurchase reaches 40% (whole percents); activity stays under 10% (one decimal)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from memberkit.views import kpi as kpi_view
    months = ["2026-08", "2026-09", "2026-10"]
    trend = pd.DataFrame({"member_growth_rate": [0.01, 0.02, 0.03], "repurchase_rate": [0.3, 0.35, 0.4],
                          "average_order_value": [120.0, 130.0, 125.0], "churn_rate": [0.2, 0.25, 0.3],
                          "activity_rate": [0.03, 0.04, 0.05]}, index=months)
    fig = kpi_view.plot_trend(Presentation("en", "CNY"), trend)
    panels = dict(zip(kpi.KEY_FIGURES, fig.axes))
    tick = lambda key, v: panels[key].yaxis.get_major_formatter()(v, 0)   # noqa: E731
    assert tick("repurchase_rate", 0.4) == "40%" and tick("churn_rate", 0.25) == "25%"
    assert tick("activity_rate", 0.05) == "5.0%" and tick("member_growth_rate", 0.025) == "2.5%"
    plt.close(fig)


@pytest.mark.parametrize("language, said", [
    ("en", "Repurchase rate: from 22.3% (Oct 2025) to 21.8% (Oct 2026), lowest 19.4% (Nov 2025), highest 23.1%"),
    ("zh", "从 22.3%（2025年10月）到 21.8%（2026年10月），最低 19.4%（2025年11月），最高 23.1%")])
def test_the_trend_charts_description_writes_each_figure_as_its_card_does(language, said):
    """The trend chart's aria-label said 'repurchase from 22% to 22%' (its axis's whole percents) beside the
    card's 22.3% and 21.8%: it writes each value as the card does (format_figure)."""
    import re
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from memberkit.views import kpi as kpi_view
    from memberkit.views import page, theme
    months = ["2025-10", "2025-11", "2026-09", "2026-10"]
    trend = pd.DataFrame({"member_growth_rate": [0.072, 0.05, 0.045, 0.04], "repurchase_rate": [0.223, 0.194, 0.231, 0.218],
                          "average_order_value": [120.0, 130.0, 125.0, 128.0], "churn_rate": [0.2, 0.25, 0.3, 0.185],
                          "activity_rate": [0.03, 0.04, 0.05, float("nan")]}, index=months)
    p = Presentation(language, "CNY")
    theme.apply_theme(p)     # the page's fonts, Chinese ones for zh
    for keys in kpi_view.trend_rows():
        fig = kpi_view.plot_trend(p, trend, keys)
        label = re.search(r'aria-label="([^"]*)"', page.chart_html(fig)).group(1)
        plt.close(fig)
        if "repurchase_rate" in keys:
            assert said in label and "22%" not in label, label
        assert all(p.text(f"kpi.{k}") in label for k in keys)
        if "activity_rate" in keys:
            assert "3.0%" in label and "5.0%" in label and "nan" not in label   # the last month with a value


# ------------------------------------------------------------------ the sample retailer
@pytest.fixture(scope="module")
def sample_analysis(small_cleaned, small_config):
    from memberkit import engine, month, rfm
    from memberkit.config import load_settings, notebook_params
    _, truth, out = small_cleaned
    con = engine.connect()
    tables = {n: con.read_parquet(out / "clean" / f"{n}.parquet") for n in ("orders", "members")}
    params = notebook_params(load_settings(ROOT, [small_config]), "rfm_segmentation")
    figures = month.compute_figures(tables, "2026-10", params.active_window_days)
    return rfm.analyse(tables, "2026-10", params, figures), truth


def test_migration_accounts_for_every_member_of_both_periods(sample_analysis):
    from memberkit import rfm
    a, _ = sample_analysis
    before = set(rfm.segmented(a.previous_table).member_id)
    now = set(rfm.segmented(a.table).member_id)
    assert a.migration.to_numpy().sum() == len(before | now)
    assert a.migration.drop(index=rfm.OUTSIDE).to_numpy().sum() == len(before)
    assert a.migration.drop(columns=rfm.OUTSIDE).to_numpy().sum() == len(now)
    assert a.migration.loc[rfm.OUTSIDE].sum() == len(now - before)
    assert rfm.key_results(a)["migration_members"] == len(before & now)   # the summary's "segmented in both"


def test_the_riskiest_region_is_the_one_the_generator_made_churn_most(sample_analysis):
    from memberkit import rfm
    a, truth = sample_analysis
    assert rfm.most_at_risk_region(a.regions) == truth["highest_churn_city"] == "上海"
    from memberkit.report import Results
    res = Results("rfm_segmentation", a.period)
    rfm_view.record(Presentation("en"), a, res)
    assert truth["highest_churn_city"] in rfm_view.headline(Presentation("zh"), res.to_dict())
    assert "Shanghai" in rfm_view.headline(Presentation("en"), res.to_dict())   # the English edition's name


def _one_month_at_a_time(orders, members, period, months, window):
    """The month figures as the one-month functions give them, one month after another (nine queries each)."""
    first, rows = kpi.data_start(orders), {}
    for p in (str(p) for p in pd.period_range(pd.Period(period, "M") - (months - 1), pd.Period(period, "M"), freq="M")):
        unknown = kpi.short_history(p, first, window)
        rows[p] = {"member_revenue": math.nan if "average_order_value" in unknown else kpi.member_revenue(orders, p),
                   "active_members": (math.nan if "activity_rate" in unknown
                                      else kpi.active_members_at_end(orders, members, p, window)),
                   **kpi.key_figures(orders, members, p, window, first)}
    frame = pd.DataFrame.from_dict(rows, orient="index")[list(kpi.MONTH_FIGURES)]
    frame.index.name = "period"
    return frame


@pytest.mark.parametrize("period, months, window", [("2026-03", 13, 90), ("2026-04", 11, 30), ("2025-09", 4, 90)])
def test_month_figures_are_the_one_month_figures_in_four_queries(tables, small_tables, period, months, window):
    """Gathered for every month at once (the month figures' 117 queries were most of a Spark run's time),
    each figure is bit for bit what its one-month function gives, short history included."""
    orders, members = tables
    pd.testing.assert_frame_equal(kpi.month_figures(orders, members, period, months, window),
                                  _one_month_at_a_time(orders, members, period, months, window))
    clean, _ = small_tables
    pd.testing.assert_frame_equal(kpi.month_figures(clean["orders"], clean["members"], "2026-10", months, window),
                                  _one_month_at_a_time(clean["orders"], clean["members"], "2026-10", months, window))
