"""The predictors built on scikit-learn: a Gaussian process (``gp``), a
random forest (``rf``) and gradient-boosted trees (``gbt``).

Why scikit-learn: maintained (releases several times a year, wheels for
every platform the package supports), deterministic given ``random_state``,
pure pip install with no compiled extra beyond its wheels (LightGBM,
XGBoost or GPyTorch/Pyro, which NASLib uses, would each add a compiled
dependency or PyTorch, and the predictors must work without the ``train``
extra); it is this package's ``predictors`` extra
(``pip install "nasbench-suite[predictors]"``), imported only when one of
these predictors is built. Every ``fit`` draws one ``random_state`` from the
predictor's generator.

Threads: every fit and prediction runs on one thread (OpenMP and BLAS
limited with ``threadpoolctl``, a scikit-learn dependency): on a shared
machine several threads spin-wait (one gradient-boosting fit measured 10 to
50 times slower with two OpenMP threads on two busy cores), and one thread
is what the protocol's timings measure.

Defaults follow NASLib's predictor study (White et al., "How Powerful are
Performance Predictors in Neural Architecture Search?", NeurIPS 2021,
``naslib/predictors``) where it has them; see each class.
"""
from __future__ import annotations

import numpy as np

from .base import (Predictor, check_fraction, check_positive_float, check_positive_int, import_sklearn,
                   one_thread, sklearn_seed)


def _one_thread():
    """OpenMP and BLAS on one thread, scikit-learn's modules loaded first."""
    return one_thread("sklearn.ensemble", "sklearn.gaussian_process")


class GaussianProcess(Predictor):
    """Gaussian-process regression: scikit-learn's
    ``GaussianProcessRegressor`` with kernel
    ``ConstantKernel(1) * RBF(length_scale) + WhiteKernel(noise)`` on
    standardised targets (``normalize_y=True``), hyper-parameters (signal
    variance, one isotropic length scale, noise) by maximum marginal
    likelihood (L-BFGS-B, ``n_restarts=0`` restarts from random starts; the
    first start is ``length_scale=10``, ``noise=1``: NASLib's ``gp.py``
    initial values, RBF kernel, which it fits by MAP with Pyro). With more
    than ``max_hyper_cells=200`` training cells the hyper-parameters are
    fitted on a random subset of 200 of them (drawn from the predictor's
    generator) and then held fixed while the posterior conditions on every
    cell: the likelihood's gradient costs O(N^3) per evaluation and tens of
    evaluations at 1000 cells took 40 s on a busy 2-core machine
    (``max_hyper_cells=None`` fits them on all cells). The length scale is
    bounded below by ``min_length_scale=1.0`` (our choice), in units of the
    features: encodings are 0/1 vectors, so below one feature flip distinct
    cells are nearly uncorrelated and the GP only interpolates; left free
    (bound 0.01) the likelihood chose 0.09 on NB201 CIFAR-10 and the
    Spearman of 1000 training cells on 200 test cells fell from 0.64 to
    0.41 (digits and NAS-Bench-Graph: unchanged). Mean and
    standard deviation of the posterior predictive. scikit-learn rather than
    a small numpy GP: its optimiser and kernel gradients are tested upstream.
    Cost O(N^3) per likelihood evaluation: the slowest predictor to fit at
    1000 cells (the predictors report states its time)."""

    name = "gp"
    has_std = True

    def __init__(self, rng: np.random.Generator, *, length_scale: float = 10.0, noise: float = 1.0,
                 n_restarts: int = 0, max_hyper_cells: int | None = 200, min_length_scale: float = 1.0):
        super().__init__(rng)
        import_sklearn(self.name)
        self.length_scale = check_positive_float("length_scale", length_scale)
        self.noise = check_positive_float("noise", noise)
        self.min_length_scale = check_positive_float("min_length_scale", min_length_scale)
        self.n_restarts = check_positive_int("n_restarts", n_restarts, 0)
        self.max_hyper_cells = (None if max_hyper_cells is None
                                else check_positive_int("max_hyper_cells", max_hyper_cells, 2))
        self.model = None

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * RBF(self.length_scale, (self.min_length_scale, 1e3))
                  + WhiteKernel(self.noise, (1e-6, 1e1)))
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        seed = sklearn_seed(self.rng)
        sub = None
        if self.max_hyper_cells is not None and X.shape[0] > self.max_hyper_cells:
            sub = np.sort(self.rng.choice(X.shape[0], self.max_hyper_cells, replace=False))
        with warnings.catch_warnings(), _one_thread():
            # A hyper-parameter at its bound (e.g. no noise on a noise-free toy) is not an error.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=self.n_restarts,
                                             random_state=seed)
            if sub is not None:
                model.fit(X[sub], y[sub])
                model = GaussianProcessRegressor(model.kernel_, normalize_y=True, optimizer=None)
            model.fit(X, y)
        self.model = model

    def _predict(self, X: np.ndarray) -> np.ndarray:
        with _one_thread():
            return self.model.predict(X)

    def _predict_std(self, X: np.ndarray) -> np.ndarray:
        with _one_thread():
            return self.model.predict(X, return_std=True)[1]


