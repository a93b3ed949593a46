"""Watch a runs root and report typed run events (Qt-free, asyncio, works on qasync)."""

from gui_fastpath.watch.events import (
    ManifestChanged,
    RunAppeared,
    RunEvent,
    RunRemoved,
    RunScanFailed,
)
from gui_fastpath.watch.filters import RunsFilter
from gui_fastpath.watch.watcher import Batch, RescanResult, RunsWatcher, StopEvent

__all__ = [
    "Batch",
    "ManifestChanged",
    "RescanResult",
    "RunAppeared",
    "RunEvent",
    "RunRemoved",
    "RunScanFailed",
    "RunsFilter",
    "RunsWatcher",
    "StopEvent",
]
