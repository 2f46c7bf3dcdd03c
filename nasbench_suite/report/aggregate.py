"""From stored runs to the numbers behind plots and tables.

Every curve is the incumbent's report metric (e.g. test accuracy of the best
cell by the search metric so far), as a step function: after ``k`` finished
queries it is the trajectory's row ``k - 1``; at simulated time ``t`` it is
the last row finished by ``t``. A run that has ended holds its final value.
Regret is the table's best report value minus the incumbent's (or the
reverse for a metric where smaller is better), so it is zero at the optimum.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Group:
    """The runs on one benchmark: ``runs[strategy][seed] -> Trajectory``."""

    benchmark: str
    dataset: str
    search_metric: str
    report_metric: str
    optimum: float
    higher_is_better: bool
    budget: dict
    strategies: list
    runs: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # the benchmark's stored configuration

    def seeds(self, strategy: str) -> list[int]:
        return sorted(self.runs[strategy])

    def trajectories(self, strategy: str) -> list:
        return [self.runs[strategy][s] for s in self.seeds(strategy)]

    def common_seeds(self) -> list[int]:
        sets = [set(self.runs[s]) for s in self.strategies]
        return sorted(set.intersection(*sets)) if sets else []

    def regret(self, values: np.ndarray) -> np.ndarray:
        return self.optimum - values if self.higher_is_better else values - self.optimum


def groups(results, strategies: list | None = None) -> list[Group]:
    """Splits a :class:`~nasbench_suite.runner.results.Results` by benchmark,
    with strategies in the order of the configuration (or of ``strategies``)."""
    cfg = results.config
    order = list(cfg.get("strategy_order", cfg.get("strategies", {})))
    present = {k[1] for k in results.runs}
    order += sorted(present - set(order))
    if strategies is not None:
        unknown = [s for s in strategies if s not in present]
        if unknown:
            raise ValueError(f"{results.path}: no runs of {', '.join(unknown)}; it holds {', '.join(sorted(present))}")
        order = list(strategies)
    out = []
    for label, b in cfg.get("benchmarks", {}).items():
        runs: dict = {}
        for (bench, strat, seed), run in results.runs.items():
            if bench == label and strat in order:
                runs.setdefault(strat, {})[seed] = run.trajectory
        if not runs:
            continue
        out.append(Group(label, b["dataset"], b["search_metric"], b["report_metric"], float(b["report_optimum"]),
                         bool(b["higher_is_better"]), dict(cfg.get("experiment", {}).get("budget", {})),
                         [s for s in order if s in runs], runs, dict(b)))
    return out


# ------------------------------------------------------------------ curves

def query_matrix(trajectories, n: int) -> np.ndarray:
    """(runs, n): the incumbent's report value after 1..n finished queries."""
    out = np.full((len(trajectories), n), np.nan)
    for i, t in enumerate(trajectories):
        v = np.asarray(t.incumbent_report, dtype=np.float64)[:n]
        if v.size:
            out[i, :v.size] = v
            out[i, v.size:] = v[-1]
    return out


def time_grid(group: Group, points: int = 200) -> np.ndarray:
    """A log-spaced grid of simulated seconds shared by every strategy of a group:
    from the first finished query of any run to the last."""
    times = [t.time for s in group.strategies for t in group.trajectories(s) if len(t)]
    if not times:
        return np.zeros(0)
    lo = min(float(x[0]) for x in times)
    hi = max(float(x[-1]) for x in times)
    lo = max(lo, 1e-9)
    if hi <= lo:
        return np.array([lo])
    return np.geomspace(lo, hi, points)


def time_matrix(trajectories, grid: np.ndarray) -> np.ndarray:
    """(runs, len(grid)): the incumbent's report value at each grid time."""
    out = np.full((len(trajectories), grid.size), np.nan)
    for i, t in enumerate(trajectories):
        if not len(t):
            continue
        idx = np.searchsorted(np.asarray(t.time), grid, side="right") - 1
        ok = idx >= 0
        out[i, ok] = np.asarray(t.incumbent_report)[idx[ok]]
    return out


