"""The layout routing chose reaches the supervisor and the manifest.

The supervisor reads the worker's environment: it follows ``GUI_FASTPATH_HEARTBEAT_FILE``
and records the layout in ``fastpath.json``, which the scanner reads. End to end: a worker
declared with a non-default layout runs under ``gui-fastpath launch`` (directly, and through
the reference host's daemon) with the routing's environment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gui_fastpath.lifecycle import RunState, Supervisor, read_lifecycle
from gui_fastpath.lifecycle.sidecar import MAX_SIDECAR_BYTES, SidecarHeartbeat
from gui_fastpath.manifest import LAYOUT_NAME, read_manifest
from gui_fastpath.routing import FastPathWorker, command_from_train_config, rewrite_train_config
from wandb_support import wandb_env

pytestmark = pytest.mark.timeout(30)

WORKERS = Path(__file__).parent / "workers"
LAYOUT_VARIABLES = (
    "GUI_FASTPATH_TENSORBOARD_DIR",
    "GUI_FASTPATH_CHECKPOINTS_DIR",
    "GUI_FASTPATH_HEARTBEAT_FILE",
    "WANDB_DIR",
    "GUI_FASTPATH_LANE",
)
DECLARED = FastPathWorker(
    worker_id="layout_worker",
    tensorboard_dir="logs/tb",
    wandb_dir="analytics/wandb",
    checkpoints_dir="snapshots",
    heartbeat_file="state/hb.json",
)


@pytest.fixture(autouse=True)
def _no_inherited_layout(monkeypatch):
    for name in LAYOUT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def worker(name: str) -> list[str]:
    return [sys.executable, str(WORKERS / f"{name}.py")]


def routed(run_dir: Path, name: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment routing gives a worker declared with ``DECLARED``."""
    config = {"entry_point": sys.executable, "arguments": [str(WORKERS / f"{name}.py")]}
    return command_from_train_config(rewrite_train_config(config, run_dir, worker=DECLARED))


def layout_file(run_dir: Path) -> dict:
    return json.loads((run_dir / LAYOUT_NAME).read_text())


# ----------------------------------------------------------------------- the supervisor


async def test_the_heartbeat_file_routing_chose_is_followed(tmp_path):
    run_dir = tmp_path / "run"
    command, env = routed(run_dir, "sidecar_only")
    sup = Supervisor(command, run_dir, env=env, refresh_manifest=None)  # no scanner hints
    final = await sup.run()
    assert final.state is RunState.COMPLETED, final
    running = [e for e in sup.events if e.state is RunState.RUNNING]
    assert [e.progress.step for e in running] == [10, 20, 30]
    assert {e.progress.source for e in running} == {"sidecar"}
    assert not (run_dir / "heartbeat.json").exists()
    assert layout_file(run_dir) == {
        "tensorboard_dir": "logs/tb",
        "wandb_dir": "analytics/wandb",
        "checkpoints_dir": "snapshots",
        "heartbeat_file": "state/hb.json",
    }


async def test_an_explicit_heartbeat_file_wins_over_the_environment(tmp_path):
    run_dir = tmp_path / "run"
    command, env = routed(run_dir, "succeed")
    sup = Supervisor(command, run_dir, env=env, heartbeat_file="mine.json", refresh_manifest=None)
    await sup.run()
    assert sup.heartbeat_path == run_dir / "mine.json"
    assert layout_file(run_dir)["heartbeat_file"] == "mine.json"  # what the scanner is told


async def test_relative_values_are_read_from_the_workers_directory(tmp_path):
    run_dir = tmp_path / "runs" / "run"
    env = {
        "GUI_FASTPATH_TENSORBOARD_DIR": "runs/run/tb",  # relative to cwd, as the worker reads it
        "GUI_FASTPATH_HEARTBEAT_FILE": str(run_dir / "a" / ".." / "hb.json"),
        "WANDB_DIR": str(run_dir),
    }
    sup = Supervisor(worker("succeed"), run_dir, env=env, cwd=tmp_path, refresh_manifest=None)
    await sup.run()
    assert layout_file(run_dir) == {
        "tensorboard_dir": "tb",
        "wandb_dir": ".",
        "heartbeat_file": "hb.json",
    }
    assert sup.heartbeat_path == run_dir / "hb.json"


