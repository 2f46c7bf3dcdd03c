"""NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with
Monto-Carlo Tree Search", CVPR 2021; xiusu/NAS-Bench-Macro).

A network is a chain of 8 searchable layers, each one of 3 :data:`OPS`,
written as 8 digits, first layer first: ``"01201122"``. The 3^8 = 6,561
strings are indexed by their base-3 value (first layer most significant),
the natural order of ``itertools.product`` in which the authors enumerate
them; the public JSON lists its keys in another order (the trained
architectures first, in directory-listing order), so its key order is not an
index.

The network (the authors' ``train/model.py``; :data:`STAGES` and the
constants below): a stem 3x3 conv (3 -> 32 channels) + BN + ReLU; three
stages of 2, 3 and 3 layers whose first layer has stride 2 and doubles the
channels (32 -> 64, 64 -> 128, 128 -> 256), the other layers keeping shape;
a head 1x1 conv to 1280 channels + BN + ReLU, global average pool and a
linear classifier. MobileNetV2 blocks whose input and output shapes match
add a residual shortcut.

**Identity is not always the identity.** At a stage's first layer the
``id`` choice cannot pass its input through (stride 2, channels doubled):
the authors build it as a 1x1 conv with stride 2 + BN. Elsewhere it is the
true identity, so a stage's remaining layers are a sequence in which the
identity layers change nothing: moving them gives the same network.

**Canonical key** (:meth:`Cell.canonical`): in each stage keep the first
layer's choice, then the stage's other non-identity choices in their order,
then the identity layers. So ``01|201|122`` and ``01|210|122`` are one
network (the identity moves within stage 2), while ``01|212|122`` and
``01|221|122`` differ (the order of two blocks matters) and so do
``10|...`` and ``01|...`` (layer 0 is a stage's first layer). This is the
authors' own ``get_real_arch``: they trained one representative per class
and copied its results to the others, so architectures with equal keys hold
equal values in the JSON (tested). The 6,561 strings form
3 * 3 * 3 * 7 * 3 * 7 = **3,969** networks (3 choices for each stage's first
layer; 3 for stage 1's second layer; 1 + 2 + 4 = 7 non-identity sequences of
length <= 2 for the other two layers of stages 2 and 3). The key is 1 + the index of the representative, never 0 (0
means "no network" in class-lookup tables, docs/FORMAT.md).
"""
from __future__ import annotations

import functools
import itertools
from typing import Sequence

import numpy as np

from .._errors import InvalidSpecError
from ._arrays import check_rng

#: Choices, in code order (xiusu/NAS-Bench-Macro README "Search Space": Identity
#: encoded as '0', MB3_K3, MB6_K5; train/model.py ``candidate_OP``): the
#: identity, a MobileNetV2 inverted-residual block with kernel 3 and expansion 3,
#: and one with kernel 5 and expansion 6.
OPS = ("id", "ir_3x3_t3", "ir_5x5_t6")
#: (kernel, expansion) of the MobileNetV2 choices; None for the identity.
BLOCKS = (None, (3, 3), (5, 6))
#: Searchable layers per network (8).
NUM_LAYERS = 8
#: Choices per layer (3): the length of :data:`OPS`.
NUM_CHOICES = len(OPS)
#: Architecture strings in the space: 3 ** 8 = 6,561.
NUM_ARCHS = NUM_CHOICES ** NUM_LAYERS  # 6,561
ONEHOT_ENCODING_SIZE = NUM_LAYERS * NUM_CHOICES  # 24
NUM_CLASSES_OF_NETWORKS = 3969  # distinct networks (canonical keys), see the module docstring

# Network layout (train/model.py ``Network``: stages=[2, 3, 3], init_channels=32,
# a 1280-channel head; every stage's first layer has stride 2 and doubles the width).
#: Layers per stage (2, 3, 3); each stage's first layer has stride 2 and doubles the width.
STAGES = (2, 3, 3)
#: Output channels of the stem 3x3 conv (32).
STEM_CHANNELS = 32
#: Channels of the head 1x1 conv before pooling and the classifier (1280).
HEAD_CHANNELS = 1280
#: Input image side in pixels (32: CIFAR-10 images).
INPUT_SIZE = 32  # CIFAR-10 images
#: Indices of the layers that start a stage (stride 2): (0, 2, 5).
REDUCTION_LAYERS = tuple(itertools.accumulate((0,) + STAGES[:-1]))  # (0, 2, 5)
STAGE_OF_LAYER = tuple(s for s, n in enumerate(STAGES) for _ in range(n))

