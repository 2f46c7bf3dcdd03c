"""The numbers of the landscape report (``scripts/landscape_report.py``): is
a ``lookup="class"`` NB201 table worth searching?

Everything is computed over the *covered* cells: the official NB201 cells
whose isomorphism class has a complete row (test and validation accuracy at
every fidelity for every seed). A cell takes its class's values, so a
statistic "over cells" weights each class by its number of members, as a
search over the space meets them; "over classes" counts each class once.

    data = landscape_data(benchmark, "digits")
    numbers = landscape_numbers(benchmark, "digits", rs_seeds=200, data=data)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from nasbench_suite.runner import run_search
from nasbench_suite.spaces import nb201
from nasbench_suite.strategies.random_search import RandomSearch

N_CELLS = 15_625
N_CLASSES = 8_765  # 8,764 isomorphism classes of connected cells + the disconnected cell

# Targets of the landscape issue (points of accuracy, percent).
TARGET_MEDIAN_GAP = 3.0  # best cell minus median cell, at least
TARGET_TOP_SEED_STD = 1.0  # mean seed std of the top 10% of cells, at most
TARGET_RS_GAP = 1.0  # best cell minus random search's final incumbent (mean), at least
RS_QUERIES = 50
QUANTILES = (0.0, 0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0)


@dataclass
class LandscapeData:
    """Per-row and per-cell arrays of one dataset of a class table.

    ``index``: official index of each row's cell (R,). ``test``, ``valid``:
    (R, S, F) accuracies. ``complete``: rows with every seed and fidelity of
    both metrics. ``cell_row``: each official cell's row, -1 where its class
    is not covered (15,625,). ``cells``: official indices of the covered cells.
    """

    dataset: str
    seeds: np.ndarray
    fidelities: np.ndarray
    index: np.ndarray
    test: np.ndarray
    valid: np.ndarray
    complete: np.ndarray
    one_seed_rows: int
    cell_row: np.ndarray
    cells: np.ndarray

    @property
    def final_test_rows(self) -> np.ndarray:
        """Mean over seeds of the last epoch's test accuracy, per row (R,)."""
        return self.test[:, :, -1].mean(axis=1)

    @property
    def covered_rows(self) -> np.ndarray:
        return np.flatnonzero(self.complete)

    def per_cell(self, per_row: np.ndarray) -> np.ndarray:
        """Row values spread over the covered cells (C,), in official index order."""
        return per_row[self.cell_row[self.cells]]


def landscape_data(bench, dataset: str) -> LandscapeData:
    """Reads the accuracies of every row through the public query API."""
    if bench.space != "nb201" or bench.lookup != "class":
        raise ValueError(f"{bench.path}: the landscape report needs an NB201 table with lookup='class' "
                         f"(one row per isomorphism class); this one is {bench.space}, lookup={bench.lookup!r}")
    seeds, fids = bench.seeds(dataset), bench.fidelities(dataset)
    index = np.array([bench.cell(r).index() for r in range(len(bench))], dtype=np.int64)

    def grid(metric):
        out = np.full((index.size, seeds.size, fids.size), np.nan)
        if index.size:
            for s in range(seeds.size):
                for f, fid in enumerate(fids):
                    out[:, s, f] = bench.query(index, metric, fidelity=fid, dataset=dataset, seed=s)
        return out

    test, valid = grid("test_acc"), grid("valid_acc")
    ok = np.isfinite(test) & np.isfinite(valid)  # (R, S, F)
    complete = ok.all(axis=(1, 2))
    seed_done = ok.all(axis=2)  # (R, S)
    one_seed = int((seed_done.any(axis=1) & ~complete).sum())
    lut = bench.class_rows()
    covered = np.zeros(lut.shape, dtype=bool)
    covered[lut >= 0] = complete[lut[lut >= 0]]
    cell_row = np.where(covered, lut, -1)
    return LandscapeData(dataset, seeds, fids, index, test, valid, complete, one_seed, cell_row,
                         np.flatnonzero(cell_row >= 0))


def _num(x) -> float | None:
    """A JSON number: None for NaN."""
    x = float(x)
    return None if math.isnan(x) else x


def _rho(a, b, kind: str = "spearman") -> float | None:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    fn = stats.spearmanr if kind == "spearman" else stats.kendalltau
    return _num(fn(a, b)[0])


# ---------------------------------------------------------------- 1. gap
def median_gap(data: LandscapeData) -> dict:
    """Best minus median final test accuracy over covered cells (and classes)."""
    cells = data.per_cell(data.final_test_rows)
    classes = data.final_test_rows[data.covered_rows]
    best_pos = int(np.argmax(cells))  # the smallest official index among the best
    best, median = float(cells[best_pos]), float(np.median(cells))
    best_index = int(data.cells[best_pos])
    return {"best": best, "best_index": best_index, "best_arch": nb201.arch_string(best_index),
            "median_cells": median, "gap_cells": best - median,
            "median_classes": float(np.median(classes)), "gap_classes": best - float(np.median(classes)),
            "target": TARGET_MEDIAN_GAP, "pass": best - median >= TARGET_MEDIAN_GAP}


