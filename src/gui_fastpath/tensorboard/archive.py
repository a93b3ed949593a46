"""Move old TensorBoard event files out of the active log directory, and back (seed §10).

Archived files go to ``archive/<their path relative to the run directory>`` inside the run,
outside the log directory, so neither TensorBoard nor the manifest scanner loads them. Each
move is one ``os.replace`` within the run directory; nothing is ever overwritten. An index,
``archive/events_index.json``, records every original path so :func:`restore_events` puts
each file back exactly where it was. The manifest is refreshed after every real move.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import attrs

__all__ = [
    "ARCHIVE_DIR",
    "INDEX_NAME",
    "ArchiveError",
    "ArchiveMove",
    "ArchiveResult",
    "ArchiveSkip",
    "ArchivedEventFile",
    "archive_events",
    "list_archived",
    "restore_events",
]

_log = logging.getLogger(__name__)

ARCHIVE_DIR = "archive"
"""The archive folder, relative to the run directory."""
INDEX_NAME = "events_index.json"
"""The archive index, inside :data:`ARCHIVE_DIR`."""
_INDEX_VERSION = 1

Action = Literal["archive", "restore"]


class ArchiveError(Exception):
    """The run cannot be archived or restored at all; the message names the path and the fix."""


@attrs.frozen
class ArchiveMove:
    """One event file moved (or, in a dry run, that would be moved)."""

    source: str
    """Where the file is now, POSIX-style, relative to the run directory."""
    destination: str
    """Where it goes, relative to the run directory."""
    size: int
    """Size in bytes."""
    mtime: float
    """Modification time (Unix seconds)."""


@attrs.frozen
class ArchiveSkip:
    """A file that was not moved, and why."""

    path: str
    """The file, relative to the run directory."""
    reason: str
    """What stopped the move and what to do about it."""


@attrs.frozen
class ArchivedEventFile:
    """An entry of the archive index whose file is in the archive."""

    original: str
    """Where the file lived in the log directory, relative to the run directory."""
    archived: str
    """Where it is now, relative to the run directory."""
    size: int
    archived_at: float
    """When it was archived (Unix seconds)."""


@attrs.frozen
class ArchiveResult:
    """What :func:`archive_events` or :func:`restore_events` did, or would do in a dry run."""

    run_dir: Path
    action: Action
    dry_run: bool
    moves: tuple[ArchiveMove, ...] = ()
    """Files moved, or to be moved in a dry run, in order."""
    kept: tuple[str, ...] = ()
    """Event files left in the log directory (archive only)."""
    skipped: tuple[ArchiveSkip, ...] = ()
    manifest_changes: tuple[str, ...] = ()
    """What the manifest refresh changed (empty in a dry run)."""

    @property
    def bytes_moved(self) -> int:
        return sum(m.size for m in self.moves)

    def describe(self) -> list[str]:
        """Human-readable lines: one per move or skip, then a summary."""
        verb = "would move" if self.dry_run else "moved"
        lines = [f"{verb} {m.source} -> {m.destination} ({_human(m.size)})" for m in self.moves]
        lines += [f"skipped {s.path}: {s.reason}" for s in self.skipped]
        did = "would be " if self.dry_run else ""
        noun = "archived" if self.action == "archive" else "restored"
        summary = f"{len(self.moves)} event file(s) ({_human(self.bytes_moved)}) {did}{noun}"
        if self.action == "archive":
            summary += f", {len(self.kept)} kept in the log directory"
        if self.skipped:
            summary += f", {len(self.skipped)} skipped"
        return [*lines, summary]


def archive_events(
    run_dir: str | os.PathLike[str],
    *,
    older_than: float | None = None,
    keep_latest: int = 1,
    dry_run: bool = False,
    log_dir: str | None = None,
    now: float | None = None,
) -> ArchiveResult:
    """Move event files out of the run's TensorBoard log directory into :data:`ARCHIVE_DIR`.

    In every TensorBoard run (folder) the ``keep_latest`` newest event files stay, so a
    writer still appending is left alone; of the others, only those last modified at least
    ``older_than`` seconds ago move (all of them when it is None). ``log_dir`` (relative to
    the run directory) defaults to the one the manifest scanner finds.
    """
    if keep_latest < 0:
        raise ValueError(f"keep_latest must be 0 or more, not {keep_latest}")
    root = _run_root(run_dir)
    log_rel = _log_dir(root, log_dir)
    if log_rel is None:
        return ArchiveResult(run_dir=root, action="archive", dry_run=dry_run)
    now = time.time() if now is None else now
    candidates, kept, skipped = _select(root, log_rel, older_than, keep_latest, now)
    moves: list[ArchiveMove] = []
    for rel, st in candidates:
        move = ArchiveMove(rel, f"{ARCHIVE_DIR}/{rel}", st.st_size, st.st_mtime)
        if _taken(root / move.destination):
            skipped.append(ArchiveSkip(rel, _NO_OVERWRITE.format(move.destination)))
            kept.append(rel)
        else:
            moves.append(move)
    kept.sort()
    if dry_run:
        return ArchiveResult(root, "archive", True, tuple(moves), tuple(kept), tuple(skipped))
    entries = _read_index(root)
    stamp = time.time()
    # Record the intent first: a crash between here and the move leaves an entry whose
    # archived file is missing, which _read_index reconciles on the next call.
    entries.update({m.destination: _entry(m, stamp) for m in moves})
    _write_index(root, entries)
    done, failed = _apply(root, moves)
    for m in failed:
        entries.pop(m.destination, None)
    _write_index(root, entries)
    skipped += [ArchiveSkip(m.source, reason) for m, reason in failed.items()]
    kept += [m.source for m in failed]
    changes = _refresh_manifest(root) if done else ()
    return ArchiveResult(
        root, "archive", False, tuple(done), tuple(sorted(kept)), tuple(skipped), changes
    )


def restore_events(
    run_dir: str | os.PathLike[str],
    *,
    paths: Iterable[str] | None = None,
    dry_run: bool = False,
) -> ArchiveResult:
    """Move archived event files back to their original paths (all, or those in ``paths``).

    ``paths`` may name either the original or the archived path (relative to the run
    directory). A file whose original path is taken again is skipped, never overwritten.
    """
    root = _run_root(run_dir)
    entries = _read_index(root)
    wanted = None if paths is None else {_norm(p) for p in paths}
    moves: list[ArchiveMove] = []
    skipped: list[ArchiveSkip] = []
    for archived, entry in sorted(entries.items()):
        original = entry["original"]
        if wanted is not None and not wanted & {archived, original}:
            continue
        src = root / archived
        try:
            st = src.lstat()
        except FileNotFoundError:
            skipped.append(ArchiveSkip(archived, "missing from the archive; nothing to restore"))
            continue
        if _taken(root / original):
            reason = f"{original} exists again; move or rename it, then restore"
            skipped.append(ArchiveSkip(archived, reason))
            continue
        moves.append(ArchiveMove(archived, original, st.st_size, st.st_mtime))
    if wanted is not None:
        known = set(entries) | {e["original"] for e in entries.values()}
        skipped += [ArchiveSkip(p, "not in the archive index") for p in sorted(wanted - known)]
    if dry_run:
        return ArchiveResult(root, "restore", True, tuple(moves), (), tuple(skipped))
    done, failed = _apply(root, moves)
    for m in done:
        entries.pop(m.source, None)
    _write_index(root, entries)
    _prune_empty_dirs(root / ARCHIVE_DIR)
    skipped += [ArchiveSkip(m.source, reason) for m, reason in failed.items()]
    changes = _refresh_manifest(root) if done else ()
    return ArchiveResult(root, "restore", False, tuple(done), (), tuple(skipped), changes)


def list_archived(run_dir: str | os.PathLike[str]) -> tuple[ArchivedEventFile, ...]:
    """The archived event files of a run that are still in the archive, by original path."""
    root = _run_root(run_dir)
    found = [
        ArchivedEventFile(e["original"], archived, e["size"], e["archived_at"])
        for archived, e in _read_index(root).items()
        if (root / archived).is_file()
    ]
    return tuple(sorted(found, key=lambda f: f.original))


# -- selection -----------------------------------------------------------------------------


def _select(
    root: Path, log_rel: str, older_than: float | None, keep_latest: int, now: float
) -> tuple[list[tuple[str, os.stat_result]], list[str], list[ArchiveSkip]]:
    by_run: dict[str, list[tuple[str, os.stat_result]]] = {}
    skipped: list[ArchiveSkip] = []
    for dirpath, dirnames, filenames in os.walk(root / log_rel):
        dirnames.sort()
        for name in filenames:
            if "tfevents" not in name:
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if path.is_symlink():
                skipped.append(ArchiveSkip(rel, "a symbolic link; only regular files move"))
                continue
            by_run.setdefault(dirpath, []).append((rel, st))
    candidates: list[tuple[str, os.stat_result]] = []
    kept: list[str] = []
    for files in by_run.values():
        files.sort(key=lambda f: (f[1].st_mtime, f[0]))
        cut = len(files) - keep_latest if keep_latest else len(files)
        for i, (rel, st) in enumerate(files):
            old_enough = older_than is None or now - st.st_mtime >= older_than
            if i < cut and old_enough:
                candidates.append((rel, st))
            else:
                kept.append(rel)
    candidates.sort(key=lambda f: f[0])
    return candidates, sorted(kept), skipped


# -- moving --------------------------------------------------------------------------------


def _apply(
    root: Path, moves: list[ArchiveMove]
) -> tuple[list[ArchiveMove], dict[ArchiveMove, str]]:
    done: list[ArchiveMove] = []
    failed: dict[ArchiveMove, str] = {}
    for move in moves:
        src, dst = root / move.source, root / move.destination
        if _taken(dst):  # checked again: something may have appeared since the plan
            failed[move] = _NO_OVERWRITE.format(move.destination)
            continue
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        except OSError as exc:
            failed[move] = f"cannot move: {exc.strerror or exc}"
            continue
        _log.info("moved %s -> %s", move.source, move.destination)
        done.append(move)
    return done, failed


_NO_OVERWRITE = "{} already exists; it is never overwritten"


def _taken(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _prune_empty_dirs(top: Path) -> None:
    for dirpath, _dirs, _files in os.walk(top, topdown=False):
        if Path(dirpath) != top:
            with contextlib.suppress(OSError):  # not empty
                os.rmdir(dirpath)


# -- index ---------------------------------------------------------------------------------


def _entry(move: ArchiveMove, stamp: float) -> dict[str, Any]:
    return {"original": move.source, "size": move.size, "archived_at": stamp}


def _index_path(root: Path) -> Path:
    return root / ARCHIVE_DIR / INDEX_NAME


def _read_index(root: Path) -> dict[str, dict[str, Any]]:
    """Archived path → entry, after dropping intents whose move never happened."""
    path = _index_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ArchiveError(
            f"{path}: unreadable archive index ({exc}); fix or remove it, the archived "
            f"files under {root / ARCHIVE_DIR} are untouched"
        ) from None
    if not isinstance(data, dict) or data.get("version") != _INDEX_VERSION:
        raise ArchiveError(f"{path}: $.version must be {_INDEX_VERSION}; fix or remove the file")
    entries: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(data.get("entries", [])):
        where = f"{path}: $.entries[{i}]"
        if not isinstance(raw, dict):
            raise ArchiveError(f"{where} must be an object; fix or remove the file")
        archived = _checked(root, raw.get("archived"), f"{where}.archived")
        original = _checked(root, raw.get("original"), f"{where}.original")
        if archived != f"{ARCHIVE_DIR}/{original}":
            raise ArchiveError(f"{where}: archived path does not match {ARCHIVE_DIR}/{original}")
        if not (root / archived).exists() and (root / original).exists():
            continue  # an intent recorded before a move that did not happen
        size, stamp = raw.get("size", 0), raw.get("archived_at", 0.0)
        if not isinstance(size, int) or not isinstance(stamp, int | float):
            raise ArchiveError(f"{where}: size and archived_at must be numbers")
        entries[archived] = {"original": original, "size": size, "archived_at": float(stamp)}
    return entries


def _write_index(root: Path, entries: dict[str, dict[str, Any]]) -> None:
    path = _index_path(root)
    if not entries and not path.exists():
        return
    data = {
        "version": _INDEX_VERSION,
        "entries": [{"archived": k, **v} for k, v in sorted(entries.items())],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{INDEX_NAME}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# -- paths ---------------------------------------------------------------------------------


def _run_root(run_dir: str | os.PathLike[str]) -> Path:
    root = Path(run_dir).resolve()
    if not root.is_dir():
        raise ArchiveError(f"{root}: not a run directory (missing or not a folder)")
    return root


def _norm(rel: str) -> str:
    return PurePosixPath(rel.replace(os.sep, "/")).as_posix()


def _checked(root: Path, rel: object, where: str) -> str:
    """A relative path that stays inside the run directory, POSIX-style."""
    if not isinstance(rel, str) or not rel:
        raise ArchiveError(f"{where} must be a non-empty relative path")
    pure = PurePosixPath(_norm(rel))
    if pure.is_absolute() or ".." in pure.parts or not (root / pure).resolve().is_relative_to(root):
        raise ArchiveError(f"{where}: {rel!r} escapes the run directory {root}; refused")
    return pure.as_posix()


def _log_dir(root: Path, log_dir: str | None) -> str | None:
    if log_dir is None:
        from gui_fastpath.manifest import scan_run

        tensorboard = scan_run(root).tensorboard
        if tensorboard is None:
            return None
        log_dir = tensorboard.log_dir
    rel = _checked(root, log_dir, "log directory")
    top = PurePosixPath(rel).parts[:1]
    if rel == "." or top == (ARCHIVE_DIR,):
        raise ArchiveError(
            f"{root / rel}: the TensorBoard log directory must be a folder inside the run, "
            f"beside {ARCHIVE_DIR}/ (for instance {root / 'tensorboard'}); archived files "
            "would otherwise still be loaded"
        )
    if not (root / rel).is_dir():
        raise ArchiveError(f"{root / rel}: the TensorBoard log directory does not exist")
    return rel


def _refresh_manifest(root: Path) -> tuple[str, ...]:
    from gui_fastpath.manifest import update_manifest

    return tuple(update_manifest(root).changes)


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
