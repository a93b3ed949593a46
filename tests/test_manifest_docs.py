"""The examples in docs/manifest.md are true: each is checked against the real code."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from pathlib import Path

import attrs
import jsonschema
import pytest

from _manifest_support import copy_fixture
from gui_fastpath.cli import main
from gui_fastpath.manifest import (
    dumps_manifest,
    manifest_from_dict,
    manifest_to_dict,
    scan_run,
)
from gui_fastpath.manifest.schema import schema_for

pytestmark = pytest.mark.timeout(30)

DOC = Path(__file__).resolve().parent.parent / "docs" / "manifest.md"
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[^>]+?) -->\n```\w+\n(?P<body>.*?)\n```", re.S)
DOC_RUN = "01JGQ7Z5X8SEEDLAYOUT"
FIXED_MTIME = 1735736400.0


def examples() -> dict[str, str]:
    return {m["name"]: m["body"] for m in _EXAMPLE.finditer(DOC.read_text())}


def test_all_examples_are_found():
    assert set(examples()) == {
        "artifacts_manifest.json",
        "analytics.json",
        "fastpath.json",
        "warnings",
        "warning line",
        "artifacts.json",
        "python",
    }


@pytest.fixture
def utc(monkeypatch):
    """W&B folder names are local time; the docs show UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def doc_run(tmp_path):
    run = copy_fixture("runs", "seed_layout", tmp_path)
    run = run.rename(tmp_path / DOC_RUN)
    for path in [run, *run.rglob("*")]:
        os.utime(path, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
    return run


def test_hint_example_is_the_fixture_hint_file_and_valid(doc_run):
    example = json.loads(examples()["artifacts_manifest.json"])
    assert example == json.loads((doc_run / "artifacts_manifest.json").read_text())
    jsonschema.validate(example, schema_for("artifacts_manifest.json"))


def test_analytics_example_is_valid_and_read_without_warnings(tmp_path):
    example = json.loads(examples()["analytics.json"])
    jsonschema.validate(example, schema_for("analytics.json"))
    run = copy_fixture("runs", "host_layout", tmp_path)
    (run / "analytics.json").write_text(json.dumps(example))
    manifest = scan_run(run)
    assert manifest.warnings == ()
    assert manifest.worker_type == "cleanrl"
    assert [(w.run_id, w.entity, w.project) for w in manifest.wandb] == [
        ("host0001", "fastpath", "fixtures")
    ]
    assert {c.path for c in manifest.checkpoints} == {"checkpoints/1000", "checkpoints/2000"}


def test_layout_example_is_valid_and_puts_the_declared_folders_in_the_manifest(tmp_path):
    example = json.loads(examples()["fastpath.json"])
    jsonschema.validate(example, schema_for("fastpath.json"))
    run = tmp_path / "run"
    for path in (
        "logs/tb/ppo/events.out.tfevents.1767268800.host.1.0",
        "analytics/wandb/wandb/offline-run-20260101_120000-lay0001/run-lay0001.wandb",
        "snapshots/policy_1000.bin",
        "state/hb.json",
    ):
        (run / path).parent.mkdir(parents=True, exist_ok=True)
        (run / path).write_bytes(b"{}")
    (run / "fastpath.json").write_text(json.dumps(example))
    manifest = scan_run(run)
    assert manifest.warnings == ()
    assert manifest.hints == ("fastpath.json",)
    assert manifest.tensorboard is not None and manifest.tensorboard.log_dir == "logs/tb"
    assert [w.run_id for w in manifest.wandb] == ["lay0001"]
    assert [c.path for c in manifest.checkpoints] == ["snapshots/policy_1000.bin"]
    assert manifest.heartbeat == "state/hb.json"


def test_artifacts_example_is_the_scan_of_the_fixture(doc_run, utc):
    text = examples()["artifacts.json"]
    example = manifest_from_dict(json.loads(text))
    jsonschema.validate(manifest_to_dict(example), schema_for("artifacts.json"))
    scanned = scan_run(doc_run)
    assert scanned.same_content(example)
    assert dumps_manifest(attrs.evolve(scanned, generated_at=example.generated_at)) == text + "\n"


def test_warning_examples(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "artifacts_manifest.json").write_text('{"tensorboard_dir": "../tb"}')
    assert main(["scan", "--no-write", str(run)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["warnings"] == json.loads(examples()["warnings"])
    assert err == examples()["warning line"] + "\n"


def test_python_example_runs(doc_run, monkeypatch):
    monkeypatch.chdir(doc_run.parent)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(examples()["python"], str(DOC), "exec"), {})
    assert printed.getvalue().startswith("True ('run_id', 'tensorboard', ")
