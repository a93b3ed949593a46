"""``gui-fastpath serve`` as a real process: first line, token, loopback bind, clean stop."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp
import psutil
import pytest

from _bridge_helpers import append_events

pytestmark = pytest.mark.timeout(60)


async def start_serve(*args):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gui_fastpath",
        "serve",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return proc


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
async def test_serve_prints_url_and_token_then_stops_cleanly(tmp_path, stop_with):
    root = tmp_path / "runs"
    append_events(root / "run-a", 2)
    proc = await start_serve("--runs-root", str(root))
    try:
        first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert set(first) == {"url", "token", "runs_root", "pid"}
        assert first["url"].startswith("http://127.0.0.1:")
        assert len(first["token"]) >= 32
        assert first["pid"] == proc.pid

        listening = [
            c.laddr
            for c in psutil.Process(proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening and {a.ip for a in listening} == {"127.0.0.1"}

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{first['url']}/runs") as resp:
                assert resp.status == 401
            headers = {"Authorization": f"Bearer {first['token']}"}
            async with http.get(f"{first['url']}/runs", headers=headers) as resp:
                runs = (await resp.json())["runs"]
        assert [(r["run_id"], r["seq"]) for r in runs] == [("run-a", 2)]
        assert not any(first["token"] in p.read_text() for p in root.rglob("*") if p.is_file())
    finally:
        proc.send_signal(stop_with)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    stderr = await proc.stderr.read()
    assert b"Traceback" not in stderr


async def test_serve_names_a_missing_runs_root(tmp_path):
    proc = await start_serve("--runs-root", str(tmp_path / "nope"))
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert out == b""
    assert b"nope is not a directory" in err


async def test_serve_streams_events_of_a_run(tmp_path):
    root = tmp_path / "runs"
    append_events(root / "run-a", 1)
    proc = await start_serve("--runs-root", str(root), "--heartbeat-ms", "100")
    try:
        first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        from gui_fastpath.bridge import SseEventSource

        client = SseEventSource(first["url"], first["token"])
        events = client.subscribe("run-a")
        seqs = []

        async def collect():
            async for event in events:
                if event.kind == "lifecycle":
                    seqs.append(event.data["seq"])
                    if len(seqs) == 1:
                        append_events(root / "run-a", 2)
                    if len(seqs) == 3:
                        return

        await asyncio.wait_for(collect(), 30)
        assert seqs == [1, 2, 3]
        await events.aclose()
        await client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
