"""Speed and memory of the table reader on a table the size of NAS-Bench-101,
against the way NASLib-style code holds the same data (a pickle of nested
dicts), measured in the same run.

The table: every one of the 423,624 NB101 cells (``nb101.enumerate_space()``,
official hashes), cifar10, 3 seeds x 4 fidelities (4, 12, 36, 108 epochs),
4 metrics (train/valid/test accuracy, train time), written straight from
numpy arrays with ``_schema.write_all`` in the layout of docs/FORMAT.md (the
values are synthetic). It is built once per session in a temporary folder.

The reference: the same values as ``{hash: {dataset: {metric: {fidelity:
[value per seed]}}}}`` in a pickle, loaded with ``pickle.load`` and queried
with dict lookups in a Python loop and in a list comprehension. With
benchmarks enabled it holds all 423,624 cells (about 2.5 GB in memory and a
minute to load); with ``--benchmark-disable`` (the default) only the first
``QUICK_PICKLE_CELLS``, to check the harness; ``NBS_PICKLE_CELLS`` overrides.

Load time and memory are measured in fresh subprocesses (``ru_maxrss``:
the peak resident set, absolute, imports included), each figure recorded in
``extra_info``; ``scripts/perf_tables.py`` turns a run into
``reports/perf_tables.md``. Every benchmark carries ``extra_info["side"]``
(``table`` or ``pickle``) and no ``role``, so ``scripts/perf_report.py``
(the core's report) leaves these out.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from nasbench_suite import _core
from nasbench_suite.spaces import nb101
from nasbench_suite.tables import Benchmark
from nasbench_suite.tables._schema import DatasetData, TableData, write_all

SEEDS = [0, 1, 2]
FIDELITIES = [4.0, 12.0, 36.0, 108.0]
METRICS = ["train_acc", "valid_acc", "test_acc", "train_time"]
DATASET = "cifar10"
LOOKUPS = 1_000_000  # batched lookups
QUICK_LOOKUPS = 100_000  # lookups in the pickle's Python loop when benchmarks are disabled
QUICK_PICKLE_CELLS = 20_000
CHILD_ROUNDS = 5  # fresh processes for open + first query

# Targets of the issue.
OPEN_FIRST_QUERY_MAX_S = 0.3
RSS_MAX_MB = 200.0
BATCHED_MIN_PER_S = 5e6
SINGLE_MAX_US = 5.0

pytestmark = pytest.mark.slow  # building the 423k-cell table takes tens of seconds


def perf_mode(config) -> bool:
    """Benchmarks enabled (``--benchmark-enable``), as opposed to one pass of each."""
    return not (config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"))


def maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ------------------------------------------------------------------ the synthetic NB101 table
def build_nb101_table(path, seed: int = 0) -> dict:
    """Writes the table; returns its hashes (U32, row order) and timings."""
    times = {}
    t = time.perf_counter()
    space = nb101.enumerate_space()
    times["enumerate_s"] = time.perf_counter() - t

    t = time.perf_counter()
    matrix, labels, nv = nb101.decode_canonical(space.keys, "end")
    m_ol, lab_ol, _ = nb101.decode_canonical(space.keys, "output-last")
    hashes = nb101.hash_many(m_ol, lab_ol.astype(np.int64), threads=None)
    times["hash_s"] = time.perf_counter() - t

    t = time.perf_counter()
    n = hashes.size
    rng = np.random.default_rng(seed)
    shape = (n, len(SEEDS), len(FIDELITIES))
    # accuracies in steps of 0.01 % (as from 10,000 test images), cumulative times
    metrics = {
        "train_acc": rng.integers(1000, 10001, shape) / 100.0,
        "valid_acc": rng.integers(1000, 9501, shape) / 100.0,
        "test_acc": rng.integers(1000, 9501, shape) / 100.0,
        "train_time": np.cumsum(rng.uniform(50.0, 1000.0, shape), axis=2),
    }
    cells = {
        "key": _core.hex_to_keys(hashes.astype("S32")),
        "hash": hashes.astype("S32"),
        "matrix": matrix,
        "labels": labels,
        "num_vertices": nv.astype(np.int8),
        "canonical": space.keys,
    }
    table = TableData(
        "nb101", cells,
        {DATASET: DatasetData(np.array(SEEDS, dtype=np.int64), np.array(FIDELITIES), metrics)},
        {"provenance": {"synthetic": "tests/benchmarks/test_bench_tables.py", "seed": seed}, "cost_model": {}},
    )
    times["values_s"] = time.perf_counter() - t
    t = time.perf_counter()
    write_all(path, table)
    times["write_s"] = time.perf_counter() - t
    times["total_s"] = sum(times.values())
    return {"path": str(path), "hashes": hashes, "n": int(n), "times": times,
            "bytes": os.path.getsize(path)}


@pytest.fixture(scope="session")
def nb101_table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb101_table")
    return build_nb101_table(folder / "nb101_synthetic.h5")


@pytest.fixture(scope="session")
def queries(nb101_table, tmp_path_factory):
    """LOOKUPS hashes drawn uniformly (with repeats) from the table, U32, saved for the children."""
    h = nb101_table["hashes"]
    q = h[np.random.default_rng(1).integers(0, h.size, LOOKUPS)]
    path = tmp_path_factory.mktemp("queries") / "queries.npy"
    np.save(path, q)
    return {"u32": q, "path": str(path)}


@pytest.fixture(scope="session")
def bench(nb101_table):
    """An open Benchmark whose index is built and valid_acc cached (the steady state)."""
    with Benchmark.open(nb101_table["path"]) as b:
        b.query(nb101_table["hashes"][:1000], "valid_acc")
        yield b


def test_table_build_time_and_contents(nb101_table):
    """The build is quick enough for CI, and the table is what it claims to be."""
    times = nb101_table["times"]
    assert nb101_table["n"] == 423_624
    assert times["total_s"] < 120, times  # CI sanity bound; typically 15-40 s on 2 cores
    with h5py.File(nb101_table["path"], "r") as h:
        assert h["datasets/cifar10/metrics/valid_acc"].shape == (423_624, 3, 4)
    with Benchmark.open(nb101_table["path"]) as b:
        assert len(b) == 423_624 and set(b.metrics()) == set(METRICS)
        rng = np.random.default_rng(5)
        for r in rng.integers(0, len(b), 20):
            cell = b.cell(int(r))  # the stored matrix and labels are the hashed cell
            assert cell.hash() == nb101_table["hashes"][r]
            assert b.rows(cell).tolist() == [r]


# ------------------------------------------------------------------ fresh processes
# Peak resident set of the child, MB: ru_maxrss (what the issue names) and,
# where /proc exists, VmHWM. Linux carries ru_maxrss across fork and exec, so
# a child started straight from this (large) pytest process would report at
# least pytest's own size; run_child starts it through a small launcher.
CHILD_RSS = textwrap.dedent("""
    import resource
    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    def hwm():
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return rss()
""")
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def run_child(code: str, *args: str, timeout: float = 600) -> dict:
    cmd = [sys.executable, "-c", LAUNCHER, sys.executable, "-c", CHILD_RSS + code, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ open + first query
OPEN_CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    from nasbench_suite.tables import Benchmark
    t1 = time.perf_counter()
    path, first, qpath = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {"import_s": t1 - t0, "rss_after_import_mb": rss()}
    t = time.perf_counter()
    b = Benchmark.open(path)
    out["open_s"] = time.perf_counter() - t
    value = b.query(first, "valid_acc")
    out["open_first_query_s"] = time.perf_counter() - t
    out["rss_open_first_query_mb"] = rss()
    out["hwm_open_first_query_mb"] = hwm()
    out["value"] = value
    if qpath:
        q = np.load(qpath)
        t = time.perf_counter()
        v = b.query(q, "valid_acc")
        out["first_batched_query_s"] = time.perf_counter() - t  # reads valid_acc whole
        out["rss_after_batched_query_mb"] = rss()
        out["batched_checksum"] = float(v[:1000].sum())
    print(json.dumps(out))
""")


