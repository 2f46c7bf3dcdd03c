#!/usr/bin/env python
"""GPU check of the one-shot search (issue 16): one DARTS-V1 and one GDAS
supernet epoch on CIFAR-10 (the ``cifar10-valid`` split: weights on 25k
training images, alpha on the other 25k), the official NB201 supernet (C=16,
N=5, residual reductions), AMP (bf16 where supported) + channels_last, batch 64.

    python scripts/gpu_check_oneshot.py            # on the GPU machine (a few minutes)
    python scripts/gpu_check_oneshot.py --smoke    # anywhere: tiny sizes on the CPU, no report

Uses the real CIFAR-10 files when they are under ``$NASBENCH_SUITE_TRAIN_DATA``
(or ``--data-root``), else a CIFAR-10-format archive of random images of the
right shape (accuracy meaningless, the epoch time real). With ``--table`` (an
NB201 table with a ``cifar10-valid`` dataset, e.g. the nb201-public import)
each derived cell is scored by it. Writes the block between the
``oneshot-gpu`` markers of reports/perf.md and, with ``--out``, JSON.
scripts/gpu_check.sh runs it after the trainer's check.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from _perf_block import write_block  # noqa: E402  (scripts/)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import torch  # noqa: E402

from nasbench_suite.oneshot import run_oneshot  # noqa: E402
from nasbench_suite.train.data import DatasetNotFound, load_dataset  # noqa: E402
from nasbench_suite.train.presets import get_preset  # noqa: E402

START, END = "<!-- oneshot-gpu:start -->", "<!-- oneshot-gpu:end -->"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, CPU allowed, no report written")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--table", default=None, help="an NB201 table with cifar10-valid to score the cells")
    ap.add_argument("--methods", default="darts_v1,gdas")
    ap.add_argument("--out", default=None)
    ap.add_argument("--report", default=str(REPO / "reports" / "perf.md"))
    args = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        print("no GPU visible to torch; use --smoke to check the script on the CPU", file=sys.stderr)
        return 2
    device = "cuda" if cuda else "cpu"
    preset = get_preset("nb201", "official")
    if args.smoke:
        preset = preset.replace(channels=4, cells_per_stage=1)
    info = {"card": torch.cuda.get_device_name(0) if cuda else "cpu (smoke)", "torch": torch.__version__,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        root, verify, data = args.data_root, True, "real CIFAR-10"
        try:
            if args.smoke:
                raise DatasetNotFound("smoke")
            load_dataset("cifar10-valid", root, preset.splits)
        except DatasetNotFound:
            from gpu_check import fake_cifar10

            fake_cifar10(Path(tmp), 500 if args.smoke else 50_000, 100 if args.smoke else 10_000)
            root, verify, data = tmp, False, "random images in the CIFAR-10 format"
        info["data"] = data
        for m in [x for x in args.methods.split(",") if x]:
            t0 = time.perf_counter()
            traj = run_oneshot(m, dataset="cifar10-valid", seed=0, epochs=1, preset=preset, data_root=root,
                               verify_data=verify, device=device, table=args.table,
                               table_dataset="cifar10-valid" if args.table else None)
            run = {"method": m, "epoch_s": float(traj.cost[0]), "wall_s": time.perf_counter() - t0,
                   "cell": traj.cell[0], "train_images": 250 if args.smoke else 25_000,
                   "table_test": None if not args.table else float(traj.incumbent_report[0])}
            run["train_images_per_s"] = run["train_images"] / run["epoch_s"]
            print(json.dumps(run), flush=True)
            info["runs"].append(run)
    lines = [START, "## One-shot search on a GPU (issue 16, scripts/gpu_check_oneshot.py)", "",
             f"{info['card']}, torch {info['torch']}, {info['date']}; {info['data']}; the official NB201 supernet "
             "(C=16, N=5), cifar10-valid split (25k + 25k), batch 64, AMP + channels_last. One epoch each:", "",
             "| method | epoch (s) | training images / s | derived cell |", "|---|---:|---:|---|"]
    lines += [f"| {r['method']} | {r['epoch_s']:.1f} | {r['train_images_per_s']:.0f} | `{r['cell']}` |"
              for r in info["runs"]]
    lines += ["", END, ""]
    section = "\n".join(lines)
    print(section)
    if args.out:
        Path(args.out).write_text(json.dumps(info, indent=2))
    if not args.smoke:
        write_block(section, Path(args.report), START, END)
        print(f"wrote the oneshot-gpu block of {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
