"""Speed of the compiled core against plain-Python references, same run, same machine.

One pytest-benchmark group per hot path; in each, the core (``role="core"``)
and a reference (``role="reference"``) record in ``extra_info`` how many
cells they processed (``cells``) so that ``scripts/perf_report.py`` can
compare time per cell. With ``--benchmark-disable`` (the default addopts)
every benchmark runs once and checks that the core agrees with the reference
on everything the reference computed.

References: ``tests/reference_nb101.py`` (hash, canonical form); below,
written for these benchmarks only, the official ``generate_graphs.py`` loop
on top of it, and the NB201 "same network" definition with networkx. The
slow ones run on a subset, and the report says so.
"""
from __future__ import annotations

import itertools
import random
from collections import Counter

import networkx as nx
import numpy as np
import pytest

import reference_nb101 as ref
import reference_nb201
from nasbench_suite.spaces import nb101, nb201

BATCH_CELLS = 10_000  # 7-vertex cells given to the core
REF_CELLS = 500  # first cells of the same batch given to the reference
ENUM_REF_VERTICES = 5  # plain-Python enumeration: the 2..5-vertex sub-space
NB201_REF_CELLS = 1_000  # first official indices classified by the reference
NB201_DISCONNECTED = 341  # REFERENCE.md


# --------------------------------------------------------------------------
# the batch: valid cells whose 7 vertices all survive pruning

