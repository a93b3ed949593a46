"""Start a worker in a process group of its own and stop that whole group.

The worker becomes a session (and group) leader, so one signal reaches everything it
spawned; on Linux it also dies with its parent (``PR_SET_PDEATHSIG``), so a crashed GUI
leaves no training job behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

import psutil

__all__ = ["group_members", "signal_group", "spawn_in_new_group"]

_PR_SET_PDEATHSIG = 1


def _parent_death_guard() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork, called after
    parent = os.getpid()

    def guard() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the guard was armed
            os._exit(1)

    return guard


def spawn_in_new_group(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: str | None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with piped stdout/stderr, no stdin, in a new session."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
        preexec_fn=_parent_death_guard(),  # only prctl runs in the child
    )


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in group ``pgid``."""
    if pgid <= 0:
        return []
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []  # the common case, answered without listing every process
    except PermissionError:
        pass
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to every process of the group; False if the group is gone."""
    if pgid <= 0:
        raise ValueError(f"not a worker's process group: {pgid}")
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True
