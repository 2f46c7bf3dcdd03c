"""REINFORCE (Williams, 1992) as run in the NAS-Bench-201 paper (Dong & Yang,
"NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search", ICLR 2020; code: D-X-Y/AutoDL-Projects
``exps/NAS-Bench-201-algos/reinforce.py``).

The policy is one independent categorical distribution per decision, each
with its own logits (NB201: 6 edges x 5 ops, no controller network). Every
proposal is a sample from the current policy; every result updates the
logits with one Adam step on ``-log p(sample) * (reward - baseline)``, where
the reward is the search metric (the validation accuracy) and the baseline an
exponential moving average of the rewards.

Defaults and their sources (AutoDL-Projects):

- logits initialised to ``init_std=1e-3`` times a standard normal
  (``Policy.arch_parameters`` in ``reinforce.py``);
- Adam with ``learning_rate=0.5`` and PyTorch's defaults otherwise (beta1
  0.9, beta2 0.999, epsilon 1e-8): ``torch.optim.Adam`` in ``reinforce.py``;
  the learning rate is the one of the reproduction command in
  ``docs/NAS-Bench-201.md`` (``REINFORCE.sh 0.5``), picked from the grid
  0.01-0.5 of ``scripts-search/NAS-Bench-201-algos/hps/GRID-RL.sh``. (An
  older script hard-codes 0.001; NATS-Bench later uses 0.01.)
- baseline: moving average with ``ema_momentum=0.9`` (``REINFORCE.sh``
  ``--EMA_momentum 0.9``), bias-corrected (numerator and denominator both
  averaged, as their ``ExponentialMovingAverage``), updated with the reward
  before the advantage is taken, so the first update has advantage 0.

NB101 uses the space adapter's categorical form: the 21 upper-triangular
entries of a 7-vertex adjacency matrix (2 categories each) and the 5 interior
ops (3 each). A sample that is not a valid cell (input cannot reach output,
or more than 9 edges) is redrawn until valid; by default an invalid sample
gets no update (``invalid_reward=None``). With ``invalid_reward=r`` each
invalid sample is also treated as an evaluation with reward ``r`` (baseline
and policy are updated), as in the NB101 REINFORCE of automl/nas_benchmarks
(``experiment_scripts/run_rl.py``: ``NASCifar10A`` scores an invalid spec
with error 1, i.e. reward 0; ``invalid_reward=0.0`` here). After ``max_resamples`` invalid draws in a row a
random valid cell from the space's sampler is proposed instead (its own
categorical vector is then used for the update).

Choices of ours, where the original has one worker and no duplicates:

- With several workers, asks may outnumber tells: each ask samples from the
  policy as it is then, and each tell updates it with the vector sampled for
  that proposal (kept until told), the gradient taken at the current logits.
  A proposal told that was never asked uses the cell's categorical vector.
- Dedup: when the base class asks again because a sample is isomorphic to a
  cell already proposed, the rejected sample changes nothing (sampling never
  updates the policy; only the accepted proposal's vector is kept). Once the
  policy has converged, most samples are duplicates and the base class falls
  back to random unseen cells; their updates use the cells' own vectors.
- A result whose value is NaN updates neither baseline nor policy.

Machine independence: the policy's probabilities come from the compiled
core (``_core.softmax_rows``: ``exp`` from ``csrc/detmath.hpp``, the sum
taken left to right), not from ``numpy.exp`` (an AVX512 code path on CPUs
that have it, libm's elsewhere; they differ in the last bit on ~5% of
inputs) nor libm's ``exp`` (glibc picks an FMA or a non-FMA variant by CPU).
Adam's bias corrections use ``beta**t`` as a running product instead of
``**`` (libm's ``pow``, same issue). Everything else is elementwise IEEE
arithmetic (+, -, *, /, sqrt: correctly rounded, one result on any CPU) or a
cumulative sum (sequential by definition), so the logits, the policy and the
trajectory are the same bits on every x86-64 machine. (Left: the initial
logits come from ``Generator.standard_normal``, whose ziggurat calls libm's
``log1p`` for draws beyond 3.65 standard deviations; measured, glibc's two
variants differ on 0.05% of those inputs, so about one draw in 10^7 can
differ in its last bit.)
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _core
from .base import Proposal, Strategy, check_positive_int


def _check_float(name: str, value, low: float, high: float, *, low_open: bool, high_open: bool) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in {lo}{low:g}, {high:g}{hi}, got {value!r}")
    return float(value)


#: Bit generators whose ``advance(d)`` skips exactly d ``random()`` doubles.
_ADVANCE_BY_DOUBLE = (np.random.PCG64, np.random.PCG64DXSM)


class Reinforce(Strategy):
    name = "reinforce"

    def __init__(self, space, rng, *, learning_rate: float = 0.5, ema_momentum: float = 0.9,
                 init_std: float = 1e-3, invalid_reward: float | None = None,
                 max_resamples: int = 10_000, dedup: bool | str = True):
        super().__init__(space, rng, dedup=dedup)
        self.learning_rate = _check_float("learning_rate", learning_rate, 0.0, math.inf,
                                          low_open=True, high_open=True)
        # Momentum 0 would make the baseline the reward itself: no advantage, no learning.
        self.ema_momentum = _check_float("ema_momentum", ema_momentum, 0.0, 1.0, low_open=True, high_open=True)
        self.init_std = _check_float("init_std", init_std, 0.0, math.inf, low_open=False, high_open=True)
        if invalid_reward is not None:
            invalid_reward = _check_float("invalid_reward", invalid_reward, -math.inf, math.inf,
                                          low_open=True, high_open=True)
        self.invalid_reward = invalid_reward
        self.max_resamples = check_positive_int("max_resamples", max_resamples)

        self.sizes = np.asarray(self.space.categorical_sizes(), dtype=np.int64)
        n, width = self.sizes.size, int(self.sizes.max())
        # One row of logits per decision, padded to the widest; padding is masked out.
        self._mask = np.arange(width)[None, :] < self.sizes[:, None]
        self.logits = np.where(self._mask, self.init_std * self.rng.standard_normal((n, width)), 0.0)
        self._m = np.zeros_like(self.logits)
        self._v = np.zeros_like(self.logits)
        self._t = 0
        self._b1t = 1.0  # beta1**t and beta2**t of Adam, by repeated multiplication
        self._b2t = 1.0
        self._ema_num = 0.0
        self._ema_den = 0.0
        self._last: tuple[Proposal, np.ndarray] | None = None
        self._pending: dict[int, tuple[Proposal, np.ndarray]] = {}
        self.updates = 0
        self.invalid_samples = 0

    # ---- policy
    def probabilities(self) -> np.ndarray:
        """(decisions, widest) probabilities of the current policy; padding is 0."""
        return _core.softmax_rows(self.logits, self.sizes)

    @property
    def baseline(self) -> float | None:
        """The moving-average baseline (None before the first reward)."""
        return self._ema_num / self._ema_den if self._ema_den > 0 else None

    def _sample_vector(self) -> np.ndarray:
        cdf = np.cumsum(self.probabilities(), axis=1)
        u = self.rng.random(self.sizes.size)[:, None]
        return np.minimum((u >= cdf).sum(axis=1), self.sizes - 1)

    def _update(self, x: np.ndarray, reward: float) -> None:
        m = self.ema_momentum
        self._ema_num = m * self._ema_num + (1.0 - m) * reward
        self._ema_den = m * self._ema_den + (1.0 - m)
        advantage = reward - self._ema_num / self._ema_den
        # d/dlogits of -log p(x) * advantage = (p - onehot(x)) * advantage
        grad = self.probabilities()
        grad[np.arange(x.size), x] -= 1.0
        grad *= advantage
        grad[~self._mask] = 0.0
        self._t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8  # torch.optim.Adam defaults
        self._b1t *= b1
        self._b2t *= b2
        self._m = b1 * self._m + (1.0 - b1) * grad
        self._v = b2 * self._v + (1.0 - b2) * grad * grad
        m_hat = self._m / (1.0 - self._b1t)
        v_hat = self._v / (1.0 - self._b2t)
        self.logits -= self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        self.updates += 1

    # ---- ask/tell
    def _redraw_batched(self, tries: int):
        """Up to ``tries`` more draws from the unchanged policy (``invalid_reward``
        None: an invalid draw updates nothing) until one is a cell, drawn in
        growing batches: (vector, cell), or (None, None) when all are invalid.
        The same draws, in the same order, and the same generator state after
        as drawing one vector at a time: a batch's uniforms are the next
        ``random()`` values, and the generator is rewound to just after the
        valid draw (PCG64's ``advance``: one 64-bit step per double; the
        buffered 32-bit half that 32-bit draws keep is restored)."""
        n = self.sizes.size
        cdf = np.cumsum(self.probabilities(), axis=1)[None]
        high = self.sizes - 1
        bg = self.rng.bit_generator
        k = 16
        while tries > 0:
            k = min(k, tries)
            saved = bg.state
            xs = np.minimum((self.rng.random((k, n))[:, :, None] >= cdf).sum(axis=2), high)
            for j in range(k):
                cell = self.space.from_categorical(xs[j])
                if cell is not None:
                    bg.state = saved
                    bg.advance((j + 1) * n)
                    if saved.get("has_uint32"):  # advance drops the buffered half of a 64-bit draw; keep it
                        state = bg.state
                        state["has_uint32"], state["uinteger"] = saved["has_uint32"], saved["uinteger"]
                        bg.state = state
                    self.invalid_samples += j
                    return xs[j].copy(), cell
            self.invalid_samples += k
            tries -= k
            k = min(4 * k, 4096)
        return None, None

    def _propose(self):
        cell = None
        for i in range(self.max_resamples):
            x = self._sample_vector()
            cell = self.space.from_categorical(x)
            if cell is not None:
                break
            self.invalid_samples += 1
            if self.invalid_reward is not None:
                self._update(x, self.invalid_reward)
            elif i + 1 < self.max_resamples and type(self.rng.bit_generator) in _ADVANCE_BY_DOUBLE:
                # a policy stuck where most vectors are not cells: redraw in batches (the same draws)
                x, cell = self._redraw_batched(self.max_resamples - i - 1)
                break
        if cell is None:
            cell = self.space.sample(self.rng)
            x = np.asarray(self.space.categorical(cell), dtype=np.int64)
        proposal = Proposal(cell)
        self._last = (proposal, x)
        return proposal

    def ask(self) -> Proposal:
        proposal = super().ask()
        if self._last is not None and self._last[0] is proposal:
            x = self._last[1]
        else:  # the base class's random fallback
            x = np.asarray(self.space.categorical(proposal.cell), dtype=np.int64)
        self._last = None
        self._pending[id(proposal)] = (proposal, x)
        return proposal

    def _observe(self, proposal, result) -> None:
        entry = self._pending.get(id(proposal))
        if entry is not None and entry[0] is proposal:
            del self._pending[id(proposal)]
            x = entry[1]
        else:
            x = self._take_pending_by_cell(proposal.cell)
        if math.isnan(result.value):
            return
        self._update(x, float(result.value))

    def _take_pending_by_cell(self, cell) -> np.ndarray:
        """A proposal told by value (a new Proposal of the same cell)."""
        for key, (p, x) in self._pending.items():
            if p.cell == cell:
                del self._pending[key]
                return x
        return np.asarray(self.space.categorical(cell), dtype=np.int64)
