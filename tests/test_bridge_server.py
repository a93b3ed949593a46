"""The SSE bridge over real HTTP: a real aiohttp server on 127.0.0.1, real clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket

import aiohttp
import psutil
import pytest

from _bridge_helpers import FakeRunEvents, append_events, wait_until
from gui_fastpath.bridge import BridgeServer, LocalEventSource, SseEventSource
from gui_fastpath.bridge.client import BridgeAuthError, BridgeError
from gui_fastpath.bridge.events import RunCursor
from gui_fastpath.bridge.server import is_loopback
from gui_fastpath.bridge.sse import SseDecoder

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    (root / "run-a").mkdir(parents=True)
    return root


@pytest.fixture
async def watcher():
    return FakeRunEvents()


@pytest.fixture
async def server(runs_root, watcher):
    source = LocalEventSource(runs_root, run_events=watcher, queue_size=64)
    bridge = BridgeServer(source, heartbeat_s=0.2)
    await bridge.start()
    yield bridge
    await bridge.close()
    await source.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


def auth(server):
    return {"Authorization": f"Bearer {server.token}"}


class RawStream:
    """A hand-driven SSE reader over one aiohttp response."""

    def __init__(self, response):
        self.response = response
        self.decoder = SseDecoder()
        self.messages = []

    async def read_until(self, count):
        while len(self.messages) < count:
            chunk = await self.response.content.readany()
            assert chunk, "stream ended early"
            self.messages.extend(self.decoder.feed(chunk))
        return self.messages


async def open_stream(http, server, path, **headers):
    response = await http.get(f"{server.url}{path}", headers={**auth(server), **headers})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return RawStream(response)


# -- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/runs", "/events", "/runs/run-a/events"])
async def test_requests_without_the_token_get_401(server, http, path):
    url = f"{server.url}{path}"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": server.token}):
        async with http.get(url, headers=headers) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert "Authorization: Bearer <token>" in await resp.text()
    async with http.get(url, params={"token": "x" + server.token}) as resp:
        assert resp.status == 401


async def test_token_in_query_is_accepted_for_browsers(server, http):
    async with http.get(f"{server.url}/runs", params={"token": server.token}) as resp:
        assert resp.status == 200


async def test_binds_loopback_ephemeral_port_by_default(server):
    assert server.url.startswith("http://127.0.0.1:")
    port = int(server.url.rsplit(":", 1)[1])
    assert port != 0
    listening = [
        c.laddr
        for c in psutil.Process().net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening)


def test_loopback_detection():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.0.2.1", "example.org"]))


async def test_other_hosts_only_when_asked_and_with_a_warning(runs_root, caplog):
    # 192.0.2.1 (TEST-NET-1) is never assigned here: the warning is logged, binding fails.
    source = LocalEventSource(runs_root, run_events=FakeRunEvents())
    bridge = BridgeServer(source, host="192.0.2.1")
    with caplog.at_level(logging.WARNING), pytest.raises(OSError):
        await bridge.start()
    assert "serving on 192.0.2.1, reachable from other machines" in caplog.text
    await source.close()


async def raw_get(server, target):
    """Status line and body of a request sent byte for byte (no client-side normalising)."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Authorization: Bearer {server.token}\r\n\r\n".encode()
    )
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "run_id", ["..", "%2E%2E", "..%2F..%2Fetc", "a%2Fb", "%00", ".x", "-x", "x" * 129]
)
async def test_hostile_run_ids_are_refused(server, run_id):
    status, body = await raw_get(server, f"/runs/{run_id}/events")
    assert status in (400, 404)
    if status == 404 and b"not a run directory name" not in body:
        assert b"Not Found" in body  # not routed at all


async def test_bad_last_event_id_is_a_clear_400(server, http):
    url = f"{server.url}/runs/run-a/events"
    async with http.get(url, headers={**auth(server), "Last-Event-ID": "42"}) as resp:
        assert resp.status == 400
        assert "reconnect without Last-Event-ID" in await resp.text()


# -- listing and streaming ---------------------------------------------------------------


async def test_list_runs_with_latest_state(server, http, runs_root):
    append_events(runs_root / "run-a", 3)
    (runs_root / "run-b").mkdir()
    runs = {}

    async def listed():
        async with http.get(f"{server.url}/runs", headers=auth(server)) as resp:
            runs.update((r["run_id"], r) for r in (await resp.json())["runs"])
        return "run-b" in runs and runs["run-a"]["seq"] == 3

    await wait_until(listed, what="both runs listed")
    assert runs["run-a"]["state"] == "RUNNING"
    assert runs["run-a"]["seq"] == 3
    assert runs["run-a"]["progress"] == {"step": 30}
    client = SseEventSource(server.url, server.token)
    assert [r.run_id for r in await client.list_runs()] == ["run-a", "run-b"]
    await client.close()


