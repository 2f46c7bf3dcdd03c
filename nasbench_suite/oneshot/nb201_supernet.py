"""The NB201 supernet: every edge of the cell a mixed op over the 5 NB201 ops.

The macro skeleton is the one of :class:`~nasbench_suite.train.nb201_net.Nb201Network`
(stem, three stages of ``cells_per_stage`` cells, the residual reduction
block or the digits preset's 2x2 average pool between stages, BN-ReLU, global
pool, linear head), built from the same preset (``channels``,
``cells_per_stage``, ``reduction``, BN settings). Each cell of the supernet
has, on each of its 6 edges, one module per op (``none`` is a zero,
``skip_connect`` the identity, the two convolutions ReLU-conv-BN with their
own weights, ``avg_pool_3x3`` the pool), as the NB201 authors' ``SearchCell``
(D-X-Y/AutoDL-Projects, ``models/cell_searchs/search_cells.py``).

The architecture parameters ``alpha`` (6 edges x 5 ops) are one parameter
kept apart from the network weights: :meth:`Nb201Supernet.weight_parameters`
and :meth:`Nb201Supernet.arch_parameters` are disjoint, and every cell of the
network shares the same ``alpha`` (one cell is searched).

A forward pass takes the edges' op weights in one of three forms:

- ``mix``: a (6, 5) tensor; edge output = sum_k w[e, k] op_k(x) (DARTS, SETN's
  joint mode);
- ``path``: a tuple of 6 op indices; edge output = op(x), one op per edge
  (RSPS, ENAS, SETN's sampled paths, the derived network);
- ``gdas``: ``(hardwts, index)``: only op ``index[e]`` is computed, times
  ``hardwts[e, index[e]]``, plus the other entries of ``hardwts[e]`` (zeros
  in value, so the straight-through gradient reaches every alpha), as the
  GDAS authors' ``forward_gdas``.

:meth:`Nb201Supernet.discrete` reads out the stand-alone network of one cell
(:class:`~nasbench_suite.train.nb201_net.Nb201Network`) with the supernet's
weights for that cell's ops copied in; its forward equals the supernet's with
one-hot weights.
"""
from __future__ import annotations

from ..spaces import nb201
from ..train._torch import nn, torch
from ..train.nb201_net import EDGES, Nb201Network, _edge_op, skeleton

__all__ = ["OPS", "SPACE", "MixedEdge", "SupernetCell", "Nb201Supernet", "build_supernet"]

#: The 5 op names of an edge, in the order of alpha's columns (the space's order).
OPS = nb201.OPS
#: The search space the supernet covers.
SPACE = nb201.SPACE
NUM_EDGES = len(EDGES)


class _Zero(nn.Module):
    """The ``none`` op: x * 0 (the official Zero op at stride 1)."""

    def forward(self, x):
        return x.mul(0.0)


def _op(op: str, c: int, bn_momentum: float, bn_eps: float) -> nn.Module:
    """The stand-alone network's module of ``op`` (train/nb201_net.py), with a
    zero module for ``none``: the supernet's sum has a term for every op."""
    return _Zero() if op == "none" else _edge_op(op, c, bn_momentum, bn_eps)


