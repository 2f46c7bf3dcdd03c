"""Strategies compared over many benchmarks: average ranks, the Friedman test
and the Nemenyi critical difference (Demšar, "Statistical Comparisons of
Classifiers over Multiple Data Sets", JMLR 7:1-30, 2006).

Each benchmark/dataset (a *block*, Demšar's "data set") scores each strategy
by its **mean final regret** over seeds (lower is better). Within a block the
strategies are ranked 1..k (ties share the average of their ranks); a
strategy's average rank ``R_j`` is the mean over the ``N`` blocks.

- Friedman's statistic (Demšar eq. 1)
  ``chi2_F = 12 N / (k (k+1)) * (sum_j R_j**2 - k (k+1)**2 / 4)``,
  chi-square with ``k - 1`` degrees of freedom. Tied ranks inside a block are
  corrected for as :func:`scipy.stats.friedmanchisquare` does: ``chi2_F`` is
  divided by ``1 - sum(t**3 - t) / (N k (k**2 - 1))`` over the tie groups
  ``t`` (no ties: a divisor of 1, Demšar's formula exactly).
- Iman and Davenport's ``F_F = (N-1) chi2_F / (N (k-1) - chi2_F)`` (Demšar
  eq. 2), F-distributed with ``k-1`` and ``(k-1)(N-1)`` degrees of freedom;
  Demšar recommends it over ``chi2_F``, which is conservative.
- The Nemenyi critical difference ``CD = q_alpha sqrt(k (k+1) / (6 N))``
  (Demšar eq. 4; ``q_alpha`` from his Table 5(a) for k <= 10, beyond that the
  studentized range quantile / sqrt(2), which is what his table holds): two
  strategies whose average ranks differ by less than CD are not
  significantly different. :func:`cd_diagram` draws it as in his Fig. 1.
"""
from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["NEMENYI_Q", "block_name", "cd_diagram", "critical_difference", "friedman", "friedman_from_ranks",
           "nemenyi_q", "rank_blocks", "summarize", "summary_markdown"]

#: Demšar (2006) Table 5(a): critical values of the two-tailed Nemenyi test
#: (studentized range statistic / sqrt(2)), k = 2..10 classifiers.
NEMENYI_Q = {
    0.05: (1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164),
    0.10: (1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920),
}


def rank_blocks(scores) -> np.ndarray:
    """(N, k) scores, lower is better -> (N, k) ranks 1..k per row; ties get
    the average of the ranks they span. NaN scores rank last (tied)."""
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 1:
        raise ValueError(f"scores must be (blocks, strategies) with at least 2 strategies, got shape {x.shape}")
    out = np.empty_like(x)
    for i, row in enumerate(np.where(np.isnan(x), np.inf, x)):
        order = np.argsort(row, kind="stable")
        ranks = np.empty(row.size)
        j = 0
        while j < row.size:
            e = j
            while e + 1 < row.size and row[order[e + 1]] == row[order[j]]:
                e += 1
            ranks[order[j:e + 1]] = (j + e) / 2 + 1
            j = e + 1
        out[i] = ranks
    return out


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """The Nemenyi test's ``q_alpha`` for ``k`` strategies (Demšar Table 5(a)
    for k <= 10 and alpha 0.05 or 0.10; else the studentized range quantile
    with infinite degrees of freedom, divided by sqrt(2))."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"the Nemenyi test compares at least 2 strategies, got k={k!r}")
    if alpha in NEMENYI_Q and k <= 10:
        return NEMENYI_Q[alpha][k - 2]
    from scipy.stats import studentized_range

    return float(studentized_range.ppf(1 - alpha, int(k), np.inf) / math.sqrt(2))


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks for ``k`` strategies on
    ``n`` blocks (Demšar eq. 4)."""
    if n < 1:
        raise ValueError(f"the critical difference needs at least one block, got n={n!r}")
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n))


