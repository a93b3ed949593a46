"""``gui-fastpath serve``: the SSE bridge for a runs root, on 127.0.0.1 by default."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve runs and their lifecycle/artifact events as Server-Sent Events",
        description=(
            "Serve GET /runs, GET /events and GET /runs/RUN_ID/events (Server-Sent Events "
            "with Last-Event-ID resume) for the runs under --runs-root. The first stdout "
            'line is JSON: {"url", "token", "runs_root", "pid"}; every request needs '
            "'Authorization: Bearer <token>' (or ?token=). The token is new at each start "
            "and never written to disk. Stops on SIGINT or SIGTERM."
        ),
    )
    parser.add_argument(
        "--runs-root", required=True, type=Path, metavar="R", help="directory holding runs"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1; anything else is reachable from other "
        "machines and is logged as a warning)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind (default: 0, an ephemeral port)"
    )
    parser.add_argument(
        "--heartbeat-ms",
        type=int,
        default=15_000,
        metavar="MS",
        help="comment sent on idle streams to keep connections alive (default: 15000)",
    )
    parser.add_argument(
        "--poll-ms",
        type=int,
        default=None,
        metavar="MS",
        help="poll the disk every MS instead of using file notifications (network drives)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.heartbeat_ms <= 0 or not 0 <= args.port <= 65535:
        print("gui-fastpath serve: --heartbeat-ms must be > 0, --port 0..65535", file=sys.stderr)
        return 2
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from gui_fastpath.bridge import BridgeServer, LocalEventSource

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    source = LocalEventSource(args.runs_root, poll_ms=args.poll_ms)
    server = BridgeServer(
        source, host=args.host, port=args.port, heartbeat_s=args.heartbeat_ms / 1000
    )
    try:
        try:
            url = await server.start()
        except FileNotFoundError as exc:
            print(f"gui-fastpath serve: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(
                f"gui-fastpath serve: cannot listen on {args.host}:{args.port} "
                f"({exc.strerror or exc}); pick another --host/--port",
                file=sys.stderr,
            )
            return 1
        line = {"url": url, "token": server.token, "runs_root": str(args.runs_root)}
        print(json.dumps(dict(line, pid=os.getpid())), flush=True)
        await stop.wait()
        return 0
    finally:
        await server.close()
        await source.close()
