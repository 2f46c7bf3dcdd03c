"""The NAS-Bench-101 TFRecord converter, on fixtures written here in exactly
the official format: TFRecord framing (length, masked CRC-32C of the length,
data, masked CRC-32C of the data), each record the JSON list
``[module_hash, epochs, adjacency, ops, base64 ModelMetrics]``."""
from __future__ import annotations

import argparse
import base64
import json
import math
import os
import struct

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_suite.tables import Benchmark, TableFormatError
from nasbench_suite.tables import convert_nb101 as conv
from nasbench_suite.cli.tables import add_convert_nb101_parser
from nasbench_suite.tables.convert_nb101 import RecordError, convert_nb101
from nasbench_suite.tables.protobuf_lite import (
    EvaluationData, ModelMetrics, ProtobufDecodeError, decode_model_metrics, encode_model_metrics,
    encode_varint,
)
from nasbench_suite.tables.tfrecord import TFRecordError, TFRecordWriter, frame, iter_records, write_records

# Cells with hashes computed by the official code (shared vectors file,
# nb101_hash_sample.jsonl), so the table keys are checked against the
# official hash, not against our own.
CELLS = [
    ([[0, 1, 1, 0, 0, 0, 1], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
     ["input", "maxpool3x3", "conv1x1-bn-relu", "conv1x1-bn-relu", "conv1x1-bn-relu",
      "conv1x1-bn-relu", "output"], "da9e46251fd05fc310398947b56436ad"),
    ([[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
     ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"],
     "6047adcded92b5d8126a9cc34054624b"),
    ([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
     ["input", "maxpool3x3", "maxpool3x3", "output"], "85718dce1eb4b3faf5afb197457e35ee"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"],
     "53cee42601ad14d661bb6878031d6acb"),
]
FULL = (4, 12, 36, 108)
REPEATS = 3


# --------------------------------------------------------------- fixture writer
def _adjacency(matrix) -> str:
    return "".join(str(int(v)) for row in matrix for v in row)  # row by row, as api.py reads it


def _run(cell: int, epochs: int, repeat: int) -> dict:
    """Distinct made-up fractions and seconds for one training run."""
    base = 0.5 + 0.1 * cell + 0.001 * epochs + 0.0001 * repeat
    return {
        "halfway": (0.25 * epochs * (cell + 1) + repeat, base - 0.2, base - 0.21, base - 0.22),
        "final": (0.5 * epochs * (cell + 1) + repeat, base, base - 0.01, base - 0.02),
        "params": 1000 * (cell + 1) + 7,
    }


def _metrics(run: dict, epochs: int) -> ModelMetrics:
    def ev(epoch, t, tr, va, te):
        return EvaluationData(current_epoch=epoch, training_time=t, train_accuracy=tr,
                              validation_accuracy=va, test_accuracy=te,
                              checkpoint_path=f"/ckpt/model.ckpt-{int(epoch * 195)}")

    return ModelMetrics(
        evaluation_data=[ev(0.0, 0.0, 0.1, 0.1, 0.1), ev(epochs / 2, *run["halfway"]),
                         ev(float(epochs), *run["final"])],
        trainable_parameters=run["params"], total_time=run["final"][0] + 60.0,
    )


def _record(module_hash, epochs, matrix, ops, metrics: ModelMetrics) -> bytes:
    raw = base64.b64encode(encode_model_metrics(metrics)).decode("ascii")
    return json.dumps([module_hash, epochs, _adjacency(matrix), ",".join(ops), raw]).encode("utf-8")


def make_records(budgets=FULL, cells=CELLS, seed=0):
    """Records in a shuffled order, and the expected table: expected[(hash,
    epochs)] = list of runs in the order the file lists them (= seed axis)."""
    items = [(i, e, r) for i in range(len(cells)) for e in budgets for r in range(REPEATS)]
    order = np.random.default_rng(seed).permutation(len(items))
    records, expected = [], {}
    for k in order:
        i, e, r = items[k]
        matrix, ops, h = cells[i]
        run = _run(i, e, r)
        records.append(_record(h, e, matrix, ops, _metrics(run, e)))
        expected.setdefault((h, e), []).append(run)
    return records, expected


@pytest.fixture
def full(tmp_path):
    records, expected = make_records()
    path = tmp_path / "nasbench_full.tfrecord"
    write_records(path, records)
    return path, records, expected


# --------------------------------------------------------------- TFRecord framing
def _crc32c_reference(data: bytes) -> int:
    """Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked_reference(data: bytes) -> int:
    crc = _crc32c_reference(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_frame_layout_matches_the_tfrecord_spec():
    assert _crc32c_reference(b"123456789") == 0xE3069283  # the CRC-32C check value
    data = b'["x", 4]'
    framed = frame(data)
    length = struct.pack("<Q", len(data))
    assert framed == (length + struct.pack("<I", _masked_reference(length)) + data
                      + struct.pack("<I", _masked_reference(data)))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_tfrecord_round_trip(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("rt") / "x.tfrecord"
    assert write_records(path, records) == len(records)
    got = list(iter_records(path))
    assert [d for _, d in got] == records
    offsets = np.cumsum([0] + [16 + len(r) for r in records])[:-1]
    assert [o for o, _ in got] == list(offsets)


def test_tfrecord_writer_context(tmp_path):
    with TFRecordWriter(tmp_path / "a.tfrecord") as w:
        w.write(b"one")
        w.write(b"")
    assert [d for _, d in iter_records(tmp_path / "a.tfrecord")] == [b"one", b""]


def test_tfrecord_missing_file(tmp_path):
    with pytest.raises(TFRecordError, match="no such file"):
        list(iter_records(tmp_path / "nope.tfrecord"))


# --------------------------------------------------------------- protobuf
def test_protobuf_golden_bytes():
    # Hand-assembled from the wire format: field 1 (LEN) holding field 2
    # (I64) = 1.5; field 2 (VARINT) = 300; field 3 (I64) = 2.0.
    inner = b"\x11" + struct.pack("<d", 1.5)
    buf = b"\x0a" + bytes([len(inner)]) + inner + b"\x10\xac\x02" + b"\x19" + struct.pack("<d", 2.0)
    m = decode_model_metrics(buf)
    assert m == ModelMetrics([EvaluationData(training_time=1.5)], 300, 2.0)
    assert encode_model_metrics(m) == buf


def test_protobuf_negative_int32_and_last_value_wins():
    buf = b"\x10" + encode_varint(-5) + b"\x10\x07"
    assert len(encode_varint(-5)) == 10  # int32 negatives are sign-extended to 64 bits
    assert decode_model_metrics(buf).trainable_parameters == 7
    assert decode_model_metrics(b"\x10" + encode_varint(-5)).trainable_parameters == -5


def test_protobuf_refuses_malformed():
    with pytest.raises(ProtobufDecodeError, match="wire type"):
        decode_model_metrics(b"\x11" + bytes(8))  # trainable_parameters as a double
    with pytest.raises(ProtobufDecodeError, match="truncated"):
        decode_model_metrics(b"\x19\x00\x00")
    with pytest.raises(ProtobufDecodeError, match="only"):
        decode_model_metrics(b"\x0a\x05\x11")
    with pytest.raises(ProtobufDecodeError):
        decode_model_metrics(b"\x10" + b"\xff" * 11)
    with pytest.raises(ProtobufDecodeError, match="wire type 3"):
        decode_model_metrics(b"\x5b")  # a group
    with pytest.raises(ValueError, match="int32"):
        encode_model_metrics(ModelMetrics(trainable_parameters=1 << 31))


finite = st.floats(allow_nan=False)
maybe = lambda s: st.none() | s  # noqa: E731
evaluations = st.builds(
    EvaluationData, current_epoch=maybe(finite), training_time=maybe(finite),
    train_accuracy=maybe(finite), validation_accuracy=maybe(finite),
    test_accuracy=maybe(finite), checkpoint_path=maybe(st.text(max_size=200)),
)
metrics_messages = st.builds(
    ModelMetrics, evaluation_data=st.lists(evaluations, max_size=4),
    trainable_parameters=maybe(st.integers(-(1 << 31), (1 << 31) - 1)), total_time=maybe(finite),
)
# Unknown fields a newer writer might add: (number, wire type, payload).
unknown_fields = st.lists(st.one_of(
    st.tuples(st.integers(7, 2000), st.just(0), st.integers(0, (1 << 64) - 1)),
    st.tuples(st.integers(7, 2000), st.just(1), st.binary(min_size=8, max_size=8)),
    st.tuples(st.integers(7, 2000), st.just(2), st.binary(max_size=20)),
    st.tuples(st.integers(7, 2000), st.just(5), st.binary(min_size=4, max_size=4)),
), max_size=4)


def _unknown(fields) -> bytes:
    out = b""
    for number, wire, payload in fields:
        out += encode_varint(number << 3 | wire)
        if wire == 0:
            out += encode_varint(payload)
        elif wire == 2:
            out += encode_varint(len(payload)) + payload
        else:
            out += payload
    return out


@settings(max_examples=200, deadline=None)
@given(metrics_messages, unknown_fields)
def test_protobuf_round_trip_skipping_unknown_fields(m, extra):
    buf = encode_model_metrics(m)
    assert decode_model_metrics(buf) == m
    assert decode_model_metrics(_unknown(extra) + buf + _unknown(extra)) == m


@settings(max_examples=200, deadline=None)
@given(metrics_messages, st.data())
def test_protobuf_cut_message_decodes_or_raises_cleanly(m, data):
    buf = encode_model_metrics(m)
    cut = data.draw(st.integers(0, len(buf)))
    try:
        decode_model_metrics(buf[:cut])
    except ProtobufDecodeError:
        pass


# --------------------------------------------------------------- conversion
def _check_table(out, expected, budgets):
    hashes = [h for _, _, h in CELLS]
    with Benchmark.open(out) as bench:
        assert bench.space == "nb101"
        assert bench.datasets == ("cifar10",)
        assert len(bench) == len(CELLS)
        assert list(bench.fidelities()) == list(budgets)
        assert list(bench.seeds()) == [0, 1, 2]
        assert set(bench.metrics()) == {
            "train_acc", "valid_acc", "test_acc", "train_time", "halfway_train_acc",
            "halfway_valid_acc", "halfway_test_acc", "halfway_train_time", "params"}
        for i, (matrix, ops, h) in enumerate(CELLS):
            assert bench.query(h, "params") == 1000 * (i + 1) + 7
            row = int(bench.rows([h])[0])
            assert bench.cell(row).hash() == h
            for e in budgets:
                runs = expected[(h, e)]
                assert len(runs) == REPEATS
                for seed, run in enumerate(runs):
                    got = {m: bench.query(h, m, fidelity=e, seed=seed) for m in bench.metrics()[:-1]}
                    for prefix, key in (("", "final"), ("halfway_", "halfway")):
                        t, tr, va, te = run[key]
                        assert got[prefix + "train_time"] == np.float32(t)
                        assert got[prefix + "train_acc"] == np.float32(tr * 100)
                        assert got[prefix + "valid_acc"] == np.float32(va * 100)
                        assert got[prefix + "test_acc"] == np.float32(te * 100)
        assert 50 < bench.query(hashes[0], "test_acc", fidelity=108) < 100  # percent, not fractions
        return bench.provenance


def test_convert_full(full, tmp_path):
    src, _, expected = full
    out = tmp_path / "nb101.h5"
    assert convert_nb101(src, out, progress=False) == os.fspath(out)
    prov = _check_table(out, expected, FULL)
    assert prov["converter"] == conv.CONVERTER and prov["converter_version"] == conv.CONVERTER_VERSION
    (source,) = prov["sources"]
    assert source["file"] == "nasbench_full.tfrecord"
    import hashlib
    assert source["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert prov["records"] == len(CELLS) * len(FULL) * REPEATS
    with h5py.File(out, "r") as h5:  # the raw layout of docs/FORMAT.md
        assert sorted(h5["cells"]["hash"][()].astype(str)) == sorted(h for _, _, h in CELLS)
        assert h5["datasets/cifar10/metrics/test_acc"].shape == (len(CELLS), 3, 4)
        assert h5["datasets/cifar10/metrics/test_acc"].attrs["units"] == "percent"
        assert h5["datasets/cifar10/metrics/halfway_train_time"].attrs["units"] == "seconds"
        assert h5["datasets/cifar10/static/params"].attrs["units"] == "count"
        nv = dict(zip(h5["cells"]["hash"][()].astype(str), h5["cells"]["num_vertices"][()]))
        assert nv["6047adcded92b5d8126a9cc34054624b"] == 5


def test_convert_only108(tmp_path):
    records, expected = make_records(budgets=(108,), seed=1)
    src = tmp_path / "nasbench_only108.tfrecord"
    write_records(src, records)
    out = convert_nb101(src, tmp_path / "nb101_108.h5", progress=False)
    _check_table(out, expected, (108,))
    with Benchmark.open(out) as bench:
        with pytest.raises(KeyError, match="fidelity"):
            bench.query(CELLS[0][2], "test_acc", fidelity=36)


def test_unpruned_adjacency_and_other_dataset_name(tmp_path):
    # A dangling vertex (2, on no input-output path) is pruned; the
    # record's hash is that of the pruned cell, as in the official code.
    matrix = [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    ops = ["input", "maxpool3x3", "conv3x3-bn-relu", "output"]
    run = _run(0, 108, 0)
    src = tmp_path / "x.tfrecord"
    write_records(src, [_record("53cee42601ad14d661bb6878031d6acb", 108, matrix, ops, _metrics(run, 108))])
    out = convert_nb101(src, tmp_path / "x.h5", dataset="cifar10-nb101", progress=False)
    with Benchmark.open(out) as bench:
        assert bench.datasets == ("cifar10-nb101",)
        assert list(bench.seeds()) == [0]
        cell = bench.cell(0)
        assert cell.num_vertices == 3 and cell.hash() == "53cee42601ad14d661bb6878031d6acb"


def test_existing_output_needs_overwrite(full, tmp_path):
    src, _, expected = full
    out = tmp_path / "t.h5"
    out.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite"):
        convert_nb101(src, out, progress=False)
    assert out.read_bytes() == b"old"
    convert_nb101(src, out, progress=False, overwrite=True)
    _check_table(out, expected, FULL)


def _no_output(tmp_path):
    return not any(p.suffix == ".h5" for p in tmp_path.iterdir())


def test_crc_mismatch_in_data(full, tmp_path):
    src, records, _ = full
    raw = bytearray(src.read_bytes())
    second = 16 + len(records[0])
    raw[second + 12 + 20] ^= 0x01  # a byte inside the second record's data
    src.write_bytes(bytes(raw))
    with pytest.raises(TFRecordError) as info:
        convert_nb101(src, tmp_path / "out.h5", progress=False)
    msg = str(info.value)
    assert "nasbench_full.tfrecord" in msg and f"byte offset {second}" in msg
    assert "CRC mismatch" in msg and "download it again" in msg
    assert isinstance(info.value, TableFormatError)
    assert _no_output(tmp_path)


def test_crc_mismatch_in_length(full, tmp_path):
    src, _, _ = full
    raw = bytearray(src.read_bytes())
    raw[0] ^= 0x40
    src.write_bytes(bytes(raw))
    with pytest.raises(TFRecordError, match=r"length header of the record at byte offset 0 .*download"):
        convert_nb101(src, tmp_path / "out.h5", progress=False)
    assert _no_output(tmp_path)


@pytest.mark.parametrize("keep", [-1, -9, 5])  # inside the footer, inside the data, inside a header
def test_truncated_file(full, tmp_path, keep):
    src, records, _ = full
    raw = src.read_bytes()
    last = len(raw) - 16 - len(records[-1])
    src.write_bytes(raw[:keep] if keep > 0 else raw[:len(raw) + keep])
    with pytest.raises(TFRecordError) as info:
        convert_nb101(src, tmp_path / "out.h5", progress=False)
    msg = str(info.value)
    assert "truncated" in msg and "download it again" in msg and "nasbench_full.tfrecord" in msg
    assert f"byte offset {0 if keep > 0 else last}" in msg
    assert _no_output(tmp_path)


def test_hash_mismatch_is_reported(tmp_path):
    records, _ = make_records(budgets=(108,))
    matrix, ops, _ = CELLS[1]
    records.insert(2, _record(CELLS[0][2], 108, matrix, ops, _metrics(_run(1, 108, 0), 108)))
    src = tmp_path / "bad.tfrecord"
    write_records(src, records)
    with pytest.raises(RecordError) as info:
        convert_nb101(src, tmp_path / "out.h5", progress=False)
    msg = str(info.value)
    assert "bad.tfrecord: record 2 (byte offset" in msg
    assert CELLS[0][2] in msg and "6047adcded92b5d8126a9cc34054624b" in msg
    assert _no_output(tmp_path)


def test_hash_mismatch_for_a_new_cell(tmp_path):
    matrix, ops, _ = CELLS[3]
    src = tmp_path / "bad.tfrecord"
    write_records(src, [_record("0" * 32, 108, matrix, ops, _metrics(_run(3, 108, 0), 108))])
    with pytest.raises(RecordError, match="record 0 .*not the hash of the cell"):
        convert_nb101(src, tmp_path / "out.h5", progress=False)
    assert _no_output(tmp_path)


@pytest.mark.parametrize("data, match", [
    (b"not json", "not UTF-8 JSON"),
    (b'{"a": 1}', "expected the JSON list"),
    (json.dumps(["53cee42601ad14d661bb6878031d6acb", "108", "010001000", "input,maxpool3x3,output",
                 ""]).encode(), "epochs"),
    (json.dumps(["53cee42601ad14d661bb6878031d6acb", 108, "010001000", "input,maxpool3x3,output",
                 "!!!"]).encode(), "base64"),
    (json.dumps(["53cee42601ad14d661bb6878031d6acb", 108, "010001000", "input,maxpool3x3,output",
                 base64.b64encode(b"\x0a\x00").decode()]).encode(), "1 checkpoints"),
    (_record("53cee42601ad14d661bb6878031d6acb", 108, [[0, 1], [0, 0], [0, 0]], ["input", "output"],
             _metrics(_run(0, 108, 0), 108)), "square"),
    (_record("53cee42601ad14d661bb6878031d6acb", 108, [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
             ["input", "maxpool3x3", "output"], _metrics(_run(0, 108, 0), 108)), "not a valid"),
])
def test_malformed_records(tmp_path, data, match):
    src = tmp_path / "bad.tfrecord"
    write_records(src, [data])
    with pytest.raises(RecordError, match=match) as info:
        convert_nb101(src, tmp_path / "out.h5", progress=False)
    assert "record 0 (byte offset 0)" in str(info.value)
    assert _no_output(tmp_path)


def test_empty_file(tmp_path):
    src = tmp_path / "empty.tfrecord"
    src.write_bytes(b"")
    with pytest.raises(RecordError, match="no records"):
        convert_nb101(src, tmp_path / "out.h5", progress=False)
    assert _no_output(tmp_path)


def test_missing_metric_fields_are_nan(tmp_path):
    matrix, ops, h = CELLS[3]
    m = _metrics(_run(3, 108, 0), 108)
    m.evaluation_data[2].test_accuracy = None
    m.trainable_parameters = None
    src = tmp_path / "x.tfrecord"
    write_records(src, [_record(h, 108, matrix, ops, m)])
    out = convert_nb101(src, tmp_path / "x.h5", progress=False)
    with Benchmark.open(out) as bench:
        assert math.isnan(bench.query(h, "test_acc", seed=0))
        assert math.isnan(bench.query(h, "params"))
        assert bench.query(h, "valid_acc", seed=0) == np.float32(m.evaluation_data[2].validation_accuracy * 100)


def test_progress_bar(full, tmp_path, monkeypatch, capsys):
    src, _, _ = full
    monkeypatch.setattr(conv, "PROGRESS_MIN_BYTES", 0)
    convert_nb101(src, tmp_path / "p.h5")
    err = capsys.readouterr().err
    assert "converting nasbench_full.tfrecord" in err and "100.0%" in err
    convert_nb101(src, tmp_path / "q.h5", progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------- command line
def _parser():
    parser = argparse.ArgumentParser(prog="nasbench-suite")
    commands = parser.add_subparsers(dest="command")
    convert = commands.add_parser("convert").add_subparsers(dest="source_kind")
    add_convert_nb101_parser(convert)
    return parser


def test_cli_entry(full, tmp_path, capsys):
    src, _, expected = full
    out = tmp_path / "cli.h5"
    args = _parser().parse_args(["convert", "nb101", str(src), "-o", str(out), "-q"])
    assert args.run(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    _check_table(out, expected, FULL)

    from nasbench_suite.cli import UsageError
    args = _parser().parse_args(["convert", "nb101", str(src), "-o", str(out)])
    with pytest.raises(UsageError, match="already exists"):
        args.run(args)
    args = _parser().parse_args(["convert", "nb101", str(tmp_path / "missing.tfrecord"), "-o",
                                 str(tmp_path / "m.h5")])
    with pytest.raises(UsageError, match="no such file"):
        args.run(args)
