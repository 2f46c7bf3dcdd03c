"""The ``nasbench-suite`` command.

One entry point, :func:`main`, with a subcommand per job.  Everything a user
can get wrong (a bad argument, a missing file, an invalid cell) ends in a
one-line message and a non-zero exit status, never a traceback.

Exit status: 0 success, 2 usage error or unreadable input, 1 internal error.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from typing import IO, Iterable, Iterator, List, Optional, Sequence, Tuple

PROG = "nasbench-suite"

# Lines read before a batch goes through the compiled core; bounded so that a
# huge input streams with constant memory.
HASH_CHUNK_LINES = 8192

SPACES = ("nb101", "nb201")
EXPORT_FORMATS = {
    "nb101": ("hashes", "jsonl"),
    "nb201": ("arch-strings", "classes"),
}


class UsageError(Exception):
    """A mistake the user can fix; reported on stderr, exit status 2."""


# --------------------------------------------------------------------------
# argument parsing

_MAIN_DESCRIPTION = """\
nasbench-suite: a benchmark-backed evaluation suite for neural architecture
search. This command exposes the search-space machinery of the compiled core:
official NAS-Bench-101 hashes, whole-space enumeration with exact dedup, and
the NAS-Bench-201 official index order and isomorphism classes.
"""

_MAIN_EPILOG = """\
commands:
  hash          hash NAS-Bench-101 cells given as JSON lines
  space stats   enumerate a search space and print its counts
  space export  write every cell of a space (hashes, JSON lines, arch strings)
  convert       official benchmark files (NB101 TFRecords, NB201/NATS archives) -> table
  import        public CSV/JSON/parquet tables -> table (recipe nb201-public)
  download      fetch an official benchmark (resume, sha256) and convert it
  compare       run benchmarks x strategies x seeds into an HDF5 results file
  report        plots (PDF/PNG) and tables (Markdown/LaTeX) from a results file

examples:
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
  1  internal error (a bug: please report it)
  2  bad arguments or unreadable input (missing file, directory, not UTF-8)
"""

_HASH_DESCRIPTION = """\
Read NAS-Bench-101 cells, one JSON object per line, from FILE (or standard
input when FILE is '-' or absent) and write one JSON line per input line, in
the same order:

  {"hash": "<32 hex>", "pruned_matrix": [[...]], "pruned_ops": [...]}

for a valid cell (the official module hash of the pruned cell, as keyed in the
official NAS-Bench-101 data), or

  {"error": "<message>"}

for a line that cannot be hashed: an invalid cell (the message names the rule
broken), a line that is not JSON, a JSON value that is not an object, an
object without "matrix" or "ops", or a blank line. Output line N always
answers input line N, so the two files can be pasted side by side; one bad
line never stops the rest.

Input cells: "matrix" is a square upper-triangular 0/1 adjacency matrix
(integers, booleans or 0.0/1.0 floats, all equivalent), "ops" the op of each
vertex: "input", then any of "conv3x3-bn-relu", "conv1x1-bn-relu",
"maxpool3x3", then "output". Vertices off every input-to-output path are
pruned first, as in the official code.

Valid cells are hashed in batches by the compiled core, so millions of lines
take seconds. Input that cannot be read at all (missing file, a directory,
bytes that are not UTF-8) is an error: a message on stderr, exit status 2.
"""

_HASH_EPILOG = """\
examples:
  echo '{"matrix": [[0,1,0],[0,0,1],[0,0,0]], "ops": ["input","maxpool3x3","output"]}' \\
      | nasbench-suite hash --space nb101
  nasbench-suite hash --space nb101 cells.jsonl > hashed.jsonl
  nasbench-suite hash --space nb101 --threads 4 - < cells.jsonl
