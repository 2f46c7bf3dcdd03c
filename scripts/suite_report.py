"""The suite grid: every strategy on every benchmark/dataset the suite has,
one results file, one report with a summary across benchmarks (reports/suite/).

    python scripts/suite_report.py

What it does:
1. imports every importer recipe that names a ``source_dir`` and a
   ``protocol`` (``nasbench_suite.tables.importers.RECIPES``; a recipe added
   later is picked up without editing this script) from the data root
   (``$NASBENCH_SUITE_DATA``, else ``../shared/data``) into ``build/suite/``
   (gitignored; an existing table is reused, ``--reimport`` rebuilds it);
   a recipe whose folder is missing is skipped and named;
2. adds the embedded table (``tabular_data/``) with compare's defaults;
3. runs 6 strategies x 20 seeds x 100 queries on every dataset of every
   table (one benchmark ``RECIPE:DATASET`` each, the recipe's protocol
   metrics, ``by_dataset`` overriding them) into ``build/suite/results.h5``
   (started afresh, so the wall time is the whole grid's; ``--resume`` keeps
   it); BOHB gets ``single_rung=True`` so that it runs on single-fidelity
   tables too;
4. writes ``reports/suite/``: README.md (this command, the measured times
   and the machine), summary.md (average ranks, Friedman test, critical
   difference), cd_diagram.pdf/.png and one sub-directory of tables and
   figures per benchmark/dataset; and the ``suite-grid`` block of
   ``reports/perf.md`` (kept by scripts/perf_report.py).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

STRATEGIES = [
    {"name": "random_search"},
    {"name": "regularized_evolution"},
    {"name": "local_search"},
    {"name": "reinforce"},
    {"name": "bananas"},
    {"name": "bohb", "hyperparameters": {"single_rung": True}},
]
#: Benchmark/datasets of the whole suite once every recipe is merged (issue 15):
#: NB201 x3, Graph x9, TNB101 micro x7 and macro x7, Macro, embedded digits.
FULL_SUITE = 28
TARGET_S = 300.0
BLOCK = "suite-grid"


def data_root(arg: str | None) -> Path:
    """``--data``, else ``$NASBENCH_SUITE_DATA``, else ``../shared/data``."""
    return Path(arg or os.environ.get("NASBENCH_SUITE_DATA") or REPO.parent / "shared" / "data").resolve()


def suite_recipes() -> dict:
    """``name -> recipe`` of every importer recipe with ``source_dir`` and ``protocol``."""
    from nasbench_suite.tables.importers import RECIPES

    return {name: r for name, r in RECIPES.items() if "source_dir" in r and "protocol" in r}


def import_tables(root: Path, build: Path, reimport: bool) -> tuple[list, list, dict]:
    """Imports the suite's recipes; returns ([(recipe, path, recipe dict)], [skipped lines], {recipe: seconds})."""
    from nasbench_suite.tables.importers import import_table

    tables, skipped, seconds = [], [], {}
    for name, recipe in suite_recipes().items():
        source = root / recipe["source_dir"]
        if not source.is_dir():
            skipped.append(f"{name}: no folder {source}")
            continue
        out = build / f"{name}.h5"
        if reimport or not out.is_file():
            t0 = time.perf_counter()
            import_table(recipe=name, source=str(source), out=str(out), overwrite=True)
            seconds[name] = time.perf_counter() - t0
            print(f"imported {name} in {seconds[name]:.1f} s -> {out}", flush=True)
        tables.append((name, out, recipe))
    return tables, skipped, seconds


def benchmark_entries(tables: list) -> list[dict]:
    """One compare ``[[benchmarks]]`` entry per dataset of every table, plus the embedded table."""
    from nasbench_suite.tables import Benchmark
    from nasbench_suite.tables.embedded import embedded_table

    out = []
    for name, path, recipe in tables:
        proto = recipe["protocol"]
        with Benchmark.open(str(path)) as b:
            datasets = list(b.datasets)
        for ds in datasets:
            p = {**proto, **proto.get("by_dataset", {}).get(ds, {})}
            out.append({"path": str(path), "label": f"{name}:{ds}", "dataset": ds,
                        "search_metric": p["search_metric"], "report_metric": p["report_metric"]})
    emb = embedded_table()
    if emb is not None:
        with Benchmark.open(str(emb)) as b:
            for ds in b.datasets:
                out.append({"path": str(emb), "label": f"embedded:{ds}", "dataset": ds})
    return out


