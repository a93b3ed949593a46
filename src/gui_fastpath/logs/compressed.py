"""Compressed logs: gzip files whose end is read without decompressing the whole file.

:func:`write_log_gzip` writes an ordinary gzip file (``zcat``, ``gzip -t`` and
:mod:`gzip` read it as usual) made of two members: the log up to a line boundary, then
its last :data:`TAIL_MEMBER_BYTES` at most. :class:`GzipTail` finds that last member near
the end of the file and decompresses only it. Any other gzip file is stream-decompressed
instead, a budget of compressed bytes per :meth:`GzipTail.step`, keeping only the end.
"""

from __future__ import annotations

import gzip
import os
import zlib
from typing import BinaryIO

__all__ = ["TAIL_MEMBER_BYTES", "CompressedLogError", "GzipTail", "write_log_gzip"]

TAIL_MEMBER_BYTES = 256 * 1024
"""The last member of a log written by :func:`write_log_gzip` holds at most this much."""
_MAGIC = b"\x1f\x8b\x08"
_SLACK = 4096
"""Room for gzip headers and stored-block overhead around the tail member."""
_COPY_CHUNK = 1024 * 1024
_OUTPUT_PER_INPUT = 16
"""A step decompresses at most this many output bytes per input byte of its budget."""


class CompressedLogError(Exception):
    """The gzip file cannot be decompressed; the message says why."""


def write_log_gzip(
    source: BinaryIO, size: int, dest: BinaryIO, *, name: str, mtime: float, level: int = 6
) -> None:
    """Compress the first ``size`` bytes of ``source`` into ``dest`` as two gzip members.

    ``name`` (stored in the gzip header, as ``gzip`` does) is the original file's name.
    """
    split = _tail_start(source, size)
    for start, end in ((0, split), (split, size)):
        if end == start and start > 0:
            continue
        with gzip.GzipFile(
            filename=f"{name}.gz", mode="wb", compresslevel=level, fileobj=dest, mtime=int(mtime)
        ) as member:
            source.seek(start)
            left = end - start
            while left:
                chunk = source.read(min(left, _COPY_CHUNK))
                if not chunk:
                    raise CompressedLogError(f"{name} shrank while it was being compressed")
                member.write(chunk)
                left -= len(chunk)


def _tail_start(source: BinaryIO, size: int) -> int:
    """Where the tail member begins: a line start within the last :data:`TAIL_MEMBER_BYTES`."""
    if size <= TAIL_MEMBER_BYTES:
        return 0
    start = size - TAIL_MEMBER_BYTES
    source.seek(start)
    window = source.read(TAIL_MEMBER_BYTES)
    newline = window.find(b"\n")
    if 0 <= newline < len(window) - 1:
        return start + newline + 1
    return start


class GzipTail:
    """The last ``keep_bytes`` of a gzip file's content, read once (for a finished log).

    :meth:`step` returns None while it is still decompressing (each call reads at most
    ``budget`` compressed bytes, so a GUI timer never stalls), then the tail, which starts
    at a line start unless the whole content was shorter than ``keep_bytes``.
    """

    def __init__(self, path: str | os.PathLike[str], keep_bytes: int, budget: int) -> None:
        self.path = os.fspath(path)
        self.keep_bytes = max(1, keep_bytes)
        self.budget = max(_SLACK, budget)
        self.done = False
        self._offset = 0
        self._size = -1
        self._decompressor: zlib._Decompress | None = None
        self._pending = b""
        self._tail = bytearray()
        self._cut = False

    def step(self) -> bytes | None:
        """Work for one budget; the tail once finished (then ``done`` is True)."""
        if self.done:
            return b""
        try:
            with open(self.path, "rb") as fh:
                if self._size < 0:
                    self._size = os.fstat(fh.fileno()).st_size
                    found = _last_member(fh, self._size, self.keep_bytes)
                    if found is not None:
                        return self._finish(*found)
                    self._decompressor = zlib.decompressobj(31)
                return self._stream(fh)
        except OSError as exc:
            raise CompressedLogError(exc.strerror or str(exc)) from None

    def _stream(self, fh: BinaryIO) -> bytes | None:
        fh.seek(self._offset)
        data = self._pending + fh.read(self.budget)
        self._offset += len(data) - len(self._pending)
        out_budget = self.budget * _OUTPUT_PER_INPUT
        while data and out_budget > 0:
            assert self._decompressor is not None
            try:
                out = self._decompressor.decompress(data, out_budget)
            except zlib.error as exc:
                raise CompressedLogError(f"not a valid gzip file ({exc})") from None
            out_budget -= len(out)
            self._keep(out)
            data = self._decompressor.unconsumed_tail
            if self._decompressor.eof:
                rest = self._decompressor.unused_data
                if not rest.startswith(_MAGIC[:2]):
                    return self._finish(bytes(self._tail), self._cut)  # trailing garbage: ignored
                self._decompressor = zlib.decompressobj(31)
                data = rest + data
        self._pending = data
        if self._offset >= self._size and not self._pending:
            assert self._decompressor is not None
            if not self._decompressor.eof:
                raise CompressedLogError("ends in the middle of its gzip stream (truncated)")
            return self._finish(bytes(self._tail), self._cut)
        return None

    def _keep(self, out: bytes) -> None:
        self._tail += out
        excess = len(self._tail) - self.keep_bytes
        if excess > 0:
            del self._tail[:excess]
            self._cut = True

    def _finish(self, data: bytes, cut: bool) -> bytes:
        self.done = True
        self._tail = bytearray()
        if cut:
            newline = data.find(b"\n")
            data = data[newline + 1 :] if newline >= 0 else b""
        return data


def _last_member(fh: BinaryIO, size: int, keep: int) -> tuple[bytes, bool] | None:
    """The last ``keep`` bytes of content, from a gzip member ending at the end of the file.

    Candidates are tried from the end backwards; a false one (the magic bytes inside
    compressed data) fails to inflate, or fails zlib's CRC-32 and length check. None when
    there is no such member, or when it is shorter than ``keep`` and not the whole file
    (the content before it is needed too: the caller streams the file instead).
    """
    window = min(size, TAIL_MEMBER_BYTES + _SLACK)
    fh.seek(size - window)
    data = fh.read(window)
    pos = len(data)
    while (pos := data.rfind(_MAGIC, 0, pos)) >= 0:
        member = _whole_member(data[pos:])
        if member is None:
            continue
        if len(member) > keep:
            return member[-keep:], True
        if len(member) == keep or size - window + pos == 0:
            return member, False
        return None
    return None


def _whole_member(data: bytes) -> bytes | None:
    decompressor = zlib.decompressobj(31)
    try:
        out = decompressor.decompress(data, 4 * TAIL_MEMBER_BYTES)
    except zlib.error:
        return None
    if decompressor.eof and not decompressor.unused_data and not decompressor.unconsumed_tail:
        return out
    return None