async def test_paths_outside_the_run_directory_are_left_out_and_logged(tmp_path, caplog):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (run_dir / "link").symlink_to(outside)
    env = {
        "GUI_FASTPATH_TENSORBOARD_DIR": str(tmp_path / "tb"),
        "GUI_FASTPATH_CHECKPOINTS_DIR": str(run_dir / "ckpt"),
        "GUI_FASTPATH_HEARTBEAT_FILE": str(run_dir / "link" / "hb.json"),
        "WANDB_DIR": str(tmp_path),  # a user's global W&B folder: not ours to complain about
    }
    caplog.set_level(logging.WARNING, logger="gui_fastpath.lifecycle")
    sup = Supervisor(worker("succeed"), run_dir, env=env, refresh_manifest=None)
    await sup.run()
    assert layout_file(run_dir) == {"checkpoints_dir": "ckpt"}
    assert sup.heartbeat_path == run_dir / "heartbeat.json"
    assert [r.getMessage() for r in caplog.records] == [
        f"{name}={value} is outside the run directory {run_dir}; the GUI will not find what "
        "the worker writes there (point it inside the run directory)"
        for name, value in (
            ("GUI_FASTPATH_TENSORBOARD_DIR", tmp_path / "tb"),
            ("GUI_FASTPATH_HEARTBEAT_FILE", run_dir / "link" / "hb.json"),
        )
    ]


async def test_wandb_dir_outside_is_logged_when_routing_set_the_environment(tmp_path, caplog):
    run_dir = tmp_path / "run"
    env = {"GUI_FASTPATH_LANE": "fast", "WANDB_DIR": str(tmp_path / "wandb")}
    caplog.set_level(logging.WARNING, logger="gui_fastpath.lifecycle")
    await Supervisor(worker("succeed"), run_dir, env=env, refresh_manifest=None).run()
    assert [r.getMessage().partition(" is ")[0] for r in caplog.records] == [
        f"WANDB_DIR={tmp_path / 'wandb'}"
    ]
    assert not (run_dir / LAYOUT_NAME).exists()


async def test_without_layout_variables_nothing_is_recorded(tmp_path):
    run_dir = tmp_path / "run"
    await Supervisor(worker("succeed"), run_dir, refresh_manifest=None).run()
    assert not (run_dir / LAYOUT_NAME).exists()


async def test_an_unwritable_layout_file_does_not_stop_the_run(tmp_path, caplog):
    run_dir = tmp_path / "run"
    (run_dir / LAYOUT_NAME).mkdir(parents=True)  # a directory where the file should go
    env = {"GUI_FASTPATH_HEARTBEAT_FILE": str(run_dir / "hb.json")}
    final = await Supervisor(worker("succeed"), run_dir, env=env, refresh_manifest=None).run()
    assert final.state is RunState.COMPLETED
    assert any(
        "cannot record the layout in fastpath.json" in r.getMessage() for r in caplog.records
    )


# ------------------------------------------------------------ the sidecar file, hostile


@pytest.fixture
def sidecar(tmp_path, caplog) -> SidecarHeartbeat:
    caplog.set_level(logging.WARNING, logger="gui_fastpath.lifecycle.sidecar")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return SidecarHeartbeat(run_dir, "hb.json")


def _problems(caplog) -> list[str]:
    return [r.getMessage().partition(": ")[2] for r in caplog.records]


def test_a_sidecar_is_read_when_it_changes(sidecar):
    assert sidecar.poll() is None  # not there yet
    sidecar.path.write_text('{"step": 5}')
    assert sidecar.poll().payload == {"step": 5}
    assert sidecar.poll() is None  # unchanged
    sidecar.path.write_text('{"step": 6, "x": 1}')
    assert sidecar.poll().payload == {"step": 6, "x": 1}


def test_a_half_written_sidecar_is_retried(sidecar, caplog):
    sidecar.path.write_text('{"step": ')
    assert sidecar.poll() is None
    sidecar.path.write_text('{"step": 7}')
    assert sidecar.poll().payload == {"step": 7}
    assert _problems(caplog) == []


def test_a_fifo_sidecar_never_blocks(sidecar, caplog):
    os.mkfifo(sidecar.path)
    assert sidecar.poll() is None
    assert sidecar.poll() is None
    assert _problems(caplog) == ["not a regular file; ignored"]  # said once


