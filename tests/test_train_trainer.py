"""Trainer on CPU with tiny settings: learning, kill-and-resume equality,
results into a table, data readers and their errors."""
from __future__ import annotations

import gzip
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import textwrap
import time

import numpy as np
import pytest
import torch

from nasbench_suite.tables import Benchmark, TableWriter
from nasbench_suite.train import DatasetNotFound, Trainer, load_dataset

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
INCEPTION = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                        [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             "ops": ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
                     "maxpool3x3", "output"]}
# Tiny widths for both spaces (a Trainer takes the network settings of either).
TINY = dict(channels=4, cells_per_stage=1, stem_channels=8, num_stacks=2, cells_per_stack=1,
            batch_size=128, eval_batch_size=600, bn_momentum=0.1, threads=1)
CELLS = {"nb201": BEST, "nb101": INCEPTION}
TIMES = ("epoch_time", "eval_time", "train_time")


def _strip_times(history):
    return [{k: v for k, v in rec.items() if k not in TIMES} for rec in history]


def test_two_epochs_on_digits_beat_chance():
    t0 = time.perf_counter()
    result = Trainer(dataset="digits", epochs=2, **{**TINY, "channels": 8, "batch_size": 64}).train(
        "nb201", BEST, seed=0)
    elapsed = time.perf_counter() - t0
    assert [r["epoch"] for r in result.history] == [1, 2]
    final = result.final
    assert final["test_acc"] > 50.0 and final["valid_acc"] > 50.0  # chance is 10%
    assert final["train_loss"] < result.history[0]["train_loss"]
    assert final["train_time"] == pytest.approx(sum(r["epoch_time"] for r in result.history))
    assert result.params > 0 and result.flops > 0 and result.device == "cpu"
    print(f"digits, 2 epochs, NB201 C=8 N=1 batch 64, 1 thread: {elapsed:.2f} s, test {final['test_acc']:.1f}%")


@pytest.mark.parametrize("space", ["nb201", "nb101"])
def test_killed_run_resumes_to_the_same_weights_and_metrics(tmp_path, space):
    kw = dict(dataset="digits", epochs=3, **TINY)
    straight = Trainer(checkpoint_dir=tmp_path / "a", **kw).train(space, CELLS[space], seed=5, keep_model=True)

    class Killed(Exception):
        pass

    def kill_after_first(record):
        if record["epoch"] == 1:
            raise Killed

    trainer = Trainer(checkpoint_dir=tmp_path / "b", **kw)
    with pytest.raises(Killed):
        trainer.train(space, CELLS[space], seed=5, callback=kill_after_first)
    resumed = trainer.train(space, CELLS[space], seed=5, keep_model=True)
    assert resumed.resumed_from == 1 and straight.resumed_from == 0
    assert _strip_times(resumed.history) == _strip_times(straight.history)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # A finished run is not trained again.
    again = trainer.train(space, CELLS[space], seed=5)
    assert again.resumed_from == 3 and _strip_times(again.history) == _strip_times(straight.history)


def test_other_settings_do_not_resume_a_checkpoint(tmp_path):
    Trainer(dataset="digits", epochs=1, checkpoint_dir=tmp_path, **TINY).train("nb201", BEST)
    other = Trainer(dataset="digits", epochs=1, checkpoint_dir=tmp_path, **{**TINY, "lr": 0.05})
    assert other.train("nb201", BEST).resumed_from == 0
    assert len(list(tmp_path.glob("*.pt"))) == 2


def test_training_leaves_global_torch_state_alone():
    rng = torch.get_rng_state()
    det = torch.are_deterministic_algorithms_enabled()
    Trainer(dataset="digits", epochs=1, **TINY).train("nb201", BEST, seed=1)
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.are_deterministic_algorithms_enabled() == det


