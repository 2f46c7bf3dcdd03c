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
so the cost no longer grows with the number of results (about 0.04-0.05 s of
CPU time per fit plus acquisition on NB101 and NB201, 150 to 1000 results,
in the compiled core; the paper's networks and schedule take 0.45 s at 150
results). On a synthetic NB201 objective the shrunk ensemble ranks held-out
cells as well as the paper's (Kendall tau 0.64 vs 0.63 at 150 results, 0.71
vs 0.70 at 300), and search regret after 60 queries over 20 seeds was 0.87
vs 0.76 (random search 3.1); measured with the float32 numpy version that
preceded the core's (its search regret on the synthetic NB201 table of the
tests, 100 queries, 40 seeds: 0.12 +- 0.04 test accuracy, the core's 0.14 +-
0.03, random search 3.9). ``num_layers=10, max_steps=None`` gives the
paper's networks and schedule.

Choices of ours, where the papers' code has no counterpart:

- Targets are the search metric (accuracy, higher is better), standardised
  to mean 0 and standard deviation 1 before training (NASLib's feed-forward
  predictor does the same; naszilla trains on the raw validation loss).
  Evaluations whose value is NaN are left out of the training set.
- Input columns that are zero for every training cell are left out of
  training: their weights would get zero gradient, so Adam leaves them at
  their initial values anyway and the result is the same; predictions use
  every column.

Machine independence (the same trajectory bytes on every x86-64 machine,
whatever its BLAS kernel or SIMD level): the ensemble trains and predicts in
the compiled core (``_core.mlp_ensemble_fit`` / ``mlp_ensemble_predict``,
``csrc/mlp.hpp``) in float64 with plain loops: every sum has a fixed order
(documented there), nothing goes through BLAS (whose kernels, picked by CPU,
sum in different orders: numpy's float32 matmuls gave other trajectories
under OpenBLAS's Haswell/Zen kernels than under SkylakeX), the build forbids
FMA contraction (``-ffp-contract=off``) and fast-math, and Adam's
``beta**t`` is a running product rather than libm's ``pow`` (glibc picks an
FMA or a non-FMA ``pow`` by CPU). The members run one after the other,
their own parameters and Adam state each. On the Python side only
elementwise IEEE arithmetic remains (correctly rounded: one result on any
CPU), the targets' mean and standard deviation use ``math.fsum`` (exactly
rounded sums), and the ensemble's mean and spread for ITS are summed over
the members in order (:func:`_mean_std`). (Left: ``Generator.normal``'s
ziggurat calls libm's ``log1p`` for draws beyond 3.65 standard deviations,
about one in 4000; glibc's FMA and non-FMA variants differed on 0.05% of
those inputs, by one ulp, which changes a proposal only if it reorders two
Thompson draws.)
- Zero-cost warm start (``warm_start="synflow"``, ``warm_start_n=3000``,
  ``warm_start_k=num_init``; :mod:`.warmstart`): the initial evaluated set
  is the K best of N random cells by the proxy (Abdelfattah et al. 2021's
  warmup of predictor-based search) instead of random cells. Off by
  default.
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

from .. import _core
from .base import Strategy, check_positive_int
from .warmstart import DEFAULT_N, WarmStartMixin


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


class Bananas(WarmStartMixin, Strategy):
    name = "bananas"

    def __init__(self, space, rng, *, num_init: int = 10, k: int = 10, num_ensemble: int = 5,
                 num_candidates: int = 100, num_arches_to_mutate: int = 1, patience_factor: int = 5,
                 num_layers: int = 3, layer_width: int = 20, epochs: int = 150, batch_size: int = 32,
                 lr: float = 0.01, max_steps: int | None = 200, dedup: bool | str = True,
                 warm_start: str | None = None, warm_start_n: int = DEFAULT_N, warm_start_k: int | None = None,
                 warm_start_seconds: float | None = None):
        super().__init__(space, rng, dedup=dedup)
        self.num_init = check_positive_int("num_init", num_init)
        self._init_warm_start(warm_start, warm_start_n, warm_start_k, warm_start_seconds, self.num_init)
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
            if self.warm_start is not None:
                warm = self._warm_cell()
                if warm is not None:
                    return warm
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
        X = self.space.encode([self._cells[i] for i in ok], self.space.predictor_encoding)
        y = values[ok]
        # Mean and population std with exactly rounded sums (math.fsum): no
        # summation order to depend on.
        self._y_mean = math.fsum(y) / y.size
        dev = y - self._y_mean
        std = math.sqrt(math.fsum(dev * dev) / y.size)
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
        return self._model.predict(self.space.encode(list(cells), self.space.predictor_encoding)) * self._y_std + self._y_mean

    def _candidates(self) -> list:
        values = np.asarray(self._values, dtype=np.float64)
        order = np.argsort(-np.where(np.isfinite(values), values, -np.inf), kind="stable")
        parents = [self._cells[i] for i in order[: self.num_arches_to_mutate * self.patience_factor]]
        if self.dedup:
            taken = self.seen
        else:
            taken = {self.key(c) for c in self._cells}
        new: set[int] = set()
        out: list = []
        per_parent = max(1, self.num_candidates // self.num_arches_to_mutate)
        for parent in parents:
            for _ in range(per_parent):
                if len(out) >= self.num_candidates:
                    return out
                child = self.space.mutate(parent, self.rng)
                key = self.key(child)
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
        preds = self._model.predict(self.space.encode(candidates, self.space.predictor_encoding))
        draws = self.rng.normal(*_mean_std(preds))  # ITS
        best = np.argsort(-draws, kind="stable")[: self.k]
        return [candidates[i] for i in best]
