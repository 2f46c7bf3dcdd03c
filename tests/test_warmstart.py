"""Zero-cost warm start of RE, BANANAS and local search (strategies/warmstart.py)."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite.runner import run_search
from nasbench_suite.spaces import nb201
from nasbench_suite.strategies import make_strategy
from nasbench_suite.tables import Benchmark, TableBuilder
from nasbench_suite.tables._schema import read_all, write_all
from tests.synthetic_tables import make_nb201_table

PER_NET = 0.25  # CPU s / row recorded in the provenance below


def _zc(index: np.ndarray) -> np.ndarray:
    """A known proxy: a fixed permutation of the cell index (distinct scores, no ties)."""
    return ((index * 7919) % nb201.NUM_CELLS).astype(np.float64)


@pytest.fixture(scope="module")
def zc_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("warm") / "nb201.h5"
    make_nb201_table(path)
    t = read_all(path)
    b = TableBuilder(t.space, t)
    rows = np.arange(nb201.NUM_CELLS)
    b.set_static("cifar10", "zc_known", rows, _zc(rows))
    # a session that computed zc_known alone, and one with another proxy (ignored when one alone exists)
    b.provenance["proxies"] = {"sessions": [
        {"proxies": ["known"], "rows": 100, "cpu_seconds": 100 * PER_NET},
        {"proxies": ["known", "other"], "rows": 10, "cpu_seconds": 50.0}]}
    write_all(path, b.table())
    return str(path)


@pytest.fixture(scope="module")
def plain_table(tmp_path_factory):
    return str(make_nb201_table(tmp_path_factory.mktemp("cold") / "nb201.h5"))


def _index(cell) -> int:
    return nb201.Cell.from_string(cell).index() if isinstance(cell, str) else cell.index()


@pytest.mark.parametrize("name,k,extra", [("regularized_evolution", 10, {}), ("bananas", 10, {}),
                                          ("local_search", 10, {}),
                                          ("predictor_local_search", 10, {"predictor": None})])
def test_first_proposals_are_the_top_k_of_n(zc_table, name, k, extra):
    n = 200
    traj = run_search(zc_table, name, seed=3, budget={"queries": 25}, search_metric="valid_acc@12",
                      report_metric="test_acc@200",
                      strategy_kwargs={"warm_start": "known", "warm_start_n": n, **extra})
    # the N cells the strategy scored: the same generator, the same draws (plain recomputation)
    s = make_strategy(name, "nb201", np.random.default_rng(np.random.SeedSequence(3).spawn(2)[0]), **extra)
    cells, keys = [], set()
    while len(cells) < n:
        c = s.space.sample(s.stream)
        if s.key(c) not in keys:
            keys.add(s.key(c))
            cells.append(c)
    scores = _zc(np.array([c.index() for c in cells]))
    want = [cells[i].index() for i in sorted(range(n), key=lambda i: -scores[i])[:k]]
    got = [_index(c) for c in traj.cell[:k]]
    assert got == want  # best proxy score first (one worker: told in the order asked)
    w = traj.meta["warm_start"]
    assert (w["proxy"], w["n"], w["k"], w["scored"]) == ("known", n, k, n)
    assert w["seconds"] == pytest.approx(n * PER_NET)  # the proxy-alone session, not the shared one
    assert traj.time[0] == pytest.approx(n * PER_NET + traj.cost[0])
    assert "warm start" in traj.cost_model and "not queries" in traj.cost_model
    assert len(traj) == 25  # the N scores are not queries


def test_clock_charged_with_given_seconds_and_time_budget(zc_table):
    kw = {"warm_start": "known", "warm_start_n": 40, "warm_start_k": 5, "warm_start_seconds": 2.0}
    traj = run_search(zc_table, "regularized_evolution", seed=0, budget={"queries": 8}, strategy_kwargs=kw)
    assert traj.meta["warm_start"]["seconds"] == 80.0
    assert traj.time[0] == 80.0 + traj.cost[0]
    # the proxy time counts against a seconds budget: a budget below it evaluates nothing
    assert len(run_search(zc_table, "regularized_evolution", seed=0, budget={"seconds": 79.0},
                          strategy_kwargs=kw)) == 0


@pytest.mark.parametrize("name", ["regularized_evolution", "bananas", "local_search"])
def test_off_is_identical(zc_table, name):
    a = run_search(zc_table, name, seed=5, budget={"queries": 30})
    b = run_search(zc_table, name, seed=5, budget={"queries": 30}, strategy_kwargs={"warm_start": None})
    assert a.to_bytes().replace(b'"strategy_kwargs":{}', b'"strategy_kwargs":{"warm_start":null}') == b.to_bytes()
    assert "warm_start" not in a.meta and "warm" not in a.cost_model


def test_deterministic_and_different_from_cold(zc_table):
    kw = {"warm_start": "known", "warm_start_n": 100}
    a = run_search(zc_table, "bananas", seed=1, budget={"queries": 15}, strategy_kwargs=kw)
    b = run_search(zc_table, "bananas", seed=1, budget={"queries": 15}, strategy_kwargs=kw)
    cold = run_search(zc_table, "bananas", seed=1, budget={"queries": 15})
    assert a.to_bytes() == b.to_bytes() and a.cell[:10] != cold.cell[:10]


def test_missing_metric_is_a_clear_error(plain_table):
    with pytest.raises(ValueError, match=r"no metric 'zc_synflow'.*nasbench-suite proxies .* --proxies synflow "
                                         r"--dataset cifar10"):
        run_search(plain_table, "regularized_evolution", seed=0, budget={"queries": 5},
                   strategy_kwargs={"warm_start": "synflow"})


def test_missing_time_asks_for_seconds(zc_table, tmp_path):
    t = read_all(zc_table)
    b = TableBuilder(t.space, t)
    b.provenance.pop("proxies")
    path = tmp_path / "noprov.h5"
    write_all(path, b.table())
    with pytest.raises(ValueError, match="warm_start_seconds"):
        run_search(str(path), "bananas", seed=0, budget={"queries": 5}, strategy_kwargs={"warm_start": "known"})
    assert len(run_search(str(path), "bananas", seed=0, budget={"queries": 5},
                          strategy_kwargs={"warm_start": "known", "warm_start_seconds": 0.0})) == 5


def test_shared_session_is_an_upper_bound(zc_table):
    from nasbench_suite.strategies.warmstart import proxy_seconds
    sec, how = proxy_seconds(Benchmark.open(zc_table).provenance, "other")
    assert sec == 5.0 and "upper bound" in how


def test_bad_kwargs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="need warm_start"):
        make_strategy("regularized_evolution", "nb201", rng, warm_start_k=3)
    with pytest.raises(ValueError, match="must not exceed warm_start_n"):
        make_strategy("bananas", "nb201", rng, warm_start="synflow", warm_start_n=5, warm_start_k=6)
    with pytest.raises(ValueError, match="must not exceed the strategy's initial set"):
        make_strategy("local_search", "nb201", rng, warm_start="synflow", warm_start_k=11)
    s = make_strategy("local_search", "nb201", rng, warm_start="synflow")
    with pytest.raises(RuntimeError, match="needs proxy scores"):
        s.ask()


def test_multiobjective_run_is_warm_started_too(zc_table):
    from nasbench_suite.runner.multiobjective import run_mo_search

    kw = {"warm_start": "known", "warm_start_n": 50, "warm_start_k": 4, "warm_start_seconds": 1.0}
    traj = run_mo_search(zc_table, "regularized_evolution", 0, {"queries": 6},
                         objectives=("valid_acc@12", "params"), strategy_kwargs=kw)
    assert traj.meta["warm_start"]["seconds"] == 50.0 and traj.time[0] == 50.0 + traj.cost[0]
