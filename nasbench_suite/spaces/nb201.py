"""NAS-Bench-201 / NATS-Bench topology cells (Dong & Yang, "NAS-Bench-201:
Extending the Scope of Reproducible Neural Architecture Search", ICLR 2020).

A cell has 4 nodes and 6 edges (0->1, 0->2, 1->2, 0->3, 1->3, 2->3, the
arch-string order), each carrying one of the 5 :data:`OPS`. Cells are stored
as 6 op codes (uint8). The official index order is the lexicographic order
shuffled by Python's ``random`` seeded with 88 (see :func:`official_order`).
"""
from __future__ import annotations

import functools
import random
import re
from typing import Sequence

import numpy as np

from .. import _core
from .._errors import InvalidSpecError
from ._arrays import check_rng

#: The 5 edge ops in the official order (NAS-Bench-201 paper, Sec. 2;
#: NATS-Bench ``NAS_BENCH_201``); a cell holds their indices.
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: The 6 edges of the 4-node cell as (from_node, to_node), in the order of a
#: cell's ops and of the arch string.
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = 6
#: Cells in the space: 5 ** 6 = 15,625 (the official indices 0 .. 15,624).
NUM_CELLS = len(OPS) ** NUM_EDGES  # 15,625
ONEHOT_ENCODING_SIZE = NUM_EDGES * len(OPS)
PATH_ENCODING_SIZE = _core.NB201_PATH_FEATURES
_SHUFFLE_SEED = 88  # random.seed(88); random.shuffle(all_archs)
_POW = len(OPS) ** np.arange(NUM_EDGES - 1, -1, -1)  # first edge most significant
_CODE_OF = {op: i for i, op in enumerate(OPS)}
_NODE = re.compile(r"^([A-Za-z0-9_]+)~(\d+)$")

__all__ = [
    "Cell", "OPS", "EDGES", "NUM_CELLS", "arch_string", "index_of", "official_order",
    "sample", "mutate", "neighbours", "isomorphism_classes", "functional_classes", "encode",
]


def _lex_code(codes: np.ndarray) -> np.ndarray:
    return np.asarray(codes, dtype=np.int64) @ _POW


