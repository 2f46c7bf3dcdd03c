"""Zero-cost proxies (nasbench_suite.proxies): each proxy on tiny networks
against a plain numpy computation written here, determinism, NaN with a
logged reason for networks a proxy is undefined on, the unknown-name error,
and ``nasbench-suite proxies`` on a small table (journal, resume, provenance,
refusal of other settings)."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasbench_suite import proxies as P  # noqa: E402
from nasbench_suite.cli import main  # noqa: E402
from nasbench_suite.cli.proxies import PROXY_NAMES  # noqa: E402
from nasbench_suite.proxies import measures  # noqa: E402
from nasbench_suite.spaces import nb201  # noqa: E402
from nasbench_suite.tables import Benchmark, InvalidResult, TableBuilder, append_result, read_journal  # noqa: E402
from nasbench_suite.tables._schema import write_all  # noqa: E402

nn = torch.nn


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks: one thread is fastest (and the machine is shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _linear(w, bias=None):
    lin = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w, dtype=torch.float32))
        if bias is not None:
            lin.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return lin


W1 = np.array([[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1], [1.5, 0.2, -0.7], [0.4, -0.6, 0.9]])
B1 = np.array([0.1, -0.2, 0.05, 0.0])
W2 = np.array([[1.0, -0.5, 0.3, 0.7], [-1.2, 0.4, 0.6, -0.2]])
X = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.5], [-0.7, 0.9, 1.3], [0.2, 0.1, -0.9], [1.4, -0.3, 0.6],
              [-0.8, -1.1, 0.2]])
Y = np.array([0, 1, 1, 0, 1, 0])


def _relu_net(bn=False):
    mods = [_linear(W1, B1)] + ([nn.BatchNorm1d(4)] if bn else []) + [nn.ReLU(), _linear(W2)]
    return nn.Sequential(*mods)


def _x():
    return torch.tensor(X, dtype=torch.float32)


def _y():
    return torch.tensor(Y, dtype=torch.int64)


# ---------------------------------------------------------------- data-free proxies by hand
@pytest.mark.parametrize("bn", [False, True], ids=["plain", "bn-removed"])
def test_synflow_of_a_two_layer_network_by_hand(bn):
    # |W| everywhere, an input of ones: R = 1'|W2| relu(|W1| 1 + |b1|); dR/dW2[i, j] = h_j,
    # dR/dW1[j, k] = sum_i |W2|[i, j] (every unit is active).
    # (The network holds the float32 roundings of the weights; the sums are float64.)
    a1, a2, b = (np.abs(w.astype(np.float32).astype(np.float64)) for w in (W1, W2, B1))
    h = a1 @ np.ones(3) + b
    g2 = np.tile(h, (2, 1))
    g1 = np.outer(a2.sum(axis=0), np.ones(3))
    want = (a2 * g2).sum() + (a1 * g1).sum()
    got = measures.synflow(_relu_net(bn), _x(), None)
    assert got == pytest.approx(want, rel=1e-12)


def test_synflow_is_computed_in_float64_past_the_float32_range():
    # 12 scalar layers of weight 1e4: R = 1e48 (float32 overflows at 3.4e38);
    # dR/dw_l = R / w_l, so the score is 12 R.
    net = nn.Sequential(*[_linear(np.array([[1e4]])) for _ in range(12)])
    got = measures.synflow(net, torch.zeros(2, 1), None)
    assert math.isfinite(got) and got == pytest.approx(12e48, rel=1e-9)


def test_params_flops_and_l2_norm_by_hand():
    net = _relu_net()
    assert measures.params(net) == 3 * 4 + 4 + 4 * 2
    assert measures.flops(net, _x()) == (3 * 4 + 4) + 4 * 2  # MACs + bias; the second layer has none
    assert measures.l2_norm(net) == pytest.approx(np.linalg.norm(W1) + np.linalg.norm(W2), rel=1e-6)


def test_zen_of_a_single_linear_map_by_hand():
    # One 1x1 conv, no BN: f(x) = w x, so f(x) - f(x + a e) = -a w e and the
    # score is log mean_b sum |a w e_b|. The numbers are drawn as zen draws
    # them: x, then e, then the weight, from a Generator of the seed.
    conv = nn.Conv2d(2, 3, 1, bias=False)
    x = torch.zeros(4, 2, 3, 3)
    gen = torch.Generator().manual_seed(11)
    torch.randn(tuple(x.shape), generator=gen)
    e = torch.randn(tuple(x.shape), generator=gen).double().numpy()
    w = torch.randn(conv.weight.shape, generator=gen).double().numpy()[:, :, 0, 0]
    delta = 0.01 * np.einsum("oc,bchw->bohw", w, e)
    want = math.log(np.abs(delta).reshape(4, -1).sum(axis=1).mean())
    assert measures.zen(conv, x, None, seed=11) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("track", [True, False], ids=["running-stats", "batch-stats-only"])
def test_zen_adds_the_log_scale_of_each_bn(track):
    # conv -> BN: the BN's input variance v adds log sqrt(v); BN output has unit
    # scale, so the feature difference is that of the normalised maps. A BN with
    # running statistics gives v through them, one without through a hook.
    net = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3, track_running_stats=track))
    x = torch.zeros(8, 2, 4, 4)
    gen = torch.Generator().manual_seed(3)
    xa = torch.randn(tuple(x.shape), generator=gen).double().numpy()
    xb = xa + 0.01 * torch.randn(tuple(x.shape), generator=gen).double().numpy()
    w = torch.randn((3, 2, 1, 1), generator=gen).double().numpy()[:, :, 0, 0]

    def bn(z):
        mu = z.mean(axis=(0, 2, 3), keepdims=True)
        var = z.var(axis=(0, 2, 3), keepdims=True)
        return (z - mu) / np.sqrt(var + 1e-5)

    za, zb = (np.einsum("oc,bchw->bohw", w, v) for v in (xa, xb))
    diff = np.abs(bn(za) - bn(zb)).reshape(8, -1).sum(axis=1).mean()
    v_in = zb.transpose(1, 0, 2, 3).reshape(3, -1).var(axis=1, ddof=1).mean()
    want = math.log(diff) + math.log(math.sqrt(v_in))
    assert measures.zen(net, x, None, seed=3) == pytest.approx(want, rel=1e-4)


# ---------------------------------------------------------------- gradient proxies by hand
def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


W = np.array([[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]])  # softmax regression, 2 classes, no bias


def _grad_softmax_regression():
    """dL/dW of the mean cross-entropy, and the probabilities."""
    p = _softmax(X @ W.T)
    onehot = np.eye(2)[Y]
    return (p - onehot).T @ X / len(Y), p


def test_snip_grad_norm_and_plain_by_hand():
    g, _ = _grad_softmax_regression()
    net = lambda: nn.Sequential(_linear(W))  # noqa: E731
    assert measures.snip(net(), _x(), _y()) == pytest.approx(np.abs(g * W).sum(), rel=1e-5)
    assert measures.grad_norm(net(), _x(), _y()) == pytest.approx(np.linalg.norm(g), rel=1e-5)
    assert measures.plain(net(), _x(), _y()) == pytest.approx((g * W).sum(), rel=1e-4)


def test_grasp_by_hand():
    # Hessian-vector product of softmax regression: (H V) = 1/B sum_b (diag p_b - p_b p_b') (V x_b) x_b'.
    g, p = _grad_softmax_regression()
    hg = np.zeros_like(W)
    for xb, pb in zip(X, p):
        s = np.diag(pb) - np.outer(pb, pb)
        hg += np.outer(s @ (g @ xb), xb)
    hg /= len(Y)
    want = (-W * hg).sum()
    assert measures.grasp(nn.Sequential(_linear(W)), _x(), _y()) == pytest.approx(want, rel=1e-4)


def test_fisher_by_hand():
    # The layer's output a = x W' (B, C), its gradient (p - y) / B; per channel
    # 0.5 * mean_b (a * g)^2, summed.
    _, p = _grad_softmax_regression()
    a = X @ W.T
    g = (p - np.eye(2)[Y]) / len(Y)
    want = (0.5 * ((a * g) ** 2).mean(axis=0)).sum()
    assert measures.fisher(nn.Sequential(_linear(W)), _x(), _y()) == pytest.approx(want, rel=1e-5)


# ---------------------------------------------------------------- Jacobian and activation proxies by hand
def _jacobians():
    """d(sum of outputs)/dx of the ReLU net, per sample: (sum_i W2[i]) diag(mask) W1."""
    pre = X @ W1.T + B1
    mask = (pre > 0).astype(float)
    return (W2.sum(axis=0) * mask) @ W1, pre


def test_jacov_by_hand():
    j, _ = _jacobians()
    v = np.linalg.eigvalsh(np.corrcoef(j))
    k = 1e-5
    want = -np.sum(np.log(v + k) + 1.0 / (v + k))
    assert measures.jacov(_relu_net(), _x(), None) == pytest.approx(want, rel=1e-4)


def test_epe_nas_by_hand():
    j, _ = _jacobians()
    k = 1e-5
    want = 0.0
    for c in (0, 1):
        want += abs(np.log(np.abs(np.corrcoef(j[Y == c])) + k).sum())
    assert measures.epe_nas(_relu_net(), _x(), _y()) == pytest.approx(want, rel=1e-4)


def test_nwot_log_det_by_hand():
    _, pre = _jacobians()
    c = (pre > 0).astype(float)
    kmat = c @ c.T + (1 - c) @ (1 - c).T
    pick = [0, 1, 2, 4]  # four samples whose kernel is not singular
    sign, want = np.linalg.slogdet(kmat[np.ix_(pick, pick)])
    assert sign != 0
    assert measures.nwot(_relu_net(), _x()[pick], None) == pytest.approx(want, rel=1e-12)


def test_nwot_of_a_batch_with_repeated_codes_is_nan_with_the_reason(caplog):
    x = torch.tensor(np.vstack([X[:3], X[:3]]), dtype=torch.float32)  # identical samples: K singular
    with caplog.at_level(logging.WARNING, logger="nasbench_suite.proxies"):
        got = P.compute("nwot", _relu_net(), batch=P.Batch(x, torch.zeros(6, dtype=torch.int64), 2, "test"))
    assert math.isnan(got)
    assert "singular" in caplog.text


# ---------------------------------------------------------------- registry, determinism, undefined
def test_the_cli_lists_every_proxy():
    assert tuple(P.PROXIES) == PROXY_NAMES and len(PROXY_NAMES) == 13
    assert P.DATA_FREE <= set(P.PROXIES)
    for fn in P.PROXIES.values():
        assert fn.__doc__ and len(fn.__doc__.split()) > 15  # the paper and the definition


def test_an_unknown_proxy_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown proxy 'synflw'; known: params, flops, synflow, snip"):
        P.compute("synflw", _relu_net(), batch=P.Batch(_x(), _y(), 2, "test"))
    with pytest.raises(ValueError, match="unknown proxy"):
        P.check_names("zen,nope")


CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
DIGITS = dict(space="nb201", dataset="digits", preset="digits", batch_size=16)


def test_same_seed_same_values_and_the_global_generator_untouched():
    state = torch.random.get_rng_state()
    a = P.compute_many(list(P.PROXIES), cell=CELL, seed=3, **DIGITS)
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.manual_seed(12345)  # the global generator plays no part
    b = P.compute_many(list(P.PROXIES), cell=CELL, seed=3, **DIGITS)
    assert a == b and all(math.isfinite(v) for v in a.values())
    c = P.compute_many(["synflow", "snip"], cell=CELL, seed=4, **DIGITS)
    assert c["synflow"] != a["synflow"] and c["snip"] != a["snip"]


def test_copies_only_where_a_proxy_modifies_the_network():
    """compute_many hands the read-only proxies the network itself and the last modifying proxy
    the network it built: the values are those of a fresh copy per proxy, in the order asked."""
    import copy

    from nasbench_suite.train.presets import get_preset

    names = ["synflow", "params", "zen", "flops", "snip", "l2_norm"]
    got = P.compute_many(names, cell=CELL, seed=2, **DIGITS)
    assert list(got) == names
    net = P.network("nb201", CELL, 10, 1, "digits", seed=2)
    batch = P.minibatch("digits", 16, 2, get_preset("nb201", "digits").splits)
    want = {}
    for name in names:
        fresh = copy.deepcopy(net)
        fresh.train()
        want[name] = P._one(name, fresh, batch, 2)[0]
    assert got == want


def test_a_model_is_not_modified():
    net = P.network("nb201", CELL, 10, 1, "digits", seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    P.compute_many(["synflow", "zen", "grasp"], net, dataset="digits", batch_size=8)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    net.eval()  # the read-only proxies get the model itself: its mode is given back
    P.compute_many(["params", "flops", "synflow"], net, dataset="digits", batch_size=8)
    assert not net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_zen_of_the_cifar10_and_cifar100_networks_is_the_same():
    """Same body, same seed: zen draws its inputs before the weights and never reads
    the classifier (10 or 100 outputs), so the two networks score the same, bit for
    bit; ImageNet16-120's network (16x16 inputs) scores otherwise."""
    small = dict(channels=4, cells_per_stage=1)
    z10, z100, z120 = (P.compute("zen", space="nb201", cell=CELL, dataset=ds, batch_size=4, **small)
                       for ds in ("cifar10", "cifar100", "ImageNet16-120"))
    assert math.isfinite(z10) and z10 == z100 != z120


