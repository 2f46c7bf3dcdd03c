"""One-shot (gradient-based and weight-sharing) NAS on the NB201 supernet,
scored by a table; needs the ``[train]`` extra (PyTorch). docs/ONESHOT.md.

- :mod:`.nb201_supernet`: the supernet, alpha apart from the weights, and the
  stand-alone network of one cell read out with the shared weights;
- one module per method: :mod:`.darts` (V1, V2), :mod:`.gdas`, :mod:`.setn`,
  :mod:`.enas`, :mod:`.rsps`; the common loop in :mod:`._method`;
- :func:`run_oneshot`: one search as a :class:`~nasbench_suite.runner.Trajectory`
  (a row per supernet epoch, measured seconds).

:data:`METHOD_NAMES` and :func:`is_oneshot` need no PyTorch (the grid uses
them to tell one-shot methods from black-box strategies); the rest is
imported on first use.
"""
from __future__ import annotations

#: The one-shot method names (``run_oneshot``'s first argument, ``compare --strategies``).
METHOD_NAMES = ("darts_v1", "darts_v2", "gdas", "setn", "enas", "rsps")
#: Settings a grid may give a one-shot run besides the method's own hyper-parameters.
RUN_SETTINGS = ("epochs", "train_dataset", "preset", "data_root", "threads")

__all__ = ["METHOD_NAMES", "METHODS", "RUN_SETTINGS", "cost_model_text", "default_epochs", "hyperparameter_names",
           "is_oneshot", "make_method", "run_oneshot"]


def is_oneshot(name) -> bool:
    """Whether ``name`` is a one-shot method (:data:`METHOD_NAMES`)."""
    return isinstance(name, str) and name in METHOD_NAMES


def hyperparameter_names(name: str) -> list:
    """The keyword arguments of method ``name``'s constructor, then :data:`RUN_SETTINGS`."""
    import inspect

    from .run import METHODS

    params = list(inspect.signature(METHODS[name].__init__).parameters.values())[1:]
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)] + list(RUN_SETTINGS)


def __getattr__(name):
    if name in ("METHODS", "cost_model_text", "default_epochs", "make_method", "run_oneshot"):
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
