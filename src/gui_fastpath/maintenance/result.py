"""What a maintenance command did, or would do in a dry run: actions, skips and failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs

from gui_fastpath.maintenance._format import format_size

__all__ = ["Action", "Command", "Failure", "MaintenanceResult", "ManifestRefresh", "Op", "Skip"]

Command = Literal["prune", "compress"]
Op = Literal["delete_checkpoint", "delete_run", "compress_log"]


@attrs.frozen
class Action:
    """One change, made (``applied``) or planned (dry run)."""

    op: Op
    run_id: str
    path: str
    """The file or folder, POSIX-style, relative to the runs root (``<run_id>/...``)."""
    size: int
    """Its size in bytes before the change (a folder: all its files)."""
    reason: str
    """Why it is chosen, one line."""
    new_size: int | None = None
    """``compress_log`` once applied: the size of the ``.gz`` written."""

    @property
    def planned(self) -> tuple[Op, str, int]:
        """What a dry run promises: the same for the dry run and the applied run."""
        return (self.op, self.path, self.size)


@attrs.frozen
class Skip:
    """A run or file left alone, and why."""

    run_id: str
    reason: str
    path: str | None = None
    """The file, relative to the runs root, when one file (not the whole run) is skipped."""


@attrs.frozen
class Failure:
    """A change that was tried and failed; what was there is left as it was."""

    run_id: str
    path: str
    error: str


@attrs.frozen
class ManifestRefresh:
    """The ``artifacts.json`` refresh of a run after it was changed."""

    run_id: str
    changes: tuple[str, ...] = ()
    error: str | None = None


@attrs.frozen
class MaintenanceResult:
    """The outcome of :func:`prune` or :func:`compress_logs`."""

    command: Command
    root: Path
    applied: bool
    """False for a dry run: nothing was changed."""
    actions: tuple[Action, ...] = ()
    skipped: tuple[Skip, ...] = ()
    failed: tuple[Failure, ...] = ()
    refreshed: tuple[ManifestRefresh, ...] = ()

    @property
    def bytes_freed(self) -> int:
        """Bytes freed (or that a dry run of ``prune`` would free; compress: known after)."""
        freed = 0
        for action in self.actions:
            if action.op == "compress_log":
                freed += 0 if action.new_size is None else action.size - action.new_size
            else:
                freed += action.size
        return freed

    def describe(self) -> list[str]:
        """One line per action, skip and failure, then a summary; a dry run says so first."""
        lines = [] if self.applied else [_DRY_RUN]
        lines += [_action_line(a, self.applied) for a in self.actions]
        lines += [f"skipped {s.path or s.run_id}: {s.reason}" for s in self.skipped]
        lines += [f"failed {f.path}: {f.error}" for f in self.failed]
        for refresh in self.refreshed:
            where = f"{refresh.run_id}/artifacts.json"
            if refresh.error is not None:
                lines.append(f"failed {where}: {refresh.error}")
            elif refresh.changes:
                lines.append(f"refreshed {where}: {', '.join(refresh.changes)} changed")
        lines.append(self._summary())
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "root": str(self.root),
            "applied": self.applied,
            "bytes_freed": self.bytes_freed,
            "actions": [attrs.asdict(a) for a in self.actions],
            "skipped": [attrs.asdict(s) for s in self.skipped],
            "failed": [attrs.asdict(f) for f in self.failed],
            "refreshed": [
                {"run_id": r.run_id, "changes": list(r.changes), "error": r.error}
                for r in self.refreshed
            ],
        }

    def _summary(self) -> str:
        tail = f"; {len(self.skipped)} skipped"
        if self.failed:
            tail += f", {len(self.failed)} failed"
        if self.command == "compress":
            size = format_size(sum(a.size for a in self.actions))
            if not self.applied:
                return f"would compress {len(self.actions)} log(s) ({size}){tail}"
            freed = format_size(self.bytes_freed)
            return f"compressed {len(self.actions)} log(s) ({size}), freed {freed}{tail}"
        runs = sum(a.op == "delete_run" for a in self.actions)
        checkpoints = len(self.actions) - runs
        verb = "freed" if self.applied else "would free"
        return (
            f"{verb} {format_size(self.bytes_freed)}: {checkpoints} checkpoint(s), "
            f"{runs} run(s){tail}"
        )


_DRY_RUN = "dry run: nothing is changed; run again with --apply to do this"


def _action_line(action: Action, applied: bool) -> str:
    size = format_size(action.size)
    if action.op == "compress_log":
        if applied and action.new_size is not None:
            return f"compressed {action.path} ({size} -> {format_size(action.new_size)})"
        return f"would compress {action.path} ({size}): {action.reason}"
    verb = "deleted" if applied else "would delete"
    what = "run " if action.op == "delete_run" else ""
    return f"{verb} {what}{action.path} ({size}): {action.reason}"