_POW = tuple(NUM_CHOICES ** (NUM_LAYERS - 1 - i) for i in range(NUM_LAYERS))  # first layer most significant
_CODE_OF = {op: i for i, op in enumerate(OPS)}
_DIGITS = {str(i): i for i in range(NUM_CHOICES)}
_NAME = "NAS-Bench-Macro"

__all__ = [
    "BLOCKS", "Cell", "HEAD_CHANNELS", "INPUT_SIZE", "NUM_ARCHS", "NUM_CHOICES", "NUM_LAYERS", "OPS",
    "REDUCTION_LAYERS", "STAGES", "STEM_CHANNELS", "all_codes", "canonical_classes", "encode",
    "layer_shapes", "mutate", "neighbours", "sample",
]


def layer_shapes() -> tuple[tuple[int, int, int, int], ...]:
    """(in channels, out channels, stride, input resolution) of each of the 8
    layers on a 32x32 input."""
    out, c, size = [], STEM_CHANNELS, INPUT_SIZE
    for layer in range(NUM_LAYERS):
        if layer in REDUCTION_LAYERS:
            out.append((c, 2 * c, 2, size))
            c, size = 2 * c, (size + 1) // 2
        else:
            out.append((c, c, 1, size))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _codes_by_index() -> tuple:
    """The 8 codes of every index, as tuples (itertools.product order = index order)."""
    return tuple(itertools.product(range(NUM_CHOICES), repeat=NUM_LAYERS))


def _representative(codes: Sequence[int]) -> tuple:
    """The class representative: per stage, the first layer, then the other
    non-identity layers in order, then the identities (the authors' get_real_arch)."""
    out, pos = [], 0
    for n in STAGES:
        stage = codes[pos:pos + n]
        rest = [c for c in stage[1:] if c != 0]
        out += [stage[0], *rest] + [0] * (n - 1 - len(rest))
        pos += n
    return tuple(out)


def _index_of_codes(codes: Sequence[int]) -> int:
    return sum(c * p for c, p in zip(codes, _POW))


@functools.lru_cache(maxsize=1)
def _keys_by_index() -> tuple:
    """Canonical key of every index (1 + the representative's index)."""
    return tuple(1 + _index_of_codes(_representative(c)) for c in _codes_by_index())


def _check_index(index) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise InvalidSpecError(f"a {_NAME} index must be an integer in 0..{NUM_ARCHS - 1}, "
                               f"got {type(index).__name__} {index!r}")
    i = int(index)
    if not 0 <= i < NUM_ARCHS:
        raise InvalidSpecError(f"a {_NAME} index must be in 0..{NUM_ARCHS - 1}, got {i}")
    return i


def _parse(text) -> int:
    """The index of a label string such as ``"01201122"``."""
    if not isinstance(text, str):
        raise InvalidSpecError(f"a {_NAME} label must be a str of {NUM_LAYERS} digits 0-2, "
                               f"got {type(text).__name__} {text!r}")
    s = text.strip()
    if len(s) != NUM_LAYERS:
        raise InvalidSpecError(f"a {_NAME} label has {NUM_LAYERS} characters, one choice per layer; "
                               f"{text!r} has {len(s)}")
    i = 0
    for pos, ch in enumerate(s):
        code = _DIGITS.get(ch)
        if code is None:
            raise InvalidSpecError(f"{_NAME} label {text!r}: character {ch!r} at position {pos} is not a "
                                   f"choice; each layer is 0 ({OPS[0]}), 1 ({OPS[1]}) or 2 ({OPS[2]})")
        i = i * NUM_CHOICES + code
    return i


