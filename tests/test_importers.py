"""The generic importer and the nb201-public recipe: small CSV / JSON fixtures
written here, every value checked where it lands; bad input named by file,
row and column with nothing written; and (realdata) the public NB201 table."""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from nasbench_suite.cli.tables import add_import_parser
from nasbench_suite.spaces import nb201
from nasbench_suite.tables import Benchmark, TableFormatError
from nasbench_suite.tables.importers import (
    RECIPES, TableImportError, import_table,
)

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))

# (official index, test acc 200 ep, test acc 12 ep, valid acc 12 ep, latency ms, params)
ROWS = [(5, 91.25, 80.5, 79.75, 3.5, 1.25e6), (0, 85.5, 70.0, 69.0, 2.0, 0.5e6),
        (17, 10.0, 10.0, 9.5, 1.0, 0.1e6)]
MAPPING = {
    "key": {"column": "arch", "kind": "arch_string"},
    "columns": {"acc200": ["test_acc", 200, "cifar10"], "acc12": ["test_acc", 12, "cifar10"],
                "val12": ("valid_acc", 12, "cifar10"),
                "lat": {"metric": "latency_pixel3", "fidelity": None, "dataset": ["cifar10", "cifar100"]},
                "params": {"metric": "params", "fidelity": None, "dataset": "cifar10"}},
}


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def small_csv(tmp_path):
    return write_csv(tmp_path / "small.csv", ["arch", "acc200", "acc12", "val12", "lat", "params", "note"],
                     [[nb201.arch_string(i), a, b, c, d, e, "x"] for i, a, b, c, d, e in ROWS])


def check_small(out):
    """Rows in official index order; every mapped value in its place."""
    order = sorted(ROWS)
    with h5py.File(out, "r") as h5:
        assert list(h5["cells/index"][()]) == [r[0] for r in order]
        g = h5["datasets/cifar10"]
        assert list(g["seeds"][()]) == [0]
        assert list(g["fidelities"][()]) == [12.0, 200.0]
        np.testing.assert_array_equal(g["metrics/test_acc"][:, 0, 1], [r[1] for r in order])
        np.testing.assert_array_equal(g["metrics/test_acc"][:, 0, 0], [r[2] for r in order])
        np.testing.assert_array_equal(g["metrics/valid_acc"][:, 0, 0], [r[3] for r in order])
        assert np.isnan(g["metrics/valid_acc"][:, 0, 1]).all()
        np.testing.assert_array_equal(g["static/latency_pixel3"][()], [r[4] for r in order])
        assert g["static/latency_pixel3"].attrs["units"] == "milliseconds"
        np.testing.assert_array_equal(g["static/params"][()], [r[5] for r in order])
        np.testing.assert_array_equal(h5["datasets/cifar100/static/latency_pixel3"][()], [r[4] for r in order])
        assert list(h5["datasets/cifar100/fidelities"][()]) == [12.0, 200.0]
        assert "metrics" not in h5["datasets/cifar100"] or not list(h5["datasets/cifar100/metrics"])
    with Benchmark.open(out) as bench:
        assert bench.query(nb201.arch_string(5), "test_acc", fidelity=200, dataset="cifar10") == 91.25
        assert bench.cost_model == {"kind": "per_epoch", "seconds_per_epoch": 1.0}
        assert bench.cost(5, 12, dataset="cifar10") == 12.0
        cell, value = bench.best("test_acc", fidelity=200, dataset="cifar10")
        assert (cell.index(), value) == (5, 91.25)
        assert bench.provenance["sources"][0]["file"].startswith("small.")


def test_csv_keyed_by_arch_string(tmp_path, small_csv):
    check_small(import_table(source=small_csv, out=tmp_path / "t.h5", mapping=MAPPING))


