"""Regularized evolution (Real et al., "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019).

Start with ``population_size`` random cells; then repeatedly draw
``sample_size`` members without replacement, mutate the best of them, add the
child and remove the oldest member (aging).

Defaults (REFERENCE.md):
- nb101: population 50, sample (tournament) 10, mutation = the official
  notebook rule (each of the 21 edges flipped w.p. 1/7, each interior op
  changed w.p. 1/5), as in the NAS-Bench-101 notebook.
- nb201: population 10, sample 3, mutation = one edge changed to another op,
  as in the NAS-Bench-201 paper.
With several workers, a proposal made before the initial population has
finished is a random sample; later ones use the members told so far.
"""
from __future__ import annotations

import collections

import numpy as np

from .base import Strategy, check_positive_int

DEFAULTS = {"nb101": {"population_size": 50, "sample_size": 10},
            "nb201": {"population_size": 10, "sample_size": 3}}


class RegularizedEvolution(Strategy):
    name = "regularized_evolution"

    def __init__(self, space, rng, *, population_size: int | None = None,
                 sample_size: int | None = None, dedup: bool = True):
        super().__init__(space, rng, dedup=dedup)
        d = DEFAULTS[self.space.name]
        self.population_size = check_positive_int(
            "population_size", d["population_size"] if population_size is None else population_size, 2)
        self.sample_size = check_positive_int(
            "sample_size", d["sample_size"] if sample_size is None else sample_size)
        if self.sample_size > self.population_size:
            raise ValueError(
                f"sample_size ({self.sample_size}) must not exceed population_size ({self.population_size})"
            )
        self.population: collections.deque = collections.deque()
        self._asked = 0

    def _propose(self):
        self._asked += 1
        if self._asked <= self.population_size or len(self.population) < self.sample_size:
            return self.space.sample(self.stream)
        idx = self.stream.distinct(len(self.population), self.sample_size)
        parent = max((self.population[i] for i in idx), key=lambda m: m[1])
        return self.space.mutate(parent[0], self.stream)

    def _observe(self, proposal, result) -> None:
        value = -np.inf if np.isnan(result.value) else result.value
        self.population.append((proposal.cell, value))
        if len(self.population) > self.population_size:
            self.population.popleft()
