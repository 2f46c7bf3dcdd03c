"""The NAS-Bench-201 network in PyTorch (Dong & Yang, ICLR 2020).

Written from the description of the authors' ``TinyNetwork`` / ``InferCell``
/ ``ResNetBasicblock`` (D-X-Y/AutoDL-Projects, ``models/cell_infers`` and
``models/cell_operations.py``):

- stem: 3x3 conv with C = 16 channels (no bias) + BN;
- three stages of N = 5 cells at C, 2C, 4C channels; between stages a
  residual reduction block: ReLU-conv3x3(stride 2)-BN, ReLU-conv3x3-BN, plus
  a shortcut of 2x2 average pooling (stride 2) and a 1x1 conv (no BN);
- a cell: node j = sum over i < j of op(i->j)(node i); ``nor_conv_kxk`` is
  ReLU-conv-BN, ``avg_pool_3x3`` a 3x3 average pool (stride 1, padding not
  counted), ``skip_connect`` the identity, ``none`` a zero;
- BN + ReLU, global average pool, linear classifier.

``reduction="avgpool"`` (the embedded digits benchmark, preset
``nb201/digits``) replaces each residual reduction block by a parameter-free
2x2 average pool and keeps the width C in every stage.

Every op of the cell has its own weights, including ops whose input is
always zero, as in the official network, so parameter counts match the
published ``params``.
"""
from __future__ import annotations

from ..spaces import nb201
from ._torch import nn, torch

EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, bn_momentum: float = 0.1,
                 bn_eps: float = 1e-5):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout, momentum=bn_momentum, eps=bn_eps),
        )


def _edge_op(op: str, c: int, bn_momentum: float, bn_eps: float) -> nn.Module | None:
    """The module of an edge (None for ``none``: it adds nothing to the sum)."""
    if op == "none":
        return None
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, bn_momentum, bn_eps)
    if op == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, bn_momentum, bn_eps)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 op {op!r}")


class Nb201Cell(nn.Module):
    """One NB201 cell (6 edges in arch-string order) at ``c`` channels."""

    def __init__(self, ops, c: int, bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        self.edges = nn.ModuleDict()
        self.into: list[list[tuple[int, str]]] = [[], [], [], []]
        for e, ((src, dst), op) in enumerate(zip(EDGES, ops)):
            mod = _edge_op(op, c, bn_momentum, bn_eps)
            if mod is not None:
                self.edges[str(e)] = mod
                self.into[dst].append((src, str(e)))

    def forward(self, x):
        nodes = [x]
        for dst in (1, 2, 3):
            terms = [self.edges[e](nodes[src]) for src, e in self.into[dst]]
            if not terms:
                # All-``none`` inputs: the official Zero op returns x * 0.
                nodes.append(torch.zeros_like(x))
                continue
            h = terms[0]
            for t in terms[1:]:
                h = h + t
            nodes.append(h)
        return nodes[3]


class ResidualReduction(nn.Module):
    """The reduction block between stages (``ResNetBasicblock``, stride 2)."""

    def __init__(self, cin: int, cout: int, bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, bn_momentum, bn_eps)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, bn_momentum, bn_eps)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2, ceil_mode=True),
                                      nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def skeleton(make_cell, in_channels: int, channels: int, cells_per_stage: int, bn_momentum: float,
             bn_eps: float, reduction: str):
    """The NB201 macro skeleton up to the last cell, built in this order (so
    that seeded initial weights are the same wherever it is used): the stem,
    then 3 stages of ``cells_per_stage`` cells ``make_cell(width)`` with a
    reduction block before stages 2 and 3 (``"residual"``: the official
    block, doubling the width; ``"avgpool"``: halve the resolution, keep the
    width). Returns (stem, the list of stage modules, the last width)."""
    if reduction not in ("residual", "avgpool"):
        raise ValueError(f"reduction must be 'residual' (the official block) or 'avgpool', got {reduction!r}")
    c = channels
    stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c, momentum=bn_momentum, eps=bn_eps))
    layers = []
    for stage in range(3):
        if stage > 0 and reduction == "residual":
            layers.append(ResidualReduction(c, 2 * c, bn_momentum, bn_eps))
            c *= 2
        elif stage > 0:  # parameter-free: halve the resolution, keep the width
            layers.append(nn.AvgPool2d(2, stride=2, ceil_mode=True))
        layers.extend(make_cell(c) for _ in range(cells_per_stage))
    return stem, layers, c


class Nb201Network(nn.Module):
    """The NB201 network for one cell (6 op names in arch-string order)."""

    def __init__(self, ops, num_classes: int, in_channels: int = 3, channels: int = 16,
                 cells_per_stage: int = 5, bn_momentum: float = 0.1, bn_eps: float = 1e-5,
                 reduction: str = "residual"):
        super().__init__()
        self.stem, layers, c = skeleton(lambda width: Nb201Cell(ops, width, bn_momentum, bn_eps), in_channels,
                                        channels, cells_per_stage, bn_momentum, bn_eps, reduction)
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c, momentum=bn_momentum, eps=bn_eps), nn.ReLU())
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(x.mean(dim=(2, 3)), 1))


# ---------------------------------------------------------------- registration (train/networks.py)
SPACE = nb201.SPACE


def as_cell(cell) -> nb201.Cell:
    """An ``nb201.Cell``, an arch string or an official index (``SPACE.parse``)."""
    return SPACE.parse(cell)


def build(cell: nb201.Cell, num_classes: int, preset) -> "Nb201Network":
    """The network of a cell under a resolved preset."""
    return Nb201Network(cell.ops, num_classes, bn_momentum=preset.bn_momentum, bn_eps=preset.bn_eps,
                        **dict(preset.network))
