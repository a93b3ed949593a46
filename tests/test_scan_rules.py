"""scan_run's rules, each on a small synthetic run directory."""

from __future__ import annotations

import json
import os
import time

import pytest

from _manifest_support import assert_paths_inside
from gui_fastpath.manifest import RunDirError, scan_run, scanner
from gui_fastpath.manifest.steps import parse_step

pytestmark = pytest.mark.timeout(30)


def _files(root, *paths, content=b"x"):
    for rel in paths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def _hint(run, data, name="artifacts_manifest.json"):
    (run / name).write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("stem", "step"),
    [
        ("ckpt_500k", 500_000),
        ("step_1000", 1000),
        ("checkpoint-2000", 2000),
        ("3000", 3000),
        ("model_1000", 1000),
        ("rl_model_10000_steps", 10_000),
        ("epoch=3-step=1000", 1000),
        ("ckpt_1.5M", 1_500_000),
        ("global_step_42", 42),
        ("epoch_3", None),
        ("model_final", None),
        ("best", None),
        ("policy_v2", None),
    ],
)
def test_step_from_name(stem, step):
    assert parse_step(stem) == step


def test_event_files_at_any_depth_under_tensorboard(tmp_path):
    run = _files(
        tmp_path / "r",
        "tensorboard/events.out.tfevents.1.h",
        "tensorboard/ppo/seed_1/events.out.tfevents.2.h",
        "tensorboard/ppo/seed_1/events.out.tfevents.3.h",
        "tensorboard/notes.txt",
    )
    m = scan_run(run)
    assert m.tensorboard is not None
    assert [(e.run, e.path) for e in m.tensorboard.event_files] == [
        (".", "tensorboard/events.out.tfevents.1.h"),
        ("ppo/seed_1", "tensorboard/ppo/seed_1/events.out.tfevents.2.h"),
        ("ppo/seed_1", "tensorboard/ppo/seed_1/events.out.tfevents.3.h"),
    ]


def test_empty_tensorboard_dir_is_still_the_log_dir(tmp_path):
    (tmp_path / "r" / "tensorboard").mkdir(parents=True)
    m = scan_run(tmp_path / "r")
    assert m.tensorboard is not None
    assert (m.tensorboard.log_dir, m.tensorboard.event_files) == ("tensorboard", ())


