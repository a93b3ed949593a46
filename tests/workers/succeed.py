"""Writes a few log lines on each stream and exits 0."""

import sys

for i in range(3):
    print(f"out {i}")
    print(f"err {i}", file=sys.stderr)
sys.stdout.write("no newline at the end")
