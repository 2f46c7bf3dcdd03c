"""Predictor-guided local search (strategies/predictor_local_search.py)."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite.runner import run_search
from nasbench_suite.spaces import nb201
from nasbench_suite.strategies import Result, make_strategy
from tests.synthetic_tables import make_nb201_table


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return str(make_nb201_table(tmp_path_factory.mktemp("pls") / "nb201.h5"))


def _drive(strategy, f, n):
    """ask/tell n times against f(cell) -> value; returns the proposed cells."""
    cells = []
    for _ in range(n):
        p = strategy.ask()
        cells.append(p.cell)
        strategy.tell(p, Result(f(p.cell), 1.0, 12.0))
    return cells


@pytest.mark.parametrize("predictor", [None, "mlp_ensemble", "ridge"])
def test_valid_no_duplicates_deterministic(predictor):
    def run(seed):
        s = make_strategy("predictor_local_search", "nb201", np.random.default_rng(seed), predictor=predictor)
        return s, _drive(s, lambda c: float(c.index() % 101), 80)

    s, cells = run(4)
    assert all(isinstance(c, nb201.Cell) and 0 <= c.index() < nb201.NUM_CELLS for c in cells)
    keys = [s.key(c) for c in cells]
    assert len(set(keys)) == len(keys)  # dedup: never the same isomorphism class twice
    assert [c.index() for c in run(4)[1]] == [c.index() for c in cells]
    assert [c.index() for c in run(5)[1]] != [c.index() for c in cells]
    if predictor is not None:
        assert s.fits > 0


def test_neighbours_in_predicted_order_and_first_improvement():
    """After the initial cells, the step proposes the unseen neighbours of the best initial cell,
    best-predicted first, and moves at the first improvement. The predictor is a stand-in whose
    ranking is known (the objective itself)."""
    s = make_strategy("predictor_local_search", "nb201", np.random.default_rng(0), predictor=None, num_init=3)
    f = lambda c: float(c.index())  # noqa: E731
    s._predict = lambda cells: np.array([f(c) for c in cells])
    init = _drive(s, f, 3)
    start = max(init, key=f)
    seen = {s.key(x) for x in init}
    cand = [c for c in s.space.neighbours(start) if s.key(c) not in seen]
    nxt = s.ask()
    assert f(nxt.cell) == max(f(c) for c in cand)
    assert f(nxt.cell) > f(start)  # index order: a neighbour with a larger index exists for these seeds
    s.tell(nxt, Result(f(nxt.cell), 1.0, 12.0))
    after = s.ask()  # first improvement: a neighbour of the new cell, not the next of the old step
    assert s.moves == 1
    assert s.key(after.cell) in {s.key(c) for c in s.space.neighbours(nxt.cell)}


def test_random_order_finds_local_optimum_and_restarts():
    s = make_strategy("predictor_local_search", "nb201", np.random.default_rng(1), predictor=None)
    _drive(s, lambda c: float(c.index() % 7), 300)
    assert s.restarts >= 1 and s.moves >= 1


def test_runs_on_a_table_deterministically(table):
    a = run_search(table, "predictor_local_search", seed=2, budget={"queries": 40})
    b = run_search(table, "predictor_local_search", seed=2, budget={"queries": 40})
    assert len(a) == 40 and a.to_bytes() == b.to_bytes()


def test_bad_predictor():
    with pytest.raises(ValueError, match="unknown predictor 'nope'"):
        make_strategy("predictor_local_search", "nb201", np.random.default_rng(0), predictor="nope")


def test_works_without_torch_and_sklearn(table):
    """The strategies must run without the [train] extra: torch (and scikit-learn) made unimportable."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; sys.modules['sklearn'] = None\n"
            "from nasbench_suite.runner import run_search\n"
            f"t = run_search({table!r}, 'predictor_local_search', 0, {{'queries': 25}})\n"
            "assert len(t) == 25 and 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    subprocess.run([sys.executable, "-c", code], check=True)
