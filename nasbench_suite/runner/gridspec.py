"""What an experiment grid runs: benchmarks x strategies x seeds, one budget.

:func:`resolve_grid` turns settings (a TOML file and/or command-line flags,
see :func:`load_config_file`) into a :class:`Grid`, checking every benchmark
file, dataset, metric, strategy and hyper-parameter first, so that a bad
config fails before any work starts. :func:`merge_config` decides whether a
grid may continue an existing results file.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

from .budget import Budget
from .results import check_label
from .search import parse_metric

#: Seeds per benchmark and strategy when a grid names none (seeds 0 .. 9).
DEFAULT_SEEDS = 10
#: The budget of each run when a grid names none: 100 finished queries.
DEFAULT_BUDGET = {"queries": 100}
MAX_SEED = 2 ** 63 - 1  # seeds are stored as int64
MAX_SEEDS = 100_000  # seeds in one grid: each is a run per benchmark and strategy
MAX_QUERIES = 2 ** 63 - 1  # a budget of queries is stored as int64
MAX_ASYNC_WORKERS = 100_000  # simulated parallel evaluations inside one run
#: The keys a grid's settings (a config file, command-line flags) may hold.
SETTING_KEYS = ("benchmarks", "dataset", "strategies", "seeds", "budget", "search_metric", "report_metric",
                "async_workers", "workers", "scheduler", "output", "objectives")


class GridConfigError(ValueError):
    """A grid that cannot run as configured; raised before any work starts."""


class GridRunError(RuntimeError):
    """Runs failed while the grid ran; the finished ones are stored.
    ``memory``: they failed for want of memory (the settings can fix it)."""

    def __init__(self, message: str, memory: bool = False):
        super().__init__(message)
        self.memory = memory


@dataclass(frozen=True)
class BenchmarkEntry:
    """A table in the grid, with the dataset and metrics resolved against it."""

    label: str
    path: str
    sha256: str
    space: str
    dataset: str
    search_metric: str  # "name@epochs"
    report_metric: str
    report_optimum: float  # best mean report metric in the table (for regret)
    higher_is_better: bool
    provenance: dict = field(default_factory=dict, compare=False)
    fidelities: tuple = field(default=(), compare=False)  # the dataset's fidelity axis (epochs)
    # multi-objective grids: the table's true Pareto front (pareto.table_front, as JSON lists)
    pareto_front: dict = field(default_factory=dict, compare=False)

    def to_config(self) -> dict:
        """The entry as stored in the results file's configuration (JSON)."""
        out = {"path": self.path, "sha256": self.sha256, "space": self.space, "dataset": self.dataset,
               "search_metric": self.search_metric, "report_metric": self.report_metric,
               "report_optimum": self.report_optimum, "higher_is_better": self.higher_is_better,
               "provenance": self.provenance}
        if self.pareto_front:
            out["pareto_front"] = self.pareto_front
        return out


@dataclass(frozen=True)
class StrategyEntry:
    """A strategy in the grid: its ``label`` (unique in the grid; names the
    runs in the results file), the registered strategy ``name`` and its
    ``hyperparameters`` (checked against the strategy's constructor)."""

    label: str
    name: str
    hyperparameters: dict = field(default_factory=dict)

    def to_config(self) -> dict:
        """The entry as stored in the results file's configuration (JSON)."""
        return {"name": self.name, "hyperparameters": self.hyperparameters}


@dataclass(frozen=True)
class Job:
    """One run of the grid: everything a worker needs, picklable."""

    benchmark: str
    path: str
    sha256: str
    dataset: str
    search_metric: str
    report_metric: str
    strategy: str
    name: str
    hyperparameters: dict
    seed: int
    budget: dict
    async_workers: int
    objectives: tuple = ()  # a multi-objective run (runner.multiobjective) when given

    @property
    def key(self) -> tuple[str, str, int]:
        """``(benchmark, strategy, seed)`` labels: the run's key in the results file."""
        return (self.benchmark, self.strategy, self.seed)


