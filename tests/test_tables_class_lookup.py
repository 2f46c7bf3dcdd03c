"""Tables with lookup="class" (one row per NB201 isomorphism class) and the
batched journal append: every cell resolves to its class's row, disconnected
cells to the disconnected row, and the attribute survives compaction."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from nasbench_suite.spaces import nb201
from nasbench_suite.tables import (Benchmark, CellNotInTable, TableFormatError, TableWriter, append_result,
                                   append_results, compact, read_journal)
from nasbench_suite.tables.journal import journal_path
from nasbench_suite.train.generate import representatives

CLASSES = nb201.isomorphism_classes()


def _members(index: int) -> np.ndarray:
    c = CLASSES[index]
    return np.flatnonzero(CLASSES == c)


@pytest.fixture
def class_table(tmp_path):
    """Rows: the representatives of three classes with several members, and the disconnected cell."""
    reps = representatives()
    sizes = np.bincount(CLASSES[CLASSES >= 0])
    big = [int(reps[c]) for c in np.flatnonzero(sizes >= 3)[:3]]
    rows = big + [int(reps[-1])]
    path = tmp_path / "cls.h5"
    with TableWriter(path, space="nb201") as w:
        w.lookup = "class"
        w.add_dataset("digits", seeds=[0], fidelities=[1, 2])
        r = w.add_cells(rows)
        values = np.arange(len(rows) * 2, dtype=float).reshape(len(rows), 1, 2) + 50.0
        w.set("digits", "test_acc", r, values)
    return path, rows, values


def test_representatives_are_the_first_cell_of_each_class():
    reps = representatives()
    assert reps.size == CLASSES.max() + 2 == 8765
    conn = reps[:-1]
    assert np.array_equal(CLASSES[conn], np.arange(CLASSES.max() + 1))
    for c in (0, 17, 4000, 8763):  # the smallest official index of the class
        assert conn[c] == np.flatnonzero(CLASSES == c).min()
    assert CLASSES[reps[-1]] == -1 and reps[-1] == np.flatnonzero(CLASSES < 0).min()
    assert not nb201.Cell.from_index(int(reps[-1])).is_connected()


def test_every_member_resolves_to_its_class_row(class_table):
    path, rows, values = class_table
    with Benchmark.open(path) as b:
        assert b.lookup == "class" and len(b) == len(rows)
        for k, rep in enumerate(rows[:-1]):
            members = _members(rep)
            assert members.size >= 3
            assert np.array_equal(b.rows(members), np.full(members.size, k))
            assert b.rows(int(members[-1]))[0] == k  # the scalar path
            arch = nb201.arch_string(int(members[1]))
            assert b.query(arch, "test_acc", fidelity=2) == values[k, 0, 1]
        disconnected = np.flatnonzero(CLASSES < 0)
        assert disconnected.size == 341
        assert np.array_equal(b.rows(disconnected), np.full(341, len(rows) - 1))
        assert np.all(b.query(disconnected[:5], "test_acc", fidelity=1) == values[-1, 0, 0])


def test_a_class_the_table_lacks(class_table):
    path, rows, _ = class_table
    absent = int(np.flatnonzero((CLASSES >= 0) & ~np.isin(CLASSES, CLASSES[rows[:-1]]))[0])
    with Benchmark.open(path) as b:
        with pytest.raises(CellNotInTable, match="no cell of the class"):
            b.rows(absent)
        with pytest.raises(CellNotInTable, match=rf"class of {absent};"):  # a plain index, not np.int64(...)
            b.query(np.array([rows[0], absent]), "test_acc")
        got = b.query([rows[0], absent], "test_acc", fidelity=2, missing="nan")
        assert not np.isnan(got[0]) and np.isnan(got[1])
        with pytest.raises(ValueError, match="missing"):
            b.rows(rows[0], missing="skip")


def test_lookup_survives_the_journal_and_compaction(class_table):
    path, rows, _ = class_table
    member = int(_members(rows[0])[-1])
    append_result(path, "nb201", rows[0], "digits", 0, 2.0, {"test_acc": 99.0})
    with Benchmark.open(path) as b:  # replayed in memory
        assert b.lookup == "class" and b.query(member, "test_acc", fidelity=2) == 99.0
    assert compact(path, provenance={"note": "x"}) == 1
    with Benchmark.open(path) as b:
        assert b.lookup == "class" and b.provenance["note"] == "x"
        assert b.query(member, "test_acc", fidelity=2) == 99.0
    with h5py.File(path) as h5:
        assert h5.attrs["lookup"] == "class"


def test_a_member_of_a_present_class_lands_in_the_class_row(class_table):
    """Training an isomorphic cell (not the representative) adds no second row:
    its records go to its class's row, in memory and after compaction."""
    path, rows, _ = class_table
    member = int(_members(rows[1])[-1])
    assert member != rows[1]
    other_disconnected = int(np.flatnonzero(CLASSES < 0)[-1])
    assert other_disconnected != rows[-1]
    append_results(path, "nb201", [(member, "digits", 0, 1.0, {"test_acc": 77.0}, {}),
                                   (other_disconnected, "digits", 0, 1.0, {"test_acc": 10.5}, {})])
    for merged in (False, True):
        if merged:
            assert compact(path) == 2
        with Benchmark.open(path) as b:
            assert len(b) == len(rows)
            assert b.query(rows[1], "test_acc", fidelity=1) == 77.0
            assert b.query(rows[-1], "test_acc", fidelity=1) == 10.5
    with TableWriter(path.parent / "builder.h5", space="nb201") as w:
        w.lookup = "class"
        assert w.add_cells([rows[0], int(_members(rows[0])[-1])]).tolist() == [0, 0]
    with TableWriter(path.parent / "keyed.h5", space="nb101") as w, \
            pytest.raises(ValueError, match="not defined for nb101 tables"):
        w.lookup = "class"


