"""DARTS (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019).

Every edge's output is the softmax(alpha)-weighted sum of its 5 ops. Each
step first updates alpha on a validation batch, then the weights on a
training batch (the DARTS order). The derived cell takes the argmax of alpha
on each edge. NB201 settings (the NB201 paper, Sec. 5, and the authors'
``exps/algos/DARTS-V1.py`` / ``DARTS-V2.py`` with ``configs/nas-benchmark/
algos/DARTS.config``): 50 epochs, batch 64, SGD lr 0.025 cosine to 0.001,
momentum 0.9, weight decay 5e-4 (the shared recipe of :mod:`._method`);
alpha by Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.

- **V1** (first order): the gradient of the validation loss with respect
  to alpha at the current weights.
- **V2** (second order): the gradient of the validation loss at the weights
  after one virtual SGD step, ``w' = w - xi (momentum buffer + grad_w L_train
  + wd w)`` with ``xi`` the current weight learning rate:
  ``dalpha L_val(w', alpha) - xi * H``, where the Hessian-vector product
  ``H = grad_alpha grad_w L_train(w, alpha) . grad_w' L_val`` is the central
  finite difference ``(grad_alpha L_train(w + R v) - grad_alpha L_train(w - R v)) / 2R``
  with ``v = grad_w' L_val`` and ``R = 0.01 / |v|`` (DARTS's ``architect.py``).

Published NB201 result (REFERENCE.md): on CIFAR-10 both collapse to a cell of
parameter-free ops (valid 39.77, test 54.30).
"""
from __future__ import annotations

from ..train._torch import torch
from ._method import EpochContext, OneShotMethod

__all__ = ["DartsV1", "DartsV2", "unrolled_hypergradient"]


class DartsV1(OneShotMethod):
    """First-order DARTS (module docstring)."""

    name = "darts_v1"
    paper_epochs = 50
    digits_epochs = 10

    def step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """Alpha on the validation batch, then the weights on the training batch."""
        net = ctx.net
        self.arch_step(ctx, xt, yt, xv, yv)
        ctx.weight_step(ctx.loss_fn(net(xt).float(), yt))

    def arch_step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """One Adam step of alpha on the first-order gradient of the validation loss."""
        net = ctx.net
        self.a_optimizer.zero_grad(set_to_none=True)
        (g,) = torch.autograd.grad(ctx.loss_fn(net(xv).float(), yv), [net.alpha])
        net.alpha.grad = g
        self.a_optimizer.step()


class DartsV2(DartsV1):
    """Second-order DARTS: the unrolled hypergradient (module docstring)."""

    name = "darts_v2"

    def arch_step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """One Adam step of alpha on :func:`unrolled_hypergradient`."""
        net = ctx.net
        self.a_optimizer.zero_grad(set_to_none=True)
        group = ctx.w_optimizer.param_groups[0]
        net.alpha.grad = unrolled_hypergradient(net, ctx.loss_fn, xt, yt, xv, yv, ctx.lr, group["momentum"],
                                                group["weight_decay"], ctx.w_optimizer)
        self.a_optimizer.step()


def unrolled_hypergradient(net, loss_fn, xt, yt, xv, yv, lr: float, momentum: float = 0.0,
                           weight_decay: float = 0.0, w_optimizer=None, fd_scale: float = 0.01):
    """DARTS's second-order gradient of the validation loss with respect to
    ``net.alpha`` (module docstring); the weights are left as they were.
    ``w_optimizer``: the SGD optimiser whose momentum buffers enter the
    virtual step (None: no momentum term). ``fd_scale``: the length of the
    finite-difference step in weight space (``R |v|``; DARTS's 0.01)."""
    weights = net.weight_parameters()
    alpha = net.alpha
    grads = torch.autograd.grad(loss_fn(net(xt).float(), yt), weights)
    backup = [w.detach().clone() for w in weights]
    with torch.no_grad():
        for w, g in zip(weights, grads):
            step = g + weight_decay * w
            if w_optimizer is not None and momentum:
                buf = w_optimizer.state.get(w, {}).get("momentum_buffer")
                if buf is not None:
                    step = step + momentum * buf
            w.sub_(lr * step)
    try:
        out = torch.autograd.grad(loss_fn(net(xv).float(), yv), [alpha] + weights)
        dalpha, dw = out[0], out[1:]
        norm = torch.sqrt(sum((d.double() ** 2).sum() for d in dw))
        r = fd_scale / float(norm) if float(norm) > 0 else 0.0
        grads_pm = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, b, d in zip(weights, backup, dw):
                    w.copy_(b + sign * r * d)
            (ga,) = torch.autograd.grad(loss_fn(net(xt).float(), yt), [alpha])
            grads_pm.append(ga)
        hessian = (grads_pm[0] - grads_pm[1]) / (2 * r) if r else torch.zeros_like(dalpha)
    finally:
        with torch.no_grad():
            for w, b in zip(weights, backup):
                w.copy_(b)
    return dalpha - lr * hessian
