"""The Fast Path presenter, shaped like the host's ``WorkerPresenter`` protocol.

The host calls ``create_tabs(run_id, agent_id, first_payload, parent)`` when a run opens
and adds each returned widget under its ``windowTitle()``; it calls ``cleanup()`` on each
widget when the run's tabs are removed. Manifests and lifecycle events reach the tabs
through :meth:`apply_manifest` and :meth:`apply_lifecycle`, from whichever event source
the host uses (local watcher or the SSE bridge).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qtpy.QtWidgets import QWidget

from gui_fastpath.lifecycle.events import RunLifecycleEvent
from gui_fastpath.manifest.model import ArtifactManifest
from gui_fastpath.qt.run_tabs import FastPathRunTabs
from gui_fastpath.qt.tab_factories import TabFactory, load_tab_factories

log = logging.getLogger(__name__)

__all__ = ["FastPathPresenter"]


def _initial_manifest(run_dir: Path, run_id: str) -> ArtifactManifest:
    from gui_fastpath.manifest import read_manifest, scan_run

    try:
        return read_manifest(run_dir) or scan_run(run_dir)
    except Exception as exc:  # a missing or unreadable run dir is shown, not raised
        log.warning("run %s: no manifest yet (%s); tabs start empty", run_id, exc)
        return ArtifactManifest(run_id=run_id)


class FastPathPresenter:
    """Presents analytics-only runs: Fast Path, TensorBoard, W&B and a disabled Live tab."""

    id = "gui_fastpath"

    def __init__(
        self,
        runs_root: Path | str,
        *,
        factories: Mapping[str, TabFactory | str] | None = None,
    ) -> None:
        self.runs_root = Path(runs_root)
        self._factories = factories
        self.runs: dict[str, FastPathRunTabs] = {}

    @property
    def factories(self) -> Mapping[str, TabFactory | str]:
        if self._factories is None:
            self._factories = load_tab_factories()
        return self._factories

    def build_train_request(self, policy_path: str | None, current_game: str | None) -> dict:
        """A host-shaped train config for the built-in demo worker on the Fast Path."""
        from gui_fastpath.demo import demo_train_config

        return demo_train_config(policy_path=policy_path, game=current_game)

    def create_tabs(
        self,
        run_id: str,
        agent_id: str | None,
        first_payload: Mapping[str, Any] | None,
        parent: QWidget | None,
    ) -> list[QWidget]:
        """The run's tabs, built from its manifest on disk (or empty, and filled later)."""
        run_dir = self.runs_root / run_id
        tabs = self.bootstrap_fast_path_tabs(_initial_manifest(run_dir, run_id), parent=parent)
        return list(tabs.tabs.values())

    def bootstrap_fast_path_tabs(
        self, manifest: ArtifactManifest, *, parent: QWidget | None = None
    ) -> FastPathRunTabs:
        """Build (or return) the tabs of ``manifest``'s run and remember them for updates."""
        existing = self.runs.get(manifest.run_id)
        if existing is not None:
            existing.apply_manifest(manifest)
            return existing
        tabs = FastPathRunTabs(
            self.runs_root / manifest.run_id, manifest, factories=self.factories, parent=parent
        )
        self.runs[manifest.run_id] = tabs
        tabs.destroyed.connect(lambda *_: self.runs.pop(manifest.run_id, None))
        return tabs

    def apply_manifest(self, manifest: ArtifactManifest) -> None:
        tabs = self.runs.get(manifest.run_id)
        if tabs is not None:
            tabs.apply_manifest(manifest)

    def apply_lifecycle(self, event: RunLifecycleEvent) -> None:
        tabs = self.runs.get(event.run_id)
        if tabs is not None:
            tabs.apply_lifecycle(event)

    def release(self, run_id: str) -> None:
        """Forget a run whose tabs the host removed (their ``cleanup()`` was called)."""
        tabs = self.runs.pop(run_id, None)
        if tabs is not None:
            tabs.cleanup()