def test_key_tables_keep_exact_lookup(tmp_path):
    path = tmp_path / "key.h5"
    with TableWriter(path, space="nb201") as w:
        w.add_dataset("d", seeds=[0], fidelities=[1])
        w.set("d", "test_acc", w.add_cells([1]), [[[5.0]]])
    other = int(_members(1)[-1]) if _members(1).size > 1 else None
    with Benchmark.open(path) as b, h5py.File(path) as h5:
        assert b.lookup == "key" and "lookup" not in h5.attrs
        if other is not None:
            with pytest.raises(CellNotInTable):
                b.rows(other)


@pytest.mark.parametrize("space, value, message", [("nb201", "nearest", "unknown lookup"),
                                                   ("nb101", "class", "not defined for nb101 tables")])
def test_bad_lookup_attribute_is_refused(tmp_path, space, value, message):
    path = tmp_path / "t.h5"
    with TableWriter(path, space=space):
        pass
    with h5py.File(path, "a") as h5:
        h5.attrs["lookup"] = value
    with pytest.raises(TableFormatError, match=message):
        Benchmark.open(path)


def test_append_results_is_one_durable_batch_after_a_torn_tail(class_table):
    path, rows, _ = class_table
    append_result(path, "nb201", rows[0], "digits", 0, 1.0, {"test_acc": 1.0})
    with open(journal_path(path), "ab") as f:  # a process killed mid-append
        f.write(b"NBJ1\x40\x00\x00\x00\x00\x00\x00\x00{\"half")
    append_results(path, "nb201", [(rows[1], "digits", 0, float(e), {"test_acc": 10.0 + e}, {"params": 7})
                                   for e in (1, 2)])
    recs = read_journal(path)
    assert [r["metrics"]["test_acc"] for r in recs] == [1.0, 11.0, 12.0]
    assert recs[1]["static"] == {"params": 7.0}
    append_results(path, "nb201", [])  # nothing to do
    assert len(read_journal(path)) == 3
