"""Choose a run's lane — Live, Durable or Fast — with the routing strategy's choice preset."""

from __future__ import annotations

from qtpy.QtWidgets import QButtonGroup, QGroupBox, QLabel, QRadioButton, QVBoxLayout, QWidget

from gui_fastpath.routing import Lane, RouteDecision

__all__ = ["LANE_COPY", "LaneSelector", "lanes_tooltip"]

LANE_COPY: dict[Lane, tuple[str, str]] = {
    Lane.LIVE: (
        "Live",
        "Per-step telemetry streams to the Live tabs as the worker trains, and is stored "
        "for replay.",
    ),
    Lane.DURABLE: (
        "Durable",
        "Per-step telemetry is stored for replay and export, but nothing is drawn live.",
    ),
    Lane.FAST: (
        "Fast Analytics Path",
        "No per-step telemetry: the worker writes TensorBoard, W&B and checkpoints itself. "
        "The GUI shows its lifecycle, progress and logs, and opens TensorBoard and W&B tabs; "
        "the Live tab says the run is analytics-only.",
    ),
}


def lanes_tooltip() -> str:
    """The three lanes in a sentence each, for the train form's tooltip."""
    rows = "".join(f"<li><b>{title}</b>: {text}</li>" for title, text in LANE_COPY.values())
    return f"<p>Where this run's metrics travel:</p><ul>{rows}</ul>"


class LaneSelector(QGroupBox):
    """Three radio buttons; :meth:`set_decision` presets the automatic choice and says why."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Telemetry lane", parent)
        self.setToolTip(lanes_tooltip())
        self.buttons: dict[Lane, QRadioButton] = {}
        self._group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        for lane, (title, text) in LANE_COPY.items():
            button = QRadioButton(title)
            button.setToolTip(text)
            self._group.addButton(button)
            self.buttons[lane] = button
            hint = QLabel(text)
            hint.setWordWrap(True)
            hint.setStyleSheet("color: palette(mid); margin-left: 22px;")
            layout.addWidget(button)
            layout.addWidget(hint)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        layout.addWidget(self.reason)
        self._automatic: Lane | None = None

    def set_decision(self, decision: RouteDecision) -> None:
        """Select the lane the routing strategy chose for this worker."""
        self._automatic = decision.lane
        self.buttons[decision.lane].setChecked(True)
        self.reason.setText(f"Selected automatically: {decision.reason}.")

    def lane(self) -> Lane | None:
        return next((lane for lane, b in self.buttons.items() if b.isChecked()), None)

    def requested_lane(self) -> Lane | None:
        """The lane the operator picked over the automatic one, else ``None``."""
        lane = self.lane()
        return lane if lane is not self._automatic else None
