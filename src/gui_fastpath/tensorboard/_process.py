"""Child processes that cannot outlive us.

Each child leads a process group of its own, so one signal reaches everything it spawned.
Its stdin is a pipe only we hold: when our process ends, however it ends, the kernel
closes the pipe and the child (which watches for end of file) takes its group down.
Stopping is SIGTERM to the group, a grace period, then SIGKILL, each step logged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import psutil

from gui_fastpath.spawn import child_options, run_below_us

__all__ = ["ChildProcess"]

log = logging.getLogger(__name__)

_TAIL_LINES = 200
_REDACTED = "<secret>"


class ChildProcess:
    """A child process in its own process group, its stdin our lifeline, its stderr kept.

    ``on_line`` sees every stderr line (from a reader thread); ``keep_line`` decides which
    lines stay in the tail shown to users. ``on_exit`` runs once, with the exit code, when
    the process ends by itself or is stopped.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        keep_line: Callable[[str], bool] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self._on_line = on_line
        self._keep_line = keep_line
        self._on_exit = on_exit
        self._tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._secrets: list[str] = []
        self._lock = threading.Lock()
        self._exited = threading.Event()
        self.stopping = False
        """True once :meth:`stop` was called: an exit after that was asked for."""
        self._popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            **child_options(),  # stdin is its lifeline: it stops its own group when we go
        )
        self.pid = self._popen.pid
        run_below_us(self.pid)
        threading.Thread(target=self._read_stderr, name=f"{name}-stderr", daemon=True).start()

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    @property
    def alive(self) -> bool:
        return not self._exited.is_set() and self._popen.poll() is None

    def redact(self, secret: str) -> None:
        """Never show ``secret`` in :meth:`stderr_text` (nor in anything logged from it)."""
        with self._lock:
            self._secrets.append(secret)

    def send(self, data: bytes) -> None:
        """Write to the child's stdin (the lifeline stays open)."""
        assert self._popen.stdin is not None
        self._popen.stdin.write(data)
        self._popen.stdin.flush()

    def stderr_text(self) -> str:
        """The last lines the child wrote to stderr, secrets redacted."""
        with self._lock:
            return self._scrub("".join(self._tail))

    def wait_exited(self, timeout: float) -> bool:
        """Wait until the process has exited and its stderr is fully read."""
        return self._exited.wait(timeout)

    def stop(self, grace: float) -> int | None:
        """SIGTERM to the group, up to ``grace`` seconds, then SIGKILL; returns the exit code."""
        self.stopping = True
        members = self._members()
        if self._popen.poll() is None or members:
            log.info("stopping %s (pid %d): SIGTERM to its process group", self.name, self.pid)
            self._signal_group(signal.SIGTERM, members)
            if not self._wait_gone(members, grace):
                log.warning(
                    "%s (pid %d) still running %.1f s after SIGTERM: SIGKILL to its process group",
                    self.name,
                    self.pid,
                    grace,
                )
                self._signal_group(signal.SIGKILL, members)
                self._wait_gone(members, grace)
        code = self._popen.wait()
        if self._popen.stdin is not None:
            with contextlib.suppress(OSError):
                self._popen.stdin.close()
        self._exited.wait(grace)
        log.info("%s (pid %d) stopped (exit code %s)", self.name, self.pid, code)
        return code

    def _members(self) -> list[psutil.Process]:
        """The leader and every descendant still alive (found before any signal is sent)."""
        try:
            leader = psutil.Process(self.pid)
            procs = [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        return [p for p in procs if _is_live(p)]

    def _signal_group(self, sig: signal.Signals, members: list[psutil.Process]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        for proc in members:  # a descendant that left the group still gets the signal
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)

    def _wait_gone(self, members: list[psutil.Process], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        while any(_is_live(p) for p in members):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _read_stderr(self) -> None:
        assert self._popen.stderr is not None
        with self._popen.stderr as pipe:
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", "replace")
                if self._keep_line is None or self._keep_line(line):
                    with self._lock:
                        self._tail.append(line)
                if self._on_line is not None:
                    try:
                        self._on_line(line)
                    except Exception:
                        log.exception("handling a stderr line of %s failed", self.name)
        code = self._popen.wait()
        self._exited.set()
        if self._on_exit is not None:
            try:
                self._on_exit(code)
            except Exception:
                log.exception("handling the exit of %s failed", self.name)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text


def _is_live(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
