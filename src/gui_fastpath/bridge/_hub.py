"""Fan-out of run events to subscribers, with replay from a cursor and bounded queues.

The hub holds, per run, a window of recent lifecycle events (older ones are read back from
``lifecycle.jsonl`` on demand) and of artifact events, plus a window of the all-runs stream.
Each subscriber has its own bounded queue: a subscriber that falls ``queue_size`` events
behind is dropped (:class:`SubscriberDroppedError`) and resumes from its cursor, so a slow
client never grows memory without bound. Everything runs on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from gui_fastpath.bridge.events import (
    BridgeEvent,
    EventKind,
    GlobalCursor,
    RunCursor,
    RunSummary,
)

__all__ = ["EventHub", "GlobalSubscription", "RunSubscription", "SubscriberDroppedError"]

_log = logging.getLogger(__name__)

HistoryLoader = Callable[[Path, int, int], list[dict[str, Any]]]
"""``(run_dir, after_seq, before_seq) -> lifecycle dicts``: older history from disk."""


class SubscriberDroppedError(Exception):
    """The subscriber fell too far behind; resume with :attr:`last_event_id`."""

    def __init__(self, last_event_id: str, queue_size: int) -> None:
        super().__init__(
            f"subscriber fell {queue_size} events behind and was dropped; "
            f"resume from event id {last_event_id}"
        )
        self.last_event_id = last_event_id


@attrs.frozen
class _Entry:
    """One published event, JSON-encoded once for every subscriber."""

    seq: int
    kind: EventKind
    run_id: str | None
    data: Mapping[str, Any]
    payload: str = attrs.field(eq=False)


_WAKE = _Entry(0, "runs", None, {}, "")
"""Queued by ``interrupt()``: makes a waiting ``next()`` return None at once."""


def _entry(seq: int, kind: EventKind, run_id: str | None, data: Mapping[str, Any]) -> _Entry:
    return _Entry(seq, kind, run_id, data, json.dumps(data, separators=(",", ":")))


class _Queue:
    """A subscriber's bounded queue; full means the subscriber is dropped, not blocked."""

    def __init__(self, size: int) -> None:
        self.items: asyncio.Queue[_Entry] = asyncio.Queue(size + 1)  # +1: room for _WAKE
        self.size = size
        self.dropped = False
        self.interrupted = False

    async def get(self, timeout: float | None) -> _Entry | None:
        """The next entry; None on timeout, and at once when interrupted and empty."""
        if self.interrupted and self.items.empty():
            return None
        try:
            entry = await asyncio.wait_for(self.items.get(), timeout)
        except TimeoutError:
            return None
        return None if entry is _WAKE else entry

    async def take(
        self, pending: deque[_Entry], cursor: Callable[[], object], timeout: float | None
    ) -> _Entry | None:
        """``pending``'s first entry, else the next queued one (None on timeout).

        Raises :class:`SubscriberDroppedError` (resume at ``cursor()``) once this queue
        overflowed and is drained.
        """
        if pending:
            return pending.popleft()
        if self.dropped and self.items.empty():
            raise SubscriberDroppedError(str(cursor()), self.size)
        return await self.get(timeout)

    def interrupt(self) -> None:
        """From now on, an empty queue answers None instead of waiting (wakes a waiter)."""
        self.interrupted = True
        if self.items.empty():
            self.items.put_nowait(_WAKE)

    def offer(self, entry: _Entry) -> bool:
        """Queue ``entry``; False (and dropped) when the queue is full."""
        if self.items.qsize() >= self.size:
            self.dropped = True
            return False
        self.items.put_nowait(entry)
        return True


def _fanout(subscribers: set[_Queue], entry: _Entry) -> None:
    for queue in list(subscribers):
        if not queue.offer(entry):
            subscribers.discard(queue)


class _RunChannel:
    def __init__(self, run_id: str, run_dir: Path, lifecycle_window: int) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self.exists = False
        self.lifecycle: deque[_Entry] = deque(maxlen=lifecycle_window)
        self.artifacts: deque[_Entry] = deque(maxlen=64)
        self.artifacts_floor = 0
        """Seq of the newest artifact event that left the window (older cursors get a snapshot)."""
        self.subscribers: set[_Queue] = set()

    @property
    def lifecycle_seq(self) -> int:
        return self.lifecycle[-1].seq if self.lifecycle else 0

    def summary(self) -> RunSummary:
        last = self.lifecycle[-1].data if self.lifecycle else {}
        manifest = self.artifacts[-1].data.get("manifest") if self.artifacts else None
        present: tuple[str, ...] = ()
        if isinstance(manifest, Mapping):
            present = tuple(k for k in ("tensorboard", "wandb", "checkpoints") if manifest.get(k))
        return RunSummary(
            run_id=self.run_id,
            state=last.get("state"),
            stalled=bool(last.get("stalled", False)),
            seq=self.lifecycle_seq,
            updated_at=last.get("timestamp"),
            progress=last.get("progress"),
            message=last.get("message") or last.get("error"),
            artifacts=present,
        )


