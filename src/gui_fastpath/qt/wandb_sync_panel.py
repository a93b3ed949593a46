"""The W&B tab's sync controls: Sync / Cancel, live ``wandb sync`` output, queued state.

The key is looked up only when the user presses Sync (environment, netrc, this session,
then the OS keyring), and asked for only if none is found. A queued run is retried on a
timer once its backoff has passed, with a key found without asking.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import attrs
from qtpy.QtCore import QTimer, Signal
from qtpy.QtGui import QFont
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.qt.background import BackgroundTasks
from gui_fastpath.qt.wandb_credentials_dialog import CredentialDialog
from gui_fastpath.wandb.credentials import Credentials, CredentialStore
from gui_fastpath.wandb.sync import SyncJob, SyncOptions, SyncResult, is_synced
from gui_fastpath.wandb.sync_queue import QueuedSync, SyncQueue

__all__ = ["SyncPanel"]

_log = logging.getLogger(__name__)
_MAX_LINES = 2000
_CLEANUP_WAIT_S = 2.0


def _clock(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%H:%M:%S")


class SyncPanel(QWidget):
    """Sync one offline run folder; shows progress, the outcome and the queue state."""

    finished = Signal(object)
    """A :class:`~gui_fastpath.wandb.sync.SyncResult`, on the GUI thread."""
    _line = Signal(str)

    def __init__(
        self,
        store: CredentialStore,
        queue: SyncQueue,
        *,
        options: SyncOptions | None = None,
        retry_interval_ms: int = 30_000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.queue = queue
        self.options = options or SyncOptions()
        self.folder: Path | None = None
        self.base_url = ""
        self.dialog: CredentialDialog | None = None
        self._job: SyncJob | None = None
        self._future: Future[Any] | None = None
        self._tasks = BackgroundTasks(self, name="wandb-sync")
        self._lookups = BackgroundTasks(self, name="wandb-credentials")
        self.sync_button = QPushButton("Sync to W&B")
        self.sync_button.setToolTip("Upload this offline run with wandb sync")
        self.sync_button.clicked.connect(self.request_sync)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(_MAX_LINES)
        self.output.setPlaceholderText("wandb sync output appears here.")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.output.setFont(mono)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sync_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.state)
        layout.addWidget(self.output, 1)
        self._line.connect(self._append)
        self._retry = QTimer(self)
        self._retry.setInterval(retry_interval_ms)
        self._retry.timeout.connect(self._retry_if_due)
        self._retry.start()
        self._refresh_state()

    @property
    def running(self) -> bool:
        return self._future is not None

    def set_target(self, folder: Path | None, base_url: str) -> None:
        """The offline run folder to sync (None: nothing to sync) and its server."""
        if folder == self.folder and base_url == self.base_url:
            return
        self.folder, self.base_url = folder, base_url
        self._refresh_state()

    def queued_entry(self) -> QueuedSync | None:
        return None if self.folder is None else self.queue.get(self.folder)

    def request_sync(self) -> None:
        """The user pressed Sync: find a key without asking, else ask, then sync."""
        if self.folder is None or self.running:
            return
        self.sync_button.setEnabled(False)
        self.state.setText(f"Looking for a W&B key for {self.base_url}…")
        url = self.base_url
        self._lookups.submit(
            lambda: self.store.find(url, include_keyring=True), self._key_found, self._lookup_failed
        )

    def cancel(self) -> None:
        if self._job is not None:
            self._append("Cancelling…")
            self._job.cancel()

    def cleanup(self) -> None:
        """Stop the retry timer and any running sync (its process group included)."""
        self._retry.stop()
        if self.dialog is not None:
            self.dialog.reject()
        job, future = self._job, self._future
        if job is not None:
            job.cancel()
        self._lookups.close()
        self._tasks.close()
        if future is not None:
            with contextlib.suppress(Exception):
                future.result(timeout=_CLEANUP_WAIT_S)

    def _key_found(self, credentials: Credentials | None) -> None:
        if credentials is not None:
            self._start(credentials)
            return
        self.dialog = CredentialDialog(self.base_url, self.store, parent=self)
        self.dialog.finished.connect(self._dialog_done)
        self.dialog.open()

    def _lookup_failed(self, error: BaseException) -> None:
        self.state.setText(f"Could not look up a W&B key: {error}")
        self._refresh_buttons()

    def _dialog_done(self, _result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        if dialog.credentials is None:
            self._refresh_state()
            self._append("Sync not started: no API key given.")
            return
        if dialog.notice:
            self._append(dialog.notice)
        self._start(dialog.credentials)

    def _start(self, credentials: Credentials, *, automatic: bool = False) -> None:
        if self.folder is None or self.running:
            return
        job = SyncJob(
            self.folder,
            credentials,
            queue=self.queue,
            options=self.options,
            on_line=self._line.emit,
            store=self.store,
        )
        self._job = job
        self._append(
            ("Retrying the queued sync" if automatic else "Sync started")
            + f" ({credentials.describe()})."
        )
        self._future = self._tasks.submit(job.run_blocking, self._done, self._failed)
        self._refresh_buttons()
        self.state.setText(f"Syncing to {credentials.base_url}…")

    def _done(self, result: SyncResult) -> None:
        self._job = self._future = None
        self._refresh_state(result)
        self.finished.emit(result)

    def _failed(self, error: BaseException) -> None:
        _log.error("wandb sync crashed", exc_info=error)
        self._job = self._future = None
        self._append(f"Sync failed unexpectedly: {type(error).__name__}: {error}")
        self._refresh_state()

    def _retry_if_due(self) -> None:
        folder = self.folder
        if folder is None or self.running or self.dialog is not None:
            return
        self._lookups.submit(lambda: self._due_retry(folder), self._retry_with)

    def _due_retry(self, folder: Path) -> _DueRetry | None:
        """Worker thread: the folder's queue entry if its retry is due, with a key if known."""
        entry = self.queue.get(folder)
        if entry is None or not entry.is_due():
            return None
        return _DueRetry(folder, entry, self.store.find(entry.base_url))

    def _retry_with(self, due: _DueRetry | None) -> None:
        if due is None or due.folder != self.folder:
            return
        if due.credentials is None:
            self.state.setText(_queued_text(due.entry) + " Press Sync to give a key.")
            return
        self._start(due.credentials, automatic=True)

    def _append(self, line: str) -> None:
        self.output.appendPlainText(line)

    def _refresh_state(self, result: SyncResult | None = None) -> None:
        synced = self.folder is not None and is_synced(self.folder)
        if self.folder is None:
            text = "Nothing to sync: no offline W&B run here."
        elif synced:
            text = result.message if result is not None and result.ok else "Synced."
        elif (entry := self.queued_entry()) is not None:
            text = _queued_text(entry)
        elif result is not None:
            text = result.message
        else:
            text = "Not synced: this run exists only on this computer."
        self.state.setText(text)
        self._refresh_buttons(synced)

    def _refresh_buttons(self, synced: bool | None = None) -> None:
        if synced is None:
            synced = self.folder is not None and is_synced(self.folder)
        can_sync = self.folder is not None and not synced
        self.sync_button.setEnabled(can_sync and not self.running and self.dialog is None)
        self.cancel_button.setEnabled(self.running)


@attrs.frozen
class _DueRetry:
    """A queued run whose retry is due, and the key found for it without asking."""

    folder: Path
    entry: QueuedSync
    credentials: Credentials | None


def _queued_text(entry: QueuedSync) -> str:
    return (
        f"Queued since {_clock(entry.queued_at)} after {entry.attempts} failed "
        f"attempt{'s' * (entry.attempts != 1)}; next retry at {_clock(entry.next_attempt_at)} "
        f"if the server answers. Last error: {entry.last_error}"
    )
