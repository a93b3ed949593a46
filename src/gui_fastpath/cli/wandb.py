"""``gui-fastpath wandb <action>``: look at the W&B runs a worker wrote.

``summary RUN_DIR [--json]`` prints the newest run's identity, config and latest scalars,
read from its ``run-<id>.wandb`` file (offline runs need no W&B account). ``sync TARGET``
uploads offline runs safely (see :mod:`gui_fastpath.cli._wandb_sync`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from gui_fastpath.cli._wandb_sync import add_sync_action

EXIT_NO_RUN = 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "wandb",
        help="inspect W&B runs (offline runs read locally)",
        description="Inspect the W&B runs of a worker's run directory.",
    )
    actions = parser.add_subparsers(dest="wandb_action", metavar="ACTION", required=True)
    summary = actions.add_parser(
        "summary",
        help="print a run's identity, config and latest scalars",
        description=(
            "Print the identity, config and latest scalars of the newest W&B run under "
            "RUN_DIR, read from its run-<id>.wandb file."
        ),
    )
    summary.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        type=Path,
        help="a run directory (with wandb/ inside), a wandb/ directory, a run-* folder "
        "or a run-<id>.wandb file",
    )
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(handler=_summary)
    add_sync_action(actions)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _find_wandb_file(target: Path) -> tuple[Path | None, list[Path]]:
    """The ``.wandb`` file to show, and the other runs' files (newest first)."""
    from gui_fastpath.wandb import list_runs

    if target.is_file():
        return target, []
    folder_files = sorted(target.glob("run-*.wandb"))
    if folder_files:
        return folder_files[0], []
    runs = [run.wandb_file for run in list_runs(target) if run.wandb_file is not None]
    if not runs:
        return None, []
    return runs[0], runs[1:]


def _summary(args: argparse.Namespace) -> int:
    from gui_fastpath.wandb import OfflineRunReader

    path, others = _find_wandb_file(args.run_dir)
    if path is None:
        print(
            f"gui-fastpath wandb summary: no run-<id>.wandb file under {args.run_dir} "
            "(looked in it, in wandb/ and in wandb/wandb/); check that the worker calls "
            "wandb.init(dir=...) inside its run directory",
            file=sys.stderr,
        )
        return EXIT_NO_RUN
    snapshot = OfflineRunReader(path).read_all()
    if args.json:
        print(json.dumps(_strict_json(_as_dict(snapshot, others)), indent=2, allow_nan=False))
    else:
        print(_as_text(snapshot, others))
    for problem in snapshot.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; a W&B media value (a dict with ``_type``) stays whole."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and "_type" not in value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _scalars(tree: dict[str, Any]) -> dict[str, Any]:
    """The summary's numbers, booleans and strings, by dotted key."""
    return {
        key: value
        for key, value in _flatten(tree).items()
        if isinstance(value, bool | int | float | str) or value is None
    }


def _as_dict(snapshot: Any, others: list[Path]) -> dict[str, Any]:
    identity = snapshot.identity
    return {
        "file": str(snapshot.path),
        "state": snapshot.state,
        "run_id": identity.run_id if identity else None,
        "entity": identity.entity if identity else None,
        "project": identity.project if identity else None,
        "name": identity.display_name if identity else None,
        "tags": list(identity.tags) if identity else [],
        "start_time": identity.start_time if identity else None,
        "exit_code": snapshot.exit.exit_code if snapshot.exit else None,
        "step": snapshot.last_step,
        "history_rows": len(snapshot.history),
        "config": snapshot.config,
        "summary": snapshot.summary,
        "latest_scalars": _scalars(dict(snapshot.summary)),
        "notes": list(snapshot.notes),
        "problems": [str(p) for p in snapshot.problems],
        "other_runs": [str(p) for p in others],
    }


def _strict_json(value: Any) -> Any:
    """Plain JSON: NaN and infinities become "NaN", "Infinity", "-Infinity" (as wandb prints
    them), anything else unknown becomes its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _format(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _as_text(snapshot: Any, others: list[Path]) -> str:
    identity = snapshot.identity
    lines = [f"file     {snapshot.path}"]
    if identity is not None:
        name = identity.display_name or identity.run_id
        lines.append(f"run      {name} ({identity.run_id})")
        project = "/".join(p for p in (identity.entity, identity.project) if p)
        lines.append(f"project  {project or '-'}")
        if identity.tags:
            lines.append(f"tags     {', '.join(identity.tags)}")
    state = snapshot.state
    if snapshot.exit is not None:
        state += f" (exit code {snapshot.exit.exit_code})"
    lines.append(f"state    {state}")
    if snapshot.last_step is not None:
        lines.append(f"step     {snapshot.last_step}  ({len(snapshot.history)} history rows)")
    for title, values in (
        ("config", _flatten(dict(snapshot.config))),
        ("latest scalars", _scalars(dict(snapshot.summary))),
    ):
        if values:
            width = min(max(len(k) for k in values), 40)
            lines.append(f"\n{title}")
            lines += [f"  {k:<{width}}  {_format(v)}" for k, v in sorted(values.items())]
    if snapshot.notes:
        lines.append("")
        lines += [f"note: {note}" for note in snapshot.notes]
    if others:
        lines.append(f"\n{len(others)} other run(s) in this directory, newest first:")
        lines += [f"  {p}" for p in others]
    return "\n".join(lines)
