"""Append-only journal of newly trained results, and its compaction.

``<table>.journal`` holds framed records: magic ``NBJ1``, payload length
(uint32 LE), CRC-32C of the payload (uint32 LE), payload (UTF-8 JSON). The
first frame of the journal of a table with a ``table_id`` is a header
``{"format": "nasbench-suite/table-journal", "table_id": ...}`` that binds the
journal to that table: a journal whose records were appended to another table
(one that a rewrite replaced) is refused with :class:`StaleJournal` instead of
being replayed onto the new one. An append checks its arguments and the table
first (nothing is written on error), then takes the exclusive lock on
``<table>.lock``, writes whole frames, flushes and fsyncs. A process killed
mid-append leaves at most a torn last frame: an incomplete frame at the end
of the file (fewer bytes than its length field declares) after which no valid
frame starts. Readers ignore it and the next append cuts it off: it loses
only the result that was being written, never an acknowledged one. Any other
damage (a bad marker, a failed checksum, a length field that runs past the
end while valid frames follow it, or whose payload up to the end is whole) is
corruption: :class:`CorruptJournal`, nothing read, compaction refused, until
:func:`repair_journal` (``nasbench-suite repair TABLE``) salvages every valid
frame. Compaction takes the same lock, merges the journal into the HDF5 file
(written to a temporary file and renamed over the table), then empties the
journal. Readers never lock: they read the journal before the HDF5 file, and
a record seen twice is harmless (last value wins).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import math
import numbers
import os
import shlex
import shutil
import struct
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from ._litter import clean_stale_temps
from ._schema import _fsync_dir, check_root, corrupt, open_h5, read_all, write_all
from ._spaces import table_space
from .errors import CorruptJournal, InvalidResult, StaleJournal, TableFormatError

MAGIC = b"NBJ1"
_HEADER = struct.Struct("<4sII")
JOURNAL_FORMAT = "nasbench-suite/table-journal"  # the header frame's "format"
_MAX_HEADER = 4096  # bytes: a first frame longer than this is a record, not a header
_INT64_MAX = (1 << 63) - 1


def journal_path(path) -> str:
    # Resolved: a table named through a symlink shares its journal and lock
    # with the same table named directly.
    return os.path.realpath(os.fspath(path)) + ".journal"


def lock_path(path) -> str:
    return os.path.realpath(os.fspath(path)) + ".lock"


@contextlib.contextmanager
def table_lock(path):
    """Exclusive advisory lock shared by appenders and compaction."""
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _cell_record(space: str, cell) -> dict:
    return table_space(space).record(cell)


# ------------------------------------------------------------------ argument checks
def _check_name(where: str, what: str, name) -> str:
    """Dataset and metric names name HDF5 groups and datasets."""
    if not isinstance(name, str):
        raise InvalidResult(f"{where}: the {what} name must be a str, got {type(name).__name__} {name!r}")
    if not name.strip():
        raise InvalidResult(f"{where}: the {what} name must not be empty, got {name!r}")
    if "/" in name:
        raise InvalidResult(f"{where}: the {what} name {name!r} must not contain '/' (it names an HDF5 group)")
    if name in (".", ".."):
        raise InvalidResult(f"{where}: the {what} name must not be {name!r} (it names an HDF5 group)")
    if "\x00" in name:
        raise InvalidResult(f"{where}: the {what} name {name!r} must not contain a NUL character")
    return name


def _is_real(value) -> bool:
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_)) \
        and not isinstance(value, np.complexfloating)


def _check_seed(where: str, seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise InvalidResult(f"{where}: seed must be an integer (the seed of the repeat), got "
                            f"{type(seed).__name__} {seed!r}")
    if not 0 <= int(seed) <= _INT64_MAX:
        raise InvalidResult(f"{where}: seed must be a non-negative integer that fits int64 "
                            f"(0..{_INT64_MAX}), got {int(seed)}")
    return int(seed)


def _check_fidelity(where: str, fidelity) -> float:
    if not _is_real(fidelity):
        raise InvalidResult(f"{where}: fidelity must be a number of epochs, got {type(fidelity).__name__} "
                            f"{fidelity!r}")
    f = float(fidelity)
    if not (math.isfinite(f) and f > 0):
        raise InvalidResult(f"{where}: fidelity must be a finite number of epochs > 0, got {f!r}")
    return f


def _clean(where: str, what: str, values) -> dict:
    """The metric values as JSON: finite floats, None for NaN (a missing value)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidResult(f"{where}: {what} must be a dict of metric name -> number, got {type(values).__name__}")
    out = {}
    for k, v in values.items():
        _check_name(where, "metric" if what == "metrics" else "static metric", k)
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v[()]
        if not _is_real(v):
            raise InvalidResult(f"{where}: {what}[{k!r}] must be a number, got {type(v).__name__} {v!r}")
        v = float(v)
        if math.isinf(v):
            raise InvalidResult(f"{where}: {what}[{k!r}] must be finite (NaN marks a missing value), got {v!r}")
        out[k] = None if math.isnan(v) else v
    return out


