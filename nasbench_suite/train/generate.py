"""``generate_nb201``: a whole NB201 table trained by our own trainer, and
``verify_table``: retraining rows of such a table to check them.

One representative per isomorphism class is trained (the smallest official
index of the class; :func:`nasbench_suite.spaces.nb201.isomorphism_classes`),
plus one disconnected cell, whose network can only learn the class prior:
8,765 networks per seed. The table is written with ``lookup="class"``
(docs/FORMAT.md): every one of the 15,625 cells resolves to its class's row,
and every disconnected cell to the disconnected row.

Generation is resumable: each finished (class, seed) run is appended to the
table's journal, durably, as its epochs' metrics (fidelity = epoch); the
journal is merged into the table every few minutes and at the end. Started
again with the same settings, it trains only the runs the table lacks; started
with other settings on the same file, it refuses. A run killed mid-way loses
only the networks in flight.

The provenance in the file states the dataset and its split sizes, the
seeds, the network and the training recipe, the trainer's settings, and per
generating session the torch version, the CPU, the workers, the wall time and
the CPU time spent.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from .._machine import cpu_name  # noqa: F401 (scripts import it from here too)
from ..spaces import nb201
from .presets import get_preset

SPACE = nb201.SPACE  # the space this recipe generates tables of
GENERATOR = f"nasbench-suite generate {SPACE.name}"
# What every run of a generated table uses besides the preset: one thread,
# deterministic kernels and channels-last tensors on the CPU (3x faster
# convolutions for these 8-channel networks), so a row can be retrained bit for bit.
TRAINER_SETTINGS = {"threads": 1, "deterministic": True, "channels_last": True, "device": "cpu"}
_ORDER_SEED = 201  # the order runs are trained in (not their results)
_RECORDED = ("train_acc", "valid_acc", "test_acc", "train_loss", "valid_loss", "test_loss",
             "epoch_time", "train_time")


def representatives() -> np.ndarray:
    """Official indices of the cells trained: the first cell of each class in
    class order, then the first disconnected cell (8,765 indices)."""
    classes = nb201.isomorphism_classes()
    n = int(classes.max()) + 1
    first = np.full(n, -1, dtype=np.int64)
    idx = np.arange(classes.size)
    conn = classes >= 0
    order = np.argsort(classes[conn], kind="stable")
    cls_sorted, idx_sorted = classes[conn][order], idx[conn][order]
    starts = np.flatnonzero(np.r_[True, cls_sorted[1:] != cls_sorted[:-1]])
    first[cls_sorted[starts]] = idx_sorted[starts]
    disconnected = int(np.flatnonzero(~conn)[0])
    return np.r_[first, disconnected].astype(np.int64)


@dataclass
class GenerateSettings:
    """Everything that decides a generated table's numbers."""

    dataset: str = "digits"
    preset: str = "digits"
    seeds: tuple = (0, 1)
    overrides: dict = None
    # All seeds of a class trained as one grouped network (Trainer.train_seeds).
    # Tables made before it existed record no "group_seeds": one network per run.
    group_seeds: bool = True

    def to_dict(self) -> dict:
        trainer = dict(TRAINER_SETTINGS, **({"group_seeds": True} if self.group_seeds else {}))
        return {"dataset": self.dataset, "preset": self.preset, "seeds": [int(s) for s in self.seeds],
                "overrides": dict(self.overrides or {}), "trainer": trainer}

    @classmethod
    def from_dict(cls, gen: dict, path="the table") -> "GenerateSettings":
        """The settings a table's provenance records (``provenance["generate"]``)."""
        trainer = dict(gen.get("trainer") or {})
        group = bool(trainer.pop("group_seeds", False))
        if trainer != TRAINER_SETTINGS:
            raise ValueError(f"{path} was generated with trainer settings {gen.get('trainer')}; this "
                             f"nasbench-suite uses {TRAINER_SETTINGS}: use the version that made it")
        return cls(gen["dataset"], gen["preset"], tuple(int(x) for x in gen["seeds"]),
                   dict(gen.get("overrides") or {}), group)

    def train(self, trainer, index: int, seeds) -> list:
        """One TrainResult per seed of ``seeds``; grouped tables always train
        every seed of the settings together (the numbers depend on the group)
        and return those asked for."""
        if not self.group_seeds:
            return [trainer.train(SPACE.name, int(index), seed=int(s)) for s in seeds]
        results = trainer.train_seeds(SPACE.name, int(index), list(self.seeds))
        return [results[list(self.seeds).index(int(s))] for s in seeds]

    def trainer(self, data_root=None):
        from .trainer import Trainer

        # Overrides are recipe settings only: the trainer's own (device, threads,
        # amp, ...) are fixed for every generated table (TRAINER_SETTINGS).
        get_preset(SPACE.name, self.preset, strict=True, **(self.overrides or {}))
        return Trainer(dataset=self.dataset, data_root=data_root, preset=self.preset, progress=False,
                       **TRAINER_SETTINGS, **(self.overrides or {}))