@dataclass
class Grid:
    """A checked experiment (built by :func:`resolve_grid`): every
    :class:`BenchmarkEntry` x every :class:`StrategyEntry` x every seed, each
    run with the same :class:`~nasbench_suite.runner.Budget` and
    ``async_workers`` simulated parallel evaluations. :meth:`jobs` lists the
    runs; :func:`~nasbench_suite.runner.grid.run_grid` executes them."""

    benchmarks: list
    strategies: list
    seeds: list
    budget: Budget
    async_workers: int = 1
    objectives: tuple = ()  # multi-objective runs: "metric@epochs" (or a static metric) each

    def jobs(self) -> list[Job]:
        """Seed-major order: an interrupted grid has every strategy at similar seed counts."""
        return [Job(b.label, b.path, b.sha256, b.dataset, b.search_metric, b.report_metric, s.label, s.name,
                    dict(s.hyperparameters), int(seed), self.budget.to_dict(), self.async_workers,
                    tuple(self.objectives))
                for seed in self.seeds for b in self.benchmarks for s in self.strategies]

    def config(self) -> dict:
        """The JSON configuration stored in the results file."""
        experiment = {"budget": self.budget.to_dict(), "async_workers": self.async_workers,
                      "include_strategy_time": False}
        if self.objectives:
            experiment["objectives"] = list(self.objectives)
        return {
            "experiment": experiment,
            "benchmarks": {b.label: b.to_config() for b in self.benchmarks},
            "strategies": {s.label: s.to_config() for s in self.strategies},
            "strategy_order": [s.label for s in self.strategies],
            "seeds": [int(x) for x in self.seeds],
        }


# ------------------------------------------------------------------ settings

def load_config_file(path) -> dict:
    """A TOML grid file as settings (see ``nasbench-suite compare --help``)."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise GridConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GridConfigError(f"{path}: cannot read the config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise GridConfigError(f"{path}: not valid TOML ({exc})") from None
    aliases = {"benchmark": "benchmarks", "strategy": "strategies", "search-metric": "search_metric",
               "report-metric": "report_metric", "async-workers": "async_workers"}
    out = {}
    for key, value in data.items():
        key = aliases.get(key, key)
        if key not in SETTING_KEYS:
            raise GridConfigError(f"{path}: unknown key {key!r}; known keys: {', '.join(SETTING_KEYS)}")
        out[key] = value
    base = os.path.dirname(os.path.abspath(path))
    if isinstance(out.get("benchmarks"), (str, dict)):
        out["benchmarks"] = [out["benchmarks"]]
    # Relative paths in a config file are relative to the file.
    bench = []
    for b in out.get("benchmarks", []):
        if isinstance(b, str):
            b = {"path": b}
        if isinstance(b, dict) and isinstance(b.get("path"), str):
            b = dict(b, path=os.path.join(base, os.path.expanduser(b["path"])))
        bench.append(b)
    if "benchmarks" in out:
        out["benchmarks"] = bench
    if isinstance(out.get("output"), str):
        out["output"] = os.path.join(base, os.path.expanduser(out["output"]))
    return out


def parse_seeds(value) -> list[int]:
    """``10`` -> 0..9; ``"3-7"`` -> 3..7; ``"1,4,9"`` or ``[1, 4, 9]`` -> those.

    At least 1 and at most :data:`MAX_SEEDS` seeds, each from 0 to
    :data:`MAX_SEED` (they are stored as int64)."""
    forms = "a count (20), a range (0-19) or a list (1,4,9) of non-negative integers"

    def bad():
        return GridConfigError(f"seeds must be {forms}, got {value!r}")

    def too_many(n) -> GridConfigError:
        given = "" if isinstance(value, (int, np.integer)) else f" ({value!r})"
        return GridConfigError(f"seeds must be at most {MAX_SEEDS} seeds, got {n}{given}; "
                               "every seed is one run per benchmark and strategy")

    def check_seed(x) -> None:
        if x > MAX_SEED:
            raise GridConfigError(f"seed {x} is too large: seeds must be at most {MAX_SEED} (2**63-1), "
                                  f"got {value!r}")

    if isinstance(value, bool):
        raise bad()
    if isinstance(value, (int, np.integer)):
        if value < 1:
            raise GridConfigError(f"seeds must be at least 1 seed, got {int(value)} (a count of 10 runs "
                                  "seeds 0..9)")
        if value > MAX_SEEDS:
            raise too_many(int(value))
        return list(range(int(value)))
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.isdigit():
                return parse_seeds(int(text))
            if "-" in text and "," not in text:
                lo, hi = (int(x) for x in text.split("-", 1))
                if lo < 0 or lo > hi:
                    raise bad()
                check_seed(hi)
                if hi - lo + 1 > MAX_SEEDS:
                    raise too_many(hi - lo + 1)
                return list(range(lo, hi + 1))
            value = [int(x) for x in text.split(",") if x.strip()]
        except GridConfigError:
            raise
        except ValueError:
            if isinstance(value, str) and text.lstrip("-").isdigit() and text.startswith("-"):
                raise GridConfigError(f"seeds must be at least 1 seed, got {text} ({forms})") from None
            raise bad() from None
    if not isinstance(value, (list, tuple)) or not value:
        raise bad()
    if any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0 for x in value):
        raise bad()
    if len(value) > MAX_SEEDS:
        raise too_many(len(value))
    for x in value:
        check_seed(x)
    if len(set(value)) != len(value):
        raise GridConfigError(f"seeds repeat: {value!r}; every seed runs once")
    return [int(x) for x in value]


def _strategy_entries(value) -> list[StrategyEntry]:
    from ..oneshot import METHOD_NAMES, is_oneshot
    from ..oneshot import hyperparameter_names as oneshot_hyperparameter_names
    from ..strategies import REGISTRY

    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise GridConfigError("strategies: give at least one, e.g. --strategies random_search,local_search")
    out = []
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise GridConfigError(f"a strategy is a name or a table with name = ..., got {item!r}")
        unknown = set(item) - {"name", "label", "hyperparameters"}
        if unknown:
            raise GridConfigError(f"strategy {item['name']!r}: unknown keys {sorted(unknown)}; put "
                                  "hyper-parameters under hyperparameters = {{...}}")
        oneshot = is_oneshot(item["name"])  # a one-shot method (nasbench_suite.oneshot) runs as a strategy
        if item["name"] not in REGISTRY and not oneshot:
            raise GridConfigError(f"unknown strategy {item['name']!r}; registered: {', '.join(REGISTRY)}; "
                                  f"one-shot: {', '.join(METHOD_NAMES)}")
        hp = item.get("hyperparameters", {})
        if not isinstance(hp, dict):
            raise GridConfigError(f"strategy {item['name']!r}: hyperparameters must be a table, got {hp!r}")
        valid = oneshot_hyperparameter_names(item["name"]) if oneshot else hyperparameter_names(item["name"])
        unknown = [k for k in hp if k not in valid]
        if unknown:
            takes = ", ".join(valid) if valid else "none"
            raise GridConfigError(f"strategy {item.get('label', item['name'])!r}: unknown hyper-parameter"
                                  f"{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                                  f"{item['name']} takes: {takes}")
        label = item.get("label", item["name"])
        try:
            check_label("strategy", label)
        except ValueError as exc:
            raise GridConfigError(str(exc)) from None
        out.append(StrategyEntry(label, item["name"], dict(hp)))
    labels = [s.label for s in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise GridConfigError(f"strategy labels repeat: {', '.join(dup)}; give each variant a label")
    return out


def hyperparameter_names(name: str) -> list[str]:
    """The keyword arguments a registered strategy's constructor takes (its
    hyper-parameters), in the order it declares them; subclasses that pass
    ``**kwargs`` on add their bases' ones."""
    import inspect

    from ..strategies import strategy_class

    out: list[str] = []
    for cls in strategy_class(name).__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]  # self
        out += [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.name not in ("space", "rng") and p.name not in out]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return out


