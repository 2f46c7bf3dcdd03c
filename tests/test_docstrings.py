"""Every name a public module exports (its ``__all__``) is documented, so that
``python -m pydoc nasbench_suite.<module>`` reads as a manual.

- functions, classes and modules need a docstring of their own (a class does
  not count the one it inherits from ``object``, ``ValueError``, ..., nor the
  ``Name(field, ...)`` line that ``dataclass`` / ``NamedTuple`` write for it);
- constants cannot hold a docstring, so they need a ``#:`` comment on the
  line(s) above their assignment (the Sphinx convention) or a string literal
  right after it;
- an exported class also documents every public method and property it
  defines itself (an override may rely on the docstring of the method it
  overrides, as ``pydoc`` does).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import types

import pytest

import nasbench_suite

PACKAGE = pathlib.Path(nasbench_suite.__file__).resolve().parent

#: The public modules (the layers' front doors and the per-space modules).
MODULES = [
    "nasbench_suite",
    "nasbench_suite.spaces", "nasbench_suite.spaces.base", "nasbench_suite.spaces.nb101",
    "nasbench_suite.spaces.nb201", "nasbench_suite.spaces.macro",
    "nasbench_suite.spaces.graph", "nasbench_suite.tables.import_graph",
    "nasbench_suite.spaces._tnb101",
    "nasbench_suite.tables",
    "nasbench_suite.strategies", "nasbench_suite.strategies.base",
    "nasbench_suite.runner", "nasbench_suite.runner.grid", "nasbench_suite.runner.results",
    "nasbench_suite.report", "nasbench_suite.report.summary",
    "nasbench_suite.train",
    "nasbench_suite.cli",
    "nasbench_suite.pareto", "nasbench_suite.strategies.multiobjective", "nasbench_suite.runner.multiobjective",
    "nasbench_suite.report.multiobjective",
    "nasbench_suite.oneshot", "nasbench_suite.oneshot.nb201_supernet", "nasbench_suite.oneshot.darts",
    "nasbench_suite.oneshot.gdas", "nasbench_suite.oneshot.setn", "nasbench_suite.oneshot.enas",
    "nasbench_suite.oneshot.rsps", "nasbench_suite.oneshot.run", "nasbench_suite.oneshot.perf",
    "nasbench_suite.proxies", "nasbench_suite.proxies.table",
]

#: The classes whose own public methods and properties must be documented too.
MAIN_CLASSES = [
    ("nasbench_suite.tables", "Benchmark"), ("nasbench_suite.tables", "TableWriter"),
    ("nasbench_suite.tables", "TableBuilder"), ("nasbench_suite.spaces", "SearchSpace"),
    ("nasbench_suite.strategies", "Strategy"), ("nasbench_suite.runner", "Trajectory"),
    ("nasbench_suite.runner", "Budget"), ("nasbench_suite.runner", "Results"),
    ("nasbench_suite.runner.results", "Run"), ("nasbench_suite.runner.results", "ResultsWriter"),
    ("nasbench_suite.train", "Trainer"), ("nasbench_suite.train", "Evaluator"),
]

MIN_WORDS = 3


def _import(name):
    if name.startswith(("nasbench_suite.train", "nasbench_suite.oneshot", "nasbench_suite.proxies")):
        pytest.importorskip("torch")
    return importlib.import_module(name)


def _trivial(doc, name=None) -> bool:
    if not doc or len(doc.split()) < MIN_WORDS:
        return True
    first = doc.strip().splitlines()[0]
    # dataclass / NamedTuple write "Name(field, ...)" when a class has no docstring
    return name is not None and first.startswith(f"{name}(") and first.rstrip().endswith(")") \
        and len(doc.strip().splitlines()) == 1


def _own_doc(obj):
    if isinstance(obj, type):
        return obj.__dict__.get("__doc__")
    return getattr(obj, "__doc__", None)


def _constants(path) -> tuple:
    """(assigned, documented): the names a module file assigns at top level, and
    those of them with a ``#:`` comment above or a string literal right after
    the assignment."""
    assigned, found = set(), set()
    if path.suffix in (".py", ".pyi"):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        body = ast.parse(source).body
        for i, node in enumerate(body):
            if isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            else:
                continue
            assigned.update(targets)
            above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
            after = body[i + 1] if i + 1 < len(body) else None
            literal = (isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                       and isinstance(after.value.value, str))
            if above.startswith("#:") or literal:
                found.update(targets)
    return assigned, found


def _constant_documented(module, name) -> bool:
    """Documented where it is assigned: in the module's own file, or else (a
    package re-exporting it) in whichever file of the package assigns it."""
    assigned, found = _constants(pathlib.Path(module.__file__))
    if name in assigned:
        return name in found
    return any(name in _constants(path)[1] for path in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_name_has_a_docstring(module_name):
    module = _import(module_name)
    assert not _trivial(module.__doc__), f"{module_name} has no module docstring"
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    missing = []
    for name in exported:
        obj = getattr(module, name)
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)) \
                or callable(obj) and hasattr(obj, "__wrapped__"):
            if _trivial(_own_doc(obj), getattr(obj, "__name__", name)):
                missing.append(name)
        elif name == "__version__":
            continue
        elif not _constant_documented(module, name):
            missing.append(f"{name} (constant: add a '#:' comment above its assignment)")
    assert not missing, f"{module_name}: undocumented: {', '.join(missing)}"


def _public_members(cls):
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, (types.FunctionType, property)):
            yield name, value


def _undocumented_members(cls) -> list:
    # inspect.getdoc: an override documented by the base class it overrides
    # (EvaluatorBenchmark.query by Benchmark.query) reads as pydoc shows it.
    return [name for name, value in _public_members(cls) if _trivial(inspect.getdoc(getattr(cls, name)))]


@pytest.mark.parametrize("module_name,class_name", MAIN_CLASSES,
                         ids=[f"{m.rpartition('.')[2]}.{c}" for m, c in MAIN_CLASSES])
def test_main_classes_document_their_methods(module_name, class_name):
    cls = getattr(_import(module_name), class_name)
    assert dict(_public_members(cls)), f"{class_name} defines no public methods?"
    missing = _undocumented_members(cls)
    assert not missing, f"{class_name}: undocumented methods/properties: {', '.join(missing)}"


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_class_documents_its_methods(module_name):
    module = _import(module_name)
    missing = [f"{name}.{member}" for name in module.__all__ if isinstance(getattr(module, name), type)
               for member in _undocumented_members(getattr(module, name))]
    assert not missing, f"{module_name}: undocumented methods/properties: {', '.join(missing)}"


def test_pydoc_renders_the_benchmark_manual():
    import pydoc

    from nasbench_suite.tables import Benchmark
    text = pydoc.render_doc(Benchmark, renderer=pydoc.plaintext)
    for method in ("query", "open", "close"):
        assert method in text
    assert inspect.getdoc(Benchmark).count("\n") >= 5, "the Benchmark class docstring is a manual's first page"
