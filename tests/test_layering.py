"""The layers of DESIGN.md, checked on the source: the command line is the top
layer (nothing in the library imports it, and the library holds no argparse
code), the trainer and the grouped network do not import each other, and
``nasbench-suite --help`` names every command the parser has."""
from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

import nasbench_suite
from nasbench_suite.cli import build_parser, main

PACKAGE = Path(nasbench_suite.__file__).resolve().parent
CLI = PACKAGE / "cli"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path, source: str | None = None) -> set:
    """Every module ``path`` imports, as absolute dotted names, wherever the
    import is (top level, inside functions, under ``if``): ``import a.b``,
    ``from a import b`` (both ``a`` and ``a.b``: ``b`` may be a module),
    relative imports at any level resolved against the file's package, and
    ``importlib.import_module`` / ``__import__`` with a literal name."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def resolve(module, level):
        if not level:
            return module or ""
        base = package.split(".")
        if level > 1:
            base = base[:-(level - 1)]
        return ".".join(base + ([module] if module else []))

    if source is None:
        source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node.module, node.level)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__"):
                level = len(node.args[0].value) - len(node.args[0].value.lstrip("."))
                found.add(resolve(node.args[0].value.lstrip(".") or None, level))
    return found


def _is_or_under(module: str, top: str) -> bool:
    return module == top or module.startswith(top + ".")


def _library_modules():
    paths = [p for p in sorted(PACKAGE.rglob("*.py")) if CLI not in p.parents]
    assert len(paths) > 30, paths  # the scan sees the package, not an empty folder
    return paths


def test_the_resolver_sees_every_form_of_import():
    """The checks below rest on this: the forms the old code used are found
    (``from ..cli import UsageError`` inside a handler, ``import argparse``)."""
    source = ("import argparse\n"
              "def f():\n    from ..cli import UsageError\n"
              "def g():\n    from .. import cli\n    import importlib\n"
              "    importlib.import_module('nasbench_suite.cli')\n")
    found = _imported_modules(PACKAGE / "tables" / "some_module.py", source)
    assert "argparse" in found
    assert "nasbench_suite.cli" in found
    assert "nasbench_suite.cli.UsageError" in found
    assert "nasbench_suite.train.grouped" in _imported_modules(PACKAGE / "train" / "trainer.py",
                                                               "def f():\n    from .grouped import train_seeds\n")
    assert "nasbench_suite.train.trainer" in _imported_modules(PACKAGE / "train" / "grouped.py",
                                                               "def f():\n    from . import trainer\n")


def test_nothing_in_the_library_imports_the_command_line_or_argparse():
    offenders = []
    for path in _library_modules():
        for module in _imported_modules(path):
            if _is_or_under(module, "nasbench_suite.cli") or _is_or_under(module, "argparse"):
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert offenders == [], "\n".join(offenders)


def test_trainer_and_grouped_do_not_import_each_other():
    trainer, grouped = PACKAGE / "train" / "trainer.py", PACKAGE / "train" / "grouped.py"
    assert trainer.is_file() and grouped.is_file()
    assert not any(_is_or_under(m, "nasbench_suite.train.grouped") for m in _imported_modules(trainer))
    assert not any(_is_or_under(m, "nasbench_suite.train.trainer") for m in _imported_modules(grouped))


# --------------------------------------------------------------------------
# --help names every command

def _subcommands(parser: argparse.ArgumentParser) -> dict:
    """{name: its parser} of the parser's subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _commands_block(help_text: str) -> dict:
    """{first word: description} of the lines of the 'commands:' section."""
    block = re.search(r"^commands:\n((?:  .*\n)+)", help_text, re.M)
    assert block, help_text
    rows = {}
    for line in block.group(1).splitlines():
        words = re.match(r"  (\S+)(?: (\S+))?\s{2,}(\S.*)$", line)
        assert words, f"not 'NAME  description': {line!r}"
        rows.setdefault(words.group(1), []).append(words.group(3))
    return rows


def test_top_level_help_names_every_command_with_a_description(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = _subcommands(build_parser())
    assert {"hash", "space", "convert", "import", "download", "compare", "report", "generate",
            "verify"} <= set(commands)
    listed = _commands_block(out)
    missing = sorted(set(commands) - set(listed))
    assert missing == [], f"--help does not describe: {missing}"
    assert all(d.strip() for descriptions in listed.values() for d in descriptions)
    # it describes the suite, not only the compiled core
    description = out.split("positional arguments")[0]
    assert "search-space machinery" not in description
    assert "strategies" in description and "tables" in description


@pytest.mark.parametrize("command", ["space", "convert", "generate"])
def test_group_help_names_every_action(capsys, command):
    actions = _subcommands(_subcommands(build_parser())[command])
    assert actions
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    for name in actions:
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", out, re.M), (name, out)
