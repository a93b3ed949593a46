"""The walk state shared by the scanner's parts: limits, listing, files and symlinks."""

from __future__ import annotations

import os

import attrs

from gui_fastpath.manifest.model import Checkpoint, ManifestWarning
from gui_fastpath.manifest.paths import RunRoot
from gui_fastpath.manifest.steps import parse_step

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors", ".msgpack", ".npz")
"""A file with one of these suffixes is a checkpoint wherever it is."""
CHECKPOINT_DIR_SUFFIXES = (*CHECKPOINT_SUFFIXES, ".bin", ".pkl", ".zip", ".h5", ".onnx")
"""Inside a checkpoints directory these count too (``rl_model_1000_steps.zip``, ...)."""
CHECKPOINT_DIR_NAMES = frozenset({"checkpoints", "checkpoint", "ckpt", "ckpts"})
"""Top-level directories whose entries are checkpoints."""
EVENT_PREFIX = "events.out.tfevents."
STDOUT, STDERR = "stdout.log", "stderr.log"
HEARTBEAT_NAME = "heartbeat.json"
"""The worker's progress sidecar file at the top of the run directory."""
TENSORBOARD_DIR_NAME = "tensorboard"
"""The TensorBoard log directory, unless the run's layout declares another."""
WANDB_DIR_NAME = "wandb"
"""Where W&B runs are looked for, besides the folders the hints and the layout name."""
MAX_DEPTH = 16
"""Folders deeper than this below the run directory are not scanned (with a warning)."""
MAX_ENTRIES = 200_000
"""A run directory scan stops (with a warning) after this many entries."""


@attrs.frozen
class FoundWandb:
    run_id: str
    offline: bool
    directory: str
    wandb_file: str | None
    synced: bool
    started_at: float | None
    copied_latest: bool = False
    """A ``latest-run`` folder that is a copy, not a symlink; dropped if the original is here."""


class ScanBase:
    """The state of one scan of one run directory; used once."""

    max_depth = MAX_DEPTH
    max_entries = MAX_ENTRIES

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.run = RunRoot(run_dir)
        self.warnings: list[ManifestWarning] = []
        self.events: list[tuple[str, str, int, float]] = []
        """Event files as (path, directory, size, mtime)."""
        self.checkpoints: dict[str, Checkpoint] = {}
        self.wandb: list[FoundWandb] = []
        self.entries = 0
        self.truncated = False
        self.checkpoint_dir_hints: frozenset[str] = frozenset()
        self.top_files: set[str] = set()
        self.log_dir = "logs"
        self.log_names: list[str] | None = None
        self.tensorboard_dir = TENSORBOARD_DIR_NAME
        """The declared TensorBoard log directory; it joins the event files' folders if present."""
        self.has_tensorboard_dir = False
        self.wandb_dirs: frozenset[str] = frozenset({WANDB_DIR_NAME})

    def warn(self, source: str, field: str, problem: str, fix: str) -> None:
        self.warnings.append(ManifestWarning(source, field, problem, fix))

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
        if self.entries > self.max_entries:
            self.truncated = True
            self.warn(
                rel,
                "$",
                f"scan stopped after {self.max_entries:,} entries; later artifacts are missing",
                "keep bulky outputs (datasets, frames) out of the run directory",
            )
        return entries

    def _file(
        self, entry: os.DirEntry[str], rel: str, parent: str, *, in_checkpoint_dir: bool
    ) -> None:
        name = entry.name
        if name.startswith(EVENT_PREFIX):
            info = stat_or_none(entry)
            if info is not None:
                self.events.append((rel, parent or ".", info.st_size, info.st_mtime))
        elif name.endswith(CHECKPOINT_DIR_SUFFIXES if in_checkpoint_dir else CHECKPOINT_SUFFIXES):
            info = stat_or_none(entry)
            if info is not None:
                step = parse_step(name.rsplit(".", 1)[0])
                self.checkpoints[rel] = Checkpoint(rel, info.st_size, info.st_mtime, "file", step)

    def _symlink(self, entry: os.DirEntry[str], rel: str) -> None:
        """Symlinked files inside the run count; symlinked directories are not descended."""
        name = entry.name
        relevant = (
            name.startswith(EVENT_PREFIX)
            or name.endswith(CHECKPOINT_SUFFIXES)
            or name in CHECKPOINT_DIR_NAMES
            or name in (WANDB_DIR_NAME, TENSORBOARD_DIR_NAME, "logs", STDOUT, STDERR)
            or name == HEARTBEAT_NAME
            or rel in self.checkpoint_dir_hints
            or rel in self.wandb_dirs
            or rel == self.tensorboard_dir
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
        if not is_dir(entry):
            if "/" not in rel:
                self.top_files.add(name)
            parent = rel.rpartition("/")[0]
            self._file(entry, rel, parent, in_checkpoint_dir=False)


def is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def stat_or_none(entry: os.DirEntry[str]) -> os.stat_result | None:
    try:
        return entry.stat()
    except OSError:  # removed since listed, or a dangling symlink
        return None
