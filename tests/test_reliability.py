"""Issue 18, "Nothing silently wrong": regression tests of the cases fixed so
far (reports/reliability.md lists every case and its state).

- item 1: a journal is bound to its table (header frame with the table's
  ``table_id``); overwrite retires the old table's journal; a journal of
  another table is refused at open, compact and append.
- item 2: ``append_result`` / ``append_results`` check their arguments (and
  the table) before writing.
- item 5: the data loaders' restricted unpickler; the NB201 converter's
  allocation and expansion caps.
- item 6: NB101 hash keys are exactly 32 hex characters.
- item 3: journal framing: only an incomplete last frame is a torn tail; any
  other damage is CorruptJournal (open, read, compact and append refuse it),
  and ``repair_journal`` / ``nasbench-suite repair`` salvage every valid frame.
- item 4: the reader checks shapes, axes, lookup, format_version, the JSON
  attributes and the cost model against the format at open.

All fast, on small tables written here; no real data."""
from __future__ import annotations

import bz2
import json
import os
import pickle
import shutil
import struct
import warnings

import h5py
import numpy as np
import pytest

from nasbench_suite import InvalidSpecError
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.tables import (Benchmark, CellNotInTable, CorruptJournal, TableFormatError, TableWriter,
                                   append_result, append_results, compact, read_journal, repair_journal)
from nasbench_suite.tables.errors import InvalidResult, StaleJournal
from nasbench_suite.tables.journal import JOURNAL_FORMAT, journal_path


def make_table(path, value: float = 94.363, overwrite: bool = False, cells: int = 10) -> str:
    """An NB201 table: cifar10, seeds [0, 1], fidelities [12, 200]; test_acc
    of every cell and repeat is ``value`` (params static = 10 * index)."""
    with TableWriter(path, space="nb201", overwrite=overwrite) as w:
        w.add_dataset("cifar10", seeds=[0, 1], fidelities=[12, 200])
        rows = w.add_cells(range(cells))
        w.set("cifar10", "test_acc", rows, value)
        w.set_static("cifar10", "params", rows, np.arange(cells) * 10.0)
    return os.fspath(path)


def first_frame(path) -> dict:
    data = open(journal_path(path), "rb").read()
    magic, length, _ = struct.unpack_from("<4sII", data, 0)
    assert magic == b"NBJ1"
    return json.loads(data[12:12 + length])


def table_id(path) -> str:
    with h5py.File(path, "r") as h:
        return h.attrs["table_id"]


# ================================================================== item 1: stale journals
def test_overwrite_does_not_replay_the_old_tables_journal(tmp_path):
    """The issue's case: a journaled 12.5 came back after a rewrite that says 94.363."""
    p = make_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"test_acc": 12.5})
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 12.5
    with pytest.warns(UserWarning, match=r"moved to .*stale.*1 result record"):
        make_table(p, overwrite=True)
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 94.363
    assert not os.path.exists(journal_path(p))
    stale = [n for n in os.listdir(tmp_path) if n.startswith("t.h5.journal.stale-")]
    assert len(stale) == 1, os.listdir(tmp_path)
    # the retired results are kept aside, not lost
    assert b'"test_acc": 12.5' in open(tmp_path / stale[0], "rb").read()
    assert compact(p) == 0  # nothing to merge
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 94.363


def test_overwrite_removes_an_empty_journal_quietly(tmp_path):
    p = make_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"test_acc": 12.5})
    assert compact(p) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_table(p, overwrite=True)
    assert not os.path.exists(journal_path(p))
    assert not [n for n in os.listdir(tmp_path) if "stale" in n]


def test_a_new_table_over_a_leftover_journal_retires_it(tmp_path):
    """The table file was deleted by hand, its journal left behind."""
    p = make_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"test_acc": 12.5})
    os.unlink(p)
    with pytest.warns(UserWarning, match="stale"):
        make_table(p)
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 94.363


def test_journal_header_binds_the_journal_and_compaction_keeps_the_id(tmp_path):
    p = make_table(tmp_path / "t.h5")
    tid = table_id(p)
    assert len(tid) == 32
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"test_acc": 12.5})
    assert first_frame(p) == {"format": JOURNAL_FORMAT, "table_id": tid}
    assert [r["metrics"] for r in read_journal(p)] == [{"test_acc": 12.5}]  # the header is not a record
    assert compact(p) == 1
    assert table_id(p) == tid and os.path.getsize(journal_path(p)) == 0
    append_result(p, "nb201", 4, "cifar10", 0, 200, {"test_acc": 13.5})
    assert first_frame(p)["table_id"] == tid  # an emptied journal gets its header again
    with Benchmark.open(p) as b:
        assert b.query([3, 4], "test_acc", seed=0).tolist() == [12.5, 13.5]
    # a fresh table gets a fresh id
    make_table(tmp_path / "u.h5")
    assert table_id(tmp_path / "u.h5") != tid


def test_a_crash_between_compaction_and_truncation_still_replays_harmlessly(tmp_path):
    """compact renames the new table in, then empties the journal: a crash in
    between leaves the merged records in the journal; they are bound to the
    compacted table (same id) and replay to the same values."""
    p = make_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"test_acc": 12.5})
    append_result(p, "nb201", 500, "cifar10", 1, 12, {"test_acc": 7.0}, {"params": 1.0})
    saved = open(journal_path(p), "rb").read()
    assert compact(p) == 2
    open(journal_path(p), "wb").write(saved)  # as if the truncation never happened
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 12.5 and b.query(500, "test_acc", seed=1, fidelity=12) == 7.0
    assert compact(p) == 2
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 12.5 and len(b) == 11


