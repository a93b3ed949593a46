"""The manifest package's own exceptions."""

from __future__ import annotations

__all__ = ["ManifestError", "RunDirError"]


class RunDirError(Exception):
    """The run directory is missing or unreadable; the message is one line naming the path."""


class ManifestError(Exception):
    """An ``artifacts.json`` that exists but cannot be read back as a manifest."""
