"""``build_network``: the official network of a cell, and its size and cost."""
from __future__ import annotations

import json

import numpy as np

from .._errors import InvalidSpecError
from ..spaces import nb101, nb201
from ._torch import nn, torch
from .nb101_net import Nb101Network, tf_init_
from .nb201_net import Nb201Network
from .presets import Preset, check_space, get_preset


def as_cell(space: str, cell):
    """The space's Cell object for what a user may pass as a cell.

    NB101: an ``nb101.Cell``, a ``{"matrix", "ops"}`` dict, a ``(matrix, ops)``
    pair, or that dict as JSON text. NB201: an ``nb201.Cell``, an arch string
    or an official index. Anything else raises InvalidSpecError.
    """
    check_space(space)
    if space == "nb101":
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
    if isinstance(cell, nb201.Cell):
        return cell
    if isinstance(cell, str):
        return nb201.Cell.from_string(cell)
    if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
        return nb201.Cell.from_index(int(cell))
    raise InvalidSpecError(
        f"cannot use {type(cell).__name__} {cell!r} as an NB201 cell: give an nb201.Cell, "
        "an arch string or an official index"
    )


def cell_label(space: str, cell) -> str:
    """A short stable name of a cell: the NB101 hash or the NB201 arch string."""
    c = as_cell(space, cell)
    return c.hash() if space == "nb101" else c.to_string()


def build_network(space: str, cell, num_classes: int, preset="official", **overrides) -> nn.Module:
    """The official network of ``cell`` in ``space`` ("nb101" or "nb201").

    ``preset`` names the benchmark preset (or is a :class:`Preset`); keyword
    overrides change its network settings: NB101 ``stem_channels``,
    ``num_stacks``, ``cells_per_stack``; NB201 ``channels`` (C),
    ``cells_per_stage`` (N); both ``in_channels`` (3), ``bn_momentum``,
    ``bn_eps``, ``init``. Training settings are accepted and ignored, so one
    set of overrides serves :class:`Trainer` and this function.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    p = get_preset(space, preset, **overrides) if not isinstance(preset, Preset) or overrides else preset
    c = as_cell(space, cell)
    net = dict(p.network)
    if space == "nb101":
        model = Nb101Network(c.pruned_matrix, c.pruned_ops, num_classes, bn_momentum=p.bn_momentum,
                             bn_eps=p.bn_eps, **net)
    else:
        model = Nb201Network(c.ops, num_classes, bn_momentum=p.bn_momentum, bn_eps=p.bn_eps, **net)
    if p.init == "tf":
        tf_init_(model)
    elif p.init != "torch":
        raise ValueError(f"unknown init {p.init!r}; use 'tf' or 'torch'")
    return model


def count_params(model: nn.Module) -> int:
    """Trainable parameters (the official ``trainable_parameters`` / ``params``)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def count_flops(model: nn.Module, input_shape=(3, 32, 32)) -> int:
    """Multiply-accumulates of one forward pass on one image of ``input_shape``
    (C, H, W), counted as NB201 counts its ``flop``: every convolution
    (kernel x in x out / groups per output position, plus the bias) and every
    linear layer (in x out, plus the bias); pooling, BN and additions are free.
    NB201 publishes this number in millions."""
    total = 0

    def conv_hook(mod, inputs, out):
        nonlocal total
        kh, kw = mod.kernel_size
        per_pos = kh * kw * mod.in_channels * mod.out_channels // mod.groups
        positions = out.shape[0] * out.shape[2] * out.shape[3]
        total += per_pos * positions + (mod.out_channels * positions if mod.bias is not None else 0)

    def linear_hook(mod, inputs, out):
        nonlocal total
        rows = out.numel() // mod.out_features
        total += rows * (mod.in_features * mod.out_features + (mod.out_features if mod.bias is not None else 0))

    handles = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        p = next(model.parameters(), None)
        x = torch.zeros((1, *input_shape), device=p.device if p is not None else "cpu")
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total)
