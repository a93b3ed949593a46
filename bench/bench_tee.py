"""Log tee throughput: the supervisor's tee vs ``cat`` on the same stream.

Writes a data file of text lines (default 512 MB; every 1000th line a JSON-lines
heartbeat in the host's protocol, so the tee's message scan is exercised), then times

* the peer: ``cat DATA | cat > OUT`` (two processes and a pipe, the least work a tee does),
* ours: ``Supervisor(["cat", DATA])``, whose tee copies the worker's stdout pipe into
  ``logs/worker.stdout.log`` (spawn, journal, heartbeat scan, drain and exit included),

checks that both outputs equal the data byte for byte, and prints throughputs and the
ratio (target: the tee at least 50% of ``cat``). Best and median of ``--repeat`` runs each,
interleaved in alternating order.
Files go to ``/dev/shm`` by default: on a disk, dirty-page writeback throttles whichever
writer happens to cross the threshold and the timings say more about the disk than the tee
(``--dir`` picks another place; ``sync`` runs before each timing).

Usage: ``python bench/bench_tee.py [--megabytes N] [--repeat K] [--dir D] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import filecmp
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from gui_fastpath.lifecycle import RunState, Supervisor

_LINE = b"step %09d loss=0.123456 return=12.5 " + b"x" * 50 + b"\n"


def write_data(path: Path, megabytes: int) -> int:
    """Write about ``megabytes`` MB of log lines with a heartbeat every 1000 lines."""
    block = bytearray()
    for index in range(10_000):
        if index % 1000 == 999:
            line = {"event": "heartbeat", "run_id": "bench", "payload": {"step": index}}
            block += json.dumps(line).encode() + b"\n"
        else:
            block += _LINE % index
    target = megabytes << 20
    with path.open("wb") as fh:
        written = 0
        while written < target:
            fh.write(block)
            written += len(block)
    return written


def _cpu() -> float:
    """User + system CPU seconds of this process and its waited-for children so far."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def time_cat(data: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``cat DATA | cat > OUT``."""
    cpu, start = _cpu(), time.perf_counter()
    with out.open("wb") as sink:
        producer = subprocess.Popen(["cat", str(data)], stdout=subprocess.PIPE)
        consumer = subprocess.Popen(["cat"], stdin=producer.stdout, stdout=sink)
        assert producer.stdout is not None
        producer.stdout.close()
        consumer.wait()
        producer.wait()
    return time.perf_counter() - start, _cpu() - cpu


def time_tee(data: Path, run_dir: Path) -> tuple[float, float, Path]:
    """Wall and CPU seconds of a supervised ``cat DATA``, and its stdout log."""

    async def run() -> tuple[float, float, Path]:
        sup = Supervisor(["cat", str(data)], run_dir, refresh_manifest=None)
        cpu, start = _cpu(), time.perf_counter()
        final = await sup.run()
        elapsed, used = time.perf_counter() - start, _cpu() - cpu
        assert final.state is RunState.COMPLETED, final
        return elapsed, used, sup.stdout_log

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/dev/shm") if os.path.isdir("/dev/shm") else None,
        help="where to write the data and outputs (default: /dev/shm, else the temp dir)",
    )
    parser.add_argument("--quick", action="store_true", help="8 MB, one run (smoke test)")
    args = parser.parse_args()
    megabytes, repeat = (8, 1) if args.quick else (args.megabytes, args.repeat)

    work = Path(tempfile.mkdtemp(prefix="bench_tee_", dir=args.dir))
    try:
        data = work / "data.log"
        size = write_data(data, megabytes)
        cat_times, tee_times, cat_cpu, tee_cpu = [], [], [], []
        for index in range(repeat):  # interleaved, in alternating order: same machine state
            for peer_first in (index % 2 == 0, index % 2 == 1):
                os.sync()
                if peer_first:
                    out = work / "cat.out"
                    elapsed, used = time_cat(data, out)
                    cat_times.append(elapsed)
                    cat_cpu.append(used)
                    assert filecmp.cmp(data, out, shallow=False), "cat output differs"
                    out.unlink()
                else:
                    run_dir = work / f"run{index}"
                    elapsed, used, log = time_tee(data, run_dir)
                    tee_times.append(elapsed)
                    tee_cpu.append(used)
                    assert filecmp.cmp(data, log, shallow=False), "tee output differs"
                    shutil.rmtree(run_dir)
        mb = size / (1 << 20)
        print(f"stream: {mb:.0f} MB of log lines, a JSON heartbeat every 1000 lines, in {work}")
        header = ("best s", "best MB/s", "median s", "median MB/s", "median CPU s")
        print(f"{'':18}" + "".join(f"{h:>13}" for h in header))
        for name, times, cpu in (
            ("cat | cat > out", cat_times, cat_cpu),
            ("Supervisor tee", tee_times, tee_cpu),
        ):
            best, median = min(times), statistics.median(times)
            row = (f"{best:.3f}", f"{mb / best:.0f}", f"{median:.3f}", f"{mb / median:.0f}")
            row += (f"{statistics.median(cpu):.3f}",)
            print(f"{name:18}" + "".join(f"{cell:>13}" for cell in row))
        ratio_best = min(cat_times) / min(tee_times)
        ratio_median = statistics.median(cat_times) / statistics.median(tee_times)
        print(
            "ratio (tee throughput / cat throughput): "
            f"{ratio_best:.2f} best, {ratio_median:.2f} median"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
