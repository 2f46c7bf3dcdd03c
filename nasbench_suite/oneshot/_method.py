"""What every one-shot method shares: the search recipe, the epoch loop, checkpoints.

A method (:class:`OneShotMethod`) says how one step trains the supernet's
weights on a training batch and its architecture (alpha or a controller) on a
validation batch, and how a cell is derived at the end of an epoch. The loop
(:func:`search`) does the rest, the same for all of them:

- data: the preset's splits (``train/data.py``): weights on ``train``,
  architecture on ``valid``; each step takes the next batch of both, shuffled
  by the epoch's generator (``(seed, epoch)``), so a run does not depend on
  the global random state;
- weights: SGD (Nesterov momentum 0.9, weight decay 5e-4), learning rate 0.025
  cosine-annealed to 0.001 per step, gradient norm clipped at 5 (the NB201
  authors' search configs, ``configs/nas-benchmark/algos/*.config``), batch 64;
- architecture: Adam, lr 3e-4, betas (0.5, 0.999), weight decay 1e-3;
- after every epoch: a checkpoint (supernet, both optimisers, the method's
  own state, the rows so far), written to a temporary file and renamed; a
  run started again with the same arguments resumes after it and, on the CPU
  with the same thread count, ends with the same cells and numbers;
- time: the measured seconds of each epoch's training and derivation
  (synchronised on a GPU), table look-ups and checkpoints excluded.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..train._run import _seed_from, _torch_flags
from ..train._torch import nn, save_atomic, torch
from ..train.loader import DeviceBatches
from .nb201_supernet import OPS, SPACE

CHECKPOINT_FORMAT = "nasbench-suite/oneshot-checkpoint"
CHECKPOINT_VERSION = 1
_INIT_SALT, _DATA_SALT, _SAMPLE_SALT, METHOD_SALT = 0x05E7, 0xBA7C, 0x5A3D, 0xC0A7


@dataclass
class SearchRecipe:
    """The supernet training recipe shared by the methods (module docstring)."""

    batch_size: int = 64
    lr: float = 0.025
    eta_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple = (0.5, 0.999)
    arch_weight_decay: float = 1e-3

    def to_dict(self) -> dict:
        """The recipe as a plain dict (stored in a run's meta)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class EpochContext:
    """What a method's step sees: the supernet, the weight optimiser, the
    epoch's generator (all sampling draws from it), the current weight
    learning rate, the epoch (0-based) and the total, the device, the
    validation batches for evaluating sampled cells, the recipe and the
    weight steps per epoch."""

    net: object
    w_optimizer: object
    generator: object
    lr: float
    epoch: int
    epochs: int
    device: object
    valid: object
    recipe: SearchRecipe
    steps: int = 0
    loss_fn: object = field(default_factory=lambda: nn.CrossEntropyLoss())
    _valid_iter: object = None

    def valid_batch(self):
        """The next validation batch (cycling through the epoch's shuffled split)."""
        if self._valid_iter is not None:
            b = next(self._valid_iter, None)
            if b is not None:
                return b
        self._valid_iter = iter(self.valid.epoch(self.generator))
        return next(self._valid_iter)

    def weight_step(self, loss) -> None:
        """Back-propagates ``loss`` into the weights and takes one SGD step
        (gradients of alpha from this loss are dropped)."""
        opt = self.w_optimizer
        opt.zero_grad(set_to_none=True)
        self.net.alpha.grad = None
        loss.backward()
        self.net.alpha.grad = None
        nn.utils.clip_grad_norm_(self.net.weight_parameters(), self.recipe.grad_clip)
        opt.step()


class OneShotMethod:
    """Base of the one-shot methods. Subclasses set ``name``, ``paper_epochs``
    (the paper's search epochs on CIFAR), ``digits_epochs`` (the count used on
    digits, see docs/ONESHOT.md) and implement :meth:`step` and :meth:`derive`."""

    name = "oneshot"
    paper_epochs = 50
    digits_epochs = 10

    def setup(self, net, recipe: SearchRecipe, device, seed: int = 0) -> None:
        """Builds the method's own state (architecture optimiser, controller;
        random initial values from ``seed``)."""
        self.a_optimizer = torch.optim.Adam(net.arch_parameters(), lr=recipe.arch_lr, betas=recipe.arch_betas,
                                            weight_decay=recipe.arch_weight_decay)

    def step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """One search step on a training and a validation batch."""
        raise NotImplementedError

    def end_epoch(self, ctx: EpochContext) -> None:
        """Work after the epoch's steps, before :meth:`derive` (ENAS trains its controller here)."""

    def derive(self, ctx: EpochContext):
        """The cell the method outputs at the end of an epoch (default: argmax alpha)."""
        return ctx.net.derive()

    def state_dict(self) -> dict:
        """The method's own state for a checkpoint."""
        return {"a_optimizer": self.a_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restores what :meth:`state_dict` saved."""
        self.a_optimizer.load_state_dict(state["a_optimizer"])

    def hyperparameters(self) -> dict:
        """The method's settings, for the run's meta."""
        return {}


# ----------------------------------------------------------------- helpers
def random_path(generator) -> tuple:
    """6 op indices drawn uniformly (uniform random sampling of a path)."""
    return tuple(int(i) for i in torch.randint(0, len(OPS), (6,), generator=generator))


def path_cell(path):
    """The cell of 6 op indices (edges in arch-string order)."""
    return SPACE.from_categorical(np.asarray(path, dtype=np.int64))


@torch.no_grad()
def path_accuracy(net, path, xb, yb) -> float:
    """Accuracy (percent) of one path of the supernet on a batch, BN in training
    mode (batch statistics), as the NB201 authors evaluate sampled cells."""
    logits = net(xb, "path", path)
    return 100.0 * float((logits.argmax(1) == yb).float().mean())


def best_of_paths(ctx: EpochContext, paths) -> tuple:
    """The path of ``paths`` with the highest accuracy, each on the next validation batch."""
    best, best_acc = None, -1.0
    for p in paths:
        xb, yb = ctx.valid_batch()
        acc = path_accuracy(ctx.net, p, xb, yb)
        if acc > best_acc:
            best, best_acc = p, acc
    return best


# --------------------------------------------------------------- the loop
@dataclass
class EpochRow:
    """One epoch of a search: the derived cell and the measured seconds."""

    epoch: int
    cell: str
    seconds: float
    alpha: list | None = None


def amp_choice(cuda: bool, amp: bool | None, bf16_supported: bool) -> bool:
    """Whether a one-shot search runs under autocast (always bfloat16).

    ``amp=None`` (the default): on a CUDA device with bfloat16, yes; on CPU,
    no; on a CUDA card without bfloat16 (before Ampere), no: float16 would
    need a gradient scaler, and the methods step two optimizers (weights and
    architecture, DARTS-V2 through an unrolled step) that one scaler cannot
    serve without changing their updates, so such a card trains in float32.
    ``amp=True`` on such a card is refused rather than silently ignored."""
    if not cuda:
        return False
    if amp is None:
        return bool(bf16_supported)
    if amp and not bf16_supported:
        raise ValueError("amp=True: one-shot AMP needs a CUDA card with bfloat16 (Ampere or later); float16 "
                         "would need a gradient scaler over the weight and architecture optimizers. Pass "
                         "amp=False (or leave it None) to train in float32 on this card")
    return bool(amp)


def search(method: OneShotMethod, data, preset, seed: int, epochs: int, device=None, threads: int | None = None,
           checkpoint=None, recipe: SearchRecipe | None = None, deterministic: bool | None = None,
           amp: bool | None = None, channels_last: bool | None = None, on_epoch=None) -> list:
    """Runs ``method`` for ``epochs`` supernet epochs on ``data`` (a
    train/data.py Dataset with a validation split) and returns one
    :class:`EpochRow` per epoch. ``checkpoint``: a file path to save after
    every epoch and to resume from. ``on_epoch(row)`` after each epoch."""
    from .nb201_supernet import build_supernet

    recipe = recipe or SearchRecipe()
    if data.valid is None:
        raise ValueError(f"data set {data.name!r} has no validation split under the {preset.splits!r} "
                         "convention: a one-shot search trains the architecture on it (use cifar10-valid "
                         "rather than cifar10)")
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available()
                                                                         else "cpu")
    cuda = dev.type == "cuda"
    deterministic = (not cuda) if deterministic is None else bool(deterministic)
    use_amp = amp_choice(cuda, amp, cuda and torch.cuda.is_bf16_supported())
    cl = cuda if channels_last is None else bool(channels_last)
    if "in_channels" not in preset.network:
        preset = preset.replace(in_channels=data.image_shape[0])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_seed_from(seed, _INIT_SALT))
        net = build_supernet(data.num_classes, preset)
    net = net.to(dev)
    if cl:
        net = net.to(memory_format=torch.channels_last)
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=recipe.lr, momentum=recipe.momentum,
                            nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)
    method.setup(net, recipe, dev, seed)
    rows: list = []
    start = 0
    ckpt = None if checkpoint is None else Path(checkpoint)
    if ckpt is not None and ckpt.is_file():
        state = _load(ckpt, dev)
        net.load_state_dict(state["net"])
        w_opt.load_state_dict(state["w_optimizer"])
        method.load_state_dict(state["method"])
        rows = [EpochRow(**r) for r in state["rows"]]
        start = len(rows)
    train = DeviceBatches(data.train, data, dev, recipe.batch_size, True, cl, augment=preset.augment)
    valid = DeviceBatches(data.valid, data, dev, recipe.batch_size, True, cl, augment=preset.augment)
    steps = train.steps()
    total = steps * epochs
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else contextlib.nullcontext
    with _torch_flags(deterministic, benchmark=cuda, threads=threads):
        for epoch in range(start, epochs):
            gen = torch.Generator().manual_seed(_seed_from(seed, _DATA_SALT, epoch))
            sgen = torch.Generator().manual_seed(_seed_from(seed, _SAMPLE_SALT, epoch))
            ctx = EpochContext(net, w_opt, sgen, recipe.lr, epoch, epochs, dev, valid, recipe, steps)
            if cuda:
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            net.train()
            vit = valid.epoch(gen)
            for i, (xt, yt) in enumerate(train.epoch(gen)):
                vb = next(vit, None)
                if vb is None:
                    vit = valid.epoch(gen)
                    vb = next(vit)
                step = epoch * steps + i
                ctx.lr = recipe.eta_min + 0.5 * (recipe.lr - recipe.eta_min) * (1 + math.cos(math.pi * step / total))
                for g in w_opt.param_groups:
                    g["lr"] = ctx.lr
                with autocast():
                    method.step(ctx, xt, yt, vb[0], vb[1])
            method.end_epoch(ctx)
            cell = method.derive(ctx)
            if cuda:
                torch.cuda.synchronize(dev)
            seconds = time.perf_counter() - t0
            row = EpochRow(epoch + 1, SPACE.label(cell), seconds,
                           [[float(v) for v in r] for r in net.alpha.detach().float().cpu()])
            rows.append(row)
            if ckpt is not None:
                _save(ckpt, net, w_opt, method, rows)
            if on_epoch is not None:
                on_epoch(row)
    return rows


def checkpoint_name(method: str, dataset: str, seed: int, epochs: int, settings: dict) -> str:
    """A checkpoint file name for one run: method, data set, seed and a digest of the settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{method}-{dataset}-seed{int(seed)}-e{int(epochs)}-{digest}.pt"


def _save(path: Path, net, w_opt, method, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "net": net.state_dict(),
             "w_optimizer": w_opt.state_dict(), "method": method.state_dict(),
             "rows": [r.__dict__ for r in rows]}
    save_atomic(state, path)


def _load(path: Path, device) -> dict:
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torn or foreign file
        raise RuntimeError(f"{path}: unreadable one-shot checkpoint ({exc}); delete it to search from scratch") \
            from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT \
            or state.get("version") != CHECKPOINT_VERSION:
        raise RuntimeError(f"{path}: not a one-shot checkpoint of this version; delete it to search from scratch")
    return state

