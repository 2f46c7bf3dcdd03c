"""`nasbench-suite compare` without --benchmark uses the embedded default
table, and refuses one whose generation is unfinished, with a message saying
how to finish it."""
from __future__ import annotations

from nasbench_suite.cli import main
from nasbench_suite.runner.results import load_results
from nasbench_suite.tables import TableWriter
from nasbench_suite.tables.embedded import ENV, embedded_table

ARGS = ["--strategies", "random_search,local_search", "--seeds", "2", "--budget-queries", "20", "-q",
        "--workers", "1"]


def test_compare_defaults_to_the_embedded_table(nb201_synthetic, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(nb201_synthetic))
    assert embedded_table() == nb201_synthetic
    out = tmp_path / "r.h5"
    assert main(["compare", *ARGS, "-o", str(out)]) == 0
    results = load_results(out)
    assert len(results) == 4
    assert next(iter(results.config["benchmarks"].values()))["path"] == str(nb201_synthetic)


def test_an_unfinished_generated_table_is_refused(tmp_path, monkeypatch, capsys):
    path = tmp_path / "gen.h5"
    with TableWriter(path, space="nb201") as w:
        w.lookup = "class"
        w.provenance.update(converter="nasbench-suite generate nb201", complete=False, totals={"runs": 7})
    monkeypatch.setenv(ENV, str(path))
    assert main(["compare", *ARGS, "-o", str(tmp_path / "r.h5")]) == 2
    err = capsys.readouterr().err
    assert "still being generated (7 runs" in err and "nasbench-suite generate nb201" in err
    assert not (tmp_path / "r.h5").exists()


def test_a_missing_default_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere.h5"))
    assert main(["compare", *ARGS, "-o", str(tmp_path / "r.h5")]) == 2
    assert "no such table file" in capsys.readouterr().err


def test_the_committed_embedded_table_and_its_optimum(tmp_path, monkeypatch):
    """The real embedded table (a class table: 8,765 rows, not in official
    order): regret is measured from the best row of the whole table, which is
    the best over all 15,625 cells."""
    import numpy as np

    from nasbench_suite.tables import Benchmark

    monkeypatch.delenv(ENV, raising=False)
    path = embedded_table()
    assert path is not None and path.name == "nb201-digits.h5"
    out = tmp_path / "r.h5"
    assert main(["compare", *ARGS, "-o", str(out)]) == 0
    entry = next(iter(load_results(out).config["benchmarks"].values()))
    with Benchmark.open(path) as b:
        every_cell = b.query(np.arange(15625), "test_acc", fidelity=7)
        assert entry["report_optimum"] == every_cell.max() == b.best("test_acc")[1]
        assert entry["report_metric"] == "test_acc@7" and entry["search_metric"] == "valid_acc@7"
