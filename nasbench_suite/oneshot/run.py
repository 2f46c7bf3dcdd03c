"""``run_oneshot``: one one-shot search, scored by a table, as a :class:`Trajectory`.

After every supernet epoch the trajectory gets one row: the derived cell, its
table value of the search metric (``value``, ``incumbent_value``) and of the
report metric (``incumbent_report``), the measured seconds of the epoch
(``cost``) and the measured seconds so far (``time``). The incumbent is the
cell the method derives at that epoch (a one-shot method does not see the
table, so it is not the best cell so far by the table). Table values are the
mean over the table's repeats. ``meta`` says ``one_shot: true`` and its
``cost_model`` that the time axis is measured seconds of the search.
"""
from __future__ import annotations

import numpy as np

from .. import spaces
from ..runner.trajectory import Trajectory
from ..train._torch import torch
from ..train.data import load_dataset
from ..train.presets import get_preset
from . import METHOD_NAMES, _method
from .darts import DartsV1, DartsV2
from .enas import Enas
from .gdas import Gdas
from .nb201_supernet import SPACE
from .rsps import Rsps
from .setn import Setn

__all__ = ["METHODS", "make_method", "default_epochs", "run_oneshot", "cost_model_text"]

#: The one-shot methods by name.
METHODS = {cls.name: cls for cls in (DartsV1, DartsV2, Gdas, Setn, Enas, Rsps)}
assert tuple(METHODS) == METHOD_NAMES


def make_method(name: str, **hyperparameters) -> _method.OneShotMethod:
    """The method ``name`` with its hyper-parameters (ValueError for an unknown name)."""
    if name not in METHODS:
        raise ValueError(f"unknown one-shot method {name!r}; known: {', '.join(METHODS)}")
    cls = METHODS[name]
    return cls(**hyperparameters) if hyperparameters else cls()


def default_epochs(name: str, dataset: str) -> int:
    """The method's supernet epochs: its paper's on a CIFAR / ImageNet16
    data set, one fifth of them on digits (docs/ONESHOT.md says why)."""
    cls = METHODS[name] if name in METHODS else make_method(name).__class__
    return cls.digits_epochs if dataset == "digits" else cls.paper_epochs


def cost_model_text(device: str) -> str:
    """The words of a one-shot run's time axis."""
    return f"measured: seconds of the one-shot supernet search on {device} (not a table's cost)"


