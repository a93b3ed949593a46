"""The artifact manifest, ``artifacts.json``: what a run has written, as we found it.

Written only by :mod:`gui_fastpath`; every path in it is POSIX-style, relative to the run
directory, and checked to stay inside it.
"""

from __future__ import annotations

from typing import Literal

import attrs

SCHEMA_VERSION = 1
MANIFEST_NAME = "artifacts.json"
TEMP_PREFIX = f".{MANIFEST_NAME}."
"""Temporary files of an atomic ``artifacts.json`` write start with this; watchers ignore them."""

WandbMode = Literal["offline", "online"]
CheckpointKind = Literal["file", "directory"]


@attrs.frozen
class ManifestWarning:
    """A problem met while building the manifest; the scan still completed."""

    source: str
    """The file (relative to the run directory) or component the problem comes from."""
    field: str
    """The field or path inside ``source``, ``$`` for the whole file."""
    problem: str
    """What is wrong, with the offending value shortened to something readable."""
    fix: str
    """What the worker author or operator should do about it."""


@attrs.frozen
class EventFile:
    """One TensorBoard event file."""

    path: str
    """Path of the file, relative to the run directory."""
    run: str
    """TensorBoard run name: its directory relative to the log directory (``.`` at the top)."""
    size: int
    """Size in bytes when scanned."""
    mtime: float
    """Modification time (Unix seconds) when scanned."""


@attrs.frozen
class TensorBoardArtifacts:
    """The TensorBoard log directory and the event files under it, at any depth."""

    log_dir: str
    """Log directory to pass to ``tensorboard --logdir``, relative to the run directory."""
    event_files: tuple[EventFile, ...] = ()
    """Event files sorted by path."""


@attrs.frozen
class WandbRun:
    """One W&B run found on disk or named by the worker."""

    run_id: str
    """The W&B run id (the ``<id>`` in ``run-<id>.wandb``)."""
    mode: WandbMode
    """``offline`` (only on disk until synced) or ``online`` (streamed to a W&B server)."""
    directory: str | None = None
    """The ``run-*``/``offline-run-*`` folder, relative to the run directory, if on disk."""
    wandb_file: str | None = None
    """The ``run-<id>.wandb`` transaction log, relative to the run directory."""
    synced: bool = False
    """True for online runs and for offline runs that ``wandb sync`` has uploaded."""
    entity: str | None = None
    project: str | None = None
    url: str | None = None
    """The run page on the W&B server, where known."""
    started_at: float | None = None
    """Start time (Unix seconds), from the folder name where there is one."""


@attrs.frozen
class Checkpoint:
    """A model snapshot: a file such as ``*.pt`` or a directory such as an orbax step."""

    path: str
    """Relative to the run directory."""
    size: int
    """Bytes; for a directory, the sum of the files in it."""
    mtime: float
    kind: CheckpointKind = "file"
    step: int | None = None
    """Training step parsed from the name (``ckpt_500k.pt`` → 500000), where there is one."""


@attrs.frozen
class Logs:
    """The worker's log files, relative to the run directory."""

    stdout: str | None = None
    stderr: str | None = None


@attrs.frozen
class ArtifactManifest:
    """Everything the GUI needs to build a run's analytics tabs."""

    run_id: str
    """The run id: the run directory's name."""
    generated_at: float = 0.0
    """When this manifest was generated (Unix seconds); ignored when comparing scans."""
    schema_version: int = SCHEMA_VERSION
    worker_type: str | None = None
    """The worker that produced the run, from the hints, where known."""
    tensorboard: TensorBoardArtifacts | None = None
    wandb: tuple[WandbRun, ...] = ()
    """W&B runs, newest first."""
    checkpoints: tuple[Checkpoint, ...] = ()
    """Checkpoints, newest first."""
    logs: Logs = Logs()
    heartbeat: str | None = None
    """The worker's sidecar heartbeat JSON file, relative to the run directory."""
    hints: tuple[str, ...] = ()
    """The hint files that were read (relative paths): the worker's, and ``fastpath.json``."""
    warnings: tuple[ManifestWarning, ...] = ()

    def same_content(self, other: ArtifactManifest) -> bool:
        """Equal apart from ``generated_at``: an unchanged scan needs no rewrite."""
        return attrs.evolve(self, generated_at=0.0) == attrs.evolve(other, generated_at=0.0)
