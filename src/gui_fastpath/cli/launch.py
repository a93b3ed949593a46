"""``gui-fastpath launch``: run a worker under the supervisor and print its lifecycle."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gui_fastpath.lifecycle import RunLifecycleEvent

EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "launch",
        help="run a worker with lifecycle supervision; print its events as JSON lines",
        description=(
            "Run CMD as a fast-lane worker in RUNS_ROOT/RUN_ID: its stdout and stderr go to "
            "logs/worker.stdout.log and .stderr.log, every lifecycle event is appended to "
            "lifecycle.jsonl and printed as one JSON line, artifacts.json is kept current. "
            "The layout in the routing's variables (GUI_FASTPATH_TENSORBOARD_DIR, WANDB_DIR, "
            "GUI_FASTPATH_CHECKPOINTS_DIR, GUI_FASTPATH_HEARTBEAT_FILE) is recorded in "
            "fastpath.json, and the heartbeat file it names is followed. "
            "Exits with the worker's status (128+N if signal N killed it). SIGINT or SIGTERM "
            "cancels the worker's whole process group."
        ),
    )
    parser.add_argument("--runs-root", required=True, type=Path, metavar="R")
    parser.add_argument("--run-id", required=True, metavar="ID", help="the run directory's name")
    parser.add_argument(
        "--stall-after-ms",
        type=int,
        default=120_000,
        metavar="N",
        help="flag the run stalled after N ms without output, heartbeat or new artifact "
        "(default: 120000; 0 turns it off)",
    )
    parser.add_argument(
        "--grace-ms",
        type=int,
        default=5_000,
        metavar="N",
        help="on cancel, wait N ms after SIGTERM before SIGKILL (default: 5000)",
    )
    parser.add_argument(
        "--progress-interval-ms",
        type=int,
        default=50,
        metavar="N",
        help="at most one progress event per N ms (default: 50)",
    )
    parser.add_argument(
        "--worker", default="worker", help="log file stem under logs/ (default: worker)"
    )
    parser.add_argument(
        "--total-steps", type=int, default=None, metavar="N", help="steps the run will take"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS...")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    problem = _check(args, command)
    if problem:
        print(f"gui-fastpath launch: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(_launch(args, command))


def _check(args: argparse.Namespace, command: list[str]) -> str | None:
    if not command:
        return "give the worker command after --, e.g. -- python train.py"
    run_id = args.run_id
    if not run_id or run_id in (".", "..") or "/" in run_id or "\\" in run_id:
        return f"--run-id {run_id!r} must be a plain directory name (no path separators)"
    for name in ("stall_after_ms", "grace_ms", "progress_interval_ms"):
        if getattr(args, name) < 0:
            return f"--{name.replace('_', '-')} must be 0 or more"
    return None


async def _launch(args: argparse.Namespace, command: list[str]) -> int:
    from gui_fastpath.lifecycle import JournalLockedError, Supervisor

    supervisor = Supervisor(
        command,
        args.runs_root / args.run_id,
        run_id=args.run_id,
        worker=args.worker,
        total_steps=args.total_steps,
        stall_after_s=args.stall_after_ms / 1000 or None,
        grace_s=args.grace_ms / 1000,
        progress_interval_s=args.progress_interval_ms / 1000,
    )
    supervisor.add_listener(_print_event)
    loop = asyncio.get_running_loop()
    cancels: set[asyncio.Task[Any]] = set()

    def on_signal(sig: signal.Signals) -> None:
        task = loop.create_task(supervisor.cancel(f"gui-fastpath launch received {sig.name}"))
        cancels.add(task)
        task.add_done_callback(cancels.discard)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        (args.runs_root / args.run_id).mkdir(parents=True, exist_ok=True)
        await supervisor.start()
    except (JournalLockedError, OSError) as exc:
        print(f"gui-fastpath launch: {exc}", file=sys.stderr)
        return 1
    return exit_status(await supervisor.wait())


def exit_status(event: RunLifecycleEvent) -> int:
    """The shell-style status for a terminal event: the worker's, 128+N for signal N."""
    from gui_fastpath.lifecycle import RunState

    if event.signal_name is not None:
        try:
            return 128 + signal.Signals[event.signal_name].value
        except KeyError:
            return 128 + int(event.signal_name.rpartition(" ")[2])
    if event.exit_code is not None:
        failed_quietly = event.state is RunState.FAILED and event.exit_code == 0
        return 1 if failed_quietly else event.exit_code
    return EXIT_NOT_FOUND if event.error_type == "FileNotFoundError" else EXIT_CANNOT_EXECUTE


def _print_event(event: RunLifecycleEvent) -> None:
    try:
        sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away; the worker's status still counts, so keep going quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
