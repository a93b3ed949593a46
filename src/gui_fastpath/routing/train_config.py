"""Rewrite a host-shaped train config for the fast lane, and read what the supervisor needs.

The host's train forms return a dict with ``run_name``, ``entry_point``, ``arguments``,
``environment``, ``resources``, ``artifacts`` and ``metadata`` (``metadata.worker``,
``metadata.ui``, ``metadata.artifacts``). For the fast lane we switch the live and durable
telemetry off where the config has a switch for it, point the worker at the run directory
and its ``tensorboard/`` and ``wandb/`` folders, and leave everything else as the user set it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from gui_fastpath.routing.declaration import FastPathWorker

__all__ = [
    "ENV_CHECKPOINTS_DIR",
    "ENV_HEARTBEAT_FILE",
    "ENV_LANE",
    "ENV_RUN_DIR",
    "ENV_RUN_ID",
    "ENV_TENSORBOARD_DIR",
    "TrainConfigError",
    "command_from_train_config",
    "rewrite_train_config",
    "total_steps_from_config",
]

ENV_LANE = "GUI_FASTPATH_LANE"
ENV_RUN_DIR = "GUI_FASTPATH_RUN_DIR"
ENV_RUN_ID = "GUI_FASTPATH_RUN_ID"
ENV_TENSORBOARD_DIR = "GUI_FASTPATH_TENSORBOARD_DIR"
ENV_CHECKPOINTS_DIR = "GUI_FASTPATH_CHECKPOINTS_DIR"
ENV_HEARTBEAT_FILE = "GUI_FASTPATH_HEARTBEAT_FILE"

WandbMode = Literal["offline", "online"]

# Telemetry switches of the host's train forms: (path, value meaning "off"), set only where
# the config already has the key, so no form gains settings it does not know.
_TELEMETRY_SWITCHES: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("metadata", "ui", "disable_telemetry"), True),
    (("metadata", "ui", "live_rendering_enabled"), False),
    (("metadata", "ui", "path_config", "ui_only", "live_rendering_enabled"), False),
    (("metadata", "ui", "path_config", "telemetry_durable", "disabled"), True),
    (("metadata", "worker", "config", "extra", "disable_telemetry"), True),
    (("metadata", "worker", "config", "path_config", "ui_only", "live_rendering_enabled"), False),
    (("metadata", "worker", "config", "path_config", "telemetry_durable", "disabled"), True),
    (("environment", "UI_LIVE_RENDERING_ENABLED"), "0"),
)
_TOTAL_STEPS_PATHS = (
    "metadata.worker.config.total_timesteps",
    "metadata.worker.config.total_steps",
    "metadata.worker.total_steps",
    "metadata.worker.total_timesteps",
)


class TrainConfigError(ValueError):
    """The train config is not host-shaped; the message names the field and the fix."""


def rewrite_train_config(
    config: Mapping[str, Any],
    run_dir: str | os.PathLike[str],
    *,
    worker: FastPathWorker | None = None,
    run_id: str | None = None,
    wandb_mode: WandbMode | None = None,
) -> dict[str, Any]:
    """A fast-lane copy of ``config``; the input is never modified.

    ``wandb_mode`` forces W&B's mode; by default a run is ``offline`` unless the user
    chose ``online`` or ``disabled`` (``environment.WANDB_MODE`` or
    ``metadata.artifacts.wandb.mode``).
    """
    if not isinstance(config, Mapping):
        raise TrainConfigError(
            f"the train config must be an object, got {type(config).__name__}; pass the dict "
            "the train form's get_config() returns"
        )
    out = copy.deepcopy(dict(config))
    layout = worker or FastPathWorker(worker_id=_worker_id(out) or "worker")
    root = Path(run_dir).resolve()
    run_id = run_id or root.name
    env = _section(out, ("environment",))
    metadata = _section(out, ("metadata",))

    worker_meta = metadata.get("worker")
    if isinstance(worker_meta, dict):
        worker_meta["use_grpc"] = False  # no per-step telemetry stream
    for path, off in _TELEMETRY_SWITCHES:
        _set_existing(out, path, off)
    env["DISABLE_TELEMETRY"] = "1"

    tensorboard_dir = root / layout.tensorboard_dir
    wandb_dir = root / layout.wandb_dir
    env.update(
        {
            ENV_LANE: "fast",
            ENV_RUN_DIR: str(root),
            ENV_RUN_ID: run_id,
            ENV_TENSORBOARD_DIR: str(tensorboard_dir),
            ENV_CHECKPOINTS_DIR: str(root / layout.checkpoints_dir),
            ENV_HEARTBEAT_FILE: str(root / layout.heartbeat_file),
            "WANDB_DIR": str(wandb_dir),
            "WANDB_MODE": wandb_mode or _user_wandb_mode(out) or "offline",
        }
    )
    metadata["fast_path"] = {
        "lane": "fast",
        "run_id": run_id,
        "run_dir": str(root),
        "tensorboard_dir": layout.tensorboard_dir,
        "wandb_dir": layout.wandb_dir,
        "checkpoints_dir": layout.checkpoints_dir,
        "heartbeat_file": layout.heartbeat_file,
        "declared_by": layout.source,
        "total_steps": total_steps_from_config(config, layout),
    }
    return out


def total_steps_from_config(
    config: Mapping[str, Any], worker: FastPathWorker | None = None
) -> int | None:
    """The run's total steps: the declaration's ``total_steps_key``, else common places."""
    paths = (worker.total_steps_key,) if worker and worker.total_steps_key else ()
    for dotted in (*paths, *_TOTAL_STEPS_PATHS):
        value = _get(config, dotted)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def command_from_train_config(config: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The worker's argv (``entry_point`` + ``arguments``) and its extra environment."""
    entry_point = config.get("entry_point")
    if not isinstance(entry_point, str) or not entry_point:
        raise TrainConfigError(
            f"train config field 'entry_point' is {entry_point!r}; set it to the worker's "
            "program, e.g. sys.executable"
        )
    arguments = config.get("arguments", [])
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        raise TrainConfigError(
            "train config field 'arguments' must be a list of strings, e.g. ['-m', 'my_worker']"
        )
    env = config.get("environment") or {}
    if not isinstance(env, Mapping):
        raise TrainConfigError("train config field 'environment' must be an object")
    bad = sorted(k for k, v in env.items() if not isinstance(v, str | int | float))
    if bad:
        raise TrainConfigError(
            f"train config field 'environment.{bad[0]}' must be a string; quote the value"
        )
    return [entry_point, *arguments], {str(k): str(v) for k, v in env.items()}


def _section(config: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    value = config.get(path[0])
    if value is None:
        value = config[path[0]] = {}
    if not isinstance(value, dict):
        raise TrainConfigError(
            f"train config field {'.'.join(path)!r} must be an object, got {type(value).__name__}"
        )
    return value


def _set_existing(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = config
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and path[-1] in node:
        node[path[-1]] = value


def _get(config: Mapping[str, Any], dotted: str) -> Any:
    value: Any = config
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _worker_id(config: Mapping[str, Any]) -> str | None:
    value = _get(config, "metadata.worker.worker_id")
    return value if isinstance(value, str) else None


def _user_wandb_mode(config: Mapping[str, Any]) -> str | None:
    """``online`` or ``disabled`` when the user chose it; W&B is kept off the network else."""
    for dotted in ("environment.WANDB_MODE", "metadata.artifacts.wandb.mode"):
        value = _get(config, dotted)
        if value in ("online", "disabled"):
            return str(value)
    return None
