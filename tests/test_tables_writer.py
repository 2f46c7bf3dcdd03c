"""Writing tables: TableWriter (atomic), the on-disk layout of docs/FORMAT.md,
and the journal (append_result, replay, compact) including several processes
appending at once, a process killed while appending and torn frames."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import warnings
from collections import Counter

import h5py
import numpy as np
import pytest

from nasbench_suite import InvalidSpecError
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.tables import (Benchmark, TableFormatError, TableWriter, UnknownName, append_result,
                                   compact, read_journal)
from nasbench_suite.tables import _schema
from nasbench_suite.tables.journal import CorruptJournal, journal_path, lock_path, repair_journal, table_lock

BASE_CELLS = 10  # NB201 indices 0..9 in the base table
NEW_CELL = 1000  # appended results use indices from here


# ------------------------------------------------------------------ helpers
def crc32c_py(data: bytes) -> int:
    """Bitwise CRC-32C (Castagnoli, reflected 0x82F63B78), independent of the core."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def frames(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, crc, payload) of each complete frame, parsed by hand."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        magic, length, crc = struct.unpack_from("<4sII", data, pos)
        assert magic == b"NBJ1"
        if pos + 12 + length > len(data):
            break
        out.append((pos, crc, data[pos + 12: pos + 12 + length]))
        pos += 12 + length
    return out


def leftovers(directory) -> list[str]:
    """Temporary files a writer might leave behind."""
    return sorted(n for n in os.listdir(directory) if n.startswith(".tmp") or n.endswith(".tmp"))


def make_nb201(path, cells=BASE_CELLS) -> None:
    with TableWriter(path, space="nb201") as w:
        w.add_dataset("cifar10", seeds=[0, 1], fidelities=[12, 200])
        rows = w.add_cells(range(cells))
        w.set("cifar10", "valid_acc", rows, np.arange(cells * 4, dtype=float).reshape(cells, 2, 2))
        w.set_static("cifar10", "params", rows, np.arange(cells) * 10.0)


def value_of(worker: int, i: int) -> float:
    return worker * 1000.0 + i + 0.25


def cell_of(worker: int, i: int, count: int) -> int:
    return NEW_CELL + worker * count + i


def _appender(path: str, worker: int, count: int, start, pause: float = 0.0) -> None:
    """Process body: ``count`` appends of distinct cells, all workers at once."""
    start.wait()
    for i in range(count):
        if pause:
            time.sleep(pause)  # spread the appends so that compactions fall between them
        append_result(path, "nb201", cell_of(worker, i, count), "cifar10", seed=0, fidelity=200,
                      metrics={"valid_acc": value_of(worker, i)}, static={"params": float(worker)})


def _append_one(path: str, ready) -> None:
    ready.set()
    append_result(path, "nb201", 5, "cifar10", seed=1, fidelity=12, metrics={"valid_acc": -1.0})


def _compact_one(path: str, ready) -> None:
    ready.set()
    compact(path)


def spawn():
    return multiprocessing.get_context("spawn")


def check_all_present(path, workers: int, count: int) -> None:
    with Benchmark.open(path) as b:
        assert len(b) == BASE_CELLS + workers * count
        cells = [cell_of(w, i, count) for w in range(workers) for i in range(count)]
        want = [value_of(w, i) for w in range(workers) for i in range(count)]
        np.testing.assert_array_equal(b.query(cells, "valid_acc", seed=0, fidelity=200), want)
        # seed 1 was never appended for the new cells
        assert np.isnan(b.query(cells, "valid_acc", seed=1, fidelity=200)).all()
        np.testing.assert_array_equal(b.query(cells, "params"), np.repeat(np.arange(workers), count))
        # the base table is untouched
        np.testing.assert_array_equal(b.query(list(range(BASE_CELLS)), "valid_acc", seed=1, fidelity=12),
                                      np.arange(BASE_CELLS) * 4 + 2)


