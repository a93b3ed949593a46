"""wandb sync: reachability check, time limit, process-group stop, persistent queue, retries."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from gui_fastpath.wandb.credentials import Credentials, CredentialStore
from gui_fastpath.wandb.sync import (
    SyncError,
    SyncJob,
    SyncOptions,
    find_sync_folder,
    is_synced,
    retry_due,
)
from gui_fastpath.wandb.sync_queue import SyncQueue, backoff_delay, default_queue_path
from wandb_support import (
    FAKE_WANDB,
    HangingServer,
    closed_port,
    copy_run,
    private_home,
    write_offline_run,
)

KEY = "fakekey0" * 5 + "sync"


@pytest.fixture(scope="session")
def written_run(tmp_path_factory) -> Path:
    """A finished offline run written once by the real wandb; tests work on copies."""
    run_dir = tmp_path_factory.mktemp("wandb-sync-source") / "run"
    write_offline_run(run_dir, steps=10)
    return run_dir


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    return private_home(tmp_path, monkeypatch)


@pytest.fixture
def folder(written_run, tmp_path, home) -> Path:
    return copy_run(written_run, tmp_path / "run")


@pytest.fixture
def queue(home) -> SyncQueue:
    return SyncQueue(redact=lambda text: text.replace(KEY, "[redacted]"))


@pytest.fixture
def fake_wandb(tmp_path, monkeypatch):
    """Options whose ``wandb`` is the stand-in above; set the mode with the returned setter."""
    script = tmp_path / "fake_wandb.py"
    script.write_text(FAKE_WANDB)

    def options(mode: str, **kwargs: float) -> SyncOptions:
        monkeypatch.setenv("FAKE_WANDB_MODE", mode)
        return SyncOptions(wandb_command=(sys.executable, str(script)), **kwargs)

    return options


def credentials(url: str) -> Credentials:
    return Credentials(url, "session", KEY)


def no_children_left() -> bool:
    """No child process runs but the session's QtWebEngineProcess (see conftest)."""
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "QtWebEngineProcess" not in p.name():
                return False
        except psutil.NoSuchProcess:
            continue
    return True


# ---- the real wandb against servers that are down ------------------------------------------


@pytest.mark.timeout(30)
async def test_closed_port_is_reported_unreachable_and_queued_without_starting_wandb(folder, queue):
    url = f"http://127.0.0.1:{closed_port()}"
    lines: list[str] = []
    result = await SyncJob(folder, credentials(url), queue=queue, on_line=lines.append).run()

    assert result.outcome == "unreachable"
    assert result.queued
    assert result.message.startswith(
        f"The W&B server {url} is not reachable (connection refused). The run is queued"
    )
    assert not any(line.startswith("Running: wandb sync") for line in lines)
    entry = queue.get(folder)
    assert entry is not None
    assert (entry.attempts, entry.base_url, entry.run_id) == (1, url, folder.name[-8:])
    assert not is_synced(folder)


@pytest.mark.timeout(30)
async def test_server_that_never_answers_fails_the_reachability_check_in_time(folder, queue):
    async with HangingServer(answer_root=False) as server:
        options = SyncOptions(reach_timeout=0.5)
        started = time.monotonic()
        result = await SyncJob(folder, credentials(server.url), queue=queue, options=options).run()

    assert time.monotonic() - started < 2.0
    assert result.outcome == "unreachable"
    assert "(no answer within 0.5 s)" in result.message
    assert result.queued


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_real_wandb_sync_that_hangs_is_stopped_at_its_time_limit_and_queued(
    folder, queue, home
):
    async with HangingServer(answer_root=True) as server:
        lines: list[str] = []
        options = SyncOptions(timeout=6.0, grace=2.0)
        started = time.monotonic()
        job = SyncJob(folder, credentials(server.url), queue=queue, options=options)
        job._on_line = lines.append
        result = await job.run()
        elapsed = time.monotonic() - started

    assert result.outcome == "timed_out"
    assert elapsed < options.timeout + options.grace + 1.0
    assert result.message.startswith("wandb sync did not finish within 6 s and was stopped (")
    assert "The run is queued and will be retried in 30 s or later" in result.message
    assert server.hits >= 2  # the check, then wandb itself
    assert any(line.startswith("wandb: Syncing 1 run(s)") for line in lines)
    assert any("SIGTERM to process group" in line for line in lines)
    assert queue.get(folder) is not None
    assert not is_synced(folder)
    assert not any(KEY in line for line in lines)
    assert KEY not in queue.path.read_text()
    # wandb's service runs in its own session: it must be gone too (conftest checks again)
    deadline = time.monotonic() + 5
    while not no_children_left() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert no_children_left()


# ---- the subprocess seam: success, failure, cancel, SIGKILL ---------------------------------


