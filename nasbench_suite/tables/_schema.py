"""The on-disk schema (docs/FORMAT.md) and an in-memory image of a table.

Writers build a :class:`TableData` and write it atomically; compaction reads
one, merges the journal and writes it back; the lazy reader reads the same
layout piece by piece.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
import uuid
from dataclasses import dataclass, field

import numpy as np

from .. import spaces
from ._spaces import no_class_lookup
from .errors import TableFormatError

FORMAT_NAME = "nasbench-suite/table"
FORMAT_VERSION = 1
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
# Negated lower-is-better quantities, maximised (TransNAS-Bench-101's valid_neg_loss).
_NEGATED = ("neg_",)
# Zero-cost proxy scores (nasbench_suite.proxies, zc_<name>): a higher score predicts a
# better network, whatever the proxy measures (zc_params, zc_flops).
_PROXY_PREFIX = "zc_"

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
    """Whether best() maximises ``metric``: not when it names a loss, time,
    size or latency, unless negated (``neg_loss``: higher is better); a
    zero-cost proxy score (``zc_<name>``, e.g. ``zc_params``) always is."""
    if metric.startswith(_PROXY_PREFIX):
        return True
    words = [w for w in _LOWER_IS_BETTER if w in metric]
    return not words or all(f"{n}{w}" in metric for w in words for n in _NEGATED)


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


def new_table_id() -> str:
    """A fresh ``table_id`` (docs/FORMAT.md): random, 32 hex digits. Every
    table a writer makes from scratch gets a new one; compaction keeps it."""
    return uuid.uuid4().hex


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
    version = attrs.get("format_version", -1)
    if isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer)):
        raise TableFormatError(
            f"{path}: root attribute format_version is {_shown(version)}, not an integer; this "
            f"nasbench-suite reads integer version {FORMAT_VERSION}: the file was not written by a "
            "nasbench-suite writer, or is damaged: re-download or re-convert it"
        )
    version = int(version)
    if version != FORMAT_VERSION:
        raise TableFormatError(
            f"{path}: table format version {version}, this nasbench-suite reads version "
            f"{FORMAT_VERSION}; upgrade nasbench-suite or re-convert the table"
        )
    space = attrs.get("space")
    if isinstance(space, bytes):
        space = space.decode()
    if space not in spaces.names():
        raise TableFormatError(f"{path}: unknown search space {space!r} (known: {', '.join(spaces.names())}); "
                               "upgrade nasbench-suite or re-convert the table")
    out = {"space": space}
    for name in ("provenance", "cost_model"):
        out[name] = _json_attr(attrs, name, path)
    _check_cost_model(out["cost_model"], path)
    out["created"] = str(attrs.get("created", ""))
    lookup = attrs.get("lookup", "key")
    lookup = lookup.decode() if isinstance(lookup, bytes) else str(lookup)
    if lookup not in LOOKUPS:
        raise TableFormatError(f"{path}: unknown lookup {lookup!r} (known: {', '.join(LOOKUPS)}); "
                               "upgrade nasbench-suite")
    if lookup == "class" and not spaces.get(space).class_lookup:
        raise TableFormatError(f"{path}: {no_class_lookup(space)}")
    out["lookup"] = lookup
    table_id = attrs.get("table_id")  # absent in tables written before journals were bound to tables
    out["table_id"] = None if table_id is None else (
        table_id.decode() if isinstance(table_id, bytes) else str(table_id))
    return out


def _shown(value) -> str:
    """An attribute value for a message: its repr (shortened) and type."""
    text = repr(value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _json_attr(attrs, name: str, path) -> dict:
    """A root attribute holding a JSON object (``provenance``, ``cost_model``)."""
    raw = attrs.get(name)
    if raw is None:
        return {}
    if isinstance(raw, np.ndarray) and raw.shape == () and raw.dtype.kind in "OSU":
        raw = raw[()]
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = None
    bad = None
    if not isinstance(raw, str):
        bad = f"is {_shown(attrs.get(name))}, not a JSON string"
    else:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            bad = f"is not valid JSON ({exc})"
        else:
            if not isinstance(value, dict):
                bad = f"is JSON {type(value).__name__}, not an object"
    if bad is not None:
        raise TableFormatError(
            f"{path}: root attribute {name} {bad}; the format (docs/FORMAT.md) stores a JSON object there: "
            "the file was not written by a nasbench-suite writer, or is damaged: re-download or re-convert it"
        )
    return value


#: Cost model kinds (docs/FORMAT.md) and the parameters each needs:
#: ``per_epoch``, seconds per epoch times epochs; ``scaled_train_time``, the
#: cell's mean ``train_time`` at ``reference_fidelity`` times fidelity /
#: reference_fidelity (tables whose time was measured at one fidelity only).
COST_MODELS = {"per_epoch": ("seconds_per_epoch",), "scaled_train_time": ("reference_fidelity",)}


def describe_cost_model(model: dict, fidelity=None) -> str:
    """What a table's simulated seconds are, in words, for a time axis:
    ``"simulated: measured 200-epoch training time scaled to 12 epochs"``,
    ``"cost model: 1 s per epoch"``, or (``{}``, a table with ``train_time``)
    ``"simulated: measured training time at the queried fidelity"``.
    ``fidelity``: the epochs every query used, None for mixed fidelities."""
    kind = (model or {}).get("kind")
    if kind == "scaled_train_time":
        to = f"{float(fidelity):g} epochs" if fidelity is not None else "each query's fidelity"
        return f"simulated: measured {float(model['reference_fidelity']):g}-epoch training time scaled to {to}"
    if kind == "per_epoch":
        return f"cost model: {float(model['seconds_per_epoch']):g} s per epoch"
    at = f" ({float(fidelity):g} epochs)" if fidelity is not None else ""
    return f"simulated: measured training time at the queried fidelity{at}"


def _check_cost_model(model: dict, path) -> None:
    """``{}``, or a known kind with every parameter a finite number > 0."""
    if not model:
        return
    kind = model.get("kind")
    if kind not in COST_MODELS:
        raise TableFormatError(
            f"{path}: root attribute cost_model {json.dumps(model)[:120]} has "
            f"{'no kind' if kind is None else f'an unknown kind {kind!r}'} (known: {', '.join(COST_MODELS)}, "
            "or {} when the table has train_time); upgrade nasbench-suite, or fix the attribute "
            'e.g. {"kind": "per_epoch", "seconds_per_epoch": 1.0}'
        )
    for param in COST_MODELS[kind]:
        value = model.get(param)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
        if not ok:
            raise TableFormatError(
                f"{path}: root attribute cost_model is a {kind} cost model whose {param} is "
                f"{'missing' if param not in model else repr(value)}, not a finite number > 0, so simulated "
                f"time would be wrong or a traceback; fix the attribute (e.g. "
                f'{{"kind": "{kind}", "{param}": 1.0}}) or re-convert the table'
            )


def _bad_layout(path, where: str, what: str) -> TableFormatError:
    return TableFormatError(
        f"{os.fspath(path)}: {where}: {what}; the file is corrupt or incomplete, or was not written by a "
        "nasbench-suite writer: re-download or re-convert it"
    )


def _axis_text(values: np.ndarray) -> str:
    shown = values[:8].tolist()
    return f"{shown}" if values.size <= 8 else f"{shown[:-1]} ... ({values.size} values)"


def _arrays_of(group) -> dict:
    """{name: (shape, "i" | "f" | "other") or None for a member that is not a
    dataset} of an HDF5 group, from the low-level API: opening a high-level
    Dataset object per member and reading its dtype costs several times more,
    and every open of a table pays it."""
    from h5py import h5d, h5t

    out = {}
    for name in group:
        try:
            d = h5d.open(group.id, name.encode("utf-8"))
        except KeyError:  # a group, or a dangling link
            out[name] = None
            continue
        cls = d.get_type().get_class()
        out[name] = (tuple(d.shape), "i" if cls == h5t.INTEGER else "f" if cls == h5t.FLOAT else "other")
    return out


def check_layout(h5, path, root: dict) -> tuple[int, dict]:
    """Checks the table's layout against docs/FORMAT.md from the HDF5
    metadata (shapes and types) and the small axis arrays, reading no cell or
    metric data, so opening stays fast. Returns (N rows, {dataset: (seeds
    int64, fidelities float64, per-fidelity metric names, static metric
    names)}). TableFormatError names the file, the dataset and the metric:

    - ``cells/key`` is (N, 2) integers and every ``cells/*`` array has N rows;
      a ``lookup="class"`` table has ``cells/canonical`` (N,);
    - each ``datasets/<d>`` has ``seeds`` (S,) distinct integers and
      ``fidelities`` (F,) finite numbers, strictly increasing;
    - ``metrics/<m>`` is (N, S, F) and ``static/<m>`` (N,), numbers, and no
      name is both.

    Unique keys (and, for ``lookup="class"``, unique canonical forms) need the
    keys: :func:`check_unique_rows` checks them where they are read."""
    import h5py

    path = os.fspath(path)
    if "cells" not in h5 or "key" not in h5["cells"] or "datasets" not in h5:
        raise TableFormatError(f"{path}: table has no cells/datasets groups; it is incomplete: re-convert it")
    cells, groups = h5["cells"], h5["datasets"]
    if not isinstance(cells, h5py.Group) or not isinstance(groups, h5py.Group):
        raise _bad_layout(path, "cells, datasets", "must be HDF5 groups")
    columns = _arrays_of(cells)
    key = columns["key"]
    if key is None or len(key[0]) != 2 or key[0][1] != 2 or key[1] != "i":
        raise _bad_layout(path, "cells/key", f"is {'not an array' if key is None else key}; the format has "
                                             "(N, 2) uint64")
    n = int(key[0][0])
    for name, col in columns.items():
        if col is None or len(col[0]) < 1 or col[0][0] != n:
            raise _bad_layout(path, f"cells/{name}", f"has shape {None if col is None else col[0]}, but the table "
                                                     f"has {n} rows (cells/key): one value per row")
    if root.get("lookup") == "class":
        canon = columns.get("canonical")
        if canon is None or len(canon[0]) != 1 or canon[1] != "i":
            raise _bad_layout(path, "cells/canonical", "lookup='class' finds rows by the canonical form, but the "
                                                       "table has no (N,) integer cells/canonical")
    axes = {}
    for dname, g in groups.items():
        where = f"dataset {dname!r}"
        if not isinstance(g, h5py.Group):
            raise _bad_layout(path, where, "datasets/<name> must be a group")
        arrays = {}
        for axis, kinds in (("seeds", "iu"), ("fidelities", "iuf")):
            ds = g.get(axis)
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.dtype.kind not in kinds:
                raise _bad_layout(path, where, f"has no {axis} axis (a 1-D array of "
                                                f"{'integers' if axis == 'seeds' else 'numbers'}); found "
                                                f"{'none' if ds is None else getattr(ds, 'shape', ds)}")
            arrays[axis] = ds[()]
        seeds, fids = arrays["seeds"], arrays["fidelities"]
        if seeds.size == 0 or fids.size == 0:
            raise _bad_layout(path, where, f"has an empty {'seed' if seeds.size == 0 else 'fidelity'} axis")
        if seeds.dtype.kind == "u" and int(seeds.max()) > np.iinfo(np.int64).max:
            raise _bad_layout(path, where, f"seed {int(seeds.max())} does not fit int64")
        seeds = seeds.astype(np.int64)
        uniq, counts = np.unique(seeds, return_counts=True)
        if (counts > 1).any():
            raise _bad_layout(path, where, f"seed {int(uniq[counts > 1][0])} appears {int(counts.max())} times in "
                                           f"the seed axis {_axis_text(seeds)}: each seed is one repeat, once")
        fids = fids.astype(np.float64)
        if not np.isfinite(fids).all():
            raise _bad_layout(path, where, f"the fidelity axis {_axis_text(fids)} holds a value that is not finite")
        if fids.size > 1 and not (np.diff(fids) > 0).all():
            i = int(np.flatnonzero(np.diff(fids) <= 0)[0])
            what = (f"fidelity {fids[i]:g} appears twice" if fids[i] == fids[i + 1]
                    else f"fidelity {fids[i]:g} comes before {fids[i + 1]:g}")
            raise _bad_layout(path, where, f"the fidelity axis {_axis_text(fids)} is not strictly increasing "
                                           f"({what}): a query would read another fidelity's values")
        names = {}
        for kind, shape in (("metrics", (n, seeds.size, fids.size)), ("static", (n,))):
            sub = g.get(kind)
            if sub is None:
                names[kind] = ()
                continue
            if not isinstance(sub, h5py.Group):
                raise _bad_layout(path, where, f"{kind} must be a group of arrays")
            arrays_of = _arrays_of(sub)
            for mname, ds in arrays_of.items():
                if ds is None or ds[1] == "other":
                    raise _bad_layout(path, f"{where}, {kind} {mname!r}", "is not an array of numbers")
                if ds[0] != shape:
                    axes_text = (f"{n} rows, {seeds.size} seeds {_axis_text(seeds)} and {fids.size} fidelities "
                                 f"{_axis_text(fids)}" if kind == "metrics" else f"{n} rows")
                    expect = "(rows, seeds, fidelities)" if kind == "metrics" else "(rows,)"
                    raise _bad_layout(path, f"{where}, {'metric' if kind == 'metrics' else 'static metric'} "
                                            f"{mname!r}",
                                      f"has shape {ds[0]}, but the table has {axes_text}: the array must be "
                                      f"{expect} = {shape}, or values would be read at the wrong "
                                      f"{'seed or fidelity' if kind == 'metrics' else 'row'}")
            names[kind] = tuple(arrays_of)
        both = sorted(set(names["metrics"]) & set(names["static"]))
        if both:
            raise _bad_layout(path, f"{where}, metric {both[0]!r}", "is both a per-fidelity and a static metric")
        axes[dname] = (seeds, fids, names["metrics"], names["static"])
    return n, axes


def check_unique_rows(path, keys: np.ndarray, what: str = "cells/key") -> None:
    """TableFormatError unless the rows' keys (``cells/key``, (N, 2)) or
    canonical forms (``cells/canonical``, (N,), for ``lookup="class"``) are
    unique: docs/FORMAT.md, a cell finds one row."""
    keys = np.asarray(keys)
    if keys.ndim == 2:
        if keys.shape[0] < 2:
            return
        order = np.lexsort((keys[:, 1], keys[:, 0]))
        sk = keys[order]
        dup = np.flatnonzero((sk[1:] == sk[:-1]).all(axis=1))
    else:
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        dup = np.flatnonzero(sk[1:] == sk[:-1])
    if dup.size:
        a, b = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        rule = ("lookup='class' finds one row per isomorphism class, so rows must be unique by canonical form "
                "(a table of one row per cell has no lookup attribute)" if what == "cells/canonical"
                else "a cell's key finds one row")
        raise _bad_layout(path, what, f"rows {a} and {b} have the same value {sk[dup[0]].tolist()} "
                                      f"({dup.size} duplicate(s) in all); {rule}")


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
    """The whole table in memory (its layout checked: :func:`check_layout`,
    :func:`check_unique_rows`)."""
    with open_h5(path) as h5:
        root = check_root(h5, path)
        try:
            _, axes = check_layout(h5, path, root)
            cells = {name: h5["cells"][name][()] for name in h5["cells"]}
            check_unique_rows(path, cells["key"])
            if root["lookup"] == "class":
                check_unique_rows(path, cells["canonical"], "cells/canonical")
            datasets = {}
            for dname, g in h5["datasets"].items():
                d = DatasetData(*axes[dname][:2])
                for kind, target in (("metrics", d.metrics), ("static", d.static)):
                    if kind in g:
                        for mname, ds in g[kind].items():
                            target[mname] = ds[()]
                            d.units[mname] = str(ds.attrs.get("units", ""))
                datasets[dname] = d
        except (OSError, KeyError) as exc:
            raise corrupt(path, exc) from None
    attrs = {"provenance": root["provenance"], "cost_model": root["cost_model"], "created": root["created"],
             "lookup": root["lookup"], "table_id": root["table_id"]}
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

    path = os.path.realpath(os.fspath(path))  # a symlinked table stays a symlink
    directory = os.path.dirname(path)
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
            if table.attrs.get("table_id"):  # binds the journal to this table (journal.py)
                h5.attrs["table_id"] = str(table.attrs["table_id"])
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
