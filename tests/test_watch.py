"""RunsWatcher on a real file system, with real awatch (native) and the polling mode.

The rescan is a fake at its seam (it records calls and diffs a file listing); the end-to-end
tests with the real scanner are in ``test_watch_e2e.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from pathlib import Path

import attrs
import pytest

from gui_fastpath.manifest import ArtifactManifest
from gui_fastpath.spawn import BACKGROUND_NICE
from gui_fastpath.watch import (
    ManifestChanged,
    RunAppeared,
    RunRemoved,
    RunScanFailed,
    RunsWatcher,
)
from gui_fastpath.watch.watcher import NOTIFY_THREAD

pytestmark = pytest.mark.timeout(30)
WAIT_S = 10.0


@attrs.frozen
class FakeUpdate:
    manifest: ArtifactManifest
    changes: tuple[str, ...]


class FakeRescan:
    """Records each rescan; "changes" is ("files",) when the run's file listing changed."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.calls: list[str] = []
        self.failing = failing
        self.listings: dict[str, list] = {}

    def __call__(self, run_dir: Path) -> FakeUpdate:
        self.calls.append(run_dir.name)
        if run_dir.name in self.failing:
            raise PermissionError(f"{run_dir}: cannot read (fake)")
        listing = sorted(
            (str(p.relative_to(run_dir)), p.stat().st_size)
            for p in run_dir.rglob("*")
            if p.is_file() and p.name != "artifacts.json"
        )
        changed = self.listings.get(run_dir.name) != listing
        self.listings[run_dir.name] = listing
        return FakeUpdate(ArtifactManifest(run_id=run_dir.name), ("files",) if changed else ())


class Watching:
    """Drives a RunsWatcher in a task; batches arrive in a queue."""

    def __init__(self, watcher: RunsWatcher) -> None:
        self.watcher = watcher
        self.batches: asyncio.Queue[tuple] = asyncio.Queue()
        self.task = asyncio.create_task(self._drive())

    async def _drive(self) -> None:
        async for batch in self.watcher:
            await self.batches.put(batch)

    async def ready(self) -> None:
        await asyncio.wait_for(self.watcher.ready.wait(), WAIT_S)

    async def next(self) -> tuple:
        return await asyncio.wait_for(self.batches.get(), WAIT_S)

    async def until(self, predicate) -> list:
        """Events of the batches up to and including the first event matching predicate."""
        events: list = []
        while not any(predicate(e) for e in events):
            events.extend(await self.next())
        return events

    async def close(self) -> None:
        self.watcher.stop()
        await asyncio.wait_for(self.task, WAIT_S)


@pytest.fixture(params=["native", "polling"])
def mode(request):
    return request.param


@pytest.fixture
async def watch(mode):
    """Start watching a root; returns (Watching, FakeRescan); stops it afterwards."""
    started: list[Watching] = []

    async def start(root: Path, **options) -> tuple[Watching, FakeRescan]:
        rescan = options.pop("rescan", None) or FakeRescan()
        if mode == "polling":
            options.setdefault("poll_ms", 20)
        watching = Watching(RunsWatcher(root, rescan=rescan, **options))
        started.append(watching)
        await watching.ready()
        return watching, rescan

    yield start
    for watching in started:
        await watching.close()


def _write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(data)
    return path


def _is(kind, run_id):
    return lambda e: isinstance(e, kind) and e.run_id == run_id


async def test_reports_existing_runs_first_then_a_change_in_one_run(tmp_path, watch):
    for name in ("a", "b"):
        _write(tmp_path / name / "tensorboard" / "events.out.tfevents.1.h")
    watching, rescan = await watch(tmp_path)
    first = await watching.next()
    assert [(type(e), e.run_id, e.initial) for e in first] == [
        (RunAppeared, "a", True),
        (RunAppeared, "b", True),
    ]
    assert first[0].run_dir == tmp_path / "a"
    assert watching.watcher.runs == {"a", "b"}

    rescan.calls.clear()
    _write(tmp_path / "b" / "tensorboard" / "events.out.tfevents.1.h", b"more")
    events = await watching.until(_is(ManifestChanged, "b"))
    assert events == [
        ManifestChanged("b", tmp_path / "b", ArtifactManifest(run_id="b"), ("files",))
    ]
    assert set(rescan.calls) == {"b"}  # only the run that changed is rescanned


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux thread names")
async def test_the_inotify_thread_runs_below_the_gui(tmp_path, watch, mode):
    if mode == "polling":
        pytest.skip("no inotify thread when polling")
    await watch(tmp_path)
    notify = [
        int(task.name)
        for task in Path("/proc/self/task").iterdir()
        if (task / "comm").read_text().startswith(NOTIFY_THREAD)
    ]
    assert notify
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert {os.getpriority(os.PRIO_PROCESS, tid) for tid in notify} == {max(BACKGROUND_NICE, ours)}