def test_journal_of_another_table_is_refused_everywhere(tmp_path):
    """A table replaced behind the suite's back (a copy, an older tool): its
    journal is not replayed, merged or appended to."""
    p = make_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"test_acc": 12.5})
    other = make_table(tmp_path / "other.h5", value=50.0)
    shutil.copy(other, p)
    jp = journal_path(p)
    before = open(jp, "rb").read()
    for action in (lambda: Benchmark.open(p), lambda: compact(p),
                   lambda: append_result(p, "nb201", 4, "cifar10", 0, 200, {"test_acc": 1.0})):
        with pytest.raises(StaleJournal) as e:
            action()
        msg = str(e.value)
        assert isinstance(e.value, TableFormatError)
        assert jp in msg and p in msg and "Move" in msg and "belongs to another table" in msg
    assert open(jp, "rb").read() == before, "nothing was appended or truncated"
    os.rename(jp, jp + ".stale")  # the fix the message gives
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 50.0


def test_tables_without_an_id_keep_working_and_refuse_a_bound_journal(tmp_path):
    """Tables written before table_id existed: headerless journals as before."""
    p = make_table(tmp_path / "t.h5")
    with h5py.File(p, "r+") as h:
        del h.attrs["table_id"]
    append_result(p, "nb201", 3, "cifar10", 0, 200, {"test_acc": 12.5})
    assert "format" not in first_frame(p)  # no header for a table without an id
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 12.5
    assert compact(p) == 1
    with h5py.File(p, "r") as h:
        assert "table_id" not in h.attrs  # compaction does not invent one
    # a bound journal next to a table without an id belongs to another table
    q = make_table(tmp_path / "q.h5")
    append_result(q, "nb201", 3, "cifar10", 0, 200, {"test_acc": 1.0})
    shutil.copy(journal_path(q), journal_path(p))
    with pytest.raises(StaleJournal):
        Benchmark.open(p)


# ================================================================== item 2: append_result checks
BAD_CALLS = {
    # argument: (dataset, seed, fidelity, metrics, static), what the message says
    "dataset with /": (("cifar10/v2", 0, 200, {"test_acc": 1.0}, None), "'/'"),
    "dataset empty": (("", 0, 200, {"test_acc": 1.0}, None), "empty"),
    "dataset dot": ((".", 0, 200, {"test_acc": 1.0}, None), "'.'"),
    "dataset dotdot": (("..", 0, 200, {"test_acc": 1.0}, None), "'..'"),
    "dataset not str": ((7, 0, 200, {"test_acc": 1.0}, None), "dataset name must be a str"),
    "dataset unknown": (("digits", 0, 200, {"test_acc": 1.0}, None), "new_dataset=True"),
    "metric with /": (("cifar10", 0, 200, {"/evil": 1.0}, None), "'/'"),
    "metric empty": (("cifar10", 0, 200, {"": 1.0}, None), "empty"),
    "static metric dotdot": (("cifar10", 0, 200, {"test_acc": 1.0}, {"..": 1.0}), "'..'"),
    "fidelity nan": (("cifar10", 0, float("nan"), {"test_acc": 1.0}, None), "fidelity must be a finite"),
    "fidelity inf": (("cifar10", 0, float("inf"), {"test_acc": 1.0}, None), "fidelity must be a finite"),
    "fidelity zero": (("cifar10", 0, 0, {"test_acc": 1.0}, None), "> 0"),
    "fidelity negative": (("cifar10", 0, -12, {"test_acc": 1.0}, None), "> 0"),
    "fidelity str": (("cifar10", 0, "200", {"test_acc": 1.0}, None), "fidelity must be a number"),
    "fidelity bool": (("cifar10", 0, True, {"test_acc": 1.0}, None), "fidelity must be a number"),
    "seed negative": (("cifar10", -1, 200, {"test_acc": 1.0}, None), "non-negative"),
    "seed over int64": (("cifar10", 2 ** 63, 200, {"test_acc": 1.0}, None), "int64"),
    "seed float": (("cifar10", 1.5, 200, {"test_acc": 1.0}, None), "seed must be an integer"),
    "seed bool": (("cifar10", True, 200, {"test_acc": 1.0}, None), "seed must be an integer"),
    "value inf": (("cifar10", 0, 200, {"test_acc": float("inf")}, None), "must be finite"),
    "value 1e400": (("cifar10", 0, 200, {"test_acc": float("1e400")}, None), "must be finite"),
    "value -inf static": (("cifar10", 0, 200, {"test_acc": 1.0}, {"params": -float("inf")}), "must be finite"),
    "value str": (("cifar10", 0, 200, {"test_acc": "93.1"}, None), "must be a number"),
    "value None": (("cifar10", 0, 200, {"test_acc": None}, None), "must be a number"),
    "metrics not a dict": (("cifar10", 0, 200, [("test_acc", 1.0)], None), "must be a dict"),
    "both kinds in the call": (("cifar10", 0, 200, {"flops": 1.0}, {"flops": 2.0}), "both"),
    "static in the table, given per-fidelity": (("cifar10", 0, 200, {"params": 1.0}, None),
                                                "'params' is a static metric"),
    "per-fidelity in the table, given static": (("cifar10", 0, 200, {}, {"test_acc": 1.0}),
                                                "'test_acc' is a per-fidelity metric"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_append_arguments_are_refused_before_writing(tmp_path, case):
    p = make_table(tmp_path / "t.h5")
    args, says = BAD_CALLS[case]
    with pytest.raises(InvalidResult) as e:
        append_result(p, "nb201", 3, *args)
    assert isinstance(e.value, ValueError)
    assert says in str(e.value), str(e.value)
    assert "append_result" in str(e.value)
    assert not os.path.exists(journal_path(p)), "nothing is written on error"
    # the batch form refuses it too, and writes none of the good results before it
    with pytest.raises(InvalidResult, match="result 1"):
        append_results(p, "nb201", [(4, "cifar10", 0, 200, {"test_acc": 1.0}, {}), (3, *args)])
    assert read_journal(p) == []
    # the table still opens and compacts (one bad call used to brick it)
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=0) == 94.363
    assert compact(p) == 0


def test_what_append_still_accepts(tmp_path):
    p = make_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", np.int64(1), np.float32(12.0),
                  {"test_acc": np.float64(50.0), "test_loss": float("nan")},  # NaN: a missing value
                  {"params": np.int64(7), "flops": np.array(3.0)})
    append_result(p, "nb201", 3, "cifar10", 2 ** 63 - 1, 36, {"test_acc": 1})  # a new seed and fidelity
    append_result(p, "nb201", 3, "digits", 0, 1, {"test_acc": 60.0}, new_dataset=True)
    append_result(p, "nb201", 4, "digits", 0, 1, {"test_acc": 61.0})  # the journal has it now
    with Benchmark.open(p) as b:
        assert b.query(3, "test_acc", seed=1, fidelity=12) == 50.0
        assert np.isnan(b.query(3, "test_loss", seed=1, fidelity=12))
        assert b.query(3, "params") == 7.0 and b.query(3, "flops") == 3.0
        assert b.query([3, 4], "test_acc", dataset="digits").tolist() == [60.0, 61.0]
    assert compact(p) == 4


