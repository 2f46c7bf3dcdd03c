"""``run_mo_search``: one strategy, one seed, one budget, several objectives.

A multi-objective run evaluates every proposal on each objective (e.g.
``valid_acc@200`` and ``latency_pixel3``) and returns the usual
:class:`Trajectory`, its columns about the first objective, with every
objective recorded per query in ``meta`` (:func:`objective_matrix` reads
them back). Directions come from
:func:`nasbench_suite.tables._schema.higher_is_better` (accuracy is
maximised; latency, parameters, FLOPs, losses and times minimised).
"""
from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from ..strategies import Proposal
from ..strategies.multiobjective import MOResult
from ..tables import Benchmark
from .search import open_run_table, parse_metric, record_warm_up, setup_run, warm_up
from .trajectory import Trajectory

__all__ = ["objective_matrix", "parse_objectives", "run_mo_search"]


def parse_objectives(objectives, bench: Benchmark, dataset: str) -> list[dict]:
    """``["valid_acc@200", "latency_pixel3"]`` (or ``"valid_acc@200,latency_pixel3"``)
    -> one dict per objective: ``metric`` (its name), ``fidelity`` (epochs; None for a
    static metric such as params or latency), ``spec`` (``"valid_acc@200"``,
    ``"latency_pixel3"``) and ``higher_is_better``. Raises ValueError naming
    what the table lacks, or for fewer than two or repeated objectives."""
    from ..tables._schema import higher_is_better

    if isinstance(objectives, str):
        objectives = [x.strip() for x in objectives.split(",") if x.strip()]
    objectives = list(objectives or [])
    if len(objectives) < 2:
        raise ValueError(f"a multi-objective run needs at least two objectives, e.g. "
                         f"'valid_acc@200,latency_pixel3'; got {objectives!r}")
    out = []
    for spec in objectives:
        name, fid = parse_metric(spec, bench, dataset)
        static = bench._metric(dataset, name)[3]
        if static and "@" in spec:
            raise ValueError(f"objective {spec!r}: {name} is a static metric (one value per cell); "
                             f"name it without a fidelity: {name!r}")
        out.append({"metric": name, "fidelity": None if static else fid,
                    "spec": name if static else f"{name}@{fid:g}", "higher_is_better": higher_is_better(name)})
    specs = [o["spec"] for o in out]
    if len(set(specs)) != len(specs):
        raise ValueError(f"objectives repeat: {', '.join(specs)}")
    return out


def objective_matrix(traj: Trajectory, which: str = "means") -> np.ndarray:
    """The objectives of a multi-objective trajectory, one row per finished
    query: ``which="means"`` the seed means of each cell (what fronts and
    hypervolumes are computed from), ``"observed"`` the values the strategy was
    told (one repeat drawn per query). ValueError for a single-objective run."""
    key = {"means": "objective_means", "observed": "objective_values"}.get(which)
    if key is None:
        raise ValueError(f"which must be 'means' or 'observed', got {which!r}")
    if "objectives" not in traj.meta:
        raise ValueError("not a multi-objective run (its meta has no 'objectives'); run it with run_mo_search")
    return np.asarray(traj.meta[key], dtype=np.float64).reshape(len(traj.meta["objectives"]), -1).T