def _codes_of_lex(lex) -> np.ndarray:
    lex = np.asarray(lex, dtype=np.int64)
    return ((lex[..., None] // _POW) % len(OPS)).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def official_order() -> np.ndarray:
    """Official index -> lexicographic code, int64 (15,625,), read-only.

    The authors generate every cell with edges in arch-string order (first
    edge most significant, ops in :data:`OPS` order) and shuffle the list with
    ``random.seed(88); random.shuffle(...)``. A private ``random.Random(88)``
    reproduces it without touching the global generator.
    """
    order = list(range(NUM_CELLS))
    random.Random(_SHUFFLE_SEED).shuffle(order)
    out = np.array(order, dtype=np.int64)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=1)
def _index_of_lex() -> np.ndarray:
    inv = np.empty(NUM_CELLS, dtype=np.int64)
    inv[official_order()] = np.arange(NUM_CELLS)
    inv.setflags(write=False)
    return inv


def _parse(arch: str) -> np.ndarray:
    if not isinstance(arch, str):
        raise InvalidSpecError(f"an NB201 arch string must be a str, got {type(arch).__name__}")
    text = arch.strip()
    parts = text.split("+")
    if len(parts) != 3:
        raise InvalidSpecError(
            f"arch string {arch!r} must have 3 '+'-separated node groups "
            "like |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
        )
    codes = []
    for node, part in enumerate(parts, start=1):
        if not (part.startswith("|") and part.endswith("|")):
            raise InvalidSpecError(f"arch string {arch!r}: node group {part!r} must start and end with '|'")
        items = part[1:-1].split("|")
        if len(items) != node:
            raise InvalidSpecError(
                f"arch string {arch!r}: node {node} must have {node} incoming edge(s), got {len(items)}"
            )
        for src, item in enumerate(items):
            m = _NODE.match(item)
            if not m:
                raise InvalidSpecError(f"arch string {arch!r}: edge {item!r} is not of the form op~source")
            op = m.group(1)
            if op not in _CODE_OF:
                raise InvalidSpecError(f"arch string {arch!r}: unknown op {op!r} (ops: {', '.join(OPS)})")
            if m.group(2) != str(src):
                raise InvalidSpecError(
                    f"arch string {arch!r}: edge {item!r} into node {node} must come from node {src}"
                )
            codes.append(_CODE_OF[op])
    return np.array(codes, dtype=np.uint8)


class Cell:
    """An NB201 cell: 6 ops in arch-string edge order (names or codes 0..4)."""

    __slots__ = ("_codes", "_key")

    def __init__(self, ops: Sequence):
        if isinstance(ops, str):
            raise InvalidSpecError("use Cell.from_string for an arch string")
        ops = list(ops)
        if len(ops) != NUM_EDGES:
            raise InvalidSpecError(f"an NB201 cell has {NUM_EDGES} edges, got {len(ops)} ops")
        codes = []
        for op in ops:
            if isinstance(op, str):
                if op not in _CODE_OF:
                    raise InvalidSpecError(f"unknown op {op!r} (ops: {', '.join(OPS)})")
                codes.append(_CODE_OF[op])
            else:
                code = int(op)
                if not 0 <= code < len(OPS) or code != op:
                    raise InvalidSpecError(f"op code {op!r} is not an integer in 0..{len(OPS) - 1}")
                codes.append(code)
        self._codes = np.array(codes, dtype=np.uint8)
        self._codes.setflags(write=False)
        self._key = None

    @classmethod
    def _from_codes(cls, codes) -> "Cell":
        cell = cls.__new__(cls)
        cell._codes = np.array(codes, dtype=np.uint8)
        cell._codes.setflags(write=False)
        cell._key = None
        return cell

    @classmethod
    def from_string(cls, arch: str) -> "Cell":
        """Parses an arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (ops
        of :data:`OPS`, edges in :data:`EDGES` order); InvalidSpecError if it
        is malformed."""
        return cls._from_codes(_parse(arch))

    @classmethod
    def from_index(cls, index: int) -> "Cell":
        """The cell at an official index."""
        return cls._from_codes(_codes_of_lex(official_order()[_check_index(index)]))

    @property
    def codes(self) -> np.ndarray:
        """The 6 op codes (indices into :data:`OPS`), edge order of
        :data:`EDGES`: uint8, read-only."""
        return self._codes

    @property
    def ops(self) -> tuple[str, ...]:
        """The 6 op names, edge order of :data:`EDGES`."""
        return tuple(OPS[c] for c in self._codes)

    def to_string(self) -> str:
        """The official arch string (what :meth:`from_string` parses)."""
        o = self.ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def index(self) -> int:
        """The official index."""
        return int(_index_of_lex()[int(_lex_code(self._codes))])

    def is_connected(self) -> bool:
        """Whether some input-to-output path avoids ``none`` edges."""
        return bool(_core.nb201_canonical(self._codes[None])[1][0])

    def canonical_key(self) -> int:
        """Exact canonical form of the op-on-node DAG (0 when disconnected)."""
        if self._key is None:
            c = self._codes.tolist()
            lex = ((((c[0] * 5 + c[1]) * 5 + c[2]) * 5 + c[3]) * 5 + c[4]) * 5 + c[5]
            self._key = _keys_by_lex()[lex]
        return self._key

    def is_isomorphic(self, other: "Cell") -> bool:
        """Same network: isomorphic pruned op-on-node DAGs (both disconnected counts too)."""
        return self.canonical_key() == other.canonical_key()

    def functional_key(self) -> int:
        """Exact canonical form of the cell as a network (0 when disconnected).

        Coarser than :meth:`canonical_key`: ``skip_connect`` is contracted as
        the identity (with edge multiplicities, x + x is not x) and
        ``avg_pool_3x3`` nodes with equal inputs are merged; see
        :func:`functional_classes` for the rule. Equal keys iff the same
        network. A lookup in a table computed once for all 15,625 cells.
        """
        c = self._codes.tolist()
        lex = ((((c[0] * 5 + c[1]) * 5 + c[2]) * 5 + c[3]) * 5 + c[4]) * 5 + c[5]
        return _functional_keys_by_lex()[lex]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        return bytes(self._codes) == bytes(other._codes)

    def __hash__(self) -> int:
        return hash(bytes(self._codes))

    def __repr__(self) -> str:
        return f"nb201.Cell.from_string({self.to_string()!r})"


@functools.lru_cache(maxsize=1)
def _keys_by_lex() -> list:
    """Canonical keys of every cell by lexicographic code (computed once, ~15 ms)."""
    keys, _ = _core.nb201_canonical(_codes_of_lex(np.arange(NUM_CELLS)))
    return [int(k) for k in keys]


def _check_index(index) -> int:
    i = int(index)
    if i != index or not 0 <= i < NUM_CELLS:
        raise InvalidSpecError(f"NB201 index must be an integer in 0..{NUM_CELLS - 1}, got {index!r}")
    return i


def arch_string(index: int) -> str:
    """The arch string of an official index."""
    return Cell.from_index(index).to_string()


def index_of(arch: str) -> int:
    """The official index of an arch string."""
    return Cell.from_string(arch).index()


def sample(rng: np.random.Generator) -> Cell:
    """A uniformly random cell (each edge's op uniform over the 5 ops)."""
    check_rng(rng)
    return Cell._from_codes(rng.integers(0, len(OPS), size=NUM_EDGES))


def mutate(cell: Cell, rng: np.random.Generator) -> Cell:
    """One uniformly chosen edge changed to a uniformly chosen different op
    (the REA mutation of the NB201 paper)."""
    check_rng(rng)
    codes = cell.codes.copy()
    edge = int(rng.integers(NUM_EDGES))
    other = int(rng.integers(len(OPS) - 1))
    codes[edge] = other + (other >= codes[edge])
    return Cell._from_codes(codes)


def neighbours(cell: Cell) -> list[Cell]:
    """The 24 cells one edge away, edges in order, ops in :data:`OPS` order."""
    out = []
    for e in range(NUM_EDGES):
        for op in range(len(OPS)):
            if op != cell.codes[e]:
                codes = cell.codes.copy()
                codes[e] = op
                out.append(Cell._from_codes(codes))
    return out


def all_codes() -> np.ndarray:
    """Op codes of every cell in official index order, uint8 (15,625, 6)."""
    return _codes_of_lex(official_order())


def isomorphism_classes() -> np.ndarray:
    """Each cell's class under exact isomorphism, in official index order.

    Two cells share a class iff their op-on-node DAGs (input, one node per
    non-``none`` edge labelled by its op, ``skip_connect`` kept, output;
    pruned to input-output paths) are isomorphic with labels. Classes are
    numbered 0.. in order of first appearance; the 341 disconnected cells get -1.
    """
    keys, connected = _core.nb201_canonical(all_codes())
    _, first, inverse = np.unique(keys[connected], return_index=True, return_inverse=True)
    # Renumber classes by their first official index.
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    classes = np.full(NUM_CELLS, -1, dtype=np.int64)
    classes[connected] = rank[inverse.reshape(-1)]
    return classes


@functools.lru_cache(maxsize=1)
def _functional_keys_by_lex() -> list:
    """Functional keys of every cell by lexicographic code (computed once, ~10 ms)."""
    keys = _core.nb201_functional(_codes_of_lex(np.arange(NUM_CELLS)))
    return [int(k) for k in keys]


@functools.lru_cache(maxsize=1)
def functional_classes() -> np.ndarray:
    """Each cell's class under functional identity, in official index order.

    Functional identity (REFERENCE.md, NB201 "Functional identity"; issue 14):
    build the op-on-node DAG (input, one node per non-``none`` edge, output;
    a node's input is the *sum* of its predecessors' outputs) and prune it
    to input-output paths; contract every ``skip_connect`` node (each
    predecessor -> successor pair gets an edge whose multiplicity is the
    product of the two, added to any edge already there: x + x is not x);
    then merge ``avg_pool_3x3`` nodes whose inputs (multiset of predecessor,
    multiplicity) are equal, adding their out-edge multiplicities, until
    nothing changes. Convs never merge (each has its own weights). Two cells
    are the same network iff the resulting op-labelled, multiplicity-weighted
    DAGs are isomorphic (:meth:`Cell.functional_key`).

    Every class is a union of :func:`isomorphism_classes` classes: the
    15,284 connected cells form 5,259 networks (8,764 DAG classes). As in
    :func:`isomorphism_classes`, classes are numbered 0.. in order of first
    appearance and the 341 disconnected cells get -1. int64 (15,625,),
    read-only, computed once.
    """
    keys = np.asarray(_functional_keys_by_lex(), dtype=np.uint64)[official_order()]
    connected = keys != 0
    _, first, inverse = np.unique(keys[connected], return_index=True, return_inverse=True)
    # Renumber classes by their first official index.
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    classes = np.full(NUM_CELLS, -1, dtype=np.int64)
    classes[connected] = rank[inverse.reshape(-1)]
    classes.setflags(write=False)
    return classes


def encode(cells: Sequence[Cell], kind: str = "onehot") -> np.ndarray:
    """``"onehot"``: (N, 30) one-hot ops per edge; ``"path"``: (N, 84) path
    encoding (one feature per op sequence along an input-output path of
    non-``none`` edges, as BANANAS does for NB101)."""
    codes = np.array([c.codes for c in cells], dtype=np.uint8).reshape(-1, NUM_EDGES)
    if kind == "onehot":
        out = np.zeros((len(codes), NUM_EDGES, len(OPS)), dtype=np.float32)
        np.put_along_axis(out, codes[..., None].astype(np.int64), 1.0, axis=2)
        return out.reshape(len(codes), NUM_EDGES * len(OPS))
    if kind == "path":
        return _core.nb201_encode_path(codes)
    raise ValueError(f"unknown encoding kind {kind!r}; use 'onehot' or 'path'")


# ---------------------------------------------------------------- the protocol
from .base import SearchSpace, index_keys  # noqa: E402  (base imports nothing of this module)


class NB201Space(SearchSpace):
    """NAS-Bench-201 as a :class:`~nasbench_suite.spaces.base.SearchSpace`:
    cells are 6 op codes, labelled by their arch string, indexed in the
    official order; tables may keep one row per isomorphism class."""

    name = "nb201"
    title = "NAS-Bench-201"
    cell_type = Cell
    size = NUM_CELLS
    encodings = ("onehot", "path")
    predictor_encoding = "path"
    table_description = ("index", "ops", "canonical")
    class_lookup = True
    # Regularized evolution as in the NB201 paper (population 10, sample 3).
    strategy_defaults = {"regularized_evolution": {"population_size": 10, "sample_size": 3}}

    def parse(self, spec) -> Cell:
        if isinstance(spec, Cell):
            return spec
        if isinstance(spec, bytes):
            spec = spec.decode()
        if isinstance(spec, str):
            return Cell.from_string(spec)
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return Cell.from_index(spec)
        if isinstance(spec, dict) and "index" in spec:
            return self.parse(spec["index"])
        raise InvalidSpecError(
            f"cannot use {spec!r} as an NB201 cell: give an nb201.Cell, an arch string or an official index"
        )

    def label(self, cell: Cell) -> str:
        return cell.to_string()

    def sample(self, rng) -> Cell:
        if hasattr(rng, "below"):  # a strategy's Stream: six draws, no numpy call
            return Cell._from_codes([rng.below(5) for _ in range(NUM_EDGES)])
        return sample(rng)

    def mutate(self, cell: Cell, rng) -> Cell:
        if hasattr(rng, "below"):
            codes = cell.codes.tolist()
            edge, other = rng.below(NUM_EDGES), rng.below(len(OPS) - 1)
            codes[edge] = other + (other >= codes[edge])
            return Cell._from_codes(codes)
        return mutate(cell, getattr(rng, "generator", rng))

    def neighbours(self, cell: Cell) -> list:
        return neighbours(cell)

    def canonical(self, cell: Cell) -> int:
        return cell.canonical_key()

    def functional(self, cell: Cell) -> int:
        """Same network: skip_connect contracted, equal pools merged (:func:`functional_classes`)."""
        return cell.functional_key()

    def encode(self, cells, kind: str | None = None) -> np.ndarray:
        return encode(cells, kind or self.encodings[0])

    def categorical(self, cell: Cell) -> np.ndarray:
        """The 6 op codes."""
        return cell.codes.astype(np.int64)

    def categorical_sizes(self) -> np.ndarray:
        return np.full(NUM_EDGES, len(OPS))

    def from_categorical(self, x) -> Cell:
        return Cell(list(int(v) for v in x))

    # ---- enumeration and tables
    def index(self, cell: Cell) -> int:
        return cell.index()

    def from_index(self, index: int) -> Cell:
        return Cell.from_index(index)

    def all_canonical_keys(self) -> np.ndarray:
        keys, _ = _core.nb201_canonical(all_codes())  # disconnected cells: key 0
        return keys

    def table_cells(self, cells) -> list:
        return [Cell.from_index(i) for i in self.indices(cells)]

    def table_describe(self, cells: list) -> dict:
        idx = np.array([c.index() for c in cells], dtype=np.int64)
        codes = np.array([c.codes for c in cells], dtype=np.uint8).reshape(-1, NUM_EDGES)
        keys, _ = _core.nb201_canonical(codes)
        return {"key": index_keys(idx), "index": idx, "ops": codes, "canonical": keys}

    def table_label(self, arrays: dict, row: int) -> str:
        return arch_string(int(arrays["index"][row]))


SPACE = NB201Space()
