"""The event source for a GUI on the same machine as the runs: no server in between.

Runs come and go as the runs watcher (:mod:`gui_fastpath.watch`) reports, and its rescans
keep each ``artifacts.json`` current (``keep_manifests=False`` leaves that to the runs'
supervisors, which refresh it every second, and only follows what they write). Lifecycle
events come from following each run's ``lifecycle.jsonl``, woken by a small
``watchfiles.awatch`` of our own tuned for latency (a heartbeat reaches subscribers within
tens of milliseconds), which also sees manifests written by others (the supervisor): an
artifacts event is published whenever the manifest's content differs from the one last
published, whoever wrote it. Every :data:`BACKSTOP_MS` it also looks at each journal and
manifest itself, so a change whose notification the OS dropped still arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import attrs
import watchfiles

from gui_fastpath.bridge._hub import (
    EventHub,
    GlobalSubscription,
    RunSubscription,
    SubscriberDroppedError,
)
from gui_fastpath.bridge._lifecycle_tail import LifecycleTail, read_lifecycle_range
from gui_fastpath.bridge.events import (
    BadRunIdError,
    BridgeEvent,
    GlobalCursor,
    RunCursor,
    RunSummary,
    validate_run_id,
)
from gui_fastpath.lifecycle import LIFECYCLE_NAME
from gui_fastpath.manifest import (
    MANIFEST_NAME,
    ArtifactManifest,
    ManifestError,
    diff_manifests,
    manifest_to_dict,
    read_manifest,
)

__all__ = ["LocalEventSource", "RunEventsFactory"]

_log = logging.getLogger(__name__)

_FALLBACK_POLL_MS = 1_000
"""Poll interval when file notifications fail (e.g. the inotify watch limit)."""
BACKSTOP_MS = 10_000
"""With OS notifications, every journal and manifest is also looked at (``stat``) this
often: a change whose notification the OS dropped (the inotify queue overflows, silently,
when its reader falls behind under load) still arrives, at most this much later."""
_FOLLOWED = (LIFECYCLE_NAME, MANIFEST_NAME)
_CLOSE_WAIT_S = 2.0

RunEventsFactory = Callable[[Path], AsyncIterable[Any]]
"""``runs_root -> async iterable`` of watcher events (or tuples of them), each with
``to_dict()`` (``type`` ``run_appeared``/``manifest_changed``/``run_removed``) and, when it
has one, ``.manifest`` (an ``ArtifactManifest``). The seam tests replace; the default is
:class:`gui_fastpath.watch.RunsWatcher`."""


class LocalEventSource:
    """Runs under ``runs_root`` and their events, straight from disk.

    Starts on first use (or ``await start()``); ``await close()`` stops the watchers. All
    methods must be called from the same asyncio loop (a qasync loop is fine).
    """

    def __init__(
        self,
        runs_root: str | os.PathLike[str],
        *,
        poll_ms: int | None = None,
        queue_size: int = 1024,
        run_events: RunEventsFactory | None = None,
        keep_manifests: bool = True,
        backstop_ms: int | None = BACKSTOP_MS,
    ) -> None:
        self.runs_root = Path(runs_root).absolute()
        self.keep_manifests = keep_manifests
        self._poll_ms = poll_ms
        self._backstop_ms = backstop_ms if poll_ms is None else None
        self._looked: dict[str, tuple[int, int, int]] | None = None
        """The backstop's last look at every journal and manifest (None before the first)."""
        self._run_events = run_events or self._default_run_events
        self._hub = EventHub(read_lifecycle_range, queue_size=queue_size)
        self._real_root = os.path.realpath(self.runs_root)
        self._tails: dict[str, LifecycleTail] = {}
        self._manifests: dict[str, ArtifactManifest] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._started = False

    @property
    def epoch(self) -> str:
        """This source's epoch (part of every event id it issues)."""
        return self._hub.epoch

    async def start(self) -> None:
        """Read the runs already there and start following changes (idempotent)."""
        async with self._start_lock:
            if not self._started:
                await self._start()
                self._started = True

    async def list_runs(self) -> list[RunSummary]:
        """Every run under the root with its latest state, sorted by run id."""
        await self.start()
        return self._hub.summaries()

    async def subscribe(
        self, run_id: str | None = None, last_event_id: str | None = None
    ) -> AsyncIterator[BridgeEvent]:
        """Events of one run (or, with ``run_id=None``, of the list of runs) after
        ``last_event_id``; a subscriber that falls behind catches up from disk."""
        subscription = await self.open_subscription(run_id, last_event_id)
        if self._stop.is_set():
            subscription.interrupt()
        try:
            while True:
                try:
                    item = await subscription.next()
                except SubscriberDroppedError:
                    _log.info("subscriber of %s fell behind; resuming", run_id or "all runs")
                    subscription.close()
                    subscription = self._reopen(run_id, subscription)
                    continue
                if item is None:  # interrupted: the source was closed
                    return
                yield item[0]
                if isinstance(subscription, RunSubscription) and subscription.ended:
                    return
        finally:
            subscription.close()

    async def open_subscription(
        self, run_id: str | None, last_event_id: str | None
    ) -> RunSubscription | GlobalSubscription:
        """A raw subscription (the SSE server's entry point); raises ``BadRunIdError`` or
        ``BadEventIdError`` for bad input."""
        if run_id is not None:
            validate_run_id(run_id)
        cursor_text = last_event_id or None
        await self.start()
        if run_id is None:
            cursor = GlobalCursor.parse(cursor_text) if cursor_text else None
            return self._hub.subscribe_all(cursor)
        run_cursor = RunCursor.parse(cursor_text) if cursor_text else None
        return self._hub.subscribe_run(run_id, self.runs_root / run_id, run_cursor)

    def _reopen(
        self, run_id: str | None, old: RunSubscription | GlobalSubscription
    ) -> RunSubscription | GlobalSubscription:
        if isinstance(old, GlobalSubscription):
            return self._hub.subscribe_all(old.cursor)
        assert run_id is not None
        return self._hub.subscribe_run(run_id, self.runs_root / run_id, old.cursor)

    async def close(self) -> None:
        """Stop following the runs (idempotent); open subscriptions end."""
        self._stop.set()
        self._hub.interrupt_all()
        if self._tasks:
            # Our file watch sees the stop event within a step and ends by itself: its
            # thread, if cancelled instead, would report to the loop later, perhaps once the
            # loop is gone (qasync then crashes). It is cancelled only if it does not end.
            # (The runs watcher stops its own threads when cancelled.)
            files, *others = self._tasks
            for task in others:
                task.cancel()
            await asyncio.wait({files}, timeout=_CLOSE_WAIT_S)
            files.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()

    async def __aenter__(self) -> LocalEventSource:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- internals -------------------------------------------------------------------------

    async def _start(self) -> None:
        if not self.runs_root.is_dir():
            raise FileNotFoundError(
                f"runs root {self.runs_root} is not a directory: create it or pass the "
                "directory the trainer writes runs into"
            )
        # The file watcher is armed (synchronously, on its task's first step) before the
        # initial read, so no append can fall between the two.
        changes = self._file_changes()
        follow_files = functools.partial(self._follow_files, changes)
        self._tasks.append(self._spawn("journals and manifests", follow_files))
        await asyncio.sleep(0)
        for run in await asyncio.to_thread(self._initial_runs):
            if not self._hub.knows(run.run_id):
                self._tails[run.run_id] = run.tail
                self._hub.add_run(run.run_id, run.run_dir, run.lifecycle)
                if run.manifest is not None:
                    self._publish_manifest(run.run_id, run.manifest)
        if self.keep_manifests:
            self._tasks.append(self._spawn("run directories", self._follow_runs))

    def _spawn(
        self, what: str, work: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await work()
            except Exception:
                _log.exception(
                    "%s: stopped following %s; those events stop until restart",
                    self.runs_root,
                    what,
                )

        return asyncio.create_task(guarded())

    def _initial_runs(self) -> list[_InitialRun]:
        if self._backstop_ms:  # first: a change after this look is one the backstop sees
            looked: dict[str, tuple[int, int, int]] = {}
            self._poll_once(looked)
            self._looked = looked
        found = []
        for entry in sorted(os.scandir(self.runs_root), key=lambda e: e.name):
            if _is_run_dir(entry):
                run_dir = Path(entry.path)
                tail = LifecycleTail(run_dir)
                found.append(
                    _InitialRun(entry.name, run_dir, tail, tail.read(), _read_manifest(run_dir))
                )
        return found

    def _file_changes(self) -> AsyncIterator[set[tuple[watchfiles.Change, str]]]:
        if self._poll_ms is not None:
            return self._poll_files(self._poll_ms)
        root = self._real_root

        def wanted(_change: watchfiles.Change, path: str) -> bool:
            return _classify(root, path) is not None

        return self._native_or_polling(
            watchfiles.awatch(
                self.runs_root,
                watch_filter=wanted,
                debounce=50,
                step=5,
                stop_event=self._stop,
                rust_timeout=self._backstop_ms or None,  # None: watchfiles' default
                yield_on_timeout=bool(self._backstop_ms),
            )
        )

    async def _native_or_polling(
        self, native: AsyncIterator[set[tuple[watchfiles.Change, str]]]
    ) -> AsyncIterator[set[tuple[watchfiles.Change, str]]]:
        next_look = time.monotonic() + (self._backstop_ms or 0) / 1000
        try:
            async for batch in native:  # a batch at least every backstop_ms (maybe empty)
                looked = self._looked
                if looked is not None and self._backstop_ms and time.monotonic() >= next_look:
                    batch = batch | await asyncio.to_thread(self._poll_once, looked)
                    next_look = time.monotonic() + self._backstop_ms / 1000
                if batch:
                    yield batch
        except OSError as exc:  # e.g. the inotify watch limit
            _log.warning(
                "%s: file notifications failed (%s); polling every %d ms instead",
                self.runs_root,
                exc,
                _FALLBACK_POLL_MS,
            )
            async for batch in self._poll_files(_FALLBACK_POLL_MS):
                yield batch

    async def _poll_files(
        self, interval_ms: int
    ) -> AsyncIterator[set[tuple[watchfiles.Change, str]]]:
        """Stat every run's journal and manifest each ``interval_ms`` (watchfiles' own
        polling compares whole-second mtimes and misses appends within a second). The first
        round reports everything, so nothing written before it is missed."""
        seen: dict[str, tuple[int, int, int]] = {}
        while not self._stop.is_set():
            changed = await asyncio.to_thread(self._poll_once, seen)
            if changed:
                yield changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval_ms / 1000)

    def _poll_once(
        self, seen: dict[str, tuple[int, int, int]]
    ) -> set[tuple[watchfiles.Change, str]]:
        changed: set[tuple[watchfiles.Change, str]] = set()
        current: dict[str, tuple[int, int, int]] = {}
        try:
            entries = [e for e in os.scandir(self._real_root) if _is_run_dir(e)]
        except OSError:
            return changed
        for entry in entries:
            for path in (entry.path, *(os.path.join(entry.path, n) for n in _FOLLOWED)):
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                # A run directory counts once (its mtime changes with any file in it).
                is_run = path == entry.path
                key = (st.st_ino, 0, 0) if is_run else (st.st_ino, st.st_size, st.st_mtime_ns)
                current[path] = key
                if seen.get(path) != key:
                    changed.add((watchfiles.Change.modified, path))
        changed.update((watchfiles.Change.deleted, path) for path in seen.keys() - current.keys())
        seen.clear()
        seen.update(current)
        return changed

    async def _follow_files(
        self, changes: AsyncIterator[set[tuple[watchfiles.Change, str]]]
    ) -> None:
        async for batch in changes:
            touched: dict[str, set[str]] = {}
            for _, path in batch:
                found = _classify(self._real_root, path)
                if found is not None:
                    touched.setdefault(found[0], set()).add(found[1])
            for run_id, what in sorted(touched.items()):
                run_dir = self.runs_root / run_id
                if not run_dir.is_dir():
                    if not self.keep_manifests:  # else the runs watcher reports it
                        self._forget_run(run_id)
                    continue
                self._ensure_run(run_id, run_dir)
                self._hub.publish_lifecycle(run_id, self._tails[run_id].read())
                if "manifest" in what:
                    manifest = _read_manifest(run_dir)
                    if manifest is not None:
                        self._publish_manifest(run_id, manifest)

    async def _follow_runs(self) -> None:
        async for item in self._run_events(self.runs_root):
            for event in item if isinstance(item, tuple) else (item,):
                self._apply_run_event(event)

    def _apply_run_event(self, event: Any) -> None:
        info = event.to_dict()
        kind, run_id = info.get("type"), str(info.get("run_id", ""))
        try:
            validate_run_id(run_id)
        except BadRunIdError:
            return
        if kind in ("run_appeared", "manifest_changed"):
            self._ensure_run(run_id, self.runs_root / run_id)
            self._publish_manifest(run_id, event.manifest)
        elif kind == "run_removed":
            self._forget_run(run_id)

    def _forget_run(self, run_id: str) -> None:
        self._tails.pop(run_id, None)
        self._manifests.pop(run_id, None)
        self._hub.remove_run(run_id)

    def _ensure_run(self, run_id: str, run_dir: Path) -> None:
        if not self._hub.knows(run_id):
            tail = self._tails[run_id] = LifecycleTail(run_dir)
            self._hub.add_run(run_id, run_dir, tail.read())

    def _publish_manifest(self, run_id: str, manifest: ArtifactManifest) -> None:
        """Publish a manifest unless it is the one last published (whoever wrote it)."""
        old = self._manifests.get(run_id)
        if old is not None and old.same_content(manifest):
            return
        self._manifests[run_id] = manifest
        changes = diff_manifests(old, manifest)
        self._hub.publish_artifacts(run_id, manifest_to_dict(manifest), changes)

    def _default_run_events(self, root: Path) -> AsyncIterable[Any]:
        from gui_fastpath.watch import RunsWatcher

        return RunsWatcher(root, poll_ms=self._poll_ms, stop_event=self._stop)