# ------------------------------------------------------------------ TableWriter and the layout
def test_nb101_layout_matches_format_md(tmp_path):
    cells = nb101.sample_many(np.random.default_rng(3), 60)
    p = tmp_path / "t.h5"
    with TableWriter(p, space="nb101") as w:
        w.add_dataset("cifar10", seeds=[0, 1, 2], fidelities=[4, 12, 36, 108])
        rows = w.add_cells(cells)
        w.set("cifar10", "valid_acc", rows, 50.0)
        w.set_static("cifar10", "params", rows, 1e6)
        w.cost_model = {}
    uniq = {c.hash(): c for c in cells}
    n = len(uniq)
    assert rows.max() + 1 == n
    with h5py.File(p, "r") as h:
        assert h.attrs["format"] == "nasbench-suite/table"
        assert int(h.attrs["format_version"]) == 1
        assert h.attrs["space"] == "nb101"
        created = str(h.attrs["created"])
        assert created.endswith("+00:00") and "T" in created
        prov = json.loads(h.attrs["provenance"])
        assert prov["nasbench_suite_version"] and "created_by" in prov
        assert json.loads(h.attrs["cost_model"]) == {}
        c = h["cells"]
        assert c["key"].shape == (n, 2) and c["key"].dtype == np.uint64
        assert c["hash"].dtype == np.dtype("S32") and c["canonical"].dtype == np.uint64
        assert c["matrix"].shape == (n, 7, 7) and c["matrix"].dtype == np.uint8
        assert c["labels"].shape == (n, 7) and c["labels"].dtype == np.int8
        assert c["num_vertices"].dtype == np.int8
        for r in range(n):
            hx = c["hash"][r].decode()
            cell = uniq[hx]
            # key = the 16 digest bytes as two little-endian words
            lo, hi = struct.unpack("<QQ", bytes.fromhex(hx))
            assert c["key"][r].tolist() == [lo, hi]
            v = cell.num_vertices
            assert c["num_vertices"][r] == v
            np.testing.assert_array_equal(c["matrix"][r, :v, :v], cell.pruned_matrix)
            assert not c["matrix"][r, v:, :].any() and not c["matrix"][r, :, v:].any()
            assert c["labels"][r, :v].tolist() == cell.labels.tolist()
            assert (c["labels"][r, v:] == -3).all()
            assert c["labels"][r, 0] == -1 and c["labels"][r, v - 1] == -2
            assert c["canonical"][r] == cell.canonical_key()
        d = h["datasets/cifar10"]
        assert d["seeds"][()].tolist() == [0, 1, 2] and d["seeds"].dtype == np.int64
        assert d["fidelities"][()].tolist() == [4.0, 12.0, 36.0, 108.0] and d["fidelities"].dtype == np.float64
        m = d["metrics/valid_acc"]
        assert m.shape == (n, 3, 4) and m.dtype == np.float64 and m.attrs["units"] == "percent"
        assert m.chunks[0] <= 4096 and m.chunks[1:] == (3, 4)
        assert m.compression == "gzip" and m.shuffle
        s = d["static/params"]
        assert s.shape == (n,) and s.dtype == np.float64 and s.attrs["units"] == "count"


def test_nb201_layout_and_round_trip(tmp_path):
    p = tmp_path / "t.h5"
    idx = np.array([15624, 0, 777])
    with TableWriter(p, space="nb201") as w:
        w.add_dataset("cifar100", seeds=[777, 888], fidelities=[200])
        rows = w.add_cells([nb201.Cell.from_index(15624), nb201.arch_string(0), 777])
        w.set("cifar100", "test_loss", rows, [[[0.5], [0.25]], [[1.0], [2.0]], [[3.0], [np.nan]]])
        w.set("cifar100", "latency_gpu", rows, 1.0, units="milliseconds")
    with h5py.File(p, "r") as h:
        assert h["cells/key"][()].tolist() == [[int(i), 0] for i in idx]
        assert h["cells/index"][()].tolist() == idx.tolist()
        ops = h["cells/ops"][()]
        assert ops.dtype == np.uint8 and ops.shape == (3, 6)
        assert ops[1].tolist() == list(nb201.Cell.from_index(0).codes)
        assert h["datasets/cifar100/metrics/test_loss"].attrs["units"] == "nats"
        assert h["datasets/cifar100/metrics/latency_gpu"].attrs["units"] == "milliseconds"
    with Benchmark.open(p) as b:
        assert b.query(idx, "test_loss", seed=1).tolist()[:2] == [0.25, 2.0]
        assert b.query(777, "test_loss") == 3.0  # mean over the repeat that exists


