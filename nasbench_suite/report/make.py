"""Figures and tables from a results file: :func:`make_report` (what
``nasbench-suite report`` runs)."""
from __future__ import annotations

import json
import os
from urllib.parse import quote

import numpy as np

from . import aggregate as agg
from . import plots, tables
from .multiobjective import write_mo_report
from .style import strategy_styles
from .tables import md_code, md_escape

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
                dpi: int = 200, decimals: int = 2, time_points: int = 200, split: bool = False) -> dict:
    """Reads a results file and, with ``out_dir``, writes the figures (PDF and
    PNG), ``table.md``, ``table.tex``, ``numbers.json`` and ``report.md``;
    with ``split`` and several benchmarks, one such set per benchmark in a
    sub-directory named after its label (:func:`split_dir_name`). With several
    benchmarks, ``numbers["summary"]`` holds the average ranks, the Friedman
    test and the critical difference (:mod:`.summary`), and ``out_dir`` gets
    ``summary.md``, ``summary.json`` and ``cd_diagram.pdf``/``.png``.
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
        if points:
            agg.check_budgets(g, points)
        numbers["groups"].append(agg.table_numbers(g, points or agg.default_budgets(g.budget)))
        numbers["groups"][-1]["cost_model"] = cost_model_text(g)
        numbers["groups"][-1]["one_shot"] = oneshot_strategies(g)
    if len(gs) > 1:
        from . import summary as sm

        numbers["summary"] = sm.summarize(gs)
    files: list = []
    if out_dir is not None:
        styles = strategy_styles(list(dict.fromkeys(s for g in gs for s in g.strategies)))
        args = (styles, y, log_x, y_scale, column, final_plot, dpi, decimals, time_points)
        if split and len(gs) > 1:
            for g, num in zip(gs, numbers["groups"]):
                sub = os.path.join(out_dir, split_dir_name(g.benchmark))
                one = {k: v for k, v in numbers.items() if k != "summary"}
                files += _write_group_files(results, [g], {**one, "groups": [num]}, sub, *args)
            # multi-objective runs of every benchmark: one set beside the summary (report/multiobjective.py)
            columns = ["one", "two"] if column == "both" else [column]
            files += write_mo_report(results, out_dir, styles, columns, dpi, decimals)[1]
        else:
            files += _write_group_files(results, gs, numbers, out_dir, *args, with_mo=True)
        if "summary" in numbers:
            files += _write_summary(numbers["summary"], out_dir, styles, dpi, decimals, split, gs)
    return {"numbers": numbers, "files": files}


def split_dir_name(label: str) -> str:
    """The sub-directory of a benchmark's files in a split report: its label
    with every character but letters, digits, '.', '_' and '-' as '_'."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", label).lstrip(".") or "_"


def _write_summary(summary: dict, out_dir: str, styles: dict, dpi: int, decimals: int, split: bool,
                   gs: list) -> list:
    """summary.md, summary.json and (with 2+ strategies) the CD diagram."""
    from . import summary as sm

    files = []
    lines = ["# Summary over benchmarks", "",
             f"{len(summary['blocks'])} benchmark/datasets, {len(summary['strategies'])} strategies. "
             "Each strategy is scored per benchmark/dataset by its mean final regret over seeds and ranked "
             "there (1 = best, ties share the average rank); the statistics follow Demšar, 'Statistical "
             "Comparisons of Classifiers over Multiple Data Sets', JMLR 7 (2006).", "",
             sm.summary_markdown(summary, max(3, decimals))]
    if summary.get("critical_difference") is not None:
        base = os.path.join(out_dir, "cd_diagram")
        paths = sm.cd_diagram(summary["average_ranks"], summary["critical_difference"], base, styles, dpi)
        files += paths
        lines += [f"**Critical-difference diagram** (Nemenyi, alpha = {summary['alpha']:g}): average ranks, "
                  "1 = best; strategies joined by a thick line are not significantly different.", "",
                  f"![critical-difference diagram]({quote(os.path.basename(paths[1]))})", ""]
    if split:
        lines += ["## Per benchmark/dataset", ""]
        lines += [f"- [{md_escape(sm.block_name(g.benchmark, g.dataset))}]"
                  f"({quote(split_dir_name(g.benchmark))}/report.md)" for g in gs]
        lines.append("")
    for name, text in (("summary.md", "\n".join(lines)), ("summary.json", json.dumps(summary, indent=2) + "\n")):
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text.rstrip("\n") + "\n")
        files.append(path)
    return files


