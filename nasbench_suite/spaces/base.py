"""The search-space protocol: everything a layer may ask of a space.

A search space is one object, an instance of a :class:`SearchSpace` subclass,
registered by name (:func:`nasbench_suite.spaces.get`). Strategies, the
runner, tables, reports and the command line hold such an object (or its
registered name) and ask it; they never branch on which space it is. Adding a
space is one module in ``nasbench_suite/spaces/`` (see ``docs/API.md``,
"Adding a space").

What a space answers, in groups:

- **cells**: :meth:`~SearchSpace.parse` (a cell from its label string, a
  dict, an index or a cell), :meth:`~SearchSpace.label` (the string a
  trajectory names it by), :meth:`~SearchSpace.is_valid`. Invalid input
  raises :class:`~nasbench_suite.InvalidSpecError` naming the rule broken.
- **randomness**: :meth:`~SearchSpace.sample`, :meth:`~SearchSpace.sample_many`,
  :meth:`~SearchSpace.mutate` (the space's standard mutation),
  :meth:`~SearchSpace.neighbours` (the full neighbourhood). ``rng`` is a
  :class:`numpy.random.Generator` or a :class:`Stream` (the strategies'
  chunked uniform draws over a Generator); nothing else is random.
- **identity**: :meth:`~SearchSpace.canonical` (an exact canonical key: equal
  iff the cells are isomorphic) and :meth:`~SearchSpace.functional` (equal
  iff the cells are the same network; the canonical key where the space has
  no finer notion). Strategies dedup by :meth:`~SearchSpace.dedup_key`.
- **encodings** for predictors: :meth:`~SearchSpace.encode` (kinds in
  :attr:`~SearchSpace.encodings`), and the fixed-length categorical vector of
  REINFORCE/BOHB (:meth:`~SearchSpace.categorical`,
  :meth:`~SearchSpace.categorical_sizes`, :meth:`~SearchSpace.from_categorical`).
- **tables**: the 128-bit row key of a cell and the arrays that describe it
  in an HDF5 table (docs/FORMAT.md): :attr:`~SearchSpace.table_description`,
  :meth:`~SearchSpace.table_cells`, :meth:`~SearchSpace.table_describe`,
  :meth:`~SearchSpace.table_keys`, :meth:`~SearchSpace.table_cell_at`,
  :meth:`~SearchSpace.table_label`, the journal's JSON form of a cell.
- **enumeration** where the space is finite and small:
  :attr:`~SearchSpace.size`, :meth:`~SearchSpace.cells`, :meth:`~SearchSpace.index`,
  :meth:`~SearchSpace.from_index` (an official or natural order), and
  :meth:`~SearchSpace.all_canonical_keys` for class-lookup tables.
- **published defaults** of strategies on this space
  (:attr:`~SearchSpace.strategy_defaults`, e.g. regularized evolution's
  population and tournament sizes).
"""
from __future__ import annotations

import abc
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from .. import _core
from .._errors import InvalidSpecError

__all__ = ["DEDUP_MODES", "SearchSpace", "Stream"]

#: How a strategy recognises a cell it has already proposed: ``True`` (or
#: ``"graph"``): exact isomorphism; ``"function"``: same network (finer
#: spaces only; the canonical key elsewhere); ``False``: never.
DEDUP_MODES = (True, False, "graph", "function")


