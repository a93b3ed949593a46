"""GUI stalls while the W&B tab loads a ~50 MB offline run, against the usual worker thread.

Ours: :class:`~gui_fastpath.qt.wandb_tab.WandbTab` (the reader runs in a child process,
charts are built one per event-loop turn). Peer: the same reader called in a worker thread
of the GUI process (``OfflineRunReader.read_all`` on a ``threading.Thread``), the way a Qt
tab usually offloads parsing. A 5 ms ``QTimer`` on the GUI thread records how late each
tick is; a stall is the lateness beyond 5 ms. Both load the same file, written by the
installed wandb (100k steps x 8 metrics by default; cached between runs).

    python bench/bench_wandb_tab_stall.py [--quick] [--steps N] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

_WRITER = """
import math, sys, wandb
out, steps = sys.argv[1], int(sys.argv[2])
run = wandb.init(project="bench", dir=out, mode="offline",
                 settings=wandb.Settings(x_disable_stats=True, console="off"))
for i in range(steps):
    run.log({f"metric/{j}": math.sin(i * 0.001 * (j + 1)) for j in range(8)})
run.finish()
"""
_TICK_S = 0.005


def _run(cache: Path, steps: int) -> Path:
    run_dir = cache / f"wandb-{steps}x8"
    if not (run_dir / "complete").exists():
        print(f"writing {steps} steps x 8 metrics with wandb into {run_dir} …", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(WANDB_SILENT="true", HOME=str(cache / "home"))
        subprocess.run(
            [sys.executable, "-c", _WRITER, str(run_dir), str(steps)], env=env, check=True
        )
        (run_dir / "complete").touch()
    return run_dir


def _measure(app, start, done) -> tuple[list[float], float]:
    """Stalls (s) of a 5 ms timer from ``start()`` until ``done()``; and the load time."""
    from qtpy.QtCore import QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(int(_TICK_S * 1000))
    timer.timeout.connect(tick)
    timer.start()
    began = last[0] = time.perf_counter()
    start()
    while not done():
        app.processEvents()
        time.sleep(0.0005)
    took = time.perf_counter() - began
    timer.stop()
    return [max(g - _TICK_S, 0.0) for g in gaps], took


def _ours(app, run_dir: Path):
    from gui_fastpath.manifest import ArtifactManifest, scan_run
    from gui_fastpath.qt.wandb_tab import WandbTab
    from gui_fastpath.wandb.credentials import CredentialStore
    from gui_fastpath.wandb.sync_queue import SyncQueue

    scratch = Path(tempfile.mkdtemp())
    tab = WandbTab(
        run_dir,
        ArtifactManifest(run_id="bench"),
        store=CredentialStore(environ={}),
        queue=SyncQueue(scratch / "queue.json"),
    )
    tab.resize(1200, 800)
    tab.show()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.002)
    manifest = scan_run(run_dir)
    try:
        return _measure(
            app,
            lambda: tab.set_manifest(manifest),
            lambda: tab.updates >= 1 and tab.charts.settled,
        )
    finally:
        tab.cleanup()
        tab.deleteLater()


def _peer(app, run_dir: Path):
    from gui_fastpath.wandb import OfflineRunReader, list_runs

    path = list_runs(run_dir)[0].wandb_file
    finished = threading.Event()
    worker = threading.Thread(
        target=lambda: (OfflineRunReader(path).read_all(), finished.set()), daemon=True
    )
    result = _measure(app, worker.start, finished.is_set)
    worker.join()
    return result


def _row(name: str, stalls: list[float], took: float) -> str:
    ordered = sorted(stalls)
    p99 = ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0
    worst = ordered[-1] if ordered else 0.0
    return f"| {name} | {worst * 1000:.0f} | {p99 * 1000:.1f} | {took:.2f} | {len(stalls)} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (2,000 steps)")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "gui-fastpath-bench"
    )
    args = parser.parse_args()
    steps = 2_000 if args.quick else args.steps
    run_dir = _run(args.cache, steps)

    from qtpy.QtWidgets import QApplication

    import gui_fastpath.qt.wandb_dashboard  # QtWebEngine must load before QApplication

    app = QApplication.instance() or QApplication([])
    import gui_fastpath.wandb.reader  # noqa: F401  (the peer's import is no stall)

    size = next((run_dir / "wandb").glob("offline-run-*/run-*.wandb")).stat().st_size
    peer_stalls, peer_took = _peer(app, run_dir)
    our_stalls, our_took = _ours(app, run_dir)
    print(f"\n{size / 1e6:.1f} MB .wandb file, {steps} steps x 8 metrics\n")
    print("| GUI thread while loading | max stall (ms) | p99 stall (ms) | load (s) | ticks |")
    print("|---|---|---|---|---|")
    print(_row("W&B tab (reader in a child process)", our_stalls, our_took))
    print(_row("peer: reader in a worker thread", peer_stalls, peer_took))
    ratio = max(peer_stalls) / max(max(our_stalls), 1e-6)
    print(f"\nmax stall: peer / ours = {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
