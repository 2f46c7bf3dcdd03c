"""One-shot supernet (issue 16): one forward+backward on a digits batch, the
supernet against the stand-alone networks that do the same work, one thread
(scripts/oneshot_perf.py writes the figures into reports/perf.md)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasbench_suite.oneshot.perf import PATH, standalone_steps, supernet_step  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.benchmark(group="oneshot-mixed")
def test_supernet_mixed(benchmark):
    benchmark(supernet_step("mix"))


@pytest.mark.benchmark(group="oneshot-mixed")
def test_reference_five_standalone_networks(benchmark):
    benchmark(standalone_steps())


@pytest.mark.benchmark(group="oneshot-path")
def test_supernet_one_path(benchmark):
    benchmark(supernet_step("path"))


@pytest.mark.benchmark(group="oneshot-path")
def test_reference_standalone_network(benchmark):
    benchmark(standalone_steps([PATH]))
