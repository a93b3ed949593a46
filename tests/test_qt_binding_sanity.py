"""The Qt binding under test keeps Python's reference counts straight.

PySide6 6.12.0 on Python 3.11 drops a reference to ``True`` on every signal emit (and to
``None`` on calls that return nothing): a GUI then dies in the garbage collector after a
while. ``pyproject.toml`` excludes that release; this test catches any binding that does it.
"""

from __future__ import annotations

import sys

import pytest
from qtpy.QtCore import QObject, Signal

pytestmark = pytest.mark.timeout(30)


class _Emitter(QObject):
    fired = Signal()
    carried = Signal(object)


def test_signal_emits_keep_reference_counts(qapp):
    emitter = _Emitter()
    seen: list[object] = []
    emitter.fired.connect(lambda: seen.append(True))
    emitter.carried.connect(seen.append)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(200):
        emitter.fired.emit()
        emitter.carried.emit(None)
    seen.clear()
    assert (sys.getrefcount(True), sys.getrefcount(None)) == before