def test_open_and_first_query_in_fresh_processes(benchmark, nb101_table, queries, pytestconfig):
    """Fresh interpreter: open the table and answer one query (timed inside the
    child, imports excluded); peak RSS after that; then a 1M batched query."""
    h = nb101_table["hashes"]
    rng = np.random.default_rng(2)
    runs = []

    def one_round():
        first = str(h[rng.integers(0, h.size)])
        runs.append(run_child(OPEN_CHILD, nb101_table["path"], first, queries["path"] if not runs else ""))
        runs[-1]["first_hash"] = first

    benchmark.pedantic(one_round, rounds=CHILD_ROUNDS if perf_mode(pytestconfig) else 2, iterations=1)
    with Benchmark.open(nb101_table["path"]) as b:
        for r in runs:
            assert r["value"] == b.query(r["first_hash"], "valid_acc")
        assert runs[0]["batched_checksum"] == pytest.approx(b.query(queries["u32"][:1000], "valid_acc").sum())
    opens = sorted(r["open_first_query_s"] for r in runs)
    rss = max(r["rss_open_first_query_mb"] for r in runs)
    hwm = max(r["hwm_open_first_query_mb"] for r in runs)
    benchmark.extra_info.update({
        "side": "table", "what": "open + first query, fresh process",
        "open_first_query_s": [r["open_first_query_s"] for r in runs],
        "open_s": [r["open_s"] for r in runs],
        "import_s": [r["import_s"] for r in runs],
        "rss_after_import_mb": max(r["rss_after_import_mb"] for r in runs),
        "rss_open_first_query_mb": rss, "hwm_open_first_query_mb": hwm,
        "first_batched_query_s": runs[0]["first_batched_query_s"],
        "rss_after_batched_query_mb": runs[0]["rss_after_batched_query_mb"],
        "table_bytes": nb101_table["bytes"], "build": nb101_table["times"],
    })
    assert max(rss, hwm) <= RSS_MAX_MB, f"peak RSS {rss:.0f} MB (VmHWM {hwm:.0f} MB) after open + first query"
    assert opens[0] < 10 * OPEN_FIRST_QUERY_MAX_S  # sanity bound for a loaded CI machine


