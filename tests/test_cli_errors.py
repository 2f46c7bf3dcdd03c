"""Issue 18, item 9: every path of the ``nasbench-suite`` command ends in one
clear line on stderr (exit status 2 for what the user can fix), never a
traceback.

Each test names the behaviour before the fix (observed by running the
command on the code before it) in its docstring or a comment. The fuzz tests
at the end drive the real argument parser and the importers with random
inputs; the expensive back ends (a grid's runs, training, downloads,
figures) are replaced by stubs there, so a random argument list cannot start
a long job.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench_suite import _core, cli
from nasbench_suite.report import tables as report_tables
from nasbench_suite.runner import Trajectory
from nasbench_suite.runner.grid import open_executor
from nasbench_suite.runner.gridspec import GridConfigError, GridRunError, parse_seeds, resolve_grid
from nasbench_suite.runner.results import ResultsError, ResultsWriter, Run, load_results
from nasbench_suite.tables.journal import _HEADER, MAGIC

HUGE = "99999999999999999999"  # > 2**64
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def run(argv, stdin: str = "") -> tuple[int, str, str]:
    """``nasbench-suite ARGV`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main([str(a) for a in argv])
    finally:
        sys.stdin = saved
    return rc, out.getvalue(), err.getvalue()


def one_line_error(rc: int, err: str, status: int = 2) -> str:
    """The one line of a failed command (asserts: the status, one line, no traceback)."""
    assert rc == status, (rc, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------ results files made by hand

def trajectory(n: int, start: float = 90.0) -> Trajectory:
    rep = start + np.arange(n, dtype=float) / max(n, 1)
    return Trajectory(time=np.arange(1, n + 1, dtype=float) * 10.0, cell=[f"c{i}" for i in range(n)],
                      fidelity=np.full(n, 12.0), value=rep - 1, cost=np.full(n, 10.0),
                      incumbent=[f"c{i}" for i in range(n)], incumbent_value=rep - 1, incumbent_report=rep)


def write_results(path, strategies=("random_search", "local_search"), benchmark="bench", seeds=(0, 1, 2),
                  queries: int = 30, compact: bool = True) -> str:
    """A results file as `compare` writes it, with runs made here (no grid)."""
    config = {
        "experiment": {"budget": {"queries": queries}, "async_workers": 1, "include_strategy_time": False},
        "benchmarks": {benchmark: {"path": "/nowhere/bench.h5", "sha256": "0" * 64, "space": "nb201",
                                   "dataset": "cifar10", "search_metric": "valid_acc@12",
                                   "report_metric": "test_acc@200", "report_optimum": 95.0,
                                   "higher_is_better": True, "provenance": {}}},
        "strategies": {s: {"name": "random_search", "hyperparameters": {}} for s in strategies},
        "strategy_order": list(strategies), "seeds": list(seeds),
    }
    w = ResultsWriter(path)
    w.set_config(config, {"command": ["nasbench-suite", "compare"], "started": "2026-01-01T00:00:00+00:00"})
    for i, s in enumerate(strategies):
        for seed in seeds:
            w.append(Run(benchmark, s, seed, trajectory(queries, 90.0 + i + 0.1 * seed), {"wall_seconds": 0.1}))
    if compact:
        w.close()
    else:  # leave the runs in the journal, as a killed compare does
        os.close(w._journal_fd)
        w._journal_fd = None
        w.close(compact=False)
    return str(path)


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    return write_results(tmp_path_factory.mktemp("results") / "results.h5")


# ------------------------------------------------------------------ huge and negative numbers

@pytest.mark.parametrize("extra,message", [
    # Before: OverflowError traceback from range(), exit 1.
    (["--seeds", HUGE], "at most 100000 seeds"),
    (["--seeds", f"0-{HUGE}"], "seed 99999999999999999999 is too large"),
    # Before: OverflowError ("Python int too large to convert to C long"), exit 1.
    (["--seeds", f"5,{HUGE}"], "seed 99999999999999999999 is too large"),
    (["--seeds", "0-200000"], "at most 100000 seeds"),
    # Before: accepted; the grid would have run "forever".
    (["--budget-queries", HUGE], "budget queries must be at most"),
    (["--budget-queries", "-5"], "budget queries must be a positive number"),
    (["--budget-seconds", "1e400"], "budget seconds must be a positive number"),
    (["--budget-epochs", "-1"], "budget epochs must be a positive number"),
    (["--async-workers", HUGE], "async_workers must be an integer from 1 to"),
    (["--async-workers", "-2"], "async_workers must be an integer from 1 to"),
    # Before: OverflowError from multiprocessing's SemLock, exit 1.
    (["--workers", HUGE], "workers must be an integer from 1 to 1024"),
    (["--workers", "-1"], "workers must be an integer from 1 to 1024"),
    # Before: "seeds must be ... non-negative integers" for 0, which is non-negative.
    (["--seeds", "0"], "at least 1 seed"),
    (["--seeds", "-3"], "at least 1 seed"),
])
def test_compare_refuses_numbers_out_of_range_in_one_line(nb201_synthetic, tmp_path, monkeypatch, extra, message):
    def no_run(*args, **kwargs):  # (code that accepts the numbers would start the grid here)
        raise AssertionError("the grid was not refused before running")

    monkeypatch.setattr("nasbench_suite.cli.compare.run_grid", no_run)
    out = tmp_path / "never.h5"
    rc, _, err = run(["compare", "--benchmark", nb201_synthetic, "--strategies", "random_search", *extra,
                      "-o", out])
    line = one_line_error(rc, err)
    assert message in line and line.startswith("nasbench-suite: error:")
    assert not out.exists()


def test_seed_counts_and_values_have_bounds():
    assert parse_seeds(100_000)[-1] == 99_999
    assert parse_seeds([2 ** 63 - 1]) == [2 ** 63 - 1]
    for bad in (100_001, [2 ** 63], f"0-{2 ** 63}", 0, "0", -1):
        with pytest.raises(GridConfigError):
            parse_seeds(bad)


@pytest.mark.parametrize("argv,message", [
    # Before: a TypeError traceback from matplotlib's renderer, exit 1.
    (["report", "RESULTS", "-o", "OUT", "--dpi", HUGE], "argument --dpi: must be at most 1200"),
    # Before: "Too many decimal digits in format string" (no flag named).
    (["report", "RESULTS", "--format", "json", "--decimals", HUGE], "argument --decimals: must be at most"),
    (["report", "RESULTS", "--format", "json", "--decimals", "-1"], "argument --decimals: must be at least 0"),
    (["hash", "--space", "nb101", "--threads", HUGE], "argument --threads: must be at most 1024"),
    (["space", "export", "nb201", "--format", "arch-strings", "--threads", "-4"], "must be at least 1"),
    # Before: range(10**20) seeds: hung building the list until killed.
    (["generate", "nb201", "-o", "OUT/t.h5", "--seeds", HUGE], "argument --seeds: must be at most 1000"),
    (["generate", "nb201", "-o", "OUT/t.h5", "--workers", "0"], "argument --workers: must be at least 1"),
    (["generate", "nb201", "-o", "OUT/t.h5", "--max-runs", "-1"], "argument --max-runs: must be at least 0"),
    (["verify", "T.h5", "--rows", HUGE], "argument --rows: must be at most"),
    (["verify", "T.h5", "--seed", "-1"], "argument --seed: must be at least 0"),
    (["download", "nb101", "--timeout", "nan"], "argument --timeout: must be a finite number"),
    (["download", "nb101", "--timeout", "-1"], "argument --timeout: must be a finite number"),
    (["download", "nb101", "--retries", HUGE], "argument --retries: must be at most"),
])
def test_other_numbers_out_of_range(results_file, tmp_path, argv, message):
    argv = [results_file if a == "RESULTS" else str(tmp_path / "o") if a == "OUT" else a for a in argv]
    argv = [a.replace("OUT", str(tmp_path)) for a in argv]
    rc, _, err = run(argv)
    assert message in one_line_error(rc, err)


# ------------------------------------------------------------------ -o naming a directory

def test_compare_output_a_directory(nb201_synthetic, tmp_path):
    """Before: a raw h5py message over two lines ("Unable to synchronously open
    file ... errno = 21 ...") with the advice "the results file is truncated or
    corrupt: move it aside", after the plan line."""
    rc, _, err = run(["compare", "--benchmark", nb201_synthetic, "--strategies", "random_search",
                      "--seeds", "1", "--budget-queries", "5", "--workers", "1", "-q", "-o", tmp_path])
    line = one_line_error(rc, err)
    assert f"{tmp_path}: is a directory" in line and f"-o {tmp_path / 'results.h5'}" in line
    assert "corrupt" not in line and "h5py" not in line.lower()
    with pytest.raises(ResultsError, match="is a directory"):
        ResultsWriter(tmp_path)


def test_compare_output_in_a_missing_directory(nb201_synthetic, tmp_path):
    target = tmp_path / "nope" / "r.h5"
    rc, _, err = run(["compare", "--benchmark", nb201_synthetic, "--strategies", "random_search", "-o", target])
    assert f"directory {tmp_path / 'nope'} does not exist" in one_line_error(rc, err)


@pytest.mark.parametrize("argv", [
    # Before: "already exists; pass overwrite=True (--overwrite)"; with --overwrite:
    # "[Errno 21] Is a directory: '.tmp-....h5' -> DIR" (the advice did not help).
    ["import", "--mapping", "MAP", "--source", "CSV", "-o", "DIR"],
    ["import", "--mapping", "MAP", "--source", "CSV", "-o", "DIR", "--overwrite"],
    ["convert", "nb201", "CSV", "-o", "DIR", "--overwrite"],
    ["convert", "nb101", "CSV", "-o", "DIR"],
    # Before: the raw h5py message (errno 21) and "re-download or re-convert it".
    ["generate", "nb201", "-o", "DIR", "--max-runs", "0"],
    ["download", "nb201", "-o", "DIR", "--dest", "DIR"],
])
def test_output_a_directory(tmp_path, argv):
    (tmp_path / "a.csv").write_text(f"arch,acc\n{ARCH},93.1\n")
    (tmp_path / "m.json").write_text(json.dumps({"key": {"column": "arch", "kind": "arch_string"},
                                                 "columns": {"acc": ["test_acc", 200, "cifar10"]}}))
    subs = {"MAP": tmp_path / "m.json", "CSV": tmp_path / "a.csv", "DIR": tmp_path}
    rc, _, err = run([subs.get(a, a) for a in argv])
    line = one_line_error(rc, err)
    assert f"{tmp_path}: is a directory; -o names the table file to write, e.g. -o {tmp_path}{os.sep}" in line
    assert "overwrite" not in line


@pytest.mark.parametrize("argv", [["report", "DIR", "-o", "DIR/rep"], ["verify", "DIR"],
                                  ["import", "--mapping", "DIR", "--source", "DIR", "-o", "DIR/t.h5"]])
def test_input_a_directory(tmp_path, argv):
    """Before (report, verify): the raw h5py message over two lines and the
    advice that the file is corrupt."""
    rc, _, err = run([a.replace("DIR", str(tmp_path)) for a in argv])
    line = one_line_error(rc, err)
    assert f"{tmp_path}: is a directory" in line and "corrupt" not in line


def test_report_output_an_existing_file(results_file, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    rc, _, err = run(["report", results_file, "-o", f])
    assert "exists and is not a directory" in one_line_error(rc, err)


# ------------------------------------------------------------------ results journal records

def _append_frame(path, payload: bytes) -> None:
    with open(str(path) + ".journal", "ab") as f:
        f.write(_HEADER.pack(MAGIC, len(payload), _core.crc32c(payload)) + payload)


def _record(**changes):
    rec = Run("bench", "random_search", 9, trajectory(30), {}).to_record()
    for key, value in changes.items():
        where, _, field = key.partition("__")
        target = rec["trajectory"] if where == "trajectory" and field else rec
        name = field if where == "trajectory" and field else key
        if value is KeyError:
            del target[name]
        else:
            target[name] = value
    return rec


@pytest.mark.parametrize("record,message", [
    # Before: KeyError: 'time' (a traceback from Trajectory.from_dict), exit 1.
    (_record(trajectory__time=KeyError), "trajectory has no 'time' column"),
    (_record(trajectory__cell=KeyError), "trajectory has no 'cell' column"),
    (_record(trajectory__value=[1.0]), "trajectory columns differ in length"),
    (_record(trajectory__cost=["x"] * 30), "column 'cost' is not a list of numbers"),
    (_record(trajectory__incumbent=[1] * 30), "column 'incumbent' is not a list of ASCII strings"),
    (_record(trajectory__meta=[1]), "trajectory meta is a list"),
    (_record(trajectory=[1, 2]), "trajectory is a list, not an object"),
    (_record(seed="3"), "seed is '3'"),
    (_record(seed=-1), "seed is -1"),
    (_record(seed=True), "seed is True"),
    (_record(strategy=KeyError), "no 'strategy'"),
    (_record(benchmark="a/b"), "cannot name a results group"),
    (_record(info=5), "info is a int"),
])
def test_a_journal_record_with_a_valid_crc_but_bad_fields(tmp_path, record, message):
    path = write_results(tmp_path / "r.h5", compact=False)  # three runs... in the journal
    _append_frame(path, json.dumps(record).encode())
    with pytest.raises(ResultsError) as info:
        load_results(path)
    text = str(info.value)
    assert text.startswith(f"{path}.journal: record 7 of 7: ") and message in text
    rc, _, err = run(["report", path, "--format", "json"])
    line = one_line_error(rc, err)
    assert f"{path}.journal: record 7 of 7" in line and message in line
    # the writer (a resumed compare) refuses it the same way, without touching the file
    with pytest.raises(ResultsError, match="record 7 of 7"):
        ResultsWriter(path)


@pytest.mark.parametrize("payload", [b"\xff not json", b"[1, 2, 3]", b"{\"a\": NaN"])
def test_a_journal_frame_that_is_not_a_json_object(tmp_path, payload):
    """(The table journal's reader may refuse a non-object itself; either way
    one line that names the journal.)"""
    path = write_results(tmp_path / "r.h5")
    _append_frame(path, payload)
    rc, _, err = run(["report", path, "--format", "json"])
    line = one_line_error(rc, err)
    assert f"{path}.journal: " in line
    assert "corrupt results journal" in line or "a JSON list, not an object" in line


def test_valid_journal_records_still_load(tmp_path):
    path = write_results(tmp_path / "r.h5", compact=False)
    assert len(load_results(path).runs) == 6


# ------------------------------------------------------------------ import: a CSV field over 128 KiB

def test_csv_field_over_the_field_limit_names_file_and_line(tmp_path):
    """Before: ``_csv.Error: field larger than field limit (131072)``, a
    traceback, exit 1."""
    src = tmp_path / "big.csv"
    src.write_text(f"arch,acc\n{ARCH},93.1\n{ARCH.replace('3x3', '1x1')},93.2\n\"{'x' * 140_000}\",1\n")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"key": {"column": "arch", "kind": "arch_string"},
                                   "columns": {"acc": ["test_acc", 200, "cifar10"]}}))
    rc, _, err = run(["import", "--mapping", mapping, "--source", src, "-o", tmp_path / "t.h5"])
    line = one_line_error(rc, err)
    assert f"{src}: line 4: not valid CSV (field larger than field limit (131072))" in line
    assert not (tmp_path / "t.h5").exists()


# ------------------------------------------------------------------ convert: crafted archives

def test_convert_nb201_a_pickle_whose_first_object_is_an_array(tmp_path):
    """Before: ``ValueError: The truth value of an array with more than one
    element is ambiguous`` (the converter compares the first object with
    torch's legacy magic number), a traceback, exit 1."""
    src = tmp_path / "crafted.pth"
    src.write_bytes(b"cnumpy\nndarray\n(I5\ntR.")  # numpy.ndarray(5): a 5-element array
    rc, _, err = run(["convert", "nb201", src, "-o", tmp_path / "t.h5"])
    line = one_line_error(rc, err)
    assert line.startswith(f"nasbench-suite: error: {src}: ") and "neither a torch.save archive" in line
    assert not (tmp_path / "t.h5").exists()


def test_convert_nb201_a_text_file(tmp_path):
    """Before (with torch installed): ``IndexError: pop from empty list`` from
    torch's weights-only unpickler, a traceback, exit 1; and a "reading ...
    (0 MB)" line on stderr before it even when nobody watched."""
    src = tmp_path / "a.csv"
    src.write_text(f"arch,acc\n{ARCH},93.1\n")
    rc, _, err = run(["convert", "nb201", src, "-o", tmp_path / "t.h5"])
    assert str(src) in one_line_error(rc, err)


# ------------------------------------------------------------------ out of memory, internal errors

@pytest.mark.parametrize("target,argv,doing", [
    ("nasbench_suite.cli.report.make_report", ["report", "RESULTS", "--format", "json"],
     "reading the results and drawing the figures"),
    ("nasbench_suite.cli.tables.import_table", ["import", "--recipe", "nb201-public", "--source", "S", "-o", "O"],
     "reading the source files"),
])
def test_memory_error_is_one_line_with_what_to_try(monkeypatch, results_file, tmp_path, target, argv, doing):
    """Before: a MemoryError traceback, exit 1."""
    def boom(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(target, boom)
    argv = [results_file if a == "RESULTS" else str(tmp_path / a) if a in ("S", "O") else a for a in argv]
    rc, _, err = run(argv)
    line = one_line_error(rc, err)
    assert f"out of memory while {doing}; try " in line


def test_runs_out_of_memory_in_the_workers(monkeypatch, nb201_synthetic, tmp_path):
    def fail(*args, **kwargs):
        raise GridRunError("out of memory while running the grid: 2 of 2 runs failed", memory=True)

    monkeypatch.setattr("nasbench_suite.cli.compare.run_grid", fail)
    rc, _, err = run(["compare", "--benchmark", nb201_synthetic, "--strategies", "random_search",
                      "--seeds", "2", "-o", tmp_path / "r.h5"])
    assert "out of memory while running the grid" in one_line_error(rc, err)


def test_a_bug_is_one_line_and_exit_1(monkeypatch, results_file):
    monkeypatch.setattr("nasbench_suite.cli.report.make_report", lambda *a, **k: {}["boom"])
    monkeypatch.delenv("NASBENCH_SUITE_DEBUG", raising=False)
    rc, _, err = run(["report", results_file, "--format", "json"])
    line = one_line_error(rc, err, status=1)
    assert "internal error in 'report': KeyError" in line and "please report it" in line
    monkeypatch.setenv("NASBENCH_SUITE_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["report", results_file, "--format", "json"])


# ------------------------------------------------------------------ messages

@pytest.mark.parametrize("strategy,keys", [
    ("random_search", "random_search takes: dedup"),
    ("regularized_evolution", "regularized_evolution takes: population_size, sample_size, dedup"),
])
def test_unknown_hyperparameter_lists_the_valid_keys(nb201_synthetic, tmp_path, strategy, keys):
    """Before: "strategy 'random_search' on nb201_synthetic: random_search:
    Strategy.__init__() got an unexpected keyword argument 'foo'"."""
    rc, _, err = run(["compare", "--benchmark", nb201_synthetic, "--strategies", strategy,
                      "--hp", f"{strategy}.foo=3", "-o", tmp_path / "r.h5"])
    line = one_line_error(rc, err)
    assert f"unknown hyper-parameter 'foo'; {keys}" in line


def test_hyperparameter_values_the_constructor_cannot_use(nb201_synthetic, tmp_path):
    """Before: ``OverflowError: cannot convert float infinity to integer``, a traceback."""
    rc, _, err = run(["compare", "--benchmark", nb201_synthetic, "--strategies", "regularized_evolution",
                      "--hp", "regularized_evolution.population_size=1e999", "-o", tmp_path / "r.h5"])
    assert "regularized_evolution" in one_line_error(rc, err)


def test_budget_messages_say_budget_once(nb201_synthetic):
    """Before: "budget: budget queries must be a positive number, got -5"."""
    for budget in ({"queries": -5}, {"seconds": float("inf")}, {"hours": 1}, "100"):
        with pytest.raises(GridConfigError) as info:
            resolve_grid({"benchmarks": [str(nb201_synthetic)], "strategies": ["random_search"], "budget": budget})
        assert str(info.value).count("budget") == 1 or "budget keys" in str(info.value), str(info.value)
        assert "budget: budget" not in str(info.value)


def test_counts_are_plural_only_when_more_than_one(nb201_synthetic, tmp_path):
    """Before: "compare: 1 benchmark(s) x 1 strategies x 1 seeds = 1 runs" and
    "process pool (1 workers)"."""
    with open_executor(1) as (_, _, one), open_executor(2) as (_, _, two):
        assert one == "process pool (1 worker)" and two == "process pool (2 workers)"
    rc, out, err = run(["compare", "--benchmark", nb201_synthetic, "--strategies", "random_search",
                        "--seeds", "1", "--budget-queries", "3", "--workers", "1", "-q", "-o", tmp_path / "r.h5"])
    assert rc == 0, err
    assert "compare: 1 benchmark x 1 strategy x 1 seed = 1 run, budget" in err
    assert ": 1 run (0 already stored, 1 new)" in out and "(1 worker)" in out


def test_usage_errors_are_one_line():
    """Before: the usage block, the error and a "Try ..." line (three lines or
    more); no command at all printed the whole help on stderr."""
    for argv in ([], ["space"], ["frobnicate"], ["compare", "--bogus"], ["report"], ["hash", "--space", "x"]):
        rc, _, err = run(argv)
        assert "--help" in one_line_error(rc, err)


# ------------------------------------------------------------------ report budgets beyond the runs

@pytest.mark.parametrize("budgets,message", [
    ("500", "budget '500 queries': the runs on bench stop at 30 queries (their budget)"),
    ("10,31", "budget '31 queries'"),
    ("1h", "budget '1h sim.': the runs on bench stop at 300 s of simulated time"),
])
def test_report_refuses_budgets_the_runs_did_not_reach(results_file, budgets, message):
    """Before: exit 0, a column "500 queries" holding the final values at 30
    queries, as if the runs had gone to 500."""
    rc, out, err = run(["report", results_file, "--format", "json", "--budgets", budgets])
    assert message in one_line_error(rc, err)
    assert out == ""


def test_report_budgets_within_the_runs(results_file):
    rc, out, err = run(["report", results_file, "--format", "json", "--budgets", "10,30,300s,final"])
    assert rc == 0, err
    labels = [c["budget"]["label"] for c in json.loads(out)["groups"][0]["columns"]]
    assert labels == ["10 queries", "30 queries", "5m sim.", "final"]


# ------------------------------------------------------------------ escaping labels

TEX_SPECIAL = "a\\label{x}_%&#$~^<>|"
HTML_SPECIAL = "b<script>|&amp;*`[x]"