async def test_event_stream_wire_format(server, http, runs_root):
    append_events(runs_root / "run-a", 2)
    stream = await open_stream(http, server, "/runs/run-a/events")
    first, second = await stream.read_until(2)
    assert (first.event, json.loads(first.data)["seq"]) == ("lifecycle", 1)
    assert second.id == f"l2-a0-{server.source.epoch}"
    stream.response.close()


async def test_idle_streams_get_heartbeat_comments(server, http):
    stream = await open_stream(http, server, "/runs/run-a/events")
    received = b""
    while received.count(b"\n: \n\n") < 2:
        received += await stream.response.content.readany()
    assert b"event:" not in received
    stream.response.close()


async def test_hundred_subscribers_each_receive_every_event_in_order(server, runs_root):
    append_events(runs_root / "run-a", 1)
    client = SseEventSource(server.url, server.token)
    received: list[list[int]] = [[] for _ in range(100)]
    total = 60

    async def follow(index):
        async for event in client.subscribe("run-a"):
            received[index].append(event.data["seq"])
            if event.data["seq"] == total:
                return

    tasks = [asyncio.create_task(follow(i)) for i in range(100)]
    await wait_until(lambda: all(received), what="every subscriber connected")
    for _ in range(total - 1):
        append_events(runs_root / "run-a", 1)
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert all(seqs == list(range(1, total + 1)) for seqs in received)
    await client.close()


async def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(
    server, http, runs_root, watcher
):
    append_events(runs_root / "run-a", 3)
    watcher.manifest_changed("run-a", "a.pt")
    stream = await open_stream(http, server, "/runs/run-a/events")
    messages = await stream.read_until(4)
    assert [m.event for m in messages] == ["artifacts", "lifecycle", "lifecycle", "lifecycle"]
    stream.response.close()
    append_events(runs_root / "run-a", 4)
    watcher.manifest_changed("run-a", "a.pt", "b.pt")
    await wait_until(lambda: server.source._hub.summaries()[0].seq == 7)
    await wait_until(lambda: watcher.queue.empty())

    resumed = await open_stream(
        http, server, "/runs/run-a/events", **{"Last-Event-ID": messages[-1].id}
    )
    missed = list(await resumed.read_until(5))
    assert [m.event for m in missed] == ["artifacts"] + ["lifecycle"] * 4
    assert len(json.loads(missed[0].data)["manifest"]["checkpoints"]) == 2
    assert [json.loads(m.data)["seq"] for m in missed[1:]] == [4, 5, 6, 7]
    append_events(runs_root / "run-a", 1)
    (live,) = (await resumed.read_until(6))[5:]
    assert json.loads(live.data)["seq"] == 8
    resumed.response.close()

    by_query = await http.get(
        f"{server.url}/runs/run-a/events",
        params={"token": server.token, "last_event_id": missed[-1].id},  # seq 7
    )
    stream = RawStream(by_query)
    assert [json.loads(m.data)["seq"] for m in await stream.read_until(1)] == [8]
    by_query.close()


async def test_client_resumes_across_a_server_restart(runs_root, watcher):
    source = LocalEventSource(runs_root, run_events=watcher)
    first = BridgeServer(source, heartbeat_s=0.2)
    url = await first.start()
    client = SseEventSource(url, first.token, backoff_s=(0.01, 0.05))
    append_events(runs_root / "run-a", 2)
    events = client.subscribe("run-a")
    assert [(await anext(events)).data["seq"] for _ in range(2)] == [1, 2]
    pending = asyncio.ensure_future(anext(events))
    await first.close()
    append_events(runs_root / "run-a", 2)
    port = int(url.rsplit(":", 1)[1])
    second = BridgeServer(source, port=port, token=first.token, heartbeat_s=0.2)
    await second.start()
    assert (await pending).data["seq"] == 3
    assert (await anext(events)).data["seq"] == 4
    await events.aclose()
    await client.close()
    await second.close()
    await source.close()


async def test_client_stops_on_a_wrong_token(server):
    client = SseEventSource(server.url, "wrong")
    with pytest.raises(BridgeAuthError, match="refused the token"):
        await anext(client.subscribe("run-a"))
    with pytest.raises(BridgeAuthError):
        await client.list_runs()
    await client.close()


