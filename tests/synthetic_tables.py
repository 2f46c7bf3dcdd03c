"""Small synthetic tables in our format, written by the tests.

The landscape is a fixed random linear function of the cell's encoding
(seeded), squashed into accuracies, with per-seed noise and a learning curve
over the fidelity axis; test accuracy is the validation accuracy plus a
separate offset, so the two metrics are correlated but distinct.

The tables are the same bytes on every x86-64 machine: scores are sequential
sums (``cumsum``, not a BLAS product whose order depends on the kernel) and
``exp`` is the core's fixed-rounding one (numpy's SIMD and glibc's FMA and
non-FMA ``exp`` differ in the last bit), so no test depends on the CPU.
"""
from __future__ import annotations

import numpy as np

from nasbench_suite import _core
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.tables import TableBuilder
from nasbench_suite.tables._schema import write_all


def _score(enc: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """enc @ weights - 1, summed left to right (each product is exact for 0/1 features)."""
    return np.cumsum(enc.astype(np.float64) * weights, axis=1)[:, -1] - 1.0


def _curves(score: np.ndarray, fidelities, seeds, rng, noise: float):
    """valid/test accuracy (N, S, F) and train_time (N, S, F) from scores (N,)."""
    fids = np.asarray(fidelities, dtype=float)
    final = 70.0 + 25.0 / (1.0 + _core.det_exp(np.ascontiguousarray(-score)))  # percent
    progress = 1.0 - _core.det_exp(np.ascontiguousarray(-fids / (0.3 * fids.max())))
    base = final[:, None, None] * (0.6 + 0.4 * progress / progress.max())[None, None, :]
    shape = (score.size, len(seeds), fids.size)
    valid = base + noise * rng.standard_normal(shape)
    test = base + 0.5 + noise * rng.standard_normal(shape)
    per_epoch = 5.0 + 2.0 * (score - score.min())
    time = per_epoch[:, None, None] * fids[None, None, :] * np.ones(shape)
    return valid, test, time


def make_nb201_table(path, fidelities=(1, 4, 12, 36, 200), seeds=(0, 1), noise=0.3, seed=0,
                     dataset="cifar10"):
    """Every NB201 cell; disconnected cells at chance level (10%)."""
    rng = np.random.default_rng(seed)
    b = TableBuilder("nb201")
    b.add_dataset(dataset, seeds, fidelities)
    rows = b.add_cells(np.arange(nb201.NUM_CELLS))
    cells = [nb201.Cell.from_index(i) for i in range(nb201.NUM_CELLS)]
    enc = nb201.encode(cells, "onehot")
    score = _score(enc, rng.normal(0, 0.6, enc.shape[1]))
    valid, test, time = _curves(score, fidelities, seeds, rng, noise)
    dead = np.array([not c.is_connected() for c in cells])
    valid[dead], test[dead] = 10.0, 10.0
    b.set(dataset, "valid_acc", rows, valid)
    b.set(dataset, "test_acc", rows, test)
    b.set(dataset, "train_time", rows, time)
    b.set_static(dataset, "params", rows, 1e5 + 1e4 * enc[:, 3::5].sum(axis=1))
    write_all(path, b.table())
    return path


def make_nb101_table(path, fidelities=(4, 12, 36, 108), seeds=(0, 1, 2), noise=0.3, seed=0,
                     dataset="cifar10"):
    """Every one of the 423,624 NB101 cells (a few seconds to build)."""
    rng = np.random.default_rng(seed)
    m, lab, _ = nb101.enumerate_space().cells("output-last")
    lab = lab.astype(np.int64)
    b = TableBuilder("nb101")
    b.add_dataset(dataset, seeds, fidelities)
    rows = b.add_cell_arrays(m, lab)
    enc = nb101.encode_adjacency_many(m, lab)
    score = _score(enc, rng.normal(0, 0.5, enc.shape[1]))
    valid, test, time = _curves(score, fidelities, seeds, rng, noise)
    b.set(dataset, "valid_acc", rows, valid)
    b.set(dataset, "test_acc", rows, test)
    b.set(dataset, "train_time", rows, time)
    write_all(path, b.table())
    return path


#: Per-edge latency (ms) of each NB201 op in make_nb201_tradeoff_table, in nb201.OPS order.
TRADEOFF_OP_LATENCY = (0.0, 0.1, 1.0, 2.5, 0.5)


def make_nb201_tradeoff_table(path, fidelities=(12, 200), seeds=(0, 1), noise=0.3, seed=0,
                              dataset="cifar10"):
    """Every NB201 cell with a static ``latency_synth`` (ms, the sum of
    :data:`TRADEOFF_OP_LATENCY` over the edges) that accuracy grows with: a
    table with a real accuracy/latency trade-off for multi-objective tests."""
    rng = np.random.default_rng(seed)
    b = TableBuilder("nb201")
    b.add_dataset(dataset, seeds, fidelities)
    rows = b.add_cells(np.arange(nb201.NUM_CELLS))
    cells = [nb201.Cell.from_index(i) for i in range(nb201.NUM_CELLS)]
    enc = nb201.encode(cells, "onehot")
    op_cost = np.tile(np.asarray(TRADEOFF_OP_LATENCY), enc.shape[1] // len(TRADEOFF_OP_LATENCY))
    latency = _score(enc, op_cost) + 2.0  # _score subtracts 1: 1 ms + the ops' sum
    score = _score(enc, rng.normal(0, 0.3, enc.shape[1]) + 0.25 * op_cost)
    valid, test, time = _curves(score, fidelities, seeds, rng, noise)
    dead = np.array([not c.is_connected() for c in cells])
    valid[dead], test[dead] = 10.0, 10.0
    b.set(dataset, "valid_acc", rows, valid)
    b.set(dataset, "test_acc", rows, test)
    b.set(dataset, "train_time", rows, time)
    b.set_static(dataset, "latency_synth", rows, latency)
    write_all(path, b.table())
    return path
