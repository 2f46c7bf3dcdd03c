"""scripts/landscape_report.py on a small lookup="class" table whose answers
are known by construction: every number is recomputed here from the values
written and the isomorphism classes, without the script's code paths."""
from __future__ import annotations

import json
import math
import pathlib
import sys

import numpy as np
import pytest
from scipy import stats

from nasbench_suite.spaces import nb201
from nasbench_suite.tables import Benchmark, TableWriter
from nasbench_suite.train.generate import representatives

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "scripts"))

import landscape_numbers as L  # noqa: E402
import landscape_report  # noqa: E402

CLASSES = nb201.isomorphism_classes()
R = 240  # trained connected classes
F = 10


def _write(path, reps, final, delta, seeds_done=None, seed=0):
    """Rows ``reps``; final test acc of seed s = final ± delta (seed 0 +, seed 1 -);
    last-epoch validation = final - 1 for both seeds (so the incumbent of a search
    is the proposed cell with the best final test acc); earlier epochs random."""
    rng = np.random.default_rng(seed)
    n = len(reps)
    test = rng.uniform(10, 90, (n, 2, F))
    valid = rng.uniform(10, 90, (n, 2, F))
    test[:, 0, -1], test[:, 1, -1] = final + delta, final - delta
    valid[:, :, -1] = (final - 1.0)[:, None]
    if seeds_done is not None:  # rows trained with seed 0 only
        test[~seeds_done, 1, :] = np.nan
        valid[~seeds_done, 1, :] = np.nan
    with TableWriter(path, space="nb201") as w:
        w.lookup = "class"
        w.add_dataset("digits", seeds=[0, 1], fidelities=np.arange(1, F + 1))
        rows = w.add_cells([int(i) for i in reps])
        w.set("digits", "test_acc", rows, test)
        w.set("digits", "valid_acc", rows, valid)
        w.set("digits", "train_time", rows, np.broadcast_to(np.arange(1, F + 1) * 10.0, (n, 2, F)).copy())
        w.provenance.update({"preset": {"name": "digits", "epochs": F, "batch_size": 100,
                                        "network": {"channels": 8, "cells_per_stage": 1}},
                             "splits": {"train": 600, "valid": 600, "test": 597},
                             "totals": {"core_hours": 1.5, "runs": 2 * R}, "sessions": [], "complete": False})
    return test, valid


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """R connected classes and the disconnected cell with both seeds, one more class with seed 0 only."""
    rng = np.random.default_rng(1)
    reps = representatives()
    rows = np.r_[reps[:R], reps[-1], reps[R]]
    final = np.r_[60.0 + 35.0 * rng.permutation(R) / (R - 1), 10.0, 99.0]  # 99: the one-seed class, never the best
    delta = rng.uniform(0.0, 3.0, rows.size)
    done = np.ones(rows.size, dtype=bool)
    done[-1] = False
    path = tmp_path_factory.mktemp("landscape") / "small.h5"
    test, valid = _write(path, rows, final, delta, seeds_done=done)
    # Independently: which official cells are covered and what value each takes.
    value_of = {int(CLASSES[r]): k for k, r in enumerate(rows[:R])}  # class -> row
    value_of[-1] = R  # every disconnected cell -> the disconnected row
    cells = np.array([i for i in range(nb201.NUM_CELLS) if int(CLASSES[i]) in value_of])
    row = np.array([value_of[int(CLASSES[i])] for i in cells])
    return {"path": path, "rows": rows, "final": final, "delta": delta, "test": test, "valid": valid,
            "cells": cells, "row": row}


@pytest.fixture(scope="module")
def numbers(small):
    with Benchmark.open(small["path"]) as b:
        data = L.landscape_data(b, "digits")
        runs = L.random_search_runs(b, data, 5)
        ref = np.random.default_rng(2).normal(90, 3, nb201.NUM_CELLS)
        out = L.landscape_numbers(b, "digits", rs_seeds=5, reference=ref, reference_name="fake", data=data,
                                  runs=runs)
    return out, data, runs, ref


