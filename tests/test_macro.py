"""NAS-Bench-Macro: cells, labels and indices, invalid input, sampling and
mutation (hypothesis), the canonical key, the space object, the importer
recipe (synthetic files, bad input refused with nothing written; realdata:
the public JSON), searches on the imported table, and the network's
parameter and FLOP counts (torch)."""
from __future__ import annotations

import itertools
import json
import math
import os
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_suite import InvalidSpecError, spaces
from nasbench_suite.runner import run_search
from nasbench_suite.spaces import macro
from nasbench_suite.spaces.base import Stream
from nasbench_suite.tables import Benchmark, TableWriter
from nasbench_suite.tables.importers import RECIPES, TableImportError, import_table

SPACE = macro.SPACE
LABELS = ["".join(p) for p in itertools.product("012", repeat=8)]
REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = pathlib.Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))
MACRO_JSON = DATA / "macro" / "nas-bench-macro_cifar10.json"
PROPS = settings(max_examples=200, deadline=None)
indices = st.integers(0, macro.NUM_ARCHS - 1)


# ------------------------------------------------------------------ cells, labels, indices
def test_constants_and_layout():
    assert (macro.NUM_LAYERS, macro.NUM_CHOICES, macro.NUM_ARCHS) == (8, 3, 6561)
    assert macro.OPS == ("id", "ir_3x3_t3", "ir_5x5_t6")
    assert macro.REDUCTION_LAYERS == (0, 2, 5)
    assert [s[:3] for s in macro.layer_shapes()] == [
        (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1),
        (128, 256, 2), (256, 256, 1), (256, 256, 1)]
    assert [s[3] for s in macro.layer_shapes()] == [32, 16, 16, 8, 8, 8, 4, 4]
    assert spaces.get("macro") is SPACE and "macro" in spaces.names()
    assert SPACE.size == 6561 and SPACE.predictor_encoding == "onehot"
    assert SPACE.strategy_defaults["regularized_evolution"] == {"population_size": 10, "sample_size": 3}


def test_index_is_the_base3_value_in_itertools_product_order():
    for i, label in enumerate(LABELS):
        cell = macro.Cell.from_string(label)
        assert cell.index() == i == int(label, 3)
        assert macro.Cell.from_index(i) == cell and cell.to_string() == label
    assert macro.all_codes().shape == (6561, 8)
    assert [list(map(int, s)) for s in LABELS[:50]] == macro.all_codes()[:50].tolist()


@PROPS
@given(indices)
def test_parse_round_trips(i):
    cell = macro.Cell.from_index(i)
    label = cell.to_string()
    same = [SPACE.parse(label), SPACE.parse(label.encode()), SPACE.parse(f" {label}\n"), SPACE.parse(i),
            SPACE.parse(np.int64(i)), SPACE.parse({"index": i}), SPACE.parse({"choices": list(cell.codes)}),
            SPACE.parse(list(cell.codes)), SPACE.parse(cell), macro.Cell(cell.codes), macro.Cell(cell.ops),
            SPACE.from_index(i), SPACE.parse(SPACE.record(cell)), SPACE.parse(SPACE.from_record(SPACE.record(cell)))]
    assert all(c == cell and hash(c) == hash(cell) for c in same)
    assert SPACE.label(cell) == label and SPACE.index(cell) == i
    assert SPACE.is_valid(label) and SPACE.categorical(cell).tolist() == list(cell.codes)
    assert SPACE.from_categorical(SPACE.categorical(cell)) == cell
    assert cell.ops == tuple(macro.OPS[c] for c in cell.codes)
    assert repr(cell) == f"macro.Cell.from_string({label!r})"