def friedman_from_ranks(avg_ranks, n: int, tie_sum: float = 0.0) -> dict:
    """Friedman's chi2_F and Iman-Davenport's F_F from the ``k`` average ranks
    over ``n`` blocks (Demšar eqs. 1-2), with their p-values. ``tie_sum``:
    ``sum(t**3 - t)`` over the tie groups of all blocks (0: no ties)."""
    from scipy.stats import chi2, f

    r = np.asarray(avg_ranks, dtype=np.float64)
    k = r.size
    if k < 2 or n < 1:
        raise ValueError(f"the Friedman test needs at least 2 strategies and 1 block, got k={k}, n={n}")
    stat = 12.0 * n / (k * (k + 1)) * (float(np.sum(r ** 2)) - k * (k + 1) ** 2 / 4.0)
    correction = 1.0 - tie_sum / (n * k * (k * k - 1))
    stat = stat / correction if correction > 0 else float("nan")
    df1, df2 = k - 1, (k - 1) * (n - 1)
    denom = n * (k - 1) - stat
    ff = (n - 1) * stat / denom if denom > 0 and n > 1 else float("nan")
    return {"k": int(k), "n": int(n), "chi2_F": float(stat), "df": df1,
            "p_chi2": float(chi2.sf(stat, df1)) if math.isfinite(stat) else float("nan"),
            "F_F": float(ff), "df_F": [df1, df2],
            "p_F": float(f.sf(ff, df1, df2)) if math.isfinite(ff) else float("nan"),
            "tie_correction": float(correction)}


def friedman(scores) -> dict:
    """Average ranks and the Friedman / Iman-Davenport tests of (N, k) scores
    (lower is better), ties corrected for as scipy does."""
    ranks = rank_blocks(scores)
    tie_sum = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        tie_sum += float(np.sum(counts.astype(float) ** 3 - counts))
    out = friedman_from_ranks(ranks.mean(axis=0), ranks.shape[0], tie_sum)
    out["average_ranks"] = [float(x) for x in ranks.mean(axis=0)]
    return out


def summarize(groups, alpha: float = 0.05) -> dict:
    """The summary over :class:`~nasbench_suite.report.aggregate.Group` s: the
    mean final regret of every strategy per group, its rank there, average
    ranks, the Friedman test and the critical difference. Only strategies
    that ran on every group count."""
    if not groups:
        raise ValueError("a summary needs at least one benchmark")
    strategies = [s for s in groups[0].strategies if all(s in g.runs for g in groups)]
    left_out = sorted({s for g in groups for s in g.strategies} - set(strategies))
    rows, scores = [], []
    for g in groups:
        means = []
        for s in strategies:
            finals = np.array([t.final_report for t in g.trajectories(s)], dtype=np.float64)
            means.append(float(np.nanmean(g.regret(finals))) if np.isfinite(finals).any() else float("nan"))
        scores.append(means)
        rows.append({"benchmark": g.benchmark, "dataset": g.dataset, "report_metric": g.report_metric,
                     "seeds": min(len(g.runs[s]) for s in strategies) if strategies else 0,
                     "mean_final_regret": dict(zip(strategies, means))})
    out = {"strategies": strategies, "left_out": left_out, "alpha": alpha, "blocks": rows}
    if len(strategies) < 2:
        out.update(average_ranks={s: 1.0 for s in strategies}, friedman=None, critical_difference=None)
        return out
    ranks = rank_blocks(scores)
    for row, r in zip(rows, ranks):
        row["rank"] = dict(zip(strategies, (float(x) for x in r)))
    test = friedman(scores)
    out["average_ranks"] = dict(zip(strategies, test.pop("average_ranks")))
    out["friedman"] = test
    out["critical_difference"] = critical_difference(len(strategies), len(rows), alpha)
    return out


def block_name(benchmark: str, dataset: str) -> str:
    """``"label / dataset"``, or the label alone when it ends in ``:dataset``."""
    return benchmark if benchmark.endswith(f":{dataset}") else f"{benchmark} / {dataset}"


