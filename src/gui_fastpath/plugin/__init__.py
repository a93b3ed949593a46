"""Entry-point groups and plugin discovery (Qt-free; nothing heavy is imported here)."""

from gui_fastpath.plugin.discovery import PluginEntry, PluginLoadError, PluginProblem, discover
from gui_fastpath.plugin.groups import ALL_GROUPS, PRESENTERS, ROUTING, TABS, WATCHERS, WORKERS

__all__ = [
    "ALL_GROUPS",
    "PRESENTERS",
    "ROUTING",
    "TABS",
    "WATCHERS",
    "WORKERS",
    "PluginEntry",
    "PluginLoadError",
    "PluginProblem",
    "discover",
]
