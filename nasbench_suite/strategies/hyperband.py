"""Successive halving (Jamieson & Talwalkar, "Non-stochastic Best Arm
Identification and Hyperparameter Optimization", AISTATS 2016) and Hyperband
(Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel
Bandit-Based Approach to Hyperparameter Optimization", JMLR 2018) over the
epoch fidelity of a table.

**Rungs.** With ``eta`` (default 3, Li et al. and HpBandSter) and budgets
``min_budget < max_budget`` (epochs), ``s_max = floor(log_eta(max/min))``
and the geometric budgets are ``max * eta**-k``, k = 0..s_max, anchored at
``max_budget`` as in HpBandSter. A table only answers the fidelities on its
axis, so each budget is snapped to the nearest axis fidelity in
``[min_budget, max_budget]`` (nearest in log scale, ties to the cheaper one)
and duplicate rungs are dropped; the ``m`` distinct rung budgets
``r_0 < ... < r_{m-1} = max_budget`` form the ladder (see :meth:`schedule`).

**Brackets** (Li et al., Algorithm 1, with s_max = m - 1): bracket ``s``
starts ``n = ceil((s_max + 1) * eta**s / (s + 1))`` new configurations at
rung ``r_{s_max - s}``; its rung ``i`` holds ``floor(n * eta**-i)`` of them
at ``r_{s_max - s + i}`` epochs, the best ``1/eta`` of rung ``i`` by observed
value (NaN counts as worst; ties go to the earlier one) being promoted to rung
``i + 1``. Hyperband cycles ``s = s_max, s_max - 1, ..., 0`` (HpBandSter's
order; it uses ``floor((s_max + 1) / (s + 1)) * eta**s`` configurations, we
keep the paper's count). :class:`SuccessiveHalving` repeats the most
exploratory bracket, ``s = s_max``, with ``num_configs`` (default
``eta**s_max``) new configurations each time.

**Defaults.** ``min_budget``: the smallest fidelity on the table's axis.
``max_budget``: the run's search fidelity (``valid_acc@12`` searches up to 12
epochs), so that the top rung measures exactly what every other strategy in
a comparison measures, and the incumbent (best search-metric value) mostly
comes from it. The NAS-Bench-201 paper's BOHB baseline did the same: budgets 1
to 12 epochs of the 12-epoch proxy, eta 3 (AutoDL-Projects,
``exps/NATS-algos/bohb.py``). Pass ``max_budget`` (any axis fidelity) to
search up to another one, e.g. the end of the axis.

**Single-fidelity tables** (``single_rung=True``): where the table's axis
has one fidelity, or ``min_budget`` is not a factor ``eta`` below
``max_budget``, the ladder is the one rung ``max_budget`` (every bracket is
one new configuration there) instead of an error, so a grid over many tables
can run the same strategy everywhere; Hyperband then is random search, BOHB
its model-based sampler at one fidelity. Left False (the default), such a
table is refused as before.

**Cost.** Every evaluation is a full training run to its rung's fidelity: a
promoted configuration is trained again from scratch, no checkpoint is
reused, and run_search charges the table's cost (``train_time``) at that
fidelity. (NB201's simulated BOHB charges the same way.)

**Asynchronous workers** (HpBandSter's scheme): a bracket's rung is
synchronous, it promotes only once all its results are in; meanwhile
:meth:`ask` serves the next job of the oldest bracket that has one, and when
none has, starts the next bracket. So a worker never waits; brackets
overlap. With one worker the evaluations run bracket by bracket.

**Dedup** applies to new configurations only: with ``dedup=True`` (default)
no new configuration is isomorphic to one proposed before; a promotion
re-evaluates the same cell at a higher fidelity.
"""
from __future__ import annotations

import math

import numpy as np

from .base import Proposal, Strategy, check_positive_int


def check_eta(eta) -> float:
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(eta)) or float(eta) < 2:
        raise ValueError(f"eta must be a number >= 2 (the halving rate; 3 is usual), got {eta!r}")
    return float(eta)


