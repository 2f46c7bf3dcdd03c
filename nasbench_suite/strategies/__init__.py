"""Search strategies with an ask/tell interface.

Every strategy is ``Strategy(space, rng, **hyperparameters)`` with
``ask() -> Proposal`` and ``tell(proposal, result)``; see :mod:`.base`.
:func:`make_strategy` builds one by its registered name.
"""
from __future__ import annotations

import importlib

from .base import Proposal, Result, SearchSpaceExhausted, Strategy

#: The registered strategies: name -> ``"module:Class"`` (a module of this
#: package); modules are imported on first use (:func:`strategy_class`).
REGISTRY = {
    "random_search": "random_search:RandomSearch",
    "regularized_evolution": "regularized_evolution:RegularizedEvolution",
    "local_search": "local_search:LocalSearch",
    "predictor_local_search": "predictor_local_search:PredictorLocalSearch",
    "reinforce": "reinforce:Reinforce",
    "bananas": "bananas:Bananas",
    "successive_halving": "hyperband:SuccessiveHalving",
    "hyperband": "hyperband:Hyperband",
    "bohb": "bohb:BOHB",
    # multi-objective (runner.multiobjective.run_mo_search); single-objective strategies run there too
    "mo_regularized_evolution": "multiobjective:MORegularizedEvolution",
}


def strategy_class(name: str) -> type:
    """The :class:`Strategy` subclass registered as ``name`` (importing its
    module); an unknown name raises ValueError listing the registered ones."""
    if name not in REGISTRY:
        raise ValueError(f"unknown strategy {name!r}; registered: {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make_strategy(name: str, space, rng, **hyperparameters) -> Strategy:
    """A registered strategy by name; unknown hyper-parameters raise TypeError
    naming them."""
    cls = strategy_class(name)
    try:
        return cls(space, rng, **hyperparameters)
    except TypeError as exc:
        raise TypeError(f"{name}: {exc}") from None


__all__ = ["Proposal", "REGISTRY", "Result", "SearchSpaceExhausted", "Strategy",
           "make_strategy", "strategy_class"]
