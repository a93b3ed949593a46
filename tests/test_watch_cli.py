"""``gui-fastpath watch ROOT`` as a real subprocess: JSON lines, clean exit on signals."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)
WAIT_S = 20.0  # includes the interpreter's start-up on a loaded CI machine


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gui_fastpath",
        "watch",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _event(proc: asyncio.subprocess.Process) -> dict:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), WAIT_S)
    assert line, "the watcher exited early"
    return json.loads(line)


async def _stop(proc: asyncio.subprocess.Process, signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    _, stderr = await asyncio.wait_for(proc.communicate(), WAIT_S)
    return proc.returncode, stderr.decode()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_prints_one_json_event_a_line_and_exits_cleanly_on_a_signal(tmp_path, signum):
    (tmp_path / "01JA" / "checkpoints").mkdir(parents=True)
    proc = await _start(str(tmp_path), "--debounce-ms", "20")
    try:
        first = await _event(proc)
        assert (first["type"], first["run_id"], first["initial"]) == ("run_appeared", "01JA", True)
        assert first["run_dir"] == str(tmp_path / "01JA")
        assert first["manifest"]["run_id"] == "01JA"

        (tmp_path / "01JA" / "checkpoints" / "ckpt_2k.pt").write_bytes(b"w")
        changed = await _event(proc)
        assert (changed["type"], changed["changes"]) == ("manifest_changed", ["checkpoints"])
        assert changed["manifest"]["checkpoints"][0]["step"] == 2000
    finally:
        returncode, stderr = await _stop(proc, signum)
    assert (returncode, stderr) == (0, "")


async def test_waits_for_a_root_that_does_not_exist_yet(tmp_path):
    root = tmp_path / "runs"
    proc = await _start(str(root), "--poll-ms", "20", "--no-existing")
    try:
        assert proc.stderr is not None
        warning = await asyncio.wait_for(proc.stderr.readline(), WAIT_S)
        assert warning.decode() == (
            f"WARNING gui_fastpath.watch.watcher: {root} does not exist (yet); waiting for it\n"
        )
        (root / "01JA").mkdir(parents=True)
        appeared = await _event(proc)
        assert (appeared["type"], appeared["initial"]) == ("run_appeared", False)
        shutil.rmtree(root / "01JA")
        assert (await _event(proc))["type"] == "run_removed"
    finally:
        returncode, _ = await _stop(proc, signal.SIGINT)
    assert returncode == 0


def test_a_root_that_is_a_file_is_a_one_line_error(tmp_path):
    root = tmp_path / "runs"
    root.write_text("not a directory")
    proc = subprocess.run(
        [sys.executable, "-m", "gui_fastpath", "watch", str(root)],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"gui-fastpath watch: {root} is not a directory; pass the runs root "
        "(the directory holding one directory per run)\n"
    )
