"""Every MD5 path of NB101 hashing (scalar, AVX2 8-lane, AVX-512 16-lane)
gives the official hashes.

Each path is forced two ways: by ``_core.md5_set_path`` in this process and
by the environment variable ``NASBENCH_SUITE_MD5`` in a fresh interpreter.
Expected hashes come from the plain-Python reference (``hashlib``, written
from the official ``graph_util.hash_module``) and, on real data, from the
official test vectors. Paths this CPU lacks are skipped, and asking for them
must be a clear error.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import _core
from nasbench_suite.spaces import nb101

try:  # tests/ may or may not be a package
    from . import reference_nb101 as ref
except ImportError:
    import reference_nb101 as ref

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))
VECTORS = DATA / "vectors" / "nb101_hash_sample.jsonl"
ALL_PATHS = ("scalar", "avx2", "avx512")
CPU_FEATURES = {"avx2": "avx2", "avx512": "avx512f"}


def _path_param(name):
    marks = [] if name in _core.md5_paths() else [pytest.mark.skip(reason=f"this CPU has no {name} MD5 path")]
    return pytest.param(name, marks=marks, id=name)


PATHS = [_path_param(p) for p in ALL_PATHS]


@pytest.fixture(autouse=True)
def _restore_path():
    was = _core.md5_path()
    yield
    _core.md5_set_path(was)


def _cells(seed: int, n: int):
    """n random valid cells of every size (2..7 vertices, mixed in one batch):
    (matrices (n,7,7) uint8, labels (n,7) int64, pruned (matrix, ops) lists)."""
    rng = np.random.default_rng(seed)
    mats = np.zeros((n, 7, 7), np.uint8)
    labels = np.zeros((n, 7), np.int64)
    pruned = []
    k = 0
    while k < n:
        v = int(rng.integers(2, 8))
        m = np.triu(rng.integers(0, 2, size=(v, v)), 1).astype(np.uint8)
        lab = np.concatenate([[-1], rng.integers(0, 3, size=v - 2), [-2]])
        if not nb101.is_valid_many(m[None], lab[None])[0]:
            continue
        pm, pl, pn = nb101.prune_many(m[None], lab[None])
        pn = int(pn[0])
        pruned.append((pm[0, :pn, :pn].tolist(), ref.label_ops(pl[0, :pn])))
        # in the batch: the pruned cell in 7 slots, output last, isolated padding before it
        om, ol, _ = nb101.prune_many(m[None], lab[None], layout="output-last")
        mats[k], labels[k] = om[0], ol[0]
        k += 1
    return mats, labels, pruned


def test_paths_listed_and_auto_is_the_best():
    paths = _core.md5_paths()
    assert paths[0] == "scalar" and set(paths) <= set(ALL_PATHS)
    assert _core.md5_set_path("auto") == paths[-1] == _core.md5_path()
    assert _core.md5_set_simd(False) is False and _core.md5_path() == "scalar"
    assert _core.md5_set_simd(True) is (len(paths) > 1)


@pytest.mark.parametrize("path", PATHS)
def test_each_path_matches_the_reference(path):
    """Batch sizes around the 16-cell group and the lane widths (1, 7, 8, 9,
    15, 16, 17, 33, 200), mixed vertex counts, one and two threads."""
    mats, labels, pruned = _cells(7, 200)
    expect = [ref.ref_hash(m, ops) for m, ops in pruned]
    assert _core.md5_set_path(path) == path
    for size in (1, 7, 8, 9, 15, 16, 17, 33, 200):
        got = nb101.hash_many(mats[:size], labels[:size])
        assert list(got) == expect[:size], size
    assert list(nb101.hash_many(mats, labels, threads=2)) == expect


def test_all_paths_agree_on_full_seven_vertex_cells():
    """Many long messages (7 vertices, up to 9 edges): the paths agree on all,
    and the reference agrees on a subset."""
    rng = np.random.default_rng(3)
    mats = np.zeros((600, 7, 7), np.uint8)
    k = 0
    while k < len(mats):
        m = np.triu(rng.integers(0, 2, size=(7, 7)), 1).astype(np.uint8)
        if m.sum() <= 9 and (m[:-1].sum(axis=1) > 0).all() and (m[:, 1:].sum(axis=0) > 0).all():
            mats[k] = m
            k += 1
    labels = np.concatenate([np.full((600, 1), -1), rng.integers(0, 3, (600, 5)), np.full((600, 1), -2)], axis=1)
    results = {}
    for path in _core.md5_paths():
        _core.md5_set_path(path)
        results[path] = nb101.hash_many(mats, labels)
    for path, got in results.items():
        assert (got == results["scalar"]).all(), path
    expect = [ref.ref_hash(mats[i].tolist(), ref.label_ops(labels[i])) for i in range(40)]
    assert list(results["scalar"][:40]) == expect


@pytest.mark.parametrize("name", ["avx2", "avx512"])
def test_an_unavailable_path_is_a_clear_error(name):
    if name in _core.md5_paths():
        pytest.skip(f"this CPU has the {name} path")
    with pytest.raises(ValueError, match=f"needs CPU features this machine lacks .*{CPU_FEATURES[name]}"):
        _core.md5_set_path(name)


def test_an_unknown_path_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown MD5 path 'sse9'; use scalar, avx2, avx512 or auto"):
        _core.md5_set_path("sse9")


def _run_with_env(value: str, code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NASBENCH_SUITE_MD5=value, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def test_an_unknown_env_value_fails_the_import_with_its_reason():
    r = _run_with_env("fastest", "import nasbench_suite.spaces.nb101")
    assert r.returncode != 0
    assert "NASBENCH_SUITE_MD5=fastest: unknown MD5 path 'fastest'" in r.stderr


_HASH_IN_CHILD = """
import json, sys
import numpy as np
from nasbench_suite import _core
from nasbench_suite.spaces import nb101
cells = json.load(sys.stdin)
out = [nb101.hash_many(np.array([m], np.uint8), np.array([l], np.int64))[0] for m, l in cells]
print(json.dumps({"path": _core.md5_path(), "hashes": [str(h) for h in out]}))
"""


@pytest.mark.parametrize("path", PATHS)
def test_env_var_forces_each_path(path):
    mats, labels, pruned = _cells(11, 40)
    env = dict(os.environ, NASBENCH_SUITE_MD5=path, PYTHONPATH=str(REPO))
    cells = [(mats[i].tolist(), labels[i].tolist()) for i in range(len(mats))]
    r = subprocess.run([sys.executable, "-c", _HASH_IN_CHILD], input=json.dumps(cells), cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["path"] == path
    assert got["hashes"] == [ref.ref_hash(m, ops) for m, ops in pruned]


def _vectors():
    if not VECTORS.is_file():
        return []
    with VECTORS.open(encoding="utf-8") as f:
        return [r for r in (json.loads(line) for line in f if line.strip()) if r["valid"]]


@pytest.mark.realdata
@pytest.mark.parametrize("path", PATHS)
def test_official_vectors_on_each_path(path):
    rows = _vectors()
    if not rows:
        pytest.skip(f"{VECTORS} not found")
    _core.md5_set_path(path)
    for r in rows:
        labels = np.array([ref.op_labels(r["ops"])], np.int64)
        assert nb101.hash_many(np.array([r["matrix"]], np.uint8), labels)[0] == r["hash"]
    cells = [(r["matrix"], ref.op_labels(r["ops"])) for r in rows]
    env = dict(os.environ, NASBENCH_SUITE_MD5=path, PYTHONPATH=str(REPO))
    child = subprocess.run([sys.executable, "-c", _HASH_IN_CHILD], input=json.dumps(cells), cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout)["hashes"] == [r["hash"] for r in rows]