async def test_client_names_a_dead_server(runs_root):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SseEventSource(f"http://127.0.0.1:{port}", "t")
    with pytest.raises(BridgeError, match=r"cannot reach the bridge .* 'gui-fastpath serve'"):
        await client.list_runs()
    await client.close()


async def test_removed_run_ends_the_stream(server, runs_root, watcher):
    append_events(runs_root / "run-a", 1)
    client = SseEventSource(server.url, server.token)
    kinds = []

    async def follow():
        async for event in client.subscribe("run-a"):
            kinds.append(event.kind)
            if event.kind == "lifecycle":
                watcher.run_removed("run-a")

    await asyncio.wait_for(follow(), 10)
    assert kinds == ["lifecycle", "run_removed"]
    await client.close()


async def test_all_runs_stream_over_http(server, runs_root):
    client = SseEventSource(server.url, server.token)
    events = client.subscribe(None)
    snapshot = await anext(events)
    assert snapshot.kind == "runs" and snapshot.run_id is None
    assert [r["run_id"] for r in snapshot.data["runs"]] == ["run-a"]
    append_events(runs_root / "run-a", 1)
    update = await anext(events)
    assert (update.kind, update.run_id, update.data["state"]) == ("run", "run-a", "STARTED")
    await events.aclose()
    await client.close()


async def test_close_ends_open_streams_promptly(runs_root, watcher, http):
    source = LocalEventSource(runs_root, run_events=watcher)
    bridge = BridgeServer(source, heartbeat_s=30)
    await bridge.start()
    stream = await open_stream(http, bridge, "/runs/run-a/events")
    await asyncio.wait_for(bridge.close(), 3)
    rest = await stream.response.content.read()  # returns: the server ended the stream
    assert rest == b": gui-fastpath events of run run-a\n\n"
    await source.close()


async def test_slow_client_is_dropped_and_resumes_from_its_last_id(runs_root, http, caplog):
    source = LocalEventSource(runs_root, run_events=FakeRunEvents(), queue_size=8)
    bridge = BridgeServer(source, heartbeat_s=30)
    await bridge.start()
    loop = asyncio.get_running_loop()
    port = int(bridge.url.rsplit(":", 1)[1])
    with socket.socket() as sock:  # a client that connects, then never reads
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        request = "GET /runs/run-a/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n"
        await loop.sock_sendall(sock, request.format(bridge.token).encode())
        await wait_until(lambda: source._hub._runs["run-a"].subscribers, what="subscribed")
        with caplog.at_level(logging.WARNING, logger="gui_fastpath.bridge.server"):
            while "dropping slow SSE client" not in caplog.text:
                written = append_events(runs_root / "run-a", 10, message="x" * 50_000)[-1]
                await wait_until(lambda n=written: source._hub.summaries()[0].seq == n)
    assert "fell 8 events behind and was dropped; resume from event id l" in caplog.text
    last_id = re.search(r"resume from event id (\S+)", caplog.text)[1]
    assert 0 < RunCursor.parse(last_id).lifecycle < written
    resumed = await open_stream(http, bridge, "/runs/run-a/events", **{"Last-Event-ID": last_id})
    missed = await resumed.read_until(written - RunCursor.parse(last_id).lifecycle)
    seqs = [json.loads(m.data)["seq"] for m in missed]
    assert seqs == list(range(RunCursor.parse(last_id).lifecycle + 1, written + 1))
    resumed.response.close()
    await bridge.close()
    await source.close()


async def test_client_reconnects_when_a_server_goes_silent():
    connections, started, finished = [], [], []

    async def silent(reader, writer):  # answers like an SSE server, then says nothing
        started.append(writer)
        try:
            connections.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            await writer.drain()
            await reader.read()  # until the client gives up on us
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up mid-request: what it does when it gives up
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            finished.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = SseEventSource(
        f"http://127.0.0.1:{port}", "t", idle_timeout_s=0.1, backoff_s=(0.01, 0.01)
    )
    pending = asyncio.ensure_future(anext(client.subscribe("run-a", "l3-a0-ff")))
    await wait_until(lambda: len(connections) >= 2, what="a second connection")
    assert b"last-event-id: l3-a0-ff" in connections[1].lower()
    pending.cancel()
    await client.close()
    await wait_until(lambda: len(finished) == len(started), what="handlers done")
    server.close()
    await server.wait_closed()


async def test_client_close_ends_its_iterators(server):
    client = SseEventSource(server.url, server.token)
    events = client.subscribe("run-a")
    waiting = asyncio.ensure_future(anext(events))
    await wait_until(lambda: server.source._hub._runs["run-a"].subscribers, what="connected")
    await client.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 10)
