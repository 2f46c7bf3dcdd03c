#!/usr/bin/env python
"""Where the GPU time of an NB201 training step goes (follow-up of gpu_check.py).

    python scripts/gpu_profile.py [--smoke] [--out FILE.json]    # on a GPU machine (about 2 minutes)
    python scripts/gpu_profile.py --from-json FILE.json          # the report block from a saved run

For the official NB201 network (best CIFAR-10 cell) on random 3x32x32 data it
measures images/s of a training step at batch 256 and 1024, fp32 and
AMP(bf16)+channels_last, with cuDNN benchmark on, eagerly and replayed as one
CUDA graph (torch.cuda.graphs: no per-kernel launch cost), and profiles ten
eager steps (torch.profiler): total kernel time against wall time, the number
of kernels, and the ten kernels that take the most time. Prints JSON lines
and writes the block between the ``gpu-profile`` markers of ``reports/perf.md``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from _perf_block import write_block  # noqa: E402  (scripts/)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from nasbench_suite.train import build_network  # noqa: E402

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def setup(device, batch, amp, net):
    torch.manual_seed(0)
    model = build_network("nb201", BEST, 10, **net).to(device)
    if amp:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device=device)
    if amp:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()
    cuda = device.type == "cuda"

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and cuda):
            loss = loss_fn(model(x).float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
        return loss
    return step


def rate(step, device, batch, seconds):
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(5):
        step()
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            step()
        sync()
        n += 10
    el = time.perf_counter() - t0
    return n * batch / el, 1000 * el / n


def graphed(step, device):
    """The step captured as one CUDA graph (after warm-up on a side stream)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        step()
    return g.replay


def profile(step, device):
    from torch.profiler import ProfilerActivity, profile as prof
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with prof(activities=acts) as p:
        for _ in range(10):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    ev = [e for e in p.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    kern = sum(e.device_time for e in ev) / 1000  # us -> ms
    by = {}
    for e in ev:
        by.setdefault(e.name, [0, 0.0])
        by[e.name][0] += 1
        by[e.name][1] += e.device_time / 1000
    top = sorted(by.items(), key=lambda kv: -kv[1][1])[:10]
    return {"wall_ms_per_step": 1000 * wall / 10, "kernel_ms_per_step": kern / 10, "kernels_per_step": len(ev) / 10,
            "top": [{"name": k[:90], "calls_per_step": v[0] / 10, "ms_per_step": v[1] / 10} for k, v in top]}


START, END = "<!-- gpu-profile:start -->", "<!-- gpu-profile:end -->"


def markdown(info: dict) -> str:
    """The report block: images/s per configuration and the profile of the batch-256 steps."""
    lines = [START, "", "### Where a training step's GPU time goes (scripts/gpu_profile.py)", "",
             f"Card: **{info['card']}**; torch {info['torch']}; {info.get('date', '')}. Official NB201 network "
             "(best CIFAR-10 cell), random 3x32x32 data, cuDNN benchmark on. *Eager* launches every kernel "
             "from Python; *CUDA graph* replays the captured step (forward, backward, SGD) with no launch cost.",
             "", "| precision | batch | eager images/s | CUDA graph images/s | graph / eager |",
             "|---|---:|---:|---:|---:|"]
    for r in info["rows"]:
        prec = "AMP bf16 + channels_last" if r["amp"] else "fp32 (TF32 convolutions)"
        g, e = r.get("graph_img_s"), r["eager_img_s"]
        graph, ratio = ("-", "-") if g is None else (f"{g:,.0f}", f"{g / e:.2f}x")
        lines.append(f"| {prec} | {r['batch']} | {e:,.0f} | {graph} | {ratio} |")
    lines += ["", "Ten profiled eager steps at batch 256 (kernel time is the sum of the GPU kernels' durations):", "",
              "| precision | wall ms/step | kernel ms/step | kernels/step | kernel share of an unprofiled eager step "
              "| largest kernel (ms/step) |",
              "|---|---:|---:|---:|---:|---|"]
    for r in info["rows"]:
        p = r.get("profile")
        if not p:
            continue
        prec = "AMP bf16 + channels_last" if r["amp"] else "fp32"
        top = next((t for t in p["top"] if not t["name"].startswith("Optimizer")), p["top"][0] if p["top"] else None)
        big = f"`{top['name'][:48]}` ({top['ms_per_step']:.2f})" if top else "-"
        lines.append(f"| {prec} | {p['wall_ms_per_step']:.1f} | {p['kernel_ms_per_step']:.1f} | "
                     f"{p['kernels_per_step']:,.0f} | {p['kernel_ms_per_step'] / r['eager_ms']:.0%} | {big} |")
    lines += ["", "(Profiling slows the launches: compare the profiled wall time with the kernel time, "
              "and the unprofiled eager rate above with the graph rate. A low kernel share means the step waits on "
              "Python launching kernels, which a CUDA graph removes.)", "", END, ""]
    return "\n".join(lines)


def write_report(section: str, path: Path) -> None:
    """Replaces the block between the markers of ``path`` (appends it when absent)."""
    write_block(section, path, START, END)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU, no report written")
    ap.add_argument("--out", help="also write the figures as JSON here")
    ap.add_argument("--from-json", help="write the report block from a JSON file of an earlier run")
    ap.add_argument("--report", default=str(REPO / "reports" / "perf.md"))
    a = ap.parse_args()
    if a.from_json:
        write_report(markdown(json.loads(Path(a.from_json).read_text())), Path(a.report))
        print(f"wrote the gpu-profile block of {a.report}")
        return
    device = torch.device("cuda" if torch.cuda.is_available() and not a.smoke else "cpu")
    torch.backends.cudnn.benchmark = True
    net = dict(channels=4, cells_per_stage=1) if a.smoke else {}
    secs = 0.5 if a.smoke else 4.0
    rows = []
    for amp in (False, True):
        for batch in ((32,) if a.smoke else (256, 1024)):
            step = setup(device, batch, amp, net)
            r = {"amp": amp, "batch": batch}
            r["eager_img_s"], r["eager_ms"] = rate(step, device, batch, secs)
            if batch == ((32,) if a.smoke else (256,))[0]:
                try:
                    r["profile"] = profile(step, device)
                except Exception as exc:  # noqa: BLE001 - report, keep measuring
                    r["profile_error"] = repr(exc)[:300]
            if device.type == "cuda":
                try:
                    r["graph_img_s"], r["graph_ms"] = rate(graphed(step, device), device, batch, secs)
                except Exception as exc:  # noqa: BLE001 - report, keep measuring
                    r["graph_error"] = repr(exc)[:300]
            print(json.dumps(r), flush=True)
            rows.append(r)
    info = {"card": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "rows": rows,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if a.out:
        Path(a.out).write_text(json.dumps(info, indent=1))
    print(markdown(info))
    if not a.smoke:
        write_report(markdown(info), Path(a.report))


if __name__ == "__main__":
    main()
