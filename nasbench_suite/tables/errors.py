"""Errors of the table layer. Every message names the file, what is wrong and what to do."""
from __future__ import annotations


class TableError(Exception):
    """Base class of table errors."""


class TableFormatError(TableError, ValueError):
    """A file that is missing, truncated, corrupt, of another format or of an
    unsupported format version."""


class CellNotInTable(TableError, LookupError):
    """A cell the table does not hold (pass ``missing="nan"`` to get NaN instead)."""


class UnknownName(TableError, KeyError):
    """An unknown dataset, metric, fidelity or seed."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StaleJournal(TableFormatError):
    """A ``<table>.journal`` that belongs to another table: the table was
    rewritten (``TableWriter(overwrite=True)``, ``import --overwrite``, a
    convert, a copy) after these results were appended, so replaying them
    would give wrong values. The message names both files and the fix."""


class InvalidResult(TableError, ValueError):
    """An ``append_result`` / ``append_results`` argument that breaks a rule
    of the table format (a name, a seed, a fidelity, a value); nothing was
    written. The message names the argument and the rule."""


class CorruptJournal(TableFormatError):
    """A ``<table>.journal`` damaged somewhere other than a torn last frame
    (the only damage an interrupted append leaves): a bad frame marker, a
    checksum that fails, a length field that runs past the end of the file
    while valid frames follow. Nothing is read from it, so no result after the
    damage is dropped silently; compaction refuses it. The message names the
    journal, the byte offset and what is wrong, and gives the fix:
    ``nasbench-suite repair TABLE`` (:func:`~nasbench_suite.tables.repair_journal`),
    which keeps every valid frame. ``journal`` and ``offset`` hold the file
    and the byte offset of the damaged frame."""

    def __init__(self, message: str, journal: str | None = None, offset: int | None = None):
        super().__init__(message)
        self.journal = journal
        self.offset = offset
