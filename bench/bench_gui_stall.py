"""GUI-thread stalls while many demo runs write at once and their tabs are open.

``max_ms``/``p99_ms``: how late the timer fired (wall clock: our work plus the OS not
scheduling the thread); ``busy_*``: the GUI thread's own CPU time between two ticks (our
work alone).

Opens the reference host (offscreen), starts N demo runs through the Fast Path (each a
real supervised worker writing TensorBoard events, an offline W&B run, checkpoints and
heartbeats) with all their tabs open, visits each run's tabs and leaves the last run's
TensorBoard shown (its page loads and follows the run), and measures how late a 5 ms GUI
timer fires: the time the GUI thread was unable to run. The peer is the same window with
no runs (idle), measured in the same process just before; the ratio shows what the runs
add.

    .venv/bin/python bench/bench_gui_stall.py            # 20 runs, 60 s
    .venv/bin/python bench/bench_gui_stall.py --quick    # 2 runs, 10 s
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 5


class StallProbe:
    """Records how late each tick of a ``TICK_MS`` timer fires on the GUI thread."""

    def __init__(self) -> None:
        from qtpy.QtCore import QTimer

        self.gaps_ms: list[float] = []
        self.busy_ms: list[float] = []
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps_ms.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self.busy_ms.append((cpu - self._last_cpu) * 1000)
        self._last, self._last_cpu = now, cpu

    def start(self) -> None:
        self.gaps_ms.clear()
        self.busy_ms.clear()
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._timer.start()

    def stop(self) -> dict[str, float]:
        self._timer.stop()
        gaps = sorted(self.gaps_ms) or [0.0]
        busy = sorted(self.busy_ms) or [0.0]
        return {
            "busy_max_ms": busy[-1],
            "busy_p99_ms": busy[min(len(busy) - 1, int(len(busy) * 0.99))],
            "ticks": len(gaps),
            "max_ms": gaps[-1],
            "p99_ms": gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))],
            "mean_ms": statistics.fmean(gaps),
            "over_50ms": sum(g > 50 for g in gaps),
        }


async def measure(runs: int, seconds: float, total_steps: int, root: Path) -> tuple[dict, dict]:
    from gui_fastpath.demo import DEMO_WORKER_ID, demo_train_config
    from gui_fastpath.qt.host.app import ReferenceHost

    host = ReferenceHost(root)
    host.window.show()
    host.start()
    probe = StallProbe()
    probe.start()
    await asyncio.sleep(min(seconds, 10))
    idle = probe.stop()
    for _ in range(runs):
        config = demo_train_config(total_steps=total_steps, step_delay_ms=1.0)
        await host.start_run(DEMO_WORKER_ID, config)
    probe.start()
    deadline = time.monotonic() + seconds
    # Visit every run's tabs; the last run's TensorBoard stays shown (its page loads, live).
    for run_id in host.window.open_runs():
        for title in ("Fast Path", "W&B", "TensorBoard"):
            host.window.show_tab(run_id, title)
            await asyncio.sleep(0.2)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    loaded = probe.stop()
    await host.aclose()
    host.window.close()
    return idle, loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--total-steps", type=int, default=40_000)
    parser.add_argument("--quick", action="store_true", help="2 runs for 10 s (smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.total_steps = 2, 10.0, 5_000

    import qasync
    from qtpy.QtWidgets import QApplication

    from gui_fastpath.qt.gui_process import prepare_gui_process

    prepare_gui_process()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="gui-stall-") as tmp, loop:
        idle, loaded = loop.run_until_complete(
            measure(args.runs, args.seconds, args.total_steps, Path(tmp) / "runs")
        )
    print(f"GUI-thread stall, {TICK_MS} ms timer; {args.runs} demo runs for {args.seconds:.0f} s")
    print(f"{'':24}{'idle (peer)':>14}{'with runs':>14}")
    for key in ("ticks", "max_ms", "p99_ms", "mean_ms", "over_50ms", "busy_max_ms", "busy_p99_ms"):
        print(f"{key:24}{idle[key]:>14.1f}{loaded[key]:>14.1f}")
    ratio = loaded["p99_ms"] / idle["p99_ms"] if idle["p99_ms"] else float("inf")
    print(f"p99 ratio with runs / idle: {ratio:.2f}x; max stall {loaded['max_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
