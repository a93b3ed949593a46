"""``gui-fastpath scan``: output, exit statuses and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gui_fastpath.cli import main
from gui_fastpath.manifest import MANIFEST_NAME, read_manifest, store

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def run(tmp_path):
    run = tmp_path / "01RUN"
    (run / "tensorboard").mkdir(parents=True)
    (run / "tensorboard" / "events.out.tfevents.1.h").write_bytes(b"e")
    return run


def test_scan_writes_and_prints_the_manifest(run, capsys):
    assert main(["scan", str(run)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (run / MANIFEST_NAME).read_text()
    assert json.loads(out)["tensorboard"]["log_dir"] == "tensorboard"


def test_rescan_without_changes_does_not_rewrite(run, capsys):
    main(["scan", "--quiet", str(run)])
    before = os.stat(run / MANIFEST_NAME)
    assert main(["scan", "--quiet", str(run)]) == 0
    after = os.stat(run / MANIFEST_NAME)
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert capsys.readouterr() == ("", "")


def test_no_write(run, capsys):
    assert main(["scan", "--no-write", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == "01RUN"
    assert not (run / MANIFEST_NAME).exists()


def test_missing_run_dir_is_one_line_and_exit_2(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["scan", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"gui-fastpath scan: error: run directory not found: {missing}\n"


def test_a_file_is_not_a_run_dir(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["scan", str(tmp_path / "f")]) == 2
    assert capsys.readouterr().err == (
        f"gui-fastpath scan: error: run directory is not a directory: {tmp_path / 'f'}\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_unreadable_run_dir_is_exit_2(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    try:
        assert main(["scan", str(locked)]) == 2
    finally:
        locked.chmod(0o755)
    assert capsys.readouterr().err == (
        f"gui-fastpath scan: error: run directory is not readable: {locked} (Permission denied)\n"
    )


def test_write_failure_still_prints_the_manifest(run, capsys, monkeypatch):
    def refuse(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store, "_atomic_write", refuse)
    assert main(["scan", str(run)]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["run_id"] == "01RUN"
    assert err == (
        f"gui-fastpath scan: error: cannot write {run / MANIFEST_NAME}: Permission denied\n"
    )
    assert read_manifest(run) is None


def test_console_script_end_to_end(run, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "gui_fastpath", "scan", "--quiet", str(run)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    missing = subprocess.run(
        [sys.executable, "-m", "gui_fastpath", "scan", str(tmp_path / "gone")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "run directory not found" in missing.stderr


def test_unreadable_run_dir_message_when_running_as_root(tmp_path, capsys, monkeypatch):
    """Root reads everything, so the refusal comes from a seam around os.scandir."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert main(["scan", str(locked)]) == 2
    assert capsys.readouterr().err == (
        f"gui-fastpath scan: error: run directory is not readable: {locked} (Permission denied)\n"
    )