async def test_report_existing_false_skips_the_initial_rescan(tmp_path, watch):
    _write(tmp_path / "a" / "x.pt")
    watching, rescan = await watch(tmp_path, report_existing=False)
    assert watching.watcher.runs == {"a"}
    assert rescan.calls == []
    _write(tmp_path / "a" / "y.pt")
    assert await watching.until(_is(ManifestChanged, "a"))


async def test_new_run_then_deleted_run(tmp_path, watch):
    watching, _ = await watch(tmp_path)
    _write(tmp_path / "01JNEW" / "tensorboard" / "events.out.tfevents.1.h")
    events = await watching.until(_is(RunAppeared, "01JNEW"))
    assert events[-1].initial is False

    shutil.rmtree(tmp_path / "01JNEW")
    assert await watching.until(_is(RunRemoved, "01JNEW"))
    assert watching.watcher.runs == frozenset()


async def test_renamed_file_and_renamed_run(tmp_path, watch):
    _write(tmp_path / "a" / "checkpoints" / "ckpt.pt.tmp")
    watching, rescan = await watch(tmp_path)
    await watching.next()  # the existing run

    checkpoints = tmp_path / "a" / "checkpoints"
    os.rename(checkpoints / "ckpt.pt.tmp", checkpoints / "c.pt")
    assert await watching.until(_is(ManifestChanged, "a"))

    os.rename(tmp_path / "a", tmp_path / "b")
    events = await watching.until(_is(RunAppeared, "b"))
    if not any(_is(RunRemoved, "a")(e) for e in events):
        events += await watching.until(_is(RunRemoved, "a"))
    assert watching.watcher.runs == {"b"}

    rescan.calls.clear()  # the renamed run's files are still watched under its new name
    _write(tmp_path / "b" / "checkpoints" / "d.pt")
    assert await watching.until(_is(ManifestChanged, "b"))
    assert set(rescan.calls) == {"b"}


async def test_run_moved_out_of_and_into_the_root(tmp_path, watch):
    root, outside = tmp_path / "runs", tmp_path / "elsewhere"
    _write(root / "a" / "x.pt")
    outside.mkdir()
    watching, _ = await watch(root)
    await watching.next()

    os.rename(root / "a", outside / "a")
    assert await watching.until(_is(RunRemoved, "a"))
    os.rename(outside / "a", root / "a")
    assert await watching.until(_is(RunAppeared, "a"))


async def test_ignores_our_manifest_temp_files_and_hidden_entries(tmp_path, watch):
    for name in ("a", "b"):
        _write(tmp_path / name / "x.pt")
    watching, rescan = await watch(tmp_path)
    await watching.next()
    rescan.calls.clear()

    _write(tmp_path / "a" / "artifacts.json", b"{}")
    _write(tmp_path / "a" / ".artifacts.json.1234.tmp", b"{")
    _write(tmp_path / "a" / "ckpt.pt.tmp")
    _write(tmp_path / ".staging" / "x")
    _write(tmp_path / "b" / "y.pt")  # a real change, after the ignored ones
    await watching.until(_is(ManifestChanged, "b"))
    assert rescan.calls == ["b"]
    assert watching.watcher.runs == {"a", "b"}


async def test_appends_to_logs_do_not_rescan_but_a_new_log_does(tmp_path, watch):
    _write(tmp_path / "a" / "logs" / "w.stdout.log", b"hello\n")
    _write(tmp_path / "b" / "x.pt")
    watching, rescan = await watch(tmp_path)
    await watching.next()
    rescan.calls.clear()

    _write(tmp_path / "a" / "logs" / "w.stdout.log", b"step 1\n")
    _write(tmp_path / "b" / "y.pt")
    await watching.until(_is(ManifestChanged, "b"))
    assert rescan.calls == ["b"]

    _write(tmp_path / "a" / "logs" / "w.stderr.log", b"")
    assert await watching.until(_is(ManifestChanged, "a"))


