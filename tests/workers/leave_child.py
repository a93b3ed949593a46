"""Starts a grandchild that hangs, then exits 0 at once, leaving the grandchild behind."""

import subprocess
import sys

child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
print(f"child={child.pid}", flush=True)
