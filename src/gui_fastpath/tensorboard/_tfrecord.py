"""TFRecord framing: split a buffer into records, checking both CRC32C checksums.

A record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32
masked_crc32c(data)``, little-endian. The per-record loop does only what cannot be
vectorised (follow the lengths, checksum each record natively with ``google-crc32c``); the
comparisons with the stored checksums then run over all records at once with numpy.
"""

from __future__ import annotations

import struct
from itertools import pairwise

import attrs
import google_crc32c
import numpy as np
import numpy.typing as npt

__all__ = ["HEADER_SIZE", "MAX_RECORD_SIZE", "Frames", "frame_records", "masked_crc32c"]

HEADER_SIZE = 12
_FOOTER_SIZE = 4
_OVERHEAD = HEADER_SIZE + _FOOTER_SIZE
MAX_RECORD_SIZE = 1 << 31
"""Protobuf messages cannot be larger; a longer length field means a corrupt file."""
_MASK_DELTA = 0xA282EAD8

_u64 = struct.Struct("<Q")
_crc = google_crc32c.value


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC32C of ``data``."""
    c = _crc(data)
    return (((c >> 15) | (c << 17)) + _MASK_DELTA) & 0xFFFFFFFF


@attrs.frozen(eq=False)
class Frames:
    """The complete, checked records at the start of a buffer."""

    starts: npt.NDArray[np.int64]
    """Offset in the buffer of each record's data."""
    lengths: npt.NDArray[np.int64]
    """Length of each record's data."""
    consumed: int
    """Bytes up to the end of the last good record: where reading resumes."""
    problem: tuple[int, str, str] | None = None
    """(offset in the buffer, field, what is wrong) when a record is corrupt: reading must
    stop there. None when the buffer ends with good records or a not-yet-complete one."""


def frame_records(buf: bytes) -> Frames:
    """Find the records in ``buf``; a torn record at the end is left for later, not an error."""
    size = len(buf)
    unpack_length = _u64.unpack_from
    positions: list[int] = []
    add = positions.append
    pos = 0
    while pos + HEADER_SIZE <= size:
        end = pos + HEADER_SIZE + unpack_length(buf, pos)[0]
        if end + _FOOTER_SIZE > size:
            break
        add(pos)
        pos = end + _FOOTER_SIZE
    crc = _crc
    crcs = [crc(buf[a + HEADER_SIZE : b - _FOOTER_SIZE]) for a, b in pairwise([*positions, pos])]
    tail_problem = _check_pending_header(buf, pos) if pos + HEADER_SIZE <= size else None
    starts = np.array(positions, dtype=np.int64)
    lengths = np.diff(starts, append=np.int64(pos)) - _OVERHEAD
    bad = _bad_records(buf, starts, lengths, np.array(crcs, dtype=np.uint64))
    if bad is not None:
        index, field, problem = bad
        offset = int(starts[index])
        return Frames(
            starts[:index] + HEADER_SIZE, lengths[:index], offset, (offset, field, problem)
        )
    return Frames(starts + HEADER_SIZE, lengths, pos, tail_problem)


def _check_pending_header(buf: bytes, pos: int) -> tuple[int, str, str] | None:
    """An incomplete last record is fine if its header is sound: the writer is not done."""
    length = _u64.unpack_from(buf, pos)[0]
    stored = int.from_bytes(buf[pos + 8 : pos + HEADER_SIZE], "little")
    if masked_crc32c(buf[pos : pos + 8]) != stored:
        return pos, "length checksum", "the record header does not match its checksum"
    if length > MAX_RECORD_SIZE:
        return pos, "length", f"record length {length} exceeds the 2 GiB protobuf limit"
    return None


def _gather_u32(buf: bytes, at: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Little-endian uint32s at any byte offsets (a stride-1 view, unaligned reads)."""
    view = np.ndarray((len(buf) - 3,), dtype="<u4", buffer=buf, strides=(1,))
    return view[at].astype(np.uint64)


def _masked(crcs: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    return (((crcs >> np.uint64(15)) | (crcs << np.uint64(17))) + np.uint64(_MASK_DELTA)) & (
        np.uint64(0xFFFFFFFF)
    )


def _bad_records(
    buf: bytes,
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    crcs: npt.NDArray[np.uint64],
) -> tuple[int, str, str] | None:
    """The first record whose header or data checksum is wrong, as (index, field, problem)."""
    if not len(starts):
        return None
    unique, inverse = np.unique(lengths, return_inverse=True)
    expected = np.array([masked_crc32c(_u64.pack(int(n))) for n in unique], dtype=np.uint64)
    bad_header = expected[inverse] != _gather_u32(buf, starts + 8)
    bad_data = _masked(crcs) != _gather_u32(buf, starts + HEADER_SIZE + lengths)
    bad = np.flatnonzero(bad_header | bad_data)
    if not len(bad):
        return None
    index = int(bad[0])
    if bad_header[index]:
        return index, "length checksum", "the record header does not match its checksum"
    return index, "data checksum", f"the {int(lengths[index])}-byte record fails its CRC32C check"
