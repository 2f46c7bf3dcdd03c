"""``nasbench-suite report``: figures, tables and their numbers, recomputed
here from the trajectories stored in the results file (read with h5py)."""
from __future__ import annotations

import json
import math
import re

import h5py
import numpy as np
import pytest
from scipy.stats import wilcoxon

from nasbench_suite.cli import main
from nasbench_suite.report import aggregate as agg
from nasbench_suite.report.style import PALETTE, strategy_styles
from nasbench_suite.runner import Trajectory
from nasbench_suite.runner.grid import resolve_grid, run_grid

STRATEGIES = ("random_search", "regularized_evolution")
FIGURES = ("curve_queries", "curve_time", "final", "rank_queries", "rank_time")


@pytest.fixture(scope="module")
def results(nb201_synthetic, tmp_path_factory):
    grid = resolve_grid({"benchmarks": [str(nb201_synthetic)], "strategies": list(STRATEGIES), "seeds": 2,
                         "budget": {"queries": 30}, "search_metric": "valid_acc@12",
                         "report_metric": "test_acc@200"})
    path = tmp_path_factory.mktemp("report") / "results.h5"
    run_grid(grid, path, workers=2, progress=False)
    return path


@pytest.fixture(scope="module")
def report_dir(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "report"
    assert main(["report", str(results), "-o", str(out), "--budgets", "10,20,30"]) == 0
    return out


def stored_incumbents(path) -> dict:
    """strategy -> seed -> incumbent_report column, straight from the HDF5 file."""
    out: dict = {}
    with h5py.File(path, "r") as h5:
        for b, gb in h5["runs"].items():
            for s, g in gb.items():
                offset, column = g["offset"][()], g["incumbent_report"][()]
                for i, seed in enumerate(g["seed"][()]):
                    out.setdefault(s, {})[int(seed)] = column[offset[i]:offset[i + 1]]
    return out


def recompute(path, queries: int) -> dict:
    """mean, s.e., n, Wilcoxon p against the best, at a query budget."""
    inc = stored_incumbents(path)
    vals = {s: np.array([inc[s][seed][queries - 1] for seed in sorted(inc[s])]) for s in inc}
    means = {s: v.mean() for s, v in vals.items()}
    best = max(means, key=means.get)
    out = {}
    for s, v in vals.items():
        p = None if s == best else (1.0 if np.all(v == vals[best]) else wilcoxon(vals[best], v).pvalue)
        out[s] = (v.mean(), v.std(ddof=1) / math.sqrt(v.size), v.size, p, s == best)
    return out


def is_png(path) -> bool:
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and data[-12:-4] == b"\x00\x00\x00\x00IEND"


def is_pdf(path) -> bool:
    data = path.read_bytes()
    return data[:5] == b"%PDF-" and b"%%EOF" in data[-32:] and b"/Type /Page" in data


def test_the_results_file_holds_four_runs(results):
    with h5py.File(results, "r") as h5:
        runs = [(s, int(seed)) for gb in h5["runs"].values() for s, g in gb.items() for seed in g["seed"][()]]
    assert sorted(runs) == [(s, seed) for s in STRATEGIES for seed in (0, 1)]


def test_report_files_exist_and_are_valid(report_dir):
    import matplotlib.image

    for name in FIGURES:
        png, pdf = report_dir / f"{name}.png", report_dir / f"{name}.pdf"
        assert is_png(png), png
        assert is_pdf(pdf), pdf
        h, w = matplotlib.image.imread(png).shape[:2]
        assert 0.6 * 3.3 * 200 < w < 1.3 * 3.3 * 200 and h > 100  # one column at 200 dpi
    for name in ("table.md", "table.tex", "numbers.json", "report.md"):
        assert (report_dir / name).stat().st_size > 0
    overview = (report_dir / "report.md").read_text()
    assert all(f"({name}.png)" in overview for name in FIGURES)
    assert "sha256" in overview


def parse_markdown(text: str) -> dict:
    """strategy -> [(mean text, se text, p text, bold)] per budget column, and n."""
    rows = {}
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| strategy"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        cols = []
        for value, p in zip(cells[2::2], cells[3::2]):
            bold = value.startswith("**")
            mean, se = value.strip("*").split(" ± ")
            cols.append((mean, se, p, bold))
        rows[cells[0]] = (int(cells[1]), cols)
    return rows


def test_markdown_numbers_equal_numbers_recomputed_from_trajectories(results, report_dir):
    rows = parse_markdown((report_dir / "table.md").read_text())
    assert set(rows) == set(STRATEGIES)
    for j, q in enumerate((10, 20, 30)):
        expect = recompute(results, q)
        for s, (mean, se, n, p, best) in expect.items():
            got_n, cols = rows[s]
            got_mean, got_se, got_p, got_bold = cols[j]
            assert got_n == n == 2
            assert got_mean == f"{mean:.2f}" and got_se == f"{se:.2f}"
            assert got_bold == best
            assert got_p == ("-" if p is None else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"))


def test_json_format_prints_the_numbers(results, capsys):
    assert main(["report", str(results), "--format", "json", "--budgets", "30,final"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    (group,) = numbers["groups"]
    assert group["seeds"] == {s: 2 for s in STRATEGIES}
    expect = recompute(results, 30)
    for col in group["columns"]:  # 30 queries is the whole budget: same as final
        for s, (mean, se, n, p, best) in expect.items():
            got = col["strategies"][s]
            assert got["mean"] == pytest.approx(mean, abs=1e-12) and got["se"] == pytest.approx(se, abs=1e-12)
            assert got["n"] == n and got["best"] == best
            assert got["p_value"] == (None if p is None else pytest.approx(p))
            assert got["regret"] == pytest.approx(group["optimum"] - mean)
    assert [c["budget"]["label"] for c in group["columns"]] == ["30 queries", "final"]


def test_latex_table(report_dir):
    tex = (report_dir / "table.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "random\\_search" in tex
    assert tex.count("\\mathbf{") == 3  # one best per budget column
    assert "\\multicolumn{2}{c}{30 queries}" in tex


def test_two_column_and_violin_and_log_axes(results, tmp_path):
    out = tmp_path / "two"
    assert main(["report", str(results), "-o", str(out), "--column", "both", "--final-plot", "violin",
                 "--log-x", "--y-scale", "log", "--y", "metric", "--dpi", "80"]) == 0
    import matplotlib.image

    for name in FIGURES:
        w1 = matplotlib.image.imread(out / f"{name}_1col.png").shape[1]
        w2 = matplotlib.image.imread(out / f"{name}_2col.png").shape[1]
        assert is_pdf(out / f"{name}_2col.pdf")
        assert 1.7 < w2 / w1 < 2.5  # 6.9 in against 3.3 in


def test_same_results_same_figure_bytes(results, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        assert main(["report", str(results), "-o", str(d)]) == 0
    for name in ("final.pdf", "curve_queries.png", "table.md", "table.tex"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_strategy_styles_are_fixed_per_strategy():
    both = strategy_styles(["bananas", "random_search"])
    alone = strategy_styles(["random_search"])
    assert both["random_search"] == alone["random_search"] == {"color": PALETTE[0], "marker": "o"}
    variants = strategy_styles(["random_search", "RE (P=20)", "RE (P=50)"])
    colours = [v["color"] for v in variants.values()]
    assert len(set(colours)) == 3


def test_step_functions_on_queries_and_time():
    t = Trajectory(time=np.array([10.0, 20.0, 35.0]), cell=["a", "b", "c"], fidelity=np.ones(3),
                   value=np.array([1.0, 3.0, 2.0]), cost=np.full(3, 10.0), incumbent=["a", "b", "b"],
                   incumbent_value=np.array([1.0, 3.0, 3.0]), incumbent_report=np.array([50.0, 60.0, 60.0]))
    np.testing.assert_array_equal(agg.query_matrix([t], 5)[0], [50, 60, 60, 60, 60])
    grid = np.array([5.0, 10.0, 19.9, 20.0, 100.0])
    np.testing.assert_array_equal(agg.time_matrix([t], grid)[0], [np.nan, 50, 50, 60, 60])
    assert agg.value_at(t, agg.BudgetPoint("seconds", 15.0)) == 50.0
    assert agg.value_at(t, agg.BudgetPoint("queries", 2)) == 60.0
    assert [p.label for p in agg.parse_budgets("50, 1h,90m,final")] == ["50 queries", "1h sim.", "90m sim.", "final"]
    with pytest.raises(ValueError, match="budget"):
        agg.parse_budgets("ten")
    assert [p.value for p in agg.default_budgets({"queries": 150})] == [50, 100, 150]


def test_average_rank_pairs_by_seed():
    mats = {"a": np.array([[1.0, 3.0], [2.0, 2.0]]), "b": np.array([[2.0, 1.0], [np.nan, 2.0]])}
    ranks = agg.average_rank(mats, higher_is_better=True)
    np.testing.assert_allclose(ranks["a"], [1.5, 1.25])
    np.testing.assert_allclose(ranks["b"], [1.5, 1.75])


def test_report_errors(results, tmp_path, capsys, nb201_synthetic):
    assert main(["report", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "o")]) == 2
    assert "no such results file" in capsys.readouterr().err
    assert main(["report", str(nb201_synthetic), "-o", str(tmp_path / "o")]) == 2
    assert "not a nasbench-suite results file" in capsys.readouterr().err
    assert main(["report", str(results)]) == 2
    assert "-o DIR" in capsys.readouterr().err
    assert main(["report", str(results), "--format", "json", "--strategies", "bananas"]) == 2
    assert "no runs of bananas" in capsys.readouterr().err
    assert main(["report", str(results), "--format", "json", "--budgets", "1e3"]) == 2
    assert re.search(r"budget '1e3'", capsys.readouterr().err)