def test_add_cells_gives_one_row_per_cell(tmp_path):
    cells = nb101.sample_many(np.random.default_rng(0), 30)
    with TableWriter(tmp_path / "t.h5", space="nb101") as w:
        rows = w.add_cells(cells)
        again = w.add_cells(cells[::-1])
        assert again.tolist() == rows[::-1].tolist()
        assert w.add_cells([cells[0].canonical()]).tolist() == [rows[0]]  # isomorphic: same row
        assert len(w) == len({c.hash() for c in cells})
        assert w.add_cells([c.to_dict() for c in cells[:3]]).tolist() == rows[:3].tolist()
        with pytest.raises(InvalidSpecError, match="hash alone"):
            w.add_cells([cells[0].hash()])
    with TableWriter(tmp_path / "u.h5", space="nb201") as w:
        assert w.add_cells([5, nb201.arch_string(5), nb201.Cell.from_index(5), 6]).tolist() == [0, 0, 0, 1]


def test_builder_validation(tmp_path):
    with TableWriter(tmp_path / "t.h5", space="nb201") as w:
        with pytest.raises(ValueError, match="strictly increasing"):
            w.add_dataset("a", seeds=[0], fidelities=[12, 12])
        with pytest.raises(ValueError, match="distinct"):
            w.add_dataset("a", seeds=[0, 0], fidelities=[12])
        w.add_dataset("a", seeds=[0], fidelities=[12])
        with pytest.raises(ValueError, match="already"):
            w.add_dataset("a", seeds=[0], fidelities=[12])
        rows = w.add_cells([1, 2])
        with pytest.raises(UnknownName, match="add_dataset"):
            w.set("b", "valid_acc", rows, 1.0)
        with pytest.raises(UnknownName, match="seed"):
            w.set("a", "valid_acc", rows, 1.0, seed=5)
        with pytest.raises(UnknownName, match="fidelity"):
            w.set("a", "valid_acc", rows, 1.0, fidelity=13)
        with pytest.raises(IndexError, match="add_cells"):
            w.set("a", "valid_acc", [2], 1.0)
        w.set("a", "valid_acc", rows, [7.0, 8.0], seed=0, fidelity=12)
    with pytest.raises(InvalidSpecError, match="nb301"):
        TableWriter(tmp_path / "x.h5", space="nb301")
    with Benchmark.open(tmp_path / "t.h5") as b:
        assert b.query([1, 2], "valid_acc").tolist() == [7.0, 8.0]


def test_writer_refuses_to_overwrite_unless_asked(tmp_path):
    p = tmp_path / "t.h5"
    make_nb201(p)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        TableWriter(p, space="nb201")
    with TableWriter(p, space="nb201", overwrite=True) as w:
        w.add_dataset("cifar10", seeds=[0], fidelities=[200])
        w.set("cifar10", "valid_acc", w.add_cells([3]), 1.0)
    with Benchmark.open(p) as b:
        assert len(b) == 1


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_exception_inside_with_leaves_nothing(tmp_path, exc):
    p = tmp_path / "t.h5"
    with pytest.raises(exc):
        with TableWriter(p, space="nb201") as w:
            w.add_dataset("cifar10", seeds=[0], fidelities=[200])
            w.set("cifar10", "valid_acc", w.add_cells(range(100)), 1.0)
            raise exc("stop")
    assert os.listdir(tmp_path) == []


def test_exception_inside_with_keeps_the_old_table(tmp_path):
    p = tmp_path / "t.h5"
    make_nb201(p)
    before = p.read_bytes()
    with pytest.raises(RuntimeError):
        with TableWriter(p, space="nb201", overwrite=True) as w:
            w.add_dataset("cifar10", seeds=[0], fidelities=[200])
            raise RuntimeError("stop")
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["t.h5"]


def test_failure_while_writing_leaves_no_temp_file(tmp_path, monkeypatch):
    p = tmp_path / "t.h5"
    make_nb201(p)
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(_schema.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        with TableWriter(p, space="nb201", overwrite=True) as w:
            w.add_dataset("cifar10", seeds=[0], fidelities=[200])
            w.set("cifar10", "valid_acc", w.add_cells(range(50)), 2.0)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["t.h5"]


def test_table_file_mode_follows_umask_and_is_kept(tmp_path):
    old = os.umask(0o022)
    try:
        make_nb201(tmp_path / "a.h5")
        os.umask(0o027)
        make_nb201(tmp_path / "b.h5")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "a.h5").st_mode & 0o777 == 0o644
    assert os.stat(tmp_path / "b.h5").st_mode & 0o777 == 0o640
    # compaction keeps the mode of the table it replaces
    p = tmp_path / "a.h5"
    os.chmod(p, 0o604)
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"valid_acc": 1.0})
    assert compact(p) == 1
    assert os.stat(p).st_mode & 0o777 == 0o604


