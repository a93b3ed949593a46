"""``disk_usage`` / ``gui-fastpath du``: by category and by run, with state and age."""

from __future__ import annotations

import pytest

from _maintenance_support import DAY, copy_root, template_root
from gui_fastpath.maintenance import CATEGORIES, BadRootError, disk_usage, run_usage
from gui_fastpath.tensorboard.archive import archive_events

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def runs(tmp_path, tmp_path_factory):
    return copy_root(template_root(tmp_path_factory.mktemp("template")), tmp_path / "runs")


def _files(run_dir, pattern):
    return [p for p in run_dir.glob(pattern) if p.is_file()]


def test_every_byte_is_counted_once_in_one_category(runs):
    report = disk_usage(runs)
    sizes = [run.size for run in report.runs]
    assert sizes == sorted(sizes, reverse=True)
    for run in report.runs:
        on_disk = [p for p in run.path.rglob("*") if p.is_file() or p.is_symlink()]
        assert run.files == len(on_disk)
        assert run.size == sum(p.lstat().st_size for p in on_disk)
    assert report.size == sum(run.size for run in report.runs)
    assert set(report.categories) == set(CATEGORIES)


def test_categories_follow_the_manifest_rules(runs):
    usage = run_usage(runs / "old-unsynced")
    cats = usage.categories
    ckpts = _files(runs / "old-unsynced", "checkpoints/*.npz")
    assert cats["checkpoints"].files == len(ckpts) == 4
    assert cats["checkpoints"].size == sum(p.stat().st_size for p in ckpts)
    events = _files(runs / "old-unsynced", "tensorboard/**/events.out.tfevents.*")
    assert cats["tensorboard"].size == sum(p.stat().st_size for p in events)
    wandb = _files(runs / "old-unsynced", "wandb/**/*")
    assert cats["wandb_offline"].size == sum(p.stat().st_size for p in wandb)
    assert cats["wandb_synced"].size == 0
    logs = _files(runs / "old-unsynced", "logs/*")
    assert cats["logs"].size == sum(p.stat().st_size for p in logs) > 0
    synced = run_usage(runs / "old-synced").categories
    assert synced["wandb_synced"].files == 2 and synced["wandb_offline"].files == 0


def test_archived_events_are_their_own_category(runs):
    run = runs / "new-done"
    before = run_usage(run).categories["tensorboard"]
    result = archive_events(run, keep_latest=0)
    assert result.moves
    after = run_usage(run).categories
    assert after["tensorboard"].size == 0
    assert after["archived_events"].size >= before.size  # plus the archive index


def test_state_and_age_of_each_run(runs):
    report = disk_usage(runs)
    now = report.generated_at
    by_id = {r.run_id: r for r in report.runs}
    assert by_id["old-done"].status.state == "finished"
    assert by_id["old-done"].status.last_state == "COMPLETED"
    assert by_id["old-failed"].status.last_state == "FAILED"
    assert 40 * DAY <= by_id["old-done"].age(now) < 40 * DAY + 600
    assert by_id["new-done"].age(now) < 600
    unknown = by_id["no-journal"]
    assert unknown.status.state == "unknown"
    assert unknown.status.reason == "state unknown: no lifecycle.jsonl (not run by a supervisor)"
    assert unknown.age(now) == pytest.approx(now - unknown.last_modified)
    assert 40 * DAY <= unknown.age(now) < 40 * DAY + 600


def test_single_run_report_and_text(runs):
    report = disk_usage(runs / "old-done")
    assert report.single_run and [r.run_id for r in report.runs] == ["old-done"]
    text = report.describe()
    assert text[0].startswith(f"run {runs / 'old-done'}: finished: COMPLETED, 40 d ago; ")
    assert text[2].split() == ["category", "size", "files"]
    root_text = disk_usage(runs).describe()
    assert root_text[0].startswith(f"runs root {runs}: 6 runs (5 finished, 0 running, 1 unknown); ")
    assert any(line.split()[:3] == ["old-failed", "finished", "40"] for line in root_text)


def test_symlinked_run_is_not_counted(runs, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "big").mkdir(parents=True)
    (outside / "big" / "data.pt").write_bytes(b"x" * 5000)
    (runs / "linked").symlink_to(outside / "big")
    report = disk_usage(runs)
    assert "linked" not in [r.run_id for r in report.runs]
    assert report.refused == (("linked", "a symlink; maintenance never follows symlinks"),)


def test_a_run_written_without_supervisor_or_manifest_is_still_one_run(runs):
    run = runs / "no-journal"
    (run / "artifacts.json").unlink()
    report = disk_usage(run)
    assert report.single_run and report.runs[0].status.state == "unknown"


def test_bad_roots_are_one_line_errors(tmp_path):
    with pytest.raises(BadRootError, match=r"^runs root or run not found: .*nope$"):
        disk_usage(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadRootError, match=r"^runs root or run is not a directory: "):
        disk_usage(tmp_path / "file")
