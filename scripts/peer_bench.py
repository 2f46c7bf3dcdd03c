#!/usr/bin/env python
"""Side by side with the tools users would pick instead; writes ``reports/peers.md``.

    python scripts/peer_bench.py --official-nasbench /tmp/official-nasbench

Each peer gets its own virtual environment under
``~/.cache/nasbench-suite/peers/<name>`` (``--peers-dir``), built once with
pip from the package registry (peers pin old numpy and the like: they are
never installed into this project's environment) and reused while its pip
arguments are unchanged. The peer's side runs in ``scripts/_peer_worker.py``
inside that venv, ours in this process; rounds alternate (ours, peer, ours,
...), both sides get the same inputs, and every comparison checks that both
produced the same results before any ratio is reported.

Peers and work:

- the official NAS-Bench-101 code (``graph_util.py``, ``generate_graphs.py``;
  not on the registry): module hashes of 10,000 cells, one thread, per MD5
  path of ours; enumeration up to 6 vertices. ``--official-nasbench DIR``
  names a checkout of google-research/nasbench (DIR/nasbench/lib/graph_util.py);
  without it these comparisons are skipped with a message. Never vendored.
- Syne Tune: regularized evolution (REA) and random search, 150 evaluations
  on a ``BlackboxTabular`` built from our NB201 table's values.
- xautodl: the NB201 network; nasbench-pytorch: the NB101 network
  (parameter counts, forward+backward time per batch, one thread).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import _peer_worker as worker  # noqa: E402  (same timing code on both sides)

from nasbench_suite import _core  # noqa: E402
from nasbench_suite._machine import cpu_name  # noqa: E402
from nasbench_suite.spaces import nb101, nb201  # noqa: E402

COMMAND = "python scripts/peer_bench.py --official-nasbench /tmp/official-nasbench"
WORKER = REPO / "scripts" / "_peer_worker.py"

# pip arguments per peer, one install per inner list (xautodl 1.0.0 declares
# an old numpy that no longer builds: installed without its dependencies,
# then the ones it imports).
PEERS = {
    "official": [["numpy", "absl-py"]],
    "syne-tune": [["syne-tune==0.16.0", "huggingface_hub", "h5py", "fastparquet"]],
    "xautodl": [["--no-deps", "xautodl==1.0.0"], ["torch==2.13.0", "numpy", "pyyaml"]],
    "nasbench-pytorch": [["nasbench-pytorch==1.3.1", "torch==2.13.0", "numpy"]],
}
DISTRIBUTION = {"official": None, "syne-tune": "syne-tune", "xautodl": "xautodl",
                "nasbench-pytorch": "nasbench-pytorch"}
MARKER = ".nasbench-suite-peer.json"

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NB101_MATRIX = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
NB101_OPS = ["input", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
             "maxpool3x3", "output"]


# ------------------------------------------------------------------ venvs
def ensure_env(root: Path, name: str) -> Path | None:
    """The peer's venv python, built (or rebuilt) when its marker differs."""
    env = root / name
    py = env / "bin" / "python"
    spec = PEERS[name]
    marker = env / MARKER
    if py.exists() and marker.exists() and json.loads(marker.read_text()) == spec:
        return py
    root.mkdir(parents=True, exist_ok=True)
    log = root / f"{name}.log"
    print(f"building the {name} venv in {env} (log: {log})", flush=True)
    with log.open("w") as f:
        steps = [[sys.executable, "-m", "venv", "--clear", str(env)]]
        steps += [[str(py), "-m", "pip", "install", *args] for args in spec]
        for cmd in steps:
            if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
                print(f"  {name}: '{' '.join(cmd)}' failed; see {log}", flush=True)
                return None
    marker.write_text(json.dumps(spec))
    return py


