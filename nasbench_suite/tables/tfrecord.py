"""TFRecord files without TensorFlow.

A TFRecord file is records back to back, each framed as
(tensorflow/core/lib/io/record_writer.cc)::

    uint64 length               little-endian
    uint32 masked CRC-32C of the 8 length bytes
    byte   data[length]
    uint32 masked CRC-32C of data

with ``masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2**32). The
reader checks both CRCs, so a corrupt or cut-short download is reported at
the record where it goes wrong instead of turning into wrong numbers.
"""
from __future__ import annotations

import os
import struct
from typing import Iterable, Iterator, Tuple

from .. import _core
from .errors import TableFormatError

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
HEADER_BYTES = _HEADER.size  # 12
FOOTER_BYTES = _FOOTER.size  # 4
_READ_BUFFER = 1 << 20


class TFRecordError(TableFormatError):
    """A TFRecord file that is missing, truncated or fails a CRC check."""


def _fix(path: str) -> str:
    return f"the file {os.path.basename(path)!r} is damaged or incomplete: download it again"


def iter_records(path, *, check_crc: bool = True) -> Iterator[Tuple[int, bytes]]:
    """Yields ``(offset, data)`` for each record of a TFRecord file, where
    ``offset`` is the byte at which the record's header starts.

    Raises :class:`TFRecordError` naming the file and the byte offset when a
    CRC does not match or the file ends inside a record.
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb", buffering=_READ_BUFFER)
    except FileNotFoundError:
        raise TFRecordError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise TFRecordError(f"{path}: is a directory, not a TFRecord file") from None
    except OSError as exc:
        raise TFRecordError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while True:
            header = f.read(HEADER_BYTES)
            if not header:
                return
            if len(header) < HEADER_BYTES:
                raise TFRecordError(
                    f"{path}: truncated at byte {offset + len(header)}: the file ends inside the "
                    f"header of the record at byte offset {offset}; {_fix(path)}"
                )
            length, length_crc = _HEADER.unpack(header)
            if check_crc and _core.tfrecord_masked_crc(header[:8]) != length_crc:
                raise TFRecordError(
                    f"{path}: CRC mismatch in the length header of the record at byte offset "
                    f"{offset} (not a TFRecord file, or corrupt); {_fix(path)}"
                )
            end = offset + HEADER_BYTES + length + FOOTER_BYTES
            if end > size:
                raise TFRecordError(
                    f"{path}: truncated: the record at byte offset {offset} needs {length} data "
                    f"bytes and ends at byte {end}, but the file has {size} bytes; {_fix(path)}"
                )
            data = f.read(length)
            footer = f.read(FOOTER_BYTES)
            if len(data) < length or len(footer) < FOOTER_BYTES:  # the file shrank under us
                raise TFRecordError(
                    f"{path}: truncated inside the record at byte offset {offset}; {_fix(path)}"
                )
            if check_crc and _core.tfrecord_masked_crc(data) != _FOOTER.unpack(footer)[0]:
                raise TFRecordError(
                    f"{path}: CRC mismatch in the data of the record at byte offset {offset} "
                    f"({length} bytes from byte {offset + HEADER_BYTES}); {_fix(path)}"
                )
            yield offset, data
            offset = end


def frame(data: bytes) -> bytes:
    """One record framed for a TFRecord file."""
    data = bytes(data)
    length = struct.pack("<Q", len(data))
    return (length + _FOOTER.pack(_core.tfrecord_masked_crc(length)) + data
            + _FOOTER.pack(_core.tfrecord_masked_crc(data)))


class TFRecordWriter:
    """Writes records to a TFRecord file (what ``tf.io.TFRecordWriter`` writes,
    uncompressed)::

        with TFRecordWriter("x.tfrecord") as w:
            w.write(b"...")
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._f = open(self.path, "wb")

    def write(self, data: bytes) -> None:
        self._f.write(frame(data))

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> "TFRecordWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_records(path, records: Iterable[bytes]) -> int:
    """Writes ``records`` to a new TFRecord file; returns how many."""
    n = 0
    with TFRecordWriter(path) as w:
        for data in records:
            w.write(data)
            n += 1
    return n
