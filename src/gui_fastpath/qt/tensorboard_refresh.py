"""When the TensorBoard page reloads after new data: once per index update, not on a clock.

TensorBoard's page does not follow new data by itself, and each reload costs the browser
~0.1 s of CPU (fetch, chart redraw, software compositing). A refresh is *requested* when
new event data is on disk (the manifest's event files changed, the page just loaded, a
tab shown again missed data). With a data server of ours, the page reloads as each of the
next two load cycles ends: the second began after the first ended, so after the request,
and has the data. While a run writes, that is one reload per cycle (~1 s), each bringing
new points. Without one (TensorBoard reads the logs itself), the page reloads every
250 ms for 2.5 s, which covers its own 1 s poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from qtpy.QtCore import QObject, QTimer

__all__ = ["PageRefresher"]

CYCLES_AFTER_REQUEST = 2
CYCLE_POLL_MS = 100
"""How often the data server's cycle count is looked at while a refresh is due (a read
of an int): the reload follows a cycle's end by at most this."""
BURST_SECONDS = 2.5
BURST_TICK_MS = 250

LoadCycles = Callable[[], "tuple[int, int] | None"]
"""``(data server id, load cycles finished)``, or None without a data server of ours."""


class PageRefresher(QObject):
    """Calls ``reload`` when a requested refresh has data to show."""

    def __init__(self, reload: Callable[[], None], load_cycles: LoadCycles, parent: QObject):
        super().__init__(parent)
        self._reload = reload
        self._load_cycles = load_cycles
        self._server: int | None = None
        """The data server being followed; None while bursting (no data server)."""
        self._seen = 0
        self._until = 0
        self._burst_until = 0.0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def request(self) -> None:
        """New data is on disk: reload once the index has it."""
        cycles = self._load_cycles()
        if cycles is None:
            self._burst_until = time.monotonic() + BURST_SECONDS
            if not (self.pending and self._server is None):
                self._server = None
                self._reload()
                self._timer.start(BURST_TICK_MS)
            return
        server, finished = cycles
        if not (self.pending and self._server == server):
            self._server, self._seen = server, finished
            self._timer.start(CYCLE_POLL_MS)
        self._until = finished + CYCLES_AFTER_REQUEST

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        if self._server is None:
            if time.monotonic() > self._burst_until:
                self._timer.stop()
            else:
                self._reload()
            return
        cycles = self._load_cycles()
        if cycles is None or cycles[0] != self._server:  # the index went or was replaced
            self._timer.stop()
            self._reload()
            return
        finished = cycles[1]
        if finished > self._seen:
            self._seen = finished
            self._reload()
        if finished >= self._until:
            self._timer.stop()
