"""``gui-fastpath compress``: gzip the logs of old finished runs (dry run by default)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_DAY = 86400.0
DEFAULT_DAYS = 7.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compress",
        help="gzip the logs of finished runs into .log.gz (dry run unless --apply)",
        description=(
            "Compress stdout.log, stderr.log and logs/*.log of finished runs that ended more "
            "than D days ago into <name>.gz: written to a temporary file, fsync'd, verified "
            "by decompressing it, renamed into place (never over an existing file), then the "
            "original is removed and artifacts.json refreshed. The GUI's log panel shows the "
            "end of a .log.gz. Prints what it would do, with sizes, and changes nothing "
            "unless --apply is given. Running runs, runs whose state is unknown, symlinks and "
            "anything outside ROOT are never touched. "
            "Exit status: 0 done, 1 a compression failed, 2 bad ROOT or options."
        ),
    )
    parser.add_argument("root", metavar="ROOT", type=Path, help="the runs root")
    parser.add_argument(
        "--older-than-days",
        type=float,
        default=DEFAULT_DAYS,
        metavar="D",
        help=f"only runs that finished more than D days ago (default: {DEFAULT_DAYS:g})",
    )
    parser.add_argument("--apply", action="store_true", help="really compress (default: dry run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gui_fastpath.cli._maintenance_output import EXIT_BAD_ROOT, report
    from gui_fastpath.maintenance import compress_logs

    if args.older_than_days < 0:
        print("gui-fastpath compress: --older-than-days must be 0 or more", file=sys.stderr)
        return EXIT_BAD_ROOT
    return report(
        "compress",
        lambda: compress_logs(args.root, older_than=args.older_than_days * _DAY, apply=args.apply),
        as_json=args.json,
    )
