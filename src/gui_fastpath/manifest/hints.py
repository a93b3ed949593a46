"""Hint files: the seed's ``artifacts_manifest.json``, the host's ``analytics.json``, and our
``fastpath.json`` (the layout routing chose, recorded by the supervisor at launch).

All are optional and sit where the worker can write, so nothing in them is trusted: every
problem becomes a :class:`ManifestWarning` naming the file, the field and the fix, and the
fields that are fine are still used.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from gui_fastpath.manifest.hint_models import (
    HostAnalytics,
    HostArtifacts,
    HostCheckpoints,
    HostWandb,
    RunLayout,
    SeedHints,
)
from gui_fastpath.manifest.lenient import Warn, load_object, structure_lenient
from gui_fastpath.manifest.model import ManifestWarning, WandbMode
from gui_fastpath.manifest.paths import RunRoot, UnsafePath, relative_posix

__all__ = [
    "ANALYTICS_NAME",
    "HINTS_NAME",
    "HINT_FILES",
    "LAYOUT_NAME",
    "HintedPath",
    "HintedWandb",
    "Hints",
    "read_hints",
    "wandb_url",
]

HINTS_NAME = "artifacts_manifest.json"
"""The seed design's hint file."""
ANALYTICS_NAME = "analytics.json"
"""The host's (MOSAIC's) worker manifest, read as hints."""
LAYOUT_NAME = "fastpath.json"
"""The layout routing chose (:class:`RunLayout`), written by the supervisor at launch."""

_WANDB_BASE = "https://wandb.ai"
_BAD_ID_CHARS = re.compile(r"[\s/\\#?%:]")


@attrs.frozen
class HintedPath:
    """A path from a hint file, already checked to be safe."""

    path: str
    """POSIX path relative to the run directory."""
    source: str
    """The hint file."""
    field: str
    """Where in the hint file (``$.tensorboard_dir``)."""


@attrs.frozen
class HintedWandb:
    """A W&B run named by a hint file."""

    run_id: str
    entity: str | None
    project: str | None
    mode: WandbMode | None
    url: str | None
    source: str
    field: str


@attrs.frozen
class Hints:
    """What the hint files of one run say, after validation."""

    sources: tuple[str, ...] = ()
    """The hint files that were read."""
    worker_type: str | None = None
    tensorboard_dir: HintedPath | None = None
    wandb: tuple[HintedWandb, ...] = ()
    checkpoints: tuple[HintedPath, ...] = ()
    checkpoint_dirs: tuple[HintedPath, ...] = ()
    log_dir: HintedPath | None = None
    stdout: HintedPath | None = None
    stderr: HintedPath | None = None
    heartbeat: HintedPath | None = None
    wandb_dirs: tuple[HintedPath, ...] = ()
    """Folders given to ``wandb.init(dir=...)``, searched besides ``wandb/``."""
    declared_tensorboard_dir: HintedPath | None = None
    """The log directory routing chose: used where it holds the event files, never a warning."""
    declared_heartbeat: HintedPath | None = None
    """The heartbeat file routing chose: used once it exists, never a warning."""
    warnings: tuple[ManifestWarning, ...] = ()


_KNOWN_KEYS = {
    HINTS_NAME: frozenset(f.name for f in attrs.fields(SeedHints)),
    LAYOUT_NAME: frozenset(f.name for f in attrs.fields(RunLayout)),
}
"""Files whose unknown keys are warnings (``analytics.json`` carries other keys by design)."""
_MODELS: tuple[tuple[str, type], ...] = (
    (HINTS_NAME, SeedHints),
    (ANALYTICS_NAME, HostAnalytics),
    (LAYOUT_NAME, RunLayout),
)
"""Hint files in order of precedence: what the worker says wins over where it was told to write."""
HINT_FILES = tuple(name for name, _ in _MODELS)