def summary_markdown(summary: dict, decimals: int = 3) -> str:
    """The summary as Markdown: mean final regret and rank per benchmark, the
    average ranks, the tests and the critical difference."""
    from .tables import md_escape

    strategies = summary["strategies"]
    lines = ["| benchmark / dataset | " + " | ".join(md_escape(s) for s in strategies) + " |",
             "|---|" + "---:|" * len(strategies)]
    for row in summary["blocks"]:
        cells = []
        for s in strategies:
            v = row["mean_final_regret"][s]
            r = row.get("rank", {}).get(s)
            cells.append(f"{v:.{decimals}g}" + (f" ({r:g})" if r is not None else ""))
        lines.append(f"| {md_escape(block_name(row['benchmark'], row['dataset']))} | " + " | ".join(cells) + " |")
    lines.append("| **average rank** | " + " | ".join(f"**{summary['average_ranks'][s]:.2f}**"
                                                       for s in strategies) + " |")
    text = "\n".join(lines) + "\n"
    fr = summary.get("friedman")
    if fr:
        text += (f"\nCells: mean final regret of the report metric over seeds (rank within the row; 1 = best). "
                 f"Friedman test over N = {fr['n']} benchmark/datasets and k = {fr['k']} strategies "
                 f"(Demšar 2006): chi²_F = {fr['chi2_F']:.3f} (df {fr['df']}, p = {fr['p_chi2']:.3g}); "
                 f"Iman-Davenport F_F = {fr['F_F']:.3f} (df {fr['df_F'][0]}, {fr['df_F'][1]}, "
                 f"p = {fr['p_F']:.3g}); tie correction divisor {fr['tie_correction']:.4f}. "
                 f"Nemenyi critical difference at alpha = {summary['alpha']:g}: "
                 f"CD = {summary['critical_difference']:.3f}.\n")
    if summary.get("left_out"):
        text += f"\nLeft out (not run on every benchmark): {', '.join(map(md_escape, summary['left_out']))}.\n"
    return text


def cd_diagram(average_ranks: dict, cd: float, path_base: str, styles: dict | None = None,
               dpi: int = 200, title: str | None = None) -> list[str]:
    """Demšar's critical-difference diagram (his Fig. 1): the average ranks on
    an axis (1 = best, left), the CD as a bar, and thick lines joining the
    groups of strategies whose ranks differ by less than CD. Writes
    ``path_base.pdf`` and ``path_base.png``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(average_ranks, key=lambda s: (average_ranks[s], s))
    ranks = [average_ranks[s] for s in names]
    k = len(names)
    if k < 2:
        raise ValueError("a critical-difference diagram needs at least 2 strategies")
    lo, hi = 1, k
    half = (k + 1) // 2
    # cliques: maximal runs of consecutive strategies whose ranks differ by less than cd
    cliques = []
    for i in range(k):
        j = i
        while j + 1 < k and ranks[j + 1] - ranks[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in cliques):
            cliques.append((i, j))
    top = 0.16 + 0.08 * len(cliques)  # the names start below the clique bars
    step = 0.22
    span = 0.75 + top + step * half + 0.1
    fig, ax = plt.subplots(figsize=(6.0, 1.6 * span))  # one unit of y is 1.6 in, whatever k is
    ax.set_xlim(lo - 0.6, hi + 0.6)
    ax.set_ylim(-(top + step * half + 0.1), 0.75)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="black", lw=1)
    for t in range(lo, hi + 1):
        ax.vlines(t, 0, 0.06, color="black", lw=1)
        ax.text(t, 0.1, str(t), ha="center", va="bottom", fontsize=8)
    if math.isfinite(cd):
        ax.hlines(0.5, lo, lo + cd, color="black", lw=1.2)
        for x in (lo, lo + cd):
            ax.vlines(x, 0.46, 0.54, color="black", lw=1.2)
        ax.text(lo + cd / 2, 0.56, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
    for i, (name, r) in enumerate(zip(names, ranks)):
        left = i < half
        row = i if left else k - 1 - i
        y = -top - step * row
        x_text = lo - 0.5 if left else hi + 0.5
        color = (styles or {}).get(name, {}).get("color", "black")
        ax.plot([r, r, x_text], [0, y, y], color=color, lw=1)
        ax.text(x_text, y + 0.03, f"{name} ({r:.2f})", ha="left" if left else "right", va="bottom", fontsize=8)
    for n, (a, b) in enumerate(cliques):
        y = -0.08 - 0.08 * n
        ax.hlines(y, ranks[a] - 0.03, ranks[b] + 0.03, color="black", lw=3)
    if title:
        ax.set_title(title, fontsize=9)
    paths = []
    os.makedirs(os.path.dirname(os.path.abspath(path_base)), exist_ok=True)
    # no creation date: the same ranks give the same bytes
    for ext, meta in (("pdf", {"CreationDate": None, "Producer": None}), ("png", {"Software": None})):
        p = f"{path_base}.{ext}"
        fig.savefig(p, dpi=dpi, bbox_inches="tight", metadata=meta)
        paths.append(p)
    plt.close(fig)
    return paths