@pytest.fixture(scope="module")
def weird_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("weird")
    path = write_results(tmp / "r.h5", strategies=(TEX_SPECIAL, HTML_SPECIAL, "plain_name"),
                         benchmark="bench\\label{b}_%", seeds=(0, 1), queries=6)
    rc, _, err = run(["report", path, "-o", tmp / "rep", "--budgets", "3,6", "--dpi", "20"])
    assert rc == 0, err
    return tmp / "rep"


def test_latex_table_escapes_labels(weird_report):
    """Before: the benchmark label went raw into ``\\label{tab:...}`` (an
    unbalanced brace broke the document) and ``<``, ``>``, ``|`` were left as
    text-mode characters that typeset as other glyphs."""
    tex = (weird_report / "table.tex").read_text()
    escaped = ("a\\textbackslash{}label\\{x\\}\\_\\%\\&\\#\\$\\textasciitilde{}\\^{}"
               "\\textless{}\\textgreater{}\\textbar{}")
    assert escaped in tex
    assert "b\\textless{}script\\textgreater{}\\textbar{}\\&amp;*`[x]" in tex
    labels = [line for line in tex.splitlines() if line.startswith("\\label")]
    assert labels == ["\\label{tab:bench-label-b---}"]
    assert "bench\\textbackslash{}label\\{b\\}\\_\\%" in tex  # in the caption
    # every brace is balanced once the escaped ones are taken out
    bare = tex.replace("\\{", "").replace("\\}", "")
    assert bare.count("{") == bare.count("}")
    assert TEX_SPECIAL not in tex and "<script>" not in tex