def test_coverage(small, numbers):
    n, data, _, _ = numbers
    c = n["coverage"]
    assert c["classes_covered"] == R + 1 and c["classes_one_seed"] == 1 and c["rows_in_table"] == R + 2
    assert c["cells_covered"] == small["cells"].size and not c["complete"]
    assert np.array_equal(data.cells, small["cells"])
    assert (CLASSES[small["cells"]] == -1).sum() == 341  # the disconnected row covers 341 cells
    assert not np.isin(CLASSES[small["cells"]], CLASSES[small["rows"][-1]]).any()  # the one-seed class is out


def test_median_gap_and_distribution(small, numbers):
    n = numbers[0]
    acc = small["final"][small["row"]]
    assert n["gap"]["best"] == pytest.approx(acc.max())
    assert n["gap"]["median_cells"] == pytest.approx(np.median(acc))
    assert n["gap"]["gap_cells"] == pytest.approx(acc.max() - np.median(acc))
    assert n["gap"]["median_classes"] == pytest.approx(np.median(small["final"][:R + 1]))
    assert n["gap"]["pass"] == (acc.max() - np.median(acc) >= 3.0)
    best_row = int(np.argmax(small["final"][:R + 1]))
    assert n["gap"]["best_index"] == int(np.flatnonzero(CLASSES == CLASSES[small["rows"][best_row]]).min())
    for q in n["distribution"]["quantiles"]:
        assert q["cells"] == pytest.approx(np.quantile(acc, q["q"]))
        assert q["classes"] == pytest.approx(np.quantile(small["final"][:R + 1], q["q"]))


