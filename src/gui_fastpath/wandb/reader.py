"""Read an offline W&B run from its ``run-<id>.wandb`` file, following it as it grows."""

from __future__ import annotations

import os
import threading
from operator import itemgetter
from pathlib import Path

from gui_fastpath.wandb._leveldb_log import LogProblem, LogReader
from gui_fastpath.wandb._run_state import RunState
from gui_fastpath.wandb.snapshot import (
    FrozenList,
    HistoryRows,
    ReadProblem,
    RunChanges,
    RunSnapshot,
)

__all__ = ["DEFAULT_CONSOLE_LINES", "OfflineRunReader"]

DEFAULT_CONSOLE_LINES = 1000

_FIX_CORRUPT = (
    "Everything outside the skipped bytes is shown; keep a copy of the file if you need "
    "what was lost (wandb sync skips the same bytes)"
)
_FIX_NOT_WANDB = "Open the run's run-<id>.wandb file, as written by wandb"
_FIX_RECORD = (
    "The record was skipped; if this repeats, the run was written by a newer wandb than the "
    "one installed here: upgrade wandb"
)


class OfflineRunReader:
    """Incremental reader of one ``run-<id>.wandb`` file.

    ``poll()`` reads only the bytes written since the previous call; ``snapshot`` is an
    immutable view of everything read so far, cheap to take at any time. Poll from one
    thread at a time (a worker thread, never the GUI thread for big files); snapshots can
    be read from any thread.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, console_lines: int = DEFAULT_CONSOLE_LINES
    ) -> None:
        self.path = Path(path)
        self._console_lines = console_lines
        self._lock = threading.Lock()
        self._log = LogReader(self.path)
        self._state = RunState(console_lines)
        self._problems: list[ReadProblem] = []
        self._snapshot = self._take_snapshot(None)

    @property
    def snapshot(self) -> RunSnapshot:
        """The run as read by the last :meth:`poll` (empty before the first)."""
        return self._snapshot

    def poll(self) -> RunChanges:
        """Read what was appended since the last call; return what changed."""
        with self._lock:
            before = self._snapshot
            read_before = self._log.bytes_read
            batch = self._log.read_new()
            if batch.reset:
                self._state = RunState(self._console_lines)
                self._problems = []
                before = self._take_snapshot(None)
            state = self._state
            console_before = state.console_line_count
            state.changed.clear()
            state.apply(batch.payloads, batch.offsets)
            problems = [self._problem(p) for p in batch.problems]
            errors = sorted(state.errors, key=itemgetter(0))  # history's come in last
            problems += [self._record_problem(offset, text) for offset, text in errors]
            state.errors.clear()
            self._problems.extend(problems)
            changed = state.changed
            self._snapshot = self._take_snapshot(before if "summary" not in changed else None)
            after = self._snapshot
            return RunChanges(
                identity="identity" in changed,
                config="config" in changed,
                summary="summary" in changed and after.summary != before.summary,
                history=len(after.history) - len(before.history),
                system=len(after.system) - len(before.system),
                console=state.console_line_count - console_before,
                environment="environment" in changed,
                exit="exit" in changed,
                problems=tuple(problems),
                reset=batch.reset,
                bytes_read=self._log.bytes_read - (0 if batch.reset else read_before),
            )

    def read_all(self) -> RunSnapshot:
        """Poll once and return the snapshot: the whole file for a fresh reader."""
        self.poll()
        return self._snapshot

    def _take_snapshot(self, previous: RunSnapshot | None) -> RunSnapshot:
        state = self._state
        log = self._log
        return RunSnapshot(
            path=self.path,
            identity=state.identity,
            config=_config_view(state.config),
            summary=previous.summary if previous is not None else state.summary.tree(),
            history=HistoryRows(state.history),
            system=FrozenList(state.system),
            environment=dict(state.environment),
            console=tuple(state.console),
            console_line_count=state.console_line_count,
            exit=state.exit,
            problems=tuple(self._problems),
            file_size=log.size,
            pending_bytes=max(0, log.size - log.complete_offset) if log.header_ok else 0,
            records=state.records,
            last_step=state.last_step,
        )

    def _problem(self, problem: LogProblem) -> ReadProblem:
        fix = _FIX_NOT_WANDB if problem.fatal else _FIX_CORRUPT
        return ReadProblem(self.path, problem.offset, problem.problem, fix)

    def _record_problem(self, offset: int, text: str) -> ReadProblem:
        return ReadProblem(self.path, max(offset, 0), text, _FIX_RECORD)


def _deep_copy(tree: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in tree.items()}


_WRAPPED = ({"value"}, {"value", "desc"})


def _config_view(config: dict) -> dict:
    """The config without ``_wandb``, each top-level value unwrapped from wandb's stored
    form ``{"value": v, "desc": …}`` where a file carries it (wandb 0.31 writes plain
    values to ``.wandb`` files; the wrapped form is that of ``config.yaml`` and the server)."""
    view = {}
    for key, value in config.items():
        if key == "_wandb":
            continue
        if isinstance(value, dict) and set(value) in _WRAPPED:
            value = value["value"]
        view[key] = _deep_copy(value) if isinstance(value, dict) else value
    return view
