"""Issue 15 item 3: the nas-bench-graph and nas-bench-graph-proteins recipes
(tables/import_graph.py): ``.bench`` pickles read without executing them,
one row per benchmark key, class lookup so that every raw choice resolves.

Synthetic ``.bench`` files are written here in the package's format (a dict
of integer hash -> {valid_perf, perf, latency, para} holding numpy float64
scalars) and each value is checked against what the test wrote; (realdata)
the real import is checked against the files themselves."""
from __future__ import annotations

import copy
import itertools
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import reference_graph as ref
from nasbench_suite import spaces
from nasbench_suite.spaces import graph
from nasbench_suite.tables import Benchmark, CellNotInTable
from nasbench_suite.tables import _safe_pickle
from nasbench_suite.tables._schema import higher_is_better
from nasbench_suite.tables.importers import RECIPES, TableImportError, import_table

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))
DATASETS = ("arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "pubmed")
F = np.float64


def _entry(v, t, lat, para):
    return {"valid_perf": F(v), "perf": F(t), "latency": F(lat), "para": F(para)}


# keys written out by hand from the package's hash (pattern, then full-list op codes, base 10)
BENCH = {
    61327: _entry(0.80, 0.78, 0.003, 1.25),   # [0,1,1,2] gcn,cheb,gin,fc (the package README's example)
    58000: _entry(0.70, 0.69, 0.002, 0.75),   # [0,1,1,1] skip,gat,gat,gat
    1: _entry(0.60, 0.55, 0.004, 2.5),        # [0,0,0,0] gat,gat,gat,gcn
}


def write_bench(path, obj) -> Path:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)
    return Path(path)


def mapping(name="nas-bench-graph", files=("cora",)) -> dict:
    """The recipe with only some of its files, without sha256 and row counts (test files)."""
    plan = copy.deepcopy(RECIPES[name])
    plan["sources"] = [{k: v for k, v in s.items() if k not in ("sha256", "rows")}
                       for s in plan["sources"] if s["file"][:-len(".bench")] in files]
    return plan


@pytest.fixture
def synthetic(tmp_path):
    src = tmp_path / "graph"
    src.mkdir()
    write_bench(src / "cora.bench", BENCH)
    return import_table(mapping=mapping(), source=src, out=tmp_path / "g.h5")


def test_values_land_in_their_rows_and_every_member_resolves(synthetic):
    space = spaces.get("graph")
    with Benchmark.open(synthetic) as b:
        assert len(b) == 3 and b.lookup == "class" and b.datasets == ("cora",)
        same = graph.Cell([0, 1, 1, 2], ["gcn", "cheb", "gin", "fc"])
        assert b.query(same, "valid_acc", 1, "cora") == 0.80 * 100
        assert b.query(same, "test_acc", 1, "cora") == 0.78 * 100
        assert b.query(same, "latency", dataset="cora") == 0.003 * 1000
        assert b.query(same, "params", dataset="cora") == 1.25
        # members of key 1's class: any order of gat, gat, gat, gcn on the star
        for ops in (["gcn", "gat", "gat", "gat"], ["gat", "gat", "gcn", "gat"]):
            assert b.query(graph.Cell([0, 0, 0, 0], ops), "valid_acc", 1, "cora") == 0.60 * 100
        # the input-in-output cell goes where the package sends it: key 58000's row
        iio = graph.Cell([0, 0, 0, 0], ["gat", "gat", "gat", "skip"])
        assert b.query(iio, "test_acc", 1, "cora") == 0.69 * 100
        assert b.query(space.label(iio), "test_acc", 1, "cora") == 0.69 * 100
        with pytest.raises(CellNotInTable, match="no cell of the class"):
            b.query(graph.Cell([0, 0, 0, 0], ["gcn"] * 4), "valid_acc", 1, "cora")
        assert b.provenance["recipe"] is None and b.cost_model == {"kind": "per_epoch", "seconds_per_epoch": 1.0}


def test_a_key_not_in_the_folded_form_is_named(tmp_path):
    src = tmp_path / "graph"
    src.mkdir()
    write_bench(src / "cora.bench", {**BENCH, 1000: _entry(0.5, 0.5, 0.001, 1.0)})  # gcn,gat,gat,gat unsorted
    with pytest.raises(TableImportError, match=r"cora\.bench: .*column 'hash': 1000 is not a NAS-Bench-Graph "
                                               r"architecture hash \(key 1000 .* not in the package's folded form"):
        import_table(mapping=mapping(), source=src, out=tmp_path / "t.h5")
    write_bench(src / "cora.bench", {**BENCH, 90000: _entry(0.5, 0.5, 0.001, 1.0)})
    with pytest.raises(TableImportError, match=r"90000 is not a NAS-Bench-Graph architecture hash"):
        import_table(mapping=mapping(), source=src, out=tmp_path / "t.h5")
    assert not (tmp_path / "t.h5").exists()


