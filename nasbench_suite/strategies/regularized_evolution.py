"""Regularized evolution (Real et al., "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019).

Start with ``population_size`` random cells; then repeatedly draw
``sample_size`` members without replacement, mutate the best of them, add the
child and remove the oldest member (aging).

Defaults: the space's published ones (``space.strategy_defaults``;
REFERENCE.md): NB101 population 50, sample (tournament) 10 with the official
notebook mutation (each of the 21 edges flipped w.p. 1/7, each interior op
changed w.p. 1/5); NB201 population 10, sample 3 with one edge changed to
another op, as in the NAS-Bench-201 paper; other spaces as their module says.
With several workers, a proposal made before the initial population has
finished is a random sample; later ones use the members told so far.

A space may offer an evolution kernel (``space.evolution_kernel``; NB101
does): the population is then also kept as arrays (a ring buffer in age
order) and one core call makes a proposal: tournament, mutation, canonical
key and the dedup retries (each retry a fresh tournament, as when the base
class asks again). The Python version of the same step serves the others.

Zero-cost warm start (``warm_start="synflow"``, ``warm_start_n=3000``,
``warm_start_k=population_size``; :mod:`.warmstart`): the initial population
is the K best of N random cells by the proxy (Abdelfattah et al. 2021's
warmup of aging evolution) instead of random cells. Off by default.
"""
from __future__ import annotations

import collections
import math

from ..spaces.base import SearchSpace
from .base import Strategy, check_positive_int
from .warmstart import DEFAULT_N, WarmStartMixin


class RegularizedEvolution(WarmStartMixin, Strategy):
    name = "regularized_evolution"

    def __init__(self, space, rng, *, population_size: int | None = None,
                 sample_size: int | None = None, dedup: bool | str = True, warm_start: str | None = None,
                 warm_start_n: int = DEFAULT_N, warm_start_k: int | None = None,
                 warm_start_seconds: float | None = None):
        super().__init__(space, rng, dedup=dedup)
        self.population_size, self.sample_size = evolution_sizes(self.space, population_size, sample_size)
        self._init_warm_start(warm_start, warm_start_n, warm_start_k, warm_start_seconds, self.population_size)
        self.population: collections.deque = collections.deque()
        self._asked = 0
        self._told = 0
        # The kernel compares canonical keys: it serves graph dedup (and
        # function dedup where the two coincide).
        self._kernel = None
        if self.dedup_mode != "function" or type(self.space).functional is SearchSpace.functional:
            self._kernel = self.space.evolution_kernel(self.population_size)

    def _propose(self):
        self._asked += 1
        if self._asked <= self.population_size or len(self.population) < self.sample_size:
            return self._initial_cell(self.stream)
        if self._kernel is not None:
            return self._evolve_kernel()
        idx = self.stream.distinct(len(self.population), self.sample_size)
        parent = max((self.population[i] for i in idx), key=lambda m: m[1])
        return self.space.mutate(parent[0], self.stream)

    def _evolve_kernel(self):
        """A child not yet proposed (with dedup), from one core call; after
        ``max_retries`` seen children, a random unseen cell (as the base class
        falls back)."""
        p = self.population_size
        oldest = self._told % p if self._told >= p else 0
        child, rejected = self._kernel.propose(
            oldest, len(self.population), self.sample_size, self.stream.below(1 << 53),
            self.seen if self.dedup else None, self.max_retries if self.dedup else 1)
        self.duplicates_avoided += rejected
        if child is None:
            return self._unseen_sample()
        return child

    def _observe(self, proposal, result) -> None:
        value = -math.inf if math.isnan(result.value) else result.value
        self.population.append((proposal.cell, value))
        if len(self.population) > self.population_size:
            self.population.popleft()
        if self._kernel is not None:
            self._kernel.store(self._told % self.population_size, proposal.cell, value, self.rng)
        self._told += 1


def evolution_sizes(space, population_size: int | None, sample_size: int | None) -> tuple[int, int]:
    """(population, tournament) sizes of regularized evolution on ``space``:
    the given ones, else the space's published defaults; checked (population
    >= 2, 1 <= tournament <= population)."""
    d = space.strategy_defaults.get("regularized_evolution", {})
    if (population_size is None and "population_size" not in d) or \
            (sample_size is None and "sample_size" not in d):
        raise ValueError(f"{space.name} publishes no regularized evolution defaults: "
                         "give population_size and sample_size")
    population_size = check_positive_int(
        "population_size", d["population_size"] if population_size is None else population_size, 2)
    sample_size = check_positive_int("sample_size", d["sample_size"] if sample_size is None else sample_size)
    if sample_size > population_size:
        raise ValueError(f"sample_size ({sample_size}) must not exceed population_size ({population_size})")
    return population_size, sample_size
