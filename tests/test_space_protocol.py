"""The search-space protocol (spaces/base.py) and its registry: every
registered space answers every question the layers above may ask, the same
way; and no module outside the per-space ones names a space."""
from __future__ import annotations

import ast
import pathlib
import pickle

import numpy as np
import pytest

from nasbench_suite import InvalidSpecError, spaces
from nasbench_suite.spaces.base import SearchSpace, Stream
from nasbench_suite.strategies import make_strategy
from nasbench_suite.tables import TableBuilder

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "nasbench_suite"
NAMES = spaces.names()


def _cells(space, n=20, seed=0):
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


# ---------------------------------------------------------------- registry
def test_registry_lists_and_returns_the_spaces():
    assert {"nb101", "nb201"} <= set(NAMES)
    assert list(NAMES) == sorted(NAMES)
    for name in NAMES:
        s = spaces.get(name)
        assert isinstance(s, SearchSpace) and s.name == name
        assert spaces.get(s) is s
        assert spaces.get(name.encode()) is s
    assert spaces.get(spaces.nb201) is spaces.get("nb201")  # a space module works too


def test_an_unknown_space_lists_the_registered_ones():
    with pytest.raises(ValueError, match="unknown search space 'nb301'; registered: " + ", ".join(NAMES)):
        spaces.get("nb301")
    with pytest.raises(ValueError, match="unknown search space"):
        make_strategy("random_search", "nb301", np.random.default_rng(0))
    with pytest.raises(InvalidSpecError, match="unknown search space 'nb301'"):
        TableBuilder("nb301")


def test_a_second_space_of_the_same_name_is_refused():
    class Fake(type(spaces.get("nb201"))):
        pass

    with pytest.raises(ValueError, match="already registered"):
        spaces.register(Fake())
    spaces.register(spaces.get("nb201"))  # registering the same object again is harmless
    with pytest.raises(TypeError):
        spaces.register("nb201")


@pytest.mark.parametrize("name", NAMES)
def test_a_space_pickles_as_its_registered_object(name):
    s = spaces.get(name)
    assert pickle.loads(pickle.dumps(s)) is s


# ---------------------------------------------------------------- the protocol, for every space
@pytest.mark.parametrize("name", NAMES)
def test_cells_parse_back_from_their_labels_and_records(name):
    s = spaces.get(name)
    for c in _cells(s):
        assert isinstance(c, s.cell_type)
        assert s.parse(c) is c
        lab = s.label(c)
        assert isinstance(lab, str) and lab
        back = s.table_cells([s.from_record(s.record(c))])[0]
        assert s.canonical(back) == s.canonical(c)
        if s.size is not None:
            assert s.parse(lab) == c
            i = s.index(c)
            assert 0 <= i < s.size and s.from_index(i) == c
            assert s.indices(np.array([i])).tolist() == [i]
        assert s.is_valid(c)
    assert not s.is_valid(object())
    with pytest.raises((InvalidSpecError, TypeError)):
        s.parse(object())


@pytest.mark.parametrize("name", NAMES)
def test_sampling_mutation_and_neighbours_stay_in_the_space(name):
    s = spaces.get(name)
    rng = np.random.default_rng(1)
    stream = Stream(np.random.default_rng(1))
    for c in _cells(s, 10):
        for child in (s.mutate(c, rng), s.mutate(c, stream), s.sample(stream)):
            assert isinstance(child, s.cell_type)
        nbrs = s.neighbours(c)
        assert nbrs and all(isinstance(n, s.cell_type) for n in nbrs)
        assert all(s.label(n) != s.label(c) for n in nbrs)
    many = s.sample_many(np.random.default_rng(2), 5)
    assert len(many) == 5 and all(isinstance(c, s.cell_type) for c in many)


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_samples_the_same_cells(name):
    s = spaces.get(name)
    a = [s.label(c) for c in _cells(s, 30, seed=7)]
    b = [s.label(c) for c in _cells(s, 30, seed=7)]
    assert a == b


@pytest.mark.parametrize("name", NAMES)
def test_identity_keys(name):
    s = spaces.get(name)
    for c in _cells(s, 30):
        k = s.canonical(c)
        assert isinstance(k, int) and k == s.canonical(s.table_cells([s.from_record(s.record(c))])[0])
        assert s.dedup_key(True)(c) == s.dedup_key("graph")(c) == k
        assert s.dedup_key("function")(c) == s.functional(c)
    assert s.dedup_key(False) is None
    with pytest.raises(ValueError, match="dedup must be one of"):
        s.dedup_key("func")


