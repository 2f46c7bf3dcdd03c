"""NAS-Bench-Graph: the classes of the space under three keys (the exact DAG
canonical form, the functional key with skip contracted, the package's
benchmark key), checked against the keys of the real ``.bench`` files, with
examples of the raw choices the package maps to another network, and the
import / open / first-query figures of the two recipes. Writes
reports/graph/README.md:

    python scripts/graph_counts.py [--data ../shared/data/graph] [--out reports/graph/README.md]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.spaces import graph
from nasbench_suite.tables import _safe_pickle

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python scripts/graph_counts.py"
DATASETS = ("arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "pubmed")


def network(cell: graph.Cell) -> str:
    """The cell as the function it computes: x is the input, op(...) a layer, skip the identity;
    the output is the sum of the leaves (terms sorted)."""
    expr = ["x"]
    for k, op in enumerate(cell.ops):
        inner = expr[cell.link[k]]
        expr.append(inner if op == graph.SKIP else f"{op}({inner})")
    read = set(cell.link)
    return " + ".join(sorted(expr[v] for v in range(1, 5) if v not in read))


def _md(label: str) -> str:
    """A label inside a Markdown table cell (its '|' escaped)."""
    return label.replace("|", "\\|")


def counts(space) -> dict:
    k = space.keys_of(np.arange(space.size))
    func, bench, iio = k["functional"], k["benchmark"], k["input_in_output"]
    own = {space.functional(space.from_benchmark_key(int(b))) for b in np.unique(bench)}
    return {"cells": space.size, "raw": space.size + graph.NUM_PATTERNS,
            "canonical": int(np.unique(k["canonical"]).size), "functional": int(np.unique(func).size),
            "benchmark": int(np.unique(bench).size), "iio_cells": int(iio.sum()),
            "iio_classes": int(np.unique(func[iio]).size),
            "own_classes": len(own), "iio_own": int(sum(1 for f in np.unique(func[iio]) if int(f) in own)),
            "keys": set(np.unique(bench).tolist())}


def examples(space, n: int = 8) -> list:
    """Input-in-output cells, one per (pattern, number of skips) while it lasts, and the row the package gives."""
    k = space.keys_of(np.arange(space.size))
    seen, out = set(), []
    for i in np.flatnonzero(k["input_in_output"]).tolist():
        cell = space.from_index(i)
        kind = (cell.pattern, cell.ops.count(graph.SKIP))
        if kind in seen:
            continue
        seen.add(kind)
        row = space.from_benchmark_key(int(k["benchmark"][i]))
        out.append((cell, int(k["benchmark"][i]), row))
        if len(out) == n:
            break
    return out


def folded_right(space) -> list:
    """Cells with skips that the package folds correctly (same network as their row)."""
    picks = [graph.Cell([0, 1, 2, 3], ["gcn", "skip", "gin", "fc"]), graph.Cell([0, 0, 1, 2], ["skip", "gat", "gcn", "sage"]),
             graph.Cell([0, 1, 1, 2], ["sage", "skip", "gcn", "arma"])]
    return [(c, space.benchmark_key(c), space.from_benchmark_key(space.benchmark_key(c))) for c in picks]


_MEASURE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from nasbench_suite.tables.importers import import_table
t = time.perf_counter()
import_table(sys.argv[1], source=sys.argv[2], out=sys.argv[3], overwrite=True)
print(json.dumps({"import_s": time.perf_counter() - t, "with_python_imports_s": time.perf_counter() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
_OPEN = r"""
import json, sys, time
t = time.perf_counter()
from nasbench_suite.tables import Benchmark
t1 = time.perf_counter()
b = Benchmark.open(sys.argv[1])
v = b.query(sys.argv[2], sys.argv[3], 1, sys.argv[4])
print(json.dumps({"open_query_s": time.perf_counter() - t1, "with_import_s": time.perf_counter() - t}))
"""


def measure(data: Path, tmp: Path) -> dict:
    out = {}
    for recipe, label, metric, dataset in (("nas-bench-graph", "0,0,1,2|gcn,gat,skip,fc", "valid_acc", "cora"),
                                           ("nas-bench-graph-proteins", "0,0,1,2|gcn,sage,skip,fc", "valid_auc",
                                            "proteins")):
        table = tmp / f"{recipe}.h5"
        runs = [json.loads(subprocess.run([sys.executable, "-c", _MEASURE, recipe, str(data), str(table)],
                                          check=True, capture_output=True, text=True, cwd=REPO).stdout)
                for _ in range(3)]
        opens = [json.loads(subprocess.run([sys.executable, "-c", _OPEN, str(table), label, metric, dataset],
                                           check=True, capture_output=True, text=True, cwd=REPO).stdout)
                 for _ in range(3)]
        out[recipe] = {"import_s": min(r["import_s"] for r in runs), "rss_mb": max(r["rss_mb"] for r in runs),
                       "with_python_imports_s": min(r["with_python_imports_s"] for r in runs),
                       "open_query_s": min(o["open_query_s"] for o in opens),
                       "size_mb": table.stat().st_size / 2 ** 20}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "graph"))
    ap.add_argument("--out", default=str(REPO / "reports" / "graph" / "README.md"))
    args = ap.parse_args(argv)
    data = Path(args.data)
    full, prot = spaces.get("graph"), spaces.get("graph_proteins")
    cf, cp = counts(full), counts(prot)
    files = {d: set(_safe_pickle.load(data / f"{d}.bench", allow=["numpy_scalars"])) for d in (*DATASETS, "proteins")}
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        perf = measure(data, Path(tmp))

    L = ["# NAS-Bench-Graph in the suite", "", "Made from the repository root (`../shared` beside it) with:", "",
         "```bash", COMMAND, "```", "",
         "It reads `../shared/data/graph/*.bench` with the restricted unpickler and the spaces' keys from the "
         "compiled core (`_core.graph_keys`).", "",
         "## The space", "",
         "A GNN of 4 layers: layer k reads node `link[k]` (0 = the input, j = layer j-1), applies its op, and "
         "every leaf feeds the output, which adds them (the package's README: \"all leaf nodes are connected to "
         "the output\"). A raw choice is one of the 9 link patterns and 4 ops. Two registered spaces: `graph` "
         "(9 ops: gat, gcn, gin, cheb, sage, arma, graph, fc, skip) and `graph_proteins` (5 ops: gcn, sage, arma, "
         "fc, skip). The 9 all-skip choices compute the identity; the spaces refuse them.", "",
         "| | full op list | proteins op list |", "|---|---:|---:|",
         f"| raw choices (9 patterns x ops^4) | {cf['raw']:,} | {cp['raw']:,} |",
         f"| cells (all-skip refused) | {cf['cells']:,} | {cp['cells']:,} |",
         f"| exact labelled-DAG classes (`canonical`) | {cf['canonical']:,} ({cf['canonical'] + 9:,} with the "
         f"all-skip choices) | {cp['canonical']:,} |",
         f"| networks, skip contracted (`functional`) | {cf['functional']:,} ({cf['functional'] + 4:,} with the "
         f"all-skip choices) | {cp['functional']:,} |",
         f"| the package's benchmark keys (`benchmark_key`) | {cf['benchmark']:,} | {cp['benchmark']:,} |",
         "| architectures in each data file | " + ", ".join(f"{d} {len(files[d]):,}" for d in DATASETS) +
         f" | proteins {len(files['proteins']):,} |",
         f"| benchmark keys of the cells = keys of the file | "
         f"{all(files[d] == cf['keys'] for d in DATASETS)} (all 8) | {files['proteins'] == cp['keys']} |",
         f"| cells whose input feeds the output (`input_in_output`) | {cf['iio_cells']:,} | {cp['iio_cells']:,} |",
         f"| networks among them | {cf['iio_classes']:,} | {cp['iio_classes']:,} |",
         f"| networks the data holds (the functional class of each key's own raw choice) | {cf['own_classes']:,} "
         f"| {cp['own_classes']:,} |",
         f"| input-in-output networks the data holds | {cf['iio_own']} | {cp['iio_own']} |", "",
         f"So the functional key does **not** reproduce the data's {cf['benchmark']:,}: it finds "
         f"{cf['functional']:,} networks, {cf['functional'] - cf['benchmark']:,} more. Every one of the "
         f"{cf['benchmark']:,} keys is the key of a raw choice in its own folded form (the network the authors "
         "trained), each in its own functional class, and the networks left without a row are exactly the "
         f"{cf['iio_classes']:,} whose input feeds the output through skips. The package's benchmark key reproduces "
         "the files exactly (every key of every file is reached by some cell, and no cell reaches a key the file "
         "lacks), so tables use it for class lookup: every raw choice resolves to the row the package gives it.",
         "", "## Who is wrong: the package, on input-in-output cells", "",
         "Its `move_skip_op` moves a skip layer that is a leaf on the input (or a chain of skips from the input "
         "ending in a leaf) to the front, where the layers that read the input now read it: the skip is no longer "
         "a leaf, so the input no longer reaches the output. The cell is then looked up as another network. "
         "Examples (x is the input, the output adds the terms):", "",
         "| raw choice | network | package key | the row's architecture | its network |", "|---|---|---:|---|---|"]
    for cell, key, row in examples(full):
        L.append(f"| `{_md(full.label(cell))}` | {network(cell)} | {key} | `{_md(full.label(row))}` | {network(row)} |")
    L += ["", "Where no skip reaches the output from the input, the package's folding is right: the same network "
          "(these are tested: `tests/test_graph_space.py`):", "",
          "| raw choice | network | package key | the row's architecture | its network |", "|---|---|---:|---|---|"]
    for cell, key, row in folded_right(full):
        assert network(cell) == network(row)
        L.append(f"| `{_md(full.label(cell))}` | {network(cell)} | {key} | `{_md(full.label(row))}` | {network(row)} |")
    L += ["", "What the suite does: the spaces' `functional` key (dedup mode `\"function\"`) tells the networks "
          "apart; `input_in_output(cell)` names the cells whose table value is another network's; the tables "
          "(lookup `class` by the benchmark key) answer as the package does, so results stay comparable with "
          "papers that used it.", "",
          "## Import and first query", "",
          "`nasbench-suite import --recipe nas-bench-graph --source ../shared/data/graph -o graph.h5` (8 datasets) "
          "and `--recipe nas-bench-graph-proteins` (proteins). Each measured in a fresh process (best of 3 for "
          "time, largest RSS):", "",
          "| recipe | import | with Python start | peak RSS | table size | open + first query |",
          "|---|---:|---:|---:|---:|---:|"]
    for recipe, p in perf.items():
        L.append(f"| {recipe} | {p['import_s']:.2f} s | {p['with_python_imports_s']:.2f} s | {p['rss_mb']:.0f} MB | {p['size_mb']:.1f} MB | "
                 f"{p['open_query_s'] * 1000:.0f} ms |")
    L += ["", f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          "open + first query excludes the Python imports and includes computing the space's keys once. "
          "Issue 15's limits: import <= 10 s and <= 1 GB, open + first query <= 0.3 s.", "",
          "## Metrics", "",
          "`valid_acc`, `test_acc` (%, the files' `valid_perf`, `perf` x 100; proteins: `valid_auc`, `test_auc`, "
          "ROC-AUC x 100) at fidelity 1 (the end of the authors' run; the light files hold no curves), `latency` "
          "(ms, the files' seconds x 1000) and `params` (millions, as stored) as static metrics. Protocol for the "
          "suite grid: search `valid_acc@1`, report `test_acc@1` (proteins: `valid_auc@1` / `test_auc@1`). "
          "Cost model: the files hold no training time, so 1 simulated second per query. With one fidelity, "
          "the multi-fidelity strategies (BOHB, Hyperband) refuse these tables; the others search raw choices "
          "(`tests/test_graph_import.py` runs RS, RE, LS, REINFORCE and BANANAS on the real cora table). "
          "Dedup: the default (`canonical`) and `\"function\"` keys are finer than the table's class key, so "
          "two proposals may still read one row (a cell and its input-in-output variant, or two cells the "
          "package folds).", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(L), encoding="utf-8")
    print(f"wrote {out} in {time.process_time():.1f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
