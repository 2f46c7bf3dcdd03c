"""Building tables: :class:`TableWriter` (bulk, atomic) and the in-memory
:class:`TableBuilder` that compaction of the journal also uses."""
from __future__ import annotations

import hashlib
import os

import numpy as np

from .. import __version__
from ._litter import clean_stale_temps
from ._schema import LOOKUPS, DatasetData, TableData, new_table_id, now_iso, units_of, write_all
from ._spaces import no_class_lookup, table_space
from .journal import journal_path, lock_path, retire_journal, table_lock
from .errors import UnknownName


def sha256_of(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _grow_rows(arr: np.ndarray, n: int, fill) -> np.ndarray:
    """arr with at least n rows (capacity doubles; new rows = fill)."""
    if arr.shape[0] >= n:
        return arr
    cap = max(n, 2 * arr.shape[0], 64)
    out = np.full((cap,) + arr.shape[1:], fill, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


class TableBuilder:
    """A table in memory: cells, datasets with seed and fidelity axes, metrics.

    Rows are keyed by the space's cell key; adding a cell twice gives its row.
    Arrays keep spare capacity; :meth:`table` trims them.
    """

    def __init__(self, space: str, table: TableData | None = None):
        self._space = table_space(space)
        self.space = self._space.name
        if table is None:
            table = TableData(space, {}, {}, {"provenance": {}, "cost_model": {}})
        self._cells = {k: np.asarray(v) for k, v in table.cells.items()}
        self._n = table.n if "key" in table.cells else 0
        self._datasets = table.datasets
        self.provenance = dict(table.attrs.get("provenance", {}))
        self.cost_model = dict(table.attrs.get("cost_model", {}))
        self._created = table.attrs.get("created")
        # Kept through compaction (the journal's records belong to the
        # compacted table too); a TableWriter gives each new table a new one.
        self.table_id = table.attrs.get("table_id")
        self.lookup = table.attrs.get("lookup", "key")

    @property
    def lookup(self) -> str:
        """How cells find their rows (docs/FORMAT.md): "key", one row per cell;
        "class" (NB201), one row per isomorphism class, so a cell whose class
        already has a row gets that row."""
        return self._lookup

    @lookup.setter
    def lookup(self, value: str) -> None:
        if value not in LOOKUPS:
            raise ValueError(f"lookup must be one of {', '.join(LOOKUPS)}, got {value!r}")
        if value == "class" and not self._space.class_lookup:
            raise ValueError(no_class_lookup(self.space))
        self._lookup = value
        n = self._n
        keys = self._row_keys(self._cells) if n else np.zeros((0, 2), np.uint64)
        self._row_of = {}
        for i, (a, b) in enumerate(keys[:n].tolist()):
            self._row_of.setdefault((a, b), i)

    def _row_keys(self, desc: dict) -> np.ndarray:
        """(N, 2) uint64 row keys: the cell key, or for lookup="class" the
        canonical form (0 for every disconnected cell)."""
        if self._lookup == "class":
            canon = np.asarray(desc["canonical"], dtype=np.uint64).reshape(-1)
            return np.stack([canon, np.zeros_like(canon)], axis=1)
        return np.ascontiguousarray(desc["key"], dtype=np.uint64).reshape(-1, 2)

    def __len__(self) -> int:
        return self._n

    # ---- cells
    def add_cells(self, cells) -> np.ndarray:
        """Rows of the cells, adding the new ones. Accepts what the space's
        table rows need (nb101: Cell or {"matrix", "ops"}; nb201: Cell, arch
        string or official index)."""
        return self._add_described(self._space.table_describe(self._space.table_cells(list(cells))))

    def add_cell_arrays(self, matrices, labels) -> np.ndarray:
        """NB101 only: rows of N cells given as batch arrays ((N, V, V) 0/1
        matrices, (N, V) labels), adding the new ones. Much faster than
        :meth:`add_cells` for whole-space tables."""
        describe = getattr(self._space, "table_describe_arrays", None)
        if describe is None:
            raise ValueError(f"add_cell_arrays is for spaces of matrix cells; {self.space} add_cells takes "
                             "an index array")
        return self._add_described(describe(matrices, labels))

    def _add_described(self, desc: dict) -> np.ndarray:
        keys = self._row_keys(desc)
        # Distinct keys of the batch in order of first appearance.
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first)
        tuples = list(zip(keys[first[order], 0].tolist(), keys[first[order], 1].tolist()))
        known = [self._row_of.get(t, -1) for t in tuples] if self._row_of else [-1] * len(tuples)
        uniq_rows = np.array(known, dtype=np.int64)
        new_pos = np.flatnonzero(uniq_rows < 0)
        uniq_rows[new_pos] = self._n + np.arange(new_pos.size)
        self._row_of.update(zip((tuples[i] for i in new_pos), uniq_rows[new_pos].tolist()))
        rank = np.empty(first.size, dtype=np.int64)
        rank[order] = np.arange(first.size)
        rows = uniq_rows[rank[inverse.reshape(-1)]]
        fresh = first[order][new_pos]
        if fresh.size:
            new_n = self._n + len(fresh)
            for name, arr in desc.items():
                cur = self._cells.get(name)
                if cur is None:
                    cur = np.zeros((0,) + arr.shape[1:], dtype=arr.dtype)
                cur = _grow_rows(cur, new_n, 0)
                cur[self._n:new_n] = arr[fresh]
                self._cells[name] = cur
            for d in self._datasets.values():
                for name in d.metrics:
                    d.metrics[name] = _grow_rows(d.metrics[name], new_n, np.nan)
                for name in d.static:
                    d.static[name] = _grow_rows(d.static[name], new_n, np.nan)
            self._n = new_n
        return rows

    # ---- axes
    def add_dataset(self, name: str, seeds, fidelities) -> None:
        """Adds a dataset with its axes: ``seeds`` (distinct integers, one per
        repeat) and ``fidelities`` (epochs, strictly increasing). Metrics set
        later are (cells, len(seeds), len(fidelities)) arrays. Raises
        ValueError for a dataset already added or invalid axes."""
        seeds = np.asarray(list(seeds), dtype=np.int64)
        fids = np.asarray(list(fidelities), dtype=np.float64)
        if name in self._datasets:
            raise ValueError(f"dataset {name!r} was already added")
        if seeds.size == 0 or np.unique(seeds).size != seeds.size:
            raise ValueError(f"dataset {name!r}: seeds must be a non-empty list of distinct integers")
        if fids.size == 0 or np.any(np.diff(fids) <= 0):
            raise ValueError(f"dataset {name!r}: fidelities must be non-empty and strictly increasing (epochs)")
        self._datasets[name] = DatasetData(seeds, fids)

    def extend_axes(self, name: str, seed=None, fidelity=None) -> None:
        """Adds a dataset, seed or fidelity that a new result needs (journal replay)."""
        if name not in self._datasets:
            self.add_dataset(name, [0 if seed is None else seed], [1.0 if fidelity is None else fidelity])
            return
        d = self._datasets[name]
        if seed is not None and int(seed) not in d.seeds:
            d.seeds = np.append(d.seeds, int(seed))
            for m, arr in d.metrics.items():
                pad = np.full(arr.shape[:1] + (1,) + arr.shape[2:], np.nan, arr.dtype)
                d.metrics[m] = np.concatenate([arr, pad], axis=1)
        if fidelity is not None and float(fidelity) not in d.fidelities:
            fids = np.append(d.fidelities, float(fidelity))
            order = np.argsort(fids, kind="stable")
            d.fidelities = fids[order]
            for m, arr in d.metrics.items():
                pad = np.full(arr.shape[:2] + (1,), np.nan, arr.dtype)
                d.metrics[m] = np.concatenate([arr, pad], axis=2)[:, :, order]

    def _dataset(self, name: str) -> DatasetData:
        try:
            return self._datasets[name]
        except KeyError:
            raise UnknownName(f"unknown dataset {name!r}; add it with add_dataset() first "
                              f"(have: {', '.join(self._datasets) or 'none'})") from None

    @staticmethod
    def _axis_index(axis: np.ndarray, value, what: str, dataset: str) -> int:
        hits = np.flatnonzero(axis == value)
        if hits.size == 0:
            raise UnknownName(f"dataset {dataset!r} has no {what} {value!r} (have: {axis.tolist()})")
        return int(hits[0])

    # ---- values
    def set(self, dataset: str, metric: str, rows, values, seed=None, fidelity=None, units: str | None = None):
        """Sets a per-seed, per-fidelity metric. ``values`` broadcast to
        (len(rows), S, F); with ``seed=`` (a seed value) or ``fidelity=`` (an
        epoch value) those axes are dropped from the expected shape."""
        d = self._dataset(dataset)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self._n):
            raise IndexError(f"rows must be in 0..{self._n - 1} (use add_cells() first)")
        arr = d.metrics.get(metric)
        if arr is None:
            cap = max(self._n, self._cells["key"].shape[0] if "key" in self._cells else 0)
            arr = np.full((cap, d.seeds.size, d.fidelities.size), np.nan, dtype=np.float64)
            d.metrics[metric] = arr
            d.units[metric] = units or units_of(metric)
        s = slice(None) if seed is None else self._axis_index(d.seeds, seed, "seed", dataset)
        f = slice(None) if fidelity is None else self._axis_index(d.fidelities, float(fidelity), "fidelity", dataset)
        shape = arr[rows, s, f].shape
        arr[rows, s, f] = np.broadcast_to(np.asarray(values, dtype=np.float64), shape)

    def set_static(self, dataset: str, metric: str, rows, values, units: str | None = None):
        """Sets a metric that depends on neither seed nor fidelity (params, flops, latency_<device>)."""
        d = self._dataset(dataset)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        arr = d.static.get(metric)
        if arr is None:
            cap = max(self._n, self._cells["key"].shape[0] if "key" in self._cells else 0)
            arr = np.full(cap, np.nan, dtype=np.float64)
            d.static[metric] = arr
            d.units[metric] = units or units_of(metric)
        arr[rows] = values

    def add_source(self, path) -> None:
        """Records a source file (name, size, sha256) in the provenance."""
        sources = self.provenance.setdefault("sources", [])
        sources.append({"file": os.path.basename(os.fspath(path)), "bytes": os.path.getsize(path),
                        "sha256": sha256_of(path)})

    def table(self) -> TableData:
        """The table built so far as an in-memory ``TableData`` (arrays trimmed
        to the cells added; the provenance records the suite's version), what
        the writer stores."""
        n = self._n
        cells = {k: v[:n] for k, v in self._cells.items()}
        if "key" not in cells:
            cells = {k: v[:0] for k, v in self._space.table_describe([]).items()}
        datasets = {}
        for name, d in self._datasets.items():
            datasets[name] = DatasetData(
                d.seeds, d.fidelities,
                {m: a[:n] for m, a in d.metrics.items()},
                {m: a[:n] for m, a in d.static.items()},
                dict(d.units),
            )
        prov = dict(self.provenance)
        prov.setdefault("nasbench_suite_version", __version__)
        return TableData(self.space, cells, datasets,
                         {"provenance": prov, "cost_model": self.cost_model, "created": self._created or now_iso(),
                          "lookup": self.lookup, "table_id": self.table_id})


