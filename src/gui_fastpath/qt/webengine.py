"""QtWebEngine set-up that must happen before the first ``QApplication`` exists."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["FLAGS_VAR", "prepare_webengine"]

FLAGS_VAR = "QTWEBENGINE_CHROMIUM_FLAGS"


def prepare_webengine() -> None:
    """Let Chromium start as root (with ``--no-sandbox``), then load QtWebEngine early.

    The flag is added only as root, and with a warning: the sandbox is a defence worth
    keeping otherwise.
    """
    if os.geteuid() == 0:
        _disable_sandbox()
    _load_webengine_early()


def _disable_sandbox() -> None:
    flags = os.environ.get(FLAGS_VAR, "")
    if "--no-sandbox" in flags.split():
        return
    log.warning(
        "running as root: adding --no-sandbox to %s so QtWebEngine can start; "
        "run the GUI as a normal user to keep Chromium's sandbox",
        FLAGS_VAR,
    )
    os.environ[FLAGS_VAR] = f"{flags} --no-sandbox".strip()


def _load_webengine_early() -> None:
    """Import QtWebEngine while no QApplication exists: PyQt6 refuses to load it later."""
    from qtpy.QtCore import QCoreApplication

    if QCoreApplication.instance() is None:
        with contextlib.suppress(ImportError):  # absent: the tabs offer "open in browser"
            import qtpy.QtWebEngineWidgets  # noqa: F401


def warm_up_webengine(parent: Any) -> Any:
    """Start Chromium's browser context now, with one idle page owned by ``parent``.

    The first web page of a process costs a few hundred milliseconds on the GUI thread;
    a host calls this at start-up (``parent``: its main window) so the first TensorBoard
    tab does not pay it mid-run. The page lives as long as ``parent``: Chromium finishes
    setting a new page up on its own threads, so one must not be deleted at once.
    Returns the page (``None`` without QtWebEngine); drop it before the application ends.
    """
    try:
        from qtpy.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
    except ImportError:
        return None
    return QWebEnginePage(QWebEngineProfile.defaultProfile(), parent)