def apply_hyperparameter_flags(strategies, flags) -> list:
    """``--hp LABEL.KEY=VALUE`` (VALUE read as JSON, else as a string)."""
    def entry(s):
        if not isinstance(s, dict):
            return {"name": s, "hyperparameters": {}}
        hp = s.get("hyperparameters", {})
        return dict(s, hyperparameters=dict(hp)) if isinstance(hp, dict) else dict(s)

    # Malformed entries are left as they are, for _strategy_entries to name.
    strategies = [entry(s) for s in strategies]
    by_label = {s.get("label", s.get("name")): s for s in strategies
                if isinstance(s.get("hyperparameters"), dict)}
    for flag in flags or ():
        target, eq, raw = flag.partition("=")
        label, dot, key = target.rpartition(".")
        if not eq or not dot or not label or not key:
            raise GridConfigError(f"--hp {flag!r}: write STRATEGY.KEY=VALUE, "
                                  "e.g. regularized_evolution.population_size=20")
        if label not in by_label:
            raise GridConfigError(f"--hp {flag!r}: strategy {label!r} is not in the grid "
                                  f"({', '.join(map(str, by_label))})")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        except RecursionError:
            raise GridConfigError(f"--hp {flag[:60]!r}...: the value is nested too deeply") from None
        by_label[label]["hyperparameters"][key] = value
    return strategies


