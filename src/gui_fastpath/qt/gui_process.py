"""Process-wide settings for a GUI that shares its cores with training runs.

Call :func:`prepare_gui_process` before the ``QApplication`` exists.
"""

from __future__ import annotations

import os

from gui_fastpath.qt.webengine import prepare_webengine

__all__ = ["prepare_gui_process"]

NO_PAINT_THREADS_VAR = "QT_NO_GUI_THREADPOOL"


def prepare_gui_process() -> None:
    """Paint on the GUI thread alone, then prepare QtWebEngine (:func:`prepare_webengine`).

    Qt's raster engine splits large fills across a thread pool and waits for it; when
    training jobs keep every core busy, those helper threads wait for a core and the GUI
    thread waits for them (250 ms per repaint measured with 20 demo runs on 2 cores).
    Painting on the GUI thread alone costs a few milliseconds instead. A value the user
    set for ``QT_NO_GUI_THREADPOOL`` is kept.
    """
    os.environ.setdefault(NO_PAINT_THREADS_VAR, "1")
    prepare_webengine()
