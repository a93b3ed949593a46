"""W&B API keys: found in the environment or the user's netrc, otherwise asked for on demand.

A key typed by the user lives in this process's memory, or in the OS keyring when the user
opts in and :mod:`keyring` is importable. We hand it to ``wandb`` subprocesses through their
environment only, never write it to a file, and :meth:`CredentialStore.redact` removes it
from every line of output we keep or show.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import netrc
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import attrs

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "KEYRING_SERVICE",
    "REDACTED",
    "CredentialError",
    "CredentialSource",
    "CredentialStore",
    "Credentials",
    "check_api_key",
    "default_store",
    "keyring_available",
    "public_url",
    "redact",
    "subprocess_env",
]

_log = logging.getLogger(__name__)

API_KEY_ENV = "WANDB_API_KEY"
BASE_URL_ENV = "WANDB_BASE_URL"
KEYRING_SERVICE = "gui-fastpath wandb"
"""The keyring service name; the user name is the server's ``host[:port]``."""
REDACTED = "[redacted]"

CredentialSource = Literal["environment", "netrc", "session", "keyring"]

_KEY_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")
_MIN_KEY_LENGTH = 40
_ASSIGNMENT = re.compile(
    r"""(?ix)
    \b(\w*(?:api[_-]?key|password|secret|token)|authorization)  # a name holding a secret
    (["']?\s*[=:]\s*["']?(?:basic\s+|bearer\s+)?)           # '=', "': '", ': Basic '
    [^\s"',;]+                                                 # the value
    """
)
_DROPPED_ENV = ("WANDB_IDENTITY_TOKEN_FILE",)


class CredentialError(ValueError):
    """A key was refused: the message says why and what to do."""


@attrs.frozen
class Credentials:
    """An API key for one W&B server, and where it came from."""

    base_url: str
    """The server's API URL (``WANDB_BASE_URL``), without a trailing slash."""
    source: CredentialSource
    """Where the key was found: ``environment``, ``netrc``, ``session`` (typed) or ``keyring``."""
    api_key: str = attrs.field(repr=False)
    """The key itself; kept out of ``repr`` so it never reaches a log by accident."""

    def describe(self) -> str:
        """One line for the user, without the key."""
        origin = {
            "environment": f"the {API_KEY_ENV} environment variable",
            "netrc": "your netrc file",
            "session": "this session (typed in, kept in memory)",
            "keyring": "the OS keyring",
        }[self.source]
        return f"W&B key for {self.base_url} from {origin}"


def check_api_key(api_key: str) -> str | None:
    """A sentence saying what is wrong with the key's format, or ``None`` if it looks valid."""
    if not api_key:
        return "The API key is empty. Copy it from your W&B user settings page."
    if not _KEY_CHARS.fullmatch(api_key):
        return (
            "The API key may contain only letters, digits, '_', '-' and '.'; "
            "check that nothing else was pasted with it."
        )
    if len(api_key) < _MIN_KEY_LENGTH:
        return (
            f"The API key has {len(api_key)} characters; W&B keys have at least "
            f"{_MIN_KEY_LENGTH}. Copy the whole key from your W&B user settings page."
        )
    return None


def public_url(url: str) -> str:
    """The URL without user info (``user:secret@``) and without a trailing slash."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, "")).rstrip("/")


def _machine(base_url: str) -> str:
    """The netrc machine / keyring user for a server: its ``host[:port]``."""
    return urlsplit(base_url).netloc.rpartition("@")[2]


def keyring_available() -> bool:
    """True if the optional :mod:`keyring` package is installed and has a usable backend."""
    try:
        import keyring
        from keyring.backends import fail

        return not isinstance(keyring.get_keyring(), fail.Keyring)
    except Exception:  # an installed keyring may fail to load its backend
        return False


def _secret_forms(api_key: str) -> set[str]:
    """The key as it might appear in output: plain, or inside an HTTP Basic header."""
    forms = {api_key}
    for user in ("api", "user", ""):
        forms.add(base64.b64encode(f"{user}:{api_key}".encode()).decode())
    return forms


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and anything after ``api_key=`` and the like) replaced."""
    for secret in sorted({f for s in secrets if s for f in _secret_forms(s)}, key=len)[::-1]:
        text = text.replace(secret, REDACTED)
    return _ASSIGNMENT.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)


