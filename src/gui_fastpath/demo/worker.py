"""The demo worker: tabular Q-learning on a small grid world, analytics written by itself.

It is what a CleanRL-style worker looks like on the Fast Analytics Path: TensorBoard
scalars under ``tensorboard/``, an offline W&B run under ``$WANDB_DIR``, ``.npz``
checkpoints under ``checkpoints/``, lifecycle lines on stdout in the host's JSON-lines
protocol, and a sidecar ``heartbeat.json``. Run it as
``python -m gui_fastpath.demo.worker --run-dir DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

GRID = 6
ACTIONS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])
GOAL = (GRID - 1, GRID - 1)
PITS = {(1, 3), (3, 1), (4, 4)}


def _emit(event: str, run_id: str, **payload: object) -> None:
    """One line of the host's lifecycle protocol on stdout."""
    line = {"event": event, "run_id": run_id, "timestamp": time.time(), "payload": payload}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _write_heartbeat(run_dir: Path, **fields: object) -> None:
    tmp = run_dir / "heartbeat.json.tmp"
    tmp.write_text(json.dumps({"timestamp": time.time(), **fields}))
    os.replace(tmp, run_dir / "heartbeat.json")


class _TensorBoard:
    """Scalars through tensorboard's own event writer (no TensorFlow or torch needed)."""

    def __init__(self, log_dir: Path) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._event_pb2, self._summary_pb2 = event_pb2, summary_pb2
        self._writer = EventFileWriter(str(log_dir), flush_secs=1)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        summary = self._summary_pb2.Summary(
            value=[
                self._summary_pb2.Summary.Value(tag=tag, simple_value=value)
                for tag, value in values.items()
            ]
        )
        self._writer.add_event(
            self._event_pb2.Event(wall_time=time.time(), step=step, summary=summary)
        )

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _step(state: tuple[int, int], action: int) -> tuple[tuple[int, int], float, bool]:
    row, col = np.clip(np.array(state) + ACTIONS[action], 0, GRID - 1)
    nxt = (int(row), int(col))
    if nxt == GOAL:
        return nxt, 1.0, True
    if nxt in PITS:
        return nxt, -1.0, True
    return nxt, -0.01, False


def train(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).resolve()
    run_id = args.run_id or run_dir.name
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)
    config = {
        "total_steps": args.total_steps,
        "learning_rate": args.learning_rate,
        "gamma": 0.97,
        "epsilon_start": 1.0,
        "epsilon_end": 0.05,
        "grid": GRID,
        "seed": args.seed,
    }
    _emit("run_started", run_id, total_steps=args.total_steps, config=config)

    tb_dir = Path(os.environ.get("GUI_FASTPATH_TENSORBOARD_DIR", run_dir / "tensorboard"))
    tb = _TensorBoard(tb_dir / f"qlearning_{args.seed}")
    wandb_run = None
    if not args.no_wandb:
        import wandb

        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_SILENT", "true")
        wandb_dir = Path(os.environ.get("WANDB_DIR", run_dir / "wandb"))
        wandb_dir.mkdir(parents=True, exist_ok=True)
        wandb_run = wandb.init(
            project="gui-fastpath-demo",
            name=f"{run_id}-qlearning",
            dir=str(wandb_dir),
            config=config,
            settings=wandb.Settings(console="off", x_disable_stats=True),
        )

    rng = np.random.default_rng(args.seed)
    q = np.zeros((GRID, GRID, len(ACTIONS)))
    state, episode, episode_return, returns = (0, 0), 0, 0.0, []
    started = time.monotonic()
    try:
        for step in range(1, args.total_steps + 1):
            fraction = step / args.total_steps
            epsilon = max(config["epsilon_end"], 1.0 - fraction * 1.5)
            if rng.random() < epsilon:
                action = int(rng.integers(len(ACTIONS)))
            else:
                action = int(np.argmax(q[state]))
            nxt, reward, done = _step(state, action)
            target = reward + (0.0 if done else config["gamma"] * q[nxt].max())
            td_error = target - q[state][action]
            q[state][action] += args.learning_rate * td_error
            episode_return += reward
            state = nxt
            if done:
                episode += 1
                returns.append(episode_return)
                state, episode_return = (0, 0), 0.0
            if step % args.log_every == 0:
                sps = step / max(time.monotonic() - started, 1e-9)
                recent = float(np.mean(returns[-20:])) if returns else 0.0
                metrics = {
                    "charts/episodic_return": recent,
                    "charts/epsilon": epsilon,
                    "losses/td_error": float(abs(td_error)),
                    "charts/SPS": sps,
                }
                tb.scalars(step, metrics)
                if wandb_run is not None:
                    wandb_run.log({**metrics, "global_step": step}, step=step)
                _emit(
                    "heartbeat",
                    run_id,
                    step=step,
                    total_steps=args.total_steps,
                    episode=episode,
                    steps_per_second=round(sps, 1),
                )
                _write_heartbeat(run_dir, step=step, total_steps=args.total_steps, episode=episode)
            if step % args.checkpoint_every == 0:
                np.savez(ckpt_dir / f"qtable_step_{step}.npz", q=q)
            if args.step_delay_ms:
                time.sleep(args.step_delay_ms / 1000)
            if args.fail_at and step == args.fail_at:
                raise RuntimeError(f"demo failure requested at step {step}")
        tb.flush()
    except Exception as exc:
        _emit("run_failed", run_id, error=str(exc), error_type=type(exc).__name__)
        print(f"demo worker failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        tb.close()
        if wandb_run is not None:
            wandb_run.finish()
    _emit("run_completed", run_id, step=args.total_steps, episodes=episode)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run-dir",
        default=os.environ.get("GUI_FASTPATH_RUN_DIR", "."),
        help="the run directory to write into (default: $GUI_FASTPATH_RUN_DIR, else .)",
    )
    parser.add_argument("--run-id", help="run id (default: the run directory's name)")
    parser.add_argument("--total-steps", type=int, default=20_000)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--log-every", type=int, default=250)
    parser.add_argument("--checkpoint-every", type=int, default=5_000)
    parser.add_argument(
        "--step-delay-ms",
        type=float,
        default=0.0,
        help="pause after each step, to make a short run last",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-wandb", action="store_true", help="write TensorBoard only")
    parser.add_argument("--fail-at", type=int, default=0, help="raise at this step (testing)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return train(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
