"""REINFORCE's batched redraw of invalid samples gives the same draws, the
same proposals and the same generator state as drawing one vector at a time
(the loop before the batched path, kept here as the reference)."""
import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.strategies.base import Proposal, Result
from nasbench_suite.strategies.reinforce import Reinforce


class OneAtATime(Reinforce):
    """The reference: every redraw a fresh vector from the policy."""

    def _propose(self):
        for _ in range(self.max_resamples):
            x = self._sample_vector()
            cell = self.space.from_categorical(x)
            if cell is not None:
                break
            self.invalid_samples += 1
            if self.invalid_reward is not None:
                self._update(x, self.invalid_reward)
        else:
            cell = self.space.sample(self.rng)
            x = np.asarray(self.space.categorical(cell), dtype=np.int64)
        proposal = Proposal(cell)
        self._last = (proposal, x)
        return proposal


def _run(cls, space, seed, bit_generator, stuck, max_resamples, asks=40):
    rng = np.random.Generator(bit_generator(seed))
    st = cls(space, rng, max_resamples=max_resamples)
    if stuck:  # a policy whose mass is mostly on vectors that are not cells
        st.logits[:, 0] += 4.0
    labels, values = [], np.random.default_rng(seed + 1000)
    for _ in range(asks):
        p = st.ask()
        labels.append(space.label(p.cell))
        st.tell(p, Result(value=float(values.random()), cost=1.0, fidelity=1.0))
    return labels, st.invalid_samples, st.duplicates_avoided, rng.random(4).tolist(), st.logits.copy()


@pytest.mark.parametrize("space_name", ["tnb101_macro", "nb101"])
@pytest.mark.parametrize("stuck", [False, True])
@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.PCG64DXSM, np.random.Philox])
@pytest.mark.parametrize("max_resamples", [1, 3, 300])
def test_batched_redraw_equals_one_at_a_time(space_name, stuck, bit_generator, max_resamples):
    space = spaces.get(space_name)
    for seed in (0, 1, 2):
        a = _run(Reinforce, space, seed, bit_generator, stuck, max_resamples)
        b = _run(OneAtATime, space, seed, bit_generator, stuck, max_resamples)
        assert a[:3] == b[:3]
        assert a[3] == b[3]
        np.testing.assert_array_equal(a[4], b[4])


def test_stuck_policy_really_redraws():
    """The case above exercises the batched path: a stuck policy draws many invalid vectors."""
    space = spaces.get("tnb101_macro")
    _, invalid, _, _, _ = _run(Reinforce, space, 0, np.random.PCG64, True, 10_000)
    assert invalid > 200
