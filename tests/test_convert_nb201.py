"""The NAS-Bench-201 / NATS-Bench topology converter, on fixtures written here
in the official layouts (nats_bench/api_utils.py, nas_201_api/api_201.py):
``{"meta_archs", "arch2infos", "evaluated_indexes"}`` with
``arch2infos[index] = {preset: ArchResults.state_dict()}``, as one bz2 pickle,
as a directory of per-architecture bz2 pickles plus ``meta.pickle.pbz2``, and
as ``torch.save`` archives (zip and legacy formats; those tests need torch
and are skipped without it -- everything else runs without torch).

Every value is a distinct random number, and every cell of every metric array
is compared with the value the fixture put at that (architecture, dataset,
seed, epoch)."""
from __future__ import annotations

import argparse
import bz2
import collections
import functools
import importlib.util
import pickle
import zipfile

import h5py
import numpy as np
import pytest

from nasbench_suite.cli.tables import add_convert_nb201_parser
from nasbench_suite.spaces import nb201
from nasbench_suite.tables import Benchmark, TableFormatError
from nasbench_suite.tables.convert_nb201 import (
    SourceError, convert_nb201, load_archive, official_arch_strings,
)

HAVE_TORCH = importlib.util.find_spec("torch") is not None
requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch not installed (pip install torch==2.13.0)")

INDICES = (0, 11, 118, 284)  # meta_archs is the official list up to 284 (short: bz2 is slow)
SEEDS = (777, 888)
EPOCHS = {"200": 5, "12": 3}  # short runs stand in for the 200- and 12-epoch presets
# Evaluation sets each official dataset records (api_utils.ArchResults.get_metrics).
SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
# Where each table metric must come from: (valid set, test set).
SPLIT = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": (None, "ori-test"),
         "cifar100": ("x-valid", "x-test"), "ImageNet16-120": ("x-valid", "x-test")}
MISSING_RUN = (284, "cifar100", 888)  # never trained
NO_TIMES = (11, "cifar10", 777)  # train_times None (older runs)


def _run(rng, index, dataset, seed, epochs, numbers=float):
    """A ResultsCount.state_dict() with random values; ``numbers`` wraps each value."""
    ep = range(epochs)
    series = lambda lo, hi: collections.OrderedDict((e, numbers(rng.uniform(lo, hi))) for e in ep)  # noqa: E731
    evals = {}
    for kind, lo, hi in (("acc", 10, 95), ("loss", 0.1, 3), ("time", 1, 5)):
        evals[kind] = {f"{s}@{e}": numbers(rng.uniform(lo, hi)) for s in SETS[dataset] for e in ep}
    no_times = (index, dataset, seed) == NO_TIMES
    return {
        "name": f"{dataset}-seed-{seed}", "net_state_dict": None,
        "train_acc1es": series(10, 99), "train_acc5es": series(50, 100), "train_losses": series(0.01, 3),
        "train_times": None if no_times else series(5, 30),
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": nb201.arch_string(index), "class_num": 10},
        "params": numbers(rng.uniform(0.07, 1.6)), "flop": numbers(rng.uniform(7, 220)),
        "seed": seed, "epochs": epochs,
        "latency": None if seed == 888 and index == 0 else [rng.uniform(0.01, 0.03), rng.uniform(0.01, 0.03)],
        "eval_names": list(SETS[dataset]), "eval_acc1es": evals["acc"], "eval_losses": evals["loss"],
        "eval_times": evals["time"],
    }


def _arch(rng, index, epochs, numbers=float):
    results, dataset_seed = {}, {}
    for dataset in SETS:
        for seed in SEEDS:
            if (index, dataset, seed) == MISSING_RUN:
                continue
            results[(dataset, seed)] = _run(rng, index, dataset, seed, epochs, numbers)
            dataset_seed.setdefault(dataset, []).append(seed)
    return {"arch_index": index, "arch_str": nb201.arch_string(index), "all_results": results,
            "dataset_seed": dataset_seed, "clear_net_done": True}


