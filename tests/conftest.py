"""Suite-wide guards: headless Qt, and no process may outlive the test that started it."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import psutil
import pytest

T = TypeVar("T")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
if "--no-sandbox" not in _flags:
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{_flags} --no-sandbox".strip()

# As the app does before its QApplication: QtWebEngine must load before one exists.
from gui_fastpath.qt.gui_process import prepare_gui_process  # noqa: E402

prepare_gui_process()

_PR_SET_CHILD_SUBREAPER = 36
if sys.platform.startswith("linux"):
    # Orphans (grandchildren whose parent died) are re-parented to this process, so the
    # leak check below sees them instead of losing them to init.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

# Long-lived helpers owned by the session, not by a test.
_ALLOWED = ("QtWebEngineProcess",)


def _live_children() -> dict[int, str]:
    found: dict[int, str] = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            name = child.name()
            cmdline = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if any(a in name or a in cmdline for a in _ALLOWED):
            continue
        found[child.pid] = cmdline or name
    return found


def _processes(pids: Iterable[int]) -> list[psutil.Process]:
    """The processes of ``pids`` still there (any may end while we look)."""
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


@pytest.fixture(autouse=True)
def no_leaked_processes():
    """Fail a test that leaves a child process (or an orphaned grandchild) running."""
    before = set(_live_children())
    yield
    deadline = time.monotonic() + 5.0
    leaked = {p: c for p, c in _live_children().items() if p not in before}
    while leaked and time.monotonic() < deadline:
        psutil.wait_procs(_processes(leaked), 0.1)
        leaked = {p: c for p, c in _live_children().items() if p not in before}
    for pid in leaked:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    if leaked:
        pytest.fail(f"test left processes running: {leaked}", pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    """Join our qasync workers (a running QThread at exit aborts the process) and reap
    anything left over so the session itself never leaks."""
    for executor in _qasync_executors:
        executor.shutdown(wait=True)
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


_qasync_loops: dict[int, Any] = {}
_qasync_executors: list[Any] = []


@pytest.fixture
def run_on_qasync(qapp):
    """Run a coroutine function on a ``qasync.QEventLoop``, the host's kind of loop.

    The loop is never started or stopped with ``app.exec()``/``app.exit()``: on Qt 6,
    ``exit()`` emits ``aboutToQuit``, which tears QtWebEngine down for the rest of the
    process, as it should when a real host quits. So one loop per QApplication is created
    "already running" and made the running loop only while a scenario runs, Qt events
    being processed until the scenario is done.
    """
    import qasync  # after qapp, so qasync picks the binding pytest-qt loaded
    from qtpy.QtCore import QEventLoop

    def run(scenario: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
        loop = _qasync_loops.get(id(qapp))
        if loop is None:
            loop = _qasync_loops[id(qapp)] = qasync.QEventLoop(qapp, already_running=True)
            # Its worker QThreads must be joined before the process exits (see below).
            executor = qasync.QThreadExecutor(4)
            loop.set_default_executor(executor)
            _qasync_executors.append(executor)
        asyncio.events._set_running_loop(loop)
        asyncio.set_event_loop(loop)
        flags = (
            QEventLoop.ProcessEventsFlag.AllEvents | QEventLoop.ProcessEventsFlag.WaitForMoreEvents
        )
        try:
            task = loop.create_task(asyncio.wait_for(scenario(), timeout))
            while not task.done():
                qapp.processEvents(flags)
            return task.result()
        finally:
            asyncio.events._set_running_loop(None)
            asyncio.set_event_loop(None)

    return run
