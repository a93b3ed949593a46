"""``gui-fastpath schema``: print the JSON Schemas of the hint files and of ``artifacts.json``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_FILES = ("artifacts_manifest.json", "analytics.json", "fastpath.json", "artifacts.json")
"""The files of :data:`gui_fastpath.manifest.schema.SCHEMA_FILES` (not imported: cheap --help)."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schemas of the worker hint files and of artifacts.json",
        description=(
            "Print the JSON Schema (draft 2020-12) of one file, or an object holding all "
            "of them keyed by file name: artifacts_manifest.json and analytics.json (hints a "
            "worker may write), fastpath.json (the layout routing chose, written at launch) "
            "and artifacts.json (written by gui-fastpath)."
        ),
    )
    parser.add_argument(
        "file", metavar="FILE", nargs="?", choices=_FILES, help=f"one of: {', '.join(_FILES)}"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gui_fastpath.manifest.schema import all_schemas, schema_for

    document = schema_for(args.file) if args.file else all_schemas()
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    return 0
