"""pandas DataFrames of tables and results (issue 20, item 3):
``Benchmark.to_frame`` round trips against ``query``, ``load_results(path).to_frame()``
matches the stored trajectories, the README's pandas example runs, and
without pandas both say how to install it."""
from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.runner.grid import resolve_grid, run_grid
from nasbench_suite.runner.results import Results, load_results
from nasbench_suite.spaces import nb201
from nasbench_suite.tables import Benchmark
from nasbench_suite.tables.errors import UnknownName

# pandas comes with the [test] extra; the message without it is tested either way
needs_pandas = pytest.mark.skipif(importlib.util.find_spec("pandas") is None,
                                  reason="pandas not installed (pip install 'nasbench-suite[analysis]')")

REPO = Path(__file__).resolve().parents[1]
EMBEDDED = REPO / "tabular_data" / "nb201-digits.h5"
README = REPO / "README.md"

# (metrics, fidelity, seed) as to_frame and query take them; a Generator seed is
# made afresh for each side from this number
OPTIONS = [
    (None, None, "mean"),
    (["valid_acc", "params"], 12, 0),
    ("test_acc", 4, 1),
    (["train_time", "valid_acc"], 36, "rng:5"),
]
EMBEDDED_OPTIONS = [
    (None, None, "mean"),
    (["valid_acc", "test_loss", "flops"], 3, 1),
    (["test_acc"], 7, "rng:2"),
]


def _seed(seed):
    return np.random.default_rng(int(seed[4:])) if isinstance(seed, str) and seed.startswith("rng:") else seed


def _check_round_trip(path, metrics, fidelity, seed):
    with Benchmark.open(path) as bench:
        frame = bench.to_frame(metrics, fidelity=fidelity, seed=_seed(seed))
        names = list(bench.metrics()) if metrics is None else ([metrics] if isinstance(metrics, str) else metrics)
        assert list(frame.columns) == ["label", "canonical", *names]
        assert len(frame) == len(bench) and frame.index.name == "row"
        assert (frame.index == np.arange(len(bench))).all()
    labels = frame["label"].tolist()
    with Benchmark.open(path) as fresh:  # nothing cached: query reads as a user's first query does
        rng = _seed(seed)  # one Generator for every column, drawn in column order as to_frame does
        for name in names:
            expected = fresh.query(labels, name, fidelity=fidelity, seed=rng)
            assert frame[name].dtype == np.float64
            np.testing.assert_array_equal(frame[name].to_numpy(), expected, err_msg=name)
    if not (isinstance(seed, str) and seed.startswith("rng:")):
        with Benchmark.open(path) as fresh:  # one cell at a time: the small-read path of query
            for row in (0, 17, len(frame) - 1):
                for name in names:
                    value = fresh.query(labels[row], name, fidelity=fidelity, seed=seed)
                    assert value == frame[name].iloc[row] or (np.isnan(value) and np.isnan(frame[name].iloc[row]))


@pytest.mark.parametrize("metrics,fidelity,seed", OPTIONS)
@needs_pandas
def test_to_frame_equals_query_on_the_synthetic_table(nb201_synthetic, metrics, fidelity, seed):
    _check_round_trip(nb201_synthetic, metrics, fidelity, seed)


@pytest.mark.parametrize("metrics,fidelity,seed", EMBEDDED_OPTIONS)
@needs_pandas
def test_to_frame_equals_query_on_the_embedded_table(metrics, fidelity, seed):
    _check_round_trip(EMBEDDED, metrics, fidelity, seed)  # lookup="class": one row per class


@pytest.mark.parametrize("path", ["synthetic", "embedded"])
@needs_pandas
def test_label_and_canonical_columns(nb201_synthetic, path):
    path = nb201_synthetic if path == "synthetic" else EMBEDDED
    with Benchmark.open(path) as bench:
        frame = bench.to_frame("valid_acc")
        assert frame["canonical"].dtype == np.uint64
        np.testing.assert_array_equal(frame["canonical"].to_numpy(), bench.canonical_keys())
        assert frame["label"].tolist() == bench.labels()
        for row in np.random.default_rng(0).choice(len(bench), 25, replace=False):
            cell = bench.cell(int(row))
            assert frame["label"].iloc[row] == cell.to_string()
            key = nb201.SPACE.table_describe([cell])["canonical"][0]
            assert frame["canonical"].iloc[row] == key
        if bench.lookup == "class":
            assert frame["canonical"].is_unique


