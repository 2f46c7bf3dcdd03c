"""``run_search``: one strategy, one seed, one budget, on a simulated clock."""
from __future__ import annotations

import heapq
import time as _time
from typing import Any

import numpy as np

from ..strategies import Proposal, Result, Strategy, make_strategy
from ..tables import Benchmark
from ..tables._schema import higher_is_better
from .budget import Budget
from .trajectory import Trajectory


def parse_metric(spec: str, bench: Benchmark, dataset: str) -> tuple[str, float | None]:
    """``"valid_acc@12"`` -> ("valid_acc", 12.0); checks both against the table."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"a metric is named like 'valid_acc@12', got {spec!r}")
    name, _, fid = spec.partition("@")
    if name not in bench.metrics(dataset):
        raise ValueError(
            f"{bench.path}: dataset {dataset!r} has no metric {name!r}; it has {', '.join(bench.metrics(dataset))}"
        )
    fids = bench.fidelities(dataset)
    if not fid:
        return name, float(fids[-1])
    try:
        f = float(fid)
    except ValueError:
        raise ValueError(f"fidelity in {spec!r} must be a number of epochs") from None
    if f not in fids:
        raise ValueError(
            f"{bench.path}: dataset {dataset!r} has no fidelity {fid} for {spec!r}; "
            f"it has {', '.join(f'{x:g}' for x in fids)}"
        )
    return name, f


def run_search(benchmark, strategy, seed: int, budget, search_metric: str = "valid_acc@12",
               report_metric: str = "test_acc@200", dataset: str | None = None, n_workers: int = 1,
               include_strategy_time: bool = False, strategy_kwargs: dict | None = None) -> Trajectory:
    """Runs a search on a tabular benchmark and returns its :class:`Trajectory`.

    ``benchmark``: a :class:`Benchmark` or a table path. ``strategy``: a
    registered name (with ``strategy_kwargs``) or a :class:`Strategy` built
    for this run. ``seed`` seeds everything random: the strategy's generator
    (when built here) and the draw of a repeat for each query of the search
    metric (report metrics use the mean over repeats). ``n_workers``
    asynchronous workers share a simulated clock; each evaluation takes the
    table's cost. The strategy's own compute time is excluded unless
    ``include_strategy_time`` (then runs are no longer reproducible). The
    incumbent is the best result at the search metric's fidelity (the lowest
    for a lower-is-better metric such as a loss: strategies maximise, so they
    are told the negated value; the trajectory keeps the table's). The
    trajectory's ``meta["cost_model"]`` says what its simulated seconds are
    (:meth:`Benchmark.cost_description`).
    Same arguments give a byte-identical trajectory.
    """
    bench, dataset = open_run_table(benchmark, dataset)
    s_name, s_fid = parse_metric(search_metric, bench, dataset)
    r_name, r_fid = parse_metric(report_metric, bench, dataset)
    budget, strategy, query_seq = setup_run(bench, strategy, seed, budget, n_workers, strategy_kwargs)
    strategy.bind(bench.fidelities(dataset), s_fid)
    warm = warm_up(strategy, bench, dataset)
    t_start = 0.0 if warm is None else warm["seconds"]
    qrng = np.random.default_rng(query_seq)
    sign = 1.0 if higher_is_better(s_name) else -1.0  # strategies maximise sign * value

    rows: dict[str, list] = {k: [] for k in ("time", "cell", "fidelity", "value", "cost",
                                             "incumbent", "incumbent_value", "incumbent_report")}
    events: list = []  # (finish time, sequence, proposal, result, label)
    seq = 0
    started = 0
    epochs_spent = 0.0
    stopped = False
    best = (-np.inf, None, np.nan)  # (value, label, report)
    report_cache: dict[str, float] = {}

    def timed(fn, *args):
        t0 = _time.perf_counter()
        out = fn(*args)
        return out, (_time.perf_counter() - t0 if include_strategy_time else 0.0)

    def launch(now: float) -> bool:
        nonlocal seq, started, epochs_spent, stopped
        if stopped or (budget.queries is not None and started >= budget.queries):
            return False
        proposal, dt = timed(strategy.ask)
        proposal = proposal if isinstance(proposal, Proposal) else Proposal(proposal)
        fid = s_fid if proposal.fidelity is None else float(proposal.fidelity)
        cost = float(bench.cost(proposal.cell, fid, dataset))
        start = now + dt
        if budget.seconds is not None and start + cost > budget.seconds:
            stopped = True
            return False
        if budget.epochs is not None and epochs_spent + fid > budget.epochs:
            stopped = True
            return False
        value = bench.query(proposal.cell, s_name, fid, dataset, seed=qrng)
        started += 1
        epochs_spent += fid
        heapq.heappush(events, (start + cost, seq, proposal, Result(sign * value, cost, fid)))
        seq += 1
        return True

    for _ in range(int(n_workers)):
        if not launch(t_start):
            break
    while events:
        finish, _, proposal, result = heapq.heappop(events)
        _, dt = timed(strategy.tell, proposal, result)
        label = strategy.space.label(proposal.cell)
        # The incumbent is the best result at the search fidelity: a lower
        # rung of a multi-fidelity strategy is not comparable with it.
        if result.fidelity == s_fid and not np.isnan(result.value) and result.value > best[0]:
            if label not in report_cache:
                report_cache[label] = bench.query(proposal.cell, r_name, r_fid, dataset, seed="mean")
            best = (result.value, label, report_cache[label])
        for k, v in (("time", finish), ("cell", label), ("fidelity", result.fidelity),
                     ("value", sign * result.value), ("cost", result.cost), ("incumbent", best[1]),
                     ("incumbent_value", sign * best[0]), ("incumbent_report", best[2])):
            rows[k].append(v)
        launch(finish + dt)

    meta: dict[str, Any] = {
        "benchmark": bench.path, "space": bench.space, "dataset": dataset,
        "strategy": strategy.name, "seed": int(seed), "budget": budget.to_dict(),
        "search_metric": f"{s_name}@{s_fid:g}", "report_metric": f"{r_name}@{r_fid:g}",
        "n_workers": int(n_workers), "include_strategy_time": bool(include_strategy_time),
        "strategy_kwargs": dict(strategy_kwargs or {}), "duplicates_avoided": strategy.duplicates_avoided,
        # the time axis in words (Trajectory.cost_model), for every plot and table made from it
        "cost_model": bench.cost_description(s_fid if set(rows["fidelity"]) <= {s_fid} else None),
    }
    record_warm_up(meta, warm)
    return Trajectory(
        time=np.asarray(rows["time"], dtype=np.float64), cell=rows["cell"],
        fidelity=np.asarray(rows["fidelity"], dtype=np.float64),
        value=np.asarray(rows["value"], dtype=np.float64), cost=np.asarray(rows["cost"], dtype=np.float64),
        incumbent=[x if x is not None else "" for x in rows["incumbent"]],
        incumbent_value=np.asarray(rows["incumbent_value"], dtype=np.float64),
        incumbent_report=np.asarray(rows["incumbent_report"], dtype=np.float64), meta=meta,
    )


def warm_up(strategy, bench, dataset: str) -> dict | None:
    """The zero-cost warm start of a strategy that asks for one
    (``strategy.warm_start``, a proxy name): hands it a scorer of the
    table's ``zc_<proxy>`` on ``dataset`` and returns what it reports
    (cells scored, simulated seconds; ``meta["warm_start"]``). None for a
    strategy without warm start: nothing is read or drawn."""
    proxy = getattr(strategy, "warm_start", None)
    if proxy is None:
        return None
    from ..strategies.warmstart import proxy_scorer

    scorer = proxy_scorer(bench, dataset, proxy, getattr(strategy, "warm_start_seconds", None))
    return strategy.warm_up(scorer)


def record_warm_up(meta: dict, warm: dict | None) -> None:
    """Puts a warm start's record (:func:`warm_up`) in a trajectory's meta
    and its time in the cost model's words; nothing without one."""
    if warm is not None:
        meta["warm_start"] = warm
        meta["cost_model"] += (f"; the clock starts at {warm['seconds']:g} s: zero-cost warm start, "
                               f"{warm['scored']} networks x {warm['seconds_per_network']:g} s of "
                               f"{warm['proxy']} (not queries)")


