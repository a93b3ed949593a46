"""A declared, non-default layout reaches the manifest: ``fastpath.json`` and ``wandb_dir``.

``fastpath.json`` is written by our supervisor at launch, but it sits where the worker can
write, so it is checked like any hint file: every problem is a warning, never a crash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from _manifest_support import assert_paths_inside
from gui_fastpath.manifest import (
    LAYOUT_NAME,
    ManifestWarning,
    RunLayout,
    scan_run,
    write_run_layout,
)
from gui_fastpath.manifest.lenient import MAX_HINT_BYTES
from gui_fastpath.manifest.schema import schema_for

pytestmark = pytest.mark.timeout(30)

DECLARED = RunLayout(
    tensorboard_dir="logs/tb",
    wandb_dir="analytics/wandb",
    checkpoints_dir="snapshots",
    heartbeat_file="state/hb.json",
)
WANDB_RUN = "analytics/wandb/wandb/offline-run-20260101_120000-lay0001"


def _file(path: Path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def declared_run(tmp_path) -> Path:
    """What a worker writes where the routing's environment told it to (``DECLARED``)."""
    run = tmp_path / "run"
    _file(run / "logs/tb/ppo/events.out.tfevents.1767268800.host.1.0", b"events")
    _file(run / WANDB_RUN / "run-lay0001.wandb", b"wandb")
    _file(run / "snapshots/policy_1000.bin", b"weights")  # .bin counts only in a checkpoints dir
    _file(run / "snapshots/2000/_CHECKPOINT_METADATA", b"{}")  # an orbax step folder
    _file(run / "state/hb.json", b'{"step": 2000}')
    _file(run / "logs/worker.stdout.log", b"")
    return run


def test_without_the_layout_file_the_scanner_misses_most_of_it(declared_run):
    m = scan_run(declared_run)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "logs/tb/ppo"
    assert (m.wandb, m.heartbeat) == ((), None)
    assert [c.path for c in m.checkpoints] == ["snapshots/2000"]  # orbax's marker, not the .bin


def test_the_layout_file_puts_every_declared_folder_in_the_manifest(declared_run):
    write_run_layout(declared_run, DECLARED)
    m = scan_run(declared_run)
    assert m.warnings == ()
    assert m.hints == (LAYOUT_NAME,)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "logs/tb"
    assert [(e.run, e.path) for e in m.tensorboard.event_files] == [
        ("ppo", "logs/tb/ppo/events.out.tfevents.1767268800.host.1.0")
    ]
    [run] = m.wandb
    assert (run.run_id, run.mode, run.directory) == ("lay0001", "offline", WANDB_RUN)
    assert run.wandb_file == f"{WANDB_RUN}/run-lay0001.wandb"
    assert {(c.path, c.kind, c.step) for c in m.checkpoints} == {
        ("snapshots/policy_1000.bin", "file", 1000),
        ("snapshots/2000", "directory", 2000),
    }
    assert m.heartbeat == "state/hb.json"
    assert m.logs.stdout == "logs/worker.stdout.log"  # logs/ still holds the logs
    assert_paths_inside(declared_run, m)


def test_the_layout_file_is_what_write_run_layout_writes(tmp_path):
    write_run_layout(tmp_path, RunLayout(tensorboard_dir="tb", heartbeat_file="hb.json"))
    data = json.loads((tmp_path / LAYOUT_NAME).read_text())
    assert data == {"tensorboard_dir": "tb", "heartbeat_file": "hb.json"}
    jsonschema.validate(data, schema_for(LAYOUT_NAME))
    assert sorted(os.listdir(tmp_path)) == [LAYOUT_NAME]  # no temporary file left


def test_declared_folders_that_stay_empty_are_no_problem(tmp_path):
    """A worker that ignores the environment (CleanRL's ``runs/``) is still found."""
    run = tmp_path / "run"
    _file(run / "runs/CartPole__ppo/events.out.tfevents.1.host.1.0")
    _file(run / "models/ppo_500.pt")
    _file(run / "heartbeat.json", b"{}")
    write_run_layout(run, RunLayout("tensorboard", "wandb", "checkpoints", "heartbeat.json"))
    m = scan_run(run)
    assert m.warnings == ()
    assert m.tensorboard is not None and m.tensorboard.log_dir == "runs/CartPole__ppo"
    assert [c.path for c in m.checkpoints] == ["models/ppo_500.pt"]
    assert m.heartbeat == "heartbeat.json"
    write_run_layout(run, DECLARED)
    m = scan_run(run)
    assert m.warnings == () and m.heartbeat == "heartbeat.json"  # declared one not written yet
    assert m.tensorboard is not None and m.tensorboard.log_dir == "runs/CartPole__ppo"


