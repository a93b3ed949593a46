"""As root, the GUI process gives up raising priorities; Chromium's threads stay level.

Without it, Chromium's compositor and renderer threads run at nice -8 (the second test
fails: VizCompositorThread, Chrome_IOThread, the renderer's main thread).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from qtpy.QtCore import QCoreApplication, QEvent

from gui_fastpath.capabilities import CAP_SYS_NICE, can_raise_priority

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.geteuid() != 0,
        reason="only root holds CAP_SYS_NICE (Linux)",
    ),
]

CAPABILITIES = "print(open('/proc/self/status').read())"


def test_the_gui_process_and_programs_it_runs_cannot_raise_priorities():
    """conftest prepared this process as the app prepares its own (``prepare_gui_process``)."""
    assert not can_raise_priority()
    with pytest.raises(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) - 1)
    status = subprocess.run(
        [sys.executable, "-c", CAPABILITIES], capture_output=True, text=True, check=True
    ).stdout
    caps = dict(line.split(":\t") for line in status.splitlines() if line.startswith("Cap"))
    for name in ("CapEff", "CapPrm", "CapBnd"):  # a program run as root cannot get it back
        assert not int(caps[name], 16) & (1 << CAP_SYS_NICE), name


def _threads_above(process: psutil.Process, nice: int) -> list[str]:
    found = []
    for proc in [process, *process.children(recursive=True)]:
        try:
            for thread in proc.threads():
                task = Path(f"/proc/{proc.pid}/task/{thread.id}")
                if os.getpriority(os.PRIO_PROCESS, thread.id) < nice:
                    found.append(f"{proc.name()}/{(task / 'comm').read_text().strip()}")
        except (psutil.Error, OSError):
            continue
    return found


def test_chromium_threads_stay_level_with_the_gui_thread(qtbot):
    from qtpy.QtWebEngineWidgets import QWebEngineView

    view = QWebEngineView()
    view.resize(600, 400)
    view.show()
    with qtbot.waitSignal(view.loadFinished, timeout=30_000):
        view.setHtml("<h1>level</h1><canvas id=c width=300 height=100></canvas>")
    qtbot.waitUntil(lambda: any(p.name().startswith("QtWebEngine") for p in _renderers()))
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert _threads_above(psutil.Process(), ours) == []
    view.close()
    view.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _renderers() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)
