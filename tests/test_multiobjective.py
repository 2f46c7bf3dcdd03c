"""Multi-objective search: run_mo_search records every objective per query,
deterministically; MO-RE selects by NSGA-II's crowded comparison; on a table
with an accuracy/latency trade-off it reaches more hypervolume than random
search at a fixed budget."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import pareto
from nasbench_suite.runner import run_search
from nasbench_suite.runner.multiobjective import objective_matrix, parse_objectives, run_mo_search
from nasbench_suite.strategies import Strategy, make_strategy
from nasbench_suite.strategies.multiobjective import MOResult, MORegularizedEvolution
from nasbench_suite.tables import Benchmark

from synthetic_tables import TRADEOFF_OP_LATENCY, make_nb201_tradeoff_table

OBJ = ["valid_acc@200", "latency_synth"]


@pytest.fixture(scope="module")
def tradeoff(tmp_path_factory):
    path = make_nb201_tradeoff_table(tmp_path_factory.mktemp("mo") / "tradeoff.h5")
    with Benchmark.open(path) as b:
        yield b


def test_same_seed_same_bytes_and_seeds_differ(tradeoff):
    for name in ("mo_regularized_evolution", "random_search", "regularized_evolution"):
        a = run_mo_search(tradeoff, name, 3, {"queries": 40}, objectives=OBJ)
        b = run_mo_search(tradeoff, name, 3, {"queries": 40}, objectives=OBJ)
        c = run_mo_search(tradeoff, name, 4, {"queries": 40}, objectives=OBJ)
        assert a.to_bytes() == b.to_bytes()
        assert a.cell != c.cell


def test_every_objective_is_recorded_per_query(tradeoff):
    t = run_mo_search(tradeoff, "mo_regularized_evolution", 0, {"queries": 30}, objectives=OBJ)
    assert len(t) == 30
    assert t.meta["objectives"] == [{"metric": "valid_acc@200", "higher_is_better": True},
                                    {"metric": "latency_synth", "higher_is_better": False}]
    means, seen = objective_matrix(t), objective_matrix(t, "observed")
    assert means.shape == seen.shape == (30, 2)
    acc_repeats = tradeoff.query(t.cell, "valid_acc", 200, seed=0), tradeoff.query(t.cell, "valid_acc", 200, seed=1)
    assert np.array_equal(means[:, 0], (acc_repeats[0] + acc_repeats[1]) / 2)
    assert np.all((seen[:, 0] == acc_repeats[0]) | (seen[:, 0] == acc_repeats[1]))  # one repeat drawn
    # latency: a static metric, 1 ms + the op costs summed over the edges (synthetic_tables)
    from nasbench_suite.spaces import nb201

    lat = [1.0 + sum(TRADEOFF_OP_LATENCY[nb201.OPS.index(op)] for op in nb201.Cell.from_string(c).ops)
           for c in t.cell]
    assert means[:, 1] == pytest.approx(lat) and seen[:, 1] == pytest.approx(lat)
    assert np.array_equal(t.value, seen[:, 0])  # the columns follow the first objective
    assert t.meta["cost_model"].startswith("simulated")
    # survives the results file's JSON
    back = type(t).from_bytes(t.to_bytes())
    assert np.array_equal(objective_matrix(back), means)
    with pytest.raises(ValueError, match="not a multi-objective run"):
        objective_matrix(run_search(tradeoff, "random_search", 0, {"queries": 3}, "valid_acc@200", "test_acc@200"))


class _Spy(Strategy):
    name = "spy"

    def _propose(self):
        return self.space.sample(self.stream)


def test_single_objective_strategies_are_told_the_first_objective_larger_is_better(tradeoff):
    spy = _Spy("nb201", np.random.default_rng(0))
    t = run_mo_search(tradeoff, spy, 0, {"queries": 10}, objectives=["latency_synth", "valid_acc@200"])
    told = [r for _, r in spy.history]
    assert all(isinstance(r, MOResult) for r in told)
    assert [r.value for r in told] == [-r.objectives[0] for r in told]  # latency is minimised
    # the incumbent is the lowest latency so far, in its own units
    assert np.array_equal(t.incumbent_value, np.minimum.accumulate(t.value))


def test_mo_re_is_told_every_objective_and_keeps_an_aging_population(tradeoff):
    s = make_strategy("mo_regularized_evolution", "nb201", np.random.default_rng(0), population_size=8,
                      sample_size=3)
    run_mo_search(tradeoff, s, 0, {"queries": 30}, objectives=OBJ)
    assert s.maximize == (True, False)
    assert len(s.population) == 8
    assert [o for _, o in s.population] == [r.objectives for _, r in s.history[-8:]]


def test_the_tournament_is_decided_by_front_then_crowding():
    s = MORegularizedEvolution("nb201", np.random.default_rng(0), population_size=5, sample_size=5)
    s.bind_objectives([True, False])
    # (accuracy, latency): front 0 = a, b, c (c between a and b: finite crowding), d dominated by b
    objs = {"a": (90.0, 10.0), "b": (80.0, 2.0), "c": (85.0, 6.0), "d": (70.0, 3.0), "e": (50.0, 20.0)}
    cells = {}
    for name, o in objs.items():
        p = s.ask()
        cells[name] = p.cell
        s.tell(p, MOResult(o[0], 1.0, 200.0, o))
    parents = []
    s.space = type(s.space)()  # an instance of our own to patch
    s.space.mutate = lambda cell, stream: parents.append(cell) or cell
    s.dedup = False
    s.ask()
    # all 5 drawn: the extreme points of front 0 (infinite crowding) beat c; a is the older
    assert parents == [cells["a"]]
    s.sample_size = 2
    for _ in range(30):
        s.ask()
    ranks = {name: r for name, r in zip(objs, pareto.non_dominated_sort(np.array(list(objs.values())),
                                                                        [True, False]))}
    by_cell = {c: n for n, c in cells.items()}
    # a parent from a tournament of two is never worse-ranked than some member: e (front 2) never wins
    assert "e" not in {by_cell[p] for p in parents} and ranks["e"] == 2


def test_mo_re_reaches_more_hypervolume_than_random_search(tradeoff):
    """20 seeds, 60 queries: MO-RE's mean hypervolume exceeds RS's (measured on
    three table seeds: 92.9 vs 90.2, 92.9 vs 91.0, 93.6 vs 89.8 % of the true
    front, s.e. < 0.8) and single-objective RE's."""
    front = pareto.table_front(tradeoff, OBJ)
    ref, mx = front["nadir"], front["maximize"]
    true = pareto.hypervolume(front["points"], ref, mx)

    def mean_hv(name):
        return np.mean([pareto.hypervolume(objective_matrix(run_mo_search(tradeoff, name, seed, {"queries": 60},
                                                                          objectives=OBJ)), ref, mx) / true
                        for seed in range(20)])

    mo, rs, re = mean_hv("mo_regularized_evolution"), mean_hv("random_search"), mean_hv("regularized_evolution")
    assert mo > rs + 0.01 and mo > re + 0.01
    assert mo <= 1.0 + 1e-12  # nothing beats the true front


