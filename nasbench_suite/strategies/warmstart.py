"""Zero-cost warm start (Abdelfattah, Mehrotra, Dudziak & Lane, "Zero-Cost
Proxies for Lightweight NAS", ICLR 2021, section "zero-cost warmup"; NASLib's
zero-cost optimisers do the same).

Before the first evaluation, score ``warm_start_n`` random cells (distinct up
to the strategy's dedup key) by a zero-cost proxy and keep the
``warm_start_k`` best; the strategy evaluates those first, where it would
otherwise evaluate random cells: regularized evolution's initial population,
BANANAS's initial evaluated set, local search's first start (its restarts
stay random). Everything after the initial cells is the cold strategy's.

Kwargs of the strategies that offer it (``warm_start=None`` is off, and the
run is byte-identical to a run without these kwargs: no draw is made):

- ``warm_start``: the proxy's name (``"synflow"``, ``"params"``, ...; the
  table's static metric ``zc_<name>`` of the run's dataset holds the scores,
  written by ``nasbench-suite proxies TABLE --proxies NAME --dataset DS``).
- ``warm_start_n=3000``: cells scored. 3000 is the pool the paper's
  NAS-Bench-201 warmup drew from (as the issue cites it); on the embedded
  table (8,765 rows) it is a third of the classes.
- ``warm_start_k=None``: cells kept, default (and at most) the strategy's
  initial set (RE ``population_size``, BANANAS and local search
  ``num_init``). With K below that, the rest of the initial set is random as
  in the cold strategy.
- ``warm_start_seconds=None``: simulated seconds to compute the proxy for one
  network; default from the table's provenance (``"proxies"`` sessions: CPU
  seconds / rows of the sessions that computed this proxy; when a session
  computed several proxies together its time is shared by all of them, so
  the figure is an upper bound for one, and the trajectory's meta says so).

Honest time: the runner (:func:`~nasbench_suite.runner.search.run_search`)
starts the simulated clock at ``N x seconds per network`` (N the cells
actually scored; computed one after the other before any worker starts,
also with several workers: a conservative charge): the proxy time counts against a seconds budget and is on
the time axis of every plot. It is recorded in ``meta["warm_start"]`` and in
``meta["cost_model"]``. The N scores are not table queries: they do not
count against a query budget and are not rows of the trajectory.

What is ours: cells scored are distinct (the paper samples with
replacement); a NaN score (the proxy undefined for that network) ranks last;
ties keep sampling order. The strategy gets the scores through
:meth:`WarmStartMixin.warm_up` from a scorer the runner builds from the
table (:func:`proxy_scorer`): it never sees the table.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .base import check_positive_int

#: The paper's NAS-Bench-201 warmup pool.
DEFAULT_N = 3000


class ProxyScorer:
    """``scorer(cells) -> float64 array`` of a proxy on a table's dataset
    (higher predicts better), with ``seconds_per_network`` and a ``source``
    sentence saying where that figure comes from. Counts the cells scored."""

    def __init__(self, fn, proxy: str, seconds_per_network: float, source: str):
        self._fn = fn
        self.proxy = proxy
        self.seconds_per_network = float(seconds_per_network)
        self.source = source
        self.scored = 0

    def __call__(self, cells) -> np.ndarray:
        out = np.asarray(self._fn(list(cells)), dtype=np.float64).reshape(-1)
        self.scored += out.size
        return out


def proxy_seconds(provenance: dict, proxy: str) -> tuple[float | None, str]:
    """(seconds per network, how it was found) of ``proxy`` from a table's
    ``"proxies"`` provenance; (None, why) when the table records none.
    Sessions that computed the proxy alone are used when there are any, else
    every session that computed it (an upper bound: their CPU time covers all
    the proxies they computed)."""
    sessions = [s for s in (provenance.get("proxies") or {}).get("sessions", [])
                if proxy in (s.get("proxies") or []) and s.get("rows", 0) > 0]
    if not sessions:
        return None, f"the table's provenance records no session that computed {proxy!r}"
    alone = [s for s in sessions if list(s.get("proxies")) == [proxy]]
    use = alone or sessions
    rows = sum(int(s["rows"]) for s in use)
    secs = math.fsum(float(s.get("cpu_seconds", 0.0)) for s in use)
    if alone:
        how = f"{secs:.1f} CPU s / {rows} rows of the table's proxies sessions that computed {proxy} alone"
    else:
        names = sorted({n for s in use for n in s.get("proxies")})
        how = (f"{secs:.1f} CPU s / {rows} rows of the table's proxies sessions that computed {proxy} "
               f"together with {', '.join(n for n in names if n != proxy)} (an upper bound for {proxy} alone)")
    return secs / rows, how


def proxy_scorer(bench, dataset: str, proxy: str, seconds_per_network: float | None = None) -> ProxyScorer:
    """The :class:`ProxyScorer` of ``proxy`` on ``bench``'s ``dataset``: the
    static metric ``zc_<proxy>``. A table without it raises ValueError naming
    the metric and the command that adds it; without a recorded time per
    network (and no ``seconds_per_network``) ValueError asking for
    ``warm_start_seconds``."""
    from ..proxies.table import metric_name

    metric = metric_name(proxy)
    if metric not in bench.metrics(dataset):
        raise ValueError(
            f"warm_start={proxy!r}: {bench.path} has no metric {metric!r} for dataset {dataset!r}; compute it "
            f"with `nasbench-suite proxies {bench.path} --proxies {proxy} --dataset {dataset}`")
    if seconds_per_network is None:
        seconds_per_network, source = proxy_seconds(bench.provenance, proxy)
        if seconds_per_network is None:
            raise ValueError(f"warm_start={proxy!r}: {source} in {bench.path}, so the simulated clock cannot be "
                             "charged for it; give warm_start_seconds (seconds per network)")
    else:
        source = "given (warm_start_seconds)"

    def fn(cells):
        return bench.query(cells, metric, None, dataset)

    return ProxyScorer(fn, proxy, seconds_per_network, source)


def _check_seconds(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"warm_start_seconds must be a finite number >= 0 (seconds per network), got {value!r}")
    return float(value)


class WarmStartMixin:
    """For a :class:`~nasbench_suite.strategies.base.Strategy` with an initial
    set of random cells: :meth:`_init_warm_start` in ``__init__``, then
    :meth:`_warm_cell` where the strategy draws an initial cell."""

    warm_start: str | None = None
    warm_start_seconds: float | None = None

    def _init_warm_start(self, warm_start, warm_start_n, warm_start_k, warm_start_seconds, initial: int) -> None:
        if warm_start is None:
            if warm_start_k is not None or warm_start_seconds is not None or warm_start_n != DEFAULT_N:
                raise ValueError("warm_start_n, warm_start_k and warm_start_seconds need warm_start "
                                 "(a proxy name, e.g. warm_start='synflow')")
            self.warm_start = None
            return
        if not isinstance(warm_start, str) or not warm_start:
            raise ValueError(f"warm_start must be a proxy name such as 'synflow' (or None), got {warm_start!r}")
        self.warm_start = warm_start
        self.warm_start_n = check_positive_int("warm_start_n", warm_start_n)
        self.warm_start_k = check_positive_int("warm_start_k", initial if warm_start_k is None else warm_start_k)
        if self.warm_start_k > initial:
            raise ValueError(f"warm_start_k ({self.warm_start_k}) must not exceed the strategy's initial set "
                             f"({initial}: RE's population_size, the others' num_init)")
        if self.warm_start_k > self.warm_start_n:
            raise ValueError(f"warm_start_k ({self.warm_start_k}) must not exceed warm_start_n ({self.warm_start_n})")
        self.warm_start_seconds = _check_seconds(warm_start_seconds)
        self._warm: list | None = None  # the top-K, best first, until proposed

    def warm_up(self, scorer) -> dict:
        """Scores ``warm_start_n`` distinct random cells with ``scorer``
        (cells -> proxy values) and keeps the ``warm_start_k`` best, to be
        proposed first. Called once by the runner before the first ask.
        Returns what the run records: proxy, n, k, the cells scored and the
        simulated seconds they took (``scored x scorer.seconds_per_network``)."""
        if self.warm_start is None:
            raise RuntimeError(f"{self.name}: warm_up called without warm_start")
        if self._warm is not None:
            raise RuntimeError(f"{self.name}: warm_up called twice")
        cells, keys = [], set()
        for _ in range(20 * self.warm_start_n):
            if len(cells) == self.warm_start_n:
                break
            cell = self.space.sample(self.stream)
            key = self.key(cell)
            if key not in keys:
                keys.add(key)
                cells.append(cell)
        before = scorer.scored
        scores = np.asarray(scorer(cells), dtype=np.float64)
        if scores.shape != (len(cells),):
            raise ValueError(f"{self.name}: the scorer returned {scores.shape} scores for {len(cells)} cells")
        ranked = np.argsort(-np.where(np.isnan(scores), -np.inf, scores), kind="stable")
        top = ranked[: self.warm_start_k]
        self._warm = [cells[i] for i in top]
        self._warm.reverse()  # pop() from the end: best first
        scored = scorer.scored - before
        per = scorer.seconds_per_network if self.warm_start_seconds is None else self.warm_start_seconds
        source = scorer.source if self.warm_start_seconds is None else "given (warm_start_seconds)"
        return {"proxy": self.warm_start, "n": len(cells), "k": len(top), "scored": int(scored),
                "seconds_per_network": per, "seconds": scored * per, "seconds_source": source,
                "top_score": float(scores[top[0]]) if len(top) else math.nan}

    def _initial_cell(self, source):
        """The next warm-start cell, else a random cell drawn from ``source``
        (the strategy's stream or generator: nothing is drawn for a warm cell)."""
        warm = self._warm_cell()
        return warm if warm is not None else self.space.sample(source)

    def _warm_cell(self):
        """The next warm-start cell (best proxy score first), or None when
        they are all proposed. Raises when warm start is on but the runner
        never called :meth:`warm_up`."""
        if self.warm_start is None:
            return None
        if self._warm is None:
            raise RuntimeError(
                f"{self.name}: warm_start={self.warm_start!r} needs proxy scores before the first ask: run it with "
                "run_search (which hands it the table's zc_ scores) or call strategy.warm_up(scorer) first")
        return self._warm.pop() if self._warm else None
