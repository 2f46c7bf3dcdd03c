"""The peer side of ``scripts/peer_bench.py``; runs inside a peer's own venv.

    python _peer_worker.py JOB.json OUT.json

Imports nothing from nasbench_suite (the peer venvs do not have it): it
reads the job (task name and inputs written by peer_bench.py), does the
peer's work once, timed with ``time.perf_counter``, and writes the time and
the results that peer_bench.py checks against ours. Tasks:

- ``hash``: the official ``graph_util.hash_module`` on every cell of a batch.
- ``enum``: the official ``generate_graphs.py`` main loop (its own flags,
  ``verify_isomorphism`` left at its default, True) up to ``max_vertices``;
  ``tensorflow`` is only used there for ``tf.io.gfile.GFile``, replaced by
  ``open`` in this process (nothing of the official code is changed).
- ``syne``: Syne Tune's ``REA`` or ``RandomSearch`` scheduler, asked and
  told ``evaluations`` times, each evaluation a lookup in a
  ``BlackboxTabular`` holding the table values peer_bench.py passes.
- ``xautodl`` / ``nbpt``: one NB201 (xautodl) or NB101 (nasbench-pytorch)
  network: its parameter count, and forward+backward time per batch.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
import types


def task_hash(job):
    import numpy as np

    sys.path.insert(0, job["official"])
    from nasbench.lib import graph_util

    mats = np.load(job["matrices"])
    labels = np.load(job["labels"]).tolist()
    cells = [(mats[i], labels[i]) for i in range(len(mats))]
    t = time.perf_counter()
    hashes = [graph_util.hash_module(m, lab) for m, lab in cells]
    elapsed = time.perf_counter() - t
    return {"seconds": elapsed, "hashes": hashes}


def task_enum(job):
    sys.path.insert(0, job["official"])
    tf = types.ModuleType("tensorflow")  # generate_graphs uses TensorFlow for gfile only
    tf.io = types.SimpleNamespace(gfile=types.SimpleNamespace(GFile=open))
    sys.modules["tensorflow"] = tf
    from absl import logging as absl_logging

    from nasbench.scripts import generate_graphs

    generate_graphs.FLAGS([
        "generate_graphs", f"--max_vertices={job['max_vertices']}", f"--output_file={job['output_file']}",
    ])
    absl_logging.set_verbosity(absl_logging.WARNING)
    t = time.perf_counter()
    generate_graphs.main(None)
    elapsed = time.perf_counter() - t
    with open(job["output_file"]) as f:
        buckets = json.load(f)
    return {"seconds": elapsed, "hashes": sorted(buckets)}


def task_syne(job):
    import datetime

    import numpy as np
    import pandas as pd
    from syne_tune.backend.trial_status import Trial
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint
    from syne_tune.optimizer.baselines import REA, RandomSearch

    columns = job["columns"]
    archs = job["archs"]  # one list of column values per row of the table
    values = np.asarray(job["values"], dtype=np.float64)  # (rows, objectives)
    objectives = job["objectives"]
    hp = pd.DataFrame(archs, columns=columns)
    config_space = {c: choice(job["choices"]) for c in columns}
    fidelity = job["fidelity"]
    bb = BlackboxTabular(
        hyperparameters=hp, configuration_space=config_space,
        fidelity_space={"epoch": randint(1, fidelity)},
        objectives_evaluations=values.reshape(len(archs), 1, 1, len(objectives)),
        fidelity_values=np.array([fidelity]), objectives_names=objectives,
    )
    metric = objectives[0]

    def run(seed, evaluations):
        # Syne Tune's samplers draw from numpy's global generator whatever
        # random_seed says: seed it too, so a run is repeatable.
        np.random.seed(seed)
        if job["algo"] == "RE":
            sched = REA(config_space, metric=metric, do_minimize=False, random_seed=seed,
                        population_size=job["population_size"], sample_size=job["sample_size"])
        else:
            sched = RandomSearch(config_space, metrics=[metric], do_minimize=False, random_seed=seed)
        evaluated = []
        for trial_id in range(evaluations):
            config = sched.suggest().config
            result = bb.objective_function(config, fidelity={"epoch": fidelity}, seed=0)
            trial = Trial(trial_id=trial_id, config=config, creation_time=datetime.datetime.now())
            sched.on_trial_complete(trial, {metric: float(result[metric])})
            evaluated.append(([config[c] for c in columns], [float(result[o]) for o in objectives]))
        return evaluated

    run(job["seed"] + 10_000, 20)  # warm-up (lazy imports, caches), not timed
    t = time.perf_counter()
    evaluated = run(job["seed"], job["evaluations"])
    elapsed = time.perf_counter() - t
    return {"seconds": elapsed, "evaluated": evaluated}


def _time_steps(model, x, y, steps):
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        model.zero_grad(set_to_none=True)
        out = model(x)
        logits = out[-1] if isinstance(out, tuple) else out
        loss_fn(logits, y).backward()

    step()  # warm-up
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _inputs(job):
    import torch

    torch.set_num_threads(job["threads"])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(job["batch"], 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (job["batch"],), generator=g)
    return x, y


def task_xautodl(job):
    import torch
    from xautodl.models import get_cell_based_tiny_net

    torch.manual_seed(0)
    x, y = _inputs(job)
    net = get_cell_based_tiny_net({"name": "infer.tiny", "C": 16, "N": 5, "arch_str": job["arch"],
                                   "num_classes": 10})
    params = sum(p.numel() for p in net.parameters())
    return {"seconds": _time_steps(net.train(), x, y, job["steps"]), "params": params}


def task_nbpt(job):
    import torch
    from nasbench_pytorch.model import Network
    from nasbench_pytorch.model.model import Placeholder
    from nasbench_pytorch.model.model_spec import ModelSpec

    torch.manual_seed(0)
    x, y = _inputs(job)
    net = Network(ModelSpec(job["matrix"], job["ops"]), num_labels=10, in_channels=3, stem_out_channels=128,
                  num_stacks=3, num_modules_per_stack=3)
    params = sum(p.numel() for p in net.parameters())
    placeholder = sum(p.numel() for m in net.modules() if isinstance(m, Placeholder) for p in m.parameters())
    return {"seconds": _time_steps(net.train(), x, y, job["steps"]), "params": params,
            "placeholder_params": placeholder}


TASKS = {"hash": task_hash, "enum": task_enum, "syne": task_syne, "xautodl": task_xautodl, "nbpt": task_nbpt}


def main(argv):
    with open(argv[1]) as f:
        job = json.load(f)
    out = TASKS[job["task"]](job)
    with open(argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv)
