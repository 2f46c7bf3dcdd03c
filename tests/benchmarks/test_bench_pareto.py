"""Speed of nasbench_suite.pareto (batched numpy) against plain-Python
references on the same points: NSGA-II's fast non-dominated sort as Deb et
al. (2002) write it, and the front of a whole table by pairwise comparison.
With ``--benchmark-disable`` each runs once and the results must agree."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import pareto

POP = 300  # a large MO-RE population / a run's queries
TABLE = 15_625  # an NB201 table's rows (2 objectives)
TABLE_REF = 1_500  # rows given to the quadratic reference


def _points(n, seed=0):
    rng = np.random.default_rng(seed)
    acc = rng.normal(85, 5, n).round(2)
    lat = (acc / 10 + rng.gamma(2.0, 2.0, n)).round(3)
    return np.stack([acc, lat], axis=1)


def _ref_fast_non_dominated_sort(points, maximize):
    """Deb et al. 2002, Fig. 'fast-non-dominated-sort', on lists of tuples."""
    p = [tuple((-x if m else x) for x, m in zip(row, maximize)) for row in points]
    n = len(p)

    def dom(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    S = [[] for _ in range(n)]
    count = [0] * n
    rank = [0] * n
    front = []
    for i in range(n):
        for j in range(n):
            if dom(p[i], p[j]):
                S[i].append(j)
            elif dom(p[j], p[i]):
                count[i] += 1
        if count[i] == 0:
            front.append(i)
    r = 0
    while front:
        nxt = []
        for i in front:
            rank[i] = r
            for j in S[i]:
                count[j] -= 1
                if count[j] == 0:
                    nxt.append(j)
        r += 1
        front = nxt
    return rank


@pytest.mark.benchmark(group="non-dominated-sort")
def test_bench_non_dominated_sort(benchmark):
    pts = _points(POP)
    benchmark.extra_info.update(role="core", cells=POP)
    ranks = benchmark(pareto.non_dominated_sort, pts, [True, False])
    assert ranks.tolist() == _ref_fast_non_dominated_sort(pts.tolist(), [True, False])


@pytest.mark.benchmark(group="non-dominated-sort")
def test_bench_non_dominated_sort_reference(benchmark):
    pts = _points(POP).tolist()
    benchmark.extra_info.update(role="reference", cells=POP)
    benchmark(_ref_fast_non_dominated_sort, pts, [True, False])


def _ref_front(points, maximize):
    p = [tuple((-x if m else x) for x, m in zip(row, maximize)) for row in points]
    return [not any(all(x <= y for x, y in zip(q, a)) and q != a for q in p) for a in p]


@pytest.mark.benchmark(group="table-front")
def test_bench_table_front(benchmark):
    pts = _points(TABLE, seed=1)
    benchmark.extra_info.update(role="core", cells=TABLE)
    mask = benchmark(pareto.pareto_mask, pts, [True, False])
    sub = pts[:TABLE_REF]
    assert pareto.pareto_mask(sub, [True, False]).tolist() == _ref_front(sub.tolist(), [True, False])
    assert mask.sum() >= 1


@pytest.mark.benchmark(group="table-front")
def test_bench_table_front_reference(benchmark):
    pts = _points(TABLE, seed=1)[:TABLE_REF].tolist()
    benchmark.extra_info.update(role="reference", cells=TABLE_REF)
    benchmark(_ref_front, pts, [True, False])