def _write_group_files(results, gs, numbers, out_dir, styles, y, log_x, y_scale, column, final_plot, dpi,
                       decimals, time_points, with_mo: bool = False) -> list:
    """The figures, table.md, table.tex, numbers.json and report.md of ``gs`` in ``out_dir``
    (with ``with_mo``, also the multi-objective fronts and hypervolume of ``results``, as a section of
    report.md)."""
    files: list = []
    os.makedirs(out_dir, exist_ok=True)
    columns = ["one", "two"] if column == "both" else [column]
    figures = []
    for g in gs:
        suffix = "" if len(gs) == 1 else f"-{g.benchmark}"
        log_y = y_scale == "log" or (y_scale == "auto" and y == "regret")
        figures.append(_group_figures(g, out_dir, suffix, styles, y, log_x, log_y, columns, final_plot, dpi,
                                      time_points))
        files += [f for paths in figures[-1].values() for f in paths]
    md = "\n".join(f"**{md_escape(num['benchmark'])} / {md_escape(num['dataset'])}.** "
                   f"{md_escape(tables.caption(num))} {md_escape(_time_caption(num['cost_model']))}"
                   f"{md_escape(_oneshot_note(num.get('one_shot', [])))}\n\n"
                   + tables.markdown(num, decimals)
                   for num in numbers["groups"])
    tex = "\n".join(tables.latex(num, decimals, label=label)
                     for num, label in zip(numbers["groups"], _tex_labels(numbers["groups"])))
    mo_section = ""
    if with_mo:  # multi-objective runs: fronts and hypervolume (report/multiobjective.py)
        mo_section, mo_files, _ = write_mo_report(results, out_dir, styles, columns, dpi, decimals)
        files += mo_files
    outputs = {"table.md": md, "table.tex": tex, "numbers.json": json.dumps(numbers, indent=2) + "\n",
               "report.md": _overview(results, gs, numbers, figures, decimals, y, mo_section)}
    for name, text in outputs.items():
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        files.append(path)
    return files


def cost_model_text(g: agg.Group) -> str:
    """The cost model behind a group's time axis, in words
    (:attr:`Trajectory.cost_model` of its runs; several joined by "; " when
    runs differ, "cost model not recorded" for runs stored before it was)."""
    return "; ".join(sorted({t.cost_model for s in g.strategies for t in g.trajectories(s)}))


def oneshot_strategies(g: agg.Group) -> list:
    """The group's strategies whose runs are one-shot searches (``meta["one_shot"]``,
    nasbench_suite.oneshot): their rows are supernet epochs, their time measured seconds."""
    return [s for s in g.strategies if any(t.meta.get("one_shot") for t in g.trajectories(s))]


def _oneshot_note(names: list) -> str:
    if not names:
        return ""
    return (f" One-shot methods: {', '.join(names)} (a supernet search: each of their 'queries' is a supernet "
            "epoch and its derived cell, their time is measured seconds of the search, not a table's cost; the "
            "grid's budget does not limit them).")


def _time_caption(cost: str) -> str:
    return f"Time axis: {cost}."


