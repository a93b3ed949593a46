"""TensorBoard for the Fast Analytics Path (Qt-free): managed servers, event reader, archive."""

from gui_fastpath.tensorboard.archive import (
    ArchiveError,
    ArchiveResult,
    archive_events,
    list_archived,
    restore_events,
)
from gui_fastpath.tensorboard.event_reader import (
    EventFileError,
    EventFileReader,
    ReadProblem,
    ScalarPoint,
    ScalarReader,
    ScalarSeries,
    ScalarUpdate,
    read_scalars,
)

__all__ = [
    "ArchiveError",
    "ArchiveResult",
    "EventFileError",
    "EventFileReader",
    "ReadProblem",
    "ScalarPoint",
    "ScalarReader",
    "ScalarSeries",
    "ScalarUpdate",
    "archive_events",
    "list_archived",
    "read_scalars",
    "restore_events",
]
