"""BackgroundTasks: results reach the creating thread, failures are logged, close drops work."""

from __future__ import annotations

import logging
import threading

import pytest

from gui_fastpath.qt.background import BackgroundTasks

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def tasks(qtbot):
    tasks = BackgroundTasks(name="unit")
    yield tasks
    tasks.close(wait=True)


def test_result_and_error_arrive_on_the_gui_thread(qtbot, tasks):
    seen: list[tuple[object, bool]] = []
    gui = threading.current_thread()

    def record(value: object) -> None:
        seen.append((value, threading.current_thread() is gui))

    tasks.submit(threading.current_thread, record)
    tasks.submit(lambda: 1 / 0, record, record)
    qtbot.waitUntil(lambda: len(seen) == 2)
    (worker, worker_on_gui), (error, error_on_gui) = seen
    assert worker is not gui and worker_on_gui
    assert isinstance(error, ZeroDivisionError) and error_on_gui


def test_unhandled_failures_are_logged_with_the_pool_name(qtbot, tasks, caplog):
    def broken_callback(_value: object) -> None:
        raise RuntimeError("callback")

    with caplog.at_level(logging.ERROR, logger="gui_fastpath.qt.background"):
        tasks.submit(lambda: 1 / 0, lambda _value: None)
        tasks.submit(lambda: 1, broken_callback)
        qtbot.waitUntil(lambda: len(caplog.records) == 2)
    assert sorted(r.getMessage() for r in caplog.records) == [
        "unit: background task callback failed",
        "unit: background task failed",
    ]


def test_nothing_is_delivered_or_accepted_after_close(qapp, tasks):
    release = threading.Event()
    delivered: list[object] = []
    running = tasks.submit(release.wait, delivered.append)
    pending = tasks.submit(lambda: "pending", delivered.append)
    tasks.close()
    release.set()
    assert running is not None and running.result(timeout=5) is True
    assert pending is not None and pending.cancelled()
    assert tasks.closed and tasks.submit(lambda: "late", delivered.append) is None
    qapp.processEvents()  # runs any delivery already queued
    assert delivered == []
