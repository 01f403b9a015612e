"""The whole monthly run at scale: "a million members in a minute" (issue 22). Never run in CI.

For each size, the sample retailer (``memberkit.sample.generate_sample(folder, n_members=N, seed=7)``)
is generated into a cache folder, or reused from it (its generation time and peak memory are
recorded once, separately from the run). Then, on that data:

1. the run, once per engine (``--engine duckdb,spark`` runs both, one after the other, on the same
   data): ``run_reports.py --config CFG --out OUT -p engine.backend=ENGINE`` as a subprocess, the
   config being ``{as_of: <the sample's extraction date>, source: {base_dir: folder, sample: null}}``;
   its wall time, its peak memory over the whole process tree (the runner and every kernel it starts),
   and from its log the seconds and the engine queries of the checks, of each report and of the month
   figures step (``done rfm_segmentation in 12.2s, 85 engine queries``: each report's kernel counts
   the queries it sends, :func:`memberkit.engine.queries`);
2. the floor, in the same bench run: one DuckDB scan of orders.csv and one per-member R/F/M
   aggregate (``bench/floor.py``; on DuckDB whatever the engine: it is DuckDB's floor);
3. the CLV fits of the kit against the naive lifetimes path on the run's clean orders, with the
   parameters' agreement (``bench/naive_clv.py``; not at 10,000,000 members; on DuckDB);
4. what the month's attribution costs (``bench/attribution.py``; on DuckDB).

Peak memory is measured with psutil: every 0.2 s, the resident set sizes (RSS) of the process and
all its descendants are summed; the peak is the largest sum seen (shared pages count once per
process, so it errs high; a process living less than 0.2 s can be missed). The largest single
process's RSS is recorded beside it. (cgroup memory.peak is not used: on a shared machine the
cgroup holds other people's processes.)

Results go to ``--out`` (default bench/results.md), with the machine, the date, the code version
and the targets of the issue; the file is written again after each run, so a bench stopped part way
keeps what it measured. What the file held before the bench started is kept below the new results, under
"Earlier results" (:func:`with_earlier`): a run of one size does not wipe the record of the others. ``--json FILE`` also writes the measurements as JSON.

    make bench                                      # --members 20000,1000000
    make bench ARGS="--members 20000 --out /tmp/bench.md"
    .venv/bin/python bench/run.py --huge            # also 10,000,000 members (needs > 8 GB free)
    .venv/bin/python bench/run.py --members 1000000 -p engine.memory_limit=1.5GB
    make bench ARGS="--engine duckdb,spark --members 20000 --out /tmp/spark.md"   # local Spark beside DuckDB

Options: ``--members N,N`` sizes; ``--huge`` adds 10,000,000; ``--engine duckdb``, ``spark`` or
``duckdb,spark`` (default duckdb; spark is a local session, ``-p engine.spark_master=...`` for a
cluster); ``--cache DIR`` for the generated retailers (default: <temp>/memberkit-bench); ``--keep DIR``
keeps each run's output folder and log there (they hold personal data: the default removes them);
``-p KEY=VALUE`` passes a setting to the run, the floor and the CLV comparison.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 7
HUGE = 10_000_000
GB = 1024 ** 3
ENGINES = ("duckdb", "spark")
REPORTS = ("data_cleaning", "rfm_segmentation", "clv_forecast", "ab_test", "campaign_review")
# the targets, at 1,000,000 members (memory at 10,000,000: 8 GB)
TARGETS = {"run": 60.0, "checks": 5.0, "data_cleaning": 15.0, "clv_forecast": 35.0, "peak_gb": 4.0,
           "clv_speedup": 8.0, "clv_agreement": 1e-6, "huge_peak_gb": 8.0}


# ------------------------------------------------------------------ measuring a process tree
def measure(cmd: list[str], log: Path | None = None, interval: float = 0.2, **popen) -> dict:
    """Run ``cmd`` to its end; {"code", "seconds", "peak_bytes", "peak_process_bytes"}.

    ``seconds``: wall time from start to exit. ``peak_bytes``: the largest sum of RSS over the process
    and all its descendants, sampled every ``interval`` seconds; ``peak_process_bytes``: the largest
    RSS of any one of them; ``peak_process_during``: the reports the run's log showed running (started,
    not yet done) when that process was at its largest, the runner's own steps when none. stdout and
    stderr go to ``log`` (else are discarded)."""
    import psutil
    out = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL
    peak = {"tree": 0, "one": 0, "during": []}

    def running() -> list[str]:
        try:
            lines = log.read_text(encoding="utf-8").splitlines() if log else []
        except OSError:
            return []
        started = [ln.split()[1] for ln in lines if ln.strip().startswith("started ")]
        finished = {ln.split()[1] for ln in lines if ln.strip().startswith(("done ", "FAILED "))}
        return [name for name in started if name not in finished]
    try:
        start = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **popen)
        done = threading.Event()

        def sample():
            while not done.is_set():
                total = 0
                try:
                    family = [proc, *proc.children(recursive=True)]
                except psutil.Error:
                    family = []
                for p in family:
                    try:
                        rss = p.memory_info().rss
                    except psutil.Error:
                        continue
                    total += rss
                    if rss > peak["one"]:
                        peak["one"], peak["during"] = rss, running()
                peak["tree"] = max(peak["tree"], total)
                done.wait(interval)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    finally:
        if log:
            out.close()
    return {"code": code, "seconds": seconds, "peak_bytes": peak["tree"], "peak_process_bytes": peak["one"],
            "peak_process_during": peak["during"]}


def _env() -> dict:
    """This tree's library first, so the run measures the code beside this script; output unbuffered, so
    the run's log shows each step as it happens (:func:`measure` reads which reports are running from it)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join([str(ROOT / "lib"), *filter(None, [os.environ.get("PYTHONPATH")])])}


