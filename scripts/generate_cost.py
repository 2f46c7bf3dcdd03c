"""What the embedded table costs to generate, measured on a sample of classes:
CPU seconds per run of the grouped trainer (``Trainer.train_seeds``, what
``nasbench-suite generate`` uses for a new table) and of one network per seed
(``Trainer.train``, the reference), interleaved class by class in one process
with the generator's trainer settings, projected to the whole table.

    python scripts/generate_cost.py --classes 40 [--format json]

A candidate recipe (preset overrides) on the classes that matter for the seed
spread, the top 10% of an existing table, grouped only:

    python scripts/generate_cost.py --classes 40 --set epochs=7 \
        --top-of tabular_data/nb201-digits.h5 --no-reference
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from nasbench_suite.cli.generate import _overrides
from nasbench_suite.train.generate import GenerateSettings, cpu_name, representatives


def _top_classes(table: str) -> np.ndarray:
    """Representatives of the classes in the top 10% of a generated table by
    final test accuracy (the seed mean at its last epoch)."""
    from nasbench_suite.tables import Benchmark

    with Benchmark.open(table) as b:
        final = b.row_values("test_acc")
        index = b._cell_array("index")
    keep = np.isfinite(final)
    return index[keep][final[keep] >= np.quantile(final[keep], 0.9)]


def measure(classes: int, seed: int = 0, overrides=None, top_of=None, reference: bool = True) -> dict:
    settings = GenerateSettings(overrides=dict(overrides or {}))
    trainer = settings.trainer()
    reps = representatives()
    pool = reps if top_of is None else _top_classes(top_of)
    picked = np.random.default_rng(seed).choice(pool, min(classes, pool.size), replace=False)
    seeds = list(settings.seeds)
    trainer.train_seeds("nb201", int(picked[0]), seeds)  # warm: data, FLOPs, kernels
    grouped, single, gap, std = [], [], [], []
    for idx in picked.tolist():
        t = time.process_time()
        g = trainer.train_seeds("nb201", idx, seeds)
        grouped.append((time.process_time() - t) / len(seeds))
        std.append(float(np.std([r.history[-1]["test_acc"] for r in g], ddof=1)))
        if reference:
            t = time.process_time()
            s = [trainer.train("nb201", idx, seed=k) for k in seeds]
            single.append((time.process_time() - t) / len(seeds))
            gap += [a.history[-1]["test_acc"] - b.history[-1]["test_acc"] for a, b in zip(g, s)]
    runs = len(reps) * len(seeds)
    g_mean = float(np.mean(grouped))
    out = {"classes": int(picked.size), "from": "random classes" if top_of is None else f"top 10% of {top_of}",
           "overrides": dict(overrides or {}), "runs_in_table": runs, "cpu": cpu_name(), "cores": os.cpu_count(),
           "grouped_cpu_s_per_run": g_mean, "grouped_core_hours": g_mean * runs / 3600,
           "seed_std_mean": float(np.mean(std))}
    if reference:
        s_mean = float(np.mean(single))
        out.update({"per_seed_cpu_s_per_run": s_mean, "ratio": g_mean / s_mean,
                    "per_seed_core_hours": s_mean * runs / 3600,
                    "final_test_acc_diff_mean_abs": float(np.mean(np.abs(gap))),
                    "final_test_acc_diff_max_abs": float(np.max(np.abs(gap)))})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--classes", type=int, default=40, help="random classes to train")
    ap.add_argument("--seed", type=int, default=0, help="which random classes")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a preset override of the recipe to measure, e.g. epochs=7 (repeatable)")
    ap.add_argument("--top-of", default=None, metavar="TABLE",
                    help="draw the classes from the top 10%% of this generated table")
    ap.add_argument("--no-reference", action="store_true", help="skip the one-network-per-seed reference")
    ap.add_argument("--format", choices=("text", "json"), default="text")
    args = ap.parse_args(argv)
    try:
        overrides = _overrides(args.set)  # as `nasbench-suite generate --set` reads them
    except ValueError as exc:
        ap.error(str(exc))
    r = measure(args.classes, args.seed, overrides, args.top_of, not args.no_reference)
    if args.format == "json":
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['classes']} {r['from']} x 2 seeds on {r['cpu']} (one thread per run), overrides {r['overrides']}:\n"
          f"  grouped seeds:       {r['grouped_cpu_s_per_run']:.3f} CPU s per run -> "
          f"{r['grouped_core_hours']:.2f} core-hours for the {r['runs_in_table']:,} runs; "
          f"seed std of final test acc {r['seed_std_mean']:.2f} points")
    if "ratio" in r:
        print(f"  one net per seed:    {r['per_seed_cpu_s_per_run']:.3f} CPU s per run -> "
              f"{r['per_seed_core_hours']:.2f} core-hours\n"
              f"  ratio {r['ratio']:.2f}; final test accuracy, grouped minus per seed: mean |diff| "
              f"{r['final_test_acc_diff_mean_abs']:.2f}, max {r['final_test_acc_diff_max_abs']:.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
