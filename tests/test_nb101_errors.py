"""Invalid NAS-Bench-101 input: InvalidSpecError (a ValueError) naming the rule.

Patterns are deliberately loose (wording may evolve) but each must name the
rule that was broken.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from nasbench_suite import InvalidSpecError
from nasbench_suite.spaces import nb101

try:  # tests/ may or may not be a package
    from . import reference_nb101 as ref
except ImportError:
    import reference_nb101 as ref

I, O = "input", "output"
C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
R = ref.RULE_PATTERNS


def chain(n):
    """0 -> 1 -> ... -> n-1."""
    m = np.zeros((n, n), dtype=np.uint8)
    for i in range(n - 1):
        m[i, i + 1] = 1
    return m


def chain_ops(n):
    return [I] + [C3] * (n - 2) + [O]


def with_entry(m, i, j, x, dtype=None):
    m = m.astype(dtype or m.dtype)
    m[i, j] = x
    return m


FULL7 = np.triu(np.ones((7, 7), dtype=np.uint8), 1)  # 21 edges

# (id, matrix, ops, rule) -- each spec breaks exactly one rule (names as in
# reference_nb101.ref_error; the message must match RULE_PATTERNS[rule])
CASES = [
    ("disconnected-2", np.zeros((2, 2), np.uint8), [I, O], "disconnected"),
    ("disconnected-gap", with_entry(chain(5), 2, 3, 0), chain_ops(5), "disconnected"),
    ("disconnected-7", np.zeros((7, 7), np.uint8), chain_ops(7), "disconnected"),
    ("too-many-vertices", chain(8), chain_ops(8), "vertices"),
    ("too-many-vertices-12", chain(12), chain_ops(12), "vertices"),
    ("too-many-edges", FULL7, chain_ops(7), "edges"),
    ("too-many-edges-10", np.triu(np.ones((5, 5), np.uint8), 1), chain_ops(5), "edges"),
    ("not-square", np.zeros((3, 2), np.uint8), [I, C3, O], "square"),
    ("not-square-1d", np.zeros(3, np.uint8), [I, C3, O], "square"),
    ("not-square-3d", np.zeros((1, 3, 3), np.uint8), [I, C3, O], "square"),
    ("not-square-ragged", [[0, 1, 0], [0, 0], [0, 0, 0]], [I, C3, O], "square"),
    ("lower-entry", with_entry(chain(4), 3, 1, 1), chain_ops(4), "upper triangular"),
    ("diagonal", with_entry(chain(4), 2, 2, 1), chain_ops(4), "upper triangular"),
    ("diagonal-0", with_entry(chain(3), 0, 0, 1), chain_ops(3), "upper triangular"),
    ("entry-2", with_entry(chain(4), 0, 1, 2), chain_ops(4), "binary"),
    ("entry-2-dangling", with_entry(chain(4), 0, 2, 2), chain_ops(4), "binary"),
    ("entry-0.5", with_entry(chain(4), 0, 3, 0.5, np.float64), chain_ops(4), "binary"),
    ("entry-minus-1", with_entry(chain(4), 1, 3, -1, np.int64), chain_ops(4), "binary"),
    ("entry-1.5-list", [[0, 1.5, 0], [0, 0, 1], [0, 0, 0]], [I, C3, O], "binary"),
    ("first-not-input", chain(4), [C3, C3, C1, O], "first op"),
    ("first-output", chain(3), [O, C3, O], "first op"),
    ("last-not-output", chain(4), [I, C3, C1, MP], "last op"),
    ("last-input", chain(3), [I, C3, I], "last op"),
    ("ops-too-long", chain(3), [I, C3, C1, O], "ops length"),
    ("ops-too-short", chain(4), [I, C3, O], "ops length"),
]

UNKNOWN_OPS = ["conv5x5-bn-relu", "Conv3x3-BN-ReLU", "avgpool3x3", "input", "output", "identity"]


IDS = [c[0] for c in CASES]
RAGGED = ("not-square-1d", "not-square-3d", "not-square-ragged")


def test_invalid_spec_error_is_value_error():
    assert issubclass(InvalidSpecError, ValueError)


@pytest.mark.parametrize("name,matrix,ops,rule", CASES, ids=IDS)
def test_cell_rule_named(name, matrix, ops, rule):
    with pytest.raises(InvalidSpecError, match=R[rule]):
        nb101.Cell(matrix, ops)
    with pytest.raises(ValueError):  # also catchable as ValueError
        nb101.Cell(matrix, ops)


@pytest.mark.parametrize("name,matrix,ops,rule", CASES, ids=IDS)
def test_is_valid_false(name, matrix, ops, rule):
    assert nb101.is_valid(matrix, ops) is False


@pytest.mark.parametrize("name,matrix,ops,rule", CASES, ids=IDS)
def test_reference_agrees_on_case(name, matrix, ops, rule):
    # each case breaks the rule it claims, as the reference sees it
    if name in RAGGED:
        pytest.skip("the reference only handles rectangular 2-D input")
    assert ref.ref_error(np.asarray(matrix), ops) == rule


PRE_PRUNE = [c for c in CASES if c[3] in ("disconnected", "square", "upper triangular", "binary",
                                          "ops length")]


@pytest.mark.parametrize("name,matrix,ops,rule", PRE_PRUNE, ids=[c[0] for c in PRE_PRUNE])
def test_prune_raises_before_pruning_rules(name, matrix, ops, rule):
    # structural rules and disconnection make pruning itself impossible
    with pytest.raises(InvalidSpecError, match=R[rule]):
        nb101.prune(matrix, ops)


@pytest.mark.parametrize("op", UNKNOWN_OPS)
def test_unknown_interior_op_named(op):
    ops = [I, C3, op, C1, O]
    with pytest.raises(InvalidSpecError, match=re.escape(op)) as info:
        nb101.Cell(chain(5), ops)
    assert re.search(R["unknown op"], str(info.value))
    assert nb101.is_valid(chain(5), ops) is False


@pytest.mark.parametrize("op", UNKNOWN_OPS)
def test_unknown_op_on_pruned_vertex_is_fine(op):
    # vertex 2 is not on any input->output path: pruning removes it first
    m = np.zeros((5, 5), dtype=np.uint8)
    m[0, 1] = m[1, 3] = m[3, 4] = 1
    m[0, 2] = 1  # 2 is reachable from input but reaches nothing
    ops = [I, C3, op, C1, O]
    cell = nb101.Cell(m, ops)
    assert nb101.is_valid(m, ops)
    assert cell.pruned_ops == (I, C3, C1, O)
    assert cell.ops == tuple(ops)
    assert cell.hash() == ref.ref_hash(*ref.ref_prune(m, ops))


def test_limits_apply_after_pruning():
    # 8 vertices before pruning, 7 after: valid
    m = np.zeros((8, 8), dtype=np.uint8)
    for a, b in [(0, 1), (1, 2), (2, 4), (4, 5), (5, 6), (6, 7), (0, 3)]:
        m[a, b] = 1  # vertex 3 dangles
    ops = [I, C3, C1, "whatever", MP, C3, C1, O]
    cell = nb101.Cell(m, ops)
    assert cell.num_vertices == 7 and cell.num_edges == 6
    # 12 edges before pruning, 6 after: valid
    m = np.zeros((7, 7), dtype=np.uint8)
    for a, b in [(0, 1), (1, 2), (2, 6), (0, 2), (1, 6), (0, 6), (0, 4), (4, 5), (0, 5), (1, 4),
                 (0, 3), (1, 3)]:
        m[a, b] = 1  # 3, 4, 5 never reach the output
    ops = chain_ops(7)
    assert ref.ref_is_valid(m, ops) and int(m.sum()) == 12
    cell = nb101.Cell(m, ops)
    assert cell.num_vertices == 4 and cell.num_edges == 6  # 0, 1, 2, 6 survive
    # exactly 9 edges and 7 vertices: valid
    m = chain(7)
    for a, b in [(0, 2), (0, 6), (1, 3)]:
        m[a, b] = 1
    assert nb101.Cell(m, chain_ops(7)).num_edges == 9


def test_two_vertex_cell_valid():
    cell = nb101.Cell([[0, 1], [0, 0]], [I, O])
    assert cell.num_vertices == 2 and cell.num_edges == 1
    assert cell.hash() == ref.ref_hash([[0, 1], [0, 0]], [I, O])


# --------------------------------------------------------------------------
# batch calls
# --------------------------------------------------------------------------
RAISING_BATCH = ["hash_many", "canonical_many", "prune_many"]
ALL_BATCH = RAISING_BATCH + ["is_valid_many", "encode_adjacency_many", "encode_path_many"]


def _valid_batch(n_cells=5, v=7):
    rng = np.random.default_rng(0)
    specs = [ref.ref_random_valid_spec(rng, vertices=v) for _ in range(n_cells)]
    mats = np.stack([np.asarray(m, dtype=np.uint8) for m, _ in specs])
    labs = np.array([ref.op_labels(o) for _, o in specs], dtype=np.int64)
    return mats, labs


@pytest.mark.parametrize("fn", ALL_BATCH)
def test_batch_wrong_matrix_ndim(fn):
    mats, labs = _valid_batch()
    with pytest.raises(InvalidSpecError, match=r"(?i)shape|dim|ndim|3-?d"):
        getattr(nb101, fn)(mats[0], labs)
    with pytest.raises(InvalidSpecError, match=r"(?i)shape|dim|ndim|3-?d"):
        getattr(nb101, fn)(mats[..., None], labs)


@pytest.mark.parametrize("fn", ALL_BATCH)
def test_batch_not_square(fn):
    mats, labs = _valid_batch()
    with pytest.raises(InvalidSpecError, match=r"(?i)shape|square"):
        getattr(nb101, fn)(mats[:, :, :6], labs)


@pytest.mark.parametrize("fn", ALL_BATCH)
def test_batch_labels_shape_mismatch(fn):
    mats, labs = _valid_batch()
    for bad in (labs[:, :6], labs[:4], labs[0], np.concatenate([labs, labs[:, :1]], axis=1)):
        with pytest.raises(InvalidSpecError, match=r"(?i)shape|label|match|dim"):
            getattr(nb101, fn)(mats, bad)


@pytest.mark.parametrize("fn", ALL_BATCH)
def test_batch_too_many_original_vertices(fn):
    mats = np.zeros((1, 33, 33), dtype=np.uint8)
    labs = np.zeros((1, 33), dtype=np.int64)
    labs[0, 0], labs[0, -1] = -1, -2
    with pytest.raises(InvalidSpecError, match=r"(?i)32|vert|shape|size"):
        getattr(nb101, fn)(mats, labs)


@pytest.mark.parametrize("fn", ALL_BATCH)
def test_batch_non_numeric_dtype(fn):
    mats, labs = _valid_batch()
    msg = r"(?i)dtype|type|numeric|integer|number"
    with pytest.raises((TypeError, InvalidSpecError), match=msg):
        getattr(nb101, fn)(mats.astype(str), labs)
    with pytest.raises((TypeError, InvalidSpecError), match=msg):
        getattr(nb101, fn)(mats, labs.astype(str))
    with pytest.raises((TypeError, InvalidSpecError), match=msg):
        getattr(nb101, fn)(mats.astype(object), np.array([[None] * 7] * 5, dtype=object))


@pytest.mark.parametrize("fn", RAISING_BATCH)
def test_batch_names_first_invalid_cell(fn):
    mats, labs = _valid_batch(6)
    mats[3] = FULL7  # cell 3: 21 edges
    mats[5, 0, :] = 0  # cell 5: disconnected (also invalid, but later)
    with pytest.raises(InvalidSpecError, match=r"^cell 3: (?i:.*edge)"):
        getattr(nb101, fn)(mats, labs)


@pytest.mark.parametrize("fn", RAISING_BATCH)
@pytest.mark.parametrize(
    "breakage,pattern",
    [
        ("disconnected", R["disconnected"]),
        ("lower", R["upper triangular"]),
        ("entry-2", R["binary"]),
        ("first", R["first op"]),
        ("last", R["last op"]),
        ("unknown-label", R["unknown op"]),
    ],
)
def test_batch_rule_named_with_index(fn, breakage, pattern):
    mats, labs = _valid_batch(4, v=5)
    mats = mats.copy()
    labs = labs.copy()
    k = 2
    mats[k] = chain(5)
    labs[k] = [-1, 0, 1, 2, -2]
    if breakage == "disconnected":
        mats[k, 1, 2] = 0
    elif breakage == "lower":
        mats[k, 3, 1] = 1
    elif breakage == "entry-2":
        mats[k, 2, 3] = 2
    elif breakage == "first":
        labs[k, 0] = 0
    elif breakage == "last":
        labs[k, 4] = 1
    elif breakage == "unknown-label":
        labs[k, 2] = 7
    with pytest.raises(InvalidSpecError) as info:
        getattr(nb101, fn)(mats, labs)
    msg = str(info.value)
    assert msg.startswith("cell 2: "), msg
    assert re.search(pattern, msg[len("cell 2: "):]), msg
    valid = nb101.is_valid_many(mats, labs)
    assert valid.tolist() == [True, True, False, True]


def test_batch_float_entry_half_is_invalid():
    mats, labs = _valid_batch(3)
    mats = mats.astype(np.float64)
    nb101.hash_many(mats, labs)  # 0.0/1.0 floats are fine
    r, c = np.argwhere(mats[1] == 1)[0]
    mats[1, r, c] = 0.5
    with pytest.raises(InvalidSpecError, match=r"^cell 1: ") as info:
        nb101.hash_many(mats, labs)
    assert re.search(R["binary"], str(info.value))
    assert nb101.is_valid_many(mats, labs).tolist() == [True, False, True]


def test_is_valid_many_never_raises_for_invalid_cells():
    mats, labs = _valid_batch(4)
    mats[0] = FULL7
    mats[1, 0, :] = 0
    labs[2, 3] = 55
    mats[3, 5, 2] = 1
    assert nb101.is_valid_many(mats, labs).tolist() == [False] * 4


@pytest.mark.parametrize("v", [7, 5, 2])
def test_empty_batch(v):
    mats = np.zeros((0, v, v), dtype=np.uint8)
    labs = np.zeros((0, v), dtype=np.int64)
    h = nb101.hash_many(mats, labs)
    assert h.shape == (0,) and h.dtype == np.dtype("<U32")
    k = nb101.canonical_many(mats, labs)
    assert k.shape == (0,) and k.dtype == np.uint64
    pm, pl, nv = nb101.prune_many(mats, labs)
    assert pm.shape == (0, 7, 7) and pl.shape == (0, 7) and nv.shape == (0,)
    assert pm.dtype == np.uint8 and pl.dtype == np.int8 and nv.dtype == np.int64
    ok = nb101.is_valid_many(mats, labs)
    assert ok.shape == (0,) and ok.dtype == np.bool_
    a = nb101.encode_adjacency_many(mats, labs)
    assert a.shape == (0, nb101.ADJACENCY_ENCODING_SIZE) and a.dtype == np.float32
    p = nb101.encode_path_many(mats, labs)
    assert p.shape == (0, nb101.PATH_ENCODING_SIZE) and p.dtype == np.float32
    dm, dl, dn = nb101.decode_canonical(np.zeros(0, dtype=np.uint64))
    assert dm.shape == (0, 7, 7) and dl.shape == (0, 7) and dn.shape == (0,)
    assert nb101.hash_many(mats, labs, threads=4).shape == (0,)