def _record(space: str, cell, dataset: str, seed: int, fidelity: float, metrics: dict,
            static: dict | None, where: str = "append_result") -> dict:
    """One journal record; InvalidResult (nothing written) for a bad argument."""
    # A static-only record (no per-fidelity metrics: zero-cost proxies, a
    # latency) may leave seed and fidelity None: it adds no repeat and no epoch.
    static_only = not metrics and seed is None and fidelity is None
    rec = {
        "space": space,
        "cell": _cell_record(space, cell),
        "dataset": _check_name(where, "dataset", dataset),
        "seed": None if static_only else _check_seed(where, seed),
        "fidelity": None if static_only else _check_fidelity(where, fidelity),
        "metrics": _clean(where, "metrics", metrics),
        "static": _clean(where, "static", static),
    }
    both = sorted(set(rec["metrics"]) & set(rec["static"]))
    if both:
        raise InvalidResult(f"{where}: {both[0]!r} is given both as a per-fidelity metric and as a static one; "
                            "a metric name is one or the other")
    return rec


def _table_facts(path) -> tuple:
    """(table_id, {dataset: (per-fidelity metric names, static metric names)})
    of the table file: its root attributes and group names, no data."""
    with open_h5(path) as h5:
        root = check_root(h5, path)
        try:
            datasets = {}
            for name, g in (h5["datasets"].items() if "datasets" in h5 else ()):
                datasets[name] = (set(g["metrics"]) if "metrics" in g else set(),
                                  set(g["static"]) if "static" in g else set())
        except (OSError, KeyError) as exc:
            raise corrupt(path, exc) from None
    return root["table_id"], datasets


def _check_against_table(path, recs: list, datasets: dict, journal_records, new_dataset: bool,
                         where: str) -> None:
    """Datasets must exist (in the table or the journal) unless ``new_dataset``;
    a name is a per-fidelity or a static metric of a dataset, never both (in
    the table, the journal or these records). ``journal_records()`` is read
    only when a dataset or metric name is new to the table."""
    kinds: dict = {}  # (dataset, name) -> "per-fidelity" | "static", as this call and the journal use them
    journal = None

    def from_journal():
        nonlocal journal
        if journal is None:
            journal = {"datasets": set(), "kinds": {}}
            for r in journal_records():
                journal["datasets"].add(r["dataset"])
                for kind, names in (("per-fidelity", r.get("metrics", {})), ("static", r.get("static", {}))):
                    for n in names:
                        journal["kinds"].setdefault((r["dataset"], n), kind)
        return journal

    for i, rec in enumerate(recs):
        w = where if len(recs) == 1 else f"{where}: result {i}"
        ds = rec["dataset"]
        if ds not in datasets and not new_dataset and ds not in from_journal()["datasets"]:
            raise InvalidResult(
                f"{w}: dataset {ds!r} is not in {os.fspath(path)} (it has "
                f"{', '.join(repr(d) for d in datasets) or 'none'}); check the name, or pass "
                "new_dataset=True to add a data set to the table"
            )
        dyn, static = datasets.get(ds, (set(), set()))
        for kind, names in (("per-fidelity", rec["metrics"]), ("static", rec["static"])):
            for n in names:
                if n in dyn or n in static:
                    have = "per-fidelity" if n in dyn else "static"
                    where_from = f"{os.fspath(path)}"
                else:
                    have = kinds.get((ds, n)) or from_journal()["kinds"].get((ds, n))
                    where_from = "this call" if (ds, n) in kinds else journal_path(path)
                if have is not None and have != kind:
                    raise InvalidResult(
                        f"{w}: {n!r} is a {have} metric of dataset {ds!r} in {where_from}; it cannot also be "
                        f"a {kind} one (pass it as {'metrics' if have == 'per-fidelity' else 'static'}, or "
                        "use another name)"
                    )
                kinds[(ds, n)] = kind


