"""Archive and restore of TensorBoard event files, through the API and the CLI."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from _event_files import scalar_rows, write_events
from gui_fastpath.cli import main
from gui_fastpath.manifest import read_manifest, scan_run, update_manifest
from gui_fastpath.tensorboard.archive import (
    INDEX_NAME,
    ArchiveError,
    archive_events,
    list_archived,
    restore_events,
)
from gui_fastpath.tensorboard.event_reader import read_scalars

pytestmark = pytest.mark.timeout(30)

_DAY = 86400.0
_NOW = time.time()


def _run(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """A run with two TensorBoard runs: three files in ``train``, one in ``eval``."""
    run = tmp_path / "01RUN"
    files = {}
    for age, suffix in ((30, ".a"), (10, ".b"), (0, ".c")):
        path = write_events(run / "tensorboard" / "train", scalar_rows(3), suffix=suffix)
        stamp = _NOW - age * _DAY - 60
        os.utime(path, (stamp, stamp))
        files[f"train{suffix}"] = path
    files["eval"] = write_events(run / "tensorboard" / "eval", scalar_rows(2))
    update_manifest(run)
    return run, files


def _rel(run: Path, path: Path) -> str:
    return path.relative_to(run).as_posix()


def _tree(run: Path) -> dict[str, bytes]:
    return {
        p.relative_to(run).as_posix(): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and "tfevents" in p.name
    }


def test_dry_run_plans_and_moves_nothing(tmp_path):
    run, files = _run(tmp_path)
    before = _tree(run)
    result = archive_events(run, keep_latest=1, dry_run=True)
    assert [m.source for m in result.moves] == [
        _rel(run, files["train.a"]),
        _rel(run, files["train.b"]),
    ]
    assert [m.destination for m in result.moves] == [
        f"archive/{_rel(run, files['train.a'])}",
        f"archive/{_rel(run, files['train.b'])}",
    ]
    assert result.kept == tuple(sorted([_rel(run, files["eval"]), _rel(run, files["train.c"])]))
    assert _tree(run) == before
    assert not (run / "archive").exists()
    lines = result.describe()
    assert lines[0].startswith(f"would move {_rel(run, files['train.a'])} -> archive/")
    assert lines[-1].startswith("2 event file(s) (")
    assert lines[-1].endswith("would be archived, 2 kept in the log directory")


def test_archive_then_restore_is_exact(tmp_path):
    run, files = _run(tmp_path)
    before = _tree(run)
    result = archive_events(run, older_than=5 * _DAY, keep_latest=0, now=_NOW)
    moved = {m.source for m in result.moves}
    assert moved == {_rel(run, files["train.a"]), _rel(run, files["train.b"])}
    assert result.manifest_changes == ("tensorboard.event_files",)
    for source in moved:
        assert not (run / source).exists()
        assert (run / "archive" / source).read_bytes() == before[source]
    # The active log directory no longer shows the archived steps; the archive still has them.
    active = read_scalars(run / "tensorboard")
    assert len(active["train"]["train/loss"]) == 3
    assert len(read_scalars(run / "archive" / "tensorboard")["train"]["train/loss"]) == 6
    index = json.loads((run / "archive" / INDEX_NAME).read_text())
    assert {e["original"] for e in index["entries"]} == moved
    assert {f.original for f in list_archived(run)} == moved

    restored = restore_events(run)
    assert {m.destination for m in restored.moves} == moved
    assert _tree(run) == before
    assert list_archived(run) == ()
    assert not any((run / "archive").rglob("*tfevents*"))


def test_manifest_follows(tmp_path):
    run, files = _run(tmp_path)
    archive_events(run, keep_latest=1)
    manifest = read_manifest(run)
    assert manifest is not None and manifest.tensorboard is not None
    listed = {e.path for e in manifest.tensorboard.event_files}
    assert listed == {_rel(run, files["train.c"]), _rel(run, files["eval"])}
    assert manifest.tensorboard.log_dir == "tensorboard"
    restore_events(run)
    assert len(read_manifest(run).tensorboard.event_files) == 4


def test_never_overwrites(tmp_path):
    run, files = _run(tmp_path)
    source = _rel(run, files["train.a"])
    squatter = run / "archive" / source
    squatter.parent.mkdir(parents=True)
    squatter.write_bytes(b"someone else's")
    plan = archive_events(run, keep_latest=1, dry_run=True)
    assert [s.path for s in plan.skipped] == [source]
    assert source not in [m.source for m in plan.moves]
    result = archive_events(run, keep_latest=1)
    assert [s.path for s in result.skipped] == [source]
    assert "never overwritten" in result.skipped[0].reason
    assert files["train.a"].exists() and squatter.read_bytes() == b"someone else's"
    assert source in result.kept
    # Restoring onto a path that is taken again is skipped too.
    archive_events(run, older_than=0, keep_latest=0)
    files["eval"].write_bytes(b"new")
    result = restore_events(run)
    assert [s.path for s in result.skipped] == [f"archive/{_rel(run, files['eval'])}"]
    assert files["eval"].read_bytes() == b"new"


def test_restore_selected_paths(tmp_path):
    run, files = _run(tmp_path)
    archive_events(run, keep_latest=1)
    a, b = _rel(run, files["train.a"]), _rel(run, files["train.b"])
    result = restore_events(run, paths=[a, "tensorboard/nope"])
    assert [m.destination for m in result.moves] == [a]
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("tensorboard/nope", "not in the archive index")
    ]
    assert [f.original for f in list_archived(run)] == [b]


def test_hostile_index_is_refused(tmp_path):
    run, _ = _run(tmp_path)
    (run / "archive").mkdir()
    entry = {"archived": "archive/../../etc/passwd", "original": "../../etc/passwd"}
    (run / "archive" / INDEX_NAME).write_text(json.dumps({"version": 1, "entries": [entry]}))
    with pytest.raises(ArchiveError, match=r"entries\[0\]\.archived: .* escapes the run directory"):
        restore_events(run)


def test_log_dir_escaping_or_at_top_is_refused(tmp_path):
    run, _ = _run(tmp_path)
    with pytest.raises(ArchiveError, match="escapes the run directory"):
        archive_events(run, log_dir="../elsewhere")
    with pytest.raises(ArchiveError, match="must be a folder inside the run"):
        archive_events(run, log_dir=".")
    with pytest.raises(ArchiveError, match="not a run directory"):
        archive_events(tmp_path / "missing")


def test_interrupted_archive_is_reconciled(tmp_path):
    run, files = _run(tmp_path)
    source = _rel(run, files["train.a"])
    # An intent recorded, but the process died before the move.
    (run / "archive").mkdir()
    entry = {"archived": f"archive/{source}", "original": source, "size": 1, "archived_at": 1.0}
    (run / "archive" / INDEX_NAME).write_text(json.dumps({"version": 1, "entries": [entry]}))
    assert list_archived(run) == ()
    assert restore_events(run).moves == ()
    assert files["train.a"].exists()


def test_cli_dry_run_then_archive_then_restore(tmp_path, capsys):
    run, files = _run(tmp_path)
    a = _rel(run, files["train.a"])
    assert main(["archive", str(run), "--dry-run", "--keep-latest", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"would move {a} -> archive/{a} ({files['train.a'].stat().st_size} B)"
    assert out[-1].endswith("would be archived, 3 kept in the log directory")
    assert files["train.a"].exists()
    assert main(["archive", str(run), "--older-than-days", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith(f"moved {a} -> archive/{a}")
    assert main(["archive", str(run), "--restore"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("restored")
    assert files["train.a"].exists()
    assert main(["archive", str(tmp_path / "nope")]) == 1
    assert "not a run directory" in capsys.readouterr().err


def test_scan_sees_the_archived_layout(tmp_path):
    run, _ = _run(tmp_path)
    archive_events(run, keep_latest=1)
    assert scan_run(run).tensorboard.log_dir == "tensorboard"
