"""TD(0) on the five-state random walk (Sutton & Barto, Example 6.2), as a Fast Path worker.

It writes its own analytics into the run directory it is given: TensorBoard scalars, an
offline W&B run (optional), ``.npz`` checkpoints, lifecycle lines on stdout, a sidecar
``heartbeat.json`` and an ``artifacts_manifest.json`` hint file.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

import numpy as np

from fastpath_example_worker.layout import RunLayout
from fastpath_example_worker.reporting import LifecycleReporter, write_hints

__all__ = ["Analytics", "RandomWalkTD", "build_parser", "main", "train"]

N_STATES = 5
"""Non-terminal states 1..5; 0 (reward 0) and 6 (reward 1) end an episode."""
START = 3
TRUE_VALUES = np.arange(1, N_STATES + 1) / (N_STATES + 1)


class RandomWalkTD:
    """The random walk and a tabular TD(0) learner of its state values."""

    def __init__(self, learning_rate: float, seed: int) -> None:
        self.learning_rate = learning_rate
        self.values = np.full(N_STATES + 2, 0.5)
        self.values[[0, -1]] = 0.0
        self.rng = np.random.default_rng(seed)
        self.state = START
        self.episode_length = 0

    def step(self) -> int | None:
        """One transition and its TD(0) update; the episode's length if it just ended."""
        nxt = self.state + (1 if self.rng.random() < 0.5 else -1)
        reward = 1.0 if nxt == N_STATES + 1 else 0.0
        td_error = reward + self.values[nxt] - self.values[self.state]
        self.values[self.state] += self.learning_rate * td_error
        self.episode_length += 1
        if nxt in (0, N_STATES + 1):
            length, self.state, self.episode_length = self.episode_length, START, 0
            return length
        self.state = nxt
        return None

    def rms_error(self) -> float:
        return float(np.sqrt(np.mean((self.values[1:-1] - TRUE_VALUES) ** 2)))


class Analytics:
    """TensorBoard scalars through tensorboard's own writer, and the same in W&B if enabled."""

    def __init__(self, layout: RunLayout, args: argparse.Namespace, config: dict) -> None:
        from tensorboard.summary import Writer  # numpy only: no TensorFlow or torch

        self.tensorboard = Writer(str(layout.tensorboard_dir / f"td0_seed{args.seed}"))
        try:
            self.wandb_run = _start_wandb(args, layout, config)
        except BaseException:
            self.tensorboard.close()
            raise

    def log(self, step: int, metrics: dict[str, float]) -> None:
        for tag, value in metrics.items():
            self.tensorboard.add_scalar(tag, value, step)
        self.tensorboard.flush()  # on disk now, so the TensorBoard tab sees it
        if self.wandb_run is not None:
            self.wandb_run.log(metrics, step=step)

    def close(self, *, exit_code: int) -> None:
        """Flush and close both, so the last scalars are on disk before the run ends."""
        self.tensorboard.close()
        if self.wandb_run is not None:
            self.wandb_run.finish(exit_code=exit_code)


def _start_wandb(args: argparse.Namespace, layout: RunLayout, config: dict) -> Any:
    """A W&B run under ``$WANDB_DIR``: offline unless ``WANDB_MODE`` says online; ``None``
    when ``--no-wandb``, ``WANDB_MODE=disabled`` or wandb is not installed."""
    mode = os.environ.get("WANDB_MODE") or "offline"
    if args.no_wandb or mode == "disabled":
        return None
    try:
        import wandb
    except ImportError:
        print("wandb is not installed; writing TensorBoard only", file=sys.stderr)
        return None
    layout.wandb_dir.mkdir(parents=True, exist_ok=True)
    return wandb.init(
        project="fastpath-example",
        name=f"{layout.run_id}-td0",
        dir=str(layout.wandb_dir),
        mode="online" if mode == "online" else "offline",
        config=config,
        # The supervisor already keeps stdout/stderr; system stats are not the point here.
        settings=wandb.Settings(console="off", silent=True, x_disable_stats=True),
    )


class _StopRequest:
    """Set by SIGTERM (the supervisor's cancel) or SIGINT; the loop checks it each step."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name


def _save_checkpoint(layout: RunLayout, agent: RandomWalkTD, step: int) -> str:
    """``step_<N>.npz``, written under a temporary name first so no scan sees half a file.
    Returns its path relative to the run directory (absolute if outside it)."""
    path = layout.checkpoints_dir / f"step_{step}.npz"
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as out:
        np.savez(out, values=agent.values, step=step)
    os.replace(tmp, path)
    return layout.relative(path) or str(path)


def train(args: argparse.Namespace, layout: RunLayout) -> int:
    """Run the training loop; returns the process exit status."""
    stop = _StopRequest()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    config = {"learning_rate": args.learning_rate, "seed": args.seed, "states": N_STATES}
    reporter = LifecycleReporter(layout)
    reporter.started(total_steps=args.total_steps, config=config)
    # Step 0 creates the sidecar file before the hint file names it.
    reporter.heartbeat(step=0, total_steps=args.total_steps, episode=0)
    agent = RandomWalkTD(args.learning_rate, args.seed)
    step, episodes, lengths, last_checkpoint = 0, 0, [0], None
    started = time.monotonic()
    try:
        analytics = Analytics(layout, args, config)
    except Exception as exc:
        reporter.failed(exc)
        return 1
    try:
        layout.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        write_hints(layout, wandb_run=analytics.wandb_run)  # once everything it names exists
        while step < args.total_steps and stop.signal_name is None:
            step += 1
            length = agent.step()
            if length is not None:
                episodes += 1
                lengths = [*lengths[-19:], length]
            last = step == args.total_steps
            if step % args.checkpoint_every == 0 or last:
                last_checkpoint = _save_checkpoint(layout, agent, step)
                print(f"step {step}: rms error {agent.rms_error():.4f}, saved {last_checkpoint}")
            if step % args.log_every == 0 or last:
                steps_per_second = step / max(time.monotonic() - started, 1e-9)
                analytics.log(
                    step,
                    {
                        "losses/rms_error": agent.rms_error(),
                        "charts/episode_length": float(np.mean(lengths)),
                        "charts/SPS": steps_per_second,
                    },
                )
                reporter.heartbeat(
                    step=step,
                    total_steps=args.total_steps,
                    episode=episodes,
                    steps_per_second=round(steps_per_second, 1),
                    last_checkpoint=last_checkpoint,
                )
            if step == args.fail_at:
                raise RuntimeError(f"failure requested at step {step} (--fail-at)")
        if stop.signal_name is not None:
            last_checkpoint = _save_checkpoint(layout, agent, step)  # keep what was learned
    except Exception as exc:
        reporter.failed(exc)
        analytics.close(exit_code=1)
        return 1
    analytics.close(exit_code=0)
    summary = {"step": step, "episodes": episodes, "last_checkpoint": last_checkpoint}
    if stop.signal_name is not None:
        reporter.cancelled(**summary, reason=f"received {stop.signal_name}")
    else:
        reporter.completed(**summary, rms_error=round(agent.rms_error(), 4))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastpath-example-worker", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--run-dir", help="the run directory (default: $GUI_FASTPATH_RUN_DIR, else .)"
    )
    parser.add_argument("--total-steps", type=int, default=20_000)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=500, metavar="N")
    parser.add_argument("--checkpoint-every", type=int, default=5_000, metavar="N")
    parser.add_argument("--no-wandb", action="store_true", help="write TensorBoard only")
    parser.add_argument(
        "--fail-at", type=int, default=0, metavar="STEP", help="raise at STEP, to see a failure"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return train(args, RunLayout.from_env(args.run_dir))
