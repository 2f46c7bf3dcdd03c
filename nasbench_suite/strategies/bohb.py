"""BOHB (Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter
Optimization at Scale", ICML 2018): Hyperband whose new configurations come
from a TPE-style model instead of uniform sampling.

The brackets, rungs, promotions, asynchronous scheduling, cost and dedup are
:class:`~.hyperband.Hyperband`'s (see :mod:`.hyperband`). The model works on
the space's categorical representation (``SearchSpace.categorical``: NB201 the 6
edge ops; NB101 the 21 upper-triangular edges and the 5 interior ops), as a
ConfigSpace of categorical hyper-parameters does in HpBandSter.

**Model** (the paper's Algorithm 2; HpBandSter's
``optimizers/config_generators/bohb.py``). Every result is kept with its
fidelity. A new configuration uses the largest fidelity whose results can
fit a model: with ``n`` results there, sorted best first, the ``n_good =
max(min_points_in_model, floor(top_n_percent * n / 100))`` best form the
"good" set and the next ``max(min_points_in_model, floor((100 -
top_n_percent) * n / 100))`` the "bad" set; both must hold more than ``d``
points (``d`` = number of categorical variables). Each set gets a product
kernel density: per variable an Aitchison-Aitken kernel, ``1 - lambda`` on
the datum's category and ``lambda / (c - 1)`` on each of the ``c - 1``
others, with ``lambda`` from the normal-reference rule of thumb that
HpBandSter gets from statsmodels (``1.06 * std * n**(-1 / (4 + d))`` of the
category codes), clipped to ``[min_bandwidth, (c - 1) / c]``. Then
``num_samples`` candidates are drawn from the good density with every
``lambda`` multiplied by ``bandwidth_factor`` (capped at ``(c - 1) / c``, the
uniform kernel), and the one maximising ``l(x) / g(x)`` is proposed. A
``random_fraction`` of new configurations, and all of them until some
fidelity has enough results, are uniform samples (``space.sample``).

Where we differ from HpBandSter, and why: its categorical kernel takes the
number of categories from the data (a category missing from a set makes the
density infinite or NaN, which its code works around) and leaves the
bandwidth unclipped (``lambda > (c - 1) / c`` gives a negative kernel
weight); we use the true number of categories and clip. It widens only
continuous bandwidths by ``bandwidth_factor``; with every variable
categorical that factor would do nothing, so we widen the categorical ones as
the paper's Algorithm 2 does for all. Candidates that are invalid cells
(NB101) or, with dedup, isomorphic to a cell already proposed are skipped;
if none is left the proposal is a uniform sample. Densities are compared in
log space.

Defaults (HpBandSter ``BOHB`` / the paper): ``eta=3``, ``top_n_percent=15``,
``num_samples=64``, ``random_fraction=1/3``, ``bandwidth_factor=3``,
``min_bandwidth=1e-3``, ``min_points_in_model=d + 1`` (7 for NB201, 27 for
NB101; smaller values are refused). The NAS-Bench-201 paper's run used
budgets 1 to 12 epochs with HpBandSter's defaults except its own
``min_bandwidth=0.3`` (AutoDL-Projects ``exps/NATS-algos/bohb.py``).

Machine independence: the densities are computed in the compiled core
(``_core.categorical_kde_log_density``: per-variable log-kernels summed left
to right, log-sum-exp over the data with ``exp``/``log``/``log1p`` from
``csrc/detmath.hpp``), not with ``numpy.exp``/``log`` (an AVX512 code path on
CPUs that have it, libm's elsewhere: they differ in the last bit) or libm
(glibc picks an FMA or a non-FMA variant by CPU). The bandwidth's standard
deviation is computed from exact integer sums of the category codes with one
rounding, and ``n**(-1/(4+d))`` with the core's ``exp``/``log`` instead of
libm's ``pow``. So candidate scores, hence proposals, are the same bits on
every x86-64 machine.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .base import check_positive_int, check_probability
from .hyperband import Hyperband


class BOHB(Hyperband):
    """BOHB over the epoch fidelity; see the module docstring."""

    name = "bohb"

    def __init__(self, space, rng, *, eta: float = 3, min_budget: float | None = None,
                 max_budget: float | None = None, top_n_percent: float = 15, num_samples: int = 64,
                 random_fraction: float = 1 / 3, bandwidth_factor: float = 3, min_bandwidth: float = 1e-3,
                 min_points_in_model: int | None = None, dedup: bool | str = True, single_rung: bool = False):
        super().__init__(space, rng, eta=eta, min_budget=min_budget, max_budget=max_budget, dedup=dedup,
                         single_rung=single_rung)
        self.sizes = np.asarray(self.space.categorical_sizes(), dtype=np.int64)
        dim = int(self.sizes.size)
        top = float(top_n_percent)
        if isinstance(top_n_percent, bool) or not 0 < top < 100:
            raise ValueError(f"top_n_percent must be in (0, 100), got {top_n_percent!r}")
        self.top_n_percent = top
        self.num_samples = check_positive_int("num_samples", num_samples)
        self.random_fraction = check_probability("random_fraction", random_fraction)
        bf = float(bandwidth_factor)
        if isinstance(bandwidth_factor, bool) or not math.isfinite(bf) or bf <= 0:
            raise ValueError(f"bandwidth_factor must be a positive number, got {bandwidth_factor!r}")
        self.bandwidth_factor = bf
        mb = float(min_bandwidth)
        if isinstance(min_bandwidth, bool) or not 0 < mb < 1:
            raise ValueError(f"min_bandwidth must be in (0, 1), got {min_bandwidth!r}")
        self.min_bandwidth = mb
        if min_points_in_model is None:
            min_points_in_model = dim + 1
        self.min_points_in_model = check_positive_int("min_points_in_model", min_points_in_model, dim + 1)
        self.model_based_picks = 0
        self._proposed: set[bytes] = set()  # categorical vectors of proposed cells
        self._data: dict[float, tuple[list, list]] = {}  # fidelity -> (vectors, values)

    def ask(self):
        proposal = super().ask()
        self._proposed.add(self._vector(proposal.cell).tobytes())
        return proposal

    def _vector(self, cell) -> np.ndarray:
        return np.asarray(self.space.categorical(cell), dtype=np.int64)

    # ---- model
    def _observe(self, proposal, result) -> None:
        super()._observe(proposal, result)
        vectors, values = self._data.setdefault(float(result.fidelity), ([], []))
        vectors.append(self._vector(proposal.cell))
        values.append(-np.inf if np.isnan(result.value) else float(result.value))

    def _split(self, fidelity: float):
        """(good, bad) categorical data at a fidelity, or None when too few."""
        vectors, values = self._data[fidelity]
        n = len(values)
        if n < self.min_points_in_model:
            return None
        order = np.argsort(-np.asarray(values), kind="stable")
        n_good = max(self.min_points_in_model, int(self.top_n_percent * n // 100))
        n_bad = max(self.min_points_in_model, int((100 - self.top_n_percent) * n // 100))
        data = np.stack(vectors)[order]
        good, bad = data[:n_good], data[n_good:n_good + n_bad]
        dim = self.sizes.size
        if good.shape[0] <= dim or bad.shape[0] <= dim:
            return None
        return good, bad

    def _bandwidth(self, data: np.ndarray) -> np.ndarray:
        n, dim = data.shape
        # Population std of each column of category codes: the sums are exact
        # integers, the variance (n * sum x^2 - (sum x)^2) / n^2 is rounded
        # once (Python's int / int), then sqrt: no summation order involved.
        s1 = data.sum(axis=0, dtype=np.int64).tolist()
        s2 = (data.astype(np.int64) ** 2).sum(axis=0, dtype=np.int64).tolist()
        std = np.sqrt(np.array([(n * q - s * s) / (n * n) for s, q in zip(s1, s2)], dtype=np.float64))
        bw = 1.06 * std * _core.det_exp(_core.det_log(float(n)) * (-1.0 / (4 + dim)))
        return np.clip(bw, self.min_bandwidth, (self.sizes - 1) / self.sizes)

    def _log_density(self, data: np.ndarray, bw: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Log of the product Aitchison-Aitken density of ``data`` at each row of ``x``."""
        return _core.categorical_kde_log_density(np.asarray(data, dtype=np.int64), np.asarray(bw, dtype=np.float64),
                                                 self.sizes, np.asarray(x, dtype=np.int64))

    def _new_config(self, budget: float):
        model = None
        for fidelity in sorted(self._data, reverse=True):
            model = self._split(fidelity)
            if model is not None:
                break
        if model is None or self.rng.random() < self.random_fraction:
            return self.space.sample(self.rng)
        good, bad = model
        bw_good, bw_bad = self._bandwidth(good), self._bandwidth(bad)
        # Candidates from the good density with widened kernels (Algorithm 2).
        lam = np.minimum(self.bandwidth_factor * bw_good, (self.sizes - 1) / self.sizes)
        shape = (self.num_samples, self.sizes.size)
        x = good[self.rng.integers(good.shape[0], size=self.num_samples)]
        change = self.rng.random(shape) < lam
        x = np.where(change, (x + self.rng.integers(1, self.sizes, size=shape)) % self.sizes, x)
        score = self._log_density(good, bw_good, x) - self._log_density(bad, bw_bad, x)
        tried: set[bytes] = set()
        for i in np.argsort(-score, kind="stable"):
            key = x[i].tobytes()
            if key in tried or (self.dedup and key in self._proposed):
                continue  # the same vector again, or a cell already proposed
            tried.add(key)
            cell = self.space.from_categorical(x[i])
            if cell is None or (self.dedup and self.key(cell) in self.seen):
                continue
            self.model_based_picks += 1
            return cell
        return self.space.sample(self.rng)
