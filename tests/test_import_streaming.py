"""Issue 18 item 7: ``import`` streams its rows and range-checks its values.

- A CSV is read a row at a time from the open file and each row is checked
  as it is read: a file with more data rows than the space has cells (or
  than the mapping's ``rows``) is refused at the first extra row, with its
  line number, without reading on; memory stays bounded by the table, not
  by the file (tracemalloc).
- Every value is a finite number in the range of its metric's units
  (``_import_files.RULES``): percent in [0, 100], losses and times >= 0,
  counts whole numbers >= 0, latencies > 0. ``inf``, ``1e400``, JSON
  ``NaN``/``Infinity``, negative or over-100 accuracies stop the import at the
  first bad value with the file, the line (1-based, the header is line 1),
  the column and the rule; nothing is written.

Before (HEAD): the whole file was read into lists of strings before the first
check (a 10-million-row CSV: 1.85 GB), and inf / 1e400 / -3 / 250 were
stored as accuracies. All fast, on files written here."""
from __future__ import annotations

import csv
import json
import math
import os
import time
import tracemalloc

import h5py
import numpy as np
import pytest

from nasbench_suite.spaces import nb201
from nasbench_suite.tables import _import_files
from nasbench_suite.tables._import_files import RULES
from nasbench_suite.tables.importers import TableImportError, import_table

INDEX = {"key": {"column": "i", "kind": "index"}, "columns": {"acc": ["test_acc", 200, "cifar10"]}}


def write_rows(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def refused(tmp_path, src, mapping, *patterns) -> str:
    """The import of ``src`` raises one line holding every pattern and leaves
    nothing in ``tmp_path`` but the inputs."""
    before = set(os.listdir(tmp_path))
    out = tmp_path / "never.h5"
    with pytest.raises(TableImportError) as info:
        import_table(source=src, out=out, mapping=mapping)
    msg = str(info.value)
    assert "\n" not in msg
    for p in patterns:
        assert p in msg, (p, msg)
    assert set(os.listdir(tmp_path)) == before, "the import left a file behind"
    return msg


# ================================================================== streaming: row caps and memory
N_BIG = 200_000


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """200,000 data rows of valid NB201 indices (0..15624 over and over)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("i,acc,note\n")
        f.writelines(f"{i % nb201.NUM_CELLS},{50 + (i % 97) * 0.25},some text to make the row longer\n"
                     for i in range(N_BIG))
    return path


class _CountingReader:
    """csv.reader that counts the rows it hands out."""

    rows = 0

    def __init__(self, f):
        self._it = _REAL_READER(f)

    def __iter__(self):
        return self

    def __next__(self):
        row = next(self._it)
        _CountingReader.rows += 1
        return row

    @property
    def line_num(self):
        return self._it.line_num


_REAL_READER = csv.reader


def test_a_file_with_more_rows_than_the_space_has_cells_stops_at_the_first_extra_row(tmp_path, big_csv,
                                                                                      monkeypatch):
    """Before: all 200,000 rows were read into memory, then refused as duplicates."""
    monkeypatch.setattr(_import_files.csv, "reader", _CountingReader)
    _CountingReader.rows = 0
    start = time.perf_counter()
    msg = refused(tmp_path, big_csv, INDEX, "big.csv: line 15627: one data row more than the 15625 cells of the "
                                            "NAS-Bench-201 space", "stopped reading here")
    elapsed = time.perf_counter() - start
    assert _CountingReader.rows == 1 + nb201.NUM_CELLS + 1, msg  # the header, the cells, the extra row: no more
    assert elapsed < 10, elapsed  # ~0.2 s; reading on to row 200,000 would be the slow part


def test_a_file_with_more_rows_than_the_mapping_declares_stops_at_the_first_extra_row(tmp_path, big_csv,
                                                                                       monkeypatch):
    monkeypatch.setattr(_import_files.csv, "reader", _CountingReader)
    _CountingReader.rows = 0
    refused(tmp_path, big_csv, dict(INDEX, rows=1000),
            "big.csv: line 1002: one data row more than the 1000 the mapping declares ('rows')")
    assert _CountingReader.rows == 1 + 1000 + 1


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_the_table_not_by_the_file(tmp_path, big_csv):
    """Peak memory of the refused 200,000-row import against reading the file
    whole (as the importer did): the import holds at most one row per cell."""
    def whole():
        with open(big_csv, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert len(rows) == N_BIG + 1

    def streamed():
        with pytest.raises(TableImportError, match="line 15627"):
            import_table(source=big_csv, out=tmp_path / "never.h5", mapping=INDEX)

    streamed()  # warm: imports and caches outside the measurement
    read_whole, importing = _peak(whole), _peak(streamed)
    assert read_whole > 40e6, read_whole  # ~60 MB of row lists for a 9 MB file
    assert importing < read_whole / 8, (importing, read_whole)
    assert importing < 8e6, importing
    assert not (tmp_path / "never.h5").exists()


def test_a_file_within_the_cap_still_imports_every_row(tmp_path):
    """All 15,625 NB201 cells in order: the cap is the space's size, not less."""
    src = write_rows(tmp_path / "all.csv", ["i", "acc"],
                     [[i, 10 + i % 80] for i in range(nb201.NUM_CELLS)])
    out = import_table(source=src, out=tmp_path / "t.h5",
                       mapping=dict(INDEX, rows=nb201.NUM_CELLS, check_order=True))
    with h5py.File(out, "r") as h5:
        np.testing.assert_array_equal(h5["datasets/cifar10/metrics/test_acc"][:, 0, 0],
                                      10 + np.arange(nb201.NUM_CELLS) % 80)


def test_json_and_parquet_over_the_cap_are_refused_before_their_rows_are_checked(tmp_path):
    src = tmp_path / "r.json"
    src.write_text(json.dumps([{"i": i, "acc": 50.0} for i in range(5)]))
    refused(tmp_path, src, dict(INDEX, rows=3), "r.json: 5 data rows, more than the 3 the mapping declares")
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"i": list(range(5)), "acc": [50.0] * 5}), tmp_path / "r.parquet")
    refused(tmp_path, tmp_path / "r.parquet", dict(INDEX, rows=3),
            "r.parquet: 5 data rows, more than the 3 the mapping declares")


