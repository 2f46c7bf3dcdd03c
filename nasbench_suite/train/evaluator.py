"""``Evaluator``: a table that trains the cells it does not hold (cache-through).

A query (or a cost) that names a cell missing from the table trains it with
the :class:`~.trainer.Trainer`, through a ``concurrent.futures.Executor`` when
one is given, appends the results to the table's journal
(:func:`~nasbench_suite.tables.append_result`, durable and safe with several
processes), reopens the table and answers from it. A search sees the same
answers it would see had the table held the cell; only the cost differs.

Concurrent misses on one cell, or on cells that are the same network
(isomorphic; the canonical key decides), train once: the others wait for that
run, and each isomorphic cell gets a copy of its results in the table.

``Evaluator.as_benchmark()`` wraps it as a :class:`~nasbench_suite.tables.Benchmark`,
which is what ``runner.run_search`` accepts.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future

import numpy as np

from ..tables import Benchmark, append_result
from .. import spaces
from ..tables._spaces import is_scalar_cell
from .networks import as_cell
from .trainer import Trainer, table_records


def _cell_record(space: str, cell):
    """A picklable description of a cell for a worker process, which its
    network module's ``as_cell`` reads back: the index in an indexed space,
    else the space's journal form (NB101: the matrix/ops dict)."""
    sp = spaces.get(space)
    return sp.index(cell) if sp.size is not None else sp.record(cell)


def _train_job(trainer: Trainer, space: str, record, dataset: str, seed: int, table: str, epochs: int | None):
    """What a worker runs: one training run, its results appended to ``table``."""
    result = trainer.train(space, record, seed=seed, dataset=dataset, table=table, epochs=epochs)
    result.model = None
    return result


class Evaluator:
    """A tabular benchmark that trains what it misses.

    ``benchmark``: a :class:`Benchmark` or a table path (the table must exist;
    ``TableWriter`` makes an empty one). ``trainer``: a :class:`Trainer`;
    its data set is the table's when a query does not name one. ``executor``:
    a ``concurrent.futures.Executor`` that runs the training (a process pool,
    a Dask client's executor); None trains in the calling thread. ``seeds``:
    the seeds to train a missing cell with (default: the first seed of the
    data set's seed axis, else 0).
    """

    def __init__(self, benchmark, trainer: Trainer, executor=None, seeds=None):
        bench = benchmark if isinstance(benchmark, Benchmark) else Benchmark.open(benchmark)
        self._bench = bench
        self._old: list[Benchmark] = []
        self.path = bench.path
        self.space = bench.space
        self.trainer = trainer
        self.executor = executor
        self.seeds = None if seeds is None else [int(s) for s in seeds]
        self._lock = threading.Lock()
        self._inflight: dict = {}  # (canonical key, dataset, seed, epochs) -> Future
        self._done: dict = {}  # same key -> TrainResult, for isomorphic cells met later
        self.trained: list = []  # TrainResults of the runs this evaluator started
        self.provenance = bench.provenance
        self.cost_model = bench.cost_model

    # ------------------------------------------------------------------ table facade
    @property
    def benchmark(self) -> Benchmark:
        """The table as last reopened."""
        return self._bench

    @property
    def datasets(self) -> tuple:
        """The table's dataset names (:attr:`Benchmark.datasets`)."""
        return self._bench.datasets

    def metrics(self, dataset=None):
        """The table's metric names of ``dataset`` (:meth:`Benchmark.metrics`)."""
        return self._bench.metrics(dataset)

    def fidelities(self, dataset=None):
        """The table's fidelity axis in epochs (:meth:`Benchmark.fidelities`)."""
        return self._bench.fidelities(dataset)

    def seeds_of(self, dataset=None):
        """The table's seed axis of ``dataset`` (:meth:`Benchmark.seeds`; the
        ``seeds`` attribute is the seeds a missing cell is trained with)."""
        return self._bench.seeds(dataset)

    def __len__(self) -> int:
        return len(self._bench)

    def __repr__(self) -> str:
        return f"Evaluator({self.path!r}, space={self.space!r}, trained={len(self.trained)})"

    def close(self) -> None:
        """Closes the table and every earlier version of it reopened after
        training (``with`` calls it); it does not shut down the executor."""
        for b in self._old + [self._bench]:
            b.close()
        self._old = []

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def query(self, cells, metric: str, fidelity=None, dataset=None, seed="mean", missing: str = "raise"):
        """As :meth:`Benchmark.query`; cells the table lacks are trained first."""
        dataset = self._dataset(dataset)
        self.ensure(cells, fidelity, dataset)
        return self._bench.query(cells, metric, fidelity, dataset, seed=seed, missing=missing)

    def cost(self, cells, fidelity=None, dataset=None):
        """As :meth:`Benchmark.cost`; cells the table lacks are trained first."""
        dataset = self._dataset(dataset)
        self.ensure(cells, fidelity, dataset)
        return self._bench.cost(cells, fidelity, dataset)

    def as_benchmark(self) -> "EvaluatorBenchmark":
        """This evaluator as a :class:`Benchmark` (for ``run_search``)."""
        return EvaluatorBenchmark(self)

    # ------------------------------------------------------------------ training
    def _dataset(self, dataset):
        if dataset is not None:
            return dataset
        if self._bench.datasets:
            return self._bench.datasets[0]
        if self.trainer.dataset is not None:
            return self.trainer.dataset
        raise ValueError(f"{self.path}: the table has no data set and the trainer names none; pass dataset=")

    def _plan(self, fidelity, dataset):
        """(epochs of the run, seeds) that answer a query at ``fidelity``."""
        preset = self.trainer.preset_for(self.space)
        have = dataset in self._bench.datasets
        if fidelity is None:
            fid = float(self._bench.fidelities(dataset)[-1]) if have else float(preset.epochs)
        else:
            fid = float(fidelity)
        if fid != int(fid) or fid < 1:
            raise ValueError(f"cannot train to fidelity {fidelity!r}: fidelities are whole epochs")
        if preset.fidelity == "budget":
            epochs = int(fid)  # NB101: a fidelity is the budget of its own run
        else:
            if fid > preset.epochs:
                raise ValueError(f"fidelity {fid:g} is past the trainer's {preset.epochs} epochs "
                                 f"({self.space} {preset.name!r} preset); pass epochs= to the Trainer")
            epochs = None
        if self.seeds is not None:
            seeds = self.seeds
        elif have:
            seeds = [int(self._bench.seeds(dataset)[0])]
        else:
            seeds = [0]
        return epochs, seeds

    def ensure(self, cells, fidelity=None, dataset=None) -> list:
        """Trains the cells the table lacks (all runs submitted before any is
        awaited) and reopens the table. Returns the TrainResults they waited for."""
        dataset = self._dataset(dataset)
        items = [cells] if is_scalar_cell(self._bench.search_space, cells) else list(cells)
        rows = self._bench.rows(items, missing="nan") if len(self._bench) else np.full(len(items), -1)
        missing = [as_cell(self.space, items[i]) for i in np.flatnonzero(np.asarray(rows) < 0)]
        if not missing:
            return []
        epochs, seeds = self._plan(fidelity, dataset)
        waits = [(cell, self._submit(cell, dataset, seed, epochs)) for cell in missing for seed in seeds]
        results = []
        for cell, future in waits:
            result = future.result()
            results.append(result)
            if future.cell != cell:  # an isomorphic cell's run answered this one
                self._copy(result, cell, future.cell)
        with self._lock:
            self._old.append(self._bench)
            self._bench = Benchmark.open(self.path)
        return results

    def _submit(self, cell, dataset: str, seed: int, epochs) -> Future:
        """The run that answers ``cell``: a finished or running one of an
        isomorphic cell, else a new one (on the executor, or run here)."""
        key = (spaces.get(self.space).canonical(cell), dataset, int(seed), epochs)
        with self._lock:
            if key in self._done:
                result, trained = self._done[key]
                future = Future()
                future.set_result(result)
                future.cell = trained
                return future
            if key in self._inflight:
                return self._inflight[key]
            job = (_train_job, self.trainer, self.space, _cell_record(self.space, cell), dataset, int(seed),
                   self.path, epochs)
            future = self.executor.submit(*job) if self.executor is not None else Future()
            future.cell = cell
            self._inflight[key] = future
        if self.executor is None:
            try:
                future.set_result(job[0](*job[1:]))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
                future.set_exception(exc)
        future.add_done_callback(lambda f: self._finished(key, f))
        return future

    def _finished(self, key, future: Future) -> None:
        with self._lock:
            self._inflight.pop(key, None)  # a failed run may be tried again later
            if not future.cancelled() and future.exception() is None:
                self._done[key] = (future.result(), future.cell)
                self.trained.append(future.result())

    def _copy(self, result, cell, trained) -> None:
        """Appends a run's results for an isomorphic cell the run did not train."""
        space = spaces.get(self.space)
        if np.array_equal(space.table_keys([cell]), space.table_keys([trained])):
            return  # the same row (NB101: isomorphic cells share the module hash)
        preset = self.trainer.preset_for(self.space, epochs=result.epochs)
        mode = self.trainer.record_mode(preset)
        static = {"params": result.params, "flops": result.flops}
        for fidelity, metrics in table_records(result.history, result.history, preset, mode):
            append_result(self.path, self.space, cell, result.dataset, result.seed, fidelity, metrics, static,
                          new_dataset=True)


