"""Training presets of the published benchmarks, as data (docs: REFERENCE.md).

A preset is a :class:`Preset`: the network's macro settings and the training
recipe. Every field can be overridden by name (``build_network(...,
channels=4)``, ``Trainer(..., epochs=2, batch_size=64)``); an unknown name
is an error that lists the known ones.

Sources:

- NB101: google-research/nasbench ``nasbench/lib/config.py`` (defaults "exactly
  what is used during the exhaustive evaluation") and ``model_builder.py``:
  108 epochs, batch 256, RMSProp (TF semantics: decay 0.9, momentum 0.9,
  epsilon 1.0), base learning rate 0.1 scaled by ``tpu_num_shards`` = 2, cosine
  decay by step with the rate 0 at step 0, L2 weight decay 1e-4 on every
  trainable variable, BN decay 0.997, epsilon 1e-5. (REFERENCE.md says SGD;
  the official code says RMSProp, and that is what is used here.)
  Fidelity = the budget of a run: a 12-epoch result is a separate 12-epoch run
  whose schedule ends at epoch 12, with "halfway" metrics at epoch 6.
- NB201 "digits": the embedded default benchmark's recipe (see NB201_DIGITS).
- NB201: D-X-Y/AutoDL-Projects ``configs/nas-benchmark/hyper-opts/200E.config``
  and ``12E.config``: SGD, Nesterov momentum 0.9, lr 0.1, cosine annealing to
  0 (updated every iteration), weight decay 5e-4, batch 256, random crop
  (padding 4; 2 for ImageNet16) + horizontal flip. Fidelity = the epoch of
  the run (one run of 200 epochs gives fidelities 1..200). "hp12" is the
  12-epoch proxy: the same recipe with a schedule that ends at epoch 12.
- NAS-Bench-Macro: xiusu/NAS-Bench-Macro ``train/train.py`` defaults (see
  MACRO_OFFICIAL).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .._errors import InvalidSpecError

# Dataset split conventions (train/data.py), named after the benchmark that
# defined each; presets and the tables they made record these names.
SPLITS_NB101, SPLITS_NB201, SPLITS_THIRDS = "nb101", "nb201", "thirds"
SPLIT_CONVENTIONS = (SPLITS_NB101, SPLITS_NB201, SPLITS_THIRDS)


@dataclass(frozen=True)
class Preset:
    """Network settings and training recipe of one benchmark preset."""

    space: str
    name: str
    # ---- network
    network: dict = field(default_factory=dict)
    bn_momentum: float = 0.1  # torch convention: 1 - TF decay
    bn_eps: float = 1e-5
    init: str = "torch"  # "tf": the official TF initialisers (NB101)
    # ---- recipe
    epochs: int = 200
    batch_size: int = 256
    eval_batch_size: int = 1024
    optimizer: str = "sgd"  # "sgd" or "rmsprop_tf"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    rms_decay: float = 0.9
    rms_eps: float = 1.0
    zero_lr_first_step: bool = False
    augment: bool = True
    splits: str = "nb201"  # dataset split convention, see data.py
    fidelity: str = "epoch"  # "epoch": fidelity e = epoch e of one run; "budget": one run per fidelity
    halfway: bool = False  # record halfway_<metric> at the final fidelity (NB101)

    def replace(self, strict: bool = True, **overrides) -> "Preset":
        """A copy with fields changed; network keys (e.g. ``channels``) go into
        ``network``. ``strict=False`` ignores the network keys of the other
        space (one set of trainer overrides for both spaces)."""
        if not overrides:
            return self
        names = {f.name for f in dataclasses.fields(self)} - {"space", "name", "network"}
        net = dict(self.network)
        top = {}
        for key, value in overrides.items():
            if key in net or key == "in_channels":
                net[key] = value
            elif key in names:
                top[key] = value
            elif not strict and key in _NETWORK_KEYS:
                continue
            else:
                known = sorted(names | set(net) | {"in_channels"})
                raise TypeError(f"unknown setting {key!r} for the {self.space} {self.name!r} preset; "
                                f"known: {', '.join(known)}")
        return dataclasses.replace(self, network=net, **top)

    def to_dict(self) -> dict:
        """Every field as a plain dict (stored with each training result)."""
        return dataclasses.asdict(self)


NB101_OFFICIAL = Preset(
    space="nb101", name="official",
    network={"stem_channels": 128, "num_stacks": 3, "cells_per_stack": 3},
    bn_momentum=1.0 - 0.997, bn_eps=1e-5, init="tf",
    epochs=108, batch_size=256, optimizer="rmsprop_tf",
    lr=0.1 * 2,  # config learning_rate 0.1 x tpu_num_shards 2 (model_builder scales it)
    momentum=0.9, nesterov=False, weight_decay=1e-4, rms_decay=0.9, rms_eps=1.0,
    zero_lr_first_step=True, splits="nb101", fidelity="budget", halfway=True,
)

NB201_OFFICIAL = Preset(
    space="nb201", name="official",
    network={"channels": 16, "cells_per_stage": 5},
    epochs=200, batch_size=256, optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True,
    weight_decay=5e-4, splits="nb201", fidelity="epoch",
)

# The embedded default benchmark (tabular_data/, ``nasbench-suite generate``):
# a small flat macro on scikit-learn's 8x8 digits, split 600/600/597. With the
# official residual reduction blocks the network saturates digits (the cells
# are indistinguishable within seed noise); without them, at C=8 and one cell
# per stage, the cells spread over several points. Batch 50: on the 32 best of
# 250 random classes (2 seeds each) the seed-to-seed standard deviation of the
# final test accuracy averaged 0.75 points at 8 epochs (batch 100 x 10 epochs:
# 1.17; 50 x 6: 1.23; 64 x 7: 1.34; 50 x 10: 0.55 at 1.3x the cost of 50 x 8).
# 7 epochs (0.73 on 40 of the top 10%, seeds grouped) fits the whole table in
# the 4 core-hour budget; tabular_data/README.md has the measurements.
NB201_DIGITS = Preset(
    space="nb201", name="digits",
    network={"channels": 8, "cells_per_stage": 1, "reduction": "avgpool"},
    epochs=7, batch_size=50, eval_batch_size=600, optimizer="sgd", lr=0.1, momentum=0.9,
    nesterov=True, weight_decay=5e-4, augment=False, splits="thirds", fidelity="epoch",
)

# NAS-Bench-Macro (Su et al., CVPR 2021): the defaults of the authors'
# train/train.py, which made the benchmark: 50 epochs, batch 256, SGD momentum
# 0.9 (no Nesterov), lr 0.1 with cosine annealing over the 50 epochs (stepped
# per epoch there, per iteration here), weight decay 5e-4, random crop (padding
# 4) + flip, all 50k CIFAR-10 training images, evaluated on the test set. Their
# test_acc is the best test accuracy over the epochs, not the last epoch's.
MACRO_OFFICIAL = Preset(
    space="macro", name="official",
    network={"stem_channels": 32, "head_channels": 1280},
    epochs=50, batch_size=256, optimizer="sgd", lr=0.1, momentum=0.9, nesterov=False,
    weight_decay=5e-4, splits=SPLITS_NB201, fidelity="epoch",
)

#: The training presets by (space, name): ``"official"`` (also spelt by its
#: epoch count: NB101 ``"108"``, NB201 ``"200"``, macro ``"50"``) is the
#: benchmark's own protocol; NB201 also has ``"hp12"`` (``"12"``, the 12-epoch
#: proxy) and ``"digits"``. :func:`get_preset` looks them up.
PRESETS = {
    ("macro", "official"): MACRO_OFFICIAL,
    ("macro", "50"): MACRO_OFFICIAL,
    ("nb101", "official"): NB101_OFFICIAL,
    ("nb101", "108"): NB101_OFFICIAL,
    ("nb201", "official"): NB201_OFFICIAL,
    ("nb201", "200"): NB201_OFFICIAL,
    ("nb201", "hp12"): dataclasses.replace(NB201_OFFICIAL, name="hp12", epochs=12),
    ("nb201", "12"): dataclasses.replace(NB201_OFFICIAL, name="hp12", epochs=12),
    ("nb201", "digits"): NB201_DIGITS,
}


#: The spaces the trainer has presets for.
SPACES = tuple(sorted({space for space, _ in PRESETS}))
_NETWORK_KEYS = frozenset(k for p in PRESETS.values() for k in p.network)


def check_space(space) -> str:
    if space not in SPACES:
        raise InvalidSpecError(f"unknown search space {space!r}; the trainer knows {', '.join(SPACES)}")
    return space


def get_preset(space: str, preset="official", strict: bool = True, **overrides) -> Preset:
    """The preset ``preset`` of ``space`` (a name or a :class:`Preset`), with
    overrides (``strict=False``: network settings of the other space are ignored)."""
    check_space(space)
    if isinstance(preset, Preset):
        if preset.space != space:
            raise ValueError(f"preset {preset.name!r} is for {preset.space}, not {space}")
        base = preset
    else:
        try:
            base = PRESETS[(space, str(preset))]
        except KeyError:
            names = sorted(n for s, n in PRESETS if s == space)
            raise ValueError(f"unknown preset {preset!r} for {space}; known: {', '.join(names)}") from None
    return base.replace(strict=strict, **overrides)