def _full_seven_vertex_matrices() -> np.ndarray:
    """Every 7x7 strictly upper-triangular 0/1 matrix with <= 9 edges on which
    every vertex lies on an input->output path, (4793, 7, 7) uint8.

    In an upper-triangular DAG, "every vertex but the first has an in-edge and
    every vertex but the last an out-edge" is the same condition (follow
    predecessors down to vertex 0, successors up to vertex 6).
    """
    n = nb101.MAX_VERTICES
    rows, cols = np.triu_indices(n, 1)
    words = np.arange(1 << rows.size, dtype=np.uint32)
    bits = np.unpackbits(words.view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")[:, : rows.size]
    bits = bits[bits.sum(axis=1, dtype=np.int32) <= nb101.MAX_EDGES]
    m = np.zeros((len(bits), n, n), dtype=np.uint8)
    m[:, rows, cols] = bits
    indeg, outdeg = m.sum(axis=1, dtype=np.int32), m.sum(axis=2, dtype=np.int32)
    return m[(indeg[:, 1:] > 0).all(axis=1) & (outdeg[:, :-1] > 0).all(axis=1)]


@pytest.fixture(scope="module")
def batch():
    """10,000 valid 7-vertex cells as ``(matrices (N,7,7) uint8, labels (N,7) int64)``.

    This is the distribution of ``nb101.sample`` (official ``random_spec``:
    fair coin per edge, uniform ops, reject invalid) conditioned on the pruned
    cell keeping all 7 vertices: every raw matrix is equally likely, so the
    condition leaves a uniform choice among the full 7-vertex matrices with
    <= 9 edges. Drawing it by rejection through ``nb101.sample`` would need
    ~3.5 million samples (only ~0.3% of valid samples have 7 vertices), about
    two minutes, so it is drawn directly, from ``np.random.default_rng(0)``.
    """
    full = _full_seven_vertex_matrices()
    rng = np.random.default_rng(0)
    mats = full[rng.integers(0, len(full), size=BATCH_CELLS)]
    labels = np.empty((BATCH_CELLS, nb101.MAX_VERTICES), dtype=np.int64)
    labels[:, 0], labels[:, -1] = nb101.LABEL_INPUT, nb101.LABEL_OUTPUT
    labels[:, 1:-1] = rng.integers(0, len(nb101.OPS), size=(BATCH_CELLS, nb101.MAX_VERTICES - 2))
    assert nb101.is_valid_many(mats, labels).all()
    assert (nb101.prune_many(mats, labels)[2] == nb101.MAX_VERTICES).all()
    return mats, labels


@pytest.fixture(scope="module")
def ref_batch(batch):
    """The first REF_CELLS cells as the reference takes them: lists and op names."""
    mats, labels = batch
    return [(mats[i].tolist(), ref.label_ops(labels[i])) for i in range(REF_CELLS)]


def _info(benchmark, role: str, cells: int, scope: str, **more) -> None:
    benchmark.extra_info.update(role=role, cells=int(cells), scope=scope, **more)


# --------------------------------------------------------------------------
# nb101-hash

def _ref_hash_all(cells):
    return [ref.ref_hash(m, ops) for m, ops in cells]


@pytest.mark.benchmark(group="nb101-hash")
@pytest.mark.parametrize("threads", [1, 2])
def test_hash_core(benchmark, batch, ref_batch, threads):
    mats, labels = batch
    _info(benchmark, "core", BATCH_CELLS, f"{BATCH_CELLS:,} valid 7-vertex cells", threads=threads)
    got = benchmark(nb101.hash_many, mats, labels, threads=threads)
    assert got.shape == (BATCH_CELLS,)
    assert list(got[:50]) == _ref_hash_all(ref_batch[:50])


def _md5_path_param(name):
    from nasbench_suite import _core

    have = name in _core.md5_paths()
    return pytest.param(name, id=name, marks=[] if have else [pytest.mark.skip(reason=f"this CPU has no {name} MD5")])


@pytest.mark.benchmark(group="nb101-hash")
@pytest.mark.parametrize("path", [_md5_path_param(p) for p in ("avx512", "avx2", "scalar")])
def test_hash_core_md5_path(benchmark, batch, ref_batch, path):
    """The same batch on one MD5 path (one instruction set), one thread."""
    from nasbench_suite import _core

    mats, labels = batch
    _info(benchmark, "core", BATCH_CELLS, f"{BATCH_CELLS:,} valid 7-vertex cells, {path} MD5",
          threads=1)
    was = _core.md5_path()
    _core.md5_set_path(path)
    try:
        got = benchmark(nb101.hash_many, mats, labels, threads=1)
    finally:
        _core.md5_set_path(was)
    assert list(got[:50]) == _ref_hash_all(ref_batch[:50])


@pytest.mark.benchmark(group="nb101-hash")
def test_hash_reference(benchmark, batch, ref_batch):
    _info(benchmark, "reference", REF_CELLS, f"first {REF_CELLS} cells of the batch, list input")
    expect = benchmark(_ref_hash_all, ref_batch)
    mats, labels = batch
    assert list(nb101.hash_many(mats[:REF_CELLS], labels[:REF_CELLS])) == expect


# --------------------------------------------------------------------------
# nb101-canonical

def _ref_canonical_all(cells):
    return [ref.ref_canonical(m, ops) for m, ops in cells]


def _check_keys_match_forms(keys, forms):
    """Core keys and reference forms induce the same partition, and each key
    decodes to a cell with the reference form it stands for."""
    pairs = set(zip((int(k) for k in keys), forms))
    assert len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})
    uniq = np.array(sorted(p[0] for p in pairs), dtype=np.uint64)
    mats, labels, nv = nb101.decode_canonical(uniq)
    form_of = dict(pairs)
    for key, m, lab, n in zip(uniq, mats, labels, nv):
        assert ref.ref_canonical(m[:n, :n].tolist(), ref.label_ops(lab[:n])) == form_of[int(key)]


@pytest.mark.benchmark(group="nb101-canonical")
@pytest.mark.parametrize("threads", [1, 2])
def test_canonical_core(benchmark, batch, ref_batch, threads):
    mats, labels = batch
    _info(benchmark, "core", BATCH_CELLS, f"{BATCH_CELLS:,} valid 7-vertex cells", threads=threads)
    keys = benchmark(nb101.canonical_many, mats, labels, threads=threads)
    assert keys.shape == (BATCH_CELLS,) and keys.dtype == np.uint64
    _check_keys_match_forms(keys[:30], _ref_canonical_all(ref_batch[:30]))


@pytest.mark.benchmark(group="nb101-canonical")
def test_canonical_reference(benchmark, batch, ref_batch):
    _info(benchmark, "reference", REF_CELLS, f"first {REF_CELLS} cells of the batch, list input")
    forms = benchmark(_ref_canonical_all, ref_batch)
    mats, labels = batch
    _check_keys_match_forms(nb101.canonical_many(mats[:REF_CELLS], labels[:REF_CELLS]), forms)


