"""The demo worker's train form: steps, W&B mode and the lane (Fast, chosen automatically)."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.demo import DEMO_WORKER_ID, demo_train_config
from gui_fastpath.qt.lane_selector import LaneSelector, lanes_tooltip
from gui_fastpath.routing import FastPathRouting

__all__ = ["DemoTrainForm"]


class DemoTrainForm(QDialog):
    """Like the host's train dialogs: ``get_config()`` returns the host-shaped train config."""

    def __init__(
        self,
        routing: FastPathRouting | None = None,
        catalog_entry: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train the demo worker")
        self.setToolTip(lanes_tooltip())
        self.steps = QSpinBox()
        self.steps.setRange(1_000, 10_000_000)
        self.steps.setSingleStep(5_000)
        self.steps.setValue(20_000)
        self.wandb_mode = QComboBox()
        self.wandb_mode.addItems(["offline", "online", "disabled"])
        self.wandb_mode.setToolTip(
            "offline: the run stays on this machine and the W&B tab reads it from disk; "
            "sync it later from the W&B tab."
        )
        self.lane = LaneSelector()
        routing = routing or FastPathRouting()
        self.lane.set_decision(routing.decide(DEMO_WORKER_ID, catalog_entry))
        intro = QLabel(
            "Tabular Q-learning on a 6×6 grid world. The worker writes its own TensorBoard "
            "scalars, an offline W&B run and checkpoints."
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Total steps", self.steps)
        form.addRow("W&B mode", self.wandb_mode)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.lane)
        layout.addWidget(buttons)

    def get_config(self) -> dict[str, Any]:
        mode = self.wandb_mode.currentText()
        config = demo_train_config(total_steps=self.steps.value(), wandb=mode != "disabled")
        config["metadata"]["artifacts"]["wandb"]["mode"] = mode
        requested = self.lane.requested_lane()
        if requested is not None:
            config["metadata"]["requested_lane"] = requested.value
        return config
