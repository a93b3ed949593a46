"""What an offline W&B run holds, as read from its ``run-<id>.wandb`` file so far."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import attrs

__all__ = [
    "ConsoleLine",
    "FrozenList",
    "HistoryRows",
    "HistoryStore",
    "ReadProblem",
    "RunChanges",
    "RunExit",
    "RunIdentity",
    "RunSnapshot",
    "RunState",
]

RunState = Literal["empty", "running", "finished", "failed"]
_T = TypeVar("_T")


class FrozenList(Sequence[_T]):
    """A read-only view of the first ``len`` items of a list that only ever grows.

    Snapshots share the reader's row lists instead of copying them, so taking one costs
    nothing however long the run is; later rows do not show up in an older snapshot.
    """

    __slots__ = ("_items", "_len")

    def __init__(self, items: list[_T], length: int | None = None) -> None:
        self._items = items
        self._len = len(items) if length is None else length

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...
    def __getitem__(self, index: int | slice) -> _T | list[_T]:
        if isinstance(index, slice):
            return self._items[: self._len][index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("index out of range")
        return self._items[index]

    def __iter__(self) -> Iterator[_T]:
        items = self._items
        for i in range(self._len):
            yield items[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenList | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FrozenList(<{self._len} items>)"


class HistoryStore:
    """A run's history rows stored flat, as the reader appends them.

    Row ``i`` is ``keys[s:e]`` with ``values[s:e]``, where ``e = ends[i]`` and ``s`` is one
    past the previous row's end: every row is followed by one slot that belongs to no row
    (where a bulk parse put its end-of-row marker). No per-row objects are kept.
    """

    __slots__ = ("ends", "keys", "values")

    def __init__(self) -> None:
        self.keys: list[str] = []
        """Every row's keys, one after the other (interned: one string per name)."""
        self.values: list[Any] = []
        """The decoded value of each key."""
        self.ends: list[int] = []
        """Index of each row's end slot."""


class HistoryRows(Sequence[dict[str, Any]]):
    """A read-only view of a run's first ``len`` history rows; each row is built as a dict
    when it is read (a new dict each time: change it freely).

    Snapshots share the reader's :class:`HistoryStore`, so taking one costs nothing however
    long the run is; later rows do not show up in an older snapshot.
    """

    __slots__ = ("_len", "_store")

    def __init__(self, store: HistoryStore, length: int | None = None) -> None:
        self._store = store
        self._len = len(store.ends) if length is None else length

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("index out of range")
        return self._row(index)

    def _row(self, index: int) -> dict[str, Any]:
        store = self._store
        start = store.ends[index - 1] + 1 if index else 0
        end = store.ends[index]
        # Equal lengths by construction; strict=True would cost a sixth of building a row.
        return dict(zip(store.keys[start:end], store.values[start:end], strict=False))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        store = self._store
        keys, values, ends = store.keys, store.values, store.ends
        start = 0
        for i in range(self._len):
            end = ends[i]
            yield dict(zip(keys[start:end], values[start:end], strict=False))
            start = end + 1

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HistoryRows | FrozenList | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HistoryRows(<{self._len} rows>)"


@attrs.frozen
class ReadProblem:
    """Part of the file that could not be read; the rest of the run is still shown."""

    path: Path
    """The ``.wandb`` file."""
    offset: int
    """Byte offset in the file where the problem is."""
    problem: str
    """What is wrong, and what was skipped."""
    fix: str
    """What the operator can do about it."""

    def __str__(self) -> str:
        return f"{self.path} at byte {self.offset}: {self.problem}. {self.fix}"


@attrs.frozen
class RunIdentity:
    """Who the run is: from its run record."""

    run_id: str
    entity: str = ""
    project: str = ""
    display_name: str = ""
    tags: tuple[str, ...] = ()
    notes: str = ""
    group: str = ""
    job_type: str = ""
    host: str = ""
    sweep_id: str = ""
    start_time: float | None = None
    """Unix seconds."""
    resumed: bool = False
    """The run record says this run was resumed."""