def test_seeds_give_reproducible_and_different_runs():
    tr = Trainer(dataset="digits", epochs=1, **TINY)
    a, b, c = (tr.train("nb201", BEST, seed=s) for s in (3, 3, 4))
    assert _strip_times(a.history) == _strip_times(b.history)
    assert _strip_times(a.history) != _strip_times(c.history)


def _empty_table(path, space, dataset="digits", fidelities=(1, 2)):
    with TableWriter(path, space=space) as w:
        w.add_dataset(dataset, seeds=[0], fidelities=list(fidelities))
    return path


def test_every_epoch_goes_into_an_nb201_table(tmp_path):
    table = _empty_table(tmp_path / "t.h5", "nb201")
    result = Trainer(dataset="digits", epochs=2, **TINY).train("nb201", BEST, seed=0, table=table)
    with Benchmark.open(table) as b:
        for rec in result.history:
            for m in ("train_acc", "valid_acc", "test_acc", "train_loss", "valid_loss", "test_loss", "epoch_time"):
                assert b.query(BEST, m, fidelity=rec["epoch"], seed=0) == pytest.approx(rec[m])
        assert b.query(BEST, "params") == result.params
        assert b.query(BEST, "flops") == result.flops
        assert b.cost(BEST, 2) == pytest.approx(result.final["train_time"])


def test_an_nb101_run_is_one_budget_with_halfway_metrics(tmp_path):
    table = _empty_table(tmp_path / "t.h5", "nb101", fidelities=(4,))
    result = Trainer(dataset="digits", epochs=4, **TINY).train("nb101", INCEPTION, seed=0, table=table)
    with Benchmark.open(table) as b:
        assert b.fidelities("digits").tolist() == [4.0]
        key = result.cell  # the module hash
        assert b.query(key, "valid_acc", 4, seed=0) == pytest.approx(result.final["valid_acc"])
        assert b.query(key, "halfway_valid_acc", 4, seed=0) == pytest.approx(result.history[1]["valid_acc"])