@pytest.mark.timeout(30)
async def test_success_marks_the_run_synced_and_removes_it_from_the_queue(
    folder, queue, fake_wandb
):
    url = "http://127.0.0.1:1"
    queue.record_failure(folder, base_url=url, run_id="x", error="earlier failure")
    lines: list[str] = []
    async with HangingServer(answer_root=True) as server:
        job = SyncJob(
            folder,
            credentials(server.url),
            queue=queue,
            options=fake_wandb("ok"),
            on_line=lines.append,
        )
        result = await job.run()

    assert result.outcome == "synced", result.message
    assert result.ok and not result.queued and result.exit_code == 0
    assert result.message == f"Synced {folder.name} to {server.url}."
    assert is_synced(folder)
    assert queue.get(folder) is None
    assert f"wandb: uploading to {server.url} with key [redacted]" in lines
    assert [line for line in lines if "files uploaded" in line] == [
        "wandb: 3 of 5 files uploaded",
        "wandb: 5 of 5 files uploaded",
    ]


@pytest.mark.timeout(30)
async def test_already_synced_run_is_not_uploaded_again(folder, queue, fake_wandb):
    for log in folder.glob("*.wandb"):
        log.with_name(log.name + ".synced").touch()
    result = await SyncJob(
        folder, credentials("http://127.0.0.1:1"), queue=queue, options=fake_wandb("exit-1")
    ).run()
    assert (result.outcome, result.message) == ("already_synced", "This run was already synced.")


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("no-marker", "wandb: 5 of 5 files uploaded"),
        ("exit-1", "wandb: ERROR permission denied for entity 'someone'"),
    ],
)
@pytest.mark.timeout(30)
async def test_failed_sync_names_the_cause_and_is_queued(folder, queue, fake_wandb, mode, detail):
    async with HangingServer(answer_root=True) as server:
        result = await SyncJob(
            folder, credentials(server.url), queue=queue, options=fake_wandb(mode)
        ).run()

    code = 0 if mode == "no-marker" else 1
    assert result.outcome == "failed"
    assert result.message.startswith(
        f"wandb sync exited with code {code} without marking the run synced: {detail}. "
        "The run is queued"
    )
    assert queue.get(folder).attempts == 1


@pytest.mark.timeout(30)
async def test_cancel_from_another_thread_stops_the_process_group_and_keeps_queue_state(
    folder, queue, fake_wandb
):
    async with HangingServer(answer_root=True) as server:
        started = threading.Event()
        job = SyncJob(
            folder,
            credentials(server.url),
            queue=queue,
            options=fake_wandb("block"),
            on_line=lambda line: "files uploaded" in line and started.set(),
        )
        task = asyncio.ensure_future(job.run())
        await asyncio.to_thread(started.wait, 20)
        await asyncio.to_thread(job.cancel)
        result = await task

    assert result.outcome == "cancelled"
    assert result.message == "Sync cancelled; the run was not uploaded."
    assert not result.queued
    assert result.exit_code == -15
    assert no_children_left()


@pytest.mark.timeout(30)
async def test_cancel_during_the_reachability_check_returns_at_once(folder, queue):
    queue.record_failure(folder, base_url="http://x", run_id="x", error="before")
    async with HangingServer(answer_root=False) as server:
        job = SyncJob(folder, credentials(server.url), queue=queue)
        task = asyncio.ensure_future(job.run())
        while server.hits == 0:
            await asyncio.sleep(0.01)
        job.cancel()
        result = await asyncio.wait_for(task, 2)
    assert result.outcome == "cancelled"
    assert result.message == "Sync cancelled; the run was not uploaded. It stays in the sync queue."
    assert result.queued


@pytest.mark.timeout(30)
async def test_a_child_ignoring_sigterm_is_killed_after_the_grace(folder, queue, fake_wandb):
    lines: list[str] = []
    async with HangingServer(answer_root=True) as server:
        job = SyncJob(
            folder,
            credentials(server.url),
            queue=queue,
            options=fake_wandb("stubborn", timeout=2.0, grace=0.5),
            on_line=lines.append,
        )
        result = await job.run()
    assert result.outcome == "timed_out"
    assert result.exit_code == -9
    assert "wandb sync still running after 0.5 s: SIGKILL to process group" in lines[-2]
    assert result.message.startswith(
        "wandb sync did not finish within 2 s and was stopped "
        "(last output: wandb: ignoring SIGTERM)."
    )


@pytest.mark.timeout(30)
async def test_a_second_sync_of_the_same_run_is_refused_while_one_runs(folder, fake_wandb):
    async with HangingServer(answer_root=True) as server:
        started = threading.Event()
        first = SyncJob(
            folder,
            credentials(server.url),
            options=fake_wandb("block"),
            on_line=lambda line: "files uploaded" in line and started.set(),
        )
        task = asyncio.ensure_future(first.run())
        await asyncio.to_thread(started.wait, 20)
        second = await SyncJob(folder, credentials(server.url)).run()
        first.cancel()
        await task
    assert (second.outcome, second.message) == ("busy", "This run is already being synced.")


