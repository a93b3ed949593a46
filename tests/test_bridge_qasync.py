"""Both event sources on the host's kind of loop: a qasync.QEventLoop over a QApplication."""

from __future__ import annotations

import pytest

from _bridge_helpers import append_events
from gui_fastpath.bridge import BridgeServer, LocalEventSource, SseEventSource

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("over_sse", [False, True])
def test_sources_run_on_a_qasync_loop(run_on_qasync, tmp_path, over_sse):
    append_events(tmp_path / "run-a", 1)

    async def scenario() -> list[int]:
        local = LocalEventSource(tmp_path)
        server = BridgeServer(local)
        source = local
        if over_sse:
            await server.start()
            source = SseEventSource(server.url, server.token)
        seqs = []
        try:
            async for event in source.subscribe("run-a"):
                if event.kind == "lifecycle":
                    seqs.append(event.data["seq"])
                    if len(seqs) == 1:
                        append_events(tmp_path / "run-a", 2)
                    if len(seqs) == 3:
                        break
        finally:
            await source.close()
            await server.close()
            await local.close()
        return seqs

    assert run_on_qasync(scenario, 15) == [1, 2, 3]
