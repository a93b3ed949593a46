"""TensorBoard for the Fast Analytics Path (Qt-free): managed servers, event reader, archive."""

from gui_fastpath.tensorboard.archive import (
    ArchiveError,
    ArchiveResult,
    archive_events,
    list_archived,
    restore_events,
)
from gui_fastpath.tensorboard.errors import (
    DataServerUnavailable,
    TensorBoardError,
    TensorBoardStartError,
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
from gui_fastpath.tensorboard.pool import (
    IndexLease,
    TensorBoardLease,
    TensorBoardPool,
    default_pool,
)
from gui_fastpath.tensorboard.server import INDEX_MODES, IndexMode, ServerEvent, ServerOptions

__all__ = [
    "INDEX_MODES",
    "ArchiveError",
    "ArchiveResult",
    "DataServerUnavailable",
    "EventFileError",
    "EventFileReader",
    "IndexLease",
    "IndexMode",
    "ReadProblem",
    "ScalarPoint",
    "ScalarReader",
    "ScalarSeries",
    "ScalarUpdate",
    "ServerEvent",
    "ServerOptions",
    "TensorBoardError",
    "TensorBoardLease",
    "TensorBoardPool",
    "TensorBoardStartError",
    "archive_events",
    "default_pool",
    "list_archived",
    "read_scalars",
    "restore_events",
]
