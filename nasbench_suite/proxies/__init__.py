"""Zero-cost proxies: scores of an untrained network that predict its trained accuracy
(needs the ``train`` extra: PyTorch).

- :data:`PROXIES`: the 13 proxies by name (one function each in
  :mod:`.measures`, the paper in its docstring): ``params``, ``flops``,
  ``synflow``, ``snip``, ``grasp``, ``fisher``, ``grad_norm``, ``jacov``,
  ``nwot``, ``zen``, ``epe_nas``, ``l2_norm``, ``plain``.
- :func:`compute` / :func:`compute_many`: the proxies of a network, given as a
  ``torch`` module or as a space and a cell (built by
  :func:`nasbench_suite.train.build_network`, for any space with a network
  builder).
- :func:`minibatch`: the fixed minibatch of a data set's training split;
  :func:`noise_batch`: the input of the data-free proxies.
- :mod:`.table`: the proxies of every row of a table, stored as static
  metrics ``zc_<name>`` (``nasbench-suite proxies``).

Deterministic: the network's weights are drawn inside
``torch.random.fork_rng`` from a seed derived from ``seed`` (the global
generator is left as it was), the minibatch is chosen by a
``numpy.random.Generator`` of ``seed`` from the preset's training split, and
every proxy that modifies the network gets a fresh copy of the same network
(:data:`READ_ONLY` ones read it as it is). Data-free proxies
(:data:`DATA_FREE`) need no data set files: only the input shape and class
count, known for every data set of :mod:`nasbench_suite.train.data`.

A proxy that is undefined for a network (no weights, a constant Jacobian of
a disconnected cell, a singular kernel, an overflow) gives NaN and logs the
reason on the ``nasbench_suite.proxies`` logger: it never stops a table run.
"""
from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass

import numpy as np

from ..train._torch import torch
from ..train.presets import SPLITS_NB201
from . import measures
from .measures import ProxyUndefined

log = logging.getLogger("nasbench_suite.proxies")

#: Every proxy by name -> its function ``fn(model, x, y, seed) -> float``.
PROXIES = {
    "params": measures.params, "flops": measures.flops, "synflow": measures.synflow,
    "snip": measures.snip, "grasp": measures.grasp, "fisher": measures.fisher,
    "grad_norm": measures.grad_norm, "jacov": measures.jacov, "nwot": measures.nwot,
    "zen": measures.zen, "epe_nas": measures.epe_nas, "l2_norm": measures.l2_norm,
    "plain": measures.plain,
}

#: The proxies that read no data (only the input's shape).
DATA_FREE = frozenset({"params", "flops", "synflow", "zen", "l2_norm"})

#: What each data-free proxy reads instead of data (the provenance's description).
DATA_FREE_INPUTS = {
    "params": "no input (the network's parameter count)",
    "flops": "no data (one all-zero input of the dataset's shape, to count multiply-accumulates)",
    "synflow": "no data (one input of ones of the dataset's shape, float64, |weights|, no BN)",
    "zen": "no data (Gaussian inputs of the dataset's shape and N(0, 1) weights, both drawn from the seed)",
    "l2_norm": "no input (the network's initial weights)",
}

#: The proxies that leave the network as they found it (no weight, mode or
#: gradient changed): :func:`compute_many` hands them the network itself, not a copy.
READ_ONLY = frozenset({"params", "flops"})

#: Image shape (C, H, W) and classes of each data set of ``train/data.py``,
#: so the data-free proxies need no data files.
DATASET_SHAPES = {
    "cifar10": ((3, 32, 32), 10), "cifar10-valid": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100),
    "ImageNet16-120": ((3, 16, 16), 120), "fashion-mnist": ((1, 28, 28), 10), "digits": ((1, 8, 8), 10),
}

#: Minibatch size of the data-dependent proxies (Abdelfattah et al. use 64 on NB201).
DEFAULT_BATCH = 64
_INIT_SALT, _BATCH_SALT, _DRAW_SALT = 0x5EED1, 0x5EED2, 0x5EED3


