"""The event reader against files written by TensorBoard's own writer and parsed by TensorBoard."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.util import tensor_util

from _event_files import (
    AppendingWriter,
    scalar_rows,
    simple_event,
    tf2_event,
    tf2_value,
    write_events,
)
from gui_fastpath.tensorboard.event_reader import (
    EventFileError,
    EventFileReader,
    ScalarPoint,
    ScalarReader,
    read_scalars,
)

pytestmark = pytest.mark.timeout(30)


def _accumulated(path: Path) -> dict[str, list[tuple[int, float, float]]]:
    """What TensorBoard's own loader makes of a file: tag → (step, wall_time, value)."""
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    out = {
        tag: [(e.step, e.wall_time, e.value) for e in acc.Scalars(tag)]
        for tag in acc.Tags()["scalars"]
    }
    for tag in acc.Tags()["tensors"]:
        if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
            out[tag] = [
                (e.step, e.wall_time, float(tensor_util.make_ndarray(e.tensor_proto)))
                for e in acc.Tensors(tag)
            ]
    return out


def _ours(path: Path) -> dict[str, list[tuple[int, float, float]]]:
    runs = read_scalars(path, strict=True)
    return {
        tag: [(p.step, p.wall_time, p.value) for p in series]
        for tag, series in runs.get(".", {}).items()
    }


def test_simple_values_match_tensorboard(tmp_path):
    path = write_events(tmp_path, scalar_rows(300, ("a", "b/c", "ünïcode/tag")))
    assert _ours(path) == _accumulated(path)
    assert len(_ours(path)["ünïcode/tag"]) == 300


def test_tf2_tensor_scalars_match_tensorboard(tmp_path):
    events = [
        tf2_event(f"tf2/{dtype}", step, step * 1.5 - 7, dtype, wall=1.7e9 + step)
        for step in range(40)
        for dtype in ("float32", "float64", "int32", "int64", "float16")
    ]
    path = write_events(tmp_path, events)
    ours = _ours(path)
    assert ours == _accumulated(path)
    assert ours["tf2/int64"][3] == (3, 1.7e9 + 3, -2.0)
    assert ours["tf2/float16"][-1][2] == pytest.approx(51.5)


def test_mixed_layouts_match_tensorboard(tmp_path):
    histogram = summary_pb2.Summary.Value(tag="hist", histo=summary_pb2.HistogramProto(num=3))
    several = summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(tag="x", simple_value=1.0),
            tf2_value("y", 2.0),
            histogram,
        ]
    )
    # TF1-style typed float_val instead of tensor_content, metadata only on the first value.
    typed = tensor_pb2.TensorProto(
        dtype=1, tensor_shape=tensor_shape_pb2.TensorShapeProto(), float_val=[4.25]
    )
    events = [
        event_pb2.Event(wall_time=1.0, file_version="brain.Event:2"),
        simple_event("x", 0, 0.5, wall=2.0),  # step 0 is omitted on the wire
        simple_event("x", -5, 0.25, wall=2.5),  # a negative step: a 10-byte varint
        event_pb2.Event(wall_time=3.0, step=1, summary=several),
        event_pb2.Event(wall_time=4.0, step=2, summary=summary_pb2.Summary(value=[histogram])),
        tf2_event("y", 3, 3.0, wall=5.0),
        event_pb2.Event(
            wall_time=6.0,
            step=4,
            summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="y", tensor=typed)]),
        ),
        simple_event("x" * 200, 5, 9.0, wall=7.0),  # a long tag: multi-byte lengths
    ]
    path = write_events(tmp_path, events)
    ours = _ours(path)
    assert ours == _accumulated(path)
    assert ours["x"] == [(0, 2.0, 0.5), (-5, 2.5, 0.25), (1, 3.0, 1.0)]
    assert ours["y"] == [(1, 3.0, 2.0), (3, 5.0, 3.0), (4, 6.0, 4.25)]
    assert "hist" not in ours


