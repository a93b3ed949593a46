"""Upload an offline W&B run with ``wandb sync``, safely.

A :class:`SyncJob` checks that the server answers, then runs ``wandb sync <folder>`` in its
own process group with the key in its environment only, streams its output (redacted),
and stops the whole group (SIGTERM, grace, SIGKILL) when the time limit passes or the user
cancels. A failed or timed-out sync is queued (:class:`~gui_fastpath.wandb.sync_queue.
SyncQueue`) and :func:`retry_due` tries it again with backoff. Success is what ``wandb``
itself records: a ``run-<id>.wandb.synced`` file beside the transaction log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import psutil

from gui_fastpath.spawn import child_options, run_below_us
from gui_fastpath.wandb.credentials import Credentials, CredentialStore, redact, subprocess_env
from gui_fastpath.wandb.sync_queue import QueuedSync, SyncQueue

__all__ = [
    "SyncError",
    "SyncJob",
    "SyncOptions",
    "SyncOutcome",
    "SyncResult",
    "check_reachable",
    "find_sync_folder",
    "is_synced",
    "retry_due",
    "sync_run",
]

_log = logging.getLogger(__name__)

SyncOutcome = Literal[
    "synced", "already_synced", "unreachable", "failed", "timed_out", "cancelled", "busy"
]
_QUEUED_OUTCOMES = frozenset({"unreachable", "failed", "timed_out"})
_TAIL_LINES = 200
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_T = TypeVar("_T")
_active: set[Path] = set()
_active_lock = threading.Lock()


class SyncError(ValueError):
    """The path given to sync is not a W&B run folder; the message says what to pass."""


@attrs.frozen
class SyncOptions:
    """Limits of one sync attempt, in seconds."""

    timeout: float = 600.0
    """Time limit for ``wandb sync`` (which retries forever while the server is down)."""
    reach_timeout: float = 5.0
    """How long the reachability check waits for the server's first answer."""
    grace: float = 5.0
    """Between SIGTERM and SIGKILL when the process group has to be stopped."""
    wandb_command: tuple[str, ...] = (sys.executable, "-m", "wandb")
    """How to start the ``wandb`` CLI; ``sync <folder>`` is appended."""


@attrs.frozen
class SyncResult:
    """How one sync attempt ended."""

    folder: Path
    outcome: SyncOutcome
    message: str
    """One or two sentences for the user: what happened and what comes next."""
    queued: bool
    """True if the run is (still) in the sync queue after this attempt."""
    exit_code: int | None = None
    duration: float = 0.0
    """Seconds from the start of the attempt to its end."""
    output: tuple[str, ...] = ()
    """The last lines ``wandb sync`` printed, redacted."""

    @property
    def ok(self) -> bool:
        return self.outcome in ("synced", "already_synced")


def find_sync_folder(path: str | os.PathLike[str]) -> Path:
    """The run folder holding a ``run-<id>.wandb`` file: ``path`` itself or the file's parent."""
    p = Path(path).absolute()
    if p.is_file() and p.suffix == ".wandb":
        return p.parent
    if p.is_dir() and any(p.glob("*.wandb")):
        return p
    raise SyncError(
        f"{p}: no run-<id>.wandb file here; pass the offline-run-* folder under the run's "
        "wandb/ directory."
    )


def is_synced(folder: Path) -> bool:
    """True if ``wandb sync`` has marked every transaction log in the folder as uploaded."""
    logs = list(folder.glob("*.wandb"))
    return bool(logs) and all(f.with_name(f.name + ".synced").exists() for f in logs)


def _run_id(folder: Path) -> str:
    log = next(iter(sorted(folder.glob("run-*.wandb"))), None)
    if log is not None:
        return log.stem.removeprefix("run-")
    return folder.name.rpartition("-")[2]


