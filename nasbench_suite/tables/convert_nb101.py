"""Converts the official NAS-Bench-101 TFRecord files into a nasbench-suite
table, without TensorFlow.

Source files (Ying et al. 2019, google-research/nasbench): ``nasbench_full.tfrecord``
(budgets 4, 12, 36, 108 epochs) and ``nasbench_only108.tfrecord`` (108 only).
Each record is the UTF-8 JSON list ``[module_hash, epochs, adjacency, ops,
metrics]`` (nasbench/api.py): ``adjacency`` is the n x n matrix flattened row
by row into a string of ``0``/``1`` digits, ``ops`` the op names joined by
commas, ``metrics`` a base64 ``ModelMetrics`` protobuf (see
:mod:`.protobuf_lite`) whose ``evaluation_data`` are the checkpoints at the
start, halfway and end of training (the official API reads indices 1 and 2).
The records of one cell and budget are its repeats; the official API keeps
them in file order, and so does the seed axis here.

Table written (docs/FORMAT.md): one row per cell; dataset ``cifar10`` with
seeds 0..2 (repeat index) and the budgets present as fidelities; metrics
``train_acc``, ``valid_acc``, ``test_acc`` (percent), ``train_time`` (s) at
the end of the run, the same four with ``halfway_`` at its halfway
checkpoint, and the static ``params`` (trainable parameters).
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import os
from array import array

import numpy as np

from .._errors import InvalidSpecError
from ..progress import Progress
from ..spaces import nb101
from .errors import TableFormatError
from .protobuf_lite import ProtobufDecodeError, decode_model_metrics
from .tfrecord import iter_records
from .writer import TableWriter

CONVERTER = "nb101-tfrecord"
CONVERTER_VERSION = "1"

# Table metrics in the order _run_values() reads them from a record: the end
# of training is evaluation_data[2], the halfway checkpoint [1] (as
# nasbench/api.py reads them); accuracies are fractions, stored in percent.
METRICS = ("train_acc", "valid_acc", "test_acc", "train_time",
           "halfway_train_acc", "halfway_valid_acc", "halfway_test_acc", "halfway_train_time")
_SCALE = np.array([100.0, 100.0, 100.0, 1.0, 100.0, 100.0, 100.0, 1.0])
_CELL_BATCH = 4096  # new cells handed to the writer at a time
_RUN_BATCH = 1 << 16  # runs staged in flat arrays before they go into the grid
PROGRESS_MIN_BYTES = 16 << 20  # smaller files convert before a bar would help

_PROVENANCE_NOTES = {
    "source": "NAS-Bench-101 (Ying et al., ICML 2019), google-research/nasbench",
    "splits": "train_acc: a fixed 10,000 images of the CIFAR-10 training set; valid_acc: the "
              "held-out 10,000-image validation split; test_acc: the 10,000-image CIFAR-10 test set",
    "seeds": "repeat index of the training run, in the order the source file lists the runs of a "
             "cell and budget (the official random seeds are not recorded)",
    "fidelities": "epoch budget of the run (the learning-rate schedule spans the budget)",
    "halfway": "halfway_<metric>: the checkpoint after half the budget of the same run",
    "train_time": "seconds of training (evaluation excluded), cumulative to the checkpoint",
}


class RecordError(TableFormatError):
    """A record of the source file that is not a valid NAS-Bench-101 row."""


class _Runs:
    """The runs read so far, as a NaN-filled float32 grid (cells, repeats,
    budget slots, metrics). Runs are staged in flat arrays and scattered into
    the grid a batch at a time: per-record numpy indexing would dominate."""

    def __init__(self):
        self.grid = np.full((0, 0, 0, len(METRICS)), np.nan, dtype=np.float32)
        self.seen: list = []  # per cell row: runs seen per budget slot
        self.params: list = []  # per cell row: trainable parameters of its first record
        self._where = array("q")  # (row, repeat, slot) per staged run
        self._values = array("d")  # len(METRICS) per staged run

    def add(self, row: int, slot: int, values: tuple) -> None:
        counts = self.seen[row]
        if slot >= len(counts):
            counts.extend([0] * (slot + 1 - len(counts)))
        repeat = counts[slot]  # repeats in file order, as the official API keeps them
        counts[slot] = repeat + 1
        self._where.extend((row, repeat, slot))
        if None in values:  # a field the record leaves unset
            values = [math.nan if v is None else v for v in values]
        self._values.extend(values)
        if len(self._where) >= 3 * _RUN_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._where:
            return
        where = np.frombuffer(self._where, dtype=np.int64).reshape(-1, 3)
        values = np.frombuffer(self._values, dtype=np.float64).reshape(-1, len(METRICS)) * _SCALE
        rows, repeats, slots, m = self.grid.shape
        need = (len(self.seen), max(repeats, int(where[:, 1].max()) + 1),
                max(slots, int(where[:, 2].max()) + 1))
        if need[0] > rows or need[1:] != (repeats, slots):
            need = (max(need[0], rows + rows // 2), *need[1:])  # amortised growth; trimmed by table()
            grid = np.full(need + (m,), np.nan, dtype=np.float32)
            grid[:rows, :repeats, :slots] = self.grid
            self.grid = grid
        self.grid[where[:, 0], where[:, 1], where[:, 2]] = values
        self._where, self._values = array("q"), array("d")

    def table(self) -> np.ndarray:
        """The grid, one row per cell seen (flush first)."""
        return self.grid[:len(self.seen)]


def _where(path: str, index: int, offset: int) -> str:
    return f"{path}: record {index} (byte offset {offset})"


class _Bad(Exception):
    """What is wrong with a record; the caller adds where it is."""


def _cell_of(adjacency, ops) -> nb101.Cell:
    """The cell a record describes (row-major 0/1 digit string, comma-separated ops)."""
    if not isinstance(adjacency, str) or not isinstance(ops, str):
        raise _Bad("adjacency and operations must be strings")
    n = math.isqrt(len(adjacency))
    if n * n != len(adjacency) or n == 0 or adjacency.strip("01"):
        raise _Bad(f"adjacency {adjacency!r} is not a square matrix of 0/1 digits flattened row by row")
    matrix = np.frombuffer(adjacency.encode("ascii"), dtype=np.uint8).reshape(n, n) - ord("0")
    try:
        return nb101.Cell(matrix, ops.split(","))
    except InvalidSpecError as exc:
        raise _Bad(f"not a valid NAS-Bench-101 cell ({exc}); adjacency {adjacency!r}, ops {ops!r}") from None


def _parse(data: bytes):
    """(module_hash, epochs, adjacency, ops, ModelMetrics) of one record."""
    try:
        row = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Bad(f"not UTF-8 JSON ({exc}); is this an official NAS-Bench-101 file "
                   "(nasbench_full.tfrecord or nasbench_only108.tfrecord)?") from None
    if not isinstance(row, list) or len(row) != 5:
        raise _Bad("expected the JSON list [module_hash, epochs, adjacency, operations, metrics], "
                   f"got {str(row)[:80]!r}")
    module_hash, epochs, adjacency, ops, raw = row
    if not isinstance(module_hash, str) or len(module_hash) != 32:
        raise _Bad(f"module hash {module_hash!r} is not 32 hex characters")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise _Bad(f"epochs {epochs!r} is not a positive integer")
    try:
        metrics = decode_model_metrics(base64.b64decode(raw, validate=True))
    except (TypeError, binascii.Error, ProtobufDecodeError) as exc:
        raise _Bad(f"the metrics field is not a base64 ModelMetrics protobuf ({exc}); "
                   "the file is corrupt: download it again") from None
    if len(metrics.evaluation_data) < 3:
        raise _Bad(f"{len(metrics.evaluation_data)} checkpoints in evaluation_data, expected 3 "
                   "(start, halfway, end of training)")
    return module_hash, epochs, adjacency, ops, metrics


def _run_values(metrics) -> tuple:
    """The values of METRICS, accuracies still as fractions."""
    half, end = metrics.evaluation_data[1], metrics.evaluation_data[2]
    return (end.train_accuracy, end.validation_accuracy, end.test_accuracy, end.training_time,
            half.train_accuracy, half.validation_accuracy, half.test_accuracy, half.training_time)


def _read(source_path: str, w: TableWriter, bar):
    """Streams the records into the writer's cells and a :class:`_Runs`;
    returns (runs, table row of each grid row, budget -> slot, record count)."""
    runs = _Runs()
    row_of: dict = {}  # module hash -> grid row
    described: list = []  # grid row -> "adjacency|ops" as first seen; later records must agree
    slot_of: dict = {}  # epochs -> budget slot, in order of first appearance
    pending: list = []
    rows: list = []
    records = 0
    for offset, data in iter_records(source_path):
        try:
            module_hash, epochs, adjacency, ops, metrics = _parse(data)
            row = row_of.get(module_hash)
            text = adjacency + "|" + ops if isinstance(adjacency, str) and isinstance(ops, str) else None
            if row is None or described[row] != text:
                ours = _cell_of(adjacency, ops)
                if ours.hash() != module_hash:
                    raise _Bad(
                        f"module hash {module_hash} is not the hash of the cell the record describes "
                        f"(adjacency {adjacency!r}, ops {ops!r} hash to {ours.hash()}); the file is "
                        "corrupt or not an official NAS-Bench-101 file: download it again"
                    )
                if row is None:
                    row = row_of[module_hash] = len(described)
                    described.append(text)
                    runs.seen.append([])
                    p = metrics.trainable_parameters
                    runs.params.append(math.nan if p is None else p)
                    pending.append(ours)
                    if len(pending) >= _CELL_BATCH:
                        rows.append(w.add_cells(pending))
                        pending = []
        except _Bad as exc:
            raise RecordError(f"{_where(source_path, records, offset)}: {exc}") from None
        slot = slot_of.get(epochs)
        if slot is None:
            slot = slot_of[epochs] = len(slot_of)
        runs.add(row, slot, _run_values(metrics))
        records += 1
        if bar is not None:
            bar.advance(offset + len(data) + 16 - bar.done)
    if bar is not None:
        bar.advance(bar.total - bar.done)
    if not records:
        raise RecordError(f"{source_path}: the file holds no records; download "
                          "nasbench_full.tfrecord or nasbench_only108.tfrecord again")
    if pending:
        rows.append(w.add_cells(pending))
    runs.flush()
    return runs, np.concatenate(rows), slot_of, records


def convert_nb101(source_path, out_path, *, dataset: str = "cifar10", progress: bool = True,
                  overwrite: bool = False) -> str:
    """Converts an official NAS-Bench-101 TFRecord file to a table at ``out_path``.

    Streams the records (constant memory per record), checks the TFRecord
    CRCs and that each record's module hash is the hash of the cell it
    describes, and writes through :class:`TableWriter`, so an error leaves no
    file at ``out_path``. ``progress`` draws a bar on stderr for files of
    16 MB and more. Returns ``out_path``.

    Raises :class:`~nasbench_suite.tables.tfrecord.TFRecordError` (corrupt
    or truncated file) or :class:`RecordError` (a record that is not a valid
    NAS-Bench-101 row), both :class:`TableFormatError`; ``FileExistsError``
    when ``out_path`` exists and ``overwrite`` is false.
    """
    source_path, out_path = os.fspath(source_path), os.fspath(out_path)
    if os.path.exists(out_path) and not overwrite:
        raise FileExistsError(f"{out_path} already exists; pass overwrite=True "
                              "(--overwrite) to replace it")
    size = os.path.getsize(source_path) if os.path.isfile(source_path) else 0
    bar = Progress(size, desc=f"converting {os.path.basename(source_path)}", bytes=True) \
        if progress and size >= PROGRESS_MIN_BYTES else None

    with TableWriter(out_path, space="nb101", overwrite=overwrite) as w:
        try:
            runs, rows, slot_of, records = _read(source_path, w, bar)
        finally:
            if bar is not None:
                bar.close()
        budgets = sorted(slot_of)
        order = [slot_of[e] for e in budgets]
        grid = runs.table()
        w.add_dataset(dataset, seeds=range(grid.shape[1]), fidelities=budgets)
        for m, name in enumerate(METRICS):
            w.set(dataset, name, rows, grid[:, :, order, m])
        w.set_static(dataset, "params", rows, np.array(runs.params, dtype=np.float64))
        w.add_source(source_path)
        w.provenance.update(
            converter=CONVERTER, converter_version=CONVERTER_VERSION,
            records=records, cells=int(rows.size), datasets={dataset: _PROVENANCE_NOTES},
        )
    return out_path
