"""Local search as defined in NASLib (White et al., "Local Search is State of
the Art for Neural Architecture Search Benchmarks", 2020; NASLib
``optimizers/discrete/ls``).

Evaluate ``num_init`` random cells and start from the best. Evaluate the
whole neighbourhood of the current cell (every valid cell one edge or one op
away, in random order); if the best neighbour improves on the current cell,
move there (best improvement) and repeat; otherwise the search is stuck at a
local optimum and restarts from the best of ``num_init`` new random cells.

Defaults: ``num_init=10`` (NASLib's config).

Zero-cost warm start (``warm_start="synflow"``, ``warm_start_n=3000``,
``warm_start_k=num_init``; :mod:`.warmstart`): the first start is the best of
the K best of N random cells by the proxy; restarts stay random. Off by
default.
"""
from __future__ import annotations

import numpy as np

from .base import Strategy, check_positive_int
from .warmstart import DEFAULT_N, WarmStartMixin


class LocalSearch(WarmStartMixin, Strategy):
    name = "local_search"

    def __init__(self, space, rng, *, num_init: int = 10, dedup: bool | str = True,
                 warm_start: str | None = None, warm_start_n: int = DEFAULT_N, warm_start_k: int | None = None,
                 warm_start_seconds: float | None = None):
        super().__init__(space, rng, dedup=dedup)
        self.num_init = check_positive_int("num_init", num_init)
        self._init_warm_start(warm_start, warm_start_n, warm_start_k, warm_start_seconds, self.num_init)
        self._init_left = self.num_init
        self._init_pending = 0
        self._init_best = None  # (cell, value)
        self._current = None  # (cell, value)
        self._queue: list = []
        self._pending = 0
        self._best_neighbour = None

    def _restart(self) -> None:
        self._current = None
        self._init_left = self.num_init
        self._init_best = None

    def _propose(self):
        if self._current is None:
            if self._init_left > 0:
                self._init_left -= 1
                self._init_pending += 1
                return self._initial_cell(self.stream)
            # Waiting for the initial cells to finish (parallel workers):
            # keep the other workers busy with random cells.
            return self.space.sample(self.stream)
        if not self._queue and self._pending == 0:
            self._step()
            return self._propose()
        if self._queue:
            self._pending += 1
            return self._queue.pop()
        return self.space.sample(self.stream)

    def _step(self) -> None:
        """All neighbours told: move to the best one or restart."""
        best = self._best_neighbour
        if best is not None and best[1] > self._current[1]:
            self._set_current(best)
        else:
            self._restart()

    def _set_current(self, member) -> None:
        self._current = member
        self._best_neighbour = None
        nbrs = self.space.neighbours(member[0])
        order = self.rng.permutation(len(nbrs))
        # pop() takes from the end: reverse so the shuffled order is kept.
        self._queue = [nbrs[i] for i in order[::-1]
                       if not (self.dedup and self.key(nbrs[i]) in self.seen)]

    def _observe(self, proposal, result) -> None:
        value = -np.inf if np.isnan(result.value) else result.value
        member = (proposal.cell, value)
        if self._current is None:
            if self._init_pending > 0:
                self._init_pending -= 1
            if self._init_best is None or value > self._init_best[1]:
                self._init_best = member
            if self._init_left == 0 and self._init_pending == 0:
                self._set_current(self._init_best)
                if not self._queue:
                    self._restart()
            return
        if self._pending > 0:
            self._pending -= 1
        if self._best_neighbour is None or value > self._best_neighbour[1]:
            self._best_neighbour = member
