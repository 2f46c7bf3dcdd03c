"""Search trajectories are byte-identical whatever BLAS kernel, SIMD level or
libm variant the x86-64 machine has (issue 18, "Reproducible on any x86-64
machine": strategies).

- The same small grid (every registered strategy on the synthetic NB201
  table, the learned and model-based ones on NB101) runs in subprocesses
  under the default environment, the oldest OpenBLAS kernel
  (``OPENBLAS_CORETYPE=Prescott``), and numpy without any SIMD target above
  its baseline (only targets this machine has are disabled, so the test means
  the same on any x86-64 CPU, with or without AVX512) with glibc's libm made
  to pick its non-FMA variants; trajectory digests and the learned
  strategies' internal floating-point state must be equal.
- The compiled kernels behind that (``csrc/detmath.hpp``, ``csrc/mlp.hpp``)
  agree with plain numpy references (BANANAS's ensemble: the float64 numpy
  version of the algorithm, kept here as the reference), do not depend on
  the number of threads, and give the bits recorded below on fixed, exactly
  representable inputs: a build or CPU that rounds differently fails here.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import pathlib

import numpy as np
import pytest

from nasbench_suite import _core
from nasbench_suite.strategies import REGISTRY
from nasbench_suite.predictors import mlp_ensemble as mlp_mod

REPO = pathlib.Path(__file__).resolve().parents[1]


def _load_repro_check():
    spec = importlib.util.spec_from_file_location("repro_check", REPO / "scripts" / "repro_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ across environments

def test_trajectories_are_identical_across_blas_kernels_simd_levels_and_libm_variants(nb201_synthetic,
                                                                                      nb101_synthetic):
    rc = _load_repro_check()
    have, _ = rc.numpy_simd_targets()  # numpy's dispatch targets this CPU has
    envs = [("default", {}),
            ("openblas=Prescott", {"OPENBLAS_CORETYPE": "Prescott"}),
            ("numpy-baseline, libm-no-fma", {"NPY_DISABLE_CPU_FEATURES": " ".join(have),
                                             "GLIBC_TUNABLES": rc.GLIBC_NO_FMA})]
    grid = [{"space": "nb201", "strategy": name, "seed": seed, "budget": 60}
            for name in REGISTRY for seed in (0, 1)]
    grid += [{"space": "nb101", "strategy": name, "seed": 0, "budget": 60}
             for name in ("bananas", "reinforce", "bohb")]
    tables = {"nb201": str(nb201_synthetic), "nb101": str(nb101_synthetic)}
    results = rc.check(tables, grid, envs, jobs=2)

    assert results["numpy-baseline, libm-no-fma"]["info"]["numpy_simd"] == []  # the setting took effect
    default = results["default"]
    assert len(default["digests"]) == len(grid)
    assert {k.split("/")[1] for k in default["states"]} == {"bananas", "reinforce", "bohb"}
    for name, r in results.items():
        changed = [k for k in default["digests"] if r["digests"][k] != default["digests"][k]]
        assert not changed, f"trajectories differ under {name}: {changed}"
        changed = [k for k in default["states"] if r["states"][k] != default["states"][k]]
        assert not changed, f"model states differ under {name}: {changed}"


# ------------------------------------------------------------------ BANANAS's ensemble

def _reference_fit(theta, dims, members, X, y, order, steps, batch_size, lr, beta1, beta2, eps):
    """The ensemble's training in float64 numpy (batched matrix products, as
    bananas.py did before the core took over): the same algorithm, other
    summation orders, so it agrees to rounding, not to the bit."""
    params = theta.copy()
    shapes = mlp_mod._layer_shapes(members, dims[0], len(dims) - 2, dims[1])
    views = mlp_mod._views(params, shapes)
    W, b = views[0::2], views[1::2]
    m1, m2 = np.zeros_like(params), np.zeros_like(params)
    grad = np.zeros_like(params)
    gv = mlp_mod._views(grad, shapes)
    gW, gb = gv[0::2], gv[1::2]
    n = X.shape[0]
    per_epoch = -(-n // batch_size)
    b1t = b2t = 1.0
    for t in range(1, steps + 1):
        s = (t - 1) * batch_size % (per_epoch * batch_size)
        rows = (order[(t - 1) // per_epoch] if order is not None
                else np.repeat(np.arange(n)[None], members, axis=0))[:, s:s + batch_size]
        hs = [X[rows]]
        for i in range(len(W)):
            h = hs[-1] @ W[i] + b[i]
            hs.append(np.maximum(h, 0.0) if i < len(W) - 1 else h)
        d = np.sign(hs[-1] - y[rows][..., None]) * (1.0 / rows.shape[1])
        for i in range(len(W) - 1, -1, -1):
            gW[i][...] = hs[i].transpose(0, 2, 1) @ d
            gb[i][...] = d.sum(axis=1, keepdims=True)
            if i > 0:
                d = (d @ W[i].transpose(0, 2, 1)) * (hs[i] > 0)
        b1t *= beta1
        b2t *= beta2
        step = lr * math.sqrt(1.0 - b2t) / (1.0 - b1t)
        m1 = m1 * beta1 + grad * (1.0 - beta1)
        m2 = m2 * beta2 + (grad * grad) * (1.0 - beta2)
        params -= (m1 / (np.sqrt(m2) + eps)) * step
    return params


def _reference_predict(theta, dims, members, X):
    shapes = mlp_mod._layer_shapes(members, dims[0], len(dims) - 2, dims[1])
    views = mlp_mod._views(theta, shapes)
    h = np.repeat(X[None], members, axis=0)
    for i, (W, b) in enumerate(zip(views[0::2], views[1::2])):
        h = h @ W + b
        if i < len(views) // 2 - 1:
            h = np.maximum(h, 0.0)
    return h[..., 0]


def _problem(seed=0, n=45, d=14, members=3, width=8, layers=2):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, d)) < 0.3).astype(np.float64)
    X[:, 3] = 0.0  # a column no row uses: no gradient, its weights stay put
    X[:, 5] *= 2.5
    y = rng.normal(size=n)
    ens = mlp_mod._Ensemble(d, members, layers, width, rng)
    return ens, X, y, rng


@pytest.mark.parametrize("batch_size", [16, 64])  # several batches per epoch; one batch (no shuffling)
def test_core_ensemble_matches_the_numpy_reference(batch_size):
    ens, X, y, rng = _problem()
    n, E = X.shape[0], ens.members
    steps = 40
    per_epoch = -(-n // batch_size)
    order = (np.argsort(rng.random((-(-steps // per_epoch), E, n)), axis=2, kind="stable")
             if batch_size < n else None)
    args = (ens.dims, E, X, y, order, steps, batch_size, 0.01, 0.9, 0.99, 1e-7)
    got = _core.mlp_ensemble_fit(ens.theta, *args)
    want = _reference_fit(ens.theta, *args)
    assert not np.array_equal(got, ens.theta)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    unused = mlp_mod._views(got, ens.shapes)[0][:, 3, :]
    np.testing.assert_array_equal(unused, mlp_mod._views(ens.theta, ens.shapes)[0][:, 3, :])
    Xq = (np.random.default_rng(9).random((30, X.shape[1])) < 0.4).astype(np.float64)
    np.testing.assert_allclose(_core.mlp_ensemble_predict(got, ens.dims, E, Xq),
                               _reference_predict(got, ens.dims, E, Xq), rtol=1e-12, atol=1e-12)


def test_ensemble_fit_draws_one_order_per_epoch_from_the_generator():
    ens, X, y, _ = _problem()
    theta0 = ens.theta.copy()
    ens.fit(X, y, epochs=3, batch_size=16, lr=0.01, rng=np.random.default_rng(7))
    rng = np.random.default_rng(7)
    order = np.argsort(rng.random((3, ens.members, X.shape[0])), axis=2, kind="stable")
    want = _core.mlp_ensemble_fit(theta0, ens.dims, ens.members, X, y, order, 9, 16, 0.01, 0.9, 0.99, 1e-7)
    np.testing.assert_array_equal(ens.theta, want)
    assert ens.W[0].base is not None  # the views still look at theta


def test_core_ensemble_does_not_depend_on_the_number_of_threads():
    ens, X, y, rng = _problem(members=5)
    order = np.argsort(rng.random((20, 5, X.shape[0])), axis=2, kind="stable")
    args = (ens.dims, 5, X, y, order, 50, 16, 0.01, 0.9, 0.99, 1e-7)
    one = _core.mlp_ensemble_fit(ens.theta, *args, threads=1)
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(_core.mlp_ensemble_fit(ens.theta, *args, threads=threads), one)
        np.testing.assert_array_equal(_core.mlp_ensemble_predict(one, ens.dims, 5, X, threads=threads),
                                      _core.mlp_ensemble_predict(one, ens.dims, 5, X))


def test_core_ensemble_refuses_bad_shapes():
    ens, X, y, _ = _problem()
    with pytest.raises(ValueError, match="theta"):
        _core.mlp_ensemble_fit(ens.theta[:-1], ens.dims, ens.members, X, y, None, 5, 64, 0.01, 0.9, 0.99, 1e-7)
    with pytest.raises(ValueError, match="order"):
        _core.mlp_ensemble_fit(ens.theta, ens.dims, ens.members, X, y, None, 5, 16, 0.01, 0.9, 0.99, 1e-7)
    with pytest.raises(ValueError, match="X"):
        _core.mlp_ensemble_predict(ens.theta, ens.dims, ens.members, X[:, :-1])


# ------------------------------------------------------------------ elementary functions

def _ulps(a, b):
    return np.abs(np.asarray(a, dtype=np.float64).view(np.int64) - np.asarray(b, dtype=np.float64).view(np.int64))


def test_det_exp_log_log1p_are_within_an_ulp_or_two_of_libm():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-745, 709.7, 20000), rng.uniform(-2, 2, 20000), [0.0, 1e-20, -1e-20]])
    np.testing.assert_array_less(_ulps(_core.det_exp(x), [math.exp(v) for v in x]), 2)
    p = np.concatenate([np.exp(rng.uniform(-740, 700, 20000)), rng.uniform(0.5, 2, 20000), [1.0, 5e-324]])
    np.testing.assert_array_less(_ulps(_core.det_log(p), [math.log(v) for v in p]), 2)
    q = np.concatenate([rng.uniform(-0.999, 1, 20000), 10.0 ** rng.uniform(-300, -1, 2000), [0.0, 1e300]])
    np.testing.assert_array_less(_ulps(_core.det_log1p(q), [math.log1p(v) for v in q]), 4)
    assert _core.det_exp(0.0) == 1.0 and _core.det_log(1.0) == 0.0
    assert _core.det_exp(-np.inf) == 0.0 and _core.det_exp(np.inf) == np.inf and _core.det_exp(1000.0) == np.inf
    assert _core.det_log(0.0) == -np.inf and math.isnan(_core.det_log(-1.0)) and math.isnan(_core.det_exp(np.nan))
    assert _core.det_log1p(-1.0) == -np.inf and math.isnan(_core.det_log1p(-2.0))


def test_softmax_rows_and_kde_match_numpy():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, (7, 5))
    sizes = np.array([5, 2, 3, 5, 1, 4, 2])
    p = _core.softmax_rows(z, sizes)
    for i, k in enumerate(sizes):
        e = np.exp(z[i, :k] - z[i, :k].max())
        np.testing.assert_allclose(p[i, :k], e / e.sum(), rtol=1e-14)
        assert np.all(p[i, k:] == 0.0)
    data = rng.integers(0, 3, (9, 4))
    bw = np.array([0.1, 0.3, 0.5, 0.6])
    c = np.array([3, 3, 3, 3])
    x = rng.integers(0, 3, (6, 4))
    log_k = np.where(x[:, None, :] == data[None], np.log1p(-bw), np.log(bw / (c - 1))).sum(axis=2)
    want = np.log(np.exp(log_k).mean(axis=1))
    np.testing.assert_allclose(_core.categorical_kde_log_density(data, bw, c, x), want, rtol=1e-13)


# ------------------------------------------------------------------ the same bits everywhere

def _exact_inputs():
    """Fixed inputs built from integers only (exactly representable, no
    transcendental function or BLAS on the way)."""
    x = np.arange(-40000, 40001, dtype=np.float64) / 1024.0  # [-39.06, 39.06]
    n, d, E = 50, 12, 3
    i, j = np.meshgrid(np.arange(n), np.arange(d), indexing="ij")
    X = ((i * 7 + j * 3) % 5 == 0).astype(np.float64)
    y = ((np.arange(n) * 13) % 9 - 4) / 4.0
    dims = [d, 10, 10, 1]
    size = sum(E * (a * b + b) for a, b in zip(dims[:-1], dims[1:]))
    theta = (((np.arange(size) * 7919) % 201) - 100) / 512.0
    units = [a for a in range(1, n) if math.gcd(a, n) == 1]  # a * i + c mod n permutes 0..n-1
    order = np.stack([np.stack([(np.arange(n) * units[(k * E + m) % len(units)] + k + m) % n
                                for m in range(E)]) for k in range(10)])
    return x, X, y, dims, E, theta, order


# Recorded on an Intel Xeon (AVX512) with GCC 12 and the flags of setup.py;
# the same with -march=native added (AVX512 vector code), while
# -march=native -ffp-contract=fast (FMA contraction) changes "exp" and
# "ensemble": that is what this test is for.
GOLDEN = {
    "exp": "7b4a0d7ba1e8f7ed9c77c7828c63f863db7cade64c4b622b06cf3458f6bd9e77",
    "log": "e3bbfc83520bdece41f9c95d3c49d0e75b366e8c2a3f41870df10d95ef790139",
    "log1p": "0648291463bd1b1bb80109a1eca59f29a242b8c36f4b20f9271cfba18d233323",
    "ensemble": "e6fa1cd2f7c58564a10967561047a1a682be9e7eb284783bf7d1eaab5201943e",
}


def _digests() -> dict:
    x, X, y, dims, E, theta, order = _exact_inputs()
    assert all(np.array_equal(np.sort(o), np.arange(X.shape[0])) for o in order.reshape(-1, X.shape[0]))
    fitted = _core.mlp_ensemble_fit(theta, dims, E, X, y, order, 30, 16, 0.01, 0.9, 0.99, 1e-7)
    pred = _core.mlp_ensemble_predict(fitted, dims, E, X)
    blobs = {"exp": _core.det_exp(x), "log": _core.det_log(np.abs(x) + 1.0 / 4096),
             "log1p": _core.det_log1p(x[x > -1.0]), "ensemble": np.concatenate([fitted, pred.ravel()])}
    return {k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest() for k, v in blobs.items()}


def test_core_kernels_give_the_recorded_bits():
    assert _digests() == GOLDEN
