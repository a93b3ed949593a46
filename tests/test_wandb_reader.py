"""OfflineRunReader against runs written by the installed wandb, checked against wandb-core's
own reader (``wandb-core leet inspect --json``), record for record."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from gui_fastpath.cli import main as cli_main
from gui_fastpath.wandb import OfflineRunReader, list_runs, resolve_base_url, run_url
from gui_fastpath.wandb._leveldb_log import BLOCK_SIZE, CHUNK_HEADER_SIZE

pytestmark = pytest.mark.slow

_WRITER = r"""
import json, math, os, sys, time, wandb
out, run_id, steps, pause, resume, big = sys.argv[1:7]
steps, pause = int(steps), float(pause)
run = wandb.init(
    project="reader-tests", entity="tester", dir=out, mode="offline", id=run_id,
    resume=resume or None, name="reader-run", tags=["t1", "t2"], notes="written by a test",
    config={"lr": 0.001, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "seed": 7,
            "big": "x" * int(big)},
    settings=wandb.Settings(x_disable_stats=os.environ.get("STATS") != "1"),
)
print(json.dumps({"folder": run.dir.rsplit("/files", 1)[0]}), flush=True)
for step in range(steps):
    run.log({
        "loss": 1.0 / (step + 1), "reward": step * 0.5, "eval/score": step % 7,
        "nested": {"a": step, "b": {"c": -step}}, "flag": step % 2 == 0,
        "text": f"s{step}", "weird": float("nan") if step == 3 else float("inf"),
    })
    if step == 2:
        print("line one\nline two", flush=True)
        print("to stderr", file=sys.stderr, flush=True)
    if pause:
        time.sleep(pause)
run.config.update({"late": {"x": 1}, "lr": 0.002}, allow_val_change=True)
run.summary["best"] = {"value": 3.5, "at": 2}
run.summary["gone"] = 1
del run.summary["gone"]
run.summary["nested"] = {"replaced": True}
run.finish(exit_code=int(os.environ.get("EXIT_CODE", "0")))
"""


def _wandb_core() -> Path:
    spec = importlib.util.find_spec("wandb")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "wandb-core"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), WANDB_SILENT="true")
    return env


def _start(
    run_dir: Path,
    run_id: str,
    steps: int,
    pause: float = 0.0,
    resume: str = "",
    big: int = 0,
    stats: bool = False,
):
    run_dir.mkdir(parents=True, exist_ok=True)
    args = [str(run_dir), run_id, str(steps), str(pause), resume, str(big)]
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, *args],
        env={**_env(run_dir.parent / "home"), "STATS": "1" if stats else "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def _write(
    run_dir: Path, run_id: str, steps: int, resume: str = "", big: int = 0, stats: bool = False
) -> Path:
    proc = _start(run_dir, run_id, steps, resume=resume, big=big, stats=stats)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0
    folder = Path(json.loads(out.splitlines()[0])["folder"])
    return folder / f"run-{run_id}.wandb"


def _wait_for(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        os.sched_yield()
    raise AssertionError(f"timed out waiting for {what}")


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Runs written once per session: finished, killed mid-run, and resumed."""
    root = tmp_path_factory.mktemp("wandb-reader")
    found = {"finished": _write(root / "finished", "fin0001", 12, stats=True)}
    # Several blocks, and a config record longer than a block (FIRST, MIDDLE…, LAST chunks).
    found["long"] = _write(root / "long", "lng0001", 300, big=70_000)
    killed = _start(root / "killed", "kil0001", 100_000, pause=0.002)
    try:
        folder = Path(json.loads(killed.stdout.readline())["folder"])  # type: ignore[union-attr]
        path = folder / "run-kil0001.wandb"
        reader = OfflineRunReader(path)
        _wait_for(
            lambda: reader.poll() is not None and len(reader.snapshot.history) > 200,
            what="the killed run to log 200 rows",
        )
    finally:
        _kill_group(killed)
    found["killed"] = path
    found["resumed_first"] = _write(root / "resumed", "res0001", 5)
    found["resumed_second"] = _write(root / "resumed", "res0001", 7, resume="allow")
    return found


