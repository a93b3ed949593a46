"""Event reader throughput: ours vs TensorBoard's ``EventAccumulator`` vs the Rust data server.

Writes a log directory holding one event file of about 25 MB of scalars with TensorBoard's
own writer (``EventFileWriter``), in two layouts: ``simple_value`` (what PyTorch's
``SummaryWriter``, tensorboardX and CleanRL write) and TF2 tensors (what ``tf.summary.scalar``
writes: value in ``tensor_content``, ``scalars`` metadata on every value). Then, page cache
warm, it times until every point is in memory (or served):

* ``ScalarReader(log_dir).poll()`` (ours; every record's CRC32C checked),
* the same framing with the records decoded by ``event_pb2.Event.FromString`` (the upb
  protobuf backend) instead of our decoder: the measurement behind our choice of decoder,
* ``EventAccumulator(path, size_guidance={scalars: 0, tensors: 0}).Reload()`` (the Python
  loader TensorBoard uses without ``--load_fast``),
* the Rust ``tensorboard-data-server`` (from the ``tensorboard_data_server`` package) started
  with ``--logdir DIR --reload once --samples-per-plugin scalars=all``: time from process
  start until its gRPC ``ListScalars`` reports the file's last step for every tag (polled
  every 2 ms). By default it checksums only records that fail to parse; ``--checksum`` (all)
  is timed too.

Then it appends about 1 MB with TensorBoard's ``RecordWriter`` and times a refresh, printing
the bytes each reader read. Usage: ``python bench/bench_event_reader.py [--mb 25] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import tensorboard_data_server
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.data.proto import data_provider_pb2, data_provider_pb2_grpc
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.summary.writer.record_writer import RecordWriter

from gui_fastpath.tensorboard import ScalarReader
from gui_fastpath.tensorboard._tfrecord import frame_records

TAGS = (
    "charts/episodic_return",
    "charts/episodic_length",
    "charts/learning_rate",
    "charts/SPS",
    "losses/value_loss",
    "losses/policy_loss",
    "losses/entropy",
    "losses/approx_kl",
)
_MB = 1 << 20


def _event(layout: str, tag: str, step: int, value: float) -> event_pb2.Event:
    if layout == "simple_value":
        v = summary_pb2.Summary.Value(tag=tag, simple_value=value)
    else:
        tensor = tensor_pb2.TensorProto(
            dtype=1,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(),
            tensor_content=struct.pack("<f", value),
        )
        meta = scalar_metadata.create_summary_metadata(display_name=tag, description="")
        v = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)
    return event_pb2.Event(
        wall_time=1.7e9 + step * 0.01, step=step, summary=summary_pb2.Summary(value=[v])
    )


def write_log(log_dir: Path, layout: str, size: int) -> tuple[Path, int]:
    """One event file of about ``size`` bytes; returns it and its last step."""
    writer = EventFileWriter(str(log_dir), max_queue_size=4096)
    path = Path(writer._file_name)
    step = 0
    while True:
        for tag in TAGS:
            writer.add_event(_event(layout, tag, step, step * 0.001))
        step += 1
        if step % 256 == 0:
            writer.flush()
            if path.stat().st_size >= size:
                break
    writer.close()
    return path, step - 1


def append(path: Path, layout: str, first_step: int, size: int) -> tuple[int, int]:
    """Append about ``size`` bytes with TensorBoard's RecordWriter; returns (bytes, last step)."""
    before = path.stat().st_size
    step = first_step
    with path.open("ab") as f:
        writer = RecordWriter(f)
        while f.tell() - before < size:
            for tag in TAGS:
                writer.write(_event(layout, tag, step, step * 0.001).SerializeToString())
            step += 1
    return path.stat().st_size - before, step - 1


# -- the readers ---------------------------------------------------------------------------


def ours(log_dir: Path, last_step: int) -> ScalarReader:
    reader = ScalarReader(log_dir)
    reader.poll()
    assert reader.max_step == last_step, (reader.max_step, last_step)
    assert reader.tags(".") == tuple(sorted(TAGS))
    return reader


def upb_decoder(path: Path, last_step: int) -> None:
    """Our framing and CRC checks, with upb's Event parsing instead of our decoder."""
    buf = path.read_bytes()
    frames = frame_records(buf)
    series: dict[str, list[tuple[int, float, float]]] = {}
    parse = event_pb2.Event.FromString
    for start, length in zip(frames.starts.tolist(), frames.lengths.tolist(), strict=True):
        event = parse(buf[start : start + length])
        for v in event.summary.value:
            if v.HasField("simple_value"):
                value = v.simple_value
            elif v.HasField("tensor"):
                value = struct.unpack("<f", v.tensor.tensor_content)[0]
            else:
                continue
            series.setdefault(v.tag, []).append((event.step, event.wall_time, value))
    assert max(s[-1][0] for s in series.values()) == last_step


