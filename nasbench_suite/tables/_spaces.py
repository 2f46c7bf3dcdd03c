"""The search space of a table, by the name its file records: the registered
:class:`~nasbench_suite.spaces.SearchSpace` answers how cells are keyed and
described (``table_*`` methods); this module only turns an unknown name into
the tables' error."""
from __future__ import annotations

from .. import spaces
from .._errors import InvalidSpecError
from ..spaces.base import SearchSpace


def table_space(space) -> SearchSpace:
    """The registered space of a name (or a space object); InvalidSpecError
    listing the registered ones for an unknown name."""
    try:
        return spaces.get(space)
    except ValueError:
        raise InvalidSpecError(f"unknown search space {space!r}; known: {', '.join(spaces.names())}") from None


def is_scalar_cell(space: SearchSpace, cells) -> bool:
    """Whether ``cells`` is one cell (of ``space``, or any value that is not a
    sequence) rather than a sequence of cells."""
    return space.is_scalar_cell(cells) or spaces.is_cell(cells)


def no_class_lookup(space: str) -> str:
    """The message for lookup="class" on a space that has none."""
    have = [n for n in spaces.names() if spaces.get(n).class_lookup]
    return f"lookup='class' is not defined for {space} tables (spaces with class lookup: {', '.join(have)})"
