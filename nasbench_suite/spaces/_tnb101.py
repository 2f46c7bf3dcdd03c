"""TransNAS-Bench-101 (Duan et al., "TransNAS-Bench-101: Improving
Transferability and Generalizability of Cross-Task Neural Architecture
Search", CVPR 2021): its two search spaces, as NASLib's ``transbench101``
search space and the authors' ``yawen-d/TransNASBench`` code define them.

**Micro** (:class:`MicroSpace`, ``tnb101_micro``): the backbone ``64-41414``
(a stem, then 5 modules of 2 cells; module codes 4 halve the resolution and
double the channels) built from one searchable cell of the NAS-Bench-201
shape: 4 nodes, 6 edges in NB201's arch-string order (0->1, 0->2, 1->2, 0->3,
1->3, 2->3), each carrying one of 4 ops. A node sums its inputs (the
authors' ``MicroCell.forward``); there is no shortcut around the cell. The
op codes are the authors' (``cell_ops.OPS``): 0 ``Zero``, 1 ``Identity``,
2 ``ReLUConvBN`` 1x1, 3 ``ReLUConvBN`` 3x3, which are NB201's ops 0-3 in
NB201's own order (``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3``); NASLib's arch tuples hold these codes (its
``convert_naslib_to_transbench101_micro`` writes them into the authors'
string ``64-41414-a_bc_def``). All 4^6 = 4,096 cells are in the benchmark
and indexed by their base-4 value, first edge most significant (NASLib's
``itertools.product(range(4), repeat=6)``).

The cell is an NB201 cell whose ops avoid ``avg_pool_3x3``, so the space
asks the registered NB201 space for its graph machinery (canonical key,
encodings) with the same codes, not a copy of it.

**Functional identity equals the canonical key here.** NB201's functional
key contracts ``skip_connect`` as the identity. In TNB101 that is false in
the reducing cells: the first cell of each ``4`` module has stride 2 and
doubles the channels on the edges out of node 0, and the authors' op 1 is
then a ``FactorizedReduce`` (ReLU, two strided 1x1 convs, BN: weights of its
own) rather than ``Identity`` (``cell_ops.OPS['1']``: Identity only when
stride 1 and C_in == C_out; NASLib's ``_set_op`` likewise). The same cell is
used in every position, so moving or contracting a skip out of node 0
changes the network; the exact op-on-node DAG form (NB201's canonical key,
where the input node and so the edges out of it stay distinguished) is the
finest identity that holds in every cell, and :meth:`MicroSpace.functional`
returns it.

**Macro** (:class:`MacroSpace`, ``tnb101_macro``): a stem, then 4 to 6
residual blocks (ResNet basic blocks, 2 per layer), each coded 1-4 by what it
changes (the authors' ``MacroNet``): 1 nothing, 2 doubles the channels,
3 halves the resolution (stride 2), 4 both. A network halves the resolution
1 to 4 times and doubles the channels 1 to 3 times: sum over 4, 5, 6 layers
of C(L, p) C(L, q) for p in 1..4, q in 1..3 = 210 + 750 + 2,296 = **3,256**
networks, all in the benchmark. The label is the authors' string
``64-1234-basic``; NASLib's arch tuples list the codes (their zeros, padding
to 6, mean "no layer"). Index order: by length, then lexicographic (our
order: the benchmark's own order is not in the public files). Every code
sequence is a different network: the canonical and functional keys are
1 + the index.
"""
from __future__ import annotations

import functools
import itertools
import re
from typing import Sequence

import numpy as np

from .._errors import InvalidSpecError
from ._arrays import check_rng
from .base import SearchSpace, index_keys

__all__ = ["MICRO_OPS", "MICRO_EDGES", "MICRO_SIZE", "MACRO_CODES", "MACRO_SIZE", "MicroCell", "MacroCell",
           "MicroSpace", "MacroSpace", "MICRO", "MACRO"]

