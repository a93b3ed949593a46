"""Copy a worker's output pipe to its log file, byte for byte, in a thread of its own.

The thread never waits on the event loop, so a busy GUI loop cannot make the worker block
on a full pipe; lifecycle messages found on the way are handed over in batches. Bytes are
written as they arrive (a line still being written shows up in the log at once, and a
partial last line is kept), and the pipe is read until EOF, so nothing is lost when the
worker writes fast or dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gui_fastpath.lifecycle.protocol import WorkerMessage, parse_protocol_line

__all__ = ["StreamTee"]

_log = logging.getLogger(__name__)

_READ_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031
_MARKER = b'"event"'
_POLL_MS = 100
_MAX_LINE = 1 << 20


class StreamTee:
    """Tees one pipe (``fd``, owned and closed by the tee) into ``log_path`` (appended)."""

    def __init__(
        self,
        fd: int,
        log_path: Path,
        *,
        on_messages: Callable[[list[WorkerMessage]], None] | None = None,
        on_eof: Callable[[], None] | None = None,
        tail_bytes: int = 64 * 1024,
    ) -> None:
        self.log_path = log_path
        self._fd = fd
        self._on_messages = on_messages
        self._on_eof = on_eof
        self._tail_bytes = tail_bytes
        self._tail = b""
        self._partial = b""
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._run, name=f"tee:{log_path.name}", daemon=True)
        self.bytes_copied = 0
        self.last_activity = time.monotonic()
        """``time.monotonic()`` of the last bytes read."""
        self.write_error: OSError | None = None
        """Why writing the log failed (the pipe is still drained), if it did."""

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_fd = os.open(
            self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644
        )
        with contextlib.suppress(OSError):  # a smaller pipe only costs more wake-ups
            fcntl.fcntl(self._fd, _F_SETPIPE_SZ, _READ_SIZE)
        os.set_blocking(self._fd, False)
        self._thread.start()

    def stop(self) -> None:
        """Stop at the next idle moment even without EOF (a stray process holds the pipe)."""
        self._stop.set()

    @property
    def done(self) -> bool:
        """True once the copy has ended and both files are closed."""
        return self._finished

    def tail_lines(self, count: int) -> tuple[str, ...]:
        """The last ``count`` lines seen (a trailing partial line counts as one)."""
        tail = self._tail
        if len(tail) >= self._tail_bytes:
            _, _, tail = tail.partition(b"\n")  # the first line was cut: not a line
        lines = tail.decode("utf-8", "replace").splitlines()
        return tuple(line.rstrip("\r") for line in lines[-count:]) if count > 0 else ()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        buffer = bytearray(_READ_SIZE)  # reused: no fresh megabyte (and page faults) per read
        view = memoryview(buffer)
        try:
            while True:
                try:
                    size = os.readv(self._fd, [buffer])
                except BlockingIOError:
                    if self._stop.is_set():
                        break
                    poller.poll(_POLL_MS)
                    continue
                if not size:
                    break
                self.last_activity = time.monotonic()
                self._write(view[:size])
                if self._tail_bytes:
                    tail = view[max(0, size - self._tail_bytes) : size]
                    self._tail = (self._tail + tail)[-self._tail_bytes :]
                if self._on_messages is not None:
                    self._scan(buffer, size)
            if self._on_messages is not None and self._partial:
                self._scan(bytearray(b"\n"), 1)  # the partial last line is a line too
        except Exception:  # a bug here must not leave the worker blocked on a full pipe
            _log.exception("%s: tee thread failed", self.log_path)
        finally:
            os.close(self._fd)
            os.close(self._log_fd)
            self._finished = True
            if self._on_eof is not None:
                self._on_eof()

    def _write(self, chunk: memoryview) -> None:
        self.bytes_copied += len(chunk)
        if self.write_error is not None:
            return
        try:
            while chunk:
                chunk = chunk[os.write(self._log_fd, chunk) :]
        except OSError as exc:
            self.write_error = exc
            _log.error(
                "%s: cannot write the log (%s); the worker's output is dropped from here on. "
                "Free disk space or fix the permissions of %s",
                self.log_path,
                exc.strerror or exc,
                self.log_path.parent,
            )

    def _scan(self, data: bytearray, size: int) -> None:
        """Find protocol lines (a JSON object starting the line) in ``data[:size]``.

        Only ``{`` is searched for (memchr speed); a line is parsed when its first
        non-blank byte is that ``{`` and it mentions ``"event"``. The line cut at the end
        of the previous chunk is completed first.
        """
        first_end = data.find(b"\n", 0, size)
        if first_end < 0:
            self._partial = _bounded(self._partial + data[:size])
            return
        lines: list[bytes | bytearray] = []
        scan_from = 0
        if self._partial:
            line = self._partial + data[:first_end]
            if line.lstrip().startswith(b"{") and _MARKER in line:
                lines.append(line)
            scan_from = first_end + 1
        end = data.rfind(b"\n", 0, size) + 1
        self._partial = _bounded(bytes(data[end:size]))
        brace = data.find(b"{", scan_from, end)
        while brace >= 0:
            line_start = data.rfind(b"\n", scan_from, brace) + 1 or scan_from
            line_end = data.find(b"\n", brace, end)
            if not data[line_start:brace].strip() and data.find(_MARKER, brace, line_end) >= 0:
                lines.append(data[line_start:line_end])
            brace = data.find(b"{", line_end, end)
        if lines and self._on_messages is not None:
            found = _messages(lines)
            if found:
                self._on_messages(found)


def _bounded(partial: bytes) -> bytes:
    """An endless line is a log line, not a message: stop buffering it."""
    return partial if len(partial) <= _MAX_LINE else b""


def _messages(lines: list[bytes | bytearray]) -> list[WorkerMessage]:
    parsed = (parse_protocol_line(bytes(line)) for line in lines)
    return [message for message in parsed if message is not None]
