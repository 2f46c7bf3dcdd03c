"""The NAS-Bench-101 network in PyTorch (Ying et al., ICML 2019).

Written from the description of google-research/nasbench
(``nasbench/lib/model_builder.py``, ``base_ops.py``, ``config.py``):

- stem: 3x3 conv (``stem_channels`` = 128 filters) + BN + ReLU;
- ``num_stacks`` = 3 stacks of ``cells_per_stack`` = 3 cells; before every
  stack but the first a 2x2 max-pool (stride 2, TF "same" padding) and the
  channel count doubles;
- inside a cell the output channels are split across the vertices that feed
  the output (the first ``C mod k`` of them get one channel more); a vertex
  that feeds only other vertices gets the largest channel count among its
  successors; tensors between interior vertices are summed (an input wider
  than the vertex is truncated to its first channels), tensors from the cell
  input arrive through a 1x1 conv-BN-ReLU projection, and the output is the
  concatenation of its interior predecessors plus, when the input feeds the
  output directly, a projection of the input;
- global average pool and a dense layer to the classes.

Convolutions have no bias; batch norm has a trainable scale and shift, as
``tf.layers.batch_normalization`` does, so the trainable parameter count is
the one in the official ``trainable_parameters`` field.
"""
from __future__ import annotations

import json
import math

import numpy as np

from .._errors import InvalidSpecError
from ..spaces import nb101
from ._torch import nn, torch

# base_ops.py: BN_MOMENTUM = 0.997 (TF's decay of the moving averages; torch's
# momentum is 1 - decay), BN_EPSILON = 1e-5.
TF_BN_MOMENTUM = 1.0 - 0.997
TF_BN_EPS = 1e-5
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


def vertex_channels(in_channels: int, out_channels: int, matrix: np.ndarray) -> list[int]:
    """Channels of every vertex of a pruned cell (model_builder's rule).

    ``matrix``: the pruned (V, V) 0/1 adjacency. Returns V counts: the input's,
    each interior vertex's, the output's.
    """
    m = np.asarray(matrix, dtype=np.int64)
    n = m.shape[0]
    ch = [0] * n
    ch[0], ch[n - 1] = in_channels, out_channels
    if n == 2:
        return ch
    fan_in = int(m[1:, n - 1].sum())  # interior vertices feeding the output
    base, extra = divmod(out_channels, fan_in)
    for v in range(1, n - 1):
        if m[v, n - 1]:
            ch[v] = base + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    # A vertex that only feeds other vertices takes the widest successor,
    # going backwards so successors are settled first.
    for v in range(n - 3, 0, -1):
        if not m[v, n - 1]:
            ch[v] = max((ch[d] for d in range(v + 1, n - 1) if m[v, d]), default=0)
    if any(c <= 0 for c in ch[1:n - 1]):
        raise ValueError(f"a vertex has no channels: {ch} (is the matrix pruned?)")
    return ch


def _conv_bn_relu(cin: int, cout: int, k: int, bn_momentum: float, bn_eps: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout, momentum=bn_momentum, eps=bn_eps),
        nn.ReLU(inplace=True),
    )


class Nb101Cell(nn.Module):
    """One NB101 module ("cell") at a given width."""

    def __init__(self, matrix: np.ndarray, ops, in_channels: int, out_channels: int,
                 bn_momentum: float = TF_BN_MOMENTUM, bn_eps: float = TF_BN_EPS):
        super().__init__()
        m = np.asarray(matrix, dtype=np.int64)
        n = m.shape[0]
        self.n = n
        self.channels = vertex_channels(in_channels, out_channels, m)
        # Python lists of ints (not tensors): the graph is static.
        self.preds = [[s for s in range(1, t) if m[s, t]] for t in range(n)]
        self.from_input = [bool(m[0, t]) for t in range(n)]
        self.to_output = [t for t in range(1, n - 1) if m[t, n - 1]]
        self.proj = nn.ModuleDict()
        self.ops = nn.ModuleDict()
        for t in range(1, n - 1):
            c = self.channels[t]
            if self.from_input[t]:
                self.proj[str(t)] = _conv_bn_relu(in_channels, c, 1, bn_momentum, bn_eps)
            op = ops[t]
            if op == CONV3X3:
                self.ops[str(t)] = _conv_bn_relu(c, c, 3, bn_momentum, bn_eps)
            elif op == CONV1X1:
                self.ops[str(t)] = _conv_bn_relu(c, c, 1, bn_momentum, bn_eps)
            elif op == MAXPOOL3X3:
                self.ops[str(t)] = nn.MaxPool2d(3, stride=1, padding=1)
            else:
                raise ValueError(f"unknown NB101 op {op!r} at vertex {t}")
        if self.from_input[n - 1]:
            self.proj[str(n - 1)] = _conv_bn_relu(in_channels, out_channels, 1, bn_momentum, bn_eps)

    def forward(self, x):
        n = self.n
        values = [x]
        for t in range(1, n - 1):
            c = self.channels[t]
            terms = [values[s] if values[s].shape[1] == c else values[s][:, :c] for s in self.preds[t]]
            if self.from_input[t]:
                terms.append(self.proj[str(t)](x))
            h = terms[0]
            for extra in terms[1:]:
                h = h + extra
            values.append(self.ops[str(t)](h))
        if not self.to_output:
            return self.proj[str(n - 1)](x)
        out = values[self.to_output[0]] if len(self.to_output) == 1 else torch.cat(
            [values[t] for t in self.to_output], dim=1)
        if self.from_input[n - 1]:
            out = out + self.proj[str(n - 1)](x)
        return out


