"""PageRefresher: reloads follow the data server's load cycles, not a clock.

The data server is a counter here (a seam); the real path is in test_tensorboard_tab.py
(`test_new_scalars_show_in_the_page_when_the_manifest_grows`).
"""

from __future__ import annotations

import pytest
from qtpy.QtCore import QObject

from gui_fastpath.qt.tensorboard_refresh import PageRefresher

pytestmark = pytest.mark.timeout(20)


class Index:
    """A data server as the refresher sees it: an id and a count of finished load cycles."""

    def __init__(self) -> None:
        self.server: int | None = 1
        self.cycles = 10

    def __call__(self) -> tuple[int, int] | None:
        return None if self.server is None else (self.server, self.cycles)


@pytest.fixture
def setup(qtbot):
    owner = QObject()
    index = Index()
    reloads: list[int] = []
    refresher = PageRefresher(lambda: reloads.append(index.cycles), index, owner)
    yield refresher, index, reloads
    refresher.stop()


def test_reloads_when_each_of_the_next_two_cycles_ends_then_stops(qtbot, setup):
    refresher, index, reloads = setup
    refresher.request()
    assert reloads == [] and refresher.pending  # the index has not polled since
    index.cycles += 1
    qtbot.waitUntil(lambda: reloads == [11])
    index.cycles += 1
    qtbot.waitUntil(lambda: not refresher.pending)
    assert reloads == [11, 12]


def test_while_data_keeps_coming_one_reload_per_cycle(qtbot, setup):
    refresher, index, reloads = setup
    for _ in range(4):
        refresher.request()
        index.cycles += 1
        qtbot.waitUntil(lambda: reloads[-1:] == [index.cycles])
    index.cycles += 3  # three cycles end between two looks: one reload shows them all
    qtbot.waitUntil(lambda: not refresher.pending)
    assert reloads == [11, 12, 13, 14, 17]


def test_a_replaced_or_stopped_index_reloads_once_and_stops(qtbot, setup):
    refresher, index, reloads = setup
    refresher.request()
    index.server = 2  # restarted (reindex): the page reloads on what the new one has
    qtbot.waitUntil(lambda: not refresher.pending)
    assert len(reloads) == 1
    refresher.request()
    index.server = None
    qtbot.waitUntil(lambda: not refresher.pending)
    assert len(reloads) == 2


def test_without_a_data_server_of_ours_reloads_at_once_then_for_a_while(qtbot, setup):
    refresher, index, reloads = setup
    index.server = None
    refresher.request()
    assert len(reloads) == 1  # at once
    qtbot.waitUntil(lambda: not refresher.pending, timeout=10_000)
    assert 5 <= len(reloads) <= 12  # every 250 ms for 2.5 s


def test_stop_cancels_a_due_refresh(qtbot, setup):
    refresher, index, reloads = setup
    refresher.request()
    refresher.stop()
    index.cycles += 2
    assert not refresher.pending and reloads == []