class TableWriter(TableBuilder):
    """Builds a table and writes it atomically when the ``with`` block ends.

    >>> with TableWriter("t.h5", space="nb201") as w:
    ...     w.add_dataset("cifar10", seeds=[0], fidelities=[12, 200])
    ...     rows = w.add_cells([0, 1, 2])
    ...     w.set("cifar10", "test_acc", rows, [[[50, 90]], [[40, 80]], [[30, 70]]])

    An exception inside the block leaves nothing at ``path``.

    The new table gets a new ``table_id``. A ``<path>.journal`` left by the
    table it replaces (results appended to the old table) is not replayed onto
    the new one: an empty one is removed, one with results is moved to
    ``<path>.journal.stale-<UTC time>`` with a warning (``stale_journal``
    names it afterwards).
    """

    def __init__(self, path, space: str, overwrite: bool = False):
        path = os.fspath(path)
        if os.path.exists(path) and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
        super().__init__(space)
        self.path = path
        self.table_id = new_table_id()
        self.stale_journal: str | None = None
        self.provenance["created_by"] = f"nasbench-suite {__version__}"

    def close(self) -> str:
        """Writes the table to ``path`` atomically (a temporary file renamed
        over it) and returns ``path``; leaving the ``with`` block without an
        exception calls it. A journal left by the table it replaces is
        retired (see the class docstring; ``stale_journal``)."""
        clean_stale_temps(self.path)  # .tmp-*.h5 left by rewrites killed before their rename
        if os.path.exists(journal_path(self.path)) or os.path.exists(lock_path(self.path)):
            # Under the table's lock: no append or compaction runs between the
            # new table and the retirement of the old table's journal.
            with table_lock(self.path):
                write_all(self.path, self.table())
                self.stale_journal = retire_journal(self.path, self.table_id, locked=True)
        else:
            write_all(self.path, self.table())
            # (an appender may have created a journal meanwhile: it is checked too)
            self.stale_journal = retire_journal(self.path, self.table_id)
        return self.path

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