class Nb101Network(nn.Module):
    """The NB101 network for one cell (``matrix``, ``ops`` pruned)."""

    def __init__(self, matrix, ops, num_classes: int, in_channels: int = 3, stem_channels: int = 128,
                 num_stacks: int = 3, cells_per_stack: int = 3, bn_momentum: float = TF_BN_MOMENTUM,
                 bn_eps: float = TF_BN_EPS):
        super().__init__()
        self.stem = _conv_bn_relu(in_channels, stem_channels, 3, bn_momentum, bn_eps)
        layers = []
        channels = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                # TF "same" max-pool = ceil_mode here (padding never wins a max).
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                out = channels * 2
            else:
                out = channels
            for _ in range(cells_per_stack):
                layers.append(Nb101Cell(matrix, ops, channels, out, bn_momentum, bn_eps))
                channels = out
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.cells(self.stem(x))
        return self.classifier(torch.flatten(x.mean(dim=(2, 3)), 1))


# P(Z < -2) for a unit normal: the lower end of the uniform draw below.
_PHI_MINUS_2 = 0.5 * (1.0 + math.erf(-2.0 / math.sqrt(2.0)))


@torch.no_grad()
def _trunc_normal_(w, std: float) -> None:
    """Normal(0, std) truncated at 2 std by the inverse CDF (torch's
    ``trunc_normal_`` does the same plus a clamp that costs ~10x here)."""
    w.uniform_(2.0 * _PHI_MINUS_2 - 1.0, 1.0 - 2.0 * _PHI_MINUS_2)
    w.erfinv_()
    w.mul_(math.sqrt(2.0) * std)


def tf_init_(model: nn.Module) -> None:
    """Initialises like the official TF code: convolutions with
    ``variance_scaling_initializer()`` (truncated normal, fan-in, scale 1),
    the dense layer with Glorot uniform and zero bias, BN with 1 and 0."""
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            fan_in = mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
            # 0.8796... = std of a unit normal truncated at +-2 (TF's correction).
            std = math.sqrt(1.0 / fan_in) / 0.87962566103423978
            _trunc_normal_(mod.weight, std)
        elif isinstance(mod, nn.Linear):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.ones_(mod.weight)
            nn.init.zeros_(mod.bias)


# ---------------------------------------------------------------- registration (train/networks.py)
SPACE = nb101.SPACE


def as_cell(cell) -> nb101.Cell:
    """An ``nb101.Cell``, a ``{"matrix", "ops"}`` dict, a ``(matrix, ops)``
    pair, or that dict as JSON text; anything else raises InvalidSpecError."""
    if isinstance(cell, nb101.Cell):
        return cell
    if isinstance(cell, str):
        text = cell.strip()
        if text.startswith("{"):
            try:
                cell = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidSpecError(f"NB101 cell text is not valid JSON: {exc}") from None
        else:
            raise InvalidSpecError(
                f"cannot build an NB101 network from {cell!r}: give an nb101.Cell, a "
                "{'matrix': ..., 'ops': ...} dict (or its JSON) or a (matrix, ops) pair; "
                "a module hash does not say which cell it is (Benchmark.cell(row) does)"
            )
    if isinstance(cell, dict):
        if "matrix" not in cell or "ops" not in cell:
            raise InvalidSpecError(f"an NB101 cell dict needs 'matrix' and 'ops', got keys {sorted(cell)}")
        return nb101.Cell(cell["matrix"], cell["ops"])
    if isinstance(cell, (tuple, list)) and len(cell) == 2:
        return nb101.Cell(cell[0], cell[1])
    raise InvalidSpecError(f"cannot use {type(cell).__name__} {cell!r} as an NB101 cell")


def build(cell: nb101.Cell, num_classes: int, preset) -> "Nb101Network":
    """The network of a cell under a resolved preset."""
    return Nb101Network(cell.pruned_matrix, cell.pruned_ops, num_classes, bn_momentum=preset.bn_momentum,
                        bn_eps=preset.bn_eps, **dict(preset.network))
