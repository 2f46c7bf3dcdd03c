"""Tabular benchmarks in HDF5 (format: docs/FORMAT.md).

- :class:`Benchmark`: lazy reader with O(1) batched lookups and a cost model.
- :class:`TableWriter`: builds a table and writes it atomically.
- :func:`append_result` / :func:`compact`: the crash-safe journal for newly
  trained results; :func:`repair_journal` salvages a damaged one.
"""
from .errors import (CellNotInTable, CorruptJournal, InvalidResult, StaleJournal, TableError, TableFormatError,
                     UnknownName)
from .journal import RepairReport, append_result, append_results, compact, read_journal, repair_journal
from .reader import Benchmark
from .writer import TableBuilder, TableWriter

__all__ = [
    "Benchmark", "CellNotInTable", "CorruptJournal", "InvalidResult", "RepairReport", "StaleJournal",
    "TableBuilder", "TableError", "TableFormatError",
    "TableWriter", "UnknownName", "append_result", "append_results", "compact", "read_journal", "repair_journal",
]