@functools.lru_cache(maxsize=1)
def _meta_archs() -> tuple:
    return tuple(nb201.arch_string(i) for i in range(max(INDICES) + 1))


def make_archive(keys=("12", "200"), seed=0, numbers=float):
    """The official dict; ``keys`` name the presets (12-, 200-epoch) as the
    file does: ("12", "200") in NATS-Bench, ("less", "full") in NB201 v1."""
    rng = np.random.default_rng(seed)
    infos = {i: {k: _arch(rng, i, EPOCHS[hp], numbers) for k, hp in zip(keys, ("12", "200"))} for i in INDICES}
    return {"meta_archs": list(_meta_archs()),
            "arch2infos": infos, "evaluated_indexes": set(INDICES)}


def write_pbz2(obj, path):
    with bz2.BZ2File(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)  # as nats_bench.api_utils.pickle_save


def write_directory(archive, path, name="{:06d}.pickle.pbz2"):
    path.mkdir()
    write_pbz2({"meta_archs": archive["meta_archs"]}, path / "meta.pickle.pbz2")
    for i, by_hp in archive["arch2infos"].items():
        write_pbz2(by_hp, path / name.format(i))
    return path


# ------------------------------------------------------------------ checks
def check_table(out, archive, hp, key):
    """Every stored value is the fixture's value at that place; the rest NaN."""
    epochs = EPOCHS[hp]
    with h5py.File(out, "r") as h5:
        assert h5.attrs["space"] == "nb201"
        assert list(h5["cells/index"][()]) == list(INDICES)
        assert sorted(h5["datasets"]) == sorted(SETS)
        for dataset in SETS:
            g = h5["datasets"][dataset]
            assert list(g["seeds"][()]) == list(SEEDS)
            assert list(g["fidelities"][()]) == list(range(1, epochs + 1))
            metrics = {m: g["metrics"][m][()] for m in g["metrics"]}
            static = {m: g["static"][m][()] for m in g["static"]}
            valid_set, test_set = SPLIT[dataset]
            expected_names = {"train_acc", "train_loss", "test_acc", "test_loss", "train_time", "epoch_time"}
            if valid_set:
                expected_names |= {"valid_acc", "valid_loss"}
            assert set(metrics) == expected_names
            assert set(static) == {"params", "flops", "latency_gpu"}
            assert g["static/latency_gpu"].attrs["units"] == "milliseconds"
            for row, index in enumerate(INDICES):
                runs = archive["arch2infos"][index][key]["all_results"]
                for s, seed in enumerate(SEEDS):
                    run = runs.get((dataset, seed))
                    if run is None:
                        for m in metrics.values():
                            assert np.isnan(m[row, s]).all()
                        continue
                    want = {
                        "train_acc": [run["train_acc1es"][e] for e in range(epochs)],
                        "train_loss": [run["train_losses"][e] for e in range(epochs)],
                        "test_acc": [run["eval_acc1es"][f"{test_set}@{e}"] for e in range(epochs)],
                        "test_loss": [run["eval_losses"][f"{test_set}@{e}"] for e in range(epochs)],
                    }
                    if valid_set:
                        want["valid_acc"] = [run["eval_acc1es"][f"{valid_set}@{e}"] for e in range(epochs)]
                        want["valid_loss"] = [run["eval_losses"][f"{valid_set}@{e}"] for e in range(epochs)]
                    if run["train_times"] is None:
                        want["epoch_time"] = want["train_time"] = [np.nan] * epochs
                    else:
                        times = [run["train_times"][e] for e in range(epochs)]
                        want["epoch_time"] = times
                        want["train_time"] = list(np.cumsum(times))
                    for name, values in want.items():
                        np.testing.assert_allclose(metrics[name][row, s], np.array(values, dtype=float),
                                                   rtol=1e-12, err_msg=f"{dataset} {index} {seed} {name}")
                seeds_run = [runs[(dataset, sd)] for sd in SEEDS if (dataset, sd) in runs]
                for name, field in (("params", "params"), ("flops", "flop")):  # official millions
                    want = np.mean([float(r[field]) for r in seeds_run]) * 1e6
                    np.testing.assert_allclose(static[name][row], want)
                lats = [np.mean(r["latency"]) for r in seeds_run if r["latency"]]
                np.testing.assert_allclose(static["latency_gpu"][row], np.mean(lats) * 1e3)
        prov = h5.attrs["provenance"]
    return prov


