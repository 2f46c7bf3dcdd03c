"""The compiled NAS-Bench-101 core against the plain-Python reference.

``reference_nb101`` is checked against the official vectors in
``test_nb101_vectors.py``; here it is the oracle for 20,000 random specs
(valid, disconnected, too many edges, bad ops, sizes 2..7) and for the exact
canonical form on a pool of valid cells with isomorphic relabellings.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from nasbench_suite import InvalidSpecError
from nasbench_suite.spaces import nb101

try:  # tests/ may or may not be a package
    from . import reference_nb101 as ref
except ImportError:
    import reference_nb101 as ref

SEED = 20240611
N_SPECS = 20_000
UNKNOWN_LABELS = (3, 100)  # batch labels for op names outside the space


def _batch_labels(ops, rng_choice=0):
    """Op names -> batch labels; unknown names get a label outside the space."""
    out = []
    for op in ops:
        try:
            out.append(ref.op_labels([op])[0])
        except KeyError:
            out.append(UNKNOWN_LABELS[rng_choice % len(UNKNOWN_LABELS)])
    return out


def _group_by_size(specs, indices):
    """indices -> {V: (idx list, matrices (N,V,V) uint8, labels (N,V) int64)}."""
    groups = defaultdict(list)
    for i in indices:
        groups[len(specs[i][1])].append(i)
    out = {}
    for v, idx in sorted(groups.items()):
        mats = np.stack([np.asarray(specs[i][0], dtype=np.uint8) for i in idx])
        labs = np.array([_batch_labels(specs[i][1], i) for i in idx], dtype=np.int64)
        out[v] = (idx, mats.reshape(len(idx), v, v), labs.reshape(len(idx), v))
    return out


def pruned_ops_of(m, ops):
    return ref.ref_prune(m, list(ops))[1]


@pytest.fixture(scope="module")
def fuzz():
    rng = np.random.default_rng(SEED)
    specs = [ref.ref_random_spec(rng) for _ in range(N_SPECS)]
    errors = [ref.ref_error(m, ops) for m, ops in specs]
    pruned = [ref.ref_prune(m, ops) if e is None else None for (m, ops), e in zip(specs, errors)]
    hashes = [ref.ref_hash(*p) if p is not None else None for p in pruned]
    return specs, errors, pruned, hashes


def test_fuzz_covers_every_outcome(fuzz):
    _, errors, pruned, _ = fuzz
    counts = Counter(errors)
    assert counts[None] > 5000
    for rule in ("disconnected", "edges", "unknown op", "first op", "last op"):
        assert counts[rule] > 50, (rule, counts)
    sizes = Counter(len(p[1]) for p in pruned if p is not None)
    assert set(sizes) == {2, 3, 4, 5, 6, 7}


def test_is_valid_agrees(fuzz):
    specs, errors, _, _ = fuzz
    bad = [
        (i, errors[i])
        for i, (m, ops) in enumerate(specs)
        if nb101.is_valid(m, ops) != (errors[i] is None)
    ]
    assert not bad, f"{len(bad)} disagreements, first: {bad[:5]} spec {specs[bad[0][0]]}"


def test_cell_agrees(fuzz):
    specs, errors, pruned, hashes = fuzz
    bad = []
    for i, (m, ops) in enumerate(specs):
        if errors[i] is not None:
            try:
                nb101.Cell(m, ops)
            except InvalidSpecError as exc:
                msg = str(exc)
                if not re.search(ref.RULE_PATTERNS[errors[i]], msg):
                    bad.append((i, "message", errors[i], msg))
                elif errors[i] == "unknown op":
                    op = next(o for o in pruned_ops_of(m, ops)[1:-1] if o not in ref.OPS)
                    if op not in msg:
                        bad.append((i, "op not named", op, msg))
            else:
                bad.append((i, "accepted", errors[i], None))
            continue
        cell = nb101.Cell(m, ops)
        pm, pops = pruned[i]
        if cell.pruned_matrix.tolist() != pm:
            bad.append((i, "pruned_matrix", pm, cell.pruned_matrix.tolist()))
        elif cell.pruned_ops != tuple(pops):
            bad.append((i, "pruned_ops", pops, cell.pruned_ops))
        elif cell.hash() != hashes[i]:
            bad.append((i, "hash", hashes[i], cell.hash()))
        elif cell.num_vertices != len(pops) or cell.num_edges != sum(map(sum, pm)):
            bad.append((i, "counts", (len(pops), sum(map(sum, pm))),
                        (cell.num_vertices, cell.num_edges)))
    assert not bad, f"{len(bad)} disagreements, first: {bad[:5]}"


def test_prune_agrees(fuzz):
    specs, errors, pruned, _ = fuzz
    for i, (m, ops) in enumerate(specs):
        if errors[i] is None:
            pm, pops = nb101.prune(m, ops)
            assert np.asarray(pm).tolist() == pruned[i][0], i
            assert tuple(pops) == tuple(pruned[i][1]), i
        elif errors[i] == "disconnected":
            with pytest.raises(InvalidSpecError, match=ref.RULE_PATTERNS["disconnected"]):
                nb101.prune(m, ops)


def test_batch_agrees(fuzz):
    specs, errors, pruned, hashes = fuzz
    for v, (idx, mats, labs) in _group_by_size(specs, range(len(specs))).items():
        valid = nb101.is_valid_many(mats, labs)
        assert valid.tolist() == [errors[i] is None for i in idx], v

    valid_idx = [i for i, e in enumerate(errors) if e is None]
    for v, (idx, mats, labs) in _group_by_size(specs, valid_idx).items():
        for threads in (1, 3):
            got = nb101.hash_many(mats, labs, threads=threads)
            assert got.tolist() == [hashes[i] for i in idx], (v, threads)
        pm, pl, nv = nb101.prune_many(mats, labs)
        for k, i in enumerate(idx):
            n = len(pruned[i][1])
            assert nv[k] == n
            assert pm[k, :n, :n].tolist() == pruned[i][0]
            assert not pm[k, n:, :].any() and not pm[k, :, n:].any()
            assert pl[k, :n].tolist() == ref.op_labels(pruned[i][1])
            assert (pl[k, n:] == nb101.PAD_LABEL).all()
        keys = nb101.canonical_many(mats, labs)
        keys4 = nb101.canonical_many(mats, labs, threads=4)
        np.testing.assert_array_equal(keys, keys4)
        assert [int(k) for k in keys] == [nb101.Cell(*specs[i]).canonical_key() for i in idx]


# --------------------------------------------------------------------------
# canonical form
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool():
    """Valid specs, many small (so distinct draws collide), plus relabellings
    of the originals by random interior permutations that keep the matrix
    upper triangular (so isomorphic pairs are guaranteed)."""
    rng = np.random.default_rng(SEED + 1)
    specs = [ref.ref_random_full_spec(rng) for _ in range(1000)]  # 7 vertices after pruning
    for _ in range(1500):
        v = int(rng.choice([3, 4, 5, 5, 6, 7, 7]))
        specs.append(ref.ref_random_valid_spec(rng, vertices=v))
    for j in range(1500):
        m, ops = specs[j]
        perm = ref.ref_random_interior_perm(m, rng)
        pm, pops = ref.ref_permute(m, ops, perm)
        specs.append((np.array(pm, dtype=np.uint8), pops))
    forms = [ref.ref_canonical(*ref.ref_prune(m, ops)) for m, ops in specs]
    return specs, forms


def test_pool_has_both_kinds_of_pairs(pool):
    specs, forms = pool
    sizes = Counter(forms)
    assert len(sizes) > 1200
    # many non-trivial classes (5+ vertices) with several members
    assert sum(1 for f, s in sizes.items() if s >= 2 and f[0] >= 5) > 900


def test_canonical_key_iff_reference_canonical(pool):
    specs, forms = pool
    keys = [nb101.Cell(m, ops).canonical_key() for m, ops in specs]
    assert all(isinstance(k, int) and 0 <= k < 2**64 for k in keys)
    # keys equal <=> reference forms equal, for every pair of the pool
    assert len(set(keys)) == len(set(forms)) == len(set(zip(keys, forms)))

    batch = {}
    for v, (idx, mats, labs) in _group_by_size(specs, range(len(specs))).items():
        got = nb101.canonical_many(mats, labs)
        assert got.dtype == np.uint64
        for k, i in enumerate(idx):
            batch[i] = int(got[k])
    assert [batch[i] for i in range(len(specs))] == keys


def test_hash_equal_iff_isomorphic(pool):
    # no MD5 WL collision in the space: equal hash <=> equal canonical form
    specs, forms = pool
    hashes = [nb101.Cell(m, ops).hash() for m, ops in specs]
    assert len(set(hashes)) == len(set(forms)) == len(set(zip(hashes, forms)))


def test_relabelled_pairs_are_isomorphic(pool):
    specs, forms = pool
    for j in range(1500):
        a = nb101.Cell(*specs[j])
        b = nb101.Cell(*specs[2500 + j])  # relabelling of specs[j]
        assert a.is_isomorphic(b) and b.is_isomorphic(a), j
        assert a.canonical_key() == b.canonical_key(), j
        assert a.hash() == b.hash(), j
        assert a.canonical() == b.canonical(), j


def test_is_isomorphic_on_random_pairs(pool):
    specs, forms = pool
    rng = np.random.default_rng(SEED + 2)
    cells = [nb101.Cell(m, ops) for m, ops in specs]
    # pairs drawn among cells of the same pruned size, so both answers occur
    by_n = defaultdict(list)
    for i, c in enumerate(cells):
        by_n[c.num_vertices].append(i)
    seen = Counter()
    for _ in range(4000):
        n = int(rng.choice(sorted(by_n)))
        i, j = rng.choice(by_n[n], size=2)
        expected = forms[i] == forms[j]
        assert cells[i].is_isomorphic(cells[j]) == expected, (specs[i], specs[j])
        seen[expected] += 1
    assert seen[True] > 100 and seen[False] > 100


def test_canonical_representative(pool):
    specs, forms = pool
    for (m, ops), form in list(zip(specs, forms))[::7]:
        cell = nb101.Cell(m, ops)
        canon = cell.canonical()
        assert isinstance(canon, nb101.Cell)
        # pruned, isomorphic to the cell, and a fixed point
        assert canon.matrix.shape == canon.pruned_matrix.shape
        assert ref.ref_canonical(canon.pruned_matrix, canon.pruned_ops) == form
        assert canon.canonical_key() == cell.canonical_key()
        assert canon.hash() == cell.hash()
        assert canon.canonical() == canon


def test_decode_canonical_round_trip(pool):
    specs, forms = pool
    cells = [nb101.Cell(m, ops) for m, ops in specs]
    keys = np.array([c.canonical_key() for c in cells], dtype=np.uint64)
    mats, labs, nv = nb101.decode_canonical(keys)
    assert mats.shape == (len(keys), 7, 7) and labs.shape == (len(keys), 7) and nv.shape == (len(keys),)
    for k, form in enumerate(forms):
        n = int(nv[k])
        assert not mats[k, n:, :].any() and not mats[k, :, n:].any()
        assert (labs[k, n:] == nb101.PAD_LABEL).all()
        m = mats[k, :n, :n].tolist()
        ops = ref.label_ops(labs[k, :n].tolist())
        assert ref.ref_is_valid(m, ops), k
        assert ref.ref_canonical(*ref.ref_prune(m, ops)) == form, k