def strategy_seconds(results_path: Path) -> tuple[dict, dict, dict]:
    """({strategy: summed run wall seconds}, {benchmark: summed run wall seconds},
    {strategy: summed run CPU seconds})."""
    from nasbench_suite.runner.results import load_results

    by_s: dict = {}
    by_b: dict = {}
    cpu: dict = {}
    for (bench, strat, _), run in load_results(str(results_path)).runs.items():
        w = float(run.info.get("wall_seconds", 0.0))
        by_s[strat] = by_s.get(strat, 0.0) + w
        by_b[bench] = by_b.get(bench, 0.0) + w
        cpu[strat] = cpu.get(strat, 0.0) + float(run.info.get("cpu_seconds", float("nan")))
    return by_s, by_b, cpu


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its ended children."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def write_perf_block(perf: Path, text: str) -> None:
    """Replaces (or appends) the ``suite-grid`` block of reports/perf.md."""
    start, end = f"<!-- {BLOCK}:start", f"<!-- {BLOCK}:end -->"
    old = perf.read_text(encoding="utf-8") if perf.is_file() else ""
    block = f"{start} (written by scripts/suite_report.py; kept by perf_report.py) -->\n{text.rstrip()}\n{end}\n"
    a = old.find(start)
    if a >= 0:
        b = old.index(end, a) + len(end)
        b = b + 1 if old[b:b + 1] == "\n" else b
        new = old[:a] + block + old[b:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    perf.write_text(new, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="data root (default: $NASBENCH_SUITE_DATA, else ../shared/data)")
    ap.add_argument("--build", default=str(REPO / "build" / "suite"), help="tables and results (gitignored)")
    ap.add_argument("--out", default=str(REPO / "reports" / "suite"), help="report directory")
    ap.add_argument("--perf", default=str(REPO / "reports" / "perf.md"), help="perf report to update ('' = none)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    ap.add_argument("--reimport", action="store_true", help="import the tables again")
    ap.add_argument("--resume", action="store_true", help="keep the runs already in the results file")
    args = ap.parse_args(argv)

    from nasbench_suite._machine import cpu_name
    from nasbench_suite.report import make_report
    from nasbench_suite.runner.grid import resolve_grid, run_grid

    root, build, out = data_root(args.data), Path(args.build), Path(args.out)
    build.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    tables, skipped, import_s = import_tables(root, build, args.reimport)
    for line in skipped:
        print(f"skipped {line}", flush=True)
    entries = benchmark_entries(tables)
    settings = {"benchmarks": entries, "strategies": STRATEGIES, "seeds": args.seeds,
                "budget": {"queries": args.queries}}
    t0 = time.perf_counter()
    grid = resolve_grid(settings)
    resolve_s = time.perf_counter() - t0
    results = build / "results.h5"
    if not args.resume:
        for p in (results, Path(str(results) + ".journal"), Path(str(results) + ".lock")):
            p.unlink(missing_ok=True)
    command = ["python", "scripts/suite_report.py"] + (argv if argv is not None else sys.argv[1:])
    load_before = os.getloadavg()
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    summary = run_grid(grid, str(results), workers=args.workers, progress=sys.stderr.isatty(), command=command)
    grid_s = time.perf_counter() - t0
    grid_cpu = _cpu_seconds() - cpu0  # the pool's workers have ended: their CPU time is counted
    load_after = os.getloadavg()
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    rep = make_report(str(results), str(out), split=True, dpi=110)  # PNGs for the web page; PDFs stay vector
    report_s = time.perf_counter() - t0
    total_s = time.perf_counter() - t_start
    by_s, by_b, cpu_s = strategy_seconds(results)

    n = len(grid.benchmarks)
    runs = summary.total
    cpu_total = sum(by_s.values())
    projected = grid_s / n * FULL_SUITE
    workers = int(summary.executor.split("(")[1].split()[0]) if "(" in summary.executor else 1
    idle = grid_cpu / workers  # the wall time the same CPU work takes on an otherwise idle machine
    idle_projected = idle / n * FULL_SUITE
    cpu_runs = sum(cpu_s.values())
    banana = cpu_s.get("bananas", 0.0) / cpu_runs if cpu_runs > 0 else 0.0
    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"{summary.executor}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
               "(the machine is shared)")
    order = sorted(by_s, key=lambda s: -by_s[s])
    per = runs / len(by_s)  # runs per strategy
    strat_lines = [f"| {s} | {by_s[s]:.1f} | {100 * by_s[s] / cpu_total:.0f}% | {1000 * by_s[s] / per:.1f} | "
                   f"{cpu_s[s]:.1f} | {1000 * cpu_s[s] / per:.1f} |" for s in order]
    bench_lines = [f"| {b} | {by_b[b]:.1f} |" for b in sorted(by_b, key=lambda b: -by_b[b])]
    timing = [
        f"Measured {_dt.date.today().isoformat()} on {machine}.",
        "",
        f"- grid: {n} benchmark/datasets x {len(grid.strategies)} strategies x {len(grid.seeds)} seeds x "
        f"{args.queries} queries = {runs} runs in **{grid_s:.1f} s** wall ({summary.executor}); "
        f"CPU time of the grid (parent and workers, user + system): {grid_cpu:.1f} s, i.e. "
        f"{idle:.1f} s of wall time on {workers} otherwise idle cores; the runs' own wall time summed "
        f"over workers: {cpu_total:.1f} s (inflated by the other processes on the machine)",
    ] + ([
        f"- projected to the full suite ({FULL_SUITE} benchmark/datasets, at this grid's mean per "
        f"benchmark/dataset): {projected:.0f} s at the measured wall time, {idle_projected:.0f} s from the "
        f"CPU time on idle cores (target {TARGET_S:.0f} s: "
        f"{'met' if projected <= TARGET_S else 'met on idle cores only' if idle_projected <= TARGET_S else 'NOT met'})",
        "- the projection assumes the missing benchmarks cost what these do per run; a strategy's time "
        "grows with its encoding (BANANAS, REINFORCE) more than with the table, so it is an estimate "
        "until the whole suite runs",
    ] if n != FULL_SUITE else [
        f"- the whole suite ({FULL_SUITE} benchmark/datasets): target {TARGET_S:.0f} s wall on this machine: "
        f"{'met' if grid_s <= TARGET_S else 'met on idle cores only' if idle <= TARGET_S else 'NOT met'}",
    ]) + [
        f"- BANANAS takes {100 * banana:.0f}% of the runs' CPU time ({cpu_s.get('bananas', 0.0):.1f} of "
        f"{cpu_runs:.1f} s); the other five strategies together would take "
        f"{idle_projected * (1 - banana):.0f} s (idle cores) for the full suite",
        f"- checking the grid (opening every table, resolving metrics, building each strategy once): "
        f"{resolve_s:.1f} s; importing tables this time: "
        + (", ".join(f"{k} {v:.1f} s" for k, v in import_s.items()) or "none (reused build/suite/)")
        + f"; report: {report_s:.1f} s; whole script: {total_s:.1f} s",
        "",
        "Run times below are each run's wall time as its worker measured it, summed (on a shared machine "
        "inflated alike for every strategy, so the shares hold), and its CPU time (the worker thread's, "
        "which other processes do not inflate).",
        "",
        "| strategy | run wall time summed (s) | share | wall ms per run | run CPU time summed (s) | "
        "CPU ms per run |",
        "|---|---:|---:|---:|---:|---:|",
        *strat_lines,
        "",
        "| benchmark/dataset | run time summed (s) |",
        "|---|---:|",
        *bench_lines,
    ]
    summ = rep["numbers"].get("summary", {})
    ranks = summ.get("average_ranks", {})
    rank_text = ", ".join(f"{s} {r:.2f}" for s, r in sorted(ranks.items(), key=lambda x: x[1]))
    readme = [
        "# Suite grid: every strategy on every benchmark/dataset",
        "",
        "Made by one command (from the repository root; data root `$NASBENCH_SUITE_DATA`, else "
        "`../shared/data`):",
        "",
        "    " + " ".join(command),
        "",
        f"{len(grid.strategies)} strategies ({', '.join(s.label for s in grid.strategies)}; BOHB with "
        "`single_rung=True`, one rung where a table has nothing to halve over) x "
        f"{len(grid.seeds)} seeds x {args.queries} queries on {n} benchmark/datasets. "
        "Benchmarks are the importer recipes that name a `source_dir` and a `protocol` (search and "
        "report metric), one per dataset, plus the embedded table with compare's defaults:",
        "",
        "| benchmark | search metric | report metric | table best |",
        "|---|---|---|---:|",
        *[f"| {b.label} | {b.search_metric} | {b.report_metric} | {b.report_optimum:.4g} |"
          for b in grid.benchmarks],
        "",
        *(["Skipped (source folder missing): " + "; ".join(skipped), ""] if skipped else []),
        "Where a table has no validation split the recipe's protocol searches on one seed's test "
        "metric (a repeat drawn per query) and reports the mean over seeds of the same metric, an "
        "optimistic protocol: see the recipe's comment (nas-bench-macro).",
        "",
        f"Average ranks (mean final regret per benchmark/dataset, 1 = best): {rank_text}. "
        "[summary.md](summary.md) has the table, the Friedman test and the critical difference; "
        "each benchmark/dataset's tables and figures are in its sub-directory.",
        "",
        "![critical-difference diagram](cd_diagram.png)",
        "",
        "## Time",
        "",
        *timing,
        "",
    ]
    (out / "README.md").write_text("\n".join(readme), encoding="utf-8")
    if args.perf:
        write_perf_block(Path(args.perf), "\n".join(
            ["## Suite grid (reports/suite/)", "", f"Command: `{' '.join(command)}`.", "", *timing]))
    print(f"grid {grid_s:.1f} s for {n} benchmark/datasets ({runs} runs); projected {projected:.0f} s for "
          f"{FULL_SUITE}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