class EventHub:
    """Per-run and all-runs streams; producers call ``publish_*``, consumers ``subscribe_*``."""

    def __init__(
        self,
        history: HistoryLoader,
        *,
        queue_size: int = 1024,
        lifecycle_window: int = 1024,
        global_window: int = 4096,
    ) -> None:
        self.epoch = secrets.token_hex(4)
        """Identifies this hub: in-memory counters are only valid under the same epoch."""
        self.queue_size = queue_size
        self._history = history
        self._lifecycle_window = lifecycle_window
        self._runs: dict[str, _RunChannel] = {}
        self._global: deque[_Entry] = deque(maxlen=global_window)
        self._global_seq = 0
        self._artifact_seq = 0
        self._global_subscribers: set[_Queue] = set()

    # -- producers -------------------------------------------------------------------------

    def add_run(self, run_id: str, run_dir: Path, lifecycle: list[dict[str, Any]]) -> bool:
        """Register an existing run and its recent journal; False if it was already known."""
        channel = self._channel(run_id, run_dir)
        if channel.exists:
            return False
        channel.exists = True
        self._append_lifecycle(channel, lifecycle)
        self._publish_global("run", run_id, channel.summary().to_dict())
        return True

    def publish_lifecycle(self, run_id: str, events: list[dict[str, Any]]) -> int:
        """Append journal events (already-seen seqs are ignored); returns how many were new."""
        channel = self._runs.get(run_id)
        if channel is None or not channel.exists:
            return 0
        fresh = self._append_lifecycle(channel, events)
        if fresh:
            self._publish_global("run", run_id, channel.summary().to_dict())
        return fresh

    def publish_artifacts(
        self, run_id: str, manifest: Mapping[str, Any] | None, changes: tuple[str, ...]
    ) -> None:
        """The run's manifest changed (or was first read)."""
        channel = self._runs.get(run_id)
        if channel is None or not channel.exists:
            return
        self._artifact_seq += 1  # hub-wide, so a run that reappears never reuses a number
        data = {"manifest": manifest, "changes": list(changes)}
        entry = _entry(self._artifact_seq, "artifacts", run_id, data)
        if len(channel.artifacts) == channel.artifacts.maxlen:
            channel.artifacts_floor = channel.artifacts[0].seq
        channel.artifacts.append(entry)
        _fanout(channel.subscribers, entry)
        self._publish_global("run", run_id, channel.summary().to_dict())

    def remove_run(self, run_id: str) -> None:
        """The run directory is gone: tell its subscribers, who then stop."""
        channel = self._runs.get(run_id)
        if channel is None or not channel.exists:
            return
        del self._runs[run_id]
        entry = _entry(0, "run_removed", run_id, {"run_id": run_id})
        _fanout(channel.subscribers, entry)
        self._publish_global("run_removed", run_id, {"run_id": run_id})

    def interrupt_all(self) -> None:
        """Wake every subscriber's pending ``next()`` with None (used on close)."""
        queues = [q for c in self._runs.values() for q in c.subscribers]
        for queue in [*queues, *self._global_subscribers]:
            queue.interrupt()

    def knows(self, run_id: str) -> bool:
        channel = self._runs.get(run_id)
        return channel is not None and channel.exists

    def summaries(self) -> list[RunSummary]:
        """Every known run, sorted by id."""
        return [c.summary() for _, c in sorted(self._runs.items()) if c.exists]

    # -- consumers -------------------------------------------------------------------------

    def subscribe_run(
        self, run_id: str, run_dir: Path, cursor: RunCursor | None
    ) -> RunSubscription:
        """Follow one run (it may not exist yet) from ``cursor`` (None: from the start)."""
        return RunSubscription(self, self._channel(run_id, run_dir), cursor)

    def subscribe_all(self, cursor: GlobalCursor | None) -> GlobalSubscription:
        """Follow the list of runs from ``cursor`` (None: the full list first)."""
        return GlobalSubscription(self, cursor)

    # -- internals -------------------------------------------------------------------------

    def _channel(self, run_id: str, run_dir: Path) -> _RunChannel:
        channel = self._runs.get(run_id)
        if channel is None:
            channel = self._runs[run_id] = _RunChannel(run_id, run_dir, self._lifecycle_window)
        return channel

    @staticmethod
    def _append_lifecycle(channel: _RunChannel, events: list[dict[str, Any]]) -> int:
        fresh = 0
        for data in events:
            seq = data.get("seq")
            if not isinstance(seq, int) or seq <= channel.lifecycle_seq:
                continue
            entry = _entry(seq, "lifecycle", channel.run_id, data)
            channel.lifecycle.append(entry)
            _fanout(channel.subscribers, entry)
            fresh += 1
        return fresh

    def _release(self, channel: _RunChannel, queue: _Queue) -> None:
        channel.subscribers.discard(queue)
        orphan = not channel.exists and not channel.subscribers
        if orphan and self._runs.get(channel.run_id) is channel:
            del self._runs[channel.run_id]

    def _publish_global(self, kind: EventKind, run_id: str, data: Mapping[str, Any]) -> None:
        self._global_seq += 1
        entry = _entry(self._global_seq, kind, run_id, data)
        self._global.append(entry)
        _fanout(self._global_subscribers, entry)


