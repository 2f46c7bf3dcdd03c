"""Optimisers and learning-rate schedules of the presets."""
from __future__ import annotations

import math

from ._torch import torch


class TFRMSprop(torch.optim.Optimizer):
    """RMSProp with TensorFlow 1's semantics, as NB101 trained with
    (``tf.train.RMSPropOptimizer``): the mean square starts at 1, epsilon is
    added inside the square root, and momentum accumulates the scaled step::

        ms  <- decay * ms + (1 - decay) * g^2
        mom <- momentum * mom + lr * g / sqrt(ms + eps)
        w   <- w - mom

    ``weight_decay`` adds ``weight_decay * w`` to the gradient, which is the
    gradient of NB101's ``weight_decay * sum(l2_loss(w))`` term (``l2_loss`` is
    half the squared norm). torch's ``RMSprop`` differs on all three points,
    which matters with NB101's epsilon of 1.0.
    """

    def __init__(self, params, lr: float, decay: float = 0.9, momentum: float = 0.9, eps: float = 1.0,
                 weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, decay, mom, eps, wd = (group[k] for k in ("lr", "decay", "momentum", "eps", "weight_decay"))
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if not self.state[p]:
                    self.state[p]["ms"] = torch.ones_like(p)
                    self.state[p]["mom"] = torch.zeros_like(p)
            # One fused kernel per operation over all tensors (as torch's own
            # optimisers do): elementwise, so identical to a per-tensor loop.
            grads = [p.grad for p in params]
            if wd:
                grads = torch._foreach_add(grads, params, alpha=wd)
            ms = [self.state[p]["ms"] for p in params]
            buf = [self.state[p]["mom"] for p in params]
            torch._foreach_mul_(ms, decay)
            torch._foreach_addcmul_(ms, grads, grads, value=1.0 - decay)
            denom = torch._foreach_add(ms, eps)
            torch._foreach_sqrt_(denom)
            torch._foreach_mul_(buf, mom)
            torch._foreach_addcdiv_(buf, grads, denom, value=lr)
            torch._foreach_sub_(params, buf)
        return loss


def cosine_lr(base: float, step: int, total_steps: int, zero_first_step: bool = False) -> float:
    """Cosine decay from ``base`` to 0 over ``total_steps`` (updated every step,
    as both benchmarks do); NB101 also uses 0 at step 0."""
    if zero_first_step and step == 0:
        return 0.0
    progress = min(step / max(total_steps, 1), 1.0)
    return 0.5 * base * (1.0 + math.cos(math.pi * progress))


def make_optimizer(preset, params):
    if preset.optimizer == "sgd":
        return torch.optim.SGD(params, lr=preset.lr, momentum=preset.momentum, nesterov=preset.nesterov,
                               weight_decay=preset.weight_decay)
    if preset.optimizer == "rmsprop_tf":
        return TFRMSprop(params, lr=preset.lr, decay=preset.rms_decay, momentum=preset.momentum,
                         eps=preset.rms_eps, weight_decay=preset.weight_decay)
    raise ValueError(f"unknown optimizer {preset.optimizer!r}; use 'sgd' or 'rmsprop_tf'")