def test_metric_kind_conflicts_with_the_journal_and_within_a_batch(tmp_path):
    p = make_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", 0, 200, {}, {"latency_cpu": 3.0})  # new static metric
    with pytest.raises(InvalidResult, match="'latency_cpu' is a static metric.*journal"):
        append_result(p, "nb201", 3, "cifar10", 0, 200, {"latency_cpu": 3.0})
    with pytest.raises(InvalidResult, match="'energy' is a per-fidelity metric.*this call"):
        append_results(p, "nb201", [(3, "cifar10", 0, 200, {"energy": 1.0}, {}),
                                    (4, "cifar10", 0, 200, {}, {"energy": 1.0})])
    assert len(read_journal(p)) == 1
    # per dataset: the same name may be static in one data set and per-fidelity in another
    append_result(p, "nb201", 3, "other", 0, 200, {"latency_cpu": 1.0}, new_dataset=True)
    assert compact(p) == 2


# ================================================================== item 6: exact NB101 keys
@pytest.fixture
def nb101_table(tmp_path):
    cells = nb101.sample_many(np.random.default_rng(0), 8)
    p = tmp_path / "nb101.h5"
    with TableWriter(p, space="nb101") as w:
        w.add_dataset("cifar10", seeds=[0], fidelities=[108])
        w.set("cifar10", "valid_acc", w.add_cells(cells), np.arange(8.0).reshape(8, 1, 1))
    with Benchmark.open(p) as b:
        yield b, [c.hash() for c in cells]


def test_nb101_keys_are_exactly_32_hex_characters(nb101_table):
    b, hashes = nb101_table
    h = hashes[2]
    assert b.query(h, "valid_acc") == 2.0
    assert b.query(h.upper(), "valid_acc") == 2.0  # hex digits either case
    for key in (h + "xyz", h + " ", " " + h, h[:31], h.encode() + b"x"):
        for missing in ("raise", "nan"):
            with pytest.raises(InvalidSpecError, match="32-character hex"):
                b.query(key, "valid_acc", missing=missing)
        with pytest.raises(InvalidSpecError, match="32-character hex"):
            b.query([hashes[0], key], "valid_acc")
    with pytest.raises(InvalidSpecError, match="32-character hex"):
        b.query(np.array([hashes[0], h + "xyz"]), "valid_acc")
    # a wider string array of exact hashes is fine
    assert b.query(np.array(hashes[:2], dtype="U40"), "valid_acc").tolist() == [0.0, 1.0]
    assert b.query(np.array([x.encode() for x in hashes[:2]], dtype="S40"), "valid_acc").tolist() == [0.0, 1.0]
    # well formed but absent: CellNotInTable (or NaN), as before
    absent = "0" * 32
    with pytest.raises(CellNotInTable):
        b.query(absent, "valid_acc")
    assert np.isnan(b.query(absent, "valid_acc", missing="nan"))


