"""LocalEventSource: replay, live following, resume, removal and slow consumers, on disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil

import pytest

from _bridge_helpers import FakeRunEvents, append_events, manifest_with, wait_until
from gui_fastpath.bridge import BadEventIdError, BadRunIdError, LocalEventSource, RunEventSource
from gui_fastpath.bridge._lifecycle_tail import LifecycleTail
from gui_fastpath.bridge.events import RunCursor
from gui_fastpath.manifest import write_manifest

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    (root / "run-a").mkdir(parents=True)
    return root


@pytest.fixture
async def source(runs_root):
    watcher = FakeRunEvents()
    src = LocalEventSource(runs_root, run_events=watcher)
    src.watcher = watcher  # type: ignore[attr-defined]
    yield src
    await src.close()


async def take(iterator, count):
    return [await anext(iterator) for _ in range(count)]


async def test_is_a_run_event_source(source):
    assert isinstance(source, RunEventSource)


async def test_replays_history_then_follows_appends(source, runs_root):
    run = runs_root / "run-a"
    append_events(run, 3)
    events = source.subscribe("run-a")
    first = await take(events, 3)
    assert [e.data["seq"] for e in first] == [1, 2, 3]
    assert {e.kind for e in first} == {"lifecycle"}
    assert first[0].data["state"] == "STARTED"
    append_events(run, 2)
    live = await take(events, 2)
    assert [e.data["seq"] for e in live] == [4, 5]
    assert live[-1].id == f"l5-a0-{source.epoch}"
    await events.aclose()


async def test_resume_from_an_id_gives_exactly_the_missed_events(source, runs_root):
    run = runs_root / "run-a"
    append_events(run, 5)
    events = source.subscribe("run-a")
    seen = await take(events, 2)
    await events.aclose()
    append_events(run, 3)
    resumed = source.subscribe("run-a", seen[-1].id)
    rest = await take(resumed, 6)
    assert [e.data["seq"] for e in rest] == [3, 4, 5, 6, 7, 8]
    await resumed.aclose()


async def test_long_history_beyond_the_recent_window_is_read_from_disk(source, runs_root):
    run = runs_root / "run-a"
    append_events(run, 1500)  # ~300 kB: the start reads only the last 64 kB
    await source.start()
    summary = (await source.list_runs())[0]
    assert (summary.run_id, summary.seq, summary.state) == ("run-a", 1500, "RUNNING")
    events = source.subscribe("run-a")
    got = await take(events, 1500)
    assert [e.data["seq"] for e in got] == list(range(1, 1501))
    await events.aclose()


async def test_artifacts_snapshot_first_then_changes(source, runs_root):
    append_events(runs_root / "run-a", 1)
    source.watcher.manifest_changed("run-a", "a.pt")
    source.watcher.manifest_changed("run-a", "a.pt", "b.pt")
    await source.start()
    await wait_until(lambda: source.watcher.queue.empty(), what="watcher events applied")
    events = source.subscribe("run-a")
    got = await take(events, 2)
    assert [e.kind for e in got] == ["artifacts", "lifecycle"]
    assert len(got[0].data["manifest"]["checkpoints"]) == 2  # the current one stands for all
    source.watcher.manifest_changed("run-a", "a.pt", "b.pt")  # same content: not an event
    source.watcher.manifest_changed("run-a", "a.pt", "b.pt", "c.pt")
    live = await anext(events)
    assert (live.kind, live.data["changes"]) == ("artifacts", ["checkpoints"])
    assert len(live.data["manifest"]["checkpoints"]) == 3
    assert RunCursor.parse(live.id).artifacts > RunCursor.parse(got[0].id).artifacts
    await events.aclose()


async def test_manifests_written_by_others_are_published(source, runs_root):
    write_manifest(runs_root / "run-a", manifest_with("run-a", "a.pt"))
    events = source.subscribe("run-a")
    first = await anext(events)
    assert first.kind == "artifacts"
    assert "checkpoints" in first.data["changes"]
    write_manifest(runs_root / "run-a", manifest_with("run-a", "a.pt", "z.pt"))  # no watcher
    second = await anext(events)
    assert [c["path"] for c in second.data["manifest"]["checkpoints"]][-1] == "checkpoints/z.pt"
    await events.aclose()


async def test_run_that_appears_later_is_followed(source, runs_root):
    events = source.subscribe("run-b")
    pending = asyncio.ensure_future(anext(events))
    await source.start()
    append_events(runs_root / "run-b", 2)
    first = await pending
    assert (first.run_id, first.data["seq"]) == ("run-b", 1)
    await events.aclose()


async def test_removed_run_ends_its_stream(source, runs_root):
    append_events(runs_root / "run-a", 1)
    events = source.subscribe("run-a")
    await take(events, 1)
    source.watcher.run_removed("run-a")
    removed = await anext(events)
    assert (removed.kind, removed.data) == ("run_removed", {"run_id": "run-a"})
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    assert await source.list_runs() == []


async def test_without_keeping_manifests_it_follows_what_supervisors_write(runs_root):
    """No rescans of its own (no artifacts.json written); runs come, change and go."""

    async def run_ids() -> set[str]:
        return {r.run_id for r in await src.list_runs()}

    async with LocalEventSource(runs_root, keep_manifests=False) as src:
        append_events(runs_root / "run-b", 1)  # a new run, as its supervisor writes it
        await wait_until(lambda: _has(run_ids(), "run-b"), what="the new run")
        events = src.subscribe("run-b")
        write_manifest(runs_root / "run-b", manifest_with("run-b", "a.pt"))
        kinds = []
        while "artifacts" not in kinds:
            kinds.append((await asyncio.wait_for(anext(events), 10)).kind)
        await events.aclose()
        assert not (runs_root / "run-a" / "artifacts.json").exists()  # never scanned here
        shutil.rmtree(runs_root / "run-b")
        await wait_until(lambda: _lacks(run_ids(), "run-b"), what="the run to go")


async def test_changes_whose_notifications_were_lost_still_arrive(runs_root, monkeypatch):
    """The inotify queue overflows silently under load; the backstop looks every 100 ms."""
    from gui_fastpath.bridge import local

    def deaf_awatch(*_paths, stop_event, rust_timeout, yield_on_timeout, **_options):
        async def timeouts():  # what awatch yields when every notification was dropped
            assert yield_on_timeout
            while not stop_event.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_event.wait(), rust_timeout / 1000)
                yield set()

        return timeouts()

    monkeypatch.setattr(local.watchfiles, "awatch", deaf_awatch)

    async def run_ids() -> set[str]:
        return {r.run_id for r in await src.list_runs()}

    async with LocalEventSource(runs_root, keep_manifests=False, backstop_ms=100) as src:
        events = src.subscribe("run-a")
        append_events(runs_root / "run-a", 2)
        assert [(await anext(events)).data["seq"] for _ in range(2)] == [1, 2]
        write_manifest(runs_root / "run-a", manifest_with("run-a", "a.pt"))
        assert (await asyncio.wait_for(anext(events), 10)).kind == "artifacts"
        await events.aclose()
        append_events(runs_root / "run-b", 1)
        await wait_until(lambda: _has(run_ids(), "run-b"), what="the new run")
        shutil.rmtree(runs_root / "run-b")
        await wait_until(lambda: _lacks(run_ids(), "run-b"), what="the run to go")


async def _has(ids, run_id: str) -> bool:
    return run_id in await ids


async def _lacks(ids, run_id: str) -> bool:
    return run_id not in await ids


async def test_all_runs_stream_lists_then_follows(source, runs_root):
    append_events(runs_root / "run-a", 1)
    events = source.subscribe(None)
    snapshot = await anext(events)
    assert snapshot.kind == "runs"
    assert [r["run_id"] for r in snapshot.data["runs"]] == ["run-a"]
    append_events(runs_root / "run-a", 1)
    update = await anext(events)
    assert (update.kind, update.run_id, update.data["seq"]) == ("run", "run-a", 2)
    await events.aclose()
    append_events(runs_root / "run-a", 1)
    resumed = source.subscribe(None, update.id)
    again = await anext(resumed)
    assert (again.kind, again.data["seq"]) == ("run", 3)
    await resumed.aclose()


async def test_slow_consumer_catches_up_without_loss(runs_root, caplog):
    source = LocalEventSource(runs_root, run_events=FakeRunEvents(), queue_size=4)
    events = source.subscribe("run-a")
    append_events(runs_root / "run-a", 1)
    assert (await anext(events)).data["seq"] == 1
    append_events(runs_root / "run-a", 40)  # overflows the queue of 4 while nobody reads
    await wait_until(lambda: source._hub.summaries()[0].seq == 41)
    with caplog.at_level(logging.INFO, logger="gui_fastpath.bridge.local"):
        rest = await take(events, 40)
    assert [e.data["seq"] for e in rest] == list(range(2, 42))
    assert "subscriber of run-a fell behind; resuming" in caplog.text
    await events.aclose()
    await source.close()


@pytest.mark.parametrize("bad", ["..", "a/b", ".hidden", "x" * 200, ""])
async def test_bad_run_ids_are_refused(source, bad):
    with pytest.raises(BadRunIdError, match="is not a run directory name"):
        await anext(source.subscribe(bad))


async def test_bad_event_id_is_refused(source):
    with pytest.raises(BadEventIdError, match="reconnect without Last-Event-ID"):
        await anext(source.subscribe("run-a", "lifecycle:3"))


async def test_missing_runs_root_names_it(tmp_path):
    source = LocalEventSource(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="nope is not a directory"):
        await source.list_runs()
    await source.close()


def test_journal_tail_starts_near_the_end_and_waits_for_whole_lines(runs_root):
    run = runs_root / "run-a"
    append_events(run, 50)
    tail = LifecycleTail(run, initial_lines=3)
    assert [e["seq"] for e in tail.read()] == [48, 49, 50]
    journal = run / "lifecycle.jsonl"
    line = journal.read_bytes().splitlines(keepends=True)[-1].replace(b'"seq":50', b'"seq":51')
    with journal.open("ab") as fh:
        fh.write(line[:20])  # a writer caught mid-line
    assert tail.read() == []
    with journal.open("ab") as fh:
        fh.write(line[20:])
    assert [e["seq"] for e in tail.read()] == [51]


def test_journal_tail_rereads_a_replaced_journal_and_skips_bad_lines(runs_root, caplog):
    run = runs_root / "run-a"
    append_events(run, 2)
    tail = LifecycleTail(run)
    assert [e["seq"] for e in tail.read()] == [1, 2]
    replacement = run / "lifecycle.new"
    good = (run / "lifecycle.jsonl").read_bytes()
    replacement.write_bytes(good + b"not json\n")
    replacement.replace(run / "lifecycle.jsonl")
    with caplog.at_level(logging.WARNING):
        assert [e["seq"] for e in tail.read()] == [1, 2]  # the caller drops seqs it has seen
    assert "lifecycle.jsonl: line 3 after byte 0 is not a lifecycle event" in caplog.text


async def test_polling_mode_follows_appends(runs_root):
    source = LocalEventSource(runs_root, run_events=FakeRunEvents(), poll_ms=20)
    events = source.subscribe("run-a")
    append_events(runs_root / "run-a", 1)
    assert (await anext(events)).data["seq"] == 1
    append_events(runs_root / "run-a", 1)
    assert (await anext(events)).data["seq"] == 2
    await events.aclose()
    await source.close()


async def test_polling_mode_without_keeping_manifests_sees_runs_come_and_go(runs_root):
    async def run_ids() -> set[str]:
        return {r.run_id for r in await src.list_runs()}

    async with LocalEventSource(runs_root, keep_manifests=False, poll_ms=20) as src:
        append_events(runs_root / "run-b", 1)
        await wait_until(lambda: _has(run_ids(), "run-b"), what="the new run")
        shutil.rmtree(runs_root / "run-b")
        await wait_until(lambda: _lacks(run_ids(), "run-b"), what="the run to go")


async def test_an_id_from_another_process_resumes_lifecycle_exactly(source, runs_root):
    append_events(runs_root / "run-a", 4)
    write_manifest(runs_root / "run-a", manifest_with("run-a", "a.pt"))
    foreign = str(RunCursor(lifecycle=2, artifacts=99, epoch="0ddba11"))
    events = source.subscribe("run-a", foreign)
    got = await take(events, 3)
    assert [e.kind for e in got] == ["artifacts", "lifecycle", "lifecycle"]
    assert [e.data["seq"] for e in got[1:]] == [3, 4]  # the journal's seqs are durable
    assert got[-1].id.endswith(source.epoch)
    await events.aclose()


async def test_close_ends_open_subscriptions(source, runs_root):
    append_events(runs_root / "run-a", 1)
    events = source.subscribe("run-a")
    assert (await anext(events)).data["seq"] == 1
    waiting = asyncio.ensure_future(anext(events))
    await source.close()
    with pytest.raises(StopAsyncIteration):
        await waiting