def _cells(row: str) -> list:
    """A Markdown table row split at its unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_escapes_html_and_pipes(weird_report):
    """Before: ``<script>`` went raw into report.md (HTML a renderer runs) and
    ``&``/``<`` in labels were read as entities and tags."""
    for name in ("table.md", "report.md"):
        text = (weird_report / name).read_text()
        # Inside a code span text is shown literally (CommonMark reads no HTML there).
        prose = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text)
        assert "<script>" not in prose and "<" not in prose.replace("&lt;", ""), name
        assert "b&lt;script&gt;\\|&amp;amp;\\*\\`\\[x\\]" in text, name
        rows = [line for line in text.splitlines() if line.startswith("| ")]
        assert rows and all(len(_cells(r)) == len(_cells(rows[0])) for r in rows), name
        assert "| plain_name |" in text
    report = (weird_report / "report.md").read_text()
    assert "## bench\\\\label{b}\\_% / cifar10" in report
    assert "- strategy `b<script>|&amp;*`[x]`" not in report  # a code span the backtick would end
    assert "- strategy ``b<script>|&amp;*`[x]``" in report


def test_escape_functions():
    assert report_tables.md_escape("random_search") == "random_search"
    assert report_tables.md_escape("_x_") == "\\_x\\_"
    assert report_tables.md_escape("a<b>&|c\nd") == "a&lt;b&gt;&amp;\\|c d"
    assert report_tables.md_code("a`b") == "``a`b``"
    assert report_tables.md_code("`a") == "`` `a ``"
    assert report_tables.tex_escape("50%_{x}") == "50\\%\\_\\{x\\}"
    assert report_tables.tex_label("tab:a b\\c{d}") == "tab:a-b-c-d-"


# ------------------------------------------------------------------ fuzz: the argument parser

def _parsers(parser: argparse.ArgumentParser, path=()):
    """(command words, parser) of every command and action of the real parser."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


