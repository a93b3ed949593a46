"""TensorBoard's web front end in a process of its own, reachable only under a secret path.

Creating a :class:`FrontEnd` starts a process that imports TensorBoard and then waits for
its arguments; :meth:`FrontEnd.serve` sends them and returns once TensorBoard announces its
URL, or raises as soon as the process exits, with its stderr.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gui_fastpath.tensorboard._process import ChildProcess
from gui_fastpath.tensorboard.errors import TensorBoardStartError

__all__ = ["FrontEnd"]

_LAUNCHER = Path(__file__).with_name("_launch.py")
_IMPORTED = "gui-fastpath: TensorBoard imported"  # written by _launch.py
_ANNOUNCEMENT = re.compile(r"^TensorBoard \S+ at (http://\S+) \(Press CTRL\+C to quit\)")
_EXIT_POLL_SECONDS = 0.05


class FrontEnd:
    """One TensorBoard web server process (possibly still, warm, waiting for its arguments)."""

    def __init__(self, python: str = sys.executable) -> None:
        self._ready = threading.Condition()
        self._imported = threading.Event()
        self._url: str | None = None
        self._exit_callbacks: list[Callable[[int], None]] = []
        self.secret = secrets.token_urlsafe(24)
        """The path prefix that every request must start with."""
        self.process = ChildProcess(
            [python, "-P", str(_LAUNCHER)],  # -P: the script's folder stays off sys.path
            name="TensorBoard",
            on_line=self._see_line,
            on_exit=self._see_exit,
        )
        self.process.redact(self.secret)

    @property
    def url(self) -> str | None:
        """``http://127.0.0.1:PORT/SECRET/`` once serving."""
        return self._url

    @property
    def alive(self) -> bool:
        return self.process.alive

    def on_exit(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(exit_code)`` (from a reader thread) when the process ends."""
        self._exit_callbacks.append(callback)

    def serve(self, args: Sequence[str], *, timeout: float, what: str) -> str:
        """Start serving with TensorBoard ``args`` on a free loopback port; return the URL."""
        full = [
            *args,
            "--host=127.0.0.1",
            "--port=0",
            f"--path_prefix=/{self.secret}",
            "--reload_multifile=true",
        ]
        with contextlib.suppress(OSError):  # if it died, that is reported below with its stderr
            self.process.send(json.dumps(full).encode() + b"\n")
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._url is None:
                if not self.process.alive:
                    self.process.wait_exited(1.0)
                    code = self.process.returncode
                    raise TensorBoardStartError(
                        f"TensorBoard for {what} exited during start-up (exit code {code}).",
                        stderr=self.process.stderr_text(),
                        returncode=code,
                    )
                if time.monotonic() > deadline:
                    raise TensorBoardStartError(
                        f"TensorBoard for {what} did not start within {timeout:.0f} s.",
                        stderr=self.process.stderr_text(),
                    )
                self._ready.wait(_EXIT_POLL_SECONDS)
            return self._url

    def stop(self, grace: float) -> int | None:
        return self.process.stop(grace)

    def wait_imported(self, timeout: float) -> bool:
        """Wait until TensorBoard is imported (a spare is then as warm as it gets)."""
        return self._imported.wait(timeout)

    def _see_line(self, line: str) -> None:
        if line.startswith(_IMPORTED):
            self._imported.set()
        match = _ANNOUNCEMENT.match(line)
        if match and self._url is None:
            with self._ready:
                self._url = match.group(1)
                self._ready.notify_all()

    def _see_exit(self, code: int) -> None:
        with self._ready:
            self._ready.notify_all()
        for callback in list(self._exit_callbacks):
            callback(code)
