"""``scan_run``: find what a worker wrote in its run directory. Pure: it only reads.

One pass of :func:`os.scandir` over the run directory. Names decide what an entry is, so
only the files that go into the manifest are stat-ed; ``realpath`` is called only for
symlinks and hinted paths. See ``docs/manifest.md`` for the layouts recognised.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import attrs

from gui_fastpath.manifest.errors import RunDirError
from gui_fastpath.manifest.hints import (
    ANALYTICS_NAME,
    HINTS_NAME,
    HintedPath,
    Hints,
    read_hints,
    wandb_url,
)
from gui_fastpath.manifest.model import (
    MANIFEST_NAME,
    TEMP_PREFIX,
    ArtifactManifest,
    Checkpoint,
    CheckpointKind,
    EventFile,
    Logs,
    ManifestWarning,
    TensorBoardArtifacts,
    WandbRun,
)
from gui_fastpath.manifest.paths import RunRoot
from gui_fastpath.manifest.steps import parse_step

__all__ = [
    "CHECKPOINT_DIR_NAMES",
    "CHECKPOINT_SUFFIXES",
    "HEARTBEAT_NAME",
    "MAX_ENTRIES",
    "iter_run_dirs",
    "scan_root",
    "scan_run",
]

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors", ".msgpack", ".npz")
"""A file with one of these suffixes is a checkpoint wherever it is."""
_CHECKPOINT_DIR_SUFFIXES = (*CHECKPOINT_SUFFIXES, ".bin", ".pkl", ".zip", ".h5", ".onnx")
"""Inside a checkpoints directory these count too (``rl_model_1000_steps.zip``, ...)."""
CHECKPOINT_DIR_NAMES = frozenset({"checkpoints", "checkpoint", "ckpt", "ckpts"})
"""Top-level directories whose entries are checkpoints."""
_CHECKPOINT_MARKERS = frozenset({"_CHECKPOINT_METADATA", "_METADATA", "manifest.ocdbt"})
"""Files that make their directory a checkpoint (orbax)."""
_NAMED_CHECKPOINT_DIR = re.compile(
    r"^(?:checkpoint|ckpt|step|global_step)[-_]?\d+(?:\.\d+)?[kKmMbB]?$"
)
"""A checkpoint directory anywhere: ``checkpoint-2000`` (Hugging Face), ``step_1000``."""
_CHECKPOINT_DIR_NAME = re.compile(rf"^\d+$|{_NAMED_CHECKPOINT_DIR.pattern}")
"""Inside a checkpoints directory, bare step numbers count too (orbax ``checkpoints/1000``)."""
_ORBAX_TMP = ".orbax-checkpoint-tmp-"
_EVENT_PREFIX = "events.out.tfevents."
_WANDB_RUN_DIR = re.compile(r"^(offline-)?run-(\d{8}_\d{6})-(.+)$")
_STDOUT, _STDERR = "stdout.log", "stderr.log"
_NOT_SCANNED = frozenset({"archive"})
"""Top-level directories left out: ``archive/`` holds event files moved out of TensorBoard's
reach on purpose (``gui-fastpath archive``)."""
HEARTBEAT_NAME = "heartbeat.json"
"""The worker's progress sidecar file at the top of the run directory."""
MAX_WARNINGS_PER_SOURCE = 20
"""More warnings about one file are summed up in one last warning."""
MAX_DEPTH = 16
MAX_ENTRIES = 200_000
"""A run directory scan stops (with a warning) after this many entries."""


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
            found = [e for e in entries if not e.name.startswith(".") and _is_dir(e)]
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


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _one_line(what: str, path: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{what} not found: {path}"
    if isinstance(exc, NotADirectoryError):
        return f"{what} is not a directory: {path}"
    return f"{what} is not readable: {path} ({exc.strerror or exc})"


@attrs.frozen
class _FoundWandb:
    run_id: str
    offline: bool
    directory: str
    wandb_file: str | None
    synced: bool
    started_at: float | None
    copied_latest: bool = False
    """A ``latest-run`` folder that is a copy, not a symlink; dropped if the original is here."""


class _RunScanner:
    """The state of one scan; used once."""

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.run = RunRoot(run_dir)
        self.warnings: list[ManifestWarning] = []
        self.events: list[tuple[str, str, int, float]] = []
        """Event files as (path, directory, size, mtime)."""
        self.checkpoints: dict[str, Checkpoint] = {}
        self.wandb: list[_FoundWandb] = []
        self.entries = 0
        self.truncated = False
        self.checkpoint_dir_hints: frozenset[str] = frozenset()
        self.top_files: set[str] = set()
        self.log_dir = "logs"
        self.log_names: list[str] | None = None
        self.has_tensorboard_dir = False

    def warn(self, source: str, field: str, problem: str, fix: str) -> None:
        self.warnings.append(ManifestWarning(source, field, problem, fix))

    # -- the walk -------------------------------------------------------------------------

    def scan(self) -> ArtifactManifest:
        try:
            with os.scandir(self.run_dir) as it:
                top = list(it)
        except OSError as exc:
            raise RunDirError(_one_line("run directory", self.run_dir, exc)) from None
        present = {e.name: e.is_symlink() for e in top if e.name in (HINTS_NAME, ANALYTICS_NAME)}
        hints = read_hints(self.run, present) if present else Hints()
        self.checkpoint_dir_hints = frozenset(h.path for h in hints.checkpoint_dirs)
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
            checkpoints=tuple(sorted(self.checkpoints.values(), key=_newest_checkpoint)),
            logs=self._logs(hints),
            heartbeat=self._existing(hints.heartbeat, HEARTBEAT_NAME),
            hints=hints.sources,
            warnings=_capped((*hints.warnings, *self.warnings)),
        )

    def _top_dir(self, entry: os.DirEntry[str]) -> None:
        name = entry.name
        if name == "wandb":
            self._wandb_dir(entry.path, name, nested=False)
        elif name in CHECKPOINT_DIR_NAMES or name in self.checkpoint_dir_hints:
            self._checkpoint_dir(entry.path, name, 1)
        else:
            if name == "tensorboard":
                self.has_tensorboard_dir = True
            self._walk(entry.path, name, 1)

    def _list(self, path: str, rel: str) -> list[os.DirEntry[str]]:
        """The entries of a directory below the top, or [] after a warning."""
        if self.truncated:
            return []
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.warn(
                rel,
                "$",
                f"directory cannot be read: {exc.strerror or exc}",
                "make it readable by the GUI's user",
            )
            return []
        self.entries += len(entries)
        if self.entries > MAX_ENTRIES:
            self.truncated = True
            self.warn(
                rel,
                "$",
                f"scan stopped after {MAX_ENTRIES:,} entries; later artifacts are missing",
                "keep bulky outputs (datasets, frames) out of the run directory",
            )
        return entries

    def _walk(self, path: str, rel: str, depth: int) -> None:
        """Any directory: event files, checkpoint files, and checkpoint directories."""
        entries = self._list(path, rel)
        if rel == self.log_dir:
            self.log_names = [e.name for e in entries]
        if any(e.name in _CHECKPOINT_MARKERS for e in entries):
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
                elif _NAMED_CHECKPOINT_DIR.match(name):
                    self._directory_checkpoint(entry.path, child, name)
                elif depth < MAX_DEPTH:
                    self._walk(entry.path, child, depth + 1)
                else:
                    self.warn(
                        child,
                        "$",
                        f"deeper than {MAX_DEPTH} levels; not scanned",
                        f"keep artifacts within {MAX_DEPTH} folder levels of the run directory",
                    )
            else:
                self._file(entry, child, rel, in_checkpoint_dir=False)

    def _file(
        self, entry: os.DirEntry[str], rel: str, parent: str, *, in_checkpoint_dir: bool
    ) -> None:
        name = entry.name
        if name.startswith(_EVENT_PREFIX):
            info = _stat(entry)
            if info is not None:
                self.events.append((rel, parent or ".", info.st_size, info.st_mtime))
        elif name.endswith(_CHECKPOINT_DIR_SUFFIXES if in_checkpoint_dir else CHECKPOINT_SUFFIXES):
            info = _stat(entry)
            if info is not None:
                step = parse_step(name.rsplit(".", 1)[0])
                self.checkpoints[rel] = Checkpoint(rel, info.st_size, info.st_mtime, "file", step)

    def _symlink(self, entry: os.DirEntry[str], rel: str) -> None:
        """Symlinked files inside the run count; symlinked directories are not descended."""
        name = entry.name
        relevant = (
            name.startswith(_EVENT_PREFIX)
            or name.endswith(CHECKPOINT_SUFFIXES)
            or name in CHECKPOINT_DIR_NAMES
            or name in ("wandb", "tensorboard", "logs", _STDOUT, _STDERR, HEARTBEAT_NAME)
            or rel in self.checkpoint_dir_hints
        )
        if not relevant:
            return
        if not self.run.holds(entry.path):
            self.warn(
                rel,
                "$",
                "symlink resolves outside the run directory; ignored",
                "write artifacts inside the run directory, or copy them in",
            )
            return
        if not _is_dir(entry):
            if "/" not in rel:
                self.top_files.add(name)
            parent = rel.rpartition("/")[0]
            self._file(entry, rel, parent, in_checkpoint_dir=False)

    # -- checkpoints -------------------------------------------------------------------

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
                if _is_grouping_dir(name, inner) and depth < MAX_DEPTH:
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
                if depth < MAX_DEPTH:
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

    # -- W&B ---------------------------------------------------------------------------

    def _wandb_dir(self, path: str, rel: str, *, nested: bool) -> None:
        """``wandb/`` (and ``wandb/wandb/``): ``run-*`` and ``offline-run-*`` folders."""
        for entry in self._list(path, rel):
            name = entry.name
            child = f"{rel}/{name}"
            if entry.is_symlink():
                if name.startswith(("latest-run", "run-", "offline-run-")):
                    self._check_wandb_link(entry, child)
                continue
            if not entry.is_dir(follow_symlinks=False):
                continue
            match = _WANDB_RUN_DIR.match(name)
            if match is not None:
                offline, stamp, run_id = match.groups()
                self._wandb_run(entry.path, child, run_id, bool(offline), _local_time(stamp))
            elif name == "latest-run":
                self._wandb_run(entry.path, child, None, None, None)
            elif name == "wandb" and not nested:
                self._wandb_dir(entry.path, child, nested=True)

    def _check_wandb_link(self, entry: os.DirEntry[str], rel: str) -> None:
        if not self.run.holds(entry.path):
            self.warn(
                rel,
                "$",
                "symlink resolves outside the run directory; ignored",
                "keep W&B run folders inside the run directory (wandb.init(dir=...))",
            )

    def _wandb_run(
        self,
        path: str,
        rel: str,
        run_id: str | None,
        offline: bool | None,
        started_at: float | None,
    ) -> None:
        wandb_file = None
        file_id = None
        names = set()
        for entry in self._list(path, rel):
            names.add(entry.name)
            if entry.name.startswith("run-") and entry.name.endswith(".wandb"):
                wandb_file, file_id = f"{rel}/{entry.name}", entry.name[4:-6]
        copied_latest = run_id is None
        if run_id is None:  # a copied latest-run folder: the id is in the file name
            if file_id is None:
                return
            run_id = file_id
            offline = True
        elif file_id is not None and file_id != run_id:
            self.warn(
                rel,
                "$",
                f"folder is for run {run_id!r} but holds run-{file_id}.wandb",
                "do not rename W&B run folders or files",
            )
        synced = wandb_file is not None and f"run-{file_id}.wandb.synced" in names
        self.wandb.append(
            _FoundWandb(
                run_id,
                bool(offline),
                rel,
                wandb_file,
                synced or not offline,
                started_at,
                copied_latest,
            )
        )

    def _wandb_runs(self, hints: Hints) -> tuple[WandbRun, ...]:
        runs = []
        originals = {found.run_id for found in self.wandb if not found.copied_latest}
        found_ids = set()
        for found in sorted(self.wandb, key=_newest_wandb):
            if found.copied_latest and (found.run_id in originals or found.run_id in found_ids):
                continue
            found_ids.add(found.run_id)
            hint = next((h for h in hints.wandb if h.run_id == found.run_id), None)
            entity = hint.entity if hint else None
            project = hint.project if hint else None
            url = hint.url if hint else None
            if url is None and found.synced and entity and project:
                url = wandb_url(entity, project, found.run_id)
            runs.append(
                WandbRun(
                    run_id=found.run_id,
                    mode="offline" if found.offline else "online",
                    directory=found.directory,
                    wandb_file=found.wandb_file,
                    synced=found.synced,
                    entity=entity,
                    project=project,
                    url=url,
                    started_at=found.started_at,
                )
            )
        for hint in hints.wandb:
            if hint.run_id in found_ids:
                continue
            if hint.mode == "offline":
                self.warn(
                    hint.source,
                    hint.field,
                    f"offline W&B run {hint.run_id!r} has no offline-run-*-{hint.run_id} folder"
                    " under wandb/",
                    "call wandb.init(dir=<run dir>) so the run is written inside the run directory",
                )
                continue
            url = hint.url
            if url is None and hint.entity and hint.project:
                url = wandb_url(hint.entity, hint.project, hint.run_id)
            runs.append(
                WandbRun(
                    run_id=hint.run_id,
                    mode="online",
                    synced=True,
                    entity=hint.entity,
                    project=hint.project,
                    url=url,
                )
            )
        return tuple(runs)

    # -- TensorBoard, logs, heartbeat ----------------------------------------------------

    def _tensorboard(self, hinted: HintedPath | None) -> TensorBoardArtifacts | None:
        if hinted is not None:
            log_dir = hinted.path
        elif self.events or self.has_tensorboard_dir:
            dirs = [directory for _, directory, _, _ in self.events]
            if self.has_tensorboard_dir:
                dirs.append("tensorboard")
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
                return self._existing(hint, None)
            if plain in self.top_files:
                return plain
            if plain in names:
                return prefix + plain
            suffix = f".{plain}"
            if hints.worker_type and f"{hints.worker_type}{suffix}" in names:
                return f"{prefix}{hints.worker_type}{suffix}"
            return next((prefix + n for n in names if n.endswith(suffix)), None)

        return Logs(stdout=pick(hints.stdout, _STDOUT), stderr=pick(hints.stderr, _STDERR))

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


