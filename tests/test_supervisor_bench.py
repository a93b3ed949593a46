"""Smoke test: ``bench/bench_tee.py --quick`` runs, checks its outputs and prints the ratio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_tee.py"


@pytest.mark.timeout(60)
def test_bench_tee_quick(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    assert "ratio (tee throughput / cat throughput): " in done.stdout
    assert not list(tmp_path.iterdir())  # its files are cleaned up
