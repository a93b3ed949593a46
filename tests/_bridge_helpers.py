"""Shared pieces of the bridge tests: journal writers, a watcher seam, waiting helpers."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs

from gui_fastpath.lifecycle import LifecycleJournal, Progress, RunLifecycleEvent, RunState
from gui_fastpath.manifest import ArtifactManifest, Checkpoint


def append_events(run_dir: Path, count: int, *, message: str | None = None) -> list[int]:
    """Append ``count`` RUNNING heartbeats to the run's journal; returns their seqs."""
    with LifecycleJournal(run_dir, fsync=False) as journal:
        seqs = []
        for _ in range(count):
            seq = journal.last_seq + 1
            state = RunState.STARTED if seq == 1 else RunState.RUNNING
            journal.append(
                RunLifecycleEvent(
                    run_id=run_dir.name,
                    state=state,
                    timestamp=time.time(),
                    seq=seq,
                    progress=Progress(step=seq * 10),
                    message=message,
                )
            )
            seqs.append(seq)
        return seqs


@attrs.frozen
class FakeRunEvent:
    """Stands for a watcher event: the bridge uses ``to_dict()`` and ``manifest``."""

    type: str
    run_id: str
    manifest: ArtifactManifest | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "run_id": self.run_id}


def manifest_with(run_id: str, *checkpoints: str) -> ArtifactManifest:
    return ArtifactManifest(
        run_id=run_id,
        checkpoints=tuple(
            Checkpoint(path=f"checkpoints/{c}", size=1, mtime=1.0) for c in checkpoints
        ),
    )


class FakeRunEvents:
    """The ``run_events`` seam of LocalEventSource: tests push watcher events by hand."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[FakeRunEvent] = asyncio.Queue()

    def __call__(self, root: Path) -> AsyncIterator[FakeRunEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[FakeRunEvent]:
        while True:
            yield await self.queue.get()

    def manifest_changed(self, run_id: str, *checkpoints: str) -> None:
        """A rescan found these checkpoints."""
        manifest = manifest_with(run_id, *checkpoints)
        self.queue.put_nowait(FakeRunEvent("manifest_changed", run_id, manifest))

    def run_removed(self, run_id: str) -> None:
        self.queue.put_nowait(FakeRunEvent("run_removed", run_id))


async def wait_until(
    condition: Callable[[], object | Awaitable[object]], timeout: float = 10.0, what: str = ""
) -> None:
    """Poll ``condition`` on the loop until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.005)
