"""The Live tab of a fast-lane run: disabled, with a banner saying where the metrics are."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

__all__ = ["AnalyticsOnlyBanner", "banner_text"]


def banner_text(run_id: str, run_dir: str) -> str:
    """The banner's words; also shown by hosts that keep their own Live tab."""
    return (
        f"<h3>Analytics-only run</h3>"
        f"<p>This worker writes its own analytics, so live per-step telemetry is off for "
        f"run <b>{run_id}</b>. Nothing is missing: its metrics are in the "
        f"<b>TensorBoard</b> and <b>W&amp;B</b> tabs, its progress and logs in the "
        f"<b>Fast Path</b> tab, and its files under <code>{run_dir}</code>.</p>"
    )


class AnalyticsOnlyBanner(QWidget):
    """Stands in for the Live telemetry tab of an analytics-only (Fast Path) worker."""

    def __init__(self, run_id: str, run_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fastpath-live-banner")
        self.label = QLabel(banner_text(run_id, run_dir))
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setStyleSheet(
            "QLabel { background: #fff4d6; border: 2px solid #e0a800; border-radius: 6px;"
            " padding: 14px; color: #3d2f00; }"
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addStretch(1)

    def cleanup(self) -> None:
        """Nothing to release; present for the host's tab-removal protocol."""
