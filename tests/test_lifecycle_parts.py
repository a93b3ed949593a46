"""The supervisor's parts on their own: log tee, protocol parsing, progress, event files."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from gui_fastpath.lifecycle import WorkerMessage, parse_protocol_line, parse_sidecar
from gui_fastpath.lifecycle.progress import ProgressTracker
from gui_fastpath.lifecycle.protocol import ProgressSample, sample_from_payload
from gui_fastpath.lifecycle.tee import StreamTee
from gui_fastpath.lifecycle.tfevents import EventFileSteps

pytestmark = pytest.mark.timeout(20)


def hb(step: int) -> bytes:
    return json.dumps({"event": "heartbeat", "run_id": "r", "payload": {"step": step}}).encode()


def tee_pieces(tmp_path, pieces: list[bytes]) -> tuple[list[WorkerMessage], StreamTee]:
    """Feed ``pieces`` through a real pipe, each read by the tee as its own chunk."""
    read_fd, write_fd = os.pipe()
    found: list[WorkerMessage] = []
    finished = threading.Event()
    tee = StreamTee(
        read_fd, tmp_path / "logs" / "w.stdout.log", on_messages=found.extend, on_eof=finished.set
    )
    tee.start()
    sent = 0
    for piece in pieces:
        os.write(write_fd, piece)
        sent += len(piece)
        deadline = time.monotonic() + 5
        while tee.bytes_copied < sent:  # one chunk per piece: wait until it is consumed
            assert time.monotonic() < deadline
            time.sleep(0.001)
    os.close(write_fd)
    assert finished.wait(5)
    return found, tee


def test_tee_copies_every_byte_and_finds_messages_across_chunks(tmp_path):
    line = hb(7)
    pieces = [
        b"plain {not a message}\n" + hb(1)[:10],
        hb(1)[10:] + b"\n  " + hb(2) + b"\nprefix " + hb(3) + b"\n",
        b'{"other": "json", "event": "nope"}\n' + line[:5],
        line[5:20],
        line[20:] + b"\n" + hb(8),  # ends with a message and no newline
    ]
    found, tee = tee_pieces(tmp_path, pieces)
    assert [m.payload["step"] for m in found] == [1, 2, 7, 8]
    assert tee.log_path.read_bytes() == b"".join(pieces)
    assert tee.done and tee.write_error is None


def test_tee_tail_lines(tmp_path):
    read_fd, write_fd = os.pipe()
    finished = threading.Event()
    tee = StreamTee(read_fd, tmp_path / "e.log", on_eof=finished.set, tail_bytes=32)
    tee.start()
    os.write(write_fd, b"".join(b"line %d\n" % i for i in range(20)) + b"no newline")
    os.close(write_fd)
    assert finished.wait(5)
    assert tee.tail_lines(3) == ("line 18", "line 19", "no newline")
    assert tee.tail_lines(100)[0] == "line 18"  # "line 17" was cut by the 32-byte window


def test_tee_reports_a_log_it_cannot_write(tmp_path, caplog):
    read_fd, write_fd = os.pipe()
    finished = threading.Event()
    full = "/dev/full"
    if not os.path.exists(full):
        pytest.skip("needs /dev/full")
    tee = StreamTee(read_fd, tmp_path / "x.log", on_eof=finished.set)
    tee.log_path = type(tee.log_path)(full)  # the disk is full
    tee.start()
    os.write(write_fd, b"data\n")
    os.close(write_fd)
    assert finished.wait(5)
    assert tee.bytes_copied == 5  # the pipe is still drained
    assert isinstance(tee.write_error, OSError)
    assert "/dev/full: cannot write the log (No space left on device)" in caplog.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"plain text", None),
        (b'{"event": "bogus"}', None),
        (b'{"event": "heartbeat"', None),
        (b"[1, 2]", None),
        (
            b' {"event": "run_failed", "run_id": "r", "timestamp": 5, "payload": {"error": "x"}}\r',
            WorkerMessage("run_failed", {"error": "x"}, "r", 5.0),
        ),
        (b'{"event": "heartbeat", "payload": [1]}', WorkerMessage("heartbeat", {})),
    ],
)
def test_parse_protocol_line(line, expected):
    assert parse_protocol_line(line) == expected


def test_sidecar_forms():
    assert parse_sidecar({"step": 5, "timestamp": 3}) == WorkerMessage(
        "heartbeat", {"step": 5, "timestamp": 3}, None, 3.0
    )
    wrapped = {"event": "heartbeat", "payload": {"step": 6}}
    assert parse_sidecar(wrapped) == WorkerMessage("heartbeat", {"step": 6})
    assert parse_sidecar([1]) is None


def test_progress_fields_under_common_names():
    payload = {
        "global_step": 10.0,
        "total_timesteps": 100,
        "episode": 3,
        "SPS": 55.5,
        "checkpoint": "c.pt",
        "memory_mb": True,  # not a number
        "cpu_percent": float("nan"),
    }
    assert sample_from_payload(payload) == ProgressSample(
        step=10, total_steps=100, episode=3, steps_per_s=55.5, last_checkpoint="c.pt"
    )


def test_progress_tracker_rate_fraction_and_sources():
    tracker = ProgressTracker(started=100.0, total_steps=1000)
    tracker.update(ProgressSample(step=100), source="tensorboard", now=101.0)
    tracker.update(ProgressSample(step=50), source="checkpoint", now=102.0)  # never backwards
    progress = tracker.snapshot(103.0)
    assert (progress.step, progress.source, progress.fraction) == (100, "tensorboard", 0.1)
    tracker.update(ProgressSample(step=200), source="stdout", now=104.0)
    tracker.update(ProgressSample(step=400), source="stdout", now=106.0)
    tracker.update(ProgressSample(step=9999), source="tensorboard", now=107.0)  # ignored now
    progress = tracker.snapshot(107.0)
    assert (progress.step, progress.steps_per_s, progress.elapsed_s) == (400, 100.0, 7.0)
    tracker.update(ProgressSample(step=500, steps_per_s=42.0), source="sidecar", now=108.0)
    assert tracker.snapshot(108.0).steps_per_s == 42.0  # the worker's own rate wins


def test_event_file_steps_follow_a_growing_file(tmp_path):
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path))
    writer.add_event(event_pb2.Event(wall_time=1.0, step=5))
    writer.flush()
    path = next(tmp_path.glob("events.out.tfevents.*"))
    steps = EventFileSteps(path)
    assert steps.poll() == 5
    writer.add_event(event_pb2.Event(wall_time=2.0, step=3_000_000_000))
    writer.close()
    assert steps.poll() == 3_000_000_000
    with path.open("ab") as fh:  # a record still being written
        fh.write(b"\x10\x00\x00")
    assert steps.poll() == 3_000_000_000
    assert not steps.corrupt


def test_event_file_with_a_bad_checksum_stops_being_read(tmp_path):
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(b"\x05" + b"\x00" * 30)
    steps = EventFileSteps(path)
    assert steps.poll() is None
    assert steps.corrupt
