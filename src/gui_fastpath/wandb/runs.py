"""Find the W&B runs a worker wrote: ``run-*`` and ``offline-run-*`` folders, newest first."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

import attrs

from gui_fastpath.wandb.folders import RUN_FOLDER, file_ids

__all__ = ["LocalRun", "find_wandb_dirs", "list_runs"]


@attrs.frozen
class LocalRun:
    """One run folder under a ``wandb/`` directory."""

    run_id: str
    """The W&B run id: the ``<id>`` in ``run-<id>.wandb``."""
    mode: Literal["offline", "online"]
    directory: Path
    """The ``run-*`` or ``offline-run-*`` folder."""
    wandb_file: Path | None
    """Its ``run-<id>.wandb`` transaction log, None if absent."""
    started_at: float
    """When the folder was created, from its name (local time), as Unix seconds."""
    size: int
    """Bytes in the ``.wandb`` file (0 if absent)."""
    mtime: float
    """Last modification of the ``.wandb`` file, or of the folder if there is none."""


def find_wandb_dirs(run_dir: str | os.PathLike[str]) -> list[Path]:
    """The ``wandb`` directories for a run: ``run_dir/wandb``, ``run_dir/wandb/wandb``,
    or ``run_dir`` itself when it is one."""
    root = Path(run_dir)
    candidates = [root, root / "wandb", root / "wandb" / "wandb"]
    return [d for d in candidates if d.is_dir() and any(_runs_in(d))]


def _runs_in(wandb_dir: Path) -> list[LocalRun]:
    found = []
    try:
        entries = list(os.scandir(wandb_dir))
    except OSError:
        return []
    for entry in entries:
        match = RUN_FOLDER.match(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        run_id, wandb_file, size, mtime = match["id"], None, 0, 0.0
        for file_id in file_ids(match["id"]):
            log = folder / f"run-{file_id}.wandb"
            try:
                st = log.stat()
            except OSError:
                continue
            run_id, wandb_file, size, mtime = file_id, log, st.st_size, st.st_mtime
            break
        else:
            mtime = entry.stat().st_mtime
        started = time.mktime(time.strptime(match["stamp"], "%Y%m%d_%H%M%S"))
        found.append(
            LocalRun(
                run_id=run_id,
                mode="offline" if match["offline"] else "online",
                directory=folder,
                wandb_file=wandb_file,
                started_at=started,
                size=size,
                mtime=mtime,
            )
        )
    return found


def list_runs(run_dir: str | os.PathLike[str]) -> list[LocalRun]:
    """Every W&B run folder under ``run_dir`` (resumes and retries included), newest first.

    Looks in ``run_dir`` itself when it is a ``wandb`` directory, in ``run_dir/wandb`` and
    in ``run_dir/wandb/wandb`` (where ``wandb.init(dir=run_dir/"wandb")`` puts them).
    """
    runs = [run for d in find_wandb_dirs(run_dir) for run in _runs_in(d)]
    runs.sort(key=lambda r: (r.started_at, r.mtime, r.directory.name), reverse=True)
    return runs