async def check_reachable(base_url: str, *, timeout: float = 5.0) -> str | None:
    """``None`` if the server sends any HTTP answer within ``timeout``; otherwise why not."""
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(base_url, allow_redirects=False) as response,
        ):
            _log.debug("%s answered %s", base_url, response.status)
            return None
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except aiohttp.ClientConnectorError as exc:
        error = exc.os_error
        return os.strerror(error.errno).lower() if error.errno else str(error)
    except (aiohttp.ClientError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class SyncJob:
    """One ``wandb sync`` of one run folder; :meth:`cancel` may be called from any thread."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        credentials: Credentials,
        *,
        queue: SyncQueue | None = None,
        options: SyncOptions | None = None,
        on_line: Callable[[str], None] | None = None,
        store: CredentialStore | None = None,
    ) -> None:
        self.folder = find_sync_folder(folder)
        self.credentials = credentials
        self.queue = queue
        self.options = options or SyncOptions()
        self._on_line = on_line
        self._store = store
        self._tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._lock = threading.Lock()
        self._cancelled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cancel_event: asyncio.Event | None = None

    def redact(self, text: str) -> str:
        """``text`` without this job's key (nor any key the store knows)."""
        text = redact(text, [self.credentials.api_key])
        return self._store.redact(text) if self._store else text

    def cancel(self) -> None:
        """Stop the sync: the process group is terminated and the run's queue state kept."""
        with self._lock:
            self._cancelled = True
            if self._loop is not None and self._cancel_event is not None:
                self._loop.call_soon_threadsafe(self._cancel_event.set)

    def run_blocking(self) -> SyncResult:
        """Run the sync on a fresh event loop in this (worker) thread."""
        return asyncio.run(self.run())

    async def run(self) -> SyncResult:
        """Check the server, run ``wandb sync``, update the queue; never raises for a failure."""
        started = time.monotonic()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._cancel_event = asyncio.Event()
            if self._cancelled:
                self._cancel_event.set()
        with _active_lock:
            busy = self.folder in _active
            _active.add(self.folder)
        if busy:
            return self._result("busy", "This run is already being synced.", started)
        try:
            return await self._run(started)
        finally:
            with _active_lock:
                _active.discard(self.folder)

    async def _run(self, started: float) -> SyncResult:
        url = self.credentials.base_url
        if is_synced(self.folder):
            return self._done("already_synced", "This run was already synced.", started)
        self._emit(f"Checking that the W&B server {url} answers…")
        problem = await self._race_cancel(check_reachable(url, timeout=self.options.reach_timeout))
        if self._is_cancelled():
            return self._cancelled_result(started)
        if problem is not None:
            return self._fail(
                "unreachable", f"The W&B server {url} is not reachable ({problem}).", started
            )
        with tempfile.TemporaryDirectory(prefix="gui-fastpath-sync-") as scratch:
            return await self._sync_process(Path(scratch), started)

    async def _sync_process(self, scratch: Path, started: float) -> SyncResult:
        command = [*self.options.wandb_command, "sync", str(self.folder)]
        env = subprocess_env(self.credentials)
        env["WANDB_DIR"] = str(scratch)  # wandb's own sync log goes here, not into the run
        self._emit(f"Running: {' '.join(command[-3:])}")
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=scratch,
            env=env,
            **child_options(die_with_parent=True),
        )
        run_below_us(proc.pid)
        assert proc.stdout is not None
        reader = asyncio.ensure_future(self._pump(proc.stdout))
        assert self._cancel_event is not None
        waiter = asyncio.ensure_future(proc.wait())
        cancel = asyncio.ensure_future(self._cancel_event.wait())
        remaining = self.options.timeout - (time.monotonic() - started)
        await asyncio.wait(
            {waiter, cancel}, timeout=max(remaining, 0.0), return_when="FIRST_COMPLETED"
        )
        cancel.cancel()
        stopped_for = None
        if not waiter.done():
            stopped_for = "cancel" if self._is_cancelled() else "time limit"
        last_output = self._last_line()
        if stopped_for is not None:
            await _stop_group(proc, self.options.grace, stopped_for, self._emit)
        await waiter
        try:  # a grandchild may still hold the pipe open
            await asyncio.wait_for(reader, self.options.grace)
        except TimeoutError:
            _log.warning("wandb sync output still open after it exited; not read further")
        code = proc.returncode
        if stopped_for == "cancel":
            return self._cancelled_result(started, code)
        if stopped_for == "time limit":
            error = _last_error(scratch)
            detail = f"last error: {error}" if error else f"last output: {last_output}"
            return self._fail(
                "timed_out",
                f"wandb sync did not finish within {self.options.timeout:g} s and was stopped "
                f"({self.redact(detail)}).",
                started,
                code,
            )
        if code == 0 and is_synced(self.folder):
            message = f"Synced {self.folder.name} to {self.credentials.base_url}."
            return self._done("synced", message, started, code)
        detail = _last_error(scratch) or self._last_line() or "no output"
        return self._fail(
            "failed",
            f"wandb sync exited with code {code} without marking the run synced: "
            f"{self.redact(detail)}.",
            started,
            code,
        )

    async def _race_cancel(self, coro: Coroutine[Any, Any, _T]) -> _T | None:
        """``coro``'s result, or ``None`` if the job is cancelled first."""
        assert self._cancel_event is not None
        work = asyncio.ensure_future(coro)
        cancel = asyncio.ensure_future(self._cancel_event.wait())
        await asyncio.wait({work, cancel}, return_when="FIRST_COMPLETED")
        cancel.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            return None
        return work.result()

    async def _pump(self, stream: asyncio.StreamReader) -> None:
        pending = ""
        while chunk := await stream.read(4096):
            pending += chunk.decode("utf-8", errors="replace")
            *lines, pending = re.split(r"\r\n|\r|\n", pending)
            for line in lines:
                self._emit(line)
        if pending:
            self._emit(pending)

    def _emit(self, line: str) -> None:
        line = self.redact(_ANSI.sub("", line)).rstrip()
        if not line:
            return
        self._tail.append(line)
        if self._on_line is not None:
            try:
                self._on_line(line)
            except Exception:  # a broken listener must not break the sync
                _log.exception("sync output listener failed")

    def _last_line(self) -> str:
        return self._tail[-1] if self._tail else ""

    def _is_cancelled(self) -> bool:
        with self._lock:
            return self._cancelled

    def _result(
        self, outcome: SyncOutcome, message: str, started: float, code: int | None = None
    ) -> SyncResult:
        queued = self.queue is not None and self.queue.get(self.folder) is not None
        return SyncResult(
            folder=self.folder,
            outcome=outcome,
            message=self.redact(message),
            queued=queued,
            exit_code=code,
            duration=time.monotonic() - started,
            output=tuple(self._tail),
        )

    def _done(
        self, outcome: SyncOutcome, message: str, started: float, code: int | None = None
    ) -> SyncResult:
        if self.queue is not None:
            self.queue.remove(self.folder)
        self._emit(message)
        return self._result(outcome, message, started, code)

    def _fail(
        self, outcome: SyncOutcome, message: str, started: float, code: int | None = None
    ) -> SyncResult:
        if self.queue is not None:
            entry = self.queue.record_failure(
                self.folder,
                base_url=self.credentials.base_url,
                run_id=_run_id(self.folder),
                error=self.redact(message),
            )
            wait = max(entry.next_attempt_at - time.time(), 0.0)
            message += (
                f" The run is queued and will be retried in {wait:.0f} s or later, "
                "once the server answers."
            )
        self._emit(message)
        return self._result(outcome, message, started, code)

    def _cancelled_result(self, started: float, code: int | None = None) -> SyncResult:
        message = "Sync cancelled; the run was not uploaded."
        if self.queue is not None and self.queue.get(self.folder) is not None:
            message += " It stays in the sync queue."
        self._emit(message)
        return self._result("cancelled", message, started, code)