@pytest.mark.parametrize("spec, rule", [
    ("0120112", "8 characters"), ("012011220", "8 characters"), ("", "8 characters"),
    ("01201123", "'3' at position 7 is not a choice"), ("0120112x", "'x' at position 7"),
    ("-1201122", "'-' at position 0"), ("\u0660\u0661\u0662\u0660\u0661\u0661\u0662\u0662", "not a choice"),
    ("0 201122", "' ' at position 1"),
    (-1, "0..6560"), (6561, "0..6560"), ({"index": 10**9}, "0..6560"),
    ([0, 1, 2, 0, 1, 1, 2], "8 layers"), ([0, 1, 2, 3, 1, 1, 2, 2], "layer 3: choice 3"),
    ([0, 1, 2, 0, 1, 1, 2, 1.0], "layer 7"), ([True] * 8, "layer 0"), (["0"] * 8, "unknown op '0'"),
    (1.5, "float"), (None, "NoneType"), (object(), "cannot use"),
])
def test_invalid_specs_name_the_rule(spec, rule):
    with pytest.raises(InvalidSpecError) as info:
        SPACE.parse(spec)
    assert rule in str(info.value), str(info.value)
    assert not SPACE.is_valid(spec)


def test_invalid_cells_and_indices():
    with pytest.raises(InvalidSpecError, match="must be a str"):
        macro.Cell.from_string(12011220)
    with pytest.raises(InvalidSpecError, match="from_string"):
        macro.Cell("01201122")
    with pytest.raises(InvalidSpecError, match="sequence of 8 choices"):
        macro.Cell(5)
    for bad in (-1, 6561, True, 2.0, "3"):
        with pytest.raises(InvalidSpecError, match="index"):
            macro.Cell.from_index(bad)
    assert SPACE.from_categorical([0, 1, 2, 3, 0, 0, 0, 0]) is None
    assert SPACE.from_categorical([0, 1]) is None
    with pytest.raises(InvalidSpecError, match="6561"):
        SPACE.indices(np.array([0, 6561]))
    assert issubclass(InvalidSpecError, ValueError)


# ------------------------------------------------------------------ randomness
def _diff(a, b) -> list:
    return [k for k in range(8) if a.codes[k] != b.codes[k]]


@PROPS
@given(indices, st.integers(0, 2**32 - 1))
def test_mutation_changes_exactly_one_layer(i, seed):
    cell = macro.Cell.from_index(i)
    rng = np.random.default_rng(seed)
    stream = Stream(np.random.default_rng(seed))
    nbrs = set(SPACE.neighbours(cell))
    for child in (macro.mutate(cell, rng), SPACE.mutate(cell, rng), SPACE.mutate(cell, stream)):
        assert len(_diff(cell, child)) == 1
        assert child in nbrs


@PROPS
@given(indices)
def test_neighbours_are_the_16_one_layer_changes(i):
    cell = macro.Cell.from_index(i)
    nbrs = SPACE.neighbours(cell)
    assert len(nbrs) == 16 and len(set(nbrs)) == 16 and cell not in nbrs
    expected = [(k, c) for k in range(8) for c in range(3) if c != cell.codes[k]]
    assert [(_diff(cell, n)[0], n.codes[_diff(cell, n)[0]]) for n in nbrs] == expected


def test_sampling_is_uniform_and_deterministic():
    for make in (lambda s: np.random.default_rng(s), lambda s: Stream(np.random.default_rng(s))):
        a = [SPACE.sample(make(7)) for _ in range(3)]
        r1, r2 = make(3), make(3)
        assert [SPACE.sample(r1) for _ in range(50)] == [SPACE.sample(r2) for _ in range(50)]
        rng = make(11)
        codes = np.array([SPACE.sample(rng).codes for _ in range(12000)])
        for k in range(8):  # each layer's choice uniform: 4,000 expected, sd ~52
            assert np.all(np.abs(np.bincount(codes[:, k], minlength=3) - 4000) < 300), (k, a)
        rng = make(5)
        layers = np.bincount([_diff(c, SPACE.mutate(c, rng))[0]
                              for c in SPACE.sample_many(np.random.default_rng(1), 8000)], minlength=8)
        assert np.all(np.abs(layers - 1000) < 150)
    with pytest.raises(TypeError, match="Generator"):
        macro.sample(42)


