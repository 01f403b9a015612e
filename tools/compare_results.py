#!/usr/bin/env python
"""Show that two versions of memberkit produce the same numbers on the same input data.

Each version ("ref") is checked out into a temporary git worktree (or taken as it is from a
folder with ``worktree:PATH``) and its own ``run_reports.py`` runs on identical inputs:

* a sample retailer per ``--members`` size, generated once with the *base* ref's
  ``memberkit.sample.generate_sample(folder, n_members=N, seed=7)`` and read by both refs
  through a config file ``{as_of: <the sample's extraction date>, source: {base_dir: folder, sample: null}}``;
* with ``--cdnow``, the CDNOW sample shipped in the lifetimes package, through each ref's
  ``params/cdnow.yaml``.

Then every results file (``<name>.json`` of each report and ``month.json``; not ``manifest.json``)
is compared leaf by leaf by key path, and every page (``*.html``) by the sequence of numbers in
its visible text. See ``DISPLAY_FIELDS`` and ``RUN_STAMP_FIELDS`` for what is not compared, and why.

Usage (from the project folder)::

    PYTHONPATH=lib python tools/compare_results.py --base cbda75e --head compare-tool
    python tools/compare_results.py --base cbda75e --head worktree:/work/wt-feature \\
        --members 2000 20000 --cdnow --keep /tmp/compare --report /tmp/compare/report.md

Two output folders that already exist can be compared without running anything::

    python tools/compare_results.py --outputs outputs/2026-10 /tmp/elsewhere/2026-10

Options:
  --outputs BASE HEAD   only compare these two output folders (no --base/--head, no runs)
  --base REF            the reference version (a commit, branch or tag)
  --head REF            the version under test; ``worktree:PATH`` runs the folder PATH as it is
  --members N [N ...]   sample retailer sizes (default: 2000); ``--members`` alone: none
  --cdnow               also compare on the CDNOW sample (each ref's params/cdnow.yaml)
  --keep DIR            keep the samples, outputs and run logs in DIR (else a temporary folder, removed)
  --report PATH         also write the markdown report to PATH
  --python PATH         interpreter for the runs (default: /work/main/.venv/bin/python)

Exit status: 0 when nothing differs (beyond the excepted fields), 1 when something does,
2 when a comparison could not be made (a bad ref, a run that failed).
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = "/work/main/.venv/bin/python"
SEED = 7
RELATIVE_TOLERANCE = 1e-9
SHOW_DIFFERENCES = 10     # per results file, and per page

# Key paths (``*`` is one key, ``[*]`` one list position) that the refactor removes from the
# results files because they only serve the page: a head without them is not a difference, and
# neither is a changed wording. Every number they carry is still compared on the pages.
DISPLAY_FIELDS = {
    "title": "the report's heading, a translated sentence",
    "headline": "the one-sentence summary; its numbers are also in kpis/results and on the page",
    "language": "the page language, a presentation setting, not a result",
    "kpis.*.label": "the KPI tile's translated caption",
    "kpis.*.display": "the KPI value formatted for the tile (kpis.*.value holds the number)",
    "kpis.*.delta": "the tile's formatted comparison text ('-1.1 pp vs previous month'); "
                    "results.key_figures holds the numbers",
    "results.tables.*.steps[*].description": "data cleaning: the English description of a cleaning rule; "
                                             "steps[*].rule is its id and steps[*].rows its count",
}

# Key paths the refactor moved without changing the value: the base's path -> the head's. A KPI was
# {"value", "label", "display", "delta"} and is now its value alone.
MOVED_FIELDS = {re.compile(r"kpis\.([^.\[]+)\.value\Z"): r"kpis.\1"}

# Strings that name the run, not its results, and so differ between refs by construction.
RUN_STAMP_FIELDS = {
    "stamp.code": "month.json: the package version of the code that ran",
    "stamp.clean.code": "month.json: the package version plus git commit of the code that ran",
    "stamp.clean": "ledger.json: a digest of the cleaning's stamp, which holds the code version (its inputs "
                   "are compared as month.json's stamp.clean.inputs)",
    "stamp.engine_queries.*": "<name>.json: the engine queries the report's process sent, a cost of the code "
                              "that ran, not a result",
}

# The same stamp on the pages: removed from the visible text before numbers are read.
# (The data fingerprint is still compared, as month.json's stamp.clean.inputs.)
PAGE_STAMPS = [
    re.compile(r"(?:Generated|生成时间|生成于)\s*:?\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}"),
    re.compile(r"(?:Code version|code|代码版本|代码)\s*:?\s*\d+\.\d+\.\d+[^\s·]*"),
    re.compile(r"(?:Data fingerprint|data|数据指纹|数据)\s*:?\s*[0-9a-f]{16}\b"),
]

# A number as a page shows it: 1,234  -5.6%  0.862  +1.5  -CN¥334 (read as -334; the minus may be
# U+2212, and a word joiner U+2060 may hold it to the currency sign). Digits glued to a Latin letter or
# digit on the left (C2610, cbda75e) are identifiers, not numbers; a hyphen after a digit is a separator
# (2026-10 reads 2026 and 10), not a sign.
NUMBER = re.compile(r"(?<![A-Za-z0-9_.,])(?P<sign>[-+\u2212]?)\u2060?(?:[A-Z]{0,2}[¥$€£])?(?P<digits>\d+(?:[.,]\d+)*%?)")


class CannotCompare(Exception):
    """A comparison that cannot be made: a bad ref, a missing file, a run or a step that failed."""


def run_python(python: str, args: list[str], tree: "Tree", what: str) -> str:
    """Run ``python ARGS`` with the tree's environment; its standard output, or CannotCompare."""
    done = subprocess.run([python, *args], env=tree_env(tree), cwd=tree.path, capture_output=True, text=True)
    if done.returncode != 0:
        raise CannotCompare(f"{what} failed for {tree.label} ({tree.ref}):\n{done.stderr.strip()[-2000:]}")
    return done.stdout


