"""Checkpoints: files by suffix, folders by name or marker, and the ones hinted."""

from __future__ import annotations

import os
import re

from gui_fastpath.manifest._scan_base import CHECKPOINT_DIR_SUFFIXES, ScanBase
from gui_fastpath.manifest.hints import HintedPath
from gui_fastpath.manifest.model import MANIFEST_NAME, Checkpoint, CheckpointKind
from gui_fastpath.manifest.steps import parse_step

CHECKPOINT_MARKERS = frozenset({"_CHECKPOINT_METADATA", "_METADATA", "manifest.ocdbt"})
"""Files that make their directory a checkpoint (orbax)."""
NAMED_CHECKPOINT_DIR = re.compile(
    r"^(?:checkpoint|ckpt|step|global_step)[-_]?\d+(?:\.\d+)?[kKmMbB]?$"
)
"""A checkpoint directory anywhere: ``checkpoint-2000`` (Hugging Face), ``step_1000``."""
_CHECKPOINT_DIR_NAME = re.compile(rf"^\d+$|{NAMED_CHECKPOINT_DIR.pattern}")
"""Inside a checkpoints directory, bare step numbers count too (orbax ``checkpoints/1000``)."""
_ORBAX_TMP = ".orbax-checkpoint-tmp-"


class CheckpointScan(ScanBase):
    """The checkpoint rules of the scan."""

    def _checkpoint_dir(self, path: str, rel: str, depth: int) -> None:
        self._checkpoint_entries(self._list(path, rel), rel, depth)

    def _checkpoint_entries(self, entries: list[os.DirEntry[str]], rel: str, depth: int) -> None:
        """Entries of a checkpoints directory: checkpoint files and checkpoint directories."""
        for entry in entries:
            name = entry.name
            child = f"{rel}/{name}" if rel else name
            if name.startswith(".") or _ORBAX_TMP in name or name == MANIFEST_NAME:
                continue
            if entry.is_symlink():
                self._symlink(entry, child)
            elif entry.is_dir(follow_symlinks=False):
                if not rel:
                    continue  # the run directory itself as checkpoints dir: only its files
                inner = self._list(entry.path, child)
                if _is_grouping_dir(name, inner) and depth < self.max_depth:
                    self._checkpoint_entries(inner, child, depth + 1)
                else:
                    self._directory_checkpoint(entry.path, child, name, inner)
            else:
                self._file(entry, child, rel, in_checkpoint_dir=True)

    def _directory_checkpoint(
        self,
        path: str,
        rel: str,
        name: str,
        entries: list[os.DirEntry[str]] | None = None,
    ) -> None:
        if entries is None:
            entries = self._list(path, rel)
        size, mtime = self._tree_size(entries, rel, 0)
        if not size and not entries:
            return
        try:
            mtime = max(mtime, os.stat(path, follow_symlinks=False).st_mtime)
        except OSError:
            return
        self.checkpoints[rel] = Checkpoint(rel, size, mtime, "directory", parse_step(name))

    def _tree_size(
        self, entries: list[os.DirEntry[str]], rel: str, depth: int
    ) -> tuple[int, float]:
        """Total size and newest mtime of the files below (symlinks not followed)."""
        size, mtime = 0, 0.0
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if depth < self.max_depth:
                    child = f"{rel}/{entry.name}"
                    inner_size, inner_mtime = self._tree_size(
                        self._list(entry.path, child), child, depth + 1
                    )
                    size += inner_size
                    mtime = max(mtime, inner_mtime)
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            size += info.st_size
            mtime = max(mtime, info.st_mtime)
        return size, mtime

    def _add_hinted_checkpoints(self, hinted: tuple[HintedPath, ...]) -> None:
        for hint in hinted:
            if hint.path in self.checkpoints:
                continue
            path = os.path.join(self.run_dir, hint.path)
            try:
                info = os.stat(path)
            except OSError:
                self.warn(
                    hint.source,
                    hint.field,
                    f"checkpoint {hint.path!r} does not exist",
                    "list only checkpoints that were written, relative to the run directory",
                )
                continue
            name = hint.path.rpartition("/")[2]
            kind: CheckpointKind = "file"
            size, mtime = info.st_size, info.st_mtime
            if os.path.isdir(path):
                kind = "directory"
                size, tree_mtime = self._tree_size(self._list(path, hint.path), hint.path, 0)
                mtime = max(mtime, tree_mtime)
            stem = name if kind == "directory" else name.rsplit(".", 1)[0]
            self.checkpoints[hint.path] = Checkpoint(hint.path, size, mtime, kind, parse_step(stem))


def _is_grouping_dir(name: str, entries: list[os.DirEntry[str]]) -> bool:
    """A folder of checkpoints (``checkpoints/seed_1/``) rather than one checkpoint."""
    if _CHECKPOINT_DIR_NAME.match(name):
        return False
    names = [e.name for e in entries]
    if not CHECKPOINT_MARKERS.isdisjoint(names):
        return False
    return any(n.endswith(CHECKPOINT_DIR_SUFFIXES) for n in names) or any(
        _CHECKPOINT_DIR_NAME.match(e.name) and e.is_dir(follow_symlinks=False) for e in entries
    )


def newest_checkpoint(c: Checkpoint) -> tuple[float, int, str]:
    return (-c.mtime, -(c.step if c.step is not None else -1), c.path)