def file_sha256(path) -> str:
    """sha256 of a table file and of its journal (unmerged results change it too)."""
    h = hashlib.sha256()
    for p in (path, os.fspath(path) + ".journal"):
        if p != path and not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _resolve_metric(bench, dataset: str, spec, default_name: str, what: str) -> tuple[str, float, np.ndarray]:
    """(name, epochs, values of every row) for a metric spec; without '@', the
    highest fidelity at which the table has values."""
    from ..tables import TableError

    spec = default_name if spec is None else spec
    if not isinstance(spec, str) or not spec or spec.startswith("@"):
        raise GridConfigError(f"{what} is named like 'valid_acc@12', got {spec!r}")
    try:
        if "@" in spec:
            name, fid = parse_metric(spec, bench, dataset)
            vals = bench.row_values(name, fid, dataset)
        else:
            if spec not in bench.metrics(dataset):
                parse_metric(spec, bench, dataset)  # raises, naming the metrics there are
            name = spec
            for fid in bench.fidelities(dataset)[::-1]:
                vals = bench.row_values(name, float(fid), dataset)
                if np.isfinite(vals).any():
                    break
            fid = float(fid)
    except (ValueError, TableError, KeyError) as exc:
        raise GridConfigError(f"{what}: {exc}") from None
    if not np.isfinite(vals).any():
        raise GridConfigError(f"{bench.path}: {what} {name}@{fid:g} has no values on {dataset!r}; "
                              "choose another fidelity or metric")
    return name, fid, vals


def _split_path_datasets(text: str) -> dict:
    """``"T.h5:cifar10,cifar100"`` / ``"T.h5:all"`` -> ``{"path", "dataset"}``;
    a plain path (or one that exists as a file, colon and all) -> ``{"path"}``."""
    path, colon, names = text.rpartition(":")
    if not colon or not path or os.path.isfile(os.path.expanduser(text)) or os.sep in names:
        return {"path": text}
    return {"path": path, "dataset": [n.strip() for n in names.split(",")] if names.strip() != "all" else "all"}


