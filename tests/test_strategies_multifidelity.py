"""Multi-fidelity strategies: successive halving, Hyperband, BOHB.

A synthetic NB201 table (all 15,625 cells, fidelities 1/3/9/27 epochs) gives
each cell a fixed score (a weighted sum of per-edge op values plus a fixed
interaction term); validation accuracy rises with the fidelity towards it,
with seeded noise that shrinks with the fidelity, and training time grows
with the fidelity and the number of convolutions. Expected schedules are the
published ones (Li et al., JMLR 2018, Table 1) or computed here from the
definition, never read back from the code under test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_suite.runner.search import run_search
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.strategies import Proposal, Result, make_strategy
from nasbench_suite.strategies.bohb import BOHB
from nasbench_suite.strategies.hyperband import Hyperband, SuccessiveHalving
from nasbench_suite.tables import Benchmark, TableWriter

FIDS = [1.0, 3.0, 9.0, 27.0]
SEARCH = "valid_acc@27"
REPORT = "test_acc@27"
# Official op order: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3.
OP_SCORE = np.array([0.0, 0.5, 1.5, 2.5, 0.8])


def synthetic_nb201(path, fids=FIDS, seeds=(0, 1)):
    idx = np.arange(nb201.NUM_CELLS)
    cells = [nb201.Cell.from_index(int(i)) for i in idx]
    codes = np.array([c.codes for c in cells], dtype=np.int64)
    connected = np.array([c.is_connected() for c in cells])
    score = (OP_SCORE[codes] * (1.0 + 0.25 * np.arange(6))).sum(1)
    score = score + 0.6 * np.sin(codes @ np.array([1, 3, 5, 7, 11, 13]))
    score = (score - score.min()) / (score.max() - score.min())
    f = np.asarray(fids, dtype=np.float64)
    mean = 10 + connected[:, None] * (score[:, None] * 75 * (1 - np.exp(-f / 6.0)) + 5)
    rng = np.random.default_rng(12345)
    shape = (idx.size, len(seeds), f.size)
    valid = mean[:, None, :] + rng.normal(0, 1, shape) * (2.0 / np.sqrt(f))
    test = mean[:, None, :] + rng.normal(0, 0.5, shape)
    seconds = (5.0 + 2.0 * (codes >= 2).sum(1))[:, None, None] * f
    with TableWriter(path, space="nb201") as w:
        w.add_dataset("cifar10", seeds=list(seeds), fidelities=list(fids))
        rows = w.add_cells(idx)
        w.set("cifar10", "valid_acc", rows, valid)
        w.set("cifar10", "test_acc", rows, test)
        w.set("cifar10", "train_time", rows, np.broadcast_to(seconds, shape))
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return Benchmark.open(synthetic_nb201(tmp_path_factory.mktemp("mf") / "nb201_synthetic.h5"))


def search(bench, strategy, seed=0, budget=None, **kw):
    return run_search(bench, strategy, seed=seed, budget=budget or {"queries": 69},
                      search_metric=SEARCH, report_metric=REPORT, **kw)


def bound(cls, fids=FIDS, search_fidelity=27.0, space="nb201", seed=0, **kw):
    s = cls(space, np.random.default_rng(seed), **kw)
    s.bind(fids, search_fidelity)
    return s


def canonical(label: str) -> int:
    return nb201.Cell.from_string(label).canonical_key()


def hb_cycle(r_max_over_min_exponent: int, eta: int):
    """Li et al. Algorithm 1 with R = eta**s_max, r = 1: [(n_i, r_i)] per bracket."""
    s_max = r_max_over_min_exponent
    out = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) * eta ** s / (s + 1))
        out.append([(n // eta ** i, float(eta ** (s_max - s + i))) for i in range(s + 1)])
    return out


# ------------------------------------------------------------------ schedule

def test_hyperband_schedule_matches_li_et_al_table_1():
    # R = 81, eta = 3 (Li et al. 2018, Table 1).
    hb = bound(Hyperband, fids=[1, 3, 9, 27, 81], search_fidelity=81)
    expected = [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
                [(34, 3), (11, 9), (3, 27), (1, 81)],
                [(15, 9), (5, 27), (1, 81)],
                [(8, 27), (2, 81)],
                [(5, 81)]]
    assert hb.schedule() == [[(n, float(r)) for n, r in b] for b in expected]
    assert hb.schedule() == hb_cycle(4, 3)
    assert hb.rungs == [1.0, 3.0, 9.0, 27.0, 81.0]


def test_successive_halving_schedule():
    sh = bound(SuccessiveHalving)
    assert sh.schedule() == [[(27, 1.0), (9, 3.0), (3, 9.0), (1, 27.0)]]
    sh = bound(SuccessiveHalving, num_configs=40)
    assert sh.schedule() == [[(40, 1.0), (13, 3.0), (4, 9.0), (1, 27.0)]]
    sh = bound(SuccessiveHalving, eta=2)
    assert sh.schedule() == [[(8, 1.0), (4, 3.0), (2, 9.0), (1, 27.0)]]


def test_budgets_default_to_axis_start_and_search_fidelity():
    hb = bound(Hyperband, search_fidelity=9.0)
    assert hb.rungs == [1.0, 3.0, 9.0]
    assert hb.schedule() == hb_cycle(2, 3)
    hb = bound(Hyperband, search_fidelity=9.0, max_budget=27, min_budget=3)
    assert hb.rungs == [3.0, 9.0, 27.0]


def test_rungs_snap_to_the_axis_and_duplicates_are_dropped():
    # 200 * 3**-k = 200, 66.7, 22.2, 7.4, 2.5 -> nearest epochs (log scale).
    hb = bound(Hyperband, fids=np.arange(1, 201), search_fidelity=200)
    assert hb.rungs == [3.0, 7.0, 22.0, 67.0, 200.0]
    # NB201-like axis: 200, 66.7, 22.2 all snap to 12 or 200 -> two rungs.
    hb = bound(Hyperband, fids=[12, 200], search_fidelity=200)
    assert hb.rungs == [12.0, 200.0]
    assert hb.schedule() == [[(3, 12.0), (1, 200.0)], [(2, 200.0)]]
    # eta=2 on 1/3/9/27: 27, 13.5, 6.75, 3.4, 1.7 -> 27, 9, 9, 3, 1.
    hb = bound(Hyperband, eta=2)
    assert hb.rungs == FIDS
    assert hb.schedule()[0] == [(8, 1.0), (4, 3.0), (2, 9.0), (1, 27.0)]


def test_run_follows_the_hyperband_schedule_and_promotes_the_top_third(bench):
    cycle = hb_cycle(3, 3)
    n_total = sum(n for b in cycle for n, _ in b)
    assert n_total == 69
    traj = search(bench, "hyperband", budget={"queries": 2 * n_total})
    expected = [r for b in cycle for n, r in b for _ in range(n)] * 2
    assert traj.fidelity.tolist() == expected
    # One worker: rungs are contiguous; check every promotion.
    pos = 0
    for b in cycle * 2:
        rungs = []
        for n, _ in b:
            rungs.append((traj.cell[pos:pos + n], traj.value[pos:pos + n]))
            pos += n
        assert len({canonical(c) for c in rungs[0][0]}) == len(rungs[0][0])  # all new, distinct
        for (cells, values), (next_cells, _) in zip(rungs, rungs[1:]):
            top = [cells[i] for i in np.argsort(-values, kind="stable")[:len(next_cells)]]
            assert sorted(next_cells) == sorted(top)
            # the promoted ones are strictly better than the rest
            kept = values[np.isin(cells, next_cells)]
            dropped = values[~np.isin(cells, next_cells)]
            assert kept.min() > dropped.max()


def test_successive_halving_run_repeats_its_bracket(bench):
    traj = search(bench, "successive_halving", budget={"queries": 80})
    one = [1.0] * 27 + [3.0] * 9 + [9.0] * 3 + [27.0]
    assert traj.fidelity.tolist() == one * 2
    cells, values = traj.cell[:27], traj.value[:27]
    assert sorted(traj.cell[27:36]) == sorted(cells[i] for i in np.argsort(-values)[:9])


@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
def test_cost_is_the_table_cost_at_the_rung_fidelity(bench, name):
    traj = search(bench, name, budget={"queries": 120})
    for label, fid, cost in zip(traj.cell, traj.fidelity, traj.cost):
        assert cost == bench.cost(nb201.Cell.from_string(label), fid)
    assert set(traj.fidelity) <= set(FIDS)


# ------------------------------------------------------------------ budgets, workers, seeds

@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
@pytest.mark.parametrize("workers", [1, 4])
def test_budgets_are_never_exceeded(bench, name, workers):
    t = search(bench, name, budget={"queries": 150}, n_workers=workers)
    assert len(t) == 150
    t = search(bench, name, budget={"seconds": 5000.0}, n_workers=workers)
    assert len(t) > 0 and t.time.max() <= 5000.0
    assert t.time.max() > 5000.0 - (5.0 + 12.0) * 27  # stopped only when the next job did not fit
    t = search(bench, name, budget={"epochs": 500.0}, n_workers=workers)
    assert 0 < t.fidelity.sum() <= 500.0
    t = search(bench, name, budget={"queries": 1000, "seconds": 3000.0, "epochs": 400.0}, n_workers=workers)
    assert t.time.max() <= 3000.0 and t.fidelity.sum() <= 400.0 and len(t) <= 1000


@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
@pytest.mark.parametrize("workers", [1, 4])
def test_same_seed_same_trajectory_bytes(bench, name, workers):
    budget = {"seconds": 4000.0}
    a = search(bench, name, seed=7, budget=budget, n_workers=workers)
    b = search(bench, name, seed=7, budget=budget, n_workers=workers)
    c = search(bench, name, seed=8, budget=budget, n_workers=workers)
    assert a.to_bytes() == b.to_bytes()
    assert a.to_bytes() != c.to_bytes()


@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
def test_four_workers_stay_busy(bench, name):
    q = 300
    t = search(bench, name, budget={"queries": q}, n_workers=4)
    assert len(t) == q
    starts = np.sort(t.time - t.cost)
    # Every job starts at 0 (four of them) or the moment another one finishes.
    expected = np.concatenate([np.zeros(4), np.sort(t.time)[:q - 4]])
    np.testing.assert_allclose(starts, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cls, fidelities, brackets, next_fidelity", [
    (SuccessiveHalving, [1.0] * 40, 2, 1.0),
    (Hyperband, [1.0] * 27 + [3.0] * 12 + [9.0], 3, 9.0),
    (BOHB, [1.0] * 27 + [3.0] * 12 + [9.0], 3, 9.0),
])
def test_ask_serves_the_next_bracket_while_a_rung_waits(cls, fidelities, brackets, next_fidelity):
    s = bound(cls)
    asked = [s.ask() for _ in range(40)]  # nothing told yet: ask never blocks
    assert [p.fidelity for p in asked] == fidelities
    assert s.brackets_started == brackets
    # The first rung's results arrive out of order; it promotes only when all
    # 27 are in, and then the best 9 by value.
    first = asked[:27]
    value = {p.cell: float(p.cell.index() % 997) for p in first}
    for p in reversed(first[1:]):
        s.tell(p, Result(value[p.cell], 1.0, p.fidelity))
    assert s.ask().fidelity == next_fidelity
    s.tell(first[0], Result(value[first[0].cell], 1.0, 1.0))
    promoted = [s.ask() for _ in range(9)]
    assert all(p.fidelity == 3.0 for p in promoted)
    top = sorted(value, key=value.get, reverse=True)[:9]
    assert [p.cell for p in promoted] == top


@pytest.mark.parametrize("name", ["hyperband", "bohb"])
def test_promotions_wait_for_the_lower_rung(bench, name):
    t = search(bench, name, budget={"queries": 400}, n_workers=4)
    ladder = FIDS
    last_finish = {}
    order = np.argsort(t.time, kind="stable")
    for i in order:
        key = canonical(t.cell[i])
        start = t.time[i] - t.cost[i]
        if key in last_finish:
            prev_fid, prev_finish = last_finish[key]
            assert ladder.index(t.fidelity[i]) == ladder.index(prev_fid) + 1
            assert start >= prev_finish - 1e-9
        last_finish[key] = (t.fidelity[i], t.time[i])


# ------------------------------------------------------------------ dedup

@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
def test_dedup_never_reevaluates_an_isomorphic_new_configuration(bench, name):
    t = search(bench, name, budget={"queries": 400}, n_workers=2)
    assert t.meta["duplicates_avoided"] > 0  # NB201 classes are uneven: collisions come early
    chains: dict[int, list[float]] = {}
    for i in np.argsort(t.time, kind="stable"):
        chains.setdefault(canonical(t.cell[i]), []).append(float(t.fidelity[i]))
    for fids in chains.values():
        # one new configuration per class, then promotions one rung at a time
        idx = [FIDS.index(f) for f in fids]
        assert idx == list(range(idx[0], idx[0] + len(idx)))


def test_without_dedup_repeats_are_allowed(bench):
    t = search(bench, "successive_halving", budget={"queries": 400},
               strategy_kwargs={"dedup": False})
    assert t.meta["duplicates_avoided"] == 0
    first_rung = [canonical(c) for c, f in zip(t.cell, t.fidelity) if f == 1.0]
    assert len(set(first_rung)) < len(first_rung)


# ------------------------------------------------------------------ BOHB

def test_bohb_and_hyperband_beat_random_search(bench):
    """Mean regret of the final incumbent's test accuracy over 10 seeds, one
    worker, 20,000 simulated seconds (random search: ~60 evaluations at 27
    epochs). Measured when written: random 20.6, Hyperband 14.0, BOHB 2.9
    (30 seeds: 19.6 +- 0.9, 13.7 +- 0.7, 3.6 +- 0.7)."""
    best = bench.best("test_acc", 27)[1]
    regret = {}
    for name in ("random_search", "hyperband", "bohb"):
        regret[name] = np.mean([best - search(bench, name, seed=s, budget={"seconds": 20000.0}).final_report
                                for s in range(10)])
    assert regret["bohb"] < regret["hyperband"] < regret["random_search"]
    assert regret["bohb"] < 0.5 * regret["random_search"]


def test_bohb_uses_its_model_once_a_fidelity_has_enough_points(bench):
    s = make_strategy("bohb", "nb201", np.random.default_rng(0))
    search(bench, s, budget={"queries": 200})
    assert s.min_points_in_model == 7
    assert s.model_based_picks > 0
    s = make_strategy("bohb", "nb201", np.random.default_rng(0), random_fraction=1.0)
    search(bench, s, budget={"queries": 200})
    assert s.model_based_picks == 0


def test_bohb_density_is_aitchison_aitken():
    s = bound(BOHB)
    data = np.array([[0, 1, 2, 3, 4, 0], [0, 2, 2, 3, 4, 1]])
    bw = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    x = np.array([[0, 1, 2, 3, 4, 0], [4, 4, 4, 4, 4, 4]])

    def kernel(xj, dj, lam, c=5):
        return 1 - lam if xj == dj else lam / (c - 1)

    ref = [np.log(np.mean([np.prod([kernel(xi[j], d[j], bw[j]) for j in range(6)]) for d in data]))
           for xi in x]
    np.testing.assert_allclose(s._log_density(data, bw, x), ref, rtol=1e-12)
    # bandwidths: normal reference, clipped to [min_bandwidth, (c-1)/c]
    same = np.zeros((8, 6), dtype=np.int64)
    assert np.all(s._bandwidth(same) == 1e-3)
    spread = np.tile(np.arange(5), 2)[:8, None].repeat(6, axis=1)
    assert np.all(s._bandwidth(spread) == 0.8)


# ------------------------------------------------------------------ NB101 (strategy level)

def nb101_objective(cell, fidelity):
    lab = cell.labels
    return float(3 * (lab == 0).sum() + (lab == 1).sum() + 0.5 * cell.num_edges) * (1 - np.exp(-fidelity / 20))


@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
def test_nb101_out_of_order_tells(name):
    """No NB101 table holds every cell a sampler can draw, so drive the
    strategy directly, three jobs in flight, told in a random order."""
    s = make_strategy(name, "nb101", np.random.default_rng(1))
    s.bind([4, 12, 36, 108], 108)
    order_rng = np.random.default_rng(2)
    ladder = [4.0, 12.0, 36.0, 108.0]
    in_flight, told = [], {}  # told: class -> highest fidelity told
    asked: dict[int, list[float]] = {}
    for _ in range(400):
        p = s.ask()
        assert isinstance(p.cell, nb101.Cell) and p.fidelity in ladder
        key = p.cell.canonical_key()
        if key in asked:  # a promotion: one rung up, after the lower result came in
            assert ladder.index(p.fidelity) == ladder.index(asked[key][-1]) + 1
            assert told.get(key) == asked[key][-1]
        asked.setdefault(key, []).append(p.fidelity)
        in_flight.append(p)
        if len(in_flight) == 3:
            q = in_flight.pop(int(order_rng.integers(3)))
            s.tell(q, Result(nb101_objective(q.cell, q.fidelity), 1.0, q.fidelity))
            told[q.cell.canonical_key()] = q.fidelity
    assert max(len(f) for f in asked.values()) == 4  # some cell went all the way up
    if name == "bohb":
        assert s.min_points_in_model == 27 and s.model_based_picks > 0


def test_tell_accepts_an_equal_proposal_and_rejects_an_unknown_one():
    s = bound(Hyperband)
    p = s.ask()
    s.tell(Proposal(p.cell, p.fidelity), Result(50.0, 1.0, p.fidelity))
    with pytest.raises(ValueError, match="not asked"):
        s.tell(Proposal(p.cell, p.fidelity), Result(50.0, 1.0, p.fidelity))


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
@pytest.mark.parametrize("eta", [1, 1.5, 0, -3, float("nan"), float("inf"), True, "3"])
def test_bad_eta(name, eta):
    with pytest.raises(ValueError, match="eta"):
        make_strategy(name, "nb201", np.random.default_rng(0), eta=eta)


@pytest.mark.parametrize("kw, match", [
    ({"min_budget": 0}, "min_budget"),
    ({"max_budget": -1}, "max_budget"),
    ({"min_budget": 9, "max_budget": 3}, "below"),
    ({"min_budget": 9, "max_budget": 9}, "below"),
])
def test_bad_budgets(kw, match):
    with pytest.raises(ValueError, match=match):
        Hyperband("nb201", np.random.default_rng(0), **kw)


@pytest.mark.parametrize("kw, match", [
    ({"top_n_percent": 0}, "top_n_percent"),
    ({"top_n_percent": 100}, "top_n_percent"),
    ({"num_samples": 0}, "num_samples"),
    ({"random_fraction": 1.5}, "random_fraction"),
    ({"bandwidth_factor": 0}, "bandwidth_factor"),
    ({"min_bandwidth": 0}, "min_bandwidth"),
    ({"min_bandwidth": 1}, "min_bandwidth"),
    ({"min_points_in_model": 6}, "min_points_in_model must be an integer >= 7"),
])
def test_bad_bohb_hyperparameters(kw, match):
    with pytest.raises(ValueError, match=match):
        BOHB("nb201", np.random.default_rng(0), **kw)
    with pytest.raises(TypeError, match="bohb"):
        make_strategy("bohb", "nb201", np.random.default_rng(0), top_n=15)


def test_bad_num_configs():
    with pytest.raises(ValueError, match="num_configs"):
        SuccessiveHalving("nb201", np.random.default_rng(0), num_configs=0)
    with pytest.raises(ValueError, match="top rung empty.*at least 27"):
        bound(SuccessiveHalving, num_configs=26)


@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "bohb"])
def test_single_fidelity_table_is_refused_at_bind(tmp_path, name):
    path = tmp_path / "one.h5"
    with TableWriter(path, space="nb201") as w:
        w.add_dataset("cifar10", seeds=[0], fidelities=[27])
        rows = w.add_cells([0, 1, 2])
        w.set("cifar10", "valid_acc", rows, 50.0)
        w.set("cifar10", "test_acc", rows, 50.0)
        w.set("cifar10", "train_time", rows, 100.0)
    with pytest.raises(ValueError, match="at least two fidelities.*only 27 epochs"):
        search(path, name)


@pytest.mark.parametrize("kw, fids, search_fid, match", [
    ({"min_budget": 2}, FIDS, 27, "min_budget 2 is not a fidelity of the table; it has 1, 3, 9, 27"),
    ({"max_budget": 81}, FIDS, 27, "max_budget 81 is not a fidelity"),
    ({}, FIDS, 1, r"min_budget \(1\) must be below max_budget \(1, the search fidelity\)"),
    ({"eta": 4}, FIDS, 3, "less than a factor eta=4 apart"),
])
def test_budgets_off_the_axis_are_refused_at_bind(kw, fids, search_fid, match):
    with pytest.raises(ValueError, match=match):
        bound(Hyperband, fids=fids, search_fidelity=search_fid, **kw)


def test_ask_before_bind():
    with pytest.raises(RuntimeError, match="bind"):
        Hyperband("nb201", np.random.default_rng(0)).ask()