class EvaluatorBenchmark(Benchmark):
    """An :class:`Evaluator` seen as a :class:`Benchmark`: queries and costs of
    missing cells train them; everything else reads the current table."""

    def __init__(self, evaluator: Evaluator):  # no super().__init__: nothing of its own is open
        self.evaluator = evaluator
        self.path = evaluator.path
        self.space = evaluator.space
        self.provenance = evaluator.provenance
        self.cost_model = evaluator.cost_model

    @property
    def datasets(self):
        return self.evaluator.benchmark.datasets

    def metrics(self, dataset=None):
        return self.evaluator.benchmark.metrics(dataset)

    def fidelities(self, dataset=None):
        return self.evaluator.benchmark.fidelities(dataset)

    def seeds(self, dataset=None):
        return self.evaluator.benchmark.seeds(dataset)

    def rows(self, cells, missing="raise"):
        return self.evaluator.benchmark.rows(cells, missing)

    def cell(self, row):
        return self.evaluator.benchmark.cell(row)

    def canonical_keys(self):
        return self.evaluator.benchmark.canonical_keys()

    def best(self, metric, fidelity=None, dataset=None):
        return self.evaluator.benchmark.best(metric, fidelity, dataset)

    def query(self, cells, metric, fidelity=None, dataset=None, seed="mean", missing="raise"):
        return self.evaluator.query(cells, metric, fidelity, dataset, seed=seed, missing=missing)

    def cost(self, cells, fidelity=None, dataset=None):
        return self.evaluator.cost(cells, fidelity, dataset)

    def __len__(self) -> int:
        return len(self.evaluator.benchmark)

    def __repr__(self) -> str:
        return f"EvaluatorBenchmark({self.evaluator!r})"

    def close(self) -> None:
        self.evaluator.close()

    def __exit__(self, *exc) -> None:
        self.close()