def test_an_empty_declared_log_dir_is_the_log_dir(tmp_path):
    run = tmp_path / "run"
    (run / "logs/tb").mkdir(parents=True)
    (run / "tensorboard").mkdir()  # the default name means nothing once another is declared
    write_run_layout(run, DECLARED)
    m = scan_run(run)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "logs/tb"


def test_what_the_worker_hints_wins_over_the_layout(declared_run):
    write_run_layout(declared_run, DECLARED)
    (declared_run / "artifacts_manifest.json").write_text(
        json.dumps({"tensorboard_dir": "logs", "heartbeat_file": "logs/worker.stdout.log"})
    )
    m = scan_run(declared_run)
    assert m.hints == ("artifacts_manifest.json", LAYOUT_NAME)
    assert m.tensorboard is not None and m.tensorboard.log_dir == "logs"
    assert m.heartbeat == "logs/worker.stdout.log"
    assert len(m.wandb) == 1 and len(m.checkpoints) == 2  # folders add up


@pytest.mark.parametrize(
    ("wandb_dir", "run_folder"),
    [
        ("out", "out/wandb/offline-run-20260101_120000-hint0001"),  # wandb.init(dir="out")
        ("out/wandb", "out/wandb/wandb/offline-run-20260101_120000-hint0001"),
        ("out/wandb", "out/wandb/offline-run-20260101_120000-hint0001"),  # the sub-folder
        (".", "wandb/offline-run-20260101_120000-hint0001"),
    ],
)
def test_a_worker_launched_without_us_names_its_wandb_dir(tmp_path, wandb_dir, run_folder):
    run = tmp_path / "run"
    _file(run / run_folder / "run-hint0001.wandb")
    _file(run / "out/tensorboard/events.out.tfevents.1.host.1.0")  # beside it, still found
    hint = {"wandb_dir": wandb_dir, "wandb_run_id": "proj/hint0001", "wandb_mode": "offline"}
    (run / "artifacts_manifest.json").write_text(json.dumps(hint))
    jsonschema.validate(hint, schema_for("artifacts_manifest.json"))
    m = scan_run(run)
    assert m.warnings == ()
    assert [(r.run_id, r.directory, r.project) for r in m.wandb] == [
        ("hint0001", run_folder, "proj")
    ]
    assert m.tensorboard is not None and len(m.tensorboard.event_files) == 1


def test_a_missing_offline_run_names_every_folder_searched(tmp_path):
    write_run_layout(tmp_path, DECLARED)
    (tmp_path / "artifacts_manifest.json").write_text(
        json.dumps({"wandb_run_id": "gone0001", "wandb_mode": "offline"})
    )
    [warning] = scan_run(tmp_path).warnings
    assert warning.problem == (
        "offline W&B run 'gone0001' has no offline-run-*-gone0001 folder"
        " under analytics/wandb/ or wandb/"
    )


# ------------------------------------------------------------------ a hostile fastpath.json


def _warnings(run: Path, text: str | bytes) -> tuple[ManifestWarning, ...]:
    data = text.encode() if isinstance(text, str) else text
    (run / LAYOUT_NAME).write_bytes(data)
    m = scan_run(run)
    assert_paths_inside(run, m)
    return m.warnings


def _fields(warnings) -> set[tuple[str, str]]:
    return {(w.source, w.field) for w in warnings}


