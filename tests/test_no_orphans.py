"""No orphans and no litter (issue 18, item 8).

- A killed ``nasbench-suite compare`` (SIGKILL or SIGTERM) takes its pool
  workers and the multiprocessing resource tracker with it.
- The results file's lock is named after the resolved path: a symlink and
  its target share one lock (and one journal).
- Temporary files of killed rewrites (``.tmp-*.h5``) are removed once no
  writer can still be writing them, and never before.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import h5py
import pytest

from nasbench_suite.runner.results import ResultsError, ResultsWriter, Run, load_results
from nasbench_suite.runner.trajectory import Trajectory
from nasbench_suite.tables._litter import clean_stale_temps
from nasbench_suite.tables.journal import journal_path, lock_path

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux /proc")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ orphans

def _stat(pid: str):
    """(state, ppid, session) of a process from /proc/<pid>/stat; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[3])


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            st = _stat(pid)
            if st is not None and st[2] == sid and st[0] != "Z":
                out.append(int(pid))
    return out


def children(pid: int) -> list[int]:
    kids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_for(predicate, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process ended (rc {proc.returncode}) before {what}: {proc.stderr.read().decode()}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def assert_session_ends(proc, sig: int, timeout: float = 10.0) -> None:
    """Sends ``sig`` to ``proc`` alone (not its group) and asserts that no
    process of its session is left within ``timeout`` seconds."""
    sid = proc.pid
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + timeout
        left = session_processes(sid)
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = session_processes(sid)
        assert not left, "left behind: " + "; ".join(f"{p} {cmdline(p)}" for p in left)
    finally:
        for pid in session_processes(sid):  # clean up after a failure: only this session's processes
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@linux_only
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_compare_leaves_no_workers_and_no_resource_tracker(nb201_synthetic, tmp_path, sig):
    out = tmp_path / "results.h5"
    cmd = [sys.executable, "-m", "nasbench_suite.cli", "compare", "--benchmark", str(nb201_synthetic),
           "--strategies", "random_search", "--seeds", "3000", "--budget-queries", "500",
           "--search-metric", "valid_acc@12", "--report-metric", "test_acc@200", "--workers", "2", "-q",
           "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        workers = wait_for(lambda: [p for p in children(proc.pid) if "spawn_main" in cmdline(p)][1:], 60,
                           "two pool workers", proc)
        # the workers run jobs (their initialiser ran): the first runs are stored
        wait_for(lambda: out.exists() and len(load_results(out)) >= 2, 60, "the first runs", proc)
        assert any("resource_tracker" in cmdline(p) for p in children(proc.pid))  # spawn starts one
        assert workers
    finally:
        assert_session_ends(proc, sig)


@linux_only
def test_pool_opened_in_a_thread_ends_with_the_parent(tmp_path):
    """Workers spawned by a thread other than the main one (no PR_SET_PDEATHSIG:
    it follows the spawning thread) still end with the parent process."""
    script = tmp_path / "pool_in_thread.py"
    started = tmp_path / "started"
    started.mkdir()
    script.write_text(textwrap.dedent(f"""
        import os, sys, threading, time
        from nasbench_suite.runner.grid import open_executor

        def job():
            open(os.path.join({str(started)!r}, str(os.getpid())), "w").close()
            time.sleep(60)

        def run():
            with open_executor(2) as (ex, _, _):
                futures = [ex.submit(job) for _ in range(2)]
                while len(os.listdir({str(started)!r})) < 2:  # both workers run a job
                    time.sleep(0.01)
                print("ready", flush=True)
                time.sleep(120)

        if __name__ == "__main__":
            t = threading.Thread(target=run)
            t.start()
            t.join()
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read().decode()
        assert len([p for p in children(proc.pid) if "spawn_main" in cmdline(p)]) == 2
    finally:
        assert_session_ends(proc, signal.SIGKILL)


# ------------------------------------------------------------------ results lock

def _run(seed: int) -> Run:
    traj = Trajectory(time=[1.0], fidelity=[12.0], value=[90.0], cost=[1.0], incumbent_value=[90.0],
                      incumbent_report=[91.0], cell=["a"], incumbent=["a"], meta={})
    return Run("bench", "random_search", seed, traj, {"pid": os.getpid()})


@pytest.fixture
def linked_results(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "results.h5"
    ResultsWriter(real).close()
    link = tmp_path / "link.h5"
    link.symlink_to(real)
    return real, link


def test_a_symlink_and_its_target_share_one_results_lock(linked_results):
    real, link = linked_results
    for first, second in ((link, real), (real, link)):
        with ResultsWriter(first):
            with pytest.raises(ResultsError, match="another `nasbench-suite compare`"):
                ResultsWriter(second)
    assert not os.path.exists(os.fspath(link) + ".lock")  # one lock file, named after the target


def test_two_processes_through_a_symlink_and_the_target_contend(linked_results, tmp_path):
    real, link = linked_results
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from nasbench_suite.runner.results import ResultsWriter
        with ResultsWriter({str(link)!r}):
            print("locked", flush=True)
            sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == b"locked", child.stderr.read().decode()
        with pytest.raises(ResultsError, match="another `nasbench-suite compare`"):
            ResultsWriter(real)
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    ResultsWriter(real).close()  # free again once the other writer is gone


def test_writing_through_a_symlink_keeps_the_symlink_and_one_journal(linked_results):
    real, link = linked_results
    w = ResultsWriter(link)
    try:
        w.append(_run(0))
        # an uncompacted run is seen through either name
        assert set(load_results(link).runs) == set(load_results(real).runs) == {("bench", "random_search", 0)}
        w.compact()
    finally:
        w.close()
    assert os.path.islink(link) and os.path.samefile(link, real)  # not replaced by a regular file
    assert not os.path.exists(journal_path(link))
    with ResultsWriter(real) as w2:
        assert w2.done == {("bench", "random_search", 0)}


# ------------------------------------------------------------------ litter

def _temp(directory, age: float = 3600.0) -> str:
    """A temporary named as the suite's rewrites name theirs, ``age`` seconds old."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".h5", dir=directory)
    os.write(fd, b"x" * 1024)
    os.close(fd)
    old = time.time() - age
    os.utime(tmp, (old, old))
    return tmp


@linux_only
def test_stale_temps_are_removed_and_nothing_else(tmp_path):
    table = tmp_path / "t.h5"
    table.write_bytes(b"table")
    stale = [_temp(tmp_path), _temp(tmp_path)]
    fresh = _temp(tmp_path, age=1.0)
    keep = []
    for name in (".tmp-abc.h5", ".tmp-abcdefghi.h5", "x.tmp-abcdefgh.h5", ".tmp-abcdefgh.h5.bak",
                 ".tmp-ABCDEFGH.h5", "notes.h5"):
        (tmp_path / name).write_bytes(b"keep")
        keep.append(tmp_path / name)
    (tmp_path / ".tmp-dir12345.h5").mkdir()
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"keep")
    (tmp_path / ".tmp-link1234.h5").symlink_to(target)
    for p in keep + [tmp_path / ".tmp-link1234.h5", target]:
        old = time.time() - 3600
        os.utime(p, (old, old), follow_symlinks=False)

    assert sorted(clean_stale_temps(table)) == sorted(stale)
    assert not any(os.path.exists(p) for p in stale)
    assert os.path.exists(fresh)  # written to a moment ago: its writer may hold no descriptor right now
    assert all(p.exists() for p in keep) and target.exists() and table.read_bytes() == b"table"
    assert (tmp_path / ".tmp-dir12345.h5").is_dir() and (tmp_path / ".tmp-link1234.h5").is_symlink()
    assert clean_stale_temps(table, min_age=0) == [fresh]
    assert clean_stale_temps(table) == []


@linux_only
def test_temps_beside_a_symlinked_table_are_looked_for_beside_its_target(tmp_path):
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "t.h5"
    real.write_bytes(b"table")
    link = tmp_path / "t.h5"
    link.symlink_to(real)
    beside_link, beside_target = _temp(tmp_path), _temp(tmp_path / "data")
    assert sorted(clean_stale_temps(link)) == sorted([beside_link, beside_target])


@linux_only
def test_a_temp_open_in_this_process_is_kept(tmp_path):
    table = tmp_path / "t.h5"
    tmp = _temp(tmp_path)
    with h5py.File(tmp, "w"):  # a writer between h5py's open and close (it also flocks the file)
        old = time.time() - 3600
        os.utime(tmp, (old, old))
        assert clean_stale_temps(table) == []
    with open(tmp, "rb+"):  # between h5py's close and the rename: the fsync
        os.utime(tmp, (old, old))
        assert clean_stale_temps(table) == []
    assert clean_stale_temps(table) == [tmp]


@linux_only
def test_a_temp_open_in_another_process_is_kept_until_it_ends(tmp_path):
    table = tmp_path / "t.h5"
    tmp = _temp(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import sys; f = open({tmp!r}, 'rb'); print('open', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"open"
        assert clean_stale_temps(table) == [] and os.path.exists(tmp)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert clean_stale_temps(table) == [tmp]


KILLED_BEFORE_RENAME = """
import os, sys, time
sys.path.insert(0, {tests!r})
def stuck(src, dst):  # the rewrite is complete and fsync'd: stop right before the rename
    print("written", flush=True)
    time.sleep(600)
os.replace = stuck
{body}
"""


def _kill_before_rename(tmp_path, body: str) -> list:
    """Runs ``body`` in a process that is SIGKILLed right before its atomic
    rename; returns the ``.tmp-*.h5`` files it left."""
    before = set(os.listdir(tmp_path))
    code = KILLED_BEFORE_RENAME.format(tests=os.path.join(ROOT, "tests"), body=textwrap.dedent(body))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == b"written", proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
    return sorted(str(tmp_path / n) for n in set(os.listdir(tmp_path)) - before if n.startswith(".tmp-"))


def _age(paths, seconds: float = 3600.0) -> None:
    old = time.time() - seconds
    for p in paths:
        os.utime(p, (old, old))


@linux_only
def test_a_killed_table_rewrite_leaves_a_temp_that_is_cleaned_later(tmp_path):
    table = tmp_path / "t.h5"
    left = _kill_before_rename(tmp_path, f"""
        from synthetic_tables import make_nb201_table
        make_nb201_table({str(table)!r})
    """)
    assert len(left) == 1 and os.path.getsize(left[0]) > 100_000 and not table.exists()
    assert clean_stale_temps(table) == []  # just written: could be a live writer's
    _age(left)
    assert clean_stale_temps(table) == left
    assert not os.path.exists(left[0])


@linux_only
def test_opening_a_results_file_cleans_what_a_killed_compaction_left(tmp_path):
    out = tmp_path / "results.h5"
    with ResultsWriter(out) as w:
        w.append(_run(0))
    left = _kill_before_rename(tmp_path, f"""
        from nasbench_suite.runner.results import ResultsWriter, Run
        from nasbench_suite.runner.trajectory import Trajectory
        w = ResultsWriter({str(out)!r})
        w.append(Run("bench", "random_search", 1, Trajectory(time=[1.0], fidelity=[12.0], value=[90.0], cost=[1.0],
                     incumbent_value=[90.0], incumbent_report=[91.0], cell=["a"], incumbent=["a"], meta={{}})))
        w.compact()
    """)
    assert len(left) == 1
    _age(left)
    with ResultsWriter(out) as w:  # takes the lock, cleans, replays the journal
        assert w.done == {("bench", "random_search", 0), ("bench", "random_search", 1)}
    assert not os.path.exists(left[0])
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith(".tmp-")) == []


def test_a_table_named_through_a_symlink_shares_its_journal_and_stays_a_symlink(tmp_path):
    """Issue 18, item 8: the table lock and journal follow symlinks too, and a
    compaction through the link rewrites the real file."""
    import numpy as np

    from nasbench_suite.tables import Benchmark, TableWriter, append_result, compact
    from nasbench_suite.tables.journal import journal_path

    real = tmp_path / "real.h5"
    with TableWriter(real, space="nb201") as w:
        w.add_cells([0, 1])
        w.add_dataset("cifar10", seeds=[0], fidelities=[1])
        w.set("cifar10", "valid_acc", [0, 1], np.full((2, 1, 1), 50.0))
    link = tmp_path / "link.h5"
    link.symlink_to(real)
    assert journal_path(link) == journal_path(real) and lock_path(link) == lock_path(real)
    append_result(link, "nb201", 1, "cifar10", 0, 1, {"valid_acc": 61.0})
    assert Benchmark.open(real).query(1, "valid_acc", 1, "cifar10") == 61.0
    compact(link)
    assert link.is_symlink() and Benchmark.open(link).query(1, "valid_acc", 1, "cifar10") == 61.0