#: The 4 micro ops by code (the authors' ``cell_ops.OPS`` keys '0'..'3'), named
#: as NB201 names the same ops (NB201's codes 0..3).
MICRO_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
#: The 6 edges of the micro cell as (from_node, to_node), NB201's arch-string order.
MICRO_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_NE = len(MICRO_EDGES)
_NO = len(MICRO_OPS)
#: Cells in the micro space: 4 ** 6 = 4,096.
MICRO_SIZE = _NO ** _NE
_MICRO_PREFIX = "64-41414-"  # base channels 64, the backbone's 5 module codes
_POW4 = [_NO ** (_NE - 1 - e) for e in range(_NE)]  # first edge most significant

#: What each macro layer code changes: code -> (doubles the channels, halves the resolution).
MACRO_CODES = {1: (False, False), 2: (True, False), 3: (False, True), 4: (True, True)}
_MACRO_LENGTHS = (4, 5, 6)
_MAX_LAYERS = max(_MACRO_LENGTHS)
_TUPLE = re.compile(r"^\(\s*(\d+(?:\s*,\s*\d+)*)\s*,?\s*\)$")  # NASLib's "(2, 3, 1, 4)"


def _macro_valid(codes: Sequence[int]) -> str | None:
    """Why a macro code sequence is not a network, or None when it is one."""
    if not _MACRO_LENGTHS[0] <= len(codes) <= _MACRO_LENGTHS[-1]:
        return f"a TNB101 macro network has 4 to 6 layers, got {len(codes)}"
    if any(c not in MACRO_CODES for c in codes):
        return f"macro layer codes are 1..4, got {list(codes)}"
    down = sum(MACRO_CODES[c][1] for c in codes)
    wide = sum(MACRO_CODES[c][0] for c in codes)
    if not 1 <= down <= 4:
        return f"a TNB101 macro network halves the resolution 1 to 4 times (codes 3, 4), {list(codes)} does {down}"
    if not 1 <= wide <= 3:
        return f"a TNB101 macro network doubles the channels 1 to 3 times (codes 2, 4), {list(codes)} does {wide}"
    return None


@functools.lru_cache(maxsize=1)
def _macro_table() -> tuple:
    """(codes by index, index by codes) of every macro network, in index order."""
    codes = [c for n in _MACRO_LENGTHS for c in itertools.product(range(1, 5), repeat=n) if _macro_valid(c) is None]
    return tuple(codes), {c: i for i, c in enumerate(codes)}


# Regularized evolution: TNB101 publishes no settings; NASLib's generic defaults (population 100,
# sample 10; naslib/defaults/darts_defaults.yaml) make the first 100 queries random search. As for
# NAS-Bench-Macro, NB201's (population 10, tournament 3; Dong & Yang 2020) fit: a space of the same
# order of size with the same mutation (one position changed).
_RE_DEFAULTS = {"population_size": 10, "sample_size": 3}

#: Networks in the macro space (3,256).
MACRO_SIZE = 3256


def _ints(seq, what: str) -> tuple:
    out = []
    for v in seq:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise InvalidSpecError(f"{what}: {v!r} is not an integer code")
        out.append(int(v))
    return tuple(out)


def _check_index(index, size: int, what: str) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < size:
        raise InvalidSpecError(f"{what} index must be an integer in 0..{size - 1}, got {index!r}")
    return int(index)


def _tuple_text(text: str):
    m = _TUPLE.match(text)
    return tuple(int(x) for x in m.group(1).split(",")) if m else None