def _differences(table: dict, other: dict, word: str) -> str:
    """``key: value in the table, value <word>`` for each key whose values differ."""
    return "; ".join(f"{k}: {table.get(k)!r} in the table, {other.get(k)!r} {word}"
                     for k in sorted(set(table) | set(other)) if table.get(k) != other.get(k))


def _recipe(trainer) -> dict:
    """The nb201 preset values ``trainer`` trains with, as a table records them."""
    return json.loads(json.dumps(trainer.preset_for(SPACE.name).to_dict()))


def check_same_recipe(path, prov: dict, trainer) -> None:
    """Raises if the preset the table records (``provenance["preset"]``) is not
    the one ``trainer`` would train with now: a preset edited in the code since
    the table was made would resume or verify it with another recipe."""
    stored, now = prov.get("preset"), _recipe(trainer)
    if stored is None or stored == now:
        return
    raise ValueError(f"{path} was trained with another recipe than preset {stored.get('name')!r} and "
                     f"its overrides give now ({_differences(stored, now, 'now')}): use the nasbench-suite "
                     f"version that made it (its sessions in the provenance name it)")


def _train_class(settings: dict, index: int, seeds: list, data_root) -> dict:
    """Worker: trains one cell for each seed; returns the histories and the CPU
    time (a grouped run's time split evenly over the runs it recorded)."""
    s = GenerateSettings.from_dict(settings)
    trainer = s.trainer(data_root)
    runs = []
    batches = [list(seeds)] if s.group_seeds else [[seed] for seed in seeds]
    for batch in batches:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = s.train(trainer, index, batch)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        for seed, r in zip(batch, results):
            runs.append({"seed": int(seed), "history": r.history, "params": r.params, "flops": r.flops,
                         "cpu_s": cpu / len(batch), "wall_s": wall / len(batch)})
    return {"index": int(index), "runs": runs}


def _records(result: dict, dataset: str) -> list:
    out = []
    for run in result["runs"]:
        static = {"params": run["params"], "flops": run["flops"]}
        for rec in run["history"]:
            metrics = {k: rec[k] for k in _RECORDED if k in rec}
            out.append((result["index"], dataset, run["seed"], float(rec["epoch"]), metrics, static))
    return out


def _empty_table(path, settings: GenerateSettings, preset_dict: dict, split_sizes: dict) -> None:
    from ..tables import TableWriter

    with TableWriter(path, space=SPACE.name) as w:
        w.lookup = "class"
        w.add_dataset(settings.dataset, seeds=list(settings.seeds),
                      fidelities=np.arange(1, preset_dict["epochs"] + 1, dtype=np.float64))
        w.provenance.update({
            "converter": GENERATOR,
            "generate": settings.to_dict(),
            "preset": preset_dict,
            "splits": split_sizes,
            "rows": "one per isomorphism class (lookup='class'), plus one disconnected cell",
            "sessions": [],
            "complete": False,
        })