@attrs.frozen
class ConsoleLine:
    """One line of the run's captured console output."""

    text: str
    stream: Literal["stdout", "stderr"]
    time: float | None
    """Unix seconds when wandb captured the start of the line."""


@attrs.frozen
class RunExit:
    """The run's exit record: it ended and wandb recorded how."""

    exit_code: int
    runtime: float
    """Seconds, as wandb counted them (whole seconds)."""


@attrs.frozen
class RunChanges:
    """What one :meth:`OfflineRunReader.poll` added or changed."""

    identity: bool = False
    config: bool = False
    summary: bool = False
    history: int = 0
    """New history rows."""
    system: int = 0
    """New system-metrics samples."""
    console: int = 0
    """New complete console lines."""
    environment: bool = False
    exit: bool = False
    problems: tuple[ReadProblem, ...] = ()
    """Problems found by this poll."""
    reset: bool = False
    """The file was replaced or shrank: the snapshot was rebuilt from the start."""
    bytes_read: int = 0
    """Bytes this poll read from the file: what was appended since the previous poll."""

    def __bool__(self) -> bool:
        return bool(
            self.identity
            or self.config
            or self.summary
            or self.history
            or self.system
            or self.console
            or self.environment
            or self.exit
            or self.problems
            or self.reset
        )


@attrs.frozen
class RunSnapshot:
    """An offline run as read so far. Values are plain JSON types; treat them as read-only."""

    path: Path
    """The ``run-<id>.wandb`` file."""
    identity: RunIdentity | None
    """None until the run record has been read."""
    config: Mapping[str, Any]
    """The run config: initial values and later updates, nested keys as nested dicts,
    without wandb's internal ``_wandb`` entry; a value stored in wandb's wrapped form
    ``{"value": v, "desc": …}`` is shown as ``v``."""
    summary: Mapping[str, Any]
    """Latest summary: every summary update merged in order, nested keys as nested dicts,
    without ``_wandb``."""
    history: HistoryRows
    """One dict per logged row, keys as wandb has them (``_step``, ``_runtime``,
    ``_timestamp``, metric names; nested metrics dotted: ``"a.b"``), built when read."""
    system: FrozenList[dict[str, Any]]
    """System-metrics samples: ``_timestamp`` (Unix seconds) and one key per metric."""
    environment: Mapping[str, Any]
    """The environment records merged: OS, Python, program, args, host, CPU, GPU, …"""
    console: tuple[ConsoleLine, ...]
    """The last lines of console output (at most the reader's ``console_lines``)."""
    console_line_count: int
    """How many complete console lines the run has written."""
    exit: RunExit | None
    """None while the run is running, or when it died without saying so."""
    problems: tuple[ReadProblem, ...]
    """Everything that could not be read, oldest first."""
    file_size: int
    """Bytes in the file when last polled."""
    pending_bytes: int
    """Bytes after the last complete record: a record being written, or cut off."""
    records: int
    """Records read."""
    last_step: int | None
    """Highest history step, or None without history."""

    @property
    def state(self) -> RunState:
        """``empty`` (nothing readable yet), ``running`` (no exit record: live, or killed),
        ``finished`` (exit code 0) or ``failed``."""
        if self.exit is not None:
            return "finished" if self.exit.exit_code == 0 else "failed"
        if self.identity is None and not self.records:
            return "empty"
        return "running"

    @property
    def notes(self) -> tuple[str, ...]:
        """Plain-language remarks on the file's state, for display beside the data."""
        found: list[str] = []
        if self.file_size == 0:
            found.append(
                f"{self.path} is empty: the run has not written anything yet, or it was "
                "killed before its first write"
            )
        if self.pending_bytes:
            found.append(
                f"{self.path} ends with an incomplete record ({self.pending_bytes} bytes): "
                "the run is writing it, or was killed mid-write"
            )
        if self.exit is None and self.records:
            found.append("no exit record: the run is still running, or it was killed")
        return tuple(found)
