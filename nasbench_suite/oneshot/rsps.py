"""RSPS: random search with parameter sharing (Li & Talwalkar, "Random Search
and Reproducibility for Neural Architecture Search", UAI 2019).

Each training step draws one op per edge uniformly at random and trains that
path's weights (no architecture parameters are learnt). The derived cell:
``select_num`` = 100 cells drawn uniformly, each scored by its accuracy with
the shared weights on one validation batch (batch statistics), the best
kept, as the NB201 authors' ``exps/algos/RANDOM-NAS.py`` does at the end of
the search (here at the end of every epoch, so the trajectory has a cell per
epoch; the draws of the derivation are part of the measured time).

NB201 settings: 250 epochs, batch 64, SGD lr 0.025 cosine to 0.001.
Published NB201 result (REFERENCE.md): CIFAR-10 valid 80.42 +- 3.58,
test 84.07 +- 3.61.
"""
from __future__ import annotations

from ._method import EpochContext, OneShotMethod, best_of_paths, path_cell, random_path

__all__ = ["Rsps"]


class Rsps(OneShotMethod):
    """RSPS (module docstring); ``select_num``: cells scored when deriving."""

    name = "rsps"
    paper_epochs = 250
    digits_epochs = 50

    def __init__(self, select_num: int = 100):
        if int(select_num) < 1:
            raise ValueError(f"select_num must be >= 1, got {select_num!r}")
        self.select_num = int(select_num)

    def hyperparameters(self) -> dict:
        """How many cells the derivation scores."""
        return {"select_num": self.select_num}

    def step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """The weights of one uniformly drawn path on the training batch."""
        ctx.weight_step(ctx.loss_fn(ctx.net(xt, "path", random_path(ctx.generator)).float(), yt))

    def derive(self, ctx: EpochContext):
        """The best of ``select_num`` uniform draws on validation batches."""
        return path_cell(best_of_paths(ctx, [random_path(ctx.generator) for _ in range(self.select_num)]))
