"""Reading the files of an import (:mod:`nasbench_suite.tables.importers`):
the data rows of a CSV, JSON or parquet file, one at a time, and the rules a
value must keep (a number, finite, in its metric's range). Every error is a
:class:`TableImportError` naming the file, the row and the fix.

A CSV file is streamed: the rows are read one by one from the open file and
nothing but the checked numbers is kept, so memory is bounded by the table
(the importer stops at the first row over the space's size or the mapping's
``rows``), not by the file. A parquet file is read in batches after its row
count (in the file's footer) is checked. A JSON file is parsed whole (the
``json`` module has no incremental parser); its rows are then checked the
same way. A pickle (``.pkl``, ``.pickle``, ``.bench``) is read without
executing it (:mod:`._safe_pickle`: plain data, plus the families of globals
the mapping's ``pickle_allow`` names) and then read like JSON."""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import pickle
import re
from dataclasses import dataclass

from . import _safe_pickle
from .errors import TableFormatError

MISSING = {"", "nan", "na", "n/a", "null", "none"}  # text of a missing value (CSV cells, JSON strings)
_ELEMENT = re.compile(r"^(.*)\[(\d+)\]$")  # a column "name[i]": element i of a list
_INFINITE = {"inf", "infinity"}  # float() reads these (with a sign) as infinities
#: The cost model of a table without ``train_time``: 1 simulated second per
#: epoch of the fidelity.
EPOCH_COST = {"kind": "per_epoch", "seconds_per_epoch": 1.0}


class TableImportError(TableFormatError):
    """A public table that does not match its mapping. The message names the
    file, the row and column, and the fix."""


class BadKey(Exception):
    """A key value that names no cell; the message says what it is not
    ("is not ...") and the importer adds the file, the row and the fix."""


class BadValue(Exception):
    """A value that breaks a rule; the message says what is wrong with it
    ("'inf' is not a finite number") and the importer adds the file, the row,
    the column and the fix."""


# ------------------------------------------------------------------ value rules
@dataclass(frozen=True)
class Rule:
    """The values a metric may take: finite, in [low, high] (``low_open``:
    above ``low``), whole numbers when ``integral``."""

    text: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    integral: bool = False

    def keeps(self, x: float) -> bool:
        if not (self.low < x if self.low_open else self.low <= x) or x > self.high:
            return False
        return not self.integral or x.is_integer()


#: The range of a metric's values by its units (docs/FORMAT.md; the units of a
#: metric are the mapping's ``units`` or ``_schema.units_of``). The one place
#: the importer's range checks are defined.
RULES = {
    "percent": Rule("a percentage in [0, 100]", 0.0, 100.0),
    "nats": Rule("a loss >= 0", 0.0),
    "seconds": Rule("a time >= 0", 0.0),
    "count": Rule("a count: a whole number >= 0", 0.0, integral=True),
    "milliseconds": Rule("a latency > 0", 0.0, low_open=True),
}
#: Metrics of other units: any finite number.
FINITE = Rule("a finite number")


def rule_of(units: str) -> Rule:
    return RULES.get(units, FINITE)


def number(v) -> float | None:
    """The float of a raw value (CSV text, a JSON or parquet value), None for
    a missing one (None, an absent field, text in :data:`MISSING`). Raises
    :class:`BadValue` for anything that is not a finite number: other text,
    ``inf``, an overflowing ``1e400``, a NaN or infinite float (JSON's
    ``NaN``/``Infinity``; a missing value is ``null`` there), a bool, a list."""
    if v is None or v is ABSENT:
        return None
    if isinstance(v, str):
        text = v.strip().lower()
        if text in MISSING:
            return None
        try:
            x = float(text)
        except ValueError:
            raise BadValue(f"{v!r} is not a number") from None
        if not math.isfinite(x):
            why = "" if text.lstrip("+-") in _INFINITE else " (it overflows float64)"
            raise BadValue(f"{v!r} is not a finite number{why}")
        return x
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise BadValue(f"{v!r} is not a number")
    try:
        x = float(v)
    except OverflowError:
        raise BadValue(f"{v!r} is not a finite number (it overflows float64)") from None
    if not math.isfinite(x):
        raise BadValue(f"{v!r} is not a finite number")
    return x


