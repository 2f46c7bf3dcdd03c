"""The committed embedded default table, ``tabular_data/nb201-digits.h5``, read
through the public API: it is complete, every NB201 cell resolves, and its
landscape meets the targets it was made for (issue "The embedded default").

Every number is recomputed here with numpy from the table's values, not by the
report script (scripts/landscape_numbers.py), so a regenerated table that fails
a target fails here too.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.spaces import nb201
from nasbench_suite.tables import Benchmark

TABLE = Path(__file__).resolve().parents[1] / "tabular_data" / "nb201-digits.h5"
N_CELLS = 15625
CLASSES = nb201.isomorphism_classes()


@pytest.fixture(scope="module")
def table():
    if not TABLE.is_file():
        pytest.fail(f"{TABLE} is missing: it is committed with the repository")
    with Benchmark.open(TABLE) as b:
        cells = np.arange(N_CELLS)
        fid = float(b.fidelities("digits")[-1])
        seeds = range(len(b.seeds("digits")))  # repeat indices
        test = np.stack([b.query(cells, "test_acc", fidelity=fid, seed=s) for s in seeds], axis=1)
        valid = np.stack([b.query(cells, "valid_acc", fidelity=fid, seed=s) for s in seeds], axis=1)
        yield b, test, valid


def test_it_is_complete_and_small(table):
    b, test, valid = table
    prov = b.provenance
    assert prov["complete"] is True
    assert prov["totals"]["runs"] == 2 * 8765
    assert b.lookup == "class" and len(b) == 8765
    assert os.path.getsize(TABLE) <= 20 * 2**20
    assert not np.isnan(test).any() and not np.isnan(valid).any()
    assert list(b.seeds("digits")) == [0, 1]
    assert list(b.fidelities("digits")) == list(range(1, 8))
    json.dumps(prov)  # provenance is plain JSON
    for key in ("torch", "cpu", "cores", "cpu_seconds", "wall_seconds"):
        assert all(key in s for s in prov["sessions"] if s["runs"] > 0)


def test_isomorphic_cells_share_a_row_and_disconnected_cells_score_at_chance(table):
    b, test, _ = table
    rows = b.rows(np.arange(N_CELLS))
    conn = CLASSES >= 0
    # one row per class: the same row exactly when the same class
    assert np.unique(rows[conn]).size == CLASSES[conn].max() + 1
    first_row = {}
    for c, r in zip(CLASSES[conn].tolist(), rows[conn].tolist()):
        assert first_row.setdefault(c, r) == r
    assert np.unique(rows[~conn]).size == 1 and rows[~conn][0] not in set(rows[conn].tolist())
    chance = test[~conn].mean()
    assert chance < 15.0, "a disconnected cell sees no input: at most the class prior (~10%)"
    assert np.median(test[conn].mean(axis=1)) > 80.0


def test_the_landscape_is_worth_searching(table):
    _, test, valid = table
    conn = CLASSES >= 0
    final = test.mean(axis=1)  # per cell, mean over the two seeds
    best = final.max()
    assert best - np.median(final) >= 3.0, "median to best cell: at least 3 points"

    # the top 10% of cells agree across seeds to 1 point on average (std, ddof=1)
    top = final >= np.quantile(final, 0.9)
    assert test[top].std(axis=1, ddof=1).mean() <= 1.0

    # random search with 50 queries (distinct classes, picked by validation
    # accuracy) ends at least 1 point below the best cell, on average
    rng = np.random.default_rng(2026)
    key = np.where(conn, CLASSES, -1)
    ends = []
    for _ in range(300):
        order = rng.permutation(N_CELLS)
        _, first = np.unique(key[order], return_index=True)
        picked = order[np.sort(first)][:50]  # the first 50 distinct classes in draw order
        ends.append(final[picked[np.argmax(valid[picked].mean(axis=1))]])
    assert best - np.mean(ends) >= 1.0


def test_the_code_still_trains_the_recipe_the_table_records(table):
    """`generate` and `verify` refuse a table whose recorded preset differs from
    what the code's preset and the table's overrides give: an edit to the
    `digits` preset that changes the recipe fails here, not in a user's verify."""
    pytest.importorskip("torch")
    from nasbench_suite.train.generate import GenerateSettings, check_same_recipe

    prov = table[0].provenance
    settings = GenerateSettings.from_dict(prov["generate"], TABLE)
    assert settings.group_seeds and settings.seeds == (0, 1)
    check_same_recipe(TABLE, prov, settings.trainer())
    assert prov["preset"]["epochs"] == 7 and prov["preset"]["batch_size"] == 50


