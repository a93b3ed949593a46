"""Follow a run's ``lifecycle.jsonl`` cheaply: its recent end first, then only appends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gui_fastpath.lifecycle import LIFECYCLE_NAME, read_lifecycle

# Imported from its module: the package re-exports only the public journal API.
from gui_fastpath.lifecycle.journal import read_lifecycle_since

__all__ = ["LifecycleTail", "read_lifecycle_range"]


class LifecycleTail:
    """Incremental reader of one journal; a partial last line waits for its newline.

    The first read returns only the last ``initial_lines`` events (enough for the run's
    latest state; older history is read on demand with :func:`read_lifecycle_range`), found
    by reading the file backwards; a truncated or replaced journal is reread from its start
    (the caller drops seqs it has already seen).
    """

    def __init__(self, run_dir: Path, *, initial_lines: int = 8) -> None:
        self.run_dir = run_dir
        self.path = run_dir / LIFECYCLE_NAME
        self._initial_lines = initial_lines
        self._offset = 0
        self._inode: int | None = None

    def read(self) -> list[dict[str, Any]]:
        """New complete events as ``to_dict()`` dicts; ``[]`` when none (or no journal)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        if st.st_ino != self._inode or st.st_size < self._offset:
            first = self._inode is None
            self._inode = st.st_ino
            self._offset = self._start_of_last_lines(st.st_size) if first else 0
        if st.st_size <= self._offset:
            return []
        events, self._offset = read_lifecycle_since(self.run_dir, self._offset)
        return [event.to_dict() for event in events]

    def _start_of_last_lines(self, size: int, block: int = 8192) -> int:
        """Offset where the last ``initial_lines`` complete lines begin (0 if fewer)."""
        wanted = self._initial_lines + 1  # the newline *before* the first line we keep
        found = 0
        end = size
        try:
            with self.path.open("rb") as fh:
                while end > 0:
                    start = max(0, end - block)
                    fh.seek(start)
                    chunk = fh.read(end - start)
                    pos = len(chunk)
                    while (pos := chunk.rfind(b"\n", 0, pos)) >= 0:
                        found += 1
                        if found == wanted:
                            return start + pos + 1
                    end = start
        except OSError:
            return 0
        return 0


def read_lifecycle_range(run_dir: Path, after: int, before: int) -> list[dict[str, Any]]:
    """Events with ``after < seq < before``, read from the whole journal (older history)."""
    return [e.to_dict() for e in read_lifecycle(run_dir) if after < e.seq < before]