def _overview(results, gs, numbers, figures, decimals, y, mo_section: str = "") -> str:
    """report.md: the table, the figures (PNG) and the configuration behind them."""
    cfg = results.config
    curve = "Regret" if y == "regret" else "Best report metric"
    lines = [f"# Strategy comparison: {', '.join(f'{md_escape(g.benchmark)} / {md_escape(g.dataset)}' for g in gs)}",
             ""]
    titles = {"curve_queries": f"{curve} against queries (mean ± s.e.)",
              "curve_time": f"{curve} against simulated time (mean ± s.e.)",
              "final": "Final report metric per seed", "rank_queries": "Average rank against queries",
              "rank_time": "Average rank against simulated time"}
    for g, num, figs in zip(gs, numbers["groups"], figures):
        time_caption = md_escape(_time_caption(num["cost_model"]))
        lines += [f"## {md_escape(g.benchmark)} / {md_escape(g.dataset)}", "",
                  f"{md_escape(tables.caption(num))} {time_caption}{md_escape(_oneshot_note(num['one_shot']))}",
                  "", tables.markdown(num, decimals)]
        for name, title in titles.items():
            png = next((p for p in figs.get(name, []) if p.endswith(".png")), None)
            if png:
                lines += [f"**{title}**", "", f"![{title}]({quote(os.path.basename(png))})", ""]
                if name.endswith("_time"):  # every time plot says what its seconds are
                    lines += [f"*{time_caption}*", ""]
    if mo_section:
        lines += [mo_section]
    exp = cfg.get("experiment", {})
    lines += ["## Configuration", "",
              f"- results file: {md_code(os.path.basename(results.path))}, {len(results.runs)} runs, "
              f"budget {md_escape(exp.get('budget'))}, simulated workers per run "
              f"{md_escape(exp.get('async_workers'))}",
              f"- seeds: {len(cfg.get('seeds', []))} ({_seed_text(cfg.get('seeds', []))})"]
    for label, b in cfg.get("benchmarks", {}).items():
        prov = b.get("provenance", {})
        src = prov.get("recipe") or prov.get("importer") or prov.get("converter") or ""
        lines.append(f"- benchmark {md_code(label)}: {md_code(os.path.basename(b['path']))} sha256 "
                     f"{md_code(b['sha256'])}" + (f" ({md_escape(src)})" if src else "")
                     + f"; dataset {md_escape(b['dataset'])}, search {md_escape(b['search_metric'])}, "
                     f"report {md_escape(b['report_metric'])} (table best {b['report_optimum']:.4g})")
    strategies = cfg.get("strategies", {})
    for label in [x for x in cfg.get("strategy_order", []) if x in strategies] or list(strategies):
        s = strategies[label]
        hp = ", ".join(f"{k}={v}" for k, v in sorted(s.get("hyperparameters", {}).items())) or "defaults"
        lines.append(f"- strategy {md_code(label)}: {md_escape(s['name'])} ({md_escape(hp)})")
    for h in results.history:
        cmd = " ".join(h.get("command") or []) or "(API)"
        ver = h.get("versions", {})
        wall = h.get("wall_seconds")
        lines.append(f"- run {md_escape(h.get('started', '?'))}: {md_code(cmd)} on {md_escape(h.get('executor', '?'))}, "
                     f"{h.get('new_runs', '?')} new runs in {wall if wall is not None else '?'} s; "
                     f"nasbench-suite {ver.get('nasbench-suite', '?')}, numpy {ver.get('numpy', '?')}, "
                     f"Python {ver.get('python', '?')}")
    return "\n".join(lines) + "\n"


def _tex_labels(groups: list) -> list:
    """``tab:<benchmark>`` per group as a valid ``\\label`` key, distinct even
    where two labels differ only in characters a key cannot hold."""
    out: list = []
    for num in groups:
        key = tables.tex_label(f"tab:{num['benchmark']}")
        base, i = key, 2
        while key in out:
            key, i = f"{base}-{i}", i + 1
        out.append(key)
    return out


def _seed_text(seeds) -> str:
    if not seeds:
        return "none"
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(map(str, seeds))
