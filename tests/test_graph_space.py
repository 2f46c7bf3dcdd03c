"""NAS-Bench-Graph spaces (spaces/graph.py, csrc/graph.cpp): the three keys of
the core against the plain-Python / networkx references of
tests/reference_graph.py, over every cell and on hypothesis-drawn ones;
cells, labels, indices, mutation and neighbours."""
from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_graph as ref
from nasbench_suite import InvalidSpecError, _core, spaces
from nasbench_suite.spaces import graph
from nasbench_suite.spaces.base import Stream

FULL = spaces.get("graph")
PROTEINS = spaces.get("graph_proteins")
# the full op list, written out here (the package's gnn_list)
REF_OPS = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
FULL_CODE = {op: i for i, op in enumerate(REF_OPS)}


def _raw(space, cell):
    return ref.LINKS[cell.pattern], [FULL_CODE[op] for op in cell.ops]


def _same_partition(keys, forms) -> bool:
    """Equal keys exactly where the reference forms are equal."""
    a, b = {}, {}
    return all(a.setdefault(k, f) == f and b.setdefault(f, k) == k for k, f in zip(keys, forms))


@pytest.fixture(scope="module", params=["graph", "graph_proteins"])
def every(request):
    """(space, [(link, ops) of every cell in index order])."""
    s = spaces.get(request.param)
    return s, [_raw(s, s.from_index(i)) for i in range(s.size)]


# Counts of classes over the cells (the all-skip choices excluded), written
# down from the references' partition and checked against both.
COUNTS = {"graph": (59040, 35910, 27934, 26206, 1728), "graph_proteins": (5616, 3561, 2293, 2021, 272)}


def test_the_core_keys_partition_the_space_as_the_references(every):
    s, raws = every
    size, n_canon, n_func, n_bench, n_iio = COUNTS[s.name]
    assert s.size == len(raws) == size
    k = s.keys_of(np.arange(s.size))
    canon = [ref.canonical_form(*r) for r in raws]
    func = [ref.functional_form(*r) for r in raws]
    bench = [ref.benchmark_key(*r) for r in raws]
    assert _same_partition(k["canonical"].tolist(), canon) and len(set(canon)) == n_canon
    assert _same_partition(k["functional"].tolist(), func) and len(set(func)) == n_func
    assert k["benchmark"].tolist() == bench and len(set(bench)) == n_bench
    iio = [ref.input_in_output(*r) for r in raws]
    assert k["input_in_output"].tolist() == iio
    assert len({f for f, x in zip(func, iio) if x}) == n_iio
    # the package's key folds more than the network does, never less: each
    # functional class lies in one benchmark class
    by_func = defaultdict(set)
    for f, b in zip(func, bench):
        by_func[f].add(b)
    assert all(len(v) == 1 for v in by_func.values())
    # each benchmark key names a raw choice that is its own key (the network the
    # authors trained); the networks left without one are exactly those whose
    # input feeds the output
    assert all(ref.benchmark_key(*_decode(b)) == b for b in set(bench))
    own = {ref.functional_form(*_decode(b)) for b in set(bench)}
    assert len(own) == n_bench and set(func) - own == {f for f, x in zip(func, iio) if x}
    assert (k["canonical"] > 0).all() and (k["functional"] > 0).all()
    if s is FULL:  # issue 15's counts are over all 9 x 9^4 = 59,049 raw choices: add the 9 all-skip ones
        skips = [(lk, [8] * 4) for lk in ref.LINKS]
        assert len(set(canon) | {ref.canonical_form(*r) for r in skips}) == 35919
        assert len(set(func) | {ref.functional_form(*r) for r in skips}) == 27938


def _decode(h):
    ops = [h // 10 ** (3 - i) % 10 for i in range(4)]
    return ref.LINKS[h // 10 ** 4], ops


# ---------------------------------------------------------------- hypothesis
cells_full = st.integers(0, FULL.size - 1).map(FULL.from_index)


def _relabellings(link, ops):
    """Every (pattern link, ops) that is the same labelled DAG with its layers
    renumbered (parents before children)."""
    out = []
    for perm in itertools.permutations(range(4)):  # new position -> old layer
        new_of = {old + 1: new + 1 for new, old in enumerate(perm)}
        new_of[0] = 0
        nl = [new_of[link[old]] for old in perm]
        if all(nl[i] <= i for i in range(4)) and nl in ref.LINKS:
            out.append((nl, [ops[old] for old in perm]))
    return out


@settings(max_examples=150, deadline=None)
@given(cells_full)
def test_canonical_is_invariant_under_isomorphism(cell):
    link, ops = _raw(FULL, cell)
    key = FULL.canonical(cell)
    g = ref.dag(link, ops)
    for nl, nops in _relabellings(link, ops):
        other = graph.Cell(nl, [REF_OPS[o] for o in nops])
        assert ref.isomorphic(g, ref.dag(nl, nops))
        assert FULL.canonical(other) == key


@settings(max_examples=150, deadline=None)
@given(cells_full, st.data())
def test_keys_agree_with_networkx_on_pairs(cell, data):
    """A pair drawn to be close (same op multiset or one neighbour away):
    equal keys iff networkx finds the graphs isomorphic."""
    other = data.draw(st.sampled_from(FULL.neighbours(cell) + [
        graph.Cell(lk, list(p)) for lk in ref.LINKS for p in {tuple(x) for x in itertools.permutations(cell.ops)}
        if not all(op == "skip" for op in p)]))
    a, b = _raw(FULL, cell), _raw(FULL, other)
    assert (FULL.canonical(cell) == FULL.canonical(other)) == ref.isomorphic(ref.dag(*a), ref.dag(*b))
    assert (FULL.functional(cell) == FULL.functional(other)) == ref.isomorphic(ref.contracted(*a),
                                                                              ref.contracted(*b))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["graph", "graph_proteins"]), st.integers(0, 10 ** 9), st.integers(0, 2 ** 32))
