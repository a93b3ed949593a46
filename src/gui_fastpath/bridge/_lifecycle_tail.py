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

    The first read covers at most ``initial_bytes`` from the end (older history is read on
    demand with :func:`read_lifecycle_range`); a truncated or replaced journal is reread
    from its start (the caller drops seqs it has already seen).
    """

    def __init__(self, run_dir: Path, *, initial_bytes: int = 64 * 1024) -> None:
        self.run_dir = run_dir
        self.path = run_dir / LIFECYCLE_NAME
        self._initial_bytes = initial_bytes
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
            self._offset = self._line_start(st.st_size) if first else 0
        if st.st_size <= self._offset:
            return []
        events, self._offset = read_lifecycle_since(self.run_dir, self._offset)
        return [event.to_dict() for event in events]

    def _line_start(self, size: int) -> int:
        """Offset of the first whole line within the last ``initial_bytes`` of the file."""
        start = size - self._initial_bytes
        if start <= 0:
            return 0
        try:
            with self.path.open("rb") as fh:
                fh.seek(start - 1)
                chunk = fh.read(self._initial_bytes + 1)
        except OSError:
            return 0
        newline = chunk.find(b"\n")
        return size if newline < 0 else start + newline


def read_lifecycle_range(run_dir: Path, after: int, before: int) -> list[dict[str, Any]]:
    """Events with ``after < seq < before``, read from the whole journal (older history)."""
    return [e.to_dict() for e in read_lifecycle(run_dir) if after < e.seq < before]