def test_add_source_records_size_and_sha256(tmp_path):
    src = tmp_path / "official.pkl"
    src.write_bytes(b"x" * 1000)
    p = tmp_path / "t.h5"
    with TableWriter(p, space="nb201") as w:
        w.add_source(src)
        w.provenance["converter"] = "test"
        w.add_dataset("cifar10", seeds=[0], fidelities=[200])
        w.set("cifar10", "valid_acc", w.add_cells([1]), 1.0)
    with Benchmark.open(p) as b:
        assert b.provenance["sources"] == [{"file": "official.pkl", "bytes": 1000,
                                            "sha256": hashlib.sha256(b"x" * 1000).hexdigest()}]
        assert b.provenance["converter"] == "test"


# ------------------------------------------------------------------ the journal: format and replay
def test_journal_frames_are_as_documented(tmp_path):
    p = tmp_path / "t.h5"
    make_nb201(p)
    append_result(p, "nb201", nb201.Cell.from_index(3), "cifar10", seed=1, fidelity=12,
                  metrics={"valid_acc": 33.5, "valid_loss": float("nan")}, static={"params": 9})
    append_result(p, "nb201", nb201.arch_string(4), "cifar10", seed=0, fidelity=200, metrics={"valid_acc": 1})
    assert crc32c_py(b"123456789") == 0xE3069283  # the check value of CRC-32C
    data = open(journal_path(p), "rb").read()
    fr = frames(data)
    assert len(fr) == 3 and sum(12 + len(x[2]) for x in fr) == len(data)
    for _, crc, payload in fr:
        assert crc == crc32c_py(payload)
    # the first frame is the header that binds the journal to the table
    with h5py.File(p, "r") as h:
        assert json.loads(fr[0][2]) == {"format": "nasbench-suite/table-journal", "table_id": h.attrs["table_id"]}
    fr = fr[1:]
    rec = json.loads(fr[0][2].decode("utf-8"))
    assert rec == {"space": "nb201", "cell": {"index": 3}, "dataset": "cifar10", "seed": 1,
                   "fidelity": 12.0, "metrics": {"valid_acc": 33.5, "valid_loss": None},
                   "static": {"params": 9.0}}
    assert read_journal(p) == [rec, json.loads(fr[1][2])]


def test_journal_is_fsynced_after_the_write(tmp_path, monkeypatch):
    p = tmp_path / "t.h5"
    make_nb201(p)
    events = []
    real_write, real_fsync = os.write, os.fsync

    def target(fd):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return f"fd{fd}"

    def write(fd, data):
        events.append(("write", target(fd)))
        return real_write(fd, data)

    def fsync(fd):
        events.append(("fsync", target(fd)))
        return real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"valid_acc": 1.0})
    jp = os.path.realpath(journal_path(p))
    if not os.path.exists("/proc/self/fd"):
        pytest.skip("needs /proc to name file descriptors")
    mine = [e for e in events if e[1] == jp]
    assert mine and mine[-1] == ("fsync", jp) and ("write", jp) in mine


