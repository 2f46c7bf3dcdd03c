"""Training the architectures of the search spaces (needs the ``train`` extra: PyTorch).

- :func:`build_network`: the official NB101 / NB201 network of a cell;
  :func:`count_params`, :func:`count_flops`.
- :class:`Trainer`: the benchmark presets (NB101 108 epochs, NB201 200 epochs
  and the 12-epoch proxy), CIFAR-10/100, ImageNet16-120 and small offline
  data sets, per-epoch checkpoints and resumption, results into a table.
- :class:`Evaluator`: a table that trains the cells it misses (cache-through).

Nothing outside this package imports torch; importing it without PyTorch
raises an ImportError that says how to install the extra.
"""
from ._torch import torch  # noqa: F401  (the ImportError that names the extra)
from .data import DATASETS, Dataset, DatasetNotFound, load_dataset
from .evaluator import Evaluator, EvaluatorBenchmark
from .networks import as_cell, build_network, cell_label, count_flops, count_params, network_module
from .presets import PRESETS, Preset, get_preset
from .trainer import Trainer, TrainResult

__all__ = [
    "DATASETS", "Dataset", "DatasetNotFound", "Evaluator", "EvaluatorBenchmark", "PRESETS", "Preset",
    "TrainResult", "Trainer", "as_cell", "build_network", "cell_label", "count_flops", "count_params",
    "get_preset", "load_dataset", "network_module",
]
