"""The ask/tell interface every strategy implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import spaces
from ..spaces._arrays import check_rng
from ..spaces.base import DEDUP_MODES, SearchSpace, Stream

__all__ = ["Proposal", "Result", "SearchSpaceExhausted", "Strategy"]


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


class SearchSpaceExhausted(RuntimeError):
    """Every cell of the space (up to the dedup key) has been proposed."""


class Strategy:
    """Base class: ``ask() -> Proposal``, ``tell(proposal, result)``.

    ``space`` is a :class:`~nasbench_suite.spaces.SearchSpace`, its registered
    name or its module. Subclasses implement :meth:`_propose` and
    :meth:`_observe`. With ``dedup=True`` (the default, also spelt
    ``"graph"``) the base class never lets a proposal through whose cell is
    isomorphic to one already proposed: it asks the subclass again (up to
    ``max_retries`` times), then falls back to random samples. With
    ``dedup="function"`` a cell is a duplicate when it is the same network as
    one already proposed (``space.functional``: finer than isomorphism on
    NB201, where ``skip_connect`` is the identity); ``dedup=False`` never
    dedups. Multi-fidelity strategies dedup new configurations only (see
    their docs).
    """

    name = "strategy"
    multi_fidelity = False
    max_retries = 100

    def __init__(self, space, rng: np.random.Generator, *, dedup: bool | str = True):
        self.space: SearchSpace = spaces.get(space)
        self.rng = check_rng(rng)
        self.stream = Stream(self.rng)
        if not any(dedup is m or (isinstance(dedup, str) and dedup == m) for m in DEDUP_MODES):
            raise ValueError(f"dedup must be one of True, False, 'graph', 'function'; got {dedup!r}")
        self.dedup_mode = dedup
        self.dedup = dedup is not False
        #: The key a proposal is deduplicated by (canonical or functional).
        self.key = self.space.dedup_key(dedup) or self.space.canonical
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
        """The next cell to evaluate, as a :class:`Proposal` (a subclass may
        return a bare cell from :meth:`_propose`; it is wrapped with
        ``fidelity=None``, the run's search fidelity).

        With dedup on, a proposal whose key (:attr:`key`) was already proposed
        is replaced: the subclass is asked again up to :attr:`max_retries`
        times, then a random unseen cell is drawn; each replacement counts in
        :attr:`duplicates_avoided`. Promotions of multi-fidelity strategies
        (the same configuration at a higher fidelity) are never dedup'd.
        Raises :class:`SearchSpaceExhausted` when 10,000 random samples in a
        row are all duplicates.
        """
        proposal = self._as_proposal(self._propose())
        if self.dedup and not self._is_promotion(proposal):
            tries = 0
            key = self.key(proposal.cell)
            while key in self.seen:
                self.duplicates_avoided += 1
                tries += 1
                if tries < self.max_retries:
                    proposal = self._as_proposal(self._propose())
                else:
                    proposal = Proposal(self._unseen_sample(), proposal.fidelity)
                key = self.key(proposal.cell)
            self.seen.add(key)
        return proposal

    def tell(self, proposal: Proposal, result: Result) -> None:
        """Reports the evaluation of a proposal returned by :meth:`ask`: appends
        ``(proposal.cell, result)`` to :attr:`history` and lets the subclass
        update its model (:meth:`_observe`). Proposals may be told out of
        order (asynchronous workers) and must each be told once."""
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
            if self.key(cell) not in self.seen:
                return cell
        raise SearchSpaceExhausted(
            f"{self.name}: 10,000 random samples were all duplicates (dedup={self.dedup_mode!r}) of cells "
            f"already proposed ({len(self.seen)} so far); the space is (nearly) exhausted"
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
