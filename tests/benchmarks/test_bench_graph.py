"""Speed of the NAS-Bench-Graph keys in the core (``_core.graph_keys``: the
canonical, functional and benchmark keys and the input-in-output flag of a
batch, one call) against the plain-Python / networkx references of
``tests/reference_graph.py``, same run, same machine (the pattern of
test_bench_core.py: ``role`` and ``cells`` in ``extra_info``). With
``--benchmark-disable`` each runs once and checks the core against the
reference on the cells the reference keyed."""
from __future__ import annotations

import numpy as np
import pytest

import reference_graph as ref
from nasbench_suite.spaces import graph

SPACE = graph.SPACE
REF_CELLS = 2_000  # first cells of the space given to the reference


def _info(benchmark, role: str, cells: int, scope: str) -> None:
    benchmark.extra_info.update(role=role, cells=int(cells), scope=scope)


@pytest.fixture(scope="module")
def every():
    """Every cell of the full space as core input: (patterns (N,), full-list op codes (N, 4))."""
    idx = np.arange(SPACE.size)
    return SPACE._patterns[idx], SPACE._full_of[SPACE._codes[idx]]


def _ref_keys(patterns, ops):
    return [(ref.canonical_form(ref.LINKS[p], o), ref.functional_form(ref.LINKS[p], o),
             ref.benchmark_key(ref.LINKS[p], o)) for p, o in zip(patterns.tolist(), ops.tolist())]


@pytest.mark.benchmark(group="graph-keys")
def test_graph_keys_core(benchmark, every):
    from nasbench_suite import _core

    patterns, ops = every
    _info(benchmark, "core", SPACE.size, f"all {SPACE.size:,} cells of the full op list, three keys each")
    canon, func, bench, _ = benchmark(_core.graph_keys, patterns, ops)
    expect = _ref_keys(patterns[:REF_CELLS], ops[:REF_CELLS])
    assert bench[:REF_CELLS].tolist() == [b for _, _, b in expect]
    for keys, forms in ((canon, [c for c, _, _ in expect]), (func, [f for _, f, _ in expect])):
        pairs = set(zip(keys[:REF_CELLS].tolist(), forms))
        assert len(pairs) == len(set(forms)) == len(set(keys[:REF_CELLS].tolist()))


@pytest.mark.benchmark(group="graph-keys")
def test_graph_keys_reference(benchmark, every):
    patterns, ops = every
    _info(benchmark, "reference", REF_CELLS, f"first {REF_CELLS:,} cells, plain Python + networkx")
    got = benchmark(_ref_keys, patterns[:REF_CELLS], ops[:REF_CELLS])
    assert len(got) == REF_CELLS
