"""``Trainer``: trains one cell with a benchmark preset, resumable, into a table.

On a GPU: automatic mixed precision (bfloat16 where the card supports it,
else float16 with a gradient scaler), channels-last tensors, cuDNN benchmark
mode, pinned memory with non-blocking copies, optionally ``torch.compile``.
On the CPU: deterministic algorithms, so a run is reproducible bit for bit.

Every random choice comes from the run's ``seed``: the weights from a seed
derived for initialisation (drawn inside ``torch.random.fork_rng``, so the
global generator is left as it was), the batches and augmentation of epoch
``e`` from a ``torch.Generator`` seeded from ``(seed, e)``. With a
``checkpoint_dir`` the trainer saves the model, the optimiser and the metrics
after every epoch (written to a temporary file and renamed); a run killed
and started again with the same arguments resumes after the last saved
epoch and, on the CPU, ends with the same weights and metrics as a run that
was never interrupted.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import spaces
from ._run import _DATA_SALT, _INIT_SALT, TrainResult, _seed_from, _torch_flags
from ._torch import nn, save_atomic, torch
from .data import load_dataset
from .loader import DeviceBatches
from .networks import as_cell, build_network, count_flops, count_params
from .optim import cosine_lr, make_optimizer
from .presets import SPACES as PRESET_SPACES
from .presets import Preset, check_space, get_preset

CHECKPOINT_FORMAT = "nasbench-suite/checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class _RunSetup:
    """A run's settings, resolved (:meth:`Trainer._setup`)."""

    space: str
    cell: object
    dataset: str
    preset: Preset
    data: object
    device: object
    deterministic: bool
    channels_last: bool

    def network(self, seed: int):
        """The untrained network of ``seed``: its weights drawn from a seed
        derived for initialisation, the global generator left as it was."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_from(seed, _INIT_SALT))
            return build_network(self.space, self.cell, self.data.num_classes, self.preset)

    def flops(self) -> int:
        return _flops(self.space, self.cell, self.data.num_classes, self.preset.replace(init="torch"),
                      tuple(self.data.image_shape))

    def batches(self):
        """The training batches and the (name, batches) of each evaluation split."""
        data, preset, device, cl = self.data, self.preset, self.device, self.channels_last
        train = DeviceBatches(data.train, data, device, preset.batch_size, True, cl, augment=preset.augment)
        evals = [(name, DeviceBatches(split, data, device, preset.eval_batch_size, False, cl))
                 for name, split in (("valid", data.valid), ("test", data.test)) if split is not None]
        return train, evals


class Trainer:
    """Trains cells with a benchmark preset.

    ``Trainer(dataset="cifar10-valid", data_root="~/data", preset="official")``;
    keyword overrides change any preset field (``epochs=12``, ``batch_size=64``,
    ``lr=0.05``, network widths such as ``channels=8``), see :mod:`.presets`.
    ``device``: "cuda", "cpu" or None (a GPU when there is one).
    ``amp``, ``channels_last``: None = on for a GPU. ``compile``: wrap the
    network in ``torch.compile``. ``deterministic``: None = on for the CPU.
    ``checkpoint_dir``: where per-epoch checkpoints go (None: no checkpoints,
    no resumption). ``record``: which epochs go into a table given to
    :meth:`train`: "auto" (the preset's fidelity convention: every epoch for
    NB201, the final epoch with its halfway metrics for NB101), "every_epoch"
    or "final". ``threads``: CPU threads for the run (None: torch's setting);
    a CPU run is reproducible for a given thread count, so resume with the same.
    One thread is fastest for tiny networks. ``verify_data``: check CIFAR
    files against their published md5 (False for files you made yourself in
    the official format, e.g. synthetic data for timing).
    """

    def __init__(self, dataset: str | None = None, data_root=None, preset="official", device=None,
                 checkpoint_dir=None, amp: bool | None = None, channels_last: bool | None = None,
                 compile: bool = False, deterministic: bool | None = None, record: str = "auto",
                 progress: bool | None = None, threads: int | None = None, verify_data: bool = True,
                 **overrides):
        if record not in ("auto", "every_epoch", "final"):
            raise ValueError(f"record must be 'auto', 'every_epoch' or 'final', got {record!r}")
        self.dataset = dataset
        self.data_root = None if data_root is None else os.fspath(data_root)
        self.preset = preset
        self.overrides = dict(overrides)
        self.device = None if device is None else str(device)
        self.checkpoint_dir = None if checkpoint_dir is None else os.fspath(checkpoint_dir)
        self.amp, self.channels_last, self.compile = amp, channels_last, bool(compile)
        self.deterministic = deterministic
        self.record = record
        self.progress = progress
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        self.threads = threads
        self.verify_data = bool(verify_data)
        # Fail now, not in a worker an hour later, on a misspelt setting or preset.
        names = (preset.space,) if isinstance(preset, Preset) else PRESET_SPACES
        errors = []
        for space in names:
            try:
                get_preset(space, preset, strict=False, **self.overrides)
            except ValueError as exc:  # a preset name of another space only
                errors.append(exc)
        if len(errors) == len(names):
            raise errors[0]

    def preset_for(self, space: str, **extra) -> Preset:
        """The :class:`Preset` this trainer uses for ``space``: its ``preset``
        with its keyword overrides, then ``extra`` (network settings of another
        space are ignored). ValueError for an unknown space or preset."""
        return get_preset(check_space(space), self.preset, strict=False, **{**self.overrides, **extra})

    def _device(self):
        if self.device is not None:
            dev = torch.device(self.device)
            if dev.type == "cuda" and not torch.cuda.is_available():
                raise RuntimeError("device='cuda' but PyTorch sees no GPU")
            return dev
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _setup(self, space: str, cell, dataset: str | None, epochs: int | None, caller: str) -> "_RunSetup":
        """What every run of ``cell`` needs before its seed matters (``train``
        and ``train_seeds``): the preset, the data, the device and its flags."""
        dataset = dataset if dataset is not None else self.dataset
        if dataset is None:
            raise ValueError(f"no data set: pass dataset= to the Trainer or to {caller}")
        preset = self.preset_for(space, **({} if epochs is None else {"epochs": int(epochs)}))
        if preset.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {preset.epochs}")
        c = as_cell(space, cell)
        data = load_dataset(dataset, self.data_root, preset.splits, verify=self.verify_data)
        if "in_channels" not in preset.network:
            preset = preset.replace(in_channels=data.image_shape[0])
        device = self._device()
        cuda = device.type == "cuda"
        deterministic = (not cuda) if self.deterministic is None else bool(self.deterministic)
        channels_last = cuda if self.channels_last is None else bool(self.channels_last)
        return _RunSetup(space, c, dataset, preset, data, device, deterministic, channels_last)

    def checkpoint_path(self, space: str, cell, dataset: str, seed: int, preset: Preset) -> Path | None:
        """Where the run's checkpoint goes: one file per cell, data set, seed and settings."""
        if self.checkpoint_dir is None:
            return None
        c = as_cell(space, cell)
        sp = spaces.get(space)
        key = f"{sp.index(c):05d}" if sp.size is not None else sp.label(c)
        settings = json.dumps(preset.to_dict(), sort_keys=True, default=str)
        digest = hashlib.sha256(settings.encode()).hexdigest()[:12]
        return Path(self.checkpoint_dir) / f"{space}-{key}-{dataset}-seed{int(seed)}-{digest}.pt"

    # ------------------------------------------------------------------ run
    def train(self, space: str, cell, seed: int = 0, dataset: str | None = None, table=None,
              epochs: int | None = None, keep_model: bool = False, callback=None) -> TrainResult:
        """Trains ``cell`` of ``space`` on ``dataset`` with ``seed``.

        ``epochs`` overrides the preset's. With ``table`` (a table path) the
        metrics are appended to its journal (``tables.append_result``) as
        :attr:`record` says: fidelity = epoch number. ``callback(record)`` is
        called after each epoch is saved. Returns a :class:`TrainResult`.
        """
        check_space(space)
        if isinstance(seed, bool) or int(seed) != seed:
            raise ValueError(f"seed must be an integer, got {seed!r}")
        seed = int(seed)
        run = self._setup(space, cell, dataset, epochs, "train()")
        preset, c, data, device = run.preset, run.cell, run.data, run.device
        dataset = run.dataset
        cuda = device.type == "cuda"
        deterministic, channels_last = run.deterministic, run.channels_last
        use_amp = cuda if self.amp is None else bool(self.amp) and cuda
        amp_dtype = torch.bfloat16 if (cuda and torch.cuda.is_bf16_supported()) else torch.float16
        ckpt = self.checkpoint_path(space, c, dataset, seed, preset)

        model = run.network(seed)
        params = count_params(model)
        flops = run.flops()
        model = model.to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = make_optimizer(preset, model.parameters())
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

        history: list[dict] = []
        start_epoch = 0
        if ckpt is not None and ckpt.is_file():
            state = _load_checkpoint(ckpt, device)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if "scaler" in state and scaler.is_enabled():
                scaler.load_state_dict(state["scaler"])
            history = list(state["history"])
            start_epoch = int(state["epoch"])
        resumed = start_epoch

        train_batches, evals = run.batches()
        steps_per_epoch = train_batches.steps()
        total_steps = steps_per_epoch * preset.epochs
        run_model = torch.compile(model) if self.compile else model
        loss_fn = nn.CrossEntropyLoss()
        autocast = (lambda: torch.autocast("cuda", dtype=amp_dtype)) if use_amp else contextlib.nullcontext
        label = spaces.get(space).label(c)
        show = sys.stderr.isatty() if self.progress is None else bool(self.progress)
        result = TrainResult(space, label, dataset, seed, preset.epochs, params, flops, history,
                             preset.to_dict(), None if ckpt is None else str(ckpt), resumed, str(device))

        with _torch_flags(deterministic, benchmark=cuda, threads=self.threads):
            for epoch in range(start_epoch, preset.epochs):
                gen = torch.Generator().manual_seed(_seed_from(seed, _DATA_SALT, epoch))
                model.train()
                loss_sum = torch.zeros((), device=device)
                correct = torch.zeros((), dtype=torch.int64, device=device)
                seen = 0
                if cuda:
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                step = epoch * steps_per_epoch
                lr = preset.lr
                for xb, yb in train_batches.epoch(gen):
                    lr = cosine_lr(preset.lr, step, total_steps, preset.zero_lr_first_step)
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                    with autocast():
                        logits = run_model(xb)
                        loss = loss_fn(logits.float(), yb)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    loss_sum += loss.detach() * yb.shape[0]
                    correct += (logits.detach().argmax(1) == yb).sum()
                    seen += int(yb.shape[0])
                    step += 1
                if cuda:
                    torch.cuda.synchronize(device)
                epoch_time = time.perf_counter() - t0
                record = {"epoch": epoch + 1, "train_loss": float(loss_sum) / seen,
                          "train_acc": 100.0 * float(correct) / seen, "lr": lr, "epoch_time": epoch_time}
                t1 = time.perf_counter()
                for name, batches in evals:
                    acc, loss = _evaluate(run_model, batches, loss_fn, autocast)
                    record[f"{name}_acc"], record[f"{name}_loss"] = acc, loss
                record["eval_time"] = time.perf_counter() - t1
                record["train_time"] = epoch_time + (history[-1]["train_time"] if history else 0.0)
                history.append(record)
                if table is not None:
                    self._append(table, space, c, dataset, seed, preset, history, params, flops)
                if ckpt is not None:
                    _save_checkpoint(ckpt, model, optimizer, scaler, history, preset, space, label, dataset, seed)
                if show:
                    _progress_line(label, dataset, record, preset.epochs)
                if callback is not None:
                    callback(record)
        if keep_model:
            result.model = model
        return result

    def train_seeds(self, space: str, cell, seeds, dataset: str | None = None,
                    epochs: int | None = None) -> list:
        """Trains ``cell`` once per seed, all seeds at once as one grouped
        network (:mod:`.grouped`, :mod:`._grouped_run`; NB201 only): run ``k`` starts from the same
        weights and sees the same batches as ``train(space, cell, seed=seeds[k])``,
        and gives the same numbers up to floating-point rounding, at about 75%
        of the CPU time for the 8-channel digits networks. Returns one
        :class:`TrainResult` per seed; ``epoch_time`` and ``train_time`` are the
        group's time divided by the number of seeds. No checkpoints, AMP or
        ``torch.compile``: use :meth:`train` for those."""
        from ._grouped_run import train_seeds

        check_space(space)
        return train_seeds(self, space, cell, seeds, dataset=dataset, epochs=epochs)

    def record_mode(self, preset: Preset) -> str:
        """"every_epoch" or "final": which epochs of a run go into a table."""
        if self.record != "auto":
            return self.record
        return "every_epoch" if preset.fidelity == "epoch" else "final"

    def _append(self, table, space, cell, dataset, seed, preset, history, params, flops) -> None:
        from ..tables import append_result

        for fidelity, metrics in table_records(history[-1:], history, preset, self.record_mode(preset)):
            # The trainer may train a dataset the table lacks (the evaluator's
            # cache-through): the dataset is one of train/data.py's, not a typo.
            append_result(table, space, cell, dataset, seed, fidelity, metrics, {"params": params, "flops": flops},
                          new_dataset=True)


def table_records(records: list, history: list, preset: Preset, mode: str) -> list:
    """``(fidelity, metrics)`` of the epochs ``records`` (dicts of ``history``)
    that go into a table: every epoch (fidelity = epoch), or only the last
    epoch of the run, then with ``halfway_<metric>`` of its middle epoch."""
    out = []
    for rec in records:
        last = rec["epoch"] == preset.epochs
        if mode == "final" and not last:
            continue
        metrics = {k: rec[k] for k in _METRICS if k in rec}
        if mode == "final" and preset.halfway and preset.epochs >= 2:
            half = history[preset.epochs // 2 - 1]
            metrics.update({f"halfway_{k}": half[k] for k in _HALFWAY if k in half})
        out.append((float(rec["epoch"]), metrics))
    return out


_METRICS = ("train_acc", "valid_acc", "test_acc", "train_loss", "valid_loss", "test_loss",
            "epoch_time", "train_time")
_HALFWAY = ("train_acc", "valid_acc", "test_acc", "train_time")


_FLOPS_CACHE: dict = {}


def _flops(space: str, cell, num_classes: int, preset: Preset, image_shape: tuple) -> int:
    """FLOPs of a network, counted once per cell and settings (a table trains several seeds)."""
    key = (space, spaces.get(space).label(cell), num_classes,
           json.dumps(preset.to_dict(), sort_keys=True, default=str), image_shape)
    if key not in _FLOPS_CACHE:
        if len(_FLOPS_CACHE) >= 256:
            _FLOPS_CACHE.clear()
        with torch.device("meta"):  # shapes only: no memory, no arithmetic
            _FLOPS_CACHE[key] = count_flops(build_network(space, cell, num_classes, preset), image_shape)
    return _FLOPS_CACHE[key]


def _evaluate(model, batches: DeviceBatches, loss_fn, autocast) -> tuple[float, float]:
    model.eval()
    dev = batches.device
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), dtype=torch.int64, device=dev)
    with torch.no_grad():
        for xb, yb in batches.epoch():
            with autocast():
                logits = model(xb)
            loss_sum += loss_fn(logits.float(), yb) * yb.shape[0]
            correct += (logits.argmax(1) == yb).sum()
    n = batches.n
    return 100.0 * float(correct) / n, float(loss_sum) / n