# ------------------------------------------------------------------ the code of a ref
@dataclass
class Tree:
    """One version of the code, checked out (``created``) or an existing folder."""
    label: str
    ref: str
    path: Path
    created: bool
    commit: str = ""


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def materialise(label: str, ref: str, workdir: Path) -> Tree:
    """A folder holding the code of ``ref``: a detached git worktree, or PATH for ``worktree:PATH``."""
    if ref.startswith("worktree:"):
        path = Path(ref.split(":", 1)[1]).resolve()
        if not (path / "run_reports.py").is_file():
            raise CannotCompare(f"{path} has no run_reports.py")
        try:
            commit = f'{git("rev-parse", "--short", "HEAD", cwd=path)} + working tree'
        except subprocess.CalledProcessError:
            commit = "not a git checkout"
        return Tree(label, ref, path, created=False, commit=commit)
    try:
        commit = git("rev-parse", "--verify", "--short", f"{ref}^{{commit}}")
        path = workdir / f"code-{label}"
        git("worktree", "add", "--detach", str(path), commit)
    except subprocess.CalledProcessError as e:
        raise CannotCompare(f"cannot check out {ref!r} of {REPO}: {e.stderr.strip()}") from None
    return Tree(label, ref, path, created=True, commit=commit)


def remove_trees(trees: list[Tree]) -> None:
    for tree in trees:
        if tree.created and tree.path.exists():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree.path)], cwd=REPO, check=False)


def tree_env(tree: Tree) -> dict[str, str]:
    """The environment a run of ``tree`` needs: its library first on the path, its params/ as the project."""
    return {**os.environ, "PYTHONPATH": str(tree.path / "lib"), "MEMBERKIT_HOME": str(tree.path)}


def check_imports_own_library(python: str, tree: Tree) -> None:
    """Stop when ``import memberkit`` would not load the tree's own copy (e.g. an installed one wins)."""
    where = run_python(python, ["-c", "import memberkit; print(memberkit.__file__)"], tree, "import memberkit").strip()
    if not Path(where).resolve().is_relative_to(tree.path / "lib"):
        raise CannotCompare(f"{tree.label} imports memberkit from {where}, not from {tree.path / 'lib'}")


# ------------------------------------------------------------------ the input data
@dataclass
class Dataset:
    name: str
    config: dict[str, Path]      # per tree label: the --config file its run reads


