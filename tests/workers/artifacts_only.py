"""Sends nothing on stdout: writes TensorBoard scalars and a checkpoint, like a quiet worker.

After each artifact it waits until the supervisor has journaled a RUNNING event showing
it, so the test sees each inference without any timing assumption.
"""

import json
import os
import sys
import time
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

run_dir = Path(os.environ["GUI_FASTPATH_RUN_DIR"])


def wait_for(field, value):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            lines = (run_dir / "lifecycle.jsonl").read_text().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            event = json.loads(line)
            if event["state"] == "RUNNING" and event.get("progress", {}).get(field) == value:
                return
        time.sleep(0.01)
    sys.exit(f"supervisor never journaled {field}={value}")


writer = EventFileWriter(str(run_dir / "tensorboard" / "ppo"))


def scalar(step):
    value = summary_pb2.Summary.Value(tag="charts/episodic_return", simple_value=step / 10)
    event = event_pb2.Event(
        wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value])
    )
    writer.add_event(event)
    writer.flush()


scalar(100)
wait_for("step", 100)
(run_dir / "checkpoints").mkdir()
(run_dir / "checkpoints" / "ckpt_200.pt").write_bytes(b"weights")
wait_for("last_checkpoint", "checkpoints/ckpt_200.pt")
scalar(300)
wait_for("step", 300)
writer.close()
