"""The worker's sidecar heartbeat file: re-read whenever it changes, never trusted.

The worker owns the file, so it may be anything: huge, a FIFO, a symlink to elsewhere,
half written. Each is skipped (with one log line), and a half-written file is retried.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

from gui_fastpath.lifecycle.protocol import WorkerMessage, parse_sidecar

__all__ = ["HEARTBEAT_NAME", "MAX_SIDECAR_BYTES", "SidecarHeartbeat"]

_log = logging.getLogger(__name__)

HEARTBEAT_NAME = "heartbeat.json"
"""The sidecar file, relative to the run directory, unless the worker's layout names another."""
MAX_SIDECAR_BYTES = 1 << 20
"""A larger sidecar file is not read (the limit of a lifecycle line on stdout)."""


class SidecarHeartbeat:
    """One run's sidecar heartbeat file; :meth:`poll` returns its message when it changed."""

    def __init__(self, run_dir: Path, relative: str = HEARTBEAT_NAME) -> None:
        self.run_dir = run_dir
        self.path = run_dir / relative
        self._seen: tuple[int, int, int] | None = None
        self._refused: tuple[int, int, int] | None = None

    def follow(self, relative: str) -> None:
        """Read ``relative`` (to the run directory) from now on, e.g. once a hint names it."""
        path = self.run_dir / relative
        if path != self.path:
            self.path, self._seen = path, None

    def poll(self) -> WorkerMessage | None:
        """The file's message if it changed since the last poll, else ``None``."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        key = (info.st_ino, info.st_size, info.st_mtime_ns)
        if key in (self._seen, self._refused):
            return None
        problem = self._problem(info)
        if problem is not None:
            self._refused = key
            _log.warning("%s: %s; ignored", self.path, problem)
            return None
        try:
            data = json.loads(_read_regular(self.path))
        except (OSError, ValueError, RecursionError) as exc:
            _log.debug("%s: not readable yet (%s); retrying", self.path, exc)
            return None
        self._seen = key
        message = parse_sidecar(data)
        if message is None:
            _log.warning("%s: expected a JSON object with progress fields; ignored", self.path)
        return message

    def _problem(self, info: os.stat_result) -> str | None:
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > MAX_SIDECAR_BYTES:
            return f"{info.st_size:,} bytes, more than the {MAX_SIDECAR_BYTES:,}-byte limit"
        run_real = os.path.realpath(self.run_dir)
        real = os.path.realpath(self.path)
        if not real.startswith(run_real.rstrip(os.sep) + os.sep):
            return "resolves outside the run directory"
        return None


def _read_regular(path: Path) -> bytes:
    """At most :data:`MAX_SIDECAR_BYTES` of a regular file; never blocks on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SIDECAR_BYTES:
            raise ValueError("replaced by something that is not a small regular file")
        chunks, left = [], MAX_SIDECAR_BYTES + 1
        while left > 0 and (chunk := os.read(fd, left)):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