def accumulator(path: Path, last_step: int) -> EventAccumulator:
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    _check_accumulator(acc, last_step)
    return acc


def _check_accumulator(acc: EventAccumulator, last_step: int) -> None:
    tags = acc.Tags()
    tag = TAGS[-1]
    events = acc.Scalars(tag) if tag in tags["scalars"] else acc.Tensors(tag)
    assert events[-1].step == last_step


def rust_server(log_dir: Path, last_step: int, checksum: bool) -> float:
    """Seconds from process start until the server serves every tag's last step."""
    port_file = log_dir.parent / "port"
    port_file.unlink(missing_ok=True)
    args = [
        str(tensorboard_data_server.server_binary()),
        f"--logdir={log_dir}",
        "--host=127.0.0.1",
        "--port=0",
        f"--port-file={port_file}",
        "--reload=once",
        "--samples-per-plugin=scalars=all",
        "--die-after-stdin",
        "--checksum" if checksum else "--no-checksum",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        while not port_file.exists() or not port_file.read_text().endswith("\n"):
            if proc.poll() is not None:
                raise RuntimeError(f"data server exited with status {proc.returncode}")
            time.sleep(0.002)
        port = int(port_file.read_text())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = data_provider_pb2_grpc.TensorBoardDataProviderStub(channel)
            scalars = data_provider_pb2.PluginFilter(plugin_name="scalars")
            request = data_provider_pb2.ListScalarsRequest(experiment_id="", plugin_filter=scalars)
            while True:
                response = stub.ListScalars(request)
                steps = [t.metadata.max_step for r in response.runs for t in r.tags]
                if len(steps) == len(TAGS) and min(steps) == last_step:
                    return time.perf_counter() - start
                time.sleep(0.002)
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=10)


# -- measuring -----------------------------------------------------------------------------


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_layout(root: Path, layout: str, size: int, repeat: int) -> None:
    log_dir = root / layout
    path, last = write_log(log_dir, layout, size)
    mb = path.stat().st_size / _MB
    print(f"\n## {layout}: {path.stat().st_size:,} bytes, {(last + 1) * len(TAGS):,} points")
    path.read_bytes()  # warm the page cache for everyone
    t_ours = best_of(repeat, lambda: ours(log_dir, last))
    t_upb = best_of(repeat, lambda: upb_decoder(path, last))
    t_acc = best_of(1, lambda: accumulator(path, last))
    rust = [rust_server(log_dir, last, checksum=False) for _ in range(repeat)]
    rust_crc = [rust_server(log_dir, last, checksum=True) for _ in range(repeat)]
    t_rust, t_rust_crc = min(rust), min(rust_crc)
    rows = [
        ("gui_fastpath ScalarReader", t_ours),
        ("same framing, upb Event parsing", t_upb),
        ("EventAccumulator (tensorboard)", t_acc),
        ("Rust data server (default: --no-checksum)", t_rust),
        ("Rust data server --checksum", t_rust_crc),
    ]
    print(f"{'reader':44} {'seconds':>8} {'MB/s':>7} {'ours x':>7}")
    for name, t in rows:
        print(f"{name:44} {t:8.3f} {mb / t:7.1f} {t / t_ours:7.1f}")
    print(
        f"rust median of {repeat}: {statistics.median(rust):.3f} s (checksum: "
        f"{statistics.median(rust_crc):.3f} s)"
    )

    reader = ours(log_dir, last)
    acc = accumulator(path, last)
    file_size = path.stat().st_size
    added, new_last = append(path, layout, last + 1, _MB if size >= 4 * _MB else size // 4)
    start = time.perf_counter()
    update = reader.poll()
    t_refresh = time.perf_counter() - start
    assert reader.max_step == new_last
    start = time.perf_counter()
    acc.Reload()
    t_acc_refresh = time.perf_counter() - start
    _check_accumulator(acc, new_last)
    print(
        f"refresh after appending {added:,} bytes to a {file_size:,}-byte file: ours read "
        f"{update.bytes_read:,} bytes ({update.bytes_read / added:.3f}x the appended bytes, "
        f"{update.bytes_read / file_size:.3f}x the file) in {t_refresh * 1000:.1f} ms; "
        f"EventAccumulator.Reload() {t_acc_refresh * 1000:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=25.0, help="event file size (default 25)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--quick", action="store_true", help="256 KB, one repetition (smoke test)")
    parser.add_argument("--layout", choices=("simple_value", "tf2_tensor", "both"), default="both")
    args = parser.parse_args(argv)
    size, repeat = (_MB // 4, 1) if args.quick else (int(args.mb * _MB), args.repeat)
    layouts = ("simple_value", "tf2_tensor") if args.layout == "both" else (args.layout,)
    print(f"python {sys.version.split()[0]}; sizes in MB = 2**20 bytes")
    with tempfile.TemporaryDirectory(prefix="bench_event_reader_") as tmp:
        for layout in layouts:
            bench_layout(Path(tmp), layout, size, repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
