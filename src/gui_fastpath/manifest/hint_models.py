"""The hint file formats, as attrs classes (also the source of their JSON Schemas).

Two are written by workers (``artifacts_manifest.json``, ``analytics.json``); one,
``fastpath.json``, by our supervisor at launch.

Every field is optional: a worker writes what it knows. Each field's ``expect`` metadata
says what a valid value looks like; it is the fix of the warning for an invalid one.
"""

from __future__ import annotations

import attrs

from gui_fastpath.manifest.model import WandbMode

__all__ = [
    "HostAnalytics",
    "HostArtifacts",
    "HostCheckpoints",
    "HostLogs",
    "HostTensorBoard",
    "HostWandb",
    "RunLayout",
    "SeedHints",
]

_PATH = "a path relative to the run directory"


def _expect(text: str, *, path: bool = False) -> dict[str, object]:
    """Field metadata: the expected value, used as the fix of a warning ("set it to <text>").

    ``path`` marks fields holding relative paths: their JSON Schema forbids absolute
    paths and ``..``.
    """
    return {"expect": text, "path": path}


def _path(example: str) -> dict[str, object]:
    return _expect(f'{_PATH}, e.g. "{example}"', path=True)


@attrs.frozen
class SeedHints:
    """``artifacts_manifest.json``: what a worker says about its own artifacts."""

    tensorboard_dir: str | None = attrs.field(default=None, metadata=_path("tensorboard"))
    """TensorBoard log directory."""
    wandb_run_id: str | None = attrs.field(
        default=None, metadata=_expect('a W&B run id or path, e.g. "entity/project/abc123"')
    )
    """The W&B run: ``<id>``, ``<project>/<id>``, or ``<entity>/<project>/<id>``."""
    wandb_mode: WandbMode | None = attrs.field(
        default=None, metadata=_expect('"online" or "offline"')
    )
    """Whether the W&B run streams to a server (``online``) or stays on disk (``offline``)."""
    wandb_dir: str | None = attrs.field(default=None, metadata=_path("wandb"))
    """The folder ``wandb.init(dir=...)`` was given; W&B writes its runs in its ``wandb/``
    sub-folder. Searched besides ``wandb/``."""
    wandb_entity: str | None = attrs.field(
        default=None, metadata=_expect('a W&B entity (user or team), e.g. "my-team"')
    )
    """W&B entity, when not given in ``wandb_run_id``."""
    wandb_project: str | None = attrs.field(
        default=None, metadata=_expect('a W&B project name, e.g. "cartpole"')
    )
    """W&B project, when not given in ``wandb_run_id``."""
    checkpoints: tuple[str, ...] | None = attrs.field(
        default=None, metadata=_expect(f"a list of paths, each {_PATH}", path=True)
    )
    """Checkpoint files or directories."""
    checkpoints_dir: str | None = attrs.field(default=None, metadata=_path("checkpoints"))
    """A directory whose entries are checkpoints."""
    worker_type: str | None = attrs.field(
        default=None, metadata=_expect('a worker name, e.g. "cleanrl"')
    )
    """The worker that produced the run."""
    stdout_log: str | None = attrs.field(default=None, metadata=_path("stdout.log"))
    """The worker's standard output log."""
    stderr_log: str | None = attrs.field(default=None, metadata=_path("stderr.log"))
    """The worker's standard error log."""
    heartbeat_file: str | None = attrs.field(default=None, metadata=_path("heartbeat.json"))
    """A JSON file the worker rewrites with its progress."""


@attrs.frozen
class RunLayout:
    """``fastpath.json``: where the routing told the worker to write, recorded at launch.

    Written by gui_fastpath's supervisor from the worker's environment; read as a hint
    like the others, since the worker can write in the run directory too.
    """

    tensorboard_dir: str | None = attrs.field(default=None, metadata=_path("tensorboard"))
    """TensorBoard log directory (``GUI_FASTPATH_TENSORBOARD_DIR``)."""
    wandb_dir: str | None = attrs.field(default=None, metadata=_path("wandb"))
    """W&B's directory (``WANDB_DIR``); W&B writes its runs in its ``wandb/`` sub-folder."""
    checkpoints_dir: str | None = attrs.field(default=None, metadata=_path("checkpoints"))
    """The checkpoints directory (``GUI_FASTPATH_CHECKPOINTS_DIR``)."""
    heartbeat_file: str | None = attrs.field(default=None, metadata=_path("heartbeat.json"))
    """The sidecar heartbeat file (``GUI_FASTPATH_HEARTBEAT_FILE``)."""