"""

_STATS_DESCRIPTION = """\
Enumerate a whole search space, deduplicate it by exact isomorphism and print
the counts and the time taken.

  nb101  labelled candidate cells (2..7 vertices, every vertex on an
         input-to-output path, at most 9 edges), unique cells after dedup
         (423,624), both per vertex count, plus the cumulative unique count.
  nb201  cells (5^6 = 15,625), cells with no input-to-output path of
         non-'none' edges, and isomorphism classes of the connected cells
         (two cells are one class when they compute the same network).
"""

_STATS_EPILOG = """\
examples:
  nasbench-suite space stats nb101
  nasbench-suite space stats nb201 --json | python -m json.tool
"""

_EXPORT_DESCRIPTION = """\
Write every cell of a search space, one per line, to FILE (-o) or standard
output.

formats:
  nb101 hashes        the official hash of every unique cell, sorted
                      (423,624 lines)
  nb101 jsonl         one {"hash", "matrix", "ops"} object per unique cell, in
                      its canonical (pruned) form, in the order of --format
                      hashes
  nb201 arch-strings  the arch string of every cell in the official index
                      order (line i+1 = index i; 15,625 lines)
  nb201 classes       CSV with a header: index,arch_string,class; class is the
                      isomorphism class id (0.. by first appearance in index
                      order), -1 for a disconnected cell
