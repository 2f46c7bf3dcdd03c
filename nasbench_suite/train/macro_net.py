"""The NAS-Bench-Macro network in PyTorch (Su et al., CVPR 2021).

Written from the description of the authors' ``train/model.py``
(xiusu/NAS-Bench-Macro; layout constants in :mod:`nasbench_suite.spaces.macro`):

- stem: 3x3 conv, 3 -> 32 channels (no bias), BN, ReLU;
- 8 layers in stages of 2, 3, 3; a stage's first layer has stride 2 and
  doubles the channels (64, 128, 256), the others keep the shape;
- choice 1 / 2: a MobileNetV2 inverted residual block, expansion t and kernel
  k (3/3, 6/5): 1x1 conv to ``round(t * C_in)`` channels, BN, ReLU; k x k
  depthwise conv (the layer's stride), BN, ReLU; 1x1 conv to C_out, BN; plus
  the input when the shapes match (stride 1);
- choice 0: the identity where the shapes match; at a stage's first layer a
  1x1 conv with stride 2 + BN (the authors' ``Identity`` with downsample);
- head: 1x1 conv to 1280 channels, BN, ReLU, global average pool, linear
  classifier (with bias).

Convolutions have no bias. :func:`count` gives the parameter count and the
FLOPs without building the network, as the authors count them (``params``:
every parameter, BN included; ``flops``: multiply-accumulates of the conv and
linear weights, no biases); they equal the public JSON's ``params`` and
``flops`` for all 6,561 architectures (``scripts/macro_counts.py``,
``reports/macro/counts.md``). The suite's :func:`~nasbench_suite.train.count_flops`
also counts the classifier's bias additions: ``num_classes`` more.
"""
from __future__ import annotations

from ..spaces import macro
from ._torch import nn, torch

__all__ = ["MacroNetwork", "SPACE", "as_cell", "build", "count"]


def _shapes(stem_channels: int, input_size: int):
    """(in, out, stride, input size, output size) of each of the 8 layers."""
    out, c, size = [], stem_channels, input_size
    for layer in range(macro.NUM_LAYERS):
        stride = 2 if layer in macro.REDUCTION_LAYERS else 1
        cout = 2 * c if stride == 2 else c
        osize = (size - 1) // stride + 1  # 'same' padding: k // 2 for odd k, 0 for the 1x1
        out.append((c, cout, stride, size, osize))
        c, size = cout, osize
    return out


class InvertedResidual(nn.Module):
    """MobileNetV2 block: expand (1x1), depthwise (k x k, stride), project (1x1)."""

    def __init__(self, cin: int, cout: int, stride: int, kernel: int, expansion: int,
                 bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        hidden = round(cin * expansion)
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden, momentum=bn_momentum, eps=bn_eps),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, kernel, stride, padding=kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden, momentum=bn_momentum, eps=bn_eps),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout, momentum=bn_momentum, eps=bn_eps),
        )
        self.residual = cin == cout and stride == 1

    def forward(self, x):
        return self.conv(x) + x if self.residual else self.conv(x)


def _layer(code: int, cin: int, cout: int, stride: int, bn_momentum: float, bn_eps: float) -> nn.Module:
    if code == 0:
        if stride == 1 and cin == cout:
            return nn.Identity()
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                             nn.BatchNorm2d(cout, momentum=bn_momentum, eps=bn_eps))
    kernel, expansion = macro.BLOCKS[code]
    return InvertedResidual(cin, cout, stride, kernel, expansion, bn_momentum, bn_eps)


class MacroNetwork(nn.Module):
    """The NAS-Bench-Macro network of 8 choice codes."""

    def __init__(self, codes, num_classes: int, in_channels: int = 3,
                 stem_channels: int = macro.STEM_CHANNELS, head_channels: int = macro.HEAD_CHANNELS,
                 bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        codes = list(codes)
        if len(codes) != macro.NUM_LAYERS:
            raise ValueError(f"a NAS-Bench-Macro network has {macro.NUM_LAYERS} layers, got {len(codes)}")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_channels, momentum=bn_momentum, eps=bn_eps),
                                  nn.ReLU(inplace=True))
        shapes = _shapes(stem_channels, macro.INPUT_SIZE)
        self.features = nn.Sequential(*(_layer(code, cin, cout, stride, bn_momentum, bn_eps)
                                        for code, (cin, cout, stride, _, _) in zip(codes, shapes)))
        c = shapes[-1][1]
        self.head = nn.Sequential(nn.Conv2d(c, head_channels, 1, bias=False),
                                  nn.BatchNorm2d(head_channels, momentum=bn_momentum, eps=bn_eps),
                                  nn.ReLU(inplace=True))
        self.classifier = nn.Linear(head_channels, num_classes)

    def forward(self, x):
        x = self.head(self.features(self.stem(x)))
        return self.classifier(torch.flatten(x.mean(dim=(2, 3)), 1))


def count(cell, num_classes: int = 10, in_channels: int = 3, input_size: int = macro.INPUT_SIZE,
          stem_channels: int = macro.STEM_CHANNELS, head_channels: int = macro.HEAD_CHANNELS) -> tuple[int, int]:
    """``(params, flops)`` of the network of ``cell`` (anything
    ``macro.SPACE.parse`` takes), counted without building it, as the
    benchmark counts them: params = every parameter (BN scale and shift
    included); flops = multiply-accumulates of the conv and linear weights on
    one ``in_channels`` x ``input_size``^2 image (no biases, BN, pooling or
    additions). The defaults give the JSON's ``params`` and ``flops``."""
    codes = macro.SPACE.parse(cell).codes
    params = in_channels * stem_channels * 9 + 2 * stem_channels
    flops = in_channels * stem_channels * 9 * input_size * input_size
    shapes = _shapes(stem_channels, input_size)
    for code, (cin, cout, stride, size, osize) in zip(codes, shapes):
        if code == 0:
            if stride != 1 or cin != cout:  # 1x1 conv + BN
                params += cin * cout + 2 * cout
                flops += cin * cout * osize * osize
            continue
        kernel, expansion = macro.BLOCKS[code]
        hidden = round(cin * expansion)
        params += cin * hidden + hidden * kernel * kernel + hidden * cout + 2 * (2 * hidden + cout)
        flops += cin * hidden * size * size + (hidden * kernel * kernel + hidden * cout) * osize * osize
    c, size = shapes[-1][1], shapes[-1][4]
    params += c * head_channels + 2 * head_channels + head_channels * num_classes + num_classes
    flops += c * head_channels * size * size + head_channels * num_classes
    return params, flops


# ---------------------------------------------------------------- registration (train/networks.py)
SPACE = macro.SPACE


def as_cell(cell) -> macro.Cell:
    """A ``macro.Cell``, a label such as ``"01201122"``, an index or 8 choices (``SPACE.parse``)."""
    return SPACE.parse(cell)


def build(cell: macro.Cell, num_classes: int, preset) -> MacroNetwork:
    """The network of a cell under a resolved preset."""
    return MacroNetwork(cell.codes, num_classes, bn_momentum=preset.bn_momentum, bn_eps=preset.bn_eps,
                        **dict(preset.network))
