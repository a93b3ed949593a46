"""What maintenance never does: touch a running run, follow a symlink, leave the runs root."""

from __future__ import annotations

import json

import pytest

from _maintenance_support import (
    DAY,
    age_run,
    copy_root,
    start_live_run,
    stop_live_run,
    template_root,
    tree,
    wait_until_running,
)
from gui_fastpath.lifecycle import JournalLockedError, LifecycleJournal, read_lifecycle
from gui_fastpath.maintenance import (
    BadRootError,
    UnsafeTarget,
    claim_run,
    compress_logs,
    disk_usage,
    prune,
    run_status,
)
from gui_fastpath.maintenance.safety import checked_target

pytestmark = pytest.mark.timeout(60)
EVERYTHING = {"keep_checkpoints": 1, "runs_older_than": 0.0}


@pytest.fixture
def runs(tmp_path, tmp_path_factory):
    return copy_root(template_root(tmp_path_factory.mktemp("template")), tmp_path / "runs")


def test_a_live_supervised_run_is_never_touched(runs):
    live = start_live_run(runs, "live")
    try:
        run = runs / "live"
        wait_until_running(run, live)
        assert run_status(run).state == "running"
        states = {r.run_id: r.status.state for r in disk_usage(runs).runs}
        assert states["live"] == "running"
        checkpoints = set((run / "checkpoints").iterdir())
        far_future = read_lifecycle(run)[-1].timestamp + 100 * DAY
        pruned = prune(runs, **EVERYTHING, apply=True, now=far_future)
        compressed = compress_logs(runs, older_than=0, apply=True, now=far_future)
        for result in (pruned, compressed):
            assert not [a for a in result.actions if a.run_id == "live"]
            assert [s.reason for s in result.skipped if s.run_id == "live"] == [
                "running: a supervisor holds its lifecycle.jsonl"
            ]
        assert run.is_dir() and checkpoints <= set((run / "checkpoints").iterdir())
        assert (run / "logs" / "worker.stdout.log").exists()
        assert not list(run.rglob("*.gz"))
        assert live.poll() is None  # the worker went on undisturbed
    finally:
        stop_live_run(live)
    # Once the supervisor is gone the run is finished (CANCELLED) and may be pruned.
    status = run_status(runs / "live")
    assert (status.state, status.last_state) == ("finished", "CANCELLED")
    later = prune(runs, keep_checkpoints=1)
    assert [a for a in later.actions if a.run_id == "live"]


def test_a_held_journal_lock_protects_even_a_finished_run(runs):
    run = runs / "old-done"
    before = tree(run)
    with LifecycleJournal(run):  # what a supervisor starting on this run holds
        assert run_status(run).state == "running"
        for result in (
            prune(runs, **EVERYTHING, apply=True),
            compress_logs(runs, older_than=0, apply=True),
        ):
            assert not [a for a in result.actions if a.run_id == "old-done"]
            assert {s.run_id for s in result.skipped} >= {"old-done"}
    assert tree(run) == before


def test_maintenance_holds_the_lock_so_no_supervisor_starts_meanwhile(runs):
    with claim_run(runs / "old-done") as status:
        assert status.finished and status.last_state == "COMPLETED"
        with pytest.raises(JournalLockedError):
            LifecycleJournal(runs / "old-done").open()
    LifecycleJournal(runs / "old-done").open().close()  # released afterwards


def test_a_crashed_supervisor_leaves_the_run_unknown_and_untouched(runs):
    run = runs / "old-done"
    journal = run / "lifecycle.jsonl"
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    journal.write_text("".join(json.dumps(e) + "\n" for e in events[:-1]))  # no terminal event
    age_run(run, 1)
    status = run_status(run)
    assert status.state == "unknown" and status.last_state == "RUNNING"
    assert status.reason == (
        "state unknown: last lifecycle event is RUNNING but no supervisor holds the journal "
        "(did it crash?)"
    )
    before = tree(run)
    prune(runs, **EVERYTHING, apply=True)
    compress_logs(runs, older_than=0, apply=True)
    assert tree(run) == before


