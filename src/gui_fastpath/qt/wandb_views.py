"""The W&B tab's read-only views: latest scalars (table), config (tree), metadata (tree)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from qtpy.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.qt.wandb_series import format_value

__all__ = ["ConfigTree", "MetadataTree", "ScalarsTable"]

_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_SORT = Qt.ItemDataRole.UserRole


class _ScalarsModel(QAbstractTableModel):
    """Rows of (metric, latest value, step)."""

    HEADERS = ("metric", "value", "step")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[str, Any, float | None]] = []

    def set_rows(self, rows: Sequence[tuple[str, Any, float | None]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        name, value, step = self._rows[index.row()]
        column = index.column()
        if role in (_DISPLAY, _TOOLTIP):
            if column == 0:
                return name
            if column == 1:
                return format_value(value)
            return "" if step is None else f"{step:g}"
        if role == _SORT:
            cell = (name, value, step)[column]
            return cell if isinstance(cell, int | float | str) else format_value(cell)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


class ScalarsTable(QWidget):
    """The run's latest scalars, sortable and filterable by name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = _ScalarsModel()
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self.model)
        self._proxy.setSortRole(_SORT)
        self._proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter metrics…")
        self.filter.textChanged.connect(self._proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self._proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        _header(self.view.horizontalHeader()).setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch
        )
        _header(self.view.verticalHeader()).hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)

    def set_rows(self, rows: Sequence[tuple[str, Any, float | None]]) -> None:
        self.model.set_rows(rows)

    def rows(self) -> list[tuple[str, str, str]]:
        """The table as shown (sorted, filtered): for tests and copy-paste."""
        proxy = self._proxy
        return [
            tuple(proxy.index(r, c).data() for c in range(3))  # type: ignore[misc]
            for r in range(proxy.rowCount())
        ]


def _header(header: QHeaderView | None) -> QHeaderView:
    assert header is not None
    return header


def _item(item: QTreeWidgetItem | None) -> QTreeWidgetItem:
    assert item is not None
    return item


def _add_children(parent: QTreeWidgetItem, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            item = QTreeWidgetItem(
                parent, [str(key), "" if _nested(child) else format_value(child)]
            )
            _add_children(item, child)
    elif isinstance(value, list) and _nested(value):
        for i, child in enumerate(value):
            item = QTreeWidgetItem(
                parent, [f"[{i}]", "" if _nested(child) else format_value(child)]
            )
            _add_children(item, child)


def _nested(value: Any) -> bool:
    if isinstance(value, Mapping):
        return bool(value)
    return isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value)


class _KeyValueTree(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["key", "value"])
        self.setUniformRowHeights(True)
        _header(self.header()).setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)

    def _fill(self, tree: Mapping[str, Any]) -> None:
        self.setUpdatesEnabled(False)
        try:
            self.clear()
            _add_children(_item(self.invisibleRootItem()), tree)
            self.expandToDepth(0)
        finally:
            self.setUpdatesEnabled(True)

    def value_at(self, *path: str) -> str | None:
        """The value shown at a key path (``"optimizer", "name"``), or ``None``."""
        item = _item(self.invisibleRootItem())
        for part in path:
            children = (_item(item.child(i)) for i in range(item.childCount()))
            found = next((child for child in children if child.text(0) == part), None)
            if found is None:
                return None
            item = found
        return item.text(1)


class ConfigTree(_KeyValueTree):
    """The run config as a tree, nested keys as branches."""

    def set_config(self, config: Mapping[str, Any]) -> None:
        self._fill(config)


class MetadataTree(_KeyValueTree):
    """Who the run is and where it ran: identity, state, environment."""

    def set_metadata(self, run: Mapping[str, Any], environment: Mapping[str, Any]) -> None:
        self._fill({"run": run, "environment": environment} if environment else {"run": run})


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")
