"""Watcher speed and memory: ``RunsWatcher`` vs a 500 ms polling loop (what the host does).

Sections, each in one run with its peer:

1. latency: write to one run -> ``ManifestChanged``, p50/p99, ours (native, and polling at
   100 ms) vs the host's loop (``update_manifest`` on each run every 500 ms); ratio printed.
2. burst: 1,000 new event files in one run -> time until one event reflects all of them,
   how many events and rescans it took; same for the 500 ms loop.
3. 10k-run root: the initial scan, then a change in one run: latency, rescans per change,
   process CPU per change vs one ``update_manifest`` of that run. Polling mode on that
   root: idle CPU, cold/hot change latency, vs watchfiles' own polling (``force_polling``).
4. memory: ``gui-fastpath watch ROOT`` as a subprocess on the 10k root while a writer keeps
   changing runs (appends, checkpoints, new and deleted runs) for ``--minutes``; RSS samples.

Usage: ``python bench/bench_watch.py [--runs N] [--minutes M] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import watchfiles

from bench_scan import build_root
from gui_fastpath.manifest import update_manifest
from gui_fastpath.watch import ManifestChanged, RunsFilter, RunsWatcher

PEER_INTERVAL_S = 0.5
SECTIONS = ("latency", "burst", "root", "memory")
_NEW_RUNS_KEPT = 20
"""The memory section's writer deletes its oldest new run beyond this many."""
EVENT_FILE = "tensorboard/events.out.tfevents.1735732800.host.1.0"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _append(run: Path, rel: str = EVENT_FILE) -> None:
    with open(run / rel, "ab") as f:
        f.write(os.urandom(32))


class CountingRescan:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, run_dir: Path):
        self.calls.append(run_dir.name)
        return update_manifest(run_dir)


class Consumer:
    """Iterates a watcher in a task; (arrival time, event) pairs go to a queue."""

    def __init__(self, watcher: RunsWatcher) -> None:
        self.watcher = watcher
        self.queue: asyncio.Queue[tuple[float, object]] = asyncio.Queue()
        self.batches = 0
        self.task = asyncio.create_task(self._drive())

    async def _drive(self) -> None:
        async for batch in self.watcher:
            now = time.perf_counter()
            self.batches += 1
            for event in batch:
                self.queue.put_nowait((now, event))

    async def until(self, predicate: Callable[[object], bool], timeout: float = 60) -> float:
        while True:
            at, event = await asyncio.wait_for(self.queue.get(), timeout)
            if predicate(event):
                return at

    def drain(self) -> int:
        count = 0
        while not self.queue.empty():
            self.queue.get_nowait()
            count += 1
        return count

    async def close(self) -> None:
        self.watcher.stop()
        await self.task


class PollingPeer:
    """The host's way: every 500 ms, rescan each run; report the runs whose manifest changed."""

    def __init__(self, runs: list[Path], interval_s: float = PEER_INTERVAL_S) -> None:
        self.runs = runs
        self.interval_s = interval_s
        self.queue: asyncio.Queue[tuple[float, object]] = asyncio.Queue()
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            started = time.perf_counter()
            for run in self.runs:
                update = update_manifest(run)
                if update.changes:
                    self.queue.put_nowait((time.perf_counter(), (run.name, update)))
            await asyncio.sleep(max(0.0, self.interval_s - (time.perf_counter() - started)))

    async def until(self, predicate: Callable[[object], bool], timeout: float = 60) -> float:
        while True:
            at, item = await asyncio.wait_for(self.queue.get(), timeout)
            if predicate(item):
                return at

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def _changed(run_id: str) -> Callable[[object], bool]:
    return lambda e: isinstance(e, ManifestChanged) and e.run_id == run_id


def _peer_changed(run_id: str) -> Callable[[object], bool]:
    return lambda item: item[0] == run_id  # type: ignore[index]


async def _latencies(
    source, runs: list[Path], changes: int, peer: bool, rng: random.Random, period_s: float
) -> list[float]:
    """Time ``changes`` appends; each waits a random part of the source's timer period first,
    so writes do not phase-lock with its wake-ups."""
    found = []
    for _ in range(changes):
        await asyncio.sleep(rng.uniform(0.0, period_s))
        run = rng.choice(runs)
        start = time.perf_counter()
        _append(run)
        found.append((await source.until((_peer_changed if peer else _changed)(run.name))) - start)
    return found


def _report(name: str, values: list[float]) -> tuple[float, float]:
    p50, p99 = _pct(values, 50), _pct(values, 99)
    print(f"  {name:34s} p50 {_ms(p50)}  p99 {_ms(p99)}  max {_ms(max(values))}  n={len(values)}")
    return p50, p99


