"""Analytics tab factories, found through the ``gui_fastpath.tabs`` entry-point group.

A factory is called as ``factory(run_dir, manifest, parent=parent)`` and returns a
``QWidget`` with ``set_manifest(manifest)`` and ``cleanup()``. A factory that fails to load
or to build gives a :class:`PluginErrorTab` that says why, never an exception in the GUI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui_fastpath.manifest.model import ArtifactManifest
from gui_fastpath.plugin import TABS, PluginLoadError, discover

log = logging.getLogger(__name__)

__all__ = ["PluginErrorTab", "TabFactory", "build_tab", "load_tab_factories"]

TabFactory = Callable[..., QWidget]


class PluginErrorTab(QWidget):
    """Shown instead of a tab whose plugin could not be loaded or built."""

    def __init__(self, name: str, error: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(name)
        self.error = error
        label = QLabel(f"The {name} tab could not be shown.\n\n{error}")
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        QVBoxLayout(self).addWidget(label)

    def set_manifest(self, manifest: ArtifactManifest) -> None:
        """Nothing to refresh."""

    def cleanup(self) -> None:
        """Nothing to release."""


def load_tab_factories() -> dict[str, TabFactory | str]:
    """Tab name → factory, or → the error text when its plugin failed to load."""
    out: dict[str, TabFactory | str] = {}
    for entry in discover(TABS):
        if entry.name in out and not isinstance(out[entry.name], str):
            log.warning("tab %r from %s ignored: already provided", entry.name, entry.distribution)
            continue
        try:
            out[entry.name] = entry.load()
        except PluginLoadError as exc:
            out[entry.name] = str(exc)
    return out


def build_tab(
    name: str,
    factories: Mapping[str, TabFactory | str],
    run_dir: Path,
    manifest: ArtifactManifest | None,
    parent: QWidget | None = None,
) -> QWidget:
    """Build tab ``name``; a missing or broken factory yields a :class:`PluginErrorTab`."""
    factory = factories.get(name)
    if factory is None:
        return PluginErrorTab(name, f"No plugin provides the {name!r} tab.", parent)
    if isinstance(factory, str):
        return PluginErrorTab(name, factory, parent)
    try:
        return factory(run_dir, manifest, parent=parent)
    except Exception as exc:  # a third-party factory must not take the GUI down
        log.exception("building the %s tab for %s failed", name, run_dir)
        return PluginErrorTab(name, f"{type(exc).__name__}: {exc}", parent)
