"""BANANAS's ensemble of feed-forward networks as a predictor (White,
Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search", AAAI 2021); the predictor
that :class:`nasbench_suite.strategies.bananas.Bananas` fits every iteration.

``num_ensemble=5`` ReLU networks ``d -> layer_width x num_layers -> 1`` with
Glorot-uniform weights and zero biases (Keras ``Dense`` defaults), trained
with Adam (``lr=0.01``, beta1 0.9, beta2 0.99, epsilon 1e-7) on the mean
absolute error of the standardised targets, ``epochs=150`` epochs of
mini-batches of ``batch_size=32`` (each member shuffling on its own), at most
``max_steps=200`` Adam updates. The paper's networks have ``num_layers=10``
hidden layers of 20 units and no step cap; the defaults here are the shrunk
ones of the BANANAS strategy (its docstring gives the measurements that chose
them). Mean = the members' mean, spread = their population standard
deviation (what BANANAS's independent Thompson sampling draws from).

Targets are standardised to mean 0 and standard deviation 1 with exactly
rounded sums (``math.fsum``; a constant target keeps standard deviation 1).
Input columns that are zero for every training cell get zero gradient and
keep their initial weights.

Machine independence (the same bits on every x86-64 machine, whatever its
BLAS kernel or SIMD level): training and prediction run in the compiled core
(``_core.mlp_ensemble_fit`` / ``mlp_ensemble_predict``, ``csrc/mlp.hpp``) in
float64 with plain loops, every sum in a fixed order, no FMA contraction,
Adam's ``beta**t`` as a running product; on the Python side only elementwise
IEEE arithmetic, and the members' mean and spread are summed over the members
in order (:func:`_mean_std`).

Random draws, in this order, all from the predictor's generator at ``fit``:
the Glorot initialisation of every member (layer by layer), then every
epoch's row order per member (one uniform per row, drawn up front). BANANAS's
trajectories depend on this order: do not change it.

No third-party library: the compiled core of this package.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .base import Predictor, check_positive_float, check_positive_int


def _views(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive views of ``flat`` with the given shapes."""
    out, off = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(flat[off:off + n].reshape(shape))
        off += n
    return out


def _layer_shapes(members: int, n_in: int, num_layers: int, width: int) -> list[tuple[int, ...]]:
    """Shapes of W0, b0, W1, b1, ... for ``members`` stacked networks."""
    dims = [n_in] + [width] * num_layers + [1]
    shapes = []
    for fi, fo in zip(dims[:-1], dims[1:]):
        shapes += [(members, fi, fo), (members, 1, fo)]
    return shapes


class _Ensemble:
    """``members`` independent ReLU networks ``n_in -> width x num_layers -> 1``.
    The parameters are one flat float64 vector in the layout of
    :func:`_layer_shapes` (``W``/``b`` are views of it); training and
    prediction run in the compiled core (``csrc/mlp.hpp``: float64, every sum
    in a fixed order, the same bits on every machine)."""

    def __init__(self, n_in: int, members: int, num_layers: int, width: int, rng: np.random.Generator):
        self.dims = [n_in] + [width] * num_layers + [1]
        self.shapes = _layer_shapes(members, n_in, num_layers, width)
        self.theta = np.zeros(sum(math.prod(s) for s in self.shapes), dtype=np.float64)
        views = _views(self.theta, self.shapes)
        self.W, self.b = views[0::2], views[1::2]
        for W in self.W:
            limit = math.sqrt(6.0 / (W.shape[1] + W.shape[2]))  # Glorot uniform; biases stay 0
            W[...] = rng.uniform(-limit, limit, size=W.shape)
        self.members = members

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(members, N) float64 predictions for inputs X of shape (N, n_in)."""
        return _core.mlp_ensemble_predict(self.theta, self.dims, self.members,
                                          np.ascontiguousarray(X, dtype=np.float64))

    def fit(self, X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, lr: float,
            rng: np.random.Generator, max_steps: int | None = None,
            beta1: float = 0.9, beta2: float = 0.99, eps: float = 1e-7) -> None:
        """Adam on the mean absolute error, ``epochs`` passes of mini-batches
        (each member shuffles on its own), at most ``max_steps`` updates."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        n = X.shape[0]
        per_epoch = -(-n // batch_size)
        steps = epochs * per_epoch
        if max_steps is not None:
            steps = min(steps, max_steps)
        order = None
        if batch_size < n:
            # Every epoch's row order per member, drawn up front in the order the
            # epochs use them (one uniform per row; stable sort: ties, which
            # have probability ~n^2 2^-53, in row order).
            order = np.argsort(rng.random((-(-steps // per_epoch), self.members, n)), axis=2, kind="stable")
        # With one batch per epoch (batch_size >= n) the rows go in their given order.
        self.theta[...] = _core.mlp_ensemble_fit(self.theta, self.dims, self.members, X, y, order, steps,
                                                 batch_size, lr, beta1, beta2, eps)


def _mean_std(preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of (members, N) predictions: the mean and the population
    standard deviation, summing over the members in order (elementwise IEEE
    operations only, so no SIMD or BLAS choice can change a bit)."""
    members = preds.shape[0]
    total = preds[0].copy()
    for e in range(1, members):
        total = total + preds[e]
    mean = total / members
    sq = np.zeros_like(mean)
    for e in range(members):
        dev = preds[e] - mean
        sq = sq + dev * dev
    return mean, np.sqrt(sq / members)


class MLPEnsemble(Predictor):
    """BANANAS's ensemble (see the module docstring for the paper, the
    defaults and the order of the random draws)."""

    name = "mlp_ensemble"
    has_std = True

    def __init__(self, rng: np.random.Generator, *, num_ensemble: int = 5, num_layers: int = 3,
                 layer_width: int = 20, epochs: int = 150, batch_size: int = 32, lr: float = 0.01,
                 max_steps: int | None = 200):
        super().__init__(rng)
        self.num_ensemble = check_positive_int("num_ensemble", num_ensemble, 2)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.layer_width = check_positive_int("layer_width", layer_width)
        self.epochs = check_positive_int("epochs", epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.lr = check_positive_float("lr", lr)
        self.max_steps = None if max_steps is None else check_positive_int("max_steps", max_steps)
        self.model: _Ensemble | None = None
        self.y_mean_ = 0.0
        self.y_std_ = 1.0

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        # Mean and population std with exactly rounded sums (math.fsum): no
        # summation order to depend on.
        self.y_mean_ = math.fsum(y) / y.size
        dev = y - self.y_mean_
        std = math.sqrt(math.fsum(dev * dev) / y.size)
        self.y_std_ = std if std > 0 else 1.0
        self.model = _Ensemble(X.shape[1], self.num_ensemble, self.num_layers, self.layer_width, self.rng)
        self.model.fit(X, (y - self.y_mean_) / self.y_std_, epochs=self.epochs, batch_size=self.batch_size,
                       lr=self.lr, rng=self.rng, max_steps=self.max_steps)

    def predict_members(self, X, *, standardised: bool = False) -> np.ndarray:
        """(num_ensemble, N) predictions of every member; ``standardised``:
        on the scale the members were trained on (targets standardised with
        the training set's mean and standard deviation)."""
        X = self._check_predict(X)
        preds = self.model.predict(X)
        return preds if standardised else preds * self.y_std_ + self.y_mean_

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return _mean_std(self.model.predict(X))[0] * self.y_std_ + self.y_mean_

    def _predict_std(self, X: np.ndarray) -> np.ndarray:
        return _mean_std(self.model.predict(X))[1] * self.y_std_
