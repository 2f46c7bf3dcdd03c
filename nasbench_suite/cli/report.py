"""``nasbench-suite report``: figures and tables from a results file
(:func:`nasbench_suite.report.make_report`)."""
from __future__ import annotations

import json
import os
import sys

from nasbench_suite.report import make_report, tables
from nasbench_suite.report.style import WIDTHS
from nasbench_suite.runner.results import ResultsError

from ._common import RAW, UsageError, bounded_int, user_errors

MAX_DPI = 1200  # a one-column figure is then 3960 px wide
MAX_DECIMALS = 10

_DESCRIPTION = """\
Figures and tables from a results file written by `nasbench-suite compare`.

Figures (each as vector PDF and PNG, one colour and marker per strategy kept
across all of them; registered strategies keep their colour in every report):
  curve_queries   regret (or, with --y metric, the best report metric) against
                  finished queries: mean with a standard-error band
  curve_time      the same against simulated time (a shared log-spaced grid;
                  each run is a step function of its incumbent)
  final           distribution of the final report metric per strategy
                  (--final-plot box or violin; the marker is the mean)
  rank_queries,   average rank over the seeds every strategy ran (1 = best)
  rank_time
Tables: table.md and table.tex hold mean ± standard error of the report metric
at each budget (--budgets), the best in bold, the two-sided Wilcoxon
signed-rank p-value against the best strategy (paired by seed) and the number
of seeds; numbers.json holds the same numbers; report.md puts the tables, the
figures and the configuration (table checksums, versions, commands) on one
page. With several benchmarks in the file, file names get -BENCHMARK, or with
--split each benchmark gets its own sub-directory (named after its label)
holding that set; and a summary across them is written beside: summary.md
and summary.json (mean final regret per benchmark, each strategy's average
rank, Friedman's chi2_F and Iman-Davenport's F_F, the Nemenyi critical
difference; Demsar, JMLR 2006) and cd_diagram.pdf/.png, the
critical-difference diagram.

Regret is the table's best report value minus the incumbent's.
"""

_EPILOG = """\
examples:
  nasbench-suite report results.h5 -o report/
  nasbench-suite report results.h5 -o report/ --budgets 50,100,150 --log-x --column two
  nasbench-suite report results.h5 --budgets 12h,24h --format json
  nasbench-suite report suite.h5 -o reports/suite/ --split     # many benchmarks
"""


def add_report_parser(subparsers):
    """Adds the ``report`` command; its handler is stored as ``run``."""
    p = subparsers.add_parser("report", help="figures (PDF/PNG) and tables (Markdown/LaTeX) from a results file",
                              description=_DESCRIPTION, epilog=_EPILOG,
                              formatter_class=RAW)
    p.add_argument("results", metavar="RESULTS.h5", help="written by nasbench-suite compare")
    p.add_argument("-o", "--output", metavar="DIR", help="directory for the files (created); "
                                                         "optional with --format json")
    p.add_argument("--budgets", metavar="LIST",
                   help="table columns: queries (50,100,150), simulated time (3600s, 12h) or 'final' "
                        "(default: a third, two thirds and all of the run budget)")
    p.add_argument("--strategies", metavar="A,B,...", help="only these strategies, in this order")
    p.add_argument("--y", choices=("regret", "metric"), default="regret",
                   help="curves of regret (default) or of the best report metric")
    p.add_argument("--log-x", action="store_true", help="logarithmic x axes")
    p.add_argument("--y-scale", choices=("auto", "log", "linear"), default="auto",
                   help="y axis of the curves: auto (default) is log for regret, linear for the metric")
    p.add_argument("--column", choices=("one", "two", "both"), default="one",
                   help=f"figure width: one column ({WIDTHS['one']} in, default), two columns "
                        f"({WIDTHS['two']} in) or both (files get _1col/_2col)")
    p.add_argument("--final-plot", choices=("box", "violin"), default="box", help="final distribution style")
    p.add_argument("--dpi", type=bounded_int(10, MAX_DPI), default=200,
                   help=f"PNG resolution, 10 to {MAX_DPI} (default 200)")
    p.add_argument("--decimals", type=bounded_int(0, MAX_DECIMALS), default=2,
                   help=f"decimals in the tables, 0 to {MAX_DECIMALS} (default 2)")
    p.add_argument("--split", action="store_true",
                   help="one sub-directory of tables and figures per benchmark (with several), "
                        "beside the summary")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="stdout: the Markdown table and the files written (text), or the numbers (json)")
    p.set_defaults(run=_cmd_report)
    return p


def _cmd_report(args) -> int:
    if args.output is None and args.format != "json":
        raise UsageError("where to? pass -o DIR (or --format json to print the numbers only)")
    if args.output is not None and os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"{args.output}: exists and is not a directory; -o names the directory for the "
                         "report's files")
    if os.path.isdir(args.results):
        raise UsageError(f"{args.results}: is a directory, not a results file; pass the file written by "
                         f"`nasbench-suite compare -o`, e.g. {os.path.join(args.results, 'results.h5')}")
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()] if args.strategies else None
    with user_errors(ResultsError, ValueError, OSError):
        out = make_report(args.results, args.output, budgets=args.budgets, strategies=strategies, y=args.y,
                          log_x=args.log_x, y_scale=args.y_scale, column=args.column, final_plot=args.final_plot,
                          dpi=args.dpi, decimals=args.decimals, split=args.split)
    if args.format == "json":
        json.dump(out["numbers"], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for num in out["numbers"]["groups"]:
        print(f"{num['benchmark']} / {num['dataset']}: {tables.caption(num)}\n")
        print(tables.markdown(num, args.decimals))
    if "summary" in out["numbers"]:
        from nasbench_suite.report.summary import summary_markdown

        print("summary over benchmarks (mean final regret, rank):\n")
        print(summary_markdown(out["numbers"]["summary"], max(3, args.decimals)))
    for f in out["files"]:
        print(f)
    return 0