class RunSubscription:
    """One subscriber of one run: replays what it missed, then follows live events."""

    def __init__(self, hub: EventHub, channel: _RunChannel, cursor: RunCursor | None) -> None:
        self._hub = hub
        self._channel = channel
        self._queue = _Queue(hub.queue_size)
        channel.subscribers.add(self._queue)
        self._lifecycle = cursor.lifecycle if cursor else 0
        self._artifacts = 0
        self._pending: deque[_Entry] = deque()
        self._disk_before = 0
        self.ended = False
        """True once ``run_removed`` was delivered: nothing follows."""

        # Artifact events are snapshots of the manifest: without a usable cursor (none, from
        # another process, or older than the window) the current one stands for all missed.
        missed_artifacts = list(channel.artifacts)[-1:]
        if cursor is not None and cursor.epoch == hub.epoch:
            self._artifacts = cursor.artifacts
            if cursor.artifacts >= channel.artifacts_floor:
                missed_artifacts = [e for e in channel.artifacts if e.seq > cursor.artifacts]
        self._pending.extend(missed_artifacts)
        window = [e for e in channel.lifecycle if e.seq > self._lifecycle]
        if window and window[0].seq > self._lifecycle + 1:
            self._disk_before = window[0].seq
        self._pending.extend(window)

    @property
    def cursor(self) -> RunCursor:
        return RunCursor(self._lifecycle, self._artifacts, self._hub.epoch)

    async def next(self, timeout: float | None = None) -> tuple[BridgeEvent, str] | None:
        """The next event and its JSON payload; None after ``timeout`` seconds idle.

        Raises :class:`SubscriberDroppedError` once the queue overflowed and is drained.
        """
        if self._disk_before:
            await self._load_history()
        while True:
            entry = await self._queue.take(self._pending, lambda: self.cursor, timeout)
            if entry is None:
                return None
            if entry.kind == "lifecycle":
                if entry.seq <= self._lifecycle:
                    continue
                self._lifecycle = entry.seq
            elif entry.kind == "artifacts":
                if entry.seq <= self._artifacts:
                    continue
                self._artifacts = entry.seq
            else:
                self.ended = True
            event = BridgeEvent(str(self.cursor), entry.run_id, entry.kind, entry.data)
            return event, entry.payload

    async def _load_history(self) -> None:
        after, before, self._disk_before = self._lifecycle, self._disk_before, 0
        channel = self._channel
        try:
            older = await asyncio.to_thread(self._hub._history, channel.run_dir, after, before)
        except OSError as exc:
            _log.warning(
                "%s: cannot read lifecycle history before seq %d (%s); replaying from there",
                channel.run_dir,
                before,
                exc,
            )
            return
        entries = [_entry(d["seq"], "lifecycle", channel.run_id, d) for d in older]
        self._pending.extendleft(reversed(entries))

    def interrupt(self) -> None:
        """Make a waiting :meth:`next` return None now (to end a stream from outside)."""
        self._queue.interrupt()

    def close(self) -> None:
        """Stop receiving (idempotent)."""
        self._hub._release(self._channel, self._queue)


class GlobalSubscription:
    """One subscriber of the all-runs stream: the full list first, then changes."""

    def __init__(self, hub: EventHub, cursor: GlobalCursor | None) -> None:
        self._hub = hub
        self._queue = _Queue(hub.queue_size)
        hub._global_subscribers.add(self._queue)
        self._counter = hub._global_seq
        self._pending: deque[_Entry] = deque()
        if cursor is not None and cursor.epoch == hub.epoch and cursor.counter <= self._counter:
            missed = [e for e in hub._global if e.seq > cursor.counter]
            if not missed or missed[0].seq == cursor.counter + 1:
                self._counter = cursor.counter
                self._pending.extend(missed)
                return
        runs = [s.to_dict() for s in hub.summaries()]
        self._pending.append(_entry(self._counter, "runs", None, {"runs": runs}))

    @property
    def cursor(self) -> GlobalCursor:
        return GlobalCursor(self._counter, self._hub.epoch)

    async def next(self, timeout: float | None = None) -> tuple[BridgeEvent, str] | None:
        """Like :meth:`RunSubscription.next`."""
        while True:
            entry = await self._queue.take(self._pending, lambda: self.cursor, timeout)
            if entry is None:
                return None
            if entry.kind != "runs":
                if entry.seq <= self._counter:
                    continue
                self._counter = entry.seq
            event = BridgeEvent(str(self.cursor), entry.run_id, entry.kind, entry.data)
            return event, entry.payload

    def interrupt(self) -> None:
        """Make a waiting :meth:`next` return None now (to end a stream from outside)."""
        self._queue.interrupt()

    def close(self) -> None:
        """Stop receiving (idempotent)."""
        self._hub._global_subscribers.discard(self._queue)
