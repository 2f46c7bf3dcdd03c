"""A/B timing of strategy overhead between two source trees (e.g. the tree
before a refactor, kept in a git worktree, and the current one): the same
measurements run in fresh interpreters, alternating A and B each round, so
both see the same machine state. Prints medians and the B/A ratio.

    git worktree add /tmp/base <commit> && (cd /tmp/base && python setup.py build_ext --inplace)
    python scripts/perf_ab.py --a /tmp/base --b . [--rounds 7] [--spaces nb101,nb201,macro]

Measured per round: ask/tell pairs of random search, regularized evolution and
local search (1,000 pairs after a 60-pair warm-up, as in
tests/benchmarks/test_bench_strategies.py) and one 150-query regularized
evolution run end to end on a synthetic NB201 table. A space the A tree does
not know is measured on B only.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, sys, time
import numpy as np
from nasbench_suite.strategies import Result, make_strategy
space_names, table = sys.argv[1].split(","), sys.argv[2]
out = {}
def pairs(s, n):
    for i in range(n):
        p = s.ask(); s.tell(p, Result(float(i % 97), 1.0, 12.0))
for space in space_names:
    for name in ("random_search", "regularized_evolution", "local_search"):
        try:
            s = make_strategy(name, space, np.random.default_rng(0))
        except ValueError:
            continue  # a space this tree does not know
        s.bind([12.0], 12.0)
        pairs(s, 60)
        t0 = time.perf_counter(); pairs(s, 1000)
        out[f"{space}/{name} (us/pair)"] = (time.perf_counter() - t0) * 1e3
from nasbench_suite.runner import run_search
from nasbench_suite.tables import Benchmark
b = Benchmark.open(table)
run_search(b, "regularized_evolution", 0, {"queries": 10}, search_metric="valid_acc@12")
ts = []
for seed in range(5):
    t0 = time.perf_counter()
    run_search(b, "regularized_evolution", seed, {"queries": 150}, search_metric="valid_acc@12",
               report_metric="test_acc@200")
    ts.append(time.perf_counter() - t0)
out["nb201/RE 150-query run (ms)"] = min(ts) * 1e3
print(json.dumps(out))
"""


def _run(tree: str, spaces: str, table: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
    res = subprocess.run([sys.executable, "-c", _CHILD, spaces, table], env=env, capture_output=True,
                         text=True, cwd=tempfile.gettempdir(), check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="the reference tree (before)")
    ap.add_argument("--b", required=True, help="the tree under test (after)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--spaces", default="nb101,nb201")
    ap.add_argument("--table", help="synthetic NB201 table (made with tests/synthetic_tables.py if absent)")
    args = ap.parse_args()
    table = args.table or os.path.join(tempfile.gettempdir(), "perf_ab_nb201.h5")
    if not os.path.exists(table):
        sys.path.insert(0, os.path.join(os.path.abspath(args.b), "tests"))
        from synthetic_tables import make_nb201_table

        make_nb201_table(table)
    runs = {"A": [], "B": []}
    for _ in range(args.rounds):
        for side, tree in (("A", args.a), ("B", args.b)):
            runs[side].append(_run(tree, args.spaces, table))
    keys = sorted(set().union(*runs["A"], *runs["B"]))
    print(f"# A = {args.a}, B = {args.b}; {args.rounds} alternating rounds; "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    print("| measurement | A median | B median | B/A |")
    print("|---|---:|---:|---:|")
    for k in keys:
        a = [r[k] for r in runs["A"] if k in r]
        b = [r[k] for r in runs["B"] if k in r]
        ma = statistics.median(a) if a else float("nan")
        mb = statistics.median(b) if b else float("nan")
        ratio = f"{mb / ma:.3f}" if a and b else "-"
        print(f"| {k} | {ma:.2f} | {mb:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
