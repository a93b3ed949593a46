"""Compressed logs (``gui-fastpath compress``): the log tail reads the end of a ``.log.gz``."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess

import pytest

from gui_fastpath.logs import FileTail
from gui_fastpath.logs.compressed import TAIL_MEMBER_BYTES, GzipTail, write_log_gzip
from gui_fastpath.manifest import scan_run

pytestmark = pytest.mark.timeout(30)


def _log(lines: int) -> bytes:
    return b"".join(b"step %07d loss=0.%04d\n" % (i, i % 9973) for i in range(lines))


def _gzip_like_compress(path, content: bytes) -> None:
    with path.open("wb") as dest:
        write_log_gzip(io.BytesIO(content), len(content), dest, name="x.log", mtime=0)


def test_two_member_file_is_an_ordinary_gzip_file(tmp_path):
    content = _log(100_000)
    gz = tmp_path / "worker.stdout.log.gz"
    _gzip_like_compress(gz, content)
    assert gzip.decompress(gz.read_bytes()) == content
    if shutil.which("gzip"):
        subprocess.run(["gzip", "-t", str(gz)], check=True, timeout=20)
        out = subprocess.run(["gzip", "-dc", str(gz)], capture_output=True, check=True, timeout=20)
        assert out.stdout == content


def test_end_of_our_gzip_is_found_without_decompressing_the_rest(tmp_path):
    content = _log(400_000)  # ~9 MB, far more than one tail member
    assert len(content) > 20 * TAIL_MEMBER_BYTES
    gz = tmp_path / "worker.stdout.log.gz"
    _gzip_like_compress(gz, content)
    # A budget of 4 KiB could never stream through the file in one step: the tail member
    # near the end is found and decompressed alone.
    tail = GzipTail(gz, keep_bytes=1000, budget=4096)
    data = tail.step()
    assert data is not None and tail.done
    assert content.endswith(data) and data.startswith(b"step ")
    assert len(data) <= 1000


def test_file_tail_shows_the_last_lines_once(tmp_path):
    content = _log(50_000)
    gz = tmp_path / "worker.stdout.log.gz"
    _gzip_like_compress(gz, content)
    tail = FileTail(gz, initial_bytes=2000)
    assert tail.compressed
    chunk = tail.read()
    expected = content.decode().splitlines()
    assert chunk.reset and chunk.lines[-1] == expected[-1]
    assert list(chunk.lines) == expected[-len(chunk.lines) :]
    assert 50 < len(chunk.lines) < 100
    assert tail.read().lines == ()  # a finished run's log: read once


def test_foreign_gzip_is_streamed_within_the_budget_per_read(tmp_path):
    content = _log(100_000)
    gz = tmp_path / "stdout.log.gz"
    gz.write_bytes(gzip.compress(content))  # one member: no tail member to jump to
    tail = FileTail(gz, initial_bytes=500, max_read=16 * 1024)
    reads = 0
    while True:
        reads += 1
        chunk = tail.read()
        if chunk.lines:
            break
        assert reads < 1000
    assert reads > 3  # it took several budgets, none stalled the caller for long
    assert chunk.reset and chunk.lines[-1] == content.decode().splitlines()[-1]
    assert all(line.startswith("step ") for line in chunk.lines)


def test_concatenated_members_and_short_logs(tmp_path):
    gz = tmp_path / "a.log.gz"
    gz.write_bytes(gzip.compress(b"one\ntwo\n") + gzip.compress(b"three\nno newline"))
    assert FileTail(gz).read().lines == ("one", "two", "three", "no newline")
    short = tmp_path / "b.log.gz"
    _gzip_like_compress(short, b"a\nb\r\nc\n")
    assert FileTail(short).read().lines == ("a", "b", "c")


def test_broken_gzip_gives_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "worker.stderr.log.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00not deflate data at all")
    chunk = FileTail(bad).read()
    assert chunk.reset and len(chunk.lines) == 1
    assert chunk.lines[0].startswith("log compressed: worker.stderr.log.gz cannot be read: ")
    truncated = tmp_path / "t.log.gz"
    truncated.write_bytes(gzip.compress(_log(1000))[:-50])
    lines = FileTail(truncated).read().lines
    assert lines == (
        "log compressed: t.log.gz cannot be read: ends in the middle of its gzip "
        "stream (truncated)",
    )


def test_replaced_gzip_is_read_again(tmp_path):
    gz = tmp_path / "x.log.gz"
    _gzip_like_compress(gz, b"first\n")
    tail = FileTail(gz)
    assert tail.read().lines == ("first",)
    other = tmp_path / "new.gz"
    _gzip_like_compress(other, b"second\n")
    other.replace(gz)
    chunk = tail.read()
    assert chunk.reset and chunk.lines == ("second",)


def test_scanner_points_logs_at_the_compressed_files(tmp_path):
    run = tmp_path / "run"
    (run / "logs").mkdir(parents=True)
    (run / "logs" / "worker.stdout.log.gz").write_bytes(gzip.compress(b"x\n"))
    (run / "logs" / "worker.stderr.log").write_text("plain\n")
    (run / "logs" / "worker.stderr.log.gz").write_bytes(gzip.compress(b"old\n"))
    logs = scan_run(run).logs
    assert logs.stdout == "logs/worker.stdout.log.gz"
    assert logs.stderr == "logs/worker.stderr.log"  # the plain log wins while it exists
    top = tmp_path / "top"
    top.mkdir()
    (top / "stdout.log.gz").write_bytes(gzip.compress(b"x\n"))
    assert scan_run(top).logs.stdout == "stdout.log.gz"


def test_scanner_follows_a_hinted_log_to_its_gz_without_warning(tmp_path):
    run = tmp_path / "run"
    (run / "out").mkdir(parents=True)
    (run / "artifacts_manifest.json").write_text('{"stdout_log": "out/train.log"}')
    (run / "out" / "train.log.gz").write_bytes(gzip.compress(b"x\n"))
    manifest = scan_run(run)
    assert manifest.logs.stdout == "out/train.log.gz"
    assert not [w for w in manifest.warnings if "train.log" in w.problem]


def test_log_panel_shows_the_end_of_a_compressed_log(qtbot, tmp_path):
    from gui_fastpath.manifest import Logs
    from gui_fastpath.qt.log_tail_view import LogTailView

    content = _log(30_000)
    (tmp_path / "logs").mkdir()
    _gzip_like_compress(tmp_path / "logs" / "worker.stdout.log.gz", content)
    (tmp_path / "logs" / "worker.stderr.log").write_text("warning: plain\n")
    view = LogTailView(tmp_path, interval_ms=20)
    qtbot.addWidget(view)
    view.set_logs(Logs(stdout="logs/worker.stdout.log.gz", stderr="logs/worker.stderr.log"))
    last = content.decode().splitlines()[-1]
    qtbot.waitUntil(lambda: view.text("stdout").endswith(last))
    assert view.tabs.tabText(0) == "stdout (compressed)"
    assert view.tabs.tabToolTip(0) == "log compressed: worker.stdout.log.gz"
    assert view.panes["stdout"].placeholderText() == "log compressed: worker.stdout.log.gz"
    assert view.tabs.tabText(1) == "stderr"
    qtbot.waitUntil(lambda: view.text("stderr") == "warning: plain")
    view.cleanup()