def run_mo_search(benchmark, strategy, seed: int, budget, objectives=("valid_acc@200", "latency_pixel3"),
                  report_metric: str | None = None, dataset: str | None = None, n_workers: int = 1,
                  strategy_kwargs: dict | None = None) -> Trajectory:
    """Runs a search on ``objectives`` (two or more ``"metric@epochs"``; a
    static metric without ``@``) and returns its :class:`Trajectory`.

    Every query trains the cell to the highest fidelity among the objectives
    (its cost from the table's cost model) and reads each objective there: a
    per-fidelity one as one repeat drawn with the run's seed (as the search
    metric of :func:`run_search`), a static one as its value. A strategy with
    ``multi_objective = True`` is told an :class:`MOResult` with every
    objective (after :meth:`bind_objectives` with their directions); any
    other strategy (random search, regularized evolution, ...) is told the
    first objective as its ``value`` (negated when lower is better: larger
    is better for every strategy), so it runs unchanged.

    The trajectory's columns follow the first objective (``value`` as
    observed, the incumbent the best so far by it, ``incumbent_report`` its
    ``report_metric``: default the first objective's seed mean). ``meta``
    adds ``objectives`` (``[{"metric": "valid_acc@200", "higher_is_better":
    true}, ...]``), ``objective_values`` (per objective, the value of every
    query as observed) and ``objective_means`` (per objective, the seed mean
    of every queried cell): :func:`objective_matrix`.

    ``seed``, ``budget``, ``dataset``, ``n_workers`` and ``strategy_kwargs``
    mean what they mean for :func:`run_search`, with the same seeding (one
    SeedSequence split into the strategy's generator and the query draws) and
    the same promise: same arguments, byte-identical trajectory.
    """
    bench, dataset = open_run_table(benchmark, dataset)
    objs = parse_objectives(objectives, bench, dataset)
    dyn = [o["fidelity"] for o in objs if o["fidelity"] is not None]
    fid = max(dyn) if dyn else float(bench.fidelities(dataset)[-1])
    first = objs[0]
    r_name, r_fid = parse_metric(report_metric, bench, dataset) if report_metric else (first["metric"], fid)
    sign = 1.0 if first["higher_is_better"] else -1.0
    budget, strategy, query_seq = setup_run(bench, strategy, seed, budget, n_workers, strategy_kwargs)
    if strategy.multi_fidelity:
        raise ValueError(f"{strategy.name} is multi-fidelity; a multi-objective run trains every cell to "
                         f"{fid:g} epochs: use a single-fidelity strategy")
    strategy.bind(bench.fidelities(dataset), fid)
    multi = bool(getattr(strategy, "multi_objective", False))
    if multi:
        strategy.bind_objectives([o["higher_is_better"] for o in objs])
    warm = warm_up(strategy, bench, dataset)  # zero-cost warm start: the clock starts after it
    qrng = np.random.default_rng(query_seq)

    cols: dict[str, list] = {k: [] for k in ("time", "cell", "fidelity", "value", "cost", "incumbent",
                                             "incumbent_value", "incumbent_report")}
    observed: list[list] = [[] for _ in objs]
    means: list[list] = [[] for _ in objs]
    events: list = []
    state = {"seq": 0, "started": 0, "epochs": 0.0, "stopped": False}
    best = (-np.inf, None, np.nan, np.nan)  # (oriented value, label, report, raw value)
    report_cache: dict[str, float] = {}

    def launch(now: float) -> bool:
        if state["stopped"] or (budget.queries is not None and state["started"] >= budget.queries):
            return False
        proposal = strategy.ask()
        proposal = proposal if isinstance(proposal, Proposal) else Proposal(proposal)
        cost = float(bench.cost(proposal.cell, fid, dataset))
        if budget.seconds is not None and now + cost > budget.seconds:
            state["stopped"] = True
            return False
        if budget.epochs is not None and state["epochs"] + fid > budget.epochs:
            state["stopped"] = True
            return False
        values = tuple(bench.query(proposal.cell, o["metric"], o["fidelity"] if o["fidelity"] is not None else fid,
                                   dataset, seed=qrng) for o in objs)
        state["started"] += 1
        state["epochs"] += fid
        value = sign * values[0] if not np.isnan(values[0]) else values[0]
        result = MOResult(value, cost, fid, values)
        heapq.heappush(events, (now + cost, state["seq"], proposal, result))
        state["seq"] += 1
        return True

    for _ in range(int(n_workers)):
        if not launch(0.0 if warm is None else warm["seconds"]):
            break
    while events:
        finish, _, proposal, result = heapq.heappop(events)
        strategy.tell(proposal, result)
        label = strategy.space.label(proposal.cell)
        if not np.isnan(result.value) and result.value > best[0]:
            if label not in report_cache:
                report_cache[label] = bench.query(proposal.cell, r_name, r_fid, dataset, seed="mean")
            best = (result.value, label, report_cache[label], result.objectives[0])
        for i, o in enumerate(objs):
            observed[i].append(float(result.objectives[i]))
            means[i].append(float(bench.query(proposal.cell, o["metric"],
                                              o["fidelity"] if o["fidelity"] is not None else fid,
                                              dataset, seed="mean")))
        for k, v in (("time", finish), ("cell", label), ("fidelity", fid), ("value", result.objectives[0]),
                     ("cost", result.cost), ("incumbent", best[1]), ("incumbent_value", best[3]),
                     ("incumbent_report", best[2])):
            cols[k].append(v)
        launch(finish)

    meta: dict[str, Any] = {
        "benchmark": bench.path, "space": bench.space, "dataset": dataset, "strategy": strategy.name,
        "seed": int(seed), "budget": budget.to_dict(), "search_metric": first["spec"],
        "report_metric": f"{r_name}@{r_fid:g}", "n_workers": int(n_workers), "include_strategy_time": False,
        "strategy_kwargs": dict(strategy_kwargs or {}), "duplicates_avoided": strategy.duplicates_avoided,
        "cost_model": bench.cost_description(fid),
        "objectives": [{"metric": o["spec"], "higher_is_better": o["higher_is_better"]} for o in objs],
        "objective_values": observed, "objective_means": means,
    }
    record_warm_up(meta, warm)
    return Trajectory(
        time=np.asarray(cols["time"], dtype=np.float64), cell=cols["cell"],
        fidelity=np.asarray(cols["fidelity"], dtype=np.float64),
        value=np.asarray(cols["value"], dtype=np.float64), cost=np.asarray(cols["cost"], dtype=np.float64),
        incumbent=[x if x is not None else "" for x in cols["incumbent"]],
        incumbent_value=np.asarray(cols["incumbent_value"], dtype=np.float64),
        incumbent_report=np.asarray(cols["incumbent_report"], dtype=np.float64), meta=meta,
    )
