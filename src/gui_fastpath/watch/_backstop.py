"""Native mode's backstop for changes whose notifications the OS dropped.

inotify's queue (``fs.inotify.max_queued_events``) overflows silently when its reader falls
behind, and watchfiles passes no word of it on. So native mode also walks every run now and
then, a slice at a time within a small share of the time (the tree signature of polling
mode), and rescans a run whose tree changed since its previous walk. A run that changed
through notifications meanwhile is rescanned once more at most, per pass.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Collection

from gui_fastpath.watch._polling import tree_signature

__all__ = ["Backstop"]

PASS_SECONDS = 30.0
"""A pass over every run starts at most this often."""
BUDGET_SHARE = 0.02
"""Share of the time spent walking runs."""
STEP_SECONDS = 0.02
"""Longest walk of one step (at least one run is walked)."""


class Backstop:
    """Walks the runs round-robin; :meth:`step` returns those changed since their last walk."""

    def __init__(self, root: str) -> None:
        self._root = root
        self._signatures: dict[str, int | None] = {}
        self._queue: deque[str] = deque()
        self._next_pass = 0.0
        self._next_step = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self._next_step

    def step(self, runs: Collection[str]) -> set[str]:
        """Walk the next slice of ``runs`` (blocking: call it from a worker thread)."""
        started = time.monotonic()
        if not self._queue:
            if started < self._next_pass:
                self._next_step = self._next_pass
                return set()
            self._queue.extend(sorted(runs))
            self._next_pass = started + PASS_SECONDS
            for gone in self._signatures.keys() - set(runs):
                del self._signatures[gone]
        changed = set()
        while self._queue:
            run_id = self._queue.popleft()
            if run_id in runs:
                signature = tree_signature(os.path.join(self._root, run_id))
                if self._signatures.get(run_id, signature) != signature:
                    changed.add(run_id)
                self._signatures[run_id] = signature
            if time.monotonic() - started >= STEP_SECONDS:
                break
        ended = time.monotonic()
        self._next_step = ended + (ended - started) / BUDGET_SHARE
        if not self._queue:
            self._next_step = max(self._next_step, self._next_pass)
        return changed
