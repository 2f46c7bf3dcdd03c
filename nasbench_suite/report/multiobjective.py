"""Multi-objective reports: hypervolume against queries and the Pareto fronts
reached, set against the table's true front.

For runs of :func:`nasbench_suite.runner.multiobjective.run_mo_search`
stored by a grid with ``objectives`` (its benchmarks carry their true front,
``pareto_front`` in the configuration):

- the **reference point** of every hypervolume is the table's nadir: the
  worst value of each objective over every row of the table (e.g. the lowest
  accuracy and the highest latency), so every cell of the table counts;
- a run's hypervolume after ``q`` queries is that of the seed means of the
  objectives of the cells queried so far (not the noisy repeats the strategy
  saw), as a percentage of the true front's;
- the front drawn per strategy is that of its **median seed** (by final
  hypervolume; the lower median for an even count), not a pool of seeds.
"""
from __future__ import annotations

import json
import os
from urllib.parse import quote

import numpy as np

from .. import pareto
from . import aggregate as agg
from . import plots
from .tables import md_escape

__all__ = ["hypervolume_curve", "mo_groups", "mo_numbers", "write_mo_report"]


def hypervolume_curve(points: np.ndarray, ref, maximize) -> np.ndarray:
    """Hypervolume of the first ``q`` rows of ``points`` for q = 1..n (float64, n values)."""
    p = np.asarray(points, dtype=np.float64)
    return np.array([pareto.hypervolume(p[:q], ref, maximize) for q in range(1, p.shape[0] + 1)])


def mo_groups(results) -> list:
    """The groups (:func:`aggregate.groups`) whose runs are multi-objective and
    whose benchmark configuration holds the true front."""
    out = []
    for g in agg.groups(results):
        front = g.info.get("pareto_front")
        if front and all("objectives" in t.meta for s in g.strategies for t in g.trajectories(s)):
            out.append(g)
    return out


def _run_matrix(traj) -> np.ndarray:
    from ..runner.multiobjective import objective_matrix

    return objective_matrix(traj)