def sample_dataset(python: str, base: Tree, trees: list[Tree], members: int, workdir: Path) -> Dataset:
    """Generate the sample retailer once with the base ref's generator; one config file for every ref."""
    folder = workdir / "data" / f"sample-{members}"
    script = ("import json, sys\nfrom memberkit.sample import generate_sample\n"
              "truth = generate_sample(sys.argv[1], n_members=int(sys.argv[2]), seed=int(sys.argv[3]))\n"
              "print(json.dumps({'extracted_at': str(truth['extracted_at'])}))")
    out = run_python(python, ["-c", script, str(folder), str(members), str(SEED)], base, "generating the sample")
    as_of = json.loads(out.strip().splitlines()[-1])["extracted_at"]
    config = workdir / "data" / f"sample-{members}.yaml"
    config.write_text(f"# sample retailer, {members} members, seed {SEED}\n"
                      f"as_of: '{as_of}'\nsource:\n  base_dir: {json.dumps(str(folder))}\n  sample: null\n",
                      encoding="utf-8")
    return Dataset(f"sample-{members}", {t.label: config for t in trees})


def cdnow_dataset(trees: list[Tree]) -> Dataset:
    """Each ref's own params/cdnow.yaml; a note when the refs do not read the same source."""
    configs = {t.label: t.path / "params" / "cdnow.yaml" for t in trees}
    for label, path in configs.items():
        if not path.is_file():
            raise CannotCompare(f"{label} has no params/cdnow.yaml")
    return Dataset("cdnow", configs)


def cdnow_source_note(dataset: Dataset) -> str:
    """Empty when every ref's cdnow.yaml names the same source section, else a warning line."""
    import yaml
    sources = {label: yaml.safe_load(path.read_text(encoding="utf-8")).get("source")
               for label, path in dataset.config.items()}
    if len({json.dumps(s, sort_keys=True, default=str) for s in sources.values()}) == 1:
        return ""
    return "WARNING: the refs' params/cdnow.yaml differ in their source section, so the inputs may differ"


# ------------------------------------------------------------------ the runs
def run_reports(python: str, tree: Tree, config: Path, out: Path) -> float:
    """``run_reports.py --config CONFIG --out OUT`` of the tree; returns the wall-clock seconds."""
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.parent / f"{out.name}.log"
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as f:
        code = subprocess.run([python, "run_reports.py", "--config", str(config), "--out", str(out)],
                              cwd=tree.path, env=tree_env(tree), stdout=f, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - start
    if code != 0:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-15:])
        raise CannotCompare(f"{tree.label} ({tree.ref}) on {out.name}: run_reports.py exited {code}\n{tail}")
    return seconds


# ------------------------------------------------------------------ results files
def flatten(value, path: str = "") -> dict[str, object]:
    """Every leaf of a JSON document by key path: ``kpis.churn_rate.value``, ``results.reviewed[0]``."""
    if isinstance(value, dict):
        leaves = {}
        for key, item in value.items():
            leaves.update(flatten(item, f"{path}.{key}" if path else str(key)))
        return leaves
    if isinstance(value, list):
        leaves = {}
        for i, item in enumerate(value):
            leaves.update(flatten(item, f"{path}[{i}]"))
        return leaves or {path: []}
    return {path: value}


def pattern_regex(patterns) -> re.Pattern:
    """One regex for key-path patterns: ``*`` stands for one key, ``[*]`` for one list position."""
    def one(pattern: str) -> str:
        return re.escape(pattern).replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", r"[^.\[]+")
    return re.compile("|".join(f"(?:{one(p)})" for p in patterns) + r"\Z")


EXCEPTED = pattern_regex([*DISPLAY_FIELDS, *RUN_STAMP_FIELDS])


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numbers_differ(a: float, b: float) -> bool:
    """True when |a-b| > 1e-9 * max(1, |a|, |b|); NaN equals NaN and an infinity itself."""
    if math.isnan(a) or math.isnan(b):
        return not (math.isnan(a) and math.isnan(b))
    if math.isinf(a) or math.isinf(b):
        return a != b
    return abs(a - b) > RELATIVE_TOLERANCE * max(1.0, abs(a), abs(b))


@dataclass
class JsonComparison:
    numbers: int = 0                 # numeric leaves compared
    others: int = 0                  # string, boolean and null leaves compared
    excepted: int = 0                # leaves left out as display fields or run stamps
    differences: list[tuple[str, object, object]] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)
    only_head: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.differences) + len(self.only_base) + len(self.only_head)


