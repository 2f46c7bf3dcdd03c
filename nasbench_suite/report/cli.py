"""``nasbench-suite report``: figures and tables from a results file."""
from __future__ import annotations

import json
import os
import sys

import numpy as np

from . import aggregate as agg
from . import plots, tables
from .style import WIDTHS, strategy_styles

FIGURES = ("curve_queries", "curve_time", "final", "rank_queries", "rank_time")


def _group_figures(g: agg.Group, out_dir: str, suffix: str, styles: dict, y: str, log_x: bool,
                   log_y: bool, columns: list, final_plot: str, dpi: int, time_points: int) -> dict:
    """Writes the group's figures; returns ``{figure name: [paths]}``."""
    n = max(len(t) for s in g.strategies for t in g.trajectories(s))
    xq = np.arange(1, n + 1, dtype=float)
    xt = agg.time_grid(g, time_points)
    use_regret = y == "regret" and np.isfinite(g.optimum)
    ylab = plots.metric_label(g.report_metric)
    ylab = f"regret of {ylab}" if use_regret else f"best {ylab}"
    common = g.common_seeds()
    curves_q, curves_t, ranks_q, ranks_t, finals = {}, {}, {}, {}, {}
    for s in g.strategies:
        trajs = g.trajectories(s)
        mq, mt = agg.query_matrix(trajs, n), agg.time_matrix(trajs, xt)
        curves_q[s] = agg.mean_se(g.regret(mq) if use_regret else mq)
        curves_t[s] = agg.mean_se(g.regret(mt) if use_regret else mt)
        finals[s] = np.array([t.final_report for t in trajs])
        paired = [g.runs[s][seed] for seed in common]
        ranks_q[s] = agg.query_matrix(paired, n)
        ranks_t[s] = agg.time_matrix(paired, xt)
    rq = agg.average_rank(ranks_q, g.higher_is_better) if common else {}
    rt = agg.average_rank(ranks_t, g.higher_is_better) if common else {}
    files: dict = {}
    for column in columns:
        cs = "" if len(columns) == 1 else ("_1col" if column == "one" else "_2col")
        base = lambda name: os.path.join(out_dir, f"{name}{suffix}{cs}")  # noqa: E731
        figs = [
            ("curve_queries", plots.plot_curves(xq, curves_q, styles, "queries (finished evaluations)", ylab, column,
                                                log_x, log_y)),
            ("curve_time", plots.plot_curves(xt, curves_t, styles, "simulated time (s)", ylab, column,
                                             log_x, log_y)),
            ("final", plots.plot_distribution(finals, styles, f"final {plots.metric_label(g.report_metric)}",
                                              column, final_plot)),
        ]
        if rq:
            figs += [("rank_queries", plots.plot_ranks(xq, rq, styles, "queries (finished evaluations)", column,
                                                       log_x)),
                     ("rank_time", plots.plot_ranks(xt, rt, styles, "simulated time (s)", column, log_x))]
        for name, fig in figs:
            files.setdefault(name, []).extend(plots.save(fig, base(name), column, dpi))
    return files


def make_report(results_path, out_dir=None, budgets=None, strategies=None, y: str = "regret",
                log_x: bool = False, y_scale: str = "auto", column: str = "one", final_plot: str = "box",
                dpi: int = 200, decimals: int = 2, time_points: int = 200) -> dict:
    """Reads a results file and, with ``out_dir``, writes the figures (PDF and
    PNG), ``table.md``, ``table.tex``, ``numbers.json`` and ``report.md``.
    Returns ``{"numbers": ..., "files": [...]}``; ``numbers`` is what
    ``--format json`` prints."""
    from ..runner.results import load_results

    results = load_results(results_path)
    if not results.runs:
        raise ValueError(f"{results_path}: holds no runs yet; run `nasbench-suite compare` first")
    gs = agg.groups(results, strategies)
    points = agg.parse_budgets(budgets) if isinstance(budgets, str) else budgets
    numbers = {"results": os.path.abspath(results_path), "runs": len(results.runs), "groups": []}
    for g in gs:
        numbers["groups"].append(agg.table_numbers(g, points or agg.default_budgets(g.budget)))
    files: list = []
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        columns = ["one", "two"] if column == "both" else [column]
        styles = strategy_styles(list(dict.fromkeys(s for g in gs for s in g.strategies)))
        figures = []
        for g in gs:
            suffix = "" if len(gs) == 1 else f"-{g.benchmark}"
            log_y = y_scale == "log" or (y_scale == "auto" and y == "regret")
            figures.append(_group_figures(g, out_dir, suffix, styles, y, log_x, log_y, columns, final_plot, dpi,
                                          time_points))
            files += [f for paths in figures[-1].values() for f in paths]
        md = "\n".join(f"**{num['benchmark']} / {num['dataset']}.** {tables.caption(num)}\n\n"
                       + tables.markdown(num, decimals) for num in numbers["groups"])
        tex = "\n".join(tables.latex(num, decimals, label=f"tab:{num['benchmark']}") for num in numbers["groups"])
        outputs = {"table.md": md, "table.tex": tex, "numbers.json": json.dumps(numbers, indent=2) + "\n",
                   "report.md": _overview(results, gs, numbers, figures, decimals, y)}
        for name, text in outputs.items():
            path = os.path.join(out_dir, name)
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
            files.append(path)
    return {"numbers": numbers, "files": files}


