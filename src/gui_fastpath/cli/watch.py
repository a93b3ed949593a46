"""``gui-fastpath watch ROOT``: watch a runs root, print one JSON event a line."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_ROOT = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="watch a runs root, print one JSON event a line",
        description=(
            "Watch ROOT (e.g. var/trainer/runs) and print one JSON object a line per event: "
            "run_appeared (first for the runs already there, with initial=true), "
            "manifest_changed (with the list of changes), run_removed, run_scan_failed. "
            "Each changed run is rescanned and its artifacts.json rewritten if it changed. "
            "A ROOT that does not exist yet is waited for. Stops on SIGINT or SIGTERM."
        ),
    )
    parser.add_argument("root", metavar="ROOT", type=Path, help="the runs root")
    parser.add_argument(
        "--poll-ms",
        type=_milliseconds,
        default=None,
        metavar="MS",
        help="poll every MS instead of using file notifications (NFS and other network "
        "file systems, where notifications never arrive)",
    )
    parser.add_argument(
        "--debounce-ms",
        type=_milliseconds,
        default=50,
        metavar="MS",
        help="report a change at most MS after the last one in its burst (default: 50)",
    )
    parser.add_argument(
        "--max-batch-ms",
        type=_milliseconds,
        default=None,
        metavar="MS",
        help="report at least every MS while changes keep coming (default: 10 x debounce)",
    )
    parser.add_argument(
        "--no-existing",
        dest="report_existing",
        action="store_false",
        help="do not report (nor rescan) the runs already there at start",
    )
    parser.set_defaults(handler=_run)


def _milliseconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected whole milliseconds >= 1, got {text!r}")
    return value


def _run(args: argparse.Namespace) -> int:
    if args.root.exists() and not args.root.is_dir():
        print(
            f"gui-fastpath watch: {args.root} is not a directory; pass the runs root "
            "(the directory holding one directory per run)",
            file=sys.stderr,
        )
        return EXIT_BAD_ROOT
    return asyncio.run(_watch(args))


async def _watch(args: argparse.Namespace) -> int:
    from gui_fastpath.watch import RunsWatcher

    watcher = RunsWatcher(
        args.root,
        poll_ms=args.poll_ms,
        debounce_ms=args.debounce_ms,
        max_batch_ms=args.max_batch_ms,
        report_existing=args.report_existing,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, watcher.stop)
    async for batch in watcher:
        for event in batch:
            sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0
