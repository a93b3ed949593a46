"""``gui-fastpath archive``: move old TensorBoard event files into the run's archive, or back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_DAY = 86400.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "archive",
        help="move old TensorBoard event files out of the active log directory (reversible)",
        description=(
            "Move old event files from the run's TensorBoard log directory into "
            "RUN_DIR/archive/ (or back with --restore), then refresh artifacts.json. "
            "Nothing is ever overwritten. Try --dry-run first."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="the run directory")
    parser.add_argument(
        "--older-than-days",
        type=float,
        default=None,
        metavar="N",
        help="only files last modified at least N days ago (default: any age)",
    )
    parser.add_argument(
        "--keep-latest",
        type=int,
        default=1,
        metavar="N",
        help="keep the N newest event files of each TensorBoard run in place (default: 1)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would move, move nothing"
    )
    parser.add_argument(
        "--restore", action="store_true", help="move archived event files back where they were"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gui_fastpath.tensorboard.archive import ArchiveError, archive_events, restore_events

    if args.keep_latest < 0 or (args.older_than_days is not None and args.older_than_days < 0):
        print(
            "gui-fastpath archive: --keep-latest and --older-than-days must be 0 or more",
            file=sys.stderr,
        )
        return 2
    try:
        if args.restore:
            result = restore_events(args.run_dir, dry_run=args.dry_run)
        else:
            older = None if args.older_than_days is None else args.older_than_days * _DAY
            result = archive_events(
                args.run_dir, older_than=older, keep_latest=args.keep_latest, dry_run=args.dry_run
            )
    except ArchiveError as exc:
        print(f"gui-fastpath archive: {exc}", file=sys.stderr)
        return 1
    for line in result.describe():
        print(line)
    return 1 if result.skipped else 0
