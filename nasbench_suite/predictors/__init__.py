"""Performance predictors: models fitted on the encodings of evaluated cells
that predict the accuracy of unseen ones (White et al., "How Powerful are
Performance Predictors in Neural Architecture Search?", NeurIPS 2021).

- :class:`Predictor` (:mod:`.base`): ``fit(X, y)``, ``predict(X)``,
  ``predict_std(X)`` where ``has_std``; higher ``y`` is better.
- :data:`PREDICTORS` / :func:`make_predictor`: ``mlp_ensemble`` (BANANAS's
  ensemble, :mod:`.mlp_ensemble`, the compiled core), ``gp``, ``rf``, ``gbt``
  (scikit-learn, :mod:`.sklearn_models`: ``pip install
  "nasbench-suite[predictors]"``), ``ridge`` (numpy, :mod:`.linear`).
- :func:`features`: a space's encoding of cells, with extra columns (e.g.
  zero-cost proxies) appended.
- :mod:`.evaluate`: the predictor study's protocol on a table (training sets
  of 10 to 1000 cells, 200 test cells, rank correlations, timings).

Pure numpy/scipy (scikit-learn only when a predictor that needs it is built);
never imports PyTorch.
"""
from __future__ import annotations

import importlib

import numpy as np

from .base import INSTALL_HINT, Predictor

#: name -> "module:Class" (modules imported on first use).
_REGISTRY = {
    "mlp_ensemble": "mlp_ensemble:MLPEnsemble",
    "gp": "sklearn_models:GaussianProcess",
    "rf": "sklearn_models:RandomForest",
    "gbt": "sklearn_models:GradientBoostedTrees",
    "ridge": "linear:Ridge",
}
PREDICTORS: tuple[str, ...] = ("mlp_ensemble", "gp", "rf", "gbt", "ridge")


def predictor_class(name: str) -> type:
    """The :class:`Predictor` subclass of ``name``; an unknown name raises
    ValueError listing the known ones."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown predictor {name!r}; known: {', '.join(PREDICTORS)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make_predictor(name: str, rng: np.random.Generator, **kwargs) -> Predictor:
    """A predictor by name, drawing its randomness from ``rng``; unknown
    keyword arguments raise TypeError naming the predictor."""
    cls = predictor_class(name)
    try:
        return cls(rng, **kwargs)
    except TypeError as exc:
        if "argument" in str(exc):
            raise TypeError(f"{name}: {exc}") from None
        raise


def features(space, cells, *, encoding: str | None = None, extra=None) -> np.ndarray:
    """(N, d [+ e]) float64: ``space``'s encoding ``encoding`` (default
    ``space.predictor_encoding``) of ``cells``, with the columns of ``extra``
    ((N,) or (N, e), e.g. zero-cost proxies) appended."""
    cells = list(cells)
    kind = encoding if encoding is not None else getattr(space, "predictor_encoding", None)
    if kind is None:
        raise ValueError(f"space {getattr(space, 'name', space)!r} has no predictor encoding; "
                         "pass encoding= one of its encodings")
    X = np.asarray(space.encode(cells, kind), dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != len(cells):
        raise ValueError(f"{space.name}.encode gave shape {X.shape} for {len(cells)} cells")
    if extra is None:
        return X
    E = np.asarray(extra, dtype=np.float64)
    if E.ndim == 1:
        E = E[:, None]
    if E.ndim != 2 or E.shape[0] != X.shape[0]:
        raise ValueError(f"extra has shape {E.shape} but there are {X.shape[0]} cells: "
                         "give one row (or one value) per cell")
    return np.hstack([X, E])


__all__ = ["INSTALL_HINT", "PREDICTORS", "Predictor", "features", "make_predictor", "predictor_class"]
