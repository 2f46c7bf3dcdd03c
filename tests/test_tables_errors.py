"""Bad input to the table layer: every error names the file (where there is
one), says what is wrong and what to do."""
from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest

from nasbench_suite import InvalidSpecError
from nasbench_suite.spaces import nb101
from nasbench_suite.tables import (Benchmark, CellNotInTable, TableError, TableFormatError, TableWriter,
                                   UnknownName, append_result, compact)

CORRUPT_ADVICE = "re-download or re-convert"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A valid NB101 table with enough cells for several chunks' worth of data."""
    p = tmp_path_factory.mktemp("good") / "nb101.h5"
    cells = nb101.sample_many(np.random.default_rng(0), 400)
    with TableWriter(p, space="nb101") as w:
        w.add_dataset("cifar10", seeds=[0, 1, 2], fidelities=[4, 12, 36, 108])
        rows = w.add_cells(cells)
        w.set("cifar10", "valid_acc", rows, np.random.default_rng(1).uniform(0, 100, (len(rows), 3, 4)))
        w.set_static("cifar10", "params", rows, 1e6)
    return p


@pytest.fixture
def copy(good, tmp_path):
    def make(name="t.h5"):
        dst = tmp_path / name
        shutil.copy(good, dst)
        return dst
    return make


def open_error(path) -> str:
    with pytest.raises(TableFormatError) as e:
        Benchmark.open(path)
    msg = str(e.value)
    assert str(path) in msg, msg
    return msg


def test_error_classes():
    assert issubclass(TableFormatError, TableError) and issubclass(TableFormatError, ValueError)
    assert issubclass(CellNotInTable, TableError) and issubclass(CellNotInTable, LookupError)
    assert issubclass(UnknownName, TableError) and issubclass(UnknownName, KeyError)
    # UnknownName reads as a message, not as a repr'd key
    assert str(UnknownName("x: unknown dataset 'y'")) == "x: unknown dataset 'y'"


# ------------------------------------------------------------------ files that are not tables
def test_missing_file(tmp_path):
    msg = open_error(tmp_path / "nope.h5")
    assert "no such table file" in msg and "check the path" in msg


def test_directory(tmp_path):
    msg = open_error(tmp_path)
    assert "cannot be read as HDF5" in msg


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.9, "all-but-one"])
def test_truncated_file(copy, fraction):
    p = copy()
    size = os.path.getsize(p)
    keep = size - 1 if fraction == "all-but-one" else int(size * fraction)
    with open(p, "r+b") as f:
        f.truncate(keep)
    msg = open_error(p)
    assert "truncated or corrupt" in msg and CORRUPT_ADVICE in msg


@pytest.mark.parametrize("size", [0, 7, 10_000])
def test_random_bytes(tmp_path, size):
    p = tmp_path / "t.h5"
    p.write_bytes(np.random.default_rng(size).bytes(size))
    msg = open_error(p)
    assert "cannot be read as HDF5" in msg and CORRUPT_ADVICE in msg


def test_a_pickle_or_text_file(tmp_path):
    p = tmp_path / "nb201.pth"
    p.write_bytes(b"\x80\x04\x95" + b"\x00" * 100)
    assert "cannot be read as HDF5" in open_error(p)


