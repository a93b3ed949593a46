"""History rows turned into per-metric chart series, built off the GUI thread (no Qt here).

Rows are appended as the reader finds them; each metric keeps its steps and values in
growing ``array('d')`` buffers, so following a live run costs only the new rows. A chart
gets a peak-preserving decimation (min and max of each bucket) small enough to draw at once.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

__all__ = ["MAX_POINTS", "HistorySeries", "Series", "flatten", "format_value"]

MAX_POINTS = 4000
"""Points per curve handed to the GUI thread; more than a chart is wide, few to draw."""


@attrs.frozen
class Series:
    """One metric ready to draw: x (step) and y, already decimated."""

    name: str
    x: np.ndarray = attrs.field(eq=False)
    y: np.ndarray = attrs.field(eq=False)
    total: int
    """Points logged in all (before decimation)."""
    last_step: float | None
    last_value: float | None


class HistorySeries:
    """Per-metric steps and values of a run's history, appended to incrementally."""

    def __init__(self) -> None:
        self._x: dict[str, array] = {}
        self._y: dict[str, array] = {}
        self.rows = 0
        """History rows consumed so far."""

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names in order of first appearance (wandb's ``_``-prefixed keys left out)."""
        return tuple(self._x)

    def extend(self, rows: Iterable[Mapping[str, Any]]) -> set[str]:
        """Append rows; return the metrics that got new points."""
        changed: set[str] = set()
        xs, ys = self._x, self._y
        for row in rows:
            step = row.get("_step", self.rows)
            self.rows += 1
            if not isinstance(step, int | float) or isinstance(step, bool):
                step = self.rows - 1
            for key, value in row.items():
                if key[:1] == "_" or isinstance(value, str | dict | list | type(None)):
                    continue
                if not isinstance(value, int | float):
                    continue
                x = xs.get(key)
                if x is None:
                    x = xs[key] = array("d")
                    ys[key] = array("d")
                x.append(step)
                ys[key].append(value)
                changed.add(key)
        return changed

    def last_step(self, name: str) -> float | None:
        """The step of the metric's latest point, or None if it has none."""
        steps = self._x.get(name)
        return steps[-1] if steps else None

    def series(
        self, name: str, *, x_range: tuple[float, float] | None = None, max_points: int = MAX_POINTS
    ) -> Series:
        """The metric decimated to at most ``max_points`` (within ``x_range`` if given)."""
        x = np.frombuffer(self._x[name], dtype=np.float64)
        y = np.frombuffer(self._y[name], dtype=np.float64)
        total = len(x)
        last_step = float(x[-1]) if total else None
        last_value = float(y[-1]) if total else None
        if x_range is not None and total:
            lo, hi = np.searchsorted(x, x_range[0], "left"), np.searchsorted(x, x_range[1], "right")
            x, y = x[max(lo - 1, 0) : hi + 1], y[max(lo - 1, 0) : hi + 1]
        x, y = decimate(x, y, max_points)
        return Series(name, x.copy(), y.copy(), total, last_step, last_value)


def decimate(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bucket's min and max (in step order) so spikes survive; NaNs are dropped."""
    finite = np.isfinite(y)
    if not finite.all():
        x, y = x[finite], y[finite]
    n = len(x)
    if n <= max_points:
        return x, y
    buckets = max(max_points // 2, 1)
    size = math.ceil(n / buckets)
    whole = (n // size) * size
    body = y[:whole].reshape(-1, size)
    starts = np.arange(0, whole, size)
    lo = starts + body.argmin(axis=1)
    hi = starts + body.argmax(axis=1)
    picks = np.sort(np.concatenate([lo, hi, np.arange(whole, n)]))
    picks = picks[np.concatenate(([True], picks[1:] != picks[:-1]))]
    return x[picks], y[picks]


def flatten(tree: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as dotted ``(key, value)`` pairs; wandb's typed values stay whole."""
    out: list[tuple[str, Any]] = []
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and "_type" not in value:
            out.extend(flatten(value, f"{name}."))
        else:
            out.append((name, value))
    return out


def format_value(value: Any) -> str:
    """A value as a table cell: numbers to 6 significant digits, media by their type."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping) and "_type" in value:
        return f"<{value['_type']}>"
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and len(value) <= 8:
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Sequence):
        return f"[{len(value)} items]"
    return repr(value)
