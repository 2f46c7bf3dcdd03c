"""Plain-Python reference for the NAS-Bench-101 cell rules.

Written from the description of the official google-research/nasbench code
(``ModelSpec`` pruning, ``NASBench._check_spec`` and ``graph_util.hash_module``)
in ``../shared/docs/REFERENCE.md``. It deliberately uses only lists, sets,
``itertools`` and ``hashlib``; numpy is used only to convert inputs and by the
random generator. The test-suite checks it against real vectors computed with
the official code, then uses it as the oracle for the compiled core, and the
benchmarks compare the core's speed against it.

Conventions: a matrix is anything ``np.asarray`` understands (list of lists,
int/bool/float array); ``ops`` is a sequence of op names. Functions taking a
*pruned* cell expect a valid one (as returned by :func:`ref_prune` on a spec
that :func:`ref_is_valid` accepts).
"""
from __future__ import annotations

import hashlib
import itertools

import numpy as np

INPUT = "input"
OUTPUT = "output"
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
LABEL_INPUT = -1
LABEL_OUTPUT = -2
MAX_VERTICES = 7
MAX_EDGES = 9

_OP_LABEL = {INPUT: LABEL_INPUT, OUTPUT: LABEL_OUTPUT}
_OP_LABEL.update({op: i for i, op in enumerate(OPS)})
_LABEL_OP = {v: k for k, v in _OP_LABEL.items()}


# --------------------------------------------------------------------------
# input conversion
# --------------------------------------------------------------------------
def _as_rows(matrix):
    """Matrix as a list of lists of Python numbers (no numpy scalars)."""
    if isinstance(matrix, np.ndarray):
        return matrix.tolist()
    return [list(row) for row in matrix]


def _as_01_rows(matrix):
    """Matrix as a list of lists of Python ints 0/1 (nonzero -> 1)."""
    return [[1 if x else 0 for x in row] for row in _as_rows(matrix)]


def op_labels(ops):
    """Op names -> integer labels (-1 input, 0/1/2, -2 output).

    Unknown names raise KeyError; this is meant for valid cells and for
    building batch inputs from known ops.
    """
    return [_OP_LABEL[op] for op in ops]


def label_ops(labels):
    """Integer labels -> op names (inverse of :func:`op_labels`)."""
    return [_LABEL_OP[int(x)] for x in labels]


# Loose patterns that an error message must match to "name the rule" given
# by ref_error(); wording may evolve, the rule must be recognisable.
RULE_PATTERNS = {
    "square": r"(?i)square|shape|2-?d\b|dimension",
    "ops length": r"(?i)length|\blen\b|number of ops|count|match",
    "upper triangular": r"(?i)upper|triangular",
    "binary": r"(?i)0/1|0 or 1|binary|boolean|\{0, ?1\}|0 and 1|zeros? (and|or) ones?",
    "disconnected": r"(?i)disconnect|connect|no path|unreachable|reach",
    "vertices": r"(?i)vert(ex|ices)|nodes",
    "edges": r"(?i)edge",
    "first op": r"(?i)\bfirst\b|\binput\b",
    "last op": r"(?i)\blast\b|\boutput\b",
    "unknown op": r"(?i)\bops?\b|operation|label",
}


# --------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------
def ref_structure_error(matrix, ops):
    """Name of the first structural rule broken before pruning, or None.

    Order as in the official ``ModelSpec`` constructor, then our 0/1 check:
    'square', 'ops length', 'upper triangular', 'binary'.
    """
    shape = np.shape(matrix)
    if len(shape) != 2 or shape[0] != shape[1]:
        return "square"
    n = shape[0]
    if n != len(ops):
        return "ops length"
    rows = _as_rows(matrix)
    for i in range(n):
        for j in range(i + 1):
            if rows[i][j] != 0:
                return "upper triangular"
    for i in range(n):
        for j in range(i + 1, n):
            if rows[i][j] not in (0, 1):  # True/False and 0.0/1.0 compare equal
                return "binary"
    return None


def ref_prune(matrix, ops):
    """Official pruning.

    Keeps the vertices that are reachable from the input and reach the
    output, in their original order. Returns ``(pruned_matrix, pruned_ops)``
    as a list of lists of ints and a list of str, or ``None`` when the input
    does not reach the output. The matrix must be square and upper
    triangular (nonzero entries count as edges).
    """
    m = _as_01_rows(matrix)
    n = len(m)
    succ = [[j for j in range(n) if m[i][j]] for i in range(n)]
    pred = [[i for i in range(n) if m[i][j]] for j in range(n)]

    def reach(start, nbrs):
        seen = {start}
        stack = [start]
        while stack:
            v = stack.pop()
            for w in nbrs[v]:
                if w not in seen:
                    seen.add(w)
                    stack.append(w)
        return seen

    keep = sorted(reach(0, succ) & reach(n - 1, pred))
    # Official rule: fewer than two surviving vertices means the input does
    # not reach the output (the intersection holds both ends or nothing).
    if len(keep) < 2:
        return None
    pruned = [[m[i][j] for j in keep] for i in keep]
    return pruned, [ops[i] for i in keep]


