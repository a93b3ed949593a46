"""``RunsWatcher``: watch a runs root, rescan only the runs that changed, yield typed events.

Native mode uses watchfiles' ``awatch`` (inotify, FSEvents, ...), with a slow backstop walk
for notifications the OS dropped; ``poll_ms`` switches to a polling mode for file systems
where notifications never arrive (NFS). Both work on any
asyncio loop, including a ``qasync.QEventLoop``. Rescans run in a worker thread, so a GUI
loop never blocks on the file system.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import watchfiles
from watchfiles import Change
from watchfiles.main import FileChange

from gui_fastpath.spawn import run_threads_below_us
from gui_fastpath.watch._backstop import Backstop
from gui_fastpath.watch._polling import RunsPoller, list_runs
from gui_fastpath.watch.events import (
    ManifestChanged,
    RunAppeared,
    RunEvent,
    RunRemoved,
    RunScanFailed,
)
from gui_fastpath.watch.filters import RunsFilter, run_id_of

if TYPE_CHECKING:
    from gui_fastpath.manifest import ArtifactManifest

__all__ = ["Batch", "RescanResult", "RunsWatcher", "StopEvent"]

logger = logging.getLogger(__name__)

ROOT_CHECK_MS = 1_000
"""How often an idle native watcher checks that the root is still the same directory."""
POLL_BUDGET_SHARE = 0.2
"""Share of each poll interval the polling mode may spend walking idle (cold) runs."""
FALLBACK_POLL_MS = 1_000
"""Poll interval used when native watching fails (e.g. the inotify watch limit)."""
NOTIFY_THREAD = "notify-rs"
"""Name of watchfiles' inotify thread: it runs below the GUI (:mod:`gui_fastpath.spawn`)."""
RENEW_AFTER_DELETIONS = 10_000
RENEW_DELETIONS_PER_RUN = 10
"""The OS watch is renewed after this many deletions (at least, and this many per known run)
to shed the ~100 bytes notify keeps per deleted directory; a renewal briefly holds two
watches, so scaling with the root keeps what is shed above what a renewal costs."""
_PAUSE_SLICE_S = 0.05
"""The polling mode notices ``stop()`` and the stop event at least this often."""

Batch = tuple[RunEvent, ...]


class StopEvent(Protocol):
    """Anything with ``is_set()``: ``asyncio.Event``, ``threading.Event``, ``anyio.Event``."""

    def is_set(self) -> bool: ...


class RescanResult(Protocol):
    """What a rescan returns; ``gui_fastpath.manifest.ManifestUpdate`` is one."""

    @property
    def manifest(self) -> ArtifactManifest: ...

    @property
    def changes(self) -> tuple[str, ...]: ...


def _update_manifest(run_dir: Path) -> RescanResult:
    from gui_fastpath.manifest import update_manifest

    return update_manifest(run_dir)


