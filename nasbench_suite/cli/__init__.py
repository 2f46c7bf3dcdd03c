"""The ``nasbench-suite`` command.

One entry point, :func:`main`, with a subcommand per job; one module per
command group (:mod:`.hash`, :mod:`.space`, :mod:`.tables`, :mod:`.compare`,
:mod:`.report`, :mod:`.generate`, :mod:`.proxies`), the plumbing they share in :mod:`._common`.
The command is a thin layer over the library: the handlers read the
arguments, call plain library functions and turn the library's exceptions
into messages. Nothing in the library imports this package.

Everything a user can get wrong (a bad argument, a missing file, an invalid
cell) ends in a one-line message and a non-zero exit status, never a
traceback. Running out of memory is one line too ("out of memory while ...;
try ..."), and so is a bug (exit status 1; NASBENCH_SUITE_DEBUG=1 shows its
traceback).

Exit status: 0 success, 2 usage error, unreadable input or out of memory,
1 internal error.
"""
from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

from ._common import PROG, RAW, Parser, UsageError

__all__ = ["PROG", "UsageError", "build_parser", "main"]

_MAIN_DESCRIPTION = """\
nasbench-suite: a benchmark-backed evaluation suite for neural architecture
search. Compare search strategies reproducibly on tabular NAS benchmarks
(NAS-Bench-101, NAS-Bench-201, ...) and turn the results into paper-ready
figures and tables; import, convert, download or generate the tables
themselves; hash cells and enumerate whole search spaces with the compiled
core.
"""

_MAIN_EPILOG = """\
commands:
  compare        run benchmarks x strategies x seeds into an HDF5 results file
  report         plots (PDF/PNG) and tables (Markdown/LaTeX) from a results file
  convert        official benchmark files (NB101 TFRecords, NB201/NATS archives) -> table
  import         public CSV/JSON/parquet tables -> table (recipes nb201-public, nas-bench-macro)
  download       fetch an official benchmark (resume, sha256) and convert it
  generate       train a whole tabular benchmark with the suite's own trainer
  verify         retrain random rows of a generated table and compare
  proxies        zero-cost proxies for every row of a table, stored in it
  repair         salvage a table's damaged journal (keeps every valid record)
  hash           hash NAS-Bench-101 cells given as JSON lines
  space stats    enumerate a search space and print its counts
  space export   write every cell of a space (hashes, JSON lines, arch strings)

examples:
  # compare strategies over 10 seeds on the embedded benchmark, then plot them
  nasbench-suite compare --strategies random_search,regularized_evolution,local_search \\
      --seeds 10 --budget-queries 100 -o results.h5
  nasbench-suite report results.h5 -o report/

  # the official NAS-Bench-101 hash of one cell
  echo '{"matrix": [[0,1],[0,0]], "ops": ["input","output"]}' \\
      | nasbench-suite hash --space nb101

  # hash a file of cells, one JSON object per line
  nasbench-suite hash --space nb101 cells.jsonl > hashes.jsonl

  # how many distinct cells does NAS-Bench-101 hold? (423,624)
  nasbench-suite space stats nb101
  nasbench-suite space stats nb201 --json

  # every unique NAS-Bench-101 cell's official hash, sorted
  nasbench-suite space export nb101 --format hashes -o nb101_hashes.txt

  # NAS-Bench-201 arch strings in the official index order
  nasbench-suite space export nb201 --format arch-strings

Run 'nasbench-suite COMMAND --help' for the details of a command.

exit status:
  0  success (for 'hash': every line was read, even if some cells are invalid)
  1  internal error (a bug: please report it; NASBENCH_SUITE_DEBUG=1 shows the traceback)
  2  bad arguments or unreadable input (missing file, directory, not UTF-8), or out of memory
"""


def build_parser() -> Parser:
    """The parser of the whole command; each parsed namespace carries its
    handler as ``run`` (``args.run(args) -> exit status``)."""
    # Imported here, not at the top: importing the package stays cheap.
    from . import compare, generate, report, space, tables
    from .proxies import add_proxies_parser
    from .hash import add_hash_parser

    parser = Parser(prog=PROG, description=_MAIN_DESCRIPTION,
                    epilog=_MAIN_EPILOG, formatter_class=RAW)
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=Parser)
    add_hash_parser(commands)
    space_parser = space.add_space_parser(commands)
    tables.add_table_parsers(commands)      # convert, import, download
    compare.add_compare_parser(commands)
    report.add_report_parser(commands)
    generate.add_generate_parsers(commands)  # generate, verify; imports no torch
    add_proxies_parser(commands)  # imports no torch

    parser._space_parser = space_parser  # for 'nasbench-suite space' with no action
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("nasbench-suite")
    except Exception:
        return "unknown"


# --------------------------------------------------------------------------
# entry point

def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``nasbench-suite`` command; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error
        return _exit_code(exc)

    if args.command is None:
        print(f"{PROG}: error: name a command ({', '.join(_COMMANDS)}); see '{PROG} --help'", file=sys.stderr)
        return 2
    if args.command == "space" and getattr(args, "space_command", None) is None:
        print(f"{PROG}: error: name an action: 'space stats' or 'space export'; see '{PROG} space --help'",
              file=sys.stderr)
        return 2

    try:
        return args.run(args)
    except UsageError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # e.g. 'nasbench-suite space export nb101 --format hashes | head':
        # the reader went away; that is not an error of ours.
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        # Not a bug and not the user's mistake as such: the input or the
        # settings ask for more memory than this machine has. Exit 2 (the
        # user can change them), with what to try.
        doing, hint = _MEMORY_HINTS.get(args.command, ("running it", "a smaller input"))
        print(f"{PROG}: error: out of memory while {doing}; try {hint}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line, the traceback on request
        if os.environ.get("NASBENCH_SUITE_DEBUG"):
            raise
        print(f"{PROG}: internal error in '{args.command}': {type(exc).__name__}: {_one_line(exc)} "
              f"(a bug: please report it; NASBENCH_SUITE_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


_COMMANDS = ("compare", "report", "convert", "import", "download", "generate", "verify", "repair", "hash",
             "space", "proxies")

# command -> (what it was doing, what to try) when memory runs out
_MEMORY_HINTS = {
    "compare": ("running the grid", "fewer --workers or --async-workers, fewer seeds or a smaller budget"),
    "report": ("reading the results and drawing the figures", "fewer --strategies or budgets, or a lower --dpi"),
    "convert": ("reading the archive", "a machine with more memory (the NB201 .pth is loaded whole: "
                "convert the NATS-Bench directory form instead, one architecture at a time)"),
    "import": ("reading the source files", "splitting the source into smaller files"),
    "download": ("converting the download", "--no-convert, then convert on a machine with more memory"),
    "generate": ("training", "fewer --workers or --seeds"),
    "verify": ("retraining", "fewer --rows"),
    "proxies": ("computing the proxies", "fewer --workers or a smaller --batch-size"),
    "hash": ("hashing", "a smaller input file or fewer --threads"),
    "space": ("enumerating the space", "fewer --threads"),
    "repair": ("reading the journal", "a machine with more memory (the journal is read whole)"),
}


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (library messages may hold newlines)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(" ".join(str(code).split()), file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
