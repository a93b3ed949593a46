"""Errors of the maintenance commands."""

from __future__ import annotations

__all__ = ["BadRootError", "UnsafeTarget"]


class BadRootError(Exception):
    """The runs root (or run) given cannot be used; one line naming the path and the fix."""


class UnsafeTarget(Exception):
    """A path that maintenance refuses to change: a symlink, or outside its run directory."""
