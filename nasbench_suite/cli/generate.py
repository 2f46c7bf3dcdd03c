"""``nasbench-suite generate`` and ``nasbench-suite verify``: train a whole
tabular benchmark with the suite's own trainer, and check one
(:mod:`nasbench_suite.train.generate`).

Importing this module does not import torch: ``--help`` works without the
``[train]`` extra, and running without it says what to install.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from nasbench_suite.spaces import nb201

from ._common import INT64_MAX, MAX_THREADS, PROG, RAW, UsageError, bounded_int, error, input_file, output_file

DEFAULT_TABLE = "tabular_data/nb201-digits.h5"
MAX_SEEDS = 1000  # seeds per class of a generated table
MAX_VERIFY_ROWS = 100_000  # more than any table has classes


def add_generate_parsers(commands) -> None:
    """Adds ``generate`` (one action per space) and ``verify`` to the top-level subparsers."""
    gen = commands.add_parser(
        "generate", help="train a whole tabular benchmark with the suite's own trainer",
        description="Train one representative of every isomorphism class of a search space (and one "
                    "disconnected cell) on an offline dataset and write a table (docs/FORMAT.md, "
                    "lookup='class'). Resumable: run the same command again to continue.",
        epilog="example:\n  nasbench-suite generate nb201 --dataset digits -o tabular_data/nb201-digits.h5",
        formatter_class=RAW)
    spaces = gen.add_subparsers(dest="generate_space", metavar="SPACE")
    spaces.required = True
    p = spaces.add_parser(nb201.SPACE.name, help="the NAS-Bench-201 cell space (8,764 classes + disconnected)")
    p.add_argument("--dataset", default="digits", help="dataset to train on (default: digits, offline)")
    p.add_argument("-o", "--out", default=DEFAULT_TABLE, help=f"table to write or resume (default: {DEFAULT_TABLE})")
    p.add_argument("--preset", default="digits", help="training preset (default: digits, see train/presets.py)")
    p.add_argument("--seeds", type=bounded_int(1, MAX_SEEDS), default=2,
                   help=f"seeds per class, 0..N-1, N from 1 to {MAX_SEEDS} (default: 2)")
    p.add_argument("--workers", type=bounded_int(1, MAX_THREADS), default=None,
                   help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT instead")
    p.add_argument("--data-root", default=None, help="where dataset files live (digits needs none)")
    p.add_argument("--max-runs", type=bounded_int(0, INT64_MAX), default=None,
                   help="stop after this many new runs, whole classes when grouped (resumable)")
    p.add_argument("--group-seeds", action=argparse.BooleanOptionalAction, default=None,
                   help="train a class's seeds as one grouped network, about 25%% less CPU time (default: as the "
                        "existing table was made; grouped for a new table)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset setting, e.g. --set epochs=12 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_generate)

    v = commands.add_parser(
        "verify", help="retrain random rows of a generated table and compare",
        description="Retrain K random rows of a table made by `nasbench-suite generate` (every seed of "
                    "each) with the settings in its provenance, and report the agreement: exact on the "
                    "same torch version and CPU as a generating session, otherwise within a stated "
                    "tolerance. Exit status 1 when they disagree.")
    v.add_argument("table", help="the generated table")
    v.add_argument("--rows", type=bounded_int(1, MAX_VERIFY_ROWS), default=3,
                   help=f"rows to retrain, 1 to {MAX_VERIFY_ROWS} (default: 3)")
    v.add_argument("--seed", type=bounded_int(0, INT64_MAX), default=0, help="seed of the row choice (default: 0)")
    v.add_argument("--data-root", default=None)
    v.add_argument("--format", choices=("text", "json"), default="text")
    v.set_defaults(run=_cmd_verify)


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _overrides(items) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set wants KEY=VALUE, got {item!r}")
        out[key.strip()] = _value(value.strip())
    return out


def _errors():
    """The library exceptions of generate and verify that a user can fix."""
    from nasbench_suite._errors import InvalidSpecError
    from nasbench_suite.tables.errors import TableFormatError
    from nasbench_suite.train.data import DatasetNotFound

    from nasbench_suite.tables.errors import TableError

    return (ValueError, TypeError, InvalidSpecError, TableError, TableFormatError, DatasetNotFound, OSError)


def _need_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"{PROG}: error: training needs PyTorch: pip install 'nasbench-suite[train]'", file=sys.stderr)
        return False
    return True


def _cmd_generate(args) -> int:
    output_file(args.out, "the table file to write", "nb201-digits.h5")
    if not _need_torch():
        return 2
    from nasbench_suite.train.generate import generate_nb201

    try:
        summary = generate_nb201(args.out, dataset=args.dataset, seeds=range(args.seeds), preset=args.preset,
                                 workers=args.workers, scheduler=args.scheduler, data_root=args.data_root,
                                 max_runs=args.max_runs, progress=not args.quiet, group_seeds=args.group_seeds,
                                 **_overrides(args.set))
    except _errors() as exc:
        error(" ".join(str(exc).split()))
        return 2
    print(f"{summary['path']}: {summary['done_runs']}/{summary['total_runs']} runs trained "
          f"({summary['new_runs']} now, {summary['cpu_seconds'] / 3600:.3f} core-hours, "
          f"{summary['wall_seconds']:.0f} s wall)")
    return 0


def _cmd_verify(args) -> int:
    input_file(args.table, "table file")
    if not os.path.exists(args.table):
        raise UsageError(f"{args.table}: no such table file")
    if not _need_torch():
        return 2
    from nasbench_suite.train.generate import verify_table

    def show(run):
        if args.format == "text":
            print(f"row {run['row']:5d} seed {run['seed']} {run['arch']}: table {run['table_test_acc']:.2f}% "
                  f"retrained {run['retrained_test_acc']:.2f}%  max |diff| {run['max_abs_diff']:.3g}"
                  f"{'  exact' if run['exact'] else ''}", flush=True)

    try:
        report = verify_table(args.table, rows=args.rows, seed=args.seed, data_root=args.data_root, progress=show)
    except _errors() as exc:
        error(" ".join(str(exc).split()))
        return 2
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        n = len(report["runs"])
        where = "same torch and CPU as a generating session" if report["same_platform"] else \
            f"torch {report['here']['torch']} on {report['here']['cpu']}, not a generating session's"
        print(f"{report['exact']}/{n} runs exact ({where}); criterion: {report['criterion']}: "
              f"{'AGREE' if report['ok'] else 'DISAGREE'}")
    return 0 if report["ok"] else 1
