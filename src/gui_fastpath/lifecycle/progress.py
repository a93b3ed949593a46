"""Merge progress from every source into one :class:`Progress`.

The worker's own heartbeats (stdout or sidecar) win; steps inferred from TensorBoard or
checkpoint names are used only while the worker has reported none, since they may count
in other units, and only ever move forward (the newest of the two sources). The step
rate is the worker's if it sends one, else measured over a sliding window.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs

from gui_fastpath.lifecycle.events import Progress
from gui_fastpath.lifecycle.protocol import ProgressSample

__all__ = ["ProgressTracker"]

_WORKER_SOURCES = frozenset({"stdout", "sidecar"})


class ProgressTracker:
    """Accumulates progress samples; :meth:`snapshot` gives the event payload."""

    def __init__(
        self, *, started: float, total_steps: int | None = None, rate_window_s: float = 10.0
    ) -> None:
        self._started = started
        self._rate_window_s = rate_window_s
        self._samples: deque[tuple[float, int]] = deque()
        self._worker_steps = False
        self._reported_rate: float | None = None
        self._current = Progress(total_steps=total_steps)

    @property
    def has_step(self) -> bool:
        return self._current.step is not None

    def update(self, sample: ProgressSample, *, source: str, now: float) -> bool:
        """Fold in a worker-reported sample; True if anything changed."""
        before = self._current
        worker = source in _WORKER_SOURCES
        if sample.step is not None:
            if worker:
                if not self._worker_steps:
                    self._samples.clear()  # inferred steps may count in other units
                self._worker_steps = True
            if worker:
                self._record_step(sample.step, now, source)
            elif not self._worker_steps and sample.step > (self._current.step or -1):
                self._record_step(sample.step, now, source)  # inferred steps only move on
        if worker and sample.steps_per_s is not None:
            self._reported_rate = sample.steps_per_s
        changes = {
            name: value
            for name, value in (
                ("total_steps", sample.total_steps),
                ("episode", sample.episode),
                ("memory_mb", sample.memory_mb),
                ("cpu_percent", sample.cpu_percent),
                ("last_checkpoint", sample.last_checkpoint),
            )
            if value is not None
        }
        if changes:
            self._current = _evolve(self._current, **changes)
        return self._current != before

    def snapshot(self, now: float) -> Progress:
        """The current progress, with elapsed time, fraction and rate filled in."""
        current = self._current
        fraction = None
        if current.step is not None and current.total_steps:
            fraction = round(min(1.0, max(0.0, current.step / current.total_steps)), 6)
        rate = self._reported_rate if self._worker_steps else None
        if rate is None:
            rate = self._measured_rate()
        return _evolve(
            current,
            fraction=fraction,
            steps_per_s=None if rate is None else round(rate, 3),
            elapsed_s=round(max(0.0, now - self._started), 3),
        )

    def _record_step(self, step: int, now: float, source: str) -> None:
        if self._samples and step < self._samples[-1][1]:
            self._samples.clear()  # the worker restarted its count
        self._samples.append((now, step))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._rate_window_s:
            self._samples.popleft()
        self._current = _evolve(self._current, step=step, source=source)

    def _measured_rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, s0), (t1, s1) = self._samples[0], self._samples[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None


def _evolve(progress: Progress, **changes: Any) -> Progress:
    return attrs.evolve(progress, **changes)
