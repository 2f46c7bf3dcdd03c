"""Are search trajectories byte-identical whatever BLAS kernel or SIMD level
the x86-64 machine has?

Runs every registered strategy on the synthetic NB201 and NB101 tables of
``tests/synthetic_tables.py`` (a few seeds, a query budget) once per
environment, each in its own Python process, and compares the sha256 of
every trajectory's ``to_bytes()``. The environments switch the OpenBLAS
kernel (``OPENBLAS_CORETYPE``), numpy's SIMD dispatch
(``NPY_DISABLE_CPU_FEATURES``, only targets this machine has, so it works on
any x86-64 CPU) and glibc's choice of FMA or non-FMA libm variants
(``GLIBC_TUNABLES``); each process reports the kernel OpenBLAS actually chose
(threadpoolctl), the numpy targets left on and fingerprints of numpy's and
libm's exp/log, so a setting that changed nothing shows as such. Besides
trajectories, the learned strategies' floating-point state at the end of a
run is compared too (:func:`state_digest`). The tables are built once and
shared, so only the strategies (and the runner) are under test.

    python scripts/repro_check.py --seeds 5 --budget 150 --label 'after the fix' \
        --report reports/reproducibility.md

Exit status 1 when anything differs. ``--quick``: three environments.

``--label`` names the section of the report this run fills (other sections
are kept, so a run before a fix and one after it sit side by side).
``meta["benchmark"]`` (the table's path, a temporary directory) is replaced
by the file name before hashing, so digests compare across invocations.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime
import hashlib
import json
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CORETYPES = ("Prescott", "Sandybridge", "Haswell", "SkylakeX", "Zen")
# glibc's libm picks FMA or non-FMA variants of exp, log, log1p, pow, ... at
# load time (ifunc); these tunables hide AVX2/FMA from that choice (both
# spellings: glibc < 2.33 and later; other C libraries ignore the variable).
GLIBC_NO_FMA = "glibc.cpu.hwcaps=-AVX2_Usable,-FMA_Usable,-AVX2,-FMA"
SPACES = ("nb201", "nb101")
REPORT_METRIC = {"nb201": "test_acc@200", "nb101": "test_acc@108"}


# ---------------------------------------------------------------- environments

_SIMD_PROBE = """
import json
try:
    from numpy._core import _multiarray_umath as m
except ImportError:  # numpy 1.x
    from numpy.core import _multiarray_umath as m
