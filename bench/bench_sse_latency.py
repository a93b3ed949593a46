"""Heartbeat latency through the SSE bridge vs a client polling the same server every 500 ms.

A real worker under ``gui-fastpath launch`` prints a JSON-lines heartbeat (its own
``time.time()`` in it) every ``--interval-ms``; the supervisor journals each one to
``lifecycle.jsonl``; ``gui-fastpath serve`` (another process) pushes it over SSE. In this
process, ``--subscribers`` SSE clients (``SseEventSource``) and the peer, a client that
polls ``GET /runs`` every 500 ms, note when they first learn of each heartbeat's step.
Latency = that moment minus the worker's write time (all on one clock, one machine).
Also printed: journal → SSE client (the bridge's own share, from the event's timestamp).

Usage: ``python bench/bench_sse_latency.py [--heartbeats N] [--interval-ms MS]
[--subscribers N] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp

from gui_fastpath.bridge import SseEventSource

PEER_INTERVAL_S = 0.5
RUN_ID = "bench-run"

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    count, interval = int(sys.argv[1]), float(sys.argv[2])
    def emit(event, **payload):
        line = {"event": event, "run_id": os.environ["GUI_FASTPATH_RUN_ID"],
                "timestamp": time.time(), "payload": payload}
        print(json.dumps(line), flush=True)
    emit("run_started", total_steps=count)
    next_at = time.monotonic()
    for step in range(1, count + 1):
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
        emit("heartbeat", step=step)
    time.sleep(1.0)  # let the 500 ms poller see the last heartbeat while the run is live
    emit("run_completed", step=count)
    """
)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _row(name: str, values: list[float]) -> str:
    p50, p99 = _pct(values, 50) * 1000, _pct(values, 99) * 1000
    return f"{name:<34} {p50:8.1f} {p99:8.1f} {max(values) * 1000:8.1f} {len(values):6d}"


async def _start_serve(root: Path) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gui_fastpath", "serve", "--runs-root", str(root),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
    return proc, first


async def _sse_client(
    url: str, token: str, learned: dict[int, float], bridge_share: list[float], done: asyncio.Event
) -> None:
    source = SseEventSource(url, token)
    try:
        async for event in source.subscribe(RUN_ID):
            now = time.time()
            if event.kind != "lifecycle":
                continue
            step = (event.data.get("progress") or {}).get("step")
            if event.data["state"] == "RUNNING" and step is not None:
                learned.setdefault(step, now)
                bridge_share.append(now - event.data["timestamp"])
            if event.data["state"] in ("COMPLETED", "FAILED", "CANCELLED"):
                done.set()
                return
    finally:
        await source.close()


async def _polling_client(url: str, token: str, learned: dict[int, float], done: asyncio.Event):
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        while not done.is_set():
            async with http.get(f"{url}/runs", headers=headers) as resp:
                runs = (await resp.json())["runs"]
            now = time.time()
            for run in runs:
                step = (run.get("progress") or {}).get("step")
                if run["run_id"] == RUN_ID and step is not None:
                    for known in range(1, step + 1):
                        learned.setdefault(known, now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), PEER_INTERVAL_S)


def _worker_times(run_dir: Path) -> dict[int, float]:
    sent = {}
    for line in (run_dir / "logs" / "worker.stdout.log").read_text().splitlines():
        message = json.loads(line)
        if message["event"] == "heartbeat":
            sent[message["payload"]["step"]] = message["timestamp"]
    return sent


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-sse-") as tmp:
        root = Path(tmp) / "runs"
        root.mkdir()
        worker = Path(tmp) / "worker.py"
        worker.write_text(WORKER)
        serve, first = await _start_serve(root)
        url, token = first["url"], first["token"]
        done = asyncio.Event()
        sse_learned = [dict[int, float]() for _ in range(args.subscribers)]
        bridge_share: list[float] = []
        poll_learned: dict[int, float] = {}
        try:
            clients = [
                asyncio.create_task(_sse_client(url, token, learned, bridge_share, done))
                for learned in sse_learned
            ]
            poller = asyncio.create_task(_polling_client(url, token, poll_learned, done))
            launch = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gui_fastpath", "launch", "--runs-root", str(root),
                # every heartbeat journaled (by default heartbeats closer than 50 ms coalesce)
                "--run-id", RUN_ID, "--progress-interval-ms", "0",
                "--", sys.executable, str(worker),
                str(args.heartbeats), str(args.interval_ms / 1000),
                stdout=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            status = await launch.wait()
            await asyncio.wait_for(asyncio.gather(*clients, poller), 60)
        finally:
            serve.send_signal(signal.SIGINT)
            await serve.wait()
        if status != 0:
            print(f"worker run failed with status {status}", file=sys.stderr)
            return 1
        sent = _worker_times(root / RUN_ID)

    sse = [learned[s] - t for learned in sse_learned for s, t in sent.items() if s in learned]
    poll = [poll_learned[s] - t for s, t in sent.items() if s in poll_learned]
    missing = sum(len(sent) - len(learned) for learned in sse_learned)
    print(
        f"{args.heartbeats} heartbeats every {args.interval_ms} ms, {args.subscribers} SSE "
        f"subscriber(s); peer: GET /runs every {PEER_INTERVAL_S * 1000:.0f} ms"
    )
    print(f"{'worker heartbeat -> client':<34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>6}")
    print(_row("ours: SSE push", sse))
    print(_row("peer: 500 ms polling", poll))
    print(_row("ours: journal -> SSE client", bridge_share))
    print(f"heartbeats never received over SSE: {missing}")
    ratio = _pct(poll, 99) / _pct(sse, 99)
    print(f"p99 ratio peer/ours: {ratio:.1f}x; p50 ratio: {_pct(poll, 50) / _pct(sse, 50):.1f}x")
    target = "met" if _pct(sse, 99) <= 0.100 else "MISSED"
    print(f"target p99 <= 100 ms: {target}")
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heartbeats", type=int, default=500)
    parser.add_argument("--interval-ms", type=int, default=60)
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="20 heartbeats, for CI smoke runs")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.heartbeats = 20
    raise SystemExit(asyncio.run(main(arguments)))
