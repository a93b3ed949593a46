"""The worker supervisor: launch, watch and stop one fast-lane worker; emit its lifecycle.

The worker runs as the leader of a process group of its own; its stdout and stderr are
teed to ``logs/<worker>.stdout.log`` and ``.stderr.log`` in the run directory. Lifecycle
events (:class:`RunLifecycleEvent`) are journaled to ``lifecycle.jsonl`` and handed to
listeners and subscribers on the asyncio loop the supervisor was started on (a plain
asyncio loop or the host's qasync loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gui_fastpath.lifecycle.events import RunLifecycleEvent, RunState
from gui_fastpath.lifecycle.helper_sessions import HelperSessions
from gui_fastpath.lifecycle.journal import LifecycleJournal
from gui_fastpath.lifecycle.process_group import group_members, signal_group, spawn_in_new_group
from gui_fastpath.lifecycle.progress import ProgressTracker
from gui_fastpath.lifecycle.protocol import ProgressSample, WorkerMessage, sample_from_payload
from gui_fastpath.lifecycle.sidecar import HEARTBEAT_NAME, SidecarHeartbeat
from gui_fastpath.lifecycle.tee import StreamTee
from gui_fastpath.lifecycle.tfevents import EventFileSteps
from gui_fastpath.lifecycle.worker_layout import layout_from_env

__all__ = ["ManifestRefresher", "Supervisor", "default_manifest_refresher", "log_paths"]

_log = logging.getLogger(__name__)

ManifestRefresher = Callable[[Path], Any]
"""Rescans a run directory and rewrites its manifest; returns the ``ArtifactManifest``."""

_DRAIN_TIMEOUT_S = 2.0
_KILL_TIMEOUT_S = 5.0
_GROUP_POLL_S = 0.02
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def default_manifest_refresher(run_dir: Path) -> Any:
    """``gui_fastpath.manifest.update_manifest(run_dir).manifest``, imported on first use."""
    from gui_fastpath.manifest import update_manifest

    return update_manifest(run_dir).manifest


def log_paths(run_dir: str | os.PathLike[str], worker: str = "worker") -> tuple[Path, Path]:
    """Where the supervisor tees a worker's stdout and stderr."""
    stem = _SAFE_NAME.sub("_", worker) or "worker"
    logs = Path(run_dir) / "logs"
    return logs / f"{stem}.stdout.log", logs / f"{stem}.stderr.log"