class Cell:
    """A NAS-Bench-Macro architecture: the choice (0..2, or an op name of
    :data:`OPS`) of each of the 8 layers, first layer first. Immutable;
    equal cells have equal :meth:`index`."""

    __slots__ = ("_i",)

    def __init__(self, choices: Sequence):
        if isinstance(choices, (str, bytes)):
            raise InvalidSpecError("use macro.Cell.from_string for a label string such as '01201122'")
        try:
            items = list(choices)
        except TypeError:
            raise InvalidSpecError(f"a {_NAME} cell takes a sequence of {NUM_LAYERS} choices, "
                                   f"got {type(choices).__name__} {choices!r}") from None
        if len(items) != NUM_LAYERS:
            raise InvalidSpecError(f"a {_NAME} cell has {NUM_LAYERS} layers, got {len(items)} choices")
        i = 0
        for pos, c in enumerate(items):
            if isinstance(c, str):
                if c not in _CODE_OF:
                    raise InvalidSpecError(f"layer {pos}: unknown op {c!r} (ops: {', '.join(OPS)})")
                code = _CODE_OF[c]
            elif isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < NUM_CHOICES:
                code = int(c)
            else:
                raise InvalidSpecError(f"layer {pos}: choice {c!r} is not an integer in 0..{NUM_CHOICES - 1} "
                                       f"or an op name ({', '.join(OPS)})")
            i = i * NUM_CHOICES + code
        self._i = i

    @classmethod
    def _at(cls, index: int) -> "Cell":
        cell = cls.__new__(cls)
        cell._i = index
        return cell

    @classmethod
    def from_string(cls, label: str) -> "Cell":
        """Parses a label of 8 digits 0-2, e.g. ``"01201122"`` (the JSON's keys)."""
        return cls._at(_parse(label))

    @classmethod
    def from_index(cls, index: int) -> "Cell":
        """The cell at an index (the base-3 value of its label)."""
        return cls._at(_check_index(index))

    @property
    def codes(self) -> tuple[int, ...]:
        """The 8 choice codes."""
        return _codes_by_index()[self._i]

    @property
    def ops(self) -> tuple[str, ...]:
        """The 8 op names of :data:`OPS`, first layer first."""
        return tuple(OPS[c] for c in self.codes)

    def to_string(self) -> str:
        """The label of 8 digits (what :meth:`from_string` parses)."""
        return "".join(map(str, self.codes))

    def index(self) -> int:
        """The base-3 value of the label, first layer most significant (the
        natural order; not the JSON's key order)."""
        return self._i

    def canonical(self) -> "Cell":
        """The representative of the cell's class: identity layers after a
        stage's other layers (see the module docstring)."""
        return Cell._at(_keys_by_index()[self._i] - 1)

    def canonical_key(self) -> int:
        """Equal iff the same network (1 + the representative's index)."""
        return _keys_by_index()[self._i]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        return self._i == other._i

    def __hash__(self) -> int:
        return hash(("macro", self._i))

    def __repr__(self) -> str:
        return f"macro.Cell.from_string({self.to_string()!r})"


def sample(rng: np.random.Generator) -> Cell:
    """A uniformly random architecture (each layer's choice uniform)."""
    check_rng(rng)
    return Cell._at(int(rng.integers(NUM_ARCHS)))


def mutate(cell: Cell, rng: np.random.Generator) -> Cell:
    """One uniformly chosen layer changed to a uniformly chosen different choice."""
    check_rng(rng)
    return _neighbour(cell._i, int(rng.integers(NUM_LAYERS * (NUM_CHOICES - 1))))


def _neighbour(i: int, k: int) -> Cell:
    """Neighbour ``k`` (0..15) of index ``i``: layer k // 2, the (k % 2)-th other choice."""
    p = _POW[k >> 1]
    old = (i // p) % NUM_CHOICES
    new = k & 1
    new += new >= old
    return Cell._at(i + (new - old) * p)


def neighbours(cell: Cell) -> list[Cell]:
    """The 16 cells one layer away: layers in order, choices in code order."""
    i = cell._i
    return [_neighbour(i, k) for k in range(NUM_LAYERS * (NUM_CHOICES - 1))]


@functools.lru_cache(maxsize=1)
def all_codes() -> np.ndarray:
    """Choice codes of every architecture in index order, uint8 (6,561, 8), read-only."""
    out = np.array(_codes_by_index(), dtype=np.uint8)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=1)
