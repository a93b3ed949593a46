"""``compress``: gzip the logs of finished runs into ``.log.gz``, atomically, verified first.

The logs are ``stdout.log`` and ``stderr.log`` at the top of a run, every ``logs/*.log``,
and the log files the manifest names. Each becomes ``<name>.gz`` (see
:func:`~gui_fastpath.logs.compressed.write_log_gzip`: the GUI reads its end without
decompressing it all): written to a temporary file, fsync'd, decompressed and compared
with the original, then renamed into place (never over an existing file); only then is
the original removed. Logs under :data:`MIN_LOG_BYTES` are left as they are: they use
one disk block either way, and gzip's header would make them larger.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import stat
import tempfile
import time
from pathlib import Path

import attrs

from gui_fastpath.logs.compressed import CompressedLogError, write_log_gzip
from gui_fastpath.maintenance._format import format_age
from gui_fastpath.maintenance._runner import Recorder, for_each_finished_run
from gui_fastpath.maintenance.errors import UnsafeTarget
from gui_fastpath.maintenance.result import Action, MaintenanceResult
from gui_fastpath.maintenance.run_state import RunStatus
from gui_fastpath.maintenance.safety import RunDir, checked_target
from gui_fastpath.manifest import scan_run
from gui_fastpath.manifest.store import fsync_dir

__all__ = ["MIN_LOG_BYTES", "compress_logs", "gzip_log"]

MIN_LOG_BYTES = 4096
"""Smaller logs are not compressed."""
_TOP_LOGS = ("stdout.log", "stderr.log")
_LOG_DIR = "logs"
_COMPARE_CHUNK = 1024 * 1024


def compress_logs(
    root: str | os.PathLike[str],
    *,
    older_than: float | None = None,
    apply: bool = False,
    now: float | None = None,
    level: int = 6,
) -> MaintenanceResult:
    """Plan (dry run, the default) or, with ``apply``, compress the logs of finished runs.

    Only runs that finished at least ``older_than`` seconds ago (any, if None). Raises
    :class:`~gui_fastpath.maintenance.BadRootError` for a bad runs root.
    """
    if older_than is not None and older_than < 0:
        raise ValueError(f"older_than must be 0 or more, not {older_than}")
    now = time.time() if now is None else now

    def step(run: RunDir, status: RunStatus, rec: Recorder) -> None:
        assert status.finished_at is not None
        age = now - status.finished_at
        if older_than is not None and age < older_than:
            return
        reason = f"{status.last_state} {format_age(age)} ago"
        compressed = False
        for rel in _log_files(run, rec):
            where = f"{run.run_id}/{rel}"
            try:
                target = checked_target(run.path, rel)
                info = os.lstat(target)
            except UnsafeTarget as exc:
                rec.skip(run.run_id, str(exc), where)
                continue
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size < MIN_LOG_BYTES:
                continue
            if os.path.lexists(f"{target}.gz"):
                rec.skip(run.run_id, f"{rel}.gz already exists; it is never overwritten", where)
                continue
            action = Action("compress_log", run.run_id, where, info.st_size, reason)
            if apply:
                try:
                    action = attrs.evolve(action, new_size=gzip_log(target, level=level))
                except (OSError, CompressedLogError) as exc:
                    rec.fail(run.run_id, where, exc)
                    continue
                compressed = True
            rec.actions.append(action)
        if compressed:
            rec.refresh(run)

    return for_each_finished_run("compress", root, apply=apply, step=step)


def _log_files(run: RunDir, rec: Recorder) -> list[str]:
    """The run's log files (relative paths), found without following symlinks."""
    found = {name for name in _TOP_LOGS if os.path.lexists(run.path / name)}
    logs = run.path / _LOG_DIR
    if logs.is_symlink():
        rec.skip(run.run_id, f"{_LOG_DIR} is a symlink; not followed", f"{run.run_id}/{_LOG_DIR}")
    elif logs.is_dir():
        try:
            with os.scandir(logs) as entries:
                found.update(f"{_LOG_DIR}/{e.name}" for e in entries if e.name.endswith(".log"))
        except OSError as exc:
            rec.skip(run.run_id, f"cannot be read: {exc.strerror}", f"{run.run_id}/{_LOG_DIR}")
    named = scan_run(run.path).logs
    found.update(p for p in (named.stdout, named.stderr) if p and p.endswith(".log"))
    return sorted(found)


def gzip_log(path: Path, *, level: int = 6) -> int:
    """Replace ``path`` by ``path.gz`` safely (see the module); the size of the ``.gz``.

    The ``.gz`` keeps the log's mode and modification time. On any failure the original
    is left in place and no ``.gz`` is left behind.
    """
    before = os.lstat(path)
    final = path.with_name(f"{path.name}.gz")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.gz.", suffix=".tmp", dir=path.parent)
    try:
        with open(path, "rb") as source, os.fdopen(fd, "wb") as dest:
            write_log_gzip(
                source, before.st_size, dest, name=path.name, mtime=before.st_mtime, level=level
            )
            dest.flush()
            os.fsync(dest.fileno())
        after = os.lstat(path)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise CompressedLogError(f"{path.name} changed while it was being compressed")
        _verify(Path(temp), path)
        os.chmod(temp, stat.S_IMODE(before.st_mode))
        os.utime(temp, ns=(before.st_atime_ns, before.st_mtime_ns))
        _move_no_clobber(temp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)
    os.unlink(path)
    fsync_dir(path.parent)
    return os.lstat(final).st_size


def _verify(compressed: Path, original: Path) -> None:
    """Decompress ``compressed`` and compare it with ``original``, byte for byte."""
    try:
        with gzip.open(compressed, "rb") as unpacked, open(original, "rb") as source:
            while True:
                expected = source.read(_COMPARE_CHUNK)
                got = unpacked.read(len(expected) or 1)
                if got != expected:
                    raise CompressedLogError(
                        f"{original.name}: the compressed copy does not decompress to the "
                        "original; the original is kept"
                    )
                if not expected:
                    return
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CompressedLogError(f"{original.name}: compressed copy unreadable ({exc})") from None


def _move_no_clobber(temp: str, final: Path) -> None:
    """Rename ``temp`` to ``final`` unless ``final`` exists (a hard link: atomic, no overwrite)."""
    try:
        os.link(temp, final)
    except FileExistsError:
        raise CompressedLogError(
            f"{final.name} appeared meanwhile; it is never overwritten"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(final):  # a file system without hard links
            raise CompressedLogError(f"{final.name} exists; it is never overwritten") from None
        os.replace(temp, final)
        return
    os.unlink(temp)
