#!/usr/bin/env python
"""Zero-cost proxies against trained accuracy on the embedded table.
Writes ``OUT/README.md``, ``OUT/numbers.json`` and figures (PDF and PNG).

    python scripts/proxies_report.py                     # every row of tabular_data/nb201-digits.h5 -> reports/proxies

The embedded table ships with all 13 proxies of every row (computed by
``nasbench-suite proxies tabular_data/nb201-digits.h5 --proxies all --dataset
digits --workers 2``); the report reads them from the table, and recomputes
only the NaN ones to name why each is undefined. A table without them (or
``--rows N``) is copied to a temporary folder and the proxies are computed
there by ``nasbench_suite.proxies.table.proxies_table`` (the code behind
``nasbench-suite proxies``) for a uniform random sample of N rows; the table
given is never written. For each proxy: Spearman's rho and Kendall's tau
against the table's final test (and validation) accuracy, the precision of
its top 10%, and a scatter plot. Then each proxy's time for one network, on
one CPU thread: the digits network of the table (to cost the whole table)
and the NB201 CIFAR-sized network (C=16, N=5, 32x32 inputs).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = REPO / "tabular_data" / "nb201-digits.h5"
DEFAULT_OUT = REPO / "reports" / "proxies"
sys.path.insert(0, str(REPO))  # this checkout's nasbench_suite, whatever is installed


def precision_top(score: np.ndarray, truth: np.ndarray, frac: float = 0.1) -> float:
    """Fraction of the top ``frac`` rows by ``score`` that are in the top ``frac`` by ``truth``."""
    k = max(1, int(round(frac * score.size)))
    top_s = set(np.argsort(-score, kind="stable")[:k].tolist())
    top_t = set(np.argsort(-truth, kind="stable")[:k].tolist())
    return len(top_s & top_t) / k


def correlations(values: dict, truth: np.ndarray, valid: np.ndarray) -> dict:
    from scipy.stats import kendalltau, spearmanr

    out = {}
    for name, v in values.items():
        ok = np.isfinite(v) & np.isfinite(truth)
        rho = spearmanr(v[ok], truth[ok])[0]
        tau = kendalltau(v[ok], truth[ok])[0]
        okv = np.isfinite(v) & np.isfinite(valid)
        out[name] = {"spearman": float(rho), "kendall": float(tau), "spearman_valid": float(spearmanr(v[okv], valid[okv])[0]),
                     "top10_precision": precision_top(v[ok], truth[ok]), "rows": int(ok.sum()),
                     "nan": int((~np.isfinite(v)).sum())}
    return out


def nan_reasons(per_row: dict) -> dict:
    """{proxy: {reason: rows}} from the table run's {row: {proxy: reason}}."""
    out: dict = {}
    for reasons in per_row.values():
        for name, why in reasons.items():
            out.setdefault(name, {})
            out[name][why] = out[name].get(why, 0) + 1
    return out


def time_proxies(space, cells, num_classes, shape, preset, overrides, batch, reps: int = 1) -> dict:
    """Median seconds per network of each proxy (one thread), the network built once per cell."""
    from nasbench_suite import proxies as P

    times = {n: [] for n in P.PROXIES}
    build = []
    for cell in cells:
        t0 = time.perf_counter()
        net = P.network(space, cell, num_classes, shape[0], preset, seed=0, **overrides)
        build.append(time.perf_counter() - t0)
        for name, fn in P.PROXIES.items():
            best = np.inf
            for _ in range(reps):
                m = copy.deepcopy(net)
                m.train()
                t0 = time.perf_counter()
                try:
                    fn(m, batch.x, batch.y, 0)
                except P.ProxyUndefined:  # NaN for this network: timed all the same
                    pass
                best = min(best, time.perf_counter() - t0)
            times[name].append(best)
    out = {n: float(np.median(t)) for n, t in times.items()}
    out["_build"] = float(np.median(build))
    return out


