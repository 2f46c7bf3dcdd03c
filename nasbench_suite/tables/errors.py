"""Errors of the table layer. Every message names the file, what is wrong and what to do."""


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