def _leet(path: Path, *args: str) -> str:
    done = subprocess.run(
        [str(_wandb_core()), "leet", "inspect", "--run-file", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def _jsonable(value: Any) -> Any:
    """Our values as leet prints them: NaN and infinities as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@pytest.mark.parametrize("name", ["finished", "long", "killed", "resumed_first", "resumed_second"])
def test_matches_wandb_core(runs, name):
    path = runs[name]
    snapshot = OfflineRunReader(path).read_all()
    records = [json.loads(line) for line in _leet(path, "--json").splitlines()]
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    assert [_jsonable(row) for row in snapshot.history] == history
    digest = json.loads(_leet(path, "--summary", "--json"))
    assert _jsonable(dict(snapshot.summary)) == digest["summary"]
    assert _jsonable(dict(snapshot.config)) == digest["config"]
    assert snapshot.identity is not None
    assert snapshot.identity.run_id == digest["run_id"]
    assert snapshot.identity.display_name == digest["name"]
    assert list(snapshot.identity.tags) == digest["tags"]
    assert snapshot.identity.notes == digest["notes"]
    assert (snapshot.exit.exit_code if snapshot.exit else None) == digest["exit_code"]
    assert snapshot.last_step == digest["step"]
    assert snapshot.console_line_count == digest["console_lines"]
    tail = [{"line": c.text, "stream": c.stream} for c in snapshot.console]
    assert (
        tail[-len(digest["console"]) :]
        == [{"line": c["line"], "stream": c["stream"]} for c in digest["console"]]
        or not digest["console"]
    )
    assert snapshot.problems == ()


def test_finished_run_identity_and_state(runs):
    snapshot = OfflineRunReader(runs["finished"]).read_all()
    assert snapshot.state == "finished"
    assert snapshot.identity is not None
    assert (snapshot.identity.entity, snapshot.identity.project) == ("tester", "reader-tests")
    assert snapshot.config["optimizer"] == {"name": "adam", "betas": [0.9, 0.999]}
    assert snapshot.config["lr"] == 0.002
    assert snapshot.summary["nested"] == {"replaced": True}
    assert "gone" not in snapshot.summary
    assert snapshot.system and snapshot.system[0]["_timestamp"] > 1e9
    assert any(key.startswith("proc.memory") for key in snapshot.system[0])
    assert snapshot.summary["best"] == {"value": 3.5, "at": 2}
    assert snapshot.history[3]["_step"] == 3 and math.isnan(snapshot.history[3]["weird"])
    assert snapshot.history[0]["nested.b.c"] == 0
    assert [c.text for c in snapshot.console][1:3] == ["line one", "line two"]
    assert ("to stderr", "stderr") in [(c.text, c.stream) for c in snapshot.console]
    assert snapshot.environment["python"].startswith("CPython")
    assert snapshot.notes == ()


def test_killed_run_reads_what_was_written(runs):
    snapshot = OfflineRunReader(runs["killed"]).read_all()
    assert snapshot.state == "running" and snapshot.exit is None
    assert len(snapshot.history) > 200
    assert [row["_step"] for row in snapshot.history] == list(range(len(snapshot.history)))
    assert "no exit record" in " ".join(snapshot.notes)
    assert snapshot.problems == ()


def test_list_runs_sees_a_run_resumed_within_the_same_second(runs, tmp_path):
    """wandb names that folder ``...-<id>-1``; the file inside is still ``run-<id>.wandb``."""
    first = runs["resumed_first"]
    stamp_and_id = first.parent.name  # offline-run-<stamp>-res0001
    for name in (stamp_and_id, f"{stamp_and_id}-1"):
        folder = tmp_path / "wandb" / name
        folder.mkdir(parents=True)
        (folder / first.name).write_bytes(first.read_bytes())
    found = list_runs(tmp_path)
    assert [(r.run_id, r.directory.name) for r in found] == [
        ("res0001", f"{stamp_and_id}-1"),
        ("res0001", stamp_and_id),
    ]
    assert all(r.wandb_file is not None and r.size > 0 for r in found)


def test_list_runs_newest_first(runs):
    found = list_runs(runs["resumed_first"].parents[2])
    assert [r.wandb_file for r in found] == [runs["resumed_second"], runs["resumed_first"]]
    assert {r.run_id for r in found} == {"res0001"} and {r.mode for r in found} == {"offline"}


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_cli_summary_json(runs, capsys):
    assert cli_main(["wandb", "summary", str(runs["finished"].parents[2]), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out, parse_constant=_no_constant)
    assert printed["run_id"] == "fin0001" and printed["state"] == "finished"
    assert printed["summary"]["weird"] == "Infinity" and printed["problems"] == []
    assert printed["latest_scalars"]["loss"] == pytest.approx(1 / 12)
    assert printed["config"]["seed"] == 7


def test_cli_summary_text(runs, capsys):
    assert cli_main(["wandb", "summary", str(runs["finished"])]) == 0
    out = capsys.readouterr().out
    assert "run      reader-run (fin0001)" in out
    assert "state    finished (exit code 0)" in out


def test_cli_summary_without_runs(tmp_path, capsys):
    assert cli_main(["wandb", "summary", str(tmp_path)]) == 1
    assert f"no run-<id>.wandb file under {tmp_path}" in capsys.readouterr().err


# -- the file as it is being written, cut or damaged -------------------------------------


def _same_data(a, b) -> bool:
    return (
        [_jsonable(r) for r in a.history] == [_jsonable(r) for r in b.history]
        and _jsonable(dict(a.summary)) == _jsonable(dict(b.summary))
        and a.config == b.config
        and a.exit == b.exit
        and a.identity == b.identity
        and a.console == b.console
        and list(a.system) == list(b.system)
    )


@pytest.mark.timeout(60)
def test_growing_file_is_read_in_pieces(runs, tmp_path):
    """Appending the file in odd-sized pieces (cutting headers, payloads and multi-block
    records) gives the same run as reading it whole, and each poll reads only new bytes."""
    source = runs["long"].read_bytes()
    whole = OfflineRunReader(runs["long"]).read_all()
    assert whole.config["big"] == "x" * 70_000
    target = tmp_path / "run-lng0001.wandb"
    target.write_bytes(b"")
    reader = OfflineRunReader(target)
    assert not reader.poll() and reader.snapshot.state == "empty"
    assert "is empty" in reader.snapshot.notes[0]
    written, piece = 0, 1
    with target.open("ab") as out:
        while written < len(source):
            out.write(source[written : written + piece])
            out.flush()
            written += piece
            changes = reader.poll()
            assert changes.bytes_read == piece or written > len(source)
            assert reader.snapshot.problems == ()
            assert len(reader.snapshot.history) <= len(whole.history)
            piece = piece * 3 % 9973 + 1
    assert _same_data(reader.snapshot, whole)
    assert reader.snapshot.pending_bytes == 0
    assert not reader.poll() and reader.poll().bytes_read == 0


@pytest.mark.parametrize("cut", [7 + 3, 7 + 7 + 5, BLOCK_SIZE + 2, 2 * BLOCK_SIZE + 100])
def test_torn_tail_is_waited_for(runs, tmp_path, cut):
    source = runs["long"].read_bytes()
    target = tmp_path / "run-lng0001.wandb"
    target.write_bytes(source[:cut])
    reader = OfflineRunReader(target)
    reader.poll()
    torn = reader.snapshot
    assert torn.problems == () and torn.pending_bytes > 0
    assert "ends with an incomplete record" in " ".join(torn.notes)
    with target.open("ab") as out:
        out.write(source[cut:])
    changes = reader.poll()
    assert changes.history == len(reader.snapshot.history) - len(torn.history)
    assert _same_data(reader.snapshot, OfflineRunReader(runs["long"]).read_all())


def _chunk_offsets(data: bytes) -> list[int]:
    """Offsets of every chunk header in a well-formed file."""
    found, pos = [], CHUNK_HEADER_SIZE
    while pos + CHUNK_HEADER_SIZE <= len(data):
        left = BLOCK_SIZE - pos % BLOCK_SIZE
        if left < CHUNK_HEADER_SIZE:
            pos += left
            continue
        found.append(pos)
        pos += CHUNK_HEADER_SIZE + int.from_bytes(data[pos + 4 : pos + 6], "little")
    return found


@pytest.mark.parametrize("damage", ["payload", "length"])
def test_corrupt_chunk_is_reported_and_skipped(runs, tmp_path, damage):
    data = bytearray(runs["long"].read_bytes())
    assert len(data) > 4 * BLOCK_SIZE
    chunk = next(o for o in _chunk_offsets(bytes(data)) if o > 2 * BLOCK_SIZE + 500)
    if damage == "payload":
        data[chunk + CHUNK_HEADER_SIZE + 2] ^= 0xFF
    else:
        data[chunk + 4 : chunk + 6] = (BLOCK_SIZE).to_bytes(2, "little")
    target = tmp_path / "run-lng0001.wandb"
    target.write_bytes(bytes(data))
    snapshot = OfflineRunReader(target).read_all()
    whole = OfflineRunReader(runs["long"]).read_all()
    (problem,) = snapshot.problems
    assert problem.path == target and problem.offset == chunk
    assert f"{target} at byte {chunk}: corrupt data (" in str(problem)
    assert f"skipped bytes {chunk}-{3 * BLOCK_SIZE - 1}" in str(problem)
    steps = [row["_step"] for row in snapshot.history]
    assert 0 < len(steps) < len(whole.history)
    assert steps[-1] == whole.last_step and snapshot.exit == whole.exit
    assert set(steps) < {row["_step"] for row in whole.history}


def test_file_that_is_not_a_wandb_log(tmp_path):
    target = tmp_path / "run-bad.wandb"
    target.write_bytes(b"PK\x03\x04 certainly not a transaction log")
    reader = OfflineRunReader(target)
    reader.poll()
    (problem,) = reader.snapshot.problems
    assert problem.offset == 0 and "not a W&B transaction log" in problem.problem
    assert "run-<id>.wandb" in problem.fix
    assert not reader.poll()  # reported once


def test_replaced_file_is_read_again(runs, tmp_path):
    target = tmp_path / "run.wandb"
    target.write_bytes(runs["finished"].read_bytes())
    reader = OfflineRunReader(target)
    reader.poll()
    replacement = tmp_path / "next.wandb"
    replacement.write_bytes(runs["resumed_first"].read_bytes())
    os.replace(replacement, target)
    changes = reader.poll()
    assert changes.reset and changes.identity
    assert reader.snapshot.identity is not None
    assert reader.snapshot.identity.run_id == "res0001"
    assert len(reader.snapshot.history) == 5


@pytest.mark.timeout(90)
def test_follows_a_live_run(tmp_path):
    proc = _start(tmp_path / "live", "liv0001", 150, pause=0.01)
    try:
        folder = Path(json.loads(proc.stdout.readline())["folder"])  # type: ignore[union-attr]
        reader = OfflineRunReader(folder / "run-liv0001.wandb")
        seen: list[int] = []
        total_read = 0

        def grew() -> bool:
            nonlocal total_read
            changes = reader.poll()
            total_read += changes.bytes_read
            if changes.history:
                seen.append(len(reader.snapshot.history))
            return len(seen) >= 3

        _wait_for(grew, what="three polls that found new rows")
        assert proc.wait(timeout=60) == 0
    finally:
        _kill_group(proc)
    changes = reader.poll()
    total_read += changes.bytes_read
    final = reader.snapshot
    assert final.state == "finished" and len(final.history) == 150
    assert seen == sorted(seen) and seen[0] < 150
    assert total_read == final.file_size
    assert _same_data(final, OfflineRunReader(final.path).read_all())


# -- run URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url", [None, "https://api.wandb.ai", "http://localhost:8080", "https://api.corp.example"]
)
def test_run_url_matches_wandb(tmp_path, base_url):
    import wandb

    environ = {"HOME": str(tmp_path)}
    ours = run_url("my team", "proj", "ab=c1", base_url=base_url, environ=environ)
    settings = wandb.Settings(entity="my team", project="proj", run_id="ab=c1")
    if base_url:
        settings = wandb.Settings(
            entity="my team", project="proj", run_id="ab=c1", base_url=base_url
        )
    assert ours == settings.run_url
    assert resolve_base_url(environ=environ).url == wandb.Settings().base_url


def test_base_url_sources_in_order(tmp_path):
    wandb_dir = tmp_path / "wandb"
    wandb_dir.mkdir()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "settings").write_text("[default]\nbase_url = https://global.example\n")
    environ = {"HOME": str(tmp_path), "WANDB_CONFIG_DIR": str(config_dir)}
    assert resolve_base_url(wandb_dir=wandb_dir, environ=environ).url == "https://global.example"
    (wandb_dir / "settings").write_text("[default]\nbase_url = http://local.example:8080/\n")
    found = resolve_base_url(wandb_dir=wandb_dir, environ=environ)
    assert (found.url, found.source) == ("http://local.example:8080", str(wandb_dir / "settings"))
    environ["WANDB_BASE_URL"] = "https://env.example"
    assert resolve_base_url(wandb_dir=wandb_dir, environ=environ).source == "WANDB_BASE_URL"
    (wandb_dir / "settings").write_bytes(b"\xff\xfe not ini")
    del environ["WANDB_BASE_URL"]
    assert resolve_base_url(wandb_dir=wandb_dir, environ=environ).url == "https://global.example"


def test_run_url_needs_entity_and_project():
    assert run_url("", "proj", "abc", base_url="https://api.wandb.ai") is None
    environ = {"WANDB_APP_URL": "https://ui.example/"}
    assert (
        run_url("e", "p", "r", base_url="https://api.wandb.ai", environ=environ)
        == "https://ui.example/e/p/runs/r"
    )


def _chunk(payload: bytes) -> bytes:
    """One FULL chunk, framed as wandb frames it (plain CRC-32 over type and payload)."""
    header = zlib.crc32(b"\x01" + payload).to_bytes(4, "little")
    return header + len(payload).to_bytes(2, "little") + b"\x01" + payload


def test_unknown_and_undecodable_records(runs, tmp_path):
    from wandb.proto import wandb_internal_pb2 as pb

    data = runs["resumed_first"].read_bytes()
    assert len(data) % BLOCK_SIZE + 200 < BLOCK_SIZE  # the crafted chunks fit in the block
    future_kind = b"\x08\x63" + b"\xb2\x09\x03abc"  # num 99, then field 150: unknown to 0.31
    garbage = b"\x0a\xff\xff\xff"  # a length running past the end
    wrapped = pb.Record(
        config=pb.ConfigRecord(
            update=[pb.ConfigItem(key="opt", value_json='{"value": "sgd", "desc": "optimizer"}')]
        )
    ).SerializeToString()
    target = tmp_path / "run-res0001.wandb"
    target.write_bytes(data + _chunk(future_kind) + _chunk(garbage) + _chunk(wrapped))
    snapshot = OfflineRunReader(target).read_all()
    (problem,) = snapshot.problems
    assert problem.offset == len(data) + CHUNK_HEADER_SIZE + len(future_kind)
    assert "undecodable record" in problem.problem and "upgrade wandb" in problem.fix
    assert snapshot.config["opt"] == "sgd"
    assert len(snapshot.history) == 5 and snapshot.exit is not None


# -- bulk decoding, checked against decoding record by record ------------------------------


def _framed(records: list[bytes]) -> bytes:
    """A ``.wandb`` file of ``records`` framed as wandb frames them: FULL chunks, or FIRST,
    MIDDLE…, LAST across blocks; block trailers too short for a header zero-filled."""
    out = bytearray(b":W&B" + (0xBEE1).to_bytes(2, "little") + b"\x00")
    for record in records:
        rest, first = record, True
        while True:
            room = BLOCK_SIZE - len(out) % BLOCK_SIZE - CHUNK_HEADER_SIZE
            if room < 0:
                out += bytes(room + CHUNK_HEADER_SIZE)
                continue
            part, rest = rest[:room], rest[room:]
            kind = (1 if not rest else 2) if first else (4 if not rest else 3)
            first = False
            out += zlib.crc32(bytes([kind]) + part).to_bytes(4, "little")
            out += len(part).to_bytes(2, "little") + bytes([kind]) + part
            if not rest:
                break
    return bytes(out)


def _crafted_records(rng: Any, rows: int, batch: int) -> list[bytes]:
    """History records of every shape the bulk decoder must tell apart, their summary
    mirrors, wandb-core's repeating runtime record, removes, and run records mid-way.

    Batches of ``batch`` rows differ: the second has only plain rows (the fast path), the
    others odd rows now and then; the first has keys, the fourth values, equal to the
    end-of-row item's; the fifth rows whose keys and values pair up by count but not item by
    item; only the third removes summary keys. The summary ends with removals and with
    nested and one-part updates replacing each other."""
    from wandb.proto import wandb_internal_pb2 as pb

    from gui_fastpath.wandb._fast_records import ROW_END_KEY, ROW_END_VALUE

    values = ["1", "-2", "0.5", "NaN", "Infinity", "true", "null", '"s"', '{"a": [1]}']
    values += ["123456789012345678901234567890", "1e400", "[1, 2]"]
    typed = pb.HistoryItem(nested_key=["typed"], number=1.5)  # no value_json
    old_style = pb.HistoryItem(key="old_style", value_json="4")
    odd_items = [
        pb.HistoryItem(nested_key=["nested", "a"], value_json="3"),
        pb.HistoryItem(nested_key=["loss"], value_json="99"),  # logged twice in one row
        typed,
        pb.HistoryItem(nested_key=["bad"], value_json="not json"),
        pb.HistoryItem(nested_key=["big"], value_json='"' + "x" * 40_000 + '"'),  # spans blocks
    ]
    lookalikes = [
        pb.HistoryItem(nested_key=[ROW_END_KEY], value_json="5"),
        pb.HistoryItem(nested_key=["end_value"], value_json=ROW_END_VALUE.decode()),
    ]
    plain = range(batch, 2 * batch)
    records: list[bytes] = []

    def add(**kind: Any) -> None:
        num = len(records) + 1
        if len(records) < batch and rng.random() < 0.1:
            num = rng.choice([0, 2**21 + 5, 2**28 + 7, 2**35 + 1])
        records.append(pb.Record(num=num, **kind).SerializeToString())

    add(run=pb.RunRecord(run_id="craft", summary=pb.SummaryRecord(update=[
        pb.SummaryItem(key="init", value_json="1"),
        pb.SummaryItem(nested_key=["a", "b"], value_json="2"),
    ])))  # fmt: skip

    def runtime(seconds: int) -> None:
        add(summary=pb.SummaryRecord(update=[
            pb.SummaryItem(nested_key=["_wandb", "runtime"], value_json=str(seconds)),
            pb.SummaryItem(key="_runtime", value_json=str(seconds)),
        ]))  # fmt: skip

    for step in range(rows):
        items = [
            pb.HistoryItem(nested_key=["_step"], value_json=str(step)),
            pb.HistoryItem(nested_key=["_runtime"], value_json=str(step / 100)),
        ]
        for key in ("loss", "acc", "lr"):
            value = repr(rng.random()) if rng.random() < 0.9 else rng.choice(values)
            items.append(pb.HistoryItem(nested_key=[key], value_json=value))
        part = step // batch
        if step not in plain and rng.random() < 0.08:
            items.append(rng.choice(odd_items))
        if part in (0, 3) and rng.random() < 0.01:
            items.append(lookalikes[part // 3])
        if part == 4 and rng.random() < 0.02:
            items += [typed, old_style]
        if step not in plain and rng.random() < 0.01:
            items = []
        rng.shuffle(items)
        add(history=pb.HistoryRecord(item=items))
        mirror = [
            pb.SummaryItem(nested_key=i.nested_key, key=i.key, value_json=i.value_json)
            for i in items
            if i.value_json and len(i.value_json) < 100
        ]
        remove = []
        draw = 1.0 if step in plain else rng.random()
        if draw < 0.01 and part == 2:
            remove = [pb.SummaryItem(nested_key=["loss"])]
        elif draw < 0.03:
            mirror.append(pb.SummaryItem(nested_key=["a"], value_json=str(step)))
        elif draw < 0.05:
            mirror.append(pb.SummaryItem(nested_key=["a", "c"], value_json=str(step)))
        add(summary=pb.SummaryRecord(update=mirror, remove=remove))
        if step % 3 == 0:  # wandb-core's runtime record: identical but for its number
            runtime(step // 100)
        if step % 700 == 699:
            add(run=pb.RunRecord(run_id="craft", summary=pb.SummaryRecord(
                update=[pb.SummaryItem(nested_key=["a"], value_json='"from run"')],
                remove=[pb.SummaryItem(key="acc")],
            )))  # fmt: skip

    # Long records: queued for the bulk merge, not taken for wandb-core's runtime record.
    pad = pb.SummaryItem(nested_key=["pad"], value_json='"' + "p" * 100 + '"')

    def update(*parts: str) -> None:
        item = pb.SummaryItem(nested_key=parts, value_json=str(len(records)))
        add(summary=pb.SummaryRecord(update=[item, pad]))

    def remove(*parts: str) -> None:
        add(summary=pb.SummaryRecord(update=[pad], remove=[pb.SummaryItem(nested_key=parts)]))

    steps = [pb.HistoryItem(nested_key=["_step"], value_json=str(n)) for n in (10**6, rows)]
    add(history=pb.HistoryRecord(item=steps))  # logged twice: the last counts, as in the row

    def merge_queued() -> None:  # a short record that removes: the queue is merged first
        add(summary=pb.SummaryRecord(remove=[pb.SummaryItem(nested_key=["never", "set"])]))

    remove("lr")
    update("z")
    update("z", "c")  # replaces z
    remove("z", "c")  # and leaves nothing
    merge_queued()
    update("o")
    update("o", "c")
    update("o")  # in the same bulk merge: the order of last updates decides
    merge_queued()
    update("a", "c")
    merge_queued()
    update("a")  # a bulk merge of one-part updates, replacing a.c
    merge_queued()
    add(summary=pb.SummaryRecord(update=[pb.SummaryItem(nested_key=["a", "d"], value_json="1")]))
    runtime(rows // 200)  # seen before: the cached equivalent is merged
    return records


def _reference(records: list[bytes]) -> tuple[list[dict], dict]:
    """History rows and summary tree, decoded record by record with wandb's classes."""
    from wandb.proto import wandb_internal_pb2 as pb

    def decoded(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            return text

    rows: list[dict] = []
    tree: dict = {}

    def apply(summary: Any) -> None:
        for item in summary.update:
            *parents, leaf = list(item.nested_key) or [item.key]
            node = tree
            for part in parents:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[leaf] = decoded(item.value_json)
        for item in summary.remove:
            *parents, leaf = list(item.nested_key) or [item.key]
            node = tree
            for part in parents:
                node = node.get(part, {})
            if isinstance(node, dict):
                node.pop(leaf, None)
        for key in [k for k, v in tree.items() if v == {}]:  # a removed last leaf
            del tree[key]

    for payload in records:
        record = pb.Record.FromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row = {}
            for item in record.history.item:
                row[".".join(item.nested_key) or item.key] = decoded(item.value_json)
            rows.append(row)
        elif kind == "summary":
            apply(record.summary)
        elif kind == "run":
            apply(record.run.summary)
    tree.pop("_wandb", None)
    return rows, tree


@pytest.mark.timeout(60)
def test_bulk_decoding_matches_record_by_record(tmp_path, monkeypatch):
    """Rows of mixed shapes in small bulk batches, read whole and in pieces: the same rows
    and summary as decoding each record alone, every oddity reported once."""
    import random

    from gui_fastpath.wandb import _history_records, _summary_state

    monkeypatch.setattr(_history_records, "_BULK", 500)
    monkeypatch.setattr(_summary_state, "_BULK", 500)
    records = _crafted_records(random.Random(5), 3000, batch=500)
    rows, summary = _reference(records)
    target = tmp_path / "run-craft.wandb"
    data = _framed(records)
    target.write_bytes(data)
    whole = OfflineRunReader(target).read_all()
    assert [_jsonable(row) for row in whole.history] == [_jsonable(row) for row in rows]
    assert _jsonable(dict(whole.summary)) == _jsonable(summary)
    assert whole.last_step == 3000 and whole.records == len(records)
    assert all("is not JSON; kept as text" in p.problem for p in whole.problems)
    assert len(whole.problems) == sum(
        1 for row in rows for v in row.values() if v in ("", "not json")
    )

    growing = tmp_path / "growing" / target.name
    growing.parent.mkdir()
    growing.write_bytes(b"")
    reader = OfflineRunReader(growing)
    with growing.open("ab") as out:
        for start in range(0, len(data), 150_001):
            out.write(data[start : start + 150_001])
            out.flush()
            reader.poll()
    assert _same_data(reader.snapshot, whole)
    assert [p.problem for p in reader.snapshot.problems] == [p.problem for p in whole.problems]


def test_history_rows_are_a_read_only_sequence(runs):
    reader = OfflineRunReader(runs["finished"])
    snapshot = reader.read_all()
    history = snapshot.history
    rows = list(history)
    assert len(rows) == len(history) == 12 and history == rows
    assert history[-1] == rows[-1] and history[2:5] == rows[2:5] and history[::-1] == rows[::-1]
    with pytest.raises(IndexError):
        history[12]
    history[0]["loss"] = "changed"  # each read builds a new dict
    assert history[0] == rows[0]
    assert "12 rows" in repr(history)


@pytest.mark.timeout(90)
def test_bench_quick():
    """Smoke test: ``bench/bench_wandb_reader.py --quick`` compares with leet and follows."""
    bench = Path(__file__).resolve().parent.parent / "bench" / "bench_wandb_reader.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--quick"], capture_output=True, text=True, timeout=80
    )
    assert done.returncode == 0, done.stderr
    assert "2000 history rows" in done.stdout
    assert "**ratio ours / leet** (target ≤ 1×)" in done.stdout
    assert "(1.000×)" in done.stdout
