"""nasbench_suite.pareto against brute force: dominance by its definition,
fronts by repeated peeling, hypervolume by inclusion-exclusion and by hand."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_suite import pareto


def _brute_dominates(a, b, maximize):
    a = [(-x if m else x) for x, m in zip(a, maximize)]
    b = [(-x if m else x) for x, m in zip(b, maximize)]
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def _brute_fronts(points, maximize):
    n = len(points)
    rank = [-1] * n
    left = set(range(n))
    front = 0
    while left:
        now = {j for j in left if not any(_brute_dominates(points[i], points[j], maximize) for i in left)}
        for j in now:
            rank[j] = front
        left -= now
        front += 1
    return rank


def _brute_hv(points, ref, maximize):
    """Inclusion-exclusion over subsets (minimisation form)."""
    p = [[(-x if m else x) for x, m in zip(pt, maximize)] for pt in points]
    r = [(-x if m else x) for x, m in zip(ref, maximize)]
    total = 0.0
    for size in range(1, len(p) + 1):
        for sub in itertools.combinations(p, size):
            vol = 1.0
            for j in range(len(r)):
                vol *= max(0.0, r[j] - max(pt[j] for pt in sub))
            total += (-1) ** (size + 1) * vol
    return total


# small integers: ties and duplicates happen often
coords = st.integers(min_value=0, max_value=6)


def point_sets(k, max_n):
    return st.lists(st.tuples(*[coords] * k), min_size=0, max_size=max_n)


@settings(max_examples=150, deadline=None)
@given(point_sets(2, 30), st.tuples(st.booleans(), st.booleans()))
def test_two_objective_fronts_and_mask_match_brute_force(points, maximize):
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    ranks = pareto.non_dominated_sort(arr, maximize)
    assert ranks.tolist() == _brute_fronts(points, maximize)
    assert pareto.pareto_mask(arr, maximize).tolist() == [r == 0 for r in _brute_fronts(points, maximize)]


@settings(max_examples=100, deadline=None)
@given(point_sets(3, 20), st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_three_objective_fronts_match_brute_force(points, maximize):
    arr = np.asarray(points, dtype=float).reshape(-1, 3)
    brute = _brute_fronts(points, maximize)
    assert pareto.non_dominated_sort(arr, maximize).tolist() == brute
    assert pareto.pareto_mask(arr, maximize).tolist() == [r == 0 for r in brute]


@settings(max_examples=100, deadline=None)
@given(point_sets(2, 8), st.tuples(st.booleans(), st.booleans()))
def test_two_objective_hypervolume_matches_inclusion_exclusion(points, maximize):
    ref = [(-1.0 if m else 7.0) for m in maximize]  # worse than every point
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    assert pareto.hypervolume(arr, ref, maximize) == pytest.approx(_brute_hv(points, ref, maximize))


@settings(max_examples=60, deadline=None)
@given(point_sets(3, 7), st.tuples(st.booleans(), st.booleans(), st.booleans()),
       st.tuples(coords, coords, coords))
def test_three_objective_hypervolume_matches_inclusion_exclusion(points, maximize, ref):
    # a reference inside the cloud: points beyond it in some objective add nothing
    arr = np.asarray(points, dtype=float).reshape(-1, 3)
    assert pareto.hypervolume(arr, list(ref), maximize) == pytest.approx(_brute_hv(points, list(ref), maximize))


def test_hypervolume_by_hand():
    # minimise both, ref (4, 4): boxes [1,4]x[3,4] (3) and [2,4]x[1,4] (6) overlap in [2,4]x[3,4] (2)
    assert pareto.hypervolume([[1, 3], [2, 1]], [4, 4], [False, False]) == 7.0
    # a dominated point and a duplicate add nothing
    assert pareto.hypervolume([[1, 3], [2, 1], [3, 3], [2, 1]], [4, 4], [False, False]) == 7.0
    # accuracy (max) vs latency (min): (90 %, 2 ms) and (80 %, 1 ms), ref (50 %, 10 ms)
    # = 40 * 8 + 30 * 1 = 350
    assert pareto.hypervolume([[90, 2], [80, 1]], [50, 10], [True, False]) == 350.0
    # a point beyond the reference in one objective adds nothing
    assert pareto.hypervolume([[40, 1]], [50, 10], [True, False]) == 0.0
    assert pareto.hypervolume(np.zeros((0, 2)), [1, 1], [False, False]) == 0.0
    # unit cube corner in 3-D, ref (1, 1, 1): the whole cube; two points: 1 + 1 - overlap
    assert pareto.hypervolume([[0, 0, 0]], [1, 1, 1], False) == 1.0
    assert pareto.hypervolume([[0, 0.5, 0], [0.5, 0, 0]], [1, 1, 1], False) == 0.75


def test_nan_is_the_worst_value():
    pts = np.array([[1.0, np.nan], [0.5, 2.0], [3.0, 3.0], [0.0, np.nan]])
    assert pareto.non_dominated_sort(pts, [False, False]).tolist() == [1, 0, 1, 0]
    assert pareto.hypervolume(pts, [4, 4], [False, False]) == 3.5 * 2.0


def test_crowding_distance_by_hand():
    # one front of 4 points on a line f1 = 4 - f0: extremes infinite; the inner
    # ones (f0: 1 and 2) get (2-0)/3 + (2-0)/3 ... by objective: (next - prev) / span
    pts = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])
    d = pareto.crowding_distance(pts, [False, False])
    assert np.isinf(d[0]) and np.isinf(d[3])
    assert d[1] == pytest.approx((3 - 0) / 4 + (4 - 1) / 4)
    assert d[2] == pytest.approx((4 - 1) / 4 + (3 - 0) / 4)
    # two fronts are crowded separately; a front of two is all boundary
    pts = np.vstack([pts, [[5.0, 5.0], [6.0, 4.5]]])
    d = pareto.crowding_distance(pts, [False, False])
    assert np.isinf(d[4]) and np.isinf(d[5])


def test_large_sets_take_the_blocked_path(monkeypatch):
    rng = np.random.default_rng(0)
    pts = rng.integers(0, 12, size=(150, 3)).astype(float)
    brute = _brute_fronts(pts.tolist(), [False] * 3)
    monkeypatch.setattr(pareto, "_CHUNK", 16)  # 150 > 4 blocks of 16: front by front, in blocks
    assert pareto.non_dominated_sort(pts, False).tolist() == brute
    assert pareto.pareto_mask(pts, False).tolist() == [r == 0 for r in brute]


def test_table_front_on_a_synthetic_table(nb201_synthetic):
    from nasbench_suite.tables import Benchmark

    with Benchmark.open(nb201_synthetic) as b:
        acc = b.row_values("valid_acc", 200)
        params = b.row_values("params")
        f = pareto.table_front(b, ["valid_acc@200", "params"])
    assert f["maximize"] == [True, False]
    # no table row dominates a front point, and every other row is dominated by a front point
    front = f["points"]
    for a, p in front:
        assert not np.any((acc >= a) & (params <= p) & ((acc > a) | (params < p)))
    others = np.setdiff1d(np.arange(acc.size), f["rows"])
    dominated = np.zeros(others.size, dtype=bool)
    for a, p in front:
        dominated |= (a >= acc[others]) & (p <= params[others]) & ((a > acc[others]) | (p < params[others]))
    assert dominated.all()
    assert f["nadir"].tolist() == [np.nanmin(acc), np.nanmax(params)]