def test_replay_on_open_and_compaction(tmp_path):
    p = tmp_path / "t.h5"
    make_nb201(p)
    with Benchmark.open(p) as stale:
        append_result(p, "nb201", 2, "cifar10", seed=0, fidelity=200, metrics={"valid_acc": 99.5})  # update
        append_result(p, "nb201", 500, "cifar10", seed=0, fidelity=200,  # new cell
                      metrics={"valid_acc": 70.0, "valid_loss": 0.9}, static={"params": 5.0})
        append_result(p, "nb201", 500, "cifar10", seed=7, fidelity=200, metrics={"valid_acc": 72.0})  # new seed
        append_result(p, "nb201", 500, "cifar10", seed=0, fidelity=50, metrics={"valid_acc": 60.0})  # new fidelity
        append_result(p, "nb201", 501, "imagenet16", seed=3, fidelity=200, metrics={"valid_acc": 40.0},
                      new_dataset=True)  # new dataset
        append_result(p, "nb201", 502, "cifar10", seed=1, fidelity=12, metrics={"valid_acc": float("nan")})
        # an open Benchmark is a snapshot
        assert len(stale) == BASE_CELLS
        assert stale.query(2, "valid_acc", seed=0) == 9.0
    answers = {}
    for stage in ("journal", "compacted"):
        with Benchmark.open(p) as b:
            assert len(b) == BASE_CELLS + 3
            assert b.seeds("cifar10").tolist() == [0, 1, 7]
            assert b.fidelities("cifar10").tolist() == [12.0, 50.0, 200.0]
            assert b.datasets == ("cifar10", "imagenet16")
            assert b.query(2, "valid_acc", seed=0) == 99.5
            assert b.query(2, "valid_acc", seed=1) == 11.0  # untouched repeat
            assert np.isnan(b.query(2, "valid_acc", seed=0, fidelity=50))  # the new fidelity column
            assert b.query(500, "valid_acc") == 71.0
            assert b.query(500, "valid_acc", fidelity=50, seed=0) == 60.0
            assert b.query(500, "valid_loss", seed=0) == 0.9
            assert b.query(500, "params") == 5.0
            assert b.query(501, "valid_acc", dataset="imagenet16") == 40.0
            assert np.isnan(b.query(502, "valid_acc", fidelity=12))
            assert b.query(1, "params") == 10.0
            answers[stage] = b.query(np.arange(BASE_CELLS), "valid_acc", fidelity=12, seed=1)
        if stage == "journal":
            assert compact(p) == 6
            assert os.path.getsize(journal_path(p)) == 0
            assert compact(p) == 0
    np.testing.assert_array_equal(answers["journal"], answers["compacted"])
    assert leftovers(tmp_path) == []


def test_nb101_journal(tmp_path):
    cells = nb101.sample_many(np.random.default_rng(5), 20)
    p = tmp_path / "t.h5"
    with TableWriter(p, space="nb101") as w:
        w.add_dataset("cifar10", seeds=[0, 1, 2], fidelities=[4, 12, 36, 108])
        w.set("cifar10", "valid_acc", w.add_cells(cells[:10]), 10.0)
    new = next(c for c in nb101.sample_many(np.random.default_rng(6), 50)
               if c.hash() not in {x.hash() for x in cells})
    append_result(p, "nb101", new, "cifar10", 2, 108, {"valid_acc": 93.0})
    append_result(p, "nb101", cells[0].to_dict(), "cifar10", 0, 4, {"valid_acc": 11.0})
    rec = read_journal(p)[0]
    assert rec["cell"] == new.to_dict()
    for _ in range(2):
        with Benchmark.open(p) as b:
            assert b.query(new, "valid_acc") == 93.0
            assert b.query(new.hash(), "valid_acc", seed=2) == 93.0
            assert b.query(cells[0], "valid_acc", fidelity=4, seed=0) == 11.0
            assert b.cell(int(b.rows(new)[0])).hash() == new.hash()
        compact(p)
    with pytest.raises(InvalidSpecError):
        append_result(p, "nb101", new.hash(), "cifar10", 0, 108, {"valid_acc": 1.0})


def test_journal_of_another_space_is_refused(tmp_path):
    p = tmp_path / "t.h5"
    make_nb201(p)
    append_result(p, "nb101", nb101.sample_many(np.random.default_rng(0), 1)[0], "cifar10", 0, 108,
                  {"valid_acc": 1.0})
    with pytest.raises(TableFormatError, match="another table"):
        Benchmark.open(p)


# ------------------------------------------------------------------ torn frames
def _journal_with(p, n: int) -> bytes:
    make_nb201(p)
    for i in range(n):
        append_result(p, "nb201", NEW_CELL + i, "cifar10", 0, 200, {"valid_acc": float(i)})
    return open(journal_path(p), "rb").read()


