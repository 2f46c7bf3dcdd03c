"""How many queries isomorphism dedup saves: the share of a run's queries spent
on a cell isomorphic to one already evaluated, with dedup off.

    python scripts/dedup_savings.py TABLE --space nb201 --search-metric valid_acc@12 \\
        --report-metric test_acc@200 [--dataset cifar10] [--seeds 20] [--queries 150]
"""
from __future__ import annotations

import argparse

import numpy as np

from nasbench_suite.runner import run_search
from nasbench_suite.spaces import nb201
from nasbench_suite.tables import Benchmark


def wasted_share(traj, space: str) -> float:
    if space == "nb201":
        keys = [nb201.Cell.from_string(c).canonical_key() for c in traj.cell]
    else:
        keys = list(traj.cell)  # NB101 hashes have no collision in the space: exact here
    return 1.0 - len(set(keys)) / len(keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table")
    ap.add_argument("--space", required=True, choices=["nb101", "nb201"])
    ap.add_argument("--search-metric", required=True)
    ap.add_argument("--report-metric", required=True)
    ap.add_argument("--dataset")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--queries", type=int, default=150)
    args = ap.parse_args()
    bench = Benchmark.open(args.table)
    for name in ("random_search", "regularized_evolution", "local_search"):
        shares = [wasted_share(run_search(bench, name, s, {"queries": args.queries}, args.search_metric,
                                          args.report_metric, args.dataset,
                                          strategy_kwargs={"dedup": False}), args.space)
                  for s in range(args.seeds)]
        print(f"{name}: {100 * np.mean(shares):.1f}% of {args.queries} queries repeat an isomorphic cell "
              f"without dedup ({args.seeds} seeds)")


if __name__ == "__main__":
    main()
