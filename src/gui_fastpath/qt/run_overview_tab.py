"""The "Fast Path" tab: lifecycle, checkpoints and logs of one run, with no telemetry."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGroupBox, QLabel, QSplitter, QVBoxLayout, QWidget

from gui_fastpath.lifecycle.events import RunLifecycleEvent
from gui_fastpath.manifest.model import ArtifactManifest
from gui_fastpath.qt.checkpoint_list import CheckpointList
from gui_fastpath.qt.log_tail_view import LogTailView
from gui_fastpath.qt.run_status_panel import RunStatusPanel

__all__ = ["RunOverviewTab"]


def _boxed(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(widget)
    return box


class RunOverviewTab(QWidget):
    """State, progress bar, duration, steps/s, checkpoints (newest first) and log tails."""

    def __init__(self, run_id: str, run_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fast Path")
        self.run_id, self.run_dir = run_id, run_dir
        self.status = RunStatusPanel()
        self.checkpoints = CheckpointList(run_dir)
        self.logs = LogTailView(run_dir)
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings_label.hide()
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(_boxed("Lifecycle", self.status))
        top.addWidget(_boxed("Checkpoints", self.checkpoints))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(_boxed("Logs", self.logs))
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.warnings_label)
        layout.addWidget(split)

    def apply_lifecycle(self, event: RunLifecycleEvent) -> None:
        self.status.apply_event(event)

    def apply_manifest(self, manifest: ArtifactManifest) -> None:
        self.checkpoints.set_checkpoints(manifest.checkpoints)
        self.logs.set_logs(manifest.logs)
        if manifest.warnings:
            items = "".join(
                f"<li><code>{w.source}</code> {w.field}: {w.problem} — <i>{w.fix}</i></li>"
                for w in manifest.warnings
            )
            self.warnings_label.setText(f"<b>Manifest warnings</b><ul>{items}</ul>")
            self.warnings_label.show()
        else:
            self.warnings_label.hide()

    def cleanup(self) -> None:
        self.status.cleanup()
        self.logs.cleanup()
