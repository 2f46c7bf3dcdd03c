#!/usr/bin/env python
"""Is the embedded NB201 table worth searching? Writes ``OUT/landscape.md``,
``OUT/landscape.json`` and figures (PDF and PNG).

    python scripts/landscape_report.py                       # tabular_data/nb201-digits.h5 -> reports/embedded
    python scripts/landscape_report.py --table t.h5 --out /tmp/l --rs-seeds 200 --nb201-data ../shared/data/nb201

Works on a partial table (one being generated): the table and its journal
are copied first (journal, then table: the order the reader uses, so a
compaction in between only replays merged records) and the copy is what is
hashed and read. Every number is over the covered cells (see
``landscape_numbers.py``); the report states the coverage.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nasbench_suite.train.generate import cpu_name  # noqa: E402
from landscape_numbers import N_CELLS, N_CLASSES, landscape_data, landscape_numbers  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = REPO / "tabular_data" / "nb201-digits.h5"
DEFAULT_OUT = REPO / "reports" / "embedded"
DEFAULT_NB201 = Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data")) / "nb201"
FIGURES = ("landscape_hist", "landscape_seed_std", "landscape_rs", "landscape_early", "landscape_reference")


# ------------------------------------------------------------------ inputs
def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(table: Path, into: Path) -> dict:
    """Copies the table (and its journal) into ``into``; returns the copy's path and hashes."""
    copy = into / table.name
    journal = Path(str(table) + ".journal")
    info = {"path": copy, "journal_sha256": None}
    if journal.exists():
        shutil.copyfile(journal, str(copy) + ".journal")
        info["journal_sha256"] = sha256(str(copy) + ".journal")
    shutil.copyfile(table, copy)
    info["sha256"] = sha256(copy)
    return info


def reference_cifar10(source: Path, workdir: Path):
    """NB201 CIFAR-10 test accuracy of every official cell at the public table's
    highest fidelity, and a description; (None, why) without the data."""
    if not source.is_dir():
        return None, f"NB201 data directory {source} not found"
    from nasbench_suite.tables import Benchmark
    from nasbench_suite.tables.importers import import_table

    path = import_table(recipe="nb201-public", source=str(source), out=str(workdir / "nb201_public.h5"))
    with Benchmark.open(path) as b:
        if "cifar10" not in b.datasets or "test_acc" not in b.metrics("cifar10"):
            return None, f"the nb201-public table has no cifar10 test_acc (datasets {b.datasets})"
        fid = float(b.fidelities("cifar10")[-1])
        values = b.query(np.arange(N_CELLS), "test_acc", fidelity=fid, dataset="cifar10")
    return values, f"NB201 CIFAR-10 test_acc@{fid:g} (nb201-public recipe from {source})"


