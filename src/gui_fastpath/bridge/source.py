"""The one interface the GUI consumes, whether the runs are local or behind the SSE bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from gui_fastpath.bridge.events import BridgeEvent, RunSummary

__all__ = ["RunEventSource"]


@runtime_checkable
class RunEventSource(Protocol):
    """Runs and their events; :class:`~gui_fastpath.bridge.LocalEventSource` reads the disk,
    :class:`~gui_fastpath.bridge.SseEventSource` a ``gui-fastpath serve`` bridge.

    Both yield the same :class:`BridgeEvent`\\ s with the same resumable ids, so the GUI
    stores the last id it handled and passes it back after a restart or reconnect.
    """

    def subscribe(
        self, run_id: str | None = None, last_event_id: str | None = None
    ) -> AsyncIterator[BridgeEvent]:
        """Events after ``last_event_id`` (all history if None), then live ones, forever.

        With a ``run_id``: the run's ``artifacts`` (current manifest first) and
        ``lifecycle`` events; it ends after ``run_removed``. The run may not exist yet.
        With ``None``: the list of runs (``runs``), then ``run`` and ``run_removed``.
        """
        ...

    async def list_runs(self) -> list[RunSummary]:
        """Every run with its latest state, sorted by run id."""
        ...

    async def close(self) -> None:
        """Release watchers or connections (idempotent); iterators then stop or go quiet."""
        ...
