"""Test support for the maintenance commands: real runs made by the demo worker under the
supervisor (``gui-fastpath launch``), aged on disk, and exact listings of a tree."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from _manifest_support import FIXTURES
from gui_fastpath.lifecycle import read_lifecycle

DAY = 86400.0
DEMO_STEPS = ("--total-steps", "2000", "--checkpoint-every", "500", "--log-every", "50")


def launch_command(root: Path, run_id: str, *worker_args: str) -> list[str]:
    """``gui-fastpath launch`` of the demo worker (TensorBoard only) as ``root/run_id``."""
    return [
        sys.executable,
        "-m",
        "gui_fastpath",
        "launch",
        "--runs-root",
        str(root),
        "--run-id",
        run_id,
        "--",
        sys.executable,
        "-m",
        "gui_fastpath.demo.worker",
        "--run-dir",
        str(root / run_id),
        "--no-wandb",
        *worker_args,
    ]


def launch_run(root: Path, run_id: str, *worker_args: str, status: int = 0) -> Path:
    """A finished run: the demo worker under the supervisor, to the end."""
    done = subprocess.run(
        launch_command(root, run_id, *(worker_args or DEMO_STEPS)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == status, done.stderr
    return root / run_id


def start_live_run(root: Path, run_id: str) -> subprocess.Popen[str]:
    """A run that keeps going (a checkpoint every 50 steps) until :func:`stop_live_run`."""
    args = ("--total-steps", "10000000", "--checkpoint-every", "50", "--step-delay-ms", "2")
    return subprocess.Popen(
        launch_command(root, run_id, *args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def wait_until_running(run_dir: Path, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    """Wait for a RUNNING event and a checkpoint (polling with a deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the live run ended early"
        events = read_lifecycle(run_dir)
        ckpts = list((run_dir / "checkpoints").glob("*.npz"))
        if events and events[-1].state.value == "RUNNING" and len(ckpts) >= 2:
            return
        time.sleep(0.05)
    raise AssertionError(f"{run_dir} did not start running in {timeout} s")


def stop_live_run(proc: subprocess.Popen[str]) -> int:
    """SIGTERM the supervisor (it cancels the worker's group) and wait for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def age_run(run_dir: Path, days: float) -> None:
    """Make a run look ``days`` older: journal timestamps and every mtime shifted back."""
    shift = days * DAY
    journal = run_dir / "lifecycle.jsonl"
    if journal.exists():
        lines = []
        for raw in journal.read_text().splitlines():
            event = json.loads(raw)
            event["timestamp"] -= shift
            lines.append(json.dumps(event))
        journal.write_text("\n".join(lines) + "\n")
    for path in [run_dir, *run_dir.rglob("*")]:
        info = path.lstat()
        os.utime(path, (info.st_atime - shift, info.st_mtime - shift), follow_symlinks=False)


def add_wandb_fixture(run_dir: Path, *, synced: bool) -> str:
    """Copy a W&B offline run written by wandb (fixtures) into the run; its run id."""
    name = (
        "offline-run-20241231_120000-sync0001"
        if synced
        else ("offline-run-20250101_120000-sync0002")
    )
    source = FIXTURES / "runs" / "synced_wandb" / "wandb" / name
    shutil.copytree(source, run_dir / "wandb" / name, symlinks=True)
    return name.rsplit("-", 1)[1]


def tree(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind, size, mtime (ns), inode and symlink target."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            info = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            target = os.readlink(path) if kind == "link" else None
            size = info.st_size if kind == "file" else 0
            found[path.relative_to(root).as_posix()] = (
                kind,
                size,
                info.st_mtime_ns,
                info.st_ino,
                target,
            )
    return found


def copy_root(template: Path, dest: Path) -> Path:
    """A copy of a runs root, mtimes and symlinks kept."""
    shutil.copytree(template, dest, symlinks=True)
    return dest


def clone_run(source: Path, dest: Path) -> Path:
    """A copy of a run under another run id (journal and manifest say the new id)."""
    from gui_fastpath.manifest import update_manifest

    shutil.copytree(source, dest, symlinks=True)
    journal = dest / "lifecycle.jsonl"
    if journal.exists():
        events = [json.loads(line) for line in journal.read_text().splitlines()]
        journal.write_text("".join(json.dumps({**e, "run_id": dest.name}) + "\n" for e in events))
    update_manifest(dest)
    return dest


_TEMPLATE: Path | None = None


def template_root(base: Path) -> Path:
    """A runs root with one run in each situation maintenance meets (built once a session).

    - ``old-done``: COMPLETED 40 days ago after a resume (two TensorBoard event files),
      4 checkpoints, logs
    - ``old-failed``: FAILED 40 days ago (the worker raised at step 1200), 2 checkpoints
    - ``new-done``: COMPLETED just now
    - ``no-journal``: written without a supervisor (no ``lifecycle.jsonl``), 40 days old
    - ``old-unsynced``: like ``old-done`` plus an offline W&B run never synced
    - ``old-synced``: like ``old-done`` plus an offline W&B run that was synced
    """
    global _TEMPLATE
    if _TEMPLATE is not None:
        return _TEMPLATE
    root = base / "runs"
    root.mkdir(parents=True)
    launch_run(root, "old-done")
    done = launch_run(root, "old-done")  # resumed: a second event file, the log appended
    launch_run(root, "old-failed", *DEMO_STEPS, "--fail-at", "1200", status=1)
    launch_run(root, "new-done")
    for name, synced in (("old-unsynced", False), ("old-synced", True)):
        add_wandb_fixture(clone_run(done, root / name), synced=synced)
    (clone_run(done, root / "no-journal") / "lifecycle.jsonl").unlink()
    for name in ("old-done", "old-failed", "no-journal", "old-unsynced", "old-synced"):
        age_run(root / name, 40)
        update_manifest_of(root / name)  # its file times changed
    _TEMPLATE = root
    return root


def update_manifest_of(run_dir: Path) -> None:
    from gui_fastpath.manifest import update_manifest

    update_manifest(run_dir)
