"""The on-disk schema (docs/FORMAT.md) and an in-memory image of a table.

Writers build a :class:`TableData` and write it atomically; compaction reads
one, merges the journal and writes it back; the lazy reader reads the same
layout piece by piece.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .errors import TableFormatError

FORMAT_NAME = "nasbench-suite/table"
FORMAT_VERSION = 1
SPACES = ("nb101", "nb201")

# Units of the known metrics (docs/FORMAT.md). Anything else is accepted with
# the units the writer states.
UNITS = {
    "train_acc": "percent", "valid_acc": "percent", "test_acc": "percent",
    "train_loss": "nats", "valid_loss": "nats", "test_loss": "nats",
    "train_time": "seconds", "epoch_time": "seconds",
    "params": "count", "flops": "count",
}
# Metrics where smaller is better; every other metric is maximised by best().
_LOWER_IS_BETTER = ("loss", "time", "params", "flops", "latency")

# Metric arrays (cells, seeds, fidelities): chunks of this many cells keep a
# single-cell read small and a whole-metric read sequential.
CELL_CHUNK = 4096
COMPRESSION = dict(compression="gzip", compression_opts=4, shuffle=True)


# How a cell finds its row: "key", by its own key (one row per cell); "class",
# by its isomorphism class (one row per class, NB201: every cell of a class,
# and every disconnected cell, resolves to its class's row).
LOOKUPS = ("key", "class")


def units_of(metric: str) -> str:
    if metric.startswith("latency_"):
        return "milliseconds"
    return UNITS.get(metric.replace("halfway_", ""), "")


def higher_is_better(metric: str) -> bool:
    return not any(word in metric for word in _LOWER_IS_BETTER)


@dataclass
class DatasetData:
    seeds: np.ndarray  # (S,) int64
    fidelities: np.ndarray  # (F,) float64, epochs, ascending
    metrics: dict = field(default_factory=dict)  # name -> (N, S, F) float64
    static: dict = field(default_factory=dict)  # name -> (N,) float64
    units: dict = field(default_factory=dict)  # name -> units


@dataclass
class TableData:
    space: str
    cells: dict  # name -> array with N rows (key, and the space's description)
    datasets: dict  # name -> DatasetData
    attrs: dict  # provenance, cost_model, created, ... (JSON-able)

    @property
    def n(self) -> int:
        return int(self.cells["key"].shape[0])


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def check_root(h5, path) -> dict:
    """Validates the root attributes; returns them decoded."""
    attrs = dict(h5.attrs)
    fmt = attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != FORMAT_NAME:
        raise TableFormatError(
            f"{path}: not a nasbench-suite table (root attribute format={fmt!r}, expected "
            f"{FORMAT_NAME!r}); convert official files with `nasbench-suite convert` or "
            "`nasbench-suite import` first"
        )
    version = int(attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise TableFormatError(
            f"{path}: table format version {version}, this nasbench-suite reads version "
            f"{FORMAT_VERSION}; upgrade nasbench-suite or re-convert the table"
        )
    space = attrs.get("space")
    if isinstance(space, bytes):
        space = space.decode()
    if space not in SPACES:
        raise TableFormatError(f"{path}: unknown search space {space!r} (known: {', '.join(SPACES)}); "
                               "upgrade nasbench-suite or re-convert the table")
    out = {"space": space}
    for name in ("provenance", "cost_model"):
        raw = attrs.get(name)
        out[name] = json.loads(raw) if raw is not None else {}
    out["created"] = str(attrs.get("created", ""))
    lookup = attrs.get("lookup", "key")
    lookup = lookup.decode() if isinstance(lookup, bytes) else str(lookup)
    if lookup not in LOOKUPS:
        raise TableFormatError(f"{path}: unknown lookup {lookup!r} (known: {', '.join(LOOKUPS)}); "
                               "upgrade nasbench-suite")
    if lookup == "class" and space != "nb201":
        raise TableFormatError(f"{path}: lookup='class' is defined for nb201 tables only")
    out["lookup"] = lookup
    return out


def corrupt(path, exc) -> TableFormatError:
    """The error for data that HDF5 cannot read (a damaged chunk, a missing group)."""
    return TableFormatError(
        f"{os.fspath(path)}: cannot read the table's data ({exc}); the file is corrupt or "
        "incomplete: re-download or re-convert it"
    )


def open_h5(path, mode="r"):
    """h5py.File with errors that say what to do."""
    import h5py

    p = os.fspath(path)
    if not os.path.exists(p):
        raise TableFormatError(f"{p}: no such table file; check the path, or build one with "
                               "`nasbench-suite import` / `nasbench-suite convert`")
    try:
        return h5py.File(p, mode)
    except OSError as exc:
        raise TableFormatError(
            f"{p}: cannot be read as HDF5 ({exc}); the file is truncated or corrupt: "
            "re-download or re-convert it"
        ) from None


def read_all(path) -> TableData:
    """The whole table in memory."""
    with open_h5(path) as h5:
        root = check_root(h5, path)
        try:
            cells = {name: h5["cells"][name][()] for name in h5["cells"]}
            datasets = {}
            for dname, g in h5["datasets"].items():
                d = DatasetData(g["seeds"][()].astype(np.int64), g["fidelities"][()].astype(np.float64))
                for kind, target in (("metrics", d.metrics), ("static", d.static)):
                    if kind in g:
                        for mname, ds in g[kind].items():
                            target[mname] = ds[()]
                            d.units[mname] = str(ds.attrs.get("units", ""))
                datasets[dname] = d
        except (OSError, KeyError) as exc:
            raise corrupt(path, exc) from None
    attrs = {"provenance": root["provenance"], "cost_model": root["cost_model"], "created": root["created"],
             "lookup": root["lookup"]}
    return TableData(root["space"], cells, datasets, attrs)


def _mode_for(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for every thread)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # platforms without directory fds
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(path, table: TableData) -> None:
    """Writes the table to a temporary file beside ``path``, fsyncs it and renames
    it over ``path``: readers see the old or the new table, never half of one."""
    import h5py

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".h5", dir=directory)
    os.close(fd)
    try:
        # mkstemp creates the file 0600; give the table the mode of the file it
        # replaces, or of any new file (umask), so others can still read it.
        os.chmod(tmp, _mode_for(path))
        with h5py.File(tmp, "w") as h5:
            h5.attrs["format"] = FORMAT_NAME
            h5.attrs["format_version"] = FORMAT_VERSION
            h5.attrs["space"] = table.space
            h5.attrs["created"] = table.attrs.get("created") or now_iso()
            h5.attrs["provenance"] = json.dumps(table.attrs.get("provenance", {}), sort_keys=True)
            h5.attrs["cost_model"] = json.dumps(table.attrs.get("cost_model", {}), sort_keys=True)
            lookup = table.attrs.get("lookup", "key")
            if lookup not in LOOKUPS:
                raise ValueError(f"lookup must be one of {', '.join(LOOKUPS)}, got {lookup!r}")
            if lookup != "key":  # "key" is the default: tables without the attribute read the same
                h5.attrs["lookup"] = lookup
            n = table.n
            chunk = max(1, min(CELL_CHUNK, n))
            gc = h5.create_group("cells")
            for name, arr in table.cells.items():
                arr = np.asarray(arr)
                kw = {}
                if n and arr.ndim >= 1:
                    kw = dict(chunks=(chunk,) + arr.shape[1:], **COMPRESSION)
                gc.create_dataset(name, data=arr, **kw)
            gd = h5.create_group("datasets", track_order=True)
            for dname, d in table.datasets.items():
                g = gd.create_group(dname)
                g.create_dataset("seeds", data=np.asarray(d.seeds, dtype=np.int64))
                g.create_dataset("fidelities", data=np.asarray(d.fidelities, dtype=np.float64))
                gm = g.create_group("metrics")
                for mname, arr in d.metrics.items():
                    kw = dict(chunks=(chunk,) + arr.shape[1:], **COMPRESSION) if n else {}
                    ds = gm.create_dataset(mname, data=np.asarray(arr, dtype=np.float64), **kw)
                    ds.attrs["units"] = d.units.get(mname) or units_of(mname)
                gs = g.create_group("static")
                for mname, arr in d.static.items():
                    kw = dict(chunks=(chunk,), **COMPRESSION) if n else {}
                    ds = gs.create_dataset(mname, data=np.asarray(arr, dtype=np.float64), **kw)
                    ds.attrs["units"] = d.units.get(mname) or units_of(mname)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(directory)  # the rename itself survives a crash (compaction then empties the journal)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