@pytest.fixture(scope="module")
def archive():
    return make_archive()


@pytest.mark.parametrize("hp", ["200", "12"])
def test_nats_single_file(tmp_path, archive, hp):
    src = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    write_pbz2(archive, src)
    out = convert_nb201(src, tmp_path / "t.h5", hp=hp, progress=False)
    prov = check_table(out, archive, hp, hp)
    assert '"source_format": "nats-pbz2"' in prov and f'"hp": "{hp}"' in prov
    with Benchmark.open(out) as bench:
        assert bench.cost_model == {}  # train_time is present
        run = archive["arch2infos"][284][hp]["all_results"][("cifar10", 888)]
        last = EPOCHS[hp]
        assert bench.query(284, "test_acc", fidelity=last, dataset="cifar10", seed=1) == \
            pytest.approx(run["eval_acc1es"][f"ori-test@{last - 1}"])
        assert bench.query(nb201.arch_string(284), "train_acc", fidelity=1, dataset="cifar10", seed=1) == \
            pytest.approx(run["train_acc1es"][0])


@pytest.mark.parametrize("name", ["{:06d}.pickle.pbz2", "{:d}.pickle.pbz2"])
def test_nats_directory(tmp_path, archive, name):
    src = write_directory(archive, tmp_path / "NATS-tss-v1_0-3ffb9-full", name)
    out = convert_nb201(src, tmp_path / "t.h5", progress=False)
    prov = check_table(out, archive, "200", "200")
    assert '"files": 4' in prov and "sha256_manifest" in prov and "meta.pickle.pbz2" in prov


def test_nb201_v1_keys_less_full(tmp_path):
    archive = make_archive(keys=("less", "full"), seed=3)
    src = tmp_path / "v1.pickle.pbz2"
    write_pbz2(archive, src)
    check_table(convert_nb201(src, tmp_path / "a.h5", hp="200", progress=False), archive, "200", "full")
    check_table(convert_nb201(src, tmp_path / "b.h5", hp="12", progress=False), archive, "12", "less")


def test_numpy_scalars_are_read(tmp_path):
    archive = make_archive(seed=4, numbers=np.float64)
    src = tmp_path / "np.pickle.pbz2"
    write_pbz2(archive, src)
    check_table(convert_nb201(src, tmp_path / "t.h5", progress=False), archive, "200", "200")


