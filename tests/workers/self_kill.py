"""Kills itself with the signal named on the command line (e.g. SIGKILL)."""

import os
import signal
import sys

print("about to die", flush=True)
print("last words", file=sys.stderr, flush=True)
os.kill(os.getpid(), signal.Signals[sys.argv[1]])