def test_index_label_and_categorical_round_trip(name, i, seed):
    s = spaces.get(name)
    cell = s.from_index(i % s.size)
    assert s.index(cell) == i % s.size
    assert s.parse(s.label(cell)) == cell and s.parse({"link": list(cell.link), "ops": list(cell.ops)}) == cell
    assert s.from_categorical(s.categorical(cell)) == cell
    assert s.table_cells([s.from_record(s.record(cell))])[0] == cell
    assert not all(op == "skip" for op in cell.ops)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["graph", "graph_proteins"]), st.integers(0, 2 ** 32))
def test_mutation_is_a_valid_neighbour(name, seed):
    s = spaces.get(name)
    rng = np.random.default_rng(seed)
    cell = s.sample(rng)
    nbrs = s.neighbours(cell)
    n = len(s.op_list)
    skips = sum(op == "skip" for op in cell.ops)
    # 8 other patterns + 4 layers x (n - 1) other ops, less the one change that makes all 4 skip
    assert len(nbrs) == 8 + 4 * (n - 1) - (skips == 3)
    assert len(set(nbrs)) == len(nbrs) and cell not in nbrs
    for child in (s.mutate(cell, rng), s.mutate(cell, Stream(np.random.default_rng(seed)))):
        assert child in nbrs and s.is_valid(child)
        assert all(op in s.op_list for op in child.ops)


# ---------------------------------------------------------------- examples and errors
def test_known_keys_and_the_package_error():
    # the package's own example: the same network written two ways (README)
    assert FULL.benchmark_key(graph.Cell([0, 1, 1, 2], ["gcn", "cheb", "gin", "fc"])) == 61327
    # gat x3 + the input on the output (skip leaf on the input) is not the
    # package's row 58000 = [0,1,1,1] skip,gat,gat,gat, which is gat x3 without the input
    a = graph.Cell([0, 0, 0, 0], ["gat", "gat", "gat", "skip"])
    b = graph.Cell([0, 1, 1, 1], ["skip", "gat", "gat", "gat"])
    assert FULL.input_in_output(a) and not FULL.input_in_output(b)
    assert FULL.benchmark_key(a) == FULL.benchmark_key(b) == 58000
    assert FULL.functional(a) != FULL.functional(b)
    # a skip inside a chain is the identity: both are the chain gcn -> gin -> fc
    c = graph.Cell([0, 1, 2, 3], ["gcn", "skip", "gin", "fc"])
    d = graph.Cell([0, 1, 2, 3], ["skip", "gcn", "gin", "fc"])
    assert FULL.functional(c) == FULL.functional(d) and FULL.canonical(c) != FULL.canonical(d)
    assert FULL.benchmark_key(c) == FULL.benchmark_key(d)
    assert FULL.from_benchmark_key(FULL.benchmark_key(c)) == FULL.from_benchmark_key(FULL.benchmark_key(d))


def test_bad_cells_are_refused_with_the_rule():
    with pytest.raises(InvalidSpecError, match="all 4 layers are 'skip'"):
        FULL.parse("0,1,2,3|skip,skip,skip,skip")
    with pytest.raises(InvalidSpecError, match=r"link \[0, 1, 0, 2\] is not one of the 9 link patterns"):
        FULL.parse("0,1,0,2|gcn,gcn,gcn,gcn")
    with pytest.raises(InvalidSpecError, match="unknown op 'gnn'"):
        FULL.parse("0,0,0,0|gnn,gcn,gcn,gcn")
    with pytest.raises(InvalidSpecError, match="'gat' is not in the NAS-Bench-Graph \\(proteins ops\\) op list"):
        PROTEINS.parse("0,0,0,0|gat,gcn,gcn,gcn")
    with pytest.raises(InvalidSpecError, match="index 5616 is outside 0..5615"):
        PROTEINS.from_index(5616)
    with pytest.raises(InvalidSpecError, match="not in the package's folded form; its key is 1"):
        FULL.from_benchmark_key(1000)  # [0,0,0,0] gcn,gat,gat,gat: the sorted form is gat,gat,gat,gcn
    assert PROTEINS.from_categorical([0, 4, 4, 4, 4]) is None  # all skip
    assert FULL.size == 59040 and PROTEINS.size == 5616
    assert FULL.index(graph.Cell([0, 1, 2, 3], ["gat", "gat", "gat", "gat"])) == 8 * (9 ** 4 - 1)


def test_the_core_names_bad_arrays():
    with pytest.raises(ValueError, match="link-pattern index 9 at row 1 is outside 0..8"):
        _core.graph_keys(np.array([0, 9]), np.zeros((2, 4), np.uint8))
    with pytest.raises(ValueError, match="op code 9 at row 0 is outside 0..8"):
        _core.graph_keys(np.array([0]), np.full((1, 4), 9, np.uint8))
    with pytest.raises(ValueError, match=r"ops must have shape \(N, 4\)"):
        _core.graph_keys(np.array([0, 1]), np.zeros((2, 3), np.uint8))