def test_csv_keyed_by_index_with_missing_values(tmp_path):
    src = write_csv(tmp_path / "i.csv", ["idx", "acc"], [[7, "88.5"], ["3", ""], [15624, "nan"], [1, "NA"]])
    out = import_table(source=src, out=tmp_path / "t.h5",
                       mapping={"key": {"column": "idx", "kind": "index"},
                                "columns": {"acc": ["test_acc", 200, "cifar100", 777]}})
    with h5py.File(out, "r") as h5:
        assert list(h5["cells/index"][()]) == [1, 3, 7, 15624]
        assert list(h5["datasets/cifar100/seeds"][()]) == [777]
        np.testing.assert_array_equal(h5["datasets/cifar100/metrics/test_acc"][:, 0, 0],
                                      [math.nan, math.nan, 88.5, math.nan])


@pytest.mark.parametrize("layout", ["records", "keyed", "columns"])
def test_json_layouts(tmp_path, layout):
    records = [{"arch": nb201.arch_string(i), "acc200": a, "acc12": b, "val12": c, "lat": d, "params": e}
               for i, a, b, c, d, e in ROWS]
    if layout == "keyed":
        data = {r.pop("arch"): r for r in records}
    elif layout == "columns":
        data = {k: [r[k] for r in records] for k in records[0]}
    else:
        data = records
    src = tmp_path / "small.json"
    src.write_text(json.dumps(data))
    check_small(import_table(source=src, out=tmp_path / "t.h5", mapping=MAPPING))


def test_scale_and_mapping_file_with_sources(tmp_path, small_csv):
    write_csv(tmp_path / "frac.csv", ["i", "tr"], [[0, 0.5], [5, 0.25]])
    spec = {"sources": [dict(MAPPING, file="small.csv"),
                        {"file": "frac.csv", "key": {"column": "i", "kind": "index"},
                         "columns": {"tr": {"metric": "train_acc", "fidelity": 200, "dataset": "cifar10",
                                            "scale": 100}}}],
            "notes": {"seeds": "0 = one run"}}
    (tmp_path / "map.json").write_text(json.dumps(spec))
    out = import_table(source=tmp_path, out=tmp_path / "t.h5", mapping=tmp_path / "map.json")
    check_small(out)
    with Benchmark.open(out) as bench:
        got = bench.query([0, 5, 17], "train_acc", fidelity=200, dataset="cifar10")
        assert list(got[:2]) == [50, 25] and np.isnan(got[2])
        assert bench.provenance["notes"]["seeds"] == "0 = one run"
        assert [s["file"] for s in bench.provenance["sources"]] == ["small.csv", "frac.csv"]


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    cols = {"arch": [nb201.arch_string(i) for i, *_ in ROWS]}
    for k, name in enumerate(("acc200", "acc12", "val12", "lat", "params"), start=1):
        cols[name] = [r[k] for r in ROWS]
    pq.write_table(pa.table(cols), tmp_path / "small.parquet")
    check_small(import_table(source=tmp_path / "small.parquet", out=tmp_path / "t.h5", mapping=MAPPING))


@pytest.mark.slow  # resolves hashes by enumerating NB101 (~15 s)
def test_nb101_hash_key(tmp_path):
    # official hashes (shared vectors file, computed with the reference code)
    cells = {"da9e46251fd05fc310398947b56436ad": 93.5, "6047adcded92b5d8126a9cc34054624b": 90.25}
    src = tmp_path / "nb101.json"
    src.write_text(json.dumps([{"hash": h.upper() if k else h, "acc": a, "p": 1e6 + k}
                               for k, (h, a) in enumerate(cells.items())]))
    out = import_table(source=src, out=tmp_path / "t.h5",
                       mapping={"key": {"column": "hash", "kind": "nb101_hash"},
                                "columns": {"acc": ["test_acc", 108, "cifar10"],
                                            "p": {"metric": "params", "fidelity": None, "dataset": "cifar10"}}})
    with Benchmark.open(out) as bench:
        assert bench.space == "nb101"
        for h, acc in cells.items():
            assert bench.query(h, "test_acc", fidelity=108, dataset="cifar10") == acc
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"hash": "0" * 32, "acc": 1.0}]))
    with pytest.raises(TableImportError, match=r"record 0, column 'hash'.*not the official hash"):
        import_table(source=bad, out=tmp_path / "u.h5",
                     mapping={"key": {"column": "hash", "kind": "nb101_hash"},
                              "columns": {"acc": ["test_acc", 108, "cifar10"]}})


