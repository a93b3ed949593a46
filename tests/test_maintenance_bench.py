"""Smoke test: ``bench/bench_maintenance.py --quick`` runs and prints its ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_maintenance.py"


@pytest.mark.timeout(60)
def test_bench_maintenance_quick():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr
    for ratio in ("ratio disk_usage/du", "ratio gzip_log/gzip", "ratio zcat/FileTail"):
        assert ratio in done.stdout
    assert "plain gzip, streamed" in done.stdout
