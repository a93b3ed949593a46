"""Smoke test: ``bench/bench_tensorboard_freshness.py --quick`` measures the page, both ways."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "bench_tensorboard_freshness.py"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bench_tensorboard_freshness_quick():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "| viewer | samples | median | p95 | max | not seen |"
    assert lines[2].startswith("| ours (TensorBoardTab) | 3 | ")
    assert lines[2].endswith(" | 0 |")  # every step written was seen in the page
    assert lines[3].startswith("| plain page, as shipped (no auto-reload) | 1 | ")
    assert lines[-1].startswith("median plain (as shipped) / ours: ")
