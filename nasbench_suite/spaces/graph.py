"""NAS-Bench-Graph (Qin et al., "NAS-Bench-Graph: Benchmarking Graph Neural
Architecture Search", NeurIPS 2022 Datasets and Benchmarks; THUMNLab/NAS-Bench-Graph).

A GNN is a macro DAG of 4 layers. Layer k (node k + 1; node 0 is the input
graph's features) applies one op to the output of the node ``link[k]``
(``link[k] <= k``), so every layer has one input and the DAG is a tree
rooted at the input; every leaf (a node no layer reads) feeds the output,
which adds them. The package lists the 9 link patterns (the 9 rooted trees
of 4 layers, :data:`LINKS`) and two op lists: :data:`OPS` (9 ops, 8 datasets)
and :data:`OPS_PROTEINS` (5 ops, the proteins dataset).

**Cells.** A raw choice is a link pattern and one op per layer: 9 x 9^4 =
59,049 choices on the full list, 9 x 5^4 = 5,625 on the proteins list. The
9 choices whose 4 ops are all ``skip`` compute nothing (the output is the
input) and are refused, so the spaces hold **59,040** and **5,616** cells.
Labels read ``"0,0,1,2|gcn,gat,skip,fc"`` (the link list, then the ops);
the index is ``pattern * (n^4 - 1) + c`` where c is the base-n value of the
op codes, first layer most significant (the all-skip choice, c = n^4 - 1,
is the one left out).

**Three keys**, all computed in the compiled core (``_core.graph_keys``):

- :meth:`GraphSpace.canonical`: the exact canonical form of the labelled
  DAG (a rooted tree, children unordered): 35,910 classes on the full list
  (35,919 counting the 9 all-skip choices), 3,561 on the proteins list.
- :meth:`GraphSpace.functional`: ``skip`` contracted as the identity (its
  readers read its input; a skip leaf makes its input feed the output), the
  output's inputs counted with multiplicity: 27,934 networks (27,938 with the
  all-skip choices), 2,293 on the proteins list.
- :meth:`GraphSpace.benchmark_key`: the package's own folding
  (``Arch.valid_hash()``: its ``move_skip_op``, the renaming of two link
  lists, ``equalpart_sort``, then the link-pattern index and the 4 full-list
  op codes in base 10): 26,206 keys on the full list and 2,021 on the
  proteins list, exactly the keys of the ``.bench`` files. Tables of this
  space look rows up by this key (class lookup, docs/FORMAT.md), so every
  raw choice resolves to the row the package gives it.

The benchmark key is coarser than the functional key: every network in which
the input feeds the output through skips (1,728 networks, the cells of
:meth:`GraphSpace.input_in_output`) is mapped by the package to the row of
another network (``skip`` moved in front, where it no longer reaches the
output). ``reports/graph/README.md`` gives the counts and examples
(``scripts/graph_counts.py``).
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from .. import _core
from .._errors import InvalidSpecError
from .base import SearchSpace, index_keys

#: The 9 link patterns in the package's order (``link_list``): entry k is the
#: node layer k reads (0: the input, j: layer j - 1).
LINKS = ((0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
         (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3))
#: The full op list (``gnn_list``): GAT (2 heads), GCN, GIN, ChebNet, GraphSAGE,
#: ARMA, k-GNN ("graph"), a fully-connected layer, and the identity.
OPS = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: The proteins op list (``gnn_list_proteins``).
OPS_PROTEINS = ("gcn", "sage", "arma", "fc", "skip")
#: The identity op.
SKIP = "skip"
#: Layers per network (4).
NUM_LAYERS = 4
#: Link patterns (9).
NUM_PATTERNS = len(LINKS)

_FULL_CODE = {op: i for i, op in enumerate(OPS)}
_PATTERN_OF = {link: p for p, link in enumerate(LINKS)}

__all__ = ["Cell", "GraphSpace", "LINKS", "NUM_LAYERS", "NUM_PATTERNS", "OPS", "OPS_PROTEINS", "SKIP"]


class Cell:
    """A NAS-Bench-Graph architecture: a link pattern (index into
    :data:`LINKS`) and the op name of each of the 4 layers. Immutable;
    hashable; equal iff the same raw choice."""

    __slots__ = ("pattern", "ops")

    def __init__(self, link, ops: Sequence[str]):
        if isinstance(link, (int, np.integer)) and not isinstance(link, bool):
            if not 0 <= link < NUM_PATTERNS:
                raise InvalidSpecError(f"link pattern {link} is outside 0..{NUM_PATTERNS - 1}")
            pattern = int(link)
        else:
            try:
                key = tuple(int(v) for v in link)
            except (TypeError, ValueError):
                raise InvalidSpecError(f"a NAS-Bench-Graph link is a list of {NUM_LAYERS} node indices or a "
                                       f"pattern index, got {link!r}") from None
            if key not in _PATTERN_OF:
                raise InvalidSpecError(
                    f"link {list(key)} is not one of the 9 link patterns "
                    f"({', '.join(str(list(x)) for x in LINKS)}); write an equivalent DAG in one of them")
            pattern = _PATTERN_OF[key]
        if isinstance(ops, (str, bytes)):
            raise InvalidSpecError(f"ops must be a list of {NUM_LAYERS} op names, got the string {ops!r}")
        try:
            names = tuple(ops)
        except TypeError:
            raise InvalidSpecError(f"ops must be a list of {NUM_LAYERS} op names, got {ops!r}") from None
        if len(names) != NUM_LAYERS:
            raise InvalidSpecError(f"a NAS-Bench-Graph cell has {NUM_LAYERS} layers, got {len(names)} ops")
        for k, op in enumerate(names):
            if op not in _FULL_CODE:
                raise InvalidSpecError(f"layer {k}: unknown op {op!r} (ops: {', '.join(OPS)})")
        if all(op == SKIP for op in names):
            raise InvalidSpecError("all 4 layers are 'skip': the network would be the identity, which the "
                                   "benchmark does not define; make at least one layer another op")
        self.pattern, self.ops = pattern, names

    @property
    def link(self) -> tuple[int, ...]:
        """The link list: the node each layer reads (0 = the input)."""
        return LINKS[self.pattern]

    def full_codes(self) -> tuple[int, ...]:
        """The op codes in the full list (:data:`OPS`)."""
        return tuple(_FULL_CODE[op] for op in self.ops)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        return self.pattern == other.pattern and self.ops == other.ops

    def __hash__(self) -> int:
        return hash(("graph", self.pattern, self.ops))

    def __repr__(self) -> str:
        return f"graph.Cell({list(self.link)}, {list(self.ops)})"


def _new(pattern: int, ops: tuple) -> Cell:
    c = Cell.__new__(Cell)
    c.pattern, c.ops = pattern, ops
    return c


class GraphSpace(SearchSpace):
    """NAS-Bench-Graph on one op list as a
    :class:`~nasbench_suite.spaces.base.SearchSpace` (see the module
    docstring): raw choices as cells, indexed, with class-lookup tables keyed
    by the package's benchmark key."""

    cell_type = Cell
    encodings = ("onehot",)
    predictor_encoding = "onehot"
    table_description = ("index", "pattern", "ops", "canonical")
    class_lookup = True
    # Neither the paper nor the package publishes regularized-evolution settings;
    # NB201's (population 10, tournament 3; Dong & Yang 2020) fit a space of the
    # same order of size searched by one-position mutations.
    strategy_defaults = {"regularized_evolution": {"population_size": 10, "sample_size": 3}}

    def __init__(self, name: str, title: str, ops: tuple[str, ...]):
        self.name, self.title, self.op_list = name, title, ops
        self._n = len(ops)
        self._per_pattern = self._n ** NUM_LAYERS - 1  # the all-skip choice (the last code) left out
        self.size = NUM_PATTERNS * self._per_pattern
        self._code = {op: i for i, op in enumerate(ops)}
        if ops[-1] != SKIP:
            raise ValueError("the op list must end with 'skip' (its all-skip code is the one left out)")
        self._full_of = np.array([_FULL_CODE[op] for op in ops], dtype=np.uint8)

    # ------------------------------------------------------------ arrays of every cell
    @functools.cached_property
    def _codes(self) -> np.ndarray:
        """(size, 4) uint8 op codes (this space's list) of every cell in index order."""
        c = np.arange(self._per_pattern, dtype=np.int64)[:, None]
        per = (c // self._n ** np.arange(NUM_LAYERS - 1, -1, -1) % self._n).astype(np.uint8)
        out = np.tile(per, (NUM_PATTERNS, 1))
        out.setflags(write=False)
        return out

    @functools.cached_property
    def _patterns(self) -> np.ndarray:
        out = np.repeat(np.arange(NUM_PATTERNS, dtype=np.int64), self._per_pattern)
        out.setflags(write=False)
        return out

    @functools.cached_property
    def _keys(self) -> tuple:
        """(canonical, functional, benchmark, input_in_output) of every cell, from the core."""
        keys = _core.graph_keys(self._patterns, self._full_of[self._codes])
        for k in keys:
            k.setflags(write=False)
        return keys

    def keys_of(self, indices) -> dict:
        """The core's keys of cells given by index (an int array), batched:
        ``canonical``, ``functional`` (uint64), ``benchmark`` (int64, the
        package's hash) and ``input_in_output`` (bool)."""
        idx = np.asarray(indices, dtype=np.int64)
        c, f, b, io = _core.graph_keys(self._patterns[idx], self._full_of[self._codes[idx]])
        return {"canonical": c, "functional": f, "benchmark": b, "input_in_output": io}

    # ------------------------------------------------------------ cells
    def _check(self, cell: Cell) -> Cell:
        for op in cell.ops:
            if op not in self._code:
                raise InvalidSpecError(f"op {op!r} is not in the {self.title} op list ({', '.join(self.op_list)})")
        return cell

    def parse(self, spec) -> Cell:
        if isinstance(spec, Cell):
            return self._check(spec)
        if isinstance(spec, bytes):
            spec = spec.decode("ascii", "replace")
        if isinstance(spec, str):
            return self._check(self._from_label(spec))
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return self.from_index(spec)
        if isinstance(spec, dict) and "index" in spec:
            return self.from_index(spec["index"])
        if isinstance(spec, dict) and "link" in spec and "ops" in spec:
            return self._check(Cell(spec["link"], spec["ops"]))
        if isinstance(spec, (list, tuple)) and len(spec) == 2:
            return self._check(Cell(spec[0], spec[1]))
        raise InvalidSpecError(f"cannot use {type(spec).__name__} {spec!r} as a {self.title} cell: give a "
                               "graph.Cell, a label such as '0,0,1,2|gcn,gat,skip,fc', an index, "
                               "{'link': [...], 'ops': [...]} or (link, ops)")

    def _from_label(self, text: str) -> Cell:
        link, sep, ops = text.strip().partition("|")
        if not sep:
            raise InvalidSpecError(f"a {self.title} label is 'link|ops', e.g. '0,0,1,2|gcn,gat,skip,fc'; "
                                   f"got {text!r}")
        try:
            nodes = [int(v) for v in link.split(",")]
        except ValueError:
            raise InvalidSpecError(f"label {text!r}: the link {link!r} must be {NUM_LAYERS} integers "
                                   "separated by commas") from None
        return Cell(nodes, [op.strip() for op in ops.split(",")])

    def label(self, cell: Cell) -> str:
        return ",".join(map(str, cell.link)) + "|" + ",".join(cell.ops)

    # ------------------------------------------------------------ randomness
    def sample(self, rng) -> Cell:
        """Uniform over the cells (link pattern and ops uniform, all-skip refused)."""
        if hasattr(rng, "below"):
            return self.from_index(rng.below(self.size))
        return self.from_index(int(rng.integers(self.size)))

    def _neighbour_indices(self, i: int) -> list:
        p, c = divmod(int(i), self._per_pattern)
        out = [q * self._per_pattern + c for q in range(NUM_PATTERNS) if q != p]
        for k in range(NUM_LAYERS):
            w = self._n ** (NUM_LAYERS - 1 - k)
            old = (c // w) % self._n
            for new in range(self._n):
                if new != old:
                    d = c + (new - old) * w
                    if d != self._per_pattern:  # the all-skip choice
                        out.append(p * self._per_pattern + d)
        return out

    def mutate(self, cell: Cell, rng) -> Cell:
        """A uniformly chosen neighbour (:meth:`neighbours`): another link
        pattern, or one layer's op changed to another."""
        nbrs = self._neighbour_indices(self.index(cell))
        k = rng.below(len(nbrs)) if hasattr(rng, "below") else int(rng.integers(len(nbrs)))
        return self.from_index(nbrs[k])

    def neighbours(self, cell: Cell) -> list:
        """The other 8 link patterns with the same ops, then each layer's op
        changed to each other op (layers in order, ops in list order); the
        all-skip choice is left out."""
        return [self.from_index(j) for j in self._neighbour_indices(self.index(cell))]

    # ------------------------------------------------------------ identity
    def canonical(self, cell: Cell) -> int:
        """The exact labelled-DAG canonical key (isomorphic raw choices are equal)."""
        return int(self._keys[0][self.index(cell)])

    def functional(self, cell: Cell) -> int:
        """Equal iff the same network: skip layers contracted as the identity."""
        return int(self._keys[1][self.index(cell)])

    def benchmark_key(self, cell: Cell) -> int:
        """The package's ``valid_hash()`` of the cell: the key of its row in the ``.bench`` files."""
        return int(self._keys[2][self.index(cell)])

    def input_in_output(self, cell: Cell) -> bool:
        """Whether the input feeds the output through skip layers (networks the data does not hold)."""
        return bool(self._keys[3][self.index(cell)])

    def from_benchmark_key(self, key: int) -> Cell:
        """The cell a ``.bench`` key names (link-pattern index, then the 4
        full-list op codes, base 10), which must be in the package's folded
        form (its own benchmark key). Raises InvalidSpecError."""
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or not 0 <= key < NUM_PATTERNS * 10 ** 4:
            raise InvalidSpecError(f"a NAS-Bench-Graph key is an integer in 0..{NUM_PATTERNS * 10 ** 4 - 1}, "
                                   f"got {key!r}")
        digits = [int(key) // 10 ** (NUM_LAYERS - k) % 10 for k in range(NUM_LAYERS + 1)]
        if any(d >= len(OPS) for d in digits[1:]):
            raise InvalidSpecError(f"key {key}: an op digit is 9, past the {len(OPS)} ops")
        cell = self.parse(Cell(digits[0], [OPS[d] for d in digits[1:]]))
        if self.benchmark_key(cell) != key:
            raise InvalidSpecError(f"key {key} ({self.label(cell)}) is not in the package's folded form; its "
                                   f"key is {self.benchmark_key(cell)}")
        return cell

    # ------------------------------------------------------------ encodings
    def encode(self, cells, kind: str | None = None) -> np.ndarray:
        """``"onehot"``: (N, 9 + 4 n) float32, the link pattern one-hot, then
        each layer's op one-hot (n ops of this space's list)."""
        kind = kind or self.encodings[0]
        if kind != "onehot":
            raise ValueError(f"unknown encoding kind {kind!r}; {self.title} has 'onehot'")
        idx = np.fromiter((self.index(c) for c in cells), dtype=np.int64)
        out = np.zeros((idx.size, NUM_PATTERNS + NUM_LAYERS * self._n), dtype=np.float32)
        rows = np.arange(idx.size)
        out[rows, self._patterns[idx]] = 1.0
        codes = self._codes[idx].astype(np.int64)
        for k in range(NUM_LAYERS):
            out[rows, NUM_PATTERNS + k * self._n + codes[:, k]] = 1.0
        return out

    def categorical(self, cell: Cell) -> np.ndarray:
        """(pattern, op code of each layer in this space's list)."""
        return np.array([cell.pattern, *(self._code[op] for op in cell.ops)], dtype=np.int64)

    def categorical_sizes(self) -> np.ndarray:
        return np.array([NUM_PATTERNS] + [self._n] * NUM_LAYERS)

    def from_categorical(self, x) -> Cell | None:
        try:
            v = [int(a) for a in x]
            if len(v) != NUM_LAYERS + 1 or not all(0 <= a < self._n for a in v[1:]):
                return None
            return Cell(v[0], [self.op_list[a] for a in v[1:]])
        except (InvalidSpecError, TypeError, ValueError):
            return None

    # ------------------------------------------------------------ enumeration and tables
    def index(self, cell: Cell) -> int:
        c = 0
        for op in cell.ops:
            code = self._code.get(op)
            if code is None:
                raise InvalidSpecError(f"op {op!r} is not in the {self.title} op list ({', '.join(self.op_list)})")
            c = c * self._n + code
        return cell.pattern * self._per_pattern + c

    def from_index(self, index) -> Cell:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise InvalidSpecError(f"a {self.title} index must be an integer in 0..{self.size - 1}, "
                                   f"got {type(index).__name__} {index!r}")
        if not 0 <= index < self.size:
            raise self._outside(int(index))
        p, c = divmod(int(index), self._per_pattern)
        return _new(p, tuple(self.op_list[k] for k in self._codes[c].tolist()))

    def all_canonical_keys(self) -> np.ndarray:
        """The class key of every cell in index order: 1 + the package's
        benchmark key (never 0), so a table row answers for every raw choice
        the package maps to it."""
        return self._keys[2].astype(np.uint64) + np.uint64(1)

    def table_describe(self, cells: list) -> dict:
        idx = np.fromiter((self.index(c) for c in cells), dtype=np.int64, count=len(cells))
        return {"key": index_keys(idx), "index": idx, "pattern": self._patterns[idx].copy(),
                "ops": self._codes[idx].copy(),
                "canonical": self._keys[2][idx].astype(np.uint64) + np.uint64(1)}

    def table_find_one(self, index, cell) -> int:
        if type(cell) is Cell:
            return index.find_one(self.index(cell), 0)
        return super().table_find_one(index, cell)

    def table_label(self, arrays: dict, row: int) -> str:
        return self.label(self.from_index(int(arrays["index"][row])))


SPACE = GraphSpace("graph", "NAS-Bench-Graph", OPS)
PROTEINS = GraphSpace("graph_proteins", "NAS-Bench-Graph (proteins ops)", OPS_PROTEINS)