@pytest.fixture(scope="module")
def fuzz_files(tmp_path_factory, nb201_synthetic):
    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "junk.h5").write_bytes(b"not hdf5 at all")
    (tmp / "a.csv").write_text(f"arch,acc\n{ARCH},93.1\n")
    (tmp / "m.json").write_text(json.dumps({"key": {"column": "arch", "kind": "arch_string"},
                                            "columns": {"acc": ["test_acc", 200, "cifar10"]}}))
    (tmp / "cells.jsonl").write_text('{"matrix": [[0,1],[0,0]], "ops": ["input","output"]}\nnot json\n')
    (tmp / "grid.toml").write_text('strategies = ["random_search"]\nseeds = 2\noutput = "g.h5"\n')
    (tmp / "bad.toml").write_text("strategies = [\n")
    (tmp / "crafted.pth").write_bytes(b"cnumpy\nndarray\n(I5\ntR.")
    (tmp / "sub").mkdir()
    results = write_results(tmp / "results.h5")
    return {"tmp": tmp, "table": str(nb201_synthetic), "results": results}


def _values(files) -> tuple:
    """(generic values, {option dest: plausible values}): most draws are
    plausible for the option (so the handlers run, not only argparse), some
    are anything."""
    tmp = files["tmp"]

    def f(*names):
        return [str(tmp / n) for n in names]

    table, results = files["table"], files["results"]
    bad_inputs = f("junk.h5", "missing.h5", "sub")
    outputs = f("out.h5", "out2.h5", "sub", "nodir/x.h5", "a.csv")
    pools = {
        "benchmark": [table] * 4 + bad_inputs, "config": f("grid.toml", "bad.toml", "missing.toml", "junk.h5", "sub"),
        "dataset": ["cifar10", "imagenet", "digits", ""],
        "strategies": ["random_search", "random_search,local_search", "regularized_evolution,bananas", "nope", ",",
                       "random_search,random_search"],
        "hp": ["random_search.foo=3", "random_search.dedup=false", "regularized_evolution.population_size=3",
               "regularized_evolution.population_size=1e999", "regularized_evolution.sample_size=0",
               "local_search.num_init=[[[]]]", "x.y", "=", "a.b=c", "random_search.dedup=" + HUGE],
        "seeds": ["1", "2", "0", "-3", "0-2", "3-1", "1,1", "1,4", HUGE, "0-" + HUGE, "a", "2-", "1,-1"],
        "budget_queries": ["3", "5", "0", "-5", HUGE], "budget_seconds": ["100", "nan", "inf", "-1", "1e400"],
        "budget_epochs": ["50", "nan", "0", "1e400"],
        "search_metric": ["valid_acc@12", "valid_acc", "test_acc@x", "valid_loss@12", "@", "valid_acc@13", "@12"],
        "report_metric": ["test_acc@200", "test_acc", "params", "test_acc@nan", "test_acc@inf"],
        "async_workers": ["1", "2", "0", HUGE, "100001"], "workers": ["1", "2", "0", "-1", HUGE, "1025"],
        "scheduler": ["tcp://127.0.0.1:9", ""], "output": outputs + ["-"],
        "results": [results] * 4 + bad_inputs + [table],
        "budgets": ["10", "30", "31", "500", "final", "1h", "10,final", "1e3", "0", "", "300s", "301s", ","],
        "dpi": ["10", "20", "9", "1201", HUGE], "decimals": ["0", "2", "10", "11", "-1"],
        "recipe": ["nb201-public", "nas-bench-macro", "nope"],
        "mapping": f("m.json", "junk.h5", "missing.json", "sub", "a.csv"),
        "source": f("a.csv", "sub", "missing.csv", "crafted.pth", "junk.h5", "m.json"),
        "file": f("cells.jsonl", "missing.jsonl", "sub", "junk.h5") + ["-"],
        "threads": ["1", "2", "0", HUGE, "1025"], "dest": f("sub", "nodir", "a.csv"),
        "artifact": ["nb101-full", "nope"], "mirror": ["http://127.0.0.1:9"], "timeout": ["1", "0", "nan", "-1"],
        "retries": ["0", "5", "-1", HUGE], "table": [table, results] + bad_inputs, "rows": ["1", "0", HUGE],
        "seed": ["0", "-1", HUGE], "data_root": f("sub", "nodir"), "out": f("gen.h5", "sub", "nodir/x.h5"),
        "preset": ["digits", "nope"], "max_runs": ["0", "1", "-1"], "set": ["epochs=1", "x", "=1", "epochs=abc"],
    }
    words = ["0", "1", "-1", HUGE, "nan", "inf", "1e400", "", " ", "-", "--", "-x", "a/b", "..", "\u00e9"]
    generic = st.one_of(st.sampled_from(words + bad_inputs + outputs + [table, results]), st.text(max_size=12),
                        st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str))
    bases = {
        ("compare",): ["compare", "--benchmark", table, "--strategies", "random_search,local_search", "--seeds", "2",
                       "--budget-queries", "5", "-o", str(tmp / "cmp.h5")],
        ("report",): ["report", results, "--format", "json"],
        ("import",): ["import", "--mapping", str(tmp / "m.json"), "--source", str(tmp / "a.csv"), "-o",
                      str(tmp / "imp.h5"), "--overwrite"],
        ("hash",): ["hash", "--space", "nb101", str(tmp / "cells.jsonl")],
        ("convert", "nb201"): ["convert", "nb201", str(tmp / "crafted.pth"), "-o", str(tmp / "c.h5")],
        ("space", "export"): ["space", "export", "nb201", "--format", "arch-strings"],
        ("verify",): ["verify", table],
        ("generate", "nb201"): ["generate", "nb201", "-o", str(tmp / "gen.h5")],
    }
    return generic, {k: st.sampled_from(v) for k, v in pools.items()}, bases