class Supervisor:
    """Runs one worker command for one run directory.

    ``await start()`` launches it and emits ``STARTED``; ``await wait()`` returns the
    terminal event; ``await cancel()`` stops the whole process group (SIGTERM, then
    SIGKILL after ``grace_s``) and returns ``CANCELLED``. Use it as an async context
    manager to be sure the worker never outlives the block.

    ``env`` is added to this process's environment (plus ``PYTHONUNBUFFERED=1`` and
    ``GUI_FASTPATH_RUN_DIR``/``GUI_FASTPATH_RUN_ID`` unless set); ``worker`` names the log
    files; ``stall_after_s`` (``None``: never) flags a run silent for that long as stalled;
    ``heartbeat_file`` is the sidecar JSON file, relative to the run directory (``None``: the
    worker environment's ``GUI_FASTPATH_HEARTBEAT_FILE``, else ``heartbeat.json``; a hint
    file naming another wins); the layout routing chose (that variable,
    ``GUI_FASTPATH_TENSORBOARD_DIR``, ``WANDB_DIR``, ``GUI_FASTPATH_CHECKPOINTS_DIR``) is
    recorded in ``fastpath.json`` at launch, for the scanner (with ``heartbeat_file``, if
    given, as the heartbeat file);
    ``scan_interval_s`` paces artifact rescans; ``progress_interval_s`` is the shortest
    time between two ``RUNNING`` progress events; ``refresh_manifest`` (``None``: off)
    rewrites ``artifacts.json`` at launch, while running and at exit.
    """

    def __init__(
        self,
        command: Sequence[str],
        run_dir: str | os.PathLike[str],
        *,
        run_id: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        worker: str = "worker",
        total_steps: int | None = None,
        stall_after_s: float | None = 120.0,
        grace_s: float = 5.0,
        heartbeat_file: str | None = None,
        scan_interval_s: float = 1.0,
        progress_interval_s: float = 0.05,
        stderr_tail_lines: int = 20,
        refresh_manifest: ManifestRefresher | None = default_manifest_refresher,
        journal_fsync: bool = True,
    ) -> None:
        if not command:
            raise ValueError("command is empty: give the worker's program and its arguments")
        self.command = tuple(str(part) for part in command)
        self.run_dir = Path(run_dir)
        self.run_id = run_id or self.run_dir.name
        self.stdout_log, self.stderr_log = log_paths(self.run_dir, worker)
        self._env = env
        self._cwd = None if cwd is None else str(cwd)
        self._stall_after_s = stall_after_s
        self._grace_s = grace_s
        self._heartbeat_file = heartbeat_file
        self._sidecar = SidecarHeartbeat(self.run_dir, heartbeat_file or HEARTBEAT_NAME)
        self._scan_interval_s = scan_interval_s
        self._progress_interval_s = progress_interval_s
        self._stderr_tail_lines = stderr_tail_lines
        self._refresh_manifest = refresh_manifest
        self._journal = LifecycleJournal(self.run_dir, fsync=journal_fsync)
        self._total_steps = total_steps

        self.events: list[RunLifecycleEvent] = []
        """Every event emitted so far, in order."""
        self.pid: int | None = None
        self._helpers: HelperSessions | None = None
        self._listeners: list[Callable[[RunLifecycleEvent], None]] = []
        self._queues: list[asyncio.Queue[RunLifecycleEvent]] = []
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Future[int] | None = None
        self._task: asyncio.Task[RunLifecycleEvent] | None = None
        self._tees: tuple[StreamTee, ...] = ()
        self._tees_done = asyncio.Event()
        self._started_at = time.monotonic()
        self._tracker = ProgressTracker(started=self._started_at, total_steps=total_steps)
        self._stalled = False
        self._last_artifact_activity = self._started_at
        self._last_running_emit = float("-inf")
        self._pending_running: asyncio.TimerHandle | None = None
        self._worker_failure: WorkerMessage | None = None
        self._worker_end: str | None = None
        self._cancel_requested = False
        self._termination: asyncio.Task[str] | None = None
        self._termination_note: str | None = None
        self._tb_readers: dict[str, EventFileSteps] = {}
        self._newest_checkpoint: str | None = None
        self._manifest: Any = None
        self._refresh_broken = False

    # ----------------------------------------------------------------- public API

    @property
    def final_event(self) -> RunLifecycleEvent | None:
        """The terminal event, once the run has ended."""
        return self.events[-1] if self.events and self.events[-1].state.terminal else None

    @property
    def heartbeat_path(self) -> Path:
        """The sidecar heartbeat file followed now (it can change once a hint names another)."""
        return self._sidecar.path

    def add_listener(self, callback: Callable[[RunLifecycleEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on the loop for each new event; returns a disposer."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    async def subscribe(self) -> AsyncIterator[RunLifecycleEvent]:
        """Every event, past ones first, until (and including) the terminal one."""
        queue: asyncio.Queue[RunLifecycleEvent] = asyncio.Queue()
        for event in self.events:
            queue.put_nowait(event)
        self._queues.append(queue)
        try:
            while True:
                event = await queue.get()
                yield event
                if event.state.terminal:
                    return
        finally:
            self._queues.remove(queue)

    async def start(self) -> RunLifecycleEvent:
        """Launch the worker; returns ``STARTED`` (or ``FAILED`` if it could not start)."""
        if self._loop is not None:
            raise RuntimeError(f"run {self.run_id}: supervisor already started")
        self._loop = asyncio.get_running_loop()
        self._journal.open()
        self._seq = self._journal.last_seq
        self._started_at = time.monotonic()
        self._tracker = ProgressTracker(started=self._started_at, total_steps=self._total_steps)
        for log in (self.stdout_log, self.stderr_log):
            try:
                log.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
            except OSError as exc:
                reason = exc.strerror or str(exc)
                return self._fail_to_start(exc, f"cannot write the worker's log {log}: {reason}")
        env = self._child_env()
        self._record_layout(env)
        try:
            proc = spawn_in_new_group(self.command, env=env, cwd=self._cwd)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return self._fail_to_start(exc, f"cannot start {self.command[0]!r}: {reason}")
        self.pid = proc.pid
        self._helpers = HelperSessions(proc.pid)
        assert proc.stdout is not None and proc.stderr is not None
        out = StreamTee(
            os.dup(proc.stdout.fileno()),
            self.stdout_log,
            on_messages=self._post,
            on_eof=self._post_eof,
            tail_bytes=0,
        )
        err = StreamTee(os.dup(proc.stderr.fileno()), self.stderr_log, on_eof=self._post_eof)
        proc.stdout.close()
        proc.stderr.close()
        self._tees = (out, err)
        for tee in self._tees:
            tee.start()
        self._exit = self._loop.create_future()
        threading.Thread(
            target=self._wait_for_exit, args=(proc,), name=f"wait:{proc.pid}", daemon=True
        ).start()
        started = self._emit(
            RunState.STARTED,
            pid=proc.pid,
            progress=self._tracker.snapshot(self._started_at),
            message=f"started {Path(self.command[0]).name} as pid {proc.pid}",
        )
        self._task = self._loop.create_task(self._supervise())
        return started

    async def wait(self) -> RunLifecycleEvent:
        """The terminal event, once the worker is gone and its logs are complete."""
        if self._task is None:
            final = self.final_event
            if final is None:
                raise RuntimeError(f"run {self.run_id}: supervisor not started")
            return final
        return await asyncio.shield(self._task)

    async def run(self) -> RunLifecycleEvent:
        """Start, then wait for the end."""
        await self.start()
        return await self.wait()

    async def cancel(self, reason: str | None = None) -> RunLifecycleEvent:
        """Stop the worker's whole process group; returns the terminal event."""
        if self._exit is not None and not self._exit.done():
            if not self._cancel_requested:
                _log.info(
                    "run %s: cancel requested%s", self.run_id, f" ({reason})" if reason else ""
                )
            self._cancel_requested = True
            await self._terminate("cancel requested")
        return await self.wait()

    async def __aenter__(self) -> Supervisor:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel("supervisor context exited")

    # ------------------------------------------------------------------ internals

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self._env or {})
        env.setdefault("PYTHONUNBUFFERED", "1")  # heartbeats must not sit in a pipe buffer
        env.setdefault("GUI_FASTPATH_RUN_DIR", str(self.run_dir.resolve()))
        env.setdefault("GUI_FASTPATH_RUN_ID", self.run_id)
        return env

    def _record_layout(self, env: Mapping[str, str]) -> None:
        """Follow the heartbeat file routing chose; write ``fastpath.json`` for the scanner."""
        layout = layout_from_env(env, self.run_dir, self._cwd)
        if self._heartbeat_file is not None:
            layout["heartbeat_file"] = Path(self._heartbeat_file).as_posix()  # ours wins
        elif "heartbeat_file" in layout:
            self._sidecar.follow(layout["heartbeat_file"])
        if not layout:
            return
        try:
            from gui_fastpath.manifest import RunLayout, write_run_layout

            write_run_layout(self.run_dir, RunLayout(**layout))
        except (ImportError, OSError) as exc:
            _log.warning("run %s: cannot record the layout in fastpath.json: %s", self.run_id, exc)

    def _fail_to_start(self, exc: OSError, error: str) -> RunLifecycleEvent:
        event = self._emit(
            RunState.FAILED,
            error=error,
            error_type=type(exc).__name__,
            message=f"could not start the worker: {exc.strerror or exc}",
        )
        self._journal.close()
        return event

    def _wait_for_exit(self, proc: Any) -> None:
        status = proc.wait()
        loop, future = self._loop, self._exit
        assert loop is not None and future is not None

        def resolve() -> None:
            if not future.done():
                future.set_result(status)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(resolve)

    def _post_eof(self) -> None:
        """From a tee thread that has finished: wake :meth:`_drain`."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._tee_finished)

    def _tee_finished(self) -> None:
        if all(tee.done for tee in self._tees):
            self._tees_done.set()

    def _post(self, messages: list[WorkerMessage]) -> None:
        """From a tee thread: hand a batch of worker messages to the loop."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_messages, messages)

    async def _supervise(self) -> RunLifecycleEvent:
        assert self._exit is not None
        monitor = asyncio.ensure_future(self._monitor())
        try:
            status = await asyncio.shield(self._exit)
        except asyncio.CancelledError:  # the loop is shutting down: the worker goes too
            self._cancel_requested = True
            await self._terminate("supervisor cancelled")
            status = await self._exit
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
        if self._termination is None and group_members(self.pid or 0):
            await self._terminate("the worker exited but left processes in its group")
        if self._termination is not None:
            self._termination_note = await asyncio.shield(self._termination)
        await self._drain()
        self._poll_sidecar()
        await self._refresh_artifacts()
        self._check_stall(may_stall=False)
        return self._finish(status)

    async def _monitor(self) -> None:
        next_scan = time.monotonic()
        tick = 0.2 if self._stall_after_s is None else min(0.2, self._stall_after_s / 4)
        while True:
            now = time.monotonic()
            self._poll_sidecar()
            if self._helpers is not None:
                self._helpers.look_if_due()
            if now >= next_scan:
                next_scan = now + self._scan_interval_s
                await self._refresh_artifacts()
            self._check_stall()
            await asyncio.sleep(tick)

    def _on_messages(self, messages: list[WorkerMessage]) -> None:
        if self.final_event is not None:
            return
        changed = False
        for message in messages:
            sample = sample_from_payload(message.payload)
            changed |= self._tracker.update(sample, source="stdout", now=time.monotonic())
            if message.event == "run_started":
                self._emit_running(f"worker reported run_started{_worker_run_id(message)}")
                changed = False
            elif message.event == "run_failed":
                self._worker_failure = message
                self._schedule_exit_deadline("worker reported run_failed")
            elif message.event in ("run_completed", "run_cancelled"):
                self._worker_end = message.event
        if changed:
            self._progress_changed()

    def _poll_sidecar(self) -> None:
        message = self._sidecar.poll()
        if message is None:
            return
        self._last_artifact_activity = time.monotonic()
        sample = sample_from_payload(message.payload)
        if self._tracker.update(sample, source="sidecar", now=time.monotonic()):
            self._progress_changed()
        if message.event == "run_failed" and self._worker_failure is None:
            self._worker_failure = message
            self._schedule_exit_deadline("heartbeat file reported run_failed")

    async def _refresh_artifacts(self) -> None:
        refresh = self._refresh_manifest
        if refresh is None or self._refresh_broken:
            return
        try:
            manifest = await asyncio.to_thread(refresh, self.run_dir)
        except ImportError:
            self._refresh_broken = True
            _log.info("run %s: manifest scanner unavailable; artifacts.json not kept", self.run_id)
            return
        except Exception as exc:  # the scanner reports bad input; the worker goes on
            _log.warning("run %s: artifact scan failed: %s", self.run_id, exc)
            return
        if manifest is None:
            return
        previous, self._manifest = self._manifest, manifest
        if previous is not None and not manifest.same_content(previous):
            self._last_artifact_activity = time.monotonic()
        self._infer_progress(manifest)

    def _infer_progress(self, manifest: Any) -> None:
        now = time.monotonic()
        changed = False
        heartbeat = getattr(manifest, "heartbeat", None)
        if heartbeat:
            self._sidecar.follow(heartbeat)  # a hint (or fastpath.json) names it
        checkpoints = getattr(manifest, "checkpoints", ())
        if checkpoints and checkpoints[0].path != self._newest_checkpoint:
            newest = checkpoints[0]
            self._newest_checkpoint = newest.path
            sample = ProgressSample(step=newest.step, last_checkpoint=newest.path)
            changed |= self._tracker.update(sample, source="checkpoint", now=now)
        tensorboard = getattr(manifest, "tensorboard", None)
        if tensorboard is not None and tensorboard.event_files:
            steps = []
            for event_file in tensorboard.event_files:
                reader = self._tb_readers.get(event_file.path)
                if reader is None:
                    reader = EventFileSteps(self.run_dir / event_file.path)
                    self._tb_readers[event_file.path] = reader
                step = reader.poll()
                if step is not None:
                    steps.append(step)
            if steps:
                sample = ProgressSample(step=max(steps))
                changed |= self._tracker.update(sample, source="tensorboard", now=now)
        if changed:
            self._progress_changed()

    def _activity(self) -> float:
        return max([self._last_artifact_activity, *(t.last_activity for t in self._tees)])

    def _check_stall(self, *, may_stall: bool = True) -> None:
        if self._stall_after_s is None or self.final_event is not None:
            return
        silent_for = time.monotonic() - self._activity()
        if may_stall and not self._stalled and silent_for > self._stall_after_s:
            self._stalled = True
            self._emit_running(
                f"stalled: no output, heartbeat or new artifact for {silent_for:.1f} s"
            )
        elif self._stalled and silent_for <= self._stall_after_s:
            self._stalled = False
            self._emit_running("active again")

    def _progress_changed(self) -> None:
        if self._stalled:
            self._check_stall()
        wait = self._last_running_emit + self._progress_interval_s - time.monotonic()
        if wait <= 0:
            self._emit_running()
        elif self._pending_running is None and self._loop is not None:
            self._pending_running = self._loop.call_later(wait, self._emit_running)

    def _emit_running(self, message: str | None = None) -> None:
        if self._pending_running is not None:
            self._pending_running.cancel()
            self._pending_running = None
        if self.final_event is not None:
            return
        now = time.monotonic()
        self._last_running_emit = now
        self._emit(
            RunState.RUNNING,
            progress=self._tracker.snapshot(now),
            stalled=self._stalled,
            message=message,
        )

    def _schedule_exit_deadline(self, why: str) -> None:
        """A worker that reported its end must exit within the grace time."""
        loop = self._loop
        if loop is None or self._termination is not None:
            return

        def deadline() -> None:
            if self._exit is not None and not self._exit.done():
                loop.create_task(
                    self._terminate(f"{why} but did not exit within {self._grace_s:g} s")
                )

        loop.call_later(self._grace_s, deadline)

    async def _terminate(self, why: str) -> None:
        """SIGTERM the group, wait ``grace_s``, SIGKILL; each step logged. Shared by callers."""
        if self._termination is None:
            self._termination = asyncio.ensure_future(self._stop_group(why))
        self._termination_note = await asyncio.shield(self._termination)

    async def _stop_group(self, why: str) -> str:
        pgid = self.pid or 0
        _log.info("run %s: %s; sending SIGTERM to process group %d", self.run_id, why, pgid)
        if not signal_group(pgid, signal.SIGTERM):
            return f"{why}; the process group had already ended"
        if await self._group_gone(pgid, self._grace_s):
            _log.info("run %s: process group %d ended after SIGTERM", self.run_id, pgid)
            return f"{why}; SIGTERM to process group {pgid}"
        _log.warning(
            "run %s: process group %d still alive %g s after SIGTERM; sending SIGKILL",
            self.run_id,
            pgid,
            self._grace_s,
        )
        signal_group(pgid, signal.SIGKILL)
        if await self._group_gone(pgid, _KILL_TIMEOUT_S):
            _log.info("run %s: process group %d ended after SIGKILL", self.run_id, pgid)
        else:
            _log.error(
                "run %s: process group %d survived SIGKILL (stuck in the kernel?): pids %s",
                self.run_id,
                pgid,
                group_members(pgid),
            )
        return f"{why}; SIGTERM to process group {pgid}, SIGKILL after {self._grace_s:g} s"

    async def _group_gone(self, pgid: int, timeout: float) -> bool:
        assert self._exit is not None
        deadline = time.monotonic() + timeout
        while True:
            if self._exit.done() and not group_members(pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_GROUP_POLL_S)

    async def _drain(self) -> None:
        """Wait for the tees to reach EOF; a stray holder of the pipe is cut off."""
        self._tee_finished()  # both may have finished before anyone listened
        try:
            await asyncio.wait_for(self._tees_done.wait(), _DRAIN_TIMEOUT_S)
            return
        except TimeoutError:
            pass
        for tee in self._tees:
            if not tee.done:
                _log.warning(
                    "run %s: %s is still held open by a process outside the worker's group; "
                    "closing the log without EOF",
                    self.run_id,
                    tee.log_path.name,
                )
                tee.stop()
        await self._tees_done.wait()

    def _finish(self, status: int) -> RunLifecycleEvent:
        now = time.monotonic()
        exit_code = status if status >= 0 else None
        signal_name = _signal_name(-status) if status < 0 else None
        ended = f"killed by {signal_name}" if signal_name else f"exited with status {status}"
        failure = self._worker_failure
        payload = failure.payload if failure is not None else {}
        fields: dict[str, Any] = {
            "progress": self._tracker.snapshot(now),
            "exit_code": exit_code,
            "signal_name": signal_name,
        }
        if self._cancel_requested:
            state, message = RunState.CANCELLED, f"cancelled ({self._termination_note}); {ended}"
        elif status != 0 or failure is not None:
            state = RunState.FAILED
            message = ended if status != 0 else "worker reported run_failed; exited with status 0"
            if self._termination_note and status < 0:
                message = f"{self._termination_note}; {ended}"
            fields.update(
                error=_text(payload.get("error")),
                error_type=_text(payload.get("error_type")),
                traceback=_text(payload.get("traceback")),
                stderr_tail=self._tees[1].tail_lines(self._stderr_tail_lines),
            )
        elif self._worker_end == "run_cancelled":
            state, message = (
                RunState.CANCELLED,
                "worker reported run_cancelled; exited with status 0",
            )
        else:
            state, message = RunState.COMPLETED, ended
        broken = [f"{t.log_path.name}: {t.write_error}" for t in self._tees if t.write_error]
        if broken:
            message += "; logs incomplete (" + "; ".join(broken) + ")"
        if self._pending_running is not None:
            self._pending_running.cancel()
        event = self._emit(state, message=message, **fields)
        self._journal.close()
        return event

    def _emit(self, state: RunState, **fields: Any) -> RunLifecycleEvent:
        self._seq += 1
        event = RunLifecycleEvent(
            run_id=self.run_id, state=state, timestamp=time.time(), seq=self._seq, **fields
        )
        try:
            self._journal.append(event)
        except (OSError, RuntimeError) as exc:
            _log.error("run %s: cannot journal event %d: %s", self.run_id, event.seq, exc)
        self.events.append(event)
        for queue in self._queues:
            queue.put_nowait(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                _log.exception("run %s: lifecycle listener %r failed", self.run_id, listener)
        return event


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _worker_run_id(message: WorkerMessage) -> str:
    return f" as {message.run_id}" if message.run_id else ""
