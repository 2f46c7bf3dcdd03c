"""How each search space names its cells in a table: a 128-bit key per cell
(NB101: the official MD5 hash; NB201: the official index in the low word)
plus the arrays that describe the cell."""
from __future__ import annotations

import numpy as np

from .. import _core
from .._errors import InvalidSpecError
from ..spaces import nb101, nb201


def _is_scalar_cell(cells) -> bool:
    # Anything not iterable (a float, None, ...) is one cell, which the adapter
    # then rejects with a message, rather than a TypeError from iterating it.
    return (isinstance(cells, (str, bytes, int, np.integer, nb101.Cell, nb201.Cell, dict))
            or not hasattr(cells, "__iter__"))


class Nb101Adapter:
    name = "nb101"
    description = ("hash", "matrix", "labels", "num_vertices", "canonical")

    def cells_of(self, cells) -> list:
        """Cells (or {"matrix", "ops"} dicts) as nb101.Cell objects, for writing."""
        out = []
        for c in cells:
            if isinstance(c, nb101.Cell):
                out.append(c)
            elif isinstance(c, dict):
                out.append(nb101.Cell(c["matrix"], c["ops"]))
            else:
                raise InvalidSpecError(
                    f"an NB101 table row needs the cell itself (nb101.Cell or {{'matrix', 'ops'}}), "
                    f"got {type(c).__name__}; a hash alone does not say which cell it is"
                )
        return out

    def describe(self, cells: list) -> dict:
        return self.describe_arrays(*nb101._stack(cells))

    def describe_arrays(self, matrices, labels) -> dict:
        """The description of N cells given as batch arrays (raises on an invalid one)."""
        m, lab, nv = nb101.prune_many(matrices, labels, layout="end")
        hashes = nb101.hash_many(matrices, labels, threads=None)
        return {
            "key": _core.hex_to_keys(hashes.astype("S32")),
            "hash": hashes.astype("S32"),
            "matrix": m,
            "labels": lab,
            "num_vertices": nv.astype(np.int8),
            "canonical": nb101.canonical_many(matrices, labels, threads=None),
        }

    def keys(self, cells) -> np.ndarray:
        """(M, 2) uint64 keys of hashes (str / S32 / U32 arrays) or cells."""
        if isinstance(cells, np.ndarray) and cells.dtype.kind in "SU":
            return _core.hex_to_keys(cells)
        hashes = []
        for c in cells:
            if isinstance(c, nb101.Cell):
                hashes.append(c.hash())
            elif isinstance(c, dict):
                hashes.append(nb101.Cell(c["matrix"], c["ops"]).hash())
            elif isinstance(c, (str, bytes)):
                hashes.append(c.decode() if isinstance(c, bytes) else c)
            else:
                raise InvalidSpecError(
                    f"cannot look up {c!r} in an NB101 table: give an nb101.Cell or its 32-character hash"
                )
        return _core.hex_to_keys(np.array(hashes, dtype="U32")) if hashes else np.zeros((0, 2), np.uint64)

    def cell_at(self, arrays: dict, row: int) -> nb101.Cell:
        n = int(arrays["num_vertices"][row])
        return nb101.Cell.from_labels(arrays["matrix"][row, :n, :n], arrays["labels"][row, :n])

    def label(self, arrays: dict, row: int) -> str:
        return arrays["hash"][row].decode()


class Nb201Adapter:
    name = "nb201"
    description = ("index", "ops", "canonical")

    def _index(self, c) -> int:
        if isinstance(c, nb201.Cell):
            return c.index()
        if isinstance(c, (str, bytes)):
            return nb201.index_of(c.decode() if isinstance(c, bytes) else c)
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not 0 <= int(c) < nb201.NUM_CELLS:
                raise InvalidSpecError(f"NB201 index {int(c)} is outside 0..{nb201.NUM_CELLS - 1}")
            return int(c)
        raise InvalidSpecError(
            f"cannot use {c!r} as an NB201 cell: give an nb201.Cell, an arch string or an official index"
        )

    def indices(self, cells) -> np.ndarray:
        if isinstance(cells, np.ndarray) and cells.dtype.kind in "iu":
            idx = cells.astype(np.int64, copy=False).reshape(-1)
            bad = (idx < 0) | (idx >= nb201.NUM_CELLS)
            if bad.any():
                raise InvalidSpecError(
                    f"NB201 index {int(idx[bad][0])} is outside 0..{nb201.NUM_CELLS - 1}"
                )
            return idx
        return np.array([self._index(c) for c in cells], dtype=np.int64)

    def cells_of(self, cells) -> list:
        return [nb201.Cell.from_index(i) for i in self.indices(cells)]

    def describe(self, cells: list) -> dict:
        idx = np.array([c.index() for c in cells], dtype=np.int64)
        codes = np.array([c.codes for c in cells], dtype=np.uint8).reshape(-1, nb201.NUM_EDGES)
        keys, _ = _core.nb201_canonical(codes)
        return {"key": self.index_keys(idx), "index": idx, "ops": codes, "canonical": keys}

    @staticmethod
    def index_keys(idx: np.ndarray) -> np.ndarray:
        k = np.zeros((idx.size, 2), dtype=np.uint64)
        k[:, 0] = idx
        return k

    def keys(self, cells) -> np.ndarray:
        return self.index_keys(self.indices(cells))

    def cell_at(self, arrays: dict, row: int) -> nb201.Cell:
        return nb201.Cell.from_index(int(arrays["index"][row]))

    def label(self, arrays: dict, row: int) -> str:
        return nb201.arch_string(int(arrays["index"][row]))


ADAPTERS = {"nb101": Nb101Adapter(), "nb201": Nb201Adapter()}


def adapter(space: str):
    try:
        return ADAPTERS[space]
    except KeyError:
        raise InvalidSpecError(f"unknown search space {space!r}; known: {', '.join(ADAPTERS)}") from None
