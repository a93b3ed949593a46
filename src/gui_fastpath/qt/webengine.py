"""QtWebEngine set-up that must happen before the first ``QApplication`` exists."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["FLAGS_VAR", "prepare_webengine", "webengine_problem"]

FLAGS_VAR = "QTWEBENGINE_CHROMIUM_FLAGS"


def prepare_webengine() -> None:
    """Let Chromium start as root (with ``--no-sandbox``), then load QtWebEngine early.

    The flag is added only as root, and with a warning: the sandbox is a defence worth
    keeping otherwise. As root the process also gives up raising priorities
    (:mod:`gui_fastpath.capabilities`), so Chromium's threads stay level with the GUI
    thread, as they do for a normal user.
    """
    if os.geteuid() == 0:
        _disable_sandbox()
        _keep_chromium_level()
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


def _keep_chromium_level() -> None:
    from gui_fastpath.capabilities import can_raise_priority, drop_raise_priority

    if not can_raise_priority():
        return
    log.warning(
        "running as root: giving up CAP_SYS_NICE, so Chromium cannot raise its threads "
        "above the GUI thread (as for a normal user)"
    )
    if not drop_raise_priority():
        log.warning("the kernel refused to drop CAP_SYS_NICE; Chromium may starve the GUI")


def _load_webengine_early() -> None:
    """Import QtWebEngine while no QApplication exists: PyQt6 refuses to load it later."""
    from qtpy.QtCore import QCoreApplication

    if QCoreApplication.instance() is None:
        with contextlib.suppress(ImportError):  # absent: the tabs offer "open in browser"
            import qtpy.QtWebEngineWidgets  # noqa: F401


def webengine_problem() -> str | None:
    """Why QtWebEngine cannot be used in this process, or None (it is then imported).

    A PyQt6 host that created its QApplication before loading us gets OpenGL context
    sharing switched on now: PyQt6 refuses to load QtWebEngine without it.
    """
    try:
        _import_webengine()
    except ImportError as exc:
        if "AA_ShareOpenGLContexts" not in str(exc):
            return _unavailable(exc)
        from qtpy.QtCore import QCoreApplication, Qt

        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        try:
            _import_webengine()
        except ImportError as again:
            return _unavailable(again)
    except Exception as exc:  # qtpy raises its own error types for missing modules
        return _unavailable(exc)
    return None


def _import_webengine() -> None:
    from qtpy import QtWebEngineCore, QtWebEngineWidgets  # noqa: F401


def _unavailable(exc: BaseException) -> str:
    return f"QtWebEngine is not available ({type(exc).__name__}: {exc})"


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