async def test_a_failing_rescan_is_reported_and_watching_goes_on(tmp_path, watch):
    _write(tmp_path / "good" / "x.pt")
    watching, _ = await watch(tmp_path, rescan=FakeRescan(failing=frozenset({"bad"})))
    await watching.next()

    _write(tmp_path / "bad" / "x.pt")
    events = await watching.until(_is(RunScanFailed, "bad"))
    assert events[-1].error == f"{tmp_path / 'bad'}: cannot read (fake)"
    assert "bad" not in watching.watcher.runs

    _write(tmp_path / "good" / "y.pt")
    assert await watching.until(_is(ManifestChanged, "good"))


async def test_root_that_does_not_exist_yet(tmp_path, watch, caplog):
    root = tmp_path / "var" / "trainer" / "runs"
    with caplog.at_level(logging.WARNING, logger="gui_fastpath.watch.watcher"):
        watching, _ = await watch(root)
    assert caplog.messages == [f"{root} does not exist (yet); waiting for it"]
    assert watching.watcher.runs == frozenset()

    _write(root / "a" / "x.pt")
    events = await watching.until(_is(RunAppeared, "a"))
    assert events[-1].initial is False

    _write(root / "a" / "y.pt")  # and it is watched from then on
    assert await watching.until(_is(ManifestChanged, "a"))


async def test_root_deleted_then_recreated(tmp_path, watch):
    root = tmp_path / "runs"
    _write(root / "a" / "x.pt")
    watching, _ = await watch(root)
    await watching.next()

    shutil.rmtree(root)
    assert await watching.until(_is(RunRemoved, "a"))
    assert watching.watcher.runs == frozenset()

    _write(root / "b" / "x.pt")
    assert await watching.until(_is(RunAppeared, "b"))
    _write(root / "b" / "y.pt")
    assert await watching.until(_is(ManifestChanged, "b"))


async def test_a_burst_of_files_gives_a_few_batches_not_one_per_file(tmp_path, watch):
    _write(tmp_path / "a" / "x.pt")
    watching, rescan = await watch(tmp_path)
    await watching.next()
    rescan.calls.clear()

    for i in range(200):
        _write(tmp_path / "a" / "tensorboard" / f"events.out.tfevents.{i}.h")

    while len(rescan.listings["a"]) != 201:
        await watching.next()
    assert 1 <= len(rescan.calls) <= 5


async def test_stop_event_ends_the_iteration(tmp_path, mode):
    stop = asyncio.Event()
    options = {"poll_ms": 20} if mode == "polling" else {}
    watcher = RunsWatcher(tmp_path, rescan=FakeRescan(), stop_event=stop, **options)
    watching = Watching(watcher)
    await watching.ready()
    stop.set()
    await asyncio.wait_for(watching.task, WAIT_S)


async def test_cancelling_the_consumer_stops_promptly(tmp_path, mode):
    options = {"poll_ms": 20} if mode == "polling" else {}
    watching = Watching(RunsWatcher(tmp_path, rescan=FakeRescan(), **options))
    await watching.ready()
    watching.task.cancel()
    # native: awatch's thread would keep a plain cancel waiting up to rust_timeout (1 s)
    done, _ = await asyncio.wait({watching.task}, timeout=0.5)
    assert done == {watching.task}
    assert watching.task.cancelled()


def test_iterating_twice_is_an_error(tmp_path):
    watcher = RunsWatcher(tmp_path)
    aiter(watcher)
    with pytest.raises(RuntimeError, match="iterated only once"):
        aiter(watcher)


@pytest.mark.parametrize(
    ("option", "value"),
    [("poll_ms", 0), ("debounce_ms", -5), ("max_batch_ms", 1.5), ("debounce_ms", True)],
)
def test_bad_time_options_name_the_option(tmp_path, option, value):
    with pytest.raises(ValueError) as info:
        RunsWatcher(tmp_path, **{option: value})
    assert str(info.value) == (
        f"{option} must be a whole number of milliseconds >= 1, got {value!r}"
    )


def test_defaults_are_worked_out(tmp_path):
    watcher = RunsWatcher(tmp_path, debounce_ms=30)
    assert (watcher.poll_ms, watcher.max_batch_ms, watcher.polling) == (None, 300, False)
    assert repr(watcher) == f"RunsWatcher({str(tmp_path)!r}, native, debounce_ms=30)"
    assert RunsWatcher(tmp_path, poll_ms=500).polling


