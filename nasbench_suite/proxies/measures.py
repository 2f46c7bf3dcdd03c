"""The zero-cost proxies, one function each: ``fn(model, x, y, seed) -> float``.

Each takes an untrained network (``model``, modified freely: :func:`compute`
hands it a copy), a minibatch ``x`` (float, normalised, on the model's
device) with labels ``y`` (None for the data-free proxies, which only read
``x``'s shape), and a seed for the random numbers a proxy draws itself
(``zen``). Each returns a float; a non-finite value means the proxy is not
defined for the network (the caller turns it into NaN with the reason).

Written from the papers' definitions, checked against the formulas of the
reference implementations (Abdelfattah et al.'s ``zero-cost-nas``, NASLib's
``predictors/utils/pruners``, Zen-NAS, EPE-NAS); the conventions they share
are kept: the "layers" of the layer-wise sums are every ``Conv2d`` and
``Linear`` weight (no biases, no BN), losses are the mean cross-entropy over
the batch, and the network is in training mode (BN on batch statistics).
A higher score predicts a better network for every proxy.
"""
from __future__ import annotations

import numpy as np

from ..train._torch import nn, torch

F = torch.nn.functional


class ProxyUndefined(ValueError):
    """A proxy that has no value for this network; the message is the reason."""


def layers(model) -> list:
    """The modules whose weights the layer-wise proxies sum over: every
    ``Conv2d`` and ``Linear``, in module order."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _weights(model) -> list:
    ws = [m.weight for m in layers(model) if m.weight is not None and m.weight.requires_grad]
    if not ws:
        raise ProxyUndefined("the network has no convolution or linear weights")
    return ws


def _loss_grads(model, x, y) -> list:
    """d(mean cross-entropy)/dW for every layer weight, one forward/backward."""
    if y is None:
        raise ProxyUndefined("this proxy needs labelled data (a dataset), none was given")
    ws = _weights(model)
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    return list(torch.autograd.grad(loss, ws, allow_unused=True)), ws


def _sum(values) -> float:
    total = 0.0
    for v in values:
        total += float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
    return total


# ---------------------------------------------------------------- data-free
def params(model, x=None, y=None, seed=0) -> float:
    """Trainable parameters of the network (the baseline every proxy paper
    compares with; e.g. Abdelfattah et al., "Zero-Cost Proxies for
    Lightweight NAS", ICLR 2021, and NASLib's ``params``)."""
    from ..train.networks import count_params

    return float(count_params(model))


def flops(model, x=None, y=None, seed=0) -> float:
    """Multiply-accumulates of one forward pass on one input of ``x``'s shape,
    counted as NB201 counts its ``flop`` (:func:`~nasbench_suite.train.count_flops`);
    the other size baseline of the proxy papers."""
    from ..train.networks import count_flops

    return float(count_flops(model, tuple(x.shape[1:])))


def synflow(model, x, y=None, seed=0) -> float:
    """SynFlow (Tanaka et al., "Pruning neural networks without any data by
    iteratively conserving synaptic flow", NeurIPS 2020; as a NAS proxy,
    Abdelfattah et al. 2021): every weight replaced by its absolute value, BN
    removed (Abdelfattah et al.'s ``bn=False``: each BatchNorm becomes the
    identity), an input of ones, R = sum of the outputs;
    score = sum over the layer weights of |w * dR/dw|.

    Overflow: R is a product of |W| along every path, which overflows
    float32 on deep networks; the copy is computed in float64 (max 1.8e308:
    NB201's CIFAR networks score about 1e20..1e45). A score that still
    overflows is infinite and becomes NaN with the reason."""
    net = _without_bn(model).double()  # in place: the caller's copy
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    ws = _weights(net)
    net.zero_grad(set_to_none=True)
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
    r = net(ones).sum()
    grads = torch.autograd.grad(r, ws, allow_unused=True)
    return _sum((w * g).abs().sum() for w, g in zip(ws, grads) if g is not None)


def zen(model, x, y=None, seed=0, alpha: float = 0.01) -> float:
    """Zen-score (Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance
    Image Recognition", ICCV 2021): weights of every conv and linear layer
    drawn from N(0, 1), a Gaussian input x and a perturbed one x + alpha*e
    (alpha = 0.01), f = the last 4-D feature map (before global pooling);
    score = log E_batch ||f(x) - f(x + alpha e)||_1 + sum over BN layers of
    log sqrt(mean over channels of the unbiased batch variance of the BN's
    input), leaving out a BN whose input is constant (variance 0: it outputs
    zeros, whatever its scale). Needs no data: ``x`` gives only the shape.

    The random numbers come from ``seed``, drawn in this order: x, e, then
    the weights in module order. The inputs come first so that the score
    does not depend on the classifier, which it never reads: networks that
    differ only in their head (NB201's CIFAR-10 and CIFAR-100 networks) get
    the same score."""
    gen = torch.Generator().manual_seed(int(seed))
    dev = x.device
    net = model
    xa = torch.randn(tuple(x.shape), generator=gen).to(dev)
    xb = xa + alpha * torch.randn(tuple(x.shape), generator=gen).to(dev)
    with torch.no_grad():
        for m in layers(net):
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen).to(dev))
            if m.bias is not None:
                m.bias.zero_()
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    if xa.dim() == 4:
        # Channels-last convolutions are 1.5-3.5x faster on CPU (oneDNN) and the
        # same function; only the rounding of the sums differs.
        net.to(memory_format=torch.channels_last)
        xa, xb = (t.contiguous(memory_format=torch.channels_last) for t in (xa, xb))
    last, bn_vars = [None], []

    def last_4d(mod, inp, out):
        # Only the latest 4-D output is kept (holding them all costs memory traffic).
        if isinstance(out, torch.Tensor) and out.dim() == 4:
            last[0] = out

    def bn_in(mod, inp):
        t = inp[0]
        dims = [d for d in range(t.dim()) if d != 1]
        bn_vars.append(t.var(dim=dims).mean())

    leaves = [m for m in net.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(last_4d) for m in leaves]
    net.train()
    try:
        with torch.no_grad():
            net(xa)
            fa, last[0] = last[0], None
            bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
            # A BN that tracks running statistics, with momentum 1, keeps the unbiased
            # batch variance it computes anyway (what ``Tensor.var`` gives); the others
            # are read by a hook.
            tracked = [m for m in bns if m.track_running_stats and m.running_var is not None]
            for m in tracked:
                m.momentum = 1.0
            bn_hooks = [m.register_forward_pre_hook(bn_in) for m in bns if m not in tracked]
            try:
                net(xb)
            finally:
                for h in bn_hooks:
                    h.remove()
            fb = last[0]
            bn_vars.extend(m.running_var.mean() for m in tracked)
    finally:
        for h in hooks:
            h.remove()
    if fa is None:
        raise ProxyUndefined("the network has no 4-D feature map (zen needs one before the pooling)")
    diff = (fa - fb).abs().flatten(1).sum(dim=1).mean()
    # The BN statistics are those of the perturbed pass (x and x + 0.01 e differ in the 4th digit).
    # A BN whose input is constant (a conv fed only by ``none`` edges of an
    # NB201 cell) outputs zeros whatever its scale: it has no scaling factor
    # to compensate and is left out (the papers' networks have no such layer).
    return float(torch.log(diff)) + _sum(torch.log(torch.sqrt(v)) for v in bn_vars if float(v) > 0.0)