class RunsWatcher:
    """Watches a runs root; ``async for batch in watcher`` yields tuples of run events.

    The first batch reports the runs already there (``RunAppeared(initial=True)``), unless
    ``report_existing`` is False. After that, each change under ``ROOT/<run_id>/`` rescans
    that run only: a new run gives ``RunAppeared``, a rescan that changed the manifest gives
    ``ManifestChanged``, a deleted or moved-out run gives ``RunRemoved``, a failed rescan
    gives ``RunScanFailed`` (and watching goes on). A root that does not exist yet is waited
    for; a root that is deleted removes its runs and is waited for again.

    Args:
        root: the runs root, e.g. ``var/trainer/runs``.
        poll_ms: None watches with OS notifications; an interval in milliseconds polls
            instead (for NFS and other file systems where notifications never arrive).
        debounce_ms: a batch is yielded at most this long after the last change in it;
            changes closer together than half of it are grouped.
        max_batch_ms: the longest a batch keeps growing while changes keep coming; None
            means ten times ``debounce_ms``.
        rescan: ``run_dir -> result`` with ``.manifest`` and ``.changes``; defaults to
            :func:`gui_fastpath.manifest.update_manifest` (scan, then write ``artifacts.json``).
        stop_event: watching ends once ``stop_event.is_set()``; :meth:`stop` does the same.
        report_existing: report the runs already there in the first batch.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        poll_ms: int | None = None,
        debounce_ms: int = 50,
        max_batch_ms: int | None = None,
        rescan: Callable[[Path], RescanResult] | None = None,
        stop_event: StopEvent | None = None,
        report_existing: bool = True,
    ) -> None:
        self.root = Path(root).absolute()
        self.poll_ms = None if poll_ms is None else _positive_ms("poll_ms", poll_ms)
        self.debounce_ms = _positive_ms("debounce_ms", debounce_ms)
        self.max_batch_ms = (
            10 * debounce_ms if max_batch_ms is None else _positive_ms("max_batch_ms", max_batch_ms)
        )
        self.ready = asyncio.Event()
        """Set once changes are being watched and the runs already there are known."""
        self._rescan = rescan or _update_manifest
        self._stop_event = stop_event
        self._report_existing = report_existing
        self._stopping = threading.Event()
        self._effective_poll_ms = self.poll_ms
        self._known: set[str] = set()
        self._initial = False
        self._iterated = False

    @property
    def runs(self) -> frozenset[str]:
        """The run ids currently known to be under the root."""
        return frozenset(self._known)

    @property
    def polling(self) -> bool:
        """True when polling: asked for with ``poll_ms``, or after native watching failed."""
        return self._effective_poll_ms is not None

    def stop(self) -> None:
        """End the iteration soon (within one debounce step or poll slice); thread-safe."""
        self._stopping.set()

    def __aiter__(self) -> AsyncIterator[Batch]:
        if self._iterated:
            raise RuntimeError("a RunsWatcher can be iterated only once; create a new one")
        self._iterated = True
        return self._batches()

    def __repr__(self) -> str:
        mode = f"poll_ms={self._effective_poll_ms}" if self.polling else "native"
        return f"RunsWatcher({str(self.root)!r}, {mode}, debounce_ms={self.debounce_ms})"

    def _stopped(self) -> bool:
        return self._stopping.is_set() or (
            self._stop_event is not None and self._stop_event.is_set()
        )

    async def _batches(self) -> AsyncGenerator[Batch, None]:
        self._initial = self.root.is_dir()
        try:
            while await self._wait_for_root():
                real_root = os.path.realpath(self.root)
                if self._effective_poll_ms is None:
                    session = self._native_session(real_root)
                else:
                    session = self._polling_session(real_root, self._effective_poll_ms)
                async with contextlib.aclosing(session) as batches:
                    async for batch in batches:
                        yield batch
                if not self._stopped() and not self.root.is_dir() and self._known:
                    yield self._forget_all()
        finally:
            self._stopping.set()

    async def _wait_for_root(self) -> bool:
        """Return True once the root is a directory, False if stopped first."""
        warned = False
        while not self._stopped():
            if self.root.is_dir():
                return True
            if not warned:
                logger.warning("%s does not exist (yet); waiting for it", self.root)
                warned = True
            if self._effective_poll_ms is not None:
                self.ready.set()
                await self._pause(self._effective_poll_ms)
                continue
            watch = _Awatch(
                self,
                _nearest_existing_dir(self.root),
                recursive=False,
                rust_timeout=ROOT_CHECK_MS,
                yield_on_timeout=True,
                watch_filter=None,
            )
            try:
                if await watch.armed() and not self.root.is_dir():
                    self.ready.set()
                    await watch.next()
            except (OSError, RuntimeError) as exc:
                self._fall_back_to_polling(exc)
            finally:
                await watch.close()
        return False

    async def _native_session(self, real_root: str) -> AsyncGenerator[Batch, None]:
        identity = _identity(self.root)
        watch = self._root_watch(real_root)
        backstop = Backstop(real_root)  # for notifications the OS dropped
        deletions = 0
        try:
            if not await watch.armed():
                return
            batch = await asyncio.to_thread(self._resync, real_root)
            self.ready.set()
            if batch:
                yield batch
            while (changes := await watch.next()) is not None:
                if _identity(self.root) != identity or (Change.deleted, real_root) in changes:
                    return  # the root was deleted, moved or replaced: our OS watch is stale
                deletions += sum(change == Change.deleted for change, _ in changes)
                if deletions >= max(
                    RENEW_AFTER_DELETIONS, RENEW_DELETIONS_PER_RUN * len(self._known)
                ):
                    watch, missed = await self._renewed(watch, real_root, deletions)
                    changes |= missed
                    deletions = 0
                run_ids = {r for _, path in changes if (r := run_id_of(real_root, path))}
                if backstop.due():  # at least every ROOT_CHECK_MS: quiet roots yield too
                    run_ids |= await asyncio.to_thread(backstop.step, frozenset(self._known))
                if run_ids and (batch := await asyncio.to_thread(self._process, run_ids)):
                    yield batch
        except FileNotFoundError:
            return  # the root vanished as we started; the caller waits for it again
        except (OSError, RuntimeError) as exc:
            self._fall_back_to_polling(exc)
        finally:
            await watch.close()

    def _root_watch(self, real_root: str) -> _Awatch:
        return _Awatch(
            self,
            real_root,
            watch_filter=RunsFilter(real_root),
            debounce=self.max_batch_ms,
            step=max(1, self.debounce_ms // 2),
            rust_timeout=ROOT_CHECK_MS,
            yield_on_timeout=True,
        )

    async def _renewed(
        self, old: _Awatch, real_root: str, deletions: int
    ) -> tuple[_Awatch, set[FileChange]]:
        """A new OS watch of the root, armed before the old one closes, and what the old saw.

        notify 8.0 (inside watchfiles) keeps ~100 bytes for every watched directory that is
        deleted; a new watch starts from nothing. The old watch's second ``next()`` began
        after the new watch was armed, so between them no change is missed.
        """
        logger.debug("renewing the OS watch of %s after %d deletions", self.root, deletions)
        new = self._root_watch(real_root)
        missed: set[FileChange] = set()
        try:
            if not await new.armed():
                await new.close()
                return old, missed
            for _ in range(2):
                changes = await old.next()
                if changes is None:
                    break
                missed |= changes
        except BaseException:
            await new.close()
            raise
        await old.close()
        return new, missed

    async def _polling_session(self, real_root: str, poll_ms: int) -> AsyncGenerator[Batch, None]:
        poller = RunsPoller(real_root, budget_s=poll_ms / 1000 * POLL_BUDGET_SHARE)
        try:
            await asyncio.to_thread(poller.baseline)
        except OSError:
            return
        batch = await asyncio.to_thread(self._resync, real_root)
        self.ready.set()
        if batch:
            yield batch
        while await self._pause(poll_ms):
            result = await asyncio.to_thread(poller.tick)
            if not result.root_ok:
                return
            if result.changed and (batch := await asyncio.to_thread(self._process, result.changed)):
                yield batch

    async def _pause(self, ms: int) -> bool:
        """Wait ``ms`` milliseconds, noticing a stop; True if not stopped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ms / 1000
        while not self._stopped():
            left = deadline - loop.time()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, _PAUSE_SLICE_S))
        return False

    def _fall_back_to_polling(self, exc: BaseException) -> None:
        logger.warning(
            "native watching of %s failed (%s); polling every %d ms instead. "
            "Fix: raise fs.inotify.max_user_watches, or pass poll_ms (--poll-ms) yourself",
            self.root,
            exc,
            FALLBACK_POLL_MS,
        )
        self._effective_poll_ms = FALLBACK_POLL_MS

    # --- run bookkeeping, in a worker thread -------------------------------------------

    def _resync(self, real_root: str) -> Batch:
        """Reconcile the known runs with a listing of the root (at start, after a restart).

        The first time, if the root was there when iteration began, the runs found are the
        existing ones (``initial=True``, or only recorded if ``report_existing`` is False).
        """
        initial, self._initial = self._initial, False
        try:
            current = list_runs(real_root)
        except OSError as exc:
            logger.warning("cannot list the runs root %s: %s", self.root, exc)
            return ()
        gone = sorted(self._known - current)
        self._known -= set(gone)
        events: list[RunEvent] = [RunRemoved(r, self.root / r) for r in gone]
        if initial and not self._report_existing:
            self._known |= current
        else:
            events.extend(self._events_for(sorted(current), initial=initial))
        return tuple(events)

    def _process(self, run_ids: Iterable[str]) -> Batch:
        return tuple(self._events_for(sorted(run_ids), initial=False))

    def _events_for(self, run_ids: Iterable[str], *, initial: bool) -> Iterable[RunEvent]:
        for run_id in run_ids:
            event = self._event_for(run_id, initial=initial)
            if event is not None:
                yield event

    def _event_for(self, run_id: str, *, initial: bool) -> RunEvent | None:
        run_dir = self.root / run_id
        if run_dir.is_dir():
            try:
                update = self._rescan(run_dir)
            except Exception as exc:  # one bad run must never stop the watcher
                if run_dir.is_dir():
                    return self._scan_failed(run_id, run_dir, exc)
            else:
                if run_id not in self._known:
                    self._known.add(run_id)
                    return RunAppeared(run_id, run_dir, update.manifest, initial=initial)
                if update.changes:
                    return ManifestChanged(run_id, run_dir, update.manifest, tuple(update.changes))
                return None
        if run_id in self._known:
            self._known.discard(run_id)
            return RunRemoved(run_id, run_dir)
        return None

    def _scan_failed(self, run_id: str, run_dir: Path, exc: Exception) -> RunScanFailed:
        message = str(exc) or type(exc).__name__
        if str(run_dir) not in message:
            message = f"{run_dir}: {message}"
        logger.warning("rescan failed: %s", message)
        return RunScanFailed(run_id, run_dir, message)

    def _forget_all(self) -> Batch:
        gone = sorted(self._known)
        self._known.clear()
        return tuple(RunRemoved(r, self.root / r) for r in gone)


