"""One-shot NAS (nasbench_suite/oneshot): the supernet, the methods' maths on
tiny supernets, and runs on digits scored by the embedded table."""
from __future__ import annotations

import inspect
import itertools
import math
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from nasbench_suite import spaces  # noqa: E402
from nasbench_suite.oneshot import METHODS, run_oneshot  # noqa: E402
from nasbench_suite.oneshot import _method  # noqa: E402
from nasbench_suite.oneshot.darts import unrolled_hypergradient  # noqa: E402
from nasbench_suite.oneshot.enas import Controller  # noqa: E402
from nasbench_suite.oneshot.gdas import gumbel_hardwts, tau_at  # noqa: E402
from nasbench_suite.oneshot.nb201_supernet import OPS, Nb201Supernet, build_supernet  # noqa: E402
from nasbench_suite.oneshot.setn import top_k_paths  # noqa: E402
from nasbench_suite.tables import Benchmark  # noqa: E402
from nasbench_suite.train.networks import build_network  # noqa: E402
from nasbench_suite.train.presets import get_preset  # noqa: E402

SPACE = spaces.get("nb201")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks: one thread is fastest, and robust on a loaded machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
TABLE = pathlib.Path(__file__).resolve().parents[1] / "tabular_data" / "nb201-digits.h5"


def tiny(reduction="avgpool", dtype=torch.float32, seed=0, channels=3):
    torch.manual_seed(seed)
    net = Nb201Supernet(4, in_channels=2, channels=channels, cells_per_stage=1, reduction=reduction)
    with torch.no_grad():
        net.alpha.normal_()
    return net.to(dtype)


def batch(n=6, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, 8, 8, generator=g, dtype=dtype), torch.randint(0, 4, (n,), generator=g)


# ------------------------------------------------------------------ supernet
def test_weights_and_alpha_are_disjoint_and_cover_every_parameter():
    net = tiny()
    w = {id(p) for p in net.weight_parameters()}
    a = {id(p) for p in net.arch_parameters()}
    assert not w & a and a == {id(net.alpha)}
    assert w | a == {id(p) for p in net.parameters()}
    assert net.alpha.shape == (6, 5)


def test_same_skeleton_as_build_network():
    """Stem, reductions, head and every op's weights have the shapes of the stand-alone network."""
    for name in ("digits", "official"):
        p = get_preset("nb201", name).replace(in_channels=3)
        sup = build_supernet(10, p)
        cell = SPACE.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
        ref = build_network("nb201", cell, 10, p)
        got = sup.discrete(cell).state_dict()
        want = ref.state_dict()
        assert list(got) == list(want)
        assert all(got[k].shape == want[k].shape for k in want)


@pytest.mark.parametrize("reduction", ["avgpool", "residual"])
@pytest.mark.parametrize("train_mode", [False, True])
def test_discrete_network_equals_supernet_with_one_hot_alpha(reduction, train_mode):
    net = tiny(reduction)
    x, _ = batch()
    # Non-trivial BN statistics first, so eval mode is not the identity.
    net.train()
    with torch.no_grad():
        for s in range(3):
            net(batch(seed=10 + s)[0], "path", tuple((s + e) % 5 for e in range(6)))
    net.train(train_mode)
    rng = np.random.default_rng(0)
    for cell in [SPACE.sample(rng) for _ in range(6)] + [SPACE.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
                 SPACE.parse("|skip_connect~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|")]:
        onehot = torch.zeros(6, 5)
        for e, op in enumerate(cell.ops):
            onehot[e, OPS.index(op)] = 1.0
        disc = net.discrete(cell)
        disc.train(train_mode)
        with torch.no_grad():
            want = net(x, "mix", onehot)
            got = disc(x)
            path = net(x, "path", tuple(OPS.index(op) for op in cell.ops))
        assert torch.allclose(got, want, rtol=0, atol=1e-6), (cell, (got - want).abs().max())
        assert torch.allclose(path, want, rtol=0, atol=1e-6)