def l2_norm(model, x=None, y=None, seed=0) -> float:
    """Sum over the layer weights of ||W||_2 at initialisation (NASLib's
    ``l2_norm`` baseline; White et al., "How Powerful are Performance
    Predictors in NAS?", NeurIPS 2021). Needs no data."""
    return _sum(w.detach().norm() for w in _weights(model))


# ---------------------------------------------------------------- one gradient
def snip(model, x, y, seed=0) -> float:
    """SNIP saliency (Lee et al., "SNIP: Single-shot Network Pruning based on
    Connection Sensitivity", ICLR 2019; as a NAS proxy, Abdelfattah et al.
    2021): score = sum over the layer weights of |dL/dw * w|, L the mean
    cross-entropy of the minibatch."""
    grads, ws = _loss_grads(model, x, y)
    return _sum((g * w).abs().sum() for g, w in zip(grads, ws) if g is not None)


def grad_norm(model, x, y, seed=0) -> float:
    """Gradient norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight
    NAS", ICLR 2021): sum over the layers of the Euclidean norm of dL/dW."""
    grads, _ = _loss_grads(model, x, y)
    return _sum(g.norm() for g in grads if g is not None)


def plain(model, x, y, seed=0) -> float:
    """The "plain" saliency sum of dL/dw * w, without the absolute value
    (Mozer & Smolensky 1989; listed by Abdelfattah et al. 2021 and NASLib)."""
    grads, ws = _loss_grads(model, x, y)
    return _sum((g * w).sum() for g, w in zip(grads, ws) if g is not None)


