"""One managed TensorBoard per log directory: an index (the data server) and a web front end.

With an index (modes ``eager`` and ``on-open``) the front end is attached to our data server
with ``--grpc_data_provider``, so it can be restarted, or opened late, without reading the
logs again. Without one (mode ``off``, or no Rust data server here), TensorBoard loads the
logs itself with ``--load_fast=true`` (or its Python loader, with a notice saying so).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import attrs

from gui_fastpath.tensorboard.data_server import DataServer, find_data_server
from gui_fastpath.tensorboard.errors import DataServerUnavailable, TensorBoardError
from gui_fastpath.tensorboard.frontend import FrontEnd

__all__ = ["INDEX_MODES", "IndexMode", "ManagedTensorBoard", "ServerEvent", "ServerOptions"]

log = logging.getLogger(__name__)

IndexMode = Literal["eager", "on-open", "off"]
INDEX_MODES: tuple[IndexMode, ...] = ("eager", "on-open", "off")


@attrs.frozen
class ServerOptions:
    """How managed TensorBoards are run."""

    index_mode: IndexMode = attrs.field(
        default="eager", validator=attrs.validators.in_(INDEX_MODES)
    )
    """``eager``: :meth:`TensorBoardPool.prewarm` indexes a run before any tab opens;
    ``on-open``: the index starts with the first tab; ``off``: TensorBoard loads the logs
    itself (``--load_fast=true``), so a restart reads them again."""
    reload_seconds: int = 1
    """How often the logs are polled for new data (whole seconds, the data server's unit)."""
    grace_seconds: float = 3.0
    """Time between SIGTERM and SIGKILL when stopping."""
    start_timeout: float = 60.0
    """Longest wait for TensorBoard's "serving at" announcement."""
    keep_spare: bool = True
    """While any lease is held, keep one TensorBoard process imported and waiting for the
    next tab (it then serves in ~0.2 s instead of ~0.7 s)."""
    extra_args: tuple[str, ...] = ()
    """More ``tensorboard`` flags, e.g. ``("--samples_per_plugin=scalars=5000",)``."""
    python: str = sys.executable
    """The interpreter that runs TensorBoard (it must have ``tensorboard`` installed)."""


@attrs.frozen
class ServerEvent:
    """Something happened to a running TensorBoard that its viewers should know about."""

    kind: Literal["exited", "restarted"]
    log_dir: Path
    message: str
    """One line, for the user."""
    stderr: str = ""
    """The end of the failed process's stderr (secret redacted)."""
    url: str | None = None
    """The new URL after a restart."""


class ManagedTensorBoard:
    """TensorBoard for one log directory. Blocking methods; call them off the GUI thread."""

    def __init__(
        self,
        log_dir: Path,
        options: ServerOptions,
        *,
        new_front_end: Callable[[], FrontEnd],
    ) -> None:
        self.log_dir = log_dir
        self.options = options
        self._new_front_end = new_front_end
        self.lock = threading.RLock()
        """Serialises starts and stops of this log directory's processes."""
        self._closed = False
        self._subscribers: list[Callable[[ServerEvent], None]] = []
        self.data_server: DataServer | None = None
        self.front_end: FrontEnd | None = None
        self.notices: tuple[str, ...] = ()
        """Things the user should know (e.g. the slow loader is in use), one line each."""

    @property
    def url(self) -> str | None:
        front_end = self.front_end
        return front_end.url if front_end is not None and front_end.alive else None

    def subscribe(self, callback: Callable[[ServerEvent], None]) -> Callable[[], None]:
        """Call ``callback`` (from a background thread) on exits and restarts."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def start_index(self) -> None:
        """Start the data server for this log directory, unless it runs or mode is ``off``."""
        with self.lock:
            if self.options.index_mode == "off":
                return
            if self.data_server is not None and self.data_server.alive:
                return
            try:
                server = DataServer(self.log_dir, reload_seconds=self.options.reload_seconds)
            except DataServerUnavailable as exc:
                self._note_slow_loader(exc)
                return
            server.on_exit(lambda code: self._process_exited(server, code))
            self.data_server = server
            log.info("indexing %s with the data server at %s", self.log_dir, server.address)

    def serve(self) -> str:
        """Make sure the web front end serves this log directory; return its URL."""
        with self.lock:
            url = self.url
            if url is not None:
                return url
            if self._closed:
                raise TensorBoardError(f"TensorBoard for {self.log_dir} has been shut down")
            self.start_index()
            args = self._front_end_args()
            front_end = self._new_front_end()
            front_end.on_exit(lambda code: self._process_exited(front_end, code))
            try:
                url = front_end.serve(
                    args, timeout=self.options.start_timeout, what=str(self.log_dir)
                )
            except BaseException:
                front_end.stop(self.options.grace_seconds)
                raise
            self.front_end = front_end
            log.info("TensorBoard for %s serving (pid %d)", self.log_dir, front_end.process.pid)
            return url

    def restart(self, *, reindex: bool = False) -> str:
        """Restart the front end (and the index if dead, or if ``reindex``); tell every viewer.

        Reindex after event files were moved away, so the charts show only what is left.
        """
        with self.lock:
            self.stop_front_end()
            if reindex or (self.data_server is not None and not self.data_server.alive):
                self.stop_index()
            url = self.serve()
        self._publish(ServerEvent("restarted", self.log_dir, "TensorBoard restarted.", url=url))
        return url

    def stop_front_end(self) -> None:
        with self.lock:
            front_end, self.front_end = self.front_end, None
            if front_end is not None:
                front_end.stop(self.options.grace_seconds)

    def stop_index(self) -> None:
        with self.lock:
            server, self.data_server = self.data_server, None
            if server is not None:
                server.stop(self.options.grace_seconds)

    def close(self) -> None:
        """Stop the front end, then the data server, for good."""
        with self.lock:
            self._closed = True
            self.stop_front_end()
            self.stop_index()

    def _front_end_args(self) -> list[str]:
        server = self.data_server
        if server is not None and server.alive:
            args = [f"--grpc_data_provider={server.address}"]
        else:
            args = [f"--logdir={self.log_dir}", f"--reload_interval={self.options.reload_seconds}"]
            try:
                find_data_server()
            except DataServerUnavailable as exc:
                self._note_slow_loader(exc)
                args.append("--load_fast=false")
            else:
                args.append("--load_fast=true")
        return [*args, *self.options.extra_args]

    def _note_slow_loader(self, exc: DataServerUnavailable) -> None:
        notice = f"Fast loading is off: {exc} TensorBoard reads the logs with its slower loader."
        if notice not in self.notices:
            log.warning("%s", notice)
            self.notices = (*self.notices, notice)

    def _process_exited(self, process: FrontEnd | DataServer, code: int) -> None:
        if process.process.stopping or process not in (self.front_end, self.data_server):
            return  # asked for, or a failed start (reported by the exception)
        what = "TensorBoard" if isinstance(process, FrontEnd) else "The TensorBoard data server"
        message = f"{what} for {self.log_dir} exited unexpectedly (exit code {code})."
        log.warning("%s", message)
        self._publish(
            ServerEvent("exited", self.log_dir, message, stderr=process.process.stderr_text())
        )

    def _publish(self, event: ServerEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("a TensorBoard viewer failed to handle %s", event.kind)