def test_non_scalar_tensor_is_reported_once_and_skipped(tmp_path):
    vector = tf2_value("v", 0.0)
    vector.tensor.tensor_shape.dim.add(size=2)
    vector.tensor.tensor_content = struct.pack("<2f", 1.0, 2.0)
    events = [event_pb2.Event(step=s, summary=summary_pb2.Summary(value=[vector])) for s in (1, 2)]
    path = write_events(tmp_path, [*events, simple_event("ok", 3, 1.0)])
    reader = ScalarReader(path)
    update = reader.poll()
    assert reader.tags(".") == ("ok",)
    [problem] = update.problems
    assert (problem.field, problem.stopped) == ("summary.value['v'].tensor", False)
    assert "holds 2 elements; a scalar holds exactly one" in str(problem)


def test_incremental_reads_only_new_bytes(tmp_path):
    writer = AppendingWriter(tmp_path)
    try:
        reader = ScalarReader(tmp_path)
        writer.add(scalar_rows(50))
        first = reader.poll()
        size = writer.path.stat().st_size
        assert first.bytes_read == size
        assert len(first.points["."]["train/loss"]) == 50
        writer.add([simple_event("train/loss", 50, 1.5, wall=5.0)])
        second = reader.poll()
        assert second.bytes_read == writer.path.stat().st_size - size
        assert second.points == {".": {"train/loss": second.points["."]["train/loss"]}}
        assert list(second.points["."]["train/loss"]) == [ScalarPoint(50, 5.0, 1.5)]
        assert len(reader.series(".", "train/loss")) == 51
        assert reader.poll().bytes_read == 0
        assert reader.max_step == 50
        assert reader.latest()["."]["train/loss"] == ScalarPoint(50, 5.0, 1.5)
    finally:
        writer.close()


def test_torn_tail_is_not_yet_and_completes_later(tmp_path):
    source = write_events(tmp_path / "src", scalar_rows(20))
    data = source.read_bytes()
    target = tmp_path / "live" / source.name
    target.parent.mkdir()
    reader = EventFileReader(target)
    seen = []
    # Grow the file a few bytes at a time, cutting records (and headers) anywhere.
    for cut in range(0, len(data) + 1, 7):
        target.write_bytes(data[:cut])
        found, problems = reader.read()
        assert problems == []
        seen += [p.step for p in found.get("train/loss", [])]
    target.write_bytes(data)
    found, _ = reader.read()
    seen += [p.step for p in found.get("train/loss", [])]
    assert seen == list(range(20))
    assert reader.bytes_read == len(data)  # every byte read once
    assert reader.pending_bytes == 0


@pytest.mark.parametrize(
    ("flip", "field"),
    [(lambda start: start + 2, "length checksum"), (lambda start: start + 14, "data checksum")],
)
def test_corrupt_record_stops_and_says_where(tmp_path, flip, field):
    path = write_events(tmp_path, scalar_rows(10, ("t",)))
    data = bytearray(path.read_bytes())
    starts = _record_starts(bytes(data))
    bad = starts[5]
    data[flip(bad)] ^= 0x40
    path.write_bytes(bytes(data))
    reader = ScalarReader(path)
    update = reader.poll()
    assert len(reader.series(".", "t")) == 4  # the version record, then steps 0..3
    [problem] = update.problems
    assert (problem.path, problem.offset, problem.field, problem.stopped) == (
        path,
        bad,
        field,
        True,
    )
    assert f"{path} at byte {bad}: {field}:" in str(problem)
    assert f"truncate -s {bad} {path}" in str(problem)
    with path.open("ab") as f:  # appending after corruption changes nothing
        f.write(bytes(data[starts[1] : starts[2]]))
    assert not reader.poll().changed
    with pytest.raises(EventFileError, match=f"at byte {bad}: {field}"):
        read_scalars(path, strict=True)


def test_garbage_length_at_the_end_is_corruption_not_a_torn_tail(tmp_path):
    path = write_events(tmp_path, scalar_rows(3, ("t",)))
    with path.open("ab") as f:
        f.write(struct.pack("<QI", 1 << 40, 12345) + b"xx")
    update = ScalarReader(path).poll()
    assert [p.field for p in update.problems] == ["length checksum"]