def read_hints(run: RunRoot, present: dict[str, bool]) -> Hints:
    """Read and validate the hint files of a run directory.

    ``present`` maps each hint file name found in the run directory to whether it is a
    symlink.
    """
    builder = _HintsBuilder(run)
    for name, model in _MODELS:
        if name not in present:
            continue
        raw = builder.load_json(name, is_symlink=present[name])
        if raw is None:
            continue
        builder.sources.append(name)
        parsed = structure_lenient(model, raw, "$", builder.warner(name))
        if name in _KNOWN_KEYS:
            builder.warn_unknown_keys(name, raw)
        if isinstance(parsed, SeedHints):
            builder.add_seed(parsed)
        elif isinstance(parsed, HostAnalytics):
            builder.add_host(parsed)
        elif isinstance(parsed, RunLayout):
            builder.add_layout(parsed)
    return builder.build()


class _HintsBuilder:
    """Collects what the hint files say, validated, and the warnings about them."""

    def __init__(self, run: RunRoot) -> None:
        self.run = run
        self.sources: list[str] = []
        self.warnings: list[ManifestWarning] = []
        self.worker_type: str | None = None
        self.tensorboard_dir: HintedPath | None = None
        self.wandb: list[HintedWandb] = []
        self.checkpoints: list[HintedPath] = []
        self.checkpoint_dirs: list[HintedPath] = []
        self.log_dir: HintedPath | None = None
        self.stdout: HintedPath | None = None
        self.stderr: HintedPath | None = None
        self.heartbeat: HintedPath | None = None
        self.wandb_dirs: list[HintedPath] = []
        self.declared_tensorboard_dir: HintedPath | None = None
        self.declared_heartbeat: HintedPath | None = None

    def build(self) -> Hints:
        return Hints(
            sources=tuple(self.sources),
            worker_type=self.worker_type,
            tensorboard_dir=self.tensorboard_dir,
            wandb=tuple(self.wandb),
            checkpoints=tuple(self.checkpoints),
            checkpoint_dirs=tuple(self.checkpoint_dirs),
            log_dir=self.log_dir,
            stdout=self.stdout,
            stderr=self.stderr,
            heartbeat=self.heartbeat,
            wandb_dirs=tuple(self.wandb_dirs),
            declared_tensorboard_dir=self.declared_tensorboard_dir,
            declared_heartbeat=self.declared_heartbeat,
            warnings=tuple(self.warnings),
        )

    def warn(self, source: str, field: str, problem: str, fix: str) -> None:
        self.warnings.append(ManifestWarning(source, field, problem, fix))

    def warner(self, source: str) -> Warn:
        return lambda field, problem, fix: self.warn(source, field, problem, fix)

    def load_json(self, name: str, *, is_symlink: bool) -> Any:
        """The parsed JSON object of a hint file, or None after a warning."""
        path = os.path.join(self.run.path, name)
        if is_symlink and not self.run.holds(path):
            self.warn(
                name,
                "$",
                "is a symlink to a file outside the run directory",
                f"write {name} as a regular file inside the run directory",
            )
            return None
        return load_object(path, self.warner(name), f"write {name} as a regular file")

    def warn_unknown_keys(self, source: str, raw: dict[str, Any]) -> None:
        known = _KNOWN_KEYS[source]
        for key in raw:
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            fix = f"did you mean {close[0]!r}?" if close else "remove it; see `gui-fastpath schema`"
            self.warn(source, f"$.{_shorten(str(key), 40)}", "unknown key, ignored", fix)

    def path(self, value: str | None, source: str, field: str) -> HintedPath | None:
        """A safe hinted path, or None (after a warning if it was unsafe)."""
        if value is None:
            return None
        try:
            rel = relative_posix(value)
        except UnsafePath as exc:
            self.warn(source, field, exc.problem, exc.fix)
            return None
        if not self.run.keeps_inside(rel):
            self.warn(
                source,
                field,
                f"path {rel!r} resolves outside the run directory through a symlink",
                "point it at a real directory or file inside the run directory",
            )
            return None
        return HintedPath(rel, source, field)

    def add_seed(self, hints: SeedHints) -> None:
        source = HINTS_NAME
        self.worker_type = self.worker_type or hints.worker_type
        self.tensorboard_dir = self.tensorboard_dir or self.path(
            hints.tensorboard_dir, source, "$.tensorboard_dir"
        )
        for index, value in enumerate(hints.checkpoints or ()):
            hinted = self.path(value, source, f"$.checkpoints[{index}]")
            if hinted is not None:
                self._add_checkpoint(hinted)
        self._add_checkpoint_dir(hints.checkpoints_dir, source, "$.checkpoints_dir")
        self.stdout = self.stdout or self.path(hints.stdout_log, source, "$.stdout_log")
        self.stderr = self.stderr or self.path(hints.stderr_log, source, "$.stderr_log")
        self.heartbeat = self.heartbeat or self.path(
            hints.heartbeat_file, source, "$.heartbeat_file"
        )
        self._add_wandb_dir(hints.wandb_dir, source, "$.wandb_dir")
        if hints.wandb_run_id is not None:
            self._add_wandb(
                hints.wandb_run_id,
                source,
                "$.wandb_run_id",
                entity=hints.wandb_entity,
                project=hints.wandb_project,
                mode=hints.wandb_mode,
                url=None,
            )

    def add_layout(self, layout: RunLayout) -> None:
        """Where routing told the worker to write: searched, but a missing folder is fine."""
        source = LAYOUT_NAME
        self.declared_tensorboard_dir = self.path(
            layout.tensorboard_dir, source, "$.tensorboard_dir"
        )
        self._add_wandb_dir(layout.wandb_dir, source, "$.wandb_dir")
        self._add_checkpoint_dir(layout.checkpoints_dir, source, "$.checkpoints_dir")
        self.declared_heartbeat = self.path(layout.heartbeat_file, source, "$.heartbeat_file")

    def add_host(self, hints: HostAnalytics) -> None:
        source = ANALYTICS_NAME
        self.worker_type = self.worker_type or hints.worker_type
        artifacts = hints.artifacts or HostArtifacts()
        tensorboard = artifacts.tensorboard
        if tensorboard is not None and tensorboard.enabled is not False:
            where = "$.artifacts.tensorboard"
            self.tensorboard_dir = (
                self.tensorboard_dir
                or self.path(tensorboard.relative_path, source, f"{where}.relative_path")
                or self.path(tensorboard.log_dir, source, f"{where}.log_dir")
            )
        if tensorboard is None or tensorboard.enabled is not False:
            self.tensorboard_dir = self.tensorboard_dir or self.path(
                hints.tensorboard_dir, source, "$.tensorboard_dir"
            )
        self._add_host_wandb(hints, artifacts.wandb)
        self._add_host_checkpoints(hints, artifacts.checkpoints)
        logs = artifacts.logs
        if logs is not None and logs.enabled is not False:
            self.log_dir = self.log_dir or self.path(
                logs.relative_path, source, "$.artifacts.logs.relative_path"
            )
        self.log_dir = self.log_dir or self.path(artifacts.logs_dir, source, "$.artifacts.logs_dir")

    def _add_host_wandb(self, hints: HostAnalytics, wandb: HostWandb | None) -> None:
        source = ANALYTICS_NAME
        if wandb is not None and wandb.enabled is False:
            return
        wandb = wandb or HostWandb()
        if wandb.run_path is not None:
            value, field = wandb.run_path, "$.artifacts.wandb.run_path"
        elif wandb.run_id is not None:
            value, field = wandb.run_id, "$.artifacts.wandb.run_id"
        elif hints.wandb_run_path is not None:
            value, field = hints.wandb_run_path, "$.wandb_run_path"
        else:
            return
        self._add_wandb(
            value,
            source,
            field,
            entity=wandb.entity,
            project=wandb.project,
            mode=None,
            url=self._url(wandb.url, source, "$.artifacts.wandb.url"),
        )

    def _add_host_checkpoints(self, hints: HostAnalytics, ckpt: HostCheckpoints | None) -> None:
        source = ANALYTICS_NAME
        if ckpt is not None and ckpt.enabled is False:
            return
        ckpt = ckpt or HostCheckpoints()
        base = (
            self._add_checkpoint_dir(
                ckpt.relative_path, source, "$.artifacts.checkpoints.relative_path"
            )
            or self._add_checkpoint_dir(ckpt.directory, source, "$.artifacts.checkpoints.directory")
            or self._add_checkpoint_dir(hints.checkpoints_dir, source, "$.checkpoints_dir")
        )
        named: list[tuple[str, str | None]] = [
            (f"$.artifacts.checkpoints.files[{i}]", f) for i, f in enumerate(ckpt.files or ())
        ]
        named += [
            ("$.artifacts.checkpoints.final_checkpoint", ckpt.final_checkpoint),
            ("$.artifacts.checkpoints.best_checkpoint", ckpt.best_checkpoint),
        ]
        for field, value in named:
            if value is None:
                continue
            joined = value if base is None or base.path == "." else f"{base.path}/{value}"
            hinted = self.path(joined, source, field)
            if hinted is not None:
                self._add_checkpoint(hinted)

    def _add_checkpoint(self, hinted: HintedPath) -> None:
        if all(known.path != hinted.path for known in self.checkpoints):
            self.checkpoints.append(hinted)

    def _add_checkpoint_dir(self, value: str | None, source: str, field: str) -> HintedPath | None:
        hinted = self.path(value, source, field)
        if hinted is not None:
            self.checkpoint_dirs.append(hinted)
        return hinted

    def _add_wandb_dir(self, value: str | None, source: str, field: str) -> None:
        hinted = self.path(value, source, field)
        if hinted is not None and all(known.path != hinted.path for known in self.wandb_dirs):
            self.wandb_dirs.append(hinted)

    def _add_wandb(
        self,
        value: str,
        source: str,
        field: str,
        *,
        entity: str | None,
        project: str | None,
        mode: WandbMode | None,
        url: str | None,
    ) -> None:
        parts = value.split("/")
        if len(parts) == 4 and parts[2] == "runs":
            parts = [parts[0], parts[1], parts[3]]
        if len(parts) > 3 or not all(parts):
            self.warn(
                source,
                field,
                f"{_shorten(value)!r} is not a W&B run id or path",
                'give "<id>", "<project>/<id>" or "<entity>/<project>/<id>"',
            )
            return
        run_id = parts[-1]
        if len(parts) >= 2:
            project = parts[-2]
        if len(parts) == 3:
            entity = parts[0]
        for label, text in (("run id", run_id), ("project", project), ("entity", entity)):
            if text is not None and (_BAD_ID_CHARS.search(text) or len(text) > 128):
                self.warn(
                    source,
                    field,
                    f"W&B {label} {_shorten(text)!r} is too long or has characters W&B refuses",
                    "use letters, digits, '-', '_' and '.' only (at most 128)",
                )
                return
        if any(run.run_id == run_id for run in self.wandb):
            return
        self.wandb.append(HintedWandb(run_id, entity, project, mode, url, source, field))

    def _url(self, value: str | None, source: str, field: str) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = f"{_shorten(value)!r} is not an http(s) URL"
            self.warn(source, field, problem, "give the run page URL")
            return None
        if parts.username or parts.password:
            self.warn(
                source,
                field,
                "URL contains credentials; it was not stored",
                "give the run page URL without user name or password",
            )
            return None
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def wandb_url(entity: str, project: str, run_id: str) -> str:
    """The run page on the public W&B server."""
    return f"{_WANDB_BASE}/{entity}/{project}/runs/{run_id}"


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else f"{value[: limit - 5]}...{value[-4:]}"
