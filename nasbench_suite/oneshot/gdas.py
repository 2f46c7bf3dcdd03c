"""GDAS (Dong & Yang, "Searching for A Robust Neural Architecture in Four GPU Hours", CVPR 2019).

Each forward pass draws one op per edge from the Gumbel-softmax of alpha:
``probs = softmax((log_softmax(alpha) + g) / tau)`` with Gumbel noise ``g``,
``index = argmax(probs)``; only that op is computed (a hard, one-path
forward), and its output is multiplied by ``hardwts = one_hot(index) -
probs.detach() + probs`` (value 1, gradient of ``probs``: the
straight-through estimator), as the authors' ``forward_gdas``. Each step
trains the weights on a training batch, then alpha on a validation batch,
each with its own draw. The temperature falls linearly from ``tau_max`` = 10
to ``tau_min`` = 0.1 over the epochs (``tau = tau_max - (tau_max - tau_min)
* epoch / (epochs - 1)``). The derived cell is argmax alpha.

NB201 settings (the authors' ``exps/algos/GDAS.py``, ``configs/nas-benchmark/
algos/GDAS.config``): 250 epochs, batch 64, SGD lr 0.025 cosine to 0.001,
alpha by Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3. Published NB201
result (REFERENCE.md): CIFAR-10 valid 89.89 +- 0.08, test 93.61 +- 0.09.
"""
from __future__ import annotations

from ..train._torch import torch
from ._method import EpochContext, OneShotMethod

__all__ = ["Gdas", "gumbel_hardwts", "tau_at"]


def tau_at(epoch: int, epochs: int, tau_max: float = 10.0, tau_min: float = 0.1) -> float:
    """The temperature of epoch ``epoch`` (0-based) of ``epochs``."""
    if epochs <= 1:
        return float(tau_max)
    return float(tau_max - (tau_max - tau_min) * epoch / (epochs - 1))


def gumbel_hardwts(alpha, tau: float, generator):
    """``(hardwts, index)`` of one Gumbel-softmax draw (module docstring);
    draws again in the rare case of an infinite or NaN sample, as the authors do."""
    while True:
        e = torch.empty(alpha.shape, dtype=torch.float32).exponential_(generator=generator)
        gumbels = -e.log().to(device=alpha.device, dtype=alpha.dtype)
        logits = (alpha.log_softmax(dim=1) + gumbels) / tau
        probs = logits.softmax(dim=1)
        index = probs.max(-1, keepdim=True)[1]
        one_h = torch.zeros_like(logits).scatter_(-1, index, 1.0)
        hardwts = one_h - probs.detach() + probs
        if not (torch.isinf(gumbels).any() or torch.isinf(probs).any() or torch.isnan(probs).any()):
            return hardwts, tuple(int(i) for i in index.view(-1).tolist())


class Gdas(OneShotMethod):
    """GDAS (module docstring); ``tau_max``, ``tau_min``: the temperature schedule."""

    name = "gdas"
    paper_epochs = 250
    digits_epochs = 50

    def __init__(self, tau_max: float = 10.0, tau_min: float = 0.1):
        if not 0 < tau_min <= tau_max:
            raise ValueError(f"need 0 < tau_min <= tau_max, got tau_min={tau_min}, tau_max={tau_max}")
        self.tau_max, self.tau_min = float(tau_max), float(tau_min)

    def hyperparameters(self) -> dict:
        """The temperature schedule."""
        return {"tau_max": self.tau_max, "tau_min": self.tau_min}

    def step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """Weights on the training batch, then alpha on the validation batch, one draw each."""
        net = ctx.net
        tau = tau_at(ctx.epoch, ctx.epochs, self.tau_max, self.tau_min)
        ctx.weight_step(ctx.loss_fn(net(xt, "gdas", gumbel_hardwts(net.alpha, tau, ctx.generator)).float(), yt))
        self.a_optimizer.zero_grad(set_to_none=True)
        loss = ctx.loss_fn(net(xv, "gdas", gumbel_hardwts(net.alpha, tau, ctx.generator)).float(), yv)
        (g,) = torch.autograd.grad(loss, [net.alpha])
        net.alpha.grad = g
        self.a_optimizer.step()