# ---------------------------------------------------------------- 2. seed std
def deciles_of(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Decile 0..9 of each value by rank (ascending; ties by official index):
    decile d holds ranks floor(d n / 10) .. floor((d + 1) n / 10) - 1."""
    n = values.size
    order = np.lexsort((index, values))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return np.searchsorted(np.floor(np.arange(1, 10) * n / 10).astype(np.int64), rank, side="right")


def seed_spread(data: LandscapeData) -> dict:
    """Seed-to-seed standard deviation (ddof=1) of the final test accuracy."""
    final = data.test[:, :, -1]  # (R, S)
    std_rows = final.std(axis=1, ddof=1) if data.seeds.size > 1 else np.full(final.shape[0], np.nan)
    acc, std = data.per_cell(data.final_test_rows), data.per_cell(std_rows)
    dec = deciles_of(acc, data.cells)
    table = [{"decile": d + 1, "cells": int((dec == d).sum()),
              "acc_min": _num(acc[dec == d].min()) if (dec == d).any() else None,
              "acc_max": _num(acc[dec == d].max()) if (dec == d).any() else None,
              "mean_std": _num(std[dec == d].mean()) if (dec == d).any() else None} for d in range(10)]
    top = std[dec == 9]
    rows = data.covered_rows
    top_classes = std_rows[rows][deciles_of(data.final_test_rows[rows], data.index[rows]) == 9]
    seed_rho = _rho(data.per_cell(final[:, 0]), data.per_cell(final[:, 1])) if data.seeds.size > 1 else None
    return {"mean_all": _num(std.mean()), "median_all": _num(np.median(std)),
            "mean_all_classes": _num(std_rows[data.covered_rows].mean()),
            "mean_top10": _num(top.mean()), "cells_top10": int(top.size),
            "mean_top10_classes": _num(top_classes.mean()), "classes_top10": int(top_classes.size),
            "top10_min_acc": _num(acc[dec == 9].min()), "deciles": table,
            "spearman_seed0_seed1": seed_rho, "target": TARGET_TOP_SEED_STD,
            "pass": bool(top.mean() <= TARGET_TOP_SEED_STD)}


# ---------------------------------------------------------------- 3. random search
class CoveredRandomSearch(RandomSearch):
    """Random search over the covered cells only: each proposal is uniform
    over ``cells`` (official indices), which is uniform random search over
    the space conditioned on the cell's class being in the table. The base
    class's isomorphism de-duplication applies as for ``random_search``."""

    def __init__(self, cells, rng: np.random.Generator):
        super().__init__("nb201", rng)
        self.cells = np.asarray(cells, dtype=np.int64)

    def _propose(self):
        return nb201.Cell.from_index(int(self.cells[self.stream.below(self.cells.size)]))

    def _unseen_sample(self):
        # After max_retries duplicates: the first unseen covered class, in a
        # random order, instead of the base class's draw from the whole space.
        for i in self.rng.permutation(self.cells):
            cell = nb201.Cell.from_index(int(i))
            if cell.canonical_key() not in self.seen:
                return cell
        return super()._unseen_sample()


def random_search_runs(bench, data: LandscapeData, seeds: int, queries: int = RS_QUERIES) -> list:
    """``seeds`` random-search trajectories (seeds 0..seeds-1); over the
    covered cells only while the table is partial."""
    fid = f"{data.fidelities[-1]:g}"
    kw = dict(budget={"queries": queries}, search_metric=f"valid_acc@{fid}", report_metric=f"test_acc@{fid}",
              dataset=data.dataset)
    runs = []
    for s in range(seeds):
        if data.cells.size == N_CELLS:
            runs.append(run_search(bench, "random_search", seed=s, **kw))
        else:  # the generator the runner gives a strategy named by the caller
            rng = np.random.default_rng(np.random.SeedSequence(s).spawn(2)[0])
            runs.append(run_search(bench, CoveredRandomSearch(data.cells, rng), seed=s, **kw))
    return runs


def random_search_gap(bench, data: LandscapeData, seeds: int, queries: int = RS_QUERIES, runs=None) -> dict:
    """Mean ± standard error of random search's final incumbent (test
    accuracy at the last epoch) and its gap to the best covered cell."""
    best = float(data.per_cell(data.final_test_rows).max())
    mode = "all cells" if data.cells.size == N_CELLS else "covered cells"
    base = {"seeds": int(seeds), "queries": int(queries), "best": best, "mode": mode,
            "target": TARGET_RS_GAP}
    covered_classes = int(data.complete.sum())
    if seeds < 1:
        return dict(base, status="skipped", note="--rs-seeds 0", **{"pass": None})
    if covered_classes < queries:
        return dict(base, status="skipped", **{"pass": None},
                    note=f"only {covered_classes} classes are covered, fewer than the {queries} distinct "
                         "classes a de-duplicated search of that budget proposes")
    runs = runs if runs is not None else random_search_runs(bench, data, seeds, queries)
    finals = np.array([t.final_report for t in runs])
    curves = np.array([t.incumbent_report for t in runs])  # (seeds, queries)
    se = finals.std(ddof=1) / math.sqrt(finals.size) if finals.size > 1 else float("nan")
    curve_se = curves.std(axis=0, ddof=1) / math.sqrt(finals.size) if finals.size > 1 else np.full(queries, np.nan)
    gap = best - float(finals.mean())
    return dict(base, status="ok", mean=float(finals.mean()), se=_num(se), gap=gap,
                gap_upper=_num(gap + 2 * se), gap_lower=_num(gap - 2 * se),
                found_best=float(np.mean(np.abs(finals - best) < 1e-9)), finals=finals.tolist(),
                curve_mean=curves.mean(axis=0).tolist(), curve_se=[_num(x) for x in curve_se],
                **{"pass": bool(gap >= TARGET_RS_GAP)})


# ---------------------------------------------------------------- 4. distribution
def distribution(data: LandscapeData) -> dict:
    cells = data.per_cell(data.final_test_rows)
    classes = data.final_test_rows[data.covered_rows]
    return {"quantiles": [{"q": q, "cells": float(np.quantile(cells, q)), "classes": float(np.quantile(classes, q))}
                          for q in QUANTILES],
            "mean_cells": float(cells.mean()), "mean_classes": float(classes.mean()),
            "below_20_cells": float(np.mean(cells < 20.0))}


# ---------------------------------------------------------------- 5. early epochs
def early_correlation(data: LandscapeData) -> list:
    """Spearman correlation of each epoch's mean validation / test accuracy
    with the final test accuracy, over covered cells and over classes."""
    rows = data.covered_rows
    final = data.final_test_rows
    out = []
    for f, fid in enumerate(data.fidelities):
        v, t = data.valid[:, :, f].mean(axis=1), data.test[:, :, f].mean(axis=1)
        out.append({"epoch": float(fid),
                    "valid_cells": _rho(data.per_cell(v), data.per_cell(final)),
                    "test_cells": _rho(data.per_cell(t), data.per_cell(final)),
                    "valid_classes": _rho(v[rows], final[rows]), "test_classes": _rho(t[rows], final[rows])})
    return out


# ---------------------------------------------------------------- 6. reference
def reference_correlation(data: LandscapeData, reference: np.ndarray, name: str) -> dict:
    """Rank correlation with a reference accuracy of every official cell
    (15,625,): over covered cells, over covered connected cells, and over
    classes (the reference averaged over the class's members)."""
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (N_CELLS,):
        raise ValueError(f"the reference needs one value per official NB201 cell, got shape {ref.shape}")
    cells = data.per_cell(data.final_test_rows)
    r = ref[data.cells]
    ok = np.isfinite(r)
    conn = nb201.isomorphism_classes()[data.cells] >= 0
    both = ok & conn
    # Per class: the mean reference of its covered members (all members of a covered class are covered).
    row = data.cell_row[data.cells][ok]
    sums, counts = np.bincount(row, r[ok], minlength=data.index.size), np.bincount(row, minlength=data.index.size)
    has = counts > 0
    class_ref, class_acc = sums[has] / counts[has], data.final_test_rows[has]
    return {"status": "ok", "name": name, "cells": int(ok.sum()),
            "spearman_cells": _rho(cells[ok], r[ok]), "kendall_cells": _rho(cells[ok], r[ok], "kendall"),
            "connected_cells": int(both.sum()),
            "spearman_connected": _rho(cells[both], r[both]),
            "kendall_connected": _rho(cells[both], r[both], "kendall"),
            "classes": int(has.sum()), "spearman_classes": _rho(class_acc, class_ref),
            "kendall_classes": _rho(class_acc, class_ref, "kendall")}


def landscape_numbers(bench, dataset: str, rs_seeds: int = 200, reference=None, reference_name: str = "",
                      data: LandscapeData | None = None, runs=None) -> dict:
    """Every number of the report, JSON-ready. ``reference``: an accuracy per
    official cell (e.g. NB201 CIFAR-10 test accuracy), or None to skip."""
    data = data if data is not None else landscape_data(bench, dataset)
    if data.cells.size == 0:
        raise ValueError(f"{bench.path}: no class of dataset {dataset!r} has every seed and epoch yet; "
                         "nothing to report")
    return {
        "dataset": dataset, "seeds": data.seeds.tolist(), "fidelities": data.fidelities.tolist(),
        "coverage": {"classes_covered": int(data.complete.sum()), "classes_total": N_CLASSES,
                     "classes_one_seed": data.one_seed_rows, "rows_in_table": int(data.index.size),
                     "cells_covered": int(data.cells.size), "cells_total": N_CELLS,
                     "complete": bool(data.cells.size == N_CELLS)},
        "gap": median_gap(data),
        "seed_std": seed_spread(data),
        "random_search": random_search_gap(bench, data, rs_seeds, runs=runs),
        "distribution": distribution(data),
        "early": early_correlation(data),
        "reference": (reference_correlation(data, reference, reference_name) if reference is not None
                      else {"status": "skipped"}),
    }
