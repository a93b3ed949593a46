"""The supervisor against real worker subprocesses (tests/workers/*.py)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from gui_fastpath.lifecycle import (
    JournalLockedError,
    RunState,
    Supervisor,
    read_lifecycle,
)

pytestmark = pytest.mark.timeout(30)

WORKERS = Path(__file__).parent / "workers"


def worker(name: str, *args: str) -> list[str]:
    return [sys.executable, str(WORKERS / f"{name}.py"), *args]


async def wait_until(predicate, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def states(sup: Supervisor) -> list[RunState]:
    return [e.state for e in sup.events]


async def test_successful_worker(tmp_path):
    run_dir = tmp_path / "run-ok"
    sup = Supervisor(worker("succeed"), run_dir, refresh_manifest=None)
    final = await sup.run()
    assert states(sup) == [RunState.STARTED, RunState.COMPLETED]
    assert (final.exit_code, final.signal_name, final.error) == (0, None, None)
    assert final.message == "exited with status 0"
    assert final.stderr_tail == ()
    assert sup.events[0].pid == sup.pid
    assert sup.stdout_log == run_dir / "logs" / "worker.stdout.log"
    assert sup.stdout_log.read_text() == "out 0\nout 1\nout 2\nno newline at the end"
    assert sup.stderr_log.read_text() == "err 0\nerr 1\nerr 2\n"
    assert read_lifecycle(run_dir) == sup.events
    assert [e.seq for e in sup.events] == [1, 2]


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroup scheduling")
async def test_a_helper_in_a_session_of_its_own_runs_at_the_workers_priority(tmp_path):
    sup = Supervisor(worker("helper_session"), tmp_path / "r", refresh_manifest=None)
    final = await sup.run()
    assert final.state is RunState.COMPLETED
    assert sup.stdout_log.read_text().strip().endswith(" nice 10")


async def test_worker_exiting_with_status_3(tmp_path):
    final = await Supervisor(worker("exit_code", "3"), tmp_path / "r", refresh_manifest=None).run()
    assert final.state is RunState.FAILED
    assert (final.exit_code, final.signal_name) == (3, None)
    assert final.message == "exited with status 3"
    assert final.error is None
    assert final.stderr_tail == (
        *(f"stderr line {i}" for i in range(11, 30)),
        "fatal: could not open dataset",
    )


async def test_worker_killed_by_sigkill(tmp_path):
    sup = Supervisor(worker("self_kill", "SIGKILL"), tmp_path / "r", refresh_manifest=None)
    final = await sup.run()
    assert final.state is RunState.FAILED
    assert (final.exit_code, final.signal_name) == (None, "SIGKILL")
    assert final.message == "killed by SIGKILL"
    assert final.stderr_tail == ("last words",)
    assert sup.stdout_log.read_text() == "about to die\n"


async def test_hanging_worker_is_cancelled_with_its_whole_group(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gui_fastpath.lifecycle")
    sup = Supervisor(worker("hang"), tmp_path / "r", run_id="r", refresh_manifest=None)
    await sup.start()
    await wait_until(lambda: "ready" in sup.stdout_log.read_text())
    grandchild = int(sup.stdout_log.read_text().split("child=")[1])
    final = await sup.cancel("user pressed stop")
    assert final.state is RunState.CANCELLED
    assert (final.exit_code, final.signal_name) == (None, "SIGTERM")
    assert final.message == (
        f"cancelled (cancel requested; SIGTERM to process group {sup.pid}); killed by SIGTERM"
    )
    assert gone(sup.pid) and gone(grandchild)
    assert [r.getMessage() for r in caplog.records] == [
        "run r: cancel requested (user pressed stop)",
        f"run r: cancel requested; sending SIGTERM to process group {sup.pid}",
        f"run r: process group {sup.pid} ended after SIGTERM",
    ]
    assert await sup.cancel() == final  # idempotent


async def test_worker_ignoring_sigterm_gets_sigkill_after_grace(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gui_fastpath.lifecycle")
    sup = Supervisor(
        worker("hang", "--ignore-term"),
        tmp_path / "r",
        run_id="r",
        grace_s=0.3,
        refresh_manifest=None,
    )
    await sup.start()
    await wait_until(lambda: "ready" in sup.stdout_log.read_text())
    final = await sup.cancel()
    assert final.state is RunState.CANCELLED
    assert final.signal_name == "SIGKILL"
    assert final.message == (
        f"cancelled (cancel requested; SIGTERM to process group {sup.pid}, "
        "SIGKILL after 0.3 s); killed by SIGKILL"
    )
    assert [r.getMessage() for r in caplog.records] == [
        "run r: cancel requested",
        f"run r: cancel requested; sending SIGTERM to process group {sup.pid}",
        f"run r: process group {sup.pid} still alive 0.3 s after SIGTERM; sending SIGKILL",
        f"run r: process group {sup.pid} ended after SIGKILL",
    ]


async def test_processes_left_behind_by_a_finished_worker_are_stopped(tmp_path):
    sup = Supervisor(worker("leave_child"), tmp_path / "r", refresh_manifest=None)
    final = await sup.run()
    grandchild = int(sup.stdout_log.read_text().split("child=")[1])
    assert final.state is RunState.COMPLETED
    assert final.exit_code == 0
    assert gone(grandchild)


async def test_host_json_lines_protocol(tmp_path):
    run_dir = tmp_path / "r"
    sup = Supervisor(
        worker("host_protocol"),
        run_dir,
        run_id="run-7",
        progress_interval_s=0,
        refresh_manifest=None,
    )
    final = await sup.run()
    assert states(sup)[0] is RunState.STARTED
    assert set(states(sup)[1:-1]) == {RunState.RUNNING}
    assert sup.events[1].message == "worker reported run_started as run-7"
    steps = [e.progress.step for e in sup.events if e.progress and e.progress.step]
    assert steps == sorted(steps) and steps[-1] == 400
    assert final.state is RunState.COMPLETED
    progress = final.progress
    assert (progress.step, progress.total_steps, progress.fraction) == (400, 400, 1.0)
    assert (progress.episode, progress.memory_mb, progress.cpu_percent) == (40, 12.5, 50.0)
    assert progress.last_checkpoint == "checkpoints/final.pt"
    assert progress.source == "stdout"
    log = sup.stdout_log.read_text().splitlines()
    assert [line for line in log if not line.startswith("{")] == [
        f"plain log line at step {s}" for s in (100, 200, 300)
    ]
    assert len(log) == 9


async def test_run_failed_message_gives_the_workers_own_error(tmp_path):
    final = await Supervisor(
        worker("host_protocol", "--fail"), tmp_path / "r", refresh_manifest=None
    ).run()
    assert final.state is RunState.FAILED
    assert final.exit_code == 1
    assert (final.error, final.error_type) == ("loss is NaN at step 300", "ValueError")
    assert "raise ValueError" in final.traceback
    assert final.stderr_tail == ("Traceback: loss is NaN",)
    assert final.progress.step == 300


async def test_a_worker_that_reports_run_failed_but_hangs_is_stopped(tmp_path):
    sup = Supervisor(
        worker("host_protocol", "--fail", "--hang-after-fail"),
        tmp_path / "r",
        grace_s=0.3,
        refresh_manifest=None,
    )
    final = await sup.run()
    assert final.state is RunState.FAILED
    assert (final.error, final.signal_name) == ("loss is NaN at step 300", "SIGTERM")
    assert final.message == (
        "worker reported run_failed but did not exit within 0.3 s; "
        f"SIGTERM to process group {sup.pid}; killed by SIGTERM"
    )


async def test_sidecar_heartbeat_only(tmp_path):
    sup = Supervisor(worker("sidecar_only"), tmp_path / "r", refresh_manifest=None)
    final = await sup.run()
    running = [e for e in sup.events if e.state is RunState.RUNNING]
    assert [e.progress.step for e in running] == [10, 20, 30]
    assert [e.progress.fraction for e in running] == [0.25, 0.5, 0.75]
    assert {e.progress.source for e in running} == {"sidecar"}
    assert final.state is RunState.COMPLETED
    assert sup.stdout_log.read_bytes() == b""


async def test_silent_worker_is_flagged_stalled_then_active(tmp_path):
    resume = tmp_path / "resume"
    sup = Supervisor(
        worker("wait_for_file", str(resume)),
        tmp_path / "r",
        stall_after_s=0.3,
        refresh_manifest=None,
    )
    await sup.start()
    await wait_until(lambda: any(e.stalled for e in sup.events))
    stalled = next(e for e in sup.events if e.stalled)
    assert stalled.state is RunState.RUNNING
    assert stalled.message.startswith("stalled: no output, heartbeat or new artifact for 0.")
    resume.touch()
    final = await sup.wait()
    assert final.state is RunState.COMPLETED
    assert not final.stalled
    assert [(e.stalled, e.message) for e in sup.events[2:-1]] == [(False, "active again")]


async def test_unstartable_command_fails_with_a_clear_error(tmp_path):
    sup = Supervisor([str(tmp_path / "no-such-worker")], tmp_path / "r")
    final = await sup.run()
    assert states(sup) == [RunState.FAILED]
    assert final.error_type == "FileNotFoundError"
    assert final.message == "could not start the worker: No such file or directory"
    assert read_lifecycle(tmp_path / "r") == [final]


async def test_restarted_supervisor_continues_the_journal(tmp_path):
    run_dir = tmp_path / "r"
    await Supervisor(worker("succeed"), run_dir, refresh_manifest=None).run()
    await Supervisor(worker("exit_code", "2"), run_dir, refresh_manifest=None).run()
    assert [(e.seq, e.state) for e in read_lifecycle(run_dir)] == [
        (1, RunState.STARTED),
        (2, RunState.COMPLETED),
        (3, RunState.STARTED),
        (4, RunState.FAILED),
    ]
    assert (run_dir / "logs" / "worker.stdout.log").read_text().startswith("out 0\n")


async def test_one_supervisor_per_run_directory(tmp_path):
    async with Supervisor(worker("hang"), tmp_path / "r", refresh_manifest=None):
        with pytest.raises(JournalLockedError):
            await Supervisor(worker("succeed"), tmp_path / "r").start()


async def test_subscribers_and_listeners_see_every_event_in_order(tmp_path):
    sup = Supervisor(worker("host_protocol"), tmp_path / "r", refresh_manifest=None)
    heard = []
    dispose = sup.add_listener(heard.append)
    await sup.start()
    received = [event async for event in sup.subscribe()]
    assert received == sup.events == heard
    assert received[-1].state is RunState.COMPLETED
    dispose()


async def test_context_exit_cancels_the_worker(tmp_path):
    async with Supervisor(worker("hang"), tmp_path / "r", refresh_manifest=None) as sup:
        await wait_until(lambda: "ready" in sup.stdout_log.read_text())
    assert sup.final_event.state is RunState.CANCELLED
    assert gone(sup.pid)


@pytest.mark.timeout(120)
async def test_200_mb_of_stdout_arrive_complete_and_in_order(tmp_path):
    sys.path.insert(0, str(WORKERS))
    try:
        from flood import expected_blocks
    finally:
        sys.path.remove(str(WORKERS))
    megabytes = 200
    sup = Supervisor(worker("flood", str(megabytes)), tmp_path / "r", refresh_manifest=None)
    final = await sup.run()
    assert final.state is RunState.COMPLETED
    with sup.stdout_log.open("rb") as log:
        for number, expected in enumerate(expected_blocks(megabytes)):
            assert log.read(len(expected)) == expected, f"block {number} differs"
        assert log.read(1) == b""
    assert sup.stderr_log.read_text().splitlines() == [
        f"block {i} written" for i in range(megabytes)
    ]


async def test_progress_inferred_from_tensorboard_and_checkpoints(tmp_path):
    from gui_fastpath.manifest import read_manifest

    run_dir = tmp_path / "quiet-run"
    sup = Supervisor(worker("artifacts_only"), run_dir, scan_interval_s=0.05)
    final = await sup.run()
    assert final.state is RunState.COMPLETED, final
    running = [e.progress for e in sup.events if e.state is RunState.RUNNING]
    assert (running[0].step, running[0].source) == (100, "tensorboard")
    checkpoint = next(p for p in running if p.last_checkpoint)
    assert (checkpoint.step, checkpoint.source) == (200, "checkpoint")
    assert checkpoint.last_checkpoint == "checkpoints/ckpt_200.pt"
    assert (running[-1].step, running[-1].source) == (300, "tensorboard")
    manifest = read_manifest(run_dir)
    assert manifest.logs.stdout == "logs/worker.stdout.log"
    assert [c.path for c in manifest.checkpoints] == ["checkpoints/ckpt_200.pt"]
    assert manifest.tensorboard.log_dir == "tensorboard"


async def test_a_stray_process_holding_stdout_does_not_hang_the_supervisor(tmp_path, caplog):
    sup = Supervisor(
        worker("escape_with_stdout"), tmp_path / "r", run_id="r", refresh_manifest=None
    )
    try:
        final = await sup.run()
    finally:
        stray = int(sup.stdout_log.read_text().split("child=")[1])
        psutil.Process(stray).kill()
    assert final.state is RunState.COMPLETED
    assert (
        "run r: worker.stdout.log is still held open by a process outside the worker's group; "
        "closing the log without EOF"
    ) in caplog.text


async def test_unwritable_logs_fail_the_run_before_the_worker_starts(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "logs").write_text("a file where the logs folder should be")
    sup = Supervisor(worker("succeed"), run_dir, refresh_manifest=None)
    final = await sup.run()
    assert final.state is RunState.FAILED
    assert sup.pid is None
    assert final.error == (
        f"cannot write the worker's log {run_dir / 'logs' / 'worker.stdout.log'}: File exists"
    )


def test_a_supervisor_whose_loop_ends_takes_the_worker_with_it(tmp_path):
    run_dir = tmp_path / "r"
    script = f"""
import asyncio
from gui_fastpath.lifecycle import Supervisor

async def main():
    sup = Supervisor({worker("hang")!r}, {str(run_dir)!r}, grace_s=1, refresh_manifest=None)
    await sup.start()
    while "ready" not in sup.stdout_log.read_text():
        await asyncio.sleep(0.01)
    print(sup.pid, flush=True)

asyncio.run(main())  # returns with the supervisor still running: asyncio.run cancels it
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr
    final = read_lifecycle(run_dir)[-1]
    assert final.state is RunState.CANCELLED
    assert final.message.startswith("cancelled (supervisor cancelled; SIGTERM to process group")
    assert gone(int(done.stdout))
