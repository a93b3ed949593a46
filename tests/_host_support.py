"""Running reference-host scenarios on the host's kind of loop (qasync over QApplication)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_qasync(qapp: Any, scenario: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    """Run ``scenario()`` to completion on a fresh ``qasync.QEventLoop``."""
    import qasync  # after qapp, so qasync picks the binding pytest-qt loaded

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(asyncio.wait_for(scenario(), timeout))
    finally:
        loop.close()
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
