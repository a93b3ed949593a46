"""Keeping a large runs root in check: disk usage, pruning and log compression (Qt-free).

Every change is planned first and only made with ``apply=True``; only finished runs are
changed, under their journal lock; symlinks and paths outside the runs root are refused.
"""

from gui_fastpath.maintenance.compress import compress_logs, gzip_log
from gui_fastpath.maintenance.errors import BadRootError, UnsafeTarget
from gui_fastpath.maintenance.pruning import prune
from gui_fastpath.maintenance.result import (
    Action,
    Failure,
    MaintenanceResult,
    ManifestRefresh,
    Skip,
)
from gui_fastpath.maintenance.run_state import RunStatus, claim_run, run_status
from gui_fastpath.maintenance.usage import (
    CATEGORIES,
    CATEGORY_LABELS,
    Category,
    RunUsage,
    Usage,
    UsageReport,
    disk_usage,
    run_usage,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "Action",
    "BadRootError",
    "Category",
    "Failure",
    "MaintenanceResult",
    "ManifestRefresh",
    "RunStatus",
    "RunUsage",
    "Skip",
    "UnsafeTarget",
    "Usage",
    "UsageReport",
    "claim_run",
    "compress_logs",
    "disk_usage",
    "gzip_log",
    "prune",
    "run_status",
    "run_usage",
]
