"""``nasbench-suite compare``: grids, the results file, resume after SIGKILL,
Dask, and configuration errors caught before any work."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from nasbench_suite.cli import main
from nasbench_suite.runner import run_search
from nasbench_suite.runner.grid import (GridConfigError, file_sha256, load_config_file, parse_seeds, resolve_grid,
                                        run_grid)
from nasbench_suite.runner.results import ResultsError, ResultsWriter, Run, load_results
from nasbench_suite.tables.journal import journal_path

SMALL = ["--strategies", "random_search,regularized_evolution", "--seeds", "2", "--budget-queries", "30",
         "--search-metric", "valid_acc@12", "--report-metric", "test_acc@200"]


def stored_keys(path) -> list:
    """(benchmark, strategy, seed) of every run in the HDF5 file, read with h5py alone,
    repeats included."""
    with h5py.File(path, "r") as h5:
        return sorted((b, s, int(seed)) for b, gb in h5["runs"].items() for s, gs in gb.items()
                      for seed in gs["seed"][()])


def small_grid(table, strategies=("random_search", "regularized_evolution"), seeds=2, queries=30):
    return resolve_grid({"benchmarks": [str(table)], "strategies": list(strategies), "seeds": seeds,
                         "budget": {"queries": queries}, "search_metric": "valid_acc@12",
                         "report_metric": "test_acc@200"})


def test_grid_of_two_strategies_and_two_seeds(nb201_synthetic, tmp_path, capsys):
    out = tmp_path / "results.h5"
    assert main(["compare", "--benchmark", str(nb201_synthetic), *SMALL, "--workers", "2", "-o", str(out)]) == 0
    assert "4 runs (0 already stored, 4 new)" in capsys.readouterr().out
    keys = stored_keys(out)
    assert keys == [("nb201_synthetic", s, seed) for s in ("random_search", "regularized_evolution")
                    for seed in (0, 1)]
    res = load_results(out)
    for (b, s, seed), run in res.runs.items():
        again = run_search(nb201_synthetic, s, seed, {"queries": 30}, search_metric="valid_acc@12",
                           report_metric="test_acc@200", dataset="cifar10")
        again.meta["benchmark"] = run.trajectory.meta["benchmark"]
        assert run.trajectory.to_bytes() == again.to_bytes()
        assert run.info["wall_seconds"] > 0
    cfg = res.config
    bench = cfg["benchmarks"]["nb201_synthetic"]
    assert bench["sha256"] == file_sha256(nb201_synthetic)
    assert (bench["dataset"], bench["search_metric"], bench["report_metric"]) == ("cifar10", "valid_acc@12",
                                                                                   "test_acc@200")
    assert cfg["seeds"] == [0, 1] and cfg["experiment"]["budget"] == {"queries": 30}
    assert cfg["strategy_order"] == ["random_search", "regularized_evolution"]
    (entry,) = res.history
    assert entry["versions"]["numpy"] == np.__version__ and "nasbench-suite" in entry["versions"]
    assert entry["new_runs"] == 4 and entry["command"][:2] == ["nasbench-suite", "compare"]
    assert not os.path.exists(journal_path(out))  # everything compacted


def test_defaults_a_user_expects(nb201_synthetic):
    grid = resolve_grid({"benchmarks": [str(nb201_synthetic)], "strategies": "random_search"})
    (b,) = grid.benchmarks
    assert b.dataset == "cifar10"
    assert (b.search_metric, b.report_metric) == ("valid_acc@200", "test_acc@200")
    assert grid.seeds == list(range(10))
    assert grid.budget.queries == 100 and grid.async_workers == 1


@pytest.mark.realdata
def test_defaults_skip_fidelities_without_values(nb201_public):
    # The public NB201 table has valid_acc only at 12 epochs: the default is
    # the highest fidelity where the metric has values.
    grid = resolve_grid({"benchmarks": [str(nb201_public)], "strategies": "random_search", "seeds": 1})
    (b,) = grid.benchmarks
    assert (b.dataset, b.search_metric, b.report_metric) == ("cifar10", "valid_acc@12", "test_acc@200")
    assert b.report_optimum == pytest.approx(94.37333, abs=1e-4)


def test_toml_config_with_hyperparameters_and_flags(nb201_synthetic, tmp_path):
    cfg = tmp_path / "grid.toml"
    cfg.write_text(f'''
benchmarks = [{{ path = "{nb201_synthetic}", label = "syn" }}]
search_metric = "valid_acc@12"
seeds = "3-4"
budget = {{ queries = 20 }}
output = "out.h5"

[[strategies]]
name = "regularized_evolution"
label = "RE-P10"
hyperparameters = {{ population_size = 10, sample_size = 3 }}

[[strategies]]
name = "local_search"
''')
    assert main(["compare", str(cfg), "--hp", "local_search.num_init=5", "-q", "--workers", "1"]) == 0
    res = load_results(tmp_path / "out.h5")  # relative to the config file
    assert sorted(res.runs) == [("syn", s, seed) for s in ("RE-P10", "local_search") for seed in (3, 4)]
    assert res.config["strategies"]["RE-P10"] == {"name": "regularized_evolution",
                                                  "hyperparameters": {"population_size": 10, "sample_size": 3}}
    assert res.config["strategies"]["local_search"]["hyperparameters"] == {"num_init": 5}
    t = res.runs[("syn", "RE-P10", 3)].trajectory
    assert t.meta["strategy_kwargs"] == {"population_size": 10, "sample_size": 3}
    assert res.history[0]["config_text"] == cfg.read_text()


def test_rerun_resumes_and_adds_seeds(nb201_synthetic, tmp_path):
    out = tmp_path / "r.h5"
    args = ["compare", "--benchmark", str(nb201_synthetic), *SMALL, "--workers", "1", "-q", "-o", str(out)]
    assert main(args) == 0
    before = {k: r.trajectory.to_bytes() for k, r in load_results(out).runs.items()}
    assert main(args) == 0  # nothing to do
    assert main(args + ["--seeds", "3"]) == 0  # one more seed per strategy
    res = load_results(out)
    assert stored_keys(out) == sorted(res.runs) and len(res.runs) == 6
    assert all(res.runs[k].trajectory.to_bytes() == v for k, v in before.items())
    assert [h["new_runs"] for h in res.history] == [4, 0, 2]
    assert res.config["seeds"] == [0, 1, 2]


def test_torn_journal_tail_is_ignored_on_resume(nb201_synthetic, tmp_path):
    out = tmp_path / "torn.h5"
    grid = small_grid(nb201_synthetic)
    jobs = grid.jobs()
    # A writer that stored two runs in its journal, then died mid-append.
    w = ResultsWriter(out)
    from nasbench_suite.runner.grid import execute_job, merge_config
    from nasbench_suite.runner.trajectory import Trajectory

    w.set_config(merge_config({}, grid))
    w.compact()
    for job in jobs[:2]:
        rec = execute_job(job)
        w.append(Run(rec["benchmark"], rec["strategy"], rec["seed"], Trajectory.from_bytes(rec["trajectory"])))
    w.close(compact=False)
    with open(journal_path(out), "ab") as f:
        f.write(b"NBJ1\xff\x00\x00\x00partial")
    assert len(load_results(out)) == 2  # readers see the journal's complete runs
    summary = run_grid(grid, out, workers=1, progress=False)
    assert (summary.resumed, summary.new) == (2, 2)
    assert stored_keys(out) == sorted(j.key for j in jobs)


@pytest.mark.slow
def test_sigkill_mid_grid_then_rerun_stores_every_run_once(nb201_synthetic, tmp_path):
    out = tmp_path / "killed.h5"
    cmd = [sys.executable, "-m", "nasbench_suite.cli", "compare", "--benchmark", str(nb201_synthetic),
           "--strategies", "reinforce,bananas", "--seeds", "6", "--budget-queries", "100",
           "--search-metric", "valid_acc@12", "--workers", "1", "-q", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and len(load_results(out)) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker processes
        proc.wait()
    survived = len(load_results(out))
    assert 2 <= survived < 12
    assert main(["compare", *cmd[4:-5], "--workers", "2", "-q", "-o", str(out)]) == 0
    keys = stored_keys(out)
    assert len(keys) == len(set(keys)) == 12
    res = load_results(out)
    assert res.history[-1]["new_runs"] == 12 - survived
    for (b, s, seed), run in sorted(res.runs.items())[:3]:
        again = run_search(nb201_synthetic, s, seed, {"queries": 100}, search_metric="valid_acc@12")
        again.meta["benchmark"] = run.trajectory.meta["benchmark"]
        assert run.trajectory == again


@pytest.mark.slow
def test_dask_local_cluster_gives_the_local_pools_trajectories(nb201_synthetic, tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = small_grid(nb201_synthetic, strategies=("random_search", "regularized_evolution", "local_search"))
    pool = run_grid(grid, tmp_path / "pool.h5", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = run_grid(grid, tmp_path / "dask.h5", scheduler=cluster.scheduler_address, progress=False)
    assert dask.executor.startswith("dask") and (pool.new, dask.new) == (6, 6)
    a, b = load_results(tmp_path / "pool.h5"), load_results(tmp_path / "dask.h5")
    assert sorted(a.runs) == sorted(b.runs)
    for key in a.runs:
        assert a.runs[key].trajectory.to_bytes() == b.runs[key].trajectory.to_bytes()
    hosts = {r.info["pid"] for r in b.runs.values()}
    assert len(hosts) >= 1


# ------------------------------------------------------------------ bad configurations

BAD = [
    (["--strategies", "random_search,no_such_strategy"], "unknown strategy 'no_such_strategy'"),
    (["--strategies", "random_search", "--search-metric", "valid_loss@12"], "no metric 'valid_loss'"),
    (["--strategies", "random_search", "--report-metric", "test_acc@13"], "no fidelity 13"),
    (["--strategies", "random_search", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["--strategies", "random_search", "--seeds", "-3"], "seeds must be"),
    (["--strategies", "random_search", "--budget-queries", "0"], "budget queries must be a positive"),
    (["--strategies", "regularized_evolution", "--hp", "regularized_evolution.populaton_size=5"],
     "populaton_size"),
    (["--strategies", "random_search", "--hp", "local_search.num_init=5"], "not in the grid"),
    (["--strategies", "regularized_evolution", "--hp", "regularized_evolution.sample_size=0"], "sample_size"),
]


@pytest.mark.parametrize("extra,message", BAD)
def test_bad_configs_fail_before_any_work(nb201_synthetic, tmp_path, capsys, extra, message):
    out = tmp_path / "never.h5"
    assert main(["compare", "--benchmark", str(nb201_synthetic), *extra, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("nasbench-suite: error:")
    assert not out.exists()


def test_missing_or_foreign_benchmark_file(tmp_path, capsys):
    out = tmp_path / "never.h5"
    assert main(["compare", "--benchmark", str(tmp_path / "nope.h5"), "--strategies", "random_search",
                 "-o", str(out)]) == 2
    assert "no such benchmark file" in capsys.readouterr().err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    assert main(["compare", "--benchmark", str(junk), "--strategies", "random_search", "-o", str(out)]) == 2
    assert "junk.h5" in capsys.readouterr().err
    assert not out.exists()


def test_missing_strategies_or_output_are_usage_errors(nb201_synthetic, tmp_path, capsys):
    assert main(["compare", "--benchmark", str(nb201_synthetic), "-o", str(tmp_path / "x.h5")]) == 2
    assert "which strategies" in capsys.readouterr().err
    assert main(["compare", "--benchmark", str(nb201_synthetic), "--strategies", "random_search"]) == 2
    assert "-o RESULTS.h5" in capsys.readouterr().err


def test_a_different_experiment_is_refused_on_resume(nb201_synthetic, tmp_path, capsys):
    out = tmp_path / "r.h5"
    base = ["compare", "--benchmark", str(nb201_synthetic), *SMALL, "--workers", "1", "-q", "-o", str(out)]
    assert main(base) == 0
    before = out.read_bytes()
    assert main(base + ["--budget-queries", "40"]) == 2
    assert "different experiment" in capsys.readouterr().err
    assert main(base + ["--hp", "regularized_evolution.population_size=7"]) == 2
    assert "another label" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_one_writer_at_a_time(tmp_path):
    out = tmp_path / "locked.h5"
    with ResultsWriter(out):
        with pytest.raises(ResultsError, match="another `nasbench-suite compare`"):
            ResultsWriter(out)
    ResultsWriter(out).close()


def test_bad_config_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("strategies = [\n")
    with pytest.raises(GridConfigError, match="not valid TOML"):
        load_config_file(bad)
    bad.write_text('stratgies = ["random_search"]\n')
    with pytest.raises(GridConfigError, match="unknown key 'stratgies'"):
        load_config_file(bad)
    with pytest.raises(GridConfigError, match="no such config file"):
        load_config_file(tmp_path / "missing.toml")


def test_seed_forms():
    assert parse_seeds(3) == [0, 1, 2]
    assert parse_seeds("2-4") == [2, 3, 4]
    assert parse_seeds("5,1") == [5, 1]
    assert parse_seeds([7]) == [7]
    for bad in (0, "4-2", "a", [1, 1], True, [-1]):
        with pytest.raises(GridConfigError):
            parse_seeds(bad)


def test_dry_run_prints_the_plan(nb201_synthetic, capsys):
    assert main(["compare", "--benchmark", str(nb201_synthetic), *SMALL, "--dry-run"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["jobs"] == 4 and plan["seeds"] == [0, 1]


def test_unreachable_scheduler_is_a_usage_error(nb201_synthetic, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("nasbench_suite.runner.grid.SCHEDULER_TIMEOUT_S", 1)
    out = tmp_path / "never.h5"
    rc = main(["compare", "--benchmark", str(nb201_synthetic), *SMALL, "--scheduler", "tcp://127.0.0.1:9",
               "-q", "-o", str(out)])
    assert rc == 2 and "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not out.exists()


def _compare_in_a_pipe(table, out, *extra):
    cmd = [sys.executable, "-m", "nasbench_suite.cli", "compare", "--benchmark", str(table), *SMALL,
           "--workers", "1", "-o", str(out), *extra]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stderr.decode()


def test_progress_in_a_pipe_is_periodic_lines(nb201_synthetic, tmp_path):
    err = _compare_in_a_pipe(nb201_synthetic, tmp_path / "r.h5")
    assert "\r" not in err and "\x1b" not in err  # no redraws, no escape codes in a log
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert lines[0].startswith("[" + "." * 28 + "] 0/4 runs") and "ETA" in lines[0]
    assert lines[-1].startswith("[" + "#" * 28 + "] 4/4 runs") and lines[-1].endswith("done")
    assert all("/s  elapsed " in line for line in lines)
    assert len(lines) == 5  # one at the start and one per tenth reached: 4 runs, 4 lines


def test_progress_quiet_writes_nothing(nb201_synthetic, tmp_path):
    err = _compare_in_a_pipe(nb201_synthetic, tmp_path / "r.h5", "--quiet")
    assert err.startswith("compare: 1 benchmark x 2 strategies") and err.count("\n") == 1  # the plan only
    assert "ETA" not in err and "runs/s" not in err and "\r" not in err