def test_mix_mode_default_is_softmax_alpha_and_bad_modes_are_refused():
    net = tiny()
    x, _ = batch()
    with torch.no_grad():
        assert torch.equal(net(x), net(x, "mix", torch.softmax(net.alpha, -1)))
    with pytest.raises(ValueError, match="mode"):
        net(x, "soft")
    with pytest.raises(ValueError, match="needs"):
        net(x, "path")


def test_derive_is_argmax_alpha():
    net = tiny()
    with torch.no_grad():
        net.alpha.zero_()
        for e, k in enumerate((3, 0, 1, 4, 2, 3)):
            net.alpha[e, k] = 1.0
    assert net.derive().ops == tuple(OPS[k] for k in (3, 0, 1, 4, 2, 3))


# ------------------------------------------------------------------ DARTS-V2
def test_darts_v2_hypergradient_matches_brute_force_finite_differences():
    """d/dalpha L_val(w - xi (m + grad_w L_train(w, alpha) + wd w), alpha), by
    central differences on every alpha entry, in float64."""
    torch.manual_seed(3)
    net = Nb201Supernet(3, in_channels=2, channels=2, cells_per_stage=1, reduction="avgpool").double()
    with torch.no_grad():
        net.alpha.normal_()
    xt, yt = batch(5, seed=1, dtype=torch.float64)
    xv, yv = batch(5, seed=2, dtype=torch.float64)
    yt, yv = yt % 3, yv % 3
    loss_fn = torch.nn.CrossEntropyLoss()
    lr, mom, wd = 0.5, 0.9, 1e-2
    opt = torch.optim.SGD(net.weight_parameters(), lr=lr, momentum=mom, weight_decay=wd)
    for p in net.weight_parameters():  # a momentum buffer, so that term is exercised
        opt.state[p]["momentum_buffer"] = 0.1 * torch.randn_like(p)
    # DARTS's finite-difference step (0.01 in weight space) is too coarse for a
    # network this small and curved; the formula is checked with a finer step.
    got = unrolled_hypergradient(net, loss_fn, xt, yt, xv, yv, lr, mom, wd, opt, fd_scale=1e-5)
    assert inspect.signature(unrolled_hypergradient).parameters["fd_scale"].default == 0.01

    weights = net.weight_parameters()
    w0 = [w.detach().clone() for w in weights]
    bufs = [opt.state[w]["momentum_buffer"] for w in weights]

    def val_after_step(alpha):
        with torch.no_grad():
            for w, b in zip(weights, w0):
                w.copy_(b)
        g = torch.autograd.grad(loss_fn(net(xt, "mix", torch.softmax(alpha, -1)), yt), weights)
        with torch.no_grad():
            for w, b, gi, m in zip(weights, w0, g, bufs):
                w.copy_(b - lr * (mom * m + gi + wd * b))
            out = float(loss_fn(net(xv, "mix", torch.softmax(alpha, -1)), yv))
            for w, b in zip(weights, w0):
                w.copy_(b)
        return out

    a0 = net.alpha.detach().clone()
    want = torch.zeros_like(a0)
    eps = 1e-5
    for i, j in itertools.product(range(6), range(5)):
        ap, am = a0.clone(), a0.clone()
        ap[i, j] += eps
        am[i, j] -= eps
        want[i, j] = (val_after_step(ap) - val_after_step(am)) / (2 * eps)
    # weights restored by the hypergradient
    assert all(torch.equal(w, b) for w, b in zip(weights, w0))
    first_order = torch.autograd.grad(loss_fn(net(xv), yv), [net.alpha])[0]
    err = float((got - want).abs().max())
    assert err < 1e-3 * float(want.abs().max()) + 1e-7, (err, float(want.abs().max()))
    # and the second-order term matters here (the test could tell V1 from V2)
    assert float((first_order - want).abs().max()) > 100 * err