def test_proteins_keys_must_use_the_proteins_ops(tmp_path):
    src = tmp_path / "graph"
    src.mkdir()
    # 1111 = [0,0,0,0] gcn x4 (full-list codes, as the package writes proteins keys); 1 holds gat
    write_bench(src / "proteins.bench", {1111: _entry(0.8, 0.75, 0.3, 0.7)})
    out = import_table(mapping=mapping("nas-bench-graph-proteins", ("proteins",)), source=src,
                       out=tmp_path / "p.h5")
    with Benchmark.open(out) as b:
        assert b.query("0,0,0,0|gcn,gcn,gcn,gcn", "valid_auc", 1, "proteins") == 0.8 * 100
        assert b.space == "graph_proteins"
    write_bench(src / "proteins.bench", {1: _entry(0.8, 0.75, 0.3, 0.7)})
    with pytest.raises(TableImportError, match=r"'gat' is not in the NAS-Bench-Graph \(proteins ops\) op list"):
        import_table(mapping=mapping("nas-bench-graph-proteins", ("proteins",)), source=src,
                     out=tmp_path / "p2.h5")


def test_a_pickle_naming_other_globals_is_refused_unexecuted(tmp_path):
    src = tmp_path / "graph"
    src.mkdir()

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo executed > " + str(tmp_path / "ran"),))

    write_bench(src / "cora.bench", {1: {**BENCH[1], "para": Boom()}})
    with pytest.raises(TableImportError, match=r"(posix|os)\.system, which is not allowed here"):
        import_table(mapping=mapping(), source=src, out=tmp_path / "t.h5")
    assert not (tmp_path / "ran").exists()


def test_missing_files_are_all_named_and_digests_checked(tmp_path):
    src = tmp_path / "graph"
    src.mkdir()
    write_bench(src / "cora.bench", BENCH)
    write_bench(src / "cs.bench", BENCH)
    with pytest.raises(TableImportError, match=r"arxiv\.bench: no such file; 6 of the 8 source files are missing: "
                                               r"arxiv\.bench, citeseer\.bench, computers\.bench, photo\.bench, "
                                               r"physics\.bench, pubmed\.bench"):
        import_table(recipe="nas-bench-graph", source=src, out=tmp_path / "t.h5")
    with pytest.raises(TableImportError, match=r"proteins\.bench: no such file"):
        import_table(recipe="nas-bench-graph-proteins", source=src, out=tmp_path / "t.h5")
    for d in DATASETS:
        write_bench(src / f"{d}.bench", BENCH)
    with pytest.raises(TableImportError, match=r"arxiv\.bench: sha256 [0-9a-f]{64}, expected 7ee21a76"):
        import_table(recipe="nas-bench-graph", source=src, out=tmp_path / "t.h5")
    with pytest.raises(TableImportError, match=r"arxiv\.bench: 3 data rows, expected 26206"):
        import_table(recipe="nas-bench-graph", source=src, out=tmp_path / "t.h5", verify=False)


def test_recipes_state_the_suite_keys_and_metric_directions():
    for name, metric in (("nas-bench-graph", "acc"), ("nas-bench-graph-proteins", "auc")):
        r = RECIPES[name]
        assert r["source_dir"] == "graph" and r["lookup"] == "class"
        assert r["protocol"] == {"search_metric": f"valid_{metric}@1", "report_metric": f"test_{metric}@1"}
    for m in ("valid_acc", "test_acc", "valid_auc", "test_auc"):
        assert higher_is_better(m)
    for m in ("latency", "params"):
        assert not higher_is_better(m)


# ------------------------------------------------------------------ the real files
@pytest.fixture(scope="module")
def real(tmp_path_factory):
    src = DATA / "graph"
    if not all((src / f"{d}.bench").is_file() for d in (*DATASETS, "proteins")):
        pytest.skip(f"NAS-Bench-Graph files not found in {src} (set NASBENCH_SUITE_DATA)")
    out = tmp_path_factory.mktemp("graph")
    return (import_table(recipe="nas-bench-graph", source=src, out=out / "graph.h5"),
            import_table(recipe="nas-bench-graph-proteins", source=src, out=out / "proteins.h5"))


