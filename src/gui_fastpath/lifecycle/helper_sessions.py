"""Keep sessions a worker's helpers start at the worker's priority (Linux autogroups).

Some libraries start their helper in a session of its own (``wandb`` does, for
``wandb-core``). With autogroup scheduling a new session is a scheduling group that
competes with every other group as an equal, whatever its processes' nice values: twenty
runs' helpers then outweigh the GUI. Writing the worker's nice value to the helper's
``/proc/<pid>/autogroup`` puts that group back where the worker is. The kernel lets an
unprivileged user do so once per 100 ms across the whole machine, so a refused write is
tried again at the next look.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import psutil

__all__ = ["HelperSessions"]

_FIRST_LOOK_S = 1.0
_MAX_INTERVAL_S = 60.0


class HelperSessions:
    """Looks at a worker's descendants now and then (1, 2, 4 … 60 s apart)."""

    def __init__(self, worker_pid: int) -> None:
        self.worker_pid = worker_pid
        self.lowered: set[int] = set()
        """Helpers whose session now runs at the worker's priority."""
        self._interval = _FIRST_LOOK_S
        self._next = time.monotonic() + _FIRST_LOOK_S

    def look_if_due(self) -> None:
        """Lower any new helper session; cheap when no look is due."""
        now = time.monotonic()
        if now < self._next:
            return
        refused = self.look()
        self._interval = _FIRST_LOOK_S if refused else min(self._interval * 2, _MAX_INTERVAL_S)
        self._next = now + self._interval

    def look(self) -> bool:
        """Lower every helper session found; True if the kernel refused one for now."""
        try:
            worker = psutil.Process(self.worker_pid)
            nice = worker.nice()
            helpers = worker.children(recursive=True)
        except psutil.Error:
            return False
        if nice <= 0:
            return False  # the worker runs at the default priority: nothing to match
        refused = False
        for helper in helpers:
            pid = helper.pid
            if pid in self.lowered or not _leads_own_session(pid):
                continue
            try:
                Path(f"/proc/{pid}/autogroup").write_text(str(nice), encoding="ascii")
                self.lowered.add(pid)
            except BlockingIOError:  # EAGAIN: the machine-wide rate limit
                refused = True
            except OSError:
                self.lowered.add(pid)  # gone, no autogroups here, or not ours: leave it
        return refused


def _leads_own_session(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return os.getsid(pid) == pid and os.getsid(pid) != os.getsid(0)
    return False