def done_runs(path, dataset: str, seeds) -> set:
    """(official index, seed) pairs the table (with its journal) holds at every fidelity."""
    from ..tables import Benchmark

    with Benchmark.open(path) as b:
        if len(b) == 0 or dataset not in b.datasets:
            return set()
        rows = np.arange(len(b))
        index = b._cell_array("index")
        table_seeds = list(b.seeds(dataset))
        vals = b._read(dataset, "test_acc", rows)  # (N, S, F)
        out = set()
        for seed in seeds:
            if int(seed) in table_seeds:
                full = ~np.isnan(vals[:, table_seeds.index(int(seed)), :]).any(axis=1)
                out.update((int(i), int(seed)) for i in index[full])
        return out


def _check_same_settings(path, settings: GenerateSettings, group_seeds, trainer) -> GenerateSettings:
    """The settings to resume ``path`` with: its own, which must be those asked
    for (``group_seeds`` None: whichever the table was made with), with the
    recipe ``trainer`` gives (:func:`check_same_recipe`)."""
    from ..tables import Benchmark

    with Benchmark.open(path) as b:
        prov = b.provenance
        lookup = b.lookup
    if prov.get("converter") != GENERATOR:
        raise ValueError(f"{path} exists and was not made by `{GENERATOR}`; choose another --out")
    stored = GenerateSettings.from_dict(prov.get("generate") or {}, path)
    if group_seeds is None:
        settings.group_seeds = stored.group_seeds
    if lookup != "class":
        raise ValueError(f"{path} is not a generated class table (lookup={lookup!r}); choose another --out")
    theirs, ours = stored.to_dict(), settings.to_dict()
    # Overrides spelt otherwise but giving the same recipe (``--set epochs=7``
    # when 7 has since become the preset's value) resume with the table's own.
    if theirs != ours and not ({**theirs, "overrides": None} == {**ours, "overrides": None}
                               and _recipe(stored.trainer()) == _recipe(trainer)):
        hint = ""
        if theirs["overrides"] != ours["overrides"]:
            flags = " ".join(f"--set {k}={v}" for k, v in sorted(theirs["overrides"].items()))
            hint = f" (its overrides: {flags})" if flags else " (no --set)"
        elif stored.group_seeds != settings.group_seeds:
            hint = " (--group-seeds)" if stored.group_seeds else " (--no-group-seeds)"
        raise ValueError(f"{path} was generated with other settings ({_differences(theirs, ours, 'asked')}): "
                         f"resume with the table's settings{hint} or choose another --out")
    check_same_recipe(path, prov, trainer)
    return stored


