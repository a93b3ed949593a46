"""Follow the end of a log file without ever reading the whole of it.

The first read takes at most ``initial_bytes`` from the end; later reads take only what
was appended since. A truncated or replaced file (log rotation) starts over from its end.
A ``.gz`` file (a finished run's compressed log) is read once: its last ``initial_bytes``.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from gui_fastpath.logs.compressed import CompressedLogError, GzipTail

__all__ = ["FileTail", "TailChunk"]


@attrs.frozen
class TailChunk:
    """Complete lines appended since the last read."""

    lines: tuple[str, ...]
    reset: bool = False
    """True when the file was new, truncated or replaced: drop what was shown before."""


@attrs.define
class FileTail:
    """Incremental reader of one log file's complete lines (a partial last line waits)."""

    path: Path
    initial_bytes: int = 64 * 1024
    """How much of an existing file's end the first read shows."""
    max_read: int = 4 * 1024 * 1024
    """Upper bound per read, so a burst of output never stalls the caller."""
    _offset: int = attrs.field(default=-1, init=False)
    _inode: int | None = attrs.field(default=None, init=False)
    _partial: bytes = attrs.field(default=b"", init=False)
    _gzip: GzipTail | None = attrs.field(default=None, init=False)
    _gzip_id: tuple[int, int, int] | None = attrs.field(default=None, init=False)

    @property
    def compressed(self) -> bool:
        """True for a gzip-compressed log (``*.gz``), which is shown but not followed."""
        return self.path.suffix == ".gz"

    def read(self) -> TailChunk:
        """New complete lines; an empty chunk when nothing changed or the file is absent."""
        if self.compressed:
            return self._read_compressed()
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return TailChunk(())
        try:
            st = os.fstat(fd)
            reset = self._offset < 0 or st.st_ino != self._inode or st.st_size < self._offset
            if reset:
                self._inode, self._partial = st.st_ino, b""
                self._offset = max(0, st.st_size - self.initial_bytes)
            if st.st_size == self._offset:
                return TailChunk((), reset=reset)
            start = max(self._offset, st.st_size - self.max_read)
            dropped = start > self._offset
            os.lseek(fd, start, os.SEEK_SET)
            data = os.read(fd, st.st_size - start)
        finally:
            os.close(fd)
        self._offset = start + len(data)
        if (reset and start > 0) or dropped:
            # We began mid-file: the first line is a fragment, not a line.
            _, _, data = data.partition(b"\n")
            self._partial = b""
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        lines = tuple(line.decode("utf-8", "replace").rstrip("\r") for line in complete)
        return TailChunk(lines, reset=reset or dropped)

    def _read_compressed(self) -> TailChunk:
        """The end of a gzip log, once (``max_read`` compressed bytes of work per call)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return TailChunk(())
        identity = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._gzip is None or identity != self._gzip_id:
            self._gzip = GzipTail(self.path, self.initial_bytes, self.max_read)
            self._gzip_id = identity
        if self._gzip.done:
            return TailChunk(())
        try:
            data = self._gzip.step()
        except CompressedLogError as exc:
            self._gzip.done = True
            return TailChunk((f"log compressed: {self.path.name} cannot be read: {exc}",), True)
        if data is None:
            return TailChunk(())
        lines = data.decode("utf-8", "replace").split("\n")
        if lines[-1] == "":
            lines.pop()
        return TailChunk(tuple(line.rstrip("\r") for line in lines), reset=True)
