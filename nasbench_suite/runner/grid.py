"""Experiment grids: run every job of a :class:`~.gridspec.Grid` through a
``concurrent.futures`` executor into one results file (:mod:`.results`).

- :func:`run_grid` runs the jobs not yet stored in the results file on a
  local process pool, or on a Dask distributed cluster given a scheduler
  address, with a progress bar on stderr, and stores each finished run
  durably as it arrives.
- :func:`execute_job` is what a worker runs: one :func:`run_search`.

The same job gives the same trajectory bytes on any executor and any number
of workers (DESIGN.md, determinism): a job carries its seed, and a worker
checks the benchmark file's sha256 before using it.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import socket
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass

from .gridspec import (DEFAULT_BUDGET, DEFAULT_SEEDS, SETTING_KEYS, BenchmarkEntry, Grid, GridConfigError,
                       GridRunError, Job, StrategyEntry, file_sha256, load_config_file, merge_config,
                       parse_seeds, resolve_grid)
from ..progress import Progress
from .results import ResultsWriter, Run
from .trajectory import Trajectory

SCHEDULER_TIMEOUT_S = 20  # connecting to a Dask scheduler
COMPACT_EVERY_S = 300.0  # fold the journal into the HDF5 file this often during a long grid

__all__ = ["DEFAULT_BUDGET", "DEFAULT_SEEDS", "SETTING_KEYS", "BenchmarkEntry", "Grid", "GridConfigError",
           "GridRunError", "GridSummary", "Job", "StrategyEntry", "execute_job",
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

    t0, c0 = time.perf_counter(), time.thread_time()
    bench = _worker_benchmark(job.path, job.sha256)
    if _is_oneshot(job.name):
        traj = _run_oneshot_job(job, bench)
    elif job.objectives:
        from .multiobjective import run_mo_search

        traj = run_mo_search(bench, job.name, job.seed, job.budget, objectives=list(job.objectives),
                             report_metric=job.report_metric, dataset=job.dataset, n_workers=job.async_workers,
                             strategy_kwargs=dict(job.hyperparameters))
    else:
        traj = run_search(bench, job.name, job.seed, job.budget, search_metric=job.search_metric,
                          report_metric=job.report_metric, dataset=job.dataset, n_workers=job.async_workers,
                          strategy_kwargs=dict(job.hyperparameters))
    return {"benchmark": job.benchmark, "strategy": job.strategy, "seed": job.seed,
            "trajectory": traj.to_bytes(),
            "info": {"wall_seconds": round(time.perf_counter() - t0, 6),
                     "cpu_seconds": round(time.thread_time() - c0, 6),  # this thread's CPU time
                     "host": socket.gethostname(),
                     "pid": os.getpid(), "finished": _now()}}


def _is_oneshot(name: str) -> bool:
    from ..oneshot import is_oneshot

    return is_oneshot(name)


def _run_oneshot_job(job: Job, bench) -> Trajectory:
    """A one-shot method's run (nasbench_suite.oneshot): it trains a supernet on
    the data set named by ``train_dataset`` (default: the table's dataset) for
    its own epochs, one thread, and the table scores each epoch's derived
    cell; the grid's budget does not apply (its time axis is measured seconds)."""
    from ..oneshot import run_oneshot

    hp = dict(job.hyperparameters)
    train = hp.pop("train_dataset", job.dataset)
    hp.setdefault("threads", 1)
    return run_oneshot(job.name, dataset=train, seed=job.seed, table=bench, table_dataset=job.dataset,
                       search_metric=job.search_metric, report_metric=job.report_metric, **hp)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _worker_init(parent_pid: int) -> None:
    """Initialiser of the local pool's workers: Ctrl-C is the parent's to handle
    (it stops the grid), and a worker never outlives the parent.

    A worker blocks reading the pool's call queue, whose write end every worker
    holds too, so it would not notice a parent killed with SIGKILL or SIGTERM:
    the workers, and the resource tracker whose pipe they keep open, would run
    on as orphans. Two guards end them:

    - Linux: ``PR_SET_PDEATHSIG`` = SIGKILL, immediate even inside a C call
      that holds the GIL. The kernel sends it when the parent *thread* that
      spawned the worker exits, so it is armed only for workers spawned by the
      parent's main thread (which ends only with the process).
    - everywhere: a daemon thread that waits for the parent process to end
      (a pidfd on Linux >= 5.3, else polling ``os.getppid()``).

    A parent that died before these were set up has already handed the worker
    to another process: ``os.getppid()`` then differs and the worker exits."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _spawned_by_main_thread(parent_pid):
        _set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="nasbench-parent-watch",
                     daemon=True).start()


def _spawned_by_main_thread(parent_pid: int) -> bool:
    """Whether this process is a child of ``parent_pid``'s main thread (Linux
    /proc; False when it cannot tell)."""
    try:
        with open(f"/proc/{parent_pid}/task/{parent_pid}/children") as f:
            return str(os.getpid()) in f.read().split()
    except OSError:
        return False


def _set_parent_death_signal(sig: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, sig)`` (Linux); False where unavailable."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(1, int(sig), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _exit_with_parent(parent_pid: int) -> None:
    """Blocks until the process ``parent_pid`` (this process's parent) ends, then
    ends this process at once (os._exit: a worker holds nothing to flush)."""
    import select

    pidfd = None
    try:
        pidfd = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):  # not Linux >= 5.3 / Python >= 3.9
        pass
    try:
        # Still our parent after pidfd_open: the pidfd names it, not a process that reused the pid.
        if pidfd is not None and os.getppid() == parent_pid:
            select.select([pidfd], [], [])
        else:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
    finally:
        os._exit(1)


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
            yield (client.get_executor(pure=False), max(2, 2 * threads),
                   f"dask {scheduler} ({threads} thread{'' if threads == 1 else 's'})")
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
    ex = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
                             initargs=(os.getpid(),))
    try:
        yield ex, 2 * n, f"process pool ({n} worker{'' if n == 1 else 's'})"
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
    """What :func:`run_grid` did: the results file ``path``, the ``total`` runs
    of the grid, how many were already stored (``resumed``) and how many ran
    now (``new``), the ``failed`` ones as (job, error message) pairs, the
    ``wall_seconds`` taken and a description of the ``executor``."""

    path: str
    total: int
    resumed: int
    new: int
    failed: list
    wall_seconds: float
    executor: str


def run_grid(grid: Grid, output, workers: int | None = None, scheduler: str | None = None,
             progress: bool = True, command: list | None = None, config_text: str | None = None,
             stream=None, on_start=None) -> GridSummary:
    """Runs the grid's jobs that ``output`` does not hold yet and stores each
    finished run durably; returns a :class:`GridSummary`. Raises
    :class:`GridConfigError` (nothing run) or :class:`GridRunError` (some runs
    failed; the others are stored). ``on_start()`` is called once the results
    file is open and agrees with the grid, before the first run (the command
    prints its plan there, after every check that can refuse the grid).

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
            if on_start is not None:
                on_start()
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
        if any(e.startswith("MemoryError") for _, e in failed):
            raise GridRunError(f"out of memory while running the grid: {len(failed)} of {len(todo)} runs failed "
                               f"(the others are stored in {writer.path}); try fewer --workers or --async-workers "
                               "or a smaller budget, then run the same command again", memory=True)
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
                    raise GridRunError(f"a worker process died ({exc}; killed, or out of memory: try fewer "
                                       "--workers); finished runs are stored: re-run the same command to "
                                       "continue") from None
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