def _file(name):
    return _safe_pickle.load(DATA / "graph" / f"{name}.bench", allow=["numpy_scalars"])


@pytest.mark.realdata
def test_the_8_datasets_hold_26206_architectures_each_as_the_files_say(real):
    space = spaces.get("graph")
    with Benchmark.open(real[0]) as b:
        assert len(b) == 26206 and b.datasets == DATASETS and b.lookup == "class"
        rows = b.rows(np.arange(space.size))
        assert (rows >= 0).all() and np.unique(rows).size == 26206  # every raw choice has a row
        for d in DATASETS:
            data = _file(d)
            assert len(data) == 26206
            for key in sorted(data)[:: 26206 // 5]:  # six keys per file, spread over the key range
                link, ops = ref.LINKS[key // 10 ** 4], [key // 10 ** (3 - i) % 10 for i in range(4)]
                cell = graph.Cell(link, [graph.OPS[o] for o in ops])
                assert ref.benchmark_key(link, ops) == key
                v = data[key]
                assert b.query(cell, "valid_acc", 1, d) == float(v["valid_perf"]) * 100
                assert b.query(cell, "test_acc", 1, d) == float(v["perf"]) * 100
                assert b.query(cell, "latency", dataset=d) == float(v["latency"]) * 1000
                assert b.query(cell, "params", dataset=d) == float(v["para"])
        # direction: the best by valid_acc is the largest, by latency the smallest
        cell, best = b.best("valid_acc", 1, "cora")
        assert best == max(float(v["valid_perf"]) for v in _file("cora").values()) * 100
        _, fastest = b.best("latency", dataset="cora")
        assert fastest == min(float(v["latency"]) for v in _file("cora").values()) * 1000
        assert b.provenance["recipe"] == "nas-bench-graph" and b.provenance["verified"]


@pytest.mark.realdata
def test_proteins_holds_2021_architectures(real):
    space = spaces.get("graph_proteins")
    data = _file("proteins")
    with Benchmark.open(real[1]) as b:
        assert len(b) == len(data) == 2021 and b.datasets == ("proteins",)
        rows = b.rows(np.arange(space.size))
        assert (rows >= 0).all() and np.unique(rows).size == 2021
        for key in sorted(data)[::400]:
            link, ops = ref.LINKS[key // 10 ** 4], [key // 10 ** (3 - i) % 10 for i in range(4)]
            cell = graph.Cell(link, [graph.OPS[o] for o in ops])
            assert b.query(cell, "valid_auc", 1, "proteins") == float(data[key]["valid_perf"]) * 100
            assert b.query(cell, "test_auc", 1, "proteins") == float(data[key]["perf"]) * 100
        _, best = b.best("test_auc", 1, "proteins")
        assert best == max(float(v["perf"]) for v in data.values()) * 100


@pytest.mark.realdata
def test_the_files_keys_are_exactly_the_benchmark_keys_of_the_raw_choices():
    """Every raw choice's key (the reference's, written from the package) is a key of the files, and
    every key of the files is reached: 26,206 on the full list, 2,021 on the proteins list."""
    if not (DATA / "graph" / "cora.bench").is_file():
        pytest.skip("NAS-Bench-Graph files not found")
    for name, ops in (("cora", range(9)), ("proteins", (1, 4, 5, 7, 8))):
        keys = {ref.benchmark_key(lk, list(o)) for lk in ref.LINKS for o in itertools.product(ops, repeat=4)
                if list(o) != [8] * 4}
        assert keys == set(_file(name))


@pytest.mark.realdata
@pytest.mark.parametrize("strategy", ["random_search", "regularized_evolution", "local_search", "reinforce",
                                      "bananas"])
def test_strategies_search_raw_choices_on_the_real_table(real, strategy):
    """Strategies sample and mutate raw choices; every one resolves to a row; the values recorded are the
    table's values of those rows, and no proposal repeats a network under function dedup."""
    from nasbench_suite.runner import run_search

    space = spaces.get("graph")
    with Benchmark.open(real[0]) as b:
        t = run_search(b, strategy, 3, {"queries": 40}, search_metric="valid_acc@1", report_metric="test_acc@1",
                       dataset="cora", strategy_kwargs={"dedup": "function"})
        assert len(t) == 40
        cells = [space.parse(c) for c in t.cell]
        assert np.array_equal(t.value, b.query(cells, "valid_acc", 1, "cora"))
        assert len({space.functional(c) for c in cells}) == 40
        assert t.incumbent_value[-1] == max(t.value)