# ------------------------------------------------------------------ canonical key
def test_canonical_classes():
    keys = SPACE.all_canonical_keys()
    assert keys.dtype == np.uint64 and keys.shape == (6561,) and keys.min() > 0
    assert np.unique(keys).size == macro.NUM_CLASSES_OF_NETWORKS == 3 * 3 * 7 * 3 * 3 * 7 == 3969
    assert np.unique(macro.canonical_classes()).size == 3969
    assert macro.Cell.from_string("01201122").canonical().to_string() == "01210122"
    assert macro.Cell.from_string("00000000").canonical_key() == 1


def _swap(label: str, a: int, b: int) -> str:
    s = list(label)
    s[a], s[b] = s[b], s[a]
    return "".join(s)


@PROPS
@given(indices, indices)
def test_canonical_key_is_identity_layers_moved_within_their_stage(i, j):
    a, b = macro.Cell.from_index(i), macro.Cell.from_index(j)
    rep = a.canonical()
    assert rep.canonical() == rep and rep.canonical_key() == a.canonical_key() == SPACE.canonical(a)
    assert SPACE.functional(a) == SPACE.canonical(a)
    assert SPACE.all_canonical_keys()[i] == a.canonical_key()
    # equal keys iff same stage-first choices and same non-identity sequence in each stage
    def signature(c):
        s, out = c.to_string(), []
        for lo, hi in ((0, 2), (2, 5), (5, 8)):
            out.append((s[lo], s[lo + 1:hi].replace("0", "")))
        return out
    assert (a.canonical_key() == b.canonical_key()) == (signature(a) == signature(b))
    label = a.to_string()
    for x, y in ((3, 4), (6, 7)):  # identity next to a block inside a stage: same network
        if "0" in (label[x], label[y]):
            assert macro.Cell.from_string(_swap(label, x, y)).canonical_key() == a.canonical_key()
        elif label[x] != label[y]:  # two different blocks: order matters
            assert macro.Cell.from_string(_swap(label, x, y)).canonical_key() != a.canonical_key()
    for x, y in ((0, 1), (2, 3), (5, 6)):  # a stage's first layer is not the identity: never swaps
        if label[x] != label[y]:
            assert macro.Cell.from_string(_swap(label, x, y)).canonical_key() != a.canonical_key()


# ------------------------------------------------------------------ encodings, tables
def test_onehot_encoding_and_table_description():
    cells = [macro.Cell.from_index(i) for i in (0, 1259, 6560)]
    x = SPACE.encode(cells)
    assert x.shape == (3, 24) and x.dtype == np.float32
    assert np.array_equal(x.reshape(3, 8, 3).argmax(axis=2), np.array([c.codes for c in cells]))
    assert np.array_equal(x.sum(axis=1), [8, 8, 8]) and SPACE.encode([]).shape == (0, 24)
    with pytest.raises(ValueError, match="onehot"):
        SPACE.encode(cells, "path")
    d = SPACE.table_describe(SPACE.table_cells(["00000000", 1259, cells[2]]))
    assert set(d) == {"key", *SPACE.table_description}
    assert d["key"].tolist() == [[0, 0], [1259, 0], [6560, 0]] and d["choices"].dtype == np.uint8
    assert d["canonical"].tolist() == [c.canonical_key() for c in cells]
    assert SPACE.table_cell_at(d, 1) == cells[1] and SPACE.table_label(d, 2) == "22222222"
    assert SPACE.indices(["01201122", 5, cells[0]]).tolist() == [1259, 5, 0]
    assert SPACE.table_keys(["01201122"]).tolist() == [[1259, 0]]


def test_class_lookup_table(tmp_path):
    path = tmp_path / "classes.h5"
    with TableWriter(path, space="macro") as w:
        w.lookup = "class"
        rows = w.add_cells(["01210122", "01201122", "00010000"])  # the first two are one network
        assert rows.tolist() == [0, 0, 1]
        w.add_dataset("cifar10", seeds=[0], fidelities=[50])
        w.set("cifar10", "test_acc", np.array([0, 1]), np.array([91.0, 45.0]), seed=0, fidelity=50)
    with Benchmark.open(path) as bench:
        assert len(bench) == 2
        assert bench.query("01201122", "test_acc", fidelity=50, dataset="cifar10") == 91.0  # its class
        assert bench.query("00001000", "test_acc", fidelity=50, dataset="cifar10") == 45.0
        assert np.isnan(bench.query("10000000", "test_acc", fidelity=50, dataset="cifar10", missing="nan"))


