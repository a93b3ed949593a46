"""The polling mode's per-run tree signatures and budgeted sweeps, on a real file system."""

import os
import shutil

import pytest

from gui_fastpath.watch._polling import HOT_SECONDS, RunsPoller, list_runs, tree_signature


def _run(root, run_id, *files):
    for rel in files or ("tensorboard/events.out.tfevents.1.h",):
        path = root / run_id / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return root / run_id


def test_list_runs_skips_hidden_entries_and_files(tmp_path):
    _run(tmp_path, "a")
    _run(tmp_path, ".staging")
    (tmp_path / "README").write_text("not a run")
    assert list_runs(str(tmp_path)) == {"a"}


def test_tree_signature_follows_size_and_new_files_but_not_our_manifest(tmp_path):
    run = _run(tmp_path, "a")
    first = tree_signature(str(run))
    (run / "artifacts.json").write_text("{}")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "ckpt.pt.tmp").write_bytes(b"partial")
    assert tree_signature(str(run)) != first  # the new directory counts
    before = tree_signature(str(run))
    (run / "artifacts.json").write_text('{"rewritten": true}')
    (run / "checkpoints" / "ckpt.pt.tmp").write_bytes(b"still partial")
    assert tree_signature(str(run)) == before
    with open(run / "tensorboard" / "events.out.tfevents.1.h", "ab") as f:
        f.write(b"more")
    assert tree_signature(str(run)) != before


def test_tree_signature_ignores_appends_to_logs_but_not_new_logs(tmp_path):
    run = _run(tmp_path, "a", "logs/w.stdout.log")
    before = tree_signature(str(run))
    with open(run / "logs" / "w.stdout.log", "a") as f:
        f.write("step 1\n")
    assert tree_signature(str(run)) == before
    (run / "logs" / "w.stderr.log").write_text("")
    assert tree_signature(str(run)) != before


def test_tree_signature_of_a_missing_run_is_none(tmp_path):
    assert tree_signature(str(tmp_path / "gone")) is None


def test_tick_reports_new_removed_and_changed_runs(tmp_path):
    _run(tmp_path, "a")
    b = _run(tmp_path, "b")
    poller = RunsPoller(str(tmp_path), budget_s=1.0)
    assert poller.baseline() == {"a", "b"}
    assert poller.tick().changed == frozenset()

    _run(tmp_path, "c")
    shutil.rmtree(tmp_path / "a")
    (b / "checkpoints").mkdir()
    result = poller.tick()
    assert result.root_ok
    assert result.changed == {"a", "b", "c"}
    assert poller.runs == {"b", "c"}
    assert poller.tick().changed == frozenset()


def test_cold_runs_are_swept_round_robin_within_the_budget(tmp_path):
    for name in "abcd":
        _run(tmp_path, name)
    poller = RunsPoller(str(tmp_path), budget_s=0.0)  # one cold run per tick
    poller.baseline()
    with open(tmp_path / "c" / "tensorboard" / "events.out.tfevents.1.h", "ab") as f:
        f.write(b"more")
    seen = [poller.tick().changed for _ in range(4)]
    assert seen == [frozenset(), frozenset(), {"c"}, frozenset()]


def test_a_changed_run_stays_hot_and_is_walked_every_tick(tmp_path, monkeypatch):
    for name in "abcd":
        _run(tmp_path, name)
    poller = RunsPoller(str(tmp_path), budget_s=0.0)
    poller.baseline()
    event_file = tmp_path / "a" / "tensorboard" / "events.out.tfevents.1.h"
    with open(event_file, "ab") as f:
        f.write(b"1")
    assert poller.tick().changed == {"a"}  # the cursor starts at "a"
    for size in range(2, 6):  # from now on "a" is seen on every tick
        with open(event_file, "ab") as f:
            f.write(b"1")
        assert poller.tick().changed == {"a"}, size

    clock = [0.0]
    monkeypatch.setattr("gui_fastpath.watch._polling.time.monotonic", lambda: clock[0])
    poller = RunsPoller(str(tmp_path), budget_s=0.0)
    poller.baseline()
    with open(event_file, "ab") as f:
        f.write(b"1")
    assert poller.tick().changed == {"a"}
    clock[0] = HOT_SECONDS + 1  # a minute later "a" is cold again: one cold run per tick
    with open(event_file, "ab") as f:
        f.write(b"1")
    assert [poller.tick().changed for _ in range(4)].count({"a"}) == 1


def test_tick_notices_the_root_being_replaced(tmp_path):
    root = tmp_path / "runs"
    _run(root, "a")
    poller = RunsPoller(str(root), budget_s=1.0)
    poller.baseline()
    shutil.rmtree(root)
    assert not poller.tick().root_ok
    root.mkdir()  # a new directory, though the file system may reuse the inode number
    result = poller.tick()
    assert not result.root_ok or result.changed == {"a"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads anything")
def test_unreadable_run_has_a_stable_signature(tmp_path):
    run = _run(tmp_path, "a")
    (run / "tensorboard").chmod(0)
    try:
        assert tree_signature(str(run)) == tree_signature(str(run))
    finally:
        (run / "tensorboard").chmod(0o755)
