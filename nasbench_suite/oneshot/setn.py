"""SETN (Dong & Yang, "One-Shot Neural Architecture Search via Self-Evaluated
Template Network", ICCV 2019).

The template network (the supernet) trains its weights on one uniformly
sampled path per training step; the evaluator (alpha) trains on the
validation batch through the supernet's mixed forward (``joint`` mode:
softmax(alpha)-weighted sums). The derived cell: the ``select_num`` = 100
cells of highest probability under softmax(alpha) (the authors'
``return_topK``), each scored by its accuracy with the shared weights on one
validation batch, the best kept (``get_best_arch``).

NB201 settings (the authors' ``exps/algos/SETN.py``, ``configs/
nas-benchmark/algos/SETN.config``): 250 epochs, batch 64, SGD lr 0.025 cosine
to 0.001; alpha by Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.
Published NB201 result (REFERENCE.md): CIFAR-10 valid 84.04 +- 0.28,
test 87.64 +- 0.00.
"""
from __future__ import annotations

import itertools

from ..train._torch import torch
from ._method import EpochContext, best_of_paths, path_cell, random_path
from .rsps import Rsps

__all__ = ["Setn", "top_k_paths"]

_ALL_PATHS = None


def top_k_paths(alpha, k: int) -> list:
    """The ``k`` op-index paths of highest log-probability under softmax(alpha)
    per edge (ties: the lower path index first)."""
    global _ALL_PATHS
    if _ALL_PATHS is None:
        _ALL_PATHS = torch.tensor(list(itertools.product(range(alpha.shape[1]), repeat=alpha.shape[0])))
    logp = alpha.detach().double().cpu().log_softmax(dim=1)
    scores = logp[torch.arange(alpha.shape[0]), _ALL_PATHS].sum(dim=1)
    order = torch.argsort(-scores, stable=True)[:k]
    return [tuple(int(v) for v in _ALL_PATHS[i]) for i in order.tolist()]


class Setn(Rsps):
    """SETN (module docstring); ``select_num``: candidate cells scored when deriving
    (its constructor and hyper-parameters are RSPS's)."""

    name = "setn"
    paper_epochs = 250
    digits_epochs = 50

    def step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """A uniform path's weights on the training batch, then alpha (joint mode) on the validation batch."""
        net = ctx.net
        ctx.weight_step(ctx.loss_fn(net(xt, "path", random_path(ctx.generator)).float(), yt))
        self.a_optimizer.zero_grad(set_to_none=True)
        (g,) = torch.autograd.grad(ctx.loss_fn(net(xv).float(), yv), [net.alpha])
        net.alpha.grad = g
        self.a_optimizer.step()

    def derive(self, ctx: EpochContext):
        """The best of the ``select_num`` most probable cells on validation batches."""
        return path_cell(best_of_paths(ctx, top_k_paths(ctx.net.alpha, self.select_num)))
