"""Digests of the README main job's searches on the embedded table, at a small
size: the numbers a committed report is made of, as sha256 of each run's
trajectory columns (times, cells, values, incumbents; not the run's metadata,
which names local paths). Strategies are byte-identical on every x86-64 machine
(reports/reproducibility.md), so these digests are too;
tests/test_committed_reports.py recomputes them and compares.

    python scripts/report_digests.py > reports/embedded/compare/digests.json
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from nasbench_suite.runner import run_search
from nasbench_suite.tables import Benchmark

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "tabular_data" / "nb201-digits.h5"
# The README main job's strategies and metrics (reports/embedded/README.md), fewer seeds and queries.
STRATEGIES = ("random_search", "regularized_evolution", "local_search", "bananas")
SEEDS = (0, 1, 2)
QUERIES = 60


def trajectory_digest(traj) -> str:
    h = hashlib.sha256()
    for name in ("time", "fidelity", "value", "cost", "incumbent_value", "incumbent_report"):
        h.update(np.ascontiguousarray(getattr(traj, name), dtype="<f8").tobytes())
    for name in ("cell", "incumbent"):
        h.update("\n".join(getattr(traj, name)).encode())
    return h.hexdigest()


def digests(table=TABLE) -> dict:
    bench = Benchmark.open(table)
    fid = int(bench.fidelities(bench.datasets[0])[-1])
    out = {}
    for strategy in STRATEGIES:
        for seed in SEEDS:
            traj = run_search(bench, strategy, seed, {"queries": QUERIES}, search_metric=f"valid_acc@{fid}",
                              report_metric=f"test_acc@{fid}")
            out[f"{strategy}/seed{seed}"] = trajectory_digest(traj)
    return out


def main() -> None:
    json.dump({"table": TABLE.name, "queries": QUERIES, "digests": digests()}, sys.stdout, indent=1,
              sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
