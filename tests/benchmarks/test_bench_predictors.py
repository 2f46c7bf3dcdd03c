"""Fit time of the fast predictors at 1000 training cells (the issue's bound:
<= 2 s each, the GP excepted), beside plain numpy references fitted on the
same data in the same run, on one thread like the predictors: least squares (``numpy.linalg.lstsq``, what ridge
computes in closed form) and a one-hidden-layer network's forward and
backward pass in numpy for the same number of Adam steps as the ensemble
(its arithmetic without the core). With ``--benchmark-disable`` each runs once
and the predictions are checked against the data."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss
from threadpoolctl import threadpool_limits

from nasbench_suite.predictors import make_predictor

N, D = 1000, 84  # the digits table's NB201 path encoding has 84 columns


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((N + 200, D)) < 0.3).astype(np.float64)
    y = X @ rng.normal(0, 1, D) + 0.3 * rng.normal(size=N + 200)
    return X[:N], y[:N], X[N:], y[N:]


def _fit(name):
    X, y, Xt, yt = _data()

    def run():
        return make_predictor(name, np.random.default_rng(0)).fit(X, y)

    return run, Xt, yt


@pytest.mark.benchmark(group="predictor-fit-1000")
@pytest.mark.parametrize("name", ["ridge", "mlp_ensemble", "rf", "gbt"])
def test_bench_predictor_fit(benchmark, name):
    run, Xt, yt = _fit(name)
    benchmark.extra_info.update(role="core", cells=N, predictor=name)
    model = benchmark.pedantic(run, rounds=3, iterations=1) if benchmark.enabled else benchmark(run)
    assert ss.spearmanr(model.predict(Xt), yt)[0] > 0.5


@pytest.mark.benchmark(group="predictor-fit-1000")
def test_bench_predictor_fit_gp(benchmark):
    run, Xt, yt = _fit("gp")
    benchmark.extra_info.update(role="core", cells=N, predictor="gp")
    model = benchmark.pedantic(run, rounds=1, iterations=1) if benchmark.enabled else benchmark(run)
    assert ss.spearmanr(model.predict(Xt), yt)[0] > 0.5


@pytest.mark.benchmark(group="predictor-fit-1000")
def test_bench_predictor_fit_reference_lstsq(benchmark):
    X, y, Xt, yt = _data()
    A = np.hstack([X, np.ones((N, 1))])
    benchmark.extra_info.update(role="reference", cells=N, predictor="numpy lstsq")

    def run():
        with threadpool_limits(1):  # one BLAS thread, as the predictors run
            return np.linalg.lstsq(A, y, rcond=None)[0]

    sol = benchmark(run)
    ridge = make_predictor("ridge", np.random.default_rng(0), alpha=1e-9).fit(X, y)
    np.testing.assert_allclose(ridge.predict(Xt), Xt @ sol[:-1] + sol[-1], rtol=1e-6, atol=1e-6)


@pytest.mark.benchmark(group="predictor-fit-1000")
def test_bench_predictor_fit_reference_numpy_mlp(benchmark):
    """5 members x 200 Adam steps of batches of 32 through 3 hidden layers of
    20 (the ensemble's defaults), in batched numpy float64."""
    X, y, Xt, yt = _data()
    rng = np.random.default_rng(0)
    dims = [D, 20, 20, 20, 1]

    def run():
        with threadpool_limits(1):
            return _train()

    def _train():
        W = [rng.uniform(-0.3, 0.3, (5, a, b)) for a, b in zip(dims[:-1], dims[1:])]
        m = [np.zeros_like(w) for w in W]
        v = [np.zeros_like(w) for w in W]
        for t in range(1, 201):
            rows = rng.integers(0, N, (5, 32))
            hs = [X[rows]]
            for i, w in enumerate(W):
                h = hs[-1] @ w
                hs.append(np.maximum(h, 0) if i < len(W) - 1 else h)
            d = np.sign(hs[-1][..., 0] - y[rows])[..., None] / 32
            for i in range(len(W) - 1, -1, -1):
                g = hs[i].transpose(0, 2, 1) @ d
                if i:
                    d = (d @ W[i].transpose(0, 2, 1)) * (hs[i] > 0)
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.99 * v[i] + 0.01 * g * g
                W[i] -= 0.01 * m[i] / (np.sqrt(v[i]) + 1e-7)
        return W

    benchmark.extra_info.update(role="reference", cells=N, predictor="numpy mlp")
    W = benchmark(run)
    assert all(np.isfinite(w).all() for w in W)