"""

_EXPORT_EPILOG = """\
examples:
  nasbench-suite space export nb101 --format hashes -o nb101_hashes.txt
  nasbench-suite space export nb101 --format jsonl | head -3
  nasbench-suite space export nb201 --format arch-strings > nb201_archs.txt
  nasbench-suite space export nb201 --format classes -o nb201_classes.csv
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that names the program and points at --help."""

    def error(self, message: str):  # pragma: no cover - exercised via main
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n"
                     f"Try '{self.prog} --help' for more information.\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=PROG, description=_MAIN_DESCRIPTION,
                     epilog=_MAIN_EPILOG, formatter_class=raw)
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=_Parser)

    p = commands.add_parser("hash", help="hash NAS-Bench-101 cells given as JSON lines",
                            description=_HASH_DESCRIPTION, epilog=_HASH_EPILOG,
                            formatter_class=raw)
    p.add_argument("--space", required=True, choices=["nb101"],
                   help="search space of the cells (only nb101 has a hash)")
    p.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help="JSON-lines input; '-' or absent reads standard input")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="worker threads for the batch hash (default 1)")
    p.set_defaults(run=_cmd_hash)

    space = commands.add_parser("space", help="whole-space enumeration: stats, export",
                                description="Whole-space enumeration of a search space.",
                                epilog="examples:\n  nasbench-suite space stats nb101\n"
                                       "  nasbench-suite space export nb101 --format hashes\n",
                                formatter_class=raw)
    space_commands = space.add_subparsers(dest="space_command", metavar="ACTION",
                                          parser_class=_Parser)

    p = space_commands.add_parser("stats", help="enumerate a space and print its counts",
                                  description=_STATS_DESCRIPTION, epilog=_STATS_EPILOG,
                                  formatter_class=raw)
    p.add_argument("space", metavar="SPACE", choices=SPACES,
                   help="nb101 or nb201")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of a table")
    p.set_defaults(run=_cmd_stats)

    p = space_commands.add_parser("export", help="write every cell of a space",
                                  description=_EXPORT_DESCRIPTION, epilog=_EXPORT_EPILOG,
                                  formatter_class=raw)
    p.add_argument("space", metavar="SPACE", choices=SPACES,
                   help="nb101 or nb201")
    p.add_argument("--format", dest="fmt", required=True, metavar="FORMAT",
                   choices=sorted({f for fs in EXPORT_FORMATS.values() for f in fs}),
                   help="nb101: hashes, jsonl; nb201: arch-strings, classes")
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="output file; '-' or absent writes standard output")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="worker threads for hashing (default: all cores)")
    p.set_defaults(run=_cmd_export)

    _add_table_commands(commands, raw)
    _add_experiment_commands(commands)

    parser._space_parser = space  # for 'nasbench-suite space' with no action
    return parser


def _add_table_commands(commands, formatter) -> None:
    """convert / import / download: each module registers its own parser."""
    from nasbench_suite.tables.convert_nb101 import add_convert_nb101_parser
    from nasbench_suite.tables.convert_nb201 import add_convert_nb201_parser
    from nasbench_suite.tables.download import add_download_parser
    from nasbench_suite.tables.importers import add_import_parser

    convert = commands.add_parser(
        "convert", help="convert official benchmark files into a table",
        description="Convert official benchmark files into a nasbench-suite table (docs/FORMAT.md).",
        epilog="examples:\n  nasbench-suite convert nb101 nasbench_only108.tfrecord -o nb101.h5\n"
               "  nasbench-suite convert nb201 NAS-Bench-201-v1_1-096897.pth -o nb201.h5\n",
        formatter_class=formatter)
    converters = convert.add_subparsers(dest="convert_command", metavar="SPACE", parser_class=_Parser)
    converters.required = True
    add_convert_nb101_parser(converters)
    add_convert_nb201_parser(converters)
    add_import_parser(commands)
    add_download_parser(commands)


def _add_experiment_commands(commands) -> None:
    """compare / report / generate / verify: each module registers its own parser."""
    from nasbench_suite.report.cli import add_report_parser
    from nasbench_suite.runner.grid import add_compare_parser
    from nasbench_suite.generate_cli import add_generate_parsers  # imports no torch

    add_compare_parser(commands)
    add_report_parser(commands)
    add_generate_parsers(commands)


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
        parser.print_help(sys.stderr)
        return 2
    if args.command == "space" and getattr(args, "space_command", None) is None:
        parser._space_parser.print_help(sys.stderr)
        return 2

    try:
        return args.run(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # e.g. 'nasbench-suite space export nb101 --format hashes | head':
        # the reader went away; that is not an error of ours.
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _core_modules():
    """Import the space facades, turning a missing build into a clear message."""
    try:
        from nasbench_suite.spaces import nb101, nb201
    except ImportError as exc:
        raise UsageError(
            f"the compiled core could not be imported ({exc}); "
            f"build it with: pip install -e \".[test]\"") from None
    return nb101, nb201


# --------------------------------------------------------------------------
# hash

def _open_input(path: str) -> Tuple[IO[bytes], bool]:
    """Return a binary stream for ``path`` ('-' = stdin) and whether we own it."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without a buffer (tests, IDEs)
            return _TextAsBytes(sys.stdin), False
        return stream, False
    if os.path.isdir(path):
        raise UsageError(f"cannot read {path!r}: is a directory")
    try:
        return open(path, "rb"), True
    except FileNotFoundError:
        raise UsageError(f"cannot read {path!r}: no such file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None


class _TextAsBytes:
    """Iterate a text stream as UTF-8 encoded lines."""

    def __init__(self, stream):
        self._stream = stream

    def __iter__(self):
        for line in self._stream:
            yield line.encode("utf-8", "surrogateescape")


def _decoded_lines(stream: Iterable[bytes], name: str) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"cannot read {name}: line {number} is not UTF-8 "
                             f"(byte {exc.start})") from None
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield text.rstrip("\r\n")


