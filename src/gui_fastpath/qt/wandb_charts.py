"""History charts drawn natively with pyqtgraph: one plot per chosen metric.

The series arrive already decimated (see :mod:`gui_fastpath.qt.wandb_series`), so drawing
costs the same however long the run is. Painting one plot still takes ~10 ms, so plots
are built and given new data one per event-loop turn, never all in one frame, only while
the charts are shown, and rows have a fixed height so a new plot never resizes (and
repaints) the others. Zooming in asks
for the detail of the visible steps through :attr:`HistoryCharts.detail_wanted`; the tab
computes it off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyqtgraph as pg
from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtGui import QShowEvent
from qtpy.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.qt.wandb_series import Series

__all__ = ["DEFAULT_VISIBLE", "HistoryCharts"]

DEFAULT_VISIBLE = 8
"""Metrics charted without asking; the others are one click away in the list."""
_PLOT_HEIGHT = 220
_DETAIL_DELAY_MS = 150


class _MetricPlot(pg.PlotWidget):
    def __init__(self, name: str, charts: HistoryCharts) -> None:
        # No context menu and no grid: both cost more to build and paint than the curve.
        super().__init__(title=name, enableMenu=False)
        self.name = name
        self.setFixedHeight(_PLOT_HEIGHT)
        self.setLabel("bottom", "step")
        self.curve = self.plot([], [], pen=pg.mkPen(width=1.5))
        self._detail = QTimer(self)
        self._detail.setSingleShot(True)
        self._detail.setInterval(_DETAIL_DELAY_MS)
        self._detail.timeout.connect(lambda: charts.ask_detail(self))
        self.getViewBox().sigXRangeChanged.connect(self._range_changed)

    def zoomed(self) -> bool:
        """True when the user has zoomed or panned (auto-range is off)."""
        return not self.getViewBox().state["autoRange"][0]

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.getViewBox().viewRange()[0]
        return float(lo), float(hi)

    def _range_changed(self, *_: object) -> None:
        if self.zoomed():
            self._detail.start()


class HistoryCharts(QWidget):
    """A filterable list of metrics (checked = charted) beside a column of plots."""

    detail_wanted = Signal(str, float, float)
    """A zoomed plot wants its metric decimated within (x_min, x_max)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._series: dict[str, Series] = {}
        self.plots: dict[str, _MetricPlot] = {}
        """The plots shown so far, by metric."""
        self._pending: list[str] = []
        """Plots to build, one per event-loop turn."""
        self._stale: dict[str, Series] = {}
        """Plots to give new data, one per event-loop turn."""
        self._turn = QTimer(self)
        self._turn.setSingleShot(True)
        self._turn.setInterval(0)
        self._turn.timeout.connect(self._next_turn)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter metrics…")
        self.filter.textChanged.connect(self._apply_filter)
        self.metric_list = QListWidget()
        self.metric_list.itemChanged.connect(self._toggled)
        self.empty = QLabel("No history logged yet.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._column_host = QWidget()
        self._column = QVBoxLayout(self._column_host)
        self._column.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        scroll.setWidget(self._column_host)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.filter)
        left_layout.addWidget(self.metric_list)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.empty)
        right_layout.addWidget(scroll, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    @property
    def charted(self) -> tuple[str, ...]:
        """The metrics chosen for a plot (shown or about to be), in the order chosen."""
        return (*self.plots, *self._pending)

    @property
    def settled(self) -> bool:
        """Every chosen plot is built and shows the latest data."""
        return not self._pending and not self._stale

    def add_metrics(self, names: Iterable[str]) -> None:
        """List metrics not seen before; the first :data:`DEFAULT_VISIBLE` get a plot."""
        known = set(self._names())
        self.metric_list.blockSignals(True)
        try:
            for name in names:
                if name in known:
                    continue
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                show = self.metric_list.count() < DEFAULT_VISIBLE
                item.setCheckState(Qt.CheckState.Checked if show else Qt.CheckState.Unchecked)
                self.metric_list.addItem(item)
                known.add(name)
                if show:
                    self._add_plot(name)
        finally:
            self.metric_list.blockSignals(False)
        self._apply_filter(self.filter.text())
        self.empty.setVisible(not known)

    def set_series(self, series: Mapping[str, Series]) -> None:
        """New data for some metrics (full range, decimated)."""
        self._series.update(series)
        self._stale.update((name, data) for name, data in series.items() if name in self.plots)
        if self._stale:
            self._turn.start()

    def set_detail(self, series: Series) -> None:
        """Detail for a zoomed plot's visible range."""
        plot = self.plots.get(series.name)
        if plot is not None and plot.zoomed():
            plot.curve.setData(series.x, series.y)

    def ask_detail(self, plot: _MetricPlot) -> None:
        if plot.name in self._series:
            self.detail_wanted.emit(plot.name, *plot.x_range())

    def curve_data(self, name: str) -> tuple[list[float], list[float]]:
        """The points a plot draws now (for tests)."""
        x, y = self.plots[name].curve.getData()
        return ([] if x is None else list(x)), ([] if y is None else list(y))

    def clear(self) -> None:
        self._pending.clear()
        self._stale.clear()
        for name in list(self.plots):
            self._remove_plot(name)
        self.metric_list.clear()
        self._series.clear()
        self.empty.setVisible(True)

    def _toggled(self, item: QListWidgetItem) -> None:
        name = item.text()
        checked = item.checkState() == Qt.CheckState.Checked
        if checked and name not in self.charted:
            self._add_plot(name)
        elif not checked and name in self._pending:
            self._pending.remove(name)
        elif not checked and name in self.plots:
            self._remove_plot(name)

    def _add_plot(self, name: str) -> None:
        self._pending.append(name)
        self._turn.start()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._pending or self._stale:
            self._turn.start()

    def _next_turn(self) -> None:
        """Build one plot, or refresh one plot's data; come back next turn for the rest."""
        if not self.isVisible():
            return  # hidden: resumed when shown
        if self._pending:
            name = self._pending.pop(0)
            plot = _MetricPlot(name, self)
            self.plots[name] = plot
            self._column.addWidget(plot)
            self._stale.pop(name, None)
            if (data := self._series.get(name)) is not None:
                plot.curve.setData(data.x, data.y)
        elif self._stale:
            name, data = self._stale.popitem()
            plot = self.plots[name]
            if plot.zoomed():
                self.ask_detail(plot)
            else:
                plot.curve.setData(data.x, data.y)
        if self._pending or self._stale:
            self._turn.start()

    def _remove_plot(self, name: str) -> None:
        plot = self.plots.pop(name)
        self._stale.pop(name, None)
        self._column.removeWidget(plot)
        plot.setParent(None)
        plot.deleteLater()

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for item in self._items():
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _items(self) -> list[QListWidgetItem]:
        items = (self.metric_list.item(i) for i in range(self.metric_list.count()))
        return [item for item in items if item is not None]

    def _names(self) -> list[str]:
        return [item.text() for item in self._items()]
