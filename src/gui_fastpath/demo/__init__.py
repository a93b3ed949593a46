"""A built-in demo worker that really trains something small and writes its own analytics."""

from __future__ import annotations

import sys
from typing import Any

from gui_fastpath.routing.declaration import FastPathWorker

__all__ = ["DEMO_WORKER", "DEMO_WORKER_ID", "demo_train_config"]

DEMO_WORKER_ID = "gui_fastpath_demo"

DEMO_WORKER = FastPathWorker(
    worker_id=DEMO_WORKER_ID,
    display_name="Demo Q-learning (built in)",
    total_steps_key="metadata.worker.total_steps",
)
"""Our own fast-path declaration, found like any worker's through ``gui_fastpath.workers``."""


def demo_train_config(
    *,
    policy_path: str | None = None,
    game: str | None = None,
    total_steps: int = 20_000,
    step_delay_ms: float = 1.0,
    wandb: bool = True,
    fail_at: int = 0,
) -> dict[str, Any]:
    """A host-shaped train config (see the host's train form) that runs the demo worker.

    The run directory reaches the worker as ``GUI_FASTPATH_RUN_DIR`` once routing has
    chosen it; nothing here names a path.
    """
    arguments = [
        "-m",
        "gui_fastpath.demo.worker",
        "--total-steps",
        str(total_steps),
        "--step-delay-ms",
        str(step_delay_ms),
    ]
    if not wandb:
        arguments.append("--no-wandb")
    if fail_at:
        arguments += ["--fail-at", str(fail_at)]
    return {
        "run_name": "demo-qlearning",
        "entry_point": sys.executable,
        "arguments": arguments,
        "environment": {},
        "resources": {"cpus": 1, "gpus": 0},
        "artifacts": {"checkpoints": True},
        "metadata": {
            "worker": {
                "worker_id": DEMO_WORKER_ID,
                "game": game or "GridWorld-6x6",
                "policy_path": policy_path,
                "total_steps": total_steps,
            },
            "artifacts": {
                "tensorboard": {"enabled": True, "relative_path": "tensorboard"},
                "wandb": {"enabled": wandb, "mode": "offline"},
            },
        },
    }