def test_a_symlinked_run_directory_is_refused(runs, tmp_path):
    outside = tmp_path / "outside"
    (runs / "old-done").rename(outside)
    (runs / "old-done").symlink_to(outside)
    before = tree(outside)
    for result in (
        prune(runs, **EVERYTHING, apply=True),
        compress_logs(runs, older_than=0, apply=True),
    ):
        assert ("old-done", "a symlink; maintenance never follows symlinks") in {
            (s.run_id, s.reason) for s in result.skipped
        }
        assert not [a for a in result.actions if a.run_id == "old-done"]
    assert tree(outside) == before and (runs / "old-done").is_symlink()


def test_symlinks_inside_a_run_are_never_deleted_or_followed(runs, tmp_path):
    run = runs / "new-done"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shared.log").write_bytes(b"x\n" * 10_000)
    (run / "logs" / "worker.stdout.log").unlink()
    (run / "logs" / "worker.stdout.log").symlink_to(outside / "shared.log")
    oldest = run / "checkpoints" / "qtable_step_500.npz"
    (run / "checkpoints" / "alias.npz").symlink_to(oldest.name)
    before = tree(outside)
    pruned = prune(runs, keep_checkpoints=1, apply=True)
    compressed = compress_logs(runs, older_than=0, apply=True)
    skips = {(s.path, s.reason) for s in (*pruned.skipped, *compressed.skipped)}
    assert (
        "new-done/checkpoints/alias.npz",
        "checkpoints/alias.npz is a symlink; maintenance never follows or deletes them",
    ) in skips
    assert (
        "new-done/logs/worker.stdout.log",
        "logs/worker.stdout.log is a symlink; maintenance never follows or deletes them",
    ) in skips
    assert (run / "checkpoints" / "alias.npz").is_symlink()
    assert tree(outside) == before


def test_a_symlinked_logs_folder_is_not_followed(runs, tmp_path):
    run = runs / "old-done"
    outside = tmp_path / "outside-logs"
    (run / "logs").rename(outside)
    (run / "logs").symlink_to(outside)
    before = tree(outside)
    result = compress_logs(runs, older_than=0, apply=True)
    assert ("old-done/logs", "logs is a symlink; not followed") in {
        (s.path, s.reason) for s in result.skipped
    }
    assert tree(outside) == before


@pytest.mark.parametrize(
    ("rel", "message"),
    [
        ("../old-failed/lifecycle.jsonl", "uses '..' to leave its directory"),
        ("/etc/passwd", "absolute path '/etc/passwd' is not allowed"),
        (".", "the run directory itself; refused"),
        ("logs/../../x", "uses '..' to leave its directory"),
    ],
)
def test_paths_escaping_the_run_are_refused(runs, rel, message):
    with pytest.raises(UnsafeTarget, match=message.replace("(", r"\(").replace(")", r"\)")):
        checked_target(runs / "old-done", rel)


def test_a_run_directory_is_not_a_runs_root(runs):
    with pytest.raises(BadRootError) as caught:
        prune(runs / "old-done", keep_checkpoints=1)
    assert str(caught.value) == (
        f"{runs / 'old-done'} is a run directory (it has lifecycle.jsonl), not a runs root; "
        f"give the runs root that holds it: {runs}"
    )


def test_a_journal_that_cannot_be_locked_is_left_alone(runs, monkeypatch):
    import fcntl

    real_flock = fcntl.flock

    def no_locks(fd, operation):
        if operation & (fcntl.LOCK_SH | fcntl.LOCK_EX):
            raise OSError(9, "Bad file descriptor")
        return real_flock(fd, operation)

    before = tree(runs / "old-done")
    monkeypatch.setattr("gui_fastpath.maintenance.run_state.fcntl.flock", no_locks)
    status = run_status(runs / "old-done")
    assert status.state == "unknown"
    assert status.reason.startswith("state unknown: lifecycle.jsonl cannot be locked (")
    result = prune(runs, **EVERYTHING, apply=True)
    assert not result.actions and not result.failed
    assert tree(runs / "old-done") == before