def test_seed_std_overall_top_decile_and_deciles(small, numbers):
    s = numbers[0]["seed_std"]
    std = math.sqrt(2) * small["delta"][small["row"]]  # two values final ± d: std (ddof=1) = d * sqrt(2)
    acc = small["final"][small["row"]]
    assert s["mean_all"] == pytest.approx(std.mean())
    order = sorted(range(acc.size), key=lambda i: (acc[i], small["cells"][i]))
    n = acc.size
    for d in range(10):
        members = order[n * d // 10: n * (d + 1) // 10]
        assert s["deciles"][d]["cells"] == len(members)
        assert s["deciles"][d]["mean_std"] == pytest.approx(std[members].mean())
    top = order[n * 9 // 10:]
    assert s["cells_top10"] == len(top) and s["mean_top10"] == pytest.approx(std[top].mean())
    assert s["pass"] == (std[top].mean() <= 1.0)
    cls_acc, cls_std = small["final"][:R + 1], math.sqrt(2) * small["delta"][:R + 1]
    top_cls = np.argsort(cls_acc)[(R + 1) * 9 // 10:]  # class values are distinct
    assert s["classes_top10"] == top_cls.size and s["mean_top10_classes"] == pytest.approx(cls_std[top_cls].mean())


def test_random_search_stays_on_covered_cells_and_reports_the_best_proposed(small, numbers):
    n, _, runs, _ = numbers
    rs = n["random_search"]
    assert rs["status"] == "ok" and rs["mode"] == "covered cells" and len(runs) == 5
    covered = set(small["cells"].tolist())
    finals = []
    for t in runs:
        idx = [nb201.index_of(a) for a in t.cell]
        assert len(idx) == 50 and set(idx) <= covered
        classes = {int(CLASSES[i]) for i in idx}
        assert len(classes) == 50  # no two isomorphic proposals
        pos = np.searchsorted(small["cells"], idx)
        finals.append(small["final"][small["row"][pos]].max())
        assert t.final_report == pytest.approx(finals[-1])
    finals = np.array(finals)
    best = small["final"][small["row"]].max()
    assert rs["mean"] == pytest.approx(finals.mean())
    assert rs["se"] == pytest.approx(finals.std(ddof=1) / math.sqrt(5))
    assert rs["gap"] == pytest.approx(best - finals.mean())


def test_early_epoch_and_reference_correlations(small, numbers):
    n, _, _, ref = numbers
    row, final = small["row"], small["final"]
    for f, e in enumerate(n["early"]):
        v = small["valid"][:, :, f].mean(axis=1)
        t = small["test"][:, :, f].mean(axis=1)
        assert e["valid_cells"] == pytest.approx(stats.spearmanr(v[row], final[row])[0])
        assert e["test_cells"] == pytest.approx(stats.spearmanr(t[row], final[row])[0])
        assert e["valid_classes"] == pytest.approx(stats.spearmanr(v[:R + 1], final[:R + 1])[0])
    assert n["early"][-1]["test_cells"] == pytest.approx(1.0)
    r = n["reference"]
    assert r["cells"] == small["cells"].size
    assert r["spearman_cells"] == pytest.approx(stats.spearmanr(final[row], ref[small["cells"]])[0])
    assert r["kendall_cells"] == pytest.approx(stats.kendalltau(final[row], ref[small["cells"]])[0])
    conn = CLASSES[small["cells"]] >= 0
    assert r["spearman_connected"] == pytest.approx(
        stats.spearmanr(final[row][conn], ref[small["cells"]][conn])[0])
    class_ref = np.array([ref[small["cells"][row == k]].mean() for k in range(R + 1)])
    assert r["spearman_classes"] == pytest.approx(stats.spearmanr(final[:R + 1], class_ref)[0])


def test_complete_table_uses_the_registered_random_search(tmp_path):
    reps = representatives()
    final = 50.0 + 40.0 * np.random.default_rng(3).permutation(reps.size) / reps.size
    _write(tmp_path / "full.h5", reps, final, np.full(reps.size, 0.2))
    with Benchmark.open(tmp_path / "full.h5") as b:
        n = L.landscape_numbers(b, "digits", rs_seeds=2)
    assert n["coverage"]["complete"] and n["coverage"]["cells_covered"] == nb201.NUM_CELLS
    assert n["random_search"]["mode"] == "all cells"
    assert n["seed_std"]["mean_top10"] == pytest.approx(0.2 * math.sqrt(2))


def _is_png(path) -> bool:
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and data[-12:-4] == b"\x00\x00\x00\x00IEND"


def _is_pdf(path) -> bool:
    data = path.read_bytes()
    return data[:5] == b"%PDF-" and b"%%EOF" in data[-32:] and b"/Type /Page" in data


def test_script_writes_markdown_json_and_figures(small, tmp_path):
    out = tmp_path / "out"
    assert landscape_report.main(["--table", str(small["path"]), "--out", str(out), "--rs-seeds", "5",
                                  "--nb201-data", str(tmp_path / "no_such_dir")]) == 0
    md = (out / "landscape.md").read_text()
    saved = json.loads((out / "landscape.json").read_text())
    acc = small["final"][small["row"]]
    assert "Partial table" in md and f"{R + 1} / 8,765" in md and f"{small['cells'].size:,} / 15,625" in md
    assert f"| 1 | best minus median cell, final test acc (points) | ≥ 3 | {acc.max() - np.median(acc):.2f} |" in md
    assert "Skipped: NB201 data directory" in md and saved["reference"]["status"] == "skipped"
    assert saved["meta"]["sha256"] == landscape_report.sha256(small["path"])
    assert saved["random_search"]["seeds"] == 5 and "core-hours" in md and "--rs-seeds 5" in md
    for name in landscape_report.FIGURES[:-1]:  # no reference figure without the NB201 data
        assert _is_png(out / f"{name}.png") and _is_pdf(out / f"{name}.pdf"), name
        assert f"({name}.png)" in md
    assert not (out / "landscape_reference.png").exists()
