"""``nasbench-suite convert``, ``import`` and ``download``: tables from the
official benchmark files and from public tables.

The work is done by :mod:`nasbench_suite.tables.convert_nb101`,
:mod:`~nasbench_suite.tables.convert_nb201`, :mod:`~nasbench_suite.tables.importers`
and :mod:`~nasbench_suite.tables.download`; this module reads the arguments
and turns their errors into messages.
"""
from __future__ import annotations

import contextlib
import csv
import os
import pickle
import sys
import warnings
import zipfile

from nasbench_suite import spaces
from nasbench_suite.spaces import nb101, nb201
from nasbench_suite.tables import download as dl
from nasbench_suite.tables.convert_nb101 import convert_nb101
from nasbench_suite.tables.convert_nb201 import HP_KEYS, convert_nb201
from nasbench_suite.tables.errors import TableError
from nasbench_suite.tables.importers import KEY_KINDS, RECIPES, import_table

from ._common import (PROG, RAW, Parser, UsageError, bounded_float, bounded_int, error, input_file, isatty,
                      output_file, user_errors)

# What a user can fix when a table is built: a bad or missing source file, an
# output that exists (TableError covers the converters' and importer's own).
_TABLE_ERRORS = (TableError, FileExistsError, OSError)

# What a converter's parser of an official file may raise on a file that is not
# one (a crafted or damaged pickle, zip or TFRecord) where it does not word the
# error itself: the source is unreadable, not the program broken.
_SOURCE_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
                  AttributeError, ArithmeticError, RecursionError, UnicodeError, zipfile.BadZipFile, RuntimeError)


@contextlib.contextmanager
def _reading(source: str, what: str):
    """The converter's own errors as they are; any other error while reading
    ``source`` as a UsageError naming the file (one line, exit 2)."""
    with warnings.catch_warnings():
        # torch.load(weights_only=True) warns about the pickle protocol of any file it reads
        warnings.filterwarnings("ignore", message=r".*pickle protocol", category=UserWarning)
        try:
            yield
        except _TABLE_ERRORS as exc:
            raise UsageError(str(exc)) from None
        except _SOURCE_ERRORS as exc:
            text = " ".join(str(exc).split())[:200]
            raise UsageError(f"{source}: cannot be read as {what} ({type(exc).__name__}: {text}); is it an "
                             "official, complete file? download it again") from None


def _watching(args) -> bool:
    """Progress messages: unless --quiet, and only when a person watches stderr."""
    return not args.quiet and isatty(sys.stderr)


def _check_paths(args, example: str) -> None:
    """-o must name a file; SOURCE must exist (the converters name it otherwise)."""
    output_file(args.output, "the table file to write", example)


def add_table_parsers(commands) -> None:
    """Adds ``convert`` (with one action per converter), ``import`` and
    ``download`` to the top-level subparsers."""
    convert = commands.add_parser(
        "convert", help="convert official benchmark files into a table",
        description="Convert official benchmark files into a nasbench-suite table (docs/FORMAT.md).",
        epilog="examples:\n  nasbench-suite convert nb101 nasbench_only108.tfrecord -o nb101.h5\n"
               "  nasbench-suite convert nb201 NAS-Bench-201-v1_1-096897.pth -o nb201.h5\n",
        formatter_class=RAW)
    converters = convert.add_subparsers(dest="convert_command", metavar="SPACE", parser_class=Parser)
    converters.required = True
    add_convert_nb101_parser(converters)
    add_convert_nb201_parser(converters)
    add_import_parser(commands)
    add_download_parser(commands)
    add_repair_parser(commands)


# ------------------------------------------------------------------ convert nb101
_NB101_DESCRIPTION = """\
Convert an official NAS-Bench-101 TFRecord file (nasbench_full.tfrecord or
nasbench_only108.tfrecord) into a nasbench-suite table. TensorFlow is not
needed. Record CRCs and every record's module hash are checked; on any error
nothing is written at OUT.
"""

