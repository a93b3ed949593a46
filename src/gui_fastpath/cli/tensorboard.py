"""``gui-fastpath tensorboard RUN_DIR``: serve one run's TensorBoard until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

EXIT_FAILED = 1
EXIT_BAD_RUN_DIR = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tensorboard",
        help="serve one run's TensorBoard on loopback; print its private URL",
        description=(
            "Start the managed TensorBoard for RUN_DIR on 127.0.0.1 and print its URL on the "
            "first line of stdout. The URL holds the access secret: keep it private. Serves "
            "until interrupted (Ctrl+C or SIGTERM), then stops every process it started."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="the run directory")
    parser.add_argument(
        "--index",
        choices=("on-open", "off"),
        default="on-open",
        help="on-open: our data server indexes the logs (restarts stay warm); "
        "off: TensorBoard loads them itself (default: on-open)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gui_fastpath.manifest import RunDirError, scan_run
    from gui_fastpath.tensorboard import (
        ServerEvent,
        ServerOptions,
        TensorBoardError,
        TensorBoardPool,
        TensorBoardStartError,
    )
    from gui_fastpath.tensorboard.logdir import no_logs_guidance, run_log_dir

    try:
        manifest = scan_run(args.run_dir)
        log_dir = run_log_dir(args.run_dir, manifest)
    except (RunDirError, TensorBoardError) as exc:
        return _error(str(exc), EXIT_BAD_RUN_DIR)
    if log_dir is None:
        return _error(no_logs_guidance(manifest.run_id), EXIT_FAILED)

    done = threading.Event()
    failure: list[ServerEvent] = []

    def on_event(event: ServerEvent) -> None:
        if event.kind == "exited":
            failure.append(event)
            done.set()

    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in _STOP_SIGNALS}
    pool = TensorBoardPool(ServerOptions(index_mode=args.index, keep_spare=False))
    try:
        try:
            lease = pool.acquire(log_dir)
        except TensorBoardStartError as exc:
            return _error(f"{exc}\n{exc.stderr}".rstrip(), EXIT_FAILED)
        lease.subscribe(on_event)
        print(lease.url, flush=True)
        for notice in lease.notices:
            print(f"gui-fastpath tensorboard: {notice}", file=sys.stderr)
        done.wait()
    finally:
        pool.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure:
        return _error(f"{failure[0].message}\n{failure[0].stderr}".rstrip(), EXIT_FAILED)
    return 0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _error(message: str, code: int) -> int:
    print(f"gui-fastpath tensorboard: error: {message}", file=sys.stderr)
    return code