def run_oneshot(method, space=None, dataset: str = "digits", seed: int = 0, epochs: int | None = None,
                table=None, table_dataset: str | None = None, search_metric: str = "valid_acc",
                report_metric: str = "test_acc", preset=None, data_root=None, device=None,
                threads: int | None = None, checkpoint_dir=None, verify_data: bool = True, on_epoch=None,
                **hyperparameters) -> Trajectory:
    """Runs one-shot ``method`` (a name of :data:`METHODS`) on ``dataset``
    with ``seed`` for ``epochs`` supernet epochs (default
    :func:`default_epochs`) and returns its :class:`Trajectory`.

    ``space``: the supernet's space (None or its name; only the NB201 space
    has a supernet). ``table``: a :class:`~nasbench_suite.tables.Benchmark`
    or table path that scores every derived cell (None: values NaN), on
    ``table_dataset`` (default: ``dataset``) by ``search_metric`` and
    ``report_metric`` (``name`` or ``name@epochs``; no epochs: the highest
    fidelity). ``preset``: the training preset whose network and splits the
    supernet uses (default ``"digits"`` on digits, else ``"official"``).
    ``threads``: CPU threads (a CPU run is reproducible for a given count).
    ``checkpoint_dir``: per-epoch checkpoints; the same call resumes.
    ``on_epoch(row)`` is called after each epoch. Hyper-parameters go to the method.
    """
    sp = SPACE if space is None else spaces.get(space)
    if sp is not SPACE:
        raise ValueError(f"one-shot search needs a supernet; there is one for the {SPACE.name} space only, "
                         f"not {sp.name}")
    if isinstance(seed, bool) or int(seed) != seed:
        raise ValueError(f"seed must be an integer, got {seed!r}")
    seed = int(seed)
    m = make_method(method, **hyperparameters)
    epochs = default_epochs(method, dataset) if epochs is None else int(epochs)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    p = get_preset(SPACE.name, preset if preset is not None else ("digits" if dataset == "digits" else "official"))
    bench, tds, s_name, s_fid, r_name, r_fid = _scorer(table, table_dataset or dataset, search_metric, report_metric)
    data = load_dataset(dataset, data_root, p.splits, verify=verify_data)
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    recipe = _method.SearchRecipe()
    ckpt = None
    if checkpoint_dir is not None:
        import os

        settings = {"preset": p.to_dict(), "recipe": recipe.to_dict(), "hp": m.hyperparameters(),
                    "device": dev.type, "threads": threads}
        ckpt = os.path.join(os.fspath(checkpoint_dir), _method.checkpoint_name(method, dataset, seed, epochs, settings))
    ran = []

    def each_epoch(row):
        ran.append(row.epoch)
        if on_epoch is not None:
            on_epoch(row)

    rows = _method.search(m, data, p, seed, epochs, device=dev, threads=threads, checkpoint=ckpt, recipe=recipe,
                          on_epoch=each_epoch)
    cells = [r.cell for r in rows]
    if bench is not None:
        value = np.asarray(bench.query(cells, s_name, s_fid, tds), dtype=np.float64)
        report = np.asarray(bench.query(cells, r_name, r_fid, tds), dtype=np.float64)
    else:
        value = report = np.full(len(cells), np.nan)
    cost = np.asarray([r.seconds for r in rows], dtype=np.float64)
    meta = {
        "benchmark": None if bench is None else bench.path, "space": SPACE.name, "dataset": tds,
        "train_dataset": dataset, "strategy": method, "seed": seed, "one_shot": True,
        "budget": {"epochs": epochs}, "search_metric": None if bench is None else f"{s_name}@{s_fid:g}",
        "report_metric": None if bench is None else f"{r_name}@{r_fid:g}", "n_workers": 1,
        "include_strategy_time": True, "strategy_kwargs": dict(hyperparameters),
        "hyperparameters": m.hyperparameters(), "recipe": recipe.to_dict(), "preset": p.name,
        "device": str(dev), "threads": threads if threads is not None else torch.get_num_threads(),
        "resumed_epochs": len(rows) - len(ran), "alpha": [r.alpha for r in rows],
        "cost_model": cost_model_text(dev.type),
    }
    return Trajectory(time=np.cumsum(cost), cell=cells, fidelity=np.full(len(cells), np.nan if bench is None
                                                                          else s_fid),
                      value=value, cost=cost, incumbent=list(cells), incumbent_value=value.copy(),
                      incumbent_report=report.copy(), meta=meta)


def _scorer(table, dataset, search_metric, report_metric):
    """(bench, dataset, search name, fidelity, report name, fidelity), or Nones without a table."""
    if table is None:
        return None, dataset, None, None, None, None
    from ..runner.search import parse_metric
    from ..tables import Benchmark

    bench = table if isinstance(table, Benchmark) else Benchmark.open(table)
    if bench.space != SPACE.name:
        raise ValueError(f"{bench.path}: a {bench.space} table cannot score {SPACE.name} cells")
    if dataset not in bench.datasets:
        raise ValueError(f"{bench.path}: no dataset {dataset!r} (it has {', '.join(bench.datasets)}); "
                         "pass table_dataset= to score the cells on one of those")
    s_name, s_fid = parse_metric(search_metric, bench, dataset)
    r_name, r_fid = parse_metric(report_metric, bench, dataset)
    return bench, dataset, s_name, s_fid, r_name, r_fid
