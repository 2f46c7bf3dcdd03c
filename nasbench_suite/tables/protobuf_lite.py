"""Just enough of the protobuf wire format to read and write NAS-Bench-101's
``ModelMetrics`` messages without the ``protobuf`` package.

The schema (google-research/nasbench, nasbench/lib/model_metrics.proto,
proto2)::

    message ModelMetrics {
      repeated EvaluationData evaluation_data = 1;
      optional int32 trainable_parameters = 2;
      optional double total_time = 3;
    }
    message EvaluationData {
      optional double current_epoch = 1;
      optional double training_time = 2;        // seconds, training only
      optional double train_accuracy = 3;       // fractions in [0, 1]
      optional double validation_accuracy = 4;
      optional double test_accuracy = 5;
      optional string checkpoint_path = 6;
    }

Wire format (protobuf encoding guide): a message is a sequence of fields,
each a varint key ``field_number << 3 | wire_type`` followed by the value:
wire type 0 a varint, 1 eight little-endian bytes, 2 a varint length and
that many bytes, 5 four little-endian bytes. Fields may come in any order;
for an optional scalar seen twice the last one wins; unknown field numbers
are skipped. A field absent from the bytes is ``None`` here (proto2's "not
set"), so a converter can tell "missing" from 0.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5

_DOUBLE = struct.Struct("<d")
_MAX_VARINT_BYTES = 10  # a 64-bit value needs at most 10 groups of 7 bits


class ProtobufDecodeError(ValueError):
    """Bytes that are not a well-formed message of the expected type."""


# ------------------------------------------------------------------ decoding
def decode_varint(buf: bytes, pos: int) -> Tuple[int, int]:
    """(value, position after it) of the unsigned varint at ``buf[pos]``."""
    result = 0
    shift = 0
    end = len(buf)
    for _ in range(_MAX_VARINT_BYTES):
        if pos >= end:
            raise ProtobufDecodeError(f"truncated varint at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise ProtobufDecodeError(f"varint longer than {_MAX_VARINT_BYTES} bytes ending at byte {pos}")


def _next_field(buf: bytes, pos: int, end: int) -> Tuple[int, int, object, int]:
    """(field number, wire type, value, position after it) of the field at ``pos``."""
    b = buf[pos]
    if b < 0x80:  # one-byte key: every field of the NB101 messages
        key = b
        pos += 1
    else:
        key, pos = decode_varint(buf, pos)
    number, wire = key >> 3, key & 7
    if number == 0:
        raise ProtobufDecodeError(f"field number 0 at byte {pos - 1}")
    if wire == VARINT:
        if pos < end and buf[pos] < 0x80:
            return number, wire, buf[pos], pos + 1
        value, pos = decode_varint(buf, pos)
    elif wire == I64:
        if pos + 8 > end:
            raise ProtobufDecodeError(f"truncated 64-bit field {number} at byte {pos}")
        value = buf[pos:pos + 8]
        pos += 8
    elif wire == LEN:
        if pos < end and buf[pos] < 0x80:  # a length under 128, the common case
            size = buf[pos]
            pos += 1
        else:
            size, pos = decode_varint(buf, pos)
        if pos + size > end:
            raise ProtobufDecodeError(
                f"field {number} says {size} bytes at byte {pos}, only {end - pos} remain"
            )
        value = buf[pos:pos + size]
        pos += size
    elif wire == I32:
        if pos + 4 > end:
            raise ProtobufDecodeError(f"truncated 32-bit field {number} at byte {pos}")
        value = buf[pos:pos + 4]
        pos += 4
    else:
        raise ProtobufDecodeError(f"unsupported wire type {wire} (field {number}) at byte {pos}")
    return number, wire, value, pos


def iter_fields(buf: bytes) -> Iterator[Tuple[int, int, object]]:
    """Yields ``(field_number, wire_type, value)`` for each field of a message:
    an int for varints, raw ``bytes`` for fixed-width and length-delimited
    values. Groups (wire types 3 and 4, deprecated) are refused."""
    pos, end = 0, len(buf)
    while pos < end:
        number, wire, value, pos = _next_field(buf, pos, end)
        yield number, wire, value


def _int32(v: int) -> int:
    """An int32 field's varint (negative values are sign-extended to 64 bits
    on the wire; protobuf keeps the low 32 bits)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _expect(number: int, wire: int, want: int, message: str) -> None:
    if wire != want:
        raise ProtobufDecodeError(
            f"{message} field {number} has wire type {wire}, the schema says {want}"
        )