def _handmade_torch_zip(obj, path, prefix="NAS-Bench-201-v1_1-096897"):
    """The zip layout of torch.save (<prefix>/data.pkl, <prefix>/version) for
    an object without tensors -- what the converter reads when torch is absent."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pickle.dumps(obj, protocol=2))
        z.writestr(f"{prefix}/version", "3\n")


def test_pth_zip_layout_without_torch(tmp_path):
    archive = make_archive(keys=("less", "full"), seed=5)
    src = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    _handmade_torch_zip(archive, src)
    check_table(convert_nb201(src, tmp_path / "t.h5", progress=False, use_torch=False), archive, "200", "full")


@requires_torch
@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("use_torch", [None, False])
def test_pth_written_by_torch(tmp_path, legacy, use_torch):
    """torch.save archives (zip; legacy = the pre-1.6 format of the 2020
    files), with weights in net_state_dict; read with torch and without."""
    import torch

    archive = make_archive(keys=("less", "full"), seed=6)
    for by_hp in archive["arch2infos"].values():
        for state in by_hp.values():
            for run in state["all_results"].values():
                run["net_state_dict"] = collections.OrderedDict(w=torch.randn(3, 2), b=torch.zeros(2))
    src = tmp_path / "NAS-Bench-201-v1_0-e61699.pth"
    torch.save(archive, src, _use_new_zipfile_serialization=not legacy)
    out = convert_nb201(src, tmp_path / "t.h5", progress=False, use_torch=use_torch)
    assert '"source_format": "nb201-pth"' in check_table(out, archive, "200", "full")


@requires_torch
def test_pth_with_numpy_scalars_falls_back_from_weights_only(tmp_path):
    import torch

    archive = make_archive(keys=("less", "full"), seed=7, numbers=np.float64)
    src = tmp_path / "np.pth"
    torch.save(archive, src)  # torch.load(weights_only=True) refuses numpy scalars
    check_table(convert_nb201(src, tmp_path / "t.h5", progress=False), archive, "200", "full")


@requires_torch
def test_nats_full_directory_with_weights_needs_no_torch_objects(tmp_path):
    """-full archives pickle tensors with plain pickle; the converter drops
    them without rebuilding (no torch code runs)."""
    import torch

    archive = make_archive(seed=8)
    for by_hp in archive["arch2infos"].values():
        for state in by_hp.values():
            for run in state["all_results"].values():
                run["net_state_dict"] = collections.OrderedDict(w=torch.randn(4))
    src = write_directory(archive, tmp_path / "NATS-tss-v1_0-3ffb9-full")
    check_table(convert_nb201(src, tmp_path / "t.h5", progress=False), archive, "200", "200")


# ------------------------------------------------------------------ errors
def _pickle_with(archive, marker: str, replacement: bytes) -> bytes:
    """A protocol-2 pickle of ``archive`` with the string ``marker`` replaced by
    raw opcodes (to plant objects no test should have to import)."""
    data = pickle.dumps(archive, protocol=2)
    op = b"X" + len(marker).to_bytes(4, "little") + marker.encode()
    assert data.count(op) == 1
    return data.replace(op, replacement)


def test_foreign_global_is_refused_not_run(tmp_path):
    archive = make_archive(seed=9)
    archive["arch2infos"][11]["200"]["all_results"][("cifar10", 777)]["name"] = "PLANT"
    src = tmp_path / "evil.pickle.pbz2"
    src.write_bytes(bz2.compress(_pickle_with(archive, "PLANT", b"cos\nsystem\nX\x04\x00\x00\x00true\x85R")))
    with pytest.raises(SourceError, match="os.system"):
        convert_nb201(src, tmp_path / "t.h5", progress=False)
    assert not (tmp_path / "t.h5").exists()


def test_tensor_metric_without_torch_says_install_torch(tmp_path):
    archive = make_archive(seed=10)
    archive["arch2infos"][0]["200"]["all_results"][("cifar100", 777)]["train_acc1es"][2] = "PLANT"
    src = tmp_path / "t.pth"
    tensor = b"ctorch._utils\n_rebuild_tensor_v2\n)R"  # a tensor where a number belongs
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("archive/data.pkl", _pickle_with(archive, "PLANT", tensor))
    with pytest.raises(SourceError, match=r"nasbench-suite\[train\]"):
        convert_nb201(src, tmp_path / "t.h5", progress=False, use_torch=False)
    assert not (tmp_path / "t.h5").exists()


def test_wrong_order_is_refused(tmp_path):
    archive = make_archive(seed=11)
    archive["meta_archs"][7], archive["meta_archs"][8] = archive["meta_archs"][8], archive["meta_archs"][7]
    src = tmp_path / "a.pickle.pbz2"
    write_pbz2(archive, src)
    with pytest.raises(SourceError, match=r"meta_archs\[7\].*official"):
        convert_nb201(src, tmp_path / "t.h5", progress=False)
    archive = make_archive(seed=11)
    archive["arch2infos"][11]["200"]["arch_str"] = nb201.arch_string(12)
    write_pbz2(archive, src)
    with pytest.raises(SourceError, match="architecture 11 is"):
        convert_nb201(src, tmp_path / "t.h5", progress=False)
    assert not (tmp_path / "t.h5").exists()


def test_bad_inputs(tmp_path, archive):
    src = tmp_path / "a.pickle.pbz2"
    write_pbz2(archive, src)
    (tmp_path / "exists.h5").write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="overwrite"):
        convert_nb201(src, tmp_path / "exists.h5", progress=False)
    assert (tmp_path / "exists.h5").read_bytes() == b"keep"
    with pytest.raises(ValueError, match="hp must be"):
        convert_nb201(src, tmp_path / "t.h5", hp="90", progress=False)
    truncated = tmp_path / "cut.pickle.pbz2"
    truncated.write_bytes(src.read_bytes()[:2000])
    with pytest.raises(SourceError, match="truncated or corrupt"):
        convert_nb201(truncated, tmp_path / "t.h5", progress=False)
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(SourceError, match="meta.pickle.pbz2"):
        convert_nb201(tmp_path / "empty_dir", tmp_path / "t.h5", progress=False)
    with pytest.raises(SourceError, match="no such file"):
        convert_nb201(tmp_path / "nope.pth", tmp_path / "t.h5", progress=False)
    write_pbz2({"something": 1}, src)
    with pytest.raises(SourceError, match="meta_archs and arch2infos"):
        convert_nb201(src, tmp_path / "t.h5", progress=False)
    notpickle = tmp_path / "x.pth"
    notpickle.write_bytes(b"hello world, not an archive")
    with pytest.raises(TableFormatError):
        convert_nb201(notpickle, tmp_path / "t.h5", progress=False, use_torch=False)
    assert not (tmp_path / "t.h5").exists()


def test_preset_absent(tmp_path):
    archive = make_archive(seed=12)
    for by_hp in archive["arch2infos"].values():
        del by_hp["12"]
    src = tmp_path / "a.pickle.pbz2"
    write_pbz2(archive, src)
    with pytest.raises(SourceError, match="12-epoch preset"):
        convert_nb201(src, tmp_path / "t.h5", hp="12", progress=False)


def test_load_archive_reads_plain_objects(tmp_path):
    obj = {"a": {1, 2}, ("t", 1): [1.5, None], "o": collections.OrderedDict(x=np.float32(2))}
    write_pbz2(obj, tmp_path / "o.pickle.pbz2")
    assert load_archive(tmp_path / "o.pickle.pbz2") == obj
    _handmade_torch_zip(obj, tmp_path / "o.pth")
    assert load_archive(tmp_path / "o.pth", use_torch=False) == obj


def test_official_arch_strings():
    strings = official_arch_strings()
    assert len(strings) == nb201.NUM_CELLS
    for i in (0, 1, 11, 284, 6111, 15624):
        assert strings[i] == nb201.arch_string(i)
    assert strings[0] == ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
                          "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")  # row 0 of the public tables


def test_cli_parser(tmp_path, archive, capsys):
    src = tmp_path / "a.pickle.pbz2"
    write_pbz2(archive, src)
    parser = argparse.ArgumentParser(prog="nasbench-suite convert")
    add_convert_nb201_parser(parser.add_subparsers(dest="what"))
    out = tmp_path / "cli.h5"
    args = parser.parse_args(["nb201", str(src), "-o", str(out), "--hp", "12", "-q"])
    assert args.run(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    check_table(out, archive, "12", "12")
    from nasbench_suite.cli import UsageError

    with pytest.raises(UsageError, match="already exists"):
        args.run(args)
