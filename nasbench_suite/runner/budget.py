"""Search budgets: in finished queries, simulated seconds or trained epochs."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """At most ``queries`` evaluations, ``seconds`` of simulated time (an
    evaluation that would end later is not started), or ``epochs`` summed over
    evaluations. Any combination; the first limit reached ends the search."""

    queries: int | None = None
    seconds: float | None = None
    epochs: float | None = None

    def __post_init__(self):
        if self.queries is None and self.seconds is None and self.epochs is None:
            raise ValueError("a budget needs queries, seconds or epochs, e.g. {'queries': 150}")
        for name in ("queries", "seconds", "epochs"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not math.isfinite(float(v)) or float(v) <= 0):
                raise ValueError(f"budget {name} must be a positive number, got {v!r}")
        if self.queries is not None and int(self.queries) != self.queries:
            raise ValueError(f"budget queries must be an integer, got {self.queries!r}")

    @classmethod
    def parse(cls, budget) -> "Budget":
        """A :class:`Budget` from a Budget (returned as it is) or a mapping
        with some of the keys ``queries``, ``seconds``, ``epochs``, e.g.
        ``{"queries": 150}``. Unknown keys or non-positive values raise
        ValueError; any other type raises TypeError."""
        if isinstance(budget, Budget):
            return budget
        if isinstance(budget, dict):
            unknown = set(budget) - {"queries", "seconds", "epochs"}
            if unknown:
                raise ValueError(f"unknown budget keys {sorted(unknown)}; use queries, seconds, epochs")
            return cls(**budget)
        raise TypeError(f"budget must be a mapping like {{'queries': 150}} or a Budget, got {budget!r}")

    def to_dict(self) -> dict:
        """The limits that are set, as a mapping :meth:`parse` reads back
        (what trajectories and results files store)."""
        return {k: v for k, v in (("queries", self.queries), ("seconds", self.seconds),
                                  ("epochs", self.epochs)) if v is not None}
