"""Polling for file systems where inotify sees nothing (NFS): cheap tree signatures per run.

Each tick lists the root (new and removed runs), walks every *hot* run (changed in the last
minute) and then as many *cold* runs as fit in a time budget, round-robin. So active runs and
new runs are seen within one tick, an idle root of 10,000 runs costs a bounded slice of CPU
per tick, and a long-idle run that wakes up is seen within one full sweep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

import attrs

from gui_fastpath.manifest.model import MANIFEST_NAME
from gui_fastpath.watch.filters import is_append_only_name, is_temp_name

__all__ = ["PollResult", "RunsPoller", "list_runs", "tree_signature"]

HOT_SECONDS = 60.0
"""A run that changed this recently is walked on every tick."""


def list_runs(root: str) -> set[str]:
    """Names of the run directories directly under ``root`` (hidden ones are not runs)."""
    with os.scandir(root) as entries:
        return {
            e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=True)
        }


def tree_signature(run_dir: str, *, _attempts: int = 3) -> int | None:
    """A hash of every entry's path, size and mtime under ``run_dir``; None if it is gone.

    Entries the watcher ignores (our manifest, temp files) are left out; log files count by
    path only, as in native mode.
    """
    signature = 0
    stack = [run_dir]
    top = True
    try:
        while stack:
            directory = stack.pop()
            with os.scandir(directory) as entries:
                for entry in entries:
                    name = entry.name
                    if is_temp_name(name) or (top and name == MANIFEST_NAME):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        signature ^= hash((entry.path, "dir"))
                        stack.append(entry.path)
                    elif is_append_only_name(name):
                        signature ^= hash((entry.path, "log"))
                    else:
                        st = entry.stat(follow_symlinks=False)
                        signature ^= hash((entry.path, st.st_size, st.st_mtime_ns))
            top = False
    except FileNotFoundError:
        if directory == run_dir:
            return None
        if _attempts > 1:  # something vanished mid-walk: walk again
            return tree_signature(run_dir, _attempts=_attempts - 1)
        return hash((run_dir, "changing"))
    except OSError:
        # unreadable: report a stable value so the rescan (which names the problem) runs once
        return hash((run_dir, "unreadable"))
    return signature


@attrs.frozen
class PollResult:
    """What one tick found."""

    changed: frozenset[str]
    """Runs that appeared, disappeared or whose tree signature changed."""
    root_ok: bool
    """False when the root is gone or was replaced: the session must end."""


class RunsPoller:
    """Keeps one tree signature per run; :meth:`tick` reports the runs that changed."""

    def __init__(self, root: str, *, budget_s: float) -> None:
        self._root = root
        self._budget_s = budget_s
        self._identity = _identity(root)
        self._signatures: dict[str, int | None] = {}
        self._last_change: dict[str, float] = {}
        self._order: list[str] = []
        self._cursor = 0

    @property
    def runs(self) -> frozenset[str]:
        return frozenset(self._signatures)

    def baseline(self) -> set[str]:
        """Sign every run (the initial full walk) and return the runs found."""
        runs = list_runs(self._root)
        for run_id in runs:
            self._signatures[run_id] = tree_signature(os.path.join(self._root, run_id))
        self._order = sorted(self._signatures)
        return runs

    def tick(self) -> PollResult:
        """List the root, walk the hot runs and a budgeted slice of the cold ones."""
        if _identity(self._root) != self._identity:
            return PollResult(frozenset(), root_ok=False)
        try:
            current = list_runs(self._root)
        except OSError:
            return PollResult(frozenset(), root_ok=False)
        now = time.monotonic()
        changed = set(self._add_and_drop(current, now))
        self._last_change = {r: t for r, t in self._last_change.items() if now - t < HOT_SECONDS}
        hot = set(self._last_change)
        changed.update(self._walk(hot - changed, now))
        changed.update(self._walk(self._cold_slice(hot, now + self._budget_s), now))
        return PollResult(frozenset(changed), root_ok=True)

    def _add_and_drop(self, current: set[str], now: float) -> Iterable[str]:
        known = self._signatures.keys()
        added, removed = current - known, known - current
        for run_id in removed:
            del self._signatures[run_id]
            self._last_change.pop(run_id, None)
        for run_id in added:
            self._signatures[run_id] = tree_signature(os.path.join(self._root, run_id))
            self._last_change[run_id] = now
        if added or removed:
            self._order = sorted(self._signatures)
            self._cursor = 0
        return added | removed

    def _walk(self, run_ids: Iterable[str], now: float) -> Iterable[str]:
        for run_id in run_ids:
            signature = tree_signature(os.path.join(self._root, run_id))
            if signature != self._signatures.get(run_id):
                self._signatures[run_id] = signature
                self._last_change[run_id] = now
                yield run_id

    def _cold_slice(self, hot: set[str], deadline: float) -> Iterable[str]:
        """Cold runs from the round-robin cursor until the budget is spent (at least one)."""
        count = len(self._order)
        for _ in range(count):
            run_id = self._order[self._cursor]
            self._cursor = (self._cursor + 1) % count
            if run_id in hot:
                continue
            yield run_id
            if time.monotonic() >= deadline:
                return


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
