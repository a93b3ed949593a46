"""The reference host application: window, plugins, event source and daemon, on qasync.

``gui-fastpath demo`` runs it on a local runs root and starts the built-in demo worker.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path
from typing import Any

from qtpy.QtCore import QObject, QTimer
from qtpy.QtWidgets import QApplication, QInputDialog

from gui_fastpath.bridge import LocalEventSource, RunEventSource, RunSummary
from gui_fastpath.lifecycle.run_bus import RunBusForwarder
from gui_fastpath.qt.event_pump import RunEventPump
from gui_fastpath.qt.host.adapter import install_plugins
from gui_fastpath.qt.host.daemon import LocalDaemon, new_run_id
from gui_fastpath.qt.host.run_bus import RunBus, TelemetryEvent, Topic
from gui_fastpath.qt.host.window import ReferenceHostWindow
from gui_fastpath.qt.webengine import warm_up_webengine

log = logging.getLogger(__name__)

__all__ = ["ReferenceHost"]


class ReferenceHost(QObject):
    """Wires the window's extension points to the plugin, as a real host would."""

    def __init__(self, runs_root: Path, source: RunEventSource | None = None) -> None:
        super().__init__()
        self.runs_root = runs_root
        runs_root.mkdir(parents=True, exist_ok=True)
        self.window = ReferenceHostWindow(runs_root)
        self.install = install_plugins(self.window, runs_root)
        self.daemon = LocalDaemon(runs_root)
        # Its daemon's supervisors keep each artifacts.json current: no rescans here.
        self.pump = RunEventPump(source or LocalEventSource(runs_root, keep_manifests=False), self)
        self.run_workers: dict[str, str] = {}
        self._pending: set[asyncio.Future[str]] = set()
        self.run_bus = RunBus()
        self._forward = RunBusForwarder(self.run_bus, Topic, TelemetryEvent)
        self.pump.runSeen.connect(self._on_run_seen)
        self.pump.runRemoved.connect(self.window.forget_run)
        self.pump.manifest.connect(self._on_manifest)
        self.pump.lifecycle.connect(self._on_lifecycle)
        self.pump.problem.connect(self.window.status_bar.showMessage)
        self.window.runSelected.connect(self.open_run)
        self.window.trainRequested.connect(self._ask_for_run)
        for presenter in {id(p): p for p in self.install.presenters.values()}.values():
            _ = presenter.factories  # import the tab plugins now, not when a run opens
        self._warm_page = warm_up_webengine(self.window)
        self.window.closing.connect(self._drop_warm_page)
        # Everything loaded so far lives as long as the app: keep it out of the cyclic GC,
        # whose full passes over it would otherwise stall the GUI thread mid-run.
        gc.collect()
        gc.freeze()
        for problem in self.install.problems:
            self.window.status_bar.showMessage(str(problem))

    def _drop_warm_page(self) -> None:
        """Delete the warm-up page now: it must go before the web profile does."""
        if self._warm_page is not None:
            page, self._warm_page = self._warm_page, None
            page.setParent(None)
            del page

    def start(self) -> None:
        self.pump.follow_runs()

    def presenter_for(self, run_id: str) -> Any:
        worker_id = self.run_workers.get(run_id)
        presenters = self.install.presenters
        if worker_id in presenters:
            return presenters[worker_id]
        return next(iter(presenters.values()), None)

    async def start_run(self, worker_id: str, config: dict[str, Any]) -> str:
        """Route, prepare and launch a run, then open its tabs."""
        routing = self.install.routing
        run_id = new_run_id()
        requested = config.get("metadata", {}).get("requested_lane")
        from gui_fastpath.routing import Lane, total_steps_from_config

        decision = routing.decide(
            worker_id,
            self.window.worker_catalog.get(worker_id),
            requested=Lane(requested) if requested else None,
        )
        prepared = routing.prepare_train_config(config, self.runs_root / run_id, decision)
        self.run_workers[run_id] = worker_id
        total = total_steps_from_config(config, decision.declaration)
        await self.daemon.start_run(prepared, run_id, total_steps=total)
        self.window.note_run(run_id, "STARTED")
        self.open_run(run_id)
        return run_id

    def open_run(self, run_id: str) -> None:
        """Open the run's tabs (once) and follow its events."""
        if run_id in self.window.open_runs():
            return
        presenter = self.presenter_for(run_id)
        if presenter is None:
            self.window.status_bar.showMessage("no Fast Path presenter installed")
            return
        widgets = presenter.create_tabs(run_id, None, None, self.window.tabs)
        for widget in widgets:
            self.window.add_dynamic_tab(run_id, widget.windowTitle(), widget)
        widgets[0].destroyed.connect(lambda *_: self.pump.unfollow_run(run_id))
        self.pump.follow_run(run_id)

    def _on_run_seen(self, summary: RunSummary) -> None:
        self.window.note_run(summary.run_id, summary.state)

    def _on_manifest(self, manifest: Any) -> None:
        presenter = self.presenter_for(manifest.run_id)
        if presenter is not None:
            presenter.apply_manifest(manifest)

    def _on_lifecycle(self, event: Any) -> None:
        presenter = self.presenter_for(event.run_id)
        if presenter is not None:
            presenter.apply_lifecycle(event)
        self.window.note_run(event.run_id, event.state.value)
        self._forward(event)
        if event.state.terminal or event.seq == 1:
            self.window.status_bar.showMessage(
                f"run {event.run_id}: {event.state.value}"
                + (f" — {event.message}" if event.message else "")
            )

    def _ask_for_run(self) -> None:
        catalog = [d for d in self.window.worker_catalog if d.worker_id in self.window.train_forms]
        if not catalog:
            self.window.status_bar.showMessage("no worker with a train form is installed")
            return
        names = [d.display_name for d in catalog]
        name, ok = QInputDialog.getItem(self.window, "Train", "Worker", names, 0, False)
        if not ok:
            return
        definition = catalog[names.index(name)]
        form: Any = self.window.train_forms[definition.worker_id](
            self.install.routing, definition, self.window
        )
        if form.exec():
            task = asyncio.ensure_future(self.start_run(definition.worker_id, form.get_config()))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        """Close every run's tabs (releasing servers), stop streams and runs."""
        for run_id in self.window.open_runs():
            self.window.remove_dynamic_tabs_for_run(run_id)
        self._drop_warm_page()
        await self.pump.aclose()
        await self.daemon.shutdown()