def _json_of(cmd: list[str]) -> dict:
    """The last stdout line of ``cmd`` (run in the project folder) as JSON; SystemExit with its stderr when it fails."""
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ the steps
def retailer(n: int, cache: Path, python: str) -> tuple[Path, dict]:
    """The sample retailer of ``n`` members, seed 7, in ``cache``: generated when absent (measured), else reused.
    Returns (its folder, {"extracted_at", "seconds", "peak_bytes", "generated", "reused"})."""
    folder = cache / f"retailer-{n}-seed{SEED}"
    marker = folder / "bench-generation.json"        # written last: a folder without it is incomplete
    if marker.is_file():
        return folder, {**json.loads(marker.read_text(encoding="utf-8")), "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    log = cache / f"generation-{n}.log"
    print(f"generating {n:,} members into {folder} ...", flush=True)
    code = ("import json, sys; from memberkit.sample import generate_sample; "
            f"t = generate_sample(sys.argv[1], n_members={n}, seed={SEED}); print(json.dumps(t['extracted_at']))")
    m = measure([python, "-c", code, str(folder)], log, cwd=ROOT, env=_env())
    if m["code"]:
        raise SystemExit(f"generating {n:,} members failed (exit {m['code']}); see {log}")
    extracted = json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])
    info = {"extracted_at": extracted, "seconds": m["seconds"], "peak_bytes": m["peak_bytes"],
            "generated": f"{dt.datetime.now():%Y-%m-%d %H:%M}"}
    marker.write_text(json.dumps(info), encoding="utf-8")
    return folder, {**info, "reused": False}


STEP_LINE = re.compile(r"^\s+done\s+(.+?) in ([\d.]+)s(?:, (\d+) engine queries)?\s*$")


def steps_of(log_text: str) -> dict[str, float]:
    """Seconds per step from the runner's log (``  done     <step> in 12.3s``, optionally followed by
    ``, 85 engine queries``): "checks", each report, "month figures"."""
    return {m.group(1): float(m.group(2)) for m in map(STEP_LINE.match, log_text.splitlines()) if m}


