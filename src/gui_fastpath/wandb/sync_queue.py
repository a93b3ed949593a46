"""The persistent queue of W&B runs whose sync failed, retried with exponential backoff.

One JSON file under the user's state directory (``$XDG_STATE_HOME/gui_fastpath/
sync-queue.json``), written atomically and readable only by the user. It names run folders
and servers, never a key: error text is redacted before it is stored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import attrs
import cattrs

from gui_fastpath.wandb.credentials import default_store, public_url

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "QUEUE_ENV",
    "QueuedSync",
    "SyncQueue",
    "backoff_delay",
    "default_queue_path",
]

_log = logging.getLogger(__name__)

QUEUE_ENV = "GUI_FASTPATH_SYNC_QUEUE"
"""Environment variable naming the queue file, overriding the default location."""
BACKOFF_BASE = 30.0
"""Seconds to wait before the first retry; each failure doubles it."""
BACKOFF_CAP = 3600.0
"""The longest wait between two retries, in seconds."""
_VERSION = 1
_ERROR_CHARS = 500


@attrs.frozen
class QueuedSync:
    """A run folder waiting to be synced."""

    folder: str
    """Absolute path of the ``offline-run-*`` folder."""
    base_url: str
    """The W&B server it goes to (no user info)."""
    run_id: str
    """The W&B run id, for display."""
    queued_at: float
    """When it was first queued (Unix seconds)."""
    attempts: int
    """Failed attempts so far."""
    next_attempt_at: float
    """Not retried before this time (Unix seconds)."""
    last_error: str
    """Why the last attempt failed (redacted, shortened)."""

    def is_due(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.next_attempt_at


@attrs.frozen
class _QueueFile:
    version: int
    entries: list[QueuedSync]


_converter = cattrs.Converter(forbid_extra_keys=True)


def backoff_delay(attempts: int) -> float:
    """Seconds before the next retry after ``attempts`` failures: 30, 60, 120, … ≤ 1 h."""
    return float(min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP))


def default_queue_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$GUI_FASTPATH_SYNC_QUEUE``, else the user's state directory + ``gui_fastpath``."""
    env = os.environ if environ is None else environ
    if override := env.get(QUEUE_ENV):
        return Path(override).expanduser()
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        state = Path(env["LOCALAPPDATA"])
    elif env.get("XDG_STATE_HOME"):
        state = Path(env["XDG_STATE_HOME"])
    else:
        state = Path(env.get("HOME") or Path.home()) / ".local" / "state"
    return state / "gui_fastpath" / "sync-queue.json"


_path_locks: dict[Path, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    with _path_locks_guard:
        return _path_locks.setdefault(path, threading.Lock())


class SyncQueue:
    """Runs waiting for a sync. Every call re-reads the file, so instances stay consistent.

    ``redact`` cleans error text before it is stored (default: the process-wide
    credential store's :meth:`~gui_fastpath.wandb.credentials.CredentialStore.redact`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._path = Path(path) if path is not None else default_queue_path()
        self._path = self._path.absolute()
        self._redact = redact or default_store().redact
        self._problems: list[str] = []

    @property
    def path(self) -> Path:
        return self._path

    @property
    def problems(self) -> tuple[str, ...]:
        """Messages about a queue file that could not be read (it was moved aside)."""
        return tuple(self._problems)

    def entries(self) -> tuple[QueuedSync, ...]:
        """Every queued run, oldest first."""
        with self._locked():
            return tuple(self._load())

    def get(self, folder: str | os.PathLike[str]) -> QueuedSync | None:
        key = _key(folder)
        return next((e for e in self.entries() if e.folder == key), None)

    def due(self, now: float | None = None) -> tuple[QueuedSync, ...]:
        """The queued runs whose backoff has expired."""
        return tuple(e for e in self.entries() if e.is_due(now))

    def record_failure(
        self,
        folder: str | os.PathLike[str],
        *,
        base_url: str,
        run_id: str,
        error: str,
        now: float | None = None,
    ) -> QueuedSync:
        """Queue the run (or count one more failure) and schedule its next attempt."""
        now = time.time() if now is None else now
        key = _key(folder)
        error = self._redact(error).strip()[:_ERROR_CHARS]
        with self._locked():
            entries = self._load()
            old = next((e for e in entries if e.folder == key), None)
            attempts = (old.attempts if old else 0) + 1
            entry = QueuedSync(
                folder=key,
                base_url=public_url(base_url),
                run_id=run_id,
                queued_at=old.queued_at if old else now,
                attempts=attempts,
                next_attempt_at=now + backoff_delay(attempts),
                last_error=error,
            )
            if old is None:
                entries.append(entry)
            self._save([entry if e.folder == key else e for e in entries])
        return entry

    def remove(self, folder: str | os.PathLike[str]) -> bool:
        """Drop the run from the queue (synced, or given up by the user)."""
        key = _key(folder)
        with self._locked():
            entries = self._load()
            kept = [e for e in entries if e.folder != key]
            if len(kept) == len(entries):
                return False
            self._save(kept)
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with _thread_lock(self._path):
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                import fcntl
            except ImportError:  # Windows: threads in this process are still serialised
                yield
                return
            with open(self._path.with_name(self._path.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> list[QueuedSync]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = _converter.structure(json.loads(text), _QueueFile)
            if data.version != _VERSION:
                raise ValueError(f"version {data.version} is not {_VERSION}")
        except (ValueError, TypeError, cattrs.BaseValidationError) as exc:
            self._set_aside(exc)
            return []
        return data.entries

    def _set_aside(self, exc: Exception) -> None:
        """Keep an unreadable queue file for the user instead of overwriting it."""
        if isinstance(exc, cattrs.BaseValidationError):
            reason = "; ".join(cattrs.transform_error(exc, path="$"))
        else:
            reason = str(exc)
        aside = self._path.with_name(f"{self._path.name}.unreadable-{int(time.time())}")
        os.replace(self._path, aside)
        message = (
            f"{self._path}: not a sync queue ({reason}); moved to {aside.name}. "
            "Runs listed in it are no longer retried: sync them again from their W&B tab."
        )
        self._problems.append(message)
        _log.warning("%s", message)

    def _save(self, entries: list[QueuedSync]) -> None:
        payload = _converter.unstructure(_QueueFile(_VERSION, entries))
        tmp = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=1)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self._path)


def _key(folder: str | os.PathLike[str]) -> str:
    return str(Path(folder).absolute())