def screenshot(host: ReferenceHost, path: Path) -> bool:
    """Save the window, showing the first run's TensorBoard tab when there is one."""
    runs = host.window.open_runs()
    if runs:
        host.window.show_tab(runs[0], "TensorBoard")
    QApplication.processEvents()
    return bool(host.window.grab().save(str(path)))


async def run_demo(
    runs_root: Path,
    *,
    runs: int = 1,
    total_steps: int = 20_000,
    step_delay_ms: float = 1.0,
    exit_after_s: float | None = None,
    screenshot_path: Path | None = None,
    quit_when_done: bool = False,
) -> int:
    """Open the reference host and start ``runs`` demo runs; return when it closes.

    ``quit_when_done`` closes it once every started run has ended (for headless use).
    """
    from gui_fastpath.demo import DEMO_WORKER_ID, demo_train_config

    host = ReferenceHost(runs_root)
    host.window.show()
    host.start()
    closed = asyncio.Event()
    host.window.closing.connect(closed.set)
    started: list[str] = []
    ended: dict[str, str] = {}

    def note_end(event: Any) -> None:
        if event.run_id in started and event.state.terminal:
            ended[event.run_id] = event.state.value
            if quit_when_done and len(ended) == len(started):
                closed.set()

    host.pump.lifecycle.connect(note_end)
    for _ in range(runs):
        config = demo_train_config(total_steps=total_steps, step_delay_ms=step_delay_ms)
        started.append(await host.start_run(DEMO_WORKER_ID, config))
    if screenshot_path is not None and host.window.open_runs():
        # Shown from the start, so the page has drawn its charts by the time of the shot.
        host.window.show_tab(host.window.open_runs()[0], "TensorBoard")
    if exit_after_s is not None:
        QTimer.singleShot(int(exit_after_s * 1000), closed.set)
    await closed.wait()
    status = 0
    if screenshot_path is not None:
        if screenshot(host, screenshot_path):
            print(f"screenshot saved to {screenshot_path}", flush=True)
        else:
            log.error(
                "could not save the screenshot to %s (is the folder writable?)", screenshot_path
            )
            status = 1
    await host.aclose()
    host.window.close()
    for run_id in started:
        print(f"run {run_id}: {ended.get(run_id, 'CANCELLED')} — {runs_root / run_id}")
    return status
