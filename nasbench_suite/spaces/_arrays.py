"""Conversion of user input into the arrays the compiled core takes."""
from __future__ import annotations

import numpy as np

from .._errors import InvalidSpecError


def matrix_codes(matrices, what: str = "matrix") -> np.ndarray:
    """Adjacency input as uint8 codes: 0, 1, or 2 for any other value.

    Integer, boolean and float input with entries exactly 0/1 give the same
    codes, so they are the same cell (the official API hashes a float matrix
    differently; we do not). The core names a code 2 as "not 0 or 1".
    """
    try:
        a = np.asarray(matrices)
    except ValueError as exc:  # ragged nested lists
        raise InvalidSpecError(f"{what} is not a rectangular array: {exc}") from None
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.bool_:
        return np.ascontiguousarray(a).view(np.uint8)
    if a.dtype.kind not in "iuf":
        raise TypeError(
            f"{what} must hold numbers or booleans (0/1 entries), got dtype {a.dtype}"
        )
    codes = np.full(a.shape, 2, dtype=np.uint8)
    codes[a == 0] = 0
    codes[a == 1] = 1
    return codes


def int_labels(labels, what: str = "labels") -> np.ndarray:
    """Integer op labels as contiguous int64."""
    try:
        a = np.asarray(labels)
    except ValueError as exc:
        raise InvalidSpecError(f"{what} is not a rectangular array: {exc}") from None
    if a.dtype.kind not in "iu":
        if a.size == 0:
            a = a.astype(np.int64)
        else:
            raise TypeError(f"{what} must be integers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.int64)


def check_rng(rng) -> np.random.Generator:
    """Randomness only ever comes from an explicit numpy Generator."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    return rng


def seed_from(rng: np.random.Generator) -> int:
    """A 64-bit seed for the core's generator, drawn from the user's Generator."""
    return int(check_rng(rng).integers(0, 2**63, dtype=np.uint64))
