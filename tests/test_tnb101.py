"""Issue 15 item 4: TransNAS-Bench-101 micro and macro as spaces
(``spaces/_tnb101.py``) and the recipes ``transnas-bench-101-micro`` /
``-macro`` (7 tasks each as the datasets of one table), the metric directions
and search on a lower-is-better metric.

Synthetic sources are written here in the files' format (NASLib's zero-cost
JSON: a list of ``{"idx", "arch", "zen": {"score", "time"}, "val_accuracy"}``
per part file) with values the test chooses; (realdata) the real import is
checked against the JSON files themselves."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nasbench_suite import InvalidSpecError, spaces
from nasbench_suite.runner import run_search
from nasbench_suite.runner.search import parse_metric
from nasbench_suite.spaces import nb201
from nasbench_suite.spaces.base import Stream
from nasbench_suite.tables import Benchmark, TableBuilder
from nasbench_suite.tables._schema import higher_is_better, write_all
from nasbench_suite.tables.importers import RECIPES, TableImportError, import_table

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))
MICRO = spaces.get("tnb101_micro")
MACRO = spaces.get("tnb101_macro")
TASKS = ("class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic", "normal", "autoencoder")
# NASLib transbench101 graph.py query(): the VAL_ACCURACY name per task; the authors' configs: num_epochs.
EXPECTED_METRIC = {"class_scene": ("valid_acc", 25), "class_object": ("valid_acc", 25),
                   "room_layout": ("valid_neg_loss", 25), "jigsaw": ("valid_acc", 10),
                   "segmentsemantic": ("valid_pixel_acc", 30), "normal": ("valid_ssim", 30),
                   "autoencoder": ("valid_ssim", 30)}
OPS4 = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")  # the authors' codes 0..3


def nb201_arch(codes) -> str:
    """The NB201 arch string of 6 op codes, spelt out here."""
    o = [OPS4[c] for c in codes]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def macro_networks() -> list:
    """Every macro code sequence by the rule, enumerated here: 4-6 layers of
    codes 1..4, 1-4 of them 3 or 4 (stride 2), 1-3 of them 2 or 4 (x2 channels)."""
    out = []
    for n in (4, 5, 6):
        for c in itertools.product((1, 2, 3, 4), repeat=n):
            down = sum(x in (3, 4) for x in c)
            wide = sum(x in (2, 4) for x in c)
            if 1 <= down <= 4 and 1 <= wide <= 3:
                out.append(c)
    return out


# ------------------------------------------------------------------ micro space
def test_micro_cells_are_the_4096_code_tuples_in_naslib_order():
    assert MICRO.size == 4096
    cells = MICRO.cells()
    assert [c.codes for c in cells] == list(itertools.product(range(4), repeat=6))
    assert MICRO.label(cells[0]) == "64-41414-0_00_000"
    assert MICRO.label(MICRO.parse("(2, 3, 2, 3, 2, 3)")) == "64-41414-2_32_323"
    assert MICRO.index(MICRO.parse("64-41414-0_00_013")) == 1 * 4 + 3


def test_micro_ops_are_nb201_ops_0_to_3():
    from nasbench_suite.spaces import _tnb101

    assert _tnb101.MICRO_OPS == OPS4 == nb201.OPS[:4]
    assert _tnb101.MICRO_EDGES == nb201.EDGES
    c = MICRO.parse([3, 1, 2, 0, 3, 1])
    assert c.ops == ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "none", "nor_conv_3x3", "skip_connect")


def test_micro_canonical_key_is_nb201s_for_every_cell():
    for c in MICRO.cells():
        assert MICRO.canonical(c) == nb201.Cell.from_string(nb201_arch(c.codes)).canonical_key()
    keys = {MICRO.canonical(c) for c in MICRO.cells()}
    assert 0 in keys  # cells without an input-output path share key 0


def test_micro_functional_key_is_the_canonical_one_because_a_node0_skip_is_not_the_identity():
    # 0->1 skip, 1->2 conv3, 2->3 conv3 versus 0->1 conv3, 1->2 conv3, 2->3 skip: NB201 contracts
    # the skips (both are conv3 o conv3), but in TNB101's reducing cells the first skip is a
    # FactorizedReduce with weights of its own, so they are different networks.
    a, b = MICRO.parse([1, 0, 3, 0, 0, 3]), MICRO.parse([3, 0, 3, 0, 0, 1])
    na, nb = (nb201.Cell.from_string(nb201_arch(c.codes)) for c in (a, b))
    assert na.functional_key() == nb.functional_key()
    assert MICRO.functional(a) != MICRO.functional(b)
    for c in MICRO.cells()[::37]:
        assert MICRO.functional(c) == MICRO.canonical(c) == MICRO.dedup_key("function")(c)


def test_micro_encodings_are_nb201s_without_the_pool_column():
    cells = [MICRO.from_index(i) for i in (0, 5, 1234, 4095)]
    onehot = MICRO.encode(cells, "onehot")
    want = np.zeros((4, 24), dtype=np.float32)
    for r, c in enumerate(cells):
        for e, code in enumerate(c.codes):
            want[r, e * 4 + code] = 1
    assert np.array_equal(onehot, want)
    nbc = [nb201.Cell.from_string(nb201_arch(c.codes)) for c in cells]
    assert np.array_equal(MICRO.encode(cells, "path"), nb201.encode(nbc, "path"))
    with pytest.raises(ValueError, match="unknown encoding kind"):
        MICRO.encode(cells, "adjacency")
    assert MICRO.encode([], "onehot").shape == (0, 24) and MACRO.encode([]).shape == (0, 30)


def test_micro_mutation_changes_one_edge_and_neighbours_are_the_18():
    rng = np.random.default_rng(3)
    for i in range(0, 4096, 97):
        c = MICRO.from_index(i)
        for child in (MICRO.mutate(c, rng), MICRO.mutate(c, Stream(np.random.default_rng(i)))):
            assert sum(x != y for x, y in zip(c.codes, child.codes)) == 1
        nbrs = MICRO.neighbours(c)
        assert len(nbrs) == 18 == len({n.codes for n in nbrs})
        assert all(sum(x != y for x, y in zip(c.codes, n.codes)) == 1 for n in nbrs)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4095))
def test_micro_labels_indices_and_categoricals_round_trip(i):
    c = MICRO.from_index(i)
    assert MICRO.parse(MICRO.label(c)) == c
    assert MICRO.parse("(" + ", ".join(map(str, c.codes)) + ")") == c
    assert MICRO.from_categorical(MICRO.categorical(c)) == c
    assert MICRO.index(c) == int("".join(map(str, c.codes)), 4)


@pytest.mark.parametrize("bad", ["64-41414-4_00_000", "64-41414-0_0_0000", "(1, 2, 3)", "(0, 0, 0, 0, 0, 9)",
                                 "1_02_333", 4096, -1, [0, 1, 2, 3, 0]])
def test_micro_bad_cells_are_refused(bad):
    with pytest.raises(InvalidSpecError):
        MICRO.parse(bad)


# ------------------------------------------------------------------ macro space
def test_macro_networks_are_the_3256_of_the_rule():
    assert MACRO.size == 3256
    cells = MACRO.cells()
    assert sorted(c.codes for c in cells) == sorted(macro_networks())
    assert [len(c.codes) for c in cells].count(4) == 210
    assert [len(c.codes) for c in cells].count(5) == 750
    assert [len(c.codes) for c in cells].count(6) == 2296
    assert len({MACRO.canonical(c) for c in cells}) == 3256 and all(MACRO.canonical(c) > 0 for c in cells)


def test_macro_labels_and_naslib_tuples():
    c = MACRO.parse("(2, 3, 1, 4)")
    assert MACRO.label(c) == "64-2314-basic"
    assert MACRO.parse("64-2314-basic") == c == MACRO.parse("(2, 3, 1, 4, 0, 0)") == MACRO.parse([2, 3, 1, 4])
    assert MACRO.categorical(c).tolist() == [2, 3, 1, 4, 0, 0]
    assert MACRO.from_categorical([2, 0, 3, 1, 4, 0]) == c  # zeros are "no layer", as NASLib drops them
    assert MACRO.from_categorical([1, 1, 1, 1, 0, 0]) is None


@pytest.mark.parametrize("bad, why", [("(1, 1, 1, 1)", "halves the resolution 1 to 4"),
                                      ("(3, 3, 3, 3)", "doubles the channels 1 to 3"),
                                      ("(4, 4, 4, 4, 1)", "doubles the channels 1 to 3"),
                                      ("(2, 3, 1)", "4 to 6 layers"), ("64-2314-basic-x", "not a TNB101 macro"),
                                      ("(2, 3, 1, 5)", "codes are 1..4")])
def test_macro_bad_networks_are_refused_with_the_rule(bad, why):
    with pytest.raises(InvalidSpecError, match=re.escape(why)):
        MACRO.parse(bad)


def test_macro_neighbours_are_valid_single_edits_and_symmetric():
    cells = MACRO.cells()
    rng = np.random.default_rng(0)
    for c in cells[::23]:
        nbrs = MACRO.neighbours(c)
        assert nbrs and len(nbrs) == len(set(nbrs)) and c not in nbrs
        for n in nbrs:
            a, b = c.codes, n.codes
            one_change = len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1
            one_insert = len(b) == len(a) + 1 and any(b[:k] + b[k + 1:] == a for k in range(len(b)))
            one_delete = len(a) == len(b) + 1 and any(a[:k] + a[k + 1:] == b for k in range(len(a)))
            assert one_change or one_insert or one_delete
            assert c in MACRO.neighbours(n)
        assert MACRO.mutate(c, rng) in nbrs
        assert MACRO.mutate(c, Stream(np.random.default_rng(1))) in nbrs


def test_macro_onehot_encoding():
    c = MACRO.parse([2, 3, 1, 4])
    x = MACRO.encode([c])
    assert x.shape == (1, 30)
    assert np.flatnonzero(x[0]).tolist() == [0 * 5 + 2, 1 * 5 + 3, 2 * 5 + 1, 3 * 5 + 4, 4 * 5 + 0, 5 * 5 + 0]


def test_both_spaces_are_registered_and_sample_uniformly_by_index():
    assert {"tnb101_micro", "tnb101_macro"} <= set(spaces.names())
    for s in (MICRO, MACRO):
        idx = [s.index(s.sample(np.random.default_rng(k))) for k in range(400)]
        assert 0 <= min(idx) and max(idx) < s.size and len(set(idx)) > 300


# ------------------------------------------------------------------ directions and search
def test_every_tnb101_metric_is_higher_is_better_and_losses_are_not():
    for metric, _ in EXPECTED_METRIC.values():
        assert higher_is_better(metric), metric
    assert higher_is_better("zen")
    assert not higher_is_better("valid_loss") and not higher_is_better("train_time")


def test_a_search_on_a_lower_is_better_metric_finds_the_minimum(tmp_path):
    rng = np.random.default_rng(5)
    loss = rng.uniform(0.5, 3.0, MACRO.size)
    b = TableBuilder(MACRO.name)
    b.add_dataset("d", [0], [1])
    rows = b.add_cells(np.arange(MACRO.size))
    b.set("d", "valid_loss", rows, loss.reshape(-1, 1, 1))
    b.set("d", "valid_acc", rows, (100 - 10 * loss).reshape(-1, 1, 1))
    b.set("d", "train_time", rows, np.ones((MACRO.size, 1, 1)))
    write_all(tmp_path / "t.h5", b.table())
    t = run_search(tmp_path / "t.h5", "random_search", 0, {"queries": MACRO.size}, search_metric="valid_loss@1",
                   report_metric="valid_acc@1")
    assert t.incumbent_value[-1] == loss.min()  # every cell seen once (dedup): the minimum is the incumbent
    assert t.incumbent_report[-1] == (100 - 10 * loss).max()
    assert set(np.round(t.value, 12)) == set(np.round(loss, 12))  # the table's values, not negated
    assert (np.diff(t.incumbent_value) <= 0).all()
    # a short local search descends too: its incumbent is the lowest loss it queried
    t2 = run_search(tmp_path / "t.h5", "local_search", 1, {"queries": 60}, search_metric="valid_loss@1",
                    report_metric="valid_acc@1")
    assert t2.incumbent_value[-1] == t2.value.min()
    t3 = run_search(tmp_path / "t.h5", "regularized_evolution", 2, {"queries": 300}, search_metric="valid_loss@1",
                    report_metric="valid_acc@1")
    assert t3.incumbent_value[-1] == t3.value.min() < np.quantile(loss, 0.05)


# ------------------------------------------------------------------ recipes on synthetic files
def _parts(kind: str) -> dict:
    """task -> the recipe's part file names, in order."""
    recipe = RECIPES[f"transnas-bench-101-{kind}"]
    return {s["columns"]["val_accuracy"]["dataset"]: [p["file"] for p in s["files"]] for s in recipe["sources"]}


