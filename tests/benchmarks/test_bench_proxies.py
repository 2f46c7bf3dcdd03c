"""Data-free proxies of the CIFAR-10-sized NB201 network (the NB201 report's
hot path: synflow, params, flops of every cell; ``scripts/proxies_nb201.py``):
``compute_many``, which copies the network only for a proxy that modifies it,
against the reference, a fresh copy of the network for every proxy (what
``compute_many`` did before), in the same run; and ``zen`` against a plain
reference (NCHW, every 4-D output kept, BN variances from hooks: what it was
before it went channels-last). Per round: 3 cells (zen: 2) of
different sizes, each network built from seed 0, one thread."""
from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from nasbench_suite import proxies as P  # noqa: E402
from nasbench_suite.spaces import nb201  # noqa: E402

NAMES = ["synflow", "params", "flops"]
CELLS = [nb201.Cell.from_index(i) for i in (5, 4000, 9000)]


@pytest.fixture(scope="module")
def batch():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield P.noise_batch((3, 32, 32), 10)
    torch.set_num_threads(before)


def _library(batch):
    return [P.compute_many(NAMES, space="nb201", cell=c, batch=batch) for c in CELLS]


def _reference(batch):
    out = []
    for c in CELLS:
        net = P.network("nb201", c, 10, 3)
        vals = {}
        for name in NAMES:
            fresh = copy.deepcopy(net)
            fresh.train()
            vals[name] = P._one(name, fresh, batch, 0)[0]
        out.append(vals)
    return out


@pytest.mark.benchmark(group="proxies-nb201-cifar10-data-free")
def test_compute_many(benchmark, batch):
    got = benchmark.pedantic(_library, args=(batch,), rounds=3, iterations=1)
    assert got == _reference(batch)


@pytest.mark.benchmark(group="proxies-nb201-cifar10-data-free")
def test_reference_a_copy_per_proxy(benchmark, batch):
    benchmark.pedantic(_reference, args=(batch,), rounds=3, iterations=1)


# ---------------------------------------------------------------- zen
ZEN_CELLS = [nb201.Cell.from_index(i) for i in (5, 4000)]


def _zen_reference(model, x, seed):
    """zen written plainly: the same draws (x, e, then the weights in module
    order), NCHW tensors, every 4-D output kept, each BN's input variance from a
    hook (what ``measures.zen`` did before it went channels-last)."""
    nn = torch.nn
    gen = torch.Generator().manual_seed(int(seed))
    xa = torch.randn(tuple(x.shape), generator=gen)
    xb = xa + 0.01 * torch.randn(tuple(x.shape), generator=gen)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    feats, variances = [], []
    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(lambda mod, i, o: feats.append(o) if o.dim() == 4 else None) for m in leaves]
    model.train()
    with torch.no_grad():
        model(xa)
        fa = feats[-1]
        hooks += [m.register_forward_pre_hook(lambda mod, i: variances.append(
            i[0].transpose(0, 1).reshape(i[0].shape[1], -1).var(dim=1).mean()))
            for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        model(xb)
        fb = feats[-1]
    for h in hooks:
        h.remove()
    score = float(torch.log((fa - fb).abs().flatten(1).sum(dim=1).mean()))
    return score + sum(float(torch.log(torch.sqrt(v))) for v in variances if float(v) > 0.0)


def _zen(fn, batch):
    return [fn(P.network("nb201", c, 10, 3), batch.x, 7) for c in ZEN_CELLS]


@pytest.mark.benchmark(group="proxies-nb201-cifar10-zen")
def test_zen(benchmark, batch):
    from nasbench_suite.proxies import measures

    got = benchmark.pedantic(_zen, args=(lambda m, x, s: measures.zen(m, x, None, s), batch), rounds=3, iterations=1)
    # Same draws; only the float32 summation order differs (channels-last
    # convolutions, BN's own variance): ~1e-6 relative on these networks.
    assert got == pytest.approx(_zen(_zen_reference, batch), rel=1e-5)


@pytest.mark.benchmark(group="proxies-nb201-cifar10-zen")
def test_zen_reference_plain(benchmark, batch):
    benchmark.pedantic(_zen, args=(_zen_reference, batch), rounds=3, iterations=1)
