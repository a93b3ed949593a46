"""Incremental scalar reading from TensorBoard event files, without TensorBoard (Qt-free).

Each file is read from the byte offset where the previous read stopped, so a refresh costs
the bytes appended since, not the file. Every record's two CRC32C checksums are checked
(natively, via ``google-crc32c``). A torn record at the end of a file is "not yet": its
bytes are kept and completed by the next read. A corrupt record stops that file at the
last good record and is reported with the file, the byte offset and what is wrong.

:class:`ScalarReader` follows a whole log directory (every TensorBoard run in it, new
files included); :class:`EventFileReader` reads one file; :func:`read_scalars` reads once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt

from gui_fastpath.tensorboard._scalar_decode import TagKinds, decode_records
from gui_fastpath.tensorboard._tfrecord import frame_records

__all__ = [
    "EventFileError",
    "EventFileReader",
    "ReadProblem",
    "ScalarPoint",
    "ScalarReader",
    "ScalarSeries",
    "ScalarUpdate",
    "read_scalars",
]

_log = logging.getLogger(__name__)

_CHUNK_SIZE = 32 << 20
_TOP_RUN = "."


class EventFileError(Exception):
    """Raised by :func:`read_scalars` with ``strict=True`` when a file has a problem."""


@attrs.frozen
class ReadProblem:
    """Why (part of) an event file could not be read."""

    path: Path
    """The event file."""
    offset: int
    """Byte offset of the bad record in the file."""
    field: str
    """What is wrong: ``length checksum``, ``data checksum``, ``Event``, a value's field…"""
    problem: str
    fix: str
    """What to do about it."""
    stopped: bool
    """True when reading this file stopped here; False when one record or value was skipped."""

    def __str__(self) -> str:
        return f"{self.path} at byte {self.offset}: {self.field}: {self.problem}. {self.fix}"


@attrs.frozen
class ScalarPoint:
    """One scalar value."""

    step: int
    wall_time: float
    """Unix seconds, as the writer recorded it."""
    value: float


def _empty_int() -> npt.NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


def _empty_float() -> npt.NDArray[np.float64]:
    return np.zeros(0, dtype=np.float64)


@attrs.frozen(eq=False)
class ScalarSeries:
    """The points of one tag, in the order they were written (arrays of equal length)."""

    steps: npt.NDArray[np.int64] = attrs.field(factory=_empty_int)
    wall_times: npt.NDArray[np.float64] = attrs.field(factory=_empty_float)
    values: npt.NDArray[np.float64] = attrs.field(factory=_empty_float)

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[ScalarPoint]:
        for step, wall, value in zip(
            self.steps.tolist(), self.wall_times.tolist(), self.values.tolist(), strict=True
        ):
            yield ScalarPoint(step, wall, value)

    @property
    def last(self) -> ScalarPoint | None:
        """The most recently written point."""
        if not len(self.steps):
            return None
        return ScalarPoint(int(self.steps[-1]), float(self.wall_times[-1]), float(self.values[-1]))

    @classmethod
    def concat(cls, parts: list[ScalarSeries]) -> ScalarSeries:
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.wall_times for p in parts]),
            np.concatenate([p.values for p in parts]),
        )


@attrs.frozen
class ScalarUpdate:
    """What one :meth:`ScalarReader.poll` found."""

    points: dict[str, dict[str, ScalarSeries]]
    """Run → tag → the points that are new since the previous poll."""
    bytes_read: int
    """Bytes read from disk by this poll."""
    new_files: tuple[Path, ...] = ()
    problems: tuple[ReadProblem, ...] = ()
    """Problems met during this poll (each is reported once)."""
    more: bool = False
    """True when the poll's byte budget ran out before every file was read: poll again."""

    @property
    def changed(self) -> bool:
        return bool(self.points or self.new_files or self.problems)


_FIX_CORRUPT = (
    "Records before this offset were read; the rest of the file cannot be trusted. If no "
    "writer is still appending, keep the good part with `truncate -s {offset} {path}` "
    "(after a backup), or have the worker write a new event file"
)
_FIX_SKIPPED = "This record was skipped and reading went on; check the writer that produced it"
_FIX_VALUE = "The value was skipped; TensorBoard does not chart it as a scalar either"
_FIX_SHRANK = (
    "The file was rewritten or truncated behind the reader; reopen the run to read it anew"
)