# ------------------------------------------------------------------ bad input
def _fails(tmp_path, src, mapping, *patterns):
    out = tmp_path / "never.h5"
    with pytest.raises(TableImportError) as info:
        import_table(source=src, out=out, mapping=mapping)
    for p in patterns:
        assert p in str(info.value), (p, str(info.value))
    assert not out.exists() and not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
    return str(info.value)


def test_number_that_does_not_parse(tmp_path, small_csv):
    rows = list(csv.reader(open(small_csv, encoding="utf-8")))
    rows[2][2] = "80,5%"
    src = write_csv(tmp_path / "bad.csv", rows[0], rows[1:])
    msg = _fails(tmp_path, src, MAPPING, "bad.csv", "line 3", "'acc12'", "'80,5%'", "not a number")
    assert "fix the value" in msg


def test_missing_column(tmp_path, small_csv):
    mapping = dict(MAPPING, columns={**MAPPING["columns"], "acc90": ["test_acc", 90, "cifar10"]})
    _fails(tmp_path, small_csv, mapping, "small.csv", "no column 'acc90'", "columns: arch, acc200")
    _fails(tmp_path, small_csv, dict(MAPPING, key={"column": "ArchitectureString", "kind": "arch_string"}),
           "no column 'ArchitectureString'")


def test_unknown_arch_string(tmp_path):
    src = write_csv(tmp_path / "u.csv", ["arch", "acc"],
                    [[nb201.arch_string(0), 1], ["|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", 2]])
    _fails(tmp_path, src, {"key": {"column": "arch", "kind": "arch_string"},
                           "columns": {"acc": ["test_acc", 200, "cifar10"]}},
           "u.csv", "line 3", "column 'arch'", "conv_7x7", "not a NAS-Bench-201 arch string")


def test_bad_index_and_duplicates(tmp_path):
    mapping = {"key": {"column": "i", "kind": "index"}, "columns": {"a": ["test_acc", 200, "cifar10"]}}
    _fails(tmp_path, write_csv(tmp_path / "a.csv", ["i", "a"], [[1, 1], [15625, 2]]), mapping,
           "line 3", "'15625' is not an NB201 official index")
    _fails(tmp_path, write_csv(tmp_path / "b.csv", ["i", "a"], [[1, 1], [2.5, 2]]), mapping, "'2.5'")
    _fails(tmp_path, write_csv(tmp_path / "c.csv", ["i", "a"], [[4, 1], [2, 1], [4, 2]]), mapping,
           "line 4", "also appears at line 2")


def test_order_row_count_and_index_column(tmp_path):
    strings = [nb201.arch_string(i) for i in range(4)]
    mapping = {"key": {"column": "arch", "kind": "arch_string"}, "check_order": True, "index_column": "idx",
               "columns": {"a": ["test_acc", 200, "cifar10"]}}
    src = write_csv(tmp_path / "o.csv", ["idx", "arch", "a"], [[0, strings[0], 1], [2, strings[2], 1]])
    _fails(tmp_path, src, mapping, "line 3", "official index 2", "must be index 1", strings[1])
    src = write_csv(tmp_path / "p.csv", ["idx", "arch", "a"], [[0, strings[0], 1], [7, strings[1], 1]])
    _fails(tmp_path, src, mapping, "line 3", "column 'idx'", "'7'")
    src = write_csv(tmp_path / "q.csv", ["idx", "arch", "a"], [[0, strings[0], 1], [1, strings[1], 1]])
    _fails(tmp_path, src, dict(mapping, rows=15625), "2 data rows, expected 15625")
    import_table(source=src, out=tmp_path / "ok.h5", mapping=mapping)


