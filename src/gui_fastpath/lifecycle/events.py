"""Typed lifecycle events of a supervised worker run (the seed's ``RunLifecycleEvent``).

A fast-lane run reports no per-step telemetry, only these: it started, it is running (with
the progress we could learn), it completed, failed or was cancelled.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs
import cattrs

__all__ = [
    "LifecycleEventError",
    "Progress",
    "RunLifecycleEvent",
    "RunState",
]


class LifecycleEventError(ValueError):
    """A dict is not a valid lifecycle event; the message names each bad field."""


class RunState(enum.Enum):
    """Where a run is in its life; the last three are terminal."""

    STARTED = "STARTED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """True once the worker is gone: nothing follows this state."""
        return self in _TERMINAL


_TERMINAL = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED})


@attrs.frozen
class Progress:
    """What we know of a run's progress; every field is optional."""

    step: int | None = None
    """Latest training step (environment steps, or whatever the worker counts)."""
    total_steps: int | None = None
    """Steps the run is configured for, when known."""
    fraction: float | None = None
    """``step / total_steps`` clamped to ``[0, 1]``, when both are known."""
    steps_per_s: float | None = None
    """Recent step rate, from the last two progress samples."""
    elapsed_s: float | None = None
    """Seconds since the worker was launched."""
    last_checkpoint: str | None = None
    """Newest checkpoint, relative to the run directory (or as the worker named it)."""
    episode: int | None = None
    """Latest episode number, when the worker reports one."""
    memory_mb: float | None = None
    """Worker-reported resident memory."""
    cpu_percent: float | None = None
    """Worker-reported CPU use."""
    source: str | None = None
    """Where this sample came from: ``stdout``, ``sidecar``, ``checkpoint`` or ``tensorboard``."""


@attrs.frozen
class RunLifecycleEvent:
    """One state transition or heartbeat of a run, as journaled in ``lifecycle.jsonl``."""

    run_id: str
    state: RunState
    timestamp: float
    """Unix seconds when the supervisor emitted the event."""
    seq: int
    """Per-run sequence number, 1-based and strictly increasing in ``lifecycle.jsonl``."""
    progress: Progress | None = None
    stalled: bool = False
    """On ``RUNNING``: the worker has been silent longer than the stall limit (not failed)."""
    exit_code: int | None = None
    """The worker's exit status; ``None`` while running or when a signal killed it."""
    signal_name: str | None = None
    """The signal that killed the worker, e.g. ``SIGKILL``."""
    error: str | None = None
    """The worker's own error message (from ``run_failed``) or the supervisor's."""
    error_type: str | None = None
    traceback: str | None = None
    stderr_tail: tuple[str, ...] = ()
    """The last lines of the worker's stderr, on ``FAILED``."""
    message: str | None = None
    """A one-line human summary, e.g. ``exited with status 3``."""
    pid: int | None = None
    """The worker's process id (also its process group id), on ``STARTED``."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with ``"type": "lifecycle"``; ``None`` fields are left out."""
        raw = _converter.unstructure(self)
        out: dict[str, Any] = {"type": "lifecycle"}
        for key, value in raw.items():
            if value is None or (key == "stderr_tail" and not value):
                continue
            if key == "progress":
                value = {k: v for k, v in value.items() if v is not None}
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> RunLifecycleEvent:
        """Rebuild an event from :meth:`to_dict` output; unknown keys are ignored."""
        if not isinstance(data, dict):
            raise LifecycleEventError(f"expected a JSON object, got {type(data).__name__}")
        fields = {k: v for k, v in data.items() if k in _EVENT_FIELDS}
        try:
            return _converter.structure(fields, cls)
        except Exception as exc:
            lines = cattrs.transform_error(exc, path="$", format_exception=_format_error)
            raise LifecycleEventError("; ".join(lines)) from None


def _format_error(exc: BaseException, kind: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    name = getattr(kind, "__name__", None) or str(kind)
    return str(exc) or f"invalid value, expected {name}"


_EVENT_FIELDS = frozenset(a.name for a in attrs.fields(RunLifecycleEvent))


def _structure_strict(value: Any, kind: type) -> Any:
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r:.40}")
    return value


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__} {value!r:.40}")
    return float(value)


def _structure_progress(value: Any, _: type) -> Progress:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    known = {a.name for a in attrs.fields(Progress)}
    return _base_converter.structure({k: v for k, v in value.items() if k in known}, Progress)


def _build_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_structure_hook(int, _structure_strict)
    conv.register_structure_hook(str, _structure_strict)
    conv.register_structure_hook(bool, _structure_strict)
    conv.register_structure_hook(float, _structure_float)
    conv.register_unstructure_hook(tuple, list)
    return conv


_base_converter = _build_converter()
_converter = _build_converter()
_converter.register_structure_hook(Progress, _structure_progress)