# ------------------------------------------------------------------ reading files
ABSENT = object()  # a JSON record without the column


class Rows:
    """The data rows of one file: ``columns`` (the names, known before the
    rows), ``count`` (the number of data rows where the file states it up
    front, else None) and, iterated, ``(row name, record)`` pairs: a record
    maps a column name to its raw value (``record.get(name, ABSENT)``); a row
    name is ``line N`` (CSV, 1-based, the header is line 1), ``record i`` /
    ``row i`` (0-based) or ``entry 'key'`` (JSON). Close it (``with``) to
    close the file."""

    def __init__(self, path: str, columns: list, rows, count: int | None = None, file=None):
        self.path, self.columns, self.count, self._rows, self._file = path, columns, count, rows, file

    def __iter__(self):
        return self._rows

    def close(self) -> None:
        for thing in (self._rows, self._file):  # the file also when the rows were never started
            close = getattr(thing, "close", None)
            if close is not None:
                close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _csv_error(path: str, line: int, exc: csv.Error) -> TableImportError:
    text = " ".join(str(exc).split())
    hint = ("; no key or value of a public table is that long: is it the right file (a binary file, "
            "or a quote never closed)?" if "field larger than field limit" in text else "; fix the file")
    return TableImportError(f"{path}: line {line}: not valid CSV ({text}){hint}")


def _not_utf8(path: str, exc: UnicodeDecodeError) -> TableImportError:
    return TableImportError(f"{path}: not UTF-8 text ({exc}); re-save the file as UTF-8")


def read_csv(path: str, used=()) -> Rows:
    """The rows of a CSV file, read from the open file one at a time (the
    file stays open until the rows are exhausted or closed). ``used``: the
    columns the mapping reads, which the header may not name twice."""
    f = open(path, newline="", encoding="utf-8-sig")
    try:
        reader = csv.reader(f)
        header = next(reader, None)
    except csv.Error as exc:
        f.close()
        raise _csv_error(path, reader.line_num, exc) from None
    except UnicodeDecodeError as exc:
        f.close()
        raise _not_utf8(path, exc) from None
    except BaseException:
        f.close()
        raise
    if header is None:
        f.close()
        raise TableImportError(f"{path}: empty file; expected a header line and data rows")
    twice = sorted({name for name in header if header.count(name) > 1 and name in used})
    if twice:
        f.close()
        raise TableImportError(f"{path}: line 1 names the column {twice[0]!r} twice; rename one of them")
    return Rows(path, list(header), _csv_rows(path, f, reader, header), file=f)


def _csv_rows(path: str, f, reader, header: list):
    with f:
        while True:
            try:
                row = next(reader, None)
            except csv.Error as exc:
                raise _csv_error(path, reader.line_num, exc) from None
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, exc) from None
            if row is None:
                return
            if not row:
                continue
            if len(row) != len(header):
                raise TableImportError(f"{path}: line {reader.line_num} has {len(row)} fields, the "
                                       f"header has {len(header)}; fix the file (quote fields with commas)")
            yield f"line {reader.line_num}", dict(zip(header, row))


