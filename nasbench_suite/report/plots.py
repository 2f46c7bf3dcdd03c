"""Paper figures (matplotlib, Agg backend): mean with a standard-error band
against queries and simulated time, final-performance distributions and
average ranks. Every figure is written as vector PDF and as PNG."""
from __future__ import annotations

import os

import numpy as np

from .style import HEIGHTS, WIDTHS, rc_params


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def metric_label(spec: str) -> str:
    """``test_acc@200`` -> ``test_acc@200 (%)`` using the format spec's units."""
    from ..tables._schema import units_of

    units = {"percent": "%", "seconds": "s", "nats": "nats"}.get(units_of(spec.split("@")[0]), "")
    return f"{spec} ({units})" if units else spec


def new_figure(column: str, height_scale: float = 1.0):
    plt = _pyplot()
    with plt.rc_context(rc_params(column)):
        fig, ax = plt.subplots(figsize=(WIDTHS[column], HEIGHTS[column] * height_scale))
        ax.grid(True, which="major")
    return fig, ax


def save(fig, base: str, column: str, dpi: int = 200) -> list[str]:
    """Writes ``base.pdf`` and ``base.png``; returns their paths. Files carry
    no creation date, so the same numbers give the same bytes."""
    plt = _pyplot()
    paths = [base + ".pdf", base + ".png"]
    with plt.rc_context(rc_params(column)):
        fig.savefig(paths[0], metadata={"CreationDate": None, "Producer": None})
        fig.savefig(paths[1], dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return paths


def _legend(ax, n: int, column: str) -> None:
    """Above the axes, in rows: the curves keep the whole plot."""
    longest = max((len(label) for label in ax.get_legend_handles_labels()[1]), default=0)
    width = {"one": 58, "two": 125}[column]  # characters a row holds at the figure's type size
    ncol = max(1, min(n, width // (longest + 6)))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.02), ncol=ncol, handlelength=1.8,
              borderaxespad=0.0, columnspacing=1.0)


def _marker_indices(x: np.ndarray, k: int, n_series: int, log: bool, marks: int = 7) -> list:
    """Indices of about ``marks`` points evenly spaced along the x axis (in its
    scale), shifted per series so that markers of different strategies do not
    sit on top of each other."""
    if x.size == 0:
        return []
    pos = np.log(x) if log and np.all(x > 0) else x.astype(float)
    lo, hi = pos[0], pos[-1]
    if hi <= lo:
        return [0]
    step = (hi - lo) / marks
    targets = lo + step * (np.arange(marks) + (k + 0.5) / max(n_series, 1))
    return sorted(set(int(i) for i in np.clip(np.searchsorted(pos, targets), 0, x.size - 1)))


def plot_curves(x: np.ndarray, curves: dict, styles: dict, xlabel: str, ylabel: str, column: str,
                log_x: bool = False, log_y: bool = False):
    """``curves[strategy] = (mean, se)`` over ``x``: a line with markers and a
    shaded mean +- s.e. band per strategy."""
    plt = _pyplot()
    with plt.rc_context(rc_params(column)):
        fig, ax = new_figure(column)
        for k, (label, (mean, se)) in enumerate(curves.items()):
            st = styles[label]
            ok = np.isfinite(mean)
            if not ok.any():
                continue
            ax.plot(x[ok], mean[ok], color=st["color"], marker=st["marker"], label=label,
                    markevery=_marker_indices(x[ok], k, len(curves), log_x))
            lo, hi = mean - se, mean + se
            if log_y:
                lo = np.where(lo > 0, lo, np.nan)
            ax.fill_between(x[ok], lo[ok], hi[ok], color=st["color"], alpha=0.18, linewidth=0)
        if log_x:
            ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.margins(x=0.01)
        _legend(ax, len(curves), column)
    return fig


def plot_distribution(values: dict, styles: dict, ylabel: str, column: str, kind: str = "box"):
    """``values[strategy]``: the final report value of each seed, as boxes
    (median, quartiles, 1.5 IQR whiskers, outliers) or violins, with the mean
    as the strategy's marker."""
    plt = _pyplot()
    labels = list(values)
    data = [np.asarray(values[s], dtype=float)[np.isfinite(values[s])] for s in labels]
    pos = np.arange(1, len(labels) + 1)
    with plt.rc_context(rc_params(column)):
        fig, ax = new_figure(column)
        if kind == "violin":
            parts = ax.violinplot(data, positions=pos, showmedians=True, showextrema=False, widths=0.8)
            for body, s in zip(parts["bodies"], labels):
                body.set_facecolor(styles[s]["color"])
                body.set_edgecolor(styles[s]["color"])
                body.set_alpha(0.45)
            parts["cmedians"].set_color("black")
        else:
            bp = ax.boxplot(data, positions=pos, widths=0.6, patch_artist=True,
                            medianprops={"color": "black", "linewidth": 0.9},
                            flierprops={"marker": ".", "markersize": 2.5, "alpha": 0.6})
            for box, s in zip(bp["boxes"], labels):
                box.set_facecolor(styles[s]["color"])
                box.set_alpha(0.55)
        for p, s, d in zip(pos, labels, data):
            if d.size:
                ax.plot([p], [d.mean()], marker=styles[s]["marker"], color="white",
                        markeredgecolor="black", markeredgewidth=0.6, linestyle="none", zorder=5)
        ax.set_xticks(pos)
        ax.set_xticklabels(labels, rotation=25, ha="right")
        ax.set_ylabel(ylabel)
        ax.grid(False, axis="x")
    return fig


def plot_ranks(x: np.ndarray, ranks: dict, styles: dict, xlabel: str, column: str, log_x: bool = False):
    plt = _pyplot()
    with plt.rc_context(rc_params(column)):
        fig, ax = new_figure(column)
        for k, (label, r) in enumerate(ranks.items()):
            st = styles[label]
            ax.plot(x, r, color=st["color"], marker=st["marker"], label=label,
                    markevery=_marker_indices(x, k, len(ranks), log_x))
        if log_x:
            ax.set_xscale("log")
        ax.set_ylim(0.8, len(ranks) + 0.2)
        ax.invert_yaxis()  # rank 1 on top
        ax.set_xlabel(xlabel)
        ax.set_ylabel("average rank (1 = best)")
        ax.margins(x=0.01)
        _legend(ax, len(ranks), column)
    return fig


def figure_path(out_dir: str, name: str, suffix: str) -> str:
    return os.path.join(out_dir, f"{name}{suffix}")
