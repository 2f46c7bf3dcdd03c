"""Pickled public tables are read without executing them (tables/_safe_pickle.py
and the importer's pickle format), and recipe files are checked against their
published sha256 (--no-verify to import another version)."""
from __future__ import annotations

import argparse
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.cli.tables import add_import_parser
from nasbench_suite.tables import Benchmark
from nasbench_suite.tables._import_files import sha256_of
from nasbench_suite.tables._safe_pickle import UnsafePickle, load
from nasbench_suite.tables.importers import TableImportError, import_table
from nasbench_suite.spaces import nb201

ARCH = [nb201.arch_string(i) for i in (0, 5, 17)]


class _Boom:
    def __reduce__(self):  # what a malicious pickle does: call os.system on load
        return (os.system, ("echo should-not-run > /dev/null",))


def test_plain_data_loads_and_globals_are_refused_unrun(tmp_path):
    plain = {"332112": {"val_acc": [90.5, 91.0, 90.0], "train_time": [1800.0] * 3}, 7: (1, None, True)}
    p = tmp_path / "plain.pkl"
    p.write_bytes(pickle.dumps(plain, protocol=4))
    assert load(p) == plain
    for bad in (_Boom(), {"x": np.float64(1.5)}, {"x": np.array([1.0])}):
        q = tmp_path / "bad.pkl"
        q.write_bytes(pickle.dumps(bad))
        with pytest.raises(UnsafePickle, match="not allowed here"):
            load(q)
    # numpy scalars only when allowed, and then nothing but numeric dtypes
    q.write_bytes(pickle.dumps({"x": np.float64(1.5), "n": np.int64(3)}, protocol=3))
    got = load(q, allow=["numpy_scalars"])
    assert got == {"x": 1.5, "n": 3} and type(got["x"]) is np.float64
    q.write_bytes(pickle.dumps({"x": np.array([1.0])}))
    with pytest.raises(UnsafePickle):
        load(q, allow=["numpy_scalars"])
    q.write_bytes(pickle.dumps(np.str_("abc")))
    with pytest.raises(UnsafePickle, match="dtype"):
        load(q, allow=["numpy_scalars"])
    with pytest.raises(ValueError, match="unknown pickle allowance"):
        load(p, allow=["everything"])


def _mapping(fmt_allow=None, digest=None):
    spec = {"key": {"column": "arch", "kind": "arch_string"},
            "columns": {"acc[0]": ["valid_acc", 200, "cifar10", 0], "acc[1]": ["valid_acc", 200, "cifar10", 1],
                        "t": {"metric": "params", "fidelity": None, "dataset": "cifar10"}}}
    if fmt_allow is not None:
        spec["pickle_allow"] = fmt_allow
    if digest is not None:
        spec["sha256"] = digest
    return spec


def test_a_pickled_table_imports_like_json(tmp_path):
    src = tmp_path / "t.pkl"
    src.write_bytes(pickle.dumps({a: {"acc": [80.0 + i, 81.0 + i], "t": np.float64(1000 + i)}
                                  for i, a in enumerate(ARCH)}, protocol=3))
    with pytest.raises(TableImportError, match="numpy.core.multiarray.scalar|numpy._core.multiarray.scalar"):
        import_table(mapping=_mapping(), source=src, out=tmp_path / "a.h5")
    assert not (tmp_path / "a.h5").exists()
    out = import_table(mapping=_mapping(["numpy_scalars"]), source=src, out=tmp_path / "a.h5")
    with Benchmark.open(out) as b:
        assert b.query(ARCH[1], "valid_acc", 200, "cifar10", seed=1) == 82.0
        assert b.query(ARCH[2], "params", dataset="cifar10") == 1002.0
    src.write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(TableImportError, match="not a readable pickle"):
        import_table(mapping=_mapping(["numpy_scalars"]), source=src, out=tmp_path / "b.h5", overwrite=True)


def test_sha256_is_checked_and_no_verify_imports_anyway(tmp_path):
    src = tmp_path / "t.pkl"
    src.write_bytes(pickle.dumps({a: {"acc": [80.0, 81.0], "t": 5.0} for a in ARCH}))
    good = sha256_of(src)
    wrong = "0" * 64
    with pytest.raises(TableImportError, match=f"sha256 {good}, expected {wrong}"):
        import_table(mapping=_mapping(digest=wrong), source=src, out=tmp_path / "a.h5")
    assert not (tmp_path / "a.h5").exists()
    out = import_table(mapping=_mapping(digest=wrong), source=src, out=tmp_path / "a.h5", verify=False)
    with Benchmark.open(out) as b:
        assert b.provenance["verified"] is False
    out = import_table(mapping=_mapping(digest=good), source=src, out=tmp_path / "a.h5", overwrite=True)
    with Benchmark.open(out) as b:
        assert b.provenance["verified"] is True
    with pytest.raises(TableImportError, match="64 hex digits"):
        import_table(mapping=_mapping(digest="abc"), source=src, out=tmp_path / "c.h5")
    # the CLI flag
    parser = argparse.ArgumentParser()
    add_import_parser(parser.add_subparsers())
    m = tmp_path / "m.json"
    m.write_text(json.dumps(_mapping(digest=wrong)))
    args = parser.parse_args(["import", "--mapping", str(m), "--source", str(src), "-o", str(tmp_path / "d.h5"),
                              "--no-verify", "-q"])
    assert args.run(args) == 0 and Path(tmp_path / "d.h5").is_file()
