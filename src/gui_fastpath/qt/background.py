"""Run work off the GUI thread and hand its result back to the GUI thread, one way only.

The slow steps of the analytics tabs (parsing a ``.wandb`` file, preparing chart series,
looking up credentials, starting or stopping a TensorBoard server) go through
:class:`BackgroundTasks`: the callable runs on a worker thread, and its result (or
exception) is delivered by a queued Qt signal to a callback on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from qtpy.QtCore import QObject, Signal

__all__ = ["BackgroundTasks"]

_log = logging.getLogger(__name__)


class BackgroundTasks(QObject):
    """One worker thread, running tasks in the order given; results arrive on the thread
    that created it.

    Callbacks never run after :meth:`close`, so a closed tab is never touched again.
    """

    _delivered = Signal(object)

    def __init__(self, parent: QObject | None = None, *, name: str) -> None:
        super().__init__(parent)
        self._name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = threading.Event()
        self._delivered.connect(self._deliver)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Future[Any] | None:
        """Run ``fn()`` on a worker; ``on_done(result)`` or ``on_error(exc)`` runs here."""
        if self.closed:
            return None
        future = self._pool.submit(fn)
        future.add_done_callback(lambda f: self._finished(f, on_done, on_error))
        return future

    def close(self, *, wait: bool = False) -> None:
        """Drop pending work and deliver nothing more; running work finishes on its own.

        Without ``wait`` the GUI thread never blocks on a long first read of a big file.
        """
        self._closed.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _finished(
        self,
        future: Future[Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None,
    ) -> None:
        if future.cancelled() or self.closed:
            return
        error = future.exception()
        if error is not None:
            self._delivered.emit((on_error, error, True))
        else:
            self._delivered.emit((on_done, future.result(), False))

    def _deliver(self, item: tuple[Callable[[Any], None] | None, Any, bool]) -> None:
        callback, value, failed = item
        if self.closed:
            return
        if failed and callback is None:
            _log.error("%s: background task failed", self._name, exc_info=value)
            return
        try:
            if callback is not None:
                callback(value)
        except Exception:  # never raise into Qt's event loop
            _log.exception("%s: background task callback failed", self._name)