def _check_budget(name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{name} must be a positive number of epochs or None, got {value!r}")
    return float(value)


def _floor_div_pow(n: int, eta: float, i: int) -> int:
    """floor(n * eta**-i), exact when eta is an integer."""
    if eta.is_integer():
        return n // int(eta) ** i
    return int(math.floor(n * eta ** -i + 1e-9))


def _bracket_size(s: int, s_max: int, eta: float) -> int:
    """Li et al.'s n = ceil((s_max + 1) * eta**s / (s + 1))."""
    if eta.is_integer():
        return -(-(s_max + 1) * int(eta) ** s // (s + 1))
    return int(math.ceil((s_max + 1) * eta ** s / (s + 1) - 1e-9))


def rung_ladder(axis, min_budget: float, max_budget: float, eta: float) -> list[float]:
    """The distinct rung budgets (ascending) of Hyperband's geometric budgets
    ``max_budget * eta**-k`` snapped to ``axis`` within [min_budget, max_budget]."""
    axis = np.asarray(axis, dtype=np.float64)
    allowed = axis[(axis >= min_budget) & (axis <= max_budget)]
    s_max = int(math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9))
    ladder = set()
    for k in range(s_max + 1):
        target = math.log(max_budget) - k * math.log(eta)
        dist = np.abs(np.log(allowed) - target)
        ladder.add(float(allowed[np.flatnonzero(dist <= dist.min() + 1e-12)[0]]))
    return sorted(ladder)


class _Bracket:
    """One successive-halving run: rung i trains ``sizes[i]`` configurations
    to ``budgets[i]`` epochs. Rung 0 fills up as new configurations are made;
    later rungs are filled by promotion."""

    def __init__(self, index: int, budgets: list[float], sizes: list[int]):
        self.index = index
        self.budgets = budgets
        self.sizes = sizes
        self.rung = 0
        self.cells: list[list] = [[] for _ in sizes]
        self.values: list[list[float]] = [[] for _ in sizes]
        self.issued = 0  # jobs of the current rung handed out
        self.told = 0  # results of the current rung received

    def has_job(self) -> bool:
        return self.issued < self.sizes[self.rung]


class SuccessiveHalving(Strategy):
    """Successive halving over the epoch fidelity; see the module docstring.

    Hyper-parameters: ``eta`` (>= 2, default 3), ``min_budget`` /
    ``max_budget`` (epochs on the table's axis; defaults: the axis' smallest
    fidelity and the search fidelity), ``num_configs`` (new configurations per
    bracket, default ``eta**s_max``; at least that many so that the top rung
    is not empty), ``single_rung`` (degrade to one rung where there is
    nothing to halve over, instead of failing). Budgets are checked at
    :meth:`bind`.
    """

    name = "successive_halving"
    multi_fidelity = True

    def __init__(self, space, rng, *, eta: float = 3, min_budget: float | None = None,
                 max_budget: float | None = None, num_configs: int | None = None, dedup: bool | str = True,
                 single_rung: bool = False):
        super().__init__(space, rng, dedup=dedup)
        if not isinstance(single_rung, (bool, np.bool_)):
            raise ValueError(f"single_rung must be true or false, got {single_rung!r}")
        self.single_rung = bool(single_rung)
        self.eta = check_eta(eta)
        self.min_budget = _check_budget("min_budget", min_budget)
        self.max_budget = _check_budget("max_budget", max_budget)
        if self.min_budget is not None and self.max_budget is not None and self.min_budget >= self.max_budget:
            raise ValueError(f"min_budget ({self.min_budget:g}) must be below max_budget ({self.max_budget:g})")
        self.num_configs = None if num_configs is None else check_positive_int("num_configs", num_configs)
        self.rungs: list[float] | None = None
        self.brackets_started = 0
        self._active: list[_Bracket] = []
        self._in_flight: dict[int, tuple] = {}
        self._pending = None  # (proposal, bracket, slot or None for a new configuration)

    # ---- set-up
    def bind(self, fidelities, search_fidelity) -> None:
        super().bind(fidelities, search_fidelity)
        axis = np.unique(self.fidelities[self.fidelities > 0])
        if self.single_rung and self._one_rung(axis):
            return
        if axis.size < 2:
            raise ValueError(
                f"{self.name} needs a table with at least two fidelities to halve over; "
                f"this one has only {', '.join(f'{f:g}' for f in axis)} epochs"
            )
        lo = float(axis[0]) if self.min_budget is None else self.min_budget
        hi = self.search_fidelity if self.max_budget is None else self.max_budget
        for what, value in (("min_budget", lo), ("max_budget", hi)):
            if value not in axis:
                raise ValueError(
                    f"{self.name}: {what} {value:g} is not a fidelity of the table; "
                    f"it has {', '.join(f'{f:g}' for f in axis)} epochs"
                )
        if lo >= hi:
            raise ValueError(
                f"{self.name}: min_budget ({lo:g}) must be below max_budget ({hi:g}, "
                f"{'the search fidelity' if self.max_budget is None else 'given'}); "
                f"the table has {', '.join(f'{f:g}' for f in axis)} epochs"
            )
        if hi / lo < self.eta - 1e-9:
            raise ValueError(
                f"{self.name}: budgets {lo:g} to {hi:g} epochs are less than a factor eta={self.eta:g} "
                f"apart, so there would be a single rung; lower eta or widen the budgets"
            )
        self.rungs = rung_ladder(axis, lo, hi, self.eta)
        s_max = len(self.rungs) - 1
        if self.num_configs is not None and _floor_div_pow(self.num_configs, self.eta, s_max) < 1:
            raise ValueError(
                f"{self.name}: num_configs={self.num_configs} leaves the top rung empty; with "
                f"{len(self.rungs)} rungs and eta={self.eta:g} it must be at least {self.eta ** s_max:g}"
            )

    def _one_rung(self, axis) -> bool:
        """With ``single_rung``: sets the one-rung ladder and returns True
        when there is nothing to halve over (one fidelity, or budgets less
        than ``eta`` apart)."""
        hi = self.search_fidelity if self.max_budget is None else self.max_budget
        if hi not in axis:
            return False  # the checks below name the problem
        lo = float(axis[0]) if self.min_budget is None else self.min_budget
        if axis.size >= 2 and lo in axis and lo < hi and hi / lo >= self.eta - 1e-9:
            return False
        self.rungs = [float(hi)]
        return True

    def _bracket_shape(self, index: int) -> tuple[int, int]:
        """(s, n) of the index-th bracket started."""
        s_max = len(self.rungs) - 1
        if self.num_configs is not None:
            return s_max, self.num_configs
        return s_max, _bracket_size(s_max, s_max, self.eta)

    def schedule(self) -> list[list[tuple[int, float]]]:
        """The brackets of one cycle, each a list of (configurations, epochs)
        per rung. Needs :meth:`bind`."""
        self._check_bound()
        return [list(zip(*self._plan(k))) for k in range(self._cycle_length())]

    def _cycle_length(self) -> int:
        return 1

    def _plan(self, index: int) -> tuple[list[float], list[int]]:
        s, n = self._bracket_shape(index)
        first = len(self.rungs) - 1 - s
        budgets = self.rungs[first:]
        sizes = [_floor_div_pow(n, self.eta, i) for i in range(s + 1)]
        return sizes, budgets

    def _check_bound(self) -> None:
        if self.rungs is None:
            raise RuntimeError(
                f"{self.name} needs the table's fidelities: call bind(fidelities, search_fidelity) "
                f"before ask() (run_search does)"
            )

    # ---- ask
    def _new_config(self, budget: float):
        """A new configuration for a bracket's first rung (BOHB overrides)."""
        return self.space.sample(self.rng)

    def _propose(self):
        self._check_bound()
        bracket = next((b for b in self._active if b.has_job()), None)
        if bracket is None:
            sizes, budgets = self._plan(self.brackets_started)
            bracket = _Bracket(self.brackets_started, budgets, sizes)
            self.brackets_started += 1
            self._active.append(bracket)
        budget = bracket.budgets[bracket.rung]
        if bracket.rung == 0:
            proposal = Proposal(self._new_config(budget), budget)
            self._pending = (proposal, bracket, None)
        else:
            proposal = Proposal(bracket.cells[bracket.rung][bracket.issued], budget)
            self._pending = (proposal, bracket, bracket.issued)
        return proposal

    def _is_promotion(self, proposal: Proposal) -> bool:
        return self._pending is not None and proposal is self._pending[0] and self._pending[2] is not None

    def ask(self) -> Proposal:
        proposal = super().ask()
        # The base class may have asked several times (dedup) or swapped in a
        # random unseen cell: what it returns is what fills the slot.
        _, bracket, slot = self._pending
        self._pending = None
        if slot is None:
            slot = len(bracket.cells[0])
            bracket.cells[0].append(proposal.cell)
            bracket.values[0].append(np.nan)
        bracket.issued += 1
        self._in_flight[id(proposal)] = (proposal, bracket, bracket.rung, slot)
        return proposal

    # ---- tell
    def _observe(self, proposal: Proposal, result) -> None:
        entry = self._in_flight.pop(id(proposal), None)
        if entry is None:
            # A proposal equal to, but not the same object as, one in flight.
            key = next((k for k, e in self._in_flight.items() if e[0] == proposal), None)
            if key is None:
                raise ValueError(f"{self.name}: tell() got a proposal that was not asked or was already told: "
                                 f"{proposal!r}")
            entry = self._in_flight.pop(key)
        _, bracket, rung, slot = entry
        bracket.values[rung][slot] = float(result.value)
        bracket.told += 1
        if bracket.told < bracket.sizes[rung]:
            return
        if rung + 1 == len(bracket.sizes):
            self._active.remove(bracket)
            return
        values = np.asarray(bracket.values[rung], dtype=np.float64)
        ranked = np.argsort(-np.where(np.isnan(values), -np.inf, values), kind="stable")
        keep = ranked[: bracket.sizes[rung + 1]]
        bracket.cells[rung + 1] = [bracket.cells[rung][i] for i in keep]
        bracket.values[rung + 1] = [np.nan] * len(keep)
        bracket.rung = rung + 1
        bracket.issued = bracket.told = 0


class Hyperband(SuccessiveHalving):
    """Hyperband over the epoch fidelity; see the module docstring.

    Hyper-parameters: ``eta`` (>= 2, default 3), ``min_budget`` /
    ``max_budget`` (epochs on the table's axis; defaults: the axis' smallest
    fidelity and the search fidelity). Brackets cycle from the most
    exploratory (many configurations at the lowest rung) to plain random
    search at ``max_budget``. ``single_rung``: see the module docstring.
    """

    name = "hyperband"

    def __init__(self, space, rng, *, eta: float = 3, min_budget: float | None = None,
                 max_budget: float | None = None, dedup: bool | str = True, single_rung: bool = False):
        super().__init__(space, rng, eta=eta, min_budget=min_budget, max_budget=max_budget, dedup=dedup,
                         single_rung=single_rung)

    def _bracket_shape(self, index: int) -> tuple[int, int]:
        s_max = len(self.rungs) - 1
        s = s_max - index % (s_max + 1)
        return s, _bracket_size(s, s_max, self.eta)

    def _cycle_length(self) -> int:
        return len(self.rungs)
