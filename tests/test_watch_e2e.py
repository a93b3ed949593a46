"""RunsWatcher end to end: real awatch, the real scanner (update_manifest), real writers."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from gui_fastpath.manifest import manifest_from_dict, read_manifest, update_manifest
from gui_fastpath.watch import ManifestChanged, RunAppeared, RunScanFailed, RunsWatcher

pytestmark = pytest.mark.timeout(30)
WAIT_S = 10.0


class CountingRescan:
    """The real update_manifest, with a record of which runs it rescanned."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, run_dir: Path):
        self.calls.append(run_dir.name)
        return update_manifest(run_dir)


@pytest.fixture(params=["native", "polling"])
async def watching(request, tmp_path):
    """(root, rescan, next_batch) for a watcher on tmp_path/runs with two runs in it."""
    root = tmp_path / "runs"
    for run_id in ("01JA", "01JB"):
        (root / run_id / "tensorboard").mkdir(parents=True)
    rescan = CountingRescan()
    options = {"poll_ms": 20} if request.param == "polling" else {}
    watcher = RunsWatcher(root, rescan=rescan, **options)
    batches = aiter(watcher)

    async def next_batch():
        return await asyncio.wait_for(anext(batches), WAIT_S)

    first = await next_batch()
    assert [(type(e), e.run_id) for e in first] == [(RunAppeared, "01JA"), (RunAppeared, "01JB")]
    yield root, rescan, next_batch
    watcher.stop()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(batches), WAIT_S)


def _scalar(step: int) -> event_pb2.Event:
    value = summary_pb2.Summary.Value(tag="loss", simple_value=1.0 / step)
    summary = summary_pb2.Summary(value=[value])
    return event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary)


async def _until(next_batch, predicate):
    while True:
        for event in await next_batch():
            if predicate(event):
                return event


async def test_tensorboard_writes_change_the_manifest_and_our_write_does_not_loop(watching):
    root, rescan, next_batch = watching
    run = root / "01JA"
    writer = EventFileWriter(str(run / "tensorboard"))
    try:
        writer.add_event(_scalar(1))
        writer.flush()
        event = await _until(next_batch, lambda e: isinstance(e, ManifestChanged))
        assert event.run_id == "01JA"
        assert event.changes == ("tensorboard.event_files",)
        [event_file] = event.manifest.tensorboard.event_files
        assert event_file.path == f"tensorboard/{Path(writer._file_name).name}"
        assert event.manifest == read_manifest(run)  # what the event says is what is on disk

        size = os.path.getsize(writer._file_name)
        while event_file.size != size:  # the writer may flush its header and event apart
            event = await _until(next_batch, lambda e: isinstance(e, ManifestChanged))
            [event_file] = event.manifest.tensorboard.event_files

        rescan.calls.clear()  # writing artifacts.json did not trigger another rescan:
        (root / "01JB" / "checkpoints").mkdir()  # the next rescan is for the next change
        (root / "01JB" / "checkpoints" / "ckpt_1k.pt").write_bytes(b"weights")
        event = await _until(next_batch, lambda e: isinstance(e, ManifestChanged))
        assert (event.run_id, event.changes) == ("01JB", ("checkpoints",))
        assert event.manifest.checkpoints[0].step == 1000
        assert rescan.calls == ["01JB"]
    finally:
        writer.close()


async def test_checkpoint_written_atomically_is_one_change(watching):
    root, rescan, next_batch = watching
    rescan.calls.clear()
    checkpoints = root / "01JB" / "checkpoints"
    checkpoints.mkdir()
    temp = checkpoints / "ckpt_500k.pt.tmp"
    temp.write_bytes(b"weights" * 1000)
    os.replace(temp, checkpoints / "ckpt_500k.pt")
    event = await _until(next_batch, lambda e: isinstance(e, ManifestChanged))
    assert (event.run_id, event.changes) == ("01JB", ("checkpoints",))
    assert [(c.path, c.size, c.step) for c in event.manifest.checkpoints] == [
        ("checkpoints/ckpt_500k.pt", 7000, 500_000)
    ]
    assert set(rescan.calls) == {"01JB"}


async def test_events_serialise_to_json_and_back(watching):
    root, _, next_batch = watching
    (root / "01JC" / "logs").mkdir(parents=True)
    (root / "01JC" / "logs" / "cleanrl.stdout.log").write_text("hello\n")
    event = await _until(next_batch, lambda e: isinstance(e, RunAppeared))
    data = json.loads(json.dumps(event.to_dict()))
    assert {k: v for k, v in data.items() if k != "manifest"} == {
        "type": "run_appeared",
        "run_id": "01JC",
        "run_dir": str(root / "01JC"),
        "initial": False,
    }
    assert manifest_from_dict(data["manifest"]) == event.manifest
    assert event.manifest.logs.stdout == "logs/cleanrl.stdout.log"


async def test_a_run_whose_manifest_cannot_be_written_is_reported(watching):
    root, _, next_batch = watching
    (root / "01JA" / "artifacts.json").unlink()
    (root / "01JA" / "artifacts.json").mkdir()  # os.replace onto a directory fails
    (root / "01JA" / "checkpoints").mkdir()
    event = await _until(next_batch, lambda e: isinstance(e, RunScanFailed))
    assert event.run_id == "01JA"
    assert str(root / "01JA") in event.error
    assert "Is a directory" in event.error
