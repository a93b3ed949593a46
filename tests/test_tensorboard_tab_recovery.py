"""The TensorBoard tab reloads its page by itself when Chromium's renderer dies."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QUrl

from _tensorboard_support import write_scalars
from gui_fastpath.manifest import scan_run
from gui_fastpath.qt.tensorboard_tab import TensorBoardTab
from gui_fastpath.tensorboard import ServerOptions, TensorBoardPool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def test_a_crashed_page_is_reloaded(qtbot, tmp_path, caplog):
    run = tmp_path / "01RUN"
    write_scalars(run / "tensorboard", range(1, 2), tags=("loss",))
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
