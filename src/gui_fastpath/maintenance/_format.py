"""Sizes and ages as operators read them."""

from __future__ import annotations

__all__ = ["format_age", "format_size"]


def format_size(size: int) -> str:
    """``812 B``, ``13.4 KB``, ``1.2 MB``, ``3.0 GB`` (powers of 1024)."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def format_age(seconds: float) -> str:
    """``45 s``, ``12 min``, ``5 h``, ``40 d``: whole units, rounded down."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"
