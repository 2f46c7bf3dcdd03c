"""The ``nasbench-suite`` command: hash, space stats, space export.

Most tests call :func:`nasbench_suite.cli.main` in-process (capsys); a couple
run the installed console script in a subprocess.  Expected values come from
the official NB101 test vectors, the published counts in REFERENCE.md, or a
reference computed here -- never from the code under test.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nasbench_suite import cli
from nasbench_suite.cli import hash as cli_hash

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))
VECTORS = DATA / "vectors" / "nb101_hash_sample.jsonl"

# Published counts (REFERENCE.md).
NB101_UNIQUE = 423_624
NB101_CANDIDATES = 1_293_208
NB101_CUMULATIVE_UNIQUE = {2: 1, 3: 7, 4: 91, 5: 2_532, 6: 64_542, 7: 423_624}
NB201_CELLS = 15_625
NB201_DISCONNECTED = 341
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _vectors():
    if not VECTORS.is_file():
        pytest.skip(f"NB101 vectors not found at {VECTORS} (set NASBENCH_SUITE_DATA)")
    with VECTORS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _input_line(row):
    return json.dumps({"matrix": row["matrix"], "ops": row["ops"]})


def _run(capsys, argv, stdin: bytes | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _records(out):
    return [json.loads(line) for line in out.splitlines()]


def _assert_matches_vector(record, row):
    if row["valid"]:
        assert record == {"hash": row["hash"], "pruned_matrix": row["pruned_matrix"],
                          "pruned_ops": row["pruned_ops"]}, row
    else:
        assert set(record) == {"error"}, (record, row)
        assert record["error"].strip()


def _no_traceback(err):
    assert "Traceback" not in err


# --- an independent NB101 hash (REFERENCE.md, "The hash") -----------------

def _md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def ref_hash(matrix, ops):
    label = {"input": -1, "output": -2, "conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2}
    n = len(matrix)
    out_deg = [sum(matrix[v]) for v in range(n)]
    in_deg = [sum(matrix[u][v] for u in range(n)) for v in range(n)]
    h = [_md5(str((out_deg[v], in_deg[v], label[ops[v]]))) for v in range(n)]
    for _ in range(n):
        h = [_md5("".join(sorted(h[u] for u in range(n) if matrix[u][v])) + "|"
                  + "".join(sorted(h[w] for w in range(n) if matrix[v][w])) + "|" + h[v])
             for v in range(n)]
    return _md5(str(sorted(h)))


def test_reference_hash_reproduces_the_official_vectors():
    for row in _vectors():
        if row["valid"]:
            assert ref_hash(row["pruned_matrix"], row["pruned_ops"]) == row["hash"]


# --------------------------------------------------------------------------
# help and usage errors

@pytest.mark.parametrize("argv", [["--help"], ["hash", "--help"], ["space", "--help"],
                                  ["space", "stats", "--help"], ["space", "export", "--help"]])
def test_help_reads_like_a_manual(capsys, argv):
    rc, out, err = _run(capsys, argv)
    assert rc == 0
    assert "usage:" in out and "nasbench-suite" in out
    assert "examples" in out


def test_top_level_help_lists_the_commands(capsys):
    _, out, _ = _run(capsys, ["--help"])
    for word in ("hash", "space stats", "space export", "exit status"):
        assert word in out


@pytest.mark.parametrize("argv", [
    [],
    ["space"],
    ["frobnicate"],
    ["space", "stats", "nb999"],
    ["space", "stats"],
    ["space", "export", "nb101"],                       # --format is required
    ["space", "export", "nb101", "--format", "png"],
    ["space", "export", "nb101", "--format", "arch-strings"],  # nb201 only
    ["space", "export", "nb201", "--format", "hashes"],        # nb101 only
    ["hash"],                                            # --space is required
    ["hash", "--space", "nb999"],
    ["hash", "--space", "nb101", "--threads", "0"],
])
def test_usage_errors_exit_2_without_traceback(capsys, argv):
    rc, out, err = _run(capsys, argv)
    assert rc == 2
    assert err.strip()
    _no_traceback(err)


def test_format_for_the_wrong_space_is_explained(capsys):
    rc, _, err = _run(capsys, ["space", "export", "nb201", "--format", "hashes"])
    assert rc == 2
    assert "nb201" in err and "arch-strings" in err


def test_version(capsys):
    rc, out, _ = _run(capsys, ["--version"])
    assert rc == 0 and "nasbench-suite" in out


# --------------------------------------------------------------------------
# hash

def test_hash_official_vectors_from_file(capsys, tmp_path):
    rows = _vectors()
    path = tmp_path / "cells.jsonl"
    path.write_text("".join(_input_line(r) + "\n" for r in rows), encoding="utf-8")
    rc, out, err = _run(capsys, ["hash", "--space", "nb101", str(path)])
    assert rc == 0, err
    records = _records(out)
    assert len(records) == len(rows)
    for record, row in zip(records, rows):
        _assert_matches_vector(record, row)


@pytest.mark.parametrize("argv_tail", [["-"], []])
def test_hash_reads_stdin(capsys, monkeypatch, argv_tail):
    rows = _vectors()[:40]
    data = "".join(_input_line(r) + "\n" for r in rows).encode()
    rc, out, err = _run(capsys, ["hash", "--space", "nb101", *argv_tail], data, monkeypatch)
    assert rc == 0, err
    records = _records(out)
    assert len(records) == len(rows)
    for record, row in zip(records, rows):
        _assert_matches_vector(record, row)


def test_hash_keeps_input_order_across_sizes_and_batches(capsys, monkeypatch, tmp_path):
    rows = _vectors()
    rng = random.Random(0)
    shuffled = rows * 3
    rng.shuffle(shuffled)
    # small batches so that one input spans many of them
    monkeypatch.setattr(cli_hash, "HASH_CHUNK_LINES", 7)
    path = tmp_path / "cells.jsonl"
    path.write_text("".join(_input_line(r) + "\n" for r in shuffled), encoding="utf-8")
    rc, out, _ = _run(capsys, ["hash", "--space", "nb101", "--threads", "2", str(path)])
    assert rc == 0
    records = _records(out)
    assert len(records) == len(shuffled)
    for record, row in zip(records, shuffled):
        _assert_matches_vector(record, row)


def test_hash_bad_lines_answer_in_place(capsys, monkeypatch):
    rows = _vectors()
    good = next(r for r in rows if r["valid"] and len(r["ops"]) == 7)
    good2 = next(r for r in rows if r["valid"] and len(r["ops"]) == 4)
    bad = next(r for r in rows if not r["valid"])
    lines = [
        _input_line(good),                                    # 0 ok
        "this is not json",                                   # 1
        _input_line(bad),                                     # 2 invalid cell
        "",                                                   # 3 blank
        json.dumps({"matrix": good["matrix"]}),               # 4 no ops
        json.dumps({"ops": good["ops"]}),                     # 5 no matrix
        json.dumps([good["matrix"], good["ops"]]),            # 6 not an object
        "null",                                               # 7
        '{"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]',  # 8 truncated
        json.dumps({"matrix": "abc", "ops": ["input", "output"]}),  # 9
        json.dumps({"matrix": [[0, 2], [0, 0]], "ops": ["input", "output"]}),  # 10 not 0/1
        json.dumps({"matrix": [[0, 1], [0]], "ops": ["input", "output"]}),     # 11 ragged
        json.dumps({"matrix": [[0, 1], [1, 0]], "ops": ["input", "output"]}),  # 12 not upper-tri
        json.dumps({"matrix": [[0, 1], [0, 0]], "ops": ["input"]}),            # 13 length
        json.dumps({"matrix": [[0, 1], [0, 0]], "ops": ["output", "input"]}),  # 14 order
        _input_line(good2),                                   # 15 ok
        "[" * 100_000,                                        # 16 nested too deeply
    ]
    data = "\n".join(lines).encode() + b"\n"
    rc, out, err = _run(capsys, ["hash", "--space", "nb101"], data, monkeypatch)
    assert rc == 0, err
    records = _records(out)
    assert len(records) == len(lines)
    _assert_matches_vector(records[0], good)
    _assert_matches_vector(records[15], good2)
    for i in [*range(1, 15), 16]:
        assert set(records[i]) == {"error"}, (i, records[i])
        assert records[i]["error"].strip()
    assert "json" in records[1]["error"].lower()
    assert "ops" in records[4]["error"]
    assert "matrix" in records[5]["error"]
    assert "object" in records[6]["error"]


def test_hash_crlf_and_no_final_newline(capsys, monkeypatch):
    rows = [r for r in _vectors() if r["valid"]][:3]
    data = "\r\n".join(_input_line(r) for r in rows).encode()
    rc, out, _ = _run(capsys, ["hash", "--space", "nb101"], data, monkeypatch)
    assert rc == 0
    records = _records(out)
    assert [r["hash"] for r in records] == [r["hash"] for r in rows]


def test_hash_float_and_bool_matrices_hash_like_ints(capsys, monkeypatch):
    rows = [r for r in _vectors() if r["valid"]][:20]
    lines = []
    for r in rows:
        lines.append(json.dumps({"matrix": [[float(x) for x in row] for row in r["matrix"]], "ops": r["ops"]}))
        lines.append(json.dumps({"matrix": [[bool(x) for x in row] for row in r["matrix"]], "ops": r["ops"]}))
    rc, out, _ = _run(capsys, ["hash", "--space", "nb101"], "\n".join(lines).encode(), monkeypatch)
    assert rc == 0
    records = _records(out)
    for k, r in enumerate(rows):
        assert records[2 * k]["hash"] == r["hash"]
        assert records[2 * k + 1]["hash"] == r["hash"]


def _dangling(matrix):
    """Vertices that are not on an input->output path."""
    n = len(matrix)
    fwd, bwd = {0}, {n - 1}
    for v in range(n):
        if any(matrix[u][v] for u in fwd):
            fwd.add(v)
    for v in reversed(range(n)):
        if any(matrix[v][w] for w in bwd):
            bwd.add(v)
    return [v for v in range(n) if v not in fwd or v not in bwd]


def test_hash_unknown_op_on_a_pruned_vertex_is_fine(capsys, monkeypatch):
    # REFERENCE.md: op names are checked on the pruned spec.
    cases = []
    for r in _vectors():
        if r["valid"]:
            dangling = [v for v in _dangling(r["matrix"]) if 0 < v < len(r["ops"]) - 1]
            if dangling:
                ops = list(r["ops"])
                ops[dangling[0]] = "conv5x5-bn-relu"
                cases.append(({"matrix": r["matrix"], "ops": ops}, r))
    assert cases, "the vectors should hold cells with dangling vertices"
    data = "\n".join(json.dumps(c) for c, _ in cases).encode()
    rc, out, _ = _run(capsys, ["hash", "--space", "nb101"], data, monkeypatch)
    assert rc == 0
    for record, (_, row) in zip(_records(out), cases):
        _assert_matches_vector(record, row)


def test_hash_missing_file_exits_2(capsys, tmp_path):
    rc, out, err = _run(capsys, ["hash", "--space", "nb101", str(tmp_path / "nope.jsonl")])
    assert rc == 2
    assert out == ""
    assert "nope.jsonl" in err
    _no_traceback(err)


def test_hash_directory_exits_2(capsys, tmp_path):
    rc, out, err = _run(capsys, ["hash", "--space", "nb101", str(tmp_path)])
    assert rc == 2
    assert "directory" in err
    _no_traceback(err)


def test_hash_undecodable_input_exits_2(capsys, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]}\n\xff\xfe\xfa\n')
    rc, out, err = _run(capsys, ["hash", "--space", "nb101", str(path)])
    assert rc == 2
    assert "UTF-8" in err and "line 2" in err
    _no_traceback(err)


def test_hash_empty_input(capsys, monkeypatch):
    rc, out, _ = _run(capsys, ["hash", "--space", "nb101"], b"", monkeypatch)
    assert rc == 0 and out == ""


# --------------------------------------------------------------------------
# space stats

def test_stats_nb101_json(capsys):
    rc, out, err = _run(capsys, ["space", "stats", "nb101", "--json"])
    assert rc == 0, err
    stats = json.loads(out)
    assert stats["space"] == "nb101"
    assert stats["unique"] == NB101_UNIQUE
    assert stats["candidates"] == NB101_CANDIDATES
    per_vertex = {int(n): c for n, c in stats["unique_by_vertices"].items()}
    cumulative, total = {}, 0
    for n in sorted(per_vertex):
        total += per_vertex[n]
        cumulative[n] = total
    assert cumulative == NB101_CUMULATIVE_UNIQUE
    assert {int(n): c for n, c in stats["unique_cumulative_by_vertices"].items()} == NB101_CUMULATIVE_UNIQUE
    assert sum(stats["candidates_by_vertices"].values()) == NB101_CANDIDATES
    assert stats["seconds"] >= 0


def test_stats_nb101_text(capsys):
    rc, out, _ = _run(capsys, ["space", "stats", "nb101"])
    assert rc == 0
    assert "423,624" in out and "1,293,208" in out
    assert re.search(r"time\s+[0-9.]+\s*s", out)


def test_stats_nb201(capsys):
    rc, out, err = _run(capsys, ["space", "stats", "nb201", "--json"])
    assert rc == 0, err
    stats = json.loads(out)
    assert stats["cells"] == NB201_CELLS
    assert stats["disconnected"] == NB201_DISCONNECTED
    assert stats["connected"] == NB201_CELLS - NB201_DISCONNECTED
    from nasbench_suite.spaces import nb201
    classes = set(nb201.isomorphism_classes().tolist()) - {-1}
    assert stats["isomorphism_classes"] == len(classes)
    assert 0 < stats["isomorphism_classes"] < stats["connected"]
    rc, out, _ = _run(capsys, ["space", "stats", "nb201"])
    assert rc == 0 and "15,625" in out and "341" in out


# --------------------------------------------------------------------------
# space export

@pytest.fixture(scope="module")
def nb101_hashes_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "hashes.txt"
    assert cli.main(["space", "export", "nb101", "--format", "hashes", "-o", str(path)]) == 0
    return path


def test_export_nb101_hashes(nb101_hashes_file):
    lines = nb101_hashes_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == NB101_UNIQUE
    assert all(HEX32.match(h) for h in lines)
    assert lines == sorted(lines)
    assert len(set(lines)) == len(lines)
    # every valid official vector is one of the unique cells
    present = set(lines)
    valid = [r for r in _vectors() if r["valid"]]
    assert valid
    missing = [r["hash"] for r in valid if r["hash"] not in present]
    assert not missing, missing[:5]


def test_export_to_stdout_and_unwritable_file(capsys, tmp_path):
    rc, out, _ = _run(capsys, ["space", "export", "nb201", "--format", "arch-strings", "-o", "-"])
    assert rc == 0 and len(out.splitlines()) == NB201_CELLS
    rc, _, err = _run(capsys, ["space", "export", "nb201", "--format", "arch-strings",
                               "-o", str(tmp_path / "no" / "such" / "dir" / "x.txt")])
    assert rc == 2 and "cannot write" in err
    _no_traceback(err)


@pytest.mark.slow
def test_export_nb101_jsonl(tmp_path, nb101_hashes_file):
    path = tmp_path / "cells.jsonl"
    assert cli.main(["space", "export", "nb101", "--format", "jsonl", "-o", str(path)]) == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == NB101_UNIQUE
    # same order as --format hashes (a regex: json.loads on 423,624 lines is slow)
    hashes = [m.group(1) if m else None
              for m in map(re.compile(r'^\{"hash": "([0-9a-f]{32})", ').match, lines)]
    assert hashes == nb101_hashes_file.read_text().split()
    rng = random.Random(3)
    for line in rng.sample(lines, 300) + [lines[0], lines[-1]]:
        c = json.loads(line)
        assert set(c) == {"hash", "matrix", "ops"}
        m, ops = c["matrix"], c["ops"]
        n = len(ops)
        assert 2 <= n <= 7 and len(m) == n
        assert ops[0] == "input" and ops[-1] == "output"
        assert sum(map(sum, m)) <= 9
        assert not _dangling(m), "exported cells are pruned"
        assert ref_hash(m, ops) == c["hash"]


def _official_arch_strings():
    edges = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    lex = list(itertools.product(NB201_OPS, repeat=6))
    random.Random(88).shuffle(lex)  # official: random.seed(88); random.shuffle

    def arch(ops):
        return "|" + "|+|".join("|".join(f"{ops[k]}~{i}" for k, (i, j) in enumerate(edges) if j == node)
                                for node in (1, 2, 3)) + "|"
    return [arch(ops) for ops in lex]


def test_export_nb201_arch_strings(capsys, tmp_path):
    path = tmp_path / "archs.txt"
    rc, _, err = _run(capsys, ["space", "export", "nb201", "--format", "arch-strings", "-o", str(path)])
    assert rc == 0, err
    assert path.read_text(encoding="utf-8").splitlines() == _official_arch_strings()


def test_export_nb201_classes(capsys, tmp_path):
    path = tmp_path / "classes.csv"
    rc, _, err = _run(capsys, ["space", "export", "nb201", "--format", "classes", "-o", str(path)])
    assert rc == 0, err
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "index,arch_string,class"
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == NB201_CELLS
    assert [int(r[0]) for r in rows] == list(range(NB201_CELLS))
    assert [r[1] for r in rows] == _official_arch_strings()
    cls = [int(r[2]) for r in rows]
    assert cls.count(-1) == NB201_DISCONNECTED
    seen = sorted(set(cls) - {-1})
    assert seen == list(range(len(seen)))


# --------------------------------------------------------------------------
# the installed console script

def _entry_point():
    beside = Path(sys.executable).parent / "nasbench-suite"
    if beside.is_file():
        return str(beside)
    found = shutil.which("nasbench-suite")
    if not found:
        pytest.skip("the nasbench-suite console script is not installed (pip install -e .)")
    return found


def test_console_script_hash(tmp_path):
    rows = _vectors()
    data = "".join(_input_line(r) + "\n" for r in rows) + "not json\n"
    proc = subprocess.run([_entry_point(), "hash", "--space", "nb101", "-"], input=data.encode(),
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    records = _records(proc.stdout.decode())
    assert len(records) == len(rows) + 1
    for record, row in zip(records, rows):
        _assert_matches_vector(record, row)
    assert set(records[-1]) == {"error"}

    proc = subprocess.run([_entry_point(), "hash", "--space", "nb101", str(tmp_path / "missing.jsonl")],
                          capture_output=True, timeout=120)
    assert proc.returncode == 2
    assert b"missing.jsonl" in proc.stderr and b"Traceback" not in proc.stderr