def test_data_free_proxies_need_no_data_files(monkeypatch):
    import nasbench_suite.train.data as data

    def refuse(*a, **k):
        raise AssertionError("a data-free proxy read a data set")

    monkeypatch.setattr(data, "load_dataset", refuse)
    small = dict(channels=4, cells_per_stage=1)  # the CIFAR network, narrower and shallower: fast
    out = P.compute_many(sorted(P.DATA_FREE), space="nb201", cell=CELL, dataset="cifar10", batch_size=4, **small)
    assert all(math.isfinite(v) for v in out.values())
    assert out["params"] == P.compute("params", P.network("nb201", CELL, 10, 3, **small), dataset="cifar10")  # the official CIFAR network


def test_the_disconnected_cell_gives_nan_with_a_logged_reason(caplog):
    dead = next(i for i in range(nb201.NUM_CELLS) if not nb201.Cell.from_index(i).is_connected())
    reasons = {}
    with caplog.at_level(logging.WARNING, logger="nasbench_suite.proxies"):
        out = P.compute_many(list(P.PROXIES), cell=dead, reasons=reasons, **DIGITS)
    assert set(out) == set(P.PROXIES)
    for name in ("jacov", "epe_nas"):
        assert math.isnan(out[name]) and "does not depend on the input" in reasons[name]
        assert f"proxy {name} of nb201" in caplog.text
    assert out["synflow"] == 0.0 and out["snip"] == 0.0  # no path carries anything: a value, not an error