def generate_nb201(out, dataset: str = "digits", seeds=(0, 1), preset: str = "digits", workers=None,
                   scheduler=None, data_root=None, cells=None, max_runs=None, compact_every: float = 600.0,
                   progress: bool = True, group_seeds: bool | None = None, **overrides) -> dict:
    """Trains (or resumes training) the NB201 table ``out``; returns a summary.

    ``cells``: official indices to train instead of every class's
    representative (tests, partial tables). ``max_runs``: stop after this many
    new (cell, seed) runs, rounded up to whole classes when the seeds are
    grouped (the table stays resumable). ``group_seeds``: train the seeds of a
    class as one grouped network (``Trainer.train_seeds``); None: as the
    existing table was made, grouped for a new one. ``workers`` /
    ``scheduler``: as ``nasbench-suite compare`` (a local process pool, or a
    Dask cluster at ``tcp://host:port``).
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from .. import __version__
    from ..runner.grid import open_executor
    from ..progress import Progress
    from ..tables import append_results, compact
    from ._torch import torch
    from .data import load_dataset

    settings = GenerateSettings(dataset, preset, tuple(int(s) for s in seeds), dict(overrides),
                                True if group_seeds is None else bool(group_seeds))
    if len(set(settings.seeds)) != len(settings.seeds) or not settings.seeds:
        raise ValueError(f"seeds must be distinct integers, got {seeds!r}")
    trainer = settings.trainer(data_root)  # fails now on a bad preset or override
    pre = trainer.preset_for(SPACE.name)
    data = load_dataset(dataset, data_root, pre.splits)  # fails now on missing data
    preset_dict = pre.to_dict()
    out = os.fspath(out)
    if os.path.exists(out):
        settings = _check_same_settings(out, settings, group_seeds, trainer)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        sizes = {name: len(split) for name, split in (("train", data.train), ("valid", data.valid),
                                                      ("test", data.test)) if split is not None}
        _empty_table(out, settings, preset_dict, sizes)

    targets = representatives() if cells is None else np.asarray(cells, dtype=np.int64).reshape(-1)
    done = done_runs(out, dataset, settings.seeds)
    todo = []  # (index, [seeds]) in a fixed shuffled order: a partial table is a uniform sample of the classes
    for i in targets[np.random.default_rng(_ORDER_SEED).permutation(targets.size)].tolist():
        missing = [s for s in settings.seeds if (i, s) not in done]
        if missing:
            todo.append((i, missing))
    if max_runs is not None:
        left, cut = int(max_runs), []
        for i, ss in todo:
            if left <= 0:
                break
            cut.append((i, ss if settings.group_seeds else ss[:left]))
            left -= len(cut[-1][1])
        todo = cut
    total_runs = len(targets) * len(settings.seeds)
    already = sum(1 for i in targets.tolist() for s in settings.seeds if (i, s) in done)
    bar = Progress(already + sum(len(ss) for _, ss in todo), done=already, label="networks", enabled=progress)
    session = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "torch": torch.__version__,
               "nasbench_suite": __version__, "cpu": cpu_name(), "cores": os.cpu_count(),
               "runs": 0, "cpu_seconds": 0.0, "train_seconds": 0.0, "wall_seconds": 0.0}
    t0 = time.perf_counter()
    last_compact = time.monotonic()

    def checkpoint(final: bool) -> None:
        session["wall_seconds"] = round(time.perf_counter() - t0, 1)
        prov = _provenance_with(out, session, final and cells is None and max_runs is None)
        compact(out, provenance=prov)

    payload = settings.to_dict()
    try:
        with open_executor(workers, scheduler) as (ex, slots, where):
            session["executor"] = where
            pending, queue = set(), list(todo)
            while queue or pending:
                while queue and len(pending) < slots:
                    i, ss = queue.pop(0)
                    pending.add(ex.submit(_train_class, payload, i, ss, data_root))
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    result = fut.result()
                    append_results(out, SPACE.name, _records(result, dataset))
                    for run in result["runs"]:
                        session["runs"] += 1
                        session["cpu_seconds"] += run["cpu_s"]
                        session["train_seconds"] += run["wall_s"]
                    bar.advance(len(result["runs"]))
                if time.monotonic() - last_compact > compact_every:
                    checkpoint(False)
                    last_compact = time.monotonic()
    finally:
        bar.close()
        checkpoint(True)
    return {"path": out, "new_runs": session["runs"], "cpu_seconds": session["cpu_seconds"],
            "wall_seconds": session["wall_seconds"], "total_runs": total_runs,
            "done_runs": len(done_runs(out, dataset, settings.seeds))}


def _provenance_with(out, session: dict, may_complete: bool) -> dict:
    """The provenance keys to rewrite: this session's entry and the totals."""
    from ..tables._schema import check_root, open_h5

    with open_h5(out) as h5:
        prov = check_root(h5, out)["provenance"]
    # Sessions that trained nothing (stopped before a run finished) are not kept.
    sessions = [s for s in prov.get("sessions", [])
                if s.get("started") != session["started"] and s.get("runs", 0) > 0]
    entry = dict(session, cpu_seconds=round(session["cpu_seconds"], 1),
                 train_seconds=round(session["train_seconds"], 1))
    if entry["runs"] > 0:
        sessions.append(entry)
    totals = {k: round(sum(s.get(k, 0.0) for s in sessions), 1)
              for k in ("cpu_seconds", "train_seconds", "wall_seconds")}
    totals["runs"] = int(sum(s.get("runs", 0) for s in sessions))
    totals["core_hours"] = round(totals["cpu_seconds"] / 3600.0, 3)
    update = {"sessions": sessions, "totals": totals}
    if may_complete:
        settings = prov.get("generate", {})
        want = len(representatives()) * len(settings.get("seeds", []))
        update["complete"] = len(done_runs(out, settings.get("dataset"), settings.get("seeds", []))) >= want
    return update


