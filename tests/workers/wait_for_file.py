"""Says hello, then stays silent until the file named on the command line exists."""

import sys
import time
from pathlib import Path

print("hello", flush=True)
deadline = time.monotonic() + 60
while not Path(sys.argv[1]).exists() and time.monotonic() < deadline:
    time.sleep(0.01)
print("resumed", flush=True)
