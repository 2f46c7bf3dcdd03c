"""Official NB101 / NB201 networks: parameter and FLOP counts against the
published figures, shapes, and the errors a user can make.

Published figures used (see the report of issue 5 for where each is from):

- NB101 ``trainable_parameters`` (CIFAR-10, 10 classes) from the official
  data set: 8,555,530 for the first cell of ``hash_iterator()`` (its
  ``fixed_metrics`` are quoted in many repositories), 2,694,282 for the
  README's Inception-like cell (the official API's query output), and
  49,979,274, the largest in the space (quoted as ``MAX_TP``); the cell that
  has it was found by enumerating every cell with the official channel rule.
- NB201 ``params`` (millions, 6 decimals) and ``flop`` (millions) from the
  NB201 v1_1 archive (min/max over the space per data set): cifar10 0.073306
  / 1.531546 params and 7.78305 / 220.11969 flop; cifar100 0.079156 /
  1.537396 and 7.7889 / 220.12554; ImageNet16-120 0.080456 / 1.538696 and
  1.9534 / 55.03756. The extremes are the cells without any convolution
  and the all-``nor_conv_3x3`` cell.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench_suite import InvalidSpecError
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.train import build_network, count_flops, count_params, get_preset
from nasbench_suite.train.nb101_net import vertex_channels

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"

NB101_PUBLISHED = [
    # first cell of the official data set's hash_iterator()
    ([[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
      [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
     ["input", C3, MP, C3, C3, C1, "output"], 8_555_530),
    # the official README's Inception-like cell
    ([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
     ["input", C1, C3, C3, C3, MP, "output"], 2_694_282),
    # the largest network of the space
    ([[0, 1, 1, 1, 1, 0, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
     ["input", C3, C3, C3, C3, C3, "output"], 49_979_274),
]

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NO_CONV = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|avg_pool_3x3~2|",
]
# (classes, input shape, params min, params max, flop min, flop max): NB201 v1_1, millions.
NB201_PUBLISHED = [
    (10, (3, 32, 32), "0.073306", "1.531546", "7.78305", "220.11969"),
    (100, (3, 32, 32), "0.079156", "1.537396", "7.7889", "220.12554"),
    (120, (3, 16, 16), "0.080456", "1.538696", "1.9534", "55.03756"),
]


def _meta(space, cell, classes, **kw):
    """The network on the meta device: shapes and counts without memory or init time."""
    with torch.device("meta"):
        return build_network(space, cell, classes, init="torch", **kw)


@pytest.mark.parametrize("matrix,ops,expected", NB101_PUBLISHED)
def test_nb101_trainable_parameters_match_the_official_data(matrix, ops, expected):
    assert count_params(_meta("nb101", nb101.Cell(matrix, ops), 10)) == expected


def test_nb101_accepts_dicts_pairs_and_json():
    matrix, ops, expected = NB101_PUBLISHED[1]
    import json

    for form in ({"matrix": matrix, "ops": ops}, (matrix, ops), json.dumps({"matrix": matrix, "ops": ops})):
        assert count_params(_meta("nb101", form, 10)) == expected


@pytest.mark.parametrize("classes,shape,pmin,pmax,fmin,fmax", NB201_PUBLISHED)
def test_nb201_params_and_flops_match_the_official_extremes(classes, shape, pmin, pmax, fmin, fmax):
    big = _meta("nb201", ALL_CONV3, classes)
    assert f"{count_params(big) / 1e6:.6f}" == pmax
    assert count_flops(big, shape) == round(float(fmax) * 1e6)
    for arch in NO_CONV:
        small = _meta("nb201", arch, classes)
        assert f"{count_params(small) / 1e6:.6f}" == pmin
        assert count_flops(small, shape) == round(float(fmin) * 1e6)


def test_flops_on_a_real_network_equal_the_meta_count():
    net = build_network("nb201", ALL_CONV3, 10, channels=8)
    meta = _meta("nb201", ALL_CONV3, 10, channels=8)
    assert count_flops(net, (3, 16, 16)) == count_flops(meta, (3, 16, 16))


def test_nb201_params_are_additive_over_edges():
    # Pinned by the official extremes: each nor_conv_3x3 edge adds
    # (1.531546 - 0.073306) / 6 M; a nor_conv_1x1 edge adds 5 cells x
    # (C^2 + 2C) over C = 16, 32, 64; the other ops add nothing.
    per_conv3 = (1_531_546 - 73_306) // 6
    per_conv1 = 5 * sum(c * c + 2 * c for c in (16, 32, 64))
    rng = np.random.default_rng(0)
    for _ in range(6):
        cell = nb201.sample(rng)
        ops = cell.ops
        expected = 73_306 + per_conv3 * ops.count("nor_conv_3x3") + per_conv1 * ops.count("nor_conv_1x1")
        assert count_params(_meta("nb201", cell, 10)) == expected


def test_nb201_best_cifar10_cell_size():
    # The best CIFAR-10 cell (94.37% test) has five 3x3 convolutions and a skip:
    # 0.073306 + 5 x 0.243040 = 1.288506 M (derived from the figures above).
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert f"{count_params(_meta('nb201', best, 10)) / 1e6:.6f}" == "1.288506"


def test_nb201_cell_by_index_string_or_object():
    cell = nb201.Cell.from_index(123)
    a = build_network("nb201", cell, 10, channels=4, cells_per_stage=1)
    b = build_network("nb201", 123, 10, channels=4, cells_per_stage=1)
    c = build_network("nb201", cell.to_string(), 10, channels=4, cells_per_stage=1)
    assert count_params(a) == count_params(b) == count_params(c)


def test_vertex_channels_follow_the_official_rule():
    # Three vertices feed the output: 128 = 43 + 43 + 42, in vertex order.
    m = np.zeros((5, 5), int)
    m[0, 1:4] = 1
    m[1:4, 4] = 1
    assert vertex_channels(64, 128, m) == [64, 43, 43, 42, 128]
    # A vertex feeding only others takes its widest successor.
    m = np.array([[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    assert vertex_channels(32, 5, m) == [32, 3, 3, 2, 5]
    assert vertex_channels(32, 7, np.array([[0, 1], [0, 0]])) == [32, 7]


@pytest.mark.parametrize("space,cell", [
    ("nb101", NB101_PUBLISHED[1][:2]),
    ("nb101", ([[0, 1], [0, 0]], ["input", "output"])),
    ("nb201", ALL_CONV3),
    ("nb201", NO_CONV[0]),
])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 7, 7)])
def test_small_networks_run_forward_and_backward(space, cell, shape):
    kw = dict(stem_channels=8, num_stacks=2, cells_per_stack=1) if space == "nb101" else dict(
        channels=4, cells_per_stage=1)
    net = build_network(space, cell, 5, in_channels=shape[0], **kw)
    out = net(torch.randn(4, *shape))
    assert out.shape == (4, 5)
    out.sum().backward()


def test_overrides_change_the_network():
    small = build_network("nb201", ALL_CONV3, 10, channels=8, cells_per_stage=2)
    assert count_params(small) < count_params(build_network("nb201", ALL_CONV3, 10))
    p = get_preset("nb201", "hp12", batch_size=64)
    assert (p.epochs, p.batch_size, p.network["channels"]) == (12, 64, 16)
    assert get_preset("nb101").epochs == 108 and get_preset("nb201").epochs == 200


def test_count_flops_leaves_the_model_as_it_was():
    net = build_network("nb201", ALL_CONV3, 10, channels=4, cells_per_stage=1)
    net.train()
    count_flops(net)
    assert net.training
    assert not any(m._forward_hooks for m in net.modules())


@pytest.mark.parametrize("space,cell,err,match", [
    ("nb301", ALL_CONV3, InvalidSpecError, "unknown search space"),
    ("nb201", "|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", InvalidSpecError, "unknown op"),
    ("nb201", 15_625, InvalidSpecError, "index"),
    ("nb201", 2.5, InvalidSpecError, "NB201 cell"),
    ("nb101", "28cfc7874f6d200472e1a9dcd8650aa0", InvalidSpecError, "hash does not say"),
    ("nb101", {"matrix": [[0, 1], [0, 0]]}, InvalidSpecError, "'matrix' and 'ops'"),
    ("nb101", ([[0, 0], [0, 0]], ["input", "output"]), InvalidSpecError, None),
    ("nb101", ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"]), InvalidSpecError, None),
])
def test_unknown_spaces_and_cells_raise_invalid_spec(space, cell, err, match):
    with pytest.raises(err, match=match):
        build_network(space, cell, 10)


def test_network_module_is_the_spaces_builder():
    from nasbench_suite.train import network_module, nb201_net

    assert network_module("nb201") is nb201_net and network_module(nb201_net.SPACE) is nb201_net
    with pytest.raises(InvalidSpecError, match="unknown search space"):
        network_module("nb301")


def test_bad_settings_are_named():
    with pytest.raises(TypeError, match="unknown setting 'chanels'"):
        build_network("nb201", ALL_CONV3, 10, chanels=8)
    with pytest.raises(TypeError, match="stem_channels"):  # NB101 width on an NB201 network
        build_network("nb201", ALL_CONV3, 10, stem_channels=8)
    with pytest.raises(ValueError, match="unknown preset 'hp13'"):
        build_network("nb201", ALL_CONV3, 10, preset="hp13")
    with pytest.raises(ValueError, match="num_classes"):
        build_network("nb201", ALL_CONV3, 0)
    assert issubclass(InvalidSpecError, ValueError)