# ---------------------------------------------------------------- micro
class MicroCell:
    """A TNB101 micro cell: 6 op codes 0..3 (:data:`MICRO_OPS`), edges in
    :data:`MICRO_EDGES` order. Immutable; equal iff the codes are equal."""

    __slots__ = ("_i",)

    def __init__(self, ops: Sequence):
        if isinstance(ops, str):
            raise InvalidSpecError("use MICRO.parse for a TNB101 micro label")
        ops = list(ops)
        if len(ops) != _NE:
            raise InvalidSpecError(f"a TNB101 micro cell has {_NE} edges, got {len(ops)} ops")
        codes = []
        for op in ops:
            if isinstance(op, str):
                if op not in MICRO_OPS:
                    raise InvalidSpecError(f"unknown TNB101 micro op {op!r} (ops: {', '.join(MICRO_OPS)})")
                codes.append(MICRO_OPS.index(op))
            else:
                code = _ints([op], "TNB101 micro op")[0]
                if not 0 <= code < _NO:
                    raise InvalidSpecError(f"TNB101 micro op code {op!r} is not in 0..{_NO - 1}")
                codes.append(code)
        self._i = sum(c * p for c, p in zip(codes, _POW4))

    @classmethod
    def _at(cls, i: int) -> "MicroCell":
        cell = cls.__new__(cls)
        cell._i = i
        return cell

    @property
    def codes(self) -> tuple[int, ...]:
        """The 6 op codes, edge order of :data:`MICRO_EDGES`."""
        return _micro_codes()[self._i]

    @property
    def ops(self) -> tuple[str, ...]:
        """The 6 op names of :data:`MICRO_OPS`."""
        return tuple(MICRO_OPS[c] for c in self.codes)

    def to_string(self) -> str:
        """The authors' architecture string, ``64-41414-a_bc_def``."""
        a, b, c, d, e, f = self.codes
        return f"{_MICRO_PREFIX}{a}_{b}{c}_{d}{e}{f}"

    def index(self) -> int:
        """The base-4 value of the codes, first edge most significant."""
        return self._i

    def __eq__(self, other) -> bool:
        if not isinstance(other, MicroCell):
            return NotImplemented
        return self._i == other._i

    def __hash__(self) -> int:
        return hash(("tnb101_micro", self._i))

    def __repr__(self) -> str:
        return f"MicroCell({list(self.codes)})"


@functools.lru_cache(maxsize=1)
def _micro_codes() -> tuple:
    return tuple(itertools.product(range(_NO), repeat=_NE))


def _nb201():
    from . import get  # the registry (this module is imported by spaces/__init__)

    return get("nb201")


@functools.lru_cache(maxsize=1)
def _micro_keys() -> tuple:
    """NB201's canonical key of every micro cell, in index order (asked of the NB201 space once)."""
    nb = _nb201()
    return tuple(int(nb.canonical(nb.from_categorical(c))) for c in _micro_codes())


def _as_nb201(cells) -> list:
    """The NB201 cells of the same op codes (NB201's categorical vector is its 6 op codes)."""
    nb = _nb201()
    return [nb.from_categorical(c.codes) for c in cells]


def _parse_micro(text: str) -> MicroCell:
    codes = None
    if text.startswith(_MICRO_PREFIX):
        parts = text[len(_MICRO_PREFIX):].split("_")
        if [len(p) for p in parts] == [1, 2, 3] and all(p.isascii() and p.isdigit() for p in parts):
            codes = tuple(int(ch) for ch in "".join(parts))
    else:
        codes = _tuple_text(text)
    if codes is None:
        raise InvalidSpecError(f"{text!r} is not a TNB101 micro label: give '64-41414-a_bc_def' or NASLib's "
                               "'(a, b, c, d, e, f)' with op codes 0..3")
    return MicroCell(codes)


