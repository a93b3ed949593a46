"""Where a run's TensorBoard logs are, from its manifest, and what to say when there are none."""

from __future__ import annotations

import posixpath
from pathlib import Path

from gui_fastpath.manifest.model import MANIFEST_NAME, ArtifactManifest
from gui_fastpath.tensorboard.errors import TensorBoardError

__all__ = ["no_logs_guidance", "run_log_dir"]


def run_log_dir(run_dir: Path, manifest: ArtifactManifest | None) -> Path | None:
    """The run's TensorBoard log directory, or None when the manifest names none.

    Raises :class:`TensorBoardError` when the manifest's path leaves the run directory.
    """
    if manifest is None or manifest.tensorboard is None:
        return None
    relative = manifest.tensorboard.log_dir
    normal = posixpath.normpath(relative)
    if posixpath.isabs(normal) or normal == ".." or normal.startswith("../"):
        raise TensorBoardError(
            f"{run_dir / MANIFEST_NAME}: tensorboard.log_dir {relative!r} leaves the run "
            f"directory; fix: rescan the run with `gui-fastpath scan {run_dir}`."
        )
    return run_dir / normal


def no_logs_guidance(run_id: str) -> str:
    """The seed's offline guidance, for a run without TensorBoard logs."""
    return f"Worker did not emit TensorBoard logs; check `var/trainer/runs/{run_id}/stdout.log`."