def queries_of(log_text: str) -> dict[str, int]:
    """Engine queries per step from the runner's log (``  done     <step> in 12.3s, 85 engine queries``);
    a step whose line has no count is absent."""
    return {m.group(1): int(m.group(3)) for m in map(STEP_LINE.match, log_text.splitlines()) if m and m.group(3)}


def _extras_overrides(overrides: list[str]) -> list[str]:
    """The settings for the floor, the CLV comparison and the attribution: the run's, on DuckDB."""
    return ["engine.backend=duckdb", *(o for o in overrides if not o.startswith(("engine.backend=", "engine.spark_")))]


def run_engine(n: int, engine: str, config: Path, args, work: Path) -> dict:
    """One run of ``run_reports.py`` on ``engine``: its measurements, steps, queries and outcome."""
    overrides = [f"engine.backend={engine}", *args.overrides]
    out, log = work / f"out-{n}-{engine}", work / f"run-{n}-{engine}.log"
    print(f"{n:,} members on {engine}: the run ...", flush=True)
    cmd = [args.python, str(ROOT / "run_reports.py"), "--config", str(config), "--out", str(out)]
    run = measure(cmd + [a for o in overrides for a in ("-p", o)], log, cwd=ROOT, env=_env())
    text = log.read_text(encoding="utf-8")
    ok = re.search(r"^(\d+) of (\d+) reports ok", text, re.M)
    result = {"engine": engine, "run": run, "steps": steps_of(text), "queries": queries_of(text),
              "reports_ok": int(ok.group(1)) if ok else 0, "summary_page": any(out.glob("*/index.html")),   # outputs/<period>/<lang>/
              "log_tail": text.strip().splitlines()[-5:], "out": str(out), "log": str(log)}
    print(f"  {run['seconds']:.1f}s, peak {run['peak_bytes'] / GB:.2f} GB; steps {result['steps']}; "
          f"queries {result['queries']}", flush=True)
    return result


def run_size(n: int, args, work: Path, save=lambda: None) -> dict:
    """Generate (or reuse), run on each engine, floor and CLV comparison for ``n`` members; everything measured
    as a dict (``runs``: one per engine). ``save`` is called after each step, the dict then holding what is done."""
    folder, generation = retailer(n, args.cache, args.python)
    config = work / f"config-{n}.yaml"
    config.write_text(f"# sample retailer, {n} members, seed {SEED}\nas_of: '{generation['extracted_at']}'\n"
                      f"source:\n  base_dir: {json.dumps(str(folder))}\n  sample: null\n", encoding="utf-8")
    result = {"members": n, "generation": generation, "runs": {}}
    args.results.append(result)
    for engine in args.engines:
        result["runs"][engine] = run_engine(n, engine, config, args, work)
        save()
    duck = _extras_overrides(args.overrides)
    print(f"{n:,} members: the floor ...", flush=True)
    result["floor"] = _json_of([args.python, str(ROOT / "bench" / "floor.py"), str(config), *duck])
    # the CLV comparison and the attribution read a finished run's folder: the DuckDB run's when there is one
    runs = sorted(result["runs"].values(), key=lambda r: r["engine"] != "duckdb")
    out = next((Path(r["out"]) for r in runs if (Path(r["out"]) / "manifest.json").is_file()), None)
    if n < HUGE and out and (out / "data" / "clean" / "orders.parquet").is_file():
        print(f"{n:,} members: CLV fits, kit and naive ...", flush=True)
        result["clv"] = _json_of([args.python, str(ROOT / "bench" / "naive_clv.py"), str(out), str(config), *duck])
    if out and (out / "month.json").is_file():
        print(f"{n:,} members: the attribution ...", flush=True)
        result["attribution"] = _json_of([args.python, str(ROOT / "bench" / "attribution.py"), str(out), str(config),
                                          *duck])
    save()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for r in result["runs"].values():
            for path in (Path(r["out"]), Path(r["log"])):
                if path.exists():
                    shutil.move(str(path), str(args.keep / path.name))
    return result