class EventFileReader:
    """Reads the scalars of one event file incrementally, from where it last stopped."""

    def __init__(self, path: str | os.PathLike[str], *, kinds: TagKinds | None = None) -> None:
        self.path = Path(path)
        self._kinds = TagKinds() if kinds is None else kinds
        self._pending = b""
        self.offset = 0
        """File offset just after the last complete, good record."""
        self.bytes_read = 0
        """Bytes read from disk so far, in total."""
        self.problem: ReadProblem | None = None
        """Set when reading stopped for good at a corrupt record."""
        self._io_error = ""
        self.unread = 0
        """Bytes the file held beyond what the last read took (a byte budget ran out)."""

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete last record, held until the writer completes it."""
        return len(self._pending)

    def read(
        self, max_bytes: int | None = None
    ) -> tuple[dict[str, ScalarSeries], list[ReadProblem]]:
        """New points by tag since the last call, and new problems; reads only new bytes.

        ``max_bytes`` bounds the bytes read by this call (the rest is left for the next);
        a GUI thread can so keep each refresh short on a large file.
        """
        if self.problem is not None:
            return {}, []
        problems: list[ReadProblem] = []
        parts: dict[str, list[ScalarSeries]] = {}
        try:
            with self.path.open("rb") as f:
                size = os.fstat(f.fileno()).st_size
                known = self.offset + len(self._pending)
                if size < known:
                    self._stop(known, "size", f"shrank from {known} to {size} bytes", _FIX_SHRANK)
                    return {}, [self.problem] if self.problem else []
                f.seek(known)
                budget = size - known if max_bytes is None else max(0, max_bytes)
                while self.problem is None and budget > 0:
                    chunk = f.read(min(_CHUNK_SIZE, budget))
                    if not chunk:
                        break
                    budget -= len(chunk)
                    self.bytes_read += len(chunk)
                    problems += self._consume(self._pending + chunk, parts)
                self.unread = 0 if self.problem else max(0, size - f.tell())
        except FileNotFoundError:
            return {}, []  # archived or deleted since it was listed
        except OSError as exc:
            message = exc.strerror or str(exc)
            if message == self._io_error:
                return {}, []
            self._io_error = message
            fix = "Reading is retried on the next refresh; check the file's permissions"
            return {}, [ReadProblem(self.path, self.offset, "file", message, fix, False)]
        self._io_error = ""
        return {tag: ScalarSeries.concat(p) for tag, p in parts.items()}, problems

    def _consume(self, buf: bytes, parts: dict[str, list[ScalarSeries]]) -> list[ReadProblem]:
        frames = frame_records(buf)
        decoded = decode_records(buf, frames.starts, frames.lengths, self._kinds)
        for tag, (steps, walls, values) in decoded.series.items():
            parts.setdefault(tag, []).append(ScalarSeries(steps, walls, values))
        problems = []
        for index, field, problem in decoded.problems:
            at = self.offset + int(frames.starts[index]) - 12
            fix = _FIX_SKIPPED if field == "Event" else _FIX_VALUE
            problems.append(ReadProblem(self.path, at, field, problem, fix, False))
        base = self.offset
        self.offset += frames.consumed
        self._pending = buf[frames.consumed :]
        if frames.problem is not None:
            at, field, problem = frames.problem
            fix = _FIX_CORRUPT.format(offset=base + at, path=self.path)
            self._stop(base + at, field, problem, fix)
            assert self.problem is not None
            problems.append(self.problem)
        for p in problems:
            _log.warning("%s", p)
        return problems

    def _stop(self, offset: int, field: str, problem: str, fix: str) -> None:
        self.problem = ReadProblem(self.path, offset, field, problem, fix, True)
        self._pending = b""


class _Run:
    """One TensorBoard run: its event files in name order, sharing tag metadata."""

    def __init__(self) -> None:
        self.kinds = TagKinds()
        self.files: dict[str, EventFileReader] = {}
        self.series: dict[str, list[ScalarSeries]] = {}


class ScalarReader:
    """Follows every event file under a log directory (or one event file) incrementally.

    Runs are named as TensorBoard names them: the folder relative to the log directory,
    ``.`` for the top. Call :meth:`poll` to pick up new files and new bytes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        self._single = path if path.is_file() else None
        self.log_dir = path.parent if self._single else path
        self._runs: dict[str, _Run] = {}
        self._problems: list[ReadProblem] = []
        self._max_step: int | None = None

    def poll(self, max_bytes: int | None = None) -> ScalarUpdate:
        """Read what is new in every event file; returns the new points.

        With ``max_bytes``, stop after about that many bytes (files are read in order, so
        no file of a run is read past an unfinished one) and set ``more`` on the update.
        """
        new_files: list[Path] = []
        for run_name, path in self._discover():
            run = self._runs.setdefault(run_name, _Run())
            if path.name not in run.files:
                run.files[path.name] = EventFileReader(path, kinds=run.kinds)
                run.files = dict(sorted(run.files.items()))
                new_files.append(path)
        before = self.bytes_read
        points: dict[str, dict[str, ScalarSeries]] = {}
        problems: list[ReadProblem] = []
        more = False
        for run_name, run, reader in self._readers():
            budget = None if max_bytes is None else max_bytes - (self.bytes_read - before)
            if budget is not None and budget <= 0:
                more = True
                break
            found, trouble = reader.read(budget)
            problems += trouble
            for tag, series in found.items():
                run.series.setdefault(tag, []).append(series)
                top = int(series.steps.max())
                self._max_step = top if self._max_step is None else max(self._max_step, top)
                into = points.setdefault(run_name, {})
                into[tag] = ScalarSeries.concat([into[tag], series]) if tag in into else series
            if reader.unread:
                more = True
                break
        self._problems += problems
        read = self.bytes_read - before
        return ScalarUpdate(points, read, tuple(new_files), tuple(problems), more)

    def _readers(self) -> Iterator[tuple[str, _Run, EventFileReader]]:
        for run_name, run in self._runs.items():
            for reader in run.files.values():
                yield run_name, run, reader

    def _discover(self) -> Iterator[tuple[str, Path]]:
        if self._single is not None:
            yield _TOP_RUN, self._single
            return
        for dirpath, dirnames, filenames in os.walk(self.log_dir):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self.log_dir).as_posix()
            for name in sorted(filenames):
                if "tfevents" in name:
                    yield rel, Path(dirpath, name)

    @property
    def runs(self) -> tuple[str, ...]:
        """Runs that have at least one scalar, sorted."""
        return tuple(sorted(name for name, run in self._runs.items() if run.series))

    def tags(self, run: str) -> tuple[str, ...]:
        r = self._runs.get(run)
        return tuple(sorted(r.series)) if r else ()

    def series(self, run: str, tag: str) -> ScalarSeries:
        """All points of a tag so far (empty if there are none)."""
        r = self._runs.get(run)
        parts = r.series.get(tag) if r else None
        if not parts:
            return ScalarSeries()
        if len(parts) > 1:
            parts[:] = [ScalarSeries.concat(parts)]
        return parts[0]

    def all_series(self) -> dict[str, dict[str, ScalarSeries]]:
        """Run → tag → all points so far."""
        return {run: {tag: self.series(run, tag) for tag in self.tags(run)} for run in self.runs}

    def latest(self) -> dict[str, dict[str, ScalarPoint]]:
        """Run → tag → the most recently written point: the latest-scalars summary."""
        out: dict[str, dict[str, ScalarPoint]] = {}
        for run_name in self.runs:
            for tag, parts in sorted(self._runs[run_name].series.items()):
                point = parts[-1].last
                if point is not None:
                    out.setdefault(run_name, {})[tag] = point
        return out

    @property
    def max_step(self) -> int | None:
        """The highest step of any scalar in any run, for progress; None before the first."""
        return self._max_step

    @property
    def files(self) -> tuple[EventFileReader, ...]:
        return tuple(r for run in self._runs.values() for r in run.files.values())

    @property
    def bytes_read(self) -> int:
        return sum(r.bytes_read for r in self.files)

    @property
    def problems(self) -> tuple[ReadProblem, ...]:
        """Every problem met so far."""
        return tuple(self._problems)


def read_scalars(
    path: str | os.PathLike[str], *, strict: bool = False
) -> dict[str, dict[str, ScalarSeries]]:
    """Read every scalar under a log directory (or in one event file) once: run → tag → series.

    Problems are logged; with ``strict=True`` the first one raises :class:`EventFileError`.
    """
    reader = ScalarReader(path)
    update = reader.poll()
    if strict and update.problems:
        raise EventFileError(str(update.problems[0]))
    return reader.all_series()