# ================================================================== item 5: unpickling
torch_needed = pytest.mark.skipif(
    __import__("importlib").util.find_spec("torch") is None, reason="nasbench_suite.train needs torch")


class _RunsCode:
    """A pickle that calls os.mkdir(marker) when loaded by pickle.loads."""

    def __init__(self, marker):
        self.marker = os.fspath(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _cifar_batch(rng, n=4) -> dict:
    """The official CIFAR-10 python batch layout (bytes keys)."""
    return {b"batch_label": b"training batch 1 of 5", b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"x.png"] * n}


def _cifar_root(tmp_path, protocol=2, replace=None):
    root = tmp_path / "data"
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps(_cifar_batch(rng), protocol=protocol))
    if replace:
        (d / replace[0]).write_bytes(replace[1])
    return root


@torch_needed
@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_cifar_batch_in_the_official_format_still_loads(tmp_path, protocol):
    from nasbench_suite.train.data import load_dataset

    ds = load_dataset("cifar10", root=_cifar_root(tmp_path, protocol), splits="nb101", verify=False)
    assert ds.train.x.shape == (16, 3, 32, 32) and ds.train.x.dtype == np.uint8
    assert ds.valid.y.shape == (4,) and ds.test.y.dtype == np.int64


@torch_needed
def test_a_crafted_cifar_batch_is_refused_and_runs_nothing(tmp_path):
    from nasbench_suite.train import data

    marker = tmp_path / "code-ran"
    evil = pickle.dumps({b"data": _RunsCode(marker), b"labels": []}, protocol=2)
    root = _cifar_root(tmp_path, replace=("data_batch_3", evil))
    with pytest.raises(Exception) as e:
        data.load_dataset("cifar10", root=root, verify=False)
    assert not marker.exists(), "the crafted pickle ran code"
    assert isinstance(e.value, data.DataFileError) and isinstance(e.value, ValueError)
    assert "data_batch_3" in str(e.value) and "mkdir" in str(e.value)


@torch_needed
def test_a_crafted_imagenet16_batch_is_refused(tmp_path):
    from nasbench_suite.train import data

    d = tmp_path / "ImageNet16"
    d.mkdir()
    marker = tmp_path / "code-ran"
    ok = {"data": np.zeros((2, 768), np.uint8), "labels": [1, 2], "mean": np.zeros(768)}
    for name in [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]:
        (d / name).write_bytes(pickle.dumps(ok))
    (d / "val_data").write_bytes(pickle.dumps({"data": _RunsCode(marker)}))
    with pytest.raises(Exception) as e:
        data.load_dataset("ImageNet16-120", root=tmp_path)
    assert not marker.exists(), "the crafted pickle ran code"
    assert isinstance(e.value, data.DataFileError) and "val_data" in str(e.value)


@torch_needed
@pytest.mark.parametrize("payload, says", [
    (pickle.dumps(np.zeros((2, 3072), np.uint8)), "holds a ndarray"),
    (pickle.dumps({b"labels": [1]}), "without 'data'"),
    (b"not a pickle at all", "cannot be read as a data batch"),
])
def test_a_batch_that_is_not_a_batch_says_so(tmp_path, payload, says):
    from nasbench_suite.train.data import DataFileError, load_dataset

    root = _cifar_root(tmp_path, replace=("test_batch", payload))
    with pytest.raises(DataFileError, match=says) as e:
        load_dataset("cifar10", root=root, verify=False)
    assert "test_batch" in str(e.value)


def test_nb201_converter_caps_what_a_file_can_allocate(tmp_path):
    from nasbench_suite.tables.convert_nb201 import SourceError, load_archive

    # 35 bytes asking for bytearray(3 GiB)
    tiny = b"\x80\x02c__builtin__\nbytearray\n\x8a\x05\x00\x00\x00\xc0\x00\x85R."
    (tmp_path / "a.pth").write_bytes(tiny)
    with pytest.raises(SourceError, match="asks for a bytearray of 3,221,225,472 bytes"):
        load_archive(tmp_path / "a.pth", use_torch=False)
    # an ndarray of a huge shape, by its constructor
    big = (b"\x80\x02cnumpy\nndarray\nJ\x00\x00\x00\x40\x85cnumpy\ndtype\nX\x02\x00\x00\x00f8\x85R\x86R.")
    (tmp_path / "b.pth").write_bytes(big)
    with pytest.raises(SourceError, match="asks for a numpy array"):
        load_archive(tmp_path / "b.pth", use_torch=False)


def test_nb201_converter_caps_bz2_expansion(tmp_path, monkeypatch):
    from nasbench_suite.tables import convert_nb201
    from nasbench_suite.tables.convert_nb201 import SourceError, load_archive

    # a 1 MiB floor instead of 256 MiB, so that a small bomb shows it
    monkeypatch.setattr(convert_nb201, "_MIN_EXPANDED", 1 << 20, raising=False)
    bomb = bz2.compress(pickle.dumps([0.0] * (4 << 20), protocol=4))  # ~36 MB of pickle, a few KB of bz2
    assert len(bomb) * 200 < 36 << 20
    (tmp_path / "x.pickle.pbz2").write_bytes(bomb)
    with pytest.raises(SourceError, match="decompression bomb"):
        load_archive(tmp_path / "x.pickle.pbz2")
    fine = bz2.compress(pickle.dumps({"x": list(range(1000))}))
    (tmp_path / "y.pickle.pbz2").write_bytes(fine)
    assert load_archive(tmp_path / "y.pickle.pbz2") == {"x": list(range(1000))}


