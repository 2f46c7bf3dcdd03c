"""BANANAS (White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with
Neural Architectures for Neural Architecture Search", AAAI 2021).

Evaluate ``num_init`` random cells. Then, in every iteration: train an
ensemble of ``num_ensemble`` feed-forward networks on the path encoding of
every cell told so far; make up to ``num_candidates`` candidates by mutating
the best cells told so far; score each candidate by independent Thompson
sampling (ITS: one draw from a normal with the ensemble's mean and standard
deviation of its predictions); propose the ``k`` best-scoring candidates.

Defaults, from the authors' code (naszilla/bananas ``params.py``
``meta_neuralnet_params('standard')``, ``bananas.py``, ``data.py``
``get_candidates``, ``meta_neural_net.py``; NASLib
``optimizers/discrete/bananas`` agrees on ITS, mutation, the path encoding,
``num_init=10``, ``k=10`` and ``num_candidates=100``):

- ``num_init=10`` random cells, ``k=10`` proposals per model fit.
- ``num_ensemble=5`` networks of ``layer_width=20`` ReLU units with a linear
  output, Glorot-uniform weights and zero biases (Keras ``Dense`` defaults),
  trained with Adam (``lr=0.01``, beta1 0.9, beta2 0.99, epsilon 1e-7) on the
  mean absolute error, ``epochs=150`` epochs of mini-batches of
  ``batch_size=32``, each member shuffling on its own.
- ``num_candidates=100`` candidates made by mutating the best
  ``num_arches_to_mutate=1`` cell (100 mutations of it); when isomorphic
  duplicates leave fewer, the next best cells are mutated too, up to
  ``patience_factor=5`` times as many parents (naszilla's rule). Mutation is
  the space's standard one (NB101: the official notebook rule, which is also
  naszilla's ``mutate_arch``; NB201: one edge to another op). Candidates
  isomorphic to a cell already proposed, or to another candidate, are
  dropped; unlike naszilla the list is capped at ``num_candidates``.
- ITS with the population standard deviation of the ensemble's predictions.

Shrunk for the time limit (one fit plus acquisition in at most 0.2 s on a
2-core CPU): the paper's networks have 10 hidden layers and train for the
full 150 epochs, about 1.6e9 multiply-adds per fit at 150 results (0.6 s of
CPU time on the 2-core machine this was measured on, 1.1 s at 300 results).
Here ``num_layers=3`` hidden layers and at most ``max_steps=200`` Adam
updates per fit: the full 150 epochs up to 32 results, fewer epochs beyond,
so the cost no longer grows with the number of results (about 0.05-0.1 s of
CPU time per fit plus acquisition on NB101 and NB201). On a synthetic NB201
objective the shrunk ensemble ranks held-out cells as well as the paper's
(Kendall tau 0.64 vs 0.63 at 150 results, 0.71 vs 0.70 at 300), and search
regret after 60 queries over 20 seeds was 0.87 vs 0.76 (random search 3.1).
``num_layers=10, max_steps=None`` gives the paper's networks and schedule.

Choices of ours, where the papers' code has no counterpart:

- Targets are the search metric (accuracy, higher is better), standardised
  to mean 0 and standard deviation 1 before training (NASLib's feed-forward
  predictor does the same; naszilla trains on the raw validation loss).
  Evaluations whose value is NaN are left out of the training set.
- Members train together in batched matrix products. Input columns that are
  zero for every training cell are left out of training: their weights would
  get zero gradient, so Adam leaves them at their initial values anyway and
  the result is the same; predictions use every column.
- With several workers: until ``num_init`` results have been told, extra
  proposals are random cells. Afterwards a batch of ``k`` proposals is served
  from one fit; when it is used up the ensemble is refitted if results have
  been told since the last fit (otherwise the last fit is reused with fresh
  candidates and fresh Thompson draws).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .base import Strategy, check_positive_int


def _check_positive_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


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
    """``members`` independent ReLU networks ``n_in -> width x num_layers -> 1``
    with stacked weights, so that all members train in the same batched
    matrix products; the parameters are one flat float32 vector, so one Adam
    update serves them all."""

    def __init__(self, n_in: int, members: int, num_layers: int, width: int, rng: np.random.Generator):
        self.shapes = _layer_shapes(members, n_in, num_layers, width)
        self.theta = np.zeros(sum(math.prod(s) for s in self.shapes), dtype=np.float32)
        views = _views(self.theta, self.shapes)
        self.W, self.b = views[0::2], views[1::2]
        for W in self.W:
            limit = math.sqrt(6.0 / (W.shape[1] + W.shape[2]))  # Glorot uniform; biases stay 0
            W[...] = rng.uniform(-limit, limit, size=W.shape)
        self.members = members

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(members, N) predictions for inputs X of shape (N, n_in)."""
        X = np.asarray(X, dtype=np.float32)
        E, _, w = self.W[0].shape
        # The first layer as one 2-D product over the columns that are not all
        # zero (a broadcast batched product is far slower; zeros add nothing).
        cols = np.flatnonzero(np.any(X != 0, axis=0))
        W0 = self.W[0][:, cols, :].transpose(1, 0, 2).reshape(cols.size, E * w)
        h = (X[:, cols] @ W0).reshape(-1, E, w).transpose(1, 0, 2) + self.b[0]
        for W, b in zip(self.W[1:], self.b[1:]):
            np.maximum(h, 0.0, out=h)
            h = np.matmul(h, W)
            h += b
        return h[..., 0]

    def fit(self, X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, lr: float,
            rng: np.random.Generator, max_steps: int | None = None,
            beta1: float = 0.9, beta2: float = 0.99, eps: float = 1e-7) -> None:
        """Adam on the mean absolute error, ``epochs`` passes of mini-batches
        (each member shuffles on its own), at most ``max_steps`` updates."""
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32)
        # Only the input columns that are non-zero somewhere get a gradient:
        # train a copy whose first layer has just those rows, then write back.
        active = np.flatnonzero(np.any(X != 0, axis=0))
        X = X[:, active]
        E = self.members
        shapes = [(E, active.size, self.W[0].shape[2])] + self.shapes[1:]
        first = self.W[0].size
        params = np.concatenate([self.W[0][:, active, :].ravel(), self.theta[first:]])
        grad = np.zeros_like(params)
        pv, gv = _views(params, shapes), _views(grad, shapes)
        W, b, gW, gb = pv[0::2], pv[1::2], gv[0::2], gv[1::2]
        m, v, tmp = np.zeros_like(params), np.zeros_like(params), np.empty_like(params)
        n, last = X.shape[0], len(W) - 1
        steps = epochs * -(-n // batch_size)
        if max_steps is not None:
            steps = min(steps, max_steps)
        if batch_size >= n:  # one batch per epoch: its order does not matter
            Xe, ye = np.repeat(X[None], E, axis=0), np.repeat(y[None], E, axis=0)
        for t in range(1, steps + 1):
            s = (t - 1) * batch_size % (-(-n // batch_size) * batch_size)
            if s == 0 and batch_size < n:
                perm = np.argsort(rng.random((E, n)), axis=1)
                Xe, ye = X[perm], y[perm]  # (E, n, d), (E, n)
            xb, yb = Xe[:, s:s + batch_size], ye[:, s:s + batch_size, None]
            hs = [xb]
            for i in range(last + 1):
                h = np.matmul(hs[-1], W[i])
                h += b[i]
                if i < last:
                    np.maximum(h, 0.0, out=h)
                hs.append(h)
            d = np.sign(h - yb)
            d *= 1.0 / yb.shape[1]  # d mean|err| / d prediction
            for i in range(last, -1, -1):
                np.matmul(hs[i].transpose(0, 2, 1), d, out=gW[i])
                np.add.reduce(d, axis=1, keepdims=True, out=gb[i])
                if i > 0:
                    d = np.matmul(d, W[i].transpose(0, 2, 1))
                    d *= hs[i] > 0
            # Adam in the Keras form: the bias correction folded into the step size.
            step = lr * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
            m *= beta1
            np.multiply(grad, 1.0 - beta1, out=tmp)
            m += tmp
            v *= beta2
            np.square(grad, out=tmp)
            tmp *= 1.0 - beta2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step
            params -= tmp
        self.W[0][:, active, :] = W[0]
        self.theta[first:] = params[W[0].size:]


class Bananas(Strategy):
    name = "bananas"

    def __init__(self, space, rng, *, num_init: int = 10, k: int = 10, num_ensemble: int = 5,
                 num_candidates: int = 100, num_arches_to_mutate: int = 1, patience_factor: int = 5,
                 num_layers: int = 3, layer_width: int = 20, epochs: int = 150, batch_size: int = 32,
                 lr: float = 0.01, max_steps: int | None = 200, dedup: bool = True):
        super().__init__(space, rng, dedup=dedup)
        self.num_init = check_positive_int("num_init", num_init)
        self.k = check_positive_int("k", k)
        self.num_ensemble = check_positive_int("num_ensemble", num_ensemble, 2)
        self.num_candidates = check_positive_int("num_candidates", num_candidates)
        self.num_arches_to_mutate = check_positive_int("num_arches_to_mutate", num_arches_to_mutate)
        self.patience_factor = check_positive_int("patience_factor", patience_factor)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.layer_width = check_positive_int("layer_width", layer_width)
        self.epochs = check_positive_int("epochs", epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.lr = _check_positive_float("lr", lr)
        self.max_steps = None if max_steps is None else check_positive_int("max_steps", max_steps)
        if self.k > self.num_candidates:
            raise ValueError(f"k ({self.k}) must not exceed num_candidates ({self.num_candidates})")
        if self.num_arches_to_mutate > self.num_candidates:
            raise ValueError(f"num_arches_to_mutate ({self.num_arches_to_mutate}) must not exceed "
                             f"num_candidates ({self.num_candidates})")
        self._init_left = self.num_init
        self._cells: list = []
        self._values: list[float] = []
        self._queue: list = []
        self._model: _Ensemble | None = None
        self._y_mean = 0.0
        self._y_std = 1.0
        self._fitted_on = 0  # results told when the model was last fitted
        self.fits = 0

    # ---- ask/tell
    def _propose(self):
        if self._init_left > 0:
            self._init_left -= 1
            return self.space.sample(self.rng)
        if len(self._cells) < self.num_init:
            # Several workers: the initial results are not all in yet.
            return self.space.sample(self.rng)
        if not self._queue:
            self._queue = self._next_batch()
        if self._queue:
            return self._queue.pop(0)
        return self.space.sample(self.rng)

    def _observe(self, proposal, result) -> None:
        self._cells.append(proposal.cell)
        self._values.append(float(result.value))

    # ---- model
    def _fit(self) -> bool:
        values = np.asarray(self._values, dtype=np.float64)
        ok = np.flatnonzero(np.isfinite(values))
        if ok.size == 0:
            return False
        X = self.space.encode([self._cells[i] for i in ok], "path")
        y = values[ok]
        self._y_mean = float(y.mean())
        std = float(y.std())
        self._y_std = std if std > 0 else 1.0
        self._model = _Ensemble(X.shape[1], self.num_ensemble, self.num_layers, self.layer_width, self.rng)
        self._model.fit(X, (y - self._y_mean) / self._y_std, epochs=self.epochs,
                        batch_size=self.batch_size, lr=self.lr, rng=self.rng, max_steps=self.max_steps)
        self._fitted_on = len(self._values)
        self.fits += 1
        return True

    def predict(self, cells) -> np.ndarray:
        """(num_ensemble, N) predictions of the search metric by the last fit."""
        if self._model is None:
            raise RuntimeError("bananas: no model has been fitted yet")
        return self._model.predict(self.space.encode(list(cells), "path")) * self._y_std + self._y_mean

    def _candidates(self) -> list:
        values = np.asarray(self._values, dtype=np.float64)
        order = np.argsort(-np.where(np.isfinite(values), values, -np.inf), kind="stable")
        parents = [self._cells[i] for i in order[: self.num_arches_to_mutate * self.patience_factor]]
        if self.dedup:
            taken = self.seen
        else:
            taken = {self.space.canonical(c) for c in self._cells}
        new: set[int] = set()
        out: list = []
        per_parent = max(1, self.num_candidates // self.num_arches_to_mutate)
        for parent in parents:
            for _ in range(per_parent):
                if len(out) >= self.num_candidates:
                    return out
                child = self.space.mutate(parent, self.rng)
                key = self.space.canonical(child)
                if key in taken or key in new:
                    continue
                new.add(key)
                out.append(child)
        return out

    def _next_batch(self) -> list:
        if self._model is None or len(self._values) > self._fitted_on:
            if not self._fit():
                return []
        candidates = self._candidates()
        if not candidates:
            return []
        preds = self._model.predict(self.space.encode(candidates, "path")).astype(np.float64)
        draws = self.rng.normal(preds.mean(axis=0), preds.std(axis=0))  # ITS
        best = np.argsort(-draws, kind="stable")[: self.k]
        return [candidates[i] for i in best]
