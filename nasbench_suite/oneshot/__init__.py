"""One-shot (gradient-based and weight-sharing) NAS on the NB201 supernet,
scored by a table; needs the ``[train]`` extra (PyTorch). docs/ONESHOT.md.

- :mod:`.nb201_supernet`: the supernet, alpha apart from the weights, and the
  stand-alone network of one cell read out with the shared weights;
- one module per method: :mod:`.darts` (V1, V2), :mod:`.gdas`, :mod:`.setn`,
  :mod:`.enas`, :mod:`.rsps`; the common loop in :mod:`._method`;
- :func:`run_oneshot`: one search as a :class:`~nasbench_suite.runner.Trajectory`
  (a row per supernet epoch, measured seconds).
"""
from __future__ import annotations

from .run import METHODS, cost_model_text, default_epochs, is_oneshot, make_method, run_oneshot

__all__ = ["METHODS", "cost_model_text", "default_epochs", "is_oneshot", "make_method", "run_oneshot"]
