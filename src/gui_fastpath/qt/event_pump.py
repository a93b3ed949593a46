"""Feeds a :class:`~gui_fastpath.bridge.RunEventSource` into the presenter on the Qt thread.

It runs on the asyncio loop the host already drives with ``qasync``, so events reach
widgets on the GUI thread without locks. Whether the source reads the local disk or an
SSE bridge makes no difference here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from qtpy.QtCore import QObject, Signal

from gui_fastpath.bridge import BridgeEvent, RunEventSource, RunSummary
from gui_fastpath.lifecycle.events import LifecycleEventError, RunLifecycleEvent
from gui_fastpath.manifest import ManifestError, manifest_from_dict
from gui_fastpath.manifest.model import ArtifactManifest

log = logging.getLogger(__name__)

__all__ = ["RunEventPump"]


class RunEventPump(QObject):
    """Follows the run list and each opened run; emits Qt signals for what it sees.

    ``runSeen(RunSummary)`` for each run listed or updated, ``runRemoved(run_id)`` when a
    run's directory goes away, ``manifest(ArtifactManifest)`` and
    ``lifecycle(RunLifecycleEvent)`` for each followed run.
    """

    runSeen = Signal(object)
    runRemoved = Signal(str)
    manifest = Signal(object)
    lifecycle = Signal(object)
    problem = Signal(str)

    def __init__(self, source: RunEventSource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._tasks: dict[str | None, asyncio.Task[None]] = {}
        self.last_event_ids: dict[str | None, str] = {}
        """Cursor per stream, so a restarted pump resumes instead of replaying."""

    def follow_runs(self) -> None:
        """Start following the list of runs (idempotent)."""
        self._start(None)

    def follow_run(self, run_id: str) -> None:
        """Start following one run's manifest and lifecycle (idempotent)."""
        self._start(run_id)

    def unfollow_run(self, run_id: str) -> None:
        task = self._tasks.pop(run_id, None)
        if task is not None:
            task.cancel()

    def following(self, run_id: str | None) -> bool:
        return run_id in self._tasks

    async def aclose(self) -> None:
        """Stop every stream and close the source."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.source.close()

    def _start(self, run_id: str | None) -> None:
        if run_id in self._tasks:
            return
        task = asyncio.ensure_future(self._follow(run_id))
        self._tasks[run_id] = task
        task.add_done_callback(functools.partial(self._finished, run_id))

    def _finished(self, run_id: str | None, task: asyncio.Task[None]) -> None:
        if self._tasks.get(run_id) is task:
            del self._tasks[run_id]
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            what = f"run {run_id}" if run_id else "the run list"
            self.problem.emit(f"lost the event stream of {what}: {exc}")

    async def _follow(self, run_id: str | None) -> None:
        last = self.last_event_ids.get(run_id)
        async for event in self.source.subscribe(run_id, last):
            self.last_event_ids[run_id] = event.id
            try:
                self._dispatch(event)
            except Exception:  # one bad event must not end the stream
                log.exception("could not apply %s event %s", event.kind, event.id)

    def _dispatch(self, event: BridgeEvent) -> None:
        data: Any = event.data
        if event.kind == "runs":
            for item in data.get("runs", ()):
                self.runSeen.emit(RunSummary.from_dict(item))
        elif event.kind == "run":
            self.runSeen.emit(RunSummary.from_dict(dict(data)))
        elif event.kind == "run_removed":
            self.runRemoved.emit(event.run_id or data.get("run_id", ""))
        elif event.kind == "artifacts":
            manifest = self._manifest_of(event)
            if manifest is not None:
                self.manifest.emit(manifest)
        elif event.kind == "lifecycle":
            try:
                self.lifecycle.emit(RunLifecycleEvent.from_dict(dict(data)))
            except LifecycleEventError as exc:
                self.problem.emit(f"run {event.run_id}: bad lifecycle event {event.id}: {exc}")

    def _manifest_of(self, event: BridgeEvent) -> ArtifactManifest | None:
        raw = event.data.get("manifest")
        if raw is None:
            return None
        try:
            return manifest_from_dict(raw)
        except ManifestError as exc:
            self.problem.emit(f"run {event.run_id}: unreadable manifest: {exc}")
            return None