def test_valid_checksum_bad_protobuf_is_skipped_and_reported(tmp_path):
    path = write_events(tmp_path, [simple_event("t", 1, 1.0)])
    from gui_fastpath.tensorboard._tfrecord import masked_crc32c

    junk = b"\x2a\x05\x0a"  # a summary claiming 5 bytes, holding 1
    record = (
        struct.pack("<Q", len(junk))
        + struct.pack("<I", masked_crc32c(struct.pack("<Q", len(junk))))
        + junk
        + struct.pack("<I", masked_crc32c(junk))
    )
    with path.open("ab") as f:
        f.write(record)
    tail = write_events(tmp_path / "more", [simple_event("t", 2, 2.0)]).read_bytes()
    with path.open("ab") as f:
        f.write(tail)
    reader = ScalarReader(path)
    update = reader.poll()
    assert [p.step for p in reader.series(".", "t")] == [1, 2]
    [problem] = update.problems
    assert (problem.field, problem.stopped) == ("Event", False)
    assert "runs past the end of its message" in problem.problem


def test_log_dir_runs_and_new_files(tmp_path):
    write_events(tmp_path / "run_a", scalar_rows(5))
    reader = ScalarReader(tmp_path)
    first = reader.poll()
    assert reader.runs == ("run_a",)
    assert len(first.new_files) == 1
    write_events(tmp_path / "run_b" / "eval", [tf2_event("eval/return", 7, 3.5)])
    write_events(tmp_path, [simple_event("top", 9, 1.0)], suffix=".2")
    second = reader.poll()
    assert reader.runs == (".", "run_a", "run_b/eval")
    assert len(second.new_files) == 2
    assert set(second.points) == {".", "run_b/eval"}
    assert reader.latest()["run_b/eval"] == {"eval/return": ScalarPoint(7, 1.7e9, 3.5)}
    assert reader.max_step == 9
    assert not reader.poll().changed


def test_resumed_run_files_read_in_name_order(tmp_path):
    first = write_events(tmp_path, [simple_event("t", s, s) for s in range(3)], suffix=".a")
    second = write_events(tmp_path, [simple_event("t", s, s) for s in range(3, 6)], suffix=".b")
    assert first.name < second.name
    series = read_scalars(tmp_path)["."]["t"]
    assert series.steps.tolist() == list(range(6))
    assert series.values.dtype == np.float64


def test_file_that_shrinks_is_reported(tmp_path):
    path = write_events(tmp_path, scalar_rows(5))
    reader = ScalarReader(tmp_path)
    reader.poll()
    path.write_bytes(path.read_bytes()[:10])
    [problem] = reader.poll().problems
    assert problem.field == "size"
    assert "reopen the run" in str(problem)


def test_archived_file_disappearing_is_not_an_error(tmp_path):
    path = write_events(tmp_path / "run", scalar_rows(5))
    reader = ScalarReader(tmp_path)
    reader.poll()
    shutil.move(path, tmp_path / "elsewhere")
    update = reader.poll()
    assert update.problems == ()
    assert len(reader.series("run", "train/loss")) == 5


def _record_starts(data: bytes) -> list[int]:
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        pos += 16 + struct.unpack_from("<Q", data, pos)[0]
    return starts


