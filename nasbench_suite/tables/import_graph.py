"""NAS-Bench-Graph in the importer (:mod:`nasbench_suite.tables.importers`):
the ``nas-bench-graph`` recipe (8 datasets on the full op list) and the
``nas-bench-graph-proteins`` recipe (proteins, on its 5-op list) over
``../shared/data/graph``, and the ``graph_hash`` key kind (the package's
integer architecture hash, ``Arch.valid_hash()``).

Each ``.bench`` file is a pickle of ``{hash: {"valid_perf", "perf",
"latency", "para"}}`` holding numpy float64 scalars; it is read with the
restricted unpickler (:mod:`._safe_pickle`, ``pickle_allow:
["numpy_scalars"]``): nothing in it is executed. The tables use class lookup
(docs/FORMAT.md): one row per hash, and every raw (link, ops) choice of the
space resolves to the row of its benchmark key, as the package's own
``valid_hash()`` look-up does (see :mod:`nasbench_suite.spaces.graph` for the
networks where that row is another network's)."""
from __future__ import annotations

from .._errors import InvalidSpecError
from ._import_files import BadKey

__all__ = ["DATASETS", "KEY_KINDS", "NAS_BENCH_GRAPH", "NAS_BENCH_GRAPH_PROTEINS", "PROTEINS_SHA256", "RECIPES",
           "ROWS", "ROWS_PROTEINS", "by_hash"]


def by_hash(space, value, noun: str):
    """(index of the cell, the hash) of a ``.bench`` key: an integer in the
    package's folded form (:meth:`GraphSpace.from_benchmark_key`)."""
    from_key = getattr(space, "from_benchmark_key", None)
    if from_key is None:
        raise BadKey(f"is a NAS-Bench-Graph {noun}, but the table's space is {space.name}")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    try:
        cell = from_key(value)
    except InvalidSpecError as exc:
        raise BadKey(f"is not a NAS-Bench-Graph {noun} ({exc})") from None
    return space.index(cell), int(value)


#: Key kinds of NAS-Bench-Graph cells: kind -> (space or None when the
#: mapping names it, resolver, what a value is called).
KEY_KINDS = {"graph_hash": (None, by_hash, "architecture hash")}

#: The 8 datasets of the full op list: file stem -> sha256 (../shared/data/SHA256SUMS).
DATASETS = {
    "arxiv": "7ee21a7653297a806c0ed1be3efe6ecc06acc84e48e942da0bfde0e5d287debe",
    "citeseer": "99c7f79b73372636305bf73fb32a58b63c57bd1871a152dd62ec72d984c8c50f",
    "computers": "fdb3dc0cf405d62322f0ab9614b2083c2a5e6576c2f43e4f2214be64bc62b1b3",
    "cora": "5e69b2f9bb08d8927d9ffd4921f8494a3cea349c9c3a461334cb9dc9e11701a8",
    "cs": "71ae8469930517160b024f52db6000a4897f1aff5d765beb27bb60952ed5bd31",
    "photo": "5511b4dc3f63fa988792177227db7901290fb9b27fc6c02e3036b29e134ed6df",
    "physics": "1e309bafee0b832c8b84fa3c039c36992bc0a910238b128f26b7e9190d7f2aea",
    "pubmed": "10b4dcf6cfd3a24f6059f7d541a4a872960b4adac0b3dba26abed1bb9a3d904d",
}
#: sha256 of proteins.bench (../shared/data/SHA256SUMS).
PROTEINS_SHA256 = "b9e7fb0902bda44fec32c948e5fde822fb22d38d674c52e43ace5197378f2d21"
#: Architectures per dataset file (the benchmark keys of the two op lists).
ROWS = 26206
#: Architectures in proteins.bench.
ROWS_PROTEINS = 2021


