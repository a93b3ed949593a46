"""The TensorBoard tab reloads its page by itself when Chromium's renderer dies."""

from __future__ import annotations

import time

import pytest
from qtpy.QtCore import QUrl
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from gui_fastpath.manifest import scan_run
from gui_fastpath.qt.tensorboard_tab import TensorBoardTab
from gui_fastpath.tensorboard import ServerOptions, TensorBoardPool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def test_a_crashed_page_is_reloaded(qtbot, tmp_path, caplog):
    run = tmp_path / "01RUN"
    writer = EventFileWriter(str(run / "tensorboard"))
    writer.add_event(
        Event(wall_time=time.time(), step=1, summary=Summary(value=[
            Summary.Value(tag="loss", simple_value=1.0)
        ]))
    )  # fmt: skip
    writer.close()
    pool = TensorBoardPool(ServerOptions(index_mode="off", keep_spare=False))
    tab = TensorBoardTab(run, scan_run(run), pool=pool)
    qtbot.addWidget(tab)
    tab.show()
    try:
        qtbot.waitUntil(lambda: tab.state == "ready", timeout=45_000)
        crashed = tab.web_view.page().renderProcessTerminated
        with qtbot.waitSignal(crashed, timeout=20_000):
            tab.web_view.setUrl(QUrl("chrome://crash"))
        assert "stopped" in caplog.text and "reloading it" in caplog.text
        qtbot.waitUntil(lambda: tab.state == "ready", timeout=45_000)
        assert tab.web_view.url().toString().startswith(tab.url)
    finally:
        tab.cleanup()
        pool.shutdown()
