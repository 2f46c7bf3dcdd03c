"""Ridge regression: the linear baseline of the predictors.

Closed form in numpy (no library): with the training columns and targets
centred (an unpenalised intercept), the weights solve
``(Xc^T Xc + alpha I) w = Xc^T yc`` (Cholesky of a symmetric positive
definite d x d matrix, d = the number of features), the intercept is
``mean(y) - mean(X) w``. ``alpha=1.0``: scikit-learn's ``Ridge`` default
(the same estimator; NASLib's predictor study, White et al., "How Powerful
are Performance Predictors in Neural Architecture Search?", NeurIPS 2021,
has Bayesian linear regression as its linear model: ridge is its posterior
mean for a fixed noise-to-prior ratio, here ``alpha``). No spread
(``has_std`` False) and no randomness: ``rng`` is accepted for the common
interface and never drawn from. The result goes through BLAS, so its last
bits may differ between machines (not the ordering of well separated
predictions). One BLAS thread (:func:`~.base.one_thread`).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from .base import Predictor, check_positive_float, one_thread


class Ridge(Predictor):
    name = "ridge"
    has_std = False

    def __init__(self, rng: np.random.Generator, *, alpha: float = 1.0):
        super().__init__(rng)
        self.alpha = check_positive_float("alpha", alpha)
        self.coef_: np.ndarray | None = None
        self.intercept_ = 0.0

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        with one_thread():
            self._solve(X, y)

    def _solve(self, X: np.ndarray, y: np.ndarray) -> None:
        x_mean = X.mean(axis=0)
        y_mean = float(y.mean())
        Xc = X - x_mean
        A = Xc.T @ Xc
        A[np.diag_indices_from(A)] += self.alpha
        self.coef_ = scipy.linalg.solve(A, Xc.T @ (y - y_mean), assume_a="pos")
        self.intercept_ = y_mean - float(x_mean @ self.coef_)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        with one_thread():
            return X @ self.coef_ + self.intercept_