@needs_pandas
def test_to_frame_dataset_and_errors(nb201_synthetic):
    with Benchmark.open(nb201_synthetic) as bench:
        frame = bench.to_frame(["valid_acc"], dataset="cifar10", fidelity=200)
        np.testing.assert_array_equal(frame["valid_acc"].to_numpy(), bench.row_values("valid_acc", 200, "cifar10"))
        with pytest.raises(UnknownName, match="no metric 'nope'"):
            bench.to_frame(["valid_acc", "nope"])
        with pytest.raises(UnknownName, match="no fidelity 5"):
            bench.to_frame("valid_acc", fidelity=5)
        with pytest.raises(UnknownName, match="unknown dataset 'imagenet'"):
            bench.to_frame(dataset="imagenet")
        with pytest.raises(UnknownName, match="repeat index 7"):
            bench.to_frame("valid_acc", seed=7)


# ------------------------------------------------------------------ results

@pytest.fixture(scope="module")
def results_h5(tmp_path_factory):
    """A tiny grid on the embedded table: 2 strategies x 2 seeds x 20 queries."""
    out = tmp_path_factory.mktemp("frames") / "results.h5"
    grid = resolve_grid({"benchmarks": [str(EMBEDDED)], "strategies": ["random_search", "regularized_evolution"],
                         "seeds": 2, "budget": {"queries": 20}})
    run_grid(grid, out, workers=1, progress=False)
    return out


@needs_pandas
def test_results_frame_matches_the_trajectories(results_h5):
    results = load_results(results_h5)
    frame = results.to_frame()
    assert list(frame.columns) == ["strategy", "seed", "benchmark", "dataset", "step", "time", "cell", "fidelity",
                                   "value", "cost", "incumbent", "incumbent_value", "incumbent_report"]
    assert len(results) == 4
    assert len(frame) == sum(len(r.trajectory) for r in results.runs.values()) == 4 * 20
    groups = frame.groupby(["benchmark", "strategy", "seed"], sort=False)
    assert list(groups.groups) == sorted(results.runs)  # runs in key order
    for key, run in results.runs.items():
        sub = groups.get_group(key)
        traj = run.trajectory
        assert (sub["step"].to_numpy() == np.arange(1, len(traj) + 1)).all()
        assert set(sub["dataset"]) == {"digits"} == {traj.meta["dataset"]}
        assert sub["seed"].dtype == np.int64 and sub["step"].dtype == np.int64
        for c in ("time", "fidelity", "value", "cost", "incumbent_value", "incumbent_report"):
            np.testing.assert_array_equal(sub[c].to_numpy(), getattr(traj, c), err_msg=c)
        for c in ("cell", "incumbent"):
            assert sub[c].tolist() == list(getattr(traj, c))
        assert sub["incumbent_report"].iloc[-1] == traj.final_report


@needs_pandas
def test_empty_results_frame(tmp_path):
    frame = Results(str(tmp_path / "r.h5"), {}, [], {}).to_frame()
    assert len(frame) == 0 and list(frame.columns) == list(Results.FRAME_COLUMNS)


# ------------------------------------------------------------------ README

def _readme_pandas_example() -> str:
    section = README.read_text(encoding="utf-8").split("\n## Analysis with pandas\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "one Python example in the pandas section"
    return blocks[0]


@needs_pandas
def test_readme_pandas_example_runs(results_h5, tmp_path, monkeypatch):
    code = _readme_pandas_example()
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) == 6, "two examples of three lines each"
    # as from the repository root after the main command: the embedded table and results.h5
    (tmp_path / "tabular_data").mkdir()
    (tmp_path / "tabular_data" / EMBEDDED.name).symlink_to(EMBEDDED)
    shutil.copy(results_h5, tmp_path / "results.h5")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)

    top10 = namespace["top10"]
    with Benchmark.open(EMBEDDED) as bench:
        valid = bench.row_values("valid_acc")
        assert len(top10) == 10
        assert top10["valid_acc"].tolist() == sorted(valid[~np.isnan(valid)], reverse=True)[:10]
        assert [bench.query(label, "valid_acc") for label in top10["label"]] == top10["valid_acc"].tolist()

    curve = namespace["curve"]
    runs = [r for r in load_results(results_h5).runs.values() if r.strategy == "regularized_evolution"]
    expected = np.mean([r.trajectory.incumbent_report for r in runs], axis=0)
    assert curve.index.tolist() == list(range(1, 21))
    np.testing.assert_allclose(curve.to_numpy(), expected, rtol=1e-12)


# ------------------------------------------------------------------ without pandas

def test_a_clear_message_without_pandas(nb201_synthetic, results_h5, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    with Benchmark.open(nb201_synthetic) as bench:
        with pytest.raises(ImportError, match=r"Benchmark\.to_frame needs pandas.*pip install "
                                              r"'nasbench-suite\[analysis\]'"):
            bench.to_frame("valid_acc")
    with pytest.raises(ImportError, match=r"Results\.to_frame needs pandas.*pip install 'nasbench-suite\[analysis\]'"):
        load_results(results_h5).to_frame()
