"""Search spaces: typed Python facades over the compiled core, one module per
space, each with a :class:`~nasbench_suite.spaces.base.SearchSpace` object
registered by name.

- :mod:`nasbench_suite.spaces.nb101`: NAS-Bench-101 cells (Ying et al., 2019).
- :mod:`nasbench_suite.spaces.nb201`: NAS-Bench-201 / NATS-Bench topology cells
  (Dong & Yang, 2020).
- :mod:`nasbench_suite.spaces.macro`: NAS-Bench-Macro (Su et al., 2021).
- :mod:`nasbench_suite.spaces.graph`: NAS-Bench-Graph (Qin et al., 2022), two
  spaces: the full op list and the proteins op list.
- :mod:`nasbench_suite.spaces._tnb101`: TransNAS-Bench-101 micro and macro
  (Duan et al., 2021).

>>> from nasbench_suite import spaces
>>> spaces.names()
('graph', 'graph_proteins', 'macro', 'nb101', 'nb201', 'tnb101_macro', 'tnb101_micro')
>>> space = spaces.get("nb201")      # what strategies, tables and the CLI hold
"""
from __future__ import annotations

from types import ModuleType

from . import graph, macro, nb101, nb201
from .base import DEDUP_MODES, SearchSpace, Stream

_REGISTRY: dict[str, SearchSpace] = {}


def register(space: SearchSpace) -> SearchSpace:
    """Adds a space under its ``name`` (a second space of the same name is refused)."""
    if not isinstance(space, SearchSpace):
        raise TypeError(f"register takes a SearchSpace instance, got {type(space).__name__}")
    other = _REGISTRY.get(space.name)
    if other is not None and other is not space:
        raise ValueError(f"a search space named {space.name!r} is already registered ({other!r})")
    _REGISTRY[space.name] = space
    return space


def names() -> tuple[str, ...]:
    """Registered space names, sorted."""
    return tuple(sorted(_REGISTRY))


def get(space) -> SearchSpace:
    """The registered space of a name, a space module (``spaces.nb201``) or a
    space object (returned as it is). An unknown name lists the known ones."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, ModuleType) and isinstance(getattr(space, "SPACE", None), SearchSpace):
        return space.SPACE
    if isinstance(space, bytes):
        space = space.decode()
    if isinstance(space, str) and space in _REGISTRY:
        return _REGISTRY[space]
    raise ValueError(f"unknown search space {space!r}; registered: {', '.join(names())}")


def is_cell(obj) -> bool:
    """Whether ``obj`` is a cell of some registered space."""
    return isinstance(obj, tuple(s.cell_type for s in _REGISTRY.values()))


for _module in (macro, nb101, nb201):
    register(_module.SPACE)
register(graph.SPACE)
register(graph.PROTEINS)
from . import _tnb101  # noqa: E402  (its spaces ask the registry for NB201's machinery)

register(_tnb101.MICRO)
register(_tnb101.MACRO)

__all__ = ["DEDUP_MODES", "SearchSpace", "Stream", "get", "graph", "is_cell", "macro", "names", "nb101",
           "nb201", "register"]