def value_of(task: str, i: int) -> float:
    """The synthetic value of cell i on a task (negative for room_layout, as the real files)."""
    base = (i * 7919 % 1000) / 10.0 + TASKS.index(task)
    return -base / 100.0 if task == "room_layout" else base / 1.5


def write_source(root: Path, kind: str) -> Path:
    """Every part file of a recipe, in the files' format: the space's cells in a
    shuffled order, split across the task's parts as the real files are."""
    space = MICRO if kind == "micro" else MACRO
    root.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(0).permutation(space.size)
    for task, files in _parts(kind).items():
        chunks = np.array_split(order, len(files))
        for f, chunk in zip(files, chunks):
            records = [{"idx": str(int(i)), "arch": "(" + ", ".join(map(str, space.from_index(int(i)).codes)) + ")",
                        "zen": {"score": float(i) / 10.0, "time": 1.5}, "val_accuracy": value_of(task, int(i))}
                       for i in chunk]
            (root / f).write_text(json.dumps(records))
    return root


@pytest.fixture(scope="module")
def micro_src(tmp_path_factory):
    return write_source(tmp_path_factory.mktemp("tnb") / "micro", "micro")


@pytest.fixture(scope="module")
def micro_table(micro_src, tmp_path_factory):
    out = tmp_path_factory.mktemp("tnbt") / "micro.h5"
    return import_table("transnas-bench-101-micro", str(micro_src), str(out), verify=False)


