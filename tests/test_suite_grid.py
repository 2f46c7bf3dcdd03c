"""Grids over many benchmarks (issue 15, item 5): several tables and datasets
in one results file, BOHB/Hyperband on single-fidelity tables, the summary
statistics (average ranks, Friedman, Nemenyi CD; Demšar 2006), the
critical-difference diagram and the split report."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_suite.cli import main
from nasbench_suite.report import make_report
from nasbench_suite.report import summary as sm
from nasbench_suite.runner import run_search
from nasbench_suite.runner.grid import GridConfigError, load_config_file, resolve_grid
from nasbench_suite.runner.results import load_results
from nasbench_suite.spaces import nb201
from nasbench_suite.strategies import make_strategy
from nasbench_suite.tables import TableBuilder
from nasbench_suite.tables._schema import write_all


def _table(path, datasets=("cifar10", "cifar100"), fidelities=(12.0, 200.0), seed=0):
    """Every NB201 cell on ``datasets``: valid/test accuracy, train_time at ``fidelities``."""
    rng = np.random.default_rng(seed)
    b = TableBuilder("nb201")
    for ds in datasets:
        b.add_dataset(ds, (0, 1), fidelities)
    rows = b.add_cells(np.arange(nb201.NUM_CELLS))
    shape = (nb201.NUM_CELLS, 2, len(fidelities))
    for i, ds in enumerate(datasets):
        base = 60.0 + 30.0 * rng.random(nb201.NUM_CELLS)[:, None, None] + 2.0 * i
        b.set(ds, "valid_acc", rows, base + rng.normal(0, 0.5, shape))
        b.set(ds, "test_acc", rows, base + 0.3 + rng.normal(0, 0.5, shape))
        b.set(ds, "train_time", rows, np.broadcast_to(np.asarray(fidelities) * 2.0, shape).copy())
    write_all(path, b.table())
    return path


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("suite")
    return (_table(d / "two.h5"), _table(d / "one.h5", datasets=("cifar10",), fidelities=(200.0,), seed=1))


# ---------------------------------------------------------------- grids over many benchmarks

@pytest.mark.slow
def test_compare_many_benchmarks_and_datasets_into_one_file(tables, tmp_path, capsys):
    two, one = tables
    out = tmp_path / "many.h5"
    rc = main(["compare", "--benchmark", f"{two}:all", "--benchmark", str(one),
               "--strategies", "random_search,bohb", "--hp", "bohb.single_rung=true", "--seeds", "2",
               "--budget-queries", "8", "--search-metric", "valid_acc@200", "--report-metric", "test_acc@200",
               "--workers", "1", "-q", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    res = load_results(str(out))
    assert sorted({k[0] for k in res.runs}) == ["one", "two:cifar10", "two:cifar100"]
    assert len(res.runs) == 3 * 2 * 2
    assert all(0 < r.info["cpu_seconds"] < 60 for r in res.runs.values())  # each run's CPU time is stored
    cfg = res.config["benchmarks"]
    assert cfg["two:cifar100"]["dataset"] == "cifar100" and cfg["one"]["dataset"] == "cifar10"
    capsys.readouterr()
    assert main(["report", str(out), "-o", str(tmp_path / "rep"), "--split"]) == 0
    printed = capsys.readouterr().out
    assert "summary over benchmarks" in printed and "average rank" in printed
    assert (tmp_path / "rep" / "two_cifar100" / "table.md").is_file()
    assert (tmp_path / "rep" / "cd_diagram.png").is_file()


def test_dataset_lists(tables):
    two, _ = tables
    base = {"strategies": "random_search", "seeds": 1}
    g = resolve_grid({**base, "benchmarks": [f"{two}:cifar100"]})
    assert [(b.label, b.dataset) for b in g.benchmarks] == [("two:cifar100", "cifar100")]
    g = resolve_grid({**base, "benchmarks": [str(two)], "dataset": "cifar10,cifar100"})
    assert [b.label for b in g.benchmarks] == ["two:cifar10", "two:cifar100"]
    g = resolve_grid({**base, "benchmarks": [str(two)], "dataset": "cifar100"})  # one name: label unchanged
    assert [(b.label, b.dataset) for b in g.benchmarks] == [("two", "cifar100")]
    g = resolve_grid({**base, "benchmarks": [str(two)], "dataset": "all"})
    assert [b.dataset for b in g.benchmarks] == ["cifar10", "cifar100"]
    with pytest.raises(GridConfigError, match="unknown dataset 'svhn'; the table has cifar10, cifar100"):
        resolve_grid({**base, "benchmarks": [f"{two}:cifar10,svhn"]})
    with pytest.raises(GridConfigError, match="datasets repeat"):
        resolve_grid({**base, "benchmarks": [f"{two}:cifar10,cifar10"]})


def test_config_file_gives_datasets_and_metrics_per_benchmark(tables, tmp_path):
    two, one = tables
    cfg = tmp_path / "grid.toml"
    cfg.write_text(f'strategies = ["random_search"]\nseeds = 1\n'
                   f'[[benchmarks]]\npath = "{two}"\ndataset = ["cifar100", "cifar10"]\n'
                   f'search_metric = "valid_acc@12"\nreport_metric = "test_acc@200"\n'
                   f'[[benchmarks]]\npath = "{one}"\nlabel = "single"\n')
    g = resolve_grid(load_config_file(cfg))
    assert [(b.label, b.dataset, b.search_metric) for b in g.benchmarks] == [
        ("two:cifar100", "cifar100", "valid_acc@12"), ("two:cifar10", "cifar10", "valid_acc@12"),
        ("single", "cifar10", "valid_acc@200")]


def test_bad_dataset_in_compare_is_one_line(tables, tmp_path, capsys):
    two, _ = tables
    rc = main(["compare", "--benchmark", f"{two}:nope", "--strategies", "random_search", "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown dataset 'nope'" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- single-fidelity tables

@pytest.mark.parametrize("name", ["hyperband", "bohb", "successive_halving"])
def test_multifidelity_strategies_need_single_rung_on_one_fidelity(tables, name):
    _, one = tables
    with pytest.raises(ValueError, match="at least two fidelities"):
        run_search(one, name, 0, {"queries": 5}, "valid_acc@200", "test_acc@200")
    t = run_search(one, name, 0, {"queries": 12}, "valid_acc@200", "test_acc@200",
                   strategy_kwargs={"single_rung": True})
    assert len(t) == 12 and set(t.fidelity) == {200.0}
    assert np.isfinite(t.incumbent_report[-1])


def test_single_rung_when_budgets_are_too_close_and_not_otherwise(tables):
    two, _ = tables
    s = make_strategy("bohb", "nb201", np.random.default_rng(0), single_rung=True)
    s.bind(np.array([12.0, 200.0]), 12.0)  # search at the lowest fidelity: nothing to halve
    assert s.rungs == [12.0]
    s = make_strategy("bohb", "nb201", np.random.default_rng(0), single_rung=True)
    s.bind(np.array([12.0, 200.0]), 200.0)  # two rungs there are: single_rung changes nothing
    assert s.rungs == [12.0, 200.0]
    with pytest.raises(ValueError, match="single_rung must be true or false"):
        make_strategy("hyperband", "nb201", np.random.default_rng(0), single_rung="yes")


# ---------------------------------------------------------------- statistics

def test_demsar_worked_example():
    """Demšar (2006), section 3.2.4: four classifiers on 14 data sets, average
    ranks 3.143, 2.000, 2.893, 1.964 give chi2_F = 9.28 and F_F = 3.69 (F(3, 39));
    the Nemenyi CD is 2.569 sqrt(4*5/(6*14)) = 1.25 at alpha 0.05, and with
    q_0.10 = 2.291, 1.12."""
    fr = sm.friedman_from_ranks([3.143, 2.000, 2.893, 1.964], 14)
    assert fr["chi2_F"] == pytest.approx(9.28, abs=0.005)
    assert fr["F_F"] == pytest.approx(3.69, abs=0.005)
    assert fr["df_F"] == [3, 39]
    assert sm.critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)
    assert sm.critical_difference(4, 14, alpha=0.10) == pytest.approx(1.12, abs=0.005)
    assert ss.f.ppf(0.95, 3, 39) == pytest.approx(2.85, abs=0.005)  # the paper's critical value
    assert fr["p_F"] < 0.05


def test_nemenyi_table_is_the_studentized_range():
    for k in range(2, 11):
        for alpha in (0.05, 0.10):
            ref = ss.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
            assert sm.nemenyi_q(k, alpha) == pytest.approx(ref, abs=1.5e-3)
    assert sm.nemenyi_q(12) == pytest.approx(ss.studentized_range.ppf(0.95, 12, np.inf) / math.sqrt(2))


def test_ranks_share_ties_and_nan_is_last():
    r = sm.rank_blocks([[0.5, 0.1, 0.1, 0.9], [np.nan, 1.0, 2.0, 3.0]])
    assert r.tolist() == [[3.0, 1.5, 1.5, 4.0], [4.0, 1.0, 2.0, 3.0]]


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 6), st.integers(2, 12), st.integers(0, 2 ** 32 - 1), st.booleans())
def test_friedman_agrees_with_scipy(k, n, seed, ties):  # scipy takes k >= 3
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, k)).astype(float) if ties else rng.random((n, k))
    if all(np.unique(row).size == 1 for row in x):
        x[0, 0] += 1.0  # scipy divides by zero when every block is one tie
    fr = sm.friedman(x)
    ref = ss.friedmanchisquare(*x.T)
    assert fr["chi2_F"] == pytest.approx(ref.statistic, rel=1e-9, abs=1e-9)
    assert fr["p_chi2"] == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-12)
    assert fr["average_ranks"] == pytest.approx(list(ss.rankdata(x, axis=1).mean(axis=0)))


def test_cd_diagram_files(tmp_path):
    paths = sm.cd_diagram({"a": 1.2, "b": 2.0, "c": 2.9, "d": 3.9}, 1.25, str(tmp_path / "cd"))
    assert [p.rsplit(".", 1)[1] for p in paths] == ["pdf", "png"]
    assert (tmp_path / "cd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "cd.pdf").read_bytes()[:5] == b"%PDF-"
    again = sm.cd_diagram({"a": 1.2, "b": 2.0, "c": 2.9, "d": 3.9}, 1.25, str(tmp_path / "cd2"))
    assert (tmp_path / "cd.png").read_bytes() == open(again[1], "rb").read()  # no date in the files


# ---------------------------------------------------------------- report over many benchmarks

@pytest.mark.slow
def test_split_report_and_summary(tables, tmp_path):
    two, one = tables
    out = tmp_path / "r.h5"
    from nasbench_suite.runner.grid import run_grid

    grid = resolve_grid({"benchmarks": [f"{two}:all", str(one)],
                         "strategies": ["random_search", "local_search", "reinforce"],
                         "seeds": 3, "budget": {"queries": 40}, "search_metric": "valid_acc@200",
                         "report_metric": "test_acc@200"})
    run_grid(grid, str(out), workers=1, progress=False)
    rep = make_report(str(out), str(tmp_path / "rep"), split=True, dpi=20, time_points=20)
    for sub in ("two_cifar10", "two_cifar100", "one"):
        for name in ("table.md", "report.md", "curve_queries.png", "numbers.json"):
            assert (tmp_path / "rep" / sub / name).is_file(), (sub, name)
    for name in ("summary.md", "summary.json", "cd_diagram.pdf", "cd_diagram.png"):
        assert (tmp_path / "rep" / name).is_file()
    # the ranks by hand: mean final regret per benchmark over seeds, ranked with scipy
    res = load_results(str(out))
    strategies = ["random_search", "local_search", "reinforce"]
    blocks = ["one", "two:cifar10", "two:cifar100"]
    scores = np.zeros((3, 3))
    for i, b in enumerate(blocks):
        opt = res.config["benchmarks"][b]["report_optimum"]
        for j, s in enumerate(strategies):
            scores[i, j] = np.mean([opt - res.runs[(b, s, seed)].trajectory.incumbent_report[-1]
                                    for seed in range(3)])
    summ = rep["numbers"]["summary"]
    assert np.unique(scores.round(9)).size > 3  # the strategies differ: the test can fail
    want = ss.rankdata(scores, axis=1).mean(axis=0)
    assert [summ["average_ranks"][s] for s in strategies] == pytest.approx(list(want))
    assert summ["friedman"]["chi2_F"] == pytest.approx(ss.friedmanchisquare(*scores.T).statistic)
    assert summ["critical_difference"] == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 3)))
    md = (tmp_path / "rep" / "summary.md").read_text()
    assert "Friedman" in md and "](two_cifar100/report.md)" in md and "cd_diagram.png" in md
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["strategies"] == strategies
    # without --split: one directory, files suffixed by benchmark, and the summary beside
    rep2 = make_report(str(out), str(tmp_path / "flat"), dpi=20, time_points=20)
    assert (tmp_path / "flat" / "curve_queries-one.png").is_file()
    assert (tmp_path / "flat" / "summary.md").is_file()
    assert rep2["numbers"]["summary"] == summ


def test_one_benchmark_has_no_summary(tables, tmp_path):
    _, one = tables
    out = tmp_path / "one.h5"
    from nasbench_suite.runner.grid import run_grid

    grid = resolve_grid({"benchmarks": [str(one)], "strategies": ["random_search", "local_search"], "seeds": 2,
                         "budget": {"queries": 5}})
    run_grid(grid, str(out), workers=1, progress=False)
    rep = make_report(str(out), str(tmp_path / "rep"), split=True)
    assert "summary" not in rep["numbers"] and not (tmp_path / "rep" / "summary.md").exists()
    assert (tmp_path / "rep" / "table.md").is_file()


# ---------------------------------------------------------------- the suite script

def _suite_script():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "suite_report.py"
    spec = importlib.util.spec_from_file_location("suite_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_suite_picks_up_every_recipe_with_source_dir_and_protocol(tables, monkeypatch):
    from nasbench_suite.tables import importers

    suite = _suite_script()
    two, _ = tables
    recipe = {"space": "nb201", "sources": [], "source_dir": "elsewhere",
              "protocol": {"search_metric": "valid_acc@200", "report_metric": "test_acc@200",
                           "by_dataset": {"cifar100": {"search_metric": "valid_acc@12"}}}}
    monkeypatch.setitem(importers.RECIPES, "a-later-recipe", recipe)
    monkeypatch.setitem(importers.RECIPES, "no-protocol", {"space": "nb201", "sources": [], "source_dir": "x"})
    found = suite.suite_recipes()
    assert "a-later-recipe" in found and "no-protocol" not in found
    assert all("source_dir" in r and "protocol" in r for r in found.values())
    entries = [e for e in suite.benchmark_entries([("a-later-recipe", two, recipe)])
               if e["label"].startswith("a-later-recipe")]
    assert [(e["label"], e["dataset"], e["search_metric"], e["report_metric"]) for e in entries] == [
        ("a-later-recipe:cifar10", "cifar10", "valid_acc@200", "test_acc@200"),
        ("a-later-recipe:cifar100", "cifar100", "valid_acc@12", "test_acc@200")]


def test_suite_perf_block_is_replaced_and_kept(tmp_path):
    suite = _suite_script()
    perf = tmp_path / "perf.md"
    perf.write_text("# perf\n\ntext\n")
    suite.write_perf_block(perf, "first")
    suite.write_perf_block(perf, "second")
    text = perf.read_text()
    assert text.count("suite-grid:start") == 1 and "second" in text and "first" not in text
    assert text.startswith("# perf\n\ntext\n")
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "perf_report.py"
    spec = importlib.util.spec_from_file_location("perf_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert suite.BLOCK in mod.KEPT_BLOCKS


@pytest.mark.realdata
def test_suite_recipes_protocols_resolve_on_the_real_tables(tmp_path):
    """Every suite recipe imports from its source_dir, and its protocol's metrics exist
    on every dataset of the table (what the suite grid checks before running)."""
    from nasbench_suite.tables.importers import import_table

    data_dir = Path(os.environ.get("NASBENCH_SUITE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

    suite = _suite_script()
    tables = []
    for name, recipe in suite.suite_recipes().items():
        source = data_dir / recipe["source_dir"]
        if not source.is_dir():
            pytest.skip(f"{source} not found (set NASBENCH_SUITE_DATA)")
        tables.append((name, import_table(recipe=name, source=str(source), out=str(tmp_path / f"{name}.h5")),
                       recipe))
    entries = suite.benchmark_entries(tables)
    grid = resolve_grid({"benchmarks": entries, "strategies": suite.STRATEGIES, "seeds": 1})
    labels = [b.label for b in grid.benchmarks]
    for name, _, _ in tables:
        assert any(label.startswith(f"{name}:") for label in labels)
