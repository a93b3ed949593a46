"""Manifest paths: POSIX, relative to the run directory, and never resolving outside it."""

from __future__ import annotations

import os
import re

__all__ = ["MAX_PATH_CHARS", "UnsafePath", "is_inside", "relative_posix"]

MAX_PATH_CHARS = 1024
"""Longest relative path accepted from a hint file."""

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePath(ValueError):
    """A path given by a worker that cannot go into the manifest: what is wrong, and the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def relative_posix(value: str) -> str:
    """The normalised POSIX form of a worker-given path, or :class:`UnsafePath`.

    ``./a//b/`` becomes ``a/b`` and ``\\`` separators become ``/``; the run directory itself
    is ``.``. Absolute paths, ``~``, drive letters, ``..`` and control characters are rejected
    without touching the file system.
    """
    if len(value) > MAX_PATH_CHARS:
        raise UnsafePath(
            f"path of {len(value):,} characters is longer than the {MAX_PATH_CHARS} allowed",
            "give a short path relative to the run directory",
        )
    if any(ord(ch) < 32 for ch in value):
        raise UnsafePath(
            f"path {_shorten(value)} contains control characters",
            "give a plain path relative to the run directory",
        )
    posix = value.replace("\\", "/")
    if posix.startswith(("/", "~")) or _DRIVE.match(posix):
        raise UnsafePath(
            f"absolute path {_shorten(value)} is not allowed",
            "give the path relative to the run directory, e.g. 'tensorboard'",
        )
    parts = [part for part in posix.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(
            f"path {_shorten(value)} uses '..' to leave its directory",
            "give a path inside the run directory without '..'",
        )
    return "/".join(parts) or "."


def is_inside(run_real: str, path: str) -> bool:
    """Whether ``path`` (absolute or relative to the CWD) resolves inside ``run_real``.

    ``run_real`` must already be ``os.path.realpath`` of the run directory. Symlinks along
    ``path`` are followed; a path that does not exist yet is judged by its existing parents.
    """
    real = os.path.realpath(path)
    return real == run_real or real.startswith(run_real.rstrip(os.sep) + os.sep)


def _shorten(value: str, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-4:]}"
