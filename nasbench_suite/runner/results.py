"""The results file of an experiment grid: one HDF5 file plus a journal.

Layout (other tools can read it with h5py alone)::

    /                      attrs: format="nasbench-suite/results", format_version=1,
                           created, updated, config (JSON: experiment settings,
                           benchmarks with sha256, strategies with
                           hyper-parameters, seeds), history (JSON list: one
                           entry per invocation, with the command line,
                           versions, executor and wall time)
    /runs/<benchmark>/<strategy>/
        seed    (R,)       the seed of each run, ascending
        offset  (R+1,)     run i is rows offset[i]:offset[i+1] of the columns
        time, fidelity, value, cost, incumbent_value, incumbent_report
                (N,)       float64 columns of every run, one after another
        cell, incumbent
                (N,)       fixed-length ASCII strings (see Trajectory)
        meta, info (R,)    JSON per run: the trajectory's meta; wall_seconds,
                           host, pid, finished

Long columns (not a group per run) keep the file small and compressible
(gzip): a per-run group costs kilobytes of HDF5 headers.

Durability follows the table journal (:mod:`nasbench_suite.tables.journal`,
whose frame format and reader are reused): each finished run is appended to
``<results>.journal`` as one CRC-checked frame and fsync'd before the next
is collected, so a process killed with SIGKILL loses only the runs in
flight (a torn last frame is ignored). Compaction writes the stored runs
and the journal's to a temporary file, fsyncs it, renames it over the file
and only then empties the journal. Readers never lock: they read the
journal before the HDF5 file, and a run seen in both is kept once.

One writer at a time: :class:`ResultsWriter` holds an exclusive lock on
``<results>.lock`` for as long as it is open.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from ..tables._litter import clean_stale_temps
from ..tables._schema import _fsync_dir, _mode_for, now_iso
from ..tables.errors import TableFormatError
from ..tables.journal import _HEADER, MAGIC, journal_path, lock_path, read_journal
from .trajectory import _FLOAT_COLUMNS, _STR_COLUMNS, Trajectory

FORMAT_NAME = "nasbench-suite/results"
FORMAT_VERSION = 1

__all__ = ["Results", "ResultsError", "ResultsWriter", "Run", "load_results"]


class ResultsError(ValueError):
    """A results file that cannot be read or written; the message names the file and the fix."""


@dataclass
class Run:
    """One stored run: its grid key, trajectory and how it was computed."""

    benchmark: str
    strategy: str
    seed: int
    trajectory: Trajectory
    info: dict = field(default_factory=dict)  # wall_seconds, cpu_seconds, host, finished

    @property
    def key(self) -> tuple[str, str, int]:
        """``(benchmark, strategy, seed)``: the run's place in the grid."""
        return (self.benchmark, self.strategy, self.seed)

    def to_record(self) -> dict:
        """The run as plain JSON-able data (a journal frame's payload)."""
        return {"benchmark": self.benchmark, "strategy": self.strategy, "seed": self.seed,
                "trajectory": self.trajectory.to_dict(), "info": self.info}

    @classmethod
    def from_record(cls, rec: dict) -> "Run":
        """The run of a :meth:`to_record` mapping."""
        return cls(str(rec["benchmark"]), str(rec["strategy"]), int(rec["seed"]),
                   Trajectory.from_dict(rec["trajectory"]), dict(rec.get("info", {})))


