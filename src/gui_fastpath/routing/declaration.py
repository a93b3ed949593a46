"""A worker author's fast-path declaration: "my worker writes its own analytics".

Worker packages expose one through the ``gui_fastpath.workers`` entry-point group; the
entry point names a :class:`FastPathWorker`, or any object (or mapping) with the same
attributes, so a worker package need not import us to declare itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["DeclarationError", "FastPathWorker", "declaration_from_object"]


class DeclarationError(ValueError):
    """A declaration has a bad field; the message names the field, the value and the fix."""


def _relative_path(field: str) -> Any:
    def check(_: Any, attribute: Any, value: str) -> None:
        problem = _path_problem(value)
        if problem:
            raise DeclarationError(
                f"field {field!r}: {value!r} {problem}; use a path relative to the run "
                f"directory, e.g. {attribute.default!r}"
            )

    return check


def _path_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "is not a non-empty string"
    if os.path.isabs(value) or value.startswith(("/", "\\")):
        return "is absolute"
    if ".." in value.replace("\\", "/").split("/"):
        return "escapes the run directory"
    return None


@attrs.frozen
class FastPathWorker:
    """How a worker lays out its run directory and whether it takes the fast lane."""

    worker_id: str
    """The host's worker id (its catalog's ``worker_id``)."""
    writes_own_analytics: bool = True
    """The worker writes TensorBoard / W&B / checkpoints itself: route it to the fast lane."""
    display_name: str | None = None
    tensorboard_dir: str = attrs.field(
        default="tensorboard", validator=_relative_path("tensorboard_dir")
    )
    """TensorBoard log directory, relative to the run directory."""
    wandb_dir: str = attrs.field(default="wandb", validator=_relative_path("wandb_dir"))
    """Where ``WANDB_DIR`` points, relative to the run directory."""
    checkpoints_dir: str = attrs.field(
        default="checkpoints", validator=_relative_path("checkpoints_dir")
    )
    heartbeat_file: str = attrs.field(
        default="heartbeat.json", validator=_relative_path("heartbeat_file")
    )
    """The sidecar heartbeat JSON file, relative to the run directory."""
    total_steps_key: str | None = None
    """Dotted path of the run's total steps in the train config, e.g.
    ``metadata.worker.config.total_timesteps``."""
    requires_live_telemetry: bool = False
    """The worker also needs the live telemetry stream (it then stays on the live lane)."""
    source: str | None = attrs.field(default=None, eq=False)
    """Where the declaration came from (``<distribution>.<entry point>``), set by discovery."""


_FIELDS = {a.name: a for a in attrs.fields(FastPathWorker)}
_BOOL_FIELDS = ("writes_own_analytics", "requires_live_telemetry")
_OPTIONAL_STR_FIELDS = ("display_name", "total_steps_key")


def declaration_from_object(obj: Any, *, source: str | None = None) -> FastPathWorker:
    """Read a declaration from a :class:`FastPathWorker`, any object with its attributes,
    or a mapping; raise :class:`DeclarationError` naming the first bad field."""
    if isinstance(obj, FastPathWorker):
        return attrs.evolve(obj, source=source or obj.source)
    if isinstance(obj, Mapping):
        unknown = sorted(set(obj) - set(_FIELDS))
        if unknown:
            raise DeclarationError(
                f"field {unknown[0]!r} is not a declaration field; "
                f"use one of {', '.join(sorted(set(_FIELDS) - {'source'}))}"
            )
        values = {name: obj[name] for name in _FIELDS if name in obj and name != "source"}
    else:
        values = {
            name: getattr(obj, name) for name in _FIELDS if name != "source" and hasattr(obj, name)
        }
    worker_id = values.get("worker_id")
    if not isinstance(worker_id, str) or not worker_id.strip():
        raise DeclarationError(
            f"field 'worker_id': {worker_id!r} is not a non-empty string; "
            "set it to the host's worker id, e.g. 'cleanrl_worker'"
        )
    for name in _BOOL_FIELDS:
        if name in values and not isinstance(values[name], bool):
            raise DeclarationError(f"field {name!r}: {values[name]!r} is not true or false")
    for name in _OPTIONAL_STR_FIELDS:
        if values.get(name) is not None and not isinstance(values[name], str):
            raise DeclarationError(f"field {name!r}: {values[name]!r} is not a string")
    return FastPathWorker(**values, source=source)
