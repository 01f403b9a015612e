"""The one registry of reports: what each report is, what it reads from the period store and what it writes.

Every other place that needs to know the reports (the parameter models, the runner's order of
work, the summary page's titles, cards and decisions) reads this tuple. Entries name code by
``"module:attribute"`` text resolved on use, so this module imports nothing of the kit and the
analysis modules may import it without pulling in views or matplotlib.

Adding a report means: its notebook (first code cell tagged ``parameters``), its
``params/NN_<name>.yaml``, its parameter model in :mod:`memberkit.config`, its analysis, its view
(with ``summary_card``), its catalogue entries in both languages, and one line here;
``tests/test_registry.py`` fails when any of them is missing.

Example
-------
>>> [r.name for r in REPORTS][:2]
['data_cleaning', 'rfm_segmentation']
>>> report("clv_forecast").reads
('clean', 'members', 'ledger')
>>> depends_on(report("clv_forecast"))
('data_cleaning', 'rfm_segmentation')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Entries of the period store (:mod:`memberkit.store`) and who produces each: a report's name,
#: or ``month_figures``, the runner's step right after the cleaning.
PRODUCERS = {"clean": "data_cleaning", "month_figures": "month_figures", "members": "rfm_segmentation",
             "ledger": "ledger"}
#: The runner's own steps among the producers: each runs right after the cleaning.
RUNNER_STEPS = ("month_figures", "ledger")
#: Parameters every notebook's ``parameters`` cell has, filled by the runner itself, not from the model.
RUN_PARAMETERS = ("period", "config_files", "overrides", "output_dir", "run_file")


@dataclass(frozen=True)
class Report:
    """One report: its notebook and parameters, what it reads and writes, and where its code is."""

    name: str
    notebook: str                      # under notebooks/
    params_model: str                  # class name in memberkit.config
    title_key: str                     # catalogue key of its title (locale/<language>.yaml)
    analysis: str                      # "module:function" computing it
    view: str                          # its view module (words and pictures)
    reads: tuple[str, ...] = ()        # store entries it reads (keys of PRODUCERS)
    produces: tuple[str, ...] = ()     # store entries it writes
    outputs: tuple[str, ...] = ()      # its files besides <name>.html / .json, as globs under the output folder
    decisions: str | None = None       # "module:function" turning its results into decisions for the summary
    tables: tuple[str, ...] = ("orders",)   # source tables it cannot run without (see missing_tables)

    @property
    def params_file(self) -> str:
        """``params/NN_<name>.yaml``: the notebook's number and the report's name."""
        return f"{self.notebook.split('_', 1)[0]}_{self.name}.yaml"

    @property
    def summary_card(self) -> str:
        """``module:function`` wording its card on the summary page from its results."""
        return f"{self.view}:summary_card"


REPORTS: tuple[Report, ...] = (
    Report("data_cleaning", "01_data_cleaning.ipynb", "CleaningParams", "data_cleaning.title",
           "memberkit.clean:run_cleaning", "memberkit.views.clean", produces=("clean",),
           outputs=("data/clean/*.parquet", "data/clean/_stamp.json", "data/rejected/*.parquet"), tables=()),
    Report("rfm_segmentation", "02_rfm_segmentation.ipynb", "RFMParams", "rfm.title",
           "memberkit.rfm:analyse", "memberkit.views.rfm", reads=("clean", "month_figures"),
           produces=("members",), outputs=("data/rfm_*.csv", "data/members.parquet", "data/members.stamp.json")),
    Report("clv_forecast", "03_clv_forecast.ipynb", "CLVParams", "clv.title",
           "memberkit.clv:analyse", "memberkit.views.clv", reads=("clean", "members", "ledger"),
           outputs=("data/clv_members.csv", "data/clv_at_risk.csv"), decisions="memberkit.clv:decisions"),
    Report("ab_test", "04_ab_test.ipynb", "ABTestParams", "ab.title",
           "memberkit.abtest:analyse", "memberkit.views.abtest", reads=("clean",),
           decisions="memberkit.abtest:decisions", tables=()),
    Report("campaign_review", "05_campaign_review.ipynb", "CampaignParams", "cr.title",
           "memberkit.campaign:analyse", "memberkit.views.campaign", reads=("clean", "members"),
           outputs=("data/uplift_targets.csv", "data/uplift_holdout.csv"), decisions="memberkit.campaign:decisions"),
)

NAMES: tuple[str, ...] = tuple(r.name for r in REPORTS)
#: The order the summary page lists the reports' decisions in: campaigns, experiments, members at risk.
DECISIONS_ORDER: tuple[str, ...] = ("campaign_review", "ab_test", "clv_forecast")


def report(name: str) -> Report:
    """The registry entry ``name``; ``KeyError`` naming the known reports otherwise."""
    for r in REPORTS:
        if r.name == name:
            return r
    raise KeyError(f"unknown report {name!r}; reports are {', '.join(NAMES)}")


def depends_on(r: Report) -> tuple[str, ...]:
    """The reports that must finish before ``r`` starts: the producers of what it reads (runner steps
    such as ``month_figures`` follow their own report, the cleaning), in registry order."""
    needed = {PRODUCERS[entry] for entry in r.reads} - {r.name}
    if needed & set(RUNNER_STEPS):
        needed = (needed - set(RUNNER_STEPS)) | {"data_cleaning"}
    return tuple(x.name for x in REPORTS if x.name in needed)


def missing_tables(r: Report, source_tables) -> tuple[str, ...]:
    """The source tables ``r`` needs (``Report.tables``) that ``source_tables`` (the names of the
    configured source's tables) lacks: an experiments export with its own outcome columns runs
    without orders, and the reports on orders are then skipped for that reason, not failed.

    >>> missing_tables(report("rfm_segmentation"), ["experiments"]), missing_tables(report("ab_test"), ["experiments"])
    (('orders',), ())
    """
    return tuple(t for t in r.tables if t not in set(source_tables))


def resolve(target: str):
    """The object a ``"module:attribute"`` text names (imported on first use)."""
    module, _, attribute = target.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attribute) if attribute else obj


@lru_cache(maxsize=None)
def _notebook_parameters(path: str, mtime: float) -> tuple[str, ...]:
    import papermill as pm
    return tuple(pm.inspect_notebook(path))


def parameter_names(r: Report, root: Path) -> tuple[str, ...]:
    """The names in the notebook's cell tagged ``parameters`` (papermill's ``inspect_notebook``),
    without those the runner fills itself (:data:`RUN_PARAMETERS`): the report's own settings."""
    path = Path(root) / "notebooks" / r.notebook
    return tuple(n for n in _notebook_parameters(str(path), path.stat().st_mtime) if n not in RUN_PARAMETERS)
