"""Experiment grids: run every job of a :class:`~.gridspec.Grid` through a
``concurrent.futures`` executor into one results file (:mod:`.results`).

- :func:`run_grid` runs the jobs not yet stored in the results file on a
  local process pool, or on a Dask distributed cluster given a scheduler
  address, with a progress bar on stderr, and stores each finished run
  durably as it arrives.
- :func:`execute_job` is what a worker runs: one :func:`run_search`.
- :func:`add_compare_parser`: the ``nasbench-suite compare`` command.

The same job gives the same trajectory bytes on any executor and any number
of workers (DESIGN.md, determinism): a job carries its seed, and a worker
checks the benchmark file's sha256 before using it.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import socket
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass

from .gridspec import (DEFAULT_BUDGET, DEFAULT_SEEDS, SETTING_KEYS, BenchmarkEntry, Grid, GridConfigError,
                       GridRunError, Job, StrategyEntry, apply_hyperparameter_flags, file_sha256,
                       load_config_file, merge_config, parse_seeds, resolve_grid)
from .progress import Progress, format_seconds
from .results import ResultsWriter, Run
from .trajectory import Trajectory

SCHEDULER_TIMEOUT_S = 20  # connecting to a Dask scheduler
COMPACT_EVERY_S = 300.0  # fold the journal into the HDF5 file this often during a long grid

__all__ = ["DEFAULT_BUDGET", "DEFAULT_SEEDS", "SETTING_KEYS", "BenchmarkEntry", "Grid", "GridConfigError",
           "GridRunError", "GridSummary", "Job", "StrategyEntry", "add_compare_parser", "execute_job",
           "file_sha256", "load_config_file", "merge_config", "open_executor", "parse_seeds", "resolve_grid",
           "run_grid"]


# ------------------------------------------------------------------ running

_OPEN: dict = {}  # per worker process: path -> (sha256, Benchmark)


def _worker_benchmark(path: str, sha256: str):
    from ..tables import Benchmark

    hit = _OPEN.get(path)
    if hit is not None and hit[0] == sha256:
        return hit[1]
    actual = file_sha256(path)
    if actual != sha256:
        raise RuntimeError(f"{socket.gethostname()}:{path}: sha256 {actual[:12]}... differs from the grid's "
                           f"{sha256[:12]}...; the table changed or workers see another file")
    bench = Benchmark.open(path)
    _OPEN[path] = (sha256, bench)
    return bench


def execute_job(job: Job) -> dict:
    """Runs one job (in a worker); returns the run as a record with trajectory bytes."""
    from .search import run_search

    t0 = time.perf_counter()
    bench = _worker_benchmark(job.path, job.sha256)
    traj = run_search(bench, job.name, job.seed, job.budget, search_metric=job.search_metric,
                      report_metric=job.report_metric, dataset=job.dataset, n_workers=job.async_workers,
                      strategy_kwargs=dict(job.hyperparameters))
    return {"benchmark": job.benchmark, "strategy": job.strategy, "seed": job.seed,
            "trajectory": traj.to_bytes(),
            "info": {"wall_seconds": round(time.perf_counter() - t0, 6), "host": socket.gethostname(),
                     "pid": os.getpid(), "finished": _now()}}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the grid


# Dask's nanny starts workers with one BLAS thread (distributed.nanny.pre-spawn-environ);
# the local pool does the same, so both run the same arithmetic and cores are not oversubscribed.
_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def open_executor(workers: int | None = None, scheduler: str | None = None):
    """Yields ``(executor, slots, description)``: a process pool of ``workers``
    processes, or a Dask cluster's executor for ``scheduler``
    (``tcp://host:port``); ``slots`` bounds the jobs submitted at once."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise GridConfigError("--scheduler needs Dask distributed: "
                                  "pip install 'nasbench-suite[distributed]'") from None
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise GridConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        try:
            threads = sum(client.nthreads().values())
            yield client.get_executor(pure=False), max(2, 2 * threads), f"dask {scheduler} ({threads} threads)"
        finally:
            client.close()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = int(workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    for k, v in _ONE_THREAD.items():
        os.environ.setdefault(k, v)
    # spawn: a fresh interpreter per worker, no forked HDF5 handles or threads.
    ex = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint)
    try:
        yield ex, 2 * n, f"process pool ({n} workers)"
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("nasbench-suite", "numpy", "h5py", "dask", "distributed"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


@dataclass
class GridSummary:
    path: str
    total: int
    resumed: int
    new: int
    failed: list
    wall_seconds: float
    executor: str


def run_grid(grid: Grid, output, workers: int | None = None, scheduler: str | None = None,
             progress: bool = True, command: list | None = None, config_text: str | None = None,
             stream=None) -> GridSummary:
    """Runs the grid's jobs that ``output`` does not hold yet and stores each
    finished run durably; returns a :class:`GridSummary`. Raises
    :class:`GridConfigError` (nothing run) or :class:`GridRunError` (some runs
    failed; the others are stored).

    The local pool starts workers with ``spawn``: a script that calls this
    needs the usual ``if __name__ == "__main__":`` guard."""
    jobs = grid.jobs()
    t0 = time.monotonic()
    with open_executor(workers, scheduler) as (executor, slots, description):
        try:
            writer = ResultsWriter(output)
        except ValueError as exc:
            raise GridConfigError(str(exc)) from None
        try:
            config = merge_config(writer.config, grid)
            entry = {"started": _now(), "command": list(command or []), "config_text": config_text,
                     "executor": description, "versions": versions(), "jobs": len(jobs)}
            writer.set_config(config, entry)
            writer.compact()  # the configuration is on disk before the first run
            todo = [j for j in jobs if j.key not in writer.done]
            bar = Progress(len(jobs), done=len(jobs) - len(todo), stream=stream, enabled=progress)
            failed: list = []
            try:
                _drain(executor, slots, todo, writer, bar, failed)
            finally:
                bar.close()
                entry.update(finished=_now(), wall_seconds=round(time.monotonic() - t0, 3),
                             new_runs=bar.done - bar.resumed, failed=len(failed))
                writer.set_config(config)
        finally:
            writer.close()
    summary = GridSummary(writer.path, len(jobs), len(jobs) - len(todo), bar.done - bar.resumed, failed,
                          time.monotonic() - t0, description)
    if failed:
        job, err = failed[0]
        raise GridRunError(f"{len(failed)} of {len(todo)} runs failed (the others are stored in {writer.path}); "
                           f"first: {job.strategy} seed {job.seed} on {job.benchmark}: {err}")
    return summary


def _drain(executor, slots: int, todo: list, writer: ResultsWriter, bar: Progress, failed: list) -> None:
    """Keeps ``slots`` jobs in flight and stores each result as it arrives."""
    from concurrent.futures.process import BrokenProcessPool

    queue = iter(todo)
    futures: dict = {}

    def submit_next() -> None:
        job = next(queue, None)
        if job is not None:
            futures[executor.submit(execute_job, job)] = job

    for _ in range(slots):
        submit_next()
    last_compact = time.monotonic()
    try:
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for fut in done:
                job = futures.pop(fut)
                try:
                    rec = fut.result()
                except BrokenProcessPool as exc:
                    raise GridRunError(f"a worker process died ({exc}); finished runs are stored: "
                                       "re-run the same command to continue") from None
                except Exception as exc:  # a failed run: keep going, report at the end
                    failed.append((job, f"{type(exc).__name__}: {exc}"))
                else:
                    traj = Trajectory.from_bytes(rec["trajectory"])
                    writer.append(Run(rec["benchmark"], rec["strategy"], int(rec["seed"]), traj, rec["info"]))
                    bar.advance()
                submit_next()
            if time.monotonic() - last_compact > COMPACT_EVERY_S:
                writer.compact()
                last_compact = time.monotonic()
    finally:
        for fut in futures:
            fut.cancel()


# ------------------------------------------------------------------ command line

_DESCRIPTION = """\
Compare search strategies on tabular benchmarks: every benchmark x strategy x
seed runs one search with the same budget, and each finished run's trajectory
goes into one HDF5 results file with the full configuration that produced it
(versions, each benchmark's sha256, strategies and hyper-parameters, seeds,
the command line).

Settings come from a TOML file (CONFIG), from flags, or both (flags win).
Left out, they default to: the table's first dataset; search on valid_acc and
report test_acc, each at the highest fidelity (epochs) where the table has
values; 10 seeds (0..9); a budget of 100 queries; one simulated worker.

Resuming: run the same command again. Runs already in the results file are
skipped, so every (benchmark, strategy, seed) is stored exactly once; a
process killed at any moment (even SIGKILL) loses only the runs in flight.
More seeds or strategies can be added to an existing file the same way;
changing the budget, metrics or a table is refused (use another -o).

Execution: a local process pool (--workers, default: all cores), or with
--scheduler tcp://HOST:PORT an existing Dask distributed cluster (pip install
'nasbench-suite[distributed]'; workers must see the benchmark files at the
same paths). Results are identical either way.
"""

_EPILOG = """\
config file (TOML):
  benchmarks = ["nb201_public.h5"]          # or [[benchmarks]] tables: path, label,
                                            #   dataset, search_metric, report_metric
  dataset = "cifar10"
  search_metric = "valid_acc@12"            # metric@epochs; no @: highest with data
  report_metric = "test_acc@200"
  seeds = 20                                # or "0-19", or [0, 3, 7]
  budget = { queries = 150 }                # and/or seconds = ..., epochs = ...
  workers = 8                               # processes (or scheduler = "tcp://...")
  output = "results.h5"

  [[strategies]]
  name = "random_search"

  [[strategies]]
  name = "regularized_evolution"
  label = "RE (P=20)"                       # a label per variant
  hyperparameters = { population_size = 20, sample_size = 5 }

  Relative paths in the file are relative to the file's directory.

examples:
  nasbench-suite compare --benchmark nb201.h5 --dataset cifar10 \\
      --strategies random_search,regularized_evolution,local_search --seeds 20 \\
      --budget-queries 150 --search-metric valid_acc@12 --report-metric test_acc@200 -o results.h5
  nasbench-suite compare grid.toml                      # everything from the file
  nasbench-suite compare grid.toml --seeds 100          # same grid, more seeds (resumes)
  nasbench-suite compare grid.toml --scheduler tcp://10.0.0.5:8786
  nasbench-suite report results.h5 -o report/
"""


def add_compare_parser(subparsers):
    """Adds the ``compare`` command; its handler is stored as ``run``."""
    import argparse

    p = subparsers.add_parser("compare", help="run benchmarks x strategies x seeds into a results file",
                              description=_DESCRIPTION, epilog=_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="?", metavar="CONFIG.toml", help="grid settings (flags override them)")
    p.add_argument("--benchmark", action="append", metavar="TABLE.h5",
                   help="a table to search (repeat for several); replaces the config's benchmarks")
    p.add_argument("--dataset", metavar="NAME", help="dataset of the tables (default: each table's first)")
    p.add_argument("--strategies", metavar="A,B,...", help="registered strategy names, comma-separated")
    p.add_argument("--hp", action="append", metavar="STRATEGY.KEY=VALUE",
                   help="a strategy hyper-parameter (VALUE as JSON), e.g. regularized_evolution.population_size=20")
    p.add_argument("--seeds", metavar="N|A-B|LIST", help="10 (0..9, the default), 0-19, or 1,4,9")
    p.add_argument("--budget-queries", type=int, metavar="N", help="finished evaluations per run (default 100)")
    p.add_argument("--budget-seconds", type=float, metavar="S", help="simulated seconds per run")
    p.add_argument("--budget-epochs", type=float, metavar="E", help="trained epochs per run")
    p.add_argument("--search-metric", metavar="METRIC@EPOCHS",
                   help="what strategies see (default: valid_acc at the highest fidelity with values)")
    p.add_argument("--report-metric", metavar="METRIC@EPOCHS",
                   help="what is reported (default: test_acc at the highest fidelity with values)")
    p.add_argument("--async-workers", type=int, metavar="N",
                   help="simulated parallel evaluations inside each run (default 1)")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed scheduler")
    p.add_argument("-o", "--output", metavar="RESULTS.h5", help="results file (created or resumed)")
    p.add_argument("--dry-run", action="store_true", help="check the settings, print the plan, run nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_compare)
    return p


def settings_from_args(args) -> tuple[dict, str | None]:
    """Merges the config file (if any) and the flags; returns (settings, config text)."""
    settings, text = {}, None
    if args.config:
        settings = load_config_file(args.config)
        with open(args.config, encoding="utf-8", errors="replace") as f:
            text = f.read()
    flags = {"dataset": args.dataset, "seeds": args.seeds, "search_metric": args.search_metric,
             "report_metric": args.report_metric, "async_workers": args.async_workers,
             "workers": args.workers, "scheduler": args.scheduler, "output": args.output}
    settings.update({k: v for k, v in flags.items() if v is not None})
    if args.benchmark:
        settings["benchmarks"] = list(args.benchmark)
    if args.strategies is not None:
        settings["strategies"] = args.strategies
    budget = {k: v for k, v in (("queries", args.budget_queries), ("seconds", args.budget_seconds),
                                ("epochs", args.budget_epochs)) if v is not None}
    if budget:
        settings["budget"] = budget
    if "strategies" in settings:
        strategies = settings["strategies"]
        if isinstance(strategies, str):
            strategies = [s.strip() for s in strategies.split(",") if s.strip()]
        if isinstance(strategies, list):
            settings["strategies"] = apply_hyperparameter_flags(strategies, args.hp)
    elif args.hp:
        raise GridConfigError("--hp needs --strategies (or strategies in the config file)")
    return settings, text


def _command_line(args) -> list[str]:
    """The command as given (rebuilt from the parsed flags, so it is right
    however ``main`` was called)."""
    out = ["nasbench-suite", "compare"] + ([args.config] if args.config else [])
    for b in args.benchmark or []:
        out += ["--benchmark", b]
    for flag in ("dataset", "strategies", "seeds", "budget_queries", "budget_seconds", "budget_epochs",
                 "search_metric", "report_metric", "async_workers", "workers", "scheduler", "output"):
        value = getattr(args, flag)
        if value is not None:
            out += ["-o" if flag == "output" else "--" + flag.replace("_", "-"), str(value)]
    for hp in args.hp or []:
        out += ["--hp", hp]
    return out


def _cmd_compare(args) -> int:
    from ..cli import UsageError

    try:
        settings, text = settings_from_args(args)
        if "strategies" not in settings:
            raise GridConfigError("which strategies? pass --strategies random_search,local_search,... "
                                  "(or strategies in CONFIG.toml)")
        output = settings.get("output")
        if not output and not args.dry_run:
            raise GridConfigError("where to? pass -o RESULTS.h5 (or output in CONFIG.toml)")
        workers = settings.get("workers")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise GridConfigError(f"workers must be a positive integer, got {workers!r}")
        grid = resolve_grid(settings)
    except GridConfigError as exc:
        raise UsageError(str(exc)) from None
    jobs = grid.jobs()
    if args.dry_run:
        print(json.dumps({"jobs": len(jobs), **grid.config()}, indent=2, sort_keys=True))
        return 0
    print(f"compare: {len(grid.benchmarks)} benchmark(s) x {len(grid.strategies)} strategies x "
          f"{len(grid.seeds)} seeds = {len(jobs)} runs, budget {grid.budget.to_dict()} -> {output}",
          file=sys.stderr)
    try:
        summary = run_grid(grid, output, workers=workers, scheduler=settings.get("scheduler"),
                           progress=not args.quiet, command=_command_line(args), config_text=text)
    except GridConfigError as exc:
        raise UsageError(str(exc)) from None
    except GridRunError as exc:
        print(f"nasbench-suite: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"compare: stopped; the finished runs are stored in {output}: run the same command again "
              "to continue", file=sys.stderr)
        raise
    print(f"{summary.path}: {summary.total} runs ({summary.resumed} already stored, {summary.new} new) "
          f"in {format_seconds(summary.wall_seconds)} on {summary.executor}")
    return 0