def peer_version(py: Path, dist: str | None) -> str:
    if dist is None:
        return "local checkout"
    out = subprocess.run([str(py), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def run_worker(py: Path, job: dict, tmp: Path) -> dict:
    jp, op = tmp / "job.json", tmp / "out.json"
    jp.write_text(json.dumps(job))
    done = subprocess.run([str(py), str(WORKER), str(jp), str(op)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"peer worker ({job['task']}) failed:\n{done.stderr[-3000:]}")
    return json.loads(op.read_text())


# ------------------------------------------------------------------ inputs
def seven_vertex_batch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n valid 7-vertex cells (every vertex kept by pruning, <= 9 edges),
    uniform over such matrices, uniform ops, from default_rng(0): the batch
    of tests/benchmarks/test_bench_core.py."""
    v = nb101.MAX_VERTICES
    rows, cols = np.triu_indices(v, 1)
    words = np.arange(1 << rows.size, dtype=np.uint32)
    bits = np.unpackbits(words.view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")[:, : rows.size]
    bits = bits[bits.sum(axis=1, dtype=np.int32) <= nb101.MAX_EDGES]
    m = np.zeros((len(bits), v, v), dtype=np.uint8)
    m[:, rows, cols] = bits
    indeg, outdeg = m.sum(axis=1, dtype=np.int32), m.sum(axis=2, dtype=np.int32)
    full = m[(indeg[:, 1:] > 0).all(axis=1) & (outdeg[:, :-1] > 0).all(axis=1)]
    rng = np.random.default_rng(0)
    mats = full[rng.integers(0, len(full), size=n)]
    labels = np.empty((n, v), dtype=np.int64)
    labels[:, 0], labels[:, -1] = nb101.LABEL_INPUT, nb101.LABEL_OUTPUT
    labels[:, 1:-1] = rng.integers(0, len(nb101.OPS), size=(n, v - 2))
    return mats, labels


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "n": len(xs)}


# ------------------------------------------------------------------ comparisons
def compare_hash(py, official, tmp, rounds, cells):
    mats, labels = seven_vertex_batch(cells)
    np.save(tmp / "m.npy", mats)
    np.save(tmp / "l.npy", labels)
    job = {"task": "hash", "official": str(official), "matrices": str(tmp / "m.npy"), "labels": str(tmp / "l.npy")}
    paths = [p for p in ("avx512", "avx2", "scalar") if p in _core.md5_paths()]
    was = _core.md5_path()
    ours = {p: [] for p in paths}
    our_hashes, theirs, official_hashes = {}, [], None
    try:
        for _ in range(rounds):
            for p in paths:
                _core.md5_set_path(p)
                t = time.perf_counter()
                h = nb101.hash_many(mats, labels, threads=1)
                ours[p].append(time.perf_counter() - t)
                our_hashes.setdefault(p, [str(x) for x in h])
            out = run_worker(py, job, tmp)
            theirs.append(out["seconds"])
            official_hashes = out["hashes"]
    finally:
        _core.md5_set_path(was)
    checks = [(f"{p}: all {cells:,} hashes equal the official ones", our_hashes[p] == official_hashes) for p in paths]
    rows = [(f"ours, {p} MD5, 1 thread", stats(ours[p]), cells) for p in paths]
    return {"title": f"NB101 module hash, {cells:,} valid 7-vertex cells (one thread)",
            "short": f"NB101 hash, {cells:,} cells, 1 thread", "peer_short": "official hash_module",
            "peer": "official `graph_util.hash_module`", "peer_stats": stats(theirs), "rows": rows,
            "unit": "cell", "checks": checks,
            "notes": ["Per cell: whole-batch time / cells. The batch is the one of "
                      "`tests/benchmarks/test_bench_core.py` (uniform over full 7-vertex matrices with <= 9 "
                      "edges, uniform ops, `default_rng(0)`); ours takes arrays, the official code one numpy "
                      "matrix and a label list per cell. Issue 19's target for one thread: at least 24x the "
                      "official code."]}


def compare_enum(py, official, tmp, rounds, max_vertices):
    job = {"task": "enum", "official": str(official), "max_vertices": max_vertices,
           "output_file": str(tmp / "graphs.json")}
    ours, theirs = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        e = nb101.enumerate_space(max_vertices=max_vertices)
        hashes = sorted(str(h) for h in e.hashes())
        ours.append(time.perf_counter() - t)
        out = run_worker(py, job, tmp)
        theirs.append(out["seconds"])
    checks = [(f"same hash set ({len(hashes):,} unique cells up to {max_vertices} vertices; official "
               f"{len(out['hashes']):,})", hashes == out["hashes"])]
    return {"title": f"NB101 enumeration up to {max_vertices} vertices, <= 9 edges",
            "short": f"NB101 enumeration, <= {max_vertices} vertices", "peer_short": "official generate_graphs.py",
            "peer": "official `generate_graphs.py` (default flags: `verify_isomorphism` on)",
            "peer_stats": stats(theirs), "rows": [("ours: `nb101.enumerate_space` + `.hashes()`", stats(ours), 1)],
            "unit": "run", "checks": checks,
            "notes": ["Ours: exact canonical forms, then the official hash of each unique cell; the official "
                      "script hashes every labelled DAG and checks each hash collision by brute-force "
                      "isomorphism (its default), and writes its JSON (a few MB; included in its time)."]}


def nb201_table(bench, dataset):
    n = nb201.NUM_CELLS if hasattr(nb201, "NUM_CELLS") else 15625
    idx = np.arange(n)
    valid = bench.query(idx, "valid_acc", fidelity=12, dataset=dataset)
    test = bench.query(idx, "test_acc", fidelity=200, dataset=dataset)
    archs = [nb201.arch_string(int(i)) for i in idx]
    return archs, valid, test


def edge_ops(arch: str) -> list[str]:
    return [tok.split("~")[0] for node in arch.split("+") for tok in node.strip("|").split("|")]


def compare_syne(py, bench, tmp, rounds, algo, evaluations, dataset):
    from nasbench_suite.runner import run_search

    archs, valid, test = nb201_table(bench, dataset)
    cols = [f"edge{k}" for k in range(6)]
    rows_ops = [edge_ops(a) for a in archs]
    by_ops = {tuple(r): i for i, r in enumerate(rows_ops)}
    d = nb201.SPACE.strategy_defaults["regularized_evolution"]
    job = {"task": "syne", "algo": algo, "columns": cols, "archs": rows_ops,
           "choices": sorted({op for r in rows_ops for op in r}), "objectives": ["valid_acc@12", "test_acc@200"],
           "values": np.stack([valid, test], axis=1).tolist(), "fidelity": 200, "evaluations": evaluations,
           "population_size": d["population_size"], "sample_size": d["sample_size"]}
    strategy = "regularized_evolution" if algo == "RE" else "random_search"
    ours, theirs, lens, bad = [], [], [], 0
    evaluated = 0
    run_search(bench, strategy, seed=10_000, budget={"queries": 20}, search_metric="valid_acc@12",
               report_metric="test_acc@200", dataset=dataset)  # warm-up, not timed (the worker does one too)
    for r in range(rounds):
        t = time.perf_counter()
        traj = run_search(bench, strategy, seed=r, budget={"queries": evaluations}, search_metric="valid_acc@12",
                          report_metric="test_acc@200", dataset=dataset, strategy_kwargs={"dedup": False})
        ours.append(time.perf_counter() - t)
        lens.append(len(traj))
        out = run_worker(py, {**job, "seed": r}, tmp)
        theirs.append(out["seconds"])
        evaluated += len(out["evaluated"])
        for ops, (v, te) in out["evaluated"]:
            i = by_ops[tuple(ops)]
            bad += (v != valid[i]) or (te != test[i])
    name = "regularized evolution" if algo == "RE" else "random search"
    checks = [(f"budget: ours {sorted(set(lens))} evaluations per run, Syne Tune {evaluated // rounds} "
               f"(asked {evaluations})", set(lens) == {evaluations} and evaluated == evaluations * rounds),
              (f"table values: all {evaluated:,} values Syne Tune's blackbox returned equal our table's "
               f"(valid_acc@12, test_acc@200 of {dataset})", bad == 0)]
    peer = (f"Syne Tune `REA(population_size={d['population_size']}, sample_size={d['sample_size']})`"
            if algo == "RE" else "Syne Tune `RandomSearch`")
    return {"title": f"{name}, {evaluations} evaluations on the NB201 table ({dataset})",
            "short": f"{algo}, {evaluations} evaluations, NB201 table", "peer_short": f"Syne Tune {algo}",
            "peer": peer + " ask/tell over a `BlackboxTabular` of the same values", "peer_stats": stats(theirs),
            "rows": [(f"ours: `run_search(..., '{strategy}', dedup=False)`", stats(ours), 1)], "unit": "run",
            "checks": checks,
            "notes": ["Per run, seeds 0..rounds-1 on both sides. Syne Tune's samplers ignore `random_seed` and "
                      "draw from numpy's global generator, so the worker also calls `np.random.seed(seed)`. "
                      "Its time covers the scheduler's `suggest`/`on_trial_complete` and the blackbox lookups "
                      "(no Tuner, no simulator backend: those would only add to its time); ours covers the "
                      "whole `run_search` (strategy, table queries, trajectory). `dedup=False` so that both "
                      "sides spend every evaluation, repeats included."]}


def _our_net_time(model, batch, steps, threads):
    x, y = worker._inputs({"batch": batch, "threads": threads})
    return worker._time_steps(model.train(), x, y, steps)


def compare_nets(py, tmp, rounds, which, batch, steps):
    import torch

    from nasbench_suite.train.networks import build_network, count_params

    torch.manual_seed(0)
    if which == "xautodl":
        model = build_network(nb201.SPACE, nb201.Cell.from_string(NB201_ARCH), 10)
        job = {"task": "xautodl", "arch": NB201_ARCH}
        title, peer = f"NB201 network `{NB201_ARCH}` (C=16, N=5), CIFAR-10 shapes", "xautodl 1.0.0"
    else:
        model = build_network(nb101.SPACE, nb101.Cell(NB101_MATRIX, NB101_OPS), 10)
        job = {"task": "nbpt", "matrix": NB101_MATRIX, "ops": NB101_OPS}
        title, peer = "NB101 network (stem 128, 3 stacks x 3 cells), a 7-vertex cell", "nasbench-pytorch 1.3.1"
    job.update(batch=batch, steps=steps, threads=1)
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(_our_net_time(model, batch, steps, 1))
        out = run_worker(py, job, tmp)
        theirs.append(out["seconds"])
    ours_params = count_params(model)
    extra = out.get("placeholder_params", 0)
    if extra:
        checks = [(f"parameters: ours {ours_params:,}; nasbench-pytorch {out['params']:,}, of which {extra} are "
                   f"its placeholder scalars (`Placeholder.a`: one where a cell has no op, vertex 0 and each vertex "
                   f"the input does not feed; `forward` returns its input, the scalar is never used); without them {out['params'] - extra:,}", out["params"] - extra == ours_params)]
    else:
        checks = [(f"parameters: ours {ours_params:,}, {peer} {out['params']:,}", out["params"] == ours_params)]
    return {"title": title, "peer": peer, "peer_stats": stats(theirs), "peer_short": peer,
            "short": ("NB201" if which == "xautodl" else "NB101") + " network, one training step",
            "rows": [("ours: `build_network`", stats(ours), 1)], "unit": "step", "checks": checks,
            "notes": [f"One training step (forward, cross-entropy, backward) on a batch of {batch} random "
                      f"32x32 images, one torch thread, median of {steps} steps after a warm-up step, per round."]}


# ------------------------------------------------------------------ report
def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:,.1f} ms"
    return f"{seconds:,.2f} s"


def section(c: dict) -> list[str]:
    ps = c["peer_stats"]
    unit = c["unit"]
    lines = [f"## {c['title']}", "", f"Peer: {c['peer']}.", "",
             f"| side | median / {unit} | min / {unit} | peer / ours (median) | peer / ours (min) |",
             "|---|---:|---:|---:|---:|"]
    per = {}
    for label, s, n in c["rows"]:
        med, mn = s["median"] / n, s["min"] / n
        n_peer = n
        pmed, pmin = ps["median"] / n_peer, ps["min"] / n_peer
        per[label] = (pmed / med, pmin / mn)
        lines.append(f"| {label} | {fmt(med)} | {fmt(mn)} | **{pmed / med:,.1f}x** | {pmin / mn:,.1f}x |")
    n = c["rows"][0][2]
    lines.append(f"| peer | {fmt(ps['median'] / n)} | {fmt(ps['min'] / n)} | 1x | 1x |")
    lines += ["", f"Rounds: {ps['n']} per side, interleaved.", "", "Same results:", ""]
    lines += [f"- {'PASS' if ok else '**FAIL**'}: {desc}" for desc, ok in c["checks"]]
    lines += [""] + [f"Note: {t}" for t in c["notes"]] + [""]
    return lines


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def write_report(path: Path, comps: list[dict], skipped: list[str], versions: dict, load0: str, started: str):
    lines = [
        "# Peers: the same work timed here and in the tools users would pick instead", "",
        "Made by one command (from the repository root):", "", "```", COMMAND, "```", "",
        "`/tmp/official-nasbench`: a checkout of https://github.com/google-research/nasbench (only "
        "`nasbench/lib/graph_util.py` and `nasbench/scripts/generate_graphs.py` are used, TensorFlow is not "
        "needed; never copied into this repository). Without it the hash and enumeration comparisons are "
        "skipped with a message.", "",
        "`scripts/peer_bench.py` builds each peer in its own venv from the package registry, runs the same "
        "inputs on both sides in interleaved rounds, checks that both sides give the same results, and "
        "writes this file. Ratios are peer time / our time (higher: ours faster); medians are the figure, "
        "minimums the one least disturbed by other processes.", "",
        "## Machine", "",
        f"- CPU: {cpu_name()}; {os.cpu_count()} logical cores; MD5 paths here: {', '.join(_core.md5_paths())}",
        f"- Python {platform.python_version()}, numpy {np.__version__}; {platform.platform()}",
        f"- Load average (1 / 5 / 15 min) at the start: {load0}; at the end: {loadavg()}. This machine is "
        "shared: figures are indicative, rerun on a quiet machine for publication.",
        f"- Run: {started} UTC", "",
        "## Summary", "", "| comparison | peer | ours | ratio (median) | ratio (min) | same results |",
        "|---|---|---|---:|---:|---|",
    ]
    for c in comps:
        ps = c["peer_stats"]
        ok = all(x for _, x in c["checks"])
        for label, s, _ in c["rows"]:
            lines.append(f"| {c['short']} | {c['peer_short']} | {label.replace('|', '/')} | "
                         f"{ps['median'] / s['median']:,.1f}x | {ps['min'] / s['min']:,.1f}x | "
                         f"{'yes' if ok else '**NO**'} |")
    lines += [""]
    if skipped:
        lines += ["Skipped: " + "; ".join(skipped), ""]
    lines += ["Peer versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), ""]
    for c in comps:
        lines += section(c)
    path.write_text("\n".join(lines).rstrip() + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official-nasbench", type=Path, default=None,
                    help="checkout of google-research/nasbench (DIR/nasbench/lib/graph_util.py)")
    ap.add_argument("--peers-dir", type=Path, default=Path.home() / ".cache" / "nasbench-suite" / "peers")
    ap.add_argument("--nb201-source", type=Path, default=REPO.parent / "shared" / "data" / "nb201")
    ap.add_argument("--out", type=Path, default=REPO / "reports" / "peers.md")
    ap.add_argument("--only", nargs="*", default=None, choices=["hash", "enum", "re", "rs", "xautodl", "nbpt"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--enum-rounds", type=int, default=3)
    ap.add_argument("--hash-cells", type=int, default=10_000)
    ap.add_argument("--enum-vertices", type=int, default=6)
    args = ap.parse_args(argv)
    want = set(args.only or ["hash", "enum", "re", "rs", "xautodl", "nbpt"])
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    load0 = loadavg()
    comps, skipped, versions = [], [], {}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)

        def env(name):
            py = ensure_env(args.peers_dir, name)
            if py is not None:
                versions[name] = peer_version(py, DISTRIBUTION[name])
            return py

        if want & {"hash", "enum"}:
            official = args.official_nasbench
            if official is None or not (official / "nasbench" / "lib" / "graph_util.py").is_file():
                msg = ("official NAS-Bench-101 code: not given (--official-nasbench DIR, a checkout of "
                       "google-research/nasbench); hash and enumeration comparisons skipped")
                print(msg, flush=True)
                skipped.append(msg)
            elif (py := env("official")) is None:
                skipped.append("official: its venv could not be built")
            else:
                if "hash" in want:
                    print("hash ...", flush=True)
                    comps.append(compare_hash(py, official.resolve(), tmp, args.rounds, args.hash_cells))
                if "enum" in want:
                    print("enum ...", flush=True)
                    comps.append(compare_enum(py, official.resolve(), tmp, args.enum_rounds, args.enum_vertices))
        if want & {"re", "rs"}:
            py = env("syne-tune")
            if py is None:
                skipped.append("syne-tune: its venv could not be built")
            else:
                from nasbench_suite.tables import Benchmark
                from nasbench_suite.tables.importers import import_table

                table = args.peers_dir / "tables" / "nb201_public.h5"
                if not table.exists():
                    table.parent.mkdir(parents=True, exist_ok=True)
                    import_table(recipe="nb201-public", source=str(args.nb201_source), out=str(table))
                bench = Benchmark.open(table)
                for algo in ("RE", "RS"):
                    if algo.lower() in want:
                        print(f"syne-tune {algo} ...", flush=True)
                        comps.append(compare_syne(py, bench, tmp, args.rounds, algo, 150, "cifar10"))
        for which, peer, batch in (("xautodl", "xautodl", 64), ("nbpt", "nasbench-pytorch", 16)):
            if which in want:
                py = env(peer)
                if py is None:
                    skipped.append(f"{peer}: its venv could not be built")
                    continue
                print(f"{peer} ...", flush=True)
                comps.append(compare_nets(py, tmp, args.rounds, which, batch, 3))
    write_report(args.out, comps, skipped, versions, load0, started)
    print(f"wrote {args.out}")
    return 0 if all(ok for c in comps for _, ok in c["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
