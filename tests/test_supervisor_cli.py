"""``gui-fastpath launch`` as a real command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gui_fastpath.cli.launch import exit_status
from gui_fastpath.lifecycle import RunLifecycleEvent, RunState, read_lifecycle

pytestmark = pytest.mark.timeout(60)

WORKERS = Path(__file__).parent / "workers"


def launch(root: Path, run_id: str, *command: str, **kw) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "gui_fastpath", "launch", "--runs-root", str(root)]
    argv += ["--run-id", run_id, *kw.pop("options", ()), "--", *command]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def worker(name: str, *args: str) -> list[str]:
    return [sys.executable, str(WORKERS / f"{name}.py"), *args]


def test_launch_prints_events_and_exits_with_the_workers_status(tmp_path):
    proc = launch(tmp_path, "run-a", *worker("exit_code", "3"))
    out, err = proc.communicate(timeout=50)
    assert proc.returncode == 3, err
    events = [RunLifecycleEvent.from_dict(json.loads(line)) for line in out.splitlines()]
    assert [e.state for e in events] == [RunState.STARTED, RunState.FAILED]
    assert events[-1].stderr_tail[-1] == "fatal: could not open dataset"
    assert read_lifecycle(tmp_path / "run-a") == events
    assert (tmp_path / "run-a" / "logs" / "worker.stdout.log").read_text() == "working\n"


def test_launch_succeeds(tmp_path):
    proc = launch(tmp_path, "run-b", *worker("host_protocol"))
    out, _ = proc.communicate(timeout=50)
    assert proc.returncode == 0
    assert json.loads(out.splitlines()[-1])["state"] == "COMPLETED"


def test_sigint_to_launch_cancels_the_worker(tmp_path):
    proc = launch(tmp_path, "run-c", *worker("hang"), options=["--grace-ms", "2000"])
    assert json.loads(proc.stdout.readline())["state"] == "STARTED"
    log = tmp_path / "run-c" / "logs" / "worker.stdout.log"
    deadline = time.monotonic() + 30
    while "ready" not in log.read_text():  # a polling wait with a deadline
        assert time.monotonic() < deadline, "worker never became ready"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=50)
    final = json.loads(out.splitlines()[-1])
    assert final["state"] == "CANCELLED"
    assert final["signal_name"] == "SIGTERM"
    assert proc.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--run-id", "a/b", "--", "true"],
            "--run-id 'a/b' must be a plain directory name (no path separators)",
        ),
        (["--run-id", "x"], "give the worker command after --, e.g. -- python train.py"),
        (["--run-id", "x", "--grace-ms", "-1", "--", "true"], "--grace-ms must be 0 or more"),
    ],
)
def test_bad_arguments_are_named(tmp_path, capsys, argv, message):
    from gui_fastpath.cli import main

    assert main(["launch", "--runs-root", str(tmp_path), *argv]) == 2
    assert capsys.readouterr().err == f"gui-fastpath launch: {message}\n"


def test_missing_program_exits_127(tmp_path):
    proc = launch(tmp_path, "run-d", str(tmp_path / "nowhere"))
    out, _ = proc.communicate(timeout=50)
    assert proc.returncode == 127
    assert json.loads(out)["error_type"] == "FileNotFoundError"


def test_exit_status_mapping():
    def event(**kw):
        return RunLifecycleEvent(run_id="r", state=RunState.FAILED, timestamp=0.0, seq=1, **kw)

    assert exit_status(event(exit_code=0)) == 1  # run_failed, then exit 0
    assert exit_status(event(signal_name="SIGKILL")) == 137
    assert exit_status(event(error_type="PermissionError")) == 126
