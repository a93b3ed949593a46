"""scan_run on the committed fixture runs, one per layout workers really write."""

from __future__ import annotations

import time

import pytest

from _manifest_support import assert_paths_inside, copy_fixture
from gui_fastpath.manifest import scan_run

pytestmark = pytest.mark.timeout(30)


def _stamp(text: str) -> float:
    """W&B folder names carry local time."""
    return time.mktime(time.strptime(text, "%Y%m%d_%H%M%S"))


@pytest.fixture
def scan(tmp_path):
    def run(name: str):
        run_dir = copy_fixture("runs", name, tmp_path)
        manifest = scan_run(run_dir)
        assert_paths_inside(run_dir, manifest)
        return manifest

    return run


def test_seed_layout(scan):
    m = scan("seed_layout")
    assert m.run_id == "seed_layout"
    assert m.hints == ("artifacts_manifest.json",)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "tensorboard"
    [event] = m.tensorboard.event_files
    assert (event.path, event.run) == (
        "tensorboard/events.out.tfevents.1735732800.fixture.1.0",
        ".",
    )
    assert event.size > 0
    [run] = m.wandb
    assert (run.run_id, run.mode, run.synced) == ("seed0001", "offline", False)
    assert run.directory == "wandb/offline-run-20250101_120000-seed0001"
    assert run.wandb_file == f"{run.directory}/run-seed0001.wandb"
    assert (run.entity, run.project, run.url) == ("fastpath", "fixtures", None)
    assert run.started_at == _stamp("20250101_120000")
    [ckpt] = m.checkpoints
    assert (ckpt.path, ckpt.kind, ckpt.step) == ("checkpoints/ckpt_500k.pt", "file", 500_000)
    assert (m.logs.stdout, m.logs.stderr) == ("stdout.log", "stderr.log")
    assert m.heartbeat == "heartbeat.json"
    assert m.warnings == ()


def test_host_layout(scan):
    m = scan("host_layout")
    assert m.worker_type == "cleanrl"
    assert m.hints == ("analytics.json",)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "tensorboard"
    runs = [(e.run, e.path.rsplit("/", 1)[1]) for e in m.tensorboard.event_files]
    assert runs == [
        ("eval", "events.out.tfevents.1735732800.fixture.1.1"),
        ("train", "events.out.tfevents.1735732800.fixture.1.0"),
        ("train", "events.out.tfevents.1735736400.fixture.2.0"),  # after a resume
    ]
    [run] = m.wandb
    assert run.directory == "wandb/wandb/offline-run-20250101_120000-host0001"
    assert (run.run_id, run.entity, run.project) == ("host0001", "fastpath", "fixtures")
    # orbax step folders; the one still being written (tmp) is left out
    assert {(c.path, c.kind, c.step) for c in m.checkpoints} == {
        ("checkpoints/1000", "directory", 1000),
        ("checkpoints/2000", "directory", 2000),
    }
    assert all(c.size > 0 for c in m.checkpoints)
    assert (m.logs.stdout, m.logs.stderr) == ("logs/cleanrl.stdout.log", "logs/cleanrl.stderr.log")
    assert m.warnings == ()


def test_cleanrl_runs_dir_without_hints(scan):
    m = scan("cleanrl_runs_dir")
    assert m.tensorboard is not None
    assert m.tensorboard.log_dir == "runs/CartPole-v1__ppo__1__1735732800"
    assert [e.run for e in m.tensorboard.event_files] == ["."]
    assert [(c.path, c.step) for c in m.checkpoints] == [("models/policy_step_2000.pth", 2000)]
    assert m.logs.stdout == "stdout.log" and m.logs.stderr is None
    assert m.hints == () and m.warnings == ()


def test_synced_and_unsynced_offline_runs_newest_first(scan):
    m = scan("synced_wandb")
    assert [(r.run_id, r.synced) for r in m.wandb] == [("sync0002", False), ("sync0001", True)]
    assert m.wandb[1].started_at == _stamp("20241231_120000")


def test_online_run_known_only_from_host_hints(scan):
    m = scan("online_hint")
    assert m.tensorboard is None  # switched off in analytics.json
    [run] = m.wandb
    assert (run.run_id, run.mode, run.synced, run.directory) == ("abc123xy", "online", True, None)
    assert (run.entity, run.project) == ("fastpath", "rllib")
    assert run.url == "https://wandb.ai/fastpath/rllib/runs/abc123xy"
    assert m.worker_type == "ray_worker"
    assert m.logs.stdout == "logs/ray_worker.stdout.log"


def test_checkpoint_zoo(scan):
    m = scan("checkpoint_zoo")
    assert {(c.path, c.kind, c.step) for c in m.checkpoints} == {
        ("checkpoints/step_1000.pt", "file", 1000),
        ("checkpoints/checkpoint-2000", "directory", 2000),
        ("checkpoints/3000", "directory", 3000),
        ("checkpoints/seed_1/model_4000.pth", "file", 4000),
        ("checkpoints/rl_model_5000_steps.zip", "file", 5000),
        ("checkpoints/epoch=3-step=6000.ckpt", "file", 6000),
        ("weights_7000.npz", "file", 7000),
    }


def test_empty_run(scan):
    m = scan("empty")
    assert (m.tensorboard, m.wandb, m.checkpoints, m.heartbeat) == (None, (), (), None)
    assert m.warnings == ()
