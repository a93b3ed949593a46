"""Waiting on conditions inside reference-host scenarios (see ``run_on_qasync`` in conftest)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def until(
    condition: Callable[[], Any], timeout: float = 30, what: str | Callable[[], str] = ""
) -> Any:
    """Wait, letting the loop run, until ``condition()`` is truthy; fail after ``timeout``.

    ``what`` may be a callable, to describe the state at the time of failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {said or condition}")
        await asyncio.sleep(0.02)
