"""Cache-through evaluator: a miss trains and is written to the table, a
second query hits; concurrent and isomorphic misses train once; run_search
through it."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nasbench_suite.runner import run_search
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.tables import Benchmark, CellNotInTable, TableWriter
from nasbench_suite.train import Evaluator, Trainer

TINY = dict(channels=4, cells_per_stage=1, stem_channels=8, num_stacks=2, cells_per_stack=1,
            batch_size=128, eval_batch_size=600, bn_momentum=0.1, threads=1)
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# The same network twice: input -> 3x3 conv -> skip -> output, through node 1 or node 2.
ISO_A = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"
ISO_B = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"


class CountingTrainer(Trainer):
    """A Trainer that counts its runs (threads only: counts stay in this process)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.runs = []
        self._lock = threading.Lock()

    def train(self, space, cell, *a, **kw):
        with self._lock:
            self.runs.append(cell)
        return super().train(space, cell, *a, **kw)


def _table(path, space="nb201", cells=(), fidelities=(1, 2)):
    """A small table on the digits data set with a few synthetic rows."""
    with TableWriter(path, space=space) as w:
        w.add_dataset("digits", seeds=[0], fidelities=list(fidelities))
        if cells:
            rows = w.add_cells(list(cells))
            n, f = len(rows), len(fidelities)
            w.set("digits", "valid_acc", rows, np.full((n, 1, f), 50.0))
            w.set("digits", "test_acc", rows, np.full((n, 1, f), 51.0))
            w.set("digits", "train_time", rows, np.tile(np.arange(1.0, f + 1), (n, 1, 1)))
    return str(path)


def test_a_miss_trains_appends_and_a_second_query_hits(tmp_path):
    table = _table(tmp_path / "t.h5", cells=[0, 1])
    trainer = CountingTrainer(dataset="digits", epochs=2, **TINY)
    with Evaluator(table, trainer) as ev:
        assert ev.query(0, "valid_acc", 2) == 50.0 and trainer.runs == []  # a hit trains nothing
        with pytest.raises(CellNotInTable):
            Benchmark.open(table).query(BEST, "valid_acc", 2)
        value = ev.query(BEST, "valid_acc", 2)
        assert len(trainer.runs) == 1 and 10.0 < value <= 100.0
        assert ev.query(BEST, "valid_acc", 2) == value and len(trainer.runs) == 1
        assert ev.cost(BEST, 2) == pytest.approx(ev.trained[0].final["train_time"])
        assert ev.query(BEST, "test_acc", 1, seed=0) == pytest.approx(ev.trained[0].history[0]["test_acc"])
    # The result is in the table for the next reader (the journal), durably.
    with Benchmark.open(table) as b:
        assert b.query(BEST, "valid_acc", 2) == value
        assert b.query(BEST, "params") == ev.trained[0].params


def test_batched_queries_train_each_missing_cell_once(tmp_path):
    table = _table(tmp_path / "t.h5", cells=[0])
    trainer = CountingTrainer(dataset="digits", epochs=1, **TINY)
    with Evaluator(table, trainer) as ev:
        values = ev.query([0, 5, 5, 7], "valid_acc", 1)
        assert values[0] == 50.0 and values[1] == values[2] and np.all(np.isfinite(values))
        assert sorted(trainer.runs) == [5, 7]  # workers get NB201 cells as official indices


def test_concurrent_isomorphic_misses_train_once(tmp_path):
    assert nb201.Cell.from_string(ISO_A).is_isomorphic(nb201.Cell.from_string(ISO_B))
    table = _table(tmp_path / "t.h5", cells=[0])
    trainer = CountingTrainer(dataset="digits", epochs=1, **TINY)
    with ThreadPoolExecutor(4) as pool, Evaluator(table, trainer, executor=pool) as ev:
        start = threading.Barrier(4)

        def ask(cell):
            start.wait()
            return ev.query(cell, "valid_acc", 1)

        with ThreadPoolExecutor(4) as callers:
            answers = list(callers.map(ask, [ISO_A, ISO_B, ISO_A, ISO_B]))
        assert len(trainer.runs) == 1
        assert len(set(answers)) == 1
    with Benchmark.open(table) as b:  # both cells are rows now, with the one run's results
        assert b.query(ISO_A, "valid_acc", 1) == b.query(ISO_B, "valid_acc", 1) == answers[0]


def test_an_isomorphic_cell_met_later_reuses_the_run(tmp_path):
    table = _table(tmp_path / "t.h5", cells=[0])
    trainer = CountingTrainer(dataset="digits", epochs=1, **TINY)
    with Evaluator(table, trainer) as ev:
        a = ev.query(ISO_A, "test_acc", 1)
        b = ev.query(ISO_B, "test_acc", 1)
        assert a == b and len(trainer.runs) == 1


def test_nb101_budget_fidelity_trains_a_run_of_that_length(tmp_path):
    cell = nb101.Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    table = _table(tmp_path / "t.h5", space="nb101", fidelities=(2, 4))
    trainer = CountingTrainer(dataset="digits", **TINY)  # preset: 108 epochs
    with Evaluator(table, trainer) as ev:
        v = ev.query(cell, "valid_acc", 2)
        assert ev.trained[0].epochs == 2 and np.isfinite(v)
        assert np.isfinite(ev.query(cell, "halfway_valid_acc", 2))


def test_a_failed_run_is_reported_and_can_be_retried(tmp_path):
    table = _table(tmp_path / "t.h5", cells=[0])
    ev = Evaluator(table, Trainer(dataset="digits", data_root=tmp_path, epochs=1, **TINY))
    with pytest.raises(ValueError, match="past the trainer's 1 epochs"):
        ev.query(BEST, "valid_acc", 2)
    bad = Evaluator(table, Trainer(dataset="cifar10", data_root=tmp_path, epochs=2, **TINY))
    from nasbench_suite.train import DatasetNotFound

    with pytest.raises(DatasetNotFound):
        bad.query(BEST, "valid_acc", 2, dataset="cifar10")
    assert bad._inflight == {}


def test_run_search_through_the_evaluator(tmp_path):
    """run_search needs a Benchmark; Evaluator.as_benchmark() is one."""
    table = _table(tmp_path / "t.h5", cells=range(20))
    trainer = CountingTrainer(dataset="digits", epochs=2, **TINY)
    with Evaluator(table, trainer) as ev:
        t = run_search(ev.as_benchmark(), "random_search", seed=0, budget={"queries": 3},
                       search_metric="valid_acc@2", report_metric="test_acc@2")
        assert len(t) == 3 and np.all(np.isfinite(t.value))
        assert 1 <= len(trainer.runs) <= 3  # the proposals outside the 20 rows were trained
        with Benchmark.open(table) as b:
            assert len(b) == 20 + len(trainer.runs)


@pytest.mark.slow
def test_a_process_pool_trains_and_appends_from_the_worker(tmp_path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    table = _table(tmp_path / "t.h5", cells=[0])
    trainer = Trainer(dataset="digits", epochs=1, **TINY)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        with Evaluator(table, trainer, executor=pool) as ev:
            values = ev.query([BEST, ISO_A, ISO_B], "valid_acc", 1)
            assert np.all(np.isfinite(values)) and values[1] == values[2]
            assert len(ev.trained) == 2
    with Benchmark.open(table) as b:
        assert len(b) == 4
