"""Event files for tests, written by TensorBoard's own writer.

Scalars come in the two shapes found in the wild: ``simple_value`` (PyTorch's
``SummaryWriter``, tensorboardX, TF1) and tensors as TF2's ``tf.summary.scalar`` writes them
(C++ ``SummaryFileWriter::WriteTensor``: the value in ``tensor_content``, a 0-d shape, the
``scalars`` plugin metadata on every value).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter

TF_DTYPES = {
    "float32": (1, "<f"),
    "float64": (2, "<d"),
    "int32": (3, "<i"),
    "int64": (9, "<q"),
    "float16": (19, "<e"),
}


def simple_event(tag: str, step: int, value: float, wall: float = 1.7e9) -> event_pb2.Event:
    """A scalar as PyTorch's SummaryWriter writes it."""
    value_pb = summary_pb2.Summary.Value(tag=tag, simple_value=value)
    return event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[value_pb]))


def tf2_value(tag: str, value: float, dtype: str = "float32") -> summary_pb2.Summary.Value:
    """A scalar value as TF2 writes it: tensor_content, 0-d shape, scalars metadata."""
    code, fmt = TF_DTYPES[dtype]
    number = int(value) if dtype.startswith("int") else value
    tensor = tensor_pb2.TensorProto(
        dtype=code,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(),
        tensor_content=struct.pack(fmt, number),
    )
    meta = scalar_metadata.create_summary_metadata(display_name=tag, description="")
    return summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)


def tf2_event(
    tag: str, step: int, value: float, dtype: str = "float32", wall: float = 1.7e9
) -> event_pb2.Event:
    summary = summary_pb2.Summary(value=[tf2_value(tag, value, dtype)])
    return event_pb2.Event(wall_time=wall, step=step, summary=summary)


def write_events(log_dir: Path, events: list[event_pb2.Event], suffix: str = "") -> Path:
    """Write events with TensorBoard's EventFileWriter; returns the event file."""
    writer = EventFileWriter(str(log_dir), filename_suffix=suffix)
    for event in events:
        writer.add_event(event)
    writer.close()
    return Path(writer._file_name)


class AppendingWriter:
    """TensorBoard's writer kept open, flushed on demand, as a live worker does."""

    def __init__(self, log_dir: Path) -> None:
        self._writer = EventFileWriter(str(log_dir), max_queue_size=1 << 20, flush_secs=3600)
        self.path = Path(self._writer._file_name)

    def add(self, events: list[event_pb2.Event]) -> None:
        for event in events:
            self._writer.add_event(event)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def scalar_rows(
    n: int, tags: tuple[str, ...] = ("train/loss", "charts/sps")
) -> list[event_pb2.Event]:
    rng = np.random.default_rng(0)
    return [
        simple_event(tag, step, float(rng.normal()), 1.7e9 + step)
        for step in range(n)
        for tag in tags
    ]
