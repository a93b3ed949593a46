"""Reading and atomically writing ``artifacts.json``; ``update_manifest`` = scan + write.

Also the atomic write of ``fastpath.json``, the run's layout, which the supervisor records
at launch for the scanner to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

import attrs

from gui_fastpath.manifest.converter import manifest_from_dict, manifest_to_dict
from gui_fastpath.manifest.diff import diff_manifests
from gui_fastpath.manifest.errors import ManifestError, RunDirError
from gui_fastpath.manifest.hint_models import RunLayout
from gui_fastpath.manifest.hints import LAYOUT_NAME
from gui_fastpath.manifest.model import MANIFEST_NAME, TEMP_PREFIX, ArtifactManifest
from gui_fastpath.manifest.scanner import scan_run

__all__ = [
    "MAX_MANIFEST_BYTES",
    "ManifestUpdate",
    "dumps_manifest",
    "fsync_dir",
    "read_manifest",
    "update_manifest",
    "write_manifest",
    "write_run_layout",
]

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
"""A larger ``artifacts.json`` is refused as invalid rather than read into memory."""


@attrs.frozen
class ManifestUpdate:
    """The outcome of :func:`update_manifest`."""

    manifest: ArtifactManifest
    """The manifest now on disk (the previous one, unchanged, if nothing changed)."""
    previous: ArtifactManifest | None
    """What ``artifacts.json`` held before, or None if it was absent or invalid."""
    written: bool
    """Whether ``artifacts.json`` was (re)written."""
    changes: tuple[str, ...]
    """Dotted names of the parts that changed (see :func:`diff_manifests`)."""


def dumps_manifest(manifest: ArtifactManifest) -> str:
    """The exact text written to ``artifacts.json`` (2-space JSON, trailing newline)."""
    return json.dumps(manifest_to_dict(manifest), indent=2, ensure_ascii=False) + "\n"


def read_manifest(run_dir: str | os.PathLike[str]) -> ArtifactManifest | None:
    """The run's ``artifacts.json``, None if absent; :class:`ManifestError` if invalid."""
    path = os.path.join(os.fspath(run_dir), MANIFEST_NAME)
    data = _read_bytes(path)
    if data is None:
        return None
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ManifestError(
            f"{path} is not valid JSON ({exc}); delete it and rescan (gui-fastpath scan)"
        ) from None
    try:
        return manifest_from_dict(raw)
    except ManifestError as exc:
        raise ManifestError(f"{path}: {exc}; delete it and rescan (gui-fastpath scan)") from None


def write_manifest(run_dir: str | os.PathLike[str], manifest: ArtifactManifest) -> bool:
    """Write ``artifacts.json`` atomically; False (and no write) if it already says the same.

    A reader sees the old file or the new one, never a part: temp file, fsync, rename,
    then fsync of the directory so the rename survives a crash.
    """
    directory = os.fspath(run_dir)
    path = os.path.join(directory, MANIFEST_NAME)
    old = _read_bytes(path)
    if old is not None and _same_as(old, manifest):
        return False
    _atomic_write(directory, path, dumps_manifest(manifest).encode("utf-8"))
    return True


def update_manifest(run_dir: str | os.PathLike[str]) -> ManifestUpdate:
    """Scan ``run_dir``, rewrite its ``artifacts.json`` if the content changed, say what changed.

    Raises :class:`RunDirError` if the run directory is missing or unreadable (also when
    it is removed during the update), and :class:`OSError` if ``artifacts.json`` cannot be
    written.
    """
    manifest = scan_run(run_dir)
    try:
        previous = read_manifest(run_dir)
    except ManifestError:
        previous = None
    if previous is not None and previous.same_content(manifest):
        return ManifestUpdate(previous, previous, written=False, changes=())
    try:
        written = write_manifest(run_dir, manifest)
    except FileNotFoundError:
        if os.path.isdir(run_dir):
            raise
        raise RunDirError(f"run directory not found: {os.fspath(run_dir)}") from None
    return ManifestUpdate(manifest, previous, written, diff_manifests(previous, manifest))


def write_run_layout(run_dir: str | os.PathLike[str], layout: RunLayout) -> None:
    """Write ``fastpath.json`` atomically: the fields of ``layout`` that are set.

    Its paths must already be relative to the run directory (the scanner checks them
    again when it reads the file, as for any hint file).
    """
    directory = os.fspath(run_dir)
    fields = {k: v for k, v in attrs.asdict(layout).items() if v is not None}
    data = json.dumps(fields, indent=2, ensure_ascii=False) + "\n"
    _atomic_write(directory, os.path.join(directory, LAYOUT_NAME), data.encode("utf-8"))


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ManifestError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path} is larger than {MAX_MANIFEST_BYTES:,} bytes; delete it")
    return data


def _same_as(old: bytes, manifest: ArtifactManifest) -> bool:
    """Whether ``old`` is exactly what we would write, apart from ``generated_at``."""
    try:
        generated_at = json.loads(old).get("generated_at")
    except (ValueError, AttributeError, RecursionError):
        return False
    if not isinstance(generated_at, float):
        return False
    text = dumps_manifest(attrs.evolve(manifest, generated_at=generated_at))
    return text.encode("utf-8") == old


def _atomic_write(directory: str, path: str, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(directory)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename or unlink in ``directory`` durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