def mo_numbers(g) -> dict:
    """Per strategy: the hypervolume curve of every seed (% of the true front's),
    the final one's mean, s.e. and median, how many true-front points the runs
    found, and the median seed's front; with the group's true front and
    reference point."""
    front = g.info["pareto_front"]
    maximize, ref = front["maximize"], np.asarray(front["nadir"], dtype=np.float64)
    true_pts = np.asarray(front["points"], dtype=np.float64)
    true_hv = pareto.hypervolume(true_pts, ref, maximize)
    true_set = {tuple(x) for x in true_pts.tolist()}
    n = max(len(t) for s in g.strategies for t in g.trajectories(s))
    out = {"benchmark": g.benchmark, "dataset": g.dataset, "objectives": front["objectives"], "maximize": maximize,
           "reference_point": ref.tolist(), "true_front": true_pts.tolist(), "true_hypervolume": true_hv,
           "queries": n, "strategies": {}}
    for s in g.strategies:
        curves, found, fronts = [], [], []
        for t in g.trajectories(s):
            m = _run_matrix(t)
            c = hypervolume_curve(m, ref, maximize) / true_hv * 100.0
            curves.append(np.concatenate((c, np.full(n - c.size, c[-1] if c.size else np.nan))))
            found.append(len({tuple(x) for x in m.tolist()} & true_set))
            fronts.append(m[pareto.pareto_mask(m, maximize)])
        curves = np.asarray(curves)
        final = curves[:, -1]
        med = int(np.argsort(final, kind="stable")[(final.size - 1) // 2])
        mean, se = agg.mean_se(curves)
        out["strategies"][s] = {
            "seeds": g.seeds(s), "hv_percent_final": final.tolist(), "hv_percent_mean": float(final.mean()),
            "hv_percent_se": float(final.std(ddof=1) / np.sqrt(final.size)) if final.size > 1 else float("nan"),
            "hv_percent_median": float(np.median(final)), "true_front_points_found_mean": float(np.mean(found)),
            "curve_mean": mean.tolist(), "curve_se": se.tolist(), "median_seed": g.seeds(s)[med],
            "median_seed_front": np.unique(fronts[med], axis=0).tolist()}
    return out


def _fmt_ref(num: dict) -> str:
    return ", ".join(f"{name} = {v:.6g}" for name, v in zip(num["objectives"], num["reference_point"]))


def caption(num: dict) -> str:
    """The words under a multi-objective table or figure: what is measured, the reference point."""
    dirs = ", ".join(f"{o} ({'max' if m else 'min'})" for o, m in zip(num["objectives"], num["maximize"]))
    return (f"Objectives: {dirs}. Hypervolume of the seed means of the cells queried, as % of the table's true "
            f"Pareto front ({len(num['true_front'])} points, hypervolume {num['true_hypervolume']:.6g}); "
            f"reference point: the table's worst value of each objective ({_fmt_ref(num)}).")


def markdown_table(num: dict, decimals: int = 2) -> str:
    """One row per strategy: runs, final hypervolume % (mean ± s.e., median), true-front points found."""
    lines = [f"| strategy | runs | HV % of true front after {num['queries']} queries (mean ± s.e.) | median | "
             "true-front points found (mean) |", "|---|---:|---:|---:|---:|"]
    for s, d in num["strategies"].items():
        lines.append(f"| {md_escape(s)} | {len(d['seeds'])} | {d['hv_percent_mean']:.{decimals}f} ± "
                     f"{d['hv_percent_se']:.{decimals}f} | {d['hv_percent_median']:.{decimals}f} | "
                     f"{d['true_front_points_found_mean']:.1f} |")
    return "\n".join(lines) + "\n"


def _plot_hv(num: dict, styles: dict, column: str):
    x = np.arange(1, num["queries"] + 1, dtype=float)
    curves = {s: (np.asarray(d["curve_mean"]), np.asarray(d["curve_se"])) for s, d in num["strategies"].items()}
    return plots.plot_curves(x, curves, styles, "queries (finished evaluations)", "hypervolume (% of true front)",
                             column)


def _axis_label(spec: str) -> str:
    """``latency_pixel3`` -> ``latency_pixel3 (ms)``: the format's units, as plots.metric_label, and ms."""
    from ..tables._schema import units_of

    units = {"milliseconds": "ms"}.get(units_of(spec.split("@")[0]))
    return f"{spec} ({units})" if units else plots.metric_label(spec)


def _outlying_tail(y: np.ndarray, maximize: bool) -> int:
    """How many of the worst y values of a front sit beyond a gap wider than half
    the front's span (NB201's chance-level cells: one point at 10 % accuracy
    squashes every other into the top of the axis). 0: none."""
    v = np.sort(y if maximize else -y)
    if v.size < 3:
        return 0
    gaps = np.diff(v)
    i = int(np.argmax(gaps))
    return i + 1 if gaps[i] > 0.5 * (v[-1] - v[0]) else 0


def _plot_fronts(num: dict, styles: dict, column: str):
    """Objective 2 on x, objective 1 on y: the true front (black) and each
    strategy's median-seed front, as attainment staircases. Where the worst
    points of the true front sit far from the rest (a gap over half its span),
    the y axis leaves them out and says so in a note on the axes."""
    plt = plots._pyplot()
    from .style import rc_params

    def stair(pts):
        pts = np.asarray(pts, dtype=float)
        pts = pts[np.argsort(pts[:, 1], kind="stable")]
        return pts[:, 1], pts[:, 0]

    with plt.rc_context(rc_params(column)):
        fig, ax = plots.new_figure(column, 1.25)
        # between two front points (x ascending) the attained value is the left one's
        # when x is minimised, the right one's when x is maximised
        where = "pre" if num["maximize"][1] else "post"
        x, y = stair(num["true_front"])
        ax.step(x, y, where=where, color="black", linewidth=1.0, label="true front (table)")
        ax.plot(x, y, linestyle="none", marker=".", color="black", markersize=3)
        for s, d in num["strategies"].items():
            if not d["median_seed_front"]:
                continue
            x, y = stair(d["median_seed_front"])
            st = styles[s]
            ax.step(x, y, where=where, color=st["color"], alpha=0.9, label=f"{s} (seed {d['median_seed']})")
            ax.plot(x, y, linestyle="none", marker=st["marker"], color=st["color"])
        ax.set_xlabel(_axis_label(num["objectives"][1]))
        ax.set_ylabel(_axis_label(num["objectives"][0]))
        true_y = np.asarray(num["true_front"], dtype=float)[:, 0]
        cut = _outlying_tail(true_y, num["maximize"][0])
        if cut:
            kept = np.sort(true_y)[cut:] if num["maximize"][0] else np.sort(true_y)[::-1][cut:]
            lo, hi = kept.min(), kept.max()
            pad = 0.08 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)
            worst = np.sort(true_y)[:cut] if num["maximize"][0] else np.sort(true_y)[::-1][:cut]
            where = "below" if num["maximize"][0] else "above"
            values = ", ".join(dict.fromkeys(f"{v:.3g}" for v in worst))
            ax.text(0.98, 0.02, f"{cut} true-front point{'s' if cut > 1 else ''} {where} the axis\n"
                    f"(at {values}), not shown", transform=ax.transAxes, ha="right", va="bottom",
                    fontsize="small")
        plots._legend(ax, len(num["strategies"]) + 1, column)
    return fig


def write_mo_report(results, out_dir: str, styles: dict, columns=("one",), dpi: int = 200,
                    decimals: int = 2) -> tuple[str, list, list]:
    """Writes ``mo_hv_queries*`` and ``mo_fronts*`` (PDF, PNG), ``mo_table.md``
    and ``mo_numbers.json`` for the multi-objective groups of ``results``;
    returns (the report.md section, the files written, the groups' numbers).
    Nothing is written when no group is multi-objective."""
    gs = mo_groups(results)
    if not gs:
        return "", [], []
    files, nums, lines, tables = [], [], ["## Multi-objective search", "",
                                          "Fronts drawn: each strategy's median seed by final hypervolume "
                                          "(not pooled over seeds); hypervolume curves: mean ± s.e. over seeds.",
                                          ""], []
    for g in gs:
        num = mo_numbers(g)
        nums.append(num)
        suffix = "" if len(gs) == 1 else f"-{g.benchmark}"
        figs: dict = {}
        for column in columns:
            cs = "" if len(columns) == 1 else ("_1col" if column == "one" else "_2col")
            if len(num["objectives"]) == 2:
                figs.setdefault("fronts", []).extend(
                    plots.save(_plot_fronts(num, styles, column), os.path.join(out_dir, f"mo_fronts{suffix}{cs}"),
                               column, dpi))
            figs.setdefault("hv", []).extend(
                plots.save(_plot_hv(num, styles, column), os.path.join(out_dir, f"mo_hv_queries{suffix}{cs}"),
                           column, dpi))
        files += [p for paths in figs.values() for p in paths]
        cap = md_escape(caption(num))
        table = markdown_table(num, decimals)
        tables.append(f"**{md_escape(g.benchmark)} / {md_escape(g.dataset)}.** {cap}\n\n{table}")
        lines += [f"### {md_escape(g.benchmark)} / {md_escape(g.dataset)}", "", cap, "", table]
        for name, title in (("hv", "Hypervolume against queries (% of the true front's, mean ± s.e.)"),
                            ("fronts", "Pareto fronts reached (median seed per strategy) and the true front")):
            png = next((p for p in figs.get(name, []) if p.endswith(".png")), None)
            if png:
                lines += [f"**{title}**", "", f"![{title}]({quote(os.path.basename(png))})", "",
                          f"*Reference point: {md_escape(_fmt_ref(num))}.*", ""]
    for name, text in (("mo_table.md", "\n".join(tables)), ("mo_numbers.json", json.dumps(nums, indent=2) + "\n")):
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        files.append(path)
    return "\n".join(lines) + "\n", files, nums
