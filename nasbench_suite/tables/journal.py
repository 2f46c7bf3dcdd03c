"""Append-only journal of newly trained results, and its compaction.

``<table>.journal`` holds framed records: magic ``NBJ1``, payload length
(uint32 LE), CRC-32C of the payload (uint32 LE), payload (UTF-8 JSON). An
append takes the exclusive lock on ``<table>.lock``, writes one whole frame,
flushes and fsyncs. A process killed mid-append leaves at most a torn last
frame, which readers detect (length or CRC) and ignore: it loses only the
result it was writing. Compaction takes the same lock, merges the journal
into the HDF5 file (written to a temporary file and renamed over the table),
then empties the journal. Readers never lock: they read the journal before
the HDF5 file, and a record seen twice is harmless (last value wins).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import struct
import warnings

import numpy as np

from .. import _core
from ._schema import read_all, write_all
from ._spaces import adapter
from .errors import TableFormatError

MAGIC = b"NBJ1"
_HEADER = struct.Struct("<4sII")


def journal_path(path) -> str:
    return os.fspath(path) + ".journal"


def lock_path(path) -> str:
    return os.fspath(path) + ".lock"


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
    a = adapter(space)
    obj = a.cells_of([cell])[0]
    if space == "nb101":
        return obj.to_dict()
    return {"index": obj.index()}


def _clean(values: dict | None) -> dict:
    out = {}
    for k, v in (values or {}).items():
        v = float(v)
        out[str(k)] = None if math.isnan(v) else v
    return out


def _record(space: str, cell, dataset: str, seed: int, fidelity: float, metrics: dict,
            static: dict | None) -> dict:
    return {
        "space": space,
        "cell": _cell_record(space, cell),
        "dataset": str(dataset),
        "seed": int(seed),
        "fidelity": float(fidelity),
        "metrics": _clean(metrics),
        "static": _clean(static),
    }


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


def _append_frames(path, frames: list) -> None:
    with table_lock(path):
        jp = journal_path(path)
        fd = os.open(jp, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # A torn frame left by a process killed mid-append is cut off
            # first (we hold the lock, so nobody is writing it): appended
            # after it, this frame would be misread and the journal unreadable.
            # The last frame is checked from the file's end; only a journal
            # that does not end on a complete frame is scanned whole.
            size = os.fstat(fd).st_size
            if size and not _ends_on_frame(fd, size):
                with open(fd, "rb", closefd=False) as f:
                    data = f.read()
                end = _scan(data, jp)[1]
                if end < size:
                    os.ftruncate(fd, end)
            view = memoryview(b"".join(frames))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)


def append_result(path, space: str, cell, dataset: str, seed: int, fidelity: float,
                  metrics: dict, static: dict | None = None) -> None:
    """Appends one trained result (metrics at one seed and fidelity, plus
    static metrics such as ``params``) to the table's journal, durably."""
    _append_frames(path, [_frame(_record(space, cell, dataset, seed, fidelity, metrics, static))])


def append_results(path, space: str, results) -> None:
    """Appends several results under one lock and one fsync: ``results`` are
    ``(cell, dataset, seed, fidelity, metrics, static)`` tuples. A process
    killed mid-append may leave the first of them; each is a whole record."""
    frames = [_frame(_record(space, *r)) for r in results]
    if frames:
        _append_frames(path, frames)


def _scan(data: bytes, jp: str) -> tuple[list[dict], int]:
    """The complete records of journal bytes, and where they end: the length
    of the file less a torn last frame, if any."""
    records, pos = [], 0
    while pos < len(data):
        if len(data) - pos < _HEADER.size:
            break  # torn header: the write in progress when a process died
        magic, length, crc = _HEADER.unpack_from(data, pos)
        start, end = pos + _HEADER.size, pos + _HEADER.size + length
        if magic != MAGIC:
            raise TableFormatError(
                f"{jp}: corrupt journal at byte {pos} (bad frame marker); move the file aside "
                "to open the table without the unmerged results, and report it"
            )
        if end > len(data):
            break  # torn payload
        payload = data[start:end]
        if _core.crc32c(payload) != crc:
            if end == len(data):
                break  # torn last record
            warnings.warn(f"{jp}: skipping a record with a bad checksum at byte {pos}", stacklevel=3)
        else:
            records.append(json.loads(payload.decode("utf-8")))
        pos = end
    return records, pos


def read_journal(path) -> list[dict]:
    """The complete records of the journal (a torn tail is ignored)."""
    jp = journal_path(path)
    try:
        with open(jp, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return _scan(data, jp)[0]


def apply_records(builder, records: list[dict]) -> None:
    """Merges journal records into a TableBuilder (axes grow as needed)."""
    for rec in records:
        if rec["space"] != builder.space:
            raise TableFormatError(
                f"journal record for space {rec['space']!r} in a {builder.space!r} table; "
                "the journal belongs to another table"
            )
        cell = rec["cell"] if builder.space == "nb101" else rec["cell"]["index"]
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
        records = read_journal(path)
        if not records and not provenance:
            return 0
        table = read_all(path)
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