# ================================================================== item 3: journal framing
def _frames(data: bytes) -> list:
    """[(offset, payload length)] of the frames of an intact journal (frame 0: the header)."""
    out, pos = [], 0
    while pos < len(data):
        _, length, _ = struct.unpack_from("<4sII", data, pos)
        out.append((pos, length))
        pos += 12 + length
    return out


def _journal(tmp_path, n: int = 5):
    """A table whose journal holds n acknowledged records: cell 100 + i, test_acc i."""
    p = make_table(tmp_path / "t.h5")
    for i in range(n):
        append_result(p, "nb201", 100 + i, "cifar10", 0, 200, {"test_acc": float(i)})
    data = open(journal_path(p), "rb").read()
    return p, data, _frames(data)


def _values(p) -> list:
    return [r["metrics"]["test_acc"] for r in read_journal(p)]


def _write(p, data) -> None:
    with open(journal_path(p), "wb") as f:
        f.write(bytes(data))


def test_a_flipped_bit_in_a_mid_journal_length_is_corruption_not_a_torn_tail(tmp_path):
    """The issue's case: the reader took the rest for a torn tail and dropped
    every later record (acknowledged ones), and compact made it permanent."""
    p, data, frames = _journal(tmp_path)
    jp = journal_path(p)
    off = frames[2][0]  # the second record
    bad = bytearray(data)
    bad[off + 6] ^= 0x10  # its length + 1 MiB: past the end of the file, valid frames after it
    _write(p, bad)
    with pytest.raises(CorruptJournal) as e:
        Benchmark.open(p)
    msg = str(e.value)
    assert isinstance(e.value, TableFormatError) and e.value.offset == off and e.value.journal == jp
    assert jp in msg and f"byte {off} " in msg and "length field is damaged" in msg
    assert f"valid frame starts at byte {frames[3][0]}" in msg and f"nasbench-suite repair {p}" in msg
    with pytest.raises(CorruptJournal):
        read_journal(p)
    table_before = open(p, "rb").read()
    with pytest.raises(CorruptJournal, match="Nothing was compacted"):
        compact(p)
    assert open(p, "rb").read() == table_before and open(jp, "rb").read() == bytes(bad)
    # repair keeps every record: this one's checksum proves its payload whole
    report = repair_journal(p)
    assert report.changed and report.records == 5 and report.skipped == []
    assert [w for _, _, w in report.kept][2].startswith("record with a damaged length field")
    assert f"rebuilt  bytes {off}-{frames[3][0] - 1}" in str(report)
    assert os.path.basename(report.kept_as).startswith("t.h5.journal.corrupt-")
    assert open(report.kept_as, "rb").read() == bytes(bad), "the original is kept as it was"
    assert _values(p) == [0.0, 1.0, 2.0, 3.0, 4.0]
    with Benchmark.open(p) as b:
        assert b.query(list(range(100, 105)), "test_acc", seed=0).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert compact(p) == 5


