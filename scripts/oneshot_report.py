#!/usr/bin/env python
"""One-shot NAS on digits, scored by the embedded table (issue 16): reports/oneshot/.

    python scripts/oneshot_report.py                       # the full report: 6 methods + RS + RE, 5 seeds
    python scripts/oneshot_report.py --seeds 2 --epochs 3 --out /tmp/quick   # a quick look

Runs DARTS-V1, DARTS-V2, GDAS, SETN, ENAS and RSPS (``run_oneshot``: the
supernet trained on digits, CPU, one thread, each method's default epochs on
digits) and the black-box random search and regularized evolution
(``run_search`` on the table, the budget in seconds below), 5 seeds each,
all scored by tabular_data/nb201-digits.h5 (search metric valid_acc@7, report
metric test_acc@7, means over the table's 2 repeats). Writes into ``--out``:

- README.md: the command, the NB201-paper-style table (search and test
  accuracy of the final cell, mean ± std over seeds) beside the published
  CIFAR-10 numbers of REFERENCE.md, the derived cells with their table ranks
  and parameter-free edge counts, the drift of the derived cells over epochs;
- regret_time.png/.pdf: regret of the report metric against real seconds
  (one-shot: measured seconds of the search; black-box: the table's measured
  training seconds of each queried cell);
- drift.png/.pdf: parameter-free and skip edges of the derived cell per epoch;
- numbers.json: every run's per-epoch (or per-query) cells and values.

The black-box budget is the mean full-search time of the slowest one-shot
method, rounded up to 10 s, so every method gets at least the time the
slowest one-shot search used.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from nasbench_suite._machine import cpu_name  # noqa: E402
from nasbench_suite.oneshot import METHOD_NAMES, run_oneshot  # noqa: E402
from nasbench_suite.runner import Budget, run_search  # noqa: E402
from nasbench_suite.tables import Benchmark  # noqa: E402

TABLE = REPO / "tabular_data" / "nb201-digits.h5"
BLACK_BOX = ("random_search", "regularized_evolution")
LABELS = {"darts_v1": "DARTS-V1", "darts_v2": "DARTS-V2", "gdas": "GDAS", "setn": "SETN", "enas": "ENAS",
          "rsps": "RSPS", "random_search": "RS (black-box)", "regularized_evolution": "REA (black-box)"}
# REFERENCE.md, NB201 paper's one-shot table, CIFAR-10 (valid, test), mean ± std.
PUBLISHED = {"darts_v1": ("39.77 ± 0.00", "54.30 ± 0.00"), "darts_v2": ("39.77 ± 0.00", "54.30 ± 0.00"),
             "gdas": ("89.89 ± 0.08", "93.61 ± 0.09"), "setn": ("84.04 ± 0.28", "87.64 ± 0.00"),
             "enas": ("37.51 ± 3.19", "53.89 ± 0.58"), "rsps": ("80.42 ± 3.58", "84.07 ± 3.61"),
             "random_search": ("", ""), "regularized_evolution": ("", "")}
PARAM_FREE = ("none", "skip_connect", "avg_pool_3x3")
COLLAPSED = 20.0  # a final cell under 20% test accuracy (10 classes): no path through a trainable op
SEARCH, REPORT = "valid_acc@7", "test_acc@7"


def ops_of(label: str) -> list:
    return [tok.split("~")[0] for node in label.strip("|").split("|+|") for tok in node.split("|")]


def mean_std(xs) -> str:
    xs = np.asarray(xs, dtype=float)
    return f"{xs.mean():.2f} ± {xs.std(ddof=1) if xs.size > 1 else 0.0:.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None, help="supernet epochs of every method (default: each method's)")
    ap.add_argument("--methods", default=",".join(METHOD_NAMES))
    ap.add_argument("--out", default=str(REPO / "reports" / "oneshot"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    bench = Benchmark.open(TABLE)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    seeds = list(range(args.seeds))
    t_start = time.time()

    runs: dict = {}
    for m in methods:
        for s in seeds:
            traj = run_oneshot(m, dataset="digits", seed=s, epochs=args.epochs, table=bench, threads=1)
            runs.setdefault(m, []).append(traj)
            print(f"{m} seed {s}: {len(traj)} epochs, {traj.time[-1]:.1f} s, {traj.cell[-1]} "
                  f"test {traj.incumbent_report[-1]:.2f}", flush=True)
    slowest = max(np.mean([t.time[-1] for t in runs[m]]) for m in methods)
    budget_s = float(math.ceil(slowest / 10.0) * 10)
    for b in BLACK_BOX:
        for s in seeds:
            runs.setdefault(b, []).append(run_search(bench, b, s, Budget(seconds=budget_s), search_metric=SEARCH,
                                                     report_metric=REPORT, dataset="digits"))
        print(f"{b}: {np.mean([len(t) for t in runs[b]]):.0f} queries in {budget_s:g} s", flush=True)

    report_vals = bench.row_values("test_acc", 7, "digits")
    best_cell, best = bench.best("test_acc", 7, "digits")
    n_rows = int(np.isfinite(report_vals).sum())

    def rank(label: str) -> int:
        v = bench.query(label, "test_acc", 7, "digits")
        return int((report_vals > v).sum()) + 1

    numbers = {"table": TABLE.name, "search_metric": SEARCH, "report_metric": REPORT, "best_report": best,
               "best_cell": bench.search_space.label(best_cell), "rows": n_rows, "seeds": seeds,
               "black_box_budget_seconds": budget_s, "machine": cpu_name(), "threads": 1,
               "torch": torch.__version__, "python": platform.python_version(),
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "wall_seconds": None, "load_average": None, "runs": {}}
    for m, trajs in runs.items():
        numbers["runs"][m] = [{"seed": int(t.meta["seed"]), "cells": list(t.incumbent), "time": t.time.tolist(),
                               "search": t.incumbent_value.tolist(), "report": t.incumbent_report.tolist(),
                               "final_cell": t.incumbent[-1], "final_rank": rank(t.incumbent[-1]),
                               "epochs": t.meta.get("budget", {}).get("epochs"), "one_shot": bool(t.meta.get("one_shot"))}
                              for t in trajs]
    numbers["wall_seconds"] = round(time.time() - t_start, 1)
    numbers["load_average"] = [round(x, 2) for x in os.getloadavg()]
    (out / "numbers.json").write_text(json.dumps(numbers, indent=1) + "\n")
    figures(numbers, out)
    (out / "README.md").write_text(readme(numbers, methods, args))
    print(f"wrote {out}")
    return 0


def figures(numbers: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasbench_suite.report.style import strategy_styles

    names = list(numbers["runs"])
    styles = strategy_styles(names)
    best = numbers["best_report"]
    fig, ax = plt.subplots(figsize=(6.9, 3.2))
    hi = max(r["time"][-1] for rs in numbers["runs"].values() for r in rs)
    lo = min(r["time"][0] for rs in numbers["runs"].values() for r in rs)
    grid = np.geomspace(max(lo, 1e-3), hi, 200)
    for m in names:
        mat = []
        for r in numbers["runs"][m]:
            t, v = np.asarray(r["time"]), np.asarray(r["report"])
            idx = np.searchsorted(t, grid, side="right") - 1
            mat.append(np.where(idx >= 0, best - v[np.clip(idx, 0, None)], np.nan))
        mat = np.asarray(mat)
        with np.errstate(invalid="ignore"):
            mean = mat.mean(axis=0)
        st = styles.get(m, {})
        ax.plot(grid, mean, label=LABELS.get(m, m), color=st.get("color"), marker=st.get("marker"), markevery=25,
                markersize=3, linestyle="--" if m in BLACK_BOX else "-")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("real seconds (see the caption)")
    ax.set_ylabel(f"regret of {numbers['report_metric']} (points)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"regret_time.{ext}", dpi=150)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(6.9, 2.8), sharex=False)
    for m in names:
        if m in BLACK_BOX:
            continue
        pf = np.asarray([[sum(op in PARAM_FREE for op in ops_of(c)) for c in r["cells"]] for r in numbers["runs"][m]])
        sk = np.asarray([[sum(op == "skip_connect" for op in ops_of(c)) for c in r["cells"]]
                         for r in numbers["runs"][m]])
        ep = np.arange(1, pf.shape[1] + 1)
        st = styles.get(m, {})
        axes[0].plot(ep, pf.mean(0), label=LABELS[m], color=st.get("color"))
        axes[1].plot(ep, sk.mean(0), label=LABELS[m], color=st.get("color"))
    axes[0].set_title("parameter-free edges of the derived cell", fontsize=8)
    axes[1].set_title("skip_connect edges of the derived cell", fontsize=8)
    for a in axes:
        a.set_xlabel("supernet epoch")
        a.set_ylim(-0.2, 6.2)
    axes[0].set_ylabel("edges (mean over seeds)")
    axes[1].legend(fontsize=6)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"drift.{ext}", dpi=150)
    plt.close(fig)


def readme(numbers: dict, methods: list, args) -> str:
    runs = numbers["runs"]
    full = args.seeds == 5 and args.epochs is None and methods == list(METHOD_NAMES)
    cmd = "python scripts/oneshot_report.py" + ("" if full else " " + " ".join(
        ([f"--seeds {args.seeds}"] if args.seeds != 5 else []) + ([f"--epochs {args.epochs}"] if args.epochs else [])
        + ([f"--methods {args.methods}"] if methods != list(METHOD_NAMES) else []) + [f"--out {args.out}"]))
    L = ["# One-shot NAS on digits, scored by the embedded table (issue 16)", "",
         f"Made by one command: `{cmd}`" + ("" if full else " (a reduced run; the full report is "
                                            "`python scripts/oneshot_report.py`)") + ".", "",
         f"{len(numbers['seeds'])} seeds each; measured {numbers['date']} on {numbers['machine']}, CPU, one thread, "
         f"torch {numbers['torch']}; the whole script took {numbers['wall_seconds']:.0f} s on a shared 2-core machine "
         f"(load average at the end {' / '.join(map(str, numbers['load_average']))} over 1 / 5 / 15 min: other "
         "processes ran too, which inflates the one-shot methods' measured seconds, not the table's). "
         f"Every cell is scored by `tabular_data/{numbers['table']}` (search metric {SEARCH}, report metric "
         f"{REPORT}, means over the table's 2 training repeats; the best cell of the table has "
         f"{numbers['best_report']:.2f}: `{numbers['best_cell']}`). Ranks are among the table's "
         f"{numbers['rows']:,} rows (cells up to isomorphism), 1 = best test accuracy.", "",
         "One-shot methods train the supernet on digits' 600 training images (weights) and 600 validation "
         "images (architecture), the digits preset's network (C = 8, one cell per stage, average-pool "
         "reductions), batch 64, each for a fifth of its paper's epochs (DARTS 50 -> 10, the others 250 -> 50; "
         "docs/ONESHOT.md); the cell a method outputs after its last epoch is its result. The black-box "
         f"strategies search the table with a budget of {numbers['black_box_budget_seconds']:g} s of the "
         "table's measured training time (the mean full search time of the slowest one-shot method, rounded "
         "up), so both time axes are real seconds of training on this kind of machine.", "",
         "## The NB201 paper's one-shot table, on digits", "",
         "| method | kind | digits valid (search) | digits test | rank of the final cell (median) | "
         "parameter-free edges (mean) | collapsed seeds | search s (mean) | NB201 paper CIFAR-10 valid | test |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m, rs in runs.items():
        pf = np.mean([sum(op in PARAM_FREE for op in ops_of(r["final_cell"])) for r in rs])
        L.append(f"| {LABELS.get(m, m)} | {'one-shot' if rs[0]['one_shot'] else 'black-box'} | "
                 f"{mean_std([r['search'][-1] for r in rs])} | {mean_std([r['report'][-1] for r in rs])} | "
                 f"{int(np.median([r['final_rank'] for r in rs]))} | {pf:.1f} | "
                 f"{sum(r['report'][-1] < COLLAPSED for r in rs)} / {len(rs)} | {np.mean([r['time'][-1] for r in rs]):.1f} | "
                 f"{PUBLISHED.get(m, ('', ''))[0]} | {PUBLISHED.get(m, ('', ''))[1]} |")
    L += ["", "Mean ± standard deviation over seeds (as the paper's table). Collapsed: the final cell's test "
          f"accuracy is under {COLLAPSED:g}% (chance is 10%), i.e. the input reaches the output through no "
          "trainable op. Search s: one-shot, the measured "
          "seconds of the whole search; black-box, the table's training seconds of the queries made within "
          "the budget. The published column is "
          "REFERENCE.md's CIFAR-10 figures of the NB201 paper; digits is a different, much smaller problem, "
          "so only the ordering and the collapse behaviour can be compared.", "",
          "## Regret against real seconds", "", "![regret against real seconds](regret_time.png)", "",
          "*Time axis: one-shot methods: measured seconds of the supernet search (training, architecture steps "
          "and derivation; CPU, one thread); black-box: the table's measured training time of each queried "
          "cell (simulated: measured training time at the queried fidelity, 7 epochs). Regret = best test "
          "accuracy in the table - the current cell's (one-shot: the cell derived at that epoch) or incumbent's "
          "(black-box), mean over seeds.*", "",
          "## Drift of the derived cells over epochs", "", "![drift](drift.png)", "",
          "| method | parameter-free edges, epoch 1 -> last (mean) | skip_connect edges, epoch 1 -> last (mean) |",
          "|---|---|---|"]
    for m, rs in runs.items():
        if not rs[0]["one_shot"]:
            continue
        pf0 = np.mean([sum(op in PARAM_FREE for op in ops_of(r["cells"][0])) for r in rs])
        pf1 = np.mean([sum(op in PARAM_FREE for op in ops_of(r["cells"][-1])) for r in rs])
        sk0 = np.mean([sum(op == "skip_connect" for op in ops_of(r["cells"][0])) for r in rs])
        sk1 = np.mean([sum(op == "skip_connect" for op in ops_of(r["cells"][-1])) for r in rs])
        L.append(f"| {LABELS[m]} | {pf0:.1f} -> {pf1:.1f} | {sk0:.1f} -> {sk1:.1f} |")
    L += ["", "## Derived cells", "", "| method | seed | final cell | valid | test | rank | parameter-free edges |",
          "|---|---:|---|---:|---:|---:|---:|"]
    for m, rs in runs.items():
        for r in rs:
            L.append(f"| {LABELS.get(m, m)} | {r['seed']} | `{r['final_cell']}` | {r['search'][-1]:.2f} | "
                     f"{r['report'][-1]:.2f} | {r['final_rank']} | "
                     f"{sum(op in PARAM_FREE for op in ops_of(r['final_cell']))} |")
    L += ["", "Black-box rows: the incumbent (best by the search metric) at the end of the budget. "
          "`numbers.json` holds every run's cells and values per epoch or query.", ""]
    return "\n".join(L)


if __name__ == "__main__":
    raise SystemExit(main())
