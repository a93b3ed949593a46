"""``gui-fastpath du``: disk usage of a runs root or one run, by category and by run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_ROOT = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "du",
        help="disk usage of a runs root or one run, by category and by run",
        description=(
            "Show how much space a runs root (or one run) takes: by category (TensorBoard "
            "events, archived events, W&B offline/unsynced and synced, checkpoints, logs, "
            "other) and by run, largest first, with each run's state (running, finished, "
            "unknown) and age. Sizes are apparent sizes; symlinks are not followed. "
            "Changes nothing."
        ),
    )
    parser.add_argument(
        "path", metavar="ROOT_OR_RUN", type=Path, help="a runs root, or one run directory"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gui_fastpath.maintenance import BadRootError, disk_usage

    try:
        report = disk_usage(args.path)
    except BadRootError as exc:
        print(f"gui-fastpath du: {exc}", file=sys.stderr)
        return EXIT_BAD_ROOT
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.describe()))
    return 0
