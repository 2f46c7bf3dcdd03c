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
with itself on the same torch version and CPU. The training loop is in
:mod:`._grouped_run` (what ``Trainer.train_seeds`` runs); this module holds the
network only.

Why: the networks of the embedded digits benchmark have 8 channels, too few
for the CPU kernels to use their vector width. Two seeds in one network
double the channels at almost the same cost per layer, and halve the Python
and dispatch overhead per run.
"""
from __future__ import annotations

from ._torch import nn, torch
from .nb201_net import Nb201Cell, Nb201Network, ResidualReduction


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
