"""``lifecycle.jsonl``: the append-only journal of a run's lifecycle events.

One :class:`RunLifecycleEvent` dict per line, written with a single ``write`` per event,
so a GUI that opens later (or after a crash of the GUI or the supervisor) replays the run's
history. State changes (``STARTED``, ``FAILED``...) are also fsync'd; ``RUNNING`` progress
events are not, as a power cut costing the last heartbeats costs nothing that matters,
while an fsync per heartbeat would make the disk flush the worker's logs again and again.
A torn last line left by a crash is kept but closed with a newline and skipped by readers;
a restarted supervisor continues the sequence numbers after the last valid event.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
from pathlib import Path

from gui_fastpath.lifecycle.events import LifecycleEventError, RunLifecycleEvent, RunState

__all__ = [
    "LIFECYCLE_NAME",
    "JournalLockedError",
    "LifecycleJournal",
    "read_lifecycle",
    "read_lifecycle_since",
]

LIFECYCLE_NAME = "lifecycle.jsonl"

_log = logging.getLogger(__name__)


class JournalLockedError(RuntimeError):
    """Another supervisor holds the run's journal open for writing."""


class LifecycleJournal:
    """Appends events to ``<run_dir>/lifecycle.jsonl``; one writer per run at a time."""

    def __init__(self, run_dir: str | os.PathLike[str], *, fsync: bool = True) -> None:
        """``fsync=False`` skips fsync for state changes too (tests, benchmarks, tmpfs)."""
        self.path = Path(run_dir) / LIFECYCLE_NAME
        self._fsync = fsync
        self._fd: int | None = None
        self.last_seq = 0
        """Sequence number of the last valid event in the file."""

    def open(self) -> LifecycleJournal:
        """Open (creating) the journal, lock it, repair a torn tail and find the last seq."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise JournalLockedError(
                    f"{self.path}: another supervisor is writing this run's lifecycle; "
                    "stop it or use another run id"
                ) from None
            raise
        self._fd = fd
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            _log.warning(
                "%s: last line is torn (a writer crashed mid-line); closing it with a newline, "
                "readers skip it",
                self.path,
            )
            os.write(fd, b"\n")
        events = read_lifecycle(self.path.parent)
        self.last_seq = events[-1].seq if events else 0
        return self

    def append(self, event: RunLifecycleEvent) -> None:
        """Write one event as one line; its ``seq`` must follow :attr:`last_seq`."""
        if self._fd is None:
            raise RuntimeError(f"{self.path}: journal is not open")
        if event.seq <= self.last_seq:
            raise ValueError(
                f"{self.path}: event seq {event.seq} does not follow last seq {self.last_seq}"
            )
        line = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode("utf-8"))
        if self._fsync and event.state is not RunState.RUNNING:
            os.fsync(self._fd)
        self.last_seq = event.seq

    def close(self) -> None:
        """Release the lock and close the file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> LifecycleJournal:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_lifecycle(run_dir: str | os.PathLike[str]) -> list[RunLifecycleEvent]:
    """All valid events of a run in journal order; ``[]`` when there is no journal.

    Lines that are not events (a torn write, hand edits) and events whose ``seq`` does not
    increase are skipped, each with one logged warning naming the file and line.
    """
    return read_lifecycle_since(run_dir, 0, include_partial=True)[0]


def read_lifecycle_since(
    run_dir: str | os.PathLike[str], offset: int = 0, *, include_partial: bool = False
) -> tuple[list[RunLifecycleEvent], int]:
    """Events from byte ``offset`` on, and the offset to continue from (for tailing).

    Only complete lines are consumed unless ``include_partial``: a line still being written
    is left for the next call.
    """
    path = Path(run_dir) / LIFECYCLE_NAME
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    end = len(data) if include_partial else data.rfind(b"\n") + 1
    events: list[RunLifecycleEvent] = []
    last_seq = 0
    line_no = 0
    for raw in data[:end].splitlines():
        line_no += 1
        if not raw.strip():
            continue
        try:
            event = RunLifecycleEvent.from_dict(json.loads(raw))
        except (ValueError, LifecycleEventError) as exc:
            _log.warning(
                "%s: line %d after byte %d is not a lifecycle event (%s); skipped",
                path,
                line_no,
                offset,
                str(exc).splitlines()[0][:200],
            )
            continue
        if event.seq <= last_seq:
            _log.warning(
                "%s: line %d after byte %d has seq %d after seq %d; skipped",
                path,
                line_no,
                offset,
                event.seq,
                last_seq,
            )
            continue
        last_seq = event.seq
        events.append(event)
    return events, offset + end
