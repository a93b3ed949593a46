"""artifacts.json: atomic writes, no rewrite when unchanged, strict reading, diffs."""

from __future__ import annotations

import json
import os
import shutil
import threading

import attrs
import pytest

from gui_fastpath.manifest import (
    MANIFEST_NAME,
    TEMP_PREFIX,
    ArtifactManifest,
    Checkpoint,
    ManifestError,
    RunDirError,
    diff_manifests,
    manifest_from_dict,
    manifest_to_dict,
    read_manifest,
    scan_run,
    store,
    update_manifest,
    write_manifest,
)

pytestmark = pytest.mark.timeout(30)


def _run(tmp_path):
    run = tmp_path / "01RUN"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "step_1000.pt").write_bytes(b"x" * 10)
    return run


def test_round_trip_through_dict(tmp_path):
    manifest = scan_run(_run(tmp_path))
    data = manifest_to_dict(manifest)
    assert json.loads(json.dumps(data)) == data
    assert manifest_from_dict(data) == manifest


def test_write_is_skipped_when_content_is_the_same(tmp_path):
    run = _run(tmp_path)
    assert write_manifest(run, scan_run(run)) is True
    before = os.stat(run / MANIFEST_NAME)
    assert write_manifest(run, scan_run(run)) is False
    after = os.stat(run / MANIFEST_NAME)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not [p for p in os.listdir(run) if p.startswith(TEMP_PREFIX)]


def test_update_reports_what_changed(tmp_path):
    run = _run(tmp_path)
    first = update_manifest(run)
    assert first.written and first.previous is None
    assert "checkpoints" in first.changes
    assert update_manifest(run).changes == ()
    (run / "checkpoints" / "step_2000.pt").write_bytes(b"y")
    third = update_manifest(run)
    assert third.written and third.changes == ("checkpoints",)
    assert third.previous == first.manifest
    assert read_manifest(run) == third.manifest


def test_unchanged_update_returns_the_manifest_on_disk(tmp_path):
    run = _run(tmp_path)
    first = update_manifest(run)
    again = update_manifest(run)
    assert not again.written
    assert again.manifest == first.manifest == read_manifest(run)


def test_read_manifest_absent_is_none(tmp_path):
    assert read_manifest(tmp_path) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        (b"[]", "expected an object, got an array"),
        (b'{"run_id": 5}', "run_id"),
        (b'{"run_id": "r", "bogus": 1}', "bogus"),
        (b'{"run_id": "r", "schema_version": 99}', "upgrade gui_fastpath"),
    ],
)
def test_read_manifest_invalid_raises_manifest_error(tmp_path, content, message):
    (tmp_path / MANIFEST_NAME).write_bytes(content)
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path)


def test_update_replaces_an_invalid_manifest(tmp_path):
    run = _run(tmp_path)
    (run / MANIFEST_NAME).write_text("garbage")
    update = update_manifest(run)
    assert update.written and update.previous is None
    assert read_manifest(run) == update.manifest


def test_missing_run_dir_is_a_run_dir_error(tmp_path):
    with pytest.raises(RunDirError, match=r"run directory not found: .*nope$"):
        update_manifest(tmp_path / "nope")


def test_diff_names_changed_parts():
    old = ArtifactManifest(run_id="r")
    new = attrs.evolve(old, generated_at=5.0, checkpoints=(Checkpoint("a.pt", 1, 1.0),))
    assert diff_manifests(old, new) == ("checkpoints",)
    assert diff_manifests(new, new) == ()
    assert diff_manifests(None, old) == ("run_id",)


def test_a_failed_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    run = _run(tmp_path)
    update_manifest(run)
    before = (run / MANIFEST_NAME).read_bytes()
    (run / "checkpoints" / "step_3000.pt").write_bytes(b"z")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        update_manifest(run)
    assert (run / MANIFEST_NAME).read_bytes() == before
    assert not [p for p in os.listdir(run) if p.startswith(TEMP_PREFIX)]


def test_write_syncs_the_file_and_the_directory(tmp_path, monkeypatch):
    run = _run(tmp_path)
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_manifest(run, scan_run(run))
    assert len(synced) == 2
    assert os.path.basename(synced[0]).startswith(TEMP_PREFIX)
    assert synced[1] == str(run)


def test_readers_never_see_a_partial_file(tmp_path):
    run = _run(tmp_path)
    write_manifest(run, scan_run(run))
    base = scan_run(run)
    stop = threading.Event()
    seen: list[int] = []
    failures: list[Exception] = []

    def reader():
        while not stop.is_set():
            try:
                manifest = read_manifest(run)
                assert manifest is not None
                seen.append(len(manifest.checkpoints))
            except Exception as exc:
                failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for count in range(1, 200):
            checkpoints = tuple(Checkpoint(f"c{i}.pt", i, 1.0) for i in range(count))
            write_manifest(run, attrs.evolve(base, checkpoints=checkpoints))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert failures == []
    assert seen


def test_run_removed_during_update_is_a_run_dir_error(tmp_path, monkeypatch):
    run = _run(tmp_path)
    real_scan = store.scan_run

    def scan_then_remove(run_dir):
        manifest = real_scan(run_dir)
        shutil.rmtree(run_dir)
        return manifest

    monkeypatch.setattr(store, "scan_run", scan_then_remove)
    with pytest.raises(RunDirError, match="run directory not found"):
        update_manifest(run)
