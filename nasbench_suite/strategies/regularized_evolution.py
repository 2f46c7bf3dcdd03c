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

On NB101 the population is also kept as arrays (a ring buffer in age order)
and one core call makes a proposal: tournament, mutation, canonical key and
the dedup retries (each retry a fresh tournament, as when the base class asks
again). The Python version of the same step serves NB201, whose cells are
six op codes.
"""
from __future__ import annotations

import collections
import math

import numpy as np

from .. import _core
from ..spaces import nb101
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
        self._told = 0
        if self.space.name == "nb101":
            p, v = self.population_size, nb101.MAX_VERTICES
            self._matrices = np.zeros((p, v, v), dtype=np.uint8)
            self._labels = np.zeros((p, v), dtype=np.int64)
            self._values = np.zeros(p, dtype=np.float64)

    def _propose(self):
        self._asked += 1
        if self._asked <= self.population_size or len(self.population) < self.sample_size:
            return self.space.sample(self.stream)
        if self.space.name == "nb101":
            return self._evolve_nb101()
        idx = self.stream.distinct(len(self.population), self.sample_size)
        parent = max((self.population[i] for i in idx), key=lambda m: m[1])
        return self.space.mutate(parent[0], self.stream)

    def _evolve_nb101(self):
        """A child not yet proposed (with dedup), from one core call; after
        ``max_retries`` seen children, a random unseen cell (as the base class
        falls back)."""
        p = self.population_size
        oldest = self._told % p if self._told >= p else 0
        child, rejected = _core.nb101_evolve(
            self._matrices, self._labels, self._values, oldest, len(self.population), self.sample_size,
            self.stream.below(1 << 53), self.seen if self.dedup else None,
            self.max_retries if self.dedup else 1)
        self.duplicates_avoided += rejected
        if child is None:
            return self._unseen_sample()
        return nb101.Cell._from_parts(*child)

    def _observe(self, proposal, result) -> None:
        value = -math.inf if math.isnan(result.value) else result.value
        self.population.append((proposal.cell, value))
        if len(self.population) > self.population_size:
            self.population.popleft()
        if self.space.name == "nb101":
            slot = self._told % self.population_size
            self._matrices[slot], self._labels[slot] = nb101._padded_original(proposal.cell, self.rng)
            self._values[slot] = value
        self._told += 1
