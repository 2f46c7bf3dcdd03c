"""Data-free proxies of the CIFAR-10-sized NB201 network (the NB201 report's
hot path: synflow, params, flops of every cell; ``scripts/proxies_nb201.py``):
``compute_many``, which copies the network only for a proxy that modifies it,
against the reference, a fresh copy of the network for every proxy (what
``compute_many`` did before), in the same run. Per round: 3 cells of
different sizes, each network built from seed 0, one thread."""
from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from nasbench_suite import proxies as P  # noqa: E402
from nasbench_suite.spaces import nb201  # noqa: E402

NAMES = ["synflow", "params", "flops"]
CELLS = [nb201.Cell.from_index(i) for i in (5, 4000, 9000)]


@pytest.fixture(scope="module")
def batch():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield P.noise_batch((3, 32, 32), 10)
    torch.set_num_threads(before)


def _library(batch):
    return [P.compute_many(NAMES, space="nb201", cell=c, batch=batch) for c in CELLS]


def _reference(batch):
    out = []
    for c in CELLS:
        net = P.network("nb201", c, 10, 3)
        vals = {}
        for name in NAMES:
            fresh = copy.deepcopy(net)
            fresh.train()
            vals[name] = P._one(name, fresh, batch, 0)[0]
        out.append(vals)
    return out


@pytest.mark.benchmark(group="proxies-nb201-cifar10-data-free")
def test_compute_many(benchmark, batch):
    got = benchmark.pedantic(_library, args=(batch,), rounds=3, iterations=1)
    assert got == _reference(batch)


@pytest.mark.benchmark(group="proxies-nb201-cifar10-data-free")
def test_reference_a_copy_per_proxy(benchmark, batch):
    benchmark.pedantic(_reference, args=(batch,), rounds=3, iterations=1)
