"""The reference host's trainer daemon: each run is a ``gui-fastpath launch`` child process.

Like MOSAIC's trainer daemon it picks the run id (a ULID) and the run directory, then hands
the worker to the Fast Path supervisor in a separate process — so the GUI process never
reads worker output, and the GUI learns everything from the run directory. Qt-free.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gui_fastpath.spawn import TRAINING_NICE, child_options, run_below_us

log = logging.getLogger(__name__)

__all__ = ["LocalDaemon", "new_run_id"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_run_id() -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32, sortable."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class LocalDaemon:
    """Launches and cancels supervised runs under one runs root."""

    def __init__(self, runs_root: Path, *, grace_s: float = 5.0) -> None:
        self.runs_root = runs_root
        self.grace_s = grace_s
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    async def start_run(
        self,
        config: Mapping[str, Any],
        run_id: str | None = None,
        *,
        total_steps: int | None = None,
    ) -> str:
        """Start a run from the train config the routing strategy prepared; return its id.

        ``config`` is host-shaped (``entry_point``, ``arguments``, ``environment``…) and
        already rewritten for its lane; ``GUI_FASTPATH_RUN_DIR`` etc. are filled in here
        once the run id is known.
        """
        from gui_fastpath.routing import (
            ENV_RUN_DIR,
            ENV_RUN_ID,
            command_from_train_config,
            total_steps_from_config,
        )

        total = total_steps or total_steps_from_config(config)
        run_id = run_id or new_run_id()
        run_dir = self.runs_root / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        command, extra_env = command_from_train_config(config)
        env = {**os.environ, **extra_env, ENV_RUN_DIR: str(run_dir), ENV_RUN_ID: run_id}
        launch = [sys.executable, "-m", "gui_fastpath", "launch"]
        launch += ["--runs-root", str(self.runs_root), "--run-id", run_id]
        launch += ["--grace-ms", str(int(self.grace_s * 1000))]
        if total:
            launch += ["--total-steps", str(total)]
        proc = await asyncio.create_subprocess_exec(
            *launch,
            "--",
            *command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            **child_options(),  # a run outlives a crashed window
        )
        run_below_us(proc.pid, TRAINING_NICE)
        self.processes[run_id] = proc
        log.info("run %s: launched %s (supervisor pid %d)", run_id, command[:3], proc.pid)
        return run_id

    async def cancel(self, run_id: str) -> None:
        """Ask the run's supervisor to cancel (it stops the worker's whole group)."""
        proc = self.processes.get(run_id)
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.grace_s + 5.0)
        except TimeoutError:
            log.warning("run %s: supervisor did not stop; killing its group", run_id)
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    async def shutdown(self) -> None:
        """Cancel every run still going (the host is quitting)."""
        await asyncio.gather(*(self.cancel(r) for r in list(self.processes)))
