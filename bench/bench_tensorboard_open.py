"""Open tab → first scalar chart data served: plain TensorBoard vs our cold and warm starts.

For a log directory of about 25 MB and one of about 250 MB of scalars (50 tags, one run),
each start is timed from the moment the tab "opens" until TensorBoard's HTTP API serves a
tag's complete series (``/data/plugin/scalars/scalars`` returns the last step written),
polled every 10 ms:

* ``plain``: ``tensorboard --logdir DIR --port 0 --host 127.0.0.1``, what the host's tab and
  VS Code run (TensorBoard 2.21 picks the Rust data server itself, ``--load_fast=auto``);
  timed from process start.
* ``ours cold``: ``TensorBoardPool(index_mode="on-open", keep_spare=False).acquire(DIR)``
  on a fresh pool: our data server and the web front end start together.
* ``ours warm``: ``TensorBoardPool(index_mode="eager")``; ``prewarm(DIR)`` when the run
  starts, and the tab opens once the index is loaded and the spare front end is imported.

Last, it times how soon a TensorBoard that exits at start-up (given a bad flag) is reported:
readiness is TensorBoard's own announcement raced against the process exiting.

Each cell is the median of ``--repeat`` starts (page cache warm: the files are read once
before). The event files are TensorBoard ``Event`` protos framed as TFRecords with the
native CRC32C (TensorBoard's own writer computes CRCs in pure Python at ~2 MB/s); they are
kept in ``--data-dir`` between runs. Usage:
``python bench/bench_tensorboard_open.py [--quick] [--repeat 3] [--data-dir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import google_crc32c
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary

from gui_fastpath.tensorboard import ServerOptions, TensorBoardPool, TensorBoardStartError

TAGS = tuple(f"train/metric_{i:02d}" for i in range(50))
PROBE_TAG = TAGS[0]
_ANNOUNCEMENT = re.compile(r"TensorBoard \S+ at (http://\S+) \(Press CTRL\+C to quit\)")
_MB = 1_000_000


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", _masked_crc(header))
        + data
        + struct.pack("<I", _masked_crc(data))
    )


def make_log_dir(root: Path, megabytes: float) -> tuple[Path, int]:
    """A log directory of ``megabytes`` of scalars; returns it and its last step."""
    log_dir = root / f"scalars-{megabytes:g}MB"
    marker = log_dir / "complete.json"
    if marker.exists():
        return log_dir, int(json.loads(marker.read_text())["last_step"])
    log_dir.mkdir(parents=True, exist_ok=True)
    target, size, step = int(megabytes * _MB), 0, 0
    path = log_dir / "events.out.tfevents.1700000000.bench.1.0"
    with path.open("wb") as out:
        out.write(_record(Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()))
        chunk: list[bytes] = []
        while size < target:
            for i, tag in enumerate(TAGS):
                value = Summary.Value(tag=tag, simple_value=step * 0.001 + i)
                event = Event(wall_time=1.7e9 + step, step=step, summary=Summary(value=[value]))
                chunk.append(_record(event.SerializeToString()))
                size += len(chunk[-1])
            step += 1
            if len(chunk) > 20_000:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))
    marker.write_text(json.dumps({"last_step": step - 1, "bytes": size}))
    return log_dir, step - 1


def _last_step(url: str) -> int | None:
    query = f"{url}data/plugin/scalars/scalars?run=.&tag={PROBE_TAG}"
    try:
        with urllib.request.urlopen(query, timeout=30) as response:
            points = json.load(response)
    except (urllib.error.URLError, ConnectionError, ValueError):
        return None
    return int(points[-1][1]) if points else None


def _wait_served(url: str, last_step: int, started: float, timeout: float = 600.0) -> float:
    while _last_step(url) != last_step:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{url} did not serve step {last_step} within {timeout} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def time_plain(log_dir: Path, last_step: int) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            f"--logdir={log_dir}",
            "--port=0",
            "--host=127.0.0.1",
        ],
        stdin=subprocess.PIPE,  # its data server dies with it (--die-after-stdin)
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            match = _ANNOUNCEMENT.search(line)
            if match:
                return _wait_served(match.group(1), last_step, started)
        raise RuntimeError(f"tensorboard exited with {proc.wait()}")
    finally:
        proc.terminate()
        proc.wait()


def time_ours_cold(log_dir: Path, last_step: int) -> float:
    with TensorBoardPool(ServerOptions(index_mode="on-open", keep_spare=False)) as pool:
        started = time.perf_counter()
        lease = pool.acquire(log_dir)
        return _wait_served(lease.url, last_step, started)


def time_ours_warm(log_dir: Path, last_step: int) -> float:
    with TensorBoardPool(ServerOptions(index_mode="eager")) as pool:
        index = pool.prewarm(log_dir)  # the run started, or its first event file appeared
        if not (index.wait_indexed(600) and pool.wait_spare(60)):
            raise RuntimeError("the index or the spare front end never became ready")
        started = time.perf_counter()
        lease = pool.acquire(log_dir)
        return _wait_served(lease.url, last_step, started)


def time_failed_start(log_dir: Path) -> float:
    """Seconds until a TensorBoard that exits at start-up (a bad flag) is reported."""
    options = ServerOptions(index_mode="off", keep_spare=False, extra_args=("--no_such_flag",))
    with TensorBoardPool(options) as pool:
        started = time.perf_counter()
        try:
            pool.acquire(log_dir)
        except TensorBoardStartError:
            return time.perf_counter() - started
    raise RuntimeError("TensorBoard started despite a bad flag")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MB and 5 MB, one start each")
    parser.add_argument("--repeat", type=int, default=3, help="starts per cell (median)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir(), "gui-fastpath-bench-tensorboard"),
        help="where the generated log directories are kept between runs",
    )
    args = parser.parse_args()
    sizes = (1.0, 5.0) if args.quick else (25.0, 250.0)
    repeat = 1 if args.quick else args.repeat
    starts: dict[str, Callable[[Path, int], float]] = {
        "plain tensorboard --logdir": time_plain,
        "ours cold (on-open)": time_ours_cold,
        "ours warm (prewarmed)": time_ours_warm,
    }
    results: dict[float, dict[str, float]] = {}
    for megabytes in sizes:
        log_dir, last_step = make_log_dir(args.data_dir, megabytes)
        for path in log_dir.glob("*tfevents*"):
            path.read_bytes()  # page cache warm for every contender
        results[megabytes] = {}
        for name, start in starts.items():
            times = [start(log_dir, last_step) for _ in range(repeat)]
            results[megabytes][name] = statistics.median(times)
            print(f"{megabytes:g} MB  {name}: {[round(t, 3) for t in times]}", file=sys.stderr)

    print(f"| log dir | {' | '.join(starts)} | plain / cold | plain / warm |")
    print("|---|" + "---:|" * (len(starts) + 2))
    for megabytes, row in results.items():
        plain, cold, warm = (row[name] for name in starts)
        cells = " | ".join(f"{row[name]:.2f} s" for name in starts)
        print(f"| {megabytes:g} MB | {cells} | {plain / cold:.1f}× | {plain / warm:.1f}× |")
    failed = statistics.median(time_failed_start(log_dir) for _ in range(repeat))
    print(f"\nA TensorBoard that exits at start-up is reported after {failed:.2f} s (median).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
