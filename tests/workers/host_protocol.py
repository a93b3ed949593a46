"""Speaks the host's JSON-lines lifecycle protocol on stdout, mixed with plain log lines.

`--fail` ends with `run_failed` (with error, type and traceback) and exit status 1;
`--hang-after-fail` then hangs instead of exiting.
"""

import json
import os
import sys
import time
import traceback

RUN_ID = os.environ.get("GUI_FASTPATH_RUN_ID", "unknown")


def emit(event, **payload):
    line = {"event": event, "run_id": RUN_ID, "timestamp": time.time(), "payload": payload}
    print(json.dumps(line), flush=True)


emit("run_started", total_steps=400)
for step in (100, 200, 300):
    print(f"plain log line at step {step}")
    emit("heartbeat", step=step, episode=step // 10, memory_mb=12.5, cpu_percent=50.0)
if "--fail" in sys.argv:
    try:
        raise ValueError("loss is NaN at step 300")
    except ValueError as exc:
        print("Traceback: loss is NaN", file=sys.stderr)
        emit(
            "run_failed",
            error=str(exc),
            error_type=type(exc).__name__,
            traceback=traceback.format_exc(),
        )
    while "--hang-after-fail" in sys.argv:  # a broken worker that never exits
        time.sleep(1)
    sys.exit(1)
emit("heartbeat", step=400, episode=40, last_checkpoint="checkpoints/final.pt")
emit("run_completed", step=400)
