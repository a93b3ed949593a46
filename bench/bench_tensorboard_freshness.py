"""Freshness: a scalar written by the worker → visible in the embedded TensorBoard page.

A real worker process writes one scalar step at a time with TensorBoard's own writer
(``EventFileWriter``, flushed) and reports the wall time it finished. It is measured until
the chart card's data table *in the page* (``QWebEngineView``, offscreen) shows that step,
checked with ``runJavaScript`` every 50 ms.

* ``ours``: ``TensorBoardTab`` on a pool in ``eager`` mode, fed by the real path: the
  ``RunsWatcher`` (OS notifications, 50 ms debounce) rescans the run and the new manifest
  goes to ``tab.set_manifest``, whose changed event files make the page reload as each of
  the data server's next two load cycles ends (it polls the logs every second). The page
  reloads are counted: each costs the browser ~0.1 s of CPU.
* ``plain``: ``tensorboard --logdir DIR`` in a plain web view, as the host's tab and VS Code
  show it; its backend polls the logs every 5 s. TensorBoard 2.21's page does not reload by
  itself unless the user turns on "Reload data" in its settings (then every 30 s at least):
  measured both ways, the second by setting that option in the page's ``localStorage``.

Writes are spaced by a random 0.2–1.2 s after the previous one was seen, so they land at
every phase of the server's poll cycle. Usage (runs offscreen, needs no display):
``python bench/bench_tensorboard_freshness.py [--quick] [--samples 40] [--plain-samples 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui_fastpath.qt.gui_process import prepare_gui_process

prepare_gui_process()

import qasync  # noqa: E402
from qtpy.QtCore import QUrl  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from gui_fastpath.manifest import update_manifest  # noqa: E402
from gui_fastpath.qt.tensorboard_page import TensorBoardView  # noqa: E402
from gui_fastpath.qt.tensorboard_scripts import SHOWN_STEPS  # noqa: E402
from gui_fastpath.qt.tensorboard_tab import TensorBoardTab  # noqa: E402
from gui_fastpath.tensorboard import ServerOptions, TensorBoardPool  # noqa: E402
from gui_fastpath.watch import ManifestChanged, RunsWatcher  # noqa: E402

TAG = "train/episodic_return"
_ANNOUNCEMENT = re.compile(r"TensorBoard \S+ at (http://\S+) \(Press CTRL\+C to quit\)")
_PROBE_SECONDS = 0.05

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(sys.argv[1])
    tag = sys.argv[2]

    def write(step):
        value = Summary.Value(tag=tag, simple_value=float(step))
        writer.add_event(Event(wall_time=time.time(), step=step, summary=Summary(value=[value])))
        writer.flush()

    for step in range(5):
        write(step)
    print(json.dumps({"step": 4, "written": time.time()}), flush=True)
    for line in sys.stdin:
        step = int(line)
        write(step)
        print(json.dumps({"step": step, "written": time.time()}), flush=True)
    writer.close()
    """
)


class Worker:
    """The training process: writes a step when told to, says when it is on disk."""

    def __init__(self, log_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(log_dir), TAG],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.step = 4

    async def reply(self) -> float:
        assert self.proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, self.proc.stdout.readline)
        return float(json.loads(line)["written"])

    async def write_next(self) -> float:
        assert self.proc.stdin is not None
        self.step += 1
        self.proc.stdin.write(f"{self.step}\n")
        self.proc.stdin.flush()
        return await self.reply()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