class RandomForest(Predictor):
    """Random forest: scikit-learn's ``RandomForestRegressor`` with NASLib's
    defaults (``naslib/predictors/trees/random_forest.py``, copied there from
    NAS-Bench-301): ``n_estimators=116`` trees, ``max_features=0.1706`` of the
    columns per split, ``min_samples_leaf=2``, ``min_samples_split=2``,
    ``bootstrap=False``; one thread (``n_jobs=1``). Spread = the population
    standard deviation of the trees' predictions."""

    name = "rf"
    has_std = True

    def __init__(self, rng: np.random.Generator, *, n_estimators: int = 116,
                 max_features: float = 0.17055852159745608, min_samples_leaf: int = 2,
                 min_samples_split: int = 2, bootstrap: bool = False):
        super().__init__(rng)
        import_sklearn(self.name)
        self.n_estimators = check_positive_int("n_estimators", n_estimators)
        self.max_features = check_fraction("max_features", max_features)
        self.min_samples_leaf = check_positive_int("min_samples_leaf", min_samples_leaf)
        self.min_samples_split = check_positive_int("min_samples_split", min_samples_split, 2)
        self.bootstrap = bool(bootstrap)
        self.model = None

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor
        self.model = RandomForestRegressor(
            n_estimators=self.n_estimators, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf, min_samples_split=self.min_samples_split,
            bootstrap=self.bootstrap, n_jobs=1, random_state=sklearn_seed(self.rng))
        with _one_thread():
            self.model.fit(X, y)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        with _one_thread():
            return self.model.predict(X)

    def _predict_std(self, X: np.ndarray) -> np.ndarray:
        with _one_thread():
            per_tree = np.stack([t.predict(X) for t in self.model.estimators_])
        return per_tree.std(axis=0)


class GradientBoostedTrees(Predictor):
    """Gradient-boosted trees: scikit-learn's ``GradientBoostingRegressor``
    with the LightGBM defaults of NASLib's ``lgb.py`` (Luo et al., "Neural
    Architecture Search with GBDT", 2020): ``n_estimators=500`` boosting
    rounds, ``learning_rate=0.05``, ``max_leaf_nodes=31`` (leaf-wise growth,
    as LightGBM's ``num_leaves``), ``min_samples_leaf=5``
    (``min_data_in_leaf``), ``max_features=0.9`` (``feature_fraction``;
    LightGBM samples the columns per tree, scikit-learn per split),
    ``subsample=0.8`` (``bagging_fraction``; LightGBM redraws the rows every
    5 rounds, scikit-learn every round), squared error. No spread.

    ``GradientBoostingRegressor`` (exact splits) rather than the histogram
    ``HistGradientBoostingRegressor`` (LightGBM's algorithm): on the 0/1
    columns of the encodings there is nothing to bin, and at 1000 cells of
    the digits table (84 columns, one thread, the same settings) the exact
    one fitted in 1.45 s wall / 0.97 s CPU against 3.66 s / 2.44 s for the
    histogram one (a busy 2-core machine): only the exact one meets the 2 s
    budget."""

    name = "gbt"
    has_std = False

    def __init__(self, rng: np.random.Generator, *, n_estimators: int = 500, learning_rate: float = 0.05,
                 max_leaf_nodes: int = 31, min_samples_leaf: int = 5, max_features: float = 0.9,
                 subsample: float = 0.8):
        super().__init__(rng)
        import_sklearn(self.name)
        self.n_estimators = check_positive_int("n_estimators", n_estimators)
        self.learning_rate = check_positive_float("learning_rate", learning_rate)
        self.max_leaf_nodes = check_positive_int("max_leaf_nodes", max_leaf_nodes, 2)
        self.min_samples_leaf = check_positive_int("min_samples_leaf", min_samples_leaf)
        self.max_features = check_fraction("max_features", max_features)
        self.subsample = check_fraction("subsample", subsample)
        self.model = None

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import GradientBoostingRegressor
        self.model = GradientBoostingRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, max_features=self.max_features, subsample=self.subsample,
            random_state=sklearn_seed(self.rng))
        with _one_thread():
            self.model.fit(X, y)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        with _one_thread():
            return self.model.predict(X)