def open_run_table(benchmark, dataset: str | None):
    """(Benchmark, dataset) of a run: ``benchmark`` opened when it is a path;
    ``dataset`` checked against the table's (default: its first)."""
    bench = benchmark if isinstance(benchmark, Benchmark) else Benchmark.open(benchmark)
    dataset = dataset if dataset is not None else bench.datasets[0]
    if dataset not in bench.datasets:
        raise ValueError(f"{bench.path}: unknown dataset {dataset!r}; it has {', '.join(bench.datasets)}")
    return bench, dataset

def setup_run(bench, strategy, seed: int, budget, n_workers, strategy_kwargs):
    """What every run on a table sets up first, checked in this order: the
    budget, the worker count, the strategy (built from its name with the
    seed's first child generator, or checked) and its space against the
    table's. Returns (Budget, Strategy, the SeedSequence of the query draws)."""
    budget = Budget.parse(budget)
    if isinstance(n_workers, bool) or int(n_workers) != n_workers or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    strat_seq, query_seq = np.random.SeedSequence(int(seed)).spawn(2)
    if isinstance(strategy, str):
        strategy = make_strategy(strategy, bench.space, np.random.default_rng(strat_seq),
                                 **(strategy_kwargs or {}))
    elif not isinstance(strategy, Strategy):
        raise TypeError(f"strategy must be a registered name or a Strategy, got {type(strategy).__name__}")
    elif strategy_kwargs:
        raise ValueError("strategy_kwargs only apply when the strategy is given by name")
    if strategy.space.name != bench.space:
        raise ValueError(f"strategy searches {strategy.space.name} but the table is {bench.space}")
    return budget, strategy, query_seq
