"""``gui-fastpath demo``: the reference host with the built-in demo worker (the main job)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("gui_fastpath.demo")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="open the reference host and train the demo worker on the Fast Path",
        description=(
            "Open the reference host (loaded with the plugin through entry points only) on a "
            "local runs root and start the built-in demo worker: it trains tabular Q-learning "
            "and writes real TensorBoard events, an offline W&B run, checkpoints and "
            "heartbeats. Without a display it renders offscreen; use --screenshot with "
            "--exit-after to see the result."
        ),
    )
    parser.add_argument(
        "--runs-root",
        type=Path,
        default=Path("var/trainer/runs"),
        help="where runs are written (default: ./var/trainer/runs)",
    )
    parser.add_argument("--runs", type=int, default=1, help="demo runs to start (default: 1)")
    parser.add_argument("--total-steps", type=int, default=20_000, metavar="N")
    parser.add_argument(
        "--step-delay-ms", type=float, default=1.0, metavar="MS", help="pause per step"
    )
    parser.add_argument(
        "--exit-after", type=float, default=None, metavar="SECONDS", help="quit after SECONDS"
    )
    parser.add_argument(
        "--screenshot", type=Path, default=None, metavar="FILE", help="save a PNG before quitting"
    )
    parser.set_defaults(handler=run)


def _prepare_headless() -> bool:
    """Render offscreen when there is no display; True when nobody can see the window."""
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if not display and "QT_QPA_PLATFORM" not in os.environ:
        log.warning("no display found: rendering offscreen (QT_QPA_PLATFORM=offscreen)")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return os.environ.get("QT_QPA_PLATFORM") in {"offscreen", "minimal"}


def run(args: argparse.Namespace) -> int:
    if args.screenshot is not None and args.exit_after is None:
        log.error("--screenshot needs --exit-after SECONDS (when to take it)")
        return 2
    headless = _prepare_headless()
    quit_when_done = headless and args.exit_after is None
    if quit_when_done:
        log.warning("headless: the demo quits when its runs end (add --exit-after to choose)")
    import asyncio

    import qasync
    from qtpy.QtWidgets import QApplication

    from gui_fastpath.qt.gui_process import prepare_gui_process
    from gui_fastpath.qt.host.app import run_demo

    prepare_gui_process()
    app = QApplication.instance() or QApplication(["gui-fastpath demo"])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(
            run_demo(
                args.runs_root.resolve(),
                runs=args.runs,
                total_steps=args.total_steps,
                step_delay_ms=args.step_delay_ms,
                exit_after_s=args.exit_after,
                screenshot_path=args.screenshot,
                quit_when_done=quit_when_done,
            )
        )
