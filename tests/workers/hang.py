"""Starts a grandchild, says it is ready, and hangs; `--ignore-term` survives SIGTERM."""

import signal
import subprocess
import sys
import time

if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
print(f"ready child={child.pid}", flush=True)
while True:
    time.sleep(1)
