"""``gui-fastpath demo``, headless, as a fresh user runs it: the screenshot shows the charts."""

from __future__ import annotations

import subprocess
import sys

import pytest
from qtpy.QtGui import QImage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

TENSORBOARD_ORANGE = (245, 124, 0)  # the page's header bar


def _share_of_colour(image: QImage, rgb: tuple[int, int, int], step: int = 4) -> float:
    hits = total = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            colour = image.pixelColor(x, y)
            total += 1
            near = abs(colour.red() - rgb[0]) + abs(colour.green() - rgb[1])
            hits += near + abs(colour.blue() - rgb[2]) < 40
    return hits / total


def test_demo_screenshot_shows_the_tensorboard_charts(tmp_path, qapp):
    shot = tmp_path / "out.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gui_fastpath",
            "demo",
            "--runs-root",
            str(tmp_path / "runs"),
            "--total-steps",
            "6000",
            "--exit-after",
            "25",
            "--screenshot",
            str(shot),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"screenshot saved to {shot}" in proc.stdout.splitlines()
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 1000
    # The embedded TensorBoard page was drawn (its orange header), not a blank view.
    assert _share_of_colour(image, TENSORBOARD_ORANGE) > 0.02
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "lifecycle.jsonl").read_text().splitlines()[-1].count('"COMPLETED"') == 1


def test_screenshot_needs_exit_after(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gui_fastpath", "demo", "--screenshot", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--screenshot needs --exit-after SECONDS" in proc.stderr
