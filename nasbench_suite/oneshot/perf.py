"""Timing helpers of the one-shot perf figures (scripts/oneshot_perf.py and
tests/benchmarks/test_bench_oneshot.py): the supernet's forward+backward
against the same number of stand-alone networks, on one digits batch."""
from __future__ import annotations

import time

from ..train._torch import nn, torch
from ..train.networks import build_network
from ..train.presets import get_preset
from .nb201_supernet import OPS, SPACE, build_supernet

#: The cell of the path-mode figures (op indices per edge).
PATH = (3, 2, 1, 4, 3, 2)

__all__ = ["PATH", "digits_batch", "supernet_step", "standalone_steps", "time_call"]


def digits_batch(batch_size: int = 64, seed: int = 0):
    """(images, labels) of one batch of digits' shape (1 x 8 x 8, 10 classes), random values."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 1, 8, 8, generator=g), torch.randint(0, 10, (batch_size,), generator=g)


def supernet_step(mode: str = "mix"):
    """A closure: one forward+backward of the digits-preset supernet on one
    batch, ``mode`` "mix" (all 5 ops of every edge, DARTS) or "path" (one op per edge)."""
    p = get_preset(SPACE.name, "digits").replace(in_channels=1)
    torch.manual_seed(0)
    net = build_supernet(10, p)
    x, y = digits_batch()
    loss_fn = nn.CrossEntropyLoss()
    path = PATH

    def step():
        net.zero_grad(set_to_none=True)
        out = net(x) if mode == "mix" else net(x, "path", path)
        loss_fn(out, y).backward()

    return step


def standalone_steps(cells=None):
    """A closure: forward+backward of one stand-alone digits-preset network
    per cell of ``cells`` (op-index paths) on the same batch. Default: 5
    networks, network ``k`` with op ``k`` on every edge: together they compute
    exactly the ops of one mixed supernet pass."""
    p = get_preset(SPACE.name, "digits").replace(in_channels=1)
    torch.manual_seed(0)
    cells = [(k,) * 6 for k in range(len(OPS))] if cells is None else cells
    nets = [build_network(SPACE.name, SPACE.from_categorical(list(c)), 10, p) for c in cells]
    x, y = digits_batch()
    loss_fn = nn.CrossEntropyLoss()

    def step():
        for net in nets:
            net.zero_grad(set_to_none=True)
            params = list(net.parameters())
            loss = loss_fn(net(x), y)
            if any(q.requires_grad for q in params):
                loss.backward()

    return step


def time_call(fn, repeats: int = 20, rounds: int = 5) -> float:
    """Median over ``rounds`` of the seconds per call of ``repeats`` calls (after one warm-up call)."""
    fn()
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        out.append((time.perf_counter() - t0) / repeats)
    out.sort()
    return out[len(out) // 2]
