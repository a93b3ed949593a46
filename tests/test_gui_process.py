"""The GUI process paints on its own thread unless the user chose otherwise."""

from __future__ import annotations

import os

import pytest

from gui_fastpath.qt.gui_process import NO_PAINT_THREADS_VAR, prepare_gui_process

pytestmark = pytest.mark.timeout(30)


def test_painting_stays_on_the_gui_thread(monkeypatch):
    monkeypatch.delenv(NO_PAINT_THREADS_VAR, raising=False)
    prepare_gui_process()
    assert os.environ[NO_PAINT_THREADS_VAR] == "1"


def test_a_value_the_user_set_is_kept(monkeypatch):
    monkeypatch.setenv(NO_PAINT_THREADS_VAR, "")
    prepare_gui_process()
    assert os.environ[NO_PAINT_THREADS_VAR] == ""