class MicroSpace(SearchSpace):
    """TransNAS-Bench-101's micro (cell) space: 4,096 NB201-shaped cells of 4
    ops, labelled by the authors' string ``64-41414-a_bc_def``; canonical
    key and encodings from the NB201 space (see the module docstring)."""

    name = "tnb101_micro"
    title = "TransNAS-Bench-101 micro"
    cell_type = MicroCell
    size = MICRO_SIZE
    encodings = ("onehot", "path")
    predictor_encoding = "path"
    table_description = ("index", "ops", "canonical")
    strategy_defaults = {"regularized_evolution": dict(_RE_DEFAULTS)}

    def parse(self, spec) -> MicroCell:
        if isinstance(spec, MicroCell):
            return spec
        if isinstance(spec, bytes):
            spec = spec.decode("ascii", "replace")
        if isinstance(spec, str):
            return _parse_micro(spec.strip())
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return MicroCell._at(_check_index(spec, MICRO_SIZE, "TNB101 micro"))
        if isinstance(spec, dict) and "index" in spec:
            return MicroCell._at(_check_index(spec["index"], MICRO_SIZE, "TNB101 micro"))
        if isinstance(spec, (list, tuple, np.ndarray)):
            return MicroCell(list(spec))
        raise InvalidSpecError(f"cannot use {type(spec).__name__} {spec!r} as a TNB101 micro cell: give a "
                               "MicroCell, a label '64-41414-a_bc_def', an index or 6 op codes")

    def label(self, cell: MicroCell) -> str:
        return cell.to_string()

    def sample(self, rng) -> MicroCell:
        """Each edge's op uniform over the 4 ops (every one of the 4,096 cells equally likely)."""
        if hasattr(rng, "below"):
            return MicroCell._at(rng.below(MICRO_SIZE))
        return MicroCell._at(int(check_rng(rng).integers(MICRO_SIZE)))

    def mutate(self, cell: MicroCell, rng) -> MicroCell:
        """One uniformly chosen edge changed to a uniformly chosen other op (NASLib's mutation)."""
        if hasattr(rng, "below"):
            edge, other = rng.below(_NE), rng.below(_NO - 1)
        else:
            g = check_rng(getattr(rng, "generator", rng))
            edge, other = int(g.integers(_NE)), int(g.integers(_NO - 1))
        return self._neighbour(cell, edge, other)

    @staticmethod
    def _neighbour(cell: MicroCell, edge: int, other: int) -> MicroCell:
        old = cell.codes[edge]
        new = other + (other >= old)
        return MicroCell._at(cell._i + (new - old) * _POW4[edge])

    def neighbours(self, cell: MicroCell) -> list:
        """The 18 cells one edge away: edges in order, ops in code order."""
        return [self._neighbour(cell, e, k) for e in range(_NE) for k in range(_NO - 1)]

    def canonical(self, cell: MicroCell) -> int:
        """NB201's canonical key of the same codes (0: no input-output path)."""
        return _micro_keys()[cell._i]

    def functional(self, cell: MicroCell) -> int:
        """The canonical key: a skip out of node 0 is a FactorizedReduce in the
        reducing cells, so NB201's skip contraction does not hold (module docstring)."""
        return self.canonical(cell)

    def encode(self, cells, kind: str | None = None) -> np.ndarray:
        """NB201's encodings of the same codes: ``onehot`` (N, 24), one-hot of
        the 4 ops per edge; ``path`` (N, 84), NB201's path features."""
        kind = kind or self.encodings[0]
        if kind not in self.encodings:
            raise ValueError(f"unknown encoding kind {kind!r}; use one of {', '.join(self.encodings)}")
        cells = list(cells)
        x = _nb201().encode(_as_nb201(cells or [MicroCell._at(0)]), kind)[:len(cells)]  # NB201's needs a cell
        if kind == "onehot":  # drop NB201's avg_pool_3x3 column, never set here
            x = np.ascontiguousarray(x.reshape(len(x), _NE, x.shape[1] // _NE)[:, :, :_NO].reshape(len(x), _NE * _NO))
        return x

    def categorical(self, cell: MicroCell) -> np.ndarray:
        """The 6 op codes."""
        return np.array(cell.codes, dtype=np.int64)

    def categorical_sizes(self) -> np.ndarray:
        return np.full(_NE, _NO)

    def from_categorical(self, x) -> MicroCell | None:
        try:
            return MicroCell([int(v) for v in x])
        except (InvalidSpecError, TypeError, ValueError):
            return None

    def index(self, cell: MicroCell) -> int:
        return cell._i

    def from_index(self, index: int) -> MicroCell:
        return MicroCell._at(_check_index(index, MICRO_SIZE, "TNB101 micro"))

    def table_describe(self, cells: list) -> dict:
        idx = np.fromiter((c._i for c in cells), dtype=np.int64, count=len(cells))
        keys = _micro_keys()
        ops = np.array([_micro_codes()[i] for i in idx.tolist()], dtype=np.uint8).reshape(-1, _NE)
        canon = np.fromiter((keys[i] for i in idx.tolist()), dtype=np.uint64, count=idx.size)
        return {"key": index_keys(idx), "index": idx, "ops": ops, "canonical": canon}

    def table_find_one(self, index, cell) -> int:
        if type(cell) is MicroCell:
            return index.find_one(cell._i, 0)
        return super().table_find_one(index, cell)

    def table_label(self, arrays: dict, row: int) -> str:
        return MicroCell._at(int(arrays["index"][row])).to_string()


# ---------------------------------------------------------------- macro
class MacroCell:
    """A TNB101 macro network: 4 to 6 layer codes 1..4 (:data:`MACRO_CODES`),
    first layer first. Immutable; equal iff the codes are equal."""

    __slots__ = ("_i",)

    def __init__(self, layers: Sequence):
        if isinstance(layers, str):
            raise InvalidSpecError("use MACRO.parse for a TNB101 macro label")
        codes = _ints(list(layers), "TNB101 macro layer")
        why = _macro_valid(codes)
        if why is not None:
            raise InvalidSpecError(why)
        self._i = _macro_table()[1][codes]

    @classmethod
    def _at(cls, i: int) -> "MacroCell":
        cell = cls.__new__(cls)
        cell._i = i
        return cell

    @property
    def codes(self) -> tuple[int, ...]:
        """The layer codes (4 to 6 of 1..4), first layer first."""
        return _macro_table()[0][self._i]

    def to_string(self) -> str:
        """The authors' architecture string, ``64-<codes>-basic``."""
        return f"64-{''.join(map(str, self.codes))}-basic"

    def index(self) -> int:
        """Position in our order: by length, then lexicographic."""
        return self._i

    def __eq__(self, other) -> bool:
        if not isinstance(other, MacroCell):
            return NotImplemented
        return self._i == other._i

    def __hash__(self) -> int:
        return hash(("tnb101_macro", self._i))

    def __repr__(self) -> str:
        return f"MacroCell({list(self.codes)})"


_MACRO_LABEL = re.compile(r"^64-([1-4]{4,6})-basic$")


def _parse_macro(text: str) -> MacroCell:
    m = _MACRO_LABEL.match(text)
    codes = tuple(int(ch) for ch in m.group(1)) if m else _tuple_text(text)
    if codes is None:
        raise InvalidSpecError(f"{text!r} is not a TNB101 macro label: give '64-1234-basic' (4 to 6 layer codes "
                               "1..4) or NASLib's '(1, 2, 3, 4)'")
    return MacroCell(tuple(c for c in codes if c != 0))  # NASLib pads its tuples with zeros


@functools.lru_cache(maxsize=1)
def _macro_neighbours() -> tuple:
    """The neighbours of every macro network, by index: one layer's code
    changed, one layer inserted (a code before a position, or at the end) or
    one layer removed, whatever keeps it a network; in that order."""
    codes, index = _macro_table()
    out = []
    for c in codes:
        cand = [c[:k] + (v,) + c[k + 1:] for k in range(len(c)) for v in range(1, 5) if v != c[k]]
        cand += [c[:k] + (v,) + c[k:] for k in range(len(c) + 1) for v in range(1, 5)]
        cand += [c[:k] + c[k + 1:] for k in range(len(c))]
        seen, keep = set(), []
        for n in cand:
            i = index.get(n)
            if i is not None and i not in seen:
                seen.add(i)
                keep.append(i)
        out.append(tuple(keep))
    return tuple(out)


class MacroSpace(SearchSpace):
    """TransNAS-Bench-101's macro space: 3,256 networks of 4 to 6 residual
    layers coded 1..4, labelled by the authors' string ``64-1234-basic``."""

    name = "tnb101_macro"
    title = "TransNAS-Bench-101 macro"
    cell_type = MacroCell
    size = MACRO_SIZE
    encodings = ("onehot",)
    predictor_encoding = "onehot"
    table_description = ("index", "layers", "canonical")
    strategy_defaults = {"regularized_evolution": dict(_RE_DEFAULTS)}

    def parse(self, spec) -> MacroCell:
        if isinstance(spec, MacroCell):
            return spec
        if isinstance(spec, bytes):
            spec = spec.decode("ascii", "replace")
        if isinstance(spec, str):
            return _parse_macro(spec.strip())
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return MacroCell._at(_check_index(spec, MACRO_SIZE, "TNB101 macro"))
        if isinstance(spec, dict) and "index" in spec:
            return MacroCell._at(_check_index(spec["index"], MACRO_SIZE, "TNB101 macro"))
        if isinstance(spec, (list, tuple, np.ndarray)):
            return MacroCell(list(spec))
        raise InvalidSpecError(f"cannot use {type(spec).__name__} {spec!r} as a TNB101 macro cell: give a "
                               "MacroCell, a label '64-1234-basic', an index or 4 to 6 layer codes")

    def label(self, cell: MacroCell) -> str:
        return cell.to_string()

    def sample(self, rng) -> MacroCell:
        """Uniform over the 3,256 networks (NASLib samples the length, then the
        counts, then a permutation: not uniform)."""
        if hasattr(rng, "below"):
            return MacroCell._at(rng.below(MACRO_SIZE))
        return MacroCell._at(int(check_rng(rng).integers(MACRO_SIZE)))

    def mutate(self, cell: MacroCell, rng) -> MacroCell:
        """A uniformly chosen neighbour (:meth:`neighbours`)."""
        nbrs = _macro_neighbours()[cell._i]
        k = rng.below(len(nbrs)) if hasattr(rng, "below") else int(
            check_rng(getattr(rng, "generator", rng)).integers(len(nbrs)))
        return MacroCell._at(nbrs[k])

    def neighbours(self, cell: MacroCell) -> list:
        """Every network one edit away: a layer's code changed, a layer
        inserted or removed (staying within the space's rules), in that order."""
        return [MacroCell._at(i) for i in _macro_neighbours()[cell._i]]

    def canonical(self, cell: MacroCell) -> int:
        """1 + the index: every code sequence is its own network."""
        return cell._i + 1

    def encode(self, cells, kind: str | None = None) -> np.ndarray:
        """``onehot``: (N, 30) float32, per position 0..5 one of 5 (no layer, codes 1..4)."""
        kind = kind or self.encodings[0]
        if kind != "onehot":
            raise ValueError(f"unknown encoding kind {kind!r}; TNB101 macro has 'onehot'")
        x = np.stack([self.categorical(c) for c in cells]) if len(cells) else np.zeros((0, _MAX_LAYERS), np.int64)
        out = np.zeros((len(x), _MAX_LAYERS, 5), dtype=np.float32)
        np.put_along_axis(out, x[..., None], 1.0, axis=2)
        return out.reshape(len(x), _MAX_LAYERS * 5)

    def categorical(self, cell: MacroCell) -> np.ndarray:
        """The layer codes padded with zeros (no layer) to 6, as NASLib's op indices."""
        c = cell.codes
        return np.array(c + (0,) * (_MAX_LAYERS - len(c)), dtype=np.int64)

    def categorical_sizes(self) -> np.ndarray:
        return np.full(_MAX_LAYERS, 5)

    def from_categorical(self, x) -> MacroCell | None:
        """The network of the vector's nonzero entries in order (NASLib drops
        zeros the same way), None when they are not a network."""
        codes = tuple(int(v) for v in x if int(v) != 0)
        i = _macro_table()[1].get(codes)
        return None if i is None else MacroCell._at(i)

    def index(self, cell: MacroCell) -> int:
        return cell._i

    def from_index(self, index: int) -> MacroCell:
        return MacroCell._at(_check_index(index, MACRO_SIZE, "TNB101 macro"))

    def table_describe(self, cells: list) -> dict:
        idx = np.fromiter((c._i for c in cells), dtype=np.int64, count=len(cells))
        layers = np.array([self.categorical(c) for c in cells], dtype=np.uint8).reshape(-1, _MAX_LAYERS)
        return {"key": index_keys(idx), "index": idx, "layers": layers, "canonical": (idx + 1).astype(np.uint64)}

    def table_find_one(self, index, cell) -> int:
        if type(cell) is MacroCell:
            return index.find_one(cell._i, 0)
        return super().table_find_one(index, cell)

    def table_label(self, arrays: dict, row: int) -> str:
        return MacroCell._at(int(arrays["index"][row])).to_string()


#: The registered micro space object.
MICRO = MicroSpace()
#: The registered macro space object.
MACRO = MacroSpace()
