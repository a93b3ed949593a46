"""Offline W&B reader speed: ``OfflineRunReader`` vs wandb-core's ``leet inspect``.

Writes one offline run with the installed wandb (default 100,000 steps × 8 metrics, about
70 MB of ``run-<id>.wandb``) into a cache directory, once. Then, with a warm page cache, times
the best of K runs of

* ``wandb-core leet inspect --summary --json --run-file F`` (the peer: wandb's own Go
  reader, printing the run's summary, config and console tail),
* ``OfflineRunReader(F).read_all()``: identity, config, summary *and every history value*
  decoded (rows are stored flat and built as dicts when read), system metrics, console,
  exit — and the ratio (target: at most 1×),
* the same plus building every history row as a dict (``list(snapshot.history)``), what a
  consumer that walks all rows pays on top,

and what following a live run costs: the file is cut at 90 %, read, then the rest is
appended in 100 pieces, polling after each (bytes read per poll vs bytes appended, time per
poll), and a poll with nothing new.

With ``--nested`` each step logs nested metrics instead (``{"train": {"m0": …}, "eval":
{"a": {"b": …}}, "lr": …}``): keys of several parts, which the reader takes item by item.

Usage: ``python bench/bench_wandb_reader.py [--steps N] [--repeat K] [--cache DIR] [--quick]
[--nested]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gui_fastpath.wandb import OfflineRunReader

_WRITER = """
import math, sys, wandb
run = wandb.init(mode="offline", dir=sys.argv[1], project="bench", id=sys.argv[3],
                 config={"lr": 1e-3, "batch": 64, "env": "CartPole-v1"},
                 settings=wandb.Settings(x_disable_stats=True, console="off"))
nested = sys.argv[4] == "nested"
for i in range(int(sys.argv[2])):
    if nested:
        run.log({"train": {f"m{k}": math.sin(i * 0.001 * (k + 1)) for k in range(4)},
                 "eval": {"a": {"b": i * 0.5}}, "lr": 1e-3}, step=i)
    else:
        run.log({f"m{k}": math.sin(i * 0.001 * (k + 1)) for k in range(8)}, step=i)
run.finish()
"""


def _wandb_core() -> Path:
    spec = importlib.util.find_spec("wandb")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "wandb-core"


def write_run(cache: Path, steps: int, *, nested: bool = False) -> Path:
    """The cached run file for ``steps`` steps, written by wandb on first use."""
    run_id = f"nested{steps}" if nested else f"bench{steps}"
    found = sorted(cache.glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb"))
    if found:
        return found[-1]
    cache.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(cache / "home"), WANDB_SILENT="true")
    print(f"writing {steps} steps with wandb into {cache} (once) ...", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-c", _WRITER, str(cache), str(steps), run_id, "nested" * nested],
        env=env,
        check=True,
        timeout=3600,
    )
    return next(cache.glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb"))


def _cpu() -> float:
    """CPU seconds used by this process and its finished children (all threads)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _best(repeat: int, action) -> tuple[float, float]:
    """Best wall-clock and best CPU time of ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, start = _cpu(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return min(walls), min(cpus)


def time_leet(path: Path, repeat: int) -> tuple[float, float]:
    command = [str(_wandb_core()), "leet", "inspect", "--summary", "--json", "--run-file"]
    return _best(
        repeat,
        lambda: subprocess.run([*command, str(path)], stdout=subprocess.DEVNULL, check=True),
    )


def time_reader(path: Path, repeat: int, *, build_rows: bool) -> tuple[tuple[float, float], int]:
    rows = 0

    def read() -> None:
        nonlocal rows
        snapshot = OfflineRunReader(path).read_all()
        assert not snapshot.problems, snapshot.problems
        rows = len(list(snapshot.history) if build_rows else snapshot.history)

    return _best(repeat, read), rows


def follow_cost(path: Path, pieces: int = 100) -> dict[str, float]:
    """Cut the file at 90 %, read it, append the rest in pieces; measure each poll."""
    data = path.read_bytes()
    cut = len(data) * 9 // 10
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / path.name
        target.write_bytes(data[:cut])
        reader = OfflineRunReader(target)
        reader.poll()
        step = max(1, (len(data) - cut) // pieces)
        poll_times, read, appended = [], 0, 0
        with target.open("ab") as out:
            for start in range(cut, len(data), step):
                out.write(data[start : start + step])
                out.flush()
                appended += len(data[start : start + step])
                began = time.perf_counter()
                changes = reader.poll()
                poll_times.append(time.perf_counter() - began)
                read += changes.bytes_read
        began = time.perf_counter()
        idle = reader.poll()
        idle_time = time.perf_counter() - began
        assert idle.bytes_read == 0 and not idle
    return {
        "appended": appended,
        "read": read,
        "polls": len(poll_times),
        "poll_ms": statistics.mean(poll_times) * 1e3,
        "bytes_per_poll": appended / len(poll_times),
        "idle_us": idle_time * 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "gui-fastpath-bench"
        / "wandb",
    )
    parser.add_argument("--quick", action="store_true", help="2,000 steps in a temporary dir")
    parser.add_argument(
        "--nested",
        action="store_true",
        help="log nested metrics instead: 4 under 'train', 1 two levels under 'eval', and 'lr'",
    )
    args = parser.parse_args()
    tmp = None
    if args.quick:
        tmp = tempfile.mkdtemp(prefix="bench-wandb-")
        args.cache, args.steps, args.repeat = Path(tmp), 2_000, 2
    try:
        path = write_run(args.cache, args.steps, nested=args.nested)
        size = path.stat().st_size
        OfflineRunReader(path).read_all()  # warm the page cache and imports
        leet = time_leet(path, args.repeat)
        ours, rows = time_reader(path, args.repeat, build_rows=False)
        dicts, _ = time_reader(path, args.repeat, build_rows=True)
        follow = follow_cost(path)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    metrics = "6 nested metrics" if args.nested else "8 metrics"
    print(f"file: {size / 1e6:.1f} MB, {rows} history rows × {metrics} (best of {args.repeat})")
    print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| measure | wall | CPU |")
    print("|---|---|---|")
    print(
        f"| `leet inspect --summary --json` (summary only) | {leet[0] * 1e3:.0f} ms"
        f" | {leet[1] * 1e3:.0f} ms |"
    )
    print(
        f"| `OfflineRunReader.read_all()` (summary + all history values) | {ours[0] * 1e3:.0f} ms"
        f" | {ours[1] * 1e3:.0f} ms |"
    )
    print(
        f"| **ratio ours / leet** (target ≤ 1×) | **{ours[0] / leet[0]:.2f}×**"
        f" | **{ours[1] / leet[1]:.2f}×** |"
    )
    print(
        f"| `read_all()` + every row built as a dict | {dicts[0] * 1e3:.0f} ms"
        f" | {dicts[1] * 1e3:.0f} ms |"
    )
    print(
        f"| ratio with rows built / leet | {dicts[0] / leet[0]:.2f}× | {dicts[1] / leet[1]:.2f}× |"
    )
    print(
        f"| follow: {follow['polls']} polls of {follow['bytes_per_poll'] / 1e3:.0f} kB appended"
        f" | {follow['poll_ms']:.2f} ms per poll | |"
    )
    print(
        f"| follow: bytes read / bytes appended | {follow['read']:,} / {follow['appended']:,}"
        f" ({follow['read'] / follow['appended']:.3f}×) | |"
    )
    print(f"| poll with nothing new | {follow['idle_us']:.0f} µs | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
