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

__all__ = ["torch", "nn", "save_atomic"]


def save_atomic(state: dict, path) -> None:
    """``torch.save(state)`` to ``path`` all at once: written to a temporary
    file beside it, synced, then renamed over it (a killed process leaves the
    old file or the new one, never a torn one)."""
    import os
    from pathlib import Path

    path = Path(path)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