features, dispatch = getattr(m, "__cpu_features__", {}), getattr(m, "__cpu_dispatch__", [])
print(json.dumps([t for t in dispatch if features.get(t)]))
"""


def numpy_simd_targets() -> tuple[list[str], list[str]]:
    """(numpy's dispatch targets this machine has, those that need AVX512),
    as seen by a fresh interpreter without any override."""
    out = subprocess.run([sys.executable, "-c", _SIMD_PROBE], capture_output=True, text=True, check=True,
                         env=_clean_env())
    have = json.loads(out.stdout)
    avx512 = [t for t in have if t.startswith("AVX512") or t == "X86_V4"]
    return have, avx512


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES",
                        "OPENBLAS_VERBOSE", "GLIBC_TUNABLES", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def environments(full: bool = True) -> list[tuple[str, dict]]:
    """(name, variables set on top of the clean environment). With
    ``full=False`` three: the default, the oldest OpenBLAS kernel, and numpy
    without any SIMD target above its baseline."""
    have, avx512 = numpy_simd_targets()
    envs = [("default", {})]
    for c in (CORETYPES if full else ("Prescott",)):
        envs.append((f"openblas={c}", {"OPENBLAS_CORETYPE": c}))
    if full and avx512 and len(avx512) < len(have):
        envs.append(("numpy-no-avx512", {"NPY_DISABLE_CPU_FEATURES": " ".join(avx512)}))
    if have:
        envs.append(("numpy-baseline", {"NPY_DISABLE_CPU_FEATURES": " ".join(have)}))
    if full:
        envs.append(("libm-no-fma", {"GLIBC_TUNABLES": GLIBC_NO_FMA}))
        envs.append(("oldest: openblas=Prescott, numpy-baseline, libm-no-fma, 1 thread",
                     {"OPENBLAS_CORETYPE": "Prescott", "NPY_DISABLE_CPU_FEATURES": " ".join(have),
                      "GLIBC_TUNABLES": GLIBC_NO_FMA, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}))
    return envs


# ---------------------------------------------------------------- the grid

def default_grid(seeds: int, budget: int, nb101_strategies=None) -> list[dict]:
    from nasbench_suite.strategies import REGISTRY

    grid = []
    for space in SPACES:
        names = list(REGISTRY) if space == "nb201" or nb101_strategies is None else list(nb101_strategies)
        for name in names:
            for seed in range(seeds):
                grid.append({"space": space, "strategy": name, "seed": seed, "budget": budget})
    return grid


def build_tables(directory: pathlib.Path, spaces) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from synthetic_tables import make_nb101_table, make_nb201_table

    out = {}
    if "nb201" in spaces:
        out["nb201"] = str(make_nb201_table(directory / "nb201_synthetic.h5"))
    if "nb101" in spaces:
        out["nb101"] = str(make_nb101_table(directory / "nb101_synthetic.h5"))
    return out


def digest(traj) -> str:
    traj.meta["benchmark"] = os.path.basename(traj.meta["benchmark"])
    return hashlib.sha256(traj.to_bytes()).hexdigest()


def state_digest(strategy) -> str | None:
    """sha256 of a learned strategy's internal floating-point state after its
    run (None for strategies without one): REINFORCE's logits and policy,
    BANANAS's last ensemble weights and its predictions on the cells told,
    BOHB's log-density ratio of every result at each fidelity with a model.
    Equal trajectories with unequal states mean the strategy was lucky."""
    import numpy as np

    h = hashlib.sha256()
    if strategy.name == "reinforce":
        h.update(np.ascontiguousarray(strategy.logits).tobytes())
        h.update(np.ascontiguousarray(strategy.probabilities()).tobytes())
    elif strategy.name == "bananas":
        if strategy._model is None:
            return None
        h.update(np.ascontiguousarray(strategy._model.model.theta).tobytes())
        h.update(np.ascontiguousarray(strategy.predict(strategy._cells)).tobytes())
    elif strategy.name == "bohb":
        for fidelity in sorted(strategy._data):
            split = strategy._split(fidelity)
            if split is None:
                continue
            good, bad = split
            x = np.stack(strategy._data[fidelity][0])
            score = (strategy._log_density(good, strategy._bandwidth(good), x)
                     - strategy._log_density(bad, strategy._bandwidth(bad), x))
            h.update(np.ascontiguousarray(score).tobytes())
    else:
        return None
    return h.hexdigest()


def run_grid(tables: dict, grid: list[dict]) -> tuple[dict, dict]:
    """({run key: trajectory digest}, {run key: state digest} for learned strategies)."""
    import numpy as np

    from nasbench_suite.runner import run_search
    from nasbench_suite.strategies import make_strategy
    from nasbench_suite.tables import Benchmark

    out, states = {}, {}
    benches = {}
    for job in grid:
        key = f"{job['space']}/{job['strategy']}/{job['seed']}"
        bench = benches.setdefault(job["space"], Benchmark.open(tables[job["space"]]))
        # run_search's own seeding of a strategy given by name, so that the
        # strategy object can be inspected afterwards.
        strat_seq = np.random.SeedSequence(int(job["seed"])).spawn(2)[0]
        strategy = make_strategy(job["strategy"], bench.space, np.random.default_rng(strat_seq))
        traj = run_search(bench, strategy, job["seed"], {"queries": job["budget"]},
                          search_metric="valid_acc@12", report_metric=REPORT_METRIC[job["space"]])
        out[key] = digest(traj)
        state = state_digest(strategy)
        if state is not None:
            states[key] = state
    return out, states


def runtime_info() -> dict:
    import numpy as np

    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath as umath
    features, dispatch = getattr(umath, "__cpu_features__", {}), getattr(umath, "__cpu_dispatch__", [])
    import math

    import nasbench_suite

    # Fingerprints of numpy's and libm's exp/log/log1p/pow on fixed inputs: they
    # change when the SIMD path or the libm variant does.
    x = np.linspace(-20.0, 5.0, 20001)
    fp_np = hashlib.sha256(b"".join(f(a).tobytes() for f, a in ((np.exp, x), (np.log, np.abs(x) + 1e-3),
                                                                (np.log1p, np.abs(x))))).hexdigest()[:8]
    fp_libm = hashlib.sha256(repr([(math.exp(v), math.log(abs(v) + 1e-3), math.log1p(abs(v)), 0.999 ** i)
                                   for i, v in enumerate(x.tolist())]).encode()).hexdigest()[:8]
    info = {"numpy": np.__version__, "numpy_simd": [t for t in dispatch if features.get(t)],
            "numpy_fp": fp_np, "libm_fp": fp_libm, "package": os.path.dirname(nasbench_suite.__file__)}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                        for p in threadpool_info() if p.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = []
    return info


def worker(args) -> None:
    tables = json.loads(args.tables)
    grid = json.loads(pathlib.Path(args.grid).read_text())
    t0 = time.perf_counter()
    digests, states = run_grid(tables, grid)
    print(json.dumps({"info": runtime_info(), "digests": digests, "states": states,
                      "seconds": time.perf_counter() - t0}))


def run_env(env_vars: dict, tables: dict, grid_file: str) -> dict:
    env = _clean_env()
    env.update(env_vars)
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker", "--tables", json.dumps(tables),
           "--grid", grid_file]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"worker failed under {env_vars}:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def check(tables: dict, grid: list[dict], envs: list[tuple[str, dict]], jobs: int = 2) -> dict:
    """{env name: worker output} for every environment."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(grid, f)
        grid_file = f.name
    try:
        with cf.ThreadPoolExecutor(max(1, jobs)) as pool:
            futures = {name: pool.submit(run_env, vars_, tables, grid_file) for name, vars_ in envs}
            return {name: fut.result() for name, fut in futures.items()}
    finally:
        os.unlink(grid_file)


def differences(results: dict, what: str = "digests") -> dict:
    """{run key: {digest: [env names]}} for the runs whose trajectory
    digests (``what="states"``: state digests) differ."""
    keys = next(iter(results.values()))[what]
    out = {}
    for key in keys:
        by = {}
        for env, r in results.items():
            by.setdefault(r[what][key], []).append(env)
        if len(by) > 1:
            out[key] = by
    return out


# ---------------------------------------------------------------- report

def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def section(label: str, command: str, results: dict, envs, grid, seconds: float) -> str:
    diff, sdiff = differences(results), differences(results, "states")
    first = next(iter(results.values()))
    blas = first["info"]["blas"]
    lines = [f"<!-- repro:{label} -->", f"## {label}", "",
             f"`{command}`, {datetime.date.today().isoformat()}, {seconds:.0f} s.", "",
             f"Machine: {machine()}. Python {platform.python_version()}, numpy {first['info']['numpy']}, "
             + (f"OpenBLAS {blas[0]['version']} ({blas[0]['internal_api']})" if blas else "BLAS unknown")
             + ".", "", "The last two columns fingerprint numpy's and libm's exp/log/log1p (and libm's pow) "
             "on fixed inputs: a different value shows the environment really switched code paths.", "",
             "| environment | settings | OpenBLAS kernel in use | numpy SIMD targets on | numpy exp/log | "
             "libm exp/log/pow |", "|---|---|---|---|---|---|"]
    for name, vars_ in envs:
        info = results[name]["info"]
        kern = ", ".join(f"{b['architecture']} ({b['num_threads']} thr)" for b in info["blas"]) or "?"
        settings = ", ".join(f"`{k}={v}`" for k, v in vars_.items()) or "(none)"
        lines.append(f"| {name} | {settings} | {kern} | {' '.join(info['numpy_simd']) or 'baseline only'} "
                     f"| {info['numpy_fp']} | {info['libm_fp']} |")
    spaces = sorted({j["space"] for j in grid}, key=SPACES.index)
    budget = grid[0]["budget"]
    seeds = sorted({j["seed"] for j in grid})
    lines += ["", f"Grid: {len(grid)} runs, {budget} queries each, seeds {seeds[0]}-{seeds[-1]}, "
              "search `valid_acc@12`, report `test_acc@200` (NB201) / `test_acc@108` (NB101). "
              "A strategy matches when every one of its runs has the same trajectory digest in every environment. *Model state*: the same for the learned "
              "strategies' floating-point state at the end of each run (REINFORCE's logits and policy, BANANAS's "
              "last ensemble and its predictions, BOHB's density ratios; `scripts/repro_check.py` "
              "`state_digest`); a trajectory can match by luck while the state does not.", "",
              "| space | strategy | runs | trajectories identical in all environments | model state identical "
              "| environments that differ from `default` |",
              "|---|---|---|---|---|---|"]
    for space in spaces:
        names = list(dict.fromkeys(j["strategy"] for j in grid if j["space"] == space))
        for name in names:
            keys = [f"{space}/{name}/{j['seed']}" for j in grid if j["space"] == space and j["strategy"] == name]
            bad = [k for k in keys if k in diff]
            with_state = [k for k in keys if k in first["states"]]
            bad_state = [k for k in with_state if k in sdiff]
            odd = set()
            for what, ks in (("digests", bad), ("states", bad_state)):
                for k in ks:
                    ref = results["default"][what][k]
                    odd.update(e for e, r in results.items() if r[what][k] != ref)
            verdict = "yes" if not bad else f"**no** ({len(bad)} of {len(keys)} runs differ)"
            state = ("-" if not with_state else "yes" if not bad_state
                     else f"**no** ({len(bad_state)} of {len(with_state)} runs differ)")
            odd_s = ", ".join(e for e, _ in envs if e in odd) or "-"
            lines.append(f"| {space} | {name} | {len(keys)} | {verdict} | {state} | {odd_s} |")
    lines += ["", "<details><summary>digests (sha256 of to_bytes(), first 16 hex digits, environment "
              "`default`)</summary>", "", "```"]
    for key, d in results["default"]["digests"].items():
        lines.append(f"{key:40s} {d[:16]}{'  DIFFERS' if key in diff else ''}")
    lines += ["```", "", "</details>", f"<!-- /repro:{label} -->"]
    return "\n".join(lines) + "\n"


HEADER = """# Reproducibility of search trajectories across x86-64 machines

Generated by (from the repository root):

```bash
{command}
```

Each environment runs the grid in its own process; a trajectory's digest is
the sha256 of `Trajectory.to_bytes()` (with `meta["benchmark"]` reduced to the
table's file name). See the module docstring of `scripts/repro_check.py`.

"""


def write_report(path: pathlib.Path, label: str, command: str, body: str) -> None:
    text = path.read_text() if path.exists() else HEADER.format(command=command)
    pattern = re.compile(rf"<!-- repro:{re.escape(label)} -->.*?<!-- /repro:{re.escape(label)} -->\n",
                         re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: body, text)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=100, help="queries per run")
    ap.add_argument("--nb101-strategies", default=None,
                    help="comma-separated strategies to run on NB101 (default: all registered)")
    ap.add_argument("--quick", action="store_true", help="three environments instead of all")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--label", default="result", help="the report section this run fills")
    ap.add_argument("--report", default=None, help="Markdown report to write or update")
    ap.add_argument("--json", default=None, help="write every environment's digests here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tables", help=argparse.SUPPRESS)
    ap.add_argument("--grid", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    command = shlex.join(["python", "scripts/repro_check.py", *(argv if argv is not None else sys.argv[1:])])
    nb101 = None if args.nb101_strategies is None else args.nb101_strategies.split(",")
    grid = default_grid(args.seeds, args.budget, nb101)
    envs = environments(full=not args.quick)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tables = build_tables(pathlib.Path(tmp), {j["space"] for j in grid})
        results = check(tables, grid, envs, args.jobs)
    seconds = time.perf_counter() - t0
    diff, sdiff = differences(results), differences(results, "states")
    for name, _ in envs:
        info = results[name]["info"]
        kern = ",".join(b["architecture"] for b in info["blas"])
        print(f"{name:66s} openblas {kern:12s} numpy {' '.join(info['numpy_simd']) or 'baseline':38s} "
              f"fp numpy {info['numpy_fp']} libm {info['libm_fp']}  {results[name]['seconds']:.0f} s")
    by_strategy: dict = {}
    for key in results["default"]["digests"]:
        space, name, _ = key.split("/")
        by_strategy.setdefault((space, name), []).append((key in diff, key in sdiff))
    for (space, name), flags in by_strategy.items():
        n_traj, n_state = sum(f[0] for f in flags), sum(f[1] for f in flags)
        print(f"{space:6s} {name:24s} trajectories "
              f"{'identical' if not n_traj else f'DIFFER in {n_traj}/{len(flags)} runs':24s}"
              + (f" model state DIFFERS in {n_state}/{len(flags)} runs" if n_state else ""))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"envs": envs, "results": results}, indent=1))
    if args.report:
        write_report(pathlib.Path(args.report), args.label, command,
                     section(args.label, command, results, envs, grid, seconds))
    print(f"{len(diff)} of {len(results['default']['digests'])} trajectories and {len(sdiff)} model states "
          f"differ across {len(envs)} environments ({seconds:.0f} s)")
    return 1 if diff or sdiff else 0


if __name__ == "__main__":
    sys.exit(main())