# ------------------------------------------------------------------ the results file
def machine() -> str:
    """CPU model, cores and memory of this machine, and the Python and DuckDB versions."""
    import duckdb
    import psutil
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / GB:.1f} GB RAM; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def _code_version() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _met(value: float | None, target: float, applies: bool, above: bool = False) -> str:
    if not applies or value is None:
        return "–"
    return "yes" if (value >= target if above else value <= target) else "**no**"


def size_section(r: dict) -> str:
    """One size's tables in markdown: each engine's run side by side (seconds, peak memory, engine queries),
    then what was measured on DuckDB alongside (the floor, the attribution, the CLV comparison)."""
    n, gen, runs = r["members"], r["generation"], r["runs"]
    at_1m, huge = n == 1_000_000, n >= HUGE
    limit = TARGETS["huge_peak_gb"] if huge else TARGETS["peak_gb"]
    engines = list(runs)

    def met(judge) -> str:       # judge(run) -> "yes" / "**no**" / "–"; named per engine when there are several
        marks = [judge(runs[e]) for e in engines]
        return marks[0] if len(engines) == 1 else ", ".join(f"{e} {m}" for e, m in zip(engines, marks))

    def complete(e: str) -> bool:
        run = runs[e]
        return run["reports_ok"] == len(REPORTS) and run["summary_page"] and run["run"]["code"] == 0

    lines = [f"## {n:,} members", "",
             f"Generation (seed {SEED}, not part of the run): {gen['seconds']:.1f} s, peak {gen['peak_bytes'] / GB:.2f} GB"
             + (f" (cached, generated {gen['generated']})" if gen.get("reused") else "") + "."]
    for e in engines:
        run = runs[e]
        lines.append(f"The run on {e}: exit {run['run']['code']}, {run['reports_ok']} of {len(REPORTS)} reports ok, "
                     f"summary page {'written' if run['summary_page'] else '**missing**'}; largest single process "
                     f"{run['run']['peak_process_bytes'] / GB:.2f} GB, while "
                     f"{', '.join(run['run'].get('peak_process_during') or []) or 'the runner checked or figured'} ran.")
    lines += ["", "| step | " + " | ".join(f"{e} s | {e} peak GB | {e} queries" for e in engines) + " | target | met |",
              "|---|" + "---|---|---|" * len(engines) + "---|---|"]
    cells = " | ".join(f"{runs[e]['run']['seconds']:.1f} | {runs[e]['run']['peak_bytes'] / GB:.2f} | "
                       f"{sum(runs[e]['queries'].values()) if runs[e]['queries'] else '–'}" for e in engines)
    lines.append(f"| whole run (run_reports.py, process tree; queries: all steps) | {cells} | ≤ {TARGETS['run']:.0f} s, "
                 f"≤ {limit:.0f} GB | "
                 + met(lambda x: _met(x["run"]["seconds"], TARGETS["run"], at_1m)) + "; "
                 + met(lambda x: _met(x["run"]["peak_bytes"] / GB, limit, at_1m or huge)) + " |")
    if huge:
        lines.append(f"| all five reports and the summary complete within {limit:.0f} GB | "
                     + " | ".join([""] * 3 * len(engines)) + " | | "
                     + met(lambda x: "yes" if complete(x["engine"]) and x["run"]["peak_bytes"] / GB <= limit
                           else "**no**") + " |")
    for name in ("checks", "data_cleaning", "month figures", *REPORTS[1:]):
        target = TARGETS.get(name)
        cells = []
        for e in engines:
            seconds, queries = runs[e]["steps"].get(name), runs[e]["queries"].get(name)
            cells.append(f"{'–' if seconds is None else f'{seconds:.1f}'} | | {'–' if queries is None else queries}")
        lines.append(f"| {name} | {' | '.join(cells)} | {f'≤ {target:.0f} s' if target else ''} | "
                     + (met(lambda x: _met(x["steps"].get(name), target, at_1m)) if target else "") + " |")
    extras = ["", "Measured on DuckDB alongside" + (" (whatever the engine of the run)" if engines != ["duckdb"] else "")
              + ":", "", "| step | seconds | target | met |", "|---|---|---|---|"]
    fl = r.get("floor")
    if fl:
        extras += [f"| floor: one scan of orders.csv ({fl['rows']:,} rows) | {fl['scan_seconds']:.2f} | | |",
                   f"| floor: per-member R/F/M aggregate ({fl['members']:,} member ids) | {fl['rfm_seconds']:.2f} | | |"]
    why = r.get("attribution")
    if why:
        extras += [f"| attribution: drivers, groups and flows of every figure (in month figures) | "
                   f"{why['figures_seconds']:.2f} | | |",
                   f"| attribution: by tier and segment ({why['members']:,} members; in the RFM report) | "
                   f"{why['member_groups_seconds']:.2f} | | |"]
    clv = r.get("clv")
    if clv:
        extras += [f"| CLV fits, the kit (weighted unique histories) | {clv['kit_seconds']:.1f} | | |",
                   f"| CLV fits, naive lifetimes (unweighted, every member) | {clv['naive_seconds']:.1f} | | |",
                   f"| CLV speed-up over naive | {clv['speedup']:.1f}x | ≥ {TARGETS['clv_speedup']:.0f}x | "
                   f"{_met(clv['speedup'], TARGETS['clv_speedup'], at_1m, above=True)} |",
                   f"| CLV parameters, largest relative difference | {clv['max_rel_diff']:.1e} | "
                   f"≤ {TARGETS['clv_agreement']:.0e} | {_met(clv['max_rel_diff'], TARGETS['clv_agreement'], at_1m)} |",
                   "", f"CLV fits on {clv['members']:,} members (their summary: {clv['summary_seconds']:.1f} s, in neither time):",
                   "", "| model | kit s | naive s | max relative difference | kit parameters | naive parameters | problem |",
                   "|---|---|---|---|---|---|---|"]
        for name, m in clv["models"].items():
            fmt = lambda p: ", ".join(f"{k} {v:.6g}" for k, v in p.items()) if p else "–"   # noqa: E731
            diff = m.get("max_rel_diff")
            extras.append(f"| {name} | {m['kit_seconds']:.2f} | {m['naive_seconds']:.2f} | "
                          f"{'–' if diff is None else f'{diff:.1e}'} | {fmt(m.get('kit'))} | {fmt(m.get('naive'))} | "
                          f"{m['problem'].strip() or ''} |")
    elif fl and not huge:
        extras += ["", "CLV comparison not run: no run left clean orders."]
    if fl:
        lines += extras
    for e in engines:
        if not complete(e):
            lines += ["", f"The {e} run's last lines:", "", "```", *runs[e]["log_tail"], "```"]
    return "\n".join(lines) + "\n"


