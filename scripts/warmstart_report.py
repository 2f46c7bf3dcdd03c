"""Zero-cost warm start and predictor-guided local search against their cold
versions (issue 17, item 5): writes ``reports/warmstart/``.

    python scripts/warmstart_report.py

The NB201 table with its proxies is ``build/proxies/nb201-full.h5``, which
``python scripts/proxies_nb201.py`` writes (``--nb201`` or ``$NB201_FULL``
name another copy; without it the NB201 part is listed as missing). On the
embedded table (``tabular_data/nb201-digits.h5``, digits, search
valid_acc@7, report test_acc@7, 100 queries) and on NB201 CIFAR-10 (the
``nb201-full`` table, search valid_acc@12, report test_acc@200, 150
queries): regularized evolution, BANANAS and local search cold vs
warm-started (N = 3000 with each proxy of ``--embedded-proxies`` /
``--nb201-proxies``, default synflow and params; on the embedded table also
synflow at N = 300), predictor-guided local search (mlp_ensemble) and its
random-order ablation against local search; ``--seeds`` seeds each
(default 20, 0..19), one simulated worker, ``--workers`` processes. Writes ``README.md`` (tables, captions), ``numbers.json`` and one
figure per table (regret vs queries and vs simulated seconds). The proxy's
simulated seconds per network (network build + proxy, one CPU thread) are
the medians measured in ``reports/proxies/numbers.json``, on the table's
network (digits) or the CIFAR-sized NB201 network; the time axis includes
``warm_start_n`` x that.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: written (with zc_synflow/params/flops of CIFAR-10) by scripts/proxies_nb201.py
DEFAULT_NB201 = str(REPO / "build" / "proxies" / "nb201-full.h5")
N_WARM = 3000
EARLY = 30  # the table's early column: after this many queries


def tables(args):
    """(key, settings) of each table the report runs on."""
    return [
        ("embedded", {"path": args.embedded, "dataset": "digits", "search": "valid_acc@7", "report": "test_acc@7",
                      "queries": 100, "proxies": args.embedded_proxies.split(","), "timing": "digits", "small_n": 300,
                      "title": "embedded table (nb201-digits, digits)"}),
        ("nb201", {"path": args.nb201, "dataset": "cifar10", "search": "valid_acc@12", "report": "test_acc@200",
                   "queries": 150, "proxies": args.nb201_proxies.split(","), "timing": "cifar", "small_n": None,
                   "title": "NB201 CIFAR-10 (nb201-full)"}),
    ]


def configs(proxies: list, seconds: dict, small_n: int | None = None) -> list:
    """(label, strategy, kwargs, baseline label or None) of the runs on one table:
    each strategy cold and warm-started with each proxy (N = 3000), and with
    the first proxy at N = ``small_n`` too."""
    out = []
    for strat, short in (("regularized_evolution", "RE"), ("bananas", "BANANAS"), ("local_search", "LS")):
        out.append((short, strat, {}, None))
        for i, p in enumerate(proxies):
            for n in [N_WARM] + ([small_n] if small_n and i == 0 else []):
                out.append((f"{short} warm {p}" + (f" N={n}" if n != N_WARM else ""), strat,
                            {"warm_start": p, "warm_start_n": n, "warm_start_seconds": seconds[p]}, short))
    out.append(("PLS random order", "predictor_local_search", {"predictor": None}, "LS"))
    out.append(("PLS mlp_ensemble", "predictor_local_search", {"predictor": "mlp_ensemble"}, "LS"))
    out.append(("PLS mlp_ensemble vs random order", None, None, None))  # a comparison row only
    return out


def _run(job):
    from nasbench_suite.runner import run_search

    path, dataset, search, report, queries, label, strat, kw, seed = job
    t0 = time.process_time()
    traj = run_search(path, strat, seed, {"queries": queries}, search_metric=search, report_metric=report,
                      dataset=dataset, strategy_kwargs=kw)
    return label, seed, traj.to_bytes(), time.process_time() - t0


def paired(a, b, rng, n_boot: int = 10000):
    """Mean paired difference a - b, its 95% bootstrap CI and the Wilcoxon p."""
    import numpy as np

    from nasbench_suite.report.aggregate import wilcoxon_p

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[np.isfinite(d)]
    idx = rng.integers(0, d.size, size=(n_boot, d.size))
    boot = d[idx].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"mean": float(d.mean()), "ci95": [float(lo), float(hi)], "wilcoxon_p": wilcoxon_p(np.asarray(a),
                                                                                              np.asarray(b)),
            "n": int(d.size)}


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from nasbench_suite._machine import cpu_name
    from nasbench_suite.report.aggregate import mean_se, query_matrix, time_matrix
    from nasbench_suite.runner.search import parse_metric
    from nasbench_suite.runner.trajectory import Trajectory
    from nasbench_suite.strategies.warmstart import proxy_seconds
    from nasbench_suite.tables import Benchmark

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedded", default=str(REPO / "tabular_data" / "nb201-digits.h5"))
    ap.add_argument("--nb201", default=os.environ.get("NB201_FULL", DEFAULT_NB201))
    ap.add_argument("--embedded-proxies", default="synflow,params")
    ap.add_argument("--nb201-proxies", default="synflow,params")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default=None, help="embedded or nb201")
    ap.add_argument("--out", default=str(REPO / "reports" / "warmstart"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timing = json.loads((REPO / "reports" / "proxies" / "numbers.json").read_text())
    t_start = time.perf_counter()
    numbers = {"argv": sys.argv[1:], "cpu": cpu_name(), "python": platform.python_version(), "seeds": args.seeds,
               "warm_start_n": N_WARM, "tables": {}, "missing": []}
    sections = []
    for key, tb in tables(args):
        if args.only and key != args.only:
            continue
        if not os.path.isfile(tb["path"]):
            numbers["missing"].append(f"{key}: {tb['path']} not found")
            continue
        bench = Benchmark.open(tb["path"])
        per_net = timing[f"seconds_per_network_{tb['timing']}"]
        have = [p for p in tb["proxies"]
                if f"zc_{p}" in bench.metrics(tb["dataset"])
                and np.isfinite(bench.row_values(f"zc_{p}", None, tb["dataset"])).mean() > 0.99]
        for p in tb["proxies"]:
            if p not in have:
                numbers["missing"].append(f"{key}: zc_{p} absent or incomplete in {tb['path']}")
        seconds = {p: per_net["_build"] + per_net[p] for p in have}
        cfgs = configs(have, seconds, tb["small_n"])
        jobs = [(tb["path"], tb["dataset"], tb["search"], tb["report"], tb["queries"], label, strat, kw, seed)
                for label, strat, kw, _ in cfgs if strat is not None for seed in range(args.seeds)]
        trajs: dict = {}
        cpu: dict = {}
        with ProcessPoolExecutor(args.workers) as ex:
            for label, seed, data, cpu_s in ex.map(_run, jobs, chunksize=4):
                trajs.setdefault(label, {})[seed] = Trajectory.from_bytes(data)
                cpu[label] = cpu.get(label, 0.0) + cpu_s
        labels = [c[0] for c in cfgs if c[1] is not None]
        r_name, r_fid = parse_metric(tb["report"], bench, tb["dataset"])
        _, best = bench.best(r_name, r_fid, tb["dataset"])
        runs = {lb: [trajs[lb][s] for s in range(args.seeds)] for lb in labels}
        q = tb["queries"]
        qm = {lb: query_matrix(runs[lb], q) for lb in labels}
        t_end = min(float(t.time[-1]) for lb in labels for t in runs[lb])
        t_first = min(float(t.time[0]) for lb in labels for t in runs[lb])
        grid = np.geomspace(t_first, max(float(t.time[-1]) for lb in labels for t in runs[lb]), 200)
        tm = {lb: time_matrix(runs[lb], grid) for lb in labels}
        at_t = {lb: time_matrix(runs[lb], np.array([t_end]))[:, 0] for lb in labels}
        rng = np.random.default_rng(0)
        rows = []
        for label, strat, kw, base in cfgs:
            if strat is None:
                a, b = "PLS mlp_ensemble", "PLS random order"
            else:
                a, b = label, base
            entry = {"label": label}
            if strat is not None:
                fin = qm[label][:, -1]
                early = qm[label][:, EARLY - 1]
                entry.update(final_mean=float(fin.mean()), final_std=float(fin.std(ddof=1)),
                             early_mean=float(early.mean()), early_std=float(early.std(ddof=1)),
                             at_t_mean=float(np.nanmean(at_t[label])), at_t_std=float(np.nanstd(at_t[label], ddof=1)),
                             cpu_s=cpu[label], warm=runs[label][0].meta.get("warm_start"))
            if b is not None:
                entry["vs"] = b
                entry["paired_early"] = paired(qm[a][:, EARLY - 1], qm[b][:, EARLY - 1], rng)
                entry["paired_final"] = paired(qm[a][:, -1], qm[b][:, -1], rng)
                entry["paired_at_t"] = paired(at_t[a], at_t[b], rng)
            rows.append(entry)
        # figure: rows = family, columns = queries / seconds
        fams = [("RE and BANANAS", [lb for lb in labels if lb.startswith(("RE", "BANANAS"))]),
                ("local search", [lb for lb in labels if lb.startswith(("LS", "PLS"))])]
        fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), squeeze=False)
        cmap = plt.get_cmap("tab10")
        for i, (fam, lbs) in enumerate(fams):
            for j, (x, mats, xlabel) in enumerate(((np.arange(1, q + 1), qm, "queries (finished evaluations)"),
                                                   (grid, tm, "simulated seconds (proxy time included)"))):
                ax = axes[i][j]
                for k, lb in enumerate(lbs):
                    m, se = mean_se(best - mats[lb])
                    ls = "-" if "warm" not in lb and "mlp" not in lb else "--"
                    ax.plot(x, m, ls, color=cmap(k), label=lb)
                    ax.fill_between(x, m - se, m + se, color=cmap(k), alpha=0.15, lw=0)
                if min(np.nanmin(mean_se(best - mats[lb])[0]) for lb in lbs) > 0:
                    ax.set_yscale("log")
                else:  # every run of a curve found the table's best: its regret 0 stays drawn
                    ax.set_yscale("symlog", linthresh=0.01)
                    ax.set_ylim(bottom=0)
                if j == 1:
                    ax.set_xscale("log")
                    ax.axvline(t_end, color="grey", lw=0.8, ls=":")
                ax.set_xlabel(xlabel)
                ax.set_ylabel(f"regret of {tb['report']} (%)")
                ax.set_title(f"{fam}")
                ax.legend(fontsize=7)
        fig.suptitle(f"{tb['title']}: mean regret +- standard error over {args.seeds} seeds")
        fig.tight_layout()
        stem = f"{key}"
        fig.savefig(out / f"{stem}.png", dpi=130)
        fig.savefig(out / f"{stem}.pdf")
        plt.close(fig)
        cost_model = runs["RE"][0].cost_model
        med_eval = float(np.median(np.concatenate([t.cost for t in runs["RE"]])))
        provs = {p: proxy_seconds(bench.provenance, p) for p in have}
        numbers["tables"][key] = {"path": tb["path"], "dataset": tb["dataset"], "search": tb["search"],
                                  "report": tb["report"], "queries": q, "best_report": best, "t_end": t_end,
                                  "seconds_per_network": seconds, "provenance_seconds": provs,
                                  "cost_model": cost_model, "median_evaluation_s": med_eval, "rows": rows}
        sections.append((key, tb, rows, t_end, best, seconds, provs, cost_model, med_eval))
    numbers["wall_s"] = round(time.perf_counter() - t_start, 1)
    (out / "numbers.json").write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    (out / "README.md").write_text(readme(numbers, sections, args))
    print(f"wrote {out} in {numbers['wall_s']} s")
    return 0


def _pm(m, s, d=2):
    return f"{m:.{d}f} +- {s:.{d}f}"


def _pair(p, d=2):
    if p is None:
        return ""
    pv = p["wilcoxon_p"]
    return f"{p['mean']:+.{d}f} [{p['ci95'][0]:+.{d}f}, {p['ci95'][1]:+.{d}f}], p={pv:.2g}" if pv is not None else ""


def _verdict(p) -> str:
    lo, hi = p["ci95"]
    return "better" if lo > 0 else "worse" if hi < 0 else "no difference shown"


def readme(numbers, sections, args) -> str:
    lines = ["# Zero-cost warm start and predictor-guided local search", "",
             "Made by one command (from the repository root):", "",
             "    python scripts/warmstart_report.py", "",
             "It reads the NB201 table with zc_synflow/params/flops of CIFAR-10 from "
             "`build/proxies/nb201-full.h5`, which `python scripts/proxies_nb201.py` writes (`--nb201 PATH` "
             "names another copy).", "",
             f"(The report itself: {numbers['wall_s']:.0f} s wall with {args.workers} worker processes on a shared 2-core machine, "
             f"{numbers['cpu']}; Python {numbers['python']}.)", ""]
    if numbers["missing"]:
        lines += ["**Missing when this was made:** " + "; ".join(numbers["missing"]) + ".", ""]
    lines += [
        "What is compared (each over seeds 0.."
        f"{numbers['seeds'] - 1}, one worker, the same seed giving the cold and the warm run the same "
        "query draws):", "",
        f"- **warm** = zero-cost warm start (`warm_start=PROXY, warm_start_n={numbers['warm_start_n']}`, "
        "`warm_start_k` = the strategy's initial set: RE's population, BANANAS's and LS's `num_init`): the "
        "initial cells are the K best of N random distinct cells by the proxy (Abdelfattah et al. 2021's "
        "warmup). The N proxy scores are **not queries** (the query axis counts table evaluations only) but "
        "they **are on the time axis**: each warm run's clock starts at N x (network build + proxy) seconds, "
        "the one-thread CPU medians of `reports/proxies/numbers.json`.",
        "- **PLS** = `predictor_local_search`: local search whose neighbourhood is evaluated in the order a "
        "predictor fitted on every result so far ranks it, moving at the first improvement; "
        "**PLS random order** is the same search with the neighbours in random order (what the predictor adds), "
        "**LS** is NASLib's best-improvement local search.",
        "- Final = at the end of the query budget; at T = at the simulated second T where the shortest run "
        "ends (every run has used at least T seconds). Paired = mean difference (row - `vs`) over seeds "
        "with its 95% bootstrap CI (10,000 resamples) and the two-sided Wilcoxon signed-rank p.",
        "- The proxy time is charged before the first evaluation, computed one network after the other "
        "(`nasbench_suite.strategies.warmstart`). The seconds per network are the measured one-thread medians "
        "rather than the table's provenance figure, because a session that computed several proxies together "
        "records their time together (an upper bound for one; shown per table below).",
        "- mlp_ensemble (the PLS default) trains in the compiled core with fixed-order sums: these trajectories "
        "are the same bytes on any x86-64 machine. PLS with `gp` or `ridge` would go through BLAS and be "
        "reproducible on one machine only.", ""]
    for key, tb, rows, t_end, best, seconds, provs, cost_model, med_eval in sections:
        shown = os.path.relpath(tb["path"], REPO) if str(tb["path"]).startswith(str(REPO)) else tb["path"]
        lines += [f"## {tb['title']}", "",
                  f"Table `{shown}`, search {tb['search']}, report {tb['report']} (best in the table "
                  f"{best:.2f}%), {tb['queries']} queries. Time axis: {cost_model}; a warm run's clock starts "
                  "at N x (build + proxy) seconds per network: "
                  + ", ".join(f"{p}: {s * 1e3:.1f} ms, {numbers['warm_start_n'] * s:.1f} s at N = "
                              f"{numbers['warm_start_n']}" for p, s in seconds.items())
                  + (f" ({tb['small_n']} x {next(iter(seconds.values())) * 1e3:.1f} ms at N = {tb['small_n']})"
                     if tb["small_n"] and seconds else "")
                  + f". The median evaluation (RE's) costs {med_eval:.3g} s: "
                  + ", ".join(f"{numbers['warm_start_n']} {p} scores cost as much as "
                              f"{numbers['warm_start_n'] * s / med_eval:.1f} evaluations" for p, s in seconds.items())
                  + ".", ""]
        for p, (sec, how) in provs.items():
            lines.append(f"- The table's own provenance for {p}: "
                         + (f"{sec * 1e3:.1f} ms per network ({how})." if sec is not None else f"none ({how})."))
        lines += ["", f"![{key}]({key}.png)", "",
                  f"{tb['report']} of the incumbent, mean +- std over seeds, and the paired difference "
                  "to the `vs` run:", "",
                  f"| run | at {EARLY} queries | final ({tb['queries']} queries) | at T = {t_end:.0f} s | vs | "
                  f"paired at {EARLY} queries | paired final | paired at T |",
                  "|---|---:|---:|---:|---|---|---|---|"]
        for r in rows:
            cells = ([_pm(r["early_mean"], r["early_std"]), _pm(r["final_mean"], r["final_std"]),
                      _pm(r["at_t_mean"], r["at_t_std"])] if "final_mean" in r else ["", "", ""])
            pairs = [_pair(r.get(k)) for k in ("paired_early", "paired_final", "paired_at_t")]
            lines.append("| " + " | ".join([r["label"], *cells, r.get("vs", ""), *pairs]) + " |")
        lines += ["", "Where the 95% CI of the paired difference excludes 0 (computed from the table above; \"better\" = the row's incumbent has the higher "
                  "test accuracy):", ""]
        for r in rows:
            if "vs" in r:
                name = r["label"] if "final_mean" in r else "PLS mlp_ensemble"
                lines.append(f"- {name} vs {r['vs']}: " + ", ".join(
                    f"{what} {_verdict(r[k])}" for what, k in ((f"at {EARLY} queries", "paired_early"),
                                                             ("final", "paired_final"), ("at T", "paired_at_t"))))
        lines.append("")
    lines += ["`numbers.json` holds every number above (per run label: means, standard deviations, the paired "
              "statistics, the warm start's record from the trajectories' meta, CPU seconds of the runs).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
