"""``gui-fastpath wandb sync``: upload offline runs safely, or retry the queued ones.

The key comes from ``WANDB_API_KEY`` or the netrc file, or is read from standard input
(``--api-key-stdin``), or typed at a hidden prompt when standard input is a terminal; it is
given to ``wandb sync`` through its environment and never written anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

EXIT_FAILED = 1
EXIT_NO_KEY = 3


def add_sync_action(actions: argparse._SubParsersAction) -> None:
    """Add ``sync`` to the ``gui-fastpath wandb`` actions."""
    sync = actions.add_parser(
        "sync",
        help="upload offline runs with wandb sync (reachability check, time limit, queue)",
        description=(
            "Upload the offline W&B runs under TARGET with `wandb sync`: the server is "
            "checked first, the sync is stopped at its time limit, and failures are queued "
            "and retried later (--retry-queued)."
        ),
    )
    sync.add_argument(
        "target",
        metavar="TARGET",
        type=Path,
        nargs="?",
        help="a run directory, a wandb/ directory, an offline-run-* folder or a .wandb file",
    )
    sync.add_argument(
        "--retry-queued",
        action="store_true",
        help="retry the queued runs whose backoff has passed (instead of TARGET)",
    )
    sync.add_argument("--list-queue", action="store_true", help="print the sync queue and exit")
    sync.add_argument(
        "--timeout-ms", type=int, default=600_000, help="time limit per run (default 600000)"
    )
    sync.add_argument(
        "--reach-timeout-ms",
        type=int,
        default=5_000,
        help="how long to wait for the server's first answer (default 5000)",
    )
    sync.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the API key from the first line of standard input",
    )
    sync.add_argument("--queue", type=Path, help="the queue file (default: the user state dir)")
    sync.set_defaults(handler=_sync)


def _folders(target: Path) -> list[Path]:
    from gui_fastpath.wandb import list_runs
    from gui_fastpath.wandb.sync import SyncError, find_sync_folder, is_synced

    try:
        return [find_sync_folder(target)]
    except SyncError:
        pass
    return [
        run.directory
        for run in list_runs(target)
        if run.mode == "offline" and run.wandb_file is not None and not is_synced(run.directory)
    ]


def _sync(args: argparse.Namespace) -> int:
    from gui_fastpath.wandb.credentials import default_store
    from gui_fastpath.wandb.sync import SyncJob, SyncOptions, retry_due
    from gui_fastpath.wandb.sync_queue import SyncQueue
    from gui_fastpath.wandb.urls import resolve_base_url

    store = default_store()
    queue = SyncQueue(args.queue, redact=store.redact)
    if args.list_queue:
        for entry in queue.entries():
            print(
                f"{entry.folder}  {entry.base_url}  attempts={entry.attempts}  "
                f"last error: {entry.last_error}"
            )
        return 0
    options = SyncOptions(
        timeout=args.timeout_ms / 1000, reach_timeout=args.reach_timeout_ms / 1000
    )
    typed = sys.stdin.readline().strip() if args.api_key_stdin else ""

    def emit(line: str) -> None:
        print(line, flush=True)

    if args.retry_queued:
        if typed:
            for entry in queue.entries():
                store.remember(entry.base_url, typed)
        results = asyncio.run(retry_due(queue, store, options=options, on_line=emit))
        return 0 if all(r.ok for r in results) else EXIT_FAILED
    if args.target is None:
        print("gui-fastpath wandb sync: give TARGET, or --retry-queued", file=sys.stderr)
        return 2
    folders = _folders(args.target)
    if not folders:
        print(f"gui-fastpath wandb sync: no unsynced offline run under {args.target}")
        return 0
    failed = False
    for folder in folders:
        base_url = resolve_base_url(wandb_dir=folder.parent).url
        credentials = store.find(base_url, include_keyring=True)
        if credentials is None and typed:
            credentials = store.remember(base_url, typed)
        if credentials is None and sys.stdin.isatty() and not args.api_key_stdin:
            prompt = f"W&B API key for {base_url} (kept in memory, never saved): "
            credentials = store.remember(base_url, getpass.getpass(prompt))
        if credentials is None:
            print(
                f"gui-fastpath wandb sync: no W&B API key for {base_url}; set WANDB_API_KEY, "
                "add the server to your netrc file, or pass --api-key-stdin",
                file=sys.stderr,
            )
            return EXIT_NO_KEY
        result = asyncio.run(
            SyncJob(
                folder, credentials, queue=queue, options=options, on_line=emit, store=store
            ).run()
        )
        failed = failed or not result.ok
    return EXIT_FAILED if failed else 0
