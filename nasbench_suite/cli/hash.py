"""``nasbench-suite hash``: official NAS-Bench-101 hashes of cells given as
JSON lines, one answer line per input line."""
from __future__ import annotations

import itertools
import json
import os
import sys
from typing import IO, Iterable, Iterator, List, Optional, Sequence, Tuple

from ._common import RAW, UsageError, isatty, positive_int
from .space import core_modules
from .space_nb101 import SPACE as NB101

# Lines read before a batch goes through the compiled core; bounded so that a
# huge input streams with constant memory.
HASH_CHUNK_LINES = 8192

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


def add_hash_parser(commands):
    """Adds ``hash`` to the top-level subparsers; returns its parser."""
    p = commands.add_parser("hash", help="hash NAS-Bench-101 cells given as JSON lines",
                            description=_HASH_DESCRIPTION, epilog=_HASH_EPILOG,
                            formatter_class=RAW)
    p.add_argument("--space", required=True, choices=[NB101.name],
                   help=f"search space of the cells (only {NB101.name} has a hash)")
    p.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help="JSON-lines input; '-' or absent reads standard input")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="worker threads for the batch hash (default 1)")
    p.set_defaults(run=_cmd_hash)
    return p


# --------------------------------------------------------------------------
# input

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


# --------------------------------------------------------------------------
# the command

def _cmd_hash(args) -> int:
    nb101, _ = core_modules()
    stream, owned = _open_input(args.file)
    name = "standard input" if args.file == "-" else repr(args.file)
    interactive = args.file == "-" and isatty(sys.stdin)
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