@pytest.mark.parametrize(
    ("layout", "fields"),
    [
        (
            {
                "tensorboard_dir": "../tb",
                "wandb_dir": "/home/me/wandb",
                "checkpoints_dir": "~/ckpt",
                "heartbeat_file": "a/../../hb.json",
            },
            {"$.tensorboard_dir", "$.wandb_dir", "$.checkpoints_dir", "$.heartbeat_file"},
        ),
        (
            {"tensorboard_dir": 5, "wandb_dir": ["wandb"], "checkpoints_dir": {"a": 1}},
            {"$.tensorboard_dir", "$.wandb_dir", "$.checkpoints_dir"},
        ),
        (
            {"heartbeat_file": "C:\\hb.json", "wandb_dir": "w\x00"},
            {"$.heartbeat_file", "$.wandb_dir"},
        ),
        ({"tensorboard_dir": "t" * 5000}, {"$.tensorboard_dir"}),
        ({"tensorboard_dir": "t/" * 600}, {"$.tensorboard_dir"}),
        ({"tensorbord_dir": "tb", "token": "secret"}, {"$.tensorbord_dir", "$.token"}),
    ],
)
def test_bad_fields_are_warnings_and_the_rest_is_used(declared_run, layout, fields):
    good = {"checkpoints_dir": "snapshots"} if "checkpoints_dir" not in layout else {}
    warnings = _warnings(declared_run, json.dumps({**layout, **good}))
    assert _fields(warnings) == {(LAYOUT_NAME, field) for field in fields}
    assert all(w.problem and w.fix for w in warnings)
    assert list(jsonschema.Draft202012Validator(schema_for(LAYOUT_NAME)).iter_errors(layout))
    if good:
        assert len(scan_run(declared_run).checkpoints) == 2


def test_an_unknown_key_suggests_the_right_one(tmp_path):
    [warning] = _warnings(tmp_path, '{"tensorbord_dir": "tb"}')
    assert (warning.problem, warning.fix) == (
        "unknown key, ignored",
        "did you mean 'tensorboard_dir'?",
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "file is empty"),
        (b'{"tensorboard_dir": "t', "is not valid JSON: "),
        (b'["tensorboard"]', "expected a JSON object, got an array"),
        (b"\xff\xfe{}", "is not valid UTF-8 "),
        (b"[" * 100_000 + b"]" * 100_000, "JSON is nested too deeply"),
        (b'{"tensorboard_dir": "' + b"t" * MAX_HINT_BYTES + b'"}', "file is "),
    ],
)
def test_a_broken_file_is_one_warning(tmp_path, content, problem):
    [warning] = _warnings(tmp_path, content)
    assert (warning.source, warning.field) == (LAYOUT_NAME, "$")
    assert warning.problem.startswith(problem), warning.problem


def test_a_huge_file_is_not_read(tmp_path):
    [warning] = _warnings(tmp_path, b" " * (MAX_HINT_BYTES + 1))
    assert warning.problem == (
        f"file is {MAX_HINT_BYTES + 1:,} bytes, more than the {MAX_HINT_BYTES:,}-byte limit"
    )


def test_paths_leaving_through_a_symlink_are_refused(tmp_path):
    outside = tmp_path / "outside"
    _file(outside / "tb/events.out.tfevents.1.host.1.0")
    _file(outside / "wandb/offline-run-20260101_120000-out00001/run-out00001.wandb")
    _file(outside / "hb.json", b"{}")
    run = tmp_path / "run"
    run.mkdir()
    (run / "link").symlink_to(outside)
    layout = {
        "tensorboard_dir": "link/tb",
        "wandb_dir": "link",
        "checkpoints_dir": "link",
        "heartbeat_file": "link/hb.json",
    }
    warnings = _warnings(run, json.dumps(layout))
    assert _fields(warnings) == {(LAYOUT_NAME, f"$.{key}") for key in layout}
    assert {w.problem for w in warnings} == {
        f"path {value!r} resolves outside the run directory through a symlink"
        for value in layout.values()
    }
    m = scan_run(run)
    assert (m.tensorboard, m.wandb, m.checkpoints, m.heartbeat) == (None, (), (), None)


def test_a_layout_file_that_is_a_symlink_out_is_not_read(tmp_path):
    (tmp_path / "elsewhere.json").write_text('{"tensorboard_dir": "tb"}')
    run = tmp_path / "run"
    run.mkdir()
    (run / LAYOUT_NAME).symlink_to(tmp_path / "elsewhere.json")
    [warning] = scan_run(run).warnings
    assert (warning.source, warning.problem) == (
        LAYOUT_NAME,
        "is a symlink to a file outside the run directory",
    )


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_layout_file_that_is_not_a_file(tmp_path, kind):
    path = tmp_path / LAYOUT_NAME
    if kind == "fifo":
        os.mkfifo(path)  # must not block the scan
    else:
        path.mkdir()
    [warning] = scan_run(tmp_path).warnings
    assert (warning.source, warning.problem) == (LAYOUT_NAME, "is not a regular file")
