"""Lifecycle at a glance: state, progress, duration, rate, and why a run failed."""

from __future__ import annotations

import time

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QProgressBar, QWidget

from gui_fastpath.lifecycle.events import RunLifecycleEvent, RunState

__all__ = ["RunStatusPanel", "format_duration"]

_STATE_COLOURS = {
    RunState.STARTED: "#1565c0",
    RunState.RUNNING: "#1565c0",
    RunState.COMPLETED: "#2e7d32",
    RunState.FAILED: "#c62828",
    RunState.CANCELLED: "#6d4c41",
}


def format_duration(seconds: float) -> str:
    """``93`` → ``1m 33s``; ``4000`` → ``1h 06m 40s``."""
    s = max(0, int(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class RunStatusPanel(QWidget):
    """Shows the latest :class:`RunLifecycleEvent` of one run; the duration ticks while alive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state_label = QLabel("waiting for the worker…")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)  # busy until a total is known
        self.duration_label = QLabel("–")
        self.rate_label = QLabel("–")
        self.step_label = QLabel("–")
        self.error_view = QPlainTextEdit()
        self.error_view.setReadOnly(True)
        self.error_view.setMaximumHeight(140)
        self.error_view.hide()
        form = QFormLayout(self)
        form.addRow("State", self.state_label)
        form.addRow("Progress", self.progress_bar)
        form.addRow("Step", self.step_label)
        form.addRow("Duration", self.duration_label)
        form.addRow("Steps/s", self.rate_label)
        form.addRow(self.error_view)
        self.state: RunState | None = None
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._show_duration)

    def apply_event(self, event: RunLifecycleEvent) -> None:
        """Show one event; events may arrive replayed from ``lifecycle.jsonl``."""
        self.state = event.state
        if event.state is RunState.STARTED or self._started_at is None:
            self._started_at = event.timestamp
            if event.progress and event.progress.elapsed_s is not None:
                self._started_at = event.timestamp - event.progress.elapsed_s
        text = event.state.value.capitalize()
        if event.stalled:
            text += " — stalled (no sign of life)"
        if event.state.terminal:
            self._ended_at = event.timestamp
            if event.message:
                text += f" — {event.message}"
            self._ticker.stop()
        elif not self._ticker.isActive():
            self._ended_at = None
            self._ticker.start()
        colour = "#ef6c00" if event.stalled else _STATE_COLOURS[event.state]
        self.state_label.setText(f"<b style='color:{colour}'>{text}</b>")
        if event.progress is not None:
            self._show_progress(event)
        if event.state is RunState.COMPLETED and self.progress_bar.maximum() == 1000:
            self.progress_bar.setValue(1000)
        if event.state.terminal and self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)  # stop the busy animation
            self.progress_bar.setValue(1 if event.state is RunState.COMPLETED else 0)
        if event.state is RunState.FAILED:
            lines = [event.error or event.message or "the worker failed"]
            if event.error_type:
                lines[0] = f"{event.error_type}: {lines[0]}"
            if event.stderr_tail:
                lines += ["", "Last lines of stderr:", *event.stderr_tail]
            self.error_view.setPlainText("\n".join(lines))
            self.error_view.show()
        self._show_duration()

    def _show_progress(self, event: RunLifecycleEvent) -> None:
        progress = event.progress
        assert progress is not None
        if progress.fraction is not None:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(round(progress.fraction * 1000))
            self.progress_bar.setFormat(f"{progress.fraction:.0%}")
        if progress.step is not None:
            total = f" / {progress.total_steps:,}" if progress.total_steps else ""
            self.step_label.setText(f"{progress.step:,}{total}")
        if progress.steps_per_s is not None:
            self.rate_label.setText(f"{progress.steps_per_s:,.1f}")

    def _show_duration(self) -> None:
        if self._started_at is None:
            return
        end = self._ended_at if self._ended_at is not None else time.time()
        self.duration_label.setText(format_duration(end - self._started_at))

    def cleanup(self) -> None:
        self._ticker.stop()
