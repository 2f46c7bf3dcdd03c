"""Pareto dominance for multi-objective search: non-dominated sorting,
crowding distance, hypervolume and the true Pareto front of a table.

Points are ``(n, k)`` arrays, one row per architecture and one column per
objective. ``maximize`` (a bool per objective) says which columns are better
when larger; every function turns the points into minimisation form
(:func:`to_minimization`) first. A NaN objective counts as the worst value
(+inf after orientation): such a point is dominated by any point no worse in
the other objectives, and never adds hypervolume.

Definitions follow Deb, Pratap, Agarwal & Meyarivan, "A fast and elitist
multiobjective genetic algorithm: NSGA-II", IEEE TEVC 6(2), 2002: ``a``
dominates ``b`` when ``a`` is no worse in every objective and better in at
least one; front 0 is the set of non-dominated points, front ``i`` those
non-dominated once fronts ``< i`` are removed; the crowding distance of a
point is the sum over objectives of the normalised side lengths of the
cuboid its front neighbours span (boundary points: infinity). Identical
points do not dominate each other.

The hypervolume of a set with respect to a reference point ``ref`` is the
Lebesgue measure of the region dominated by the set and bounded by ``ref``
(Zitzler & Thiele 1998); points no better than ``ref`` in every objective
add nothing. Two objectives: an exact O(n log n) sweep; more: exact
slicing over the last objective (fine for the few hundred points of a run).
"""
from __future__ import annotations

import numpy as np

__all__ = ["crowding_distance", "dominates", "hypervolume", "non_dominated_sort", "pareto_mask",
           "table_front", "to_minimization"]

_CHUNK = 1024  # rows of the (chunk, n, k) dominance block in non_dominated_sort


def to_minimization(points, maximize) -> np.ndarray:
    """``points`` (n, k) as float64 with the ``maximize`` columns negated and
    NaN as +inf: smaller is better in every column. ``maximize``: one bool per
    column (a single bool applies to all)."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2:
        raise ValueError(f"points must be an (n, k) array, got shape {p.shape}")
    m = np.broadcast_to(np.asarray(maximize, dtype=bool), (p.shape[1],))
    out = np.where(m[None, :], -p, p)
    out[np.isnan(out)] = np.inf
    return out


def dominates(a, b, maximize) -> bool:
    """Whether point ``a`` dominates point ``b`` (no worse everywhere, better somewhere)."""
    x = to_minimization(np.asarray([a, b], dtype=np.float64), maximize)
    return bool(np.all(x[0] <= x[1]) and np.any(x[0] < x[1]))


def _pareto_mask_min2(p: np.ndarray) -> np.ndarray:
    """Non-dominated rows of a minimisation (n, 2) array by one sort: after
    removing exact duplicates and sorting by (f0, f1), a row is dominated iff an
    earlier row has f1 no larger."""
    uniq, inverse = np.unique(p, axis=0, return_inverse=True)  # sorted by f0, then f1
    prev_min = np.minimum.accumulate(np.concatenate(([np.inf], uniq[:-1, 1])))
    keep = uniq[:, 1] < prev_min
    if uniq.shape[0]:
        keep[0] = True
    return keep[inverse.reshape(-1)]


def _dominated_counts(p: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """For each alive row j: how many alive rows dominate it (chunked broadcast)."""
    idx = np.flatnonzero(alive)
    q = p[idx]
    counts = np.zeros(idx.size, dtype=np.int64)
    for start in range(0, idx.size, _CHUNK):
        a = q[start:start + _CHUNK, None, :]
        dom = np.all(a <= q[None, :, :], axis=2) & np.any(a < q[None, :, :], axis=2)
        counts += dom.sum(axis=0)
    out = np.zeros(p.shape[0], dtype=np.int64)
    out[idx] = counts
    return out


def pareto_mask(points, maximize) -> np.ndarray:
    """A bool array: True for the non-dominated rows of ``points`` (n, k).
    Exact duplicates of a non-dominated point are all kept."""
    p = to_minimization(points, maximize)
    if p.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    if p.shape[1] == 2:
        return _pareto_mask_min2(p)
    return _dominated_counts(p, np.ones(p.shape[0], dtype=bool)) == 0


def non_dominated_sort(points, maximize) -> np.ndarray:
    """The front of each row of ``points`` (n, k): an int64 array, 0 for the
    non-dominated rows, 1 for those non-dominated once front 0 is removed, and
    so on (NSGA-II's fast non-dominated sort, batched: the dominance counts of
    all rows are one numpy broadcast per block of rows, then fronts are peeled
    off by subtracting the counts the removed front contributed)."""
    p = to_minimization(points, maximize)
    n = p.shape[0]
    rank = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return rank
    # dominated_by[i, j]: row i dominates row j (n is a population here: small)
    if n <= 4 * _CHUNK:
        a, b = p[:, None, :], p[None, :, :]
        dom = np.all(a <= b, axis=2) & np.any(a < b, axis=2)
        counts = dom.sum(axis=0)
        front = 0
        alive = np.ones(n, dtype=bool)
        while alive.any():
            now = alive & (counts == 0)
            rank[now] = front
            alive &= ~now
            counts = counts - dom[now].sum(axis=0)
            front += 1
        return rank
    alive = np.ones(n, dtype=bool)  # large sets: one front at a time, in blocks
    front = 0
    while alive.any():
        now = alive & (_dominated_counts(p, alive) == 0)
        rank[now] = front
        alive &= ~now
        front += 1
    return rank


def crowding_distance(points, maximize, ranks=None) -> np.ndarray:
    """NSGA-II's crowding distance of each row within its front (``ranks``
    from :func:`non_dominated_sort`, computed when None): float64, +inf for
    the extreme rows of each objective in a front (and for fronts of one or
    two rows); an objective whose values are all equal in a front adds 0."""
    p = to_minimization(points, maximize)
    n, k = p.shape
    ranks = non_dominated_sort(points, maximize) if ranks is None else np.asarray(ranks)
    dist = np.zeros(n, dtype=np.float64)
    for r in np.unique(ranks):
        idx = np.flatnonzero(ranks == r)
        if idx.size <= 2:
            dist[idx] = np.inf
            continue
        for j in range(k):
            order = idx[np.argsort(p[idx, j], kind="stable")]
            v = p[order, j]
            dist[order[0]] = dist[order[-1]] = np.inf
            span = v[-1] - v[0]
            if not np.isfinite(span) or span == 0:
                continue
            dist[order[1:-1]] += (v[2:] - v[:-2]) / span
    return dist


def _hv_min(p: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of minimisation points ``p`` (n, k) bounded by ``ref``."""
    p = p[np.all(p < ref[None, :], axis=1)]
    if p.shape[0] == 0:
        return 0.0
    k = p.shape[1]
    if k == 1:
        return float(ref[0] - p[:, 0].min())
    if k == 2:
        front = np.unique(p[_pareto_mask_min2(p)], axis=0)  # f0 ascending, so f1 descending
        widths = ref[0] - front[:, 0]
        heights = np.concatenate(([ref[1]], front[:-1, 1])) - front[:, 1]
        return float(np.sum(widths * heights))
    # slice along the last objective: between consecutive values z_i < z_{i+1}
    # the dominated region is the (k-1)-volume of the points with f_k <= z_i
    order = np.argsort(p[:, -1], kind="stable")
    p = p[order]
    z = np.concatenate((p[:, -1], [ref[-1]]))
    total = 0.0
    for i in range(p.shape[0]):
        thick = z[i + 1] - z[i]
        if thick > 0:
            total += thick * _hv_min(p[:i + 1, :-1], ref[:-1])
    return float(total)


