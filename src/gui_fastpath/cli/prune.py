"""``gui-fastpath prune``: delete old checkpoints and old finished runs (dry run by default)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_DAY = 86400.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="delete old checkpoints / old finished runs (dry run unless --apply)",
        description=(
            "Delete the checkpoints of finished runs but the N newest of each run, and/or "
            "whole finished runs older than D days. Prints what it would delete, with sizes, "
            "and deletes nothing unless --apply is given. Running runs (a supervisor holds "
            "their lifecycle.jsonl), runs whose state is unknown, symlinks and anything "
            "outside ROOT are never touched; runs with an unsynced offline W&B run are kept "
            "unless --include-unsynced-wandb. Each changed run's artifacts.json is refreshed. "
            "Exit status: 0 done, 1 a deletion failed, 2 bad ROOT or options."
        ),
    )
    parser.add_argument("root", metavar="ROOT", type=Path, help="the runs root")
    parser.add_argument(
        "--keep-checkpoints",
        type=int,
        metavar="N",
        help="keep the N newest checkpoints of each finished run (N >= 1), delete the others",
    )
    parser.add_argument(
        "--runs-older-than-days",
        type=float,
        metavar="D",
        help="delete whole finished runs that ended more than D days ago",
    )
    parser.add_argument(
        "--include-unsynced-wandb",
        action="store_true",
        help="also delete old runs whose offline W&B runs were never synced (data loss)",
    )
    parser.add_argument("--apply", action="store_true", help="really delete (default: dry run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gui_fastpath.cli._maintenance_output import EXIT_BAD_ROOT, report
    from gui_fastpath.maintenance import prune

    keep, days = args.keep_checkpoints, args.runs_older_than_days
    problem = None
    if keep is None and days is None:
        problem = "nothing to do: give --keep-checkpoints N and/or --runs-older-than-days D"
    elif keep is not None and keep < 1:
        problem = "--keep-checkpoints must be 1 or more: a run's newest checkpoint always stays"
    elif days is not None and days < 0:
        problem = "--runs-older-than-days must be 0 or more"
    if problem is not None:
        print(f"gui-fastpath prune: {problem}", file=sys.stderr)
        return EXIT_BAD_ROOT
    return report(
        "prune",
        lambda: prune(
            args.root,
            keep_checkpoints=keep,
            runs_older_than=None if days is None else days * _DAY,
            include_unsynced_wandb=args.include_unsynced_wandb,
            apply=args.apply,
        ),
        as_json=args.json,
    )
