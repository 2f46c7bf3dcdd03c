"""Multi-objective search: what a strategy is told (:class:`MOResult`), and
multi-objective regularized evolution (:class:`MORegularizedEvolution`).

A multi-objective run (:func:`nasbench_suite.runner.multiobjective.run_mo_search`)
evaluates every proposal on several objectives (e.g. validation accuracy and
latency on a device) and tells the strategy an :class:`MOResult`: a
:class:`Result` whose ``value`` is the first objective (larger is better, so
single-objective strategies such as random search or regularized evolution
run unchanged and optimise the first objective) and whose ``objectives``
holds every objective in its own units. Strategies that use all objectives
set ``multi_objective = True``; the runner calls their :meth:`bind_objectives`
with the direction of each objective before the first ask. Run by
:func:`~nasbench_suite.runner.run_search` (one objective), MO-RE is
regularized evolution on the search metric (one objective: the crowded
comparison is the larger value).

MO-RE: regularized evolution (Real et al., AAAI 2019: a population of
``population_size`` cells, the oldest removed when a child joins, aging) with
the selection of NSGA-II (Deb, Pratap, Agarwal & Meyarivan, "A fast and
elitist multiobjective genetic algorithm: NSGA-II", IEEE TEVC 6(2), 2002):
the parent is the winner of a tournament of ``sample_size`` members drawn
without replacement, compared by the crowded-comparison operator (lower
non-domination front first, then larger crowding distance, both computed over
the whole current population). Defaults: the space's published regularized
evolution ones (``space.strategy_defaults``), as :class:`RegularizedEvolution`.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from .. import pareto
from .base import Result, Strategy
from .regularized_evolution import evolution_sizes

__all__ = ["MOResult", "MORegularizedEvolution", "MultiObjectiveStrategy"]


@dataclass(frozen=True)
class MOResult(Result):
    """A :class:`Result` of a multi-objective run: ``objectives`` holds the
    observed value of every objective, in the run's order and in each
    objective's own units and direction; ``value`` is the first objective
    oriented so that larger is better (negated when lower is better)."""

    objectives: tuple = ()


class MultiObjectiveStrategy(Strategy):
    """Base class of strategies that use every objective of an
    :class:`MOResult`: :meth:`bind_objectives` gives the direction of each;
    :meth:`objective_matrix` the objectives of cells told so far."""

    multi_objective = True

    def __init__(self, space, rng, *, dedup: bool | str = True):
        super().__init__(space, rng, dedup=dedup)
        self.maximize: tuple | None = None

    def bind_objectives(self, maximize) -> None:
        """Called by the runner before the first ask: for each objective,
        whether larger is better (at least two objectives)."""
        m = tuple(bool(x) for x in maximize)
        if len(m) < 2:
            raise ValueError(f"{self.name} needs at least two objectives, got {len(m)}")
        self.maximize = m

    @property
    def directions(self) -> tuple:
        """Whether larger is better, per objective: those of :meth:`bind_objectives`,
        or ``(True,)`` in a single-objective run (the search metric is the one objective)."""
        return self.maximize if self.maximize is not None else (True,)

    def _objectives(self, result) -> tuple:
        if self.maximize is None:  # run by run_search: the search metric is the one objective
            return (float(result.value),)
        objs = getattr(result, "objectives", ())
        if len(objs) != len(self.maximize):
            raise ValueError(f"{self.name} was bound to {len(self.maximize)} objectives but told "
                             f"{type(result).__name__} with {len(objs)}")
        return tuple(float(x) for x in objs)


class MORegularizedEvolution(MultiObjectiveStrategy):
    """Regularized evolution with NSGA-II selection (see the module docstring):
    aging population of ``population_size``, tournaments of ``sample_size``
    decided by (front, -crowding distance); a random initial population."""

    name = "mo_regularized_evolution"

    def __init__(self, space, rng, *, population_size: int | None = None, sample_size: int | None = None,
                 dedup: bool | str = True):
        super().__init__(space, rng, dedup=dedup)
        self.population_size, self.sample_size = evolution_sizes(self.space, population_size, sample_size)
        self.population: collections.deque = collections.deque()  # (cell, objectives), oldest first
        self._asked = 0

    def _propose(self):
        self._asked += 1
        if self._asked <= self.population_size or len(self.population) < self.sample_size:
            return self.space.sample(self.stream)
        pts = np.array([o for _, o in self.population], dtype=np.float64)
        ranks = pareto.non_dominated_sort(pts, self.directions)
        crowd = pareto.crowding_distance(pts, self.directions, ranks)
        idx = self.stream.distinct(len(self.population), self.sample_size)
        # crowded comparison: lower front, then larger crowding distance; ties: the oldest
        best = min(idx, key=lambda i: (ranks[i], -crowd[i]))
        return self.space.mutate(self.population[best][0], self.stream)

    def _observe(self, proposal, result) -> None:
        self.population.append((proposal.cell, self._objectives(result)))
        if len(self.population) > self.population_size:
            self.population.popleft()