_NB101_EPILOG = """\
examples:
  nasbench-suite convert nb101 nasbench_only108.tfrecord -o nb101_108.h5
  nasbench-suite convert nb101 nasbench_full.tfrecord -o nb101.h5 --overwrite
"""


def add_convert_nb101_parser(subparsers):
    """Adds ``nb101`` to the ``convert`` command's subparsers; returns the parser.
    Its handler is stored as ``run`` (``args.run(args) -> exit status``)."""
    p = subparsers.add_parser(nb101.SPACE.name, help="official NAS-Bench-101 TFRecord file -> table",
                              description=_NB101_DESCRIPTION, epilog=_NB101_EPILOG,
                              formatter_class=RAW)
    p.add_argument("source", metavar="SOURCE", help="nasbench_full.tfrecord or nasbench_only108.tfrecord")
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="table to write")
    p.add_argument("--dataset", default="cifar10", help="dataset name in the table (default cifar10)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.h5 if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_convert_nb101)
    return p


def _cmd_convert_nb101(args) -> int:
    _check_paths(args, "nb101.h5")
    input_file(args.source, "TFRecord file")
    with _reading(args.source, "a NAS-Bench-101 TFRecord file"):
        path = convert_nb101(args.source, args.output, dataset=args.dataset,
                             progress=_watching(args), overwrite=args.overwrite)
    print(path)
    return 0


# ------------------------------------------------------------------ convert nb201
_NB201_DESCRIPTION = """\
Convert an official NAS-Bench-201 archive (NAS-Bench-201-v1_0-e61699.pth,
NAS-Bench-201-v1_1-096897.pth) or NATS-Bench topology archive
(NATS-tss-v1_0-3ffb9.pickle.pbz2, or the directory NATS-tss-v1_0-3ffb9-full/
or -simple/) into a nasbench-suite table holding one training preset.
PyTorch is needed only for .pth files whose results hold tensors. Every arch
string is checked against the official index order; on any error nothing is
written at OUT.
"""

_NB201_EPILOG = """\
examples:
  nasbench-suite convert nb201 NAS-Bench-201-v1_1-096897.pth -o nb201_200ep.h5
  nasbench-suite convert nb201 NATS-tss-v1_0-3ffb9-simple -o nats_12ep.h5 --hp 12
"""


def add_convert_nb201_parser(subparsers):
    """Adds ``nb201`` to the ``convert`` command's subparsers; returns the parser.
    Its handler is stored as ``run`` (``args.run(args) -> exit status``)."""
    p = subparsers.add_parser(nb201.SPACE.name, help="official NAS-Bench-201 / NATS-Bench topology archive -> table",
                              description=_NB201_DESCRIPTION, epilog=_NB201_EPILOG,
                              formatter_class=RAW)
    p.add_argument("source", metavar="SOURCE", help=".pth or .pickle.pbz2 file, or NATS-Bench archive directory")
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="table to write")
    p.add_argument("--hp", choices=tuple(HP_KEYS), default="200",
                   help="training preset: 200 epochs (default) or the 12-epoch proxy")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.h5 if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    p.set_defaults(run=_cmd_convert_nb201)
    return p


def _cmd_convert_nb201(args) -> int:
    _check_paths(args, "nb201.h5")
    with _reading(args.source, "a NAS-Bench-201 / NATS-Bench archive"):
        path = convert_nb201(args.source, args.output, hp=args.hp, progress=_watching(args),
                             overwrite=args.overwrite)
    print(path)
    return 0


# ------------------------------------------------------------------ import
_IMPORT_DESCRIPTION = """\
Build a nasbench-suite table from public tables (CSV, JSON, parquet) keyed by
a cell's label or index in a search space, NB201 arch string or NB101 hash:
with a named recipe (--recipe; --source is the directory holding its files) or
a JSON mapping (--mapping; --source is the file). Every value and key is
checked before anything is written; on any error nothing is written at OUT.
"""