def test_open_and_first_query_in_process(benchmark, nb101_table, pytestconfig):
    """The same in this process (imports done, file in the page cache)."""
    h = nb101_table["hashes"]
    rng = np.random.default_rng(3)

    def open_first():
        with Benchmark.open(nb101_table["path"]) as b:
            return b.query(str(h[rng.integers(0, h.size)]), "valid_acc")

    value = benchmark.pedantic(open_first, rounds=10 if perf_mode(pytestconfig) else 1, iterations=1)
    assert 10.0 <= value <= 95.0
    benchmark.extra_info.update({"side": "table", "what": "open + first query, in process"})


# ------------------------------------------------------------------ batched lookups
BATCHED_ROUNDS = 15  # about 0.1-0.6 s each; more rounds than the default steadies the median


def batched(benchmark, fn, *args, **kwargs):
    return benchmark.pedantic(fn, args=args, kwargs=kwargs, rounds=BATCHED_ROUNDS, warmup_rounds=1)


def test_batched_rows(benchmark, bench, queries, nb101_table):
    q = queries["u32"]
    rows = batched(benchmark, bench.rows, q)
    assert rows.shape == (LOOKUPS,) and (rows >= 0).all()
    assert (nb101_table["hashes"][rows[:10_000]] == q[:10_000]).all()
    benchmark.extra_info.update({"side": "table", "lookups": LOOKUPS, "what": "Benchmark.rows(U32 hashes)"})