@dataclass
class Results:
    """Everything a results file holds: ``config``, ``history`` and the runs by key."""

    path: str
    config: dict
    history: list
    runs: dict  # (benchmark, strategy, seed) -> Run

    def __len__(self) -> int:
        return len(self.runs)

    FRAME_COLUMNS = ("strategy", "seed", "benchmark", "dataset", "step", "time", "cell", "fidelity", "value",
                     "cost", "incumbent", "incumbent_value", "incumbent_report")  # the columns of to_frame

    def to_frame(self):
        """The runs as a ``pandas.DataFrame`` (needs the ``[analysis]`` extra:
        ``pip install 'nasbench-suite[analysis]'``): one row per run and
        finished evaluation, runs in (benchmark, strategy, seed) order.

        Columns: ``strategy``, ``seed``, ``benchmark`` (the grid's labels),
        ``dataset``, ``step`` (evaluations finished so far: 1 for the first, so
        the incumbent after ``k`` queries is at ``step == k``), then the
        trajectory's columns (see :class:`~.trajectory.Trajectory`): ``time``
        (simulated seconds), ``cell``, ``fidelity``, ``value``, ``cost``,
        ``incumbent``, ``incumbent_value``, ``incumbent_report``. A strategy's
        mean incumbent curve is
        ``df[df.strategy == name].groupby("step").incumbent_report.mean()``.
        """
        from .._pandas import import_pandas

        pd = import_pandas("Results.to_frame")
        runs = [self.runs[k] for k in sorted(self.runs)]
        benchmarks = self.config.get("benchmarks", {})
        lengths = np.array([len(r.trajectory) for r in runs], dtype=np.int64)

        def per_run(values, dtype):
            return np.repeat(np.array(values, dtype=dtype), lengths) if runs else np.zeros(0, dtype)

        datasets = [r.trajectory.meta.get("dataset", benchmarks.get(r.benchmark, {}).get("dataset", ""))
                    for r in runs]
        columns = {"strategy": per_run([r.strategy for r in runs], object),
                   "seed": per_run([r.seed for r in runs], np.int64),
                   "benchmark": per_run([r.benchmark for r in runs], object),
                   "dataset": per_run(datasets, object),
                   "step": np.concatenate([np.arange(1, n + 1) for n in lengths]).astype(np.int64)
                   if runs else np.zeros(0, np.int64)}
        for c in _FLOAT_COLUMNS:
            parts = [np.asarray(getattr(r.trajectory, c), dtype=np.float64) for r in runs]
            columns[c] = np.concatenate(parts) if parts else np.zeros(0)
        for c in _STR_COLUMNS:
            columns[c] = np.array([x for r in runs for x in getattr(r.trajectory, c)], dtype=object)
        return pd.DataFrame({c: columns[c] for c in self.FRAME_COLUMNS})


def check_label(kind: str, label: str) -> str:
    """Benchmark and strategy labels name HDF5 groups: no '/', not '.'."""
    if not isinstance(label, str) or not label.strip() or "/" in label or label in (".", ".."):
        raise ValueError(f"{kind} label {label!r} cannot name a results group: use a non-empty name without '/'")
    return label


def _open_h5(path, mode="r"):
    import h5py

    try:
        return h5py.File(path, mode)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read as HDF5 ({exc}); the results file is truncated or "
                           "corrupt: move it aside and re-run compare") from None


