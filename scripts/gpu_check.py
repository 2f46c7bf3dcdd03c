#!/usr/bin/env python
"""GPU check of the trainer (issue 5): throughput of the official NB201
network and a short real training run, written into ``reports/perf.md``.

    python scripts/gpu_check.py                 # on a machine with a GPU (about 2-4 minutes)
    python scripts/gpu_check.py --smoke         # tiny sizes on the CPU: checks the script runs

Measures, on random CIFAR-sized tensors (3x32x32, batch 256), training steps
per second (forward, backward, SGD step) of the official NB201 network of the
best CIFAR-10 cell, as images per second, in three modes: fp32 eager (NCHW),
automatic mixed precision (bf16 where supported) + channels_last, and the
same under ``torch.compile``. Then trains through ``nasbench_suite.train.Trainer``
(AMP, channels_last, cuDNN benchmark, pinned memory): two epochs of the
official NB201 network on a CIFAR-10-format archive of random images (25k
training images: the ``cifar10-valid`` split; accuracy is meaningless, the
epoch time is real), and three epochs on scikit-learn's digits (accuracy is
meaningful). The figures go into the block between the ``gpu-check`` markers
of ``reports/perf.md`` (added at the end if absent) with the card's name,
and into ``--out`` as JSON.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import platform
import sys
import tempfile
import time
from pathlib import Path
from _perf_block import write_block  # noqa: E402  (scripts/)

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from nasbench_suite.train import Trainer, build_network, count_params  # noqa: E402

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
START, END = "<!-- gpu-check:start -->", "<!-- gpu-check:end -->"


def throughput(device, batch: int, mode: str, seconds: float, shape=(3, 32, 32), **net) -> dict:
    """Images per second of training steps in ``mode``: fp32, amp, amp+compile."""
    torch.manual_seed(0)
    model = build_network("nb201", BEST, 10, **net).to(device)
    amp = mode.startswith("amp")
    if amp:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    run = torch.compile(model) if mode.endswith("compile") else model
    x = torch.randn(batch, *shape, device=device)
    if amp:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    cuda = device.type == "cuda"
    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float16
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=amp and cuda):
            loss = loss_fn(run(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync():
        if cuda:
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    for _ in range(3):
        step()
    sync()
    warmup = time.perf_counter() - t0  # includes compilation for "compile"
    for _ in range(5):
        step()
    sync()
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            step()
        sync()
        steps += 10
    elapsed = time.perf_counter() - t0
    return {"mode": mode, "batch": batch, "steps": steps, "images_per_s": steps * batch / elapsed,
            "ms_per_step": 1000 * elapsed / steps, "warmup_s": warmup}


def fake_cifar10(root: Path, train: int, test: int) -> None:
    """A CIFAR-10 python-version folder of random images (timing only)."""
    rng = np.random.default_rng(0)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True, exist_ok=True)
    per = train // 5
    for name, n in [(f"data_batch_{i}", per) for i in range(1, 6)] + [("test_batch", test)]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, n).tolist()}
        (d / name).write_bytes(pickle.dumps(batch))


def train_runs(device, smoke: bool) -> list:
    out = []
    net = dict(channels=4, cells_per_stage=1) if smoke else {}
    with tempfile.TemporaryDirectory() as tmp:
        fake_cifar10(Path(tmp), 500 if smoke else 50_000, 100 if smoke else 10_000)
        tr = Trainer(dataset="cifar10-valid", data_root=tmp, epochs=2, device=device, progress=False,
                     verify_data=False, **net)
        t0 = time.perf_counter()
        r = tr.train("nb201", BEST, seed=0)
        out.append({"run": "cifar10-valid format, random images, official NB201 network" if not smoke else "smoke",
                    "epochs": 2, "train_images": 250 if smoke else 25_000, "params": r.params,
                    "epoch_times_s": [h["epoch_time"] for h in r.history],
                    "images_per_s_epoch2": (250 if smoke else 25_000) // 256 * 256 / r.history[-1]["epoch_time"]
                    if not smoke else None,
                    "wall_s": time.perf_counter() - t0})
    tr = Trainer(dataset="digits", epochs=3, device=device, batch_size=64, progress=False, **net)
    t0 = time.perf_counter()
    r = tr.train("nb201", BEST, seed=0)
    out.append({"run": "digits (8x8), official NB201 network, batch 64", "epochs": 3, "params": r.params,
                "epoch_times_s": [h["epoch_time"] for h in r.history],
                "test_acc": r.final["test_acc"], "valid_acc": r.final["valid_acc"],
                "wall_s": time.perf_counter() - t0})
    return out


def markdown(info: dict) -> str:
    lines = [START, "", "## GPU check of the trainer (scripts/gpu_check.sh)", "",
             f"Card: **{info['card']}**; torch {info['torch']}, CUDA {info['cuda']}, cuDNN {info['cudnn']}; "
             f"{info['date']}. Training steps (forward, backward, SGD step) of the official NB201 network "
             f"(C=16, N=5, best CIFAR-10 cell, {info['params']:,} parameters) on random 3x32x32 tensors, "
             "batch 256. fp32 eager uses cuDNN's defaults (TF32 convolutions allowed).", "",
             "| mode | images/s | ms/step | warm-up s | speed-up vs fp32 |", "|---|---:|---:|---:|---:|"]
    base = info["throughput"][0]["images_per_s"]
    for t in info["throughput"]:
        lines.append(f"| {t['mode']} | {t['images_per_s']:,.0f} | {t['ms_per_step']:.2f} | {t['warmup_s']:.1f} | "
                     f"{t['images_per_s'] / base:.2f}x |")
    lines += ["", "Through `Trainer` (AMP, channels_last, cuDNN benchmark, pinned memory, data on the GPU):", ""]
    for r in info["training"]:
        times = ", ".join(f"{t:.2f}" for t in r["epoch_times_s"])
        extra = f"; test {r['test_acc']:.1f}%" if "test_acc" in r else ""
        ips = f"; {r['images_per_s_epoch2']:,.0f} images/s in epoch 2" if r.get("images_per_s_epoch2") else ""
        lines.append(f"- {r['run']}: epoch times {times} s{ips}{extra} (wall {r['wall_s']:.1f} s with set-up)")
    lines += ["", END, ""]
    return "\n".join(lines)


def write_report(section: str, path: Path) -> None:
    write_block(section, path, START, END)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, CPU allowed, no report written")
    ap.add_argument("--seconds", type=float, default=6.0, help="timed seconds per throughput mode")
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    ap.add_argument("--report", default=str(REPO / "reports" / "perf.md"))
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile mode")
    args = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        print("no GPU visible to torch; use --smoke to check the script on the CPU", file=sys.stderr)
        return 2
    device = torch.device("cuda" if cuda else "cpu")
    torch.backends.cudnn.benchmark = cuda
    net = dict(channels=4, cells_per_stage=1) if args.smoke else {}
    batch = 16 if args.smoke else 256
    seconds = 0.2 if args.smoke else args.seconds
    info = {
        "card": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "params": count_params(build_network("nb201", BEST, 10, **net)),
    }
    modes = ["fp32", "amp+channels_last"] + ([] if args.no_compile else ["amp+channels_last+compile"])
    info["throughput"] = []
    for mode in modes:
        t = throughput(device, batch, mode, seconds, **net)
        print(json.dumps(t), flush=True)
        info["throughput"].append(t)
    info["training"] = train_runs(device, args.smoke)
    for r in info["training"]:
        print(json.dumps(r), flush=True)
    section = markdown(info)
    print(section)
    if args.out:
        Path(args.out).write_text(json.dumps(info, indent=2))
    if not args.smoke:
        write_report(section, Path(args.report))
        print(f"wrote the gpu-check block of {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