def _source(dataset: str, digest: str, rows: int, perf: str, space: str) -> dict:
    static = {"fidelity": None, "dataset": dataset}
    return {
        "file": f"{dataset}.bench", "sha256": digest, "rows": rows, "pickle_allow": ["numpy_scalars"],
        "key": {"column": "hash", "kind": "graph_hash", "space": space},
        "fields": {"valid_perf": None, "perf": None, "latency": None, "para": None},
        "finite": True,
        "columns": {
            "valid_perf": {"metric": f"valid_{perf}", "fidelity": 1, "dataset": dataset, "scale": 100.0,
                           "units": "percent"},
            "perf": {"metric": f"test_{perf}", "fidelity": 1, "dataset": dataset, "scale": 100.0,
                     "units": "percent"},
            "latency": {**static, "metric": "latency", "scale": 1000.0, "units": "milliseconds"},
            "para": {**static, "metric": "params", "units": "millions"},
        },
    }


_NOTES = {
    "source": "NAS-Bench-Graph (Qin et al., 'NAS-Bench-Graph: Benchmarking Graph Neural Architecture "
              "Search', NeurIPS 2022 Datasets and Benchmarks): PyPI nas-bench-graph 1.4.0, "
              "nas_bench_graph/light/<dataset>.bench (the 'light' files)",
    "rows": "one row per key of the file (the package's Arch.valid_hash(): link-pattern index, then the 4 "
            "full-list op codes, base 10); the table's lookup is 'class': every raw (link pattern, ops) "
            "choice resolves to the row of its benchmark key (spaces.graph), as the package's look-up "
            "does. Cells whose input feeds the output through skip layers resolve to another network's "
            "row (reports/graph/README.md)",
    "seeds": "one seed value, 0: the light files hold one value per architecture (the authors trained 3 "
             "seeds; which summary the light files keep is not stated there)",
    "fidelities": "1 = the end of the authors' training run (the light files hold no learning curves); "
                  "the full per-epoch files are on figshare, not imported",
    "latency": "the file's latency (seconds, inference on the dataset, device not stated) x 1000 = ms",
    "params": "the file's 'para': parameters in millions (float, as stored)",
    "cost_model": "the light files hold no training time: the importer's default cost model, 1 simulated "
                  "second per epoch of the fidelity (1 s per query)",
    "missing": "training time, losses, learning curves, hyper-parameters",
}

#: The 8 datasets on the full op list (space ``graph``).
NAS_BENCH_GRAPH = {
    "space": "graph",
    "lookup": "class",
    "source_dir": "graph",
    "protocol": {"search_metric": "valid_acc@1", "report_metric": "test_acc@1"},
    "description": "NAS-Bench-Graph from ../shared/data/graph: validation and test accuracy, latency and "
                   "parameters of 26,206 GNN architectures on 8 datasets (full op list)",
    "sources": [_source(d, digest, ROWS, "acc", "graph") for d, digest in DATASETS.items()],
    "notes": {**_NOTES,
              "valid_acc": "the file's valid_perf x 100: validation accuracy (%) of node classification",
              "test_acc": "the file's perf x 100: test accuracy (%)"},
}

#: proteins on its 5-op list (space ``graph_proteins``).
NAS_BENCH_GRAPH_PROTEINS = {
    "space": "graph_proteins",
    "lookup": "class",
    "source_dir": "graph",
    "protocol": {"search_metric": "valid_auc@1", "report_metric": "test_auc@1"},
    "description": "NAS-Bench-Graph proteins from ../shared/data/graph: validation and test ROC-AUC, latency "
                   "and parameters of 2,021 GNN architectures (proteins op list)",
    "sources": [_source("proteins", PROTEINS_SHA256, ROWS_PROTEINS, "auc", "graph_proteins")],
    "notes": {**_NOTES,
              "valid_auc": "the file's valid_perf x 100: validation ROC-AUC (ogbn-proteins' metric) in percent",
              "test_auc": "the file's perf x 100: test ROC-AUC in percent"},
}

#: The recipes of this module by name (merged into importers.RECIPES).
RECIPES = {"nas-bench-graph": NAS_BENCH_GRAPH, "nas-bench-graph-proteins": NAS_BENCH_GRAPH_PROTEINS}