def test_batched_rows_s32(benchmark, bench, queries):
    """The same hashes as bytes (S32, a quarter of the memory of U32)."""
    q = queries["u32"].astype("S32")
    rows = batched(benchmark, bench.rows, q)
    assert (rows >= 0).all()
    benchmark.extra_info.update({"side": "table", "lookups": LOOKUPS, "what": "Benchmark.rows(S32 hashes)"})


def test_batched_rows_raw_index(benchmark, bench, queries):
    """The core's batched lookup alone, on the same U32 hashes (hex parsing included)."""
    idx = bench._key_index()
    rows = batched(benchmark, idx.find_hex, queries["u32"])
    assert (rows >= 0).all()
    benchmark.extra_info.update({"side": "table", "lookups": LOOKUPS, "what": "KeyIndex.find_hex(U32)"})


def test_batched_rows_raw_index_keys(benchmark, bench, queries):
    """The core's probe alone: keys already parsed to (M, 2) uint64."""
    idx = bench._key_index()
    keys = _core.hex_to_keys(queries["u32"])
    rows = batched(benchmark, idx.find, keys)
    assert (rows >= 0).all()
    benchmark.extra_info.update({"side": "table", "lookups": LOOKUPS, "what": "KeyIndex.find((M,2) uint64)"})


def test_batched_query(benchmark, bench, queries, nb101_table):
    """Mean valid accuracy at 108 epochs of 1M cells; the metric is cached (steady state)."""
    q = queries["u32"]
    values = batched(benchmark, bench.query, q, "valid_acc")
    with h5py.File(nb101_table["path"], "r") as h:
        full = h["datasets/cifar10/metrics/valid_acc"][()]
    rows = bench.rows(q[:10_000])
    np.testing.assert_allclose(values[:10_000], full[rows, :, 3].mean(axis=1), rtol=1e-12)
    benchmark.extra_info.update({"side": "table", "lookups": LOOKUPS, "what": "Benchmark.query(U32, mean)"})


def test_batched_query_generator_seed(benchmark, bench, queries):
    q = queries["u32"]
    values = batched(benchmark, lambda: bench.query(q, "valid_acc", fidelity=36, seed=np.random.default_rng(0)))
    assert not np.isnan(values).any()
    benchmark.extra_info.update({"side": "table", "lookups": LOOKUPS, "what": "Benchmark.query(U32, Generator)"})


# ------------------------------------------------------------------ single lookups
@pytest.fixture
def one_hash(nb101_table):
    return str(nb101_table["hashes"][123_456])


def test_single_rows(benchmark, bench, one_hash):
    assert benchmark(bench.rows, one_hash).tolist() == [123_456]
    benchmark.extra_info.update({"side": "table", "lookups": 1, "what": "Benchmark.rows(hash str)"})


def test_single_raw_index(benchmark, bench, one_hash):
    idx = bench._key_index()
    assert benchmark(idx.find_one_hex, one_hash) == 123_456
    benchmark.extra_info.update({"side": "table", "lookups": 1, "what": "KeyIndex.find_one_hex(hash str)"})


def test_single_query(benchmark, bench, one_hash):
    v = benchmark(bench.query, one_hash, "valid_acc")
    assert v == bench.query([one_hash], "valid_acc")[0]
    benchmark.extra_info.update({"side": "table", "lookups": 1, "what": "Benchmark.query(hash str, mean)"})


def test_single_query_generator_seed(benchmark, bench, one_hash):
    rng = np.random.default_rng(0)
    v = benchmark(bench.query, one_hash, "valid_acc", seed=rng)
    assert 10.0 <= v <= 95.0
    benchmark.extra_info.update({"side": "table", "lookups": 1, "what": "Benchmark.query(hash str, Generator)"})


