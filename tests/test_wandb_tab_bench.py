"""Smoke test: ``bench/bench_wandb_tab_stall.py --quick`` runs and prints its ratio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_wandb_tab_stall.py"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bench_wandb_tab_stall_quick(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--cache", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "| W&B tab (reader in a child process) |" in done.stdout
    assert "max stall: peer / ours = " in done.stdout