# ================================================================== range checks
RULE_TEXT = {units: rule.text for units, rule in RULES.items()}


@pytest.mark.parametrize("value, problem", [
    ("inf", "'inf' is not a finite number"),
    ("-inf", "'-inf' is not a finite number"),
    ("Infinity", "'Infinity' is not a finite number"),
    ("1e400", "'1e400' is not a finite number (it overflows float64)"),
    ("-1e400", "'-1e400' is not a finite number (it overflows float64)"),
    ("-0.5", "'-0.5' is out of range: test_acc is in percent, a percentage in [0, 100]"),
    ("100.01", "'100.01' is out of range: test_acc is in percent, a percentage in [0, 100]"),
    ("250", "'250' is out of range"),
    ("93,5", "'93,5' is not a number"),
])
def test_a_bad_accuracy_stops_the_import_at_its_line(tmp_path, value, problem):
    """The bad value is on line 4 (the header is line 1); rows after it are not read."""
    rows = [[0, "91.5"], [1, "0"], [2, value], [3, "100"], [4, "junk that is never read"]]
    src = write_rows(tmp_path / "bad.csv", ["i", "acc"], rows)
    refused(tmp_path, src, INDEX, f"bad.csv: line 4, column 'acc': {problem}", "fix the value")


def test_line_numbers_count_physical_lines_and_the_header(tmp_path):
    """A quoted field spanning two lines moves every later row down a line."""
    src = tmp_path / "q.csv"
    src.write_text('i,note,acc\n0,"two\nlines",90\n1,x,91\n2,x,1e400\n', encoding="utf-8")
    refused(tmp_path, src, INDEX, "q.csv: line 5, column 'acc': '1e400' is not a finite number")


@pytest.mark.parametrize("metric, fidelity, units, value, ok", [
    ("test_loss", 200, None, "-0.01", False), ("test_loss", 200, None, "0", True),
    ("train_time", 200, None, "-1", False), ("train_time", 200, None, "0", True),
    ("epoch_time", 200, None, "-1e-9", False),
    ("halfway_test_acc", 200, None, "101", False),
    ("params", None, None, "1.5", False), ("params", None, None, "-3", False), ("params", None, None, "1e6", True),
    ("flops", None, "count", "2.5e7", True), ("flops", None, "count", "2.25", False),
    ("latency_pixel3", None, None, "0", False), ("latency_pixel3", None, None, "-2", False),
    ("latency_pixel3", None, None, "0.001", True),
    ("score", 200, None, "-5", True), ("score", 200, None, "inf", False),  # no declared units: finite
    ("test_acc", 200, "fraction", "-5", True),  # units the mapping states: not percent
])
def test_every_metric_keeps_the_range_of_its_units(tmp_path, metric, fidelity, units, value, ok):
    target = {"metric": metric, "fidelity": fidelity, "dataset": "cifar10"}
    if units:
        target["units"] = units
    mapping = {"key": {"column": "i", "kind": "index"}, "columns": {"v": target}}
    src = write_rows(tmp_path / "m.csv", ["i", "v"], [[0, "1"], [1, value]])
    if ok:
        import_table(source=src, out=tmp_path / "t.h5", mapping=mapping)
        return
    from nasbench_suite.tables._schema import units_of

    rule = RULE_TEXT.get(units or units_of(metric), "a finite number")
    msg = refused(tmp_path, src, mapping, "m.csv: line 3, column 'v'", repr(value))
    assert rule in msg or "not a finite number" in msg, msg


