"""The host's worker lifecycle protocol: JSON lines on stdout, and the seed's sidecar file.

A protocol line is one JSON object with an ``event`` (``run_started``, ``heartbeat``,
``run_completed``, ``run_failed``, ``run_cancelled``), a ``run_id``, a ``timestamp`` and a
``payload``; every other stdout line is a plain log line. The sidecar heartbeat file holds
either such an object or a bare payload (``{"step": 500, "total_steps": 20000, ...}``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import attrs

__all__ = [
    "PROTOCOL_EVENTS",
    "ProgressSample",
    "WorkerMessage",
    "parse_protocol_line",
    "parse_sidecar",
    "sample_from_payload",
]

WorkerEvent = Literal["run_started", "heartbeat", "run_completed", "run_failed", "run_cancelled"]
PROTOCOL_EVENTS: frozenset[str] = frozenset(
    {"run_started", "heartbeat", "run_completed", "run_failed", "run_cancelled"}
)
_MAX_LINE = 1 << 20


@attrs.frozen
class WorkerMessage:
    """One lifecycle message the worker sent."""

    event: WorkerEvent
    payload: dict[str, Any] = attrs.field(factory=dict)
    run_id: str | None = None
    timestamp: float | None = None
    """The worker's clock (Unix seconds), when it sent one."""


@attrs.frozen
class ProgressSample:
    """Progress fields a worker reported; ``None`` where it said nothing."""

    step: int | None = None
    total_steps: int | None = None
    episode: int | None = None
    steps_per_s: float | None = None
    memory_mb: float | None = None
    cpu_percent: float | None = None
    last_checkpoint: str | None = None

    @property
    def empty(self) -> bool:
        return self == _EMPTY_SAMPLE


_EMPTY_SAMPLE = ProgressSample()

_STEP_KEYS = ("step", "global_step", "timestep", "timesteps", "total_steps_done")
_TOTAL_KEYS = ("total_steps", "total_timesteps", "max_steps", "num_steps_total")
_RATE_KEYS = ("steps_per_second", "steps_per_s", "sps", "SPS")
_CHECKPOINT_KEYS = ("last_checkpoint", "checkpoint", "checkpoint_path")


def parse_protocol_line(line: bytes | str) -> WorkerMessage | None:
    """The message on a stdout line, or ``None`` for a plain log line."""
    text = line.strip()
    if not text or len(text) > _MAX_LINE or text[:1] not in ("{", b"{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return _message_from(data)


def parse_sidecar(data: Any) -> WorkerMessage | None:
    """A sidecar heartbeat file's parsed JSON as a message; ``None`` if it is not an object."""
    if not isinstance(data, dict):
        return None
    message = _message_from(data)
    if message is not None:
        return message
    return WorkerMessage(event="heartbeat", payload=data, timestamp=_number(data.get("timestamp")))


def sample_from_payload(payload: dict[str, Any]) -> ProgressSample:
    """The progress fields of a heartbeat (or other) payload, under their common names."""
    checkpoint = _first(payload, _CHECKPOINT_KEYS)
    return ProgressSample(
        step=_count(_first(payload, _STEP_KEYS)),
        total_steps=_count(_first(payload, _TOTAL_KEYS)),
        episode=_count(payload.get("episode")),
        steps_per_s=_number(_first(payload, _RATE_KEYS)),
        memory_mb=_number(payload.get("memory_mb")),
        cpu_percent=_number(payload.get("cpu_percent")),
        last_checkpoint=checkpoint if isinstance(checkpoint, str) and checkpoint else None,
    )


def _message_from(data: Any) -> WorkerMessage | None:
    if not isinstance(data, dict) or data.get("event") not in PROTOCOL_EVENTS:
        return None
    payload = data.get("payload")
    run_id = data.get("run_id")
    return WorkerMessage(
        event=data["event"],
        payload=payload if isinstance(payload, dict) else {},
        run_id=run_id if isinstance(run_id, str) else None,
        timestamp=_number(data.get("timestamp")),
    )


def _first(payload: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if payload.get(key) is not None:
            return payload[key]
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None
