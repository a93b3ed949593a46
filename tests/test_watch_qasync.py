"""RunsWatcher on the host's kind of loop: a qasync.QEventLoop over a QApplication."""

from __future__ import annotations

import pytest

from gui_fastpath.manifest import update_manifest
from gui_fastpath.watch import ManifestChanged, RunAppeared, RunsWatcher

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("poll_ms", [None, 20])
def test_watcher_runs_on_a_qasync_loop(run_on_qasync, tmp_path, poll_ms):
    (tmp_path / "01JA" / "checkpoints").mkdir(parents=True)

    async def scenario() -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        watcher = RunsWatcher(tmp_path, poll_ms=poll_ms, rescan=update_manifest)
        async for batch in watcher:
            for event in batch:
                seen.append((type(event).__name__, event.run_id))
                if isinstance(event, RunAppeared) and event.run_id == "01JA":
                    (tmp_path / "01JA" / "checkpoints" / "ckpt_1k.pt").write_bytes(b"w")
                elif isinstance(event, ManifestChanged):
                    (tmp_path / "01JB").mkdir()
                elif isinstance(event, RunAppeared) and event.run_id == "01JB":
                    watcher.stop()
        return seen

    seen = run_on_qasync(scenario, 10)
    assert seen == [
        ("RunAppeared", "01JA"),
        ("ManifestChanged", "01JA"),
        ("RunAppeared", "01JB"),
    ]
