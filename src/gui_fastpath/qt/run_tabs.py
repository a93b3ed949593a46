"""All the tabs of one fast-lane run, built from its manifest and kept current."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QWidget

from gui_fastpath.lifecycle.events import RunLifecycleEvent, RunState
from gui_fastpath.manifest.model import ArtifactManifest
from gui_fastpath.qt.analytics_banner import AnalyticsOnlyBanner
from gui_fastpath.qt.run_overview_tab import RunOverviewTab
from gui_fastpath.qt.tab_factories import TabFactory, build_tab, load_tab_factories

log = logging.getLogger(__name__)

__all__ = ["ANALYTICS_TABS", "FastPathRunTabs", "bootstrap_fast_path_tabs"]

ANALYTICS_TABS = ("tensorboard", "wandb")
_TITLES = {"tensorboard": "TensorBoard", "wandb": "W&B"}


class FastPathRunTabs(QObject):
    """Owns a run's Fast Path, TensorBoard, W&B and (disabled) Live tabs.

    Feed it manifests and lifecycle events; it refreshes every tab. ``tabs`` maps the
    title a host shows to the widget. ``cleanup()`` releases servers and threads.
    """

    manifestApplied = Signal(object)
    lifecycleApplied = Signal(object)

    def __init__(
        self,
        run_dir: Path,
        manifest: ArtifactManifest,
        *,
        factories: Mapping[str, TabFactory | str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.run_dir = run_dir
        self.run_id = manifest.run_id
        self.manifest = manifest
        self.overview = RunOverviewTab(self.run_id, run_dir, parent)
        # Lives as long as the run's main tab: when the host deletes it, this goes too.
        self.setParent(self.overview)
        self.live = AnalyticsOnlyBanner(self.run_id, str(run_dir), parent)
        self.live.setWindowTitle("Live")
        factories = load_tab_factories() if factories is None else factories
        self.analytics: dict[str, QWidget] = {}
        for name in ANALYTICS_TABS:
            tab = build_tab(name, factories, run_dir, manifest, parent)
            tab.setWindowTitle(_TITLES[name])
            self.analytics[name] = tab
        self.overview.apply_manifest(manifest)
        self.state: RunState | None = None

    @property
    def tabs(self) -> dict[str, QWidget]:
        """Title → widget, in the order a host should add them."""
        out: dict[str, QWidget] = {"Fast Path": self.overview}
        out.update({_TITLES[n]: w for n, w in self.analytics.items()})
        out["Live"] = self.live
        return out

    def apply_manifest(self, manifest: ArtifactManifest) -> None:
        """Refresh every tab from a newer manifest (logs appearing, new checkpoints…)."""
        self.manifest = manifest
        self.overview.apply_manifest(manifest)
        for name, tab in self.analytics.items():
            try:
                tab.set_manifest(manifest)  # type: ignore[attr-defined]
            except Exception:
                log.exception("the %s tab of run %s failed to refresh", name, self.run_id)
        self.manifestApplied.emit(manifest)

    def apply_lifecycle(self, event: RunLifecycleEvent) -> None:
        self.state = event.state
        self.overview.apply_lifecycle(event)
        self.lifecycleApplied.emit(event)

    def cleanup(self) -> None:
        """Release every tab's resources (TensorBoard servers, reader threads, timers)."""
        for widget in self.tabs.values():
            try:
                widget.cleanup()  # type: ignore[attr-defined]
            except Exception:
                log.exception("cleanup of %s failed", widget)


def bootstrap_fast_path_tabs(
    manifest: ArtifactManifest,
    run_dir: Path,
    *,
    parent: QWidget | None = None,
    factories: Mapping[str, TabFactory | str] | None = None,
) -> FastPathRunTabs:
    """Build a run's fast-path tabs from its manifest (for any host presenter to call)."""
    return FastPathRunTabs(run_dir, manifest, factories=factories, parent=parent)