def _chunks(lines: Iterator[str], size: int) -> Iterator[List[str]]:
    chunk: List[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _cmd_hash(args) -> int:
    nb101, _ = _core_modules()
    stream, owned = _open_input(args.file)
    name = "standard input" if args.file == "-" else repr(args.file)
    interactive = args.file == "-" and _isatty(sys.stdin)
    out = sys.stdout
    try:
        for chunk in _chunks(_decoded_lines(stream, name),
                             1 if interactive else HASH_CHUNK_LINES):
            for record in hash_lines(chunk, nb101, threads=args.threads):
                out.write(json.dumps(record))
                out.write("\n")
            if interactive:
                out.flush()
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    finally:
        if owned:
            stream.close()
    out.flush()
    return 0


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def hash_lines(lines: Sequence[str], nb101, threads: int = 1) -> List[dict]:
    """Answer each JSON line with a hash record or an error record.

    Cells in the plain form (0/1 square matrix, "input", known ops, "output")
    go through the batch calls of the core, grouped by size; everything else,
    and every cell the batch finds invalid, goes through ``nb101.Cell`` so that
    the error message is the one the API gives.
    """
    results: List[Optional[dict]] = [None] * len(lines)
    parsed: List[Optional[Tuple[object, object]]] = [None] * len(lines)
    batchable = {}  # vertex count -> list of (position, matrix rows, labels)
    label_of = {nb101.INPUT: nb101.LABEL_INPUT, nb101.OUTPUT: nb101.LABEL_OUTPUT}
    label_of.update({op: i for i, op in enumerate(nb101.OPS)})

    for i, line in enumerate(lines):
        if not line.strip():
            results[i] = {"error": "blank line"}
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            results[i] = {"error": f"not JSON: {exc}"}
            continue
        except RecursionError:
            results[i] = {"error": "not JSON: nested too deeply"}
            continue
        if not isinstance(obj, dict):
            results[i] = {"error": f"expected a JSON object with keys \"matrix\" and "
                                   f"\"ops\", got {_json_type(obj)}"}
            continue
        missing = [key for key in ("matrix", "ops") if key not in obj]
        if missing:
            results[i] = {"error": "missing key" + ("s " if len(missing) > 1 else " ")
                                   + ", ".join(f'"{k}"' for k in missing)}
            continue
        matrix, ops = obj["matrix"], obj["ops"]
        parsed[i] = (matrix, ops)
        plain = _plain_cell(matrix, ops, label_of)
        if plain is not None:
            batchable.setdefault(len(ops), []).append((i, plain[0], plain[1]))

    if batchable:
        import numpy as np
        for size, group in batchable.items():
            mats = np.array([g[1] for g in group], dtype=np.float64).astype(np.uint8)
            mats = mats.reshape(len(group), size, size)
            labs = np.array([g[2] for g in group], dtype=np.int64).reshape(len(group), size)
            valid = np.asarray(nb101.is_valid_many(mats, labs), dtype=bool)
            if not valid.any():
                continue
            try:
                hashes = nb101.hash_many(mats[valid], labs[valid], threads=threads)
                pmats, plabs, nverts = nb101.prune_many(mats[valid], labs[valid])
            except ValueError:
                continue  # left to the per-cell path below, which reports it
            name_of = {v: k for k, v in label_of.items()}
            positions = [g[0] for g, ok in zip(group, valid) if ok]
            pmats, plabs = pmats.tolist(), plabs.tolist()
            for k, pos in enumerate(positions):
                n = int(nverts[k])
                results[pos] = {
                    "hash": str(hashes[k]),
                    "pruned_matrix": [row[:n] for row in pmats[k][:n]],
                    "pruned_ops": [name_of[l] for l in plabs[k][:n]],
                }

    for i, result in enumerate(results):
        if result is None:
            matrix, ops = parsed[i]
            results[i] = _hash_one(matrix, ops, nb101)
    return results  # type: ignore[return-value]


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array"}.get(type(value), type(value).__name__)


_PLAIN_ENTRY_TYPES = frozenset((int, float, bool))
_ZERO_ONE = frozenset((0, 1))


def _plain_cell(matrix, ops, label_of) -> Optional[Tuple[list, list]]:
    """(flat 0/1 matrix entries, labels) if the cell is in the batchable form, else None.

    The batchable form: a square list-of-lists matrix of 2..32 rows whose
    entries are 0/1 (int, bool or float), ops "input", known interior ops,
    "output".  Anything else is left to ``nb101.Cell``.
    """
    if type(ops) is not list or type(matrix) is not list:
        return None
    n = len(ops)
    if n < 2 or n > 32 or len(matrix) != n:
        return None
    if ops[0] != "input" or ops[-1] != "output":
        return None
    try:
        labels = [label_of[op] for op in ops]
    except (KeyError, TypeError):  # unknown op, or not a string
        return None
    if min(labels[1:-1], default=0) < 0:
        return None  # "input"/"output" in the interior: let Cell explain
    for row in matrix:
        if type(row) is not list or len(row) != n:
            return None
    flat = list(itertools.chain.from_iterable(matrix))
    if not set(map(type, flat)) <= _PLAIN_ENTRY_TYPES or not set(flat) <= _ZERO_ONE:
        return None
    return flat, labels


def _hash_one(matrix, ops, nb101) -> dict:
    from nasbench_suite import InvalidSpecError
    try:
        cell = nb101.Cell(matrix, ops)
        return {
            "hash": cell.hash(),
            "pruned_matrix": [[int(x) for x in row] for row in cell.pruned_matrix.tolist()],
            "pruned_ops": list(cell.pruned_ops),
        }
    except InvalidSpecError as exc:
        return {"error": str(exc)}
    except (ValueError, TypeError) as exc:
        return {"error": f"invalid cell: {exc}"}
    except Exception as exc:  # never let one line abort the rest
        return {"error": f"invalid cell ({type(exc).__name__}): {exc}"}


# --------------------------------------------------------------------------
# space stats

def _cmd_stats(args) -> int:
    nb101, nb201 = _core_modules()
    _progress(f"enumerating {args.space} ...")
    if args.space == "nb101":
        stats = nb101_stats(nb101)
    else:
        stats = nb201_stats(nb201)
    out = sys.stdout
    if args.json:
        out.write(json.dumps(stats, indent=2) + "\n")
    elif args.space == "nb101":
        _print_nb101_stats(stats, out)
    else:
        _print_nb201_stats(stats, out)
    out.flush()
    return 0


def nb101_stats(nb101) -> dict:
    start = time.perf_counter()
    space = nb101.enumerate_space()
    seconds = time.perf_counter() - start
    cand = {int(n): int(c) for n, c in dict(space.candidates_by_vertices).items()}
    uniq = {int(n): int(c) for n, c in dict(space.unique_by_vertices).items()}
    cumulative, total = {}, 0
    for n in sorted(uniq):
        total += uniq[n]
        cumulative[n] = total
    return {
        "space": "nb101",
        "candidates": sum(cand.values()),
        "unique": int(len(space.keys)),
        "candidates_by_vertices": {str(n): cand[n] for n in sorted(cand)},
        "unique_by_vertices": {str(n): uniq[n] for n in sorted(uniq)},
        "unique_cumulative_by_vertices": {str(n): c for n, c in cumulative.items()},
        "seconds": round(seconds, 4),
    }


def nb201_stats(nb201) -> dict:
    import numpy as np
    start = time.perf_counter()
    classes = np.asarray(nb201.isomorphism_classes())
    seconds = time.perf_counter() - start
    connected = classes >= 0
    return {
        "space": "nb201",
        "cells": int(classes.size),
        "disconnected": int((~connected).sum()),
        "connected": int(connected.sum()),
        "isomorphism_classes": int(np.unique(classes[connected]).size),
        "seconds": round(seconds, 4),
    }


def _print_nb101_stats(s: dict, out) -> None:
    out.write("NAS-Bench-101 cell space (2..7 vertices, at most 9 edges)\n")
    out.write(f"  labelled candidates  {s['candidates']:>10,}\n")
    out.write(f"  unique cells         {s['unique']:>10,}\n")
    out.write("\n  vertices  candidates     unique  unique (cumulative)\n")
    keys = sorted(set(s["candidates_by_vertices"]) | set(s["unique_by_vertices"]), key=int)
    for n in keys:
        out.write(f"  {n:>8}  {s['candidates_by_vertices'].get(n, 0):>10,}"
                  f" {s['unique_by_vertices'].get(n, 0):>10,}"
                  f"  {s['unique_cumulative_by_vertices'].get(n, 0):>19,}\n")
    out.write(f"\n  time {s['seconds']:.2f} s\n")


def _print_nb201_stats(s: dict, out) -> None:
    out.write("NAS-Bench-201 topology space (4 nodes, 6 edges, 5 ops)\n")
    out.write(f"  cells                {s['cells']:>8,}\n")
    out.write(f"  disconnected         {s['disconnected']:>8,}\n")
    out.write(f"  connected            {s['connected']:>8,}\n")
    out.write(f"  isomorphism classes  {s['isomorphism_classes']:>8,}\n")
    out.write(f"\n  time {s['seconds']:.2f} s\n")


def _progress(message: str) -> None:
    if _isatty(sys.stderr):
        print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# space export

def _cmd_export(args) -> int:
    allowed = EXPORT_FORMATS[args.space]
    if args.fmt not in allowed:
        raise UsageError(f"format {args.fmt!r} is not available for {args.space}; "
                         f"choose from: {', '.join(allowed)}")
    nb101, nb201 = _core_modules()
    _progress(f"enumerating {args.space} and rendering {args.fmt} ...")
    if args.space == "nb101":
        lines = _export_nb101(nb101, args.fmt, args.threads)
    else:
        lines = _export_nb201(nb201, args.fmt)
    _write_lines(lines, args.output)
    return 0


def _export_nb101(nb101, fmt: str, threads: Optional[int]) -> Iterable[str]:
    import numpy as np
    space = nb101.enumerate_space()
    if fmt == "hashes":
        return (str(h) for h in space.hashes(threads=threads))
    # jsonl: canonical cells, ordered by hash (line i matches --format hashes)
    mats, labs, nverts = space.cells()
    mats, labs, nverts = np.asarray(mats), np.asarray(labs), np.asarray(nverts)
    name_of = {nb101.LABEL_INPUT: nb101.INPUT, nb101.LABEL_OUTPUT: nb101.OUTPUT}
    name_of.update({i: op for i, op in enumerate(nb101.OPS)})
    hashes = np.empty(len(nverts), dtype="<U32")
    for n in np.unique(nverts):
        idx = np.nonzero(nverts == n)[0]
        n = int(n)
        sub_m = np.ascontiguousarray(mats[idx, :n, :n])
        sub_l = np.ascontiguousarray(labs[idx, :n])
        hashes[idx] = nb101.hash_many(sub_m, sub_l, threads=threads or (os.cpu_count() or 1))
    order = np.argsort(hashes, kind="stable")
    # Cells share few distinct matrices and op lists: render each once.
    # (The layout is json.dumps' default, so every line parses as JSON.)
    matrix_text, ops_text = {}, {}

    def lines():
        for k in order:
            n = int(nverts[k])
            mkey = (n, mats[k].tobytes())
            mtext = matrix_text.get(mkey)
            if mtext is None:
                mtext = matrix_text[mkey] = json.dumps(mats[k, :n, :n].astype(int).tolist())
            lkey = labs[k].tobytes()
            otext = ops_text.get(lkey)
            if otext is None:
                otext = ops_text[lkey] = json.dumps([name_of[int(x)] for x in labs[k, :n]])
            yield f'{{"hash": "{hashes[k]}", "matrix": {mtext}, "ops": {otext}}}'
    return lines()


def _export_nb201(nb201, fmt: str) -> Iterable[str]:
    n = int(nb201.NUM_CELLS)
    if fmt == "arch-strings":
        return (nb201.arch_string(i) for i in range(n))
    import numpy as np
    classes = np.asarray(nb201.isomorphism_classes())

    def lines():
        yield "index,arch_string,class"
        for i in range(n):
            yield f"{i},{nb201.arch_string(i)},{int(classes[i])}"
    return lines()


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


if __name__ == "__main__":  # python -m nasbench_suite.cli
    sys.exit(main())