def canonical_classes() -> np.ndarray:
    """Each architecture's network class in index order: 0.. numbered by first
    appearance (3,969 classes). int64 (6,561,), read-only."""
    keys = np.array(_keys_by_index(), dtype=np.int64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    out = rank[inverse.reshape(-1)]
    out.setflags(write=False)
    return out


def _indices_of(cells) -> np.ndarray:
    try:
        return np.fromiter((c._i for c in cells), dtype=np.int64)
    except AttributeError:
        raise InvalidSpecError(f"{_NAME} encodings take macro.Cell objects") from None


def encode(cells: Sequence[Cell], kind: str = "onehot") -> np.ndarray:
    """``"onehot"``: (N, 24) float32, the one-hot choice of each layer in layer order."""
    if kind != "onehot":
        raise ValueError(f"unknown encoding kind {kind!r}; {_NAME} has 'onehot'")
    codes = all_codes()[_indices_of(cells)]
    out = np.zeros((codes.shape[0], NUM_LAYERS, NUM_CHOICES), dtype=np.float32)
    np.put_along_axis(out, codes[..., None].astype(np.int64), 1.0, axis=2)
    return out.reshape(codes.shape[0], ONEHOT_ENCODING_SIZE)


# ---------------------------------------------------------------- the protocol
from .base import SearchSpace, index_keys  # noqa: E402  (base imports nothing of this module)


class MacroSpace(SearchSpace):
    """NAS-Bench-Macro as a :class:`~nasbench_suite.spaces.base.SearchSpace`:
    cells are 8 choice codes, labelled by their 8-digit string, indexed by its
    base-3 value; tables may keep one row per network (class lookup)."""

    name = "macro"
    title = "NAS-Bench-Macro"
    cell_type = Cell
    size = NUM_ARCHS
    encodings = ("onehot",)
    predictor_encoding = "onehot"
    table_description = ("index", "choices", "canonical")
    class_lookup = True
    # The Macro paper and repository publish no regularized-evolution settings.
    # NB201's (population 10, tournament 3; Dong & Yang 2020) fit best: a space
    # of the same order of size (6,561 vs 15,625) with the same mutation (one
    # position changed to another of its choices).
    strategy_defaults = {"regularized_evolution": {"population_size": 10, "sample_size": 3}}

    def parse(self, spec) -> Cell:
        if isinstance(spec, Cell):
            return spec
        if isinstance(spec, bytes):
            spec = spec.decode("ascii", "replace")
        if isinstance(spec, str):
            return Cell._at(_parse(spec))
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return Cell._at(_check_index(spec))
        if isinstance(spec, dict) and "index" in spec:
            return Cell._at(_check_index(spec["index"]))
        if isinstance(spec, dict) and "choices" in spec:
            return Cell(spec["choices"])
        if isinstance(spec, (list, tuple, np.ndarray)):
            return Cell(spec)
        raise InvalidSpecError(f"cannot use {type(spec).__name__} {spec!r} as a {_NAME} cell: give a "
                               "macro.Cell, a label such as '01201122', an index or a list of 8 choices")

    def label(self, cell: Cell) -> str:
        return cell.to_string()

    def sample(self, rng) -> Cell:
        if hasattr(rng, "below"):  # a strategy's Stream: one draw
            return Cell._at(rng.below(NUM_ARCHS))
        return sample(rng)

    def mutate(self, cell: Cell, rng) -> Cell:
        if hasattr(rng, "below"):
            return _neighbour(cell._i, rng.below(NUM_LAYERS * (NUM_CHOICES - 1)))
        return mutate(cell, rng)

    def neighbours(self, cell: Cell) -> list:
        return neighbours(cell)

    def canonical(self, cell: Cell) -> int:
        return _keys_by_index()[cell._i]

    def encode(self, cells, kind: str | None = None) -> np.ndarray:
        return encode(cells, kind or self.encodings[0])

    def categorical(self, cell: Cell) -> np.ndarray:
        """The 8 choice codes."""
        return np.array(cell.codes, dtype=np.int64)

    def categorical_sizes(self) -> np.ndarray:
        return np.full(NUM_LAYERS, NUM_CHOICES)

    def from_categorical(self, x) -> Cell | None:
        try:
            return Cell([int(v) for v in x])
        except (InvalidSpecError, TypeError, ValueError):
            return None

    # ---- enumeration and tables
    def index(self, cell: Cell) -> int:
        return cell._i

    def from_index(self, index: int) -> Cell:
        return Cell.from_index(index)

    def all_canonical_keys(self) -> np.ndarray:
        return np.array(_keys_by_index(), dtype=np.uint64)

    def table_describe(self, cells: list) -> dict:
        idx = np.fromiter((c._i for c in cells), dtype=np.int64, count=len(cells))
        keys = _keys_by_index()
        return {"key": index_keys(idx), "index": idx, "choices": all_codes()[idx].copy(),
                "canonical": np.fromiter((keys[i] for i in idx.tolist()), dtype=np.uint64, count=idx.size)}

    def table_find_one(self, index, cell) -> int:
        if type(cell) is Cell:
            return index.find_one(cell._i, 0)
        return super().table_find_one(index, cell)

    def table_label(self, arrays: dict, row: int) -> str:
        return Cell._at(int(arrays["index"][row])).to_string()


SPACE = MacroSpace()