async def test_native_watching_that_fails_falls_back_to_polling(tmp_path, monkeypatch, caplog):
    async def no_watches(*paths, **options):
        raise OSError(28, "OS file watch limit reached")
        yield

    monkeypatch.setattr("gui_fastpath.watch.watcher.watchfiles.awatch", no_watches)
    monkeypatch.setattr("gui_fastpath.watch.watcher.FALLBACK_POLL_MS", 20)
    _write(tmp_path / "a" / "x.pt")
    watching = Watching(RunsWatcher(tmp_path, rescan=FakeRescan()))
    try:
        with caplog.at_level(logging.WARNING, logger="gui_fastpath.watch.watcher"):
            events = await watching.until(_is(RunAppeared, "a"))
        assert events[-1].initial is True
        assert watching.watcher.polling
        assert caplog.messages == [
            f"native watching of {tmp_path} failed ([Errno 28] OS file watch limit reached); "
            "polling every 20 ms instead. Fix: raise fs.inotify.max_user_watches, "
            "or pass poll_ms (--poll-ms) yourself"
        ]
        _write(tmp_path / "a" / "y.pt")
        assert await watching.until(_is(ManifestChanged, "a"))
    finally:
        await watching.close()


async def test_changes_whose_notifications_were_dropped_still_arrive(tmp_path, monkeypatch):
    """inotify drops notifications silently when its queue overflows; the backstop walks."""

    async def deaf_awatch(*_paths, stop_event, **_options):  # armed, then hears nothing
        while not stop_event.is_set():
            await asyncio.sleep(0.02)
            yield set()

    monkeypatch.setattr("gui_fastpath.watch.watcher.watchfiles.awatch", deaf_awatch)
    monkeypatch.setattr("gui_fastpath.watch._backstop.PASS_SECONDS", 0.1)
    monkeypatch.setattr("gui_fastpath.watch._backstop.BUDGET_SHARE", 0.5)
    _write(tmp_path / "a" / "x.pt")
    _write(tmp_path / "b" / "x.pt")
    watching = Watching(RunsWatcher(tmp_path, rescan=FakeRescan()))
    try:
        await watching.until(_is(RunAppeared, "b"))
        changed: list = []
        for attempt in range(20):  # the first walk of a run may already see the first write
            _write(tmp_path / "a" / f"new-{attempt}.pt")
            with contextlib.suppress(TimeoutError):
                changed = await asyncio.wait_for(watching.until(_is(ManifestChanged, "a")), 1)
                break
        assert changed and not watching.watcher.polling
    finally:
        await watching.close()


async def test_the_os_watch_is_renewed_after_many_deletions_without_missing_changes(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr("gui_fastpath.watch.watcher.RENEW_AFTER_DELETIONS", 3)
    monkeypatch.setattr("gui_fastpath.watch.watcher.RENEW_DELETIONS_PER_RUN", 1)
    created: list[str] = []
    root_watch = RunsWatcher._root_watch

    def root_watch_with_a_change_in_the_gap(self, real_root):
        created.append(real_root)
        if len(created) == 2:  # renewing: a change only the old watch can see
            _write(tmp_path / "b" / "x.pt")
        return root_watch(self, real_root)

    monkeypatch.setattr(RunsWatcher, "_root_watch", root_watch_with_a_change_in_the_gap)
    for name in ("a", "b", "c"):
        _write(tmp_path / name / "tensorboard" / "events.out.tfevents.1.h")
    watching = Watching(RunsWatcher(tmp_path, rescan=FakeRescan()))
    try:
        await watching.next()
        with caplog.at_level(logging.DEBUG, logger="gui_fastpath.watch.watcher"):
            shutil.rmtree(tmp_path / "a")  # three deletions: the file and two directories
            events = await watching.until(_is(RunRemoved, "a"))
            if not any(_is(ManifestChanged, "b")(e) for e in events):
                await watching.until(_is(ManifestChanged, "b"))
        assert len(created) == 2
        assert [m for m in caplog.messages if m.startswith("renewing")] == [
            f"renewing the OS watch of {tmp_path} after 3 deletions"
        ]

        _write(tmp_path / "c" / "tensorboard" / "events.out.tfevents.2.h")  # the new watch
        assert await watching.until(_is(ManifestChanged, "c"))
        _write(tmp_path / "d" / "x.pt")
        assert await watching.until(_is(RunAppeared, "d"))
    finally:
        await watching.close()