# ------------------------------------------------------------------ verify
_COMPARED = ("train_acc", "valid_acc", "test_acc", "train_loss", "valid_loss", "test_loss")
# Stated tolerance when the torch version or the CPU differs from the
# generating session's (different kernels, so not bit for bit): final test
# accuracy within this many points, about the seed-to-seed spread of good cells.
TOLERANCE_POINTS = 1.5


def verify_table(path, rows: int = 3, seed: int = 0, data_root=None, progress=None) -> dict:
    """Retrains ``rows`` random rows of a generated table (every seed of each)
    with the settings in its provenance and compares every epoch's accuracies
    and losses. Returns a report: per run the largest absolute difference,
    whether it is exact, and ``ok``: exact agreement where the torch version and
    the CPU equal those of a generating session, else final test accuracy
    within :data:`TOLERANCE_POINTS`."""
    from ..tables import Benchmark
    from ._torch import torch

    with Benchmark.open(path) as b:
        prov = b.provenance
        if prov.get("converter") != GENERATOR:
            raise ValueError(f"{path} was not made by `{GENERATOR}`: nothing to retrain it with")
        gen = prov["generate"]
        dataset, seeds = gen["dataset"], gen["seeds"]
        n = len(b)
        if n == 0:
            raise ValueError(f"{path} holds no rows yet")
        if not 1 <= int(rows) <= n:
            raise ValueError(f"--rows must be between 1 and {n} (the table's rows), got {rows}")
        picked = np.sort(np.random.default_rng(seed).choice(n, int(rows), replace=False))
        index = b._cell_array("index")[picked]
        table = {m: b._read(dataset, m, picked) for m in _COMPARED}
        table_seeds = [int(s) for s in b.seeds(dataset)]
    settings = GenerateSettings.from_dict(gen, path)
    trainer = settings.trainer(data_root)
    check_same_recipe(path, prov, trainer)
    here = {"torch": torch.__version__, "cpu": cpu_name()}
    same = any(s.get("torch") == here["torch"] and s.get("cpu") == here["cpu"] for s in prov.get("sessions", []))
    runs = []
    for k, (row, idx) in enumerate(zip(picked.tolist(), index.tolist())):
        trained = [int(s) for s in seeds  # runs of a partial table that are not trained yet are skipped
                   if not np.isnan(table["test_acc"][k, table_seeds.index(int(s))]).all()]
        for seed_, result in zip(trained, settings.train(trainer, idx, trained) if trained else []):
            stored = {m: table[m][k, table_seeds.index(seed_)] for m in _COMPARED}
            hist = result.history
            fresh = {m: np.array([h[m] for h in hist]) for m in _COMPARED}
            diff = max(float(np.nanmax(np.abs(fresh[m] - stored[m][: len(fresh[m])]))) for m in _COMPARED)
            final_gap = abs(float(fresh["test_acc"][-1] - stored["test_acc"][len(hist) - 1]))
            runs.append({"row": row, "index": int(idx), "arch": nb201.arch_string(int(idx)), "seed": int(seed_),
                         "table_test_acc": float(stored["test_acc"][len(hist) - 1]),
                         "retrained_test_acc": float(fresh["test_acc"][-1]),
                         "max_abs_diff": diff, "exact": diff == 0.0, "final_test_gap": final_gap})
            if progress:
                progress(runs[-1])
    if not runs:
        raise ValueError(f"none of the {rows} rows picked has a trained run yet")
    exact = sum(r["exact"] for r in runs)
    ok = exact == len(runs) if same else all(r["final_test_gap"] <= TOLERANCE_POINTS for r in runs)
    return {"path": os.fspath(path), "runs": runs, "exact": exact, "same_platform": same, "here": here,
            "criterion": "exact" if same else f"final test accuracy within {TOLERANCE_POINTS} points",
            "ok": bool(ok)}
