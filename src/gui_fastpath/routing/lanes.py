"""Which lane a worker's run takes: live telemetry, durable only, or the fast analytics path."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from gui_fastpath.routing.declaration import FastPathWorker

__all__ = ["Lane", "RouteDecision", "decide_lane"]


class Lane(enum.Enum):
    """The three lanes of the host's architecture."""

    LIVE = "live"
    """Per-step telemetry over gRPC to the live tabs (and the durable store)."""
    DURABLE = "durable"
    """Telemetry to the durable store only, nothing rendered live."""
    FAST = "fast"
    """No per-step telemetry: lifecycle events plus the worker's own analytics."""


@attrs.frozen
class RouteDecision:
    """A lane and why it was chosen, for logs and the training form's tooltip."""

    worker_id: str
    lane: Lane
    reason: str
    declaration: FastPathWorker | None = None
    """The worker's fast-path declaration, when it has one (its layout hints)."""


def decide_lane(
    worker_id: str,
    *,
    catalog_entry: Any = None,
    declaration: FastPathWorker | None = None,
    requested: Lane | None = None,
    live_view: bool = True,
) -> RouteDecision:
    """Decide the lane for one run.

    In order: the operator's explicit ``requested`` lane; live telemetry when the catalog
    or the declaration requires it; the fast lane when the worker declares its own
    analytics or the catalog flags ``provides_fast_analytics``; otherwise the telemetry
    lane (``LIVE``, or ``DURABLE`` when no one watches live, ``live_view=False``).
    ``catalog_entry`` is the host's ``WorkerDefinition`` or a mapping of its fields.
    """
    telemetry_lane = Lane.LIVE if live_view else Lane.DURABLE

    def decision(lane: Lane, reason: str) -> RouteDecision:
        return RouteDecision(worker_id, lane, reason, declaration)

    if requested is not None:
        return decision(requested, f"the operator chose the {requested.value} lane")
    if _flag(catalog_entry, "requires_live_telemetry"):
        return decision(telemetry_lane, "the host catalog says the worker requires live telemetry")
    if declaration is not None and declaration.requires_live_telemetry:
        return decision(
            telemetry_lane, f"its declaration ({declaration.source}) requires live telemetry"
        )
    if declaration is not None and declaration.writes_own_analytics:
        return decision(
            Lane.FAST, f"its declaration ({declaration.source}) says it writes its own analytics"
        )
    if _flag(catalog_entry, "provides_fast_analytics"):
        return decision(Lane.FAST, "the host catalog flags provides_fast_analytics")
    return decision(telemetry_lane, "no fast-path declaration or catalog flag")


def _flag(entry: Any, name: str) -> bool:
    if entry is None:
        return False
    value = entry.get(name) if isinstance(entry, Mapping) else getattr(entry, name, False)
    return value is True
