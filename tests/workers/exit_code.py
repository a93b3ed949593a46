"""Writes to stderr and exits with the status given as the first argument."""

import sys

print("working")
for i in range(30):
    print(f"stderr line {i}", file=sys.stderr)
print("fatal: could not open dataset", file=sys.stderr)
sys.exit(int(sys.argv[1]))