@pytest.mark.parametrize("which", [2, -1], ids=["middle", "last"])
def test_a_bad_checksum_is_an_error_and_repair_skips_only_that_record(tmp_path, which):
    """Was a warning and a silent loss in the middle, a silent loss at the end."""
    p, data, frames = _journal(tmp_path)
    off, length = frames[which]
    bad = bytearray(data)
    bad[off + 12 + data[off + 12:off + 12 + length].index(b"test_acc")] = ord("T")  # still JSON
    _write(p, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for action in (lambda: Benchmark.open(p), lambda: read_journal(p), lambda: compact(p)):
            with pytest.raises(CorruptJournal, match=rf"byte {off} \(of {len(data)}\) fails its checksum"):
                action()
    report = repair_journal(p)
    assert [(o, n) for o, n, _ in report.skipped] == [(off, 12 + length)]
    assert f"skipped  bytes {off}-{off + 12 + length - 1} ({12 + length} bytes)" in str(report)
    lost = 1 if which == 2 else 4
    assert _values(p) == [float(i) for i in range(5) if i != lost]
    assert compact(p) == 4


def test_a_damaged_length_of_the_last_frame_is_not_taken_for_a_torn_tail(tmp_path):
    p, data, frames = _journal(tmp_path)
    off = frames[-1][0]
    bad = bytearray(data)
    bad[off + 6] ^= 0x01  # past the end of the file; nothing follows, but the payload is whole
    _write(p, bad)
    with pytest.raises(CorruptJournal, match="the record is whole and its length field is damaged"):
        read_journal(p)
    report = repair_journal(p)
    assert report.records == 5 and report.skipped == []
    assert _values(p) == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("keep", [1, 5, 12, 40], ids=["marker-1", "header-5", "header-12", "payload-28"])
def test_a_torn_last_frame_is_still_a_torn_tail(tmp_path, keep):
    """What a process killed mid-append leaves: ignored, cut by the next
    append, and nothing for repair to do."""
    p, data, frames = _journal(tmp_path)
    _write(p, data[:frames[-1][0] + keep])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _values(p) == [0.0, 1.0, 2.0, 3.0]
        report = repair_journal(p)
    assert not report.changed and report.torn == keep and "nothing to repair" in str(report)
    assert not [n for n in os.listdir(tmp_path) if "corrupt" in n]
    append_result(p, "nb201", 109, "cifar10", 0, 200, {"test_acc": 9.0})
    assert _values(p) == [0.0, 1.0, 2.0, 3.0, 9.0]


def test_append_refuses_a_corrupt_journal_instead_of_cutting_it(tmp_path):
    """An append scans a journal that does not end on a whole frame, to cut a
    torn tail; it cut at the first bad frame, destroying the records after it."""
    p, data, frames = _journal(tmp_path)
    bad = bytearray(data)
    bad[frames[2][0] + 6] ^= 0x10
    bad = bad[:frames[-1][0] + 20]  # and a torn last frame
    _write(p, bad)
    with pytest.raises(CorruptJournal, match=f"byte {frames[2][0]} "):
        append_result(p, "nb201", 109, "cifar10", 0, 200, {"test_acc": 9.0})
    assert open(journal_path(p), "rb").read() == bytes(bad), "nothing cut, nothing appended"
    report = repair_journal(p)
    assert report.records == 4 and report.torn == 20
    assert [(o, n) for o, n, _ in report.skipped] == [(frames[-1][0], 20)]
    append_result(p, "nb201", 109, "cifar10", 0, 200, {"test_acc": 9.0})
    assert _values(p) == [0.0, 1.0, 2.0, 3.0, 9.0]


def test_repair_resynchronises_at_the_next_valid_frame(tmp_path):
    p, data, frames = _journal(tmp_path)
    junk = b"\x00junk\xff" * 5  # 30 bytes between two frames
    at = frames[3][0]
    last = frames[-1][0] + len(junk)
    bad = bytearray(data[:at] + junk + data[at:])
    bad[last:last + 12] = bytes(12)  # the last frame's marker, length and checksum: gone
    _write(p, bad)
    with pytest.raises(CorruptJournal, match=f"byte {at} .*bad frame marker"):
        Benchmark.open(p)
    report = repair_journal(p)
    assert [(o, n) for o, n, _ in report.skipped] == [(at, len(junk)), (last, len(bad) - last)]
    assert "bad frame marker" in report.skipped[1][2] and report.torn == 0
    assert _values(p) == [0.0, 1.0, 2.0, 3.0]


def test_repair_of_a_damaged_header_binds_the_records_only_when_asked(tmp_path):
    p, data, frames = _journal(tmp_path)
    bad = bytearray(data)
    bad[12 + 3] ^= 0x01  # the header's payload: its checksum fails
    _write(p, bad)
    with pytest.raises(CorruptJournal, match=r"byte 0 \(of"):
        Benchmark.open(p)
    report = repair_journal(p)
    assert report.records == 5 and [(o, n) for o, n, _ in report.skipped] == [(0, frames[1][0])]
    assert f"nasbench-suite repair --rebind {p}" in str(report)
    with pytest.raises(StaleJournal):  # not known to be this table's journal any more
        Benchmark.open(p)
    report = repair_journal(p, rebind=True)
    assert report.changed and "bound to" in str(report)
    assert first_frame(p) == {"format": JOURNAL_FORMAT, "table_id": table_id(p)}
    with Benchmark.open(p) as b:
        assert b.query(104, "test_acc", seed=0) == 4.0


def test_repair_command(tmp_path, capsys):
    from nasbench_suite.cli import main

    p, data, frames = _journal(tmp_path)
    bad = bytearray(data)
    bad[frames[2][0] + 6] ^= 0x10
    _write(p, bad)
    # a command that opens the table says what is wrong and what to run, on one line
    out = os.fspath(tmp_path / "runs.h5")
    assert main(["compare", "--benchmark", p, "--strategies", "random_search", "--seeds", "1",
                 "--budget-queries", "5", "--search-metric", "test_acc", "-o", out, "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "corrupt journal" in err and f"nasbench-suite repair {p}" in err
    assert main(["repair", p]) == 0
    printed = capsys.readouterr().out
    assert "repaired: kept 5 record(s) and the header" in printed and "rebuilt  bytes" in printed
    assert "kept as" in printed and ".corrupt-" in printed
    assert main(["repair", journal_path(p)]) == 0  # the journal named instead of its table
    assert "nothing to repair" in capsys.readouterr().out
    assert main(["repair", os.fspath(tmp_path / "nope.h5")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no such table" in err
    with Benchmark.open(p) as b:
        assert b.query(104, "test_acc", seed=0) == 4.0


# ================================================================== item 4: layout checked at open
def varied_table(path) -> str:
    """NB201 cells 0..9, cifar10 seeds [0, 1], fidelities [12, 200]:
    test_acc[row, repeat, fid] = 50 + row + 10 * repeat + 20 * fid (all
    distinct), params = row, a per-epoch cost model of 2 s."""
    with TableWriter(path, space="nb201") as w:
        w.add_dataset("cifar10", seeds=[0, 1], fidelities=[12, 200])
        rows = w.add_cells(range(10))
        w.set("cifar10", "test_acc", rows,
              50.0 + np.arange(10)[:, None, None] + 10.0 * np.arange(2)[None, :, None] + 20.0 * np.arange(2))
        w.set_static("cifar10", "params", rows, np.arange(10.0))
        w.cost_model = {"kind": "per_epoch", "seconds_per_epoch": 2.0}
    return os.fspath(path)


def _replace(h, name, data) -> None:
    del h[name]
    h[name] = data


def _attr(name, value):
    return lambda h: h.attrs.__setitem__(name, value)


M = "datasets/cifar10/metrics/test_acc"
LAYOUT_DAMAGE = {
    # case: (change, words the message holds besides the file name)
    "metric with one seed, axis of two": (lambda h: _replace(h, M, h[M][:, :1, :]),
                                         ["'cifar10'", "'test_acc'", "(10, 1, 2)", "2 seeds [0, 1]"]),
    "metric with three fidelities, axis of two": (lambda h: _replace(h, M, np.zeros((10, 2, 3))),
                                                  ["'cifar10'", "'test_acc'", "(10, 2, 3)", "2 fidelities"]),
    "metric with another number of rows": (lambda h: _replace(h, M, h[M][:9]), ["'test_acc'", "10 rows"]),
    "fidelities stored unsorted": (lambda h: _replace(h, "datasets/cifar10/fidelities", [200.0, 12.0]),
                                   ["'cifar10'", "not strictly increasing", "200 comes before 12"]),
    "duplicate fidelities": (lambda h: _replace(h, "datasets/cifar10/fidelities", [12.0, 12.0]),
                             ["'cifar10'", "fidelity 12 appears twice"]),
    "fidelity not finite": (lambda h: _replace(h, "datasets/cifar10/fidelities", [12.0, np.nan]),
                            ["'cifar10'", "not finite"]),
    "duplicate seeds": (lambda h: _replace(h, "datasets/cifar10/seeds", [1, 1]), ["'cifar10'", "seed 1 appears"]),
    "seeds not integers": (lambda h: _replace(h, "datasets/cifar10/seeds", [0.0, 1.5]),
                           ["'cifar10'", "no seeds axis"]),
    "static metric of another length": (lambda h: _replace(h, "datasets/cifar10/static/params", np.zeros(9)),
                                        ["'cifar10'", "'params'", "(9,)"]),
    "name both per-fidelity and static": (
        lambda h: h.create_dataset("datasets/cifar10/static/test_acc", data=np.zeros(10)),
        ["'cifar10'", "'test_acc'", "both a per-fidelity and a static metric"]),
    "cells column of another length": (lambda h: _replace(h, "cells/ops", h["cells/ops"][:9]),
                                       ["cells/ops", "10 rows"]),
    "lookup class without canonical forms": (lambda h: (h.attrs.__setitem__("lookup", "class"),
                                                        h.__delitem__("cells/canonical")),
                                             ["cells/canonical", "lookup='class'"]),
    "format_version a float": (_attr("format_version", 1.0),
                               ["format_version", "1.0", "not an integer"]),
    "format_version 1.5": (_attr("format_version", 1.5), ["format_version", "not an integer"]),
    "format_version a str": (_attr("format_version", "1"), ["format_version", "'1' (str)"]),
    "provenance not JSON": (_attr("provenance", "{oops"), ["provenance", "not valid JSON"]),
    "cost_model not JSON": (_attr("cost_model", "per epoch"), ["cost_model", "not valid JSON"]),
    "cost_model a JSON list": (_attr("cost_model", "[2.0]"), ["cost_model", "not an object"]),
    "per-epoch cost model without its parameter": (
        _attr("cost_model", '{"kind": "per_epoch"}'), ["seconds_per_epoch", "missing"]),
    "per-epoch cost model of 0 s": (
        _attr("cost_model", '{"kind": "per_epoch", "seconds_per_epoch": 0}'),
        ["seconds_per_epoch", "finite number > 0"]),
    "per-epoch cost model of NaN s": (
        _attr("cost_model", '{"kind": "per_epoch", "seconds_per_epoch": NaN}'),
        ["seconds_per_epoch", "nan"]),
    "per-epoch cost model of a str": (
        _attr("cost_model", '{"kind": "per_epoch", "seconds_per_epoch": "2"}'),
        ["seconds_per_epoch", "'2'"]),
    "cost model of an unknown kind": (_attr("cost_model", '{"kind": "per_flop"}'),
                                      ["cost_model", "unknown kind 'per_flop'"]),
}


@pytest.mark.parametrize("case", list(LAYOUT_DAMAGE))
def test_a_table_that_breaks_the_format_is_refused_at_open(tmp_path, case):
    """Before: wrong values (a (N, 1, F) array under seeds [0, 1]; fidelities
    stored [200, 12]), a raw IndexError / KeyError / JSONDecodeError later, or
    a cost model that raised on the first cost()."""
    p = varied_table(tmp_path / "t.h5")
    with Benchmark.open(p) as b:  # the table as written is fine
        assert b.query(3, "test_acc", fidelity=200) == 50 + 3 + 5 + 20 and b.cost(3) == 400.0
    change, words = LAYOUT_DAMAGE[case]
    with h5py.File(p, "r+") as h:
        change(h)
    with pytest.raises(TableFormatError) as e:
        Benchmark.open(p)
    msg = str(e.value)
    assert p in msg and all(w in msg for w in words), msg
    assert "\n" not in msg


def test_a_table_that_breaks_the_format_is_not_compacted_or_replayed(tmp_path):
    p = varied_table(tmp_path / "t.h5")
    append_result(p, "nb201", 3, "cifar10", 0, 12, {"test_acc": 1.0})
    with h5py.File(p, "r+") as h:
        _replace(h, "datasets/cifar10/fidelities", [200.0, 12.0])
    before = open(p, "rb").read()
    for action in (lambda: Benchmark.open(p), lambda: compact(p)):
        with pytest.raises(TableFormatError, match="not strictly increasing"):
            action()
    assert open(p, "rb").read() == before and len(read_journal(p)) == 1


def test_rows_that_break_the_lookup_are_refused_at_the_first_lookup(tmp_path):
    """Keys are read on the first lookup (open stays lazy): that is where
    duplicate rows are refused, before any value is returned."""
    classes = nb201.isomorphism_classes()
    c = np.flatnonzero(np.bincount(classes[classes >= 0]) >= 2)[0]
    a, b = (int(i) for i in np.flatnonzero(classes == c)[:2])  # two isomorphic cells
    p = tmp_path / "k.h5"
    with TableWriter(p, space="nb201") as w:  # one row per cell: right as it is
        w.add_dataset("cifar10", seeds=[0], fidelities=[200])
        w.set("cifar10", "test_acc", w.add_cells([a, b]), np.array([1.0, 2.0]).reshape(2, 1, 1))
    with Benchmark.open(p) as bench:
        assert bench.query(b, "test_acc") == 2.0
    with h5py.File(p, "r+") as h:
        h.attrs["lookup"] = "class"  # claims one row per class: b resolved to a's row, 1.0
    with Benchmark.open(p) as bench:
        with pytest.raises(TableFormatError) as e:
            bench.query(b, "test_acc")
    msg = str(e.value)
    assert str(p) in msg and "cells/canonical: rows 0 and 1" in msg and "lookup='class'" in msg
    with pytest.raises(TableFormatError, match="cells/canonical"):
        compact(p, provenance={"note": "x"})
    # duplicate keys: the core index refused them without naming the file
    q = varied_table(tmp_path / "d.h5")
    with h5py.File(q, "r+") as h:
        keys = h["cells/key"][()]
        keys[5] = keys[3]
        h["cells/key"][...] = keys
    with Benchmark.open(q) as bench:
        with pytest.raises(TableFormatError, match=r"d\.h5: cells/key: rows 3 and 5 have the same value"):
            bench.query(3, "test_acc")
    with pytest.raises(TableFormatError, match="cells/key: rows 3 and 5"):
        compact(q, provenance={"note": "x"})


def test_compare_on_a_table_that_breaks_the_format_is_one_line(tmp_path, capsys):
    from nasbench_suite.cli import main

    p = varied_table(tmp_path / "t.h5")
    with h5py.File(p, "r+") as h:
        _replace(h, M, h[M][:, :1, :])
    out = os.fspath(tmp_path / "runs.h5")
    assert main(["compare", "--benchmark", p, "--strategies", "random_search", "--seeds", "1",
                 "--budget-queries", "5", "--search-metric", "test_acc", "-o", out, "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and p in err and "'test_acc'" in err and "Traceback" not in err


def test_the_nb201_restricted_unpickler_still_reads_numpy_arrays_and_refuses_an_array_as_magic(tmp_path):
    """The size caps of issue 18 item 5 must not cost the converter numpy
    arrays (official archives hold them), and a legacy-format file whose first
    pickle is an array gets the converter's one-line error (item 9)."""
    import io
    import pickle

    from nasbench_suite.tables.convert_nb201 import SourceError, _load_torch, _unpickle

    obj = {"a": np.arange(3), "b": np.float64(2.5), "c": [np.zeros((2, 2), np.float32)]}
    for protocol in (2, 4):  # torch.save writes protocol 2; 5 would need numpy's _frombuffer
        back = _unpickle(io.BytesIO(pickle.dumps(obj, protocol=protocol)), "t.pth")
        np.testing.assert_array_equal(back["a"], obj["a"])
        assert back["b"] == 2.5 and back["c"][0].dtype == np.float32
    bad = tmp_path / "array.pth"
    bad.write_bytes(pickle.dumps(np.arange(4), protocol=2))
    with pytest.raises(SourceError, match="array.pth"):
        _load_torch(str(bad), use_torch=False)


@torch_needed
def test_cifar_files_that_are_not_the_published_ones_are_refused_before_unpickling(tmp_path):
    """Issue 18 item 5: the published md5 of every CIFAR member is checked
    (folder and archive); a file made in the official format is read only
    with verify=False."""
    from nasbench_suite.train.data import PUBLISHED_MD5, DataFileError, load_dataset

    assert set(PUBLISHED_MD5["cifar-10-batches-py"]) == {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}
    root = _cifar_root(tmp_path, 2)
    with pytest.raises(DataFileError, match=r"data_batch_1: md5 [0-9a-f]{32} is not the published "
                                            r"c99cafc152244af753f735de768cd75f"):
        load_dataset("cifar10", root=root)
    assert load_dataset("cifar10", root=root, splits="nb101", verify=False).train.x.shape[1:] == (3, 32, 32)
