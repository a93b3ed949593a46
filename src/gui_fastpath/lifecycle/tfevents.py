"""The latest training step in TensorBoard event files, read incrementally.

Progress is inferred from TensorBoard where a worker sends no heartbeat. Only the record
framing (TFRecord) and the ``step`` field of each ``Event`` are decoded; tensorboard
itself is not imported. A record still being written is left for the next read.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import google_crc32c

__all__ = ["EventFileSteps"]

_HEADER = struct.Struct("<QI")
_MASK_DELTA = 0xA282EAD8
_STEP_TAG = 0x10  # field 2 (step), wire type 0 (varint)
_MAX_READ = 16 << 20


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


class EventFileSteps:
    """Follows one event file; :meth:`poll` returns the highest step seen so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.max_step: int | None = None
        self.corrupt = False
        """True once a record failed its checksum; the file is not read further."""

    def poll(self) -> int | None:
        if self.corrupt:
            return self.max_step
        try:
            with self.path.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self._offset:  # replaced or truncated: start over
                    self._offset, self.max_step = 0, None
                fh.seek(self._offset)
                data = fh.read(min(size - self._offset, _MAX_READ))
        except OSError:
            return self.max_step
        pos = 0
        while pos + _HEADER.size <= len(data):
            length, length_crc = _HEADER.unpack_from(data, pos)
            if _masked_crc(data[pos : pos + 8]) != length_crc:
                self.corrupt = True
                break
            end = pos + _HEADER.size + length + 4
            if end > len(data):
                break
            step = _event_step(data[pos + _HEADER.size : end - 4])
            if step is not None and (self.max_step is None or step > self.max_step):
                self.max_step = step
            pos = end
        self._offset += pos
        return self.max_step


def _event_step(record: bytes) -> int | None:
    """The ``step`` of a serialized ``Event`` (top-level fields only)."""
    pos, size = 0, len(record)
    try:
        while pos < size:
            key, pos = _varint(record, pos)
            wire = key & 7
            if key == _STEP_TAG:
                value, _ = _varint(record, pos)
                return value - (1 << 64) if value >= 1 << 63 else value
            if wire == 0:
                _, pos = _varint(record, pos)
            elif wire == 1:
                pos += 8
            elif wire == 2:
                length, pos = _varint(record, pos)
                pos += length
            elif wire == 5:
                pos += 4
            else:
                return None
    except IndexError:
        return None
    return None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