def _import_epilog() -> str:
    width = max(map(len, RECIPES))
    recipes = "\n".join(f"  {name:{width}s} {r['description']}" for name, r in RECIPES.items())
    return f"""\
recipes:
{recipes}

mapping (JSON):
  {{"key": {{"column": "arch", "kind": "arch_string"}},      kind: {' | '.join(KEY_KINDS)}
   "columns": {{"acc200": ["test_acc", 200, "cifar10"],      (metric, epochs, dataset[, seed])
               "params": {{"metric": "params", "fidelity": null, "dataset": "cifar10"}}}}}}
  label: the string a space names a cell by; index: a finite space's index order;
  either takes "space" ({', '.join(spaces.names())}) in the key, or once for the
  whole mapping (index without one: {KEY_KINDS['index']}'s official index).

examples:
  nasbench-suite import --recipe nb201-public --source ../shared/data/nb201 -o nb201_public.h5
  nasbench-suite import --mapping my_map.json --source results.csv -o mine.h5
"""


def add_import_parser(subparsers):
    """Adds the ``import`` command to the top-level subparsers; returns the
    parser. Its handler is stored as ``run`` (``args.run(args) -> exit status``)."""
    p = subparsers.add_parser("import", help="public CSV/JSON/parquet tables -> table",
                              description=_IMPORT_DESCRIPTION, epilog=_import_epilog(),
                              formatter_class=RAW)
    p.add_argument("--recipe", metavar="NAME", help=f"a named recipe ({', '.join(RECIPES)})")
    p.add_argument("--mapping", metavar="MAP.json", help="a JSON mapping for one file (or 'sources')")
    p.add_argument("--source", metavar="PATH", help="the recipe's directory, or the file to import")
    p.add_argument("-o", "--output", metavar="OUT.h5", help="table to write")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.h5 if it exists")
    p.add_argument("--no-verify", action="store_true",
                   help="import source files whose sha256 differs from the recipe's published one")
    p.add_argument("--list-recipes", action="store_true", help="print the recipes and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_import)
    return p


def _cmd_import(args) -> int:
    if args.list_recipes:
        for name, r in RECIPES.items():
            print(f"{name}\t{r['description']}")
        return 0
    if args.source is None or args.output is None or (args.recipe is None) == (args.mapping is None):
        raise UsageError("import needs --source, -o OUT.h5 and one of --recipe or --mapping "
                         "(see nasbench-suite import --help)")
    _check_paths(args, "table.h5")
    if args.mapping is not None:
        input_file(args.mapping, "mapping file (JSON)")
    try:
        with user_errors(*_TABLE_ERRORS):
            path = import_table(recipe=args.recipe, source=args.source, out=args.output,
                                mapping=args.mapping, overwrite=args.overwrite,
                                progress=_watching(args), verify=not args.no_verify)
    except csv.Error as exc:
        raise UsageError(_csv_message(exc, args.source)) from None
    except (UnicodeError, RecursionError) as exc:
        raise UsageError(f"{_failed_file(exc, args.source)}: cannot be read ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]}); CSV and JSON sources must be UTF-8 text") from None
    print(path)
    return 0


# ------------------------------------------------------------------ download
_DOWNLOAD_DESCRIPTION = """\
Download the official data of a tabular benchmark, check it, and convert it
into a nasbench-suite table (HDF5).

  nb101     NAS-Bench-101: nasbench_full.tfrecord (~1.95 GB; epochs 4, 12, 36,
            108), or with --only108 nasbench_only108.tfrecord (~499 MB),
            from storage.googleapis.com; sha256 published by the authors.
  nb201     NAS-Bench-201: NAS-Bench-201-v1_1-096897.pth (4.7 GB) from Google
            Drive (--artifact nb201-v1_0 for the older 2.2 GB file).
  nats-tss  NATS-Bench topology space: NATS-tss-v1_0-3ffb9-simple.tar from
            Google Drive (--artifact nats-tss-pbz2 for the single-file form).
            The same cells as nb201, with more results; converting it reads
            one architecture at a time, while converting the nb201 .pth loads
            the whole file (tens of GB of memory, as the official API does).

An interrupted download leaves FILE.part in the destination; running the same
command again resumes it (HTTP Range). The file is checked against the
published sha256 where one exists (a mismatch deletes it); the digest of every
download is written to FILE.sha256. The file gets its final name only once it
is complete. The progress bar (bytes/s, ETA) is drawn on stderr when it is a
terminal.
"""

_DOWNLOAD_EPILOG = """\
examples:
  nasbench-suite download nb101 --only108 --dest ~/data/nasbench
  nasbench-suite download nb201 --no-convert
  nasbench-suite download --list
  NASBENCH_SUITE_MIRROR=http://mirror.lab/nas nasbench-suite download nats-tss

environment:
  NASBENCH_SUITE_HOME    default destination (else ~/.cache/nasbench-suite)
  NASBENCH_SUITE_MIRROR  fetch BASE/<file name> instead of the official URLs

exit status: 0 success, 2 bad arguments or a failed download or conversion
(the message says why and what to do), 130 interrupted (run again to resume).
"""


def add_download_parser(subparsers):
    """Adds the ``download`` command to the top-level subparsers; returns the
    parser. Its handler is stored as ``run`` (``args.run(args) -> exit status``)."""
    p = subparsers.add_parser("download", help="download and convert an official benchmark",
                              description=_DOWNLOAD_DESCRIPTION, epilog=_DOWNLOAD_EPILOG,
                              formatter_class=RAW)
    p.add_argument("benchmark", nargs="?", choices=dl.BENCHMARKS, metavar="BENCHMARK",
                   help="nb101, nb201 or nats-tss")
    p.add_argument("--dest", metavar="DIR", default=None,
                   help="where the file goes (default: $NASBENCH_SUITE_HOME or "
                        "~/.cache/nasbench-suite)")
    p.add_argument("--only108", action="store_true",
                   help="nb101: the 108-epoch subset (~499 MB) instead of the full file")
    p.add_argument("--artifact", metavar="NAME",
                   help="another published file of the benchmark (see --list)")
    p.add_argument("--no-convert", dest="convert", action="store_false",
                   help="download and check only")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="the converted table (default: DIR/<artifact>.h5, e.g. "
                        "nb101-full.h5)")
    p.add_argument("--mirror", metavar="URL",
                   help="fetch URL/<file name> instead of the official URL")
    p.add_argument("--force", action="store_true",
                   help="download again and rebuild the table even if they exist")
    p.add_argument("--timeout", type=bounded_float(0, 86400), default=60.0, metavar="SECONDS",
                   help="network timeout per connect or read (default 60)")
    p.add_argument("--retries", type=bounded_int(0, 1000), default=5, metavar="N",
                   help="resume a dropped connection up to N times in a row (default 5)")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--progress", action="store_true", default=None,
                       help="draw the progress bar even when stderr is not a terminal")
    noise.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bar and no messages, only errors")
    p.add_argument("--list", action="store_true",
                   help="list the known files, their sizes and checksums, and exit")
    p.set_defaults(run=_cmd_download)
    return p


