"""Start a worker in a process group of its own and stop that whole group.

The worker leads a process group, so one signal reaches everything it spawned; on Linux it
also dies with its parent (``PR_SET_PDEATHSIG``), so a crashed GUI leaves no training job
behind (see :mod:`gui_fastpath.spawn`).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence

import psutil

from gui_fastpath.spawn import child_options

__all__ = ["group_members", "signal_group", "spawn_in_new_group"]


def spawn_in_new_group(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: str | None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with piped stdout/stderr, no stdin, leading a process group."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        **child_options(die_with_parent=True),  # it keeps its supervisor's priority
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
