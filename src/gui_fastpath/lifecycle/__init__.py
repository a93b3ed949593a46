"""Worker lifecycle on the fast lane: typed events, their journal and the supervisor (Qt-free)."""

from gui_fastpath.lifecycle.events import (
    LifecycleEventError,
    Progress,
    RunLifecycleEvent,
    RunState,
)
from gui_fastpath.lifecycle.journal import (
    LIFECYCLE_NAME,
    JournalLockedError,
    LifecycleJournal,
    read_lifecycle,
    read_lifecycle_since,
)

__all__ = [
    "LIFECYCLE_NAME",
    "JournalLockedError",
    "LifecycleEventError",
    "LifecycleJournal",
    "Progress",
    "RunLifecycleEvent",
    "RunState",
    "read_lifecycle",
    "read_lifecycle_since",
]