@attrs.frozen
class _InitialRun:
    run_id: str
    run_dir: Path
    tail: LifecycleTail
    lifecycle: list[dict[str, Any]]
    manifest: ArtifactManifest | None


def _is_run_dir(entry: os.DirEntry[str]) -> bool:
    try:
        validate_run_id(entry.name)
        return entry.is_dir()
    except (BadRunIdError, OSError):
        return False


def _read_manifest(run_dir: Path) -> ArtifactManifest | None:
    try:
        return read_manifest(run_dir)
    except (ManifestError, OSError) as exc:
        _log.warning("%s; artifact events of this run wait for a valid one", exc)
        return None


def _classify(root: str, path: str) -> tuple[str, str] | None:
    """``(run_id, what)`` for a path that matters, else None: ``what`` is ``journal``,
    ``manifest`` or ``run`` (a new run directory: its journal may be written before the
    directory is watched, so its creation counts). Other writers' ``artifacts.json`` count
    too: the watcher reports only the manifests its own rescans changed."""
    head, name = os.path.split(path)
    if head == root:
        run_id, what = name, "run"
    elif os.path.dirname(head) == root and name in (LIFECYCLE_NAME, MANIFEST_NAME):
        run_id, what = os.path.basename(head), "journal" if name == LIFECYCLE_NAME else "manifest"
    else:
        return None
    try:
        return validate_run_id(run_id), what
    except BadRunIdError:
        return None