def test_bad_files_and_mappings(tmp_path, small_csv):
    ragged = tmp_path / "r.csv"
    ragged.write_text("arch,acc\nx,1,2\n")
    _fails(tmp_path, ragged, MAPPING, "line 2 has 3 fields")
    broken = tmp_path / "b.json"
    broken.write_text("[{")
    _fails(tmp_path, broken, MAPPING, "not valid JSON")
    _fails(tmp_path, tmp_path / "absent.csv", MAPPING, "absent.csv: no such file")
    _fails(tmp_path, tmp_path / "t.xlsx", MAPPING, "no such file")
    (tmp_path / "t.xlsx").write_bytes(b"PK")
    _fails(tmp_path, tmp_path / "t.xlsx", MAPPING, "unknown format 'xlsx'")
    _fails(tmp_path, small_csv, dict(MAPPING, key={"column": "arch", "kind": "md5"}), "kind")
    _fails(tmp_path, small_csv, {"key": MAPPING["key"], "columns": {"acc200": ["test_acc", 200]}},
           "mapping of column 'acc200'", "(metric, fidelity, dataset[, seed])")
    _fails(tmp_path, small_csv, {"key": MAPPING["key"], "columns": {"acc200": ["test_acc", -1, "c"]}},
           "positive number of epochs")
    _fails(tmp_path, small_csv, {"key": MAPPING["key"], "columns": {"acc200": ["test_acc", 200, "cifar10"],
                                                                      "acc12": ["test_acc", 200, "cifar10"]}},
           "both map to")
    _fails(tmp_path, small_csv, {"key": MAPPING["key"],
                                 "columns": {"acc200": ["lat", 200, "cifar10"],
                                             "lat": {"metric": "lat", "fidelity": None, "dataset": "cifar10"}}},
           "both with and without a fidelity")
    with pytest.raises(TableImportError, match="unknown recipe 'nb999'.*nb201-public"):
        import_table(recipe="nb999", source=tmp_path, out=tmp_path / "x.h5")
    with pytest.raises(ValueError, match="not both"):
        import_table(recipe="nb201-public", mapping=MAPPING, source=tmp_path, out=tmp_path / "x.h5")
    assert issubclass(TableImportError, TableFormatError)


def test_out_exists(tmp_path, small_csv):
    out = tmp_path / "t.h5"
    out.write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="overwrite"):
        import_table(source=small_csv, out=out, mapping=MAPPING)
    assert out.read_bytes() == b"keep"
    check_small(import_table(source=small_csv, out=out, mapping=MAPPING, overwrite=True))


