"""The layout routing chose for a worker, read from the environment the worker is given.

Routing (:func:`gui_fastpath.routing.rewrite_train_config`) tells the worker where to
write through ``GUI_FASTPATH_TENSORBOARD_DIR``, ``WANDB_DIR``, ``GUI_FASTPATH_CHECKPOINTS_DIR``
and ``GUI_FASTPATH_HEARTBEAT_FILE``. The supervisor turns them into paths relative to the
run directory, follows the heartbeat file and records the rest in ``fastpath.json`` for
the scanner. A path that leaves the run directory is left out, with one log line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from gui_fastpath.routing.train_config import (
    ENV_CHECKPOINTS_DIR,
    ENV_HEARTBEAT_FILE,
    ENV_LANE,
    ENV_TENSORBOARD_DIR,
)

__all__ = ["LAYOUT_VARIABLES", "layout_from_env"]

_log = logging.getLogger(__name__)

ENV_WANDB_DIR = "WANDB_DIR"
LAYOUT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("tensorboard_dir", ENV_TENSORBOARD_DIR),
    ("wandb_dir", ENV_WANDB_DIR),
    ("checkpoints_dir", ENV_CHECKPOINTS_DIR),
    ("heartbeat_file", ENV_HEARTBEAT_FILE),
)
"""Each field of ``fastpath.json`` and the variable it is read from."""


def layout_from_env(
    env: Mapping[str, str], run_dir: Path, cwd: str | None = None
) -> dict[str, str]:
    """The layout fields set in ``env``, as POSIX paths relative to ``run_dir``.

    A relative value is read as the worker reads it: from its working directory ``cwd``
    (default: ours). Symlinks are resolved, so a value reaching outside the run directory
    through one is left out too. ``WANDB_DIR`` outside the run directory is only logged
    when routing set the environment up (it is often a user's global W&B setting).
    """
    run_real = os.path.realpath(run_dir)
    base = cwd if cwd is not None else os.getcwd()
    layout: dict[str, str] = {}
    for field, variable in LAYOUT_VARIABLES:
        value = env.get(variable)
        if not value:
            continue
        real = os.path.realpath(os.path.join(base, value))
        relative = os.path.relpath(real, run_real)
        if relative == ".." or relative.startswith(f"..{os.sep}"):
            if variable != ENV_WANDB_DIR or env.get(ENV_LANE):
                _log.warning(
                    "%s=%s is outside the run directory %s; the GUI will not find what the "
                    "worker writes there (point it inside the run directory)",
                    variable,
                    value,
                    run_dir,
                )
            continue
        layout[field] = Path(relative).as_posix()
    return layout