# --------------------------------------------------------------------------
# nb101-enumerate

def ref_enumerate(max_vertices: int, max_edges: int = ref.MAX_EDGES):
    """The loop of the official ``generate_graphs.py`` in plain Python.

    For each vertex count, every upper-triangular matrix with at most
    ``max_edges`` edges whose vertices all lie on an input->output path
    (``is_full_dag``), with every labelling of its interior vertices, is one
    candidate; candidates are deduplicated by the official hash (as the
    official script does). Returns ``(hashes, candidates_by_vertices,
    unique_by_vertices)``.
    """
    first_seen = {}  # hash -> vertex count
    candidates = Counter()
    for n in range(2, max_vertices + 1):
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        dummy_ops = ["op"] * n
        for bits in range(1 << len(pairs)):
            if bin(bits).count("1") > max_edges:
                continue
            m = [[0] * n for _ in range(n)]
            for k, (i, j) in enumerate(pairs):
                if bits >> k & 1:
                    m[i][j] = 1
            pruned = ref.ref_prune(m, dummy_ops)
            if pruned is None or len(pruned[1]) != n:
                continue
            for interior in itertools.product(range(len(ref.OPS)), repeat=n - 2):
                fingerprint = ref.ref_hash_labels(m, [ref.LABEL_INPUT, *interior, ref.LABEL_OUTPUT])
                candidates[n] += 1
                first_seen.setdefault(fingerprint, n)
    return set(first_seen), dict(candidates), dict(Counter(first_seen.values()))


@pytest.mark.benchmark(group="nb101-enumerate")
def test_enumerate_core_whole_space(benchmark):
    result = benchmark.pedantic(nb101.enumerate_space, rounds=3, iterations=1)
    _info(benchmark, "core", result.candidates, "whole space (2..7 vertices)",
          unique=len(result), unit="candidate", target_s=20.0,
          comparable=False)  # the reference covers a sub-space only
    assert len(result) == 423_624  # NAS-Bench-101 paper / official generate_graphs.py
    assert sum(result.unique_by_vertices.values()) == len(result)


@pytest.mark.benchmark(group="nb101-enumerate")
def test_enumerate_core_subspace(benchmark):
    result = benchmark(nb101.enumerate_space, ENUM_REF_VERTICES)
    _info(benchmark, "core", result.candidates, f"2..{ENUM_REF_VERTICES}-vertex sub-space",
          unique=len(result), unit="candidate")
    assert np.all(result.keys[1:] > result.keys[:-1])  # sorted, unique
    assert sum(result.unique_by_vertices.values()) == len(result)


@pytest.mark.benchmark(group="nb101-enumerate")
def test_enumerate_reference_subspace(benchmark):
    hashes, candidates, unique = benchmark(ref_enumerate, ENUM_REF_VERTICES)
    _info(benchmark, "reference", sum(candidates.values()), f"2..{ENUM_REF_VERTICES}-vertex sub-space",
          unique=len(hashes), unit="candidate")
    core = nb101.enumerate_space(ENUM_REF_VERTICES)
    assert core.candidates_by_vertices == candidates
    assert core.unique_by_vertices == unique
    assert set(core.hashes()) == hashes


# --------------------------------------------------------------------------
# nb201-classes

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


_nb201_graph = reference_nb201.ref_graph


def _op_match(a, b):
    return a["op"] == b["op"]


