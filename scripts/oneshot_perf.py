#!/usr/bin/env python
"""Performance of the one-shot searches on digits (issue 16), into reports/perf.md.

    python scripts/oneshot_perf.py            # about a minute on one core

On the CPU with one thread: the seconds of one supernet epoch of each method
on digits (the digits preset's network, batch 64, 600 training + 600
validation images; the median of the epochs of a short run, derivation
included), the projected full search (that times the method's default epoch
count), and one forward+backward of the supernet against the same work done
by stand-alone networks: the mixed pass (every op of every edge) against the
5 networks with one op on every edge, and the one-path pass (RSPS, ENAS,
SETN's weight steps) against the stand-alone network of that cell. The block
between the ``oneshot-perf`` markers of reports/perf.md is replaced (added at
the end if absent). tests/benchmarks/test_bench_oneshot.py measures the same
forward+backward pairs under pytest-benchmark.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
from pathlib import Path
from _perf_block import write_block  # noqa: E402  (scripts/)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from nasbench_suite._machine import cpu_name  # noqa: E402
from nasbench_suite.oneshot import METHODS, default_epochs, run_oneshot  # noqa: E402
from nasbench_suite.oneshot.perf import PATH, standalone_steps, supernet_step, time_call  # noqa: E402

START, END = "<!-- oneshot-perf:start -->", "<!-- oneshot-perf:end -->"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=3, help="epochs of each timing run (median taken)")
    ap.add_argument("--report", default=str(REPO / "reports" / "perf.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name in METHODS:
        traj = run_oneshot(name, epochs=args.epochs, seed=0, threads=1)
        epoch = statistics.median(float(c) for c in traj.cost)
        full = default_epochs(name, "digits")
        rows.append((name, epoch, full, epoch * full))
        print(f"{name}: {epoch:.3f} s/epoch, {full} epochs -> {epoch * full:.1f} s", flush=True)
    mix, five = time_call(supernet_step("mix")), time_call(standalone_steps())
    path, one = time_call(supernet_step("path")), time_call(standalone_steps([PATH]))
    print(f"mix {mix * 1e3:.2f} ms vs 5 networks {five * 1e3:.2f} ms; path {path * 1e3:.2f} ms vs 1 {one * 1e3:.2f} ms")
    load = " / ".join(f"{x:.2f}" for x in __import__("os").getloadavg())
    lines = [START, "## One-shot search on digits (issue 16, scripts/oneshot_perf.py)", "",
             f"Measured {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} on {cpu_name()}, "
             f"CPU, one thread, torch {torch.__version__}, Python {platform.python_version()}; load average "
             f"{load} (a shared 2-core machine: figures include other processes' interference). "
             f"Command: `python scripts/oneshot_perf.py`.", "",
             "| method | one supernet epoch (s, median of "
             f"{args.epochs}) | default epochs on digits | full search (s, projected) |", "|---|---:|---:|---:|"]
    lines += [f"| {n} | {e:.3f} | {k} | {t:.1f} |" for n, e, k, t in rows]
    lines += ["", "Every full search is far under the 10-minute target. An epoch: 9 weight steps of batch 64 "
              "on the 600 training images, the method's architecture steps on the 600 validation images, "
              "and the derivation of the epoch's cell (100 cells scored on validation batches for RSPS, "
              "SETN and ENAS: a large part of their epoch).", "",
              "| forward+backward, one digits batch of 64 (median) | ms | ratio |", "|---|---:|---:|",
              f"| supernet, mixed (every op of every edge: DARTS, SETN's alpha step) | {mix * 1e3:.2f} | "
              f"{mix / five:.2f}x the 5 networks |",
              f"| 5 stand-alone networks, op k on every edge (the same convolutions) | {five * 1e3:.2f} | 1 |",
              f"| supernet, one path (RSPS, ENAS, SETN's weight step) | {path * 1e3:.2f} | "
              f"{path / one:.2f}x the network |",
              f"| the stand-alone network of that cell | {one * 1e3:.2f} | 1 |", "", END, ""]
    section = "\n".join(lines)
    report = Path(args.report)
    write_block(section, report, START, END)
    print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