@st.composite
def _argv(draw, commands, values):
    generic, pools, bases = values

    def value(action):
        if action.choices is not None and draw(st.integers(0, 4)):
            return str(draw(st.sampled_from(list(action.choices))))
        if action.dest in pools and draw(st.integers(0, 9)):
            return draw(pools[action.dest])
        return draw(generic)

    path, parser = draw(st.sampled_from(commands))
    argv = list(path)
    if path in bases and draw(st.booleans()):
        # A valid command with one or two options drawn at random (the last value given wins):
        # the checks deep inside a handler, not only argparse's.
        options = [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
        argv = list(bases[path])
        for action in draw(st.lists(st.sampled_from(options), min_size=1, max_size=2)):
            argv.append(draw(st.sampled_from(action.option_strings)))
            if action.nargs != 0:
                argv.append(value(action))
        return argv
    tokens = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            if draw(st.integers(0, 9)) >= (9 if action.required else 3):  # 30% of options, 90% of required ones
                continue
            tokens.append([draw(st.sampled_from(action.option_strings))])
            if action.nargs != 0 and draw(st.integers(0, 19)):  # sometimes the value is missing
                tokens[-1].append(value(action))
        elif action.nargs in (None, "?", 1) and draw(st.integers(0, 9)):
            tokens.append([value(action)])
    tokens = draw(st.permutations(tokens)) if not draw(st.integers(0, 3)) else tokens
    argv += [t for group in tokens for t in group]
    if not draw(st.integers(0, 9)):
        argv.append(draw(generic))  # a stray argument
    return argv


class _Stubs:
    """The back ends a random argument list must not start for real."""

    def __init__(self, monkeypatch):
        from nasbench_suite.cli import space_nb101, space_nb201
        from nasbench_suite.report import make as report_make
        from nasbench_suite.runner.grid import GridSummary
        from nasbench_suite.tables import download as dl

        real_report = report_make.make_report

        def run_grid(grid, output, on_start=None, **kwargs):  # settings checked; no runs
            if on_start is not None:
                on_start()
            n = len(grid.jobs())
            return GridSummary(str(output), n, 0, n, [], 0.0, "stub")

        def make_report(results, out_dir=None, **kwargs):  # the numbers, no figures
            return real_report(results, None, **kwargs)

        def download(benchmark, *args, **kwargs):
            raise dl.DownloadError(f"{benchmark}: no network in the tests")

        stats = {m: m.stats() if m is space_nb201 else {"stub": 1} for m in (space_nb101, space_nb201)}
        monkeypatch.setattr("nasbench_suite.cli.compare.run_grid", run_grid)
        monkeypatch.setattr("nasbench_suite.cli.report.make_report", make_report)
        monkeypatch.setattr(dl, "download", download)
        for m in (space_nb101, space_nb201):
            monkeypatch.setattr(m, "stats", lambda m=m: stats[m])
            monkeypatch.setattr(m, "print_stats", lambda s, out: out.write(json.dumps(s) + "\n"))
            monkeypatch.setattr(m, "export", lambda fmt, threads=None: iter(["x", "y"]))
        try:
            import nasbench_suite.train.generate as gen
        except ImportError:  # no [train] extra: generate and verify stop at "needs PyTorch"
            return
        monkeypatch.setattr(gen, "generate_nb201", lambda out, **kw: {
            "path": out, "done_runs": 0, "total_runs": 0, "new_runs": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0})
        monkeypatch.setattr(gen, "verify_table", lambda path, **kw: {
            "runs": [], "exact": 0, "same_platform": True, "ok": True, "criterion": "stub",
            "here": {"torch": "-", "cpu": "-"}})


def _check_outcome(argv, rc, err):
    assert "Traceback" not in err, (argv, err)
    assert rc in (0, 2), (argv, rc, err)
    if rc == 2:
        assert len(err.strip().splitlines()) == 1, (argv, err)


def test_fuzz_the_argument_parser(monkeypatch, fuzz_files):
    """Random argument lists over the real commands and options: exit status 0
    or 2, and for 2 exactly one line on stderr; never 1, never a traceback."""
    _Stubs(monkeypatch)
    monkeypatch.delenv("NASBENCH_SUITE_DEBUG", raising=False)
    monkeypatch.chdir(fuzz_files["tmp"])  # relative outputs land in the test's directory
    commands = [c for c in _parsers(cli.build_parser())]
    commands += [c for c in commands if c[0][:1] in (("compare",), ("report",), ("import",))] * 2
    commands += [(("frobnicate",), argparse.ArgumentParser())]

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_argv(commands, _values(fuzz_files)))
    def check(argv):
        rc, _, err = run(argv, stdin='{"matrix": [[0,1],[0,0]], "ops": ["input","output"]}\n')
        _check_outcome(argv, rc, err)

    check()