def test_synthetic_micro_import_holds_the_written_values(micro_table):
    b = Benchmark.open(micro_table)
    assert b.space == "tnb101_micro" and b.datasets == TASKS
    for task in TASKS:
        metric, epochs = EXPECTED_METRIC[task]
        assert b.metrics(task) == tuple(sorted((metric, "zen")))
        assert b.fidelities(task).tolist() == [epochs]
        for i in (0, 1, 777, 4095):
            cell = MICRO.from_index(i)
            assert b.query(cell, metric, epochs, task) == pytest.approx(value_of(task, i), abs=0, rel=1e-15)
            assert b.query(cell, "zen", None, task) == i / 10.0
    assert b.cost_description(25) == "cost model: 1 s per epoch"


def test_the_recipe_files_are_recorded_as_sources(micro_table):
    b = Benchmark.open(micro_table)
    files = [s["file"] for s in b.provenance["sources"]]
    assert len(files) == 35 and files[0] == "benchmark--transbench101_micro--class_scene--0.json"
    assert b.provenance["verified"] is False


def test_synthetic_macro_import(tmp_path):
    src = write_source(tmp_path / "macro", "macro")
    b = Benchmark.open(import_table("transnas-bench-101-macro", str(src), str(tmp_path / "m.h5"), verify=False))
    assert b.space == "tnb101_macro" and len(b.labels()) == 3256
    cell = MACRO.parse("(2, 3, 1, 4)")
    assert b.query(cell, "valid_ssim", 30, "normal") == pytest.approx(value_of("normal", MACRO.index(cell)))
    assert b.best("valid_neg_loss", 25, "room_layout")[1] == max(value_of("room_layout", i) for i in range(3256))


