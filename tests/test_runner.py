"""run_search: budgets, determinism, dedup, what strategies see, errors."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite.runner import Budget, Trajectory, run_search
from nasbench_suite.spaces import nb201
from nasbench_suite.strategies import REGISTRY, Strategy, make_strategy
from nasbench_suite.tables import Benchmark

ALL = sorted(REGISTRY)
SINGLE_FIDELITY = ["random_search", "regularized_evolution", "local_search", "reinforce", "bananas"]


@pytest.fixture(scope="module")
def b201(nb201_synthetic):
    return Benchmark.open(nb201_synthetic)


@pytest.fixture(scope="module")
def b101(nb101_synthetic):
    return Benchmark.open(nb101_synthetic)


@pytest.mark.parametrize("name", ALL)
def test_every_strategy_runs_on_nb201(b201, name):
    t = run_search(b201, name, seed=0, budget={"queries": 40}, search_metric="valid_acc@36",
                   report_metric="test_acc@200")
    assert len(t) == 40
    assert np.all(np.diff(t.time) >= 0)
    assert np.isfinite(t.final_report)


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_every_strategy_runs_on_nb101(b101, name):
    # 60 queries: Hyperband's first bracket (27 + 9 + 3 + 1 on 4/12/36/108
    # epochs) reaches the search fidelity only after 40 evaluations.
    t = run_search(b101, name, seed=1, budget={"queries": 60}, search_metric="valid_acc@108",
                   report_metric="test_acc@108")
    assert len(t) == 60
    assert all(len(c) == 32 for c in t.cell)
    assert np.isfinite(t.final_report)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("workers", [1, 4])
def test_same_seed_same_bytes(b201, name, workers):
    kw = dict(budget={"queries": 30}, search_metric="valid_acc@36", n_workers=workers)
    a = run_search(b201, name, seed=7, **kw).to_bytes()
    assert a == run_search(b201, name, seed=7, **kw).to_bytes()
    assert a != run_search(b201, name, seed=8, **kw).to_bytes()


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("workers", [1, 3])
def test_budgets_are_never_exceeded(b201, name, workers):
    q = run_search(b201, name, 0, {"queries": 25}, search_metric="valid_acc@36", n_workers=workers)
    assert len(q) == 25
    s = run_search(b201, name, 0, {"seconds": 20_000}, search_metric="valid_acc@36", n_workers=workers)
    assert len(s) > 0 and s.time.max() <= 20_000
    # Each worker's evaluations run back to back: its busy time fits the budget.
    assert s.cost.sum() <= workers * 20_000
    e = run_search(b201, name, 0, {"epochs": 900}, search_metric="valid_acc@36", n_workers=workers)
    assert len(e) > 0 and e.fidelity.sum() <= 900


def test_combined_budget_stops_at_the_first_limit(b201):
    t = run_search(b201, "random_search", 0, Budget(queries=1000, seconds=3000), search_metric="valid_acc@36")
    assert len(t) < 1000 and t.time.max() <= 3000


@pytest.mark.parametrize("name", SINGLE_FIDELITY)
@pytest.mark.parametrize("workers", [1, 4])
def test_dedup_never_requeries_an_isomorphic_cell(b201, name, workers):
    t = run_search(b201, name, 3, {"queries": 120}, search_metric="valid_acc@36", n_workers=workers)
    keys = [nb201.Cell.from_string(c).canonical_key() for c in t.cell]
    assert len(set(keys)) == len(keys)


def test_without_dedup_random_search_repeats_isomorphic_cells(b201):
    # NB201 has 15,625 cells but 8,764 classes (+1 disconnected): collisions
    # happen quickly without dedup, so the test above is not vacuous.
    t = run_search(b201, "random_search", 0, {"queries": 400}, search_metric="valid_acc@36",
                   strategy_kwargs={"dedup": False})
    keys = [nb201.Cell.from_string(c).canonical_key() for c in t.cell]
    assert len(set(keys)) < len(keys)


class Spy(Strategy):
    """Random search that records everything it is told."""

    name = "spy"

    def __init__(self, space, rng):
        super().__init__(space, rng)
        self.told = []

    def _propose(self):
        return self.space.sample(self.rng)

    def _observe(self, proposal, result):
        self.told.append((proposal.cell, result))


def test_strategy_sees_the_search_metric_and_cost_never_the_report_metric(b201):
    spy = Spy("nb201", np.random.default_rng(0))
    t = run_search(b201, spy, 0, {"queries": 50}, search_metric="valid_acc@12", report_metric="test_acc@200")
    for (cell, result), value in zip(spy.told, t.value):
        assert set(vars(result)) == {"value", "cost", "fidelity"}
        assert result.value == value
        repeats = [b201.query(cell, "valid_acc", 12, seed=k) for k in range(len(b201.seeds()))]
        assert result.value in repeats  # one repeat of the search metric
        assert result.cost == pytest.approx(b201.cost(cell, 12))
        assert result.value != b201.query(cell, "test_acc", 200)


def test_incumbent_and_report_follow_the_search_metric(b201):
    t = run_search(b201, "regularized_evolution", 5, {"queries": 60}, search_metric="valid_acc@12")
    best = np.maximum.accumulate(t.value)
    np.testing.assert_array_equal(t.incumbent_value, best)
    for label, report in zip(t.incumbent, t.incumbent_report):
        assert report == b201.query(label, "test_acc", 200)
    assert t.final_report == t.incumbent_report[-1]


def test_parallel_workers_shorten_simulated_time(b201):
    one = run_search(b201, "random_search", 0, {"queries": 40}, search_metric="valid_acc@36")
    four = run_search(b201, "random_search", 0, {"queries": 40}, search_metric="valid_acc@36", n_workers=4)
    assert four.time[-1] < one.time[-1] / 2
    # Random search proposes the same cells whatever the number of workers.
    assert sorted(one.cell) == sorted(four.cell)


def test_trajectory_save_and_load_is_lossless(b201, tmp_path):
    t = run_search(b201, "bananas", 2, {"queries": 20}, search_metric="valid_acc@36")
    t.save(tmp_path / "t.json")
    back = Trajectory.load(tmp_path / "t.json")
    assert back == t and back.to_bytes() == t.to_bytes()
    np.testing.assert_array_equal(back.time, t.time)
    assert back.meta == t.meta


def test_strategy_time_can_be_included(b201):
    t = run_search(b201, "random_search", 0, {"queries": 10}, search_metric="valid_acc@36",
                   include_strategy_time=True)
    base = run_search(b201, "random_search", 0, {"queries": 10}, search_metric="valid_acc@36")
    assert t.time[-1] > base.time[-1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(search_metric="valid_loss@12"), "no metric 'valid_loss'"),
    (dict(search_metric="valid_acc@13"), "no fidelity 13"),
    (dict(report_metric="test_acc@x"), "number of epochs"),
    (dict(dataset="imagenet"), "unknown dataset"),
    (dict(budget={"queries": 0}), "positive"),
    (dict(budget={"minutes": 3}), "unknown budget"),
    (dict(budget=150), "mapping"),
    (dict(n_workers=0), "n_workers"),
    (dict(strategy="simulated_annealing"), "unknown strategy"),
    (dict(strategy="regularized_evolution", strategy_kwargs={"population_size": 1}), "population_size"),
    (dict(strategy="regularized_evolution", strategy_kwargs={"sample_size": 20}), "sample_size"),
    (dict(strategy="local_search", strategy_kwargs={"num_init": 0}), "num_init"),
    (dict(strategy="random_search", strategy_kwargs={"temperature": 3}), "temperature"),
])
def test_bad_configuration_fails_before_any_work(b201, kwargs, match):
    args = dict(strategy="random_search", seed=0, budget={"queries": 5}, search_metric="valid_acc@12")
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        run_search(b201, **args)


def test_strategy_of_another_space_is_refused(b201):
    with pytest.raises(ValueError, match="nb101"):
        run_search(b201, make_strategy("random_search", "nb101", np.random.default_rng(0)), 0, {"queries": 3},
                   search_metric="valid_acc@12")


def test_regularized_evolution_defaults_per_space():
    s = make_strategy("regularized_evolution", "nb101", np.random.default_rng(0))
    assert (s.population_size, s.sample_size) == (50, 10)
    s = make_strategy("regularized_evolution", "nb201", np.random.default_rng(0))
    assert (s.population_size, s.sample_size) == (10, 3)