def _cmd_download(args) -> int:
    if args.list:
        dl.list_artifacts(sys.stdout)
        return 0
    if args.benchmark is None:
        print(f"{PROG} download: error: name a benchmark ({', '.join(dl.BENCHMARKS)}) "
              f"or pass --list", file=sys.stderr)
        return 2

    output_file(args.output, "the table file to write", f"{args.benchmark}.h5")
    if args.dest is not None and os.path.exists(args.dest) and not os.path.isdir(args.dest):
        print(f"{PROG}: error: {args.dest}: exists and is not a directory; --dest names the directory "
              "for the downloaded file", file=sys.stderr)
        return 2

    def log(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    try:
        result = dl.download(args.benchmark, args.dest, only108=args.only108,
                             artifact=args.artifact, convert=args.convert, output=args.output,
                             mirror=args.mirror, force=args.force, timeout=args.timeout,
                             retries=max(args.retries, 0),
                             progress=False if args.quiet else args.progress, log=log)
    except dl.DownloadError as exc:
        error(str(exc))
        return 2
    except OSError as exc:  # the destination: permissions, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}")
        return 2
    except TableError as exc:  # the conversion after the download
        error(" ".join(str(exc).split()))
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run the same command again to resume the download",
              file=sys.stderr)
        return 130
    print(f"file    {result.path}")
    print(f"sha256  {result.sha256} ({result.checksum})")
    if result.table:
        print(f"table   {result.table}")
    return 0


