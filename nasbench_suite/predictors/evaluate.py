"""The predictor study's protocol on a table (White et al., "How Powerful are
Performance Predictors in Neural Architecture Search?", NeurIPS 2021;
NAS-Bench-Suite, Mehta et al., ICLR 2022, uses the same one).

For every seed: the table's rows whose target (and, with proxies, every
proxy) is finite are shuffled by a ``numpy.random.Generator`` of
``SeedSequence([seed, s])``; the first ``n_test=200`` rows are the test set,
the next ``max(sizes)`` the training pool, and the training set of size ``n``
is the first ``n`` of the pool (nested sets, disjoint from the test set). Each
predictor is fitted on the training set and ranks the test set: Spearman's
rho and Kendall's tau (tau-b) against the table's target, the wall time of
``fit`` and of ``predict`` on the test set (and the CPU time of ``fit``).
Defaults: ``sizes=(10, 20, 50, 100, 200, 500, 1000)``, 5 seeds.

A row of the table is a cell (``lookup="key"``) or one class of isomorphic
cells (``lookup="class"``, e.g. the embedded digits table): either way the
cells drawn are distinct networks, each the row's representative
(:meth:`Benchmark.cell`).

``+zc`` variants (``zc=`` names of static table metrics ``zc_<name>``): the
proxies are appended to the encoding (:func:`~nasbench_suite.predictors.features`)
after a rank transform fitted on the training set: a value becomes its mid
rank among the training set's values of that proxy, divided by the training
set's size (in [0, 1]; the same map for the test cells). Ranks rather than a
standardisation because proxies such as synflow span tens of orders of
magnitude (standardised, a few cells would dominate the column); zero-cost
proxies are used for their ordering anyway (Abdelfattah et al. 2021).

Every predictor's generator is ``SeedSequence([seed, s, size index,
predictor index, variant])``: results do not depend on which predictors or
sizes run beside them.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from . import PREDICTORS, features, make_predictor

SIZES = (10, 20, 50, 100, 200, 500, 1000)
N_TEST = 200
SEEDS = 5


def rank_transform(train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each column of ``values`` mapped to its mid rank among the same column
    of ``train``, over ``len(train)``: (searchsorted left + right) / (2 n)."""
    train = np.asarray(train, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    out = np.empty(values.shape, dtype=np.float64)
    n = train.shape[0]
    for j in range(train.shape[1]):
        s = np.sort(train[:, j])
        out[:, j] = (np.searchsorted(s, values[:, j], "left") + np.searchsorted(s, values[:, j], "right")) / (2.0 * n)
    return out


def _rank_metrics(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    import scipy.stats as ss
    if np.ptp(pred) == 0:  # a constant prediction ranks nothing
        return float("nan"), float("nan")
    return float(ss.spearmanr(pred, truth)[0]), float(ss.kendalltau(pred, truth)[0])


def evaluate(bench, metric: str, *, fidelity=None, dataset: str | None = None,
             predictors: Sequence[str] = PREDICTORS, zc: Sequence[str] = (), sizes: Sequence[int] = SIZES,
             n_test: int = N_TEST, seeds: int = SEEDS, seed: int = 0, encoding: str | None = None,
             predictor_kwargs: dict | None = None, progress: Callable[[str], None] | None = None,
             return_rows: bool = False) -> dict:
    """Run the protocol on an open :class:`~nasbench_suite.tables.Benchmark`.

    ``metric``/``fidelity``/``dataset``: the target (mean over the table's
    seeds; higher is better). ``zc``: proxy names (``"synflow"`` reads the
    static metric ``zc_synflow``); with any, every predictor also runs as
    ``<name>+zc``. ``predictor_kwargs``: {name: keyword arguments}.

    Returns ``{"target", "n_rows", "n_pool", "sizes", "n_test", "seeds",
    "predictors", "zc", "runs": {variant: {str(size): {"spearman": [..],
    "kendall": [..], "fit_s": [..], "fit_cpu_s": [..], "query_s": [..]}}}}``
    with one value per seed; ``return_rows``: also ``"rows": [{"test": [..],
    "train": [..]} per seed]`` (the table rows, the training pool in order)."""
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 2:
        raise ValueError(f"sizes must be integers >= 2, got {sizes!r}")
    for name in predictors:
        if name not in PREDICTORS:
            raise ValueError(f"unknown predictor {name!r}; known: {', '.join(PREDICTORS)}")
    predictor_kwargs = dict(predictor_kwargs or {})
    space = bench.search_space
    y_all = np.asarray(bench.row_values(metric, fidelity=fidelity, dataset=dataset), dtype=np.float64)
    ok = np.isfinite(y_all)
    Z_all = None
    if zc:
        Z_all = np.column_stack([bench.row_values(f"zc_{p}", dataset=dataset) for p in zc]).astype(np.float64)
        ok &= np.isfinite(Z_all).all(axis=1)
    pool = np.flatnonzero(ok)
    need = n_test + sizes[-1]
    if pool.size < need:
        raise ValueError(f"{bench.path}: {pool.size} rows have a finite {metric}"
                         f"{' and proxies' if zc else ''}, but {n_test} test + {sizes[-1]} training rows "
                         "are needed; pass smaller sizes or n_test")
    variants = [(i, name, False) for i, name in enumerate(predictors)]
    if zc:
        variants += [(i, name, True) for i, name in enumerate(predictors)]
    keys = [name + ("+zc" if z else "") for _, name, z in variants]
    runs = {k: {str(n): {"spearman": [], "kendall": [], "fit_s": [], "fit_cpu_s": [], "query_s": []}
                for n in sizes} for k in keys}
    drawn = []
    for s in range(seeds):
        rng = np.random.default_rng(np.random.SeedSequence([seed, s]))
        rows = rng.permutation(pool)[:need]
        test, train = rows[:n_test], rows[n_test:]
        drawn.append({"test": test.tolist(), "train": train.tolist()})
        cells = [bench.cell(int(r)) for r in rows]
        X = features(space, cells, encoding=encoding)
        X_test, X_train = X[:n_test], X[n_test:]
        y_test, y_train = y_all[test], y_all[train]
        for si, n in enumerate(sizes):
            ztr = zte = None
            if zc:
                ztr = rank_transform(Z_all[train[:n]], Z_all[train[:n]])
                zte = rank_transform(Z_all[train[:n]], Z_all[test])
            for (pi, name, z), key in zip(variants, keys):
                prng = np.random.default_rng(np.random.SeedSequence([seed, s, si, pi, int(z)]))
                model = make_predictor(name, prng, **predictor_kwargs.get(name, {}))
                xtr = np.hstack([X_train[:n], ztr]) if z else X_train[:n]
                xte = np.hstack([X_test, zte]) if z else X_test
                t0, c0 = time.perf_counter(), time.process_time()
                model.fit(xtr, y_train[:n])
                fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
                t0 = time.perf_counter()
                pred = model.predict(xte)
                query_s = time.perf_counter() - t0
                rho, tau = _rank_metrics(pred, y_test)
                r = runs[key][str(n)]
                r["spearman"].append(rho)
                r["kendall"].append(tau)
                r["fit_s"].append(fit_s)
                r["fit_cpu_s"].append(fit_cpu)
                r["query_s"].append(query_s)
                if progress is not None:
                    progress(f"seed {s} n={n} {key}: rho {rho:.3f} fit {fit_s:.3f}s")
    result = {"target": {"metric": metric, "fidelity": None if fidelity is None else float(fidelity),
                         "dataset": dataset if dataset is not None else bench.datasets[0]},
              "n_rows": int(y_all.size), "n_pool": int(pool.size), "sizes": sizes, "n_test": int(n_test),
              "seeds": int(seeds), "seed": int(seed), "predictors": keys, "zc": list(zc),
              "encoding": encoding if encoding is not None else space.predictor_encoding, "runs": runs}
    if return_rows:
        result["rows"] = drawn
    return result


def summary(result: dict, stat: str = "spearman") -> dict:
    """{variant: {size: (mean, standard error over seeds)}} of one statistic
    (NaN seeds left out; (nan, nan) when none is finite)."""
    out = {}
    for key, by_size in result["runs"].items():
        out[key] = {}
        for n, r in by_size.items():
            v = np.asarray(r[stat], dtype=np.float64)
            v = v[np.isfinite(v)]
            mean = float(v.mean()) if v.size else float("nan")
            se = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
            out[key][int(n)] = (mean, se)
    return out


__all__ = ["N_TEST", "SEEDS", "SIZES", "evaluate", "rank_transform", "summary"]
