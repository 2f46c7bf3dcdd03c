"""``proxies_table``: zero-cost proxies for every row of a table, stored in it.

Each proxy ``name`` becomes the static metric ``zc_<name>`` of the table's
dataset (docs/FORMAT.md: one value per row, no seed, no fidelity). Rows are
computed in chunks, by a local process pool or a Dask cluster as
``nasbench-suite generate`` trains; every finished chunk is appended to the
table's journal (:func:`~nasbench_suite.tables.append_results`, durable),
and the journal is merged into the table every few minutes and at the end.
Started again, the run computes only the (row, proxy) pairs the table lacks,
so a killed run loses only the chunks in flight. A value that is NaN (the
proxy is undefined for that network; the reason is logged) counts as
missing and is computed again on a resume: a few rows at most.

The provenance key ``"proxies"`` records per dataset the settings the values
depend on (seed, batch size, preset and its overrides), what each proxy reads
(:func:`proxy_input`), and per session the dataset, torch version, device,
CPU, workers, rows and CPU seconds. A dataset whose proxies were computed with
other settings is refused rather than mixed; another dataset of the same
table may have its own.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import datetime, timezone

import numpy as np

from . import DATA_FREE, DATA_FREE_INPUTS, DEFAULT_BATCH, check_names, dataset_shape

#: The static metric of proxy ``name`` is ``PREFIX + name`` (``zc_synflow``).
PREFIX = "zc_"
PROVENANCE_KEY = "proxies"
_CHUNK = 16  # rows per task


def metric_name(proxy: str) -> str:
    """The static metric a proxy is stored as: ``zc_<name>``."""
    return PREFIX + proxy


def _table_preset(prov: dict, space_name: str):
    """(preset name, overrides) the table's networks were trained with (a
    generated table records them), else ("official", {})."""
    gen = prov.get("generate") or {}
    stored = prov.get("preset") or {}
    if gen.get("preset") and stored.get("space") == space_name:
        return str(gen["preset"]), dict(gen.get("overrides") or {})
    return "official", {}


def _settings(space_name, dataset, preset, overrides, seed, batch_size, names) -> dict:
    return {"space": space_name, "dataset": dataset, "preset": preset, "overrides": dict(overrides),
            "seed": int(seed), "batch_size": int(batch_size)}


def settings_by_dataset(meta: dict) -> dict:
    """{dataset: settings} of a ``"proxies"`` provenance entry; a table written
    before the settings were kept per dataset holds one flat settings dict."""
    stored = meta.get("settings") or {}
    if "space" in stored:  # the flat form: one dataset's settings
        return {stored.get("dataset"): stored}
    return dict(stored)


def proxy_input(name: str, batch_size: int = DEFAULT_BATCH) -> str:
    """What proxy ``name`` reads, as the provenance describes it."""
    return DATA_FREE_INPUTS.get(name) or (f"a minibatch of {int(batch_size)} images of the training split of the "
                                          "dataset it is stored under")


def _compatible(stored: dict, ours: dict) -> str:
    keys = ("space", "dataset", "preset", "overrides", "seed", "batch_size")
    return "; ".join(f"{k}: {stored.get(k)!r} in the table, {ours.get(k)!r} asked"
                     for k in keys if stored.get(k) != ours.get(k))


def _chunk_worker(payload: dict, rows: list, todo: list, records: list) -> dict:
    """Worker: the proxies ``todo[i]`` of table row ``rows[i]`` (cells given
    as records); returns {row: {name: value}}, the reasons and CPU time."""
    from .. import spaces
    from ..train._torch import torch
    from . import compute_many

    if payload.get("threads"):
        torch.set_num_threads(int(payload["threads"]))
    space = spaces.get(payload["space"])
    cpu0 = time.process_time()
    out, why, batch = {}, {}, None
    batch_for = {}
    for row, names, rec in zip(rows, todo, records):
        cell = space.table_cells([space.from_record(rec)])[0]
        data_free = all(n in DATA_FREE for n in names)
        key = "free" if data_free else "data"
        if key not in batch_for:
            batch_for[key] = _batch(payload, names)
        batch = batch_for[key]
        reasons = {}
        out[int(row)] = compute_many(names, space=space, cell=cell, batch=batch, preset=payload["preset"],
                                     seed=payload["seed"], device=payload.get("device"), reasons=reasons,
                                     **payload["overrides"])
        if reasons:
            why[int(row)] = reasons
    return {"values": out, "reasons": why, "cpu_s": time.process_time() - cpu0}


def _batch(payload: dict, names):
    from ..train.presets import get_preset
    from . import minibatch, noise_batch

    shape, classes = dataset_shape(payload["dataset"])
    if all(n in DATA_FREE for n in names):
        return noise_batch(shape, classes, payload["batch_size"], payload["seed"])
    splits = get_preset(payload["space"], payload["preset"], strict=False, **payload["overrides"]).splits
    return minibatch(payload["dataset"], payload["batch_size"], payload["seed"], splits, payload.get("data_root"))


def proxies_table(path, proxies, dataset: str | None = None, workers=None, scheduler=None, seed: int = 0,
                  batch_size: int = DEFAULT_BATCH, preset: str | None = None, overrides: dict | None = None,
                  data_root=None, device=None, rows=None, max_rows=None, compact_every: float = 300.0,
                  progress: bool = True) -> dict:
    """Computes (or resumes) the proxies ``proxies`` (names, or a comma-separated
    string) for every row of the table ``path``; returns a summary.

    ``dataset``: the table's dataset to store under, which is also the data
    set the minibatch is drawn from (default: the table's first). ``preset``
    / ``overrides``: the networks (default: those a generated table records,
    else the space's ``"official"``). ``rows``: table rows to compute instead
    of all (reports on a sample); ``max_rows``: stop after this many rows
    (resumable). ``workers`` / ``scheduler``: as ``nasbench-suite generate``
    (``workers=0``: in this process, no pool).
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from ..progress import Progress
    from ..runner.grid import open_executor
    from ..tables import Benchmark, append_results, compact
    from ..train.networks import network_module
    from ..train.presets import get_preset

    names = check_names(proxies)
    path = os.fspath(path)
    with Benchmark.open(path) as b:
        space = b.search_space
        network_module(space)  # InvalidSpecError: no network builder for this space
        dataset = dataset or (b.datasets[0] if b.datasets else None)
        if dataset not in b.datasets:
            raise ValueError(f"{path} has no dataset {dataset!r} (it has {', '.join(b.datasets) or 'none'})")
        dataset_shape(dataset)  # its input shape must be known
        prov = b.provenance
        p_name, p_over = _table_preset(prov, space.name)
        if preset is not None:
            p_name, p_over = preset, {}
        p_over = {**p_over, **(overrides or {})}
        get_preset(space.name, p_name, **p_over)  # a bad preset or override fails now
        n = len(b)
        targets = np.arange(n) if rows is None else np.unique(np.asarray(rows, dtype=np.int64).reshape(-1))
        if targets.size and (targets.min() < 0 or targets.max() >= n):
            raise ValueError(f"rows must be in 0..{n - 1}")
        have = set(b.metrics(dataset))
        done = {name: (~np.isnan(b.row_values(metric_name(name), dataset=dataset))
                       if metric_name(name) in have else np.zeros(n, bool)) for name in names}
        clash = [metric_name(nm) for nm in names if metric_name(nm) in have
                 and metric_name(nm) not in b.static_metrics(dataset)]
        if clash:
            raise ValueError(f"{path}: {clash[0]} is a per-fidelity metric of {dataset!r}, not a proxy's: "
                             "choose another table")
        records = {int(r): space.record(b.cell(int(r))) for r in targets.tolist()}
    settings = _settings(space.name, dataset, p_name, p_over, seed, batch_size, names)
    stored = settings_by_dataset(prov.get(PROVENANCE_KEY) or {}).get(dataset)
    if stored is not None:
        diff = _compatible(stored, settings)
        if diff:
            raise ValueError(f"{path} holds proxies computed with other settings ({diff}): resume with the "
                             "table's settings, or copy the table first")
    if any(n not in DATA_FREE for n in names):
        _batch({**settings, "overrides": p_over, "data_root": data_root}, names)  # missing data fails now
    todo = []  # (row, [names]) for rows missing any proxy, in row order
    for r in targets.tolist():
        missing = [nm for nm in names if not done[nm][r]]
        if missing:
            todo.append((r, missing))
    if max_rows is not None:
        todo = todo[: int(max_rows)]
    meta = dict(prov.get(PROVENANCE_KEY) or {})
    meta["settings"] = {**settings_by_dataset(meta), dataset: settings}
    meta.setdefault("metrics", {})
    for nm in names:
        meta["metrics"][metric_name(nm)] = (f"zero-cost proxy {nm} (nasbench_suite.proxies; higher predicts "
                                            f"better), reading {proxy_input(nm, batch_size)}")
    meta.setdefault("sessions", [])
    session = _new_session(dataset, names, device)
    payload = {**settings, "overrides": p_over, "data_root": None if data_root is None else os.fspath(data_root),
               "device": None if device is None else str(device), "threads": 1}
    compact(path, provenance={PROVENANCE_KEY: _with_session(meta, session)})  # settings first: a resume checks them
    bar = Progress(len(todo), label="networks", enabled=progress)
    t0, last = time.perf_counter(), time.monotonic()
    reasons_all = {}

    def checkpoint():
        session["wall_seconds"] = round(time.perf_counter() - t0, 1)
        compact(path, provenance={PROVENANCE_KEY: _with_session(meta, session)})

    try:
        with (_inline() if workers == 0 and not scheduler else open_executor(workers, scheduler)) \
                as (ex, slots, where):
            session["executor"] = where
            queue = [todo[i:i + _CHUNK] for i in range(0, len(todo), _CHUNK)]
            pending = set()
            while queue or pending:
                while queue and len(pending) < slots:
                    chunk = queue.pop(0)
                    pending.add(ex.submit(_chunk_worker, payload, [r for r, _ in chunk], [m for _, m in chunk],
                                          [records[r] for r, _ in chunk]))
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    res = fut.result()
                    recs = []
                    for row, vals in res["values"].items():
                        recs.append((space.from_record(records[row]), dataset, None, None, {},
                                     {metric_name(k): v for k, v in vals.items()}))
                    append_results(path, space.name, recs)
                    for row, why in res["reasons"].items():
                        reasons_all[row] = why
                        session["nan"] += len(why)
                    session["rows"] += len(res["values"])
                    session["cpu_seconds"] += res["cpu_s"]
                    bar.advance(len(res["values"]))
                if time.monotonic() - last > compact_every:
                    checkpoint()
                    last = time.monotonic()
    finally:
        bar.close()
        checkpoint()
    return {"path": path, "proxies": names, "dataset": dataset, "rows": session["rows"],
            "cpu_seconds": session["cpu_seconds"], "wall_seconds": session["wall_seconds"],
            "nan": reasons_all, "targets": int(targets.size)}


def share_proxy(path, proxy: str, source: str, dataset: str, check_rows: int = 50, check_seed: int = 0) -> dict:
    """Stores the data-free proxy ``proxy`` of dataset ``source`` as
    ``dataset``'s too, for the rows where ``source`` has a value and
    ``dataset`` has none; returns a summary.

    For networks that differ only in what the proxy never reads (zen reads
    neither data nor the classifier: NB201's CIFAR-10 and CIFAR-100 networks
    differ only in the classifier's outputs), computing it again gives the
    same bits at the same cost. This is checked, not assumed: the proxy
    must be data-free, both datasets must have the same input shape and the
    same settings (preset, overrides, seed, batch size), and ``check_rows``
    rows (drawn by ``numpy.random.default_rng(check_seed)``) computed again
    on ``dataset``'s own networks, exactly as :func:`proxies_table` computes
    them, must equal the stored values bit for bit; otherwise nothing is
    written and the error says to compute it. The provenance records it under
    ``proxies.shared[dataset][zc_<proxy>]`` and as a session with
    ``shared_from`` (its CPU time is the check's)."""
    from ..tables import Benchmark, append_results, compact

    names = check_names(proxy)
    if len(names) != 1:
        raise ValueError(f"share one proxy at a time, got {', '.join(names)}")
    name, metric = names[0], metric_name(names[0])
    if name not in DATA_FREE:
        raise ValueError(f"{name} reads the images of the dataset it is stored under: it cannot be shared "
                         f"between datasets; compute it (nasbench-suite proxies TABLE --proxies {name} "
                         f"--dataset {dataset})")
    if source == dataset:
        raise ValueError(f"source and dataset are both {dataset!r}")
    path = os.fspath(path)
    t_wall = time.perf_counter()
    with Benchmark.open(path) as b:
        for ds in (source, dataset):
            if ds not in b.datasets:
                raise ValueError(f"{path} has no dataset {ds!r} (it has {', '.join(b.datasets) or 'none'})")
        space = b.search_space
        shapes = {ds: tuple(dataset_shape(ds)[0]) for ds in (source, dataset)}
        if shapes[source] != shapes[dataset]:
            raise ValueError(f"{source}'s networks read {shapes[source]} inputs and {dataset}'s {shapes[dataset]}: "
                             f"{name} differs; compute it (nasbench-suite proxies TABLE --proxies {name} "
                             f"--dataset {dataset})")
        prov = b.provenance
        meta = dict(prov.get(PROVENANCE_KEY) or {})
        by = settings_by_dataset(meta)
        if source not in by or metric not in b.static_metrics(source):
            raise ValueError(f"{path}: {source} has no {metric} to share; compute it first "
                             f"(nasbench-suite proxies TABLE --proxies {name} --dataset {source})")
        ours = {**by[source], "dataset": dataset}
        if dataset in by:
            diff = _compatible(by[dataset], ours)
            if diff:
                raise ValueError(f"{path}: {dataset}'s proxies were computed with other settings than "
                                 f"{source}'s ({diff}): compute {name} for it instead")
        if metric in b.metrics(dataset) and metric not in b.static_metrics(dataset):
            raise ValueError(f"{path}: {metric} is a per-fidelity metric of {dataset!r}, not a proxy's")
        src = b.row_values(metric, dataset=source)
        dst = (b.row_values(metric, dataset=dataset) if metric in b.static_metrics(dataset)
               else np.full(len(b), np.nan))
        have = np.flatnonzero(np.isfinite(src))
        todo = np.flatnonzero(np.isfinite(src) & np.isnan(dst))
        check = np.sort(np.random.default_rng(check_seed).choice(have, min(int(check_rows), have.size),
                                                                 replace=False)) if have.size else have
        records = {int(r): space.record(b.cell(int(r))) for r in np.union1d(todo, check).tolist()}
    payload = {**ours, "data_root": None, "device": None, "threads": 1}
    res = _chunk_worker(payload, check.tolist(), [[name]] * check.size, [records[int(r)] for r in check])
    got = np.array([res["values"][int(r)][name] for r in check], dtype=float)
    bad = check[got != src[check]]
    if bad.size:
        r = int(bad[0])
        raise ValueError(f"{name} of {dataset}'s networks is not {source}'s: {bad.size} of {check.size} rows "
                         f"checked differ (row {r}: {res['values'][r][name]!r} against {src[r]!r}); nothing was "
                         f"written: compute it (nasbench-suite proxies TABLE --proxies {name} --dataset {dataset})")
    append_results(path, space.name, [(space.from_record(records[int(r)]), dataset, None, None, {},
                                       {metric: float(src[r])}) for r in todo])
    session = _new_session(dataset, [name], None)
    session.update(rows=int(todo.size), cpu_seconds=res["cpu_s"], executor="this process", shared_from=source,
                   checked_rows=int(check.size), wall_seconds=round(time.perf_counter() - t_wall, 1))
    meta["settings"] = {**by, dataset: ours}
    shared = dict(meta.get("shared") or {})
    shared[dataset] = {**shared.get(dataset, {}), metric: {
        "from": source, "rows": int(todo.size), "checked_rows": int(check.size), "check_seed": int(check_seed),
        "check": "recomputed on this dataset's networks: bit-identical", "when": session["started"]}}
    meta["shared"] = shared
    compact(path, provenance={PROVENANCE_KEY: _with_session(meta, session)})
    return {"path": path, "proxy": name, "source": source, "dataset": dataset, "rows": int(todo.size),
            "checked_rows": int(check.size), "cpu_seconds": res["cpu_s"]}


class _InlineExecutor:
    """``submit`` runs the call in this process (``workers=0``: tests, notebooks)."""

    def submit(self, fn, *args):
        from concurrent.futures import Future

        fut = Future()
        fut.set_result(fn(*args))
        return fut


@contextlib.contextmanager
def _inline():
    yield _InlineExecutor(), 1, "this process"


def _new_session(dataset: str, names: list, device) -> dict:
    """A session record of the ``proxies`` provenance, nothing computed yet."""
    from .. import __version__
    from .._machine import cpu_name
    from ..train._torch import torch

    return {"started": datetime.now(timezone.utc).isoformat(timespec="microseconds"), "torch": torch.__version__,
            "nasbench_suite": __version__, "cpu": cpu_name(), "cores": os.cpu_count(),
            "device": str(device or "cpu"), "dataset": dataset, "proxies": list(names), "rows": 0,
            "cpu_seconds": 0.0, "wall_seconds": 0.0, "nan": 0}


def _with_session(meta: dict, session: dict) -> dict:
    """The provenance entry with this session's record (sessions that computed nothing are dropped)."""
    sessions = [s for s in meta.get("sessions", []) if s.get("started") != session["started"]]
    entry = dict(session, cpu_seconds=round(session["cpu_seconds"], 2))
    if entry["rows"] > 0:
        sessions.append(entry)
    return json.loads(json.dumps({**meta, "sessions": sessions}))


__all__ = ["PREFIX", "metric_name", "proxies_table", "proxy_input", "share_proxy"]
