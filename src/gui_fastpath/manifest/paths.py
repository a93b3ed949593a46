"""Manifest paths: POSIX, relative to the run directory, and never resolving outside it."""

from __future__ import annotations

import os
import re
import stat

__all__ = ["MAX_PATH_CHARS", "RunRoot", "UnsafePath", "is_inside", "relative_posix"]

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
            "give the path relative to the run directory",
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


class RunRoot:
    """A run directory for containment checks; its real path is worked out only when needed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._real: str | None = None

    @property
    def real(self) -> str:
        """``os.path.realpath`` of the run directory (computed once)."""
        if self._real is None:
            self._real = os.path.realpath(self.path)
        return self._real

    def holds(self, path: str) -> bool:
        """Whether ``path`` (e.g. a symlink met while scanning) resolves inside the run."""
        return is_inside(self.real, path)

    def keeps_inside(self, rel: str) -> bool:
        """Whether a :func:`relative_posix` path stays inside the run directory.

        Costs one ``lstat`` per component; ``realpath`` only if a component is a symlink.
        """
        current = self.path
        for part in rel.split("/"):
            if part == ".":
                continue
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return True  # nothing there (yet): nothing to follow
            if stat.S_ISLNK(mode):
                return self.holds(os.path.join(self.path, rel))
        return True


def _shorten(value: str, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-4:]}"
