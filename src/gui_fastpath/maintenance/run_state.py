"""Whether a run is running, finished or unknown: its journal's last event and its lock.

A supervisor holds an exclusive ``flock`` on ``lifecycle.jsonl`` for as long as it runs
(:class:`~gui_fastpath.lifecycle.JournalLockedError`). A run is *finished* when nobody
holds that lock and its last event is terminal (COMPLETED, FAILED or CANCELLED); *running*
while a supervisor holds the lock; *unknown* otherwise (no journal: not started by a
supervisor; or a last event that is not terminal with nobody holding the lock: a crash).
Maintenance changes finished runs only, and holds the lock itself while it does
(:func:`claim_run`), so a supervisor cannot start on the run in the middle.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from typing import Literal

import attrs

from gui_fastpath.lifecycle import LIFECYCLE_NAME, RunLifecycleEvent, read_lifecycle

__all__ = ["RunStateName", "RunStatus", "claim_run", "run_status"]

RunStateName = Literal["running", "finished", "unknown"]
_TAIL_WINDOWS = (4 * 1024, 64 * 1024)
"""The last event is looked for in this much of the journal's end, then this much."""


@attrs.frozen
class RunStatus:
    """What maintenance needs to know about a run's life."""

    state: RunStateName
    reason: str
    """One line: why the run is in this state (shown when a run is skipped)."""
    last_state: str | None = None
    """The state of the journal's last event, e.g. ``COMPLETED``, if there is one."""
    finished_at: float | None = None
    """When a finished run ended: its terminal event's timestamp (Unix seconds)."""

    @property
    def finished(self) -> bool:
        return self.state == "finished"


_RUNNING = RunStatus("running", "running: a supervisor holds its lifecycle.jsonl")


def run_status(run_dir: str | os.PathLike[str]) -> RunStatus:
    """The run's status; a live supervisor is detected by probing its lock (changes nothing)."""
    opened = _open_journal(run_dir)
    if isinstance(opened, RunStatus):
        return opened
    try:
        refused = _lock(opened, fcntl.LOCK_SH)
        if refused is not None:
            return refused
        fcntl.flock(opened, fcntl.LOCK_UN)
        return _status_from(opened, run_dir)
    finally:
        os.close(opened)


@contextlib.contextmanager
def claim_run(run_dir: str | os.PathLike[str]) -> Iterator[RunStatus]:
    """Hold the run's journal lock, as a supervisor would, while the caller changes the run.

    Yields the status read under the lock. A run a supervisor holds is yielded as running
    (and not locked); so is a run without a journal, as unknown: change only finished runs.
    """
    opened = _open_journal(run_dir)
    if isinstance(opened, RunStatus):
        yield opened
        return
    try:
        refused = _lock(opened, fcntl.LOCK_EX)
        yield _status_from(opened, run_dir) if refused is None else refused
    finally:
        os.close(opened)  # releases the lock


def _open_journal(run_dir: str | os.PathLike[str]) -> int | RunStatus:
    path = os.path.join(os.fspath(run_dir), LIFECYCLE_NAME)
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return RunStatus("unknown", "state unknown: no lifecycle.jsonl (not run by a supervisor)")
    except OSError as exc:
        problem = "is a symlink" if os.path.islink(path) else f"cannot be read ({exc.strerror})"
        return RunStatus("unknown", f"state unknown: lifecycle.jsonl {problem}")


def _lock(fd: int, kind: int) -> RunStatus | None:
    """None once locked; else the status to report (running, or unknown if locks fail)."""
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return _RUNNING
    except OSError as exc:  # e.g. a file system without flock: never guess "not running"
        return RunStatus("unknown", f"state unknown: lifecycle.jsonl cannot be locked ({exc})")
    return None


def _status_from(fd: int, run_dir: str | os.PathLike[str]) -> RunStatus:
    event = _last_event(fd, run_dir)
    if event is None:
        return RunStatus("unknown", "state unknown: lifecycle.jsonl has no events")
    name = event.state.value
    if event.state.terminal:
        return RunStatus("finished", f"finished: {name}", name, event.timestamp)
    return RunStatus(
        "unknown",
        f"state unknown: last lifecycle event is {name} but no supervisor holds the journal "
        "(did it crash?)",
        name,
    )


def _last_event(fd: int, run_dir: str | os.PathLike[str]) -> RunLifecycleEvent | None:
    """The journal's last valid event, from its end; the whole journal only if need be."""
    size = os.fstat(fd).st_size
    for window in _TAIL_WINDOWS:
        start = max(0, size - window)
        tail = os.pread(fd, size - start, start)
        for raw in reversed(tail.splitlines()[1 if start else 0 :]):
            if not raw.strip():
                continue
            try:
                return RunLifecycleEvent.from_dict(json.loads(raw))
            except (ValueError, RecursionError):
                continue
        if start == 0:
            return None
    events = read_lifecycle(run_dir)
    return events[-1] if events else None