def results_text(results: list[dict], args, label: str) -> str:
    """The whole results file: machine, date, settings, targets, one section per size."""
    settings = ", ".join([f"engine {', '.join(args.engines)}", *args.overrides]) or "defaults"
    head = [f"# Benchmark: the whole run{f' ({label})' if label else ''}", "",
            f"Machine: {machine()}.", f"Run {args.started:%Y-%m-%d %H:%M}, code {args.code}; "
            f"settings: params/base.yaml with {settings}.", "",
            "Peak memory: the largest sum of resident set sizes (RSS) over the run's process tree (the runner "
            "and every kernel), sampled every 0.2 s with psutil; shared pages count once per process, so it errs "
            "high. Step seconds are the runner's own log lines; the run's wall time includes starting Python. "
            "Queries: the engine queries each step sent (results fetched, tables and files written, other "
            "statements; :func:`memberkit.engine.queries`), from the same log lines.", "",
            f"Targets (issue 22, at 1,000,000 members): whole run ≤ {TARGETS['run']:.0f} s (aim), checks ≤ "
            f"{TARGETS['checks']:.0f} s, data_cleaning ≤ {TARGETS['data_cleaning']:.0f} s, clv_forecast ≤ "
            f"{TARGETS['clv_forecast']:.0f} s, peak ≤ {TARGETS['peak_gb']:.0f} GB, CLV fits ≥ {TARGETS['clv_speedup']:.0f}x "
            f"the naive lifetimes path with parameters equal to {TARGETS['clv_agreement']:.0e}; at 10,000,000 members "
            f"all five reports and the summary complete within {TARGETS['huge_peak_gb']:.0f} GB. "
            "\"met\" is judged at those sizes only.", ""]
    return "\n".join(head) + "\n" + "\n".join(size_section(r) for r in results)


