"""``generate_nb201`` and ``verify_table`` (and their CLI) at tiny settings:
resumable through the journal, every run stored once, provenance, refusal of
other settings, the disconnected row at chance, exact re-verification."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

pytest.importorskip("torch")

from nasbench_suite.cli import main  # noqa: E402
from nasbench_suite.spaces import nb201  # noqa: E402
from nasbench_suite.tables import Benchmark, read_journal  # noqa: E402
from nasbench_suite.train.generate import generate_nb201, representatives, verify_table  # noqa: E402
from nasbench_suite.train.presets import get_preset  # noqa: E402

REPS = representatives()
CELLS = [int(REPS[0]), int(REPS[5000]), int(REPS[-1])]  # two classes and the disconnected cell
TINY = dict(epochs=2)


@pytest.fixture(scope="module", params=[True, False], ids=["grouped", "per-seed"])
def generated(tmp_path_factory, request):
    """A table made in two sessions: the seeds of a class trained as one grouped
    network (the default), or one network per run (tables made before)."""
    path = tmp_path_factory.mktemp("gen") / "t.h5"
    first = generate_nb201(path, cells=CELLS, workers=1, max_runs=3, progress=False,
                           group_seeds=request.param, **TINY)
    mid_records = len(read_journal(path))
    second = generate_nb201(path, cells=CELLS, workers=1, progress=False, **TINY)  # resumes as it was made
    return path, first, second, mid_records


def test_resumes_and_stores_every_run_once(generated):
    path, first, second, mid_records = generated
    with Benchmark.open(path) as b:
        grouped = b.provenance["generate"]["trainer"].get("group_seeds", False)
    made = 4 if grouped else 3  # max_runs=3: whole classes when grouped
    assert first["new_runs"] == made and first["done_runs"] == made
    assert mid_records == 0  # merged into the table at the end of the session
    assert second["new_runs"] == 6 - made and second["done_runs"] == 6 == second["total_runs"]
    with Benchmark.open(path) as b:
        assert len(b) == 3 and b.lookup == "class"
        assert sorted(b._cell_array("index").tolist()) == sorted(CELLS)
        assert list(b.seeds("digits")) == [0, 1] and list(b.fidelities("digits")) == [1.0, 2.0]
        for metric in ("train_acc", "valid_acc", "test_acc", "train_loss", "valid_loss", "test_loss",
                       "epoch_time", "train_time", "params", "flops"):
            assert metric in b.metrics("digits")
            values = b._read("digits", metric, np.arange(3))
            assert not np.isnan(values).any(), metric
        prov = b.provenance
    assert prov["generate"]["seeds"] == [0, 1] and prov["generate"]["overrides"] == TINY
    assert prov["splits"] == {"train": 600, "valid": 600, "test": 597}
    assert prov["preset"]["epochs"] == 2 and prov["preset"]["network"]["reduction"] == "avgpool"
    assert len(prov["sessions"]) == 2 and prov["totals"]["runs"] == 6
    assert prov["totals"]["cpu_seconds"] > 0 and all(s["torch"] and s["cpu"] for s in prov["sessions"])
    assert prov["complete"] is False  # a subset of the classes is not the whole table
    assert generate_nb201(path, cells=CELLS, workers=1, progress=False, **TINY)["new_runs"] == 0


def test_every_cell_of_a_class_and_the_disconnected_cells_resolve(generated):
    path = generated[0]
    classes = nb201.isomorphism_classes()
    with Benchmark.open(path) as b:
        members = np.flatnonzero(classes == classes[CELLS[1]])
        accs = b.query(members, "test_acc", fidelity=2)
        assert np.all(accs == accs[0])
        disconnected = np.flatnonzero(classes < 0)
        chance = b.query(disconnected, "test_acc", fidelity=2)
        assert np.all(chance == chance[0]) and chance[0] < 25.0  # a constant classifier: about 10%
        assert b.query(CELLS[0], "test_acc", fidelity=2) > chance[0]


def test_other_settings_are_refused(generated):
    path = generated[0]
    with pytest.raises(ValueError, match=r"other settings \(overrides: \{'epochs': 2\} in the table, "
                                         r"\{'epochs': 3\} asked\).*--set epochs=2"):
        generate_nb201(path, cells=CELLS, workers=1, progress=False, epochs=3)
    with Benchmark.open(path) as b:
        grouped = b.provenance["generate"]["trainer"].get("group_seeds", False)
    flag = "--group-seeds" if grouped else "--no-group-seeds"
    with pytest.raises(ValueError, match=f"other settings.*{flag}"):  # the other way of training the seeds
        generate_nb201(path, cells=CELLS, workers=1, progress=False, group_seeds=not grouped, **TINY)
    with pytest.raises(ValueError, match="distinct"):
        generate_nb201(path.parent / "x.h5", seeds=(0, 0), progress=False)


def test_overrides_spelt_otherwise_for_the_same_recipe_resume(generated, tmp_path):
    """``--set lr=0.1`` when 0.1 is the preset's lr (or a --set the preset has
    since adopted, as the shipped table's epochs=7) trains the same networks:
    the table resumes, with its own recorded settings, and trains nothing again."""
    path = generated[0]
    copy = tmp_path / "copy.h5"
    copy.write_bytes(path.read_bytes())
    lr = get_preset("nb201", "digits").lr
    summary = generate_nb201(copy, cells=CELLS, workers=1, progress=False, lr=lr, **TINY)
    assert summary["new_runs"] == 0 and summary["done_runs"] == summary["total_runs"]
    with Benchmark.open(copy) as b:
        assert b.provenance["generate"]["overrides"] == TINY
    with pytest.raises(ValueError, match=r"other settings.*--set epochs=2"):  # another lr is another recipe
        generate_nb201(copy, cells=CELLS, workers=1, progress=False, lr=lr / 2, **TINY)


def test_set_takes_recipe_settings_only(tmp_path, capsys):
    """The trainer's own settings (device, threads, amp, ...) are fixed for a
    generated table; --set naming one is refused before anything is written."""
    out = tmp_path / "g.h5"
    for item in ("amp=true", "device=cuda", "threads=4", "compile=true"):
        # (--max-runs 1: were it accepted, this would train one class, not the whole table)
        assert main(["generate", "nb201", "-o", str(out), "--quiet", "--max-runs", "1", "--set", item]) == 2
        key = item.split("=")[0]
        assert f"unknown setting {key!r} for the nb201 'digits' preset" in capsys.readouterr().err
    assert not out.exists()


def test_a_preset_changed_since_the_table_was_made_is_refused(generated, tmp_path, capsys):
    """The table records its preset's values; resuming or verifying it when the
    preset in the code gives other values (here: another lr) stops with the
    difference named, instead of mixing two recipes in one table."""
    edited = tmp_path / "edited.h5"
    edited.write_bytes(generated[0].read_bytes())
    with h5py.File(edited, "a") as h5:
        prov = json.loads(h5.attrs["provenance"])
        prov["preset"]["lr"] = 0.05
        h5.attrs["provenance"] = json.dumps(prov, sort_keys=True)
    with pytest.raises(ValueError, match=r"another recipe .*lr: 0\.05 in the table, 0\.1 now"):
        generate_nb201(edited, cells=CELLS, workers=1, progress=False, **TINY)
    with pytest.raises(ValueError, match="another recipe"):
        verify_table(edited, rows=1)
    assert main(["verify", str(edited), "--rows", "1"]) == 2
    assert "lr: 0.05 in the table" in capsys.readouterr().err


def test_verify_is_exact_here_and_catches_a_changed_value(generated, tmp_path, capsys):
    path = generated[0]
    report = verify_table(path, rows=2, seed=1)
    assert report["same_platform"] and report["ok"] and report["exact"] == len(report["runs"]) == 4
    tampered = tmp_path / "tampered.h5"
    tampered.write_bytes(path.read_bytes())
    with h5py.File(tampered, "a") as h5:
        ds = h5["datasets/digits/metrics/test_acc"]
        values = ds[()]
        values[:, 0, 1] += 0.5
        ds[...] = values
    bad = verify_table(tampered, rows=3)
    assert not bad["ok"] and bad["exact"] < len(bad["runs"])
    assert main(["verify", str(tampered), "--rows", "1"]) == 1
    assert "DISAGREE" in capsys.readouterr().out
    assert main(["verify", str(path), "--rows", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_cli_errors_are_clear(generated, tmp_path, capsys):
    path = generated[0]
    assert main(["verify", str(path), "--rows", "99"]) == 2
    assert "--rows must be between 1 and 3" in capsys.readouterr().err
    assert main(["generate", "nb201", "-o", str(tmp_path / "g.h5"), "--set", "epochz=2", "--quiet"]) == 2
    assert "unknown setting 'epochz'" in capsys.readouterr().err
    assert main(["generate", "nb201", "-o", str(tmp_path / "g.h5"), "--set", "epochs"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["generate", "nb201", "-o", str(path), "--quiet", "--set", "epochs=5"]) == 2
    assert "other settings" in capsys.readouterr().err
    plain = tmp_path / "plain.h5"
    from nasbench_suite.tables import TableWriter

    with TableWriter(plain, space="nb201"):
        pass
    assert main(["verify", str(plain)]) == 2
    assert "not made by" in capsys.readouterr().err
