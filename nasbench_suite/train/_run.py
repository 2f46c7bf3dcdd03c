"""What every training run shares, one seed at a time (:meth:`Trainer.train`)
or several seeds as one grouped network (:meth:`Trainer.train_seeds`): the
result record, the seeds derived from a run's seed, torch's global flags.

Kept apart from :mod:`.trainer` so that the grouped run (:mod:`._grouped_run`)
uses them without importing the trainer.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from ._torch import torch

# Salts of the seeds derived from a run's seed: weights, and each epoch's batches.
_INIT_SALT, _DATA_SALT = 0x1A17, 0xDA7A


def _seed_from(*words: int) -> int:
    """A 63-bit torch seed derived from integers (numpy SeedSequence)."""
    return int(np.random.SeedSequence([int(w) & 0xFFFFFFFFFFFFFFFF for w in words])
               .generate_state(1, np.uint64)[0] >> np.uint64(1))


@dataclass
class TrainResult:
    """What a training run measured. ``history`` has one dict per epoch:
    ``epoch``, ``train_acc``/``valid_acc``/``test_acc`` (percent),
    ``train_loss``/``valid_loss``/``test_loss`` (nats), ``epoch_time`` and
    ``train_time`` (seconds of training, evaluation excluded), ``lr``."""

    space: str
    cell: str  # NB101 hash or NB201 arch string
    dataset: str
    seed: int
    epochs: int
    params: int
    flops: int
    history: list = field(default_factory=list)
    preset: dict = field(default_factory=dict)
    checkpoint: str | None = None
    resumed_from: int = 0  # epochs loaded from a checkpoint
    device: str = "cpu"
    model: object = None  # the trained nn.Module when train(keep_model=True)

    @property
    def final(self) -> dict:
        """The last epoch's entry of ``history`` ({} if no epoch ran)."""
        return self.history[-1] if self.history else {}


@contextlib.contextmanager
def _torch_flags(deterministic: bool, benchmark: bool, threads: int | None = None):
    """Sets torch's global algorithm flags (and thread count) for a run and puts them back after."""
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    old_det = torch.are_deterministic_algorithms_enabled()
    old_bench = torch.backends.cudnn.benchmark
    old_cudnn_det = torch.backends.cudnn.deterministic
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = benchmark and not deterministic
    torch.backends.cudnn.deterministic = deterministic
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old_det)
        torch.backends.cudnn.benchmark = old_bench
        torch.backends.cudnn.deterministic = old_cudnn_det
        torch.set_num_threads(old_threads)
