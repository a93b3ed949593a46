"""Writes MEGABYTES (first argument) of numbered lines to stdout as fast as it can.

Every line is unique (block and line number), stderr gets one line per block, and the
output ends with a partial line. `expected_blocks()` regenerates the exact bytes.
"""

import sys

LINE_WIDTH = 100
LINES_PER_BLOCK = (1 << 20) // LINE_WIDTH


def block(index: int) -> bytes:
    pad = "x" * (LINE_WIDTH - 20)
    return "".join(f"b{index:06d} l{line:05d} {pad}\n" for line in range(LINES_PER_BLOCK)).encode()


def expected_blocks(megabytes: int):
    for index in range(megabytes):
        yield block(index)
    yield b"partial last line"


if __name__ == "__main__":
    out = sys.stdout.buffer
    for index in range(int(sys.argv[1])):
        out.write(block(index))
        print(f"block {index} written", file=sys.stderr)
    out.write(b"partial last line")
    out.flush()