def test_a_network_without_weights_gives_nan_not_an_exception(caplog):
    net = nn.Sequential(nn.Flatten())
    with caplog.at_level(logging.WARNING, logger="nasbench_suite.proxies"):
        out = P.compute_many(["params", "snip", "synflow", "fisher"], net, batch=P.Batch(_x(), _y(), 2, "t"))
    assert out["params"] == 0.0
    assert all(math.isnan(out[n]) for n in ("snip", "synflow", "fisher"))
    assert "no convolution or linear weights" in caplog.text


def test_data_dependent_proxies_refuse_noise():
    with pytest.raises(ValueError, match="snip need labelled images"):
        P.compute("snip", _relu_net(), batch=P.Batch(_x(), None, 2, "noise"))
    with pytest.raises(ValueError, match="name a dataset"):
        P.compute("synflow", _relu_net())


# ---------------------------------------------------------------- the table run and the CLI
def test_a_static_only_journal_record_has_no_seed_or_fidelity(tmp_path):
    path = _table(tmp_path / "j.h5", [0, 7])
    append_result(path, "nb201", 7, "digits", None, None, {}, {"zc_x": 1.5})
    assert read_journal(path)[-1]["seed"] is None and read_journal(path)[-1]["fidelity"] is None
    with Benchmark.open(path) as b:
        assert b.row_values("zc_x").tolist()[1] == 1.5 and b.seeds().tolist() == [0, 1]
        assert b.fidelities().tolist() == [1.0, 2.0]
    with pytest.raises(InvalidResult, match="seed must be an integer"):
        append_result(path, "nb201", 7, "digits", None, None, {"test_acc": 1.0})


