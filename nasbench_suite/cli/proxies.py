"""``nasbench-suite proxies``: zero-cost proxies for every row of a table,
stored in it as static metrics ``zc_<name>`` (:mod:`nasbench_suite.proxies.table`).

Importing this module does not import torch: ``--help`` works without the
``[train]`` extra, and running without it says what to install.
"""
from __future__ import annotations

import os
import sys

from ._common import INT64_MAX, MAX_THREADS, PROG, RAW, UsageError, bounded_int, error, input_file

# The names, spelt here so that --help needs no torch (tests check they match PROXIES).
PROXY_NAMES = ("params", "flops", "synflow", "snip", "grasp", "fisher", "grad_norm", "jacov", "nwot", "zen",
               "epe_nas", "l2_norm", "plain")
MAX_BATCH = 100_000


def add_proxies_parser(commands) -> None:
    """Adds ``proxies`` to the top-level subparsers."""
    p = commands.add_parser(
        "proxies", help="zero-cost proxies for every row of a table, stored in it",
        description="Compute zero-cost proxies (scores of the untrained network) for every row of TABLE on "
                    "the suite's own networks and store them in the table as static metrics zc_<name> of "
                    "the dataset, with their settings in the provenance. Resumable: run the same command "
                    "again to continue; rows already computed are skipped. Data-free proxies (params, flops, "
                    "synflow, zen, l2_norm) need no data files.",
        epilog="example:\n  nasbench-suite proxies my-table.h5 --proxies synflow,zen,nwot --dataset digits "
               "--workers 2\n\nproxies: " + ", ".join(PROXY_NAMES),
        formatter_class=RAW)
    p.add_argument("table", help="the table to add the proxies to (written in place, through its journal)")
    p.add_argument("--proxies", required=True, help="comma-separated proxy names, or 'all'")
    p.add_argument("--dataset", default=None,
                   help="the table's dataset to store under, also the data set of the minibatch (default: the "
                        "table's first)")
    p.add_argument("--workers", type=bounded_int(0, MAX_THREADS), default=None,
                   help="local worker processes (default: one per core; 0: in this process)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT instead")
    p.add_argument("--seed", type=bounded_int(0, INT64_MAX), default=0,
                   help="seed of the initial weights and the minibatch (default: 0)")
    p.add_argument("--batch-size", type=bounded_int(1, MAX_BATCH), default=64,
                   help="minibatch size of the data-dependent proxies (default: 64)")
    p.add_argument("--preset", default=None,
                   help="network preset (default: the one a generated table records, else 'official')")
    p.add_argument("--data-root", default=None, help="where dataset files live (digits needs none)")
    p.add_argument("--device", default=None, help="cpu (default) or cuda")
    p.add_argument("--max-rows", type=bounded_int(0, INT64_MAX), default=None,
                   help="stop after this many rows (resumable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_proxies)


def _cmd_proxies(args) -> int:
    input_file(args.table, "table file")
    if not os.path.exists(args.table):
        raise UsageError(f"{args.table}: no such table file")
    names = PROXY_NAMES if args.proxies.strip() == "all" else args.proxies
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"{PROG}: error: proxies need PyTorch: pip install 'nasbench-suite[train]'", file=sys.stderr)
        return 2
    from nasbench_suite._errors import InvalidSpecError
    from nasbench_suite.proxies.table import proxies_table
    from nasbench_suite.tables.errors import TableError
    from nasbench_suite.train.data import DatasetNotFound

    try:
        summary = proxies_table(args.table, names, dataset=args.dataset, workers=args.workers,
                                scheduler=args.scheduler, seed=args.seed, batch_size=args.batch_size,
                                preset=args.preset, data_root=args.data_root, device=args.device,
                                max_rows=args.max_rows, progress=not args.quiet)
    except (ValueError, TypeError, InvalidSpecError, TableError, DatasetNotFound, OSError) as exc:
        error(" ".join(str(exc).split()))
        return 2
    nan = sum(len(v) for v in summary["nan"].values())
    print(f"{summary['path']}: {', '.join(summary['proxies'])} on {summary['dataset']}: {summary['rows']} rows "
          f"computed now ({summary['cpu_seconds']:.1f} CPU s, {summary['wall_seconds']:.0f} s wall)"
          + (f"; {nan} values NaN (undefined for the network; reasons logged)" if nan else ""))
    return 0