def compare_documents(base, head) -> JsonComparison:
    """Compare two JSON documents leaf by leaf (numbers within tolerance, anything else exactly)."""
    a, b = moved(flatten(base)), moved(flatten(head))
    result = JsonComparison()
    for path in sorted(a.keys() | b.keys()):
        if EXCEPTED.match(path):
            result.excepted += 1
        elif path not in b:
            result.only_base.append(path)
        elif path not in a:
            result.only_head.append(path)
        elif is_number(a[path]) and is_number(b[path]):
            result.numbers += 1
            if numbers_differ(float(a[path]), float(b[path])):
                result.differences.append((path, a[path], b[path]))
        else:
            result.others += 1
            if type(a[path]) is not type(b[path]) or a[path] != b[path]:
                result.differences.append((path, a[path], b[path]))
    return result


def moved(leaves: dict[str, object]) -> dict[str, object]:
    """Leaves under their current key paths (:data:`MOVED_FIELDS`), so an old and a new file line up."""
    out = {}
    for path, value in leaves.items():
        for old, new in MOVED_FIELDS.items():
            if old.match(path):
                path = old.sub(new, path)
                break
        out[path] = value
    return out


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ pages
def visible_text(html: str) -> str:
    """The text a reader sees: no scripts, styles or embedded images (those are attributes), no run stamp."""
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    text = re.sub(r"\s+", " ", soup.get_text(" ", strip=True))
    for stamp in PAGE_STAMPS:
        text = stamp.sub(" ", text)
    return text


def number_tokens(text: str) -> list[re.Match]:
    return list(NUMBER.finditer(text))


@dataclass
class PageComparison:
    base_numbers: int
    head_numbers: int
    differences: list[str]           # first few, with context
    blocks: int                      # differing runs of numbers in all

    @property
    def agree(self) -> bool:
        return self.blocks == 0


def context(text: str, tokens: list[re.Match], i: int, j: int, width: int = 40) -> str:
    """The text around tokens[i:j] (or around position i when the range is empty)."""
    if not tokens:
        return "…"
    start = tokens[min(i, len(tokens) - 1)].start() if i < len(tokens) else len(text)
    end = tokens[j - 1].end() if j > i else start
    left, right = max(0, start - width), min(len(text), end + width)
    return ("…" if left else "") + text[left:right].strip() + ("…" if right < len(text) else "")


def compare_pages(base_html: str, head_html: str) -> PageComparison:
    """Compare the sequences of numbers in two pages' visible text."""
    text_a, text_b = visible_text(base_html), visible_text(head_html)
    tok_a, tok_b = number_tokens(text_a), number_tokens(text_b)
    seq_a, seq_b = ([m["sign"].replace("\u2212", "-") + m["digits"] for m in tokens] for tokens in (tok_a, tok_b))
    ops = [op for op in difflib.SequenceMatcher(None, seq_a, seq_b, autojunk=False).get_opcodes() if op[0] != "equal"]
    shown = []
    for tag, i1, i2, j1, j2 in ops[:SHOW_DIFFERENCES]:
        shown.append(f"{tag} {seq_a[i1:i2]} -> {seq_b[j1:j2]}: base \"{context(text_a, tok_a, i1, i2)}\" / "
                     f"head \"{context(text_b, tok_b, j1, j2)}\"")
    return PageComparison(len(seq_a), len(seq_b), shown, len(ops))


# ------------------------------------------------------------------ one dataset
@dataclass
class DatasetComparison:
    name: str
    seconds: dict[str, float]
    files: dict[str, JsonComparison] = field(default_factory=dict)
    pages: dict[str, PageComparison] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)      # "name.json: base only"
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return (sum(c.count for c in self.files.values()) + sum(p.blocks for p in self.pages.values())
                + len(self.missing))