def test_missing_tasks_are_named(micro_src, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(micro_src, src)
    for f in _parts("micro")["jigsaw"] + _parts("micro")["normal"][:1]:
        (src / f).unlink()
    with pytest.raises(TableImportError, match=r"missing the files of dataset\(s\) 'jigsaw', 'normal' \(6 file"):
        import_table("transnas-bench-101-micro", str(src), str(tmp_path / "o.h5"), verify=False)
    assert not (tmp_path / "o.h5").exists()


def test_a_bad_sha256_is_refused_with_both_digests(micro_src, tmp_path):
    recipe = RECIPES["transnas-bench-101-micro"]
    first = recipe["sources"][0]["files"][0]
    found = hashlib.sha256((micro_src / first["file"]).read_bytes()).hexdigest()
    with pytest.raises(TableImportError) as err:
        import_table("transnas-bench-101-micro", str(micro_src), str(tmp_path / "o.h5"))
    assert first["file"] in str(err.value) and found in str(err.value) and first["sha256"] in str(err.value)
    assert "--no-verify" in str(err.value) and not (tmp_path / "o.h5").exists()


def _one_task_mapping(files, **extra) -> dict:
    """The recipe's class_scene source as a mapping over other files, without digests."""
    spec = dict(RECIPES["transnas-bench-101-micro"]["sources"][0])
    spec["files"] = [{"file": f} for f in files]
    return {"sources": [{**spec, **extra}]}


def _edit(src: Path, tmp_path: Path, fn) -> Path:
    """A copy of class_scene's parts with fn(records of part 2) applied."""
    out = tmp_path / "edit"
    out.mkdir()
    for k, f in enumerate(_parts("micro")["class_scene"]):
        recs = json.loads((src / f).read_text())
        if k == 2:
            fn(recs)
        (out / f).write_text(json.dumps(recs))
    return out


def _import_edit(src, tmp_path, fn, **extra):
    out = _edit(src, tmp_path, fn)
    return import_table(mapping=_one_task_mapping(_parts("micro")["class_scene"], **extra), source=str(out),
                        out=str(tmp_path / "o.h5"))


def test_one_task_imports_through_a_mapping(micro_src, tmp_path):
    b = Benchmark.open(_import_edit(micro_src, tmp_path, lambda recs: None))
    assert b.datasets == ("class_scene",) and b.query(MICRO.from_index(9), "valid_acc", 25) == value_of(
        "class_scene", 9)


def test_a_cell_in_two_parts_is_named_with_both(micro_src, tmp_path):
    first = json.loads((micro_src / _parts("micro")["class_scene"][0]).read_text())[0]["arch"]

    def dup(recs):
        recs[5]["arch"] = first

    part0, part2 = _parts("micro")["class_scene"][0], _parts("micro")["class_scene"][2]
    with pytest.raises(TableImportError, match=re.escape(f"{part2}: record 5, column 'arch'") + ".*also appears at "
                       + re.escape(f"{part0}: record 0")):
        _import_edit(micro_src, tmp_path, dup)


@pytest.mark.parametrize("edit, match", [
    (lambda r: r[3]["zen"].pop("time"), r"record 3, field 'zen': .* exactly the members score, time"),
    (lambda r: r[3].update(zen=1.0), r"record 3, field 'zen'"),
    (lambda r: r[3].update(val_accuracy=float("nan")), r"record 3, column 'val_accuracy': nan is not a finite number"),
    (lambda r: r[3].update(val_accuracy="high"), r"record 3, column 'val_accuracy': 'high' is not a number"),
    (lambda r: r[3].update(val_accuracy=None), r"record 3, column 'val_accuracy': missing"),
    (lambda r: r[3].update(arch="(4, 0, 0, 0, 0, 0)"), r"record 3, column 'arch': '\(4, 0, 0, 0, 0, 0\)' is not a "
                                                       r"TransNAS-Bench-101 micro label"),
    (lambda r: r[3].update(extra=1), r"record 3 has an unexpected field 'extra'"),
    (lambda r: r.append(dict(r[0])), r"one data row more than|also appears at"),
])
def test_bad_records_are_named_by_file_and_record(micro_src, tmp_path, edit, match):
    with pytest.raises(TableImportError, match=match):
        _import_edit(micro_src, tmp_path, edit)


def test_a_short_task_is_refused(micro_src, tmp_path):
    with pytest.raises(TableImportError, match="4095 data rows, expected 4096"):
        _import_edit(micro_src, tmp_path, lambda r: r.pop())


def test_a_member_column_of_a_non_object_is_named(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{"arch": "(0, 0, 0, 0, 0, 0)", "zen": 3.0, "v": 1.0}]))
    mapping = {"space": "tnb101_micro", "key": {"column": "arch", "kind": "label"},
               "columns": {"zen.score": {"metric": "zen", "fidelity": None, "dataset": "d"}}}
    with pytest.raises(TableImportError, match=r"record 0, column 'zen': 3.0 has no member 'score'"):
        import_table(mapping=mapping, source=str(tmp_path / "a.json"), out=str(tmp_path / "o.h5"))