class MixedEdge(nn.Module):
    """One edge: a module per op of :data:`OPS`, each with its own weights."""

    def __init__(self, c: int, bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        self.ops = nn.ModuleList(_op(op, c, bn_momentum, bn_eps) for op in OPS)

    def mix(self, x, w):
        """sum_k w[k] * op_k(x), for the 5 op weights ``w``."""
        out = None
        for k, op in enumerate(self.ops):
            term = w[k] * op(x)
            out = term if out is None else out + term
        return out

    def single(self, x, k: int):
        """op_k(x): the output of op ``k`` alone."""
        return self.ops[int(k)](x)

    def gdas(self, x, hardwts, k: int):
        """op_k(x) * hardwts[k] + the other entries of hardwts (GDAS's straight-through)."""
        k = int(k)
        out = self.ops[k](x) * hardwts[k]
        for j in range(len(self.ops)):
            if j != k:
                out = out + hardwts[j]
        return out


class SupernetCell(nn.Module):
    """An NB201 cell whose 6 edges (arch-string order) are :class:`MixedEdge`."""

    def __init__(self, c: int, bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(c, bn_momentum, bn_eps) for _ in EDGES)

    def forward(self, x, mode: str, arg):
        nodes = [x]
        for dst in (1, 2, 3):
            h = None
            for e, (src, d) in enumerate(EDGES):
                if d != dst:
                    continue
                edge = self.edges[e]
                if mode == "mix":
                    t = edge.mix(nodes[src], arg[e])
                elif mode == "path":
                    t = edge.single(nodes[src], arg[e])
                else:
                    hardwts, index = arg
                    t = edge.gdas(nodes[src], hardwts[e], index[e])
                h = t if h is None else h + t
            nodes.append(h)
        return nodes[3]


class Nb201Supernet(nn.Module):
    """The NB201 supernet (module docstring) for ``num_classes`` classes.

    Keyword arguments as :class:`~nasbench_suite.train.nb201_net.Nb201Network`:
    ``in_channels``, ``channels`` (C), ``cells_per_stage`` (N), BN settings,
    ``reduction`` ("residual" or "avgpool"). ``alpha`` starts at 1e-3 x a
    standard normal draw (the authors' initialisation) from torch's generator.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, channels: int = 16, cells_per_stage: int = 5,
                 bn_momentum: float = 0.1, bn_eps: float = 1e-5, reduction: str = "residual"):
        super().__init__()
        self.stem, layers, c = skeleton(lambda width: SupernetCell(width, bn_momentum, bn_eps), in_channels,
                                        channels, cells_per_stage, bn_momentum, bn_eps, reduction)
        self.config = dict(num_classes=num_classes, in_channels=in_channels, channels=channels,
                           cells_per_stage=cells_per_stage, bn_momentum=bn_momentum, bn_eps=bn_eps,
                           reduction=reduction)
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c, momentum=bn_momentum, eps=bn_eps), nn.ReLU())
        self.classifier = nn.Linear(c, num_classes)
        self.alpha = nn.Parameter(1e-3 * torch.randn(NUM_EDGES, len(OPS)))

    # ------------------------------------------------------------ parameters
    def weight_parameters(self) -> list:
        """The network weights (everything but :attr:`alpha`)."""
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def arch_parameters(self) -> list:
        """The architecture parameters: ``[alpha]`` (6 x 5)."""
        return [self.alpha]

    # --------------------------------------------------------------- forward
    def forward(self, x, mode: str = "mix", arg=None):
        """Logits of ``x``. ``mode="mix"``: ``arg`` = (6, 5) op weights
        (default: softmax of alpha per edge); ``"path"``: 6 op indices;
        ``"gdas"``: ``(hardwts, index)`` (module docstring)."""
        if mode not in ("mix", "path", "gdas"):
            raise ValueError(f"mode must be 'mix', 'path' or 'gdas', got {mode!r}")
        if arg is None:
            if mode != "mix":
                raise ValueError(f"mode {mode!r} needs its op choice (arg)")
            arg = torch.softmax(self.alpha, dim=-1)
        h = self.stem(x)
        for layer in self.cells:
            h = layer(h, mode, arg) if isinstance(layer, SupernetCell) else layer(h)
        h = self.lastact(h)
        return self.classifier(torch.flatten(h.mean(dim=(2, 3)), 1))

    def derive(self) -> nb201.Cell:
        """The cell of argmax alpha on each edge (DARTS's and GDAS's rule)."""
        idx = self.alpha.detach().argmax(dim=-1).tolist()
        return nb201.Cell([OPS[k] for k in idx])

    # ------------------------------------------------------------ discrete
    def discrete(self, cell) -> Nb201Network:
        """The stand-alone network of ``cell`` (a Cell, arch string or index)
        with this supernet's weights (and BN statistics) for its ops."""
        cell = SPACE.parse(cell)
        cfg = self.config
        net = Nb201Network(cell.ops, cfg["num_classes"], in_channels=cfg["in_channels"], channels=cfg["channels"],
                           cells_per_stage=cfg["cells_per_stage"], bn_momentum=cfg["bn_momentum"],
                           bn_eps=cfg["bn_eps"], reduction=cfg["reduction"])
        p = next(self.parameters())
        net = net.to(device=p.device, dtype=p.dtype)
        net.stem.load_state_dict(self.stem.state_dict())
        net.lastact.load_state_dict(self.lastact.state_dict())
        net.classifier.load_state_dict(self.classifier.state_dict())
        for mine, theirs in zip(self.cells, net.cells):
            if isinstance(mine, SupernetCell):
                for key, mod in theirs.edges.items():
                    e = int(key)
                    mod.load_state_dict(mine.edges[e].ops[OPS.index(cell.ops[e])].state_dict())
            else:
                theirs.load_state_dict(mine.state_dict())
        net.train(self.training)
        return net


def build_supernet(num_classes: int, preset) -> Nb201Supernet:
    """The supernet of a resolved NB201 training preset (its network settings
    and BN settings), as ``build_network`` builds the stand-alone networks."""
    return Nb201Supernet(num_classes, bn_momentum=preset.bn_momentum, bn_eps=preset.bn_eps, **dict(preset.network))
