"""Writes everything where the routing's environment says, for a non-default layout.

TensorBoard scalars in ``$GUI_FASTPATH_TENSORBOARD_DIR/ppo``, an offline W&B run through
``wandb.init(dir=$WANDB_DIR)``, ``policy_<step>.bin`` checkpoints (a suffix that counts only
inside a checkpoints folder) in ``$GUI_FASTPATH_CHECKPOINTS_DIR``, and its progress only in
``$GUI_FASTPATH_HEARTBEAT_FILE`` (nothing on stdout). After each heartbeat it waits until the
supervisor has journaled it (its ``episode`` comes from nowhere else), so no timing matters.
"""

import json
import os
import sys
import time
from pathlib import Path

import wandb
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

env = os.environ
journal = Path(env["GUI_FASTPATH_RUN_DIR"]) / "lifecycle.jsonl"
heartbeat = Path(env["GUI_FASTPATH_HEARTBEAT_FILE"])
checkpoints = Path(env["GUI_FASTPATH_CHECKPOINTS_DIR"])
STEPS = (10, 20, 30)


def journaled(episode):
    try:
        lines = journal.read_text().splitlines()
    except FileNotFoundError:
        return False
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("state") == "RUNNING" and event.get("progress", {}).get("episode") == episode:
            return True
    return False


def beat(step, episode):
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    tmp = heartbeat.with_name(f".{heartbeat.name}.tmp")
    tmp.write_text(json.dumps({"step": step, "total_steps": STEPS[-1], "episode": episode}))
    os.replace(tmp, heartbeat)
    deadline = time.monotonic() + 30
    while not journaled(episode):
        if time.monotonic() > deadline:
            sys.exit(f"supervisor never journaled episode {episode} from {heartbeat}")
        time.sleep(0.01)


run = wandb.init(project="layout-tests", dir=env["WANDB_DIR"], name="declared-layout")
writer = EventFileWriter(str(Path(env["GUI_FASTPATH_TENSORBOARD_DIR"]) / "ppo"))
checkpoints.mkdir(parents=True, exist_ok=True)
for episode, step in enumerate(STEPS, start=1):
    beat(step, episode)
    value = summary_pb2.Summary.Value(tag="charts/episodic_return", simple_value=step / 10)
    writer.add_event(
        event_pb2.Event(
            wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value])
        )
    )
    writer.flush()
    run.log({"charts/episodic_return": step / 10}, step=step)
    (checkpoints / f"policy_{step}.bin").write_bytes(b"weights")
writer.close()
run.finish()