# ------------------------------------------------------------------ fuzz: the importers

_COLUMNS = ["arch", "index", "acc", "label", "hash", "a,b", 'q"x', "\u00e9", ""]
_CELL_VALUES = [ARCH, ARCH.replace("3x3", "1x1"), "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "0", "12",
                "15624", "15625", "-1", "nan", "", "1e400", "inf", "93.5", "0.9", "x", "01201122", "[1, 2]"]
_TARGETS = [["test_acc", 200, "cifar10"], ["valid_acc", 12, "cifar10", 1], ["test_acc", "x", "cifar10"],
            {"metric": "params", "fidelity": None, "dataset": "cifar10"}, {"metric": "latency_x", "dataset": ["a", "b"]},
            [], "junk", {"metric": 5}, ["a/b", 1, "c"], ["test_acc", -1, "cifar10"], ["test_acc", 1e308, "cifar10"],
            ["test_acc", 200, "cifar10", -3], {"metric": "test_acc", "fidelity": 200, "dataset": "d", "scale": "x"},
            {"metric": "test_acc", "fidelity": 200, "dataset": "d", "scale": 100}, None, 7]


@st.composite
def _import_case(draw):
    header = draw(st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=4))
    rows = draw(st.lists(st.lists(st.one_of(st.sampled_from(_CELL_VALUES), st.text(max_size=6)),
                                  min_size=max(0, len(header) - 1), max_size=len(header) + 1), max_size=4))
    fmt = draw(st.sampled_from(["csv", "json-records", "json-columns", "json-keyed", "json-random", "bytes"]))
    if fmt == "csv":
        import csv as _csv

        buf = io.StringIO()
        w = _csv.writer(buf)
        w.writerow(header)
        w.writerows(rows)
        if not draw(st.integers(0, 9)):
            buf.write('"' + "x" * 140_000 + '",1\n')  # over csv.field_size_limit()
        data, name = buf.getvalue().encode("utf-8"), "src.csv"
    elif fmt == "bytes":
        data, name = draw(st.binary(max_size=40)), draw(st.sampled_from(["src.csv", "src.json", "src.parquet"]))
    else:
        if fmt == "json-records":
            obj = [dict(zip(header, r)) for r in rows]
        elif fmt == "json-columns":
            obj = {h: [r[i] if i < len(r) else None for r in rows] for i, h in enumerate(header)}
        elif fmt == "json-keyed":
            obj = {str(r[0]) if r else "k": dict(zip(header[1:], r[1:])) for r in rows}
        else:
            obj = draw(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c,
                                                                                        max_size=3),
                                    max_leaves=8))
        data, name = json.dumps(obj).encode("utf-8"), "src.json"
    # Mostly a mapping that fits the file (so the rows are read and checked), sometimes not.
    plausible = draw(st.integers(0, 3)) > 0
    key_column = draw(st.sampled_from(header)) if plausible else draw(st.sampled_from(header + ["nope", 5]))
    kind = draw(st.sampled_from(["arch_string", "index", "label"] if plausible
                                else ["label", "index", "arch_string", "bogus", 5, None]))
    key = {"column": key_column, "kind": kind}
    if kind == "label" and plausible:
        key["space"] = draw(st.sampled_from(["nb201", "macro"]))
    elif draw(st.integers(0, 4)) == 0:
        key["space"] = draw(st.sampled_from(["nb201", "nb101", "macro", "zzz", 3]))
    targets = st.sampled_from(_TARGETS[:5]) if plausible else st.sampled_from(_TARGETS)
    names = [h for h in header if h != key_column] or header
    mapping = {"key": key,
               "columns": draw(st.dictionaries(st.sampled_from(names if plausible else names + ["acc[0]", "missing"]),
                                               targets, min_size=1 if plausible else 0, max_size=3))}
    for extra, choices in (("rows", [0, 1, 2, -1, "x"]), ("check_order", [True, False, "yes"]),
                           ("finite", [True, False]), ("format", ["csv", "json", "parquet", "xml", 3]),
                           ("fields", [["acc"], {"acc": None}, {"acc": 2}, "acc", 5]),
                           ("index_column", ["index", "acc", 5]), ("space", ["nb201", "macro", "zzz"])):
        if not draw(st.integers(0, 7)):
            mapping[extra] = draw(st.sampled_from(choices))
    if not draw(st.integers(0, 9)):
        mapping = {"sources": [dict(mapping, file=draw(st.sampled_from([name, 5, None, "../x", "nope.csv"])))]}
    mapping_text = json.dumps(mapping)
    if not draw(st.integers(0, 14)):
        mapping_text = draw(st.sampled_from(["", "{", "[]", "5", '{"key": 1}', "\ufeff{}"]))
    return name, data, mapping_text


def test_fuzz_the_importers(tmp_path):
    """Random small CSV/JSON files and random mappings through `nasbench-suite
    import`: a table (exit 0) or one line (exit 2); never 1, never a traceback."""
    counter = itertools.count()

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_import_case())
    def check(case):
        name, data, mapping_text = case
        d = tmp_path / str(next(counter))
        d.mkdir()
        (d / name).write_bytes(data)
        (d / "m.json").write_text(mapping_text, encoding="utf-8")
        source = d / name if draw_dir(mapping_text) else d
        argv = ["import", "--mapping", d / "m.json", "--source", source, "-o", d / "t.h5"]
        rc, _, err = run(argv)
        _check_outcome(argv, rc, err)
        if rc == 2:
            assert not (d / "t.h5").exists(), err

    check()


def draw_dir(mapping_text: str) -> bool:
    """A mapping with 'sources' names files in the directory --source; any other, the file."""
    return '"sources"' not in mapping_text