def results_files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.json") if p.name != "manifest.json"}


def pages(folder: Path) -> set[str]:
    """The pages of an output folder by relative path: ``<lang>/<name>.html`` (one folder per language),
    and ``<name>.html`` beside the results as a version before that layout wrote them."""
    return {str(p.relative_to(folder)) for p in [*folder.glob("*.html"), *folder.glob("*/*.html")]}


def compare_outputs(base_dir: Path, head_dir: Path, result: DatasetComparison) -> DatasetComparison:
    """Every results file and page of two output folders of one period."""
    for folder in (base_dir, head_dir):
        if not results_files(folder):
            raise CannotCompare(f"{folder} holds no results file (<name>.json, month.json)")
    for kind, names in (("results", (results_files(base_dir), results_files(head_dir))),
                        ("page", (pages(base_dir), pages(head_dir)))):
        a, b = names
        result.missing += [f"{n}: base only" for n in sorted(a - b)] + [f"{n}: head only" for n in sorted(b - a)]
        for name in sorted(a & b):
            if kind == "results":
                result.files[name] = compare_documents(read_json(base_dir / name), read_json(head_dir / name))
            else:
                result.pages[name] = compare_pages((base_dir / name).read_text(encoding="utf-8"),
                                                   (head_dir / name).read_text(encoding="utf-8"))
    return result


# ------------------------------------------------------------------ the report
def render_report(base: Tree, head: Tree, datasets: list[DatasetComparison], seconds: float | None = None) -> str:
    total = sum(d.count for d in datasets)
    took = f" Wall-clock {seconds / 60:.1f} min in all." if seconds is not None else ""
    lines = [f"# Results comparison: base `{base.ref}` ({base.commit}) vs head `{head.ref}` ({head.commit})", "",
             f"**{'No differences' if total == 0 else f'{total} difference(s)'}** "
             f"(tolerance |a-b| <= {RELATIVE_TOLERANCE:g} x max(1, |a|, |b|); "
             f"display fields and run stamps excepted, see the end).{took}", ""]
    for d in datasets:
        lines += render_dataset(d)
    lines += ["## Not compared", ""]
    lines += [f"- `{p}`: {why}" for p, why in {**DISPLAY_FIELDS, **RUN_STAMP_FIELDS}.items()]
    lines += ["- on pages: the time of the run, the code version and the data fingerprint in the footer "
              "(the fingerprint is compared as month.json's `stamp.clean.inputs`)", ""]
    return "\n".join(lines)


