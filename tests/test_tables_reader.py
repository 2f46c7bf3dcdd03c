"""The table reader, :class:`nasbench_suite.tables.Benchmark` (docs/FORMAT.md).

Small NB101 and NB201 tables are written by the tests with TableWriter from
known arrays; every answer is checked against those arrays.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_suite import InvalidSpecError, _core
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.tables import Benchmark, CellNotInTable, TableFormatError, TableWriter, UnknownName

NB101_SEEDS = [0, 1, 2]
NB101_FIDS = [4.0, 12.0, 36.0, 108.0]
NB201_SEEDS = [777, 888, 999]
NB201_FIDS = [12.0, 200.0]


def _unique_nb101(n: int, seed: int) -> list:
    out, seen = [], set()
    for c in nb101.sample_many(np.random.default_rng(seed), n):
        if c.hash() not in seen:
            seen.add(c.hash())
            out.append(c)
    return out


def _mean_ignoring_nan(a: np.ndarray) -> np.ndarray:
    """(R, S) -> (R,), NaN where every repeat is missing (no warnings)."""
    ok = ~np.isnan(a)
    total = np.where(ok, a, 0.0).sum(axis=1)
    count = ok.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class Nb101Table:
    """An NB101 table of ~150 sampled cells, cifar10, 3 seeds x 4 fidelities.

    Row 1 lacks seed 1 everywhere; row 2 has no valid_acc at 108 epochs.
    """

    def __init__(self, path):
        self.path = path
        self.cells = _unique_nb101(240, seed=0)
        n = len(self.cells)
        rng = np.random.default_rng(1)
        self.valid = np.round(rng.uniform(5, 95, (n, 3, 4)), 2)
        self.test = np.round(rng.uniform(5, 95, (n, 3, 4)), 2)
        self.time = np.cumsum(rng.uniform(10, 100, (n, 3, 4)), axis=2)
        self.params = rng.integers(10_000, 50_000_000, n).astype(np.float64)
        self.valid[1, 1, :] = np.nan
        self.valid[2, :, 3] = np.nan
        with TableWriter(path, space="nb101") as w:
            w.add_dataset("cifar10", seeds=NB101_SEEDS, fidelities=NB101_FIDS)
            rows = w.add_cells(self.cells)
            assert rows.tolist() == list(range(n))
            w.set("cifar10", "valid_acc", rows, self.valid)
            w.set("cifar10", "test_acc", rows, self.test)
            w.set("cifar10", "train_time", rows, self.time)
            w.set_static("cifar10", "params", rows, self.params)
        self.hashes = [c.hash() for c in self.cells]


class Nb201Table:
    """An NB201 table of 400 cells (random official indices): cifar10 with 3
    seeds x 2 fidelities and train_time, cifar100 with one seed and no
    train_time (charged by the per-epoch cost model)."""

    def __init__(self, path):
        self.path = path
        rng = np.random.default_rng(2)
        self.indices = np.sort(rng.choice(nb201.NUM_CELLS, 400, replace=False))
        n = self.indices.size
        self.valid = np.round(rng.uniform(10, 95, (n, 3, 2)), 3)
        self.time = np.cumsum(rng.uniform(100, 900, (n, 3, 2)), axis=2)
        self.valid100 = np.round(rng.uniform(1, 75, (n, 1, 1)), 3)
        self.flops = rng.uniform(1, 200, n)
        with TableWriter(path, space="nb201") as w:
            w.add_dataset("cifar10", seeds=NB201_SEEDS, fidelities=NB201_FIDS)
            w.add_dataset("cifar100", seeds=[777], fidelities=[200])
            rows = w.add_cells(self.indices)
            assert rows.tolist() == list(range(n))
            w.set("cifar10", "valid_acc", rows, self.valid)
            w.set("cifar10", "train_time", rows, self.time)
            w.set("cifar100", "valid_acc", rows, self.valid100)
            w.set_static("cifar10", "flops", rows, self.flops)
            w.cost_model = {"kind": "per_epoch", "seconds_per_epoch": 7.5}
        self.absent = int(np.setdiff1d(np.arange(nb201.NUM_CELLS), self.indices)[0])


@pytest.fixture(scope="module")
def t101(tmp_path_factory):
    return Nb101Table(tmp_path_factory.mktemp("t101") / "nb101.h5")


@pytest.fixture(scope="module")
def t201(tmp_path_factory):
    return Nb201Table(tmp_path_factory.mktemp("t201") / "nb201.h5")


@pytest.fixture
def b101(t101):
    with Benchmark.open(t101.path) as b:
        yield b


@pytest.fixture
def b201(t201):
    with Benchmark.open(t201.path) as b:
        yield b


@pytest.fixture
def index_spy(monkeypatch):
    """Counts the core KeyIndex objects built and the keys given to them."""
    built = []
    real = _core.KeyIndex

    def spy(keys):
        built.append(np.array(keys, copy=True))
        return real(keys)

    monkeypatch.setattr(_core, "KeyIndex", spy)
    return built


# ------------------------------------------------------------------ opening
def test_open_is_lazy_and_builds_the_core_index_on_first_lookup(t101, index_spy):
    b = Benchmark.open(t101.path)
    try:
        # Names, axes and size come from the metadata: no index yet.
        assert len(b) == len(t101.cells)
        assert b.datasets == ("cifar10",)
        assert b.fidelities().tolist() == NB101_FIDS
        assert index_spy == []
        b.query(t101.cells[0], "valid_acc")
        assert len(index_spy) == 1
        for c in t101.cells[:20]:
            b.query(c, "test_acc", fidelity=4)
        b.query(t101.hashes, "valid_acc")
        assert len(index_spy) == 1, "the index is built once per Benchmark"
        # It is built from /cells/key, the 16 bytes of each official hash.
        assert np.array_equal(index_spy[0], _core.hex_to_keys(np.array(t101.hashes, dtype="S32")))
    finally:
        b.close()


def test_rows_are_the_core_index_answers(b101, t101):
    keys = _core.hex_to_keys(np.array(t101.hashes, dtype="U32"))
    expected = _core.KeyIndex(keys).find(keys)
    assert np.array_equal(b101.rows(t101.hashes), expected)
    assert np.array_equal(b101.rows(np.array(t101.hashes)), np.arange(len(t101.cells)))
    assert b101.rows(t101.hashes[5]).tolist() == [5]
    assert b101.rows(t101.cells[5]).tolist() == [5]


def test_names_axes_and_size(b101, b201, t101, t201):
    assert b101.space == "nb101" and b201.space == "nb201"
    assert len(b101) == len(t101.cells) and len(b201) == t201.indices.size
    assert b101.datasets == ("cifar10",)
    assert b201.datasets == ("cifar10", "cifar100")
    assert set(b101.metrics()) == {"valid_acc", "test_acc", "train_time", "params"}
    assert set(b201.metrics("cifar10")) == {"valid_acc", "train_time", "flops"}
    assert b201.metrics("cifar100") == ("valid_acc",)
    assert b101.fidelities().tolist() == NB101_FIDS
    assert b201.fidelities("cifar10").tolist() == NB201_FIDS
    assert b201.fidelities("cifar100").tolist() == [200.0]
    assert b201.seeds("cifar10").tolist() == NB201_SEEDS
    assert b201.cost_model == {"kind": "per_epoch", "seconds_per_epoch": 7.5}
    # The axes handed out are copies.
    b201.fidelities("cifar10")[0] = -1
    assert b201.fidelities("cifar10")[0] == 12.0
    assert "nb201" in repr(b201) and str(t201.path) in repr(b201)


# ------------------------------------------------------------------ query: NB101
def test_nb101_query_one_cell_is_a_float(b101, t101):
    c = t101.cells[7]
    v = b101.query(c, "valid_acc")
    assert type(v) is float
    assert v == pytest.approx(t101.valid[7, :, 3].mean(), rel=1e-12)
    # the same cell by hash, upper-case hash, bytes hash and {"matrix", "ops"}
    assert b101.query(t101.hashes[7], "valid_acc") == v
    assert b101.query(t101.hashes[7].upper(), "valid_acc") == v
    assert b101.query(t101.hashes[7].encode(), "valid_acc") == v
    assert b101.query(c.to_dict(), "valid_acc") == v


def test_nb101_query_isomorphic_and_unpruned_cells(b101, t101):
    """The official hash is the same for every isomorphic or unpruned variant."""
    checked = 0
    for i, c in enumerate(t101.cells):
        canon = c.canonical()
        if canon != c:
            assert b101.query(canon, "test_acc", fidelity=36, seed=2) == t101.test[i, 2, 2]
            checked += 1
        if c.matrix.shape[0] != c.num_vertices:  # sampled with vertices that pruning removes
            assert b101.query(nb101.Cell(c.matrix, c.ops), "test_acc", seed=0) == t101.test[i, 0, 3]
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("form", ["cells", "tuple", "hash-list", "U32", "S32", "dicts", "2d"])
def test_nb101_query_many_is_an_array(b101, t101, form):
    sel = [3, 0, 11, 3, 50]
    cells = [t101.cells[i] for i in sel]
    hashes = [t101.hashes[i] for i in sel]
    arg = {
        "cells": cells, "tuple": tuple(cells), "hash-list": hashes,
        "U32": np.array(hashes, dtype="U32"), "S32": np.array(hashes, dtype="S32"),
        "dicts": [c.to_dict() for c in cells], "2d": np.array(hashes).reshape(5, 1),
    }[form]
    got = b101.query(arg, "test_acc", fidelity=12)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    np.testing.assert_allclose(got.reshape(-1), t101.test[sel, :, 1].mean(axis=1), rtol=1e-12)


def test_empty_query(b101, b201):
    assert b101.query([], "valid_acc").shape == (0,)
    assert b101.query(np.array([], dtype="U32"), "valid_acc").shape == (0,)
    assert b201.query(np.array([], dtype=np.int64), "valid_acc").shape == (0,)


def test_nb101_seed_index_fidelity_and_missing_repeats(b101, t101):
    for s in range(3):
        for f_i, f in enumerate(NB101_FIDS):
            got = b101.query(t101.cells[:30], "valid_acc", fidelity=f, seed=s)
            np.testing.assert_array_equal(got, t101.valid[:30, s, f_i])
    # Default fidelity is the highest one; np.int64 and int fidelities work.
    assert b101.query(t101.cells[4], "test_acc", seed=np.int64(1)) == t101.test[4, 1, 3]
    assert b101.query(t101.cells[4], "test_acc", fidelity=np.float32(36), seed=1) == t101.test[4, 1, 2]
    # "mean" skips a missing repeat; a missing repeat by index is NaN; all missing is NaN.
    assert b101.query(t101.cells[1], "valid_acc") == pytest.approx(np.nanmean(t101.valid[1, [0, 2], 3]))
    assert math.isnan(b101.query(t101.cells[1], "valid_acc", seed=1))
    assert math.isnan(b101.query(t101.cells[2], "valid_acc"))
    assert not math.isnan(b101.query(t101.cells[2], "valid_acc", fidelity=36))
    np.testing.assert_allclose(b101.query(t101.cells, "valid_acc", fidelity=108),
                               _mean_ignoring_nan(t101.valid[:, :, 3]), rtol=1e-12)


def test_static_metrics_names_only_the_static_ones(b101, b201):
    assert b101.static_metrics() == ("params",) and b201.static_metrics("cifar10") == ("flops",)
    assert b201.static_metrics("cifar100") == () and "valid_acc" in b201.metrics("cifar100")
    with pytest.raises(UnknownName, match="unknown dataset 'imagenet'"):
        b201.static_metrics("imagenet")


def test_static_metrics_ignore_seed_and_fidelity(b101, t101, b201, t201):
    assert b101.query(t101.cells[9], "params") == t101.params[9]
    assert b101.query(t101.cells[9], "params", fidelity=4, seed=2) == t101.params[9]
    np.testing.assert_array_equal(b201.query(t201.indices, "flops"), t201.flops)


# ------------------------------------------------------------------ query: NB201
def test_nb201_query_by_cell_arch_string_and_index(b201, t201):
    i = 17
    idx = int(t201.indices[i])
    want = t201.valid[i, :, 1].mean()
    forms = [idx, np.int64(idx), np.int32(idx), nb201.Cell.from_index(idx), nb201.arch_string(idx),
             nb201.arch_string(idx).encode()]
    for form in forms:
        v = b201.query(form, "valid_acc")
        assert type(v) is float and v == pytest.approx(want, rel=1e-12), form


@pytest.mark.parametrize("form", ["list-int", "int64", "int32", "uint16", "cells", "strings", "U-array"])
def test_nb201_query_many(b201, t201, form):
    sel = np.array([5, 0, 399, 5, 123])
    idx = t201.indices[sel]
    arg = {
        "list-int": idx.tolist(), "int64": idx.astype(np.int64), "int32": idx.astype(np.int32),
        "uint16": idx.astype(np.uint16), "cells": [nb201.Cell.from_index(i) for i in idx],
        "strings": [nb201.arch_string(i) for i in idx], "U-array": np.array([nb201.arch_string(i) for i in idx]),
    }[form]
    got = b201.query(arg, "valid_acc", fidelity=12, seed=2)
    np.testing.assert_array_equal(got, t201.valid[sel, 2, 0])


def test_nb201_second_dataset(b201, t201):
    np.testing.assert_array_equal(b201.query(t201.indices, "valid_acc", dataset="cifar100"),
                                  t201.valid100[:, 0, 0])
    with pytest.raises(UnknownName):
        b201.query(t201.indices[0], "train_time", dataset="cifar100")


# ------------------------------------------------------------------ seeds drawn from a Generator
def test_generator_seed_leaves_global_numpy_state_alone(b201, t201):
    np.random.seed(12345)
    before = np.random.get_state()
    b201.query(t201.indices, "valid_acc", seed=np.random.default_rng(0))
    b201.query(int(t201.indices[3]), "valid_acc", seed=np.random.default_rng(0))
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


def test_generator_seed_is_reproducible_and_draws_real_repeats(b201, t201):
    a = b201.query(t201.indices, "valid_acc", seed=np.random.default_rng(42))
    b = b201.query(t201.indices, "valid_acc", seed=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    # each answer is one of that cell's repeats at the highest fidelity
    hit = t201.valid[:, :, 1] == a[:, None]
    assert hit.any(axis=1).all()
    # a different stream picks differently somewhere, and over many draws every repeat shows up
    c = b201.query(t201.indices, "valid_acc", seed=np.random.default_rng(43))
    assert not np.array_equal(a, c)
    picks = np.argmax(t201.valid[:, :, 1] == c[:, None], axis=1)
    assert set(picks.tolist()) == {0, 1, 2}
    # one cell at a time draws the same as a batch from the same stream
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    batch = b201.query(t201.indices[:25], "valid_acc", fidelity=12, seed=g1)
    one = [b201.query(int(i), "valid_acc", fidelity=12, seed=g2) for i in t201.indices[:25]]
    np.testing.assert_array_equal(batch, one)


def test_generator_seed_draws_only_present_repeats(b101, t101):
    rng = np.random.default_rng(0)
    draws = {b101.query(t101.cells[1], "valid_acc", seed=rng) for _ in range(60)}
    assert draws == {t101.valid[1, 0, 3], t101.valid[1, 2, 3]}
    assert math.isnan(b101.query(t101.cells[2], "valid_acc", seed=rng))
    got = b101.query(t101.cells, "valid_acc", fidelity=4, seed=rng)
    assert np.isnan(got).sum() == 0


# ------------------------------------------------------------------ cost and best
def test_cost_is_the_mean_train_time(b201, t201, b101, t101):
    i = 8
    assert b201.cost(int(t201.indices[i])) == pytest.approx(t201.time[i, :, 1].mean())
    assert b201.cost(int(t201.indices[i]), fidelity=12) == pytest.approx(t201.time[i, :, 0].mean())
    np.testing.assert_allclose(b201.cost(t201.indices[:10]), t201.time[:10, :, 1].mean(axis=1))
    assert b101.cost(t101.cells[3], fidelity=36) == pytest.approx(t101.time[3, :, 2].mean())


def test_cost_from_the_per_epoch_model(b201, t201):
    assert b201.cost(int(t201.indices[0]), dataset="cifar100") == 7.5 * 200
    many = b201.cost(t201.indices[:4], dataset="cifar100")
    assert isinstance(many, np.ndarray) and many.tolist() == [1500.0] * 4
    with pytest.raises(CellNotInTable):
        b201.cost(t201.absent, dataset="cifar100")


def test_cost_without_train_time_or_model(tmp_path):
    p = tmp_path / "nocost.h5"
    with TableWriter(p, space="nb201") as w:
        w.add_dataset("cifar10", seeds=[0], fidelities=[200])
        w.set("cifar10", "valid_acc", w.add_cells([1]), 50.0)
    with Benchmark.open(p) as b, pytest.raises(TableFormatError, match="no train_time"):
        b.cost(1)


def test_best_maximises_accuracy_and_minimises_time(b101, t101, b201, t201):
    cell, value = b101.best("valid_acc")
    mean = _mean_ignoring_nan(t101.valid[:, :, 3])
    i = int(np.nanargmax(mean))
    assert isinstance(cell, nb101.Cell) and cell.hash() == t101.hashes[i]
    assert value == pytest.approx(mean[i])
    cell, value = b101.best("train_time", fidelity=4)
    assert cell.hash() == t101.hashes[int(np.argmin(t101.time[:, :, 0].mean(axis=1)))]
    cell, value = b201.best("valid_acc", dataset="cifar100")
    i = int(np.argmax(t201.valid100[:, 0, 0]))
    assert isinstance(cell, nb201.Cell) and cell.index() == t201.indices[i] and value == t201.valid100[i, 0, 0]
    cell, value = b201.best("flops")
    assert cell.index() == t201.indices[int(np.argmin(t201.flops))]


# ------------------------------------------------------------------ cells the table lacks
def test_missing_cell_raises_cell_not_in_table(b101, t101, b201, t201):
    other = next(c for c in _unique_nb101(50, seed=99) if c.hash() not in set(t101.hashes))
    with pytest.raises(CellNotInTable) as e:
        b101.query(other, "valid_acc")
    msg = str(e.value)
    assert str(t101.path) in msg and "missing='nan'" in msg
    assert isinstance(e.value, LookupError)
    with pytest.raises(CellNotInTable, match=str(t201.absent)):
        b201.query([int(t201.indices[0]), t201.absent], "valid_acc")
    with pytest.raises(CellNotInTable):
        b101.query("0" * 32, "valid_acc")


def test_missing_nan(b101, t101, b201, t201):
    other = next(c for c in _unique_nb101(50, seed=99) if c.hash() not in set(t101.hashes))
    assert math.isnan(b101.query(other, "valid_acc", missing="nan"))
    got = b101.query([t101.cells[0], other, t101.hashes[3]], "test_acc", seed=1, missing="nan")
    assert got[0] == t101.test[0, 1, 3] and math.isnan(got[1]) and got[2] == t101.test[3, 1, 3]
    got = b201.query([t201.absent, int(t201.indices[1])], "valid_acc", missing="nan",
                     seed=np.random.default_rng(0))
    assert math.isnan(got[0]) and got[1] in t201.valid[1, :, 1]
    assert b201.rows([t201.absent, int(t201.indices[1])], missing="nan").tolist() == [-1, 1]
    with pytest.raises(ValueError, match="missing"):
        b201.query(int(t201.indices[1]), "valid_acc", missing="zero")


# ------------------------------------------------------------------ rows and cells
def test_cell_at_row_round_trips(b101, t101, b201, t201):
    for r in range(len(t101.cells)):
        c = b101.cell(r)
        assert c == t101.cells[r] and c.hash() == t101.hashes[r]
    assert [b201.cell(r).index() for r in range(len(b201))] == t201.indices.tolist()
    with pytest.raises(IndexError):
        b201.cell(len(b201))
    keys = b201.canonical_keys()
    assert keys.dtype == np.uint64 and keys.shape == (len(b201),)
    assert keys[3] == nb201.Cell.from_index(int(t201.indices[3])).canonical_key()
    assert b101.canonical_keys()[4] == t101.cells[4].canonical_key()


def test_small_and_large_reads_agree(t101):
    """A few single-cell queries read chunks; later and larger ones read the
    metric whole and cache it; the answers are the same."""
    with Benchmark.open(t101.path) as b:
        singles = [b.query(c, "test_acc", fidelity=12, seed=0) for c in t101.cells]
        whole = b.query(t101.cells, "test_acc", fidelity=12, seed=0)
    with Benchmark.open(t101.path) as b:
        whole_first = b.query(t101.cells[::-1], "test_acc", fidelity=12, seed=0)[::-1]
    np.testing.assert_array_equal(singles, t101.test[:, 0, 1])
    np.testing.assert_array_equal(whole, t101.test[:, 0, 1])
    np.testing.assert_array_equal(whole_first, t101.test[:, 0, 1])


def test_values_are_float64_exact(b201, t201):
    # metrics are stored as float64: what was written comes back bit for bit
    np.testing.assert_array_equal(b201.query(t201.indices, "valid_acc", seed=1, fidelity=12),
                                  t201.valid[:, 1, 0])


def test_closed_benchmark_and_context_manager(t201):
    with Benchmark.open(t201.path) as b:
        assert b.query(int(t201.indices[0]), "valid_acc") == pytest.approx(t201.valid[0, :, 1].mean())
    b.close()  # closing twice is harmless


def test_bad_cell_types(b101, b201):
    with pytest.raises(InvalidSpecError):
        b101.query(3, "valid_acc")
    with pytest.raises(InvalidSpecError):
        b101.query("not-a-hash", "valid_acc")
    with pytest.raises(InvalidSpecError):
        b201.query(nb201.NUM_CELLS, "valid_acc")
    with pytest.raises(InvalidSpecError):
        b201.query(np.int64(-1), "valid_acc")
    with pytest.raises(InvalidSpecError):
        b201.query(True, "valid_acc")  # a bool is not an index
    with pytest.raises(InvalidSpecError):
        b201.query(np.array([-1, 2]), "valid_acc")
    for bad in (1.5, None, object()):  # not a cell, not a sequence of cells
        with pytest.raises(InvalidSpecError):
            b201.query(bad, "valid_acc")
        with pytest.raises(InvalidSpecError):
            b101.query(bad, "valid_acc")