def test_cli(tmp_path, small_csv, capsys):
    from nasbench_suite.cli import UsageError

    parser = argparse.ArgumentParser(prog="nasbench-suite")
    add_import_parser(parser.add_subparsers(dest="command"))
    (tmp_path / "map.json").write_text(json.dumps(MAPPING))
    out = tmp_path / "cli.h5"
    args = parser.parse_args(["import", "--mapping", str(tmp_path / "map.json"), "--source", str(small_csv),
                              "-o", str(out)])
    assert args.run(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    check_small(out)
    with pytest.raises(UsageError, match="already exists"):
        args.run(args)
    args = parser.parse_args(["import", "--list-recipes"])
    assert args.run(args) == 0
    assert "nb201-public" in capsys.readouterr().out
    args = parser.parse_args(["import", "--recipe", "nb201-public", "-o", str(out)])
    with pytest.raises(UsageError, match="--source"):
        args.run(args)
    args = parser.parse_args(["import", "--recipe", "nb201-public", "--source", str(tmp_path),
                              "-o", str(tmp_path / "r.h5")])
    with pytest.raises(UsageError, match="nats_bench_200ep_test.csv: no such file"):
        args.run(args)


# ------------------------------------------------------------------ the public NB201 table
BEST_C10 = 94.373  # PROVENANCE.md: best CIFAR-10 200-epoch test accuracy


@pytest.mark.realdata
def test_nb201_public_recipe(tmp_path):
    src = DATA / "nb201"
    for spec in RECIPES["nb201-public"]["sources"]:
        if not (src / spec["file"]).is_file():
            pytest.skip(f"{src / spec['file']} not found (set NASBENCH_SUITE_DATA)")
    out = import_table(recipe="nb201-public", source=src, out=tmp_path / "nb201_public.h5")
    with h5py.File(out, "r") as h5:
        np.testing.assert_array_equal(h5["cells/index"][()], np.arange(nb201.NUM_CELLS))
    with open(src / "nats_bench_200ep_test.csv", newline="", encoding="utf-8") as f:
        nats = list(csv.DictReader(f))
    with open(src / "mini_nb201_12ep.csv", newline="", encoding="utf-8") as f:
        mini = list(csv.DictReader(f))
    with Benchmark.open(out) as bench:
        assert len(bench) == nb201.NUM_CELLS == 15625
        assert sorted(bench.datasets) == ["ImageNet16-120", "cifar10", "cifar100"]
        for d in bench.datasets:
            assert list(bench.fidelities(d)) == [12.0, 200.0] and list(bench.seeds(d)) == [0]
        # row i is architecture i, and each file's row i landed there
        for i in (0, 1, 6111, 9930, 15624):
            assert bench.cell(i).to_string() == nb201.arch_string(i) == nats[i]["ArchitectureString"]
            assert bench.query(i, "test_acc", 200, "cifar100") == float(nats[i]["CIFAR100TestAccuracy200Epochs"])
            assert bench.query(i, "valid_acc", 12, "cifar10") == float(mini[i]["cifar10-val"])
            assert bench.query(i, "test_acc", 12, "ImageNet16-120") == float(mini[i]["imagenet-test"])
        assert bench.query(1, "latency_pixel3", dataset="cifar100") == pytest.approx(17.2381)
        cell, best = bench.best("test_acc", fidelity=200, dataset="cifar10")
        assert round(best, 3) == BEST_C10
        # Two architectures tie at 94.3733 (indices 6111 and 13714); best() returns the first row.
        tied = {i for i, r in enumerate(nats) if round(float(r["CIFAR10TestAccuracy200Epochs"]), 3) == BEST_C10}
        assert tied == {6111, 13714} and cell.index() == 6111
        assert cell.to_string() == \
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
        # The arch string PROVENANCE.md quotes with 94.373 is index 9930: 94.363 on CIFAR-10,
        # and the CIFAR-100 best (73.51, the published figure).
        quoted = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
        assert round(bench.query(quoted, "test_acc", 200, "cifar10"), 3) == 94.363
        c100, v100 = bench.best("test_acc", fidelity=200, dataset="cifar100")
        assert c100.to_string() == quoted and round(v100, 2) == 73.51
        assert bench.cost_model == {"kind": "per_epoch", "seconds_per_epoch": 1.0}
        assert bench.cost(0, 200, "cifar10") == 200.0
        assert "MEAN over the official training seeds" in bench.provenance["notes"]["seeds"]
        assert bench.provenance["recipe"] == "nb201-public"
        assert len(bench.provenance["sources"]) == 3


def test_missing_key_value(tmp_path):
    src = tmp_path / "k.json"
    src.write_text(json.dumps([{"arch": nb201.arch_string(3), "a": 1}, {"a": 2}]))
    _fails(tmp_path, src, {"key": {"column": "arch", "kind": "arch_string"},
                           "columns": {"a": ["test_acc", 200, "cifar10"]}},
           "k.json: record 1, column 'arch': no key value")