def test_files_and_file_together_are_refused(tmp_path):
    spec = _one_task_mapping(["a.json"])
    spec["sources"][0]["file"] = "b.json"
    with pytest.raises(TableImportError, match="'files' must be a non-empty list"):
        import_table(mapping=spec, source=str(tmp_path), out=str(tmp_path / "o.h5"))


def test_the_recipes_protocol_names_metrics_of_the_table(micro_table):
    b = Benchmark.open(micro_table)
    recipe = RECIPES["transnas-bench-101-micro"]
    assert recipe["source_dir"] == "tnb101/micro"
    assert RECIPES["transnas-bench-101-macro"]["source_dir"] == "tnb101/macro"
    for task, p in recipe["protocol"]["by_dataset"].items():
        metric, epochs = EXPECTED_METRIC[task]
        assert p["search_metric"] == p["report_metric"] == f"{metric}@{epochs}"
        assert parse_metric(p["search_metric"], b, task) == (metric, float(epochs))
    assert set(recipe["protocol"]["by_dataset"]) == set(TASKS)


# ------------------------------------------------------------------ the real files
def _real(kind: str) -> dict:
    """task -> every record of the task's real files (json, read here)."""
    src = DATA / "tnb101" / kind
    out = {}
    for task, files in _parts(kind).items():
        out[task] = [r for f in files for r in json.loads((src / f).read_text())]
    return out


