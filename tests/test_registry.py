"""The shape of the library: one registry of reports, complete; imports that only run downward."""
import ast
import json
from pathlib import Path

import pytest
import yaml

from memberkit import reports
from memberkit.config import NOTEBOOK_PARAMS

from .conftest import ROOT

LIB = ROOT / "lib" / "memberkit"
TOP = {"memberkit.runner", "memberkit.checks", "memberkit.notebook"}


def module_name(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every memberkit module ``path`` imports, at its top or inside a function (relative imports resolved)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("memberkit"):
                found.add(target)
                found |= {f"{target}.{a.name}" for a in node.names}   # "from . import runner"
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("memberkit")}
    return found


GRAPH = {module_name(p): imports_of(p) for p in LIB.rglob("*.py")}


def test_the_import_walk_sees_imports_inside_functions():
    assert "memberkit.notebook" in GRAPH["memberkit.runner"]           # runner._context, inside a function
    assert "memberkit.clean" in GRAPH["memberkit.store"]               # store.prepare's producers


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_reaches_up_to_the_runner_checks_or_notebook(module):
    allowed = {"memberkit.runner": TOP, "memberkit.checks": set(), "memberkit.notebook": set()}.get(module, set())
    assert not (GRAPH[module] & TOP) - allowed - {module}, f"{module} imports {(GRAPH[module] & TOP) - allowed}"


def test_readers_do_not_compute_or_generate():
    assert "memberkit.clean" not in GRAPH["memberkit.summary"]      # reading the clean tables never cleans
    assert "memberkit.sample" not in GRAPH["memberkit.sources"]     # reading the sources never generates the sample
    assert not GRAPH["memberkit.reports"] and GRAPH["memberkit.version"] <= {"memberkit", "memberkit.__version__"}   # leaves


# ------------------------------------------------------------------ the registry
@pytest.mark.parametrize("entry", reports.REPORTS, ids=lambda r: r.name)
def test_every_registry_entry_has_all_its_pieces(entry):
    import papermill as pm
    notebook = ROOT / "notebooks" / entry.notebook
    assert notebook.is_file(), f"{entry.name}: no notebook {entry.notebook}"
    names = set(pm.inspect_notebook(str(notebook)))
    assert set(reports.RUN_PARAMETERS) <= names, f"{entry.name}: its parameters cell lacks {set(reports.RUN_PARAMETERS) - names}"
    model = NOTEBOOK_PARAMS[entry.name]
    assert model.__name__ == entry.params_model
    own = set(reports.parameter_names(entry, ROOT))
    assert own and own <= set(model.model_fields), f"{entry.name}: parameters not in {model.__name__}: {own - set(model.model_fields)}"
    params_file = ROOT / "params" / entry.params_file
    assert params_file.is_file(), f"{entry.name}: no {params_file}"
    assert isinstance(yaml.safe_load(params_file.read_text(encoding="utf-8")) or {}, dict)
    assert callable(reports.resolve(entry.analysis)), entry.analysis
    view = reports.resolve(entry.view)
    assert callable(getattr(view, "summary_card", None)), f"{entry.view} has no summary_card"
    if entry.decisions:
        assert callable(reports.resolve(entry.decisions))
    for language in ("en", "zh"):
        catalogue = yaml.safe_load((LIB / "locale" / f"{language}.yaml").read_text(encoding="utf-8"))
        node = catalogue
        for part in entry.title_key.split("."):
            assert isinstance(node, dict) and part in node, f"{entry.name}: no {entry.title_key} in {language}.yaml"
            node = node[part]
        assert isinstance(node, str) and node
    assert set(entry.reads) <= set(reports.PRODUCERS) and set(entry.produces) <= set(reports.PRODUCERS)
    for entry_name in entry.produces:
        assert reports.PRODUCERS[entry_name] == entry.name


def test_a_missing_piece_fails_the_check(tmp_path, monkeypatch):
    """The completeness check can fail: an entry whose notebook is not there."""
    broken = reports.Report("loyalty_points", "06_loyalty_points.ipynb", "RFMParams", "rfm.title",
                            "memberkit.rfm:analyse", "memberkit.views.rfm")
    with pytest.raises(AssertionError, match="no notebook"):
        test_every_registry_entry_has_all_its_pieces(broken)


def test_every_notebook_and_params_file_has_its_registry_entry():
    assert sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) == sorted(r.notebook for r in reports.REPORTS)
    files = {r.params_file for r in reports.REPORTS}
    assert {p.name for p in (ROOT / "params").glob("0*.yaml")} == files
    assert list(NOTEBOOK_PARAMS) == list(reports.NAMES)


def test_dependencies_come_from_what_each_report_reads():
    deps = {r.name: reports.depends_on(r) for r in reports.REPORTS}
    assert deps == {"data_cleaning": (), "rfm_segmentation": ("data_cleaning",),
                    "clv_forecast": ("data_cleaning", "rfm_segmentation"), "ab_test": ("data_cleaning",),
                    "campaign_review": ("data_cleaning", "rfm_segmentation")}
    assert json.loads(json.dumps(reports.PRODUCERS)) == reports.PRODUCERS
    assert set(reports.DECISIONS_ORDER) == {r.name for r in reports.REPORTS if r.decisions}