def _overview(results, gs, numbers, figures, decimals, y) -> str:
    """report.md: the table, the figures (PNG) and the configuration behind them."""
    cfg = results.config
    curve = "Regret" if y == "regret" else "Best report metric"
    lines = [f"# Strategy comparison: {', '.join(f'{g.benchmark} / {g.dataset}' for g in gs)}", ""]
    titles = {"curve_queries": f"{curve} against queries (mean ± s.e.)",
              "curve_time": f"{curve} against simulated time (mean ± s.e.)",
              "final": "Final report metric per seed", "rank_queries": "Average rank against queries",
              "rank_time": "Average rank against simulated time"}
    for g, num, figs in zip(gs, numbers["groups"], figures):
        lines += [f"## {g.benchmark} / {g.dataset}", "", tables.caption(num), "", tables.markdown(num, decimals)]
        for name, title in titles.items():
            png = next((p for p in figs.get(name, []) if p.endswith(".png")), None)
            if png:
                lines += [f"**{title}**", "", f"![{title}]({os.path.basename(png)})", ""]
    exp = cfg.get("experiment", {})
    lines += ["## Configuration", "",
              f"- results file: `{os.path.basename(results.path)}`, {len(results.runs)} runs, "
              f"budget {exp.get('budget')}, simulated workers per run {exp.get('async_workers')}",
              f"- seeds: {len(cfg.get('seeds', []))} ({_seed_text(cfg.get('seeds', []))})"]
    for label, b in cfg.get("benchmarks", {}).items():
        prov = b.get("provenance", {})
        src = prov.get("recipe") or prov.get("importer") or prov.get("converter") or ""
        lines.append(f"- benchmark `{label}`: `{os.path.basename(b['path'])}` sha256 `{b['sha256']}`"
                     + (f" ({src})" if src else "") + f"; dataset {b['dataset']}, search {b['search_metric']}, "
                     f"report {b['report_metric']} (table best {b['report_optimum']:.4g})")
    strategies = cfg.get("strategies", {})
    for label in [x for x in cfg.get("strategy_order", []) if x in strategies] or list(strategies):
        s = strategies[label]
        hp = ", ".join(f"{k}={v}" for k, v in sorted(s.get("hyperparameters", {}).items())) or "defaults"
        lines.append(f"- strategy `{label}`: {s['name']} ({hp})")
    for h in results.history:
        cmd = " ".join(h.get("command") or []) or "(API)"
        ver = h.get("versions", {})
        wall = h.get("wall_seconds")
        lines.append(f"- run {h.get('started', '?')}: `{cmd}` on {h.get('executor', '?')}, "
                     f"{h.get('new_runs', '?')} new runs in {wall if wall is not None else '?'} s; "
                     f"nasbench-suite {ver.get('nasbench-suite', '?')}, numpy {ver.get('numpy', '?')}, "
                     f"Python {ver.get('python', '?')}")
    return "\n".join(lines) + "\n"


def _seed_text(seeds) -> str:
    if not seeds:
        return "none"
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(map(str, seeds))


# ------------------------------------------------------------------ command line

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
page. With several benchmarks in the file, file names get -BENCHMARK.

Regret is the table's best report value minus the incumbent's.
"""

_EPILOG = """\
examples:
  nasbench-suite report results.h5 -o report/
  nasbench-suite report results.h5 -o report/ --budgets 50,100,150 --log-x --column two
  nasbench-suite report results.h5 --budgets 12h,24h --format json
"""


def add_report_parser(subparsers):
    """Adds the ``report`` command; its handler is stored as ``run``."""
    import argparse

    p = subparsers.add_parser("report", help="figures (PDF/PNG) and tables (Markdown/LaTeX) from a results file",
                              description=_DESCRIPTION, epilog=_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument("--dpi", type=int, default=200, help="PNG resolution (default 200)")
    p.add_argument("--decimals", type=int, default=2, help="decimals in the tables (default 2)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="stdout: the Markdown table and the files written (text), or the numbers (json)")
    p.set_defaults(run=_cmd_report)
    return p


def _cmd_report(args) -> int:
    from ..cli import UsageError
    from ..runner.results import ResultsError

    if args.output is None and args.format != "json":
        raise UsageError("where to? pass -o DIR (or --format json to print the numbers only)")
    if args.output is not None and os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"{args.output}: exists and is not a directory")
    if args.dpi < 10 or args.decimals < 0:
        raise UsageError("--dpi must be at least 10 and --decimals at least 0")
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()] if args.strategies else None
    try:
        out = make_report(args.results, args.output, budgets=args.budgets, strategies=strategies, y=args.y,
                          log_x=args.log_x, y_scale=args.y_scale, column=args.column, final_plot=args.final_plot,
                          dpi=args.dpi, decimals=args.decimals)
    except (ResultsError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if args.format == "json":
        json.dump(out["numbers"], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for num in out["numbers"]["groups"]:
        print(f"{num['benchmark']} / {num['dataset']}: {tables.caption(num)}\n")
        print(tables.markdown(num, args.decimals))
    for f in out["files"]:
        print(f)
    return 0
