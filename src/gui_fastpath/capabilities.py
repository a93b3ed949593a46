"""Giving up the right to raise priorities (Linux ``CAP_SYS_NICE``), for a GUI run as root.

Chromium raises its display threads and its renderers' main threads to nice -8 whenever
it may, and only root may. Run as root beside busy training jobs, those threads then take
the cores from the GUI thread at nice 0: 84 ms of a 90 ms stall, measured while pages
loaded beside 20 demo runs on 2 cores. A normal user never holds the right;
:func:`drop_raise_priority` gives it up the same way, for good. Qt-free.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["CAP_SYS_NICE", "can_raise_priority", "drop_raise_priority"]

CAP_SYS_NICE = 23
_PR_CAPBSET_DROP = 24
_CAPABILITY_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Sets(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _get() -> tuple[_Header, ctypes.Array[_Sets]]:
    header, sets = _Header(_CAPABILITY_VERSION_3, 0), (_Sets * 2)()
    if _libc().capget(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return header, sets


def can_raise_priority() -> bool:
    """True if this thread holds ``CAP_SYS_NICE`` (always False off Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    _, sets = _get()
    return bool(sets[0].effective & (1 << CAP_SYS_NICE))


def drop_raise_priority() -> bool:
    """Give up ``CAP_SYS_NICE``: this thread, the threads it starts, the programs they run.

    It leaves the bounding set first (so a program run later as root cannot get it back),
    then the effective, permitted and inheritable sets. Call it on the main thread before
    starting the threads and processes it should cover. Returns True if it is gone.
    """
    if not sys.platform.startswith("linux"):
        return True
    libc = _libc()
    libc.prctl(_PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0)  # EPERM without CAP_SETPCAP: fine
    header, sets = _get()
    bit = ~(1 << CAP_SYS_NICE) & 0xFFFFFFFF
    sets[0].effective &= bit
    sets[0].permitted &= bit
    sets[0].inheritable &= bit
    if libc.capset(ctypes.byref(header), sets) != 0:
        return False
    return not can_raise_priority()