# ------------------------------------------------------------------ the pickle reference
PICKLE_CHILD = textwrap.dedent("""
    import json, pickle, sys, time
    path, qpath, lookups = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = {"rss_start_mb": rss()}
    t = time.perf_counter()
    with open(path, "rb") as f:
        d = pickle.load(f)
    out["load_s"] = time.perf_counter() - t
    out["rss_after_load_mb"] = rss()
    out["hwm_after_load_mb"] = hwm()
    out["cells"] = len(d)
    with open(qpath) as f:
        q = f.read().split()[:lookups]
    out["lookups"] = len(q)
    # mean valid accuracy over the seeds at 108 epochs, one cell at a time
    t = time.perf_counter()
    loop = []
    for h in q:
        v = d[h]["cifar10"]["valid_acc"][108.0]
        loop.append(sum(v) / len(v))
    out["loop_s"] = time.perf_counter() - t
    t = time.perf_counter()
    comp = [sum(v) / len(v) for v in [d[h]["cifar10"]["valid_acc"][108.0] for h in q]]
    out["listcomp_s"] = time.perf_counter() - t
    t = time.perf_counter()
    raw = [d[h] for h in q]
    out["listcomp_raw_s"] = time.perf_counter() - t
    t = time.perf_counter()
    h = q[0]
    for _ in range(len(q)):
        d[h]["cifar10"]["valid_acc"][108.0]
    out["same_key_loop_s"] = time.perf_counter() - t
    assert loop == comp and len(raw) == len(q)
    out["checksum"] = sum(loop[:1000])
    print(json.dumps(out))
""")


@pytest.fixture(scope="session")
def pickle_reference(nb101_table, queries, tmp_path_factory, pytestconfig):
    full = perf_mode(pytestconfig)
    cells = int(os.environ.get("NBS_PICKLE_CELLS", 0)) or (nb101_table["n"] if full else QUICK_PICKLE_CELLS)
    cells = min(cells, nb101_table["n"])
    lookups = LOOKUPS if full else QUICK_LOOKUPS
    t = time.perf_counter()
    with h5py.File(nb101_table["path"], "r") as h:
        arrays = {m: h[f"datasets/{DATASET}/metrics/{m}"][:cells] for m in METRICS}
    hashes = nb101_table["hashes"][:cells].tolist()
    lists = {m: a.transpose(0, 2, 1).tolist() for m, a in arrays.items()}  # (cell, fidelity) -> seeds
    del arrays
    data = {
        h: {DATASET: {m: dict(zip(FIDELITIES, lists[m][i])) for m in METRICS}}
        for i, h in enumerate(hashes)
    }
    del lists
    build_s = time.perf_counter() - t
    folder = tmp_path_factory.mktemp("pickle")
    path = folder / "nb101_nested.pickle"
    t = time.perf_counter()
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
    dump_s = time.perf_counter() - t
    del data
    # queries among the cells the pickle holds (all of them: the same draws as the table's), as text
    sub = queries["u32"] if cells == nb101_table["n"] else \
        np.asarray(hashes)[np.random.default_rng(1).integers(0, cells, lookups)]
    sub = sub[:lookups]
    qpath = folder / "queries.txt"
    qpath.write_text("\n".join(sub.tolist()))
    return {"path": str(path), "qpath": str(qpath), "cells": cells, "lookups": lookups,
            "full": cells == nb101_table["n"], "build_s": build_s, "dump_s": dump_s,
            "bytes": os.path.getsize(path), "queries": sub}


def test_pickle_reference(benchmark, pickle_reference, bench):
    """pickle.load of the nested dicts and dict lookups from Python, in a fresh process."""
    ref = pickle_reference
    result = {}

    def run():
        result.update(run_child(PICKLE_CHILD, ref["path"], ref["qpath"], str(ref["lookups"]), timeout=1800))

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert result["cells"] == ref["cells"] and result["lookups"] == ref["lookups"]
    # the reference answers what the table answers
    want = bench.query(ref["queries"][:1000], "valid_acc")
    assert result["checksum"] == pytest.approx(float(want.sum()), rel=1e-12)
    benchmark.extra_info.update({
        "side": "pickle", "what": "pickle of nested dicts: load, RSS, lookups in Python",
        "cells": ref["cells"], "full_size": ref["full"], "pickle_bytes": ref["bytes"],
        "build_s": ref["build_s"], "dump_s": ref["dump_s"], **result,
    })
