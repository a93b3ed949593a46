"""``scan_run``: find what a worker wrote in its run directory. Pure: it only reads.

One pass of :func:`os.scandir` over the run directory. Names decide what an entry is, so
only the files that go into the manifest are stat-ed; ``realpath`` is called only for
symlinks and hinted paths. The checkpoint and W&B rules live in ``_scan_checkpoints`` and
``_scan_wandb``; see ``docs/manifest.md`` for the layouts recognised.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

from gui_fastpath.manifest._scan_base import (
    CHECKPOINT_DIR_NAMES,
    CHECKPOINT_SUFFIXES,
    HEARTBEAT_NAME,
    MAX_DEPTH,
    MAX_ENTRIES,
    STDERR,
    STDOUT,
    WANDB_DIR_NAME,
    is_dir,
)
from gui_fastpath.manifest._scan_checkpoints import (
    CHECKPOINT_MARKERS,
    NAMED_CHECKPOINT_DIR,
    CheckpointScan,
    newest_checkpoint,
)
from gui_fastpath.manifest._scan_wandb import WandbScan
from gui_fastpath.manifest.errors import RunDirError
from gui_fastpath.manifest.hints import HINT_FILES, HintedPath, Hints, read_hints
from gui_fastpath.manifest.model import (
    MANIFEST_NAME,
    TEMP_PREFIX,
    ArtifactManifest,
    EventFile,
    Logs,
    ManifestWarning,
    TensorBoardArtifacts,
)

__all__ = [
    "CHECKPOINT_DIR_NAMES",
    "CHECKPOINT_SUFFIXES",
    "HEARTBEAT_NAME",
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "MAX_WARNINGS_PER_SOURCE",
    "iter_run_dirs",
    "scan_root",
    "scan_run",
]

_NOT_SCANNED = frozenset({"archive"})
"""Top-level directories left out: ``archive/`` holds event files moved out of TensorBoard's
reach on purpose (``gui-fastpath archive``)."""
MAX_WARNINGS_PER_SOURCE = 20
"""More warnings about one file are summed up in one last warning."""


def scan_run(run_dir: str | os.PathLike[str]) -> ArtifactManifest:
    """Build the manifest of one run directory from what is on disk and its hint files.

    Raises :class:`RunDirError` if the directory is missing or unreadable; every other
    problem is a :class:`ManifestWarning` in the result.
    """
    return _RunScanner(os.fspath(run_dir)).scan()


def iter_run_dirs(root: str | os.PathLike[str]) -> Iterator[os.DirEntry[str]]:
    """The run directories of a runs root: its sub-directories not starting with ``.``."""
    path = os.fspath(root)
    try:
        with os.scandir(path) as entries:
            found = [e for e in entries if not e.name.startswith(".") and is_dir(e)]
    except OSError as exc:
        raise RunDirError(_one_line("runs root", path, exc)) from None
    yield from sorted(found, key=lambda e: e.name)


def scan_root(root: str | os.PathLike[str]) -> dict[str, ArtifactManifest]:
    """Scan every run under a runs root; runs that vanish or cannot be read are left out."""
    manifests = {}
    for entry in iter_run_dirs(root):
        try:
            manifests[entry.name] = scan_run(entry.path)
        except RunDirError:
            continue
    return manifests


def _one_line(what: str, path: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{what} not found: {path}"
    if isinstance(exc, NotADirectoryError):
        return f"{what} is not a directory: {path}"
    return f"{what} is not readable: {path} ({exc.strerror or exc})"


class _RunScanner(CheckpointScan, WandbScan):
    """One scan of one run directory: the walk, TensorBoard, logs, and the result."""

    # -- the walk -------------------------------------------------------------------------

    def scan(self) -> ArtifactManifest:
        try:
            with os.scandir(self.run_dir) as it:
                top = list(it)
        except OSError as exc:
            raise RunDirError(_one_line("run directory", self.run_dir, exc)) from None
        present = {e.name: e.is_symlink() for e in top if e.name in HINT_FILES}
        hints = read_hints(self.run, present) if present else Hints()
        self.checkpoint_dir_hints = frozenset(h.path for h in hints.checkpoint_dirs)
        self.wandb_dirs = _wandb_folders(h.path for h in hints.wandb_dirs)
        if hints.declared_tensorboard_dir is not None:
            self.tensorboard_dir = hints.declared_tensorboard_dir.path
            self.has_tensorboard_dir = self.tensorboard_dir == "."
        self.log_dir = hints.log_dir.path if hints.log_dir is not None else "logs"
        for entry in top:
            name = entry.name
            if name == MANIFEST_NAME or name.startswith(TEMP_PREFIX) or name in present:
                continue
            if entry.is_symlink():
                self._symlink(entry, name)
            elif entry.is_dir(follow_symlinks=False):
                if name not in _NOT_SCANNED and not name.startswith("."):
                    self._top_dir(entry)
            else:
                self.top_files.add(name)
                self._file(entry, name, "", in_checkpoint_dir=False)
        if "." in self.checkpoint_dir_hints:
            self._checkpoint_entries(top, "", 0)
        self._add_hinted_checkpoints(hints.checkpoints)
        return ArtifactManifest(
            run_id=os.path.basename(os.path.normpath(os.path.abspath(self.run_dir))),
            generated_at=time.time(),
            worker_type=hints.worker_type,
            tensorboard=self._tensorboard(hints.tensorboard_dir),
            wandb=self._wandb_runs(hints),
            checkpoints=tuple(sorted(self.checkpoints.values(), key=newest_checkpoint)),
            logs=self._logs(hints),
            heartbeat=self._heartbeat(hints),
            hints=hints.sources,
            warnings=_capped((*hints.warnings, *self.warnings)),
        )

    def _top_dir(self, entry: os.DirEntry[str]) -> None:
        name = entry.name
        if name in self.wandb_dirs:
            self._wandb_dir(entry.path, name, nested=False)
        elif name in CHECKPOINT_DIR_NAMES or name in self.checkpoint_dir_hints:
            self._checkpoint_dir(entry.path, name, 1)
        else:
            self._walk(entry.path, name, 1)

    def _walk(self, path: str, rel: str, depth: int) -> None:
        """Any directory: event files, checkpoint files, and checkpoint directories."""
        if rel == self.tensorboard_dir:
            self.has_tensorboard_dir = True
        entries = self._list(path, rel)
        if rel == self.log_dir:
            self.log_names = [e.name for e in entries]
        if any(e.name in CHECKPOINT_MARKERS for e in entries):
            self._directory_checkpoint(path, rel, rel.rpartition("/")[2], entries)
            return
        for entry in entries:
            name = entry.name
            child = f"{rel}/{name}"
            if entry.is_symlink():
                self._symlink(entry, child)
            elif entry.is_dir(follow_symlinks=False):
                if name.startswith("."):
                    continue
                if child in self.checkpoint_dir_hints:
                    self._checkpoint_dir(entry.path, child, depth + 1)
                elif child in self.wandb_dirs:
                    self._wandb_dir(entry.path, child, nested=False)
                elif NAMED_CHECKPOINT_DIR.match(name):
                    self._directory_checkpoint(entry.path, child, name)
                elif depth < self.max_depth:
                    self._walk(entry.path, child, depth + 1)
                else:
                    self.warn(
                        child,
                        "$",
                        f"deeper than {self.max_depth} levels; not scanned",
                        f"keep artifacts within {self.max_depth} levels of the run directory",
                    )
            else:
                self._file(entry, child, rel, in_checkpoint_dir=False)

    # -- TensorBoard, logs, heartbeat ----------------------------------------------------

    def _tensorboard(self, hinted: HintedPath | None) -> TensorBoardArtifacts | None:
        if hinted is not None:
            log_dir = hinted.path
        elif self.events or self.has_tensorboard_dir:
            dirs = [directory for _, directory, _, _ in self.events]
            if self.has_tensorboard_dir:
                dirs.append(self.tensorboard_dir)
            log_dir = _common_dir(dirs)
        else:
            return None
        prefix = "" if log_dir == "." else f"{log_dir}/"
        files = []
        outside = []
        for path, directory, size, mtime in sorted(self.events):
            if path.startswith(prefix):
                files.append(EventFile(path, _relative_dir(directory, log_dir), size, mtime))
            else:
                outside.append(path)
        if outside and hinted is not None:
            self.warn(
                hinted.source,
                hinted.field,
                f"{len(outside)} event file(s) are outside the hinted log directory"
                f" {log_dir!r}, e.g. {outside[0]!r}",
                "point tensorboard_dir at the directory that holds all event files",
            )
        return TensorBoardArtifacts(log_dir=log_dir, event_files=tuple(files))

    def _logs(self, hints: Hints) -> Logs:
        log_dir = self.log_dir
        names = self.log_names
        if names is None and (hints.stdout is None or hints.stderr is None):
            names = [e.name for e in self._list(os.path.join(self.run_dir, log_dir), log_dir)]
        names = sorted(names or ())
        prefix = "" if log_dir == "." else f"{log_dir}/"

        def pick(hint: HintedPath | None, plain: str) -> str | None:
            if hint is not None:
                return self._compressed(hint.path) or self._existing(hint, None)
            return find(plain) or find(f"{plain}.gz")  # gui-fastpath compress: *.log.gz

        def find(plain: str) -> str | None:
            if plain in self.top_files:
                return plain
            if plain in names:
                return prefix + plain
            suffix = f".{plain}"
            if hints.worker_type and f"{hints.worker_type}{suffix}" in names:
                return f"{prefix}{hints.worker_type}{suffix}"
            return next((prefix + n for n in names if n.endswith(suffix)), None)

        return Logs(stdout=pick(hints.stdout, STDOUT), stderr=pick(hints.stderr, STDERR))

    def _heartbeat(self, hints: Hints) -> str | None:
        """The hinted file (a warning if missing), else the declared one once it exists."""
        if hints.heartbeat is None and hints.declared_heartbeat is not None:
            declared = hints.declared_heartbeat.path
            if os.path.isfile(os.path.join(self.run_dir, declared)):
                return declared
        return self._existing(hints.heartbeat, HEARTBEAT_NAME)

    def _compressed(self, rel: str) -> str | None:
        """``rel.gz`` when ``rel`` is gone and its compressed copy is there, inside the run."""
        gz = f"{rel}.gz"
        if os.path.lexists(os.path.join(self.run_dir, rel)):
            return None
        if os.path.isfile(os.path.join(self.run_dir, gz)) and self.run.keeps_inside(gz):
            return gz
        return None

    def _existing(self, hint: HintedPath | None, default: str | None) -> str | None:
        """The hinted file if it exists (else a warning), or ``default`` if at the top."""
        if hint is None:
            return default if default in self.top_files else None
        if os.path.isfile(os.path.join(self.run_dir, hint.path)):
            return hint.path
        self.warn(
            hint.source,
            hint.field,
            f"file {hint.path!r} does not exist",
            "give the path of a file the worker writes, relative to the run directory",
        )
        return None


def _capped(warnings: tuple[ManifestWarning, ...]) -> tuple[ManifestWarning, ...]:
    """At most :data:`MAX_WARNINGS_PER_SOURCE` warnings a source, then one counting the rest."""
    kept: list[ManifestWarning] = []
    counts: dict[str, int] = {}
    for warning in warnings:
        counts[warning.source] = counts.get(warning.source, 0) + 1
        if counts[warning.source] <= MAX_WARNINGS_PER_SOURCE:
            kept.append(warning)
    for source, count in counts.items():
        if count > MAX_WARNINGS_PER_SOURCE:
            more = count - MAX_WARNINGS_PER_SOURCE
            kept.append(
                ManifestWarning(
                    source, "$", f"{more:,} more problems not shown", "fix the ones above first"
                )
            )
    return tuple(kept)


def _wandb_folders(given: Iterable[str]) -> frozenset[str]:
    """Where W&B run folders are: W&B writes in the ``wandb/`` sub-folder of the folder it
    is given (``wandb.init(dir=...)``, ``WANDB_DIR``); a given folder named ``wandb`` is
    searched too, since it may be that sub-folder."""
    folders = {WANDB_DIR_NAME}
    for folder in given:
        folders.add(WANDB_DIR_NAME if folder == "." else f"{folder}/{WANDB_DIR_NAME}")
        if folder.rpartition("/")[2] == WANDB_DIR_NAME:
            folders.add(folder)
    return frozenset(folders)


def _common_dir(dirs: list[str]) -> str:
    common = os.path.commonpath(["/" + d if d != "." else "/" for d in dirs])
    return common.lstrip("/") or "."


def _relative_dir(directory: str, log_dir: str) -> str:
    if log_dir == ".":
        return directory
    if directory == log_dir:
        return "."
    return directory[len(log_dir) + 1 :]
