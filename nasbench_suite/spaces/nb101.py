"""NAS-Bench-101 cells (Ying et al., "NAS-Bench-101: Towards Reproducible
Neural Architecture Search", ICML 2019; google-research/nasbench).

A cell is a DAG on at most 7 vertices given as a strictly upper-triangular 0/1
adjacency matrix and one op per vertex: ``input`` first, ``output`` last,
interior ops from :data:`OPS`. Validation, pruning, the official module hash,
exact canonical forms, enumeration, sampling, mutation and encodings run in
the compiled core; batch functions take numpy arrays in the official labelling
(-1 input, 0/1/2 interior op index, -2 output).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .. import _core
from .._errors import InvalidSpecError
from ._arrays import int_labels, matrix_codes, seed_from

#: The op label of a cell's first vertex.
INPUT = "input"
#: The op label of a cell's last vertex.
OUTPUT = "output"
#: Interior ops in the official order; their index is the hash label
#: (nasbench/lib/config.py: available_ops).
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
LABEL_INPUT = -1
LABEL_OUTPUT = -2
PAD_LABEL = -3
MAX_VERTICES = 7  # module_vertices
MAX_EDGES = 9  # max_edges
ADJACENCY_ENCODING_SIZE = _core.NB101_ADJACENCY_FEATURES
PATH_ENCODING_SIZE = _core.NB101_PATH_FEATURES

_LABEL_OF = {INPUT: LABEL_INPUT, OUTPUT: LABEL_OUTPUT, **{op: i for i, op in enumerate(OPS)}}
_NAME_OF = {v: k for k, v in _LABEL_OF.items()}
_UNKNOWN = 99  # label for an op name the space does not know

__all__ = [
    "Cell", "Enumeration", "InvalidSpecError", "OPS", "INPUT", "OUTPUT",
    "canonical_many", "decode_canonical", "encode", "encode_adjacency_many",
    "encode_path_many", "enumerate_space", "hash_many", "is_valid", "is_valid_many",
    "mutate", "neighbours", "one_change", "prune", "prune_many", "sample", "sample_many",
]


def _labels_of(ops: Sequence[str]) -> np.ndarray:
    if isinstance(ops, str):
        raise InvalidSpecError("ops must be a sequence of op names, not one string")
    return np.array([_LABEL_OF.get(op, _UNKNOWN) for op in ops], dtype=np.int64)


def _names_of(labels: Iterable[int]) -> tuple[str, ...]:
    return tuple(_NAME_OF.get(int(label), f"<label {int(label)}>") for label in labels)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


class Cell:
    """A valid NAS-Bench-101 cell.

    ``Cell(matrix, ops)`` validates with the official rules and prunes the
    vertices that lie on no input-to-output path; invalid input raises
    :class:`~nasbench_suite.InvalidSpecError` naming the rule broken. The
    original matrix and ops are kept (mutation acts on them, as in the
    official notebook); identity, hashing and encodings use the pruned cell.
    """

    __slots__ = ("_matrix", "_ops", "_olab", "_pm", "_pl", "_key")

    def __init__(self, matrix, ops: Sequence[str]):
        codes = matrix_codes(matrix)
        names = [str(op) for op in ops] if not isinstance(ops, str) else None
        labels = _labels_of(ops)
        self._init(codes, labels, names)

    def _init(self, codes: np.ndarray, labels: np.ndarray, names) -> None:
        self._pm, self._pl = _core.nb101_prune_one(codes, labels, names)
        self._matrix = _readonly(codes.copy())
        self._olab = _readonly(np.array(labels, dtype=np.int64))
        self._ops = tuple(names) if names is not None else _names_of(labels)
        _readonly(self._pm)
        _readonly(self._pl)
        self._key: int | None = None

    @classmethod
    def _from_parts(cls, matrix, labels, pruned_matrix, pruned_labels, key) -> "Cell":
        """A cell the core has already validated, pruned and keyed."""
        cell = cls.__new__(cls)
        cell._matrix = matrix
        cell._olab = labels
        cell._ops = None  # names made on first use
        cell._pm = pruned_matrix
        cell._pl = pruned_labels
        cell._key = key
        return cell

    @classmethod
    def from_labels(cls, matrix, labels) -> "Cell":
        """A cell from integer labels (-1 input, 0/1/2 interior op, -2 output)."""
        cell = cls.__new__(cls)
        lab = int_labels(labels, "labels")
        cell._init(matrix_codes(matrix), lab, None)
        return cell

    # ---- views
    @property
    def matrix(self) -> np.ndarray:
        """The adjacency matrix as given (uint8, read-only)."""
        return self._matrix

    @property
    def ops(self) -> tuple[str, ...]:
        """The ops as given."""
        if self._ops is None:
            self._ops = _names_of(self._olab.tolist())
        return self._ops

    @property
    def pruned_matrix(self) -> np.ndarray:
        """The adjacency matrix after pruning (vertices on no input-output
        path removed): uint8, (V, V), upper triangular, read-only."""
        return self._pm

    @property
    def pruned_ops(self) -> tuple[str, ...]:
        """The ops of the pruned cell, ``"input"`` first and ``"output"`` last."""
        return _names_of(self._pl)

    @property
    def labels(self) -> np.ndarray:
        """Pruned op labels (int8): -1 input, 0/1/2 interior, -2 output."""
        return self._pl

    @property
    def num_vertices(self) -> int:
        """Vertices of the pruned cell (2..7), input and output included."""
        return int(self._pm.shape[0])

    @property
    def num_edges(self) -> int:
        """Edges of the pruned cell (at most 9 in NAS-Bench-101)."""
        return int(self._pm.sum())

    # ---- identity
    def hash(self) -> str:
        """The official NAS-Bench-101 module hash (32 lowercase hex chars)."""
        return str(hash_many(self._pm[None], self._pl[None].astype(np.int64))[0])

    def canonical_key(self) -> int:
        """Exact canonical form as an int: equal iff the pruned cells are isomorphic."""
        if self._key is None:
            self._key = int(_core.nb101_canonical(self._pm[None], self._pl[None].astype(np.int64), 1)[0])
        return self._key

    def canonical(self) -> "Cell":
        """The canonical representative of this cell's isomorphism class."""
        m, lab, nv = decode_canonical(np.array([self.canonical_key()], dtype=np.uint64))
        n = int(nv[0])
        return Cell.from_labels(m[0, :n, :n], lab[0, :n])

    def is_isomorphic(self, other: "Cell") -> bool:
        """Whether the pruned cells are isomorphic (equal canonical keys), i.e.
        the same network."""
        return self.canonical_key() == other.canonical_key()

    def to_dict(self) -> dict:
        """The pruned cell as ``{"matrix": [[...]], "ops": [...]}``."""
        return {"matrix": self._pm.tolist(), "ops": list(self.pruned_ops)}

    def _full(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The original as 7x7 codes + labels (padding appended later)."""
        return self._matrix, self._olab, len(self._olab)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        return np.array_equal(self._pm, other._pm) and np.array_equal(self._pl, other._pl)

    def __hash__(self) -> int:
        return hash((self._pm.tobytes(), self._pl.tobytes()))

    def __repr__(self) -> str:
        return f"nb101.Cell(matrix={self._pm.tolist()}, ops={list(self.pruned_ops)})"


def is_valid(matrix, ops: Sequence[str]) -> bool:
    """Whether ``(matrix, ops)`` is a valid cell under the official rules."""
    try:
        Cell(matrix, ops)
    except InvalidSpecError:
        return False
    return True


def prune(matrix, ops: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """The pruned ``(matrix, ops)``; raises InvalidSpecError for invalid cells."""
    cell = Cell(matrix, ops)
    return cell.pruned_matrix, cell.pruned_ops


# ---------------------------------------------------------------- batch API
def _batch(matrices, labels) -> tuple[np.ndarray, np.ndarray]:
    return matrix_codes(matrices, "matrices"), int_labels(labels, "labels")


def _threads(threads: int | None) -> int:
    if threads is None:
        import os

        return os.cpu_count() or 1
    if int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return int(threads)


def hash_many(matrices, labels, threads: int | None = 1) -> np.ndarray:
    """Official module hashes of N cells: (N, V, V) 0/1 matrices and (N, V)
    integer labels in, an array of N 32-character hex strings out.

    Raises InvalidSpecError naming the index of the first invalid cell.
    ``threads=None`` uses every core.
    """
    raw = _core.nb101_hash(*_batch(matrices, labels), _threads(threads))
    return raw.astype("U32")


def canonical_many(matrices, labels, threads: int | None = 1) -> np.ndarray:
    """Exact canonical keys (uint64) of N cells; equal iff isomorphic."""
    return _core.nb101_canonical(*_batch(matrices, labels), _threads(threads))


_LAYOUTS = {"end": False, "output-last": True}


def _layout(layout: str) -> bool:
    if layout not in _LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; use 'end' or 'output-last'")
    return _LAYOUTS[layout]


def prune_many(matrices, labels, layout: str = "end") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pruned cells as ``(matrices (N,7,7) uint8, labels (N,7) int8, num_vertices (N,))``.

    ``layout="end"``: vertex i in slot i and padding after the output, so
    ``matrices[k, :n, :n]`` is cell k's pruned matrix (padding: zero rows and
    columns, :data:`PAD_LABEL`). ``layout="output-last"``: the output in slot 6
    and isolated padding vertices before it, so the arrays can be passed to
    every batch function again.
    """
    return _core.nb101_prune(*_batch(matrices, labels), _layout(layout))


def is_valid_many(matrices, labels) -> np.ndarray:
    """Validity of N cells as a bool array (never raises for an invalid cell)."""
    return _core.nb101_is_valid(*_batch(matrices, labels))


def decode_canonical(keys, layout: str = "end") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical representatives of keys, padded like :func:`prune_many`."""
    return _core.nb101_decode(np.ascontiguousarray(keys, dtype=np.uint64), _layout(layout))


def encode_adjacency_many(matrices, labels) -> np.ndarray:
    """Adjacency + one-hot op encoding (N, 36) float32 of the pruned cells, in
    7 slots with the output last: 21 upper-triangular entries, then 5 x 3 one-hot ops."""
    return _core.nb101_encode_adjacency(*_batch(matrices, labels))


def encode_path_many(matrices, labels) -> np.ndarray:
    """BANANAS path encoding (White et al., AAAI 2021), (N, 364) float32: one
    feature per input-to-output sequence of interior ops."""
    return _core.nb101_encode_path(*_batch(matrices, labels))


def _stack(cells: Sequence[Cell]) -> tuple[np.ndarray, np.ndarray]:
    """Pruned cells in the "output-last" layout (valid batch input)."""
    m = np.zeros((len(cells), MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    lab = np.full((len(cells), MAX_VERTICES), PAD_LABEL, dtype=np.int64)
    for i, c in enumerate(cells):
        slots = list(range(c.num_vertices - 1)) + [MAX_VERTICES - 1]
        m[i][np.ix_(slots, slots)] = c.pruned_matrix
        lab[i, slots] = c.labels
    return m, lab


def encode(cells: Sequence[Cell], kind: str = "path") -> np.ndarray:
    """Encodings of a list of cells: ``kind`` is ``"path"`` or ``"adjacency"``."""
    m, lab = _stack(cells)
    if kind == "path":
        return encode_path_many(m, lab)
    if kind == "adjacency":
        return encode_adjacency_many(m, lab)
    raise ValueError(f"unknown encoding kind {kind!r}; use 'path' or 'adjacency'")


# ---------------------------------------------------------------- random
def _from_full(parts: tuple) -> list[Cell]:
    """Cells from the core's (originals, labels, pruned, pruned labels, sizes, keys)."""
    m, lab, pm, pl, nv, keys = parts
    for a in (m, lab, pm, pl):
        a.setflags(write=False)  # the cells below are read-only views of these
    out = []
    for i, (n, key) in enumerate(zip(nv.tolist(), keys.tolist())):
        out.append(Cell._from_parts(m[i], lab[i], pm[i, :n, :n], pl[i, :n], key))
    return out


def sample(rng: np.random.Generator) -> Cell:
    """A random valid cell by the official rule (``random_spec``): each upper-
    triangular entry of a 7x7 matrix is 1 with probability 1/2, ops uniform,
    invalid specs rejected."""
    return _from_full(_core.nb101_sample(seed_from(rng), 1))[0]


def sample_many(rng: np.random.Generator, n: int) -> list[Cell]:
    """``n`` independent :func:`sample` draws (one seed drawn from ``rng``)."""
    return _from_full(_core.nb101_sample(seed_from(rng), int(n)))


def _padded_original(cell: Cell, rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """The cell's original matrix and labels in 7 vertices: a smaller cell
    gets isolated vertices before its output, with ops drawn from ``rng``
    (op 0 without one; an isolated vertex's op never changes a neighbour)."""
    m, lab, v = cell._full()
    if v == MAX_VERTICES:
        return m, lab
    if v > MAX_VERTICES:
        # Larger originals (allowed when pruning brings them to <= 7) are
        # replaced by their pruned form, the cell the search actually sees.
        m, lab, v = cell.pruned_matrix, cell.labels.astype(np.int64), cell.num_vertices
    pad = MAX_VERTICES - v
    full = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    idx = list(range(v - 1)) + [MAX_VERTICES - 1]
    full[np.ix_(idx, idx)] = m
    extra = rng.integers(0, len(OPS), size=pad) if (rng is not None and pad) else np.zeros(pad, dtype=np.int64)
    labels = np.concatenate([lab[:-1], extra, lab[-1:]]).astype(np.int64)
    return full, labels


def mutate(cell: Cell, rng: np.random.Generator, mutation_rate: float = 1.0) -> Cell:
    """The official notebook mutation: flip each of the 21 possible edges of the
    7-vertex original with probability ``mutation_rate/7``, change each interior
    op with probability ``mutation_rate/5`` to one of the other two, retry until
    valid. The child may be isomorphic to the parent (use :func:`one_change`
    for a guaranteed change)."""
    full, labels = _padded_original(cell, rng)
    return _mutate_seeded(full, labels, seed_from(rng), mutation_rate)


def _mutate_seeded(full: np.ndarray, labels: np.ndarray, seed: int, mutation_rate: float = 1.0) -> Cell:
    return _from_full(_core.nb101_mutate(full, labels, int(seed), float(mutation_rate)))[0]


def neighbours(cell: Cell) -> list[Cell]:
    """All valid cells one edge flip or one op change away from the cell's
    7-vertex original, deduplicated by canonical form, the parent's own
    isomorphism class excluded; in move order (edges row-major, then ops)."""
    full, labels = _padded_original(cell, None)
    return _from_full(_core.nb101_neighbours(full, labels))


def one_change(cell: Cell, rng: np.random.Generator) -> Cell:
    """A child that is valid and never isomorphic to the parent: a uniform
    choice among :func:`neighbours` (one edge or one op away).

    A cell with no such neighbour (the 2-vertex cell: its padding vertices are
    isolated, so no single edge brings one onto a path) gets the official
    :func:`mutate` retried until the child is not isomorphic to it.
    """
    options = neighbours(cell)
    if options:
        return options[int(rng.integers(len(options)))]
    key = cell.canonical_key()
    while True:
        child = mutate(cell, rng)
        if child.canonical_key() != key:
            return child


# ---------------------------------------------------------------- enumeration
@dataclass(frozen=True)
class Enumeration:
    """Every unique NAS-Bench-101 cell, deduplicated by exact canonical form."""

    keys: np.ndarray
    candidates_by_vertices: dict = field(repr=False)
    unique_by_vertices: dict = field(repr=False)
    seconds: float = 0.0

    def __len__(self) -> int:
        return int(self.keys.size)

    @property
    def candidates(self) -> int:
        """Labelled graphs enumerated before deduplication (all vertex counts)."""
        return int(sum(self.candidates_by_vertices.values()))

    def cells(self, layout: str = "end") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Canonical representatives as padded arrays (see :func:`prune_many`)."""
        return decode_canonical(self.keys, layout)

    def hashes(self, threads: int | None = None) -> np.ndarray:
        """Official hashes of every unique cell, sorted."""
        m, lab, _ = decode_canonical(self.keys, "output-last")
        return np.sort(hash_many(m, lab.astype(np.int64), threads=threads))


def enumerate_space(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> Enumeration:
    """Enumerates every labelled DAG with 2..``max_vertices`` vertices, all on an
    input-output path, at most ``max_edges`` edges (the official
    generate_graphs.py), deduplicated by canonical form."""
    start = time.perf_counter()
    keys, cand, uniq = _core.nb101_enumerate(int(max_vertices), int(max_edges))
    return Enumeration(keys, dict(cand), dict(uniq), time.perf_counter() - start)


# ---------------------------------------------------------------- the protocol
from .base import SearchSpace  # noqa: E402  (base imports nothing of this module)


class _EvolutionKernel:
    """Regularized evolution's population as arrays (a ring buffer in age
    order) and one core call per proposal (``_core.nb101_evolve``)."""

    def __init__(self, population_size: int):
        p, v = population_size, MAX_VERTICES
        self.matrices = np.zeros((p, v, v), dtype=np.uint8)
        self.labels = np.zeros((p, v), dtype=np.int64)
        self.values = np.zeros(p, dtype=np.float64)

    def store(self, slot: int, cell: Cell, value: float, rng) -> None:
        self.matrices[slot], self.labels[slot] = _padded_original(cell, rng)
        self.values[slot] = value

    def propose(self, oldest: int, count: int, sample_size: int, seed: int, seen, retries: int):
        child, rejected = _core.nb101_evolve(self.matrices, self.labels, self.values, oldest, count,
                                             sample_size, seed, seen, retries)
        return (None if child is None else Cell._from_parts(*child)), rejected


class NB101Space(SearchSpace):
    """NAS-Bench-101 as a :class:`~nasbench_suite.spaces.base.SearchSpace`:
    cells labelled and keyed by the official module hash (MD5), not indexed."""

    name = "nb101"
    title = "NAS-Bench-101"
    cell_type = Cell
    encodings = ("path", "adjacency")
    predictor_encoding = "path"
    table_description = ("hash", "matrix", "labels", "num_vertices", "canonical")
    # Regularized evolution as in the official NAS-Bench-101 notebook
    # (population 50, tournament 10; REFERENCE.md).
    strategy_defaults = {"regularized_evolution": {"population_size": 50, "sample_size": 10}}

    def parse(self, spec) -> Cell:
        """A cell from a Cell, ``{"matrix", "ops"}`` or its JSON text. A hash
        alone names no cell (look it up in a table instead)."""
        if isinstance(spec, Cell):
            return spec
        if isinstance(spec, (str, bytes)):
            import json

            try:
                spec = json.loads(spec)
            except ValueError:
                spec = None
        if isinstance(spec, dict) and "matrix" in spec and "ops" in spec:
            return Cell(spec["matrix"], spec["ops"])
        raise InvalidSpecError(
            f"an NB101 cell is an nb101.Cell or {{'matrix', 'ops'}}, got {type(spec).__name__}; "
            "a hash alone does not say which cell it is"
        )

    def label(self, cell: Cell) -> str:
        """The official hash."""
        return cell.hash()

    def sample(self, rng) -> Cell:
        if hasattr(rng, "pool"):  # a strategy's Stream: 64 official samples per core call
            return rng.pool("nb101-sample", lambda g: sample_many(g, 64))
        return sample(rng)

    def sample_many(self, rng, n: int) -> list:
        return sample_many(getattr(rng, "generator", rng), n)

    def mutate(self, cell: Cell, rng) -> Cell:
        """The official notebook rule with mutation rate 1."""
        if hasattr(rng, "below"):
            full, labels = _padded_original(cell, rng.generator)
            return _mutate_seeded(full, labels, rng.below(1 << 53))
        return mutate(cell, rng)

    def evolution_kernel(self, population_size: int) -> _EvolutionKernel:
        return _EvolutionKernel(population_size)

    def neighbours(self, cell: Cell) -> list:
        return neighbours(cell)

    def canonical(self, cell: Cell) -> int:
        return cell.canonical_key()

    def encode(self, cells, kind: str | None = None) -> np.ndarray:
        return encode(cells, kind or self.encodings[0])

    def categorical(self, cell: Cell) -> np.ndarray:
        """The 21 upper-triangular entries of the 7-vertex original, then the
        5 interior op labels."""
        full, labels = _padded_original(cell, None)
        iu = np.triu_indices(MAX_VERTICES, 1)
        return np.concatenate([full[iu].astype(np.int64), np.clip(labels[1:-1], 0, 2)])

    def categorical_sizes(self) -> np.ndarray:
        return np.array([2] * 21 + [len(OPS)] * 5)

    def from_categorical(self, x) -> Cell | None:
        m = np.zeros((7, 7), dtype=np.uint8)
        m[np.triu_indices(7, 1)] = x[:21]
        labels = np.concatenate([[LABEL_INPUT], x[21:], [LABEL_OUTPUT]])
        try:
            return Cell.from_labels(m, labels)
        except InvalidSpecError:
            return None

    # ---- tables: rows keyed by the official hash
    def table_cells(self, cells) -> list:
        out = []
        for c in cells:
            if isinstance(c, Cell):
                out.append(c)
            elif isinstance(c, dict):
                out.append(Cell(c["matrix"], c["ops"]))
            else:
                raise InvalidSpecError(
                    f"an NB101 table row needs the cell itself (nb101.Cell or {{'matrix', 'ops'}}), "
                    f"got {type(c).__name__}; a hash alone does not say which cell it is"
                )
        return out

    def table_describe(self, cells: list) -> dict:
        return self.table_describe_arrays(*_stack(cells))

    def table_describe_arrays(self, matrices, labels) -> dict:
        """The description of N cells given as batch arrays (raises on an invalid one)."""
        m, lab, nv = prune_many(matrices, labels, layout="end")
        hashes = hash_many(matrices, labels, threads=None)
        return {
            "key": _core.hex_to_keys(hashes.astype("S32")),
            "hash": hashes.astype("S32"),
            "matrix": m,
            "labels": lab,
            "num_vertices": nv.astype(np.int8),
            "canonical": canonical_many(matrices, labels, threads=None),
        }

    def table_keys(self, cells) -> np.ndarray:
        """(M, 2) uint64 keys of hashes (str / bytes / string arrays) or cells.
        A hash is exactly 32 hex characters: anything else (a longer string
        whose first 32 characters are a hash included) is an InvalidSpecError,
        never a lookup of a prefix."""
        if isinstance(cells, np.ndarray) and cells.dtype.kind in "SU":
            flat = cells.reshape(-1)
            width = flat.dtype.itemsize // (4 if flat.dtype.kind == "U" else 1)
            if width != 32:  # S32 / U32 go to the core as they are (it checks every entry)
                lengths = np.char.str_len(flat) if flat.size else np.zeros(0, np.int64)
                bad = np.flatnonzero(lengths != 32)
                if bad.size:
                    raise InvalidSpecError(
                        f"cannot look up {flat[bad[0]].item()!r} in an NB101 table: a hash is a 32-character hex "
                        f"string, this has {int(lengths[bad[0]])} characters (array of dtype {cells.dtype})"
                    )
                flat = flat.astype(f"{flat.dtype.kind}32")
            return _core.hex_to_keys(flat)
        hashes = []
        for c in cells:
            if isinstance(c, Cell):
                hashes.append(c.hash())
            elif isinstance(c, dict):
                hashes.append(Cell(c["matrix"], c["ops"]).hash())
            elif isinstance(c, (str, bytes)):
                h = c.decode("latin-1") if isinstance(c, bytes) else c
                if len(h) != 32:
                    raise InvalidSpecError(
                        f"cannot look up {c!r} in an NB101 table: a hash is a 32-character hex string, "
                        f"this has {len(h)} characters"
                    )
                hashes.append(h)
            else:
                raise InvalidSpecError(
                    f"cannot look up {c!r} in an NB101 table: give an nb101.Cell or its 32-character hash"
                )
        return _core.hex_to_keys(np.array(hashes, dtype="U32")) if hashes else np.zeros((0, 2), np.uint64)

    def table_find_one(self, index, cell) -> int:
        # -1 found nothing, -2 not 32 hex characters: both take the general
        # path (table_keys), which raises for a malformed key.
        return index.find_one_hex(cell) if type(cell) is str else -1

    def table_find_many(self, index, items):
        if isinstance(items, np.ndarray) and items.dtype.kind in "SU":
            if items.dtype.itemsize // (4 if items.dtype.kind == "U" else 1) == 32:
                return index.find_hex(items.reshape(-1))  # the core checks every entry
            return index.find(self.table_keys(items))  # other widths: exact lengths checked first
        return None

    def table_cell_at(self, arrays: dict, row: int) -> Cell:
        n = int(arrays["num_vertices"][row])
        return Cell.from_labels(arrays["matrix"][row, :n, :n], arrays["labels"][row, :n])

    def table_label(self, arrays: dict, row: int) -> str:
        return arrays["hash"][row].decode()

    def record(self, cell) -> dict:
        return self.table_cells([cell])[0].to_dict()

    def from_record(self, record) -> dict:
        return record


SPACE = NB101Space()
