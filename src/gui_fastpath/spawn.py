"""How the plugin starts child processes: a group of their own, below the GUI, gone with us.

Every child (a supervisor, TensorBoard, a W&B reader or sync) leads a process group of its
own, so one signal reaches everything it spawned, but stays in our session: on Linux with
autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) each new session is a
scheduling group that competes with the GUI as an equal whatever its nice value, and twenty
runs' worth of such groups starve the GUI thread for seconds. Inside our session a child
runs below the GUI (:func:`run_below_us`): what serves the GUI at :data:`BACKGROUND_NICE`,
training runs at :data:`TRAINING_NICE`, so under load the GUI thread gets the CPU first
and its pages come before training; with spare cores the children run at full speed.

The priority is lowered by the parent once the child runs, not between fork and exec: the
parent waits for that exec, and a GUI thread waiting for a low-priority child is the very
stall this avoids. Without ``die_with_parent`` Python starts the child with ``vfork``,
which is also what keeps starting one from the GUI thread cheap.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "BACKGROUND_NICE",
    "TRAINING_NICE",
    "child_options",
    "run_below_us",
    "run_threads_below_us",
]

BACKGROUND_NICE = 10
"""Nice value of the processes that serve the GUI: TensorBoard, W&B readers, syncs (0 is
the GUI's, 19 the lowest priority)."""
TRAINING_NICE = 19
"""Nice value of supervised runs started by the reference host's daemon, below both."""

_PR_SET_PDEATHSIG = 1


def child_options(*, die_with_parent: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``subprocess.Popen`` / ``asyncio.create_subprocess_exec``.

    ``die_with_parent``: on Linux the child is SIGKILLed when the thread that started it
    ends. It costs a full ``fork`` of this process: use it off the GUI thread, from a
    thread that lives as long as the child, and only for children without a lifeline of
    their own (a pipe whose end of file tells them we are gone).
    """
    if os.name == "nt":  # pragma: no cover - no process groups or nice values to set
        return {"creationflags": 0x00000200}  # CREATE_NEW_PROCESS_GROUP
    options: dict[str, Any] = {"process_group": 0, "close_fds": True}
    if die_with_parent and sys.platform.startswith("linux"):
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork
        parent = os.getpid()

        def guard() -> None:  # pragma: no cover - runs in the child between fork and exec
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before the signal was armed
                os._exit(1)

        options["preexec_fn"] = guard
    return options


def run_below_us(pid: int, nice: int = BACKGROUND_NICE) -> None:
    """Lower a child just started to ``nice`` (never above our own priority).

    Call it as soon as the child is started: what it spawns later inherits the value.
    """
    if os.name == "nt":  # pragma: no cover
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.setpriority(os.PRIO_PROCESS, pid, max(nice, os.getpriority(os.PRIO_PROCESS, 0)))


def run_threads_below_us(name_prefix: str, nice: int = BACKGROUND_NICE) -> list[int]:
    """Lower our own native threads whose name starts with ``name_prefix`` (Linux).

    Only for threads that never hold Python's GIL (e.g. watchfiles' ``notify-rs`` inotify
    loop, busy when many runs write): a low-priority thread holding the GIL would make
    the GUI thread wait. Returns the thread ids lowered.
    """
    lowered: list[int] = []
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return lowered
    target = max(nice, os.getpriority(os.PRIO_PROCESS, 0))
    for task in tasks.iterdir():
        with contextlib.suppress(OSError, ValueError):
            if (task / "comm").read_text().startswith(name_prefix):
                tid = int(task.name)
                if os.getpriority(os.PRIO_PROCESS, tid) < target:
                    os.setpriority(os.PRIO_PROCESS, tid, target)
                    lowered.append(tid)
    return lowered
