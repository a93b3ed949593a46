"""Smoke test: ``bench/bench_sse_latency.py --quick`` runs end to end and prints its ratio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_sse_latency.py"


@pytest.mark.timeout(120)
def test_bench_sse_latency_quick():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr
    for line in ("ours: SSE push", "peer: 500 ms polling", "p99 ratio peer/ours"):
        assert line in done.stdout, done.stdout
    assert "heartbeats never received over SSE: 0" in done.stdout