def _stat(entry: os.DirEntry[str]) -> os.stat_result | None:
    try:
        return entry.stat()
    except OSError:  # removed since listed, or a dangling symlink
        return None


def _is_grouping_dir(name: str, entries: list[os.DirEntry[str]]) -> bool:
    """A folder of checkpoints (``checkpoints/seed_1/``) rather than one checkpoint."""
    if _CHECKPOINT_DIR_NAME.match(name):
        return False
    names = [e.name for e in entries]
    if not _CHECKPOINT_MARKERS.isdisjoint(names):
        return False
    return any(n.endswith(_CHECKPOINT_DIR_SUFFIXES) for n in names) or any(
        _CHECKPOINT_DIR_NAME.match(e.name) and e.is_dir(follow_symlinks=False) for e in entries
    )


def _local_time(stamp: str) -> float | None:
    """W&B names run folders by local start time, ``YYYYmmdd_HHMMSS`` (digits, checked)."""
    year, month, day = int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8])
    hour, minute, second = int(stamp[9:11]), int(stamp[11:13]), int(stamp[13:15])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 62):
        return None
    try:
        return time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    except (ValueError, OverflowError):
        return None


def _common_dir(dirs: list[str]) -> str:
    common = os.path.commonpath(["/" + d if d != "." else "/" for d in dirs])
    return common.lstrip("/") or "."


def _relative_dir(directory: str, log_dir: str) -> str:
    if log_dir == ".":
        return directory
    if directory == log_dir:
        return "."
    return directory[len(log_dir) + 1 :]


def _newest_checkpoint(c: Checkpoint) -> tuple[float, int, str]:
    return (-c.mtime, -(c.step if c.step is not None else -1), c.path)


def _newest_wandb(w: _FoundWandb) -> tuple[float, str]:
    return (-(w.started_at or 0.0), w.directory)