class Stream:
    """Uniform draws from a numpy Generator, fetched in chunks: the per-draw
    cost of a Python float instead of a numpy call. Deterministic given the
    Generator (the chunks are its ``random()`` output, consumed in order).

    Strategies hand a Stream to the space's :meth:`SearchSpace.sample` and
    :meth:`SearchSpace.mutate`; a space may draw from it with :meth:`below`,
    :meth:`random` and :meth:`pool`, or take ``stream.generator``."""

    __slots__ = ("generator", "_buf", "_chunk", "_pools")

    def __init__(self, generator: np.random.Generator, chunk: int = 256):
        self.generator = generator
        self._buf: list = []
        self._chunk = chunk
        self._pools: dict = {}

    def pool(self, name: str, refill):
        """The next item of a named pool, refilled with ``refill(generator)``
        (a batch of samples made in one core call) when it runs dry."""
        items = self._pools.get(name)
        if not items:
            items = list(refill(self.generator))
            items.reverse()
            self._pools[name] = items
        return items.pop()

    def random(self) -> float:
        """Uniform float in [0, 1): the Generator's next ``random()`` value."""
        if not self._buf:
            self._buf = self.generator.random(self._chunk).tolist()
            self._buf.reverse()
        return self._buf.pop()

    def below(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        return int(self.random() * n)

    def take(self, k: int) -> list:
        """The next k uniform draws (the same values k random() calls give)."""
        buf = self._buf
        if len(buf) < k:
            fresh = self.generator.random(max(self._chunk, k)).tolist()
            fresh.reverse()
            buf = self._buf = fresh + buf
        out = buf[-k:]
        del buf[-k:]
        out.reverse()
        return out

    def distinct(self, n: int, k: int) -> list:
        """k distinct integers from [0, n), sorted (Floyd's algorithm)."""
        chosen: set = set()
        for j, u in zip(range(n - k, n), self.take(k)):
            t = int(u * (j + 1))
            chosen.add(j if t in chosen else t)
        return sorted(chosen)


def generator_of(rng) -> np.random.Generator:
    """The numpy Generator behind ``rng`` (a Generator or a :class:`Stream`)."""
    return getattr(rng, "generator", rng)


class SearchSpace(abc.ABC):
    """A search space: subclass it, fill in the class attributes and the
    abstract methods, and register an instance (``spaces.register``).

    Class attributes:

    - ``name``: the registered name; also the ``space`` attribute of its tables.
    - ``title``: the benchmark's name and paper, for reports and ``--help``.
    - ``cell_type``: the class of its cells.
    - ``size``: the number of cells when the space is finite and indexed by
      :meth:`index` (then tables may be written in index order), else None.
    - ``encodings``: the kinds :meth:`encode` accepts, the default first.
    - ``predictor_encoding``: the kind a predictor (BANANAS) is trained on.
    - ``table_description``: the arrays beside ``key`` that describe a row.
    - ``strategy_defaults``: published hyper-parameters per strategy name.
    - ``class_lookup``: whether tables may hold one row per isomorphism class
      (``lookup="class"``, docs/FORMAT.md); needs :meth:`all_canonical_keys`.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    cell_type: ClassVar[type]
    size: ClassVar[int | None] = None
    encodings: ClassVar[tuple[str, ...]] = ()
    predictor_encoding: ClassVar[str | None] = None
    table_description: ClassVar[tuple[str, ...]] = ()
    strategy_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    class_lookup: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<search space {self.name!r}>"

    def __reduce__(self):
        # Pickled (to pool workers) as its name: the registry gives it back.
        from . import get

        return (get, (self.name,))

    # ------------------------------------------------------------ cells
    @abc.abstractmethod
    def parse(self, spec) -> Any:
        """The cell of ``spec``: a cell, its label string, its dict form or an
        index (where the space has one). Raises InvalidSpecError."""

    @abc.abstractmethod
    def label(self, cell) -> str:
        """The string that names the cell in trajectories and reports;
        :meth:`parse` reads it back."""

    def is_valid(self, spec) -> bool:
        """Whether :meth:`parse` accepts ``spec``."""
        try:
            self.parse(spec)
        except (InvalidSpecError, TypeError, ValueError):
            return False
        return True

    # ------------------------------------------------------------ randomness
    @abc.abstractmethod
    def sample(self, rng) -> Any:
        """A uniform random cell (by the space's official sampling rule)."""

    def sample_many(self, rng, n: int) -> list:
        """``n`` independent samples."""
        return [self.sample(rng) for _ in range(int(n))]

    @abc.abstractmethod
    def mutate(self, cell, rng) -> Any:
        """The space's standard mutation of ``cell``."""

    @abc.abstractmethod
    def neighbours(self, cell) -> list:
        """Every cell one move away (the local-search neighbourhood), in a
        fixed order."""

    def evolution_kernel(self, population_size: int):
        """An optional compiled step for regularized evolution (None: the
        strategy's Python step). A kernel keeps the population as arrays:
        ``store(slot, cell, value, rng)`` and ``propose(oldest, count,
        sample_size, seed, seen, retries) -> (child or None, rejected)``, one
        tournament + mutation + canonical-key dedup per retry."""
        return None

    # ------------------------------------------------------------ identity
    @abc.abstractmethod
    def canonical(self, cell) -> int:
        """An exact canonical key: equal iff the cells are isomorphic."""

    def functional(self, cell) -> int:
        """Equal iff the cells are the same network (default: :meth:`canonical`)."""
        return self.canonical(cell)

    def dedup_key(self, mode):
        """The key function a strategy dedups by, for a mode of :data:`DEDUP_MODES`
        (None for ``False``)."""
        if mode is False:
            return None
        if mode is True or mode == "graph":
            return self.canonical
        if mode == "function":
            return self.functional
        raise ValueError(f"dedup must be one of True, False, 'graph', 'function'; got {mode!r}")

    # ------------------------------------------------------------ encodings
    def encode(self, cells: Sequence, kind: str | None = None) -> np.ndarray:
        """(N, D) float32 features of ``cells`` for predictors."""
        raise NotImplementedError(f"{self.name} has no encodings")

    @abc.abstractmethod
    def categorical(self, cell) -> np.ndarray:
        """A fixed-length int64 vector of choices (REINFORCE, BOHB)."""

    @abc.abstractmethod
    def categorical_sizes(self) -> np.ndarray:
        """The number of choices of each entry of :meth:`categorical`."""

    @abc.abstractmethod
    def from_categorical(self, x: np.ndarray):
        """The cell of a categorical vector, or None when it is invalid."""

    # ------------------------------------------------------------ enumeration
    def index(self, cell) -> int:
        """The cell's index in the space's official order (finite spaces)."""
        raise NotImplementedError(f"{self.name} has no index order")

    def from_index(self, index: int):
        """The cell at an index of the official order (finite spaces)."""
        raise NotImplementedError(f"{self.name} has no index order")

    def cells(self) -> list:
        """Every cell of a finite space, in index order (for enumeration)."""
        if self.size is None:
            raise NotImplementedError(f"{self.name} is not enumerated cell by cell")
        return [self.from_index(i) for i in range(self.size)]

    def indices(self, cells) -> np.ndarray:
        """int64 indices of cells (cells, labels or indices; finite spaces).
        Indices are range-checked without building their cells."""
        if isinstance(cells, np.ndarray) and cells.dtype.kind in "iu":
            idx = cells.astype(np.int64, copy=False).reshape(-1)
            bad = (idx < 0) | (idx >= self.size)
            if bad.any():
                raise self._outside(int(idx[bad][0]))
            return idx
        out = []
        for c in cells:
            if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                if not 0 <= c < self.size:
                    raise self._outside(int(c))
                out.append(int(c))
            else:
                out.append(self.index(self.parse(c)))
        return np.array(out, dtype=np.int64)

    def _outside(self, i: int) -> InvalidSpecError:
        return InvalidSpecError(f"{self.title or self.name} index {i} is outside 0..{self.size - 1}")

    def all_canonical_keys(self) -> np.ndarray:
        """uint64 canonical key of every cell in index order (0: no network)."""
        raise NotImplementedError(f"{self.name} tables have no class lookup")

    # ------------------------------------------------------------ tables
    def table_cells(self, cells) -> list:
        """Cells for writing table rows: whatever :meth:`parse` accepts."""
        return [self.parse(c) for c in cells]

    def table_describe(self, cells: list) -> dict:
        """``key`` ((N, 2) uint64) and the :attr:`table_description` arrays of
        cells. The default serves indexed spaces: ``index`` and ``canonical``."""
        idx = np.array([self.index(c) for c in cells], dtype=np.int64)
        canon = np.array([self.canonical(c) for c in cells], dtype=np.uint64)
        return {"key": index_keys(idx), "index": idx, "canonical": canon}

    def table_keys(self, cells) -> np.ndarray:
        """(M, 2) uint64 row keys of ``cells`` (what :meth:`parse` accepts)."""
        return index_keys(self.indices(cells))

    def table_find_one(self, index: "_core.KeyIndex", cell) -> int:
        """The row of one cell through a table's key index, or -1 when this
        quick path does not apply (the caller then takes the general one)."""
        if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool) and self.size is not None:
            return index.find_one(int(cell), 0) if 0 <= cell < self.size else -1
        return -1

    def table_find_many(self, index: "_core.KeyIndex", items) -> np.ndarray | None:
        """Rows of an array of keys in the space's compact form, or None."""
        return None

    def table_cell_at(self, arrays: dict, row: int):
        """The cell of a table row, from its description arrays."""
        return self.from_index(int(arrays["index"][row]))

    def table_label(self, arrays: dict, row: int) -> str:
        """The label string (:meth:`label`) of a table row's cell, from its
        description arrays; a space may override it to skip building the cell."""
        return self.label(self.table_cell_at(arrays, row))

    def record(self, cell) -> Any:
        """The JSON form of a cell in a table journal."""
        return {"index": self.index(self.parse(cell))}

    def from_record(self, record) -> Any:
        """What :meth:`record` wrote, as something :meth:`table_cells` takes."""
        return record["index"]

    def is_scalar_cell(self, cells) -> bool:
        """Whether ``cells`` is one cell rather than a sequence of them.
        Anything not iterable (a float, None, ...) counts as one cell, which
        :meth:`parse` then rejects with a message rather than a TypeError."""
        return (isinstance(cells, (str, bytes, int, np.integer, dict, self.cell_type))
                or not hasattr(cells, "__iter__"))


def index_keys(idx: np.ndarray) -> np.ndarray:
    """(N, 2) uint64 table keys of indexed cells: the index in the low word."""
    k = np.zeros((idx.size, 2), dtype=np.uint64)
    k[:, 0] = idx
    return k
