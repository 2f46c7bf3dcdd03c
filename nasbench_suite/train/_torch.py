"""The one place that imports torch, with a message that says how to get it."""
from __future__ import annotations

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "nasbench_suite.train needs PyTorch, an optional extra: "
        "pip install 'nasbench-suite[train]' (or pip install torch==2.13.0)"
    ) from exc

__all__ = ["torch", "nn"]