@pytest.fixture(scope="module", params=["micro", "macro"])
def real(request, tmp_path_factory):
    src = DATA / "tnb101" / request.param
    if not src.is_dir():
        pytest.skip(f"TransNAS-Bench-101 data not found at {src} (set NASBENCH_SUITE_DATA)")
    out = tmp_path_factory.mktemp("real") / f"{request.param}.h5"
    import_table(f"transnas-bench-101-{request.param}", str(src), str(out))
    return request.param, Benchmark.open(out), _real(request.param)


@pytest.mark.realdata
def test_real_counts_and_every_value_against_the_files(real):
    kind, b, records = real
    space = MICRO if kind == "micro" else MACRO
    assert b.datasets == TASKS and len(b.labels()) == {"micro": 4096, "macro": 3256}[kind] == space.size
    assert b.provenance["verified"] is True
    for task in TASKS:
        metric, epochs = EXPECTED_METRIC[task]
        recs = records[task]
        assert len(recs) == space.size
        idx = np.array([space.index(space.parse(r["arch"])) for r in recs])
        assert sorted(idx.tolist()) == list(range(space.size))
        vals = b.query(idx, metric, epochs, task)
        assert np.array_equal(vals, np.array([r["val_accuracy"] for r in recs]))
        assert np.array_equal(b.query(idx, "zen", None, task), np.array([r["zen"]["score"] for r in recs]))


@pytest.mark.realdata
def test_real_known_value_per_task(real):
    kind, b, records = real
    # record 0 of each task's first file: "(2, 3, 2, 3, 2, 3)" in both spaces (NASLib's idx 0)
    for task in TASKS:
        rec = records[task][0]
        assert rec["idx"] == "0" and rec["arch"] == "(2, 3, 2, 3, 2, 3)"
        metric, epochs = EXPECTED_METRIC[task]
        label = "64-41414-2_32_323" if kind == "micro" else "64-232323-basic"
        assert b.query(label, metric, epochs, task) == rec["val_accuracy"]
    if kind == "micro":  # values read off the file by hand
        assert b.query("64-41414-2_32_323", "valid_neg_loss", 25, "room_layout") == -0.7173932790756226
    else:
        assert b.query("64-232323-basic", "valid_pixel_acc", 30, "segmentsemantic") == 94.6115493774414