async def shown_step(view: Any) -> int:
    """The step the page's chart card for TAG shows (-1 while it shows none)."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    view.evaluate(SHOWN_STEPS, lambda value: future.done() or future.set_result(value))
    value = await future
    return int(value.get(TAG, -1)) if isinstance(value, dict) else -1


async def wait_shown(view: Any, step: int, since: float, timeout: float) -> float | None:
    """Seconds from ``since`` until the page shows ``step``; None after ``timeout``."""
    while time.time() - since < timeout:
        if await shown_step(view) >= step:
            return time.time() - since
        await asyncio.sleep(_PROBE_SECONDS)
    return None


async def sample(view: Any, worker: Worker, count: int, timeout: float) -> list[float | None]:
    latencies: list[float | None] = []
    for _ in range(count):
        await asyncio.sleep(random.uniform(0.2, 1.2))
        written = await worker.write_next()
        latencies.append(await wait_shown(view, worker.step, written, timeout))
        print(f"  step {worker.step}: {latencies[-1]}", file=sys.stderr)
    return latencies


class ReloadCounter:
    """Counts the tab's presses of TensorBoard's reload button."""

    def __init__(self) -> None:
        self.count = 0
        press = TensorBoardTab.reload_page

        def counted(tab: TensorBoardTab) -> None:
            self.count += 1
            press(tab)

        TensorBoardTab.reload_page = counted  # type: ignore[method-assign]


async def measure_ours(root: Path, samples: int, reloads: ReloadCounter) -> list[float | None]:
    run_dir = root / "01HFRESHOURS"
    log_dir = run_dir / "tensorboard"
    worker = Worker(log_dir)
    await worker.reply()
    manifest = update_manifest(run_dir).manifest
    pool = TensorBoardPool(ServerOptions(index_mode="eager"))
    index = pool.prewarm(log_dir)
    tab = TensorBoardTab(run_dir, manifest, pool=pool)
    tab.resize(1200, 900)
    tab.show()
    watcher = RunsWatcher(root, debounce_ms=50, report_existing=False)

    async def follow() -> None:
        async for batch in watcher:
            for event in batch:
                if isinstance(event, ManifestChanged) and event.run_id == run_dir.name:
                    tab.set_manifest(event.manifest)

    following = asyncio.ensure_future(follow())
    try:
        await watcher.ready.wait()
        while tab.state != "ready":
            if tab.state == "failed":
                raise RuntimeError(f"{tab.title.text()}\n{tab.stderr_view.toPlainText()}")
            await asyncio.sleep(0.05)
        if await wait_shown(tab.web_view, worker.step, time.time(), 60) is None:
            raise RuntimeError("the page never showed the first steps")
        reloads.count = 0
        return await sample(tab.web_view, worker, samples, timeout=30)
    finally:
        watcher.stop()
        await following
        tab.cleanup()
        tab.deleteLater()
        index.release()
        pool.shutdown()
        worker.close()


_AUTO_RELOAD = """localStorage.setItem('_tb_global_settings',
  JSON.stringify({autoReload: true, autoReloadPeriodInMs: 30000})); 'true'"""


async def measure_plain(
    root: Path, samples: int, timeout: float, *, auto_reload: bool
) -> list[float | None]:
    log_dir = root / f"plain-{auto_reload}" / "tensorboard"
    worker = Worker(log_dir)
    await worker.reply()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", f"--logdir={log_dir}", "--port=0"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    view = TensorBoardView()
    view.resize(1200, 900)
    view.show()
    try:
        assert server.stderr is not None
        url = ""
        while not url:
            line = await asyncio.get_running_loop().run_in_executor(None, server.stderr.readline)
            if not line:
                raise RuntimeError("tensorboard exited")
            match = _ANNOUNCEMENT.search(line)
            url = match.group(1) if match else ""
        view.setUrl(QUrl(url))
        if auto_reload:  # what the user's "Reload data" setting stores, then a fresh page
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            while await shown_step(view) < 0:
                await asyncio.sleep(_PROBE_SECONDS)
            view.evaluate(_AUTO_RELOAD, done.set_result)
            await done
            view.reload()
        if await wait_shown(view, worker.step, time.time(), 60) is None:
            raise RuntimeError("the plain page never showed the first steps")
        return await sample(view, worker, samples, timeout)
    finally:
        view.release()
        server.terminate()
        server.wait()
        worker.close()


def summary(name: str, latencies: list[float | None], timeout: float) -> tuple[str, float]:
    seen = sorted(t for t in latencies if t is not None)
    missed = len(latencies) - len(seen)
    ranked = sorted(t if t is not None else float("inf") for t in latencies)
    p95 = ranked[max(0, round(0.95 * len(ranked)) - 1)]
    median = statistics.median(ranked)

    def fmt(t: float) -> str:
        return f"> {timeout:.0f} s" if t == float("inf") else f"{t:.2f} s"

    row = (
        f"| {name} | {len(latencies)} | {fmt(median)} | {fmt(p95)} | "
        f"{fmt(max(ranked))} | {missed} |"
    )
    return row, median


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gui-fastpath-freshness-") as tmp:
        root = Path(tmp)
        reloads = ReloadCounter()
        ours = await measure_ours(root, args.samples, reloads)
        default = await measure_plain(root, 1, args.default_timeout, auto_reload=False)
        rows = [
            summary("ours (TensorBoardTab)", ours, 30),
            summary("plain page, as shipped (no auto-reload)", default, args.default_timeout),
        ]
        if args.plain_samples:
            auto = await measure_plain(root, args.plain_samples, 60, auto_reload=True)
            rows.append(summary("plain page, auto-reload on (30 s)", auto, 60))
    print("| viewer | samples | median | p95 | max | not seen |")
    print("|---|---:|---:|---:|---:|---:|")
    for row, _ in rows:
        print(row)
    print(f"\nours: {reloads.count} page reloads for {args.samples} writes")
    ours_median = rows[0][1]
    if len(rows) == 3:
        print(f"\nmedian plain (auto-reload on) / ours: {rows[2][1] / ours_median:.1f}×")
    elif rows[1][1] == float("inf"):
        bound = args.default_timeout / ours_median
        print(f"\nmedian plain (as shipped) / ours: > {bound:.1f}× (never seen by the plain page)")
    else:
        print(f"\nmedian plain (as shipped) / ours: {rows[1][1] / ours_median:.1f}×")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 samples of ours; the plain page as shipped for 3 s; no auto-reload samples",
    )
    parser.add_argument("--samples", type=int, default=40, help="samples of ours")
    parser.add_argument(
        "--plain-samples", type=int, default=5, help="samples of the auto-reloading plain page"
    )
    parser.add_argument(
        "--default-timeout",
        type=float,
        default=60.0,
        help="how long to wait for the plain page as shipped (seconds)",
    )
    args = parser.parse_args()
    if args.quick:
        args.samples, args.plain_samples, args.default_timeout = 3, 0, 3.0
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