def test_it_ships_all_13_zero_cost_proxies_for_every_row(table):
    """The table holds the 13 proxies of every row (issue 17) as static
    metrics, with the settings they were computed with; only proxies that can
    be undefined on some network (a degenerate kernel, an output that does not
    depend on the input) have NaN, and few."""
    from nasbench_suite.cli.proxies import PROXY_NAMES  # the registry's names, without torch

    b = table[0]
    assert len(PROXY_NAMES) == 13
    prov = b.provenance["proxies"]
    settings = prov["settings"].get("digits", prov["settings"])  # per dataset (or one flat dict: older tables)
    assert {k: settings[k] for k in ("space", "dataset", "seed", "batch_size")} == \
        {"space": "nb201", "dataset": "digits", "seed": 0, "batch_size": 64}
    assert prov["sessions"] and all(s["cpu_seconds"] > 0 for s in prov["sessions"])
    for name in PROXY_NAMES:
        v = b.row_values(f"zc_{name}")
        assert v.shape == (8765,)
        nan = int(np.isnan(v).sum())
        if name in ("params", "flops", "synflow", "l2_norm", "snip", "grad_norm"):
            assert nan == 0, name
        else:
            assert nan <= 0.05 * v.size, (name, nan)
        assert np.isfinite(v[~np.isnan(v)]).all()
    # parameter counts are the networks': the same as the static metric `params` the training recorded
    assert np.array_equal(b.row_values("zc_params"), b.row_values("params").astype(np.float64))


def test_stored_proxies_are_what_the_code_computes(table):
    """Three rows recomputed from the recorded settings. params and flops are
    counts (exact); synflow runs in float64 (one rounding per operation, well
    within 1e-9 relative); l2_norm is a float32 sum of squares of the initial
    weights; snip, grad_norm, fisher and zen sum float32 products of one
    minibatch's gradients or activations (different SIMD kernels reorder the
    sums: a few ulps per term, far below 1e-3 relative). The others (grasp's
    Hessian-gradient product, jacov's and nwot's log-determinants, epe_nas's
    correlations, plain) can be ill-conditioned on some cells and are left to
    the proxies' own tests."""
    pytest.importorskip("torch")
    from nasbench_suite import proxies as P

    b = table[0]
    s = b.provenance["proxies"]["settings"]
    s = s.get("digits", s)  # per dataset (or one flat dict: older tables)
    s = s.get("digits", s)  # per dataset (or one flat dict: older tables)
    tol = {"params": 0.0, "flops": 0.0, "synflow": 1e-9, "l2_norm": 1e-5, "snip": 1e-3, "grad_norm": 1e-3,
           "fisher": 1e-3, "zen": 1e-3}
    rows = np.random.default_rng(7).choice(8764, 3, replace=False)
    for r in rows.tolist():
        got = P.compute_many(list(tol), space="nb201", cell=b.cell(r), dataset="digits", preset=s["preset"],
                             seed=s["seed"], batch_size=s["batch_size"], **s["overrides"])
        for name, rel in tol.items():
            want = float(b.row_values(f"zc_{name}")[r])
            assert got[name] == pytest.approx(want, rel=rel, abs=0 if rel == 0 else 1e-12), (r, name)