def ref_nb201_classes(count: int) -> list[int]:
    """Classes of the first ``count`` official indices, numbered by first
    appearance (so a prefix of the full answer), -1 when disconnected.

    Official order: every cell in lexicographic order (first edge most
    significant), shuffled by ``random.seed(88)``. Identity: exact networkx
    isomorphism, with a cheap invariant (op, in-degree, out-degree multiset)
    only to bucket candidates.
    """
    order = list(range(len(NB201_OPS) ** len(NB201_EDGES)))
    random.Random(88).shuffle(order)
    lex = list(itertools.product(NB201_OPS, repeat=len(NB201_EDGES)))
    buckets: dict = {}
    out = []
    next_id = 0
    for index in range(count):
        g = _nb201_graph(lex[order[index]])
        if g is None:
            out.append(-1)
            continue
        inv = tuple(sorted((d["op"], g.in_degree(v), g.out_degree(v)) for v, d in g.nodes(data=True)))
        bucket = buckets.setdefault(inv, [])
        for rep, cid in bucket:
            if nx.is_isomorphic(g, rep, node_match=_op_match):
                out.append(cid)
                break
        else:
            bucket.append((g, next_id))
            out.append(next_id)
            next_id += 1
    return out


def _nb201_classes_from_scratch():
    nb201.official_order.cache_clear()  # the official order is part of the work
    return nb201.isomorphism_classes()


@pytest.mark.benchmark(group="nb201-classes")
def test_nb201_classes_core(benchmark):
    _info(benchmark, "core", nb201.NUM_CELLS, "all 15,625 cells, from scratch", target_s=0.5)
    classes = benchmark(_nb201_classes_from_scratch)
    assert classes.shape == (nb201.NUM_CELLS,)
    assert int((classes == -1).sum()) == NB201_DISCONNECTED
    first = np.unique(classes[classes >= 0], return_index=True)[1]
    assert np.all(np.diff(first) > 0)  # numbered by first appearance


@pytest.mark.benchmark(group="nb201-classes")
def test_nb201_classes_reference(benchmark):
    _info(benchmark, "reference", NB201_REF_CELLS,
          f"first {NB201_REF_CELLS:,} official indices (networkx); extrapolate to 15,625")
    expect = benchmark(ref_nb201_classes, NB201_REF_CELLS)
    assert nb201.isomorphism_classes()[:NB201_REF_CELLS].tolist() == expect


# --------------------------------------------------------------------------
# nb201-functional

# The plain-Python reduction + brute-force canonical form of
# tests/test_nb201_function.py (REFERENCE.md, NB201 "Functional identity").
from test_nb201_function import ref_form, ref_reduce  # noqa: E402

from nasbench_suite import _core  # noqa: E402

NB201_NETWORKS = 5_259  # REFERENCE.md


@pytest.fixture(scope="module")
def nb201_official_codes():
    """Op codes of every cell in official index order, (15625, 6) uint8."""
    return nb201.all_codes()


def ref_nb201_functional(ops_list) -> list:
    """Reference canonical form of each cell's reduced network (None when disconnected)."""
    return [ref_form(ref_reduce(ops)) for ops in ops_list]


def _check_same_partition(keys, forms):
    keys = [int(k) for k in keys]
    assert [k == 0 for k in keys] == [f is None for f in forms]
    pairs = {(k, f) for k, f in zip(keys, forms) if k}
    assert len(pairs) == len({k for k, _ in pairs}) == len({f for _, f in pairs})


@pytest.mark.benchmark(group="nb201-functional")
def test_nb201_functional_core(benchmark, nb201_official_codes):
    _info(benchmark, "core", nb201.NUM_CELLS, "all 15,625 cells, one batch call")
    keys = benchmark(_core.nb201_functional, nb201_official_codes)
    assert keys.shape == (nb201.NUM_CELLS,) and keys.dtype == np.uint64
    assert int((keys == 0).sum()) == NB201_DISCONNECTED
    assert np.unique(keys[keys != 0]).size == NB201_NETWORKS


@pytest.mark.benchmark(group="nb201-functional")
def test_nb201_functional_reference(benchmark, nb201_official_codes):
    # The reference is fast enough (~1 s) to take the whole space too.
    _info(benchmark, "reference", nb201.NUM_CELLS, "all 15,625 cells (plain Python, op-name tuples)")
    ops_list = [tuple(NB201_OPS[c] for c in row) for row in nb201_official_codes.tolist()]
    forms = benchmark(ref_nb201_functional, ops_list)
    assert len({f for f in forms if f is not None}) == NB201_NETWORKS
    _check_same_partition(_core.nb201_functional(nb201_official_codes), forms)
