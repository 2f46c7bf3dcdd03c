"""The ask/tell interface every strategy implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spaces._arrays import check_rng
from ._space import SpaceOps, get_space


@dataclass(frozen=True)
class Result:
    """What a strategy is told about an evaluation: the search metric observed,
    the simulated cost in seconds, and the fidelity (epochs) it was trained to.
    The report metric (e.g. test accuracy) is never shown to a strategy."""

    value: float
    cost: float
    fidelity: float


@dataclass(frozen=True)
class Proposal:
    """A cell to evaluate, at ``fidelity`` epochs (None: the run's search fidelity)."""

    cell: Any
    fidelity: float | None = None


class Stream:
    """Uniform draws from a numpy Generator, fetched in chunks: the per-draw
    cost of a Python float instead of a numpy call. Deterministic given the
    Generator (the chunks are its ``random()`` output, consumed in order)."""

    __slots__ = ("generator", "_buf", "_chunk", "_pools")

    def __init__(self, generator: np.random.Generator, chunk: int = 256):
        self.generator = generator
        self._buf: list = []
        self._chunk = chunk
        self._pools: dict = {}

    def pool(self, name: str, refill):
        """The next item of a named pool, refilled with ``refill(generator)``
        (a batch of samples made in one core call) when it runs dry."""
        items = self._pools.get(name)
        if not items:
            items = list(refill(self.generator))
            items.reverse()
            self._pools[name] = items
        return items.pop()

    def random(self) -> float:
        if not self._buf:
            self._buf = self.generator.random(self._chunk).tolist()
            self._buf.reverse()
        return self._buf.pop()

    def below(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        return int(self.random() * n)

    def take(self, k: int) -> list:
        """The next k uniform draws (the same values k random() calls give)."""
        buf = self._buf
        if len(buf) < k:
            fresh = self.generator.random(max(self._chunk, k)).tolist()
            fresh.reverse()
            buf = self._buf = fresh + buf
        out = buf[-k:]
        del buf[-k:]
        out.reverse()
        return out

    def distinct(self, n: int, k: int) -> list:
        """k distinct integers from [0, n), sorted (Floyd's algorithm)."""
        chosen: set = set()
        for j, u in zip(range(n - k, n), self.take(k)):
            t = int(u * (j + 1))
            chosen.add(j if t in chosen else t)
        return sorted(chosen)


class SearchSpaceExhausted(RuntimeError):
    """Every cell of the space (up to isomorphism) has been proposed."""


class Strategy:
    """Base class: ``ask() -> Proposal``, ``tell(proposal, result)``.

    Subclasses implement :meth:`_propose` and :meth:`_observe`. With
    ``dedup=True`` (the default) the base class never lets a proposal through
    whose cell is isomorphic to one already proposed: it asks the subclass
    again (up to ``max_retries`` times), then falls back to random samples.
    Multi-fidelity strategies dedup new configurations only (see their docs).
    """

    name = "strategy"
    multi_fidelity = False
    max_retries = 100

    def __init__(self, space, rng: np.random.Generator, *, dedup: bool = True):
        self.space: SpaceOps = get_space(space)
        self.rng = check_rng(rng)
        self.stream = Stream(self.rng)
        self.dedup = bool(dedup)
        self.seen: set[int] = set()
        self.history: list[tuple[Any, Result]] = []
        self.duplicates_avoided = 0
        self.fidelities: np.ndarray | None = None
        self.search_fidelity: float | None = None

    def bind(self, fidelities, search_fidelity) -> None:
        """Called by the runner before the first ask: the table's fidelity axis
        and the fidelity of the search metric."""
        self.fidelities = np.asarray(fidelities, dtype=np.float64)
        self.search_fidelity = float(search_fidelity)

    # ---- interface
    def ask(self) -> Proposal:
        proposal = self._as_proposal(self._propose())
        if self.dedup and not self._is_promotion(proposal):
            tries = 0
            key = self.space.canonical(proposal.cell)
            while key in self.seen:
                self.duplicates_avoided += 1
                tries += 1
                if tries < self.max_retries:
                    proposal = self._as_proposal(self._propose())
                else:
                    proposal = Proposal(self._unseen_sample(), proposal.fidelity)
                key = self.space.canonical(proposal.cell)
            self.seen.add(key)
        return proposal

    def tell(self, proposal: Proposal, result: Result) -> None:
        self.history.append((proposal.cell, result))
        self._observe(proposal, result)

    # ---- for subclasses
    def _propose(self):
        raise NotImplementedError

    def _observe(self, proposal: Proposal, result: Result) -> None:
        pass

    def _is_promotion(self, proposal: Proposal) -> bool:
        """Multi-fidelity strategies re-evaluate a configuration at a higher fidelity."""
        return False

    def _unseen_sample(self):
        for _ in range(10_000):
            cell = self.space.sample(self.rng)
            if self.space.canonical(cell) not in self.seen:
                return cell
        raise SearchSpaceExhausted(
            f"{self.name}: 10,000 random samples were all isomorphic to cells already "
            f"proposed ({len(self.seen)} so far); the space is (nearly) exhausted"
        )

    @staticmethod
    def _as_proposal(p) -> Proposal:
        return p if isinstance(p, Proposal) else Proposal(p)


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_probability(name: str, value) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v
