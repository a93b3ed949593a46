"""Disk usage of a runs root or one run, by category and by run, with each run's state and age.

One :func:`os.scandir` walk per run (symlinks are counted, never followed) after the
run's :func:`~gui_fastpath.manifest.scan_run`, whose rules say which files are
checkpoints, which W&B runs are synced and which files are the logs. Sizes are apparent
sizes (``st_size``), as ``du --apparent-size`` counts them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import attrs

from gui_fastpath.maintenance._format import format_age, format_size
from gui_fastpath.maintenance.run_state import RunStatus, run_status
from gui_fastpath.maintenance.safety import find_runs, resolve_root, run_marker
from gui_fastpath.manifest import MANIFEST_NAME, ArtifactManifest, RunDirError, scan_run
from gui_fastpath.tensorboard.archive import ARCHIVE_DIR

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "Category",
    "RunUsage",
    "Usage",
    "UsageReport",
    "disk_usage",
    "run_usage",
]

Category = Literal[
    "tensorboard",
    "archived_events",
    "wandb_offline",
    "wandb_synced",
    "checkpoints",
    "logs",
    "other",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)
CATEGORY_LABELS: Mapping[Category, str] = {
    "tensorboard": "tensorboard events",
    "archived_events": "archived events",
    "wandb_offline": "wandb offline, unsynced",
    "wandb_synced": "wandb synced or online",
    "checkpoints": "checkpoints",
    "logs": "logs",
    "other": "other",
}
_EVENT_PREFIX = "events.out.tfevents."
_LOG_SUFFIXES = (".log", ".log.gz")


@attrs.frozen
class Usage:
    """Bytes and files of one category."""

    size: int = 0
    files: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.size + other.size, self.files + other.files)


@attrs.frozen
class RunUsage:
    """One run's disk usage."""

    run_id: str
    path: Path
    status: RunStatus
    categories: Mapping[Category, Usage]
    """Every category, empty ones included."""
    last_modified: float | None
    """Newest modification time of the run's files (``artifacts.json`` aside), if any."""

    @property
    def size(self) -> int:
        return sum(u.size for u in self.categories.values())

    @property
    def files(self) -> int:
        return sum(u.files for u in self.categories.values())

    def age(self, now: float) -> float | None:
        """Seconds since it finished (finished runs) or since its last write (others)."""
        since = self.status.finished_at or self.last_modified
        return None if since is None else max(0.0, now - since)

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "state": self.status.state,
            "state_reason": self.status.reason,
            "last_state": self.status.last_state,
            "finished_at": self.status.finished_at,
            "last_modified": self.last_modified,
            "age_s": self.age(now),
            "size": self.size,
            "files": self.files,
            "categories": {c: attrs.asdict(u) for c, u in self.categories.items()},
        }


