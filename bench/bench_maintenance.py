"""Maintenance speed: ``disk_usage`` vs GNU ``du``, ``gzip_log`` vs ``gzip``, and the
compressed log tail vs ``zcat | tail``.

1. Builds a runs root of N finished runs (default 2,000) in the layouts real workers write
   (TensorBoard runs, an offline W&B run, checkpoints, logs, a 300-event ``lifecycle.jsonl``)
   and, with a warm cache, times ``du -s --apparent-size ROOT`` (the peer: stat every
   entry, no categories) and ``disk_usage(ROOT)`` (every run's manifest scan, categories,
   lifecycle state and lock probe).
2. Writes a worker log of S MB (default 256), then times ``gzip -6 -k`` (the peer) and
   ``gzip_log`` (the same compression, plus fsync, a full verification by decompressing
   and comparing, and the atomic rename).
3. Times what the GUI's log panel pays to show the end of the ``.log.gz``: ``FileTail``'s
   first read vs ``zcat LOG.gz | tail -n 100`` (the peer: decompress everything); and for
   a plain ``gzip`` file (no tail member), the total and the longest single read of the
   streamed fallback (256 KB of compressed input per read, as the panel does).

Usage: ``python bench/bench_maintenance.py [--runs N] [--log-mb S] [--repeat K] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gui_fastpath.logs import FileTail
from gui_fastpath.maintenance import disk_usage, gzip_log

_PANEL_BUDGET = 256 * 1024


def build_root(root: Path, runs: int) -> int:
    """Write ``runs`` finished run directories; returns the number of files written."""
    files = 0
    journal = _journal(300)
    for index in range(runs):
        run = root / f"01RUN{index:06d}"
        wandb_run = f"wandb/wandb/offline-run-20250101_120000-id{index:06d}"
        layout = {
            "tensorboard/train/events.out.tfevents.1735732800.host.1.0": b"e" * 4096,
            "tensorboard/eval/events.out.tfevents.1735732801.host.1.0": b"e" * 1024,
            f"{wandb_run}/run-id{index:06d}.wandb": b"w" * 8192,
            f"{wandb_run}/files/config.yaml": b"lr: 0.001\n",
            f"{wandb_run}/logs/debug.log": b"debug\n" * 50,
            "checkpoints/step_1000.pt": b"c" * 4096,
            "checkpoints/step_2000.pt": b"c" * 4096,
            "checkpoints/step_3000.pt": b"c" * 4096,
            "logs/worker.stdout.log": b"step 1 loss 0.5\n" * 500,
            "logs/worker.stderr.log": b"",
            "heartbeat.json": b'{"step": 3000}',
            "lifecycle.jsonl": journal.replace(b"RUN_ID", f"01RUN{index:06d}".encode()),
        }
        for rel, data in layout.items():
            path = run / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files += 1
    return files


def _journal(events: int) -> bytes:
    lines = []
    for seq in range(1, events + 1):
        state = "STARTED" if seq == 1 else "COMPLETED" if seq == events else "RUNNING"
        event = {
            "type": "lifecycle",
            "run_id": "RUN_ID",
            "state": state,
            "timestamp": 1735732800.0 + seq,
            "seq": seq,
            "progress": {"step": seq * 10, "total_steps": events * 10, "source": "stdout"},
        }
        lines.append(json.dumps(event))
    return ("\n".join(lines) + "\n").encode()


def write_log(path: Path, megabytes: int) -> int:
    """A worker log of heartbeat-like lines; returns its size."""
    line = (
        '{"event": "heartbeat", "run_id": "01JGQ7Z5X8", "timestamp": %.3f, '
        '"payload": {"step": %d, "episode": %d, "steps_per_second": %.1f}}\n'
    )
    target = megabytes * 1024 * 1024
    written = 0
    with path.open("w") as fh:
        step = 0
        while written < target:
            chunk = "".join(
                line % (1735732800 + i * 0.25, i * 250, i // 7, 30000 + (i * 37) % 9000)
                for i in range(step, step + 10_000)
            )
            step += 10_000
            fh.write(chunk)
            written += len(chunk)
    return path.stat().st_size


def _best(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _du(root: Path) -> None:
    subprocess.run(
        ["du", "-s", "--apparent-size", "-B1", str(root)], stdout=subprocess.DEVNULL, check=True
    )


def _zcat_tail(gz: Path) -> None:
    subprocess.run(f"zcat '{gz}' | tail -n 100", shell=True, stdout=subprocess.DEVNULL, check=True)


def bench_du(tmp: Path, runs: int, repeat: int) -> None:
    root = tmp / "runs"
    start = time.perf_counter()
    files = build_root(root, runs)
    print(f"built {runs:,} runs, {files:,} files in {time.perf_counter() - start:.1f} s")
    _du(root)
    report = disk_usage(root)  # warm the cache for both
    assert len(report.runs) == runs and all(r.status.finished for r in report.runs)
    assert report.categories["checkpoints"].files == 3 * runs
    du_s = _best(repeat, lambda: _du(root))
    ours_s = _best(repeat, lambda: disk_usage(root))
    print(f"du -s --apparent-size ROOT  {du_s * 1000:9.1f} ms")
    print(f"disk_usage(ROOT)            {ours_s * 1000:9.1f} ms")
    print(f"ratio disk_usage/du         {ours_s / du_s:9.2f} x")


def bench_logs(tmp: Path, megabytes: int, repeat: int) -> None:
    log = tmp / "worker.stdout.log"
    size = write_log(log, megabytes)
    peer_gz = tmp / "peer.log.gz"
    print(f"log: {size / 2**20:.0f} MB")

    def peer() -> None:
        with peer_gz.open("wb") as out:
            subprocess.run(["gzip", "-6", "-c", str(log)], stdout=out, check=True)

    gz = tmp / "ours.log.gz"

    def ours() -> float:
        copy = tmp / "ours.log"
        shutil.copyfile(log, copy)
        gz.unlink(missing_ok=True)
        start = time.perf_counter()
        gzip_log(copy)
        return time.perf_counter() - start

    peer_s = _best(repeat, peer)
    ours_s = min(ours() for _ in range(repeat))
    print(f"gzip -6 (peer)              {peer_s * 1000:9.1f} ms  -> {peer_gz.stat().st_size:,} B")
    print(f"gzip_log (verified, atomic) {ours_s * 1000:9.1f} ms  -> {gz.stat().st_size:,} B")
    print(f"ratio gzip_log/gzip         {ours_s / peer_s:9.2f} x")

    zcat_s = _best(repeat, lambda: _zcat_tail(gz))
    tail_s = _best(repeat, lambda: FileTail(gz, max_read=_PANEL_BUDGET).read())
    assert FileTail(gz).read().lines
    print(f"zcat | tail -n 100 (peer)   {zcat_s * 1000:9.1f} ms")
    print(f"FileTail(.log.gz).read()    {tail_s * 1000:9.3f} ms")
    print(f"ratio zcat/FileTail         {zcat_s / tail_s:9.0f} x")

    tail = FileTail(peer_gz, max_read=_PANEL_BUDGET)
    reads, longest, total = 0, 0.0, 0.0
    while True:
        start = time.perf_counter()
        chunk = tail.read()
        spent = time.perf_counter() - start
        reads, longest, total = reads + 1, max(longest, spent), total + spent
        if chunk.lines:
            break
    print(
        f"plain gzip, streamed        {total * 1000:9.1f} ms in {reads:,} reads, "
        f"longest read {longest * 1000:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000, help="runs in the root")
    parser.add_argument("--log-mb", type=int, default=256, help="size of the log, in MB")
    parser.add_argument("--repeat", type=int, default=3, help="timings per measure (best kept)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.log_mb, args.repeat = 20, 2, 1
    missing = [tool for tool in ("du", "gzip", "zcat", "tail") if shutil.which(tool) is None]
    if missing:
        print(f"not installed: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-maintenance-") as tmp:
        bench_du(Path(tmp), args.runs, args.repeat)
        bench_logs(Path(tmp), args.log_mb, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
