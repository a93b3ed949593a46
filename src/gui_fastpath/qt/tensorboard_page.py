"""The embedded TensorBoard page: an off-the-record web view that keeps to its server.

Importing this module needs QtWebEngine; the tab catches the ImportError and offers
"open in browser" instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QUrl
from qtpy.QtGui import QDesktopServices, QHideEvent, QShowEvent
from qtpy.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from qtpy.QtWebEngineWidgets import QWebEngineView
from qtpy.QtWidgets import QWidget

__all__ = ["TensorBoardView"]

log = logging.getLogger(__name__)


class _TensorBoardPage(QWebEnginePage):  # type: ignore[misc]
    """Stays on its TensorBoard; links elsewhere open in the desktop browser."""

    def acceptNavigationRequest(self, url: QUrl | str, kind: Any, is_main_frame: bool) -> bool:
        current, url = self.url(), QUrl(url)
        if not is_main_frame or current.isEmpty() or _same_origin(url, current):
            return True
        QDesktopServices.openUrl(url)
        return False

    def javaScriptConsoleMessage(
        self, level: Any, message: str | None, line: int, source: str | None
    ) -> None:
        log.debug("TensorBoard page: %s (%s:%d)", message, source, line)


class TensorBoardView(QWebEngineView):  # type: ignore[misc]
    """A web view whose profile writes nothing to disk (the URL holds the access secret).

    While hidden its page is frozen: no script runs and its renderer takes no CPU.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        profile = QWebEngineProfile()  # no storage name: off the record
        self._page = _TensorBoardPage(profile, self)
        profile.setParent(self._page)  # so it is deleted after the page, as it must be
        self.setPage(self._page)
        self.loadFinished.connect(self._freeze_if_hidden)  # hidden while it loaded

    def showEvent(self, event: QShowEvent) -> None:
        self._page.setLifecycleState(QWebEnginePage.LifecycleState.Active)
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._freeze_if_hidden()

    def _freeze_if_hidden(self) -> None:
        if not self._page.isVisible() and not self._page.isLoading():
            self._page.setLifecycleState(QWebEnginePage.LifecycleState.Frozen)

    @property
    def frozen(self) -> bool:
        """True while the page is frozen (the view is hidden)."""
        return bool(self._page.lifecycleState() == QWebEnginePage.LifecycleState.Frozen)

    def evaluate(self, script: str, callback: Callable[[Any], None]) -> None:
        """Run ``script`` (which evaluates to a JSON string); ``callback`` gets it decoded.

        ``callback`` gets None when the page has no result (e.g. while it loads).
        """
        self._page.runJavaScript(script, 0, lambda raw: callback(_decode(raw)))

    def release(self) -> None:
        """Stop loading and delete the view, its page and (after the page) its profile."""
        self.stop()
        self.hide()
        self.deleteLater()


def _decode(raw: object) -> Any:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _same_origin(a: QUrl, b: QUrl) -> bool:
    return (a.scheme(), a.host(), a.port()) == (b.scheme(), b.host(), b.port())
