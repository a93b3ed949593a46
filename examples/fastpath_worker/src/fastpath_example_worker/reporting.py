"""What the worker tells the supervisor: lifecycle lines on stdout, a sidecar heartbeat
file, and an ``artifacts_manifest.json`` hint file. All plain JSON; no gui_fastpath import.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from fastpath_example_worker.layout import RunLayout

__all__ = ["LifecycleReporter", "write_hints", "write_json_atomically"]

HINTS_FILE = "artifacts_manifest.json"


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file, then rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


class LifecycleReporter:
    """Speaks the host's JSON-lines lifecycle protocol and keeps the sidecar heartbeat."""

    def __init__(self, layout: RunLayout) -> None:
        self.layout = layout

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        line = {
            "event": event,
            "run_id": self.layout.run_id,
            "timestamp": time.time(),
            "payload": payload,
        }
        # One write per line, flushed at once: a heartbeat must not wait in a buffer.
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    def started(self, **payload: Any) -> None:
        self._emit("run_started", payload)

    def heartbeat(self, **payload: Any) -> None:
        """A ``heartbeat`` line on stdout, and the same fields in the sidecar file."""
        payload = {key: value for key, value in payload.items() if value is not None}
        self._emit("heartbeat", payload)
        write_json_atomically(self.layout.heartbeat_file, {"timestamp": time.time(), **payload})

    def completed(self, **payload: Any) -> None:
        self._emit("run_completed", payload)

    def cancelled(self, **payload: Any) -> None:
        self._emit("run_cancelled", payload)

    def failed(self, exc: BaseException) -> None:
        """``run_failed`` with the error; the traceback also goes to stderr (the log tab)."""
        text = "".join(traceback.format_exception(exc))
        self._emit(
            "run_failed",
            {"error": str(exc), "error_type": type(exc).__name__, "traceback": text},
        )
        sys.stderr.write(text)
        sys.stderr.flush()


def write_hints(layout: RunLayout, *, wandb_run: Any = None) -> None:
    """Tell the scanner where things are (every path relative to the run directory)."""
    paths = {
        "tensorboard_dir": layout.relative(layout.tensorboard_dir),
        "checkpoints_dir": layout.relative(layout.checkpoints_dir),
        "heartbeat_file": layout.relative(layout.heartbeat_file),
        "wandb_dir": layout.relative(layout.wandb_dir),
    }
    hints: dict[str, Any] = {"worker_type": "fastpath_example"}
    hints.update((key, value) for key, value in paths.items() if value is not None)
    if wandb_run is not None:
        hints["wandb_run_id"] = f"{wandb_run.project}/{wandb_run.id}"
        hints["wandb_mode"] = "offline" if wandb_run.offline else "online"
        if wandb_run.entity:
            hints["wandb_entity"] = wandb_run.entity
    write_json_atomically(layout.run_dir / HINTS_FILE, hints)
