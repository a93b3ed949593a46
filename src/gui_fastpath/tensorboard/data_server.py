"""TensorBoard's Rust data server, run by us so a run's index is warm before its tab opens.

The server loads the log directory, keeps polling it for new data every
``reload_seconds``, and answers TensorBoard's web front end over gRPC on a loopback port
(``--grpc_data_provider``). It dies when our end of its stdin closes
(``--die-after-stdin``), however our process ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gui_fastpath.tensorboard._process import ChildProcess
from gui_fastpath.tensorboard.errors import DataServerUnavailable, TensorBoardStartError

__all__ = ["DataServer", "find_data_server"]

_BINARY_ENV = "TENSORBOARD_DATA_SERVER_BINARY"  # the variable TensorBoard itself honours
_LOAD_CYCLE = "load cycle"
_FINISHED_LOAD = "Finished load cycle"
_PORT_POLL_SECONDS = 0.005


def find_data_server() -> str:
    """Path of the data server binary, or :class:`DataServerUnavailable` saying how to fix it."""
    from_env = os.environ.get(_BINARY_ENV)
    if from_env:
        if not os.access(from_env, os.X_OK) or not os.path.isfile(from_env):
            raise DataServerUnavailable(
                f"{_BINARY_ENV}={from_env} is not an executable file; "
                "unset it or point it at a tensorboard-data-server binary."
            )
        return from_env
    try:
        import tensorboard_data_server
    except ImportError:
        raise DataServerUnavailable(
            "TensorBoard's Rust data server is not installed; "
            "fix: pip install tensorboard-data-server."
        ) from None
    binary = tensorboard_data_server.server_binary()
    if binary is None:
        raise DataServerUnavailable(
            "tensorboard-data-server has no binary for this platform; "
            f"build one and set {_BINARY_ENV} to its path."
        )
    return str(binary)


class DataServer:
    """One running data server for one log directory."""

    def __init__(self, log_dir: Path, *, reload_seconds: int, timeout: float = 10.0) -> None:
        """Start the server and wait until it listens (not until it has loaded anything)."""
        binary = find_data_server()
        self.log_dir = log_dir
        self._indexed = threading.Event()
        self.load_cycles = 0
        """Load cycles finished so far (a cycle that ends after new data was written,
        and began after it, has it in the index)."""
        self._exit_callbacks: list[Callable[[int], None]] = []
        scratch = tempfile.mkdtemp(prefix="gui-fastpath-data-server-")
        port_file = Path(scratch, "port")
        error_file = Path(scratch, "error")
        try:
            self.process = ChildProcess(
                [
                    binary,
                    f"--logdir={log_dir}",
                    "--host=127.0.0.1",
                    "--port=0",
                    f"--port-file={port_file}",
                    f"--error-file={error_file}",
                    f"--reload={max(1, int(reload_seconds))}",
                    "--die-after-stdin",
                    "--verbose",  # its "Finished load cycle" lines: the index is warm, or fresher
                ],
                name="TensorBoard data server",
                on_line=self._see_line,
                keep_line=lambda line: _LOAD_CYCLE not in line,
                on_exit=self._see_exit,
            )
            port = self._wait_for_port(port_file, error_file, timeout)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.address = f"127.0.0.1:{port}"
        """``HOST:PORT`` for TensorBoard's ``--grpc_data_provider``."""

    @property
    def alive(self) -> bool:
        return self.process.alive

    def wait_indexed(self, timeout: float) -> bool:
        """Wait until the first full load of the log directory has finished."""
        return self._indexed.wait(timeout)

    @property
    def indexed(self) -> bool:
        return self._indexed.is_set()

    def on_exit(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(exit_code)`` (from a reader thread) when the server ends."""
        self._exit_callbacks.append(callback)

    def stop(self, grace: float) -> int | None:
        return self.process.stop(grace)

    def _wait_for_port(self, port_file: Path, error_file: Path, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            try:
                text = port_file.read_text()
            except FileNotFoundError:
                text = ""
            if text.endswith("\n"):
                return int(text)
            if not self.process.alive:
                self.process.wait_exited(1.0)
                code = self.process.returncode
                detail = _read_or_empty(error_file).strip()
                raise TensorBoardStartError(
                    f"The TensorBoard data server for {self.log_dir} exited during start-up "
                    f"(exit code {code})" + (f": {detail}" if detail else "."),
                    stderr=self.process.stderr_text(),
                    returncode=code,
                )
            if time.monotonic() > deadline:
                self.process.stop(1.0)
                raise TensorBoardStartError(
                    f"The TensorBoard data server for {self.log_dir} did not open its port "
                    f"within {timeout:.0f} s.",
                    stderr=self.process.stderr_text(),
                )
            time.sleep(_PORT_POLL_SECONDS)

    def _see_line(self, line: str) -> None:
        if _FINISHED_LOAD in line:
            self.load_cycles += 1  # only this reader thread writes it
            self._indexed.set()

    def _see_exit(self, code: int) -> None:
        for callback in list(self._exit_callbacks):
            callback(code)


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