def test_run_blocking_works_from_a_worker_thread(folder, queue):
    url = f"http://127.0.0.1:{closed_port()}"
    job = SyncJob(folder, credentials(url), queue=queue)
    results = []
    worker = threading.Thread(target=lambda: results.append(job.run_blocking()))
    worker.start()
    worker.join(20)
    assert results[0].outcome == "unreachable"


def test_a_folder_without_a_transaction_log_is_refused_with_the_fix(tmp_path):
    with pytest.raises(SyncError) as caught:
        find_sync_folder(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: no run-<id>.wandb file here; pass the offline-run-* folder under the "
        "run's wandb/ directory."
    )


def test_the_transaction_log_itself_names_its_folder(folder):
    assert find_sync_folder(next(folder.glob("*.wandb"))) == folder


# ---- the queue -------------------------------------------------------------------------------


def test_queue_lives_in_the_state_dir_and_the_override_wins(home, monkeypatch, tmp_path):
    assert default_queue_path() == home / "state" / "gui_fastpath" / "sync-queue.json"
    monkeypatch.setenv("GUI_FASTPATH_SYNC_QUEUE", str(tmp_path / "q.json"))
    assert default_queue_path() == tmp_path / "q.json"


def test_queue_survives_a_restart_and_backs_off_exponentially(folder, home):
    first = SyncQueue()
    now = 1_000_000.0
    entries = [
        first.record_failure(
            folder, base_url="https://u:p@host:8080/", run_id="r", error="e", now=now
        )
        for _ in range(3)
    ]
    assert [e.next_attempt_at - now for e in entries] == [30.0, 60.0, 120.0]
    assert backoff_delay(20) == 3600.0

    restarted = SyncQueue()
    (entry,) = restarted.entries()
    assert (entry.folder, entry.base_url, entry.attempts, entry.queued_at) == (
        str(folder),
        "https://host:8080",
        3,
        now,
    )
    assert restarted.due(now + 119) == ()
    assert restarted.due(now + 120) == (entry,)
    assert stat.S_IMODE(restarted.path.stat().st_mode) == 0o600
    assert restarted.remove(folder) and not restarted.remove(folder)
    assert SyncQueue().entries() == ()


def test_queue_never_stores_the_key(folder, home):
    store = CredentialStore(environ={})
    store.remember("http://h", KEY)
    q = SyncQueue(redact=store.redact)
    q.record_failure(folder, base_url=f"http://api:{KEY}@h", run_id="r", error=f"401 for {KEY}")
    text = q.path.read_text()
    assert KEY not in text
    assert json.loads(text)["entries"][0]["last_error"] == "401 for [redacted]"


def test_an_unreadable_queue_file_is_moved_aside_not_overwritten(home, folder):
    q = SyncQueue()
    q.path.parent.mkdir(parents=True)
    q.path.write_text('{"version": 1, "entries": [{"folder": 3}]}')
    assert q.entries() == ()
    (aside,) = q.path.parent.glob("sync-queue.json.unreadable-*")
    assert aside.read_text() == '{"version": 1, "entries": [{"folder": 3}]}'
    (problem,) = q.problems
    assert problem.startswith(f"{q.path}: not a sync queue (")
    assert problem.endswith(
        f"moved to {aside.name}. Runs listed in it are no longer retried: sync them again "
        "from their W&B tab."
    )
    q.record_failure(folder, base_url="http://h", run_id="r", error="e")
    assert len(SyncQueue().entries()) == 1


@pytest.mark.timeout(30)
async def test_retry_due_syncs_due_runs_with_known_credentials_only(
    folder, queue, fake_wandb, tmp_path, written_run
):
    other = copy_run(written_run, tmp_path / "other")
    gone = tmp_path / "gone"
    async with HangingServer(answer_root=True) as server:
        store = CredentialStore(environ={})
        now = time.time()
        queue.record_failure(folder, base_url=server.url, run_id="a", error="e", now=now - 100)
        queue.record_failure(
            other, base_url="http://127.0.0.1:2", run_id="b", error="e", now=now - 100
        )
        gone.mkdir()
        queue.record_failure(gone, base_url=server.url, run_id="c", error="e", now=now - 100)
        gone.rmdir()

        assert await retry_due(queue, store, options=fake_wandb("ok")) == []  # no key yet
        store.remember(server.url, KEY)
        results = await retry_due(queue, store, options=fake_wandb("ok"))

    assert [(r.folder, r.outcome) for r in results] == [(folder, "synced")]
    assert [e.folder for e in queue.entries()] == [str(other)]  # no key for its server


@pytest.mark.timeout(30)
async def test_sync_run_from_the_package(folder, queue):
    from gui_fastpath import wandb as gw

    url = f"http://127.0.0.1:{closed_port()}"
    result = await gw.sync_run(folder, gw.Credentials(url, "session", KEY), queue=queue)
    assert (result.outcome, result.queued) == ("unreachable", True)
    assert isinstance(queue, gw.SyncQueue)
