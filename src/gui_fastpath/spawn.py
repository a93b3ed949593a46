"""How the plugin starts child processes: a group of their own, below the GUI, gone with us.

Every child (a supervisor, TensorBoard, a W&B reader or sync) leads a process group of its
own, so one signal reaches everything it spawned, but stays in our session: on Linux with
autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) each new session is a
scheduling group that competes with the GUI as an equal whatever its nice value, and twenty
runs' worth of such groups starve the GUI thread for seconds. Inside our session a child
runs at :data:`BACKGROUND_NICE` (or lower, never higher, than we do), so under load the
GUI thread gets the CPU first; with spare cores the children run at full speed anyway.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["BACKGROUND_NICE", "child_options"]

BACKGROUND_NICE = 10
"""Nice value of the plugin's child processes (0 is the GUI's, 19 the lowest priority)."""

_PR_SET_PDEATHSIG = 1


def child_options(
    *, nice: int | None = BACKGROUND_NICE, die_with_parent: bool = True
) -> dict[str, Any]:
    """Keyword arguments for ``subprocess.Popen`` / ``asyncio.create_subprocess_exec``.

    ``nice``: the child's nice value (``None`` keeps ours); ``die_with_parent``: on Linux
    the child is SIGKILLed when the thread that started it ends (leave it off for children
    that must first stop their own group, and start the child from a thread that lives).
    """
    if os.name == "nt":  # pragma: no cover - no process groups or nice values to set
        return {"creationflags": 0x00000200}  # CREATE_NEW_PROCESS_GROUP
    target = None if nice is None else max(nice, os.getpriority(os.PRIO_PROCESS, 0))
    prctl = ctypes.CDLL(None, use_errno=True).prctl if die_with_parent and _linux() else None
    parent = os.getpid()

    def in_child() -> None:  # pragma: no cover - runs in the child between fork and exec
        os.setpgid(0, 0)
        if target is not None:
            os.setpriority(os.PRIO_PROCESS, 0, target)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before the signal was armed
                os._exit(1)

    preexec: Callable[[], None] = in_child
    return {"preexec_fn": preexec, "close_fds": True}


def _linux() -> bool:
    return sys.platform.startswith("linux")
