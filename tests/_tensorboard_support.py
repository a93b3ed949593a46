"""Test support for the TensorBoard parts: scalar event files, and the processes we manage."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

TAGS = ("train/loss", "train/return")


def write_scalars(log_dir: Path, steps: range, tags: tuple[str, ...] = TAGS) -> None:
    """An event file written by TensorBoard's own writer: each tag at ``step * 0.5``."""
    writer = EventFileWriter(str(log_dir))
    for step in steps:
        values = [Summary.Value(tag=tag, simple_value=step * 0.5) for tag in tags]
        writer.add_event(Event(wall_time=time.time(), step=step, summary=Summary(value=values)))
    writer.close()


def managed_processes() -> list[psutil.Process]:
    """Our TensorBoard front ends and data servers still running below this test process."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            cmd = " ".join(proc.cmdline())
            if proc.status() != psutil.STATUS_ZOMBIE and (
                "_launch.py" in cmd or "tensorboard_data_server" in cmd
            ):
                found.append(proc)
        except psutil.Error:
            continue
    return found
