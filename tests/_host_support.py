"""Running reference-host scenarios on the host's kind of loop (qasync over QApplication)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_loops: dict[int, Any] = {}


def run_on_qasync(qapp: Any, scenario: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    """Run ``scenario()`` on a ``qasync.QEventLoop`` driven by processing Qt events.

    The loop is never started or stopped with ``app.exec()``/``app.exit()``: on Qt 6,
    ``exit()`` emits ``aboutToQuit``, which tears QtWebEngine down for the rest of the
    process, as it should when a real host quits. So the loop is created "already
    running" once per QApplication and made the running loop only while a scenario runs.
    """
    import qasync  # after qapp, so qasync picks the binding pytest-qt loaded
    from qtpy.QtCore import QEventLoop

    loop = _loops.get(id(qapp))
    if loop is None:
        loop = _loops[id(qapp)] = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(loop)
    asyncio.set_event_loop(loop)
    flags = QEventLoop.ProcessEventsFlag.AllEvents | QEventLoop.ProcessEventsFlag.WaitForMoreEvents
    try:
        task = loop.create_task(asyncio.wait_for(scenario(), timeout))
        while not task.done():
            qapp.processEvents(flags)
        return task.result()
    finally:
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)


async def until(condition: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    """Wait, letting the loop run, until ``condition()`` is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.02)