def _frame(record: dict) -> bytes:
    payload = json.dumps(record, sort_keys=True).encode("utf-8")
    return _HEADER.pack(MAGIC, len(payload), _core.crc32c(payload)) + payload


_TAIL_PROBE = 1 << 20  # bytes read from the end to recognise a complete last frame


def _ends_on_frame(fd: int, size: int) -> bool:
    """Whether the journal ends exactly on a complete frame (the usual case),
    seen from its last bytes only: a frame marker whose length reaches the end
    and whose checksum holds. False means: scan the whole file."""
    n = min(size, _TAIL_PROBE)
    tail = os.pread(fd, n, size - n)
    pos = tail.rfind(MAGIC)
    while pos >= 0:
        if n - pos >= _HEADER.size:
            _, length, crc = _HEADER.unpack_from(tail, pos)
            if pos + _HEADER.size + length == n and _core.crc32c(tail[pos + _HEADER.size:]) == crc:
                return True
        pos = tail.rfind(MAGIC, 0, pos)
    return False


def _header_frame(table_id: str) -> bytes:
    return _frame({"format": JOURNAL_FORMAT, "table_id": table_id})


def _is_header(rec) -> bool:
    return isinstance(rec, dict) and rec.get("format") == JOURNAL_FORMAT


def _first_header(fd: int, size: int, jp: str) -> tuple:
    """(table_id of the header frame or None, its length in bytes or 0), read
    from the journal's first frame (``size``: the bytes of complete frames, so
    the first frame must be whole and intact: CorruptJournal otherwise)."""
    if size < _HEADER.size:
        return None, 0
    magic, length, crc = _HEADER.unpack(os.pread(fd, _HEADER.size, 0))
    if magic != MAGIC or _HEADER.size + length > size:
        data = os.pread(fd, size, 0)
        raise _corrupt(jp, 0, len(data), _diagnose(data, 0)[1])
    if length > _MAX_HEADER:
        return None, 0  # a record (checked by readers), not a header
    payload = os.pread(fd, length, _HEADER.size)
    rec = _decode(payload) if _core.crc32c(payload) == crc else None
    if rec is None:
        data = os.pread(fd, size, 0)
        raise _corrupt(jp, 0, len(data), _diagnose(data, 0)[1])
    return (str(rec.get("table_id")), _HEADER.size + length) if _is_header(rec) else (None, 0)


def _stale_message(path, jp: str, journal_id, table_id, what: str) -> str:
    return (
        f"{jp}: this journal belongs to another table than {os.fspath(path)} (journal table id "
        f"{journal_id or 'none: written before journals were bound to tables'}, table id "
        f"{table_id or 'none: written before tables had one'}): {os.fspath(path)} was rewritten (overwrite, "
        f"import, convert or a copy) after these results were appended, so {what} would give wrong values. "
        f"Move {jp} aside (e.g. rename it to {os.path.basename(jp)}.stale) to use the table; re-append its "
        "results only if they belong to the new table"
    )


