"""``nasbench-suite compare``: benchmarks x strategies x seeds into one
results file (:func:`nasbench_suite.runner.grid.run_grid`)."""
from __future__ import annotations

import json
import sys

from nasbench_suite.runner.grid import GridConfigError, GridRunError, load_config_file, resolve_grid, run_grid
from nasbench_suite.runner.gridspec import apply_hyperparameter_flags
from nasbench_suite.progress import format_seconds

from ._common import MAX_THREADS, RAW, error, output_file, plural, user_errors

_DESCRIPTION = """\
Compare search strategies on tabular benchmarks: every benchmark x strategy x
seed runs one search with the same budget, and each finished run's trajectory
goes into one HDF5 results file with the full configuration that produced it
(versions, each benchmark's sha256, strategies and hyper-parameters, seeds,
the command line).

Settings come from a TOML file (CONFIG), from flags, or both (flags win).
Left out, they default to: the table's first dataset; search on valid_acc and
report test_acc, each at the highest fidelity (epochs) where the table has
values; 10 seeds (0..9); a budget of 100 queries; one simulated worker.

Resuming: run the same command again. Runs already in the results file are
skipped, so every (benchmark, strategy, seed) is stored exactly once; a
process killed at any moment (even SIGKILL) loses only the runs in flight.
More seeds or strategies can be added to an existing file the same way;
changing the budget, metrics or a table is refused (use another -o).

Execution: a local process pool (--workers, default: all cores), or with
--scheduler tcp://HOST:PORT an existing Dask distributed cluster (pip install
'nasbench-suite[distributed]'; workers must see the benchmark files at the
same paths). Results are identical either way.
"""

_EPILOG = """\
config file (TOML):
  benchmarks = ["nb201_public.h5"]          # or [[benchmarks]] tables: path, label,
                                            #   dataset, search_metric, report_metric
  dataset = "cifar10"
  search_metric = "valid_acc@12"            # metric@epochs; no @: highest with data
  report_metric = "test_acc@200"
  seeds = 20                                # or "0-19", or [0, 3, 7]
  budget = { queries = 150 }                # and/or seconds = ..., epochs = ...
  workers = 8                               # processes (or scheduler = "tcp://...")
  output = "results.h5"
  # objectives = ["valid_acc@200", "latency_pixel3"]   # multi-objective runs (optional)

  [[strategies]]
  name = "random_search"

  [[strategies]]
  name = "regularized_evolution"
  label = "RE (P=20)"                       # a label per variant
  hyperparameters = { population_size = 20, sample_size = 5 }

  [[benchmarks]]                            # per-benchmark datasets and metrics
  path = "full.h5"
  dataset = ["cifar10", "cifar100"]         # or "all"; labels full:cifar10, full:cifar100
  search_metric = "valid_acc@200"
  report_metric = "test_acc@200"

  Relative paths in the file are relative to the file's directory.
  Several benchmarks (or datasets) share one results file; `report` then
  adds a summary: average ranks, Friedman test, critical-difference diagram.

examples:
  nasbench-suite compare --benchmark nb201.h5 --dataset cifar10 \\
      --strategies random_search,regularized_evolution,local_search --seeds 20 \\
      --budget-queries 150 --search-metric valid_acc@12 --report-metric test_acc@200 -o results.h5
  nasbench-suite compare --benchmark nb201.h5:all --benchmark macro.h5 \\
      --strategies random_search,local_search --seeds 20 -o many.h5
  nasbench-suite compare grid.toml                      # everything from the file
  nasbench-suite compare grid.toml --seeds 100          # same grid, more seeds (resumes)
  nasbench-suite compare grid.toml --scheduler tcp://10.0.0.5:8786
  nasbench-suite compare --benchmark nb201-full.h5 --dataset cifar10 --objectives valid_acc@200,latency_pixel3 \
      --strategies mo_regularized_evolution,random_search --budget-queries 150 -o mo.h5
  nasbench-suite report results.h5 -o report/
"""


