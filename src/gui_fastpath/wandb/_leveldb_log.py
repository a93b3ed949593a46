"""Framing of a ``run-<id>.wandb`` file: a W&B header, then LevelDB-log records.

The file starts with a 7-byte header (``:W&B``, the magic ``0xBEE1`` little-endian, version
0) and is cut into 32 KiB blocks counted from the start of the file, header included. Each
block holds chunks: a 7-byte chunk header (CRC-32 of the type byte and payload, the plain
IEEE polynomial as ``zlib.crc32`` computes it and unmasked, unlike LevelDB's CRC-32C; a
little-endian 2-byte length; a type FULL=1, FIRST=2, MIDDLE=3 or LAST=4) and its payload.
Chunks never cross a block; fewer than 7 bytes left at the end of a block are zero padding.
A record is one FULL chunk or FIRST, MIDDLE…, LAST.

:class:`LogReader` reads only the bytes appended since its last call: an incomplete chunk
at the end is kept in memory, not read again. An incomplete tail (the writer is mid-record,
or died mid-write) is waited for; a complete chunk that fails its
checks is reported with its offset and reading resumes at the next block, as wandb's own
reader does.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import attrs

__all__ = [
    "BLOCK_SIZE",
    "CHUNK_HEADER_SIZE",
    "WANDB_HEADER",
    "LogBatch",
    "LogProblem",
    "LogReader",
]

BLOCK_SIZE = 32 * 1024
CHUNK_HEADER_SIZE = 7
WANDB_HEADER = b":W&B" + (0xBEE1).to_bytes(2, "little") + bytes([0])

_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_WINDOW = 512 * BLOCK_SIZE  # bytes read per system call: 16 MiB
_chunk_header = struct.Struct("<IHB").unpack_from
_FULL_CRC_SEED = zlib.crc32(bytes([_FULL]))
"""CRC-32 of the type byte of a FULL chunk: its payload's CRC continues from it."""


@attrs.frozen
class LogProblem:
    """Bytes of the file that could not be read as records."""

    offset: int
    """File offset where the bad data starts."""
    problem: str
    """What is wrong there, and how much was skipped."""
    fatal: bool = False
    """True when nothing more can be read from this file (bad header)."""


@attrs.frozen
class LogBatch:
    """What one :meth:`LogReader.read_new` call found."""

    payloads: list[bytes]
    """Complete record payloads, in file order."""
    offsets: list[int]
    """File offset of each payload's first chunk."""
    problems: tuple[LogProblem, ...] = ()
    reset: bool = False
    """The file shrank or was replaced: earlier records no longer describe it."""


