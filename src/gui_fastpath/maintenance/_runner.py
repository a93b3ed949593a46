"""The loop every maintenance command shares: each run, finished ones only, under its lock."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from gui_fastpath.maintenance.errors import BadRootError
from gui_fastpath.maintenance.result import (
    Action,
    Command,
    Failure,
    MaintenanceResult,
    ManifestRefresh,
    Skip,
)
from gui_fastpath.maintenance.run_state import RunStatus, claim_run, run_status
from gui_fastpath.maintenance.safety import RunDir, find_runs, resolve_root, run_marker
from gui_fastpath.manifest import RunDirError, update_manifest

DELETING_PREFIX = ".gui-fastpath-deleting-"
"""A folder being deleted is first renamed to this hidden name (scanners and watchers skip it)."""


class Recorder:
    """Collects what one command does to the runs of one root."""

    def __init__(self, command: Command, root: Path, applied: bool) -> None:
        self.command, self.root, self.applied = command, root, applied
        self.actions: list[Action] = []
        self.skipped: list[Skip] = []
        self.failed: list[Failure] = []
        self.refreshed: list[ManifestRefresh] = []

    def skip(self, run_id: str, reason: str, path: str | None = None) -> None:
        self.skipped.append(Skip(run_id, reason, path))

    def fail(self, run_id: str, path: str, exc: BaseException | str) -> None:
        error = exc if isinstance(exc, str) else _error_text(exc)
        self.failed.append(Failure(run_id, path, error))

    def refresh(self, run: RunDir) -> None:
        """Rescan the run and rewrite its ``artifacts.json`` after it was changed."""
        try:
            update = update_manifest(run.path)
        except (OSError, RunDirError) as exc:
            self.refreshed.append(ManifestRefresh(run.run_id, error=_error_text(exc)))
            return
        self.refreshed.append(ManifestRefresh(run.run_id, update.changes))

    def result(self) -> MaintenanceResult:
        return MaintenanceResult(
            self.command,
            self.root,
            self.applied,
            tuple(self.actions),
            tuple(self.skipped),
            tuple(self.failed),
            tuple(self.refreshed),
        )


RunStep = Callable[[RunDir, RunStatus, Recorder], None]


def for_each_finished_run(
    command: Command, root: str | os.PathLike[str], *, apply: bool, step: RunStep
) -> MaintenanceResult:
    """Call ``step`` for every finished run under ``root``; record why others are skipped.

    With ``apply`` each run's journal lock is held during its step, so no supervisor can
    start on it meanwhile; a dry run only probes the lock.
    """
    real = resolve_root(root)
    marker = run_marker(real)
    if marker is not None:
        raise BadRootError(
            f"{os.fspath(root)} is a run directory (it has {marker}), not a runs root; "
            f"give the runs root that holds it: {real.parent}"
        )
    found = find_runs(real)
    recorder = Recorder(command, real, apply)
    for name, reason in found.refused:
        recorder.skip(name, reason)
    for run in found.runs:
        if apply:
            with claim_run(run.path) as status:
                _step(run, status, recorder, step)
        else:
            _step(run, run_status(run.path), recorder, step)
    return recorder.result()


def _step(run: RunDir, status: RunStatus, recorder: Recorder, step: RunStep) -> None:
    if not status.finished:
        recorder.skip(run.run_id, status.reason)
        return
    try:
        step(run, status, recorder)
    except RunDirError:
        recorder.skip(run.run_id, "removed while being looked at")


def delete_tree(path: Path) -> None:
    """Rename a folder to a hidden sibling (it disappears at once), then delete that.

    :func:`shutil.rmtree` never follows symlinks inside; ``path`` must not be one.
    """
    hidden = path.with_name(f"{DELETING_PREFIX}{path.name}-{os.getpid()}")
    os.rename(path, hidden)
    try:
        shutil.rmtree(hidden)
    except OSError as exc:
        raise OSError(
            exc.errno, f"partly deleted ({exc.strerror or exc}); remove {hidden} by hand"
        ) from None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
