"""Random search (Li & Talwalkar, "Random Search and Reproducibility for
Neural Architecture Search", UAI 2019): uniform samples from the space.

NB101 samples follow the official ``random_spec`` rule (each upper-triangular
edge with probability 1/2, uniform ops, invalid specs rejected); NB201
samples draw each edge's op uniformly. No hyper-parameters.
"""
from __future__ import annotations

from .base import Strategy


class RandomSearch(Strategy):
    name = "random_search"

    def _propose(self):
        return self.space.sample(self.stream)