class LogReader:
    """Reads the records of one ``.wandb`` file incrementally, new bytes only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._identity: tuple[int, int] | None = None
        self._restart()

    def _restart(self) -> None:
        self.bytes_read = 0
        """Bytes read from the file so far (the cost of following it)."""
        self._pos = 0  # next byte to parse (a chunk header, or the file header at 0)
        self._tail = b""  # bytes read from _pos on that do not make a whole chunk yet
        self._record_start = 0  # offset of the first chunk of the record being assembled
        self._pending: list[bytes] = []
        self._recovering = False
        self._dead = False
        self.size = 0

    @property
    def complete_offset(self) -> int:
        """Offset just past the last complete record: where reading resumes."""
        return self._record_start if self._pending else self._pos

    @property
    def header_ok(self) -> bool:
        return self._pos >= CHUNK_HEADER_SIZE and not self._dead

    def read_new(self) -> LogBatch:
        """Read the bytes written since the last call and return the records they complete."""
        payloads: list[bytes] = []
        offsets: list[int] = []
        problems: list[LogProblem] = []
        reset = False
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return LogBatch(payloads, offsets)
        try:
            st = os.fstat(fd)
            identity = (st.st_dev, st.st_ino)
            if self._identity is not None and (
                identity != self._identity or st.st_size < self.size
            ):
                reset = True
                self._restart()
            self._identity = identity
            self.size = st.st_size
            if self._dead:
                return LogBatch(payloads, offsets, reset=reset)
            if self._pos == 0 and not self._read_header(fd, problems):
                return LogBatch(payloads, offsets, tuple(problems), reset)
            while self._pos + len(self._tail) < self.size:
                offset = self._pos + len(self._tail)
                new = os.pread(fd, _WINDOW - offset % BLOCK_SIZE, offset)
                if not new:
                    break
                self.bytes_read += len(new)
                data = self._tail + new if self._tail else new
                consumed = self._parse(data, self._pos, payloads, offsets, problems)
                self._tail = data[consumed - self._pos :]
                self._pos = consumed
        finally:
            os.close(fd)
        return LogBatch(payloads, offsets, tuple(problems), reset)

    def _read_header(self, fd: int, problems: list[LogProblem]) -> bool:
        new = os.pread(fd, CHUNK_HEADER_SIZE - len(self._tail), len(self._tail))
        self.bytes_read += len(new)
        head = self._tail = self._tail + new
        if len(head) < CHUNK_HEADER_SIZE:
            if head and not WANDB_HEADER.startswith(head):
                self._fail(problems, f"starts with {head!r}, not the W&B header {WANDB_HEADER!r}")
            return False
        self._tail = b""
        if head[:4] != WANDB_HEADER[:4]:
            self._fail(problems, f"starts with {head[:4]!r}, not {WANDB_HEADER[:4]!r}")
            return False
        if head != WANDB_HEADER:
            self._fail(
                problems,
                f"has header {head!r}; this reader knows version 0 ({WANDB_HEADER!r})",
            )
            return False
        self._pos = CHUNK_HEADER_SIZE
        return True

    def _fail(self, problems: list[LogProblem], problem: str) -> None:
        self._dead = True
        problems.append(LogProblem(0, f"not a W&B transaction log: it {problem}", fatal=True))

    def _parse(
        self,
        data: bytes,
        base: int,
        payloads: list[bytes],
        offsets: list[int],
        problems: list[LogProblem],
    ) -> int:
        """Parse chunks in ``data`` (file bytes from ``base``); return the offset reached.

        Whole FULL chunks with a good checksum, the bulk of a file, are taken by a tight
        inner loop; anything else (the end of a block or of ``data``, a multi-chunk record,
        a bad chunk) by the general step below it, one chunk at a time.
        """
        view = memoryview(data)
        n = len(data)
        crc32 = zlib.crc32
        unpack = _chunk_header
        append = payloads.append
        at = offsets.append
        header, full = CHUNK_HEADER_SIZE, _FULL  # locals: the inner loop runs per record
        pos = 0
        block_end = BLOCK_SIZE - base % BLOCK_SIZE
        while True:
            if not self._pending:
                stop = block_end if block_end < n else n
                limit = stop - header
                found = len(payloads)
                while pos <= limit:
                    checksum, length, kind = unpack(data, pos)
                    end = pos + header + length
                    if kind != full or end > stop:
                        break
                    payload = data[pos + header : end]
                    if crc32(payload, _FULL_CRC_SEED) != checksum:
                        break
                    append(payload)
                    at(base + pos)
                    pos = end
                if len(payloads) != found:
                    self._recovering = False
            if pos + CHUNK_HEADER_SIZE > block_end:  # block trailer: zero padding
                if block_end > n:
                    break
                pos = block_end
                block_end += BLOCK_SIZE
                continue
            if pos + CHUNK_HEADER_SIZE > n:
                break
            checksum, length, kind = unpack(data, pos)
            start = pos + CHUNK_HEADER_SIZE
            end = start + length
            if end > block_end or (checksum == 0 and length == 0 and kind == 0):
                if block_end > n:  # the block is still being written: wait
                    break
                what = "zero-filled block" if length == 0 else "chunk longer than its block"
                self._corrupt(base + pos, base + block_end, what, problems)
                pos = block_end
                block_end += BLOCK_SIZE
                continue
            if end > n:
                break
            if crc32(view[pos + 6 : end]) != checksum or not _FULL <= kind <= _LAST:
                what = "checksum mismatch" if _FULL <= kind <= _LAST else f"chunk type {kind}"
                self._corrupt(base + pos, base + block_end, what, problems)
                pos = block_end
                block_end += BLOCK_SIZE
                continue
            pending = self._pending
            if kind == _FULL:
                if pending:
                    self._drop_pending(base + pos, problems)
                append(data[start:end])
                at(base + pos)
                self._recovering = False
            elif kind == _FIRST:
                if pending:
                    self._drop_pending(base + pos, problems)
                self._pending = [data[start:end]]
                self._record_start = base + pos
                self._recovering = False
            elif pending:
                pending.append(data[start:end])
                if kind == _LAST:
                    append(b"".join(pending))
                    at(self._record_start)
                    self._pending = []
            elif not self._recovering:
                problems.append(
                    LogProblem(base + pos, "a record continues here whose start was never seen")
                )
            pos = end
        return base + pos

    def _corrupt(self, offset: int, block_end: int, what: str, problems: list[LogProblem]) -> None:
        start = self._record_start if self._pending else offset
        problems.append(
            LogProblem(
                start,
                f"corrupt data ({what} at byte {offset}); skipped bytes {start}-{block_end - 1}",
            )
        )
        self._pending = []
        self._recovering = True

    def _drop_pending(self, offset: int, problems: list[LogProblem]) -> None:
        problems.append(
            LogProblem(
                self._record_start,
                f"a record that starts here is cut off by a new record at byte {offset}; "
                "it was skipped",
            )
        )
        self._pending = []
