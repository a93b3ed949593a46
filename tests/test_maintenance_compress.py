"""``compress_logs``: finished runs' logs become verified ``.log.gz``; nothing is ever lost."""

from __future__ import annotations

import gzip
import os

import pytest

from _maintenance_support import DAY, copy_root, template_root, tree
from gui_fastpath.logs import FileTail
from gui_fastpath.maintenance import compress as compress_module
from gui_fastpath.maintenance import compress_logs, gzip_log
from gui_fastpath.manifest import read_manifest

pytestmark = pytest.mark.timeout(60)

OLD_RUNS = ("old-done", "old-failed", "old-synced", "old-unsynced")


@pytest.fixture
def runs(tmp_path, tmp_path_factory):
    return copy_root(template_root(tmp_path_factory.mktemp("template")), tmp_path / "runs")


def test_dry_run_changes_nothing_and_lists_the_logs(runs):
    before = tree(runs)
    result = compress_logs(runs, older_than=7 * DAY)
    assert tree(runs) == before
    # stderr logs are empty or tiny (under MIN_LOG_BYTES): left alone
    assert {a.path for a in result.actions} == {f"{run}/logs/worker.stdout.log" for run in OLD_RUNS}
    assert all(a.new_size is None for a in result.actions)
    assert {s.run_id for s in result.skipped} == {"no-journal"}


def test_apply_compresses_exactly_what_the_dry_run_said(runs):
    originals = {
        a.path: (runs / a.path).read_bytes()
        for a in compress_logs(runs, older_than=7 * DAY).actions
    }
    dry = compress_logs(runs, older_than=7 * DAY)
    before = tree(runs)
    applied = compress_logs(runs, older_than=7 * DAY, apply=True)
    after = tree(runs)
    assert not applied.failed
    assert [a.planned for a in applied.actions] == [a.planned for a in dry.actions]
    assert set(before) - set(after) == set(originals)
    assert set(after) - set(before) == {f"{p}.gz" for p in originals}
    for path, content in originals.items():
        gz = runs / f"{path}.gz"
        assert gzip.decompress(gz.read_bytes()) == content
        assert gz.stat().st_mtime_ns == before[path][2]  # the log's age is kept
        action = next(a for a in applied.actions if a.path == path)
        assert action.new_size == gz.stat().st_size < action.size
    changed = {p for p in set(before) & set(after) if before[p] != after[p]}
    assert changed == {
        path for run in OLD_RUNS for path in (run, f"{run}/logs", f"{run}/artifacts.json")
    }
    manifest = read_manifest(runs / "old-failed")
    assert manifest is not None
    assert manifest.logs.stdout == "logs/worker.stdout.log.gz"
    assert manifest.logs.stderr == "logs/worker.stderr.log"
    assert {r.run_id: r.changes for r in applied.refreshed}["old-failed"] == ("logs",)
    # What the GUI shows for that run: the end of the compressed log.
    lines = FileTail(runs / "old-failed" / manifest.logs.stdout).read().lines
    assert lines == tuple(originals["old-failed/logs/worker.stdout.log"].decode().splitlines())
    again = compress_logs(runs, older_than=7 * DAY, apply=True)
    assert not again.actions and not again.failed


def test_only_runs_finished_long_enough_ago(runs):
    assert not compress_logs(runs, older_than=41 * DAY).actions
    fresh = compress_logs(runs, older_than=None)
    assert "new-done/logs/worker.stdout.log" in {a.path for a in fresh.actions}
    with pytest.raises(ValueError, match="older_than must be 0 or more"):
        compress_logs(runs, older_than=-1)


def test_existing_gz_is_never_overwritten(runs):
    log = runs / "old-done" / "logs" / "worker.stdout.log"
    (log.parent / "worker.stdout.log.gz").write_bytes(b"someone else's")
    result = compress_logs(runs, apply=True)
    skip = next(s for s in result.skipped if s.run_id == "old-done")
    assert skip.path == "old-done/logs/worker.stdout.log"
    assert skip.reason == "logs/worker.stdout.log.gz already exists; it is never overwritten"
    assert log.exists()
    assert (log.parent / "worker.stdout.log.gz").read_bytes() == b"someone else's"


def test_a_bad_compressed_copy_keeps_the_original(runs, monkeypatch):
    def corrupt(source, size, dest, **kwargs):
        dest.write(gzip.compress(b"not the log\n"))

    monkeypatch.setattr(compress_module, "write_log_gzip", corrupt)
    log = runs / "old-done" / "logs" / "worker.stdout.log"
    content = log.read_bytes()
    before = tree(runs / "old-done")
    result = compress_logs(runs, apply=True)
    failure = next(f for f in result.failed if f.run_id == "old-done")
    assert failure.error == (
        "worker.stdout.log: the compressed copy does not decompress to the original; "
        "the original is kept"
    )
    assert log.read_bytes() == content
    after = tree(runs / "old-done")
    assert set(after) == set(before)  # no .gz, no temp file left
    assert {p for p in after if after[p] != before[p]} == {"logs"}  # the temp file came and went
    assert "old-done/logs/worker.stdout.log" not in {a.path for a in result.actions}


def test_gzip_log_is_atomic_and_keeps_mode(tmp_path):
    log = tmp_path / "stdout.log"
    log.write_bytes(b"".join(b"line %d\n" % i for i in range(100_000)))
    os.chmod(log, 0o640)
    os.utime(log, (1_700_000_000, 1_700_000_000))
    size = gzip_log(log)
    gz = tmp_path / "stdout.log.gz"
    assert not log.exists() and gz.stat().st_size == size
    assert gz.stat().st_mode & 0o777 == 0o640
    assert gz.stat().st_mtime == 1_700_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stdout.log.gz"]
    with gzip.open(gz) as fh:
        assert fh.read().endswith(b"line 99999\n")
