"""What the runs watcher reports: typed, immutable events, one per run and change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

if TYPE_CHECKING:
    from gui_fastpath.manifest import ArtifactManifest

__all__ = ["ManifestChanged", "RunAppeared", "RunEvent", "RunRemoved", "RunScanFailed"]


def _manifest_dict(manifest: ArtifactManifest) -> dict[str, Any]:
    from gui_fastpath.manifest import manifest_to_dict

    return manifest_to_dict(manifest)


@attrs.frozen
class RunAppeared:
    """A run directory is under the root: found at start, created, or moved in."""

    run_id: str
    """The run directory's name."""
    run_dir: Path
    manifest: ArtifactManifest
    """The run's manifest, as just scanned (and written)."""
    initial: bool = False
    """True when the run was already there when the watcher started."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``"type": "run_appeared"``."""
        return {
            "type": "run_appeared",
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "initial": self.initial,
            "manifest": _manifest_dict(self.manifest),
        }


@attrs.frozen
class ManifestChanged:
    """A known run changed on disk and its rescan changed the manifest."""

    run_id: str
    run_dir: Path
    manifest: ArtifactManifest
    """The new manifest."""
    changes: tuple[str, ...]
    """Dotted names of the parts that changed, e.g. ``tensorboard.event_files``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``"type": "manifest_changed"``."""
        return {
            "type": "manifest_changed",
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "changes": list(self.changes),
            "manifest": _manifest_dict(self.manifest),
        }


@attrs.frozen
class RunRemoved:
    """A known run directory is gone: deleted, or moved out of the root."""

    run_id: str
    run_dir: Path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``"type": "run_removed"``."""
        return {"type": "run_removed", "run_id": self.run_id, "run_dir": str(self.run_dir)}


@attrs.frozen
class RunScanFailed:
    """A run changed but could not be rescanned (unreadable, say); watching goes on."""

    run_id: str
    run_dir: Path
    error: str
    """One line naming the path and the problem."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``"type": "run_scan_failed"``."""
        return {
            "type": "run_scan_failed",
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "error": self.error,
        }


RunEvent: TypeAlias = RunAppeared | ManifestChanged | RunRemoved | RunScanFailed
"""Any event the watcher yields."""