def dataset_selection(value, datasets, where: str) -> tuple[list, bool]:
    """The datasets a benchmark entry runs: ``(names, listed)``. ``value``:
    None (the table's first), a name, ``"A,B"`` or a list (those), or
    ``"all"`` (every dataset of the table, unless it has one named "all").
    ``listed``: the entry named a list (its labels get ``:DATASET``)."""
    if value is None:
        return [datasets[0]], False
    if isinstance(value, str) and value in datasets:
        return [value], False
    if isinstance(value, str):
        value = list(datasets) if value.strip() == "all" else [v.strip() for v in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        raise GridConfigError(f"{where}: dataset must be a name, a list of names or 'all', got {value!r}")
    missing = [v for v in value if v not in datasets]
    if missing:
        raise GridConfigError(f"{where}: unknown dataset{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(map(repr, missing))}; the table has {', '.join(datasets)}")
    if len(set(value)) != len(value):
        raise GridConfigError(f"{where}: datasets repeat in {value!r}")
    return list(value), True


def _benchmark_entries(value, dataset, search_metric, report_metric) -> list[BenchmarkEntry]:
    from ..tables import Benchmark, TableError
    from ..tables._schema import higher_is_better

    if value is None or value == []:
        from ..tables.embedded import embedded_table, incomplete_reason

        default = embedded_table()
        if default is None:
            raise GridConfigError("no benchmark: pass --benchmark TABLE.h5 (build one with `nasbench-suite import`, "
                                  "or the embedded default with `nasbench-suite generate nb201`)")
        try:
            reason = incomplete_reason(default)
        except TableError as exc:
            raise GridConfigError(f"the embedded default table: {exc}") from None
        if reason:
            raise GridConfigError(f"no --benchmark given, and the embedded default table {reason}")
        value = [str(default)]
    if isinstance(value, (str, dict)):
        value = [value]
    out = []
    for item in value:
        if isinstance(item, str):
            item = _split_path_datasets(item)
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise GridConfigError(f"a benchmark is a path or a table with path = ..., got {item!r}")
        unknown = set(item) - {"path", "label", "dataset", "search_metric", "report_metric"}
        if unknown:
            raise GridConfigError(f"benchmark {item['path']!r}: unknown keys {sorted(unknown)}")
        path = os.path.abspath(os.path.expanduser(item["path"]))
        label = item.get("label") or os.path.splitext(os.path.basename(path))[0]
        try:
            check_label("benchmark", label)
        except ValueError as exc:
            raise GridConfigError(str(exc)) from None
        if not os.path.isfile(path):
            raise GridConfigError(f"{item['path']}: no such benchmark file; build one with `nasbench-suite import` "
                                  "or `nasbench-suite convert`")
        try:
            bench = Benchmark.open(path)
        except (TableError, OSError) as exc:
            raise GridConfigError(str(exc)) from None
        with bench:
            names, listed = dataset_selection(item.get("dataset", dataset), bench.datasets, item["path"])
            for ds in names:
                s_name, s_fid, _ = _resolve_metric(bench, ds, item.get("search_metric", search_metric),
                                                   "valid_acc", "search metric")
                r_name, r_fid, r_vals = _resolve_metric(bench, ds, item.get("report_metric", report_metric),
                                                        "test_acc", "report metric")
                hib = higher_is_better(r_name)
                optimum = float(np.nanmax(r_vals) if hib else np.nanmin(r_vals))
                out.append(BenchmarkEntry(f"{label}:{ds}" if listed else label, path, file_sha256(path),
                                          bench.space, ds, f"{s_name}@{s_fid:g}", f"{r_name}@{r_fid:g}", optimum,
                                          hib, dict(bench.provenance),
                                          tuple(float(f) for f in bench.fidelities(ds))))
    labels = [b.label for b in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise GridConfigError(f"benchmark labels repeat: {', '.join(dup)}; give each a label in the config file")
    return out


def _check_strategy_fits(s: StrategyEntry, b: BenchmarkEntry) -> None:
    """Builds the strategy once, as a run would, so bad hyper-parameters fail now."""
    from ..oneshot import is_oneshot
    from ..strategies import make_strategy

    if is_oneshot(s.name):
        _check_oneshot_fits(s, b)
        return

    try:
        strat = make_strategy(s.name, b.space, np.random.default_rng(0), **s.hyperparameters)
        strat.bind(np.asarray(b.fidelities, dtype=np.float64), float(b.search_metric.split("@")[1]))
    except MemoryError:
        raise GridConfigError(f"strategy {s.label!r} on {b.label}: its hyper-parameters "
                              f"{s.hyperparameters} ask for more memory than there is") from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
        # A value of the wrong type or size (the constructor is the first to use it).
        kind = "" if isinstance(exc, (TypeError, ValueError)) else f"{type(exc).__name__}: "
        text = str(exc)
        text = text[len(s.name) + 2:] if text.startswith(f"{s.name}: ") else text  # make_strategy's prefix
        given = ", ".join(f"{k}={v!r}" for k, v in s.hyperparameters.items())
        if given and not any(k in text for k in s.hyperparameters):
            text += f" (hyper-parameters: {given})"
        raise GridConfigError(f"strategy {s.label!r} on {b.label}: {kind}{text}") from None


def _check_oneshot_fits(s: StrategyEntry, b: BenchmarkEntry) -> None:
    """A one-shot method needs PyTorch, a table of its supernet's space and valid hyper-parameters."""
    from ..oneshot import RUN_SETTINGS

    try:
        from ..oneshot import make_method
        from ..oneshot.nb201_supernet import SPACE
    except ImportError as exc:
        raise GridConfigError(f"strategy {s.label!r} is a one-shot method and needs PyTorch ({exc}); "
                              "pip install 'nasbench-suite[train]'") from None
    if b.space != SPACE.name:
        raise GridConfigError(f"strategy {s.label!r} is a one-shot method with a supernet of the {SPACE.name} "
                              f"space; {b.label} is a {b.space} table")
    try:
        make_method(s.name, **{k: v for k, v in s.hyperparameters.items() if k not in RUN_SETTINGS})
    except (TypeError, ValueError) as exc:
        raise GridConfigError(f"strategy {s.label!r} on {b.label}: {exc}") from None


def _budget(value) -> Budget:
    """The grid's budget (:class:`Budget`'s own messages start with "budget")."""
    try:
        budget = Budget.parse(value or dict(DEFAULT_BUDGET))
    except (TypeError, ValueError, OverflowError) as exc:
        text = str(exc)
        raise GridConfigError(text if "budget" in text else f"budget: {text}") from None
    if budget.queries is not None and budget.queries > MAX_QUERIES:
        raise GridConfigError(f"budget queries must be at most {MAX_QUERIES} (2**63-1), got {budget.queries!r}")
    return budget


def resolve_grid(settings: dict) -> Grid:
    """Settings (keys of :data:`SETTING_KEYS`) -> a checked :class:`Grid`.

    Defaults: the table's first dataset, ``valid_acc`` and ``test_acc`` at the
    highest fidelity where the table has them, 10 seeds, 100 queries.
    """
    strategies = _strategy_entries(settings.get("strategies"))
    seeds = parse_seeds(settings.get("seeds", DEFAULT_SEEDS))
    budget = _budget(settings.get("budget"))
    aw = settings.get("async_workers", 1)
    if isinstance(aw, bool) or not isinstance(aw, int) or not 1 <= aw <= MAX_ASYNC_WORKERS:
        raise GridConfigError(f"async_workers must be an integer from 1 to {MAX_ASYNC_WORKERS}, got {aw!r}")
    objectives = _objective_list(settings.get("objectives"))
    search_metric = settings.get("search_metric")
    if objectives and search_metric is None:
        search_metric = objectives[0]  # the columns of a multi-objective run follow its first objective
    benchmarks = _benchmark_entries(settings.get("benchmarks"), settings.get("dataset"),
                                    search_metric, settings.get("report_metric"))
    if objectives:
        benchmarks = [_with_front(b, objectives, strategies) for b in benchmarks]
    for b in benchmarks:
        for s in strategies:
            _check_strategy_fits(s, b)
    return Grid(benchmarks, strategies, seeds, budget, aw, tuple(objectives))


def _objective_list(value) -> list:
    """The ``objectives`` setting as a list of specs (empty: a single-objective grid)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [x.strip() for x in value.split(",") if x.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value) or len(value) < 2:
        raise GridConfigError(f"objectives: give two or more metrics, e.g. "
                              f"--objectives valid_acc@200,latency_pixel3; got {value!r}")
    return list(value)


def _with_front(b: BenchmarkEntry, objectives: list, strategies: list) -> BenchmarkEntry:
    """Checks the objectives against the table; the entry with its true Pareto front."""
    import dataclasses

    from .. import pareto
    from ..strategies import strategy_class
    from ..tables import Benchmark
    from .multiobjective import parse_objectives

    for s in strategies:
        if strategy_class(s.name).multi_fidelity:
            raise GridConfigError(f"strategy {s.label!r} is multi-fidelity; a multi-objective grid trains every "
                                  "cell to one fidelity: use single-fidelity strategies")
    with Benchmark.open(b.path) as bench:
        try:
            objs = parse_objectives(objectives, bench, b.dataset)
        except ValueError as exc:
            raise GridConfigError(f"objectives on {b.label}: {exc}") from None
        front = pareto.table_front(bench, [o["spec"] for o in objs], b.dataset)
    return dataclasses.replace(b, pareto_front={
        "objectives": front["objectives"], "maximize": front["maximize"],
        "points": front["points"].tolist(), "nadir": front["nadir"].tolist()})


def merge_config(stored: dict, grid: Grid) -> dict:
    """The stored configuration grown by this grid; raises GridConfigError when
    they disagree on something that would make runs incomparable."""
    new = grid.config()
    if not stored:
        return new
    problems = []
    if stored.get("experiment") != new["experiment"]:
        problems.append(f"experiment settings {stored.get('experiment')} (stored) vs {new['experiment']} (now)")
    merged_b = dict(stored.get("benchmarks", {}))
    for label, b in new["benchmarks"].items():
        old = merged_b.get(label)
        if old is not None:
            for k in ("sha256", "dataset", "search_metric", "report_metric"):
                if old.get(k) != b[k]:
                    problems.append(f"benchmark {label!r}: {k} {old.get(k)!r} (stored) vs {b[k]!r} (now)")
        merged_b[label] = b if old is None else dict(old, path=b["path"])
    merged_s = dict(stored.get("strategies", {}))
    order = list(stored.get("strategy_order", list(merged_s)))
    for label, s in new["strategies"].items():
        old = merged_s.get(label)
        if old is not None and (old.get("name"), old.get("hyperparameters")) != (s["name"], s["hyperparameters"]):
            problems.append(f"strategy {label!r}: {old} (stored) vs {s} (now); give the variant another label")
        merged_s.setdefault(label, s)
        if label not in order:
            order.append(label)
    if problems:
        raise GridConfigError("the results file holds runs of a different experiment:\n  " + "\n  ".join(problems)
                              + "\nwrite to another file with -o, or change the settings back")
    seeds = sorted(set(stored.get("seeds", [])) | set(new["seeds"]))
    return {"experiment": new["experiment"], "benchmarks": merged_b, "strategies": merged_s,
            "strategy_order": order, "seeds": seeds}
