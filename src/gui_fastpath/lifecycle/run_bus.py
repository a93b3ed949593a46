"""Forward lifecycle events to a host's own run bus (MOSAIC's ``RunBus``), Qt-free.

MOSAIC publishes ``TelemetryEvent(topic, run_id, agent_id, seq_id, ts_iso, payload)`` on
topics ``RUN_STARTED`` and ``RUN_COMPLETED`` (success or failure). We map onto those:
``STARTED`` → ``RUN_STARTED``; ``COMPLETED``/``FAILED``/``CANCELLED`` → ``RUN_COMPLETED``
with the outcome in the payload. ``RUNNING`` heartbeats stay on our own stream: the
host's bus carries no per-step traffic on the fast lane.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from gui_fastpath.lifecycle.events import RunLifecycleEvent, RunState

log = logging.getLogger(__name__)

__all__ = ["RunBusForwarder", "host_topic"]

_TOPICS = {
    RunState.STARTED: "RUN_STARTED",
    RunState.COMPLETED: "RUN_COMPLETED",
    RunState.FAILED: "RUN_COMPLETED",
    RunState.CANCELLED: "RUN_COMPLETED",
}


def host_topic(event: RunLifecycleEvent) -> str | None:
    """The host topic name for ``event``, or ``None`` when the host bus should not see it."""
    return _TOPICS.get(event.state)


class RunBusForwarder:
    """Publishes our lifecycle transitions on a host bus, built with the host's own types.

    ``topics`` is the host's topic enum (looked up by name) and ``make_event`` its event
    class, called with ``topic, run_id, agent_id, seq_id, ts_iso, payload`` keywords.
    """

    def __init__(self, bus: Any, topics: Any, make_event: Callable[..., Any]) -> None:
        self._bus, self._topics, self._make_event = bus, topics, make_event

    def __call__(self, event: RunLifecycleEvent) -> bool:
        """Publish ``event`` if the host bus carries it; never raises into the caller."""
        name = host_topic(event)
        if name is None:
            return False
        payload = event.to_dict()
        payload["status"] = event.state.value.lower()
        payload["lane"] = "fast"
        try:
            self._bus.publish(
                self._make_event(
                    topic=self._topics[name],
                    run_id=event.run_id,
                    agent_id=None,
                    seq_id=event.seq,
                    ts_iso=dt.datetime.fromtimestamp(event.timestamp, dt.UTC).isoformat(),
                    payload=payload,
                )
            )
        except Exception:  # the host's bus must not break our event stream
            log.exception("could not publish %s of run %s on the host bus", name, event.run_id)
            return False
        return True