def _table(path, cells, datasets=("digits",)):
    b = TableBuilder("nb201")
    b.lookup = "class"
    for ds in datasets:
        b.add_dataset(ds, [0, 1], [1, 2])
    rows = b.add_cells(cells)
    for ds in datasets:
        b.set(ds, "test_acc", rows, np.arange(len(cells) * 4, dtype=float).reshape(len(cells), 2, 2))
    write_all(path, b.table())
    return str(path)


CELLS = [0, 7, 100, 4000, 9000]


def test_cli_computes_resumes_and_records_provenance(tmp_path, capsys):
    path = _table(tmp_path / "t.h5", CELLS)
    args = ["proxies", path, "--proxies", "synflow,nwot", "--preset", "digits", "--batch-size", "16",
            "--workers", "0", "--quiet"]
    assert main(args + ["--max-rows", "2"]) == 0
    assert "2 rows computed now" in capsys.readouterr().out
    with Benchmark.open(path) as b:
        first = b.row_values("zc_synflow")
        assert np.isfinite(first[:2]).all() and np.isnan(first[2:]).all()
    assert main(args) == 0
    assert "3 rows computed now" in capsys.readouterr().out
    with Benchmark.open(path) as b:
        syn, nw = b.row_values("zc_synflow"), b.row_values("zc_nwot")
        assert "zc_synflow" in b.metrics() and b.fidelities().tolist() == [1.0, 2.0]
        prov = b.provenance["proxies"]
        labels = b.labels()
    assert syn[:2].tolist() == first[:2].tolist()
    assert [s["rows"] for s in prov["sessions"]] == [2, 3]
    assert prov["settings"] == {"digits": {"space": "nb201", "dataset": "digits", "preset": "digits",
                                           "overrides": {}, "seed": 0, "batch_size": 16}}
    assert prov["sessions"][0]["torch"] == torch.__version__ and prov["sessions"][0]["dataset"] == "digits"
    assert "one input of ones" in prov["metrics"]["zc_synflow"] and "Gaussian" not in prov["metrics"]["zc_synflow"]
    assert "minibatch of 16 images" in prov["metrics"]["zc_nwot"]
    for row in (0, 4):  # the stored values are the library's
        want = P.compute_many(["synflow", "nwot"], space="nb201", cell=labels[row], dataset="digits",
                              preset="digits", batch_size=16)
        assert (syn[row], nw[row]) == (want["synflow"], want["nwot"])
    assert main(args) == 0 and "0 rows computed now" in capsys.readouterr().out


