"""``gui-fastpath scan RUN_DIR``: scan one run, write its ``artifacts.json``, print it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_WRITE_FAILED = 1
EXIT_BAD_RUN_DIR = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="scan one run, write its artifacts.json, print the manifest",
        description=(
            "Scan RUN_DIR for TensorBoard event files, W&B runs, checkpoints, logs and the "
            "worker's hint files; write RUN_DIR/artifacts.json atomically (only if it "
            "changed) and print the manifest as JSON. Problems with the run's files are "
            "printed as warnings on stderr and do not change the exit status; a missing or "
            "unreadable RUN_DIR exits with status 2."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="the run directory")
    parser.add_argument(
        "--no-write", action="store_true", help="only print the manifest; leave artifacts.json"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="do not print the manifest (warnings still go to stderr)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gui_fastpath.manifest import RunDirError, dumps_manifest, scan_run, update_manifest

    status = 0
    try:
        if args.no_write:
            manifest = scan_run(args.run_dir)
        else:
            try:
                manifest = update_manifest(args.run_dir).manifest
            except OSError as exc:
                target = args.run_dir / "artifacts.json"
                _error(f"cannot write {target}: {exc.strerror or exc}")
                manifest = scan_run(args.run_dir)
                status = EXIT_WRITE_FAILED
    except RunDirError as exc:
        _error(str(exc))
        return EXIT_BAD_RUN_DIR
    for warning in manifest.warnings:
        print(
            f"warning: {warning.source} {warning.field}: {warning.problem} (fix: {warning.fix})",
            file=sys.stderr,
        )
    if not args.quiet:
        sys.stdout.write(dumps_manifest(manifest))
    return status


def _error(message: str) -> None:
    print(f"gui-fastpath scan: error: {message}", file=sys.stderr)
