"""End to end: a real worker under ``gui-fastpath launch``, the real watcher, the SSE bridge.

The worker speaks the host's JSON-lines protocol and waits, after each heartbeat, until the
test has *received that heartbeat over SSE*, so every heartbeat is proven to travel the
whole path (worker stdout → supervisor → lifecycle.jsonl → bridge → SSE client) on its own.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest

from gui_fastpath.bridge import BridgeServer, LocalEventSource, SseEventSource
from gui_fastpath.lifecycle import read_lifecycle

pytestmark = pytest.mark.timeout(60)

LOCKSTEP_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    run_dir = Path(os.environ["GUI_FASTPATH_RUN_DIR"])
    acks, steps = Path(sys.argv[1]), int(sys.argv[2])

    def emit(event, **payload):
        line = {"event": event, "run_id": os.environ["GUI_FASTPATH_RUN_ID"],
                "timestamp": time.time(), "payload": payload}
        print(json.dumps(line), flush=True)

    emit("run_started", total_steps=steps)
    for step in range(1, steps + 1):
        emit("heartbeat", step=step)
        deadline = time.monotonic() + 30
        while not (acks / f"ack-{step}").exists() and time.monotonic() < deadline:
            time.sleep(0.002)
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    (run_dir / "checkpoints" / "final.pt").write_bytes(b"weights")
    emit("run_completed", step=steps)
    """
)


async def test_worker_heartbeats_reach_sse_clients_one_by_one(tmp_path):
    runs_root, acks = tmp_path / "runs", tmp_path / "acks"
    runs_root.mkdir()
    acks.mkdir()
    worker = tmp_path / "lockstep_worker.py"
    worker.write_text(LOCKSTEP_WORKER)
    steps = 5

    source = LocalEventSource(runs_root)  # the real RunsWatcher, the real journal tail
    server = BridgeServer(source)
    await server.start()
    client = SseEventSource(server.url, server.token)
    events = client.subscribe("run-e2e")  # before the run exists: it is waited for
    first = asyncio.ensure_future(anext(events))
    launch = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gui_fastpath", "launch", "--runs-root", str(runs_root),
        "--run-id", "run-e2e", "--", sys.executable, str(worker), str(acks), str(steps),
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    lifecycle, manifests = [], []
    try:
        event = await first
        while True:
            if event.kind == "lifecycle":
                lifecycle.append(event)
                step = (event.data.get("progress") or {}).get("step")
                if event.data["state"] == "RUNNING" and step:
                    (acks / f"ack-{step}").touch()
            elif event.kind == "artifacts":
                manifests.append(event.data["manifest"])
            done = lifecycle and lifecycle[-1].data["state"] == "COMPLETED"
            if done and any(m and m["checkpoints"] for m in manifests):
                break
            event = await anext(events)
        assert await asyncio.wait_for(launch.wait(), 30) == 0
    finally:
        if launch.returncode is None:
            launch.terminate()
            await launch.wait()
        await events.aclose()
        await client.close()
        await server.close()
        await source.close()

    journal = [e.to_dict() for e in read_lifecycle(runs_root / "run-e2e")]
    assert [e.data for e in lifecycle] == journal  # every event, in order, as journaled
    assert lifecycle[0].data["state"] == "STARTED"
    progress = [e.data.get("progress") or {} for e in lifecycle if e.data["state"] == "RUNNING"]
    running_steps = [p["step"] for p in progress if "step" in p]
    assert set(range(1, steps + 1)) <= set(running_steps)
    assert running_steps == sorted(running_steps)
    assert manifests[-1]["checkpoints"][0]["path"] == "checkpoints/final.pt"


async def test_local_and_sse_sources_yield_the_same_events(tmp_path):
    runs_root = tmp_path / "runs"
    (runs_root / "run-a").mkdir(parents=True)
    launch = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gui_fastpath", "launch", "--runs-root", str(runs_root),
        "--run-id", "run-a", "--", sys.executable, "-c", "print('hello')",
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await asyncio.wait_for(launch.wait(), 30) == 0
    local = LocalEventSource(runs_root)
    server = BridgeServer(local)
    await server.start()
    remote = SseEventSource(server.url, server.token)
    try:
        journal_length = len(read_lifecycle(runs_root / "run-a"))

        async def lifecycle_of(source):
            seen = []
            async for event in source.subscribe("run-a"):
                if event.kind == "lifecycle":
                    seen.append((event.id, event.run_id, event.data))
                if len(seen) == journal_length:
                    return seen

        from_disk = await asyncio.wait_for(lifecycle_of(local), 20)
        over_http = await asyncio.wait_for(lifecycle_of(remote), 20)
        assert [d for _, _, d in over_http] == [d for _, _, d in from_disk]
        assert [r for _, r, _ in over_http] == ["run-a"] * journal_length
        assert from_disk[-1][2]["state"] == "COMPLETED"
        assert await remote.list_runs() == await local.list_runs()
    finally:
        await remote.close()
        await server.close()
        await local.close()