def _save_checkpoint(path: Path, model, optimizer, scaler, history, preset, space, label, dataset, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "epoch": len(history),
        "space": space, "cell": label, "dataset": dataset, "seed": seed,
        "preset": json.dumps(preset.to_dict(), sort_keys=True, default=str),
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": history,
    }
    if scaler.is_enabled():
        state["scaler"] = scaler.state_dict()
    save_atomic(state, path)


def _load_checkpoint(path: Path, device) -> dict:
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a torn or foreign file: say which and what to do
        raise RuntimeError(f"{path}: unreadable checkpoint ({exc}); delete it to train from scratch") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise RuntimeError(f"{path}: not a nasbench-suite checkpoint; delete it to train from scratch")
    if state.get("version") != CHECKPOINT_VERSION:
        raise RuntimeError(f"{path}: checkpoint version {state.get('version')} (this is "
                           f"{CHECKPOINT_VERSION}); delete it to train from scratch")
    return state


def _progress_line(label: str, dataset: str, rec: dict, epochs: int) -> None:
    valid = rec.get("valid_acc", math.nan)
    sys.stderr.write(f"\r{label[:40]} {dataset} epoch {rec['epoch']}/{epochs}  train {rec['train_acc']:.2f}%  "
                     f"valid {valid:.2f}%  test {rec['test_acc']:.2f}%  {rec['epoch_time']:.1f}s/epoch")
    if rec["epoch"] == epochs:
        sys.stderr.write("\n")
    sys.stderr.flush()
