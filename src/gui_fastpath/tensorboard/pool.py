"""Managed TensorBoards shared per log directory, stopped when the last user lets go.

Every tab that shows a log directory holds a :class:`TensorBoardLease`; the run itself can
hold an :class:`IndexLease` from :meth:`TensorBoardPool.prewarm` so its index is warm before
any tab opens. The web front end stops with the last tab; the data server stops once
neither tabs nor index leases remain. While any lease is held the pool keeps one spare
TensorBoard process imported and waiting, so the next tab starts fast; it stops too when
the last lease goes. Stopping happens on a background thread, so
``release()`` never blocks a GUI.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from gui_fastpath.tensorboard.errors import TensorBoardError
from gui_fastpath.tensorboard.frontend import FrontEnd
from gui_fastpath.tensorboard.server import ManagedTensorBoard, ServerEvent, ServerOptions

__all__ = ["IndexLease", "TensorBoardLease", "TensorBoardPool", "default_pool"]

log = logging.getLogger(__name__)


class _Entry:
    def __init__(self, server: ManagedTensorBoard) -> None:
        self.server = server
        self.viewers = 0
        self.index_holds = 0


class TensorBoardLease:
    """A viewer's share of a running TensorBoard. Release it when the viewer goes away."""

    def __init__(self, pool: TensorBoardPool, entry: _Entry) -> None:
        self._pool = pool
        self._entry = entry
        self._released = False
        self._unsubscribers: list[Callable[[], None]] = []
        self.log_dir = entry.server.log_dir

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/SECRET/``: the secret is part of the URL, keep it private."""
        return self._entry.server.url or ""

    @property
    def notices(self) -> tuple[str, ...]:
        """Things to tell the user, such as the slow loader being in use."""
        return self._entry.server.notices

    @property
    def indexed(self) -> bool:
        """True when the front end reads a data server of ours (a warm, shared index)."""
        server = self._entry.server.data_server
        return server is not None and server.alive

    @property
    def load_cycles(self) -> tuple[int, int] | None:
        """``(data server pid, load cycles it finished)``; None without a data server of ours.

        A viewer that knows new data was written reloads after two more cycles have ended:
        the second began after the first ended, so after the write.
        """
        server = self._entry.server.data_server
        if server is None or not server.alive:
            return None
        return server.process.pid, server.load_cycles

    @property
    def released(self) -> bool:
        return self._released

    def subscribe(self, callback: Callable[[ServerEvent], None]) -> None:
        """Call ``callback`` (from a background thread) when TensorBoard exits or restarts."""
        self._unsubscribers.append(self._entry.server.subscribe(callback))

    def restart(self, *, reindex: bool = False) -> str:
        """Restart the web front end (blocking); every viewer gets a ``restarted`` event.

        With ``reindex`` the data server reads the logs again too.
        """
        if self._released:
            raise TensorBoardError(f"the lease on TensorBoard for {self.log_dir} was released")
        return self._entry.server.restart(reindex=reindex)

    def release(self) -> None:
        """Let go (idempotent, never blocks); the last viewer out stops the front end."""
        if self._released:
            return
        self._released = True
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._pool._release(self._entry, viewer=True)

    def __enter__(self) -> TensorBoardLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class IndexLease:
    """Keeps a log directory's data server (its index) running while no tab is open."""

    def __init__(self, pool: TensorBoardPool, entry: _Entry) -> None:
        self._pool = pool
        self._entry = entry
        self._released = False
        self.log_dir = entry.server.log_dir

    def wait_indexed(self, timeout: float) -> bool:
        """Wait until the first load of the logs has finished (False without an index)."""
        server = self._entry.server.data_server
        return server is not None and server.wait_indexed(timeout)

    def release(self) -> None:
        """Let go (idempotent, never blocks)."""
        if self._released:
            return
        self._released = True
        self._pool._release(self._entry, viewer=False)

    def __enter__(self) -> IndexLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class TensorBoardPool:
    """The managed TensorBoards of one process, one per log directory."""

    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self._lock = threading.Lock()
        self._entries: dict[Path, _Entry] = {}
        self._spare: FrontEnd | None = None
        self._stoppers: list[threading.Thread] = []
        self._closed = False

    def acquire(self, log_dir: str | os.PathLike[str]) -> TensorBoardLease:
        """A lease on TensorBoard for ``log_dir``, started if needed. Blocks until it serves.

        Raises :class:`TensorBoardStartError` (with stderr) when TensorBoard fails to start.
        """
        entry = self._enter(log_dir, viewer=True)
        try:
            entry.server.serve()
        except BaseException:
            self._release(entry, viewer=True)
            raise
        self._replenish_spare()
        return TensorBoardLease(self, entry)

    def prewarm(self, log_dir: str | os.PathLike[str]) -> IndexLease:
        """Index ``log_dir`` now (mode ``eager``), so the tab that opens later is fast.

        In the other modes this only holds a place: the index starts with the first tab.
        Call it when a run starts or its first event file appears; release the lease when
        the run is no longer shown.
        """
        entry = self._enter(log_dir, viewer=False)
        if self.options.index_mode == "eager":
            try:
                entry.server.start_index()
            except BaseException:
                self._release(entry, viewer=False)
                raise
            self._replenish_spare()
        return IndexLease(self, entry)

    def wait_spare(self, timeout: float) -> bool:
        """Wait until the spare TensorBoard process has imported TensorBoard (False: none)."""
        spare = self._spare
        return spare is not None and spare.wait_imported(timeout)

    def shutdown(self) -> None:
        """Stop every TensorBoard and data server of this pool and wait for them to end."""
        with self._lock:
            self._closed = True
            entries = list(self._entries.values())
            self._entries.clear()
            spare, self._spare = self._spare, None
        for entry in entries:
            entry.server.close()
        if spare is not None:
            spare.stop(self.options.grace_seconds)
        for thread in list(self._stoppers):
            thread.join(timeout=2 * self.options.grace_seconds + 1)

    def __enter__(self) -> TensorBoardPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _enter(self, log_dir: str | os.PathLike[str], *, viewer: bool) -> _Entry:
        key = Path(os.path.abspath(log_dir))
        with self._lock:
            if self._closed:
                raise TensorBoardError("the TensorBoard pool has been shut down")
            entry = self._entries.get(key)
            if entry is None:
                server = ManagedTensorBoard(key, self.options, new_front_end=self._take_spare)
                entry = self._entries[key] = _Entry(server)
            if viewer:
                entry.viewers += 1
            else:
                entry.index_holds += 1
            return entry

    def _release(self, entry: _Entry, *, viewer: bool) -> None:
        with self._lock:
            if viewer:
                entry.viewers -= 1
            else:
                entry.index_holds -= 1
            thread = threading.Thread(
                target=self._stop_unused, args=(entry,), name="tensorboard-stop", daemon=True
            )
            self._stoppers = [t for t in self._stoppers if t.is_alive()]
            self._stoppers.append(thread)
        thread.start()

    def _stop_unused(self, entry: _Entry) -> None:
        """Stop what nobody uses any more (under the server's lock, so a new start waits)."""
        server = entry.server
        idle_spare = None
        with server.lock:
            with self._lock:
                viewers, holds = entry.viewers, entry.index_holds
                if viewers == 0 and holds == 0 and self._entries.get(server.log_dir) is entry:
                    del self._entries[server.log_dir]
                    if not self._entries:  # nothing left to be quick for
                        idle_spare, self._spare = self._spare, None
            if viewers == 0 and holds == 0:
                server.close()
            elif viewers == 0:
                server.stop_front_end()
        if idle_spare is not None:
            idle_spare.stop(self.options.grace_seconds)

    def _take_spare(self) -> FrontEnd:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.alive:
            return spare
        if spare is not None:
            spare.stop(self.options.grace_seconds)
        return FrontEnd(self.options.python)

    def _replenish_spare(self) -> None:
        if not self.options.keep_spare:
            return
        with self._lock:
            if self._closed or not self._entries or (self._spare and self._spare.alive):
                return
            dead, self._spare = self._spare, FrontEnd(self.options.python)
        if dead is not None:
            dead.stop(self.options.grace_seconds)


_default_lock = threading.Lock()
_default: TensorBoardPool | None = None


def default_pool() -> TensorBoardPool:
    """The process-wide pool (default options), shut down at interpreter exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TensorBoardPool()
            atexit.register(_default.shutdown)
        return _default
