"""The published ordering of strategies on the real NB201 data (CIFAR-10,
search on the 12-epoch validation accuracy, report the 200-epoch test
accuracy, 150 queries): regularized evolution and local search beat random
search, BANANAS is at least as good as random search."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite.runner import run_search
from nasbench_suite.tables import Benchmark

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
SEEDS = 40


@pytest.fixture(scope="module")
def finals(nb201_public):
    bench = Benchmark.open(nb201_public)
    out = {}
    for name in ("random_search", "regularized_evolution", "local_search", "bananas"):
        out[name] = np.array([
            run_search(bench, name, seed, {"queries": 150}, search_metric="valid_acc@12",
                       report_metric="test_acc@200", dataset="cifar10").final_report
            for seed in range(SEEDS)])
    return out


def _mean_se(x):
    return x.mean(), x.std(ddof=1) / np.sqrt(x.size)


@pytest.mark.parametrize("name", ["regularized_evolution", "local_search"])
def test_beats_random_search(finals, name):
    m, se = _mean_se(finals[name])
    r, rse = _mean_se(finals["random_search"])
    # Better by more than two standard errors of the difference.
    assert m - r > 2 * np.hypot(se, rse), (name, m, se, r, rse)


def test_bananas_at_least_as_good_as_random_search(finals):
    m, se = _mean_se(finals["bananas"])
    r, rse = _mean_se(finals["random_search"])
    assert m >= r, (m, se, r, rse)


def test_all_end_below_the_best_cell(finals, nb201_public):
    best = Benchmark.open(nb201_public).best("test_acc", 200, "cifar10")[1]
    for name, x in finals.items():
        assert np.all(x <= best + 1e-9), name