def test_hdf5_file_that_is_not_a_table(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as h:
        h["fixed_stats"] = np.zeros(3)
    msg = open_error(p)
    assert "not a nasbench-suite table" in msg and "nasbench-suite convert" in msg


def test_other_format_name(copy):
    p = copy()
    with h5py.File(p, "a") as h:
        h.attrs["format"] = "something-else"
    assert "'something-else'" in open_error(p)


@pytest.mark.parametrize("version", [0, 2, 99])
def test_wrong_format_version(copy, version):
    p = copy()
    with h5py.File(p, "a") as h:
        h.attrs["format_version"] = version
    msg = open_error(p)
    assert f"version {version}" in msg and "reads version 1" in msg
    assert "upgrade nasbench-suite" in msg or "re-convert" in msg


def test_missing_format_version(copy):
    p = copy()
    with h5py.File(p, "a") as h:
        del h.attrs["format_version"]
    assert "reads version 1" in open_error(p)


def test_unknown_space_in_file(copy):
    p = copy()
    with h5py.File(p, "a") as h:
        h.attrs["space"] = "nb301"
    msg = open_error(p)
    assert "'nb301'" in msg and "nb101" in msg and "nb201" in msg


@pytest.mark.parametrize("group", ["cells", "datasets", "cells/key"])
def test_incomplete_table(copy, group):
    p = copy()
    with h5py.File(p, "a") as h:
        del h[group]
    msg = open_error(p)
    assert "incomplete" in msg and "re-convert" in msg


def test_dataset_group_without_axes(copy):
    p = copy()
    with h5py.File(p, "a") as h:
        del h["datasets/cifar10/seeds"]
    msg = open_error(p)
    assert "corrupt or incomplete" in msg and CORRUPT_ADVICE in msg


@pytest.mark.parametrize("dataset", ["cells/key", "datasets/cifar10/metrics/valid_acc"])
def test_damaged_chunks_are_reported_when_read(copy, dataset):
    """Opening is lazy, so damage inside the data shows on the query that reads it."""
    p = copy()
    with h5py.File(p, "r") as h:
        info = h[dataset].id.get_chunk_info(0)
    data = bytearray(p.read_bytes())
    lo, hi = info.byte_offset + 8, info.byte_offset + info.size - 8
    data[lo:hi] = np.random.default_rng(0).bytes(hi - lo)
    p.write_bytes(bytes(data))
    with Benchmark.open(p) as b:  # the metadata is intact
        assert len(b) > 0 and b.metrics() == ("valid_acc", "params")
        # row 0 lies in the damaged chunk (the key lookup itself reads /cells/key)
        cell = "0" * 32 if dataset == "cells/key" else b.cell(0)
        with pytest.raises(TableFormatError) as e:
            b.query(cell, "valid_acc")
    msg = str(e.value)
    assert str(p) in msg and "corrupt" in msg and CORRUPT_ADVICE in msg


def test_damaged_table_is_reported_by_compaction(copy):
    p = copy()
    with h5py.File(p, "r") as h:
        info = h["datasets/cifar10/metrics/valid_acc"].id.get_chunk_info(0)
    data = bytearray(p.read_bytes())
    data[info.byte_offset + 8: info.byte_offset + info.size - 8] = b"\x00" * (info.size - 16)
    p.write_bytes(bytes(data))
    cell = nb101.sample_many(np.random.default_rng(9), 1)[0]
    append_result(p, "nb101", cell, "cifar10", 0, 108, {"valid_acc": 1.0})
    for action in (lambda: Benchmark.open(p), lambda: compact(p)):
        with pytest.raises(TableFormatError) as e:
            action()
        assert str(p) in str(e.value) and CORRUPT_ADVICE in str(e.value)
    assert len(open(str(p) + ".journal", "rb").read()) > 0, "the journal is kept when compaction fails"


# ------------------------------------------------------------------ unknown names
@pytest.fixture
def bench(good):
    with Benchmark.open(good) as b:
        yield b


def unknown(fn) -> str:
    with pytest.raises(UnknownName) as e:
        fn()
    return str(e.value)


def test_unknown_metric(bench, good):
    cell = bench.cell(0)
    msg = unknown(lambda: bench.query(cell, "valid_accuracy"))
    assert str(good) in msg and "'valid_accuracy'" in msg and "valid_acc" in msg and "params" in msg
    assert "valid_accuracy" in unknown(lambda: bench.best("valid_accuracy"))


def test_unknown_fidelity(bench, good):
    msg = unknown(lambda: bench.query(bench.cell(0), "valid_acc", fidelity=200))
    assert str(good) in msg and "200" in msg and "4, 12, 36, 108" in msg
    assert "200" in unknown(lambda: bench.best("valid_acc", fidelity=200))


def test_unknown_dataset(bench, good):
    for fn in (lambda: bench.query(bench.cell(0), "valid_acc", dataset="imagenet"),
               lambda: bench.metrics("imagenet"), lambda: bench.fidelities("imagenet"),
               lambda: bench.seeds("imagenet"), lambda: bench.cost(bench.cell(0), dataset="imagenet")):
        msg = unknown(fn)
        assert str(good) in msg and "'imagenet'" in msg and "cifar10" in msg


def test_unknown_repeat_index(bench):
    msg = unknown(lambda: bench.query(bench.cell(0), "valid_acc", seed=3))
    assert "repeat index 3" in msg and "[0, 1, 2]" in msg


@pytest.mark.parametrize("seed", ["first", 1.0, True, None])
def test_bad_seed_argument(bench, seed):
    with pytest.raises((TypeError, ValueError), match="'mean', a repeat index or a numpy Generator"):
        bench.query(bench.cell(0), "valid_acc", seed=seed)


def test_unknown_space_for_a_writer_and_a_journal(tmp_path, good):
    with pytest.raises(InvalidSpecError) as e:
        TableWriter(tmp_path / "t.h5", space="nb301")
    assert "'nb301'" in str(e.value) and "nb101" in str(e.value)
    with pytest.raises(InvalidSpecError, match="nb301"):
        append_result(good, "nb301", 1, "cifar10", 0, 200, {"valid_acc": 1.0})


def test_cell_not_in_table_message(bench, good):
    with pytest.raises(CellNotInTable) as e:
        bench.query("f" * 32, "valid_acc")
    msg = str(e.value)
    assert str(good) in msg and "f" * 32 in msg and "missing='nan'" in msg


def test_bad_hashes(bench):
    with pytest.raises(InvalidSpecError, match="32-character"):
        bench.query("xyz", "valid_acc")
    with pytest.raises(InvalidSpecError, match="hex"):
        bench.query("g" * 32, "valid_acc")
    with pytest.raises(InvalidSpecError, match="dtype"):
        bench.query(np.array(["abc"]), "valid_acc")
