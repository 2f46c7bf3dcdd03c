"""``nasbench-suite space stats`` and ``nasbench-suite space export``: whole
search spaces, enumerated by the compiled core.

The per-space parts (what a space counts, how it prints, the formats it
exports, its paragraphs of the help) are one module per space,
:mod:`.space_nb101` and :mod:`.space_nb201`, registered in
:data:`SPACE_COMMANDS` by their space's name; this module dispatches on that
name and names no space itself.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Iterable

from . import space_nb101, space_nb201
from ._common import RAW, Parser, UsageError, positive_int, progress

#: space name -> its module (``SPACE``, ``EXPORT_FORMATS``, ``stats()``,
#: ``print_stats(stats, out)``, ``export(fmt, threads)``, ``STATS_HELP``,
#: ``EXPORT_HELP``), in the order the help lists them.
SPACE_COMMANDS = {m.SPACE.name: m for m in (space_nb101, space_nb201)}
SPACES = tuple(SPACE_COMMANDS)
EXPORT_FORMATS = {name: m.EXPORT_FORMATS for name, m in SPACE_COMMANDS.items()}


def core_modules():
    """Import the space facades, turning a missing build into a clear message."""
    try:
        from nasbench_suite.spaces import nb101, nb201
    except ImportError as exc:
        raise UsageError(
            f"the compiled core could not be imported ({exc}); "
            f"build it with: pip install -e \".[test]\"") from None
    return nb101, nb201


def _one_of(names) -> str:
    """'a', 'a or b', 'a, b or c'."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


# --------------------------------------------------------------------------
# parsers

_STATS_DESCRIPTION = """\
Enumerate a whole search space, deduplicate it by exact isomorphism and print
the counts and the time taken.

""" + "".join(m.STATS_HELP for m in SPACE_COMMANDS.values())

_STATS_EPILOG = """\
examples:
  nasbench-suite space stats nb101
  nasbench-suite space stats nb201 --json | python -m json.tool
"""

_EXPORT_DESCRIPTION = """\
Write every cell of a search space, one per line, to FILE (-o) or standard
output.

formats:
""" + "".join(m.EXPORT_HELP for m in SPACE_COMMANDS.values())

_EXPORT_EPILOG = """\
examples:
  nasbench-suite space export nb101 --format hashes -o nb101_hashes.txt
  nasbench-suite space export nb101 --format jsonl | head -3
  nasbench-suite space export nb201 --format arch-strings > nb201_archs.txt
  nasbench-suite space export nb201 --format classes -o nb201_classes.csv
"""


def add_space_parser(commands) -> Parser:
    """Adds ``space`` (with ``stats`` and ``export``) to the top-level
    subparsers; returns the ``space`` parser (its help is shown when no action
    is given)."""
    space = commands.add_parser("space", help="whole-space enumeration: stats, export",
                                description="Whole-space enumeration of a search space.",
                                epilog="examples:\n  nasbench-suite space stats nb101\n"
                                       "  nasbench-suite space export nb101 --format hashes\n",
                                formatter_class=RAW)
    space_commands = space.add_subparsers(dest="space_command", metavar="ACTION",
                                          parser_class=Parser)

    p = space_commands.add_parser("stats", help="enumerate a space and print its counts",
                                  description=_STATS_DESCRIPTION, epilog=_STATS_EPILOG,
                                  formatter_class=RAW)
    p.add_argument("space", metavar="SPACE", choices=SPACES,
                   help=_one_of(SPACES))
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of a table")
    p.set_defaults(run=_cmd_stats)

    p = space_commands.add_parser("export", help="write every cell of a space",
                                  description=_EXPORT_DESCRIPTION, epilog=_EXPORT_EPILOG,
                                  formatter_class=RAW)
    p.add_argument("space", metavar="SPACE", choices=SPACES,
                   help=_one_of(SPACES))
    p.add_argument("--format", dest="fmt", required=True, metavar="FORMAT",
                   choices=sorted({f for fs in EXPORT_FORMATS.values() for f in fs}),
                   help="; ".join(f"{name}: {', '.join(formats)}"
                                  for name, formats in EXPORT_FORMATS.items()))
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="output file; '-' or absent writes standard output")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="worker threads for hashing (default: all cores)")
    p.set_defaults(run=_cmd_export)
    return space


# --------------------------------------------------------------------------
# space stats

def _cmd_stats(args) -> int:
    commands = SPACE_COMMANDS[args.space]
    progress(f"enumerating {args.space} ...")
    stats = commands.stats()
    out = sys.stdout
    if args.json:
        out.write(json.dumps(stats, indent=2) + "\n")
    else:
        commands.print_stats(stats, out)
    out.flush()
    return 0


# --------------------------------------------------------------------------
# space export

def _cmd_export(args) -> int:
    commands = SPACE_COMMANDS[args.space]
    allowed = commands.EXPORT_FORMATS
    if args.fmt not in allowed:
        raise UsageError(f"format {args.fmt!r} is not available for {args.space}; "
                         f"choose from: {', '.join(allowed)}")
    progress(f"enumerating {args.space} and rendering {args.fmt} ...")
    _write_lines(commands.export(args.fmt, args.threads), args.output)
    return 0


def _write_lines(lines: Iterable[str], path: str) -> None:
    if path == "-":
        out = sys.stdout
        for line in lines:
            out.write(line)
            out.write("\n")
        out.flush()
        return
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path!r}: is a directory")
    try:
        out = open(path, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    with out:
        for line in lines:
            out.write(line)
            out.write("\n")