def test_a_huge_sidecar_is_not_read(sidecar, caplog):
    with open(sidecar.path, "wb") as handle:
        handle.truncate(MAX_SIDECAR_BYTES + 1)
    assert sidecar.poll() is None
    assert _problems(caplog) == [
        f"{MAX_SIDECAR_BYTES + 1:,} bytes, more than the {MAX_SIDECAR_BYTES:,}-byte limit; ignored"
    ]


def test_a_sidecar_linked_out_of_the_run_is_not_read(sidecar, tmp_path, caplog):
    (tmp_path / "elsewhere.json").write_text('{"step": 1}')
    sidecar.path.symlink_to(tmp_path / "elsewhere.json")
    assert sidecar.poll() is None
    assert _problems(caplog) == ["resolves outside the run directory; ignored"]


def test_a_sidecar_that_is_not_an_object(sidecar, caplog):
    sidecar.path.write_text("[1, 2]")
    assert sidecar.poll() is None
    assert _problems(caplog) == ["expected a JSON object with progress fields; ignored"]


def test_follow_switches_to_another_file(sidecar):
    sidecar.path.write_text('{"step": 1}')
    assert sidecar.poll().payload == {"step": 1}
    (sidecar.run_dir / "state").mkdir()
    (sidecar.run_dir / "state" / "hb.json").write_text('{"step": 2}')
    sidecar.follow("state/hb.json")
    assert sidecar.poll().payload == {"step": 2}


# ------------------------------------------------------------------------- end to end


def _assert_declared_layout_in_manifest(run_dir: Path) -> None:
    manifest = read_manifest(run_dir)
    assert manifest.warnings == ()
    assert manifest.hints == (LAYOUT_NAME,)
    assert manifest.tensorboard.log_dir == "logs/tb"
    assert [e.run for e in manifest.tensorboard.event_files] == ["ppo"]
    assert [(c.path, c.step) for c in manifest.checkpoints] == [
        ("snapshots/policy_30.bin", 30),
        ("snapshots/policy_20.bin", 20),
        ("snapshots/policy_10.bin", 10),
    ]
    assert manifest.heartbeat == "state/hb.json"
    [run] = manifest.wandb
    assert run.directory.startswith("analytics/wandb/wandb/offline-run-")
    assert (run.mode, run.synced) == ("offline", False)
    assert run.wandb_file == f"{run.directory}/run-{run.run_id}.wandb"


@pytest.mark.timeout(60)
def test_a_declared_layout_end_to_end_under_launch(tmp_path):
    """A real offline W&B run, event files, checkpoints and sidecar heartbeats."""
    runs = tmp_path / "runs"
    command, routing_env = routed(runs / "run-l", "declared_layout")
    argv = [sys.executable, "-m", "gui_fastpath", "launch", "--runs-root", str(runs)]
    argv += ["--run-id", "run-l", "--", *command]
    env = {**wandb_env(tmp_path / "home"), **routing_env}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr + (runs / "run-l/logs/worker.stderr.log").read_text()
    run_dir = runs / "run-l"

    events = read_lifecycle(run_dir)
    assert events[-1].state is RunState.COMPLETED
    running = [e.progress for e in events if e.state is RunState.RUNNING]
    assert list(dict.fromkeys(p.episode for p in running)) == [1, 2, 3]  # only the sidecar has it
    assert running[0].source == "sidecar"
    assert events[-1].progress.step == events[-1].progress.total_steps == 30
    _assert_declared_layout_in_manifest(run_dir)


@pytest.mark.timeout(60)
async def test_the_reference_hosts_daemon_honours_the_declared_heartbeat(tmp_path):
    from gui_fastpath.qt.host.daemon import LocalDaemon

    runs = tmp_path / "runs"
    daemon = LocalDaemon(runs)
    config = {"entry_point": sys.executable, "arguments": [str(WORKERS / "sidecar_only.py")]}
    prepared = rewrite_train_config(config, runs / "run-d", worker=DECLARED)
    run_id = await daemon.start_run(prepared, "run-d")
    try:
        assert await asyncio.wait_for(daemon.processes[run_id].wait(), 50) == 0
    finally:
        await daemon.shutdown()
    events = read_lifecycle(runs / run_id)
    assert events[-1].state is RunState.COMPLETED
    running = [(e.progress.step, e.progress.source) for e in events if e.state is RunState.RUNNING]
    assert running == [(10, "sidecar"), (20, "sidecar"), (30, "sidecar")]
    manifest = read_manifest(runs / run_id)
    assert (manifest.heartbeat, manifest.hints) == ("state/hb.json", (LAYOUT_NAME,))