def _check_root(h5, path) -> None:
    fmt = h5.attrs.get("format")
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if fmt != FORMAT_NAME:
        raise ResultsError(f"{path}: not a nasbench-suite results file (format={fmt!r}); "
                           "pass the file written by `nasbench-suite compare -o`")
    version = int(h5.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise ResultsError(f"{path}: results format version {version}, this nasbench-suite reads "
                           f"version {FORMAT_VERSION}; upgrade nasbench-suite")


MAX_SEED = 2 ** 63 - 1  # seeds are stored as int64


def _record_problem(rec) -> str | None:
    """What is wrong with a journal record (a run as :meth:`Run.to_record`
    writes it), or None. A record with a valid CRC may still have been written
    by another program or version: every field is checked before it is used."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    for key in ("benchmark", "strategy"):
        label = rec.get(key)
        if not isinstance(label, str):
            return f"{key} is {label!r}, not a label" if key in rec else f"no {key!r}"
        try:
            check_label(key, label)
        except ValueError as exc:
            return str(exc)
    seed = rec.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        return f"seed is {seed!r}, not an integer from 0 to 2**63-1" if "seed" in rec else "no 'seed'"
    if not isinstance(rec.get("info", {}), dict):
        return f"info is a {type(rec['info']).__name__}, not an object"
    traj = rec.get("trajectory")
    if not isinstance(traj, dict):
        return f"trajectory is a {type(traj).__name__}, not an object" if "trajectory" in rec else "no 'trajectory'"
    lengths = {}
    for c in _FLOAT_COLUMNS:
        if c not in traj:
            return f"trajectory has no {c!r} column"
        col = traj[c]
        if not isinstance(col, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in col):
            return f"trajectory column {c!r} is not a list of numbers"
        lengths[c] = len(col)
    for c in _STR_COLUMNS:
        if c not in traj:
            return f"trajectory has no {c!r} column"
        col = traj[c]
        if not isinstance(col, list) or not all(isinstance(x, str) and x.isascii() for x in col):
            return f"trajectory column {c!r} is not a list of ASCII strings"
        lengths[c] = len(col)
    if len(set(lengths.values())) > 1:
        return "trajectory columns differ in length (" + ", ".join(f"{c} {n}" for c, n in lengths.items()) + ")"
    if not isinstance(traj.get("meta", {}), dict):
        return f"trajectory meta is a {type(traj['meta']).__name__}, not an object"
    return None


def _read_journal(path) -> list[Run]:
    jp = journal_path(path)
    try:
        records = read_journal(path)
    except TableFormatError as exc:  # the journal reader words it for tables
        text = str(exc)
        text = text[len(jp) + 2:] if text.startswith(f"{jp}: ") else text  # the path once
        raise ResultsError(f"{jp}: corrupt results journal ({text}); move it aside to "
                           "read the runs already compacted into the results file") from None
    except (ValueError, RecursionError) as exc:  # a frame with a valid CRC whose payload is not JSON
        raise ResultsError(f"{jp}: corrupt results journal (a record is not JSON: {exc}); move it aside to "
                           "read the runs already compacted into the results file") from None
    except IsADirectoryError:
        raise ResultsError(f"{jp}: is a directory, not a results journal; move it aside") from None
    except OSError as exc:
        raise ResultsError(f"{jp}: cannot read the results journal ({exc.strerror or exc})") from None
    runs = []
    for number, rec in enumerate(records, start=1):
        problem = _record_problem(rec)
        if problem is not None:
            raise ResultsError(f"{jp}: record {number} of {len(records)}: {problem}; it is not a run this "
                               "nasbench-suite wrote (the CRC is right, the content is not): move the journal "
                               "aside to read the runs already compacted into the results file")
        runs.append(Run.from_record(rec))
    return runs


_COMPRESS = dict(compression="gzip", compression_opts=4, shuffle=True)


def _column(h5group, name: str, data: np.ndarray) -> None:
    kw = dict(chunks=(min(data.shape[0], 16384),), **_COMPRESS) if data.shape[0] else {}
    h5group.create_dataset(name, data=data, **kw)


def _read_group(g, benchmark: str, strategy: str) -> list[Run]:
    seeds = g["seed"][()]
    offset = g["offset"][()]
    floats = {c: g[c][()].astype(np.float64) for c in _FLOAT_COLUMNS}
    strs = {c: g[c][()] for c in _STR_COLUMNS}
    metas, infos = g["meta"].asstr()[()], g["info"].asstr()[()]
    runs = []
    for i, seed in enumerate(seeds):
        lo, hi = int(offset[i]), int(offset[i + 1])
        kw = {c: floats[c][lo:hi].copy() for c in _FLOAT_COLUMNS}
        kw.update({c: [x.decode("ascii") for x in strs[c][lo:hi]] for c in _STR_COLUMNS})
        runs.append(Run(benchmark, strategy, int(seed), Trajectory(meta=json.loads(metas[i]), **kw),
                        json.loads(infos[i])))
    return runs


def _write_group(h5, benchmark: str, strategy: str, runs: list[Run]) -> None:
    import h5py

    runs = sorted(runs, key=lambda r: r.seed)
    g = h5.require_group("runs").require_group(benchmark).create_group(strategy)
    g.create_dataset("seed", data=np.array([r.seed for r in runs], dtype=np.int64))
    lengths = [len(r.trajectory) for r in runs]
    g.create_dataset("offset", data=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    for c in _FLOAT_COLUMNS:
        parts = [np.asarray(getattr(r.trajectory, c), dtype=np.float64) for r in runs]
        _column(g, c, np.concatenate(parts) if parts else np.zeros(0))
    for c in _STR_COLUMNS:
        values = [x.encode("ascii") for r in runs for x in getattr(r.trajectory, c)]
        width = max(1, max(map(len, values), default=1))
        _column(g, c, np.array(values, dtype=f"S{width}"))
    vlen = h5py.string_dtype("utf-8")
    g.create_dataset("meta", data=[json.dumps(r.trajectory.meta, sort_keys=True) for r in runs], dtype=vlen)
    g.create_dataset("info", data=[json.dumps(r.info, sort_keys=True) for r in runs], dtype=vlen)


def _read_runs(h5, path) -> list[Run]:
    runs = []
    try:
        for b, gb in h5.get("runs", {}).items():
            for s, gs in gb.items():
                runs += _read_group(gs, b, s)
    except (OSError, KeyError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read the stored runs ({exc}); the file is corrupt") from None
    return runs


def _stored_keys(h5) -> set:
    keys = set()
    for b, gb in h5.get("runs", {}).items():
        for s, gs in gb.items():
            keys.update((b, s, int(seed)) for seed in gs["seed"][()])
    return keys


def load_results(path) -> Results:
    """Reads a results file (and its journal: runs not compacted yet count)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ResultsError(f"{path}: no such results file; write one with `nasbench-suite compare -o {path}`")
    if os.path.isdir(path):
        raise ResultsError(f"{path}: is a directory, not a results file; pass the file written by "
                           f"`nasbench-suite compare -o`, e.g. {os.path.join(path, 'results.h5')}")
    # The journal of the resolved path (the writer's), read before the HDF5 file: a run
    # compacted in between is then seen twice, not lost.
    journal = _read_journal(os.path.realpath(path))
    runs: dict = {}
    with _open_h5(path) as h5:
        _check_root(h5, path)
        config = json.loads(h5.attrs.get("config", "{}"))
        history = json.loads(h5.attrs.get("history", "[]"))
        for run in _read_runs(h5, path):
            runs[run.key] = run
    for run in journal:
        runs.setdefault(run.key, run)
    return Results(path, config, history, runs)


class ResultsWriter:
    """The single writer of a results file: append runs durably, compact, close.

    Opening takes the lock (``ResultsError`` if another process holds it),
    creates the file if needed and folds a journal left by a killed run into
    it, so :attr:`done` is exactly the set of stored runs.
    """

    def __init__(self, path):
        # Resolved: two names of one file (a symlink and its target) share one lock and one
        # journal, and compaction renames onto the file instead of replacing the symlink.
        self.path = os.path.realpath(os.fspath(path))
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise ResultsError(f"{path}: directory {directory} does not exist; create it first")
        if os.path.isdir(self.path):
            raise ResultsError(f"{path}: is a directory; name the results file to write, e.g. "
                               f"-o {os.path.join(os.fspath(path), 'results.h5')}")
        self._lock_fd = os.open(lock_path(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise ResultsError(f"{path}: another `nasbench-suite compare` is writing this results file "
                               "(it holds the .lock); wait for it or use another -o") from None
        clean_stale_temps(self.path)  # .tmp-*.h5 of compactions killed before their rename
        self._journal_fd = None
        self._pending: list[Run] = []
        self._dirty = False
        self._created = None
        try:
            if os.path.exists(self.path):
                with _open_h5(self.path) as h5:
                    _check_root(h5, self.path)
                    self._created = str(h5.attrs.get("created", "")) or None
                    self.config = json.loads(h5.attrs.get("config", "{}"))
                    self.history = json.loads(h5.attrs.get("history", "[]"))
                    self.done = _stored_keys(h5)
                self._pending = [r for r in _read_journal(self.path) if r.key not in self.done]
                self.compact()
            else:
                self.config, self.history, self.done = {}, [], set()
                self._rewrite(create=True)
            # The journal is empty now (compacted): a torn frame cannot precede new ones.
            self._journal_fd = os.open(journal_path(self.path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC,
                                       0o644)
        except BaseException:
            self.close(compact=False)
            raise

    @property
    def exists(self) -> bool:
        """Whether the file already held a configuration when opened (or has
        one set since): False for a new results file."""
        return bool(self.config)

    def set_config(self, config: dict, history_entry: dict | None = None) -> None:
        """Replaces the stored configuration (written at the next compaction)."""
        self.config = config
        if history_entry is not None:
            self.history.append(history_entry)
        self._dirty = True

    def append(self, run: Run) -> None:
        """Stores one finished run durably (journal frame + fsync); a run whose
        key is already stored (:attr:`done`) is ignored."""
        if run.key in self.done:
            return
        payload = json.dumps(run.to_record(), sort_keys=True, separators=(",", ":")).encode("utf-8")
        view = memoryview(_HEADER.pack(MAGIC, len(payload), _core.crc32c(payload)) + payload)
        while view:
            view = view[os.write(self._journal_fd, view):]
        os.fsync(self._journal_fd)
        self.done.add(run.key)
        self._pending.append(run)

    def compact(self) -> int:
        """Moves the journal's runs into the HDF5 file; returns how many."""
        if not self._pending and not self._dirty:
            return 0
        n = len(self._pending)
        self._rewrite()
        self.done.update(r.key for r in self._pending)
        self._pending = []
        self._dirty = False
        # Emptied only after the new file is in place: a crash before this line
        # replays runs that are already stored, which readers keep once.
        jp = journal_path(self.path)
        if os.path.exists(jp):
            with open(jp, "r+b") as f:
                f.truncate(0)
                os.fsync(f.fileno())
        return n

    def _rewrite(self, create: bool = False) -> None:
        """Writes the stored runs, the pending ones and the config to a temporary
        file, fsyncs it and renames it over the results file."""
        import h5py

        runs: dict = {}
        if not create:
            with _open_h5(self.path) as h5:
                for run in _read_runs(h5, self.path):
                    runs[run.key] = run
        for run in self._pending:
            runs.setdefault(run.key, run)
        by_group: dict = {}
        for run in runs.values():
            by_group.setdefault((run.benchmark, run.strategy), []).append(run)
        directory = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".h5", dir=directory)
        os.close(fd)
        try:
            os.chmod(tmp, _mode_for(self.path))
            with h5py.File(tmp, "w") as h5:
                h5.attrs["format"] = FORMAT_NAME
                h5.attrs["format_version"] = FORMAT_VERSION
                h5.attrs["created"] = self._created or now_iso()
                h5.attrs["updated"] = now_iso()
                h5.attrs["config"] = json.dumps(self.config, sort_keys=True)
                h5.attrs["history"] = json.dumps(self.history, sort_keys=True)
                h5.create_group("runs")
                for (b, s), group in sorted(by_group.items()):
                    _write_group(h5, b, s, group)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(directory)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def close(self, compact: bool = True) -> None:
        """Compacts (unless ``compact=False``: the runs stay in the journal,
        still durable), removes an empty journal and releases the lock;
        ``with`` calls it."""
        try:
            if compact and self._journal_fd is not None:
                self.compact()
                # Every run is in the HDF5 file now; an empty journal is clutter.
                with contextlib.suppress(OSError):
                    if os.path.getsize(journal_path(self.path)) == 0:
                        os.unlink(journal_path(self.path))
        finally:
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