def subprocess_env(
    credentials: Credentials, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a ``wandb`` subprocess: ``base`` plus the key and the server URL."""
    env = dict(os.environ if base is None else base)
    for name in _DROPPED_ENV:
        env.pop(name, None)
    env[API_KEY_ENV] = credentials.api_key
    env[BASE_URL_ENV] = credentials.base_url
    return env


def _netrc_path(environ: Mapping[str, str]) -> Path:
    if override := environ.get("NETRC"):
        return Path(override).expanduser()
    home = Path(environ.get("HOME") or Path.home())
    if sys.platform == "win32" and not (home / ".netrc").exists():
        return home / "_netrc"
    return home / ".netrc"


class CredentialStore:
    """Finds keys without asking; remembers keys the user typed, in memory (or the keyring).

    Thread-safe. ``environ`` defaults to ``os.environ`` read at each call.
    """

    def __init__(self, *, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._lock = threading.Lock()
        self._session: dict[str, str] = {}
        self._seen: set[str] = set()
        self._problems: dict[str, str] = {}

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def find(self, base_url: str, *, include_keyring: bool = False) -> Credentials | None:
        """A key for ``base_url`` from the environment, netrc, this session or the keyring.

        The keyring is consulted only with ``include_keyring`` (it may prompt to unlock),
        which callers pass when the user has asked to sync or go online.
        """
        url = public_url(base_url)
        env_key = self.environ.get(API_KEY_ENV, "").strip()
        if env_key:
            return self._found(url, "environment", env_key)
        if netrc_key := self._read_netrc(url):
            return self._found(url, "netrc", netrc_key)
        with self._lock:
            session_key = self._session.get(_machine(url))
        if session_key:
            return self._found(url, "session", session_key)
        if include_keyring and (keyring_key := self._read_keyring(url)):
            return self._found(url, "keyring", keyring_key)
        return None

    def remember(self, base_url: str, api_key: str, *, use_keyring: bool = False) -> Credentials:
        """Keep a key the user typed: in memory, and in the OS keyring if ``use_keyring``.

        Raises :class:`CredentialError` for a malformed key or an unusable keyring.
        """
        api_key = api_key.strip()
        if problem := check_api_key(api_key):
            raise CredentialError(problem)
        url = public_url(base_url)
        with self._lock:
            self._session[_machine(url)] = api_key
            self._seen.add(api_key)
        if use_keyring:
            self._write_keyring(url, api_key)
            return Credentials(url, "keyring", api_key)
        return Credentials(url, "session", api_key)

    def forget(self, base_url: str, *, keyring_too: bool = False) -> None:
        """Drop the typed key for ``base_url`` from memory (and from the keyring)."""
        url = public_url(base_url)
        with self._lock:
            self._session.pop(_machine(url), None)
        if keyring_too and keyring_available():
            import keyring
            import keyring.errors

            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(KEYRING_SERVICE, _machine(url))

    def redact(self, text: str) -> str:
        """``text`` without any key this store has seen or the environment holds."""
        with self._lock:
            secrets = set(self._seen)
        if env_key := self.environ.get(API_KEY_ENV, "").strip():
            secrets.add(env_key)
        return redact(text, secrets)

    @property
    def problems(self) -> tuple[str, ...]:
        """Messages about credential sources that could not be read (netrc, keyring)."""
        with self._lock:
            return tuple(self._problems.values())

    def _found(self, url: str, source: CredentialSource, api_key: str) -> Credentials:
        with self._lock:
            self._seen.add(api_key)
        return Credentials(url, source, api_key)

    def _problem(self, where: str, message: str | None) -> None:
        with self._lock:
            if message is None:
                self._problems.pop(where, None)
            elif self._problems.get(where) != message:
                self._problems[where] = message
                _log.warning("%s", message)

    def _read_netrc(self, url: str) -> str | None:
        path = _netrc_path(self.environ)
        try:
            entries = netrc.netrc(str(path))
        except FileNotFoundError:
            self._problem("netrc", None)
            return None
        except (netrc.NetrcParseError, OSError) as exc:
            reason = exc.msg if isinstance(exc, netrc.NetrcParseError) else str(exc)
            self._problem(
                "netrc",
                f"{path}: cannot read W&B credentials ({reason}); fix the file or set "
                f"{API_KEY_ENV}.",
            )
            return None
        self._problem("netrc", None)
        entry = entries.authenticators(_machine(url))
        if entry is None:
            return None
        return entry[2] or None

    def _read_keyring(self, url: str) -> str | None:
        if not keyring_available():
            return None
        import keyring

        try:
            stored = keyring.get_password(KEYRING_SERVICE, _machine(url))
        except Exception as exc:  # any backend failure means "not available"
            self._problem("keyring", f"OS keyring: cannot read the W&B key ({exc}).")
            return None
        self._problem("keyring", None)
        return stored or None

    def _write_keyring(self, url: str, api_key: str) -> None:
        if not keyring_available():
            raise CredentialError(
                "The OS keyring is not available: install the 'keyring' package, or keep "
                "the key for this session only."
            )
        import keyring

        try:
            keyring.set_password(KEYRING_SERVICE, _machine(url), api_key)
        except Exception as exc:  # any backend failure: keep the key in memory only
            raise CredentialError(
                f"The OS keyring refused the key ({type(exc).__name__}); it is kept for "
                "this session only."
            ) from None


_default_store: CredentialStore | None = None
_default_lock = threading.Lock()


def default_store() -> CredentialStore:
    """The process-wide store, shared by every W&B tab and the sync queue's retries."""
    global _default_store
    with _default_lock:
        if _default_store is None:
            _default_store = CredentialStore()
        return _default_store
