"""The W&B tab: an offline run's charts, scalars, config and metadata, live; sync; dashboard.

Everything slow happens on worker threads (:class:`~gui_fastpath.qt.background.
BackgroundTasks`): reading the ``run-<id>.wandb`` file, preparing chart series, looking up
credentials, checking the server. The GUI thread only copies prepared results into widgets.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import attrs
from qtpy.QtCore import Qt, QTimer
from qtpy.QtGui import QFont, QShowEvent
from qtpy.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.manifest.model import ArtifactManifest
from gui_fastpath.qt.background import BackgroundTasks
from gui_fastpath.qt.wandb_charts import HistoryCharts
from gui_fastpath.qt.wandb_credentials_dialog import CredentialDialog
from gui_fastpath.qt.wandb_dashboard import Dashboard
from gui_fastpath.qt.wandb_follower import FollowerProcess, FollowUpdate, RunView
from gui_fastpath.qt.wandb_sync_panel import SyncPanel
from gui_fastpath.qt.wandb_views import ConfigTree, MetadataTree, ScalarsTable, format_time
from gui_fastpath.wandb.credentials import Credentials, CredentialStore, default_store
from gui_fastpath.wandb.sync import SyncOptions, check_reachable
from gui_fastpath.wandb.sync_queue import SyncQueue

__all__ = ["RunChoice", "WandbTab", "no_data_message"]

_log = logging.getLogger(__name__)
_SLOW_POLL_FACTOR = 5
"""A finished run, or a hidden tab, is read this many times less often."""
_REACH_TIMEOUT_S = 5.0


@attrs.frozen
class RunChoice:
    """One W&B run of the run directory, as listed in the selector."""

    run_id: str
    mode: str
    folder: Path | None
    wandb_file: Path | None
    synced: bool = False
    entity: str | None = None
    project: str | None = None
    url: str | None = None

    def label(self) -> str:
        where = self.folder.name if self.folder is not None else self.run_id
        state = "synced" if self.synced and self.mode == "offline" else self.mode
        return f"{where} ({state})"


def no_data_message(run_dir: Path) -> str:
    """What the worker should do so that its W&B run shows up here."""
    return (
        f"No W&B run found in {run_dir}.\n\n"
        "To see one here, make the worker record its W&B run inside the run directory: "
        f"set WANDB_DIR={run_dir} and WANDB_MODE=offline in its environment (or call "
        f"wandb.init(dir=..., mode='offline')). For a run streamed online, name it in "
        f"{run_dir / 'artifacts_manifest.json'}: "
        '{"wandb_run_id": "entity/project/run_id", "wandb_mode": "online"}.\n\n'
        "The other analytics tabs are not affected."
    )


def _choices_from_manifest(run_dir: Path, manifest: ArtifactManifest) -> list[RunChoice]:
    return [
        RunChoice(
            run_id=run.run_id,
            mode=run.mode,
            folder=run_dir / run.directory if run.directory else None,
            wandb_file=run_dir / run.wandb_file if run.wandb_file else None,
            synced=run.synced,
            entity=run.entity,
            project=run.project,
            url=run.url,
        )
        for run in manifest.wandb
    ]


def _choices_on_disk(run_dir: Path) -> list[RunChoice]:
    from gui_fastpath.wandb import list_runs

    return [
        RunChoice(
            run_id=run.run_id,
            mode=run.mode,
            folder=run.directory,
            wandb_file=run.wandb_file,
            synced=run.mode == "online"
            or (
                run.wandb_file is not None and run.wandb_file.with_suffix(".wandb.synced").exists()
            ),
        )
        for run in list_runs(run_dir)
    ]


def _first_load(
    run: RunChoice, follower: FollowerProcess | None
) -> tuple[str, str | None, FollowUpdate | None]:
    """On a worker: the server and page of the run (importing wandb), and a first read."""
    from gui_fastpath.wandb.urls import resolve_base_url, run_url

    wandb_dir = run.folder.parent if run.folder is not None else None
    base = resolve_base_url(wandb_dir=wandb_dir).url
    page = run.url
    if run.entity and run.project:
        page = run_url(run.entity, run.project, run.run_id, base_url=base)
    return base, page, follower.poll() if follower is not None else None


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


class WandbTab(QWidget):
    """The W&B tab of one run directory (see :mod:`gui_fastpath.qt.wandb_tab`).

    The host calls :meth:`set_manifest` when the run's manifest changes, and
    :meth:`cleanup` (then ``deleteLater()``) when the tab goes away.
    """

    def __init__(
        self,
        run_dir: str | Path,
        manifest: ArtifactManifest | None = None,
        *,
        parent: QWidget | None = None,
        store: CredentialStore | None = None,
        queue: SyncQueue | None = None,
        sync_options: SyncOptions | None = None,
        poll_ms: int = 1000,
        retry_interval_ms: int = 30_000,
    ) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.store = store or default_store()
        self.poll_ms = poll_ms
        self.choices: list[RunChoice] = []
        self.current: RunChoice | None = None
        self.base_url = ""
        """The W&B server for the current run (resolved off the GUI thread)."""
        self.run_url: str | None = None
        """The current run's W&B page, where known."""
        self.view: RunView | None = None
        """The run as last read (None until the first read completes)."""
        self.updates = 0
        """Polls whose results reached the widgets (tests and benchmarks wait on it)."""
        self._follower: FollowerProcess | None = None
        self._generation = 0
        self._polling = False
        self._closed = False
        self._dialog: CredentialDialog | None = None
        self._read_problems: list[str] = []
        self._online_problem = ""
        self._tasks = BackgroundTasks(self, name="wandb-read")
        self._online_tasks = BackgroundTasks(self, name="wandb-online")
        self._build(queue, sync_options, retry_interval_ms)
        self._poll_timer = QTimer(self)
        self._poll_timer.setSingleShot(True)
        self._poll_timer.timeout.connect(self._poll)
        if manifest is not None:
            self.set_manifest(manifest)
        else:
            run_dir_path = self.run_dir
            self._tasks.submit(lambda: _choices_on_disk(run_dir_path), self._set_choices)

    # ---- layout ------------------------------------------------------------------------------

    def _build(
        self, queue: SyncQueue | None, sync_options: SyncOptions | None, retry_ms: int
    ) -> None:
        self.run_selector = QComboBox()
        self.run_selector.currentIndexChanged.connect(self._selector_changed)
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.online_button = QPushButton("Show dashboard")
        self.online_button.setToolTip("Show the run's W&B page (asks for a key if needed)")
        self.online_button.clicked.connect(self.go_online)
        self.online_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.run_selector)
        top.addWidget(self.status, 1)
        top.addWidget(self.online_button)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fff4e5; color: #663c00; padding: 6px;")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        self.no_data = QLabel(no_data_message(self.run_dir))
        self.no_data.setWordWrap(True)
        self.no_data.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.no_data.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.no_data.setStyleSheet("background: #fff4e5; color: #663c00; padding: 12px;")
        self.charts = HistoryCharts()
        self.charts.detail_wanted.connect(self._detail_wanted)
        self.scalars = ScalarsTable()
        self.config = ConfigTree()
        self.metadata = MetadataTree()
        self.console = QPlainTextEdit()
        self.console.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.console.setFont(mono)
        self.sync_panel = SyncPanel(
            self.store, queue or SyncQueue(), options=sync_options, retry_interval_ms=retry_ms
        )
        self.dashboard = Dashboard()
        self.pages = QTabWidget()
        for widget, title in (
            (self.charts, "Charts"),
            (self.scalars, "Scalars"),
            (self.config, "Config"),
            (self.metadata, "Metadata"),
            (self.console, "Console"),
            (self.sync_panel, "Sync"),
            (self.dashboard, "Dashboard"),
        ):
            self.pages.addTab(widget, title)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.no_data)
        self.stack.addWidget(self.pages)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)

    # ---- host interface ----------------------------------------------------------------------

    def set_manifest(self, manifest: ArtifactManifest) -> None:
        """Follow the manifest's W&B runs (newest first); keeps the user's choice if listed."""
        if self._closed:
            return
        try:
            self._set_choices(_choices_from_manifest(self.run_dir, manifest))
        except Exception:  # never raise into the host
            _log.exception("W&B tab: bad manifest for %s", self.run_dir)

    def cleanup(self) -> None:
        """Stop polling, the sync (and its processes), background threads and the web view."""
        if self._closed:
            return
        self._closed = True
        self._poll_timer.stop()
        self._stop_follower()
        if self._dialog is not None:
            self._dialog.reject()
        self.sync_panel.cleanup()
        self._tasks.close()
        self._online_tasks.close()
        self.dashboard.cleanup()

    def go_online(self) -> None:
        """The user asked for the dashboard: find a key (keyring included), else ask."""
        run = self.current
        if run is None or self._closed or not self.run_url:
            return
        url = self.base_url
        self._online_tasks.submit(
            lambda: self.store.find(url, include_keyring=True), self._online_key_found
        )

    # ---- run selection -----------------------------------------------------------------------

    def _set_choices(self, choices: list[RunChoice]) -> None:
        self.choices = choices
        if not choices:
            self._select(None)
            self.stack.setCurrentWidget(self.no_data)
            return
        self.stack.setCurrentWidget(self.pages)
        keep = self.current
        self.run_selector.blockSignals(True)
        try:
            self.run_selector.clear()
            for choice in choices:
                self.run_selector.addItem(choice.label())
            same = [i for i, c in enumerate(choices) if keep and c.run_id == keep.run_id]
            index = same[0] if same else 0
            self.run_selector.setCurrentIndex(index)
        finally:
            self.run_selector.blockSignals(False)
        self.run_selector.setVisible(len(choices) > 1)
        chosen = choices[index]
        if keep is None or chosen.run_id != keep.run_id or chosen.wandb_file != keep.wandb_file:
            self._select(chosen)
        else:
            self.current = chosen
            self._update_sync_target()

    def _selector_changed(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self._select(self.choices[index])

    def _select(self, choice: RunChoice | None) -> None:
        self._generation += 1
        self.current = choice
        self._stop_follower()
        self.view = None
        self._polling = False
        self._poll_timer.stop()
        self.charts.clear()
        self.scalars.set_rows([])
        self.config.clear()
        self.metadata.clear()
        self.console.clear()
        self._online_problem = ""
        self._show_banner([])
        self.base_url, self.run_url = "", None
        self._update_sync_target()
        self._update_online(None)
        if choice is None:
            self.status.setText("")
            return
        self.status.setText("reading…" if choice.wandb_file else "online run, no local copy")
        generation = self._generation
        self._polling = True
        follower = self._start_follower(choice)
        self._tasks.submit(
            lambda: _first_load(choice, follower),
            lambda result: self._loaded(generation, *result),
            lambda error: self._poll_failed(generation, error),
        )

    def _loaded(
        self, generation: int, base_url: str, run_url: str | None, first: FollowUpdate | None
    ) -> None:
        if generation != self._generation or self.current is None:
            return
        self.base_url, self.run_url = base_url, run_url
        self._update_sync_target()
        self._update_online(self.current)
        self._polling = False
        if first is not None:
            self._polled(generation, first)

    def _update_sync_target(self) -> None:
        run = self.current
        offline = run is not None and run.mode == "offline" and run.wandb_file is not None
        folder = run.folder if offline and self.base_url and run is not None else None
        self.sync_panel.set_target(folder, self.base_url)
        self.pages.setTabEnabled(self.pages.indexOf(self.sync_panel), folder is not None)

    # ---- polling -----------------------------------------------------------------------------

    def _start_follower(self, choice: RunChoice) -> FollowerProcess | None:
        if choice.wandb_file is None:
            return None
        try:
            self._follower = FollowerProcess(choice.wandb_file)
        except OSError as exc:
            self._show_banner([f"{choice.wandb_file}: cannot start the reader ({exc})."])
        return self._follower

    def _stop_follower(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.kill()

    def _poll(self) -> None:
        if self._polling or self._closed or self.current is None:
            return
        follower = self._follower or self._start_follower(self.current)
        if follower is None:
            return
        self._polling = True
        generation = self._generation
        self._tasks.submit(
            follower.poll,
            lambda update: self._polled(generation, update),
            lambda error: self._poll_failed(generation, error),
        )

    def _polled(self, generation: int, update: FollowUpdate) -> None:
        if generation != self._generation:
            return
        self._polling = False
        try:
            self._show(update)
        finally:
            slow = update.view.exit is not None or not self.isVisible()
            self._poll_timer.start(self.poll_ms * (_SLOW_POLL_FACTOR if slow else 1))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._poll_timer.isActive():  # a hidden tab polled slowly: catch up now
            self._poll_timer.start(0)

    def _poll_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._polling = False
        self._stop_follower()  # a fresh reader starts with the next poll
        self._show_banner([f"Reading failed: {error}. Retrying."])
        _log.warning("W&B tab: %s", error)
        self._poll_timer.start(self.poll_ms * _SLOW_POLL_FACTOR)

    def _show(self, update: FollowUpdate) -> None:
        view, changes = update.view, update.changes
        first = self.view is None
        self.view = view
        if update.metrics:
            self.charts.add_metrics(update.metrics)
        if update.series:
            self.charts.set_series(update.series)
        if update.scalars is not None:
            self.scalars.set_rows(update.scalars)
        if first or changes.config or changes.reset:
            self.config.set_config(view.config)
        if first or changes.identity or changes.environment or changes.exit or changes.history:
            self.metadata.set_metadata(self._run_metadata(view), view.environment)
        if first or changes.console or changes.reset:
            self.console.setPlainText("\n".join(view.console))
        if first or changes.problems or changes.exit or changes.reset or view.notes:
            self._show_banner([*view.problems, *view.notes])
        self.status.setText(self._status_text(view))
        self.updates += 1

    def _detail_wanted(self, name: str, x_min: float, x_max: float) -> None:
        follower, generation = self._follower, self._generation
        if follower is None:
            return

        def deliver(series: Any) -> None:
            if series is not None and generation == self._generation:
                self.charts.set_detail(series)

        self._tasks.submit(lambda: follower.detail(name, x_min, x_max), deliver)

    # ---- online ------------------------------------------------------------------------------

    def _update_online(self, run: RunChoice | None) -> None:
        index = self.pages.indexOf(self.dashboard)
        url = self.run_url if run is not None else None
        self.pages.setTabEnabled(index, bool(url))
        self.online_button.setVisible(bool(url))
        if run is None or not url:
            self.dashboard.show_link("", "This run has no W&B page (it was not synced).")
            return
        base, generation = self.base_url, self._generation
        self.dashboard.show_link(url, f"Checking that {base} answers…")
        self._online_tasks.submit(
            lambda: (self.store.find(base), asyncio.run(check_reachable(base))),
            lambda result: self._online_checked(generation, run, url, *result),
        )

    def _online_checked(
        self,
        generation: int,
        run: RunChoice,
        url: str,
        creds: Credentials | None,
        problem: str | None,
    ) -> None:
        if generation != self._generation:
            return
        if problem is not None:
            local = "showing the local copy of the run" if run.wandb_file else "no local copy"
            self._online_problem = (
                f"The W&B server {self.base_url} is not reachable ({problem}): {local}."
            )
            self._show_banner(self._read_problems)
            self.dashboard.show_link(url, f"The W&B server is not reachable ({problem}).")
            return
        if creds is None:
            self.dashboard.show_link(
                url,
                "Press “Show dashboard” to sign in and show the run here, or open it in "
                "your browser.",
            )
            return
        self._embed(url, run)

    def _embed(self, url: str, run: RunChoice) -> None:
        self.dashboard.embed(url)
        self.online_button.hide()
        if run.mode == "online" or run.wandb_file is None:
            self.pages.setCurrentWidget(self.dashboard)

    def _online_key_found(self, creds: Credentials | None) -> None:
        run, url = self.current, self.run_url
        if run is None or url is None:
            return
        if creds is not None:
            self._embed(url, run)
            return
        self._dialog = CredentialDialog(
            self.base_url, self.store, purpose="show the run's W&B page", parent=self
        )
        self._dialog.finished.connect(lambda _code: self._online_dialog_done(url, run))
        self._dialog.open()

    def _online_dialog_done(self, url: str, run: RunChoice) -> None:
        dialog, self._dialog = self._dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        if dialog.credentials is not None and run == self.current:
            self._embed(url, run)

    # ---- text --------------------------------------------------------------------------------

    def _show_banner(self, lines: list[str]) -> None:
        """Show the reading problems ``lines`` (kept) and the online problem, if any."""
        self._read_problems = lines
        if self._online_problem:
            lines = [*lines, self._online_problem]
        shown = lines[:5] + ([f"… and {len(lines) - 5} more"] if len(lines) > 5 else [])
        self.banner.setText("\n".join(shown))
        self.banner.setVisible(bool(lines))

    @staticmethod
    def _status_text(view: RunView) -> str:
        parts = [view.state]
        if view.exit is not None and view.exit.exit_code:
            parts[0] += f" (exit code {view.exit.exit_code})"
        if view.last_step is not None:
            parts.append(f"step {view.last_step}")
        parts.append(f"{view.history_rows} rows")
        parts.append(_size(view.file_size))
        return " · ".join(parts)

    def _run_metadata(self, view: RunView) -> dict[str, Any]:
        identity = view.identity
        run = self.current
        out: dict[str, Any] = {"file": str(view.path), "state": view.state}
        if run is not None:
            out["mode"] = run.mode + (" (synced)" if run.synced and run.mode == "offline" else "")
        if identity is not None:
            out |= {
                "id": identity.run_id,
                "name": identity.display_name,
                "entity": identity.entity,
                "project": identity.project,
                "tags": list(identity.tags),
                "group": identity.group,
                "job type": identity.job_type,
                "notes": identity.notes,
                "host": identity.host,
                "started": format_time(identity.start_time),
                "resumed": identity.resumed,
            }
        if view.exit is not None:
            out["exit code"] = view.exit.exit_code
            out["runtime (s)"] = view.exit.runtime
        out["last step"] = view.last_step
        out["history rows"] = view.history_rows
        return {k: v for k, v in out.items() if v not in ("", None, [])}