def ref_error(matrix, ops):
    """Name of the first rule the spec breaks, or None if it is valid.

    Rules, in the order of the official code (``ModelSpec`` then
    ``_check_spec``), with our 0/1 check after the triangle check:
    'square', 'ops length', 'upper triangular', 'binary', 'disconnected',
    then on the pruned cell 'vertices', 'edges', 'first op', 'last op',
    'unknown op'.
    """
    err = ref_structure_error(matrix, ops)
    if err is not None:
        return err
    pruned = ref_prune(matrix, list(ops))
    if pruned is None:
        return "disconnected"
    pm, pops = pruned
    if len(pops) > MAX_VERTICES:
        return "vertices"
    if sum(map(sum, pm)) > MAX_EDGES:
        return "edges"
    if pops[0] != INPUT:
        return "first op"
    if pops[-1] != OUTPUT:
        return "last op"
    for op in pops[1:-1]:
        if op not in OPS:
            return "unknown op"
    return None


def ref_is_valid(matrix, ops):
    """True iff the spec passes every official rule (plus entries in {0, 1})."""
    return ref_error(matrix, ops) is None


# --------------------------------------------------------------------------
# hash and canonical form
# --------------------------------------------------------------------------
def _md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def ref_hash_labels(matrix, labels):
    """Official ``graph_util.hash_module`` on a matrix and integer labels."""
    m = _as_01_rows(matrix)
    labels = [int(x) for x in labels]
    n = len(m)
    in_nbrs = [[i for i in range(n) if m[i][j]] for j in range(n)]
    out_nbrs = [[j for j in range(n) if m[i][j]] for i in range(n)]
    hashes = [
        _md5(str((len(out_nbrs[v]), len(in_nbrs[v]), labels[v])))
        for v in range(n)
    ]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in in_nbrs[v]))
                + "|"
                + "".join(sorted(hashes[w] for w in out_nbrs[v]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def ref_hash(pruned_matrix, pruned_ops):
    """Official NAS-Bench-101 module hash of a (valid) pruned cell."""
    labels = [LABEL_INPUT] + [OPS.index(op) for op in pruned_ops[1:-1]] + [LABEL_OUTPUT]
    return ref_hash_labels(pruned_matrix, labels)


def ref_topological_interior_perms(matrix):
    """All orders of the vertices that fix the first and last vertex and keep
    the matrix upper triangular.

    Each order ``p`` lists old vertex indices: new vertex ``i`` is old vertex
    ``p[i]``.
    """
    m = _as_01_rows(matrix)
    n = len(m)
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if m[i][j]]
    perms = []
    for mid in itertools.permutations(range(1, n - 1)):
        p = (0,) + mid + (n - 1,) if n > 1 else (0,)
        pos = [0] * n
        for new, old in enumerate(p):
            pos[old] = new
        if all(pos[i] < pos[j] for i, j in edges):
            perms.append(p)
    return perms


def ref_permute(matrix, ops, perm):
    """Relabel a cell: new vertex ``i`` is old vertex ``perm[i]``."""
    m = _as_rows(matrix)
    return [[m[a][b] for b in perm] for a in perm], [ops[a] for a in perm]


def ref_canonical(pruned_matrix, pruned_ops):
    """Exact canonical form of a valid pruned cell (brute force).

    The minimum, over every relabelling of the interior vertices that keeps
    the matrix upper triangular, of ``(n, labels, upper-triangle bits)``.
    Two valid pruned cells are isomorphic as labelled DAGs iff their
    canonical forms are equal (any isomorphism between cells fixes input
    and output, the unique source and sink).
    """
    m = _as_01_rows(pruned_matrix)
    n = len(m)
    labels = op_labels(pruned_ops)
    best = None
    for p in ref_topological_interior_perms(m):
        key = (
            n,
            tuple(labels[a] for a in p),
            tuple(m[p[i]][p[j]] for i in range(n) for j in range(i + 1, n)),
        )
        if best is None or key < best:
            best = key
    return best


# --------------------------------------------------------------------------
# random specs for fuzzing
# --------------------------------------------------------------------------
_ODD_OPS = ("input", "output", "conv5x5-bn-relu", "avgpool3x3", "", "Conv3x3-BN-ReLU")


def ref_random_spec(rng, max_vertices=MAX_VERTICES):
    """Random spec ``(matrix, ops)`` for fuzz comparison.

    ``matrix`` is an n x n np.uint8 strictly upper-triangular 0/1 matrix
    (n = 7 most of the time, else uniform in 2..6), each upper-triangle entry
    1 with probability p, p itself uniform in [0.05, 0.95]; ``ops`` is a list
    of names: mostly input, known interior ops, output, but in some specs
    interior vertices get unknown names or 'input'/'output', and the first
    or last op is occasionally wrong. Valid, disconnected, too-many-edges and
    bad-op specs all occur.
    """
    n = max_vertices if rng.random() < 0.6 else int(rng.integers(2, max_vertices))
    p = rng.uniform(0.05, 0.95)
    matrix = np.triu((rng.random((n, n)) < p).astype(np.uint8), k=1)
    ops = [OPS[int(k)] for k in rng.integers(0, len(OPS), size=n)]
    ops[0] = INPUT
    ops[-1] = OUTPUT
    if rng.random() < 0.15:  # noisy interior ops
        for i in range(1, n - 1):
            if rng.random() < 0.3:
                ops[i] = _ODD_OPS[int(rng.integers(len(_ODD_OPS)))]
    if rng.random() < 0.02:
        ops[0] = OPS[int(rng.integers(len(OPS)))]
    if rng.random() < 0.02:
        ops[-1] = OPS[int(rng.integers(len(OPS)))]
    return matrix, ops


def ref_random_valid_spec(rng, vertices=None, p=None):
    """Random valid spec by rejection sampling.

    Without ``vertices``, draws from :func:`ref_random_spec`; with it, draws
    ``vertices`` x ``vertices`` matrices (edge probability ``p``, default
    uniform in [0.2, 0.8]) and known ops only.
    """
    while True:
        if vertices is None:
            matrix, ops = ref_random_spec(rng)
        else:
            n = vertices
            q = rng.uniform(0.2, 0.8) if p is None else p
            matrix = np.triu((rng.random((n, n)) < q).astype(np.uint8), k=1)
            ops = [INPUT] + [OPS[int(k)] for k in rng.integers(0, len(OPS), size=n - 2)] + [OUTPUT]
        if ref_is_valid(matrix, ops):
            return matrix, ops


def ref_random_full_spec(rng):
    """Random valid 7 x 7 spec whose seven vertices all survive pruning.

    Every interior vertex gets an in-edge from an earlier vertex and an
    out-edge to a later one, then extra random edges are added while the
    cell has at most 9 edges; specs over 9 edges are redrawn. Known ops only.
    """
    n = MAX_VERTICES
    while True:
        m = [[0] * n for _ in range(n)]
        for i in range(1, n - 1):
            m[int(rng.integers(0, i))][i] = 1
        for i in range(n - 2, 0, -1):
            if not any(m[i]):
                m[i][int(rng.integers(i + 1, n))] = 1
        edges = sum(map(sum, m))
        if edges > MAX_EDGES:
            continue
        extra = int(rng.integers(0, MAX_EDGES - edges + 1))
        free = [(i, j) for i in range(n) for j in range(i + 1, n) if not m[i][j]]
        for k in rng.permutation(len(free))[:extra]:
            i, j = free[int(k)]
            m[i][j] = 1
        ops = [INPUT] + [OPS[int(k)] for k in rng.integers(0, len(OPS), size=n - 2)] + [OUTPUT]
        return np.array(m, dtype=np.uint8), ops


def ref_random_interior_perm(matrix, rng):
    """Uniformly random-ish order of the vertices fixing the first and last
    and keeping the matrix upper triangular (randomised Kahn's algorithm)."""
    m = _as_01_rows(matrix)
    n = len(m)
    if n <= 2:
        return tuple(range(n))
    indeg = [sum(m[i][j] for i in range(n)) for j in range(n)]
    order = [0]
    for j in range(n):
        if m[0][j]:
            indeg[j] -= 1
    remaining = set(range(1, n - 1))
    while remaining:
        ready = sorted(v for v in remaining if indeg[v] == 0)
        v = ready[int(rng.integers(len(ready)))]
        remaining.remove(v)
        order.append(v)
        for j in range(n):
            if m[v][j]:
                indeg[j] -= 1
    order.append(n - 1)
    return tuple(order)
