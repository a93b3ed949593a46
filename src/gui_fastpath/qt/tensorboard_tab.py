"""The TensorBoard tab: the run's managed TensorBoard in a web view, live, never blocking.

The server starts on a worker thread (:class:`~gui_fastpath.tensorboard.TensorBoardPool`);
until it serves, the tab says what is happening, and if it fails, shows the error, the
server's stderr and a Restart button. A hidden tab loads no page (no browser renderer)
until it is first shown, and a page hidden again is frozen. New event data
(``notify_new_data``, or a manifest whose event files changed) makes the page reload once
the index has it (:class:`~gui_fastpath.qt.tensorboard_refresh.PageRefresher`).
``cleanup()`` releases the server; the last tab on a log directory stops it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from pathlib import Path
from typing import Any

from qtpy.QtCore import QCoreApplication, Qt, QUrl, Signal
from qtpy.QtGui import QDesktopServices, QHideEvent, QShowEvent
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.manifest.model import ArtifactManifest
from gui_fastpath.qt.background import BackgroundTasks
from gui_fastpath.qt.tensorboard_refresh import PageRefresher
from gui_fastpath.qt.tensorboard_scripts import RELOAD
from gui_fastpath.qt.webengine import webengine_problem
from gui_fastpath.tensorboard.errors import TensorBoardError, TensorBoardStartError
from gui_fastpath.tensorboard.logdir import no_logs_guidance, run_log_dir
from gui_fastpath.tensorboard.pool import TensorBoardLease, TensorBoardPool, default_pool
from gui_fastpath.tensorboard.server import ServerEvent

__all__ = ["TensorBoardTab", "web_view_problem"]

log = logging.getLogger(__name__)

_PAGE_MODULE = "gui_fastpath.qt.tensorboard_page"
with contextlib.suppress(ImportError):  # early: PyQt6 loads QtWebEngine only before QApplication
    importlib.import_module(_PAGE_MODULE)


def web_view_problem() -> str | None:
    """Why TensorBoard cannot be embedded here (QtWebEngine missing), or None."""
    problem = webengine_problem()
    if problem is not None:
        return problem
    try:
        importlib.import_module(_PAGE_MODULE)
    except ImportError as exc:  # qtpy's QtModuleNotInstalledError is an ImportError
        return f"QtWebEngine is not available ({exc})"
    return None


class TensorBoardTab(QWidget):
    """A run's TensorBoard.

    States: no-logs, starting, served (waiting to be shown), loading, ready, failed,
    no-webengine.
    """

    _server_event = Signal(object)

    def __init__(
        self,
        run_dir: Path,
        manifest: ArtifactManifest | None = None,
        *,
        pool: TensorBoardPool | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("TensorBoard")
        self.run_dir = Path(run_dir)
        self.run_id = manifest.run_id if manifest is not None else self.run_dir.name
        self.state = "no-logs"
        self._pool = pool
        self._manifest: ArtifactManifest | None = None
        self._log_dir: Path | None = None
        self._lease: TensorBoardLease | None = None
        self._loaded_url = ""
        self._waiting_url = ""
        self._lock = threading.Lock()
        self._generation = 0
        self._closed = False
        self._page_stale = False
        self._tasks = BackgroundTasks(self, name="tensorboard")
        self._server_event.connect(self._on_server_event)
        self._refresher = PageRefresher(self.reload_page, self._load_cycles, self)
        self.web_view: Any = None
        """The ``QWebEngineView`` (None until the server serves, or without QtWebEngine)."""
        self._build()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.cleanup)
        self._show_guidance()
        if manifest is not None:
            self.set_manifest(manifest)

    # -- the contract -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's URL (with its secret), or "" while there is none."""
        lease = self._lease
        return lease.url if lease is not None else ""

    def set_manifest(self, manifest: ArtifactManifest) -> None:
        """Follow a newer manifest: logs appearing, moving, or growing."""
        if self._closed:
            return
        previous, self._manifest = self._manifest, manifest
        self.run_id = manifest.run_id
        try:
            log_dir = run_log_dir(self.run_dir, manifest)
        except TensorBoardError as exc:
            self._show_failure("TensorBoard cannot be shown for this run.", str(exc))
            return
        if log_dir is None:
            if self._lease is None and self.state != "starting":
                self._show_guidance()
            return
        if log_dir != self._log_dir:
            self._start(log_dir)
        elif previous is not None and _event_files(previous) != _event_files(manifest):
            self.notify_new_data()

    def notify_new_data(self) -> None:
        """New event data is on disk: show it now rather than at the page's next timer."""
        if self._closed or self.web_view is None or self.state != "ready":
            return
        if not self.isVisible():
            self._page_stale = True
            return
        self._refresher.request()

    def cleanup(self) -> None:
        """Release the server (the last tab on a log directory stops it); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            lease, self._lease = self._lease, None
        self._refresher.stop()
        self._tasks.close()
        if lease is not None:
            lease.release()
        if self.web_view is not None:
            self.web_view.release()
            self.web_view = None

    # -- actions ------------------------------------------------------------------------

    def restart(self) -> None:
        """Restart the server (or start it again after a failure), off the GUI thread."""
        lease = self._lease
        if lease is None:
            if self._log_dir is not None:
                self._start(self._log_dir)
            return
        self._show_progress("Restarting TensorBoard…", f"Serving {self._log_dir} again.")
        self._tasks.submit(lease.restart, self._served, self._failed)

    def reload_page(self) -> None:
        """Press TensorBoard's own reload button (refetches runs, tags and visible charts)."""
        if self.web_view is not None and self.state == "ready":
            self.web_view.evaluate(RELOAD, _ignore)

    def open_in_browser(self) -> bool:
        """Open the server in the desktop browser (the URL carries the secret)."""
        url = self.url
        return bool(url) and bool(QDesktopServices.openUrl(QUrl(url)))

    def archive_old_events(self) -> None:
        """Move all but each run's newest event file into the run's archive, then reindex."""
        self._archive(restore=False)

    def restore_archived_events(self) -> None:
        """Move archived event files back into the log directory, then reindex."""
        self._archive(restore=True)

    # -- starting -----------------------------------------------------------------------

    def _start(self, log_dir: Path) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation
            old, self._lease = self._lease, None
        if old is not None:
            old.release()
        self._log_dir = log_dir
        self._show_progress(
            "Starting TensorBoard…",
            f"Indexing {log_dir} and starting TensorBoard's web server on 127.0.0.1. "
            "Large logs take a few seconds the first time.",
        )
        self._tasks.submit(lambda: self._acquire(log_dir, generation), self._served, self._failed)

    def _acquire(self, log_dir: Path, generation: int) -> str | None:
        """Worker thread: get a lease; drop it if the tab moved on meanwhile."""
        pool = self._pool if self._pool is not None else default_pool()
        lease = pool.acquire(log_dir)
        with self._lock:
            current = not self._closed and generation == self._generation
            if current:
                self._lease = lease
        if not current:
            lease.release()
            return None
        lease.subscribe(self._server_event.emit)
        return lease.url

    def _served(self, url: str | None) -> None:
        if url is None or self._closed:
            return
        self._update_notices()
        problem = web_view_problem()
        if problem is not None:
            self._show_message(
                "no-webengine",
                "TensorBoard cannot be embedded here.",
                f"{problem}. TensorBoard is running: use “Open in browser”.",
            )
            self._set_actions(running=True)
            return
        if url == self._loaded_url and self.state == "ready":
            return
        if not self.isVisible():
            self._waiting_url = url
            self._show_message("served", "TensorBoard is serving.", "The page loads when shown.")
            self._set_actions(running=True)
            return
        self._load(url)

    def _load(self, url: str) -> None:
        self._waiting_url = ""
        self._ensure_view()
        self._loaded_url = url
        self._show_progress("Loading the TensorBoard page…", "TensorBoard is serving.")
        self._set_actions(running=True)
        self.web_view.setUrl(QUrl(url))

    def _failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        if isinstance(exc, TensorBoardStartError):
            self._show_failure(str(exc), "Fix the problem below, then press Restart.", exc.stderr)
        elif isinstance(exc, TensorBoardError):
            self._show_failure(str(exc), "Press Restart to try again.")
        else:
            log.error("TensorBoard for %s failed", self._log_dir, exc_info=exc)
            self._show_failure("TensorBoard could not be started.", f"{type(exc).__name__}: {exc}")

    def _on_server_event(self, event: ServerEvent) -> None:
        if self._closed:
            return
        if event.kind == "exited":
            self._show_failure(event.message, "Press Restart to start it again.", event.stderr)
        elif event.url is not None:
            self._served(event.url)

    # -- the page -----------------------------------------------------------------------

    def _ensure_view(self) -> None:
        if self.web_view is not None:
            return
        self.web_view = importlib.import_module(_PAGE_MODULE).TensorBoardView(self)
        self.web_view.loadProgress.connect(self._load_progress)
        self.web_view.loadFinished.connect(self._load_finished)
        self.web_view.page().renderProcessTerminated.connect(self._page_crashed)
        self._stack.addWidget(self.web_view)

    def _page_crashed(self, status: Any, exit_code: int) -> None:
        """Chromium's renderer died (memory pressure, a crash): load the page again."""
        if self._closed or not self._loaded_url:
            return
        log.warning(
            "the TensorBoard page of %s stopped (%s, exit code %s); reloading it",
            self._log_dir,
            getattr(status, "name", status),
            exit_code,
        )
        self.state = "loading"
        self._show_progress("Reloading the TensorBoard page…", "Its renderer process stopped.")
        self.web_view.setUrl(QUrl(self._loaded_url))

    def _load_progress(self, percent: int) -> None:
        if self.state == "loading":
            self.title.setText(f"Loading the TensorBoard page… {percent}%")

    def _load_finished(self, ok: bool) -> None:
        if self._closed or self.state != "loading":
            return
        if not ok:
            self._show_failure(
                "The TensorBoard page did not load.",
                f"Nothing answered at 127.0.0.1 for {self._log_dir}; press Restart.",
            )
            return
        self.state = "ready"
        self._stack.setCurrentWidget(self.web_view)
        self.status.setText(f"TensorBoard · {self._log_dir}")
        self._refresher.request()  # data that landed while the page loaded

    def _load_cycles(self) -> tuple[int, int] | None:
        lease = self._lease
        return None if lease is None else lease.load_cycles

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._waiting_url and not self._closed:
            self._load(self._waiting_url)
        elif self._page_stale:
            self._page_stale = False
            self._refresher.request()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self._refresher.pending:  # the page is frozen now: catch up when shown
            self._refresher.stop()
            self._page_stale = True

    # -- archive --------------------------------------------------------------------------

    def _archive(self, *, restore: bool) -> None:
        manifest, lease = self._manifest, self._lease
        if manifest is None or manifest.tensorboard is None or lease is None:
            return
        from gui_fastpath.tensorboard.archive import archive_events, restore_events

        log_dir = manifest.tensorboard.log_dir

        def work() -> str:
            if restore:
                result = restore_events(self.run_dir)
            else:
                result = archive_events(self.run_dir, log_dir=log_dir)
            if result.moves:
                lease.restart(reindex=True)
            return result.describe()[-1]

        verb = "Restoring archived" if restore else "Archiving old"
        self.status.setText(f"{verb} event files…")
        self._tasks.submit(work, self.status.setText, self._archive_failed)

    def _archive_failed(self, exc: BaseException) -> None:
        self.status.setText(f"Archive failed: {exc}")

    # -- widgets --------------------------------------------------------------------------

    def _build(self) -> None:
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #8a5a00;")
        self.notice.hide()
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self.reload_page)
        self.restart_button = QPushButton("Restart")
        self.restart_button.clicked.connect(self.restart)
        self.open_button = QPushButton("Open in browser")
        self.open_button.clicked.connect(self.open_in_browser)
        self.archive_button = QToolButton()
        self.archive_button.setText("Archive")
        self.archive_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.archive_button)
        menu.addAction("Archive old event files", self.archive_old_events)
        menu.addAction("Restore archived event files", self.restore_archived_events)
        self.archive_button.setMenu(menu)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        for button in (
            self.reload_button,
            self.restart_button,
            self.archive_button,
            self.open_button,
        ):
            bar.addWidget(button)

        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stderr_view = QPlainTextEdit()
        self.stderr_view.setReadOnly(True)
        self.stderr_view.hide()
        message = QWidget()
        column = QVBoxLayout(message)
        column.addWidget(self.title)
        column.addWidget(self.detail)
        column.addWidget(self.stderr_view, 1)
        column.addStretch()
        self._message_page = message
        self._stack = QStackedWidget()
        self._stack.addWidget(message)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.notice)
        layout.addWidget(self._stack, 1)
        self._set_actions(running=False)

    def _set_actions(self, *, running: bool) -> None:
        self.reload_button.setEnabled(running and self.web_view is not None)
        self.open_button.setEnabled(running)
        self.archive_button.setEnabled(running)
        self.restart_button.setEnabled(running or self._log_dir is not None)

    def _show_message(self, state: str, title: str, detail: str, stderr: str = "") -> None:
        self.state = state
        self.title.setText(title)
        self.detail.setText(detail)
        self.stderr_view.setPlainText(stderr)
        self.stderr_view.setVisible(bool(stderr))
        self._stack.setCurrentWidget(self._message_page)

    def _show_guidance(self) -> None:
        stdout = self._manifest.logs.stdout if self._manifest is not None else None
        where = f"The worker's output is in {self.run_dir / stdout}. " if stdout else ""
        self._show_message(
            "no-logs",
            no_logs_guidance(self.run_id),
            f"{where}This tab starts TensorBoard by itself when event files appear.",
        )
        self.status.setText("TensorBoard · no logs yet")
        self._set_actions(running=False)

    def _show_progress(self, title: str, detail: str) -> None:
        self._show_message("starting" if self._lease is None else "loading", title, detail)
        self.status.setText(f"TensorBoard · {self._log_dir}")
        self._set_actions(running=self._lease is not None)

    def _show_failure(self, title: str, detail: str, stderr: str = "") -> None:
        self._refresher.stop()
        self._show_message("failed", title, detail, stderr)
        self.status.setText("TensorBoard · stopped")
        self._set_actions(running=False)

    def _update_notices(self) -> None:
        notices = self._lease.notices if self._lease is not None else ()
        self.notice.setText("\n".join(notices))
        self.notice.setVisible(bool(notices))


def _event_files(manifest: ArtifactManifest) -> object:
    tensorboard = manifest.tensorboard
    return None if tensorboard is None else tensorboard.event_files


def _ignore(_: object) -> None:
    """A result nobody needs."""