def test_scale_is_applied_before_the_range_check(tmp_path):
    mapping = {"key": {"column": "i", "kind": "index"},
               "columns": {"f": {"metric": "train_acc", "fidelity": 200, "dataset": "cifar10", "scale": 100}}}
    src = write_rows(tmp_path / "s.csv", ["i", "f"], [[0, "0.5"], [1, "1.25"]])
    refused(tmp_path, src, mapping, "line 3, column 'f': '1.25' (x scale 100 = 125.0) is out of range: "
                                    "train_acc is in percent")
    src = write_rows(tmp_path / "o.csv", ["i", "f"], [[0, "0.5"], [1, "1e307"]])
    refused(tmp_path, src, dict(mapping, columns={"f": dict(mapping["columns"]["f"], metric="score")}),
            "line 3, column 'f': '1e307' (x scale 100 = inf) is not a finite number")


def test_missing_values_stay_missing(tmp_path):
    """What the format allowed stays: an empty CSV cell and the documented
    missing-value words are NaN (a missing value), not a refused value."""
    src = write_rows(tmp_path / "m.csv", ["i", "acc"], [[0, ""], [1, "nan"], [2, "NA"], [3, "null"], [4, "93.5"]])
    out = import_table(source=src, out=tmp_path / "t.h5", mapping=INDEX)
    with h5py.File(out, "r") as h5:
        got = h5["datasets/cifar10/metrics/test_acc"][:, 0, 0]
    assert np.isnan(got[:4]).all() and got[4] == 93.5


@pytest.mark.parametrize("literal, problem", [
    ("NaN", "nan is not a finite number"), ("Infinity", "inf is not a finite number"),
    ("-Infinity", "-inf is not a finite number"), ("1e400", "inf is not a finite number"),
    ('"inf"', "'inf' is not a finite number"), ("-2", "-2 is out of range"), ("100.5", "100.5 is out of range"),
    ("true", "True is not a number"), ("[1]", "[1] is not a number"),
])
def test_json_values_are_checked_the_same_way(tmp_path, literal, problem):
    """JSON's missing value is null; its NaN/Infinity literals are values, and refused."""
    src = tmp_path / "v.json"
    src.write_text('[{"i": 0, "acc": 50}, {"i": 1, "acc": null}, {"i": 2, "acc": %s}]' % literal)
    refused(tmp_path, src, INDEX, f"v.json: record 2, column 'acc': {problem}")


def test_parquet_values_are_checked(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"i": [0, 1, 2], "acc": [50.0, None, math.inf]}), tmp_path / "v.parquet")
    refused(tmp_path, tmp_path / "v.parquet", INDEX, "v.parquet: row 2, column 'acc': inf is not a finite number")
    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really")
    refused(tmp_path, tmp_path / "x.parquet", INDEX, "x.parquet: not a parquet file")


def test_the_first_bad_row_is_named_even_when_later_rows_are_also_bad(tmp_path):
    rows = [[0, "90"], [1, "-1"], [2, "inf"], [2, "90"]]
    src = write_rows(tmp_path / "b.csv", ["i", "acc"], rows)
    refused(tmp_path, src, INDEX, "b.csv: line 3, column 'acc': '-1' is out of range")


@pytest.mark.parametrize("option, value, problem", [
    ("rows", "x", "'rows' 'x' must be the number of data rows"), ("rows", -1, "'rows' -1"),
    ("rows", True, "'rows' True"), ("check_order", "yes", "'check_order' 'yes' must be true or false"),
    ("finite", 1, "'finite' 1 must be true or false"), ("index_column", 5, "'index_column' 5 must be a string"),
    ("format", 3, "'format' 3 must be a string"), ("fields", "acc", "'fields' 'acc' must be a list"),
    ("fields", {"acc": -1}, "'fields'"),
])
def test_mapping_options_of_the_wrong_type_are_refused_before_reading(tmp_path, option, value, problem):
    src = write_rows(tmp_path / "ok.csv", ["i", "acc"], [[0, "90"]])
    refused(tmp_path, src, dict(INDEX, **{option: value}), problem)


def test_a_header_naming_a_used_column_twice_is_refused(tmp_path):
    src = write_rows(tmp_path / "d.csv", ["i", "acc", "acc"], [[0, "90", "91"]])
    refused(tmp_path, src, INDEX, "d.csv: line 1 names the column 'acc' twice")
    src = write_rows(tmp_path / "e.csv", ["i", "acc", "x", "x"], [[0, "90", "1", "2"]])
    import_table(source=src, out=tmp_path / "t.h5", mapping=INDEX)  # an unused repeated name is fine


def test_every_space_of_a_known_size_caps_its_rows():
    """NB101 has no index order but a known number of cells: a file keyed by
    NB101 hashes is capped at 423,624 rows too (checked without enumerating)."""
    from nasbench_suite import spaces
    from nasbench_suite.tables.importers import _cap

    assert _cap({}, spaces.get("nb101"))[0] == 423_624
    assert _cap({}, spaces.get("nb201"))[0] == nb201.NUM_CELLS
    assert _cap({"rows": 10}, spaces.get("nb101"))[0] == 10
    assert _cap({"rows": 10 ** 9}, spaces.get("macro"))[0] == 6561
