"""Imports TransNAS-Bench-101 micro and macro (recipes ``transnas-bench-101-micro``
and ``-macro``) and writes what the tables hold, checked against the JSON
files, with the import and open figures measured here:

    PYTHONPATH=. python scripts/tnb101_report.py [--data ../shared/data] [--out reports/tnb101/README.md]

Import: a fresh process per recipe, wall time and peak RSS (``os.wait4``),
the best of 3. Open + first query: a fresh process per run, the package
imported first, then ``Benchmark.open`` and one ``query`` timed with
``perf_counter``; the median of 5. Every value of every task is compared with
the files, read here with ``json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from nasbench_suite import spaces  # noqa: E402
from nasbench_suite._machine import cpu_name  # noqa: E402
from nasbench_suite.tables import Benchmark  # noqa: E402
from nasbench_suite.tables._schema import higher_is_better  # noqa: E402
from nasbench_suite.tables.importers import RECIPES  # noqa: E402

KINDS = {"micro": "transnas-bench-101-micro", "macro": "transnas-bench-101-macro"}
COMMAND = "PYTHONPATH=. python scripts/tnb101_report.py"


def _child(code: str) -> tuple:
    """(stdout, wall seconds, peak RSS in MB) of ``python -c code``, run from the repo."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"child failed ({p.returncode}): {code}")
    return out.decode(), wall, usage.ru_maxrss / 1024


def measure_import(recipe: str, source: Path, out: Path) -> tuple:
    code = (f"from nasbench_suite.tables.importers import import_table\n"
            f"import_table({recipe!r}, {str(source)!r}, {str(out)!r}, overwrite=True)\n")
    runs = [_child(code)[1:] for _ in range(3)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def measure_open(path: Path, label: str, metric: str, fid: float, dataset: str) -> float:
    code = ("import time\nfrom nasbench_suite.tables import Benchmark\n"
            "t = time.perf_counter()\n"
            f"b = Benchmark.open({str(path)!r})\n"
            f"v = b.query({label!r}, {metric!r}, {fid!r}, {dataset!r})\n"
            "print(time.perf_counter() - t)\n")
    return statistics.median(float(_child(code)[0]) for _ in range(5))


def records(source: Path, recipe: dict) -> dict:
    """task -> every record of its files, in file order."""
    out = {}
    for s in recipe["sources"]:
        task = s["columns"]["val_accuracy"]["dataset"]
        out[task] = [r for p in s["files"] for r in json.loads((source / p["file"]).read_text())]
    return out


def section(kind: str, data: Path, tmp: Path) -> list:
    recipe_name = KINDS[kind]
    recipe = RECIPES[recipe_name]
    space = spaces.get(recipe["space"])
    source = data / recipe["source_dir"]
    out = tmp / f"{kind}.h5"
    wall, rss = measure_import(recipe_name, source, out)
    b = Benchmark.open(out)
    recs = records(source, recipe)
    lines = [f"## {space.title} (`{recipe_name}`, space `{space.name}`)", "",
             f"`nasbench-suite import --recipe {recipe_name} --source ../shared/data/{recipe['source_dir']} "
             f"-o {kind}.h5`: {len(b.labels()):,} rows (the space has {space.size:,}), "
             f"{len(b.datasets)} datasets, {sum(len(s['files']) for s in recipe['sources'])} files, every one "
             f"checked against its sha256 (verified: {b.provenance['verified']}).", "",
             "| task | metric@epochs | higher is better | rows with a value | min | max | best cell | "
             "values equal to the files | zen equal |", "|---|---|---|---:|---:|---:|---|---:|---:|"]
    known = []
    for task in b.datasets:
        prot = recipe["protocol"]["by_dataset"][task]["search_metric"]
        metric, fid = prot.split("@")
        fid = float(fid)
        rs = recs[task]
        idx = np.array([space.index(space.parse(r["arch"])) for r in rs])
        vals = b.query(idx, metric, fid, task)
        want = np.array([r["val_accuracy"] for r in rs])
        zen = b.query(idx, "zen", None, task)
        zen_want = np.array([r["zen"]["score"] for r in rs])
        cell, best = b.best(metric, fid, task)
        finite = int(np.isfinite(b.query(np.arange(space.size), metric, fid, task)).sum())
        lines.append(f"| {task} | `{prot}` | {'yes' if higher_is_better(metric) else 'NO'} | {finite:,} | "
                     f"{want.min():.4f} | {want.max():.4f} | `{space.label(cell)}` ({best:.4f}) | "
                     f"{int((vals == want).sum()):,} / {len(rs):,} | {int((zen == zen_want).sum()):,} / {len(rs):,} |")
        r0 = rs[0]
        label = space.label(space.parse(r0["arch"]))
        known.append(f"| {task} | {recipe['sources'][list(b.datasets).index(task)]['files'][0]['file']} record 0: "
                     f"arch `{r0['arch']}`, val_accuracy {r0['val_accuracy']!r} | `{label}` | "
                     f"{b.query(label, metric, fid, task)!r} |")
    first = recipe["protocol"]["by_dataset"][b.datasets[0]]["search_metric"].split("@")
    t_open = measure_open(out, space.label(space.from_index(0)), first[0], float(first[1]), b.datasets[0])
    lines += ["", "A known value per task (the first record of the task's first file, read with `json`):", "",
              "| task | file | cell | table |", "|---|---|---|---|", *known, "",
              f"Import: {wall:.2f} s wall, {rss:.0f} MB peak RSS (best of 3 fresh processes; limit 10 s, 1 GB). "
              f"Open + first query: {t_open * 1000:.1f} ms (median of 5 fresh processes; limit 0.3 s). "
              f"Table file: {out.stat().st_size / 1e6:.2f} MB.", ""]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(REPO / "reports" / "tnb101" / "README.md"))
    args = ap.parse_args()
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        body = []
        for kind in KINDS:
            body += section(kind, data, Path(tmp))
    head = [
        "# TransNAS-Bench-101 micro and macro", "", "```", COMMAND, "```", "",
        f"Measured {datetime.date.today().isoformat()} on {cpu_name()} ({os.cpu_count()} CPUs), Python "
        f"{sys.version.split()[0]}.", "",
        "Source: NASLib's zero-cost benchmark JSON (`../shared/data/tnb101`, PROVENANCE.md). Each task's value "
        "is NASLib's `query(Metric.VAL_ACCURACY)`: the TNB101 API's best validation value over the run's "
        "epochs, named per task as NASLib maps it (`nasbench_suite/tables/import_tnb101.py`): top-1 accuracy "
        "(`valid_acc`, %) for class_scene, class_object and jigsaw; minus the MSE loss (`valid_neg_loss`, "
        "higher is better) for room_layout; pixel accuracy (`valid_pixel_acc`, %, not mIoU) for "
        "segmentsemantic; SSIM (`valid_ssim`) for normal and autoencoder; epochs from the authors' "
        "configs. The static `zen` is the files' Zen-NAS score. The files hold no test metric, so a search "
        "reports the validation metric too (the recipes' `protocol`); no training time, so the cost model "
        "is 1 simulated second per epoch.", "",
        "The micro space asks the NB201 space for its canonical key and encodings; its functional key is "
        "the canonical one, because a skip out of node 0 is a FactorizedReduce in TNB101's reducing cells "
        "(`nasbench_suite/spaces/_tnb101.py`).", "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(head + body))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