# ------------------------------------------------------------------ GDAS
def test_gumbel_hardwts_forward_one_hot_backward_softmax():
    alpha = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    hard, index = gumbel_hardwts(alpha, 1.0, g)
    assert len(index) == 6
    for e, k in enumerate(index):
        assert hard[e, k].item() == pytest.approx(1.0, abs=1e-12)
        assert all(abs(hard[e, j].item()) < 1e-12 for j in range(5) if j != k)
    # straight-through: d hard / d alpha is d softmax(...)/d alpha, non-zero
    (hard * torch.arange(5.0, dtype=torch.float64)).sum().backward()
    assert alpha.grad is not None and float(alpha.grad.abs().sum()) > 0
    # the same generator state gives the same draw
    h1, i1 = gumbel_hardwts(alpha.detach(), 1.0, torch.Generator().manual_seed(5))
    h2, i2 = gumbel_hardwts(alpha.detach(), 1.0, torch.Generator().manual_seed(5))
    assert i1 == i2 and torch.equal(h1, h2)


def test_gdas_forward_computes_the_chosen_op_only():
    net = tiny()
    x, _ = batch()
    hard, index = gumbel_hardwts(net.alpha, 1.0, torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(net(x, "gdas", (hard, index)), net(x, "path", index), atol=1e-5)


def test_tau_schedule_is_linear_from_tau_max_to_tau_min():
    assert tau_at(0, 250) == 10.0 and tau_at(249, 250) == pytest.approx(0.1)
    assert tau_at(1, 3, 4.0, 2.0) == pytest.approx(3.0)
    assert tau_at(0, 1) == 10.0


# ------------------------------------------------------------------ SETN / ENAS
def test_setn_top_k_is_ordered_by_log_probability():
    alpha = torch.tensor(np.random.default_rng(0).normal(size=(6, 5)))
    top = top_k_paths(alpha, 10)
    logp = np.log(np.exp(alpha.numpy()) / np.exp(alpha.numpy()).sum(1, keepdims=True))
    scores = {p: sum(logp[e, k] for e, k in enumerate(p)) for p in itertools.product(range(5), repeat=6)}
    want = sorted(scores, key=lambda p: -scores[p])[:10]
    assert top == want
    assert top[0] == tuple(int(k) for k in alpha.argmax(1))


def test_enas_controller_log_prob_and_entropy():
    torch.manual_seed(0)
    c = Controller()
    lp, ent, path = c(torch.Generator().manual_seed(3))
    assert len(path) == 6 and all(0 <= k < 5 for k in path)
    # recompute the same sequence by hand: teacher-forced on the sampled path
    inputs, h, total, total_ent = c.input_vars, None, 0.0, 0.0
    for k in path:  # noqa: B007
        inputs = inputs.detach()
        out, h = c.w_lstm(inputs, h)
        logits = 2.5 * torch.tanh(c.w_pred(out).view(-1) / 5.0)
        p = torch.softmax(logits, -1)
        total += float(torch.log(p[k]).detach())
        total_ent += float(-(p * torch.log(p)).sum().detach())
        inputs = c.w_embd(torch.tensor([[k]]))
    assert float(lp.detach()) == pytest.approx(total, abs=1e-5)
    assert float(ent.detach()) == pytest.approx(total_ent, abs=1e-5)
    assert c(torch.Generator().manual_seed(3))[2] == path


# ------------------------------------------------------------------ runs on digits
@pytest.fixture(scope="module")
def bench():
    return Benchmark.open(TABLE)


def test_run_scores_each_epoch_by_the_table(bench):
    traj = run_oneshot("gdas", epochs=2, seed=0, table=bench, threads=1)
    assert len(traj) == 2 and traj.meta["one_shot"] is True
    assert traj.meta["strategy"] == "gdas" and traj.meta["budget"] == {"epochs": 2}
    assert "measured" in traj.cost_model and "one-shot" in traj.cost_model
    for i, label in enumerate(traj.cell):
        assert traj.incumbent[i] == label
        assert traj.value[i] == bench.query(label, "valid_acc", 7, "digits")
        assert traj.incumbent_report[i] == bench.query(label, "test_acc", 7, "digits")
    assert np.all(traj.cost > 0) and np.allclose(traj.time, np.cumsum(traj.cost))
    assert np.all(traj.fidelity == 7)
    back = type(traj).from_bytes(traj.to_bytes())
    assert back == traj


@pytest.mark.parametrize("method", ["darts_v1", "enas"])
def test_same_seed_same_cells_and_numbers(method, bench):
    a = run_oneshot(method, epochs=2, seed=4, table=bench, threads=1, select_num=5) if method == "enas" else \
        run_oneshot(method, epochs=2, seed=4, table=bench, threads=1)
    b = run_oneshot(method, epochs=2, seed=4, table=bench, threads=1, select_num=5) if method == "enas" else \
        run_oneshot(method, epochs=2, seed=4, table=bench, threads=1)
    assert a.cell == b.cell and a.meta["alpha"] == b.meta["alpha"]
    assert np.array_equal(a.incumbent_report, b.incumbent_report)


def test_other_seed_other_alpha(bench):
    a = run_oneshot("darts_v1", epochs=1, seed=0, threads=1)
    b = run_oneshot("darts_v1", epochs=1, seed=1, threads=1)
    assert a.meta["alpha"] != b.meta["alpha"]


class _Killed(Exception):
    pass


@pytest.mark.parametrize("method", ["gdas", "enas"])
def test_killed_run_resumes_to_the_same_end(method, bench, tmp_path):
    kw = dict(epochs=3, seed=2, table=bench, threads=1)
    if method == "enas":
        kw["select_num"] = 5
    whole = run_oneshot(method, **kw)

    def kill(row):
        if row.epoch == 2:
            raise _Killed

    with pytest.raises(_Killed):
        run_oneshot(method, checkpoint_dir=tmp_path, on_epoch=kill, **kw)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    seen = []
    resumed = run_oneshot(method, checkpoint_dir=tmp_path, on_epoch=seen.append, **kw)
    assert [r.epoch for r in seen] == [3]  # only the missing epoch ran
    assert resumed.meta["resumed_epochs"] == 2 and whole.meta["resumed_epochs"] == 0
    assert resumed.cell == whole.cell and resumed.meta["alpha"] == whole.meta["alpha"]
    assert np.array_equal(resumed.incumbent_report, whole.incumbent_report)


def test_every_method_runs_one_epoch():
    for name in METHODS:
        kw = {"select_num": 3} if name in ("enas", "rsps", "setn") else {}
        traj = run_oneshot(name, epochs=1, seed=0, threads=1, **kw)
        assert len(traj) == 1 and SPACE.parse(traj.cell[0]) is not None
        assert np.isnan(traj.value[0])  # no table: nothing to score with


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown one-shot method 'dartz'"):
        run_oneshot("dartz", epochs=1)
    with pytest.raises(ValueError, match="supernet"):
        run_oneshot("gdas", space="nb101", epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        run_oneshot("gdas", epochs=0)
    with pytest.raises(ValueError, match="table_dataset"):
        run_oneshot("gdas", epochs=1, table=TABLE, table_dataset="cifar10")
    with pytest.raises(TypeError):
        run_oneshot("gdas", epochs=1, not_a_setting=3)


def test_amp_is_bfloat16_only_and_refused_where_the_card_lacks_it():
    # CPU: never; CUDA with bfloat16: by default or when asked; without: float32
    # by default, and amp=True is refused (float16 would need a gradient scaler).
    assert [_method.amp_choice(False, a, b) for a in (None, True, False) for b in (True, False)] == [False] * 6
    assert _method.amp_choice(True, None, True) is True
    assert _method.amp_choice(True, False, True) is False
    assert _method.amp_choice(True, None, False) is False
    assert _method.amp_choice(True, False, False) is False
    with pytest.raises(ValueError, match="bfloat16.*amp=False"):
        _method.amp_choice(True, True, False)


def test_checkpoint_of_another_kind_is_refused(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"format": "something else"}, bad)
    with pytest.raises(RuntimeError, match="delete it"):
        _method._load(bad, "cpu")


def test_default_epochs_are_the_papers_and_a_fifth_on_digits():
    from nasbench_suite.oneshot import default_epochs

    assert default_epochs("darts_v2", "cifar10-valid") == 50 and default_epochs("darts_v2", "digits") == 10
    for name in ("gdas", "setn", "enas", "rsps"):
        assert default_epochs(name, "cifar10-valid") == 250 and default_epochs(name, "digits") == 50
    assert math.isclose(default_epochs("gdas", "digits") / 250, 1 / 5)


# ------------------------------------------------------------------ in a compare grid
@pytest.mark.slow  # a worker process and a report: about 10 s
def test_compare_mixes_oneshot_and_black_box_and_the_report_says_which(tmp_path):
    from nasbench_suite.cli import main
    from nasbench_suite.report.make import make_report
    from nasbench_suite.runner import load_results

    out = tmp_path / "r.h5"
    rc = main(["compare", "--benchmark", str(TABLE), "--strategies", "random_search,gdas", "--seeds", "1",
               "--budget-queries", "5", "--hp", "gdas.epochs=2", "--workers", "1", "-q", "-o", str(out)])
    assert rc == 0
    runs = {r.strategy: r.trajectory for r in load_results(str(out)).runs.values()}
    assert runs["gdas"].meta["one_shot"] is True and len(runs["gdas"]) == 2
    assert "one_shot" not in runs["random_search"].meta and len(runs["random_search"]) == 5
    # the grid's job is the same run as run_oneshot's (same seed, one thread)
    direct = run_oneshot("gdas", epochs=2, seed=0, table=TABLE, threads=1)
    assert runs["gdas"].cell == direct.cell
    report = make_report(str(out), tmp_path / "rep")
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "One-shot methods: gdas (" in text and "random_search" not in text.split("One-shot methods:")[1][:40]
    assert "measured: seconds of the one-shot supernet search" in text
    assert "simulated: measured training time" in text  # the black-box axis is named too
    assert report["numbers"]["groups"][0]["one_shot"] == ["gdas"]


@pytest.mark.slow  # builds the synthetic NB101 table (session fixture)
def test_compare_refuses_bad_oneshot_settings(tmp_path, capsys, nb101_synthetic):
    from nasbench_suite.cli import main

    base = ["compare", "--benchmark", str(TABLE), "--seeds", "1", "--dry-run"]
    assert main(base + ["--strategies", "gdas", "--hp", "gdas.tau_min=-1"]) == 2
    assert "tau_min" in capsys.readouterr().err
    assert main(base + ["--strategies", "enas", "--hp", "enas.no_such=1"]) == 2
    assert "unknown hyper-parameter" in capsys.readouterr().err
    assert main(["compare", "--benchmark", str(nb101_synthetic), "--strategies", "darts_v2", "--dry-run"]) == 2
    assert "supernet" in capsys.readouterr().err
    assert main(base + ["--strategies", "dart"]) == 2
    assert "one-shot: darts_v1" in capsys.readouterr().err


@pytest.mark.slow  # a reduced report: about 10 s
def test_report_script_reduced(tmp_path, bench):
    import importlib.util
    import json

    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "oneshot_report.py"
    spec = importlib.util.spec_from_file_location("oneshot_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--seeds", "2", "--epochs", "1", "--methods", "gdas", "--out", str(tmp_path)]) == 0
    nums = json.loads((tmp_path / "numbers.json").read_text())
    assert set(nums["runs"]) == {"gdas", "random_search", "regularized_evolution"}
    vals = bench.row_values("test_acc", 7, "digits")
    for runs in nums["runs"].values():
        for r in runs:
            v = bench.query(r["final_cell"], "test_acc", 7, "digits")
            assert r["report"][-1] == v
            assert r["final_rank"] == 1 + int(np.sum(vals > v))
    text = (tmp_path / "README.md").read_text()
    assert "a reduced run" in text and "| GDAS | one-shot |" in text and "| RS (black-box) | black-box |" in text
    assert (tmp_path / "regret_time.png").is_file() and (tmp_path / "drift.png").is_file()
