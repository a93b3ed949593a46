"""Scan speed: ``scan_root`` over a runs root vs ``find ROOT`` on the same tree.

Builds a root of N runs (default 10,000) of about ten files each in a temporary directory,
in the layouts real workers write (TensorBoard runs, an offline W&B run, checkpoints,
per-worker logs, a heartbeat and a hint file). Then, with a warm cache, times

* ``find ROOT > /dev/null`` (the peer: the least work that visits every entry),
* ``scan_root(ROOT)`` (every run's manifest), and the ratio (target: at most 2x),
* one run's rescan (``scan_run``; ``update_manifest`` when nothing changed, and after a
  change) — what the watcher pays per change instead of a root rescan.

Usage: ``python bench/bench_scan.py [--runs N] [--repeat K] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gui_fastpath.manifest import scan_root, scan_run, update_manifest

_HINT = json.dumps({"tensorboard_dir": "tensorboard", "worker_type": "cleanrl"})


def build_root(root: Path, runs: int) -> int:
    """Write ``runs`` run directories; returns the number of files written."""
    files = 0
    for index in range(runs):
        run = root / f"01RUN{index:06d}"
        run_id = f"id{index:06d}"
        wandb_run = run / "wandb" / f"offline-run-20250101_120000-{run_id}"
        layout = {
            "tensorboard/events.out.tfevents.1735732800.host.1.0": b"e" * 64,
            "tensorboard/eval/events.out.tfevents.1735732801.host.1.0": b"e" * 64,
            f"{wandb_run.relative_to(run)}/run-{run_id}.wandb": b"w" * 128,
            f"{wandb_run.relative_to(run)}/files/config.yaml": b"lr: 0.001\n",
            "checkpoints/step_1000.pt": b"c" * 256,
            "checkpoints/step_2000.pt": b"c" * 256,
            "logs/cleanrl.stdout.log": b"step 1\n",
            "logs/cleanrl.stderr.log": b"",
            "heartbeat.json": b'{"step": 2000}',
            "artifacts_manifest.json": _HINT.encode(),
        }
        for rel, data in layout.items():
            path = run / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files += 1
    return files


def _best(repeat: int, action) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _find(root: Path) -> None:
    subprocess.run(["find", str(root)], stdout=subprocess.DEVNULL, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the root")
    parser.add_argument("--repeat", type=int, default=5, help="timings per measure (best kept)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.repeat = 50, 2
    if shutil.which("find") is None:
        print("find is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        root = Path(tmp) / "runs"
        start = time.perf_counter()
        files = build_root(root, args.runs)
        print(f"built {args.runs:,} runs, {files:,} files in {time.perf_counter() - start:.1f} s")
        _find(root)
        scanned = scan_root(root)  # warm the cache for both
        assert len(scanned) == args.runs
        sample = scanned[min(scanned)]
        assert sample.tensorboard and len(sample.tensorboard.event_files) == 2
        assert len(sample.checkpoints) == 2 and len(sample.wandb) == 1 and not sample.warnings

        find_s = _best(args.repeat, lambda: _find(root))
        scan_s = _best(args.repeat, lambda: scan_root(root))
        print(f"find ROOT              {find_s * 1000:9.1f} ms")
        print(f"scan_root(ROOT)        {scan_s * 1000:9.1f} ms")
        print(f"ratio scan/find        {scan_s / find_s:9.2f} x   (target <= 2.00)")

        one = root / min(scanned)
        update_manifest(one)
        repeat = max(args.repeat * 20, 50)
        scan_one = _best(repeat, lambda: scan_run(one))
        update_same = _best(repeat, lambda: update_manifest(one))
        marker = one / "checkpoints" / "step_3000.pt"

        def changed() -> None:
            marker.write_bytes(os.urandom(8))
            assert update_manifest(one).written

        update_changed = _best(repeat, changed)
        print(f"scan_run(one run)      {scan_one * 1e6:9.0f} us")
        print(f"update, unchanged      {update_same * 1e6:9.0f} us")
        print(f"update, one change     {update_changed * 1e6:9.0f} us  (incl. fsync'd write)")
        print(f"root scan / one run    {scan_s / scan_one:9.0f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
