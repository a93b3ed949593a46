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
from gui_fastpath.lifecycle.protocol import WorkerMessage, parse_protocol_line, parse_sidecar
from gui_fastpath.lifecycle.supervisor import (
    ManifestRefresher,
    Supervisor,
    default_manifest_refresher,
    log_paths,
)

__all__ = [
    "LIFECYCLE_NAME",
    "JournalLockedError",
    "LifecycleEventError",
    "LifecycleJournal",
    "ManifestRefresher",
    "Progress",
    "RunLifecycleEvent",
    "RunState",
    "Supervisor",
    "WorkerMessage",
    "default_manifest_refresher",
    "log_paths",
    "parse_protocol_line",
    "parse_sidecar",
    "read_lifecycle",
    "read_lifecycle_since",
]
