"""Run artifact manifests: the data model, worker hints, scanning and atomic storage (Qt-free)."""

from gui_fastpath.manifest.model import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    ArtifactManifest,
    Checkpoint,
    EventFile,
    Logs,
    ManifestWarning,
    TensorBoardArtifacts,
    WandbRun,
)

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "ArtifactManifest",
    "Checkpoint",
    "EventFile",
    "Logs",
    "ManifestWarning",
    "TensorBoardArtifacts",
    "WandbRun",
]