# ------------------------------------------------------------------ importer (synthetic files)
def _synthetic_entries() -> dict:
    """A complete, valid NAS-Bench-Macro JSON with made-up values (equal per network)."""
    out = {}
    for label in reversed(LABELS):  # not in index order, as the public file
        k = macro.Cell.from_string(label).canonical_key()
        acc = [50.0 + (k % 89) * 0.5 + s * 0.125 for s in range(3)]
        out[label] = {"test_acc": acc, "mean_acc": float(np.mean(acc)), "std": float(np.std(acc)),
                      "params": 300_000 + 7 * k, "flops": 7_000_000 + 1000 * k}
    return out


def _write(directory, data=None, text=None):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "nas-bench-macro_cifar10.json"
    path.write_text(text if text is not None else json.dumps(data), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    entries = _synthetic_entries()
    src = _write(tmp_path_factory.mktemp("macro_src"), entries)
    out = import_table(recipe="nas-bench-macro", source=src, out=tmp_path_factory.mktemp("t") / "macro.h5",
                       verify=False)  # synthetic entries, not the published file
    return entries, out


def test_recipe_imports_rows_in_index_order(synthetic):
    entries, out = synthetic
    with Benchmark.open(out) as bench:
        assert bench.space == "macro" and len(bench) == 6561 and bench.datasets == ("cifar10",)
        assert list(bench.fidelities("cifar10")) == [50.0]
        assert bench.cell(0) == macro.Cell.from_index(0) and bench.cell(6560).to_string() == "22222222"
        for label in ("00000000", "01201122", "22212202"):
            e = entries[label]
            assert bench.query(label, "test_acc", fidelity=50, dataset="cifar10", seed="mean") == \
                pytest.approx(e["mean_acc"], abs=1e-12)
            assert bench.query(label, "params", dataset="cifar10") == e["params"]
            assert bench.query(label, "flops", dataset="cifar10") == e["flops"]
        assert bench.cost_model == {"kind": "per_epoch", "seconds_per_epoch": 1.0}
        assert "no training time" in bench.provenance["notes"]["cost_model"]
    import h5py
    with h5py.File(out, "r") as h5:
        assert h5["cells/index"][()].tolist() == list(range(6561))
        assert h5["datasets/cifar10/seeds"][()].tolist() == [0, 1, 2]
        acc = h5["datasets/cifar10/metrics/test_acc"]
        assert acc.shape == (6561, 3, 1) and acc.attrs["units"] == "percent"
        assert acc[1259, :, 0].tolist() == entries["01201122"]["test_acc"]
        assert h5["datasets/cifar10/static/params"].attrs["units"] == "count"
        assert h5["datasets/cifar10/static/flops"].attrs["units"] == "count"
        assert sorted(h5["datasets/cifar10/metrics"]) == ["test_acc"]
        assert sorted(h5["datasets/cifar10/static"]) == ["flops", "params"]


def _refused(tmp_path, data=None, text=None, *patterns):
    src = _write(tmp_path / "src", data, text)
    out = tmp_path / "never.h5"
    with pytest.raises(TableImportError) as info:
        import_table(recipe="nas-bench-macro", source=src, out=out, verify=False)
    msg = str(info.value)
    assert "\n" not in msg and "nas-bench-macro_cifar10.json" in msg
    for p in patterns:
        assert p in msg, (p, msg)
    assert not out.exists() and not [p for p in os.listdir(tmp_path) if p != "src"]
    return msg


def _edited(fn):
    entries = _synthetic_entries()
    fn(entries)
    return entries


@pytest.mark.parametrize("edit, patterns", [
    (lambda e: e["01201122"].pop("flops"), ["entry '01201122'", "has no field 'flops'"]),
    (lambda e: e["01201122"].update(valid_acc=1.0), ["entry '01201122'", "unexpected field 'valid_acc'"]),
    (lambda e: e["01201122"].update(test_acc=[90.0, 91.0]), ["entry '01201122'", "list of 3 values"]),
    (lambda e: e["01201122"].update(params=[1, 2]), ["entry '01201122'", "field 'params'", "single value"]),
    (lambda e: e["01201122"]["test_acc"].__setitem__(1, None), ["entry '01201122'", "'test_acc[1]'", "missing"]),
    (lambda e: e["01201122"]["test_acc"].__setitem__(2, "91.5%"), ["entry '01201122'", "not a number"]),
    (lambda e: e["01201122"].update(flops=float("inf")), ["entry '01201122'", "'flops'", "not a finite number"]),
    (lambda e: e.update({"0120112": e.pop("01201122")}), ["entry '0120112'", "8 characters"]),
    (lambda e: e.update({"01201123": e.pop("01201122")}), ["entry '01201123'", "'3' at position 7"]),
    (lambda e: e.pop("01201122"), ["6560 data rows, expected 6561"]),
])
def test_bad_input_is_refused_before_writing(tmp_path, edit, patterns):
    _refused(tmp_path, _edited(edit), None, *patterns)


def test_nan_accuracy_and_duplicate_key_are_refused(tmp_path):
    entries = _synthetic_entries()
    text = json.dumps(entries)
    # a NaN literal (Python's json writes one for float('nan'))
    bad = json.dumps(_edited(lambda e: e["01201122"]["test_acc"].__setitem__(0, math.nan)))
    assert "NaN" in bad
    _refused(tmp_path / "a", None, bad, "entry '01201122'", "'test_acc[0]'", "nan is not a finite number")
    first = text.index('"22222222"')
    dup = text[:first] + '"00000001": {"test_acc": [1, 2, 3], "mean_acc": 2, "std": 1, "params": 1, ' \
        '"flops": 1}, ' + text[first:]
    _refused(tmp_path / "b", None, dup, "'00000001' appears twice")
    dup_field = text.replace('"params"', '"flops": 1, "params"', 1)
    _refused(tmp_path / "c", None, dup_field, "'flops' appears twice")
    _refused(tmp_path / "d", None, "[1, 2", "not valid JSON")


def test_recipe_and_key_kind_rules(tmp_path):
    assert RECIPES["nas-bench-macro"]["space"] == "macro"
    src = _write(tmp_path / "src", {"01201122": {"acc": 90.0}, "22222222": {"acc": 91.0}})
    path = src / "nas-bench-macro_cifar10.json"
    cols = {"acc": ["test_acc", 50, "cifar10"]}
    # a generic label key, the space named in the key or the mapping; no 'rows': a partial table
    for mapping in ({"key": {"column": "arch", "kind": "label", "space": "macro"}, "columns": cols},
                    {"space": "macro", "key": {"column": "arch", "kind": "label"}, "columns": cols}):
        out = import_table(source=path, out=tmp_path / "p.h5", mapping=mapping, overwrite=True)
        with Benchmark.open(out) as bench:
            assert len(bench) == 2 and bench.query("01201122", "test_acc", 50, "cifar10") == 90.0
    with pytest.raises(TableImportError, match="needs a 'space'"):
        import_table(source=path, out=tmp_path / "x.h5", mapping={"key": {"column": "arch", "kind": "label"},
                                                                   "columns": cols})
    with pytest.raises(TableImportError, match="unknown space 'nb999'"):
        import_table(source=path, out=tmp_path / "x.h5",
                     mapping={"key": {"column": "arch", "kind": "label", "space": "nb999"}, "columns": cols})
    with pytest.raises(TableImportError, match="names nb201 cells, not macro"):
        import_table(source=path, out=tmp_path / "x.h5",
                     mapping={"key": {"column": "arch", "kind": "arch_string", "space": "macro"}, "columns": cols})
    # an index key of the macro space
    src2 = tmp_path / "i.json"
    src2.write_text(json.dumps([{"i": 1259, "acc": 90.0}, {"i": 6561, "acc": 1.0}]))
    with pytest.raises(TableImportError, match=r"record 1, column 'i': 6561 is not a NAS-Bench-Macro official"):
        import_table(source=src2, out=tmp_path / "x.h5",
                     mapping={"key": {"column": "i", "kind": "index", "space": "macro"}, "columns": cols})
    assert not (tmp_path / "x.h5").exists()


# ------------------------------------------------------------------ searches on the imported table
@pytest.mark.parametrize("name", ["random_search", "regularized_evolution", "local_search", "bananas",
                                  "reinforce"])
def test_run_search_on_the_imported_table(synthetic, name):
    _, out = synthetic
    bench = Benchmark.open(out)
    t = run_search(bench, name, seed=0, budget={"queries": 30}, search_metric="test_acc@50",
                   report_metric="test_acc@50", dataset="cifar10")
    assert len(t) == 30 and np.isfinite(t.final_report)
    assert all(SPACE.parse(c).to_string() == c for c in t.cell)
    again = run_search(bench, name, seed=0, budget={"queries": 30}, search_metric="test_acc@50",
                       report_metric="test_acc@50", dataset="cifar10")
    assert list(again.cell) == list(t.cell)


# ------------------------------------------------------------------ the public JSON (realdata)
@pytest.fixture(scope="module")
def public_json():
    if not MACRO_JSON.is_file():
        pytest.skip(f"{MACRO_JSON} not found (set NASBENCH_SUITE_DATA)")
    with open(MACRO_JSON, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.realdata
def test_public_json_is_constant_on_canonical_classes(public_json):
    assert sorted(public_json) == LABELS
    by_key: dict = {}
    for label, entry in public_json.items():
        by_key.setdefault(macro.Cell.from_string(label).canonical_key(), []).append(entry)
    assert len(by_key) == 3969
    for entries in by_key.values():
        assert all(e["params"] == entries[0]["params"] and e["flops"] == entries[0]["flops"] for e in entries)
        assert all(e == entries[0] for e in entries)  # the authors copied one training per network
    for e in public_json.values():
        assert e["mean_acc"] == pytest.approx(np.mean(e["test_acc"]), abs=1e-9)
        assert e["std"] == pytest.approx(np.std(e["test_acc"]), abs=1e-9)


@pytest.mark.realdata
def test_public_json_import(public_json, tmp_path):
    out = import_table(recipe="nas-bench-macro", source=MACRO_JSON.parent, out=tmp_path / "macro.h5")
    with Benchmark.open(out) as bench:
        assert len(bench) == 6561
        for label in ("02012100", "00000000", "22222222"):
            e = public_json[label]
            for seed in range(3):
                assert bench.query(label, "test_acc", 50, "cifar10", seed=seed) == e["test_acc"][seed]
            assert bench.query(label, "test_acc", 50, "cifar10", seed="mean") == pytest.approx(e["mean_acc"])
            assert bench.query(label, "params", dataset="cifar10") == e["params"]
            assert bench.query(label, "flops", dataset="cifar10") == e["flops"]
        cell, best = bench.best("test_acc", 50, "cifar10")
        assert best == pytest.approx(max(e["mean_acc"] for e in public_json.values()))


# ------------------------------------------------------------------ the network (torch)
@pytest.mark.realdata
def test_analytic_counts_equal_the_json_for_every_architecture(public_json):
    pytest.importorskip("torch")
    from nasbench_suite.train.macro_net import count

    bad = [label for label, e in public_json.items() if count(label) != (e["params"], e["flops"])]
    assert not bad, bad[:10]


def test_built_networks_match_the_analytic_counts():
    torch = pytest.importorskip("torch")
    from nasbench_suite.train import build_network, count_flops, count_params
    from nasbench_suite.train.macro_net import count

    rng = np.random.default_rng(2021)
    cells = [macro.Cell.from_index(i) for i in (0, 6560, 1259)] + SPACE.sample_many(rng, 17)
    for cell in cells:
        net = build_network("macro", cell, 10)
        params, flops = count(cell)
        assert count_params(net) == params
        assert count_flops(net) == flops + 10  # the suite also counts the classifier's bias additions
    assert count("00000000") == (387_882, 7_713_280)  # the JSON's figures of the all-identity network
    net = build_network("macro", "01201122", 7).eval()
    with torch.no_grad():
        assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    with pytest.raises(InvalidSpecError, match="8 characters"):
        build_network("macro", "0120112", 10)