def _append_frames(path, recs: list, new_dataset: bool, where: str) -> None:
    frames = [_frame(r) for r in recs]
    with table_lock(path):
        # Everything is checked before the first byte is written.
        table_id, datasets = _table_facts(path)
        jp = journal_path(path)
        try:
            fd = os.open(jp, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            fd = None
        try:
            # A torn frame left by a process killed mid-append is cut off
            # (we hold the lock, so nobody is writing it): appended after it,
            # this frame would be misread and the journal unreadable. The last
            # frame is checked from the file's end; only a journal that does
            # not end on a complete frame is scanned whole, and one damaged
            # elsewhere than a torn last frame is refused (CorruptJournal):
            # cutting it there would destroy the acknowledged records after
            # the damage.
            size = end = os.fstat(fd).st_size if fd is not None else 0
            data = None
            if size and not _ends_on_frame(fd, size):
                with open(fd, "rb", closefd=False) as f:
                    data = f.read()
                end = _scan(data, jp)[2]
            journal_id, header_len = _first_header(fd, end, jp) if end else (None, 0)
            has_records = end > header_len
            if has_records and journal_id != table_id:
                raise StaleJournal(_stale_message(path, jp, journal_id, table_id,
                                                  "appending to it and replaying it"))

            def journal_records():
                nonlocal data
                if not has_records:
                    return []
                if data is None:
                    with open(fd, "rb", closefd=False) as f:
                        f.seek(0)
                        data = f.read()
                return _scan(data[:end], jp)[1]

            _check_against_table(path, recs, datasets, journal_records, new_dataset, where)
            if fd is None:
                fd = os.open(jp, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            if not has_records and journal_id != table_id:
                end = 0  # a header of another table and no records: start afresh
            if end < size:
                os.ftruncate(fd, end)
            head = _header_frame(table_id) if end == 0 and table_id else b""
            view = memoryview(head + b"".join(frames))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            if fd is not None:
                os.close(fd)


def append_result(path, space: str, cell, dataset: str, seed: int, fidelity: float,
                  metrics: dict, static: dict | None = None, *, new_dataset: bool = False) -> None:
    """Appends one trained result (metrics at one seed and fidelity, plus
    static metrics such as ``params``) to the table's journal, durably.

    Checked first, nothing written on error (:class:`InvalidResult`, a
    ``ValueError``): dataset and metric names are non-empty strs without
    ``/``, not ``.``/``..``; ``dataset`` is one of the table's (or of its
    journal's) unless ``new_dataset=True`` adds it; ``fidelity`` a finite
    number of epochs > 0; ``seed`` an integer in 0..2**63-1 (both None for a
    record of ``static`` metrics only: it adds no repeat and no epoch); every value a
    finite number, or NaN for a missing one; no name both a per-fidelity
    (``metrics``) and a ``static`` metric of a dataset. A journal of another
    table raises :class:`StaleJournal`."""
    rec = _record(space, cell, dataset, seed, fidelity, metrics, static)
    _append_frames(path, [rec], new_dataset, "append_result")


def append_results(path, space: str, results, *, new_dataset: bool = False) -> None:
    """Appends several results under one lock and one fsync: ``results`` are
    ``(cell, dataset, seed, fidelity, metrics, static)`` tuples, each checked
    as by :func:`append_result` before any is written. A process killed
    mid-append may leave the first of them; each is a whole record."""
    recs = []
    for i, r in enumerate(results):
        recs.append(_record(space, *r, where=f"append_results: result {i}"))
    if recs:
        _append_frames(path, recs, new_dataset, "append_results")


def _decode(payload: bytes):
    """The JSON object a payload holds, or None."""
    try:
        rec = json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return rec if isinstance(rec, dict) else None


def _valid_frame(data: bytes, pos: int):
    """(end, record) of the frame at ``pos`` if it is complete, has the
    marker, its checksum holds and its payload is a JSON object; else None."""
    if len(data) - pos < _HEADER.size:
        return None
    magic, length, crc = _HEADER.unpack_from(data, pos)
    end = pos + _HEADER.size + length
    if magic != MAGIC or end > len(data):
        return None
    payload = data[pos + _HEADER.size:end]
    if _core.crc32c(payload) != crc:
        return None
    rec = _decode(payload)
    return None if rec is None else (end, rec)


def _next_valid(data: bytes, start: int, stop: int | None = None) -> int | None:
    """The first offset in ``start..stop`` where a valid frame starts (None if none)."""
    stop = len(data) if stop is None else stop
    q = data.find(MAGIC, start, stop)
    while q >= 0:
        if _valid_frame(data, q) is not None:
            return q
        q = data.find(MAGIC, q + 1, stop)
    return None


def _diagnose(data: bytes, pos: int) -> tuple[bool, str]:
    """(torn, what is wrong) of bytes at ``pos`` that do not start a valid
    frame. ``torn`` only for an incomplete last frame: fewer bytes than a
    frame header, or than its length field declares, at the end of the file,
    with no valid frame starting after it and no whole payload up to the end
    (which would mean that the length field, not the write, is damaged)."""
    n = len(data)
    rem = n - pos
    if rem < _HEADER.size:
        if data[pos:pos + len(MAGIC)] == MAGIC[:min(rem, len(MAGIC))]:
            return True, f"is an incomplete frame header ({rem} of {_HEADER.size} bytes) at the end of the file"
        return False, (f"holds {rem} stray bytes at the end of the file that do not start a frame "
                       f"(they begin {data[pos:pos + 4]!r}, not {MAGIC!r})")
    magic, length, crc = _HEADER.unpack_from(data, pos)
    if magic != MAGIC:
        return False, f"has a bad frame marker ({bytes(magic)!r} instead of {MAGIC!r})"
    start, end = pos + _HEADER.size, pos + _HEADER.size + length
    if end > n:
        if n > start and _core.crc32c(data[start:]) == crc:
            return False, (f"declares {length} payload bytes, past the end of the file ({n} bytes), but its "
                           f"checksum holds for the {n - start} bytes up to the end: the record is whole and its "
                           "length field is damaged")
        q = _next_valid(data, pos + 1)
        if q is not None:
            return False, (f"declares {length} payload bytes, past the end of the file ({n} bytes), yet a valid "
                           f"frame starts at byte {q}: its length field is damaged")
        return True, f"is an incomplete last frame ({n - start} of the {length} payload bytes it declares)"
    got = _core.crc32c(data[start:end])
    if got != crc:
        return False, (f"fails its checksum (stored {crc:08x}, computed {got:08x} over the {length} payload "
                       "bytes its length field declares): the record or its header is damaged")
    return False, "has a valid checksum but its payload is not a JSON object (not a frame nasbench-suite wrote)"


def _table_of(jp: str) -> str:
    return jp[:-len(".journal")] if jp.endswith(".journal") else jp


def _corrupt(jp: str, pos: int, size: int, what: str) -> CorruptJournal:
    return CorruptJournal(
        f"{jp}: corrupt journal: the frame at byte {pos} (of {size}) {what}. This is not an interrupted "
        "append (that leaves only an incomplete last frame), so nothing is read rather than the records after "
        f"the damage dropped silently. Run `nasbench-suite repair {shlex.quote(_table_of(jp))}` to keep every "
        f"valid record (the journal is kept as {os.path.basename(jp)}.corrupt-<UTC time>) and see what it "
        "skipped; or move the file aside to use the table without its unmerged results",
        journal=jp, offset=pos,
    )


def _scan(data: bytes, jp: str) -> tuple[dict | None, list[dict], int]:
    """The header (None if the journal has none), the complete records of
    journal bytes, and where they end: the length of the file less a torn
    last frame, if any. Any other damage raises :class:`CorruptJournal`."""
    header, records, pos = None, [], 0
    while pos < len(data):
        frame = _valid_frame(data, pos)
        if frame is None:
            torn, what = _diagnose(data, pos)
            if torn:
                break  # the write in progress when a process died: never acknowledged
            raise _corrupt(jp, pos, len(data), what)
        end, rec = frame
        if _is_header(rec):
            if pos != 0:
                raise _corrupt(jp, pos, len(data), "is a header frame after records (a header is only the "
                                                   "first frame)")
            header = rec
        else:
            records.append(rec)
        pos = end
    return header, records, pos


def read_journal_and_header(path) -> tuple[dict | None, list[dict]]:
    """The journal's header frame (None if it has none) and its complete records."""
    jp = journal_path(path)
    try:
        with open(jp, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None, []
    return _scan(data, jp)[:2]


def read_journal(path) -> list[dict]:
    """The complete records of the journal (a torn tail is ignored; the
    header frame is not a record)."""
    return read_journal_and_header(path)[1]


def check_bound(path, header: dict | None, records: list, table_id: str | None, what: str = "replaying it") -> None:
    """:class:`StaleJournal` if the journal has records and belongs to another
    table than the one whose ``table_id`` is given (a table without an id, from
    before journals were bound, takes a journal without a header)."""
    if records and _journal_id(header) != table_id:
        raise StaleJournal(_stale_message(path, journal_path(path), _journal_id(header), table_id, what))


def _journal_id(header) -> str | None:
    return None if header is None else str(header.get("table_id"))


def _aside(jp: str, what: str) -> str:
    """A free name ``<journal>.<what>-<UTC time>`` beside the journal."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name, n = f"{jp}.{what}-{stamp}", 1
    while os.path.lexists(name):
        n += 1
        name = f"{jp}.{what}-{stamp}-{n}"
    return name


def retire_journal(path, table_id: str, locked: bool = False) -> str | None:
    """After a table was written anew (with ``table_id``): the journal of the
    table it replaced is not replayed onto it. An empty one (no records) is
    removed; one with records is renamed to ``<table>.journal.stale-<UTC
    time>`` with a warning, and that name returned. A journal bound to the new
    table (an append that came after it) is kept. ``locked``: the caller
    holds the table's lock."""
    jp = journal_path(path)
    if not os.path.exists(jp):
        return None
    if not locked:
        with table_lock(path):
            return retire_journal(path, table_id, locked=True)
    try:
        with open(jp, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    try:
        header, records, _ = _scan(data, jp)
    except (TableFormatError, ValueError):
        header, records = None, [None]  # unreadable: kept aside, never replayed
    if not records:
        os.unlink(jp)
        return None
    if _journal_id(header) == table_id:
        return None
    stale = _aside(jp, "stale")
    os.rename(jp, stale)
    warnings.warn(
        f"{jp}: moved to {stale}: it held {len(records)} result record(s) appended to the table that "
        f"{os.fspath(path)} replaces; they are not replayed onto the new table (append them again only if "
        "they belong to it)",
        UserWarning, stacklevel=3,
    )
    return stale


def apply_records(builder, records: list[dict]) -> None:
    """Merges journal records into a TableBuilder (axes grow as needed)."""
    for rec in records:
        if rec["space"] != builder.space:
            raise TableFormatError(
                f"journal record for space {rec['space']!r} in a {builder.space!r} table; "
                "the journal belongs to another table"
            )
        cell = table_space(builder.space).from_record(rec["cell"])
        row = builder.add_cells([cell])
        ds = rec["dataset"]
        builder.extend_axes(ds, seed=rec["seed"], fidelity=rec["fidelity"])
        for metric, value in rec["metrics"].items():
            builder.set(ds, metric, row, np.nan if value is None else value,
                        seed=rec["seed"], fidelity=rec["fidelity"])
        for metric, value in rec.get("static", {}).items():
            builder.set_static(ds, metric, row, np.nan if value is None else value)


def compact(path, provenance: dict | None = None) -> int:
    """Merges the journal into the table file; returns the number of records
    merged. ``provenance``: keys to set in the table's provenance in the same
    atomic rewrite (the table is rewritten even when the journal is empty)."""
    from .writer import TableBuilder

    with table_lock(path):
        clean_stale_temps(path)  # .tmp-*.h5 left by rewrites killed before their rename
        try:
            header, records = read_journal_and_header(path)
        except CorruptJournal as exc:  # merging what precedes the damage would make the loss permanent
            raise CorruptJournal(f"{exc}. Nothing was compacted: the table and the journal are as they were",
                                 exc.journal, exc.offset) from None
        if not records and not provenance:
            return 0
        table = read_all(path)
        check_bound(path, header, records, table.attrs.get("table_id"), "merging it into the table")
        builder = TableBuilder(table.space, table)
        apply_records(builder, records)
        if provenance:
            builder.provenance.update(provenance)
        write_all(path, builder.table())
        # Emptied only after the new table is in place: a crash before this
        # line replays records that are already merged, which is harmless.
        if records:
            with open(journal_path(path), "r+b") as f:
                f.truncate(0)
                os.fsync(f.fileno())
        return len(records)


# ------------------------------------------------------------------ repair
@dataclass
class RepairReport:
    """What :func:`repair_journal` did. ``kept``: ``(offset, bytes, what)`` of
    each frame of the new journal, by its place in the old one (``what``:
    ``"header"``, ``"record"``, or a record whose damaged marker or length
    field was rebuilt, its payload proven whole by its checksum); ``skipped``:
    ``(offset, bytes, why)`` of each range left out; ``kept_as``: the original
    journal's new name (None when nothing was rewritten); ``torn``: bytes of a
    torn last frame (an interrupted append, never acknowledged)."""

    journal: str
    found: bool = True
    size: int = 0
    kept: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    kept_as: str | None = None
    torn: int = 0
    notes: list = field(default_factory=list)

    @property
    def records(self) -> int:
        """Result records kept in the new journal (the header frame excluded)."""
        return sum(1 for _, _, what in self.kept if not what.startswith("header"))

    @property
    def changed(self) -> bool:
        """Whether the journal was rewritten (the original kept as ``kept_as``)."""
        return self.kept_as is not None

    def __str__(self) -> str:
        if not self.found:
            return f"{self.journal}: no journal: nothing to repair"
        if not self.changed:
            torn = (f"; its last {self.torn} bytes are a torn frame (an interrupted append, never acknowledged) "
                    "that readers ignore and the next append cuts off") if self.torn else ""
            return "\n".join([f"{self.journal}: intact ({self.records} record(s), {self.size} bytes){torn}: "
                              "nothing to repair"] + [f"  note: {note}" for note in self.notes])
        lost = sum(n for _, n, _ in self.skipped)
        head = (f"{self.journal}: repaired: kept {self.records} record(s)"
                f"{' and the header' if any(w.startswith('header') for _, _, w in self.kept) else ''}, skipped "
                f"{len(self.skipped)} range(s) ({lost} of {self.size} bytes)")
        body = []  # (offset, line), in file order
        run = None  # contiguous intact frames: one line
        for off, n, what in self.kept + [(self.size, 0, "end")]:
            if what in ("header", "record") and run is not None and run[1] == off:
                run[1], run[2] = off + n, run[2] + 1
                continue
            if run is not None:
                body.append((run[0], f"  kept     bytes {run[0]}-{run[1] - 1}: {run[2]} intact frame(s)"))
                run = None
            if what in ("header", "record"):
                run = [off, off + n, 1]
            elif what != "end":
                body.append((off, f"  rebuilt  bytes {off}-{off + n - 1}: {what}"))
        body += [(off, f"  skipped  bytes {off}-{off + n - 1} ({n} bytes): the frame there {why}")
                 for off, n, why in self.skipped]
        lines = [head] + [line for _, line in sorted(body, key=lambda t: t[0])]
        lines.append(f"  the original journal is kept as {self.kept_as}")
        return "\n".join(lines + [f"  note: {note}" for note in self.notes])


def _recover(data: bytes, pos: int, limit: int):
    """A damaged frame at ``pos`` whose payload is still whole: its marker or
    its length field is wrong, but its stored checksum holds for the bytes up
    to where the next frame (a marker before ``limit``, or ``limit``) starts.
    Returns (end, frame rebuilt, record, what was damaged) or None."""
    if limit - pos <= _HEADER.size:
        return None
    magic, length, crc = _HEADER.unpack_from(data, pos)
    ends = [pos + _HEADER.size + length] if pos + _HEADER.size + length <= limit else []
    q = data.find(MAGIC, pos + _HEADER.size + 1, limit)
    while q >= 0 and len(ends) < 64:
        ends.append(q)
        q = data.find(MAGIC, q + 1, limit)
    ends.append(limit)
    for end in dict.fromkeys(ends):
        payload = data[pos + _HEADER.size:end]
        if not payload or _core.crc32c(payload) != crc:
            continue
        rec = _decode(payload)
        if rec is None:
            continue
        damage = []
        if magic != MAGIC:
            damage.append(f"frame marker {bytes(magic)!r}")
        if len(payload) != length:
            damage.append(f"length field (declared {length} payload bytes, the payload has {len(payload)})")
        kind = "header" if _is_header(rec) else "record"
        return (end, _HEADER.pack(MAGIC, len(payload), crc) + payload, rec,
                f"{kind} with a damaged " + " and ".join(damage) + f"; its checksum holds, so the {kind} is whole")
    return None


def _salvage(data: bytes) -> tuple[list, list, int]:
    """([(offset, bytes in the old journal, frame to write, record, what)],
    [(offset, bytes, why)], bytes of a torn last frame): every valid frame
    of ``data``, in order, resynchronising after damage at the next offset
    where a complete frame with a valid checksum starts."""
    kept, skipped, torn = [], [], 0
    pos, n = 0, len(data)
    while pos < n:
        frame = _valid_frame(data, pos)
        if frame is not None:
            end, rec = frame
            kept.append((pos, end - pos, data[pos:end], rec, "header" if _is_header(rec) else "record"))
            pos = end
            continue
        nxt = _next_valid(data, pos + 1)
        limit = n if nxt is None else nxt
        rebuilt = _recover(data, pos, limit)
        if rebuilt is not None:
            end, frame_bytes, rec, what = rebuilt
            kept.append((pos, end - pos, frame_bytes, rec, what))
            pos = end
            continue
        is_torn, why = _diagnose(data, pos)
        # the next place worth a try: a marker before the next valid frame (a
        # damaged frame whose payload may be whole), or that frame
        m = data.find(MAGIC, pos + 1, limit)
        stop = limit if m < 0 else m
        if is_torn and stop == n and not (skipped and skipped[-1][0] + skipped[-1][1] == pos):
            torn = n - pos
            why += ": an interrupted append, never acknowledged"
        if skipped and skipped[-1][0] + skipped[-1][1] == pos:
            off, _, first_why = skipped.pop()
            skipped.append((off, stop - off, first_why))
        else:
            skipped.append((pos, stop - pos, why))
        pos = stop
    return kept, skipped, torn


def _write_beside(jp: str, data: bytes) -> str:
    """``data`` in a new fsync'd file ``<journal>.repair-tmp`` (the journal's
    mode); its name. Called under the table's lock: a file of that name is
    what a killed repair left, and is replaced."""
    tmp = jp + ".repair-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, os.stat(jp).st_mode & 0o7777)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def repair_journal(path, *, rebind: bool = False) -> RepairReport:
    """Salvages the journal of the table at ``path`` after damage that
    :class:`CorruptJournal` reported: keeps every valid frame (complete, with
    its marker and a checksum that holds), in order, resynchronising after
    damage at the next offset where a valid frame starts; a frame whose marker
    or length field is damaged but whose checksum holds for its payload (the
    record is whole) is kept with its header rebuilt; a torn last frame and
    every other damaged range are left out. The new journal replaces the old
    one atomically, under the table's lock; the old one is kept as
    ``<journal>.corrupt-<UTC time>``. An intact journal is left alone.

    ``rebind``: where the header frame (which binds the journal to its table)
    was lost to the damage, or names another table, write the header of the
    table at ``path``: only when these records are known to belong to it.

    Returns a :class:`RepairReport` (``str()`` of it lists what was kept and
    skipped, by byte offset)."""
    jp = journal_path(path)
    if not os.path.exists(jp):  # (no lock file is made beside a mistyped path)
        return RepairReport(jp, found=False)
    with table_lock(path):
        try:
            with open(jp, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return RepairReport(jp, found=False)
        report = RepairReport(jp, size=len(data))
        salvaged, report.skipped, report.torn = _salvage(data)
        frames, header_id = [], None
        for off, n, frame_bytes, rec, what in salvaged:
            if _is_header(rec) and frames:
                report.skipped.append((off, n, "is a header frame after records (a header is only the "
                                               "first frame)"))
                continue
            if _is_header(rec):
                header_id = _journal_id(rec)
            frames.append(frame_bytes)
            report.kept.append((off, n, what))
        report.skipped.sort()
        has_records = report.records > 0
        table_id = None
        if rebind or (has_records and header_id is None):
            try:
                table_id = _table_facts(path)[0]
            except TableFormatError:
                if rebind:
                    raise
        if rebind and has_records and table_id and header_id != table_id:
            if header_id is not None:
                frames.pop(0)
                report.kept.pop(0)
            frames.insert(0, _header_frame(table_id))
            report.notes.append(f"bound to {os.fspath(path)} (table id {table_id}; the journal's header "
                                f"{'named ' + header_id if header_id else 'was lost'}) as --rebind asked")
        elif has_records and header_id is None and table_id:
            report.notes.append(
                f"the journal has no header frame (lost to the damage, or never written), so "
                f"{os.fspath(path)} (table id {table_id}) will refuse these records as another table's; if they "
                "were appended to this table, run "
                f"`nasbench-suite repair --rebind {shlex.quote(os.fspath(path))}`")
        new = b"".join(frames)
        if new == data or (report.torn and new == data[:len(data) - report.torn]):
            # intact, or intact but for a torn last frame (readers ignore it,
            # the next append cuts it off): nothing to repair
            return report
        aside = _aside(jp, "corrupt")
        tmp = _write_beside(jp, new)
        try:
            try:
                os.link(jp, aside)  # the original stays whole under its new name
            except OSError:
                shutil.copy2(jp, aside)
            os.replace(tmp, jp)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        _fsync_dir(os.path.dirname(jp))
        report.kept_as = aside
        return report