def scatter(values: dict, truth: np.ndarray, stats: dict, out: Path, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(values)
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.5 * rows))
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        v = values[name]
        ok = np.isfinite(v) & np.isfinite(truth)
        x = v[ok]
        if x.size and (x > 0).all() and x.max() / x.min() > 1e3:
            ax.set_xscale("log")
        ax.scatter(x, truth[ok], s=3, alpha=0.4, linewidths=0, rasterized=True)  # a small PDF at 8,765 points
        s = stats[name]
        ax.set_title(f"{name}: rho {s['spearman']:.2f}, tau {s['kendall']:.2f}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel(metric, fontsize=8)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"scatter.{ext}", dpi=110)
    plt.close(fig)


def bars(stats: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(stats, key=lambda n: -stats[n]["spearman"])
    fig, ax = plt.subplots(figsize=(7, 3))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [stats[n]["spearman"] for n in names], 0.4, label="Spearman rho")
    ax.bar(x + 0.2, [stats[n]["kendall"] for n in names], 0.4, label="Kendall tau")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"correlations.{ext}", dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--rows", type=int, default=None,
                    help="compute the proxies on a copy for a sample of this many rows (default: every row, read "
                         "from the table when it holds the proxies, else a sample of 876)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the row sample (the proxies use seed 0)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-cells", type=int, default=20, help="networks timed per size (CIFAR-sized: a quarter)")
    ap.add_argument("--readme-only", action="store_true", help="rewrite OUT/README.md from OUT/numbers.json")
    args = ap.parse_args(argv)
    if args.readme_only:
        x = json.loads((args.out / "numbers.json").read_text())
        from nasbench_suite.cli.proxies import PROXY_NAMES  # the registry's order, without torch

        (args.out / "README.md").write_text(readme(x, [n for n in PROXY_NAMES if n in x["stats"]], x.get("argv")))
        return 0

    started = time.perf_counter()
    load_at_start = os.getloadavg()
    import torch

    from nasbench_suite import proxies as P
    from nasbench_suite._machine import cpu_name
    from nasbench_suite.proxies.table import metric_name, proxies_table, settings_by_dataset
    from nasbench_suite.tables import Benchmark

    torch.set_num_threads(1)
    names = list(P.PROXIES)
    args.out.mkdir(parents=True, exist_ok=True)
    with Benchmark.open(args.table) as b:
        n = len(b)
        fid = float(b.fidelities()[-1])
        dataset = b.datasets[0]
        stored = args.rows is None and all(metric_name(nm) in b.metrics(dataset) for nm in names)
    if stored:  # every row, from the table; only the NaN ones are recomputed, for their reasons
        sample = np.arange(n)
        with Benchmark.open(args.table) as b:
            truth = b.row_values("test_acc", fidelity=fid)
            valid = b.row_values("valid_acc", fidelity=fid)
            values = {nm: b.row_values(metric_name(nm)) for nm in names}
            prov = b.provenance["proxies"]
            settings = settings_by_dataset(prov)[dataset]
            cells = [b.cell(int(r)) for r in sample[: args.time_cells]]
            space = b.search_space.name
            nan_rows = sorted({int(r) for nm in names for r in np.flatnonzero(~np.isfinite(values[nm]))})
            nan_cells = {r: b.cell(r) for r in nan_rows}
        wall = sum(s["wall_seconds"] for s in prov["sessions"])
        cpu = sum(s["cpu_seconds"] for s in prov["sessions"])
        workers = sorted({str(s.get("executor", s.get("workers"))) for s in prov["sessions"]})
        per_row: dict = {}
        t0 = time.perf_counter()
        for r, cell in nan_cells.items():
            todo = [nm for nm in names if not np.isfinite(values[nm][r])]
            why: dict = {}
            again = P.compute_many(todo, space=space, cell=cell, dataset=dataset, preset=settings["preset"],
                                   seed=settings["seed"], batch_size=settings["batch_size"], reasons=why,
                                   **settings["overrides"])
            for nm in todo:  # the same settings give the same NaN: a value here would mean the table is stale
                if np.isfinite(again[nm]):
                    raise SystemExit(f"{args.table}: row {r} has {metric_name(nm)} NaN but it recomputes to "
                                     f"{again[nm]}; run nasbench-suite proxies on the table again")
            per_row[r] = why
        summary = {"nan": per_row}
        table_run = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "workers": ", ".join(workers),
                     "sessions": len(prov["sessions"]), "nan_recompute_s": round(time.perf_counter() - t0, 1)}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            table = Path(tmp) / args.table.name
            shutil.copyfile(args.table, table)
            sample = np.sort(np.random.default_rng(args.seed).choice(n, min(args.rows or 876, n), replace=False))
            t0 = time.perf_counter()
            summary = proxies_table(table, names, rows=sample, workers=args.workers, progress=False)
            wall = time.perf_counter() - t0
            with Benchmark.open(table) as b:
                truth = b.row_values("test_acc", fidelity=fid)[sample]
                valid = b.row_values("valid_acc", fidelity=fid)[sample]
                values = {nm: b.row_values(metric_name(nm))[sample] for nm in names}
                settings = settings_by_dataset(b.provenance["proxies"])[dataset]
                cells = [b.cell(int(r)) for r in sample[: args.time_cells]]
                space = b.search_space.name
        table_run = {"wall_s": round(wall, 1), "cpu_s": round(summary["cpu_seconds"], 1), "workers": args.workers}
    stats = correlations(values, truth, valid)
    scatter(values, truth, stats, args.out, f"test_acc@{fid:g}")
    bars(stats, args.out)

    # ---- time per network, one thread
    from nasbench_suite.train.presets import get_preset

    pre = get_preset(space, settings["preset"], **settings["overrides"])
    shape, classes = P.dataset_shape(dataset)
    digits_batch = P.minibatch(dataset, settings["batch_size"], 0, pre.splits)
    t_digits = time_proxies(space, cells, classes, shape, settings["preset"], settings["overrides"], digits_batch)
    gen = torch.Generator().manual_seed(0)
    cifar = P.Batch(torch.randn((64, 3, 32, 32), generator=gen), torch.randint(0, 10, (64,), generator=gen), 10,
                    "64 Gaussian images 3x32x32 with random labels (timing only)")
    t_cifar = time_proxies(space, cells[: max(1, args.time_cells // 4)], 10, (3, 32, 32), "official", {}, cifar)
    full_digits = n * (sum(t_digits[k] for k in names) + t_digits["_build"]) / 3600.0
    synflow_space = 15625 * (t_cifar["synflow"] + t_cifar["_build"]) / 3600.0

    numbers = {"table": str(args.table.relative_to(REPO)) if args.table.is_relative_to(REPO) else str(args.table),
               "rows_in_table": n, "sample_rows": int(sample.size), "sample_seed": None if stored else args.seed,
               "from_table": stored, "metric": f"test_acc@{fid:g} (mean of the seeds)", "settings": settings,
               "table_run": table_run,
               "nan": {nm: stats[nm]["nan"] for nm in names}, "nan_reasons": nan_reasons(summary["nan"]),
               "stats": stats, "seconds_per_network_digits": t_digits, "seconds_per_network_cifar": t_cifar,
               "full_table_core_hours_estimate": full_digits, "synflow_all_nb201_cifar_core_hours_estimate":
               synflow_space, "torch": torch.__version__, "cpu": cpu_name(), "threads": 1,
               "report_wall_s": round(time.perf_counter() - started, 1), "argv": list(argv or []),
               "load_average": {"start": [round(v, 2) for v in load_at_start],
                                "end": [round(v, 2) for v in os.getloadavg()]}, "cores": os.cpu_count()}
    (args.out / "numbers.json").write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    (args.out / "README.md").write_text(readme(numbers, names, argv))
    print(f"{args.out}: {sample.size} rows, {wall:.0f} s wall")
    return 0


def readme(x: dict, names: list, argv) -> str:
    cmd = "python scripts/proxies_report.py" + ("" if not argv else " " + " ".join(shlex.quote(a) for a in argv))
    s, td, tc = x["stats"], x["seconds_per_network_digits"], x["seconds_per_network_cifar"]
    order = sorted(names, key=lambda nm: -s[nm]["spearman"])
    full = x.get("from_table", False)
    if full:
        run = x["table_run"]
        scope = (f"**Every row**: all {x['rows_in_table']:,} rows of `{x['table']}` (one per isomorphism class of "
                 "NB201, plus the disconnected cell). The table ships with the 13 proxies as static metrics "
                 "`zc_<name>` (computed by `nasbench-suite proxies tabular_data/nb201-digits.h5 --proxies all "
                 f"--dataset digits --workers 2`: {run['cpu_s']:,.0f} CPU s in its workers, {run['wall_s']:,.0f} s "
                 f"wall, {run['workers']}; the table's provenance key `proxies` records it); this report reads "
                 "them and recomputes only the NaN ones, to name the reason, checking they are NaN again "
                 f"({run['nan_recompute_s']:.0f} s). Ground truth: {x['metric']}.")
    else:
        scope = (f"**This is a sample**: {x['sample_rows']} of the {x['rows_in_table']:,} rows of `{x['table']}` "
                 "(one per isomorphism class of NB201, plus the disconnected cell), drawn uniformly (numpy "
                 f"Generator, seed {x['sample_seed']}). Ground truth: {x['metric']}; the proxies were computed on "
                 "a temporary copy of the table by `nasbench_suite.proxies.table.proxies_table` (what "
                 "`nasbench-suite proxies` runs); the table given is not modified.")
    lines = [
        "# Zero-cost proxies on the embedded table" + ("" if full else " (a sample)"),
        "",
        f"Made by one command ({x['report_wall_s'] / 60:.0f} minutes wall on a shared 2-core machine):",
        "",
        f"    {cmd}",
        "",
        scope,
        "",
        f"Settings: the table's own networks (preset `{x['settings']['preset']}`, overrides "
        f"{x['settings']['overrides']}), initial weights from seed {x['settings']['seed']}, a minibatch of "
        f"{x['settings']['batch_size']} images of the {x['settings']['dataset']} training split (seed "
        f"{x['settings']['seed']}) for the data-dependent proxies; torch {x['torch']}, {x['cpu']}. "
        "Direction: a higher score predicts a better network for every proxy (as in Abdelfattah et al. 2021).",
        "",
        "## Rank correlation with the final test accuracy",
        "",
        "| proxy | Spearman rho | Kendall tau | top-10% precision | Spearman vs valid_acc | NaN rows |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for nm in order:
        r = s[nm]
        lines.append(f"| {nm} | {r['spearman']:.3f} | {r['kendall']:.3f} | {r['top10_precision']:.2f} | "
                     f"{r['spearman_valid']:.3f} | {r['nan']} |")
    lines += [
        "",
        "Top-10% precision: of the rows in the proxy's top 10%, the fraction that are in the top 10% by "
        "test accuracy (0.10 is chance). NaN rows (a proxy undefined for the network, e.g. `jacov` and `epe_nas` "
        "of a network whose output does not depend on its input) are left out of that proxy's statistics.",
        "",
    ]
    for nm, reasons in sorted(x["nan_reasons"].items()):
        for why, count in sorted(reasons.items()):
            lines.append(f"- {nm} is NaN for {count} row{'s' if count != 1 else ''}: {why}.")
    lines += [
        "",
        "For orientation only (another data set and network): over all of NB201 on CIFAR-10 / CIFAR-100 / "
        "ImageNet16-120, Abdelfattah et al. 2021 report Spearman 0.737 / 0.763 / 0.751 for synflow, 0.594 / "
        "0.637 / 0.578 for grad_norm and 0.731 / 0.704 / 0.701 for jacob_cov (REFERENCE.md). Here the networks "
        "are 8-channel, one cell per stage, on 8x8 digits trained 7 epochs"
        + (", over every class." if full else ", and the sample is 10% of the classes."),
        "",
        "![scatter](scatter.png)",
        "",
        "![correlations](correlations.png)",
        "",
        "## Time per network (CPU, one thread: `torch.set_num_threads(1)`)",
        "",
        f"Median seconds of each proxy for one network, the network already built (build: digits "
        f"{td['_build'] * 1e3:.1f} ms, CIFAR-sized {tc['_build'] * 1e3:.1f} ms). Digits: the table's network "
        f"(C=8, N=1, 1x8x8 inputs), batch {x['settings']['batch_size']}. CIFAR-sized: the official NB201 network "
        "(C=16, N=5, 3x32x32 inputs, 10 classes), batch 64 of Gaussian images with random labels (the time does "
        "not depend on the pixels; the CIFAR files are not on this machine). "
        + (f"Load average (1, 5, 15 min) on the {x['cores']} cores: {x['load_average']['start']} when the report "
           f"started, {x['load_average']['end']} when it ended; other jobs can only lengthen these times."
           if "load_average" in x else "The machine's cores were shared with other jobs while this ran: the "
           "times are upper bounds."),
        "",
        "| proxy | digits network (ms) | NB201 CIFAR-sized network (ms) |",
        "|---|---:|---:|",
    ]
    for nm in names:
        lines.append(f"| {nm} | {td[nm] * 1e3:.1f} | {tc[nm] * 1e3:.1f} |")
    total_d = sum(td[nm] for nm in names)
    total_c = sum(tc[nm] for nm in names)
    lines += [
        f"| all 13 | {total_d * 1e3:.1f} | {total_c * 1e3:.1f} |",
        "",
        (f"Full cost of all 13 proxies for all {x['rows_in_table']:,} rows of the embedded table: "
         f"{x['full_table_core_hours_estimate']:.2f} core-hours from these medians (network builds included); "
         + (f"measured by the table run, {x['table_run']['cpu_s']:,.0f} CPU s in its workers (minibatch, copies, "
            f"journal included; {x['table_run']['wall_s']:,.0f} s wall), "
            f"{x['table_run']['cpu_s'] / 3600:.2f} core-hours, "
            f"{1000 * x['table_run']['cpu_s'] / x['rows_in_table']:.0f} ms of CPU per row. " if full else
            f"extrapolated from the table run of this sample, {x['table_run']['cpu_s']:.0f} CPU s in its workers "
            f"for {x['sample_rows']} rows (minibatch, copies, journal included; {x['table_run']['wall_s']:.0f} s "
            f"wall with {x['table_run']['workers']} workers), "
            f"{x['table_run']['cpu_s'] * x['rows_in_table'] / x['sample_rows'] / 3600:.2f} core-hours. ")
         + "Data-free synflow over all 15,625 NB201 CIFAR-sized networks: "
         f"{x['synflow_all_nb201_cifar_core_hours_estimate']:.2f} core-hours (the issue's bound: 1 core-hour)."),
        "",
        "## How each proxy is computed",
        "",
        "`nasbench_suite/proxies/measures.py` (the paper and the formula in each docstring). synflow runs in "
        "float64 on a copy with |weights| and without BN, so the product of weights along the paths cannot "
        "overflow on these networks (float64 reaches 1.8e308); an infinite or NaN score becomes NaN with the "
        "reason logged. zen leaves out a BN whose input is constant (a convolution fed only by `none` edges: its "
        "output is zero whatever its scale).",
        "",
        "`numbers.json` holds every number above.",
        "",
        "Over the whole NB201 space, on the CIFAR-10, CIFAR-100 and ImageNet16-120 networks (data-free proxies "
        "of every cell, beside the published figures): [nb201.md](nb201.md), made by "
        "`python scripts/proxies_nb201.py`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