def check_names(names) -> list:
    """The proxy names as a list (a comma-separated string or a sequence);
    ValueError naming the known ones for an unknown or repeated name."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    if not names:
        raise ValueError(f"no proxy named; known: {', '.join(PROXIES)}")
    for n in names:
        if n not in PROXIES:
            raise ValueError(f"unknown proxy {n!r}; known: {', '.join(PROXIES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a proxy is named twice in {','.join(names)}")
    return names


@dataclass(frozen=True)
class Batch:
    """A minibatch: float images ``x`` (N, C, H, W), normalised as the trainer
    feeds them, and int64 labels ``y`` (None: noise for the data-free proxies)."""

    x: torch.Tensor
    y: torch.Tensor | None
    num_classes: int
    source: str  # how it was made, for the provenance

    def to(self, device) -> "Batch":
        """The batch on ``device``."""
        return Batch(self.x.to(device), None if self.y is None else self.y.to(device), self.num_classes,
                     self.source)


def _seed(seed: int, salt: int) -> int:
    return int(np.random.SeedSequence([int(seed), salt]).generate_state(1, np.uint64)[0] >> 1)


def minibatch(dataset: str, batch_size: int = DEFAULT_BATCH, seed: int = 0, splits: str = SPLITS_NB201,
              data_root=None, verify: bool = True) -> Batch:
    """``batch_size`` images of the training split of ``dataset`` (split by
    ``splits``, the preset's convention), drawn without replacement by a
    ``numpy.random.Generator`` of ``seed``, normalised as the trainer does
    (no augmentation). Raises DatasetNotFound naming where the files go."""
    from ..train.data import load_dataset

    data = load_dataset(dataset, data_root, splits, verify=verify)
    n = len(data.train)
    if not 1 <= int(batch_size) <= n:
        raise ValueError(f"batch_size must be between 1 and {n} (the training split of {dataset}), got {batch_size}")
    idx = np.sort(np.random.default_rng(_seed(seed, _BATCH_SALT)).choice(n, int(batch_size), replace=False))
    x = torch.from_numpy(data.train.x[idx]).float().div_(255.0)
    c = x.shape[1]
    mean = torch.tensor(data.mean, dtype=torch.float32).view(1, c, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float32).view(1, c, 1, 1)
    y = torch.from_numpy(data.train.y[idx]).long()
    return Batch((x - mean) / std, y, data.num_classes,
                 f"{batch_size} images of the {dataset} training split ({splits} splits), seed {seed}")


def noise_batch(shape, num_classes: int, batch_size: int = DEFAULT_BATCH, seed: int = 0) -> Batch:
    """A batch of standard Gaussian images of ``shape`` (C, H, W), no labels:
    what the data-free proxies read (its shape; ``zen`` draws its own)."""
    gen = torch.Generator().manual_seed(_seed(seed, _BATCH_SALT))
    x = torch.randn((int(batch_size), *[int(s) for s in shape]), generator=gen)
    return Batch(x, None, int(num_classes), f"{batch_size} Gaussian images {tuple(shape)}, seed {seed}")


def dataset_shape(dataset: str) -> tuple:
    """((C, H, W), classes) of a data set name of ``train/data.py``."""
    try:
        return DATASET_SHAPES[dataset]
    except KeyError:
        raise ValueError(f"unknown data set {dataset!r}: its input shape is not known; known: "
                         f"{', '.join(DATASET_SHAPES)}") from None


def network(space, cell, num_classes: int, in_channels: int, preset="official", seed: int = 0, **overrides):
    """The untrained network of ``cell`` (``build_network``), its weights
    drawn from ``seed`` inside ``fork_rng`` (the global generator untouched)."""
    from ..train.networks import build_network

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_seed(seed, _INIT_SALT))
        return build_network(space, cell, int(num_classes), preset, in_channels=int(in_channels), **overrides)


def _one(name: str, model, batch: Batch, seed: int):
    """(value, reason): NaN and why when the proxy is undefined for the network."""
    try:
        value = PROXIES[name](model, batch.x, batch.y, _seed(seed, _DRAW_SALT))
    except ProxyUndefined as exc:
        return math.nan, str(exc)
    except (RuntimeError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
        return math.nan, f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    if not math.isfinite(value):
        return math.nan, f"the score is {value} (not finite)"
    return float(value), None


def compute_many(names, model=None, *, space=None, cell=None, dataset: str | None = None, batch: Batch | None = None,
                 preset="official", seed: int = 0, batch_size: int = DEFAULT_BATCH, data_root=None,
                 device=None, reasons: dict | None = None, **overrides) -> dict:
    """The proxies ``names`` of one network: ``{name: float}`` (NaN where
    undefined, the reason logged and put in ``reasons`` if given).

    The network: ``model`` (a torch module, left unchanged: each proxy
    that modifies it gets a copy), or
    ``space`` and ``cell`` (built with ``preset`` and ``overrides``, weights
    from ``seed``). The input: ``batch``, else the :func:`minibatch` of
    ``dataset`` (the data-free proxies only need ``dataset``'s shape: no
    files), or for data-free proxies of a ``model`` with no dataset, noise
    of ``model``'s input shape given as ``batch``. ``device``: "cpu" (the
    default), "cuda", or a torch.device.
    """
    names = check_names(names)
    device = torch.device(device or "cpu")
    needs_data = [n for n in names if n not in DATA_FREE]
    if batch is None:
        if dataset is None:
            raise ValueError("name a dataset (or pass batch=): the proxies need its input shape"
                             + (f", and {', '.join(needs_data)} its images" if needs_data else ""))
        shape, classes = dataset_shape(dataset)
        if needs_data:
            from ..train.presets import get_preset

            sp = None if space is None else _space_name(space)
            splits = get_preset(sp, preset, strict=False).splits if sp is not None else SPLITS_NB201
            batch = minibatch(dataset, batch_size, seed, splits, data_root)
        else:
            batch = noise_batch(shape, classes, batch_size, seed)
    elif needs_data and batch.y is None:
        raise ValueError(f"{', '.join(needs_data)} need labelled images; the batch given is noise")
    ours = model is None  # built here: the last proxy that modifies it may have it rather than a copy
    if ours:
        if space is None or cell is None:
            raise ValueError("pass a model, or a space and a cell")
        model = network(space, cell, batch.num_classes, batch.x.shape[1], preset, seed, **overrides)
        label = f"{_space_name(space)} {cell}"
    else:
        label = type(model).__name__
    model = model.to(device)
    batch = batch.to(device)
    # The read-only proxies first, on the network itself; then every other one on a fresh
    # copy (the last of them, on a network built here, on the network: nothing reads it after).
    order = [n for n in names if n in READ_ONLY] + [n for n in names if n not in READ_ONLY]
    last_copy = next((n for n in reversed(order) if n not in READ_ONLY), None)
    was_training = model.training
    out = {}
    for name in order:
        net = model if name in READ_ONLY or (ours and name == last_copy) else copy.deepcopy(model)
        net.train()
        value, why = _one(name, net, batch, seed)
        if why is not None:
            log.warning("proxy %s of %s is NaN: %s", name, label, why)
            if reasons is not None:
                reasons[name] = why
        out[name] = value
    if not ours:
        model.train(was_training)
    return {name: out[name] for name in names}


def compute(name: str, model=None, **kwargs) -> float:
    """One proxy of one network (see :func:`compute_many` for the arguments);
    an unknown name raises ValueError listing the known ones."""
    return compute_many([name], model, **kwargs)[name]


def _space_name(space) -> str:
    from .. import spaces

    return space if isinstance(space, str) else spaces.get(space).name


__all__ = ["Batch", "DATASET_SHAPES", "DATA_FREE", "DATA_FREE_INPUTS", "DEFAULT_BATCH", "PROXIES", "READ_ONLY",
           "ProxyUndefined", "check_names", "compute", "compute_many", "dataset_shape", "minibatch", "network", "noise_batch"]
