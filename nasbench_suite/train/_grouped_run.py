"""The training loop of several seeds of one NB201 cell as one grouped network
(:class:`.grouped.GroupedNb201`): what :meth:`Trainer.train_seeds` runs.

Group ``k`` starts from the weights ``Trainer.train(..., seed=seeds[k])``
starts from (the run setup's ``network(seed)``) and sees the same batches, drawn
from the same derived seeds (:mod:`._run`); the loss is the sum of the groups'
losses, so each group's weights follow their own gradient.
"""
from __future__ import annotations

import time

from ._run import _DATA_SALT, TrainResult, _seed_from, _torch_flags
from ._torch import torch
from .grouped import GroupedNb201
from .nb201_net import SPACE as NB201
from .networks import count_params
from .optim import cosine_lr, make_optimizer

F = torch.nn.functional


def train_seeds(trainer, space: str, cell, seeds, dataset: str | None = None, epochs: int | None = None):
    """``Trainer.train_seeds``: see there."""
    if space != NB201.name:
        raise ValueError(f"train_seeds groups NB201 networks only, got space {space!r}; use train() per seed")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct integers, got {seeds!r}")
    if trainer.checkpoint_dir is not None or trainer.compile:
        raise ValueError("train_seeds has no checkpoints and no torch.compile; use train() per seed for those")
    run = trainer._setup(space, cell, dataset, epochs, "train_seeds()")
    preset, c, dataset, device = run.preset, run.cell, run.dataset, run.device
    fmt = torch.channels_last if run.channels_last else torch.contiguous_format

    nets = [run.network(seed) for seed in seeds]  # each seed's start, as train() draws it
    params = count_params(nets[0])
    flops = run.flops()
    model = GroupedNb201(nets).to(device).to(memory_format=fmt)
    del nets
    optimizer = make_optimizer(preset, model.parameters())
    g = len(seeds)

    train_batches, evals = run.batches()
    steps_per_epoch = train_batches.steps()
    total_steps = steps_per_epoch * preset.epochs
    histories = [[] for _ in seeds]
    with _torch_flags(run.deterministic, benchmark=device.type == "cuda", threads=trainer.threads):
        for epoch in range(preset.epochs):
            gens = [torch.Generator().manual_seed(_seed_from(s, _DATA_SALT, epoch)) for s in seeds]
            model.train()
            loss_sum = torch.zeros(g, device=device)
            correct = torch.zeros(g, dtype=torch.int64, device=device)
            seen = 0
            t0 = time.perf_counter()
            step = epoch * steps_per_epoch
            lr = preset.lr
            for batches in zip(*(train_batches.epoch(gen) for gen in gens)):
                lr = cosine_lr(preset.lr, step, total_steps, preset.zero_lr_first_step)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                x = torch.cat([xb for xb, _ in batches], 1).contiguous(memory_format=fmt)
                logits = model(x)
                losses = torch.stack([F.cross_entropy(logits[:, k], yb) for k, (_, yb) in enumerate(batches)])
                optimizer.zero_grad(set_to_none=True)
                losses.sum().backward()
                optimizer.step()
                n = batches[0][1].shape[0]
                loss_sum += losses.detach() * n
                correct += torch.stack([(logits[:, k].detach().argmax(1) == yb).sum()
                                        for k, (_, yb) in enumerate(batches)])
                seen += n
                step += 1
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            epoch_time = (time.perf_counter() - t0) / g  # the group's time, shared by its runs
            records = [{"epoch": epoch + 1, "train_loss": float(loss_sum[k]) / seen,
                        "train_acc": 100.0 * float(correct[k]) / seen, "lr": lr, "epoch_time": epoch_time}
                       for k in range(g)]
            t1 = time.perf_counter()
            model.eval()
            for name, batches in evals:
                e_loss = torch.zeros(g, device=device)
                e_correct = torch.zeros(g, dtype=torch.int64, device=device)
                with torch.no_grad():
                    for xb, yb in batches.epoch():
                        logits = model(xb.repeat(1, g, 1, 1).contiguous(memory_format=fmt))
                        for k in range(g):
                            e_loss[k] += F.cross_entropy(logits[:, k], yb) * yb.shape[0]
                            e_correct[k] += (logits[:, k].argmax(1) == yb).sum()
                for k in range(g):
                    records[k][f"{name}_acc"] = 100.0 * float(e_correct[k]) / batches.n
                    records[k][f"{name}_loss"] = float(e_loss[k]) / batches.n
            eval_time = (time.perf_counter() - t1) / g
            for k, rec in enumerate(records):
                rec["eval_time"] = eval_time
                hist = histories[k]
                rec["train_time"] = epoch_time + (hist[-1]["train_time"] if hist else 0.0)
                hist.append(rec)
    label = c.to_string()
    return [TrainResult(space, label, dataset, seed, preset.epochs, params, flops, hist, preset.to_dict(),
                        None, 0, str(device)) for seed, hist in zip(seeds, histories)]