@dataclass
class EvaluationData:
    """One checkpoint of a training run (index 0 start, 1 halfway, 2 end)."""

    current_epoch: Optional[float] = None
    training_time: Optional[float] = None
    train_accuracy: Optional[float] = None
    validation_accuracy: Optional[float] = None
    test_accuracy: Optional[float] = None
    checkpoint_path: Optional[str] = None


# field number -> attribute, for the five doubles of EvaluationData
_EVAL_DOUBLES = {1: "current_epoch", 2: "training_time", 3: "train_accuracy",
                 4: "validation_accuracy", 5: "test_accuracy"}


@dataclass
class ModelMetrics:
    """One training run of one cell at one epoch budget."""

    evaluation_data: List[EvaluationData] = field(default_factory=list)
    trainable_parameters: Optional[int] = None
    total_time: Optional[float] = None


# The five doubles of EvaluationData in field order, keys 0x09 0x11 0x19 0x21
# 0x29: how protobuf serializes a message with all of them set (it writes
# fields in number order), so one unpack reads them; anything else takes the
# general loop.
_FIVE_DOUBLES = struct.Struct("<xdxdxdxdxd")


def decode_evaluation_data(buf: bytes) -> EvaluationData:
    out = EvaluationData()
    pos, end = 0, len(buf)
    if (end >= 45 and buf[0] == 0x09 and buf[9] == 0x11 and buf[18] == 0x19
            and buf[27] == 0x21 and buf[36] == 0x29):
        (out.current_epoch, out.training_time, out.train_accuracy, out.validation_accuracy,
         out.test_accuracy) = _FIVE_DOUBLES.unpack_from(buf, 0)
        pos = 45
    while pos < end:
        number, wire, value, pos = _next_field(buf, pos, end)
        name = _EVAL_DOUBLES.get(number)
        if name is not None:
            _expect(number, wire, I64, "EvaluationData")
            setattr(out, name, _DOUBLE.unpack(value)[0])
        elif number == 6:
            _expect(number, wire, LEN, "EvaluationData")
            try:
                out.checkpoint_path = bytes(value).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ProtobufDecodeError(f"EvaluationData.checkpoint_path is not UTF-8 ({exc})") from None
    return out


def decode_model_metrics(buf: bytes) -> ModelMetrics:
    """Parses a serialized ``nasbench.ModelMetrics``; raises
    :class:`ProtobufDecodeError` on malformed bytes."""
    out = ModelMetrics()
    pos, end = 0, len(buf)
    while pos < end:
        number, wire, value, pos = _next_field(buf, pos, end)
        if number == 1:
            _expect(number, wire, LEN, "ModelMetrics")
            out.evaluation_data.append(decode_evaluation_data(value))
        elif number == 2:
            _expect(number, wire, VARINT, "ModelMetrics")
            out.trainable_parameters = _int32(value)
        elif number == 3:
            _expect(number, wire, I64, "ModelMetrics")
            out.total_time = _DOUBLE.unpack(value)[0]
    return out


# ------------------------------------------------------------------ encoding
def encode_varint(value: int) -> bytes:
    """Unsigned varint of ``value`` (negative ints as 64-bit two's complement)."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return encode_varint(number << 3 | wire)


def _double(number: int, value: Optional[float]) -> bytes:
    return b"" if value is None else _key(number, I64) + _DOUBLE.pack(float(value))


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _key(number, LEN) + encode_varint(len(payload)) + payload


def encode_evaluation_data(e: EvaluationData) -> bytes:
    parts = [_double(n, getattr(e, name)) for n, name in _EVAL_DOUBLES.items()]
    if e.checkpoint_path is not None:
        parts.append(_length_delimited(6, e.checkpoint_path.encode("utf-8")))
    return b"".join(parts)


def encode_model_metrics(m: ModelMetrics) -> bytes:
    """Serializes a :class:`ModelMetrics` in field-number order, as protobuf does."""
    parts = [_length_delimited(1, encode_evaluation_data(e)) for e in m.evaluation_data]
    if m.trainable_parameters is not None:
        v = int(m.trainable_parameters)
        if not -(1 << 31) <= v < 1 << 31:
            raise ValueError(f"trainable_parameters {v} does not fit an int32")
        parts.append(_key(2, VARINT) + encode_varint(v))
    parts.append(_double(3, m.total_time))
    return b"".join(parts)
