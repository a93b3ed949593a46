"""What the bridge delivers: events, run summaries and resumable event ids.

An event id is the subscriber's cursor *after* that event, so a client that hands back the
last id it saw (SSE ``Last-Event-ID``) resumes exactly where it stopped:

* per-run stream: ``l<lifecycle seq>-a<artifact seq>-<epoch>``. The lifecycle seq is the
  durable ``seq`` of ``lifecycle.jsonl``; the artifact seq is an in-memory counter of the
  serving process, valid only with the same ``epoch`` (a new process starts a new epoch and
  answers a stale artifact cursor with the current manifest instead);
* all-runs stream: ``g<counter>-<epoch>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

__all__ = [
    "ALL_RUNS_KINDS",
    "RUN_KINDS",
    "BadEventIdError",
    "BadRunIdError",
    "BridgeEvent",
    "EventKind",
    "GlobalCursor",
    "RunCursor",
    "RunSummary",
    "validate_run_id",
]

EventKind = Literal["lifecycle", "artifacts", "run_removed", "runs", "run"]
RUN_KINDS: tuple[EventKind, ...] = ("lifecycle", "artifacts", "run_removed")
"""Kinds on a per-run stream: a ``lifecycle.jsonl`` entry, the current manifest, removal."""
ALL_RUNS_KINDS: tuple[EventKind, ...] = ("runs", "run", "run_removed")
"""Kinds on the all-runs stream: the full list, one run's new summary, removal."""

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_RUN_CURSOR = re.compile(r"l(\d{1,18})-a(\d{1,18})-([0-9a-f]{1,32})")
_GLOBAL_CURSOR = re.compile(r"g(\d{1,18})-([0-9a-f]{1,32})")


class BadRunIdError(ValueError):
    """A run id that is not a plain directory name (empty, ``..``, a slash, too long)."""


class BadEventIdError(ValueError):
    """A ``Last-Event-ID`` that this bridge did not issue."""


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it names a directory directly under the runs root, else raise."""
    if not _RUN_ID.fullmatch(run_id):
        raise BadRunIdError(
            f"run id {run_id[:80]!r} is not a run directory name: use letters, digits, '.', "
            "'_' and '-' (at most 128, starting with a letter or digit)"
        )
    return run_id


@attrs.frozen
class RunCursor:
    """Position in one run's stream: the last lifecycle seq and artifact seq delivered."""

    lifecycle: int = 0
    artifacts: int = 0
    epoch: str = ""
    """The serving process's epoch; the artifact seq means nothing under another epoch."""

    def __str__(self) -> str:
        return f"l{self.lifecycle}-a{self.artifacts}-{self.epoch}"

    @classmethod
    def parse(cls, text: str) -> RunCursor:
        match = _RUN_CURSOR.fullmatch(text.strip())
        if match is None:
            raise BadEventIdError(
                f"event id {text[:80]!r} is not a run stream id (expected l<N>-a<N>-<epoch>); "
                "reconnect without Last-Event-ID to replay the run from the start"
            )
        return cls(int(match[1]), int(match[2]), match[3])


@attrs.frozen
class GlobalCursor:
    """Position in the all-runs stream."""

    counter: int = 0
    epoch: str = ""

    def __str__(self) -> str:
        return f"g{self.counter}-{self.epoch}"

    @classmethod
    def parse(cls, text: str) -> GlobalCursor:
        match = _GLOBAL_CURSOR.fullmatch(text.strip())
        if match is None:
            raise BadEventIdError(
                f"event id {text[:80]!r} is not an all-runs stream id (expected g<N>-<epoch>); "
                "reconnect without Last-Event-ID to get the full list of runs"
            )
        return cls(int(match[1]), match[2])


@attrs.frozen
class BridgeEvent:
    """One event as the GUI receives it, from the local watcher or from the SSE stream."""

    id: str
    """Resume cursor: pass it back as ``last_event_id`` to continue after this event."""
    run_id: str | None
    """The run the event is about; ``None`` for the ``runs`` list."""
    kind: EventKind
    data: Mapping[str, Any]
    """JSON-ready payload: a ``RunLifecycleEvent.to_dict()``, ``{"manifest", "changes"}``,
    a :class:`RunSummary` dict, ``{"runs": [...]}`` or ``{"run_id"}`` for removals."""


@attrs.frozen
class RunSummary:
    """A run and its latest state, as listed by ``GET /runs`` and the all-runs stream."""

    run_id: str
    state: str | None = None
    """Latest lifecycle state (``RunState`` value), ``None`` before the first event."""
    stalled: bool = False
    seq: int = 0
    """Seq of the latest lifecycle event (0: none yet)."""
    updated_at: float | None = None
    """Timestamp of the latest lifecycle event (Unix seconds)."""
    progress: Mapping[str, Any] | None = None
    message: str | None = None
    artifacts: tuple[str, ...] = ()
    """Which analytics the manifest lists: ``tensorboard``, ``wandb``, ``checkpoints``."""

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self, recurse=False)
        out["artifacts"] = list(self.artifacts)
        out["progress"] = dict(self.progress) if self.progress is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Any) -> RunSummary:
        """Rebuild a summary received over the wire; raise ``ValueError`` naming the field."""
        if not isinstance(data, dict):
            raise ValueError(f"run summary: expected a JSON object, got {type(data).__name__}")
        checks: dict[str, tuple[type | tuple[type, ...], bool]] = {
            "run_id": (str, False),
            "state": (str, True),
            "stalled": (bool, False),
            "seq": (int, False),
            "updated_at": ((int, float), True),
            "progress": (dict, True),
            "message": (str, True),
            "artifacts": (list, False),
        }
        kwargs: dict[str, Any] = {}
        for name, (kind, optional) in checks.items():
            if name not in data:
                if name == "run_id":
                    raise ValueError("run summary: field 'run_id' is missing")
                continue
            value = data[name]
            if (value is None and optional) or isinstance(value, kind):
                kwargs[name] = value
            else:
                raise ValueError(f"run summary: field {name!r} has bad value {value!r:.60}")
        if "artifacts" in kwargs:
            kwargs["artifacts"] = tuple(str(a) for a in kwargs["artifacts"])
        return cls(**kwargs)
