"""``prune``: delete old checkpoints of finished runs, and optionally whole old finished runs.

Checkpoints are the manifest's (:func:`~gui_fastpath.manifest.scan_run`), newest first;
the newest ``keep_checkpoints`` of each run stay, so a run's only checkpoint never goes.
A whole run goes only when it finished more than ``runs_older_than`` seconds ago and none
of its offline W&B runs is unsynced (unless ``include_unsynced_wandb``): an unsynced
offline run exists nowhere else.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from gui_fastpath.maintenance._format import format_age
from gui_fastpath.maintenance._runner import Recorder, delete_tree, for_each_finished_run
from gui_fastpath.maintenance.errors import UnsafeTarget
from gui_fastpath.maintenance.result import Action, MaintenanceResult
from gui_fastpath.maintenance.run_state import RunStatus
from gui_fastpath.maintenance.safety import RunDir, checked_target
from gui_fastpath.maintenance.usage import run_usage
from gui_fastpath.manifest import ArtifactManifest, Checkpoint, scan_run

__all__ = ["prune"]


def prune(
    root: str | os.PathLike[str],
    *,
    keep_checkpoints: int | None = None,
    runs_older_than: float | None = None,
    include_unsynced_wandb: bool = False,
    apply: bool = False,
    now: float | None = None,
) -> MaintenanceResult:
    """Plan (dry run, the default) or, with ``apply``, make the deletions; see the module.

    ``keep_checkpoints`` (1 or more) prunes checkpoints; ``runs_older_than`` (seconds)
    deletes whole runs. Raises :class:`ValueError` for bad options and
    :class:`~gui_fastpath.maintenance.BadRootError` for a bad runs root.
    """
    if keep_checkpoints is None and runs_older_than is None:
        raise ValueError("nothing to prune: give keep_checkpoints and/or runs_older_than")
    if keep_checkpoints is not None and keep_checkpoints < 1:
        raise ValueError(
            f"keep_checkpoints must be 1 or more, not {keep_checkpoints}: "
            "a run's newest checkpoint is never deleted"
        )
    if runs_older_than is not None and runs_older_than < 0:
        raise ValueError(f"runs_older_than must be 0 or more, not {runs_older_than}")
    pruner = _Pruner(
        keep_checkpoints,
        runs_older_than,
        include_unsynced_wandb,
        apply,
        time.time() if now is None else now,
    )
    return for_each_finished_run("prune", root, apply=apply, step=pruner.run)


class _Pruner:
    def __init__(
        self,
        keep: int | None,
        older_than: float | None,
        include_unsynced: bool,
        apply: bool,
        now: float,
    ) -> None:
        self.keep, self.older_than, self.include_unsynced = keep, older_than, include_unsynced
        self.apply, self.now = apply, now

    def run(self, run: RunDir, status: RunStatus, rec: Recorder) -> None:
        manifest = scan_run(run.path)
        if self._old(status) and self._delete_run(run, status, manifest, rec):
            return
        if self.keep is not None:
            self._prune_checkpoints(run, manifest, rec)

    def _old(self, status: RunStatus) -> bool:
        if self.older_than is None or status.finished_at is None:
            return False
        return self.now - status.finished_at >= self.older_than

    def _delete_run(
        self, run: RunDir, status: RunStatus, manifest: ArtifactManifest, rec: Recorder
    ) -> bool:
        """Delete (or plan to delete) the whole run; False if it must stay."""
        unsynced = [w.run_id for w in manifest.wandb if w.mode == "offline" and not w.synced]
        if unsynced and not self.include_unsynced:
            rec.skip(
                run.run_id,
                f"run kept, its offline W&B run {', '.join(unsynced)} is not synced; sync it "
                f"first (gui-fastpath wandb sync {run.path}), or pass --include-unsynced-wandb "
                "to delete it anyway",
            )
            return False
        assert status.finished_at is not None and self.older_than is not None
        age = format_age(self.now - status.finished_at)
        reason = f"{status.last_state} {age} ago, older than {format_age(self.older_than)}"
        if unsynced:
            reason += f"; unsynced offline W&B run {', '.join(unsynced)} deleted as asked"
        action = Action("delete_run", run.run_id, run.run_id, run_usage(run.path).size, reason)
        if self.apply:
            try:
                delete_tree(run.path)
            except OSError as exc:
                rec.fail(run.run_id, run.run_id, exc)
                return True
        rec.actions.append(action)
        return True

    def _prune_checkpoints(self, run: RunDir, manifest: ArtifactManifest, rec: Recorder) -> None:
        assert self.keep is not None
        kept = manifest.checkpoints[: self.keep]
        changed = False
        for checkpoint in manifest.checkpoints[self.keep :]:
            where = f"{run.run_id}/{checkpoint.path}"
            if any(k.path.startswith(f"{checkpoint.path}/") for k in kept):
                rec.skip(run.run_id, "holds a newer checkpoint that is kept", where)
                continue
            try:
                target = checked_target(run.path, checkpoint.path)
            except UnsafeTarget as exc:
                rec.skip(run.run_id, str(exc), where)
                continue
            except FileNotFoundError:
                continue  # gone since the scan
            reason = (
                f"only the newest {self.keep} of {len(manifest.checkpoints)} checkpoints are kept"
            )
            action = Action("delete_checkpoint", run.run_id, where, checkpoint.size, reason)
            if self.apply:
                try:
                    _delete_checkpoint(target, checkpoint)
                except OSError as exc:
                    rec.fail(run.run_id, where, exc)
                    continue
                changed = True
            rec.actions.append(action)
        if changed:
            rec.refresh(run)


def _delete_checkpoint(target: Path, checkpoint: Checkpoint) -> None:
    if checkpoint.kind == "directory":
        delete_tree(target)
    else:
        os.unlink(target)