def grasp(model, x, y, seed=0) -> float:
    """GraSP (Wang et al., "Picking Winning Tickets Before Training by
    Preserving Gradient Flow", ICLR 2020; as a NAS proxy, Abdelfattah et al.
    2021): g = dL/dW, then the Hessian-gradient product Hg = d(g_detached .
    dL/dW)/dW by double back-propagation; score = sum of -w * (Hg)_w."""
    grads, ws = _loss_grads(model, x, y)
    g0 = [torch.zeros_like(w) if g is None else g.detach() for g, w in zip(grads, ws)]
    loss = F.cross_entropy(model(x), y)
    g1 = torch.autograd.grad(loss, ws, create_graph=True, allow_unused=True)
    z = sum((a * b).sum() for a, b in zip(g1, g0) if a is not None)
    if not isinstance(z, torch.Tensor) or not z.requires_grad:
        return 0.0
    hg = torch.autograd.grad(z, ws, allow_unused=True)
    return _sum((-w.detach() * h).sum() for w, h in zip(ws, hg) if h is not None)


def fisher(model, x, y, seed=0) -> float:
    """Fisher pruning saliency (Theis et al., "Faster gaze prediction with
    dense networks and Fisher pruning", 2018; as a NAS proxy Turner et al.
    2020 and Abdelfattah et al. 2021): for every output channel c of every
    conv and linear layer, with activation a and gradient g = dL/da,
    0.5 * mean over the batch of (sum over positions of a*g)^2; score = the
    sum over channels and layers."""
    if y is None:
        raise ProxyUndefined("fisher needs labelled data (a dataset), none was given")
    _weights(model)
    terms = []

    def on_output(mod, inp, out):
        if out.requires_grad:
            act = out.detach()

            def on_grad(g, act=act):
                prod = act * g
                per = prod.flatten(2).sum(dim=2) if prod.dim() > 2 else prod
                terms.append((0.5 * per.pow(2).mean(dim=0)).sum())
            out.register_hook(on_grad)

    hooks = [m.register_forward_hook(on_output) for m in layers(model)]
    try:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    finally:
        for h in hooks:
            h.remove()
    return _sum(terms)


# ---------------------------------------------------------------- input Jacobians and activations
def _input_jacobians(model, x) -> np.ndarray:
    """d(sum of each sample's outputs)/d(input), one row per sample (float64)."""
    xi = x.detach().clone().requires_grad_(True)
    model.zero_grad(set_to_none=True)
    out = model(xi)
    (j,) = torch.autograd.grad(out.sum(), xi, allow_unused=True)
    if j is None:
        raise ProxyUndefined("the output does not depend on the input (a disconnected network)")
    return j.detach().flatten(1).double().cpu().numpy()


