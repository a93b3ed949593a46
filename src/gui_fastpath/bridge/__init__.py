"""Runs and their events for the GUI, from the local disk or over the SSE bridge (Qt-free).

The GUI codes against :class:`RunEventSource`; :class:`LocalEventSource` follows a runs root
directly, :class:`SseEventSource` follows a ``gui-fastpath serve`` bridge
(:class:`BridgeServer`). The HTTP parts (aiohttp) load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gui_fastpath.bridge.events import (
    BadEventIdError,
    BadRunIdError,
    BridgeEvent,
    EventKind,
    RunSummary,
    validate_run_id,
)
from gui_fastpath.bridge.local import LocalEventSource
from gui_fastpath.bridge.source import RunEventSource

if TYPE_CHECKING:
    from gui_fastpath.bridge.client import BridgeAuthError, BridgeError, SseEventSource
    from gui_fastpath.bridge.server import BridgeServer

__all__ = [
    "BadEventIdError",
    "BadRunIdError",
    "BridgeAuthError",
    "BridgeError",
    "BridgeEvent",
    "BridgeServer",
    "EventKind",
    "LocalEventSource",
    "RunEventSource",
    "RunSummary",
    "SseEventSource",
    "validate_run_id",
]

_LAZY = {
    "BridgeAuthError": "client",
    "BridgeError": "client",
    "SseEventSource": "client",
    "BridgeServer": "server",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
