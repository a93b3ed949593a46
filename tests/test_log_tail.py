from __future__ import annotations

import os

import pytest

from gui_fastpath.logs import FileTail

pytestmark = pytest.mark.timeout(20)


def test_absent_file_then_lines_as_they_arrive(tmp_path):
    log = tmp_path / "stdout.log"
    tail = FileTail(log)
    assert tail.read().lines == ()
    log.write_text("one\ntwo\npar")
    chunk = tail.read()
    assert chunk.lines == ("one", "two") and chunk.reset
    with log.open("a") as f:
        f.write("tial\nthree\n")
    chunk = tail.read()
    assert chunk.lines == ("partial", "three") and not chunk.reset
    assert tail.read().lines == ()


def test_large_file_reads_only_the_end(tmp_path):
    log = tmp_path / "big.log"
    with log.open("wb") as f:
        f.truncate(3 * 1024**3)  # sparse 3 GiB: reading it whole would take seconds
        f.seek(0, os.SEEK_END)
        f.write(b"\n".join(b"line %d" % i for i in range(1000)) + b"\n")
    tail = FileTail(log, initial_bytes=100)
    lines = tail.read().lines
    assert lines[-1] == "line 999"
    assert all(line.startswith("line ") for line in lines)
    assert len(lines) < 20


def test_truncation_starts_over(tmp_path):
    log = tmp_path / "out.log"
    log.write_text("a\nb\n")
    tail = FileTail(log)
    tail.read()
    log.write_text("c\n")
    chunk = tail.read()
    assert chunk.reset and chunk.lines == ("c",)


def test_burst_larger_than_max_read_keeps_newest_lines(tmp_path):
    log = tmp_path / "out.log"
    log.write_text("")
    tail = FileTail(log, max_read=1000)
    tail.read()
    log.write_text("".join(f"{i:05d}\n" for i in range(10_000)))
    chunk = tail.read()
    assert chunk.reset
    assert chunk.lines[-1] == "09999"
    assert all(len(line) == 5 for line in chunk.lines)