@pytest.mark.parametrize("cut", ["header-1", "header-6", "header-12", "payload-half", "payload-1"])
def test_torn_last_frame_loses_only_that_record(tmp_path, cut):
    p = tmp_path / "t.h5"
    data = _journal_with(p, 5)
    start, _, payload = frames(data)[-1]
    keep = {"header-1": 1, "header-6": 6, "header-12": 12,
            "payload-half": 12 + len(payload) // 2, "payload-1": 12 + len(payload) - 1}[cut]
    with open(journal_path(p), "r+b") as f:
        f.truncate(start + keep)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn tail is expected, not worth a warning
        assert [r["metrics"]["valid_acc"] for r in read_journal(p)] == [0.0, 1.0, 2.0, 3.0]
        with Benchmark.open(p) as b:
            assert b.query(list(range(NEW_CELL, NEW_CELL + 4)), "valid_acc", seed=0).tolist() == [0, 1, 2, 3]
            assert b.rows([NEW_CELL + 4], missing="nan").tolist() == [-1]
        # The next append (a restarted evaluator) must not be garbled by the torn bytes.
        append_result(p, "nb201", NEW_CELL + 9, "cifar10", 0, 200, {"valid_acc": 9.0})
        assert [r["metrics"]["valid_acc"] for r in read_journal(p)] == [0.0, 1.0, 2.0, 3.0, 9.0]
        assert compact(p) == 5
    with Benchmark.open(p) as b:
        assert b.query([NEW_CELL + 3, NEW_CELL + 9], "valid_acc", seed=0).tolist() == [3.0, 9.0]
        assert b.rows([NEW_CELL + 4], missing="nan").tolist() == [-1]


def test_bad_checksum_inside_the_journal_is_an_error_that_repair_salvages_around(tmp_path):
    p = tmp_path / "t.h5"
    data = bytearray(_journal_with(p, 4))
    start, _, payload = frames(bytes(data))[2]  # frame 0 is the header: this is the second record
    i = start + 12 + payload.index(b"valid_acc")
    data[i] = ord("V")  # still JSON, wrong checksum
    open(journal_path(p), "wb").write(bytes(data))
    with pytest.raises(CorruptJournal, match="fails its checksum"):
        read_journal(p)  # issue 18: a bad CRC is corruption, not a warning with a silent loss
    repair_journal(p)
    recs = read_journal(p)
    assert [r["metrics"]["valid_acc"] for r in recs] == [0.0, 2.0, 3.0]


def test_bad_frame_marker_names_the_journal(tmp_path):
    p = tmp_path / "t.h5"
    data = bytearray(_journal_with(p, 3))
    start = frames(bytes(data))[1][0]
    data[start:start + 4] = b"XXXX"
    open(journal_path(p), "wb").write(bytes(data))
    with pytest.raises(TableFormatError) as e:
        Benchmark.open(p)
    msg = str(e.value)
    assert journal_path(p) in msg and "corrupt journal" in msg and "move the file aside" in msg


# ------------------------------------------------------------------ locking and processes
def test_appends_and_compaction_wait_for_the_lock(tmp_path):
    p = tmp_path / "t.h5"
    make_nb201(p)
    ctx = spawn()
    with table_lock(p):
        ready = ctx.Event()
        appender = ctx.Process(target=_append_one, args=(str(p), ready))
        appender.start()
        assert ready.wait(120)
        time.sleep(1.0)
        assert appender.is_alive(), "append_result did not wait for the lock"
        assert not os.path.exists(journal_path(p)) or os.path.getsize(journal_path(p)) == 0
    appender.join(60)
    assert appender.exitcode == 0
    assert len(read_journal(p)) == 1
    with table_lock(p):
        ready = ctx.Event()
        compactor = ctx.Process(target=_compact_one, args=(str(p), ready))
        compactor.start()
        assert ready.wait(120)
        time.sleep(1.0)
        assert compactor.is_alive(), "compact did not wait for the lock"
        assert len(read_journal(p)) == 1
    compactor.join(60)
    assert compactor.exitcode == 0
    assert read_journal(p) == []
    assert os.path.exists(lock_path(p))
    with Benchmark.open(p) as b:
        assert b.query(5, "valid_acc", seed=1, fidelity=12) == -1.0


@pytest.mark.slow
def test_concurrent_appends_lose_and_duplicate_nothing(tmp_path):
    workers, count = 4, 50
    p = tmp_path / "t.h5"
    make_nb201(p)
    ctx = spawn()
    start = ctx.Event()
    procs = [ctx.Process(target=_appender, args=(str(p), w, count, start)) for w in range(workers)]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * workers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recs = read_journal(p)
    data = open(journal_path(p), "rb").read()
    assert sum(12 + len(f[2]) for f in frames(data)) == len(data)  # whole frames only, none interleaved
    seen = Counter(r["cell"]["index"] for r in recs)
    expected = {cell_of(w, i, count) for w in range(workers) for i in range(count)}
    assert len(recs) == workers * count and set(seen) == expected and set(seen.values()) == {1}
    # each worker's records are in its own order
    for w in range(workers):
        mine = [r["metrics"]["valid_acc"] for r in recs if r["static"]["params"] == w]
        assert mine == [value_of(w, i) for i in range(count)]
    check_all_present(p, workers, count)  # replayed from the journal
    assert compact(p) == workers * count
    assert read_journal(p) == []
    check_all_present(p, workers, count)  # from the compacted table
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_compaction_while_others_append_loses_nothing(tmp_path):
    workers, count = 4, 50
    p = tmp_path / "t.h5"
    make_nb201(p)
    ctx = spawn()
    start = ctx.Event()
    procs = [ctx.Process(target=_appender, args=(str(p), w, count, start, 0.005)) for w in range(workers)]
    for proc in procs:
        proc.start()
    start.set()
    merged, compactions, visible = 0, 0, []
    all_cells = [cell_of(w, i, count) for w in range(workers) for i in range(count)]
    deadline = time.monotonic() + 180
    while any(proc.is_alive() for proc in procs) and time.monotonic() < deadline:
        got = compact(p)
        merged += got
        compactions += got > 0
        # A reader (no lock) meanwhile sees a consistent, growing table.
        with Benchmark.open(p) as b:
            rows = b.rows(all_cells, missing="nan")
            visible.append(int((rows >= 0).sum()))
            present = [c for c, r in zip(all_cells, rows) if r >= 0]
            got_vals = b.query(present, "valid_acc", seed=0, fidelity=200)
            want = {cell_of(w, i, count): value_of(w, i) for w in range(workers) for i in range(count)}
            assert got_vals.tolist() == [want[c] for c in present]
        time.sleep(0.02)
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * workers
    merged += compact(p)
    assert merged == workers * count, "every record merged exactly once"
    assert compactions >= 2, "compaction did not overlap the appends; the test proved nothing"
    assert visible == sorted(visible)
    assert read_journal(p) == []
    check_all_present(p, workers, count)
    assert leftovers(tmp_path) == []


KILLED_APPENDER = textwrap.dedent("""
    import sys
    from nasbench_suite.tables import append_result
    path, first = sys.argv[1], int(sys.argv[2])
    i = first
    while True:
        append_result(path, "nb201", %d + i, "cifar10", 0, 200, {"valid_acc": float(i)},
                      {"params": float(i)})
        print(i, flush=True)
        i += 1
""" % NEW_CELL)


@pytest.mark.slow
def test_process_killed_while_appending_loses_at_most_one_result(tmp_path):
    p = tmp_path / "t.h5"
    make_nb201(p)
    acknowledged = 0
    for round_, wait_lines in enumerate((5, 25, 60)):
        child = subprocess.Popen([sys.executable, "-c", KILLED_APPENDER, str(p), str(acknowledged)],
                                 stdout=subprocess.PIPE, text=True)
        lines = []
        while len(lines) < wait_lines:
            line = child.stdout.readline()
            assert line, "the appender died on its own"
            lines.append(line)
        child.send_signal(signal.SIGKILL)
        rest = child.communicate(timeout=30)[0]
        lines += rest.splitlines()
        acknowledged += len(lines)
        recs = read_journal(p)  # the kill may have left a torn frame: ignored
        got = [int(r["metrics"]["valid_acc"]) for r in recs]
        # everything acknowledged is there, in order, once; at most the one in flight more
        assert acknowledged <= len(got) <= acknowledged + 1
        assert got == list(range(len(got)))
        acknowledged = len(got)  # the next child continues after what was written
        with Benchmark.open(p) as b:
            assert len(b) == BASE_CELLS + acknowledged
            assert b.query(NEW_CELL + acknowledged - 1, "params") == acknowledged - 1
    # the lock died with the child: appending and compacting still work
    append_result(p, "nb201", NEW_CELL + acknowledged, "cifar10", 0, 200, {"valid_acc": float(acknowledged)})
    assert compact(p) == acknowledged + 1
    with Benchmark.open(p) as b:
        cells = list(range(NEW_CELL, NEW_CELL + acknowledged + 1))
        assert b.query(cells, "valid_acc", seed=0).tolist() == list(range(acknowledged + 1))
