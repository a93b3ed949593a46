"""Where maintenance may act: real run directories under the runs root, never via a symlink."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import attrs

from gui_fastpath.lifecycle import LIFECYCLE_NAME
from gui_fastpath.maintenance.errors import BadRootError, UnsafeTarget
from gui_fastpath.manifest import MANIFEST_NAME, RunDirError, iter_run_dirs
from gui_fastpath.manifest.hints import ANALYTICS_NAME, HINTS_NAME
from gui_fastpath.manifest.paths import UnsafePath, is_inside, relative_posix

__all__ = [
    "RUN_MARKERS",
    "FoundRuns",
    "RunDir",
    "checked_target",
    "find_runs",
    "resolve_root",
    "run_marker",
]

RUN_MARKERS = (LIFECYCLE_NAME, MANIFEST_NAME, HINTS_NAME, ANALYTICS_NAME, "tensorboard", "wandb")
"""A directory holding one of these is a run directory, not a runs root."""


@attrs.frozen
class RunDir:
    """A run directory directly under the runs root (not a symlink)."""

    run_id: str
    path: Path


@attrs.frozen
class FoundRuns:
    """The runs under a root, and the entries that look like runs but are refused."""

    runs: tuple[RunDir, ...]
    refused: tuple[tuple[str, str], ...] = ()
    """(name, reason) pairs, e.g. a run directory that is a symlink."""


def resolve_root(path: str | os.PathLike[str], what: str = "runs root") -> Path:
    """The real path of an existing, readable directory, or :class:`BadRootError`."""
    given = os.fspath(path)
    real = os.path.realpath(given)
    try:
        with os.scandir(real):
            pass
    except FileNotFoundError:
        raise BadRootError(f"{what} not found: {given}") from None
    except NotADirectoryError:
        raise BadRootError(f"{what} is not a directory: {given}") from None
    except OSError as exc:
        raise BadRootError(f"{what} is not readable: {given} ({exc.strerror or exc})") from None
    return Path(real)


def run_marker(path: str | os.PathLike[str]) -> str | None:
    """The file that makes ``path`` a run directory (e.g. ``lifecycle.jsonl``), if any."""
    return next((m for m in RUN_MARKERS if os.path.lexists(os.path.join(path, m))), None)


def find_runs(root: Path) -> FoundRuns:
    """The run directories under ``root`` (sorted); symlinked ones are refused, not followed."""
    runs, refused = [], []
    try:
        for entry in iter_run_dirs(root):
            if entry.is_symlink():
                refused.append((entry.name, "a symlink; maintenance never follows symlinks"))
            else:
                runs.append(RunDir(entry.name, Path(entry.path)))
    except RunDirError as exc:
        raise BadRootError(str(exc)) from None
    return FoundRuns(tuple(runs), tuple(refused))


def checked_target(run_dir: Path, rel: str) -> Path:
    """The path of ``rel`` inside ``run_dir``, checked before it is deleted or replaced.

    :class:`UnsafeTarget` if ``rel`` is not a plain relative path, if it or any folder on
    the way is a symlink, or if it resolves outside the run; :class:`FileNotFoundError`
    if it is gone.
    """
    try:
        norm = relative_posix(rel)
    except UnsafePath as exc:
        raise UnsafeTarget(f"{exc.problem}; refused") from None
    if norm == ".":
        raise UnsafeTarget("the run directory itself; refused")
    current = run_dir
    for part in norm.split("/"):
        current = current / part
        if stat.S_ISLNK(os.lstat(current).st_mode):
            where = current.relative_to(run_dir).as_posix()
            raise UnsafeTarget(f"{where} is a symlink; maintenance never follows or deletes them")
    if not is_inside(os.path.realpath(run_dir), str(current)):
        raise UnsafeTarget(f"{norm} resolves outside the run directory; refused")
    return current
