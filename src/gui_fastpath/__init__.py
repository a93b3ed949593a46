"""Fast Analytics Path: a plugin lane for RL workers that write their own analytics.

The core (manifest, scanner, watcher, supervisor, readers) is Qt-free and importable from a
daemon; everything under :mod:`gui_fastpath.qt` uses Qt through ``qtpy`` and is loaded on
first use only.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gui-fastpath")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
