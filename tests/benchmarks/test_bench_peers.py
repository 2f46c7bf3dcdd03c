"""Ours against the tools users would pick instead, one pytest-benchmark group
per comparison (``scripts/peer_bench.py`` is the reproducible report,
``reports/peers.md``; these groups give the same comparisons inside
``pytest tests/benchmarks --benchmark-enable``).

A group runs where its peer is importable in this environment and skips with
the reason otherwise (peers pin old packages, so peer_bench.py gives each its
own venv instead):

- official NAS-Bench-101 code: set ``NASBENCH_SUITE_OFFICIAL_NASBENCH`` to a
  checkout of google-research/nasbench (``DIR/nasbench/lib/graph_util.py``);
  the hash group needs only numpy, the enumeration group also ``absl-py``.
- ``syne_tune``, ``xautodl``, ``nasbench_pytorch`` importable.

With ``--benchmark-disable`` (the default) every benchmark runs once and the
"same results" checks still run: same hashes, same hash sets, table values
and budgets, parameter counts.
"""
from __future__ import annotations

import datetime
import importlib.util
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import _core
from nasbench_suite.spaces import nb101, nb201

HASH_CELLS = 500
ENUM_VERTICES = 5
EVALUATIONS = 150
NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NB101_MATRIX = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
NB101_OPS = ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _official_dir() -> Path | None:
    d = os.environ.get("NASBENCH_SUITE_OFFICIAL_NASBENCH")
    if d and (Path(d) / "nasbench" / "lib" / "graph_util.py").is_file():
        return Path(d)
    return None


def _need_official(extra: tuple[str, ...] = ()):
    d = _official_dir()
    if d is None:
        pytest.skip("official NAS-Bench-101 code not given: set NASBENCH_SUITE_OFFICIAL_NASBENCH to a checkout "
                    "of google-research/nasbench")
    for m in extra:
        if not _have(m):
            pytest.skip(f"the official code needs {m}, not importable here")
    if str(d) not in sys.path:
        sys.path.insert(0, str(d))
    return d


def _need(module: str):
    if not _have(module):
        pytest.skip(f"{module} is not importable here (scripts/peer_bench.py runs it in its own venv)")


def _info(benchmark, role: str, cells: int, scope: str, **more) -> None:
    benchmark.extra_info.update(role=role, cells=int(cells), scope=scope, **more)


# --------------------------------------------------------------------------
# official NAS-Bench-101 code: hash and enumeration

@pytest.fixture(scope="module")
def hash_batch():
    """HASH_CELLS valid 7-vertex cells from default_rng(1)."""
    rng = np.random.default_rng(1)
    mats, k = np.zeros((HASH_CELLS, 7, 7), np.uint8), 0
    while k < HASH_CELLS:
        m = np.triu(rng.integers(0, 2, size=(7, 7)), 1).astype(np.uint8)
        if m.sum() <= 9 and (m[:-1].sum(axis=1) > 0).all() and (m[:, 1:].sum(axis=0) > 0).all():
            mats[k], k = m, k + 1
    labels = np.concatenate([np.full((HASH_CELLS, 1), -1), rng.integers(0, 3, (HASH_CELLS, 5)),
                             np.full((HASH_CELLS, 1), -2)], axis=1)
    return mats, labels


def _md5_param(name):
    have = name in _core.md5_paths()
    return pytest.param(name, id=name, marks=[] if have else [pytest.mark.skip(reason=f"no {name} MD5 here")])


@pytest.mark.benchmark(group="peers-nb101-hash")
@pytest.mark.parametrize("path", [_md5_param(p) for p in ("avx512", "avx2", "scalar")])
def test_peers_hash_ours(benchmark, hash_batch, path):
    _need_official()
    from nasbench.lib import graph_util

    mats, labels = hash_batch
    _info(benchmark, "core", HASH_CELLS, f"{HASH_CELLS} valid 7-vertex cells, {path} MD5", threads=1)
    was = _core.md5_path()
    _core.md5_set_path(path)
    try:
        got = benchmark(nb101.hash_many, mats, labels, threads=1)
    finally:
        _core.md5_set_path(was)
    assert list(got) == [graph_util.hash_module(mats[i], labels[i].tolist()) for i in range(HASH_CELLS)]