@pytest.mark.slow
def test_a_process_killed_with_sigkill_resumes_exactly(tmp_path):
    """The real thing: SIGKILL a training process after its first checkpoint."""
    ckpt = tmp_path / "ckpt"
    script = textwrap.dedent(f"""
        from nasbench_suite.train import Trainer
        Trainer(dataset="digits", epochs=4, checkpoint_dir={str(ckpt)!r}, **{TINY!r}).train(
            "nb201", {BEST!r}, seed=2)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while not list(ckpt.glob("*.pt")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = torch.load(next(ckpt.glob("*.pt")), weights_only=True)
    assert 1 <= state["epoch"] < 4, "the process was not killed mid-run"
    trainer = Trainer(dataset="digits", epochs=4, checkpoint_dir=ckpt, **TINY)
    resumed = trainer.train("nb201", BEST, seed=2, keep_model=True)
    straight = Trainer(dataset="digits", epochs=4, **TINY).train("nb201", BEST, seed=2, keep_model=True)
    assert resumed.resumed_from == state["epoch"]
    assert _strip_times(resumed.history) == _strip_times(straight.history)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ data
@pytest.mark.parametrize("name,hint", [
    ("cifar10", "cifar-10-batches-py"), ("cifar10-valid", "cifar-10-python.tar.gz"),
    ("cifar100", "cifar-100-python"), ("ImageNet16-120", "ImageNet16"), ("fashion-mnist", "idx3-ubyte"),
])
def test_missing_data_says_where_to_put_it(tmp_path, name, hint):
    with pytest.raises(DatasetNotFound, match=hint) as info:
        Trainer(dataset=name, data_root=tmp_path, epochs=1, **TINY).train("nb201", BEST)
    assert str(tmp_path) in str(info.value) and "NASBENCH_SUITE_TRAIN_DATA" in str(info.value)


def test_unknown_data_and_settings_are_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown data set 'cifar11'"):
        load_dataset("cifar11", tmp_path)
    with pytest.raises(TypeError, match="unknown setting 'epoch'"):
        Trainer(dataset="digits", epoch=3)
    with pytest.raises(ValueError, match="no data set"):
        Trainer().train("nb201", BEST)
    with pytest.raises(ValueError, match="unknown preset"):
        Trainer(dataset="digits", preset="hp13")
    with pytest.raises(ValueError, match="unknown search space"):
        Trainer(dataset="digits").train("nb999", BEST)


def _cifar_batch(n, rng, key=b"labels", classes=10):
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            key: rng.integers(0, classes, n).tolist()}


def test_cifar_readers_folder_and_archive(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "dir" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {f"data_batch_{i}": _cifar_batch(20, rng) for i in range(1, 6)}
    batches["test_batch"] = _cifar_batch(10, rng)
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch))
    d101 = load_dataset("cifar10", tmp_path / "dir", splits="nb101", verify=False)
    assert (len(d101.train), len(d101.valid), len(d101.test)) == (80, 20, 10)
    assert d101.image_shape == (3, 32, 32) and d101.train.x.dtype == np.uint8
    # Rows are planes: red first.
    assert np.array_equal(d101.test.x[0, 0].reshape(-1), batches["test_batch"][b"data"][0, :1024])
    d201 = load_dataset("cifar10", tmp_path / "dir", splits="nb201", verify=False)
    assert d201.valid is None and len(d201.train) == 100
    halves = load_dataset("cifar10-valid", tmp_path / "dir", verify=False)
    assert (len(halves.train), len(halves.valid)) == (50, 50)
    # The same from the python-version archive.
    tar = tmp_path / "arc" / "cifar-10-python.tar.gz"
    tar.parent.mkdir()
    with tarfile.open(tar, "w:gz") as tf:
        tf.add(folder, arcname="cifar-10-batches-py")
    from_tar = load_dataset("cifar10", tmp_path / "arc", splits="nb101", verify=False)
    assert np.array_equal(from_tar.train.x, d101.train.x) and np.array_equal(from_tar.test.y, d101.test.y)


def test_trainer_reads_self_made_cifar_only_when_told(tmp_path):
    """Files in the official format that are not the official files (random
    images for timing): refused by default, trained on with verify_data=False."""
    from nasbench_suite.train.data import DataFileError
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(_cifar_batch(16, rng)))
    tiny = dict(epochs=1, channels=2, cells_per_stage=1, batch_size=16, device="cpu", progress=False)
    with pytest.raises(DataFileError, match="verify_data=False"):
        Trainer(dataset="cifar10-valid", data_root=tmp_path, **tiny).train("nb201", BEST)
    r = Trainer(dataset="cifar10-valid", data_root=tmp_path, verify_data=False, **tiny).train("nb201", BEST)
    assert len(r.history) == 1 and 0 <= r.final["valid_acc"] <= 100


def test_cifar100_imagenet16_and_fashion_readers(tmp_path):
    rng = np.random.default_rng(1)
    c100 = tmp_path / "cifar-100-python"
    c100.mkdir()
    (c100 / "train").write_bytes(pickle.dumps(_cifar_batch(30, rng, b"fine_labels", 100)))
    (c100 / "test").write_bytes(pickle.dumps(_cifar_batch(20, rng, b"fine_labels", 100)))
    d = load_dataset("cifar100", tmp_path, verify=False)
    assert (len(d.train), len(d.valid), len(d.test), d.num_classes) == (30, 10, 10, 100)
    im = tmp_path / "ImageNet16"
    im.mkdir()
    for i in range(1, 11):
        (im / f"train_data_batch_{i}").write_bytes(pickle.dumps(
            {"data": rng.integers(0, 256, (6, 768), dtype=np.uint8), "labels": [1, 120, 121, 500, 7, 2]}))
    (im / "val_data").write_bytes(pickle.dumps(
        {"data": rng.integers(0, 256, (8, 768), dtype=np.uint8), "labels": [1, 2, 3, 4, 999, 120, 5, 6]}))
    d = load_dataset("ImageNet16-120", tmp_path)
    assert len(d.train) == 40 and len(d.valid) + len(d.test) == 7  # classes 1..120 only
    assert d.image_shape == (3, 16, 16) and d.train.y.min() == 0 and d.train.y.max() == 119
    fm = tmp_path / "fashion-mnist"
    fm.mkdir()

    def idx(path, arr):
        header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
        path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))

    idx(fm / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (10_012, 28, 28)))
    idx(fm / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 10_012))
    idx(fm / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (7, 28, 28)))
    idx(fm / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 7))
    d = load_dataset("fashion-mnist", tmp_path)
    assert (len(d.train), len(d.valid), len(d.test)) == (12, 10_000, 7) and d.image_shape == (1, 28, 28)


def test_digits_splits_are_fixed():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert (len(a.train), len(a.valid), len(a.test)) == (1197, 300, 300)
    assert np.array_equal(a.test.y, b.test.y) and a.image_shape == (1, 8, 8)


def test_no_torch_outside_the_train_package():
    """``import nasbench_suite`` and every non-train module work without torch;
    the train package says how to install it."""
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # importing torch now fails
        import nasbench_suite, nasbench_suite.spaces, nasbench_suite.tables, nasbench_suite.strategies
        import nasbench_suite.runner, nasbench_suite.cli
        nasbench_suite.cli.build_parser()  # every command's parser, generate's included
        try:
            import nasbench_suite.train
        except ImportError as exc:
            assert "nasbench-suite[train]" in str(exc), exc
        else:
            raise AssertionError("nasbench_suite.train imported without torch")
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_tf_rmsprop_follows_tensorflow_semantics():
    """Mean square starts at 1, epsilon inside the root, momentum on the scaled step."""
    from nasbench_suite.train.optim import TFRMSprop

    gen = torch.Generator().manual_seed(0)
    w = torch.randn(7, generator=gen).requires_grad_()
    ref = w.detach().clone()
    opt = TFRMSprop([w], lr=0.2, decay=0.9, momentum=0.9, eps=1.0, weight_decay=1e-4)
    ms, mom = torch.ones(7), torch.zeros(7)
    for _ in range(4):
        g = torch.randn(7, generator=gen)
        w.grad = g.clone()
        opt.step()
        g = g + 1e-4 * ref
        ms = 0.9 * ms + 0.1 * g * g
        mom = 0.9 * mom + 0.2 * g / torch.sqrt(ms + 1.0)
        ref = ref - mom
    assert torch.allclose(w.detach(), ref, atol=1e-6)


def test_presets_hold_the_published_recipes():
    from nasbench_suite.train import get_preset
    from nasbench_suite.train.optim import cosine_lr

    p101, p201, p12 = get_preset("nb101"), get_preset("nb201"), get_preset("nb201", "hp12")
    assert (p101.epochs, p101.batch_size, p101.optimizer) == (108, 256, "rmsprop_tf")
    assert (p101.lr, p101.weight_decay, p101.rms_eps, p101.fidelity) == (0.2, 1e-4, 1.0, "budget")
    assert p101.network == {"stem_channels": 128, "num_stacks": 3, "cells_per_stack": 3}
    assert (p201.epochs, p201.optimizer, p201.lr, p201.nesterov, p201.weight_decay) == (200, "sgd", 0.1, True, 5e-4)
    assert p201.network == {"channels": 16, "cells_per_stage": 5} and p12.epochs == 12
    assert cosine_lr(0.2, 0, 100, zero_first_step=True) == 0.0
    assert cosine_lr(0.1, 0, 100) == 0.1 and cosine_lr(0.1, 50, 100) == pytest.approx(0.05)
    assert cosine_lr(0.1, 100, 100) == pytest.approx(0.0)
