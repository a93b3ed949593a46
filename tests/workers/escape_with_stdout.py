"""Leaves a child in a session of its own that keeps stdout open, then exits 0."""

import subprocess
import sys

child = subprocess.Popen(
    [sys.executable, "-c", "import time\nwhile True: time.sleep(1)"], start_new_session=True
)
print(f"child={child.pid}", flush=True)