def shown(path) -> str:
    """A path relative to the repository when inside it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------ figures
def figures(out: Path, data, numbers: dict, reference) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from nasbench_suite.report.style import rc_params

    with plt.rc_context(rc_params("one")):
        _figures(out, data, numbers, reference)


def _figures(out: Path, data, numbers: dict, reference) -> None:
    from nasbench_suite.report.plots import new_figure, save
    from nasbench_suite.report.style import PALETTE

    acc = data.per_cell(data.final_test_rows)
    classes = data.final_test_rows[data.covered_rows]
    fid = f"{data.fidelities[-1]:g}"
    label = f"final test accuracy, epoch {fid} (%)"

    fig, ax = new_figure("one")
    bins = np.linspace(np.floor(acc.min()), np.ceil(acc.max()), 41)
    ax.hist(acc, bins=bins, weights=np.full(acc.size, 1 / acc.size), color=PALETTE[0], alpha=0.7, label="cells")
    ax.hist(classes, bins=bins, weights=np.full(classes.size, 1 / classes.size), histtype="step",
            color=PALETTE[1], label="classes")
    ax.axvline(numbers["gap"]["median_cells"], color=PALETTE[0], ls="--", lw=0.8, label="median cell")
    ax.axvline(numbers["gap"]["best"], color="black", ls=":", lw=0.8, label="best cell")
    ax.set_xlabel(label)
    ax.set_ylabel("fraction")
    ax.legend(loc="upper left")
    save(fig, str(out / "landscape_hist"), "one")

    fig, ax = new_figure("one")
    dec = numbers["seed_std"]["deciles"]
    ax.bar([d["decile"] for d in dec], [d["mean_std"] or 0.0 for d in dec], color=PALETTE[0])
    ax.axhline(numbers["seed_std"]["target"], color="black", ls=":", lw=0.8, label="target (top decile)")
    ax.set_xlabel("decile of cells by final test accuracy (10 = best)")
    ax.set_ylabel("mean seed std (points)")
    ax.set_xticks(range(1, 11))
    ax.legend(loc="upper right")
    save(fig, str(out / "landscape_seed_std"), "one")

    rs = numbers["random_search"]
    if rs["status"] == "ok":
        fig, ax = new_figure("one")
        q = np.arange(1, rs["queries"] + 1)
        m = np.array(rs["curve_mean"])
        se = np.array([np.nan if x is None else x for x in rs["curve_se"]])
        ax.plot(q, m, color=PALETTE[0], label=f"random search ({rs['seeds']} seeds)")
        ax.fill_between(q, m - se, m + se, color=PALETTE[0], alpha=0.25, lw=0)
        ax.axhline(rs["best"], color="black", ls=":", lw=0.8, label="best cell")
        ax.set_xlabel("queries")
        ax.set_ylabel(f"incumbent's test acc@{fid} (%)")
        ax.set_ylim(m.min() - 1, rs["best"] + 1)
        ax.legend(loc="lower right")
        save(fig, str(out / "landscape_rs"), "one")

    fig, ax = new_figure("one")
    early = numbers["early"]
    ep = [e["epoch"] for e in early]
    nan = lambda key: [np.nan if e[key] is None else e[key] for e in early]  # noqa: E731
    ax.plot(ep, nan("valid_cells"), marker="o", color=PALETTE[0], label="valid acc (cells)")
    ax.plot(ep, nan("test_cells"), marker="s", color=PALETTE[1], label="test acc (cells)")
    ax.plot(ep, nan("valid_classes"), ls="--", color=PALETTE[0], label="valid acc (classes)")
    ax.plot(ep, nan("test_classes"), ls="--", color=PALETTE[1], label="test acc (classes)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"Spearman with test acc@{fid}")
    ax.legend(loc="lower right")
    save(fig, str(out / "landscape_early"), "one")

    if reference is not None:
        fig, ax = new_figure("one")
        r = reference[data.cells]
        ax.scatter(r, acc, s=2, alpha=0.3, color=PALETTE[0], lw=0, rasterized=True)
        ax.set_xlabel("NB201 CIFAR-10 test accuracy (%)")
        ax.set_ylabel(f"{data.dataset} {label}")
        save(fig, str(out / "landscape_reference"), "one")


# ------------------------------------------------------------------ markdown
def _f(x, nd: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _verdict(ok) -> str:
    return "n/a" if ok is None else ("**pass**" if ok else "**fail**")


def header(meta: dict, n: dict, prov: dict) -> list[str]:
    c = n["coverage"]
    pre, net = prov.get("preset", {}), prov.get("preset", {}).get("network", {})
    tot, splits = prov.get("totals", {}), prov.get("splits", {})
    cpus = sorted({s.get("cpu", "?") for s in prov.get("sessions", [])})
    every = "both seeds" if len(n["seeds"]) == 2 else "every seed"
    journal = (f"{meta['journal_records']} unmerged records, read with the table (sha256 `{meta['journal_sha256']}`)"
               if meta["journal_records"] else "none")
    return [
        "| | |", "|---|---|",
        f"| table | `{meta['table']}` |",
        f"| sha256 | `{meta['sha256']}` |",
        f"| journal | {journal} |",
        f"| dataset | {n['dataset']}; seeds {', '.join(map(str, n['seeds']))}; fidelities "
        f"{n['fidelities'][0]:g}..{n['fidelities'][-1]:g} epochs |",
        f"| coverage | classes trained with {every}: {c['classes_covered']:,} / {N_CLASSES:,} "
        f"({100 * c['classes_covered'] / N_CLASSES:.1f}%; {c['classes_one_seed']} more with fewer seeds, "
        f"left out); cells covered: {c['cells_covered']:,} / {N_CELLS:,} "
        f"({100 * c['cells_covered'] / N_CELLS:.1f}%) |",
        f"| preset | `{pre.get('name', '?')}`: {pre.get('epochs', '?')} epochs, batch {pre.get('batch_size', '?')}, "
        f"{net.get('channels', '?')} channels, {net.get('cells_per_stage', '?')} cell(s) per stage, "
        f"{pre.get('optimizer', '?')} lr {pre.get('lr', '?')} momentum {pre.get('momentum', '?')}, weight decay "
        f"{pre.get('weight_decay', '?')}, augmentation {'on' if pre.get('augment') else 'off'} |",
        "| splits | " + " / ".join(f"{k} {splits[k]:,}" for k in ("train", "valid", "test") if k in splits)
        + " images |",
        f"| cost so far | {tot.get('core_hours', '?')} core-hours ({tot.get('cpu_seconds', '?')} CPU s, "
        f"{tot.get('runs', '?')} runs, {len(prov.get('sessions', []))} session(s) on {', '.join(cpus) or '?'}); "
        f"provenance `complete`: {prov.get('complete')} (as of the table's last compaction: runs still in the "
        "journal are not counted) |",
        f"| machine (this report) | {meta['cpu']}, {os.cpu_count()} logical cores |",
        f"| command | `{meta['command']}` |",
        f"| generated | {meta['generated']} |",
    ]


def markdown(meta: dict, n: dict, prov: dict) -> str:
    c, g, s, rs, e = n["coverage"], n["gap"], n["seed_std"], n["random_search"], n["early"]
    fid = f"{n['fidelities'][-1]:g}"
    lines = [f"# Landscape of `{meta['table']}`", ""]
    if not c["complete"]:
        lines += [f"> **Partial table.** {c['classes_covered']:,} of {N_CLASSES:,} classes and "
                  f"{c['cells_covered']:,} of {N_CELLS:,} cells are covered. Every number below is over the "
                  "covered cells only (a cell takes its class's values). The generator trains the classes in a "
                  "fixed shuffled order, so the covered classes are a uniform random sample of the classes "
                  "(the disconnected cell comes wherever the shuffle puts it). Verdicts are provisional.", ""]
    lines += header(meta, n, prov) + ["", "## Verdict", "",
                                      "| # | criterion | target | measured | result |", "|---|---|---|---|---|"]
    rs_measured = (f"{_f(rs['gap'])} (incumbent {_f(rs['mean'])} ± {_f(rs['se'])} s.e., {rs['seeds']} seeds)"
                   if rs["status"] == "ok" else f"skipped: {rs['note']}")
    lines += [
        f"| 1 | best minus median cell, final test acc (points) | ≥ {g['target']:g} | {_f(g['gap_cells'])} | "
        f"{_verdict(g['pass'])} |",
        f"| 2 | mean seed std of the top 10% of cells (points) | ≤ {s['target']:g} | {_f(s['mean_top10'])} | "
        f"{_verdict(s['pass'])} |",
        f"| 3 | best cell minus random search's final incumbent, {rs['queries']} queries (points) | "
        f"≥ {rs['target']:g} | {rs_measured} | {_verdict(rs['pass'])} |", "",
        f"Final test accuracy: the mean over seeds of test_acc at epoch {fid}. \"Cells\": the covered official "
        "cells, each with its class's value; \"classes\": each covered class once.", "",
        "## 1. Median-to-best gap", "",
        "| | cells | classes |", "|---|---|---|",
        f"| best | {_f(g['best'])} | {_f(g['best'])} |",
        f"| median | {_f(g['median_cells'])} | {_f(g['median_classes'])} |",
        f"| gap | {_f(g['gap_cells'])} | {_f(g['gap_classes'])} |", "",
        f"Best cell: official index {g['best_index']}, `{g['best_arch']}`.", "",
        "## 2. Seed-to-seed spread", "",
        f"Standard deviation (ddof=1) over the {len(n['seeds'])} seeds of the final test accuracy. Mean over all "
        f"covered cells {_f(s['mean_all'])} (median {_f(s['median_all'])}; over classes {_f(s['mean_all_classes'])}); "
        f"over the top 10% ({s['cells_top10']:,} cells, final test acc ≥ {_f(s['top10_min_acc'])}) "
        f"**{_f(s['mean_top10'])}**; over the top 10% of classes ({s['classes_top10']:,}, each once) "
        f"{_f(s['mean_top10_classes'])}. Spearman between the seeds' final test accuracies over cells: "
        f"{_f(s['spearman_seed0_seed1'], 3)}. Deciles by rank of final test accuracy (ties by official index):", "",
        "| decile | cells | final test acc | mean seed std |", "|---|---|---|---|",
    ]
    lines += [f"| {d['decile']} | {d['cells']:,} | {_f(d['acc_min'])}–{_f(d['acc_max'])} | {_f(d['mean_std'])} |"
              for d in s["deciles"]]
    lines += ["", "![seed std by decile](landscape_seed_std.png)", "", "## 3. Random search", ""]
    how = (f"`run_search(table, \"random_search\", seed=s, budget={{\"queries\": {rs['queries']}}}, "
           f"search_metric=\"valid_acc@{fid}\", report_metric=\"test_acc@{fid}\", dataset=\"{n['dataset']}\")`")
    if rs["mode"] == "covered cells":
        how = ("the same call with the strategy replaced by random search over the covered cells: each proposal "
               f"is drawn uniformly from the {c['cells_covered']:,} covered official cells (uniform random search "
               "conditioned on the cell's class being trained), with the runner's seeding and the same "
               "de-duplication of isomorphic proposals; the registered `random_search` would propose untrained "
               "cells, which have no value yet. On the finished table the script runs " + how)
    lines += [f"Seeds 0..{rs['seeds'] - 1}; {how}. The incumbent is the best by validation accuracy at epoch "
              f"{fid} (one seed drawn per query); its report is the mean test accuracy.", ""]
    if rs["status"] == "ok":
        lines += ["| | value |", "|---|---|",
                  f"| final incumbent test acc, mean ± s.e. | {_f(rs['mean'])} ± {_f(rs['se'])} |",
                  f"| best covered cell | {_f(rs['best'])} |",
                  f"| gap (± 2 s.e.) | {_f(rs['gap'])} ({_f(rs['gap_lower'])}..{_f(rs['gap_upper'])}) |",
                  f"| runs ending on the best cell | {100 * rs['found_best']:.1f}% |", "",
                  "![random search](landscape_rs.png)", ""]
    else:
        lines += [f"Skipped: {rs['note']}.", ""]
    d = n["distribution"]
    lines += ["## 4. Distribution of final test accuracy", "", "![histogram](landscape_hist.png)", "",
              "| quantile | cells | classes |", "|---|---|---|"]
    lines += [f"| {q['q']:g} | {_f(q['cells'])} | {_f(q['classes'])} |" for q in d["quantiles"]]
    lines += ["", f"Mean: {_f(d['mean_cells'])} over cells, {_f(d['mean_classes'])} over classes; "
                  f"{100 * d['below_20_cells']:.1f}% of covered cells are below 20%.", "",
              "## 5. Early epochs as predictors", "",
              f"Spearman correlation of each epoch's mean validation / test accuracy with the final test accuracy "
              f"(test acc@{fid}; at epoch {fid} the test column is the target itself).", "",
              "| epoch | valid (cells) | test (cells) | valid (classes) | test (classes) |", "|---|---|---|---|---|"]
    lines += [f"| {x['epoch']:g} | {_f(x['valid_cells'], 3)} | {_f(x['test_cells'], 3)} | "
              f"{_f(x['valid_classes'], 3)} | {_f(x['test_classes'], 3)} |" for x in e]
    lines += ["", "![early epochs](landscape_early.png)", "", "## 6. Agreement with NB201 CIFAR-10", ""]
    r = n["reference"]
    if r["status"] == "ok":
        lines += [f"Reference: {r['name']}. Rank correlation with the final test accuracy here:", "",
                  "| over | n | Spearman | Kendall τ-b |", "|---|---|---|---|",
                  f"| covered cells | {r['cells']:,} | {_f(r['spearman_cells'], 3)} | {_f(r['kendall_cells'], 3)} |",
                  f"| covered connected cells | {r['connected_cells']:,} | {_f(r['spearman_connected'], 3)} | "
                  f"{_f(r['kendall_connected'], 3)} |",
                  f"| covered classes (CIFAR-10 mean of members) | {r['classes']:,} | {_f(r['spearman_classes'], 3)} | "
                  f"{_f(r['kendall_classes'], 3)} |", "",
                  "Cells of one class share our value but not the CIFAR-10 one (separate runs there), so the cell "
                  "figures include ties on our side.", "", "![reference](landscape_reference.png)", ""]
    else:
        lines += [f"Skipped: {r.get('note', 'no reference data')}.", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--nb201-data", type=Path, default=DEFAULT_NB201)
    ap.add_argument("--rs-seeds", type=int, default=200)
    ap.add_argument("--dataset", default=None, help="default: the table's generated dataset")
    args = ap.parse_args(argv)
    from nasbench_suite.tables import Benchmark, read_journal

    if not args.table.exists():
        sys.exit(f"table {args.table} not found")
    args.out.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python", shlex.quote(shown(__file__))] +
                       [shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)])
    with tempfile.TemporaryDirectory(prefix="landscape_") as tmp:
        snap = snapshot(args.table, Path(tmp))
        reference, ref_note = reference_cifar10(args.nb201_data, Path(tmp))
        with Benchmark.open(snap["path"]) as bench:
            prov = bench.provenance
            dataset = args.dataset or prov.get("generate", {}).get("dataset") or bench.datasets[0]
            data = landscape_data(bench, dataset)
            if data.cells.size == 0:
                sys.exit(f"{args.table}: no class has every seed and epoch yet; nothing to report")
            numbers = landscape_numbers(bench, dataset, args.rs_seeds, reference, ref_note, data=data)
            records = len(read_journal(snap["path"]))
    if reference is None:
        numbers["reference"]["note"] = ref_note
    meta = {"table": shown(args.table), "sha256": snap["sha256"], "journal_sha256": snap["journal_sha256"],
            "journal_records": records, "cpu": cpu_name(), "command": command,
            "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    figures(args.out, data, numbers, reference)
    (args.out / "landscape.md").write_text(markdown(meta, numbers, prov) + "\n")
    (args.out / "landscape.json").write_text(json.dumps({"meta": meta, "provenance": {
        k: prov.get(k) for k in ("generate", "preset", "splits", "totals", "complete")}, **numbers}, indent=1) + "\n")
    print(f"wrote {args.out / 'landscape.md'}, landscape.json and figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
