"""Strategy overhead (issue 4): ask/tell pairs of random search, regularized
evolution and local search; a 150-query regularized-evolution run on NB201 end
to end; one BANANAS iteration. Each group has a plain-Python reference measured
in the same run (a minimal list-based random search / evolution without the
suite's cells, dedup or tables), to show what the machinery costs."""
from __future__ import annotations

import random

import numpy as np
import pytest

from nasbench_suite.runner import run_search
from nasbench_suite.strategies import Result, make_strategy
from nasbench_suite.tables import Benchmark

PAIRS = 1000


def _ask_tell(strategy, n: int) -> None:
    for i in range(n):
        p = strategy.ask()
        strategy.tell(p, Result(float(i % 97), 1.0, 12.0))


def _ref_random_search(n: int, rng: random.Random) -> None:
    """Plain Python: sample 6 op codes, keep the best of a constant objective."""
    best = None
    for i in range(n):
        cell = tuple(rng.randrange(5) for _ in range(6))
        value = float(i % 97)
        if best is None or value > best[1]:
            best = (cell, value)


@pytest.mark.benchmark(group="strategy-ask-tell")
@pytest.mark.parametrize("space", ["nb201", "nb101", "macro"])
@pytest.mark.parametrize("name", ["random_search", "regularized_evolution", "local_search"])
def test_ask_tell(benchmark, name, space):
    """Per pair: strategies warmed up past their random start, then PAIRS asks and tells."""
    def setup():
        s = make_strategy(name, space, np.random.default_rng(0))
        s.bind([12.0], 12.0)
        _ask_tell(s, 60)
        return (s, PAIRS), {}

    benchmark.extra_info.update(pairs=PAIRS, role="core", space=space, strategy=name)
    benchmark.pedantic(_ask_tell, setup=setup, rounds=5, iterations=1)


@pytest.mark.benchmark(group="strategy-ask-tell")
def test_ask_tell_reference(benchmark):
    benchmark.extra_info.update(pairs=PAIRS, role="reference")
    benchmark(_ref_random_search, PAIRS, random.Random(0))


@pytest.fixture(scope="module")
def bench201(nb201_synthetic):
    b = Benchmark.open(nb201_synthetic)
    run_search(b, "regularized_evolution", 0, {"queries": 10}, search_metric="valid_acc@12")  # warm caches
    return b


@pytest.mark.benchmark(group="rea-150-nb201")
def test_rea_150_queries_end_to_end(benchmark, bench201):
    benchmark.extra_info.update(role="core", queries=150)
    seeds = iter(range(10**6))
    t = benchmark(lambda: run_search(bench201, "regularized_evolution", next(seeds), {"queries": 150},
                                     search_metric="valid_acc@12", report_metric="test_acc@200"))
    assert len(t) == 150


@pytest.fixture(scope="module")
def bench_macro(tmp_path_factory):
    """The real NAS-Bench-Macro table (imported in about 0.3 s)."""
    import os
    from pathlib import Path

    from nasbench_suite.tables.importers import import_table

    data = Path(os.environ.get("NASBENCH_SUITE_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    if not (data / "macro").is_dir():
        pytest.skip(f"{data / 'macro'} not found (set NASBENCH_SUITE_DATA)")
    path = import_table(recipe="nas-bench-macro", source=data / "macro",
                        out=tmp_path_factory.mktemp("macro") / "macro.h5")
    b = Benchmark.open(path)
    run_search(b, "regularized_evolution", 0, {"queries": 10}, search_metric="test_acc",
               report_metric="test_acc")  # warm caches
    return b


@pytest.mark.benchmark(group="rea-150-macro")
def test_rea_150_queries_end_to_end_macro(benchmark, bench_macro):
    """Issue 14's target: a 150-query regularized evolution run on Macro within 50 ms."""
    benchmark.extra_info.update(role="core", queries=150, space="macro")
    seeds = iter(range(10**6))
    t = benchmark(lambda: run_search(bench_macro, "regularized_evolution", next(seeds), {"queries": 150},
                                     search_metric="test_acc", report_metric="test_acc"))
    assert len(t) == 150


def _ref_rea_macro(values: dict, queries: int, rng: random.Random) -> float:
    """Plain Python: regularized evolution (population 10, sample 3) over
    8-digit tuples, values from a dict; no dedup, no trajectory, no simulated clock."""
    pop, best = [], -1.0
    for i in range(queries):
        if i < 10:
            arch = tuple(rng.randrange(3) for _ in range(8))
        else:
            parent = max(rng.sample(pop, 3), key=lambda m: m[1])[0]
            j, other = rng.randrange(8), rng.randrange(2)
            arch = parent[:j] + (other + (other >= parent[j]),) + parent[j + 1:]
        value = values[arch]
        pop.append((arch, value))
        if len(pop) > 10:
            pop.pop(0)
        best = max(best, value)
    return best


@pytest.mark.benchmark(group="rea-150-macro")
def test_rea_150_queries_macro_reference(benchmark, bench_macro):
    from itertools import product

    cells = list(product(range(3), repeat=8))
    values = dict(zip(cells, bench_macro.query(np.arange(len(cells)), "test_acc", seed="mean").tolist()))
    benchmark.extra_info.update(role="reference", queries=150, space="macro")
    benchmark(_ref_rea_macro, values, 150, random.Random(0))


@pytest.mark.benchmark(group="bananas-iteration")
@pytest.mark.parametrize("space", ["nb201", "nb101"])
def test_bananas_iteration(benchmark, space):
    """One model fit + acquisition after 150 told results (the first of a batch of k asks)."""
    def setup():
        s = make_strategy("bananas", space, np.random.default_rng(0))
        s.bind([12.0], 12.0)
        rng = np.random.default_rng(1)
        told = 0
        while told < 150:
            p = s.ask()
            s.tell(p, Result(float(rng.normal(90, 2)), 1.0, 12.0))
            told += 1
        # Use up the current batch so that the next ask fits the ensemble.
        while s._queue:
            p = s.ask()
            s.tell(p, Result(float(rng.normal(90, 2)), 1.0, 12.0))
        return (s,), {}

    benchmark.extra_info.update(role="core", space=space)
    benchmark.pedantic(lambda s: s.ask(), setup=setup, rounds=3, iterations=1)
