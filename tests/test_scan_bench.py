"""Smoke test: ``bench/bench_scan.py --quick`` runs and prints its ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_scan.py"


@pytest.mark.timeout(60)
def test_bench_scan_quick():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr
    assert "ratio scan/find" in done.stdout
    assert "update, unchanged" in done.stdout