def _corrcoef(j: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(j)


def jacov(model, x, y=None, seed=0) -> float:
    """Jacobian covariance (Mellor et al., "Neural Architecture Search without
    Training", arXiv:2006.04647v1, 2020; Abdelfattah et al.'s ``jacob_cov``):
    J = per-sample input Jacobians of the summed outputs, C = their
    correlation matrix, eigenvalues v; score = -sum(log(v + k) + 1/(v + k)),
    k = 1e-5. Needs a batch of real inputs but no labels."""
    c = _corrcoef(_input_jacobians(model, x))
    if not np.isfinite(c).all():
        raise ProxyUndefined("a sample's input Jacobian is constant (zero): the correlation is undefined")
    v = np.linalg.eigvalsh(c)
    k = 1e-5
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def epe_nas(model, x, y, seed=0) -> float:
    """EPE-NAS (Lopes et al., "EPE-NAS: Efficient Performance Estimation
    Without Training for Neural Architecture Search", ICANN 2021): the input
    Jacobians of the samples of each class c give a correlation matrix C_c
    and s_c = sum over its entries of log(|C_c| + k), k = 1e-5; with at most
    100 classes score = sum_c |s_c|; with more, s_c is divided by the class's
    sample count and score = sum over ordered class pairs of |s_c - s_d|,
    divided by the number of classes."""
    if y is None:
        raise ProxyUndefined("epe_nas needs labelled data (a dataset), none was given")
    j = _input_jacobians(model, x)
    labels = y.detach().cpu().numpy()
    num_classes = int(model_num_classes(model) or labels.max() + 1)
    k = 1e-5
    s = {}
    for c in np.unique(labels):
        rows = j[labels == c]
        corr = np.atleast_2d(_corrcoef(rows))
        if not np.isfinite(corr).all():
            raise ProxyUndefined(f"the input Jacobian of a sample of class {int(c)} is constant: "
                                 "the correlation is undefined")
        sc = float(np.sum(np.log(np.abs(corr) + k)))
        s[int(c)] = sc / len(corr) if num_classes > 100 else sc
    vals = list(s.values())
    if num_classes <= 100:
        return float(sum(abs(v) for v in vals))
    return float(sum(abs(a - b) for a in vals for b in vals) / len(vals))


def model_num_classes(model) -> int | None:
    """Outputs of the network's last linear layer (its classes), or None."""
    lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return int(lin[-1].out_features) if lin else None


def nwot(model, x, y=None, seed=0) -> float:
    """NASWOT (Mellor et al., "Neural Architecture Search without Training",
    ICML 2021): the binary code c_i of sample i is which inputs of every ReLU
    are positive; K[i, j] = number of units where samples i and j agree
    (c_i.c_j + (1-c_i).(1-c_j), summed over the ReLUs); score = log|det K|.
    Needs a batch of real inputs but no labels. K is accumulated in float64."""
    n = int(x.shape[0])
    k = torch.zeros((n, n), dtype=torch.float64)
    seen = [0]

    def on_relu(mod, inp):
        c = (inp[0].detach() > 0).flatten(1).double().cpu()
        k.add_(c @ c.t()).add_((1.0 - c) @ (1.0 - c).t())
        seen[0] += 1

    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    hooks = [m.register_forward_pre_hook(on_relu) for m in relus]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    if not seen[0]:
        raise ProxyUndefined("the network has no ReLU modules (nwot reads their codes)")
    sign, logdet = torch.linalg.slogdet(k)
    if float(sign) == 0.0:
        raise ProxyUndefined("the kernel of ReLU codes is singular: two samples share every code")
    return float(logdet)


def _without_bn(model):
    """``model`` with every BatchNorm replaced by the identity (in place; returned)."""
    net = model

    def strip(parent):
        for name, child in parent.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
            else:
                strip(child)

    strip(net)
    return net
