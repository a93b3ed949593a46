"""stdout and stderr of a run, streamed as the worker writes, from the end of each file."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QTimer
from qtpy.QtGui import QFont, QShowEvent
from qtpy.QtWidgets import QPlainTextEdit, QTabWidget, QVBoxLayout, QWidget

from gui_fastpath.logs import FileTail
from gui_fastpath.manifest.model import Logs

__all__ = ["LogTailView"]

_MAX_LINES = 5_000
_READ_BUDGET = 256 * 1024  # bytes per refresh per stream: keeps each tick well under 50 ms


class LogTailView(QWidget):
    """Two read-only panes that follow the run's log files; never reads a whole file.

    A hidden view reads when it is shown or given new files, not on every tick: with many
    runs open, only the visible one costs the GUI thread anything.
    """

    def __init__(self, run_dir: Path, interval_ms: int = 250, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_dir = run_dir
        self.panes: dict[str, QPlainTextEdit] = {}
        self._tails: dict[str, FileTail | None] = {"stdout": None, "stderr": None}
        self.tabs = QTabWidget()
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        for stream in self._tails:
            pane = QPlainTextEdit()
            pane.setReadOnly(True)
            pane.setMaximumBlockCount(_MAX_LINES)
            pane.setFont(mono)
            pane.setPlaceholderText(f"No {stream} log yet.")
            self.panes[stream] = pane
            self.tabs.addTab(pane, stream)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._follow)
        self._timer.start()

    def _follow(self) -> None:
        """Timer tick: follow the files only while someone can see them (one read on show)."""
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def set_logs(self, logs: Logs) -> None:
        """Follow the files the manifest names (switching files starts a new pane)."""
        for stream in self._tails:
            rel = getattr(logs, stream)
            current = self._tails[stream]
            path = self.run_dir / rel if rel else None
            if path is None or (current is not None and current.path == path):
                continue
            tail = self._tails[stream] = FileTail(path, max_read=_READ_BUDGET)
            self.panes[stream].clear()
            compressed = f"log compressed: {path.name}"  # shown; a finished run's end, read once
            self.panes[stream].setPlaceholderText(
                compressed if tail.compressed else f"No {stream} log yet."
            )
            index = list(self._tails).index(stream)
            self.tabs.setTabText(index, f"{stream} (compressed)" if tail.compressed else stream)
            self.tabs.setTabToolTip(index, compressed if tail.compressed else str(path))
        self.refresh()

    def refresh(self) -> None:
        for stream, tail in self._tails.items():
            if tail is None:
                continue
            chunk = tail.read()
            pane = self.panes[stream]
            if chunk.reset:
                pane.clear()
            if chunk.lines:
                bar = pane.verticalScrollBar()
                at_bottom = bar.value() >= bar.maximum() - 2
                pane.appendPlainText("\n".join(chunk.lines))
                if at_bottom:
                    bar.setValue(bar.maximum())

    def text(self, stream: str) -> str:
        return self.panes[stream].toPlainText()

    def cleanup(self) -> None:
        self._timer.stop()
