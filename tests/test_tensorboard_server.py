"""The managed TensorBoard (Qt-free): real TensorBoard and data-server processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from _tensorboard_support import managed_processes, write_scalars
from gui_fastpath.spawn import BACKGROUND_NICE
from gui_fastpath.tensorboard import (
    ServerEvent,
    ServerOptions,
    TensorBoardPool,
    TensorBoardStartError,
)
from gui_fastpath.tensorboard._process import ChildProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def scalar_steps(url: str, run: str, tag: str) -> list[int]:
    points = get_json(f"{url}data/plugin/scalars/scalars?run={run}&tag={tag}")
    assert isinstance(points, list)
    return [int(point[1]) for point in points]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "run" / "tensorboard"
    write_scalars(directory, range(5))
    return directory


@pytest.fixture
def pool():
    pools: list[TensorBoardPool] = []

    def make(**options) -> TensorBoardPool:
        options.setdefault("keep_spare", False)
        options.setdefault("index_mode", "on-open")
        pools.append(TensorBoardPool(ServerOptions(**options)))
        return pools[-1]

    yield make
    for each in pools:
        each.shutdown()


def test_serves_only_under_the_secret(pool, log_dir):
    lease = pool().acquire(log_dir)
    assert lease.url.startswith("http://127.0.0.1:")
    wait_until(lambda: scalar_steps(lease.url, ".", "train/loss") == [0, 1, 2, 3, 4], 10, "data")
    origin, secret = lease.url.rstrip("/").rsplit("/", 1)
    assert len(secret) >= 32
    for path in ("/", "/data/logdir", "/data/runs", "/data/plugin/scalars/tags", "/x" + secret):
        assert status_of(origin + path) == 404, path
    assert status_of(lease.url + "data/runs") == 200


def test_tensorboard_runs_below_the_gui_in_its_session(pool, log_dir):
    lease = pool().acquire(log_dir)
    wait_until(lambda: len(managed_processes()) == 2, 10, "front end and data server")
    for proc in managed_processes():
        assert proc.nice() == max(BACKGROUND_NICE, os.getpriority(os.PRIO_PROCESS, 0))
        assert os.getsid(proc.pid) == os.getsid(0)
    lease.release()


def test_secret_is_neither_in_the_process_list_nor_on_disk(pool, log_dir):
    lease = pool().acquire(log_dir)
    secret = lease.url.rstrip("/").rsplit("/", 1)[1]
    procs = managed_processes()
    assert len(procs) == 2  # the web front end and our data server
    for proc in procs:
        assert secret not in " ".join(proc.cmdline())
        info = Path(tempfile.gettempdir(), ".tensorboard-info", f"pid-{proc.pid}.info")
        assert not info.exists()
        for conn in proc.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN:
                assert conn.laddr.ip == "127.0.0.1"


def test_a_tensorboard_that_dies_at_start_is_reported_with_its_stderr(pool, log_dir):
    broken = pool(extra_args=("--no_such_flag=1",), start_timeout=60)
    started = time.monotonic()
    with pytest.raises(TensorBoardStartError) as caught:
        broken.acquire(log_dir)
    assert time.monotonic() - started < 20  # the exit is noticed, not the 60 s timeout
    assert str(caught.value).startswith(f"TensorBoard for {log_dir} exited during start-up")
    assert "no_such_flag" in caught.value.stderr
    wait_until(lambda: not managed_processes(), 5, "the failed start to leave nothing behind")


def test_one_server_per_log_dir_stopped_with_its_last_viewer(pool, log_dir, tmp_path):
    shared = pool()
    first = shared.acquire(log_dir)
    second = shared.acquire(str(log_dir) + "/")
    assert first.url == second.url
    other_dir = tmp_path / "other" / "tensorboard"
    write_scalars(other_dir, range(2))
    other = shared.acquire(other_dir)
    assert other.url != first.url
    first.release()
    first.release()  # idempotent
    assert status_of(second.url + "data/runs") == 200
    second.release()
    other.release()
    wait_until(lambda: not managed_processes(), 10, "every process to stop")


def test_prewarm_indexes_before_the_tab_opens_and_a_spare_serves_it(pool, log_dir):
    eager = pool(index_mode="eager", keep_spare=True)
    index = eager.prewarm(log_dir)
    assert index.wait_indexed(10)
    spare = eager._spare
    assert spare is not None
    lease = eager.acquire(log_dir)
    assert lease.indexed
    assert spare.url == lease.url  # the pre-imported process took the job
    assert scalar_steps(lease.url, ".", "train/return") == [0, 1, 2, 3, 4]
    lease.release()
    wait_until(lambda: len(managed_processes()) == 2, 10, "only the index and a spare to remain")
    index.release()
    eager.shutdown()
    assert not managed_processes()


def test_restart_keeps_the_index_and_tells_every_viewer(pool, log_dir):
    shared = pool()
    lease = shared.acquire(log_dir)
    events: list[ServerEvent] = []
    lease.subscribe(events.append)
    old_url = lease.url
    data_server = shared._entries[log_dir].server.data_server
    new_url = lease.restart()
    assert new_url != old_url
    assert lease.url == new_url
    assert shared._entries[log_dir].server.data_server is data_server
    assert [e.kind for e in events] == ["restarted"]
    assert events[0].url == new_url
    assert scalar_steps(new_url, ".", "train/loss") == [0, 1, 2, 3, 4]


def test_an_unexpected_exit_is_reported_to_viewers(pool, log_dir):
    lease = pool().acquire(log_dir)
    events: list[ServerEvent] = []
    lease.subscribe(events.append)
    front_end = next(p for p in managed_processes() if "_launch.py" in " ".join(p.cmdline()))
    front_end.kill()
    wait_until(lambda: events, 10, "the exit event")
    assert events[0].kind == "exited"
    assert events[0].message == (
        f"TensorBoard for {log_dir} exited unexpectedly (exit code {-signal.SIGKILL})."
    )
    assert lease.url == ""
    lease.restart()
    assert scalar_steps(lease.url, ".", "train/loss") == [0, 1, 2, 3, 4]


def test_without_the_rust_data_server_the_python_loader_is_used_with_a_notice(
    pool, log_dir, monkeypatch
):
    monkeypatch.setenv("TENSORBOARD_DATA_SERVER_BINARY", "/nonexistent/server")
    lease = pool().acquire(log_dir)
    assert lease.notices == (
        "Fast loading is off: TENSORBOARD_DATA_SERVER_BINARY=/nonexistent/server is not an "
        "executable file; unset it or point it at a tensorboard-data-server binary. "
        "TensorBoard reads the logs with its slower loader.",
    )
    assert not lease.indexed
    tags_url = lease.url + "data/plugin/scalars/tags"
    wait_until(lambda: "train/loss" in str(get_json(tags_url)), 20, "the Python loader's tags")


def test_new_scalars_reach_the_server_within_the_reload_interval(pool, log_dir):
    lease = pool().acquire(log_dir)
    wait_until(lambda: scalar_steps(lease.url, ".", "train/loss")[-1] == 4, 10, "first data")
    write_scalars(log_dir, range(5, 8))
    wait_until(lambda: scalar_steps(lease.url, ".", "train/loss")[-1] == 7, 5, "new data")


def test_stop_is_sigterm_then_sigkill_each_step_logged(caplog):
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "sys.stderr.write('ready\\n'); sys.stderr.flush()\n"
        "time.sleep(60)\n"
    )
    lines: list[str] = []
    child = ChildProcess([sys.executable, "-c", script], name="stubborn", on_line=lines.append)
    wait_until(lambda: lines == ["ready\n"], 10, "the child to ignore SIGTERM")
    with caplog.at_level(logging.INFO, logger="gui_fastpath.tensorboard._process"):
        assert child.stop(grace=0.2) == -signal.SIGKILL
    pid = child.pid
    assert caplog.messages == [
        f"stopping stubborn (pid {pid}): SIGTERM to its process group",
        f"stubborn (pid {pid}) still running 0.2 s after SIGTERM: SIGKILL to its process group",
        f"stubborn (pid {pid}) stopped (exit code {-signal.SIGKILL})",
    ]


HOST_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from gui_fastpath.tensorboard import ServerOptions, TensorBoardPool

    pool = TensorBoardPool(ServerOptions(index_mode=sys.argv[1], keep_spare=True))
    for log_dir in sys.argv[2:]:
        pool.prewarm(log_dir)
        pool.acquire(log_dir)
    print("serving", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.parametrize("mode", ["eager", "off"])
def test_nothing_outlives_a_host_killed_with_sigkill(tmp_path, log_dir, mode):
    other_dir = tmp_path / "other" / "tensorboard"
    write_scalars(other_dir, range(2))
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, mode, str(log_dir), str(other_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert host.stdout is not None
        assert host.stdout.readline() == "serving\n"
        tree = psutil.Process(host.pid).children(recursive=True)
        names = [" ".join(p.cmdline()) for p in tree]
        assert sum("_launch.py" in n for n in names) >= 2, names  # two front ends (+ a spare)
        data_servers = sum("tensorboard_data_server" in n for n in names)
        assert data_servers == 2, names  # ours (eager) or TensorBoard's own (off)
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def test_cli_prints_the_url_first_and_leaves_nothing_running(log_dir):
    run_dir = log_dir.parent
    cli = subprocess.Popen(
        [sys.executable, "-m", "gui_fastpath", "tensorboard", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert cli.stdout is not None
    url = cli.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    wait_until(lambda: scalar_steps(url, ".", "train/loss") == [0, 1, 2, 3, 4], 10, "data")
    tree = psutil.Process(cli.pid).children(recursive=True)
    assert len(tree) == 2
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=20)
    assert cli.returncode == 0, err
    assert out == ""
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert not alive


def test_cli_explains_a_run_without_logs(tmp_path):
    run_dir = tmp_path / "01HRUN"
    run_dir.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "gui_fastpath", "tensorboard", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "gui-fastpath tensorboard: error: Worker did not emit TensorBoard logs; "
        "check `var/trainer/runs/01HRUN/stdout.log`.\n"
    )
