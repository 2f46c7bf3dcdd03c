"""NAS-Bench-101 in the importer (:mod:`nasbench_suite.tables.importers`):
the ``nb101_hash`` key kind, an official module hash resolved to its cell by
enumerating and hashing the whole space once (~15 s)."""
from __future__ import annotations

import functools
import os

import numpy as np

from ..spaces import nb101
from ._import_files import BadKey


@functools.lru_cache(maxsize=1)
def _space():
    """(hash -> position, matrices, labels, num_vertices) of every NB101 cell,
    the whole space enumerated and hashed once (~15 s)."""
    m, lab, nv = nb101.enumerate_space().cells()
    hashes = np.empty(nv.size, dtype="<U32")
    for n in np.unique(nv):
        idx = np.flatnonzero(nv == n)  # cells are padded at the end: hash each size on its own
        hashes[idx] = nb101.hash_many(np.ascontiguousarray(m[idx, :n, :n]), np.ascontiguousarray(lab[idx, :n]),
                                      threads=os.cpu_count() or 1)
    return {h: i for i, h in enumerate(hashes.tolist())}, m, lab, nv


def cell_of_hash(h: str):
    """The NB101 cell with official hash ``h``, or None."""
    where, m, lab, nv = _space()
    i = where.get(h)
    if i is None:
        return None
    n = int(nv[i])
    return nb101.Cell.from_labels(m[i, :n, :n], lab[i, :n])


def by_hash(space, text, noun: str):
    h = text.lower() if isinstance(text, str) else None
    cell = cell_of_hash(h) if h and len(h) == 32 else None
    if cell is None:
        raise BadKey("is not the official hash of any NAS-Bench-101 cell")
    return cell, h


#: The number of distinct NB101 cells (``nb101.enumerate_space()``): the most
#: data rows an import into the space may hold, though it has no index order.
NUM_CELLS = 423_624
#: The cell count of each finite space without an index order that this module keys.
CELL_COUNTS = {nb101.SPACE.name: NUM_CELLS}

#: Key kinds of NB101 cells: kind -> (space, resolver, what a value is called).
KEY_KINDS = {"nb101_hash": ("nb101", by_hash, "hash")}