class _SessionStop:
    """The ``stop_event`` given to awatch: set when its session or the whole watcher ends.

    watchfiles calls ``is_set()`` from its thread once per step, the first time only after
    the OS watch is in place, which is how :class:`_Awatch` knows it is armed.
    """

    def __init__(self, watcher_stopped: Callable[[], bool], on_armed: Callable[[], None]):
        self._watcher_stopped = watcher_stopped
        self._on_armed: Callable[[], None] | None = on_armed
        self._ended = threading.Event()

    def is_set(self) -> bool:
        if self._on_armed is not None:
            on_armed, self._on_armed = self._on_armed, None
            on_armed()
        return self._ended.is_set() or self._watcher_stopped()

    def set(self) -> None:
        self._ended.set()


class _Awatch:
    """One ``awatch`` whose thread stops within a step when we stop, close or are cancelled.

    (Cancelling a task that awaits ``awatch`` directly waits for its thread, up to
    ``rust_timeout``; here the awaiting happens in a task of our own that we stop first.)
    """

    def __init__(self, owner: RunsWatcher, path: str | Path, **options: Any) -> None:
        loop = asyncio.get_running_loop()
        self._armed = asyncio.Event()

        def on_armed() -> None:
            run_threads_below_us(NOTIFY_THREAD)  # busy when many runs write; holds no GIL
            with contextlib.suppress(RuntimeError):  # the loop closed under us
                loop.call_soon_threadsafe(self._armed.set)

        self._stop = _SessionStop(owner._stopped, on_armed)
        self._changes = watchfiles.awatch(
            path,
            stop_event=self._stop,  # type: ignore[arg-type]  # a Protocol, as in watch()
            force_polling=False,
            **options,
        )
        self._pending = asyncio.ensure_future(_next(self._changes))

    async def armed(self) -> bool:
        """Wait until the OS watch is in place: True, or False if it stopped first.

        Raises what creating the watch raised (``FileNotFoundError``, ``OSError``).
        """
        waiter = asyncio.ensure_future(self._armed.wait())
        try:
            await asyncio.wait({waiter, self._pending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if self._pending.done() and not self._pending.cancelled():
            exc = self._pending.exception()
            if isinstance(exc, StopAsyncIteration):
                return False
            if exc is not None:
                raise exc
        return True

    async def next(self) -> set[FileChange] | None:
        """The next set of changes (empty after a quiet ``rust_timeout``); None once stopped."""
        await asyncio.wait({self._pending})
        try:
            changes = self._pending.result()
        except StopAsyncIteration:
            return None
        self._pending = asyncio.ensure_future(_next(self._changes))
        return changes

    async def close(self) -> None:
        self._stop.set()
        if not self._pending.done():
            await asyncio.wait({self._pending})
        if not self._pending.cancelled():
            self._pending.exception()  # retrieved: it was reported (or is irrelevant) already
        await self._changes.aclose()


async def _next(changes: AsyncGenerator[set[FileChange], None]) -> set[FileChange]:
    return await changes.__anext__()


def _positive_ms(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of milliseconds >= 1, got {value!r}")
    return value


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _nearest_existing_dir(path: Path) -> Path:
    for candidate in path.parents:
        if candidate.is_dir():
            return candidate
    return Path(path.anchor)
