"""The common interface of the performance predictors: :class:`Predictor`.

A predictor is built with a ``numpy.random.Generator`` (its only source of
randomness: the same generator state gives the same predictions), fitted on
features ``X`` (N, d) and targets ``y`` (N,) where higher is better, and asked
for mean predictions (and, where :attr:`Predictor.has_std` is True, their
spread). The checks of the inputs live here, so every predictor rejects the
same bad input with the same message; subclasses implement ``_fit``,
``_predict`` and (with ``has_std``) ``_predict_std`` on checked float64
arrays.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import numbers

import numpy as np

INSTALL_HINT = 'pip install "nasbench-suite[predictors]"'


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)


def import_sklearn(predictor: str):
    """``sklearn``, or an ImportError naming the extra that installs it."""
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the test environment has it
        raise ImportError(f"the {predictor!r} predictor needs scikit-learn: {INSTALL_HINT}") from exc
    return sklearn


@contextlib.contextmanager
def one_thread(*preload: str):
    """OpenMP and BLAS limited to one thread (``threadpoolctl``; without it,
    nothing changes). ``preload``: modules to import first (threadpoolctl
    limits only the libraries already loaded). On a shared machine several
    threads spin-wait: ridge's fit at 1000 cells took 35 ms with two BLAS
    threads on two busy cores, 2 ms with one."""
    for module in preload:
        importlib.import_module(module)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn and scipy's users have it
        yield
        return
    with threadpool_limits(1):
        yield


def sklearn_seed(rng: np.random.Generator) -> int:
    """One draw of ``rng`` as a ``random_state`` for scikit-learn (an int in
    [0, 2**32 - 1))."""
    return int(rng.integers(0, 2**32 - 1))


class Predictor:
    """Base class: ``fit(X, y) -> self``, ``predict(X) -> (N,)``,
    ``predict_std(X) -> (N,)`` where :attr:`has_std`.

    ``X`` is (N, d) and finite, ``y`` (N,) and finite (higher is better); both
    are converted to float64. ``predict`` needs a fitted predictor and the
    same number of columns as the fit."""

    name: str = ""
    has_std: bool = False

    def __init__(self, rng: np.random.Generator):
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{self.name}: rng must be a numpy.random.Generator "
                            f"(np.random.default_rng(seed)), got {type(rng).__name__}")
        self.rng = rng
        self.n_features_: int | None = None

    # ---- checks
    def _check_X(self, X, what: str) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"{self.name}: {what} X must be 2-D (cells, features), got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{self.name}: {what} X is empty (shape {X.shape})")
        if not np.isfinite(X).all():
            bad = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(f"{self.name}: {what} X has a non-finite value at row {bad[0]}, column {bad[1]}; "
                             "impute or drop those rows/columns first")
        return np.ascontiguousarray(X)

    def fit(self, X, y) -> "Predictor":
        X = self._check_X(X, "training")
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1:
            raise ValueError(f"{self.name}: y must be 1-D, got shape {y.shape}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"{self.name}: X has {X.shape[0]} rows but y has {y.shape[0]} values")
        if not np.isfinite(y).all():
            raise ValueError(f"{self.name}: y has {int((~np.isfinite(y)).sum())} non-finite value(s) "
                             f"(first at index {int(np.flatnonzero(~np.isfinite(y))[0])}); "
                             "drop those cells before fitting")
        self._fit(X, np.ascontiguousarray(y))
        self.n_features_ = X.shape[1]
        return self

    def _check_predict(self, X) -> np.ndarray:
        if self.n_features_ is None:
            raise RuntimeError(f"{self.name}: predict before fit; call fit(X, y) first")
        X = self._check_X(X, "query")
        if X.shape[1] != self.n_features_:
            raise ValueError(f"{self.name}: X has {X.shape[1]} columns but the predictor was fitted "
                             f"on {self.n_features_}")
        return X

    def predict(self, X) -> np.ndarray:
        """(N,) float64 mean predictions."""
        X = self._check_predict(X)
        return np.asarray(self._predict(X), dtype=np.float64).reshape(X.shape[0])

    def predict_std(self, X) -> np.ndarray:
        """(N,) float64 spread of the predictions (only where :attr:`has_std`)."""
        if not self.has_std:
            raise NotImplementedError(f"{self.name} gives no spread (has_std is False); "
                                      "use a predictor with has_std, e.g. 'mlp_ensemble', 'gp' or 'rf'")
        X = self._check_predict(X)
        return np.asarray(self._predict_std(X), dtype=np.float64).reshape(X.shape[0])

    # ---- to implement
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _predict_std(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, fitted={self.n_features_ is not None})"
