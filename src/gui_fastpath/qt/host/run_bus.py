"""The reference host's run bus: MOSAIC's topic enum, event shape and ``publish``."""

from __future__ import annotations

import enum
from typing import Any

import attrs

__all__ = ["RunBus", "TelemetryEvent", "Topic"]


class Topic(enum.Enum):
    RUN_STARTED = enum.auto()
    RUN_COMPLETED = enum.auto()
    STEP_APPENDED = enum.auto()
    EPISODE_FINALIZED = enum.auto()


@attrs.frozen
class TelemetryEvent:
    topic: Topic
    run_id: str
    agent_id: str | None
    seq_id: int
    ts_iso: str
    payload: dict[str, Any]


class RunBus:
    """Keeps what was published, newest last (MOSAIC fans out to subscriber queues)."""

    def __init__(self) -> None:
        self.published: list[TelemetryEvent] = []

    def publish(self, event: TelemetryEvent) -> None:
        self.published.append(event)
