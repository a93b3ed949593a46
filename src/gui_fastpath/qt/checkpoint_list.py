"""A run's checkpoints, newest first, each one a click away from its folder."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from qtpy.QtCore import Qt, QUrl
from qtpy.QtGui import QDesktopServices
from qtpy.QtWidgets import QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from gui_fastpath.manifest.model import Checkpoint

__all__ = ["CheckpointList", "describe_checkpoint"]

_PATH_ROLE = Qt.ItemDataRole.UserRole


def describe_checkpoint(checkpoint: Checkpoint) -> str:
    """``checkpoints/q_5000.npz — step 5,000 — 12.3 KiB — 14:03:22``."""
    size = float(checkpoint.size)
    unit = "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    parts = [checkpoint.path]
    if checkpoint.step is not None:
        parts.append(f"step {checkpoint.step:,}")
    parts.append(f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}")
    parts.append(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(checkpoint.mtime)))
    return " — ".join(parts)


class CheckpointList(QWidget):
    """Lists checkpoints newest first; "Reveal in folder" opens the selected one's folder."""

    def __init__(self, run_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_dir = run_dir
        self.list = QListWidget()
        self.reveal_button = QPushButton("Reveal in folder")
        self.reveal_button.setEnabled(False)
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.list.currentItemChanged.connect(
            lambda item, _prev: self.reveal_button.setEnabled(item is not None)
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addWidget(self.reveal_button)
        self.set_checkpoints(())

    def set_checkpoints(self, checkpoints: Sequence[Checkpoint]) -> None:
        ordered = sorted(checkpoints, key=lambda c: (c.mtime, c.step or -1), reverse=True)
        self.list.clear()
        for checkpoint in ordered:
            item = QListWidgetItem(describe_checkpoint(checkpoint))
            item.setData(_PATH_ROLE, checkpoint.path)
            self.list.addItem(item)
        if not ordered:
            placeholder = QListWidgetItem("No checkpoints yet.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(placeholder)

    def selected_path(self) -> Path | None:
        item = self.list.currentItem()
        rel = item.data(_PATH_ROLE) if item is not None else None
        return self.run_dir / rel if rel else None

    def reveal_selected(self) -> bool:
        """Open the folder holding the selected checkpoint in the desktop's file browser."""
        path = self.selected_path()
        if path is None:
            return False
        folder = path if path.is_dir() else path.parent
        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
