"""Predictor-guided local search.

Local search as NASLib defines it (White, Nolen & Savani, "Local Search is
State of the Art for Neural Architecture Search Benchmarks", 2020; NASLib
``optimizers/discrete/ls``; :mod:`.local_search`), with the neighbourhood of
each step ranked by a performance predictor, in the spirit of White et al.,
"How Powerful are Performance Predictors in Neural Architecture Search?"
(NeurIPS 2021), which pairs NASLib's predictors with its search strategies:

1. Evaluate ``num_init`` random cells (or the zero-cost warm start's K best,
   :mod:`.warmstart`) and start from the best.
2. At each step fit the predictor on every cell told so far (search metric,
   NaN left out; targets standardised with exactly rounded sums), predict
   the unseen neighbours of the current cell (one edge or one op away) and
   evaluate them best-predicted first.
3. Move to the first neighbour that improves on the current cell (first
   improvement); when the whole neighbourhood is evaluated without one, the
   search is at a local optimum and restarts from ``num_init`` new random
   cells (restarts are never warm-started).

What is ours: the first-improvement rule (NASLib's local search evaluates
the whole neighbourhood and takes the best; a predictor's ranking only pays
off if the search can move before it has seen every neighbour), the
refit at every move on all results, and ties between predictions broken in
a random order. ``predictor=None`` is the same search with the neighbours
in random order (the ablation: what the predictor adds to first-improvement
local search).

Defaults: ``num_init=10`` (NASLib's LS), ``predictor="mlp_ensemble"`` (the
predictors package: it trains in the compiled core with every sum in a
fixed order, so trajectories are the same bytes on every x86-64 machine;
``"gp"``, ``"ridge"`` and the others go through BLAS, whose kernels sum in a
CPU-dependent order: their trajectories are reproducible on one machine
but not bit-for-bit across machines), ``predictor_kwargs={}`` (the
predictor's own defaults), ``min_train=2`` results before the predictor is
used (random order before). Needs no torch.
"""
from __future__ import annotations

import math

import numpy as np

from .base import Strategy, check_positive_int
from .warmstart import DEFAULT_N, WarmStartMixin


class PredictorLocalSearch(WarmStartMixin, Strategy):
    name = "predictor_local_search"

    def __init__(self, space, rng, *, num_init: int = 10, predictor: str | None = "mlp_ensemble",
                 predictor_kwargs: dict | None = None, min_train: int = 2, dedup: bool | str = True,
                 warm_start: str | None = None, warm_start_n: int = DEFAULT_N, warm_start_k: int | None = None,
                 warm_start_seconds: float | None = None):
        super().__init__(space, rng, dedup=dedup)
        self.num_init = check_positive_int("num_init", num_init)
        self.min_train = check_positive_int("min_train", min_train, 2)
        self.predictor = predictor
        self.predictor_kwargs = dict(predictor_kwargs or {})
        if predictor is not None:
            from ..predictors import PREDICTORS
            if predictor not in PREDICTORS:
                raise ValueError(f"unknown predictor {predictor!r}; known: {', '.join(PREDICTORS)} (or None)")
        self._init_warm_start(warm_start, warm_start_n, warm_start_k, warm_start_seconds, self.num_init)
        self._cells: list = []
        self._values: list[float] = []
        self._init_left = self.num_init
        self._init_pending = 0
        self._init_best = None  # (cell, value)
        self._current = None  # (cell, value)
        self._queue: list = []  # neighbours still to propose, best-predicted last (pop())
        self._outstanding: set = set()  # keys of this step's neighbours proposed and not yet told
        self._improved = None  # the best told neighbour that beats the current cell
        self.fits = 0
        self.moves = 0
        self.restarts = 0

    # ---- ask/tell
    def _propose(self):
        if self._current is None:
            if self._init_left > 0:
                self._init_left -= 1
                self._init_pending += 1
                return self._initial_cell(self.stream)
            # (or several workers waiting for the initial cells: random cells)
            return self.space.sample(self.stream)
        if self._improved is not None:
            self.moves += 1
            self._set_current(self._improved)
            return self._propose()
        while self._queue and self.dedup and self.key(self._queue[-1]) in self.seen:
            self._queue.pop()  # proposed meanwhile (another worker's random cell)
        if self._queue:
            cell = self._queue.pop()
            self._outstanding.add(self.key(cell))
            return cell
        if not self._outstanding:  # every neighbour told, none better: a local optimum
            self._restart()
            return self._propose()
        return self.space.sample(self.stream)  # waiting for this step's last results

    def _observe(self, proposal, result) -> None:
        value = -math.inf if math.isnan(result.value) else float(result.value)
        self._cells.append(proposal.cell)
        self._values.append(value)
        member = (proposal.cell, value)
        if self._current is None:
            if self._init_pending > 0:
                self._init_pending -= 1
            if self._init_best is None or value > self._init_best[1]:
                self._init_best = member
            if self._init_left == 0 and self._init_pending == 0:
                self._set_current(self._init_best)
            return
        key = self.key(proposal.cell)
        if key in self._outstanding:
            self._outstanding.discard(key)
            if value > self._current[1] and (self._improved is None or value > self._improved[1]):
                self._improved = member

    # ---- steps
    def _restart(self) -> None:
        self.restarts += 1
        self._current = None
        self._init_left = self.num_init
        self._init_best = None
        self._queue, self._outstanding, self._improved = [], set(), None

    def _set_current(self, member) -> None:
        self._current = member
        self._improved = None
        self._outstanding = set()
        nbrs = self.space.neighbours(member[0])
        nbrs = [c for c in nbrs if not (self.dedup and self.key(c) in self.seen)]
        order = self.rng.permutation(len(nbrs))  # random order; ties between predictions keep it
        nbrs = [nbrs[i] for i in order]
        scores = self._predict(nbrs)
        if scores is not None:
            rank = np.argsort(-scores, kind="stable")
            nbrs = [nbrs[i] for i in rank]
        nbrs.reverse()  # pop() from the end: best-predicted first
        self._queue = nbrs

    def _predict(self, cells) -> np.ndarray | None:
        """Predicted search metric of ``cells`` by a predictor fitted on every
        finite result so far; None without a predictor, cells or enough results."""
        if self.predictor is None or not cells:
            return None
        values = np.asarray(self._values, dtype=np.float64)
        ok = np.flatnonzero(np.isfinite(values))
        if ok.size < self.min_train:
            return None
        from ..predictors import features, make_predictor

        y = values[ok]
        mean = math.fsum(y) / y.size
        dev = y - mean
        std = math.sqrt(math.fsum(dev * dev) / y.size) or 1.0
        X = features(self.space, [self._cells[i] for i in ok])
        model = make_predictor(self.predictor, self.rng, **self.predictor_kwargs)
        model.fit(X, (y - mean) / std)
        self.fits += 1
        pred = np.asarray(model.predict(features(self.space, cells)), dtype=np.float64).reshape(-1)
        return np.where(np.isnan(pred), -np.inf, pred)