def mean_se(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over runs (axis 0); NaN where any run has no
    value yet, so a curve starts when every run has an incumbent."""
    n = m.shape[0]
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = m.mean(axis=0)
        se = m.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(m.shape[1])
    return mean, se


def average_rank(mats: dict, higher_is_better: bool) -> dict:
    """``mats[strategy]``: (seeds, x) over the same seeds. Rank 1 is best; ties
    share the mean rank; a run without a value yet ranks last."""
    from scipy.stats import rankdata

    names = list(mats)
    stack = np.stack([mats[s] for s in names])  # (S, seeds, x)
    score = np.where(np.isnan(stack), -np.inf, stack if higher_is_better else -stack)
    ranks = rankdata(-score, axis=0, method="average")
    return {s: ranks[i].mean(axis=0) for i, s in enumerate(names)}


# ------------------------------------------------------------------ budgets and tables

_TIME_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class BudgetPoint:
    kind: str  # "queries" | "seconds" | "final"
    value: float

    @property
    def label(self) -> str:
        if self.kind == "queries":
            return f"{int(self.value)} queries"
        if self.kind == "seconds":
            v = self.value
            for unit, scale in (("d", 86400), ("h", 3600), ("m", 60)):
                if v >= scale and (v / scale) == int(v / scale):
                    return f"{int(v / scale)}{unit} sim."
            return f"{v:g}s sim."
        return "final"


def parse_budgets(text: str) -> list[BudgetPoint]:
    """``"50,100,150"`` (queries), ``"1h,12h"`` or ``"3600s"`` (simulated time), ``final``."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "final":
            out.append(BudgetPoint("final", math.inf))
            continue
        m = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([smhd]?)", part)
        if not m:
            raise ValueError(f"budget {part!r}: write queries (150), simulated time (3600s, 12h) or 'final'")
        value, unit = float(m.group(1)), m.group(2)
        if value <= 0:
            raise ValueError(f"budget {part!r} must be positive")
        if unit:
            out.append(BudgetPoint("seconds", value * _TIME_UNITS[unit]))
        else:
            if value != int(value):
                raise ValueError(f"budget {part!r}: a number of queries is an integer")
            out.append(BudgetPoint("queries", int(value)))
    if not out:
        raise ValueError("no budgets given")
    return out


def default_budgets(budget: dict) -> list[BudgetPoint]:
    """A third, two thirds and all of the run budget (rounded to tens of queries)."""
    if "queries" in budget:
        q = int(budget["queries"])
        pts = [round(q * f / 10) * 10 if q >= 30 else max(1, round(q * f)) for f in (1 / 3, 2 / 3)] + [q]
        return [BudgetPoint("queries", int(p)) for p in sorted(set(p for p in pts if p > 0))]
    if "seconds" in budget:
        s = float(budget["seconds"])
        return [BudgetPoint("seconds", s * f) for f in (1 / 3, 2 / 3, 1.0)]
    return [BudgetPoint("final", math.inf)]


def check_budgets(group: Group, points: list[BudgetPoint]) -> None:
    """ValueError for a budget point the runs did not reach: more queries or
    simulated time than the runs' budget, or (a budget without that limit)
    than the longest run. A table column at such a point would show the runs'
    final values labelled as if the runs had gone that far."""
    runs = [t for s in group.strategies for t in group.trajectories(s)]
    queries = group.budget.get("queries")
    seconds = group.budget.get("seconds")
    longest = max((len(t) for t in runs), default=0)
    latest = max((float(t.time[-1]) for t in runs if len(t)), default=0.0)
    for p in points:
        if p.kind == "queries":
            if queries is not None and p.value > queries:
                raise ValueError(f"budget {p.label!r}: the runs on {group.benchmark} stop at {int(queries)} "
                                 f"queries (their budget); choose budgets up to {int(queries)}, or 'final'")
            if p.value > longest:
                raise ValueError(f"budget {p.label!r}: no run on {group.benchmark} reached it (the longest "
                                 f"has {longest} queries); choose budgets up to {longest}, or 'final'")
        elif p.kind == "seconds":
            limit = float(seconds) if seconds is not None else latest
            if p.value > limit * (1 + 1e-12):
                what = "their budget" if seconds is not None else "the last finished query of any run"
                raise ValueError(f"budget {p.label!r}: the runs on {group.benchmark} stop at {limit:g} s of "
                                 f"simulated time ({what}); choose budgets up to {limit:g}s, or 'final'")


def value_at(traj, point: BudgetPoint) -> float:
    """The incumbent's report value at a budget (NaN before the first incumbent)."""
    n = len(traj)
    if n == 0:
        return float("nan")
    if point.kind == "queries":
        return float(traj.incumbent_report[min(int(point.value), n) - 1])
    if point.kind == "seconds":
        i = int(np.searchsorted(np.asarray(traj.time), point.value, side="right")) - 1
        return float(traj.incumbent_report[i]) if i >= 0 else float("nan")
    return float(traj.incumbent_report[-1])


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sided Wilcoxon signed-rank p-value of paired samples (1.0 when they
    are identical; None with fewer than one pair)."""
    from scipy.stats import wilcoxon

    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size == 0:
        return None
    if np.all(a == b):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(wilcoxon(a, b).pvalue)


def table_numbers(group: Group, points: list[BudgetPoint]) -> dict:
    """Mean, standard error, seeds and the Wilcoxon p-value against the best
    strategy (paired by seed) of every strategy at every budget point."""
    per = {s: {seed: [value_at(t, p) for p in points] for seed, t in group.runs[s].items()}
           for s in group.strategies}
    columns = []
    for j, p in enumerate(points):
        col = {}
        for s in group.strategies:
            v = np.array([per[s][seed][j] for seed in sorted(per[s])])
            v = v[np.isfinite(v)]
            n = int(v.size)
            col[s] = {"mean": float(v.mean()) if n else None,
                      "se": float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else None, "n": n}
        means = {s: c["mean"] for s, c in col.items() if c["mean"] is not None}
        best = (max if group.higher_is_better else min)(means, key=means.get) if means else None
        for s in group.strategies:
            col[s]["best"] = s == best
            col[s]["regret"] = (float(group.regret(np.array(col[s]["mean"]))) if col[s]["mean"] is not None
                                else None)
            if best is None or s == best:
                col[s]["p_value"] = None
                continue
            seeds = sorted(set(per[s]) & set(per[best]))
            a = np.array([per[best][x][j] for x in seeds])
            b = np.array([per[s][x][j] for x in seeds])
            col[s]["p_value"] = wilcoxon_p(a, b)
        columns.append({"budget": {"kind": p.kind, "value": p.value if math.isfinite(p.value) else None,
                                   "label": p.label}, "best": best, "strategies": col})
    return {"benchmark": group.benchmark, "dataset": group.dataset, "search_metric": group.search_metric,
            "report_metric": group.report_metric, "optimum": group.optimum,
            "higher_is_better": group.higher_is_better,
            "seeds": {s: len(group.runs[s]) for s in group.strategies}, "columns": columns}
