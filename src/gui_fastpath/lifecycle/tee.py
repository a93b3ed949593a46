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


class StreamTee:
    """Tees one pipe (``fd``, owned and closed by the tee) into ``log_path`` (appended)."""

    def __init__(
        self,
        fd: int,
        log_path: Path,
        *,
        on_messages: Callable[[list[WorkerMessage]], None] | None = None,
        tail_bytes: int = 64 * 1024,
    ) -> None:
        self.log_path = log_path
        self._fd = fd
        self._on_messages = on_messages
        self._tail_bytes = tail_bytes
        self._tail = b""
        self._partial = b""
        self._stop = threading.Event()
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

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the copy to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

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
        try:
            while True:
                try:
                    chunk = os.read(self._fd, _READ_SIZE)
                except BlockingIOError:
                    if self._stop.is_set():
                        break
                    poller.poll(_POLL_MS)
                    continue
                if not chunk:
                    break
                self.last_activity = time.monotonic()
                self._write(chunk)
                self._tail = (self._tail + chunk[-self._tail_bytes :])[-self._tail_bytes :]
                if self._on_messages is not None:
                    self._scan(chunk)
            if self._on_messages is not None and self._partial:
                self._scan(b"\n")  # the partial last line is a line too
        except Exception:  # a bug here must not leave the worker blocked on a full pipe
            _log.exception("%s: tee thread failed", self.log_path)
        finally:
            os.close(self._fd)
            os.close(self._log_fd)

    def _write(self, chunk: bytes) -> None:
        self.bytes_copied += len(chunk)
        if self.write_error is not None:
            return
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._log_fd, view) :]
        except OSError as exc:
            self.write_error = exc
            _log.error(
                "%s: cannot write the log (%s); the worker's output is dropped from here on. "
                "Free disk space or fix the permissions of %s",
                self.log_path,
                exc.strerror or exc,
                self.log_path.parent,
            )

    def _scan(self, chunk: bytes) -> None:
        data = self._partial + chunk if self._partial else chunk
        end = data.rfind(b"\n") + 1
        self._partial = data[end:]
        if len(self._partial) > (1 << 20):
            self._partial = b""  # an endless line is a log line, not a message
        found = []
        start = data.find(_MARKER, 0, end)
        while start >= 0:
            line_start = data.rfind(b"\n", 0, start) + 1
            line_end = data.find(b"\n", start, end)
            message = parse_protocol_line(data[line_start:line_end])
            if message is not None:
                found.append(message)
            start = data.find(_MARKER, line_end, end)
        if found and self._on_messages is not None:
            self._on_messages(found)