def test_hinted_log_dir_not_written_yet(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    _hint(run, {"tensorboard_dir": "./tb//"})
    m = scan_run(run)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "tb"
    assert m.warnings == ()


def test_event_files_outside_the_hinted_log_dir_are_a_warning(tmp_path):
    run = _files(tmp_path / "r", "tb/events.out.tfevents.1.h", "other/events.out.tfevents.2.h")
    _hint(run, {"tensorboard_dir": "tb"})
    m = scan_run(run)
    assert m.tensorboard is not None
    assert [e.path for e in m.tensorboard.event_files] == ["tb/events.out.tfevents.1.h"]
    [warning] = m.warnings
    assert (warning.source, warning.field) == ("artifacts_manifest.json", "$.tensorboard_dir")
    assert "'other/events.out.tfevents.2.h'" in warning.problem


def test_archived_and_hidden_folders_are_not_scanned(tmp_path):
    run = _files(
        tmp_path / "r",
        "tensorboard/events.out.tfevents.2.h",
        "archive/tensorboard/events.out.tfevents.1.h",
        ".cache/events.out.tfevents.0.h",
        "tensorboard/.ipynb_checkpoints/events.out.tfevents.0.h",
    )
    m = scan_run(run)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "tensorboard"
    assert [e.path for e in m.tensorboard.event_files] == ["tensorboard/events.out.tfevents.2.h"]


def _wandb_folder(root, folder, run_id, *, synced=False):
    path = root / folder
    path.mkdir(parents=True)
    (path / f"run-{run_id}.wandb").write_bytes(b"w")
    if synced:
        (path / f"run-{run_id}.wandb.synced").write_bytes(b"")
    (path / "files").mkdir()
    return path


def test_wandb_online_and_offline_folders_at_both_depths(tmp_path):
    run = tmp_path / "r"
    _wandb_folder(run, "wandb/run-20250101_120000-onl1", "onl1")
    _wandb_folder(run, "wandb/wandb/offline-run-20250102_120000-off1", "off1", synced=True)
    _wandb_folder(run, "wandb/wandb/offline-run-20250103_120000-off2", "off2")
    os.symlink("offline-run-20250103_120000-off2", run / "wandb/wandb/latest-run")
    _hint(run, {"wandb_run_id": "team/proj/onl1"})
    m = scan_run(run)
    assert [(w.run_id, w.mode, w.synced) for w in m.wandb] == [
        ("off2", "offline", False),
        ("off1", "offline", True),
        ("onl1", "online", True),
    ]
    online = m.wandb[2]
    assert (online.entity, online.project) == ("team", "proj")
    assert online.url == "https://wandb.ai/team/proj/runs/onl1"
    assert online.wandb_file == "wandb/run-20250101_120000-onl1/run-onl1.wandb"
    assert m.warnings == ()


def test_latest_run_copied_as_a_folder_is_read_once(tmp_path):
    run = tmp_path / "r"
    _wandb_folder(run, "wandb/offline-run-20250101_120000-abc", "abc")
    _wandb_folder(run, "wandb/latest-run", "abc")  # rsync -L / cp -rL turned the link into a copy
    _wandb_folder(run, "wandb/wandb/latest-run", "only")  # the only copy of this one
    m = scan_run(run)
    assert sorted((w.run_id, w.directory) for w in m.wandb) == [
        ("abc", "wandb/offline-run-20250101_120000-abc"),
        ("only", "wandb/wandb/latest-run"),
    ]


def test_wandb_folder_and_file_disagree(tmp_path):
    run = tmp_path / "r"
    _wandb_folder(run, "wandb/offline-run-20250101_120000-aaa", "bbb")
    m = scan_run(run)
    [w] = m.wandb
    assert w.run_id == "aaa"
    [warning] = m.warnings
    assert warning.source == "wandb/offline-run-20250101_120000-aaa"
    assert "holds run-bbb.wandb" in warning.problem


def test_a_run_resumed_within_the_same_second_keeps_its_id(tmp_path):
    """wandb names the second folder ``...-<id>-1`` and keeps ``run-<id>.wandb`` inside."""
    run = tmp_path / "r"
    _wandb_folder(run, "wandb/offline-run-20250101_120000-ab-7", "ab-7")  # an id with "-7"
    _wandb_folder(run, "wandb/offline-run-20250101_120001-res1", "res1")
    _wandb_folder(run, "wandb/offline-run-20250101_120001-res1-1", "res1")
    m = scan_run(run)
    assert sorted((w.run_id, w.directory.rsplit("/", 1)[1]) for w in m.wandb) == [
        ("ab-7", "offline-run-20250101_120000-ab-7"),
        ("res1", "offline-run-20250101_120001-res1"),
        ("res1", "offline-run-20250101_120001-res1-1"),
    ]
    assert m.warnings == ()


def test_wandb_folder_with_impossible_date_has_no_start_time(tmp_path):
    run = tmp_path / "r"
    _wandb_folder(run, "wandb/offline-run-20251399_999999-x1", "x1")
    [w] = scan_run(run).wandb
    assert w.started_at is None


def test_hinted_offline_run_missing_on_disk_is_a_warning(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    _hint(run, {"wandb_run_id": "zzz", "wandb_mode": "offline"})
    m = scan_run(run)
    assert m.wandb == ()
    [warning] = m.warnings
    assert "no offline-run-*-zzz folder" in warning.problem


def test_checkpoint_folders(tmp_path):
    run = _files(
        tmp_path / "r",
        "checkpoints/1000/_CHECKPOINT_METADATA",
        "checkpoints/1000/default/shard_0",
        "checkpoints/2000.orbax-checkpoint-tmp-99/_CHECKPOINT_METADATA",
        "checkpoints/.partial/x.pt",
        "checkpoints/seed_2/step_10.pt",
        "out/checkpoint-500/model.safetensors",
        "out/train/_METADATA",
        "out/train/d/0",
    )
    m = scan_run(run)
    by_path = {c.path: c for c in m.checkpoints}
    assert set(by_path) == {
        "checkpoints/1000",
        "checkpoints/seed_2/step_10.pt",
        "out/checkpoint-500",
        "out/train",
    }
    assert by_path["checkpoints/1000"].size == 2  # both files of the step, summed
    assert by_path["checkpoints/1000"].kind == "directory"
    assert by_path["out/train"].step is None


def test_checkpoints_newest_first(tmp_path):
    run = _files(tmp_path / "r", "checkpoints/step_1.pt", "checkpoints/step_2.pt")
    now = time.time()
    os.utime(run / "checkpoints/step_1.pt", (now, now))
    os.utime(run / "checkpoints/step_2.pt", (now - 100, now - 100))
    m = scan_run(run)
    assert [c.step for c in m.checkpoints] == [1, 2]


def test_hinted_checkpoints_and_checkpoint_dir(tmp_path):
    run = _files(tmp_path / "r", "saved/final.bin", "weights/best_model", "weights/agent_300.pkl")
    _hint(
        run,
        {"checkpoints": ["saved/final.bin", "missing.pt"], "checkpoints_dir": "weights"},
    )
    m = scan_run(run)
    assert {c.path for c in m.checkpoints} == {
        "saved/final.bin",
        "weights/agent_300.pkl",
    }
    [warning] = m.warnings
    assert (warning.field, warning.problem) == (
        "$.checkpoints[1]",
        "checkpoint 'missing.pt' does not exist",
    )


def test_host_checkpoint_files_are_relative_to_its_directory(tmp_path):
    run = _files(tmp_path / "r", "ckpts/model_final.bin", "ckpts/model_1000.bin")
    analytics = {
        "artifacts": {
            "checkpoints": {
                "directory": "ckpts",
                "files": ["model_1000.bin"],
                "final_checkpoint": "model_final.bin",
            }
        }
    }
    _hint(run, analytics, "analytics.json")
    m = scan_run(run)
    assert {(c.path, c.step) for c in m.checkpoints} == {
        ("ckpts/model_1000.bin", 1000),
        ("ckpts/model_final.bin", None),
    }


def test_logs_prefer_the_top_then_the_worker_named_file(tmp_path):
    run = _files(
        tmp_path / "r",
        "logs/aaa.stdout.log",
        "logs/cleanrl.stdout.log",
        "logs/cleanrl.stderr.log",
        "stderr.log",
    )
    _hint(run, {"worker_type": "cleanrl"})
    m = scan_run(run)
    assert (m.logs.stdout, m.logs.stderr) == ("logs/cleanrl.stdout.log", "stderr.log")


def test_hinted_logs_and_heartbeat(tmp_path):
    run = _files(tmp_path / "r", "out/w.out", "out/progress.json")
    _hint(
        run,
        {
            "stdout_log": "out/w.out",
            "stderr_log": "out/w.err",
            "heartbeat_file": "out/progress.json",
        },
    )
    m = scan_run(run)
    assert (m.logs.stdout, m.logs.stderr, m.heartbeat) == ("out/w.out", None, "out/progress.json")
    [warning] = m.warnings
    assert (warning.field, warning.problem) == ("$.stderr_log", "file 'out/w.err' does not exist")


def test_symlinks_inside_the_run_are_followed_for_files_only(tmp_path):
    run = _files(tmp_path / "r", "real/events.out.tfevents.1.h", "store/ckpt_9.pt")
    (run / "tensorboard").mkdir()
    os.symlink("../real/events.out.tfevents.1.h", run / "tensorboard/events.out.tfevents.1.h")
    os.symlink("store", run / "checkpoints")  # a symlinked dir: an alias, not descended
    m = scan_run(run)
    assert m.tensorboard is not None
    assert [e.path for e in m.tensorboard.event_files] == [
        "real/events.out.tfevents.1.h",
        "tensorboard/events.out.tfevents.1.h",
    ]
    assert [c.path for c in m.checkpoints] == ["store/ckpt_9.pt"]
    assert m.warnings == ()
    assert_paths_inside(run, m)


def test_symlinks_escaping_the_run_are_rejected(tmp_path):
    outside = _files(tmp_path / "outside", "events.out.tfevents.1.h", "model.pt")
    run = tmp_path / "r"
    (run / "tensorboard").mkdir(parents=True)
    os.symlink(outside / "events.out.tfevents.1.h", run / "tensorboard/events.out.tfevents.1.h")
    os.symlink("../../outside/model.pt", run / "tensorboard/model.pt")
    os.symlink(outside, run / "wandb")
    os.symlink("/nonexistent/data", run / "data")  # irrelevant: ignored without a warning
    m = scan_run(run)
    assert m.tensorboard is not None and m.tensorboard.event_files == ()
    assert m.checkpoints == () and m.wandb == ()
    assert sorted(w.source for w in m.warnings) == [
        "tensorboard/events.out.tfevents.1.h",
        "tensorboard/model.pt",
        "wandb",
    ]
    assert all("outside the run directory" in w.problem for w in m.warnings)


def test_scan_stops_after_max_entries(tmp_path, monkeypatch):
    run = _files(tmp_path / "r", *(f"videos/{i}.mp4" for i in range(30)), "tensorboard/x")
    monkeypatch.setattr(scanner._RunScanner, "max_entries", 10)
    m = scan_run(run)
    [warning] = m.warnings
    assert "scan stopped after 10 entries" in warning.problem


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_unreadable_subdirectory_is_a_warning(tmp_path):
    run = _files(tmp_path / "r", "tensorboard/events.out.tfevents.1.h")
    (run / "tensorboard").chmod(0)
    try:
        m = scan_run(run)
    finally:
        (run / "tensorboard").chmod(0o755)
    [warning] = m.warnings
    assert (warning.source, warning.field) == ("tensorboard", "$")


def test_run_dir_errors_are_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match=r"^run directory not found: .*missing$"):
        scan_run(tmp_path / "missing")
    with pytest.raises(RunDirError, match=r"^run directory is not a directory: .*file$"):
        scan_run(tmp_path / "file")


def test_scan_is_pure(tmp_path):
    run = _files(tmp_path / "r", "tensorboard/events.out.tfevents.1.h", "checkpoints/a.pt")
    before = sorted((p, p.stat().st_mtime_ns) for p in run.rglob("*"))
    scan_run(run)
    assert sorted((p, p.stat().st_mtime_ns) for p in run.rglob("*")) == before


def test_run_id_is_the_folder_name_even_with_a_trailing_slash(tmp_path):
    (tmp_path / "01JABC").mkdir()
    assert scan_run(f"{tmp_path}/01JABC/").run_id == "01JABC"


def test_many_problems_in_one_file_are_summed_up(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    _hint(run, {"checkpoints": [f"missing_{i}.pt" for i in range(30)]})
    m = scan_run(run)
    assert len(m.warnings) == scanner.MAX_WARNINGS_PER_SOURCE + 1
    assert m.warnings[-1].problem == "10 more problems not shown"


def test_very_deep_folders_are_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(scanner._RunScanner, "max_depth", 3)
    run = _files(tmp_path / "r", "tb/a/b/c/d/events.out.tfevents.1.h")
    [warning] = scan_run(run).warnings
    assert warning.source == "tb/a/b/c"
    assert warning.fix == "keep artifacts within 3 levels of the run directory"


def test_scan_root_scans_each_run_folder(tmp_path):
    root = tmp_path / "runs"
    _files(root, "01A/checkpoints/step_1.pt", "01B/stdout.log", ".trash/x/stdout.log", "notes.txt")
    manifests = scanner.scan_root(root)
    assert sorted(manifests) == ["01A", "01B"]
    assert [c.step for c in manifests["01A"].checkpoints] == [1]
    assert manifests["01B"].logs.stdout == "stdout.log"
    with pytest.raises(RunDirError, match="runs root not found"):
        scanner.scan_root(tmp_path / "missing")
