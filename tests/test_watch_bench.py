"""Smoke test: ``bench/bench_watch.py --quick`` runs every section and prints its ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_watch.py"


@pytest.mark.timeout(120)
def test_bench_watch_quick():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr
    for line in (
        "p99 ratio host/ours",
        "worst: ours",
        "rescans per change: [1]",
        "watchfiles force_polling",
        "slope over the second half",
    ):
        assert line in done.stdout, done.stdout