def add_compare_parser(subparsers):
    """Adds the ``compare`` command; its handler is stored as ``run``."""
    p = subparsers.add_parser("compare", help="run benchmarks x strategies x seeds into a results file",
                              description=_DESCRIPTION, epilog=_EPILOG, formatter_class=RAW)
    p.add_argument("config", nargs="?", metavar="CONFIG.toml", help="grid settings (flags override them)")
    p.add_argument("--benchmark", action="append", metavar="TABLE.h5[:DS,...|:all]",
                   help="a table to search, optionally with its datasets (repeat for several); replaces "
                        "the config's benchmarks")
    p.add_argument("--dataset", metavar="NAME|A,B|all",
                   help="dataset(s) of the tables without their own (default: each table's first); with "
                        "a list or 'all', each dataset is a benchmark labelled TABLE:DATASET")
    p.add_argument("--strategies", metavar="A,B,...", help="registered strategy names, comma-separated")
    p.add_argument("--hp", action="append", metavar="STRATEGY.KEY=VALUE",
                   help="a strategy hyper-parameter (VALUE as JSON), e.g. regularized_evolution.population_size=20")
    p.add_argument("--seeds", metavar="N|A-B|LIST", help="10 (0..9, the default), 0-19, or 1,4,9")
    p.add_argument("--budget-queries", type=int, metavar="N", help="finished evaluations per run (default 100)")
    p.add_argument("--budget-seconds", type=float, metavar="S", help="simulated seconds per run")
    p.add_argument("--budget-epochs", type=float, metavar="E", help="trained epochs per run")
    p.add_argument("--search-metric", metavar="METRIC@EPOCHS",
                   help="what strategies see (default: valid_acc at the highest fidelity with values)")
    p.add_argument("--report-metric", metavar="METRIC@EPOCHS",
                   help="what is reported (default: test_acc at the highest fidelity with values)")
    p.add_argument("--objectives", metavar="A,B,...",
                   help="multi-objective runs: two or more METRIC@EPOCHS (a static metric without @), e.g. "
                        "valid_acc@200,latency_pixel3; every query records each (directions: accuracy up; "
                        "latency, params, flops, loss, time down); strategies: mo_regularized_evolution or any "
                        "single-fidelity one (it optimises the first objective)")
    p.add_argument("--async-workers", type=int, metavar="N",
                   help="simulated parallel evaluations inside each run (default 1)")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed scheduler")
    p.add_argument("-o", "--output", metavar="RESULTS.h5", help="results file (created or resumed)")
    p.add_argument("--dry-run", action="store_true", help="check the settings, print the plan, run nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_compare)
    return p


def settings_from_args(args) -> tuple[dict, str | None]:
    """Merges the config file (if any) and the flags; returns (settings, config text)."""
    settings, text = {}, None
    if args.config:
        settings = load_config_file(args.config)
        with open(args.config, encoding="utf-8", errors="replace") as f:
            text = f.read()
    flags = {"dataset": args.dataset, "seeds": args.seeds, "search_metric": args.search_metric,
             "report_metric": args.report_metric, "async_workers": args.async_workers,
             "workers": args.workers, "scheduler": args.scheduler, "output": args.output,
             "objectives": args.objectives}
    settings.update({k: v for k, v in flags.items() if v is not None})
    if args.benchmark:
        settings["benchmarks"] = list(args.benchmark)
    if args.strategies is not None:
        settings["strategies"] = args.strategies
    budget = {k: v for k, v in (("queries", args.budget_queries), ("seconds", args.budget_seconds),
                                ("epochs", args.budget_epochs)) if v is not None}
    if budget:
        settings["budget"] = budget
    if "strategies" in settings:
        strategies = settings["strategies"]
        if isinstance(strategies, str):
            strategies = [s.strip() for s in strategies.split(",") if s.strip()]
        if isinstance(strategies, list):
            settings["strategies"] = apply_hyperparameter_flags(strategies, args.hp)
    elif args.hp:
        raise GridConfigError("--hp needs --strategies (or strategies in the config file)")
    return settings, text


def _command_line(args) -> list[str]:
    """The command as given (rebuilt from the parsed flags, so it is right
    however ``main`` was called)."""
    out = ["nasbench-suite", "compare"] + ([args.config] if args.config else [])
    for b in args.benchmark or []:
        out += ["--benchmark", b]
    for flag in ("dataset", "strategies", "seeds", "budget_queries", "budget_seconds", "budget_epochs",
                 "search_metric", "report_metric", "async_workers", "workers", "scheduler", "output", "objectives"):
        value = getattr(args, flag)
        if value is not None:
            out += ["-o" if flag == "output" else "--" + flag.replace("_", "-"), str(value)]
    for hp in args.hp or []:
        out += ["--hp", hp]
    return out


def _cmd_compare(args) -> int:
    with user_errors(GridConfigError):
        settings, text = settings_from_args(args)
        if "strategies" not in settings:
            raise GridConfigError("which strategies? pass --strategies random_search,local_search,... "
                                  "(or strategies in CONFIG.toml)")
        output = settings.get("output")
        if not output and not args.dry_run:
            raise GridConfigError("where to? pass -o RESULTS.h5 (or output in CONFIG.toml)")
        if output:
            output_file(output, "the results file", "results.h5")
        workers = settings.get("workers")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                    or not 1 <= workers <= MAX_THREADS):
            raise GridConfigError(f"workers must be an integer from 1 to {MAX_THREADS}, got {workers!r}")
        grid = resolve_grid(settings)
    jobs = grid.jobs()
    if args.dry_run:
        print(json.dumps({"jobs": len(jobs), **grid.config()}, indent=2, sort_keys=True))
        return 0

    def plan() -> None:  # once the results file is open and agrees with the grid
        print(f"compare: {plural(len(grid.benchmarks), 'benchmark')} x {plural(len(grid.strategies), 'strategy', 'strategies')}"
              f" x {plural(len(grid.seeds), 'seed')} = {plural(len(jobs), 'run')}, budget {grid.budget.to_dict()} "
              f"-> {output}", file=sys.stderr)

    try:
        with user_errors(GridConfigError):
            summary = run_grid(grid, output, workers=workers, scheduler=settings.get("scheduler"),
                               progress=not args.quiet, command=_command_line(args), config_text=text,
                               on_start=plan)
    except GridRunError as exc:
        error(" ".join(str(exc).split()))
        return 2 if exc.memory else 1
    except KeyboardInterrupt:
        print(f"compare: stopped; the finished runs are stored in {output}: run the same command again "
              "to continue", file=sys.stderr)
        raise
    print(f"{summary.path}: {plural(summary.total, 'run')} ({summary.resumed} already stored, {summary.new} new) "
          f"in {format_seconds(summary.wall_seconds)} on {summary.executor}")
    return 0
