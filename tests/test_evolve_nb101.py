"""Regularized evolution's NB101 proposal step in the core (``_core.nb101_evolve``)
and the strategy built on it: children are valid cells with correct keys, the
tournament draws distinct current members and mutates the best (the oldest
among ties), the same seed gives the same child, and dedup never lets a seen
class through (after ``max_tries`` seen children the call says so)."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import InvalidSpecError, _core
from nasbench_suite.spaces import nb101
from nasbench_suite.strategies import Result, make_strategy

TINY = 1e-12  # a mutation rate that (in practice) copies the parent


def population(n: int, capacity: int | None = None, seed: int = 0):
    """n sampled members in a ring buffer of ``capacity`` slots (the rest zeros:
    invalid cells, so drawing one raises)."""
    cap = n if capacity is None else capacity
    cells = nb101.sample_many(np.random.default_rng(seed), n)
    m = np.zeros((cap, 7, 7), dtype=np.uint8)
    lab = np.zeros((cap, 7), dtype=np.int64)
    m[:n] = [c.matrix for c in cells]
    lab[:n] = [c._olab for c in cells]
    return cells, m, lab


def evolve(m, lab, values, oldest=0, count=None, sample_size=None, seed=0, seen=None, max_tries=1, rate=1.0):
    count = len(values) if count is None else count
    sample_size = count if sample_size is None else sample_size
    return _core.nb101_evolve(m, lab, np.asarray(values, dtype=np.float64), oldest, count, sample_size,
                              seed, seen, max_tries, rate)


def test_children_are_valid_cells_with_their_canonical_keys():
    cells, m, lab = population(20)
    values = np.arange(20.0)
    for seed in range(200):
        child, rejected = evolve(m, lab, values, sample_size=5, seed=seed)
        assert rejected == 0
        cm, clab, pm, pl, key = child
        assert cm.shape == (7, 7) and clab.shape == (7,)
        assert not any(a.flags.writeable for a in (cm, clab, pm, pl))
        ref = nb101.Cell.from_labels(cm, clab)  # validates and prunes again
        np.testing.assert_array_equal(ref.pruned_matrix, pm)
        np.testing.assert_array_equal(ref.labels, pl)
        assert key == ref.canonical_key()
        cell = nb101.Cell._from_parts(cm, clab, pm, pl, key)
        assert cell == ref and cell.hash() == ref.hash()


def test_same_seed_same_child_and_seeds_differ():
    _, m, lab = population(30)
    values = np.random.default_rng(1).random(30)
    a = evolve(m, lab, values, sample_size=10, seed=42)[0]
    b = evolve(m, lab, values, sample_size=10, seed=42)[0]
    assert all(np.array_equal(x, y) for x, y in zip(a[:4], b[:4])) and a[4] == b[4]
    keys = {evolve(m, lab, values, sample_size=10, seed=s)[0][4] for s in range(50)}
    assert len(keys) > 10


def test_parent_is_the_best_of_the_whole_population_when_sampling_all():
    cells, m, lab = population(12)
    values = np.random.default_rng(2).random(12)
    best = int(np.argmax(values))
    child = evolve(m, lab, values, seed=5, rate=TINY)[0]
    np.testing.assert_array_equal(child[0], cells[best].matrix)
    assert child[4] == cells[best].canonical_key()


def test_ties_go_to_the_oldest_member_in_ring_order():
    # Slots 0..5; the oldest member is in slot 4, so age order is 4, 5, 0, 1, 2, 3.
    cells, m, lab = population(6, seed=3)
    values = np.array([7.0, 1.0, 7.0, 1.0, 1.0, 7.0])  # best value in slots 0, 2, 5
    child = evolve(m, lab, values, oldest=4, seed=0, rate=TINY)[0]
    np.testing.assert_array_equal(child[0], cells[5].matrix)  # slot 5 is the oldest of the three
    child = evolve(m, lab, values, oldest=1, seed=0, rate=TINY)[0]
    np.testing.assert_array_equal(child[0], cells[2].matrix)


@pytest.mark.parametrize("values, best", [
    ([-np.inf, 3.0, -np.inf, -np.inf], 1), ([np.nan, np.nan, -5.0, np.nan], 2), ([np.nan, -np.inf, np.nan, 1.0], 3),
])
def test_nan_and_minus_inf_values_never_beat_a_number(values, best):
    cells, m, lab = population(4, seed=4)
    child = evolve(m, lab, values, seed=0, rate=TINY)[0]
    np.testing.assert_array_equal(child[0], cells[best].matrix)


def test_tournament_draws_current_members_uniformly_without_replacement():
    # 10 members in slots 3..12 of a 16-slot buffer (age 0 in slot 3); the other
    # slots are invalid cells, so drawing one would raise.
    n, k, cap, start = 10, 5, 16, 3
    cells, m, lab = population(n, capacity=cap, seed=6)
    m, lab = np.roll(m, start, axis=0), np.roll(lab, start, axis=0)
    values = np.zeros(cap)
    values[start + 7] = 1.0  # the unique best, age 7
    keys = [c.canonical_key() for c in cells]
    hits, counts = 0, np.zeros(n)
    trials = 3000
    for seed in range(trials):
        key = evolve(m, lab, values, oldest=start, count=n, sample_size=k, seed=seed, rate=TINY)[0][4]
        hits += key == keys[7]
        # with sample size 1 the parent is uniform over the members
        key1 = evolve(m, lab, values, oldest=start, count=n, sample_size=1, seed=seed, rate=TINY)[0][4]
        counts[keys.index(key1)] += 1
    # P(best in a sample of k distinct of n) = k / n = 0.5 (with replacement it
    # would be 1 - 0.9**5 = 0.41); 3000 trials: sd ~ 0.009.
    assert abs(hits / trials - k / n) < 0.04
    assert counts.min() > 0.7 * trials / n and counts.max() < 1.3 * trials / n


def test_seen_children_are_refused_and_all_seen_is_reported():
    cells, m, lab = population(5, seed=7)
    values = np.arange(5.0)
    seen = {c.canonical_key() for c in cells}
    # A copy of a member is always seen: every try is refused.
    assert evolve(m, lab, values, sample_size=2, seen=seen, max_tries=7, rate=TINY) == (None, 7)
    # Refuse the first children the seed makes; the call goes on to an unseen one.
    first = {evolve(m, lab, values, sample_size=2, seed=9, seen=set(), max_tries=1)[0][4]}
    child, rejected = evolve(m, lab, values, sample_size=2, seed=9, seen=first, max_tries=100)
    assert rejected >= 1 and child[4] not in first
    # frozensets are sets too; without dedup (None) the first child is taken
    assert evolve(m, lab, values, sample_size=2, seen=frozenset(seen), max_tries=3, rate=TINY)[0] is None
    assert evolve(m, lab, values, sample_size=2, seen=None, rate=TINY)[1] == 0


@pytest.mark.parametrize("kw, match", [
    (dict(count=0), "count"), (dict(count=6), "count"), (dict(oldest=5), "oldest"),
    (dict(sample_size=0), "sample_size"), (dict(sample_size=6), "sample_size"),
    (dict(max_tries=0), "max_tries"), (dict(rate=0.0), "mutation_rate"),
])
def test_bad_arguments_raise(kw, match):
    _, m, lab = population(5)
    with pytest.raises(InvalidSpecError, match=match):
        evolve(m, lab, np.zeros(5), **kw)


def test_bad_population_and_seen_raise():
    _, m, lab = population(5)
    with pytest.raises(InvalidSpecError, match="population"):
        evolve(m, lab[:4], np.zeros(5))
    with pytest.raises(TypeError, match="seen"):
        evolve(m, lab, np.zeros(5), seen=[1, 2])
    _, m, lab = population(2, capacity=3)
    with pytest.raises(InvalidSpecError, match="slot 2"):
        evolve(m, lab, [0.0, 0.0, 1.0], count=3, sample_size=3)


# ------------------------------------------------------------------ strategy

def drive(s, n: int) -> list[str]:
    out = []
    for i in range(n):
        p = s.ask()
        out.append(p.cell.hash())
        s.tell(p, Result(float((i * 37) % 101), 1.0, 12.0))
    return out


def test_strategy_same_seed_same_cells_and_no_isomorphic_repeat():
    runs = [drive(make_strategy("regularized_evolution", "nb101", np.random.default_rng(seed),
                                population_size=8, sample_size=3), 300) for seed in (5, 5, 6)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    s = make_strategy("regularized_evolution", "nb101", np.random.default_rng(5), population_size=8, sample_size=3)
    drive(s, 300)
    keys = [c.canonical_key() for c, _ in s.history]
    assert len(set(keys)) == 300 and s.duplicates_avoided > 0


def test_strategy_arrays_mirror_the_population_in_age_order():
    s = make_strategy("regularized_evolution", "nb101", np.random.default_rng(1), population_size=7, sample_size=2)
    drive(s, 40)
    assert len(s.population) == 7
    oldest = s._told % 7
    for age, (cell, value) in enumerate(s.population):
        slot = (oldest + age) % 7
        np.testing.assert_array_equal(s._kernel.matrices[slot], cell.matrix)
        np.testing.assert_array_equal(s._kernel.labels[slot], cell._olab)
        assert s._kernel.values[slot] == value


def test_strategy_without_dedup_takes_the_first_child():
    s = make_strategy("regularized_evolution", "nb101", np.random.default_rng(2), population_size=4,
                      sample_size=2, dedup=False)
    hashes = drive(s, 200)
    assert s.duplicates_avoided == 0 and len(set(hashes)) < 200


def test_strategy_falls_back_to_an_unseen_sample_after_max_retries(monkeypatch):
    s = make_strategy("regularized_evolution", "nb101", np.random.default_rng(3), population_size=5, sample_size=2)
    drive(s, 5)
    real = _core.nb101_evolve
    # Children that copy their parents are all seen: every retry is refused.
    monkeypatch.setattr(nb101._core, "nb101_evolve", lambda *a: real(*a, TINY))
    before = s.duplicates_avoided
    p = s.ask()
    assert s.duplicates_avoided - before == s.max_retries
    assert p.cell.canonical_key() not in {c.canonical_key() for c, _ in s.history}