@attrs.frozen
class UsageReport:
    """The disk usage of a runs root (every run under it) or of a single run."""

    path: Path
    single_run: bool
    runs: tuple[RunUsage, ...]
    """Largest first."""
    refused: tuple[tuple[str, str], ...] = ()
    """Entries not counted, with why (e.g. a run directory that is a symlink)."""
    generated_at: float = 0.0

    @property
    def categories(self) -> dict[Category, Usage]:
        totals = dict.fromkeys(CATEGORIES, Usage())
        for run in self.runs:
            for category, usage in run.categories.items():
                totals[category] += usage
        return totals

    @property
    def size(self) -> int:
        return sum(run.size for run in self.runs)

    @property
    def files(self) -> int:
        return sum(run.files for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        now = self.generated_at
        return {
            "path": str(self.path),
            "single_run": self.single_run,
            "generated_at": now,
            "size": self.size,
            "files": self.files,
            "categories": {c: attrs.asdict(u) for c, u in self.categories.items()},
            "runs": [run.to_dict(now) for run in self.runs],
            "refused": [{"name": n, "reason": r} for n, r in self.refused],
        }

    def describe(self) -> list[str]:
        """The report as text: a summary line, totals by category, then the runs, largest first."""
        total = f"{format_size(self.size)} in {self.files} files"
        if self.single_run:
            run = self.runs[0]
            age = run.age(self.generated_at)
            since = "" if age is None else f", {format_age(age)} ago"
            if age is not None and run.status.finished_at is None:
                since = f", last write {format_age(age)} ago"
            lines = [f"run {self.path}: {run.status.reason}{since}; {total}"]
        else:
            states = [run.status.state for run in self.runs]
            counts = ", ".join(f"{states.count(s)} {s}" for s in ("finished", "running", "unknown"))
            lines = [f"runs root {self.path}: {len(self.runs)} runs ({counts}); {total}"]
        width = max(len(label) for label in CATEGORY_LABELS.values())
        lines += ["", f"  {'category':<{width}}  {'size':>10}  {'files':>7}"]
        for category, usage in self.categories.items():
            label = CATEGORY_LABELS[category]
            lines.append(f"  {label:<{width}}  {format_size(usage.size):>10}  {usage.files:>7}")
        if self.single_run:
            return lines
        id_width = max([len(run.run_id) for run in self.runs] + [3])
        header = f"  {'run':<{id_width}}  {'state':<8}  {'age':>6}  {'size':>10}  largest parts"
        lines += ["", header]
        for run in self.runs:
            age = run.age(self.generated_at)
            parts = sorted(((u.size, c) for c, u in run.categories.items() if u.size), reverse=True)
            largest = ", ".join(f"{CATEGORY_LABELS[c]} {format_size(s)}" for s, c in parts[:3])
            lines.append(
                f"  {run.run_id:<{id_width}}  {run.status.state:<8}  "
                f"{format_age(age) if age is not None else '-':>6}  "
                f"{format_size(run.size):>10}  {largest}".rstrip()
            )
        lines += [f"not counted: {name}: {reason}" for name, reason in self.refused]
        return lines


def disk_usage(path: str | os.PathLike[str], *, now: float | None = None) -> UsageReport:
    """The usage of a runs root, or of one run if ``path`` is a run directory.

    A run directory holds ``lifecycle.jsonl``, ``artifacts.json``, a worker hint file, or a
    ``tensorboard/`` or ``wandb/`` folder (``safety.RUN_MARKERS``). Raises
    :class:`~gui_fastpath.maintenance.BadRootError` if ``path`` is missing or unreadable.
    """
    real = resolve_root(path, "runs root or run")
    now = time.time() if now is None else now
    if run_marker(real) is not None:
        return UsageReport(real, True, (run_usage(real),), generated_at=now)
    found = find_runs(real)
    runs = []
    for run in found.runs:
        try:
            runs.append(run_usage(run.path))
        except RunDirError:
            continue  # removed while we looked
    runs.sort(key=lambda r: (-r.size, r.run_id))
    return UsageReport(real, False, tuple(runs), found.refused, now)


def run_usage(run_dir: str | os.PathLike[str]) -> RunUsage:
    """One run's usage; :class:`~gui_fastpath.manifest.RunDirError` if it is gone."""
    path = Path(run_dir)
    status = run_status(path)
    walk = _UsageWalk(scan_run(path))
    walk.directory(str(path), "", None)
    return RunUsage(path.name, path, status, walk.totals, walk.newest)


class _UsageWalk:
    """One walk of one run, each file put in a category by the manifest's rules."""

    def __init__(self, manifest: ArtifactManifest) -> None:
        self.checkpoints = {c.path for c in manifest.checkpoints}
        self.subtrees: dict[str, Category] = {ARCHIVE_DIR: "archived_events", "logs": "logs"}
        self.subtrees.update(dict.fromkeys(self.checkpoints, "checkpoints"))
        for run in manifest.wandb:
            if run.directory is not None:
                synced = run.synced or run.mode == "online"
                self.subtrees[run.directory] = "wandb_synced" if synced else "wandb_offline"
        self.logs = {p for p in (manifest.logs.stdout, manifest.logs.stderr) if p}
        self.totals: dict[Category, Usage] = dict.fromkeys(CATEGORIES, Usage())
        self.newest: float | None = None

    def directory(self, path: str, rel: str, inherited: Category | None) -> None:
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError:
            return  # gone or unreadable: nothing to count
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            category = self.subtrees.get(child, inherited)
            if category is None and child == "wandb":
                category = "wandb_synced"  # wandb's own files beside its run folders
            try:
                if entry.is_dir(follow_symlinks=False):
                    self.directory(entry.path, child, category)
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if category is None:
                category = self._file_category(child, entry.name)
            self.totals[category] += Usage(info.st_size, 1)
            if child == MANIFEST_NAME:
                continue  # rewritten by every rescan: not a sign of the run's activity
            if self.newest is None or info.st_mtime > self.newest:
                self.newest = info.st_mtime

    def _file_category(self, rel: str, name: str) -> Category:
        if name.startswith(_EVENT_PREFIX):
            return "tensorboard"
        if rel in self.checkpoints:
            return "checkpoints"
        if rel in self.logs or ("/" not in rel and name.endswith(_LOG_SUFFIXES)):
            return "logs"
        return "other"