# ------------------------------------------------------------------ import: errors of the CSV reader

def _failed_frame(exc: BaseException):
    """The innermost frame of ``exc``'s traceback that was reading a file: the
    locals of the importer's reader (``path``, and for CSV the ``reader``)."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        if isinstance(tb.tb_frame.f_locals.get("path"), str):
            found = tb.tb_frame.f_locals
        tb = tb.tb_next
    return found or {}


def _failed_file(exc: BaseException, source) -> str:
    return _failed_frame(exc).get("path") or str(source)


def _csv_message(exc: csv.Error, source) -> str:
    """``csv.Error`` (e.g. a field over ``csv.field_size_limit()``, 128 KiB)
    with the file and line it happened on. The importer does not catch it, so
    the file and line are read from the reader that raised it."""
    where = _failed_frame(exc)
    path = where.get("path") or str(source)
    reader = where.get("reader")
    line = getattr(reader, "line_num", None)
    at = f"line {line}" if isinstance(line, int) and line > 0 else "a line"
    text = " ".join(str(exc).split())
    hint = ("; no key or value of a public table is that long: is it the right file (a binary file, "
            "or a quote never closed)?" if "field larger than field limit" in text else "; fix the file")
    return f"{path}: {at}: not valid CSV ({text}){hint}"


# ------------------------------------------------------------------ repair
_REPAIR_DESCRIPTION = """\
Salvage the journal of a table (TABLE.journal: results appended since the
table was last compacted) after damage that opening or compacting the table
reported as "corrupt journal": every valid frame is kept, in order (a record
whose frame marker or length field is damaged is kept too when its checksum
proves it whole); damaged ranges are skipped and listed with their byte
offsets. The journal is rewritten atomically; the original is kept as
TABLE.journal.corrupt-<UTC time>. An intact journal is left alone. A torn
last frame (an append interrupted before it was acknowledged) is not
damage: readers ignore it and the next append cuts it off.
"""

_REPAIR_EPILOG = """\
examples:
  nasbench-suite repair nb201.h5
  nasbench-suite repair --rebind nb201.h5   # the header (the table's id) was lost too

exit status: 0 repaired or nothing to repair, 2 no such table or journal, or
one that cannot be read or written.
"""


def add_repair_parser(subparsers):
    """Adds the ``repair`` command to the top-level subparsers; returns the
    parser. Its handler is stored as ``run`` (``args.run(args) -> exit status``)."""
    p = subparsers.add_parser("repair", help="salvage a table's damaged journal (keeps every valid record)",
                              description=_REPAIR_DESCRIPTION, epilog=_REPAIR_EPILOG, formatter_class=RAW)
    p.add_argument("table", metavar="TABLE", help="the table (TABLE.h5; its journal is TABLE.h5.journal)")
    p.add_argument("--rebind", action="store_true",
                   help="bind the salvaged records to TABLE when the journal's header (the table id) was lost "
                        "or names another table; only if they were appended to TABLE")
    p.set_defaults(run=_cmd_repair)
    return p


def _cmd_repair(args) -> int:
    from nasbench_suite.tables.journal import journal_path, repair_journal

    table = args.table
    if table.endswith(".journal") and os.path.isfile(table):  # the journal named instead of its table
        table = table[:-len(".journal")]
    if os.path.isdir(table):
        raise UsageError(f"{table}: is a directory; name the table file (its journal is TABLE.journal)")
    if not os.path.exists(table) and not os.path.exists(journal_path(table)):
        raise UsageError(f"{table}: no such table, and no journal {journal_path(table)}; check the path")
    with user_errors(TableError, OSError):
        report = repair_journal(table, rebind=args.rebind)
    print(report)
    return 0