async def sync_run(
    folder: str | os.PathLike[str],
    credentials: Credentials,
    *,
    queue: SyncQueue | None = None,
    options: SyncOptions | None = None,
    on_line: Callable[[str], None] | None = None,
) -> SyncResult:
    """Sync one run folder (see :class:`SyncJob`, which can also be cancelled)."""
    job = SyncJob(folder, credentials, queue=queue, options=options, on_line=on_line)
    return await job.run()


async def retry_due(
    queue: SyncQueue,
    store: CredentialStore,
    *,
    folders: Sequence[str | os.PathLike[str]] | None = None,
    options: SyncOptions | None = None,
    on_line: Callable[[str], None] | None = None,
    now: float | None = None,
) -> list[SyncResult]:
    """Retry the queued runs whose backoff has expired (only ``folders``, if given).

    Runs with no key available without asking (environment, netrc, this session) wait.
    """
    wanted = None if folders is None else {str(Path(f).absolute()) for f in folders}
    results: list[SyncResult] = []
    for entry in queue.due(now):
        if wanted is not None and entry.folder not in wanted:
            continue
        credentials = store.find(entry.base_url)
        if credentials is None or not _still_there(entry, queue):
            continue
        job = SyncJob(
            entry.folder, credentials, queue=queue, options=options, on_line=on_line, store=store
        )
        results.append(await job.run())
    return results


def _still_there(entry: QueuedSync, queue: SyncQueue) -> bool:
    """Drop a queued run whose folder has gone (deleted by the user)."""
    try:
        find_sync_folder(entry.folder)
    except SyncError:
        _log.warning("%s: gone; removed from the sync queue", entry.folder)
        queue.remove(entry.folder)
        return False
    return True


def _last_error(scratch: Path) -> str | None:
    """The last error ``wandb-core`` logged in its sync log, e.g. ``connection refused``."""
    found = None
    for log in sorted(scratch.glob("**/debug-sync*.log")):
        with contextlib.suppress(OSError):
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if isinstance(record, dict) and isinstance(record.get("error"), str):
                        found = record["error"].strip().splitlines()[-1]
    return found


async def _stop_group(
    proc: asyncio.subprocess.Process, grace: float, why: str, emit: Callable[[str], None]
) -> None:
    """SIGTERM the child's process group, wait ``grace``, SIGKILL; then its stray descendants."""
    try:
        strays = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        strays = []
    emit(f"Stopping wandb sync ({why}): SIGTERM to process group {proc.pid}.")
    _signal_group(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        emit(f"wandb sync still running after {grace:g} s: SIGKILL to process group {proc.pid}.")
        _signal_group(proc, signal.SIGKILL)
        await proc.wait()
    # wandb starts its service in a session of its own; it exits when its parent dies, but
    # a stray is killed after the same grace rather than left behind.
    alive = [p for p in strays if _running(p)]
    if alive:
        _, alive = await asyncio.to_thread(psutil.wait_procs, alive, grace)
        for p in alive:
            _log.warning("killing stray wandb process %s", p.pid)
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name != "nt":
            os.killpg(proc.pid, sig)
        elif sig == signal.SIGTERM:
            proc.terminate()
        else:
            proc.kill()


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