def hypervolume(points, ref, maximize) -> float:
    """The hypervolume of ``points`` (n, k) with respect to the reference point
    ``ref`` (k values in the objectives' own units and directions: the worst
    value of each objective that still counts). Only the part of each point's
    box better than ``ref`` in every objective counts; an empty set gives 0."""
    p = to_minimization(points, maximize)
    r = to_minimization(np.asarray(ref, dtype=np.float64)[None, :], maximize)[0]
    if r.size != p.shape[1]:
        raise ValueError(f"ref has {r.size} values but the points have {p.shape[1]} objectives")
    if not np.all(np.isfinite(r)):
        raise ValueError(f"the reference point must be finite, got {list(np.asarray(ref))}")
    return _hv_min(p, r)


def table_front(bench, objectives, dataset=None) -> dict:
    """The true Pareto front of a table for ``objectives`` (``"metric@epochs"``
    or ``"metric"`` for a static metric or the highest fidelity), on the seed
    means of every row (:meth:`Benchmark.row_values`); directions from
    :func:`nasbench_suite.tables._schema.higher_is_better`.

    Returns ``{"objectives": [...], "maximize": [...], "points": (m, k) array
    of the front sorted by the first objective, "rows": their table rows,
    "nadir": the worst finite value of each objective over the whole table}``
    (the nadir is the reference point the reports use). Rows with a missing
    value are left out."""
    from .tables._schema import higher_is_better

    cols, names, maximize = [], [], []
    for spec in objectives:
        name, _, fid = spec.partition("@")
        cols.append(bench.row_values(name, float(fid) if fid else None, dataset))
        names.append(spec)
        maximize.append(higher_is_better(name))
    pts = np.stack(cols, axis=1)
    ok = np.all(np.isfinite(pts), axis=1)
    rows = np.flatnonzero(ok)
    mask = pareto_mask(pts[rows], maximize)
    front_rows = rows[mask]
    front = pts[front_rows]
    order = np.lexsort(front.T[::-1])
    nadir = np.where(maximize, pts[rows].min(axis=0), pts[rows].max(axis=0))
    return {"objectives": names, "maximize": maximize, "points": front[order], "rows": front_rows[order],
            "nadir": nadir}
