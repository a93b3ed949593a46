"""Follow one ``run-<id>.wandb`` file in a child process and hand the tab ready-made pieces.

Parsing a 50 MB run holds Python's GIL in long C calls (protobuf, JSON); in a thread of the
GUI process that would freeze the GUI for a tenth of a second at a time. So the reader runs
in a child process (``python -m gui_fastpath.qt.wandb_follower FILE``), which keeps the
history and sends back only what the tab shows: a :class:`RunView` of the run and the
chart series already decimated, as pickles over a pipe. No Qt here.
"""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from gui_fastpath.qt.wandb_series import HistorySeries, Series, flatten
from gui_fastpath.spawn import child_options, run_below_us

__all__ = ["FollowError", "FollowUpdate", "FollowerProcess", "RunView"]

_STOP_WAIT_S = 2.0


class FollowError(RuntimeError):
    """The reading process failed; the message names the file and the cause."""


@attrs.frozen
class RunView:
    """The parts of a :class:`~gui_fastpath.wandb.RunSnapshot` the tab shows (no history)."""

    path: Path
    state: str
    identity: Any
    config: Mapping[str, Any]
    environment: Mapping[str, Any]
    console: tuple[str, ...]
    exit: Any
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    last_step: int | None
    history_rows: int
    file_size: int


@attrs.frozen
class FollowUpdate:
    """What changed in one poll, prepared for display."""

    view: RunView
    changes: Any
    """The reader's :class:`~gui_fastpath.wandb.RunChanges` for this poll."""
    metrics: tuple[str, ...]
    """Every charted metric so far, in order of first appearance."""
    series: dict[str, Series]
    """Metrics that got new points, decimated over their full range."""
    scalars: tuple[tuple[str, Any, float | None], ...] | None
    """(metric, latest value, step) rows, or None when the summary did not change."""
    seconds: float
    """Time spent reading and preparing, in the child."""


class _Follower:
    """In the child: the reader plus the chart series built from its history."""

    def __init__(self, wandb_file: Path) -> None:
        from gui_fastpath.wandb import OfflineRunReader

        self.reader = OfflineRunReader(wandb_file)
        self.history = HistorySeries()

    def poll(self) -> FollowUpdate:
        started = time.perf_counter()
        changes = self.reader.poll()
        snapshot = self.reader.snapshot
        if changes.reset:
            self.history = HistorySeries()
        rows = snapshot.history
        changed = self.history.extend(rows[self.history.rows : len(rows)])
        scalars = None
        if changes.summary or changes.reset or changed:
            scalars = tuple(
                (name, value, self.history.last_step(name))
                for name, value in flatten(snapshot.summary)
                if not name.startswith("_")
            )
        view = RunView(
            path=snapshot.path,
            state=snapshot.state,
            identity=snapshot.identity,
            config=snapshot.config,
            environment=snapshot.environment,
            console=tuple(line.text for line in snapshot.console),
            exit=snapshot.exit,
            problems=tuple(str(p) for p in snapshot.problems),
            notes=snapshot.notes,
            last_step=snapshot.last_step,
            history_rows=len(rows),
            file_size=snapshot.file_size,
        )
        return FollowUpdate(
            view=view,
            changes=changes,
            metrics=self.history.metrics,
            series={name: self.history.series(name) for name in changed},
            scalars=scalars,
            seconds=time.perf_counter() - started,
        )

    def detail(self, name: str, x_min: float, x_max: float) -> Series | None:
        if name not in self.history.metrics:
            return None
        return self.history.series(name, x_range=(x_min, x_max))


def _serve(path: str, requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: one pickled request in, one pickled ``(ok, value)`` reply out."""
    follower = _Follower(Path(path))
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            if request[0] == "poll":
                reply: tuple[bool, Any] = (True, follower.poll())
            elif request[0] == "detail":
                reply = (True, follower.detail(*request[1:]))
            else:
                return
        except Exception as exc:  # reported to the parent, which shows it
            reply = (False, f"{type(exc).__name__}: {exc}")
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


class FollowerProcess:
    """The parent's handle on one reading child. Call from one worker thread at a time;
    :meth:`kill` may be called from any thread and ends a pending call with an error."""

    def __init__(self, wandb_file: Path) -> None:
        self.path = Path(wandb_file)
        self._lock = threading.Lock()
        self._closed = False
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close(); a pipe could fill up)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "gui_fastpath.qt.wandb_follower", str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            **child_options(),  # stdin is its lifeline: it ends at end of file
        )
        run_below_us(self._proc.pid)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def poll(self) -> FollowUpdate:
        """Read what the run wrote since the last poll (the whole file the first time)."""
        return self._call(("poll",))  # type: ignore[no-any-return]

    def detail(self, name: str, x_min: float, x_max: float) -> Series | None:
        """``name`` decimated within the visible steps, for a zoomed chart."""
        return self._call(("detail", name, x_min, x_max))  # type: ignore[no-any-return]

    def kill(self) -> None:
        """End the child at once (a pending call fails); idempotent.

        Only the signal is sent here: the child is reaped and its pipes closed on a thread
        of its own, so a tab's cleanup never waits on it (a read stuck on a network file
        system can keep even a killed process alive for a while).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()
        threading.Thread(
            target=self._reap, name=f"wandb-reader-reap-{self.pid}", daemon=True
        ).start()

    def _reap(self) -> None:
        proc = self._proc
        proc.wait()
        for stream in (proc.stdin, proc.stdout, self._stderr):
            with contextlib.suppress(OSError):
                assert stream is not None
                stream.close()

    def _call(self, request: tuple[Any, ...]) -> Any:
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            pickle.dump(request, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
            ok, value = pickle.load(proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError):
            raise FollowError(self._death_message()) from None
        if not ok:
            raise FollowError(f"{self.path}: {value}")
        return value

    def _death_message(self) -> str:
        if self._closed:
            return f"{self.path}: reading stopped"
        proc = self._proc
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(_STOP_WAIT_S)
        tail = ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            tail = lines[-1] if lines else ""
        return f"{self.path}: the reading process ended (exit code {proc.returncode})" + (
            f": {tail}" if tail else ""
        )


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m gui_fastpath.qt.wandb_follower RUN-ID.wandb", file=sys.stderr)
        return 2
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the reply stream
    _serve(argv[0], stdin, stdout)
    return 0


if __name__ == "__main__":
    # Replies must pickle classes by their importable name, not as ``__main__.*``.
    from gui_fastpath.qt.wandb_follower import _main as _importable_main

    raise SystemExit(_importable_main(sys.argv[1:]))
