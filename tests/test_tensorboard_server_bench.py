"""Smoke test: ``bench/bench_tensorboard_open.py --quick`` times every start, prints ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "bench_tensorboard_open.py"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bench_tensorboard_open_quick(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("| log dir | plain tensorboard --logdir | ours cold")
    assert [line.split(" | ")[0] for line in lines[2:4]] == ["| 1 MB", "| 5 MB"]
    assert lines[-1].startswith("A TensorBoard that exits at start-up is reported after ")