def test_mo_re_runs_single_objective_too(tradeoff):
    t = run_search(tradeoff, "mo_regularized_evolution", 0, {"queries": 25}, "valid_acc@200", "test_acc@200")
    assert len(t) == 25


def test_bad_objectives_are_refused_with_the_fix(tradeoff):
    with pytest.raises(ValueError, match="at least two objectives"):
        parse_objectives(["valid_acc@200"], tradeoff, "cifar10")
    with pytest.raises(ValueError, match="static metric.*'latency_synth'"):
        parse_objectives("valid_acc@200,latency_synth@200", tradeoff, "cifar10")
    with pytest.raises(ValueError, match="has no metric 'latency_pixel3'"):
        parse_objectives("valid_acc@200,latency_pixel3", tradeoff, "cifar10")
    with pytest.raises(ValueError, match="repeat"):
        parse_objectives("valid_acc@200,valid_acc@200", tradeoff, "cifar10")
    with pytest.raises(ValueError, match="multi-fidelity"):
        run_mo_search(tradeoff, "hyperband", 0, {"queries": 5}, objectives=OBJ)
    s = make_strategy("mo_regularized_evolution", "nb201", np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least two objectives"):
        s.bind_objectives([True])


# ------------------------------------------------------------------ grid, command line and report

def test_compare_with_objectives_stores_mo_runs_and_the_report_draws_them(tradeoff, tmp_path, capsys):
    import json

    from nasbench_suite.cli import main
    from nasbench_suite.report.make import make_report
    from nasbench_suite.runner import load_results

    out = tmp_path / "mo.h5"
    args = ["compare", "--benchmark", tradeoff.path, "--objectives", "valid_acc@200,latency_synth",
            "--strategies", "mo_regularized_evolution,random_search", "--seeds", "3", "--budget-queries", "20",
            "--workers", "1", "-q", "-o", str(out)]
    assert main(args) == 0
    res = load_results(str(out))
    assert res.config["experiment"]["objectives"] == ["valid_acc@200", "latency_synth"]
    bench = res.config["benchmarks"]["tradeoff"]
    assert bench["search_metric"] == "valid_acc@200"  # the first objective, when no search metric is given
    truth = pareto.table_front(tradeoff, OBJ)
    assert bench["pareto_front"]["points"] == truth["points"].tolist()
    # a grid run is the run of run_mo_search with the same arguments, byte for byte
    direct = run_mo_search(tradeoff, "mo_regularized_evolution", 2, {"queries": 20}, objectives=OBJ,
                           report_metric="test_acc@200")
    assert res.runs[("tradeoff", "mo_regularized_evolution", 2)].trajectory.meta["objective_means"] == \
        direct.meta["objective_means"]

    rep = tmp_path / "report"
    files = make_report(str(out), str(rep))["files"]
    assert {"mo_fronts.png", "mo_hv_queries.pdf", "mo_numbers.json"} <= {p.rsplit("/", 1)[-1] for p in files}
    nums = json.loads((rep / "mo_numbers.json").read_text())[0]
    ref, true_hv = truth["nadir"], pareto.hypervolume(truth["points"], truth["nadir"], [True, False])
    finals = [pareto.hypervolume(objective_matrix(res.runs[("tradeoff", "random_search", s)].trajectory), ref,
                                 [True, False]) / true_hv * 100 for s in range(3)]
    assert nums["strategies"]["random_search"]["hv_percent_final"] == pytest.approx(finals)
    assert nums["reference_point"] == ref.tolist()
    md = (rep / "report.md").read_text()
    assert "## Multi-objective search" in md and "reference point" in md.lower()
    assert f"latency_synth = {ref[1]:.6g}" in md and "median seed" in md
    # the same grid again resumes; a different objective list is another experiment
    assert main(args) == 0
    assert main([*args[:4], "valid_acc@200,test_acc@200", *args[5:]]) == 2
    assert "objectives" in capsys.readouterr().err


# ------------------------------------------------------------------ the committed report, on the real files

@pytest.mark.realdata
@pytest.mark.parametrize("study", ["nb201_pixel3", "macro_params"])
def test_the_committed_report_reproduces_on_the_real_tables(study, tmp_path):
    """Seeds 0-2 of each strategy, rerun with run_mo_search on tables imported
    from ../shared/data, give the committed final hypervolumes, reference point
    and true front (reports/multiobjective/<study>/mo_numbers.json)."""
    import importlib.util
    import json
    import os
    import pathlib

    repo = pathlib.Path(__file__).resolve().parents[1]
    data = pathlib.Path(os.environ.get("NASBENCH_SUITE_DATA", repo.parent / "shared" / "data"))
    spec = importlib.util.spec_from_file_location("mo_report", repo / "scripts" / "mo_report.py")
    mo_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mo_report)

    recipe, source, dataset, objectives, report_metric, _ = mo_report.STUDIES[study]
    if not (data / source).is_dir():
        pytest.skip(f"public data not found at {data / source} (set NASBENCH_SUITE_DATA)")
    from nasbench_suite.tables.importers import import_table

    path = import_table(recipe=recipe, source=str(data / source), out=str(tmp_path / "t.h5"))
    committed = json.loads((repo / "reports" / "multiobjective" / study / "mo_numbers.json").read_text())[0]
    with Benchmark.open(path) as bench:
        front = pareto.table_front(bench, objectives, dataset)
        assert front["points"].tolist() == committed["true_front"]
        assert front["nadir"].tolist() == committed["reference_point"]
        true_hv = pareto.hypervolume(front["points"], front["nadir"], front["maximize"])
        for name, numbers in committed["strategies"].items():
            for i, seed in enumerate(numbers["seeds"][:3]):
                t = run_mo_search(bench, name, seed, {"queries": committed["queries"]}, objectives=objectives,
                                  report_metric=report_metric, dataset=dataset)
                hv = pareto.hypervolume(objective_matrix(t), front["nadir"], front["maximize"]) / true_hv * 100
                assert hv == pytest.approx(numbers["hv_percent_final"][i], rel=1e-12), (name, seed)
