"""Where to write: the paths the Fast Path's routing hands the worker in its environment.

Every variable has a fallback under the run directory, so the worker also runs by hand
(``--run-dir DIR``) or under a bare ``gui-fastpath launch`` that only sets the run directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunLayout"]


@dataclass(frozen=True)
class RunLayout:
    """The run directory and the artifact locations inside it (absolute paths)."""

    run_dir: Path
    run_id: str
    tensorboard_dir: Path
    checkpoints_dir: Path
    heartbeat_file: Path
    wandb_dir: Path

    @classmethod
    def from_env(cls, run_dir: str | None = None) -> RunLayout:
        """Read ``GUI_FASTPATH_*`` and ``WANDB_DIR``; ``run_dir`` overrides the run directory."""
        env = os.environ
        root = Path(run_dir or env.get("GUI_FASTPATH_RUN_DIR") or ".").resolve()

        def path(name: str, default: str) -> Path:
            return Path(env.get(name) or root / default).resolve()

        return cls(
            run_dir=root,
            run_id=env.get("GUI_FASTPATH_RUN_ID") or root.name,
            tensorboard_dir=path("GUI_FASTPATH_TENSORBOARD_DIR", "tensorboard"),
            checkpoints_dir=path("GUI_FASTPATH_CHECKPOINTS_DIR", "checkpoints"),
            heartbeat_file=path("GUI_FASTPATH_HEARTBEAT_FILE", "heartbeat.json"),
            wandb_dir=path("WANDB_DIR", "wandb"),
        )

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the run directory, POSIX style, as hint files want it;
        ``None`` for a path outside the run directory (the scanner would refuse it)."""
        if not path.is_relative_to(self.run_dir):
            return None
        return path.relative_to(self.run_dir).as_posix()