@pytest.mark.benchmark(group="peers-nb101-hash")
def test_peers_hash_official(benchmark, hash_batch):
    _need_official()
    from nasbench.lib import graph_util

    mats, labels = hash_batch
    cells = [(mats[i], labels[i].tolist()) for i in range(HASH_CELLS)]
    _info(benchmark, "reference", HASH_CELLS, f"{HASH_CELLS} cells, official graph_util.hash_module")
    got = benchmark(lambda: [graph_util.hash_module(m, lab) for m, lab in cells])
    assert got == list(nb101.hash_many(mats, labels))


@pytest.mark.benchmark(group="peers-nb101-enumerate")
def test_peers_enumerate_ours(benchmark):
    _need_official(("absl",))
    _info(benchmark, "core", 1, f"enumeration up to {ENUM_VERTICES} vertices, with hashes")
    got = benchmark(lambda: sorted(str(h) for h in nb101.enumerate_space(max_vertices=ENUM_VERTICES).hashes()))
    assert got == _official_enumeration(Path(os.environ.get("TMPDIR", "/tmp")))[1]


def _official_enumeration(tmp: Path):
    """Runs the official generate_graphs.py main once: (seconds, sorted hashes)."""
    import time

    tf = types.ModuleType("tensorflow")  # used for gfile only
    tf.io = types.SimpleNamespace(gfile=types.SimpleNamespace(GFile=open))
    sys.modules.setdefault("tensorflow", tf)
    from nasbench.scripts import generate_graphs

    out = tmp / "nasbench_suite_official_graphs.json"
    flags = generate_graphs.FLAGS
    if not flags.is_parsed():
        flags(["generate_graphs"])
    flags.max_vertices, flags.output_file = ENUM_VERTICES, str(out)
    t = time.perf_counter()
    generate_graphs.main(None)
    seconds = time.perf_counter() - t
    return seconds, sorted(json.loads(out.read_text()))


@pytest.mark.benchmark(group="peers-nb101-enumerate")
def test_peers_enumerate_official(benchmark, tmp_path):
    _need_official(("absl",))
    _info(benchmark, "reference", 1, f"official generate_graphs.py up to {ENUM_VERTICES} vertices")
    _, hashes = benchmark.pedantic(_official_enumeration, args=(tmp_path,), rounds=1, iterations=1)
    assert hashes == sorted(str(h) for h in nb101.enumerate_space(max_vertices=ENUM_VERTICES).hashes())


# --------------------------------------------------------------------------
# Syne Tune: RE and RS on a tabular blackbox of the same NB201 values

def _edge_ops(arch: str) -> list[str]:
    return [tok.split("~")[0] for node in arch.split("+") for tok in node.strip("|").split("|")]


@pytest.fixture(scope="module")
def nb201_values(nb201_synthetic):
    from nasbench_suite.tables import Benchmark

    bench = Benchmark.open(nb201_synthetic)
    idx = np.arange(nb201.NUM_CELLS)
    valid = bench.query(idx, "valid_acc", fidelity=12)
    test = bench.query(idx, "test_acc", fidelity=200)
    ops = [_edge_ops(nb201.arch_string(int(i))) for i in idx]
    return bench, ops, valid, test


def _syne_run(algo, ops, valid, test, seed):
    import pandas as pd
    from syne_tune.backend.trial_status import Trial
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint
    from syne_tune.optimizer.baselines import REA, RandomSearch

    cols = [f"edge{k}" for k in range(6)]
    space = {c: choice(sorted(nb201.OPS)) for c in cols}
    bb = BlackboxTabular(pd.DataFrame(ops, columns=cols), space, {"epoch": randint(1, 200)},
                         np.stack([valid, test], axis=1).reshape(len(ops), 1, 1, 2),
                         fidelity_values=np.array([200]), objectives_names=["valid", "test"])
    d = nb201.SPACE.strategy_defaults["regularized_evolution"]
    np.random.seed(seed)  # Syne Tune's samplers use numpy's global generator, whatever random_seed says
    sched = (REA(space, metric="valid", do_minimize=False, random_seed=seed, **d) if algo == "RE"
             else RandomSearch(space, metrics=["valid"], do_minimize=False, random_seed=seed))
    seen = []
    for trial_id in range(EVALUATIONS):
        config = sched.suggest().config
        r = bb.objective_function(config, fidelity={"epoch": 200}, seed=0)
        sched.on_trial_complete(Trial(trial_id, config, datetime.datetime.now()), {"valid": float(r["valid"])})
        seen.append(([config[c] for c in cols], float(r["valid"]), float(r["test"])))
    return seen