@pytest.mark.parametrize("name", NAMES)
def test_encodings_and_categorical_vectors(name):
    s = spaces.get(name)
    cells = _cells(s, 12)
    assert s.predictor_encoding in s.encodings
    for kind in s.encodings:
        x = s.encode(cells, kind)
        assert x.shape[0] == len(cells) and x.ndim == 2 and np.isfinite(x).all()
        empty = s.encode([], kind)  # no cells: zero rows of the same width, not an error
        assert empty.shape == (0, x.shape[1]) and empty.dtype == x.dtype
    assert np.array_equal(s.encode(cells), s.encode(cells, s.encodings[0]))
    sizes = np.asarray(s.categorical_sizes())
    for c in cells:
        v = np.asarray(s.categorical(c))
        assert v.shape == sizes.shape and (v >= 0).all() and (v < sizes).all()
        back = s.from_categorical(v)
        assert back is not None and s.canonical(back) == s.canonical(c)


@pytest.mark.parametrize("name", NAMES)
def test_table_rows_round_trip(name):
    s = spaces.get(name)
    cells = _cells(s, 15)
    b = TableBuilder(name)
    rows = b.add_cells(cells)
    t = b.table()
    assert set(t.cells) == {"key", *s.table_description}
    for c, r in zip(cells, rows):
        back = s.table_cell_at(t.cells, int(r))
        assert s.canonical(back) == s.canonical(c)
        assert s.table_label(t.cells, int(r)) == s.label(back)
    assert np.array_equal(s.table_keys(cells), np.asarray(t.cells["key"])[rows])


@pytest.mark.parametrize("name", NAMES)
def test_finite_spaces_enumerate_in_index_order(name):
    s = spaces.get(name)
    if s.size is None:
        with pytest.raises(NotImplementedError):
            s.cells()
        return
    cells = s.cells()
    assert len(cells) == s.size
    assert [s.index(c) for c in cells[:50]] == list(range(50))
    assert len({s.label(c) for c in cells}) == s.size


@pytest.mark.parametrize("name", NAMES)
def test_published_strategy_defaults_are_valid(name):
    s = spaces.get(name)
    for strategy, hps in s.strategy_defaults.items():
        make_strategy(strategy, s, np.random.default_rng(0), **hps)


# ---------------------------------------------------------------- no space spelt out elsewhere
def _allowed(path: pathlib.Path) -> bool:
    """spaces/ itself, per-space modules (train/nb201_net.py, tables/convert_nb101.py),
    the trainer's presets and the tables' recipes."""
    rel = path.relative_to(PACKAGE).as_posix()
    return (rel.startswith("spaces/") or rel in ("train/presets.py", "tables/recipes.py")
            or any(n in path.stem for n in NAMES))


def _docstrings(tree) -> set:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def space_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string constant outside docstrings that is a
    registered space's name (``"nb201"``, also as an f-string part)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs and node.value.strip() in NAMES]


def test_the_guard_finds_a_space_name():
    found = space_literals('"""nb201 in a docstring is fine"""\nif space == "nb201":\n    x = {"nb101": 1}\n')
    assert found == [(2, "nb201"), (3, "nb101")]


def test_no_module_outside_the_spaces_names_a_space():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _allowed(path):
            continue
        for line, lit in space_literals(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(PACKAGE)}:{line}: {lit!r}")
    assert not offenders, ("space names spelt out outside spaces/, per-space modules, presets and "
                           "recipes (ask the space object instead):\n" + "\n".join(offenders))


def test_the_worked_example_in_the_api_docs_runs(tmp_path):
    """docs/API.md "Adding a space": the example space registers, tables take
    it and every single-fidelity strategy searches it."""
    from nasbench_suite.runner import run_search
    from nasbench_suite.tables._schema import write_all

    doc = (PACKAGE.parent / "docs" / "API.md").read_text(encoding="utf-8")
    code = doc[doc.index("# nasbench_suite/spaces/chain4.py"):]
    code = code[:code.index("```")].replace("from .._errors", "from nasbench_suite._errors") \
        .replace("from .base", "from nasbench_suite.spaces.base")
    ns: dict = {}
    exec(compile(code, "API.md", "exec"), ns)  # noqa: S102 - our own documentation
    space = ns["SPACE"]
    spaces.register(space)
    try:
        assert spaces.get("chain4") is space
        b = TableBuilder("chain4")
        b.add_dataset("d", [0], [1])
        rows = b.add_cells(np.arange(space.size))
        b.set("d", "valid_acc", rows, np.random.default_rng(0).random((space.size, 1, 1)) * 100)
        b.set("d", "train_time", rows, np.ones((space.size, 1, 1)))
        write_all(tmp_path / "c4.h5", b.table())
        best = float(np.asarray(b.table().datasets["d"].metrics["valid_acc"]).max())
        for name in ("random_search", "regularized_evolution", "local_search", "bananas", "reinforce"):
            t = run_search(tmp_path / "c4.h5", name, 0, {"queries": 81}, search_metric="valid_acc",
                           report_metric="valid_acc")
            assert len(t) == 81 and t.incumbent_report[-1] == best  # dedup: 81 queries see all 81 cells
    finally:
        spaces._REGISTRY.pop("chain4", None)