# ------------------------------------------------------------------ command line
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Every flag of the bench, in one place."""
    def sizes(text: str) -> list[int]:
        try:
            values = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"--members takes sizes separated by commas, e.g. 20000,1000000; got {text!r}")
        if not values or min(values) < 200:
            raise argparse.ArgumentTypeError("--members: each size at least 200")
        return values

    def engines(text: str) -> list[str]:
        names = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in names if x not in ENGINES]
        if not names or bad or len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"--engine takes {', '.join(ENGINES)} or several separated by commas "
                                             f"(each once), e.g. duckdb,spark; got {text!r}")
        return names
    ap = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=sizes, default=[20_000, 1_000_000], metavar="N,N",
                    help="sample retailer sizes, separated by commas (default: 20000,1000000)")
    ap.add_argument("--huge", action="store_true", help=f"also {HUGE:,} members (within 8 GB?)")
    ap.add_argument("--engine", type=engines, default=["duckdb"], metavar="ENGINE[,ENGINE]", dest="engines",
                    help="the engine of the runs: duckdb (default), spark (a local session), or duckdb,spark "
                         "for both, one after the other on the same data")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md", help="the results file to write")
    ap.add_argument("--json", type=Path, help="also write the measurements as JSON here")
    ap.add_argument("--label", default="", help="a label for the results' title, e.g. 'smoke run'")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "memberkit-bench",
                    help="folder for the generated retailers, reused across runs")
    ap.add_argument("--keep", type=Path, help="keep each run's output folder and log here (personal data)")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the run (default: this one)")
    ap.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for the run, the floor and the CLV comparison, e.g. -p engine.memory_limit=2GB")
    args = ap.parse_args(argv)
    args.sizes = sorted(set(args.members + ([HUGE] if args.huge else [])))
    return args


EARLIER = "# Earlier results"
EARLIER_LINE = "What this file held before the run above, unchanged."


def with_earlier(text: str, earlier: str) -> str:
    """``text`` (this bench's results) followed by ``earlier`` (what the results file held before it started),
    under one "Earlier results" heading: the heading and its line already in ``earlier`` are taken out, so
    the file keeps one however many runs it saw. ``text`` alone when nothing was there."""
    for block in (f"{EARLIER}\n\n{EARLIER_LINE}\n", f"{EARLIER}\n"):
        earlier = earlier.replace(block, "")
    earlier = earlier.strip()
    if not earlier:
        return text
    return f"{text.rstrip()}\n\n{EARLIER}\n\n{EARLIER_LINE}\n\n{earlier}\n"


def main(argv: list[str] | None = None) -> None:
    """Measure every size and write the results file (again after each run, so a stopped bench keeps what it
    measured); exit 1 when a run did not exit 0 (the file is written)."""
    args = parse_args(argv)
    args.results = []
    # taken before the first save: the results file this bench writes would otherwise make the tree "dirty"
    args.started, args.code = dt.datetime.now(), _code_version()
    earlier = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(with_earlier(results_text(args.results, args, args.label), earlier), encoding="utf-8")
        if args.json:
            args.json.write_text(json.dumps({"engines": args.engines, "overrides": args.overrides,
                                             "results": args.results}, indent=1, default=str), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="memberkit-bench-run-") as work:
        for n in args.sizes:
            run_size(n, args, Path(work), save)
    save()
    print(f"written {args.out}")
    if any(run["run"]["code"] for r in args.results for run in r["runs"].values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
