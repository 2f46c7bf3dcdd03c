"""scripts/peer_bench.py without any peer: what it does when the official
code is not given, how it reuses a peer venv, and its inputs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import peer_bench  # noqa: E402


def test_without_the_official_code_hash_and_enum_are_skipped_with_a_message(tmp_path, capsys):
    out = tmp_path / "peers.md"
    rc = peer_bench.main(["--only", "hash", "enum", "--peers-dir", str(tmp_path / "peers"), "--out", str(out)])
    assert rc == 0
    text = out.read_text()
    assert text.splitlines()[0].startswith("# Peers")
    assert peer_bench.COMMAND in text
    assert "Skipped: official NAS-Bench-101 code: not given (--official-nasbench DIR" in text
    assert "hash and enumeration comparisons skipped" in capsys.readouterr().out
    assert not (tmp_path / "peers").exists()  # nothing built for a skipped peer


def test_a_peer_venv_with_the_same_pip_arguments_is_reused(tmp_path):
    env = tmp_path / "official"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("")
    (env / peer_bench.MARKER).write_text(json.dumps(peer_bench.PEERS["official"]))
    assert peer_bench.ensure_env(tmp_path, "official") == env / "bin" / "python"
    assert not (tmp_path / "official.log").exists()  # no build was started


def test_edge_ops_follow_the_arch_string():
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    assert peer_bench.edge_ops(arch) == ["nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none",
                                         "avg_pool_3x3", "nor_conv_3x3"]


def test_hash_batch_cells_are_valid_and_keep_all_seven_vertices():
    from nasbench_suite.spaces import nb101

    mats, labels = peer_bench.seven_vertex_batch(300)
    assert mats.shape == (300, 7, 7) and labels.shape == (300, 7)
    assert nb101.is_valid_many(mats, labels).all()
    assert (nb101.prune_many(mats, labels)[2] == 7).all()
    assert (mats.sum(axis=(1, 2)) <= 9).all()
    again, _ = peer_bench.seven_vertex_batch(300)
    assert np.array_equal(mats, again)
