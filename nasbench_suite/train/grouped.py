"""Several seeds of one NB201 cell trained as one grouped network.

The networks of the seeds are built one by one, each with its seed's
initialisation exactly as :meth:`Trainer.train` builds it, and packed side by
side into one network whose convolutions have ``groups = len(seeds)``. Every
layer acts on each group's channels alone (grouped convolutions, per-channel
BN and pooling, a per-group linear head), the loss is the sum of the groups'
losses, and SGD updates each weight from its own gradient, so group ``k``
follows the same training as ``Trainer.train(..., seed=seeds[k])`` would: the
same initial weights, the same batches in the same order, the same
hyper-parameters. Only the floating-point rounding differs (other kernels), so
the numbers agree to rounding at first and drift apart like any two
implementations of the same run; a grouped run is reproducible bit for bit
with itself on the same torch version and CPU.

Why: the networks of the embedded digits benchmark have 8 channels, too few
for the CPU kernels to use their vector width. Two seeds in one network
double the channels at almost the same cost per layer, and halve the Python
and dispatch overhead per run.
"""
from __future__ import annotations

import time

from ._torch import nn, torch
from .nb201_net import Nb201Cell, Nb201Network, ResidualReduction
from .optim import cosine_lr, make_optimizer

F = torch.nn.functional


def _grouped_conv(convs: list) -> nn.Conv2d:
    c0 = convs[0]
    if c0.groups != 1 or c0.bias is not None:
        raise ValueError("only ungrouped convolutions without bias can be packed")
    g = len(convs)
    out = nn.Conv2d(c0.in_channels * g, c0.out_channels * g, c0.kernel_size, stride=c0.stride,
                    padding=c0.padding, bias=False, groups=g)
    with torch.no_grad():
        out.weight.copy_(torch.cat([c.weight for c in convs], 0))
    return out


def _grouped_bn(bns: list) -> nn.BatchNorm2d:
    b0 = bns[0]
    out = nn.BatchNorm2d(b0.num_features * len(bns), eps=b0.eps, momentum=b0.momentum)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(out, name).copy_(torch.cat([getattr(b, name) for b in bns], 0))
    return out


def _grouped_relu_conv_bn(mods: list) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(inplace=False), _grouped_conv([m[1] for m in mods]),
                         _grouped_bn([m[2] for m in mods]))


class _GroupedCell(nn.Module):
    forward = Nb201Cell.forward  # node j = sum of op(i->j)(node i), as the cell

    def __init__(self, cells: list):
        super().__init__()
        self.into = cells[0].into
        self.edges = nn.ModuleDict()
        for name, mod in cells[0].edges.items():
            if isinstance(mod, (nn.Identity, nn.AvgPool2d)):  # parameter-free and per channel
                self.edges[name] = mod
            else:
                self.edges[name] = _grouped_relu_conv_bn([c.edges[name] for c in cells])


class _GroupedReduction(nn.Module):
    forward = ResidualReduction.forward

    def __init__(self, blocks: list):
        super().__init__()
        self.conv_a = _grouped_relu_conv_bn([b.conv_a for b in blocks])
        self.conv_b = _grouped_relu_conv_bn([b.conv_b for b in blocks])
        self.shortcut = nn.Sequential(blocks[0].shortcut[0], _grouped_conv([b.shortcut[1] for b in blocks]))


class GroupedNb201(nn.Module):
    """``len(nets)`` NB201 networks of the same cell side by side.

    Input: ``(B, G * in_channels, H, W)``, group ``k``'s images in channels
    ``k * in_channels ...``; output: logits ``(B, G, classes)``.
    """

    def __init__(self, nets: list):
        super().__init__()
        if not nets or not all(isinstance(n, Nb201Network) for n in nets):
            raise ValueError("GroupedNb201 packs a non-empty list of Nb201Network")
        self.groups = len(nets)
        self.stem = nn.Sequential(_grouped_conv([n.stem[0] for n in nets]), _grouped_bn([n.stem[1] for n in nets]))
        layers = []
        for i, layer in enumerate(nets[0].cells):
            parts = [n.cells[i] for n in nets]
            if isinstance(layer, Nb201Cell):
                layers.append(_GroupedCell(parts))
            elif isinstance(layer, ResidualReduction):
                layers.append(_GroupedReduction(parts))
            else:  # the parameter-free 2x2 average pool
                layers.append(layer)
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(_grouped_bn([n.lastact[0] for n in nets]), nn.ReLU())
        self.weight = nn.Parameter(torch.stack([n.classifier.weight.detach() for n in nets]).clone())  # (G, K, C)
        self.bias = nn.Parameter(torch.stack([n.classifier.bias.detach() for n in nets]).clone())  # (G, K)

    def forward(self, x):
        h = self.lastact(self.cells(self.stem(x))).mean(dim=(2, 3))
        h = h.reshape(h.shape[0], self.groups, -1)
        return torch.einsum("bgc,gkc->bgk", h, self.weight) + self.bias


def train_seeds(trainer, space: str, cell, seeds, dataset: str | None = None, epochs: int | None = None):
    """``Trainer.train_seeds``: see there."""
    from .networks import count_params
    from .trainer import _DATA_SALT, TrainResult, _seed_from, _torch_flags

    if space != "nb201":
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