def test_cli_refuses_other_settings_and_unknown_names(tmp_path, capsys):
    path = _table(tmp_path / "t.h5", CELLS[:2])
    assert main(["proxies", path, "--proxies", "params", "--workers", "0", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["proxies", path, "--proxies", "params", "--seed", "1", "--workers", "0", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "other settings (seed: 0 in the table, 1 asked)" in err and len(err.strip().splitlines()) == 1
    assert main(["proxies", path, "--proxies", "synflw", "--workers", "0"]) == 2
    assert "unknown proxy 'synflw'; known: params" in capsys.readouterr().err
    assert main(["proxies", path, "--proxies", "zen", "--dataset", "cifar10", "--workers", "0"]) == 2
    assert "no dataset 'cifar10'" in capsys.readouterr().err


def test_each_dataset_of_a_table_keeps_its_own_settings(tmp_path, capsys):
    from nasbench_suite.proxies.table import proxies_table

    path = _table(tmp_path / "t.h5", CELLS[:3], datasets=("digits", "fashion-mnist"))
    proxies_table(path, "params", dataset="digits", preset="digits", workers=0, progress=False)
    proxies_table(path, "params", dataset="fashion-mnist", preset="digits", seed=1, workers=0, progress=False)
    with Benchmark.open(path) as b:
        prov = b.provenance["proxies"]
        assert np.isfinite(b.row_values("zc_params", dataset="fashion-mnist")).all()
    assert {ds: st["seed"] for ds, st in prov["settings"].items()} == {"digits": 0, "fashion-mnist": 1}
    assert [s["dataset"] for s in prov["sessions"]] == ["digits", "fashion-mnist"]
    with pytest.raises(ValueError, match=r"other settings \(seed: 0 in the table, 1 asked\)"):
        proxies_table(path, "params", dataset="digits", preset="digits", seed=1, workers=0, progress=False)


def test_a_table_with_the_flat_settings_of_one_dataset_resumes(tmp_path):
    """Tables written before the settings were kept per dataset hold one flat dict."""
    from nasbench_suite.proxies.table import proxies_table
    from nasbench_suite.tables import compact

    path = _table(tmp_path / "t.h5", CELLS[:2], datasets=("digits", "fashion-mnist"))
    flat = {"space": "nb201", "dataset": "digits", "preset": "digits", "overrides": {}, "seed": 0,
            "batch_size": 64}
    compact(path, provenance={"proxies": {"settings": flat, "metrics": {}, "sessions": []}})
    with pytest.raises(ValueError, match="other settings"):
        proxies_table(path, "params", dataset="digits", preset="digits", seed=2, workers=0, progress=False)
    proxies_table(path, "params", dataset="digits", preset="digits", workers=0, progress=False)
    proxies_table(path, "params", dataset="fashion-mnist", preset="digits", seed=2, workers=0, progress=False)
    with Benchmark.open(path) as b:
        settings = b.provenance["proxies"]["settings"]
    assert settings["digits"] == flat and settings["fashion-mnist"]["seed"] == 2


SMALL = {"channels": 4, "cells_per_stage": 1}


def test_zen_shared_between_networks_that_differ_in_the_head_equals_computing_it(tmp_path):
    import shutil

    from nasbench_suite.proxies.table import proxies_table, share_proxy

    path = _table(tmp_path / "s.h5", CELLS[:4], datasets=("cifar10", "cifar100"))
    proxies_table(path, "zen,synflow", dataset="cifar10", overrides=SMALL, workers=0, progress=False)
    computed = str(tmp_path / "computed.h5")
    shutil.copyfile(path, computed)
    proxies_table(computed, "zen", dataset="cifar100", overrides=SMALL, workers=0, progress=False)
    out = share_proxy(path, "zen", "cifar10", "cifar100", check_rows=2)
    assert out["rows"] == 4 and out["checked_rows"] == 2
    with Benchmark.open(path) as b, Benchmark.open(computed) as c:
        shared = b.row_values("zc_zen", dataset="cifar100")
        assert np.isfinite(shared).all()
        assert shared.tolist() == c.row_values("zc_zen", dataset="cifar100").tolist()
        prov = b.provenance["proxies"]
    assert prov["shared"]["cifar100"]["zc_zen"]["from"] == "cifar10"
    assert prov["settings"]["cifar100"] == {**prov["settings"]["cifar10"], "dataset": "cifar100"}
    assert prov["sessions"][-1]["shared_from"] == "cifar10" and prov["sessions"][-1]["rows"] == 4
    assert share_proxy(path, "zen", "cifar10", "cifar100", check_rows=2)["rows"] == 0  # nothing left


def test_a_proxy_that_reads_the_head_the_data_or_another_shape_is_not_shared(tmp_path):
    from nasbench_suite.proxies.table import proxies_table, share_proxy

    path = _table(tmp_path / "s.h5", CELLS[:2], datasets=("cifar10", "cifar100", "ImageNet16-120"))
    proxies_table(path, "zen,synflow", dataset="cifar10", overrides=SMALL, workers=0, progress=False)
    # synflow sums over the classifier's weights too: 10 outputs are not 100.
    with pytest.raises(ValueError, match="synflow of cifar100's networks is not cifar10's: 2 of 2 rows"):
        share_proxy(path, "synflow", "cifar10", "cifar100", check_rows=5)
    with pytest.raises(ValueError, match=r"ImageNet16-120's \(3, 16, 16\): zen differs"):
        share_proxy(path, "zen", "cifar10", "ImageNet16-120")
    with pytest.raises(ValueError, match="snip reads the images"):
        share_proxy(path, "snip", "cifar10", "cifar100")
    with pytest.raises(ValueError, match="cifar100 has no zc_zen to share"):
        share_proxy(path, "zen", "cifar100", "cifar10")
    with Benchmark.open(path) as b:
        assert "zc_synflow" not in b.metrics("cifar100")
        assert "cifar100" not in b.provenance["proxies"]["settings"]


def test_the_reports_top_10_percent_precision_by_hand():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from proxies_report import precision_top

    truth = np.arange(20.0)  # top 10% = rows 19 and 18
    assert precision_top(truth.copy(), truth) == 1.0
    assert precision_top(-truth, truth) == 0.0
    score = np.zeros(20)
    score[[19, 3]] = [5.0, 6.0]  # the proxy's top two: rows 3 and 19, one of them right
    assert precision_top(score, truth) == 0.5


def test_the_nb201_report_says_how_each_datasets_zen_was_obtained():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from proxies_nb201 import zen_paragraph

    sessions = [{"dataset": "cifar10", "proxies": ["zen"], "rows": 100, "cpu_seconds": 40.0},
                {"dataset": "cifar100", "proxies": ["zen"], "rows": 100, "cpu_seconds": 2.0, "shared_from": "cifar10"}]
    shared = {"cifar100": {"zc_zen": {"from": "cifar10", "rows": 100, "checked_rows": 50}}}
    every = zen_paragraph({"rows": 100, "zen_rows": 100, "sessions": sessions, "shared": shared})
    assert every.startswith("**zen on every cell**. CIFAR-10: 400 ms of CPU per network, 0.01 core-hours over 100")
    assert "CIFAR-100's zen is CIFAR-10's" in every and "recomputed 50 cells" in every and "CIFAR-100: " not in every
    part = zen_paragraph({"rows": 100, "zen_rows": 5, "sessions": sessions[:1], "shared": {}})
    assert "on a sample, not the whole space**: 5 cells (5%)" in part and "synflow (zen's sample)" in part


def test_the_nb201_scripts_zen_sample_and_atomic_copy(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from proxies_nb201 import publish, zen_sample

    rows = zen_sample(15_625, 0.05, seed=0)
    assert rows.size == 781 and np.unique(rows).size == 781 and (np.diff(rows) > 0).all()
    assert rows.min() >= 0 and rows.max() < 15_625
    assert rows.tolist() == zen_sample(15_625, 0.05, seed=0).tolist() != zen_sample(15_625, 0.05, seed=1).tolist()
    with pytest.raises(ValueError, match="zen fraction must be in"):
        zen_sample(10, 0.0)
    src = tmp_path / "t.h5"
    src.write_bytes(b"table")
    dest = tmp_path / "out" / "t.h5"
    publish(src, dest)
    publish(src, dest)  # over an existing copy
    assert dest.read_bytes() == b"table" and sorted(p.name for p in dest.parent.iterdir()) == ["t.h5"]


def test_proxy_scores_are_higher_is_better_unlike_the_costs_they_measure():
    """zc_<name> is maximised by best() and by searches (a higher score predicts a better
    network), while params, flops and latency stay costs."""
    from nasbench_suite.tables._schema import higher_is_better

    for name in ("zc_params", "zc_flops", "zc_synflow", "zc_l2_norm", "zc_epe_nas"):
        assert higher_is_better(name), name
    for name in ("params", "flops", "latency_pixel3", "valid_loss", "train_time"):
        assert not higher_is_better(name), name
    assert higher_is_better("valid_neg_loss") and higher_is_better("valid_acc")