@attrs.frozen
class HostTensorBoard:
    """``artifacts.tensorboard`` in ``analytics.json``."""

    enabled: bool | None = attrs.field(default=None, metadata=_expect("true or false"))
    """False means the worker did not log to TensorBoard."""
    relative_path: str | None = attrs.field(default=None, metadata=_path("tensorboard"))
    """TensorBoard log directory."""
    log_dir: str | None = attrs.field(default=None, metadata=_path("tensorboard"))
    """TensorBoard log directory (older spelling of ``relative_path``)."""


@attrs.frozen
class HostWandb:
    """``artifacts.wandb`` in ``analytics.json``."""

    enabled: bool | None = attrs.field(default=None, metadata=_expect("true or false"))
    """False means the worker did not log to W&B."""
    run_path: str | None = attrs.field(
        default=None, metadata=_expect('a W&B run path, e.g. "entity/project/abc123"')
    )
    """``<entity>/<project>/<id>`` of the run."""
    run_id: str | None = attrs.field(default=None, metadata=_expect('a W&B run id, e.g. "abc123"'))
    """The W&B run id."""
    entity: str | None = attrs.field(default=None, metadata=_expect('a W&B entity, e.g. "my-team"'))
    """W&B entity (user or team)."""
    project: str | None = attrs.field(
        default=None, metadata=_expect('a W&B project, e.g. "cartpole"')
    )
    """W&B project."""
    url: str | None = attrs.field(
        default=None,
        metadata=_expect('an https URL, e.g. "https://wandb.ai/team/project/runs/abc123"'),
    )
    """The run page."""


@attrs.frozen
class HostCheckpoints:
    """``artifacts.checkpoints`` in ``analytics.json``."""

    enabled: bool | None = attrs.field(default=None, metadata=_expect("true or false"))
    """False means the worker wrote no checkpoints."""
    relative_path: str | None = attrs.field(default=None, metadata=_path("checkpoints"))
    """The checkpoints directory."""
    directory: str | None = attrs.field(default=None, metadata=_path("checkpoints"))
    """The checkpoints directory (older spelling of ``relative_path``)."""
    files: tuple[str, ...] | None = attrs.field(
        default=None,
        metadata=_expect("a list of paths relative to the checkpoints directory", path=True),
    )
    """Checkpoint files, relative to the checkpoints directory."""
    final_checkpoint: str | None = attrs.field(
        default=None, metadata=_expect("a path relative to the checkpoints directory", path=True)
    )
    """The last checkpoint, relative to the checkpoints directory."""
    best_checkpoint: str | None = attrs.field(
        default=None, metadata=_expect("a path relative to the checkpoints directory", path=True)
    )
    """The best checkpoint, relative to the checkpoints directory."""


@attrs.frozen
class HostLogs:
    """``artifacts.logs`` in ``analytics.json``."""

    enabled: bool | None = attrs.field(default=None, metadata=_expect("true or false"))
    """False means the worker wrote no log files."""
    relative_path: str | None = attrs.field(default=None, metadata=_path("logs"))
    """The directory holding ``<worker>.stdout.log`` and ``<worker>.stderr.log``."""


@attrs.frozen
class HostArtifacts:
    """``artifacts`` in ``analytics.json``."""

    tensorboard: HostTensorBoard | None = attrs.field(default=None, metadata=_expect("an object"))
    wandb: HostWandb | None = attrs.field(default=None, metadata=_expect("an object"))
    checkpoints: HostCheckpoints | None = attrs.field(default=None, metadata=_expect("an object"))
    logs: HostLogs | None = attrs.field(default=None, metadata=_expect("an object"))
    logs_dir: str | None = attrs.field(default=None, metadata=_path("logs"))
    """The log directory (older spelling of ``logs.relative_path``)."""


@attrs.frozen
class HostAnalytics:
    """``analytics.json``: the host's worker manifest; other keys are allowed and ignored."""

    run_id: str | None = attrs.field(default=None, metadata=_expect("the run id, a string"))
    """The run id the worker was given."""
    worker_type: str | None = attrs.field(
        default=None, metadata=_expect('a worker name, e.g. "cleanrl"')
    )
    """The worker that produced the run."""
    artifacts: HostArtifacts | None = attrs.field(default=None, metadata=_expect("an object"))
    """What the worker wrote."""
    tensorboard_dir: str | None = attrs.field(default=None, metadata=_path("tensorboard"))
    """Legacy flat form of ``artifacts.tensorboard.relative_path``."""
    wandb_run_path: str | None = attrs.field(
        default=None, metadata=_expect('a W&B run path, e.g. "entity/project/abc123"')
    )
    """Legacy flat form of ``artifacts.wandb.run_path``."""
    checkpoints_dir: str | None = attrs.field(default=None, metadata=_path("checkpoints"))
    """Legacy flat form of ``artifacts.checkpoints.relative_path``."""