def render_dataset(d: DatasetComparison) -> list[str]:
    leaves = sum(c.numbers + c.others for c in d.files.values())
    numbers = sum(c.numbers for c in d.files.values())
    runs = "; " + ", ".join(f"{label} run {s:.0f} s" for label, s in d.seconds.items()) if d.seconds else ""
    lines = [f"## {d.name}: {'no differences' if d.count == 0 else f'{d.count} difference(s)'}", "",
             f"{len(d.files)} results files, {leaves} leaves compared ({numbers} numbers), "
             f"{sum(c.excepted for c in d.files.values())} excepted; {len(d.pages)} pages, "
             f"{sum(p.base_numbers for p in d.pages.values())} numbers on them{runs}.", ""]
    lines += [f"- {note}" for note in d.notes] + [f"- missing file: {m}" for m in d.missing]
    lines += ["| file | leaves | numbers | excepted | differences | only in base | only in head |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, c in d.files.items():
        lines.append(f"| {name} | {c.numbers + c.others} | {c.numbers} | {c.excepted} | {len(c.differences)} "
                     f"| {len(c.only_base)} | {len(c.only_head)} |")
    lines += ["", "| page | numbers (base) | numbers (head) | agree |", "| --- | ---: | ---: | --- |"]
    for name, p in d.pages.items():
        lines.append(f"| {name} | {p.base_numbers} | {p.head_numbers} | "
                     f"{'yes' if p.agree else f'no, {p.blocks} place(s)'} |")
    lines.append("")
    for name, c in d.files.items():
        for path, a, b in c.differences[:SHOW_DIFFERENCES]:
            lines.append(f"- {name} `{path}`: base {a!r}, head {b!r}")
        lines += [f"- {name} `{p}`: only in base" for p in c.only_base[:SHOW_DIFFERENCES]]
        lines += [f"- {name} `{p}`: only in head" for p in c.only_head[:SHOW_DIFFERENCES]]
        hidden = c.count - min(len(c.differences), SHOW_DIFFERENCES) - min(len(c.only_base), SHOW_DIFFERENCES) \
            - min(len(c.only_head), SHOW_DIFFERENCES)
        if hidden > 0:
            lines.append(f"- {name}: {hidden} more")
    for name, p in d.pages.items():
        lines += [f"- {name}: {diff}" for diff in p.differences]
        if p.blocks > len(p.differences):
            lines.append(f"- {name}: {p.blocks - len(p.differences)} more place(s)")
    return lines + [""]


# ------------------------------------------------------------------ command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Compare the numbers two versions of memberkit produce.",
                                epilog="Exit 0: no differences; 1: differences; 2: could not compare.")
    p.add_argument("--base", help="reference commit, branch or tag")
    p.add_argument("--head", help="version under test: a ref, or worktree:PATH")
    p.add_argument("--outputs", nargs=2, metavar=("BASE_DIR", "HEAD_DIR"),
                   help="compare two existing output folders instead of running")
    p.add_argument("--members", type=int, nargs="*", default=[2000], metavar="N", help="sample sizes (default 2000)")
    p.add_argument("--cdnow", action="store_true", help="also compare on the CDNOW sample")
    p.add_argument("--keep", metavar="DIR", help="keep samples, outputs and logs here")
    p.add_argument("--report", metavar="PATH", help="also write the markdown report here")
    p.add_argument("--python", default=DEFAULT_PYTHON, help=f"interpreter for the runs (default {DEFAULT_PYTHON})")
    return p


def compare_folders(base_dir: str, head_dir: str) -> tuple[str, int]:
    """The report and difference count for two existing output folders."""
    folders = [Path(base_dir).resolve(), Path(head_dir).resolve()]
    base, head = (Tree(label, str(f), f, created=False, commit="existing outputs")
                  for label, f in zip(("base", "head"), folders))
    result = compare_outputs(*folders, DatasetComparison(folders[1].name, {}))
    return render_report(base, head, [result]), result.count


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.outputs:
        try:
            report, count = compare_folders(*args.outputs)
        except CannotCompare as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return finish(report, args.report, count)
    if not (args.base and args.head):
        parser.error("--base and --head are required (or --outputs)")
    start = time.monotonic()
    workdir = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="compare-results-"))
    workdir.mkdir(parents=True, exist_ok=True)
    trees: list[Tree] = []
    try:
        trees = [materialise("base", args.base, workdir)]
        trees.append(materialise("head", args.head, workdir))
        base, head = trees
        for tree in trees:
            check_imports_own_library(args.python, tree)
        datasets = [sample_dataset(args.python, base, trees, n, workdir) for n in args.members]
        if args.cdnow:
            datasets.append(cdnow_dataset(trees))
        compared = []
        for dataset in datasets:
            print(f"{dataset.name}: running base and head ...", file=sys.stderr, flush=True)
            seconds = {t.label: run_reports(args.python, t, dataset.config[t.label],
                                            workdir / "runs" / f"{t.label}-{dataset.name}") for t in trees}
            result = DatasetComparison(dataset.name, seconds)
            if dataset.name == "cdnow" and (note := cdnow_source_note(dataset)):
                result.notes.append(note)
            compared.append(compare_outputs(workdir / "runs" / f"base-{dataset.name}",
                                            workdir / "runs" / f"head-{dataset.name}", result))
        report = render_report(base, head, compared, time.monotonic() - start)
    except CannotCompare as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        remove_trees(trees)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return finish(report, args.report, sum(d.count for d in compared))


def finish(report: str, path: str | None, count: int) -> int:
    """Print the report (and write it to ``path``); the exit status for ``count`` differences."""
    print(report)
    if path:
        Path(path).write_text(report + "\n", encoding="utf-8")
    return 0 if count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