@pytest.mark.realdata
def test_real_direction_of_every_metric(real):
    kind, b, records = real
    for task in TASKS:
        metric, epochs = EXPECTED_METRIC[task]
        assert set(b.metrics(task)) == {metric, "zen"}
        assert higher_is_better(metric) and higher_is_better("zen")
        best_cell, best = b.best(metric, epochs, task)
        assert best == max(r["val_accuracy"] for r in records[task])
        values = [r["val_accuracy"] for r in records[task]]
        if metric == "valid_neg_loss":
            assert max(values) < 0  # a negated loss: higher (closer to 0) is better
        elif metric == "valid_ssim":
            assert 0 < min(values) and max(values) < 1
        else:
            assert 0 <= min(values) and max(values) <= 100  # percentages


@pytest.mark.realdata
def test_recipe_digests_are_the_published_ones():
    sums = DATA / "SHA256SUMS"
    if not sums.is_file():
        pytest.skip("no SHA256SUMS")
    published = dict(reversed(line.split()) for line in sums.read_text().splitlines() if "tnb101/" in line)
    n = 0
    for kind in ("micro", "macro"):
        for s in RECIPES[f"transnas-bench-101-{kind}"]["sources"]:
            for p in s["files"]:
                assert published[f"./tnb101/{kind}/{p['file']}"] == p["sha256"]
                n += 1
    assert n == len(published) == 7 * 5 + 7 * 14


def test_every_part_is_checked_against_its_own_sha256(micro_src, tmp_path):
    files = _parts("micro")["class_scene"]
    src = tmp_path / "src"
    src.mkdir()
    for f in files:
        shutil.copy(micro_src / f, src / f)
    mapping = _one_task_mapping(files)
    mapping["sources"][0]["files"] = [{"file": f, "sha256": hashlib.sha256((src / f).read_bytes()).hexdigest()}
                                      for f in files]
    b = Benchmark.open(import_table(mapping=mapping, source=str(src), out=str(tmp_path / "ok.h5")))
    assert b.provenance["verified"] is True
    with open(src / files[3], "a") as fh:
        fh.write(" ")  # the same JSON, another file
    found = hashlib.sha256((src / files[3]).read_bytes()).hexdigest()
    with pytest.raises(TableImportError, match=re.escape(files[3]) + f": sha256 {found}, expected "
                       + mapping["sources"][0]["files"][3]["sha256"]):
        import_table(mapping=mapping, source=str(src), out=str(tmp_path / "bad.h5"))
    b = Benchmark.open(import_table(mapping=mapping, source=str(src), out=str(tmp_path / "nv.h5"), verify=False))
    assert b.provenance["verified"] is False


@settings(max_examples=6, deadline=None)
@given(st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_a_task_split_any_way_over_parts_imports_the_same_values(tmp_path_factory, k, seed):
    """Any split of a task's records over k files, in any order, gives every written value."""
    src = tmp_path_factory.mktemp("split")
    order = np.random.default_rng(seed).permutation(MICRO.size)
    cuts = np.sort(np.random.default_rng(seed + 1).choice(np.arange(1, MICRO.size), k - 1, replace=False))
    files = []
    for j, chunk in enumerate(np.split(order, cuts)):
        files.append(f"part{j}.json")
        recs = [{"idx": str(int(i)), "arch": MICRO.label(MICRO.from_index(int(i))),
                 "zen": {"score": 1.0, "time": 0.0}, "val_accuracy": (int(i) % 997) / 10.0} for i in chunk]
        (src / files[-1]).write_text(json.dumps(recs))
    b = Benchmark.open(import_table(mapping=_one_task_mapping(files), source=str(src), out=str(src / "t.h5")))
    assert np.array_equal(b.query(np.arange(MICRO.size), "valid_acc", 25, "class_scene"),
                          np.arange(MICRO.size) % 997 / 10.0)


def test_a_part_with_a_malformed_digest_is_refused(tmp_path):
    spec = _one_task_mapping(["a.json"])
    spec["sources"][0]["files"][0]["sha256"] = "abc"
    with pytest.raises(TableImportError, match="part 'a.json': 'sha256' 'abc' must be 64 hex digits"):
        import_table(mapping=spec, source=str(tmp_path), out=str(tmp_path / "o.h5"))
