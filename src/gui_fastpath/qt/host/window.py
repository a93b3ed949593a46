"""The reference host window: a run list, a train button and per-run dynamic tabs.

It offers the extension points MOSAIC offers (presenter registry, worker catalog and train
form, ``add_dynamic_tab``/``remove_dynamic_tabs_for_run``) and knows nothing of the Fast
Path: everything arrives through :func:`gui_fastpath.qt.host.adapter.install_plugins`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QCloseEvent
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStatusBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.qt.host.registry import WorkerCatalog, WorkerPresenterRegistry

log = logging.getLogger(__name__)

__all__ = ["ReferenceHostWindow"]


class ReferenceHostWindow(QMainWindow):
    """A small training GUI with MOSAIC's extension points."""

    trainRequested = Signal()
    runSelected = Signal(str)
    closing = Signal()

    def __init__(self, runs_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("gui_fastpath — reference host")
        self.resize(1400, 900)
        self.runs_root = runs_root
        self.presenter_registry = WorkerPresenterRegistry()
        self.worker_catalog = WorkerCatalog()
        self.train_forms: dict[str, Callable[..., QWidget]] = {}
        self._run_tabs: dict[str, list[QWidget]] = {}

        self.run_list = QListWidget()
        self.run_list.itemActivated.connect(lambda item: self.runSelected.emit(item.text()))
        self.train_button = QPushButton("Train…")
        self.train_button.clicked.connect(self.trainRequested.emit)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(QLabel(f"Runs in <code>{runs_root}</code>"))
        side_layout.addWidget(self.run_list)
        side_layout.addWidget(self.train_button)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        home = QLabel("Open a run, or press Train… to start one.")
        home.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs.addTab(home, "Home")
        split = QSplitter()
        split.addWidget(side)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 4)
        central = QWidget()
        QHBoxLayout(central).addWidget(split)
        self.setCentralWidget(central)
        self.status_bar = QStatusBar()
        self.setStatusBar(self.status_bar)

    # -- MOSAIC's worker form factory
    def register_train_form(self, worker_id: str, factory: Callable[..., QWidget]) -> None:
        self.train_forms[worker_id] = factory

    # -- MOSAIC's dynamic tabs
    def add_dynamic_tab(self, run_id: str, name: str, widget: QWidget) -> None:
        self._run_tabs.setdefault(run_id, []).append(widget)
        label = name.replace("&", "&&")  # "W&B", not a W + mnemonic B
        index = self.tabs.addTab(widget, f"{label} · {run_id[-6:]}")
        self.tabs.setTabToolTip(index, f"{name} of run {run_id}")

    def remove_dynamic_tabs_for_run(self, run_id: str) -> None:
        """As the host does: ``cleanup()`` if present, then ``deleteLater()``; no closeEvent."""
        for widget in self._run_tabs.pop(run_id, []):
            index = self.tabs.indexOf(widget)
            if index >= 0:
                self.tabs.removeTab(index)
            cleanup = getattr(widget, "cleanup", None)
            if callable(cleanup):
                try:
                    cleanup()
                except Exception:
                    log.exception("cleanup of a tab of run %s failed", run_id)
            widget.deleteLater()

    def dynamic_tabs(self, run_id: str) -> dict[str, QWidget]:
        return {w.windowTitle(): w for w in self._run_tabs.get(run_id, [])}

    def open_runs(self) -> list[str]:
        return list(self._run_tabs)

    def show_tab(self, run_id: str, title: str) -> None:
        widget = self.dynamic_tabs(run_id).get(title)
        if widget is not None:
            self.tabs.setCurrentWidget(widget)

    # -- run list
    def note_run(self, run_id: str, state: str | None) -> None:
        items = self.run_list.findItems(run_id, Qt.MatchFlag.MatchExactly)
        item = items[0] if items else QListWidgetItem(run_id)
        if not items:
            self.run_list.insertItem(0, item)
        item.setToolTip(state or "no lifecycle yet")

    def forget_run(self, run_id: str) -> None:
        for item in self.run_list.findItems(run_id, Qt.MatchFlag.MatchExactly):
            self.run_list.takeItem(self.run_list.row(item))
        self.remove_dynamic_tabs_for_run(run_id)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        for run_id in list(self._run_tabs):
            self.remove_dynamic_tabs_for_run(run_id)
        super().closeEvent(event)
