"""Run artifact manifests: the data model, worker hints, scanning and atomic storage (Qt-free)."""

from gui_fastpath.manifest.converter import manifest_from_dict, manifest_to_dict
from gui_fastpath.manifest.diff import diff_manifests
from gui_fastpath.manifest.errors import ManifestError, RunDirError
from gui_fastpath.manifest.hint_models import RunLayout
from gui_fastpath.manifest.hints import LAYOUT_NAME
from gui_fastpath.manifest.model import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    TEMP_PREFIX,
    ArtifactManifest,
    Checkpoint,
    EventFile,
    Logs,
    ManifestWarning,
    TensorBoardArtifacts,
    WandbRun,
)
from gui_fastpath.manifest.scanner import iter_run_dirs, scan_root, scan_run
from gui_fastpath.manifest.store import (
    ManifestUpdate,
    dumps_manifest,
    read_manifest,
    update_manifest,
    write_manifest,
    write_run_layout,
)

__all__ = [
    "LAYOUT_NAME",
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "TEMP_PREFIX",
    "ArtifactManifest",
    "Checkpoint",
    "EventFile",
    "Logs",
    "ManifestError",
    "ManifestUpdate",
    "ManifestWarning",
    "RunDirError",
    "RunLayout",
    "TensorBoardArtifacts",
    "WandbRun",
    "diff_manifests",
    "dumps_manifest",
    "iter_run_dirs",
    "manifest_from_dict",
    "manifest_to_dict",
    "read_manifest",
    "scan_root",
    "scan_run",
    "update_manifest",
    "write_manifest",
    "write_run_layout",
]
