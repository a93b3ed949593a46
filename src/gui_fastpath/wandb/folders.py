"""W&B run folder names: ``[offline-]run-<YYYYMMDD_HHMMSS>-<id>[-<n>]``.

wandb adds ``-<n>`` when a folder for the same id and second exists already (a run resumed
within the second its previous attempt started); the file inside keeps the bare id,
``run-<id>.wandb``.
"""

from __future__ import annotations

import re

__all__ = ["RUN_FOLDER", "file_ids", "run_id_of"]

RUN_FOLDER = re.compile(r"^(?P<offline>offline-)?run-(?P<stamp>\d{8}_\d{6})-(?P<id>[^/\\]+)$")
"""A run folder's name; ``id`` may carry wandb's ``-<n>``."""

_REPEAT = re.compile(r"^(?P<id>.+)-\d+$")


def file_ids(folder_id: str) -> tuple[str, ...]:
    """Ids the folder's ``run-<id>.wandb`` may have: the folder's, then without a ``-<n>``."""
    repeat = _REPEAT.match(folder_id)
    return (folder_id,) if repeat is None else (folder_id, repeat["id"])


def run_id_of(folder_id: str, file_id: str | None) -> str:
    """The run id of a folder named for ``folder_id`` that holds ``run-<file_id>.wandb``."""
    return file_id if file_id is not None and file_id in file_ids(folder_id) else folder_id