def test_random_mix_matches_tensorboard(tmp_path):
    """Many tags of equal length, every layout, metadata only on a tag's first tensor value."""
    rng = np.random.default_rng(7)
    simple_tags = [f"agent_{i:02d}/return" for i in range(12)]
    tensor_tags = [f"agent_{i:02d}/t_loss" for i in range(6)]
    dtypes = ("float32", "float64", "int32", "int64", "float16")
    seen: set[str] = set()
    events = []
    for n in range(3000):
        step = int(rng.choice([0, -3, n, n * 1000, 2**40 + n]))
        kind = rng.integers(0, 10)
        if kind < 5:
            events.append(simple_event(str(rng.choice(simple_tags)), step, float(rng.normal())))
        elif kind < 8:
            tag = str(rng.choice(tensor_tags))
            dtype = dtypes[tensor_tags.index(tag) % len(dtypes)]
            value = tf2_value(tag, float(rng.integers(-50, 50)), dtype)
            if tag in seen and rng.random() < 0.5:
                value.ClearField("metadata")
            seen.add(tag)
            summary = summary_pb2.Summary(value=[value])
            events.append(event_pb2.Event(wall_time=float(n), step=step, summary=summary))
        elif kind < 9:
            pair = [
                summary_pb2.Summary.Value(tag=str(rng.choice(simple_tags)), simple_value=1.0),
                summary_pb2.Summary.Value(tag="hist", histo=summary_pb2.HistogramProto(num=2)),
            ]
            summary = summary_pb2.Summary(value=pair)
            events.append(event_pb2.Event(wall_time=float(n), step=step, summary=summary))
        else:
            events.append(event_pb2.Event(wall_time=float(n), step=step))
    path = write_events(tmp_path, events)
    assert _ours(path) == _accumulated(path)


def test_bfloat16_and_typed_values(tmp_path):
    bf16 = tf2_value("bf16", 0.0)
    bf16.tensor.dtype = 14
    bf16.tensor.tensor_content = struct.pack("<H", 0x3FC0)  # 1.5
    half_typed = tf2_value("half", 0.0)
    half_typed.tensor.dtype = 19
    half_typed.tensor.ClearField("tensor_content")
    half_typed.tensor.half_val.append(struct.unpack("<H", struct.pack("<e", -2.5))[0])
    events = [
        event_pb2.Event(wall_time=1.0, step=s, summary=summary_pb2.Summary(value=[v]))
        for s in (1, 2)
        for v in (bf16, half_typed)
    ]
    runs = read_scalars(write_events(tmp_path, events), strict=True)
    assert runs["."]["bf16"].values.tolist() == [1.5, 1.5]
    assert runs["."]["half"].values.tolist() == [-2.5, -2.5]


def test_mutated_payloads_with_valid_checksums_never_crash(tmp_path):
    """Hostile records (valid framing, damaged protobuf) are skipped or read, never raise."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    rng = np.random.default_rng(11)
    seeds = [
        simple_event("loss", 123456, 0.5).SerializeToString(),
        tf2_event("tf2/loss", 77, 2.0).SerializeToString(),
        tf2_event("tf2/i", 5, 3, "int64").SerializeToString(),
    ]
    path = tmp_path / "events.out.tfevents.0.fuzz"
    with path.open("wb") as f:
        writer = RecordWriter(f)
        for n in range(1500):
            payload = bytearray(seeds[n % len(seeds)])
            for _ in range(int(rng.integers(1, 4))):
                payload[int(rng.integers(0, len(payload)))] = int(rng.integers(0, 256))
            writer.write(bytes(payload))
        writer.write(seeds[0])
    reader = ScalarReader(path)
    update = reader.poll()
    assert reader.files[0].offset == path.stat().st_size  # read to the end
    assert all(not p.stopped for p in update.problems)
    assert reader.series(".", "loss").last == ScalarPoint(123456, 1.7e9, 0.5)


def test_byte_budget_splits_a_large_read(tmp_path):
    write_events(tmp_path / "a", scalar_rows(400), suffix=".1")
    write_events(tmp_path / "a", scalar_rows(10), suffix=".2")
    write_events(tmp_path / "b", scalar_rows(10))
    reader = ScalarReader(tmp_path)
    updates = [reader.poll(max_bytes=10_000)]
    while updates[-1].more:
        updates.append(reader.poll(max_bytes=10_000))
    assert len(updates) > 3
    assert all(u.bytes_read <= 10_000 for u in updates)
    assert reader.series("a", "train/loss").steps.tolist() == [*range(400), *range(10)]
    assert len(reader.series("b", "train/loss")) == 10
    assert reader.bytes_read == sum(p.stat().st_size for p in tmp_path.rglob("*tfevents*"))
