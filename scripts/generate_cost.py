"""What the embedded table costs to generate, measured on a sample of classes:
CPU seconds per run of the grouped trainer (``Trainer.train_seeds``, what
``nasbench-suite generate`` uses for a new table) and of one network per seed
(``Trainer.train``, the reference), interleaved class by class in one process
with the generator's trainer settings, projected to the whole table.

    python scripts/generate_cost.py --classes 40 [--format json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from nasbench_suite.train.generate import GenerateSettings, cpu_name, representatives


def measure(classes: int, seed: int = 0) -> dict:
    settings = GenerateSettings()
    trainer = settings.trainer()
    reps = representatives()
    picked = np.random.default_rng(seed).choice(reps, classes, replace=False)
    seeds = list(settings.seeds)
    trainer.train_seeds("nb201", int(picked[0]), seeds)  # warm: data, FLOPs, kernels
    grouped, single, gap = [], [], []
    for idx in picked.tolist():
        t = time.process_time()
        g = trainer.train_seeds("nb201", idx, seeds)
        grouped.append((time.process_time() - t) / len(seeds))
        t = time.process_time()
        s = [trainer.train("nb201", idx, seed=k) for k in seeds]
        single.append((time.process_time() - t) / len(seeds))
        gap += [a.history[-1]["test_acc"] - b.history[-1]["test_acc"] for a, b in zip(g, s)]
    runs = len(reps) * len(seeds)
    g_mean, s_mean = float(np.mean(grouped)), float(np.mean(single))
    return {"classes": classes, "runs_in_table": runs, "cpu": cpu_name(), "cores": os.cpu_count(),
            "grouped_cpu_s_per_run": g_mean, "per_seed_cpu_s_per_run": s_mean, "ratio": g_mean / s_mean,
            "grouped_core_hours": g_mean * runs / 3600, "per_seed_core_hours": s_mean * runs / 3600,
            "final_test_acc_diff_mean_abs": float(np.mean(np.abs(gap))),
            "final_test_acc_diff_max_abs": float(np.max(np.abs(gap)))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--classes", type=int, default=40, help="random classes to train both ways")
    ap.add_argument("--seed", type=int, default=0, help="which random classes")
    ap.add_argument("--format", choices=("text", "json"), default="text")
    args = ap.parse_args(argv)
    r = measure(args.classes, args.seed)
    if args.format == "json":
        print(json.dumps(r, indent=2))
    else:
        print(f"{r['classes']} random classes x 2 seeds on {r['cpu']} (one thread per run):\n"
              f"  grouped seeds:       {r['grouped_cpu_s_per_run']:.3f} CPU s per run -> "
              f"{r['grouped_core_hours']:.2f} core-hours for the {r['runs_in_table']:,} runs\n"
              f"  one net per seed:    {r['per_seed_cpu_s_per_run']:.3f} CPU s per run -> "
              f"{r['per_seed_core_hours']:.2f} core-hours\n"
              f"  ratio {r['ratio']:.2f}; final test accuracy, grouped minus per seed: mean |diff| "
              f"{r['final_test_acc_diff_mean_abs']:.2f}, max {r['final_test_acc_diff_max_abs']:.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
