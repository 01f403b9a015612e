"""The shop's own settings: tier names and thresholds, the thresholds' currency; reports without their
table; hints that work when pasted."""
import re

import pandas as pd
import pytest

from memberkit import abtest, campaign, rfm
from memberkit.config import apply_overrides, load_settings, notebook_params
from memberkit.errors import ConfigError
from memberkit.views import Presentation
from memberkit.views import abtest as ab_view
from memberkit.views import campaign as cr_view
from memberkit.views import rfm as rfm_view

from .conftest import ROOT

GBP_SHOP = ["currency=GBP", "notebooks.rfm_segmentation.tier_thresholds={Silver: 200, Gold: 800, Platinum: 2000}",
            "notebooks.rfm_segmentation.base_tier=Member", "notebooks.rfm_segmentation.tier_currency=GBP"]


def test_a_shop_names_its_own_tiers_in_its_own_currency():
    params = notebook_params(load_settings(ROOT, [], GBP_SHOP), "rfm_segmentation")
    assert params.tier_thresholds == {"Silver": 200, "Gold": 800, "Platinum": 2000}, "replaced whole, not merged"
    tiers = rfm.assign_tiers(pd.Series([0, 199.99, 200, 950, 5000]), params.tier_thresholds, params.base_tier)
    assert tiers.tolist() == ["Member", "Member", "Silver", "Gold", "Platinum"]
    assert list(tiers.cat.categories) == ["Member", "Silver", "Gold", "Platinum"]
    assert rfm_view.tier_currency_warning(Presentation("en", "GBP"), params) is None


def test_thresholds_in_another_currency_are_warned_about_with_a_working_command():
    settings = load_settings(ROOT, [], ["currency=GBP"])
    params = notebook_params(settings, "rfm_segmentation")
    warning = rfm_view.tier_currency_warning(Presentation("en", "GBP"), params)
    assert "CNY" in warning and "GBP" in warning
    hint = rfm_view.tier_currency_hint(Presentation("en", "GBP"), params)   # the note for analysts under it
    command = re.search(r"-p (\S+)$", hint).group(1)
    fixed = notebook_params(apply_overrides(settings, [command]), "rfm_segmentation")
    assert rfm_view.tier_currency_warning(Presentation("en", "GBP"), fixed) is None


@pytest.mark.parametrize("bad", ["{Gold: 800, Silver: 200}", "{Silver: -1}", "{普通: 10}"])
def test_tier_thresholds_must_rise_and_not_repeat_the_base_tier(bad):
    with pytest.raises(ConfigError):
        notebook_params(load_settings(ROOT, [], [f"notebooks.rfm_segmentation.tier_thresholds={bad}"]),
                        "rfm_segmentation")


def test_a_report_without_its_table_is_skipped_with_no_cards(small_cleaned):
    import ibis
    _, _, out = small_cleaned
    con = ibis.duckdb.connect()
    tables = {n: con.read_parquet(out / "clean" / f"{n}.parquet") for n in ("orders", "members")}
    p = Presentation("en", "CNY")
    settings = load_settings(ROOT)
    a = abtest.analyse(tables, "2026-10", notebook_params(settings, "ab_test"))
    res = recorded(ab_view, a, notebook_params(settings, "ab_test"))
    assert not a.has_table and res["kpis"] == {} and ab_view.kpis(p, res) == []
    assert ab_view.headline(p, res).startswith("Skipped")
    c = campaign.analyse(tables, "2026-10", notebook_params(settings, "campaign_review"))
    res = recorded(cr_view, c, notebook_params(settings, "campaign_review"))
    assert not c.has_table and res["kpis"] == {} and cr_view.kpis(p, res) == []
    assert cr_view.headline(p, res).startswith("Skipped")


def recorded(view, analysis, params) -> dict:
    """The results a report's notebook records (and the month summary reads) for ``analysis``."""
    from memberkit.report import Results
    res = Results("report", "2026-10")
    view.record(Presentation("en", "CNY"), analysis, res, params)
    return res.to_dict()


def test_the_hint_to_name_an_experiment_works_when_pasted(small_cleaned):
    import ibis
    _, _, out = small_cleaned
    con = ibis.duckdb.connect()
    tables = {n: con.read_parquet(out / "clean" / f"{n}.parquet") for n in ("orders", "members", "experiments")}
    settings = load_settings(ROOT)
    a = abtest.analyse(tables, "2023-01", notebook_params(settings, "ab_test"))   # before any experiment
    hint = " ".join(ab_view.analyst_hints(Presentation("en", "CNY"),
                                          recorded(ab_view, a, notebook_params(settings, "ab_test"))))
    command = re.search(r"-p '([^']+)'", hint).group(1)
    params = notebook_params(apply_overrides(settings, [command]), "ab_test")
    assert params.experiments and params.experiments[0] in a.available
    # every other report accepts the same command line
    for name in ("data_cleaning", "rfm_segmentation", "clv_forecast", "campaign_review"):
        notebook_params(apply_overrides(settings, [command]), name)
