"""Which file-system changes under a runs root matter, and to which run they belong.

A change matters when it can change a run's manifest. Our own ``artifacts.json`` writes,
temp files, hidden top-level entries and appends to log files never do: ignoring them keeps
the watcher from rescanning in a loop and from rescanning on every log line.
"""

from __future__ import annotations

import os

from watchfiles import Change

from gui_fastpath.manifest import MANIFEST_NAME, TEMP_PREFIX

__all__ = ["RunsFilter", "is_temp_name", "run_id_of"]

_TEMP_SUFFIXES = (".tmp", ".temp", "~", ".swp", ".swx")
_APPEND_ONLY_SUFFIXES = (".log", ".jsonl")


def is_temp_name(name: str) -> bool:
    """A temp file: ours (``.artifacts.json.*``) or an editor's/atomic writer's."""
    return name.startswith((TEMP_PREFIX, f"{MANIFEST_NAME}.", ".#")) or name.endswith(
        _TEMP_SUFFIXES
    )


def is_append_only_name(name: str) -> bool:
    """Logs and JSON-lines files: only their path is in a manifest, so appends don't count."""
    return name.endswith(_APPEND_ONLY_SUFFIXES)


def run_id_of(root: str, path: str) -> str | None:
    """The run a path under ``root`` belongs to (its first component), or None.

    ``root`` must be canonical (``os.path.realpath``), as watchfiles reports paths.
    Hidden top-level entries are not runs.
    """
    prefix = root.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return None
    run_id = path[len(prefix) :].split(os.sep, 1)[0]
    if not run_id or run_id.startswith("."):
        return None
    return run_id


class RunsFilter:
    """A watchfiles ``watch_filter``: keeps the changes that can change a run's manifest."""

    def __init__(self, root: str) -> None:
        self._root = root.rstrip(os.sep)
        self._prefix = self._root + os.sep

    def __call__(self, change: Change, path: str) -> bool:
        if path == self._root:
            return True
        if not path.startswith(self._prefix):
            return False
        parts = path[len(self._prefix) :].split(os.sep)
        if parts[0].startswith("."):
            return False
        name = parts[-1]
        if len(parts) == 2 and name == MANIFEST_NAME:
            return False
        if is_temp_name(name):
            return False
        return not (change == Change.modified and is_append_only_name(name))

    def __repr__(self) -> str:
        return f"RunsFilter({self._root!r})"
