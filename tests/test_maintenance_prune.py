"""``prune``: old checkpoints and old finished runs go; nothing else, and only with apply."""

from __future__ import annotations

import os

import pytest

from _maintenance_support import DAY, copy_root, template_root, tree
from gui_fastpath.maintenance import prune
from gui_fastpath.manifest import read_manifest, scan_run

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def runs(tmp_path, tmp_path_factory):
    return copy_root(template_root(tmp_path_factory.mktemp("template")), tmp_path / "runs")


def _removed(before: dict, after: dict) -> set[str]:
    return set(before) - set(after)


def _changed(before: dict, after: dict) -> set[str]:
    return {p for p in set(before) & set(after) if before[p] != after[p]}


def test_dry_run_changes_nothing(runs):
    before = tree(runs)
    result = prune(runs, keep_checkpoints=1, runs_older_than=30 * DAY)
    assert not result.applied and result.actions
    assert tree(runs) == before


def test_keeps_the_newest_checkpoints_of_finished_runs_only(runs):
    dry = prune(runs, keep_checkpoints=2)
    planned = {a.path for a in dry.actions}
    assert planned == {
        f"{run}/checkpoints/qtable_step_{step}.npz"
        for run in ("old-done", "new-done", "old-unsynced", "old-synced")
        for step in (500, 1000)
    }  # old-failed has only 2; no-journal is not known to be finished
    assert {(s.run_id, s.reason) for s in dry.skipped} == {
        ("no-journal", "state unknown: no lifecycle.jsonl (not run by a supervisor)")
    }
    assert all(a.op == "delete_checkpoint" for a in dry.actions)
    assert all(a.reason == "only the newest 2 of 4 checkpoints are kept" for a in dry.actions)


def test_apply_does_exactly_what_the_dry_run_said(runs):
    dry = prune(runs, keep_checkpoints=1, runs_older_than=30 * DAY)
    before = tree(runs)
    applied = prune(runs, keep_checkpoints=1, runs_older_than=30 * DAY, apply=True)
    after = tree(runs)
    assert applied.applied and not applied.failed
    assert [a.planned for a in applied.actions] == [a.planned for a in dry.actions]
    assert applied.skipped == dry.skipped
    deleted_runs = {a.path for a in applied.actions if a.op == "delete_run"}
    assert deleted_runs == {"old-done", "old-failed", "old-synced"}
    deleted_files = {a.path for a in applied.actions if a.op == "delete_checkpoint"}
    assert deleted_files == {
        "new-done/checkpoints/qtable_step_500.npz",
        "new-done/checkpoints/qtable_step_1000.npz",
        "new-done/checkpoints/qtable_step_1500.npz",
        "old-unsynced/checkpoints/qtable_step_500.npz",
        "old-unsynced/checkpoints/qtable_step_1000.npz",
        "old-unsynced/checkpoints/qtable_step_1500.npz",
    }
    expected_gone = deleted_files | {p for p in before if p.split("/", 1)[0] in deleted_runs}
    assert _removed(before, after) == expected_gone
    assert not set(after) - set(before)  # nothing new: no leftover hidden folders
    # Besides the deletions only the refreshed manifests (and their folders) changed.
    assert _changed(before, after) == {
        "new-done",
        "new-done/checkpoints",
        "new-done/artifacts.json",
        "old-unsynced",
        "old-unsynced/checkpoints",
        "old-unsynced/artifacts.json",
    }
    for run in ("new-done", "old-unsynced"):
        manifest = read_manifest(runs / run)
        assert manifest is not None and manifest.same_content(scan_run(runs / run))
        assert [c.path for c in manifest.checkpoints] == ["checkpoints/qtable_step_2000.npz"]
    assert {(r.run_id, r.changes) for r in applied.refreshed} == {
        ("new-done", ("checkpoints",)),
        ("old-unsynced", ("checkpoints",)),
    }


def test_unsynced_wandb_keeps_a_run_unless_asked(runs):
    result = prune(runs, runs_older_than=30 * DAY)
    assert "old-unsynced" not in {a.path for a in result.actions}
    skip = next(s for s in result.skipped if s.run_id == "old-unsynced")
    assert skip.reason == (
        "run kept, its offline W&B run sync0002 is not synced; sync it first "
        f"(gui-fastpath wandb sync {runs / 'old-unsynced'}), or pass --include-unsynced-wandb "
        "to delete it anyway"
    )
    assert "old-synced" in {a.path for a in result.actions}
    forced = prune(runs, runs_older_than=30 * DAY, include_unsynced_wandb=True, apply=True)
    action = next(a for a in forced.actions if a.path == "old-unsynced")
    assert action.reason.endswith("; unsynced offline W&B run sync0002 deleted as asked")
    assert not (runs / "old-unsynced").exists()


def test_young_runs_and_the_only_checkpoint_stay(runs):
    result = prune(runs, keep_checkpoints=1, runs_older_than=41 * DAY, apply=True)
    assert not [a for a in result.actions if a.op == "delete_run"]
    for run in ("old-done", "old-failed", "new-done"):
        assert [p.name for p in (runs / run / "checkpoints").iterdir()] == [
            "qtable_step_2000.npz" if run != "old-failed" else "qtable_step_1000.npz"
        ]
    with pytest.raises(ValueError, match="keep_checkpoints must be 1 or more, not 0"):
        prune(runs, keep_checkpoints=0)
    with pytest.raises(ValueError, match="nothing to prune"):
        prune(runs)


def test_directory_checkpoints_are_deleted_whole(runs):
    run = runs / "new-done"
    for step, when in ((100, 1.0), (200, 2.0)):
        orbax = run / "checkpoints" / str(step)
        (orbax / "default").mkdir(parents=True)
        (orbax / "_CHECKPOINT_METADATA").write_text("{}")
        (orbax / "default" / "data").write_bytes(b"x" * 100)
        for p in (
            orbax / "default" / "data",
            orbax / "_CHECKPOINT_METADATA",
            orbax / "default",
            orbax,
        ):
            os.utime(p, (when, when))
    result = prune(runs, keep_checkpoints=4, apply=True)
    paths = {a.path for a in result.actions if a.path.startswith("new-done/")}
    assert paths == {"new-done/checkpoints/100", "new-done/checkpoints/200"}
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        f"qtable_step_{s}.npz" for s in (1000, 1500, 2000, 500)
    ]
