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

The ensemble is the ``mlp_ensemble`` predictor
(:class:`nasbench_suite.predictors.mlp_ensemble.MLPEnsemble`), fitted afresh
with this strategy's generator at every fit.

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

import numpy as np

from ..predictors.mlp_ensemble import MLPEnsemble, _mean_std
from .base import Strategy, check_positive_int
from .warmstart import DEFAULT_N, WarmStartMixin


#: The MLPEnsemble settings BANANAS passes through (kwargs of the same names).
_ENSEMBLE_ARGS = ("num_ensemble", "num_layers", "layer_width", "epochs", "batch_size", "lr", "max_steps")


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
        self.num_candidates = check_positive_int("num_candidates", num_candidates)
        self.num_arches_to_mutate = check_positive_int("num_arches_to_mutate", num_arches_to_mutate)
        self.patience_factor = check_positive_int("patience_factor", patience_factor)
        # The ensemble's settings, checked by its constructor (which draws nothing).
        proto = MLPEnsemble(self.rng, num_ensemble=num_ensemble, num_layers=num_layers, layer_width=layer_width,
                            epochs=epochs, batch_size=batch_size, lr=lr, max_steps=max_steps)
        self._ensemble_args = {name: getattr(proto, name) for name in _ENSEMBLE_ARGS}
        for name, value in self._ensemble_args.items():
            setattr(self, name, value)
        if self.k > self.num_candidates:
            raise ValueError(f"k ({self.k}) must not exceed num_candidates ({self.num_candidates})")
        if self.num_arches_to_mutate > self.num_candidates:
            raise ValueError(f"num_arches_to_mutate ({self.num_arches_to_mutate}) must not exceed "
                             f"num_candidates ({self.num_candidates})")
        self._init_left = self.num_init
        self._cells: list = []
        self._values: list[float] = []
        self._queue: list = []
        self._model: MLPEnsemble | None = None
        self._fitted_on = 0  # results told when the model was last fitted
        self.fits = 0

    # ---- ask/tell
    def _propose(self):
        if self._init_left > 0:
            self._init_left -= 1
            return self._initial_cell(self.rng)
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
        # The ensemble standardises the targets (math.fsum mean and std) and
        # draws its initial weights, then its row orders, from self.rng.
        self._model = MLPEnsemble(self.rng, **self._ensemble_args)
        self._model.fit(X, values[ok])
        self._fitted_on = len(self._values)
        self.fits += 1
        return True

    def predict(self, cells) -> np.ndarray:
        """(num_ensemble, N) predictions of the search metric by the last fit."""
        if self._model is None:
            raise RuntimeError("bananas: no model has been fitted yet")
        return self._model.predict_members(self.space.encode(list(cells), self.space.predictor_encoding))

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
        preds = self._model.predict_members(self.space.encode(candidates, self.space.predictor_encoding),
                                            standardised=True)
        draws = self.rng.normal(*_mean_std(preds))  # ITS
        best = np.argsort(-draws, kind="stable")[: self.k]
        return [candidates[i] for i in best]
