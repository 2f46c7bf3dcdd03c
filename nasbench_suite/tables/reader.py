"""Reading tables: :class:`Benchmark`.

Opening reads only the root attributes and the dataset axes, and checks the
layout against the format from the HDF5 metadata (no metric data read). The
cell keys are read, checked unique and indexed (the core's open-addressing
index, no Python dict) on the first lookup; a metric is read for the rows a small query needs, or read
whole and cached once a query is large. A table with unmerged journal
records is read whole, with the records applied (see :mod:`.journal`).
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import _core
from .._errors import InvalidSpecError
from ._schema import (check_layout, check_root, check_unique_rows, corrupt, describe_cost_model, higher_is_better,
                      open_h5, read_all)
from ._spaces import is_scalar_cell, table_space
from .errors import CellNotInTable, StaleJournal, TableFormatError, UnknownName
from .journal import apply_records, check_bound, read_journal_and_header

_SMALL_QUERY = 64  # rows; larger queries read the whole metric once and cache it
_SMALL_READS = 4  # small reads of a metric before it is read whole and cached


def _first_missing(items, rows: np.ndarray):
    """The first of ``items`` whose row is -1 (for the error message)."""
    first = int(np.flatnonzero(rows < 0)[0])
    item = items.reshape(-1)[first] if isinstance(items, np.ndarray) else items[first]
    return int(item) if isinstance(item, np.integer) else item  # "3", not "np.int64(3)"


class Benchmark:
    """A tabular benchmark in the nasbench-suite HDF5 format (docs/FORMAT.md).

    A table holds, for each cell (architecture) of one search space, the
    metrics of training it on one or more datasets: per-fidelity metrics as
    (cells, seeds, fidelities) arrays (``valid_acc``, ``test_acc``,
    ``train_time``, ...) and static ones as (cells,) arrays (``params``,
    ``flops``). Accuracies are percent (0-100), losses nats, times seconds,
    fidelities epochs (units: docs/FORMAT.md).

    Open one with :meth:`open` (never the constructor); it reads lazily (only
    the arrays a query needs) and is a context manager::

        from nasbench_suite.tables import Benchmark
        with Benchmark.open("tabular_data/nb201-digits.h5") as bench:
            bench.datasets                     # ('digits',)
            bench.metrics("digits")            # ('epoch_time', 'test_acc', ...)
            bench.fidelities()                 # array([1., 2., ..., 7.])
            bench.query("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                        "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
                        "valid_acc", fidelity=7)   # one cell: a float
            bench.query(range(100), "test_acc")  # many cells (here NB201 indices): an array
            bench.best("test_acc")             # (cell, value)

    Reading: :meth:`query` (values of cells; mean over seeds, one repeat, or
    a repeat drawn at random), :meth:`cost` (simulated training seconds),
    :meth:`row_values` / :meth:`best` (the whole table), :meth:`rows`,
    :meth:`cell`, :meth:`labels`, :meth:`canonical_keys` (rows and cells),
    ``len(bench)`` (rows). A ``dataset`` argument defaults to the table's
    first dataset, a ``fidelity`` to its highest.

    Attributes: ``path``; ``space`` (the search space's name; the object is
    :attr:`search_space`); ``provenance`` (where the values come from: a
    mapping); ``cost_model`` (how :meth:`cost` prices a query,
    docs/FORMAT.md; :meth:`cost_description` in words); ``lookup``
    (``"key"``: one row per cell, found by its canonical key; ``"class"``: one row per class of equal networks, cells
    found through their class, see :meth:`class_rows`).

    Errors (all :class:`~nasbench_suite.tables.TableError`):
    :class:`~nasbench_suite.tables.TableFormatError` for a file that is not
    a valid table, :class:`~nasbench_suite.tables.UnknownName` for a dataset,
    metric, fidelity or repeat the table lacks (the message lists those it
    has), :class:`~nasbench_suite.tables.CellNotInTable` for a cell it does
    not hold (unless ``missing="nan"``). Results appended by
    :func:`~nasbench_suite.tables.append_result` (the journal) are visible to
    tables opened afterwards.
    """

    def __init__(self, path, h5, root: dict, memory=None, layout=None):
        self.path = os.fspath(path)
        self._h5 = h5
        self._mem = memory  # TableData when the journal had records
        self.space = root["space"]
        self.provenance = root["provenance"]
        self.cost_model = root["cost_model"]
        self.lookup = root.get("lookup", "key")
        self._class_lut = None
        self._space = table_space(self.space)
        self._index = None
        self._cells_cache: dict = {}
        self._cache: dict = {}
        self._small_reads: dict = {}
        self._means: dict = {}
        if memory is not None:
            self._n = memory.n
            self._axes = {name: (d.seeds, d.fidelities, tuple(d.metrics), tuple(d.static))
                          for name, d in memory.datasets.items()}
        else:
            # Shapes and axes checked against the format (metadata and the
            # small axis arrays only): a metric that does not match its axes
            # is refused here, not read at the wrong seed or fidelity.
            self._n, self._axes = layout if layout is not None else check_layout(h5, path, root)

    @classmethod
    def open(cls, path) -> "Benchmark":
        """Opens the table at ``path`` (str or path-like) lazily: only the
        metadata and axes are read now, values on first query; the results
        its journal holds (appended since the last compaction) are included.

        Raises TableFormatError for a missing, corrupt,
        foreign or wrong-version file, or one whose layout breaks the format
        (shapes, axes, attributes: ``_schema.check_layout``), StaleJournal for
        a journal that belongs to another table and CorruptJournal for a
        damaged one (see journal.py; ``nasbench-suite repair`` salvages it)."""
        header, records = read_journal_and_header(path)  # before the HDF5 file, see journal.py
        h5 = open_h5(path)
        try:
            root = check_root(h5, path)
            try:
                check_bound(path, header, records, root["table_id"])
            except StaleJournal:
                # Once more: a writer that replaced the table retires the old
                # table's journal right after (under the lock); the table open
                # now is the new one, so the journal read now is the one to use.
                header, records = read_journal_and_header(path)
                check_bound(path, header, records, root["table_id"])
            try:
                layout = check_layout(h5, path, root)
            except (OSError, KeyError) as exc:  # a damaged or incomplete dataset group
                raise corrupt(path, exc) from None
            memory = None
            if records:
                from .writer import TableBuilder

                builder = TableBuilder(root["space"], read_all(path))
                apply_records(builder, records)
                memory = builder.table()
            try:
                return cls(path, h5, root, memory, layout)
            except (OSError, KeyError) as exc:  # a damaged or incomplete dataset group
                raise corrupt(path, exc) from None
        except BaseException:
            h5.close()
            raise

    def close(self) -> None:
        """Closes the HDF5 file (idempotent; leaving a ``with`` block calls
        it). Do not query a closed table."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __enter__(self) -> "Benchmark":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"Benchmark({self.path!r}, space={self.space!r}, cells={self._n}, datasets={list(self._axes)})"

    # ---- names and axes
    @property
    def search_space(self):
        """The table's :class:`~nasbench_suite.spaces.SearchSpace` (``space`` is its name)."""
        return self._space

    @property
    def datasets(self) -> tuple[str, ...]:
        """The names of the table's datasets, in stored order (the first is
        the default ``dataset`` of every method)."""
        return tuple(self._axes)

    def _ds(self, dataset):
        if dataset is None:
            if not self._axes:
                raise UnknownName(f"{self.path}: the table has no datasets")
            dataset = next(iter(self._axes))
        if dataset not in self._axes:
            raise UnknownName(f"{self.path}: unknown dataset {dataset!r}; the table has {', '.join(self._axes)}")
        return dataset, self._axes[dataset]

    def metrics(self, dataset: str | None = None) -> tuple[str, ...]:
        """The metric names of ``dataset`` (default: the first): the
        per-fidelity ones, then the static ones. UnknownName for a dataset the
        table lacks."""
        _, (_, _, dyn, static) = self._ds(dataset)
        return dyn + static

    def static_metrics(self, dataset: str | None = None) -> tuple[str, ...]:
        """The static metric names of ``dataset`` (default: the first): one
        value per row, no seed, no fidelity (``params``, proxies ``zc_<name>``).
        UnknownName for a dataset the table lacks."""
        return tuple(self._ds(dataset)[1][3])

    def fidelities(self, dataset: str | None = None) -> np.ndarray:
        """The fidelity axis of ``dataset`` (default: the first) in epochs,
        increasing: a float64 array (a copy)."""
        return self._ds(dataset)[1][1].copy()

    def seeds(self, dataset: str | None = None) -> np.ndarray:
        """The seed of each repeat of ``dataset``: an int64 array (a copy). An
        int ``seed=`` argument of :meth:`query` is an index into it, not a seed."""
        return self._ds(dataset)[1][0].copy()

    # ---- cells
    def _cell_array(self, name: str) -> np.ndarray:
        if self._mem is not None:
            return self._mem.cells[name]
        if name not in self._cells_cache:
            try:
                self._cells_cache[name] = self._h5["cells"][name][()]
            except (OSError, KeyError) as exc:  # a damaged chunk, a missing column
                raise corrupt(self.path, exc) from None
        return self._cells_cache[name]

    def _key_index(self):
        if self._index is None:
            keys = np.ascontiguousarray(self._cell_array("key"), dtype=np.uint64)
            try:
                self._index = _core.KeyIndex(keys)
            except InvalidSpecError:  # a duplicate key: say which rows, in which file
                check_unique_rows(self.path, keys)
                raise
        return self._index

    def rows(self, cells, missing: str = "raise") -> np.ndarray:
        """The table row of each cell (cells as :meth:`query` takes them): an
        int64 array, length 1 for a single cell. A cell the table lacks raises
        CellNotInTable, or is -1 with ``missing="nan"``."""
        scalar = is_scalar_cell(self._space, cells)
        if self.lookup == "class":
            return self._class_rows(cells, scalar, missing)
        idx = self._key_index()
        if scalar and missing in ("raise", "nan"):
            # One cell found at once (a search's lookup): no arrays, no
            # description. Misses and malformed input take the general path
            # and its errors.
            r = self._space.table_find_one(idx, cells)
            if r >= 0:
                return np.array([r], dtype=np.int64)
        items = [cells] if scalar else cells
        rows = self._space.table_find_many(idx, items)
        if rows is None:
            rows = idx.find(self._space.table_keys(items))
        if missing == "raise":
            if (rows < 0).any():
                bad = _first_missing(items, rows)
                raise CellNotInTable(
                    f"{self.path}: the table does not hold {bad!r}; train it (the evaluator does) "
                    "or pass missing='nan'"
                )
        elif missing != "nan":
            raise ValueError(f"missing must be 'raise' or 'nan', got {missing!r}")
        return rows

    def class_rows(self) -> np.ndarray:
        """lookup="class" tables: the row of every cell of the space in its
        index order (-1 where the table lacks the cell's class)."""
        if self._class_lut is None:
            keys = self._space.all_canonical_keys()  # cells with no network: key 0
            canon = np.asarray(self._cell_array("canonical"), dtype=np.uint64)
            order = np.argsort(canon, kind="stable")
            sorted_keys = canon[order]
            if canon.size > 1 and (sorted_keys[1:] == sorted_keys[:-1]).any():
                # one row per class is what lookup="class" means: a duplicate
                # would resolve a class to one of its rows silently
                check_unique_rows(self.path, canon, "cells/canonical")
            pos = np.minimum(np.searchsorted(sorted_keys, keys), max(canon.size - 1, 0))
            hit = sorted_keys[pos] == keys if canon.size else np.zeros(keys.size, bool)
            self._class_lut = np.where(hit, order[pos], -1).astype(np.int64)
        return self._class_lut

    def _class_rows(self, cells, scalar: bool, missing: str) -> np.ndarray:
        if missing not in ("raise", "nan"):
            raise ValueError(f"missing must be 'raise' or 'nan', got {missing!r}")
        lut = self.class_rows()
        if scalar and isinstance(cells, (int, np.integer)) and not isinstance(cells, bool) \
                and 0 <= cells < lut.size:
            rows = lut[int(cells): int(cells) + 1]
        else:
            items = [cells] if scalar else cells
            rows = lut[self._space.indices(items)]
        if missing == "raise" and (rows < 0).any():
            bad = _first_missing([cells] if scalar else cells, rows)
            raise CellNotInTable(f"{self.path}: the table holds no cell of the class of {bad!r}; "
                                 "train it (the evaluator does) or pass missing='nan'")
        return rows.copy()

    def cell(self, row: int):
        """The cell at a row (a cell of the table's space)."""
        if not 0 <= int(row) < self._n:
            raise IndexError(f"row {row} outside 0..{self._n - 1}")
        arrays = {name: self._cell_array(name) for name in self._space.table_description}
        return self._space.table_cell_at(arrays, int(row))

    def canonical_keys(self) -> np.ndarray:
        """Each row's exact canonical form (isomorphism class key)."""
        return self._cell_array("canonical")

    # ---- values
    def _read(self, dataset: str, metric: str, rows: np.ndarray) -> np.ndarray:
        """Metric values of rows: (R, S, F) for per-fidelity metrics, (R,) for static."""
        _, (_, _, dyn, static) = self._ds(dataset)
        kind = "metrics" if metric in dyn else "static"
        if self._mem is not None:
            d = self._mem.datasets[dataset]
            return np.take((d.metrics if kind == "metrics" else d.static)[metric], rows, axis=0)
        key = (dataset, metric)
        full = self._cache.get(key)
        if full is None:
            try:
                ds = self._h5["datasets"][dataset][kind][metric]
                # A few small queries read only their rows; a large query, or a
                # metric queried repeatedly (a search), reads it whole once.
                self._small_reads[key] = self._small_reads.get(key, 0) + 1
                if rows.size <= _SMALL_QUERY and self._small_reads[key] <= _SMALL_READS:
                    uniq, inverse = np.unique(rows, return_inverse=True)
                    return ds[uniq][inverse.reshape(-1)] if uniq.size else ds[:0]
                full = self._cache[key] = ds[()]
            except (OSError, KeyError) as exc:  # a damaged chunk
                raise corrupt(self.path, exc) from None
        return np.take(full, rows, axis=0)  # same as full[rows], ~3x faster for (N, S, F)

    def _cached_mean(self, dataset, metric, fids, fidelity):
        """The seed mean of every row at one fidelity, once the metric is cached
        whole (a large or repeated query): then a mean query is one gather."""
        f = self._fid_index(dataset, fids, fidelity)
        key = (dataset, metric, f)
        mean = self._means.get(key)
        if mean is None:
            full = self._mem.datasets[dataset].metrics[metric] if self._mem is not None else \
                self._cache.get((dataset, metric))
            if full is None:
                return None
            mean = self._means[key] = self._select_seed(full[:, :, f], "mean", None)
        return mean

    def _metric(self, dataset, metric):
        dataset, (seeds, fids, dyn, static) = self._ds(dataset)
        if metric not in dyn and metric not in static:
            raise UnknownName(
                f"{self.path}: dataset {dataset!r} has no metric {metric!r}; it has {', '.join(dyn + static)}"
            )
        return dataset, seeds, fids, metric in static

    def _fid_index(self, dataset, fids, fidelity) -> int:
        if fidelity is None:
            return fids.size - 1
        hits = np.flatnonzero(fids == float(fidelity))
        if hits.size == 0:
            raise UnknownName(
                f"{self.path}: dataset {dataset!r} has no fidelity {fidelity!r} epochs; "
                f"it has {', '.join(f'{f:g}' for f in fids)}"
            )
        return int(hits[0])

    def query(self, cells, metric: str, fidelity=None, dataset: str | None = None,
              seed: Any = "mean", missing: str = "raise"):
        """Metric values of one cell (a float) or of many (a float64 array of
        the same length, in the order given).

        ``cells``: a cell, NB201 arch string or official index, NB101 hash, or a
        sequence/array of them. ``metric``: a name of :meth:`metrics`.
        ``fidelity`` in epochs (default: the highest; ignored for a static
        metric). ``dataset``: default the first. ``seed``: ``"mean"`` (over
        the repeats, ignoring missing ones), a repeat index (0 ..
        ``len(seeds()) - 1``), or a ``numpy.random.Generator`` (one repeat
        drawn per cell from it, among the repeats the table has).
        ``missing``: ``"raise"`` (CellNotInTable for a cell the table lacks)
        or ``"nan"`` (NaN for it). A value the table lacks (a repeat or
        fidelity not trained) is NaN. An unknown dataset, metric, fidelity or
        repeat index raises UnknownName; an invalid cell InvalidSpecError.
        """
        dataset, seeds, fids, is_static = self._metric(dataset, metric)
        scalar = is_scalar_cell(self._space, cells)
        rows = self.rows(cells, missing=missing)
        present = rows >= 0
        out = np.full(rows.shape, np.nan, dtype=np.float64)
        mean = self._cached_mean(dataset, metric, fids, fidelity) if (
            isinstance(seed, str) and seed == "mean" and not is_static) else None
        if mean is not None:
            out[present] = np.take(mean, rows[present])
        elif present.any():
            vals = self._read(dataset, metric, rows[present])
            if not is_static:
                vals = vals[:, :, self._fid_index(dataset, fids, fidelity)]
                vals = self._select_seed(vals, seed, seeds)
            out[present] = vals
        return float(out[0]) if scalar else out

    @staticmethod
    def _select_seed(vals: np.ndarray, seed, seeds) -> np.ndarray:
        """(R, S) -> (R,) by the seed rule."""
        if isinstance(seed, str):
            if seed != "mean":
                raise ValueError(f"seed must be 'mean', a repeat index or a numpy Generator, got {seed!r}")
            ok = ~np.isnan(vals)
            count = ok.sum(axis=1)
            total = np.where(ok, vals, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(count > 0, total / np.maximum(count, 1), np.nan)
        if isinstance(seed, np.random.Generator) and vals.shape[0] == 1:
            # One cell (a search's query): same draw as below, without the array work.
            avail = np.flatnonzero(~np.isnan(vals[0]))
            u = seed.random()
            return vals[0, avail[int(u * avail.size)]][None] if avail.size else np.full(1, np.nan)
        if isinstance(seed, np.random.Generator):
            ok = ~np.isnan(vals)
            count = ok.sum(axis=1)
            pick = np.floor(seed.random(vals.shape[0]) * np.maximum(count, 1)).astype(np.int64)
            # The pick-th available repeat of each row.
            rank = np.cumsum(ok, axis=1) - 1
            col = np.argmax(ok & (rank == pick[:, None]), axis=1)
            chosen = vals[np.arange(vals.shape[0]), col]
            return np.where(count > 0, chosen, np.nan)
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            if not 0 <= int(seed) < vals.shape[1]:
                raise UnknownName(f"repeat index {seed} outside 0..{vals.shape[1] - 1} (seeds "
                                  f"{np.asarray(seeds).tolist()}); pass a repeat index, 'mean' or a Generator")
            return vals[:, int(seed)]
        raise TypeError(f"seed must be 'mean', a repeat index or a numpy Generator, got {type(seed).__name__}")

    def cost(self, cells, fidelity=None, dataset: str | None = None):
        """Simulated seconds to train cells to ``fidelity`` epochs (default:
        the highest), by the table's cost model (docs/FORMAT.md):
        ``scaled_train_time``, the cell's mean ``train_time`` at the model's
        ``reference_fidelity`` times ``fidelity / reference_fidelity``; else
        the mean ``train_time`` at ``fidelity`` where the table has one;
        else ``per_epoch``, seconds per epoch times epochs. A float for one
        cell, an array for many; TableFormatError for a table with neither
        (or a scaled model without ``train_time`` at its reference fidelity).
        :meth:`cost_description` says the same in words."""
        name, (_, fids, dyn, _) = self._ds(dataset)
        model = self.cost_model or {}
        if model.get("kind") == "scaled_train_time":
            ref = float(model["reference_fidelity"])
            if "train_time" not in dyn or ref not in fids:
                raise TableFormatError(
                    f"{self.path}: the cost model scales train_time at {ref:g} epochs, but dataset {name!r} "
                    f"has {'no train_time' if 'train_time' not in dyn else f'no fidelity {ref:g}'}; fix the "
                    "table's cost_model or re-import it")
            f = float(fids[self._fid_index(name, fids, fidelity)])
            return self.query(cells, "train_time", fidelity=ref, dataset=name) * (f / ref)
        if "train_time" in dyn:
            return self.query(cells, "train_time", fidelity=fidelity, dataset=name)
        if model.get("kind") == "per_epoch":
            f = fids[self._fid_index(name, fids, fidelity)]
            seconds = float(model["seconds_per_epoch"]) * float(f)
            scalar = is_scalar_cell(self._space, cells)
            rows = self.rows(cells)
            return seconds if scalar else np.full(rows.shape, seconds)
        raise TableFormatError(f"{self.path}: the table has no train_time and states no cost model")

    def cost_description(self, fidelity=None) -> str:
        """What :meth:`cost` charges, in words, for the caption of a time axis
        (``_schema.describe_cost_model``): e.g. ``"simulated: measured
        200-epoch training time scaled to 12 epochs"`` or ``"cost model: 1 s
        per epoch"``. ``fidelity``: the epochs of every query (None: mixed)."""
        return describe_cost_model(self.cost_model, fidelity)

    def row_values(self, metric: str, fidelity=None, dataset: str | None = None) -> np.ndarray:
        """The mean over seeds of ``metric`` for every row, in row order (R,),
        NaN where a row has none: the whole table, whatever its cell order or
        lookup (``query`` takes cells, not rows)."""
        dataset, seeds, fids, is_static = self._metric(dataset, metric)
        vals = self._read(dataset, metric, np.arange(self._n))
        if not is_static:
            vals = self._select_seed(vals[:, :, self._fid_index(dataset, fids, fidelity)], "mean", seeds)
        return vals

    def best(self, metric: str, fidelity=None, dataset: str | None = None):
        """``(cell, value)`` of the best row by the mean of ``metric`` (largest
        accuracy; smallest loss, time, size or latency), at ``fidelity``
        (default: the highest). CellNotInTable if no row has a value."""
        dataset = self._metric(dataset, metric)[0]
        vals = self.row_values(metric, fidelity, dataset)
        if np.all(np.isnan(vals)):
            raise CellNotInTable(f"{self.path}: no cell has a value of {metric!r} on {dataset!r}")
        row = int(np.nanargmax(vals) if higher_is_better(metric) else np.nanargmin(vals))
        return self.cell(row), float(vals[row])

    def labels(self) -> list:
        """Each row's cell as its space's label string (NB201 arch string,
        NB101 hash, macro choice string), in row order."""
        arrays = {name: self._cell_array(name) for name in self._space.table_description}
        return [self._space.table_label(arrays, row) for row in range(self._n)]

    def to_frame(self, metrics=None, dataset: str | None = None, fidelity=None, seed: Any = "mean"):
        """The table as a ``pandas.DataFrame`` (needs the ``[analysis]`` extra:
        ``pip install 'nasbench-suite[analysis]'``).

        One row per table row (the index, named ``row``), with the columns
        ``label`` (the cell's label string, see :meth:`labels`), ``canonical``
        (its isomorphism class key, :meth:`canonical_keys`) and one float
        column per metric: ``metrics`` is a name, a list of names or None (every
        metric of ``dataset``, per-fidelity and static). Per-fidelity metrics
        are taken at ``fidelity`` epochs (default: the highest) and reduced over
        the repeats by ``seed`` exactly as :meth:`query` does (``"mean"``, a
        repeat index, or a ``numpy.random.Generator``, drawn from once per
        metric in column order); static metrics have one value per row. The
        values equal ``query`` of the rows' cells, NaN where a row has none.
        """
        from .._pandas import import_pandas

        pd = import_pandas("Benchmark.to_frame")
        dataset, (seeds, fids, dyn, _) = self._ds(dataset)
        if metrics is None:
            names = list(self.metrics(dataset))
        else:
            names = [metrics] if isinstance(metrics, str) else list(metrics)
        for name in names:
            self._metric(dataset, name)  # UnknownName before any data is read
        columns: dict = {"label": self.labels(),
                         "canonical": np.asarray(self.canonical_keys(), dtype=np.uint64)}
        rows = np.arange(self._n)
        for name in names:
            vals = self._read(dataset, name, rows)
            if name in dyn:
                vals = self._select_seed(vals[:, :, self._fid_index(dataset, fids, fidelity)], seed, seeds)
            columns[name] = np.asarray(vals, dtype=np.float64)
        return pd.DataFrame(columns, index=pd.RangeIndex(self._n, name="row"))
