"""``build_network``: the official network of a cell, and its size and cost."""
from __future__ import annotations

from .. import spaces
from .._errors import InvalidSpecError
from . import macro_net, nb101_net, nb201_net
from ._torch import nn, torch
from .nb101_net import tf_init_
from .presets import Preset, check_space, get_preset

#: Network module of each space: ``SPACE``, ``as_cell(cell)`` and
#: ``build(cell, num_classes, preset)``. One module per space in ``train/``.
NETWORKS = {m.SPACE.name: m for m in (macro_net, nb101_net, nb201_net)}


def network_module(space):
    """The network module of a space (``train/<space>_net.py``: ``SPACE``,
    ``as_cell``, ``build``), for a space name or object; InvalidSpecError
    naming the spaces the trainer builds when it has none."""
    name = check_space(spaces.get(space).name if not isinstance(space, str) else space)
    try:
        return NETWORKS[name]
    except KeyError:
        raise InvalidSpecError(f"no network builder for search space {name!r}; "
                               f"the trainer builds {', '.join(NETWORKS)}") from None


def as_cell(space, cell):
    """The space's Cell object for what a user may pass as a cell (see the
    space's network module: NB101 also takes a ``(matrix, ops)`` pair or the
    dict's JSON text; NB201 an arch string or an official index). Anything
    else raises InvalidSpecError."""
    return network_module(space).as_cell(cell)


def cell_label(space, cell) -> str:
    """A short stable name of a cell: the space's label (NB101 hash, NB201 arch string)."""
    return spaces.get(space).label(as_cell(space, cell))


def build_network(space, cell, num_classes: int, preset="official", **overrides) -> nn.Module:
    """The official network of ``cell`` in ``space`` (a registered name or
    space object with a network module in ``train/``).

    ``preset`` names the benchmark preset (or is a :class:`Preset`); keyword
    overrides change its network settings: NB101 ``stem_channels``,
    ``num_stacks``, ``cells_per_stack``; NB201 ``channels`` (C),
    ``cells_per_stage`` (N); both ``in_channels`` (3), ``bn_momentum``,
    ``bn_eps``, ``init``. Training settings are accepted and ignored, so one
    set of overrides serves :class:`Trainer` and this function.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    module = network_module(space)
    name = module.SPACE.name
    p = get_preset(name, preset, **overrides) if not isinstance(preset, Preset) or overrides else preset
    model = module.build(as_cell(name, cell), num_classes, p)
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
