"""A W&B run's web dashboard: embedded when QtWebEngine is there, else "open in browser".

The embedded page uses an off-the-record profile, so no cookie, cache or form data of the
W&B site is written to disk by us.
"""

from __future__ import annotations

import contextlib
from typing import Any

from qtpy.QtCore import Qt, QUrl
from qtpy.QtGui import QDesktopServices
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui_fastpath.qt.webengine import webengine_problem

__all__ = ["Dashboard"]

with contextlib.suppress(Exception):  # early: PyQt6 loads QtWebEngine only before QApplication
    from qtpy import QtWebEngineCore, QtWebEngineWidgets  # noqa: F401


class Dashboard(QWidget):
    """Shows one URL: in an embedded browser when asked to and able, with a browser button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.url = ""
        self.view: Any = None
        self._page: Any = None
        self._profile: Any = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open in browser")
        self.open_button.clicked.connect(self.open_in_browser)
        self.open_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.message, 1)
        bar.addWidget(self.open_button)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addLayout(bar)

    def show_link(self, url: str, message: str) -> None:
        """No embedded page: a message and the "open in browser" button."""
        self.url = url
        self.message.setText(message)
        self.open_button.setEnabled(bool(url))
        if self.view is not None:
            self.view.hide()

    def embed(self, url: str) -> bool:
        """Load ``url`` in the embedded view; False (and a link instead) without QtWebEngine."""
        self.url = url
        self.open_button.setEnabled(True)
        problem = webengine_problem()
        if problem is not None:
            self.show_link(url, f"{problem}; open the run in your browser instead.")
            return False
        if self.view is None:
            self._create_view()
        self.message.setText(url)
        self.view.show()
        self.view.setUrl(QUrl(url))
        return True

    def open_in_browser(self) -> None:
        if self.url:
            QDesktopServices.openUrl(QUrl(self.url))

    def cleanup(self) -> None:
        """Release the page before its profile (QtWebEngine requires that order)."""
        if self.view is None:
            return
        self.view.stop()
        self._page.deleteLater()
        self._profile.deleteLater()
        self.view = self._page = self._profile = None

    def _create_view(self) -> None:
        from qtpy.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
        from qtpy.QtWebEngineWidgets import QWebEngineView

        view = QWebEngineView(self)
        profile = QWebEngineProfile(self)  # no storage name: off the record, nothing on disk
        page = QWebEnginePage(profile, view)
        view.setPage(page)
        self._layout.addWidget(view, 1)
        self.view, self._page, self._profile = view, page, profile
