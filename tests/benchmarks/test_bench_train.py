"""Training cost of the embedded digits benchmark's runs (issue "The embedded
default"): the two seeds of a class trained as one grouped network
(``Trainer.train_seeds``, what ``nasbench-suite generate`` does) against the
reference, one network per seed (``Trainer.train``), in the same run, with the
generator's trainer settings (one thread, deterministic, channels-last, CPU).
Per round: both seeds of 3 classes of different costs, the preset's epochs each."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from nasbench_suite.train.generate import GenerateSettings, representatives  # noqa: E402

REPS = representatives()
CLASSES = [int(REPS[i]) for i in (100, 3000, 7000)]


@pytest.fixture(scope="module")
def trainer():
    t = GenerateSettings().trainer()
    t.train_seeds("nb201", CLASSES[0], [0, 1])  # data loaded, FLOPs counted, kernels warm
    return t


@pytest.mark.benchmark(group="train-digits-2-seeds")
def test_grouped_seeds(benchmark, trainer):
    benchmark.pedantic(lambda: [trainer.train_seeds("nb201", c, [0, 1]) for c in CLASSES],
                       rounds=3, iterations=1)


@pytest.mark.benchmark(group="train-digits-2-seeds")
def test_reference_one_network_per_seed(benchmark, trainer):
    benchmark.pedantic(lambda: [trainer.train("nb201", c, seed=s) for c in CLASSES for s in (0, 1)],
                       rounds=3, iterations=1)
