"""Reports progress only through the sidecar heartbeat file (nothing on stdout):
`$GUI_FASTPATH_HEARTBEAT_FILE` if set, else `heartbeat.json`.

After each heartbeat it waits until the supervisor has journaled a RUNNING event with that
step, so the test sees every step without any timing assumption.
"""

import json
import os
import sys
import time
from pathlib import Path

run_dir = Path(os.environ["GUI_FASTPATH_RUN_DIR"])
journal = run_dir / "lifecycle.jsonl"
heartbeat = Path(os.environ.get("GUI_FASTPATH_HEARTBEAT_FILE") or run_dir / "heartbeat.json")
heartbeat.parent.mkdir(parents=True, exist_ok=True)


def journaled(step):
    try:
        lines = journal.read_text().splitlines()
    except FileNotFoundError:
        return False
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("state") == "RUNNING" and event.get("progress", {}).get("step") == step:
            return True
    return False


for step in (10, 20, 30):
    tmp = heartbeat.with_name(f"{heartbeat.name}.tmp")
    tmp.write_text(json.dumps({"timestamp": time.time(), "step": step, "total_steps": 40}))
    os.replace(tmp, heartbeat)
    deadline = time.monotonic() + 30
    while not journaled(step):
        if time.monotonic() > deadline:
            sys.exit(f"supervisor never journaled step {step}")
        time.sleep(0.01)