@pytest.mark.parametrize("algo, strategy", [("RE", "regularized_evolution"), ("RS", "random_search")])
@pytest.mark.parametrize("side", ["ours", "syne-tune"])
def test_peers_syne_tune(benchmark, nb201_values, algo, strategy, side):
    _need("syne_tune")
    from nasbench_suite.runner import run_search

    benchmark.group = f"peers-syne-tune-{algo}"
    bench, ops, valid, test = nb201_values
    if side == "ours":
        _info(benchmark, "core", 1, f"run_search {strategy}, {EVALUATIONS} evaluations, dedup=False")
        traj = benchmark(run_search, bench, strategy, seed=0, budget={"queries": EVALUATIONS},
                         search_metric="valid_acc@12", report_metric="test_acc@200",
                         strategy_kwargs={"dedup": False})
        assert len(traj) == EVALUATIONS
    else:
        _info(benchmark, "reference", 1, f"Syne Tune {algo}, {EVALUATIONS} evaluations, BlackboxTabular")
        seen = benchmark(_syne_run, algo, ops, valid, test, 0)
        assert len(seen) == EVALUATIONS
        row = {tuple(o): i for i, o in enumerate(ops)}
        for o, v, t in seen:  # the blackbox answers with our table's values
            assert (v, t) == (valid[row[tuple(o)]], test[row[tuple(o)]])


# --------------------------------------------------------------------------
# networks: xautodl (NB201) and nasbench-pytorch (NB101)

def _step(model, x, y):
    import torch

    model.zero_grad(set_to_none=True)
    out = model(x)
    logits = out[-1] if isinstance(out, tuple) else out
    torch.nn.functional.cross_entropy(logits, y).backward()


def _xy(batch):
    import torch

    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g)


@pytest.mark.benchmark(group="peers-nb201-network")
@pytest.mark.parametrize("side", ["ours", "xautodl"])
def test_peers_nb201_network(benchmark, side):
    _need("xautodl")
    _need("torch")
    from xautodl.models import get_cell_based_tiny_net

    from nasbench_suite.train.networks import build_network, count_params

    theirs = get_cell_based_tiny_net({"name": "infer.tiny", "C": 16, "N": 5, "arch_str": NB201_ARCH,
                                      "num_classes": 10})
    ours = build_network(nb201.SPACE, nb201.Cell.from_string(NB201_ARCH), 10)
    assert count_params(ours) == sum(p.numel() for p in theirs.parameters())
    model = ours if side == "ours" else theirs
    _info(benchmark, "core" if side == "ours" else "reference", 1, "forward+backward, batch 8")
    x, y = _xy(8)
    benchmark(_step, model.train(), x, y)


@pytest.mark.benchmark(group="peers-nb101-network")
@pytest.mark.parametrize("side", ["ours", "nasbench-pytorch"])
def test_peers_nb101_network(benchmark, side):
    _need("nasbench_pytorch")
    _need("torch")
    from nasbench_pytorch.model import Network
    from nasbench_pytorch.model.model import Placeholder
    from nasbench_pytorch.model.model_spec import ModelSpec

    from nasbench_suite.train.networks import build_network, count_params

    theirs = Network(ModelSpec(np.array(NB101_MATRIX), NB101_OPS), num_labels=10)
    ours = build_network(nb101.SPACE, nb101.Cell(NB101_MATRIX, NB101_OPS), 10)
    # nasbench-pytorch adds one unused scalar (Placeholder.a) where a cell has no op
    extra = sum(p.numel() for m in theirs.modules() if isinstance(m, Placeholder) for p in m.parameters())
    assert 0 < extra and count_params(ours) == sum(p.numel() for p in theirs.parameters()) - extra
    model = ours if side == "ours" else theirs
    _info(benchmark, "core" if side == "ours" else "reference", 1, "forward+backward, batch 4")
    x, y = _xy(4)
    benchmark(_step, model.train(), x, y)
