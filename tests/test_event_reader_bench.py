"""Smoke test: ``bench/bench_event_reader.py --quick`` runs every reader and prints ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_event_reader.py"


@pytest.mark.timeout(90)
def test_bench_event_reader_quick():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=80
    )
    assert done.returncode == 0, done.stderr
    for row in (
        "gui_fastpath ScalarReader",
        "EventAccumulator (tensorboard)",
        "Rust data server --checksum",
    ):
        assert done.stdout.count(row) == 2, row
    assert done.stdout.count("(1.000x the appended bytes") == 2