async def bench_latency(root: Path, changes: int, peer_changes: int) -> None:
    print("\n## latency: one write -> event (10 runs)")
    runs = sorted(p for p in root.iterdir())[:10]
    rng = random.Random(1)
    consumer = Consumer(RunsWatcher(root, report_existing=False))
    await asyncio.wait_for(consumer.watcher.ready.wait(), 60)
    ours = await _latencies(consumer, runs, changes, False, rng, 0.05)
    await consumer.close()
    polling = Consumer(RunsWatcher(root, poll_ms=100, report_existing=False))
    await asyncio.wait_for(polling.watcher.ready.wait(), 60)
    ours_poll = await _latencies(polling, runs, max(10, changes // 4), False, rng, 0.1)
    await polling.close()
    peer = PollingPeer(runs)
    await asyncio.sleep(PEER_INTERVAL_S * 2)  # let it settle
    theirs = await _latencies(peer, runs, peer_changes, True, rng, PEER_INTERVAL_S)
    await peer.close()
    _, ours_p99 = _report("ours, native (debounce 50 ms)", ours)
    _report("ours, polling (poll_ms=100)", ours_poll)
    _, theirs_p99 = _report("host: 500 ms polling loop", theirs)
    print(f"  p99 ratio host/ours {theirs_p99 / ours_p99:6.1f} x   (target: ours p99 <= 100 ms)")
    print(f"  p50 ratio host/ours {_pct(theirs, 50) / _pct(ours, 50):6.1f} x")


async def bench_burst(root: Path, files: int, repeats: int) -> None:
    print(f"\n## burst: {files:,} new event files in one run")
    run = sorted(root.iterdir())[0]
    rescan = CountingRescan()
    consumer = Consumer(RunsWatcher(root, rescan=rescan, report_existing=False))
    await asyncio.wait_for(consumer.watcher.ready.wait(), 60)

    async def one_burst(source, index: int, peer: bool) -> tuple[float, float]:
        folder = run / "tensorboard" / f"burst{index}"
        prefix = f"tensorboard/burst{index}/"

        def complete(item: object) -> bool:
            if peer:
                update = item[1]  # type: ignore[index]
                manifest = update.manifest
            elif isinstance(item, ManifestChanged):
                manifest = item.manifest
            else:
                return False
            tb = manifest.tensorboard
            return (
                tb is not None and sum(e.path.startswith(prefix) for e in tb.event_files) == files
            )

        await asyncio.sleep(0.3)
        start = time.perf_counter()
        folder.mkdir()
        for i in range(files):
            (folder / f"events.out.tfevents.{1735732800 + i}.host.1.0").write_bytes(b"e" * 64)
        written = time.perf_counter()
        done = await source.until(complete)
        return done - start, written - start

    rows = []
    for index in range(repeats):
        rescan.calls.clear()
        batches_before = consumer.batches
        total, write_s = await one_burst(consumer, index, False)
        await asyncio.sleep(consumer.watcher.max_batch_ms / 1000 * 2)  # any stragglers
        events = consumer.drain() + 1
        rows.append((total, write_s, consumer.batches - batches_before, len(rescan.calls), events))
    await consumer.close()
    peer = PollingPeer([run])
    await asyncio.sleep(PEER_INTERVAL_S * 2)
    peer_rows = [await one_burst(peer, repeats + i, True) for i in range(repeats)]
    await peer.close()
    for total, write_s, batches, rescans, _ in rows:
        print(
            f"  ours: reflected {_ms(total)} after the first write (writing took {_ms(write_s)})"
            f", {batches} batches, {rescans} rescans"
        )
    for total, write_s in peer_rows:
        print(f"  host: reflected {_ms(total)} after the first write (writing took {_ms(write_s)})")
    worst, peer_worst = max(r[0] for r in rows), max(r[0] for r in peer_rows)
    print(
        f"  worst: ours {_ms(worst)} (target <= 1 s), host {_ms(peer_worst)}, ratio "
        f"{peer_worst / worst:.1f} x"
    )


async def bench_big_root(root: Path, changes: int, idle_s: float) -> None:
    runs = sorted(root.iterdir())
    print(f"\n## {len(runs):,}-run root")
    rescan = CountingRescan()
    proc = psutil.Process()
    cpu0, start = time.process_time(), time.perf_counter()
    consumer = Consumer(RunsWatcher(root, rescan=rescan))
    await consumer.until(lambda e: getattr(e, "run_id", None) == runs[-1].name, timeout=600)
    print(
        f"  initial scan + {len(runs):,} RunAppeared: {time.perf_counter() - start:6.2f} s "
        f"({time.process_time() - cpu0:.2f} s CPU); RSS {proc.memory_info().rss / 2**20:.0f} MB"
    )
    consumer.drain()
    rng = random.Random(2)
    latency, cpu, rescans = [], [], []
    for _ in range(changes):
        await asyncio.sleep(rng.uniform(0.05, 0.1))
        run = rng.choice(runs)
        rescan.calls.clear()
        cpu0, start = time.process_time(), time.perf_counter()
        _append(run)
        latency.append(await consumer.until(_changed(run.name)) - start)
        cpu.append(time.process_time() - cpu0)
        rescans.append(len(rescan.calls))
    await consumer.close()
    direct = []
    for _ in range(changes):
        run = rng.choice(runs)
        _append(run)
        cpu0 = time.process_time()
        update_manifest(run)
        direct.append(time.process_time() - cpu0)
    _report("change -> event latency", latency)
    print(f"  rescans per change: {sorted(set(rescans))}  (target: [1])")
    ours_cpu, one_cpu = statistics.median(cpu), statistics.median(direct)
    print(
        f"  process CPU per change {_ms(ours_cpu)} vs one update_manifest {_ms(one_cpu)}"
        f"  ({ours_cpu / one_cpu:.1f} x; includes the watcher's idle wake-ups)"
    )
    await bench_big_root_polling(root, runs, idle_s)


async def bench_big_root_polling(root: Path, runs: list[Path], idle_s: float) -> None:
    print(f"  polling every 500 ms, idle for {idle_s:.0f} s, then changes:")
    rng = random.Random(3)
    cpu0, start = time.process_time(), time.perf_counter()
    consumer = Consumer(RunsWatcher(root, poll_ms=500, report_existing=False))
    await asyncio.wait_for(consumer.watcher.ready.wait(), 600)
    setup = time.perf_counter() - start, time.process_time() - cpu0
    cpu0 = time.process_time()
    await asyncio.sleep(idle_s)
    idle_cpu = (time.process_time() - cpu0) / idle_s
    cold, hot = [], []
    for _ in range(3):
        run = rng.choice(runs)
        for bucket in (cold, hot):
            start = time.perf_counter()
            _append(run)
            bucket.append(await consumer.until(_changed(run.name)) - start)
    await consumer.close()
    print(
        f"    ours: start {setup[0]:5.2f} s ({setup[1]:.2f} s CPU), idle CPU {idle_cpu:5.1%}, "
        f"cold-run change {_ms(max(cold))} worst, hot-run change {_ms(max(hot))} worst"
    )

    stop = threading.Event()
    cpu0, start = time.process_time(), time.perf_counter()
    changes = watchfiles.awatch(
        root,
        watch_filter=RunsFilter(str(root.resolve())),
        force_polling=True,
        poll_delay_ms=500,
        stop_event=stop,
        step=25,
        debounce=500,  # type: ignore[arg-type]
    )
    first = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(idle_s)  # includes its initial walk, which happens in this time
    idle_cpu = (time.process_time() - cpu0) / idle_s
    run = rng.choice(runs)
    start = time.perf_counter()
    _append(run)
    await first
    found = time.perf_counter() - start
    stop.set()
    await changes.aclose()
    print(
        f"    watchfiles force_polling: CPU {idle_cpu:5.1%} over the same {idle_s:.0f} s "
        f"(incl. its start), a change seen after {_ms(found)} (no rescan included)"
    )


def bench_memory(root: Path, minutes: float, sample_s: float) -> None:
    print(f"\n## memory: `gui-fastpath watch ROOT` for {minutes:g} min of changes")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui_fastpath", "watch", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    lines = [0]

    def drain() -> None:
        assert proc.stdout is not None
        for _ in proc.stdout:
            lines[0] += 1

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    runs = sorted(p for p in root.iterdir() if p.is_dir())
    while lines[0] < len(runs):  # the initial RunAppeared lines
        if proc.poll() is not None:
            raise SystemExit(f"gui-fastpath watch exited with status {proc.returncode}")
        time.sleep(0.1)
    watcher = psutil.Process(proc.pid)
    rng = random.Random(4)
    created: list[Path] = []
    samples: list[tuple[float, float]] = []
    start = next_sample = time.monotonic()
    ops = 0
    try:
        while (now := time.monotonic()) - start < minutes * 60:
            if now >= next_sample:
                samples.append((now - start, watcher.memory_info().rss / 2**20))
                next_sample += sample_s
            _one_change(rng, runs, created, root, ops)
            ops += 1
            time.sleep(0.02)
        samples.append((time.monotonic() - start, watcher.memory_info().rss / 2**20))
    finally:
        proc.terminate()
        proc.wait(30)
        reader.join(10)
        for run in created:
            shutil.rmtree(run, ignore_errors=True)
    rss = [mb for _, mb in samples]
    half = samples[len(samples) // 2 :]
    slope = _slope(half) * 60
    print(
        f"  {ops:,} changes, {lines[0] - len(runs):,} events printed; RSS samples every "
        f"{sample_s:g} s: first {rss[0]:.1f} MB, min {min(rss):.1f}, max {max(rss):.1f}, "
        f"last {rss[-1]:.1f} MB"
    )
    print(f"  slope over the second half: {slope:+.2f} MB/min (flat: about 0)")
    marks = [next(mb for at, mb in samples if at >= 60 * m) for m in range(int(minutes) + 1)]
    print(f"  RSS at 0, 1, 2, ... min: {', '.join(f'{mb:.1f}' for mb in marks)} MB")


def _one_change(rng: random.Random, runs: list[Path], created: list[Path], root: Path, n: int):
    """One change; the number of runs and of files stays level, so memory should too."""
    roll = rng.random()
    if roll < 0.7:
        _append(rng.choice(runs))
    elif roll < 0.85:
        run = rng.choice(runs)
        (run / "checkpoints" / f"bench_{n}.pt").write_bytes(b"c" * 256)
        old = sorted((run / "checkpoints").glob("bench_*.pt"))
        for path in old[:-2]:
            path.unlink()
    else:
        run = root / f"01NEW{n:08d}"
        (run / "tensorboard").mkdir(parents=True)
        (run / EVENT_FILE).write_bytes(b"e" * 64)
        created.append(run)
        if len(created) > _NEW_RUNS_KEPT:
            _remove_run(created.pop(0))


def _remove_run(run: Path) -> None:
    """``rm -rf`` a run, again if the watcher wrote its artifacts.json in it meanwhile."""
    for _ in range(10):
        try:
            shutil.rmtree(run)
            return
        except FileNotFoundError:
            return
        except OSError:
            continue
    shutil.rmtree(run)


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


async def _small_root(args: argparse.Namespace, small: Path) -> None:
    if "latency" in args.sections:
        await bench_latency(small, args.changes, args.peer_changes)
    if "burst" in args.sections:
        await bench_burst(small, args.burst, args.repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the big root")
    parser.add_argument("--changes", type=int, default=300, help="single changes timed (ours)")
    parser.add_argument("--peer-changes", type=int, default=100, help="... for the 500 ms loop")
    parser.add_argument("--burst", type=int, default=1_000, help="files in one burst")
    parser.add_argument("--repeat", type=int, default=3, help="bursts")
    parser.add_argument("--big-changes", type=int, default=50, help="changes in the big root")
    parser.add_argument("--idle-s", type=float, default=10.0, help="idle CPU sample, polling")
    parser.add_argument("--minutes", type=float, default=10.0, help="memory benchmark length")
    parser.add_argument("--sample-s", type=float, default=10.0, help="RSS sample interval")
    parser.add_argument(
        "--sections",
        type=lambda text: set(text.split(",")),
        default=set(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if not args.sections <= set(SECTIONS):
        parser.error(f"--sections: choose from {','.join(SECTIONS)}")
    if args.quick:
        args.runs, args.changes, args.peer_changes, args.burst, args.repeat = 200, 10, 4, 100, 1
        args.big_changes, args.idle_s, args.minutes, args.sample_s = 5, 1.0, 0.05, 1.0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"python {sys.version.split()[0]}, watchfiles {watchfiles.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load}; --runs {args.runs} "
        f"--minutes {args.minutes:g}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        small, big = Path(tmp) / "small", Path(tmp) / "big"
        build_root(small, 10)
        os.sync()
        asyncio.run(_small_root(args, small))
        if args.sections & {"root", "memory"}:
            start = time.perf_counter()
            files = build_root(big, args.runs)
            os.sync()  # so the fsyncs of artifacts.json writes do not queue behind the build
            took = time.perf_counter() - start
            print(f"built {args.runs:,} runs, {files:,} files in {took:.1f} s")
        if "root" in args.sections:
            asyncio.run(bench_big_root(big, args.big_changes, args.idle_s))
        if "memory" in args.sections:
            bench_memory(big, args.minutes, args.sample_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