def _unique_names(pairs: list) -> dict:
    """``object_pairs_hook``: a JSON object as a dict, refusing a repeated name
    (``json`` keeps the last silently)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _DuplicateName(dup)
    return out


class _DuplicateName(Exception):
    pass


def read_json(path: str, key_column: str) -> Rows:
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f, object_pairs_hook=_unique_names)
        except _DuplicateName as exc:
            raise TableImportError(f"{path}: the name {exc.args[0]!r} appears twice in one JSON object; "
                                   "each key and field may appear once: remove the duplicate") from None
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc) from None
        except ValueError as exc:
            raise TableImportError(f"{path}: not valid JSON ({exc}); fix the file") from None
        except RecursionError:
            raise TableImportError(f"{path}: JSON nested too deeply to be a table; fix the file") from None
    return _records(path, data, key_column)


def read_pickle(path: str, key_column: str, allow=()) -> Rows:
    """The rows of a pickled table (the shapes :func:`read_json` reads), loaded
    with :func:`._safe_pickle.load`: nothing in the file is executed."""
    try:
        data = _safe_pickle.load(path, allow)
    except _safe_pickle.UnsafePickle as exc:
        raise TableImportError(f"{path}: refused: {exc}; this is not the file the recipe is for") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, MemoryError) as exc:
        raise TableImportError(f"{path}: not a readable pickle ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:200]}); the file is damaged") from None
    return _records(path, data, key_column)


def _records(path: str, data, key_column: str) -> Rows:
    """Rows of a parsed JSON or pickle table: ``{column: [values]}``, ``{key:
    record}`` or a list of records."""
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        lengths = {len(v) for v in data.values()}
        if len(lengths) != 1:
            raise TableImportError(f"{path}: columns of different lengths {sorted(lengths)}; fix the file")
        n = lengths.pop()
        rows = ((f"row {i}", {name: col[i] for name, col in data.items()}) for i in range(n))
        return Rows(path, list(data), rows, n)
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        records = [{**v, key_column: k} for k, v in data.items()]
        names = list(dict.fromkeys(k for r in records for k in r))
        return Rows(path, names, ((f"entry {k!r}", r) for k, r in zip(data, records)), len(records))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise TableImportError(f"{path}: expected a list of records, {{key: record}} or {{column: [values]}}")
    names = list(dict.fromkeys(k for r in data for k in r))
    return Rows(path, names, ((f"record {i}", r) for i, r in enumerate(data)), len(data))


def read_parquet(path: str) -> Rows:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TableImportError(f"{path}: reading parquet needs pyarrow (pip install pyarrow), or "
                               "export the table as CSV") from None
    try:
        f = pq.ParquetFile(path)
        names, count = list(f.schema_arrow.names), f.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise TableImportError(f"{path}: not a parquet file ({' '.join(str(exc).split())[:200]}); "
                               "fix the file or give the mapping the right 'format'") from None

    def rows():
        i = 0
        try:
            for batch in f.iter_batches(batch_size=4096):
                for record in batch.to_pylist():
                    yield f"row {i}", record
                    i += 1
        except (pa.ArrowException, OSError) as exc:
            raise TableImportError(f"{path}: row {i}: cannot be read ({' '.join(str(exc).split())[:200]}); "
                                   "the file is damaged") from None

    return Rows(path, names, rows(), count, file=f)


_PICKLE_SUFFIXES = ("pkl", "pickle", "bench")


def read(path: str, fmt, key_column: str, used=(), pickle_allow=()) -> Rows:
    """The rows of ``path`` (``fmt``: csv, json, parquet or pickle; None: from
    the file name). ``pickle_allow``: the families of globals a pickle may
    name (:data:`._safe_pickle.ALLOWED_FAMILIES`)."""
    if not os.path.isfile(path):
        raise TableImportError(f"{path}: no such file; check --source (a recipe's source is the "
                               "directory holding its files)")
    fmt = fmt or os.path.splitext(path)[1].lstrip(".").lower()
    fmt = "pickle" if fmt in _PICKLE_SUFFIXES else fmt
    readers = {"csv": lambda: read_csv(path, used), "json": lambda: read_json(path, key_column),
               "parquet": lambda: read_parquet(path), "pickle": lambda: read_pickle(path, key_column, pickle_allow)}
    if fmt not in readers:
        raise TableImportError(f"{path}: unknown format {fmt!r}; name the file .csv, .json, .parquet or .pkl "
                               "or give the mapping a 'format'")
    return readers[fmt]()


def sha256_of(path: str) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_sha256(path: str, expected: str) -> None:
    """Refuses a file whose sha256 is not ``expected``, naming both digests."""
    if not os.path.isfile(path):
        raise TableImportError(f"{path}: no such file; check --source (a recipe's source is the "
                               "directory holding its files)")
    found = sha256_of(path)
    if found != expected.lower():
        raise TableImportError(f"{path}: sha256 {found}, expected {expected.lower()} (the published file); "
                               "the file is damaged or another version: replace it, or pass --no-verify "
                               "(verify=False) to import it anyway")


def element(name: str, columns) -> tuple | None:
    """``(base, i)`` of a column ``name[i]`` whose base is one of ``columns``
    (and ``name[i]`` itself is not), else None."""
    if name in columns:
        return None
    m = _ELEMENT.match(name)
    if m is None or m.group(1) not in columns:
        return None
    return m.group(1), int(m.group(2))


def member(name: str, columns) -> tuple | None:
    """``(base, key)`` of a column ``name.key`` whose base is one of ``columns``
    (and ``name.key`` itself is not): member ``key`` of the object each row
    holds in ``name`` (TNB101's ``"zen": {"score": ..., "time": ...}``), else None."""
    if name in columns or "." not in name:
        return None
    base, _, key = name.rpartition(".")
    return (base, key) if base in columns and key else None


def read_parts(paths: list, fmt, key_column: str, used=(), pickle_allow=()) -> Rows:
    """The rows of several files read as one (a source split over files, as
    TNB101's per-task JSON parts): the files in order, each row named by its
    file (``part.json: record 3``)."""
    first = read(paths[0], fmt, key_column, used, pickle_allow)  # the columns are known before the rows
    columns = list(first.columns)

    def rows():
        for i, p in enumerate(paths):
            part = first if i == 0 else read(p, fmt, key_column, used, pickle_allow)
            with part:
                for c in part.columns:
                    if c not in columns:
                        columns.append(c)
                name = os.path.basename(p)
                for row, record in part:
                    yield f"{name}: {row}", record

    # the row cap is checked row by row across the parts (each part's count is known only when it is read)
    return Rows(os.path.dirname(paths[0]) or ".", columns, rows(), first.count if len(paths) == 1 else None,
                file=first)


def no_column(path: str, name: str, columns) -> TableImportError:
    have = ", ".join(columns) or "none"
    return TableImportError(f"{path}: no column {name!r} (columns: {have}); fix the mapping's column name "
                            "or use the right file")


def check_fields(path: str, row: str, record: dict, shapes: dict, key: str) -> None:
    """The mapping's ``fields`` (``shapes``: name -> list length, ``(lo, hi)``
    lengths, or None for a single value): the row holds exactly these fields
    besides ``key``."""
    expected = set(shapes) | {key}
    for name in sorted(expected):
        v = record.get(name, ABSENT)
        if v is ABSENT:
            raise TableImportError(f"{path}: {row} has no field {name!r} (every row needs "
                                   f"{', '.join(sorted(expected))}); the file is incomplete")
        n = shapes.get(name)
        if isinstance(n, frozenset):  # an object with exactly these members, each a single value
            if not isinstance(v, dict) or set(v) != n or any(isinstance(x, (list, dict)) for x in v.values()):
                raise TableImportError(f"{path}: {row}, field {name!r}: {v!r} must be an object with exactly "
                                       f"the members {', '.join(sorted(n))} (single values); fix the file")
            continue
        if n is None and isinstance(v, (list, dict)):
            raise TableImportError(f"{path}: {row}, field {name!r}: {v!r} must be a single value; fix the file")
        lo, hi = n if isinstance(n, tuple) else (n, n)
        if n is not None and (not isinstance(v, list) or not lo <= len(v) <= hi):
            count = n if lo == hi else f"{lo} to {hi}"
            raise TableImportError(f"{path}: {row}, field {name!r}: {v!r} must be a list of {count} values; "
                                   "fix the file")
    for name, v in record.items():
        if name not in expected and v is not ABSENT:
            raise TableImportError(f"{path}: {row} has an unexpected field {name!r} (expected "
                                   f"{', '.join(sorted(expected))}); this is not the file the mapping is for")
